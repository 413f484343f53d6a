# The demo runs every stage on the generated sample.  The sample's
# campaigns triple acme's traffic, so the estimated lift must come out near
# 3, and a plan made an hour before the next campaign must add instances.
. "$PA_ROOT/tests/integration/lib.sh"

PA_DEMO_OUT=$T_TMP/demo
export PA_DEMO_OUT
PATH=$BIN:$PATH

# The demo script runs the binaries in bin/; point it at the build under test.
mkdir -p "$T_TMP/root/scripts" "$T_TMP/root/build"
cp "$PA_ROOT/scripts/demo" "$T_TMP/root/scripts/demo"
ln -s "$BIN" "$T_TMP/root/bin"
ln -s "$PA_ROOT/build/gen-sample" "$T_TMP/root/build/gen-sample"

sh "$T_TMP/root/scripts/demo" >"$T_TMP/demo.out" 2>"$T_TMP/demo.err"
check "demo exit status" test $? -eq 0
check "demo shows kubectl commands" grep -q "^'kubectl' " "$T_TMP/demo.out"
check "demo shows router weights" grep -q '^set server ' "$T_TMP/demo.out"

# Weights follow each instance's capacity, so no ready search instance is
# left without traffic.  acme/search is predicted past --max-utilization
# on both instances, which pa-route reports, and pa-plan adds an instance.
check "router weights keep every instance live" sh -c "! grep -q '^set server .* weight 0$' '$T_TMP/demo.out'"
check "router weights by capacity" grep -q '^set server acme-search/acme-search-1 weight 116$' "$T_TMP/demo.out"
check "router names the overloaded series" grep -q '^pa-route: acme/search: predicted utilization 0.924 is above --max-utilization 0.9' "$T_TMP/demo.err"
check "campaign lift near the generated 3x" jq -e -s '
	map(select(.kind=="event_effect" and .tenant_service_name=="acme/search"))
	| length == 1 and (.[0].lift > 2.5 and .[0].lift < 3.5) and .[0].applied' \
	"$PA_DEMO_OUT/forecast.ndjson"
check "campaign hours forecast higher" jq -e -s '
	map(select(.kind=="forecast" and .tenant_service_name=="acme/search"))
	| (map(select(.ts=="2026-06-15T19:00:00Z"))[0].predicted_volume) >
	  2 * (map(select(.ts=="2026-06-15T16:00:00Z"))[0].predicted_volume)' \
	"$PA_DEMO_OUT/forecast.ndjson"
check "capacity ordered before the campaign" sh -c "grep -A3 'capacity ordered before' '$T_TMP/demo.out' |
	grep 'acme/search' | jq -e '.optimal_instances > .current_instances and .action == \"provision\"' >/dev/null"

finish
