//! The passcode lock over the platform's key store: set, unlock, change, remove, the duress code,
//! the quick wipe, and the delay after wrong tries.
//!
//! What the key store holds, under the vault's key name `N`:
//!
//! | name | what | when |
//! |---|---|---|
//! | `N` | the master key itself | no passcode (key-store-only) |
//! | `N.passcode-secret` | 32 random bytes, the `S` of the KEK | a passcode is set |
//! | `N.passcode` | the wrapped key (`kdf::Wrapped`, 155 bytes) | a passcode is set |
//! | `N.passcode-tries` | wrong tries in a row and the earliest next try | a passcode is set (never deleted then; missing counts as the cap) |
//!
//! A try is counted *before* it is checked (the counter is written, then argon2id runs), so killing
//! the app once it knows the answer saves nothing. Only the passcode resets the counter: a duress
//! unlock puts back the record as it was before the try (neither cleared nor counted), so whoever
//! knows the duress code cannot use it to keep the delay short. The counter is never deleted while a
//! passcode is set; a missing, damaged or unreadable one counts as the most wrong tries. The tries
//! of one process go one at a time (a process-wide lock around read, count and check), so two at
//! once are two tries.

use std::sync::{Mutex, MutexGuard};

use zeroize::Zeroizing;

use super::kdf::{self, KdfParams, SLOT_LEN, Wrapped};
use crate::crypto::{self, Key32};
use crate::error::{Error, Result};

/// Named byte strings in the platform's key store (Android Keystore-backed storage, iOS
/// Keychain). The bindings adapt the app's `KeyStore` to it; tests keep a map.
pub trait SecretStore {
    /// The value under `name`, if any.
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>>;
    /// Stores `value` under `name`, replacing what was there.
    fn put(&self, name: &str, value: &[u8]) -> Result<()>;
    /// Removes `name` (nothing there is not an error).
    fn delete(&self, name: &str) -> Result<()>;
}

/// Serialises every read-count-check of the counter in this process: two tries at once would
/// otherwise both read the same count and both be checked for the price of one delay.
static TRIES_LOCK: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    // A panic while held leaves nothing half-done that matters here: carry on with the lock.
    TRIES_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which vault a code opened, with its master key.
pub enum Opened {
    /// The person's vault.
    Main(Key32),
    /// The duress vault (empty-looking, never syncs).
    Duress(Key32),
}

/// The most a wrong try makes the next one wait: 15 minutes.
pub const MAX_DELAY_SECS: u64 = 15 * 60;

/// Seconds to wait after `failures` wrong tries in a row: 0, then 2, 4, 8 … doubling up to
/// [`MAX_DELAY_SECS`]. Never a wipe: an abuser who types wrong codes must not be able to destroy
/// a child's journal.
pub fn retry_delay_secs(failures: u32) -> u64 {
    if failures == 0 {
        return 0;
    }
    (1u64 << failures.min(20)).min(MAX_DELAY_SECS)
}

/// Wrong tries in a row and the earliest time (ms) the next one is accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tries {
    failures: u32,
    not_before_ms: i64,
}

const TRIES_V1: u8 = 1;

impl Tries {
    fn to_bytes(self) -> [u8; 13] {
        let mut b = [0u8; 13];
        b[0] = TRIES_V1;
        b[1..5].copy_from_slice(&self.failures.to_be_bytes());
        b[5..].copy_from_slice(&self.not_before_ms.to_be_bytes());
        b
    }

    /// The most wrong tries, with no wait left: what a missing or damaged record counts as.
    const CAP: Tries = Tries {
        failures: 20,
        not_before_ms: 0,
    };

    /// A damaged record counts as the most wrong tries: the wait is the cap, never none.
    fn from_bytes(b: &[u8]) -> Tries {
        if b.len() != 13 || b[0] != TRIES_V1 {
            return Tries::CAP;
        }
        let mut f = [0u8; 4];
        f.copy_from_slice(&b[1..5]);
        let mut t = [0u8; 8];
        t.copy_from_slice(&b[5..]);
        Tries {
            failures: u32::from_be_bytes(f),
            not_before_ms: i64::from_be_bytes(t),
        }
    }
}

/// What a counted try that opened a slot gives its caller.
struct Checked {
    wrapped: Wrapped,
    secret: Key32,
    slot: usize,
    key: Key32,
    /// The counter as it was before this try (a duress unlock puts it back).
    before: Tries,
    /// The delay a wrong code would have got at this try.
    delay: u64,
}

/// The passcode lock of one vault: the app's key store and the vault's key name.
pub struct PasscodeLock<'a, S: SecretStore + ?Sized> {
    store: &'a S,
    name: String,
    params: KdfParams,
}

impl<'a, S: SecretStore + ?Sized> PasscodeLock<'a, S> {
    /// The lock of the vault whose key is kept under `name`; a new passcode is derived with
    /// `params` (an existing one with the parameters in its header).
    pub fn new(store: &'a S, name: &str, params: KdfParams) -> Result<Self> {
        params.check()?;
        Ok(PasscodeLock {
            store,
            name: name.to_string(),
            params,
        })
    }

    fn n(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.name)
    }

    /// Whether a passcode protects the vault.
    pub fn has_passcode(&self) -> Result<bool> {
        Ok(self.store.get(&self.n(".passcode"))?.is_some())
    }

    /// The master key kept without a passcode, if any.
    pub fn plain_key(&self) -> Result<Option<Key32>> {
        self.store.get(&self.name)?.map(|v| to_key(&v)).transpose()
    }

    fn secret(&self) -> Result<Key32> {
        let v = self
            .store
            .get(&self.n(".passcode-secret"))?
            .ok_or(Error::PasscodeRequired)?;
        to_key(&v)
    }

    fn wrapped(&self) -> Result<Wrapped> {
        let v = self
            .store
            .get(&self.n(".passcode"))?
            .ok_or(Error::NotFound("passcode"))?;
        Wrapped::from_bytes(&v)
    }

    /// The counter; a missing one (deleted beside a set passcode) or one the store cannot read
    /// counts as the cap, never as a fresh start.
    fn tries(&self) -> Tries {
        match self.store.get(&self.n(".passcode-tries")) {
            Ok(Some(v)) => Tries::from_bytes(&v),
            Ok(None) | Err(_) => Tries::CAP,
        }
    }

    fn put_tries(&self, t: Tries) -> Result<()> {
        self.store.put(&self.n(".passcode-tries"), &t.to_bytes())
    }

    /// Puts `value` and reads it back: a key the store did not keep would lock the vault for good.
    fn put_checked(&self, name: &str, value: &[u8]) -> Result<()> {
        self.store.put(name, value)?;
        match self.store.get(name)? {
            Some(back) if back.as_slice() == value => Ok(()),
            _ => Err(Error::KeyStore(
                "the key store did not keep what was stored".into(),
            )),
        }
    }

    /// Sets the first passcode: the master key kept in the store (or, for a new vault, a fresh
    /// one) is wrapped under it, and then removed from the store. A vault with a passcode already
    /// gives `NotAllowed` (change it instead).
    pub fn set_passcode(&self, passcode: &[u8]) -> Result<()> {
        check_passcode(passcode)?;
        let _one = one_at_a_time();
        if self.has_passcode()? {
            return Err(Error::NotAllowed("a passcode is already set; change it"));
        }
        let master = match self.plain_key()? {
            Some(k) => k,
            None => crypto::random_key()?,
        };
        let secret = crypto::random_key()?;
        let salt = crypto::random::<16>()?;
        let kek = kdf::kek(
            &*kdf::stretch(passcode, &salt, &self.params)?,
            &secret,
            &salt,
        )?;
        let mut w = Wrapped {
            params: self.params,
            salt,
            slots: [[0u8; SLOT_LEN]; 2],
        };
        w.seal(0, &kek, crypto::random()?, &master)?;
        // No duress code yet: slot 1 is random bytes, as long as a sealed key.
        w.slots[1] = crypto::random::<SLOT_LEN>()?;
        self.put_checked(&self.n(".passcode-secret"), secret.as_ref())?;
        self.put_tries(Tries::default())?;
        self.put_checked(&self.n(".passcode"), &w.to_bytes())?;
        self.store.delete(&self.name)
    }

    /// The slot `passcode` opens, with its key, after the delay rules (the caller holds
    /// `one_at_a_time`): a try before the earliest next one is refused uncounted
    /// (`PasscodeTooSoon`); otherwise it is counted before it is checked, and a wrong one gives
    /// `PasscodeWrong` with the new delay. The passcode (slot 0) resets the counter; for the duress
    /// code (slot 1) the try stays counted and the caller decides (see [`Checked`]).
    fn check(&self, passcode: &[u8], now_ms: i64) -> Result<Checked> {
        let wrapped = self.wrapped()?;
        let secret = self.secret()?;
        let before = self.tries();
        let rule_secs = retry_delay_secs(before.failures);
        let rule_ms = (rule_secs * 1000) as i64;
        let left_ms = before.not_before_ms.saturating_sub(now_ms);
        if left_ms > rule_ms {
            // The clock went back: a wait is never longer than the rule, so anchor it again at
            // this clock's time (otherwise the right passcode waits until the clock catches up).
            self.put_tries(Tries {
                failures: before.failures,
                not_before_ms: now_ms.saturating_add(rule_ms),
            })?;
            return Err(Error::PasscodeTooSoon {
                retry_after_secs: rule_secs.max(1),
            });
        }
        if left_ms > 0 {
            return Err(Error::PasscodeTooSoon {
                retry_after_secs: (left_ms as u64).div_ceil(1000).max(1),
            });
        }
        let failures = before.failures.saturating_add(1);
        let delay = retry_delay_secs(failures);
        self.put_tries(Tries {
            failures,
            not_before_ms: now_ms.saturating_add(delay as i64 * 1000),
        })?;
        let stretched = kdf::stretch(passcode, &wrapped.salt, &wrapped.params)?;
        let kek = kdf::kek(&stretched, &secret, &wrapped.salt)?;
        // Both slots are always tried, so the time does not say which one opened.
        let main = wrapped.open(0, &kek)?;
        let duress = wrapped.open(1, &kek)?;
        let (slot, key) = match (main, duress) {
            (Some(k), _) => (0, k),
            (None, Some(k)) => (1, k),
            (None, None) => {
                return Err(Error::PasscodeWrong {
                    retry_after_secs: delay,
                });
            }
        };
        if slot == 0 {
            self.put_tries(Tries::default())?;
        }
        Ok(Checked {
            wrapped,
            secret,
            slot,
            key,
            before,
            delay,
        })
    }

    /// The passcode checked by an operation only the passcode may do: the duress code is
    /// answered exactly as a wrong code (its try stays counted, with the delay a wrong code gets),
    /// so from the duress vault these calls say nothing a wrong code does not.
    fn check_passcode_only(&self, passcode: &[u8], now_ms: i64) -> Result<Checked> {
        let c = self.check(passcode, now_ms)?;
        if c.slot != 0 {
            return Err(Error::PasscodeWrong {
                retry_after_secs: c.delay,
            });
        }
        Ok(c)
    }

    /// Opens with `passcode` at `now_ms`: the vault's master key, or the duress vault's.
    pub fn unlock(&self, passcode: &[u8], now_ms: i64) -> Result<Opened> {
        let _one = one_at_a_time();
        let c = self.check(passcode, now_ms)?;
        Ok(if c.slot == 0 {
            Opened::Main(c.key)
        } else {
            // The duress code neither resets nor adds to the counter: the record goes back to
            // what it was before this try (whose wait had passed, so no delay shows).
            self.put_tries(c.before)?;
            Opened::Duress(c.key)
        })
    }

    /// Replaces the passcode `old` with `new`, under the same delay rules as an unlock. Only the
    /// passcode does this: the duress code is answered as a wrong code (counted), so changing codes
    /// from the duress vault is no oracle for the passcode; the duress code is changed by setting
    /// it again with the passcode. A `new` that is the duress code is refused.
    pub fn change_passcode(&self, old: &[u8], new: &[u8], now_ms: i64) -> Result<()> {
        check_passcode(new)?;
        let _one = one_at_a_time();
        let Checked {
            mut wrapped,
            secret,
            key,
            ..
        } = self.check_passcode_only(old, now_ms)?;
        let kek = kdf::kek(
            &*kdf::stretch(new, &wrapped.salt, &wrapped.params)?,
            &secret,
            &wrapped.salt,
        )?;
        if wrapped.open(1, &kek)?.is_some() {
            return Err(Error::InvalidInput("choose a different passcode".into()));
        }
        wrapped.seal(0, &kek, crypto::random()?, &key)?;
        self.put_checked(&self.n(".passcode"), &wrapped.to_bytes())
    }

    /// Sets (or replaces) the duress code: the passcode must open the person's vault. Returns the
    /// new duress vault's master key (the caller makes that vault afresh).
    pub fn set_duress_code(&self, passcode: &[u8], duress: &[u8], now_ms: i64) -> Result<Key32> {
        check_passcode(duress)?;
        let _one = one_at_a_time();
        // The duress code cannot set a duress code: answered as a wrong code.
        let Checked {
            mut wrapped,
            secret,
            ..
        } = self.check_passcode_only(passcode, now_ms)?;
        let kek = kdf::kek(
            &*kdf::stretch(duress, &wrapped.salt, &wrapped.params)?,
            &secret,
            &wrapped.salt,
        )?;
        if wrapped.open(0, &kek)?.is_some() {
            return Err(Error::InvalidInput("choose a different passcode".into()));
        }
        let key = crypto::random_key()?;
        wrapped.seal(1, &kek, crypto::random()?, &key)?;
        self.put_checked(&self.n(".passcode"), &wrapped.to_bytes())?;
        Ok(key)
    }

    /// Removes the passcode: the master key goes back into the store (key-store-only), the
    /// secret, the wrapped key and the duress slot are deleted. Only the passcode itself does this;
    /// the duress code is answered as a wrong code (the real vault must never open without one).
    pub fn remove_passcode(&self, passcode: &[u8], now_ms: i64) -> Result<()> {
        let _one = one_at_a_time();
        let Checked { key, .. } = self.check_passcode_only(passcode, now_ms)?;
        self.put_checked(&self.name, key.as_ref())?;
        self.store.delete(&self.n(".passcode"))?;
        self.store.delete(&self.n(".passcode-secret"))?;
        self.store.delete(&self.n(".passcode-tries"))
    }

    /// Quick wipe: deletes the key store's secret first (alone, it makes every wrapped key and so
    /// the vault file undecryptable), then the wrapped key, a plain master key and the counter.
    /// Every deletion is tried; the first failure is returned.
    pub fn wipe(&self) -> Result<()> {
        let _one = one_at_a_time();
        let mut first = Ok(());
        for n in [
            self.n(".passcode-secret"),
            self.n(".passcode"),
            self.name.clone(),
            self.n(".passcode-tries"),
        ] {
            if let Err(e) = self.store.delete(&n)
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }
}

fn to_key(v: &[u8]) -> Result<Key32> {
    let mut k = Zeroizing::new([0u8; 32]);
    if v.len() != 32 {
        return Err(Error::KeyStore(format!(
            "the key store holds {} bytes where a 32-byte key belongs",
            v.len()
        )));
    }
    k.copy_from_slice(v);
    Ok(k)
}

/// A passcode is 4 to 128 bytes (a 4-digit PIN at least; the delay rules make short ones slow).
fn check_passcode(p: &[u8]) -> Result<()> {
    if (4..=128).contains(&p.len()) {
        Ok(())
    } else {
        Err(Error::InvalidInput(
            "a passcode is 4 to 128 characters".into(),
        ))
    }
}

#[cfg(test)]
#[path = "passcode_tests.rs"]
mod tests;
