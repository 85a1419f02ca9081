"""A group's note is its author's (issue 18, item 2; rules version 6), through the Python bindings and a
real relay on loopback: another member's and the facilitator's edit or delete is refused (NotAllowed),
the author edits its own, a member cannot hide, and once the facilitator hides the note the other
member no longer sees it while the facilitator and the author see it marked hidden."""

import pytest

from sebaya import SebayaError, Vault, generate_master_key


def test_a_note_is_its_authors_and_a_facilitator_hides_it(tmp_path, relay):
    fac, a, b = (Vault.open(str(tmp_path / n), generate_master_key()) for n in ("f.db", "a.db", "b.db"))
    gid = fac.groups().create("Kelompok Rabu")
    for v in (a, b):
        v.groups().join(fac.spaces().approve_member(gid, v.link_request()))
    for v in (fac, a, b):
        v.sync(relay.url)
    nid = a.groups().add_note(gid, "Catatan Ani.")
    for v in (a, b, fac):
        v.sync(relay.url)
    for v in (b, fac):
        with pytest.raises(SebayaError.NotAllowed):
            v.groups().edit_note(gid, nid, text="diubah")
        with pytest.raises(SebayaError.NotAllowed):
            v.groups().delete_note(gid, nid)
    a.groups().edit_note(gid, nid, text="Catatan Ani, diperbaiki.")
    with pytest.raises(SebayaError.NotAllowed):
        b.groups().hide_note(gid, nid)
    a.sync(relay.url)
    fac.sync(relay.url)
    fac.groups().hide_note(gid, nid)
    for v in (fac, b, a):
        v.sync(relay.url)
    assert b.groups().notes(gid) == []
    for v in (fac, a):
        (note,) = v.groups().notes(gid)
        assert (note.id, note.text, note.hidden) == (nid, "Catatan Ani, diperbaiki.", True)
    with pytest.raises(SebayaError.NotAllowed):
        a.groups().unhide_note(gid, nid)
    a.groups().delete_note(gid, nid)
    assert a.groups().notes(gid) == []
