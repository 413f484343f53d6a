# pa-ingest --follow: lines appended to a growing file are read, a last
# line without its newline waits for the rest, rotation is followed, and
# a stop signal ends the run with the held fragment reported as cut off.
. "$PA_ROOT/tests/integration/lib.sh"

log=$T_TMP/access.log
out=$T_TMP/out.ndjson
err=$T_TMP/err.txt
line() { printf '192.0.2.%s - - [01/Jan/2026:00:00:0%s +0000] "GET /%s HTTP/1.1" 200 5 "-" "t"\n' "$1" "$1" "$2"; }

# Wait up to 5 s for the output to reach N lines.
wait_lines() {
	i=0
	while [ "$(wc -l <"$out")" -lt "$1" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(wc -l <"$out")" -eq "$1" ]
}

line 1 a >"$log"
: >"$out"
pa-ingest --follow "$log" >"$out" 2>"$err" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$T_TMP"' EXIT

check "follow reads the existing line" wait_lines 1

printf '192.0.2.2 - - [01/Jan/2026:00:00:02 +0000] "GET /b HT' >>"$log"
sleep 0.6
check "follow holds a line without newline" test "$(wc -l <"$out")" -eq 1
printf 'TP/1.1" 200 6 "-" "t"\n' >>"$log"
check "follow reads the completed line" wait_lines 2

# logrotate's default: rename, then a new file at the same path.
mv "$log" "$log.1"
line 3 c >>"$log.1"
line 4 d >"$log"
check "follow drains the rotated file and reads the new one" wait_lines 4
check "follow keeps the order across rotation" \
	sh -c "jq -r .path '$out' | tr '\n' ' ' | grep -qx '/a /b /c /d '"

printf '192.0.2.5 - - [01/Jan/2026:00:00:05 +0000] "GET /e HT' >>"$log"
sleep 0.5
kill -TERM $pid
wait $pid
status=$?
check "follow exits after a stop signal" test "$status" -le 1
check "follow reports the held fragment as cut off" \
	grep -q "access.log:2: record cut off at end of input" "$err"
check "follow writes a summary on stop" grep -q "summary: 5 read, 4 written" "$err"

check "follow rejects stdin" sh -c 'pa-ingest --follow - </dev/null 2>/dev/null; test $? -eq 2'
finish
