#!/bin/sh
# A tool started with descriptor 0, 1 or 2 closed keeps that number away
# from the files it opens.  The records of a closed standard output never
# land in the --rejects file or pa-forecast's lock file.  A closed standard
# input reads as empty, and messages to a closed standard error never land
# in the rejects file.
. "$PA_ROOT/tests/integration/lib.sh"

sample_chain "$T_TMP"
printf 'not a record\n' >"$T_TMP/bad"

for tool in pa-ingest pa-score pa-forecast pa-plan pa-apply pa-route pa-backtest; do
	rj=$T_TMP/$tool.rejects
	# shellcheck disable=SC2046 # tool_input prints options and a path, split on purpose
	"$tool" --rejects "$rj" $(tool_input "$tool" "$T_TMP") >&- 2>"$T_TMP/err"
	status=$?
	check "$tool stdout closed: exit status 3" test "$status" -eq 3
	check "$tool stdout closed: write error named" \
		grep -q "write to standard output failed" "$T_TMP/err"
	check "$tool stdout closed: rejects file empty" test ! -s "$rj"

	"$tool" --rejects "$rj" <&- >/dev/null 2>"$T_TMP/err"
	status=$?
	check "$tool stdin closed: read as empty" test "$status" -ne 3
	check "$tool stdin closed: no read error" sh -c '! grep -q "read failed" "$1"' sh "$T_TMP/err"
	check "$tool stdin closed: rejects file empty" test ! -s "$rj"

	"$tool" --rejects "$rj" "$T_TMP/bad" >/dev/null 2>&-
	check "$tool stderr closed: rejects file contains the line only" \
		sh -c 'test "$(cat "$1")" = "not a record"' sh "$rj"
done

# pa-forecast's lock file is opened before any output is written.
pa-forecast --horizon 3 --state "$T_TMP/state.json" "$T_TMP/buckets" >&- 2>/dev/null
status=$?
check "pa-forecast state, stdout closed: exit status 3" test "$status" -eq 3
check "pa-forecast state, stdout closed: lock file empty" test ! -s "$T_TMP/state.json.lock"
check "pa-forecast state, stdout closed: state not saved" test ! -e "$T_TMP/state.json"
finish
