//! The membership log of a shared space: who may read and write it, decided by signed statements.
//!
//! A space's membership is a hash-linked DAG of statements (genesis, add, remove, set role), each signed
//! by an admin device and naming the statements it follows as its parents. Every device and the relay
//! verify the log themselves and compute the same [`MembershipState`] from the same *set* of
//! statements, whatever order they arrived in, so an old statement or an old access list replayed by
//! anyone changes nothing. Statements travel in envelopes of kind [`Kind::Membership`](crate::envelope::Kind::Membership), signed and not
//! sealed, so the relay can read them and refuse a device that is not a member.
//!
//! The rule for concurrent statements is *revocation wins*: a removal (or demotion) beats a concurrent
//! add (or promotion) of the same device, and it cancels whatever the revoked admin signed concurrently
//! with it, so a removed admin cannot act by naming old parents. Two admins who revoke each other
//! concurrently both lose their role. Normative text: `docs/protocol.md`, section 15.
//!
//! Pure computation, no I/O; safe to use from any thread.

/// Domain label of statement signatures, so that no envelope or request signature can ever be taken
/// for a membership statement, nor the reverse.
pub const MEMBERSHIP_SIGNATURE_LABEL: &[u8] = b"sebaya/v1/membership";
/// The statement format this build writes and reads.
pub const STATEMENT_VERSION: u8 = 1;
/// Largest encoded statement (checked before decoding), so a statement never costs a reader much.
pub const MAX_STATEMENT_LEN: usize = 4096;
/// Most parents one statement may name. A writer names the current heads; more than this means a
/// broken or hostile writer.
pub const MAX_PARENTS: usize = 64;
/// Length of an Ed25519 signature, the fixed tail of a signed statement's bytes.
pub const SIGNATURE_LEN: usize = 64;
/// Most statements (applied and pending) one log holds. Bounds memory (each statement keeps bit sets of
/// its ancestors and descendants: about 1 KiB each at this bound, 4 MiB for a full log) and the work of
/// one evaluation, which is near-linear in the log's size except for attacks between concurrent
/// revocations, which only a hostile log has (`docs/threat-model.md`, issue 15, item 1). A support
/// group of 50 writes about 250 statements, a programme's report space about 300 a year.
pub const MAX_STATEMENTS: usize = 4096;
/// Most member devices one person may have in a space by vouching them in itself: a member may add its
/// own devices (a phone, a tablet, their replacements), but not thousands of them, which would make
/// the space's version vector too large for every member to sync (issue 15, item 3). A vouch beyond
/// this does not count. An admin's adds are not bounded by it.
pub const MAX_DEVICES_PER_PERSON: usize = 16;
/// Most new statements of one space that one step of an exchange takes on: the relay judges at most
/// this many per space per sync request (the rest are refused, `too-many-statements`) and serves at
/// most this many per space per page; a device judges at most this many per space per
/// `Space::receive` call (the rest wait for the next). A statement that does not follow the log's
/// heads costs an evaluation of the whole log (at most about 20 ms at 3,000 statements in the worst
/// shape measured, under 5 ms in the others), so one space's flood holds that space's gate for well
/// under a second and leaves the request's other spaces alone.
pub const MAX_NEW_STATEMENTS_PER_SPACE: usize = 16;
/// Most new statements one sync request has judged across all its spaces: a request naming many
/// spaces whose logs are full cannot cost the relay much either. The rest are refused,
/// `too-many-statements`.
pub const MAX_NEW_STATEMENTS_PER_REQUEST: usize = 32;
/// Most statements one log keeps waiting for missing parents, so statements whose parents never come
/// cannot fill memory.
pub const MAX_PENDING: usize = 1024;

#[cfg(test)]
mod cost_tests;
#[cfg(test)]
mod end_tests;
mod evaluate;
#[cfg(test)]
mod leave_tests;
mod log;
#[cfg(test)]
mod paths_tests;
#[cfg(any(test, feature = "test-shapes"))]
pub mod shapes;
mod signed;
mod state;
mod statement;

pub use log::{Inserted, Judged, MembershipLog, Status};
pub use signed::SignedStatement;
pub use state::{EpochInfo, InviteInfo, InviteStatus, MembershipState};
pub use statement::{Op, Role, SUCCESSION_LABEL, Statement, StatementId, succession_message};
