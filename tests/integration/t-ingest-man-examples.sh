# Every command in the EXAMPLES section of pa-ingest(1), as mandoc renders
# it, runs on fixture files with exit status 0 and writes records.
. "$PA_ROOT/tests/integration/lib.sh"

need_shared "ingest man examples" || finish

dir=$T_TMP/work
mkdir "$dir"
apache=$SHARED/data/http-apache-combined-elastic/apache_logs.log

# Fixtures under the file names the examples use.
cp "$apache" "$dir/access.log"
# The rotated log of virtual hosts: the same lines with a host in front.
sed 's/^/shop.example.com:443 /' "$apache" >"$dir/vhosts.log"
head -100 "$dir/vhosts.log" >"$dir/vhosts.log.1"
head -100 "$dir/vhosts.log" | gzip >"$dir/vhosts.log.2.gz"
printf '192.0.2.%s - - [01/Jan/2026:00:00:0%s +0000] "GET /api/%s HTTP/1.1" 200 512 231 0.012\n' \
	1 1 a 2 2 b 3 3 c >"$dir/nginx.log"
head -2 "$PA_ROOT/tests/cases/pa-ingest/json-caddy-nested/stdin" >"$dir/caddy.log"
cp "$SHARED/data/wc98-requests/wc98_matches_fjelstul.csv" "$dir/matches.csv"
cp "$SHARED/data/wc98-requests/wc98_requests_per_minute.csv" "$dir/requests_per_minute.csv"

extract_examples pa-ingest.1 "$T_TMP/example"

count=$(ls "$T_TMP"/example* | wc -l)
check "man examples: all six found" test "$count" -eq 6
for ex in "$T_TMP"/example*; do
	first=$(grep -m1 pa-ingest "$ex" | cut -c1-50)
	check_example "$ex" "$dir" "$first"
done
finish
