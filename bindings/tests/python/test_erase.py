"""Erasing a group, a pairing and a care record for good through the Python bindings (issue 14,
item 17), through a real relay on loopback: the facilitator erases a group and a plain member is
refused; the participant erases their pairing (the supporter may not) and their care record once no
referral waits (before that: OpenReferrals). Every member's device shows the space as erased."""

import pytest

from conftest import trained_programme
from sebaya import (
    ConsentPurpose,
    ProgrammeRole,
    ReferralState,
    SebayaError,
    SpaceKind,
    Vault,
    generate_master_key,
    localized_message,
)


def person(path) -> Vault:
    v = Vault.open(str(path), generate_master_key())
    v.create_person()
    return v


def erased(v):
    return [(e.id, e.kind) for e in v.spaces().erased()]


def test_the_facilitator_erases_a_group_and_a_member_is_refused(tmp_path, relay):
    fac, mem = person(tmp_path / "f.db"), person(tmp_path / "m.db")
    gid = fac.groups().create("Kelompok Rabu")
    code = fac.spaces().approve_member(gid, mem.link_request())
    mem.groups().join(code)
    for v in (fac, mem, fac, mem):
        v.sync(relay.url)
    mem.groups().add_note(gid, "Catatan anggota.")
    mem.sync(relay.url)

    with pytest.raises(SebayaError.NotAllowed):
        mem.groups().erase(gid)
    assert [g.id for g in mem.groups().list()] == [gid]

    fac.groups().erase(gid)
    assert fac.groups().list() == []
    assert erased(fac) == [(gid, SpaceKind.GROUP())]
    fac.sync(relay.url)
    report = mem.sync(relay.url)
    assert report.erased == 1
    assert mem.groups().list() == []
    assert erased(mem) == [(gid, SpaceKind.GROUP())]
    # The old join code never brings it back.
    with pytest.raises(SebayaError.NotAllowed):
        mem.groups().join(code)


def test_the_participant_erases_their_pairing_and_the_supporter_may_not(tmp_path, relay):
    sup, part = person(tmp_path / "s.db"), person(tmp_path / "p.db")
    pairing = sup.pairings().create(part.link_request(), trained_programme(sup))
    part.spaces().join(pairing.response)
    for v in (sup, part, sup, part):
        v.sync(relay.url)
    with pytest.raises(SebayaError.NotAllowed):
        sup.pairings().erase(pairing.space_id)
    part.pairings().erase(pairing.space_id)
    assert erased(part) == [(pairing.space_id, SpaceKind.PAIRING())]
    part.sync(relay.url)
    assert sup.sync(relay.url).erased == 1
    assert erased(sup) == [(pairing.space_id, SpaceKind.PAIRING())]
    assert pairing.space_id not in [s.id for s in sup.spaces().list()]


def test_the_participant_erases_their_care_record_once_no_referral_waits(tmp_path, relay):
    coord, sup, part = (person(tmp_path / f"{n}.db") for n in ("c", "s", "p"))
    pid = coord.programmes().create("PIK-R SMA 1")
    grant = coord.programmes().grant_role(pid, sup.person_id(), ProgrammeRole.PEER_SUPPORTER(), valid_days=90)
    sup.programmes().add_credential(grant.credential)
    enrol = coord.care().enrol(part.link_request(), pid)
    part.spaces().join(enrol.response)
    sup.spaces().join(coord.spaces().approve_member(enrol.care_id, sup.link_request()))
    for v in (coord, part, sup):
        v.sync(relay.url)
    care = enrol.care_id
    part.care().give_consent(care, ConsentPurpose.DUTY_OF_CARE(), True)
    assert len(part.care().ask_for_help("ID").referrals) == 1

    # A referral waits: refused, typed, in both languages, and nothing changes.
    with pytest.raises(SebayaError.OpenReferrals) as err:
        part.care().erase_record(care)
    assert err.value.message_id == "error-open-referrals"
    for locale in ("id", "en"):
        assert localized_message(err.value.message_id, locale) != err.value.message_id
    assert len(part.care().records()) == 1
    # Nobody else erases the participant's record.
    for v in (sup, coord):
        with pytest.raises(SebayaError.NotAllowed):
            v.care().erase_record(care)

    part.sync(relay.url)
    coord.sync(relay.url)
    (ref,) = coord.care().referral_inbox()
    coord.care().update_referral(care, ref.id, ReferralState.ACKNOWLEDGED())
    coord.sync(relay.url)
    part.sync(relay.url)
    part.care().erase_record(care)
    assert part.care().records() == []
    assert erased(part) == [(care, SpaceKind.CARE())]
    part.sync(relay.url)
    for v in (sup, coord):
        assert v.sync(relay.url).erased == 1
        assert v.care().records() == []
        assert erased(v) == [(care, SpaceKind.CARE())]
