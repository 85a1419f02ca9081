"""The app passcode, duress code, quick wipe and auto-lock through the bindings (issue 18, item 6)."""

import time
from pathlib import Path

import pytest

import sebaya
from sebaya import PasscodeParams, SebayaError, Vault, VaultLock, emergency_help

# The least the core accepts: the tests run argon2id many times.
FAST = PasscodeParams(memory_kib=8192, iterations=1, parallelism=1)


class MemoryStore(sebaya.KeyStore):
    def __init__(self):
        self.items = {}

    def get(self, name):
        return self.items.get(name)

    def put(self, name, value):
        self.items[name] = bytes(value)

    def delete(self, name):
        self.items.pop(name, None)


def new_lock(path: Path, store=None):
    store = store if store is not None else MemoryStore()
    return VaultLock.with_params(str(path), store, "sebaya.master", FAST), store


def test_right_passcode_opens_and_the_key_store_alone_no_longer_does(tmp_path):
    path = tmp_path / "v.db"
    store = MemoryStore()
    v = Vault.open_with_key_store(str(path), store, "sebaya.master")
    entry = v.journal().add("rahasia anak", 2, [])
    v.lock()
    lock, _ = new_lock(path, store)
    assert not lock.has_passcode()
    lock.set_passcode("2468")
    assert lock.has_passcode()
    assert "sebaya.master" not in store.items, "the plain key is gone from the store"
    with pytest.raises(SebayaError.PasscodeRequired) as err:
        Vault.open_with_key_store(str(path), store, "sebaya.master")
    assert err.value.message_id == "error-passcode-required"
    v = lock.unlock("2468")
    assert v.journal().get(entry).text == "rahasia anak"
    v.lock()


def test_wrong_passcode_is_typed_delayed_and_a_too_soon_try_is_refused(tmp_path):
    lock, _ = new_lock(tmp_path / "v.db")
    lock.set_passcode("2468")
    with pytest.raises(SebayaError.PasscodeWrong) as err:
        lock.unlock("0000")
    assert err.value.retry_after_secs == 2
    assert err.value.message_id == "error-passcode-wrong"
    assert "0000" not in str(err.value) and "2468" not in str(err.value)
    # At once, even the right passcode is refused until the wait is over.
    with pytest.raises(SebayaError.PasscodeTooSoon) as err:
        lock.unlock("2468")
    assert 1 <= err.value.retry_after_secs <= 2
    shown = sebaya.localized_message(err.value.message_id, "id", str(err.value.retry_after_secs))
    assert "detik" in shown
    time.sleep(2.1)
    lock.unlock("2468").lock()


def test_duress_code_opens_an_empty_vault_that_never_syncs(tmp_path, relay):
    path = tmp_path / "v.db"
    lock, _ = new_lock(path)
    lock.set_passcode("2468")
    real = lock.unlock("2468")
    real.create_person()
    real.journal().add("jurnal yang asli", 3, [])
    real_before = real.journal().list()
    real.lock()
    lock.set_duress_code("2468", "1357")
    d = lock.unlock("1357")
    assert d.journal().list() == []
    d.journal().add("catatan biasa", 4, [])
    report = d.sync(relay.url)
    assert (report.pushed, report.pulled, report.round_trips) == (0, 0, 0)
    policy = d.sync_on(relay.url, sebaya.LinkKind.METERED)
    assert policy.report.round_trips == 0
    # The crisis lines and "I need help now" are there with the duress vault open.
    assert d.care().crisis_resources("ID")
    assert emergency_help("ID", "id").resources
    d.lock()
    real = lock.unlock("2468")
    assert real.journal().list() == real_before, "opening the duress vault left the real one alone"
    real.lock()


def test_change_and_remove_the_passcode(tmp_path):
    path = tmp_path / "v.db"
    lock, store = new_lock(path)
    lock.set_passcode("2468")
    v = lock.unlock("2468")
    entry = v.journal().add("tetap ada", 3, [])
    v.lock()
    lock.change_passcode("2468", "97531")
    time.sleep(0.01)
    with pytest.raises(SebayaError.PasscodeWrong):
        lock.unlock("2468")
    time.sleep(2.1)
    assert lock.unlock("97531").journal().get(entry).text == "tetap ada"
    lock.remove_passcode("97531")
    assert not lock.has_passcode()
    v = Vault.open_with_key_store(str(path), store, "sebaya.master")
    assert v.journal().get(entry).text == "tetap ada"
    v.lock()


def test_wipe_makes_the_vault_unopenable(tmp_path):
    path = tmp_path / "v.db"
    lock, store = new_lock(path)
    lock.set_passcode("2468")
    v = lock.unlock("2468")
    v.journal().add("tulisan yang harus hilang", 1, [])
    v.lock()
    copy = tmp_path / "copy.db"
    copy.write_bytes(path.read_bytes())
    before = dict(store.items)
    assert "sebaya.master.passcode-secret" in before and "sebaya.master.passcode" in before
    lock.wipe()
    assert store.items == {}
    assert not path.exists()
    with pytest.raises(SebayaError):
        lock.unlock("2468")
    # What the wipe destroys is what a copy of the vault file needs (review L4): the copy and the
    # key store as it was before the wipe open it (the control), while the copy and the wrapped key
    # without the secret S (a backup of the file and of the wrapped key, not of S) do not.
    control_store = MemoryStore()
    control_store.items = dict(before)
    control, _ = new_lock(copy, control_store)
    assert [e.text for e in control.unlock("2468").journal().list()] == ["tulisan yang harus hilang"]
    without_secret = MemoryStore()
    without_secret.items = {k: v for k, v in before.items() if not k.endswith(".passcode-secret")}
    again, _ = new_lock(copy, without_secret)
    with pytest.raises(SebayaError):
        again.unlock("2468")


def test_auto_lock_timeout():
    lock = VaultLock("/nonexistent/v.db", MemoryStore(), "k")
    lock.set_auto_lock_secs(60)
    assert not lock.should_lock(1_000)
    lock.note_activity(1_000)
    assert not lock.should_lock(60_999)
    assert lock.should_lock(61_000)


def test_duress_vault_shares_nothing_face_to_face_by_file_or_by_carrying(tmp_path):
    # Review M2: the duress vault shows its certificate to no nearby device, writes no bundle,
    # takes none in and carries nothing for others.
    path = tmp_path / "v.db"
    lock, _ = new_lock(path)
    lock.set_passcode("2468")
    real = lock.unlock("2468")
    real.create_person()
    real.journal().add("jurnal yang asli", 3, [])
    bundle = real.nearby().export_bundle([], None)
    real.lock()
    lock.set_duress_code("2468", "1357")
    d = lock.unlock("1357")
    d.journal().add("catatan biasa", 4, [])
    near = d.nearby()
    with pytest.raises(SebayaError.PeerNotMember):
        near.start_session(True)
    with pytest.raises(SebayaError.NotAllowed):
        near.export_bundle([], None)
    with pytest.raises(SebayaError.StrangerBundle):
        near.import_bundle(bundle)
    near.set_carry_quota(1_000_000)
    assert near.carry_status().quota == 0
    d.lock()


def test_the_duress_code_cannot_change_the_passcode_and_is_answered_as_a_wrong_code(tmp_path):
    # Review H2: from the duress vault, "change passcode" is no oracle for the passcode.
    path = tmp_path / "v.db"
    lock, _ = new_lock(path)
    lock.set_passcode("2468")
    lock.set_duress_code("2468", "1357")
    with pytest.raises(SebayaError.PasscodeWrong) as err:
        lock.change_passcode("1357", "2468")
    assert err.value.retry_after_secs == 2
    with pytest.raises(SebayaError.PasscodeTooSoon):
        lock.change_passcode("1357", "2469")
    time.sleep(2.1)
    lock.unlock("2468").lock()
