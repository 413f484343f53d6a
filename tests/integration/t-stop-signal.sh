#!/bin/sh
# SIGTERM or SIGINT while a tool reads a regular file ends the input after
# a whole line.  The tool finishes as at the end of its input, so its
# output ends with a whole record.  The exit status is that of the input
# read so far, or 1 where the stop left series without forecasts or plans.
# A second signal ends the tool at once.
. "$PA_ROOT/tests/integration/lib.sh"

cd "$T_TMP" || exit 1
awk 'BEGIN {
	for (i = 0; i < 400000; i++)
		printf "192.0.2.%d - - [%02d/Jan/2026:%02d:%02d:%02d +0000] \"GET /api/x%d HTTP/1.1\" 200 %d \"-\" \"t\"\n",
			i % 250, 1 + int(i / 86400), int(i / 3600) % 24, int(i / 60) % 60, i % 60, i % 7, 100 + i % 900
}' | gzip -1 >log.gz
pa-ingest -q log.gz | gzip -1 >requests.gz
total=400000

# whole_records FILE: FILE ends with a newline and every line is a JSON object.
whole_records() {
	[ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] && jq -e 'type == "object"' "$1" >/dev/null
}

# stop_blocked NAME SIGNAL STATUS TOOL ARGS...: start TOOL ARGS with its
# output into a pipe that is not read yet, so that it waits in write(2).
# Send SIGNAL, then read the pipe.  The tool must exit STATUS after
# writing whole records, and before the end of its input.
stop_blocked() {
	label=$1
	sig=$2
	want=$3
	shift 3
	rm -f pipe go out
	mkfifo pipe
	(
		exec <pipe
		while [ ! -e go ]; do sleep 0.05; done
		cat >out
	) &
	reader=$!
	"$@" >pipe 2>err &
	pid=$!
	sleep 0.5
	kill -"$sig" $pid
	touch go
	wait $pid
	status=$?
	wait $reader
	check "$label: exit status $want" test "$status" -eq "$want"
	check "$label: whole records" whole_records out
	check "$label: stopped before the end" test "$(wc -l <out)" -lt "$total"
	check "$label: no write error" sh -c '! grep -q "write.*failed" err'
}

stop_blocked "ingest TERM" TERM 0 pa-ingest log.gz
check "ingest TERM: summary counts the output" \
	grep -q "summary: [0-9]* read, $(wc -l <out) written" err
stop_blocked "ingest INT" INT 0 pa-ingest -q log.gz
stop_blocked "score TERM" TERM 0 pa-score requests.gz
stop_blocked "score rollup TERM" TERM 0 pa-score --rollup 1m requests.gz
stop_blocked "forecast TERM while reading" TERM 0 pa-forecast requests.gz
stop_blocked "plan TERM" TERM 0 pa-plan --capacity 5 requests.gz

# Forecasts read before the stop leave their series unplanned, and the
# exit status is 1 for the missing plans.
awk 'BEGIN {
	for (h = 0; h < 72; h++)
		printf "{\"kind\":\"bucket\",\"ts\":%d,\"step_s\":3600,\"tenant_service_name\":\"t/a\",\"requests\":%d}\n", 1780272000 + 3600 * h, 100 + h % 24
}' | pa-forecast --horizon 3 >fc.ndjson 2>/dev/null
stop_blocked "plan TERM with forecasts" TERM 1 pa-plan --capacity 5 fc.ndjson requests.gz
check "plan TERM with forecasts: message" grep -q "stopped before the end of the input; 1 series not planned" err
stop_blocked "backtest TERM" TERM 1 pa-backtest --capacity 5 requests.gz

# A second signal ends the tool at once by the signal's default action.
rm -f pipe go out
mkfifo pipe
(
	exec <pipe
	while [ ! -e go ]; do sleep 0.05; done
	cat >/dev/null
) &
reader=$!
pa-score requests.gz >pipe 2>/dev/null &
pid=$!
sleep 0.5
kill -TERM $pid
sleep 0.2
kill -TERM $pid
wait $pid
status=$?
touch go
wait $reader
check "second signal: killed by SIGTERM" test "$status" -eq 143

# The output written straight to a regular file ends with a whole record.
pa-score requests.gz >out 2>err &
pid=$!
sleep 0.5
kill -TERM $pid
wait $pid
check "score into a file: exit status 0" test $? -eq 0
check "score into a file: whole records" whole_records out

# pa-apply and pa-route write their output once the input ends.
pa-apply requests.gz requests.gz >out 2>err &
pid=$!
sleep 0.5
kill -TERM $pid
wait $pid
check "apply TERM: exit status 0" test $? -eq 0
check "apply TERM: script header written" grep -q '^#!/bin/sh' out

printf '{"kind":"route","router":"r","backend":"b","servers":[{"name":"s1","weight":1}]}\n' >route.ndjson
echo keep >up.conf
pa-route --capacity 5 -o up.conf route.ndjson requests.gz requests.gz >out 2>err &
pid=$!
sleep 0.5
kill -TERM $pid
wait $pid
check "route -o TERM: exit status 1" test $? -eq 1
check "route -o TERM: file kept" grep -qx keep up.conf
check "route -o TERM: message" grep -q "up.conf: not written, because the run was stopped" err

# A stop while pa-forecast forecasts ends after a whole series and leaves
# the state file as it was.
awk 'BEGIN {
	for (s = 0; s < 300; s++)
		for (h = 0; h < 200; h++)
			printf "{\"kind\":\"bucket\",\"ts\":\"2026-01-%02dT%02d:00:00Z\",\"step_s\":3600,\"tenant_service_name\":\"t/s%03d\",\"requests\":%d}\n",
				1 + int(h / 24), h % 24, s, 100 + 50 * sin(h / 3.8) + s
}' | sort -t '"' -k 8,8 >buckets
pa-forecast --horizon 3 --state state.json buckets >out 2>err &
pid=$!
i=0
while ! grep -q '"kind":"forecast"' out && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -TERM $pid
wait $pid
check "forecast TERM while forecasting: exit status 1" test $? -eq 1
check "forecast TERM while forecasting: whole records" whole_records out
check "forecast TERM while forecasting: message" grep -q "stopped; [0-9]* of 300 series not forecast" err
check "forecast TERM while forecasting: state not saved" test ! -e state.json

# pa-ingest waiting on a pipe dies at once only when it has written every
# record.  Series rows held until their step is known are written first.
printf 'time,service,requests\n2026-01-01T00:00:00Z,a,5\n2026-01-01T00:05:00Z,a,6\n' >series.csv
rm -f pipe
mkfifo pipe
pa-ingest -t series <pipe >out 2>err &
pid=$!
{ cat series.csv; sleep 3; } >pipe &
writer=$!
sleep 1
kill -TERM $pid
wait $pid
status=$?
wait $writer
check "ingest series on a pipe TERM: exit status 0" test $status -eq 0
check "ingest series on a pipe TERM: held rows written" test "$(wc -l <out)" -eq 2
check "ingest series on a pipe TERM: summary" grep -q "summary: 2 read, 2 written" err

# A query result is read whole before its records are written, so a stop
# while pa-ingest waits for the next one ends it at once, with the records
# of the results before it written.
printf '%s\n' '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"shop","container":"api","pod":"api-1"},"value":[1780272000,"0.5"]},{"metric":{"namespace":"shop","container":"api","pod":"api-2"},"value":[1780272000,"1.5"]}]}}' >vector.json
rm -f pipe
mkfifo pipe
pa-ingest -q --format prometheus --metric cpu_usage vector.json pipe >out 2>err &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
status=$?
check "ingest query result waiting TERM: killed by SIGTERM" test $status -eq 143
check "ingest query result waiting TERM: earlier records written" test "$(wc -l <out)" -eq 2
check "ingest query result waiting TERM: whole records" whole_records out
finish
