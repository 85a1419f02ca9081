"""Stopping a sync from outside (issue 17, item 2): `SyncControl.cancel()` and a time limit. A phone's
background work is given seconds (BGAppRefreshTask, WorkManager's onStopped); a sync must end when
told, before its next request or during a retry's wait, and lose nothing: the next sync goes on
from what was acknowledged. Deterministic: the transport cancels after exactly k requests."""

import secrets

import pytest

import sebaya
from sebaya import LinkKind, SebayaError, SyncControl, SyncPolicy, Vault, generate_master_key

from conftest import UrllibTransport

ENTRIES = 6


@pytest.fixture
def transport():
    yield sebaya.set_http_transport
    sebaya.set_http_transport(UrllibTransport())


class CancelAfter(sebaya.HttpTransport):
    """Answers normally, and cancels `control` once it has answered `k` requests."""

    def __init__(self, control, k):
        self.inner = UrllibTransport()
        self.control = control
        self.k = k
        self.calls = 0

    def send(self, request):
        self.calls += 1
        response = self.inner.send(request)
        if self.calls == self.k:
            self.control.cancel()
        return response


class Unreachable(sebaya.HttpTransport):
    """Fails every request, cancelling `control` at the first (as an app ending its work would)."""

    def __init__(self, control):
        self.control = control
        self.calls = 0

    def send(self, request):
        self.calls += 1
        if self.control is not None:
            self.control.cancel()
        raise sebaya.TransportError.Unreachable(reason="airplane mode")


def test_a_sync_stopped_after_each_request_keeps_what_it_took(tmp_path, relay, transport):
    phone = Vault.open(str(tmp_path / "phone.db"), generate_master_key())
    for i in range(ENTRIES):
        phone.journal().add(f"Catatan {i}: " + secrets.token_hex(2000), 3, [])
        phone.sync(relay.url)
    stopped_at = []
    k = 1
    while True:
        tablet = Vault.open(str(tmp_path / f"tablet{k}.db"), generate_master_key())
        tablet.complete_link(phone.approve_link(tablet.link_request()))
        phone.sync(relay.url)
        tablet.set_sync_policy(SyncPolicy(wifi_only=False, metered_daily_budget=0, metered_chunk_bytes=4096))
        control = SyncControl()
        cancelling = CancelAfter(control, k)
        transport(cancelling)
        try:
            tablet.sync_on_until(relay.url, LinkKind.METERED, control, None)
        except SebayaError.Cancelled as e:
            assert e.message_id == "error-sync-cancelled"
            assert control.is_cancelled()
            # Stopped before the next request: exactly k went out.
            assert cancelling.calls == k
            stopped_at.append(k)
            # What the stopped sync took stays; the next sync goes on from there and completes.
            transport(UrllibTransport())
            tablet.sync_on(relay.url, LinkKind.METERED)
            assert len(tablet.journal().list()) == ENTRIES
            k += 1
            continue
        # The sync finished before the k-th answer could stop it: every step has been tried.
        assert len(tablet.journal().list()) == ENTRIES
        break
    assert len(stopped_at) >= 3, stopped_at


def test_a_cancel_ends_the_wait_before_a_retry(tmp_path, relay, transport):
    v = Vault.open(str(tmp_path / "v.db"), generate_master_key())
    v.journal().add("menunggu jaringan", 3, [])
    control = SyncControl()
    failing = Unreachable(control)
    transport(failing)
    with pytest.raises(SebayaError.Cancelled) as err:
        v.sync_until(relay.url, control, None)
    assert err.value.message_id == "error-sync-cancelled"
    # No retry: without the cancel this would be the first try and three retries.
    assert failing.calls == 1
    transport(UrllibTransport())
    assert v.sync(relay.url).pushed >= 1


def test_a_sync_out_of_time_sends_nothing_more_and_keeps_data(tmp_path, relay, transport):
    v = Vault.open(str(tmp_path / "v.db"), generate_master_key())
    v.journal().add("tanpa waktu", 2, [])
    failing = Unreachable(None)
    transport(failing)
    with pytest.raises(SebayaError.Cancelled) as err:
        v.sync_until(relay.url, SyncControl(), 0)
    assert err.value.message_id == "error-sync-deadline"
    assert failing.calls == 0
    assert [e.text for e in v.journal().list()] == ["tanpa waktu"]
    transport(UrllibTransport())
    assert v.sync(relay.url).pushed >= 1
