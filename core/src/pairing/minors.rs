//! A minor's pairing waits for a guardian (issue 14, item 15; UU 27/2022 asks a parent's or
//! guardian's consent for a child's data).
//!
//! A pairing whose participant is a minor in a care record this device holds is set up and kept,
//! but *waits*: neither the participant's device nor the supporter's writes into it (check-ins,
//! goals, messages, reminders, sharing: `NotAllowed`) until, in that record, a guardian's consent
//! to [`PAIRING_PURPOSE`](crate::care::PAIRING_PURPOSE) with the signed form's reference stands, or
//! a coordinator recorded a best-interests exception for it. A guardian's signed consent to
//! [`SHARE_PURPOSE`](crate::care::SHARE_PURPOSE) lets it run too while the guardians' ledger holds
//! no record for `pairing` itself (it presupposes the pairing, and ongoing pairings stood on it
//! before that purpose existed). A pairing opened before the record said minor is never dropped:
//! it shows as waiting the same way. Crisis lines, "I need help now" and referrals live in the care
//! record and never ask this.
//!
//! Which records count: those whose participant (the record's subject) is the pairing's participant
//! device's person, as the record's own membership log says; on the participant's own device, every
//! record where it is the participant. The minor flag and a guardian's consent live in the care
//! record, another space, so the pairing's receivers cannot judge a write by them: honest devices on
//! both sides hold back, and what a modified client writes is not refused on receipt.

use sebaya_proto::envelope::DeviceId;

use crate::care::{guardian_allows_pairing, is_minor};
use crate::error::{Error, Result};
use crate::space::SpaceKind;
use crate::{SpaceId, Vault};

impl Vault {
    /// Whether the pairing `pairing` waits for a guardian: its participant is a minor in a care
    /// record held here, and neither a guardian's consent to `pairing` (with a form reference) nor a
    /// best-interests exception for it stands there (nor, while no guardian's record for `pairing`
    /// exists there, one to sharing with the supporter: `care::guardian_allows_pairing`). `NotFound` for a space that is no pairing here.
    pub fn pairing_waits_for_guardian(&self, pairing: &SpaceId) -> Result<bool> {
        let s = self
            .shared
            .get(pairing)
            .filter(|s| s.kind == SpaceKind::Pairing)
            .ok_or(Error::NotFound("pairing"))?;
        let Some(device) = super::participant(&s.doc).and_then(|h| DeviceId::from_hex(&h).ok())
        else {
            return Ok(false);
        };
        let me = self.identity.device;
        let mine = self.person_id().map(|p| p.0);
        Ok(self.shared.values().any(|c| {
            if c.kind != SpaceKind::Care || !is_minor(&c.doc) {
                return false;
            }
            let members = c.membership();
            let Some(subject) = crate::space::rules::current_subject(&c.doc, members) else {
                return false;
            };
            let theirs = members
                .persons
                .get(&device)
                .is_some_and(|p| members.current_person(*p) == subject);
            let mine_as_participant = device == me && mine == Some(subject);
            (theirs || mine_as_participant) && !guardian_allows_pairing(&c.doc)
        }))
    }

    /// `NotAllowed` while the pairing waits for a guardian ([`Vault::pairing_waits_for_guardian`]):
    /// called before every write into a pairing (check-ins, goals, messages, adding a reminder,
    /// sharing). Taking back (a withdrawal, unsharing, deleting a reminder) never waits.
    pub fn check_pairing_open(&self, pairing: &SpaceId) -> Result<()> {
        if self.pairing_waits_for_guardian(pairing)? {
            return Err(Error::NotAllowed(
                "a guardian's consent is needed first: the participant is a minor",
            ));
        }
        Ok(())
    }
}
