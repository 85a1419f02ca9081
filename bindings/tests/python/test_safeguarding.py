"""Safeguarding concerns through the Python bindings (issue 14, item 14): a supporter's concern about
a child goes to the programme's safeguarding space, never to the child's care record or phone; the
coordinator sees and acknowledges it; it waits on the supporter's phone until there is a space."""

import pytest

from sebaya import (
    CareNotice,
    ProgrammeRole,
    ReferralReason,
    ReferralState,
    SebayaError,
    SpaceKind,
    Vault,
    generate_master_key,
)


def person(path) -> Vault:
    v = Vault.open(str(path), generate_master_key())
    v.create_person()
    return v


def test_a_concern_reaches_the_coordinator_and_never_the_childs_phone(tmp_path, relay):
    coord, sup, part = (person(tmp_path / f"{n}.db") for n in ("c", "s", "p"))
    pid = coord.programmes().create("PIK-R SMP 2")
    grant = coord.programmes().grant_role(pid, sup.person_id(), ProgrammeRole.PEER_SUPPORTER(), valid_days=90)
    sup.programmes().add_credential(grant.credential)
    enrol = coord.care().enrol(part.link_request(), pid)
    care = enrol.care_id
    part.spaces().join(enrol.response)
    sup.spaces().join(coord.spaces().approve_member(care, sup.link_request()))
    for v in (coord, part, sup):
        v.sync(relay.url)
    # The programme's deadline, which the concern carries sealed (review M6).
    assert coord.care().set_ack_deadline(pid, 6) == 1
    coord.sync(relay.url)
    sup.sync(relay.url)

    # No safeguarding space yet: the concern waits on the supporter's phone, and says so.
    concern = sup.care().refer_now(care, True)
    (waiting,) = sup.care().concerns()
    assert (waiting.id, waiting.space_id, waiting.state, waiting.notice) == (
        concern, None, ReferralState.QUEUED(), CareNotice.CONCERN_NOT_DELIVERED)
    assert waiting.care_id == care and waiting.deadline_hours == 6
    # The coordinator is warned that the programme has no safeguarding space yet.
    assert not next(p for p in coord.programmes().list() if p.id == pid).safeguarding_space

    with pytest.raises(SebayaError.NotAllowed):
        sup.care().create_safeguarding_space(pid)
    space = coord.care().create_safeguarding_space(pid)
    assert next(p for p in coord.programmes().list() if p.id == pid).safeguarding_space
    # The child's phone is never added (review H1).
    with pytest.raises(SebayaError.NotAllowed):
        coord.spaces().approve_member(space, part.link_request())
    joined = sup.spaces().join(coord.spaces().approve_member(space, sup.link_request()))
    assert joined.kind == SpaceKind.SAFEGUARDING()
    # The supporter's first sync brings the space's document (who its coordinators are): the
    # concern is written then, and leaves with its next sync.
    for v in (coord, sup, sup, coord, part):
        v.sync(relay.url)

    (seen,) = coord.care().concerns()
    assert (seen.id, seen.space_id, seen.care_id, seen.participant) == (concern, space, care, part.person_id())
    # A later change of the programme's deadline does not move this concern's: it came with it.
    coord.care().set_ack_deadline(pid, 48)
    (seen,) = coord.care().concerns()
    assert seen.deadline_hours == 6
    assert seen.state == ReferralState.SENT() and not seen.mine
    (item,) = [r for r in coord.care().caseload() if r.id == concern]
    assert item.care_id == space and item.reason == ReferralReason.SAFEGUARDING_MINOR()
    with pytest.raises(SebayaError.NotAllowed):
        sup.care().update_referral(space, concern, ReferralState.ACKNOWLEDGED())
    coord.care().update_referral(space, concern, ReferralState.ACKNOWLEDGED())
    coord.sync(relay.url)
    sup.sync(relay.url)
    (mine,) = sup.care().concerns()
    assert mine.state == ReferralState.ACKNOWLEDGED() and mine.notice == CareNotice.TOLD
    assert mine.time_to_acknowledge_ms is not None
    # The programme's report counts it (review M5): one concern is a small cell, suppressed; labels
    # in both languages; nothing names the child.
    for locale, label in (("en", "Safeguarding concerns raised"), ("id", "Kekhawatiran perlindungan anak yang diajukan")):
        r = coord.programmes().report(pid, seen.created_ms - 1, seen.created_ms + 3_600_000, locale)
        (row,) = [m for m in r.metrics if m.id == "concerns.raised"]
        assert row.value is None and "concerns.raised" in r.suppressed and row.label == label
        assert care not in r.json and part.person_id() not in r.json and concern not in r.csv

    # The child's phone: no space, no concern, nothing in the record or the export.
    part.sync(relay.url)
    assert all(s.id != space for s in part.spaces().list())
    assert part.care().concerns() == []
    assert all(r.id != concern for r in part.care().referrals(care))
    export = part.export_all()
    assert concern not in export and "safeguarding" not in export
