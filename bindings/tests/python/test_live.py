"""Live sync through the bindings (issue 16, item 2): a device's live session is told that the group
another device wrote to changed and was synced, the note is readable, and stop() ends the session,
also when called from inside the listener. No assertion is about timing: each event is awaited far
longer than loopback needs."""

import queue
import threading

import sebaya
from sebaya import SyncControl, generate_master_key

from test_sebaya import open_vault

PATIENCE = 60


class Recorder(sebaya.LiveListener):
    """Puts every event on a queue for the test to take."""

    def __init__(self, on_synced=None):
        self.events = queue.Queue()
        self.on_synced = on_synced

    def synced(self, space_ids, report):
        self.events.put(("synced", list(space_ids), report.pulled))
        if self.on_synced is not None:
            self.on_synced()

    def failed(self, failure):
        self.events.put(("failed", failure))

    def next_synced(self):
        while True:
            event = self.events.get(timeout=PATIENCE)
            if event[0] == "synced":
                return event[1], event[2]


def two_in_a_group(tmp_path, relay):
    fac = open_vault(tmp_path / "f.db", generate_master_key())
    sup = open_vault(tmp_path / "s.db", generate_master_key())
    gid = fac.groups().create("Kelompok Kamis")
    sup.groups().join(fac.spaces().approve_member(gid, sup.link_request(), as_admin=True))
    fac.sync(relay.url)
    sup.sync(relay.url)
    return fac, sup, gid


def test_a_live_session_is_told_of_a_write_elsewhere_and_stops(tmp_path, relay):
    fac, sup, gid = two_in_a_group(tmp_path, relay)
    listener = Recorder()
    control = SyncControl()
    session = sup.start_live(relay.url, listener, control, 20_000)
    assert session.is_running()
    # The session's first sync (of every space) comes before the write.
    assert listener.next_synced()[0] == []

    fac.groups().add_note(gid, "Kita mulai dengan check-in.", title="Rencana")
    fac.sync(relay.url)
    spaces, pulled = listener.next_synced()
    assert spaces == [gid] and pulled > 0
    assert [n.text for n in sup.groups().notes(gid)] == ["Kita mulai dengan check-in."]

    # The session is waiting at the relay again: stop returns once the loop ended.
    session.stop()
    assert not session.is_running()
    assert control.is_cancelled()
    session.stop()  # twice is harmless


def test_stop_from_inside_the_listener_does_not_deadlock(tmp_path, relay):
    _fac, sup, _gid = two_in_a_group(tmp_path, relay)
    holder = {}
    started = threading.Event()

    def stop_from_inside():
        started.wait(PATIENCE)
        holder["session"].stop()
        # Reached only if stop returned inside the listener.
        listener.events.put(("stopped inside",))

    listener = Recorder(on_synced=stop_from_inside)
    control = SyncControl()
    holder["session"] = sup.start_live(relay.url, listener, control, 20_000)
    started.set()
    assert listener.next_synced()[0] == []
    assert listener.events.get(timeout=PATIENCE) == ("stopped inside",)
    holder["session"].stop()
    assert not holder["session"].is_running()


def test_a_relay_out_of_reach_is_a_typed_failure_and_the_session_goes_on_until_stopped(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    v = open_vault(tmp_path / "alone.db", generate_master_key())
    listener = Recorder()
    session = v.start_live(f"http://127.0.0.1:{port}", listener, SyncControl(), 20_000)
    event = listener.events.get(timeout=PATIENCE)
    assert event[0] == "failed" and event[1].is_network(), event
    # It goes on (pausing) until stopped; stop ends the pause at once.
    assert session.is_running()
    session.stop()
    assert not session.is_running()
