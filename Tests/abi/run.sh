#!/bin/sh
# Builds the release libtokenstore.so and runs the C ABI tests against it:
#   header compiles as C99 (-pedantic) and C++; symbol/SONAME/dependency check; the C
#   functional and bad-input tests; a multi-threaded test; a C++ program; the Python package's
#   pytest suite, installed with pip into a venv; and an install into a scratch prefix without
#   swift on the path, linked through its pkg-config file, whose CLI then runs with no Swift
#   toolchain in reach.
#
# Usage: Tests/abi/run.sh            (from anywhere)
# Environment:
#   CC, CXX, PYTHON      compilers and interpreter (default cc, c++, python3)
#   TOKENSTORE_LIB       test this prebuilt libtokenstore.so instead of building one
#   TOKENSTORE_CLI       install this prebuilt tokenstore CLI instead of building one
#   ABI_SANITIZE=1       also run test_abi under AddressSanitizer (checks the bounded string reads)
#   ABI_BENCH=1          also time ts_get and ts_user_tokens (bench_get.c)
#   ABI_THREADS, ABI_ITERATIONS   size of the threaded test (default 8 threads, 2000 iterations)
# Needs: swift (unless TOKENSTORE_LIB and TOKENSTORE_CLI), a C/C++ compiler, make, python3,
# python3-venv and pytest (Debian: python3-venv, python3-pytest), mypy if present
# (python3-mypy), binutils (nm, readelf, strip), help2man.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/Tests/abi"
CC=${CC:-cc}
CXX=${CXX:-c++}
PYTHON=${PYTHON:-python3}
out="$root/.build/abi"
failures=0

step() { printf '\n==> %s\n' "$*"; }
run() {
    printf '+ %s\n' "$*"
    if "$@"; then :; else
        printf 'FAILED (exit %s): %s\n' "$?" "$*"
        failures=$((failures + 1))
    fi
}

rm -rf "$out"
mkdir -p "$out/lib" "$out/scratch"
scratch=$(mktemp -d "$out/scratch/run.XXXXXX")

if [ -n "${TOKENSTORE_LIB:-}" ]; then
    lib=$TOKENSTORE_LIB
    step "testing prebuilt $lib"
else
    step "building the release library"
    (set -x && make -C "$root" --no-print-directory lib)
    lib="$root/.build/lib/libtokenstore.so"
fi
[ -f "$lib" ] || { echo "no library at $lib"; exit 1; }

# The tests load the library through its SONAME, as an installed copy would be.
major=$(sed -n 's/^#define TS_VERSION_MAJOR \([0-9]*\).*/\1/p' "$root/include/tokenstore.h")
cp "$lib" "$out/lib/libtokenstore.so.$major"
ln -sf "libtokenstore.so.$major" "$out/lib/libtokenstore.so"
link="-I$root/include -L$out/lib -Wl,-rpath,$out/lib -ltokenstore"
cwarn="-Wall -Wextra -Werror"

step "header compiles as C and C++"
run $CC -std=c99 $cwarn -pedantic -fsyntax-only -x c "$root/include/tokenstore.h"
run $CC -std=c11 $cwarn -pedantic -Wconversion -fsyntax-only -x c "$root/include/tokenstore.h"
run $CXX -std=c++11 $cwarn -pedantic -fsyntax-only -x c++ "$root/include/tokenstore.h"
run $CXX -std=c++17 $cwarn -pedantic -fsyntax-only -x c++ "$root/include/tokenstore.h"

step "exported symbols, SONAME and dependencies"
run "$PYTHON" "$here/check_symbols.py" "$root/include/tokenstore.h" "$out/lib/libtokenstore.so.$major"

step "C tests"
run $CC -std=c99 $cwarn -pedantic -O1 -g -o "$out/test_abi" "$here/test_abi.c" $link
run "$out/test_abi" "$scratch"
run $CC -std=c99 $cwarn -pedantic -O1 -g -pthread -o "$out/test_threads" "$here/test_threads.c" $link
run "$out/test_threads" "$scratch" "${ABI_THREADS:-8}" "${ABI_ITERATIONS:-2000}"
if [ "${ABI_SANITIZE:-0}" = 1 ]; then
    run $CC -std=c99 $cwarn -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
        -o "$out/test_abi_asan" "$here/test_abi.c" $link
    mkdir -p "$scratch/asan"
    run env ASAN_OPTIONS=detect_leaks=0 "$out/test_abi_asan" "$scratch/asan"
fi

if [ "${ABI_BENCH:-0}" = 1 ]; then
    step "hot-path timing (ts_get, ts_user_tokens)"
    run $CC -std=c99 $cwarn -pedantic -O2 -o "$out/bench_get" "$here/bench_get.c" $link
    mkdir -p "$scratch/bench"
    run "$out/bench_get" "$scratch/bench"
fi

step "C++ test"
run $CXX -std=c++11 $cwarn -pedantic -o "$out/test_cxx" "$here/test_cxx.cpp" $link
run "$out/test_cxx" "$scratch"

step "Python package (bindings/python): pip install into a venv, then its pytest suite"
# The venv sees the system's site-packages for pytest (Debian's python3-pytest); the package
# itself comes only from the source directory: its build backend is in the tree (--no-index).
venv="$out/venv"
run "$PYTHON" -m venv --system-site-packages "$venv"
run "$venv/bin/python" -m pip install --quiet --no-index "$root/bindings/python"
# From a directory outside the source tree, so that the tests import the installed package.
run sh -c 'cd "$1" && TOKENSTORE_LIBRARY="$2" PYTHONDONTWRITEBYTECODE=1 "$3" -m pytest -q -p no:cacheprovider \
    --basetemp="$1/pytest" "$4"' sh "$scratch" "$out/lib/libtokenstore.so.$major" "$venv/bin/python" \
    "$root/bindings/python/tests"
# The package's annotations are checked, strictly, where mypy is installed (.ci/run installs
# Debian's python3-mypy).
if "$venv/bin/python" -c 'import mypy' 2>/dev/null; then
    run "$venv/bin/python" -m mypy --strict --cache-dir=/dev/null "$root/bindings/python/src/tokenstore"
else
    echo "mypy is not installed (Debian: python3-mypy): the type check is skipped"
fi

step "make install into a scratch prefix, then build against it"
# The CLI and its man pages are built first, as `make` would; the install then runs as
# `sudo make install` would, with a bare PATH and no swift (SWIFT=false fails any build).
if [ -z "${TOKENSTORE_CLI:-}" ]; then
    (set -x && make -C "$root" --no-print-directory cli man TOKENSTORE_LIB="$lib")
else
    (set -x && make -C "$root" --no-print-directory man TOKENSTORE_LIB="$lib")
fi
prefix="$out/prefix"
run env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin make -C "$root" --no-print-directory install SWIFT=false \
    PREFIX="$prefix" TOKENSTORE_LIB="$lib" ${TOKENSTORE_CLI:+TOKENSTORE_CLI="$TOKENSTORE_CLI"}
run test -L "$prefix/lib/libtokenstore.so" -a -L "$prefix/lib/libtokenstore.so.$major"
run test -f "$prefix/include/tokenstore.h" -a -f "$prefix/lib/pkgconfig/tokenstore.pc"
run grep -qx 'License: MIT' "$prefix/lib/pkgconfig/tokenstore.pc"
for page in tokenstore tokenstore-stat tokenstore-load tokenstore-dump tokenstore-campaign; do
    run grep -q '^\.SH NAME' "$prefix/share/man/man1/$page.1"
done
# The installed library is stripped and still exports exactly the header's functions.
run "$PYTHON" "$here/check_symbols.py" --stripped "$root/include/tokenstore.h" "$prefix/lib/libtokenstore.so.$major"
if command -v pkg-config >/dev/null 2>&1; then
    flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs tokenstore)
else
    # Without pkg-config, read the same fields it would.
    pcprefix=$(sed -n 's/^prefix=//p' "$prefix/lib/pkgconfig/tokenstore.pc")
    flags="-I$pcprefix/include -L$pcprefix/lib -ltokenstore"
fi
printf 'pkg-config flags: %s\n' "$flags"
run $CXX -std=c++11 $cwarn -o "$out/test_cxx_installed" "$here/test_cxx.cpp" $flags -Wl,-rpath,"$prefix/lib"
mkdir -p "$scratch/installed"
run "$out/test_cxx_installed" "$scratch/installed"

step "a staged install into a system prefix says to run ldconfig; uninstall removes every file"
stage="$out/stage"
run sh -c 'make -C "$1" --no-print-directory install SWIFT=false DESTDIR="$2" PREFIX=/usr TOKENSTORE_LIB="$3" \
    ${4:+TOKENSTORE_CLI="$4"} > "$2.log" && grep -q "on the loader.s path: run .ldconfig." "$2.log"' \
    sh "$root" "$stage" "$lib" "${TOKENSTORE_CLI:-}"
run test -L "$stage/usr/lib/libtokenstore.so.$major" -a -x "$stage/usr/bin/tokenstore"
run grep -qx "prefix=/usr" "$stage/usr/lib/pkgconfig/tokenstore.pc"
run make -C "$root" --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr
run sh -c 'test -z "$(find "$1" ! -type d)"' sh "$stage"

step "the installed CLI runs with no Swift toolchain on the path"
run "$PYTHON" "$here/check_cli.py" "$prefix/bin/tokenstore" "$scratch/cli"

rm -rf "$out/scratch"
echo
if [ "$failures" -ne 0 ]; then
    echo "ABI tests: $failures step(s) FAILED"
    exit 1
fi
echo "ABI tests: all passed"
