# Helpers for integration scripts: source with . "$PA_ROOT/tests/integration/lib.sh".
#
# check NAME COMMAND...   run COMMAND; print "ok NAME" or "FAIL NAME" and,
#                         on failure, what COMMAND wrote to stdout
# need_shared NAME        return 1 (after skip, or FAIL under CI=true) when
#                         the shared data folder is missing
# free_port               print a free TCP port on 127.0.0.1
# wc98_hourly OUT         write the 1998 World Cup site's requests as hourly
#                         bucket records of series wc98/www to OUT
# peyton_daily OUT EVENTS write Peyton Manning's daily page views as bucket
#                         records of wiki/peyton to OUT, and his playoff
#                         games and Super Bowls as event records to EVENTS
# sample_chain DIR        write a small pipeline's stages to DIR: log (an
#                         access log of 4 days), requests, buckets (hourly),
#                         forecasts, plans, usage and usage+forecasts
# tool_input TOOL DIR     print the options and input file from DIR that
#                         make TOOL write records
# finish                  exit 1 when any check failed

t_failed=0
T_TMP=$(mktemp -d)
trap 'rm -rf "$T_TMP"' EXIT

check() {
	name=$1
	shift
	if "$@" >"$T_TMP/.check.out"; then
		echo "ok $name"
	else
		echo "FAIL $name"
		sed 's/^/  output: /' "$T_TMP/.check.out" | head -20
		t_failed=1
	fi
}

need_shared() {
	[ -d "$SHARED/data" ] && return 0
	if [ "${CI:-}" = true ]; then
		echo "FAIL $1 (shared data missing at $SHARED)"
		t_failed=1
	else
		echo "skip $1: shared data missing at $SHARED"
	fi
	return 1
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

finish() {
	exit $t_failed
}

# The per-minute CSV is sorted by time, so a change of hour closes a bucket.
wc98_hourly() {
	awk -F, 'NR > 1 {
		hour = substr($1, 1, 10) "T" substr($1, 12, 2) ":00:00Z"
		if (hour != last && last != "") {
			printf "{\"kind\":\"bucket\",\"ts\":\"%s\",\"step_s\":3600,\"tenant_service_name\":\"wc98/www\",\"requests\":%d}\n", last, sum
			sum = 0
		}
		last = hour
		sum += $2
	}' "$SHARED/data/wc98-requests/wc98_requests_per_minute.csv" >"$1"
}

# extract_examples PAGE PREFIX: write each code block of the EXAMPLES section
# of man/PAGE, as mandoc renders it, to PREFIX1, PREFIX2 and on.  A code
# block is a run of lines indented by 11 spaces, ended by prose or a blank line.
extract_examples() {
	mandoc -Tascii "$PA_ROOT/man/$1" | sed 's/.\x08//g' |
		sed -n '/^EXAMPLES/,/^[A-Z]/p' |
		awk -v out="$2" '
			/^           / { if (!open) { n++; open = 1 } print substr($0, 12) > (out n); next }
			{ open = 0 }'
}

# check_example FILE DIR NAME: run the example FILE in DIR with the built
# tools first on PATH, and check that it exits 0 and writes to stdout.
check_example() {
	(cd "$2" && PATH=$BIN:$PATH sh "$1" >"$T_TMP/out" 2>"$T_TMP/err")
	status=$?
	check "man example exits 0: $3" test "$status" -eq 0
	check "man example writes output: $3" test -s "$T_TMP/out"
	[ "$status" -eq 0 ] || sed 's/^/  stderr: /' "$T_TMP/err" | head -5
}

peyton_daily() {
	awk -F, 'NR > 1 { gsub(/"/, "")
		printf "{\"kind\":\"bucket\",\"ts\":\"%sT00:00:00Z\",\"step_s\":86400,\"tenant_service_name\":\"wiki/peyton\",\"requests\":%d}\n", $1, $2
	}' "$SHARED/data/wikipedia-pageviews/peyton_manning_daily_views.csv" >"$1"
	awk -F, 'NR > 1 {
		printf "{\"kind\":\"event\",\"ts\":\"%sT00:00:00Z\",\"name\":\"%s\",\"event_type\":\"%s\",\"magnitude\":1}\n", $2, $1, $1
	}' "$SHARED/data/wikipedia-pageviews/peyton_manning_events.csv" >"$2"
}

# wait_issued OUT TS: poll OUT up to 5 seconds for a forecast issued at TS,
# as a --follow reader writes it while its input is still open.
wait_issued() {
	i=0
	while ! grep -q "\"issued_at\":\"$2\"" "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "\"issued_at\":\"$2\"" "$1"
}

sample_chain() {
	awk 'BEGIN {
		for (h = 0; h < 96; h++)
			for (i = 0; i < 5 + h % 24; i++)
				printf "192.0.2.%d - - [%02d/Jan/2026:%02d:%02d:00 +0000] \"GET /api/x%d HTTP/1.1\" 200 %d \"-\" \"t\"\n",
					i % 250, 1 + int(h / 24), h % 24, i % 60, i % 3, 100 + i
	}' >"$1/log"
	pa-ingest -q "$1/log" >"$1/requests"
	pa-score --rollup 1h "$1/requests" >"$1/buckets"
	pa-forecast --horizon 3 "$1/buckets" >"$1/forecasts" 2>/dev/null
	pa-plan --capacity 5 --lead-time 1h "$1/forecasts" >"$1/plans"
	printf '{"kind":"usage","ts":"2026-01-04T23:59:00Z","tenant_service_name":"default/api","instance_id":"10.0.0.1:80","utilization":0.5}\n' >"$1/usage"
	cat "$1/usage" "$1/forecasts" >"$1/usage-forecasts"
}

tool_input() {
	case $1 in
	pa-ingest) echo "$2/log" ;;
	pa-score) echo "--rollup 1h $2/requests" ;;
	pa-forecast) echo "--horizon 3 $2/buckets" ;;
	pa-plan) echo "--capacity 5 --lead-time 1h $2/forecasts" ;;
	pa-apply) echo "$2/plans" ;;
	pa-route) echo "--capacity 5 $2/usage-forecasts" ;;
	pa-backtest) echo "--capacity 5 --lead-time 1h $2/buckets" ;;
	esac
}
