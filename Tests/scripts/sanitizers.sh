#!/bin/sh
# Sanitizers (issue 7): the whole Swift test suite under ThreadSanitizer, then under
# AddressSanitizer. Each sanitizer builds into its own scratch directory (.build-thread,
# .build-address), so the normal .build is left alone. Reports are collected rather than
# stopping at the first, and each run ends with one line:
#   sanitizer thread: tests passed|FAILED, N reports
# Exit status 0 only when every run passed with no report.
#
#   Tests/scripts/sanitizers.sh                    # thread, then address
#   Tests/scripts/sanitizers.sh address            # one sanitizer
#   Tests/scripts/sanitizers.sh thread ConcurrencyTests   # with a swift test --filter
#   TOKENSTORE_TORTURE_KILLS=8 Tests/scripts/sanitizers.sh   # fewer kills: faster
#
# Full logs: .build-<sanitizer>/sanitizer.log.
set -eu
cd "$(dirname "$0")/../.."
sanitizers=${1:-thread address}
filter=${2:-}

# Swift's crash reporter would add minutes per crashed child; the sanitizers report instead.
export SWIFT_BACKTRACE=enable=no
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:history_size=4}
# Leak checking is off: stores deliberately left open by crash tests would drown real reports.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=0:detect_leaks=0:detect_stack_use_after_return=1}
# Child processes the tests spawn inherit these; keep the crash torture short by default.
export TOKENSTORE_TORTURE_KILLS=${TOKENSTORE_TORTURE_KILLS:-16}

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
    echo "sanitizer $sanitizer: tests $tests, $reports reports (log $log)"
    if [ "$tests" != passed ] || [ "$reports" -gt 0 ]; then status=1; fi
done
exit $status
