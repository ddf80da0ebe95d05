#!/usr/bin/env python3
"""Checks that every README sample marked `readme-test` still works.

- C samples are compiled with -Werror against include/tokenstore.h and the built library,
  then run on a fresh store.
- Python samples run against the built library with the binding in Tests/abi/python,
  with `path` set to a fresh store directory.
- Swift samples must appear verbatim (modulo indentation) in
  Tests/TokenStoreTests/ReadmeExampleTests.swift, which `swift test` compiles and runs.

Usage: check_readme.py LIBRARY   (the path of libtokenstore.so)
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def blocks(text):
    for match in re.finditer(r"^```(\w+) readme-test\n(.*?)^```", text, re.S | re.M):
        yield match.group(1), match.group(2)


def normalized(code):
    return [line.strip() for line in code.splitlines() if line.strip()]


def check_swift(code):
    test = open(os.path.join(ROOT, "Tests/TokenStoreTests/ReadmeExampleTests.swift")).read()
    want, have = normalized(code), normalized(test)
    for i in range(len(have) - len(want) + 1):
        if have[i:i + len(want)] == want:
            return
    sys.exit("README Swift sample is not in Tests/TokenStoreTests/ReadmeExampleTests.swift; update both")


# What each C sample must print, keyed by a call only that sample makes.
C_EXPECTED = {
    "ts_campaign_tokens": [
        # Kim's two tokens; Lee is unsubscribed. The provider rejected the stale one: removed.
        "campaign: 2 tokens", "bounced: 1 removed", "key 0: has a token", "key 1: no token",
    ],
    "ts_user_tokens": ["com.example.news on pixel-7", "foreground push enabled: 1 users"],
}


def check_c(code, library, scratch):
    # Each sample in its own directory, with the library laid out as an install would: the
    # SONAME file and the link-time name.
    workdir = tempfile.mkdtemp(dir=scratch)
    source = os.path.join(workdir, "demo.c")
    binary = os.path.join(workdir, "demo")
    open(source, "w").write(code)
    libdir = os.path.join(workdir, "lib")
    os.makedirs(libdir)
    subprocess.run(["cp", library, os.path.join(libdir, "libtokenstore.so.0")], check=True)
    os.symlink("libtokenstore.so.0", os.path.join(libdir, "libtokenstore.so"))
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", os.path.join(ROOT, "include"),
                    source, "-L", libdir, "-ltokenstore", "-Wl,-rpath," + libdir, "-o", binary], check=True)
    out = subprocess.run([binary, os.path.join(workdir, "c-store")], check=True, capture_output=True, text=True).stdout
    expected = next((lines for call, lines in C_EXPECTED.items() if call in code), None)
    if expected is None:
        sys.exit("README C sample makes none of the calls check_readme.py knows what to expect from:\n" + code)
    missing = [line for line in expected if line not in out]
    if missing:
        sys.exit("README C sample printed something unexpected (missing %s):\n%s" % (missing, out))


def check_python(code, library, scratch):
    program = "path = %r\n" % os.path.join(scratch, "py-store") + code
    env = dict(os.environ, TOKENSTORE_LIBRARY=library, PYTHONPATH=os.path.join(ROOT, "Tests/abi/python"))
    out = subprocess.run([sys.executable, "-c", program], check=True, capture_output=True, text=True, env=env).stdout
    # The bounce removed Kim's only token: outcome REMOVED (1), no tokens, Charlie's export.
    if not out.startswith("(1,") or " [] " not in out or "'external_id': 'charlie'" not in out:
        sys.exit("README Python sample printed something unexpected:\n" + out)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    library = os.path.abspath(sys.argv[1])
    text = open(os.path.join(ROOT, "README.md")).read()
    seen = set()
    with tempfile.TemporaryDirectory() as scratch:
        for language, code in blocks(text):
            seen.add(language)
            {"swift": lambda: check_swift(code),
             "c": lambda: check_c(code, library, scratch),
             "python": lambda: check_python(code, library, scratch)}[language]()
            print("README %s sample: ok" % language)
    if seen != {"swift", "c", "python"}:
        sys.exit("expected Swift, C and Python samples marked readme-test, found %s" % sorted(seen))


if __name__ == "__main__":
    main()
