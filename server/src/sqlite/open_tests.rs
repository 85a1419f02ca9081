//! Several processes (a relay, `migrate`, `backup`, or relays sharing a key file in a test) may open
//! one new SQLite store at the same moment: every one of them must open it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::SqliteStore;

#[test]
fn many_openers_of_one_new_store_all_open_it() {
    for _ in 0..30 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SqliteStore::open(&path).map(|s| s.relay_id))
            })
            .collect();
        let ids: Vec<_> = openers
            .into_iter()
            .map(|t| t.join().unwrap().expect("every opener opens the store"))
            .collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "one relay id");
    }
}
