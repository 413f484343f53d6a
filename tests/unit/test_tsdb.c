/* Unit tests for the Prometheus and InfluxDB readers and writers. */
#include <stdlib.h>

#include "diag.h"
#include "influx.h"
#include "ndjson.h"
#include "prom.h"
#include "tsdb.h"
#include "unit.h"

static void
collect(const json_t *rec, void *ctx)
{
	json_array_append((json_t *)ctx, (json_t *)rec);
}

/* Read a Prometheus document; returns the records, and the reader's result in *n. */
static json_t *
prom(const char *doc, const struct pa_tsdb_map *map, long *n)
{
	json_t *out = json_array();

	*n = pa_prom_read("test", 1, doc, strlen(doc), map, collect, out);
	return out;
}

static json_t *
influx(const char *doc, const struct pa_tsdb_map *map, long *n)
{
	json_t *out = json_array();

	*n = pa_influx_read("test", 1, doc, strlen(doc), map, collect, out);
	return out;
}

static const char *
str_at(const json_t *recs, size_t i, const char *key)
{
	return pa_rec_str(json_array_get(recs, i), key);
}

static double
num_at(const json_t *recs, size_t i, const char *key)
{
	double v = -12345;

	pa_rec_num(json_array_get(recs, i), key, &v);
	return v;
}

/* The text a writer produces for one record, malloc'd. */
static char *
om_text(const char *rec_json, int *result)
{
	struct pa_om_writer *w = pa_om_writer_new();
	json_t *rec = json_loads(rec_json, 0, NULL);
	char err[200], *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	*result = pa_om_write_record(w, rec, err, sizeof err);
	pa_om_writer_finish(w, f);
	fclose(f);
	json_decref(rec);
	return buf;
}

static char *
influx_text(const char *rec_json, int *result, char *err, size_t errsize)
{
	json_t *rec = json_loads(rec_json, 0, NULL);
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	*result = pa_influx_write_record(f, rec, err, errsize);
	fclose(f);
	json_decref(rec);
	return buf;
}

static void
test_map(void)
{
	struct pa_tsdb_map map;
	char err[200];

	pa_tsdb_map_init(&map);
	CHECK("map label tenant=namespace", pa_tsdb_map_label(&map, "tenant=namespace", err, sizeof err) == 0);
	CHECK_STR("map label stored", map.label[PA_TSDB_K_TENANT], "namespace");
	CHECK("map label without =", pa_tsdb_map_label(&map, "tenant", err, sizeof err) == -1);
	CHECK("map label unknown field", pa_tsdb_map_label(&map, "zone=az", err, sizeof err) == -1);
	CHECK("map label empty label", pa_tsdb_map_label(&map, "service=", err, sizeof err) == -1);
	CHECK("field lookup requests", pa_tsdb_field_lookup("requests") == PA_TSDB_F_REQUESTS);
	CHECK("field lookup unknown", pa_tsdb_field_lookup("ts") == -1);
	CHECK("metric table cadvisor cpu",
	      pa_tsdb_metric_lookup("container_cpu_usage_seconds_total")->field == PA_TSDB_F_CPU_USAGE);
	CHECK("metric table unknown", pa_tsdb_metric_lookup("up") == NULL);
}

static void
test_prom_vector(void)
{
	struct pa_tsdb_map map;
	json_t *r;
	long n;

	pa_tsdb_map_init(&map);
	map.metric = PA_TSDB_F_CPU_USAGE;
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"pod\":\"web-1\",\"namespace\":\"shop\",\"container\":\"web\"},"
		 "\"value\":[1700000000.5,\"0.25\"]}]}}", &map, &n);
	CHECK("prom vector result one", n == 1);
	CHECK("prom vector one record", json_array_size(r) == 1);
	CHECK_STR("prom vector kind", str_at(r, 0, "kind"), "usage");
	CHECK_STR("prom vector instance from pod", str_at(r, 0, "instance_id"), "web-1");
	CHECK_STR("prom vector tsn", str_at(r, 0, "tenant_service_name"), "shop/web");
	CHECK_STR("prom vector ts", str_at(r, 0, "ts"), "2023-11-14T22:13:20.500Z");
	CHECK_NEAR("prom vector cpu", num_at(r, 0, "cpu_usage"), 0.25, 1e-12);
	CHECK("prom vector memory null", json_is_null(json_object_get(json_array_get(r, 0), "memory_usage")));
	json_decref(r);

	/* --label overrides the defaults. */
	pa_tsdb_map_label(&map, "instance_id=node", (char[80]){ 0 }, 80);
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"pod\":\"web-1\",\"node\":\"n7\",\"namespace\":\"shop\",\"container\":\"web\"},"
		 "\"value\":[1700000000,\"1\"]}]}}", &map, &n);
	CHECK_STR("prom --label instance_id=node", str_at(r, 0, "instance_id"), "n7");
	json_decref(r);
}

static void
test_prom_matrix_counter(void)
{
	struct pa_tsdb_map map;
	json_t *r;
	long n;

	/* A counter with a reset between the third and fourth sample. */
	pa_tsdb_map_init(&map);
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		 "{\"metric\":{\"__name__\":\"http_requests_total\",\"namespace\":\"shop\",\"service\":\"api\"},"
		 "\"values\":[[1700000000,\"100\"],[1700000060,\"160\"],[1700000120,\"200\"],"
		 "[1700000180,\"15\"]]}]}}", &map, &n);
	CHECK("counter three buckets", n == 3);
	CHECK_STR("counter bucket kind", str_at(r, 0, "kind"), "bucket");
	/* 1700000000 is 22:13:20; its 60 s bucket starts at 22:13:00. */
	CHECK_STR("counter bucket start", str_at(r, 0, "ts"), "2023-11-14T22:13:00Z");
	CHECK_NEAR("counter step from spacing", num_at(r, 0, "step_s"), 60, 0);
	CHECK_NEAR("counter increase", num_at(r, 0, "requests"), 60, 0);
	CHECK_NEAR("counter increase 2", num_at(r, 1, "requests"), 40, 0);
	CHECK_NEAR("counter reset", num_at(r, 2, "requests"), 15, 0);
	CHECK_NEAR("counter complexity typical", num_at(r, 0, "complexity_mean"), 1, 0);
	CHECK_NEAR("counter complexity sum", num_at(r, 0, "complexity_sum"), 60, 0);
	json_decref(r);

	/* A gap (the series went stale) is not attributed to one bucket. */
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		 "{\"metric\":{\"__name__\":\"http_requests_total\",\"namespace\":\"shop\",\"service\":\"api\"},"
		 "\"values\":[[1700000000,\"100\"],[1700000060,\"160\"],[1700000600,\"900\"],"
		 "[1700000660,\"910\"]]}]}}", &map, &n);
	CHECK("stale gap skipped", n == 2);
	CHECK_NEAR("after gap", num_at(r, 1, "requests"), 10, 0);
	json_decref(r);

	/* CPU seconds become a fraction of the limit. */
	map.cpu_limit = 2;
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		 "{\"metric\":{\"__name__\":\"container_cpu_usage_seconds_total\",\"namespace\":\"shop\","
		 "\"container\":\"web\",\"pod\":\"web-1\"},"
		 "\"values\":[[1700000000,\"10\"],[1700000010,\"13\"]]}]}}", &map, &n);
	CHECK_NEAR("cpu rate over limit", num_at(r, 0, "cpu_usage"), 0.15, 1e-12);
	CHECK_STR("cpu rate at later sample", str_at(r, 0, "ts"), "2023-11-14T22:13:30Z");
	json_decref(r);

	/* With --step wider than the spacing, samples add up into its buckets. */
	pa_tsdb_map_init(&map);
	map.step = 3600 * PA_USEC_PER_SEC;
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		 "{\"metric\":{\"__name__\":\"pa_bucket_requests\",\"tenant\":\"a\",\"service\":\"b\"},"
		 "\"values\":[[1699999200,\"5\"],[1700002740,\"7\"],[1700002800,\"11\"]]},"
		 "{\"metric\":{\"__name__\":\"pa_bucket_complexity\",\"tenant\":\"a\",\"service\":\"b\"},"
		 "\"values\":[[1699999200,\"2\"],[1700002740,\"1\"],[1700002800,\"3\"]]}]}}", &map, &n);
	CHECK("rebucket two hours", n == 2);
	CHECK_STR("rebucket first start", str_at(r, 0, "ts"), "2023-11-14T22:00:00Z");
	CHECK_NEAR("rebucket requests added", num_at(r, 0, "requests"), 12, 0);
	CHECK_NEAR("rebucket complexity sum", num_at(r, 0, "complexity_sum"), 17, 1e-12);
	CHECK_NEAR("rebucket complexity mean", num_at(r, 0, "complexity_mean"), 17.0 / 12.0, 1e-12);
	CHECK_NEAR("rebucket second", num_at(r, 1, "requests"), 11, 0);
	json_decref(r);
	pa_tsdb_map_init(&map);
	map.cpu_limit = 2;

	/* A counter needs a range. */
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"__name__\":\"http_requests_total\",\"namespace\":\"a\",\"service\":\"b\"},"
		 "\"value\":[1700000000,\"1\"]}]}}", &map, &n);
	CHECK("counter vector rejected", n == 0);
	json_decref(r);
}

static void
test_prom_bad(void)
{
	struct pa_tsdb_map map;
	long before, n;
	json_t *r;

	pa_tsdb_map_init(&map);
	before = pa_diag_rejected();
	r = prom("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error\"}", &map, &n);
	CHECK("error response result", n == -1);
	CHECK("error response rejected once", pa_diag_rejected() == before + 1);
	json_decref(r);

	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", &map, &n);
	CHECK("empty result zero", n == 0);
	CHECK("empty result no records", json_array_size(r) == 0);
	json_decref(r);

	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1\"]}}", &map, &n);
	CHECK("scalar rejected", n == -1);
	json_decref(r);

	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"__name__\":\"pa_bucket_requests\",\"tenant\":\"a\",\"service\":\"b\"},"
		 "\"value\":[1e300,\"1\"]}]}}", &map, &n);
	CHECK("time beyond year 9999 rejected", n == 0);
	json_decref(r);

	r = prom("{\"status\":\"succ", &map, &n);
	CHECK("invalid JSON rejected", n == -1);
	json_decref(r);

	/* NaN and +Inf samples are rejected one by one; the finite one stays. */
	before = pa_diag_rejected();
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		 "{\"metric\":{\"__name__\":\"pa_bucket_requests\",\"tenant\":\"a\",\"service\":\"b\"},"
		 "\"values\":[[1700000000,\"NaN\"],[1700000060,\"+Inf\"],[1700000120,\"7\"],"
		 "[1700000180,\"-Inf\"],[1700000240,\"8\"]]}]}}", &map, &n);
	CHECK("nan inf two kept", n == 2);
	CHECK("nan inf three rejected", pa_diag_rejected() == before + 3);
	CHECK_NEAR("nan inf step counts rejected samples", num_at(r, 0, "step_s"), 60, 0);
	json_decref(r);

	/* The same labels twice: the second series is not added. */
	before = pa_diag_rejected();
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"__name__\":\"pa_usage_cpu_ratio\",\"tenant\":\"a\",\"service\":\"b\",\"pod\":\"p\"},"
		 "\"value\":[1700000000,\"0.5\"]},"
		 "{\"metric\":{\"service\":\"b\",\"tenant\":\"a\",\"pod\":\"p\",\"__name__\":\"pa_usage_cpu_ratio\"},"
		 "\"value\":[1700000000,\"0.5\"]}]}}", &map, &n);
	CHECK("duplicate series one record", n == 1);
	CHECK_NEAR("duplicate series not summed", num_at(r, 0, "cpu_usage"), 0.5, 0);
	CHECK("duplicate series rejected", pa_diag_rejected() == before + 1);
	json_decref(r);

	/* Quotes in a label value are data; a newline is rejected. */
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"__name__\":\"pa_usage_cpu_ratio\",\"tenant\":\"a\\\"q\",\"service\":\"b\",\"pod\":\"p\"},"
		 "\"value\":[1700000000,\"0.5\"]},"
		 "{\"metric\":{\"__name__\":\"pa_usage_cpu_ratio\",\"tenant\":\"a\\nb\",\"service\":\"b\",\"pod\":\"p\"},"
		 "\"value\":[1700000000,\"0.5\"]}]}}", &map, &n);
	CHECK("label quote kept newline rejected", n == 1);
	CHECK_STR("label quote value", str_at(r, 0, "tenant"), "a\"q");
	json_decref(r);

	/* No tenant label among the defaults. */
	before = pa_diag_rejected();
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"__name__\":\"pa_bucket_requests\",\"job\":\"api\"},"
		 "\"value\":[1700000000,\"3\"]}]}}", &map, &n);
	CHECK("missing tenant no records", n == 0);
	CHECK("missing tenant rejected once", pa_diag_rejected() == before + 1);
	json_decref(r);

	/* No __name__ and no --metric. */
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"tenant\":\"a\",\"service\":\"b\"},\"value\":[1700000000,\"3\"]}]}}", &map, &n);
	CHECK("no name no metric rejected", n == 0);
	json_decref(r);

	/* Memory bytes need a limit. */
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"__name__\":\"container_memory_working_set_bytes\",\"namespace\":\"a\","
		 "\"container\":\"b\",\"pod\":\"p\"},\"value\":[1700000000,\"512\"]}]}}", &map, &n);
	CHECK("memory without limit rejected", n == 0);
	json_decref(r);
	map.memory_limit = 1024;
	r = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"__name__\":\"container_memory_working_set_bytes\",\"namespace\":\"a\","
		 "\"container\":\"b\",\"pod\":\"p\"},\"value\":[1700000000,\"512\"]}]}}", &map, &n);
	CHECK_NEAR("memory over limit", num_at(r, 0, "memory_usage"), 0.5, 0);
	json_decref(r);
}

static void
test_influx_read(void)
{
	struct pa_tsdb_map map;
	json_t *r;
	long n;

	pa_tsdb_map_init(&map);
	r = influx("{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"pa_bucket\","
		   "\"tags\":{\"service\":\"x,y\",\"tenant\":\"a b\"},\"columns\":[\"time\",\"requests\"],"
		   "\"values\":[[1000000000000000000,12],[1000000060000000000,13.5]]}]}]}", &map, &n);
	CHECK("influx json two buckets", n == 2);
	CHECK_STR("influx json tenant", str_at(r, 0, "tenant"), "a b");
	CHECK_STR("influx json tsn", str_at(r, 0, "tenant_service_name"), "a b/x,y");
	CHECK_STR("influx json ns time", str_at(r, 0, "ts"), "2001-09-09T01:46:00Z");
	CHECK_NEAR("influx json step", num_at(r, 1, "step_s"), 60, 0);
	CHECK_NEAR("influx json value", num_at(r, 1, "requests"), 13.5, 0);
	json_decref(r);

	/* SELECT * without GROUP BY: tags arrive as string columns. */
	r = influx("{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"pa_bucket\","
		   "\"columns\":[\"time\",\"model\",\"requests\",\"service\",\"tenant\"],"
		   "\"values\":[[\"2001-09-09T01:46:40Z\",\"hw\",12,\"s\",\"t\"],"
		   "[\"2001-09-09T01:47:40Z\",null,13,\"s\",\"t\"]]}]}]}", &map, &n);
	CHECK("influx json tag columns", n == 2);
	CHECK_STR("influx json tag column tsn", str_at(r, 1, "tenant_service_name"), "t/s");
	json_decref(r);

	r = influx("name,tags,time,requests\n"
		   "pa_bucket,\"service=x\\,y,tenant=a\\ b\",1000000000000000000,12\n"
		   "pa_bucket,\"service=x\\,y,tenant=a\\ b\",1000000060000000000,13.5\n", &map, &n);
	CHECK("influx csv two buckets", n == 2);
	CHECK_STR("influx csv escaped tags", str_at(r, 0, "tenant_service_name"), "a b/x,y");
	CHECK_NEAR("influx csv value", num_at(r, 1, "requests"), 13.5, 0);
	json_decref(r);

	r = influx("{\"error\":\"error parsing query: found SELEC\"}", &map, &n);
	CHECK("influx error response", n == -1);
	json_decref(r);
	r = influx("error\n\"error parsing query: found SELEC\"\n", &map, &n);
	CHECK("influx csv error response", n == -1);
	json_decref(r);
	r = influx("{\"results\":[{\"statement_id\":0,\"error\":\"database not found: nodb\"}]}", &map, &n);
	CHECK("influx statement error", n == 0);
	json_decref(r);
	r = influx("{\"results\":[{\"statement_id\":0}]}", &map, &n);
	CHECK("influx empty", n == 0);
	json_decref(r);

	/* A column that is not a record field needs an alias or --metric. */
	r = influx("{\"results\":[{\"series\":[{\"name\":\"cpu\",\"tags\":{\"tenant\":\"a\",\"service\":\"b\","
		   "\"instance_id\":\"i\"},\"columns\":[\"time\",\"mean\"],\"values\":[[\"2001-09-09T01:46:40Z\",0.5]]}]}]}",
		   &map, &n);
	CHECK("influx unknown column rejected", n == 0);
	json_decref(r);
	map.metric = PA_TSDB_F_CPU_USAGE;
	r = influx("{\"results\":[{\"series\":[{\"name\":\"cpu\",\"tags\":{\"tenant\":\"a\",\"service\":\"b\","
		   "\"instance_id\":\"i\"},\"columns\":[\"time\",\"mean\"],\"values\":[[\"2001-09-09T01:46:40Z\",0.5]]}]}]}",
		   &map, &n);
	CHECK_NEAR("influx --metric column", num_at(r, 0, "cpu_usage"), 0.5, 0);
	json_decref(r);
}

static void
test_openmetrics(void)
{
	int res;
	char *text;

	text = om_text("{\"kind\":\"forecast\",\"tenant_service_name\":\"shop/api\",\"tenant\":\"shop\","
		       "\"service\":\"api\",\"ts\":\"2023-11-14T22:13:20Z\",\"predicted_volume\":12.5,"
		       "\"volume_lower\":10,\"volume_upper\":15.000000000000002,"
		       "\"predicted_complexity\":1,\"complexity_lower\":null,\"complexity_upper\":1.2}", &res);
	CHECK("om forecast written", res == 1);
	CHECK_STR("om forecast text", text,
		  "# TYPE pa_forecast_requests gauge\n"
		  "# HELP pa_forecast_requests Forecast requests per bucket; bound is point, lower or upper, and a bound has its interval level.\n"
		  "pa_forecast_requests{tenant=\"shop\",service=\"api\",bound=\"point\"} 12.5 1700000000\n"
		  "pa_forecast_requests{tenant=\"shop\",service=\"api\",bound=\"lower\"} 10 1700000000\n"
		  "pa_forecast_requests{tenant=\"shop\",service=\"api\",bound=\"upper\"} 15 1700000000\n"
		  "# TYPE pa_forecast_complexity gauge\n"
		  "# HELP pa_forecast_complexity Forecast mean complexity per bucket; bound is point, lower or upper, and a bound has its interval level.\n"
		  "pa_forecast_complexity{tenant=\"shop\",service=\"api\",bound=\"point\"} 1 1700000000\n"
		  "pa_forecast_complexity{tenant=\"shop\",service=\"api\",bound=\"upper\"} 1.2 1700000000\n"
		  "# EOF\n");
	free(text);

	/* Several levels: each bound is written per level, with its level. */
	text = om_text("{\"kind\":\"forecast\",\"tenant\":\"a\",\"service\":\"b\","
		       "\"ts\":\"2023-11-14T22:13:20Z\",\"predicted_volume\":6,\"interval_level\":0.8,"
		       "\"volume_lower\":3,\"volume_upper\":9,\"intervals\":["
		       "{\"interval_level\":0.8,\"volume_lower\":3,\"volume_upper\":9},"
		       "{\"interval_level\":0.95,\"volume_lower\":1,\"volume_upper\":11}]}", &res);
	CHECK_STR("om levels", text,
		  "# TYPE pa_forecast_requests gauge\n"
		  "# HELP pa_forecast_requests Forecast requests per bucket; bound is point, lower or upper, and a bound has its interval level.\n"
		  "pa_forecast_requests{tenant=\"a\",service=\"b\",bound=\"point\"} 6 1700000000\n"
		  "pa_forecast_requests{tenant=\"a\",service=\"b\",bound=\"lower\",level=\"0.8\"} 3 1700000000\n"
		  "pa_forecast_requests{tenant=\"a\",service=\"b\",bound=\"upper\",level=\"0.8\"} 9 1700000000\n"
		  "pa_forecast_requests{tenant=\"a\",service=\"b\",bound=\"lower\",level=\"0.95\"} 1 1700000000\n"
		  "pa_forecast_requests{tenant=\"a\",service=\"b\",bound=\"upper\",level=\"0.95\"} 11 1700000000\n"
		  "# EOF\n");
	free(text);
	text = om_text("{\"kind\":\"forecast\",\"tenant\":\"a\",\"service\":\"b\","
		       "\"ts\":\"2023-11-14T22:13:20Z\",\"predicted_volume\":6,"
		       "\"intervals\":[{\"interval_level\":0.8,\"volume_lower\":\"x\"}]}", &res);
	CHECK("om bad interval rejected", res == -1);
	free(text);

	text = om_text("{\"kind\":\"bucket\",\"tenant_service_name\":\"a\\\"q/x\\ny\\\\z\","
		       "\"ts\":\"2023-11-14T22:13:20.25Z\",\"step_s\":60,\"requests\":3}", &res);
	CHECK_STR("om label escapes and fraction", text,
		  "# TYPE pa_bucket_requests gauge\n"
		  "# HELP pa_bucket_requests Requests in the bucket that starts at the sample time.\n"
		  "pa_bucket_requests{tenant=\"a\\\"q\",service=\"x\\ny\\\\z\"} 3 1700000000.25\n"
		  "# TYPE pa_bucket_step_seconds gauge\n"
		  "# HELP pa_bucket_step_seconds Width of the bucket in seconds.\n"
		  "pa_bucket_step_seconds{tenant=\"a\\\"q\",service=\"x\\ny\\\\z\"} 60 1700000000.25\n"
		  "# EOF\n");
	free(text);

	text = om_text("{\"kind\":\"plan\",\"tenant_service_name\":\"a/b\"}", &res);
	CHECK("om plan not written", res == 0);
	CHECK_STR("om empty still ends", text, "# EOF\n");
	free(text);

	text = om_text("{\"kind\":\"bucket\",\"ts\":\"2023-11-14T22:13:20Z\",\"requests\":3}", &res);
	CHECK("om no tenant rejected", res == -1);
	CHECK_STR("om rejected writes nothing", text, "# EOF\n");
	free(text);

	text = om_text("{\"kind\":\"bucket\",\"tenant_service_name\":\"a/b\",\"ts\":\"2023-11-14T22:13:20Z\","
		       "\"requests\":\"many\"}", &res);
	CHECK("om non-number rejected", res == -1);
	free(text);
}

static void
test_line_protocol(void)
{
	char err[200], *text;
	int res;

	text = influx_text("{\"kind\":\"bucket\",\"ts\":\"2001-09-09T01:46:40Z\",\"step_s\":60,"
			   "\"tenant\":\"a b\",\"service\":\"x,y=z\",\"tenant_service_name\":\"a b/x,y=z\","
			   "\"requests\":12,\"complexity_mean\":1.25,\"model\":\"h\\\"w\\\\\"}",
			   &res, err, sizeof err);
	CHECK("lp bucket written", res == 1);
	CHECK_STR("lp bucket text", text,
		  "pa_bucket,tenant=a\\ b,service=x\\,y\\=z step_s=60,requests=12,complexity_mean=1.25,"
		  "model=\"h\\\"w\\\\\" 1000000000000000000\n");
	free(text);

	/* Each level of "intervals" becomes fields named with the level in percent. */
	text = influx_text("{\"kind\":\"forecast\",\"ts\":\"2001-09-09T01:46:40Z\",\"tenant\":\"a\","
			   "\"service\":\"b\",\"predicted_volume\":6,\"intervals\":["
			   "{\"interval_level\":0.8,\"volume_upper\":9},"
			   "{\"interval_level\":0.995,\"volume_upper\":12}]}", &res, err, sizeof err);
	CHECK_STR("lp interval levels", text,
		  "pa_forecast,tenant=a,service=b predicted_volume=6,volume_upper_80=9,"
		  "volume_upper_99.5=12 1000000000000000000\n");
	free(text);

	text = influx_text("{\"kind\":\"bucket\",\"ts\":\"2001-09-09T01:46:40Z\",\"tenant\":\"a\\nb\","
			   "\"service\":\"s\",\"requests\":1}", &res, err, sizeof err);
	CHECK("lp tag newline rejected", res == -1);
	CHECK_STR("lp rejected writes nothing", text, "");
	free(text);

	text = influx_text("{\"kind\":\"bucket\",\"ts\":\"2001-09-09T01:46:40Z\",\"tenant\":\"a\\\\\","
			   "\"service\":\"s\",\"requests\":1}", &res, err, sizeof err);
	CHECK("lp tag trailing backslash rejected", res == -1);
	free(text);

	text = influx_text("{\"kind\":\"bucket\",\"ts\":\"4002-09-09T01:46:40Z\",\"tenant\":\"a\","
			   "\"service\":\"s\",\"requests\":1}", &res, err, sizeof err);
	CHECK("lp year 4002 rejected", res == -1);
	CHECK_STR("lp year 4002 writes nothing", text, "");
	free(text);

	text = influx_text("{\"kind\":\"event\",\"ts\":\"2001-09-09T01:46:40Z\"}", &res, err, sizeof err);
	CHECK("lp event not written", res == 0);
	free(text);
}

static void
test_format_double(void)
{
	char buf[40];
	double values[] = { 0.1, 1.0 / 3.0, 123456789.123, 1e-300, 2.5e20, -7.25 };

	CHECK_STR("double integer", pa_tsdb_format_double(42, buf, sizeof buf), "42");
	CHECK_STR("double short", pa_tsdb_format_double(0.1, buf, sizeof buf), "0.1");
	CHECK_STR("double 12 digits", pa_tsdb_format_double(9663.493741738861, buf, sizeof buf),
		  "9663.49374174");
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		char ndjson[40];

		/* The same number that NDJSON output (12 significant digits) carries. */
		snprintf(ndjson, sizeof ndjson, "%.12g", values[i]);
		pa_tsdb_format_double(values[i], buf, sizeof buf);
		CHECK("double matches ndjson", strtod(buf, NULL) == strtod(ndjson, NULL));
	}
}

/* A bucket width outside 1 s to 366 days is rejected unless --step sets one. */
static void
test_step_bounds(void)
{
	static const char half[] =
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		"{\"metric\":{\"__name__\":\"pa_bucket_requests\",\"tenant\":\"a\",\"service\":\"b\"},"
		"\"values\":[[1700000000,\"1\"],[1700000000.5,\"2\"],[1700000001,\"3\"]]}]}}";
	static const char year[] =
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		"{\"metric\":{\"__name__\":\"pa_bucket_requests\",\"tenant\":\"a\",\"service\":\"b\"},"
		"\"values\":[[1700000000,\"1\"],[1734560000,\"2\"]]}]}}";
	static const char stated[] =
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		"{\"metric\":{\"__name__\":\"pa_bucket_requests\",\"tenant\":\"a\",\"service\":\"b\"},"
		"\"values\":[[1700000000,\"1\"]]},"
		"{\"metric\":{\"__name__\":\"pa_bucket_step_seconds\",\"tenant\":\"a\",\"service\":\"b\"},"
		"\"values\":[[1700000000,\"0.5\"]]}]}}";
	struct pa_tsdb_map map;
	long n, before;
	json_t *r;

	pa_tsdb_map_init(&map);
	before = pa_diag_rejected();
	r = prom(half, &map, &n);
	CHECK("half second spacing no bucket", n == 0);
	CHECK("half second spacing rejected", pa_diag_rejected() == before + 3);
	json_decref(r);

	r = prom(year, &map, &n);
	CHECK("400 day spacing no bucket", n == 0);
	json_decref(r);

	before = pa_diag_rejected();
	map.step = PA_USEC_PER_SEC;
	r = prom(half, &map, &n);
	CHECK("half second with step two buckets", n == 2);
	CHECK_NEAR("half second with step added", num_at(r, 0, "requests"), 3, 0);
	CHECK_NEAR("half second with step width", num_at(r, 0, "step_s"), 1, 0);
	CHECK("half second with step not rejected", pa_diag_rejected() == before);
	json_decref(r);

	r = prom(stated, &map, &n);
	CHECK("step_s below 1 s rejected with step", n == 0);
	json_decref(r);
}

int
main(void)
{
	pa_diag_init("test_tsdb");
	test_map();
	test_prom_vector();
	test_prom_matrix_counter();
	test_prom_bad();
	test_step_bounds();
	test_influx_read();
	test_openmetrics();
	test_line_protocol();
	test_format_double();
	return unit_status();
}
