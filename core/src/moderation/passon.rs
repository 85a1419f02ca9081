//! Passing a report on to the group's facilitator (protocol 31.4): a coordinator's device seals it
//! again in the programme's safeguarding space, for the facilitator devices the report names and the
//! coordinators there, without the reporter. The safeguarding space holds the programme's
//! coordinators and supporters (a facilitator is a peer supporter), never a participant's device, so
//! the reported participant never holds the copy either, and nothing in it names the reporter: its
//! writer is the coordinator's device.

use automerge::transaction::Transactable;
use automerge::{ObjType, ROOT, ReadDoc, ScalarValue};

use sebaya_proto::programme::ProgrammeRole;

use crate::error::Result;
use crate::space::doc::{root_record, write};
use crate::space::{SpaceKind, rules};
use crate::{DeviceId, SpaceId, Vault};

use super::ROUTES;
use super::reports::{Plain, devices_with, seal_report_with};

impl Vault {
    /// On a coordinator's device: passes each report it opens in a care record, whose route names
    /// the facilitator, on into its programme's safeguarding space, sealed for the named facilitator
    /// devices that belong to that space and for its coordinators; once per report, whichever
    /// coordinator's device comes first. A report whose facilitator is not (yet) in the space waits
    /// for a later call. Returns how many were passed on. Called before every sync and listing.
    pub fn pass_on_reports(&mut self) -> Result<u32> {
        let mut n = 0;
        for r in self.reports() {
            if r.passed_on || r.route != ROUTES[0] || r.facilitators.is_empty() {
                continue;
            }
            let Some(care) = self.shared.get(&r.care) else {
                continue;
            };
            let me = self.identity.device;
            if care.kind != SpaceKind::Care
                || !devices_with(care, ProgrammeRole::Coordinator)
                    .iter()
                    .any(|(d, _)| *d == me)
            {
                continue;
            }
            let Some(programme) = rules::programme_of(&care.doc) else {
                continue;
            };
            let Some(space) = self.safeguarding_of(&programme) else {
                continue;
            };
            // Every device of the safeguarding space must take reports first, or it would hold
            // back this coordinator's later writes there (acknowledging concerns): until then the
            // report waits here for a later call.
            let ready = self
                .shared
                .get_mut(&space)
                .is_some_and(|s| s.wait_for_rules(rules::REPORTS_SINCE).is_ok());
            if !ready {
                continue;
            }
            let key = format!("{}{}", rules::REPORT_PREFIX, r.id);
            let s = self.held_ref(&space)?;
            if root_record(&s.doc, &key).is_some() {
                continue;
            }
            let m = s.membership();
            let named: Vec<(DeviceId, [u8; 32])> = r
                .facilitators
                .iter()
                .filter_map(|h| DeviceId::from_hex(h).ok())
                .filter(|d| m.is_member(d))
                .filter_map(|d| Some((d, *m.x25519.get(&d)?)))
                .collect();
            if named.is_empty() {
                continue;
            }
            let mut recipients = devices_with(s, ProgrammeRole::Coordinator);
            for x in named {
                if !recipients.iter().any(|(d, _)| *d == x.0) {
                    recipients.push(x);
                }
            }
            let plain = Plain {
                v: 1,
                space: r.space,
                target: r.target,
                record: r.record,
                about: r.about,
                route: r.route,
                facilitators: r.facilitators,
                reason: r.reason,
                text: r.text,
                copy: r.copy,
            };
            let k = crate::crypto::random_key()?;
            let sealed = seal_report_with(&k, crate::crypto::random()?, (&space, &r.id), &plain)?;
            let epoch = s.epoch;
            let mut wraps = Vec::with_capacity(recipients.len());
            for (device, x25519) in &recipients {
                let w = crate::crypto::keywrap::wrap(&k, x25519, &space, &epoch)?;
                wraps.push((device.to_hex(), w.to_bytes()));
            }
            self.with_space(&space, |doc, now| {
                if doc.get(ROOT, key.as_str())?.is_some() {
                    return Ok(());
                }
                write(doc, now, |d| {
                    let rec = d.put_object(ROOT, key.as_str(), ObjType::Map)?;
                    d.put(&rec, "at", now)?;
                    d.put(&rec, "epoch", epoch.to_hex())?;
                    d.put(&rec, "sealed", ScalarValue::Bytes(sealed))?;
                    let w = d.put_object(&rec, "wraps", ObjType::Map)?;
                    for (device, b) in wraps {
                        d.put(&w, device.as_str(), ScalarValue::Bytes(b))?;
                    }
                    Ok(())
                })
            })?;
            n += 1;
        }
        Ok(n)
    }

    /// The safeguarding space of `programme` this device belongs to (the first by id).
    fn safeguarding_of(&self, programme: &[u8; 32]) -> Option<SpaceId> {
        self.shared
            .values()
            .filter(|s| {
                s.kind == SpaceKind::Safeguarding
                    && rules::programme_of(&s.doc).as_ref() == Some(programme)
                    && s.membership().is_member(&self.identity.device)
            })
            .map(|s| s.id)
            .min_by_key(|i| i.0)
    }
}
