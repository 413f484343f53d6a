# Convert the failure-case CSVs (series,bucket_start,count) to hourly bucket
# records; an empty count becomes "requests": null, an unknown bucket.
BEGIN { FS = "," }
NR > 1 {
	split($1, part, "/")
	count = ($3 == "") ? "null" : $3
	printf "{\"kind\":\"bucket\",\"ts\":\"%s\",\"step_s\":3600,\"tenant_service_name\":\"%s\",\"tenant\":\"%s\",\"service\":\"%s\",\"requests\":%s}\n", $2, $1, part[1], part[2], count
}
