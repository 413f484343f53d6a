#!/bin/sh
# pa-route against a real HAProxy: weights computed from usage records are
# sent over the stats socket, then requests through HAProxy must split in
# the same ratio, also once a drained server is ready again, and keep
# every server of a fleet with known capacities under --max-utilization.
# HAProxy and three backends run on 127.0.0.1 in a temp dir.
. "$PA_ROOT/tests/integration/lib.sh"

if ! command -v haproxy >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL haproxy (not installed; scripts/install-deps test installs it)"
		exit 1
	fi
	echo "skip route-haproxy: haproxy not installed"
	exit 0
fi

pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$T_TMP"
}
trap cleanup EXIT INT TERM

N=600
backends=$PA_ROOT/tests/integration/t-route-backends.py
python3 "$backends" serve "$T_TMP/hits" "$T_TMP/ports" 3 &
pids="$pids $!"
i=0
while [ ! -s "$T_TMP/ports" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
set -- $(cat "$T_TMP/ports")
p1=$1 p2=$2 p3=$3
front=$(free_port)
sock=$T_TMP/haproxy.sock

# Every server starts at weight 1, so only pa-route's commands can make the split uneven.
cat >"$T_TMP/haproxy.cfg" <<EOC
global
    stats socket $sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$front
    default_backend web
backend web
    balance roundrobin
    server web1 127.0.0.1:$p1 weight 1
    server web2 127.0.0.1:$p2 weight 1
    server web3 127.0.0.1:$p3 weight 1
EOC
check route-haproxy-config-valid haproxy -c -q -f "$T_TMP/haproxy.cfg"
haproxy -db -f "$T_TMP/haproxy.cfg" >"$T_TMP/haproxy.log" 2>&1 &
pids="$pids $!"
i=0
while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

# Send each runtime API line on its own connection; print any reply.
runtime() {
	python3 -c '
import socket, sys
for line in sys.stdin:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(line.encode())
    reply = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    s.close()
    if reply.strip():
        sys.stdout.write(line.strip() + " -> " + reply.decode().strip() + "\n")
' "$sock"
}

# The fleet's true capacities, which pa-route is not given: web1 handles 20
# work units/s, web2 10 and web3 15, so 15 on average (--capacity).  Each
# run's usage follows from the split HAProxy made before it, so pa-route
# must infer the capacities from cpu_usage and the shares in --state.
# 5% of N per server absorbs start-up effects; round robin by weight is
# otherwise exact.
LIMIT=0.9
state=$T_TMP/route-state.json
within() { # COUNT EXPECTED
	d=$(($1 - $2))
	[ ${d#-} -le $((N / 20)) ]
}

# send_counts: send N requests through HAProxy and set c1, c2 and c3.
send_counts() {
	: >"$T_TMP/hits"
	python3 "$backends" send "http://127.0.0.1:$front/" $N >"$T_TMP/counts"
	c1=$(jq '."1" // 0' "$T_TMP/counts")
	c2=$(jq '."2" // 0' "$T_TMP/counts")
	c3=$(jq '."3" // 0' "$T_TMP/counts")
}

# at_most_limit COUNT DEMAND CAPACITY: the utilization of a server that
# takes COUNT of N requests of DEMAND work units/s is at most LIMIT.
at_most_limit() {
	awk -v c="$1" -v n=$N -v d="$2" -v cap="$3" -v limit=$LIMIT 'BEGIN {
		u = c / n * d / cap
		printf "utilization %.3f, limit %s\n", u, limit
		exit !(u <= limit + 1e-9)
	}'
}

usage() { # TS CPU1 CPU2 CPU3 READY3
	printf '{"kind":"usage","ts":"%s","instance_id":"i-1","server":"web1","tenant_service_name":"acme/web","cpu_usage":%s,"addr":"127.0.0.1:%s"}\n' "$1" "$2" "$p1"
	printf '{"kind":"usage","ts":"%s","instance_id":"i-2","server":"web2","tenant_service_name":"acme/web","cpu_usage":%s,"addr":"127.0.0.1:%s"}\n' "$1" "$3" "$p2"
	printf '{"kind":"usage","ts":"%s","instance_id":"i-3","server":"web3","tenant_service_name":"acme/web","cpu_usage":%s,"addr":"127.0.0.1:%s","ready":%s}\n' "$1" "$4" "$p3" "$5"
}

forecast() { # TS WORK_PER_SECOND (5-minute buckets)
	printf '{"kind":"forecast","tenant_service_name":"acme/web","ts":"%s","step_s":300,"predicted_volume":%s}\n' "$1" $(($2 * 300))
}

# Run 1: HAProxy splits 12 work/s equally over the ready web1 and web2,
# which is 30% and 60% CPU, and web3 is not ready.  For 18 work/s the
# weights must follow capacity, 2:1, so both run at 18 / 30 = 60%.
{
	usage 2026-08-08T10:00:00Z 0.3 0.6 0.004 false
	forecast 2026-08-08T10:05:00Z 18
} >"$T_TMP/run1.ndjson"
pa-route -f haproxy --backend '{service}' --capacity 15 --state "$state" "$T_TMP/run1.ndjson" \
	>"$T_TMP/commands" 2>"$T_TMP/err"
check route-haproxy-commands [ "$(cat "$T_TMP/commands")" = "set server web/web1 state ready
set server web/web1 weight 256
set server web/web2 state ready
set server web/web2 weight 128
set server web/web3 state drain
set server web/web3 weight 0" ]
runtime <"$T_TMP/commands" >"$T_TMP/replies"
check route-haproxy-accepted [ ! -s "$T_TMP/replies" ]
echo "get weight web/web1" | runtime >"$T_TMP/w1"
check route-haproxy-weight-set grep -q '^get weight web/web1 -> 256 ' "$T_TMP/w1"

send_counts
echo "haproxy split over $N requests: web1=$c1 web2=$c2 web3=$c3 (expected 400/200/0)"
check route-haproxy-all-answered [ $((c1 + c2 + c3)) -eq $N ]
check route-haproxy-split-web1 within "$c1" 400
check route-haproxy-split-web2 within "$c2" 200
check route-haproxy-drained [ "$c3" -eq 0 ]
check route-haproxy-web1-under-limit at_most_limit "$c1" 18 20
check route-haproxy-web2-under-limit at_most_limit "$c2" 18 10

# Run 2: the 18 work/s arrived on those weights, so web1 and web2 are
# both at 60%, and web3 is ready again, idle.  HAProxy keeps a drained
# server out of the balancing whatever its weight, so pa-route must set
# it back to state ready.  The shares in --state show web1 handling
# twice web2's work; web3 had no share, so it counts as the median
# instance, 15 work/s.  For 36 work/s over 45 every server runs at 80%,
# where weights from cpu_usage alone would send web3 most of the traffic.
{
	usage 2026-08-08T10:05:00Z 0.6 0.6 0.004 true
	forecast 2026-08-08T10:10:00Z 36
} >"$T_TMP/run2.ndjson"
pa-route -f haproxy --backend '{service}' --capacity 15 --state "$state" "$T_TMP/run2.ndjson" \
	>"$T_TMP/commands-ready" 2>"$T_TMP/err"
check route-haproxy-ready-commands [ "$(cat "$T_TMP/commands-ready")" = "set server web/web1 state ready
set server web/web1 weight 256
set server web/web2 state ready
set server web/web2 weight 128
set server web/web3 state ready
set server web/web3 weight 192" ]
check route-haproxy-ready-no-warning [ ! -s "$T_TMP/err" ]
runtime <"$T_TMP/commands-ready" >"$T_TMP/replies"
check route-haproxy-ready-accepted [ ! -s "$T_TMP/replies" ]

send_counts
echo "haproxy split after web3 is ready: web1=$c1 web2=$c2 web3=$c3 (expected 267/133/200)"
check route-haproxy-ready-all-answered [ $((c1 + c2 + c3)) -eq $N ]
check route-haproxy-ready-split-web1 within "$c1" 267
check route-haproxy-ready-split-web2 within "$c2" 133
check route-haproxy-ready-split-web3 within "$c3" 200
check route-haproxy-ready-web1-under-limit at_most_limit "$c1" 36 20
check route-haproxy-ready-web2-under-limit at_most_limit "$c2" 36 10
check route-haproxy-ready-web3-under-limit at_most_limit "$c3" 36 15

# Run 3: on those weights every server is at 80%, so the capacities read
# from the shares stay the same, and so do the weights.
{
	usage 2026-08-08T10:10:00Z 0.8 0.8 0.8 true
	forecast 2026-08-08T10:15:00Z 30
} >"$T_TMP/run3.ndjson"
pa-route -f haproxy --backend '{service}' --capacity 15 --state "$state" "$T_TMP/run3.ndjson" \
	>"$T_TMP/commands-steady" 2>"$T_TMP/err"
check route-haproxy-steady-weights [ "$(cat "$T_TMP/commands-steady")" = "$(cat "$T_TMP/commands-ready")" ]

# A forecast past the fleet's capacity still spreads the demand by
# capacity, and a warning names the series as needing more instances.
{
	usage 2026-08-08T10:15:00Z 0.667 0.667 0.667 true
	forecast 2026-08-08T10:20:00Z 60
} >"$T_TMP/run4.ndjson"
pa-route -f haproxy --backend '{service}' --capacity 15 --state "$state" "$T_TMP/run4.ndjson" \
	>"$T_TMP/commands-over" 2>"$T_TMP/err"
check route-haproxy-over-weights [ "$(cat "$T_TMP/commands-over")" = "$(cat "$T_TMP/commands-ready")" ]
check route-haproxy-over-warns grep -q 'acme/web: predicted utilization 1.33 is above --max-utilization 0.9' "$T_TMP/err"

# A config section from BL-21's weights passes haproxy -c, and the
# rejected backend leaves no trace in it.
if need_shared route-haproxy-bl21; then
	pa-route -f haproxy-config "$SHARED/cases/BL-21.ndjson" >"$T_TMP/bl21.cfg" 2>/dev/null
	check route-haproxy-bl21-status [ $? -eq 1 ]
	{
		printf 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n'
		printf 'frontend fe\n    bind 127.0.0.1:%s\n    default_backend web\n' "$front"
		cat "$T_TMP/bl21.cfg"
	} >"$T_TMP/bl21-full.cfg"
	check route-haproxy-bl21-config-valid haproxy -c -q -f "$T_TMP/bl21-full.cfg"
	check route-haproxy-bl21-weights grep -q 'server web1 192.0.2.100:80 weight 256' "$T_TMP/bl21.cfg"
	check route-haproxy-bl21-no-api sh -c "! grep -q api '$T_TMP/bl21.cfg'"
fi

finish
