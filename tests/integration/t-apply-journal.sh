#!/bin/sh
# pa-apply --execute --journal with a kubectl stub: two runs on one
# journal, SIGINT and SIGTERM while a command runs, and a --follow replay
# through a journal that already records the plans.
#
# The stub logs each call to $KLOG as "RUN VERB TARGET", with RUN from
# $KRUN, and "RUN end VERB TARGET" when it returns.  It prints a count
# of 2 replicas for get, sleeps $KGET_SLEEP seconds on get and $KSLEEP on
# scale, and fails a scale of a target that contains $KFAIL.
. "$PA_ROOT/tests/integration/lib.sh"

kubectl=$T_TMP/kubectl
cat >"$kubectl" <<'STUB'
#!/bin/sh
for a in "$@"; do
	case $a in
	get|scale) verb=$a ;;
	deployment/*) target=$a ;;
	esac
done
echo "${KRUN:-run} $verb $target" >>"$KLOG"
if [ "$verb" = get ]; then
	sleep "${KGET_SLEEP:-0}"
	echo '{"kind":"Scale","spec":{"replicas":2}}'
else
	sleep "${KSLEEP:-0}"
	case $target in
	*"${KFAIL:-no target}"*)
		echo "${KRUN:-run} end $verb $target" >>"$KLOG"
		echo "injected failure" >&2
		exit 1 ;;
	esac
	echo "$target scaled"
fi
echo "${KRUN:-run} end $verb $target" >>"$KLOG"
STUB
chmod +x "$kubectl"
KLOG=$T_TMP/calls
export KLOG

# Three plans for three services, each to 5 replicas from the stub's 2.
plans() {
	for s in api web db; do
		printf '{"kind":"plan","tenant":"acme","service":"%s","ts":"%s","optimal_instances":5}\n' \
			"$s" "${1:-2026-08-08T10:00:00Z}"
	done
}
plans >"$T_TMP/plans"

# count_matches FILE PATTERN: the number of lines of FILE matching PATTERN, 0 without FILE.
count_matches() { if [ -f "$1" ]; then grep -c "$2" "$1"; else echo 0; fi; }

# wait_for FILE PATTERN [N]: poll FILE up to 10 seconds for N lines (1) matching PATTERN.
wait_for() {
	i=0
	while [ "$(count_matches "$1" "$2")" -lt "${3:-1}" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(count_matches "$1" "$2")" -ge "${3:-1}" ]
}

# 1. A second run on the same journal waits for the first one's lock, so
# the runs' commands do not interleave and each renames its own
# temporary file.  The journal then contains the second run's records.
j=$T_TMP/journal.ndjson
: >"$KLOG"
KRUN=A KSLEEP=0.5 pa-apply --execute --kubectl "$kubectl" --journal "$j" "$T_TMP/plans" \
	>"$T_TMP/outA" 2>"$T_TMP/errA" &
pid_a=$!
check journal-lock-first-started wait_for "$KLOG" '^A scale'
check journal-tmp-own-name [ "$(find "$T_TMP" -name 'journal.ndjson.tmp.??????' | wc -l)" -eq 1 ]
check journal-tmp-fixed-name-unused [ ! -e "$j.tmp" ]
KRUN=B KSLEEP=0.5 pa-apply --execute --kubectl "$kubectl" --journal "$j" "$T_TMP/plans" \
	>"$T_TMP/outB" 2>"$T_TMP/errB"
status_b=$?
wait "$pid_a"
status_a=$?
check journal-lock-first-status [ "$status_a" -eq 0 ]
check journal-lock-second-status [ "$status_b" -eq 0 ]
check journal-lock-first-quiet [ ! -s "$T_TMP/errA" ]
check journal-lock-second-waited grep -q "^pa-apply: journal $j is locked by another pa-apply run ($j.lock); waiting" "$T_TMP/errB"
check journal-lock-one-message [ "$(wc -l <"$T_TMP/errB")" -eq 1 ]
check journal-lock-six-scales [ "$(grep -c '^[AB] scale' "$KLOG")" -eq 6 ]
check journal-lock-runs-in-turn [ "$(cut -d' ' -f1 "$KLOG" | uniq | tr -d '\n')" = AB ]
check journal-lock-first-journalled [ "$(jq -r .result "$T_TMP/outA" | tr '\n' ,)" = ok,ok,ok, ]
check journal-lock-second-in-file cmp -s "$T_TMP/outB" "$j"
check journal-lock-no-tmp-left [ -z "$(find "$T_TMP" -name 'journal.ndjson.tmp*')" ]

# 2. A batch run waits for a --follow run, which holds the lock until it stops.
fifo=$T_TMP/plans.fifo
mkfifo "$fifo"
live=$T_TMP/live.ndjson
: >"$KLOG"
KRUN=F pa-apply --follow --execute --max-age none --kubectl "$kubectl" --journal "$live" \
	<"$fifo" >"$T_TMP/outF" 2>"$T_TMP/errF" &
pid_f=$!
exec 5>"$fifo"
head -1 "$T_TMP/plans" >&5
check journal-follow-applied wait_for "$live" '"result":"ok"'
KRUN=B pa-apply --execute --kubectl "$kubectl" --journal "$live" "$T_TMP/plans" 5>&- \
	>"$T_TMP/outB" 2>"$T_TMP/errB" &
pid_b=$!
check journal-follow-batch-waits wait_for "$T_TMP/errB" 'is locked by another pa-apply run'
check journal-follow-batch-no-command [ "$(grep -c '^B ' "$KLOG")" -eq 0 ]
exec 5>&-
wait "$pid_f"
check journal-follow-status [ $? -eq 0 ]
wait "$pid_b"
check journal-follow-batch-status [ $? -eq 0 ]
check journal-follow-batch-after [ "$(cut -d' ' -f1 "$KLOG" | uniq | tr -d '\n')" = FB ]

# 3. SIGINT while the second of three scale commands runs: that command
# finishes and is journalled, the third does not start, and the journal
# is renamed into place.  The status is 1 because a plan was not applied.
: >"$KLOG"
echo '{"kind":"journal","note":"an earlier run"}' >"$j"
KSLEEP=1 pa-apply --execute --kubectl "$kubectl" --journal "$j" "$T_TMP/plans" \
	>"$T_TMP/out" 2>"$T_TMP/err" &
pid=$!
wait_for "$KLOG" '^run scale' 2
kill -INT "$pid"
wait "$pid"
status=$?
check journal-int-status [ "$status" -eq 1 ]
check journal-int-running-finished [ "$(grep -c '^run end scale' "$KLOG")" -eq 2 ]
check journal-int-no-new-command [ "$(grep -c '^run scale' "$KLOG")" -eq 2 ]
check journal-int-journalled [ "$(jq -r .result "$j" | tr '\n' ,)" = ok,ok, ]
check journal-int-stdout-is-journal cmp -s "$T_TMP/out" "$j"
check journal-int-no-tmp-left [ -z "$(find "$T_TMP" -name 'journal.ndjson.tmp*')" ]
check journal-int-message grep -q '^pa-apply: stopping on SIGINT; 1 change not made, 0 other objects already at the plan$' "$T_TMP/err"
check journal-int-count grep -q '^pa-apply: 1 plan not applied (see the messages above)$' "$T_TMP/err"

# 4. SIGTERM while the first current count is read: no scale command
# starts, not even for that object, and the journal of this run, with no
# record, replaces the earlier one.
: >"$KLOG"
KGET_SLEEP=1 pa-apply --execute --kubectl "$kubectl" --journal "$j" "$T_TMP/plans" \
	>"$T_TMP/out" 2>"$T_TMP/err" &
pid=$!
wait_for "$KLOG" '^run get'
kill -TERM "$pid"
wait "$pid"
status=$?
check journal-term-status [ "$status" -eq 1 ]
check journal-term-get-finished grep -q '^run end get' "$KLOG"
check journal-term-no-scale [ "$(grep -c '^run scale' "$KLOG")" -eq 0 ]
check journal-term-journal-empty [ -f "$j" ] && [ ! -s "$j" ]
check journal-term-message grep -q '^pa-apply: stopping on SIGTERM; 1 change not made, 0 other objects already at the plan, 2 objects not read and not changed$' "$T_TMP/err"
check journal-term-count grep -q '^pa-apply: 3 plans not applied (see the messages above)$' "$T_TMP/err"

# 5. SIGTERM to a run without --journal: the running command still
# finishes and its record reaches stdout.
: >"$KLOG"
KSLEEP=1 pa-apply --execute --kubectl "$kubectl" "$T_TMP/plans" >"$T_TMP/out" 2>"$T_TMP/err" &
pid=$!
wait_for "$KLOG" '^run scale'
kill -TERM "$pid"
wait "$pid"
check journal-none-term-status [ $? -eq 1 ]
check journal-none-term-record [ "$(jq -r .result "$T_TMP/out" | tr '\n' ,)" = ok, ]
check journal-none-term-one-scale [ "$(grep -c '^run scale' "$KLOG")" -eq 1 ]

# 6. A --follow restart that replays the plans skips each plan the
# journal records as applied, its ts equal to the last one included.  In
# one stream, a plan that comes twice is applied once.  Every scale of
# acme-db failed in the first run, so the journal records no plan of it
# as applied, and the restart runs both of its plans.
fj=$T_TMP/follow.ndjson
: >"$KLOG"
{ plans 2026-08-08T10:00:00Z; plans 2026-08-08T10:05:00Z; plans 2026-08-08T10:05:00Z; } >"$T_TMP/replay"
KFAIL=acme-db pa-apply --follow --execute --max-age none --kubectl "$kubectl" --journal "$fj" \
	"$T_TMP/replay" >"$T_TMP/out" 2>"$T_TMP/err"
check journal-replay-first-status [ $? -eq 3 ]
check journal-replay-first-results [ "$(jq -r .result "$T_TMP/out" | tr '\n' ,)" = ok,ok,failed,ok,ok,failed,skipped,skipped,failed, ]
check journal-replay-twice-warned grep -q '^pa-apply: deployment/acme-web: plan for 2026-08-08T10:05:00Z is already applied, as the journal records; skipped$' "$T_TMP/err"
: >"$KLOG"
pa-apply --follow --execute --max-age none --kubectl "$kubectl" --journal "$fj" \
	"$T_TMP/replay" >"$T_TMP/out" 2>"$T_TMP/err"
check journal-replay-status [ $? -eq 0 ]
check journal-replay-scales-failed-only [ "$(grep '^run scale' "$KLOG" | sort -u)" = "run scale deployment/acme-db" ]
check journal-replay-results [ "$(jq -r 'select(.result != "skipped") | .target + " " + .plan_ts + " " + .result' "$T_TMP/out" | tr '\n' ,)" = "deployment/acme-db 2026-08-08T10:00:00Z ok,deployment/acme-db 2026-08-08T10:05:00Z ok," ]
check journal-replay-skipped [ "$(grep -c '"result":"skipped"' "$T_TMP/out")" -eq 7 ]
check journal-replay-appended [ "$(wc -l <"$fj")" -eq 18 ]

finish
