"""Snapshots through the Python bindings (protocol section 26): the policy is kept and checked, and a
device linked after a snapshot syncs the snapshot plus the tail through a real relay and reads the
same journal."""

import pytest

from sebaya import LinkKind, SebayaError, Vault, generate_master_key


def test_a_new_device_syncs_a_snapshotted_journal(tmp_path, relay):
    phone = Vault.open(str(tmp_path / "phone.db"), generate_master_key())
    phone.create_person()
    assert phone.snapshot_every() == 1000
    with pytest.raises(SebayaError.InvalidInput):
        phone.set_snapshot_every(3)
    phone.set_snapshot_every(0)
    assert phone.snapshot_every() == 0
    for i in range(30):
        phone.journal().add(f"Catatan {i}.", 3, [])
        phone.sync(relay.url)
    size = phone.snapshot_now(None)
    assert size is not None and size > 0
    with pytest.raises(SebayaError.InvalidInput):
        phone.snapshot_now("not-a-space")
    phone.sync(relay.url)
    phone.journal().add("Sesudah snapshot.", 4, [])
    phone.sync(relay.url)

    tablet = Vault.open(str(tmp_path / "tablet.db"), generate_master_key())
    tablet.complete_link(phone.approve_link(tablet.link_request()))
    report = tablet.sync(relay.url)
    # The snapshot and the one envelope after it, not thirty change envelopes.
    assert report.pulled <= 4 and report.quarantined == 0
    texts = sorted(e.text for e in tablet.journal().list())
    assert texts == sorted(e.text for e in phone.journal().list())
    assert len(texts) == 31


def test_a_snapshot_due_waits_for_an_unmetered_link(tmp_path, relay):
    phone = Vault.open(str(tmp_path / "phone.db"), generate_master_key())
    phone.create_person()
    phone.set_snapshot_every(16)
    pushed = 0
    for round_ in range(5):
        for i in range(4):
            phone.journal().add(f"Catatan {round_}.{i}", 3, [])
        pushed += phone.sync_on(relay.url, LinkKind.METERED).report.pushed
    assert pushed >= 5
    # Due, but on mobile data it waits; on Wi-Fi it goes, once.
    assert phone.sync_on(relay.url, LinkKind.METERED).report.pushed == 0
    assert phone.sync_on(relay.url, LinkKind.UNMETERED).report.pushed == 1
    assert phone.sync_on(relay.url, LinkKind.UNMETERED).report.pushed == 0
