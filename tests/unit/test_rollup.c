/* Unit tests for the complexity sketch and bucket aggregation. */
#include <math.h>
#include <stdlib.h>

#include "ndjson.h"

#include "rollup.h"
#include "unit.h"

/* Buckets written by a rollup, kept for checking. */
struct written {
	pa_usec_t start[64];
	char name[64][32];
	uint64_t requests[64];
	int64_t micro[64];
	int n;
};

static void
keep(const char *tsn, const char *tenant, const char *service, pa_usec_t step,
     const struct pa_bucket *b, void *ctx)
{
	struct written *w = ctx;

	(void)tenant;
	(void)service;
	(void)step;
	if (w->n == 64)
		return;
	w->start[w->n] = b->start;
	snprintf(w->name[w->n], sizeof w->name[w->n], "%s", tsn);
	w->requests[w->n] = b->requests;
	w->micro[w->n] = b->complexity_micro;
	w->n++;
}

static void
add(struct pa_rollup *r, const char *tsn, long sec, double complexity)
{
	struct pa_rollup_request req = { 0 };

	req.ts = (pa_usec_t)sec * PA_USEC_PER_SEC;
	req.tenant_service_name = tsn;
	req.complexity = complexity;
	req.status = 200;
	pa_rollup_add(r, &req);
}

static void
test_sketch(void)
{
	struct pa_sketch s = { 0 }, a = { 0 }, b = { 0 };

	CHECK("sketch empty quantile", pa_sketch_quantile(&s, 0.5) == 0);
	for (int i = 1; i <= 100; i++)
		pa_sketch_add(&s, i, 1);
	CHECK_NEAR("sketch p50 within 1%", pa_sketch_quantile(&s, 0.50), 50, 0.5);
	CHECK_NEAR("sketch p95 within 1%", pa_sketch_quantile(&s, 0.95), 95, 0.95);
	CHECK_NEAR("sketch p99 within 1%", pa_sketch_quantile(&s, 0.99), 99, 0.99);
	CHECK("sketch reports 1.0 exactly", (pa_sketch_add(&a, 1.0, 3), pa_sketch_quantile(&a, 0.5) == 1.0));
	pa_sketch_free(&a);

	/* Merging two halves gives the sketch of the whole. */
	for (int i = 1; i <= 100; i++)
		pa_sketch_add(i % 2 ? &a : &b, i, 1);
	pa_sketch_add(&b, 0, 2);
	pa_sketch_add(&s, 0, 2);
	pa_sketch_merge(&a, &b);
	CHECK("sketch merge count", pa_sketch_count(&a) == 102);
	CHECK("sketch merge bins equal", a.nbins == s.nbins &&
	      memcmp(a.keys, s.keys, a.nbins * sizeof *a.keys) == 0 &&
	      memcmp(a.counts, s.counts, a.nbins * sizeof *a.counts) == 0 && a.zeros == s.zeros);
	CHECK("sketch zeros rank first", pa_sketch_quantile(&a, 0.01) == 0);
	pa_sketch_free(&a);
	pa_sketch_free(&b);
	pa_sketch_free(&s);
}

static void
test_sketch_json(void)
{
	struct pa_sketch s = { 0 }, t = { 0 };
	char err[200];
	json_t *j, *bad;

	pa_sketch_add(&s, 2.5, 4);
	pa_sketch_add(&s, 0.1, 1);
	j = pa_sketch_to_json(&s);
	CHECK("sketch json round trip", pa_sketch_add_json(&t, j, err, sizeof err) == 0 &&
	      pa_sketch_count(&t) == 5 && pa_sketch_quantile(&t, 0.5) == pa_sketch_quantile(&s, 0.5));
	bad = json_pack("{s:f,s:i,s:[i],s:[i]}", "alpha", 0.05, "zeros", 0, "keys", 1, "counts", 1);
	CHECK("sketch json other alpha rejected", pa_sketch_add_json(&t, bad, err, sizeof err) == -1);
	CHECK("sketch json bad add nothing", pa_sketch_count(&t) == 5);
	json_decref(bad);
	bad = json_pack("{s:f,s:i,s:[i],s:[i]}", "alpha", 0.01, "zeros", 0, "keys", 1, "counts", -1);
	CHECK("sketch json negative count rejected", pa_sketch_add_json(&t, bad, err, sizeof err) == -1);
	json_decref(bad);
	CHECK("sketch json missing rejected", pa_sketch_add_json(&t, NULL, err, sizeof err) == -1);
	CHECK_STR("sketch json missing message", err, "field \"complexity_sketch\" is missing");
	bad = json_string("x");
	CHECK("sketch json string rejected", pa_sketch_add_json(&t, bad, err, sizeof err) == -1);
	CHECK_STR("sketch json string message", err,
		  "field \"complexity_sketch\" is not an object: string \"x\"");
	json_decref(bad);
	CHECK("sketch json rejects add nothing", pa_sketch_count(&t) == 5);
	json_decref(j);
	pa_sketch_free(&s);
	pa_sketch_free(&t);
}

static void
test_rollup_order_and_gaps(void)
{
	struct written w = { 0 };
	struct pa_rollup *r = pa_rollup_new(60 * PA_USEC_PER_SEC, -1, keep, &w);

	add(r, "b/x", 130, 1.0);	/* bucket 120 */
	add(r, "a/x", 10, 2.0);		/* bucket 0 */
	add(r, "a/x", 250, 0.5);	/* bucket 240: 60..180 are gaps */
	add(r, "a/x", 20, 1.25);
	pa_rollup_finish(r);

	CHECK("rollup writes span only", w.n == 6);
	CHECK("rollup first is a/x at 0", w.start[0] == 0);
	CHECK("rollup first is a/x at 0", strcmp(w.name[0], "a/x") == 0);
	CHECK("rollup sums in millionths", w.micro[0] == 3250000);
	CHECK("rollup sums in millionths", w.requests[0] == 2);
	CHECK("rollup gap is zero", w.start[1] == 60 * PA_USEC_PER_SEC);
	CHECK("rollup gap is zero", w.requests[1] == 0);
	CHECK("rollup ties ordered by name", w.start[2] == 120 * PA_USEC_PER_SEC &&
	      strcmp(w.name[2], "a/x") == 0 && strcmp(w.name[3], "b/x") == 0 && w.requests[3] == 1);
	CHECK("rollup last bucket", w.start[5] == 240 * PA_USEC_PER_SEC);
	CHECK("rollup last bucket", w.requests[5] == 1);
}

static void
test_rollup_merge_exact(void)
{
	struct written w1 = { 0 }, w2 = { 0 };
	struct pa_rollup *merged;
	struct pa_bucket b1 = { 0 }, b2 = { 0 };
	char err[200];
	json_t *j1, *j2;

	/* Two partial buckets of one series: 0.1 + 0.2 must add exactly. */
	b1.start = 0;
	b1.requests = 1;
	b1.complexity_micro = 100000;
	pa_sketch_add(&b1.sketch, 0.1, 1);
	b2.start = 0;
	b2.requests = 1;
	b2.complexity_micro = 200000;
	pa_sketch_add(&b2.sketch, 0.2, 1);
	j1 = pa_bucket_to_json("t/a", "t", "a", 60 * PA_USEC_PER_SEC, &b1);
	j2 = pa_bucket_to_json("t/a", "t", "a", 60 * PA_USEC_PER_SEC, &b2);

	merged = pa_rollup_new(0, -1, keep, &w1);
	CHECK("merge accepts first", pa_rollup_add_record(merged, j2, err, sizeof err) == 0);
	CHECK("merge accepts second", pa_rollup_add_record(merged, j1, err, sizeof err) == 0);
	pa_rollup_finish(merged);
	CHECK("merge one bucket", w1.n == 1);
	CHECK("merge one bucket", w1.requests[0] == 2);
	CHECK("merge sum exact", w1.micro[0] == 300000);

	json_object_set_new(j1, "requests", json_integer(5));
	merged = pa_rollup_new(0, -1, keep, &w2);
	CHECK("merge rejects sketch mismatch", pa_rollup_add_record(merged, j1, err, sizeof err) == -1);
	json_object_set_new(j1, "requests", json_integer(1));
	json_object_set_new(j1, "step_s", json_integer(120));
	pa_rollup_add_record(merged, j2, err, sizeof err);
	CHECK("merge rejects other step", pa_rollup_add_record(merged, j1, err, sizeof err) == -1);
	pa_rollup_finish(merged);

	json_decref(j1);
	json_decref(j2);
	pa_sketch_free(&b1.sketch);
	pa_sketch_free(&b2.sketch);
}

static void
test_rollup_lateness(void)
{
	struct written w = { 0 };
	struct pa_rollup *r = pa_rollup_new(60 * PA_USEC_PER_SEC, 30 * PA_USEC_PER_SEC, keep, &w);
	struct pa_rollup_request req = { .tenant_service_name = "t/a", .complexity = 1 };

	add(r, "t/a", 10, 1);
	add(r, "t/a", 200, 1);		/* watermark 170 closes buckets 0 and 60 */
	CHECK("lateness writes closed buckets", w.n == 2);
	req.ts = 100 * PA_USEC_PER_SEC;
	CHECK("lateness rejects closed bucket", pa_rollup_add(r, &req) == -1);
	req.ts = 190 * PA_USEC_PER_SEC;
	CHECK("lateness accepts open bucket", pa_rollup_add(r, &req) == 0);
	pa_rollup_finish(r);
	CHECK("lateness final bucket", w.n == 4);
	CHECK("lateness final bucket", w.requests[3] == 2);
}

/* The text formatter writes exactly what jansson writes for the same bucket. */
static void
test_bucket_text_matches_json(void)
{
	static const double values[] = {
		1.0, 0.5, 1e-7, 123456.789012, 3.14159265358979, 0.07667, 2.5e-5, 1e12, 7.0 / 3
	};
	unsigned long long seed = 42;
	int same = 1, formatted = 0;

	for (int i = 0; i < 500; i++) {
		struct pa_bucket b = { 0 };
		char buf[4096], *json;
		size_t n;
		json_t *rec;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		b.start = (pa_usec_t)(seed >> 40) * PA_USEC_PER_SEC;
		b.requests = i % 7;
		b.errors = i % 3;
		b.bytes_in = seed >> 20;
		b.bytes_in_known = i % 5;
		b.bytes_out = seed >> 30;
		b.bytes_out_known = i % 4;
		for (uint64_t r = 0; r < b.requests; r++) {
			double c = values[(i + r) % (sizeof values / sizeof values[0])];

			b.complexity_micro += llround(c * 1e6);
			pa_sketch_add(&b.sketch, (double)llround(c * 1e6) / 1e6, 1);
		}
		rec = pa_bucket_to_json("t/a b", "t", "a b", (pa_usec_t)(i % 4 + 1) * 90 * PA_USEC_PER_SEC / 4, &b);
		json = json_dumps(rec, PA_JSON_FLAGS);
		n = pa_bucket_format(buf, sizeof buf, "t/a b", "t", "a b",
				     (pa_usec_t)(i % 4 + 1) * 90 * PA_USEC_PER_SEC / 4, &b);
		if (n > 0) {
			formatted++;
			if (n != strlen(json) + 1 || memcmp(buf, json, n - 1) != 0 || buf[n - 1] != '\n') {
				if (same)
					printf("# text: %.*s# json: %s\n", (int)n, buf, json);
				same = 0;
			}
		}
		free(json);
		json_decref(rec);
		pa_sketch_free(&b.sketch);
	}
	CHECK("bucket text formatted", formatted == 500);
	CHECK("bucket text equals jansson", same);
	CHECK("bucket text escapes fall back",
	      pa_bucket_format((char[4096]){ 0 }, 4096, "t/\"x", "t", "\"x", 60, &(struct pa_bucket){ 0 }) == 0);
}

int
main(void)
{
	test_sketch();
	test_sketch_json();
	test_rollup_order_and_gaps();
	test_rollup_merge_exact();
	test_rollup_lateness();
	test_bucket_text_matches_json();
	return unit_status();
}
