//! Snapshots signed by a member whose content is bad (protocol 26.3): a document that does not load,
//! an unknown codec, or a cover that claims the author's own later envelopes are quarantined or
//! refused, and change nothing; a good one from the same member is taken.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ring::signature::KeyPair;
use sebaya_core::Vault;
use sebaya_proto::snapshot::{self, Cover};
use sebaya_proto::{DeviceId, EpochId, HeaderV1, Kind, SpaceId};

struct Insider {
    space: SpaceId,
    epoch: EpochId,
    key: [u8; 32],
    kp: ring::signature::Ed25519KeyPair,
}

/// Has `a` link a device it does not hold (seed `0x42` × 32): what that device learns.
fn insider(a: &mut Vault) -> Insider {
    let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[0x42; 32]).unwrap();
    let secret = x25519_dalek::StaticSecret::from([0x44; 32]);
    let request = sebaya_core::identity::link::LinkRequest {
        device: DeviceId::from_slice(kp.public_key().as_ref()).unwrap(),
        x25519: x25519_dalek::PublicKey::from(&secret).to_bytes(),
        certificate: None,
    };
    let response = a.approve_link(&request.to_code().unwrap()).unwrap();
    let resp = sebaya_core::identity::link::LinkResponse::from_code(&response).unwrap();
    let key = sebaya_core::crypto::keywrap::unwrap(&resp.wrap, &secret, &resp.space, &resp.epoch)
        .unwrap();
    Insider {
        space: resp.space,
        epoch: resp.epoch,
        key: *key,
        kp,
    }
}

fn seal(i: &Insider, seq: u64, cover: &Cover, plain: &[u8]) -> Vec<u8> {
    let header = HeaderV1 {
        kind: Kind::Snapshot,
        space: i.space,
        epoch: i.epoch,
        author: DeviceId::from_slice(i.kp.public_key().as_ref()).unwrap(),
        seq,
    };
    snapshot::seal(header, &i.key, [0; 4], cover, plain, &i.kp)
        .unwrap()
        .into_bytes()
}

/// Device A, device B linked to it, and an insider A linked too (whose keys the test holds); B has
/// everything A sent.
fn linked_with_insider(dir: &std::path::Path) -> (Vault, Vault, Insider) {
    let mut a = Vault::open(&dir.join("a.db"), &[1; 32]).unwrap();
    let mut b = Vault::open(&dir.join("b.db"), &[2; 32]).unwrap();
    b.complete_link(&a.approve_link(&b.link_request().unwrap()).unwrap())
        .unwrap();
    let i = insider(&mut a);
    b.receive_envelopes(&a.outgoing_envelopes().unwrap())
        .unwrap();
    (a, b, i)
}

/// A snapshot's plaintext: codec 1 and the save() of a journal holding one entry.
fn journal_snapshot(id: &str, text: &str) -> Vec<u8> {
    let mut doc = automerge::AutoCommit::new();
    sebaya_core::journal::add(&mut doc, id, text, 2, &[], 1).unwrap();
    let mut plain = vec![sebaya_core::space::SNAPSHOT_CODEC_SAVE];
    plain.extend_from_slice(&doc.save());
    plain
}

#[test]
fn a_members_bad_snapshot_changes_nothing_and_a_good_one_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Vault::open(&dir.path().join("a.db"), &[1; 32]).unwrap();
    let mut b = Vault::open(&dir.path().join("b.db"), &[2; 32]).unwrap();
    b.complete_link(&a.approve_link(&b.link_request().unwrap()).unwrap())
        .unwrap();
    let i = insider(&mut a);
    b.receive_envelopes(&a.outgoing_envelopes().unwrap())
        .unwrap();
    a.journal_add("Dari A.", 3, &[]).unwrap();
    b.receive_envelopes(&a.outgoing_envelopes().unwrap())
        .unwrap();
    let before = b.journal_list();
    assert_eq!(before.len(), 1);
    let counts = b.envelope_counts().unwrap();

    // A document that does not load, and a codec nobody knows: stored, quarantined, nothing else.
    // (The cover names something B lacks, the author's own first envelope, so B must load the
    // document to take it; a snapshot whose cover B already holds is taken without loading, and
    // changes nothing either.)
    let author = DeviceId::from_slice(i.kp.public_key().as_ref()).unwrap();
    let cover: Cover = [(author, 1)].into();
    let r = b
        .receive_envelopes(&[seal(&i, 2, &cover, b"\x01not an automerge document")])
        .unwrap();
    assert_eq!((r.stored, r.applied, r.quarantined), (1, 0, 1));
    let mut doc = automerge::AutoCommit::new();
    sebaya_core::journal::add(&mut doc, "00000000000000aa", "dari snapshot", 2, &[], 1).unwrap();
    let mut unknown = vec![9u8];
    unknown.extend_from_slice(&doc.save());
    let r = b
        .receive_envelopes(&[seal(&i, 3, &cover, &unknown)])
        .unwrap();
    assert_eq!((r.stored, r.applied, r.quarantined), (1, 0, 1));
    assert_eq!(b.journal_list(), before);
    let (waiting, applied, quarantined) = b.envelope_counts().unwrap();
    assert_eq!((waiting, applied), (counts.0, counts.1));
    assert_eq!(quarantined, counts.2 + 2);

    // The same member's good snapshot is taken (merged into what B has).
    let mut good = vec![sebaya_core::space::SNAPSHOT_CODEC_SAVE];
    good.extend_from_slice(&doc.save());
    let r = b.receive_envelopes(&[seal(&i, 4, &cover, &good)]).unwrap();
    assert_eq!((r.stored, r.applied, r.quarantined), (1, 1, 0));
    assert_eq!(b.journal_list().len(), 2);
    assert!(b.journal_get("00000000000000aa").is_some());
}

/// A device's own snapshot never stands in for an envelope it set aside: its cover stops below the
/// first quarantined envelope of each author, so a taker still fetches that envelope (a newer app's
/// device may read it), and the relay never prunes it under this snapshot.
#[test]
fn a_snapshot_does_not_cover_what_its_sealer_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Vault::open(&dir.path().join("a.db"), &[1; 32]).unwrap();
    a.create_person().unwrap();
    a.set_snapshot_every(0).unwrap();
    let i = insider(&mut a);
    let author = DeviceId::from_slice(i.kp.public_key().as_ref()).unwrap();
    a.journal_add("Dari A.", 3, &[]).unwrap();
    // The insider's seq 1: a document in a codec this device does not know. Quarantined.
    let mut doc = automerge::AutoCommit::new();
    sebaya_core::journal::add(&mut doc, "00000000000000bb", "dari versi baru", 2, &[], 1).unwrap();
    let mut unknown = vec![9u8];
    unknown.extend_from_slice(&doc.save());
    let cover: Cover = [(DeviceId([7; 32]), 1)].into();
    let r = a
        .receive_envelopes(&[seal(&i, 1, &cover, &unknown)])
        .unwrap();
    assert_eq!((r.stored, r.quarantined), (1, 1), "{r:?}");
    a.snapshot_now(None).unwrap().expect("a snapshot");
    // A's own snapshot (the insider's quarantined one is held too).
    let me = a.device_id();
    let env = a
        .outgoing_envelopes()
        .unwrap()
        .into_iter()
        .map(|e| sebaya_proto::Envelope::parse(&e).unwrap())
        .find(|e| {
            let h = e.header().unwrap();
            h.kind == Kind::Snapshot && h.author == me
        })
        .expect("A's snapshot");
    let own = snapshot::cover(&env).unwrap();
    assert_eq!(
        own.get(&author),
        None,
        "the quarantined envelope is not covered: {own:?}"
    );
    assert!(
        own.get(&a.device_id()).is_some_and(|s| *s >= 1),
        "A's own envelopes are"
    );
}

/// A device of the person seals a cover naming another device's envelopes far ahead (review defect:
/// takers would count that device's later envelopes as held and never fetch them). The taker bounds
/// the cover by what it knows exists, so the other device's next entry still arrives.
#[test]
fn a_cover_naming_another_devices_later_envelopes_silences_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut b, i) = linked_with_insider(dir.path());
    a.journal_add("Dari A, pertama.", 3, &[]).unwrap();
    b.receive_envelopes(&a.outgoing_envelopes().unwrap())
        .unwrap();
    let good = journal_snapshot("00000000000000cc", "dari orang dalam");
    let cover: Cover = [(a.device_id(), 1_000_000)].into();
    let r = b.receive_envelopes(&[seal(&i, 1, &cover, &good)]).unwrap();
    assert_eq!((r.stored, r.quarantined), (1, 0), "{r:?}");
    // A writes on; B still takes A's next envelope as new.
    let id = a.journal_add("Dari A, kedua.", 4, &[]).unwrap();
    let r = b
        .receive_envelopes(&a.outgoing_envelopes().unwrap())
        .unwrap();
    assert!(r.stored >= 1, "A's new envelope is not a duplicate: {r:?}");
    assert_eq!(b.journal_get(&id).unwrap().text, "Dari A, kedua.");
}

/// A snapshot sealed at a sequence number near 2^62 whose cover names its author's envelopes below
/// it: taking it must not raise the taker's count that far (every later exchange would walk the
/// range). The taker still exports a bundle, and the author's real next envelope still arrives.
#[test]
fn a_cover_near_two_to_the_sixty_two_raises_the_count_only_a_bounded_step() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut b, i) = linked_with_insider(dir.path());
    let author = DeviceId::from_slice(i.kp.public_key().as_ref()).unwrap();
    let good = journal_snapshot("00000000000000dd", "dari jauh");
    let far = 1u64 << 62;
    let cover: Cover = [(author, far - 1), (a.device_id(), far)].into();
    let r = b
        .receive_envelopes(&[seal(&i, far, &cover, &good)])
        .unwrap();
    assert_eq!((r.stored, r.quarantined), (1, 0), "{r:?}");
    assert!(
        b.journal_get("00000000000000dd").is_some(),
        "the content was taken"
    );
    // Walking what B holds stays cheap: a bundle of everything is small.
    let bundle = b.export_bundle(&[], None).unwrap();
    assert!(bundle.len() < 1 << 20, "bundle of {} bytes", bundle.len());
    // A's next entry is not counted as held.
    let id = a.journal_add("Dari A, sesudahnya.", 4, &[]).unwrap();
    b.receive_envelopes(&a.outgoing_envelopes().unwrap())
        .unwrap();
    assert!(b.journal_get(&id).is_some());
}
