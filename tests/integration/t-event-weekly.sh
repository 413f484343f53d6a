#!/bin/sh
# Event lifts on a series with a weekly pattern.  The 1998 World Cup site
# drew fewer requests at weekends, and some matches were played at
# weekends, so a match measured against the same hour of the day before
# looks like a drop.  With --period2 1w the baseline is the same hour a
# week earlier, scaled by the change in level, and the interval of a
# match hour stays near the history instead of reaching ten times it.
. "$PA_ROOT/tests/integration/lib.sh"

if need_shared event-weekly-wc98; then
	wc98_hourly "$T_TMP/wc98.ndjson"
	jq -c 'select(.ts < "1998-06-25")' "$T_TMP/wc98.ndjson" >"$T_TMP/history.ndjson"
	pa-ingest -t events --field ts=match_date+match_time --utc-offset +02:00 \
		--field name=match_name --event-type match \
		"$SHARED/data/wc98-requests/wc98_matches_fjelstul.csv" >"$T_TMP/matches.ndjson" 2>/dev/null
	cat "$T_TMP/matches.ndjson" "$T_TMP/history.ndjson" |
		pa-forecast --horizon 48 --period 1d --period2 1w >"$T_TMP/fc.ndjson" 2>"$T_TMP/err"
	check event-weekly-exit-zero test $? -eq 0

	jq -c 'select(.kind == "event_effect")' "$T_TMP/fc.ndjson" >"$T_TMP/effect"
	check event-weekly-applied jq -e '.applied' "$T_TMP/effect"
	# Every match with a week of history behind it has a baseline, not
	# only those whose day before had no match.
	check event-weekly-most-windows jq -e '.windows >= 30' "$T_TMP/effect"
	check event-weekly-lift-narrow jq -e '.lift_upper / .lift_lower < 1.5' "$T_TMP/effect"

	# The two match hours of 25 June: the interval covers the actual hour
	# and its upper bound stays within twice it.
	for hour in 14 15; do
		actual=$(jq -r --arg t "1998-06-25T$hour:00:00Z" 'select(.ts == $t) | .requests' \
			"$T_TMP/wc98.ndjson")
		jq -c --arg t "1998-06-25T$hour:00:00Z" 'select(.kind == "forecast" and .ts == $t)' \
			"$T_TMP/fc.ndjson" >"$T_TMP/at$hour"
		check "event-weekly-$hour-has-lift" jq -e '.event_lift > 1' "$T_TMP/at$hour"
		check "event-weekly-$hour-covers" jq -e --argjson a "$actual" \
			'.volume_lower <= $a and $a <= .volume_upper' "$T_TMP/at$hour"
		check "event-weekly-$hour-upper-near" jq -e --argjson a "$actual" \
			'.volume_upper < 2 * $a' "$T_TMP/at$hour"
	done
fi

finish
