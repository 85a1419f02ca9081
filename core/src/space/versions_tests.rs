//! Issue 15, item 6: a space seals envelope version 2 only once every current member device has
//! announced it can open it (docs/protocol.md 12.1); a member that has not (older software never
//! does) keeps or brings the space back to version 1, and v1 envelopes keep opening.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};

use sebaya_proto::envelope::{FORMAT_V1, FORMAT_V2};
use sebaya_proto::{Envelope, Kind, ProtoError};

use super::rules::tests::{Device, device, group, joined};
use super::{CODEC_BUNDLE, Space};
use crate::groups;

/// A note by `d` in its copy of the group, sealed; returns the versions of the `changes`
/// envelopes that seal sealed and the bytes of all it has not seen acknowledged.
fn write_and_seal(d: &Device, s: &mut Space) -> (Vec<u8>, Vec<Vec<u8>>) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let me = d.id.device.to_hex();
    groups::add_note(&mut s.doc, &format!("{n:016x}"), "", "catatan", &me, 2).unwrap();
    let before = s.next_seq();
    assert!(s.seal_outgoing(&d.store, &d.id, CODEC_BUNDLE).unwrap() >= 1);
    let all = s.unacked(&d.store).unwrap();
    let versions = all
        .iter()
        .map(|b| Envelope::parse(b).unwrap())
        .filter(|e| {
            let h = e.header().unwrap();
            e.kind() == Kind::Changes && h.author == d.id.device && h.seq >= before
        })
        .map(|e| e.version())
        .collect();
    (versions, all)
}

/// `to` takes everything `from` holds unacknowledged; nothing of it may be refused or set aside.
fn deliver(all: &[Vec<u8>], d: &Device, s: &mut Space) {
    let r = s.receive(&d.store, &d.id, all).unwrap();
    assert_eq!((r.refused, r.quarantined), (0, 0), "{r:?}");
}

#[test]
fn a_space_seals_v2_only_while_every_member_device_has_announced_it() {
    let f = device(1);
    let m = device(2);
    let n = device(3);
    let mut fs = group(&f);
    let mut ms = joined(&f, &mut fs, &m, None);

    // m has announced nothing yet: f seals v1 (and announces itself in that envelope).
    let (v, all) = write_and_seal(&f, &mut fs);
    assert_eq!(v, vec![FORMAT_V1]);
    assert_eq!(fs.sealing_version(), FORMAT_V1);
    deliver(&all, &m, &mut ms);
    assert_eq!(
        ms.announced_versions(&f.id.device),
        Some(vec![FORMAT_V1, FORMAT_V2])
    );
    assert_eq!(fs.announced_versions(&m.id.device), None);

    // m announces in its first envelope; it has seen f's, so that envelope is already v2.
    let (v, m_all) = write_and_seal(&m, &mut ms);
    assert_eq!(v, vec![FORMAT_V2]);
    // f opens it, and from then on seals v2 too.
    deliver(&m_all, &f, &mut fs);
    assert_eq!(fs.sealing_version(), FORMAT_V2);
    let (v, all) = write_and_seal(&f, &mut fs);
    assert_eq!(v, vec![FORMAT_V2]);
    deliver(&all, &m, &mut ms);
    assert_eq!(groups::notes(&ms.doc).len(), 3);

    // A device added later that has not announced brings the space back to v1.
    let mut ns = joined(&f, &mut fs, &n, None);
    assert_eq!(fs.sealing_version(), FORMAT_V1);
    let (v, all) = write_and_seal(&f, &mut fs);
    assert_eq!(v, vec![FORMAT_V1]);
    deliver(&all, &m, &mut ms);
    // The newcomer gets v1 from now on, and once it announces, v2 again.
    let (_, n_all) = write_and_seal(&n, &mut ns);
    deliver(&n_all, &f, &mut fs);
    assert_eq!(fs.sealing_version(), FORMAT_V2);
    // Every envelope m holds, v1 from before the switch and v2 after, opened and applied.
    assert_eq!(groups::notes(&ms.doc).len(), 4);
}

/// A member whose latest announcement drops v2 (software put back to an older release that
/// announces, or a device that can no longer open it) brings the space back to v1 as well.
#[test]
fn a_later_announcement_without_v2_brings_the_space_back_to_v1() {
    let f = device(1);
    let m = device(2);
    let mut fs = group(&f);
    let mut ms = joined(&f, &mut fs, &m, None);
    let (_, all) = write_and_seal(&f, &mut fs);
    deliver(&all, &m, &mut ms);
    let (_, m_all) = write_and_seal(&m, &mut ms);
    deliver(&m_all, &f, &mut fs);
    assert_eq!(fs.sealing_version(), FORMAT_V2);
    ms.announced.opens = &[FORMAT_V1];
    let (v, m_all) = write_and_seal(&m, &mut ms);
    // Its own envelope is v1 already: it announces before it seals.
    assert_eq!(v, vec![FORMAT_V1]);
    deliver(&m_all, &f, &mut fs);
    assert_eq!(fs.announced_versions(&m.id.device), Some(vec![FORMAT_V1]));
    assert_eq!(fs.sealing_version(), FORMAT_V1);
}

/// A v2 envelope altered after sealing is refused on receipt, and `open` says why with its typed
/// error: a changed byte breaks the signature; a ciphertext re-signed by its author (who holds the
/// key) fails decryption.
#[test]
fn an_altered_v2_envelope_is_refused_with_a_typed_error() {
    let f = device(1);
    let m = device(2);
    let mut fs = group(&f);
    let mut ms = joined(&f, &mut fs, &m, None);
    let (_, all) = write_and_seal(&f, &mut fs);
    deliver(&all, &m, &mut ms);
    let (v, m_all) = write_and_seal(&m, &mut ms);
    assert_eq!(v, vec![FORMAT_V2]);
    let v2 = m_all
        .iter()
        .find(|b| Envelope::parse(b).unwrap().version() == FORMAT_V2)
        .unwrap()
        .clone();
    let mut bad = v2.clone();
    let at = bad.len() - 80; // inside the ciphertext and tag
    bad[at] ^= 1;
    let env = Envelope::parse(&bad).unwrap();
    assert_eq!(env.open(ms.key()), Err(ProtoError::BadSignature));
    let r = fs.receive(&f.store, &f.id, &[bad]).unwrap();
    assert_eq!(r.refused, 1);
    // The author re-signs an altered ciphertext: the signature holds, the AEAD does not.
    let env = Envelope::parse(&v2).unwrap();
    let key = m.id.signing_key().unwrap();
    let mut body = v2[..v2.len() - 64].to_vec();
    body[130] ^= 1;
    let mut msg = b"sebaya/v2/envelope".to_vec();
    msg.extend_from_slice(&body);
    body.extend_from_slice(key.sign(&msg).as_ref());
    let resigned = Envelope::parse(&body).unwrap();
    resigned.verify().unwrap();
    assert_eq!(resigned.open(ms.key()), Err(ProtoError::DecryptFailed));
    assert_eq!(env.open(ms.key()).map(|p| p.is_empty()), Ok(false));
}
