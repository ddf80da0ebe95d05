#!/usr/bin/env bash
# Runs every test of the project: the Swift suites (engine, domain, CLI, reliability), then the
# C, C++ and Python ABI tests against the release libtokenstore.so, then a short benchmark
# smoke run. Exits non-zero on the first failure. CI runs exactly this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

step() { printf '\n== %s\n' "$*"; }

step "Swift tests"
# The reliability suites draw random seeds; CI pins one so that a run is reproducible.
# Tests/scripts/torture.sh and corruption.sh explore fresh seeds.
export TOKENSTORE_RELIABILITY_SEED=${TOKENSTORE_RELIABILITY_SEED:-20261130}
swift test --parallel

step "C ABI tests (C, C++, Python, symbols, install)"
Tests/abi/run.sh

step "README: every command as printed, in a clean environment (install, C, Python, Swift, CLI)"
python3 Tests/readme/check_readme.py

step "Benchmark smoke run"
swift run -c release tokenstore-bench --quick
Tests/scripts/bench-peers.sh

if [ -x Tests/scripts/fuzz.sh ]; then
    step "Fuzzing (regressions, then ${FUZZ_SECONDS:-60} s per harness)"
    Tests/scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
fi

step "all tests passed"
