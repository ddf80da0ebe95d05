#!/bin/sh
# Corrupted-file campaigns for long runs (issue 7): runs CorruptionTests with SCALE times the
# default number of random truncations, bit flips and zeroed pages per file, for ROUNDS
# fresh seeds, and prints the outcome counts per file kind. Exit status 0 only when every
# case ended in a corrupt error naming a file or a correct recovery.
#
#   Tests/scripts/corruption.sh 10 20     # scale 10, 20 seeds
#   TOKENSTORE_RELIABILITY_SEED=123 Tests/scripts/corruption.sh 1 1   # replay a seed
set -eu
scale=${1:-4}
rounds=${2:-5}
cd "$(dirname "$0")/../.."
swift build --build-tests >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
i=0
while [ "$i" -lt "$rounds" ]; do
    TOKENSTORE_CORRUPTION_SCALE=$scale swift test --skip-build --filter 'CorruptionTests|HostileFileTests' >"$log" 2>&1 || status=1
    grep -E '^CORRUPTION ' "$log" || true
    if grep -qE 'recorded an issue' "$log"; then grep -E 'recorded an issue|↳' "$log" | head -20 >&2; fi
    i=$((i + 1))
done
exit "$status"
