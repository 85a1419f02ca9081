//! This device and its person as the `Vault` offers them to an app: the device's ids, making or
//! restoring a person from the recovery phrase, and the device certificate that ties the two.
//! (`Vault::create_person` itself is in the crate root: making a person also starts their index, a
//! space, and `identity/` sits below `space/`.)

use sebaya_proto::{DeviceId, PersonId, SpaceId};

use crate::error::{Error, Result};
use crate::identity::person::{RecoveryPhrase, RecoverySecret, verify_device_certificate};
use crate::{Vault, store::clock::now_ms};

impl Vault {
    /// This device's id (its Ed25519 public key).
    pub fn device_id(&self) -> DeviceId {
        self.identity.device
    }

    /// This device's X25519 public key: what its certificate carries and what keys are wrapped for.
    pub fn device_x25519_public(&self) -> [u8; 32] {
        self.identity.x25519_public
    }

    /// Opens a key wrapped for this device's X25519 key (for `space` in `epoch`); anything else gives
    /// [`Error::BadKeyWrap`]. The shared-spaces work calls this when a key-wraps envelope arrives.
    pub fn unwrap_key(
        &self,
        wrap: &crate::crypto::keywrap::KeyWrap,
        space: &SpaceId,
        epoch: &sebaya_proto::EpochId,
    ) -> Result<crate::crypto::Key32> {
        self.identity.unwrap_key(wrap, space, epoch)
    }

    /// The person part of [`Vault::create_person`] (which then starts the person's index, a space:
    /// the crate root does both, as `identity/` sits below `space/`): fresh 128-bit entropy, the
    /// person root key derived from it and kept sealed, this device certified. Returns the recovery
    /// phrase. A vault that already has a person gives [`Error::AlreadyHasPerson`] and changes
    /// nothing.
    pub(crate) fn new_person(&mut self) -> Result<RecoveryPhrase> {
        if self.person.is_some() {
            return Err(Error::AlreadyHasPerson);
        }
        let secret = RecoverySecret::generate()?;
        let phrase = secret.phrase()?;
        self.adopt_person(&secret)?;
        Ok(phrase)
    }

    /// Restores a person from their recovery phrase onto this vault, which must have no person yet: the
    /// same person id as before, while this device keeps its own, new device keys (a restored phone is a
    /// new device, never a replay of an old author). A wrong or mistyped phrase gives
    /// [`Error::BadRecoveryPhrase`] and changes nothing; a vault that already has a person gives
    /// [`Error::AlreadyHasPerson`].
    pub fn restore_person(&mut self, phrase: &str) -> Result<()> {
        if self.person.is_some() {
            return Err(Error::AlreadyHasPerson);
        }
        let secret = RecoverySecret::from_phrase(phrase)?;
        self.adopt_person(&secret)
    }

    fn adopt_person(&mut self, secret: &RecoverySecret) -> Result<()> {
        let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
        let person = crate::identity::person::adopt(
            &self.store,
            secret,
            self.identity.device,
            self.identity.x25519_public,
            now,
        )?;
        self.person = Some(person);
        Ok(())
    }

    /// The person this device belongs to: created or restored here, or named by the certificate
    /// this device received when it was linked.
    pub fn person_id(&self) -> Option<PersonId> {
        if let Some(p) = &self.person {
            return Some(p.id());
        }
        let cert = crate::identity::person::stored_certificate(&self.store).ok()??;
        verify_device_certificate(&cert).ok().map(|c| c.person)
    }

    /// This device's certificate, signed by its person's root key: made when the person was created
    /// or restored here, or received when this device was linked. [`Error::NoPerson`] before that.
    pub fn device_certificate(&self) -> Result<Vec<u8>> {
        match crate::identity::person::stored_certificate(&self.store)? {
            Some(c) => Ok(c),
            None if self.person.is_none() => Err(Error::NoPerson),
            None => Err(Error::Corrupt("device certificate")),
        }
    }
}
