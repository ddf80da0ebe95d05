#!/bin/sh
# Crash torture for long runs (issue 7): runs the SIGKILL campaigns of CrashTortureTests
# with N kills in all (split over the four campaigns), then prints
#   kills, lost, inconsistencies
# as one line of totals. Exit status 0 only when nothing was lost and nothing disagreed.
#
#   Tests/scripts/torture.sh 5000                       # overnight
#   TOKENSTORE_RELIABILITY_SEED=123 Tests/scripts/torture.sh 200   # replay a seed
#   TOKENSTORE_TORTURE_CAMPAIGN=always-2-shards Tests/scripts/torture.sh 500   # one campaign
# On failure the full log is kept and its path printed.
set -eu
kills=${1:-400}
cd "$(dirname "$0")/../.."
swift build --build-tests >&2
log=$(mktemp /tmp/torture-XXXXXX.log)
# A private copy of the writer: a rebuild in the shared .build during a long run must not
# swap engine versions between rounds.
writer=$(mktemp /tmp/tokenstore-torture-writer-XXXXXX)
trap 'rm -f "$writer"' EXIT
cp "$(swift build --show-bin-path)/tokenstore-torture-writer" "$writer"
chmod 700 "$writer"
status=0
TOKENSTORE_TORTURE_WRITER=$writer TOKENSTORE_TORTURE_KILLS=$kills swift test --skip-build --filter CrashTortureTests >"$log" 2>&1 || status=$?
grep -E '^TORTURE ' "$log" >&2 || true
awk '/^TORTURE / {
    for (i = 1; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == "kills") k += kv[2]
        if (kv[1] == "lost") l += kv[2]
        if (kv[1] == "inconsistencies") c += kv[2]
    }
}
END { printf "kills, lost, inconsistencies: %d, %d, %d\n", k, l, c }' "$log"
if [ "$status" -ne 0 ]; then
    grep -E 'recorded|↳' "$log" | grep -v '///' | head -40 >&2 || true
    echo "full log: $log" >&2
else
    rm -f "$log"
fi
exit "$status"
