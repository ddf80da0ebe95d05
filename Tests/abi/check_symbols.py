#!/usr/bin/env python3
"""Checks libtokenstore.so against include/tokenstore.h.

- every function declared in the header is exported (and nothing is declared twice), with the
  version node TOKENSTORE_0 of Sources/CTokenStore/tokenstore.map;
- the library exports nothing else: no global symbol outside the header's ts_* functions;
- it has the SONAME libtokenstore.so.<major> and needs no Swift runtime library;
- with --stripped (an installed copy), it carries no symbol table or debug information.

Usage: check_symbols.py [--stripped] HEADER LIBRARY
Needs nm and readelf (binutils).
"""
import re
import subprocess
import sys


def declared_functions(header_text):
    """The ts_* function names declared in the header (comments and typedefs excluded)."""
    text = re.sub(r"/\*.*?\*/", " ", header_text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    names = []
    for statement in text.split(";"):
        statement = " ".join(statement.split())
        if not statement or statement.startswith("typedef"):
            continue
        match = re.search(r"\b(ts_[A-Za-z0-9_]+)\s*\(", statement)
        if match and "(*" not in statement[: match.start()]:
            names.append(match.group(1))
    return names


def exported_symbols(library):
    """Global (exported) dynamic symbols defined by the library, without version suffixes."""
    out = subprocess.run(
        ["nm", "-D", "--defined-only", library], check=True, capture_output=True, text=True
    ).stdout
    symbols = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if kind == "A":  # the version node (e.g. TOKENSTORE_0), not a symbol
            continue
        # Local-binding entries (lowercase kinds) cannot be linked against, but gold leaves
        # localized Swift symbols in the dynamic table that way; lld does not. Count them too,
        # so that `nm -D` on the library shows the C API and nothing else.
        symbols.append(name)
    return symbols


def dynamic_section(library):
    return subprocess.run(
        ["readelf", "-d", library], check=True, capture_output=True, text=True
    ).stdout


def main():
    arguments = sys.argv[1:]
    stripped = "--stripped" in arguments
    arguments = [a for a in arguments if a != "--stripped"]
    if len(arguments) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    header, library = arguments
    with open(header, encoding="utf-8") as f:
        header_text = f.read()
    declared = declared_functions(header_text)
    versioned = exported_symbols(library)
    exported = [name.split("@")[0] for name in versioned]
    failures = []

    # Every export carries the version node of tokenstore.map, so that a later release can
    # add a node without breaking programs linked against this one.
    unversioned = sorted(name for name in versioned if not name.endswith("@@TOKENSTORE_0"))
    if unversioned:
        failures.append("exported without the TOKENSTORE_0 version: " + ", ".join(unversioned[:20]))

    duplicates = sorted({n for n in declared if declared.count(n) > 1})
    if duplicates:
        failures.append("declared more than once: " + ", ".join(duplicates))
    missing = sorted(set(declared) - set(exported))
    if missing:
        failures.append("declared in the header but not exported: " + ", ".join(missing))
    extra = sorted(set(exported) - set(declared))
    if extra:
        failures.append("exported but not declared in the header: " + ", ".join(extra[:20]))

    dynamic = dynamic_section(library)
    major = re.search(r"#define TS_VERSION_MAJOR (\d+)", header_text).group(1)
    soname = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", dynamic)
    if not soname or soname.group(1) != "libtokenstore.so." + major:
        failures.append(
            "SONAME is %s, expected libtokenstore.so.%s" % (soname.group(1) if soname else "missing", major)
        )
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    swift = [n for n in needed if "swift" in n.lower() or "foundation" in n.lower() or "dispatch" in n.lower()]
    if swift:
        failures.append("needs Swift runtime libraries: " + ", ".join(swift))

    if stripped:
        sections = subprocess.run(
            ["readelf", "-S", "-W", library], check=True, capture_output=True, text=True
        ).stdout
        kept = re.findall(r"\s(\.symtab|\.debug_\w+)\s", sections)
        if kept:
            failures.append("not stripped: has " + ", ".join(sorted(set(kept))))

    for failure in failures:
        print("check_symbols: FAILED: " + failure, file=sys.stderr)
    if failures:
        return 1
    print(
        "check_symbols: %d functions declared and exported, nothing else exported; SONAME %s; needs %s"
        % (len(declared), soname.group(1), ", ".join(needed))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
