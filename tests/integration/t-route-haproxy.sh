#!/bin/sh
# pa-route against a real HAProxy: weights computed from usage records are
# sent over the stats socket, then requests through HAProxy must split in
# the same ratio, also once a drained server is ready again.  HAProxy and
# three backends run on 127.0.0.1 in a temp dir.
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

# web1 and web2 at 30% and 60% CPU with no forecast keep their current
# load, so spare capacity is 0.6 and 0.3 of an instance: 256 and 128.
# web3 is not ready and is drained.
cat >"$T_TMP/usage.ndjson" <<EOF2
{"kind":"usage","ts":"2026-08-08T10:00:00Z","instance_id":"i-1","server":"web1","tenant_service_name":"acme/web","cpu_usage":0.3,"addr":"127.0.0.1:$p1"}
{"kind":"usage","ts":"2026-08-08T10:00:00Z","instance_id":"i-2","server":"web2","tenant_service_name":"acme/web","cpu_usage":0.6,"addr":"127.0.0.1:$p2"}
{"kind":"usage","ts":"2026-08-08T10:00:00Z","instance_id":"i-3","server":"web3","tenant_service_name":"acme/web","cpu_usage":0.1,"addr":"127.0.0.1:$p3","ready":false}
EOF2
pa-route -f haproxy --backend '{service}' "$T_TMP/usage.ndjson" >"$T_TMP/commands" 2>"$T_TMP/err"
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

: >"$T_TMP/hits"
python3 "$backends" send "http://127.0.0.1:$front/" $N >"$T_TMP/counts"
# Tolerance: 5% of N per server.  Round robin by weight is deterministic,
# so the split should be exact; the margin only absorbs start-up effects.
within() { # COUNT EXPECTED
	d=$(($1 - $2))
	[ ${d#-} -le $((N / 20)) ]
}
c1=$(jq '."1" // 0' "$T_TMP/counts")
c2=$(jq '."2" // 0' "$T_TMP/counts")
c3=$(jq '."3" // 0' "$T_TMP/counts")
echo "haproxy split over $N requests: web1=$c1 web2=$c2 web3=$c3 (expected 400/200/0)"
check route-haproxy-all-answered [ $((c1 + c2 + c3)) -eq $N ]
check route-haproxy-split-web1 within "$c1" 400
check route-haproxy-split-web2 within "$c2" 200
check route-haproxy-drained [ "$c3" -eq 0 ]

# A later run finds web3 ready again.  HAProxy keeps a drained server out
# of the balancing whatever its weight, so pa-route must set it back to
# state ready.  At 30%, 60% and 10% CPU the spare capacity is 0.6, 0.3
# and 0.8 of an instance, so the weights are 192, 96 and 256.
sed -e 's/10:00:00Z/10:05:00Z/' -e 's/"ready":false/"ready":true/' "$T_TMP/usage.ndjson" \
	>"$T_TMP/usage-ready.ndjson"
pa-route -f haproxy --backend '{service}' "$T_TMP/usage-ready.ndjson" \
	>"$T_TMP/commands-ready" 2>"$T_TMP/err"
check route-haproxy-ready-commands [ "$(cat "$T_TMP/commands-ready")" = "set server web/web1 state ready
set server web/web1 weight 192
set server web/web2 state ready
set server web/web2 weight 96
set server web/web3 state ready
set server web/web3 weight 256" ]
runtime <"$T_TMP/commands-ready" >"$T_TMP/replies"
check route-haproxy-ready-accepted [ ! -s "$T_TMP/replies" ]

: >"$T_TMP/hits"
python3 "$backends" send "http://127.0.0.1:$front/" $N >"$T_TMP/counts"
c1=$(jq '."1" // 0' "$T_TMP/counts")
c2=$(jq '."2" // 0' "$T_TMP/counts")
c3=$(jq '."3" // 0' "$T_TMP/counts")
echo "haproxy split after web3 is ready: web1=$c1 web2=$c2 web3=$c3 (expected 212/106/282)"
check route-haproxy-ready-all-answered [ $((c1 + c2 + c3)) -eq $N ]
check route-haproxy-ready-split-web1 within "$c1" 212
check route-haproxy-ready-split-web2 within "$c2" 106
check route-haproxy-ready-split-web3 within "$c3" 282

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
