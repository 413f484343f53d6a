#!/bin/sh
# pa-forecast on real series: the 1998 World Cup site's requests per hour
# and New York taxi passengers per half hour.
. "$PA_ROOT/tests/integration/lib.sh"

# Every field of the forecast and event_effect records that pa-forecast
# writes is described in pa-records.5.  The runs cover event windows with
# two levels and a state (event_lift, intervals, fit, windows), and a
# trend stream in the regression model (effect_per_unit, regressor, ...).
# Requests follow the stream two hours earlier.
awk 'BEGIN {
	srand(3)
	for (t = 0; t < 400; t++) {
		m[t] = int(50 + 40 * sin(t / 7) + 10 * rand())
		printf "{\"kind\":\"event\",\"ts\":%d,\"event_type\":\"mentions\",\"name\":\"m\",\"magnitude\":%d}\n", 1780272000 + 3600 * t, m[t]
	}
	for (t = 2; t < 400; t++)
		printf "{\"kind\":\"bucket\",\"ts\":%d,\"step_s\":3600,\"tenant_service_name\":\"shop/api\",\"requests\":%d}\n", 1780272000 + 3600 * t, 1000 + 5 * m[t - 2] + 100 * ((t % 24) >= 12)
}' >"$T_TMP/stream.ndjson"
pa-forecast --model regress --transform log1p --horizon 4 --max-lag 4 \
	<"$T_TMP/stream.ndjson" >"$T_TMP/fields.ndjson" 2>/dev/null
pa-forecast --horizon 24 --level 80,95 --state "$T_TMP/fields-state.json" \
	<"$PA_ROOT/tests/cases/pa-forecast/event-lift/stdin" >>"$T_TMP/fields.ndjson" 2>/dev/null
mandoc -Tascii "$PA_ROOT/man/pa-records.5" | sed 's/.\x08//g' >"$T_TMP/records.txt"
for kind in forecast event_effect; do
	fields=$(jq -r --arg k "$kind" 'select(.kind == $k) | keys[]' "$T_TMP/fields.ndjson" | sort -u)
	missing=""
	for f in $fields; do
		grep -qw -- "$f" "$T_TMP/records.txt" || missing="$missing $f"
	done
	check "records-$kind-fields-written" test -n "$fields"
	check "records-$kind-fields-documented" sh -c 'echo "undocumented:$1"; test -z "$1"' sh "$missing"
done
for f in event_lift intervals fit effect_per_unit regressor cross_correlation windows method; do
	check "records-field-$f-seen" grep -q "\"$f\"" "$T_TMP/fields.ndjson"
done

need_shared forecast-real-series || finish

wc98_hourly "$T_TMP/wc98.ndjson"

# Four weeks of history ending 1998-06-20, and the day after it.
grep -n '"ts":"1998-06-20T00:00:00Z"' "$T_TMP/wc98.ndjson" | cut -d: -f1 >"$T_TMP/cut"
cut=$(cat "$T_TMP/cut")
head -n $((cut - 1)) "$T_TMP/wc98.ndjson" | tail -n 672 >"$T_TMP/train.ndjson"
head -n $((cut + 23)) "$T_TMP/wc98.ndjson" | tail -n 24 >"$T_TMP/actual.ndjson"
pa-forecast --horizon 24 "$T_TMP/train.ndjson" >"$T_TMP/fc.ndjson"

check wc98-24-records test "$(wc -l <"$T_TMP/fc.ndjson")" -eq 24
check wc98-targets-follow-history \
	test "$(jq -r 'select(.horizon_steps == 1) | .ts' "$T_TMP/fc.ndjson")" = 1998-06-20T00:00:00Z
check wc98-bounds-hold-point \
	test "$(jq -s 'all(.[]; .volume_lower <= .predicted_volume and .predicted_volume <= .volume_upper and .volume_lower >= 0)' "$T_TMP/fc.ndjson")" = true
check wc98-seasonal-model \
	test "$(jq -s 'all(.[]; .model | test("p=24|p=168|\\[(24|168)\\]"))' "$T_TMP/fc.ndjson")" = true

# -v without a state names the chosen model as the records do, and how
# the hold-out chose it.  The records are the same as without -v.
pa-forecast -v --horizon 24 "$T_TMP/train.ndjson" >"$T_TMP/fc-v.ndjson" 2>"$T_TMP/fc-v.err"
model=$(jq -r 'select(.horizon_steps == 1) | .model' "$T_TMP/fc.ndjson")
check verbose-names-choice grep -qF "wc98/www: volume: $model: " "$T_TMP/fc-v.err"
check verbose-names-holdout grep -q 'candidates by hold-out MAE over [0-9]* origins of 24 steps; interval scale' "$T_TMP/fc-v.err"
check verbose-same-records cmp -s "$T_TMP/fc.ndjson" "$T_TMP/fc-v.ndjson"

# The automatic ETS form on the same history: seasonal, multiplicative
# (every hour has requests), bounds around the point.
pa-forecast --horizon 24 --model ets "$T_TMP/train.ndjson" >"$T_TMP/ets.ndjson"
check wc98-ets-form \
	test "$(jq -s -r '.[0].model' "$T_TMP/ets.ndjson" | cut -c1-6)" = "ets(M,"
check wc98-ets-seasonal test "$(jq -s 'all(.[]; .model | endswith(")[24]"))' "$T_TMP/ets.ndjson")" = true
check wc98-ets-bounds-hold-point \
	test "$(jq -s 'all(.[]; .volume_lower <= .predicted_volume and .predicted_volume <= .volume_upper)' "$T_TMP/ets.ndjson")" = true
pa-forecast --horizon 24 --model hw --transform boxcox "$T_TMP/train.ndjson" >"$T_TMP/boxcox.ndjson"
check wc98-boxcox-named test "$(jq -s 'all(.[]; .model == "hw(p=24)+boxcox")' "$T_TMP/boxcox.ndjson")" = true
check wc98-boxcox-bounds-hold-point \
	test "$(jq -s 'all(.[]; .volume_lower <= .predicted_volume and .predicted_volume <= .volume_upper and .volume_lower >= 0)' "$T_TMP/boxcox.ndjson")" = true

# Accuracy: over seven daily origins, 1998-06-14 to 06-20, the forecasts'
# total absolute error on the next day is below that of repeating the last
# hour, the simplest forecast there is.  One day alone can go either way:
# the day after a big match often falls below the hour before.
: >"$T_TMP/errors"
for day in 0 1 2 3 4 5 6; do
	end=$((cut - 1 - 24 * day))
	head -n "$end" "$T_TMP/wc98.ndjson" | tail -n 672 >"$T_TMP/day-train.ndjson"
	head -n $((end + 24)) "$T_TMP/wc98.ndjson" | tail -n 24 >"$T_TMP/day-actual.ndjson"
	last=$(tail -n 1 "$T_TMP/day-train.ndjson" | jq .requests)
	pa-forecast --horizon 24 "$T_TMP/day-train.ndjson" |
		jq -s -r --argjson last "$last" --slurpfile actual "$T_TMP/day-actual.ndjson" '
		[range(0; 24) as $k | ($actual[$k].requests - .[$k].predicted_volume | fabs)] as $pa
		| [range(0; 24) as $k | ($actual[$k].requests - $last | fabs)] as $naive
		| "\($pa | add) \($naive | add)"' >>"$T_TMP/errors"
done
check wc98-beats-naive awk '{ pa += $1; naive += $2 } END { exit !(NR == 7 && pa < naive) }' "$T_TMP/errors"

# Same input, same bytes; gzip input reads the same.
pa-forecast --horizon 24 "$T_TMP/train.ndjson" >"$T_TMP/fc2.ndjson"
check forecast-deterministic cmp -s "$T_TMP/fc.ndjson" "$T_TMP/fc2.ndjson"
gzip -c "$T_TMP/train.ndjson" >"$T_TMP/train.ndjson.gz"
pa-forecast --horizon 24 "$T_TMP/train.ndjson.gz" >"$T_TMP/fc3.ndjson"
check forecast-gzip-input cmp -s "$T_TMP/fc.ndjson" "$T_TMP/fc3.ndjson"

# Half-hourly taxi passengers: three weeks, then a day ahead at 80%.
awk -F, 'NR > 1 {
	ts = substr($1, 1, 10) "T" substr($1, 12, 8) "Z"
	printf "{\"kind\":\"bucket\",\"ts\":\"%s\",\"step_s\":1800,\"tenant_service_name\":\"nyc/taxi\",\"requests\":%d}\n", ts, $2
}' "$SHARED/data/nab-known-cause/nyc_taxi.csv" | head -n 9024 >"$T_TMP/taxi.ndjson"
head -n 8976 "$T_TMP/taxi.ndjson" | tail -n 1008 >"$T_TMP/taxi-train.ndjson"
tail -n 48 "$T_TMP/taxi.ndjson" >"$T_TMP/taxi-actual.ndjson"
pa-forecast --horizon 1d --level 80 "$T_TMP/taxi-train.ndjson" >"$T_TMP/taxi-fc.ndjson"
check taxi-48-records test "$(wc -l <"$T_TMP/taxi-fc.ndjson")" -eq 48
jq -s --slurpfile actual "$T_TMP/taxi-actual.ndjson" '
	[range(0; 48) as $k | select($actual[$k].requests >= .[$k].volume_lower
	    and $actual[$k].requests <= .[$k].volume_upper)] | length' \
	"$T_TMP/taxi-fc.ndjson" >"$T_TMP/inside"
# 80% of 48 is 38; a day is a small sample, so accept 28 or more.
check taxi-80-interval-covers test "$(cat "$T_TMP/inside")" -ge 28

# The decomposition with a daily and a weekly season on the taxi series,
# read by pa-ingest as a series export.  Over seven daily origins,
# 2014-09-15 to 09-21, each with three weeks of history, its total
# absolute error on the next day is below that of the daily seasonal
# naive forecast, which misses the weekday-to-weekend swing.
pa-ingest -q -t series --step 30m --tenant nyc --service value:taxi \
	"$SHARED/data/nab-known-cause/nyc_taxi.csv" >"$T_TMP/taxi-series.ndjson"
grep -n '"ts":"2014-09-22T00:00:00Z"' "$T_TMP/taxi-series.ndjson" | cut -d: -f1 >"$T_TMP/taxi-cut"
taxi_cut=$(cat "$T_TMP/taxi-cut")
: >"$T_TMP/mstl-errors"
: >"$T_TMP/mstl-models"
for day in 0 1 2 3 4 5 6; do
	end=$((taxi_cut - 1 - 48 * day))
	head -n "$end" "$T_TMP/taxi-series.ndjson" | tail -n 1008 >"$T_TMP/m-train.ndjson"
	head -n $((end + 48)) "$T_TMP/taxi-series.ndjson" | tail -n 48 >"$T_TMP/m-actual.ndjson"
	pa-forecast --horizon 1d --model mstl "$T_TMP/m-train.ndjson" >"$T_TMP/m-fc.ndjson"
	pa-forecast --horizon 1d --model snaive --period2 0 "$T_TMP/m-train.ndjson" >"$T_TMP/m-naive.ndjson"
	jq -r 'select(.horizon_steps == 1) | .model' "$T_TMP/m-fc.ndjson" >>"$T_TMP/mstl-models"
	for f in m-fc m-naive; do
		jq -s --slurpfile a "$T_TMP/m-actual.ndjson" \
			'[range(0; 48) as $k | ($a[$k].requests - .[$k].predicted_volume | fabs)] | add' \
			"$T_TMP/$f.ndjson"
	done | paste -s -d ' ' >>"$T_TMP/mstl-errors"
done
check taxi-mstl-both-seasons test "$(grep -c '^mstl(p=48,336)+ets(A,' "$T_TMP/mstl-models")" -eq 7
check taxi-mstl-beats-daily-snaive \
	awk '{ mstl += $1; naive += $2 } END { exit !(NR == 7 && mstl < naive) }' "$T_TMP/mstl-errors"

# The automatic choice averages distinct forecasts only.  The seasonal
# naive forecast is the same on every scale, so two weeks of taxi history
# to 2015-01-19, where the weekly seasonal naive model leads the hold-out,
# must not name it on two scales in one average.
grep -n '"ts":"2015-01-19T00:00:00Z"' "$T_TMP/taxi-series.ndjson" | cut -d: -f1 >"$T_TMP/taxi-cut"
taxi_cut=$(cat "$T_TMP/taxi-cut")
head -n $((taxi_cut - 1)) "$T_TMP/taxi-series.ndjson" | tail -n 672 >"$T_TMP/d-train.ndjson"
pa-forecast --horizon 1d --period2 1w "$T_TMP/d-train.ndjson" |
	jq -r 'select(.horizon_steps == 1) | .model' >"$T_TMP/d-model"
check taxi-choice-names-weekly-snaive grep -q 'snaive(p=336)' "$T_TMP/d-model"
check taxi-choice-no-repeated-forecast \
	test "$(grep -o 'snaive(p=336)' "$T_TMP/d-model" | wc -l)" -eq 1

# A named model whose forecast leaves the history far behind is rejected
# and named on stderr, and its fallback forecasts instead.  Holt-Winters
# on log1p, fitted to two weeks of taxi counts over the New Year, runs a
# multiplicative trend to 82,822 within eight hours, against a largest
# count of 30,236.
taxi_window() {
	grep -n "\"ts\":\"$1T00:00:00Z\"" "$T_TMP/taxi-series.ndjson" | cut -d: -f1 >"$T_TMP/taxi-cut"
	head -n $(($(cat "$T_TMP/taxi-cut") - 1)) "$T_TMP/taxi-series.ndjson" | tail -n 672
}
taxi_window 2015-01-10 >"$T_TMP/g-train.ndjson"
jq -s 'map(.requests) | max' "$T_TMP/g-train.ndjson" >"$T_TMP/g-max"
pa-forecast --horizon 1d --period2 1w --model hw --transform log1p "$T_TMP/g-train.ndjson" \
	>"$T_TMP/g-fc.ndjson" 2>"$T_TMP/g-err"
check rejected-forecast-named-in-model \
	jq -e -s '.[0].model | test("fallback: hw: forecast [0-9.e+]+ at step [0-9]+ is far outside the history.s 1602 to 30236")' \
	"$T_TMP/g-fc.ndjson"
check rejected-forecast-on-stderr grep -q '^pa-forecast: nyc/taxi: volume: hw: forecast .* far outside' "$T_TMP/g-err"
check rejected-forecast-replaced \
	jq -e -s --argjson max "$(cat "$T_TMP/g-max")" 'length == 48 and all(.[]; .predicted_volume <= 2 * $max)' \
	"$T_TMP/g-fc.ndjson"
# The fallback's interval on log1p grows exponentially with the steps
# ahead; mapped back, its bounds stop at 10 times the largest count plus 1.
check log1p-bounds-capped \
	jq -e -s --argjson max "$(cat "$T_TMP/g-max")" \
	'all(.[]; .volume_upper <= 10 * ($max + 1)) and any(.[]; .volume_upper == 10 * ($max + 1))' \
	"$T_TMP/g-fc.ndjson"

# The regression's trend bends at most once per week while the history
# covers fewer than four weeks.  Over two weeks, a trend that bends daily
# and the weekly Fourier terms cancel each other in the history and not
# past it.  With changepoints 5 steps apart, this window forecast 4e9
# passengers per half hour.
taxi_window 2015-01-14 >"$T_TMP/g-train.ndjson"
jq -s 'map(.requests) | max' "$T_TMP/g-train.ndjson" >"$T_TMP/g-max"
for t in none log1p; do
	pa-forecast --horizon 1d --period2 1w --model regress --transform $t "$T_TMP/g-train.ndjson" \
		>"$T_TMP/g-fc.ndjson" 2>"$T_TMP/g-err"
	check regress-two-weeks-$t-within-history \
		jq -e -s --argjson max "$(cat "$T_TMP/g-max")" \
		'length == 48 and all(.[]; (.model | startswith("regress(")) and (.model | contains("fallback") | not) and .predicted_volume <= 1.5 * $max)' \
		"$T_TMP/g-fc.ndjson"
	check regress-two-weeks-$t-quiet test ! -s "$T_TMP/g-err"
done

# Unknown buckets at the end: 300 hourly buckets of a daily wave, then 36
# with no count.  Every seasonal model forecasts from the last known
# bucket, so its first 3 steps after the unknown ones are steps 37 to 39
# of the same model run on the 300 known buckets alone.
awk 'BEGIN {
	srand(3)
	for (t = 0; t < 336; t++) {
		v = t < 300 ? sprintf("%d", 200 + 150 * sin(6.2831853 * t / 24) + 10 * rand()) : "null"
		printf "{\"kind\":\"bucket\",\"ts\":%d,\"step_s\":3600,\"tenant_service_name\":\"t/wave\",\"requests\":%s}\n", 1791000000 + 3600 * t, v
	}
}' >"$T_TMP/wave-tail.ndjson"
head -n 300 "$T_TMP/wave-tail.ndjson" >"$T_TMP/wave-known.ndjson"
for m in hw-damped ets hw auto; do
	pa-forecast -m $m -H 3 "$T_TMP/wave-tail.ndjson" 2>/dev/null |
		jq -c '[.ts, .predicted_volume, .volume_upper]' >"$T_TMP/wave-a"
	pa-forecast -m $m -H 39 "$T_TMP/wave-known.ndjson" 2>/dev/null | tail -n 3 |
		jq -c '[.ts, .predicted_volume, .volume_upper]' >"$T_TMP/wave-b"
	check unknown-tail-$m-from-last-known cmp -s "$T_TMP/wave-a" "$T_TMP/wave-b"
	check unknown-tail-$m-keeps-season \
		jq -e -s 'length == 3 and all(.[]; .[1] > 60 and .[1] < 360) and .[2][1] - .[0][1] > 30' "$T_TMP/wave-a"
done

# Progress goes to a terminal on stderr, and never into a file or pipe.
for s in a b c; do
	t=0
	while [ $t -lt 48 ]; do
		printf '{"kind":"bucket","ts":%d,"step_s":3600,"tenant_service_name":"%s/svc","requests":%d}\n' \
			$((1780272000 + 3600 * t)) $s $((t % 24 + 5))
		t=$((t + 1))
	done
done >"$T_TMP/three.ndjson"
script -qec "pa-forecast '$T_TMP/three.ndjson' >/dev/null" /dev/null >"$T_TMP/tty.err"
check progress-on-terminal grep -q 'of 3 series forecast' "$T_TMP/tty.err"
pa-forecast "$T_TMP/three.ndjson" 2>"$T_TMP/pipe.err" >/dev/null
check progress-not-in-file test ! -s "$T_TMP/pipe.err"

# Usage records pass through a real pipeline stage unchanged and first.
printf '%s\n' '{"kind":"usage","ts":"1998-06-19T23:00:00Z","instance_id":"i-1","tenant_service_name":"wc98/www","cpu_usage":0.5,"memory_usage":0.25,"network_io":10}' >"$T_TMP/usage.ndjson"
cat "$T_TMP/usage.ndjson" "$T_TMP/train.ndjson" | pa-forecast --horizon 2 | head -n 1 >"$T_TMP/first"
check usage-passes-through cmp -s "$T_TMP/first" "$T_TMP/usage.ndjson"

# Events: Peyton Manning's Wikipedia page views per day with his playoff
# games as events (two days each).  Over the playoff games from 2011 on
# with three years of history before them, the total error on the week
# around the game falls when the events are given.
peyton_daily "$T_TMP/peyton.ndjson" "$T_TMP/peyton-events.ndjson"
: >"$T_TMP/peyton-errors"
for start in 2011-01-06 2013-01-10 2014-01-10 2014-01-17 2014-01-31 2015-01-09 2016-01-15; do
	n=$(grep -n "\"ts\":\"${start}T" "$T_TMP/peyton.ndjson" | cut -d: -f1)
	head -n $((n - 1)) "$T_TMP/peyton.ndjson" | tail -n 1095 >"$T_TMP/p-train.ndjson"
	head -n $((n + 6)) "$T_TMP/peyton.ndjson" | tail -n 7 >"$T_TMP/p-actual.ndjson"
	plain=$(pa-forecast --horizon 7 --period 1w --period2 0 --gaps unknown \
		"$T_TMP/p-train.ndjson" 2>/dev/null |
		jq -s --slurpfile a "$T_TMP/p-actual.ndjson" \
		'[range(0; 7) as $k | ($a[$k].requests - .[$k].predicted_volume | fabs)] | add')
	events=$(cat "$T_TMP/peyton-events.ndjson" "$T_TMP/p-train.ndjson" |
		pa-forecast --horizon 7 --period 1w --period2 0 --gaps unknown --event-window 2d 2>/dev/null |
		jq -s --slurpfile a "$T_TMP/p-actual.ndjson" \
		'[.[] | select(.kind == "forecast")] | [range(0; 7) as $k | ($a[$k].requests - .[$k].predicted_volume | fabs)] | add')
	echo "$plain $events" >>"$T_TMP/peyton-errors"
done
check peyton-events-cut-error awk '{ plain += $1; events += $2 } END { exit !(NR == 7 && events < plain) }' "$T_TMP/peyton-errors"
cat "$T_TMP/peyton-events.ndjson" "$T_TMP/p-train.ndjson" |
	pa-forecast --horizon 7 --period 1w --period2 0 --gaps unknown --event-window 2d 2>/dev/null |
	jq -s '[.[] | select(.kind == "event_effect" and .event_type == "playoff")][0] | .lift > 1.5 and .lift_lower > 1' >"$T_TMP/lift"
check peyton-playoff-lift test "$(cat "$T_TMP/lift")" = true

# A history that ends on a burst: NAB's AAPL Twitter mentions per hour up
# to 2015-04-14T23:00Z, when they reached 68,745 against about 1,400 the
# hours before, and the next day's actuals (mean 1,125).  Fitting on
# unclipped differences, the Fourier model carried the burst through the
# whole day (mean absolute error 15,286), and naive, the fallback of a
# model rejected on nine days of it, repeated it (67,620).  The seasonal
# naive forecast errs by about 4,400.
awk -F, 'NR > 1 {
	hour = substr($1, 1, 10) "T" substr($1, 12, 2) ":00:00Z"
	if (hour != last && last != "")
		printf "{\"kind\":\"bucket\",\"ts\":\"%s\",\"step_s\":3600,\"tenant_service_name\":\"tweets/aapl\",\"requests\":%d}\n", last, sum
	if (hour != last)
		sum = 0
	last = hour
	sum += $2
}' "$SHARED/data/nab-tweets/Twitter_volume_AAPL.csv" >"$T_TMP/aapl.ndjson"
jq -c 'select(.ts >= "2015-03-17T00:00:00Z" and .ts <= "2015-04-14T23:00:00Z")' "$T_TMP/aapl.ndjson" >"$T_TMP/aapl-train.ndjson"
jq -c 'select(.ts > "2015-04-14T23:00:00Z" and .ts <= "2015-04-15T23:00:00Z")' "$T_TMP/aapl.ndjson" >"$T_TMP/aapl-day.ndjson"
check aapl-burst-at-end test "$(jq -r .requests "$T_TMP/aapl-train.ndjson" | tail -n 1)" -eq 68745
check aapl-day-after test "$(wc -l <"$T_TMP/aapl-day.ndjson")" -eq 24
for m in fourier arima; do
	pa-forecast --model $m --horizon 24 "$T_TMP/aapl-train.ndjson" 2>/dev/null |
		jq -s --slurpfile a "$T_TMP/aapl-day.ndjson" \
		'[range(0; 24) as $k | ($a[$k].requests - .[$k].predicted_volume | fabs)] | add / 24' >"$T_TMP/aapl-$m"
	check "aapl-$m-burst-fades" awk '{ exit !($1 < 6000) }' "$T_TMP/aapl-$m"
done
jq -c 'select(.ts >= "2015-04-06T04:00:00Z")' "$T_TMP/aapl-train.ndjson" |
	pa-forecast --model fourier --horizon 24 2>/dev/null >"$T_TMP/aapl-short"
jq -s --slurpfile a "$T_TMP/aapl-day.ndjson" \
	'[range(0; 24) as $k | ($a[$k].requests - .[$k].predicted_volume | fabs)] | add / 24' \
	"$T_TMP/aapl-short" >"$T_TMP/aapl-short-error"
check aapl-short-fallback-seasonal jq -se '.[0].model | startswith("snaive(p=24); fallback: fourier")' "$T_TMP/aapl-short"
check aapl-short-fallback-error awk '{ exit !($1 < 6000) }' "$T_TMP/aapl-short-error"

finish
