# pa-ingest --threads: parser threads give the same records, rejects and
# summary as one thread, in input order, across several batches, with
# JSON records passed through and reject reasons at their place.
. "$PA_ROOT/tests/integration/lib.sh"

cases=$PA_ROOT/tests/cases/pa-ingest
log=$T_TMP/mixed.log
i=0
while [ $i -lt 700 ]; do
	cat "$cases/tls-probe-junk/stdin" "$cases/crlf-bom-log/stdin"
	echo '{"kind":"event","ts":"2026-01-01T00:00:00Z","name":"x","event_type":"x","magnitude":1}'
	echo '{"time":"2026-01-01T00:00:00Z","path":"/j","status":"bad"}'
	echo "garbage line $i"
	i=$((i + 1))
done >"$log"

for n in 1 2 4; do
	pa-ingest --threads "$n" --rejects "$T_TMP/rej$n" "$log" >"$T_TMP/out$n" 2>"$T_TMP/err$n"
	echo $? >"$T_TMP/status$n"
	grep -v 'byte order mark' "$T_TMP/err$n" >"$T_TMP/msg$n"
done

check "threads: input spans several batches" test "$(wc -l <"$log")" -gt 5000
check "threads: 2 threads write the same records" cmp -s "$T_TMP/out1" "$T_TMP/out2"
check "threads: 4 threads write the same records" cmp -s "$T_TMP/out1" "$T_TMP/out4"
check "threads: same rejects file" cmp -s "$T_TMP/rej1" "$T_TMP/rej4"
check "threads: same reject messages and summary" cmp -s "$T_TMP/msg1" "$T_TMP/msg2"
check "threads: same exit status" cmp -s "$T_TMP/status1" "$T_TMP/status2"
check "threads: events passed through in place" \
	sh -c "sed -n 6p '$T_TMP/out2' | grep -q '\"kind\":\"event\"'"
check "threads: 0 is rejected" sh -c 'pa-ingest --threads 0 </dev/null 2>/dev/null; test $? -eq 2'
finish
