#!/bin/sh
# Checks the benchmark's peer section on small data (issue 10), never its timings:
#   1. a quick run with every peer: each ran, they agree (the benchmark itself exits non-zero
#      when their live tokens or outcomes differ), and --json holds the peers and the goal rows;
#      the LMDB peer must have run when liblmdb0 is installed (CI installs it);
#   2. a quick run whose LMDB library cannot be loaded still succeeds and prints the hint;
#   and that the campaign sender section (issue 16) ran with its goal rows filled.
#
#   Tests/scripts/bench-peers.sh
set -eu
cd "$(dirname "$0")/../.."
swift build -c release --product tokenstore-bench >&2
bench=.build/release/tokenstore-bench
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

"$bench" --quick --peers tokenstore,lmdb,memory,sqlite --json "$scratch/run.json" >"$scratch/out" 2>"$scratch/err" || {
    cat "$scratch/err" >&2
    exit 1
}
lmdb_installed=no
if dpkg -s liblmdb0 >/dev/null 2>&1; then lmdb_installed=yes; fi
python3 - "$scratch/run.json" "$lmdb_installed" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
peers = {p["peer"]: p for p in report["peers"]["peers"]}
assert set(peers) == {"tokenstore", "lmdb", "memory", "sqlite"}, peers.keys()
ran = [p for p in peers.values() if p["available"]]
assert peers["tokenstore"]["available"] and peers["memory"]["available"]
if sys.argv[2] == "yes":
    assert peers["lmdb"]["available"], peers["lmdb"]["note"]
for p in ran:
    assert [ph["phase"] for ph in p["phases"]] == ["register", "change_user", "bounce", "get"], p["peer"]
    assert p["liveTokens"] == ran[0]["liveTokens"], (p["peer"], p["liveTokens"])
    for ph, first in zip(p["phases"], ran[0]["phases"]):
        assert ph["outcomes"] == first["outcomes"], (p["peer"], ph["phase"])
        assert ph["latency"]["samples"] == ph["ops"], (p["peer"], ph["phase"])
rows = [g["row"] for g in report["goals"]]
assert len(rows) == 12, rows
# The heavy user's section ran (2,000 tokens under --quick) and its row carries a value.
heavy = report["heavyUser"]
assert heavy["tokens"] > 0 and len(heavy["rows"]) == 3, heavy
assert all(r["heavyOpsPerSecond"] > 0 and r["ordinaryOpsPerSecond"] > 0 for r in heavy["rows"]), heavy
assert [g["value"] is not None for g in report["goals"] if g["row"].startswith("a user with")] == [True], rows
# Issue 16's section ran on the TokenStore peer's store: both ways streamed the same tokens
# (the benchmark fails otherwise), and the goal rows carry its figures.
campaign = report["peers"]["campaign"]
assert [c["tokens"] > 0 and c["users"] > 0 for c in campaign["campaigns"]] == [True, True], campaign["campaigns"]
assert campaign["getMany"]["keys"] > 0 and 0 < campaign["getMany"]["found"] <= campaign["getMany"]["keys"]
assert all(g["value"] is not None for g in report["goals"] if "campaign" in g["row"] or "get_many" in g["row"])
print("bench-peers: %d peers agree on %d live tokens; the campaign section streamed %d tokens"
      % (len(ran), ran[0]["liveTokens"], sum(c["tokens"] for c in campaign["campaigns"])))
PY

"$bench" --quick --no-baseline --peers tokenstore,lmdb --lmdb-library liblmdb-absent.so.0 >"$scratch/out" 2>"$scratch/err" || {
    cat "$scratch/err" >&2
    exit 1
}
grep -q "apt-get install liblmdb0" "$scratch/out" || { echo "bench-peers: no install hint for a missing LMDB" >&2; exit 1; }
echo "bench-peers: a missing LMDB is reported with its install hint and the run goes on"
