#!/bin/sh
# An option that names an output file rejects an empty value, "-" and a
# value that begins with "-" (most often the next option, taken as the
# file name), creates no file, and writes no output.
. "$PA_ROOT/tests/integration/lib.sh"

sample_chain "$T_TMP"
cd "$T_TMP" || exit 1

# dash_rejected NAME OPTION TOOL ARGS...: TOOL ARGS with OPTION --max-bad 1,
# OPTION - and OPTION "" is a usage error that names OPTION.
dash_rejected() {
	label=$1
	opt=$2
	shift 2
	"$@" "$opt" --max-bad 1 >out 2>err
	status=$?
	check "$label: next option taken: exit status 2" test "$status" -eq 2
	check "$label: next option taken: message" \
		grep -q -- "$opt \"--max-bad\": the path begins with \"-\", so $opt probably lacks its argument" err
	check "$label: next option taken: no file made" test ! -e ./--max-bad
	check "$label: next option taken: no output" test ! -s out

	"$@" "$opt" - >out 2>err
	status=$?
	check "$label: dash: exit status 2" test "$status" -eq 2
	check "$label: dash: message" grep -q -- "$opt \"-\": give a file name" err
	check "$label: dash: no file made" test ! -e ./-

	"$@" "$opt" "" >out 2>err
	status=$?
	check "$label: empty: exit status 2" test "$status" -eq 2
	check "$label: empty: message" grep -q -- "$opt needs a file name" err
}

for tool in pa-ingest pa-score pa-forecast pa-plan pa-apply pa-route pa-backtest; do
	# shellcheck disable=SC2046 # tool_input prints options and a path, split on purpose
	dash_rejected "$tool --rejects" --rejects "$tool" $(tool_input "$tool" .)
done
dash_rejected "pa-forecast --state" --state pa-forecast --horizon 3 buckets
dash_rejected "pa-route --output" --output pa-route --capacity 5 usage-forecasts
dash_rejected "pa-route --state" --state pa-route --capacity 5 usage-forecasts
dash_rejected "pa-apply --journal" --journal pa-apply --execute --kubectl ./no-kubectl plans
dash_rejected "pa-score --fit" --fit pa-score requests
dash_rejected "pa-backtest --svg" --svg pa-backtest --capacity 5 --lead-time 1h buckets

# -o is --output under its short name.
pa-route -o --state x usage-forecasts >out 2>err
check "pa-route -o: next option taken: exit status 2" test $? -eq 2
check "pa-route -o: next option taken: no file made" test ! -e ./--state

# A file whose name begins with "-" is still reachable as ./-name.
pa-score --rejects ./-r requests >/dev/null 2>err
check "rejects ./-r: accepted" test $? -eq 0
check "rejects ./-r: file made" test -e ./-r
finish
