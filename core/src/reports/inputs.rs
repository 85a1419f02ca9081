//! Where a programme report's inputs come from, on the devices that hold them (issue 4).
//!
//! Counts and flags travel; content never does:
//! - A programme's **report space** (kind 7), made by a coordinator and joined by the programme's
//!   supporters: facilitators' devices publish one record per group session (a pseudonym of the
//!   group, the time, attended and absent counts) and supporters' devices one record per pairing and
//!   period (a pseudonym, active or not, how many check-ins). Only members holding `peer_supporter`
//!   or `coordinator` may write them (`rules.rs`).
//! - Each participant's **care record** (`care.rs`): referrals and their states, which the
//!   coordinators hold anyway, and, while the participant's `report-outcomes` consent stands, their
//!   first and latest PHQ-9, GAD-7 and WHO-5 totals (`outcomes`, written only by the participant's
//!   devices, `care/outcomes.rs`; never answers). Withdrawing that consent deletes them.
//!
//! A coordinator's device joins what it holds into `reports::ReportInputs` and builds the report
//! (`reports::build`: small cells suppressed, CSV and JSON).
//!
//! Report space shape (version 1): root `programme` (creator), `sessions`: map id -> `{ group: str,
//! at: ms, attended: int, absent: int, by }`, `pairings`: map id -> `{ pairing: str, start: ms,
//! end: ms, active: bool, checkins: int, by }`. Record ids and pseudonyms are hashes
//! (`crypto::tag`), so a device publishing again overwrites its own records instead of adding
//! copies.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};

pub use crate::care::outcomes::OUTCOME_INSTRUMENTS;
use crate::care::outcomes::{OutcomeTotals, outcome_aad};
use crate::crypto::tag;
use crate::error::{Error, Result};
use crate::reports::{OutcomeRecord, PairingActivity, ReferralRecord, ReportInputs, SessionRecord};
use crate::space::SpaceKind;
use crate::space::doc::{boolean, container_in, int, read_all, string, write};
use crate::{SpaceId, Vault};
use sebaya_proto::programme::ProgrammeRole;

const SPACE: &str = "report space";

/// Sets up a report space's containers (one commit, by its creator).
pub fn init(doc: &mut AutoCommit, now_ms: i64) -> Result<()> {
    if doc.keys(ROOT).next().is_some() {
        return Err(Error::InvalidInput("the report space is not empty".into()));
    }
    write(doc, now_ms, |d| {
        d.put_object(ROOT, "sessions", ObjType::Map)?;
        d.put_object(ROOT, "pairings", ObjType::Map)?;
        Ok(())
    })
}

/// Puts `fields` into the record `id` of container `key`, making it when missing (one commit).
fn upsert(
    doc: &mut AutoCommit,
    key: &str,
    id: &str,
    space: &'static str,
    fields: &[(&str, automerge::ScalarValue)],
    now_ms: i64,
) -> Result<()> {
    let c = container_in(doc, key, space)?;
    let existing = match doc.get(&c, id)? {
        Some((automerge::Value::Object(ObjType::Map), r)) => Some(r),
        _ => None,
    };
    write(doc, now_ms, |d| {
        let r = match existing {
            Some(r) => r,
            None => d.put_object(&c, id, ObjType::Map)?,
        };
        for (k, v) in fields {
            d.put(&r, *k, v.clone())?;
        }
        Ok(())
    })
}

fn sessions_of(doc: &AutoCommit) -> Vec<SessionRecord> {
    read_all(doc, "sessions", |d, _, r| {
        Some(SessionRecord {
            group: string(d, r, "group")?,
            at_ms: int(d, r, "at")?,
            attended: u32::try_from(int(d, r, "attended")?).ok()?,
            absent: u32::try_from(int(d, r, "absent")?).ok()?,
        })
    })
}

fn pairings_of(doc: &AutoCommit) -> Vec<PairingActivity> {
    read_all(doc, "pairings", |d, _, r| {
        Some(PairingActivity {
            pairing: string(d, r, "pairing")?,
            period_start_ms: int(d, r, "start")?,
            period_end_ms: int(d, r, "end")?,
            active: boolean(d, r, "active")?,
            checkins: u32::try_from(int(d, r, "checkins")?).ok()?,
        })
    })
}

/// The outcome records of a care record this device can open (their key is wrapped for it: a
/// coordinator's device), as report inputs under `participant`.
fn outcomes_of(
    doc: &AutoCommit,
    care: &SpaceId,
    identity: &crate::identity::Identity,
    participant: &str,
) -> Vec<OutcomeRecord> {
    let me = identity.device.to_hex();
    read_all(doc, "outcomes", |d, id, r| {
        let epoch = sebaya_proto::EpochId::from_hex(&string(d, r, "epoch")?).ok()?;
        let wraps = match d.get(r, "wraps").ok().flatten() {
            Some((automerge::Value::Object(ObjType::Map), w)) => w,
            _ => return None,
        };
        let wrap = match d.get(&wraps, me.as_str()).ok().flatten() {
            Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
                automerge::ScalarValue::Bytes(b) => {
                    crate::crypto::keywrap::KeyWrap::from_bytes(b).ok()?
                }
                _ => return None,
            },
            _ => return None,
        };
        let sealed = match d.get(r, "sealed").ok().flatten() {
            Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
                automerge::ScalarValue::Bytes(b) => b.clone(),
                _ => return None,
            },
            _ => return None,
        };
        let key = identity.unwrap_key(&wrap, care, &epoch).ok()?;
        let plain =
            crate::crypto::open_value(&key, &outcome_aad(care, id), &sealed, "outcome").ok()?;
        let t: OutcomeTotals = serde_json::from_slice(&plain).ok()?;
        if !OUTCOME_INSTRUMENTS.contains(&t.instrument.as_str()) {
            return None;
        }
        Some(OutcomeRecord {
            participant: participant.to_string(),
            instrument: t.instrument,
            first_total: t.first,
            first_ms: t.first_at,
            latest_total: t.latest,
            latest_ms: t.latest_at,
        })
    })
}

impl Vault {
    /// A coordinator makes the programme's report space (bound to it). Supporters join it with
    /// [`Vault::approve_group_member`]; their devices publish counts into it.
    pub fn create_report_space(&mut self, programme: [u8; 32]) -> Result<SpaceId> {
        self.check_can_bind(Some(programme), ProgrammeRole::Coordinator)?;
        let mut space = self.new_space(SpaceKind::Report, init)?;
        Vault::bind_programme(&self.store, &mut space, &programme)?;
        let id = self.keep_shared(space)?;
        if let Some(me) = self.person_id() {
            self.claim_spaces(me.0)?;
        }
        Ok(id)
    }

    /// Publishes, into a report space, this device's counts for `[start_ms, end_ms)`: each session of
    /// each group of the same programme this device facilitates (attended, absent), and each pairing
    /// of the programme this device supports (active, check-ins). Never names, notes or text.
    /// Returns how many records were written. A participant's device is `NotAllowed`.
    pub fn publish_activity(
        &mut self,
        report: &SpaceId,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<u32> {
        if end_ms <= start_ms {
            return Err(Error::InvalidInput(
                "the period ends before it starts".into(),
            ));
        }
        let r = self
            .shared
            .get(report)
            .filter(|s| s.kind == SpaceKind::Report)
            .ok_or(Error::NotFound("report space"))?;
        let programme = crate::space::rules::programme_of(&r.doc).ok_or(Error::NotFound(SPACE))?;
        let me = self.identity.device.to_hex();
        let mut sessions = Vec::new();
        let mut pairings = Vec::new();
        for s in self.shared.values() {
            if crate::space::rules::programme_of(&s.doc) != Some(programme) {
                continue;
            }
            match s.kind {
                SpaceKind::Group
                    if s.membership().role(&self.identity.device)
                        == Some(sebaya_proto::membership::Role::Admin) =>
                {
                    for session in crate::groups::sessions(&s.doc) {
                        if session.date_ms < start_ms || session.date_ms >= end_ms {
                            continue;
                        }
                        let Some(c) = crate::groups::attendance_counts(&s.doc, &session.id) else {
                            continue;
                        };
                        sessions.push((
                            tag(&[b"session", &s.id.0, session.id.as_bytes()]),
                            tag(&[b"group", &report.0, &s.id.0]),
                            session.date_ms,
                            c.present,
                            c.absent,
                        ));
                    }
                }
                SpaceKind::Pairing
                    if crate::pairing::supporter(&s.doc).as_deref() == Some(me.as_str()) =>
                {
                    let checkins = crate::pairing::checkins(&s.doc)
                        .iter()
                        .filter(|c| c.at_ms >= start_ms && c.at_ms < end_ms)
                        .count();
                    let messages = crate::pairing::messages(&s.doc)
                        .iter()
                        .filter(|m| m.at_ms >= start_ms && m.at_ms < end_ms)
                        .count();
                    pairings.push((
                        tag(&[
                            b"pairing",
                            &s.id.0,
                            &start_ms.to_be_bytes(),
                            &end_ms.to_be_bytes(),
                        ]),
                        tag(&[b"pairing", &report.0, &s.id.0]),
                        checkins + messages > 0,
                        u32::try_from(checkins).unwrap_or(u32::MAX),
                    ));
                }
                _ => {}
            }
        }
        let mut n = 0;
        for (id, group, at, attended, absent) in sessions {
            let by = me.clone();
            self.with_space(report, |doc, now| {
                upsert(
                    doc,
                    "sessions",
                    &id,
                    SPACE,
                    &[
                        ("group", group.as_str().into()),
                        ("at", at.into()),
                        ("attended", i64::from(attended).into()),
                        ("absent", i64::from(absent).into()),
                        ("by", by.as_str().into()),
                    ],
                    now,
                )
            })?;
            n += 1;
        }
        for (id, pairing, active, checkins) in pairings {
            let by = me.clone();
            self.with_space(report, |doc, now| {
                upsert(
                    doc,
                    "pairings",
                    &id,
                    SPACE,
                    &[
                        ("pairing", pairing.as_str().into()),
                        ("start", start_ms.into()),
                        ("end", end_ms.into()),
                        ("active", active.into()),
                        ("checkins", i64::from(checkins).into()),
                        ("by", by.as_str().into()),
                    ],
                    now,
                )
            })?;
            n += 1;
        }
        Ok(n)
    }

    /// Everything this device holds for a programme's report: the report spaces' session and
    /// pairing records, from each care record its referrals and consented outcomes, and on a
    /// coordinator's device the safeguarding space's concerns (counts only, review M5).
    pub fn report_inputs(&self, programme: &[u8; 32]) -> ReportInputs {
        let mut inputs = ReportInputs::default();
        let mut ids: Vec<_> = self.shared.keys().copied().collect();
        crate::order::sort_by_key(&mut ids, |i| i.0);
        for id in ids {
            let Some(s) = self.shared.get(&id) else {
                continue;
            };
            if crate::space::rules::programme_of(&s.doc).as_ref() != Some(programme) {
                continue;
            }
            match s.kind {
                SpaceKind::Report => {
                    inputs.sessions.extend(sessions_of(&s.doc));
                    inputs.pairings.extend(pairings_of(&s.doc));
                }
                SpaceKind::Care => {
                    // A listed minor's acknowledgement moves no referral on (care/minor_staff.rs).
                    let states = crate::care::counted_states(s, crate::care::states(&s.doc));
                    for r in crate::care::referrals(&s.doc)
                        .into_iter()
                        .filter(|r| crate::care::genuine(s, r))
                    {
                        let mut mine: Vec<_> =
                            states.iter().filter(|st| st.referral == r.id).collect();
                        crate::order::sort_by_key(&mut mine, |st| st.at_ms);
                        let acknowledged = mine.first().map(|st| st.at_ms);
                        let stage = mine
                            .iter()
                            .filter_map(|st| {
                                crate::care::STATES.iter().position(|x| *x == st.state)
                            })
                            .max();
                        let state = match stage {
                            Some(i) => crate::care::STATES[i],
                            None => "open",
                        };
                        inputs.referrals.push(ReferralRecord {
                            id: r.id,
                            created_ms: r.at_ms,
                            acknowledged_ms: acknowledged,
                            state: state.to_string(),
                            origin: r.origin,
                        });
                    }
                    if crate::care::consented(&s.doc, "report-outcomes")
                        && crate::care::guardian_allows(&s.doc, "report-outcomes")
                    {
                        let pseudonym = tag(&[b"participant", &id.0]);
                        inputs.outcomes.extend(outcomes_of(
                            &s.doc,
                            &id,
                            &self.identity,
                            &pseudonym,
                        ));
                    }
                }
                SpaceKind::Safeguarding => {
                    inputs
                        .concerns
                        .extend(self.concerns_for_report(&id).into_iter().map(
                            |(id, created_ms, acknowledged_ms, deadline_hours)| {
                                crate::reports::ConcernRecord {
                                    id,
                                    created_ms,
                                    acknowledged_ms,
                                    deadline_hours,
                                }
                            },
                        ));
                }
                _ => {}
            }
        }
        inputs
    }

    /// A programme's report for `[start_ms, end_ms)` from what this device holds (a coordinator's):
    /// counts and flags only, cells under 5 suppressed.
    pub fn programme_report(
        &self,
        programme: &[u8; 32],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<crate::reports::ProgrammeReport> {
        crate::reports::build(&self.report_inputs(programme), start_ms, end_ms)
    }
}
