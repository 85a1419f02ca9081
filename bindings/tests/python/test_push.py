"""Registering for wake-ups through the bindings (issue 16, item 4; protocol 28.9), against a real relay
started with a push key: the device registers the subscription its push library made and gets the
relay's VAPID key; the vault remembers it, so `push_registration_due` tells the app when to register
again; each refusal is a `PushRefused` with its reason. The subscription's key pair is a real P-256
key made here, as a push library makes one (the library itself makes no key)."""

import time

import pytest

from conftest import Relay

import sebaya
from sebaya import PushRefusal, SebayaError, Vault, generate_master_key

# The P-256 generator point: a valid public key, if `cryptography` is missing.
GENERATOR = bytes.fromhex(
    "04"
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
)


def p256dh() -> bytes:
    """A fresh P-256 public key, uncompressed, as a push library makes one."""
    try:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    except ImportError:
        return GENERATOR
    key = ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


AUTH = bytes(range(16))

# Endpoints on a loopback port nothing listens on (the relays take them with their tests' switch):
# a wake-up the relay might send goes nowhere off this machine, not even a name lookup.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def push_relay(tmp_path_factory):
    base = tmp_path_factory.mktemp("push-relay")
    r = Relay(
        base / "data",
        base / "relay.log",
        ["--push-key", str(base / "vapid.p8"), "--push-contact", "mailto:ops@example.org", "--push-allow-loopback", "true"],
    )
    try:
        yield r
    finally:
        alive = r.proc.poll() is None
        r.stop()
        assert alive, f"the relay died during the tests; stderr:\n{r.stderr()}"


def synced_pair(tmp_path, relay):
    a = Vault.open(str(tmp_path / "a.db"), generate_master_key())
    b = Vault.open(str(tmp_path / "b.db"), generate_master_key())
    gid = a.groups().create("Kelompok Kamis")
    b.groups().join(a.spaces().approve_member(gid, b.link_request(), as_admin=True))
    a.sync(push_relay_url(relay))
    b.sync(push_relay_url(relay))
    return a, b


def push_relay_url(relay) -> str:
    return relay.url


def test_a_device_registers_gets_the_key_and_knows_when_to_register_again(tmp_path, push_relay):
    _, b = synced_pair(tmp_path, push_relay)
    url = push_relay.url
    pk = p256dh()
    endpoint = f"{NOWHERE}/wake/b"
    assert b.push_server_key(url) is None
    assert b.push_registration_due(url, endpoint, pk, AUTH)

    # An app without the key learns it by removing (nothing yet) first.
    key = b.unregister_push(url)
    assert len(key) == 65 and key[0] == 4
    assert b.push_server_key(url) == key

    assert b.register_push(url, endpoint, pk, AUTH) == key
    assert not b.push_registration_due(url, endpoint, pk, AUTH)
    # Another endpoint or another key: due again.
    assert b.push_registration_due(url, endpoint + "2", pk, AUTH)
    assert b.push_registration_due(url, endpoint, p256dh(), AUTH)

    # Removed: due again.
    assert b.unregister_push(url) == key
    assert b.push_registration_due(url, endpoint, pk, AUTH)


def test_refusals_are_typed(tmp_path, push_relay, relay):
    url = push_relay.url
    endpoint = f"{NOWHERE}/wake/r"
    # Never synced with the relay: sync first, nothing sent.
    fresh = Vault.open(str(tmp_path / "fresh.db"), generate_master_key())
    with pytest.raises(SebayaError.PushRefused) as err:
        fresh.register_push(url, endpoint, p256dh(), AUTH)
    assert err.value.reason == PushRefusal.SYNC_FIRST
    assert err.value.message_id == "error-push-sync-first"
    assert "/wake/r" not in str(err.value)

    a, _ = synced_pair(tmp_path, push_relay)
    # The right shape, but no point on the curve: the relay's 400.
    with pytest.raises(SebayaError.PushRefused) as err:
        a.register_push(url, endpoint, b"\x04" + b"\x11" * 64, AUTH)
    assert err.value.reason == PushRefusal.MALFORMED
    # A wrong shape never leaves the device.
    with pytest.raises(SebayaError.InvalidInput):
        a.register_push(url, endpoint, p256dh(), AUTH[:8])
    with pytest.raises(SebayaError.InvalidInput):
        a.register_push(url, "ftp://push.example.net/x", p256dh(), AUTH)

    # A relay that sends no wake-ups.
    plain = Vault.open(str(tmp_path / "plain.db"), generate_master_key())
    plain.groups().create("Kelompok")
    plain.sync(relay.url)
    with pytest.raises(SebayaError.PushRefused) as err:
        plain.register_push(relay.url, endpoint, p256dh(), AUTH)
    assert err.value.reason == PushRefusal.NOT_SERVED


def test_a_fifth_device_on_one_endpoint_is_told_it_is_taken(tmp_path, push_relay):
    url = push_relay.url
    owner = Vault.open(str(tmp_path / "o.db"), generate_master_key())
    gid = owner.groups().create("Kelompok")
    members = []
    for i in range(4):
        v = Vault.open(str(tmp_path / f"m{i}.db"), generate_master_key())
        v.groups().join(owner.spaces().approve_member(gid, v.link_request(), as_admin=False))
        members.append(v)
    owner.sync(url)
    endpoint = f"{NOWHERE}/shared/{time.time_ns()}"
    pk = p256dh()
    owner.register_push(url, endpoint, pk, AUTH)
    for i, v in enumerate(members):
        v.sync(url)
        if i < 3:
            v.register_push(url, endpoint, pk, AUTH)
        else:
            with pytest.raises(SebayaError.PushRefused) as err:
                v.register_push(url, endpoint, pk, AUTH)
            assert err.value.reason == PushRefusal.ENDPOINT_TAKEN


def test_a_full_relay_is_busy(tmp_path):
    base = tmp_path / "full"
    base.mkdir()
    r = Relay(
        base / "data",
        base / "relay.log",
        [
            "--push-key", str(base / "vapid.p8"),
            "--push-contact", "mailto:ops@example.org",
            "--push-max-subscriptions", "1",
            "--push-allow-loopback", "true",
        ],
    )
    try:
        a, b = synced_pair(tmp_path, r)
        a.register_push(r.url, f"{NOWHERE}/full/a", p256dh(), AUTH)
        with pytest.raises(SebayaError.PushRefused) as err:
            b.register_push(r.url, f"{NOWHERE}/full/b", p256dh(), AUTH)
        assert err.value.reason == PushRefusal.RELAY_BUSY
        assert sebaya.localized_message(err.value.message_id, "en", None)
    finally:
        r.stop()
