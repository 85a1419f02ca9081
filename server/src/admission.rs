//! Who may store at this relay (issue 15, item 2; `docs/protocol.md` section 9.8). Fresh keys cost
//! a stranger nothing, so quotas per device alone stop no flood: an operator who runs the relay for
//! programmes lists their keys and admits by credential. A **person** is admitted by a role grant of
//! a listed programme that counts now (section 19), a **device** by a certificate of an admitted
//! person (section 16), and a **space** once the device that founded it (the author of its genesis)
//! is admitted; a space stays admitted after that, so a programme's care records and groups never
//! start refusing their members because a grant ran out. A person's own journal and index spaces are
//! founded by their devices, so they are admitted with the person, and a device restored from the
//! recovery phrase needs only its new certificate to reach them.
//!
//! Kept apart from the exchange because it is policy, not protocol: what is admitted is decided here
//! and remembered by the store; the exchange only asks.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use sebaya_proto::programme::{ProgrammeRegistry, SignedRoleGrant};
use sebaya_proto::sync::Admission;
use sebaya_proto::{DeviceId, PersonId, SignedDeviceCertificate, SpaceId};

use crate::error::StoreError;
use crate::store::RelayStore;

/// Whether the relay admits everyone or only programmes' people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every device may store, within the quotas (the default: a relay for one small group, a test).
    #[default]
    Open,
    /// Only admitted spaces take envelopes (other than revocations), and only admitted devices found
    /// spaces; everything else is refused `not-admitted`.
    Credential,
}

/// An operator's admission policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Open, or by credential.
    pub mode: Mode,
    /// The programme keys (Ed25519 public keys, section 19) whose role grants admit a person.
    pub programmes: Vec<[u8; 32]>,
}

/// Why a presented proof did not admit (counted for operators; the device learns only that its
/// envelopes are still `not-admitted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The certificate does not read or verify, or certifies another device than the requester.
    BadCertificate,
    /// No grant proves a role of the certificate's person in a listed programme now.
    NoRole,
}

/// What the relay remembers it admitted, read through from the store. Admissions only grow (a person's
/// ends with its grant's expiry), so a copy here that misses one only sends the store a question.
#[derive(Default)]
struct Known {
    /// Admitted devices, with their person.
    devices: HashMap<DeviceId, PersonId>,
    /// Admitted persons, with the Unix second their admission ends.
    persons: HashMap<PersonId, u64>,
    /// Admitted spaces, with the person whose device founded each.
    spaces: HashMap<SpaceId, PersonId>,
}

/// The relay's admissions: its policy and what it admitted. Shared by every request.
#[derive(Default)]
pub struct Admissions {
    policy: Policy,
    known: Mutex<Known>,
}

impl Admissions {
    /// Admissions under `policy`.
    pub fn new(policy: Policy) -> Admissions {
        Admissions {
            policy,
            known: Mutex::new(Known::default()),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether envelopes are judged for admission at all.
    pub fn by_credential(&self) -> bool {
        self.policy.mode == Mode::Credential
    }

    fn known(&self) -> MutexGuard<'_, Known> {
        // Everything here is a copy of the store's: whatever a panicking holder left is still true.
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a device's proof of admission (section 9.8). Returns `Ok(Err(_))` when the proof admits
    /// nothing; the request goes on either way.
    pub fn present(
        &self,
        store: &dyn RelayStore,
        device: &DeviceId,
        proof: &Admission,
        now: u64,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let Ok(cert) =
            SignedDeviceCertificate::from_bytes(&proof.certificate).and_then(|c| c.verify())
        else {
            return Ok(Err(Refusal::BadCertificate));
        };
        if cert.device != *device {
            return Ok(Err(Refusal::BadCertificate));
        }
        let person = cert.person;
        // A device key certified by two persons counts for the first that showed it here.
        if self.person_of(store, device)?.is_some_and(|p| p != person) {
            return Ok(Err(Refusal::BadCertificate));
        }
        if self.person_until(store, &person)? >= now {
            self.note_device(store, device, &person)?;
        } else {
            let Some(until) = self.role_until(&person, &proof.grants, now) else {
                return Ok(Err(Refusal::NoRole));
            };
            let kept = store.admit_person(&person, until, device)?;
            let mut known = self.known();
            known.persons.insert(person, until);
            known.devices.insert(*device, kept);
        }
        // The person's other keys (its index author), each proving it is held by the requester.
        for other in &proof.others {
            if let Ok(key) = other.verify(&store.relay_id().0, device, &person) {
                self.note_device(store, &key, &person)?;
            }
        }
        Ok(Ok(()))
    }

    /// Notes `device` as `person`'s, unless it is already some person's (it keeps its first).
    fn note_device(
        &self,
        store: &dyn RelayStore,
        device: &DeviceId,
        person: &PersonId,
    ) -> Result<(), StoreError> {
        if self.person_of(store, device)?.is_none() {
            let kept = store.admit_device(device, person)?;
            self.known().devices.insert(*device, kept);
        }
        Ok(())
    }

    /// Until when (Unix seconds) the grants prove a role of `person` in a listed programme: the
    /// earliest expiry along the best chain, the latest over the programmes. `None` if no role now.
    fn role_until<B: AsRef<[u8]>>(&self, person: &PersonId, grants: &[B], now: u64) -> Option<u64> {
        let mut best: Option<u64> = None;
        for programme in &self.policy.programmes {
            let mut registry = ProgrammeRegistry::new(*programme);
            for g in grants {
                // A grant of another programme, or one that does not verify, is simply not held.
                let _ = registry.insert_grant(g.as_ref());
            }
            if registry.role_of(person, now).is_none() {
                continue;
            }
            let until = registry
                .chain_for(person, now)
                .iter()
                .filter_map(|b| SignedRoleGrant::from_bytes(b).ok())
                .filter_map(|g| registry.grant(&g.id()).map(|g| g.expires))
                .min();
            if let Some(until) = until {
                best = Some(best.map_or(until, |b| b.max(until)));
            }
        }
        best
    }

    /// Until when `person` is admitted (0 when never).
    fn person_until(&self, store: &dyn RelayStore, person: &PersonId) -> Result<u64, StoreError> {
        if let Some(until) = self.known().persons.get(person) {
            return Ok(*until);
        }
        let until = store.admitted_person(person)?;
        if let Some(until) = until {
            self.known().persons.insert(*person, until);
        }
        Ok(until.unwrap_or(0))
    }

    /// The person of `device`, if the relay admitted it (whether or not the admission still runs:
    /// what a person's devices stored counts for the person either way).
    pub fn person_of(
        &self,
        store: &dyn RelayStore,
        device: &DeviceId,
    ) -> Result<Option<PersonId>, StoreError> {
        if let Some(p) = self.known().devices.get(device) {
            return Ok(Some(*p));
        }
        let person = store.admitted_device(device)?;
        if let Some(p) = person {
            self.known().devices.insert(*device, p);
        }
        Ok(person)
    }

    /// Whether `device` belongs to a person admitted now.
    pub fn device_admitted(
        &self,
        store: &dyn RelayStore,
        device: &DeviceId,
        now: u64,
    ) -> Result<bool, StoreError> {
        let person = match self.known().devices.get(device) {
            Some(p) => Some(*p),
            None => store.admitted_device(device)?,
        };
        let Some(person) = person else {
            return Ok(false);
        };
        self.known().devices.insert(*device, person);
        Ok(self.person_until(store, &person)? >= now)
    }

    /// The person whose device founded `space`, if the space is admitted: noted so before, or
    /// founded by `founder` (the author of its genesis the relay holds), a device admitted now, which
    /// notes it so for good. For a genesis not stored yet, ask [`Admissions::device_admitted`] of its
    /// author and [`Admissions::admit_space`] once it is stored.
    pub fn space_admitted(
        &self,
        store: &dyn RelayStore,
        space: &SpaceId,
        founder: Option<&DeviceId>,
        now: u64,
    ) -> Result<Option<PersonId>, StoreError> {
        if let Some(p) = self.known().spaces.get(space) {
            return Ok(Some(*p));
        }
        if let Some(p) = store.admitted_space(space)? {
            self.known().spaces.insert(*space, p);
            return Ok(Some(p));
        }
        match founder {
            Some(f) if self.device_admitted(store, f, now)? => {
                self.admit_space(store, space, f, now)
            }
            _ => Ok(None),
        }
    }

    /// Notes `space` admitted for good, founded by `founder` (its genesis by an admitted device was
    /// stored). Returns the founder's person (none if the device is no admitted person's).
    pub fn admit_space(
        &self,
        store: &dyn RelayStore,
        space: &SpaceId,
        founder: &DeviceId,
        now: u64,
    ) -> Result<Option<PersonId>, StoreError> {
        let Some(person) = self.person_of(store, founder)? else {
            return Ok(None);
        };
        store.admit_space(space, now, &person)?;
        let kept = store.admitted_space(space)?.unwrap_or(person);
        self.known().spaces.insert(*space, kept);
        Ok(Some(kept))
    }
}

#[cfg(test)]
mod tests;
