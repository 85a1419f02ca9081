"""Reports and blocks through the Python bindings (issue 18, item 2; protocol 31): a member's report
reaches the programme's coordinators sealed in the reporter's care record, never the reported member;
bad reports are refused; a block hides a member's notes on the blocker's devices only, never a
coordinator, never a referral; the facilitator's notice names the blocked member, not the blocker."""

import pytest

from sebaya import (
    ProgrammeRole,
    ReferralReason,
    ReportReason,
    ReportRoute,
    ReportTarget,
    SebayaError,
    Vault,
    generate_master_key,
)


def person(path) -> Vault:
    v = Vault.open(str(path), generate_master_key())
    v.create_person()
    return v


def world(tmp_path, relay):
    coord, fac, p1, p2 = (person(tmp_path / f"{n}.db") for n in ("c", "f", "p1", "p2"))
    pid = coord.programmes().create("Kelompok Sebaya SMP 2")
    grant = coord.programmes().grant_role(pid, fac.person_id(), ProgrammeRole.PEER_SUPPORTER(), valid_days=90)
    fac.programmes().add_credential(grant.credential)
    enrol = coord.care().enrol(p1.link_request(), pid)
    p1.spaces().join(enrol.response)
    group = fac.groups().create("Kelompok", pid)
    for p in (p1, p2):
        p.spaces().join(fac.spaces().approve_member(group, p.link_request(), False))
    # The programme's safeguarding space, which the facilitator joins as supporters do: where a
    # coordinator's device passes reports on to them.
    sg = coord.care().create_safeguarding_space(pid)
    fac.spaces().join(coord.spaces().approve_member(sg, fac.link_request()))
    for v in (coord, fac, p1, p2, fac, p1, p2, coord):
        v.sync(relay.url)
    return coord, fac, p1, p2, group, enrol.care_id


def test_a_report_reaches_the_coordinators_and_never_the_reported_member(tmp_path, relay):
    coord, fac, p1, p2, group, care = world(tmp_path, relay)
    note = p2.groups().add_note(group, "kamu tidak berguna", "judul")
    p2.sync(relay.url)
    p1.sync(relay.url)
    rid = p1.moderation().report(group, ReportTarget.NOTE(), note, ReportReason.HARASSMENT(), "sudah dua kali")
    p1.sync(relay.url)
    coord.sync(relay.url)
    (r,) = coord.moderation().reports()
    assert (r.id, r.care_id, r.space_id, r.record) == (rid, care, group, note)
    assert r.target == ReportTarget.NOTE() and r.reason == ReportReason.HARASSMENT()
    assert r.route == ReportRoute.FACILITATOR_AND_COORDINATORS()
    assert r.facilitators == [fac.device_id()]
    assert r.about == p2.device_id() and r.reporter == p1.person_id()
    assert r.copy == "judul\nkamu tidak berguna" and r.text == "sudah dua kali" and not r.mine
    (mine,) = p1.moderation().reports()
    assert mine.mine
    # Passed on to the facilitator, without the reporter.
    coord.sync(relay.url)
    fac.sync(relay.url)
    (copy,) = fac.moderation().reports()
    assert (copy.passed_on, copy.reporter, copy.about) == (True, None, p2.device_id())
    # Its own id, which a facilitator cannot link to the report in the reporter's care record.
    assert copy.id != rid and copy.care_id != care and copy.facilitators == []
    assert copy.reason == ReportReason.HARASSMENT() and copy.copy == r.copy
    # The reported member holds nothing of it; neither holds the reporter's care record.
    p2.sync(relay.url)
    assert p2.moderation().reports() == []
    for v in (p2, fac):
        assert all(s.id != care for s in v.spaces().list())
    # About the facilitator: the coordinators alone.
    fnote = fac.groups().add_note(group, "catatan", "")
    fac.sync(relay.url)
    p1.sync(relay.url)
    p1.moderation().report(group, ReportTarget.NOTE(), fnote, ReportReason.UNSAFE_ADVICE(), "")
    p1.sync(relay.url)
    coord.sync(relay.url)
    about_fac = [x for x in coord.moderation().reports() if x.about == fac.device_id()]
    assert [(x.route, x.facilitators) for x in about_fac] == [(ReportRoute.COORDINATORS(), [])]
    coord.sync(relay.url)
    fac.sync(relay.url)
    assert [x.id for x in fac.moderation().reports()] == [copy.id], "never passed on to the facilitator"


def test_bad_reports_are_refused(tmp_path, relay):
    coord, fac, p1, p2, group, care = world(tmp_path, relay)
    note = p2.groups().add_note(group, "x", "")
    p2.sync(relay.url)
    p1.sync(relay.url)
    # A non-member of the group.
    with pytest.raises(SebayaError.NotFound):
        coord.moderation().report(group, ReportTarget.NOTE(), note, ReportReason.OTHER(), "")
    # Content of another space, or not there.
    with pytest.raises(SebayaError.InvalidInput):
        p1.moderation().report(care, ReportTarget.NOTE(), note, ReportReason.OTHER(), "")
    with pytest.raises(SebayaError.NotFound):
        p1.moderation().report(group, ReportTarget.MESSAGE(), note, ReportReason.OTHER(), "")
    # A reason no person gives, an unknown one, words too long, oneself.
    for reason in (ReportReason.BLOCKED(), ReportReason.UNKNOWN("spam")):
        with pytest.raises(SebayaError.InvalidInput):
            p1.moderation().report(group, ReportTarget.NOTE(), note, reason, "")
    with pytest.raises(SebayaError.InvalidInput):
        p1.moderation().report(group, ReportTarget.NOTE(), note, ReportReason.OTHER(), "a" * 501)
    with pytest.raises(SebayaError.InvalidInput):
        p1.moderation().report(group, ReportTarget.MEMBER(), p1.device_id(), ReportReason.OTHER(), "")
    # A member without a care record in the programme has no way to the coordinators.
    with pytest.raises(SebayaError.NotFound):
        p2.moderation().report(group, ReportTarget.MEMBER(), p1.device_id(), ReportReason.OTHER(), "")
    # About someone who holds the reporter's care record (a coordinator who sits in the group): they
    # would see that a report was written, and by whom, so nothing is written (protocol 31.1).
    coord.spaces().join(fac.spaces().approve_member(group, coord.link_request(), False))
    for v in (fac, coord, fac, p1):
        v.sync(relay.url)
    with pytest.raises(SebayaError.ReportSeenByReported) as e:
        p1.moderation().report(group, ReportTarget.MEMBER(), coord.device_id(), ReportReason.OTHER(), "")
    assert e.value.message_id == "error-report-seen-by-reported"
    assert p1.moderation().reports() == []
    # A care record takes ten reports a day; the eleventh is refused, nothing written.
    for _ in range(10):
        p1.moderation().report(group, ReportTarget.NOTE(), note, ReportReason.OTHER(), "")
    with pytest.raises(SebayaError.TooManyReports) as e:
        p1.moderation().report(group, ReportTarget.NOTE(), note, ReportReason.OTHER(), "")
    assert e.value.message_id == "error-too-many-reports"
    assert len(p1.moderation().reports()) == 10


def test_a_block_hides_a_member_here_only_never_a_coordinator_or_a_referral(tmp_path, relay):
    coord, fac, p1, p2, group, care = world(tmp_path, relay)
    note = p2.groups().add_note(group, "dari p2", "")
    fnote = fac.groups().add_note(group, "dari fasilitator", "")
    for v in (p2, fac, p1):
        v.sync(relay.url)
    with pytest.raises(SebayaError.InvalidInput):
        p1.moderation().block(group, p1.device_id())
    with pytest.raises(SebayaError.NotAllowed):
        p1.moderation().block(care, coord.device_id())
    with pytest.raises(SebayaError.NotFound):
        p1.moderation().block(group, coord.device_id())
    p1.moderation().block(group, p2.device_id())
    assert [n.id for n in p1.groups().notes(group)] == [fnote]
    assert [(b.space_id, b.device) for b in p1.moderation().blocked()] == [(group, p2.device_id())]
    assert {n.id for n in fac.groups().notes(group)} == {note, fnote}
    # The facilitator's notice: about the blocked member, without words.
    p1.sync(relay.url)
    coord.sync(relay.url)
    (notice,) = coord.moderation().reports()
    assert (notice.reason, notice.about, notice.text) == (ReportReason.BLOCKED(), p2.device_id(), "")
    assert notice.facilitators == [fac.device_id()]
    p1.moderation().unblock(group, p2.device_id())
    assert {n.id for n in p1.groups().notes(group)} == {note, fnote}
    # A space's admin moderates and never blocks (review H3): the facilitator in the group, the
    # coordinator in the care record; the participant's call for help reaches the coordinator.
    with pytest.raises(SebayaError.NotAllowed):
        fac.moderation().block(group, p1.device_id())
    with pytest.raises(SebayaError.NotAllowed):
        coord.moderation().block(care, p1.device_id())
    assert fac.moderation().blocked() == [] and coord.moderation().blocked() == []
    p1.care().ask_for_help("id")
    p1.sync(relay.url)
    coord.sync(relay.url)
    assert ReferralReason.HELP_NOW() in [r.reason for r in coord.care().referral_inbox()]
