#!/bin/sh
# pa-route against a real nginx: the generated upstreams, split_clients and
# mirror location pass nginx -t, then requests through nginx split by the
# weights and the shadow receives about the mirrored share.  nginx runs
# in the foreground with its prefix, pid and logs in a temp dir.
. "$PA_ROOT/tests/integration/lib.sh"

if ! command -v nginx >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL nginx (not installed; scripts/install-deps test installs it)"
		exit 1
	fi
	echo "skip route-nginx: nginx not installed"
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
MIRROR=0.2
backends=$PA_ROOT/tests/integration/t-route-backends.py
python3 "$backends" serve "$T_TMP/hits" "$T_TMP/ports" 3 &
pids="$pids $!"
i=0
while [ ! -s "$T_TMP/ports" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
set -- $(cat "$T_TMP/ports")
p1=$1 p2=$2 p4=$3
front=$(free_port)

# Write a minimal nginx.conf around the generated http and server parts.
wrap() { # HTTP_PART SERVER_PART LOCATION_EXTRA
	cat <<EOC
worker_processes 1;
daemon off;
pid $T_TMP/nginx.pid;
error_log $T_TMP/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $T_TMP/body;
    proxy_temp_path $T_TMP/proxy;
    fastcgi_temp_path $T_TMP/fastcgi;
    uwsgi_temp_path $T_TMP/uwsgi;
    scgi_temp_path $T_TMP/scgi;
    include $1;
    server {
        listen 127.0.0.1:$front;
        location / {
            $3
            proxy_pass http://acme-api;
        }
        include $2;
    }
}
EOC
}

usage() { # TS, then the instances as ID:CPU
	ts=$1
	shift
	for inst in "$@"; do
		id=${inst%%:*}
		cpu=${inst#*:}
		case $id in api-1) port=$p1 ;; api-2) port=$p2 ;; *) port=$p4 ;; esac
		printf '{"kind":"usage","ts":"%s","instance_id":"%s","tenant_service_name":"acme/api","cpu_usage":%s,"addr":"127.0.0.1:%s"}\n' \
			"$ts" "$id" "$cpu" "$port"
	done
}

# Run 1 makes api-1 and api-2 the serving pair; in run 2 api-4 is new and
# shadowed.  They handle 20 and 10 work units/s, which pa-route is not
# given.  At equal shares of 12 work/s they run at 30% and 60% CPU, so run
# 1 gives nginx weights 2 and 1.  Those weights put both at 40%, so run 2
# reads the same capacities from the shares in --state and keeps 2 and
# 1.  For 24 work/s both then run at 80%, under --max-utilization.
LIMIT=0.9
state=$T_TMP/state.json
usage 2026-08-08T10:00:00Z api-1:0.3 api-2:0.6 | pa-route -f nginx --state "$state" >/dev/null 2>&1
{
	usage 2026-08-08T10:05:00Z api-1:0.4 api-2:0.4 api-4:0.0
	printf '{"kind":"forecast","tenant_service_name":"acme/api","ts":"2026-08-08T10:10:00Z","step_s":300,"predicted_volume":7200}\n'
} >"$T_TMP/run2.ndjson"
cp "$state" "$state.orig"
pa-route -f nginx --capacity 15 --mirror $MIRROR --state "$state" "$T_TMP/run2.ndjson" \
	>"$T_TMP/http.conf" 2>"$T_TMP/err"
cp "$state.orig" "$state"
pa-route -f nginx-locations --capacity 15 --mirror $MIRROR --state "$state" "$T_TMP/run2.ndjson" \
	>"$T_TMP/server.conf" 2>>"$T_TMP/err"
check route-nginx-weights grep -q "server 127.0.0.1:$p1 weight=2;" "$T_TMP/http.conf"
check route-nginx-weights-second grep -q "server 127.0.0.1:$p2 weight=1;" "$T_TMP/http.conf"
check route-nginx-shadow-upstream grep -q "server 127.0.0.1:$p4;" "$T_TMP/http.conf"
check route-nginx-split-clients grep -q '20.00% 1;' "$T_TMP/http.conf"

wrap "$T_TMP/http.conf" "$T_TMP/server.conf" "mirror /_pa_mirror/acme-api;" >"$T_TMP/nginx.conf"
check route-nginx-t nginx -t -q -p "$T_TMP" -c "$T_TMP/nginx.conf"
# start_nginx CONF: run nginx in the foreground, pid in $ngx, and wait for $front.
start_nginx() {
	nginx -p "$T_TMP" -c "$1" >"$T_TMP/nginx.out" 2>&1 &
	ngx=$!
	pids="$pids $ngx"
	i=0
	while ! python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$front" 2>/dev/null &&
		[ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# send_all N: send N requests through nginx into $T_TMP/counts, then wait
# until the hit count stops growing (at most 5 s), because mirror
# subrequests may finish after the client's response.
send_all() {
	: >"$T_TMP/hits"
	python3 "$backends" send "http://127.0.0.1:$front/" "$1" >"$T_TMP/counts"
	last=-1
	i=0
	while [ $i -lt 50 ]; do
		now=$(wc -l <"$T_TMP/hits")
		[ "$now" -eq "$last" ] && break
		last=$now
		sleep 0.1
		i=$((i + 1))
	done
}

start_nginx "$T_TMP/nginx.conf"
send_all $N
c1=$(jq '."1" // 0' "$T_TMP/counts")
c2=$(jq '."2" // 0' "$T_TMP/counts")
c4=$(jq '."3" // 0' "$T_TMP/counts")
mirrored=$(grep -c '^3$' "$T_TMP/hits")
echo "nginx split over $N requests: api-1=$c1 api-2=$c2 api-4 live=$c4, mirrored to api-4: $mirrored (expected 400/200/0 and about $((N / 5)))"

# Tolerances: 5% of N for the live split (weighted round robin is exact);
# the mirror count is binomial(N, 0.2), standard deviation about 10, so
# 4 standard deviations (40) either way.
within() { # COUNT EXPECTED TOLERANCE
	d=$(($1 - $2))
	[ ${d#-} -le "$3" ]
}
check route-nginx-all-answered [ $((c1 + c2 + c4)) -eq $N ]
check route-nginx-split-api1 within "$c1" 400 $((N / 20))
check route-nginx-split-api2 within "$c2" 200 $((N / 20))
check route-nginx-shadow-no-live [ "$c4" -eq 0 ]
check route-nginx-mirror-count within "$mirrored" $((N / 5)) 40

# at_most_limit COUNT CAPACITY: a server taking COUNT of N requests of
# 24 work units/s runs at most at LIMIT of its CAPACITY.
at_most_limit() {
	awk -v c="$1" -v n=$N -v cap="$2" -v limit=$LIMIT 'BEGIN {
		u = c / n * 24 / cap
		printf "utilization %.3f, limit %s\n", u, limit
		exit !(u <= limit + 1e-9)
	}'
}
check route-nginx-api1-under-limit at_most_limit "$c1" 20
check route-nginx-api2-under-limit at_most_limit "$c2" 10

# Once no shadow is left, the serving location keeps its mirror line and
# the mirror location returns 204 itself, so each request reaches the
# live servers once, not once more through "location /".
kill "$ngx"
wait "$ngx" 2>/dev/null
front=$(free_port)
usage 2026-08-08T10:10:00Z api-1:0.3 api-2:0.6 >"$T_TMP/run3.ndjson"
pa-route -f nginx "$T_TMP/run3.ndjson" >"$T_TMP/plain-http.conf" 2>>"$T_TMP/err"
pa-route -f nginx-locations "$T_TMP/run3.ndjson" >"$T_TMP/plain-server.conf" 2>>"$T_TMP/err"
check route-nginx-plain-location grep -q '^location = /_pa_mirror/acme-api {$' "$T_TMP/plain-server.conf"
wrap "$T_TMP/plain-http.conf" "$T_TMP/plain-server.conf" "mirror /_pa_mirror/acme-api;" >"$T_TMP/plain-nginx.conf"
check route-nginx-plain-t nginx -t -q -p "$T_TMP" -c "$T_TMP/plain-nginx.conf"
start_nginx "$T_TMP/plain-nginx.conf"
send_all $N
live=$(jq '(."1" // 0) + (."2" // 0)' "$T_TMP/counts")
hits=$(wc -l <"$T_TMP/hits")
echo "nginx without a shadow over $N requests: $live answered by the live servers, $hits hits at them (expected $N and $N)"
check route-nginx-plain-all-answered [ "$live" -eq $N ]
check route-nginx-plain-no-double-hits [ "$hits" -eq $N ]

# Backends whose names differ only in - and _ each get their own mirror
# variable, and nginx accepts both.
similar() { # TS, then the instances as ID:SERVICE:PORT
	ts=$1
	shift
	for inst in "$@"; do
		IFS=: read -r id service port <<EOI
$inst
EOI
		printf '{"kind":"usage","ts":"%s","instance_id":"%s","tenant_service_name":"acme/%s","cpu_usage":0.4,"addr":"127.0.0.1:%s"}\n' \
			"$ts" "$id" "$service" "$port"
	done
}
sstate=$T_TMP/similar.json
similar 2026-08-08T10:00:00Z a:a-b:$p1 a:a_b:$p2 | pa-route --state "$sstate" >/dev/null 2>&1
similar 2026-08-08T10:05:00Z a:a-b:$p1 c:a-b:$p4 a:a_b:$p2 c:a_b:$p4 >"$T_TMP/similar.ndjson"
cp "$sstate" "$sstate.orig"
pa-route -f nginx --state "$sstate" "$T_TMP/similar.ndjson" >"$T_TMP/similar-http.conf" 2>/dev/null
cp "$sstate.orig" "$sstate"
pa-route -f nginx-locations --state "$sstate" "$T_TMP/similar.ndjson" >"$T_TMP/similar-server.conf" 2>/dev/null
check route-nginx-similar-vars [ "$(grep -o '\$pa_mirror_[a-z_]*' "$T_TMP/similar-http.conf" | sort -u | wc -l)" -eq 2 ]
printf 'upstream acme-api { server 127.0.0.1:%s; }\n' "$p1" >>"$T_TMP/similar-http.conf"
wrap "$T_TMP/similar-http.conf" "$T_TMP/similar-server.conf" "" >"$T_TMP/similar-nginx.conf"
check route-nginx-similar-t nginx -t -q -p "$T_TMP" -c "$T_TMP/similar-nginx.conf"

# BL-19: the valid upstreams pass nginx -t; the rejected one is absent.
if need_shared route-nginx-bl19; then
	pa-route -f nginx "$SHARED/cases/BL-19.ndjson" >"$T_TMP/bl19.conf" 2>/dev/null
	check route-nginx-bl19-status [ $? -eq 1 ]
	: >"$T_TMP/empty.conf"
	printf 'upstream acme-api { server 127.0.0.1:%s; }\n' "$p1" >>"$T_TMP/bl19.conf"
	wrap "$T_TMP/bl19.conf" "$T_TMP/empty.conf" "" >"$T_TMP/bl19-nginx.conf"
	check route-nginx-bl19-t nginx -t -q -p "$T_TMP" -c "$T_TMP/bl19-nginx.conf"
	check route-nginx-bl19-no-weight-0 sh -c "! grep -q 'weight=0' '$T_TMP/bl19.conf'"
	check route-nginx-bl19-no-dark sh -c "! grep -q dark '$T_TMP/bl19.conf'"
fi

finish
