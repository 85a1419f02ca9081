//! A report (protocol 31.1–31.3): what it carries, sealed for the coordinators' devices and the
//! reporter's own, written into the reporter's care record, and read back where it opens.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use sebaya_proto::membership::Role;
use sebaya_proto::programme::ProgrammeRole;

use crate::crypto::Key32;
use crate::error::{Error, Result};
use crate::space::doc::{int, root_record, string, write};
use crate::space::{Space, SpaceKind, rules};
use crate::store::clock::now_ms;
use crate::{DeviceId, PersonId, SpaceId, Vault};

use super::{MAX_COPY_CHARS, MAX_REPORT_TEXT, MAX_REPORTS_PER_DAY, REASONS, ROUTES, TARGETS};

/// A report's root key in a care record: `report/<id>` (`rules::REPORT_PREFIX`).
const PREFIX: &str = rules::REPORT_PREFIX;
/// The reason a block's notice carries (never given by a person: [`Vault::report`] refuses it).
pub(super) const BLOCKED: &str = "blocked";
/// A sealed report's plaintext is padded with spaces to a multiple of this many bytes.
const PAD: usize = 256;

/// What a report says, sealed (JSON). It names the reported member and the content, never the
/// reporter: the care record it lives in says who that is, to those who hold it.
#[cfg_attr(test, derive(Debug, PartialEq, Eq))]
pub(crate) struct Plain {
    pub v: u8,
    /// The group or pairing (hex).
    pub space: String,
    /// `note`, `message` or `member`.
    pub target: String,
    /// The note's or message's id; the member's device (hex) for `member`.
    pub record: String,
    /// The reported member's device (hex).
    pub about: String,
    /// One of [`ROUTES`].
    pub route: String,
    /// The group's facilitator devices (hex) the report is passed on to; empty for `coordinators`.
    pub facilitators: Vec<String>,
    /// One of [`REASONS`], or `blocked` for a block's notice.
    pub reason: String,
    /// The reporter's own words (may be empty).
    pub text: String,
    /// A copy of the reported content as the reporter's device held it (empty for a member).
    pub copy: String,
}

/// Appends `s` as a JSON string (serde_json's escaping).
fn json_string(out: &mut Vec<u8>, s: &str) -> Result<()> {
    serde_json::to_writer(&mut *out, s).map_err(|_| Error::Internal("encode report"))
}

impl Plain {
    /// The compact JSON of protocol 31.3, fields in their order: the bytes a derived serializer
    /// wrote, without one (review L6; the vector test holds them).
    fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(PAD * 2);
        out.extend_from_slice(b"{\"v\":");
        out.extend_from_slice(self.v.to_string().as_bytes());
        let head = [
            ("space", &self.space),
            ("target", &self.target),
            ("record", &self.record),
            ("about", &self.about),
            ("route", &self.route),
        ];
        let tail = [
            ("reason", &self.reason),
            ("text", &self.text),
            ("copy", &self.copy),
        ];
        for (k, v) in head {
            out.extend_from_slice(format!(",\"{k}\":").as_bytes());
            json_string(&mut out, v)?;
        }
        out.extend_from_slice(b",\"facilitators\":[");
        for (i, f) in self.facilitators.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_string(&mut out, f)?;
        }
        out.push(b']');
        for (k, v) in tail {
            out.extend_from_slice(format!(",\"{k}\":").as_bytes());
            json_string(&mut out, v)?;
        }
        out.push(b'}');
        Ok(out)
    }

    /// Reads a plaintext (trailing padding allowed): every field present with its type, `v` a
    /// byte; unknown fields are ignored. `None` for anything else.
    fn decode(bytes: &[u8]) -> Option<Plain> {
        let v: serde_json::Value = serde_json::from_str(std::str::from_utf8(bytes).ok()?).ok()?;
        let o = v.as_object()?;
        let s = |k: &str| o.get(k)?.as_str().map(str::to_owned);
        Some(Plain {
            v: u8::try_from(o.get("v")?.as_u64()?).ok()?,
            space: s("space")?,
            target: s("target")?,
            record: s("record")?,
            about: s("about")?,
            route: s("route")?,
            facilitators: o
                .get("facilitators")?
                .as_array()?
                .iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()?,
            reason: s("reason")?,
            text: s("text")?,
            copy: s("copy")?,
        })
    }
}

/// AAD of a sealed report: the label, the space it lives in and its root key's suffix after
/// `report/` (a care record's report id; a copy's `<pass-on id>/<writer device hex>`).
pub(crate) fn report_aad(care: &SpaceId, id: &str) -> Vec<u8> {
    let mut aad = b"sebaya/v1/report".to_vec();
    aad.extend_from_slice(&care.0);
    aad.extend_from_slice(id.as_bytes());
    aad
}

/// Seals a report under `key` with `nonce`: the one code path behind writing a report and its test
/// vector (docs/protocol.md, section 31.5).
pub(crate) fn seal_report_with(
    key: &[u8; 32],
    nonce: [u8; 12],
    (care, id): (&SpaceId, &str),
    plain: &Plain,
) -> Result<Vec<u8>> {
    let mut bytes = plain.encode()?;
    let len = bytes.len().div_ceil(PAD).max(1) * PAD;
    bytes.resize(len, b' ');
    let sealed = crate::crypto::seal_value_with(key, nonce, &report_aad(care, id), &bytes);
    zeroize::Zeroize::zeroize(&mut bytes);
    sealed
}

/// A report as a coordinator, or its reporter, sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The care record it lives in.
    pub care: SpaceId,
    /// Its id.
    pub id: String,
    /// When it was written, ms.
    pub created_ms: i64,
    /// Whether this device's person wrote it.
    pub mine: bool,
    /// Who reported: the care record's participant (a person id); `None` in a copy passed on.
    pub reporter: Option<[u8; 32]>,
    /// Whether this is the copy a coordinator passed on to the facilitator (protocol 31.4), in the
    /// programme's safeguarding space (`care` is then that space).
    pub passed_on: bool,
    /// The group or pairing (hex).
    pub space: String,
    /// `note`, `message` or `member`.
    pub target: String,
    /// The note's or message's id; the member's device for `member`.
    pub record: String,
    /// The reported member's device (hex).
    pub about: String,
    /// One of [`ROUTES`].
    pub route: String,
    /// The facilitator devices it is for besides the coordinators (empty for `coordinators`).
    pub facilitators: Vec<String>,
    /// One of [`REASONS`], or `blocked` for a block's notice.
    pub reason: String,
    /// The reporter's words.
    pub text: String,
    /// The copy of the reported content.
    pub copy: String,
}

fn bytes(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<Vec<u8>> {
    match doc.get(obj, key).ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Bytes(b) => Some(b.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Now, in seconds since the Unix epoch.
fn now_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

/// The devices of `space` whose person holds `min` or above in its programme now, with their X25519
/// keys.
pub(super) fn devices_with(space: &Space, min: ProgrammeRole) -> Vec<(DeviceId, [u8; 32])> {
    let Some(programme) = rules::programme_of(&space.doc) else {
        return Vec::new();
    };
    let registry = rules::registry_of(&space.doc, programme);
    let now = now_secs();
    let m = space.membership();
    m.members
        .keys()
        .filter_map(|d| {
            let person = m.proven_person(d)?;
            (registry.role_of(&PersonId(person), now)? >= min).then_some(())?;
            Some((*d, *m.x25519.get(d)?))
        })
        .collect()
}

impl Vault {
    /// Whether `device` is this device or another of this person's, as `space`'s log records it.
    pub(super) fn is_mine(&self, space: &Space, device: &DeviceId) -> bool {
        *device == self.identity.device
            || match (self.person_id(), space.membership().proven_person(device)) {
                (Some(me), Some(p)) => me.0 == p,
                _ => false,
            }
    }

    /// This person's care record in `programme`, where this device is a member.
    fn own_care_record(&self, programme: &[u8; 32]) -> Option<SpaceId> {
        let me = self.person_id()?.0;
        self.shared
            .values()
            .filter(|s| {
                s.kind == SpaceKind::Care
                    && rules::programme_of(&s.doc).as_ref() == Some(programme)
                    && s.membership().is_member(&self.identity.device)
                    && rules::current_subject(&s.doc, s.membership()) == Some(me)
            })
            .map(|s| s.id)
            .min_by_key(|i| i.0)
    }

    /// A member reports a group's note (`target` `note`), a pairing's message (`message`) or a
    /// member (`member`, `record` the member's device hex) of `space`, for `reason` (one of
    /// [`REASONS`]) with optional words (`text`, at most 500 characters). The report, with a copy of
    /// the content, goes sealed into this person's care record of the space's programme, for the
    /// programme's coordinators (and, about a plain group member, passed on to the facilitator);
    /// the reported person never holds it. Returns the report's id.
    ///
    /// `InvalidInput`: an unknown reason or target, words too long, a report about oneself;
    /// `NotFound`: a space this device does not hold, content not in that space, no care record or
    /// no coordinator in it; `NotAllowed`: this device is no member of the space, or the space is
    /// bound to no programme.
    pub fn report(
        &mut self,
        space: &SpaceId,
        target: &str,
        record: &str,
        reason: &str,
        text: &str,
    ) -> Result<String> {
        if !REASONS.contains(&reason) {
            return Err(Error::InvalidInput("unknown report reason".into()));
        }
        self.report_with(space, target, record, reason, text)
    }

    /// [`Vault::report`] with any reason, `blocked` included (a block's notice).
    pub(super) fn report_with(
        &mut self,
        space_id: &SpaceId,
        target: &str,
        record: &str,
        reason: &str,
        text: &str,
    ) -> Result<String> {
        if !TARGETS.contains(&target) {
            return Err(Error::InvalidInput("unknown report target".into()));
        }
        if text.chars().count() > MAX_REPORT_TEXT {
            return Err(Error::InvalidInput("a report's words are too long".into()));
        }
        let space = self.shared.get(space_id).ok_or(Error::NotFound("space"))?;
        let m = space.membership();
        if !m.is_member(&self.identity.device) {
            return Err(Error::NotAllowed(
                "only a member reports what is in a space",
            ));
        }
        let (about, copy) = match (space.kind, target) {
            (SpaceKind::Group, "note") => {
                let n = crate::groups::note(&space.doc, record).ok_or(Error::NotFound("note"))?;
                (n.author, format!("{}\n{}", n.title, n.text))
            }
            (SpaceKind::Pairing, "message") => {
                let msg = crate::pairing::messages(&space.doc)
                    .into_iter()
                    .find(|x| x.id == record)
                    .ok_or(Error::NotFound("message"))?;
                (msg.by, msg.text)
            }
            (SpaceKind::Group | SpaceKind::Pairing, "member") => {
                (record.to_string(), String::new())
            }
            (SpaceKind::Group | SpaceKind::Pairing, _) => return Err(Error::NotFound("record")),
            _ => {
                return Err(Error::InvalidInput(
                    "only a group's or a pairing's content is reported".into(),
                ));
            }
        };
        let about_dev = DeviceId::from_hex(&about).map_err(|_| Error::NotFound("member"))?;
        if !m.members.contains_key(&about_dev) && !m.removed.contains_key(&about_dev) {
            return Err(Error::NotFound("member"));
        }
        if self.is_mine(space, &about_dev) {
            return Err(Error::InvalidInput("you cannot report yourself".into()));
        }
        // The reported person is never among the readers, coordinator or not.
        let about_person = m.proven_person(&about_dev);
        let programme = rules::programme_of(&space.doc).ok_or(Error::NotAllowed(
            "a report goes to a programme's coordinators; this space is bound to none",
        ))?;
        let care = self
            .own_care_record(&programme)
            .ok_or(Error::NotFound("care record"))?;
        // Whoever holds the care record sees that its subject wrote a report, and when: about
        // one of them (the supporter, a coordinator) that names the reporter, so nothing is written
        // (review H2, M2) until a channel they do not hold exists.
        let cm = self.held_ref(&care)?.membership();
        if cm.members.keys().any(|d| {
            *d == about_dev || (about_person.is_some() && cm.proven_person(d) == about_person)
        }) {
            return Err(Error::ReportSeenByReported);
        }
        // About the facilitator (a group's admin), a coordinator, or a pairing's other party:
        // coordinators alone. Judged by the person: any of their devices in the space.
        let of_about = |d: &DeviceId| {
            *d == about_dev || (about_person.is_some() && m.proven_person(d) == about_person)
        };
        let admin = |d: &DeviceId| m.role(d) == Some(Role::Admin);
        let coordinator = devices_with(space, ProgrammeRole::Coordinator)
            .iter()
            .any(|(d, _)| of_about(d))
            || about_person.is_some_and(|p| {
                rules::registry_of(&space.doc, programme)
                    .role_of(&PersonId(p), now_secs())
                    .is_some_and(|r| r >= ProgrammeRole::Coordinator)
            });
        let moderator = m.members.keys().any(|d| of_about(d) && admin(d));
        let (route, facilitators) = if space.kind == SpaceKind::Group && !moderator && !coordinator
        {
            let mut f: Vec<String> = m
                .members
                .keys()
                .filter(|d| admin(d) && !self.is_mine(space, d))
                .map(|d| d.to_hex())
                .collect();
            crate::order::sort(&mut f);
            (ROUTES[0], f)
        } else {
            (ROUTES[1], Vec::new())
        };
        let plain = Plain {
            v: 1,
            space: space_id.to_hex(),
            target: target.into(),
            // A member's device as readers compare it (lower case; review L4).
            record: if target == "member" {
                about_dev.to_hex()
            } else {
                record.into()
            },
            about: about_dev.to_hex(),
            route: route.into(),
            facilitators,
            reason: reason.into(),
            text: text.into(),
            copy: chars(&copy, MAX_COPY_CHARS),
        };
        self.write_report(&care, &plain, (about_dev, about_person))
    }

    /// Writes `plain` into `care`, sealed for its coordinators' devices but the reported person's
    /// (`about`: their device and proven person) and for this person's devices.
    fn write_report(
        &mut self,
        care: &SpaceId,
        plain: &Plain,
        about: (DeviceId, Option<[u8; 32]>),
    ) -> Result<String> {
        // A device on rules older than reports' would refuse this one and hold back the
        // participant's later writes in the record, referrals included: wait for them to update.
        self.shared
            .get_mut(care)
            .ok_or(Error::NotFound("care record"))?
            .wait_for_rules(crate::space::rules::REPORTS_SINCE)?;
        // Where the log does not yet say the person signed for this device (a care record joined
        // before any write of its own), the device proves it first, there alone (never in the
        // group reported: review L2): a report is its subject's.
        if let Some(me) = self.person_id() {
            self.claim_space(care, me.0)?;
        }
        // The day's cap counts this person's own reports, not block notices (which go once per
        // member and space), and only those written in the last 24 hours by a clock that has not
        // run ahead of this one (second review R2, R8).
        if plain.reason != BLOCKED {
            let now = now_ms();
            let today = self
                .opened()
                .iter()
                .filter(|o| o.space == *care && !o.passed_on && o.plain.reason != BLOCKED)
                .filter(|o| (now - 86_400_000..=now).contains(&o.at))
                .count();
            if today >= MAX_REPORTS_PER_DAY {
                return Err(Error::TooManyReports);
            }
        }
        let space = self.held_ref(care)?;
        let m = space.membership();
        let mut recipients = devices_with(space, ProgrammeRole::Coordinator);
        recipients
            .retain(|(d, _)| *d != about.0 && (about.1.is_none() || m.proven_person(d) != about.1));
        if recipients.is_empty() {
            return Err(Error::NotFound("coordinator"));
        }
        for d in m.members.keys() {
            if self.is_mine(space, d) && !recipients.iter().any(|(r, _)| r == d) {
                if let Some(x) = m.x25519.get(d) {
                    recipients.push((*d, *x));
                }
            }
        }
        let id = hex::encode(crate::crypto::random::<8>()?);
        let key = crate::crypto::random_key()?;
        self.put_sealed(care, &id, &key, plain, &recipients)?;
        Ok(id)
    }

    /// Seals `plain` under `key` and writes it as the root key `report/<suffix>` of `space`, with a
    /// wrap of `key` for each of `recipients`: the one writer of a care record's report and of a
    /// copy passed on (protocol 31.2, 31.4). A key already there is refused (`InvalidInput`).
    pub(super) fn put_sealed(
        &mut self,
        space: &SpaceId,
        suffix: &str,
        key: &[u8; 32],
        plain: &Plain,
        recipients: &[(DeviceId, [u8; 32])],
    ) -> Result<()> {
        let epoch = self.held_ref(space)?.epoch;
        let sealed = seal_report_with(key, crate::crypto::random()?, (space, suffix), plain)?;
        let mut wraps = Vec::with_capacity(recipients.len());
        for (device, x25519) in recipients {
            let w = crate::crypto::keywrap::wrap(key, x25519, space, &epoch)?;
            wraps.push((device.to_hex(), w.to_bytes()));
        }
        let root = format!("{PREFIX}{suffix}");
        self.with_space(space, |doc, now| {
            if doc.get(ROOT, root.as_str())?.is_some() {
                return Err(Error::InvalidInput("report id already used".into()));
            }
            write(doc, now, |d| {
                let r = d.put_object(ROOT, root.as_str(), ObjType::Map)?;
                d.put(&r, "at", now)?;
                d.put(&r, "epoch", epoch.to_hex())?;
                d.put(&r, "sealed", ScalarValue::Bytes(sealed.clone()))?;
                let w = d.put_object(&r, "wraps", ObjType::Map)?;
                for (device, b) in &wraps {
                    d.put(&w, device.as_str(), ScalarValue::Bytes(b.clone()))?;
                }
                Ok(())
            })
        })
    }

    /// The reports this device opens, oldest first: on a coordinator's device every report of the
    /// care records it holds; on the reporter's devices their own; on a facilitator's, the copies
    /// passed on to it in the programme's safeguarding space (without the reporter), one per report
    /// however many coordinator devices passed it on. A report whose sealed part does not open here
    /// (not for this device, moved from another record or key, altered) is left out.
    pub fn reports(&self) -> Vec<Report> {
        let me = self.person_id().map(|p| p.0);
        let opened = self.opened();
        // The copies of reports this device holds in a care record: a coordinator lists each once,
        // with its reporter.
        let mut seen: Vec<String> = Vec::new();
        for o in opened.iter().filter(|o| !o.passed_on) {
            for sg in self.held_of_kind(SpaceKind::Safeguarding) {
                seen.push(passon_id(&o.key, &sg.id));
            }
        }
        let mut out: Vec<Report> = Vec::with_capacity(opened.len());
        for o in opened {
            if o.passed_on {
                if seen.contains(&o.id) {
                    continue;
                }
                seen.push(o.id.clone());
            }
            let p = o.plain;
            out.push(Report {
                care: o.space,
                id: o.id,
                created_ms: o.at,
                mine: me.is_some() && o.reporter == me,
                reporter: o.reporter,
                passed_on: o.passed_on,
                space: p.space,
                target: p.target,
                record: p.record,
                about: p.about,
                route: p.route,
                facilitators: p.facilitators,
                reason: p.reason,
                text: p.text,
                copy: p.copy,
            });
        }
        crate::order::sort_by(&mut out, |a, b| {
            (a.created_ms, a.passed_on, a.care.0, &a.id).cmp(&(
                b.created_ms,
                b.passed_on,
                b.care.0,
                &b.id,
            ))
        });
        out
    }

    /// The spaces of `kind` this device holds.
    pub(super) fn held_of_kind(&self, kind: SpaceKind) -> impl Iterator<Item = &Space> {
        self.shared.values().filter(move |s| s.kind == kind)
    }

    /// Every report this device opens, care records' first, then the copies passed on (protocol
    /// 31.2, 31.4): a care record's `report/<id>`, a safeguarding space's `report/<id>/<writer>`.
    pub(super) fn opened(&self) -> Vec<Opened> {
        let mut out = Vec::new();
        for kind in [SpaceKind::Care, SpaceKind::Safeguarding] {
            for s in self.held_of_kind(kind) {
                let passed_on = kind == SpaceKind::Safeguarding;
                let reporter = (!passed_on)
                    .then(|| rules::current_subject(&s.doc, s.membership()))
                    .flatten();
                for root in s.doc.keys(ROOT) {
                    let Some(suffix) = root.strip_prefix(PREFIX) else {
                        continue;
                    };
                    let Some(id) = rules::report_id(kind, suffix) else {
                        continue;
                    };
                    let Some(r) = root_record(&s.doc, &root) else {
                        continue;
                    };
                    let Some((at, key, plain)) = self.open_report(s, suffix, &r) else {
                        continue;
                    };
                    out.push(Opened {
                        space: s.id,
                        id: id.to_string(),
                        at,
                        key,
                        plain,
                        reporter,
                        passed_on,
                    });
                }
            }
        }
        out
    }

    fn open_report(&self, s: &Space, suffix: &str, r: &ObjId) -> Option<(i64, Key32, Plain)> {
        let d = &s.doc;
        let at = int(d, r, "at")?;
        let epoch = sebaya_proto::EpochId::from_hex(&string(d, r, "epoch")?).ok()?;
        let wraps = match d.get(r, "wraps").ok().flatten() {
            Some((Value::Object(ObjType::Map), w)) => w,
            _ => return None,
        };
        let me = self.identity.device.to_hex();
        let wrap = crate::crypto::keywrap::KeyWrap::from_bytes(&bytes(d, &wraps, &me)?).ok()?;
        let key = self.identity.unwrap_key(&wrap, &s.id, &epoch).ok()?;
        let plain = crate::crypto::open_value(
            &key,
            &report_aad(&s.id, suffix),
            &bytes(d, r, "sealed")?,
            "report",
        )
        .ok()?;
        let p = Plain::decode(&plain)?;
        let known = p.v == 1
            && TARGETS.contains(&p.target.as_str())
            && ROUTES.contains(&p.route.as_str())
            && (REASONS.contains(&p.reason.as_str()) || p.reason == BLOCKED);
        known.then_some((at, key, p))
    }
}

/// A report this device opened, with its key (for the pass-on id).
pub(super) struct Opened {
    /// The care record or safeguarding space it lives in.
    pub space: SpaceId,
    /// Its id: the care record's report id, or a copy's pass-on id.
    pub id: String,
    pub at: i64,
    pub key: Key32,
    pub plain: Plain,
    /// The care record's subject; `None` in a copy.
    pub reporter: Option<[u8; 32]>,
    pub passed_on: bool,
}

/// The id of a report's copy in the safeguarding space `sg` (protocol 31.4): 16 hex characters
/// of HMAC-SHA256 under the report's own key `K` over `sebaya/v1/report-passon`, 0x00 and the
/// safeguarding space's id. Every coordinator device that opens the report computes the same; a
/// facilitator, who never holds `K`, cannot link the copy to the care record's report id.
pub(crate) fn passon_id(key: &[u8; 32], sg: &SpaceId) -> String {
    hex::encode(&crate::crypto::keyed_hash(key, "sebaya/v1/report-passon", &sg.0)[..8])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // The sealed report's test vector (docs/protocol.md, section 31.5).
    const CARE: SpaceId = SpaceId([0xe1; 16]);
    const KEY: [u8; 32] = [0xe2; 32];
    const NONCE: [u8; 12] = [0xe3; 12];
    const ID: &str = "00000000000000f1";

    fn vector_plain() -> Plain {
        Plain {
            v: 1,
            space: "e4".repeat(16),
            target: "note".into(),
            record: "00000000000000f2".into(),
            about: "e5".repeat(32),
            route: ROUTES[0].into(),
            facilitators: vec!["e6".repeat(32)],
            reason: "harassment".into(),
            text: String::new(),
            copy: "t\nx".into(),
        }
    }

    #[test]
    fn the_sealed_report_vector_is_byte_exact_and_documented() {
        let sealed = seal_report_with(&KEY, NONCE, (&CARE, ID), &vector_plain()).unwrap();
        let aad = [&b"sebaya/v1/report"[..], &CARE.0, ID.as_bytes()].concat();
        assert_eq!(report_aad(&CARE, ID), aad);
        let plain = crate::crypto::open_value(&KEY, &aad, &sealed, "r").unwrap();
        assert_eq!(plain.len() % PAD, 0);
        let p = Plain::decode(&plain).unwrap();
        assert_eq!(p, vector_plain());
        // Replayed under another id or into another care record, it no longer opens.
        for other in [
            report_aad(&CARE, "00000000000000f3"),
            report_aad(&SpaceId([0xe7; 16]), ID),
        ] {
            assert!(crate::crypto::open_value(&KEY, &other, &sealed, "r").is_err());
        }
        // The pass-on id and a copy's ad (31.4), as the crate computes them.
        let sg = SpaceId([0xe8; 16]);
        let pid = passon_id(&KEY, &sg);
        let copy_ad = report_aad(&sg, &format!("{pid}/{}", "e9".repeat(32)));
        let doc = include_str!("../../../docs/protocol.md").replace(['\n', ' '], "");
        for h in [
            hex::encode(&aad),
            hex::encode(&sealed),
            pid,
            hex::encode(&copy_ad),
        ] {
            assert!(doc.contains(&h), "{h} is not in docs/protocol.md");
        }
    }
}
