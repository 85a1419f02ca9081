//! Duty of care as a condition of joining (issue 14, item 15): a programme setting, written only by a
//! coordinator, that makes the participant's agreement to the duty-of-care rule a condition of their
//! enrolment; before agreeing they are shown a text on the limits of confidentiality
//! (`consent-duty-of-care-limits`, in Indonesian and English).
//!
//! Where the setting lives: in the `policy` map of every care record of the programme (written only
//! by a member holding `coordinator`, checked on receipt by every device, `space/rules.rs`), as the
//! other programme settings; and, on the coordinator's own device, in its store, so it binds the
//! first enrolment too. An enroller's device reads the newest it holds. Keys: `duty_of_care` (bool)
//! with `duty_of_care_at` (ms, when set).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use sebaya_proto::programme::ProgrammeRole;

use crate::error::{Error, Result};
use crate::space::doc::int;
use crate::store::clock::now_ms;
use crate::{SpaceId, Vault};

use super::oncall::POLICY;

/// The `policy` key saying whether the duty-of-care consent is a condition of joining.
pub const DUTY_OF_CARE_KEY: &str = "duty_of_care";
const DUTY_OF_CARE_AT_KEY: &str = "duty_of_care_at";
/// The catalogue id of the text on the limits of confidentiality (with `-title`).
pub const LIMITS_TEXT: &str = "consent-duty-of-care-limits";

fn kv_name(programme: &[u8; 32]) -> String {
    format!("programme-duty-of-care/{}", hex::encode(programme))
}

/// The setting a care record carries, with when it was set; `None` when it carries none.
pub(crate) fn duty_of_care_in(doc: &AutoCommit) -> Option<(bool, i64)> {
    let p = match doc.get(ROOT, POLICY) {
        Ok(Some((Value::Object(ObjType::Map), p))) => p,
        _ => return None,
    };
    let required = match doc.get(&p, DUTY_OF_CARE_KEY) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Boolean(b) => *b,
            _ => return None,
        },
        _ => return None,
    };
    Some((required, int(doc, &p, DUTY_OF_CARE_AT_KEY).unwrap_or(0)))
}

impl Vault {
    /// A coordinator makes (or stops making) the participant's agreement to the duty-of-care rule a
    /// condition of joining `programme`: kept on this device and written into every care record of
    /// the programme held here. `NotAllowed` for anyone but a coordinator there. Returns how many
    /// records were written (0 before the first enrolment: the setting still binds this device).
    pub fn set_duty_of_care_required(
        &mut self,
        programme: &[u8; 32],
        required: bool,
    ) -> Result<u32> {
        self.check_can_bind(Some(*programme), ProgrammeRole::Coordinator)?;
        let at = now_ms();
        let mut kept = Vec::with_capacity(9);
        kept.push(u8::from(required));
        kept.extend_from_slice(&at.to_le_bytes());
        self.store.kv_put(&kv_name(programme), &kept)?;
        self.write_policy(programme, |doc, policy, _| {
            doc.put(policy, DUTY_OF_CARE_KEY, required)?;
            doc.put(policy, DUTY_OF_CARE_AT_KEY, at)?;
            Ok(())
        })
    }

    /// The newest setting this device knows for `programme`, with when it was set.
    fn duty_of_care_setting(&self, programme: &[u8; 32]) -> Option<(bool, i64)> {
        let local = self
            .store
            .kv_get(&kv_name(programme))
            .ok()
            .flatten()
            .and_then(|v| {
                let at: [u8; 8] = v.get(1..9)?.try_into().ok()?;
                Some((v.first() == Some(&1), i64::from_le_bytes(at)))
            });
        self.care_records_of(programme)
            .iter()
            .filter_map(|c| self.shared.get(c).and_then(|s| duty_of_care_in(&s.doc)))
            .chain(local)
            .max_by_key(|(_, at)| *at)
    }

    /// Whether, as far as this device knows, `programme` makes the duty-of-care consent a
    /// condition of joining (false when no coordinator set it).
    pub fn duty_of_care_required(&self, programme: &[u8; 32]) -> bool {
        self.duty_of_care_setting(programme)
            .is_some_and(|(required, _)| required)
    }

    /// Before an enrolment: `DutyOfCareRequired` when the programme makes the duty-of-care consent
    /// a condition of joining and the participant has not agreed after being shown its text and
    /// the limits of confidentiality.
    pub(super) fn check_duty_of_care_for_enrolment(
        &self,
        programme: &[u8; 32],
        agreed: bool,
    ) -> Result<()> {
        if !agreed && self.duty_of_care_required(programme) {
            return Err(Error::DutyOfCareRequired);
        }
        Ok(())
    }

    /// Gives a care record just made by this device, a coordinator's, the programme's setting, so
    /// the participant's device sees the condition. Best effort, as the other settings: the
    /// enrolment stands whatever happens here (a supporter's record gets it when a coordinator sets
    /// it again).
    pub(super) fn carry_duty_of_care(&mut self, care: &SpaceId, programme: &[u8; 32]) {
        let Some((required, at)) = self.duty_of_care_setting(programme) else {
            return;
        };
        if self
            .check_can_bind(Some(*programme), ProgrammeRole::Coordinator)
            .is_err()
        {
            return;
        }
        let _ = self.with_space(care, |doc, now| {
            crate::space::doc::write(doc, now, |d| {
                let policy = match d.get(ROOT, POLICY)? {
                    Some((Value::Object(ObjType::Map), obj)) => obj,
                    _ => d.put_object(ROOT, POLICY, ObjType::Map)?,
                };
                d.put(&policy, DUTY_OF_CARE_KEY, required)?;
                d.put(&policy, DUTY_OF_CARE_AT_KEY, at)?;
                Ok(())
            })
        });
    }
}
