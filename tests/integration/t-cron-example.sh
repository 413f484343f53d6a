#!/bin/sh
# scripts/cron-example, healthy and under failure: a run that prints
# nothing, unusable settings and files and a lock held by another run.
# t-influxdb.sh runs the script with a real InfluxDB and promtool.
. "$PA_ROOT/tests/integration/lib.sh"

need_shared cron-example || finish

apache=$SHARED/data/http-apache-combined-elastic/apache_logs.log
script=$PA_ROOT/scripts/cron-example
month=$(date -u +%Y-%m)

# Four logs of 2500 lines each, so every one is a new log to the ledger.
split -l 2500 -d -a 1 "$apache" "$T_TMP/part"

# run_cron STORE LOG [VAR=VALUE...]: run the script as cron does, with one
# series and hourly buckets, so a run takes well under a second.
run_cron() {
	cron_store=$1
	cron_log=$2
	shift 2
	env PA_LOG="$cron_log" PA_CAPACITY=5 PA_STORE="$cron_store" PA_STEP=1h PA_HORIZON=6h \
		PA_INGEST_ARGS="--tenant value:elastic --service value:www" "$@" sh "$script"
}

# -- A healthy run prints nothing; the tools' warnings go to the month's log.
store=$T_TMP/store
env PA_LOG="$apache" PA_CAPACITY=5 PA_STORE="$store" sh "$script" >"$T_TMP/out" 2>"$T_TMP/err"
check "healthy run exits 0" test $? -eq 0
check "healthy run prints nothing" test ! -s "$T_TMP/err"
check "healthy run writes no stdout" test ! -s "$T_TMP/out"
check "warnings go to the month's log" grep -q '^pa-forecast: ' "$store/cron-$month.log"
check "log names the run" grep -q "^== .* $apache: exit status 0\$" "$store/cron-$month.log"
env PA_LOG="$apache" PA_CAPACITY=5 PA_STORE="$store" sh "$script" 2>"$T_TMP/err"
check "rerun exits 0" test $? -eq 0
check "rerun prints nothing" test ! -s "$T_TMP/err"
check "rerun notes the stored log in the log" grep -q 'already stored (same SHA-256)' \
	"$store/cron-$month.log"
check "temporary files are removed" test -z "$(find "$store" -name '.run.*')"

# -- A failing run prints its tools' messages with its own.
printf 'garbage\n%.0s' 1 2 3 4 5 >"$T_TMP/junk.log"
run_cron "$store" "$T_TMP/junk.log" 2>"$T_TMP/err"
check "failed run exits with pa-ingest's status" test $? -eq 1
check "failed run prints the tool's message" grep -q '^pa-ingest: .*junk.log:1: ' "$T_TMP/err"
check "failed run names the step" grep -q '^cron-example: pa-ingest failed with exit status 1' \
	"$T_TMP/err"
check "failed run is in the log" grep -q "junk.log: exit status 1\$" "$store/cron-$month.log"

# -- Unusable settings and files: each run exits 3 and names the file.
run_cron "$T_TMP/part0/store" "$T_TMP/part0" 2>"$T_TMP/err"
check "store under a file exits 3" test $? -eq 3
check "store under a file message" grep -q \
	"cannot create the store folder $T_TMP/part0/store; $T_TMP/part0 was not stored" "$T_TMP/err"
mkdir -p "$T_TMP/dir-lock/.lock"
run_cron "$T_TMP/dir-lock" "$T_TMP/part0" 2>"$T_TMP/err"
check "unopenable lock exits 3" test $? -eq 3
check "unopenable lock message" grep -q "cannot open the lock file $T_TMP/dir-lock/.lock" "$T_TMP/err"
mkdir -p "$T_TMP/dir-ledger/ingested"
run_cron "$T_TMP/dir-ledger" "$T_TMP/part0" 2>"$T_TMP/err"
check "unreadable ledger exits 3" test $? -eq 3
check "unreadable ledger message" grep -q "cannot read the ledger $T_TMP/dir-ledger/ingested" \
	"$T_TMP/err"
run_cron "$T_TMP/tmpdir-store" "$T_TMP/part0" TMPDIR="$T_TMP/no-such-dir" 2>"$T_TMP/err"
check "missing TMPDIR exits 3" test $? -eq 3
check "missing TMPDIR message" grep -q "cannot create a temporary file in $T_TMP/no-such-dir" \
	"$T_TMP/err"
mkdir "$T_TMP/no-buckets"
sha256sum "$T_TMP/part0" | cut -d' ' -f1 >"$T_TMP/no-buckets/ingested"
run_cron "$T_TMP/no-buckets" "$T_TMP/part0" 2>"$T_TMP/err"
check "store without buckets exits 3" test $? -eq 3
check "store without buckets message" grep -q \
	"no bucket store for this month or last month in $T_TMP/no-buckets" "$T_TMP/err"
# Nothing listens on the port, so curl cannot connect.
port=$(free_port)
env PA_LOG="$apache" PA_CAPACITY=5 PA_STORE="$store" PA_INFLUX_URL="http://127.0.0.1:$port" \
	sh "$script" 2>"$T_TMP/err"
check "unreachable InfluxDB exits 3" test $? -eq 3
check "unreachable InfluxDB message" grep -q \
	"^cron-example: InfluxDB /write to http://127.0.0.1:$port failed" "$T_TMP/err"
check "curl's message is printed" grep -q '^curl: (7) ' "$T_TMP/err"

# -- A lock timeout that is not whole seconds is rejected.
run_cron "$T_TMP/timeout-store" "$T_TMP/part0" PA_LOCK_TIMEOUT=1.5 2>"$T_TMP/err"
check "fractional PA_LOCK_TIMEOUT exits 2" test $? -eq 2
check "invalid PA_LOCK_TIMEOUT message" grep -q 'invalid PA_LOCK_TIMEOUT "1.5"' "$T_TMP/err"

# -- A run that finds the lock held waits, then times out loudly.
lock_store=$T_TMP/lock-store
mkdir "$lock_store"
# hold_lock SECONDS: hold the store's lock in the background for SECONDS,
# and return once it is held.
hold_lock() {
	rm -f "$T_TMP/held"
	flock "$lock_store/.lock" sh -c "touch '$T_TMP/held'; sleep $1" &
	holder=$!
	i=0
	while [ ! -e "$T_TMP/held" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
hold_lock 3
run_cron "$lock_store" "$T_TMP/part0" PA_LOCK_TIMEOUT=1 2>"$T_TMP/err"
check "held lock times out with 3" test $? -eq 3
check "timeout names the log not stored" grep -q \
	"timed out after 1 s waiting for the lock .*; $T_TMP/part0 was not stored" "$T_TMP/err"
check "timeout stores nothing" test ! -e "$lock_store/ingested"
wait "$holder"
hold_lock 1
run_cron "$lock_store" "$T_TMP/part0" PA_LOCK_TIMEOUT=20 2>"$T_TMP/err"
check "run waits for the lock" test $? -eq 0
check "waiting run stores the log" test "$(wc -l <"$lock_store/ingested")" -eq 1
wait "$holder"

finish
