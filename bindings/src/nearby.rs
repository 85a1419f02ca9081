//! Syncing without the relay through the bindings (`Vault.nearby()`; issue 5).
//!
//! **Peer sessions** (protocol section 25): the app owns the byte stream (Bluetooth, Nearby
//! Connections, Multipeer, a TCP socket on a hotspot) and moves bytes; the core does the Noise XX
//! handshake, the membership check and the chunked, acknowledged exchange, and hands on what this
//! device carries for others to a device that holds those spaces (25.2).
//!
//! **Bundles** (protocol section 24): write what a peer lacks to a signed file any path can carry,
//! and import one, verified whole before anything is kept.
//!
//! **Carrying**: opt in to take others' sealed envelopes along (read by nobody here) to the relay,
//! into bundles, or to a member met face to face.

use std::sync::{Arc, Mutex, MutexGuard};

use super::{Result, Shared, locked, parse_device, parse_space, poisoned, with, with_unannounced};

/// The DNS-SD service type to advertise and browse for face-to-face sync on a local network, as
/// Android NSD and Apple Bonjour take it: `_sebaya._tcp` (protocol 25.1; the CLI's
/// `_sebaya._tcp.local.` without the domain). iOS apps list it under `NSBonjourServices`.
#[uniffi::export]
pub fn nearby_service_type() -> String {
    sebaya_core::sync::peer::advert::SERVICE_TYPE.to_string()
}

/// A fresh random instance name to advertise under while this device listens for a nearby session
/// (protocol 25.1): 16 lowercase hex characters, the same rule as `sebaya nearby listen`. It names
/// no device, person or vault; take a new one for each opening, so two openings cannot be linked.
#[uniffi::export]
pub fn nearby_advert_name() -> Result<String> {
    Ok(sebaya_core::sync::peer::advert::advert_name()?)
}

/// Whether `name` is of the form `nearby_advert_name` makes (a browsing app may skip other names).
#[uniffi::export]
pub fn is_nearby_advert_name(name: String) -> bool {
    sebaya_core::sync::peer::advert::is_advert_name(&name)
}

/// What importing a bundle did.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BundleReport {
    /// The device that made it (hex): pass it as `peer_device_id` to answer with only what it lacks.
    pub exporter: String,
    /// Spaces it carried that this device holds.
    pub spaces: u32,
    /// Spaces it carried that this device does not hold (left alone).
    pub other_spaces: u32,
    /// Envelopes newly stored.
    pub stored: u32,
    /// Envelopes already held.
    pub duplicates: u32,
    /// Envelopes whose changes reached the documents.
    pub applied: u32,
    /// Envelopes set aside (content that could not be applied, or an author who may not write).
    pub quarantined: u32,
    /// Envelopes of others' spaces taken to carry on (when this device opted in).
    pub carried: u32,
}

/// What this device carries for others (see `Nearby.set_carry_quota`).
#[derive(Clone, Debug, uniffi::Record)]
pub struct CarryStatus {
    /// The quota, bytes (0: carrying is off).
    pub quota: u64,
    /// Bytes carried now.
    pub used: u64,
    /// Envelopes carried now.
    pub envelopes: u32,
    /// Distinct spaces they belong to.
    pub spaces: u32,
}

/// Syncing without the relay, handed out by `Vault.nearby()`: face to face with a nearby device
/// over any byte stream the app opens (peer sessions), by file (bundles), and carrying sealed
/// envelopes of others' spaces from one place to another. It holds the vault's shared state, so
/// `Vault.lock()` locks it too (`Locked`). A duress vault's shares nothing: `start_session` throws
/// `PeerNotMember`, `export_bundle` `NotAllowed`, `import_bundle` `StrangerBundle`, and
/// `set_carry_quota` keeps the quota at 0.
#[derive(uniffi::Object)]
pub struct Nearby {
    pub(crate) inner: Shared,
    /// A duress vault's: it shares nothing with anyone, face to face, by file or by carrying.
    pub(crate) quiet: bool,
}

#[uniffi::export]
impl Nearby {
    /// Starts a peer session: `initiator` on the device that connected (dialled, or opened the
    /// Bluetooth socket), not on the one that accepted. Throws `NoPerson` on a device without a
    /// person (it has no certificate to show).
    pub fn start_session(&self, initiator: bool) -> Result<Arc<PeerSession>> {
        if self.quiet {
            // A duress vault shows its certificate to no one: the answer of a device that shares
            // no space with the other.
            return Err(sebaya_core::Error::PeerNotMember.into());
        }
        let s = with(&self.inner, |v| v.peer_session(initiator))?;
        Ok(Arc::new(PeerSession {
            vault: self.inner.clone(),
            session: Mutex::new(Some(s)),
        }))
    }

    /// Writes a bundle (bytes for a file) of `space_ids` (every space this device holds when empty):
    /// for `peer_device_id`, a device whose bundle this one imported before, only what it lacked
    /// then; otherwise everything. Envelopes stay sealed: carrying the file opens nothing.
    pub fn export_bundle(
        &self,
        space_ids: Vec<String>,
        peer_device_id: Option<String>,
    ) -> Result<Vec<u8>> {
        let spaces = space_ids
            .iter()
            .map(|s| parse_space(s))
            .collect::<Result<Vec<_>>>()?;
        let peer = peer_device_id.as_deref().map(parse_device).transpose()?;
        if self.quiet {
            return Err(sebaya_core::Error::NotAllowed("nothing to put in a bundle").into());
        }
        with(&self.inner, |v| v.export_bundle(&spaces, peer.as_ref()))
    }

    /// Imports a bundle. Throws `BadBundle` (damaged, truncated, altered), `BundleReplayed` (imported
    /// before) or `StrangerBundle` (from a device this one shares no space with), and then nothing
    /// changed.
    pub fn import_bundle(&self, bundle: Vec<u8>) -> Result<BundleReport> {
        if self.quiet {
            // A duress vault takes nothing in: the answer of a vault sharing no space.
            return Err(sebaya_core::Error::StrangerBundle.into());
        }
        let r = with(&self.inner, |v| v.import_bundle(&bundle))?;
        Ok(BundleReport {
            exporter: r.exporter.to_hex(),
            spaces: r.spaces,
            other_spaces: r.other_spaces,
            stored: r.stored,
            duplicates: r.duplicates,
            applied: r.applied,
            quarantined: r.quarantined,
            carried: r.carried,
        })
    }

    /// Opts in to carrying others' envelopes (sealed: this device reads nothing of them) up to
    /// `bytes`, at most 16 MiB; 0 (the default) turns it off and drops what is carried. Carried
    /// envelopes go to the relay at the next sync and into every full bundle.
    pub fn set_carry_quota(&self, bytes: u64) -> Result<()> {
        if self.quiet {
            // A duress vault carries nothing for anyone (its status reads a quota of 0).
            return Ok(());
        }
        with(&self.inner, |v| v.set_carry_quota(bytes))
    }

    /// What this device carries for others now.
    pub fn carry_status(&self) -> Result<CarryStatus> {
        let s = with(&self.inner, |v| v.carry_status())?;
        Ok(CarryStatus {
            quota: s.quota,
            used: s.used,
            envelopes: s.envelopes,
            spaces: s.spaces,
        })
    }
}

/// What a peer session did so far.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PeerReport {
    /// The other device (hex), once its certificate was accepted.
    pub remote_device_id: Option<String>,
    /// Spaces both devices hold with each other as members (the ones synced).
    pub spaces: u32,
    /// Envelopes sent.
    pub sent: u32,
    /// Envelopes sent that the other device acknowledged (stored).
    pub acked: u32,
    /// Envelopes received.
    pub received: u32,
    /// Envelopes received and newly stored.
    pub stored: u32,
    /// Envelopes received that were already held.
    pub duplicates: u32,
    /// Envelopes whose changes reached the documents.
    pub applied: u32,
    /// Envelopes set aside or refused.
    pub quarantined: u32,
    /// Chunks sent.
    pub chunks_sent: u32,
    /// Chunks received.
    pub chunks_received: u32,
    /// Bytes handed out by `take_outgoing`.
    pub bytes_sent: u64,
    /// Bytes given to `receive`.
    pub bytes_received: u64,
    /// Envelopes this device carries for others (`set_carry_quota`) handed to the other device,
    /// which holds their spaces and asked for them.
    pub carried_sent: u32,
    /// Of those, the ones the other device acknowledged (kept or refused). A peer's acknowledgement
    /// is not authoritative: they stay carried here until the relay answers for them.
    /// The rest stay carried for the relay or another meeting.
    pub carried_answered: u32,
    /// Envelopes the other device carried for spaces this device holds, received here.
    pub carried_received: u32,
    /// Of those, the ones refused or set aside (bad signature, an author the space's log does not
    /// let write, a space not asked for): they change nothing.
    pub carried_refused: u32,
}

/// One sync with one nearby device over one reliable byte stream. Loop: write every frame of
/// `take_outgoing()` to the stream, read what arrives and pass it to `receive()` (any split is fine),
/// until `is_finished()` (write `take_outgoing()` once more, then close) or an error is thrown
/// (`PeerNotMember`: the devices share no space; `BadPeerMessage`: the stream was altered, cut or
/// replayed — start a new session, which resumes where this one stopped). Like every object taken
/// from a vault, it throws `Locked` once that vault is locked (`Vault.lock()`, `lock_now()`).
#[derive(uniffi::Object)]
pub struct PeerSession {
    vault: Shared,
    /// `None` once the vault was found locked: the session, with its transport keys, is dropped.
    session: Mutex<Option<CoreSession>>,
}

type CoreSession = sebaya_core::sync::peer::PeerSession;

impl PeerSession {
    /// The core session, while the vault that started it is open. Once that vault is locked every
    /// call throws `Locked` and the session is dropped (a new session, on the vault opened again,
    /// resumes where this one stopped). Takes the session's lock, then the vault's briefly: the
    /// order `receive` takes them in.
    fn open(&self) -> Result<MutexGuard<'_, Option<CoreSession>>> {
        let mut s = self.session.lock().map_err(|_| poisoned())?;
        let vault_open = self.vault.lock().map_err(|_| poisoned())?.is_some();
        if !vault_open {
            s.take();
        }
        if s.is_none() {
            return Err(locked());
        }
        Ok(s)
    }
}

#[uniffi::export]
impl PeerSession {
    /// Hands over bytes read from the stream. The vault is held only while they are handled.
    pub fn receive(&self, bytes: Vec<u8>) -> Result<()> {
        let (out, changes) = {
            let mut guard = self.open()?;
            let s = guard.as_mut().ok_or_else(locked)?;
            with_unannounced(&self.vault, |v| s.receive(v, &bytes))?
        };
        // Listeners run after the session is released: one may ask this session for its report.
        crate::platform::notify(&self.vault, &changes);
        out
    }

    /// Frames to write to the stream now, in order (each carries its own length prefix).
    pub fn take_outgoing(&self) -> Result<Vec<Vec<u8>>> {
        let mut guard = self.open()?;
        let s = guard.as_mut().ok_or_else(locked)?;
        Ok(s.take_outgoing())
    }

    /// Whether everything was exchanged.
    pub fn is_finished(&self) -> Result<bool> {
        let guard = self.open()?;
        let s = guard.as_ref().ok_or_else(locked)?;
        Ok(s.is_finished())
    }

    /// What the session did so far.
    pub fn report(&self) -> Result<PeerReport> {
        let guard = self.open()?;
        let s = guard.as_ref().ok_or_else(locked)?;
        let r = s.report();
        Ok(PeerReport {
            remote_device_id: r.remote_device.map(|d| d.to_hex()),
            spaces: r.spaces,
            sent: r.sent,
            acked: r.acked,
            received: r.received,
            stored: r.stored,
            duplicates: r.duplicates,
            applied: r.applied,
            quarantined: r.quarantined,
            chunks_sent: r.chunks_sent,
            chunks_received: r.chunks_received,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            carried_sent: r.carried_sent,
            carried_answered: r.carried_answered,
            carried_received: r.carried_received,
            carried_refused: r.carried_refused,
        })
    }
}
