# A tool reading a pipe passes records on while the writer is still
# writing, as in tail -f access.log | pa-ingest | pa-score --follow.
. "$PA_ROOT/tests/integration/lib.sh"

event='{"kind":"event","ts":"2026-01-05T12:00:00Z","name":"launch","event_type":"campaign","magnitude":1}'
fifo=$T_TMP/fifo
mkfifo "$fifo"

# The writer keeps the pipe open for 3 seconds after the first line.
# The reader is stopped after 1 second, so only a record passed on early is seen.
(printf '%s\n' "$event"; sleep 3) >"$fifo" &
writer=$!
timeout 1 pa-score <"$fifo" >"$T_TMP/out" 2>/dev/null
check "pa-score passes a record on before the pipe closes" grep -q '"name":"launch"' "$T_TMP/out"
kill $writer 2>/dev/null
wait $writer 2>/dev/null

# A rejected line reaches the --rejects file while the writer is still
# writing, so a reader stopped early, or killed, has lost none.
bad_bucket='{"kind":"bucket","ts":"2026-06-01T00:00:00Z","step_s":3600,"tenant_service_name":"a/b","requests":-1}'
bad_request='{"kind":"request","tenant_service_name":"a/b","status":99}'
for tool in pa-forecast pa-score; do
	fifo=$T_TMP/fifo-$tool
	mkfifo "$fifo"
	line=$bad_bucket
	[ $tool = pa-score ] && line=$bad_request
	(printf '%s\n' "$line"; sleep 3) >"$fifo" &
	writer=$!
	opts=--follow
	[ $tool = pa-score ] && opts=
	timeout -s KILL 1 $tool $opts --rejects "$T_TMP/$tool.rej" <"$fifo" >/dev/null 2>&1
	check "$tool rejects written before the pipe closes" \
		test "$(cat "$T_TMP/$tool.rej" 2>/dev/null)" = "$line"
	kill $writer 2>/dev/null
	wait $writer 2>/dev/null
done

finish
