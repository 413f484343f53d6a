#!/bin/sh
# scripts/cron-example, healthy and under failure.  The cases: a run that
# prints nothing, unusable settings and files, a lock held by another run,
# a ledger write that fails, a signal during the append, and a store
# damaged by a cut gzip member.  A full disk during the append needs a
# small tmpfs mounted here, so it runs when the test runs as root.
# t-influxdb.sh runs the script with a real InfluxDB and promtool.
. "$PA_ROOT/tests/integration/lib.sh"

need_shared cron-example || finish

apache=$SHARED/data/http-apache-combined-elastic/apache_logs.log
script=$PA_ROOT/scripts/cron-example
month=$(date -u +%Y-%m)
mnt=$T_TMP/mnt
mounted=no

cleanup() {
	[ "$mounted" = no ] || umount "$mnt"
	rm -rf "$T_TMP"
}
trap cleanup EXIT

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

# bucket_count STORE: print the number of bucket lines in STORE's month file.
bucket_count() {
	gzip -dc "$1/buckets-$month.ndjson.gz" | wc -l
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

# -- A missing required setting is a usage error in sh and in bash alike.
for shell in sh bash; do
	env -u PA_LOG PA_CAPACITY=5 PA_STORE="$T_TMP/unset-store" "$shell" "$script" 2>"$T_TMP/err"
	check "unset PA_LOG exits 2 in $shell" test $? -eq 2
	check "unset PA_LOG message in $shell" grep -q '^cron-example: PA_LOG is not set' "$T_TMP/err"
	env -u PA_CAPACITY PA_LOG="$T_TMP/part0" PA_STORE="$T_TMP/unset-store" "$shell" "$script" \
		2>"$T_TMP/err"
	check "unset PA_CAPACITY exits 2 in $shell" test $? -eq 2
	check "unset PA_CAPACITY message in $shell" grep -q '^cron-example: PA_CAPACITY is not set' \
		"$T_TMP/err"
done
check "unset setting creates no store" test ! -e "$T_TMP/unset-store"

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

# -- The ledger write fails: the month's file is cut back as well.  A
# ledger padded to the file size limit makes only that append fail, and
# SIGXFSZ is ignored so the write returns EFBIG.
ledger_store=$T_TMP/ledger-store
run_cron "$ledger_store" "$T_TMP/part0" 2>/dev/null
cp "$ledger_store/buckets-$month.ndjson.gz" "$T_TMP/store.before"
awk 'BEGIN { for (i = 0; i < 16130; i++) printf "%064d\n", i; printf "%060d\n", 0 }' \
	>>"$ledger_store/ingested"
cp "$ledger_store/ingested" "$T_TMP/ledger.before"
check "ledger is padded to 1 MiB" test "$(wc -c <"$ledger_store/ingested")" -eq 1048576
(
	trap '' XFSZ
	ulimit -f 2048
	run_cron "$ledger_store" "$T_TMP/part1" 2>"$T_TMP/err"
)
check "failed ledger write exits 3" test $? -eq 3
check "failed ledger write message" grep -q \
	"cannot append the SHA-256 of $T_TMP/part1 to the ledger $ledger_store/ingested" "$T_TMP/err"
check "failed ledger write cuts the store back" cmp -s "$T_TMP/store.before" \
	"$ledger_store/buckets-$month.ndjson.gz"
check "failed ledger write leaves the ledger" cmp -s "$T_TMP/ledger.before" \
	"$ledger_store/ingested"

# -- SIGTERM during the append: a mock cat on PATH writes part of the
# member and then waits, as on a slow disk.
signal_store=$T_TMP/signal-store
run_cron "$signal_store" "$T_TMP/part0" 2>/dev/null
cp "$signal_store/buckets-$month.ndjson.gz" "$T_TMP/store.before"
mkdir "$T_TMP/slow"
cat >"$T_TMP/slow/cat" <<EOF
#!/bin/sh
case \$(readlink /proc/\$\$/fd/1) in
*/buckets-*.ndjson.gz)
	head -c 100 "\$1"
	echo \$\$ >"$T_TMP/appending"
	exec sleep 30
	;;
esac
exec /bin/cat "\$@"
EOF
chmod +x "$T_TMP/slow/cat"
rm -f "$T_TMP/appending"
# sh -c records its PID, which the script keeps through exec.
sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$T_TMP/script.pid" \
	env PA_LOG="$T_TMP/part1" PA_CAPACITY=5 PA_STORE="$signal_store" PA_STEP=1h \
	PATH="$T_TMP/slow:$PATH" sh "$script" 2>"$T_TMP/err" &
runner=$!
i=0
while [ ! -s "$T_TMP/appending" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "append is under way" test -s "$T_TMP/appending"
check "store holds part of the member" test \
	"$(wc -c <"$signal_store/buckets-$month.ndjson.gz")" -gt "$(wc -c <"$T_TMP/store.before")"
check "script keeps its PID" test "$(cat "$T_TMP/script.pid")" = "$runner"
# Both the script's shell and its cat get SIGTERM, as when a process group
# is stopped.
kill -TERM "$runner"
kill -TERM "$(cat "$T_TMP/appending")"
wait "$runner"
check "stopped append exits 143" test $? -eq 143
check "stopped append cuts the store back" cmp -s "$T_TMP/store.before" \
	"$signal_store/buckets-$month.ndjson.gz"
check "stopped append adds nothing to the ledger" test "$(wc -l <"$signal_store/ingested")" -eq 1

# -- A store that an older version left with a cut member between whole
# ones: the run stops with a message that gives the repair, and the
# repair in the script's header keeps every whole member.
damaged=$T_TMP/damaged
mkdir "$damaged"
for n in 0 1 2; do
	pa-ingest -q --tenant value:elastic --service value:www "$T_TMP/part$n" 2>/dev/null |
		pa-score --rollup 1h >"$T_TMP/buckets.ndjson"
	(cd "$T_TMP" && gzip -c buckets.ndjson >"member$n.gz")
done
head -c 300 "$T_TMP/member1.gz" >"$T_TMP/cut.gz"
cat "$T_TMP/member0.gz" "$T_TMP/cut.gz" "$T_TMP/member1.gz" "$T_TMP/member2.gz" \
	>"$damaged/buckets-$month.ndjson.gz"
want=$(cat "$T_TMP/member0.gz" "$T_TMP/member1.gz" "$T_TMP/member2.gz" | gzip -dc | wc -l)
run_cron "$damaged" "$T_TMP/part3" 2>"$T_TMP/err"
check "damaged store exits 3" test $? -eq 3
check "damaged store names the file" grep -q \
	"^cron-example: the bucket store $damaged/buckets-$month.ndjson.gz is damaged" "$T_TMP/err"
check "damaged store points to the repair" grep -q "\"A damaged store\" in $script" "$T_TMP/err"
check "damaged store replaces no forecast" test ! -e "$damaged/forecast.ndjson"
check "damaged store still stores the new log" test "$(wc -l <"$damaged/ingested")" -eq 1
offset=$(sed -n 's/.*in the member that starts at offset \([0-9]*\).*/\1/p' "$T_TMP/err" | head -n 1)
check "pa-score gives the damaged member's offset" test "$offset" = "$(wc -c <"$T_TMP/member0.gz")"
# The repair, step by step as the header gives it.
file=$damaged/buckets-$month.ndjson.gz
cp "$file" "$file.damaged"
name=$(grep -obUa buckets.ndjson "$file.damaged" | cut -d: -f1 |
	awk -v after=$((offset + 10)) '$1 > after { print; exit }')
truncate -s "$offset" "$file"
tail -c +$((name - 9)) "$file.damaged" >>"$file"
check "repaired store passes gzip -t" gzip -t "$file"
check "repair keeps every whole member" test "$(gzip -dc "$file" | wc -l)" -eq \
	$((want + $(pa-ingest -q --tenant value:elastic --service value:www "$T_TMP/part3" 2>/dev/null |
		pa-score --rollup 1h | wc -l)))
rm "$file.damaged"
run_cron "$damaged" "$T_TMP/part3" 2>"$T_TMP/err"
check "repaired store runs" test $? -eq 0

# -- A full disk during the append leaves the store as it was.  A tmpfs
# small enough to fill is mounted here, which needs root.
mkdir "$mnt"
if ! mount -t tmpfs -o size=16m tmpfs "$mnt" 2>"$T_TMP/mount.err"; then
	echo "skip cron example on a full disk: cannot mount a tmpfs: $(cat "$T_TMP/mount.err")"
	finish
fi
mounted=yes
small=$mnt/store
# Five-minute buckets of every service in the log make a member of about
# 100 KiB, so page rounding on the tmpfs does not decide what fits.
run_cron "$small" "$T_TMP/part0" PA_STEP=5m PA_INGEST_ARGS= 2>/dev/null
check "small store takes a log" test $? -eq 0
pa-ingest -q "$apache" 2>/dev/null | pa-score --rollup 5m >"$T_TMP/buckets.ndjson"
bucket_size=$(wc -c <"$T_TMP/buckets.ndjson")
member_size=$(gzip -c "$T_TMP/buckets.ndjson" | wc -c)

# fill_to BYTES: leave BYTES free on the tmpfs.
fill_to() {
	rm -f "$mnt/filler"
	free=$(df -B1 --output=avail "$mnt" | tail -n 1)
	head -c $((free - $1)) /dev/zero >"$mnt/filler"
}

# The buckets fit, but their gzip member does not.
cp "$small/buckets-$month.ndjson.gz" "$T_TMP/store.before"
cp "$small/ingested" "$T_TMP/ledger.before"
fill_to $((bucket_size + 8192 + member_size / 2))
run_cron "$small" "$apache" PA_STEP=5m PA_INGEST_ARGS= 2>"$T_TMP/err"
check "full disk while compressing exits 3" test $? -eq 3
check "full disk while compressing names the file" grep -q \
	"cannot compress the buckets of $apache into $small/.run.*/buckets.ndjson.gz" "$T_TMP/err"
check "gzip's message is printed" grep -q 'No space left on device' "$T_TMP/err"
check "full disk while compressing leaves the store" cmp -s "$T_TMP/store.before" \
	"$small/buckets-$month.ndjson.gz"
check "full disk while compressing leaves the ledger" cmp -s "$T_TMP/ledger.before" \
	"$small/ingested"

# The member is written whole, but appending it to the store fills the disk.
fill_to $((bucket_size + 8192 + member_size + member_size / 2))
run_cron "$small" "$apache" PA_STEP=5m PA_INGEST_ARGS= 2>"$T_TMP/err"
check "full disk while appending exits 3" test $? -eq 3
check "full disk while appending names the file" grep -q \
	"cannot append the buckets of $apache to $small/buckets-$month.ndjson.gz, which is cut back" \
	"$T_TMP/err"
check "full disk while appending cuts the store back" cmp -s "$T_TMP/store.before" \
	"$small/buckets-$month.ndjson.gz"
check "full disk while appending leaves the ledger" cmp -s "$T_TMP/ledger.before" \
	"$small/ingested"
check "full disk leaves no temporary files" test -z "$(find "$small" -name '.run.*')"

# With space again, the same log is stored once and whole.
rm "$mnt/filler"
run_cron "$small" "$apache" PA_STEP=5m PA_INGEST_ARGS= 2>/dev/null
check "run after the full disk exits 0" test $? -eq 0
check "run after the full disk stores the log" test "$(wc -l <"$small/ingested")" -eq 2
check "store after the full disk passes gzip -t" gzip -t "$small/buckets-$month.ndjson.gz"
check "store after the full disk holds both logs" test "$(bucket_count "$small")" -eq \
	$(($(gzip -dc "$T_TMP/store.before" | wc -l) + $(wc -l <"$T_TMP/buckets.ndjson")))

umount "$mnt"
mounted=no
finish
