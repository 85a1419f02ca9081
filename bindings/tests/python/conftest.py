"""pytest fixtures for the Sebaya Python binding tests.

The generated module and its library come from scripts/bindings.sh (build/bindings/python); the relay
binary from `cargo build -p sebaya-relay`. Both locations can be overridden:

    SEBAYA_PYTHON_BINDINGS=/path/to/dir   (holds sebaya.py and libsebaya.so)
    SEBAYA_RELAY_BIN=/path/to/sebaya-relay
"""

import http.client
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
_target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
if not _target.is_absolute():
    _target = ROOT / _target

BINDINGS_DIR = Path(os.environ.get("SEBAYA_PYTHON_BINDINGS", ROOT / "build" / "bindings" / "python"))
RELAY_BIN = Path(os.environ.get("SEBAYA_RELAY_BIN", _target / "debug" / "sebaya-relay"))

if not (BINDINGS_DIR / "sebaya.py").is_file():
    raise pytest.UsageError(f"{BINDINGS_DIR}/sebaya.py is missing: run scripts/bindings.sh first")
sys.path.insert(0, str(BINDINGS_DIR))

import sebaya  # noqa: E402  (importable only once BINDINGS_DIR is on the path)

V1_FIXTURES = ROOT / "tests" / "fixtures" / "v1"


def trained_programme(v) -> str:
    """A programme in which `v`'s person may open pairings (issue 14, item 11: a pairing opens only
    under a programme, by a supporter certified there): made on `v` (its person coordinates it),
    every required module certified by the programme key. Makes the person if `v` has none."""
    if v.person_id() is None:
        v.create_person()
    pid = v.programmes().create("Program uji")
    completed = int(time.time()) - 86400
    for m in sebaya.required_training_modules():
        v.programmes().add_training_record(v.programmes().certify_training(pid, v.person_id(), m, completed))
    return pid


def supervising_programme(sup, svr) -> str:
    """A programme in which `svr`'s person is a coordinator (it makes it) and `sup`'s a peer
    supporter, so `svr` may supervise `sup`'s case notes (issue 14, item 12: a supervisor must be a
    coordinator of the notes' programme). Makes either person if its vault has none."""
    for v in (sup, svr):
        if v.person_id() is None:
            v.create_person()
    pid = svr.programmes().create("Supervisi")
    grant = svr.programmes().grant_role(pid, sup.person_id(), sebaya.ProgrammeRole.PEER_SUPPORTER())
    sup.programmes().add_credential(grant.credential)
    return pid


def certify_facilitation(coord, sup, pid: str) -> None:
    """`coord` certifies `sup` in group facilitation, which running a programme group's sessions
    takes (issue 14, item 11)."""
    completed = int(time.time()) - 86400
    sup.programmes().add_training_record(
        coord.programmes().certify_training(pid, sup.person_id(), sebaya.TrainingModule.GROUP_FACILITATION(), completed)
    )


class UrllibTransport(sebaya.HttpTransport):
    """The app's HTTP stack, as the library asks for it (`HttpTransport`): here the standard library's
    urllib, without proxies (the tests talk to loopback only). Every status is an answer; only "no
    answer" raises, as a `TransportError` case."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def send(self, request):
        data = bytes(request.body) if request.method == "POST" else None
        req = urllib.request.Request(request.url, data=data, method=request.method)
        for h in request.headers:
            req.add_header(h.name, h.value)
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return sebaya.HttpResponse(status=resp.status, body=resp.read())
        except urllib.error.HTTPError as e:
            with e:
                return sebaya.HttpResponse(status=e.code, body=e.read())
        except (socket.timeout, TimeoutError) as e:
            raise sebaya.TransportError.Timeout(reason=str(e)) from None
        except ssl.SSLError as e:
            raise sebaya.TransportError.Tls(reason=str(e)) from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, (socket.timeout, TimeoutError)):
                raise sebaya.TransportError.Timeout(reason=str(e.reason)) from None
            if isinstance(e.reason, ssl.SSLError):
                raise sebaya.TransportError.Tls(reason=str(e.reason)) from None
            raise sebaya.TransportError.Unreachable(reason=str(e.reason)) from None
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            raise sebaya.TransportError.Failed(reason=type(e).__name__) from None


# Once per process, as an app does at start: every Vault.sync in these tests goes through it.
sebaya.set_http_transport(UrllibTransport())

URL_LINE = re.compile(r"^sebaya-relay listening on (http://127\.0\.0\.1:\d+) \(data: .*\)$")


class Relay:
    """A real sebaya-relay process on loopback, with its own data directory."""

    def __init__(self, data_dir: Path, log_path: Path, extra_args=()):
        self.data_dir = data_dir
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [str(RELAY_BIN), "--port", "0", "--data-dir", str(data_dir), *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self.url = self._read_url(timeout=30.0)

    def _read_url(self, timeout: float) -> str:
        box = {}

        def read():
            box["line"] = self.proc.stdout.readline().decode("utf-8", "replace").strip()

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(timeout)
        line = box.get("line")
        if line is None or not line:
            self.stop()
            raise RuntimeError(
                f"sebaya-relay printed no URL line within {timeout}s "
                f"(exit code {self.proc.returncode}); stderr:\n{self.stderr()}"
            )
        m = URL_LINE.match(line)
        if not m:
            self.stop()
            raise RuntimeError(f"unexpected first line from sebaya-relay: {line!r}")
        return m.group(1)

    def stderr(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stops this process (by its own PID: Popen signals exactly the child it started)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    if not os.access(RELAY_BIN, os.X_OK):
        pytest.fail(f"{RELAY_BIN} is missing: run `cargo build -p sebaya-relay` (scripts/bindings.sh does)")
    base = tmp_path_factory.mktemp("relay")
    r = Relay(base / "data", base / "relay.log")
    try:
        yield r
    finally:
        alive = r.proc.poll() is None
        r.stop()
        assert alive, f"the relay died during the tests; stderr:\n{r.stderr()}"
