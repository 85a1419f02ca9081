"""The opt-in log sink (issue 17, item 4): the app installs a sink and a level; the library's lines
arrive there and hold counts, times and codes, never content, secrets or ids. The canary check runs a
flow like `sebaya demo`'s at the most verbose level, with the demo's own marker strings written into
the journal, and scans every line it got."""

import re
import threading

import pytest

import sebaya
from sebaya import LogLevel, SebayaError, SyncControl, Vault, generate_master_key

from conftest import UrllibTransport

# The journal markers `sebaya demo` writes (cli/src/main.rs), and more of the same kind for the other
# places content goes: a group's name and note, a listener's and a transport's error text.
CANARIES = [
    "MARKER-kesepian-malam-ini-7f3a",
    "MARKER-talked-with-my-sister-91c2",
    "MARKER-ujian-besok-takut-5d0e",
    "MARKER-group-name-4b1c",
    "MARKER-group-note-e0d9",
    "MARKER-listener-error-22aa",
    "MARKER-transport-reason-93fe",
]


class Collect(sebaya.LogSink):
    def __init__(self):
        self.lines = []
        self.lock = threading.Lock()

    def log(self, level, target, message):
        with self.lock:
            self.lines.append((level, target, message))

    def text(self):
        with self.lock:
            return "\n".join(f"{level} {target} {message}" for level, target, message in self.lines)


class Throws(sebaya.SpaceListener):
    def space_changed(self, space_id, kind):
        raise RuntimeError(CANARIES[5])


class Refusing(sebaya.HttpTransport):
    def send(self, request):
        raise sebaya.TransportError.Unreachable(reason=CANARIES[6])


@pytest.fixture
def sink():
    s = Collect()
    sebaya.set_log_sink(s, LogLevel.TRACE)
    yield s
    sebaya.clear_log_sink()
    sebaya.set_http_transport(UrllibTransport())


def test_the_most_verbose_log_of_a_demo_flow_holds_no_content_secret_or_id(tmp_path, relay, sink):
    key = generate_master_key()
    phone = Vault.open(str(tmp_path / "phone.db"), key)
    phrase = phone.create_person()
    tablet = Vault.open(str(tmp_path / "tablet.db"), generate_master_key())
    link_request = tablet.link_request()
    link_response = phone.approve_link(link_request)
    tablet.complete_link(link_response)
    bad = tablet.subscribe(Throws())
    for i, marker in enumerate(CANARIES[:3]):
        phone.journal().add(marker, i + 2, [])
    gid = phone.groups().create(CANARIES[3])
    phone.groups().add_note(gid, CANARIES[4])
    phone.sync(relay.url)
    report = tablet.sync(relay.url)
    assert report.applied >= 3
    assert [e.text for e in tablet.journal().list()] == CANARIES[:3]
    tablet.journal().add("dari tablet", 3, [])
    tablet.sync(relay.url)
    phone.sync(relay.url)
    # A sync the app cancels, and one through a network that never answers (retries, then Network).
    control = SyncControl()
    control.cancel()
    with pytest.raises(SebayaError.Cancelled):
        phone.sync_until(relay.url, control, None)
    sebaya.set_http_transport(Refusing())
    with pytest.raises(SebayaError.Network):
        phone.sync(relay.url)
    bad.stop()

    text = sink.text()
    levels = {level for level, _, _ in sink.lines}
    # The log is not empty, so the scan below can fail: each kind of line the flow makes is there.
    assert LogLevel.DEBUG in levels and LogLevel.INFO in levels and LogLevel.WARN in levels, levels
    assert "sync finished" in text and "sync cancelled" in text and "retry" in text, text
    assert "listener threw" in text, text
    assert all(target.startswith("sebaya::") for _, target, _ in sink.lines)
    secrets = CANARIES + [phrase, key.hex(), link_request, link_response, relay.url]
    secrets += [" ".join(phrase.split()[i : i + 2]) for i in range(11)]  # any two words in a row
    ids = [s.space_id for v in (phone, tablet) for s in v.space_status()]
    ids += [phone.device_id(), tablet.device_id(), phone.person_id(), gid]
    for s in secrets + ids:
        assert s.lower() not in text.lower(), f"the log holds {s!r}"
    # Nor any id cut short, nor any other key: no run of 16 hex digits at all.
    assert re.search(r"[0-9a-fA-F]{16,}", text) is None, text


def test_the_level_filters_and_a_cleared_sink_gets_nothing(tmp_path, relay, sink):
    v = Vault.open(str(tmp_path / "v.db"), generate_master_key())
    sebaya.set_log_sink(sink, LogLevel.INFO)
    v.journal().add("satu", 3, [])
    v.sync(relay.url)
    assert sink.lines and all(level in (LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR) for level, _, _ in sink.lines)
    sebaya.clear_log_sink()
    n = len(sink.lines)
    v.journal().add("dua", 3, [])
    v.sync(relay.url)
    assert len(sink.lines) == n


def test_a_sink_that_throws_breaks_nothing(tmp_path, relay):
    calls = []

    class Broken(sebaya.LogSink):
        def log(self, level, target, message):
            calls.append(level)
            raise RuntimeError("sink bug")

    sebaya.set_log_sink(Broken(), LogLevel.TRACE)
    try:
        v = Vault.open(str(tmp_path / "v.db"), generate_master_key())
        v.journal().add("tetap", 3, [])
        assert v.sync(relay.url).pushed >= 1
        assert [e.text for e in v.journal().list()] == ["tetap"]
        assert calls, "the sink was never called"
    finally:
        sebaya.clear_log_sink()


def test_a_sink_may_call_the_library(tmp_path, relay):
    """A line the library logs while the sink runs is dropped, not delivered recursively."""
    v = Vault.open(str(tmp_path / "v.db"), generate_master_key())
    seen = []

    class Reads(sebaya.LogSink):
        def log(self, level, target, message):
            seen.append(message)
            v.space_status()

    sebaya.set_log_sink(Reads(), LogLevel.TRACE)
    try:
        v.journal().add("satu", 3, [])
        v.sync(relay.url)
        assert seen
    finally:
        sebaya.clear_log_sink()
