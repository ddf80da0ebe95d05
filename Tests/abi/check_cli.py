#!/usr/bin/env python3
"""Checks that an installed tokenstore CLI is deployable: it runs on a host without Swift.

- its dynamic section needs no Swift runtime library and has no RUNPATH outside $ORIGIN, so
  nothing ties it to the toolchain it was built with;
- `ldd` resolves no library named like Swift's (libswift*, libFoundation*, libdispatch*);
- run with a clean environment (env -i, PATH=/usr/bin:/bin, no LD_LIBRARY_PATH), it loads
  events into a new store and reads them back, and is stripped.

Usage: check_cli.py TOKENSTORE SCRATCH_DIR
Needs readelf and ldd.
"""
import os
import re
import subprocess
import sys

RUNTIME = re.compile(r"swift|foundation|dispatch|blocksruntime", re.I)
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LC_ALL": "C"}


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, env=CLEAN_ENV)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    cli, scratch = os.path.abspath(sys.argv[1]), sys.argv[2]
    failures = []

    dynamic = subprocess.run(["readelf", "-d", cli], check=True, capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    if [n for n in needed if RUNTIME.search(n)]:
        failures.append("needs Swift runtime libraries: " + ", ".join(needed))
    paths = re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]", dynamic)
    foreign = [p for path in paths for p in path.split(":") if p and p != "$ORIGIN"]
    if foreign:
        failures.append("has a search path into the build machine: %d entries besides $ORIGIN" % len(foreign))
    resolved = run(["ldd", cli]).stdout
    if RUNTIME.search(resolved):
        failures.append("ldd resolves a Swift runtime library:\n" + resolved)
    sections = subprocess.run(["readelf", "-S", "-W", cli], check=True, capture_output=True, text=True).stdout
    if re.search(r"\s\.(symtab|debug_info)\s", sections):
        failures.append("is not stripped (has .symtab or .debug_info)")

    os.makedirs(scratch, exist_ok=True)
    store = os.path.join(scratch, "cli-store")
    events = ('{"event":"register","device_id":"phone","app_id":"shop","token":"abc",'
              '"platform":"ios","authorization":"foreground","user_id":"kim","at":1795860000000}\n')
    loaded = run([cli, "load", store, "-", "--shards", "2"], stdin=events)
    if loaded.returncode != 0 or "applied 1" not in loaded.stdout:
        failures.append("load in a clean environment: rc %d, %s%s" % (loaded.returncode, loaded.stdout, loaded.stderr))
    got = run([cli, "get", store, "phone", "shop", "--json"])
    if got.returncode != 0 or '"token":"abc"' not in got.stdout.replace(" ", ""):
        failures.append("get in a clean environment: rc %d, %s%s" % (got.returncode, got.stdout, got.stderr))

    for failure in failures:
        print("check_cli: FAILED: " + failure, file=sys.stderr)
    if failures:
        return 1
    print("check_cli: needs only %s; loads and reads a store with PATH=/usr/bin:/bin and no LD_LIBRARY_PATH"
          % ", ".join(needed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
