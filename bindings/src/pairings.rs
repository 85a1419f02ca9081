//! One-to-one pairings through the bindings (`Vault.pairings()`): a peer supporter and a participant
//! with check-ins, goals and messages; what the participant chooses to share with their supporter
//! (under their own consent); the supporter's case notes about a pairing, shared only with their
//! supervisor; and handing a pairing or case notes over to a successor.

use super::programmes::parse_programme;
use super::{CreatedSpace, Result, Shared, SharedItemKind, new_id, parse_space, with};

/// Whether a pairing works under a programme's rules (`Pairings.standing`).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PairingStanding {
    /// The programme it is bound to (hex), when it is.
    pub programme_id: Option<String>,
    /// Opened before pairings needed a programme and not bound since: nobody checked the
    /// supporter's role or training. Show it as such; it is never dropped.
    pub outside_programme: bool,
    /// The participant is a minor and no guardian's consent to `pairing` (with the signed form's
    /// reference) or best-interests exception stands yet: kept, but nothing is written into it
    /// (`NotAllowed`) until then. Show `localized_message("pairing-waiting-for-guardian")`.
    #[uniffi(default = false)]
    pub waiting_for_guardian: bool,
}

/// A check-in in a pairing.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PairCheckin {
    /// Check-in id.
    pub id: String,
    /// Mood 1–5.
    pub mood: i32,
    /// Optional note.
    pub note: String,
    /// Device id (hex) of who checked in.
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

/// A goal in a pairing.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PairGoal {
    /// Goal id.
    pub id: String,
    /// What the goal is.
    pub text: String,
    /// Progress 0–100.
    pub progress: i32,
    /// Whether it is reached (progress 100).
    pub done: bool,
}

/// A message in a pairing.
#[derive(Clone, Debug, uniffi::Record)]
pub struct PairMessage {
    /// Message id.
    pub id: String,
    /// Text.
    pub text: String,
    /// Device id (hex) of the sender.
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
}

/// A case note, with the supervisor's reviews of it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CaseNote {
    /// Note id.
    pub id: String,
    /// Text.
    pub text: String,
    /// Device id (hex) of the writer.
    pub by: String,
    /// Written, ms since the Unix epoch.
    pub at_ms: i64,
    /// The supervisor's comments on this note, oldest first.
    pub reviews: Vec<String>,
}

/// Where a member of case notes stands under their membership cap (issue 14, item 12): computed
/// by this device from the membership and the programme grants the notes hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CaseNotesStanding {
    /// A device of the supporter who opened the notes.
    Supporter,
    /// A device of the one supervisor, a coordinator of the programme.
    Supervisor,
    /// A device of the supporter the notes were handed over to.
    Successor,
    /// Beyond the cap: what it writes is refused, and nothing new is written while it is a member.
    /// Offer the supporter to remove it (`Spaces.remove_member`).
    Refused,
}

/// One current member of case notes.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CaseNotesMember {
    /// The member device (hex).
    pub device_id: String,
    /// The person the membership names for it (hex), if any.
    pub person_id: Option<String>,
    /// Where it stands.
    pub standing: CaseNotesStanding,
}

/// Something the participant shared with their supporter in a pairing.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SharedItem {
    /// Its id (for `unshare`).
    pub id: String,
    /// What it is.
    pub kind: SharedItemKind,
    /// The shared text.
    pub text: String,
    /// A journal entry's mood, 1–5.
    pub mood: Option<u8>,
    /// The journal entry it came from (empty otherwise).
    pub source: String,
    /// The consent record it was shared under.
    pub consent: String,
    /// When, ms.
    pub at_ms: i64,
}

fn small(n: i32, what: &str) -> Result<u8> {
    u8::try_from(n)
        .map_err(|_| sebaya_core::Error::InvalidInput(format!("{what} is out of range")).into())
}

/// Pairings and case notes, handed out by `Vault.pairings()`. It holds the vault's shared state, so
/// `Vault.lock()` locks it too (`Locked`).
#[derive(uniffi::Object)]
pub struct Pairings {
    pub(crate) inner: Shared,
}

#[uniffi::export]
impl Pairings {
    /// A peer supporter opens a one-to-one pairing with the participant whose request code it
    /// scanned (their `link_request()`), under the programme `programme_id`: one-to-one work happens
    /// only under a programme's rules, so there is no pairing without one. It throws `NotAllowed`
    /// without a peer supporter or coordinator role there, and `NotCertified` (its detail lists the
    /// missing or expired module ids) without current training in every required module; nothing
    /// is created then. Every member's device checks the same on receipt, and the participant's
    /// phone refuses a set-up bound to no programme. Show the participant the response
    /// (`Spaces.join` on their phone).
    pub fn create(
        &self,
        participant_request: String,
        programme_id: String,
    ) -> Result<CreatedSpace> {
        let programme = parse_programme(&programme_id)?;
        let (id, response) = with(&self.inner, |v| {
            v.create_pairing(&participant_request, &programme)
        })?;
        Ok(CreatedSpace {
            space_id: id.to_hex(),
            response,
        })
    }

    /// The participant erases their pairing for good, by destroying its keys (issue 14, item
    /// 17): gone here at once, on the supporter's device at its next sync, and at the relay once
    /// the supporter's device has synced. The supporter may not (`NotAllowed`: they hand the
    /// pairing over instead); the supporter's case notes are a separate record and stay.
    pub fn erase(&self, pairing_id: String) -> Result<()> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.erase_pairing(&p))
    }

    /// Ends a pairing on this device's signed word: either party may (protocol 15.11). This device
    /// writes nothing in it afterwards; the other party's device, once it learns of the end (at
    /// its next sync), refuses new writes there too and signs its own end, while what it sent
    /// before stands (a check-in sent a moment before the end stays). Its history stays readable
    /// to both, and it leaves both parties' `active` pairings. Sync to send it. `NotFound` for a
    /// space that is not a pairing this device belongs to; `NotAllowed` for a pairing this device
    /// has ended already, or whose end by the other party it has learnt of (then its own end goes
    /// out at its next sync).
    pub fn end(&self, pairing_id: String) -> Result<()> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.end_pairing(&p))
    }

    /// The pairings this device belongs to that have not ended (a supporter's active caseload of
    /// pairings), ids in hex, sorted.
    pub fn active(&self) -> Result<Vec<String>> {
        with(&self.inner, |v| {
            Ok(v.active_pairings().iter().map(|p| p.to_hex()).collect())
        })
    }

    /// Whether the pairing works under a programme's rules: the programme it is bound to, or
    /// `outside_programme` for a pairing opened before pairings needed a programme (kept, never
    /// dropped; show it as such: `localized_message("pairing-outside-programme")`). The supporter's
    /// phone binds such a pairing at a sync once its person is certified in exactly one programme.
    /// `InvalidInput` for a space that is no pairing. A minor's pairing also says whether it waits
    /// for a guardian (`waiting_for_guardian`).
    pub fn standing(&self, pairing_id: String) -> Result<PairingStanding> {
        let p = parse_space(&pairing_id)?;
        let (standing, waiting_for_guardian) = with(&self.inner, |v| {
            Ok((v.pairing_standing(&p)?, v.pairing_waits_for_guardian(&p)?))
        })?;
        Ok(match standing {
            sebaya_core::pairing::PairingStanding::Programme(id) => PairingStanding {
                programme_id: Some(hex::encode(id)),
                outside_programme: false,
                waiting_for_guardian,
            },
            sebaya_core::pairing::PairingStanding::Outside => PairingStanding {
                programme_id: None,
                outside_programme: true,
                waiting_for_guardian,
            },
        })
    }

    /// Records a check-in (mood 1–5 and an optional note) in a pairing. While the pairing waits for
    /// a guardian (`standing`), `NotAllowed` on either side; so for goals and messages.
    #[uniffi::method(default(note = ""))]
    pub fn add_checkin(&self, pairing_id: String, mood: i32, note: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        let m = small(mood, "mood")?;
        let id = new_id()?;
        with(&self.inner, |v| {
            v.check_pairing_open(&p)?;
            let me = v.device_id().to_hex();
            v.with_space(&p, |d, now| {
                sebaya_core::pairing::add_checkin(d, &id, m, &note, &me, now)
            })
        })?;
        Ok(id)
    }

    /// The pairing's check-ins, oldest first.
    pub fn checkins(&self, pairing_id: String) -> Result<Vec<PairCheckin>> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| {
            v.read_space(&p, |d| {
                sebaya_core::pairing::checkins(d)
                    .into_iter()
                    .map(|c| PairCheckin {
                        id: c.id,
                        mood: i32::from(c.mood),
                        note: c.note,
                        by: c.by,
                        at_ms: c.at_ms,
                    })
                    .collect()
            })
        })
    }

    /// Adds a goal to a pairing; returns its id.
    pub fn add_goal(&self, pairing_id: String, text: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            v.check_pairing_open(&p)?;
            v.with_space(&p, |d, now| {
                sebaya_core::pairing::add_goal(d, &id, &text, now)
            })
        })?;
        Ok(id)
    }

    /// Sets a goal's progress (0–100; 100 marks it reached).
    pub fn set_goal_progress(
        &self,
        pairing_id: String,
        goal_id: String,
        progress: i32,
    ) -> Result<()> {
        let p = parse_space(&pairing_id)?;
        let pr = small(progress, "progress")?;
        with(&self.inner, |v| {
            v.check_pairing_open(&p)?;
            v.with_space(&p, |d, now| {
                sebaya_core::pairing::set_goal_progress(d, &goal_id, pr, now)
            })
        })
    }

    /// The pairing's goals.
    pub fn goals(&self, pairing_id: String) -> Result<Vec<PairGoal>> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| {
            v.read_space(&p, |d| {
                sebaya_core::pairing::goals(d)
                    .into_iter()
                    .map(|g| PairGoal {
                        id: g.id,
                        text: g.text,
                        progress: i32::from(g.progress),
                        done: g.done,
                    })
                    .collect()
            })
        })
    }

    /// Sends a message in a pairing; returns its id.
    pub fn send_message(&self, pairing_id: String, text: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            v.check_pairing_open(&p)?;
            let me = v.device_id().to_hex();
            v.with_space(&p, |d, now| {
                sebaya_core::pairing::send_message(d, &id, &text, &me, now)
            })
        })?;
        Ok(id)
    }

    /// The pairing's messages, oldest first; a member this person blocked is left out (never a
    /// coordinator: `Moderation.block`).
    pub fn messages(&self, pairing_id: String) -> Result<Vec<PairMessage>> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| {
            Ok(v.visible_messages(&p)?
                .into_iter()
                .map(|m| PairMessage {
                    id: m.id,
                    text: m.text,
                    by: m.by,
                    at_ms: m.at_ms,
                })
                .collect())
        })
    }

    /// A peer supporter opens case notes about one pairing (`about`: an opaque reference, never a
    /// name) under the programme `programme_id`, shared only with the supervisor whose request code
    /// it scanned. The supervisor must be a coordinator there and shows
    /// `supervisor_presentation` (their `Training.certification_presentation`): `NotSupervisor`
    /// when it is empty or proves another role, `BadCredential` when it is damaged or someone
    /// else's; nothing is created then. Writing notes takes a peer supporter of the programme and
    /// reviewing them a coordinator, checked by every device.
    pub fn create_case_notes(
        &self,
        about: String,
        supervisor_request: String,
        supervisor_presentation: Vec<u8>,
        programme_id: String,
    ) -> Result<CreatedSpace> {
        let programme = parse_programme(&programme_id)?;
        let (id, response) = with(&self.inner, |v| {
            v.create_case_notes(
                &about,
                &supervisor_request,
                &supervisor_presentation,
                &programme,
            )
        })?;
        Ok(CreatedSpace {
            space_id: id.to_hex(),
            response,
        })
    }

    /// The supporter adds a case note; returns its id.
    pub fn add_case_note(&self, space_id: String, text: String) -> Result<String> {
        let s = parse_space(&space_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            let me = v.device_id().to_hex();
            v.with_space(&s, |d, now| {
                sebaya_core::pairing::casenotes::add_note(d, &id, &text, &me, now)
            })
        })?;
        Ok(id)
    }

    /// The supervisor comments on a case note.
    pub fn review_case_note(
        &self,
        space_id: String,
        note_id: String,
        text: String,
    ) -> Result<String> {
        let s = parse_space(&space_id)?;
        let id = new_id()?;
        with(&self.inner, |v| {
            let me = v.device_id().to_hex();
            v.with_space(&s, |d, now| {
                sebaya_core::pairing::casenotes::add_review(d, &id, &note_id, &text, &me, now)
            })
        })?;
        Ok(id)
    }

    /// Who is in the case notes and where each stands (supporter, supervisor, successor, or
    /// refused: beyond the cap). While any member is refused, writing notes and reviews throws
    /// `CaseNotesFull`; adding anyone through `Spaces.approve` throws it always.
    pub fn case_notes_members(&self, space_id: String) -> Result<Vec<CaseNotesMember>> {
        use sebaya_core::pairing::CaseNotesStanding as Core;
        let s = parse_space(&space_id)?;
        let members = with(&self.inner, |v| v.case_notes_members(&s))?;
        Ok(members
            .into_iter()
            .map(|m| CaseNotesMember {
                device_id: m.device.to_hex(),
                person_id: m.person.map(|p| hex::encode(p.0)),
                standing: match m.standing {
                    Core::Supporter => CaseNotesStanding::Supporter,
                    Core::Supervisor => CaseNotesStanding::Supervisor,
                    Core::Successor => CaseNotesStanding::Successor,
                    Core::Refused => CaseNotesStanding::Refused,
                },
            })
            .collect())
    }

    /// The case notes with their reviews, oldest first.
    pub fn case_notes(&self, space_id: String) -> Result<Vec<CaseNote>> {
        let s = parse_space(&space_id)?;
        with(&self.inner, |v| {
            v.read_space(&s, |d| {
                let reviews = sebaya_core::pairing::casenotes::reviews(d);
                sebaya_core::pairing::casenotes::notes(d)
                    .into_iter()
                    .map(|n| CaseNote {
                        reviews: reviews
                            .iter()
                            .filter(|r| r.note == n.id)
                            .map(|r| r.text.clone())
                            .collect(),
                        id: n.id,
                        text: n.text,
                        by: n.by,
                        at_ms: n.at_ms,
                    })
                    .collect()
            })
        })
    }

    /// The participant agrees to, or withdraws from, sharing with their supporter in a pairing; a
    /// withdrawal takes back everything shared there. Only the participant (`NotAllowed`).
    pub fn consent_to_sharing(&self, pairing_id: String, agreed: bool) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.consent_to_sharing(&p, agreed))
    }

    /// Shares one journal entry (text and mood) with the supporter; `NotAllowed` without consent.
    pub fn share_journal_entry(&self, pairing_id: String, entry_id: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.share_journal_entry(&p, &entry_id))
    }

    /// Shares a summary of the check-ins (weekly averages, streak; no entry text) in `locale`.
    pub fn share_checkin_summary(
        &self,
        pairing_id: String,
        utc_offset_min: i32,
        locale: String,
    ) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| {
            v.share_checkin_summary(&p, utc_offset_min, &locale)
        })
    }

    /// Shares the safety plan, as rendered text, with the supporter.
    pub fn share_safety_plan_text(&self, pairing_id: String, text: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.share_safety_plan_text(&p, &text))
    }

    /// Shares the safety plan as it stands (its summary in `locale`) with the supporter.
    pub fn share_safety_plan(&self, pairing_id: String, locale: String) -> Result<String> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.share_safety_plan(&p, &locale))
    }

    /// Takes one shared item back.
    pub fn unshare(&self, pairing_id: String, item_id: String) -> Result<()> {
        let p = parse_space(&pairing_id)?;
        with(&self.inner, |v| v.unshare(&p, &item_id))
    }

    /// What the participant shares in a pairing now (nothing while consent does not stand).
    pub fn shared_items(&self, pairing_id: String) -> Result<Vec<SharedItem>> {
        let p = parse_space(&pairing_id)?;
        let list = with(&self.inner, |v| v.shared_in_pairing(&p))?;
        Ok(list
            .into_iter()
            .map(|i| SharedItem {
                id: i.id,
                kind: SharedItemKind::from_id(&i.kind),
                text: i.text,
                mood: i.mood,
                source: i.source,
                consent: i.consent,
                at_ms: i.at_ms,
            })
            .collect())
    }

    /// Offboarding, on the leaving supporter's device (an admin of the space): hands a pairing or
    /// case notes over to the person whose device showed `successor_request` (its `link_request`
    /// code), who shows `presentation` (their `certification_presentation`). In a programme's space
    /// the successor must be a coordinator, or a peer supporter with current required training
    /// (`NotAllowed`, `NotCertified`, `BadCredential` otherwise; nothing changes). The successor
    /// becomes an admin and every device of this person leaves the space; the successor's device
    /// changes the key at its first sync. Returns the response code for the successor's
    /// `Spaces.join`; sync this device right after.
    pub fn hand_over(
        &self,
        space_id: String,
        successor_request: String,
        presentation: Vec<u8>,
    ) -> Result<String> {
        let space = parse_space(&space_id)?;
        with(&self.inner, |v| {
            v.hand_over_space(&space, &successor_request, &presentation)
        })
    }
}
