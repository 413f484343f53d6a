#!/bin/sh
# pa-plan piped into pa-apply --execute, against a stub kubectl that reports
# 4 replicas: usage samples a few seconds apart, an instance that fell
# silent, and usage years older than the forecast must never scale in.
. "$PA_ROOT/tests/integration/lib.sh"

# The stub logs its arguments and prints a Scale of 4 replicas for every get.
cat >"$T_TMP/kubectl" <<'EOS'
#!/bin/sh
echo "$*" >>"$STUB_LOG"
case " $* " in
*" get "*) echo '{"kind":"Scale","spec":{"replicas":4},"status":{"replicas":4}}' ;;
esac
exit 0
EOS
chmod +x "$T_TMP/kubectl"
STUB_LOG=$T_TMP/kubectl.log
export STUB_LOG

# Forecasts need 1 instance (300 requests per 5 minutes at capacity 1/s).
forecasts() {
	for ts in 10:00 10:05 10:10; do
		printf '{"kind":"forecast","tenant_service_name":"fleet/web","tenant":"fleet","service":"web","ts":"2015-05-20T%s:00Z","step_s":300,"issued_at":"2015-05-20T10:00:00Z","predicted_volume":300,"predicted_complexity":1}\n' "$ts"
	done
}
usage() {
	printf '{"kind":"usage","ts":"%s","instance_id":"%s","tenant_service_name":"fleet/web","cpu_usage":%s}\n' "$1" "$2" "$3"
}

# Plan and execute; print the replica count pa-apply set, or "none".
plan_and_apply() {
	: >"$STUB_LOG"
	pa-plan --capacity 1 --lead-time 5m "$@" <"$T_TMP/in" >"$T_TMP/plan" 2>"$T_TMP/plan.err"
	pa-apply --execute --kubectl "$T_TMP/kubectl" -n shop <"$T_TMP/plan" >"$T_TMP/journal" 2>"$T_TMP/apply.err"
	sed -n 's/.*--replicas=\([0-9]*\).*/\1/p' "$STUB_LOG" | grep . || echo none
}

# 1. Four busy instances; vm44 is sampled 4 s after the others.
{
	forecasts
	for ts in 09:55:00 10:00:00; do
		for id in vm1 vm2 vm3; do usage "2015-05-20T${ts}Z" "$id" 0.95; done
	done
	usage 2015-05-20T09:55:04Z vm44 0.95
	usage 2015-05-20T10:00:04Z vm44 0.95
} >"$T_TMP/in"
check skew-no-scale-in test "$(plan_and_apply)" = none
check skew-counts-four test "$(jq -r .current_instances "$T_TMP/plan")" = 4
check skew-journal-unchanged test "$(jq -r .result "$T_TMP/journal")" = unchanged

# 2. Four idle instances sampled every minute; vm4 fell silent at 09:58.
{
	forecasts
	for t in 09:57 09:58 09:59 10:00; do
		for id in vm1 vm2 vm3; do usage "2015-05-20T$t:00Z" "$id" 0.2; done
	done
	usage 2015-05-20T09:57:00Z vm4 0.2
	usage 2015-05-20T09:58:00Z vm4 0.2
} >"$T_TMP/in"
check vanished-no-scale-in test "$(plan_and_apply)" = none
check vanished-blocked test "$(jq -r .reason "$T_TMP/plan")" = ScaleDownBlocked
check vanished-names-instance test "$(jq -r '.message | test("from .vm4. since")' "$T_TMP/plan")" = true

# 3. Usage from 2013 for a 2015 forecast: current is unknown, with a warning.
{
	forecasts
	for id in vm1 vm2 vm3 vm4; do usage 2013-08-01T10:00:00Z "$id" 0.95; done
} >"$T_TMP/in"
plan_and_apply >/dev/null
check stale-current-null test "$(jq -r .current_instances "$T_TMP/plan")" = null
check stale-reason test "$(jq -r .reason "$T_TMP/plan")" = StaleUsage
check stale-warns grep -q '^pa-plan: fleet/web: stale usage: ' "$T_TMP/plan.err"

finish
