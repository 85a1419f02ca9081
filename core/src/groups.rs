//! Peer-support groups: a group's notebook and its sessions, as a typed view over one Automerge
//! document (one group space).
//!
//! Shape (version 1). The root map holds:
//! - `"name"`: Text, the group's name.
//! - `"notes"`: map id -> `{ title: str, text: Text, author: str (device id hex), created: int ms,
//!   edited: int ms }`. Several supporters may edit one note's text at once; their edits merge.
//! - `"agenda"`: map id -> `{ text: str, order: int, done: bool }`.
//! - `"actions"`: map id -> `{ text: str, owner: str (free text or device id hex), due: int ms
//!   (0 = no due date), done: bool }`.
//! - `"coping"`: map id -> `{ text: str, added_by: str (device id hex) }`.
//! - `"sessions"`: map id -> `{ date: int ms, topic: str, facilitator: str (device id hex),
//!   attendance: map device-id-hex -> "present" | "absent" | "excused", notes: Text }`.
//!
//! Records are keyed by id (16 lowercase hex characters), never kept in lists, so two devices adding
//! records offline never conflict; concurrent changes to different fields, different members'
//! attendance, or different parts of one text all merge. Two concurrent changes to the same scalar
//! (a title, a `done` flag, one member's attendance) resolve to one of them, as Automerge decides.
//!
//! Who creates what: two devices that both create the same top-level map concurrently produce a
//! conflict in which one map wins and everything written into the other vanishes. So the containers
//! are created exactly once, by the group's creator, in [`init`]'s single commit. Every other
//! function works on a document whose containers are missing: reads treat a missing (or malformed)
//! container as empty, and writes refuse with [`Error::NotFound`]`("group")`; a device writes only
//! after it has synced the creator's first change. Nothing below the root is created by two devices
//! at once except when repairing a field a faulty peer damaged.
//!
//! Each user action is one commit (never one per keystroke). Input is validated before the first
//! write, so a refused call leaves the document unchanged. Reads are defensive: a record a buggy or
//! hostile peer damaged is skipped when it lacks what gives it meaning (an agenda item, action or
//! coping idea without text; a record that is not a map; an attendance value other than the three
//! known ones) and otherwise read with defaults; a read never panics.
//!
//! This view checks the shape of what is written, not who writes it: which role (facilitator, member)
//! may do what in a group is enforced where a change is accepted, on every receiving device. Programme
//! reports read [`attendance_counts`] (counts, never content).
//!
//! Size: a session's notes live inside the session, so a group's document grows with its history.
//! The plan, once measured, is to split a group's history into one document per period or term
//! (the notebook and the sessions of that period); this module does not split.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::error::{Error, Result};
use crate::space::doc::{
    boolean, check_device, check_id, check_long, check_short, container_in, int, is_lower_hex,
    map_obj, new_record_in, put_text, read_all, read_container, read_record, splice_changed_middle,
    string, text_field, text_obj, write,
};

mod sessions;
#[cfg(test)]
mod sessions_tests;
mod spaces;
pub use spaces::GroupInfo;

/// Longest group name, note title, agenda item, action, action owner, coping idea or session topic
/// accepted, in characters (the limit of every short text in a space's document).
pub use crate::space::doc::MAX_SHORT_CHARS;

const NAME: &str = "name";
const NOTES: &str = "notes";
const AGENDA: &str = "agenda";
const ACTIONS: &str = "actions";
const COPING: &str = "coping";
const SESSIONS: &str = "sessions";
const CONTAINERS: [&str; 5] = [NOTES, AGENDA, ACTIONS, COPING, SESSIONS];

/// One note in the group's notebook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupNote {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// The title (may be empty).
    pub title: String,
    /// The text, merged across devices.
    pub text: String,
    /// The device that created the note (64 lowercase hex characters).
    pub author: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Last edit time, milliseconds since the Unix epoch.
    pub edited_ms: i64,
}

/// One item on the group's agenda.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgendaItem {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// What the item is about.
    pub text: String,
    /// Position on the agenda: lower comes first (ties are broken by id).
    pub order: i64,
    /// Whether the item has been dealt with.
    pub done: bool,
}

/// One action item agreed by the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionItem {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// What is to be done.
    pub text: String,
    /// Who does it: free text or a device id in hex; empty when nobody is named.
    pub owner: String,
    /// Due date, milliseconds since the Unix epoch; 0 when there is none.
    pub due_ms: i64,
    /// Whether it has been done.
    pub done: bool,
}

/// One coping idea shared in the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopingIdea {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// The idea.
    pub text: String,
    /// The device that added it (64 lowercase hex characters).
    pub added_by: String,
}

/// A member's attendance at one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attendance {
    /// Was there.
    Present,
    /// Was not there, without notice.
    Absent,
    /// Was not there, with notice or a reason.
    Excused,
}

impl Attendance {
    fn as_str(self) -> &'static str {
        match self {
            Attendance::Present => "present",
            Attendance::Absent => "absent",
            Attendance::Excused => "excused",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "present" => Some(Attendance::Present),
            "absent" => Some(Attendance::Absent),
            "excused" => Some(Attendance::Excused),
            _ => None,
        }
    }
}

/// One group session (a meeting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSession {
    /// Stable id (16 lowercase hex characters).
    pub id: String,
    /// When the session is or was held, milliseconds since the Unix epoch.
    pub date_ms: i64,
    /// The session's topic.
    pub topic: String,
    /// The facilitating device (64 lowercase hex characters).
    pub facilitator: String,
    /// Attendance recorded so far, by member device id (hex), sorted by that id.
    pub attendance: Vec<(String, Attendance)>,
    /// The session's notes, merged across devices.
    pub notes: String,
}

/// How many members were recorded present, absent and excused at one session (for programme
/// reports: counts, never content).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttendanceCounts {
    /// Members recorded present.
    pub present: u32,
    /// Members recorded absent.
    pub absent: u32,
    /// Members recorded excused.
    pub excused: u32,
}

// ---- validation and writing (group-specific; the generic helpers are in `space::doc`) -----------

fn check_time(ms: i64, what: &str) -> Result<()> {
    if ms < 0 {
        return Err(Error::InvalidInput(format!("{what} is negative")));
    }
    Ok(())
}

/// A top-level container of the group document, for writing.
fn container(doc: &AutoCommit, key: &str) -> Result<ObjId> {
    container_in(doc, key, "group")
}

/// A record inside a container, for writing.
fn record(doc: &AutoCommit, key: &str, id: &str, what: &'static str) -> Result<ObjId> {
    let c = container(doc, key)?;
    match doc.get(&c, id)? {
        Some((Value::Object(ObjType::Map), obj)) => Ok(obj),
        _ => Err(Error::NotFound(what)),
    }
}

/// The group container `key`, checked to have no record `id` yet.
fn new_record(doc: &AutoCommit, key: &str, id: &str, what: &str) -> Result<ObjId> {
    new_record_in(doc, key, id, what, "group")
}

// ---- the group ----------------------------------------------------------------------------------

/// Sets up a new group in an empty document: its name and every container, in one commit. Called
/// once, by the group's creator; every other device receives this change before writing. Refused on a
/// document that holds anything.
pub fn init(doc: &mut AutoCommit, name: &str, now_ms: i64) -> Result<()> {
    check_short(name, "group name", true)?;
    if doc.keys(ROOT).next().is_some() {
        return Err(Error::InvalidInput(
            "the document is not empty: a group is set up once, by its creator".into(),
        ));
    }
    write(doc, now_ms, |doc| {
        put_text(doc, &ROOT, NAME, name)?;
        for key in CONTAINERS {
            doc.put_object(ROOT, key, ObjType::Map)?;
        }
        Ok(())
    })
}

/// The group's name; empty when the creator's [`init`] has not arrived.
pub fn name(doc: &AutoCommit) -> String {
    text_field(doc, &ROOT, NAME).unwrap_or_default()
}

/// Renames the group, replacing only the changed middle of the name; one commit. (Two concurrent
/// renames merge as text edits do.)
pub fn rename(doc: &mut AutoCommit, name: &str, now_ms: i64) -> Result<()> {
    check_short(name, "group name", true)?;
    if doc.get(ROOT, NAME)?.is_none() {
        return Err(Error::NotFound("group"));
    }
    write(doc, now_ms, |doc| {
        let t = text_obj(doc, &ROOT, NAME)?;
        splice_changed_middle(doc, &t, name)
    })
}

// ---- notes --------------------------------------------------------------------------------------

/// Adds a note to the notebook; one commit. The title may be empty.
pub fn add_note(
    doc: &mut AutoCommit,
    id: &str,
    title: &str,
    text: &str,
    author_hex: &str,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "note")?;
    check_short(title, "note title", false)?;
    check_long(text, "note text")?;
    check_device(author_hex, "note author")?;
    let c = new_record(doc, NOTES, id, "note")?;
    write(doc, now_ms, |doc| {
        let n = doc.put_object(&c, id, ObjType::Map)?;
        doc.put(&n, "title", title)?;
        put_text(doc, &n, "text", text)?;
        doc.put(&n, "author", author_hex)?;
        doc.put(&n, "created", now_ms)?;
        doc.put(&n, "edited", now_ms)?;
        Ok(())
    })
}

/// Changes a note: only the given fields, and of the text only the changed middle, so an edit on
/// another device to a different part of the text merges instead of being overwritten. One commit;
/// none when nothing changed.
pub fn edit_note(
    doc: &mut AutoCommit,
    id: &str,
    title: Option<&str>,
    text: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "note")?;
    if let Some(t) = title {
        check_short(t, "note title", false)?;
    }
    if let Some(t) = text {
        check_long(t, "note text")?;
    }
    let n = record(doc, NOTES, id, "group note")?;
    let title = title.filter(|t| string(doc, &n, "title").as_deref() != Some(*t));
    let text = text.filter(|t| {
        !matches!(
            doc.get(&n, "text"),
            Ok(Some((Value::Object(ObjType::Text), _)))
        ) || text_field(doc, &n, "text").as_deref() != Some(*t)
    });
    if title.is_none() && text.is_none() {
        return Ok(());
    }
    write(doc, now_ms, |doc| {
        if let Some(title) = title {
            doc.put(&n, "title", title)?;
        }
        if let Some(text) = text {
            let t = text_obj(doc, &n, "text")?;
            splice_changed_middle(doc, &t, text)?;
        }
        doc.put(&n, "edited", now_ms)?;
        Ok(())
    })
}

/// Deletes a note from the current state; one commit. (Its old text stays in the document's history
/// until the period's key is destroyed: see docs/threat-model.md.)
pub fn delete_note(doc: &mut AutoCommit, id: &str, now_ms: i64) -> Result<()> {
    check_id(id, "note")?;
    let c = container(doc, NOTES)?;
    if read_record(doc, &c, id).is_none() {
        return Err(Error::NotFound("group note"));
    }
    write(doc, now_ms, |doc| Ok(doc.delete(&c, id)?))
}

fn read_note(doc: &AutoCommit, id: &str, n: &ObjId) -> Option<GroupNote> {
    let created_ms = int(doc, n, "created").unwrap_or(0);
    Some(GroupNote {
        id: id.to_string(),
        title: string(doc, n, "title").unwrap_or_default(),
        text: text_field(doc, n, "text").unwrap_or_default(),
        author: string(doc, n, "author").unwrap_or_default(),
        created_ms,
        edited_ms: int(doc, n, "edited").unwrap_or(created_ms),
    })
}

/// One note; `None` when it does not exist or is not a record.
pub fn note(doc: &AutoCommit, id: &str) -> Option<GroupNote> {
    let c = read_container(doc, NOTES)?;
    read_note(doc, id, &read_record(doc, &c, id)?)
}

/// Every note, oldest first (by creation time, then id).
pub fn notes(doc: &AutoCommit) -> Vec<GroupNote> {
    let mut out = read_all(doc, NOTES, read_note);
    crate::order::sort_by(&mut out, |a, b| {
        a.created_ms
            .cmp(&b.created_ms)
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

// ---- agenda -------------------------------------------------------------------------------------

/// Adds an item at the end of the agenda; one commit. (Two items added concurrently may share a
/// position; they are then ordered by id.)
pub fn add_agenda_item(doc: &mut AutoCommit, id: &str, text: &str, now_ms: i64) -> Result<()> {
    check_id(id, "agenda item")?;
    check_short(text, "agenda item", true)?;
    let c = new_record(doc, AGENDA, id, "agenda item")?;
    let order = agenda(doc)
        .iter()
        .map(|i| i.order)
        .filter(|o| *o != i64::MAX)
        .max()
        .map_or(0, |o| o.saturating_add(1));
    write(doc, now_ms, |doc| {
        let a = doc.put_object(&c, id, ObjType::Map)?;
        doc.put(&a, "text", text)?;
        doc.put(&a, "order", order)?;
        doc.put(&a, "done", false)?;
        Ok(())
    })
}

/// Marks an agenda item done or not done; one commit, none when it already is.
pub fn set_agenda_done(doc: &mut AutoCommit, id: &str, done: bool, now_ms: i64) -> Result<()> {
    check_id(id, "agenda item")?;
    let a = record(doc, AGENDA, id, "agenda item")?;
    set_done(doc, &a, done, now_ms)
}

fn set_done(doc: &mut AutoCommit, obj: &ObjId, done: bool, now_ms: i64) -> Result<()> {
    if boolean(doc, obj, "done") == Some(done) {
        return Ok(());
    }
    write(doc, now_ms, |doc| Ok(doc.put(obj, "done", done)?))
}

fn read_agenda_item(doc: &AutoCommit, id: &str, a: &ObjId) -> Option<AgendaItem> {
    Some(AgendaItem {
        id: id.to_string(),
        text: string(doc, a, "text")?,
        order: int(doc, a, "order").unwrap_or(i64::MAX),
        done: boolean(doc, a, "done").unwrap_or(false),
    })
}

/// The agenda, in order (by position, then id); an item whose position is unreadable comes last.
pub fn agenda(doc: &AutoCommit) -> Vec<AgendaItem> {
    let mut out = read_all(doc, AGENDA, read_agenda_item);
    crate::order::sort_by(&mut out, |a, b| {
        a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id))
    });
    out
}

// ---- actions ------------------------------------------------------------------------------------

/// Adds an action item; one commit. `owner` is free text or a device id in hex (empty: nobody named
/// yet); `due_ms` 0 means no due date.
pub fn add_action(
    doc: &mut AutoCommit,
    id: &str,
    text: &str,
    owner: &str,
    due_ms: i64,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "action")?;
    check_short(text, "action", true)?;
    check_short(owner, "action owner", false)?;
    check_time(due_ms, "due date")?;
    let c = new_record(doc, ACTIONS, id, "action")?;
    write(doc, now_ms, |doc| {
        let a = doc.put_object(&c, id, ObjType::Map)?;
        doc.put(&a, "text", text)?;
        doc.put(&a, "owner", owner)?;
        doc.put(&a, "due", due_ms)?;
        doc.put(&a, "done", false)?;
        Ok(())
    })
}

/// Marks an action done or not done; one commit, none when it already is.
pub fn set_action_done(doc: &mut AutoCommit, id: &str, done: bool, now_ms: i64) -> Result<()> {
    check_id(id, "action")?;
    let a = record(doc, ACTIONS, id, "action")?;
    set_done(doc, &a, done, now_ms)
}

fn read_action(doc: &AutoCommit, id: &str, a: &ObjId) -> Option<ActionItem> {
    Some(ActionItem {
        id: id.to_string(),
        text: string(doc, a, "text")?,
        owner: string(doc, a, "owner").unwrap_or_default(),
        due_ms: int(doc, a, "due").filter(|d| *d > 0).unwrap_or(0),
        done: boolean(doc, a, "done").unwrap_or(false),
    })
}

/// Every action, soonest due first; those without a due date last; ties by id.
pub fn actions(doc: &AutoCommit) -> Vec<ActionItem> {
    let mut out = read_all(doc, ACTIONS, read_action);
    crate::order::sort_by_key(&mut out, |a| (a.due_ms == 0, a.due_ms, a.id.clone()));
    out
}

// ---- coping ideas -------------------------------------------------------------------------------

/// Adds a coping idea shared in the group; one commit.
pub fn add_coping_idea(
    doc: &mut AutoCommit,
    id: &str,
    text: &str,
    added_by_hex: &str,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "coping idea")?;
    check_short(text, "coping idea", true)?;
    check_device(added_by_hex, "coping idea's author")?;
    let c = new_record(doc, COPING, id, "coping idea")?;
    write(doc, now_ms, |doc| {
        let i = doc.put_object(&c, id, ObjType::Map)?;
        doc.put(&i, "text", text)?;
        doc.put(&i, "added_by", added_by_hex)?;
        Ok(())
    })
}

fn read_coping_idea(doc: &AutoCommit, id: &str, i: &ObjId) -> Option<CopingIdea> {
    Some(CopingIdea {
        id: id.to_string(),
        text: string(doc, i, "text")?,
        added_by: string(doc, i, "added_by").unwrap_or_default(),
    })
}

/// Every coping idea, by text, then id.
pub fn coping_ideas(doc: &AutoCommit) -> Vec<CopingIdea> {
    let mut out = read_all(doc, COPING, read_coping_idea);
    crate::order::sort_by(&mut out, |a, b| {
        a.text.cmp(&b.text).then_with(|| a.id.cmp(&b.id))
    });
    out
}

// ---- periods ------------------------------------------------------------------------------------

const NEXT: &str = "next";
const PREVIOUS: &str = "previous";

fn space_hex(doc: &AutoCommit, key: &str) -> Option<String> {
    string(doc, &ROOT, key).filter(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The group's next period (hex space id), once a facilitator started one: where the group goes on.
pub fn next_period(doc: &AutoCommit) -> Option<String> {
    space_hex(doc, NEXT)
}

/// The period this one continues (hex space id), if any.
pub fn previous_period(doc: &AutoCommit) -> Option<String> {
    space_hex(doc, PREVIOUS)
}

fn set_period(doc: &mut AutoCommit, key: &str, hex: &str, now_ms: i64) -> Result<()> {
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::InvalidInput(
            "a period is named by a 32-character space id".into(),
        ));
    }
    write(doc, now_ms, |doc| Ok(doc.put(ROOT, key, hex)?))
}

/// Records where the group goes on (facilitators only, by the content rules); one commit.
pub fn set_next_period(doc: &mut AutoCommit, hex: &str, now_ms: i64) -> Result<()> {
    set_period(doc, NEXT, hex, now_ms)
}

/// Records which period this one continues; one commit.
pub fn set_previous_period(doc: &mut AutoCommit, hex: &str, now_ms: i64) -> Result<()> {
    set_period(doc, PREVIOUS, hex, now_ms)
}

/// Whether the group holds anything a newcomer would read as its past: notes, sessions, agenda
/// items, actions or coping ideas.
pub fn has_history(doc: &AutoCommit) -> bool {
    [NOTES, SESSIONS, AGENDA, ACTIONS, COPING]
        .iter()
        .any(|k| read_container(doc, k).is_some_and(|c| doc.keys(&c).next().is_some()))
}

/// Copies what a group carries into a new period: the agenda items and actions not yet done, and the
/// coping ideas (a shared resource; each now names `carrier_hex` as added by, the one who carried it).
/// Notes and sessions stay in the period they belong to. Returns how many items were carried.
pub fn carry_open_items(
    from: &AutoCommit,
    to: &mut AutoCommit,
    carrier_hex: &str,
    now_ms: i64,
) -> Result<u32> {
    let mut n = 0;
    for a in agenda(from).into_iter().filter(|a| !a.done) {
        add_agenda_item(to, &a.id, &a.text, now_ms)?;
        n += 1;
    }
    for a in actions(from).into_iter().filter(|a| !a.done) {
        add_action(to, &a.id, &a.text, &a.owner, a.due_ms, now_ms)?;
        n += 1;
    }
    for c in coping_ideas(from) {
        add_coping_idea(to, &c.id, &c.text, carrier_hex, now_ms)?;
        n += 1;
    }
    Ok(n)
}

// ---- sessions -----------------------------------------------------------------------------------

/// Adds a session with no attendance and empty notes; one commit.
pub fn add_session(
    doc: &mut AutoCommit,
    id: &str,
    date_ms: i64,
    topic: &str,
    facilitator_hex: &str,
    now_ms: i64,
) -> Result<()> {
    check_id(id, "session")?;
    check_time(date_ms, "session date")?;
    check_short(topic, "session topic", true)?;
    check_device(facilitator_hex, "facilitator")?;
    let c = new_record(doc, SESSIONS, id, "session")?;
    write(doc, now_ms, |doc| {
        let s = doc.put_object(&c, id, ObjType::Map)?;
        doc.put(&s, "date", date_ms)?;
        doc.put(&s, "topic", topic)?;
        doc.put(&s, "facilitator", facilitator_hex)?;
        doc.put_object(&s, "attendance", ObjType::Map)?;
        put_text(doc, &s, "notes", "")?;
        Ok(())
    })
}

/// Records one member's attendance at a session; one commit, none when it is already recorded so.
/// Attendance of different members recorded on different devices merges.
pub fn set_attendance(
    doc: &mut AutoCommit,
    session_id: &str,
    member_hex: &str,
    attendance: Attendance,
    now_ms: i64,
) -> Result<()> {
    check_id(session_id, "session")?;
    check_device(member_hex, "member")?;
    let s = record(doc, SESSIONS, session_id, "group session")?;
    if let Ok(Some((Value::Object(ObjType::Map), a))) = doc.get(&s, "attendance") {
        if string(doc, &a, member_hex).as_deref() == Some(attendance.as_str()) {
            return Ok(());
        }
    }
    write(doc, now_ms, |doc| {
        let a = map_obj(doc, &s, "attendance")?;
        doc.put(&a, member_hex, attendance.as_str())?;
        Ok(())
    })
}

/// Replaces a session's notes, changing only the changed middle so concurrent edits to different
/// parts merge; one commit, none when nothing changed.
pub fn edit_session_notes(
    doc: &mut AutoCommit,
    session_id: &str,
    text: &str,
    now_ms: i64,
) -> Result<()> {
    check_id(session_id, "session")?;
    check_long(text, "session notes")?;
    let s = record(doc, SESSIONS, session_id, "group session")?;
    write(doc, now_ms, |doc| {
        let t = text_obj(doc, &s, "notes")?;
        splice_changed_middle(doc, &t, text)
    })
}

fn read_session(doc: &AutoCommit, id: &str, s: &ObjId) -> Option<GroupSession> {
    let mut attendance = Vec::new();
    if let Some((Value::Object(ObjType::Map), a)) = doc.get(s, "attendance").ok().flatten() {
        for member in doc.keys(&a) {
            let value = string(doc, &a, &member).and_then(|v| Attendance::parse(&v));
            if let (true, Some(value)) = (is_lower_hex(&member, 64), value) {
                attendance.push((member, value));
            }
        }
    }
    crate::order::sort_by(&mut attendance, |a, b| a.0.cmp(&b.0));
    Some(GroupSession {
        id: id.to_string(),
        date_ms: int(doc, s, "date").unwrap_or(0),
        topic: string(doc, s, "topic").unwrap_or_default(),
        facilitator: string(doc, s, "facilitator").unwrap_or_default(),
        attendance,
        notes: text_field(doc, s, "notes").unwrap_or_default(),
    })
}

/// One session; `None` when it does not exist or is not a record.
pub fn session(doc: &AutoCommit, id: &str) -> Option<GroupSession> {
    let c = read_container(doc, SESSIONS)?;
    read_session(doc, id, &read_record(doc, &c, id)?)
}

/// Every session, by date, then id.
pub fn sessions(doc: &AutoCommit) -> Vec<GroupSession> {
    let mut out = read_all(doc, SESSIONS, read_session);
    crate::order::sort_by(&mut out, |a, b| {
        a.date_ms.cmp(&b.date_ms).then_with(|| a.id.cmp(&b.id))
    });
    out
}

/// How many members were recorded present, absent and excused at a session; `None` when the session
/// does not exist. Unreadable attendance values are not counted.
pub fn attendance_counts(doc: &AutoCommit, session_id: &str) -> Option<AttendanceCounts> {
    let s = session(doc, session_id)?;
    let mut counts = AttendanceCounts::default();
    for (_, a) in &s.attendance {
        let n = match a {
            Attendance::Present => &mut counts.present,
            Attendance::Absent => &mut counts.absent,
            Attendance::Excused => &mut counts.excused,
        };
        *n = n.saturating_add(1);
    }
    Some(counts)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::space::doc::MAX_TEXT_CHARS;

    const ALICE: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const BUDI: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const CITRA: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    const N1: &str = "0000000000000001";
    const N2: &str = "0000000000000002";
    const N3: &str = "0000000000000003";

    fn group() -> AutoCommit {
        let mut d = AutoCommit::new();
        init(&mut d, "Kelompok Rabu", 1_000).unwrap();
        d
    }

    fn invalid<T: std::fmt::Debug>(r: Result<T>) {
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    }

    fn not_found<T: std::fmt::Debug>(r: Result<T>, what: &str) {
        assert!(matches!(r, Err(Error::NotFound(w)) if w == what), "{r:?}");
    }

    #[test]
    fn init_creates_the_name_and_every_container_in_one_commit() {
        let mut d = group();
        assert_eq!(d.get_changes(&[]).len(), 1);
        assert_eq!(name(&d), "Kelompok Rabu");
        for key in CONTAINERS {
            assert!(container(&d, key).is_ok(), "{key}");
        }
        assert!(notes(&d).is_empty() && agenda(&d).is_empty() && actions(&d).is_empty());
        assert!(coping_ideas(&d).is_empty() && sessions(&d).is_empty());
        // A second init (the creator's, or anyone's) is refused and changes nothing.
        let heads = d.get_heads();
        invalid(init(&mut d, "Lagi", 2_000));
        assert_eq!(d.get_heads(), heads);
        // So is an init with an empty or overlong name, even on an empty document.
        let mut e = AutoCommit::new();
        invalid(init(&mut e, "  ", 1));
        invalid(init(&mut e, &"n".repeat(MAX_SHORT_CHARS + 1), 1));
        assert!(e.get_heads().is_empty());
        init(&mut e, &"n".repeat(MAX_SHORT_CHARS), 1).unwrap();
    }

    #[test]
    fn rename_replaces_the_name() {
        let mut d = group();
        rename(&mut d, "Kelompok Kamis", 2_000).unwrap();
        assert_eq!(name(&d), "Kelompok Kamis");
        let heads = d.get_heads();
        rename(&mut d, "Kelompok Kamis", 3_000).unwrap();
        assert_eq!(d.get_heads(), heads, "an unchanged name makes no change");
        invalid(rename(&mut d, "", 3_000));
        assert_eq!(d.get_heads(), heads);
    }

    #[test]
    fn without_init_reads_are_empty_and_writes_are_refused() {
        let mut d = AutoCommit::new();
        assert_eq!(name(&d), "");
        assert!(notes(&d).is_empty() && agenda(&d).is_empty() && actions(&d).is_empty());
        assert!(coping_ideas(&d).is_empty() && sessions(&d).is_empty());
        assert_eq!(note(&d, N1), None);
        assert_eq!(session(&d, N1), None);
        assert_eq!(attendance_counts(&d, N1), None);
        not_found(rename(&mut d, "x", 1), "group");
        not_found(add_note(&mut d, N1, "t", "x", ALICE, 1), "group");
        not_found(edit_note(&mut d, N1, Some("t"), None, 1), "group");
        not_found(delete_note(&mut d, N1, 1), "group");
        not_found(add_agenda_item(&mut d, N1, "x", 1), "group");
        not_found(set_agenda_done(&mut d, N1, true, 1), "group");
        not_found(add_action(&mut d, N1, "x", "", 0, 1), "group");
        not_found(set_action_done(&mut d, N1, true, 1), "group");
        not_found(add_coping_idea(&mut d, N1, "x", ALICE, 1), "group");
        not_found(add_session(&mut d, N1, 5, "x", ALICE, 1), "group");
        not_found(
            set_attendance(&mut d, N1, BUDI, Attendance::Present, 1),
            "group",
        );
        not_found(edit_session_notes(&mut d, N1, "x", 1), "group");
        assert!(d.get_heads().is_empty(), "refused writes created nothing");
    }

    #[test]
    fn a_second_device_that_received_the_init_can_write() {
        let mut a = group();
        let mut b = AutoCommit::new();
        b.merge(&mut a).unwrap();
        assert_ne!(a.get_actor(), b.get_actor());
        add_note(&mut b, N1, "Dari Budi", "halo", BUDI, 2_000).unwrap();
        add_agenda_item(&mut b, N1, "Perkenalan", 2_000).unwrap();
        add_action(&mut b, N1, "Bawa teh", "Budi", 0, 2_000).unwrap();
        add_coping_idea(&mut b, N1, "Jalan pagi", BUDI, 2_000).unwrap();
        add_session(&mut b, N1, 10_000, "Tidur", BUDI, 2_000).unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(notes(&a)[0].text, "halo");
        assert_eq!(agenda(&a)[0].text, "Perkenalan");
        assert_eq!(actions(&a)[0].owner, "Budi");
        assert_eq!(coping_ideas(&a)[0].added_by, BUDI);
        assert_eq!(sessions(&a)[0].facilitator, BUDI);
        assert_eq!(name(&a), "Kelompok Rabu");
    }

    #[test]
    fn no_device_but_the_creator_can_make_competing_containers() {
        // The pitfall the module avoids: had the second device created containers itself, one
        // device's map would win and the other's contents vanish. `init` refuses a non-empty
        // document, and writes refuse a document without containers, so this cannot happen through
        // the API; a device with no copy yet writes nothing.
        let mut a = group();
        add_note(&mut a, N1, "t", "x", ALICE, 2_000).unwrap();
        let mut b = AutoCommit::new();
        not_found(add_note(&mut b, N2, "t", "y", BUDI, 2_000), "group");
        b.merge(&mut a).unwrap();
        invalid(init(&mut b, "Milik Budi", 3_000));
        add_note(&mut b, N2, "t", "y", BUDI, 3_000).unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(notes(&a).len(), 2);
    }

    #[test]
    fn notes_are_added_read_edited_and_deleted() {
        let mut d = group();
        add_note(&mut d, N2, "Kedua", "teks dua", BUDI, 3_000).unwrap();
        add_note(&mut d, N1, "", "tanpa judul", ALICE, 2_000).unwrap();
        let all = notes(&d);
        assert_eq!(
            all.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            [N1, N2],
            "oldest first"
        );
        assert_eq!(
            all[1],
            GroupNote {
                id: N2.into(),
                title: "Kedua".into(),
                text: "teks dua".into(),
                author: BUDI.into(),
                created_ms: 3_000,
                edited_ms: 3_000,
            }
        );
        assert_eq!(note(&d, N1).unwrap().title, "");
        invalid(add_note(&mut d, N1, "dup", "", ALICE, 4_000));

        edit_note(&mut d, N2, Some("Judul baru"), None, 5_000).unwrap();
        let n = note(&d, N2).unwrap();
        assert_eq!(
            (n.title.as_str(), n.text.as_str()),
            ("Judul baru", "teks dua")
        );
        assert_eq!((n.created_ms, n.edited_ms), (3_000, 5_000));
        edit_note(&mut d, N2, None, Some("teks dua, diubah"), 6_000).unwrap();
        let n = note(&d, N2).unwrap();
        assert_eq!(
            (n.title.as_str(), n.text.as_str()),
            ("Judul baru", "teks dua, diubah")
        );
        assert_eq!(n.edited_ms, 6_000);

        let heads = d.get_heads();
        edit_note(
            &mut d,
            N2,
            Some("Judul baru"),
            Some("teks dua, diubah"),
            7_000,
        )
        .unwrap();
        edit_note(&mut d, N2, None, None, 7_000).unwrap();
        assert_eq!(
            d.get_heads(),
            heads,
            "an edit that changes nothing makes no change"
        );
        assert_eq!(note(&d, N2).unwrap().edited_ms, 6_000);

        not_found(edit_note(&mut d, N3, Some("x"), None, 8_000), "group note");
        delete_note(&mut d, N1, 8_000).unwrap();
        assert_eq!(notes(&d).len(), 1);
        assert_eq!(note(&d, N1), None);
        not_found(delete_note(&mut d, N1, 9_000), "group note");
    }

    #[test]
    fn concurrent_notes_on_two_devices_merge() {
        let mut a = group();
        let mut b = a.fork();
        add_note(&mut a, N1, "A", "dari Alice", ALICE, 2_000).unwrap();
        add_note(&mut b, N2, "B", "dari Budi", BUDI, 2_500).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        assert_eq!(notes(&a), notes(&b));
        assert_eq!(
            notes(&a)
                .iter()
                .map(|n| n.text.as_str())
                .collect::<Vec<_>>(),
            ["dari Alice", "dari Budi"]
        );
    }

    #[test]
    fn concurrent_edits_to_one_notes_text_merge() {
        let mut a = group();
        add_note(
            &mut a,
            N1,
            "Rencana",
            "kita bertemu hari Rabu",
            ALICE,
            2_000,
        )
        .unwrap();
        let mut b = a.fork();
        edit_note(&mut a, N1, None, Some("Ya, kita bertemu hari Rabu"), 3_000).unwrap();
        edit_note(
            &mut b,
            N1,
            None,
            Some("kita bertemu hari Rabu jam 4 🌧️"),
            3_500,
        )
        .unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        assert_eq!(
            note(&a, N1).unwrap().text,
            "Ya, kita bertemu hari Rabu jam 4 🌧️"
        );
        assert_eq!(note(&a, N1), note(&b, N1));
        // A title edited on one device and the text on another: both survive.
        let mut c = a.fork();
        edit_note(&mut a, N1, Some("Rencana Rabu"), None, 4_000).unwrap();
        edit_note(&mut c, N1, None, Some("selesai"), 4_000).unwrap();
        a.merge(&mut c).unwrap();
        let n = note(&a, N1).unwrap();
        assert_eq!(
            (n.title.as_str(), n.text.as_str()),
            ("Rencana Rabu", "selesai")
        );
    }

    #[test]
    fn agenda_items_keep_their_order_and_done_state() {
        let mut d = group();
        add_agenda_item(&mut d, N3, "Pembukaan", 2_000).unwrap();
        add_agenda_item(&mut d, N1, "Cerita minggu ini", 2_000).unwrap();
        add_agenda_item(&mut d, N2, "Penutup", 2_000).unwrap();
        let items = agenda(&d);
        assert_eq!(
            items
                .iter()
                .map(|i| (i.id.as_str(), i.order))
                .collect::<Vec<_>>(),
            [(N3, 0), (N1, 1), (N2, 2)]
        );
        assert!(items.iter().all(|i| !i.done));
        set_agenda_done(&mut d, N3, true, 3_000).unwrap();
        assert!(agenda(&d)[0].done);
        let heads = d.get_heads();
        set_agenda_done(&mut d, N3, true, 4_000).unwrap();
        assert_eq!(d.get_heads(), heads, "already done: no change");
        set_agenda_done(&mut d, N3, false, 4_000).unwrap();
        assert!(!agenda(&d)[0].done);
        invalid(add_agenda_item(&mut d, N1, "dup", 5_000));
        not_found(
            set_agenda_done(&mut d, "00000000000000ff", true, 5_000),
            "agenda item",
        );
    }

    #[test]
    fn concurrent_agenda_items_both_survive_ordered_by_id_on_a_tie() {
        let mut a = group();
        add_agenda_item(&mut a, N1, "Pembukaan", 2_000).unwrap();
        let mut b = a.fork();
        add_agenda_item(&mut a, N3, "Dari Alice", 3_000).unwrap();
        add_agenda_item(&mut b, N2, "Dari Budi", 3_000).unwrap();
        set_agenda_done(&mut b, N1, true, 3_000).unwrap();
        a.merge(&mut b).unwrap();
        let items = agenda(&a);
        assert_eq!(
            items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            [N1, N2, N3]
        );
        assert!(items[0].done);
        // The next item goes after both.
        add_agenda_item(&mut a, "0000000000000004", "Penutup", 4_000).unwrap();
        assert_eq!(agenda(&a)[3].order, 2);
    }

    #[test]
    fn actions_are_added_sorted_by_due_date_and_marked_done() {
        let mut d = group();
        add_action(&mut d, N1, "Hubungi guru BK", "Budi", 0, 2_000).unwrap();
        add_action(&mut d, N2, "Siapkan ruangan", ALICE, 50_000, 2_000).unwrap();
        add_action(&mut d, N3, "Cetak lembar", "", 40_000, 2_000).unwrap();
        let all = actions(&d);
        assert_eq!(
            all.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            [N3, N2, N1],
            "soonest first, no due date last"
        );
        assert_eq!(
            all[2],
            ActionItem {
                id: N1.into(),
                text: "Hubungi guru BK".into(),
                owner: "Budi".into(),
                due_ms: 0,
                done: false,
            }
        );
        set_action_done(&mut d, N1, true, 3_000).unwrap();
        assert!(actions(&d)[2].done);
        let heads = d.get_heads();
        set_action_done(&mut d, N1, true, 3_000).unwrap();
        assert_eq!(d.get_heads(), heads);
        invalid(add_action(&mut d, N1, "dup", "", 0, 3_000));
        invalid(add_action(&mut d, "0000000000000009", "x", "", -1, 3_000));
        not_found(
            set_action_done(&mut d, "0000000000000009", true, 3_000),
            "action",
        );
    }

    #[test]
    fn coping_ideas_are_added_and_listed() {
        let mut d = group();
        add_coping_idea(&mut d, N1, "Tarik napas 4-7-8", ALICE, 2_000).unwrap();
        add_coping_idea(&mut d, N2, "Jalan pagi", BUDI, 2_000).unwrap();
        assert_eq!(
            coping_ideas(&d),
            [
                CopingIdea {
                    id: N2.into(),
                    text: "Jalan pagi".into(),
                    added_by: BUDI.into()
                },
                CopingIdea {
                    id: N1.into(),
                    text: "Tarik napas 4-7-8".into(),
                    added_by: ALICE.into()
                },
            ]
        );
        invalid(add_coping_idea(&mut d, N1, "dup", ALICE, 3_000));
        invalid(add_coping_idea(&mut d, N3, "x", "Budi", 3_000));
    }

    #[test]
    fn sessions_record_attendance_and_notes() {
        let mut d = group();
        add_session(&mut d, N2, 20_000, "Tidur dan istirahat", ALICE, 2_000).unwrap();
        add_session(&mut d, N1, 10_000, "Perkenalan", ALICE, 2_000).unwrap();
        assert_eq!(
            sessions(&d)
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            [N1, N2],
            "by date"
        );
        assert_eq!(attendance_counts(&d, N1), Some(AttendanceCounts::default()));
        set_attendance(&mut d, N1, CITRA, Attendance::Excused, 3_000).unwrap();
        set_attendance(&mut d, N1, BUDI, Attendance::Absent, 3_000).unwrap();
        set_attendance(&mut d, N1, ALICE, Attendance::Present, 3_000).unwrap();
        set_attendance(&mut d, N1, BUDI, Attendance::Present, 3_100).unwrap();
        let heads = d.get_heads();
        set_attendance(&mut d, N1, BUDI, Attendance::Present, 3_200).unwrap();
        assert_eq!(d.get_heads(), heads, "already recorded so: no change");
        edit_session_notes(&mut d, N1, "Semua memperkenalkan diri.", 4_000).unwrap();
        edit_session_notes(
            &mut d,
            N1,
            "Semua memperkenalkan diri. Suasana hangat.",
            4_100,
        )
        .unwrap();
        assert_eq!(
            session(&d, N1).unwrap(),
            GroupSession {
                id: N1.into(),
                date_ms: 10_000,
                topic: "Perkenalan".into(),
                facilitator: ALICE.into(),
                attendance: vec![
                    (ALICE.into(), Attendance::Present),
                    (BUDI.into(), Attendance::Present),
                    (CITRA.into(), Attendance::Excused),
                ],
                notes: "Semua memperkenalkan diri. Suasana hangat.".into(),
            }
        );
        assert_eq!(
            attendance_counts(&d, N1),
            Some(AttendanceCounts {
                present: 2,
                absent: 0,
                excused: 1
            })
        );
        assert_eq!(attendance_counts(&d, N3), None);
        assert_eq!(session(&d, N3), None);
        invalid(add_session(&mut d, N1, 1, "dup", ALICE, 5_000));
        not_found(
            set_attendance(&mut d, N3, BUDI, Attendance::Present, 5_000),
            "group session",
        );
        not_found(edit_session_notes(&mut d, N3, "x", 5_000), "group session");
    }

    #[test]
    fn attendance_for_different_members_recorded_on_two_devices_merges() {
        let mut a = group();
        add_session(&mut a, N1, 10_000, "Perkenalan", ALICE, 2_000).unwrap();
        let mut b = a.fork();
        set_attendance(&mut a, N1, BUDI, Attendance::Present, 3_000).unwrap();
        set_attendance(&mut b, N1, CITRA, Attendance::Absent, 3_000).unwrap();
        edit_session_notes(&mut a, N1, "Catatan Alice.", 3_000).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        assert_eq!(session(&a, N1), session(&b, N1));
        assert_eq!(
            session(&a, N1).unwrap().attendance,
            [
                (BUDI.to_string(), Attendance::Present),
                (CITRA.to_string(), Attendance::Absent)
            ]
        );
        assert_eq!(
            attendance_counts(&b, N1),
            Some(AttendanceCounts {
                present: 1,
                absent: 1,
                excused: 0
            })
        );
        // Session notes edited in different places on two devices merge too.
        let mut c = a.fork();
        edit_session_notes(&mut a, N1, "Awal. Catatan Alice.", 4_000).unwrap();
        edit_session_notes(&mut c, N1, "Catatan Alice. Akhir.", 4_000).unwrap();
        a.merge(&mut c).unwrap();
        assert_eq!(
            session(&a, N1).unwrap().notes,
            "Awal. Catatan Alice. Akhir."
        );
    }

    #[test]
    fn refused_input_leaves_the_document_unchanged() {
        let mut d = group();
        add_note(&mut d, N1, "t", "x", ALICE, 2_000).unwrap();
        add_agenda_item(&mut d, N1, "x", 2_000).unwrap();
        add_action(&mut d, N1, "x", "", 0, 2_000).unwrap();
        add_session(&mut d, N1, 10, "x", ALICE, 2_000).unwrap();
        let heads = d.get_heads();
        let short = "s".repeat(MAX_SHORT_CHARS + 1);
        let long = "l".repeat(MAX_TEXT_CHARS + 1);
        let upper = ALICE.to_uppercase();
        for (what, r) in [
            ("rename long", rename(&mut d, &short, 3)),
            ("note id", add_note(&mut d, "xyz", "t", "x", ALICE, 3)),
            (
                "note id upper",
                add_note(&mut d, "00000000000000AA", "t", "x", ALICE, 3),
            ),
            ("note title", add_note(&mut d, N2, &short, "x", ALICE, 3)),
            ("note text", add_note(&mut d, N2, "t", &long, ALICE, 3)),
            ("note author", add_note(&mut d, N2, "t", "x", &upper, 3)),
            (
                "note author short",
                add_note(&mut d, N2, "t", "x", "abcd", 3),
            ),
            ("note dup", add_note(&mut d, N1, "t", "x", ALICE, 3)),
            (
                "edit title",
                edit_note(&mut d, N1, Some(&short), Some("ok"), 3),
            ),
            (
                "edit text",
                edit_note(&mut d, N1, Some("ok"), Some(&long), 3),
            ),
            ("edit id", edit_note(&mut d, "1", Some("ok"), None, 3)),
            ("delete id", delete_note(&mut d, "", 3)),
            ("agenda empty", add_agenda_item(&mut d, N2, " ", 3)),
            ("agenda long", add_agenda_item(&mut d, N2, &short, 3)),
            (
                "agenda done id",
                set_agenda_done(&mut d, "g000000000000001", true, 3),
            ),
            ("action empty", add_action(&mut d, N2, "", "", 0, 3)),
            ("action owner", add_action(&mut d, N2, "x", &short, 0, 3)),
            ("action due", add_action(&mut d, N2, "x", "", -5, 3)),
            ("action done id", set_action_done(&mut d, "0", true, 3)),
            ("coping empty", add_coping_idea(&mut d, N2, "", ALICE, 3)),
            ("coping author", add_coping_idea(&mut d, N2, "x", "", 3)),
            ("session date", add_session(&mut d, N2, -1, "x", ALICE, 3)),
            ("session topic", add_session(&mut d, N2, 1, "", ALICE, 3)),
            (
                "session facilitator",
                add_session(&mut d, N2, 1, "x", "alice", 3),
            ),
            (
                "attendance member",
                set_attendance(&mut d, N1, "budi", Attendance::Present, 3),
            ),
            (
                "attendance id",
                set_attendance(&mut d, "x", BUDI, Attendance::Present, 3),
            ),
            ("session notes", edit_session_notes(&mut d, N1, &long, 3)),
        ] {
            assert!(matches!(r, Err(Error::InvalidInput(_))), "{what}: {r:?}");
        }
        assert_eq!(d.get_heads(), heads);
        assert_eq!(note(&d, N1).unwrap().text, "x");
    }

    #[test]
    fn malformed_data_from_a_hostile_peer_reads_defensively() {
        let mut d = group();
        add_note(&mut d, N1, "t", "x", ALICE, 2_000).unwrap();
        add_session(&mut d, N1, 10_000, "Perkenalan", ALICE, 2_000).unwrap();
        set_attendance(&mut d, N1, ALICE, Attendance::Present, 2_000).unwrap();
        // What a hostile peer could write straight into the document.
        let notes_c = container(&d, NOTES).unwrap();
        let n1 = record(&d, NOTES, N1, "n").unwrap();
        d.put(&n1, "text", 42).unwrap();
        d.put_object(&n1, "title", ObjType::List).unwrap();
        d.put(&n1, "created", "yesterday").unwrap();
        d.put(&notes_c, N2, "not a map").unwrap();
        let n3 = d.put_object(&notes_c, N3, ObjType::Map).unwrap(); // an empty record
        d.put(&n3, "author", true).unwrap();
        d.put_object(&notes_c, "not-an-id", ObjType::Map).unwrap();
        let s1 = record(&d, SESSIONS, N1, "s").unwrap();
        let att = d.get(&s1, "attendance").unwrap().unwrap().1;
        d.put(&att, BUDI, "maybe").unwrap();
        d.put(&att, CITRA, 1).unwrap();
        d.put(&att, "not-a-member", "present").unwrap();
        d.put(&s1, "date", "tomorrow").unwrap();
        d.put(&s1, "notes", 7).unwrap();
        let agenda_c = container(&d, AGENDA).unwrap();
        let a1 = d.put_object(&agenda_c, N1, ObjType::Map).unwrap();
        d.put(&a1, "text", "Tanpa urutan").unwrap();
        d.put(&a1, "order", "first").unwrap();
        d.put(&a1, "done", "yes").unwrap();
        let a2 = d.put_object(&agenda_c, N2, ObjType::Map).unwrap();
        d.put(&a2, "text", 5).unwrap(); // no text: skipped
        let actions_c = container(&d, ACTIONS).unwrap();
        let x1 = d.put_object(&actions_c, N1, ObjType::Map).unwrap();
        d.put(&x1, "text", "Tanpa tanggal").unwrap();
        d.put(&x1, "due", -20).unwrap();
        d.put(&actions_c, N2, 3).unwrap();
        let coping_c = container(&d, COPING).unwrap();
        let c1 = d.put_object(&coping_c, N1, ObjType::Map).unwrap();
        d.put(&c1, "text", "Musik").unwrap();
        d.put_object(&coping_c, N2, ObjType::Text).unwrap();
        d.put(ROOT, NAME, 99).unwrap();
        d.commit();

        assert_eq!(name(&d), "");
        let all = notes(&d);
        assert_eq!(
            all.len(),
            2,
            "the non-map and the bad id are skipped: {all:?}"
        );
        assert_eq!(
            all[0],
            GroupNote {
                id: N1.into(),
                title: String::new(),
                text: String::new(),
                author: ALICE.into(),
                created_ms: 0,
                edited_ms: 2_000,
            }
        );
        assert_eq!(
            (all[1].id.as_str(), all[1].author.as_str()),
            (N3, ""),
            "defaults"
        );
        let s = session(&d, N1).unwrap();
        assert_eq!(s.attendance, [(ALICE.to_string(), Attendance::Present)]);
        assert_eq!((s.date_ms, s.notes.as_str()), (0, ""));
        assert_eq!(
            attendance_counts(&d, N1),
            Some(AttendanceCounts {
                present: 1,
                absent: 0,
                excused: 0
            })
        );
        assert_eq!(
            agenda(&d),
            [AgendaItem {
                id: N1.into(),
                text: "Tanpa urutan".into(),
                order: i64::MAX,
                done: false
            }]
        );
        assert_eq!(
            actions(&d),
            [ActionItem {
                id: N1.into(),
                text: "Tanpa tanggal".into(),
                owner: String::new(),
                due_ms: 0,
                done: false
            }]
        );
        assert_eq!(coping_ideas(&d).len(), 1);
        assert_eq!(coping_ideas(&d)[0].added_by, "");

        // Writes repair what they touch and go on working.
        edit_note(&mut d, N1, Some("Judul"), Some("teks baru"), 3_000).unwrap();
        let n = note(&d, N1).unwrap();
        assert_eq!((n.title.as_str(), n.text.as_str()), ("Judul", "teks baru"));
        set_attendance(&mut d, N1, BUDI, Attendance::Excused, 3_000).unwrap();
        edit_session_notes(&mut d, N1, "catatan", 3_000).unwrap();
        assert_eq!(session(&d, N1).unwrap().notes, "catatan");
        assert_eq!(session(&d, N1).unwrap().attendance.len(), 2);
        rename(&mut d, "Nama baru", 3_000).unwrap();
        assert_eq!(name(&d), "Nama baru");
        not_found(delete_note(&mut d, N2, 3_000), "group note");
        not_found(set_action_done(&mut d, N2, true, 3_000), "action");
        // The next agenda item goes after the readable ones, not after i64::MAX.
        add_agenda_item(&mut d, N3, "Baru", 3_000).unwrap();
        assert_eq!(agenda(&d)[0].id, N3);
    }

    #[test]
    fn malformed_containers_read_as_empty_and_refuse_writes() {
        let mut d = AutoCommit::new();
        d.put(ROOT, NOTES, "not a map").unwrap();
        d.put_object(ROOT, SESSIONS, ObjType::List).unwrap();
        let name_t = d.put_object(ROOT, NAME, ObjType::Map).unwrap();
        d.put(&name_t, "x", 1).unwrap();
        d.commit();
        assert!(notes(&d).is_empty() && sessions(&d).is_empty());
        assert_eq!(name(&d), "");
        let heads = d.get_heads();
        not_found(add_note(&mut d, N1, "t", "x", ALICE, 1), "group");
        not_found(add_session(&mut d, N1, 1, "t", ALICE, 1), "group");
        invalid(init(&mut d, "x", 1));
        assert_eq!(d.get_heads(), heads);
    }

    #[test]
    fn one_commit_per_action_with_the_actions_time() {
        let mut d = group();
        let before = d.get_changes(&[]).len();
        add_session(&mut d, N1, 10_000, "x", ALICE, 7_000_000).unwrap();
        set_attendance(&mut d, N1, BUDI, Attendance::Present, 8_000_000).unwrap();
        let changes = d.get_changes(&[]);
        assert_eq!(changes.len(), before + 2);
        assert_eq!(changes.last().unwrap().timestamp(), 8_000);
    }
}
