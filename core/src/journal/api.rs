//! The journal as the `Vault` offers it to an app: adding, editing, deleting and listing entries,
//! and mood trends. Thin: the document view is `journal.rs`; the journal space itself (made on
//! first use, `Vault::journal`) is the crate root's, since the safety plan and screening totals
//! live in it too and mechanisms reach it.

use crate::error::{Error, Result};
use crate::journal::{self, JournalEntry};
use crate::{SpaceId, Vault, crypto, store::clock::now_ms};

impl Vault {
    /// The journal's space id, once the journal exists.
    pub fn journal_space(&self) -> Option<SpaceId> {
        self.journal.as_ref().map(|s| s.id)
    }

    /// Adds a journal entry, durably, and returns its id. One commit.
    pub fn journal_add(&mut self, text: &str, mood: u8, tags: &[String]) -> Result<String> {
        self.journal_add_at(text, mood, tags, now_ms())
    }

    /// [`Vault::journal_add`] with an explicit time (for imports and reproducible tests).
    pub fn journal_add_at(
        &mut self,
        text: &str,
        mood: u8,
        tags: &[String],
        at_ms: i64,
    ) -> Result<String> {
        let id = hex::encode(crypto::random::<8>()?);
        self.journal_add_with_id(&id, text, mood, tags, at_ms)?;
        Ok(id)
    }

    /// Adds an entry under a caller-chosen id (16 lowercase hex characters).
    pub fn journal_add_with_id(
        &mut self,
        id: &str,
        text: &str,
        mood: u8,
        tags: &[String],
        at_ms: i64,
    ) -> Result<()> {
        self.journal()?;
        let (store, j) = self.parts()?;
        journal::add(&mut j.doc, id, text, mood, tags, at_ms)?;
        j.persist(store)
    }

    /// Edits an entry: only the fields given change. Durable on return.
    pub fn journal_edit(
        &mut self,
        id: &str,
        text: Option<&str>,
        mood: Option<u8>,
        tags: Option<&[String]>,
    ) -> Result<()> {
        self.journal_edit_at(id, text, mood, tags, now_ms())
    }

    /// [`Vault::journal_edit`] with an explicit time.
    pub fn journal_edit_at(
        &mut self,
        id: &str,
        text: Option<&str>,
        mood: Option<u8>,
        tags: Option<&[String]>,
        at_ms: i64,
    ) -> Result<()> {
        let (store, j) = self.parts().map_err(|_| Error::NotFound("journal entry"))?;
        journal::edit(&mut j.doc, id, text, mood, tags, at_ms)?;
        j.persist(store)
    }

    /// Deletes an entry. Durable on return.
    pub fn journal_delete(&mut self, id: &str) -> Result<()> {
        let (store, j) = self.parts().map_err(|_| Error::NotFound("journal entry"))?;
        journal::delete(&mut j.doc, id, now_ms())?;
        j.persist(store)
    }

    /// Every entry, oldest first.
    pub fn journal_list(&self) -> Vec<JournalEntry> {
        self.journal
            .as_ref()
            .map(|j| journal::list(&j.doc))
            .unwrap_or_default()
    }

    /// One entry.
    pub fn journal_get(&self, id: &str) -> Option<JournalEntry> {
        self.journal.as_ref().and_then(|j| journal::get(&j.doc, id))
    }

    /// Mood trends over this person's check-ins (journal entries, each with a mood), computed here:
    /// weekly averages and streaks in a zone `utc_offset_min` minutes east of UTC.
    pub fn mood_trends(&self, utc_offset_min: i32) -> journal::trends::MoodTrends {
        let checkins: Vec<(i64, u8)> = self
            .journal_list()
            .iter()
            .map(|e| (e.created_ms, e.mood))
            .collect();
        journal::trends::mood_trends(&checkins, now_ms(), utc_offset_min)
    }
}
