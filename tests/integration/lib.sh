# Helpers for integration scripts: source with . "$PA_ROOT/tests/integration/lib.sh".
#
# check NAME COMMAND...   run COMMAND; print "ok NAME" or "FAIL NAME" and,
#                         on failure, what COMMAND wrote to stdout
# need_shared NAME        return 1 (after skip, or FAIL under CI=true) when
#                         the shared data folder is missing
# free_port               print a free TCP port on 127.0.0.1
# finish                  exit 1 when any check failed

t_failed=0
T_TMP=$(mktemp -d)
trap 'rm -rf "$T_TMP"' EXIT

check() {
	name=$1
	shift
	if "$@" >"$T_TMP/.check.out"; then
		echo "ok $name"
	else
		echo "FAIL $name"
		sed 's/^/  output: /' "$T_TMP/.check.out" | head -20
		t_failed=1
	fi
}

need_shared() {
	[ -d "$SHARED/data" ] && return 0
	if [ "${CI:-}" = true ]; then
		echo "FAIL $1 (shared data missing at $SHARED)"
		t_failed=1
	else
		echo "skip $1: shared data missing at $SHARED"
	fi
	return 1
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

finish() {
	exit $t_failed
}
