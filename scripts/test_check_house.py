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

#[cfg(test)]
mod inner {
    mod more_tests;
}

pub fn after() { crate::e::z(); }
"""
    files = {
        "lib.rs": "#[cfg(test)]\nmod g_tests;\n",
        "a.rs": src,
        "a/helpers.rs": "use crate::b::Q;\n",  # test-only by its declaration
        "a/inner/more_tests.rs": "use crate::b::Q;\n",  # declared inside a test-only module
        "b.rs": "",
        "e.rs": "",
        "f.rs": "",
        "g_tests.rs": "use crate::a::X;\n",  # a test file (declared so in lib.rs): no module, no edges
    }
    with repo(files) as r:
        assert r.edges() == {("a", "e"), ("a", "f")}
        crate = ch.load_crate(r.root, "x", "x/src")
        assert "g_tests" not in crate.modules
        assert {f.rel for f in crate.files if f.is_test} == {
            "x/src/a/helpers.rs",
            "x/src/a/inner/more_tests.rs",
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


def test_a_file_is_test_code_by_its_declaration_not_its_name():
    files = {
        "lib.rs": "mod a;\nmod b;\nmod c_tests;\n#[cfg(test)]\nmod d_tests;\n",
        "a.rs": "mod checks_tests;\nmod tests;\n",
        "a/checks_tests.rs": "use crate::b::X;\n",  # compiled in every build: code
        "a/tests/mod.rs": "use crate::b::Y;\n",  # a plain `mod tests;`: code
        "b.rs": "",
        "c_tests.rs": "use crate::b::Z;\n",  # code, a module like any other
        "d_tests.rs": "use crate::a::W;\n",  # test code: declared `#[cfg(test)]`
        "e.rs": "#![cfg(test)]\nuse crate::a::V;\n",  # test code: says so itself
    }
    with repo(files) as r:
        assert r.edges() == {("a", "b"), ("c_tests", "b")}
        crate = ch.load_crate(r.root, "x", "x/src")
        assert {f.rel for f in crate.files if f.is_test} == {"x/src/d_tests.rs", "x/src/e.rs"}
        assert crate.modules == {"a", "b", "c_tests"}
        # The same names, declared test-only, are test code.
        files["a.rs"] = "#[cfg(test)]\nmod checks_tests;\n#[cfg(test)]\nmod tests;\n"
        files["lib.rs"] = "mod a;\nmod b;\n#[cfg(test)]\nmod c_tests;\n#[cfg(test)]\nmod d_tests;\n"
    with repo(files) as r:
        assert r.edges() == set()


def test_dollar_crate_paths_in_macros_are_edges():
    files = {
        "m.rs": "#[macro_export]\nmacro_rules! note {\n    () => { $crate::d::f() };\n}\n",
        "d.rs": "pub fn f() {}\n",
    }
    with repo(files, mech=["m"], dom=["d"]) as r:
        rc, out = r.run("--strict")
        assert rc == 1 and "layer x: m -> d" in out and "x/src/m.rs:3" in out
    with repo({"m.rs": "macro_rules! note {\n    () => { $crate::m::f() };\n}\n", "d.rs": ""}, mech=["m"], dom=["d"]) as r:
        assert r.run("--strict")[0] == 0


# --- methods of the crate root's types --------------------------------------------------------------

HUB_LIB = "pub mod d;\npub mod m;\npub struct Vault { n: u8 }\nimpl Vault {\n    pub fn open() {}\n    pub fn at_root(&self) {}\n}\n"
DOMAIN = (
    "use crate::Vault;\n"
    "impl Vault {\n"
    "    pub fn journal(&mut self) -> u8 { 1 }\n"
    "    pub(crate) fn parts<T>(&self) {}\n"
    "    pub const LIMIT: u8 = 3;\n"
    "    fn nested(&self) { fn helper() {} helper() }\n"
    "}\n"
    "pub trait Shown { fn shown(&self); }\n"
    "impl Shown for Vault { fn shown(&self) {} }\n"
)


def hub_case(body: str, head: str = "use crate::Vault;\n") -> dict[str, str]:
    return {"lib.rs": HUB_LIB, "d.rs": DOMAIN, "m.rs": head + body}


def test_impl_vault_calls_are_edges_to_the_defining_module():
    bad = [
        "impl Vault {\n    pub fn link(&mut self) { self.journal(); }\n}\n",
        "impl Vault {\n    pub fn link(&mut self) { self . journal ( ); }\n}\n",
        "impl Vault {\n    pub fn link(&self) { self.parts::<u8>(); }\n}\n",
        "impl Vault {\n    pub fn link(&self) { Self::parts::<u8>(self); }\n}\n",
        "impl Vault {\n    pub fn link(&self) -> u8 { Self::LIMIT }\n}\n",
        "impl<'a> Vault {\n    pub fn link(&mut self) { self.journal(); }\n}\n",
        "pub fn link(v: &mut Vault) { Vault::journal(v); }\n",
        "pub fn link(v: &mut Vault) { crate::Vault::journal(v); }\n",
        "pub fn link(v: &mut Vault) { <Vault>::journal(v); }\n",
        "pub fn link(v: &mut Vault) { [1].iter().map(|_| 0).for_each(drop); let _ = v.journal(); }\n",
        "pub struct S;\nimpl S {\n    pub fn step(&self, vault: &mut crate::Vault) { vault.journal(); }\n}\n",
    ]
    for body in bad:
        with repo(hub_case(body), mech=["m"], dom=["d"]) as r:
            assert ("m", "d") in r.edges(), body
            rc, out = r.run("--strict")
            assert rc == 1 and "layer x: m -> d" in out and "x/src/m.rs:" in out, body
    # Through an alias, and in a block written `impl crate::Vault` / `impl super::V`.
    for head, body in [
        ("use crate::Vault as V;\n", "impl V {\n    fn link(&mut self) { self.journal(); }\n}\n"),
        ("", "impl crate::Vault {\n    fn link(&mut self) { self.journal(); }\n}\n"),
        ("use super::Vault as V;\n", "impl super::Vault {\n    fn link(&mut self) { V::journal(self); }\n}\n"),
    ]:
        with repo(hub_case(body, head), mech=["m"], dom=["d"]) as r:
            assert r.run("--strict")[0] == 1, (head, body)


def test_impl_vault_calls_that_are_no_edge():
    good = [
        # Fields, methods lib.rs defines, the module's own methods, trait methods, helpers named alike.
        "impl Vault {\n    fn own(&self) {}\n    pub fn link(&mut self) {\n"
        "        let _ = self.n;\n        self.at_root();\n        Vault::open();\n        self.own();\n"
        "        self.shown();\n        helper();\n    }\n}\nfn helper() {}\n",
        # A `journal` that is not Vault's: another type's block, another type of that name.
        "pub struct S;\nimpl S {\n    fn journal(&self) {}\n    fn link(&self) { self.journal(); Self::journal(self); }\n}\n",
        "mod other { pub struct Vault; impl Vault { pub fn journal() {} } }\n"
        "pub fn link() { other::Vault::journal(); }\n",
        # Not a call: a field named like a method, a method of a parameter of another type.
        "pub fn link(v: &Vault, s: &str) { let _ = v.n; let _ = s.len(); }\n",
        # `nested` is d's, but `helper` inside it is no method.
        "impl Vault {\n    fn link(&self) { helper(); }\n}\nfn helper() {}\n",
    ]
    for body in good:
        with repo(hub_case(body), mech=["m"], dom=["d"]) as r:
            assert ("m", "d") not in r.edges(), body
            rc, out = r.run("--strict")
            assert rc == 0, (body, out)
    # Methods defined in the crate root are an edge to the root, never a module edge or a cycle.
    files = hub_case("impl Vault {\n    pub fn link(&self) { self.at_root(); }\n}\n")
    with repo(files, mech=["m"], dom=["d"]) as r:
        assert r.edges() == {("m", ch.ROOT_NODE), ("d", ch.ROOT_NODE)}
        crate = ch.load_crate(r.root, "x", "x/src")
        assert crate.hub_items[("Vault", "at_root")] == {ch.ROOT_NODE}
        assert crate.hub_items[("Vault", "journal")] == {"d"}
        assert ("Vault", "helper") not in crate.hub_items and ("Vault", "shown") not in crate.hub_items


def test_impl_vault_calls_close_cycles():
    files = {
        "lib.rs": HUB_LIB,
        "a.rs": "impl crate::Vault {\n    pub fn fa(&self) { self.fb(); }\n}\n",
        "b.rs": "impl crate::Vault {\n    pub fn fb(&self) {}\n    pub fn fc(&self) { self.fa(); }\n}\n",
        "d.rs": "",
        "m.rs": "",
    }
    with repo(files) as r:
        rc, out = r.run("--strict")
        assert rc == 1 and "cycle x: a, b" in out
    files["b.rs"] = "impl crate::Vault {\n    pub fn fb(&self) {}\n}\n"
    with repo(files) as r:
        assert r.run("--strict")[0] == 0


# --- paths the check cannot follow ------------------------------------------------------------------


def test_opaque_paths_are_violations():
    bad = {
        "a.rs": ("use crate as c;\n", "the crate root renamed (as c)"),
        "b.rs": ("use crate::{self as c, b::X};\n", "the crate root renamed (as c)"),
        "c.rs": ("extern crate self as c;\n", "extern crate self"),
        "e.rs": ("use crate::*;\n", "glob of the crate root"),
        "f.rs": ("use super::*;\n", "glob of the crate root"),
        "g/h.rs": ("use super::super::*;\n", "glob of the crate root"),
        "k.rs": ("mod inner { use super::super::*; }\n", "glob of the crate root"),
        "n.rs": ("macro_rules! m { () => { use $crate::*; } }\n", "glob of the crate root"),
        "lib.rs": ("mod a;\npub use a::*;\n", "glob of a module in the crate root (a::*)"),
    }
    for path, (src, what) in bad.items():
        files = {path: src, "a.rs": src if path == "a.rs" else "pub struct X;\n"}
        with repo(files) as r:
            rc, out = r.run("--strict")
            assert rc == 1, (path, out)
            assert f"opaque x/src/{path}: {what}" in out, (path, out)
            r.write_allow(f"opaque x/src/{path}: {what}\n")
            assert r.run()[0] == 0, (path, "an allowed line is accepted")
    good = {
        "a.rs": "use crate::b::*;\nuse crate::b::{self as bee};\n",  # resolved: an edge to b
        "b.rs": "pub struct X;\n",
        "g/h.rs": "use super::*;\n",  # g's own items
        "k.rs": "mod inner { use super::*; }\n",  # k's own items
        "m.rs": "#[cfg(test)]\nmod tests {\n    use crate::*;\n}\n",  # test code may
        "lib.rs": "mod a;\npub use std::collections::*;\npub use a::X as Y;\n",
    }
    with repo(good) as r:
        rc, out = r.run("--strict")
        assert rc == 0, out


# --- the rules --------------------------------------------------------------------------------------


def test_file_size_limit_counts_non_test_lines():
    code = "pub fn f() {}\n" * 1150
    tests = "#[cfg(test)]\nmod tests {\n" + "    fn t() {}\n" * 300 + "}\n"
    files = {
        "lib.rs": "#[cfg(test)]\nmod huge_tests;\n#[cfg(test)]\nmod tests;\n",
        "ok.rs": code + tests,  # 1150 + 303 lines, 1150 without the tests
        "big.rs": "pub fn f() {}\n" * 1201,
        "edge.rs": "pub fn f() {}\n" * 1200,
        "huge_tests.rs": "fn t() {}\n" * 3000,
        "tests/fixture.rs": "fn t() {}\n" * 3000,  # below `mod tests`, with no tests.rs of its own
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
