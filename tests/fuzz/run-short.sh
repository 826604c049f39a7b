#!/bin/sh
# Build the libFuzzer harnesses with clang, ASan and UBSan, and run each for a while.
#
#   tests/fuzz/run-short.sh [SECONDS]      (default 30 per fuzzer)
#
# The build goes to build-fuzz/. Each fuzzer starts from its seed corpus
# tests/fuzz/corpus/NAME/ and keeps what it finds in tests/fuzz/corpus-NAME/ (ignored by
# git). A crash leaves build-fuzz/crash-* and makes this script fail: turn the input into
# a regression test (tests/unit/test_*.c) before fixing it.
set -eu
secs=${1:-30}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C build-fuzz
status=0
for exe in build-fuzz/tests/fuzz/fuzz_*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    name=$(basename "$exe")
    short=${name#fuzz_}
    mkdir -p "tests/fuzz/corpus-$short"
    echo "== $name for ${secs}s"
    if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$exe" -max_total_time="$secs" -timeout=10 -max_len=4096 -print_final_stats=1 \
        -artifact_prefix=build-fuzz/ "tests/fuzz/corpus-$short" "tests/fuzz/corpus/$short"; then
        echo "!! $name failed: see build-fuzz/crash-* above" >&2
        status=1
    fi
done
exit $status
