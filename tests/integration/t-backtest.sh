#!/bin/sh
# pa-backtest on a real request series: the NAB ELB request counts (five
# minutes, two weeks).  The checks are directions every honest replay must
# show, not the numbers of one run.
. "$PA_ROOT/tests/integration/lib.sh"

need_shared backtest-elb || finish
csv=$SHARED/data/nab-aws-cloudwatch/elb_request_count_8c0756.csv

awk -F, 'NR > 1 && $2 != "" { ts = $1; sub(/ /, "T", ts)
	printf "{\"kind\":\"bucket\",\"ts\":\"%sZ\",\"step_s\":300,\"tenant_service_name\":\"nab/elb\",\"requests\":%s}\n", ts, $2 }' \
	"$csv" >"$T_TMP/elb.ndjson"
run() { pa-backtest --capacity 0.02 --lead-time 2m --model ses --sweep "$@" "$T_TMP/elb.ndjson"; }
run --svg "$T_TMP/elb.svg" >"$T_TMP/out.ndjson"
check elb-exit-zero test $? -eq 0
run >"$T_TMP/again.ndjson"
check elb-deterministic cmp -s "$T_TMP/out.ndjson" "$T_TMP/again.ndjson"

get() {	# POLICY FIELD [SETTING_KEY SETTING]
	if [ $# -eq 4 ]; then
		jq -r --arg p "$1" --argjson v "$4" \
			"select(.kind == \"backtest\" and .policy == \$p and .$3 == \$v) | .$2" "$T_TMP/out.ndjson"
	else
		jq -r --arg p "$1" "select(.kind == \"backtest\" and .policy == \$p) | .$2" "$T_TMP/out.ndjson"
	fi
}
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

check elb-thirty-records test "$(jq -c 'select(.kind == "backtest")' "$T_TMP/out.ndjson" | wc -l)" -eq 30
check elb-oracle-never-overloaded test "$(get oracle overloaded_share)" = 0
check elb-static-never-overloaded test "$(get static overloaded_share)" = 0
check elb-static-costs-more-than-oracle gt "$(get static instance_hours)" "$(get oracle instance_hours)"
check elb-reactive-hotter-overloads-more gt \
	"$(get reactive overloaded_share target_utilization 0.95)" "$(get reactive overloaded_share target_utilization 0.5)"
check elb-reactive-hotter-costs-less gt \
	"$(get reactive instance_hours target_utilization 0.5)" "$(get reactive instance_hours target_utilization 0.95)"
check elb-lower-risk-overloads-less gt \
	"$(get predictive overloaded_share risk 0.5)" "$(get predictive overloaded_share risk 0.001)"
check elb-lower-risk-costs-more gt \
	"$(get predictive instance_hours risk 0.001)" "$(get predictive instance_hours risk 0.5)"
check elb-oracle-cheapest-unoverloaded gt \
	"$(get predictive instance_hours risk 0.001)" "$(get oracle instance_hours)"
check elb-equal-cost-records test \
	"$(jq -c 'select(.compare == "equal_cost")' "$T_TMP/out.ndjson" | wc -l)" -eq 10
check elb-oracle-record test \
	"$(jq -r 'select(.compare == "oracle_at_1pct") | .oracle_instance_hours > 0' "$T_TMP/out.ndjson")" = true
check elb-svg-is-xml python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$T_TMP/elb.svg"
check elb-svg-no-temp-left test ! -e "$T_TMP/elb.svg.tmp"

# The change floor meets rises the load floor follows one lead time late.
run --floor load >"$T_TMP/load.ndjson"
check elb-floor-load-exit-zero test $? -eq 0
load_share=$(jq -r 'select(.kind == "backtest" and .policy == "predictive" and .risk == 0.1) | .overloaded_share' "$T_TMP/load.ndjson")
check elb-change-floor-overloads-less gt "$load_share" "$(get predictive overloaded_share risk 0.1)"
check elb-floor-leaves-reactive-alone test \
	"$(jq -c 'select(.policy == "reactive")' "$T_TMP/load.ndjson" | md5sum)" = \
	"$(jq -c 'select(.policy == "reactive")' "$T_TMP/out.ndjson" | md5sum)"

run --table >"$T_TMP/table.txt"
check elb-table-compares grep -q "at reactive target 0.7" "$T_TMP/table.txt"

# An SVG that cannot be written is an I/O failure found before the replay,
# so no record is written, and no half file is left.
run --svg /nonexistent-dir/x.svg >"$T_TMP/svg.out" 2>"$T_TMP/svg.err"
check elb-svg-unwritable-exit-3 test $? -eq 3
check elb-svg-unwritable-message grep -q "cannot create" "$T_TMP/svg.err"
check elb-svg-unwritable-before-replay test ! -s "$T_TMP/svg.out"

finish
