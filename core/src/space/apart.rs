//! Envelopes held apart: verified envelopes of a space whose author the membership log does not
//! admit (yet). They are kept out of the vector and the document, bounded in count and bytes, taken
//! in when a statement admitting their author arrives, and dropped once the log says no
//! (docs/protocol.md 7.1, docs/threat-model.md).
//!
//! They live in the `envelopes` table in state [`HELD_APART`] (schema version 3), keyed like every
//! envelope, so a second copy is a duplicate and a promotion is one update. Nothing that reads held
//! envelopes (what to send, what to apply) looks at that state.

use rusqlite::params;

use sebaya_proto::{DeviceId, Envelope};

use crate::error::Result;
use crate::store::Store;

use super::Space;

/// State, in the `envelopes` table, of an envelope held apart.
pub(super) const HELD_APART: i64 = 3;

/// Most envelopes one space holds apart. A legitimate one is an envelope of a new member whose
/// admitting statement is in flight in the same exchange (a relay page judges at most 16 new
/// statements, a peer sends by author order): a new member's first writes, a handful. The relay and
/// peers send again whatever was refused, since the vector does not count it; only a bundle is not
/// sent again, and a bundle carries its exporter's whole log.
pub const MAX_HELD_APART: u64 = 256;
/// Most bytes (as sealed in the vault) one space holds apart: four of the largest envelopes.
pub const MAX_HELD_APART_BYTES: u64 = 16 * 1024 * 1024;
/// Most envelopes the whole vault holds apart (a flood through several spaces).
pub const MAX_HELD_APART_IN_VAULT: u64 = 1024;
/// Most bytes (as sealed in the vault) the whole vault holds apart: what a flood can take of a
/// phone's storage.
pub const MAX_HELD_APART_IN_VAULT_BYTES: u64 = 64 * 1024 * 1024;

/// What the log says of an envelope's author.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Admission {
    /// A member, or a removed device within its last accepted sequence number (`may_write`).
    Yes,
    /// Not named by the log (yet): held apart.
    NotYet,
    /// A removed device, beyond its last accepted sequence number: refused.
    No,
}

/// What holding one envelope apart did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Held {
    /// Held apart now.
    Now,
    /// Held apart already.
    Already,
    /// Refused: the space or the vault is at its bound.
    Full,
}

/// The room left under the bounds, read once per receive call (when the first envelope to hold
/// apart comes) and kept current as envelopes are held.
#[derive(Default)]
pub(super) struct Room {
    read: bool,
    space: (u64, u64),
    vault: (u64, u64),
}

fn counts(store: &Store, space: Option<&[u8]>) -> Result<(u64, u64)> {
    let sql_space = "SELECT count(*), coalesce(sum(length(v)), 0) FROM envelopes
                     WHERE space = ?1 AND state = ?2";
    let sql_all = "SELECT count(*), coalesce(sum(length(v)), 0) FROM envelopes WHERE state = ?1";
    let row = |r: &rusqlite::Row<'_>| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?));
    let (n, b) = match space {
        Some(sk) => store
            .conn
            .query_row(sql_space, params![sk, HELD_APART], row)?,
        None => store.conn.query_row(sql_all, [HELD_APART], row)?,
    };
    Ok((n.max(0) as u64, b.max(0) as u64))
}

impl Space {
    /// What the log says of an envelope by `author` with sequence number `seq`.
    pub(super) fn admission(&self, author: &DeviceId, seq: u64) -> Admission {
        if self.members.may_write(author, seq) {
            Admission::Yes
        } else if self.members.removed.contains_key(author) {
            Admission::No
        } else {
            Admission::NotYet
        }
    }

    /// Holds a verified envelope of this space apart (inside the caller's transaction), within the
    /// bounds; never counted in the vector.
    pub(super) fn hold_apart(
        &self,
        store: &Store,
        env: &Envelope,
        author: &DeviceId,
        seq: u64,
        room: &mut Room,
    ) -> Result<Held> {
        if self.holds_row(store, author, seq)? {
            return Ok(Held::Already);
        }
        let sk = Self::row_key(store, &self.id);
        if !room.read {
            room.space = counts(store, Some(&sk))?;
            room.vault = counts(store, None)?;
            room.read = true;
        }
        let k = Self::envelope_key(store, &self.id, author, seq);
        let v = store.seal("envelopes", &k, env.as_bytes())?;
        let len = v.len() as u64;
        if room.space.0 >= MAX_HELD_APART
            || room.space.1 + len > MAX_HELD_APART_BYTES
            || room.vault.0 >= MAX_HELD_APART_IN_VAULT
            || room.vault.1 + len > MAX_HELD_APART_IN_VAULT_BYTES
        {
            return Ok(Held::Full);
        }
        store.conn.execute(
            "INSERT INTO envelopes (k, n, space, state, v)
             VALUES (?1, (SELECT coalesce(max(n), 0) + 1 FROM envelopes), ?2, ?3, ?4)",
            params![k, sk, HELD_APART, v],
        )?;
        room.space = (room.space.0 + 1, room.space.1 + len);
        room.vault = (room.vault.0 + 1, room.vault.1 + len);
        Ok(Held::Now)
    }

    /// The envelopes this space holds apart: (row key, envelope), oldest first. One that no longer
    /// opens or parses is dropped here.
    fn held_apart_rows(&self, store: &Store) -> Result<Vec<(Vec<u8>, Envelope)>> {
        let sk = Self::row_key(store, &self.id);
        let rows: Vec<(Vec<u8>, Vec<u8>)> = {
            let mut stmt = store.conn.prepare_cached(
                "SELECT k, v FROM envelopes WHERE space = ?1 AND state = ?2 ORDER BY n",
            )?;
            let rows = stmt.query_map(params![sk, HELD_APART], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            match store
                .open_value("envelopes", &k, &v)
                .and_then(|b| Ok(Envelope::parse(&b)?))
            {
                Ok(env) => out.push((k, env)),
                Err(_) => {
                    store
                        .conn
                        .execute("DELETE FROM envelopes WHERE k = ?1", [&k])?;
                }
            }
        }
        Ok(out)
    }

    /// Takes in the envelopes held apart whose authors the log now admits (they wait to apply and
    /// count in the vector from now on) and drops those it refuses. Runs when the log changed since
    /// the last time (and once after opening). Returns how many were taken in.
    pub(super) fn take_in_held_apart(&mut self, store: &Store) -> Result<u32> {
        let mark = (self.log.len(), self.log.pending().len());
        if self.apart_judged == Some(mark) {
            return Ok(0);
        }
        self.apart_judged = Some(mark);
        let rows = self.held_apart_rows(store)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let tx = store.conn.unchecked_transaction()?;
        let mut taken = 0u32;
        for (k, env) in rows {
            let Ok(h) = env.header() else {
                tx.execute("DELETE FROM envelopes WHERE k = ?1", [&k])?;
                continue;
            };
            match self.admission(&h.author, h.seq) {
                Admission::Yes => {
                    tx.execute("UPDATE envelopes SET state = 0 WHERE k = ?1", [&k])?;
                    self.vector.insert(h.author, h.seq);
                    taken += 1;
                }
                Admission::No => {
                    tx.execute("DELETE FROM envelopes WHERE k = ?1", [&k])?;
                }
                Admission::NotYet => {}
            }
        }
        if taken > 0 {
            self.save_record(store)?;
        }
        tx.commit()?;
        Ok(taken)
    }

    /// At the end of an exchange (a relay sync, a peer session, a bundle import): when the log
    /// holds no statement waiting for parents, it is complete as far as this device can tell, and
    /// an author it does not admit is one it says no to: that author's envelopes held apart are
    /// dropped. (Should a statement admitting the author come later, the relay and peers send its
    /// envelopes again: the vector never counted them.) With statements waiting, only the envelopes
    /// of removed devices beyond their last sequence number go.
    pub(crate) fn settle_held_apart(&self, store: &Store) -> Result<u32> {
        let complete = self.log.pending().is_empty();
        let rows = self.held_apart_rows(store)?;
        let mut dropped = 0u32;
        for (k, env) in rows {
            let verdict = env
                .header()
                .map(|h| self.admission(&h.author, h.seq))
                .unwrap_or(Admission::No);
            let drop = match verdict {
                Admission::Yes => false,
                Admission::No => true,
                Admission::NotYet => complete,
            };
            if drop {
                store
                    .conn
                    .execute("DELETE FROM envelopes WHERE k = ?1", [&k])?;
                dropped += 1;
            }
        }
        Ok(dropped)
    }
}

#[cfg(test)]
impl super::Space {
    /// Stores an envelope and counts it in the vector without judging its author, as a device built
    /// before envelopes were held apart did: lets a test make a peer send strangers' envelopes as
    /// its own.
    pub(crate) fn store_unjudged(
        &mut self,
        store: &crate::store::Store,
        bytes: &[u8],
    ) -> crate::error::Result<()> {
        let env = sebaya_proto::Envelope::parse(bytes)?;
        let h = env.header()?;
        Self::insert_envelope(store, &env, &h.author, h.seq, 0)?;
        self.vector.insert(h.author, h.seq);
        self.save_record(store)
    }
}
