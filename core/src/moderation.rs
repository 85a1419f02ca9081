//! Reports and blocks (issue 18, item 2; protocol 31): a member reports a group's note, a pairing's
//! message or a member; a person blocks a member so their notes and messages are hidden on that
//! person's own devices.
//!
//! Where a report lives: in the reporter's own **care record** of the programme the group or
//! pairing is bound to (`report/<id>` root keys, rules version 11: written only by the record's
//! subject). That space is shared by the participant, the programme's coordinators and their
//! supporter, never by another participant, so a reported participant never holds it. Inside, the
//! report is sealed under a fresh key wrapped only for the coordinators' devices and the reporter's
//! own. Everyone holding the record sees that its subject wrote a report, and when: a report about
//! one of them (the supporter, a coordinator) would name the reporter to them, so it is refused
//! (`ReportSeenByReported`) until a channel they do not hold exists. A group outside a programme has
//! no coordinators: a report there is refused (`NotAllowed`). A care record takes
//! [`MAX_REPORTS_PER_DAY`] reports a day.
//!
//! The facilitator's part: a report about a plain member carries the route
//! `facilitator-and-coordinators` and the group's facilitator devices; a coordinator's device passes
//! it on into the programme's safeguarding space as `report/<pass-on id>/<its device>`, an id only
//! holders of the report's key compute, sealed for the named facilitator devices there and the
//! coordinators, never for the reported or the reporting person (`passon.rs`). A report about the
//! facilitator, a coordinator or the supporter carries `coordinators` and is never passed on.
//!
//! Blocks are the person's own data: `block/<space hex>/<device hex>` root keys of their journal
//! (synced between their own devices only, never seen by anyone else), holding in that space
//! alone. [`Vault::visible_group_notes`] and [`Vault::visible_messages`] leave a blocked member's
//! content out, but never a coordinator's, and nothing on a device that administers the space (a
//! facilitator or supporter moderates, never blocks); a care record's referrals are never filtered.
//!
//! Files: `reports.rs` (the sealed report: make, write, read), `passon.rs` (a coordinator's device
//! passing a report on to the facilitator), `blocks.rs` (block, unblock, the filtered views).

mod blocks;
mod passon;
mod reports;
#[cfg(test)]
mod review_tests;
#[cfg(test)]
mod rules_floor_tests;
#[cfg(test)]
mod tests;

pub use blocks::Block;
pub use reports::Report;

/// Why a member reports: a fixed list, shown in the person's language (`moderation.*.ftl`,
/// `report-reason-<id>`).
pub const REASONS: [&str; 6] = [
    "harassment",
    "hateful",
    "unsafe-advice",
    "private-information",
    "worried-about-them",
    "other",
];

/// What is reported.
pub const TARGETS: [&str; 3] = ["note", "message", "member"];

/// A report's route: to the facilitator and the coordinators, or (about the facilitator or the
/// supporter) to the coordinators alone.
pub const ROUTES: [&str; 2] = ["facilitator-and-coordinators", "coordinators"];

/// Longest free text a report carries, in characters.
pub const MAX_REPORT_TEXT: usize = 500;
/// How many reports (a block's notices included) one care record takes in 24 hours, counted by the
/// writer from the records' `at` (review M6); more is `TooManyReports`.
pub const MAX_REPORTS_PER_DAY: usize = 10;
/// Longest copy of the reported content a report carries, in characters (longer is cut).
pub const MAX_COPY_CHARS: usize = 2000;
