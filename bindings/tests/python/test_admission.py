"""A relay that stores only for one programme's people (protocol 9.8), through the Python bindings.

The coordinator's programme is the one the relay lists. A participant without a role stores nothing and
its report says so (`not_admitted`); once it keeps the coordinator's credential its journal syncs; a
phone restored from the phrase, with no credential, gets the journal back on its certificate alone.
"""

from pathlib import Path

from conftest import Relay

from sebaya import ProgrammeRole, Vault, generate_master_key


def person(path: Path) -> Vault:
    v = Vault.open(str(path), generate_master_key())
    v.create_person()
    return v


def test_only_a_programmes_people_store_at_a_credential_relay(tmp_path):
    coord = person(tmp_path / "c.db")
    pid = coord.programmes().create("PIK-R SMA 1")
    relay = Relay(tmp_path / "relay", tmp_path / "relay.log", ["--admission", "credential", "--programme", pid])
    try:
        par = Vault.open(str(tmp_path / "p.db"), generate_master_key())
        phrase = par.create_person()
        par.journal().add("Hari ini cukup baik.", 4, [])
        r = par.sync(relay.url)
        assert r.not_admitted > 0 and r.pushed == 0, r

        grant = coord.programmes().grant_role(pid, par.person_id(), ProgrammeRole.PARTICIPANT())
        assert par.programmes().add_credential(grant.credential) == ProgrammeRole.PARTICIPANT()
        r = par.sync(relay.url)
        assert r.not_admitted == 0 and r.pushed > 0, r

        restored = Vault.open(str(tmp_path / "r.db"), generate_master_key())
        restored.restore_person(phrase)
        restored.sync(relay.url)
        r = restored.sync(relay.url)
        assert r.not_admitted == 0, r
        assert [e.text for e in restored.journal().list()] == ["Hari ini cukup baik."]
    finally:
        relay.stop()
