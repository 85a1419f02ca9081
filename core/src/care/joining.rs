//! Duty of care as a condition of joining (issue 14, item 15): not built yet.

use automerge::AutoCommit;

use crate::error::Result;
use crate::{SpaceId, Vault};

/// The `policy` key saying whether the duty-of-care consent is a condition of joining.
pub const DUTY_OF_CARE_KEY: &str = "duty_of_care";
/// The catalogue id of the text on the limits of confidentiality (with `-title`).
pub const LIMITS_TEXT: &str = "consent-duty-of-care-limits";

pub(crate) fn duty_of_care_in(_doc: &AutoCommit) -> Option<(bool, i64)> {
    None
}

impl Vault {
    /// Not built yet.
    pub fn set_duty_of_care_required(&mut self, _programme: &[u8; 32], _required: bool) -> Result<u32> {
        Ok(0)
    }

    /// Not built yet.
    pub fn duty_of_care_required(&self, _programme: &[u8; 32]) -> bool {
        false
    }

    pub(super) fn check_duty_of_care_for_enrolment(&self, _programme: &[u8; 32], _agreed: bool) -> Result<()> {
        Ok(())
    }

    pub(super) fn carry_duty_of_care(&mut self, _care: &SpaceId, _programme: &[u8; 32]) {}
}
