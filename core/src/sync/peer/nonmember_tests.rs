//! Issue 15, defect 4, in a peer session: a peer's own chunk envelopes get the judgment carried
//! ones get. A device that holds strangers' envelopes (filled directly here, as a device built
//! before holding apart could be) sends them as its own; the receiving device holds them apart,
//! bounded, out of its vector, and the session still ends well.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ring::signature::{Ed25519KeyPair, KeyPair};

use super::*;
use crate::space::MAX_HELD_APART;
use sebaya_proto::HeaderV1;

/// Runs two sessions until neither has anything to send; returns each side's first error.
fn drive(
    x: &mut Vault,
    sx: &mut PeerSession,
    y: &mut Vault,
    sy: &mut PeerSession,
) -> (Option<Error>, Option<Error>) {
    let (mut ex, mut ey) = (None, None);
    for _ in 0..400 {
        let fx = sx.take_outgoing();
        let fy = sy.take_outgoing();
        if fx.is_empty() && fy.is_empty() {
            break;
        }
        for f in fx {
            if ey.is_none()
                && let Err(e) = sy.receive(y, &f)
            {
                ey = Some(e);
            }
        }
        for f in fy {
            if ex.is_none()
                && let Err(e) = sx.receive(x, &f)
            {
                ex = Some(e);
            }
        }
    }
    (ex, ey)
}

/// `n` envelopes of `space`, each signed by a fresh key that no log names.
pub(crate) fn strangers(space: SpaceId, n: u32, salt: u8) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut seed = [salt; 32];
            seed[..4].copy_from_slice(&i.to_be_bytes());
            let key = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
            let header = HeaderV1 {
                kind: Kind::Changes,
                space,
                epoch: sebaya_proto::EpochId([7; 32]),
                author: DeviceId::from_slice(key.public_key().as_ref()).unwrap(),
                seq: 1,
            };
            Envelope::seal_v1(header, &[9; 32], [0; 4], b"bukan anggota", &key)
                .unwrap()
                .into_bytes()
        })
        .collect()
}

#[test]
fn a_peers_own_chunk_envelopes_from_non_members_are_held_apart_like_carried_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Vault::open(&dir.path().join("phone.db"), &[1; 32]).unwrap();
    phone.create_person().unwrap();
    phone.journal_add("Dari ponsel.", 4, &[]).unwrap();
    let mut tablet = Vault::open(&dir.path().join("tablet.db"), &[2; 32]).unwrap();
    let resp = phone.approve_link(&tablet.link_request().unwrap()).unwrap();
    tablet.complete_link(&resp).unwrap();
    tablet.journal_add("Dari tablet.", 3, &[]).unwrap();
    let journal = phone.journal_space().unwrap();
    let n = 600u32;
    {
        let store = &tablet.store;
        let j = tablet.journal.as_mut().unwrap();
        for e in strangers(journal, n, 0x51) {
            j.store_unjudged(store, &e).unwrap();
        }
    }
    let before = phone.vector_authors(&journal).unwrap();

    let mut st = tablet.peer_session(true).unwrap();
    let mut sp = phone.peer_session(false).unwrap();
    let (et, ep) = drive(&mut tablet, &mut st, &mut phone, &mut sp);
    assert!(et.is_none() && ep.is_none(), "{et:?} {ep:?}");
    assert!(st.is_finished() && sp.is_finished());
    let r = sp.report().clone();
    // The tablet's genuine envelope is stored and applied; none of the strangers' is.
    assert!(r.received >= n, "{r:?}");
    assert!(r.stored >= 1 && r.stored < 10, "{r:?}");
    assert!(
        phone
            .journal_list()
            .iter()
            .any(|e| e.text == "Dari tablet.")
    );
    // The phone's vector names the tablet now, and no stranger.
    assert_eq!(phone.vector_authors(&journal).unwrap(), before + 1);
    let (envs, _) = phone.held_apart_counts().unwrap();
    assert!(envs <= MAX_HELD_APART, "{envs}");
    // Nothing of theirs waits to apply either.
    let (waiting, _, _) = phone.envelope_counts().unwrap();
    assert_eq!(waiting, 0);
}
