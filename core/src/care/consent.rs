//! Consent in a care record: the purposes a participant agrees to (each at a text version), the
//! ledger of agreements and withdrawals their own devices write, a guardian's consent for a minor,
//! and whether a purpose stands now. Other parts of the core (escalation, sharing in a pairing,
//! report inputs) ask here before they act.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::space::doc::{boolean, int, is_short_text, new_record_in, read_all, string, write};
use crate::{SpaceId, Vault};

use super::record::{SPACE, new_id};

/// Purposes a participant consents to, each explained by its own text (`consent-<purpose>` in the
/// catalogues) at the version in [`consent_version`].
/// `pairing` is a guardian's only (issue 14, item 15): a participant agrees to a pairing by joining
/// it, and a minor's pairing waits for a guardian's consent to it.
pub const PURPOSES: [&str; 5] = [
    "duty-of-care",
    "share-with-supporter",
    "report-outcomes",
    "data-processing",
    "pairing",
];
/// The purpose a minor's pairing waits for: a guardian's consent to it (issue 14, item 15).
pub const PAIRING_PURPOSE: &str = "pairing";
/// The purpose sharing into a pairing needs: agreed in the pairing it is for, never here.
pub const SHARE_PURPOSE: &str = "share-with-supporter";

/// The version of the consent text for `purpose` that this build shows. A new wording gets a new
/// version, so the ledger proves which text a person agreed to.
pub fn consent_version(purpose: &str) -> Result<&'static str> {
    if PURPOSES.contains(&purpose) {
        Ok("1")
    } else {
        Err(Error::InvalidInput(
            "purpose must be duty-of-care, share-with-supporter, report-outcomes, data-processing \
             or pairing"
                .into(),
        ))
    }
}

/// Longest guardian relation ("mother", "ibu", "wali kelas"…), in characters.
const MAX_RELATION_CHARS: usize = 40;
/// Longest reference to a signed guardian form ("formulir 2026/041"), in characters.
const MAX_FORM_CHARS: usize = 80;
/// Longest reason for a best-interests exception, in characters.
const MAX_REASON_CHARS: usize = 300;
/// The care record's root key saying the participant is a minor (only ever `true`).
pub const MINOR_KEY: &str = "minor";

/// One consent record: an agreement or a withdrawal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsentRecord {
    /// Record id (16 hex).
    pub id: String,
    /// One of [`PURPOSES`].
    pub purpose: String,
    /// Version of the text shown.
    pub version: String,
    /// Agreed (true) or withdrawn (false).
    pub agreed: bool,
    /// Device id (hex) that recorded it.
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// For a guardian's consent: who they are to the participant. `None` for the participant's own.
    pub guardian_relation: Option<String>,
    /// For a guardian's consent: the reference of the signed form it rests on. Only a consent with
    /// one opens what waits for a guardian.
    pub form: Option<String>,
}

fn check_purpose_version(purpose: &str, version: &str) -> Result<()> {
    consent_version(purpose)?;
    if version.is_empty() || version.len() > 16 || !version.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::InvalidInput("consent version is malformed".into()));
    }
    Ok(())
}

/// Adds a consent record (the participant's own when `guardian_relation` is `None`).
#[allow(clippy::too_many_arguments)]
pub fn add_consent(
    doc: &mut AutoCommit,
    id: &str,
    purpose: &str,
    version: &str,
    agreed: bool,
    guardian_relation: Option<&str>,
    by: &str,
    now_ms: i64,
) -> Result<()> {
    add_consent_with_form(
        doc,
        id,
        purpose,
        version,
        agreed,
        guardian_relation,
        None,
        by,
        now_ms,
    )
}

/// [`add_consent`], with for a guardian's consent the reference of the signed form.
#[allow(clippy::too_many_arguments)]
pub fn add_consent_with_form(
    doc: &mut AutoCommit,
    id: &str,
    purpose: &str,
    version: &str,
    agreed: bool,
    guardian_relation: Option<&str>,
    form: Option<&str>,
    by: &str,
    now_ms: i64,
) -> Result<()> {
    if let Some(f) = form {
        if guardian_relation.is_none() || !is_short_text(f, MAX_FORM_CHARS) {
            return Err(Error::InvalidInput(
                "a form reference has 1 to 80 characters and goes with a guardian's consent".into(),
            ));
        }
    }
    crate::space::doc::check_id(id, "consent")?;
    crate::space::doc::check_device(by, "consent author")?;
    check_purpose_version(purpose, version)?;
    let key = match guardian_relation {
        None => "consents",
        Some(r) => {
            let r = r.trim();
            if r.is_empty()
                || r.chars().count() > MAX_RELATION_CHARS
                || r.chars().any(char::is_control)
            {
                return Err(Error::InvalidInput(
                    "a guardian's relation has 1 to 40 characters".into(),
                ));
            }
            "guardian"
        }
    };
    let c = new_record_in(doc, key, id, "consent", SPACE)?;
    write(doc, now_ms, |d| {
        let r = d.put_object(&c, id, ObjType::Map)?;
        d.put(&r, "purpose", purpose)?;
        d.put(&r, "version", version)?;
        d.put(&r, "agreed", agreed)?;
        if let Some(rel) = guardian_relation {
            d.put(&r, "relation", rel.trim())?;
        }
        if let Some(f) = form {
            d.put(&r, "form", f.trim())?;
        }
        d.put(&r, "by", by)?;
        d.put(&r, "at", now_ms)?;
        Ok(())
    })
}

fn read_consents(doc: &AutoCommit, key: &str) -> Vec<ConsentRecord> {
    let mut out = read_all(doc, key, |d, id, r| {
        let purpose = string(d, r, "purpose")?;
        let version = string(d, r, "version")?;
        check_purpose_version(&purpose, &version).ok()?;
        let relation = string(d, r, "relation");
        if key == "guardian" && relation.is_none() {
            return None;
        }
        Some(ConsentRecord {
            id: id.to_string(),
            purpose,
            version,
            agreed: boolean(d, r, "agreed")?,
            by: string(d, r, "by")?,
            at_ms: int(d, r, "at")?,
            guardian_relation: if key == "guardian" { relation } else { None },
            form: match key {
                "guardian" => string(d, r, "form").filter(|f| is_short_text(f, MAX_FORM_CHARS)),
                _ => None,
            },
        })
    });
    out.sort_unstable_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

/// The whole ledger, oldest first: the participant's records, then guardians' (each oldest first).
pub fn consents(doc: &AutoCommit) -> Vec<ConsentRecord> {
    let mut out = read_consents(doc, "consents");
    out.extend(read_consents(doc, "guardian"));
    out
}

/// Whether the newest of `records` for `purpose` agrees (to the current text version).
fn current(records: &[ConsentRecord], purpose: &str) -> bool {
    let Ok(version) = consent_version(purpose) else {
        return false;
    };
    records
        .iter()
        .filter(|r| r.purpose == purpose)
        .max_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)))
        .is_some_and(|r| r.agreed && r.version == version)
}

/// Whether the participant's consent to `purpose` stands now (their own newest record agrees to the
/// current text). A guardian's consent is needed in addition for a minor; [`guardian_consented`].
pub fn consented(doc: &AutoCommit, purpose: &str) -> bool {
    current(&read_consents(doc, "consents"), purpose)
}

/// Whether a guardian's consent to `purpose` stands now.
pub fn guardian_consented(doc: &AutoCommit, purpose: &str) -> bool {
    current(&read_consents(doc, "guardian"), purpose)
}

/// Whether the record says its participant is a minor.
pub fn is_minor(doc: &AutoCommit) -> bool {
    matches!(
        doc.get(automerge::ROOT, MINOR_KEY),
        Ok(Some((automerge::Value::Scalar(s), _))) if matches!(s.as_ref(), automerge::ScalarValue::Boolean(true))
    )
}

/// A coordinator's best-interests exception (vital interests) for a minor: lets `purpose` go ahead
/// without a guardian's consent, for the reason written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// Record id (16 hex).
    pub id: String,
    /// The purpose it opens.
    pub purpose: String,
    /// Why (1 to 300 characters).
    pub reason: String,
    /// The coordinator's device (hex).
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

/// Every best-interests exception in the record, oldest first.
pub fn exceptions(doc: &AutoCommit) -> Vec<Exception> {
    let mut out = read_all(doc, "exceptions", |d, id, r| {
        let purpose = string(d, r, "purpose")?;
        consent_version(&purpose).ok()?;
        let reason = string(d, r, "reason")?;
        if !is_short_text(&reason, MAX_REASON_CHARS) {
            return None;
        }
        Some(Exception {
            id: id.to_string(),
            purpose,
            reason,
            by: string(d, r, "by")?,
            at_ms: int(d, r, "at")?,
        })
    });
    out.sort_unstable_by(|a, b| a.at_ms.cmp(&b.at_ms).then_with(|| a.id.cmp(&b.id)));
    out
}

/// Whether `purpose` may go ahead for this record's participant as far as guardians go: always for
/// an adult; for a minor, when a guardian's consent with a form reference stands for it, or a
/// coordinator recorded a best-interests exception for it. Crisis lines, "I need help now" and
/// referrals never ask this.
pub fn guardian_allows(doc: &AutoCommit, purpose: &str) -> bool {
    if !is_minor(doc) {
        return true;
    }
    let with_form: Vec<ConsentRecord> = read_consents(doc, "guardian")
        .into_iter()
        .filter(|r| r.form.is_some() || !r.agreed)
        .collect();
    current(&with_form, purpose) || exceptions(doc).iter().any(|e| e.purpose == purpose)
}

/// Whether a minor's pairing may run as far as guardians go: [`guardian_allows`] for
/// [`PAIRING_PURPOSE`], or, while the guardians' ledger holds no record for `pairing` itself (with a
/// form, or a withdrawal), a standing guardian's consent with a form to [`SHARE_PURPOSE`]: agreeing
/// that the supporter sees what the child shares presupposes the pairing, and it is what ongoing
/// pairings stood on before the `pairing` purpose (review M3). A guardian's newest record for
/// `pairing` decides once there is one, so a withdrawal of it stops the pairing whatever the
/// sharing consent says.
pub fn guardian_allows_pairing(doc: &AutoCommit) -> bool {
    if guardian_allows(doc, PAIRING_PURPOSE) {
        return true;
    }
    let with_form: Vec<ConsentRecord> = read_consents(doc, "guardian")
        .into_iter()
        .filter(|r| r.form.is_some() || !r.agreed)
        .collect();
    !with_form.iter().any(|r| r.purpose == PAIRING_PURPOSE) && current(&with_form, SHARE_PURPOSE)
}

impl Vault {
    /// The participant agrees to (`agreed`) or withdraws from a purpose, on their own phone, at the
    /// current text's version. Nobody else can write it: every device refuses it from anyone but
    /// the participant's devices (`NotAllowed` here).
    pub fn give_consent(&mut self, care: &SpaceId, purpose: &str, agreed: bool) -> Result<String> {
        self.care_ref(care)?;
        let version = consent_version(purpose)?;
        if purpose == SHARE_PURPOSE {
            return Err(Error::InvalidInput(
                "sharing is agreed in the pairing it is for (consent_to_sharing)".into(),
            ));
        }
        if purpose == PAIRING_PURPOSE {
            return Err(Error::InvalidInput(
                "a participant agrees to a pairing by joining it; a guardian's consent to it is \
                 recorded by a coordinator"
                    .into(),
            ));
        }
        let id = new_id()?;
        let by = self.identity.device.to_hex();
        self.with_space(care, |doc, now| {
            add_consent(doc, &id, purpose, version, agreed, None, &by, now)
        })?;
        if purpose == "report-outcomes" {
            // Publishes the totals on agreement (for a minor, once a guardian allows it too),
            // deletes them on withdrawal.
            self.publish_outcomes()?;
        }
        Ok(id)
    }

    /// A coordinator marks a care record's participant as a minor: from then on sharing with the
    /// supporter and outcome reporting wait for a guardian's consent (with a form reference) or a
    /// best-interests exception. Never undone (a mistake takes a new record). Not a coordinator
    /// there: `NotAllowed`.
    pub fn mark_minor(&mut self, care: &SpaceId) -> Result<()> {
        if self.viewer(self.care_ref(care)?) != "coordinator" {
            return Err(Error::NotAllowed(
                "only a coordinator marks a participant as a minor",
            ));
        }
        self.with_space(care, |doc, now| {
            write(doc, now, |d| {
                d.put(automerge::ROOT, MINOR_KEY, true)?;
                Ok(())
            })
        })
    }

    /// A coordinator records a best-interests (vital interests) exception for a minor: `purpose`
    /// may go ahead without a guardian's consent, for the `reason` given (1 to 300 characters),
    /// which stays in the record's ledger. Returns its id.
    pub fn record_best_interests_exception(
        &mut self,
        care: &SpaceId,
        purpose: &str,
        reason: &str,
    ) -> Result<String> {
        consent_version(purpose)?;
        if !is_short_text(reason, MAX_REASON_CHARS) {
            return Err(Error::InvalidInput(
                "an exception needs a reason of 1 to 300 characters".into(),
            ));
        }
        if self.viewer(self.care_ref(care)?) != "coordinator" {
            return Err(Error::NotAllowed(
                "only a coordinator records a best-interests exception",
            ));
        }
        let id = new_id()?;
        let by = self.identity.device.to_hex();
        self.with_space(care, |doc, now| {
            let c = match doc.get(automerge::ROOT, "exceptions")? {
                Some((automerge::Value::Object(ObjType::Map), obj)) => Some(obj),
                _ => None,
            };
            write(doc, now, |d| {
                // Records made before exceptions existed have no container yet.
                let c = match c {
                    Some(c) => c,
                    None => d.put_object(automerge::ROOT, "exceptions", ObjType::Map)?,
                };
                let r = d.put_object(&c, id.as_str(), ObjType::Map)?;
                d.put(&r, "purpose", purpose)?;
                d.put(&r, "reason", reason.trim())?;
                d.put(&r, "by", by.as_str())?;
                d.put(&r, "at", now)?;
                Ok(())
            })
        })?;
        Ok(id)
    }

    /// A coordinator records a parent's or guardian's consent for a minor, with the reference of
    /// the signed form it rests on (`form`; a consent without one is kept in the ledger but opens
    /// nothing that waits for a guardian). Not a coordinator of the record: `NotAllowed`, here and
    /// on every receiving device.
    pub fn record_guardian_consent(
        &mut self,
        care: &SpaceId,
        purpose: &str,
        relation: &str,
        form: Option<&str>,
        agreed: bool,
    ) -> Result<String> {
        if self.viewer(self.care_ref(care)?) != "coordinator" {
            return Err(Error::NotAllowed(
                "only a coordinator records a guardian's consent",
            ));
        }
        let version = consent_version(purpose)?;
        let id = new_id()?;
        let by = self.identity.device.to_hex();
        self.with_space(care, |doc, now| {
            add_consent_with_form(
                doc,
                &id,
                purpose,
                version,
                agreed,
                Some(relation),
                form,
                &by,
                now,
            )
        })?;
        Ok(id)
    }

    /// The consent ledger of a care record (every agreement and withdrawal, with text versions).
    pub fn consent_ledger(&self, care: &SpaceId) -> Result<Vec<ConsentRecord>> {
        Ok(consents(&self.care_ref(care)?.doc))
    }

    /// Whether the participant's consent to `purpose` stands now in this care record.
    pub fn has_consent(&self, care: &SpaceId, purpose: &str) -> Result<bool> {
        consent_version(purpose)?;
        Ok(consented(&self.care_ref(care)?.doc, purpose))
    }
}
