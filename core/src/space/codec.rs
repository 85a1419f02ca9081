//! The payload codecs of `changes` envelopes: how one author's Automerge changes become an envelope's
//! plaintext and back, with the inflation bound checked while decoding (protocol section 13) and
//! what the Automerge columns declare bounded before Automerge reads them (`bounds`).

use std::io::Read;

use automerge::{AutoCommit, Change, ChangeHash};

use sebaya_proto::DeviceId;

use super::actor_device;
use crate::error::{Error, Result};

/// Payload codec: an Automerge bundle (columnar, compressed by Automerge).
pub const CODEC_BUNDLE: u8 = 1;
/// Payload codec: raw DEFLATE of concatenated uncompressed Automerge change chunks.
pub const CODEC_DEFLATE_CHANGES: u8 = 2;
/// Largest decompressed payload accepted (checked while inflating, never after).
pub const MAX_INFLATED_LEN: usize = 16 * 1024 * 1024;
/// Encodes a batch of one author's changes as an envelope payload: codec byte, then data.
pub fn encode_changes(doc: &AutoCommit, changes: &[Change], codec: u8) -> Result<Vec<u8>> {
    let mut out = vec![codec];
    match codec {
        CODEC_BUNDLE => {
            let hashes: Vec<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
            let bundle = doc.bundle(hashes)?;
            out.extend_from_slice(bundle.bytes());
        }
        CODEC_DEFLATE_CHANGES => {
            let mut enc = flate2::write::DeflateEncoder::new(out, flate2::Compression::best());
            for c in changes {
                std::io::Write::write_all(&mut enc, c.raw_bytes())
                    .map_err(|_| Error::Internal("deflate"))?;
            }
            out = enc.finish().map_err(|_| Error::Internal("deflate"))?;
        }
        _ => return Err(Error::InvalidInput("unknown payload codec".into())),
    }
    Ok(out)
}

const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_TYPE_CHANGE: u8 = 1;

/// Splits concatenated uncompressed change chunks. Refuses compressed chunks, so every byte Automerge
/// parses was inflated by us under our bound.
fn split_change_chunks(mut data: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.len() < 9 || data[..4] != CHUNK_MAGIC {
            return Err(Error::Content("not an Automerge change chunk"));
        }
        if data[8] != CHUNK_TYPE_CHANGE {
            return Err(Error::Content("compressed or foreign chunk in payload"));
        }
        let mut len: u64 = 0;
        let mut shift = 0;
        let mut i = 9;
        loop {
            let b = *data
                .get(i)
                .ok_or(Error::Content("truncated chunk length"))?;
            if shift > 56 {
                return Err(Error::Content("chunk length overflows"));
            }
            len |= u64::from(b & 0x7f) << shift;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let end = i
            .checked_add(
                usize::try_from(len).map_err(|_| Error::Content("chunk length overflows"))?,
            )
            .ok_or(Error::Content("chunk length overflows"))?;
        if end > data.len() {
            return Err(Error::Content("truncated change chunk"));
        }
        out.push(&data[..end]);
        data = &data[end..];
    }
    Ok(out)
}

/// Runs Automerge's parsing of bytes a member sent, refusing (as `what`) a panic inside it like any
/// other invalid input. Automerge 0.12 panics on some malformed input instead of returning an error
/// (its column decoder unwraps reads: found by fuzzing, `fuzz/corpus/changes/crash-6c2c719b…`), and
/// a payload that panics would stay waiting and fail every later apply of its space. Needs
/// `panic = "unwind"`, which every profile keeps (the FFI needs it too). The closure only reads the
/// payload and builds new values, so nothing is left half-changed by an unwind.
fn refuse_panics<T>(what: &'static str, parse: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse))
        .unwrap_or(Err(Error::Content(what)))
}

/// Applies a member's changes to `doc` all or nothing: on a copy, which replaces `doc` only when
/// Automerge applied every change without an error or a panic. Automerge 0.12 panics on some changes
/// that decode (a change writing into an object no change made; op columns that fail only when
/// applied: found by fuzzing, `fuzz/corpus/changes/crash-614e70b3…`,
/// `fuzz/corpus/journal_merge/crash-a67c6fdd…`), and both an error and a panic may come after part
/// of the batch went in; the copy keeps `doc` as it was, so the caller can quarantine the culprit.
/// Public (hidden) for the fuzz harness, which must apply changes the way the device does.
pub fn apply_untrusted(doc: &mut AutoCommit, changes: Vec<Change>) -> Result<()> {
    let mut trial = doc.clone();
    apply_in_place(&mut trial, changes)?;
    *doc = trial;
    Ok(())
}

/// Applies `changes` to `doc`, then reads each one that went in back by its hash, all under
/// [`refuse_panics`]. Automerge 0.12 rebuilds a change from the document to read it back, and for
/// some changes it applied without an error that rebuilding panics (found by fuzzing,
/// `fuzz/corpus/changes/crash-820ed036…`); `Space::apply_pending` and every reader of the history
/// read applied changes back by hash outside any `catch_unwind`, so such a change must not stay.
/// A change still waiting for its dependencies is read back when they arrive, in that later batch.
fn apply_and_read_back(doc: &mut AutoCommit, changes: Vec<Change>) -> Result<()> {
    let hashes: Vec<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
    refuse_panics("changes Automerge cannot apply", || {
        doc.apply_changes(changes)
            .map_err(|_| Error::Content("changes Automerge cannot apply"))?;
        for h in &hashes {
            let _ = doc.get_change_by_hash(h);
        }
        Ok(())
    })
}

/// Applies a member's changes to `doc` in place, refusing a panic inside Automerge like an error.
/// On `Err` the document may hold part of the batch (or be left inconsistent by the unwind): the
/// caller must put back a copy taken before, as `Space::apply_pending` does with its checkpoint.
/// Costs no copy: for a batch of envelopes applied one by one, one copy before the first serves all.
pub(crate) fn apply_in_place(doc: &mut AutoCommit, changes: Vec<Change>) -> Result<()> {
    apply_and_read_back(doc, changes)
}

/// Loads a member's document (a snapshot's `save()`), refusing a panic inside Automerge as
/// [`refuse_panics`] does, and a document whose columns declare more than its size allows
/// (`bounds::check_saved`).
pub fn load_untrusted(data: &[u8]) -> Result<AutoCommit> {
    refuse_panics("snapshot does not load", || {
        // What its columns declare, bounded before Automerge expands it (as a changes payload's).
        super::bounds::check_saved(data)?;
        AutoCommit::load(data).map_err(|_| Error::Content("snapshot does not load"))
    })
}

/// The document's `save()` when it reads back whole with `load_incremental` (how `Space::load` opens
/// stored chunks: the same heads), else `None`. Automerge 0.12 saves, after some changes a member can
/// send, a document that `load_incremental` refuses (`MissingOps`: found by fuzzing,
/// `fuzz/corpus/journal_merge/crash-05e9e78d…`); compacting into it would leave a space the vault
/// cannot open, so a space compacts only into a save this returns. Public (hidden) for the fuzz
/// harness, which checks what the vault relies on.
pub fn save_that_reloads(doc: &mut AutoCommit) -> Option<Vec<u8>> {
    let saved = doc.save();
    let mut again = AutoCommit::new();
    refuse_panics("save does not load", || {
        again
            .load_incremental(&saved)
            .map(|_| ())
            .map_err(|_| Error::Content("save does not load"))
    })
    .ok()?;
    let (mut heads, mut back) = (doc.get_heads(), again.get_heads());
    crate::order::sort(&mut heads);
    crate::order::sort(&mut back);
    (heads == back).then_some(saved)
}

/// Merges a member's document (a snapshot's) into `doc`, all or nothing, as [`apply_untrusted`].
pub fn merge_untrusted(doc: &mut AutoCommit, other: &mut AutoCommit) -> Result<()> {
    let mut trial = doc.clone();
    refuse_panics("snapshot does not merge", || {
        trial
            .merge(other)
            .map(|_| ())
            .map_err(|_| Error::Content("snapshot does not merge"))
    })?;
    *doc = trial;
    Ok(())
}

/// Decodes an envelope payload into changes, refusing any change whose actor is not one of the
/// author's (its device id, or a later generation of it: protocol 8.1).
pub fn decode_changes(payload: &[u8], author: &DeviceId) -> Result<Vec<Change>> {
    let by_author = |actor: &automerge::ActorId| actor_device(actor).as_ref() == Some(author);
    let (&codec, data) = payload
        .split_first()
        .ok_or(Error::Content("empty payload"))?;
    let changes = match codec {
        CODEC_BUNDLE => refuse_panics("invalid bundle", || {
            // What the bundle's columns declare, bounded before Automerge expands it (finding O1).
            super::bounds::check_bundle(data)?;
            let bundle =
                automerge::Bundle::try_from(data).map_err(|_| Error::Content("invalid bundle"))?;
            let actors = bundle.actors();
            for c in bundle.iter_changes() {
                if !actors.get(c.actor).is_some_and(by_author) {
                    return Err(Error::Content("change authored by another actor"));
                }
            }
            let changes = bundle
                .to_changes()
                .map_err(|_| Error::Content("invalid bundle"))?;
            // Automerge's bundle reader is laxer than its change reader (it takes key strings that
            // are not UTF-8: found by fuzzing, `fuzz/corpus/changes/crash-96225b34…`), so a bundle
            // can unbundle into changes nobody can read back from their bytes. Such a change never
            // enters a document: each must read back as itself.
            for c in &changes {
                match Change::try_from(c.raw_bytes()) {
                    Ok(back) if back.hash() == c.hash() => {}
                    _ => return Err(Error::Content("bundle of unreadable changes")),
                }
            }
            Ok(changes)
        })?,
        CODEC_DEFLATE_CHANGES => {
            let mut inflated = Vec::new();
            flate2::read::DeflateDecoder::new(data)
                .take(MAX_INFLATED_LEN as u64 + 1)
                .read_to_end(&mut inflated)
                .map_err(|_| Error::Content("invalid deflate stream"))?;
            if inflated.len() > MAX_INFLATED_LEN {
                return Err(Error::Content("payload inflates past its limit"));
            }
            let chunks = split_change_chunks(&inflated)?;
            super::bounds::check_change_chunks(&chunks, inflated.len())?;
            refuse_panics("invalid change", || {
                chunks
                    .into_iter()
                    .map(|c| Change::try_from(c).map_err(|_| Error::Content("invalid change")))
                    .collect::<Result<Vec<_>>>()
            })?
        }
        _ => return Err(Error::Content("unknown payload codec")),
    };
    if changes.iter().any(|c| !by_author(c.actor_id())) {
        return Err(Error::Content("change authored by another actor"));
    }
    Ok(changes)
}
