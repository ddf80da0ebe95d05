#!/bin/sh
# Sanitizers (issue 7): the whole Swift test suite under ThreadSanitizer, then under
# AddressSanitizer, each followed by Tests/Fuzz/Stress/ThreadStress.swift, a multi-threaded
# C ABI workload (the suite itself is mostly single-threaded). Each sanitizer builds into its
# own scratch directory (.build-thread, .build-address), so the normal .build is left alone.
# Reports are collected rather than stopping at the first, and each run ends with one line:
#   sanitizer thread: tests passed|FAILED, stress passed|FAILED, N reports
# Exit status 0 only when every run passed with no report.
#
#   Tests/scripts/sanitizers.sh                    # thread, then address
#   Tests/scripts/sanitizers.sh address            # one sanitizer
#   Tests/scripts/sanitizers.sh thread ConcurrencyTests   # with a swift test --filter
#   TOKENSTORE_TORTURE_KILLS=8 Tests/scripts/sanitizers.sh   # fewer kills: faster
#   STRESS_SECONDS=300 STRESS_THREADS=8 Tests/scripts/sanitizers.sh thread
#
# Full logs: .build-<sanitizer>/sanitizer.log.
set -eu
cd "$(dirname "$0")/../.."
sanitizers=${1:-thread address}
filter=${2:-}

# Swift's crash reporter would add minutes per crashed child; the sanitizers report instead.
export SWIFT_BACKTRACE=enable=no
# The deadlock detector is off: it aborts (CHECK n_all_locks_ < 64) when a checkpoint holds
# all 64 stripe locks at once, which is by design.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:detect_deadlocks=0:history_size=4}
# Leak checking is off: stores deliberately left open by crash tests would drown real reports.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=0:detect_leaks=0:detect_stack_use_after_return=1}
# Child processes the tests spawn inherit these; keep the crash torture short by default.
export TOKENSTORE_TORTURE_KILLS=${TOKENSTORE_TORTURE_KILLS:-16}

# Builds the stress program for sanitizer $1 into $2 from the package's module sources.
build_stress() {
    # -I include: the header module CTokenStoreHeader (include/module.modulemap).
    flags="-swift-version 6 -Onone -gline-tables-only -wmo -parse-as-library -package-name tokenstore -sanitize=$1 -I $root/include"
    mkdir -p "$2"
    set -- "$1" "$(cd "$2" && pwd)"
    # shellcheck disable=SC2086
    swiftc $flags -enable-testing -module-name TokenStore -emit-module -emit-module-path "$2/TokenStore.swiftmodule" \
        -c $(find Sources/TokenStore -name '*.swift' | sort) -o "$2/TokenStore.o" &&
    # shellcheck disable=SC2086
    swiftc $flags -module-name CTokenStore -I "$2" -emit-module -emit-module-path "$2/CTokenStore.swiftmodule" \
        -c Sources/CTokenStore/*.swift -o "$2/CTokenStore.o" &&
    (cd "$2" && swiftc $flags -module-name ThreadStress -I "$2" "$root/Tests/Fuzz/Stress/ThreadStress.swift" \
        "$2/TokenStore.o" "$2/CTokenStore.o" -o "$2/thread-stress")
}

root=$(pwd)
status=0
for sanitizer in $sanitizers; do
    scratch=.build-$sanitizer
    log=$scratch/sanitizer.log
    mkdir -p "$scratch"
    echo "sanitizers.sh: building with --sanitize=$sanitizer into $scratch" >&2
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" >"$scratch/build.log" 2>&1 || {
        tail -30 "$scratch/build.log" >&2
        echo "sanitizer $sanitizer: BUILD FAILED"
        status=1
        continue
    }
    tests=passed
    set -- --skip-build --sanitize="$sanitizer" --scratch-path "$scratch"
    [ -n "$filter" ] && set -- "$@" --filter "$filter"
    swift test "$@" >"$log" 2>&1 || tests=FAILED
    stress=passed
    if [ -z "$filter" ]; then
        echo "sanitizers.sh: thread-stress under $sanitizer" >&2
        if build_stress "$sanitizer" "$scratch/stress" >"$scratch/stress-build.log" 2>&1; then
            "$scratch/stress/thread-stress" "${STRESS_SECONDS:-30}" "${STRESS_THREADS:-6}" >>"$log" 2>&1 || stress=FAILED
            grep '^thread-stress' "$log" >&2 || true
        else
            tail -20 "$scratch/stress-build.log" >&2
            stress="FAILED (build)"
        fi
    fi
    case $sanitizer in
    thread) pattern='WARNING: ThreadSanitizer' ;;
    address) pattern='ERROR: AddressSanitizer|ERROR: LeakSanitizer' ;;
    *) pattern="ERROR: .*Sanitizer" ;;
    esac
    reports=$(grep -cE "$pattern" "$log" || true)
    if [ "$reports" -gt 0 ]; then
        # One line per distinct report: its kind and the first frame in this package.
        grep -nE "$pattern|SUMMARY:" "$log" | grep SUMMARY | sort | uniq -c | sort -rn | head -20 >&2
    fi
    [ "$tests" = passed ] || grep -E '✘|error:|failed' "$log" | head -20 >&2
    echo "sanitizer $sanitizer: tests $tests, stress $stress, $reports reports (log $log)"
    if [ "$tests" != passed ] || [ "$stress" != passed ] || [ "$reports" -gt 0 ]; then status=1; fi
done
exit $status
