#!/bin/sh
# A tool that reads records, but none of the kind it consumes, reports it once
# on stderr and names the tool that makes them, as when a stage of the
# pipeline is missing.  The exit status stays what it was, and empty input
# or input that is all rejected gets no such message.
. "$PA_ROOT/tests/integration/lib.sh"

sample_chain "$T_TMP"
cd "$T_TMP" || exit 1

# missing NAME STATUS MESSAGE TOOL ARGS...: TOOL ARGS exits STATUS and
# prints MESSAGE on stderr once.
missing() {
	label=$1
	want=$2
	message=$3
	shift 3
	"$@" >out 2>err
	status=$?
	check "$label: exit status $want" test "$status" -eq "$want"
	check "$label: message once" test "$(grep -c -x -F "$1: $message" err)" -eq 1
}

missing "forecast given requests" 0 "no bucket records in the input; pa-score --rollup makes them" \
	pa-forecast requests
missing "forecast given requests, follow" 0 \
	"no bucket records in the input; pa-score --rollup makes them" \
	pa-forecast --follow requests
missing "plan given buckets" 0 "no forecast records in the input; pa-forecast makes them" \
	pa-plan --capacity 5 buckets
missing "apply given forecasts" 0 "no plan records in the input; pa-plan makes them" \
	pa-apply forecasts
missing "route given forecasts" 0 "no usage records in the input; pa-ingest --type usage makes them" \
	pa-route --capacity 5 forecasts
missing "score given buckets" 0 "no request records in the input; pa-ingest makes them" \
	pa-score buckets
missing "score merge given requests" 0 \
	"no bucket records in the input; pa-score --rollup makes them" \
	pa-score --merge requests
missing "backtest given requests" 1 \
	"no bucket records in the input, nothing replayed; pa-score --rollup makes them" \
	pa-backtest --capacity 5 requests

# Records of the consumed kind, valid or not, and input without records
# get no such message.
pa-forecast --horizon 3 buckets >out 2>err
check "forecast given buckets: no message" sh -c '! grep -q "no bucket records" err'
printf '{"kind":"bucket","ts":"x"}\n' | pa-forecast >out 2>err
check "forecast given a bad bucket: no message" sh -c '! grep -q "no bucket records" err'
pa-forecast </dev/null >out 2>err
check "forecast given nothing: no message" test ! -s err
printf 'not a record\n' | pa-plan --capacity 5 >out 2>err
check "plan given only bad lines: no message" sh -c '! grep -q "no forecast records" err'
pa-apply plans >out 2>err
check "apply given plans: no message" sh -c '! grep -q "no plan records" err'
pa-route --capacity 5 usage-forecasts >out 2>err
check "route given usage: no message" sh -c '! grep -q "no usage records" err'
pa-score --rollup 1h requests >out 2>err
check "score given requests: no message" test ! -s err
finish
