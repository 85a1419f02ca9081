"""Self-test of scripts/check-guides.py: the tag rules and the wrapping rule, on small guides.

Runs under pytest (`python3 -m pytest scripts/test_check_guides.py`) or on its own
(`python3 scripts/test_check_guides.py`).
"""

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("check_guides", HERE / "check-guides.py")
cg = importlib.util.module_from_spec(_spec)
sys.modules["check_guides"] = cg
_spec.loader.exec_module(cg)


def problems(text):
    return [p.text for p in cg.parse("g.md", text)[1]]


def test_tagged_blocks_pass():
    text = "```kotlin compiled\nval a = 1\n```\n```swift platform-only\nx\n```\n```sh as-is\nls\n```\n"
    assert problems(text) == []


def test_untagged_kotlin_fails():
    assert any("no tag word" in p for p in problems("```kotlin\nval a = 1\n```\n"))


def test_bare_fence_fails():
    assert any("without a language" in p for p in problems("```\nsome text\n```\n"))


def test_unknown_tag_fails():
    assert any("unknown tag" in p for p in problems("```swift compiles\nx\n```\n"))


def test_compiled_shell_fails():
    assert any("only kotlin and swift" in p for p in problems("```sh compiled\nls\n```\n"))


def test_as_is_kotlin_fails():
    assert any("compiled or platform-only" in p for p in problems("```kotlin as-is\nx\n```\n"))


def test_extra_words_fail():
    assert any("one language and one tag" in p for p in problems("```kotlin compiled extra\nx\n```\n"))


def test_unclosed_fails():
    assert any("never closed" in p for p in problems("```kotlin compiled\nval a = 1\n"))


def test_indented_block_in_a_list():
    blocks, found = cg.parse("g.md", "1. step\n   ```sh as-is\n   ls -l\n   ```\n")
    assert found == []
    assert blocks[0].body == ["ls -l"]


def test_tab_indented_fences_are_seen():
    # A fence indented with a tab (a block inside a list item, as some editors write it) is a block.
    assert any("no tag word" in p for p in problems("1. step\n\t```kotlin\n\tval a = 1\n\t```\n"))
    blocks, found = cg.parse("g.md", "1. step\n\t```kotlin compiled\n\tval a = 1\n\t\tval b = 2\n\t```\n")
    assert found == []
    assert [(b.lang, b.tag) for b in blocks] == [("kotlin", "compiled")]
    assert blocks[0].body == ["val a = 1", "\tval b = 2"]
    # ...and a guide whose only tagged block is tab-indented is checked at all.
    assert cg.TAGGED.search("text\n\t```swift compiled\nlet a = 1\n\t```\n")
    assert cg.TAGGED.search("\t ```kotlin platform-only\n")


def test_declaration_is_top_level_fragment_is_wrapped():
    decl = cg.Block("android.md", 10, "kotlin", "compiled", ["import java.io.File", "", "fun f(): Int = 1"])
    src = cg.source(decl, 0)
    assert "fun androidLine10(" not in src.text
    lines = src.text.splitlines()
    assert lines[0] == "package guide.android"
    assert lines[1] == "import java.io.File"
    assert src.origin[lines.index("fun f(): Int = 1")] == 13
    frag = cg.Block("ios.md", 20, "swift", "compiled", ["let n = try vault.journal().list().count"])
    text = cg.source(frag, 1).text
    assert "func iosLine20(vault: Vault, vaults: VaultLifecycle, relayURL: String) async throws {" in text
    assert "import Sebaya" in text


def test_compiler_lines_map_back_to_the_guide():
    frag = cg.Block("ios.md", 20, "swift", "compiled", ["let n = 1"])
    src = cg.source(frag, 1)
    line = src.text.splitlines().index("let n = 1") + 1
    out = cg.remap(f"/sebaya/guides/ios/{src.name}:{line}:5: error: x", [src])
    assert out.startswith("docs/ios.md:21:5 (")


def test_tab_separated_and_crlf_info_strings_are_seen():
    # parse splits the info string on any whitespace, so discovery must see the same blocks.
    assert cg.TAGGED.search("```kotlin\tcompiled\n")
    assert cg.TAGGED.search("text\r\n```swift compiled\r\nlet a = 1\r\n```\r\n")
    assert cg.TAGGED.search("~~~kotlin \t platform-only \t\n")


if __name__ == "__main__":
    failures = 0
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            try:
                fn()
                print(f"PASS  {name}")
            except AssertionError as e:
                failures += 1
                print(f"FAIL  {name}: {e}")
    sys.exit(1 if failures else 0)

