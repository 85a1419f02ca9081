//! Peer sessions run in memory for scenarios and benchmarks: frames handed across directly, with no
//! transport in between.
#![allow(clippy::expect_used, clippy::panic)]

use sebaya_core::sync::peer::{PeerReport, PeerSession};
use sebaya_core::{Error, Vault};

/// Runs two sessions to their end, frames delivered in both directions; each side's first error
/// (after which that side takes no more frames).
pub fn run(
    a: &mut Vault,
    sa: &mut PeerSession,
    b: &mut Vault,
    sb: &mut PeerSession,
) -> (Option<Error>, Option<Error>) {
    let (mut ea, mut eb) = (None, None);
    for _ in 0..200 {
        let fa = sa.take_outgoing();
        let fb = sb.take_outgoing();
        if fa.is_empty() && fb.is_empty() {
            break;
        }
        for f in fa {
            if eb.is_none() {
                eb = sb.receive(b, &f).err();
            }
        }
        for f in fb {
            if ea.is_none() {
                ea = sa.receive(a, &f).err();
            }
        }
    }
    (ea, eb)
}

/// A session `a` opens with `b`, run to its end; panics (these are test helpers) unless both sides
/// finish without an error. Returns both sessions, for their reports.
pub fn session(a: &mut Vault, b: &mut Vault) -> (PeerSession, PeerSession) {
    let mut sa = a.peer_session(true).expect("a session");
    let mut sb = b.peer_session(false).expect("a session");
    let (ea, eb) = run(a, &mut sa, b, &mut sb);
    assert!(ea.is_none() && eb.is_none(), "{ea:?} {eb:?}");
    assert!(sa.is_finished() && sb.is_finished());
    (sa, sb)
}

/// The initiator's report of [`session`].
pub fn report(a: &mut Vault, b: &mut Vault) -> PeerReport {
    session(a, b).0.report().clone()
}
