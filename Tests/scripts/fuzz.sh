#!/bin/sh
# Fuzzing (issue 7). Builds the three libFuzzer harnesses of Tests/Fuzz with the toolchain's
# `swiftc -sanitize=fuzzer,address`, replays every saved regression input, then fuzzes each
# harness for SECONDS (default 60). New crashers land in Tests/Fuzz/crashers/<harness>/; the
# exit status is non-zero when a regression or a fuzz run crashed.
#
#   Tests/scripts/fuzz.sh                    # CI: regressions, then 60 s per harness
#   Tests/scripts/fuzz.sh 3600               # a long run: an hour per harness
#   FUZZ_HARNESSES=load Tests/scripts/fuzz.sh 600
#   Tests/scripts/fuzz.sh --replay           # regressions only
#   Tests/scripts/fuzz.sh --build            # build only
#   Tests/scripts/fuzz.sh --run cabi FILE    # one input, fresh store, verbose trace
#   Tests/scripts/fuzz.sh --triage cabi      # each saved crasher: its failure and first frame
#
# Harnesses: cabi (C ABI call sequences), storefiles (opening stores whose files are fuzzer
# bytes), load (NDJSON lines for `tokenstore load`). See Tests/Fuzz/README.md.
#
# Environment: FUZZ_HARNESSES (default "cabi storefiles load"), FUZZ_BUILD_DIR (default
# .build/fuzz), FUZZ_ARGS (extra libFuzzer flags, e.g. "-jobs=2 -workers=2").
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
build=${FUZZ_BUILD_DIR:-$root/.build/fuzz}
harnesses=${FUZZ_HARNESSES:-cabi storefiles load}
mode=fuzz
seconds=60
case "${1:-}" in
--replay) mode=replay ;;
--build) mode=build ;;
--run) mode=run ;;
--triage) mode=triage ;;
'') ;;
*) seconds=$1 ;;
esac

# Swift's own crash reporter would wait on libFuzzer's pipes; libFuzzer reports instead.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:allocator_may_return_null=0}

# Optimised, but with assertions on: a failed bounds `assert` in the engine is a finding.
# The engine gets edge coverage without comparison tracing, which would make the log scan on
# every open (a whole segment, a byte at a time) ten times slower; the rest get libFuzzer's full set.
# One package name for every module, as SwiftPM gives them, so that `package` access links.
# -I include finds include/module.modulemap: the header module CTokenStoreHeader, which the C
# boundary and the C ABI harness import.
base="-swift-version 6 -O -assert-config Debug -g -parse-as-library -wmo -use-ld=lld -package-name tokenstore -I $root/include"
flags="$base -sanitize=fuzzer,address"
engine_flags="$base -sanitize=address -sanitize-coverage=edge,inline-8bit-counters,pc-table"
mkdir -p "$build/modules"
# Not compiled themselves, but every module and harness that imports them is stale after a change.
headers="include/tokenstore.h include/module.modulemap"

# Compiles module $1 from the sources listed after it, with extra flags in $extra, unless
# its object is newer than every source.
module() {
    name=$1
    shift
    object=$build/modules/$name.o
    stale=yes
    if [ -f "$object" ]; then
        stale=no
        for source in "$@" $headers; do
            if [ "$source" -nt "$object" ]; then stale=yes; break; fi
        done
    fi
    [ "$stale" = no ] && return 0
    echo "fuzz.sh: compiling $name" >&2
    # shellcheck disable=SC2086
    swiftc $module_flags $extra -module-name "$name" -I "$build/modules" \
        -emit-module -emit-module-path "$build/modules/$name.swiftmodule" -c "$@" -o "$object"
}

# Links harness $1 from Tests/Fuzz/Harnesses/<Dir>/ and Support/ with the objects after it.
harness() {
    name=$1
    dir=$2
    shift 2
    binary=$build/fuzz-$name
    sources=$(find "Tests/Fuzz/Harnesses/$dir" Tests/Fuzz/Harnesses/Support -name '*.swift' | sort)
    stale=no
    [ -f "$binary" ] || stale=yes
    objects=
    for m in "$@"; do objects="$objects $build/modules/$m.o"; done
    for f in $sources $objects $headers; do
        if [ "$f" -nt "$binary" ]; then stale=yes; break; fi
    done
    [ "$stale" = no ] && return 0
    echo "fuzz.sh: linking fuzz-$name" >&2
    sources=$(for f in $sources; do printf '%s ' "$root/$f"; done)
    # In the build directory: the driver leaves module files for the debugger where it runs.
    # shellcheck disable=SC2086
    (cd "$build" && swiftc $flags -module-name "Fuzz_$name" -I "$build/modules" $sources $objects -o "$binary")
}

build_all() {
    module_flags=$engine_flags
    extra="-enable-testing"
    module TokenStore $(find Sources/TokenStore -name '*.swift' | sort)
    module_flags=$flags
    extra=""
    module CTokenStore $(find Sources/CTokenStore -name '*.swift' | sort)
    extra="-enable-testing -enable-private-imports"
    module TokenStoreCLI $(find Sources/TokenStoreCLI -name '*.swift' | sort)
    for h in $harnesses; do
        case $h in
        cabi) harness cabi CABI TokenStore CTokenStore ;;
        storefiles) harness storefiles StoreFiles TokenStore ;;
        load) harness load Load TokenStore TokenStoreCLI ;;
        *) echo "fuzz.sh: unknown harness $h" >&2; exit 2 ;;
        esac
    done
}

# libFuzzer flags per harness: input size and dictionary.
options_for() {
    case $1 in
    cabi) echo "-max_len=4096" ;;
    storefiles) echo "-max_len=8192" ;;
    load) echo "-max_len=16384 -dict=$root/Tests/Fuzz/dictionaries/load.dict" ;;
    esac
}

build_all
[ "$mode" = build ] && exit 0

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tokenstore-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TOKENSTORE_FUZZ_TMP="$scratch"

if [ "$mode" = run ]; then
    TOKENSTORE_FUZZ_FRESH=1 TOKENSTORE_FUZZ_VERBOSE=1 "$build/fuzz-$2" -runs=1 "$3"
    exit $?
fi

if [ "$mode" = triage ]; then
    # One line per crasher: the file, what failed, and the first frame in the package's sources.
    for f in Tests/Fuzz/crashers/$2/*; do
        [ -f "$f" ] || continue
        out=$(TOKENSTORE_FUZZ_FRESH=1 "$build/fuzz-$2" -runs=1 "$f" 2>&1 || true)
        what=$(echo "$out" | grep -m1 -oE 'Fatal error: .*|FUZZ INVARIANT: .*|ERROR: AddressSanitizer: [a-z-]+|ERROR: libFuzzer: [a-z -]+' || echo "no crash on a fresh store")
        frame=$(echo "$out" | grep -m1 -oE '/Sources/[^ ]+:[0-9]+' || true)
        echo "$(basename "$f"): $what ${frame:+at $frame}"
    done
    exit 0
fi

status=0
# Regressions first: every saved crasher input, each in its own process on a fresh store.
for h in $harnesses; do
    dir=Tests/Fuzz/regressions/$h
    [ -d "$dir" ] || continue
    passed=0
    failed=0
    for f in $(find "$dir" -type f ! -name '*.md' ! -name '.*' | sort); do
        # shellcheck disable=SC2086
        if TOKENSTORE_FUZZ_FRESH=1 "$build/fuzz-$h" $(options_for "$h") -runs=1 "$f" >"$scratch/replay.log" 2>&1; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            what=$(grep -m1 -oE 'Fatal error: .*|FUZZ INVARIANT: .*|ERROR: AddressSanitizer: [a-z-]+|ERROR: libFuzzer: [a-z -]+' "$scratch/replay.log" || echo "exit status $?")
            echo "fuzz.sh: $h: regression $(basename "$f") fails: $what" >&2
        fi
    done
    echo "fuzz.sh: $h: $passed regression inputs pass, $failed fail"
    [ "$failed" -eq 0 ] || status=1
done
[ "$mode" = replay ] && exit $status

for h in $harnesses; do
    corpus=$build/corpus/$h
    crashers=Tests/Fuzz/crashers/$h
    mkdir -p "$corpus" "$crashers"
    log=$build/fuzz-$h.log
    # Seeds are optional: libFuzzer exits at once on a corpus directory that does not exist.
    seeds=""
    [ -d "Tests/Fuzz/seeds/$h" ] && seeds="Tests/Fuzz/seeds/$h"
    echo "fuzz.sh: fuzzing $h for $seconds s (log $log)"
    # shellcheck disable=SC2086
    if "$build/fuzz-$h" $(options_for "$h") -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashers/" ${FUZZ_ARGS:-} "$corpus" $seeds \
        >"$log" 2>&1; then
        :
    else
        echo "fuzz.sh: $h crashed; input saved under $crashers/:" >&2
        grep -E 'INVARIANT|ERROR|Fatal|SUMMARY|#[0-9]+ 0x|Test unit written' "$log" | head -30 >&2
        status=1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    echo "fuzz.sh: $h: ${execs:-?} executions, coverage ${cov:-?}, corpus $(ls "$corpus" | wc -l) inputs"
done
exit $status
