#!/bin/sh
# pa-apply against the real kubectl and a mock API server on 127.0.0.1.
#
# A Kubernetes API server cannot be installed here, so t-apply-kubemock.py
# serves the endpoints kubectl calls: discovery, GET of a deployment and
# its scale subresource, merge PATCH of the scale and of an HPA.  It logs
# every request, and the checks read that log.
. "$PA_ROOT/tests/integration/lib.sh"

if ! command -v kubectl >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL kubectl (not installed; scripts/install-deps test installs it)"
		exit 1
	fi
	echo "skip apply: kubectl not installed"
	exit 0
fi

mock_pid=
stop_mock() {
	if [ -n "$mock_pid" ]; then
		kill "$mock_pid" 2>/dev/null
		wait "$mock_pid" 2>/dev/null
		mock_pid=
	fi
}
trap 'stop_mock; rm -rf "$T_TMP"' EXIT INT TERM

# kubectl keeps its discovery cache under HOME; keep it in the temp dir.
HOME=$T_TMP
KUBECONFIG=$T_TMP/kubeconfig
export HOME KUBECONFIG

# Start a fresh mock (objects reset) and point the kubeconfig at it.
start_mock() {
	stop_mock
	log=$T_TMP/requests.ndjson
	: >"$log"
	rm -f "$T_TMP/port"
	python3 "$PA_ROOT/tests/integration/t-apply-kubemock.py" 0 "$log" "$T_TMP/port" &
	mock_pid=$!
	i=0
	while [ ! -s "$T_TMP/port" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	port=$(cat "$T_TMP/port")
	cat >"$KUBECONFIG" <<EOK
apiVersion: v1
kind: Config
clusters:
- name: mock
  cluster:
    server: http://127.0.0.1:$port
contexts:
- name: mock
  context:
    cluster: mock
    user: nobody
users:
- name: nobody
  user: {}
current-context: mock
EOK
}

# The object requests (not discovery) in the log, as "METHOD path body".
requests() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    path = r["path"].split("?")[0]
    if "/namespaces/" not in path or path.count("/") < 5:
        continue
    print(r["method"], path, r["body"])
' "$log"
}

patches() { requests | grep '^PATCH' || true; }

plans=$T_TMP/plans.ndjson
cat >"$plans" <<'EOF2'
{"kind":"plan","tenant_service_name":"acme/api","tenant":"acme","service":"api","ts":"2026-08-08T10:00:00Z","current_instances":6,"optimal_instances":3,"on_demand_instances":2,"spot_instances":1,"action":"decommission","delta":-3,"reason":"upper bound needs 3"}
{"kind":"plan","tenant_service_name":"acme/web","tenant":"acme","service":"web","ts":"2026-08-08T10:00:00Z","current_instances":2,"optimal_instances":5,"on_demand_instances":3,"spot_instances":2,"action":"provision","delta":3,"reason":"campaign"}
{"kind":"plan","tenant_service_name":"acme/db","tenant":"acme","service":"db","ts":"2026-08-08T10:00:00Z","current_instances":3,"optimal_instances":4,"on_demand_instances":4,"spot_instances":0,"action":"provision","delta":1,"reason":"the plan's current is stale"}
{"kind":"plan","tenant_service_name":"fail/one","tenant":"fail","service":"one","ts":"2026-08-08T10:00:00Z","current_instances":1,"optimal_instances":2,"action":"provision","delta":1,"reason":"the mock fails this patch"}
EOF2

# 1. The default script, run by sh, makes kubectl send one PATCH per change.
start_mock
pa-apply -n prod <"$plans" >"$T_TMP/script.sh" 2>"$T_TMP/err"
sh "$T_TMP/script.sh" >"$T_TMP/sh.out" 2>&1
patches >"$T_TMP/p1"
check apply-script-patch-count [ "$(wc -l <"$T_TMP/p1")" -eq 4 ]
check apply-script-patch-body grep -q '^PATCH /apis/apps/v1/namespaces/prod/deployments/acme-web/scale {"spec":{"replicas":5}}$' "$T_TMP/p1"
check apply-script-up-first [ "$(head -1 "$T_TMP/p1" | cut -d' ' -f2)" = /apis/apps/v1/namespaces/prod/deployments/acme-web/scale ]
check apply-script-down-last [ "$(tail -1 "$T_TMP/p1" | cut -d' ' -f2)" = /apis/apps/v1/namespaces/prod/deployments/acme-api/scale ]

# 2. --execute reads the scale first, skips acme-db (already 4 in the
# cluster though the plan's current_instances is 3), goes on after the failed patch, and
# journals every object.
start_mock
pa-apply --execute -n prod --journal "$T_TMP/journal.ndjson" <"$plans" >"$T_TMP/out" 2>"$T_TMP/err"
status=$?
requests >"$T_TMP/r2"
patches >"$T_TMP/p2"
check apply-exec-status-3 [ "$status" -eq 3 ]
check apply-exec-reads-scale [ "$(grep -c '^GET .*/scale ' "$T_TMP/r2")" -eq 4 ]
check apply-exec-reads-before-patch [ "$(head -4 "$T_TMP/r2" | grep -c '^GET .*/scale ')" -eq 4 ]
check apply-exec-skips-noop sh -c "! grep -q acme-db '$T_TMP/p2'"
check apply-exec-continues grep -q 'acme-api/scale {"spec":{"replicas":3}}' "$T_TMP/p2"
check apply-exec-order [ "$(cut -d' ' -f2 "$T_TMP/p2" | tr '\n' ' ')" = "/apis/apps/v1/namespaces/prod/deployments/acme-web/scale /apis/apps/v1/namespaces/prod/deployments/fail-one/scale /apis/apps/v1/namespaces/prod/deployments/acme-api/scale " ]
check apply-exec-journal-file cmp -s "$T_TMP/out" "$T_TMP/journal.ndjson"
check apply-exec-journal-tmp-gone [ -z "$(find "$T_TMP" -name 'journal.ndjson.tmp*')" ]
check apply-exec-journal-results [ "$(jq -r '.target + " " + .result' "$T_TMP/out" | tr '\n' ,)" = "deployment/acme-web ok,deployment/acme-db unchanged,deployment/fail-one failed,deployment/acme-api ok," ]
check apply-exec-journal-stderr [ "$(jq -r 'select(.result == "failed") | .stderr' "$T_TMP/out")" = "Error from server (InternalError): injected failure" ]
check apply-exec-reports-failure grep -q 'deployment/fail-one: kubectl scale failed with status 1' "$T_TMP/err"

# 3. --stop-on-error: nothing after the failed patch.  acme-db comes last
# in the input, so after fail-one remain acme-db (already at its plan of 4)
# and acme-api (a scale-down): only acme-api counts as a change not made.
start_mock
{ grep -v acme/db "$plans"; grep acme/db "$plans"; } |
	pa-apply --execute --stop-on-error -n prod >"$T_TMP/out" 2>"$T_TMP/err"
status=$?
patches >"$T_TMP/p3"
check apply-stop-status [ "$status" -eq 3 ]
check apply-stop-no-more [ "$(wc -l <"$T_TMP/p3")" -eq 2 ]
check apply-stop-last-is-failure grep -q 'fail-one/scale' "$T_TMP/p3"
check apply-stop-counts-changes grep -q 'stopping at the first failure (--stop-on-error); 1 change not made, 1 other object already at the plan$' "$T_TMP/err"

# 4. --max-step 1 moves acme-api from 6 to 5 and acme-web from 2 to 3.
start_mock
grep -v fail "$plans" | pa-apply --execute --max-step 1 -n prod >"$T_TMP/out" 2>"$T_TMP/err"
patches >"$T_TMP/p4"
check apply-step-up grep -q 'acme-web/scale {"spec":{"replicas":3}}' "$T_TMP/p4"
check apply-step-down grep -q 'acme-api/scale {"spec":{"replicas":5}}' "$T_TMP/p4"
check apply-step-db-unchanged sh -c "! grep -q acme-db '$T_TMP/p4'"

# 5. hpa-floor patches minReplicas, held at the HPA's maxReplicas (4 for acme-web).
start_mock
grep 'acme/web\|acme/api' "$plans" | pa-apply --execute --mode hpa-floor -n prod >"$T_TMP/out" 2>"$T_TMP/err"
status=$?
requests >"$T_TMP/r5"
patches >"$T_TMP/p5"
check apply-hpa-status [ "$status" -eq 0 ]
check apply-hpa-reads grep -q '^GET /apis/autoscaling/v2/namespaces/prod/horizontalpodautoscalers/acme-web ' "$T_TMP/r5"
check apply-hpa-capped grep -q '^PATCH /apis/autoscaling/v2/namespaces/prod/horizontalpodautoscalers/acme-web {"spec":{"minReplicas":4}}$' "$T_TMP/p5"
check apply-hpa-floor-unchanged sh -c "! grep -q horizontalpodautoscalers/acme-api '$T_TMP/p5'"
check apply-hpa-warns grep -q "above the HPA's maxReplicas 4" "$T_TMP/err"

# 6. The spot/on-demand split scales two deployments per plan.
start_mock
grep 'acme/web' "$plans" | pa-apply --execute -n prod --target 'deployment/{tenant}-{service}' --spot-target 'deployment/{tenant}-{service}-spot' >"$T_TMP/out" 2>"$T_TMP/err"
patches >"$T_TMP/p6"
check apply-split-on-demand grep -q 'acme-web/scale {"spec":{"replicas":3}}' "$T_TMP/p6"
check apply-split-spot grep -q 'acme-web-spot/scale {"spec":{"replicas":2}}' "$T_TMP/p6"

# 6b. Make before break: a plan that moves instances from one half to the
# other lowers the shrinking half only as far as the other half's ready
# pods allow.  New pods of shop-cart and shop-web-spot never become ready,
# shop-pay's at once.
start_mock
{
	for svc in cart pay; do
		printf '{"kind":"plan","tenant_service_name":"shop/%s","tenant":"shop","service":"%s","ts":"2026-08-08T10:00:00Z","current_instances":6,"optimal_instances":6,"on_demand_instances":5,"spot_instances":1,"action":"hold","delta":0}\n' "$svc" "$svc"
	done
	echo '{"kind":"plan","tenant_service_name":"shop/web","tenant":"shop","service":"web","ts":"2026-08-08T10:00:00Z","current_instances":5,"optimal_instances":5,"on_demand_instances":2,"spot_instances":3,"action":"hold","delta":0}'
} | pa-apply --execute -n prod --spot-target 'deployment/{tenant}-{service}-spot' >"$T_TMP/out" 2>"$T_TMP/err"
status=$?
patches >"$T_TMP/p6b"
check apply-hold-status [ "$status" -eq 0 ]
check apply-hold-od-up grep -q 'shop-cart/scale {"spec":{"replicas":5}}' "$T_TMP/p6b"
check apply-hold-slow-spot-kept sh -c "! grep -q 'shop-cart-spot/scale' '$T_TMP/p6b'"
check apply-hold-slow-journal [ "$(jq -r 'select(.target == "deployment/shop-cart-spot") | [.result, .set, .other_ready] | @tsv' "$T_TMP/out")" = "$(printf 'held\t4\t2')" ]
check apply-hold-ready-spot-down grep -q 'shop-pay-spot/scale {"spec":{"replicas":1}}' "$T_TMP/p6b"
check apply-hold-ready-journal [ "$(jq -r 'select(.target == "deployment/shop-pay-spot") | [.result, .set, .other_ready] | @tsv' "$T_TMP/out")" = "$(printf 'ok\t1\t5')" ]
check apply-hold-spot-up grep -q 'shop-web-spot/scale {"spec":{"replicas":3}}' "$T_TMP/p6b"
check apply-hold-od-kept sh -c "! grep -q 'deployments/shop-web/scale' '$T_TMP/p6b'"
check apply-hold-od-journal [ "$(jq -r 'select(.target == "deployment/shop-web") | [.result, .set, .other_ready] | @tsv' "$T_TMP/out")" = "$(printf 'held\t4\t1')" ]
requests >"$T_TMP/r6b"
check apply-hold-reads-workload grep -q '^GET /apis/apps/v1/namespaces/prod/deployments/shop-cart ' "$T_TMP/r6b"

# 7. Invalid names never reach the server: only checkout is read and patched.
if need_shared apply-bl18-execute; then
	start_mock
	pa-apply --execute <"$SHARED/cases/BL-18.ndjson" >"$T_TMP/out" 2>"$T_TMP/err"
	status=$?
	requests >"$T_TMP/r7"
	check apply-bl18-status [ "$status" -eq 1 ]
	check apply-bl18-only-checkout [ "$(grep -vc 'deployments/checkout' "$T_TMP/r7")" -eq 0 ]
	check apply-bl18-one-patch [ "$(grep -c '^PATCH' "$T_TMP/r7")" -eq 1 ]
	check apply-bl18-rejects-5 [ "$(grep -c '^pa-apply: <stdin>:[1-5]: ' "$T_TMP/err")" -eq 5 ]
fi

# 8. A missing kubectl is a failure per object, reported, exit 3.
pa-apply --execute --kubectl "$T_TMP/no-such-kubectl" -n prod <"$plans" >"$T_TMP/out" 2>"$T_TMP/err"
check apply-no-kubectl-status [ $? -eq 3 ]
check apply-no-kubectl-journal [ "$(jq -r .status "$T_TMP/out" | sort -u)" = 127 ]

# 9. --follow --execute scales each plan as it arrives, before the input
# ends.  It appends to the named journal itself, and to a new file once
# the old one is rotated away.  It skips a plan older than one already
# applied, and finishes cleanly on SIGTERM.
start_mock
fifo=$T_TMP/plans.fifo
mkfifo "$fifo"
live=$T_TMP/live-journal.ndjson
echo '{"kind":"journal","note":"from an earlier run"}' >"$live"
pa-apply --follow --execute -n prod --journal "$live" <"$fifo" >"$T_TMP/out" 2>"$T_TMP/err" &
apply_pid=$!
exec 5>"$fifo"

# wait_lines FILE N: poll FILE up to 10 seconds for at least N lines.
count_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
wait_lines() {
	i=0
	while [ "$(count_lines "$1")" -lt "$2" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(count_lines "$1")" -ge "$2" ]
}

# Plans for times around now, so --max-age (10m when following) keeps them.
t_now=$(date -u -d '+2 min' +%Y-%m-%dT%H:%M:00Z)
t_older=$(date -u -d '-3 min' +%Y-%m-%dT%H:%M:00Z)
t_next=$(date -u -d '+7 min' +%Y-%m-%dT%H:%M:00Z)
plan_at() { grep acme/web "$plans" | sed "s/\"ts\":\"2026-08-08T10:00:00Z\"/\"ts\":\"$1\"/; s/\"optimal_instances\":5/\"optimal_instances\":$2/"; }

plan_at "$t_now" 5 >&5
check apply-follow-exec-journal-live wait_lines "$live" 2
patches >"$T_TMP/p9"
check apply-follow-exec-patch-before-end grep -q 'acme-web/scale {"spec":{"replicas":5}}' "$T_TMP/p9"
check apply-follow-exec-journal-appends [ "$(head -1 "$live" | jq -r .note)" = "from an earlier run" ]
check apply-follow-exec-result [ "$(tail -1 "$live" | jq -r '.target + " " + .result')" = "deployment/acme-web ok" ]
# A journal rotated away (as logrotate renames it) continues in a new file.
mv "$live" "$live.1"
plan_at "$t_older" 1 >&5
check apply-follow-exec-stale-journal wait_lines "$live" 1
check apply-follow-exec-stale-result [ "$(tail -1 "$live" | jq -r .result)" = skipped ]
check apply-follow-exec-stale-warned grep -q "deployment/acme-web: plan for $t_older is older than the one applied for $t_now; skipped" "$T_TMP/err"
patches >"$T_TMP/p9"
check apply-follow-exec-stale-one-patch [ "$(wc -l <"$T_TMP/p9")" -eq 1 ]
plan_at "$t_next" 7 >&5
check apply-follow-exec-next-journal wait_lines "$live" 2
patches >"$T_TMP/p9"
check apply-follow-exec-next-patch grep -q 'acme-web/scale {"spec":{"replicas":7}}' "$T_TMP/p9"
kill -TERM "$apply_pid"
wait "$apply_pid"
status=$?
exec 5>&-
check apply-follow-exec-term-status [ "$status" -eq 0 ]
check apply-follow-exec-stdout-is-journal [ "$(jq -r .result "$T_TMP/out" | tr '\n' ,)" = "ok,skipped,ok," ]
check apply-follow-exec-no-tmp [ -z "$(find "$T_TMP" -name "${live##*/}.tmp*")" ]
check apply-follow-exec-rotated-kept [ "$(wc -l <"$live.1")" -eq 2 ]
check apply-follow-exec-journal-plan-ts [ "$(tail -1 "$live" | jq -r .plan_ts)" = "$t_next" ]

# A restart reads the journal: the plan for $t_now, older than the one
# applied for $t_next before the restart, is skipped.
plan_at "$t_now" 2 | pa-apply --follow --execute -n prod --journal "$live" >"$T_TMP/out" 2>"$T_TMP/err"
status=$?
patches >"$T_TMP/p9"
check apply-follow-restart-status [ "$status" -eq 0 ]
check apply-follow-restart-skipped [ "$(jq -r .result "$T_TMP/out")" = skipped ]
check apply-follow-restart-no-patch sh -c "! grep -q 'acme-web/scale {\"spec\":{\"replicas\":2}}' '$T_TMP/p9'"

pa-apply --follow --execute --journal "$T_TMP/no-such-dir/journal" -n prod </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
check apply-follow-exec-journal-unwritable-status [ $? -eq 3 ]
check apply-follow-exec-journal-unwritable-message grep -q "no-such-dir/journal: cannot open journal" "$T_TMP/err"

# 10. --follow --execute --stop-on-error reads no plan after a failure.
start_mock
{ grep fail/one "$plans"; grep acme/web "$plans"; } |
	pa-apply --follow --execute --stop-on-error --max-age none -n prod >"$T_TMP/out" 2>"$T_TMP/err"
status=$?
patches >"$T_TMP/p10"
check apply-follow-stop-status [ "$status" -eq 3 ]
check apply-follow-stop-one-patch [ "$(wc -l <"$T_TMP/p10")" -eq 1 ]
check apply-follow-stop-message grep -q 'stopping at the first failure (--stop-on-error); later plans not read' "$T_TMP/err"
check apply-follow-stop-no-batch-line sh -c "! grep -q 'changes not made' '$T_TMP/err'"

# 11. Following, a plan for a time more than --max-age (10m) before the
# clock is skipped: a pipeline that replays a log from its start must not
# scale through its history.  --max-age none lets it through.
start_mock
grep -v fail "$plans" | pa-apply --follow --execute -n prod >"$T_TMP/out" 2>"$T_TMP/err"
status=$?
patches >"$T_TMP/p11"
check apply-max-age-status [ "$status" -eq 0 ]
check apply-max-age-no-patch [ "$(wc -l <"$T_TMP/p11")" -eq 0 ]
check apply-max-age-warned grep -q 'deployment/acme-api: plan for 2026-08-08T10:00:00Z is older than --max-age' "$T_TMP/err"
check apply-max-age-counted grep -q 'plans older than --max-age skipped: 3' "$T_TMP/err"
start_mock
grep acme/web "$plans" | pa-apply --follow --execute --max-age none -n prod >"$T_TMP/out" 2>"$T_TMP/err"
patches >"$T_TMP/p11"
check apply-max-age-none-patches [ "$(wc -l <"$T_TMP/p11")" -eq 1 ]
start_mock
grep acme/web "$plans" | pa-apply --execute --max-age 1h -n prod >"$T_TMP/out" 2>"$T_TMP/err"
patches >"$T_TMP/p11"
check apply-max-age-batch-skips [ "$(wc -l <"$T_TMP/p11")" -eq 0 ]

# 12. A journal that cannot be written is reported as such, not as failed
# kubectl commands, and the exit status is 3.
start_mock
mkdir "$T_TMP/jdir"
{ plan_at "$t_now" 5; sleep 1; plan_at "$t_next" 6; } |
	pa-apply --follow --execute -n prod --journal "$T_TMP/jdir/J" >"$T_TMP/out" 2>"$T_TMP/err" &
apply_pid=$!
wait_lines "$T_TMP/jdir/J" 1
rm -rf "$T_TMP/jdir"
wait "$apply_pid"
check apply-journal-lost-status [ $? -eq 3 ]
check apply-journal-lost-counted grep -q 'journal records not written: 1' "$T_TMP/err"
check apply-journal-lost-not-kubectl sh -c "! grep -q 'failed kubectl commands' '$T_TMP/err'"

# 13. The whole live chain against the mock.  Buckets of the last half
# hour, one a minute, go into pa-forecast --follow.  Its forecasts reach
# pa-plan --follow, and pa-apply --follow --execute turns the plans into
# scale requests while the writer still keeps the pipe open.
start_mock
fifo13=$T_TMP/buckets.fifo
mkfifo "$fifo13"
pa-forecast --follow --whole-buckets --horizon 10 --period 0 --period2 0 <"$fifo13" 2>"$T_TMP/fc13.err" |
	pa-plan --follow --capacity 1 --lead-time 5m --stabilization 5m 2>"$T_TMP/plan13.err" |
	pa-apply --follow --execute -n prod --journal "$T_TMP/j13" >"$T_TMP/out13" 2>"$T_TMP/err13" &
chain_pid=$!
exec 6>"$fifo13"
now=$(date -u +%s)
start=$(( (now / 60 - 30) * 60 ))
awk -v s="$start" 'BEGIN {
	for (i = 0; i < 30; i++)
		printf "{\"kind\":\"bucket\",\"ts\":%d,\"step_s\":60,\"tenant_service_name\":\"acme/web\",\"tenant\":\"acme\",\"service\":\"web\",\"requests\":%d}\n", s + 60 * i, 540 + 6 * (i % 5)
}' >&6
check apply-chain-journal-before-end wait_lines "$T_TMP/j13" 1
patches >"$T_TMP/p13"
check apply-chain-scaled-before-end grep -q 'deployments/acme-web/scale {"spec":{"replicas":' "$T_TMP/p13"
# 540 to 564 requests a minute is 9 to 9.4 per second, at capacity 1.
check apply-chain-count-plausible [ "$(tail -1 "$T_TMP/p13" | sed 's/.*"replicas":\([0-9]*\).*/\1/')" -ge 9 ]
check apply-chain-count-bounded [ "$(tail -1 "$T_TMP/p13" | sed 's/.*"replicas":\([0-9]*\).*/\1/')" -le 14 ]
exec 6>&-
wait "$chain_pid"
check apply-chain-status [ $? -eq 0 ]
check apply-chain-results-ok [ "$(jq -r .result "$T_TMP/j13" | sort -u | grep -cv '^ok$\|^unchanged$')" -eq 0 ]

stop_mock
finish
