//! Reports and blocks through the bindings (`Vault.moderation()`, issue 18, item 2; protocol 31): a
//! member reports a group's note, a pairing's message or a member to the programme's coordinators
//! (and, about a plain member, the group's facilitator); the report lives sealed in the reporter's
//! care record, which the reported person never holds. A person blocks a member: their notes and
//! messages are hidden on that person's devices (`Groups.notes`, `Pairings.messages`), never a
//! coordinator's, never a referral.

use super::{ReportReason, ReportRoute, ReportTarget, Result, Shared, parse_space, with};

/// A report as a coordinator, or its reporter, sees it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct Report {
    /// The care record it lives in (hex).
    pub care_id: String,
    /// Its id (a copy passed on has its own, not the care record's).
    pub id: String,
    /// Written, ms since the Unix epoch.
    pub created_ms: i64,
    /// Whether this person wrote it.
    pub mine: bool,
    /// Who reported: the care record's participant (person id hex); shown to coordinators only,
    /// null in a copy passed on to the facilitator.
    pub reporter: Option<String>,
    /// Whether this is the copy passed on to the facilitator (in the programme's safeguarding
    /// space, `care_id` then being that space), without the reporter.
    pub passed_on: bool,
    /// The group or pairing (hex).
    pub space_id: String,
    /// What it is about.
    pub target: ReportTarget,
    /// The note's or message's id; the member's device for a member.
    pub record: String,
    /// The reported member's device (hex).
    pub about: String,
    /// Whom it is for.
    pub route: ReportRoute,
    /// The facilitator devices (hex) it is passed on to besides the coordinators (empty in a copy).
    pub facilitators: Vec<String>,
    /// Why.
    pub reason: ReportReason,
    /// The reporter's words (may be empty).
    pub text: String,
    /// A copy of the reported content as the reporter's phone held it (empty for a member).
    pub copy: String,
}

/// A member this person blocked in one space.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BlockedMember {
    /// The group or pairing the block holds in (hex).
    pub space_id: String,
    /// Their device (hex).
    pub device: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

/// Reports and blocks, handed out by `Vault.moderation()`. It holds the vault's shared state, so
/// `Vault.lock()` locks it too (`Locked`).
#[derive(uniffi::Object)]
pub struct Moderation {
    pub(crate) inner: Shared,
}

#[uniffi::export]
impl Moderation {
    /// Reports `record` of the group or pairing `space_id`: a note's id (`Note`), a message's id
    /// (`Message`) or a member's device id (`Member`), for `reason`, with optional words `text` (at
    /// most 500 characters; the reported person never reads them). Returns the report's id.
    /// Throws `InvalidInput` for an unknown reason (`Blocked` included) or target, words too long
    /// or a report about oneself; `NotFound` for a space not held here, content not in that space,
    /// no care record of the programme on this device or no coordinator in it; `NotAllowed` for a
    /// device that is no member of the space, or a space bound to no programme;
    /// `ReportSeenByReported` when the person reported holds the reporter's care record (show the
    /// coordinator's contact or the crisis lines instead); `TooManyReports` past ten a day.
    pub fn report(
        &self,
        space_id: String,
        target: ReportTarget,
        record: String,
        reason: ReportReason,
        text: String,
    ) -> Result<String> {
        let s = parse_space(&space_id)?;
        with(&self.inner, |v| {
            v.report(&s, target.id(), &record, reason.id(), &text)
        })
    }

    /// The reports this device opens, oldest first: a coordinator's every report in the care records
    /// it holds; a reporter's own; a facilitator's, those a coordinator's device passed on to it
    /// (without the reporter). Nothing on any other device. On a coordinator's device, what is due
    /// to a facilitator is passed on first (as at every sync).
    pub fn reports(&self) -> Result<Vec<Report>> {
        with(&self.inner, |v| {
            // Best effort: what cannot be passed on now goes at a later call or sync.
            let _ = v.pass_on_reports();
            Ok(v.reports()
                .into_iter()
                .map(|r| Report {
                    care_id: r.care.to_hex(),
                    id: r.id,
                    created_ms: r.created_ms,
                    mine: r.mine,
                    reporter: r.reporter.map(hex::encode),
                    passed_on: r.passed_on,
                    space_id: r.space,
                    target: ReportTarget::from_id(&r.target),
                    record: r.record,
                    about: r.about,
                    route: ReportRoute::from_id(&r.route),
                    facilitators: r.facilitators,
                    reason: ReportReason::from_id(&r.reason),
                    text: r.text,
                    copy: r.copy,
                })
                .collect())
        })
    }

    /// Blocks the member `device` of `space_id`: their notes and messages in that space (and no
    /// other) are hidden on this person's devices; the facilitator is told (without the blocker's
    /// name) where the space is a group bound to a programme. Throws `InvalidInput` for oneself or
    /// a malformed id, `NotFound` for a device that never was a member there, `NotAllowed` for a
    /// coordinator (never hidden) or when this device is an admin of the space (a facilitator or
    /// supporter moderates there: a participant's messages always reach them).
    pub fn block(&self, space_id: String, device: String) -> Result<()> {
        let s = parse_space(&space_id)?;
        with(&self.inner, |v| v.block_member(&s, &device))
    }

    /// Unblocks `device` in `space_id`; nothing happens when it was not blocked there.
    pub fn unblock(&self, space_id: String, device: String) -> Result<()> {
        let s = parse_space(&space_id)?;
        with(&self.inner, |v| v.unblock_member(&s, &device))
    }

    /// The members this person blocked.
    pub fn blocked(&self) -> Result<Vec<BlockedMember>> {
        with(&self.inner, |v| {
            Ok(v.blocked_members()
                .into_iter()
                .map(|b| BlockedMember {
                    space_id: b.space,
                    device: b.device,
                    at_ms: b.at_ms,
                })
                .collect())
        })
    }
}
