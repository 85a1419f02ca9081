#!/usr/bin/env python3
"""Keeps the house in order (issue 13, item 2): module cycles, layering and file size in the Rust crates.

    python3 scripts/check-house.py            check against the ratchet (scripts/house-allow.txt)
    python3 scripts/check-house.py --strict   every violation fails, the allow list is ignored
    python3 scripts/check-house.py --update   rewrite the allow list after violations went away
                                              (drops what vanished, narrows what shrank; never adds)
    python3 scripts/check-house.py --graph    print each crate's module dependency graph, with sites

Python 3.11+ standard library only. The crates and the layering table are read from scripts/house.toml.

What is checked, per crate (each `src` folder named in house.toml):

1. Import cycles between TOP-LEVEL modules. A top-level module is `src/foo.rs` or the folder
   `src/foo/` (every file inside belongs to it). The crate root (`lib.rs`, and `main.rs`) is not a
   module here: it is the hub every module hangs off, so an edge to or from the root never makes a
   cycle. A path through the root is followed instead when the root only re-exports: `crate::Error`
   where `lib.rs` says `pub use error::Error` is an edge to `error`; a name the root defines itself
   (`crate::Vault`, `crate::now_ms`) is an edge to the root, shown by --graph and otherwise ignored.
   `main.rs` next to a `lib.rs` is a separate binary crate root: no module of its own, size-checked
   only; so is anything under `src/bin/`.
   Edges come from every `crate::` path in the code (use lines, `use crate::{a::{b, c}, d}` groups,
   `pub(crate) use` re-exports, paths in expressions and types), every `$crate::` path in a macro
   (an edge of the file that defines the macro), and every `super::` path that climbs to the crate
   root (from `src/foo.rs`, or `super::super::` from `src/foo/bar.rs`, counting inline `mod x { }`
   blocks). Comments, doc comments, string, byte, raw and char literals are blanked first.
   Methods of the crate root's types (the structs, enums and unions lib.rs itself defines: `Vault`)
   are edges too, since any module may add an `impl Vault { }` block and call any other module's:
   a call to a method (or use of an associated const) counts as an edge from the calling file's
   top-level module to the module whose file defines it in an inherent `impl Vault` block (`impl
   Vault`, `impl<'a> Vault`, `impl crate::Vault`, or a `use`d alias; trait impls do not count). The
   calls seen: inside such a block `self.f(..)` (turbofish too) and `Self::f`; anywhere `Vault::f`,
   `crate::Vault::f`, `<Vault>::f`; and `v.f(..)` in the body of a function with a parameter `v:
   &Vault` / `&mut Vault` / `Vault`. A method lib.rs defines is an edge to the root (none between
   modules). A method reached otherwise (a local variable of type `Vault`, a closure's parameter)
   is not seen.
   Test code does not count (a test may reach anywhere): items under `#[cfg(test)]` (found by brace
   matching: `mod tests { }`, a test-only `fn` or `use`), files declared by a `mod x;` in test code
   (`#[cfg(test)] mod x;`, or inside a test-only inline module) with every file below them, and files
   starting with `#![cfg(test)]`. A file's name or folder (`*tests.rs`, `tests/`) decides nothing:
   what the compiler builds outside tests is checked. (A crate's own `tests/` folder, beside `src/`,
   is never read.)
   Each strongly connected component of more than one module is one violation.
2. Paths the check cannot follow are violations (`opaque`): the crate root under another name (`use
   crate as c`, `use crate::{self as c}`, `extern crate self as c`), a glob of the crate root (`use
   crate::*`, `use super::*` in `src/foo.rs`, `use super::super::*` in `src/foo/bar.rs`, `$crate::*`),
   and in the crate root a glob of one of its own modules (`pub use journal::*`, which would make
   `crate::Name` anything of that module's). Globs inside test code are fine.
3. Layering: house.toml names, per crate, every top-level module as a mechanism or a domain. A
   mechanism must never depend on a domain. A module missing from the table, or a name in the table
   that is no module, is a violation too (so the table follows the modules as they move).
4. Size: a non-test source file over `max_lines` (1,200) lines, not counting lines of `#[cfg(test)]`
   items. Test files are not counted at all.
5. The ratchet: scripts/house-allow.txt lists today's known violations, one a line:
       cycle core: care, pairing, rules          (sorted members of one strongly connected component)
       layer core: rules -> training             (mechanism -> domain)
       size core/src/space.rs 1544               (a ceiling: growing past it fails)
       table core: unclassified foo
       opaque core/src/foo.rs: glob of the crate root
   The check fails on a violation not listed, and on a listed one that no longer occurs: delete its
   line (or, for a cycle that shrank or split, replace it by the lines printed). A file over the limit
   that shrank is still allowed; a note gives the lower ceiling (--update writes it).
"""

from __future__ import annotations

import argparse
import bisect
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field

ROOT_NODE = "(crate root)"
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_ident_char(c: str) -> bool:
    return c.isalnum() or c == "_"


# --- blanking comments and literals ---------------------------------------------------------------

RAW_STR = re.compile(r'(?:b|c)?r(#*)"')


def strip_code(src: str) -> str:
    """The source with comments and the contents of literals replaced by spaces.

    Same length and same newlines as the input, so offsets and line numbers carry over. A string
    literal keeps its two quote marks and a char literal its two apostrophes (so `'{'` cannot unbalance
    the braces); lifetimes and labels (`'a`, `'static`, `'outer:`) are left alone."""
    out = list(src)
    n = len(src)

    def blank(a: int, b: int, quote: str | None = None) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "
        if quote is not None and b - a >= 2:
            out[a] = quote
            out[min(b, n) - 1] = quote

    i = 0
    while i < n:
        c = src[i]
        if c == "/" and i + 1 < n and src[i + 1] == "/":
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
            continue
        if c == "/" and i + 1 < n and src[i + 1] == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
            continue
        prev_ident = i > 0 and is_ident_char(src[i - 1])
        if not prev_ident and c in "bcr":
            m = RAW_STR.match(src, i)
            if m:
                end = '"' + m.group(1)
                j = src.find(end, m.end())
                j = n if j < 0 else j + len(end)
                blank(i, j, '"')
                i = j
                continue
            if c in "bc" and i + 1 < n and src[i + 1] == '"':
                j = skip_quoted(src, i + 2, '"')
                blank(i, j, '"')
                i = j
                continue
            if c == "b" and i + 1 < n and src[i + 1] == "'":
                j = skip_quoted(src, i + 2, "'")
                blank(i, j, "'")
                i = j
                continue
        if c == '"':
            j = skip_quoted(src, i + 1, '"')
            blank(i, j, '"')
            i = j
            continue
        if c == "'":
            if i + 1 < n and src[i + 1] == "\\":
                j = skip_quoted(src, i + 1, "'")
                blank(i, j, "'")
                i = j
                continue
            if i + 2 < n and src[i + 2] == "'":
                blank(i, i + 3, "'")
                i += 3
                continue
            i += 1  # a lifetime or a label
            continue
        if is_ident_char(c):
            j = i + 1
            while j < n and is_ident_char(src[j]):
                j += 1
            i = j
            continue
        i += 1
    return "".join(out)


def skip_quoted(src: str, j: int, quote: str) -> int:
    """The offset just past the closing `quote`, from `j` inside the literal (backslash escapes)."""
    n = len(src)
    while j < n and src[j] != quote:
        j += 2 if src[j] == "\\" else 1
    return min(j + 1, n)


# --- brackets, attributes and test code -----------------------------------------------------------

CLOSE = {"(": ")", "[": "]", "{": "}"}


def match_bracket(code: str, i: int) -> int:
    """The offset just past the bracket closing the one at `i` (end of text if unbalanced)."""
    stack = [CLOSE[code[i]]]
    j = i + 1
    n = len(code)
    while j < n and stack:
        c = code[j]
        if c in CLOSE:
            stack.append(CLOSE[c])
        elif c in ")]}":
            stack.pop()
        j += 1
    return j


CFG_ATTR = re.compile(r"#\s*(!?)\s*\[\s*cfg\s*\(")
ITEM_KEYWORD = re.compile(
    r"(?:pub\b|mod\b|fn\b|impl\b|struct\b|enum\b|union\b|use\b|const\b|static\b|type\b|trait\b|"
    r"unsafe\b|async\b|extern\b|macro_rules\b|let\b)"
)
MOD_FILE_DECL = re.compile(r"(?<![\w$])mod\s+(?:r#)?([A-Za-z_]\w*)\s*;")
INLINE_MOD = re.compile(r"\bmod\s+(?:r#)?([A-Za-z_]\w*)\s*\{")


def cfg_tokens(s: str) -> list[str]:
    return re.findall(r'[A-Za-z_]\w*|"[^"]*"|[(),=]', s)


def cfg_parse(toks: list[str], k: int = 0) -> tuple[tuple, int]:
    """One cfg predicate from toks[k:]: (name, args) where args is None for a leaf."""
    name = toks[k]
    k += 1
    if k < len(toks) and toks[k] == "=":
        return (name + "=", None), k + 2
    if k < len(toks) and toks[k] == "(":
        k += 1
        args = []
        while k < len(toks) and toks[k] != ")":
            if toks[k] == ",":
                k += 1
                continue
            arg, k = cfg_parse(toks, k)
            args.append(arg)
        return (name, args), k + 1
    return (name, None), k


def cfg_is_test_only(pred: tuple) -> bool:
    """True when code under this cfg is compiled only for tests (`test`, `all(test, ..)`)."""
    name, args = pred
    if args is None:
        return name == "test"
    if name == "all":
        return any(cfg_is_test_only(a) for a in args)
    if name == "any":
        return bool(args) and all(cfg_is_test_only(a) for a in args)
    return False


def skip_space(code: str, j: int) -> int:
    while j < len(code) and code[j].isspace():
        j += 1
    return j


def item_end(code: str, j: int) -> int:
    """The end of the item, field or statement starting at `j`: after its `{ }` body or its `;`."""
    n = len(code)
    keyword_item = ITEM_KEYWORD.match(code, j) is not None
    depth = 0
    while j < n:
        c = code[j]
        if c in "([":
            depth += 1
        elif c in ")]":
            if depth == 0:
                return j
            depth -= 1
        elif depth == 0:
            if c == "{":
                return match_bracket(code, j)
            if c == ";":
                return j + 1
            if c == "}" or (c == "," and not keyword_item):
                return j
        j += 1
    return n


@dataclass
class TestCode:
    spans: list[tuple[int, int]] = field(default_factory=list)  # [start, end) offsets
    whole_file: bool = False
    # Module files declared in test code (`#[cfg(test)] mod x;`, or `mod x;` inside a test-only
    # inline module), as paths from this file's module (inline modules included): {("x",), ("t", "y")}.
    test_children: set[tuple[str, ...]] = field(default_factory=set)


def find_test_code(code: str) -> TestCode:
    """Every `#[cfg(test)]` item of the (stripped) code, by brace matching."""
    tc = TestCode()
    pos = 0
    while True:
        m = CFG_ATTR.search(code, pos)
        if not m:
            break
        open_paren = m.end() - 1
        close_paren = match_bracket(code, open_paren)
        attr_end = match_bracket(code, code.index("[", m.start()))
        toks = cfg_tokens(code[open_paren + 1 : close_paren - 1])
        pos = attr_end
        try:
            test_only = bool(toks) and cfg_is_test_only(cfg_parse(toks)[0])
        except IndexError:
            test_only = False
        if not test_only:
            continue
        if m.group(1) == "!":  # an inner attribute: the whole file (or module) is test code
            if code[: m.start()].strip() == "":
                tc.whole_file = True
                return tc
            continue
        j = skip_space(code, attr_end)
        while j < len(code) and code[j] == "#":  # more outer attributes on the same item
            k = skip_space(code, j + 1)
            if k >= len(code) or code[k] != "[":
                break
            j = skip_space(code, match_bracket(code, k))
        end = item_end(code, j)
        tc.spans.append((m.start(), end))
        pos = max(pos, end)
    blocks = [(b.start(), match_bracket(code, b.end() - 1), b.group(1)) for b in INLINE_MOD.finditer(code)]
    for md in MOD_FILE_DECL.finditer(code):
        if any(a <= md.start() < b for a, b in tc.spans):
            inside = tuple(nm for a, b, nm in blocks if a < md.start() < b)
            tc.test_children.add(inside + (md.group(1),))
    return tc


def blank_spans(code: str, spans: list[tuple[int, int]]) -> str:
    out = list(code)
    for a, b in spans:
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


class Lines:
    def __init__(self, text: str):
        self.starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


def count_lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def non_test_lines(text: str, tc: TestCode) -> int:
    if tc.whole_file:
        return 0
    lines = Lines(text)
    test = set()
    for a, b in tc.spans:
        test.update(range(lines.line(a), lines.line(max(a, b - 1)) + 1))
    return count_lines(text) - len(test)


# --- paths ------------------------------------------------------------------------------------------

PATH_START = re.compile(r"(?<![\w$])(?:(\$?crate)|(super(?:\s*::\s*super)*))\s*::\s*")


def split_top(s: str, sep: str = ",") -> list[str]:
    parts, depth, cur = [], 0, []
    for c in s:
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def first_segments(code: str, j: int) -> list[str]:
    """First path segment(s) after a `crate::` / `super::` prefix ending at `j`: one for a plain path,
    one per member for a `{...}` group (nested groups included). `self` and `*` are kept as is."""
    if j < len(code) and code[j] == "{":
        end = match_bracket(code, j)
        return group_firsts(code[j + 1 : end - 1])
    if j < len(code) and code[j] == "*":
        return ["*"]
    m = IDENT.match(code, j)
    return [m.group(0)] if m else []


def group_firsts(inner: str) -> list[str]:
    out = []
    for item in split_top(inner):
        if item.startswith("{"):
            out.extend(group_firsts(item[1 : match_bracket(item, 0) - 1]))
        elif item.startswith("*"):
            out.append("*")
        else:
            m = IDENT.match(item)
            if m:
                out.append(m.group(0))
    return out


def expand_use_tree(tree: str, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str | None]]:
    """`a::{b, c::d as e}` -> [((a, b), b), ((a, c, d), e)]; a glob binds None."""
    tree = re.sub(r"\s+", " ", tree).strip()
    if tree.startswith("::"):
        tree = tree[2:].strip()
    if tree.startswith("{"):
        end = match_bracket(tree, 0)
        out = []
        for item in split_top(tree[1 : end - 1]):
            out.extend(expand_use_tree(item, prefix))
        return out
    head, sep, rest = tree.partition("::")
    head = head.strip()
    if sep:
        return expand_use_tree(rest, prefix + (head,))
    if head == "*":
        return [(prefix + ("*",), None)]
    name, _, alias = head.partition(" as ")
    name = name.strip()
    alias = alias.strip() or None
    if name == "self":
        return [(prefix, alias or (prefix[-1] if prefix else None))]
    return [(prefix + (name,), alias or name)]


USE_DECL = re.compile(r"(?<![\w$])use\s+")


# --- crates -----------------------------------------------------------------------------------------


@dataclass
class SourceFile:
    rel: str  # path relative to the repository root
    text: str
    code: str  # stripped, test code blanked
    tc: TestCode
    top: str | None  # top-level module, None for a crate root or a binary
    modpath: list[str]  # module path from the crate root
    is_test: bool = False
    binary: bool = False  # main.rs beside a lib.rs, or under src/bin/: a crate of its own


@dataclass
class Crate:
    name: str
    src: str
    files: list[SourceFile] = field(default_factory=list)
    modules: set[str] = field(default_factory=set)
    root_names: dict[str, str] = field(default_factory=dict)  # name bound in the root -> module
    # (src, dst) -> list of (file, line)
    edges: dict[tuple[str, str], list[tuple[str, int]]] = field(default_factory=dict)
    # Types the crate root defines (`Vault`), and for each the module defining each of its inherent
    # methods and associated consts: (type, name) -> top-level modules (ROOT_NODE for the root).
    hub_types: set[str] = field(default_factory=set)
    hub_items: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # Paths the check cannot follow: (file, line, what).
    opaque: list[tuple[str, int, str]] = field(default_factory=list)


def module_path(parts: list[str]) -> list[str]:
    """`["space", "snapshot.rs"]` -> ["space", "snapshot"]; `mod.rs` names its folder."""
    *dirs, last = parts
    stem = last[:-3]
    return dirs if stem == "mod" else dirs + [stem]


def load_crate(repo: str, name: str, src: str) -> Crate:
    crate = Crate(name, src)
    base = os.path.join(repo, src)
    if not os.path.isdir(base):
        raise SystemExit(f"check-house: {src} (crate {name}) is not a folder under {repo}")
    paths = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith(".rs"):
                paths.append(os.path.relpath(os.path.join(dirpath, f), base).split(os.sep))
    has_lib = ["lib.rs"] in paths
    by_modpath: dict[tuple[str, ...], SourceFile] = {}
    for parts in paths:
        rel = "/".join([src.rstrip("/")] + parts)
        with open(os.path.join(base, *parts), encoding="utf-8") as fh:
            text = fh.read()
        stripped = strip_code(text)
        tc = find_test_code(stripped)
        code = blank_spans(stripped, tc.spans)
        binary = parts[0] == "bin" or (parts == ["main.rs"] and has_lib)
        root = parts in (["lib.rs"], ["main.rs"])
        top = None if root or binary else (parts[0][:-3] if len(parts) == 1 else parts[0])
        mp = [] if root or binary else module_path(parts)
        # Test code by what the compiler sees, never by a file's name or folder: `#![cfg(test)]` here,
        # or a `#[cfg(test)] mod x;` in the parent (below).
        is_test = tc.whole_file
        sf = SourceFile(rel, text, code, tc, top, mp, is_test, binary)
        crate.files.append(sf)
        if not binary:
            by_modpath[tuple(mp)] = sf
    # `#[cfg(test)] mod x;` (or a `mod x;` inside a `#[cfg(test)]` item) makes x's file and everything
    # below it test code, its `mod.rs` present or not; so does `#![cfg(test)]` at the top of a file.
    test_prefixes = []
    for sf in crate.files:
        if sf.binary:
            continue
        if sf.is_test and sf.modpath:
            test_prefixes.append(sf.modpath)
        test_prefixes += [sf.modpath + list(child) for child in sf.tc.test_children]
    for prefix in test_prefixes:
        for other in crate.files:
            if not other.binary and other.modpath[: len(prefix)] == prefix:
                other.is_test = True
    tops: dict[str, bool] = {}
    for sf in crate.files:
        if sf.top is not None:
            tops[sf.top] = tops.get(sf.top, False) or not sf.is_test
    crate.modules = {t for t, live in tops.items() if live}
    root = next((f for f in crate.files if f.modpath == [] and not f.binary and f.top is None), None)
    if root is not None:
        crate.root_names = root_bindings(root.code, crate.modules)
        crate.hub_types = root_types(root.code)
    live = [sf for sf in crate.files if not sf.is_test and not sf.binary]
    for sf in live:
        collect_opaque(crate, sf, sf is root)
        collect_hub_items(crate, sf)
    for sf in live:
        if sf.top is not None:
            collect_edges(crate, sf)
            collect_hub_calls(crate, sf)
    return crate


def root_bindings(code: str, modules: set[str]) -> dict[str, str]:
    """Names the crate root imports or re-exports from its own modules: name -> top-level module."""
    out = {}
    for m in USE_DECL.finditer(code):
        end = code.find(";", m.end())
        if end < 0:
            continue
        for segs, bound in expand_use_tree(code[m.end() : end]):
            if not segs or bound is None:
                continue
            s = list(segs)
            if s[0] in ("crate", "self"):
                s = s[1:]
            if s and s[0] in modules and len(s) > 1:
                out[bound] = s[0]
    return out


def inline_mods(code: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of the inline `mod x { }` blocks of the code."""
    return [(m.start(), match_bracket(code, m.end() - 1), m.group(1)) for m in INLINE_MOD.finditer(code)]


def collect_edges(crate: Crate, sf: SourceFile) -> None:
    code = sf.code
    lines = Lines(code)
    inline = inline_mods(code)
    for m in PATH_START.finditer(code):
        segs = first_segments(code, m.end())
        if m.group(1):
            base: list[str] = []
        else:
            ups = m.group(2).count("super")
            here = sf.modpath + [nm for a, b, nm in inline if a < m.start() < b]
            if ups > len(here):
                continue
            base = here[: len(here) - ups]
        if base:
            continue  # stays inside the same top-level module
        for seg in segs:
            if seg in crate.modules:
                dst = seg
            elif seg in crate.root_names:
                dst = crate.root_names[seg]
            else:
                dst = ROOT_NODE  # `crate::Vault`, `crate::now_ms`, `crate::*`, `crate::{self}`
            if dst == sf.top:
                continue
            crate.edges.setdefault((sf.top, dst), []).append((sf.rel, lines.line(m.start())))


# --- paths the check cannot follow ------------------------------------------------------------------

EXTERN_SELF = re.compile(r"(?<![\w$])extern\s+crate\s+self\b")


def root_relative(sf: SourceFile, segs: tuple[str, ...], at: int, inline) -> list[str] | None:
    """The segments after the crate root when a `use` path starts at it (`crate::`, `$crate::`, or
    `super::` climbing exactly to it), else None."""
    if not segs:
        return None
    if segs[0] in ("crate", "$crate"):
        return list(segs[1:])
    ups = 0
    while ups < len(segs) and segs[ups] == "super":
        ups += 1
    here = sf.modpath + [nm for a, b, nm in inline if a < at < b]
    if ups == 0:
        return list(segs[1:]) if segs[0] == "self" and not here else None
    return list(segs[ups:]) if ups == len(here) else None


def collect_opaque(crate: Crate, sf: SourceFile, is_root: bool) -> None:
    """Imports that would hide an edge from the check: the crate root under another name (`use crate
    as c`, `extern crate self as c`), a glob of the crate root (`use crate::*`, `use super::*` from
    `src/foo.rs`, `use super::super::*` from `src/foo/bar.rs`), and in the root a glob of one of its
    own modules (`pub use journal::*`: `crate::Name` could then be anything of that module's)."""
    code = sf.code
    lines = Lines(code)
    inline = inline_mods(code)

    def note(at: int, what: str) -> None:
        crate.opaque.append((sf.rel, lines.line(at), what))

    for m in EXTERN_SELF.finditer(code):
        note(m.start(), "extern crate self")
    for m in USE_DECL.finditer(code):
        end = code.find(";", m.end())
        if end < 0:
            continue
        for segs, bound in expand_use_tree(code[m.end() : end]):
            rest = root_relative(sf, segs, m.start(), inline)
            if rest is None:
                if is_root and len(segs) == 2 and segs[0] in crate.modules and segs[1] == "*":
                    note(m.start(), f"glob of a module in the crate root ({segs[0]}::*)")
                continue
            if not rest and bound is not None:
                note(m.start(), f"the crate root renamed (as {bound})")
            elif rest == ["*"] and not is_root:
                note(m.start(), "glob of the crate root")
            elif is_root and len(rest) == 2 and rest[0] in crate.modules and rest[1] == "*":
                note(m.start(), f"glob of a module in the crate root ({rest[0]}::*)")


# --- methods of the crate root's types (`impl Vault` blocks in many files) --------------------------

TYPE_DEF = re.compile(r"(?<![\w$])(?:struct|enum|union)\s+(?:r#)?([A-Za-z_]\w*)")
IMPL_KW = re.compile(r"(?<![\w$])impl\b")
FN_DEF = re.compile(r"(?<![\w$])fn\s+(?:r#)?([A-Za-z_]\w*)")
CONST_DEF = re.compile(r"(?<![\w$])const\s+(?:r#)?([A-Za-z_]\w*)\s*:")
SELF_DOT = re.compile(r"(?<![\w$.])self\s*\.\s*(?:r#)?([A-Za-z_]\w*)")
# `Name::item` or `<Name>::item`; the `::item` is looked ahead at, so `crate::Vault::f` yields both
# `crate::Vault` and `Vault::f`.
TYPE_ITEM = re.compile(r"(?<![\w$])(<\s*)?(?:r#)?([A-Za-z_]\w*)\s*(>\s*)?(?=::\s*(?:r#)?([A-Za-z_]\w*))")
PATH_PREFIX = ("crate", "$crate", "super", "self")


def brace_depths(code: str) -> list[int]:
    """depth[i]: how many `{` are open just before offset i."""
    out = [0] * (len(code) + 1)
    d = 0
    for i, c in enumerate(code):
        out[i] = d
        if c == "{":
            d += 1
        elif c == "}":
            d = max(0, d - 1)
    out[len(code)] = d
    return out


def root_types(code: str) -> set[str]:
    """The structs, enums and unions the crate root itself defines (not inside an inline module)."""
    depth = brace_depths(code)
    return {m.group(1) for m in TYPE_DEF.finditer(code) if depth[m.start()] == 0}


def skip_angle(code: str, j: int) -> int:
    """The offset just past the `>` closing the `<` at `j` (`->` inside does not close)."""
    depth, n = 0, len(code)
    while j < n:
        c = code[j]
        if c == "<":
            depth += 1
        elif c == ">" and code[j - 1] != "-":
            depth -= 1
            if depth == 0:
                return j + 1
        elif c in "{};":
            return j
        j += 1
    return n


def word_at(code: str, j: int, word: str) -> bool:
    return code.startswith(word, j) and (j + len(word) >= len(code) or not is_ident_char(code[j + len(word)]))


def impl_blocks(code: str) -> list[tuple[list[str], bool, int, int]]:
    """Every `impl` block: (the path after `impl` and its generics, trait impl?, body start, body end).
    `impl<T> a::B<T> where .. { }` gives (["a", "B"], False, ..); `impl X for Y` gives (["X"], True, ..)."""
    out = []
    n = len(code)
    for m in IMPL_KW.finditer(code):
        j = skip_space(code, m.end())
        if j < n and code[j] == "<":
            j = skip_space(code, skip_angle(code, j))
        if code.startswith("!", j):
            j = skip_space(code, j + 1)
        if code.startswith("::", j):
            j += 2
        segs: list[str] = []
        while True:
            j = skip_space(code, j)
            if code.startswith("r#", j):
                j += 2
            mm = IDENT.match(code, j)
            if not mm or mm.group(0) in ("for", "where", "dyn"):
                break
            segs.append(mm.group(0))
            j = skip_space(code, mm.end())
            if j < n and code[j] == "<":
                j = skip_space(code, skip_angle(code, j))
            if code.startswith("::", j):
                j += 2
                continue
            break
        if not segs:
            continue
        trait = word_at(code, j, "for")
        if not (trait or word_at(code, j, "where") or code.startswith("{", j)):
            continue  # `-> impl Iterator<Item = u8> + '_`, `impl Fn(u8)`: no block of its own
        k = j
        while k < n and code[k] not in "{;":
            k = skip_angle(code, k) if code[k] == "<" else k + 1
        if k < n and code[k] == "{":
            out.append((segs, trait, k, match_bracket(code, k)))
    return out


def hub_aliases(crate: Crate, sf: SourceFile) -> dict[str, str]:
    """Names by which this file can call the crate root's types: the types themselves (also what a
    glob would bring) and whatever a `use` renames them to."""
    out = {t: t for t in crate.hub_types}
    inline = inline_mods(sf.code)
    for m in USE_DECL.finditer(sf.code):
        end = sf.code.find(";", m.end())
        if end < 0:
            continue
        for segs, bound in expand_use_tree(sf.code[m.end() : end]):
            rest = root_relative(sf, segs, m.start(), inline) if sf.modpath else list(segs)
            if rest and len(rest) == 1 and rest[0] in crate.hub_types and bound:
                out[bound] = rest[0]
    return out


def hub_blocks(crate: Crate, sf: SourceFile) -> list[tuple[str, int, int]]:
    """(type, body start, body end) of the inherent impl blocks of the crate root's types in this file."""
    aliases = hub_aliases(crate, sf)
    out = []
    for segs, trait, a, b in impl_blocks(sf.code):
        if trait or segs[-1] not in aliases or any(s not in PATH_PREFIX for s in segs[:-1]):
            continue
        out.append((aliases[segs[-1]], a, b))
    return out


def collect_hub_items(crate: Crate, sf: SourceFile) -> None:
    """Records which module defines each method (and associated const) of the crate root's types."""
    code = sf.code
    depth = brace_depths(code)
    home = sf.top if sf.top is not None else ROOT_NODE
    for ty, a, b in hub_blocks(crate, sf):
        inner = depth[a] + 1
        for rx in (FN_DEF, CONST_DEF):
            for m in rx.finditer(code, a, b):
                if depth[m.start()] == inner:
                    crate.hub_items.setdefault((ty, m.group(1)), set()).add(home)


def called(code: str, j: int) -> bool:
    """Whether a call follows at `j`: `(` or a turbofish and `(`."""
    j = skip_space(code, j)
    if code.startswith("::", j):
        j = skip_space(code, j + 2)
        if not code.startswith("<", j):
            return False
        j = skip_space(code, skip_angle(code, j))
    return code.startswith("(", j)


def collect_hub_calls(crate: Crate, sf: SourceFile) -> None:
    """Edges through the crate root's types: inside their impl blocks `self.f(..)` and `Self::f`; and
    anywhere `Vault::f`, `crate::Vault::f` or `<Vault>::f` (or a `use`d alias). Each goes to the module
    whose impl block defines `f` (the root when lib.rs does: an edge to the root, no module edge)."""
    if not crate.hub_items:
        return
    code = sf.code
    lines = Lines(code)
    blocks = hub_blocks(crate, sf)
    others = [(a, b) for segs, trait, a, b in impl_blocks(code) if not any(a == x for _, x, _ in blocks)]
    aliases = hub_aliases(crate, sf)
    uses: list[tuple[str, str, int]] = []  # (type, item, offset)
    for ty, a, b in blocks:
        nested = [(x, y) for x, y in others if a < x < b]

        def inside(at: int) -> bool:
            return not any(x < at < y for x, y in nested)

        for m in SELF_DOT.finditer(code, a, b):
            if inside(m.start()) and called(code, m.end()):
                uses.append((ty, m.group(1), m.start()))
        for m in TYPE_ITEM.finditer(code, a, b):
            if m.group(2) == "Self" and bool(m.group(1)) == bool(m.group(3)) and inside(m.start()):
                uses.append((ty, m.group(4), m.start()))
    for m in TYPE_ITEM.finditer(code):
        name = m.group(2)
        if name not in aliases or bool(m.group(1)) != bool(m.group(3)):
            continue
        if not m.group(1) and not prefix_is_root(code, m.start()):
            continue  # `other::Vault::f`: some other type of that name
        uses.append((aliases[name], m.group(4), m.start()))
    for ty, var, a, b in hub_params(code, aliases):
        rx = re.compile(r"(?<![\w$.])" + re.escape(var) + r"\s*\.\s*(?:r#)?([A-Za-z_]\w*)")
        for m in rx.finditer(code, a, b):
            if called(code, m.end()):
                uses.append((ty, m.group(1), m.start()))
    for ty, item, at in uses:
        for dst in sorted(crate.hub_items.get((ty, item), ())):
            if dst != sf.top:
                crate.edges.setdefault((sf.top, dst), []).append((sf.rel, lines.line(at)))


FN_SIG = re.compile(r"(?<![\w$])fn\s+(?:r#)?[A-Za-z_]\w*\s*")
PARAM = re.compile(r"^(?:mut\s+)?(?:r#)?([A-Za-z_]\w*)\s*:\s*(.*)$", re.S)
TYPE_REF = re.compile(r"^(?:&\s*(?:'[A-Za-z_]\w*\s+)?(?:mut\s+)?)?((?:(?:\$?crate|super|self)\s*::\s*)*)([A-Za-z_]\w*)$")


def hub_params(code: str, aliases: dict[str, str]) -> list[tuple[str, str, int, int]]:
    """(type, parameter, body start, body end) for each parameter of a function typed as one of the
    crate root's types (`vault: &mut Vault`, `v: crate::Vault`): `vault.f(..)` in the body is a call
    of that type's method, wherever the function is (a session's method handed the vault, say)."""
    out = []
    n = len(code)
    for m in FN_SIG.finditer(code):
        j = m.end()
        if j < n and code[j] == "<":
            j = skip_space(code, skip_angle(code, j))
        if j >= n or code[j] != "(":
            continue
        close = match_bracket(code, j)
        params = split_top(code[j + 1 : close - 1])
        k = close
        while k < n and code[k] not in "{;":
            k = skip_angle(code, k) if code[k] == "<" else k + 1
        if k >= n or code[k] != "{":
            continue  # a declaration without a body (in a trait)
        body_end = match_bracket(code, k)
        for p in params:
            pm = PARAM.match(re.sub(r"\s+", " ", p).strip())
            if not pm:
                continue
            tm = TYPE_REF.match(pm.group(2).strip())
            if tm and tm.group(2) in aliases:
                out.append((aliases[tm.group(2)], pm.group(1), k, body_end))
    return out


def prefix_is_root(code: str, at: int) -> bool:
    """Whether the path segments before offset `at` (if any) are only `crate`, `super`, `self`."""
    j = at
    while True:
        k = j
        while k > 0 and code[k - 1].isspace():
            k -= 1
        if not code.startswith("::", k - 2) or k < 2:
            return True
        k -= 2
        while k > 0 and code[k - 1].isspace():
            k -= 1
        e = k
        while k > 0 and (is_ident_char(code[k - 1]) or code[k - 1] == "$"):
            k -= 1
        if code[k:e] not in PATH_PREFIX:
            return False
        j = k


# --- the graph --------------------------------------------------------------------------------------


def graph_of(crate: Crate) -> dict[str, set[str]]:
    g: dict[str, set[str]] = {mod: set() for mod in crate.modules}
    for a, b in crate.edges:
        if a in g and b in g:
            g[a].add(b)
    return g


def sccs(g: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(g):
        if start in index:
            continue
        work = [(start, iter(sorted(g[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(g[w]))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return sorted(out)


def shortest_path(g: dict[str, set[str]], a: str, b: str, within: set[str]) -> list[str] | None:
    prev: dict[str, str | None] = {a: None}
    queue = [a]
    for v in queue:
        if b in prev:
            break
        for w in sorted(g[v]):
            if w in within and w not in prev:
                prev[w] = v
                queue.append(w)
    if b not in prev:
        return None
    path = [b]
    while path[-1] != a:
        path.append(prev[path[-1]])
    return path[::-1]


def example_walk(g: dict[str, set[str]], comp: list[str]) -> list[str]:
    """A closed walk through every member of a strongly connected component."""
    within = set(comp)
    walk = [comp[0]]
    for target in comp[1:] + [comp[0]]:
        if target in walk[1:] and target != comp[0]:
            continue
        walk.extend(shortest_path(g, walk[-1], target, within)[1:])
    return walk


def short_cycles(g: dict[str, set[str]], comp: list[str]) -> list[list[str]]:
    """For every edge inside the component, the shortest cycle through it (deduplicated)."""
    within = set(comp)
    seen, out = set(), []
    for a in comp:
        for b in sorted(g[a] & within):
            back = shortest_path(g, b, a, within)
            cyc = [a] + back
            body = cyc[:-1]
            k = body.index(min(body))
            key = tuple(body[k:] + body[:k])
            if key not in seen:
                seen.add(key)
                out.append(list(key) + [key[0]])
    return sorted(out, key=lambda c: (len(c), c))


# --- violations -------------------------------------------------------------------------------------


@dataclass
class Violation:
    kind: str  # cycle | layer | size | table | opaque
    line: str  # the allow-list form
    detail: list[str] = field(default_factory=list)
    crate: str = ""
    members: frozenset = frozenset()
    path: str = ""
    count: int = 0


def cycle_line(crate: str, members) -> str:
    return f"cycle {crate}: " + ", ".join(sorted(members))


def site(crate: Crate, a: str, b: str) -> str:
    f, ln = min(crate.edges[(a, b)])
    n = len(crate.edges[(a, b)])
    return f"{f}:{ln}" + (f" (+{n - 1} more)" if n > 1 else "")


def find_violations(repo: str, table: dict, verbose: bool = False) -> tuple[list[Violation], list[Crate]]:
    max_lines = int(table.get("max_lines", 1200))
    out: list[Violation] = []
    crates = []
    for name, spec in table.items():
        if not isinstance(spec, dict):
            continue
        crate = load_crate(repo, name, spec["src"])
        crates.append(crate)
        g = graph_of(crate)
        for comp in sccs(g):
            if len(comp) < 2:
                continue
            walk = example_walk(g, comp)
            detail = ["example: " + " -> ".join(walk)]
            for a, b in zip(walk, walk[1:]):
                detail.append(f"  {a} -> {b}  at {site(crate, a, b)}")
            detail.append("shortest cycle through each edge:")
            detail += ["  " + " -> ".join(c) for c in short_cycles(g, comp)]
            if verbose:
                detail.append("every edge inside, with every use:")
                for a in comp:
                    for b in sorted(g[a] & set(comp)):
                        uses = ", ".join(f"{f}:{ln}" for f, ln in sorted(crate.edges[(a, b)]))
                        detail.append(f"  {a} -> {b}: {uses}")
            out.append(Violation("cycle", cycle_line(name, comp), detail, name, frozenset(comp)))
        mech = list(spec.get("mechanisms", []))
        dom = list(spec.get("domains", []))
        for m in sorted(set(mech) & set(dom)):
            out.append(Violation("table", f"table {name}: both mechanism and domain {m}", crate=name))
        for m in sorted((set(mech) | set(dom)) - crate.modules):
            out.append(
                Violation("table", f"table {name}: unknown {m}", ["in house.toml, no such module"], name)
            )
        for m in sorted(crate.modules - set(mech) - set(dom)):
            out.append(Violation("table", f"table {name}: unclassified {m}", ["add it to house.toml"], name))
        for a, b in sorted(crate.edges):
            if a in mech and b in dom:
                out.append(Violation("layer", f"layer {name}: {a} -> {b}", [f"at {site(crate, a, b)}"], name))
        opaque: dict[str, list[str]] = {}
        for f, ln, what in crate.opaque:
            opaque.setdefault(f"opaque {f}: {what}", []).append(f"at {f}:{ln}")
        for line, sites in sorted(opaque.items()):
            out.append(Violation("opaque", line, sites, name))
        for sf in crate.files:
            if sf.is_test:
                continue
            n = non_test_lines(sf.text, sf.tc)
            if n > max_lines:
                out.append(
                    Violation(
                        "size",
                        f"size {sf.rel} {n}",
                        [f"{n} lines without test code (limit {max_lines})"],
                        name,
                        path=sf.rel,
                        count=n,
                    )
                )
    return out, crates


def parse_allow(path: str) -> list[Violation]:
    out = []
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            kind = line.split(" ", 1)[0]
            v = Violation(kind, line)
            if kind == "cycle":
                head, _, members = line.partition(":")
                v.crate = head.split(" ", 1)[1].strip()
                v.members = frozenset(m.strip() for m in members.split(","))
                v.line = cycle_line(v.crate, v.members)
            elif kind == "size":
                parts = line.split()
                if len(parts) != 3 or not parts[2].isdigit():
                    raise SystemExit(f"check-house: bad allow line {line!r} (want: size PATH LINES)")
                v.path, v.count = parts[1], int(parts[2])
            elif kind not in ("layer", "table", "opaque"):
                raise SystemExit(
                    f"check-house: bad allow line {line!r} (cycle, layer, size, table or opaque)"
                )
            out.append(v)
    return out


@dataclass
class Verdict:
    new: list[Violation] = field(default_factory=list)
    gone: list[Violation] = field(default_factory=list)
    narrowed: list[tuple[Violation, list[Violation]]] = field(default_factory=list)  # allowed -> found
    grew: list[tuple[Violation, Violation]] = field(default_factory=list)
    shrank: list[tuple[Violation, Violation]] = field(default_factory=list)
    allowed: list[Violation] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.new or self.gone or self.narrowed or self.grew)


def judge(found: list[Violation], allow: list[Violation]) -> Verdict:
    vd = Verdict()
    allow_lines = {a.line: a for a in allow if a.kind in ("layer", "table", "cycle", "opaque")}
    allow_sizes = {a.path: a for a in allow if a.kind == "size"}
    used: set[str] = set()
    narrowing: dict[str, list[Violation]] = {}
    for v in found:
        if v.kind == "size":
            a = allow_sizes.get(v.path)
            if a is None:
                vd.new.append(v)
            elif v.count > a.count:
                vd.grew.append((a, v))
                used.add(a.line)
            elif v.count < a.count:
                vd.shrank.append((a, v))
                used.add(a.line)
            else:
                vd.allowed.append(v)
                used.add(a.line)
        elif v.line in allow_lines:
            vd.allowed.append(v)
            used.add(v.line)
        elif v.kind == "cycle":
            parent = next(
                (a for a in allow if a.kind == "cycle" and a.crate == v.crate and v.members < a.members),
                None,
            )
            if parent is None:
                vd.new.append(v)
            else:
                narrowing.setdefault(parent.line, []).append(v)
        else:
            vd.new.append(v)
    for a in allow:
        if a.line in used:
            continue
        if a.line in narrowing:
            vd.narrowed.append((a, narrowing[a.line]))
        else:
            vd.gone.append(a)
    return vd


def report(found: list[Violation], vd: Verdict | None, strict: bool) -> None:
    def show(v: Violation, mark: str = "") -> None:
        print(f"  {mark}{v.line}")
        for d in v.detail:
            print(f"      {d}")

    kinds = [
        ("cycle", "import cycles"),
        ("layer", "mechanism -> domain"),
        ("size", "files over the limit"),
        ("table", "layering table"),
        ("opaque", "paths the check cannot follow"),
    ]
    if strict or vd is None:
        for kind, title in kinds:
            vs = [v for v in found if v.kind == kind]
            if vs:
                print(f"{title} ({len(vs)}):")
                for v in vs:
                    show(v)
        return
    if vd.new:
        print(f"NEW violations ({len(vd.new)}), not in the allow list:")
        for v in vd.new:
            show(v)
    if vd.grew:
        print("files that grew past their allowed size:")
        for a, v in vd.grew:
            print(f"  {v.path}: {v.count} lines, allowed {a.count}")
    if vd.narrowed:
        print("cycles that shrank or split (good): in the allow list, replace")
        for a, vs in vd.narrowed:
            print(f"  - {a.line}")
            for v in vs:
                print(f"  + {v.line}")
    if vd.gone:
        print(
            f"allowed violations that no longer occur ({len(vd.gone)}): delete these lines from the allow list"
        )
        for a in vd.gone:
            print(f"  - {a.line}")
    if vd.shrank:
        print("note: files still over the limit but smaller; the allow list may lower them:")
        for a, v in vd.shrank:
            print(f"  {a.line}  ->  {v.line}")


def update_allow(path: str, vd: Verdict) -> None:
    lines = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    drop = {a.line for a in vd.gone}
    replace = {a.line: [v.line for v in vs] for a, vs in vd.narrowed}
    replace.update({a.line: [v.line] for a, v in vd.shrank})
    out = []
    for raw in lines:
        body = raw.split("#", 1)[0].strip()
        norm = body
        if body.startswith("cycle "):
            head, _, members = body.partition(":")
            norm = cycle_line(head.split(" ", 1)[1].strip(), [m.strip() for m in members.split(",")])
        if norm in drop:
            continue
        if norm in replace:
            out.extend(replace[norm])
            continue
        out.append(raw)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")


def print_graph(crates: list[Crate]) -> None:
    for crate in crates:
        print(f"== {crate.name} ({crate.src}): {len(crate.modules)} top-level modules")
        for mod in sorted(crate.modules):
            deps = sorted(b for (a, b) in crate.edges if a == mod)
            users = sorted(a for (a, b) in crate.edges if b == mod)
            print(f"{mod}:")
            for b in deps:
                print(
                    f"    -> {b:<14} {len(crate.edges[(mod, b)]):>3} uses, first {site(crate, mod, b).split(' ')[0]}"
                )
            print(f"    <- {', '.join(users) if users else '(nothing)'}")


def main(argv: list[str] | None = None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(here), help="repository root (default: this checkout)")
    ap.add_argument("--table", help="layering table (default: ROOT/scripts/house.toml)")
    ap.add_argument("--allow", help="the ratchet (default: ROOT/scripts/house-allow.txt)")
    ap.add_argument("--strict", action="store_true", help="ignore the allow list: every violation fails")
    ap.add_argument(
        "--update",
        action="store_true",
        help="rewrite the allow list: drop vanished entries, narrow shrunk ones",
    )
    ap.add_argument("--graph", action="store_true", help="print the module dependency graph of each crate")
    ap.add_argument(
        "-v", "--verbose", action="store_true", help="with each cycle, every use behind each of its edges"
    )
    args = ap.parse_args(argv)
    table_path = args.table or os.path.join(args.root, "scripts", "house.toml")
    allow_path = args.allow or os.path.join(args.root, "scripts", "house-allow.txt")
    with open(table_path, "rb") as fh:
        table = tomllib.load(fh)
    found, crates = find_violations(args.root, table, verbose=args.verbose)
    if args.graph:
        print_graph(crates)
        print()
    nfiles = sum(len(c.files) for c in crates)
    nmods = sum(len(c.modules) for c in crates)
    print(
        f"check-house: {len(crates)} crates, {nfiles} files, {nmods} top-level modules, {len(found)} violations"
    )
    if args.strict:
        report(found, None, True)
        print("check-house: FAILED (--strict)" if found else "check-house: ok (--strict)")
        return 1 if found else 0
    allow = parse_allow(allow_path)
    vd = judge(found, allow)
    if args.update:
        if vd.new or vd.grew:
            report(found, vd, False)
            print(
                "check-house: --update refuses while there are new violations or grown files (fix them first)"
            )
            return 1
        update_allow(allow_path, vd)
        print(f"check-house: {allow_path} updated")
        vd = judge(found, parse_allow(allow_path))
    report(found, vd, False)
    if vd.allowed or vd.shrank:
        print(
            f"known violations, allowed by {os.path.relpath(allow_path, args.root)} (--strict shows where):"
        )
        for v in vd.allowed + [v for _, v in vd.shrank]:
            print(f"  {v.line}")
    if vd.failed:
        print(
            f"check-house: FAILED ({len(vd.allowed)} known violations allowed by {os.path.relpath(allow_path, args.root)})"
        )
        return 1
    print(
        f"check-house: ok ({len(vd.allowed) + len(vd.shrank)} known violations allowed, none new; --strict lists them)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
