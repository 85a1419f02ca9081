#!/usr/bin/env python3
"""Self-test of scripts/check-house.py on tiny fake crates built in a temporary folder.

python3 -m pytest -q scripts/test_check_house.py     with pytest
python3 scripts/test_check_house.py                  without: runs every test_* function itself
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("check_house", os.path.join(HERE, "check-house.py"))
ch = importlib.util.module_from_spec(_spec)
sys.modules["check_house"] = ch  # dataclasses look their module up by name
_spec.loader.exec_module(ch)

TABLE = """
max_lines = 1200
[x]
src = "x/src"
mechanisms = [{mech}]
domains = [{dom}]
"""


class Repo:
    """A fake repository with one crate `x` (in x/src), its layering table and its allow list."""

    def __init__(self, files: dict[str, str], mech=None, dom=None, allow: str = ""):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = self._tmp.name
        files = {"lib.rs": "", **files}
        for rel, text in files.items():
            path = os.path.join(self.root, "x", "src", rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        tops = sorted({r.split("/")[0].removesuffix(".rs") for r in files} - {"lib", "main"})
        if mech is None and dom is None:
            mech, dom = tops, []
        quote = lambda names: ", ".join(f'"{n}"' for n in (names or []))  # noqa: E731
        self.table = os.path.join(self.root, "house.toml")
        with open(self.table, "w", encoding="utf-8") as fh:
            fh.write(TABLE.format(mech=quote(mech), dom=quote(dom)))
        self.allow = os.path.join(self.root, "allow.txt")
        self.write_allow(allow)

    def write_allow(self, text: str) -> None:
        with open(self.allow, "w", encoding="utf-8") as fh:
            fh.write(text)

    def run(self, *args: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = ch.main(["--root", self.root, "--table", self.table, "--allow", self.allow, *args])
        return rc, out.getvalue()

    def edges(self) -> set[tuple[str, str]]:
        return set(ch.load_crate(self.root, "x", "x/src").edges)

    def close(self) -> None:
        self._tmp.cleanup()


@contextlib.contextmanager
def repo(files: dict[str, str], **kw):
    r = Repo(files, **kw)
    try:
        yield r
    finally:
        r.close()


# --- the parser -------------------------------------------------------------------------------------


def test_cycle_via_expression_paths():
    files = {
        "a.rs": "pub fn f() -> u8 {\n    crate::b::g() + 1\n}\n",
        "b.rs": "pub fn g() -> u8 {\n    let x: crate::a::T = 0;\n    x\n}\n",
        "c.rs": "pub fn h() { crate::a::f(); }\n",
    }
    with repo(files) as r:
        assert r.edges() == {("a", "b"), ("b", "a"), ("c", "a")}
        rc, out = r.run("--strict")
        assert rc == 1
        assert "cycle x: a, b" in out
        assert "x/src/a.rs:2" in out and "x/src/b.rs:2" in out  # file:line of each edge


def test_use_groups_with_nested_braces():
    files = {
        "a.rs": "use crate::{\n    b::{self, c::{D, E}},\n    e,\n    {f::G},\n};\npub(crate) use crate::g::H;\n",
        "b.rs": "pub mod c {}\n",
        "e.rs": "",
        "f.rs": "",
        "g.rs": "",
        "h.rs": "pub use crate::b::*;\n",
    }
    with repo(files) as r:
        assert r.edges() == {("a", "b"), ("a", "e"), ("a", "f"), ("a", "g"), ("h", "b")}


def test_comments_strings_and_chars_do_not_count():
    src = r"""//! See [`crate::b`] for more.
/// Calls [`crate::b::f`].
// crate::b::f();
/* outer /* nested crate::b */ still a comment crate::b::f */
pub fn f<'a>(s: &'a str) -> &'a str {
    let _q = '"';
    let _brace = '{';
    let _esc = '\'';
    let _u = '\u{1F600}';
    let _t = "a string with crate::b::f() and \" an escaped quote crate::b";
    let _b = b"crate::b";
    'outer: loop { break 'outer; }
    let _ = crate::e::g();
    s
}
"""
    with repo({"a.rs": src, "b.rs": "", "e.rs": ""}) as r:
        assert r.edges() == {("a", "e")}


def test_raw_strings_do_not_count():
    src = (
        'pub const A: &str = r#"crate::b::x "quoted" still raw"#;\n'
        'pub const B: &[u8] = br"crate::b";\n'
        'pub const C: &str = r##"a "# crate::b inside"##;\n'
        "pub fn r#match() { crate::e::g() }\n"
    )
    with repo({"a.rs": src, "b.rs": "", "e.rs": ""}) as r:
        assert r.edges() == {("a", "e")}


def test_cfg_test_code_does_not_count():
    src = """pub fn real() {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::b::X;
    fn t() {
        let _ = "}";
        let _ = '}';
        crate::b::y();
    }
}

#[cfg(test)]
use crate::b::Only;

#[cfg(all(test, feature = "slow"))]
fn slow() { crate::b::z() }

#[cfg(any(test, feature = "demo"))]
fn demo() { crate::f::z() }

#[cfg(test)]
mod helpers;

pub fn after() { crate::e::z(); }
"""
    files = {
        "a.rs": src,
        "a/helpers.rs": "use crate::b::Q;\n",  # test-only by its declaration
        "a/more_tests.rs": "use crate::b::Q;\n",  # test-only by its name
        "b.rs": "",
        "e.rs": "",
        "f.rs": "",
        "g_tests.rs": "use crate::a::X;\n",  # a test file: no module, no edges
    }
    with repo(files) as r:
        assert r.edges() == {("a", "e"), ("a", "f")}
        crate = ch.load_crate(r.root, "x", "x/src")
        assert "g_tests" not in crate.modules
        assert {f.rel for f in crate.files if f.is_test} == {
            "x/src/a/helpers.rs",
            "x/src/a/more_tests.rs",
            "x/src/g_tests.rs",
        }


def test_super_paths_from_folder_modules():
    files = {
        "a/mod.rs": "mod inner;\nuse super::b::X;\n",
        "a/inner.rs": "use super::sibling_in_a;\nuse super::super::c::Y;\nmod deep { use super::super::super::e::Z; }\n",
        "b.rs": "mod local { use super::super::f::W; use super::Mine; }\n",
        "c.rs": "",
        "e.rs": "",
        "f.rs": "",
    }
    with repo(files) as r:
        assert r.edges() == {("a", "b"), ("a", "c"), ("a", "e"), ("b", "f")}


def test_root_reexports_resolve_to_their_module():
    files = {
        "lib.rs": "mod a;\nmod b;\npub use b::{Thing, Other as Renamed};\npub fn now() {}\n",
        "a.rs": "use crate::{Renamed, now};\npub fn f(_: crate::Thing) {}\n",
        "b.rs": "",
    }
    with repo(files) as r:
        edges = ch.load_crate(r.root, "x", "x/src").edges
        assert set(edges) == {("a", "b"), ("a", ch.ROOT_NODE)}
        rc, out = r.run("--strict")
        assert rc == 0, out  # the root is not a module: a -> root -> a is no cycle


# --- the rules --------------------------------------------------------------------------------------


def test_file_size_limit_counts_non_test_lines():
    code = "pub fn f() {}\n" * 1150
    tests = "#[cfg(test)]\nmod tests {\n" + "    fn t() {}\n" * 300 + "}\n"
    files = {
        "ok.rs": code + tests,  # 1150 + 303 lines, 1150 without the tests
        "big.rs": "pub fn f() {}\n" * 1201,
        "edge.rs": "pub fn f() {}\n" * 1200,
        "huge_tests.rs": "fn t() {}\n" * 3000,
        "tests/fixture.rs": "fn t() {}\n" * 3000,
    }
    with repo(files, mech=["ok", "big", "edge"]) as r:  # huge_tests and tests/ are no modules
        rc, out = r.run("--strict")
        assert rc == 1
        assert "size x/src/big.rs 1201" in out
        assert "table" not in out
        assert (
            "ok.rs" not in out and "edge.rs" not in out and "huge_tests" not in out and "fixture" not in out
        )


def test_mechanism_must_not_depend_on_domain():
    files = {"m.rs": "use crate::d::X;\n", "d.rs": "use crate::m::Y;\n", "n.rs": ""}
    with repo(files, mech=["m", "gone"], dom=["d"]) as r:
        rc, out = r.run("--strict")
        assert rc == 1
        assert "layer x: m -> d" in out
        assert "layer x: d -> m" not in out
        assert "table x: unknown gone" in out
        assert "table x: unclassified n" in out


# --- the ratchet ------------------------------------------------------------------------------------

CYCLE = {"a.rs": "use crate::b::X;\n", "b.rs": "use crate::a::Y;\n", "c.rs": ""}


def test_ratchet_allows_known_and_strict_ignores_the_list():
    with repo(CYCLE, allow="# known\ncycle x: b, a\n") as r:  # members in any order
        rc, out = r.run()
        assert rc == 0, out
        rc, out = r.run("--strict")
        assert rc == 1 and "cycle x: a, b" in out


def test_ratchet_new_violation_fails():
    files = dict(CYCLE, **{"c.rs": "use crate::a::Z;\n", "a.rs": "use crate::b::X;\nuse crate::c::W;\n"})
    with repo(files, allow="cycle x: a, b\n") as r:
        rc, out = r.run()
        assert rc == 1
        assert "NEW" in out and "cycle x: a, b, c" in out


def test_ratchet_vanished_violation_fails_until_deleted():
    files = {"a.rs": "use crate::b::X;\n", "b.rs": "", "c.rs": ""}
    with repo(files, allow="cycle x: a, b\nsize x/src/c.rs 1500\n") as r:
        rc, out = r.run()
        assert rc == 1
        assert "no longer occur" in out
        assert "- cycle x: a, b" in out and "- size x/src/c.rs 1500" in out
        rc, out = r.run("--update")
        assert rc == 0, out
        with open(r.allow, encoding="utf-8") as fh:
            assert "cycle" not in fh.read()


def test_ratchet_shrunk_cycle_must_be_narrowed():
    files = dict(CYCLE)
    with repo(files, allow="cycle x: a, b, c\n") as r:
        rc, out = r.run()
        assert rc == 1
        assert "- cycle x: a, b, c" in out and "+ cycle x: a, b" in out
        assert r.run("--update")[0] == 0
        with open(r.allow, encoding="utf-8") as fh:
            assert fh.read().strip() == "cycle x: a, b"


def test_ratchet_size_is_a_ceiling():
    with repo({"big.rs": "pub fn f() {}\n" * 1300}, allow="size x/src/big.rs 1250\n") as r:
        rc, out = r.run()
        assert rc == 1 and "1300 lines, allowed 1250" in out
        r.write_allow("size x/src/big.rs 1400\n")
        rc, out = r.run()
        assert rc == 0 and "size x/src/big.rs 1300" in out  # a note: the ceiling may come down


# --- a runner for machines without pytest -----------------------------------------------------------

if __name__ == "__main__":
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print(f"ok      {name}")
        except Exception:  # noqa: BLE001 - report every failure, then exit non-zero
            failed += 1
            print(f"FAILED  {name}")
            traceback.print_exc()
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
