//! Targets over `sebaya-core`: what a device does with bytes it has decrypted from a member, who may
//! still be hostile (a changes payload, a snapshot's document, a link or join answer).

use std::sync::LazyLock;

use automerge::{AutoCommit, Change, ChangeHash};
use sebaya_core::identity::link::{LinkRequest, LinkResponse};
use sebaya_core::journal;
use sebaya_core::space::{
    CODEC_BUNDLE, CODEC_DEFLATE_CHANGES, SNAPSHOT_CODEC_SAVE, actor_of, apply_untrusted,
    decode_changes, encode_changes, load_untrusted, merge_untrusted, save_that_reloads,
};

use crate::{device_of, other_key, signer};

fn hashes(changes: &[Change]) -> Vec<ChangeHash> {
    changes.iter().map(|c| c.hash()).collect()
}

/// A changes payload from the harness's device (`core::space::decode_changes`, both codecs), and
/// the round trip: what decodes, encodes with either codec and decodes to the same changes.
pub fn changes(data: &[u8]) {
    let author = device_of(signer());
    let Ok(changes) = decode_changes(data, &author) else {
        return;
    };
    let mut doc = AutoCommit::new();
    let deflated = encode_changes(&doc, &changes, CODEC_DEFLATE_CHANGES).expect("encodes");
    let back = decode_changes(&deflated, &author).expect("own payload decodes");
    assert_eq!(hashes(&back), hashes(&changes));
    if apply_untrusted(&mut doc, changes.clone()).is_ok()
        && changes
            .iter()
            .all(|c| doc.get_change_by_hash(&c.hash()).is_some())
    {
        let bundled = encode_changes(&doc, &changes, CODEC_BUNDLE).expect("encodes");
        let back = decode_changes(&bundled, &author).expect("own payload decodes");
        let (mut a, mut b) = (hashes(&back), hashes(&changes));
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
}

/// The journal a device holds before untrusted bytes arrive: two entries written by another device.
static JOURNAL: LazyLock<AutoCommit> = LazyLock::new(|| {
    let mut doc = AutoCommit::new().with_actor(actor_of(&device_of(other_key())));
    journal::add(
        &mut doc,
        "0123456789abcdef",
        "hari ini baik",
        4,
        &["tidur".to_string()],
        1_790_000_000_000,
    )
    .expect("a valid entry");
    journal::add(
        &mut doc,
        "fedcba9876543210",
        "capek",
        2,
        &[],
        1_790_000_100_000,
    )
    .expect("a valid entry");
    doc
});

/// Untrusted Automerge bytes merged into a journal the way `core` takes them from a member's
/// envelope: the first byte chooses a changes payload (`decode_changes`, then `apply_untrusted`, as
/// `Space::apply_pending`) or a snapshot's document (codec byte [`SNAPSHOT_CODEC_SAVE`], then
/// `load_untrusted` and `merge_untrusted`, as `Space::take_snapshot`); then the journal is read
/// (`journal::list`, `journal::get`) as the app would. Properties: every listed entry reads back
/// alone as listed; the merged document's `save()`, when the vault would compact into it
/// (`save_that_reloads`), reads back with `load_incremental` (how the vault opens a compacted space)
/// to the same entries; and where `load` takes that save (the only saves a device seals into a
/// snapshot), it loads to the same entries.
pub fn journal_merge(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut doc = JOURNAL.clone();
    if mode == SNAPSHOT_CODEC_SAVE {
        let Ok(mut loaded) = load_untrusted(rest) else {
            return;
        };
        if merge_untrusted(&mut doc, &mut loaded).is_err() {
            return;
        }
    } else {
        let Ok(changes) = decode_changes(rest, &device_of(signer())) else {
            return;
        };
        if apply_untrusted(&mut doc, changes).is_err() {
            return;
        }
    }
    let entries = journal::list(&doc);
    for e in &entries {
        assert_eq!(journal::get(&doc, &e.id).as_ref(), Some(e));
    }
    // What the vault relies on when it compacts (`Space::compact` stores one `save()`, and only one
    // that `save_that_reloads` returns) and opens again (`Space::load` reads every stored chunk with
    // `load_incremental`): such a save reads back to the same entries. (Automerge 0.12 saves, after
    // some member changes, documents that `load_incremental` refuses: `save_that_reloads` returns
    // none of those, and the space keeps its chunks; `compact_tests.rs`.)
    let Some(saved) = save_that_reloads(&mut doc) else {
        return;
    };
    let mut again = AutoCommit::new();
    again
        .load_incremental(&saved)
        .expect("a save that reloads loads incrementally");
    assert_eq!(
        journal::list(&again),
        entries,
        "save and load_incremental changed the journal"
    );
    // What a snapshot relies on: a device seals a `save()` only when `load` takes it
    // (`space::saves_loadably`), and receivers `load_untrusted` it; then it must read as the
    // journal did. A `save()` that `load` refuses (finding O2: Automerge 0.12 saves, after some
    // changes, a document its own `load` refuses with `BadChecksum`) is not sealed, so no receiver
    // sees it: that is Automerge's defect, recorded by the ignored test
    // `core/tests/payload_decoding.rs::a_journal_with_a_members_changes_saves_and_loads_again`.
    if let Ok(loaded) = load_untrusted(&saved) {
        assert_eq!(
            journal::list(&loaded),
            entries,
            "a snapshot that loads changed the journal"
        );
    }
}

/// Link codes and link (join) answers (section 17): `LinkRequest::from_code`, `LinkResponse::from_code`
/// and `LinkResponse::from_bytes` (what a joining device takes from the relay), each with a round trip
/// through its encoder.
pub fn link(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(req) = LinkRequest::from_code(text) {
            let code = req.to_code().expect("a read request encodes");
            assert_eq!(LinkRequest::from_code(&code).ok().as_ref(), Some(&req));
        }
        if let Ok(resp) = LinkResponse::from_code(text) {
            let code = resp.to_code().expect("a read answer encodes");
            let back = LinkResponse::from_code(&code).expect("re-reads");
            assert_eq!(back.to_code().ok(), Some(code));
        }
    }
    if let Ok(resp) = LinkResponse::from_bytes(data) {
        let bytes = resp.to_bytes().expect("a read answer encodes");
        let back = LinkResponse::from_bytes(&bytes).expect("re-reads");
        assert_eq!(back.to_bytes().ok(), Some(bytes));
        for e in &resp.envelopes {
            crate::proto_targets::check_envelope(e);
        }
    }
}
