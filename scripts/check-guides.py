#!/usr/bin/env python3
"""Guides that compile (issue 17, item 6): the code blocks of docs/android.md, docs/ios.md (and of any
other docs/*.md that uses the same tags, such as docs/nearby.md) cannot drift from the API.

Every fenced block's info string is a language and one tag word:

    ```kotlin compiled        ```swift compiled        compiled against the generated bindings and glue
    ```kotlin platform-only   ```swift platform-only   needs the Android or iOS SDK: not compiled here
    ```sh as-is   ```text as-is   ```xml as-is   ...    not Kotlin or Swift: shown as written

`compiled` and `platform-only` are for kotlin and swift only, `as-is` for every other language; a
block with no language, no tag, an unknown tag or more words fails the check.

How a compiled block becomes a source file (the rule the guides state in their header):

  - Each block is a file of its own. Kotlin: in package `guide.<guide>` (so the blocks of one guide
    see each other's declarations), with `import org.sebaya.*` and `import org.sebaya.glue.*` added;
    Swift: in module `Guide<guide>`, with `import Foundation` and `import Sebaya` added. The block's
    own imports come first in it.
  - A block whose first line of code (after its imports and comments) declares something (Kotlin:
    class, object, interface, fun, a modifier or an annotation; Swift: func, class, struct, enum,
    protocol, extension, a modifier or an attribute) is compiled as written, at top level.
  - Any other block is the body of a function with three parameters, the names the examples share:
    Kotlin `fun ...(vault: Vault, vaults: VaultLifecycle, relayUrl: String)`,
    Swift `func ...(vault: Vault, vaults: VaultLifecycle, relayURL: String) async throws`.

Compiling is the check; nothing is run. Usage:

    check-guides.py tags                                   the tags only (no compiler needed)
    check-guides.py kotlin --out DIR -- KOTLINC ARGS...    compile every Kotlin block: runs
                                                           KOTLINC ARGS... FILES (FILES added at the end)
    check-guides.py swift --out DIR [--inside PATH] -- SWIFTC ARGS...
                                                           one compiler run per guide; `{module}` in
                                                           ARGS becomes the guide's module name; files
                                                           are written to DIR and passed as PATH/<name>
                                                           (PATH: DIR as seen by the compiler, e.g. in
                                                           a chroot)

Compiler messages are shown with each file's lines mapped back to the guide's (docs/x.md:LINE).
Exit status 1 on any failure.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Always checked; any other docs/*.md is checked as soon as one of its blocks carries a tag below.
REQUIRED = ["android.md", "ios.md"]
CODE_LANGS = {"kotlin", "swift"}
CODE_TAGS = {"compiled", "platform-only"}
EXEMPT_TAG = "as-is"
TAGS = CODE_TAGS | {EXEMPT_TAG}

# The indentation may be spaces or tabs (a block inside a list item): a tab-indented fence is a block too.
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# A tagged opening fence anywhere in a text: what makes a docs/*.md beyond REQUIRED a guide.
TAGGED = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*\w[\w+-]*[ \t]+(" + "|".join(re.escape(t) for t in sorted(TAGS)) + r")[ \t\r]*$", re.M)

KOTLIN_DECL = re.compile(
    r"^(class|object|interface|fun|enum|data|sealed|abstract|open|private|internal|public|"
    r"typealias|const|lateinit|inline|suspend|annotation|value|@)\b|^@"
)
SWIFT_DECL = re.compile(
    r"^(func|class|struct|enum|protocol|extension|final|private|fileprivate|internal|public|"
    r"actor|typealias|@\w+)\b|^@"
)


@dataclass
class Block:
    guide: str  # file name, e.g. android.md
    line: int  # 1-based line of the opening fence
    lang: str
    tag: str
    body: list[str] = field(default_factory=list)  # the block's lines, indentation removed


@dataclass
class Problem:
    guide: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"docs/{self.guide}:{self.line}: {self.text}"


def parse(guide: str, text: str) -> tuple[list[Block], list[Problem]]:
    """Every fenced block of a Markdown text, and every tag problem."""
    blocks: list[Block] = []
    problems: list[Problem] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        start = i + 1
        words = info.split()
        lang = words[0].lower() if words else ""
        tag = words[1] if len(words) > 1 else ""
        if not words:
            problems.append(Problem(guide, start, "a block without a language and tag (```text as-is, say)"))
        elif len(words) == 1:
            want = "compiled or platform-only" if lang in CODE_LANGS else "as-is"
            problems.append(Problem(guide, start, f"```{info}: no tag word ({want})"))
        elif len(words) > 2:
            problems.append(Problem(guide, start, f"```{info}: one language and one tag word only"))
        elif tag not in TAGS:
            problems.append(Problem(guide, start, f"```{info}: unknown tag '{tag}' (compiled, platform-only, as-is)"))
        elif lang in CODE_LANGS and tag not in CODE_TAGS:
            problems.append(Problem(guide, start, f"```{info}: a {lang} block is compiled or platform-only"))
        elif lang not in CODE_LANGS and tag != EXEMPT_TAG:
            problems.append(Problem(guide, start, f"```{info}: only kotlin and swift blocks are {tag}; this one is as-is"))
        body: list[str] = []
        i += 1
        closed = False
        while i < len(lines):
            close = FENCE.match(lines[i])
            if close and close["fence"][0] == fence[0] and len(close["fence"]) >= len(fence) and not close["info"].strip():
                closed = True
                i += 1
                break
            raw = lines[i]
            # Remove the fence's indentation (a block inside a list item): the same spaces or tabs,
            # else as many leading blanks as it has characters.
            if raw.startswith(indent):
                body.append(raw[len(indent) :])
            else:
                strip = min(len(indent), len(raw) - len(raw.lstrip(" \t")))
                body.append(raw[strip:])
            i += 1
        if not closed:
            problems.append(Problem(guide, start, "a block that is never closed"))
        blocks.append(Block(guide, start, lang, tag, body))
    return blocks, problems


def guides() -> list[Path]:
    """The required guides, and every other docs/*.md with a tagged block."""
    found = [DOCS / name for name in REQUIRED]
    for path in sorted(DOCS.glob("*.md")):
        if path.name not in REQUIRED and TAGGED.search(path.read_text(encoding="utf-8")):
            found.append(path)
    return found


def load() -> tuple[list[Block], list[Problem]]:
    blocks: list[Block] = []
    problems: list[Problem] = []
    for path in guides():
        if not path.is_file():
            problems.append(Problem(path.name, 1, "missing"))
            continue
        b, p = parse(path.name, path.read_text(encoding="utf-8"))
        blocks += b
        problems += p
    return blocks, problems


def stem(guide: str) -> str:
    return re.sub(r"[^a-z0-9]", "", guide.removesuffix(".md").lower())


@dataclass
class Source:
    name: str  # file name
    text: str
    origin: list[int]  # for each line of text (0-based), the guide's line, or 0 for an added line
    guide: str


def is_code(line: str, comment: tuple[str, ...]) -> bool:
    s = line.strip()
    return bool(s) and not s.startswith(comment)


def source(block: Block, index: int) -> Source:
    """The block as a compilable file, following the rule in the module docstring."""
    kotlin = block.lang == "kotlin"
    comment = ("//", "/*", "*", "*/")
    # The block's own imports (leading, among comments and blank lines).
    n_imports = 0
    for k, line in enumerate(block.body):
        if line.startswith("import "):
            n_imports = k + 1
        elif is_code(line, comment):
            break
    head = block.body[:n_imports]
    rest = block.body[n_imports:]
    first = next((line for line in rest if is_code(line, comment)), "")
    decl = (KOTLIN_DECL if kotlin else SWIFT_DECL).match(first) is not None
    out: list[str] = []
    origin: list[int] = []

    def add(line: str, guide_line: int = 0) -> None:
        out.append(line)
        origin.append(guide_line)

    g = stem(block.guide)
    fn = f"{g}Line{block.line}"
    if kotlin:
        add(f"package guide.{g}")
    for k, line in enumerate(head):
        add(line, block.line + 1 + k)
    if kotlin:
        add("import org.sebaya.*")
        add("import org.sebaya.glue.*")
    else:
        add("import Foundation")
        add("import Sebaya")
    if not decl:
        if kotlin:
            add(f"fun {fn}(vault: Vault, vaults: VaultLifecycle, relayUrl: String) {{")
        else:
            add(f"func {fn}(vault: Vault, vaults: VaultLifecycle, relayURL: String) async throws {{")
    for k, line in enumerate(rest):
        add(line, block.line + 1 + n_imports + k)
    if not decl:
        add("}")
    ext = "kt" if kotlin else "swift"
    return Source(f"{g}_{index:02d}_line{block.line}.{ext}", "\n".join(out) + "\n", origin, block.guide)


def write_sources(blocks: list[Block], out: Path) -> list[Source]:
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("*.kt")) + list(out.glob("*.swift")):
        old.unlink()
    sources = [source(b, i) for i, b in enumerate(blocks)]
    for s in sources:
        (out / s.name).write_text(s.text, encoding="utf-8")
    return sources


def remap(output: str, sources: list[Source]) -> str:
    """Compiler messages with file:line turned into docs/<guide>:line where the line is the guide's."""
    by_name = {s.name: s for s in sources}
    names = "|".join(re.escape(n) for n in by_name)
    pattern = re.compile(r"(?:[^\s:]*/)?(" + names + r"):(\d+)(:\d+)?") if by_name else None

    def sub(m: re.Match[str]) -> str:
        s = by_name[m[1]]
        n = int(m[2])
        col = m[3] or ""
        if 1 <= n <= len(s.origin) and s.origin[n - 1]:
            return f"docs/{s.guide}:{s.origin[n - 1]}{col} ({s.name}:{n})"
        return f"{s.name}:{n}{col} (a line the check added; docs/{s.guide})"

    return pattern.sub(sub, output) if pattern else output


def run(cmd: list[str], sources: list[Source]) -> int:
    print("check-guides: " + " ".join(cmd[:1]) + f" ... ({len(sources)} file(s))", flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.stdout:
        sys.stdout.write(remap(proc.stdout, sources))
    return proc.returncode


def summary(blocks: list[Block]) -> None:
    for path in guides():
        mine = [b for b in blocks if b.guide == path.name]
        counts = {t: sum(1 for b in mine if b.tag == t) for t in ("compiled", "platform-only", "as-is")}
        print(f"check-guides: docs/{path.name}: {counts['compiled']} compiled, "
              f"{counts['platform-only']} platform-only, {counts['as-is']} as-is")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("tags", "kotlin", "swift"):
        print(__doc__)
        return 2
    mode = argv[0]
    args = argv[1:]
    cmd: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, cmd = args[:cut], args[cut + 1:]
    opts = dict(zip(args[::2], args[1::2]))
    blocks, problems = load()
    for p in problems:
        print(f"check-guides: {p}")
    if problems:
        print(f"check-guides: {len(problems)} untagged or wrongly tagged block(s)")
        return 1
    summary(blocks)
    if mode == "tags":
        return 0
    if not cmd or "--out" not in opts:
        print("check-guides: give --out DIR and, after --, the compiler command")
        return 2
    out = Path(opts["--out"])
    inside = opts.get("--inside", str(out))
    mine = [b for b in blocks if b.lang == mode and b.tag == "compiled"]
    if not mine:
        print(f"check-guides: no compiled {mode} blocks")
        return 1
    if mode == "kotlin":
        sources = write_sources(mine, out)
        rc = run(cmd + [f"{inside}/{s.name}" for s in sources], sources)
    else:
        rc = 0
        for path in guides():
            theirs = [b for b in mine if b.guide == path.name]
            if not theirs:
                continue
            module = "Guide" + stem(path.name).capitalize()
            sources = write_sources(theirs, out / stem(path.name))
            files = [f"{inside}/{stem(path.name)}/{s.name}" for s in sources]
            rc |= run([c.replace("{module}", module) for c in cmd] + files, sources)
    if rc != 0:
        print(f"check-guides: the compiled {mode} blocks of the guides do not compile (above)")
        return 1
    print(f"check-guides: {len(mine)} compiled {mode} block(s) compile")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
