//! Who is in case notes, as the membership cap sees them (issue 14, item 12): the supporter, one
//! supervisor who is a coordinator of the programme, a handed-over successor, and anyone beyond
//! that, so the app can show the supporter and the supervisor who should not be there and offer to
//! remove them. The verdict itself is the rules' (`space/rules/casenotes.rs`), reached the same way
//! on every device.

use sebaya_proto::{DeviceId, PersonId};

use crate::care::programmes::now_secs;
use crate::error::{Error, Result};
use crate::space::SpaceKind;
use crate::space::rules::{programme_of, registry_of};
use crate::{SpaceId, Vault};

pub use crate::space::rules::casenotes::CaseNotesStanding;

/// One current member of case notes and where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseNotesMember {
    /// The member device.
    pub device: DeviceId,
    /// The person the membership log names for it, if any.
    pub person: Option<PersonId>,
    /// Supporter, supervisor, successor, or refused (beyond the cap).
    pub standing: CaseNotesStanding,
}

impl Vault {
    /// Every current member of the case notes `space`, by device id, with its standing now. Case
    /// notes made before the cap existed are kept as they are; a member they hold beyond it shows
    /// here as `Refused`, what it writes is refused on receipt, and this device writes nothing new
    /// there until it is removed (`CaseNotesFull`). `InvalidInput` for a space that is not case
    /// notes.
    pub fn case_notes_members(&self, space: &SpaceId) -> Result<Vec<CaseNotesMember>> {
        let s = self.held_ref(space)?;
        if s.kind != SpaceKind::CaseNotes {
            return Err(Error::InvalidInput("the space is not case notes".into()));
        }
        let registry = programme_of(&s.doc).map(|p| registry_of(&s.doc, p));
        let state = s.membership();
        let standings = crate::space::rules::casenotes::standings(
            state,
            s.creator(),
            registry.as_ref(),
            now_secs(),
        );
        Ok(standings
            .into_iter()
            .map(|(device, standing)| CaseNotesMember {
                device,
                person: state.persons.get(&device).copied().map(PersonId),
                standing,
            })
            .collect())
    }
}
