#!/bin/sh
# pa-forecast --state keeps event records.  A chain of warm runs, each fed
# only its new buckets and new events, is compared with one cold run on
# the whole history.  Then come which events the state keeps and drops, a
# record that replaces an earlier one, and the bound on kept events.
. "$PA_ROOT/tests/integration/lib.sh"

# agree FILE1 FILE2 REL: print true when the files, one number per line,
# have one length above 0 and agree to relative tolerance REL everywhere.
agree() {
	jq -n --slurpfile a "$1" --slurpfile b "$2" --argjson rel "$3" '
		($a | length) > 0 and ($a | length) == ($b | length) and
		([range(0; $a | length) as $i
		  | ($a[$i] - $b[$i] | fabs) <= $rel * ([($a[$i] | fabs), ($b[$i] | fabs), 1] | max)]
		 | all)'
}

# lifts FILE: the event_effect numbers, one per line, in record order.
lifts() {
	jq -c 'select(.kind == "event_effect")
		| .lift, .lift_lower, .lift_upper, .windows' "$1"
}

# forecasts FILE: the forecast numbers, one per line.
forecasts() {
	jq -c 'select(.kind == "forecast")
		| .predicted_volume, .volume_lower, .volume_upper' "$1"
}

if need_shared state-events-wc98; then
	wc98_hourly "$T_TMP/wc98.ndjson"
	pa-ingest -t events --field ts=match_date+match_time --utc-offset +02:00 \
		--field name=match_name --event-type match \
		"$SHARED/data/wc98-requests/wc98_matches_fjelstul.csv" >"$T_TMP/matches.ndjson" 2>/dev/null

	# between FILE FROM TO: the records of FILE with FROM <= ts < TO.
	between() {
		jq -c --arg a "$2" --arg b "$3" 'select(.ts >= $a and .ts < $b)' "$1"
	}

	# chain STATE OUT OPTIONS...: hourly World Cup requests from 1 June
	# 1998.  The first run gets 14 days and the matches to the end of the
	# next day, as a schedule is known a day ahead.  Then each run gets
	# one more day of buckets and the matches of that day and the next,
	# so every match is fed twice.  The last run's history ends on 24
	# June, 576 hours, which is the window kept for these seasons and a
	# day ahead, so the state contains the whole history.
	chain() {
		state=$1
		out=$2
		shift 2
		rm -f "$state"
		{
			between "$T_TMP/wc98.ndjson" 1998-06-01 1998-06-15
			between "$T_TMP/matches.ndjson" 1998-06-01 1998-06-16
		} >"$T_TMP/piece"
		pa-forecast --horizon 24 --state "$state" "$@" "$T_TMP/piece" >"$out" 2>/dev/null
		for day in 15 16 17 18 19 20 21 22 23 24; do
			{
				between "$T_TMP/wc98.ndjson" "1998-06-$day" "1998-06-$((day + 1))"
				between "$T_TMP/matches.ndjson" "1998-06-$day" "1998-06-$((day + 2))"
			} >"$T_TMP/piece"
			pa-forecast --horizon 24 --state "$state" "$@" "$T_TMP/piece" >"$out" 2>/dev/null
		done
	}
	between "$T_TMP/wc98.ndjson" 1998-06-01 1998-06-25 >"$T_TMP/history.ndjson"

	# The regression model with a full fit on every update: the match
	# column must be fitted from the past windows kept in the state.  Lifts
	# and forecasts must equal the cold run's to 1e-9 relative, because
	# that allows only for the last of the 12 digits written.
	chain "$T_TMP/r.json" "$T_TMP/r-warm.ndjson" --model regress --refit-every 0
	cat "$T_TMP/history.ndjson" "$T_TMP/matches.ndjson" |
		pa-forecast --horizon 24 --model regress >"$T_TMP/r-cold.ndjson" 2>/dev/null
	lifts "$T_TMP/r-warm.ndjson" >"$T_TMP/r-warm.lifts"
	lifts "$T_TMP/r-cold.ndjson" >"$T_TMP/r-cold.lifts"
	forecasts "$T_TMP/r-warm.ndjson" >"$T_TMP/r-warm.fc"
	forecasts "$T_TMP/r-cold.ndjson" >"$T_TMP/r-cold.fc"
	check state-events-regress-cold-has-lift \
		jq -e -s '[.[] | select(.kind == "event_effect")] | length == 1 and .[0].windows >= 20' \
		"$T_TMP/r-cold.ndjson"
	check state-events-regress-lift-equal test "$(agree "$T_TMP/r-warm.lifts" "$T_TMP/r-cold.lifts" 1e-9)" = true
	check state-events-regress-uses-column \
		jq -e -s '[.[] | select(.kind == "forecast")][0].model | startswith("regress(p=24,168,x=1)")' \
		"$T_TMP/r-warm.ndjson"
	check state-events-regress-24-forecasts test "$(wc -l <"$T_TMP/r-warm.fc")" -eq 72
	check state-events-regress-forecasts-equal test "$(agree "$T_TMP/r-warm.fc" "$T_TMP/r-cold.fc" 1e-9)" = true

	# Every match was fed twice but is kept once, two matches that start
	# together stay two, and all the 44 matches from 10 to 25 June end
	# after the first kept bucket.
	between "$T_TMP/matches.ndjson" 1998-06-01 1998-06-26 | jq -c '[.name, .ts]' >"$T_TMP/fed"
	jq -c '.events[] | [.name, .ts]' "$T_TMP/r.json" >"$T_TMP/kept"
	check state-events-fed-44 test "$(wc -l <"$T_TMP/fed")" -eq 44
	check state-events-kept-once cmp -s "$T_TMP/fed" "$T_TMP/kept"

	# The automatic choice with the kept parameters between full fits.
	# Every run estimates the lifts afresh from the kept window and events,
	# so they must equal the cold ones.  The choice kept from two weeks of
	# history is another model than the cold run's on 24 days, so every
	# warm point forecast must only lie inside the cold interval (0.85 of
	# its half-width away at most, when last measured).
	chain "$T_TMP/a.json" "$T_TMP/a-warm.ndjson" --drift 0
	cat "$T_TMP/history.ndjson" "$T_TMP/matches.ndjson" |
		pa-forecast --horizon 24 >"$T_TMP/a-cold.ndjson" 2>/dev/null
	lifts "$T_TMP/a-warm.ndjson" >"$T_TMP/a-warm.lifts"
	lifts "$T_TMP/a-cold.ndjson" >"$T_TMP/a-cold.lifts"
	check state-events-auto-has-lift test "$(wc -l <"$T_TMP/a-cold.lifts")" -eq 4
	check state-events-auto-lift-equal test "$(agree "$T_TMP/a-warm.lifts" "$T_TMP/a-cold.lifts" 1e-9)" = true
	check state-events-auto-forecasts-kept test "$(jq -r 'select(.kind == "forecast") | .fit' "$T_TMP/a-warm.ndjson" | sort -u)" = kept
	check state-events-auto-within-interval test "$(jq -s --slurpfile c "$T_TMP/a-cold.ndjson" '
		[.[] | select(.kind == "forecast")] as $w
		| [$c[] | select(.kind == "forecast")] as $k
		| ($w | length) == 24 and ($k | length) == 24 and
		  ([range(0; 24) as $i | ($w[$i].predicted_volume - $k[$i].predicted_volume | fabs)
		    <= ($k[$i].volume_upper - $k[$i].volume_lower) / 2] | all)' "$T_TMP/a-warm.ndjson")" = true

	# A state of format_version 2 written before events were kept has no
	# "events": it still loads, and the run adds the events it is given.
	jq -c 'del(.events)' "$T_TMP/r.json" >"$T_TMP/old.json"
	between "$T_TMP/matches.ndjson" 1998-06-25 1998-06-27 >"$T_TMP/piece"
	pa-forecast --horizon 24 --state "$T_TMP/old.json" "$T_TMP/piece" >/dev/null 2>"$T_TMP/old.err"
	check state-events-old-file-loads test $? -eq 0
	check state-events-old-file-gets-events \
		test "$(jq '.events | length' "$T_TMP/old.json")" -eq "$(wc -l <"$T_TMP/piece")"
fi

# hourly N: N hourly buckets of shop/cart from 2026-06-01, 100 to 106 requests.
hourly() {
	awk -v n="$1" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "{\"kind\":\"bucket\",\"ts\":%d,\"step_s\":3600,\"tenant_service_name\":\"shop/cart\",\"requests\":%d}\n", 1780272000 + i * 3600, 100 + i % 7
	}'
}

# event HOUR TYPE [FIELDS]: an event record HOUR hours after the first bucket.
event() {
	jq -n -c --argjson h "$1" --arg t "$2" --argjson extra "${3:-{\}}" \
		'{kind: "event", ts: (1780272000 + $h * 3600 | todate), name: "e", event_type: $t,
		  magnitude: 1} + $extra'
}

# Without seasons and one step ahead the window is 74 buckets, so after
# 200 buckets it starts at hour 126.  An event that ends before it is
# dropped, whatever its scope.  An event inside it stays, and so does one
# ahead of the history.  One for a series the state does not contain stays
# while it ends after the earliest kept bucket.
{
	hourly 200
	event 10 sale
	event 10 sale '{"tenant": "shop", "service": "cart"}'
	event 124 sale '{"end": "2026-06-06T08:00:00Z"}'
	event 150 sale '{"tenant": "shop"}'
	event 150 sale '{"tenant": "other"}'
	event 150 sale '{"service": "search"}'
	event 230 launch
} >"$T_TMP/prune.ndjson"
rm -f "$T_TMP/p.json"
pa-forecast --period 0 --period2 0 --horizon 1 --state "$T_TMP/p.json" "$T_TMP/prune.ndjson" \
	>/dev/null 2>&1
check state-events-window-starts-at-126 \
	test "$(jq -r '.series["shop/cart"].first' "$T_TMP/p.json")" = 2026-06-06T06:00:00Z
check state-events-old-dropped \
	test "$(jq -c '[.events[] | select(.ts < "2026-06-06")] | length' "$T_TMP/p.json")" -eq 0
check state-events-recent-kept test "$(jq '.events | length' "$T_TMP/p.json")" -eq 5
check state-events-scopes-kept test "$(jq -c '[.events[] | [.tenant, .service]]' "$T_TMP/p.json")" = \
	'[[null,null],["shop",null],["other",null],[null,"search"],[null,null]]'
check state-events-future-kept \
	test "$(jq -r '.events[-1] | .event_type + " " + .ts' "$T_TMP/p.json")" = "launch 2026-06-10T14:00:00Z"
check state-events-end-only-when-given test "$(jq -c '[.events[] | has("end")]' "$T_TMP/p.json")" = \
	'[true,false,false,false,false]'

# A later record for the same event type, name, scope and start replaces
# the earlier one, from the state or in this run.  Another name makes it
# another event.
{
	event 230 launch '{"end": "2026-06-10T20:00:00Z", "magnitude": 3}'
	event 230 launch '{"name": "other name"}'
} | pa-forecast --period 0 --period2 0 --horizon 1 --state "$T_TMP/p.json" >/dev/null 2>&1
check state-events-replaced-fields test "$(jq -c '[.events[] | select(.event_type == "launch") | [.name, .end, .magnitude]]' "$T_TMP/p.json")" = \
	'[["e","2026-06-10T20:00:00Z",3],["other name",null,1]]'
{
	event 240 launch
	event 240 launch '{"magnitude": 5}'
} | pa-forecast --period 0 --period2 0 --horizon 1 --state "$T_TMP/p.json" >/dev/null 2>&1
check state-events-replaced-in-run \
	test "$(jq -c '[.events[] | select(.ts == "2026-06-11T00:00:00Z") | .magnitude]' "$T_TMP/p.json")" = '[5]'

# Over the bound of 100,000 events, the state keeps those that start last
# and reports how many it left out.
{
	hourly 200
	awk 'BEGIN {
		for (i = 0; i < 100003; i++)
			printf "{\"kind\":\"event\",\"ts\":%d,\"end\":%d,\"event_type\":\"tick\",\"magnitude\":1}\n", 1780272000 + 199 * 3600 + i, 1780272000 + 199 * 3600 + i + 60
	}'
} >"$T_TMP/many.ndjson"
rm -f "$T_TMP/m.json"
pa-forecast --period 0 --period2 0 --horizon 1 --state "$T_TMP/m.json" "$T_TMP/many.ndjson" \
	>/dev/null 2>"$T_TMP/many.err"
check state-events-bound-warns grep -q "keeps at most 100000 events, so the 3 that start first are left out" "$T_TMP/many.err"
check state-events-bound-kept test "$(jq '.events | length' "$T_TMP/m.json")" -eq 100000
check state-events-bound-oldest-dropped \
	test "$(jq -r '.events[0].ts' "$T_TMP/m.json")" = 2026-06-09T07:00:03Z

# A state file with more events than the bound is an error naming the
# file and the count, and is left untouched.
jq -c '.events += [.events[0]]' "$T_TMP/m.json" >"$T_TMP/over.json"
cp "$T_TMP/over.json" "$T_TMP/over.orig"
pa-forecast --state "$T_TMP/over.json" /dev/null >/dev/null 2>"$T_TMP/over.err"
check state-events-over-bound-status test $? -eq 2
check state-events-over-bound-message grep -q "state file $T_TMP/over.json: \"events\" has 100001 records, more than the 100000 a state keeps" "$T_TMP/over.err"
check state-events-over-bound-untouched cmp -s "$T_TMP/over.json" "$T_TMP/over.orig"

finish
