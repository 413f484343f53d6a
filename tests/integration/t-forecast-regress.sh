#!/bin/sh
# pa-forecast's regression model on real series: match kick-offs of the
# 1998 World Cup, playoff games in Wikipedia page views, and Twitter
# mention streams as lagged regressors.  Then bad trend and event input.
. "$PA_ROOT/tests/integration/lib.sh"

need_shared forecast-regress-real-series || finish

# Mean absolute error of the forecast records in $1 against the bucket
# records in $2, matched by ts.
mae() {
	jq -s --slurpfile a "$2" '
		($a | map({ key: .ts, value: .requests }) | from_entries) as $act |
		[.[] | select(.kind == "forecast" and ($act[.ts] != null)) |
		 ($act[.ts] - .predicted_volume | fabs)] | add / length' "$1"
}

# World Cup 1998: requests per hour, and the 64 matches from the schedule
# in local French time (UTC+2) as events of type "match".
awk -F, 'NR > 1 {
	hour = substr($1, 1, 13)
	if (hour != last && last != "") {
		printf "{\"kind\":\"bucket\",\"ts\":\"%s:00:00Z\",\"step_s\":3600,\"tenant_service_name\":\"wc98/www\",\"requests\":%d}\n", last, sum
		sum = 0
	}
	last = hour
	sum += $2
} END { printf "{\"kind\":\"bucket\",\"ts\":\"%s:00:00Z\",\"step_s\":3600,\"tenant_service_name\":\"wc98/www\",\"requests\":%d}\n", last, sum }' \
	"$SHARED/data/wc98-requests/wc98_requests_per_minute.csv" | sed 's/ /T/' >"$T_TMP/wc98.ndjson"
pa-ingest -t events --field ts=match_date+match_time --utc-offset +02:00 \
	--field name=match_name --event-type match \
	"$SHARED/data/wc98-requests/wc98_matches_fjelstul.csv" >"$T_TMP/matches.ndjson" 2>/dev/null
check wc98-schedule-64-matches test "$(wc -l <"$T_TMP/matches.ndjson")" -eq 64

# wc98_window CUT: the history from 16 May up to CUT, whose next day is forecast.
wc98_window() {
	jq -c --arg c "$1" 'select(.ts >= "1998-05-16T00:00:00Z" and .ts < $c)' "$T_TMP/wc98.ndjson"
}

wc98_window 1998-07-02T00:00:00Z >"$T_TMP/wc-train.ndjson"
cat "$T_TMP/matches.ndjson" "$T_TMP/wc-train.ndjson" |
	pa-forecast --model regress --transform log1p --horizon 24 --period 1d --period2 1w \
	>"$T_TMP/wc-fc.ndjson" 2>/dev/null
jq -c 'select(.kind == "event_effect" and .event_type == "match")' "$T_TMP/wc-fc.ndjson" >"$T_TMP/wc-effect"
check wc98-regress-24-forecasts test "$(grep -c '"kind":"forecast"' "$T_TMP/wc-fc.ndjson")" -eq 24
check wc98-match-effect-by-regression test "$(jq -r .method "$T_TMP/wc-effect")" = regression
check wc98-match-lift-above-1 jq -e '.lift > 1' "$T_TMP/wc-effect"
check wc98-match-interval-excludes-1 jq -e '.lift_lower > 1 and .lift_upper > .lift' "$T_TMP/wc-effect"
check wc98-match-windows-counted jq -e '.windows >= 40' "$T_TMP/wc-effect"
check wc98-no-lift-multiplied test "$(grep -c '"event_lift"' "$T_TMP/wc-fc.ndjson")" -eq 0

# Over fifteen origins through the tournament, the regression with the
# match schedule has a lower mean error on the next day than the seasonal
# naive model given the same schedule (its lift path).  Without the
# schedule, the seasonal naive model does better than both on these days,
# because each day repeats the one before more closely than any trend.
: >"$T_TMP/wc-errors"
for cut in 06-12 06-14 06-16 06-18 06-20 06-22 06-24 06-26 06-28 06-30 07-02 07-04 07-06 07-08 07-10; do
	wc98_window "1998-${cut}T00:00:00Z" >"$T_TMP/wc-train.ndjson"
	jq -c --arg c "1998-${cut}T00:00:00Z" 'select(.ts >= $c)' "$T_TMP/wc98.ndjson" | head -n 24 >"$T_TMP/wc-actual.ndjson"
	cat "$T_TMP/matches.ndjson" "$T_TMP/wc-train.ndjson" |
		pa-forecast --model regress --transform log1p --horizon 24 --period 1d --period2 1w \
		>"$T_TMP/wc-r.ndjson" 2>/dev/null
	cat "$T_TMP/matches.ndjson" "$T_TMP/wc-train.ndjson" |
		pa-forecast --model snaive --horizon 24 --period 1d --period2 1w \
		>"$T_TMP/wc-s.ndjson" 2>/dev/null
	echo "$(mae "$T_TMP/wc-r.ndjson" "$T_TMP/wc-actual.ndjson") $(mae "$T_TMP/wc-s.ndjson" "$T_TMP/wc-actual.ndjson")" >>"$T_TMP/wc-errors"
done
check wc98-regress-beats-snaive-lift \
	awk '{ r += $1; s += $2 } END { exit !(NR == 15 && r < s) }' "$T_TMP/wc-errors"

# Peyton Manning's page views per day with playoff games and Super Bowls
# as two-day events.  Over the seven playoff weeks from 2011 on, with
# three years of history each, the regression errs less than the seasonal
# naive model, and it finds a playoff lift well above 1.
peyton_daily "$T_TMP/peyton.ndjson" "$T_TMP/peyton-events.ndjson"
: >"$T_TMP/peyton-errors"
for start in 2011-01-06 2013-01-10 2014-01-10 2014-01-17 2014-01-31 2015-01-09 2016-01-15; do
	n=$(grep -n "\"ts\":\"${start}T" "$T_TMP/peyton.ndjson" | cut -d: -f1)
	head -n $((n - 1)) "$T_TMP/peyton.ndjson" | tail -n 1095 >"$T_TMP/p-train.ndjson"
	head -n $((n + 6)) "$T_TMP/peyton.ndjson" | tail -n 7 >"$T_TMP/p-actual.ndjson"
	cat "$T_TMP/peyton-events.ndjson" "$T_TMP/p-train.ndjson" |
		pa-forecast --model regress --transform log1p --horizon 7 --period 1w --period2 0 \
		--gaps unknown --event-window 2d >"$T_TMP/p-r.ndjson" 2>/dev/null
	pa-forecast --model snaive --horizon 7 --period 1w --period2 0 --gaps unknown \
		"$T_TMP/p-train.ndjson" >"$T_TMP/p-s.ndjson" 2>/dev/null
	echo "$(mae "$T_TMP/p-r.ndjson" "$T_TMP/p-actual.ndjson") $(mae "$T_TMP/p-s.ndjson" "$T_TMP/p-actual.ndjson")" >>"$T_TMP/peyton-errors"
done
cat "$T_TMP/peyton-events.ndjson" "$T_TMP/p-train.ndjson" |
	pa-forecast --model snaive --horizon 7 --period 1w --period2 0 --gaps unknown --event-window 2d \
	>"$T_TMP/p-s-events.ndjson" 2>/dev/null
check peyton-regress-beats-snaive \
	awk '{ r += $1; s += $2 } END { exit !(NR == 7 && r < s) }' "$T_TMP/peyton-errors"
jq -c 'select(.kind == "event_effect" and .event_type == "playoff")' "$T_TMP/p-r.ndjson" >"$T_TMP/p-effect"
check peyton-playoff-regression-lift jq -e '.method == "regression" and .lift > 2 and .lift_lower > 1' "$T_TMP/p-effect"
# The last week contains the playoff game of 17 January.  The seasonal
# naive model multiplies the baseline lift into it, and the regression
# does not multiply it in again.
check peyton-snaive-applies-lift grep -q '"event_lift"' "$T_TMP/p-s-events.ndjson"
check peyton-regress-no-second-lift test "$(grep -c '"event_lift"' "$T_TMP/p-r.ndjson")" -eq 0

# Twitter: mentions of AAPL per five minutes as a trend stream.  The
# traffic series is built from it: requests per hour follow the mentions
# three hours earlier, plus a fixed pattern.  The lag chosen from [0, 6]
# must be 3, the effect positive, and the stream must inform exactly the
# first three steps.
pa-ingest -t events "$SHARED/data/nab-tweets/Twitter_volume_AAPL.csv" >"$T_TMP/aapl.ndjson" 2>/dev/null
pa-ingest -t events "$SHARED/data/nab-tweets/Twitter_volume_GOOG.csv" >"$T_TMP/goog.ndjson" 2>/dev/null
jq -r '.ts[0:13] + " " + (.magnitude | tostring)' "$T_TMP/aapl.ndjson" |
	awk '$1 != last { if (last != "") print last, sum; last = $1; sum = 0 } { sum += $2 } END { print last, sum }' |
	awk '{ ts[NR] = $1; v[NR] = $2 } END {
		for (i = 4; i <= NR; i++)
			printf "{\"kind\":\"bucket\",\"ts\":\"%s:00:00Z\",\"step_s\":3600,\"tenant_service_name\":\"shop/api\",\"requests\":%d}\n", ts[i], 2000 + 8 * v[i - 3] + 30 * ((i * 7919) % 11)
	}' >"$T_TMP/traffic.ndjson"

# traffic_until N: the first N hours of traffic as history, and the stream up to its end.
traffic_until() {
	head -n "$1" "$T_TMP/traffic.ndjson" >"$T_TMP/t-train.ndjson"
	stream_end=$(tail -n 1 "$T_TMP/t-train.ndjson" | jq -r '.ts[0:13]')
	jq -c --arg e "$stream_end" 'select(.ts[0:13] <= $e)' "$T_TMP/aapl.ndjson" >"$T_TMP/t-stream.ndjson"
}
traffic_until 700
cat "$T_TMP/t-train.ndjson" "$T_TMP/t-stream.ndjson" |
	pa-forecast --model regress --transform log1p --horizon 12 --max-lag 6 --period 1d --period2 1w \
	>"$T_TMP/t-fc.ndjson" 2>/dev/null
jq -c 'select(.kind == "event_effect")' "$T_TMP/t-fc.ndjson" >"$T_TMP/t-effect"
check stream-one-effect-record test "$(wc -l <"$T_TMP/t-effect")" -eq 1
check stream-lag-within-bound jq -e '.lag_steps >= 0 and .lag_steps <= 6' "$T_TMP/t-effect"
check stream-lag-recovered jq -e '.lag_steps == 3' "$T_TMP/t-effect"
check stream-informs-lag-steps jq -e '.steps_ahead == 3 and .applied == true' "$T_TMP/t-effect"
check stream-effect-positive jq -e '.effect_lower > 0 and .effect_upper > .effect_per_unit' "$T_TMP/t-effect"
check stream-12-forecasts test "$(grep -c '"kind":"forecast"' "$T_TMP/t-fc.ndjson")" -eq 12

# The automatic choice takes the regression when the stream is given.
cat "$T_TMP/t-train.ndjson" "$T_TMP/t-stream.ndjson" |
	pa-forecast --horizon 3 --max-lag 6 --period 1d --period2 1w >"$T_TMP/t-auto.ndjson" 2>/dev/null
check stream-auto-picks-regress \
	jq -e -s '[.[] | select(.kind == "forecast")][0].model | startswith("regress(")' "$T_TMP/t-auto.ndjson"

# Over five origins, the three steps the stream informs err less than
# the seasonal naive model's.
: >"$T_TMP/t-errors"
for length in 500 600 700 800 900; do
	traffic_until "$length"
	sed -n "$((length + 1)),$((length + 3))p" "$T_TMP/traffic.ndjson" >"$T_TMP/t-actual.ndjson"
	cat "$T_TMP/t-train.ndjson" "$T_TMP/t-stream.ndjson" |
		pa-forecast --model regress --transform log1p --horizon 3 --max-lag 6 --period 1d --period2 1w \
		>"$T_TMP/t-r.ndjson" 2>/dev/null
	pa-forecast --model snaive --horizon 3 --period 1d --period2 1w "$T_TMP/t-train.ndjson" \
		>"$T_TMP/t-s.ndjson" 2>/dev/null
	echo "$(mae "$T_TMP/t-r.ndjson" "$T_TMP/t-actual.ndjson") $(mae "$T_TMP/t-s.ndjson" "$T_TMP/t-actual.ndjson")" >>"$T_TMP/t-errors"
done
check stream-regress-beats-snaive \
	awk '{ r += $1; s += $2 } END { exit !(NR == 5 && r < s) }' "$T_TMP/t-errors"

# Real pair: AAPL mentions per hour as the series, GOOG mentions as the
# stream.  They move together within the hour, so on log1p the effect is
# clearly positive, and the lag stays within the bound.
jq -r '.ts[0:13] + " " + (.magnitude | tostring)' "$T_TMP/aapl.ndjson" |
	awk '$1 != last { if (last != "") print last, sum; last = $1; sum = 0 } { sum += $2 } END { print last, sum }' |
	head -n 672 |
	awk '{ printf "{\"kind\":\"bucket\",\"ts\":\"%s:00:00Z\",\"step_s\":3600,\"tenant_service_name\":\"tw/aapl\",\"requests\":%d}\n", $1, $2 }' \
	>"$T_TMP/aapl-series.ndjson"
end=$(tail -n 1 "$T_TMP/aapl-series.ndjson" | jq -r '.ts[0:13]')
jq -c --arg e "$end" 'select(.ts[0:13] <= $e)' "$T_TMP/goog.ndjson" >"$T_TMP/goog-hist.ndjson"
cat "$T_TMP/aapl-series.ndjson" "$T_TMP/goog-hist.ndjson" |
	pa-forecast --model regress --transform log1p --horizon 24 --max-lag 12 --period 1d --period2 1w \
	>"$T_TMP/g-fc.ndjson" 2>/dev/null
jq -c 'select(.kind == "event_effect")' "$T_TMP/g-fc.ndjson" >"$T_TMP/g-effect"
check goog-stream-lag-within-bound jq -e '.lag_steps >= 0 and .lag_steps <= 12' "$T_TMP/g-effect"
check goog-stream-effect-positive jq -e '.effect_lower > 0' "$T_TMP/g-effect"
check goog-stream-steps-match-lag jq -e '.steps_ahead == .lag_steps' "$T_TMP/g-effect"

# A stream that ends two days before the history informs no step, and the
# forecast is still made in full.
jq -c 'select(.ts < "2015-03-24")' "$T_TMP/goog-hist.ndjson" >"$T_TMP/goog-early.ndjson"
cat "$T_TMP/aapl-series.ndjson" "$T_TMP/goog-early.ndjson" |
	pa-forecast --model regress --transform log1p --horizon 24 --max-lag 12 --period 1d --period2 1w \
	>"$T_TMP/e-fc.ndjson" 2>/dev/null
check early-stream-24-forecasts test "$(grep -c '"kind":"forecast"' "$T_TMP/e-fc.ndjson")" -eq 24
check early-stream-informs-nothing \
	jq -e -s '[.[] | select(.kind == "event_effect")][0] | .steps_ahead == 0 and .applied == false' "$T_TMP/e-fc.ndjson"

# One negative sample moves the whole stream from log1p to its raw scale,
# so the run warns with the stream and the bucket of the first negative sum.
# The stream without it gets no such warning.
first_ts=$(sed -n 100p "$T_TMP/goog-hist.ndjson" | jq -r .ts)
jq -c --arg t "$first_ts" 'if .ts == $t then .magnitude = -1e6 else . end' "$T_TMP/goog-hist.ndjson" \
	>"$T_TMP/goog-negative.ndjson"
cat "$T_TMP/aapl-series.ndjson" "$T_TMP/goog-negative.ndjson" |
	pa-forecast --model regress --horizon 24 --max-lag 12 --period 1d --period2 1w \
	>"$T_TMP/n-fc.ndjson" 2>"$T_TMP/n-err"
negative_bucket="${first_ts%%:*}:00:00Z"
check negative-sample-warning grep -q "tw/aapl: trend stream \"Twitter_volume_GOOG\" sums to .* in the bucket at $negative_bucket, so the whole stream is a regressor on its raw scale" "$T_TMP/n-err"
check negative-sample-raw-regressor \
	jq -e -s '[.[] | select(.kind == "event_effect")][0].regressor == "magnitude"' "$T_TMP/n-fc.ndjson"
cat "$T_TMP/aapl-series.ndjson" "$T_TMP/goog-hist.ndjson" |
	pa-forecast --model regress --horizon 24 --max-lag 12 --period 1d --period2 1w \
	>/dev/null 2>"$T_TMP/c-err"
check clean-stream-no-scale-warning test "$(grep -c 'raw scale' "$T_TMP/c-err")" -eq 0

# A trend sample with a magnitude that is not a number is rejected with
# its file, line and value; --rejects keeps it and the rest still flows.
head -n 20 "$T_TMP/goog-hist.ndjson" >"$T_TMP/bad-stream.ndjson"
echo '{"kind":"event","ts":"2015-03-01T00:00:00Z","name":"g","event_type":"Twitter_volume_GOOG","magnitude":"lots"}' >>"$T_TMP/bad-stream.ndjson"
pa-forecast --model regress --horizon 24 --period 1d --period2 1w --rejects "$T_TMP/rejects" \
	"$T_TMP/aapl-series.ndjson" "$T_TMP/bad-stream.ndjson" >"$T_TMP/b-fc.ndjson" 2>"$T_TMP/b-err"
check bad-magnitude-message grep -q 'bad-stream.ndjson:21: field "magnitude" is not a number from -1e15 to 1e15: string "lots"' "$T_TMP/b-err"
check bad-magnitude-kept tail -n 1 "$T_TMP/rejects" | grep -q '"lots"'
check bad-magnitude-forecasts-flow test "$(grep -c '"kind":"forecast"' "$T_TMP/b-fc.ndjson")" -eq 24

# An event type whose only window lies in the future gets no estimate and
# changes no forecast.
tail -n 1 "$T_TMP/aapl-series.ndjson" |
	jq -c '{kind: "event", ts: (.ts | fromdate + 5 * 3600 | todate), name: "keynote",
		event_type: "keynote", magnitude: 1}' >"$T_TMP/future.ndjson"
pa-forecast --model regress --horizon 24 --period 1d --period2 1w "$T_TMP/aapl-series.ndjson" \
	>"$T_TMP/plain.ndjson" 2>/dev/null
cat "$T_TMP/aapl-series.ndjson" "$T_TMP/future.ndjson" |
	pa-forecast --model regress --horizon 24 --period 1d --period2 1w >"$T_TMP/f-fc.ndjson" 2>/dev/null
check future-only-event-no-effect test "$(grep -c '"event_effect"' "$T_TMP/f-fc.ndjson")" -eq 0
check future-only-event-same-forecast cmp -s "$T_TMP/plain.ndjson" "$T_TMP/f-fc.ndjson"

finish
