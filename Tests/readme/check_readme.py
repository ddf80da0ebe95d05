#!/usr/bin/env python3
"""Runs README.md as a reader would: every command exactly as printed, on a clean machine.

Each `##` section of the README with commands is one terminal session: a fresh `bash`
started with `env -i`, so that it sees only PATH and a HOME made fresh for this run (the
install prefix the README uses, $HOME/.local, starts empty), in the repository root, as a
reader who has just cloned it. The section's blocks then run in order in that session:

- a shell block marked `readme-test` runs verbatim;
- a C, Python or JSON block marked `readme-test save=FILE` is written to FILE in the
  session's current directory, as the README tells the reader to save it;
- a Swift block marked `readme-test file=PATH` must equal that file of the repository, whose
  package a shell block of the same section runs.

No flag, variable or path is added to what is printed. What each session prints must contain
the lines in EXPECTED, in order. Every other fenced block of the README must be listed in
NOT_RUN with the reason it is not run, so that a new block cannot go unchecked.

Usage: check_readme.py            (from anywhere; needs bash, make, a C compiler, pkg-config,
                                   python3 with venv, swift, and the tools `make` uses)
Environment: README_KEEP=1 keeps the scratch HOME and prints its path; README_VERBOSE=1 prints
what each session printed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What each section's session must print, in this order (a line may hold more).
EXPECTED = {
    "Install": [
        "Installed libtokenstore",
        "is not on the loader's path",
        "-Wl,-rpath,",
        "export LD_LIBRARY_PATH=",
    ],
    "Quick start: C": [
        "com.example.news on pixel-7: fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH",
        "foreground push enabled: 1 users",
        # Kim's two tokens; Lee is unsubscribed. The provider rejected the stale one: removed.
        "campaign: 2 tokens", "bounced: 1 removed", "key 0: has a token", "key 1: no token",
    ],
    "Quick start: Python": [
        "bounce: REMOVED (DEAD)",
        "Kim's tokens: []",
        "Charlie's export: {'external_id': 'charlie', 'push_subscribe': 'subscribed', 'push_tokens': []}",
    ],
    "Quick start: Swift": [
        "Kim may be sent 1 visible push",
        "bounce: removed, tokens left: 0",
        "Charlie's changelog: [registered, moved_out]",
    ],
    "The `tokenstore` CLI": [
        "applied 7, stale 0, rejected 0 (7 lines)",
        "identical",
        "nothing dropped: the log is sound",
    ],
}

# Blocks that are not run, by their first line, and why.
NOT_RUN = {
    "swift run -c release tokenstore-bench": "the full benchmark takes minutes; Tests/run-all.sh runs it with --quick",
    "Tests/run-all.sh": "it is the command that runs this check",
    "Sources/TokenStore/System/     the syscall seam (injectable for fault tests), typed system errors, hashing, locks":
        "a directory listing, not a command",
}

FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
SECTION = re.compile(r"^## (.+)$", re.M)


def sections(text):
    """(title, [(info words, body)]) for each `##` section, in README order."""
    heads = list(SECTION.finditer(text))
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[head.end():end]
        yield head.group(1).strip(), [(m.group(1).split(), m.group(2)) for m in FENCE.finditer(body)]


def attribute(words, name):
    for word in words:
        if word.startswith(name + "="):
            return word[len(name) + 1:]
    return None


def session_script(title, blocks):
    """The bash script of one section's session, or None when it runs nothing."""
    lines = ["set -euo pipefail", "cd %s" % shlex_quote(ROOT)]
    runs = False
    for words, body in blocks:
        language = words[0] if words else ""
        if "readme-test" not in words:
            first = body.splitlines()[0] if body.strip() else ""
            if first not in NOT_RUN:
                sys.exit("README section %r has a block that is neither run (readme-test) nor listed in "
                         "NOT_RUN of %s:\n%s" % (title, os.path.relpath(__file__, ROOT), body))
            continue
        runs = True
        if language in ("sh", "bash", "shell"):
            lines.append(body)
        elif attribute(words, "save"):
            # A quoted here-document writes the block byte for byte.
            marker = "README_BLOCK_END"
            if marker in body:
                sys.exit("a README block contains %s" % marker)
            lines.append("cat > %s <<'%s'\n%s%s" % (shlex_quote(attribute(words, "save")), marker, body, marker))
        elif language == "swift" and attribute(words, "file"):
            path = os.path.join(ROOT, attribute(words, "file"))
            with open(path) as f:
                if f.read() != body:
                    sys.exit("README's Swift sample in %r differs from %s; keep them equal" % (title, path))
        else:
            sys.exit("README block marked readme-test in %r says neither save= nor file=:\n%s" % (title, body))
    return "\n".join(lines) + "\n" if runs else None


def shlex_quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def run_session(title, script, home):
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
    result = subprocess.run(["env", "-i"] + ["%s=%s" % item for item in environment.items()] +
                            ["bash", "--noprofile", "--norc", "-c", script],
                            cwd=ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        sys.exit("README section %r failed (exit %d) when run as printed:\n--- script\n%s--- output\n%s"
                 % (title, result.returncode, script, output))
    position = 0
    for line in EXPECTED.get(title, []):
        found = result.stdout.find(line, position)
        if found < 0:
            sys.exit("README section %r did not print %r (in order) when run as printed:\n%s"
                     % (title, line, result.stdout))
        position = found + len(line)
    return result.stdout


def main():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    home = tempfile.mkdtemp(prefix="readme-home.")
    ran = []
    try:
        for title, blocks in sections(text):
            script = session_script(title, blocks)
            if script is None:
                continue
            output = run_session(title, script, home)
            if os.environ.get("README_VERBOSE") == "1":
                print(output)
            ran.append(title)
            print("README section %r: runs as printed" % title)
    finally:
        if os.environ.get("README_KEEP") == "1":
            print("scratch HOME kept at " + home)
        else:
            shutil.rmtree(home, ignore_errors=True)
    missing = sorted(set(EXPECTED) - set(ran))
    if missing:
        sys.exit("README sections expected to run but not found or not run: %s" % missing)


if __name__ == "__main__":
    main()
