#!/bin/sh
# One wrong date far ahead: pa-score, pa-forecast and pa-plan reject a
# request, bucket or usage sample stamped after the clock, the other
# records still flow, and a bucket far ahead that is let through no longer
# moves every series.
. "$PA_ROOT/tests/integration/lib.sh"

# A combined-format log of 30 minutes for two tenants, with one line dated
# 2099 in the middle, as a wrong clock or a corrupt line gives.
awk 'BEGIN {
	for (m = 0; m < 30; m++)
		for (i = 0; i < 20; i++) {
			host = i % 2 ? "acme" : "globex"
			printf "10.0.0.%d - - [01/Dec/2026:10:%02d:%02d +0000] \"GET /api/orders/%d HTTP/1.1\" 200 512 \"https://%s.example.com/\" \"curl\"\n",
				i, m, i, i, host
			if (m == 15 && i == 0)
				printf "10.0.0.9 - - [01/Dec/2099:10:15:00 +0000] \"GET /api/orders/1 HTTP/1.1\" 200 5 \"https://acme.example.com/\" \"curl\"\n"
		}
}' >"$T_TMP/access.log"
tenant='regex:referer:^https?://([a-z0-9-]+)\.'

pa-ingest -q --tenant "$tenant" "$T_TMP/access.log" >"$T_TMP/requests.ndjson"
pa-score --rollup 1m --calibrate 50 --rejects "$T_TMP/score.rej" <"$T_TMP/requests.ndjson" \
	>"$T_TMP/buckets.ndjson" 2>"$T_TMP/score.err"
check "score future request exit 0" test $? -eq 0
check "score future request named" \
	grep -Eq '<stdin>:[0-9]+: request at 2099-12-01T10:15:00Z is more than --max-future after the clock \(20[0-9-]+T[0-9:]+Z\); is a timestamp wrong\?' "$T_TMP/score.err"
check "score future request in rejects" grep -q '2099-12-01T10:15:00Z' "$T_TMP/score.rej"
check "score future rejects only it" test "$(wc -l <"$T_TMP/score.rej")" -eq 1
check "score future no bucket" test "$(grep -c '"ts":"2099' "$T_TMP/buckets.ndjson")" -eq 0
check "score keeps other requests" \
	test "$(jq -s 'map(select(.kind == "bucket") | .requests) | add' "$T_TMP/buckets.ndjson")" -eq 600

pa-forecast -H 2 --period 0 --period2 0 <"$T_TMP/buckets.ndjson" >"$T_TMP/forecast.ndjson" 2>"$T_TMP/forecast.err"
check "pipeline forecasts every series" \
	test "$(jq -r 'select(.kind == "forecast") | .tenant_service_name' "$T_TMP/forecast.ndjson" | sort -u | wc -l)" -eq \
	"$(jq -r 'select(.kind == "bucket") | .tenant_service_name' "$T_TMP/buckets.ndjson" | sort -u | wc -l)"
# The log ends at 10:29:19, inside the last minute, which is forecast from there.
check "pipeline forecasts from 2026" \
	test "$(jq -r 'select(.kind == "forecast") | .issued_at' "$T_TMP/forecast.ndjson" | sort -u)" = 2026-12-01T10:29:19Z

# --max-future none lets the date through, as for a generated log dated ahead.
pa-score --rollup 1m --calibrate 50 --max-future none <"$T_TMP/requests.ndjson" >"$T_TMP/none.ndjson" 2>/dev/null
check "score max-future none keeps it" test "$(grep -c '"ts":"2099-12-01T10:15:00Z"' "$T_TMP/none.ndjson")" -eq 1

# pa-forecast checks bucket records the same way.
pa-forecast -H 1 --period 0 --period2 0 --max-bad 0.5 --rejects "$T_TMP/fc.rej" <"$T_TMP/none.ndjson" \
	>"$T_TMP/fc.ndjson" 2>"$T_TMP/fc.err"
check "forecast future bucket exit 0" test $? -eq 0
check "forecast future bucket named" \
	grep -Eq '<stdin>:[0-9]+: bucket "ts" 2099-12-01T10:15:00Z is more than --max-future after the clock \(20[0-9-]+T[0-9:]+Z\)' "$T_TMP/fc.err"
check "forecast future bucket in rejects" grep -q '"ts":"2099-12-01T10:15:00Z"' "$T_TMP/fc.rej"
check "forecast after future bucket" \
	test "$(jq -r 'select(.kind == "forecast") | .issued_at' "$T_TMP/fc.ndjson" | sort -u)" = 2026-12-01T10:30:00Z

# Let through, the bucket 73 years ahead lies beyond a gap longer than
# --max-fill, so it is left out of its series, which is forecast from 2026
# like the others.
pa-forecast -H 1 --period 0 --period2 0 --max-future none <"$T_TMP/none.ndjson" \
	>"$T_TMP/far.ndjson" 2>"$T_TMP/far.err"
check "far bucket left out of its series" \
	grep -q 'acme/api: 1 bucket record at 2099-12-01T10:15:00Z left out, because more than 100000 buckets of 1m are missing before it' "$T_TMP/far.err"
check "far bucket leaves all series in 2026" \
	test "$(jq -r 'select(.kind == "forecast") | .issued_at' "$T_TMP/far.ndjson" | sort -u)" = 2026-12-01T10:30:00Z
check "far bucket others forecast" \
	test "$(jq -r 'select(.kind == "forecast") | .tenant_service_name' "$T_TMP/far.ndjson" | sort -u | grep -c globex)" -ge 1

# pa-plan: a usage sample dated 2099 would be the series' latest sample
# and leave the real instances outside the usage window.
{
	echo '{"kind":"forecast","tenant_service_name":"s/api","ts":"2026-12-01T10:00:00Z","issued_at":"2026-12-01T10:00:00Z","step_s":300,"predicted_volume":6000,"predicted_complexity":1}'
	for i in 1 2; do
		echo "{\"kind\":\"usage\",\"ts\":\"2026-12-01T09:59:00Z\",\"tenant_service_name\":\"s/api\",\"instance_id\":\"i-$i\",\"cpu_usage\":0.5}"
	done
	echo '{"kind":"usage","ts":"2099-12-01T09:59:00Z","tenant_service_name":"s/api","instance_id":"i-3","cpu_usage":0.5}'
} >"$T_TMP/plan.ndjson"
pa-plan --capacity 10 --max-bad 0.5 --rejects "$T_TMP/plan.rej" "$T_TMP/plan.ndjson" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
check "plan future usage exit 0" test $? -eq 0
check "plan future usage named" \
	grep -Eq 'plan.ndjson:4: s/api: usage "ts" 2099-12-01T09:59:00Z is more than --max-future after the clock' "$T_TMP/plan.err"
check "plan future usage in rejects" grep -q '"instance_id":"i-3"' "$T_TMP/plan.rej"
check "plan counts the real instances" test "$(jq -r .current_instances "$T_TMP/plan.out")" = 2
# Let through, it moves the plan time to 2099, past every forecast bucket.
pa-plan --capacity 10 --max-future none "$T_TMP/plan.ndjson" >"$T_TMP/plan-none.out" 2>"$T_TMP/plan-none.err"
check "plan max-future none exit 1" test $? -eq 1
check "plan max-future none newer usage" \
	grep -q 's/api: the latest usage sample, at 2099-12-01T09:59:00Z, is .* newer than the forecast issued at 2026-12-01T10:00:00Z' "$T_TMP/plan-none.err"
check "plan max-future none no plan" grep -q 's/api: no plan: no forecast bucket contains now + lead time 2099' "$T_TMP/plan-none.err"
check "plan max-future none writes nothing" test ! -s "$T_TMP/plan-none.out"

# A host whose clock runs a few minutes ahead, within --max-future: its
# request is kept, but it cannot close the minutes that the other hosts
# are still filling, so their requests after it are not late.  The test
# starts early in a minute, so the clock stays in it while the run lasts.
[ "$(date -u +%S)" -lt 45 ] || sleep $((61 - $(date -u +%S | sed 's/^0//')))
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ahead=$(date -u -d '+4 min' +%Y-%m-%dT%H:%M:%SZ)
req() { printf '{"kind":"request","ts":"%s","tenant_service_name":"%s"}\n' "$1" "$2"; }
{ req "$now" shop/web; req "$now" shop/api; req "$ahead" shop/api; req "$now" shop/web; req "$now" shop/web; } |
	pa-score --rollup 1m --follow --calibrate 1 --rejects "$T_TMP/skew.rej" >"$T_TMP/skew.out" 2>"$T_TMP/skew.err"
check "skewed host exit 0" test $? -eq 0
check "skewed host rejects nothing" test ! -s "$T_TMP/skew.rej"
check "skewed host keeps every request" \
	test "$(jq -s 'map(.requests) | add' "$T_TMP/skew.out")" -eq 5
check "skewed host others complete" \
	test "$(jq -s 'map(select(.tenant_service_name == "shop/web") | .requests) | add' "$T_TMP/skew.out")" -eq 3
# Ten minutes ahead is past the default of 5m.
req "$(date -u -d '+10 min' +%Y-%m-%dT%H:%M:%SZ)" shop/api |
	pa-score --rollup 1h --calibrate 1 --max-bad 1 >/dev/null 2>"$T_TMP/ten.err"
check "ten minutes ahead rejected" grep -q 'is more than --max-future after the clock' "$T_TMP/ten.err"

# Invalid option values.
pa-score --rollup 1m --max-future soon </dev/null >/dev/null 2>"$T_TMP/opt.err"
check "score max-future invalid status" test $? -eq 2
check "score max-future invalid named" grep -q -- '--max-future' "$T_TMP/opt.err"
pa-forecast --max-future -1d </dev/null >/dev/null 2>"$T_TMP/opt2.err"
check "forecast max-future invalid status" test $? -eq 2
check "forecast max-future invalid named" grep -q -- '--max-future' "$T_TMP/opt2.err"

finish
