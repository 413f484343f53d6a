#!/bin/sh
# pa-forecast reading the rollups of a log cut inside a bucket gets what it
# gets from their pa-score --merge.  The input is the real NASA day, cut
# once at 12:22 and rolled up hourly, and cut every hour at :22 and rolled
# up per five minutes, as the hourly cron pieces of a live log are.
. "$PA_ROOT/tests/integration/lib.sh"

need_shared "forecast cut rollups" || finish

nasa=$SHARED/data/nasa-http-1995/nasa_19950801.tsv
pa-ingest "$nasa" 2>/dev/null | pa-score >"$T_TMP/scored"

# piece FROM TO: the scored requests from FROM (inclusive) to TO, as
# timestamps of the form 1995-08-01THH:MM:SSZ, which sort as strings.
piece() {
	awk -v from="$1" -v to="$2" '{
		i = index($0, "\"ts\":\"")
		ts = substr($0, i + 6, 20)
		if (ts >= from && ts < to)
			print
	}' "$T_TMP/scored"
}

# same_as_merge DIR ARGS...: pa-forecast ARGS on the rollups DIR/r* equals
# pa-forecast ARGS on their merge, in its records and in its kept history.
same_as_merge() {
	dir=$1
	shift
	pa-score --merge "$dir"/r* >"$dir/merged" 2>/dev/null || return 1
	pa-forecast "$@" --state "$dir/pieces.json" "$dir"/r* >"$dir/pieces.out" 2>/dev/null ||
		return 1
	pa-forecast "$@" --state "$dir/merged.json" "$dir/merged" >"$dir/merged.out" 2>/dev/null ||
		return 1
	cmp "$dir/pieces.out" "$dir/merged.out" || return 1
	jq -c '.series | to_entries[] | [.key, .value.requests]' "$dir/pieces.json" >"$dir/pieces.kept"
	jq -c '.series | to_entries[] | [.key, .value.requests]' "$dir/merged.json" >"$dir/merged.kept"
	cmp "$dir/pieces.kept" "$dir/merged.kept"
}

mkdir "$T_TMP/two" "$T_TMP/hourly"
piece 1995-08-01T00:00:00Z 1995-08-01T12:22:03Z | pa-score --rollup 1h >"$T_TMP/two/r1" 2>/dev/null
piece 1995-08-01T12:22:03Z 1995-08-02T00:00:00Z | pa-score --rollup 1h >"$T_TMP/two/r2" 2>/dev/null
check "cut leaves partial buckets" grep -q '"covered_s"' "$T_TMP/two/r2"
check "two hourly rollups equal their merge" same_as_merge "$T_TMP/two" -H 3
check "every series forecast" \
	test "$(jq -r 'select(.horizon_steps == 1) | .tenant_service_name' "$T_TMP/two/pieces.out" | wc -l)" -eq 37
# Series quiet on one side of the cut still get a forecast: default/ksc
# has requests only after it, default/iuma only before it.
check "series only after the cut forecast" \
	grep -q '"tenant_service_name":"default/ksc"' "$T_TMP/two/pieces.out"
check "series quiet after the cut known" \
	test "$(jq -r '.series["default/iuma"].requests' "$T_TMP/two/pieces.json")" = "2 0 0 0 0 0 0"

for h in 06 07 08 09 10 11 12 13 14 15 16 17 18; do
	next=$(printf '%02d' $((${h#0} + 1)))
	from=1995-08-01T$h:22:00Z
	[ "$h" = 06 ] && from=1995-08-01T00:00:00Z
	piece "$from" "1995-08-01T$next:22:00Z" | pa-score --rollup 5m >"$T_TMP/hourly/r$h" 2>/dev/null
done
check "hourly five-minute rollups equal their merge" same_as_merge "$T_TMP/hourly" -H 3

finish
