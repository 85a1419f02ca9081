//! Sharing in a pairing, as the participant's device does it: consenting to share with their
//! supporter (or withdrawing, which takes everything back), sharing a journal entry, a check-in
//! summary or the safety plan, and reading what is shared.
//!
//! It lives with the pairing, not with the care record: the consent it rests on is kept in the
//! pairing's own document (`care` only defines the purposes and the consent record), so the care
//! domain never needs to know about pairings.

use crate::care::{SHARE_PURPOSE, add_consent, consent_version, new_id};
use crate::error::{Error, Result};
use crate::space::SpaceKind;
use crate::{SpaceId, Vault};

impl Vault {
    fn pairing_mut_check(&self, pairing: &SpaceId) -> Result<()> {
        self.shared
            .get(pairing)
            .filter(|s| s.kind == SpaceKind::Pairing)
            .map(|_| ())
            .ok_or(Error::NotFound("pairing"))
    }

    /// A minor shares with a supporter only once a guardian allows it (issue 14, item 15): a
    /// guardian's consent with a form reference, or a coordinator's best-interests exception, in
    /// every care record where this person is a participant marked a minor.
    fn check_guardian_allows_sharing(&self) -> Result<()> {
        let waiting = self
            .care_records()
            .into_iter()
            .filter(|c| c.viewer == "participant" && c.minor)
            .any(|c| {
                self.read_space(&c.id, |doc| {
                    !crate::care::guardian_allows(doc, crate::care::SHARE_PURPOSE)
                })
                .unwrap_or(true)
            });
        if waiting {
            return Err(Error::NotAllowed(
                "a guardian's consent is needed first: the participant is a minor",
            ));
        }
        Ok(())
    }

    /// After a sync, on a participant's device whose record marks them a minor: until a guardian
    /// allows it, any standing consent to share in their pairings is withdrawn (taking back what
    /// was shared), and outcome totals waiting for a guardian are taken down. What the gates stop
    /// from now on, this takes back from before the record said so. Returns how many pairings'
    /// sharing was withdrawn.
    pub(crate) fn apply_minor_gates(&mut self) -> Result<u32> {
        let minor = self
            .care_records()
            .iter()
            .any(|c| c.viewer == "participant" && c.minor);
        if !minor {
            return Ok(0);
        }
        let mut n = 0;
        if self.check_guardian_allows_sharing().is_err() {
            let sharing: Vec<SpaceId> = self
                .shared
                .values()
                .filter(|s| {
                    s.kind == SpaceKind::Pairing
                        && crate::care::consented(&s.doc, crate::care::SHARE_PURPOSE)
                })
                .map(|s| s.id)
                .collect();
            for p in sharing {
                // A pairing where this device is not the participant refuses; nothing to take back.
                if self.consent_to_sharing(&p, false).is_ok() {
                    n += 1;
                }
            }
        }
        // Only when a minor's record holds totals a guardian has not allowed: publishing rewrites
        // every row, and doing it at each sync would leave a change behind every sync (a referral
        // would never show as sent) and grow the record's history.
        let waiting = self.care_records().into_iter().any(|c| {
            c.viewer == "participant"
                && c.minor
                && self
                    .read_space(&c.id, |doc| {
                        let allowed = crate::care::consented(doc, "report-outcomes")
                            && crate::care::guardian_allows(doc, "report-outcomes");
                        !allowed && has_outcomes(doc)
                    })
                    .unwrap_or(false)
        });
        if waiting {
            self.publish_outcomes()?;
        }
        Ok(n)
    }

    /// The participant agrees to (or withdraws from) sharing with their supporter in a pairing. A
    /// withdrawal also takes back everything shared there (the supporter's device drops it at its
    /// next sync; what it already read stays in the pairing's history until the pairing's key is
    /// destroyed). Only the participant's devices may (`NotAllowed` otherwise).
    pub fn consent_to_sharing(&mut self, pairing: &SpaceId, agreed: bool) -> Result<String> {
        self.pairing_mut_check(pairing)?;
        if agreed {
            self.check_pairing_open(pairing)?;
            self.check_guardian_allows_sharing()?;
        }
        let version = consent_version(SHARE_PURPOSE)?;
        let id = new_id()?;
        let by = self.identity.device.to_hex();
        self.with_space(pairing, |doc, now| {
            add_consent(doc, &id, SHARE_PURPOSE, version, agreed, None, &by, now)?;
            if !agreed {
                super::unshare_all(doc, now)?;
            }
            Ok(())
        })?;
        Ok(id)
    }

    fn share(
        &mut self,
        pairing: &SpaceId,
        kind: &str,
        text: &str,
        mood: Option<u8>,
        source: &str,
    ) -> Result<String> {
        self.pairing_mut_check(pairing)?;
        self.check_pairing_open(pairing)?;
        self.check_guardian_allows_sharing()?;
        let id = new_id()?;
        let by = self.identity.device.to_hex();
        self.with_space(pairing, |doc, now| {
            super::share(doc, &id, kind, text, mood, source, &by, now)
        })?;
        Ok(id)
    }

    /// Shares one journal entry (its text and mood) with the supporter of a pairing: a copy, made
    /// only while the participant's consent to sharing stands (`NotAllowed` otherwise).
    pub fn share_journal_entry(&mut self, pairing: &SpaceId, entry: &str) -> Result<String> {
        let e = self
            .journal_get(entry)
            .ok_or(Error::NotFound("journal entry"))?;
        self.share(pairing, "journal-entry", &e.text, Some(e.mood), &e.id)
    }

    /// Shares a summary of the participant's check-ins (weekly mood averages and the current streak,
    /// no entry text) in `locale`, for a zone `utc_offset_min` east of UTC.
    pub fn share_checkin_summary(
        &mut self,
        pairing: &SpaceId,
        utc_offset_min: i32,
        locale: &str,
    ) -> Result<String> {
        let t = self.mood_trends(utc_offset_min);
        let mut lines = Vec::new();
        for w in &t.weeks {
            let (y, m, d) = civil(w.monday);
            let week = format!("{y:04}-{m:02}-{d:02}");
            let average = format!("{:.1}", w.average);
            let count = w.count.to_string();
            lines.push(crate::i18n::message(
                locale,
                "share-summary-week",
                &[("week", &week), ("average", &average), ("count", &count)],
            ));
        }
        let streak = t.current_streak.to_string();
        lines.push(crate::i18n::message(
            locale,
            "share-summary-streak",
            &[("days", &streak)],
        ));
        self.share(pairing, "checkin-summary", &lines.join("\n"), None, "")
    }

    /// Shares the participant's safety plan, as rendered text, with their supporter.
    pub fn share_safety_plan_text(&mut self, pairing: &SpaceId, text: &str) -> Result<String> {
        self.share(pairing, "safety-plan", text, None, "")
    }

    /// Shares the participant's safety plan as it stands (its summary in `locale`) with their
    /// supporter. An empty plan is `InvalidInput` (there is nothing to share).
    pub fn share_safety_plan(&mut self, pairing: &SpaceId, locale: &str) -> Result<String> {
        let plan = self.safety_plan();
        if plan.is_empty() {
            return Err(Error::InvalidInput("the safety plan is empty".into()));
        }
        let text = plan.summary(locale);
        self.share(pairing, "safety-plan", &text, None, "")
    }

    /// Takes one shared item back.
    pub fn unshare(&mut self, pairing: &SpaceId, item: &str) -> Result<()> {
        self.pairing_mut_check(pairing)?;
        self.with_space(pairing, |doc, now| super::unshare(doc, item, now))
    }

    /// What the participant shares in a pairing now (both sides see the same): nothing while their
    /// consent to sharing does not stand.
    pub fn shared_in_pairing(&self, pairing: &SpaceId) -> Result<Vec<super::SharedItem>> {
        self.pairing_mut_check(pairing)?;
        let s = self.shared.get(pairing).ok_or(Error::NotFound("pairing"))?;
        Ok(super::shared(&s.doc))
    }
}

/// A civil date (year, month, day) from days since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Whether a care record holds any published outcome totals.
fn has_outcomes(doc: &automerge::AutoCommit) -> bool {
    use automerge::ReadDoc;
    match doc.get(automerge::ROOT, "outcomes") {
        Ok(Some((automerge::Value::Object(_), o))) => doc.keys(&o).next().is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_454), (2026, 1, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(civil(-1), (1969, 12, 31));
    }
}
