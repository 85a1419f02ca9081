"""Reminders through the Python bindings (issue 18, item 4), through a real relay on loopback: a
supporter and a participant share a weekly check-in cadence, a task and a follow-up; each phone is
told only of what is for it, with the neutral text and never the task's words; a phone that crosses
time zones keeps "Monday 16:00" local; a clock set back neither repeats a completed occurrence nor
loses the next; a one-off in the past is refused with a typed error."""

import json
import time

import pytest

from conftest import trained_programme
from sebaya import OffsetChange, ReminderFor, ReminderKind, SebayaError, Vault, generate_master_key, localized_message

DAY = 86400
JAKARTA = 7 * 60
JAYAPURA = 9 * 60


def person(path) -> Vault:
    v = Vault.open(str(path), generate_master_key())
    v.create_person()
    return v


def next_monday_16_jakarta(now: int) -> int:
    """The UTC instant of the next Monday 16:00 in UTC+7 (1970-01-05 was a Monday)."""
    day = (now + JAKARTA * 60) // DAY + 1
    while (day - 4) % 7:
        day += 1
    return day * DAY + 16 * 3600 - JAKARTA * 60


def pairing(tmp_path, relay):
    sup, part = person(tmp_path / "s.db"), person(tmp_path / "p.db")
    created = sup.pairings().create(part.link_request(), trained_programme(sup))
    part.spaces().join(created.response)
    for v in (sup, part, sup, part):
        v.sync(relay.url)
    return sup, part, created.space_id


def test_reminders_reach_whom_they_are_for_with_a_neutral_text(tmp_path, relay):
    sup, part, pid = pairing(tmp_path, relay)
    now = int(time.time())
    monday = next_monday_16_jakarta(now)
    cadence = sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", monday, JAKARTA, 7)
    follow = sup.reminders().add(pid, ReminderKind.FOLLOW_UP, ReminderFor.SUPPORTER, "", now + DAY, JAKARTA, 0)
    task = part.reminders().add(pid, ReminderKind.TASK, ReminderFor.PARTICIPANT, "latihan napas", now + 2 * DAY, JAKARTA, 0)
    for v in (sup, part, sup, part):
        v.sync(relay.url)
    assert sorted(r.id for r in part.reminders().list(pid)) == sorted([cadence, follow, task])

    mine = part.reminders().due(now, JAKARTA, "id")
    ids = [n.reminder_id for n in mine.upcoming]
    assert cadence in ids and task in ids and follow not in ids
    theirs = [n.reminder_id for n in sup.reminders().due(now, JAKARTA, "en").upcoming]
    assert cadence in theirs and follow in theirs and task not in theirs
    for n in mine.upcoming:
        assert n.text == localized_message(n.message_id, "id", None)
        assert "latihan" not in n.text and "latihan" not in n.key
    assert mine.upcoming[0].text != sup.reminders().due(now, JAKARTA, "en").upcoming[0].text


def test_a_time_zone_change_keeps_the_local_time_and_the_keys(tmp_path, relay):
    sup, part, pid = pairing(tmp_path, relay)
    now = int(time.time())
    r = sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", next_monday_16_jakarta(now), JAKARTA, 7)
    west = [n for n in sup.reminders().due(now, JAKARTA, "id").upcoming if n.reminder_id == r]
    east = [n for n in sup.reminders().due(now, JAYAPURA, "id").upcoming if n.reminder_id == r]
    assert west and len(west) == len(east)
    for a, b in zip(west, east):
        assert (a.key, a.occurrence) == (b.key, b.occurrence)
        assert a.at_secs - b.at_secs == 2 * 3600
        assert (b.at_secs + JAYAPURA * 60) % DAY == 16 * 3600


def test_a_clock_set_back_does_not_bring_back_a_completed_occurrence(tmp_path, relay):
    sup, part, pid = pairing(tmp_path, relay)
    now = int(time.time())
    r = sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", next_monday_16_jakarta(now), JAKARTA, 7)
    sup.sync(relay.url)
    part.sync(relay.url)
    first = part.reminders().due(now, JAKARTA, "id").upcoming[0]
    later = first.at_secs + 3600
    assert first.key in [n.key for n in part.reminders().due(later, JAKARTA, "id").overdue]
    part.reminders().complete(pid, r, first.occurrence)
    assert first.key not in [n.key for n in part.reminders().due(later, JAKARTA, "id").overdue]
    back = part.reminders().due(first.at_secs - DAY, JAKARTA, "id").upcoming
    assert first.key not in [n.key for n in back]
    assert [n.occurrence for n in back if n.reminder_id == r] == [first.occurrence + 1]
    part.sync(relay.url)
    sup.sync(relay.url)
    assert first.occurrence in next(x for x in sup.reminders().list(pid) if x.id == r).done


def test_bad_reminders_are_refused(tmp_path, relay):
    sup, part, pid = pairing(tmp_path, relay)
    now = int(time.time())
    with pytest.raises(SebayaError.ReminderInPast) as e:
        sup.reminders().add(pid, ReminderKind.TASK, ReminderFor.PARTICIPANT, "x", now - 60, JAKARTA, 0)
    assert e.value.message_id == "error-reminder-in-past"
    for every in (366, 100000):
        with pytest.raises(SebayaError.InvalidInput):
            sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", now + 60, JAKARTA, every)
    with pytest.raises(SebayaError.InvalidInput):
        sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", now + 60, JAKARTA, 0)
    with pytest.raises(SebayaError.InvalidInput):
        sup.reminders().add(pid, ReminderKind.TASK, ReminderFor.PARTICIPANT, "a" * 501, now + 60, JAKARTA, 0)
    with pytest.raises(SebayaError.InvalidInput):
        sup.reminders().add(pid, ReminderKind.FOLLOW_UP, ReminderFor.SUPPORTER, "kata", now + 60, JAKARTA, 0)
    with pytest.raises(SebayaError.NotAllowed):
        part.reminders().add(pid, ReminderKind.FOLLOW_UP, ReminderFor.SUPPORTER, "", now + 60, JAKARTA, 0)
    with pytest.raises(SebayaError.InvalidInput):
        sup.reminders().due(now, 15 * 60, "id")
    stranger = person(tmp_path / "x.db")
    with pytest.raises(SebayaError.NotFound):
        stranger.reminders().add(pid, ReminderKind.TASK, ReminderFor.EVERYONE, "x", now + 60, JAKARTA, 0)
    assert sup.reminders().list(pid) == []


def test_a_lead_time_brings_the_notice_forward(tmp_path, relay):
    sup, part, pid = pairing(tmp_path, relay)
    now = int(time.time())
    at = now + 2 * DAY
    r = sup.reminders().add(pid, ReminderKind.SESSION, ReminderFor.EVERYONE, "", at, JAKARTA, 0, lead_minutes=60)
    sup.sync(relay.url)
    part.sync(relay.url)
    assert [x.lead_minutes for x in part.reminders().list(pid)] == [60]
    (n,) = [n for n in part.reminders().due(now, JAKARTA, "id").upcoming if n.reminder_id == r]
    assert (n.at_secs, n.notify_at_secs) == (at, at - 3600)
    # Once the notice's time has passed it is no longer to schedule; a session is never overdue.
    later = part.reminders().due(at - 1800, JAKARTA, "id")
    assert r not in [x.reminder_id for x in later.upcoming + later.overdue]
    for lead in (7 * 24 * 60 + 1, 2**32 - 1):
        with pytest.raises(SebayaError.InvalidInput):
            sup.reminders().add(pid, ReminderKind.SESSION, ReminderFor.EVERYONE, "", at, JAKARTA, 0, lead_minutes=lead)
    assert len(sup.reminders().list(pid)) == 1


def test_a_completion_for_an_unknown_occurrence_and_a_huge_cadence_are_refused(tmp_path, relay):
    sup, part, pid = pairing(tmp_path, relay)
    now = int(time.time())
    task = sup.reminders().add(pid, ReminderKind.TASK, ReminderFor.EVERYONE, "x", now + DAY, JAKARTA, 0)
    cadence = sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", now + DAY, JAKARTA, 7)
    with pytest.raises(SebayaError.InvalidInput):
        sup.reminders().complete(pid, task, 1)
    for k in (10_000, 2**64 - 1):
        with pytest.raises(SebayaError.InvalidInput):
            sup.reminders().complete(pid, cadence, k)
    with pytest.raises(SebayaError.NotFound):
        sup.reminders().complete(pid, "00000000000000ff", 0)
    for every in (2**31, 2**32 - 1):
        with pytest.raises(SebayaError.InvalidInput):
            sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", now + 60, JAKARTA, every)
    assert all(not r.done for r in sup.reminders().list(pid))
    sup.reminders().complete(pid, cadence, 2)
    assert [r.done for r in sup.reminders().list(pid) if r.id == cadence] == [[2]]


def test_a_removed_facilitators_reminder_is_refused_on_receipt(tmp_path, relay):
    fac, co, par = person(tmp_path / "f.db"), person(tmp_path / "c.db"), person(tmp_path / "p.db")
    gid = fac.groups().create("Kelompok Kamis", None)
    co.groups().join(fac.spaces().approve_member(gid, co.link_request(), as_admin=True))
    par.groups().join(fac.spaces().approve_member(gid, par.link_request()))
    for v in (fac, co, par, fac, co, par):
        v.sync(relay.url)
    now = int(time.time())
    before = co.reminders().add(gid, ReminderKind.TASK, ReminderFor.EVERYONE, "sebelum", now + DAY, JAKARTA, 0)
    co.sync(relay.url)
    fac.sync(relay.url)  # the facilitator holds it before the removal: it stays
    fac.spaces().remove_member(gid, co.device_id())
    fac.sync(relay.url)
    # Still offline, the removed device writes a reminder and sends it later.
    after = co.reminders().add(gid, ReminderKind.TASK, ReminderFor.EVERYONE, "sesudah", now + DAY, JAKARTA, 0)
    try:
        co.sync(relay.url)
    except SebayaError:
        pass
    for v in (fac, par, fac, par):
        v.sync(relay.url)
    for v in (fac, par):
        ids = [r.id for r in v.reminders().list(gid)]
        assert before in ids and after not in ids
        assert after not in [n.reminder_id for n in v.reminders().due(now, JAKARTA, "id").upcoming]


def test_reminders_are_exported_and_a_new_period_carries_the_open_ones(tmp_path, relay):
    fac, par = person(tmp_path / "f.db"), person(tmp_path / "p.db")
    gid = fac.groups().create("Kelompok Kamis", None)
    par.groups().join(fac.spaces().approve_member(gid, par.link_request()))
    for v in (fac, par, fac, par):
        v.sync(relay.url)
    now = int(time.time())
    open_ = fac.reminders().add(gid, ReminderKind.TASK, ReminderFor.EVERYONE, "coba latihan", now + DAY, JAKARTA, 0)
    done = fac.reminders().add(gid, ReminderKind.TASK, ReminderFor.EVERYONE, "sudah", now + DAY, JAKARTA, 0)
    fac.reminders().complete(gid, done, 0)
    for v in (fac, par):
        v.sync(relay.url)
    exported = json.loads(par.export_all())
    (group,) = exported["groups"]
    assert sorted(r["id"] for r in group["reminders"]) == sorted([open_, done])
    assert {r["text"] for r in group["reminders"]} == {"coba latihan", "sudah"}

    new = fac.groups().start_period(gid)
    for v in (fac, par, fac, par):
        v.sync(relay.url)
    assert [r.id for r in par.reminders().list(new)] == [open_]
    due = [n for n in par.reminders().due(now, JAKARTA, "id").upcoming if n.reminder_id == open_]
    assert [n.space_id for n in due] == [new], "listed once, from the new period"


def test_an_offset_change_ahead_keeps_each_occurrence_local(tmp_path, relay):
    sup, part, pid = pairing(tmp_path, relay)
    now = int(time.time())
    r = sup.reminders().add(pid, ReminderKind.CADENCE, ReminderFor.EVERYONE, "", next_monday_16_jakarta(now), JAKARTA, 7)
    plain = [n for n in sup.reminders().due(now, JAKARTA, "id").upcoming if n.reminder_id == r]
    # The zone moves an hour ahead between the first and the second occurrence.
    change = OffsetChange(from_secs=plain[0].at_secs + DAY, offset_minutes=JAKARTA + 60)
    moved = [n for n in sup.reminders().due(now, JAKARTA, "id", [change]).upcoming if n.reminder_id == r]
    assert [n.key for n in moved] == [n.key for n in plain]
    assert moved[0].at_secs == plain[0].at_secs
    assert [a.at_secs - b.at_secs for a, b in zip(plain[1:], moved[1:])] == [3600] * (len(plain) - 1)
    for bad in ([OffsetChange(from_secs=now + DAY, offset_minutes=-2**31)],
                [OffsetChange(from_secs=now + DAY, offset_minutes=60), OffsetChange(from_secs=now, offset_minutes=60)]):
        with pytest.raises(SebayaError.InvalidInput):
            sup.reminders().due(now, JAKARTA, "id", bad)
    with pytest.raises(SebayaError.InvalidInput):
        sup.reminders().due(now, -2**31, "id")
    with pytest.raises(SebayaError.InvalidInput):
        sup.reminders().add(pid, ReminderKind.TASK, ReminderFor.EVERYONE, "x", now + DAY, -2**31, 0)


def test_a_participants_reminder_waits_until_the_supporters_device_has_said_its_rules(tmp_path, relay):
    """Protocol 12.2 (review M3): until every other device of the pairing announced rules that take
    a participant's reminder, the participant's phone writes none (WaitingForUpdates, nothing
    written) and rules_status names who is behind; once they synced, it goes."""
    sup, part = person(tmp_path / "s.db"), person(tmp_path / "p.db")
    created = sup.pairings().create(part.link_request(), trained_programme(sup))
    part.spaces().join(created.response)
    pid = created.space_id
    st = part.spaces().rules_status(pid)
    assert st.this_device >= 8
    assert (st.floor, st.behind) == (0, [sup.device_id()])
    assert sup.spaces().rules_status(pid).behind == [part.device_id()]
    now = int(time.time())
    with pytest.raises(SebayaError.WaitingForUpdates) as e:
        part.reminders().add(pid, ReminderKind.TASK, ReminderFor.PARTICIPANT, "latihan", now + DAY, JAKARTA, 0)
    assert e.value.message_id == "error-waiting-for-updates"
    en = localized_message(e.value.message_id, "en", None)
    id_ = localized_message(e.value.message_id, "id", None)
    assert "update" in en and "memperbarui" in id_
    assert part.reminders().list(pid) == []
    for v in (sup, part, sup, part):
        v.sync(relay.url)
    for v in (sup, part):
        st = v.spaces().rules_status(pid)
        assert (st.floor, st.behind) == (st.this_device, [])
    r = part.reminders().add(pid, ReminderKind.TASK, ReminderFor.PARTICIPANT, "latihan", now + DAY, JAKARTA, 0)
    part.sync(relay.url)
    sup.sync(relay.url)
    assert r in [x.id for x in sup.reminders().list(pid)]
    with pytest.raises(SebayaError.InvalidInput):
        part.spaces().rules_status("zz")
