"""The training register through the Python bindings, against the real library and a real relay.

A coordinator certifies modules, a supporter keeps and lists them, a programme pairing opens only once
every required module is current (NotCertified before, nothing created), damaged, foreign and expired
records are refused, and a leaving supporter hands a pairing over to a certified successor.
"""

import shutil
import time
from pathlib import Path

import pytest

from conftest import V1_FIXTURES, supervising_programme
from sebaya import (
    CaseNotesStanding,
    PairingStanding,
    ProgrammeRole,
    SebayaError,
    ShortfallReason,
    SpaceKind,
    TrainingModule,
    TrainingStatus,
    Vault,
    generate_master_key,
    localized_message,
    required_training_modules,
)

# The ids name the modules in the catalogues and in NotCertified's detail; the enum is the API.
MODULE_IDS = ["pfa", "active-listening", "boundaries", "risk-referral", "self-care"]
MODULES = [
    TrainingModule.PFA(),
    TrainingModule.ACTIVE_LISTENING(),
    TrainingModule.BOUNDARIES(),
    TrainingModule.RISK_REFERRAL(),
    TrainingModule.SELF_CARE(),
]


def person(path: Path) -> Vault:
    v = Vault.open(str(path), generate_master_key())
    v.create_person()
    return v


def now() -> int:
    return int(time.time())


def certified_supporter(coord: Vault, sup: Vault, pid: str, modules) -> None:
    grant = coord.programmes().grant_role(pid, sup.person_id(), ProgrammeRole.PEER_SUPPORTER())
    assert sup.programmes().add_credential(grant.credential) == ProgrammeRole.PEER_SUPPORTER()
    for m in modules:
        sup.programmes().add_training_record(coord.programmes().certify_training(pid, sup.person_id(), m, now() - 86400))


def test_the_required_modules_have_names_in_both_languages():
    assert required_training_modules() == MODULES
    for m in MODULE_IDS:
        en = localized_message("training-module-" + m, "en")
        id_ = localized_message("training-module-" + m, "id")
        assert en != "training-module-" + m and id_ != "training-module-" + m
        assert en != id_
    assert localized_message("training-module-pfa", "id") == "Pertolongan pertama psikologis"


def test_certify_keep_list_and_the_pairing_gate(tmp_path, relay):
    coord = person(tmp_path / "c.db")
    sup = person(tmp_path / "s.db")
    part = person(tmp_path / "p.db")
    other = person(tmp_path / "o.db")
    pid = coord.programmes().create("PIK-R SMA 1")
    certified_supporter(coord, sup, pid, [])
    request = part.link_request()
    with pytest.raises(SebayaError.NotCertified) as err:
        sup.pairings().create(request, pid)
    assert err.value.message_id == "error-not-certified"
    assert ",".join(MODULE_IDS) in err.value.detail
    assert sup.spaces().list() == []
    assert [(s.module, s.reason) for s in sup.programmes().training_shortfalls(pid)] == [(m, ShortfallReason.MISSING) for m in MODULES]

    credentials = [coord.programmes().certify_training(pid, sup.person_id(), m, now() - 86400) for m in MODULES]
    # Made for someone else, damaged, cut short: refused, nothing kept.
    with pytest.raises(SebayaError.BadCredential):
        other.programmes().add_training_record(credentials[0])
    damaged = bytearray(credentials[0])
    damaged[-1] ^= 1
    with pytest.raises(SebayaError.BadCredential):
        sup.programmes().add_training_record(bytes(damaged))
    with pytest.raises(SebayaError.BadCredential):
        sup.programmes().add_training_record(credentials[0][:40])
    assert sup.programmes().training(pid) == []

    for c in credentials[:4]:
        rec = sup.programmes().add_training_record(c)
        assert rec.status == TrainingStatus.CURRENT and rec.by_programme_key and rec.issuer == pid
    with pytest.raises(SebayaError.NotCertified) as err:
        sup.pairings().create(request, pid)
    assert err.value.detail.endswith("self-care")
    assert sup.spaces().list() == []
    sup.programmes().add_training_record(credentials[4])
    # Keeping a record twice keeps it once.
    sup.programmes().add_training_record(credentials[4])
    records = sup.programmes().training(pid)
    kept = [r.module for r in records]
    assert len(kept) == len(MODULES) and all(kept.count(m) == 1 for m in MODULES)
    assert all(r.status == TrainingStatus.CURRENT and r.expires > now() > r.completed for r in records)
    assert sup.programmes().training_shortfalls(pid) == []

    created = sup.pairings().create(request, pid)
    assert part.spaces().join(created.response).kind == SpaceKind.PAIRING()
    sup.pairings().send_message(created.space_id, "Halo, apa kabar?")
    sup.sync(relay.url)
    report = part.sync(relay.url)
    assert report.quarantined == 0
    assert [m.text for m in part.pairings().messages(created.space_id)] == ["Halo, apa kabar?"]


def test_expired_forged_and_unauthorised_certifications_are_refused(tmp_path):
    coord = person(tmp_path / "c.db")
    sup = person(tmp_path / "s.db")
    pid = coord.programmes().create("Layanan Psikososial")
    certified_supporter(coord, sup, pid, [])
    # Valid for one day from a completion one day ago, less two seconds: over in two seconds.
    short = coord.programmes().certify_training(pid, sup.person_id(), TrainingModule.PFA(), now() - 86400 + 2, valid_days=1)
    time.sleep(3)
    with pytest.raises(SebayaError.BadCredential):
        sup.programmes().add_training_record(short)
    # A peer supporter certifies nobody; unknown modules and certifications already over are refused.
    with pytest.raises(SebayaError.NotAllowed):
        sup.programmes().certify_training(pid, coord.person_id(), TrainingModule.PFA(), now())
    with pytest.raises(SebayaError.InvalidInput):
        coord.programmes().certify_training(pid, sup.person_id(), TrainingModule.UNKNOWN(raw="juggling"), now())
    with pytest.raises(SebayaError.InvalidInput):
        coord.programmes().certify_training(pid, sup.person_id(), TrainingModule.PFA(), now() - 40 * 86400, valid_days=30)
    with pytest.raises(SebayaError.InvalidInput):
        coord.programmes().certify_training(pid, "zz", TrainingModule.PFA(), now())
    # A credential with its signature bytes swapped for another record's is forged.
    a = coord.programmes().certify_training(pid, sup.person_id(), TrainingModule.PFA(), now())
    b = coord.programmes().certify_training(pid, sup.person_id(), TrainingModule.BOUNDARIES(), now())
    forged = a[:-64] + b[-64:]
    with pytest.raises(SebayaError.BadCredential):
        sup.programmes().add_training_record(forged)
    assert sup.programmes().training(pid) == []


def test_a_leaving_supporter_hands_a_pairing_to_a_certified_successor(tmp_path, relay):
    coord = person(tmp_path / "c.db")
    leaver = person(tmp_path / "a.db")
    successor = person(tmp_path / "b.db")
    untrained = person(tmp_path / "u.db")
    part = person(tmp_path / "p.db")
    pid = coord.programmes().create("PIK-R SMA 2")
    certified_supporter(coord, leaver, pid, MODULES)
    certified_supporter(coord, successor, pid, MODULES)
    certified_supporter(coord, untrained, pid, MODULES[:2])
    created = leaver.pairings().create(part.link_request(), pid)
    part.spaces().join(created.response)
    sid = created.space_id
    leaver.pairings().send_message(sid, "Sebelum serah terima")
    leaver.sync(relay.url)
    part.sync(relay.url)

    with pytest.raises(SebayaError.NotCertified):
        leaver.pairings().hand_over(sid, untrained.link_request(), untrained.programmes().certification_presentation(pid))
    with pytest.raises(SebayaError.NotAllowed):
        part.programmes().certification_presentation(pid)

    response = leaver.pairings().hand_over(sid, successor.link_request(), successor.programmes().certification_presentation(pid))
    leaver.sync(relay.url)
    successor.spaces().join(response)
    successor.sync(relay.url)
    assert [m.text for m in successor.pairings().messages(sid)] == ["Sebelum serah terima"]
    successor.pairings().send_message(sid, "Saya pendamping baru.")
    successor.sync(relay.url)
    part.sync(relay.url)
    assert [m.text for m in part.pairings().messages(sid)] == ["Sebelum serah terima", "Saya pendamping baru."]
    leaver.sync(relay.url)
    assert [m.text for m in leaver.pairings().messages(sid)] == ["Sebelum serah terima"]
    assert [s.role for s in leaver.spaces().list() if s.id == sid] == [None]
    with pytest.raises(SebayaError.NotAllowed):
        leaver.pairings().send_message(sid, "Masih di sini?")


def test_a_pairing_opens_only_under_a_programme_whose_training_the_supporter_holds(tmp_path, relay):
    """Issue 14, item 11: no one-to-one work outside a programme's rules."""
    sup = person(tmp_path / "s.db")
    part = person(tmp_path / "p.db")
    request = part.link_request()
    # A programme this person holds no role in.
    with pytest.raises(SebayaError.NotAllowed):
        sup.pairings().create(request, "42" * 32)
    # A role there (its creator coordinates it), no training: every module named, nothing made.
    pid = sup.programmes().create("PIK-R SMA 1")
    with pytest.raises(SebayaError.NotCertified) as err:
        sup.pairings().create(request, pid)
    assert err.value.detail.endswith(",".join(MODULE_IDS))
    assert sup.spaces().list() == []
    for m in MODULES:
        sup.programmes().add_training_record(sup.programmes().certify_training(pid, sup.person_id(), m, now() - 86400))
    created = sup.pairings().create(request, pid)
    part.spaces().join(created.response)
    sup.sync(relay.url)
    assert part.sync(relay.url).quarantined == 0
    for v in (sup, part):
        standing = v.pairings().standing(created.space_id)
        assert standing == PairingStanding(programme_id=pid, outside_programme=False)
    # Group facilitation is not part of one-to-one training, and has its name in both languages.
    assert TrainingModule.GROUP_FACILITATION() not in required_training_modules()
    en = localized_message("training-module-group-facilitation", "en")
    assert en != "training-module-group-facilitation"
    assert en != localized_message("training-module-group-facilitation", "id")


def test_a_pairing_from_before_programmes_is_kept_and_shown_outside_one(tmp_path):
    """The v1 fixtures' participant holds a pairing opened with no programme: after the update it is
    still there, marked outside a programme, never dropped."""
    copy = tmp_path / "participant.db"
    shutil.copy(V1_FIXTURES / "participant.db", copy)
    v = Vault.open(str(copy), bytes([1] * 32))
    pairing = "50082106b68c9f6a19547568dca7d77e"
    group = "054d6816c76f088681c5a5a92dffd5fd"
    assert pairing in [s.id for s in v.spaces().list()]
    standing = v.pairings().standing(pairing)
    assert standing.outside_programme and standing.programme_id is None
    assert [m.text for m in v.pairings().messages(pairing)] == ["Aku di sini."]
    with pytest.raises(SebayaError.InvalidInput):
        v.pairings().standing(group)
    for key in ("pairing-outside-programme", "pairing-under-programme"):
        en, id_ = localized_message(key, "en"), localized_message(key, "id")
        assert key not in (en, id_) and en != id_


def test_case_notes_are_for_the_supporter_and_a_coordinator_supervisor_only(tmp_path, relay):
    """Issue 14, item 12: a coordinator becomes supervisor and reviews; a peer supporter who is no
    coordinator is refused with NotSupervisor and nothing is created; a third person is refused
    with CaseNotesFull and the membership does not change."""
    sup = person(tmp_path / "s.db")
    svr = person(tmp_path / "v.db")
    other = person(tmp_path / "o.db")
    third = person(tmp_path / "t.db")
    pid = supervising_programme(sup, svr)
    grant = svr.programmes().grant_role(pid, other.person_id(), ProgrammeRole.PEER_SUPPORTER())
    other.programmes().add_credential(grant.credential)

    with pytest.raises(SebayaError.NotSupervisor) as err:
        sup.pairings().create_case_notes(
            "pairing-2", other.link_request(), other.programmes().certification_presentation(pid), pid
        )
    assert err.value.message_id == "error-not-supervisor"
    assert sup.spaces().list() == []

    notes = sup.pairings().create_case_notes(
        "pairing-7f3a", svr.link_request(), svr.programmes().certification_presentation(pid), pid
    )
    svr.spaces().join(notes.response)
    standings = {m.device_id: m.standing for m in sup.pairings().case_notes_members(notes.space_id)}
    assert standings == {sup.device_id(): CaseNotesStanding.SUPPORTER, svr.device_id(): CaseNotesStanding.SUPERVISOR}
    nid = sup.pairings().add_case_note(notes.space_id, "Rujukan dibahas.")
    sup.sync(relay.url)
    svr.sync(relay.url)
    svr.pairings().review_case_note(notes.space_id, nid, "Baik.")
    svr.sync(relay.url)
    sup.sync(relay.url)
    (note,) = sup.pairings().case_notes(notes.space_id)
    assert note.reviews == ["Baik."]

    with pytest.raises(SebayaError.CaseNotesFull) as err:
        sup.spaces().approve_member(notes.space_id, third.link_request())
    assert err.value.message_id == "error-case-notes-full"
    assert len(sup.pairings().case_notes_members(notes.space_id)) == 2
    for key in ("error-not-supervisor", "error-case-notes-full"):
        en, id_ = localized_message(key, "en"), localized_message(key, "id")
        assert key not in (en, id_) and en != id_
