"""End-to-end tests of the generated Python bindings against the real library and a real relay.

Run through `scripts/test.sh python` (which builds and generates first), or directly:
    python3 -m pytest bindings/tests/python -q
"""

import gc
import socket
import threading
import time
from pathlib import Path

import pytest

import sebaya
from sebaya import SebayaError, Vault, generate_master_key, localized_message
from conftest import certify_facilitation, supervising_programme, trained_programme
from sebaya import (
    Attendance,
    Instrument,
    InviteStatus,
    JoinStatus,
    ProgrammeRole,
    RiskFlag,
    ScreeningBand,
    SpaceKind,
    SpaceRole,
)

BOGUS_ID = "0123456789abcdef"


def open_vault(path: Path, key: bytes) -> Vault:
    return Vault.open(str(path), key)


def snapshot(directory: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def closed_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def key() -> bytes:
    return generate_master_key()


@pytest.fixture
def linked(tmp_path, relay):
    """Two devices of one person: A made the journal, B joined it with A's pairing code."""
    a = open_vault(tmp_path / "a.db", generate_master_key())
    b = open_vault(tmp_path / "b.db", generate_master_key())
    b.complete_link(a.approve_link(b.link_request()))
    return a, b


# --- local vault ----------------------------------------------------------------------------------


def test_generate_master_key_is_32_random_bytes():
    k1, k2 = generate_master_key(), generate_master_key()
    assert isinstance(k1, bytes) and len(k1) == 32
    assert k1 != k2


def test_open_add_list_edit_delete_and_reopen(tmp_path, key):
    path = tmp_path / "vault.db"
    v = open_vault(path, key)
    device = v.device_id()
    assert len(device) == 64 and int(device, 16) >= 0
    j = v.journal()
    assert j.list() == []

    id1 = j.add("Hari ini berat, tapi aku bertahan.", 2, ["kerja", "lelah"])
    time.sleep(0.005)  # "oldest first" is by created_ms; entries of the same ms are ordered by id
    id2 = j.add("Sore yang tenang.", 4, [])
    assert id1 != id2 and len(id1) == 16

    entries = j.list()
    assert [e.id for e in entries] == [id1, id2]  # oldest first
    e1 = entries[0]
    assert (e1.text, e1.mood, e1.tags) == ("Hari ini berat, tapi aku bertahan.", 2, ["kerja", "lelah"])
    assert e1.created_ms > 0 and e1.edited_ms >= e1.created_ms

    # Only the fields given change (Optional arguments must still be passed positionally as None).
    j.edit(id1, "Hari ini berat, tapi aku bertahan dan makan malam.", None, None)
    j.edit(id2, None, 5, ["tenang"])
    got1, got2 = j.get(id1), j.get(id2)
    assert got1.text == "Hari ini berat, tapi aku bertahan dan makan malam."
    assert (got1.mood, got1.tags) == (2, ["kerja", "lelah"])
    assert (got2.text, got2.mood, got2.tags) == ("Sore yang tenang.", 5, ["tenang"])
    assert got1.edited_ms >= e1.edited_ms

    j.delete(id2)
    assert [e.id for e in j.list()] == [id1]
    assert j.get(id2) is None
    with pytest.raises(SebayaError.NotFound):
        j.edit(BOGUS_ID, "x", None, None)
    with pytest.raises(SebayaError.InvalidInput):
        j.edit("not-an-id", "x", None, None)

    # Python objects have no close(): the Rust vault (and its SQLite connection) goes when the last
    # reference to the Vault *and* to every Journal made from it goes.
    del j, v
    gc.collect()

    v2 = open_vault(path, key)
    assert v2.device_id() == device
    again = v2.journal().list()
    assert [(e.id, e.text, e.mood, e.tags) for e in again] == [
        (id1, "Hari ini berat, tapi aku bertahan dan makan malam.", 2, ["kerja", "lelah"])
    ]


def test_wrong_key_raises_wrong_key_and_changes_nothing(tmp_path, key):
    path = tmp_path / "vault.db"
    v = open_vault(path, key)
    v.journal().add("rahasia", 3, [])
    del v
    gc.collect()
    before = snapshot(tmp_path)
    assert path.name in before

    other = generate_master_key()
    with pytest.raises(SebayaError.WrongKey) as err:
        open_vault(path, other)
    assert isinstance(err.value, SebayaError)
    assert err.value.message_id == "error-wrong-key"
    assert "rahasia" not in err.value.detail
    gc.collect()
    assert snapshot(tmp_path) == before, "a failed open with the wrong key changed the vault's files"

    # The right key still opens it.
    assert [e.text for e in open_vault(path, key).journal().list()] == ["rahasia"]


def test_key_of_wrong_length_is_invalid_input(tmp_path):
    with pytest.raises(SebayaError.InvalidInput):
        open_vault(tmp_path / "v.db", b"\x00" * 16)


def test_invalid_mood_raises_invalid_input(tmp_path, key):
    j = open_vault(tmp_path / "v.db", key).journal()
    for mood in (0, 6):
        with pytest.raises(SebayaError.InvalidInput) as err:
            j.add("x", mood, [])
        assert err.value.message_id == "error-invalid-input"
    assert j.list() == []
    eid = j.add("x", 3, [])
    with pytest.raises(SebayaError.InvalidInput):
        j.edit(eid, None, 9, None)
    assert j.get(eid).mood == 3
    # Out-of-range numbers are the core's typed error too, not a ValueError of the binding layer.
    for mood in (256, -1, 2**31 - 1):
        with pytest.raises(SebayaError.InvalidInput):
            j.add("x", mood, [])


def test_lock_locks_the_vault_and_its_journals(tmp_path, key):
    v = open_vault(tmp_path / "v.db", key)
    j = v.journal()
    j.add("before lock", 3, [])
    v.lock()
    v.lock()  # harmless
    with pytest.raises(SebayaError.Locked) as err:
        j.list()
    assert err.value.message_id == "error-locked"
    with pytest.raises(SebayaError.Locked):
        v.device_id()
    again = open_vault(tmp_path / "v.db", key)
    assert [e.text for e in again.journal().list()] == ["before lock"]


def test_lock_locks_every_domain_object(tmp_path, key):
    """The domain objects share the vault's state: after lock() every one of them throws Locked,
    whether it was taken before the lock or after it, and nothing is read."""
    v = open_vault(tmp_path / "v.db", key)
    v.create_person()  # a peer session needs a person (its certificate)
    gid = v.groups().create("Kelompok Kamis")
    v.groups().add_note(gid, "sebelum dikunci")
    spaces, groups, care = v.spaces(), v.groups(), v.care()
    session = v.nearby().start_session(True)
    v.lock()
    for call in (
        spaces.list,
        groups.list,
        lambda: groups.notes(gid),
        care.records,
        care.referral_inbox,
        lambda: care.safety_plan("en"),
        lambda: v.pairings().checkins(gid),
        v.programmes().list,
        lambda: v.invites().list(gid),
        v.nearby().carry_status,
        v.journal().members,
        session.take_outgoing,
        session.is_finished,
        session.report,
        lambda: session.receive(b"\x00"),
    ):
        with pytest.raises(SebayaError.Locked) as err:
            call()
        assert err.value.message_id == "error-locked"
    # Opened again, the same data is there.
    again = open_vault(tmp_path / "v.db", key)
    assert [n.text for n in again.groups().notes(gid)] == ["sebelum dikunci"]


def test_localized_message_id_and_en(tmp_path, key):
    v = open_vault(tmp_path / "v.db", key)
    del v
    gc.collect()
    with pytest.raises(SebayaError.WrongKey) as err:
        open_vault(tmp_path / "v.db", generate_master_key())
    mid = err.value.message_id
    en = localized_message(mid, "en", None)
    ind = localized_message(mid, "id", None)
    assert en and ind and en != ind
    assert en != mid and ind != mid
    assert "key" in en.lower() and "kunci" in ind.lower()
    # Unknown locale falls back to English; the detail argument is substituted.
    assert localized_message(mid, "fr", None) == en
    ind_invalid = localized_message("error-invalid-input", "id", None)
    assert ind_invalid != localized_message("error-invalid-input", "en", None)
    # A detail for a message without a slot for it is ignored, never glued on untranslated.
    assert localized_message("error-invalid-input", "id", "mood") == ind_invalid


# --- linking and sync through a real relay --------------------------------------------------------


def test_link_write_sync_and_read_on_second_device(linked, relay):
    a, b = linked
    ja, jb = a.journal(), b.journal()
    assert a.device_id() != b.device_id()
    eid = ja.add("Ditulis di ponsel A.", 4, ["pagi"])

    ra = a.sync(relay.url)
    assert ra.pushed >= 1 and ra.rejected == 0 and ra.round_trips >= 1 and ra.bytes_sent > 0
    rb = b.sync(relay.url)
    assert rb.pulled >= 1 and rb.applied >= 1 and rb.quarantined == 0

    got = jb.get(eid)
    assert got is not None
    assert (got.text, got.mood, got.tags) == ("Ditulis di ponsel A.", 4, ["pagi"])
    assert [e.id for e in jb.list()] == [eid]

    # And back: B writes, A reads.
    eid_b = jb.add("Balasan dari B.", 3, [])
    b.sync(relay.url)
    a.sync(relay.url)
    assert {e.id for e in ja.list()} == {eid, eid_b}


def test_concurrent_edits_of_one_entry_merge(linked, relay):
    a, b = linked
    ja, jb = a.journal(), b.journal()
    original = "Pagi: cemas.\nSiang: jalan kaki.\nMalam: tidur."
    eid = ja.add(original, 3, [])
    a.sync(relay.url)
    b.sync(relay.url)
    assert jb.get(eid).text == original

    # Both devices edit offline, different parts of the text.
    ja.edit(eid, "Pagi: cemas, lalu lega.\nSiang: jalan kaki.\nMalam: tidur.", None, None)
    jb.edit(eid, "Pagi: cemas.\nSiang: jalan kaki.\nMalam: tidur nyenyak.", None, None)

    a.sync(relay.url)
    b.sync(relay.url)
    a.sync(relay.url)

    merged = "Pagi: cemas, lalu lega.\nSiang: jalan kaki.\nMalam: tidur nyenyak."
    assert ja.get(eid).text == merged
    assert jb.get(eid).text == merged
    assert ja.get(eid).conflicts == [] and jb.get(eid).conflicts == []

    # Edits of the same words cannot be merged: both versions stay, on both devices, until the
    # next edit settles them.
    ja.edit(eid, merged.replace("tidur nyenyak", "tidur jam sepuluh"), None, None)
    jb.edit(eid, merged.replace("tidur nyenyak", "susah tidur"), None, None)
    a.sync(relay.url)
    b.sync(relay.url)
    a.sync(relay.url)
    ea, eb = ja.get(eid), jb.get(eid)
    assert (ea.text, ea.conflicts) == (eb.text, eb.conflicts)
    assert len(ea.conflicts) == 1
    assert sorted([ea.text] + ea.conflicts) == sorted(
        [merged.replace("tidur nyenyak", "tidur jam sepuluh"), merged.replace("tidur nyenyak", "susah tidur")]
    )
    jb.edit(eid, ea.conflicts[0], None, None)
    b.sync(relay.url)
    a.sync(relay.url)
    assert ja.get(eid).conflicts == [] and ja.get(eid).text == ea.conflicts[0]


def test_a_link_response_for_another_device_raises_bad_link_code(tmp_path, key):
    a = open_vault(tmp_path / "a.db", key)
    b = open_vault(tmp_path / "b.db", generate_master_key())
    c = open_vault(tmp_path / "c.db", generate_master_key())
    request = b.link_request()
    assert request.startswith("SBYQ1") and request == request.upper()
    for_c = a.approve_link(c.link_request())
    with pytest.raises(SebayaError.BadLinkCode) as err:
        b.complete_link(for_c)
    assert err.value.message_id == "error-bad-link-code"
    with pytest.raises(SebayaError.BadLinkCode):
        b.complete_link("not a link code")
    with pytest.raises(SebayaError.BadLinkCode):
        a.approve_link("SBYQ1" + "00" * 10)
    # Nothing half-done: a response made for B still works afterwards.
    b.complete_link(a.approve_link(request))
    eid = a.journal().add("dari A", 3, [])
    assert eid


def test_device_with_own_entries_cannot_link(tmp_path, key):
    a = open_vault(tmp_path / "a.db", key)
    b = open_vault(tmp_path / "b.db", generate_master_key())
    b.journal().add("milik B sendiri", 3, [])
    response = a.approve_link(b.link_request())
    with pytest.raises(SebayaError.AlreadyLinked):
        b.complete_link(response)
    assert [e.text for e in b.journal().list()] == ["milik B sendiri"]


def test_sync_to_closed_port_raises_network_and_keeps_data(tmp_path, key):
    v = open_vault(tmp_path / "v.db", key)
    j = v.journal()
    eid = j.add("tetap di sini", 3, [])  # with no journal yet, sync would not touch the network
    port = closed_port()
    with pytest.raises(SebayaError.Network) as err:
        v.sync(f"http://127.0.0.1:{port}")
    assert err.value.message_id == "error-network"
    assert j.get(eid).text == "tetap di sini"


def test_two_threads_add_to_one_vault(tmp_path, key):
    v = open_vault(tmp_path / "v.db", key)
    per_thread = 25
    barrier = threading.Barrier(2)
    ids = {0: [], 1: []}
    errors = []

    def worker(n):
        j = v.journal()  # separate Journal objects over the same vault
        try:
            barrier.wait(timeout=10)
            for i in range(per_thread):
                ids[n].append(j.add(f"thread {n} entry {i}", 1 + i % 5, [f"t{n}"]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == []
    assert len(ids[0]) == len(ids[1]) == per_thread
    listed = v.journal().list()
    assert len(listed) == 2 * per_thread
    assert {e.id for e in listed} == set(ids[0]) | set(ids[1])
    for n in (0, 1):
        mine = {e.text for e in listed if e.tags == [f"t{n}"]}
        assert mine == {f"thread {n} entry {i}" for i in range(per_thread)}


def test_module_exports_the_documented_api():
    for name in ("Vault", "Journal", "JournalEntry", "SyncReport", "SebayaError",
                 "generate_master_key", "localized_message", "Spaces", "Groups", "Pairings", "Care",
                 "Programmes", "Invites", "Nearby"):
        assert hasattr(sebaya, name), name
    for variant in ("WrongKey", "Corrupt", "InvalidInput", "NotFound", "Network", "Relay",
                    "BadLinkCode", "AlreadyLinked", "NotAllowed", "Locked", "Internal"):
        assert issubclass(getattr(SebayaError, variant), SebayaError), variant


def test_journal_stays_usable_while_a_sync_waits_on_the_network(tmp_path, key):
    # A "relay" that accepts the connection and then says nothing for a while, like a stalled link.
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    held = []

    def stall():
        conn, _ = server.accept()
        held.append(conn)
        time.sleep(3)
        conn.close()
        # Gone for good: the sync's retries are refused at once and it ends with a network error.
        server.close()

    staller = threading.Thread(target=stall)
    staller.start()
    v = open_vault(tmp_path / "v.db", key)
    j = v.journal()
    j.add("before the sync", 3, [])
    outcome = []

    def run_sync():
        try:
            v.sync(f"http://127.0.0.1:{port}")
            outcome.append("ok")
        except SebayaError.Network:
            outcome.append("network")
        except SebayaError as e:  # any other typed error still proves no crash
            outcome.append(type(e).__name__)

    syncer = threading.Thread(target=run_sync)
    syncer.start()
    time.sleep(0.5)  # the sync is now waiting on the stalled server
    assert syncer.is_alive(), "the sync should still be waiting on the stalled server"
    j.add("written during the sync", 4, [])
    texts = [e.text for e in j.list()]
    # The journal answered while the sync was still blocked on the network (not after it gave up).
    sync_still_waiting = syncer.is_alive()
    syncer.join(timeout=30)
    staller.join(timeout=30)
    server.close()
    assert outcome == ["network"], outcome
    assert "written during the sync" in texts
    assert sync_still_waiting, "journal calls waited for the sync to finish"


def test_optional_arguments_have_defaults(tmp_path, key):
    j = open_vault(tmp_path / "v.db", key).journal()
    eid = j.add("tanpa tag", 2)
    j.edit(eid, mood=5)
    got = j.get(eid)
    assert (got.text, got.mood, got.tags) == ("tanpa tag", 5, [])
    assert localized_message("error-network", "id") == localized_message("error-network", "id", None)


# --- persons, recovery phrases and device certificates ------------------------------------------


ZERO_PHRASE = " ".join(["abandon"] * 11 + ["about"])  # BIP-39's all-zero entropy, docs/protocol.md 16.7
ZERO_PERSON = "40f784350b02365be9b9cc5d410b0ff386638f10cbd14bea40bbdf54169ef20d"


def test_create_person_restore_on_a_fresh_vault_and_certificates(tmp_path):
    a = open_vault(tmp_path / "a.db", generate_master_key())
    assert a.person_id() is None
    with pytest.raises(SebayaError.NoPerson) as err:
        a.device_certificate()
    assert err.value.message_id == "error-no-person"

    phrase = a.create_person()
    words = phrase.split(" ")
    assert len(words) == 12 and all(w.isalpha() and w.islower() for w in words)
    person = a.person_id()
    assert person is not None and len(person) == 64 and int(person, 16) >= 0
    with pytest.raises(SebayaError.AlreadyHasPerson) as err:
        a.create_person()
    assert err.value.message_id == "error-already-has-person"
    assert phrase not in err.value.detail

    b = open_vault(tmp_path / "b.db", generate_master_key())
    b.restore_person(phrase)
    assert b.person_id() == person
    assert b.device_id() != a.device_id()

    cert_a, cert_b = a.device_certificate(), b.device_certificate()
    assert isinstance(cert_a, bytes) and cert_a != cert_b
    info_a = sebaya.verify_device_certificate(cert_a)
    info_b = sebaya.verify_device_certificate(cert_b)
    assert info_a.person == info_b.person == person
    assert (info_a.device, info_b.device) == (a.device_id(), b.device_id())
    assert len(info_a.x25519) == 64 and info_a.x25519 != info_b.x25519
    assert info_a.created > 1_700_000_000


def test_person_survives_reopen(tmp_path, key):
    path = tmp_path / "v.db"
    v = open_vault(path, key)
    v.create_person()
    person, cert = v.person_id(), v.device_certificate()
    del v
    gc.collect()
    v = open_vault(path, key)
    assert v.person_id() == person
    assert v.device_certificate() == cert


def test_altered_certificate_raises_bad_certificate(tmp_path, key):
    v = open_vault(tmp_path / "v.db", key)
    v.create_person()
    cert = v.device_certificate()
    for i in (0, 5, len(cert) // 2, len(cert) - 1):
        flipped = bytearray(cert)
        flipped[i] ^= 0x01
        with pytest.raises(SebayaError.BadCertificate) as err:
            sebaya.verify_device_certificate(bytes(flipped))
        assert err.value.message_id == "error-bad-certificate"
    for garbled in (b"", b"\x00" * 64, cert[:-1], cert + b"\x00", b"\xff" * 2000):
        with pytest.raises(SebayaError.BadCertificate):
            sebaya.verify_device_certificate(garbled)
    assert sebaya.verify_device_certificate(cert).person == v.person_id()


def test_wrong_phrase_raises_bad_recovery_phrase_and_changes_nothing(tmp_path, key):
    v = open_vault(tmp_path / "v.db", key)
    device = v.device_id()
    wrong_checksum = " ".join(["abandon"] * 12)
    unknown_word = " ".join(["abandon"] * 11 + ["sebaya"])
    for bad in (wrong_checksum, unknown_word, "abandon abandon", ""):
        with pytest.raises(SebayaError.BadRecoveryPhrase) as err:
            v.restore_person(bad)
        assert err.value.message_id == "error-bad-recovery-phrase"
        assert "sebaya" not in err.value.detail
        assert v.person_id() is None
    assert v.device_id() == device
    # Nothing half-done: the right phrase (as typed by a person, any case and spacing) still works.
    v.restore_person("  " + ZERO_PHRASE.upper().replace(" ", "  ") + "\n")
    assert v.person_id() == ZERO_PERSON
    with pytest.raises(SebayaError.AlreadyHasPerson):
        v.restore_person(ZERO_PHRASE)
    # And a fresh vault can still create instead.
    w = open_vault(tmp_path / "w.db", generate_master_key())
    with pytest.raises(SebayaError.BadRecoveryPhrase):
        w.restore_person(wrong_checksum)
    assert len(w.create_person().split(" ")) == 12


def test_identity_api_is_exported_and_localized():
    assert hasattr(sebaya, "verify_device_certificate")
    assert hasattr(sebaya, "DeviceCertificateInfo")
    for variant in ("AlreadyHasPerson", "NoPerson", "BadRecoveryPhrase", "BadCertificate"):
        assert issubclass(getattr(SebayaError, variant), SebayaError), variant
    for mid in ("error-already-has-person", "error-no-person", "error-bad-recovery-phrase",
                "error-bad-certificate"):
        en, ind = localized_message(mid, "en"), localized_message(mid, "id")
        assert en != mid and ind != mid and en != ind, mid


def test_removing_a_lost_device_rotates_the_journal_key(tmp_path, relay):
    a = open_vault(tmp_path / "a.db", generate_master_key())
    b = open_vault(tmp_path / "b.db", generate_master_key())
    lost = open_vault(tmp_path / "lost.db", generate_master_key())
    b.complete_link(a.approve_link(b.link_request()))
    lost.complete_link(a.approve_link(lost.link_request()))
    members = {m.device_id: m for m in a.journal().members()}
    assert set(members) == {a.device_id(), b.device_id(), lost.device_id()}
    assert members[a.device_id()].this_device and members[a.device_id()].role == SpaceRole.ADMIN()
    before = a.journal().add("sebelum ponsel hilang", 3, [])
    for v in (a, b, lost):
        v.sync(relay.url)
    assert lost.journal().get(before) is not None

    report = a.remove_device(lost.device_id())
    assert report.wrapped == 1 and report.without_key == 0 and report.bytes > 0
    assert lost.device_id() not in {m.device_id for m in a.journal().members()}
    after = a.journal().add("sesudah ponsel hilang", 4, [])
    a.sync(relay.url)
    b.sync(relay.url)
    assert b.journal().get(after).text == "sesudah ponsel hilang"
    assert b.journal().get(before) is not None
    # The lost phone learns nothing new, whether the relay refuses it or hands it ciphertext.
    try:
        lost.sync(relay.url)
    except SebayaError.Relay:
        pass
    assert lost.journal().get(after) is None
    with pytest.raises(SebayaError.InvalidInput):
        a.remove_device("not-hex")
    with pytest.raises(SebayaError.NotFound):
        a.remove_device(lost.device_id())


def test_a_support_group_through_the_relay(tmp_path, relay):
    fac = open_vault(tmp_path / "f.db", generate_master_key())
    sup = open_vault(tmp_path / "s.db", generate_master_key())
    par = open_vault(tmp_path / "p.db", generate_master_key())
    gid = fac.groups().create("Kelompok Kamis")
    sup.groups().join(fac.spaces().approve_member(gid, sup.link_request(), as_admin=True))
    par.groups().join(fac.spaces().approve_member(gid, par.link_request()))
    roles = {m.device_id: m.role for m in fac.spaces().members(gid)}
    assert roles == {fac.device_id(): SpaceRole.ADMIN(), sup.device_id(): SpaceRole.ADMIN(), par.device_id(): SpaceRole.MEMBER()}
    for v in (fac, sup, par):
        v.sync(relay.url)
    assert [g.name for g in par.groups().list()] == ["Kelompok Kamis"] and par.groups().list()[0].role == SpaceRole.MEMBER()

    nid = fac.groups().add_note(gid, "Kita mulai dengan check-in.", title="Rencana")
    fac.sync(relay.url)
    sup.sync(relay.url)
    fac.groups().edit_note(gid, nid, text="Pembukaan. Kita mulai dengan check-in.")
    sup.groups().edit_note(gid, nid, text="Kita mulai dengan check-in. Lalu latihan napas.")
    sid = fac.groups().add_session(gid, 1767225600000, "Mengelola cemas")
    fac.groups().set_attendance(gid, sid, par.device_id(), Attendance.PRESENT())
    for v in (fac, sup, fac, par):
        v.sync(relay.url)
    for v in (fac, sup, par):
        note = [n for n in v.groups().notes(gid) if n.id == nid][0]
        assert note.text == "Pembukaan. Kita mulai dengan check-in. Lalu latihan napas."
        (session,) = v.groups().sessions(gid)
        assert [(a.member, a.attendance) for a in session.attendance] == [(par.device_id(), Attendance.PRESENT())]

    with pytest.raises(SebayaError.NotAllowed):
        par.spaces().remove_member(gid, fac.device_id())
    # Sessions and attendance are the facilitators' part of the group.
    with pytest.raises(SebayaError.NotAllowed):
        par.groups().add_session(gid, 1767225600000, "Sesi palsu")
    report = fac.spaces().remove_member(gid, par.device_id())
    assert report.wrapped == 1
    fac.groups().add_note(gid, "Setelah perubahan anggota.")
    fac.sync(relay.url)
    assert par.sync(relay.url).refused_spaces == 1
    assert all(n.text != "Setelah perubahan anggota." for n in par.groups().notes(gid))
    with pytest.raises(SebayaError.InvalidInput):
        fac.groups().add_note("not-hex", "x")
    with pytest.raises(SebayaError.NotFound):
        fac.groups().notes("00" * 16)


def test_a_co_facilitator_stepped_back_while_offline_writes_as_a_member_everywhere(tmp_path, relay):
    fac = open_vault(tmp_path / "f.db", generate_master_key())
    co = open_vault(tmp_path / "c.db", generate_master_key())
    par = open_vault(tmp_path / "p.db", generate_master_key())
    gid = fac.groups().create("Kelompok Kamis")
    co.groups().join(fac.spaces().approve_member(gid, co.link_request(), as_admin=True))
    par.groups().join(fac.spaces().approve_member(gid, par.link_request()))
    for v in (fac, co, par):
        v.sync(relay.url)
    with pytest.raises(SebayaError.NotAllowed):
        par.spaces().set_member_role(gid, co.device_id(), False)
    fac.spaces().set_member_role(gid, co.device_id(), False)
    # Offline and unaware of it, the co-facilitator adds a session (a facilitator's write).
    co.groups().add_session(gid, 1767225600000, "Sesi dari co")
    co.sync(relay.url)
    par.sync(relay.url)
    assert len(par.groups().sessions(gid)) == 1
    for v in (fac, par, co):
        v.sync(relay.url)
    for v in (fac, co, par):
        assert v.groups().sessions(gid) == []
    roles = {m.device_id: m.role for m in co.spaces().members(gid)}
    assert roles[co.device_id()] == SpaceRole.MEMBER()
    with pytest.raises(SebayaError.NotAllowed):
        co.groups().add_session(gid, 1767225600000, "Lagi")
    with pytest.raises(SebayaError.NotFound):
        fac.spaces().set_member_role(gid, "00" * 32, True)


def test_a_pairing_and_case_notes_through_the_relay(tmp_path, relay):
    sup = open_vault(tmp_path / "s.db", generate_master_key())
    par = open_vault(tmp_path / "p.db", generate_master_key())
    svr = open_vault(tmp_path / "v.db", generate_master_key())
    created = sup.pairings().create(par.link_request(), trained_programme(sup))
    joined = par.spaces().join(created.response)
    assert (joined.id, joined.kind) == (created.space_id, SpaceKind.PAIRING())
    sup.sync(relay.url)
    par.sync(relay.url)
    par.pairings().add_checkin(created.space_id, 2, note="berat minggu ini")
    gid = sup.pairings().add_goal(created.space_id, "Tidur sebelum jam 11")
    sup.pairings().set_goal_progress(created.space_id, gid, 100)
    sup.pairings().send_message(created.space_id, "Aku di sini.")
    for v in (par, sup, par):
        v.sync(relay.url)
    for v in (sup, par):
        assert [c.mood for c in v.pairings().checkins(created.space_id)] == [2]
        (goal,) = v.pairings().goals(created.space_id)
        assert goal.done and goal.progress == 100
        assert [m.text for m in v.pairings().messages(created.space_id)] == ["Aku di sini."]
    with pytest.raises(SebayaError.InvalidInput):
        par.pairings().add_checkin(created.space_id, 9)
    with pytest.raises(SebayaError.InvalidInput):
        sup.pairings().set_goal_progress(created.space_id, gid, 101)

    pid = supervising_programme(sup, svr)
    notes = sup.pairings().create_case_notes(
        "pairing-7f3a", svr.link_request(), svr.programmes().certification_presentation(pid), pid
    )
    with pytest.raises(SebayaError.BadLinkCode):
        par.spaces().join(notes.response)
    svr.spaces().join(notes.response)
    nid = sup.pairings().add_case_note(notes.space_id, "Rujukan dibahas.")
    sup.sync(relay.url)
    svr.sync(relay.url)
    svr.pairings().review_case_note(notes.space_id, nid, "Baik, lanjutkan.")
    svr.sync(relay.url)
    sup.sync(relay.url)
    par.sync(relay.url)
    (note,) = sup.pairings().case_notes(notes.space_id)
    assert note.reviews == ["Baik, lanjutkan."]
    assert [s.kind for s in par.spaces().list()] == [SpaceKind.PAIRING()]
    with pytest.raises(SebayaError.NotFound):
        par.pairings().case_notes(notes.space_id)


def test_a_device_linked_elsewhere_is_announced(tmp_path, relay):
    a = open_vault(tmp_path / "a.db", generate_master_key())
    b = open_vault(tmp_path / "b.db", generate_master_key())
    c = open_vault(tmp_path / "c.db", generate_master_key())
    b.complete_link(a.approve_link(b.link_request()))
    a.sync(relay.url)
    b.sync(relay.url)
    assert b.new_linked_devices() == []
    c.complete_link(a.approve_link(c.link_request()))
    a.sync(relay.url)
    b.sync(relay.url)
    assert b.new_linked_devices() == [c.device_id()]
    b.acknowledge_linked_devices()
    assert b.new_linked_devices() == []


def test_a_remote_invite_through_the_relay(tmp_path, relay):
    fac = open_vault(tmp_path / "f.db", generate_master_key())
    joiner = open_vault(tmp_path / "j.db", generate_master_key())
    late = open_vault(tmp_path / "l.db", generate_master_key())
    joiner.create_person()
    gid = fac.groups().create("Kelompok Sabtu")
    fac.groups().add_note(gid, "Sebelum undangan.")
    invite = fac.invites().create(gid, valid_for_secs=3600, share_history=True)
    assert invite.space_id == gid
    assert len(invite.code) < 200 and invite.code.startswith("SBYI1")
    assert [(i.id, i.status) for i in fac.invites().list(gid)] == [(invite.id, InviteStatus.OPEN())]
    fac.sync(relay.url)

    pending = joiner.invites().accept(invite.code, "Rina")
    assert (pending.space_id, pending.kind, pending.status) == (gid, SpaceKind.GROUP(), JoinStatus.WAITING)
    joiner.sync(relay.url)
    assert joiner.spaces().list() == []

    assert fac.sync(relay.url).join_requests == 1
    (request,) = fac.invites().join_requests()
    assert (request.name, request.device_id, request.person_id) == ("Rina", joiner.device_id(), joiner.person_id())
    assert fac.invites().approve_join_request(request.id) == joiner.device_id()
    fac.sync(relay.url)
    assert joiner.sync(relay.url).joined == 1
    assert joiner.invites().pending_joins() == []
    assert "Sebelum undangan." in [n.text for n in joiner.groups().notes(gid)]
    assert [(i.status, i.admitted) for i in fac.invites().list(gid)] == [(InviteStatus.SPENT(), joiner.device_id())]

    # The spent code again, from someone else: refused by the relay, nothing joined.
    late.invites().accept(invite.code, "Lain")
    late.sync(relay.url)
    (p,) = late.invites().pending_joins()
    assert (p.status, p.refused_reason) == (JoinStatus.REFUSED, "invite-spent")
    assert late.spaces().list() == []
    with pytest.raises(SebayaError.InviteSpent):
        fac.invites().revoke(gid, invite.id)

    # A revoked invite, a damaged code, and the messages people see.
    second = fac.invites().create(gid, share_history=True)
    fac.invites().revoke(gid, second.id)
    assert [i.status for i in fac.invites().list(gid) if i.id == second.id] == [InviteStatus.REVOKED()]
    with pytest.raises(SebayaError.BadInvite):
        late.invites().accept(second.code[:-1], "Lain")
    with pytest.raises(SebayaError.InvalidInput):
        fac.invites().create(gid, valid_for_secs=0)
    with pytest.raises(SebayaError.NotAllowed):
        joiner.invites().create(gid)
    for locale in ("id", "en"):
        for mid in ("error-invite-spent", "error-invite-expired", "error-invite-revoked", "error-bad-invite"):
            assert localized_message(mid, locale) != mid


def test_restore_from_the_phrase_and_link_a_certified_device(tmp_path, relay):
    phone = open_vault(tmp_path / "phone.db", generate_master_key())
    phrase = phone.create_person()
    phone.journal().add("Hari ini cukup baik.", 4, [])
    gid = phone.groups().create("Kelompok Rina")
    phone.groups().add_note(gid, "Catatan Rina")
    phone.sync(relay.url)

    # The phone is lost: an empty vault and the phrase bring everything back, as a new device.
    restored = open_vault(tmp_path / "restored.db", generate_master_key())
    restored.restore_person(phrase)
    assert restored.person_id() == phone.person_id()
    assert restored.device_id() != phone.device_id()
    assert restored.sync(relay.url).from_index >= 2
    restored.sync(relay.url)
    assert [e.text for e in restored.journal().list()] == ["Hari ini cukup baik."]
    assert [n.text for n in restored.groups().notes(gid)] == ["Catatan Rina"]
    assert [(g.id, g.role) for g in restored.groups().list()] == [(gid, SpaceRole.ADMIN())]
    assert [s.kind for s in restored.spaces().list()] == [SpaceKind.GROUP()], "the index is internal"

    # A tablet linked by the restored phone is certified by the same person and reaches the group.
    tablet = open_vault(tmp_path / "tablet.db", generate_master_key())
    tablet.complete_link(restored.approve_link(tablet.link_request()))
    assert tablet.person_id() == phone.person_id()
    restored.sync(relay.url)
    assert tablet.sync(relay.url).from_index >= 1
    tablet.sync(relay.url)
    assert [n.text for n in tablet.groups().notes(gid)] == ["Catatan Rina"]


def test_replacing_the_phrase_closes_the_old_one(tmp_path, relay):
    phone = open_vault(tmp_path / "phone.db", generate_master_key())
    old = phone.create_person()
    gid = phone.groups().create("Kelompok Rina")
    phone.groups().add_note(gid, "Catatan Rina")
    phone.sync(relay.url)
    new = phone.replace_recovery_phrase()
    assert new != old
    phone.sync(relay.url)
    thief = open_vault(tmp_path / "thief.db", generate_master_key())
    thief.restore_person(old)
    assert thief.sync(relay.url).from_index == 0
    assert thief.groups().list() == []
    again = open_vault(tmp_path / "again.db", generate_master_key())
    again.restore_person(new)
    assert again.sync(relay.url).from_index >= 1
    again.sync(relay.url)
    assert [n.text for n in again.groups().notes(gid)] == ["Catatan Rina"]
    linked = open_vault(tmp_path / "linked.db", generate_master_key())
    with pytest.raises(SebayaError.NoPerson):
        linked.replace_recovery_phrase()


def test_programme_roles_gate_sessions_and_reviews(tmp_path, relay):
    coord = open_vault(tmp_path / "c.db", generate_master_key())
    sup = open_vault(tmp_path / "s.db", generate_master_key())
    other = open_vault(tmp_path / "o.db", generate_master_key())
    for v in (coord, sup, other):
        v.create_person()
    pid = coord.programmes().create("PIK-R SMA 1")
    (p,) = coord.programmes().list()
    assert (p.id, p.name, p.holds_key, p.role) == (pid, "PIK-R SMA 1", True, ProgrammeRole.COORDINATOR())
    with pytest.raises(SebayaError.NotAllowed):
        sup.groups().create("Kelompok", programme_id=pid)
    grant = coord.programmes().grant_role(pid, sup.person_id(), ProgrammeRole.PEER_SUPPORTER(), valid_days=90)
    with pytest.raises(SebayaError.BadCredential):
        other.programmes().add_credential(grant.credential)
    with pytest.raises(SebayaError.InvalidInput):
        coord.programmes().grant_role(pid, sup.person_id(), ProgrammeRole.UNKNOWN(raw="therapist"))
    assert sup.programmes().add_credential(grant.credential) == ProgrammeRole.PEER_SUPPORTER()
    gid = sup.groups().create("Kelompok PIK-R", programme_id=pid)
    other.groups().join(sup.spaces().approve_member(gid, other.link_request(), as_admin=True))
    # The role alone runs no session: group facilitation is a module of its own.
    with pytest.raises(SebayaError.NotCertified) as err:
        sup.groups().add_session(gid, 1767225600000, "Sesi 1")
    assert err.value.detail.endswith("group-facilitation")
    assert sup.groups().sessions(gid) == []
    certify_facilitation(coord, sup, pid)
    sup.groups().add_session(gid, 1767225600000, "Sesi 1")
    sup.sync(relay.url)
    other.sync(relay.url)
    assert [s.topic for s in other.groups().sessions(gid)] == ["Sesi 1"]
    # A co-facilitator without a programme role does not run sessions.
    with pytest.raises(SebayaError.NotAllowed):
        other.groups().add_session(gid, 1767225600000, "Sesi 2")
    for locale in ("id", "en"):
        assert localized_message("error-bad-credential", locale) != "error-bad-credential"


def test_a_newcomer_without_history_joins_a_new_period(tmp_path, relay):
    fac = open_vault(tmp_path / "f.db", generate_master_key())
    member = open_vault(tmp_path / "m.db", generate_master_key())
    newcomer = open_vault(tmp_path / "n.db", generate_master_key())
    gid = fac.groups().create("Kelompok Senin")
    assert member.groups().join(fac.spaces().approve_member(gid, member.link_request())) == gid
    fac.groups().add_note(gid, "Cerita minggu lalu.")
    fac.sync(relay.url)
    member.sync(relay.url)
    # The default: no history. The group goes on in a new period; the newcomer joins that.
    new_gid = newcomer.groups().join(fac.spaces().approve_member(gid, newcomer.link_request()))
    assert new_gid != gid
    assert [g.next_id for g in fac.groups().list() if g.id == gid] == [new_gid]
    fac.sync(relay.url)
    newcomer.sync(relay.url)
    assert newcomer.groups().notes(new_gid) == []
    assert member.sync(relay.url).new_periods == 1
    member.sync(relay.url)
    assert [n.text for n in member.groups().notes(gid)] == ["Cerita minggu lalu."]
    member.groups().add_note(new_gid, "Selamat datang.")
    member.sync(relay.url)
    newcomer.sync(relay.url)
    assert [n.text for n in newcomer.groups().notes(new_gid)] == ["Selamat datang."]
    with pytest.raises(SebayaError.NotAllowed):
        member.groups().start_period(new_gid)


def test_instruments_are_scored_on_the_device_with_risk_flags(tmp_path):
    """Issue 14, item 10: a score with risk flags comes only from submit_screening, which runs the
    escalation; no call of the app API scores answers and hands back a risk flag that escalates nothing."""
    import sebaya

    assert not hasattr(sebaya, "score_instrument")
    care = Vault.open(str(tmp_path / "score.db"), generate_master_key()).care()

    def score(instrument, answers):
        esc = care.submit_screening(instrument, answers, "id")
        assert esc.rules == esc.score.risk_flags and esc.resources
        return esc.score

    s = score(Instrument.PHQ9(), bytes([1, 1, 1, 1, 1, 1, 1, 1, 1]))
    assert (s.total, s.band, s.positive_screen, s.risk_flags) == (9, ScreeningBand.MILD, False, [RiskFlag.PHQ9_ITEM9()])
    assert s.instrument == Instrument.PHQ9()
    s = score(Instrument.WHO5(), bytes([3, 3, 3, 3, 0]))
    assert (s.total, s.percentage, s.band, s.positive_screen) == (12, 48, ScreeningBand.WELLBEING_LOW, True)
    yes17 = [0] * 20
    yes17[16] = 1
    s = score(Instrument.SRQ20(), bytes(yes17))
    assert (s.band, s.risk_flags) == (ScreeningBand.BELOW_CUTOFF, [RiskFlag.SRQ20_ITEM17()])
    with pytest.raises(SebayaError.InvalidInput):
        score(Instrument.GAD7(), bytes([4, 0, 0, 0, 0, 0, 0]))
    with pytest.raises(SebayaError.InvalidInput):
        score(Instrument.PHQ9(), bytes([0] * 8))
    with pytest.raises(SebayaError.InvalidInput):
        score(Instrument.UNKNOWN(raw="bdi"), bytes([0]))
    for band in ("minimal", "moderately-severe", "wellbeing-very-low", "above-cutoff"):
        for locale in ("id", "en"):
            assert localized_message("band-" + band, locale) != "band-" + band


def test_mood_trends_over_check_ins(tmp_path, key):
    v = open_vault(tmp_path / "t.db", key)
    assert v.journal().mood_trends(420).weeks == []
    j = v.journal()
    j.add("pagi", 2, ["cemas"])
    j.add("sore", 4, [])
    t = v.journal().mood_trends(420)
    assert len(t.weeks) == 1 and t.weeks[0].count == 2 and abs(t.weeks[0].average - 3.0) < 1e-9
    assert (t.current_streak, t.longest_streak) == (1, 1)
