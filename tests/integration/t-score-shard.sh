# pa-score rollups are exactly mergeable: the real NASA and Apache logs,
# rolled up in four shards under GNU parallel and merged, equal the
# single-process rollup byte for byte; so do rollups of two halves of one
# series' requests.
. "$PA_ROOT/tests/integration/lib.sh"

need_shared "score shard merge" || finish

nasa=$SHARED/data/nasa-http-1995/nasa_19950801.tsv
sh "$PA_ROOT/scripts/nasa-requests" "$nasa" >"$T_TMP/nasa.ndjson"

# Run "$1 | pa-score --rollup $2" whole and in four shards under GNU
# parallel, merge the shards, and compare.
sharded_equals_whole() {
	producer=$1
	step=$2
	sh -c "$producer" | pa-score --rollup "$step" >"$T_TMP/whole" || return 1
	parallel --will-cite "$producer | pa-score --shard {}/4 --rollup $step >'$T_TMP/part{}'" \
		::: 0 1 2 3 || return 1
	for k in 0 1 2 3; do
		[ -s "$T_TMP/part$k" ] || { echo "shard $k is empty"; return 1; }
	done
	pa-score --merge "$T_TMP"/part3 "$T_TMP"/part1 "$T_TMP"/part0 "$T_TMP"/part2 \
		>"$T_TMP/merged" || return 1
	cmp "$T_TMP/whole" "$T_TMP/merged"
}

check "nasa 4 shards merge to whole" sharded_equals_whole "cat '$T_TMP/nasa.ndjson'" 5m

# Every request lands in exactly one bucket.
count_requests() {
	total=$(grep -o '"requests":[0-9]*' "$1" | cut -d: -f2 | awk '{ s += $1 } END { print s }')
	[ "$total" = "$2" ] || { echo "requests $total, expected $2"; return 1; }
}
check "nasa merged counts every request" count_requests "$T_TMP/merged" 30969

# Shards hold disjoint series.
disjoint_series() {
	for k in 0 1 2 3; do
		grep -o '"tenant_service_name":"[^"]*"' "$T_TMP/part$k" | sort -u
	done | sort | uniq -d | grep -q . && return 1
	return 0
}
check "nasa shards disjoint" disjoint_series

# Flat lines take a fast reader; an object-valued field sends the same
# records through jansson.  Both give the same rollup.
fast_equals_full() {
	pa-score --rollup 1m "$T_TMP/nasa.ndjson" >"$T_TMP/fast" || return 1
	sed 's/}$/,"extra":{}}/' "$T_TMP/nasa.ndjson" | pa-score --rollup 1m >"$T_TMP/full" ||
		return 1
	cmp "$T_TMP/fast" "$T_TMP/full"
}
check "nasa fast reader equals full parser" fast_equals_full

# Two halves of the same series (odd and even lines), scored once first so
# both halves share the scale, merge to the rollup of the whole.
halves_equal_whole() {
	pa-score "$T_TMP/nasa.ndjson" >"$T_TMP/scored" || return 1
	pa-score --rollup 1m "$T_TMP/scored" >"$T_TMP/whole" || return 1
	awk 'NR % 2' "$T_TMP/scored" | pa-score --rollup 1m >"$T_TMP/odd" || return 1
	awk '!(NR % 2)' "$T_TMP/scored" | pa-score --rollup 1m >"$T_TMP/even" || return 1
	pa-score --merge "$T_TMP/even" "$T_TMP/odd" >"$T_TMP/merged" || return 1
	cmp "$T_TMP/whole" "$T_TMP/merged"
}
check "nasa halves merge to whole" halves_equal_whole

# The Apache combined log through pa-ingest, when pa-ingest is built.
if command -v pa-ingest >/dev/null 2>&1; then
	log=$SHARED/data/http-apache-combined-elastic/apache_logs.log
	check "apache 4 shards merge to whole" sharded_equals_whole "pa-ingest '$log'" 1h
else
	echo "skip apache 4 shards merge to whole: pa-ingest is not built"
fi

finish
