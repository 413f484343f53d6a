#!/bin/sh
# pa-forecast's event lift by offset within the window.  A synthetic
# service of 15-minute buckets over 31 days has a 4-hour "match" every
# third day from 10:00.  Inside it the load is multiplied by a kick-off
# factor drawn between 2 and 4, so the first bucket varies most, and then
# by 2.5, 2, 1.5 and 1.2 by profile bin.  One more match is scheduled on
# the day after the history.  Its forecast must carry that ramp and an
# interval that is widest at kick-off.
. "$PA_ROOT/tests/integration/lib.sh"

awk 'BEGIN {
	srand(11)
	base = 1780272000
	split("3 2.5 2.5 2 2 2 2 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.2", ramp, " ")
	for (d = 0; d < 31; d++) {
		win = d % 3 == 1
		kick = 2 + 2 * rand()
		if (win)
			printf "{\"kind\":\"event\",\"ts\":%d,\"end\":%d,\"event_type\":\"match\",\"name\":\"m%d\"}\n", base + d * 86400 + 36000, base + d * 86400 + 50400, d
		for (q = 0; q < 96; q++) {
			y = (400 + 200 * (q >= 32 && q < 80)) * (0.95 + 0.1 * rand())
			o = q - 40
			if (win && o >= 0 && o < 16)
				y *= (o == 0 ? kick : ramp[o + 1]) * (0.95 + 0.1 * rand())
			printf "{\"kind\":\"bucket\",\"ts\":%d,\"step_s\":900,\"tenant_service_name\":\"shop/api\",\"requests\":%d}\n", base + d * 86400 + q * 900, y
		}
	}
	printf "{\"kind\":\"event\",\"ts\":%d,\"end\":%d,\"event_type\":\"match\",\"name\":\"future\"}\n", base + 31 * 86400 + 36000, base + 31 * 86400 + 50400
}' >"$T_TMP/ramp.ndjson"

pa-forecast --model snaive --period 1d --horizon 1d <"$T_TMP/ramp.ndjson" >"$T_TMP/fc.ndjson" 2>"$T_TMP/err"
check profile-exit-zero test $? -eq 0
grep -v '"kind":"event"' "$T_TMP/ramp.ndjson" |
	pa-forecast --model snaive --period 1d --horizon 1d >"$T_TMP/plain.ndjson" 2>/dev/null

jq -c 'select(.kind == "event_effect")' "$T_TMP/fc.ndjson" >"$T_TMP/effect"
check profile-effect-applied jq -e '.applied and .windows == 10' "$T_TMP/effect"
check profile-five-bins jq -e '.profile | length == 5' "$T_TMP/effect"
check profile-bin-offsets jq -e '[.profile[].offset_s] == [0, 900, 2700, 6300, 13500]' "$T_TMP/effect"
check profile-ramp-falls jq -e '[.profile[].lift] | . == (sort | reverse)' "$T_TMP/effect"
# Bins 1 to 3 carry the ramp's 2.5, 2 and 1.5 with little noise, so the
# shrinkage toward the whole-window lift (weight 3 of 13 windows) moves
# them by at most 10%.
check profile-ramp-within-10pct \
	jq -e '[.profile[1:4][].lift] as $l | [2.5, 2, 1.5] as $w |
		all(range(3); ($l[.] / $w[.] - 1 | fabs) < 0.1)' "$T_TMP/effect"

# Forecast records by time of day on the future match day.
at() {	# FILE HH:MM JQ-EXPRESSION
	jq -r --arg t "2026-07-02T$2:00Z" "select(.kind == \"forecast\" and .ts == \$t) | $3" "$1"
}
width='(.volume_upper - .volume_lower) / .predicted_volume'
kick_lift=$(at "$T_TMP/fc.ndjson" 10:00 .event_lift)
late_lift=$(at "$T_TMP/fc.ndjson" 12:00 .event_lift)
check profile-kickoff-lift-highest awk -v a="$kick_lift" -v b="$late_lift" 'BEGIN { exit !(a > b && b > 1) }'
check profile-no-lift-before test "$(at "$T_TMP/fc.ndjson" 09:45 .event_lift)" = null
check profile-no-lift-after test "$(at "$T_TMP/fc.ndjson" 14:00 .event_lift)" = null
check profile-raises-forecast awk -v a="$(at "$T_TMP/fc.ndjson" 12:00 .predicted_volume)" \
	-v b="$(at "$T_TMP/plain.ndjson" 12:00 .predicted_volume)" 'BEGIN { exit !(a > 1.3 * b) }'

# The interval widens by the spread of past windows at each offset: most
# at kick-off, less later, and outside the window not at all.
kick_width=$(at "$T_TMP/fc.ndjson" 10:00 "$width")
late_width=$(at "$T_TMP/fc.ndjson" 12:00 "$width")
before_width=$(at "$T_TMP/fc.ndjson" 09:45 "$width")
check profile-widest-at-kickoff awk -v a="$kick_width" -v b="$late_width" 'BEGIN { exit !(a > 2 * b) }'
check profile-wider-than-outside awk -v a="$late_width" -v b="$before_width" 'BEGIN { exit !(a > b) }'
# The mean is the model's times the bin's lift, and the upper bound is at
# least the mean times the bin's prediction bound over its lift.
kick_upper=$(at "$T_TMP/fc.ndjson" 10:00 '.volume_upper / .predicted_volume')
check profile-upper-takes-prediction awk -v a="$kick_upper" \
	-v b="$(jq '.profile[0].prediction_upper / .profile[0].lift' "$T_TMP/effect")" \
	'BEGIN { exit !(a >= b * 0.999999) }'
# The model's error and the window's are independent, so their log
# half-widths add in quadrature, not as a product of the two bounds.  The
# model's own half-width at kick-off comes from the bucket before it: the
# seasonal naive spread is the same for every step of the first day.
jq -s -r '
	(map(select(.kind == "forecast" and .ts == "2026-07-02T09:45:00Z"))[0]) as $b |
	(map(select(.kind == "forecast" and .ts == "2026-07-02T10:00:00Z"))[0]) as $k |
	(map(select(.kind == "event_effect"))[0].profile[0]) as $p |
	($k.predicted_volume / $k.event_lift) as $m |
	((($m + $b.volume_upper - $b.predicted_volume) / $m) | log) as $model |
	(($p.prediction_upper / $p.lift) | log) as $window |
	[(($k.volume_upper / $k.predicted_volume) | log), $model, $window] | @tsv' \
	"$T_TMP/fc.ndjson" >"$T_TMP/halfwidths"
check profile-widths-in-quadrature awk '{ q = sqrt($2 * $2 + $3 * $3)
	exit !($1 > 0.99 * q && $1 < 1.01 * q && $1 < $2 + $3 - 0.02) }' "$T_TMP/halfwidths"
# Each level widens by the prediction interval at that level, so the 80%
# interval is the same whether 80 comes first or second in --level.
pa-forecast --model snaive --period 1d --horizon 1d --level 95,80 <"$T_TMP/ramp.ndjson" \
	>"$T_TMP/levels.ndjson" 2>/dev/null
pa-forecast --model snaive --period 1d --horizon 1d --level 80 <"$T_TMP/ramp.ndjson" \
	>"$T_TMP/level80.ndjson" 2>/dev/null
check profile-second-level-lower test "$(at "$T_TMP/levels.ndjson" 10:00 '.intervals[1].volume_lower')" = \
	"$(at "$T_TMP/level80.ndjson" 10:00 .volume_lower)"
check profile-second-level-upper test "$(at "$T_TMP/levels.ndjson" 10:00 '.intervals[1].volume_upper')" = \
	"$(at "$T_TMP/level80.ndjson" 10:00 .volume_upper)"
check profile-95-wider-than-80 test "$(at "$T_TMP/levels.ndjson" 10:00 \
	'.intervals[0].volume_upper > .intervals[1].volume_upper')" = true
check profile-plain-has-no-lift test "$(grep -c '"event_lift"' "$T_TMP/plain.ndjson")" -eq 0

finish
