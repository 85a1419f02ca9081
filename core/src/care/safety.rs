//! Safety plans (issue 4): the participant's own plan for a hard moment, kept in their private
//! journal document (synced to their own devices only), visible offline, shown by the app on a risk
//! event, and rendered as plain text for a supporter when the participant chooses to share it.
//!
//! Structure: six ordered steps (warning signs; coping on my own; people and places that take my
//! mind off things; people I can ask for help; professionals and crisis lines; making my surroundings
//! safer) plus "what matters most to me" (care.md, "Safety plan"). Titles and prompts are our own
//! words, in the message catalogues (`safety-step-<id>-title`, `safety-step-<id>-prompt`).
//!
//! Document shape (version 1): every plan item is its own root key of the journal document,
//! `safety/<16 lowercase hex>`, holding a map `{ step: str, text: Text, order: int, added: int ms,
//! edited: int ms }`. There is no shared `safety_plan` container: two devices creating the same
//! container under the same key concurrently would have one silently replace the other, losing its
//! items. With one key per item, items added offline on two devices both survive the merge.
//! `journal::list` only reads 16-hex root keys, so these keys never show up as journal entries.
//! Reads are defensive: an item written malformed (by a bug or a hostile peer) is skipped.

use crate::store::clock::now_ms;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};
use serde::Serialize;

use crate::Vault;
use crate::error::{Error, Result};
use crate::i18n;

/// Root-key prefix of plan items in the journal document.
pub const KEY_PREFIX: &str = "safety/";
/// Longest item text, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Most items a plan holds (all steps together): a plan is a short list to read in a crisis.
pub const MAX_ITEMS: usize = 200;

/// A section of the plan, in the fixed order the app shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum Step {
    /// 1. Signs that a hard moment is coming.
    WarningSigns,
    /// 2. Things I can do on my own to cope.
    CopingAlone,
    /// 3. People and places that take my mind off things.
    Distractions,
    /// 4. People I can ask for help.
    HelpPeople,
    /// 5. Professionals and crisis lines.
    Professionals,
    /// 6. Making my surroundings safer.
    SaferSurroundings,
    /// What matters most to me.
    WhatMatters,
}

impl From<Step> for &'static str {
    fn from(s: Step) -> &'static str {
        s.id()
    }
}

impl Step {
    /// Every section, in the order shown.
    pub const ALL: [Step; 7] = [
        Step::WarningSigns,
        Step::CopingAlone,
        Step::Distractions,
        Step::HelpPeople,
        Step::Professionals,
        Step::SaferSurroundings,
        Step::WhatMatters,
    ];

    /// The stable id stored in the document and used by the bindings.
    pub fn id(self) -> &'static str {
        match self {
            Step::WarningSigns => "warning-signs",
            Step::CopingAlone => "coping-alone",
            Step::Distractions => "distractions",
            Step::HelpPeople => "help-people",
            Step::Professionals => "professionals",
            Step::SaferSurroundings => "safer-surroundings",
            Step::WhatMatters => "what-matters",
        }
    }

    /// Reads a step id.
    pub fn from_id(id: &str) -> Result<Step> {
        Step::ALL
            .into_iter()
            .find(|s| s.id() == id)
            .ok_or_else(|| Error::InvalidInput("unknown safety plan step".into()))
    }

    /// The step's title in `locale`.
    pub fn title(self, locale: &str) -> String {
        i18n::message(locale, &format!("safety-step-{}-title", self.id()), &[])
    }

    /// The step's one-line prompt in `locale`.
    pub fn prompt(self, locale: &str) -> String {
        i18n::message(locale, &format!("safety-step-{}-prompt", self.id()), &[])
    }
}

/// One item of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SafetyItem {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// The section it belongs to.
    pub step: Step,
    /// What the participant wrote.
    pub text: String,
    /// Position within its section (smaller first; ties by time added, then id).
    pub order: i64,
    /// When it was added, ms since the Unix epoch.
    pub added_ms: i64,
    /// When it was last edited, ms since the Unix epoch.
    pub edited_ms: i64,
}

/// A section with its items, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SafetySection {
    /// Which section.
    pub step: Step,
    /// Its items, in order.
    pub items: Vec<SafetyItem>,
}

/// The whole plan: always the seven sections, in the fixed order, possibly empty. Serializable
/// (JSON through [`SafetyPlan::to_json`]) as the structured snapshot a later sharing feature sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SafetyPlan {
    /// The seven sections.
    pub sections: Vec<SafetySection>,
}

impl SafetyPlan {
    /// Whether no section holds an item.
    pub fn is_empty(&self) -> bool {
        self.sections.iter().all(|s| s.items.is_empty())
    }

    /// The snapshot as JSON (`{"sections":[{"step":"warning-signs","items":[...]}, ...]}`).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|_| Error::Internal("encode safety plan"))
    }

    /// Plain text for a supporter: a heading, then each section's localized title and its items as
    /// a list ("-" for an empty section). Item texts keep their own line breaks, indented.
    pub fn summary(&self, locale: &str) -> String {
        let mut out = i18n::message(locale, "safety-summary-heading", &[]);
        out.push('\n');
        for (n, s) in self.sections.iter().enumerate() {
            out.push('\n');
            if s.step == Step::WhatMatters {
                out.push_str(&s.step.title(locale));
            } else {
                out.push_str(&format!("{}. {}", n + 1, s.step.title(locale)));
            }
            out.push('\n');
            if s.items.is_empty() {
                out.push_str(&format!(
                    "  {}\n",
                    i18n::message(locale, "safety-summary-empty", &[])
                ));
            }
            for i in &s.items {
                out.push_str("  - ");
                out.push_str(&i.text.replace('\n', "\n    "));
                out.push('\n');
            }
        }
        out
    }
}

/// An id as every shared record has: 16 lowercase hex characters.
fn check_id(id: &str) -> Result<()> {
    crate::space::doc::check_id(id, "safety plan item")
}

fn check_text(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::InvalidInput("safety plan item is empty".into()));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::InvalidInput(format!(
            "safety plan item is longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::InvalidInput(
            "safety plan item contains a control character".into(),
        ));
    }
    Ok(())
}

fn key(id: &str) -> String {
    format!("{KEY_PREFIX}{id}")
}

fn commit(doc: &mut AutoCommit, now_ms: i64) {
    doc.commit_with(CommitOptions::default().with_time(now_ms / 1000));
}

/// The item under `id`: of several copies put there concurrently (an erasure's carry-over), the
/// last edited (protocol 27.4).
fn item_obj(doc: &AutoCommit, id: &str) -> Result<ObjId> {
    crate::space::doc::root_record(doc, &key(id)).ok_or(Error::NotFound("safety plan item"))
}

fn int(doc: &AutoCommit, obj: &ObjId, k: &str) -> Option<i64> {
    match doc.get(obj, k).ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Int(i) => Some(*i),
            ScalarValue::Uint(u) => i64::try_from(*u).ok(),
            _ => None,
        },
        _ => None,
    }
}

fn item_ids(doc: &AutoCommit) -> impl Iterator<Item = String> + '_ {
    doc.keys(automerge::ROOT).filter_map(|k| {
        k.strip_prefix(KEY_PREFIX)
            .filter(|id| check_id(id).is_ok())
            .map(str::to_string)
    })
}

/// Adds an item with the given id to a step, last in that step unless `order` is given; one
/// commit.
pub fn add(
    doc: &mut AutoCommit,
    id: &str,
    step: Step,
    text: &str,
    order: Option<i64>,
    now_ms: i64,
) -> Result<()> {
    check_id(id)?;
    check_text(text)?;
    if doc.get(automerge::ROOT, key(id))?.is_some() {
        return Err(Error::InvalidInput(
            "a safety plan item with this id exists".into(),
        ));
    }
    let existing = items(doc);
    if existing.len() >= MAX_ITEMS {
        return Err(Error::InvalidInput(format!(
            "a safety plan holds at most {MAX_ITEMS} items"
        )));
    }
    let order = order.unwrap_or_else(|| {
        existing
            .iter()
            .filter(|i| i.step == step)
            .map(|i| i.order.saturating_add(1))
            .max()
            .unwrap_or(0)
    });
    let e = doc.put_object(automerge::ROOT, key(id), ObjType::Map)?;
    doc.put(&e, "step", step.id())?;
    let t = doc.put_object(&e, "text", ObjType::Text)?;
    doc.splice_text(&t, 0, 0, text)?;
    doc.put(&e, "order", order)?;
    doc.put(&e, "added", now_ms)?;
    doc.put(&e, "edited", now_ms)?;
    commit(doc, now_ms);
    Ok(())
}

/// Changes an item: only what is given (text, step, order). Only the changed middle of the text is
/// replaced, so edits to different parts on two devices merge. One commit.
pub fn edit(
    doc: &mut AutoCommit,
    id: &str,
    text: Option<&str>,
    step: Option<Step>,
    order: Option<i64>,
    now_ms: i64,
) -> Result<()> {
    check_id(id)?;
    if let Some(t) = text {
        check_text(t)?;
    }
    let e = item_obj(doc, id)?;
    if let Some(new_text) = text {
        let t = match doc.get(&e, "text")? {
            Some((Value::Object(ObjType::Text), t)) => t,
            _ => doc.put_object(&e, "text", ObjType::Text)?,
        };
        crate::space::doc::splice_changed_middle(doc, &t, new_text)?;
    }
    if let Some(s) = step {
        doc.put(&e, "step", s.id())?;
    }
    if let Some(o) = order {
        doc.put(&e, "order", o)?;
    }
    doc.put(&e, "edited", now_ms)?;
    commit(doc, now_ms);
    Ok(())
}

/// Removes an item from the current state; one commit. (Its text stays in the document's history,
/// as a deleted journal entry's does: docs/threat-model.md.)
pub fn remove(doc: &mut AutoCommit, id: &str, now_ms: i64) -> Result<()> {
    check_id(id)?;
    item_obj(doc, id)?;
    doc.delete(automerge::ROOT, key(id))?;
    commit(doc, now_ms);
    Ok(())
}

/// Reads one item; a malformed one reads as `None`.
pub fn get(doc: &AutoCommit, id: &str) -> Option<SafetyItem> {
    let e = item_obj(doc, id).ok()?;
    let step = match doc.get(&e, "step").ok().flatten() {
        Some((Value::Scalar(s), _)) => Step::from_id(s.as_str()?).ok()?,
        _ => return None,
    };
    let text = match doc.get(&e, "text").ok().flatten() {
        Some((Value::Object(ObjType::Text), t)) => doc.text(&t).ok()?,
        Some((Value::Scalar(s), _)) => s.as_str()?.to_string(),
        _ => return None,
    };
    let added_ms = int(doc, &e, "added").unwrap_or(0);
    Some(SafetyItem {
        id: id.to_string(),
        step,
        text,
        order: int(doc, &e, "order").unwrap_or(0),
        added_ms,
        edited_ms: int(doc, &e, "edited").unwrap_or(added_ms),
    })
}

/// Every well-formed item, in plan order (step, then order, time added, id).
pub fn items(doc: &AutoCommit) -> Vec<SafetyItem> {
    let mut out: Vec<SafetyItem> = item_ids(doc).filter_map(|id| get(doc, &id)).collect();
    crate::order::sort_by(&mut out, |a, b| {
        (a.step, a.order, a.added_ms, &a.id).cmp(&(b.step, b.order, b.added_ms, &b.id))
    });
    out
}

/// The plan: the seven sections in fixed order, each with its items.
pub fn plan(doc: &AutoCommit) -> SafetyPlan {
    let all = items(doc);
    SafetyPlan {
        sections: Step::ALL
            .into_iter()
            .map(|step| SafetySection {
                step,
                items: all.iter().filter(|i| i.step == step).cloned().collect(),
            })
            .collect(),
    }
}

impl Vault {
    /// The participant's safety plan (empty sections before anything is written). Read from the
    /// device: available offline.
    pub fn safety_plan(&self) -> SafetyPlan {
        match self.journal.as_ref() {
            Some(j) => plan(&j.doc),
            None => plan(&AutoCommit::new()),
        }
    }

    /// Adds an item to a step of the plan, durably (creating the journal if needed); returns its id.
    pub fn safety_plan_add(&mut self, step: Step, text: &str) -> Result<String> {
        self.safety_plan_add_at(step, text, now_ms())
    }

    /// [`Vault::safety_plan_add`] with an explicit time (imports and reproducible tests).
    pub fn safety_plan_add_at(&mut self, step: Step, text: &str, at_ms: i64) -> Result<String> {
        check_text(text)?;
        let id = hex::encode(crate::crypto::random::<8>()?);
        self.journal()?;
        let (store, j) = self.parts()?;
        add(&mut j.doc, &id, step, text, None, at_ms)?;
        j.persist(store)?;
        Ok(id)
    }

    /// Edits an item: its text, its step, its position (only what is given). Durable on return.
    pub fn safety_plan_edit(
        &mut self,
        id: &str,
        text: Option<&str>,
        step: Option<Step>,
        order: Option<i64>,
    ) -> Result<()> {
        let (store, j) = self
            .parts()
            .map_err(|_| Error::NotFound("safety plan item"))?;
        edit(&mut j.doc, id, text, step, order, now_ms())?;
        j.persist(store)
    }

    /// Removes an item. Durable on return.
    pub fn safety_plan_remove(&mut self, id: &str) -> Result<()> {
        let (store, j) = self
            .parts()
            .map_err(|_| Error::NotFound("safety plan item"))?;
        remove(&mut j.doc, id, now_ms())?;
        j.persist(store)
    }

    /// The plan as plain text with titles in `locale`, for the participant to share with their
    /// supporter (the sharing and its consent are not done here).
    pub fn safety_plan_summary(&self, locale: &str) -> String {
        self.safety_plan().summary(locale)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const A: &str = "00000000000000a1";
    const B: &str = "00000000000000b2";
    const C: &str = "00000000000000c3";

    #[test]
    fn add_edit_remove_and_read_in_plan_order() {
        let mut d = AutoCommit::new();
        add(&mut d, A, Step::HelpPeople, "Call Sari", None, 10).unwrap();
        add(&mut d, B, Step::WarningSigns, "Can't sleep", None, 20).unwrap();
        add(&mut d, C, Step::HelpPeople, "Ask Budi", None, 30).unwrap();
        let p = plan(&d);
        assert_eq!(p.sections.len(), 7);
        assert_eq!(
            p.sections.iter().map(|s| s.step).collect::<Vec<_>>(),
            Step::ALL.to_vec()
        );
        assert_eq!(p.sections[0].items[0].text, "Can't sleep");
        let help: Vec<_> = p.sections[3].items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(help, [A, C], "added last in the step");
        edit(&mut d, C, None, None, Some(-1), 40).unwrap();
        let help: Vec<_> = plan(&d).sections[3]
            .items
            .iter()
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(help, [C, A], "reordered");
        edit(
            &mut d,
            A,
            Some("Call Sari tonight"),
            Some(Step::Professionals),
            None,
            50,
        )
        .unwrap();
        let a = get(&d, A).unwrap();
        assert_eq!(
            (a.step, a.text.as_str(), a.added_ms, a.edited_ms),
            (Step::Professionals, "Call Sari tonight", 10, 50)
        );
        remove(&mut d, B, 60).unwrap();
        assert!(get(&d, B).is_none());
        assert_eq!(items(&d).len(), 2);
        assert!(matches!(remove(&mut d, B, 70), Err(Error::NotFound(_))));
        assert!(matches!(
            edit(&mut d, B, Some("x"), None, None, 70),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn plan_keys_are_invisible_to_the_journal_and_journal_entries_to_the_plan() {
        let mut d = AutoCommit::new();
        crate::journal::add(&mut d, "00000000000000ee", "entry", 3, &[], 1).unwrap();
        add(&mut d, A, Step::WhatMatters, "My sister", None, 2).unwrap();
        assert_eq!(crate::journal::list(&d).len(), 1);
        assert_eq!(items(&d).len(), 1);
    }

    #[test]
    fn items_added_offline_on_two_forks_both_survive_the_merge() {
        let mut a = AutoCommit::new();
        add(&mut a, A, Step::CopingAlone, "Walk", None, 1).unwrap();
        let mut b = a.fork();
        add(&mut a, B, Step::CopingAlone, "Music", None, 2).unwrap();
        add(&mut b, C, Step::CopingAlone, "Draw", None, 3).unwrap();
        edit(&mut b, A, Some("Walk outside"), None, None, 4).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let texts: Vec<String> = plan(&a).sections[1]
            .items
            .iter()
            .map(|i| i.text.clone())
            .collect();
        assert_eq!(texts, ["Walk outside", "Music", "Draw"]);
        assert_eq!(plan(&a), plan(&b), "both devices converge");
    }

    #[test]
    fn malformed_items_are_skipped_not_fatal() {
        let mut d = AutoCommit::new();
        add(&mut d, A, Step::CopingAlone, "ok", None, 1).unwrap();
        // Unknown step, missing text, a scalar instead of a map, a bad id: all written by a peer.
        let e = d.put_object(automerge::ROOT, key(B), ObjType::Map).unwrap();
        d.put(&e, "step", "not-a-step").unwrap();
        d.put(&e, "text", "x").unwrap();
        let e = d.put_object(automerge::ROOT, key(C), ObjType::Map).unwrap();
        d.put(&e, "step", "coping-alone").unwrap();
        d.put(automerge::ROOT, key("00000000000000d4"), "scalar")
            .unwrap();
        let e = d
            .put_object(automerge::ROOT, "safety/XYZ", ObjType::Map)
            .unwrap();
        d.put(&e, "step", "coping-alone").unwrap();
        d.put(&e, "text", "x").unwrap();
        d.commit();
        let all = items(&d);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].id, A);
    }

    #[test]
    fn bad_input_is_refused_and_nothing_written() {
        let mut d = AutoCommit::new();
        for t in ["", "   ", "a\u{0007}b"] {
            assert!(matches!(
                add(&mut d, A, Step::CopingAlone, t, None, 1),
                Err(Error::InvalidInput(_))
            ));
        }
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert!(matches!(
            add(&mut d, A, Step::CopingAlone, &long, None, 1),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            add(&mut d, "nothex", Step::CopingAlone, "x", None, 1),
            Err(Error::InvalidInput(_))
        ));
        assert!(Step::from_id("warning_signs").is_err());
        assert!(items(&d).is_empty());
        add(&mut d, A, Step::CopingAlone, "two\nlines", None, 1).unwrap();
        assert!(matches!(
            add(&mut d, A, Step::CopingAlone, "again", None, 1),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn summary_has_localized_titles_and_every_item() {
        let mut d = AutoCommit::new();
        add(&mut d, A, Step::Professionals, "SEJIWA 119 ext 8", None, 1).unwrap();
        add(
            &mut d,
            B,
            Step::WhatMatters,
            "My cat\nand my sister",
            None,
            2,
        )
        .unwrap();
        let p = plan(&d);
        let en = p.summary("en");
        let id = p.summary("id");
        assert_ne!(en, id);
        for s in Step::ALL {
            assert!(en.contains(&s.title("en")), "{}", s.id());
            assert!(id.contains(&s.title("id")), "{}", s.id());
            assert_ne!(s.title("en"), s.title("id"));
            assert_ne!(s.title("en"), format!("safety-step-{}-title", s.id()));
            assert_ne!(s.prompt("en"), format!("safety-step-{}-prompt", s.id()));
        }
        assert!(en.contains("  - SEJIWA 119 ext 8\n"));
        assert!(en.contains("  - My cat\n    and my sister\n"));
        let json: serde_json::Value = serde_json::from_str(&p.to_json().unwrap()).unwrap();
        assert_eq!(json["sections"][4]["step"], "professionals");
        assert_eq!(json["sections"][4]["items"][0]["text"], "SEJIWA 119 ext 8");
    }

    #[test]
    fn the_vault_keeps_the_plan_in_the_journal_durably() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let key = [4u8; 32];
        let (a, b);
        {
            let mut v = Vault::open(&path, &key).unwrap();
            assert!(v.safety_plan().is_empty());
            assert_eq!(v.safety_plan().sections.len(), 7);
            a = v.safety_plan_add(Step::WarningSigns, "Not eating").unwrap();
            b = v.safety_plan_add(Step::HelpPeople, "Rina").unwrap();
            v.journal_add("a journal entry", 3, &[]).unwrap();
            v.safety_plan_edit(&b, Some("Rina, 0812"), None, None)
                .unwrap();
            assert!(matches!(
                v.safety_plan_add(Step::HelpPeople, ""),
                Err(Error::InvalidInput(_))
            ));
        }
        let mut v = Vault::open(&path, &key).unwrap();
        let p = v.safety_plan();
        assert_eq!(p.sections[0].items[0].id, a);
        assert_eq!(p.sections[3].items[0].text, "Rina, 0812");
        assert_eq!(
            v.journal_list().len(),
            1,
            "plan items are not journal entries"
        );
        assert!(v.safety_plan_summary("id").contains("Rina, 0812"));
        v.safety_plan_remove(&a).unwrap();
        assert!(matches!(v.safety_plan_remove(&a), Err(Error::NotFound(_))));
        drop(v);
        let v = Vault::open(&path, &key).unwrap();
        assert!(v.safety_plan().sections[0].items.is_empty());
    }

    #[test]
    fn a_device_with_its_own_plan_is_not_linked_over_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Vault::open(&dir.path().join("a.db"), &[5u8; 32]).unwrap();
        let mut b = Vault::open(&dir.path().join("b.db"), &[6u8; 32]).unwrap();
        b.safety_plan_add(Step::WhatMatters, "My brother").unwrap();
        let response = a.approve_link(&b.link_request().unwrap()).unwrap();
        assert!(matches!(
            b.complete_link(&response),
            Err(Error::AlreadyLinked)
        ));
        assert_eq!(b.safety_plan().sections[6].items[0].text, "My brother");
        // A device with an empty plan links as before (the plan then arrives with the journal's sync).
        a.safety_plan_add(Step::CopingAlone, "Breathe slowly")
            .unwrap();
        let mut c = Vault::open(&dir.path().join("c.db"), &[7u8; 32]).unwrap();
        let response = a.approve_link(&c.link_request().unwrap()).unwrap();
        c.complete_link(&response).unwrap();
        assert_eq!(c.journal_space(), a.journal_space());
    }
}
