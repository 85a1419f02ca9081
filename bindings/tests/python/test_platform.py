"""Host capabilities through the bindings (issue 6): the app's HTTP transport, the app's key store,
"this space changed" listeners, and a panic inside a call that arrives as an error."""

import threading
from pathlib import Path

import pytest

import sebaya
from sebaya import LinkKind, SebayaError, SpaceKind, Vault, generate_master_key

from conftest import UrllibTransport


def open_vault(path: Path) -> Vault:
    return Vault.open(str(path), generate_master_key())


def journal_space(v: Vault) -> str:
    return next(s.space_id for s in v.space_status() if s.kind == SpaceKind.JOURNAL())


# --- HTTP transport -------------------------------------------------------------------------------


class Recording(sebaya.HttpTransport):
    """Passes requests on to urllib and keeps what it was asked to send."""

    def __init__(self):
        self.inner = UrllibTransport()
        self.requests = []

    def send(self, request):
        self.requests.append(request)
        return self.inner.send(request)


class Refusing(sebaya.HttpTransport):
    def __init__(self, error):
        self.error = error
        self.calls = 0

    def send(self, request):
        self.calls += 1
        raise self.error


@pytest.fixture
def transport():
    """Swaps the process's transport for one test and puts the urllib one back afterwards."""
    yield sebaya.set_http_transport
    sebaya.set_http_transport(UrllibTransport())


def test_sync_without_a_transport_is_a_typed_error_and_changes_nothing(tmp_path, relay, transport):
    v = open_vault(tmp_path / "v.db")
    j = v.journal()
    j.add("sebelum sinkron", 3, [])
    before = v.space_status()
    sebaya.clear_http_transport()
    with pytest.raises(SebayaError.NoHttpTransport) as err:
        v.sync(relay.url)
    assert err.value.message_id == "error-no-http-transport"
    with pytest.raises(SebayaError.NoHttpTransport):
        v.sync_on(relay.url, LinkKind.METERED)
    assert [e.text for e in j.list()] == ["sebelum sinkron"]
    assert v.space_status() == before
    assert all(s.waiting for s in v.space_status())


def test_sync_goes_through_the_apps_transport(tmp_path, relay, transport):
    rec = Recording()
    transport(rec)
    v = open_vault(tmp_path / "v.db")
    v.journal().add("lewat transport aplikasi", 4, [])
    report = v.sync(relay.url)
    assert report.pushed >= 1
    assert len(rec.requests) == report.round_trips
    posts = [r for r in rec.requests if r.method == "POST"]
    assert posts and all(r.url.startswith(relay.url) for r in rec.requests)
    assert all(len(r.body) > 0 for r in posts)
    assert all(
        sebaya.HttpHeader(name="content-type", value="application/cbor") in r.headers for r in posts
    )
    assert not any(s.waiting for s in v.space_status())


def test_a_sync_after_the_first_is_one_request(tmp_path, relay, transport):
    """Issue 16, item 3: the relay's id and clock are kept from the first sync, so the next one is a
    single POST, with no GET /v1/info before it."""
    rec = Recording()
    transport(rec)
    v = open_vault(tmp_path / "v.db")
    v.journal().add("pertama", 3, [])
    v.sync(relay.url)
    assert [r.method for r in rec.requests] == ["GET", "POST"]
    rec.requests.clear()
    v.journal().add("kedua", 4, [])
    report = v.sync(relay.url)
    assert [(r.method, r.url.endswith("/v1/sync")) for r in rec.requests] == [("POST", True)]
    assert report.round_trips == 1 and report.pushed == 1


@pytest.mark.parametrize(
    "error",
    [
        sebaya.TransportError.Unreachable(reason="airplane mode"),
        sebaya.TransportError.Timeout(reason="no answer"),
        sebaya.TransportError.Tls(reason="certificate not trusted"),
        ValueError("a bug in the app's transport"),
    ],
    ids=["unreachable", "timeout", "tls", "undeclared"],
)
def test_a_failing_transport_is_a_network_error_and_keeps_data(tmp_path, relay, transport, error):
    refusing = Refusing(error)
    transport(refusing)
    v = open_vault(tmp_path / "v.db")
    j = v.journal()
    j.add("tetap di perangkat", 2, [])
    with pytest.raises(SebayaError.Network) as err:
        v.sync(relay.url)
    assert err.value.message_id == "error-network"
    # The first try and three retries (core Chunking: 250 ms, 500 ms, 1 s apart), then Network.
    assert refusing.calls == 4
    assert [e.text for e in j.list()] == ["tetap di perangkat"]
    # The same vault syncs once the network is back.
    transport(UrllibTransport())
    assert v.sync(relay.url).pushed >= 1


# --- key store ------------------------------------------------------------------------------------


class MemoryStore(sebaya.KeyStore):
    def __init__(self):
        self.items = {}
        self.puts = 0

    def get(self, name):
        return self.items.get(name)

    def put(self, name, value):
        self.puts += 1
        self.items[name] = bytes(value)

    def delete(self, name):
        self.items.pop(name, None)


class Forgetful(MemoryStore):
    def put(self, name, value):
        self.puts += 1  # says yes, keeps nothing


class Broken(MemoryStore):
    def __init__(self, error):
        super().__init__()
        self.error = error

    def get(self, name):
        raise self.error


def test_key_store_makes_the_key_once_and_reopens_with_it(tmp_path):
    store = MemoryStore()
    path = str(tmp_path / "v.db")
    v = Vault.open_with_key_store(path, store, "sebaya.master")
    key = store.items["sebaya.master"]
    assert isinstance(key, bytes) and len(key) == 32 and store.puts == 1
    eid = v.journal().add("kunci di keystore", 5, [])
    device = v.device_id()
    del v
    again = Vault.open_with_key_store(path, store, "sebaya.master")
    assert store.puts == 1 and store.items["sebaya.master"] == key
    assert again.device_id() == device
    assert again.journal().get(eid).text == "kunci di keystore"
    # The stored key is the vault's master key: the plain constructor opens it too.
    assert Vault.open(path, key).device_id() == device
    # A second vault under another name gets its own key.
    Vault.open_with_key_store(str(tmp_path / "w.db"), store, "other")
    assert store.items["other"] != key


def test_a_wrong_key_in_the_store_is_wrong_key_and_changes_nothing(tmp_path):
    store = MemoryStore()
    path = tmp_path / "v.db"
    v = Vault.open_with_key_store(str(path), store, "k")
    v.journal().add("rahasia", 1, [])
    del v
    good = store.items["k"]
    store.items["k"] = generate_master_key()
    before = path.read_bytes()
    with pytest.raises(SebayaError.WrongKey):
        Vault.open_with_key_store(str(path), store, "k")
    assert path.read_bytes() == before
    store.items["k"] = good
    assert [e.text for e in Vault.open_with_key_store(str(path), store, "k").journal().list()] == ["rahasia"]


def test_a_missing_key_for_an_existing_vault_is_key_missing_and_no_new_key(tmp_path):
    store = MemoryStore()
    path = tmp_path / "v.db"
    Vault.open_with_key_store(str(path), store, "k").journal().add("x", 3, [])
    store.items.clear()
    before = path.read_bytes()
    with pytest.raises(SebayaError.KeyMissing) as err:
        Vault.open_with_key_store(str(path), store, "k")
    assert err.value.message_id == "error-key-missing"
    assert store.items == {} and store.puts == 1  # no new key was made over the old vault's
    assert path.read_bytes() == before


def test_a_key_of_the_wrong_length_is_a_key_store_error(tmp_path):
    store = MemoryStore()
    store.items["k"] = b"\x01" * 16
    with pytest.raises(SebayaError.KeyStore) as err:
        Vault.open_with_key_store(str(tmp_path / "v.db"), store, "k")
    assert "16 bytes" in err.value.detail
    assert not (tmp_path / "v.db").exists()


@pytest.mark.parametrize(
    "error",
    [sebaya.KeyStoreError.Unavailable(reason="device locked"), RuntimeError("a bug in the store")],
    ids=["declared", "undeclared"],
)
def test_a_failing_key_store_is_a_key_store_error(tmp_path, error):
    with pytest.raises(SebayaError.KeyStore) as err:
        Vault.open_with_key_store(str(tmp_path / "v.db"), Broken(error), "k")
    assert err.value.message_id == "error-key-store"
    assert not (tmp_path / "v.db").exists()


def test_a_store_that_does_not_keep_the_key_creates_no_vault(tmp_path):
    store = Forgetful()
    with pytest.raises(SebayaError.KeyStore):
        Vault.open_with_key_store(str(tmp_path / "v.db"), store, "k")
    assert store.puts == 1
    assert not (tmp_path / "v.db").exists() or (tmp_path / "v.db").stat().st_size == 0


# --- listeners ------------------------------------------------------------------------------------


class Recorder(sebaya.SpaceListener):
    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def space_changed(self, space_id, kind):
        with self.lock:
            self.calls.append((space_id, kind))


def test_a_local_write_is_announced_and_reads_are_not(tmp_path):
    v = open_vault(tmp_path / "v.db")
    j = v.journal()
    j.add("pertama", 3, [])
    rec = Recorder()
    sub = v.subscribe(rec)
    assert sub.is_active()
    j.list()
    v.space_status()
    assert rec.calls == []
    j.add("kedua", 4, [])
    assert rec.calls == [(journal_space(v), SpaceKind.JOURNAL())]
    gid = v.groups().create("Kelompok Kamis")
    assert (gid, SpaceKind.GROUP()) in rec.calls
    rec.calls.clear()
    v.groups().add_note(gid, "catatan")
    assert rec.calls == [(gid, SpaceKind.GROUP())]


def test_changes_pulled_from_the_relay_are_announced(tmp_path, relay):
    a = open_vault(tmp_path / "a.db")
    b = open_vault(tmp_path / "b.db")
    b.complete_link(a.approve_link(b.link_request()))
    a.sync(relay.url)
    b.sync(relay.url)
    rec = Recorder()
    sub = b.subscribe(rec)
    a.journal().add("dari ponsel A", 4, [])
    a.sync(relay.url)
    assert rec.calls == []  # A's write is not B's change until B pulls it
    report = b.sync(relay.url)
    assert report.applied >= 1
    assert (journal_space(b), SpaceKind.JOURNAL()) in rec.calls
    sub.stop()


def test_an_imported_bundle_is_announced_and_a_refused_one_is_not(tmp_path):
    phone = open_vault(tmp_path / "phone.db")
    phone.create_person()
    phone.journal().add("Dari ponsel.", 4, [])
    tablet = open_vault(tmp_path / "tablet.db")
    tablet.complete_link(phone.approve_link(tablet.link_request()))
    tablet.journal().add("Dari tablet.", 3, [])
    bundle = tablet.nearby().export_bundle([], None)
    rec = Recorder()
    sub = phone.subscribe(rec)
    with pytest.raises(SebayaError.BadBundle):
        phone.nearby().import_bundle(bundle[:-1])
    assert rec.calls == []
    assert phone.nearby().import_bundle(bundle).applied > 0
    assert (journal_space(phone), SpaceKind.JOURNAL()) in rec.calls
    sub.stop()


def test_a_listener_may_call_back_into_the_vault_without_deadlock(tmp_path):
    v = open_vault(tmp_path / "v.db")
    seen = []

    class ReadsBack(sebaya.SpaceListener):
        def space_changed(self, space_id, kind):
            # The vault was released before this call: reading (and writing) it here must work.
            seen.append([e.text for e in v.journal().list()])
            if len(seen) == 1:
                v.journal().add("ditulis oleh listener", 3, [])

    sub = v.subscribe(ReadsBack())
    done = threading.Event()
    worker = threading.Thread(target=lambda: (v.journal().add("satu", 3, []), done.set()))
    worker.start()
    assert done.wait(30), "a listener calling back into the vault deadlocked"
    worker.join()
    assert seen[0] == ["satu"]
    assert seen[1] == ["satu", "ditulis oleh listener"]
    assert len(seen) == 2
    sub.stop()


def test_after_stop_a_listener_is_not_called(tmp_path):
    v = open_vault(tmp_path / "v.db")
    rec, other = Recorder(), Recorder()
    sub = v.subscribe(rec)
    keep = v.subscribe(other)
    v.journal().add("a", 3, [])
    assert len(rec.calls) == 1
    sub.stop()
    sub.stop()  # twice is harmless
    assert not sub.is_active()
    v.journal().add("b", 3, [])
    v.groups().create("g")
    assert len(rec.calls) == 1
    assert len(other.calls) == 3  # the other subscription still hears everything
    keep.stop()


def test_dropping_the_subscription_stops_it(tmp_path):
    import gc

    v = open_vault(tmp_path / "v.db")
    rec = Recorder()
    sub = v.subscribe(rec)
    v.journal().add("a", 3, [])
    del sub
    gc.collect()
    v.journal().add("b", 3, [])
    assert len(rec.calls) == 1


def test_stop_from_another_thread_waits_for_a_running_listener(tmp_path):
    v = open_vault(tmp_path / "v.db")
    entered, release = threading.Event(), threading.Event()
    calls = []

    class Slow(sebaya.SpaceListener):
        def space_changed(self, space_id, kind):
            calls.append(kind)
            entered.set()
            release.wait(10)

    sub = v.subscribe(Slow())
    writer = threading.Thread(target=lambda: v.journal().add("lambat", 3, []))
    writer.start()
    assert entered.wait(10)
    stopped = threading.Event()
    stopper = threading.Thread(target=lambda: (sub.stop(), stopped.set()))
    stopper.start()
    # stop() does not return while the listener is still running on the writer's thread.
    assert not stopped.wait(0.3)
    release.set()
    assert stopped.wait(10)
    writer.join()
    stopper.join()
    v.journal().add("sesudah stop", 3, [])
    assert calls == [SpaceKind.JOURNAL()]


# --- a listener that throws, a listener that syncs (issue 17, item 3) ------------------------------


class Throws(sebaya.SpaceListener):
    def __init__(self, text):
        self.text = text
        self.calls = 0

    def space_changed(self, space_id, kind):
        self.calls += 1
        raise RuntimeError(self.text)


def test_a_listener_that_throws_never_fails_the_write_and_later_listeners_are_told(tmp_path):
    """A listener's exception is the listener's bug, not the write's: the write returns normally, the
    listeners subscribed before and after it are told, and the vault keeps working."""
    v = open_vault(tmp_path / "v.db")
    before, after = Recorder(), Recorder()
    first = v.subscribe(before)
    bad = Throws("listener bug")
    throwing = v.subscribe(bad)
    last = v.subscribe(after)
    v.journal().add("tetap tersimpan", 3, [])
    assert bad.calls == 1
    assert len(before.calls) == 1 and len(after.calls) == 1
    v.journal().add("sesudahnya", 4, [])
    assert bad.calls == 2 and len(after.calls) == 2
    assert [e.text for e in v.journal().list()] == ["tetap tersimpan", "sesudahnya"]
    for s in (first, throwing, last):
        s.stop()


def test_a_listener_that_throws_during_sync_never_fails_the_sync(tmp_path, relay):
    a = open_vault(tmp_path / "a.db")
    b = open_vault(tmp_path / "b.db")
    b.complete_link(a.approve_link(b.link_request()))
    a.sync(relay.url)
    b.sync(relay.url)
    bad = Throws("listener bug during sync")
    sub = b.subscribe(bad)
    rec = Recorder()
    keep = b.subscribe(rec)
    a.journal().add("pertama", 3, [])
    a.sync(relay.url)
    report = b.sync(relay.url)
    assert report.applied >= 1
    assert bad.calls >= 1
    assert (journal_space(b), SpaceKind.JOURNAL()) in rec.calls
    assert [e.text for e in b.journal().list()] == ["pertama"]
    a.journal().add("kedua", 4, [])
    a.sync(relay.url)
    b.sync(relay.url)
    assert [e.text for e in b.journal().list()] == ["pertama", "kedua"]
    sub.stop()
    keep.stop()


def run_with_deadline(fn, seconds=60):
    """Runs `fn` on a daemon thread: a deadlock fails the test instead of hanging the run."""
    outcome = {}

    def body():
        try:
            outcome["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            outcome["error"] = e

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "deadlocked: the call did not return"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def test_a_listener_may_start_a_sync_from_its_callback(tmp_path, relay):
    """A listener told of what a sync pulled starts a sync of its own (an app's "sync again when
    something changed"): both complete, nothing deadlocks."""
    a = open_vault(tmp_path / "a.db")
    b = open_vault(tmp_path / "b.db")
    b.complete_link(a.approve_link(b.link_request()))
    a.sync(relay.url)
    b.sync(relay.url)
    reports = []
    started = []

    class Syncs(sebaya.SpaceListener):
        def space_changed(self, space_id, kind):
            # Once per check: the listener's own sync may change a space and tell it again, nested.
            if not started:
                started.append(kind)
                reports.append(b.sync(relay.url))

    sub = b.subscribe(Syncs())
    a.journal().add("dari A", 3, [])
    a.sync(relay.url)
    outer = run_with_deadline(lambda: b.sync(relay.url))
    assert outer.applied >= 1
    assert len(reports) == 1 and reports[0].round_trips >= 1
    # A write's listener may sync too.
    reports.clear()
    started.clear()
    run_with_deadline(lambda: b.journal().add("dari B", 4, []))
    assert len(reports) == 1 and reports[0].pushed >= 1
    sub.stop()
