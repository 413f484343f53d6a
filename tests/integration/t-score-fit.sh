# pa-score --fit and --model on real per-request cost, and bodies nested too
# deep to walk.
. "$PA_ROOT/tests/integration/lib.sh"

# A JSON body nested a million levels deep is rejected with a message, not
# a crash; so is one deeper than jansson parses.
deep_body_rejected() {
	awk 'BEGIN {
		printf "{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"request_body\":\""
		for (i = 0; i < 1000000; i++) printf "["
		for (i = 0; i < 1000000; i++) printf "]"
		print "\"}"
		print "{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"request_body\":\"[[1]]\"}"
	}' >"$T_TMP/deep"
	pa-score --max-line 4000000 --max-bad 0.5 "$T_TMP/deep" >"$T_TMP/out" 2>"$T_TMP/err" ||
		return 1
	grep -q 'field "request_body" nests deeper than 64 levels' "$T_TMP/err" &&
		[ "$(wc -l <"$T_TMP/out")" -eq 1 ]
}
check "score million-deep body rejected" deep_body_rejected

deep_object_rejected() {
	awk 'BEGIN {
		printf "{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"request_body\":"
		for (i = 0; i < 100000; i++) printf "{\"a\":"
		printf "1"
		for (i = 0; i < 100000; i++) printf "}"
		print "}"
	}' >"$T_TMP/deep"
	pa-score --max-line 4000000 "$T_TMP/deep" >"$T_TMP/out" 2>"$T_TMP/err"
	[ $? -eq 1 ] && grep -q 'deep' "$T_TMP/err" && [ ! -s "$T_TMP/out" ]
}
check "score deep object body rejected" deep_object_rejected

bad_model_usage_error() {
	echo '{"pa_score_model": 2}' >"$T_TMP/model"
	pa-score --model "$T_TMP/model" </dev/null 2>"$T_TMP/err"
	[ $? -eq 2 ] && grep -q 'not a pa-score model' "$T_TMP/err"
}
check "score bad model usage error" bad_model_usage_error

too_few_rows() {
	echo '{"kind":"request","tenant_service_name":"t/a","duration_ms":5}' |
		pa-score --fit "$T_TMP/m2" 2>"$T_TMP/err"
	[ $? -eq 1 ] && grep -q 'cannot fit a model' "$T_TMP/err" && [ ! -e "$T_TMP/m2" ]
}
check "score fit too few rows" too_few_rows

# A ridge fit on a cost field other than duration_ms: 1 + cost doubles
# with each extra path segment, so the fitted weight is ln 2.  Against the
# median request (two segments), three segments score 2 and one scores
# 0.5, also for a service the model has not seen.
ridge_on_cpu_ms() {
	awk 'BEGIN {
		for (i = 0; i < 60; i++) {
			d = i % 3
			p = (d == 0) ? "/a" : (d == 1) ? "/a/b" : "/a/b/c"
			printf "{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"path\":\"%s\",\"cpu_ms\":%d}\n", p, 2 ^ (d + 3) - 1
		}
	}' >"$T_TMP/cpu"
	pa-score --fit "$T_TMP/ridge.json" --fit-method ridge --cost cpu_ms "$T_TMP/cpu" || return 1
	grep -q '"target": "ln(1 + cpu_ms)"' "$T_TMP/ridge.json" || return 1
	grep -q '"fit": "ridge"' "$T_TMP/ridge.json" || return 1
	printf '%s\n' '{"kind":"request","tenant_service_name":"t/a","path":"/x/y/z"}' \
		'{"kind":"request","tenant_service_name":"other/svc","path":"/x"}' |
		pa-score --model "$T_TMP/ridge.json" >"$T_TMP/scored" || return 1
	sed 's/.*"complexity":\([0-9.]*\)}/\1/' "$T_TMP/scored" | tr '\n' ' ' |
		awk '{ exit !($1 > 1.999 && $1 < 2.001 && $2 > 0.4999 && $2 < 0.5001) }'
}
check "score ridge fit on cpu_ms" ridge_on_cpu_ms

need_shared "score fit held out" || finish

sh "$PA_ROOT/scripts/eval-score" >"$T_TMP/eval" || { echo "FAIL eval-score ran"; finish; }
cat "$T_TMP/eval"
value() { sed -n "s/^$1 //p" "$T_TMP/eval"; }

# The fitted score ranks held-out costs clearly better than payload size.
check "score fit beats payload size" awk -v f="$(value spearman_fitted)" \
	-v b="$(value spearman_payload_size)" 'BEGIN { exit !(f > b + 0.3 && f > 0.4) }'
check "score fit held-out r2" awk -v r="$(value r2_fitted_ln_cost)" 'BEGIN { exit !(r > 0.2) }'

finish
