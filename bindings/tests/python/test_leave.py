"""Leaving a group and ending a pairing through the Python bindings (issue 18, item 1), through a
real relay on loopback: the leaver's notes stay, shown as from a former member; a remaining
facilitator's device rotates the key; the leaver writes nothing more. Either party ends a
pairing: each device writes nothing past its own end (the other party's device signs its own when
it learns, and what it wrote until then stands), its history stays, it leaves the supporter's
active pairings. Bad input: a group one is not in, the only facilitator leaving, a stranger's
leave, ending twice."""

import pytest

from conftest import trained_programme
from sebaya import SebayaError, Vault, generate_master_key


def person(path) -> Vault:
    v = Vault.open(str(path), generate_master_key())
    v.create_person()
    return v


def test_a_member_leaves_a_group_and_its_notes_stay_from_a_former_member(tmp_path, relay):
    fac, co, mem = (person(tmp_path / f"{n}.db") for n in ("f", "c", "m"))
    gid = fac.groups().create("Kelompok Jumat")
    co.groups().join(fac.spaces().approve_member(gid, co.link_request(), as_admin=True))
    mem.groups().join(fac.spaces().approve_member(gid, mem.link_request()))
    for v in (fac, co, mem):
        v.sync(relay.url)
    mem.groups().add_note(gid, "Terima kasih semua.")
    mem.sync(relay.url)

    # A stranger holds no such group: nothing to leave.
    stranger = person(tmp_path / "x.db")
    with pytest.raises(SebayaError.NotFound):
        stranger.groups().leave(gid)

    mem.groups().leave(gid)
    with pytest.raises(SebayaError.NotFound):
        mem.groups().leave(gid)
    with pytest.raises(SebayaError.NotAllowed):
        mem.groups().add_note(gid, "setelah keluar")
    mem.sync(relay.url)
    for v in (co, fac, co):
        v.sync(relay.url)
    for v in (fac, co):
        (note,) = v.groups().notes(gid)
        assert note.text == "Terima kasih semua."
        assert note.from_former_member
        assert mem.device_id() not in [m.device_id for m in v.spaces().members(gid)]
    # Written after the rotation: never readable by the leaver.
    fac.groups().add_note(gid, "Sesudahnya.")
    fac.sync(relay.url)
    mem.sync(relay.url)
    assert [n.text for n in mem.groups().notes(gid)] == ["Terima kasih semua."]
    co.sync(relay.url)
    assert sorted(n.text for n in co.groups().notes(gid)) == ["Sesudahnya.", "Terima kasih semua."]
    assert not [n for n in co.groups().notes(gid) if n.text == "Sesudahnya."][0].from_former_member


def test_the_only_facilitator_cannot_leave(tmp_path):
    fac = person(tmp_path / "f.db")
    gid = fac.groups().create("Sendiri")
    with pytest.raises(SebayaError.NotAllowed):
        fac.groups().leave(gid)
    with pytest.raises(SebayaError.NotFound):
        fac.groups().leave("00" * 16)


def test_either_party_ends_a_pairing_and_nobody_writes_in_it(tmp_path, relay):
    sup, part = person(tmp_path / "s.db"), person(tmp_path / "p.db")
    pairing = sup.pairings().create(part.link_request(), trained_programme(sup))
    pid = pairing.space_id
    part.spaces().join(pairing.response)
    for v in (sup, part, sup, part):
        v.sync(relay.url)
    part.pairings().add_checkin(pid, 3, "lumayan")
    part.sync(relay.url)
    sup.sync(relay.url)
    assert sup.pairings().active() == [pid]

    sup.pairings().end(pid)
    with pytest.raises(SebayaError.NotAllowed):
        sup.pairings().end(pid)
    with pytest.raises(SebayaError.NotAllowed):
        sup.pairings().send_message(pid, "masih di sini")
    assert sup.pairings().active() == []
    sup.sync(relay.url)
    part.sync(relay.url)
    with pytest.raises(SebayaError.NotAllowed):
        part.pairings().add_checkin(pid, 2, "")
    with pytest.raises(SebayaError.NotAllowed):
        part.pairings().end(pid)
    for v in (sup, part):
        assert len(v.pairings().checkins(pid)) == 1, "history stays readable"
    with pytest.raises(SebayaError.NotFound):
        part.pairings().end("00" * 16)


def test_a_check_in_sent_just_before_the_other_party_ends_stays(tmp_path, relay):
    """The participant's check-in is on its way when the supporter, who has not pulled it, ends the
    pairing: it stays on both devices, and the participant's device ends its own side when it
    learns of the end (review H2)."""
    sup, part = person(tmp_path / "s.db"), person(tmp_path / "p.db")
    pairing = sup.pairings().create(part.link_request(), trained_programme(sup))
    pid = pairing.space_id
    part.spaces().join(pairing.response)
    for v in (sup, part, sup, part):
        v.sync(relay.url)
    assert part.pairings().active() == [pid]
    part.pairings().add_checkin(pid, 1, "berat sekali")
    part.sync(relay.url)
    sup.pairings().end(pid)
    for v in (sup, part, sup):
        v.sync(relay.url)
    for v in (sup, part):
        assert [c.note for c in v.pairings().checkins(pid)] == ["berat sekali"]
    assert part.pairings().active() == []
    with pytest.raises(SebayaError.NotAllowed):
        part.pairings().add_checkin(pid, 2, "")
    with pytest.raises(SebayaError.NotAllowed):
        part.pairings().end(pid)
