//! `sebaya-relay copy-to-postgres`: moves a relay from SQLite to PostgreSQL keeping everything,
//! its relay id included, so that phones carry on as if nothing changed.
//!
//! Every table of the SQLite store (schema 9) has its counterpart in the PostgreSQL schema, column
//! for column, so the copy is row for row: envelopes keep their serials (the sequence then continues
//! above the highest), the running usage counts and contiguous tops are copied rather than counted
//! again, and the request ids seen stay seen. Everything is written in one PostgreSQL transaction:
//! a copy cut short leaves nothing. The target must hold no envelope and no mailbox item, so a copy
//! never mixes two relays; the SQLite relay must be stopped (its file is read as it is).

use std::path::Path;

use postgres::Transaction;
use postgres::types::ToSql;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{PostgresStore, PostgresUrl};
use crate::error::StoreError;
use crate::sqlite::{DB_FILE_NAME, SqliteStore};

/// What a copy moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Envelope rows (a pruned envelope's tombstone counts).
    pub envelopes: u64,
    /// Join requests, join answers and notes of who asked, together.
    pub mailbox: u64,
    /// Erased spaces.
    pub erased_spaces: u64,
}

/// Copies the SQLite relay in `data_dir` into the PostgreSQL database at `url` (its schema created
/// if missing). Refuses a directory without a database and a target that holds data already.
pub fn copy_sqlite_into(data_dir: &Path, url: &PostgresUrl) -> Result<CopyReport, StoreError> {
    let path = data_dir.join(DB_FILE_NAME);
    if !path.is_file() {
        return Err(StoreError::NoDatabase { path });
    }
    // Brings the file to this build's schema first (what `migrate` does), then reads it as is.
    drop(SqliteStore::open(data_dir)?);
    let source = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let store = PostgresStore::open(url)?;
    let mut conn = store.conn()?;
    let mut tx = conn.transaction()?;
    let held: i64 = tx
        .query_one(
            "SELECT (SELECT count(*) FROM envelopes) + (SELECT count(*) FROM join_requests)
                  + (SELECT count(*) FROM join_answers) + (SELECT count(*) FROM erased)
                  + (SELECT count(*) FROM push_subscriptions) + (SELECT count(*) FROM push_readers)",
            &[],
        )?
        .get(0);
    if held != 0 {
        return Err(StoreError::TargetNotEmpty);
    }
    let relay_id: Vec<u8> =
        source.query_row("SELECT value FROM meta WHERE key = 'relay_id'", [], |r| {
            r.get(0)
        })?;
    tx.execute(
        "UPDATE meta SET value = $1 WHERE key = 'relay_id'",
        &[&relay_id],
    )?;
    // The VAPID key the SQLite relay signed with, if it had one: the nodes must be given the same
    // key file, or they refuse to start (review finding F2).
    let push_key: Option<Vec<u8>> = source
        .query_row("SELECT value FROM meta WHERE key = 'push_key'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(key) = push_key {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('push_key', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key],
        )?;
    }
    // Leftovers of the target's own first start (its usage rows are all zero, or absent).
    tx.batch_execute(
        "DELETE FROM usage; DELETE FROM vectors; DELETE FROM seen_requests;
         DELETE FROM join_askers; DELETE FROM admitted_persons; DELETE FROM admitted_devices;
         DELETE FROM admitted_spaces;",
    )?;
    let mut report = CopyReport {
        envelopes: copy(
            &source,
            &mut tx,
            "SELECT space, author, seq, serial, id, bytes, received_at, kind, pruned, cover
             FROM envelopes",
            "INSERT INTO envelopes
             (space, author, seq, serial, id, bytes, received_at, kind, pruned, cover)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                Col::Blob,
                Col::Blob,
                Col::Int,
                Col::Int,
                Col::Blob,
                Col::Blob,
                Col::Int,
                Col::Small,
                Col::Bool,
                Col::MaybeBlob,
            ],
        )?,
        ..CopyReport::default()
    };
    for (select, insert, cols) in MAILBOX {
        report.mailbox += copy(&source, &mut tx, select, insert, cols)?;
    }
    report.erased_spaces = copy(
        &source,
        &mut tx,
        "SELECT space, erased_at FROM erased",
        "INSERT INTO erased (space, erased_at) VALUES ($1, $2)",
        &[Col::Blob, Col::Int],
    )?;
    for (select, insert, cols) in REST {
        copy(&source, &mut tx, select, insert, cols)?;
    }
    // Serials continue above the copied ones.
    tx.batch_execute(
        "SELECT setval('envelope_serial', greatest(1, (SELECT coalesce(max(serial), 0) FROM envelopes)));
         SELECT setval('mailbox_serial', greatest(1,
             (SELECT coalesce(max(serial), 0) FROM join_requests),
             (SELECT coalesce(max(serial), 0) FROM join_answers)));",
    )?;
    tx.commit()?;
    Ok(report)
}

/// How a column goes from SQLite to PostgreSQL.
#[derive(Clone, Copy)]
enum Col {
    Blob,
    MaybeBlob,
    Int,
    /// An integer kept as SMALLINT (the envelope's kind).
    Small,
    /// An integer 0 or 1 kept as BOOLEAN.
    Bool,
    /// Text (a push endpoint).
    Text,
}

type Table = (&'static str, &'static str, &'static [Col]);

const MAILBOX: &[Table] = &[
    (
        "SELECT space, invite, hash, serial, device, body, received_at FROM join_requests",
        "INSERT INTO join_requests (space, invite, hash, serial, device, body, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            Col::Blob,
            Col::Blob,
            Col::Blob,
            Col::Int,
            Col::Blob,
            Col::Blob,
            Col::Int,
        ],
    ),
    (
        "SELECT device, space, invite, serial, body, received_at FROM join_answers",
        "INSERT INTO join_answers (device, space, invite, serial, body, received_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            Col::Blob,
            Col::Blob,
            Col::Blob,
            Col::Int,
            Col::Blob,
            Col::Int,
        ],
    ),
    (
        "SELECT space, invite, device, asked_at FROM join_askers",
        "INSERT INTO join_askers (space, invite, device, asked_at) VALUES ($1, $2, $3, $4)",
        &[Col::Blob, Col::Blob, Col::Blob, Col::Int],
    ),
];

const REST: &[Table] = &[
    (
        "SELECT device, endpoint, p256dh, auth, registered_at FROM push_subscriptions",
        "INSERT INTO push_subscriptions (device, endpoint, p256dh, auth, registered_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[Col::Blob, Col::Text, Col::Blob, Col::Blob, Col::Int],
    ),
    (
        "SELECT space, device FROM push_readers",
        "INSERT INTO push_readers (space, device) VALUES ($1, $2)",
        &[Col::Blob, Col::Blob],
    ),
    (
        "SELECT space, author, statement FROM erasure_statements",
        "INSERT INTO erasure_statements (space, author, statement) VALUES ($1, $2, $3)",
        &[Col::Blob, Col::Blob, Col::Blob],
    ),
    (
        "SELECT space, author, contiguous FROM vectors",
        "INSERT INTO vectors (space, author, contiguous) VALUES ($1, $2, $3)",
        &[Col::Blob, Col::Blob, Col::Int],
    ),
    (
        "SELECT device, request_id, ts FROM seen_requests",
        "INSERT INTO seen_requests (device, request_id, ts) VALUES ($1, $2, $3)",
        &[Col::Blob, Col::Blob, Col::Int],
    ),
    (
        "SELECT scope, bytes, envelopes FROM usage",
        "INSERT INTO usage (scope, bytes, envelopes) VALUES ($1, $2, $3)",
        &[Col::Blob, Col::Int, Col::Int],
    ),
    (
        "SELECT person, until FROM admitted_persons",
        "INSERT INTO admitted_persons (person, until) VALUES ($1, $2)",
        &[Col::Blob, Col::Int],
    ),
    (
        "SELECT device, person FROM admitted_devices",
        "INSERT INTO admitted_devices (device, person) VALUES ($1, $2)",
        &[Col::Blob, Col::Blob],
    ),
    (
        "SELECT space, at, founder FROM admitted_spaces",
        "INSERT INTO admitted_spaces (space, at, founder) VALUES ($1, $2, $3)",
        &[Col::Blob, Col::Int, Col::Blob],
    ),
];

/// One column's value, in PostgreSQL's type.
enum Value {
    Blob(Vec<u8>),
    MaybeBlob(Option<Vec<u8>>),
    Int(i64),
    Small(i16),
    Bool(bool),
    Text(String),
}

impl Value {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Blob(v) => v,
            Value::MaybeBlob(v) => v,
            Value::Int(v) => v,
            Value::Small(v) => v,
            Value::Bool(v) => v,
            Value::Text(v) => v,
        }
    }
}

/// Copies every row `select` reads from SQLite with `insert`; returns how many.
fn copy(
    source: &Connection,
    tx: &mut Transaction<'_>,
    select: &str,
    insert: &str,
    cols: &[Col],
) -> Result<u64, StoreError> {
    let insert = tx.prepare(insert)?;
    let mut stmt = source.prepare(select)?;
    let mut rows = stmt.query([])?;
    let mut n = 0;
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(cols.len());
        for (i, col) in cols.iter().enumerate() {
            values.push(match col {
                Col::Blob => Value::Blob(row.get(i)?),
                Col::MaybeBlob => Value::MaybeBlob(row.get(i)?),
                Col::Int => Value::Int(row.get(i)?),
                Col::Small => Value::Small(
                    i16::try_from(row.get::<_, i64>(i)?)
                        .map_err(|_| StoreError::Corrupt("an envelope kind out of range"))?,
                ),
                Col::Bool => Value::Bool(row.get::<_, i64>(i)? != 0),
                Col::Text => Value::Text(row.get(i)?),
            });
        }
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(Value::as_sql).collect();
        tx.execute(&insert, &params)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::BTreeMap;

    use sebaya_proto::invite::InviteId;
    use sebaya_proto::{DeviceId, Kind, PersonId, SpaceId};

    use super::*;
    use crate::store::contract::{ask, env, join_answer, join_request};
    use crate::store::testing::{PgSchema, sqlite};
    use crate::store::{InsertOutcome, RelayStore, RequestFreshness};

    /// Everything a store answers about the data below, in one value to compare.
    fn answers(store: &dyn RelayStore) -> String {
        let (s1, s2) = (SpaceId([1; 16]), SpaceId([2; 16]));
        let authors = [DeviceId([1; 32]), DeviceId([2; 32]), DeviceId([3; 32])];
        let p = PersonId([7; 32]);
        let u = store.usage(&[s1, s2], &authors, &[p]).unwrap();
        let usage = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?}",
            u.spaces.iter().collect::<BTreeMap<_, _>>(),
            u.authors.iter().collect::<BTreeMap<_, _>>(),
            u.persons,
            u.founders,
            u.total,
            u.admitted
        );
        let mut out = format!(
            "{:?} {:?} {usage} {:?} {:?}",
            store.relay_id(),
            store.space_vector(&s1).unwrap(),
            store.pruned_floor(&s1).unwrap(),
            store.erased(&[s1, s2]).unwrap(),
        );
        for a in &authors {
            let metas = store.list_range(&s1, a, 0, 10).unwrap();
            let serials: Vec<u64> = metas.iter().map(|m| m.serial).collect();
            out += &format!("{metas:?} {:?}", store.load_envelopes(&serials).unwrap());
        }
        out += &format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            store.membership_envelopes(&s1, 0).unwrap(),
            store.join_request_invites(&s1).unwrap(),
            store.join_requests(&s1, &InviteId([2; 16])).unwrap(),
            store.join_answers(&DeviceId([5; 32])).unwrap(),
            store.admitted_person(&p).unwrap(),
            store.admitted_device(&authors[0]).unwrap(),
            store.admitted_space(&s1).unwrap(),
            store.snapshots(&s1, 4).unwrap(),
        );
        // Debug shows no endpoint path or key (review finding F8): compare the fields themselves.
        for (device, sub) in store.wake_candidates(&s1).unwrap() {
            out += &format!(
                "{device:?} {} {:?} {:?}",
                sub.endpoint, sub.p256dh, sub.auth
            );
        }
        out
    }

    #[test]
    fn a_sqlite_relay_copied_into_postgresql_answers_the_same_and_keeps_its_id() {
        let Some(schema) = PgSchema::new() else {
            return;
        };
        let (dir, lite) = sqlite();
        let mut m = env(1, 3, 1, 7, b"member");
        m.kind = Kind::Membership;
        lite.insert_envelopes(
            &[
                env(1, 1, 1, 1, b"aaa"),
                env(1, 1, 2, 2, b"bbbb"),
                env(1, 1, 4, 4, b"d"),
                env(1, 2, 1, 5, b"cc"),
                env(2, 1, 1, 6, b"eee"),
                m,
            ],
            10,
        )
        .unwrap();
        let cover = BTreeMap::from([(DeviceId([1; 32]), 1)]);
        assert_eq!(
            lite.prune_covered(&SpaceId([1; 16]), &cover, 0, 100)
                .unwrap(),
            1
        );
        lite.erase_space(&SpaceId([2; 16]), 200).unwrap();
        ask(&lite, 5, 1, 50);
        lite.put_join_request(&join_request(1, 2, b"sealed"), 16, 60)
            .unwrap();
        lite.put_join_answer(&join_answer(5, 1, b"welcome"), 16, 1 << 20, 70)
            .unwrap();
        lite.admit_person(&PersonId([7; 32]), 1000, &DeviceId([1; 32]))
            .unwrap();
        lite.admit_space(&SpaceId([1; 16]), 20, &PersonId([7; 32]))
            .unwrap();
        let (dev, rid, t) = (DeviceId([9; 32]), [3u8; 16], 1_000_000);
        lite.record_request(&dev, &rid, t, t).unwrap();
        let subscription = crate::store::StoredSubscription {
            endpoint: "https://push.example.net/s/5".into(),
            p256dh: vec![4; 65],
            auth: vec![6; 16],
        };
        lite.set_push_subscription(&DeviceId([5; 32]), Some(&subscription), 90)
            .unwrap();
        lite.note_readers(&DeviceId([5; 32]), &[SpaceId([1; 16])])
            .unwrap();
        assert!(lite.bind_push_key(&[8; 65]).unwrap());
        let before = answers(&lite);
        assert!(before.contains("push.example.net/s/5"));
        drop(lite);

        let report = copy_sqlite_into(dir.path(), schema.url()).unwrap();
        assert_eq!(
            report,
            CopyReport {
                envelopes: 5,
                mailbox: 4,
                erased_spaces: 1
            }
        );
        let pg = schema.store();
        assert_eq!(answers(&pg), before);
        // The VAPID key the SQLite relay was bound to binds the copy: the nodes must sign with it.
        assert!(!pg.bind_push_key(&[9; 65]).unwrap());
        assert!(pg.bind_push_key(&[8; 65]).unwrap());
        assert_eq!(
            pg.record_request(&dev, &rid, t, t).unwrap(),
            RequestFreshness::Replayed,
            "a request id the SQLite relay saw stays seen"
        );
        // New envelopes come after the copied ones, and the copied slots still conflict.
        assert_eq!(
            pg.insert_envelopes(&[env(1, 1, 5, 8, b"e"), env(1, 1, 2, 9, b"other")], 300)
                .unwrap(),
            vec![InsertOutcome::Stored, InsertOutcome::Conflict]
        );
        let newest = pg
            .list_range(&SpaceId([1; 16]), &DeviceId([1; 32]), 4, 5)
            .unwrap();
        assert!(
            newest[0].serial > 6,
            "above the highest copied serial (6): {newest:?}"
        );
        // A second copy into the same database is refused and changes nothing.
        assert!(matches!(
            copy_sqlite_into(dir.path(), schema.url()),
            Err(StoreError::TargetNotEmpty)
        ));
        assert_eq!(
            pg.space_vector(&SpaceId([1; 16]))
                .unwrap()
                .get(&DeviceId([1; 32])),
            2
        );
    }

    #[test]
    fn a_missing_sqlite_database_is_refused() {
        let Some(schema) = PgSchema::new() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            copy_sqlite_into(&dir.path().join("nothing"), schema.url()),
            Err(StoreError::NoDatabase { .. })
        ));
    }
}
