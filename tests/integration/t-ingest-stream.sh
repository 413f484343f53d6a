# pa-ingest reading a pipe writes each record while the writer keeps
# the pipe open: with the default threads, with --threads 2, from stdin
# and from a named FIFO.  A writer that never closes would otherwise keep
# the records in pa-ingest's buffers.
. "$PA_ROOT/tests/integration/lib.sh"

fifo=$T_TMP/live.fifo
out=$T_TMP/out.ndjson
mkfifo "$fifo"
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

# stream NAME stdin|file PA-INGEST-ARGS...: start pa-ingest on the FIFO,
# write one line, check it arrives, write a second, check again, then close.
stream() {
	label=$1
	how=$2
	shift 2
	: >"$out"
	if [ "$how" = stdin ]; then
		pa-ingest -q "$@" <"$fifo" >"$out" 2>"$T_TMP/err" &
	else
		pa-ingest -q "$@" "$fifo" >"$out" 2>"$T_TMP/err" &
	fi
	pid=$!
	exec 3>"$fifo"
	line 1 a >&3
	check "$label: first line written before the writer closes" wait_lines 1
	line 2 b >&3
	check "$label: second line follows" wait_lines 2
	exec 3>&-
	wait $pid
	check "$label: exit status 0 after the writer closes" test $? -eq 0
}

stream "stream stdin" stdin
stream "stream stdin, 2 threads" stdin --threads 2
stream "stream named FIFO" file
stream "stream named FIFO, 2 threads" file --threads 2

# A stop signal while input is waiting: the lines read so far are written
# and the summary counts them.  The writer is faster than the parser and
# keeps the pipe open, so input is waiting when the signal arrives.
i=0
while [ $i -lt 3000 ]; do
	line 1 a
	line 2 b
	i=$((i + 1))
done >"$T_TMP/chunk.log"
# The writer sends 400 copies of the chunk, far more than pa-ingest parses
# before its first output appears.  The signal follows that first output:
# a fixed delay can fire on a loaded machine before the handler is set.
# A descheduled writer can still let pa-ingest drain the pipe first, and
# then pa-ingest ends at once by the default action, as documented.  So
# such a try is repeated, up to five times, until one stops with input
# waiting.
copies=400
total=$((copies * $(wc -l <"$T_TMP/chunk.log")))
write_copies() {
	i=0
	while [ $i -lt $copies ]; do
		cat "$T_TMP/chunk.log" || return
		i=$((i + 1))
	done
}

for threads in 1 2; do
	attempt=0
	status=
	while [ $attempt -lt 5 ] && [ "$status" != 0 ]; do
		attempt=$((attempt + 1))
		: >"$out"
		pa-ingest --threads $threads <"$fifo" >"$out" 2>"$T_TMP/err" &
		pid=$!
		exec 3>"$fifo"
		write_copies >&3 &
		writer=$!
		tries=0
		while [ ! -s "$out" ] && [ $tries -lt 200 ]; do
			sleep 0.05
			tries=$((tries + 1))
		done
		kill -TERM $pid
		wait $pid
		status=$?
		kill $writer 2>/dev/null
		wait $writer 2>/dev/null
		exec 3>&-
	done
	written=$(sed -n 's/.*summary: [0-9]* read, \([0-9]*\) written.*/\1/p' "$T_TMP/err")
	check "stop with input waiting, $threads threads: exit status 0" test "$status" -eq 0
	check "stop with input waiting, $threads threads: summary written" test -n "$written"
	check "stop with input waiting, $threads threads: summary counts the output" \
		test "$written" = "$(wc -l <"$out")"
	check "stop with input waiting, $threads threads: stopped before the end" \
		test "$(wc -l <"$out")" -lt "$total"
	check "stop with input waiting, $threads threads: last record complete" \
		sh -c "tail -1 '$out' | jq -e .ts >/dev/null"
done
finish
