#!/usr/bin/env bash
# Issue 10: the embedded home is safe whatever directory it is in. A second local user
# (nobody, through setpriv) attempts each takeover; stpm refuses with exit 1, saying why
# and what to do, and creates nothing where the other user pointed:
#   - a home in a directory anyone may write, not sticky; a home made by the other user in
#     a sticky one; a home writable by others;
#   - a symbolic link planted as the home's cluster.lock;
#   - the cluster link pointing at the other user's directory;
#   - the socket directory replaced (by the other user's directory, a link, a wider mode),
#     the socket replaced by the other user's socket, the server log made a link;
#   - run as the other user, a home of root's and a cluster link instead of a directory.
# What needs a second user or root is skipped (TAP SKIP) when not run as root.
. "$(dirname "$0")/lib.sh"
keep_going

export STPM_EMBEDDED_NOSYNC=1
unset STPM_DB PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE STPM_HOME
chmod 755 "$TMP"
root=false
[ "$(id -u)" -eq 0 ] && root=true
H="$TMP/home"
EVIL=
cleanup() {
    "$STPM" --home "$H" db stop >/dev/null 2>&1 || true
    if [ -L "$H/cluster" ]; then rm -rf "$(readlink -f "$H/cluster")"; fi
    if [ -n "$EVIL" ]; then rm -rf "$EVIL"; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# as_nobody CMD...: CMD as the second user
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# refused NAME WHAT: the last command exited 1 and its message says WHAT
refused() {
    expect_rc 1 "$1: exit 1"
    contains "$ERR" "is not safe to use: $2" "$1: the message says why"
    contains "$ERR" "HINT:" "$1: and what to do"
}

# ---- directories above the home, the home itself (any user) ----
mkdir -m 777 "$TMP/open"
chmod 777 "$TMP/open" # whatever the umask
run "$STPM" --home "$TMP/open/h" db init
refused "a home in a world-writable directory without the sticky bit" "the directory $TMP/open above $TMP/open/h is writable by everyone (mode 0777) and not sticky"
if [ ! -e "$TMP/open/h" ]; then pass "nothing was created there"; else fail "nothing was created there" "$(ls -la "$TMP/open")"; fi
run "$STPM" --home "$TMP/open/h" db status
expect_rc 1 "db status refuses it too"
run "$STPM" --home "$TMP/open/h" project list
expect_rc 1 "and so does any command on the embedded database"

mkdir -m 700 "$TMP/wide"
chmod 777 "$TMP/wide"
run "$STPM" --home "$TMP/wide" db status
refused "a home writable by others" "the home is writable by everyone (mode 0777)"
chmod 770 "$TMP/wide"
run "$STPM" --home "$TMP/wide" db status
refused "a home writable by its group" "the home is writable by its group (mode 0770)"

mkdir -m 1777 "$TMP/sticky"
chmod 1777 "$TMP/sticky"
run "$STPM" --home "$TMP/sticky/mine" db status
expect_rc 8 "a home of one's own in a sticky directory is fine (status: not running)"

if ! $root; then
    skip "takeovers by a second user" "not root"
    done_testing
    exit $?
fi
if ! id nobody >/dev/null 2>&1 || ! getent group nogroup >/dev/null; then
    fail "the second user nobody:nogroup exists"
    done_testing
    exit 1
fi

# the other user makes the home first, in the sticky directory
as_nobody mkdir -m 700 "$TMP/sticky/theirs"
run "$STPM" --home "$TMP/sticky/theirs" db init
refused "a home made by another user" "the home belongs to nobody, not root"

# the other user plants cluster.lock in a home that was writable by others
mkdir -m 777 "$TMP/planted"
chmod 777 "$TMP/planted"
as_nobody ln -s "$TMP/victim" "$TMP/planted/cluster.lock"
run "$STPM" --home "$TMP/planted" db init
refused "a home writable by others, with a planted lock link" "the home is writable by everyone"
chmod 700 "$TMP/planted" # the mode is fixed, the link stays
run "$STPM" --home "$TMP/planted" db init
refused "a symbolic link as the cluster lock" "the lock file $TMP/planted/cluster.lock is a symbolic link of nobody"
if [ ! -e "$TMP/victim" ]; then pass "root created nothing where the lock link points"; else fail "root created nothing where the lock link points"; fi
rm -f "$TMP/planted/cluster.lock"
ln -s "$TMP/victim" "$TMP/planted/cluster.lock" # a link of root's own, planted otherwise
run "$STPM" --home "$TMP/planted" db status
refused "a symbolic link as the cluster lock, even root's" "the lock file $TMP/planted/cluster.lock is a symbolic link"
if [ ! -e "$TMP/victim" ]; then pass "the lock is never opened through a link"; else fail "the lock is never opened through a link"; fi

# ---- a real cluster, then each part of it taken over ----
run "$STPM" --home "$H" db init
expect_rc 0 "setup: db init of a home of root's"
C=$(readlink -f "$H/cluster")
EVIL=$(as_nobody mktemp -d /tmp/stpm-evil.XXXXXX)
as_nobody mkdir -m 700 "$EVIL/cluster"

mv "$H/cluster" "$H/cluster.real"
ln -s "$EVIL/cluster" "$H/cluster"
run "$STPM" --home "$H" db status
refused "the cluster link pointing at another user's directory" "the directory $EVIL above $EVIL/cluster belongs to nobody"
run "$STPM" --home "$H" project list
expect_rc 1 "a command does not connect through another user's cluster"
rm "$H/cluster"
mv "$H/cluster.real" "$H/cluster"
run "$STPM" --home "$H" db status
expect_rc 0 "the restored link is fine again"

run "$STPM" --home "$H" db stop
expect_rc 0 "setup: db stop"
mv "$C/run" "$C/run.real"
mkdir -m 700 "$C/run"
chown nobody:nogroup "$C/run"
run "$STPM" --home "$H" db start
refused "a socket directory of another user's" "the socket directory $C/run belongs to nobody, not postgres"
rm -rf "$C/run"
ln -s "$EVIL" "$C/run"
run "$STPM" --home "$H" db start
refused "a socket directory replaced by a link" "the socket directory $C/run is a symbolic link"
rm "$C/run"
mv "$C/run.real" "$C/run"
chmod 755 "$C/run"
run "$STPM" --home "$H" db start
refused "a socket directory that others may enter" "the socket directory $C/run has mode 0755 (it must be 0700)"
chmod 700 "$C/run"

# a socket of the other user's in the socket directory
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$C/run/.s.PGSQL.5432"
chown -h nobody:nogroup "$C/run/.s.PGSQL.5432"
run "$STPM" --home "$H" db status
refused "a socket of another user's" "the socket $C/run/.s.PGSQL.5432 is a file of nobody"
rm -f "$C/run/.s.PGSQL.5432"

# the server log made a link to a file only root may read
echo "root's secret" >"$TMP/secret"
chmod 600 "$TMP/secret"
mv "$C/server.log" "$C/server.log.real"
runuser -u postgres -- ln -s "$TMP/secret" "$C/server.log"
run "$STPM" --home "$H" db start
refused "the server log as a link" "the server log $C/server.log is a symbolic link"
if [[ "$ERR" != *"root's secret"* ]]; then pass "nothing of the link's target is shown"; else fail "nothing of the link's target is shown" "$ERR"; fi
rm "$C/server.log"
mv "$C/server.log.real" "$C/server.log"

run "$STPM" --home "$H" db start
expect_rc 0 "with everything restored, db start works"
run "$STPM" --home "$H" db status
expect_rc 0 "and db status"

# ---- run as the other user ----
mkdir -m 755 "$TMP/roots"
run as_nobody "$STPM" --home "$TMP/roots" db status
refused "as another user, a home of root's" "the home belongs to root, not nobody"
as_nobody mkdir -m 700 "$EVIL/own" "$EVIL/elsewhere"
as_nobody ln -s "$EVIL/elsewhere" "$EVIL/own/cluster"
run as_nobody "$STPM" --home "$EVIL/own" db status
refused "as an ordinary user, a cluster link instead of a directory" "$EVIL/own/cluster is a symbolic link"

done_testing
