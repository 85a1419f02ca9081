"""Chunked, resumable relay sync through the Python bindings (issue 5): the metered chunk size on the
sync policy, and the report's retry counters."""

import secrets
import socket

import pytest

from sebaya import LinkKind, SebayaError, SyncPolicy, SyncScope, Vault, generate_master_key


def _pair(tmp_path):
    phone = Vault.open(str(tmp_path / "phone.db"), generate_master_key())
    tablet = Vault.open(str(tmp_path / "tablet.db"), generate_master_key())
    tablet.complete_link(phone.approve_link(tablet.link_request()))
    return phone, tablet


def test_a_policy_without_a_chunk_size_keeps_the_default(tmp_path):
    phone = Vault.open(str(tmp_path / "p.db"), generate_master_key())
    phone.set_sync_policy(SyncPolicy(wifi_only=False, metered_daily_budget=0))
    assert phone.sync_policy().metered_chunk_bytes == 0
    phone.set_sync_policy(SyncPolicy(wifi_only=False, metered_daily_budget=0, metered_chunk_bytes=8192))
    assert phone.sync_policy().metered_chunk_bytes == 8192


def test_a_metered_link_pulls_in_the_policys_chunks(tmp_path, relay):
    phone, tablet = _pair(tmp_path)
    # One envelope per sync on the phone: twelve entries of 4000 characters that do not compress
    # much (about 2 kB each once deflated) at the relay.
    for i in range(12):
        phone.journal().add(f"Catatan {i}: " + secrets.token_hex(2000), 3, [])
        phone.sync(relay.url)
    tablet.set_sync_policy(SyncPolicy(wifi_only=False, metered_daily_budget=0, metered_chunk_bytes=4096))
    r = tablet.sync_on(relay.url, LinkKind.METERED)
    assert r.scope == SyncScope.ALL
    assert r.report.round_trips >= 4, r.report
    assert r.report.retries == 0 and r.report.resent == 0
    assert len(tablet.journal().list()) == 12


def test_a_dead_link_gives_up_after_the_retries_and_keeps_data(tmp_path):
    phone = Vault.open(str(tmp_path / "p.db"), generate_master_key())
    phone.create_person()
    phone.journal().add("Satu.", 3, [])
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(SebayaError.Network):
        phone.sync_on(f"http://127.0.0.1:{port}", LinkKind.METERED)
    (journal,) = phone.space_status()
    assert journal.waiting
    assert [e.text for e in phone.journal().list()] == ["Satu."]
