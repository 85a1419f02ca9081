"""Sync by file through the Python bindings, with no relay: bundles between two devices of one person;
damaged, replayed and strangers' bundles are refused with typed errors and change nothing."""

import pytest

from sebaya import SebayaError, Vault, generate_master_key


def test_two_devices_sync_by_file(tmp_path):
    phone = Vault.open(str(tmp_path / "phone.db"), generate_master_key())
    phone.create_person()
    phone.journal().add("Dari ponsel.", 4, [])
    tablet = Vault.open(str(tmp_path / "tablet.db"), generate_master_key())
    tablet.complete_link(phone.approve_link(tablet.link_request()))
    tablet.journal().add("Dari tablet.", 3, [])
    bundle = tablet.nearby().export_bundle([], None)

    for bad in (bundle[: len(bundle) // 2], bundle[:-1], b"", bytes(len(bundle))):
        with pytest.raises(SebayaError.BadBundle):
            phone.nearby().import_bundle(bad)
    assert [e.text for e in phone.journal().list()] == ["Dari ponsel."]

    report = phone.nearby().import_bundle(bundle)
    assert report.exporter == tablet.device_id() and report.applied > 0
    assert sorted(e.text for e in phone.journal().list()) == ["Dari ponsel.", "Dari tablet."]
    with pytest.raises(SebayaError.BundleReplayed):
        phone.nearby().import_bundle(bundle)

    stranger = Vault.open(str(tmp_path / "s.db"), generate_master_key())
    stranger.create_person()
    stranger.journal().add("Orang lain.", 2, [])
    with pytest.raises(SebayaError.StrangerBundle):
        phone.nearby().import_bundle(stranger.nearby().export_bundle([], None))

    phone.journal().add("Balasan.", 5, [])
    delta = phone.nearby().export_bundle([], tablet.device_id())
    assert len(delta) < len(phone.nearby().export_bundle([], None))
    tablet.nearby().import_bundle(delta)
    assert len(tablet.journal().list()) == 3
    with pytest.raises(SebayaError.InvalidInput):
        phone.nearby().export_bundle([], "not-a-device")


def test_a_carrier_hands_sealed_envelopes_to_the_relay(tmp_path, relay):
    phone = Vault.open(str(tmp_path / "phone.db"), generate_master_key())
    phone.create_person()
    tablet = Vault.open(str(tmp_path / "tablet.db"), generate_master_key())
    tablet.complete_link(phone.approve_link(tablet.link_request()))
    phone.sync(relay.url)
    tablet.sync(relay.url)
    phone.journal().add("Dari desa.", 4, [])
    carrier = Vault.open(str(tmp_path / "carrier.db"), generate_master_key())
    carrier.create_person()
    with pytest.raises(SebayaError.StrangerBundle):
        carrier.nearby().import_bundle(phone.nearby().export_bundle([], None))
    carrier.nearby().set_carry_quota(1 << 20)
    report = carrier.nearby().import_bundle(phone.nearby().export_bundle([], None))
    assert report.carried > 0 and report.stored == 0
    assert carrier.nearby().carry_status().envelopes == report.carried
    carrier.sync(relay.url)
    assert carrier.nearby().carry_status().envelopes == 0
    tablet.sync(relay.url)
    assert [e.text for e in tablet.journal().list()] == ["Dari desa."]


def test_on_a_metered_link_with_wifi_only_the_journal_waits(tmp_path, relay):
    from sebaya import LinkKind, SpaceKind, SyncPath, SyncPolicy, SyncScope

    phone = Vault.open(str(tmp_path / "p.db"), generate_master_key())
    phone.create_person()
    phone.journal().add("Satu.", 3, [])
    phone.set_sync_policy(SyncPolicy(wifi_only=True, metered_daily_budget=0))
    assert phone.sync_policy().wifi_only
    r = phone.sync_on(relay.url, LinkKind.METERED)
    assert r.scope == SyncScope.URGENT_ONLY and r.report.pushed == 0
    (journal,) = phone.space_status()
    assert journal.kind == SpaceKind.JOURNAL() and journal.waiting
    r = phone.sync_on(relay.url, LinkKind.UNMETERED)
    assert r.scope == SyncScope.ALL and r.report.pushed > 0
    (journal,) = phone.space_status()
    assert not journal.waiting and journal.last_path == SyncPath.RELAY()
