//! Machine-readable reasons in [`crate::sync::SyncResponse::rejected`], [`crate::sync::SyncResponse::refused_spaces`],
//! [`crate::sync::SyncResponse::refused_join_requests`] and [`crate::sync::SyncResponse::refused_join_answers`].
//!
//! They are protocol, not relay policy: the relay writes them and a device reads them (docs/protocol.md,
//! section 9), so they live with the wire format.

/// The bytes are not a well-formed envelope (bad frame, bad lengths, sequence number out of range),
/// or a membership envelope does not carry a well-formed statement of its author and space. For a
/// join request or answer: an id of the wrong length (space and invite 16 bytes, device 32), or an
/// empty body.
pub const MALFORMED: &str = "malformed";
/// The envelope's format version is not 1.
pub const UNSUPPORTED_VERSION: &str = "unsupported-version";
/// The author's signature (of the envelope, or of the statement it carries) does not verify.
pub const BAD_SIGNATURE: &str = "bad-signature";
/// The envelope's space is not among the request's `spaces`.
pub const NOT_REQUESTED_SPACE: &str = "not-requested-space";
/// A different envelope with the same (space, author, seq) is already stored; the first one stays.
/// Also: a genesis for a space whose genesis the relay already holds (the first one stays).
pub const CONFLICT: &str = "conflict";
/// The relay holds no genesis for the space, so the space does not exist for it: only a genesis
/// statement is accepted there, and nothing of it can be pulled or left for its invites.
pub const UNKNOWN_SPACE: &str = "unknown-space";
/// Push: the author may not write this sequence number in the space (not a member, or removed
/// before it). Pull: the requesting device is not a current member.
pub const NOT_A_MEMBER: &str = "not-a-member";
/// The space was erased at an admin's request: nothing of it is taken or served any more.
pub const ERASED: &str = "erased";
/// A membership statement names a parent the relay does not hold. Nothing is kept: push the parents
/// (in the same request or before), then the statement again.
pub const MISSING_PARENTS: &str = "missing-parents";
/// A membership statement whose author was not an admin in the state of its own past. For a join
/// answer: the sender is not the invite's author, or the space's log does not show the invite
/// spent on the device the answer is addressed to (push the `Admit` first, or in the same request).
pub const NOT_AUTHORISED: &str = "not-authorised";
/// The space's membership log holds `MAX_STATEMENTS` (4096) statements and takes no more.
pub const LOG_FULL: &str = "log-full";
/// The space's vector, the requester's or the responder's, lists more than `MAX_AUTHORS` (4096)
/// authors: the space alone is refused, so one space grown too large cannot stop the exchange of
/// the others (issue 15, item 3). Honest spaces never reach it: a log holds at most `MAX_STATEMENTS`
/// statements, so it names at most that many devices.
pub const TOO_MANY_AUTHORS: &str = "too-many-authors";
/// Storing the envelope would pass a bound of the relay's: the bytes or envelopes its author may
/// have stored, those its space may hold, or the bytes the relay holds in all (issue 15, item 2).
/// Nothing of it is kept; it may pass later, once pruning or erasure makes room or the operator
/// raises the bound. Membership envelopes are never refused for this.
pub const QUOTA_EXCEEDED: &str = "quota-exceeded";
/// The relay admits by credential (issue 15, item 2) and the envelope's space was not founded by an
/// admitted device, or the envelope is a genesis by a device not admitted; or, at a relay open to
/// all, the bytes held in spaces no programme admitted are at their bound. A device that holds a
/// credential of a programme the relay lists presents it (`admission`, protocol 9.8) and pushes
/// again; nothing of the refused envelope is kept.
pub const NOT_ADMITTED: &str = "not-admitted";
/// The request carries more new membership statements than the relay judges in one request:
/// `MAX_NEW_STATEMENTS_PER_SPACE` (16) of one space, `MAX_NEW_STATEMENTS_PER_REQUEST` (32) in
/// all. The statements beyond were not judged and nothing of them is kept: push them again in a
/// later request.
pub const TOO_MANY_STATEMENTS: &str = "too-many-statements";
/// A join request's body is over `MAX_JOIN_REQUEST_LEN` bytes, or a join answer's over
/// `MAX_JOIN_ANSWER_LEN`.
pub const TOO_LARGE: &str = "too-large";
/// The space's log opens no invite with this id (not yet: the `Invite` statement may still be on
/// its way from the admin's device; or never).
pub const UNKNOWN_INVITE: &str = "unknown-invite";
/// The invite already admitted a device; it admits nobody else.
pub const INVITE_SPENT: &str = "invite-spent";
/// An admin revoked the invite.
pub const INVITE_REVOKED: &str = "invite-revoked";
/// The relay's clock is past the invite's expiry.
pub const INVITE_EXPIRED: &str = "invite-expired";
/// The invite holds `MAX_JOIN_REQUESTS_PER_INVITE` requests already, or the addressed device holds
/// `MAX_JOIN_ANSWERS_PER_DEVICE` answers (or `MAX_JOIN_ANSWER_BYTES_PER_DEVICE` bytes of them).
/// Passing: the mailbox empties as its device takes its answers (or they age out), so an admin's
/// device keeps a join answer refused for this and sends it again at its next sync.
pub const MAILBOX_FULL: &str = "mailbox-full";
/// A join answer for a device that never left a join request under the answer's invite at this
/// relay (or whose one request there was answered already: an answer kept earlier was taken, or
/// aged out). Final: nobody is waiting for it, so the admin's device drops it. What stops anyone
/// who founds a space of its own, opens invites there and admits another device's id from filling
/// that device's mailbox (docs/protocol.md, section 18.3).
pub const NOT_REQUESTED: &str = "not-requested";
