//! The app's passcode, duress code, quick wipe and auto-lock (issue 18, item 6), over the app's
//! `KeyStore`. The core's `lock` module does the work; this file adapts the key store, opens the
//! vault a code unlocks, and keeps the auto-lock timer.
//!
//! Files: the vault at `path`, and the duress vault at `path` + `.alt` (made when a duress code is
//! set). A duress vault looks like any vault through this API; every sync on it does nothing and
//! reports nothing changed. `emergency_help` needs no vault, so the crisis lines and "I need help
//! now" are there whichever vault is open. Passcodes cross the boundary as strings; they are copied
//! into buffers wiped on drop at once, and never logged nor put in an error.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sebaya_core::lock::{IdleTimer, KdfParams, Opened, PasscodeLock, SecretStore};
use zeroize::Zeroizing;

use super::platform::KeyStore;
use super::{Result, SebayaError, Vault, now_ms};

/// argon2id's cost for a new passcode (kept in the wrapped key's header, so a passcode set with
/// other values still opens).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PasscodeParams {
    /// Memory in KiB (at least 8192).
    pub memory_kib: u32,
    /// Passes (at least 1).
    pub iterations: u32,
    /// Lanes (at least 1).
    pub parallelism: u32,
}

/// What this build uses for a new passcode (measured for a mid-range phone: docs/benchmarks.md).
#[uniffi::export]
pub fn default_passcode_params() -> PasscodeParams {
    let p = KdfParams::PHONE;
    PasscodeParams {
        memory_kib: p.memory_kib,
        iterations: p.iterations,
        parallelism: p.parallelism,
    }
}

/// The app's key store as the core's secret store.
struct Keys(Arc<dyn KeyStore>);

impl SecretStore for Keys {
    fn get(&self, name: &str) -> sebaya_core::Result<Option<Zeroizing<Vec<u8>>>> {
        self.0
            .get(name.to_string())
            .map(|v| v.map(Zeroizing::new))
            .map_err(|e| sebaya_core::Error::KeyStore(e.to_string()))
    }
    fn put(&self, name: &str, value: &[u8]) -> sebaya_core::Result<()> {
        self.0
            .put(name.to_string(), value.to_vec())
            .map_err(|e| sebaya_core::Error::KeyStore(e.to_string()))
    }
    fn delete(&self, name: &str) -> sebaya_core::Result<()> {
        self.0
            .delete(name.to_string())
            .map_err(|e| sebaya_core::Error::KeyStore(e.to_string()))
    }
}

/// The lock of one vault: its passcode, duress code, quick wipe and auto-lock timer.
#[derive(uniffi::Object)]
pub struct VaultLock {
    path: PathBuf,
    keys: Keys,
    key_name: String,
    params: KdfParams,
    idle: Mutex<IdleTimer>,
}

fn secret(s: String) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(s.into_bytes())
}

/// The duress vault's file: next to the vault's.
fn alt_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".alt");
    PathBuf::from(p)
}

/// Removes a vault file and SQLite's files beside it (best effort: a file not there is fine).
fn remove_vault_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

impl VaultLock {
    fn lock(&self) -> Result<PasscodeLock<'_, Keys>> {
        Ok(PasscodeLock::new(&self.keys, &self.key_name, self.params)?)
    }

    fn touch(&self) {
        if let Ok(mut t) = self.idle.lock() {
            t.touch(now_ms());
        }
    }
}

#[uniffi::export]
impl VaultLock {
    /// The lock of the vault at `path` whose key the app's `key_store` keeps under `key_name` (the
    /// same name `Vault.open_with_key_store` uses), with this build's passcode parameters.
    #[uniffi::constructor]
    pub fn new(path: String, key_store: Arc<dyn KeyStore>, key_name: String) -> Arc<VaultLock> {
        Arc::new(VaultLock {
            path: PathBuf::from(path),
            keys: Keys(key_store),
            key_name,
            params: KdfParams::PHONE,
            idle: Mutex::new(IdleTimer::new(0)),
        })
    }

    /// `new` with other parameters for a new passcode (a slow phone; tests). Below the minimum
    /// throws `InvalidInput`.
    #[uniffi::constructor]
    pub fn with_params(
        path: String,
        key_store: Arc<dyn KeyStore>,
        key_name: String,
        params: PasscodeParams,
    ) -> Result<Arc<VaultLock>> {
        let params = KdfParams {
            memory_kib: params.memory_kib,
            iterations: params.iterations,
            parallelism: params.parallelism,
        };
        params.check()?;
        Ok(Arc::new(VaultLock {
            path: PathBuf::from(path),
            keys: Keys(key_store),
            key_name,
            params,
            idle: Mutex::new(IdleTimer::new(0)),
        }))
    }

    /// Whether a passcode protects the vault (then `Vault.open_with_key_store` throws
    /// `PasscodeRequired`).
    pub fn has_passcode(&self) -> Result<bool> {
        Ok(self.lock()?.has_passcode()?)
    }

    /// Sets the first passcode (4 to 128 characters): the key kept in the key store is wrapped under
    /// it and the key store's secret, then removed. A vault with a passcode throws `NotAllowed`;
    /// a vault file whose key the store lost throws `KeyMissing`.
    pub fn set_passcode(&self, passcode: String) -> Result<()> {
        let passcode = secret(passcode);
        let lock = self.lock()?;
        let exists = std::fs::metadata(&self.path)
            .map(|m| m.len() > 0)
            .unwrap_or(false);
        if exists && !lock.has_passcode()? && lock.plain_key()?.is_none() {
            return Err(SebayaError::KeyMissing {
                message_id: "error-key-missing".into(),
                detail: "the vault exists but the key store has no key for it".into(),
            });
        }
        Ok(lock.set_passcode(&passcode)?)
    }

    /// Opens the vault the code opens: the passcode opens the vault; the duress code opens the
    /// duress vault. Throws `PasscodeWrong` (counted; wait `retry_after_secs`), `PasscodeTooSoon`
    /// (not counted), `NotFound` when no passcode is set.
    pub fn unlock(&self, passcode: String) -> Result<Arc<Vault>> {
        let passcode = secret(passcode);
        let opened = self.lock()?.unlock(&passcode, now_ms())?;
        let v = match opened {
            Opened::Main(key) => Vault::wrap(sebaya_core::Vault::open(&self.path, key.as_ref())?),
            Opened::Duress(key) => Vault::wrap_as(
                sebaya_core::Vault::open(&alt_path(&self.path), key.as_ref())?,
                true,
            ),
        };
        self.touch();
        Ok(v)
    }

    /// Changes the passcode `old` to `new`, with the same delay rules as `unlock`. Only the
    /// passcode does this: the duress code is answered as a wrong code (counted and delayed); the
    /// duress code is changed with `set_duress_code`. A `new` that is the duress code throws
    /// `InvalidInput`.
    pub fn change_passcode(&self, old: String, new: String) -> Result<()> {
        let (old, new) = (secret(old), secret(new));
        Ok(self.lock()?.change_passcode(&old, &new, now_ms())?)
    }

    /// Removes the passcode (back to the key store alone) and any duress vault. Only the passcode
    /// does this; any other code is a wrong one.
    pub fn remove_passcode(&self, passcode: String) -> Result<()> {
        let passcode = secret(passcode);
        self.lock()?.remove_passcode(&passcode, now_ms())?;
        remove_vault_files(&alt_path(&self.path));
        Ok(())
    }

    /// Sets (or replaces) the duress code: `passcode` must be the passcode, `duress_code` another
    /// code. It makes a new, empty duress vault (with a person of its own) in place of any earlier.
    pub fn set_duress_code(&self, passcode: String, duress_code: String) -> Result<()> {
        let (passcode, duress) = (secret(passcode), secret(duress_code));
        let key = self.lock()?.set_duress_code(&passcode, &duress, now_ms())?;
        let alt = alt_path(&self.path);
        remove_vault_files(&alt);
        let mut v = sebaya_core::Vault::open(&alt, key.as_ref())?;
        // A person of its own, so it looks like a vault in use; its phrase is never shown.
        drop(v.create_person()?);
        Ok(())
    }

    /// Quick wipe, chosen by the person: locks every open vault, destroys the key store's secret,
    /// the wrapped key and any plain key at once (the vault files can no longer be decrypted), then
    /// deletes the files. Throws `KeyStore` if the store failed to delete something (tried all).
    pub fn wipe(&self) -> Result<()> {
        super::lock_now();
        let r = self.lock()?.wipe();
        remove_vault_files(&self.path);
        remove_vault_files(&alt_path(&self.path));
        Ok(r?)
    }

    /// Locks after `seconds` without activity (0: never by time).
    pub fn set_auto_lock_secs(&self, seconds: u32) {
        if let Ok(mut t) = self.idle.lock() {
            t.set_timeout(seconds);
        }
    }

    /// The person did something at `now_ms` (ms since the epoch).
    pub fn note_activity(&self, now_ms: i64) {
        if let Ok(mut t) = self.idle.lock() {
            t.touch(now_ms);
        }
    }

    /// Whether the app should lock at `now_ms`: the timeout passed since the last activity, or
    /// the clock went back.
    pub fn should_lock(&self, now_ms: i64) -> bool {
        self.idle
            .lock()
            .map(|t| t.should_lock(now_ms))
            .unwrap_or(true)
    }
}
