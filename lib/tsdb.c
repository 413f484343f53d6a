#include "tsdb.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "influx.h"
#include "ndjson.h"
#include "opts.h"
#include "prom.h"

static const char *const field_names[PA_TSDB_F_NFIELDS] = {
	"cpu_usage", "memory_usage", "network_io",
	"requests", "errors", "complexity_sum", "complexity_mean", "bytes_in", "bytes_out",
};

static const char *const meta_names[PA_TSDB_M_NMETA] = { "step_s", "covered_s", "covered_from_s" };

static const char *const key_names[PA_TSDB_K_NKEYS] = { "tenant", "service", "instance_id" };

/* Labels tried in order when --label does not name one. */
static const char *const default_labels[PA_TSDB_K_NKEYS][4] = {
	{ "tenant", "namespace", NULL },
	{ "service", "container", "job", NULL },
	{ "instance_id", "pod", "instance", NULL },
};

static const struct pa_tsdb_metric metric_table[] = {
	{ "container_cpu_usage_seconds_total", PA_TSDB_F_CPU_USAGE, PA_TSDB_CONV_CPU },
	{ "container_memory_working_set_bytes", PA_TSDB_F_MEMORY_USAGE, PA_TSDB_CONV_MEMORY },
	{ "container_memory_usage_bytes", PA_TSDB_F_MEMORY_USAGE, PA_TSDB_CONV_MEMORY },
	{ "container_network_receive_bytes_total", PA_TSDB_F_NETWORK_IO, PA_TSDB_CONV_RATE },
	{ "container_network_transmit_bytes_total", PA_TSDB_F_NETWORK_IO, PA_TSDB_CONV_RATE },
	{ "http_requests_total", PA_TSDB_F_REQUESTS, PA_TSDB_CONV_INCREASE },
	{ "pa_usage_cpu_ratio", PA_TSDB_F_CPU_USAGE, PA_TSDB_CONV_GAUGE },
	{ "pa_usage_memory_ratio", PA_TSDB_F_MEMORY_USAGE, PA_TSDB_CONV_GAUGE },
	{ "pa_usage_network_bytes_per_second", PA_TSDB_F_NETWORK_IO, PA_TSDB_CONV_GAUGE },
	{ "pa_bucket_requests", PA_TSDB_F_REQUESTS, PA_TSDB_CONV_GAUGE },
	{ "pa_bucket_errors", PA_TSDB_F_ERRORS, PA_TSDB_CONV_GAUGE },
	{ "pa_bucket_work", PA_TSDB_F_COMPLEXITY_SUM, PA_TSDB_CONV_GAUGE },
	{ "pa_bucket_complexity", PA_TSDB_F_COMPLEXITY_MEAN, PA_TSDB_CONV_GAUGE },
	{ "pa_bucket_request_bytes", PA_TSDB_F_BYTES_IN, PA_TSDB_CONV_GAUGE },
	{ "pa_bucket_response_bytes", PA_TSDB_F_BYTES_OUT, PA_TSDB_CONV_GAUGE },
	{ "pa_bucket_step_seconds", PA_TSDB_F_REQUESTS, PA_TSDB_CONV_STEP },
	{ "pa_bucket_covered_seconds", PA_TSDB_F_REQUESTS, PA_TSDB_CONV_COVERED },
	{ "pa_bucket_covered_from_seconds", PA_TSDB_F_REQUESTS, PA_TSDB_CONV_COVERED_FROM },
};

void
pa_tsdb_map_init(struct pa_tsdb_map *map)
{
	memset(map, 0, sizeof *map);
	map->metric = -1;
	map->cpu_limit = 1.0;
	map->input = -1;
}

int
pa_tsdb_map_label(struct pa_tsdb_map *map, const char *arg, char *err, size_t errsize)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq[1] == '\0') {
		snprintf(err, errsize, "invalid --label %s: expected FIELD=LABEL, such as tenant=namespace",
			 pa_quote(arg, strlen(arg)));
		return -1;
	}
	for (int k = 0; k < PA_TSDB_K_NKEYS; k++) {
		if (strlen(key_names[k]) == (size_t)(eq - arg) &&
		    strncmp(arg, key_names[k], (size_t)(eq - arg)) == 0) {
			map->label[k] = eq + 1;
			return 0;
		}
	}
	snprintf(err, errsize, "invalid --label %s: FIELD must be tenant, service or instance_id",
		 pa_quote(arg, strlen(arg)));
	return -1;
}

int
pa_tsdb_field_lookup(const char *name)
{
	for (int f = 0; f < PA_TSDB_F_NFIELDS; f++)
		if (strcmp(name, field_names[f]) == 0)
			return f;
	return -1;
}

int
pa_tsdb_meta_lookup(const char *name)
{
	for (int m = 0; m < PA_TSDB_M_NMETA; m++)
		if (strcmp(name, meta_names[m]) == 0)
			return m;
	return -1;
}

const char *
pa_tsdb_field_name(enum pa_tsdb_field f)
{
	assert(f < PA_TSDB_F_NFIELDS);
	return field_names[f];
}

double
pa_tsdb_metric_divisor(const struct pa_tsdb_map *map)
{
	if (map->metric == PA_TSDB_F_CPU_USAGE && map->cpu_limit_given)
		return map->cpu_limit;
	if (map->metric == PA_TSDB_F_MEMORY_USAGE && map->memory_limit > 0)
		return map->memory_limit;
	return 1;
}

const struct pa_tsdb_metric *
pa_tsdb_metric_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof metric_table / sizeof metric_table[0]; i++)
		if (strcmp(name, metric_table[i].name) == 0)
			return &metric_table[i];
	return NULL;
}

static int
is_usage_field(enum pa_tsdb_field f)
{
	return f <= PA_TSDB_F_NETWORK_IO;
}

char *
pa_tsdb_dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));

	if (s == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	return s;
}

static void
put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

char *
pa_tsdb_describe(const char *name, const json_t *labels)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	const char *key;
	const json_t *v;
	int first = 1;

	if (f == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	if (name != NULL)
		fputs(name, f);
	fputc('{', f);
	json_object_foreach((json_t *)labels, key, v) {
		if (strcmp(key, "__name__") == 0 || !json_is_string(v))
			continue;
		fprintf(f, "%s%s=\"", first ? "" : ",", key);
		put_escaped(f, json_string_value(v));
		fputc('"', f);
		first = 0;
	}
	fputc('}', f);
	if (fclose(f) != 0)
		pa_die(PA_EXIT_IO, "out of memory");
	return buf;
}

/* ---- Accumulator ---- */

struct group {
	int usage;			/* usage record, else bucket */
	char *key[PA_TSDB_K_NKEYS];
	char *tenant_service_name;	/* "TENANT/SERVICE" */
	char *desc;			/* first series seen, for messages */
	pa_usec_t spacing;		/* smallest gap noted by the reader, or 0 */
	json_t *sources;		/* the series objects read into the group, for --rejects */
};

struct entry {
	int group;
	pa_usec_t ts;
	double val[PA_TSDB_F_NFIELDS];
	unsigned have;			/* bit per field */
	double meta[PA_TSDB_M_NMETA];	/* bucket entries: step_s, covered_s, covered_from_s */
	unsigned have_meta;		/* bit per meta */
};

struct pa_tsdb_acc {
	const struct pa_tsdb_map *map;
	const char *where;
	long lineno;
	struct group *groups;
	size_t ngroups, group_cap;
	struct entry *entries;
	size_t nentries, entry_cap;
	json_t *group_index;		/* group key -> index into groups */
	size_t *slots;			/* open-addressing table: entry index + 1, 0 empty */
	size_t nslots;			/* a power of two, kept above twice nentries */
};

struct pa_tsdb_acc *
pa_tsdb_acc_new(const struct pa_tsdb_map *map, const char *where, long lineno)
{
	struct pa_tsdb_acc *acc = calloc(1, sizeof *acc);

	if (acc == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	acc->map = map;
	acc->where = where;
	acc->lineno = lineno;
	acc->group_index = json_object();
	return acc;
}

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(p, *cap * size);
	if (p == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	return p;
}

/*
 * Find the label for key k, storing its name in *used.  Returns the value,
 * or NULL when no candidate label is present.
 */
static const char *
find_label(const struct pa_tsdb_map *map, const json_t *labels, int k, const char **used)
{
	if (map->label[k] != NULL) {
		*used = map->label[k];
		return json_string_value(json_object_get(labels, map->label[k]));
	}
	for (int i = 0; default_labels[k][i] != NULL; i++) {
		const char *v = json_string_value(json_object_get(labels, default_labels[k][i]));

		if (v != NULL) {
			*used = default_labels[k][i];
			return v;
		}
	}
	*used = NULL;
	return NULL;
}

static const char *
bad_value_reason(int k, const char *v)
{
	if (*v == '\0')
		return "is empty";
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "contains a control character (such as a newline)";
	if (k == PA_TSDB_K_TENANT && strchr(v, '/') != NULL)
		return "contains '/', which separates tenant from service";
	return NULL;
}

static void
tried_list(char *buf, size_t size, int k)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; default_labels[k][i] != NULL && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", default_labels[k][i]);
}

int
pa_tsdb_acc_group(struct pa_tsdb_acc *acc, const json_t *labels, enum pa_tsdb_field field,
		  const char *desc, long lineno, const char *raw, size_t rawlen)
{
	const char *val[PA_TSDB_K_NKEYS] = { NULL, NULL, NULL };
	int usage = is_usage_field(field);
	int nkeys = usage ? PA_TSDB_K_NKEYS : PA_TSDB_K_INSTANCE_ID;
	char *gkey = NULL;
	size_t gsize = 0;
	FILE *f;
	json_t *idx;
	struct group *g;

	for (int k = 0; k < nkeys; k++) {
		const char *used, *why;

		val[k] = find_label(acc->map, labels, k, &used);
		if (val[k] == NULL) {
			char tried[80];

			tried_list(tried, sizeof tried, k);
			if (acc->map->label[k] != NULL)
				pa_reject(acc->where, lineno, raw, rawlen, "missing label",
					  "series %s has no label %s for %s", desc,
					  pa_quote(used, strlen(used)), key_names[k]);
			else
				pa_reject(acc->where, lineno, raw, rawlen, "missing label",
					  "series %s has no label for %s (looked for %s): give --label %s=LABEL",
					  desc, key_names[k], tried, key_names[k]);
			return -1;
		}
		why = bad_value_reason(k, val[k]);
		if (why != NULL) {
			pa_reject(acc->where, lineno, raw, rawlen, "invalid label value",
				  "series %s: label %s value %s %s", desc, used,
				  pa_quote(val[k], strlen(val[k])), why);
			return -1;
		}
	}

	/* The unit separator cannot occur in a value: control characters were rejected. */
	f = open_memstream(&gkey, &gsize);
	if (f == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	fprintf(f, "%c\x1f%s\x1f%s\x1f%s", usage ? 'u' : 'b', val[0], val[1], val[2] ? val[2] : "");
	if (fclose(f) != 0)
		pa_die(PA_EXIT_IO, "out of memory");

	idx = json_object_get(acc->group_index, gkey);
	if (idx != NULL) {
		free(gkey);
		return (int)json_integer_value(idx);
	}
	json_object_set_new(acc->group_index, gkey, json_integer((json_int_t)acc->ngroups));
	free(gkey);

	acc->groups = grow(acc->groups, &acc->group_cap, acc->ngroups, sizeof *acc->groups);
	g = &acc->groups[acc->ngroups];
	memset(g, 0, sizeof *g);
	g->usage = usage;
	for (int k = 0; k < nkeys; k++)
		g->key[k] = strdup(val[k]);
	g->desc = strdup(desc);
	g->tenant_service_name = malloc(strlen(val[0]) + strlen(val[1]) + 2);
	if (g->tenant_service_name == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	snprintf(g->tenant_service_name, strlen(val[0]) + strlen(val[1]) + 2, "%s/%s", val[0], val[1]);
	return (int)acc->ngroups++;
}

static size_t
slot_of(int group, pa_usec_t ts, size_t nslots)
{
	uint64_t h = (uint64_t)ts * 0x9e3779b97f4a7c15ULL ^ (uint64_t)group * 0xff51afd7ed558ccdULL;

	return (size_t)(h ^ (h >> 29)) & (nslots - 1);
}

/* Double the table and put every entry back. */
static void
grow_slots(struct pa_tsdb_acc *acc)
{
	size_t n = acc->nslots ? acc->nslots * 2 : 1024;

	free(acc->slots);
	acc->slots = calloc(n, sizeof *acc->slots);
	if (acc->slots == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	acc->nslots = n;
	for (size_t i = 0; i < acc->nentries; i++) {
		size_t j = slot_of(acc->entries[i].group, acc->entries[i].ts, n);

		while (acc->slots[j] != 0)
			j = (j + 1) & (n - 1);
		acc->slots[j] = i + 1;
	}
}

/* Return the entry of group at ts, adding an empty one when there is none. */
static struct entry *
find_entry(struct pa_tsdb_acc *acc, int group, pa_usec_t ts)
{
	struct entry *e = NULL;
	size_t j;

	if (acc->nentries * 2 >= acc->nslots)
		grow_slots(acc);
	for (j = slot_of(group, ts, acc->nslots); acc->slots[j] != 0; j = (j + 1) & (acc->nslots - 1)) {
		struct entry *x = &acc->entries[acc->slots[j] - 1];

		if (x->group == group && x->ts == ts) {
			e = x;
			break;
		}
	}
	if (e == NULL) {
		acc->entries = grow(acc->entries, &acc->entry_cap, acc->nentries, sizeof *acc->entries);
		e = &acc->entries[acc->nentries++];
		memset(e, 0, sizeof *e);
		e->group = group;
		e->ts = ts;
		acc->slots[j] = acc->nentries;
	}
	return e;
}

void
pa_tsdb_acc_add(struct pa_tsdb_acc *acc, int group, enum pa_tsdb_field field,
		pa_usec_t ts, double value)
{
	struct entry *e;

	assert(group >= 0);
	assert((size_t)group < acc->ngroups);
	assert(is_usage_field(field) == acc->groups[group].usage);

	e = find_entry(acc, group, ts);
	e->val[field] += value;
	e->have |= 1u << field;
}

void
pa_tsdb_acc_meta(struct pa_tsdb_acc *acc, int group, enum pa_tsdb_meta meta, pa_usec_t ts,
		 double value)
{
	struct entry *e;

	assert(group >= 0);
	assert((size_t)group < acc->ngroups);
	assert(!acc->groups[group].usage);

	e = find_entry(acc, group, ts);
	e->meta[meta] = value;
	e->have_meta |= 1u << meta;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return (x->ts > y->ts) - (x->ts < y->ts);
}

static void
set_ids(json_t *rec, const struct group *g)
{
	if (g->usage)
		json_object_set_new(rec, "instance_id", json_string(g->key[PA_TSDB_K_INSTANCE_ID]));
	json_object_set_new(rec, "tenant", json_string(g->key[PA_TSDB_K_TENANT]));
	json_object_set_new(rec, "service", json_string(g->key[PA_TSDB_K_SERVICE]));
	json_object_set_new(rec, "tenant_service_name", json_string(g->tenant_service_name));
}

static json_t *
usage_record(const struct group *g, const struct entry *e)
{
	json_t *rec = json_object();

	json_object_set_new(rec, "kind", json_string("usage"));
	pa_rec_set_time(rec, "ts", e->ts);
	set_ids(rec, g);
	for (int f = PA_TSDB_F_CPU_USAGE; f <= PA_TSDB_F_NETWORK_IO; f++) {
		if (e->have & (1u << f))
			pa_rec_set_num(rec, field_names[f], e->val[f]);
		else
			json_object_set_new(rec, field_names[f], json_null());
	}
	return rec;
}

/*
 * Give a bucket entry its complexity sum.  A bucket without complexity
 * series counts every request as typical (complexity 1), which is what
 * complexity 1.0 means.
 */
static void
bucket_complexity_sum(struct entry *e)
{
	unsigned sum_bit = 1u << PA_TSDB_F_COMPLEXITY_SUM;

	if (e->have & sum_bit)
		return;
	if (e->have & (1u << PA_TSDB_F_COMPLEXITY_MEAN))
		e->val[PA_TSDB_F_COMPLEXITY_SUM] = e->val[PA_TSDB_F_COMPLEXITY_MEAN] * e->val[PA_TSDB_F_REQUESTS];
	else
		e->val[PA_TSDB_F_COMPLEXITY_SUM] = e->val[PA_TSDB_F_REQUESTS];
	e->have |= sum_bit;
}

static json_t *
bucket_record(const struct group *g, const struct entry *e, pa_usec_t step)
{
	json_t *rec = json_object();
	double requests = e->val[PA_TSDB_F_REQUESTS];
	double csum = e->val[PA_TSDB_F_COMPLEXITY_SUM];

	json_object_set_new(rec, "kind", json_string("bucket"));
	pa_rec_set_time(rec, "ts", e->ts);
	pa_rec_set_num(rec, "step_s", (double)step / PA_USEC_PER_SEC);
	if (e->have_meta & (1u << PA_TSDB_M_COVERED_FROM_S))
		pa_rec_set_num(rec, "covered_from_s", e->meta[PA_TSDB_M_COVERED_FROM_S]);
	if (e->have_meta & (1u << PA_TSDB_M_COVERED_S))
		pa_rec_set_num(rec, "covered_s", e->meta[PA_TSDB_M_COVERED_S]);
	set_ids(rec, g);
	pa_rec_set_num(rec, "requests", requests);
	if (e->have & (1u << PA_TSDB_F_ERRORS))
		pa_rec_set_num(rec, "errors", e->val[PA_TSDB_F_ERRORS]);
	pa_rec_set_num(rec, "complexity_sum", csum);
	pa_rec_set_num(rec, "complexity_mean", requests > 0 ? csum / requests : 0.0);
	if (e->have & (1u << PA_TSDB_F_BYTES_IN))
		pa_rec_set_num(rec, "bytes_in", e->val[PA_TSDB_F_BYTES_IN]);
	if (e->have & (1u << PA_TSDB_F_BYTES_OUT))
		pa_rec_set_num(rec, "bytes_out", e->val[PA_TSDB_F_BYTES_OUT]);
	return rec;
}

/*
 * Reject a whole group.  --rejects gets the series object it was read
 * from, or an array of them when several series were added into it.
 */
static void __attribute__((format(printf, 5, 6)))
reject_group(const struct pa_tsdb_acc *acc, const struct group *g, size_t nentries,
	     const char *reason_class, const char *fmt, ...)
{
	size_t n = json_array_size(g->sources);
	char *text = n == 0 ? NULL : pa_tsdb_dump(n == 1 ? json_array_get(g->sources, 0) : g->sources);
	const char *line = text != NULL ? text : g->desc;
	va_list ap;

	va_start(ap, fmt);
	pa_vreject(acc->where, acc->lineno, line, strlen(line), reason_class, fmt, ap);
	va_end(ap);
	free(text);

	/* Every sample of the group was counted as read, so each counts as rejected. */
	if (nentries > 1)
		pa_reject_records((long)nentries - 1, reason_class);
}

/* Reject one bucket of a group.  --rejects gets the bucket record it would have been. */
static void __attribute__((format(printf, 6, 7)))
reject_bucket(const struct pa_tsdb_acc *acc, const struct group *g, const struct entry *e,
	      pa_usec_t step, const char *reason_class, const char *fmt, ...)
{
	json_t *rec = bucket_record(g, e, step);
	char *text;
	va_list ap;

	if (!(e->have & (1u << PA_TSDB_F_REQUESTS))) {
		json_object_del(rec, "requests");
		json_object_del(rec, "complexity_sum");
		json_object_del(rec, "complexity_mean");
	}
	text = pa_tsdb_dump(rec);

	va_start(ap, fmt);
	pa_vreject(acc->where, acc->lineno, text, strlen(text), reason_class, fmt, ap);
	va_end(ap);
	free(text);
	json_decref(rec);
}

static void
emit_record(json_t *rec, pa_tsdb_emit_fn emit, void *ctx, long *emitted)
{
	emit(rec, ctx);
	json_decref(rec);
	(*emitted)++;
}

/*
 * Emit the bucket e of group g, or reject it when a count lies outside
 * what pa-records(5) allows, as every tool that reads buckets would: a
 * gauge can hold -5 or 1e300 where a bucket cannot.
 */
static void
emit_bucket(const struct pa_tsdb_acc *acc, const struct group *g, const struct entry *e,
	    pa_usec_t step, pa_tsdb_emit_fn emit, void *ctx, long *emitted)
{
	static const struct {
		enum pa_tsdb_field field;
		const char *range;	/* the values allowed, for the message */
		double max;
	} limits[] = {
		{ PA_TSDB_F_REQUESTS, "a count from 0 to 1e15", PA_REQUESTS_MAX },
		{ PA_TSDB_F_ERRORS, "a count from 0 to 1e15", PA_REQUESTS_MAX },
		{ PA_TSDB_F_COMPLEXITY_SUM, "a number from 0 to 1e18", PA_COMPLEXITY_SUM_MAX },
	};

	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		double v = e->val[limits[i].field];
		char when[40];

		if (!(e->have & (1u << limits[i].field)) || (v >= 0 && v <= limits[i].max))
			continue;
		pa_time_format(e->ts, when, sizeof when);
		reject_bucket(acc, g, e, step, "invalid count",
			  "series %s at %s: %s %.15g is not %s, so no bucket is written", g->desc,
			  when, pa_tsdb_field_name(limits[i].field), v, limits[i].range);
		return;
	}
	emit_record(bucket_record(g, e, step), emit, ctx, emitted);
}

/* The span of time a bucket's samples cover, to tell a partial bucket from a whole one. */
struct coverage {
	pa_usec_t begin, end;
	size_t nentries;		/* entries added into the bucket */
	int marked;			/* some entry carried covered_s */
};

/*
 * Add entry e, whose own width is width unless it carries step_s, to the
 * coverage of its bucket.  An entry covers its whole width unless it
 * carries covered_s or covered_from_s.
 */
static void
cover_entry(struct coverage *c, const struct entry *e, pa_usec_t width)
{
	pa_usec_t from = 0, covered, begin;

	if (e->have_meta & (1u << PA_TSDB_M_STEP_S))
		width = (pa_usec_t)llround(e->meta[PA_TSDB_M_STEP_S] * PA_USEC_PER_SEC);
	if (e->have_meta & (1u << PA_TSDB_M_COVERED_FROM_S))
		from = (pa_usec_t)llround(e->meta[PA_TSDB_M_COVERED_FROM_S] * PA_USEC_PER_SEC);
	covered = width - from;
	if (e->have_meta & (1u << PA_TSDB_M_COVERED_S)) {
		covered = (pa_usec_t)llround(e->meta[PA_TSDB_M_COVERED_S] * PA_USEC_PER_SEC);
		c->marked = 1;
	}
	begin = e->ts + from;
	if (c->nentries == 0 || begin < c->begin)
		c->begin = begin;
	if (c->nentries == 0 || begin + covered > c->end)
		c->end = begin + covered;
	c->nentries++;
}

/*
 * Mark bucket b, of width step, as partial when its entries leave more than
 * 1% of the step (at least 1 s) uncovered at either end, the rule pa-score
 * writes covered_s by.  One entry without covered_s is never marked, so a
 * sample taken at an unaligned time still makes a whole bucket.
 */
static void
set_coverage(struct entry *b, const struct coverage *c, pa_usec_t step)
{
	pa_usec_t slack = step / 100 > PA_USEC_PER_SEC ? step / 100 : PA_USEC_PER_SEC;

	b->have_meta &= ~((1u << PA_TSDB_M_COVERED_S) | (1u << PA_TSDB_M_COVERED_FROM_S));
	if (c->nentries < 2 && !c->marked)
		return;
	if (c->begin - b->ts <= slack && b->ts + step - c->end <= slack)
		return;
	b->meta[PA_TSDB_M_COVERED_S] = (double)(c->end - c->begin) / PA_USEC_PER_SEC;
	b->have_meta |= 1u << PA_TSDB_M_COVERED_S;
	if (c->begin > b->ts) {
		b->meta[PA_TSDB_M_COVERED_FROM_S] = (double)(c->begin - b->ts) / PA_USEC_PER_SEC;
		b->have_meta |= 1u << PA_TSDB_M_COVERED_FROM_S;
	}
}

/*
 * Emit the buckets of one group, entries[0..n) sorted by time.  Each
 * sample belongs to the bucket of width step that contains it, so samples
 * taken at unaligned times land on bucket starts, and samples finer than
 * the step add up (per-minute counts with --step 1h make hourly buckets).
 * width is the width of one sample's bucket, for the coverage of a
 * bucket that adds several.
 */
static void
emit_buckets(const struct pa_tsdb_acc *acc, const struct group *g, struct entry *entries,
	     size_t n, pa_usec_t step, pa_usec_t width, pa_tsdb_emit_fn emit, void *ctx,
	     long *emitted)
{
	struct entry cur;
	struct coverage cov;
	int open = 0;

	for (size_t i = 0; i < n; i++) {
		struct entry *e = &entries[i];
		pa_usec_t start = pa_bucket_start(e->ts, step);

		if (!(e->have & (1u << PA_TSDB_F_REQUESTS))) {
			char when[40];

			pa_time_format(e->ts, when, sizeof when);
			reject_bucket(acc, g, e, step, "bucket without requests",
				  "series %s at %s has no requests sample, so no bucket is written",
				  g->desc, when);
			continue;
		}
		bucket_complexity_sum(e);

		if (open && start != cur.ts) {
			set_coverage(&cur, &cov, step);
			emit_bucket(acc, g, &cur, step, emit, ctx, emitted);
			open = 0;
		}
		if (!open) {
			cur = *e;
			cur.ts = start;
			memset(&cov, 0, sizeof cov);
			cover_entry(&cov, e, width);
			open = 1;
			continue;
		}
		for (int f = 0; f < PA_TSDB_F_NFIELDS; f++)
			if (e->have & (1u << f))
				cur.val[f] += e->val[f];
		cur.have |= e->have;
		cover_entry(&cov, e, width);
	}
	if (open) {
		set_coverage(&cur, &cov, step);
		emit_bucket(acc, g, &cur, step, emit, ctx, emitted);
	}
}

/*
 * Return the step_s that every entry carrying one gives, or 0 when none
 * does or two disagree.
 */
static pa_usec_t
stated_step(const struct entry *e, size_t n)
{
	pa_usec_t step = 0;

	for (size_t i = 0; i < n; i++) {
		pa_usec_t s;

		if (!(e[i].have_meta & (1u << PA_TSDB_M_STEP_S)))
			continue;
		s = (pa_usec_t)llround(e[i].meta[PA_TSDB_M_STEP_S] * PA_USEC_PER_SEC);
		if (s <= 0 || (step != 0 && s != step))
			return 0;
		step = s;
	}
	return step;
}

/* Widest step_s that the tools reading buckets accept, as --step allows: 366 days. */
#define STEP_MAX (366LL * 86400 * PA_USEC_PER_SEC)

/*
 * Reject group g, of nentries entries, when its bucket width lies outside
 * the step_s from 1 s to 366 days that every tool reading buckets accepts.
 * A width from the group's own step_s is checked always, one from the
 * sample spacing only when it becomes the step (no --step).  Returns 0
 * when the width can be used, or -1 after rejecting the group.
 */
static int
check_width(const struct pa_tsdb_acc *acc, const struct group *g, size_t nentries,
	    pa_usec_t width, int stated)
{
	double seconds = (double)width / PA_USEC_PER_SEC;

	if (width == 0 || (width >= PA_USEC_PER_SEC && width <= STEP_MAX))
		return 0;
	if (stated) {
		reject_group(acc, g, nentries, "invalid step",
			  "series %s has step_s %.15g, but a bucket's step_s must be from 1 to "
			  "31622400 seconds, so no bucket is written", g->desc, seconds);
		return -1;
	}
	if (acc->map->step != 0)
		return 0;

	/* A range query evaluates at start + k * step, so the spacing is its step. */
	reject_group(acc, g, nentries, "invalid step",
		  "series %s has samples %.15g s apart (the query step), but a "
		  "bucket's step_s must be from 1 to 31622400 seconds: query with a step "
		  "from 1s to 366d, or give --step to set the bucket width", g->desc, seconds);
	return -1;
}

/* The smallest gap between the group's samples, which are sorted; 0 with one sample. */
static pa_usec_t
sample_spacing(const struct entry *e, size_t n)
{
	pa_usec_t gap = 0;

	for (size_t i = 1; i < n; i++) {
		pa_usec_t d = e[i].ts - e[i - 1].ts;

		if (d > 0 && (gap == 0 || d < gap))
			gap = d;
	}
	return gap;
}

void
pa_tsdb_acc_source(struct pa_tsdb_acc *acc, int group, const json_t *series)
{
	struct group *g;
	size_t n;

	assert(group >= 0);
	assert((size_t)group < acc->ngroups);
	g = &acc->groups[group];
	if (g->sources == NULL)
		g->sources = json_array();
	n = json_array_size(g->sources);
	if (n > 0 && json_array_get(g->sources, n - 1) == series)
		return;
	json_array_append(g->sources, (json_t *)series);
}

void
pa_tsdb_acc_spacing(struct pa_tsdb_acc *acc, int group, pa_usec_t gap)
{
	struct group *g;

	assert(group >= 0);
	assert((size_t)group < acc->ngroups);
	g = &acc->groups[group];
	if (gap > 0 && (g->spacing == 0 || gap < g->spacing))
		g->spacing = gap;
}

long
pa_tsdb_acc_finish(struct pa_tsdb_acc *acc, pa_tsdb_emit_fn emit, void *ctx)
{
	long emitted = 0;
	size_t i = 0;

	if (acc->nentries > 0)
		qsort(acc->entries, acc->nentries, sizeof *acc->entries, entry_cmp);
	while (i < acc->nentries) {
		const struct group *g = &acc->groups[acc->entries[i].group];
		size_t end = i;
		pa_usec_t step = acc->map->step, width = 0, spacing;
		int stated;

		while (end < acc->nentries && acc->entries[end].group == acc->entries[i].group)
			end++;

		/* A bucket's own step_s gives its width better than the spacing of samples. */
		if (!g->usage) {
			spacing = sample_spacing(acc->entries + i, end - i);
			if (g->spacing > 0 && (spacing == 0 || g->spacing < spacing))
				spacing = g->spacing;
			width = stated_step(acc->entries + i, end - i);
			if (width > 0 && spacing > 0 && spacing < width) {
				reject_group(acc, g, end - i, "samples finer than step_s",
					  "series %s has samples %g s apart in buckets of step_s %g s: "
					  "a query step finer than the bucket repeats each bucket's values "
					  "(Prometheus's lookback), so they would be counted several "
					  "times; query at step=%g", g->desc,
					  (double)spacing / PA_USEC_PER_SEC, (double)width / PA_USEC_PER_SEC,
					  (double)width / PA_USEC_PER_SEC);
				i = end;
				continue;
			}
			stated = width > 0;
			if (width == 0)
				width = spacing;
			if (check_width(acc, g, end - i, width, stated) != 0) {
				i = end;
				continue;
			}
			if (step == 0)
				step = width;
		}
		if (!g->usage && step == 0) {
			reject_group(acc, g, end - i, "unknown step",
				  "series %s has one sample and no step_s, so the bucket width is "
				  "unknown: give --step", g->desc);
			i = end;
			continue;
		}

		if (g->usage) {
			for (; i < end; i++)
				emit_record(usage_record(g, &acc->entries[i]), emit, ctx, &emitted);
		} else {
			emit_buckets(acc, g, acc->entries + i, end - i, step, width ? width : step, emit,
				     ctx, &emitted);
			i = end;
		}
	}
	pa_tsdb_acc_free(acc);
	return emitted;
}

void
pa_tsdb_acc_free(struct pa_tsdb_acc *acc)
{
	if (acc == NULL)
		return;
	for (size_t i = 0; i < acc->ngroups; i++) {
		for (int k = 0; k < PA_TSDB_K_NKEYS; k++)
			free(acc->groups[i].key[k]);
		free(acc->groups[i].desc);
		free(acc->groups[i].tenant_service_name);
		json_decref(acc->groups[i].sources);
	}
	free(acc->groups);
	free(acc->entries);
	json_decref(acc->group_index);
	free(acc->slots);
	free(acc);
}

int
pa_tsdb_record_ids(const json_t *rec, char **tenant, char **service, char *err, size_t errsize)
{
	const char *t = pa_rec_str(rec, "tenant"), *s = pa_rec_str(rec, "service");
	const char *tsn = pa_rec_str(rec, "tenant_service_name");

	if (t != NULL && s != NULL) {
		*tenant = strdup(t);
		*service = strdup(s);
	} else if (tsn != NULL && strchr(tsn, '/') != NULL) {
		const char *slash = strchr(tsn, '/');

		*tenant = strndup(tsn, (size_t)(slash - tsn));
		*service = strdup(slash + 1);
	} else {
		snprintf(err, errsize, "record has no tenant and service, nor a tenant_service_name TENANT/SERVICE");
		return -1;
	}
	if (**tenant == '\0' || **service == '\0') {
		snprintf(err, errsize, "tenant or service is empty");
		free(*tenant);
		free(*service);
		return -1;
	}
	return 0;
}

/* ---- Output ---- */

int
pa_tsdb_format_parse(const char *s, enum pa_tsdb_format *out)
{
	if (strcmp(s, "ndjson") == 0)
		*out = PA_TSDB_NDJSON;
	else if (strcmp(s, "openmetrics") == 0)
		*out = PA_TSDB_OPENMETRICS;
	else if (strcmp(s, "influx") == 0)
		*out = PA_TSDB_INFLUX;
	else
		return -1;
	return 0;
}

struct pa_tsdb_out {
	enum pa_tsdb_format format;
	struct pa_om_writer *om;
	long skipped;			/* records of kinds without a form */
	char skipped_kind[32];		/* the first such kind, for the message */
	long nrecords;			/* records given to the writer, for reject line numbers */
};

struct pa_tsdb_out *
pa_tsdb_out_new(enum pa_tsdb_format format)
{
	struct pa_tsdb_out *out = calloc(1, sizeof *out);

	if (out == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	out->format = format;
	if (format == PA_TSDB_OPENMETRICS)
		out->om = pa_om_writer_new();
	return out;
}

static const char *
format_name(enum pa_tsdb_format f)
{
	switch (f) {
	case PA_TSDB_OPENMETRICS:
		return "openmetrics";
	case PA_TSDB_INFLUX:
		return "influx";
	default:
		return "ndjson";
	}
}

void
pa_tsdb_out_record(struct pa_tsdb_out *out, const json_t *rec)
{
	char err[200];
	int r;

	out->nrecords++;
	if (out->format == PA_TSDB_NDJSON) {
		pa_out_json(rec);
		return;
	}

	if (out->format == PA_TSDB_OPENMETRICS) {
		r = pa_om_write_record(out->om, rec, err, sizeof err);
	} else {
		char *buf = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&buf, &size);

		if (f == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
		r = pa_influx_write_record(f, rec, err, sizeof err);
		if (fclose(f) != 0)
			pa_die(PA_EXIT_IO, "out of memory");
		pa_out_write(buf, size);
		free(buf);
	}

	if (r == 0) {
		const char *kind = pa_rec_kind(rec);

		if (out->skipped++ == 0)
			snprintf(out->skipped_kind, sizeof out->skipped_kind, "%s", kind ? kind : "(none)");
	} else if (r < 0) {
		/*
		 * A record the format cannot carry is rejected like a bad input
		 * line, so it counts toward --max-bad and --rejects keeps it as
		 * NDJSON.  Its line number is its place among the output records.
		 */
		const char *tsn = pa_rec_str(rec, "tenant_service_name");
		char *text = pa_tsdb_dump(rec);
		char where[32];

		snprintf(where, sizeof where, "%s output", format_name(out->format));
		pa_reject(where, out->nrecords, text, strlen(text), "record the output format cannot carry",
			  "%s record for %s not written as %s: %s", pa_rec_kind(rec),
			  tsn ? pa_quote(tsn, strlen(tsn)) : "(no tenant_service_name)",
			  format_name(out->format), err);
		free(text);
	}
}

void
pa_tsdb_out_finish(struct pa_tsdb_out *out)
{
	if (out == NULL)
		return;
	if (out->om != NULL) {
		char *buf = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&buf, &size);

		if (f == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
		pa_om_writer_finish(out->om, f);
		if (fclose(f) != 0)
			pa_die(PA_EXIT_IO, "out of memory");
		pa_out_write(buf, size);
		free(buf);
	}
	if (out->skipped > 0)
		pa_warn("%ld record%s not written: %s output has no form for their kind (first: %s)",
			out->skipped, out->skipped == 1 ? "" : "s", format_name(out->format),
			out->skipped_kind);
	free(out);
}

void
pa_tsdb_emit_stdout(const json_t *rec, void *ctx)
{
	(void)ctx;
	pa_out_json(rec);
}

/* The --output-format writer, made when the first record arrives. */
static enum pa_tsdb_format output_format = PA_TSDB_NDJSON;
static struct pa_tsdb_out *output;

static void
output_hook(const json_t *rec, void *ctx)
{
	(void)ctx;
	if (output == NULL)
		output = pa_tsdb_out_new(output_format);
	pa_tsdb_out_record(output, rec);
}

void
pa_tsdb_output_option(const char *arg)
{
	if (pa_tsdb_format_parse(arg, &output_format) != 0)
		pa_usage_error("invalid value for --output-format: %s (use ndjson, openmetrics or influx)",
			       pa_quote(arg, strlen(arg)));
	pa_out_set_record_hook(output_format == PA_TSDB_NDJSON ? NULL : output_hook, NULL);
}

int
pa_tsdb_output_converts(void)
{
	return output_format != PA_TSDB_NDJSON;
}

void
pa_tsdb_output_finish(void)
{
	if (output_format == PA_TSDB_NDJSON)
		return;
	pa_out_set_record_hook(NULL, NULL);
	if (output == NULL)
		output = pa_tsdb_out_new(output_format);
	pa_tsdb_out_finish(output);
	output = NULL;
}

void
pa_tsdb_output_check_follow(void)
{
	if (output_format == PA_TSDB_OPENMETRICS)
		pa_usage_error("--output-format openmetrics cannot be used with --follow: each metric "
			       "family is written whole once the input ends; use influx or ndjson");
}

int
pa_tsdb_ingest_option(struct pa_tsdb_map *map, int c, const char *arg)
{
	char err[200];

	switch (c) {
	case 'f':
		if (strcmp(arg, "prometheus") == 0)
			map->input = PA_TSDB_IN_PROMETHEUS;
		else if (strcmp(arg, "influxdb") == 0)
			map->input = PA_TSDB_IN_INFLUXDB;
		else
			map->input = -1;
		return map->input >= 0;
	case PA_OPT_TSDB_LABEL:
		if (pa_tsdb_map_label(map, arg, err, sizeof err) != 0)
			pa_usage_error("%s", err);
		return 1;
	case PA_OPT_TSDB_METRIC:
		map->metric = pa_tsdb_field_lookup(arg);
		if (map->metric < 0)
			pa_usage_error("invalid value for --metric: %s (use cpu_usage, memory_usage, "
				       "network_io, requests, errors, complexity_sum, complexity_mean, "
				       "bytes_in or bytes_out)", pa_quote(arg, strlen(arg)));
		return 1;
	case PA_OPT_TSDB_CPU_LIMIT:
		map->cpu_limit = pa_opt_double("--cpu-limit", arg, 0.001, 1e6);
		map->cpu_limit_given = 1;
		return 1;
	case PA_OPT_TSDB_MEMORY_LIMIT:
		map->memory_limit = pa_opt_double("--memory-limit", arg, 1, 1e18);
		return 1;
	}
	return 0;
}
