#include "rollup.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "ndjson.h"
#include "opts.h"

/* Sketch */

static double
sketch_log_gamma(void)
{
	return log((1 + PA_SKETCH_ALPHA) / (1 - PA_SKETCH_ALPHA));
}

/* The index of the first bin whose key is >= key. */
static size_t
sketch_find(const struct pa_sketch *s, int32_t key)
{
	size_t lo = 0, hi = s->nbins;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
pa_sketch_add_bin(struct pa_sketch *s, int32_t key, uint64_t n)
{
	size_t i = sketch_find(s, key);

	if (i < s->nbins && s->keys[i] == key) {
		s->counts[i] += n;
		return;
	}
	if (s->nbins == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->keys = pa_xrealloc(s->keys, s->cap * sizeof *s->keys);
		s->counts = pa_xrealloc(s->counts, s->cap * sizeof *s->counts);
	}
	memmove(s->keys + i + 1, s->keys + i, (s->nbins - i) * sizeof *s->keys);
	memmove(s->counts + i + 1, s->counts + i, (s->nbins - i) * sizeof *s->counts);
	s->keys[i] = key;
	s->counts[i] = n;
	s->nbins++;
}

void
pa_sketch_add(struct pa_sketch *s, double x, uint64_t n)
{
	if (!(x > PA_SKETCH_MIN)) {
		s->zeros += n;
		return;
	}
	pa_sketch_add_bin(s, (int32_t)floor(log(x) / sketch_log_gamma() + 0.5), n);
}

void
pa_sketch_merge(struct pa_sketch *into, const struct pa_sketch *from)
{
	into->zeros += from->zeros;
	for (size_t i = 0; i < from->nbins; i++)
		pa_sketch_add_bin(into, from->keys[i], from->counts[i]);
}

uint64_t
pa_sketch_count(const struct pa_sketch *s)
{
	uint64_t n = s->zeros;

	for (size_t i = 0; i < s->nbins; i++)
		n += s->counts[i];
	return n;
}

double
pa_sketch_quantile(const struct pa_sketch *s, double q)
{
	uint64_t total = pa_sketch_count(s), rank, seen;
	double lg = sketch_log_gamma();

	if (total == 0)
		return 0;

	/* Nearest rank: the ceil(q * n)-th smallest value, counting from 1. */
	rank = (uint64_t)ceil(q * (double)total);
	rank = rank > 0 ? rank - 1 : 0;
	if (rank < s->zeros)
		return 0;
	seen = s->zeros;
	for (size_t i = 0; i < s->nbins; i++) {
		seen += s->counts[i];
		if (seen > rank)
			return exp(lg * s->keys[i]);
	}
	return exp(lg * s->keys[s->nbins - 1]);
}

void
pa_sketch_free(struct pa_sketch *s)
{
	free(s->keys);
	free(s->counts);
	memset(s, 0, sizeof *s);
}

json_t *
pa_sketch_to_json(const struct pa_sketch *s)
{
	json_t *obj = json_object(), *keys = json_array(), *counts = json_array();

	for (size_t i = 0; i < s->nbins; i++) {
		json_array_append_new(keys, json_integer(s->keys[i]));
		json_array_append_new(counts, json_integer((json_int_t)s->counts[i]));
	}
	json_object_set_new(obj, "alpha", json_real(PA_SKETCH_ALPHA));
	json_object_set_new(obj, "zeros", json_integer((json_int_t)s->zeros));
	json_object_set_new(obj, "keys", keys);
	json_object_set_new(obj, "counts", counts);
	return obj;
}

static int
json_count(const json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int
pa_sketch_add_json(struct pa_sketch *s, const json_t *obj, char *err, size_t errsize)
{
	const json_t *alpha = json_object_get(obj, "alpha");
	const json_t *keys = json_object_get(obj, "keys");
	const json_t *counts = json_object_get(obj, "counts");
	uint64_t zeros;

	if (obj == NULL) {
		snprintf(err, errsize, "field \"complexity_sketch\" is missing");
		return -1;
	}
	if (!json_is_object(obj)) {
		snprintf(err, errsize, "field \"complexity_sketch\" is not an object: %s",
			 pa_quote_json(obj));
		return -1;
	}
	if (!json_is_number(alpha) || !json_is_array(keys) || !json_is_array(counts) ||
	    json_count(json_object_get(obj, "zeros"), &zeros) != 0 ||
	    json_array_size(keys) != json_array_size(counts)) {
		snprintf(err, errsize, "field \"complexity_sketch\" is malformed: it needs a "
			 "number \"alpha\", a count \"zeros\", and arrays \"keys\" and \"counts\" "
			 "of equal length");
		return -1;
	}
	if (fabs(json_number_value(alpha) - PA_SKETCH_ALPHA) > 1e-12) {
		snprintf(err, errsize, "field \"complexity_sketch\" has alpha %g, expected %g",
			 json_number_value(alpha), PA_SKETCH_ALPHA);
		return -1;
	}
	for (size_t i = 0; i < json_array_size(keys); i++) {
		const json_t *k = json_array_get(keys, i);
		uint64_t n;

		if (!json_is_integer(k) || json_integer_value(k) < INT32_MIN ||
		    json_integer_value(k) > INT32_MAX ||
		    json_count(json_array_get(counts, i), &n) != 0) {
			snprintf(err, errsize, "field \"complexity_sketch\" has an invalid bin");
			return -1;
		}
	}

	/* Validated first so a bad record adds nothing. */
	s->zeros += zeros;
	for (size_t i = 0; i < json_array_size(keys); i++)
		pa_sketch_add_bin(s, (int32_t)json_integer_value(json_array_get(keys, i)),
				  (uint64_t)json_integer_value(json_array_get(counts, i)));
	return 0;
}

/* Bucket records */

static void
set_count(json_t *rec, const char *key, uint64_t v)
{
	json_object_set_new(rec, key, json_integer((json_int_t)v));
}

json_t *
pa_bucket_to_json(const char *tenant_service_name, const char *tenant, const char *service,
		  pa_usec_t step, const struct pa_bucket *b)
{
	json_t *rec = json_object();
	double sum = (double)b->complexity_micro / 1e6;

	json_object_set_new(rec, "kind", json_string("bucket"));
	pa_rec_set_time(rec, "ts", b->start);
	pa_rec_set_num(rec, "step_s", (double)step / PA_USEC_PER_SEC);
	json_object_set_new(rec, "tenant", json_string(tenant));
	json_object_set_new(rec, "service", json_string(service));
	json_object_set_new(rec, "tenant_service_name", json_string(tenant_service_name));
	set_count(rec, "requests", b->requests);
	set_count(rec, "errors", b->errors);
	pa_rec_set_num(rec, "complexity_sum", sum);
	pa_rec_set_num(rec, "complexity_mean", b->requests ? sum / (double)b->requests : 0);
	pa_rec_set_num(rec, "complexity_p50", pa_sketch_quantile(&b->sketch, 0.50));
	pa_rec_set_num(rec, "complexity_p95", pa_sketch_quantile(&b->sketch, 0.95));
	pa_rec_set_num(rec, "complexity_p99", pa_sketch_quantile(&b->sketch, 0.99));
	set_count(rec, "bytes_in", b->bytes_in);
	set_count(rec, "bytes_out", b->bytes_out);

	/* Mergeable partials: --merge reads only these and the counts above. */
	set_count(rec, "bytes_in_known", b->bytes_in_known);
	set_count(rec, "bytes_out_known", b->bytes_out_known);
	json_object_set_new(rec, "complexity_sum_micro", json_integer(b->complexity_micro));
	json_object_set_new(rec, "complexity_sketch", pa_sketch_to_json(&b->sketch));
	if (b->covered_from > 0)
		pa_rec_set_num(rec, "covered_from_s", (double)b->covered_from / PA_USEC_PER_SEC);
	if (b->covered > 0)
		pa_rec_set_num(rec, "covered_s", (double)b->covered / PA_USEC_PER_SEC);
	return rec;
}

void
pa_bucket_write_ndjson(const char *tenant_service_name, const char *tenant,
		       const char *service, pa_usec_t step, const struct pa_bucket *b,
		       void *ctx)
{
	json_t *rec = pa_bucket_to_json(tenant_service_name, tenant, service, step, b);

	/* Through pa_out_json, so --output-format can take the record instead. */
	(void)ctx;
	pa_out_json(rec);
	json_decref(rec);
}

/* Text formatting that matches jansson's compact output */

/* A fixed output buffer that marks itself full instead of overflowing. */
struct text {
	char *buf;
	size_t size, len;
	int full;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->full || t->len + n >= t->size) {
		t->full = 1;
		return;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
}

static void
text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* A decimal integer, written by hand because buckets carry many of them. */
static void
text_int(struct text *t, long long v)
{
	char num[24];
	size_t i = sizeof num;
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;

	do {
		num[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		num[--i] = '-';
	text_add(t, num + i, sizeof num - i);
}

/*
 * A real as jansson writes it with JSON_REAL_PRECISION(12): "%.12g", ".0"
 * added when the text has no '.' or 'e', and the exponent without '+' or
 * leading zeros.  test_rollup compares the result with the linked jansson.
 */
static void
text_real(struct text *t, double v)
{
	char num[40];
	int n = snprintf(num, sizeof num, "%.12g", v);
	char *e;

	if (n < 0 || (size_t)n >= sizeof num - 3) {
		t->full = 1;
		return;
	}
	if (strchr(num, '.') == NULL && strchr(num, 'e') == NULL) {
		num[n++] = '.';
		num[n++] = '0';
		num[n] = '\0';
	}
	e = strchr(num, 'e');
	if (e != NULL) {
		char *start = e + 1, *end = e + 2;

		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, (size_t)(num + n - end) + 1);
			n -= (int)(end - start);
		}
	}
	text_add(t, num, (size_t)n);
}

/* A number as pa_rec_set_num stores it: an integer when whole and exact. */
static void
text_num(struct text *t, double v)
{
	if (!isfinite(v))
		text_str(t, "null");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		text_int(t, (long long)v);
	else
		text_real(t, v);
}

/* A string that needs no JSON escape: printable ASCII without '"' or '\\'. */
static int
plain(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

static void
text_key(struct text *t, const char *key)
{
	text_add(t, ",\"", 2);
	text_str(t, key);
	text_add(t, "\":", 2);
}

size_t
pa_bucket_format(char *buf, size_t size, const char *tenant_service_name, const char *tenant,
		 const char *service, pa_usec_t step, const struct pa_bucket *b)
{
	struct text t = { .buf = buf, .size = size };
	char when[40];
	double sum = (double)b->complexity_micro / 1e6;

	if (!plain(tenant_service_name) || !plain(tenant) || !plain(service))
		return 0;
	text_str(&t, "{\"kind\":\"bucket\",\"ts\":\"");
	text_str(&t, pa_time_format(b->start, when, sizeof when));
	text_str(&t, "\"");
	text_key(&t, "step_s");
	text_num(&t, (double)step / PA_USEC_PER_SEC);
	text_key(&t, "tenant");
	text_add(&t, "\"", 1);
	text_str(&t, tenant);
	text_add(&t, "\"", 1);
	text_key(&t, "service");
	text_add(&t, "\"", 1);
	text_str(&t, service);
	text_add(&t, "\"", 1);
	text_key(&t, "tenant_service_name");
	text_add(&t, "\"", 1);
	text_str(&t, tenant_service_name);
	text_add(&t, "\"", 1);
	text_key(&t, "requests");
	text_int(&t, (long long)b->requests);
	text_key(&t, "errors");
	text_int(&t, (long long)b->errors);
	text_key(&t, "complexity_sum");
	text_num(&t, sum);
	text_key(&t, "complexity_mean");
	text_num(&t, b->requests ? sum / (double)b->requests : 0);
	text_key(&t, "complexity_p50");
	text_num(&t, pa_sketch_quantile(&b->sketch, 0.50));
	text_key(&t, "complexity_p95");
	text_num(&t, pa_sketch_quantile(&b->sketch, 0.95));
	text_key(&t, "complexity_p99");
	text_num(&t, pa_sketch_quantile(&b->sketch, 0.99));
	text_key(&t, "bytes_in");
	text_int(&t, (long long)b->bytes_in);
	text_key(&t, "bytes_out");
	text_int(&t, (long long)b->bytes_out);
	text_key(&t, "bytes_in_known");
	text_int(&t, (long long)b->bytes_in_known);
	text_key(&t, "bytes_out_known");
	text_int(&t, (long long)b->bytes_out_known);
	text_key(&t, "complexity_sum_micro");
	text_int(&t, b->complexity_micro);
	text_key(&t, "complexity_sketch");
	text_str(&t, "{\"alpha\":");
	text_real(&t, PA_SKETCH_ALPHA);
	text_key(&t, "zeros");
	text_int(&t, (long long)b->sketch.zeros);
	text_key(&t, "keys");
	text_add(&t, "[", 1);
	for (size_t i = 0; i < b->sketch.nbins; i++) {
		if (i > 0)
			text_add(&t, ",", 1);
		text_int(&t, b->sketch.keys[i]);
	}
	text_str(&t, "]");
	text_key(&t, "counts");
	text_add(&t, "[", 1);
	for (size_t i = 0; i < b->sketch.nbins; i++) {
		if (i > 0)
			text_add(&t, ",", 1);
		text_int(&t, (long long)b->sketch.counts[i]);
	}
	text_str(&t, "]}");
	if (b->covered_from > 0) {
		text_key(&t, "covered_from_s");
		text_num(&t, (double)b->covered_from / PA_USEC_PER_SEC);
	}
	if (b->covered > 0) {
		text_key(&t, "covered_s");
		text_num(&t, (double)b->covered / PA_USEC_PER_SEC);
	}
	text_str(&t, "}\n");
	return t.full ? 0 : t.len;
}

void
pa_bucket_write_text(const char *tenant_service_name, const char *tenant,
		     const char *service, pa_usec_t step, const struct pa_bucket *b, void *ctx)
{
	char buf[4096];
	size_t n = pa_bucket_format(buf, sizeof buf, tenant_service_name, tenant, service,
				    step, b);

	if (n == 0) {
		pa_bucket_write_ndjson(tenant_service_name, tenant, service, step, b, ctx);
		return;
	}
	pa_out_write(buf, n);
}

/* Requests */

/* A request copy: the struct first, so free() on it releases the names too. */
struct request_copy {
	struct pa_rollup_request req;
	char names[];		/* tenant_service_name, tenant, service, each NUL-ended */
};

static char *
copy_name(char **dst, const char *s)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(*dst, s, n);
	*dst += n;
	return *dst - n;
}

struct pa_rollup_request *
pa_rollup_request_copy(const struct pa_rollup_request *req)
{
	size_t n = strlen(req->tenant_service_name) + 1 +
		   (req->tenant ? strlen(req->tenant) + 1 : 0) +
		   (req->service ? strlen(req->service) + 1 : 0);
	struct request_copy *c = pa_xrealloc(NULL, sizeof *c + n);
	char *p = c->names;

	c->req = *req;
	c->req.tenant_service_name = copy_name(&p, req->tenant_service_name);
	c->req.tenant = copy_name(&p, req->tenant);
	c->req.service = copy_name(&p, req->service);
	return &c->req;
}

void
pa_rollup_request_of_record(const json_t *rec, struct pa_rollup_request *req)
{
	double v;

	memset(req, 0, sizeof *req);
	pa_rec_time(rec, "ts", &req->ts);
	req->tenant_service_name = pa_rec_str(rec, "tenant_service_name");
	req->tenant = pa_rec_str(rec, "tenant");
	req->service = pa_rec_str(rec, "service");
	if (pa_rec_num(rec, "status", &v) == 1)
		req->status = (int)v;
	if (pa_rec_num(rec, "bytes_in", &v) == 1) {
		req->has_bytes_in = 1;
		req->bytes_in = (uint64_t)llround(v);
	}
	if (pa_rec_num(rec, "bytes_out", &v) == 1) {
		req->has_bytes_out = 1;
		req->bytes_out = (uint64_t)llround(v);
	}
}

/* Series table */

/*
 * One tenant service.  buckets[head..nbuckets) are the buckets not yet
 * written, sorted by start.  Only buckets that received data are stored,
 * and the zero buckets between them are made when written.
 */
struct series {
	char *name, *tenant, *service;
	struct pa_bucket *buckets;
	size_t head, nbuckets, cap;
	pa_usec_t last;		/* start of the newest bucket with data */
	pa_usec_t next;		/* start of the next bucket to write */
};

struct pa_rollup {
	pa_usec_t step, lateness;
	int coarsen;		/* the step was given: bucket records of a step dividing it merge up */
	long max_fill;		/* longest run of zero buckets written in a gap */
	pa_usec_t retire;	/* quiet time after which a series is dropped; 0: never */
	size_t retired;		/* series dropped so */
	pa_bucket_writer writer;
	void *ctx;

	struct series **table;	/* open addressing, power-of-two size */
	size_t nseries, tablesize;

	int have_max;
	pa_usec_t max_ts;	/* newest timestamp seen, at most the clock, for --lateness */
	pa_usec_t now;		/* the clock when last read */
	int have_closed;
	pa_usec_t closed;	/* buckets starting before this are written */
	pa_usec_t reached;	/* latest instant the input is known to cover */
	pa_usec_t began;	/* earliest instant the input is known to cover */
	size_t rejected;	/* buckets marked by pa_rollup_reject_record() */
	size_t unreadable;	/* lines counted by pa_rollup_note_unreadable() */
	size_t unknown_gaps;	/* buckets written unknown because of them */

	/*
	 * The spans that merged records cover of each bucket start, over all
	 * series, ordered by start.  Coverage belongs to the inputs, as their
	 * reach does, not to one series: a shard covers only part of it.
	 */
	struct cover_at {
		pa_usec_t start;
		struct pa_cover cover;
		double requests;	/* in all the records for this start */
	} *covers;
	size_t ncovers, covers_size;

	/*
	 * Instants where an input ended or began inside a bucket, sorted, and
	 * the stretches next to them that no record covers and that are too
	 * long to be quiet (find_missing()), found again after new records.
	 */
	pa_usec_t *ends, *begins;
	size_t nends, ends_size, nbegins, begins_size;
	struct stretch {
		pa_usec_t from, to;
	} *missing;
	size_t nmissing, missing_size;
	int missing_stale;
	pa_usec_t warned_to;	/* end of the last stretch reported */
};

struct pa_rollup *
pa_rollup_new(pa_usec_t step, pa_usec_t lateness, pa_bucket_writer writer, void *ctx)
{
	struct pa_rollup *r = pa_xrealloc(NULL, sizeof *r);

	memset(r, 0, sizeof *r);
	r->step = step;
	r->coarsen = step != 0;
	r->lateness = lateness;
	r->writer = writer;
	r->ctx = ctx;
	r->max_fill = PA_ROLLUP_MAX_FILL;
	r->now = PA_USEC_MIN;
	r->reached = PA_USEC_MIN;
	r->began = INT64_MAX;
	r->tablesize = 64;
	r->table = pa_xrealloc(NULL, r->tablesize * sizeof *r->table);
	memset(r->table, 0, r->tablesize * sizeof *r->table);
	return r;
}

static void
table_grow(struct pa_rollup *r)
{
	size_t oldsize = r->tablesize;
	struct series **old = r->table;

	r->tablesize *= 2;
	r->table = pa_xrealloc(NULL, r->tablesize * sizeof *r->table);
	memset(r->table, 0, r->tablesize * sizeof *r->table);
	for (size_t i = 0; i < oldsize; i++) {
		if (old[i] == NULL)
			continue;
		size_t j = pa_hash64(old[i]->name, strlen(old[i]->name)) & (r->tablesize - 1);

		while (r->table[j] != NULL)
			j = (j + 1) & (r->tablesize - 1);
		r->table[j] = old[i];
	}
	free(old);
}

/*
 * Find or create the series.  tenant and service may be NULL, and are then
 * split from the name at its first '/'.
 */
/* The series named name, or NULL. */
static struct series *
series_find(const struct pa_rollup *r, const char *name)
{
	size_t j = pa_hash64(name, strlen(name)) & (r->tablesize - 1);

	while (r->table[j] != NULL) {
		if (strcmp(r->table[j]->name, name) == 0)
			return r->table[j];
		j = (j + 1) & (r->tablesize - 1);
	}
	return NULL;
}

static struct series *
series_get(struct pa_rollup *r, const char *name, const char *tenant, const char *service)
{
	size_t j = pa_hash64(name, strlen(name)) & (r->tablesize - 1);
	struct series *s;

	while (r->table[j] != NULL) {
		if (strcmp(r->table[j]->name, name) == 0)
			return r->table[j];
		j = (j + 1) & (r->tablesize - 1);
	}

	s = pa_xrealloc(NULL, sizeof *s);
	memset(s, 0, sizeof *s);
	s->name = pa_xstrdup(name);
	if (tenant != NULL && service != NULL) {
		s->tenant = pa_xstrdup(tenant);
		s->service = pa_xstrdup(service);
	} else {
		const char *slash = strchr(name, '/');
		size_t n = slash ? (size_t)(slash - name) : strlen(name);

		s->tenant = pa_xrealloc(NULL, n + 1);
		memcpy(s->tenant, name, n);
		s->tenant[n] = '\0';
		s->service = pa_xstrdup(slash ? slash + 1 : "");
	}
	s->next = INT64_MIN;
	r->table[j] = s;
	r->nseries++;
	if (2 * r->nseries > r->tablesize)
		table_grow(r);
	return s;
}

/* The bucket starting at start, created empty when missing. */
static struct pa_bucket *
series_bucket(struct series *s, pa_usec_t start)
{
	size_t lo = s->head, hi = s->nbuckets;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->buckets[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nbuckets && s->buckets[lo].start == start)
		return &s->buckets[lo];

	if (s->nbuckets == s->cap) {
		/* Reclaim the written prefix before growing. */
		if (s->head > 0) {
			memmove(s->buckets, s->buckets + s->head,
				(s->nbuckets - s->head) * sizeof *s->buckets);
			s->nbuckets -= s->head;
			lo -= s->head;
			s->head = 0;
		}
		if (s->nbuckets == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 4;
			s->buckets = pa_xrealloc(s->buckets, s->cap * sizeof *s->buckets);
		}
	}
	memmove(s->buckets + lo + 1, s->buckets + lo, (s->nbuckets - lo) * sizeof *s->buckets);
	memset(&s->buckets[lo], 0, sizeof s->buckets[lo]);
	s->buckets[lo].start = start;
	s->nbuckets++;

	if (s->next == INT64_MIN || start < s->next)
		s->next = start;
	if (s->nbuckets - s->head == 1 || start > s->last)
		s->last = start;
	return &s->buckets[lo];
}

/* Heap of series ordered by (next bucket start, name): the output order. */
static int
series_before(const struct series *a, const struct series *b)
{
	if (a->next != b->next)
		return a->next < b->next;
	return strcmp(a->name, b->name) < 0;
}

static void
heap_push(struct series **heap, size_t *n, struct series *s)
{
	size_t i = (*n)++;

	heap[i] = s;
	while (i > 0 && series_before(heap[i], heap[(i - 1) / 2])) {
		struct series *t = heap[i];

		heap[i] = heap[(i - 1) / 2];
		heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static struct series *
heap_pop(struct series **heap, size_t *n)
{
	struct series *top = heap[0];
	size_t i = 0;

	heap[0] = heap[--*n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < *n && series_before(heap[l], heap[m]))
			m = l;
		if (r < *n && series_before(heap[r], heap[m]))
			m = r;
		if (m == i)
			break;
		struct series *t = heap[i];

		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
	return top;
}

/*
 * The last bucket start a series may write now.  Before the end of input
 * a series is padded with zero buckets up to the closed limit, so a quiet
 * service reports zeros as time passes.  At the end of input (final) it
 * stops at its last bucket with data.
 */
static pa_usec_t
series_end(const struct pa_rollup *r, const struct series *s, int final, pa_usec_t limit)
{
	pa_usec_t end;

	if (final)
		return s->last;
	end = limit - r->step > s->last ? limit - r->step : s->last;
	if (r->retire > 0 && end > s->last + r->retire)
		end = s->last + r->retire;
	return end;
}

static void
series_free(struct series *s)
{
	for (size_t j = s->head; j < s->nbuckets; j++)
		pa_sketch_free(&s->buckets[j].sketch);
	free(s->buckets);
	free(s->name);
	free(s->tenant);
	free(s->service);
	free(s);
}

/*
 * Drop every series that has been quiet for the retire time before limit
 * and has written its zero buckets for it.  A stream that meets new
 * services all the time (a scanner's paths, short-lived tenants) then
 * keeps in memory only those with recent requests.  A dropped series that
 * comes back starts again at its next request.  The quiet stretch between
 * is not written, and pa-forecast reads it as zeros by default.
 */
static void
series_retire(struct pa_rollup *r, pa_usec_t limit)
{
	struct series **old = r->table;
	size_t dropped = 0;

	if (r->retire <= 0)
		return;
	for (size_t i = 0; i < r->tablesize; i++) {
		struct series *s = old[i];

		if (s != NULL && s->head == s->nbuckets && s->next != INT64_MIN &&
		    s->next > s->last + r->retire && limit - r->step > s->last + r->retire)
			dropped++;
	}
	if (dropped == 0)
		return;

	/* Open addressing cannot simply clear a slot, so the table is built again. */
	r->table = pa_xrealloc(NULL, r->tablesize * sizeof *r->table);
	memset(r->table, 0, r->tablesize * sizeof *r->table);
	for (size_t i = 0; i < r->tablesize; i++) {
		struct series *s = old[i];
		size_t j;

		if (s == NULL)
			continue;
		if (s->head == s->nbuckets && s->next != INT64_MIN &&
		    s->next > s->last + r->retire && limit - r->step > s->last + r->retire) {
			series_free(s);
			continue;
		}
		j = pa_hash64(s->name, strlen(s->name)) & (r->tablesize - 1);
		while (r->table[j] != NULL)
			j = (j + 1) & (r->tablesize - 1);
		r->table[j] = s;
	}
	free(old);
	r->nseries -= dropped;
	r->retired += dropped;
}

void
pa_rollup_set_retire(struct pa_rollup *r, pa_usec_t retire)
{
	r->retire = retire;
}

size_t
pa_rollup_retired(const struct pa_rollup *r)
{
	return r->retired;
}

void
pa_rollup_set_max_fill(struct pa_rollup *r, long max_fill)
{
	r->max_fill = max_fill;
}

/*
 * Set how much of bucket b the input covered and where that began, both 0
 * when it covered all of it.  The span starts at the earlier of the merged
 * bucket records' start and the input's first instant, and ends at the
 * later of their end and the input's reach.  A log that starts or is read
 * to its end mid-bucket leaves that bucket partial, and its count would
 * read as a drop in traffic.  Within pa_bucket_slack() at either end a
 * bucket counts as whole.  A quiet input can still mark its first or last
 * bucket partial for want of a request near the boundary.
 */
static void
bucket_coverage(const struct pa_rollup *r, struct pa_bucket *b)
{
	pa_usec_t from = b->covered > 0 ? b->covered_from : r->step;
	pa_usec_t to = b->covered, slack = pa_bucket_slack(r->step);

	if (r->reached != PA_USEC_MIN && r->reached - b->start > to)
		to = r->reached - b->start;
	if (r->began != INT64_MAX && r->began - b->start < from)
		from = r->began - b->start;
	if (from <= slack)
		from = 0;
	if (to >= r->step - slack)
		to = r->step;
	if (to < from)
		to = from;	/* no instant known: the bucket is empty of input */

	if (from == 0 && to == r->step) {
		b->covered = b->covered_from = 0;
		return;
	}
	b->covered = to > from ? to - from : 1;	/* a request covers its instant */
	b->covered_from = from;
}

/* Return the coverage of bucket start, added when add is set, or NULL. */
static struct cover_at *
cover_at(struct pa_rollup *r, pa_usec_t start, int add)
{
	size_t lo = 0, hi = r->ncovers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->covers[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < r->ncovers && r->covers[lo].start == start)
		return &r->covers[lo];
	if (!add)
		return NULL;
	if (r->ncovers == r->covers_size) {
		r->covers_size = r->covers_size ? 2 * r->covers_size : 64;
		r->covers = pa_xrealloc(r->covers, r->covers_size * sizeof *r->covers);
	}
	memmove(&r->covers[lo + 1], &r->covers[lo], (r->ncovers - lo) * sizeof *r->covers);
	r->ncovers++;
	memset(&r->covers[lo], 0, sizeof r->covers[lo]);
	r->covers[lo].start = start;
	return &r->covers[lo];
}

/* Add instant at to a sorted set of instants, once. */
static void
instant_add(pa_usec_t **set, size_t *n, size_t *size, pa_usec_t at)
{
	size_t k = *n;

	while (k > 0 && (*set)[k - 1] > at)
		k--;
	if (k > 0 && (*set)[k - 1] == at)
		return;
	if (*n == *size) {
		*size = *size ? 2 * *size : 16;
		*set = pa_xrealloc(*set, *size * sizeof **set);
	}
	memmove(&(*set)[k + 1], &(*set)[k], (*n - k) * sizeof **set);
	(*set)[k] = at;
	(*n)++;
}

static int
instant_in(const pa_usec_t *set, size_t n, pa_usec_t at)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set[mid] < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && set[lo] == at;
}

/* The rate of requests, per microsecond covered, in the records of bucket starts a and b. */
static double
rate_at(const struct pa_rollup *r, pa_usec_t a, pa_usec_t b)
{
	pa_usec_t covered = 0;
	double requests = 0;

	for (size_t k = 0; k < r->ncovers; k++) {
		const struct cover_at *c = &r->covers[k];

		if (c->start != a && c->start != b)
			continue;
		requests += c->requests;
		for (int i = 0; i < c->cover.n; i++)
			covered += c->cover.to[i] - c->cover.from[i];
	}
	return covered > 0 ? requests / (double)covered : 0;
}

/*
 * Find the stretches that no merged record covers, next to an instant
 * where an input ended or began, and keep those too long to be quiet time
 * at the rate of requests in the buckets around them
 * (pa_stretch_missing()).  The spans of one bucket start lie inside its
 * bucket, so walking the starts in order walks the spans in time order.
 * A stretch with no input end or beginning next to it is left alone:
 * finer whole records merged up may skip a quiet finer bucket, as a sparse
 * per-minute series does.
 */
static void
find_missing(struct pa_rollup *r)
{
	pa_usec_t reach = PA_USEC_MIN;

	r->nmissing = 0;
	r->missing_stale = 0;
	for (size_t k = 0; k < r->ncovers; k++) {
		const struct cover_at *c = &r->covers[k];

		for (int i = 0; i < c->cover.n; i++) {
			pa_usec_t from = c->start + c->cover.from[i], to = c->start + c->cover.to[i];

			if (reach != PA_USEC_MIN && from > reach &&
			    (instant_in(r->ends, r->nends, reach) ||
			     instant_in(r->begins, r->nbegins, from)) &&
			    pa_stretch_missing(from - reach,
					       rate_at(r, pa_bucket_start(reach, r->step), c->start),
					       r->step)) {
				if (r->nmissing == r->missing_size) {
					r->missing_size = r->missing_size ? 2 * r->missing_size : 8;
					r->missing = pa_xrealloc(r->missing,
								 r->missing_size * sizeof *r->missing);
				}
				r->missing[r->nmissing].from = reach;
				r->missing[r->nmissing++].to = from;
			}
			if (to > reach)
				reach = to;
		}
	}
}

/*
 * Return 1 when bucket start touches a stretch that no merged record
 * covers and that is too long to be quiet time, such as a piece of a log
 * that was never merged, and report each such stretch once.
 */
static int
bucket_holed(struct pa_rollup *r, pa_usec_t start)
{
	if (r->missing_stale)
		find_missing(r);
	for (size_t k = 0; k < r->nmissing; k++) {
		const struct stretch *m = &r->missing[k];
		char a[40], b[40];

		if (m->from >= start + r->step || m->to <= start)
			continue;
		if (m->to > r->warned_to) {
			r->warned_to = m->to;
			pa_warn("no merged record covers %s to %s, too long a stretch to be quiet "
				"at the rate of requests around it (a missing piece of input?); the "
				"buckets it touches are written as unknown (covered_s 0.000001)",
				pa_time_format(m->from, a, sizeof a), pa_time_format(m->to, b, sizeof b));
		}
		return 1;
	}
	return 0;
}

/*
 * Forget the coverage of bucket starts before limit, all of them written,
 * and the input ends and beginnings before it: a stretch that a later
 * input shows missing there comes too late for the buckets it touches.
 */
static void
covers_prune(struct pa_rollup *r, pa_usec_t limit)
{
	size_t k;

	for (k = 0; k < r->ncovers && r->covers[k].start < limit; k++)
		;
	if (k > 0) {
		memmove(r->covers, &r->covers[k], (r->ncovers - k) * sizeof *r->covers);
		r->ncovers -= k;
	}
	for (k = 0; k < r->nends && r->ends[k] < limit; k++)
		;
	if (k > 0) {
		memmove(r->ends, &r->ends[k], (r->nends - k) * sizeof *r->ends);
		r->nends -= k;
	}
	for (k = 0; k < r->nbegins && r->begins[k] < limit; k++)
		;
	if (k > 0) {
		memmove(r->begins, &r->begins[k], (r->nbegins - k) * sizeof *r->begins);
		r->nbegins -= k;
	}
	if (r->ncovers == 0)
		r->nmissing = 0;
	r->missing_stale = r->ncovers > 0;
}

/* Write one bucket of s (data or zero) at s->next and advance. */
static void
series_write_next(struct pa_rollup *r, struct series *s)
{
	struct pa_bucket zero;
	const struct pa_bucket *b;

	/* Skip a gap too long to fill, and report where it was. */
	if (s->head < s->nbuckets && s->buckets[s->head].start > s->next &&
	    (s->buckets[s->head].start - s->next) / r->step > r->max_fill) {
		char from[40], to[40];

		pa_warn("%s: %lld empty buckets between %s and %s not written as zeros "
			"(more than --max-fill %ld); is a timestamp wrong?", s->name,
			(long long)((s->buckets[s->head].start - s->next) / r->step),
			pa_time_format(s->next, from, sizeof from),
			pa_time_format(s->buckets[s->head].start, to, sizeof to), r->max_fill);
		s->next = s->buckets[s->head].start;
	}

	if (s->head < s->nbuckets && s->buckets[s->head].start == s->next) {
		struct pa_bucket out = s->buckets[s->head];

		bucket_coverage(r, &out);
		if (out.rejected || bucket_holed(r, out.start)) {
			out.covered_from = 0;
			out.covered = 1;
		}
		b = &out;
		r->writer(s->name, s->tenant, s->service, r->step, b, r->ctx);
		pa_sketch_free(&s->buckets[s->head].sketch);
		s->head++;
	} else {
		assert(s->head == s->nbuckets || s->buckets[s->head].start > s->next);
		memset(&zero, 0, sizeof zero);
		zero.start = s->next;
		if (bucket_holed(r, zero.start))
			zero.covered = 1;	/* quiet where the parts reach, but not known between */
		else if (r->unreadable > 0) {
			/* The line that could not be read may have been this bucket. */
			zero.covered = 1;
			r->unknown_gaps++;
		}
		r->writer(s->name, s->tenant, s->service, r->step, &zero, r->ctx);
	}
	s->next += r->step;
}

/*
 * Write every bucket starting before limit (or, when final, every bucket
 * left), ordered by start and then tenant_service_name.
 */
static void
rollup_flush(struct pa_rollup *r, int final, pa_usec_t limit)
{
	struct series **heap;
	size_t n = 0;

	if (r->nseries == 0)
		return;
	heap = pa_xrealloc(NULL, r->nseries * sizeof *heap);
	for (size_t i = 0; i < r->tablesize; i++) {
		struct series *s = r->table[i];

		if (s == NULL || s->next == INT64_MIN || s->next > series_end(r, s, final, limit))
			continue;
		if (!final && s->next >= limit)
			continue;
		heap_push(heap, &n, s);
	}
	while (n > 0) {
		struct series *s = heap_pop(heap, &n);

		series_write_next(r, s);
		if (s->next <= series_end(r, s, final, limit) && (final || s->next < limit))
			heap_push(heap, &n, s);
	}
	free(heap);
}

/* Advance the watermark to ts and write the buckets it closes. */
static void
rollup_advance(struct pa_rollup *r, pa_usec_t ts)
{
	pa_usec_t limit;

	if (r->lateness < 0)
		return;
	ts = pa_time_cap_at_clock(ts, &r->now);
	if (r->have_max && ts <= r->max_ts)
		return;
	r->have_max = 1;
	r->max_ts = ts;
	limit = pa_bucket_start(ts - r->lateness, r->step);
	if (r->have_closed && limit <= r->closed)
		return;
	rollup_flush(r, 0, limit);
	series_retire(r, limit);
	covers_prune(r, limit);
	r->have_closed = 1;
	r->closed = limit;
}

static int
rollup_is_late(const struct pa_rollup *r, pa_usec_t start)
{
	return r->have_closed && start < r->closed;
}

int
pa_rollup_add(struct pa_rollup *r, const struct pa_rollup_request *req)
{
	pa_usec_t start = pa_bucket_start(req->ts, r->step);
	struct series *s;
	struct pa_bucket *b;
	int64_t micro;

	if (rollup_is_late(r, start))
		return -1;
	s = series_get(r, req->tenant_service_name, req->tenant, req->service);
	b = series_bucket(s, start);
	if (req->ts > r->reached)
		r->reached = req->ts;
	if (req->ts < r->began)
		r->began = req->ts;

	/* Quantised once, so the sum and the sketch see the same value. */
	micro = llround(req->complexity * 1e6);
	b->requests++;
	if (req->status >= 500 && req->status <= 599)
		b->errors++;
	b->complexity_micro += micro;
	pa_sketch_add(&b->sketch, (double)micro / 1e6, 1);
	if (req->has_bytes_in) {
		b->bytes_in += req->bytes_in;
		b->bytes_in_known++;
	}
	if (req->has_bytes_out) {
		b->bytes_out += req->bytes_out;
		b->bytes_out_known++;
	}
	rollup_advance(r, req->ts);
	return 0;
}

static int
record_count(const json_t *rec, const char *key, uint64_t *out, char *err, size_t errsize)
{
	const json_t *v = json_object_get(rec, key);

	if (v == NULL) {
		snprintf(err, errsize, "field \"%s\" is missing", key);
		return -1;
	}
	/* The request counts have the bounds every tool reads them with (ndjson.h). */
	if (strcmp(key, "requests") == 0 || strcmp(key, "errors") == 0) {
		if (json_count(v, out) != 0 || (double)*out > PA_REQUESTS_MAX) {
			snprintf(err, errsize, "field \"%s\" is not a whole count from 0 to 1e15: %s",
				 key, pa_quote_json(v));
			return -1;
		}
		return 0;
	}
	if (json_count(v, out) != 0) {
		snprintf(err, errsize, "field \"%s\" is not a whole number >= 0: %s", key,
			 pa_quote_json(v));
		return -1;
	}
	return 0;
}

int
pa_rollup_add_record(struct pa_rollup *r, const json_t *rec, char *err, size_t errsize)
{
	static const char *const counts[] = {
		"requests", "errors", "bytes_in", "bytes_in_known", "bytes_out", "bytes_out_known"
	};
	uint64_t v[6];
	const char *name = pa_rec_str(rec, "tenant_service_name");
	const json_t *micro = json_object_get(rec, "complexity_sum_micro");
	struct pa_sketch sk = { 0 };
	pa_usec_t ts, step, start, from, to;
	double step_s, from_s, covered_s;
	const char *field, *expected;
	struct series *s;
	struct pa_bucket *b;
	struct cover_at *c;
	int partial;

	/* Validate the whole record before touching the table. */
	if (name == NULL) {
		snprintf(err, errsize, "field \"tenant_service_name\" is not a string: %s",
			 pa_quote_json(json_object_get(rec, "tenant_service_name")));
		return -1;
	}
	if (pa_rec_time(rec, "ts", &ts) != 1) {
		snprintf(err, errsize, "field \"ts\" is not a timestamp: %s",
			 pa_quote_json(json_object_get(rec, "ts")));
		return -1;
	}
	if (pa_rec_num(rec, "step_s", &step_s) != 1 || step_s < 1 || step_s > 86400 * 366.0) {
		snprintf(err, errsize, "field \"step_s\" is not a bucket width from 1 to 31622400 "
			 "seconds: %s", pa_quote_json(json_object_get(rec, "step_s")));
		return -1;
	}
	step = llround(step_s * PA_USEC_PER_SEC);
	if (r->step == 0)
		r->step = step;
	if (r->coarsen && (step > r->step || r->step % step != 0)) {
		snprintf(err, errsize, "step_s %g does not divide the rollup step of %g s",
			 step_s, (double)r->step / PA_USEC_PER_SEC);
		return -1;
	}
	if (!r->coarsen && step != r->step) {
		snprintf(err, errsize, "step_s %g differs from the first bucket's %g",
			 step_s, (double)r->step / PA_USEC_PER_SEC);
		return -1;
	}
	start = pa_bucket_start(ts, step);
	if (start != ts) {
		snprintf(err, errsize, "field \"ts\" is not the start of a %g s bucket", step_s);
		return -1;
	}
	/* Finer buckets add into the coarser one that contains them, exactly. */
	start = pa_bucket_start(ts, r->step);
	for (size_t i = 0; i < 6; i++)
		if (record_count(rec, counts[i], &v[i], err, errsize) != 0)
			return -1;
	if (!json_is_integer(micro) || json_integer_value(micro) < 0) {
		snprintf(err, errsize, "field \"complexity_sum_micro\" is missing or not an integer "
			 ">= 0: %s", pa_quote_json(micro));
		return -1;
	}
	/* Errors and sized requests are among the requests. */
	for (size_t i = 1; i < 6; i += 2) {
		if (v[i] > v[0]) {
			snprintf(err, errsize, "field \"%s\" is %" PRIu64 ", more than the %" PRIu64
				 " requests", counts[i], v[i], v[0]);
			return -1;
		}
	}
	if (pa_sketch_add_json(&sk, json_object_get(rec, "complexity_sketch"), err, errsize) != 0) {
		pa_sketch_free(&sk);
		return -1;
	}
	if (pa_sketch_count(&sk) != v[0]) {
		snprintf(err, errsize, "field \"complexity_sketch\" counts %" PRIu64
			 " requests, field \"requests\" says %" PRIu64, pa_sketch_count(&sk), v[0]);
		pa_sketch_free(&sk);
		return -1;
	}
	partial = pa_rec_coverage(rec, step_s, &from_s, &covered_s, &field, &expected);
	if (partial < 0) {
		snprintf(err, errsize, "field \"%s\" is not %s (%g s): %s", field, expected, step_s,
			 pa_quote_json(json_object_get(rec, field)));
		pa_sketch_free(&sk);
		return -1;
	}
	from = ts + llround(from_s * PA_USEC_PER_SEC);
	to = from + llround(covered_s * PA_USEC_PER_SEC);
	if (rollup_is_late(r, start)) {
		snprintf(err, errsize, "bucket already written (later than --lateness allows)");
		pa_sketch_free(&sk);
		return -1;
	}

	s = series_get(r, name, pa_rec_str(rec, "tenant"), pa_rec_str(rec, "service"));
	b = series_bucket(s, start);
	b->requests += v[0];
	b->errors += v[1];
	b->bytes_in += v[2];
	b->bytes_in_known += v[3];
	b->bytes_out += v[4];
	b->bytes_out_known += v[5];
	b->complexity_micro += json_integer_value(micro);
	pa_sketch_merge(&b->sketch, &sk);
	pa_sketch_free(&sk);
	/*
	 * A finer bucket covers the coarser one only over its own span.  The
	 * spans of parts are joined, which is exact for parts that meet, such
	 * as the rollups of a log cut in two.  A stretch that no record of any
	 * series covers can make the bucket unknown (bucket_holed()).
	 */
	c = cover_at(r, start, 1);
	pa_cover_add(&c->cover, from - start, to - start);
	c->requests += (double)v[0];
	if (partial && to < ts + step - pa_bucket_slack(step))
		instant_add(&r->ends, &r->nends, &r->ends_size, to);
	if (partial && from > ts + pa_bucket_slack(step))
		instant_add(&r->begins, &r->nbegins, &r->begins_size, from);
	r->missing_stale = 1;
	if (b->covered == 0 || from - start < b->covered_from)
		b->covered_from = from - start;
	if (to - start > b->covered)
		b->covered = to - start;
	if (to > r->reached)
		r->reached = to;
	if (from < r->began)
		r->began = from;
	rollup_advance(r, ts);
	return 0;
}

int
pa_rollup_reject_record(struct pa_rollup *r, const json_t *rec)
{
	const char *name = pa_rec_str(rec, "tenant_service_name");
	pa_usec_t ts, start;
	struct series *s;
	struct pa_bucket *b;

	/*
	 * A bad record does not start a series, because its name may be as
	 * wrong as the rest.  Its own step_s may be the bad field, so the
	 * bucket marked is the output step's bucket that contains its ts.
	 * Marking a neighbour unknown costs a bucket, and reading a lost one
	 * as quiet costs its requests.
	 */
	if (name == NULL || (s = series_find(r, name)) == NULL || pa_rec_time(rec, "ts", &ts) != 1 ||
	    r->step == 0)
		return 0;
	start = pa_bucket_start(ts, r->step);
	if (rollup_is_late(r, start))
		return 0;
	b = series_bucket(s, start);
	if (!b->rejected) {
		b->rejected = 1;
		r->rejected++;
	}
	return 1;
}

size_t
pa_rollup_rejected_buckets(const struct pa_rollup *r)
{
	return r->rejected;
}

void
pa_rollup_note_unreadable(struct pa_rollup *r)
{
	r->unreadable++;
}

size_t
pa_rollup_unknown_gaps(const struct pa_rollup *r)
{
	return r->unknown_gaps;
}

void
pa_rollup_finish_writing(struct pa_rollup *r)
{
	rollup_flush(r, 1, 0);
}

void
pa_rollup_finish(struct pa_rollup *r)
{
	rollup_flush(r, 1, 0);
	for (size_t i = 0; i < r->tablesize; i++)
		if (r->table[i] != NULL)
			series_free(r->table[i]);
	free(r->table);
	free(r->covers);
	free(r->ends);
	free(r->begins);
	free(r->missing);
	free(r);
}
