//! Export of everything a person has on this device, as machine-readable JSON: the right of access
//! and portability (Indonesia's UU 27/2022 and the GDPR, `shared/design/care.md`).
//!
//! What "a person has": their journal (entries and screening totals), their consents and referrals
//! in every care record they are the subject of, what they wrote in pairings and groups (check-ins,
//! goals, messages, shared items, notes), case notes and reviews written by their devices, and the
//! programmes and roles they hold, and the reminders of their pairings and groups they are told of
//! (for everyone or for their side; issue 18, item 4). Others' words are left out, except a
//! pairing's goals and those reminders, which belong to the pairing or group as a whole. Keys, certificates and anything secret are never exported. Nor is a
//! safeguarding concern (issue 14, item 14): a participant never holds the safeguarding space, and a
//! concern an earlier version wrote into their care record is left out with its states.
//!
//! The document is versioned (`"schema": "sebaya-export/1"`, `docs/care.md`); its fields only grow
//! within a version.

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::space::{Space, SpaceKind};
use crate::{Vault, care, groups, journal, pairing, pairing::casenotes, reminders};

/// The export format's name and version.
pub const EXPORT_SCHEMA: &str = "sebaya-export/1";

/// A reminder as exported (the fields of protocol 29.1 a person can read; never who wrote it).
fn reminder_json(r: reminders::Reminder) -> Value {
    let mut v = json!({"id": r.id, "kind": r.kind.as_str(), "for": r.for_whom.as_str(),
                       "text": r.text, "lead_minutes": r.lead_minutes, "created_ms": r.created_ms,
                       "done": r.done.into_iter().collect::<Vec<u64>>()});
    match r.schedule {
        reminders::Schedule::Once {
            at_secs,
            offset_minutes,
        } => {
            v["at"] = json!(at_secs);
            v["offset"] = json!(offset_minutes);
        }
        reminders::Schedule::Every {
            every_days,
            start_day,
            minute_of_day,
        } => {
            v["every"] = json!(every_days);
            v["day"] = json!(start_day);
            v["minute"] = json!(minute_of_day);
        }
    }
    v
}

impl Vault {
    /// The reminders of a pairing or group this person is told of, as exported.
    fn reminders_json(&self, s: &Space) -> Vec<Value> {
        self.reminders_for_me(s)
            .into_iter()
            .map(reminder_json)
            .collect()
    }

    /// Whether a device id (hex) is this device or, per the space's log, another device of this
    /// device's person.
    fn written_by_me(&self, space: &Space, device_hex: &str) -> bool {
        if device_hex == self.identity.device.to_hex() {
            return true;
        }
        let Some(me) = self.person_id() else {
            return false;
        };
        crate::DeviceId::from_hex(device_hex)
            .ok()
            .and_then(|d| space.membership().persons.get(&d).copied())
            .is_some_and(|p| p == me.0)
    }

    /// Everything this person has on this device, as pretty-printed JSON (see the module doc).
    /// Holds personal data: the app hands it only to the person, through a share sheet or a file
    /// they choose.
    pub fn export_all(&self, now_ms: i64) -> Result<String> {
        let entries: Vec<Value> = self
            .journal
            .as_ref()
            .map(|j| journal::list(&j.doc))
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                json!({"id": e.id, "text": e.text, "mood": e.mood, "tags": e.tags,
                       "created_ms": e.created_ms, "edited_ms": e.edited_ms})
            })
            .collect();
        let screenings: Vec<Value> = self
            .screenings()
            .into_iter()
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
            .collect();

        let mut care_records = Vec::new();
        let mut pairings = Vec::new();
        let mut groups_out = Vec::new();
        let mut case_notes = Vec::new();
        let mut ids: Vec<_> = self.shared.keys().copied().collect();
        crate::order::sort_by_key(&mut ids, |i| i.0);
        for id in ids {
            let Some(s) = self.shared.get(&id) else {
                continue;
            };
            let role = s
                .membership()
                .role(&self.identity.device)
                .map(|r| format!("{r:?}").to_lowercase());
            match s.kind {
                SpaceKind::Care => {
                    let me = self.person_id().map(|p| p.0);
                    if me.is_none()
                        || crate::space::rules::current_subject(&s.doc, s.membership()) != me
                    {
                        continue;
                    }
                    let consents: Vec<Value> = care::consents(&s.doc)
                        .into_iter()
                        .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
                        .collect();
                    // A safeguarding concern an earlier version wrote here is the coordinators',
                    // never the participant's to see (issue 14, item 14); nor its states.
                    let (kept, concerns): (Vec<_>, Vec<_>) = care::referrals(&s.doc)
                        .into_iter()
                        .partition(|r| r.reason != care::LEGACY_CONCERN);
                    let referrals: Vec<Value> = kept
                        .into_iter()
                        .map(|r| {
                            json!({"id": r.id, "origin": r.origin, "reason": r.reason,
                                   "created_ms": r.at_ms})
                        })
                        .collect();
                    let states: Vec<Value> = care::states(&s.doc)
                        .into_iter()
                        .filter(|st| !concerns.iter().any(|c| c.id == st.referral))
                        .map(|st| json!({"referral": st.referral, "state": st.state, "at_ms": st.at_ms}))
                        .collect();
                    care_records.push(json!({
                        "id": id.to_hex(),
                        "programme": crate::space::rules::programme_of(&s.doc).map(hex::encode),
                        "consents": consents, "referrals": referrals, "referral_states": states,
                    }));
                }
                SpaceKind::Pairing => {
                    let checkins: Vec<Value> = pairing::checkins(&s.doc)
                        .into_iter()
                        .filter(|c| self.written_by_me(s, &c.by))
                        .map(|c| json!({"id": c.id, "mood": c.mood, "note": c.note, "at_ms": c.at_ms}))
                        .collect();
                    let messages: Vec<Value> = pairing::messages(&s.doc)
                        .into_iter()
                        .filter(|m| self.written_by_me(s, &m.by))
                        .map(|m| json!({"id": m.id, "text": m.text, "at_ms": m.at_ms}))
                        .collect();
                    let goals: Vec<Value> = pairing::goals(&s.doc)
                        .into_iter()
                        .map(|g| {
                            json!({"id": g.id, "text": g.text, "progress": g.progress,
                                   "done": g.done, "created_ms": g.created_ms})
                        })
                        .collect();
                    let shared: Vec<Value> = pairing::shared(&s.doc)
                        .into_iter()
                        .filter(|i| self.written_by_me(s, &i.by))
                        .map(|i| json!({"id": i.id, "kind": i.kind, "text": i.text, "at_ms": i.at_ms}))
                        .collect();
                    pairings.push(json!({
                        "id": id.to_hex(), "role": role, "checkins": checkins,
                        "messages": messages, "goals": goals, "shared": shared,
                        "reminders": self.reminders_json(s),
                    }));
                }
                SpaceKind::Group => {
                    let notes: Vec<Value> = groups::notes(&s.doc)
                        .into_iter()
                        .filter(|n| self.written_by_me(s, &n.author))
                        .map(|n| {
                            json!({"id": n.id, "title": n.title, "text": n.text,
                                   "created_ms": n.created_ms, "edited_ms": n.edited_ms})
                        })
                        .collect();
                    groups_out.push(json!({
                        "id": id.to_hex(), "name": groups::name(&s.doc), "role": role,
                        "notes": notes, "reminders": self.reminders_json(s),
                    }));
                }
                SpaceKind::CaseNotes => {
                    let notes: Vec<Value> = casenotes::notes(&s.doc)
                        .into_iter()
                        .filter(|n| self.written_by_me(s, &n.by))
                        .map(|n| json!({"id": n.id, "text": n.text, "at_ms": n.at_ms}))
                        .collect();
                    let reviews: Vec<Value> = casenotes::reviews(&s.doc)
                        .into_iter()
                        .filter(|r| self.written_by_me(s, &r.by))
                        .map(|r| json!({"id": r.id, "note": r.note, "text": r.text, "at_ms": r.at_ms}))
                        .collect();
                    case_notes.push(json!({
                        "id": id.to_hex(), "role": role, "notes": notes, "reviews": reviews,
                    }));
                }
                SpaceKind::Journal
                | SpaceKind::Index
                | SpaceKind::Report
                | SpaceKind::Safeguarding => {}
            }
        }
        let programmes: Vec<Value> = self
            .programmes()?
            .into_iter()
            .map(|p| {
                json!({"id": hex::encode(p.id), "name": p.name,
                       "role": p.role.map(|r| format!("{r:?}").to_lowercase())})
            })
            .collect();
        let safety_plan: Value = serde_json::from_str(&self.safety_plan().to_json()?)
            .map_err(|_| Error::Internal("encode safety plan"))?;
        let out = json!({
            "schema": EXPORT_SCHEMA,
            "safety_plan": safety_plan,
            "exported_at_ms": now_ms,
            "person": self.person_id().map(|p| hex::encode(p.0)),
            "device": self.identity.device.to_hex(),
            "journal": entries,
            "screenings": screenings,
            "care_records": care_records,
            "pairings": pairings,
            "groups": groups_out,
            "case_notes": case_notes,
            "programmes": programmes,
        });
        serde_json::to_string_pretty(&out).map_err(|_| Error::Internal("encode export"))
    }
}
