# Conventions every tool keeps: --help and --version on stdout with status 0,
# a usage error with status 2 and a hint, a failed write to a full disk with
# status 3, and a closed pipe ending the tool quietly.
. "$PA_ROOT/tests/integration/lib.sh"

# A request, a bucket, a forecast and a plan: each tool consumes one kind and
# passes the rest through, so each has something to write.
cat >"$T_TMP/in.ndjson" <<'JSON'
{"kind":"request","ts":"2026-01-05T10:00:00Z","tenant":"acme","service":"api","tenant_service_name":"acme/api","method":"GET","path":"/v1/items","status":200,"bytes_out":512}
{"kind":"event","ts":"2026-01-05T12:00:00Z","name":"launch","event_type":"campaign","magnitude":1}
JSON

for tool in "$BIN"/pa-*; do
	[ -x "$tool" ] || continue
	t=${tool##*/}

	check "$t help" sh -c "'$tool' --help >'$T_TMP/help' && grep -q '^usage: $t' '$T_TMP/help'"
	check "$t version" sh -c "'$tool' --version | grep -q '^$t (pa) '"
	check "$t unknown option" sh -c "'$tool' --no-such-option </dev/null >/dev/null 2>'$T_TMP/err'; test \$? -eq 2 && grep -q -- '--help' '$T_TMP/err'"
	check "$t full disk" sh -c "'$tool' '$T_TMP/in.ndjson' >/dev/full 2>'$T_TMP/err'; test \$? -eq 3"
	check "$t closed pipe" sh -c "yes '$(head -1 "$T_TMP/in.ndjson")' | head -20000 >'$T_TMP/many'; '$tool' '$T_TMP/many' 2>'$T_TMP/err' | head -1 >/dev/null; ! grep -qi 'broken pipe\|write.*failed' '$T_TMP/err'"
done

finish
