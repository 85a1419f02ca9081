//! Vault, journal and envelope behaviour across two devices, without a network.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sebaya_core::{Error, Vault};

fn key(n: u8) -> [u8; 32] {
    [n; 32]
}

fn tags(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
}

/// Two devices of one person: `b` linked to `a`'s journal.
fn linked_pair(dir: &std::path::Path) -> (Vault, Vault) {
    let mut a = Vault::open(&dir.join("a.db"), &key(1)).unwrap();
    let mut b = Vault::open(&dir.join("b.db"), &key(2)).unwrap();
    let offer = a.create_link_offer().unwrap();
    b.accept_link(&offer.code, &offer.secret).unwrap();
    (a, b)
}

#[test]
fn wrong_master_key_is_refused_and_leaves_the_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    {
        let mut v = Vault::open(&path, &key(1)).unwrap();
        v.journal_add("hello", 3, &tags(&["a"])).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    assert!(matches!(Vault::open(&path, &key(9)), Err(Error::WrongKey)));
    assert_eq!(before, std::fs::read(&path).unwrap());
    assert!(matches!(
        Vault::open(&path, &[1u8; 5]),
        Err(Error::InvalidInput(_))
    ));
    let v = Vault::open(&path, &key(1)).unwrap();
    assert_eq!(v.journal_list().len(), 1);
}

#[test]
fn journal_add_edit_delete_list_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let (id1, id2);
    {
        let mut v = Vault::open(&path, &key(1)).unwrap();
        id1 = v
            .journal_add_at("first day", 2, &tags(&["school"]), 1000)
            .unwrap();
        id2 = v.journal_add_at("second day", 4, &tags(&[]), 2000).unwrap();
        v.journal_edit_at(&id1, Some("first day, better"), Some(3), None, 3000)
            .unwrap();
        assert!(matches!(
            v.journal_add("x", 6, &[]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            v.journal_edit("0000000000000000", Some("x"), None, None),
            Err(Error::NotFound(_))
        ));
    }
    let mut v = Vault::open(&path, &key(1)).unwrap();
    let list = v.journal_list();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].id, id1);
    assert_eq!(list[0].text, "first day, better");
    assert_eq!(list[0].mood, 3);
    assert_eq!(list[0].tags, tags(&["school"]));
    assert_eq!(list[0].created_ms, 1000);
    assert_eq!(list[0].edited_ms, 3000);
    v.journal_delete(&id2).unwrap();
    drop(v);
    let v = Vault::open(&path, &key(1)).unwrap();
    assert_eq!(v.journal_list().len(), 1);
}

#[test]
fn envelopes_carry_entries_between_linked_devices_and_merge_concurrent_edits() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut b) = linked_pair(dir.path());
    let id = a
        .journal_add_at(
            "We talked about music and hope.",
            4,
            &tags(&["friends"]),
            10,
        )
        .unwrap();
    let out = a.outgoing_envelopes().unwrap();
    assert_eq!(out.len(), 1);
    let r = b.receive_envelopes(&out).unwrap();
    assert_eq!((r.stored, r.applied, r.quarantined), (1, 1, 0));
    assert_eq!(
        b.journal_get(&id).unwrap().text,
        "We talked about music and hope."
    );
    // A duplicate is harmless.
    let r = b.receive_envelopes(&out).unwrap();
    assert_eq!((r.stored, r.duplicates), (0, 1));
    // Concurrent edits to different parts of the text merge.
    a.journal_edit(
        &id,
        Some("Today we talked about music and hope."),
        None,
        None,
    )
    .unwrap();
    b.journal_edit(
        &id,
        Some("We talked about music and hope. I slept well."),
        None,
        None,
    )
    .unwrap();
    let from_a: Vec<_> = a.outgoing_envelopes().unwrap();
    let from_b: Vec<_> = b.outgoing_envelopes().unwrap();
    a.receive_envelopes(&from_b).unwrap();
    b.receive_envelopes(&from_a).unwrap();
    let ta = a.journal_get(&id).unwrap().text;
    assert_eq!(ta, b.journal_get(&id).unwrap().text);
    assert_eq!(ta, "Today we talked about music and hope. I slept well.");
}

#[test]
fn out_of_order_envelopes_wait_for_their_dependencies_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, b) = linked_pair(dir.path());
    drop(b);
    let id = a.journal_add_at("one", 3, &[], 1).unwrap();
    let first = a.outgoing_envelopes().unwrap();
    a.journal_edit_at(&id, Some("one two"), None, None, 2)
        .unwrap();
    let both = a.outgoing_envelopes().unwrap();
    assert_eq!(both.len(), 2);
    let second: Vec<_> = both.into_iter().filter(|e| !first.contains(e)).collect();
    let bpath = dir.path().join("b.db");
    {
        let mut b = Vault::open(&bpath, &key(2)).unwrap();
        let r = b.receive_envelopes(&second).unwrap();
        assert_eq!(
            (r.stored, r.applied),
            (1, 0),
            "the edit waits for the entry it edits"
        );
        assert!(b.journal_get(&id).is_none());
    }
    let mut b = Vault::open(&bpath, &key(2)).unwrap();
    assert_eq!(
        b.envelope_counts().unwrap().0,
        1,
        "still waiting after a restart"
    );
    let r = b.receive_envelopes(&first).unwrap();
    assert_eq!(r.applied, 2);
    assert_eq!(b.journal_get(&id).unwrap().text, "one two");
}

#[test]
fn every_flipped_bit_of_an_envelope_is_refused_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut b) = linked_pair(dir.path());
    let id = a.journal_add_at("kept safe", 3, &[], 1).unwrap();
    let env = a.outgoing_envelopes().unwrap().remove(0);
    let step = (env.len() * 8 / 400).max(1);
    for bit in (0..env.len() * 8).step_by(step) {
        let mut t = env.clone();
        t[bit / 8] ^= 1 << (bit % 8);
        let r = b.receive_envelopes(&[t]).unwrap();
        assert_eq!(r.stored, 0, "bit {bit} was accepted");
        assert!(r.refused + r.duplicates == 1);
    }
    let r = b.receive_envelopes(&[env]).unwrap();
    assert_eq!(r.applied, 1);
    assert_eq!(b.journal_get(&id).unwrap().text, "kept safe");
}

#[test]
fn a_stored_value_altered_on_disk_gives_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    {
        let mut v = Vault::open(&path, &key(1)).unwrap();
        v.journal_add("hello", 3, &[]).unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE doc_chunks SET v = CAST(substr(v, 1, 20) || x'00' || substr(v, 22) AS BLOB)",
        [],
    )
    .unwrap();
    drop(conn);
    match Vault::open(&path, &key(1)) {
        Err(Error::Corrupt(_)) => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("altered data opened"),
    }
}

#[test]
fn pairing_refuses_a_device_with_its_own_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Vault::open(&dir.path().join("a.db"), &key(1)).unwrap();
    let mut b = Vault::open(&dir.path().join("b.db"), &key(2)).unwrap();
    b.journal_add("mine", 3, &[]).unwrap();
    let offer = a.create_link_offer().unwrap();
    assert!(matches!(
        b.accept_link(&offer.code, &offer.secret),
        Err(Error::AlreadyLinked)
    ));
    assert!(matches!(
        b.accept_link(&offer.code, "1111-2222-3333-4444-5555-6666"),
        Err(Error::BadLinkCode)
    ));
}

#[test]
fn chunks_are_compacted_on_open_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let count_chunks = || -> i64 {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row("SELECT count(*) FROM doc_chunks", [], |r| r.get(0))
            .unwrap()
    };
    {
        let mut v = Vault::open(&path, &key(1)).unwrap();
        for i in 0..200 {
            v.journal_add_at(&format!("entry {i}"), 3, &[], i).unwrap();
        }
    }
    assert!(count_chunks() >= 200, "each add is its own durable chunk");
    {
        let v = Vault::open(&path, &key(1)).unwrap();
        assert_eq!(v.journal_list().len(), 200);
    }
    assert_eq!(count_chunks(), 1, "opening compacted the chunks");
    let v = Vault::open(&path, &key(1)).unwrap();
    let list = v.journal_list();
    assert_eq!(list.len(), 200);
    assert_eq!(list[199].text, "entry 199");
}

/// Seals `doc`'s changes into a `changes` envelope signed by `signer` (an outsider holding the key).
fn forge(
    offer: &sebaya_core::LinkOffer,
    doc: &mut automerge::AutoCommit,
    signer_seed: [u8; 32],
) -> (Vec<u8>, sebaya_core::DeviceId) {
    use ring::signature::KeyPair;
    use sebaya_core::space;
    use sebaya_proto::{Envelope, HeaderV1, Kind, SpaceId};
    let linked = sebaya_core::link::open_offer(&offer.code, &offer.secret, 0).unwrap();
    let space_id = SpaceId(linked.space);
    let epoch = space::genesis_epoch(&space_id, &linked.key).unwrap();
    let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(&signer_seed).unwrap();
    let author = sebaya_core::DeviceId::from_slice(kp.public_key().as_ref()).unwrap();
    let changes = doc.get_changes(&[]);
    let payload = space::encode_changes(doc, &changes, space::CODEC_BUNDLE).unwrap();
    let header = HeaderV1 {
        kind: Kind::Changes,
        space: space_id,
        epoch,
        author,
        seq: 1,
    };
    let env = Envelope::seal_v1(header, &linked.key, [0; 4], &payload, &kp).unwrap();
    (env.into_bytes(), author)
}

#[test]
fn a_change_whose_actor_is_not_the_signer_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut b) = linked_pair(dir.path());
    let offer = a.create_link_offer().unwrap();
    // An outsider with the key writes a change under the phone's actor id and signs it itself.
    let mut doc =
        automerge::AutoCommit::new().with_actor(sebaya_core::space::actor_of(&a.device_id()));
    sebaya_core::journal::add(
        &mut doc,
        "00000000000000ff",
        "forged in A's name",
        1,
        &[],
        1,
    )
    .unwrap();
    let (env, _) = forge(&offer, &mut doc, [0x42; 32]);
    let r = b.receive_envelopes(&[env]).unwrap();
    assert_eq!((r.stored, r.applied, r.quarantined), (1, 0, 1));
    assert!(b.journal_get("00000000000000ff").is_none());
    // The control: the same outsider writing under its own actor id is applied (it holds the key).
    let kp_author = {
        use ring::signature::KeyPair;
        let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[0x43; 32]).unwrap();
        sebaya_core::DeviceId::from_slice(kp.public_key().as_ref()).unwrap()
    };
    let mut own = automerge::AutoCommit::new().with_actor(sebaya_core::space::actor_of(&kp_author));
    sebaya_core::journal::add(&mut own, "00000000000000ee", "own name", 2, &[], 1).unwrap();
    let (env, author) = forge(&offer, &mut own, [0x43; 32]);
    assert_eq!(author, kp_author);
    let r = b.receive_envelopes(&[env]).unwrap();
    assert_eq!((r.applied, r.quarantined), (1, 0));
    // The quarantined envelope did not block anything; A's own writes still arrive.
    let id = a.journal_add("after the forgery", 3, &[]).unwrap();
    let out = a.outgoing_envelopes().unwrap();
    b.receive_envelopes(&out).unwrap();
    assert!(b.journal_get(&id).is_some());
}

#[test]
fn payloads_are_bounded_and_refuse_compressed_or_foreign_chunks() {
    use sebaya_core::space::{CODEC_DEFLATE_CHANGES, MAX_INFLATED_LEN, decode_changes};
    let me = sebaya_core::DeviceId([5; 32]);
    // A deflate bomb: 17 MiB of zeros in a few KiB.
    let mut enc = flate2::write::DeflateEncoder::new(
        vec![CODEC_DEFLATE_CHANGES],
        flate2::Compression::best(),
    );
    std::io::Write::write_all(&mut enc, &vec![0u8; MAX_INFLATED_LEN + 1024 * 1024]).unwrap();
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 64 * 1024);
    assert!(matches!(decode_changes(&bomb, &me), Err(Error::Content(_))));
    // Garbage, an empty payload, an unknown codec, a truncated chunk: typed errors, no panic.
    for p in [
        vec![],
        vec![9u8, 1, 2],
        vec![1u8, 0x85, 0x6f],
        vec![2u8, 0xff, 0xff],
    ] {
        assert!(decode_changes(&p, &me).is_err());
    }
    // A compressed change chunk (type 2) inside the deflate codec is refused before Automerge sees it.
    let mut doc = automerge::AutoCommit::new().with_actor(sebaya_core::space::actor_of(&me));
    sebaya_core::journal::add(
        &mut doc,
        "0000000000000001",
        &"panjang ".repeat(200),
        3,
        &[],
        1,
    )
    .unwrap();
    let mut ch = doc.get_changes(&[]).remove(0);
    let compressed = ch.bytes().to_vec();
    assert_eq!(compressed[8], 2, "a long change compresses");
    let mut enc = flate2::write::DeflateEncoder::new(
        vec![CODEC_DEFLATE_CHANGES],
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut enc, &compressed).unwrap();
    assert!(matches!(
        decode_changes(&enc.finish().unwrap(), &me),
        Err(Error::Content(_))
    ));
    // The raw form of the same change is accepted.
    let mut enc = flate2::write::DeflateEncoder::new(
        vec![CODEC_DEFLATE_CHANGES],
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut enc, ch.raw_bytes()).unwrap();
    assert_eq!(
        decode_changes(&enc.finish().unwrap(), &me).unwrap().len(),
        1
    );
}
