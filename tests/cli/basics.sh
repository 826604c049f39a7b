#!/usr/bin/env bash
# The command line itself: help, version, bad options and their exit codes.
. "$(dirname "$0")/lib.sh"

run "$STPM" --help
expect_rc 0 "--help exits 0"
contains "$OUT" "usage: stpm" "--help prints the usage line"

run "$STPM" --version
expect_rc 0 "--version exits 0"
contains "$OUT" "stpm 0." "--version prints the version"

run "$STPM"
expect_rc 2 "no command is a usage error"

run "$STPM" --no-such-option
expect_rc 2 "an unknown global option exits 2"
contains "$ERR" "unknown option --no-such-option" "the unknown option is named"

run "$STPM" frobnicate
expect_rc 2 "an unknown command exits 2"
contains "$ERR" 'unknown command "frobnicate"' "the unknown command is named"

run "$STPM" --format yaml --help
expect_rc 2 "an unknown format exits 2"

run "$STPM" --today 2021-02-30 --help
expect_rc 2 "an impossible --today exits 2"

STPM_TODAY=yesterday run "$STPM" --help
expect_rc 2 "an invalid STPM_TODAY exits 2"

done_testing
