#!/bin/sh
# Round trip through a real InfluxDB 1.x (Debian's influxdb).  Two days of
# the World Cup 1998 per-minute request counts go to /write and come back
# from /query, as JSON and as CSV, into pa-ingest.  pa-forecast forecasts
# them and writes the forecast as line protocol, and every value and tag
# must come back exactly.  Then pa-score rollups of a real access log,
# tags that need escaping, and InfluxDB's own bad responses.
. "$PA_ROOT/tests/integration/lib.sh"
. "$PA_ROOT/tests/integration/tsdb-lib.sh"

need_shared influxdb || finish
need_server influxdb influxd || finish

wc98=$SHARED/data/wc98-requests/wc98_requests_per_minute.csv
apache=$SHARED/data/http-apache-combined-elastic/apache_logs.log

influx_start || finish

q() {	# q DB QUERY [CURL ARGS...]: a /query in JSON, or CSV with -H 'Accept: application/csv'
	db=$1
	query=$2
	shift 2
	curl -sS -G "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode "db=$db" \
		--data-urlencode "q=$query" "$@"
}

write() {	# write FILE [PRECISION]: POST line protocol, print the HTTP status
	curl -sS -o "$T_TMP/write.out" -w '%{http_code}' -XPOST \
		"http://127.0.0.1:$INFLUX_PORT/write?db=pa&precision=${2:-ns}" --data-binary "@$1"
}

check "create database" test "$(curl -sS -XPOST "http://127.0.0.1:$INFLUX_PORT/query" \
	--data-urlencode 'q=CREATE DATABASE pa')" = '{"results":[{"statement_id":0}]}'

# -- The real series goes in as line protocol with second timestamps.
awk -v from="1998-06-10 00:00:00" -v to="1998-06-12 00:00:00" -F, '
NR > 1 && $1 >= from && $1 < to { printf "wc98,tenant=wc98,service=web requests=%d %d\n", $2, epoch($1) }
'"$AWK_EPOCH" "$wc98" >"$T_TMP/wc98.lp"
awk -v from="1998-06-10 00:00:00" -v to="1998-06-12 00:00:00" -F, \
	'NR > 1 && $1 >= from && $1 < to { sub(" ", "T", $1); print $1 "Z\t" $2 }' \
	"$wc98" >"$T_TMP/wc98.want"
check "write wc98 series" test "$(write "$T_TMP/wc98.lp" s)" = 204

q pa 'SELECT requests FROM wc98 GROUP BY tenant, service' >"$T_TMP/wc98.json"
pa-ingest -q --format influxdb "$T_TMP/wc98.json" >"$T_TMP/buckets.ndjson" 2>"$T_TMP/err"
check "pa-ingest reads the JSON response quietly" test ! -s "$T_TMP/err"
jq -r '[.ts, .requests] | @tsv' "$T_TMP/buckets.ndjson" >"$T_TMP/wc98.got"
check "wc98 counts round-trip exactly (JSON)" cmp -s "$T_TMP/wc98.want" "$T_TMP/wc98.got"
check "wc98 has 2880 minute buckets" test "$(wc -l <"$T_TMP/wc98.got")" -eq 2880

q pa 'SELECT requests FROM wc98 GROUP BY tenant, service' -H 'Accept: application/csv' \
	>"$T_TMP/wc98.csv"
pa-ingest -q --format influxdb "$T_TMP/wc98.csv" >"$T_TMP/buckets-csv.ndjson"
check "CSV response gives the same buckets" cmp -s "$T_TMP/buckets.ndjson" "$T_TMP/buckets-csv.ndjson"

q pa 'SELECT requests FROM wc98 GROUP BY tenant, service' --data-urlencode epoch=ns \
	>"$T_TMP/wc98-ns.json"
pa-ingest -q --format influxdb "$T_TMP/wc98-ns.json" >"$T_TMP/buckets-ns.ndjson"
check "epoch=ns response gives the same buckets" cmp -s "$T_TMP/buckets.ndjson" "$T_TMP/buckets-ns.ndjson"

# Without GROUP BY the tags arrive as string columns.
q pa 'SELECT requests, tenant, service FROM wc98' >"$T_TMP/wc98-cols.json"
pa-ingest -q --format influxdb "$T_TMP/wc98-cols.json" >"$T_TMP/buckets-cols.ndjson"
check "tags as columns give the same buckets" cmp -s "$T_TMP/buckets.ndjson" "$T_TMP/buckets-cols.ndjson"

# -- A column that no field is named after fills --metric, and a limit
# given beside it makes cores a fraction of the limit.
printf 'cpu,namespace=shop,container=api,pod=api-1 cores=0.5 1780272000\ncpu,namespace=shop,container=api,pod=api-2 cores=1.5 1780272000\n' \
	>"$T_TMP/cores.lp"
check "write CPU cores" test "$(write "$T_TMP/cores.lp" s)" = 204
q pa 'SELECT cores FROM cpu GROUP BY namespace, container, pod' >"$T_TMP/cores.json"
pa-ingest -q --format influxdb --metric cpu_usage --cpu-limit 2 "$T_TMP/cores.json" \
	>"$T_TMP/cores.ndjson" 2>"$T_TMP/cores.err"
check "--cpu-limit divides a --metric cpu_usage column" test \
	"$(jq -r '[.instance_id, .cpu_usage] | @tsv' "$T_TMP/cores.ndjson" | tr '\t\n' ' ,')" = \
	"api-1 0.25,api-2 0.75,"

# -- The forecast written as line protocol equals its NDJSON form.
pa-forecast -H 60 "$T_TMP/buckets.ndjson" >"$T_TMP/fc.ndjson"
pa-forecast -H 60 --output-format influx "$T_TMP/buckets.ndjson" >"$T_TMP/fc.lp"
check "write forecast" test "$(write "$T_TMP/fc.lp")" = 204
fields='predicted_volume, volume_lower, volume_upper, predicted_complexity, complexity_lower, complexity_upper, horizon_steps, model'
q pa "SELECT $fields FROM pa_forecast GROUP BY tenant, service" >"$T_TMP/fc.json"
jq -r '.results[0].series[] | .tags as $t | .values[] | [$t.tenant, $t.service] + . | @tsv' \
	"$T_TMP/fc.json" >"$T_TMP/fc.got"
jq -r '[.tenant, .service, .ts, .predicted_volume, .volume_lower, .volume_upper,
	.predicted_complexity, .complexity_lower, .complexity_upper, .horizon_steps, .model] | @tsv' \
	"$T_TMP/fc.ndjson" >"$T_TMP/fc.want"
check "forecast round-trips exactly" cmp -s "$T_TMP/fc.want" "$T_TMP/fc.got"
check "forecast has 60 rows" test "$(wc -l <"$T_TMP/fc.got")" -eq 60

# -- pa-score rollups of a real access log.
pa-ingest -q --tenant value:elastic --service value:www "$apache" | pa-score --rollup 1h \
	>"$T_TMP/roll.ndjson"
pa-ingest -q --tenant value:elastic --service value:www "$apache" | pa-score --rollup 1h \
	--output-format influx >"$T_TMP/roll.lp"
check "write rollups" test "$(write "$T_TMP/roll.lp")" = 204
q pa 'SELECT * FROM pa_bucket GROUP BY tenant, service' -H 'Accept: application/csv' \
	>"$T_TMP/roll.csv"
pa-ingest -q --format influxdb "$T_TMP/roll.csv" >"$T_TMP/roll.got.ndjson"
jq -r '[.ts, .step_s, .requests, .errors, .complexity_sum, .bytes_out] | @tsv' \
	"$T_TMP/roll.ndjson" >"$T_TMP/roll.want"
jq -r '[.ts, .step_s, .requests, .errors, .complexity_sum, .bytes_out] | @tsv' \
	"$T_TMP/roll.got.ndjson" >"$T_TMP/roll.got"
check "rollups round-trip exactly" cmp -s "$T_TMP/roll.want" "$T_TMP/roll.got"
check "rollups cover 84 hours" test "$(wc -l <"$T_TMP/roll.got")" -eq 84

# -- Tags that need escaping come back as they were written.
head -n 30 "$T_TMP/buckets.ndjson" |
	jq -c '.tenant = "wc 98,x=y" | .service = "we\"b\\c" | .tenant_service_name = .tenant + "/" + .service' \
	>"$T_TMP/odd.ndjson"
pa-forecast -H 2 --period 0 --output-format influx "$T_TMP/odd.ndjson" >"$T_TMP/odd.lp"
check "write escaped tags" test "$(write "$T_TMP/odd.lp")" = 204
q pa 'SELECT predicted_volume FROM pa_forecast WHERE service != '"'web'"' GROUP BY *' >"$T_TMP/odd.json"
check "escaped tags round-trip" test "$(jq -r '.results[0].series[0].tags | .tenant + "|" + .service' \
	"$T_TMP/odd.json")" = 'wc 98,x=y|we"b\c'

# Line protocol has no escape for a newline in a tag, so the record is not
# written and the message gives the reason.
head -n 30 "$T_TMP/buckets.ndjson" |
	jq -c '.tenant = "wc\n98" | .tenant_service_name = .tenant + "/" + .service' >"$T_TMP/nl.ndjson"
pa-forecast -H 2 --period 0 --output-format influx "$T_TMP/nl.ndjson" >"$T_TMP/nl.lp" 2>"$T_TMP/err"
check "newline tag writes no line" test ! -s "$T_TMP/nl.lp"
check "newline tag message" grep -q 'contains a newline or another control character' "$T_TMP/err"

# -- Bad responses from the real server, each with its own message.
q pa 'SELEC requests FROM wc98' >"$T_TMP/bad.json"
pa-ingest -q --format influxdb "$T_TMP/bad.json" >"$T_TMP/out" 2>"$T_TMP/err"
check "error response exits 1" test $? -eq 1
check "error response message" grep -q 'InfluxDB returned an error: error parsing query' "$T_TMP/err"

q pa 'SELEC requests FROM wc98' -H 'Accept: application/csv' >"$T_TMP/bad.csv"
pa-ingest -q --format influxdb "$T_TMP/bad.csv" >"$T_TMP/out" 2>"$T_TMP/err"
check "CSV error response exits 1" test $? -eq 1
check "CSV error response message" grep -q 'InfluxDB returned an error: error parsing query' "$T_TMP/err"

q nodb 'SELECT requests FROM wc98' >"$T_TMP/nodb.json"
pa-ingest -q --format influxdb "$T_TMP/nodb.json" >"$T_TMP/out" 2>"$T_TMP/err"
check "statement error exits 1" test $? -eq 1
check "statement error message" grep -q 'InfluxDB statement 0 failed: database not found: nodb' "$T_TMP/err"

q pa 'SELECT requests FROM no_such_measurement' >"$T_TMP/empty.json"
pa-ingest -q --format influxdb "$T_TMP/empty.json" >"$T_TMP/out" 2>"$T_TMP/err"
check "empty result exits 0" test $? -eq 0
check "empty result message" grep -q 'the query result is empty: no series matched' "$T_TMP/err"

q pa 'SELECT mean(requests) FROM wc98 WHERE time < 897440400s GROUP BY time(1h), tenant, service' \
	>"$T_TMP/mean.json"
pa-ingest -q --format influxdb "$T_TMP/mean.json" >"$T_TMP/out" 2>"$T_TMP/err"
check "unaliased aggregate exits 1" test $? -eq 1
check "unaliased aggregate message" grep -q 'alias it in the query' "$T_TMP/err"
q pa 'SELECT sum(requests) AS requests FROM wc98 WHERE time < 897440400s GROUP BY time(1h), tenant, service' \
	>"$T_TMP/sum.json"
pa-ingest -q --format influxdb --step 1h "$T_TMP/sum.json" >"$T_TMP/out"
check "aliased hourly sum" test "$(jq -r '[.ts, .step_s, .requests] | @tsv' "$T_TMP/out")" = \
	"$(printf '1998-06-10T00:00:00Z\t3600\t%s' "$(head -n 60 "$T_TMP/wc98.want" | awk '{ s += $2 } END { print s }')")"

# -- The documented cron example, end to end; it needs pa-plan.
if command -v pa-plan >/dev/null 2>&1; then
	store=$T_TMP/store
	curl -sS -XPOST "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode 'q=CREATE DATABASE cron' \
		>/dev/null
	cron() {
		PA_LOG=$apache PA_CAPACITY=5 PA_STORE=$store PA_STEP=1h PA_HORIZON=6h \
			PA_INGEST_ARGS="--tenant value:elastic --service value:www" \
			PA_INFLUX_URL="http://127.0.0.1:$INFLUX_PORT" PA_INFLUX_DB=cron \
			sh "$PA_ROOT/scripts/cron-example"
	}
	cron
	check "cron example runs" test $? -eq 0
	check "cron example stores 84 buckets" test "$(gzip -dc "$store"/buckets-*.ndjson.gz | wc -l)" -eq 84
	check "cron example forecasts 6 hours" test "$(wc -l <"$store/forecast.ndjson")" -eq 6
	check "cron example plans one service" test "$(jq -r .kind "$store/plan.ndjson")" = plan
	q cron 'SELECT predicted_volume FROM pa_forecast' >"$T_TMP/cron.json"
	check "cron example forecast is in InfluxDB" test \
		"$(jq -r '.results[0].series[0].values[] | .[1]' "$T_TMP/cron.json")" = \
		"$(jq -r .predicted_volume "$store/forecast.ndjson")"
	# A rerun on the same log, as after a failed later step, stores nothing twice.
	cron 2>"$T_TMP/cron2.err"
	check "cron example runs again" test $? -eq 0
	check "cron example stores a log once" test "$(gzip -dc "$store"/buckets-*.ndjson.gz | wc -l)" -eq 84
	check "cron example rerun prints nothing" test ! -s "$T_TMP/cron2.err"
	check "cron example notes the stored log in its log" grep -q 'already stored (same SHA-256)' \
		"$store/cron-$(date -u +%Y-%m).log"
	gzip -c "$apache" >"$T_TMP/apache.log.gz"
	PA_LOG=$T_TMP/apache.log.gz PA_CAPACITY=5 PA_STORE=$store PA_STEP=1h PA_HORIZON=6h \
		PA_INGEST_ARGS="--tenant value:elastic --service value:www" sh "$PA_ROOT/scripts/cron-example" 2>/dev/null
	check "cron example knows the gzip copy" test "$(gzip -dc "$store"/buckets-*.ndjson.gz | wc -l)" -eq 84
	check "cron example forecast is replaced" test "$(wc -l <"$store/forecast.ndjson")" -eq 6
	# A new log is appended.
	sed 's/ 200 / 201 /' "$apache" >"$T_TMP/apache2.log"
	PA_LOG=$T_TMP/apache2.log PA_CAPACITY=5 PA_STORE=$store PA_STEP=1h PA_HORIZON=6h \
		PA_INGEST_ARGS="--tenant value:elastic --service value:www" sh "$PA_ROOT/scripts/cron-example"
	check "cron example appends a new log" test "$(gzip -dc "$store"/buckets-*.ndjson.gz | wc -l)" -eq 168
	# A failing pa-ingest stops the run with its status and replaces nothing.
	cp "$store/forecast.ndjson" "$T_TMP/forecast.before"
	printf 'garbage\n%.0s' 1 2 3 4 5 >"$T_TMP/junk.log"
	PA_LOG=$T_TMP/junk.log PA_CAPACITY=5 PA_STORE=$store sh "$PA_ROOT/scripts/cron-example" 2>"$T_TMP/junk.err"
	check "cron example fails with pa-ingest" test $? -eq 1
	check "cron example names the failed step" grep -q 'pa-ingest failed with exit status 1' "$T_TMP/junk.err"
	check "cron example keeps the old forecast" cmp -s "$store/forecast.ndjson" "$T_TMP/forecast.before"
	PA_LOG=$T_TMP/no-such.log PA_CAPACITY=5 PA_STORE=$store sh "$PA_ROOT/scripts/cron-example" 2>/dev/null
	check "cron example fails on a missing log" test $? -eq 3
	if command -v promtool >/dev/null 2>&1; then
		cron_prom() {
			PA_LOG=$apache PA_CAPACITY=5 PA_STORE=$store PA_STEP=1h PA_HORIZON=6h \
				PA_INGEST_ARGS="--tenant value:elastic --service value:www" \
				PA_PROM_DATA=$1 sh "$PA_ROOT/scripts/cron-example"
		}
		cron_prom /proc/nope 2>"$T_TMP/prom-fail.err"
		check "cron example exits 3 when promtool fails" test $? -eq 3
		check "cron example names the promtool failure" grep -q '^cron-example: promtool backfill' \
			"$T_TMP/prom-fail.err"
		mkdir "$T_TMP/promdata"
		cron_prom "$T_TMP/promdata" 2>/dev/null
		check "cron example backfills forecasts" test -s "$store/prom-backfilled"
		blocks=$(ls "$T_TMP/promdata" | wc -l)
		cron_prom "$T_TMP/promdata" 2>/dev/null
		check "cron example backfills a target bucket once" \
			test "$(ls "$T_TMP/promdata" | wc -l)" -eq "$blocks"
	else
		echo "skip cron example with promtool: promtool is not on the PATH"
	fi
else
	echo "skip cron example: pa-plan is not on the PATH"
fi

influx_stop
finish
