"""Schemathesis hooks for the Sebaya relay (issue 16, item 5): what lets generated requests reach past
the signature check.

Written from docs/protocol.md alone (sections 9.2-9.3, 10 and 28.1), not from the Rust code, so the
run also checks that the spec is enough to sign a request. The relay's OpenAPI document describes the
sync and wait bodies as opaque CBOR; these hooks replace the opaque string Schemathesis draws with
CBOR that is sometimes a well-formed SyncRequest / WaitRequest (random spaces, vectors, page sizes and
envelopes of random bytes), sometimes a map with the right keys and wrong types, sometimes any CBOR
value and sometimes raw bytes. Then every request that carries all four signature headers is signed
for real with a fresh Ed25519 device key, the relay's id and a fresh request id; requests where
Schemathesis left a header out (its negative tests) are sent as drawn, and must get 401.

scripts/schemathesis.sh runs it against a relay of our own on loopback.
"""

import base64
import hashlib
import json
import os
import struct
import time
import urllib.request

import cbor2
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st

BASE = os.environ["SEBAYA_SCHEMATHESIS_URL"].rstrip("/")
SIGNED_PATHS = ("/v1/sync", "/v1/wait", "/v1/push")
HEADERS = ("sebaya-device", "sebaya-time", "sebaya-request-id", "sebaya-signature")

_relay_id = None


def relay_id() -> bytes:
    """The relay's id from GET /v1/info (section 11), fetched once."""
    global _relay_id
    if _relay_id is None:
        with urllib.request.urlopen(BASE + "/v1/info", timeout=10) as r:
            _relay_id = bytes.fromhex(json.load(r)["relay_id"])
    return _relay_id


def signing_input(rid: bytes, method: str, path: str, ts: int, request_id: bytes, body: bytes) -> bytes:
    """Section 10's signing input: label, then length-prefixed relay id, method and path, then the
    time, the request id and the body's SHA-256."""
    out = b"sebaya/v1/request"
    for part in (rid, method.encode("ascii"), path.encode("utf-8")):
        out += struct.pack(">I", len(part)) + part
    out += struct.pack(">Q", ts) + request_id + hashlib.sha256(body).digest()
    return out


# --- bodies -----------------------------------------------------------------------------------

ids16 = st.binary(min_size=16, max_size=16)
ids32 = st.binary(min_size=32, max_size=32)
seqs = st.integers(min_value=0, max_value=2**64 - 1)
author_seq = st.fixed_dictionaries({"author": ids32, "seq": seqs})
space_vector = st.fixed_dictionaries({"space": ids16, "vector": st.lists(author_seq, max_size=4)})
any_cbor = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=64) | st.text(max_size=32) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=24,
)
sync_request = st.fixed_dictionaries({
    "v": st.sampled_from([1, 1, 1, 0, 2]),
    "spaces": st.lists(space_vector, max_size=4),
    "envelopes": st.lists(st.binary(max_size=300), max_size=3),
    "max_response_bytes": seqs,
})
wait_request = st.fixed_dictionaries({
    "v": st.sampled_from([1, 1, 1, 0]),
    "spaces": st.lists(space_vector, max_size=4),
    "timeout_ms": st.integers(min_value=0, max_value=1500),
})
push_subscription = st.fixed_dictionaries({
    # The relay under test sends wake-ups: the only endpoint it may keep is on loopback (port 9,
    # where nothing listens; the run passes --push-allow-loopback), so nothing it posts leaves this
    # machine. Public names and addresses are never drawn, and drawn text holds no scheme.
    "endpoint": st.sampled_from(["http://127.0.0.1:9/s/1", "http://10.0.0.1/x", ""])
        | st.text(max_size=40).filter(lambda t: "://" not in t and ":" not in t),
    # RFC 8291's example subscription key (Appendix A): a point on the curve, so some registrations
    # are kept; anything else drawn is refused.
    "p256dh": st.just(base64.urlsafe_b64decode(
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4=")) | st.binary(max_size=70),
    "auth": st.binary(min_size=16, max_size=16) | st.binary(max_size=20),
})
push_request = st.fixed_dictionaries({
    "v": st.sampled_from([1, 1, 1, 0, 2]),
    "subscription": st.none() | push_subscription,
})
wrong_types = st.fixed_dictionaries({"v": any_cbor, "spaces": any_cbor, "envelopes": any_cbor})


def body_for(path: str):
    shaped = {"/v1/sync": sync_request, "/v1/wait": wait_request, "/v1/push": push_request}[path]
    return st.one_of(
        shaped.map(cbor2.dumps),
        shaped.map(cbor2.dumps),
        wrong_types.map(cbor2.dumps),
        any_cbor.map(cbor2.dumps),
        st.binary(max_size=256),
    )


@schemathesis.hook
def flatmap_body(ctx, body):
    """Replaces the opaque string drawn for a signed endpoint's body with CBOR bytes."""
    op = ctx.operation
    if op is not None and op.path in SIGNED_PATHS:
        return body_for(op.path)
    return st.just(body)


@schemathesis.serializer("application/cbor")
def cbor_serializer(ctx, value):
    """Bodies are already bytes (flatmap_body); anything else drawn is sent as its CBOR encoding."""
    return value if isinstance(value, (bytes, bytearray)) else cbor2.dumps(value)


# --- signing ----------------------------------------------------------------------------------


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Signs the request as section 10 says, when it carries all four headers. The body is already
    the bytes that will be sent (flatmap_body, cbor_serializer), so the signature covers them."""
    if case.operation.path not in SIGNED_PATHS:
        return
    headers = case.headers if case.headers is not None else {}
    present = {k.lower() for k in headers}
    if not all(h in present for h in HEADERS):
        return  # a negative test: sent as drawn
    body = case.body if isinstance(case.body, (bytes, bytearray)) else b""
    key = Ed25519PrivateKey.generate()
    device = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ts = int(time.time())
    request_id = os.urandom(16)
    sig = key.sign(signing_input(relay_id(), case.method.upper(), case.operation.path, ts, request_id, bytes(body)))
    for k in list(headers):
        if k.lower() in HEADERS:
            del headers[k]
    headers.update({
        "sebaya-device": device.hex(),
        "sebaya-time": str(ts),
        "sebaya-request-id": request_id.hex(),
        "sebaya-signature": sig.hex(),
    })
    case.headers = headers
