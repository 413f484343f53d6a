# Every command in the EXAMPLES section of pa-forecast(1), as mandoc
# renders it, runs on fixture files and writes records.  The live example
# follows a growing log with tail -F, so it must write forecasts while its
# input is still open.  SIGTERM then stops it.
. "$PA_ROOT/tests/integration/lib.sh"

need_shared "forecast man examples" || finish

dir=$T_TMP/work
mkdir "$dir" "$dir/state"
apache=$SHARED/data/http-apache-combined-elastic/apache_logs.log

# Fixtures under the file names the examples use.  /var/lib/pa becomes state/.
cp "$apache" "$dir/access.log"
pa-ingest "$apache" 2>/dev/null >"$T_TMP/requests.ndjson"
pa-score --fit "$dir/state/score.json" --cost bytes_out "$T_TMP/requests.ndjson" 2>/dev/null
pa-score --model "$dir/state/score.json" --rollup 5m "$T_TMP/requests.ndjson" >"$dir/buckets.ndjson"
gzip -c "$dir/buckets.ndjson" >"$dir/buckets.ndjson.gz"
tail -n 500 "$T_TMP/requests.ndjson" >"$dir/last-hour.ndjson"
peyton_daily "$dir/views.ndjson" "$dir/playoffs.ndjson"

extract_examples pa-forecast.1 "$T_TMP/example"
for ex in "$T_TMP"/example*; do
	sed -i "s|/var/lib/pa/|$dir/state/|g" "$ex"
done

count=$(ls "$T_TMP"/example* | wc -l)
check "forecast man examples: all six found" test "$count" -eq 6

# Run the live example in its own session, so that stopping it reaches
# tail -F and every filter of the pipeline.  The log starts empty and grows,
# as a live log does, by its first 120 requests, from 10:05 to 11:05.  The
# whole log would make gigabytes of forecasts a day ahead per bucket.
run_live_example() {
	: >"$dir/access.log"
	rm -f "$dir/state/forecast.json"
	(cd "$dir" && exec setsid sh "$1" >"$T_TMP/out" 2>"$T_TMP/err") &
	pid=$!
	sleep 1
	head -n 120 "$apache" >>"$dir/access.log"
	i=0
	while ! grep -q '"kind":"forecast"' "$T_TMP/out" && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q '"kind":"forecast"' "$T_TMP/out"
	open_status=$?
	kill -TERM -"$pid"
	wait "$pid" 2>/dev/null

	# The shell ends first, so wait for the filters as well, up to 30 seconds.
	i=0
	while kill -0 -"$pid" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	cp "$apache" "$dir/access.log"
	return $open_status
}

for ex in "$T_TMP"/example*; do
	first=$(grep -m1 pa- "$ex" | cut -c1-50)
	if grep -q 'tail -F' "$ex"; then
		check "live man example forecasts while its input is open" run_live_example "$ex"
		check "live man example saves its state when stopped" \
			test -s "$dir/state/forecast.json"
		continue
	fi
	check_example "$ex" "$dir" "$first"
done
finish
