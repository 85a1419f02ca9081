//! Issue 15, defect 4: envelopes from authors a space's membership log does not admit never enter a
//! device's vault as held envelopes nor its vector. Thousands from fresh keys (through
//! `Space::receive`, as a hostile relay or any path hands them over) are held apart within a bound,
//! and the device's next sync with a real relay still succeeds; a bundle mixing one genuine envelope
//! with strangers' ones brings only the genuine one; an envelope that arrived before the statement
//! admitting its author is applied once the statement comes; strangers' are dropped once the log
//! says no (an exchange ends with nothing in the log waiting for parents).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_bytes::ByteBuf;

use sebaya_core::space::{MAX_HELD_APART, MAX_HELD_APART_BYTES};
use sebaya_core::{SpaceId, Vault};
use sebaya_proto::bundle::{self, BundleBody, BundleSpace};
use sebaya_proto::envelope::HeaderV1;
use sebaya_proto::sync::MAX_AUTHORS;
use sebaya_proto::{DeviceId, Envelope, EpochId, Kind};
use sebaya_tests::net;

fn texts(v: &Vault) -> Vec<String> {
    let mut t: Vec<String> = v.journal_list().into_iter().map(|e| e.text).collect();
    t.sort();
    t
}

fn key(salt: u8, i: u32) -> Ed25519KeyPair {
    let mut seed = [salt; 32];
    seed[..4].copy_from_slice(&i.to_be_bytes());
    Ed25519KeyPair::from_seed_unchecked(&seed).unwrap()
}

/// `n` changes envelopes of `space`, each signed by a fresh key no log names (valid signatures;
/// sealed under a key nobody holds).
fn strangers(space: SpaceId, n: u32, salt: u8) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let k = key(salt, i);
            let header = HeaderV1 {
                kind: Kind::Changes,
                space,
                epoch: EpochId([7; 32]),
                author: DeviceId::from_slice(k.public_key().as_ref()).unwrap(),
                seq: 1,
            };
            Envelope::seal_v1(header, &[9; 32], [0; 4], b"bukan anggota", &k)
                .unwrap()
                .into_bytes()
        })
        .collect()
}

/// A phone with a person and a tablet linked to it.
fn linked(dir: &std::path::Path) -> (Vault, Vault) {
    let mut phone = Vault::open(&dir.join("phone.db"), &[1; 32]).unwrap();
    phone.create_person().unwrap();
    phone.journal_add("Dari ponsel.", 4, &[]).unwrap();
    let mut tablet = Vault::open(&dir.join("tablet.db"), &[2; 32]).unwrap();
    let resp = phone.approve_link(&tablet.link_request().unwrap()).unwrap();
    tablet.complete_link(&resp).unwrap();
    (phone, tablet)
}

/// `v`'s own envelopes (not membership statements) among what it would send.
fn own_changes(v: &mut Vault) -> Vec<Vec<u8>> {
    let me = v.device_id();
    v.outgoing_envelopes()
        .unwrap()
        .into_iter()
        .filter(|e| {
            let h = Envelope::parse(e).unwrap().header().unwrap();
            h.author == me && h.kind != Kind::Membership
        })
        .collect()
}

#[test]
fn thousands_of_strangers_envelopes_stay_out_of_the_vector_and_the_next_sync_succeeds() {
    let n = net::net();
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Vault::open(&dir.path().join("phone.db"), &[1; 32]).unwrap();
    phone.create_person().unwrap();
    phone.journal_add("Dari ponsel.", 4, &[]).unwrap();
    net::sync(&n, &mut phone);
    let journal = phone.journal_space().unwrap();
    let before = phone.vector_authors(&journal).unwrap();

    // More fresh authors than any vector may name: before the fix they all counted, and the relay
    // answered every later request with 400 (a vector too long).
    let count = u32::try_from(MAX_AUTHORS).unwrap() + 100;
    let flood = strangers(journal, count, 0xa5);
    let r = phone.receive_envelopes(&flood).unwrap();
    assert_eq!(r.stored, 0, "{r:?}");
    assert_eq!(r.applied, 0, "{r:?}");
    assert_eq!(u64::from(r.held_apart), MAX_HELD_APART, "{r:?}");
    assert_eq!(r.held_apart + r.refused, count, "{r:?}");
    assert_eq!(phone.vector_authors(&journal).unwrap(), before);
    let (held, bytes) = phone.held_apart_counts().unwrap();
    assert_eq!(held, MAX_HELD_APART);
    assert!(bytes <= MAX_HELD_APART_BYTES, "{bytes}");
    let (waiting, _, _) = phone.envelope_counts().unwrap();
    assert_eq!(waiting, 0);
    // The same flood again adds nothing.
    let r = phone.receive_envelopes(&flood).unwrap();
    assert_eq!(r.stored, 0, "{r:?}");
    assert_eq!(phone.held_apart_counts().unwrap().0, MAX_HELD_APART);

    // The next sync works, and its end (the log complete, nothing waiting for parents) drops them.
    phone.journal_add("Setelah banjir.", 3, &[]).unwrap();
    let report = phone.sync_with(&n.http, &n.relay.url()).unwrap();
    assert!(report.pushed > 0, "{report:?}");
    assert_eq!(phone.held_apart_counts().unwrap(), (0, 0));
    assert_eq!(phone.vector_authors(&journal).unwrap(), before);
    // And another device of the person still gets everything through the relay.
    let mut tablet = Vault::open(&dir.path().join("tablet.db"), &[2; 32]).unwrap();
    let resp = phone.approve_link(&tablet.link_request().unwrap()).unwrap();
    tablet.complete_link(&resp).unwrap();
    net::sync(&n, &mut phone);
    net::sync(&n, &mut tablet);
    assert_eq!(texts(&tablet), texts(&phone));
    assert_eq!(texts(&tablet).len(), 2);
}

#[test]
fn a_bundle_mixing_one_genuine_envelope_with_strangers_brings_only_the_genuine_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, mut tablet) = linked(dir.path());
    tablet.journal_add("Dari tablet.", 3, &[]).unwrap();
    let journal = phone.journal_space().unwrap();
    let genuine = own_changes(&mut tablet);
    assert_eq!(genuine.len(), 1);
    let before = phone.vector_authors(&journal).unwrap();

    // A stranger signs a bundle carrying the tablet's genuine envelope and many of its own.
    let exporter = key(0x33, 0);
    let mut envelopes: Vec<ByteBuf> = genuine.iter().cloned().map(ByteBuf::from).collect();
    let count = 600u32;
    envelopes.extend(
        strangers(journal, count, 0x34)
            .into_iter()
            .map(ByteBuf::from),
    );
    let body = BundleBody {
        v: bundle::BUNDLE_VERSION,
        exporter: ByteBuf::from(exporter.public_key().as_ref().to_vec()),
        created: 0,
        spaces: vec![BundleSpace {
            space: ByteBuf::from(journal.0.to_vec()),
            vector: Vec::new(),
            envelopes,
        }],
    };
    let file = bundle::seal(&body, &exporter).unwrap();
    let r = phone.import_bundle(&file).unwrap();
    assert_eq!(r.stored, 1, "{r:?}");
    assert_eq!(r.applied, 1, "{r:?}");
    assert!(u64::from(r.held_apart) <= MAX_HELD_APART, "{r:?}");
    assert!(
        texts(&phone).contains(&"Dari tablet.".to_string()),
        "{:?}",
        texts(&phone)
    );
    // Only the tablet joins the vector; the strangers were dropped when the import ended (the log
    // it brought is complete and admits none of them).
    assert_eq!(phone.vector_authors(&journal).unwrap(), before + 1);
    assert_eq!(phone.held_apart_counts().unwrap(), (0, 0));
    let (waiting, _, _) = phone.envelope_counts().unwrap();
    assert_eq!(waiting, 0);
}

#[test]
fn an_envelope_before_the_statement_admitting_its_author_is_applied_and_strangers_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut phone, mut tablet) = linked(dir.path());
    let journal = phone.journal_space().unwrap();
    // The phone links a laptop (a statement the tablet has not seen); the laptop writes.
    let mut laptop = Vault::open(&dir.path().join("laptop.db"), &[3; 32]).unwrap();
    let resp = phone.approve_link(&laptop.link_request().unwrap()).unwrap();
    laptop.complete_link(&resp).unwrap();
    laptop.journal_add("Dari laptop.", 2, &[]).unwrap();
    let early = own_changes(&mut laptop);
    assert!(!early.is_empty());
    let before = tablet.vector_authors(&journal).unwrap();

    // The laptop's envelope reaches the tablet first: held apart, not counted, not applied.
    let r = tablet.receive_envelopes(&early).unwrap();
    assert_eq!(r.stored, 0, "{r:?}");
    assert_eq!(r.held_apart as usize, early.len(), "{r:?}");
    assert_eq!(tablet.vector_authors(&journal).unwrap(), before);
    assert!(!texts(&tablet).contains(&"Dari laptop.".to_string()));
    // A stranger's too.
    let r = tablet
        .receive_envelopes(&strangers(journal, 1, 0x77))
        .unwrap();
    assert_eq!(r.held_apart, 1, "{r:?}");
    assert_eq!(
        tablet.held_apart_counts().unwrap().0,
        early.len() as u64 + 1
    );

    // The statement admitting the laptop arrives: its envelope is taken in and applied. The
    // stranger's stays apart: no exchange has ended yet.
    let from_phone = phone.outgoing_envelopes().unwrap();
    let r = tablet.receive_envelopes(&from_phone).unwrap();
    assert!(r.applied > 0, "{r:?}");
    assert!(
        texts(&tablet).contains(&"Dari laptop.".to_string()),
        "{:?}",
        texts(&tablet)
    );
    assert_eq!(tablet.held_apart_counts().unwrap().0, 1);
    assert!(tablet.vector_authors(&journal).unwrap() > before);

    // An exchange ends with a complete log that admits nobody new: the stranger's is dropped.
    let file = phone.export_bundle(&[], None).unwrap();
    tablet.import_bundle(&file).unwrap();
    assert_eq!(tablet.held_apart_counts().unwrap(), (0, 0));
    assert!(texts(&tablet).contains(&"Dari laptop.".to_string()));
}
