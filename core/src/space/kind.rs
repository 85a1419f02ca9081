//! What a space is for ([`SpaceKind`]) and the byte that names it in records and link responses.
//!
//! Its own file because both the space and the rules that judge its changes need it, and the rules
//! must not depend on the space's machinery to know which table applies.

use crate::error::{Error, Result};

/// What a space is for. Stored in the encrypted record only; the relay never learns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceKind {
    /// A person's private journal, shared only among their own devices.
    Journal,
    /// A support group: notebook, agenda, actions, coping ideas and sessions with attendance.
    Group,
    /// A one-to-one accompaniment between a participant and a peer supporter.
    Pairing,
    /// A supporter's case notes, shared with their supervisor only.
    CaseNotes,
    /// A person's index: the spaces they belong to and their keys, found again from the recovery
    /// phrase (`space/index.rs`).
    Index,
    /// A participant's care record in a programme (`care.rs`): consents, referrals and their states,
    /// shared by the participant and the programme's coordinators (and their supporter).
    Care,
    /// A programme's report space (`reports.rs`): counts and consented outcome totals published by
    /// devices, read by coordinators. Never content.
    Report,
    /// A programme's safeguarding space (`care/concerns.rs`): supporters' safeguarding concerns about
    /// minors, sealed for the programme's coordinators, with the coordinators' states. Coordinators
    /// and supporters belong to it, never a participant's device.
    Safeguarding,
}

impl SpaceKind {
    /// The byte that names the kind in link responses and records.
    pub fn to_byte(self) -> u8 {
        match self {
            SpaceKind::Journal => 1,
            SpaceKind::Group => 2,
            SpaceKind::Pairing => 3,
            SpaceKind::CaseNotes => 4,
            SpaceKind::Index => 5,
            SpaceKind::Care => 6,
            SpaceKind::Report => 7,
            SpaceKind::Safeguarding => 8,
        }
    }
    /// Reads a kind byte.
    pub fn from_byte(b: u8) -> Result<Self> {
        match b {
            1 => Ok(SpaceKind::Journal),
            2 => Ok(SpaceKind::Group),
            3 => Ok(SpaceKind::Pairing),
            4 => Ok(SpaceKind::CaseNotes),
            5 => Ok(SpaceKind::Index),
            6 => Ok(SpaceKind::Care),
            7 => Ok(SpaceKind::Report),
            8 => Ok(SpaceKind::Safeguarding),
            _ => Err(Error::Corrupt("space kind")),
        }
    }
}
