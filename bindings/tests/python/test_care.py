"""Care records through the Python bindings: enrolment, consent, the risk escalation ladder across
three devices through a real relay on loopback, and the texts people see, in both languages."""

import subprocess
import sys
import time

import pytest

from conftest import certify_facilitation, trained_programme
from sebaya import (
    Attendance,
    CareNotice,
    CareViewer,
    ConsentPurpose,
    CrisisChannel,
    CrisisResourceKind,
    Instrument,
    OnCallState,
    ProgrammeRole,
    ReferralOrigin,
    ReferralReason,
    ReferralState,
    ReminderFor,
    ReminderKind,
    RiskFlag,
    SafetyStep,
    SebayaError,
    SharedItemKind,
    Vault,
    consent_text,
    duty_of_care_limits,
    emergency_help,
    generate_master_key,
    localized_message,
    notice_message_id,
    on_call_message_id,
)

DUTY = ConsentPurpose.DUTY_OF_CARE()
# Indonesia's built-in lines, in order: SEJIWA, healing119.id (web), SAPA 129 and its WhatsApp line,
# then the emergency numbers 119, 110 and 112.
BUILT_IN_ID = [("119", "8"), ("", None), ("129", None), ("+628111129129", None), ("119", None), ("110", None), ("112", None)]
PHQ9 = Instrument.PHQ9()


def person(path) -> Vault:
    v = Vault.open(str(path), generate_master_key())
    v.create_person()
    return v


def three_devices(tmp_path, relay):
    coord, sup, part = (person(tmp_path / f"{n}.db") for n in ("c", "s", "p"))
    pid = coord.programmes().create("PIK-R SMA 1")
    grant = coord.programmes().grant_role(pid, sup.person_id(), ProgrammeRole.PEER_SUPPORTER(), valid_days=90)
    sup.programmes().add_credential(grant.credential)
    enrol = coord.care().enrol(part.link_request(), pid)
    part.spaces().join(enrol.response)
    sup.spaces().join(coord.spaces().approve_member(enrol.care_id, sup.link_request()))
    for v in (coord, part, sup):
        v.sync(relay.url)
    return coord, sup, part, enrol.care_id, pid


def test_a_risk_answer_reaches_the_coordinator_and_the_acknowledgement_comes_back(tmp_path, relay):
    coord, sup, part, care, _ = three_devices(tmp_path, relay)
    text = consent_text(DUTY, "id")
    assert text.version == "1" and text.text and text.title and text.purpose == DUTY
    part.care().give_consent(care, DUTY, True)
    part.sync(relay.url)
    assert [r.viewer for r in part.care().records()] == [CareViewer.PARTICIPANT()]
    assert [r.viewer for r in coord.care().records()] == [CareViewer.COORDINATOR()]

    esc = part.care().submit_screening(PHQ9, bytes([0, 0, 0, 0, 0, 0, 0, 0, 1]), "ID")
    assert esc.rules == [RiskFlag.PHQ9_ITEM9()]
    assert esc.show_safety_plan
    assert [(r.number, r.extension) for r in esc.resources] == BUILT_IN_ID
    assert len(esc.referrals) == 1
    assert esc.notices == [CareNotice.NOT_TOLD_YET]
    (mine,) = part.care().referrals(care)
    assert (mine.state, mine.told, mine.notice, mine.verified) == (
        ReferralState.QUEUED(), False, CareNotice.NOT_TOLD_YET, True)
    part.sync(relay.url)
    assert part.care().referrals(care)[0].state == ReferralState.SENT()
    # Sent is not told: the participant reads that no coordinator has answered yet (issue 14, item 4).
    assert part.care().referrals(care)[0].notice == CareNotice.SENT_NO_ANSWER

    sup.sync(relay.url)
    (seen,) = sup.care().referrals(care)
    assert seen.reason is None and not seen.told
    assert seen.origin == ReferralOrigin.PARTICIPANT()  # never "rule": that would tell the answer
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().update_referral(care, seen.id, ReferralState.ACKNOWLEDGED())

    coord.sync(relay.url)
    (inbox,) = coord.care().referral_inbox()
    assert inbox.reason == ReferralReason.PHQ9_ITEM9()
    coord.care().update_referral(care, inbox.id, ReferralState.ACKNOWLEDGED())
    coord.sync(relay.url)
    part.sync(relay.url)
    (back,) = part.care().referrals(care)
    assert back.told and back.state == ReferralState.ACKNOWLEDGED() and back.notice == CareNotice.TOLD
    assert back.time_to_acknowledge_ms is not None and back.time_to_acknowledge_ms >= 0
    assert [s.total for s in part.care().screenings()] == [1]
    assert sup.care().screenings() == []


def test_consent_is_the_participants_and_withdrawal_stops_automatic_referrals(tmp_path, relay):
    coord, sup, part, care, pid = three_devices(tmp_path, relay)
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().give_consent(care, DUTY, True)
    with pytest.raises(SebayaError.InvalidInput):
        part.care().give_consent(care, ConsentPurpose.UNKNOWN(raw="marketing"), True)
    coord.care().record_guardian_consent(care, ConsentPurpose.DATA_PROCESSING(), "ibu", None, True)
    part.care().give_consent(care, DUTY, True)
    part.care().give_consent(care, DUTY, False)
    assert not part.care().has_consent(care, DUTY)
    esc = part.care().submit_screening(Instrument.SRQ20(), bytes([0] * 16 + [1] + [0] * 3), "id")
    assert esc.rules == [RiskFlag.SRQ20_ITEM17()] and esc.referrals == [] and esc.not_referred == [care]
    assert len(part.care().ask_for_help("id").referrals) == 1
    part.sync(relay.url)
    coord.sync(relay.url)
    ledger = coord.care().consent_ledger(care)
    assert [(e.purpose, e.agreed, e.guardian_relation) for e in ledger] == [
        (DUTY, True, None),
        (DUTY, False, None),
        (ConsentPurpose.DATA_PROCESSING(), True, "ibu"),  # recorded without a form reference
    ]
    assert [r.reason for r in coord.care().referral_inbox()] == [ReferralReason.HELP_NOW()]
    with pytest.raises(SebayaError.InvalidInput):
        part.care().submit_screening(PHQ9, bytes([4] * 9), "id")
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().set_crisis_resources(pid, "id", '[{"kind":"other","name":"x","number":"1"}]')


def test_a_programmes_own_lines_come_first_and_the_national_numbers_stay(tmp_path, relay):
    """Issue 14, item 16: a programme adds a WhatsApp line with its hours; it never removes 119/110/112."""
    coord, _, part, _, pid = three_devices(tmp_path, relay)
    own = (
        '[{"kind":"crisis-line","name":"Konseling Sekolah","channel":"whatsapp","number":"+62811000111",'
        '"hours":"07:00-15:00","verified_on":"2026-11-30","source":"surat sekolah"}]'
    )
    with pytest.raises(SebayaError.InvalidInput):  # a web line needs an https address
        coord.care().set_crisis_resources(pid, "id", '[{"kind":"other","name":"x","channel":"web","url":"http://x"}]')
    assert coord.care().set_crisis_resources(pid, "id", own) == 1
    coord.sync(relay.url)
    part.sync(relay.url)
    got = part.care().crisis_resources("id")
    assert (got[0].name, got[0].channel, got[0].hours) == ("Konseling Sekolah", CrisisChannel.WHATSAPP(), "07:00-15:00")
    assert [r.number for r in got[1:]] == ["119", "110", "112"]
    assert all(r.kind == CrisisResourceKind.EMERGENCY() for r in got[1:])


def test_no_one_told_is_said_plainly(tmp_path, relay):
    """Issue 14, item 4: with no programme, or no consent, the escalation says no one will be told."""
    alone = person(tmp_path / "alone.db")
    esc = alone.care().submit_screening(PHQ9, bytes([0, 0, 0, 0, 0, 0, 0, 0, 1]), "id")
    assert esc.notices == [CareNotice.NO_ONE_TOLD_NO_PROGRAMME] and esc.resources
    assert alone.care().ask_for_help("id").notices == [CareNotice.NO_ONE_TOLD_NO_PROGRAMME]
    assert alone.care().submit_screening(PHQ9, bytes(9), "id").notices == []
    _, _, part, care, _ = three_devices(tmp_path, relay)
    esc = part.care().submit_screening(PHQ9, bytes([0, 0, 0, 0, 0, 0, 0, 0, 1]), "id")
    assert esc.notices == [CareNotice.NO_ONE_TOLD_NO_CONSENT] and esc.not_referred == [care]
    for notice in CareNotice:
        for locale in ("id", "en"):
            mid = notice_message_id(notice)
            assert localized_message(mid, locale) != mid


def test_no_coordinator_never_blocks_help_and_the_caseload_shows_what_waits(tmp_path, relay):
    """Issue 14, items 2 and 3: a record with no coordinator keeps the referral for the first one
    added and says so; the programme's deadline travels; the caseload lists open referrals."""
    coord, sup, part = (person(tmp_path / f"{n}.db") for n in ("c", "s", "p"))
    pid = coord.programmes().create("PIK-R SMA 3")
    sup.programmes().add_credential(
        coord.programmes().grant_role(pid, sup.person_id(), ProgrammeRole.PEER_SUPPORTER(), valid_days=90).credential)
    enrol = sup.care().enrol(part.link_request(), pid)  # the supporter enrols: no coordinator yet
    care = enrol.care_id
    part.spaces().join(enrol.response)
    sup.sync(relay.url)
    part.sync(relay.url)
    part.care().give_consent(care, DUTY, True)
    assert [r.coordinators for r in part.care().records()] == [0]
    esc = part.care().submit_screening(PHQ9, bytes([0, 0, 0, 0, 0, 0, 0, 0, 1]), "id")
    assert len(esc.referrals) == 1 and esc.resources  # help is never blocked
    assert [(c.care_id, c.count) for c in esc.coordinators] == [(care, 0)]
    assert esc.notices == [CareNotice.NO_COORDINATOR_YET, CareNotice.NOT_TOLD_YET]
    part.sync(relay.url)
    sup.sync(relay.url)
    (seen,) = sup.care().referrals(care)
    assert (seen.coordinators, seen.notice, seen.overdue) == (0, CareNotice.NO_COORDINATOR_YET, False)
    coord.spaces().join(sup.spaces().approve_member(care, coord.link_request()))
    sup.sync(relay.url)
    coord.sync(relay.url)
    (waiting,) = coord.care().caseload()
    # Sealed while the record had no coordinator, so for no one: a risk rule fired, not which item.
    assert waiting.origin == ReferralOrigin.RULE() and waiting.reason is None and waiting.reason_sealed
    assert waiting.acknowledged_by is None
    assert waiting.age_ms >= 0 and not waiting.overdue
    with pytest.raises(SebayaError.InvalidInput):
        coord.care().set_ack_deadline(pid, 0)
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().set_ack_deadline(pid, 4)
    assert part.care().ack_deadline_hours(care) == 24
    assert coord.care().set_ack_deadline(pid, 4) == 1
    coord.care().update_referral(care, waiting.id, ReferralState.ACKNOWLEDGED())
    coord.sync(relay.url)
    coord.sync(relay.url)
    part.sync(relay.url)
    assert part.care().ack_deadline_hours(care) == 4
    for locale in ("id", "en"):  # the expected response time, stated (issue 14, item 4)
        assert "4" in localized_message("care-response-time", locale, str(part.care().ack_deadline_hours(care)))
    assert [r.coordinators for r in part.care().records()] == [1]
    (acked,) = coord.care().caseload()
    assert acked.acknowledged_by is not None and acked.notice == CareNotice.TOLD
    assert part.care().caseload() == []


def test_on_call_coordinators_are_counted_and_a_rule_referrals_reason_is_sealed_for_them(tmp_path, relay):
    """Issue 14, items 2 and 13: the programme names its on-call coordinators; fewer than two is a
    warning (at enrolment too), never a gate; the escalation counts coordinators per programme; a
    coordinator opens the rule referral's reason, the supporter and the participant hold ciphertext."""
    coord, sup, part, care, pid = three_devices(tmp_path, relay)
    st = sup.care().on_call_status(care)
    assert (st.declared, st.state, st.warning) == (0, OnCallState.NOT_DECLARED, True)
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().set_on_call(pid, [coord.person_id()])
    with pytest.raises(SebayaError.InvalidInput):
        coord.care().set_on_call(pid, [])
    assert coord.care().set_on_call(pid, [coord.person_id()]) == 1
    st = coord.care().on_call_status(care)
    assert (st.declared, st.on_call, st.coordinators, st.state, st.warning) == (
        1, 1, 1, OnCallState.FEWER_THAN_TWO_ON_CALL, True)
    for state in OnCallState:
        for locale in ("id", "en"):
            assert localized_message(on_call_message_id(state), locale) != on_call_message_id(state)
    c2 = person(tmp_path / "c2.db")
    c2.programmes().add_credential(
        coord.programmes().grant_role(pid, c2.person_id(), ProgrammeRole.COORDINATOR(), valid_days=90).credential)
    c2.spaces().join(coord.spaces().approve_member(care, c2.link_request()))
    coord.sync(relay.url)
    c2.sync(relay.url)
    c2.sync(relay.url)
    assert coord.care().set_on_call(pid, [coord.person_id(), c2.person_id()]) == 1
    for v in (coord, c2, sup, part):
        v.sync(relay.url)
    st = sup.care().on_call_status(care)
    assert (st.declared, st.on_call, st.coordinators, st.state, st.warning) == (2, 2, 2, OnCallState.READY, False)
    # A new enrolment reaches no coordinator yet: the warning shows, and nothing waits on it.
    enrol = sup.care().enrol(person(tmp_path / "p2.db").link_request(), pid)
    assert (enrol.on_call.declared, enrol.on_call.coordinators, enrol.on_call.state, enrol.on_call.warning) == (
        2, 0, OnCallState.FEWER_THAN_TWO_REACHED, True)

    part.care().give_consent(care, DUTY, True)
    part.sync(relay.url)
    esc = part.care().submit_screening(PHQ9, bytes([0, 0, 0, 0, 0, 0, 0, 0, 1]), "id")
    assert [(p.programme_id, p.count) for p in esc.programmes] == [(pid, 2)]
    part.sync(relay.url)
    for v in (sup, coord, c2):
        v.sync(relay.url)
    (seen,) = sup.care().referrals(care)
    # Nothing that would tell a rule's referral from a call for help: one origin, nothing sealed shown.
    assert (seen.origin, seen.reason, seen.reason_sealed) == (ReferralOrigin.PARTICIPANT(), None, False)
    (own,) = part.care().referrals(care)
    assert own.reason is None and own.reason_sealed
    for v in (coord, c2):
        (r,) = v.care().referral_inbox()
        assert (r.origin, r.reason, r.reason_sealed) == (ReferralOrigin.RULE(), ReferralReason.PHQ9_ITEM9(), True)


def test_a_screening_given_by_a_supporter_escalates_and_shows_no_score(tmp_path, relay):
    """Issue 14, item 9: read aloud and entered by the supporter; the same rules; no score or band."""
    coord, sup, part, care, _ = three_devices(tmp_path, relay)
    part.care().give_consent(care, DUTY, True)
    part.sync(relay.url)
    sup.sync(relay.url)
    with pytest.raises(SebayaError.NotAllowed):
        part.care().submit_screening_for(care, PHQ9, bytes(9), "id")
    esc = sup.care().submit_screening_for(care, PHQ9, bytes([1, 1, 2, 1, 0, 0, 1, 0, 2]), "id")
    assert esc.score is None and esc.rules == [RiskFlag.PHQ9_ITEM9()] and len(esc.referrals) == 1
    assert esc.resources and esc.show_safety_plan
    sup.sync(relay.url)
    coord.sync(relay.url)
    (r,) = coord.care().referral_inbox()
    assert (r.origin, r.reason, r.verified) == (ReferralOrigin.ADMINISTERED(), ReferralReason.PHQ9_ITEM9(), True)


def test_a_minors_sharing_and_reporting_wait_for_a_guardian_but_help_never_does(tmp_path, relay):
    """Issue 14, item 15 (UU 27/2022: a parent's or guardian's consent for a child's data)."""
    coord, sup, part, care, _ = three_devices(tmp_path, relay)
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().mark_minor(care)
    coord.care().mark_minor(care)
    for v in (coord, part, sup):
        v.sync(relay.url)
    assert [r.minor for r in part.care().records()] == [True]
    assert len(part.care().ask_for_help("id").referrals) == 1  # help never waits
    pairing = sup.pairings().create(part.link_request(), trained_programme(sup))
    part.spaces().join(pairing.response)
    sup.sync(relay.url)
    part.sync(relay.url)
    with pytest.raises(SebayaError.NotAllowed):
        part.pairings().consent_to_sharing(pairing.space_id, True)
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().record_guardian_consent(care, ConsentPurpose.SHARE_WITH_SUPPORTER(), "ibu", "F-1", True)
    coord.care().record_guardian_consent(care, ConsentPurpose.SHARE_WITH_SUPPORTER(), "ibu", "formulir 2026/041", True)
    coord.care().record_guardian_consent(care, ConsentPurpose.PAIRING(), "ibu", "formulir 2026/041", True)
    coord.sync(relay.url)
    part.sync(relay.url)
    part.pairings().consent_to_sharing(pairing.space_id, True)
    part.care().give_consent(care, ConsentPurpose.REPORT_OUTCOMES(), True)
    part.care().submit_screening(Instrument.WHO5(), bytes([3, 3, 3, 3, 3]), "id")
    assert part.programmes().publish_outcomes() == 0  # waits for a guardian
    with pytest.raises(SebayaError.InvalidInput):
        coord.care().record_best_interests_exception(care, ConsentPurpose.REPORT_OUTCOMES(), " ")
    coord.care().record_best_interests_exception(care, ConsentPurpose.REPORT_OUTCOMES(), "wali tidak dapat dihubungi")
    coord.sync(relay.url)
    part.sync(relay.url)
    assert part.programmes().publish_outcomes() > 0
    forms = [e.form_reference for e in coord.care().consent_ledger(care) if e.guardian_relation]
    assert forms == ["formulir 2026/041", "formulir 2026/041"]  # sharing, and the pairing itself
    young = person(tmp_path / "y.db")
    enrol = coord.care().enrol_minor(young.link_request(), coord.care().records()[0].programme)
    young.spaces().join(enrol.response)
    coord.sync(relay.url)
    young.sync(relay.url)
    assert [r.minor for r in young.care().records()] == [True]


def test_a_minors_pairing_waits_for_a_guardian_and_help_never_does(tmp_path, relay):
    """Issue 14, item 15: the pairing itself waits for a guardian's consent to `pairing` (with the
    signed form's reference), on the participant's phone and the supporter's; it is kept meanwhile."""
    coord, sup, part, care, _ = three_devices(tmp_path, relay)
    coord.care().mark_minor(care)
    for v in (coord, part, sup):
        v.sync(relay.url)
    pairing = sup.pairings().create(part.link_request(), trained_programme(sup))
    part.spaces().join(pairing.response)
    sup.sync(relay.url)
    part.sync(relay.url)
    for v in (sup, part):
        st = v.pairings().standing(pairing.space_id)
        assert st.waiting_for_guardian and not st.outside_programme
    with pytest.raises(SebayaError.NotAllowed):
        part.pairings().send_message(pairing.space_id, "halo")
    with pytest.raises(SebayaError.NotAllowed):
        sup.pairings().add_goal(pairing.space_id, "tidur cukup")
    tomorrow = int(time.time()) + 86400
    with pytest.raises(SebayaError.NotAllowed):  # a task's text is a message too (review M1)
        sup.reminders().add(pairing.space_id, ReminderKind.TASK, ReminderFor.PARTICIPANT, "WA 0812", tomorrow, 420, 0)
    with pytest.raises(SebayaError.NotAllowed):
        part.reminders().add(pairing.space_id, ReminderKind.TASK, ReminderFor.SUPPORTER, "WA 0812", tomorrow, 420, 0)
    assert len(part.care().ask_for_help("id").referrals) == 1  # help never waits
    with pytest.raises(SebayaError.InvalidInput):  # a guardian's, not the participant's
        part.care().give_consent(care, ConsentPurpose.PAIRING(), True)
    # A missing text falls back to English, then to its key: check a word of each language.
    for locale, word in (("id", "wali"), ("en", "guardian")):
        text = consent_text(ConsentPurpose.PAIRING(), locale)
        assert word in text.text and text.title != "consent-pairing-title" and text.version == "1"
        assert localized_message("pairing-waiting-for-guardian", locale) != "pairing-waiting-for-guardian"
    assert consent_text(ConsentPurpose.PAIRING(), "id").text != consent_text(ConsentPurpose.PAIRING(), "en").text
    assert consent_text(ConsentPurpose.PAIRING(), "id").title != consent_text(ConsentPurpose.PAIRING(), "en").title
    coord.care().record_guardian_consent(care, ConsentPurpose.PAIRING(), "ibu", "formulir 2026/052", True)
    coord.sync(relay.url)
    for v in (sup, part):
        v.sync(relay.url)
        assert not v.pairings().standing(pairing.space_id).waiting_for_guardian
    part.pairings().send_message(pairing.space_id, "halo")
    part.reminders().add(pairing.space_id, ReminderKind.TASK, ReminderFor.SUPPORTER, "tidur cukup", tomorrow, 420, 0)


def test_duty_of_care_may_be_a_condition_of_joining(tmp_path, relay):
    """Issue 14, item 15: a coordinator's programme setting; the limits of confidentiality are told
    before agreeing; enrolment without the participant's agreement is refused, typed."""
    coord, sup, part = (person(tmp_path / f"{n}.db") for n in ("c", "s", "p"))
    pid = coord.programmes().create("PIK-R SMA 3")
    grant = coord.programmes().grant_role(pid, sup.person_id(), ProgrammeRole.PEER_SUPPORTER(), valid_days=90)
    sup.programmes().add_credential(grant.credential)
    assert not coord.care().duty_of_care_required(pid)
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().set_duty_of_care_required(pid, True)
    assert coord.care().set_duty_of_care_required(pid, True) == 0  # no record yet: kept here
    assert coord.care().duty_of_care_required(pid)
    for locale, word in (("id", "layanan darurat"), ("en", "emergency services")):
        limits = duty_of_care_limits(locale)
        assert word in limits.text and limits.title != "consent-duty-of-care-limits-title"
        assert limits.purpose == DUTY and limits.version == "1"
    assert duty_of_care_limits("id").text != duty_of_care_limits("en").text
    with pytest.raises(SebayaError.DutyOfCareRequired) as err:
        coord.care().enrol(part.link_request(), pid)
    assert err.value.message_id == "error-duty-of-care-required"
    for locale in ("id", "en"):
        assert localized_message(err.value.message_id, locale) != err.value.message_id
    assert coord.care().records() == []
    enrol = coord.care().enrol_with_duty_of_care(part.link_request(), pid, False)
    part.spaces().join(enrol.response)
    sup.spaces().join(coord.spaces().approve_member(enrol.care_id, sup.link_request()))
    for v in (coord, part, sup):
        v.sync(relay.url)
    assert [r.duty_of_care_required for r in part.care().records()] == [True]
    part.care().give_consent(enrol.care_id, DUTY, True)
    # The supporter holds a record of the programme now, and is bound by the setting too.
    assert sup.care().duty_of_care_required(pid)
    with pytest.raises(SebayaError.DutyOfCareRequired):
        sup.care().enrol(person(tmp_path / "o.db").link_request(), pid)


def test_care_texts_exist_in_both_languages_and_notifications_are_neutral():
    for locale in ("id", "en"):
        for key in ("care-not-told-yet", "referral-refer-now", "crisis-kind-crisis-line", "notify-neutral",
                    "crisis-kind-protection", "crisis-channel-whatsapp", "crisis-channel-web",
                    "crisis-hours-always", "crisis-partial-coverage"):
            assert localized_message(key, locale) != key
        assert "mental" not in localized_message("notify-neutral", locale).lower()
    assert localized_message("care-told", "id") != localized_message("care-told", "en")


def test_sharing_needs_the_participants_consent_and_withdrawal_takes_it_back(tmp_path, relay):
    sup, part = person(tmp_path / "s.db"), person(tmp_path / "p.db")
    pairing = sup.pairings().create(part.link_request(), trained_programme(sup))
    part.spaces().join(pairing.response)
    sup.sync(relay.url)
    part.sync(relay.url)
    j = part.journal()
    j.add("Rahasia.", 2, [])
    chosen = j.add("Aku berani bicara.", 4, [])
    with pytest.raises(SebayaError.NotAllowed):
        part.pairings().share_journal_entry(pairing.space_id, chosen)
    with pytest.raises(SebayaError.NotAllowed):
        sup.pairings().consent_to_sharing(pairing.space_id, True)
    part.pairings().consent_to_sharing(pairing.space_id, True)
    part.pairings().share_journal_entry(pairing.space_id, chosen)
    part.pairings().share_checkin_summary(pairing.space_id, 420, "en")
    part.sync(relay.url)
    sup.sync(relay.url)
    seen = sup.pairings().shared_items(pairing.space_id)
    kinds = [s.kind for s in seen]
    assert len(kinds) == 2
    assert SharedItemKind.CHECKIN_SUMMARY() in kinds and SharedItemKind.JOURNAL_ENTRY() in kinds
    assert [s.text for s in seen if s.kind == SharedItemKind.JOURNAL_ENTRY()] == ["Aku berani bicara."]
    assert "Rahasia" not in repr(seen)
    part.pairings().consent_to_sharing(pairing.space_id, False)
    part.sync(relay.url)
    sup.sync(relay.url)
    assert sup.pairings().shared_items(pairing.space_id) == []


def test_export_everything_and_lock_now(tmp_path, relay):
    import json

    from sebaya import lock_now

    coord, sup, part, care, _ = three_devices(tmp_path, relay)
    part.journal().add("Catatan pribadiku.", 3, [])
    part.care().give_consent(care, DUTY, True)
    exported = json.loads(part.export_all())
    assert exported["schema"] == "sebaya-export/1"
    assert [e["text"] for e in exported["journal"]] == ["Catatan pribadiku."]
    assert exported["care_records"][0]["consents"][0]["purpose"] == "duty-of-care"
    assert "Catatan" not in sup.export_all()
    # Lock now: every open vault at once, its journals and peer sessions too.
    journal = part.journal()
    session = part.nearby().start_session(False)
    assert lock_now() >= 3
    for call in (part.device_id, coord.care().records, sup.export_all, journal.list,
                 session.take_outgoing, session.is_finished, session.report):
        with pytest.raises(SebayaError.Locked):
            call()


def test_a_programme_report_from_published_counts_with_small_cells_suppressed(tmp_path, relay):
    coord, sup, part, care, pid = three_devices(tmp_path, relay)
    report = coord.programmes().create_report_space(pid)
    sup.spaces().join(coord.spaces().approve_member(report, sup.link_request()))
    coord.sync(relay.url)
    gid = sup.groups().create("Kelompok Kamis", programme_id=pid)
    part.groups().join(sup.spaces().approve_member(gid, part.link_request()))
    certify_facilitation(coord, sup, pid)
    start = 1767225600000
    week = 7 * 86400000
    for i in range(5):
        sid = sup.groups().add_session(gid, start + i * week, "Sesi")
        sup.groups().set_attendance(gid, sid, part.device_id(), Attendance.PRESENT())
    sup.sync(relay.url)
    assert sup.programmes().publish_activity(report, start, start + 10 * week) == 5
    part.care().ask_for_help("id")
    for v in (sup, part, coord):
        v.sync(relay.url)
    r = coord.programmes().report(pid, start, start + 10 * week, "id")
    values = {m.id: m.value for m in r.metrics}
    assert values["sessions.held"] == 5
    assert values["referrals.total"] is None
    assert "referrals.total" in r.suppressed
    assert "<5" in r.csv and '"sebaya-report/1"' in r.json
    assert all(m.label and m.label != m.id for m in r.metrics)


def test_the_safety_plan_is_shared_as_its_summary(tmp_path, relay):
    sup, part = person(tmp_path / "s.db"), person(tmp_path / "p.db")
    pairing = sup.pairings().create(part.link_request(), trained_programme(sup))
    part.spaces().join(pairing.response)
    sup.sync(relay.url)
    part.sync(relay.url)
    part.pairings().consent_to_sharing(pairing.space_id, True)
    with pytest.raises(SebayaError.InvalidInput):
        part.pairings().share_safety_plan(pairing.space_id, "en")
    part.care().add_safety_plan_item(SafetyStep.WARNING_SIGNS(), "Susah tidur")
    part.pairings().share_safety_plan(pairing.space_id, "en")
    part.sync(relay.url)
    sup.sync(relay.url)
    (item,) = sup.pairings().shared_items(pairing.space_id)
    assert item.kind == SharedItemKind.SAFETY_PLAN() and "Susah tidur" in item.text


def test_erasing_an_entry_destroys_the_key_on_every_device(tmp_path, relay):
    phone = Vault.open(str(tmp_path / "phone.db"), generate_master_key())
    phrase = phone.create_person()
    tablet = Vault.open(str(tmp_path / "tablet.db"), generate_master_key())
    tablet.complete_link(phone.approve_link(tablet.link_request()))
    j = phone.journal()
    j.add("Tetap.", 4, [])
    secret = j.add("Hapus aku.", 1, [])
    phone.sync(relay.url)
    tablet.sync(relay.url)
    assert len(tablet.journal().list()) == 2
    with pytest.raises(SebayaError.NotFound):
        phone.journal().erase(["0000000000000000"])
    phone.journal().erase([secret])
    assert [e.text for e in phone.journal().list()] == ["Tetap."]
    phone.sync(relay.url)
    tablet.sync(relay.url)
    tablet.sync(relay.url)
    assert [e.text for e in tablet.journal().list()] == ["Tetap."]
    restored = Vault.open(str(tmp_path / "restored.db"), generate_master_key())
    restored.restore_person(phrase)
    restored.sync(relay.url)
    restored.sync(relay.url)
    assert [e.text for e in restored.journal().list()] == ["Tetap."]


def test_emergency_help_needs_no_vault_and_speaks_both_languages():
    """The lock screen's "I need help now": no vault, no passcode, no network."""
    ind = emergency_help("ID", "in")  # old Android's code for Indonesian
    assert [(r.number, r.extension) for r in ind.resources] == BUILT_IN_ID
    # Every line says how to reach it and when it was last checked, and where from (issue 14, item 16).
    assert [r.channel for r in ind.resources[:4]] == [
        CrisisChannel.PHONE(), CrisisChannel.WEB(), CrisisChannel.PHONE(), CrisisChannel.WHATSAPP()]
    assert ind.resources[1].url == "https://healing119.id"
    assert ind.resources[2].kind == CrisisResourceKind.PROTECTION()
    assert all(r.verified_on and r.source for r in ind.resources)
    assert [r.number for r in ind.resources if r.partial_coverage] == ["112"]
    assert not ind.country_unknown
    assert ind.title == localized_message("help-now-title", "id")
    assert ind.steps[0] == localized_message("help-now-call", "id")
    assert len(ind.steps) == 4
    en = emergency_help("id", "en")
    assert en.resources == ind.resources and en.title != ind.title
    bad = emergency_help("Indonesia", "en")
    assert bad.country_unknown and bad.resources == ind.resources
    elsewhere = emergency_help("ke", "en")
    assert elsewhere.resources == [] and elsewhere.steps[0] == localized_message("crisis-none", "en")


def test_a_risk_answer_shows_the_crisis_lines_whatever_else_fails(tmp_path, relay):
    coord, sup, part, care, _ = three_devices(tmp_path, relay)
    part.care().give_consent(care, DUTY, True)
    # A country code the app got wrong: the numbers are shown all the same, and it is flagged.
    esc = part.care().submit_screening(PHQ9, bytes([0] * 8 + [3]), "Indonesia")
    assert esc.country_unknown and esc.resources and esc.saved
    assert len(esc.referrals) == 1 and esc.failed == []
    # Nothing can be written (another process holds the vault file's write lock; POSIX locks do not
    # separate two SQLite libraries in one process, so it must be another process): still scored,
    # still the numbers, and the record that could not be told is named.
    hold = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('held', flush=True)\n"
        "sys.stdin.readline()\n"
        "c.execute('ROLLBACK')\n"
    )
    blocker = subprocess.Popen(
        [sys.executable, "-c", hold, str(tmp_path / "p.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert blocker.stdout.readline().strip() == "held"
        esc = part.care().submit_screening(PHQ9, bytes([0] * 8 + [1]), "id")
        help_now = part.care().ask_for_help("id")
    finally:
        blocker.communicate("done\n", timeout=30)
    assert esc.score.total == 1 and esc.rules == [RiskFlag.PHQ9_ITEM9()]
    assert esc.resources and not esc.saved
    assert esc.referrals == [] and esc.failed == [care]
    assert help_now.resources and help_now.failed == [care]
    # Once the file can be written again, a call for help goes through.
    again = part.care().ask_for_help("id")
    assert len(again.referrals) == 1 and again.failed == []
    part.sync(relay.url)
    coord.sync(relay.url)
    # What could not be saved stayed in memory and went out once the file could be written: better a
    # late referral than none. So the coordinator has all four.
    reasons = [r.reason for r in coord.care().referral_inbox()]
    assert len(reasons) == 4
    assert reasons.count(ReferralReason.HELP_NOW()) == 2 and reasons.count(ReferralReason.PHQ9_ITEM9()) == 2
    assert localized_message("care-referral-failed", "id") != localized_message(
        "care-referral-failed", "en"
    )
