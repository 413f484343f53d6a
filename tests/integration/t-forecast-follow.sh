#!/bin/sh
# pa-forecast --follow --whole-buckets behind pa-score --follow: a bucket
# is forecast as soon as pa-score writes it, not one step later when the
# next bucket of its series arrives.
. "$PA_ROOT/tests/integration/lib.sh"

# requests FROM TO: request records for the hours FROM..TO-1 from 2026-06-01,
# a few per hour with a daily shape, for one series.
requests() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		for (h = a; h < b; h++) {
			n = 3 + (h % 24 < 12 ? h % 24 : 24 - h % 24)
			for (i = 0; i < n; i++)
				printf "{\"kind\":\"request\",\"ts\":\"2026-06-%02dT%02d:%02d:00Z\",\"tenant\":\"shop\",\"service\":\"cart\",\"tenant_service_name\":\"shop/cart\"}\n",
					1 + int(h / 24), h % 24, i
		}
	}'
}

# One request of hour 48 closes hour 47 in pa-score, which writes it
# (--calibrate 1: no requests held back while the service calibrates).
# With --whole-buckets the forecast issued at hour 48 follows at once;
# without it, pa-forecast still waits for hour 48's bucket.
for mode in whole parts; do
	fifo=$T_TMP/fifo-$mode
	mkfifo "$fifo"
	flag=
	[ $mode = whole ] && flag=--whole-buckets
	pa-score --rollup 1h --follow --calibrate 1 <"$fifo" 2>"$T_TMP/score-$mode.err" |
		pa-forecast --follow $flag --horizon 3 --period 1d --period2 0 \
			>"$T_TMP/out-$mode" 2>"$T_TMP/err-$mode" &
	pid=$!
	exec 3>"$fifo"
	requests 0 49 | head -n -1 >&3
	wait_issued "$T_TMP/out-$mode" 2026-06-03T00:00:00Z
	issued=$?
	if [ $mode = whole ]; then
		check "whole buckets forecast on arrival" test $issued -eq 0
	else
		check "partial buckets wait a step" test $issued -ne 0
	fi
	exec 3>&-
	wait $pid
	check "$mode follow exits 0" test $? -eq 0
	# The input ends at 00:01 inside hour 48, which is forecast from there.
	check "$mode forecast after input ends" wait_issued "$T_TMP/out-$mode" 2026-06-03T00:01:00Z
	rm -f "$fifo"
done

# The forecasts from both modes are the same numbers, issued at the same
# buckets; only their timing differs.
jq -c 'select(.kind == "forecast") | [.issued_at, .horizon_steps, .predicted_volume, .volume_upper]' \
	"$T_TMP/out-whole" >"$T_TMP/whole.num"
jq -c 'select(.kind == "forecast") | [.issued_at, .horizon_steps, .predicted_volume, .volume_upper]' \
	"$T_TMP/out-parts" >"$T_TMP/parts.num"
check "whole and partial forecasts agree" cmp -s "$T_TMP/whole.num" "$T_TMP/parts.num"
check "whole forecasts every closed bucket" \
	test "$(jq -r 'select(.horizon_steps == 1) | .issued_at' "$T_TMP/out-whole" | sort -u | wc -l)" -eq 49

# A second record for a bucket already forecast.  Unchanged, it is a
# replay and skipped.  Changed, it replaces the bucket for the forecasts
# that follow (the new record wins), with a message.
bucket() {
	printf '{"kind":"bucket","ts":"2026-06-01T%02d:00:00Z","step_s":3600,"tenant_service_name":"shop/cart","requests":%d}\n' "$1" "$2"
}
{ bucket 0 10; bucket 1 12; bucket 1 12; bucket 1 5; bucket 2 14; } |
	pa-forecast --follow --whole-buckets --horizon 1 --period 0 --period2 0 --model mean \
		--rejects "$T_TMP/rej" >"$T_TMP/dup.out" 2>"$T_TMP/dup.err"
check "repeated whole bucket exits 0" test $? -eq 0
check "unchanged whole bucket skipped" \
	grep -q '<stdin>:3: skipping buckets already forecast that are unchanged' "$T_TMP/dup.err"
check "changed whole bucket named" \
	grep -q '<stdin>:4: bucket "ts" 2026-06-01T01:00:00Z of "shop/cart" replaced by a record that differs' "$T_TMP/dup.err"
check "repeated whole bucket not rejected" test ! -s "$T_TMP/rej"
# Bucket 1 was the newest when it changed, so its forecast is written
# again: the mean of 10 and 12, then of 10 and 5.
check "forecast before the change" \
	test "$(jq -r 'select(.issued_at == "2026-06-01T02:00:00Z") | .predicted_volume' "$T_TMP/dup.out" | tr '\n' ' ')" = "11 7.5 "
check "changed newest bucket written again" grep -q 'its forecasts are written again' "$T_TMP/dup.err"
# The mean of 10, 5 and 14, not of 10, 12 and 14 or of 10, 29 and 14.
check "forecast after the change" \
	test "$(jq -r 'select(.issued_at == "2026-06-01T03:00:00Z") | .predicted_volume' "$T_TMP/dup.out")" = 9.66666666667

# Restart with the state: the whole input again, then one new bucket.  The
# replayed buckets are skipped, nothing is rejected, and only the new
# bucket is forecast.
{ bucket 0 10; bucket 1 12; bucket 2 14; } |
	pa-forecast --follow --whole-buckets --horizon 1 --period 0 --period2 0 --state "$T_TMP/r.json" >/dev/null 2>&1
{ bucket 0 10; bucket 1 12; bucket 2 14; bucket 3 16; } |
	pa-forecast --follow --whole-buckets --horizon 1 --period 0 --period2 0 --state "$T_TMP/r.json" \
		--rejects "$T_TMP/r.rej" >"$T_TMP/r.out" 2>"$T_TMP/r.err"
check "restart replay exits 0" test $? -eq 0
check "restart replay not rejected" test ! -s "$T_TMP/r.rej"
check "restart forecasts new bucket only" \
	test "$(jq -r 'select(.kind == "forecast") | .issued_at' "$T_TMP/r.out" | sort -u)" = 2026-06-01T04:00:00Z
check "restart replay noted once" test "$(grep -c 'skipping buckets' "$T_TMP/r.err")" -eq 1

# Restart with the state, then a changed record for an older bucket.  It
# replaces that bucket in the kept history and in the state, the kept
# window keeps every bucket, and nothing is forecast again, because the
# newest bucket is still 03:00.  The next bucket's forecast uses it.
follow_mean() {
	pa-forecast --follow --whole-buckets --horizon 1 --period 0 --period2 0 --model mean "$@"
}
kept_requests() {
	jq -r '.series["shop/cart"].requests' "$1"
}
{ bucket 0 10; bucket 1 12; bucket 2 14; bucket 3 16; } |
	follow_mean --state "$T_TMP/c.json" >/dev/null 2>&1
bucket 1 2 | follow_mean --state "$T_TMP/c.json" --rejects "$T_TMP/c.rej" \
	>"$T_TMP/c1.out" 2>"$T_TMP/c1.err"
check "older correction exits 0" test $? -eq 0
check "older correction writes no forecast" test ! -s "$T_TMP/c1.out"
check "older correction not rejected" test ! -s "$T_TMP/c.rej"
check "older correction replaced in the state" test "$(kept_requests "$T_TMP/c.json")" = "10 2 14 16"
check "older correction message" grep -q '<stdin>:1: bucket "ts" 2026-06-01T01:00:00Z of "shop/cart" replaced in the kept history by a record that differs; the forecasts already written stay, because the newest bucket is at 2026-06-01T03:00:00Z' "$T_TMP/c1.err"
bucket 4 18 | follow_mean --state "$T_TMP/c.json" >"$T_TMP/c2.out" 2>/dev/null
check "next bucket after correction forecast once" \
	test "$(jq -r 'select(.kind == "forecast") | .issued_at' "$T_TMP/c2.out")" = 2026-06-01T05:00:00Z
# The mean of 10, 2, 14, 16 and 18; no bucket read as 0 after 01:00.
check "next forecast uses the correction" \
	test "$(jq -r 'select(.kind == "forecast") | .predicted_volume' "$T_TMP/c2.out")" = 12
check "window keeps every bucket" test "$(kept_requests "$T_TMP/c.json")" = "10 2 14 16 18"

# The next bucket, then a correction of an older one, in one restarted
# run: the saved state has the correction, though no forecast followed it.
{ bucket 0 10; bucket 1 12; bucket 2 14; bucket 3 16; } |
	follow_mean --state "$T_TMP/b.json" >/dev/null 2>&1
{ bucket 4 18; bucket 2 4; } | follow_mean --state "$T_TMP/b.json" >"$T_TMP/b.out" 2>/dev/null
check "correction after next bucket saved" test "$(kept_requests "$T_TMP/b.json")" = "10 12 4 16 18"
check "correction after next bucket forecasts once" \
	test "$(jq -r 'select(.kind == "forecast") | .issued_at' "$T_TMP/b.out")" = 2026-06-01T05:00:00Z

# After a restart the last kept bucket is the newest, so a change to it
# writes its forecasts again with the same issued_at: the mean of 10, 12,
# 14 and 6.
{ bucket 0 10; bucket 1 12; bucket 2 14; bucket 3 16; } |
	follow_mean --state "$T_TMP/n.json" >/dev/null 2>&1
bucket 3 6 | follow_mean --state "$T_TMP/n.json" >"$T_TMP/n.out" 2>"$T_TMP/n.err"
check "newest correction after restart written again" \
	test "$(jq -r 'select(.kind == "forecast") | [.issued_at, .predicted_volume] | join(" ")' "$T_TMP/n.out")" = "2026-06-01T04:00:00Z 10.5"
check "newest correction after restart message" grep -q 'it is the newest bucket, so its forecasts are written again' "$T_TMP/n.err"
check "newest correction after restart saved" test "$(kept_requests "$T_TMP/n.json")" = "10 12 14 6"

# A part or an unknown count does not replace a whole kept bucket, and an
# invalid count is rejected.  Messages name each case, and the state stays.
{ bucket 0 10; bucket 1 12; bucket 2 14; bucket 3 16; } |
	follow_mean --state "$T_TMP/p.json" >/dev/null 2>&1
{
	echo '{"kind":"bucket","ts":"2026-06-01T01:00:00Z","step_s":3600,"tenant_service_name":"shop/cart","requests":3,"covered_s":1800}'
	echo '{"kind":"bucket","ts":"2026-06-01T02:00:00Z","step_s":3600,"tenant_service_name":"shop/cart","requests":null}'
	echo '{"kind":"bucket","ts":"2026-06-01T01:00:00Z","step_s":3600,"tenant_service_name":"shop/cart","requests":-4}'
} | follow_mean --state "$T_TMP/p.json" --rejects "$T_TMP/p.rej" --max-bad 1 >"$T_TMP/p.out" 2>"$T_TMP/p.err"
check "part not replacing exits 0" test $? -eq 0
check "part not replacing message" grep -q '<stdin>:1: bucket "ts" 2026-06-01T01:00:00Z of "shop/cart" not replaced: the record covers only part of the bucket (covered_s), and the kept bucket is whole, so it stays' "$T_TMP/p.err"
check "null not replacing message" grep -q '<stdin>:2: bucket "ts" 2026-06-01T02:00:00Z of "shop/cart" not replaced: the record has unknown requests (null)' "$T_TMP/p.err"
check "invalid correction rejected" grep -q '<stdin>:3: field "requests" is not a count' "$T_TMP/p.err"
check "invalid correction not called replaced" test "$(grep -c 'stdin>:3: bucket' "$T_TMP/p.err")" -eq 0
check "invalid correction in rejects" test "$(wc -l <"$T_TMP/p.rej")" -eq 1
check "part and null leave the state" test "$(kept_requests "$T_TMP/p.json")" = "10 12 14 16"
check "part and null forecast nothing" test ! -s "$T_TMP/p.out"

# --whole-buckets means nothing without --follow.
pa-forecast --whole-buckets </dev/null >/dev/null 2>"$T_TMP/usage.err"
check "whole buckets needs follow status" test $? -eq 2
check "whole buckets needs follow message" grep -q -- '--whole-buckets needs --follow' "$T_TMP/usage.err"

finish
