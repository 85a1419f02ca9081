"""Peer-to-peer sessions through the Python bindings (protocol section 25): two vaults in one process
pass bytes between their sessions as a Bluetooth or TCP stream would; members converge both ways, a
stranger is refused with a typed error and is told nothing, and an altered frame ends the session."""

import re
import socket
import threading

import pytest

from conftest import trained_programme
from sebaya import (
    SebayaError,
    SpaceKind,
    SyncPath,
    Vault,
    generate_master_key,
    is_nearby_advert_name,
    nearby_advert_name,
    nearby_service_type,
)


def run(a_vault, b_vault, a_initiates=True, spoil=None):
    """Drives two sessions until neither has anything to send; returns (a, b, errors)."""
    a = a_vault.nearby().start_session(a_initiates)
    b = b_vault.nearby().start_session(not a_initiates)
    errors = {}
    moved = True
    delivered = 0
    while moved:
        moved = False
        for name, src, dst in (("b", a, b), ("a", b, a)):
            for frame in src.take_outgoing():
                moved = True
                if name == "b":
                    delivered += 1
                if spoil is not None and name == "b" and delivered == spoil:
                    frame = frame[:-1] + bytes([frame[-1] ^ 1])
                if name in errors:
                    continue
                try:
                    dst.receive(frame)
                except SebayaError as e:
                    errors[name] = e
    return a, b, errors


def linked(tmp_path):
    phone = Vault.open(str(tmp_path / "phone.db"), generate_master_key())
    phone.create_person()
    phone.journal().add("Dari ponsel.", 4, [])
    tablet = Vault.open(str(tmp_path / "tablet.db"), generate_master_key())
    tablet.complete_link(phone.approve_link(tablet.link_request()))
    return phone, tablet


def texts(v):
    return sorted(e.text for e in v.journal().list())


def test_two_devices_converge_face_to_face(tmp_path):
    phone, tablet = linked(tmp_path)
    tablet.journal().add("Dari tablet.", 3, [])
    a, b, errors = run(phone, tablet)
    assert errors == {}
    assert a.is_finished() and b.is_finished()
    assert texts(phone) == texts(tablet) == ["Dari ponsel.", "Dari tablet."]
    r = a.report()
    assert r.remote_device_id == tablet.device_id()
    assert r.spaces == 1 and r.sent > 0 and r.acked == r.sent
    assert b.report().received == r.sent
    statuses = {s.space_id: s for s in phone.space_status()}
    assert any(s.last_path == SyncPath.PEER() for s in statuses.values())


def test_a_stranger_is_refused_and_told_nothing(tmp_path):
    phone, _ = linked(tmp_path)
    stranger = Vault.open(str(tmp_path / "s.db"), generate_master_key())
    stranger.create_person()
    stranger.journal().add("Orang lain.", 2, [])
    a, b, errors = run(phone, stranger)
    assert isinstance(errors["a"], SebayaError.PeerNotMember)
    assert isinstance(errors["b"], SebayaError.PeerNotMember)
    assert errors["a"].message_id == "error-peer-not-member"
    rb = b.report()
    assert rb.spaces == 0 and rb.received == 0 and rb.chunks_received == 0
    assert a.report().sent == 0
    assert texts(stranger) == ["Orang lain."]


def test_an_altered_frame_ends_the_session_and_the_next_one_converges(tmp_path):
    phone, tablet = linked(tmp_path)
    phone.journal().add("Kedua.", 3, [])
    before = texts(tablet)
    # Frame 4 to the tablet is past the handshake (its certificate or vectors).
    _, b, errors = run(phone, tablet, spoil=4)
    assert isinstance(errors["b"], SebayaError.BadPeerMessage)
    assert not b.is_finished()
    assert texts(tablet) == before
    with pytest.raises(SebayaError.BadPeerMessage):
        b.receive(b"\x00\x01\x00")
    a, b, errors = run(phone, tablet, a_initiates=False)
    assert errors == {}
    assert texts(tablet) == texts(phone)


def test_a_device_without_a_person_cannot_start_a_session(tmp_path):
    v = Vault.open(str(tmp_path / "v.db"), generate_master_key())
    with pytest.raises(SebayaError.NoPerson):
        v.nearby().start_session(True)


def test_a_listener_may_ask_the_session_that_told_it(tmp_path):
    """Listeners run after the session is released: one that reads the session's report from inside
    the call does not wait forever on it."""
    import sebaya

    phone, tablet = linked(tmp_path)
    tablet.journal().add("Dari tablet.", 3, [])
    a = phone.nearby().start_session(True)
    b = tablet.nearby().start_session(False)
    seen = []

    class AsksTheSession(sebaya.SpaceListener):
        def space_changed(self, space_id, kind):
            seen.append((kind, a.report().received))

    sub = phone.subscribe(AsksTheSession())
    moved = True
    while moved:
        moved = False
        for src, dst in ((a, b), (b, a)):
            for frame in src.take_outgoing():
                moved = True
                dst.receive(frame)
    sub.stop()
    assert a.is_finished() and b.is_finished()
    assert seen and seen[-1][0] == SpaceKind.JOURNAL() and seen[-1][1] > 0
    assert texts(phone) == texts(tablet)


def test_a_carrier_hands_a_participants_check_in_to_its_supporter_with_no_relay(tmp_path, relay):
    """Carrying face to face (protocol 25.2): the carrier took the participant's sealed envelopes from
    a bundle and hands the supporter those of the pairing the supporter holds. The supporter's
    acknowledgement is not authoritative: everything stays carried until the relay answers for it."""

    def person(name):
        v = Vault.open(str(tmp_path / name), generate_master_key())
        v.create_person()
        return v

    supporter, participant, carrier = person("s.db"), person("p.db"), person("c.db")
    programme = trained_programme(supporter)
    pair = supporter.pairings().create(participant.link_request(), programme)
    participant.spaces().join(pair.response)
    assert run(participant, supporter)[2] == {}
    carrier.spaces().join(supporter.pairings().create(carrier.link_request(), programme).response)

    participant.pairings().add_checkin(pair.space_id, 2, "Minggu berat.")
    participant.journal().add("Hanya untuk saya.", 2, [])
    carrier.nearby().set_carry_quota(1 << 20)
    assert carrier.nearby().import_bundle(participant.nearby().export_bundle([], None)).carried > 0
    before = carrier.nearby().carry_status()

    c, s, errors = run(carrier, supporter)
    assert errors == {}
    assert c.is_finished() and s.is_finished()
    assert [x.note for x in supporter.pairings().checkins(pair.space_id)] == ["Minggu berat."]
    rc, rs = c.report(), s.report()
    assert rc.carried_sent > 0 and rc.carried_answered == rc.carried_sent
    assert rs.carried_received == rc.carried_sent and rs.carried_refused == 0
    assert carrier.nearby().carry_status() == before, "a peer's Ack drops nothing"
    assert "Hanya untuk saya." not in texts(supporter)
    with pytest.raises(SebayaError):
        carrier.pairings().checkins(pair.space_id)
    carrier.sync(relay.url)
    after = carrier.nearby().carry_status()
    assert (after.envelopes, after.spaces) == (0, 0), "the relay's answer drops them"


def test_the_advertisement_name_and_service_type_are_the_clis():
    """Protocol 25.1: apps advertise under the CLI's rule, made in the core."""
    assert nearby_service_type() == "_sebaya._tcp"
    a, b = nearby_advert_name(), nearby_advert_name()
    assert re.fullmatch(r"[0-9a-f]{16}", a), a
    assert a != b, "fresh for each opening"
    assert is_nearby_advert_name(a)
    assert not is_nearby_advert_name("Ponsel Sari")
    assert not is_nearby_advert_name(a.upper())


def drive_over(session, sock):
    """The TCP driver of the glue (NearbyTcp.kt / NearbyTcp.swift) in a few lines, over one socket."""
    while True:
        for frame in session.take_outgoing():
            sock.sendall(frame)
        if session.is_finished():
            return session.report()
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the other device closed the connection")
        try:
            session.receive(data)
        except SebayaError:
            for frame in session.take_outgoing():
                sock.sendall(frame)
            raise


def test_a_session_runs_over_a_socket_pair(tmp_path):
    phone, tablet = linked(tmp_path)
    tablet.journal().add("Lewat soket.", 3, [])
    left, right = socket.socketpair()
    left.settimeout(30)
    right.settimeout(30)
    out = {}

    def responder():
        try:
            out["tablet"] = drive_over(tablet.nearby().start_session(False), right)
        except Exception as e:  # noqa: BLE001 (handed to the main thread's assertion)
            out["error"] = e

    t = threading.Thread(target=responder)
    t.start()
    r = drive_over(phone.nearby().start_session(True), left)
    t.join(30)
    left.close()
    right.close()
    assert "error" not in out, out
    assert r.remote_device_id == tablet.device_id()
    assert out["tablet"].remote_device_id == phone.device_id()
    assert texts(phone) == texts(tablet) == ["Dari ponsel.", "Lewat soket."]
