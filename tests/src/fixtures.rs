//! What the v1 fixtures (`tests/fixtures/v1/`) hold, read through the public API as JSON: the
//! generator (`src/make_fixtures.rs`) wrote it into `expected.json` from the devices that made the
//! data; `tests/tests/fixtures.rs` reads it again from the files and compares.
//!
//! Only what is stored goes in (ids, texts, moods, times written, states): nothing computed from
//! the clock at reading time (a programme role now, a viewer's role), which
//! `tests/tests/fixtures.rs` checks on its own. Kinds and roles are written with their `Debug`
//! names (`Member`, `Care`): if a reshape renames them, map them back here, never edit the JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use sebaya_core::{SpaceId, Vault, groups, pairing, pairing::casenotes};

/// The four devices, each opened from its file.
pub struct Devices {
    /// `participant.db`, master key `[1; 32]`.
    pub participant: Vault,
    /// `participant2.db`, master key `[2; 32]`: the same person's second device.
    pub participant2: Vault,
    /// `coordinator.db`, master key `[3; 32]`.
    pub coordinator: Vault,
    /// `supporter.db`, master key `[4; 32]`.
    pub supporter: Vault,
}

/// The vault files and their master keys (`[key; 32]`), in the order of [`Devices`].
pub const VAULTS: [(&str, u8); 4] = [
    ("participant.db", 1),
    ("participant2.db", 2),
    ("coordinator.db", 3),
    ("supporter.db", 4),
];

impl Devices {
    /// Opens the four vaults of [`VAULTS`] in `dir`.
    pub fn open(dir: &std::path::Path) -> Devices {
        let open = |i: usize| {
            let (name, key) = VAULTS[i];
            Vault::open(&dir.join(name), &[key; 32]).unwrap()
        };
        Devices {
            participant: open(0),
            participant2: open(1),
            coordinator: open(2),
            supporter: open(3),
        }
    }
}

/// The shared spaces the facts are about.
#[derive(Clone, Copy, Debug)]
pub struct Spaces {
    /// The participant's care record.
    pub care: SpaceId,
    /// The supporter's group.
    pub group: SpaceId,
    /// The supporter's pairing with the participant.
    pub pairing: SpaceId,
    /// The supporter's case notes, shared with the coordinator.
    pub case_notes: SpaceId,
}

impl Spaces {
    /// As `expected.json` keeps them (`"spaces"`).
    pub fn to_json(&self) -> Value {
        json!({
            "care": self.care.to_hex(),
            "group": self.group.to_hex(),
            "pairing": self.pairing.to_hex(),
            "case_notes": self.case_notes.to_hex(),
        })
    }

    /// Reads [`Spaces::to_json`].
    pub fn from_json(v: &Value) -> Spaces {
        let id = |k: &str| SpaceId::from_hex(v[k].as_str().unwrap()).unwrap();
        Spaces {
            care: id("care"),
            group: id("group"),
            pairing: id("pairing"),
            case_notes: id("case_notes"),
        }
    }
}

/// Everything the fixtures hold, by section, then by device.
pub fn facts(d: &mut Devices, s: &Spaces) -> Value {
    let Devices {
        participant: p1,
        participant2: p2,
        coordinator: co,
        supporter: su,
    } = d;
    json!({
        "devices": {
            "participant": device(p1),
            "participant2": device(p2),
            "coordinator": device(co),
            "supporter": device(su),
        },
        "journal": { "participant": journal(p1), "participant2": journal(p2) },
        "safety_plan": { "participant": safety_plan(p1), "participant2": safety_plan(p2) },
        "screenings": { "participant": screenings(p1), "participant2": screenings(p2) },
        "care": {
            "participant": care(p1, &s.care),
            "participant2": care(p2, &s.care),
            "coordinator": care(co, &s.care),
            "supporter": care(su, &s.care),
        },
        "crisis_resources_id": { "participant": crisis(p1), "participant2": crisis(p2) },
        "programmes": { "coordinator": programmes(co), "supporter": programmes(su) },
        "group": {
            "participant": group(p1, &s.group),
            "participant2": group(p2, &s.group),
            "supporter": group(su, &s.group),
        },
        "pairing": {
            "participant": pairing_view(p1, &s.pairing),
            "participant2": pairing_view(p2, &s.pairing),
            "supporter": pairing_view(su, &s.pairing),
        },
        "case_notes": {
            "supporter": case_notes(su, &s.case_notes),
            "coordinator": case_notes(co, &s.case_notes),
            "participant": case_notes(p1, &s.case_notes),
            "participant2": case_notes(p2, &s.case_notes),
        },
    })
}

/// The device, its person, its journal and the shared spaces it holds (sorted by id).
pub fn device(v: &Vault) -> Value {
    let mut spaces = v.shared_spaces();
    spaces.sort_by_key(|(id, _, _)| id.0);
    json!({
        "device": v.device_id().to_hex(),
        "person": v.person_id().map(|p| hex::encode(p.0)),
        "journal_space": v.journal_space().map(|s| s.to_hex()),
        "shared_spaces": spaces
            .iter()
            .map(|(id, kind, role)| json!([id.to_hex(), format!("{kind:?}"), format!("{role:?}")]))
            .collect::<Vec<_>>(),
    })
}

/// Every journal entry, sorted by id.
pub fn journal(v: &Vault) -> Value {
    let mut list = v.journal_list();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list.iter()
        .map(|e| {
            json!({
                "id": e.id, "text": e.text, "conflicts": e.conflicts, "mood": e.mood,
                "tags": e.tags, "created_ms": e.created_ms, "edited_ms": e.edited_ms,
            })
        })
        .collect()
}

/// The safety plan's items, section by section.
pub fn safety_plan(v: &Vault) -> Value {
    v.safety_plan()
        .sections
        .iter()
        .flat_map(|s| {
            s.items.iter().map(|i| {
                json!({"id": i.id, "step": s.step.id(), "text": i.text, "order": i.order,
                       "added_ms": i.added_ms, "edited_ms": i.edited_ms})
            })
        })
        .collect()
}

/// The screenings kept in the journal.
pub fn screenings(v: &Vault) -> Value {
    v.screenings()
        .iter()
        .map(|s| {
            json!({"id": s.id, "instrument": s.instrument, "total": s.total, "risk": s.risk,
                   "at_ms": s.at_ms})
        })
        .collect()
}

/// The care record as this device sees it: who it is about, its consents, its referrals (with
/// what this device may see of them). `null` when the device does not hold it.
pub fn care(v: &mut Vault, care: &SpaceId) -> Value {
    let Some(info) = v.care_records().into_iter().find(|c| c.id == *care) else {
        return Value::Null;
    };
    let ledger: Vec<Value> = v
        .consent_ledger(care)
        .unwrap()
        .iter()
        .map(|c| {
            json!({"id": c.id, "purpose": c.purpose, "version": c.version, "agreed": c.agreed,
                   "by": c.by, "at_ms": c.at_ms, "guardian_relation": c.guardian_relation})
        })
        .collect();
    let referrals: Vec<Value> = v
        .referrals(care)
        .unwrap()
        .iter()
        .map(|r| {
            json!({"id": r.id, "origin": r.origin, "reason": r.reason, "state": r.state,
                   "created_ms": r.created_ms, "acknowledged_ms": r.acknowledged_ms,
                   "in_care_ms": r.in_care_ms, "closed_ms": r.closed_ms, "mine": r.mine})
        })
        .collect();
    json!({
        "programme": info.programme.map(hex::encode),
        "participant": info.participant.map(hex::encode),
        "duty_of_care": v.has_consent(care, "duty-of-care").unwrap(),
        "consents": ledger,
        "referrals": referrals,
    })
}

/// The crisis lines shown for Indonesia (the programme set its own).
/// The programme's own crisis lines for Indonesia, as the fixtures recorded them. Since issue 14
/// (item 16) a device shows them followed by the built-in national emergency numbers; those come
/// from this build, not from the file, so they are checked here and left out of the facts.
pub fn crisis(v: &Vault) -> Value {
    let all = v.crisis_resources("id").unwrap();
    let national: Vec<_> = sebaya_core::care::built_in_resources("id")
        .into_iter()
        .filter(|r| r.kind == "emergency")
        .collect();
    let own = all.len().saturating_sub(national.len());
    assert_eq!(
        &all[own..],
        &national[..],
        "the national numbers follow the programme's"
    );
    all[..own]
        .iter()
        .map(|r| json!({"kind": r.kind, "name": r.name, "number": r.number, "extension": r.extension}))
        .collect()
}

/// The programmes this device knows (not the role held now: that depends on the clock).
pub fn programmes(v: &Vault) -> Value {
    v.programmes()
        .unwrap()
        .iter()
        .map(|p| json!({"id": hex::encode(p.id), "name": p.name, "holds_key": p.holds_key}))
        .collect()
}

/// The group: its name, this device's role, its notes and sessions. `null` when not held.
pub fn group(v: &Vault, group: &SpaceId) -> Value {
    let Some(info) = v.groups().into_iter().find(|g| g.id == *group) else {
        return Value::Null;
    };
    let notes = v.read_space(group, groups::notes).unwrap();
    let sessions = v.read_space(group, groups::sessions).unwrap();
    json!({
        "name": info.name,
        "role": format!("{:?}", info.role),
        "members": info.members,
        "notes": notes.iter().map(|n| json!({"id": n.id, "title": n.title, "text": n.text,
            "author": n.author, "created_ms": n.created_ms})).collect::<Vec<_>>(),
        "sessions": sessions.iter().map(|s| json!({
            "id": s.id, "date_ms": s.date_ms, "topic": s.topic, "facilitator": s.facilitator,
            "attendance": s.attendance.iter()
                .map(|(who, a)| json!([who, format!("{a:?}")])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The pairing: its two sides, messages and what the participant shared. `null` when not held.
pub fn pairing_view(v: &Vault, pair: &SpaceId) -> Value {
    if !v.shared_spaces().iter().any(|(id, _, _)| id == pair) {
        return Value::Null;
    }
    let messages = v.read_space(pair, pairing::messages).unwrap();
    let shared = v.shared_in_pairing(pair).unwrap();
    json!({
        "participant": v.read_space(pair, pairing::participant).unwrap(),
        "supporter": v.read_space(pair, pairing::supporter).unwrap(),
        "messages": messages.iter().map(|m| json!({"id": m.id, "text": m.text, "by": m.by,
            "at_ms": m.at_ms})).collect::<Vec<_>>(),
        "shared": shared.iter().map(|s| json!({"id": s.id, "kind": s.kind, "text": s.text,
            "mood": s.mood, "source": s.source, "by": s.by})).collect::<Vec<_>>(),
    })
}

/// The case notes: what they are about, notes and reviews. `null` when not held.
pub fn case_notes(v: &Vault, notes: &SpaceId) -> Value {
    if !v.shared_spaces().iter().any(|(id, _, _)| id == notes) {
        return Value::Null;
    }
    let ns = v.read_space(notes, casenotes::notes).unwrap();
    let rs = v.read_space(notes, casenotes::reviews).unwrap();
    json!({
        "about": v.read_space(notes, casenotes::about).unwrap(),
        "notes": ns.iter().map(|n| json!({"id": n.id, "text": n.text, "by": n.by,
            "at_ms": n.at_ms})).collect::<Vec<_>>(),
        "reviews": rs.iter().map(|r| json!({"id": r.id, "note": r.note, "text": r.text,
            "by": r.by, "at_ms": r.at_ms})).collect::<Vec<_>>(),
    })
}
