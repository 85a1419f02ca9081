//! The person's journal through the bindings (`Vault.journal()`): entries, the devices that share
//! the journal, mood trends over its check-ins, and erasing entries for good.

use super::{Member, Result, Shared, now_ms, with};

/// One journal entry.
#[derive(Clone, Debug, uniffi::Record)]
pub struct JournalEntry {
    /// Stable id.
    pub id: String,
    /// Text, merged across the person's devices.
    pub text: String,
    /// Versions written at the same time on another device whose edits overlap this text's, so
    /// they could not be merged: show them and let the person choose; the next edit that passes a
    /// text settles them (pass `text` only when the person changed or chose it).
    pub conflicts: Vec<String>,
    /// Mood 1–5.
    pub mood: i32,
    /// Tags.
    pub tags: Vec<String>,
    /// Created, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last edited, ms since the Unix epoch.
    pub edited_ms: i64,
}

impl From<sebaya_core::JournalEntry> for JournalEntry {
    fn from(e: sebaya_core::JournalEntry) -> Self {
        JournalEntry {
            id: e.id,
            text: e.text,
            conflicts: e.conflicts,
            mood: i32::from(e.mood),
            tags: e.tags,
            created_ms: e.created_ms,
            edited_ms: e.edited_ms,
        }
    }
}

/// A week's average mood.
#[derive(Clone, Debug, uniffi::Record)]
pub struct WeekMood {
    /// The week's Monday, days since 1970-01-01 (local).
    pub monday_day: i64,
    /// Average mood that week.
    pub average: f64,
    /// How many check-ins.
    pub count: u32,
}

/// Trends over this person's check-ins, computed on the device.
#[derive(Clone, Debug, uniffi::Record)]
pub struct MoodTrends {
    /// One row per week with check-ins, oldest first.
    pub weeks: Vec<WeekMood>,
    /// Consecutive days with a check-in, ending today or yesterday; 0 otherwise.
    pub current_streak: u32,
    /// The longest run of consecutive days with a check-in.
    pub longest_streak: u32,
}

/// A person's journal, handed out by `Vault.journal()`: add, edit, delete, list, erase for good, the
/// devices that share it and the mood trends over it. Each call is one durable commit. It holds the
/// vault's shared state, so `Vault.lock()` (or `lock_now`) locks it too (`Locked`).
#[derive(uniffi::Object)]
pub struct Journal {
    pub(crate) inner: Shared,
}

#[uniffi::export]
impl Journal {
    /// Adds an entry; returns its id. Mood is 1 (very low) to 5 (very good).
    #[uniffi::method(default(tags = []))]
    pub fn add(&self, text: String, mood: i32, tags: Vec<String>) -> Result<String> {
        let m = super::mood(mood)?;
        with(&self.inner, |v| v.journal_add(&text, m, &tags))
    }

    /// Changes the given fields of an entry; a field left out (null) keeps its value, so Kotlin can say
    /// `edit(id, mood = 4)`.
    #[uniffi::method(default(text = None, mood = None, tags = None))]
    pub fn edit(
        &self,
        id: String,
        text: Option<String>,
        mood: Option<i32>,
        tags: Option<Vec<String>>,
    ) -> Result<()> {
        let m = mood.map(super::mood).transpose()?;
        with(&self.inner, |v| {
            v.journal_edit(&id, text.as_deref(), m, tags.as_deref())
        })
    }

    /// Deletes an entry.
    pub fn delete(&self, id: String) -> Result<()> {
        with(&self.inner, |v| v.journal_delete(&id))
    }

    /// Every entry, oldest first.
    pub fn list(&self) -> Result<Vec<JournalEntry>> {
        with(&self.inner, |v| {
            Ok(v.journal_list().into_iter().map(Into::into).collect())
        })
    }

    /// One entry, or null.
    pub fn get(&self, id: String) -> Result<Option<JournalEntry>> {
        with(&self.inner, |v| Ok(v.journal_get(&id).map(Into::into)))
    }

    /// The devices of this person's journal (their linked phones and tablets), as this device
    /// knows them: what a "your devices" screen lists.
    pub fn members(&self) -> Result<Vec<Member>> {
        with(&self.inner, |v| {
            let me = v.device_id();
            Ok(v.journal_membership()
                .map(|m| {
                    m.members
                        .iter()
                        .map(|(d, r)| Member {
                            device_id: d.to_hex(),
                            role: (*r).into(),
                            this_device: *d == me,
                        })
                        .collect()
                })
                .unwrap_or_default())
        })
    }

    /// Mood trends over this person's check-ins (journal entries with their mood): weekly averages
    /// and streaks, in a zone `utc_offset_min` minutes east of UTC (Jakarta: 420). Computed here;
    /// nothing leaves the device.
    pub fn mood_trends(&self, utc_offset_min: i32) -> Result<MoodTrends> {
        with(&self.inner, |v| {
            let t = v.mood_trends(utc_offset_min);
            Ok(MoodTrends {
                weeks: t
                    .weeks
                    .into_iter()
                    .map(|w| WeekMood {
                        monday_day: w.monday,
                        average: w.average,
                        count: w.count,
                    })
                    .collect(),
                current_streak: t.current_streak,
                longest_streak: t.longest_streak,
            })
        })
    }

    /// Deletes entries for good by destroying the key they were written under (unlike `delete`,
    /// which leaves them in the document's history): the journal goes on under a fresh key with
    /// everything else (other entries, the safety plan, screening totals); the old one is destroyed
    /// here now, erased at the relay at the next sync, and on the person's other devices at theirs
    /// (each keeps what it wrote meanwhile). Unknown ids throw `NotFound` and change nothing.
    /// Returns the new journal's id.
    pub fn erase(&self, entry_ids: Vec<String>) -> Result<String> {
        let now = now_ms();
        Ok(with(&self.inner, |v| v.erase_journal_entries(&entry_ids, now))?.to_hex())
    }
}
