//! Peer-to-peer sessions through the bindings (issue 5; protocol section 25): the app owns the byte
//! stream (Bluetooth, Nearby Connections, Multipeer, a TCP socket on a hotspot) and moves bytes; the
//! core does the Noise XX handshake, the membership check and the chunked, acknowledged exchange,
//! and hands on what this device carries for others to a device that holds those spaces (25.2).

use std::sync::{Arc, Mutex};

use super::{Result, Shared, Vault, poisoned, with, with_unannounced};

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
/// replayed — start a new session, which resumes where this one stopped).
#[derive(uniffi::Object)]
pub struct PeerSession {
    vault: Shared,
    session: Mutex<sebaya_core::sync::peer::PeerSession>,
}

#[uniffi::export]
impl Vault {
    /// Starts a peer session: `initiator` on the device that connected (dialled, or opened the
    /// Bluetooth socket), not on the one that accepted. Throws `NoPerson` on a device without a
    /// person (it has no certificate to show).
    pub fn peer_session(&self, initiator: bool) -> Result<Arc<PeerSession>> {
        let s = with(&self.inner, |v| v.peer_session(initiator))?;
        Ok(Arc::new(PeerSession {
            vault: self.inner.clone(),
            session: Mutex::new(s),
        }))
    }
}

#[uniffi::export]
impl PeerSession {
    /// Hands over bytes read from the stream. The vault is held only while they are handled.
    pub fn receive(&self, bytes: Vec<u8>) -> Result<()> {
        let (out, changes) = {
            let mut s = self.session.lock().map_err(|_| poisoned())?;
            with_unannounced(&self.vault, |v| s.receive(v, &bytes))?
        };
        // Listeners run after the session is released: one may ask this session for its report.
        crate::platform::notify(&self.vault, &changes);
        out
    }

    /// Frames to write to the stream now, in order (each carries its own length prefix).
    pub fn take_outgoing(&self) -> Result<Vec<Vec<u8>>> {
        let mut s = self.session.lock().map_err(|_| poisoned())?;
        Ok(s.take_outgoing())
    }

    /// Whether everything was exchanged.
    pub fn is_finished(&self) -> Result<bool> {
        let s = self.session.lock().map_err(|_| poisoned())?;
        Ok(s.is_finished())
    }

    /// What the session did so far.
    pub fn report(&self) -> Result<PeerReport> {
        let s = self.session.lock().map_err(|_| poisoned())?;
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
