//! Whether a pairing works under a programme's rules, and the migration of pairings opened before a
//! programme was required (issue 14, item 11).
//!
//! A pairing is either bound to a programme (its creator wrote `programme`, judged on every device
//! by `space/rules/credentials.rs`) or *outside a programme*: one opened before pairings needed one,
//! which no device drops. Apps show the second kind as such. The supporter's device binds its own
//! older pairings to their programme where it can tell which one that is: its person is certified
//! for one-to-one work in exactly one programme it keeps; otherwise they stay outside one.

use sebaya_proto::programme::ProgrammeRole;

use crate::care::programmes::now_secs;
use crate::care::training::publish_records;
use crate::error::{Error, Result};
use crate::space::SpaceKind;
use crate::space::rules::credentials::certified;
use crate::{SpaceId, Vault};

/// A pairing's standing: the programme whose rules it works under, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairingStanding {
    /// Bound to this programme (its id): its supporter's role and training were checked by every
    /// device when it was set up.
    Programme([u8; 32]),
    /// Outside a programme: opened before pairings needed one, and not (yet) bound by its
    /// supporter's device. Nobody checked the supporter's role or training; apps say so.
    Outside,
}

/// The standing a pairing's document gives it.
pub fn standing(doc: &automerge::AutoCommit) -> PairingStanding {
    match crate::space::rules::programme_of(doc) {
        Some(p) => PairingStanding::Programme(p),
        None => PairingStanding::Outside,
    }
}

/// A programme and this person's training records there.
type CertifiedIn = ([u8; 32], Vec<Vec<u8>>);

impl Vault {
    /// Whether the pairing `pairing` works under a programme's rules, and which
    /// (`InvalidInput` for a space that is no pairing, `NotFound` for one not held here).
    pub fn pairing_standing(&self, pairing: &SpaceId) -> Result<PairingStanding> {
        let s = self.shared.get(pairing).ok_or(Error::NotFound("space"))?;
        if s.kind != SpaceKind::Pairing {
            return Err(Error::InvalidInput("that space is not a pairing".into()));
        }
        Ok(standing(&s.doc))
    }

    /// Binds the pairings this device opened before a programme was required to their programme,
    /// where that can be determined: this person holds `peer_supporter` or `coordinator` with current
    /// training in exactly one programme kept here. The binding goes out with the supporter's
    /// records, so every member's device judges it as it judges a new pairing's. Pairings it cannot
    /// place stay as they are (outside a programme); nothing is dropped. Returns how many it bound.
    /// Run before each sync.
    pub(crate) fn bind_pairings_outside_programmes(&mut self) -> Result<u32> {
        if self.person_id().is_none() {
            return Ok(0);
        }
        let me = self.identity.device;
        let mine = me.to_hex();
        let unbound: Vec<SpaceId> = self
            .shared
            .values()
            .filter(|s| {
                s.kind == SpaceKind::Pairing
                    && s.creator() == Some(me)
                    && s.membership().is_admin(&me)
                    && crate::pairing::supporter(&s.doc).as_deref() == Some(mine.as_str())
                    && standing(&s.doc) == PairingStanding::Outside
            })
            .map(|s| s.id)
            .collect();
        if unbound.is_empty() {
            return Ok(0);
        }
        let Some((programme, records)) = self.the_one_certified_programme()? else {
            return Ok(0);
        };
        // The log names this device's person first (a pairing opened before the person was made,
        // or by a version that did not claim it): the binding is judged by that person's role.
        if let Some(person) = self.person_id() {
            self.claim_spaces(person.0)?;
        }
        let mut bound = 0;
        for id in unbound {
            let store = &self.store;
            let s = self
                .shared
                .get_mut(&id)
                .ok_or(Error::Internal("space missing"))?;
            publish_records(store, s, &records)?;
            Vault::bind_programme(store, s, &programme)?;
            bound += 1;
        }
        Ok(bound)
    }

    /// The programme in which this person may accompany one-to-one now, with their records there,
    /// when there is exactly one such programme (two or more: which one an old pairing belongs to
    /// cannot be told).
    fn the_one_certified_programme(&self) -> Result<Option<CertifiedIn>> {
        let Some(me) = self.person_id() else {
            return Ok(None);
        };
        let now = now_secs();
        let mut found = None;
        for info in self.programmes()? {
            if info.role.is_none_or(|r| r < ProgrammeRole::PeerSupporter) {
                continue;
            }
            let (reg, kept) = self.kept_training(&info.id)?;
            let records: Vec<Vec<u8>> = kept.into_iter().map(|(b, _)| b).collect();
            if certified(&reg, &records, &me, now).is_ok() {
                if found.is_some() {
                    return Ok(None);
                }
                found = Some((info.id, records));
            }
        }
        Ok(found)
    }
}
