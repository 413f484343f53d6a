# Helpers for the Prometheus and InfluxDB round-trip tests; source after lib.sh.
#
# need_server NAME CMD...  return 1 (after skip, or FAIL under CI=true) when a
#                          command is missing and scripts/install-deps cannot
#                          install it
# prom_start DATA          start prometheus on a free loopback port over the
#                          data folder DATA; sets PROM_PORT
# prom_stop                stop it
# influx_start             start influxd with every folder under $T_TMP; sets
#                          INFLUX_PORT
# influx_stop              stop it
# AWK_EPOCH                an awk function epoch("YYYY-MM-DD HH:MM:SS") for UTC
#
# Servers are stopped when the script exits, however it exits.

PROM_PID=
INFLUX_PID=

tsdb_cleanup() {
	prom_stop
	influx_stop
	rm -rf "$T_TMP"
}
trap tsdb_cleanup EXIT
trap 'tsdb_cleanup; exit 1' INT TERM

need_server() {
	name=$1
	shift
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 && continue
		# scripts/install-deps installs Debian's packages when run as root.
		sh "$PA_ROOT/scripts/install-deps" test >"$T_TMP/install.log" 2>&1
		command -v "$cmd" >/dev/null 2>&1 && continue
		if [ "${CI:-}" = true ]; then
			echo "FAIL $name ($cmd is missing and could not be installed)"
			t_failed=1
		else
			echo "skip $name: $cmd is missing (scripts/install-deps test installs it)"
		fi
		return 1
	done
	return 0
}

# wait_ready NAME URL PID LOG: poll URL for up to 30 s while PID runs.
wait_ready() {
	tries=0
	while [ $tries -lt 60 ]; do
		if ! kill -0 "$3" 2>/dev/null; then
			break
		fi
		if curl -sf "$2" >/dev/null 2>&1; then
			echo "ok $1 starts"
			return 0
		fi
		sleep 0.5
		tries=$((tries + 1))
	done
	echo "FAIL $1 starts (not ready at $2)"
	tail -n 20 "$4" | sed 's/^/  /'
	t_failed=1
	return 1
}

prom_start() {
	PROM_PORT=$(free_port)
	printf 'global:\n  scrape_interval: 1h\n' >"$T_TMP/prometheus.yml"
	prometheus --config.file="$T_TMP/prometheus.yml" --storage.tsdb.path="$1" \
		--storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$PROM_PORT" \
		--log.level=warn >>"$T_TMP/prometheus.log" 2>&1 &
	PROM_PID=$!
	wait_ready prometheus "http://127.0.0.1:$PROM_PORT/-/ready" "$PROM_PID" \
		"$T_TMP/prometheus.log"
}

prom_stop() {
	[ -n "$PROM_PID" ] || return 0
	kill "$PROM_PID" 2>/dev/null
	wait "$PROM_PID" 2>/dev/null
	PROM_PID=
}

influx_start() {
	INFLUX_PORT=$(free_port)
	d=$T_TMP/influxdb
	mkdir -p "$d"
	# Every folder and address of influxd 1.x, so nothing outside $T_TMP is
	# touched; reporting to InfluxData and the _internal database are off.
	cat >"$d/influxdb.conf" <<CONF
reporting-enabled = false
bind-address = "127.0.0.1:$(free_port)"
[meta]
  dir = "$d/meta"
[data]
  dir = "$d/data"
  wal-dir = "$d/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
  unix-socket-enabled = false
  bind-socket = "$d/influxdb.sock"
[continuous_queries]
  enabled = false
[[udp]]
  enabled = false
CONF
	influxd run -config "$d/influxdb.conf" >>"$T_TMP/influxd.log" 2>&1 &
	INFLUX_PID=$!
	wait_ready influxd "http://127.0.0.1:$INFLUX_PORT/ping" "$INFLUX_PID" "$T_TMP/influxd.log"
}

influx_stop() {
	[ -n "$INFLUX_PID" ] || return 0
	kill "$INFLUX_PID" 2>/dev/null
	wait "$INFLUX_PID" 2>/dev/null
	INFLUX_PID=
}

AWK_EPOCH='
function epoch(s,   y, m, d, era, yoe, doy, doe) {
	y = substr(s, 1, 4) + 0; m = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
	if (m <= 2) y--
	era = int(y / 400)
	yoe = y - era * 400
	doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
	doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
	return (era * 146097 + doe - 719468) * 86400 + substr(s, 12, 2) * 3600 + \
		substr(s, 15, 2) * 60 + substr(s, 18, 2)
}'
