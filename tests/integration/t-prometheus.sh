#!/bin/sh
# Round trip through a real Prometheus (Debian's prometheus and promtool).
# Two days of the World Cup 1998 per-minute request counts are backfilled
# as an OpenMetrics counter and read back with query_range into pa-ingest.
# pa-forecast forecasts them, the forecast is backfilled as OpenMetrics,
# and every value must come back exactly.  Then the same for pa-score
# rollups of a real access log, and Prometheus's own bad responses.
. "$PA_ROOT/tests/integration/lib.sh"
. "$PA_ROOT/tests/integration/tsdb-lib.sh"

need_shared prometheus || finish
need_server prometheus prometheus promtool || finish

wc98=$SHARED/data/wc98-requests/wc98_requests_per_minute.csv
apache=$SHARED/data/http-apache-combined-elastic/apache_logs.log
data=$T_TMP/prom-data
from=897436800		# 1998-06-10T00:00:00Z
to=897609600		# 1998-06-12T00:00:00Z
mkdir -p "$data"

# The counter at each minute start is the sum of the counts before it, so
# its increase over a minute is that minute's count.
awk -v from="1998-06-10 00:00:00" -v to="1998-06-12 00:00:00" '
BEGIN { FS = ","; total = 0; print "# TYPE http_requests counter" }
NR > 1 && $1 >= from && $1 < to {
	printf "http_requests_total{namespace=\"wc98\",service=\"web\"} %d %d\n", total, epoch($1)
	total += $2
	last = epoch($1)
}
END { printf "http_requests_total{namespace=\"wc98\",service=\"web\"} %d %d\n# EOF\n", total, last + 60 }
'"$AWK_EPOCH" "$wc98" >"$T_TMP/wc98.om"

awk -v from="1998-06-10 00:00:00" -v to="1998-06-12 00:00:00" -F, \
	'NR > 1 && $1 >= from && $1 < to { sub(" ", "T", $1); print $1 "Z\t" $2 }' \
	"$wc98" >"$T_TMP/wc98.want"

check "promtool backfills wc98 counter" \
	sh -c 'promtool tsdb create-blocks-from openmetrics "$1" "$2" >"$3" 2>&1' \
	sh "$T_TMP/wc98.om" "$data" "$T_TMP/promtool.log"

# One day of a real EC2 instance's CPU use (percent, 5-minute samples) as
# three series: a ratio gauge, a cAdvisor CPU-seconds counter and a memory
# gauge of that share of 1 GiB.
awk -F, '
BEGIN { sec = 0 }
NR > 1 && NR <= 289 {
	t = epoch($1)
	r = $2 / 100
	g = g sprintf("pa_usage_cpu_ratio{tenant=\"aws\",service=\"ec2\",instance_id=\"gauge\"} %.12g %d\n", r, t)
	c = c sprintf("container_cpu_usage_seconds_total{namespace=\"aws\",container=\"ec2\",pod=\"cadvisor\"} %.17g %d\n", sec, t)
	m = m sprintf("container_memory_working_set_bytes{namespace=\"aws\",container=\"ec2\",pod=\"cadvisor\"} %.17g %d\n", r * 1073741824, t)
	sec += r * 300
	print t "\t" r >"/dev/stderr"
}
END {
	printf "# TYPE pa_usage_cpu_ratio gauge\n%s", g
	printf "# TYPE container_cpu_usage_seconds counter\n%s", c
	printf "# TYPE container_memory_working_set_bytes gauge\n%s# EOF\n", m
}
'"$AWK_EPOCH" "$SHARED/data/nab-aws-cloudwatch/ec2_cpu_utilization_24ae8d.csv" \
	>"$T_TMP/cpu.om" 2>"$T_TMP/cpu.want"
check "promtool backfills EC2 CPU series" \
	sh -c 'promtool tsdb create-blocks-from openmetrics "$1" "$2" >"$3" 2>&1' \
	sh "$T_TMP/cpu.om" "$data" "$T_TMP/promtool.log"
cfrom=$(head -n 1 "$T_TMP/cpu.want" | cut -f 1)
cto=$(tail -n 1 "$T_TMP/cpu.want" | cut -f 1)

prom_start "$data" || finish

q() {	# q PATH ARGS...: a GET on the API with url-encoded arguments
	path=$1
	shift
	curl -sS -G "http://127.0.0.1:$PROM_PORT$path" "$@"
}

# -- The counter comes back as one bucket per minute, counts exact.
q /api/v1/query_range --data-urlencode 'query=http_requests_total' \
	-d start=$from -d end=$to -d step=60 >"$T_TMP/range.json"
check "query_range responses a matrix" grep -q '"resultType":"matrix"' "$T_TMP/range.json"
pa-ingest -q --format prometheus --label tenant=namespace "$T_TMP/range.json" \
	>"$T_TMP/buckets.ndjson" 2>"$T_TMP/ingest.err"
check "pa-ingest reads the matrix quietly" test ! -s "$T_TMP/ingest.err"
jq -r '[.ts, .requests] | @tsv' "$T_TMP/buckets.ndjson" >"$T_TMP/wc98.got"
check "wc98 counts round-trip exactly" cmp -s "$T_TMP/wc98.want" "$T_TMP/wc98.got"
check "wc98 has 2880 minute buckets" test "$(wc -l <"$T_TMP/wc98.got")" -eq 2880
check "wc98 buckets are 60 s wide" \
	test "$(jq -r .step_s "$T_TMP/buckets.ndjson" | sort -u)" = 60

# -- Usage records: the gauge exactly, the counter's rate to 1e-9.
q /api/v1/query_range --data-urlencode 'query=pa_usage_cpu_ratio' \
	-d start="$cfrom" -d end="$cto" -d step=300 >"$T_TMP/gauge.json"
pa-ingest -q --format prometheus "$T_TMP/gauge.json" >"$T_TMP/gauge.ndjson"
check "usage gauge gives 288 records" test "$(wc -l <"$T_TMP/gauge.ndjson")" -eq 288
check "usage gauge round-trips exactly" test \
	"$(jq -r '[(.ts | fromdate), .cpu_usage, .instance_id] | @tsv' "$T_TMP/gauge.ndjson")" = \
	"$(jq -rR 'split("\t") | [(.[0] | tonumber), (.[1] | tonumber), "gauge"] | @tsv' "$T_TMP/cpu.want")"

q /api/v1/query_range --data-urlencode 'query={pod="cadvisor"}' \
	-d start="$cfrom" -d end="$cto" -d step=300 >"$T_TMP/cadvisor.json"
pa-ingest -q --format prometheus --memory-limit 1073741824 "$T_TMP/cadvisor.json" \
	>"$T_TMP/cadvisor.ndjson"
check "cadvisor gives 288 usage records" test "$(wc -l <"$T_TMP/cadvisor.ndjson")" -eq 288
check "cadvisor first record has no rate" test "$(head -n 1 "$T_TMP/cadvisor.ndjson" | jq .cpu_usage)" = null
# The rate at each sample is the CPU share of the 5 minutes before it.
jq -r '[(.ts | fromdate), .cpu_usage, .memory_usage] | @tsv' "$T_TMP/cadvisor.ndjson" |
	paste - "$T_TMP/cpu.want" >"$T_TMP/cadvisor.cmp" 2>/dev/null
check "cadvisor cpu rate matches the share" awk -F '\t' '
	NR > 1 { d = $2 - prev; if (d < 0) d = -d; if (d > 1e-9) bad++ }
	{ prev = $5 }
	END { exit bad > 0 }' "$T_TMP/cadvisor.cmp"
check "cadvisor memory share is exact" test \
	"$(jq -r '[(.ts | fromdate), .memory_usage] | @tsv' "$T_TMP/cadvisor.ndjson")" = \
	"$(jq -rR 'split("\t") | [(.[0] | tonumber), (.[1] | tonumber)] | @tsv' "$T_TMP/cpu.want")"

# -- A function drops __name__, so --metric names the field, and a limit
# given beside it divides the samples as it divides the raw series: rate()
# in cores over --cpu-limit, bytes over --memory-limit.
q /api/v1/query_range --data-urlencode 'query=rate(container_cpu_usage_seconds_total{pod="cadvisor"}[10m])' \
	-d start="$cfrom" -d end="$cto" -d step=300 >"$T_TMP/rate.json"
pa-ingest -q --format prometheus --metric cpu_usage "$T_TMP/rate.json" >"$T_TMP/rate1.ndjson"
pa-ingest -q --format prometheus --metric cpu_usage --cpu-limit 4 "$T_TMP/rate.json" \
	>"$T_TMP/rate4.ndjson"
check "rate() read with --metric cpu_usage" test "$(wc -l <"$T_TMP/rate1.ndjson")" -gt 200
jq -r '[.instance_id, .ts, .cpu_usage] | @tsv' "$T_TMP/rate1.ndjson" >"$T_TMP/rate1.tsv"
jq -r '[.instance_id, .ts, .cpu_usage] | @tsv' "$T_TMP/rate4.ndjson" >"$T_TMP/rate4.tsv"
check "--cpu-limit divides a --metric cpu_usage rate" awk -F '\t' '
	NR == FNR { one[FNR] = $3; key[FNR] = $1 " " $2; next }
	{ d = one[FNR] / 4 - $3; if (d < 0) d = -d; if (d > 1e-12 || key[FNR] != $1 " " $2) bad++ }
	END { exit bad > 0 || FNR < 200 }' "$T_TMP/rate1.tsv" "$T_TMP/rate4.tsv"
q /api/v1/query_range --data-urlencode 'query=container_memory_working_set_bytes{pod="cadvisor"} + 0' \
	-d start="$cfrom" -d end="$cto" -d step=300 >"$T_TMP/mem.json"
pa-ingest -q --format prometheus --metric memory_usage --memory-limit 1073741824 "$T_TMP/mem.json" \
	>"$T_TMP/mem.ndjson"
check "--memory-limit divides a --metric memory_usage series" test \
	"$(jq -r '[(.ts | fromdate), .memory_usage] | @tsv' "$T_TMP/mem.ndjson")" = \
	"$(jq -r '[(.ts | fromdate), .memory_usage] | @tsv' "$T_TMP/cadvisor.ndjson")"

# -- The forecast written as OpenMetrics equals its NDJSON form.
pa-forecast -H 60 "$T_TMP/buckets.ndjson" >"$T_TMP/fc.ndjson"
pa-forecast -H 60 --output-format openmetrics "$T_TMP/buckets.ndjson" >"$T_TMP/fc.om"
check "forecast openmetrics ends in # EOF" test "$(tail -n 1 "$T_TMP/fc.om")" = "# EOF"
check "forecast metric names pass promtool check" \
	sh -c 'promtool check metrics <"$1" >"$2" 2>&1' sh "$T_TMP/fc.om" "$T_TMP/lint.out"
check "forecast has 60 steps" test "$(wc -l <"$T_TMP/fc.ndjson")" -eq 60

prom_stop
check "promtool backfills the forecast" \
	sh -c 'promtool tsdb create-blocks-from openmetrics "$1" "$2" >"$3" 2>&1' \
	sh "$T_TMP/fc.om" "$data" "$T_TMP/promtool.log"
prom_start "$data" || finish

last=$((to + 59 * 60))
for metric in requests complexity; do
	q /api/v1/query_range --data-urlencode "query=pa_forecast_$metric" \
		-d start=$to -d end=$last -d step=60 >"$T_TMP/fc-$metric.json"
	jq -r '.data.result[] | .metric.bound as $b | .values[] |
		[(.[0] | todate), $b, (.[1] | tonumber)] | @tsv' "$T_TMP/fc-$metric.json" |
		sort >"$T_TMP/fc-$metric.got"
	if [ $metric = requests ]; then
		p=predicted_volume l=volume_lower u=volume_upper
	else
		p=predicted_complexity l=complexity_lower u=complexity_upper
	fi
	jq -r --arg p $p --arg l $l --arg u $u \
		'[.ts, "point", .[$p]], [.ts, "lower", .[$l]], [.ts, "upper", .[$u]] | @tsv' \
		"$T_TMP/fc.ndjson" | sort >"$T_TMP/fc-$metric.want"
	check "forecast $metric round-trips exactly" cmp -s "$T_TMP/fc-$metric.want" "$T_TMP/fc-$metric.got"
	check "forecast $metric has 180 samples" test "$(wc -l <"$T_TMP/fc-$metric.got")" -eq 180
done

# -- An instant query (vector) of a counter needs a range; as an
# expression without __name__ it needs --metric.
q /api/v1/query --data-urlencode 'query=http_requests_total' -d time=$to >"$T_TMP/vec.json"
pa-ingest -q --format prometheus "$T_TMP/vec.json" >"$T_TMP/out" 2>"$T_TMP/err"
check "counter vector is rejected" test $? -eq 1
check "counter vector message names the fix" grep -q 'is a counter, and one sample has no rate' "$T_TMP/err"

q /api/v1/query --data-urlencode 'query=http_requests_total - http_requests_total offset 1m' \
	-d time=$to >"$T_TMP/vec.json"
pa-ingest -q --format prometheus --metric requests --step 1m "$T_TMP/vec.json" >"$T_TMP/out"
check "vector with --metric gives the last minute" \
	test "$(jq -r '[.ts, .requests] | @tsv' "$T_TMP/out")" = "$(printf '1998-06-12T00:00:00Z\t%s' "$(tail -n 1 "$T_TMP/wc98.want" | cut -f 2)")"

# -- Bad responses from the real server, each with its own message.
q /api/v1/query --data-urlencode 'query=rate(http_requests_total[' >"$T_TMP/bad.json"
pa-ingest -q --format prometheus "$T_TMP/bad.json" >"$T_TMP/out" 2>"$T_TMP/err"
check "error response exits 1" test $? -eq 1
check "error response message" grep -q 'Prometheus returned an error (bad_data): ' "$T_TMP/err"

q /api/v1/query --data-urlencode 'query=no_such_metric' -d time=$to >"$T_TMP/empty.json"
pa-ingest -q --format prometheus "$T_TMP/empty.json" >"$T_TMP/out" 2>"$T_TMP/err"
check "empty result exits 0" test $? -eq 0
check "empty result writes nothing" test ! -s "$T_TMP/out"
check "empty result message" grep -q 'the query result is empty: no series matched' "$T_TMP/err"

q /api/v1/query_range --data-urlencode 'query=(http_requests_total - http_requests_total) / 0' \
	-d start=$from -d end=$((from + 120)) -d step=60 >"$T_TMP/nan.json"
pa-ingest -q --format prometheus --metric requests "$T_TMP/nan.json" >"$T_TMP/out" 2>"$T_TMP/err"
check "NaN samples exit 1" test $? -eq 1
check "NaN samples message" grep -q 'is NaN (a stale marker or an undefined result' "$T_TMP/err"

q /api/v1/query_range --data-urlencode 'query=(http_requests_total + 1) / 0' \
	-d start=$from -d end=$((from + 120)) -d step=60 >"$T_TMP/inf.json"
pa-ingest -q --format prometheus --metric requests "$T_TMP/inf.json" >"$T_TMP/out" 2>"$T_TMP/err"
check "+Inf samples exit 1" test $? -eq 1
check "+Inf samples message" grep -q 'value is infinite, which no record field can hold: string "+Inf"' "$T_TMP/err"

# A label value with a quote is data; one with a newline is rejected.
q /api/v1/query_range --data-urlencode \
	'query=label_replace(http_requests_total, "service", "we\"b", "", "")' \
	-d start=$from -d end=$((from + 180)) -d step=60 >"$T_TMP/quote.json"
pa-ingest -q --format prometheus "$T_TMP/quote.json" >"$T_TMP/out"
check "label with a quote is kept" test "$(jq -r .tenant_service_name "$T_TMP/out" | sort -u)" = 'wc98/we"b'
q /api/v1/query_range --data-urlencode \
	'query=label_replace(http_requests_total, "service", "we\nb", "", "")' \
	-d start=$from -d end=$((from + 180)) -d step=60 >"$T_TMP/newline.json"
pa-ingest -q --format prometheus "$T_TMP/newline.json" >"$T_TMP/out" 2>"$T_TMP/err"
check "label with a newline is rejected" test $? -eq 1
check "label newline message" grep -q 'contains a control character' "$T_TMP/err"

# The quoted label survives a write as OpenMetrics and a read back.
pa-ingest -q --format prometheus "$T_TMP/quote.json" | pa-forecast -H 2 --period 0 \
	--output-format openmetrics >"$T_TMP/quote.om"
check "openmetrics escapes the quote" grep -q 'service="we\\"b"' "$T_TMP/quote.om"

# -- pa-score rollups of a real access log, written as OpenMetrics.
pa-ingest -q --tenant value:elastic --service value:www "$apache" | pa-score --rollup 1h \
	>"$T_TMP/roll.ndjson"
pa-ingest -q --tenant value:elastic --service value:www "$apache" | pa-score --rollup 1h \
	--output-format openmetrics >"$T_TMP/roll.om"
check "rollup metric names pass promtool check" \
	sh -c 'promtool check metrics <"$1" >"$2" 2>&1' sh "$T_TMP/roll.om" "$T_TMP/lint.out"
prom_stop
check "promtool backfills pa-score rollups" \
	sh -c 'promtool tsdb create-blocks-from openmetrics "$1" "$2" >"$3" 2>&1' \
	sh "$T_TMP/roll.om" "$data" "$T_TMP/promtool.log"
prom_start "$data" || finish
rfrom=$(jq -r '.ts | fromdate' "$T_TMP/roll.ndjson" | head -n 1)
rto=$(jq -r '.ts | fromdate' "$T_TMP/roll.ndjson" | tail -n 1)
q /api/v1/query_range --data-urlencode 'query={__name__=~"pa_bucket_requests|pa_bucket_work"}' \
	-d start="$rfrom" -d end="$rto" -d step=3600 >"$T_TMP/roll.json"
pa-ingest -q --format prometheus "$T_TMP/roll.json" >"$T_TMP/roll.got.ndjson"
jq -r '[.ts, .requests, .complexity_sum] | @tsv' "$T_TMP/roll.ndjson" >"$T_TMP/roll.want"
jq -r '[.ts, .requests, .complexity_sum] | @tsv' "$T_TMP/roll.got.ndjson" >"$T_TMP/roll.got"
check "rollups round-trip exactly" cmp -s "$T_TMP/roll.want" "$T_TMP/roll.got"
check "rollups cover 84 hours" test "$(wc -l <"$T_TMP/roll.got")" -eq 84

q /api/v1/query --data-urlencode 'query=pa_bucket_requests' -d time="$rfrom" >"$T_TMP/vec.json"
pa-ingest -q --format prometheus --step 1h "$T_TMP/vec.json" >"$T_TMP/out"
check "vector of rollups gives the first hour" \
	test "$(jq -r .requests "$T_TMP/out")" = "$(head -n 1 "$T_TMP/roll.want" | cut -f 2)"

# pa_bucket_step_seconds gives a range of one sample its width, and the
# covered gauges keep partial buckets partial.
q /api/v1/query_range --data-urlencode 'query={__name__=~"pa_bucket_.*"}' \
	-d start="$rfrom" -d end="$rfrom" -d step=3600 >"$T_TMP/one.json"
pa-ingest -q --format prometheus "$T_TMP/one.json" >"$T_TMP/one.ndjson"
check "one-sample rollup takes its step_s" \
	test "$(jq -r '[.step_s, .requests] | @tsv' "$T_TMP/one.ndjson")" = \
	"$(head -n 1 "$T_TMP/roll.ndjson" | jq -r '[.step_s, .requests] | @tsv')"
q /api/v1/query_range --data-urlencode 'query={__name__=~"pa_bucket_.*"}' \
	-d start="$rfrom" -d end="$rto" -d step=3600 >"$T_TMP/all.json"
pa-ingest -q --format prometheus "$T_TMP/all.json" >"$T_TMP/all.ndjson"
jq -c 'select(.covered_s) | [.ts, .covered_s, .covered_from_s]' "$T_TMP/roll.ndjson" >"$T_TMP/cov.want"
jq -c 'select(.covered_s) | [.ts, .covered_s, .covered_from_s]' "$T_TMP/all.ndjson" >"$T_TMP/cov.got"
check "rollups have a partial bucket" test -s "$T_TMP/cov.want"
check "partial buckets round-trip" cmp -s "$T_TMP/cov.want" "$T_TMP/cov.got"

prom_stop
finish
