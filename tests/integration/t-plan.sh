#!/bin/sh
# pa-plan on the failure cases that target it: bounds applied after every
# rate rule, and an all-zero history planned at the minimum.
. "$PA_ROOT/tests/integration/lib.sh"

need_shared plan-cases || finish
cases=$SHARED/cases

# Each scenario line becomes a config entry, a forecast at its demand and
# usage records for its current instances at half load.
jq -c '{(.tenant_service_name): {capacity: .capacity_per_instance_rps,
	min: .min_instances, max: .max_instances,
	scale_up_factor: .max_scale_up_factor, scale_up_step: .min_scale_up_step}}' \
	"$cases/BL-16.ndjson" | jq -s '{services: add}' >"$T_TMP/bl16.json"
jq -c '. as $s | {kind: "forecast", tenant_service_name: .tenant_service_name,
	ts: "2026-06-01T10:00:00Z", issued_at: "2026-06-01T10:00:00Z", step_s: 1,
	predicted_volume: .volume_upper_rps, predicted_complexity: 1}, 
	(range(.current_instances) | {kind: "usage", ts: "2026-06-01T09:59:00Z",
	 tenant_service_name: $s.tenant_service_name, instance_id: "i-\(.)", cpu_usage: 0.5})' \
	"$cases/BL-16.ndjson" >"$T_TMP/bl16.ndjson"
pa-plan --config "$T_TMP/bl16.json" "$T_TMP/bl16.ndjson" >"$T_TMP/bl16.out"
check bl16-exit-zero test $? -eq 0
check bl16-three-plans test "$(wc -l <"$T_TMP/bl16.out")" -eq 3

field() { jq -r --arg n "$1" "select(.tenant_service_name == \$n) | .$2" "$T_TMP/bl16.out"; }
check bl16-rate-cap-stops-at-max test "$(field tenant-a/queue-worker optimal_instances)" = 4
check bl16-rate-cap-reason-names-max test "$(field tenant-a/queue-worker reason)" = TooManyReplicas
check bl16-above-max-comes-down test "$(field tenant-a/report-api optimal_instances)" = 4
check bl16-above-max-decommissions test "$(field tenant-a/report-api action)" = decommission
check bl16-min-step-stops-at-max test "$(field tenant-b/tiny optimal_instances)" = 3
jq -s --slurpfile c "$T_TMP/bl16.json" \
	'all(.[]; . as $p | $c[0].services[$p.tenant_service_name] as $s |
	     $p.optimal_instances >= $s.min and $p.optimal_instances <= $s.max)' \
	"$T_TMP/bl16.out" >"$T_TMP/bl16.bounds"
check bl16-every-plan-within-bounds test "$(cat "$T_TMP/bl16.bounds")" = true

# BL-12: an all-zero history.  With pa-forecast built, the real chain runs;
# otherwise a zero forecast with a zero-width interval stands in for it.
awk -F, 'NR > 1 { printf "{\"kind\":\"bucket\",\"ts\":\"%s\",\"step_s\":3600,\"tenant_service_name\":\"%s\",\"requests\":%s,\"complexity_sum\":%s,\"complexity_mean\":1}\n", $2, $1, $3, $3 }' \
	"$cases/BL-12.csv" >"$T_TMP/bl12.buckets"
if command -v pa-forecast >/dev/null 2>&1; then
	pa-forecast --horizon 6 "$T_TMP/bl12.buckets" >"$T_TMP/bl12.fc" 2>"$T_TMP/bl12.fc.err"
else
	jq -c 'select(.ts == "2026-06-01T11:00:00Z") | {kind: "forecast",
		tenant_service_name, ts: "2026-06-01T12:00:00Z", issued_at: "2026-06-01T12:00:00Z",
		step_s: 3600, predicted_volume: .requests, predicted_complexity: 1,
		volume_lower: .requests, volume_upper: .requests, interval_level: 0.95}' \
		"$T_TMP/bl12.buckets" >"$T_TMP/bl12.fc"
fi
pa-plan --capacity 1 --min 2 --max 10 "$T_TMP/bl12.fc" >"$T_TMP/bl12.out"
check bl12-exit-zero test $? -eq 0
check bl12-zero-series-at-min test \
	"$(jq -r 'select(.tenant_service_name == "tenant-a/api") | .optimal_instances' "$T_TMP/bl12.out")" = 2
check bl12-flat-series-planned test \
	"$(jq -r 'select(.tenant_service_name == "tenant-b/api") | .optimal_instances >= 2' "$T_TMP/bl12.out")" = true
check bl12-numbers-finite test \
	"$(jq -s 'all(.[]; .expected_utilization != null and .overload_probability != null)' "$T_TMP/bl12.out")" = true

# Several interval levels: pa-plan sizes on the forecast's own upper
# tail.  On the log1p scale the World Cup forecast is skewed, so at risk
# 0.005 the plan must cover the 99% interval's upper bound exactly, more
# than a normal read of the first (80%) interval gives.
wc98_hourly "$T_TMP/wc98.ndjson"
head -n 600 "$T_TMP/wc98.ndjson" |
	pa-forecast --level 80,95,99 --transform log1p -H 3 >"$T_TMP/wc98-levels.ndjson"
pa-plan --capacity 1 --risk 0.005 --min 0 --max 100000 "$T_TMP/wc98-levels.ndjson" \
	>"$T_TMP/wc98-plan.ndjson"
check "levels plan exit zero" test $? -eq 0
upper99=$(jq -r 'select(.horizon_steps == 1) | .intervals[] | select(.interval_level == 0.99) | .volume_upper / 3600' \
	"$T_TMP/wc98-levels.ndjson")
normal80=$(jq -r 'select(.horizon_steps == 1) |
	(.predicted_volume + (.volume_upper - .predicted_volume) / 1.2815515655 * 2.5758293035) / 3600' \
	"$T_TMP/wc98-levels.ndjson")
check "levels plan covers 99% bound" \
	test "$(jq -r '.optimal_instances' "$T_TMP/wc98-plan.ndjson")" = "$(awk -v u="$upper99" 'BEGIN { n = int(u); print (n < u ? n + 1 : n) }')"
check "levels forecast is skewed" awk -v u="$upper99" -v n="$normal80" 'BEGIN { exit !(u > n * 1.03) }'

finish
