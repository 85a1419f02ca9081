#!/usr/bin/env python3
"""The uniffi metadata of the mobile library: hide it at link time, and prove the result still matches.

uniffi's proc macros put a description of every exported item (with its doc comment) into the library
as a `#[no_mangle]` static named `UNIFFI_META_*`, so that `uniffi-bindgen` can read the interface from
the library. Nothing reads them at run time, yet a cdylib exports every `#[no_mangle]` item, so the
linker keeps them all (about 120 KB, plus their dynamic-symbol entries). Upstream has no switch for
this (mozilla/uniffi-rs issue 2259).

    uniffi-meta.py version-script LIB > FILE
        A linker version script that makes each `UNIFFI_META_*` symbol of LIB local. Given to lld after
        rustc's own script, an exact `local:` name overrides rustc's exact `global:` one, and
        `--gc-sections` then drops the data. LIB is the debug library of the same source (the names
        come from the exported items, not from the profile). GNU ld refuses a second script with an
        anonymous version, so this is for lld (the Android NDK's linker and the x86_64 Linux host's).

    uniffi-meta.py check RELEASE_LIB BINDINGS_PY
        The release library exports no `UNIFFI_META_*` symbol, and it answers the contract version and
        every API checksum that the Python bindings (generated from the debug library) expect. A
        bindings file whose checksums differ from the library it loads fails here, not on a phone.
"""

import ctypes
import re
import subprocess
import sys


def dynamic_symbols(lib):
    """The names a library exports: GNU nm's dynamic table (ELF), else the Mach-O exports of a macOS
    host library (`nm -gU`, names with their leading underscore removed; not run here)."""
    try:
        out = subprocess.run(
            ["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True
        ).stdout
        return [line.split()[-1] for line in out.splitlines() if line.split()]
    except subprocess.CalledProcessError:
        out = subprocess.run(["nm", "-gU", lib], check=True, capture_output=True, text=True).stdout
        names = [line.split()[-1] for line in out.splitlines() if line.split()]
        return [n[1:] if n.startswith("_") else n for n in names]


def version_script(lib):
    names = sorted(s for s in dynamic_symbols(lib) if s.startswith("UNIFFI_META_"))
    if not names:
        sys.exit(f"uniffi-meta: {lib} exports no UNIFFI_META_ symbol (a stripped or release library?)")
    body = "".join(f"    {n};\n" for n in names)
    sys.stdout.write("{\n  local:\n" + body + "};\n")


def check(release, bindings_py):
    left = [s for s in dynamic_symbols(release) if s.startswith("UNIFFI_META_")]
    if left:
        sys.exit(
            f"uniffi-meta: {len(left)} UNIFFI_META_ symbols are still exported by {release} "
            "(a linker other than lld, or a version script made from another source)"
        )
    text = open(bindings_py, encoding="utf-8").read()
    expected = re.findall(r"lib\.(uniffi_\w+_checksum_\w+)\(\) != (\d+)", text)
    contract = re.search(r"bindings_contract_version = (\d+)", text)
    if not expected or not contract:
        sys.exit(f"uniffi-meta: no checksums or contract version found in {bindings_py}")
    lib = ctypes.CDLL(release)
    version_fn = next(
        (s for s in dynamic_symbols(release) if s.endswith("_uniffi_contract_version")), None
    )
    if version_fn is None:
        sys.exit("uniffi-meta: the release library has no contract-version function")
    f = getattr(lib, version_fn)
    f.restype = ctypes.c_uint32
    if f() != int(contract.group(1)):
        sys.exit(f"uniffi-meta: contract version {f()} != the bindings' {contract.group(1)}")
    bad = []
    for name, value in expected:
        fn = getattr(lib, name)
        fn.restype = ctypes.c_uint16
        if fn() != int(value):
            bad.append(name)
    if bad:
        sys.exit(f"uniffi-meta: {len(bad)} checksums differ, first {bad[0]}")
    print(f"uniffi-meta: no metadata exported; contract version and {len(expected)} checksums match")


def main(argv):
    if len(argv) == 3 and argv[1] == "version-script":
        version_script(argv[2])
    elif len(argv) == 4 and argv[1] == "check":
        check(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
