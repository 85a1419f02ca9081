"""Reminders through the Python bindings (issue 18, item 4), through a real relay on loopback: a
supporter and a participant share a weekly check-in cadence, a task and a follow-up; each phone is
told only of what is for it, with the neutral text and never the task's words; a phone that crosses
time zones keeps "Monday 16:00" local; a clock set back neither repeats a completed occurrence nor
loses the next; a one-off in the past is refused with a typed error."""

import time

import pytest

from conftest import trained_programme
from sebaya import ReminderFor, ReminderKind, SebayaError, Vault, generate_master_key, localized_message

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
