#!/bin/sh
# --rejects naming a file that is also an input: every tool stops with a
# usage error before the file is emptied, whether the file is an operand or
# the standard input.  A rejects file of its own is still emptied by a run
# that rejects nothing.
. "$PA_ROOT/tests/integration/lib.sh"

printf 'not a record\n{"kind":"bucket","ts":"2026-01-01T00:00:00Z"}\n' >"$T_TMP/in"
cp "$T_TMP/in" "$T_TMP/in.orig"

for tool in pa-ingest pa-score pa-forecast pa-plan pa-apply pa-route pa-backtest; do
	set -- "$tool"
	"$@" --rejects "$T_TMP/in" "$T_TMP/in" >/dev/null 2>"$T_TMP/err"
	status=$?
	check "$tool-operand-usage-error" test "$status" -eq 2
	check "$tool-operand-named" grep -q "rejects file .*/in is also the input .*/in" "$T_TMP/err"
	check "$tool-operand-kept" cmp -s "$T_TMP/in" "$T_TMP/in.orig"

	"$@" --rejects "$T_TMP/in" <"$T_TMP/in" >/dev/null 2>"$T_TMP/err"
	status=$?
	check "$tool-stdin-usage-error" test "$status" -eq 2
	check "$tool-stdin-named" grep -q "is also the standard input" "$T_TMP/err"
	check "$tool-stdin-kept" cmp -s "$T_TMP/in" "$T_TMP/in.orig"
done

# The same file by another name is the same file.
ln "$T_TMP/in" "$T_TMP/link"
pa-ingest --rejects "$T_TMP/link" "$T_TMP/in" >/dev/null 2>&1
check hard-link-refused test $? -eq 2
check hard-link-kept cmp -s "$T_TMP/in" "$T_TMP/in.orig"

# An old rejects file is emptied by a run that rejects nothing, and gets
# the rejected line of a run that rejects one.
echo old >"$T_TMP/rejects"
printf '{"kind":"event","ts":"2026-01-01T00:00:00Z","event_type":"x","name":"y"}\n' |
	pa-ingest --rejects "$T_TMP/rejects" >/dev/null 2>&1
check old-rejects-emptied test ! -s "$T_TMP/rejects"
echo old >"$T_TMP/rejects"
pa-ingest --rejects "$T_TMP/rejects" "$T_TMP/in" >/dev/null 2>&1
check rejects-replaced sh -c 'grep -qx "not a record" "$1" && ! grep -q old "$1"' sh "$T_TMP/rejects"

# /dev/null as the rejects file is not a regular file, so reading it is no clash.
pa-ingest --rejects /dev/null /dev/null >/dev/null 2>&1
check dev-null-both test $? -eq 0
finish
