#!/bin/sh
# pa-plan --follow in a live pipeline: each issue of a series is planned
# once, as soon as its forecasts cover the stabilization window after the
# lead time, while the writer is still writing.  pa-apply --follow prints
# each plan's command as it arrives.
. "$PA_ROOT/tests/integration/lib.sh"

# issue HOUR N: the N five-minute forecasts of shop/cart issued at HOUR:00.
issue() {
	awk -v h="$1" -v n="$2" 'BEGIN {
		for (k = 0; k < n; k++)
			printf "{\"kind\":\"forecast\",\"tenant_service_name\":\"shop/cart\",\"ts\":\"2026-06-01T%02d:%02d:00Z\",\"issued_at\":\"2026-06-01T%02d:00:00Z\",\"horizon_steps\":%d,\"step_s\":300,\"predicted_volume\":%d,\"predicted_complexity\":1}\n",
				h, 5 * k, h, k + 1, 3000 * (h + 1)
	}'
}
plans_at() { grep -c "\"ts\":\"2026-06-01T$2:00:00Z\"" "$1" 2>/dev/null; }
wait_plan() {
	i=0
	while [ "$(plans_at "$1" "$2")" != 1 ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(plans_at "$1" "$2")" = 1 ]
}

fifo=$T_TMP/fifo
mkfifo "$fifo"
pa-plan --follow --capacity 1 --lead-time 5m --stabilization 5m <"$fifo" >"$T_TMP/out" 2>"$T_TMP/err" &
pid=$!
exec 3>"$fifo"

# Lead 5 min and stabilization 5 min: the window ends at 10:10, which the
# second bucket (10:05 to 10:10) reaches, so one bucket is not enough.
issue 10 1 >&3
sleep 0.5
check "follow waits for the window" test "$(plans_at "$T_TMP/out" 10)" = 0
issue 10 6 | tail -n 5 >&3
check "follow plans when the window is covered" wait_plan "$T_TMP/out" 10
# 33,000 requests per 5 minutes is 110 per second, at capacity 1.
check "follow plans the issue's numbers" \
	test "$(jq -r 'select(.ts == "2026-06-01T10:00:00Z") | .optimal_instances' "$T_TMP/out")" = 110

# A newer issue is planned on its own, the older one not again.
issue 11 6 >&3
check "follow plans the next issue" wait_plan "$T_TMP/out" 11
check "follow plans each issue once" test "$(plans_at "$T_TMP/out" 10)" = 1

# An issue too short for the window is planned when the input ends, with
# the reason that its forecast ends before now + lead time.
issue 12 1 >&3
exec 3>&-
wait $pid
check "follow exit status with a short issue" test $? -eq 1
check "follow short issue reported" grep -q 'shop/cart: no plan: no forecast bucket contains now + lead time 2026-06-01T12:05:00Z' "$T_TMP/err"
check "follow plans nothing twice" test "$(jq -r .ts "$T_TMP/out" | sort | uniq -d | wc -l)" -eq 0

# SIGTERM ends the input: the issue still waiting for forecasts is not
# planned, the message counts it, and the exit status is 0.
fifo3=$T_TMP/fifo3
mkfifo "$fifo3"
pa-plan --follow --capacity 1 --lead-time 5m --stabilization 5m <"$fifo3" >"$T_TMP/term.out" 2>"$T_TMP/term.err" &
pid=$!
exec 3>"$fifo3"
issue 10 6 >&3
check "term plans the covered issue" wait_plan "$T_TMP/term.out" 10
issue 11 1 >&3
sleep 0.3
kill -TERM $pid
wait $pid
check "term exit status" test $? -eq 0
exec 3>&-
check "term leaves the waiting issue" test "$(plans_at "$T_TMP/term.out" 11)" = 0
check "term counts the waiting issue" grep -q 'stopped; the latest issue of 1 series was not planned' "$T_TMP/term.err"

# A bad forecast spoils only its own issue: the later issues are planned,
# following and in a batch run, which reads the latest issue only.
{ issue 13 6 | sed '2s/"predicted_volume":[0-9]*/"predicted_volume":"NaN"/'; issue 14 6; issue 15 6; } >"$T_TMP/bad.ndjson"
pa-plan --follow --capacity 1 --lead-time 5m --stabilization 5m --max-bad 0.5 "$T_TMP/bad.ndjson" \
	>"$T_TMP/bad.out" 2>"$T_TMP/bad.err"
check "bad issue exit status" test $? -eq 1
check "bad issue named" grep -q 'bad.ndjson:2: shop/cart: field "predicted_volume" is not a number: string "NaN"' "$T_TMP/bad.err"
check "bad issue not planned" test "$(plans_at "$T_TMP/bad.out" 13)" = 0
check "later issues planned" test "$(plans_at "$T_TMP/bad.out" 14)$(plans_at "$T_TMP/bad.out" 15)" = 11
pa-plan --capacity 1 --lead-time 5m --stabilization 5m --max-bad 0.5 "$T_TMP/bad.ndjson" >"$T_TMP/batch.out" 2>/dev/null
check "batch plans the latest issue" test "$(plans_at "$T_TMP/batch.out" 15)" = 1
{ issue 16 6; issue 17 6 | sed '3s/"predicted_volume":[0-9]*/"predicted_volume":-1/'; } |
	pa-plan --capacity 1 --lead-time 5m --stabilization 5m --max-bad 0.5 >"$T_TMP/latest.out" 2>/dev/null
check "bad latest issue not planned" test ! -s "$T_TMP/latest.out"

# pa-apply --follow prints each plan's command as the plan arrives.
fifo2=$T_TMP/fifo2
mkfifo "$fifo2"
pa-plan --follow --capacity 1 --lead-time 5m --stabilization 5m <"$fifo2" 2>/dev/null |
	pa-apply --follow --namespace shop >"$T_TMP/apply.out" 2>"$T_TMP/apply.err" &
exec 4>"$fifo2"
issue 20 6 >&4
i=0
while ! grep -q -- "--replicas=" "$T_TMP/apply.out" 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "apply follow prints before input ends" grep -q "'deployment/shop-cart' '--replicas=" "$T_TMP/apply.out"
issue 21 6 | sed 's/"predicted_volume":[0-9]*/"predicted_volume":600/' >&4
exec 4>&-
wait
check "apply follow prints each plan" test "$(grep -c -- '--replicas=' "$T_TMP/apply.out")" -eq 2
check "apply follow keeps input order" \
	test "$(grep -o -- '--replicas=[0-9]*' "$T_TMP/apply.out" | tr '\n' ' ')" = "--replicas=210 --replicas=2 "

# A live run without any capacity would never plan, so it stops at once.
pa-plan --follow </dev/null 2>"$T_TMP/nocap.err"
check "follow without capacity status" test $? -eq 2
check "follow without capacity message" grep -q -- '--follow needs a capacity' "$T_TMP/nocap.err"

# --follow with --now is a usage error.
pa-plan --follow --now 2026-06-01T10:00:00Z --capacity 1 </dev/null 2>"$T_TMP/usage.err"
check "follow with now status" test $? -eq 2
check "follow with now message" grep -q -- '--follow plans each issue at its own time' "$T_TMP/usage.err"

finish
