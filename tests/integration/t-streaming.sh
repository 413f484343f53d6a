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

finish
