/*
 * fc_series.c - grouping bucket records per series.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fc_series.h"
#include "input.h"
#include "ndjson.h"
#include "opts.h"

/*
 * Inputs a point can name, the largest value of its 29-bit input field.
 * A record of a later input is left unnamed in messages.
 */
#define POINT_INPUT_MAX ((1u << 29) - 1)

_Static_assert(sizeof(struct pa_fc_point) == 48 || sizeof(void *) < 8,
	       "a bucket point should take 48 bytes on a 64-bit system");

/*
 * A bucket start, with its step, that an input began or ended inside.  It
 * is judged over all series, as pa-score --merge judges its input: the
 * parts of every series and the whole records at that start show how much
 * of the bucket the input covered.
 */
struct partial_start {
	pa_usec_t ts, step;
	pa_usec_t end;		/* latest instant a part covers */
	struct pa_cover cover;	/* spans that the records of every series cover */
	double requests;	/* in those records, for the quiet-time test */
	int whole;		/* 1: they cover the whole bucket */
	int holed;		/* 1: a stretch between them is too long to be quiet */
	pa_usec_t from, to;	/* that stretch, or the span they cover, from ts */
};

struct pa_fc_series_set {
	struct pa_fc_series **slot;	/* open-addressing table keyed by name */
	size_t size, used;
	struct pa_fc_series **sorted;
	size_t partial;			/* bucket records the input began or ended inside */
	char partial_first[200];	/* "SERIES at TS" of the first of them */
	struct partial_start *starts;	/* bucket starts that an input began or ended
					 * inside, sorted by start and step */
	size_t nstarts, starts_size;
	int joined;			/* 1: pa_fc_series_join_parts() filled the starts */
	struct pa_input_names inputs;	/* names given by pa_fc_series_source() */
	const char *source;		/* input of the record being added, or NULL */
	unsigned source_input;		/* 1 + its index in inputs, 0: past POINT_INPUT_MAX */
	size_t source_line;		/* and its line */
};

static int note_partial_start(struct pa_fc_series_set *set, pa_usec_t ts, pa_usec_t step,
			      pa_usec_t end);

struct pa_fc_series_set *
pa_fc_series_new(void)
{
	struct pa_fc_series_set *set = calloc(1, sizeof *set);

	if (set == NULL)
		return NULL;
	set->size = 64;
	set->slot = calloc(set->size, sizeof *set->slot);
	if (set->slot == NULL) {
		free(set);
		return NULL;
	}
	return set;
}

void
pa_fc_series_free(struct pa_fc_series_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->size; i++) {
		struct pa_fc_series *s = set->slot[i];

		if (s == NULL)
			continue;
		free(s->name);
		free(s->tenant);
		free(s->service);
		free(s->points);
		free(s);
	}
	pa_input_names_free(&set->inputs);
	free(set->starts);
	free(set->slot);
	free(set->sorted);
	free(set);
}

void
pa_fc_series_source(struct pa_fc_series_set *set, const char *input, size_t line)
{
	set->source = pa_input_names_keep(&set->inputs, input);
	set->source_input = set->inputs.n <= POINT_INPUT_MAX ? (unsigned)set->inputs.n : 0;
	set->source_line = line;
}

static size_t
slot_of(struct pa_fc_series **slot, size_t size, const char *name)
{
	size_t i = (size_t)pa_hash64(name, strlen(name)) & (size - 1);

	while (slot[i] != NULL && strcmp(slot[i]->name, name) != 0)
		i = (i + 1) & (size - 1);
	return i;
}

static int
grow(struct pa_fc_series_set *set)
{
	size_t size = set->size * 2;
	struct pa_fc_series **slot = calloc(size, sizeof *slot);

	if (slot == NULL)
		return -1;
	for (size_t i = 0; i < set->size; i++)
		if (set->slot[i] != NULL)
			slot[slot_of(slot, size, set->slot[i]->name)] = set->slot[i];
	free(set->slot);
	set->slot = slot;
	set->size = size;
	return 0;
}

static char *
copy_part(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static struct pa_fc_series *
series_create(const char *name, const char *tenant, const char *service, pa_usec_t step)
{
	struct pa_fc_series *s = calloc(1, sizeof *s);
	const char *slash = strchr(name, '/');

	if (s == NULL)
		return NULL;
	s->name = copy_part(name, strlen(name));
	if (tenant == NULL)
		s->tenant = copy_part(name, slash ? (size_t)(slash - name) : strlen(name));
	else
		s->tenant = copy_part(tenant, strlen(tenant));
	if (service == NULL)
		s->service = copy_part(slash ? slash + 1 : "", slash ? strlen(slash + 1) : 0);
	else
		s->service = copy_part(service, strlen(service));
	s->step = step;
	if (s->name == NULL || s->tenant == NULL || s->service == NULL) {
		free(s->name);
		free(s->tenant);
		free(s->service);
		free(s);
		return NULL;
	}
	return s;
}

static int
reserve_points(struct pa_fc_series *s, size_t more)
{
	size_t alloc = s->alloc ? s->alloc : 64;
	struct pa_fc_point *p;

	while (alloc < s->count + more)
		alloc *= 2;
	if (alloc == s->alloc)
		return 0;
	p = realloc(s->points, alloc * sizeof *p);
	if (p == NULL)
		return -1;
	s->points = p;
	s->alloc = alloc;
	return 0;
}

int
pa_fc_series_seed(struct pa_fc_series_set *set, const char *name, const char *tenant,
		  const char *service, pa_usec_t step, pa_usec_t first, const double *requests,
		  const double *complexity_sum, size_t n)
{
	struct pa_fc_series *s;
	size_t i;

	if (set->used * 2 >= set->size && grow(set) != 0)
		return -1;
	i = slot_of(set->slot, set->size, name);
	if (set->slot[i] != NULL)
		return -1;
	s = series_create(name, tenant, service, step);
	if (s == NULL || reserve_points(s, n) != 0) {
		if (s != NULL) {
			free(s->name);
			free(s->tenant);
			free(s->service);
			free(s);
		}
		return -1;
	}
	for (size_t k = 0; k < n; k++)
		s->points[k] = (struct pa_fc_point){ .ts = first + (pa_usec_t)k * step,
						     .requests = requests[k],
						     .complexity_sum = complexity_sum[k], .kept = 1 };
	s->count = n;
	s->set = set;
	s->anchor = first;
	s->has_kept = n > 0;	/* an empty window keeps only a pending part */
	s->kept_first = first;
	s->kept_last = first + (pa_usec_t)(n ? n - 1 : 0) * step;
	s->open = s->kept_last;
	set->slot[i] = s;
	set->used++;
	return 0;
}

int
pa_fc_series_pending(struct pa_fc_series_set *set, const char *name, pa_usec_t ts,
		     double requests, double complexity_sum, pa_usec_t cover_from,
		     pa_usec_t cover_to)
{
	struct pa_fc_series *s = pa_fc_series_find(set, name);

	if (s == NULL || reserve_points(s, 1) != 0 ||
	    note_partial_start(set, ts, s->step, ts + cover_to) != 0)
		return -1;
	s->points[s->count++] = (struct pa_fc_point){ .ts = ts, .requests = requests,
						      .complexity_sum = complexity_sum, .kept = 1,
						      .pending = 1, .cover_from = cover_from,
						      .cover_to = cover_to };
	return 0;
}

/* Report field key as missing or invalid ("is not WHAT"). */
static int
bad_field(const json_t *rec, const char *key, const char *what, char *err, size_t errsize,
	  const char **reason_class, const char *cls)
{
	*reason_class = cls;
	if (json_object_get(rec, key) == NULL) {
		snprintf(err, errsize, "missing field \"%s\"", key);
		return -1;
	}
	snprintf(err, errsize, "field \"%s\" is not %s: %s", key, what,
		 pa_quote_json(json_object_get(rec, key)));
	return -1;
}

/* Equal to within rounding, with unknown equal to unknown. */
static int
same_value(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return fabs(a - b) <= 1e-9 * fmax(1, fmax(fabs(a), fabs(b)));
}

int
pa_fc_series_compare(const struct pa_fc_series *s, const json_t *rec, pa_usec_t ts)
{
	double requests = NAN, csum = NAN, cmean;
	int got;

	got = pa_rec_num(rec, "requests", &requests);
	if (got < 0)
		return -2;
	if (got == 0)
		requests = NAN;
	got = pa_rec_num(rec, "complexity_sum", &csum);
	if (got == 0) {
		got = pa_rec_num(rec, "complexity_mean", &cmean);
		csum = got == 1 && !isnan(requests) ? cmean * requests : NAN;
	}
	if (got < 0)
		return -2;

	/*
	 * The kept window leads the points in start order, as the state seed
	 * and pa_fc_series_keep() lay it, and records read since follow it.  A
	 * replay after a restart compares every bucket of the window, so the
	 * kept part is searched by halves.
	 */
	size_t lo = 0, hi = s->count;

	while (hi > 0 && !s->points[hi - 1].kept)
		hi--;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->points[mid].ts < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->count && s->points[lo].kept && s->points[lo].ts == ts)
		return same_value(s->points[lo].requests, requests) &&
		       same_value(s->points[lo].complexity_sum, csum);
	return -1;
}

void
pa_fc_series_drop_fresh(struct pa_fc_series *s, pa_usec_t ts)
{
	size_t k = 0;

	for (size_t j = 0; j < s->count; j++)
		if (s->points[j].kept || s->points[j].ts != ts)
			s->points[k++] = s->points[j];
	s->count = k;
}

enum pa_fc_replace
pa_fc_series_replace_kept(struct pa_fc_series *s, pa_usec_t ts, double *requests,
			  double *complexity_sum)
{
	struct pa_fc_point *kept = NULL, *read = NULL;
	enum pa_fc_replace outcome;
	size_t k = 0;

	for (size_t j = 0; j < s->count; j++) {
		struct pa_fc_point *p = &s->points[j];

		if (p->ts != ts || p->pending)
			continue;
		if (p->kept)
			kept = p;
		else
			read = p;
	}
	if (kept == NULL || read == NULL)
		return PA_FC_REPLACE_NOT_KEPT;

	if (read->cover_to > 0) {
		outcome = PA_FC_KEPT_OVER_PART;
	} else if (isnan(read->requests) || read->rejected) {
		outcome = PA_FC_KEPT_OVER_UNKNOWN;
	} else {
		kept->requests = read->requests;
		kept->complexity_sum = read->complexity_sum;
		outcome = PA_FC_REPLACED;
	}
	*requests = kept->requests;
	*complexity_sum = kept->complexity_sum;

	for (size_t j = 0; j < s->count; j++)
		if (s->points[j].kept || s->points[j].ts != ts)
			s->points[k++] = s->points[j];
	s->count = k;
	return outcome;
}

/* Return the index in set->starts where (ts, step) is or would go. */
static size_t
start_index(const struct pa_fc_series_set *set, pa_usec_t ts, pa_usec_t step)
{
	size_t lo = 0, hi = set->nstarts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct partial_start *m = &set->starts[mid];

		if (m->ts < ts || (m->ts == ts && m->step < step))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Return the partial start (ts, step) of set, or NULL. */
static const struct partial_start *
partial_start_at(const struct pa_fc_series_set *set, pa_usec_t ts, pa_usec_t step)
{
	size_t i;

	if (set == NULL)
		return NULL;
	i = start_index(set, ts, step);
	if (i < set->nstarts && set->starts[i].ts == ts && set->starts[i].step == step)
		return &set->starts[i];
	return NULL;
}

/*
 * Return the bucket of s at ts as judged over all series by
 * pa_fc_series_join_parts(), or NULL when no input began or ended inside
 * it or the set was not judged so.
 */
static const struct partial_start *
joined_at(const struct pa_fc_series *s, pa_usec_t ts)
{
	if (s->set == NULL || !s->set->joined)
		return NULL;
	return partial_start_at(s->set, ts, s->step);
}

/*
 * Note that a part of the bucket at ts covers it up to the instant end.
 * Returns 0, or -1 when memory runs out.
 */
static int
note_partial_start(struct pa_fc_series_set *set, pa_usec_t ts, pa_usec_t step, pa_usec_t end)
{
	size_t i = start_index(set, ts, step);
	struct partial_start *p;

	if (i < set->nstarts && set->starts[i].ts == ts && set->starts[i].step == step) {
		if (end > set->starts[i].end)
			set->starts[i].end = end;
		return 0;
	}
	if (set->nstarts == set->starts_size) {
		size_t size = set->starts_size ? 2 * set->starts_size : 16;

		p = realloc(set->starts, size * sizeof *p);
		if (p == NULL)
			return -1;
		set->starts = p;
		set->starts_size = size;
	}
	memmove(&set->starts[i + 1], &set->starts[i], (set->nstarts - i) * sizeof *set->starts);
	set->nstarts++;
	set->starts[i] = (struct partial_start){ .ts = ts, .step = step, .end = end };
	return 0;
}

int
pa_fc_series_add(struct pa_fc_series_set *set, const json_t *rec,
		 char *err, size_t errsize, const char **reason_class)
{
	const char *name = pa_rec_str(rec, "tenant_service_name");
	const char *cfield = "complexity_sum";
	double step_s, requests = NAN, csum = NAN, cmean;
	pa_usec_t ts, step;
	struct pa_fc_series *s;
	size_t i;
	int got, invalid = 0, partial;
	double covered_from_s, covered_s;
	const char *field, *expected;

	if (name == NULL || name[0] == '\0')
		return bad_field(rec, "tenant_service_name", "a non-empty string", err, errsize,
				 reason_class, "invalid tenant_service_name");
	if (pa_rec_time(rec, "ts", &ts) != 1)
		return bad_field(rec, "ts", "a timestamp", err, errsize, reason_class, "invalid ts");
	if (pa_rec_num(rec, "step_s", &step_s) != 1 || step_s < 1 || step_s > 366 * 86400.0)
		return bad_field(rec, "step_s", "a bucket width from 1 to 31622400 seconds", err,
				 errsize, reason_class, "invalid step_s");
	step = (pa_usec_t)llround(step_s * (double)PA_USEC_PER_SEC);

	/*
	 * pa-score marks a bucket that its input began or ended inside with
	 * covered_from_s and covered_s.  Its count is a part of the bucket's,
	 * which would read as a drop in traffic.  Alone it leaves the bucket
	 * unknown, and parts that together cover the bucket are added.
	 */
	partial = pa_rec_coverage(rec, step_s, &covered_from_s, &covered_s, &field, &expected);
	if (partial < 0) {
		invalid = bad_field(rec, field, expected, err, errsize, reason_class,
				    strcmp(field, "covered_s") == 0 ? "invalid covered_s"
								    : "invalid covered_from_s");
		partial = 0;
	}

	/*
	 * requests null stands for an unknown bucket, as an empty CSV cell
	 * does; a record without the field is a fault of its writer, such as
	 * a misspelt name, and is rejected.  The upper limits keep every sum,
	 * square and interval bound the models form finite: a count of 1e300
	 * parses, but its interval would not.
	 */
	got = pa_rec_num(rec, "requests", &requests);
	if (!invalid && (got < 0 || json_object_get(rec, "requests") == NULL ||
			 (got == 1 && !(requests >= 0 && requests <= PA_REQUESTS_MAX))))
		invalid = bad_field(rec, "requests", "a count from 0 to 1e15", err, errsize,
				    reason_class, "invalid requests");
	if (got != 1)
		requests = NAN;

	got = pa_rec_num(rec, "complexity_sum", &csum);
	if (got == 0) {
		cfield = "complexity_mean";
		got = pa_rec_num(rec, "complexity_mean", &cmean);
		if (got == 1)
			csum = isnan(requests) ? NAN : cmean * requests;
	}
	if (!invalid && (got < 0 || (got == 1 && !(csum >= 0))))
		invalid = bad_field(rec, cfield, strcmp(cfield, "complexity_sum") == 0 ?
				    "a number from 0 to 1e18" : "a number >= 0",
				    err, errsize, reason_class, "invalid complexity");
	if (!invalid && got == 1 && csum > PA_COMPLEXITY_SUM_MAX)
		invalid = bad_field(rec, cfield, strcmp(cfield, "complexity_sum") == 0 ?
				    "a number from 0 to 1e18" :
				    "a mean whose sum over the requests is at most 1e18",
				    err, errsize, reason_class, "invalid complexity");
	if (got != 1)
		csum = NAN;

	/*
	 * A record rejected for its counts or span still shows that its bucket
	 * exists, so it is kept as a rejected point.  Between the series'
	 * valid buckets, that bucket is unknown instead of a gap of 0
	 * requests.  Outside them the point counts for nothing, because a
	 * bad record must not start a series or stretch the end that the
	 * other series are aligned to.
	 */
	if (invalid) {
		if (pa_fc_series_find(set, name) == NULL)
			return -1;
		requests = csum = NAN;
	}
	if (partial && !invalid) {
		char when[40];

		if (set->partial++ == 0)
			snprintf(set->partial_first, sizeof set->partial_first, "%s at %s",
				 pa_quote(name, strlen(name)), pa_time_format(ts, when, sizeof when));
		if (note_partial_start(set, ts, step,
				       ts + llround((covered_from_s + covered_s) * PA_USEC_PER_SEC)) != 0)
			goto nomem;
	}

	if (set->used * 2 >= set->size && grow(set) != 0)
		goto nomem;
	i = slot_of(set->slot, set->size, name);
	s = set->slot[i];
	if (s == NULL) {
		s = series_create(name, pa_rec_str(rec, "tenant"), pa_rec_str(rec, "service"), step);
		if (s == NULL)
			goto nomem;
		s->first_input = set->source;
		s->first_line = set->source_line;
		s->set = set;
		set->slot[i] = s;
		set->used++;
	} else if (s->step != step) {
		char first[300] = "";

		/* The first record sets the step, so when it is the odd one, say where it is. */
		if (!s->has_kept && s->first_input != NULL)
			snprintf(first, sizeof first, ", set by the first, at %s:%zu", s->first_input,
				 s->first_line);
		*reason_class = "step differs within a series";
		snprintf(err, errsize, "field \"step_s\" is %g but %s of %s have %g%s",
			 step_s, s->has_kept ? "the buckets kept in the state file" : "earlier buckets",
			 pa_quote(name, strlen(name)), (double)s->step / PA_USEC_PER_SEC,
			 s->has_kept ? " (remove the series from the state file to change its step)"
				     : first);
		return -1;
	}
	if (s->has_kept && ts < s->kept_first) {
		char a[40], b[40];

		*reason_class = "bucket older than the state";
		snprintf(err, errsize, "bucket \"ts\" %s is before the history of %s kept in the "
			 "state file, which starts at %s", pa_time_format(ts, a, sizeof a),
			 pa_quote(name, strlen(name)), pa_time_format(s->kept_first, b, sizeof b));
		return -1;
	}
	if (s->count == 0 && !s->has_kept) {
		s->anchor = ts;
	} else if ((ts - s->anchor) % step != 0) {
		char a[40], b[40];

		*reason_class = "bucket not aligned with its series";
		snprintf(err, errsize, "bucket \"ts\" %s does not lie a whole number of steps "
			 "(%g s) from the first bucket of %s at %s", pa_time_format(ts, b, sizeof b),
			 step_s, pa_quote(name, strlen(name)), pa_time_format(s->anchor, a, sizeof a));
		return -1;
	}
	if (reserve_points(s, 1) != 0)
		goto nomem;
	s->points[s->count++] = (struct pa_fc_point){ .ts = ts, .requests = requests,
						      .complexity_sum = csum,
						      .rejected = invalid != 0,
						      .input = set->source_input,
						      .line = set->source_line <= UINT32_MAX ?
							      (uint32_t)set->source_line : 0 };
	if (partial && !invalid) {
		/* The part's counts wait for the rest of its bucket; alone it is unknown. */
		s->points[s->count - 1].cover_from = llround(covered_from_s * PA_USEC_PER_SEC);
		s->points[s->count - 1].cover_to = s->points[s->count - 1].cover_from +
						   llround(covered_s * PA_USEC_PER_SEC);
	}
	return invalid;

nomem:
	*reason_class = "out of memory";
	snprintf(err, errsize, "out of memory storing bucket %s", pa_quote(name, strlen(name)));
	return -1;
}

size_t
pa_fc_series_partial(const struct pa_fc_series_set *set, const char **first)
{
	*first = set->partial_first;
	return set->partial;
}

struct pa_fc_series *
pa_fc_series_find(struct pa_fc_series_set *set, const char *name)
{
	return set->slot[slot_of(set->slot, set->size, name)];
}

static int
by_name(const void *a, const void *b)
{
	const struct pa_fc_series *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

struct pa_fc_series **
pa_fc_series_sorted(struct pa_fc_series_set *set, size_t *count)
{
	size_t k = 0;

	free(set->sorted);
	set->sorted = malloc((set->used ? set->used : 1) * sizeof *set->sorted);
	if (set->sorted == NULL) {
		*count = 0;
		return NULL;
	}
	for (size_t i = 0; i < set->size; i++)
		if (set->slot[i] != NULL)
			set->sorted[k++] = set->slot[i];
	qsort(set->sorted, k, sizeof *set->sorted, by_name);
	*count = k;
	return set->sorted;
}

/* Order NAN after every number, so equal values sort next to each other. */
static int
compare_values(double x, double y)
{
	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return (x > y) - (x < y);
}

/* By start, then by counts, so records equal in every count lie next to each other. */
static int
by_ts(const void *a, const void *b)
{
	const struct pa_fc_point *x = a, *y = b;
	int c = (x->ts > y->ts) - (x->ts < y->ts);

	if (c == 0)
		c = compare_values(x->requests, y->requests);
	if (c == 0)
		c = compare_values(x->complexity_sum, y->complexity_sum);
	return c;
}

/* Add b to a, where NAN means unknown: unknown plus known is the known part. */
static double
add_known(double a, double b)
{
	if (isnan(a))
		return b;
	if (isnan(b))
		return a;
	return a + b;
}

/* Flags of one bucket's points in pa_fc_series_regular(). */
#define FRESH_PART 1		/* a point read from the input, or a pending part */
#define FRESH_WHOLE 2		/* a whole bucket read from the input */
#define KEPT_KNOWN 4		/* a known bucket of the state's kept history */
#define FRESH_UNKNOWN 8		/* a part read is rejected or unknown: so is the bucket */
#define PENDING_REREAD 16	/* a part read covers time of the pending part again */
#define FRESH_SPLIT 32		/* a part read, beside a whole bucket read */

/* The parts of a bucket that its records cover, in microseconds from its start. */
struct span {
	struct pa_cover cover;
	int pending;		/* a part the state kept pending is among them */
	int whole;		/* a whole record or kept bucket is among them */
};

static void
join_span(struct span *sp, const struct pa_fc_point *p, pa_usec_t step)
{
	pa_usec_t from = p->cover_to > 0 ? p->cover_from : 0;
	pa_usec_t to = p->cover_to > 0 ? p->cover_to : step;

	pa_cover_add(&sp->cover, from, to);
	sp->pending |= p->pending;
	sp->whole |= p->cover_to == 0;
}

/*
 * Return 1 when the stretch from the start of bucket i to from, the start
 * of its parts, was covered by the input with no request of s in it.  When
 * the bucket before is known, its record covered the time up to this
 * bucket's start.  The stretch is then quiet time unless it is too long for
 * the rate of requests in the two buckets (pa_stretch_missing()).
 * pa-score --merge judges the stretch between two inputs the same way.
 * NOTE: The rate is that of this series alone, where pa-score --merge
 * takes the requests of all series, so a sparse series reads a longer
 * stretch as quiet.
 */
static int
head_quiet(const struct pa_fc_series *s, const double *v, size_t i, pa_usec_t from,
	   pa_usec_t to)
{
	double rate;

	if (i == 0 || v[i - 1] == -1 || isnan(v[i - 1]))
		return 0;
	rate = (v[i - 1] + (isnan(v[i]) ? 0 : v[i])) / (double)(s->step + (to - from));
	return !pa_stretch_missing(from, rate, s->step);
}

/*
 * Make every bucket whose parts do not cover it unknown, as pa-score
 * judges a whole bucket (pa_bucket_slack()) and a stretch between parts
 * (pa_cover_holed()), as pa-score --merge does.  After
 * pa_fc_series_join_parts(), the parts of every series at that start are
 * judged together.  A stretch from the bucket start to its first part,
 * after a known bucket, is judged as quiet time too (head_quiet()).  The
 * parts of the last bucket are kept in g, so that a
 * state file can join them with a later run's.  A last bucket with a
 * stretch missing keeps none.
 */
static void
settle_parts(const struct pa_fc_series *s, struct pa_fc_grid *g, const struct span *span,
	     size_t len, double *v, double *csum)
{
	pa_usec_t slack = pa_bucket_slack(s->step);

	for (size_t i = 0; i < len; i++) {
		pa_usec_t from, to, ts = g->first + (pa_usec_t)i * s->step;
		const struct partial_start *at;
		int holed;

		if (span[i].cover.n == 0 || span[i].whole)
			continue;
		at = joined_at(s, ts);
		if (at != NULL) {
			if (at->whole)
				continue;
			holed = at->holed;
			from = at->from;
			to = at->to;
		} else {
			holed = pa_cover_holed(&span[i].cover, isnan(v[i]) ? 0 : v[i], s->step,
					       &from, &to);
		}
		if (!holed && (from <= slack || head_quiet(s, v, i, from, to)) &&
		    to >= s->step - slack)
			continue;
		if (holed && g->holed++ == 0) {
			g->holed_ts = ts;
			g->holed_from = from;
			g->holed_to = to;
		}
		if (!holed && span[i].pending && i < len - 1 && g->unfinished++ == 0) {
			g->unfinished_ts = ts;
			g->unfinished_covered = to - from;
		}
		if (!holed && i == len - 1 && !isnan(v[i])) {
			g->pending = 1;
			g->pending_ts = ts;
			g->pending_requests = v[i];
			g->pending_complexity_sum = csum[i];
			g->pending_from = from;
			g->pending_to = to;
		}
		v[i] = csum[i] = NAN;
	}
}

/* Return 1 when s has a bucket read from the input, not only kept ones. */
static int
has_input(const struct pa_fc_series *s)
{
	for (size_t k = 0; k < s->count; k++)
		if (!s->points[k].kept && !s->points[k].rejected)
			return 1;
	return 0;
}

/*
 * NOTE: Only the spans inside one bucket are joined, so a stretch that no
 * input covers across a bucket boundary, such as a missing hourly piece
 * of a log, is not found.  A series with no record in the buckets it
 * spans reads them as gaps of 0 requests, where pa-score --merge writes
 * them as unknown.
 */
void
pa_fc_series_join_parts(struct pa_fc_series_set *set)
{
	for (size_t k = 0; k < set->nstarts; k++) {
		set->starts[k].cover.n = 0;
		set->starts[k].requests = 0;
	}

	/*
	 * Every record read and every part kept pending counts, but not a
	 * bucket the state kept whole: that shows what an earlier input
	 * covered, not this one.
	 */
	for (size_t i = 0; i < set->size; i++) {
		const struct pa_fc_series *s = set->slot[i];

		for (size_t j = 0; s != NULL && j < s->count; j++) {
			const struct pa_fc_point *p = &s->points[j];
			size_t k = start_index(set, p->ts, s->step);
			struct partial_start *at = &set->starts[k];

			if ((p->kept && !p->pending) || p->rejected || isnan(p->requests) ||
			    k == set->nstarts || at->ts != p->ts || at->step != s->step)
				continue;
			pa_cover_add(&at->cover, p->cover_to > 0 ? p->cover_from : 0,
				     p->cover_to > 0 ? p->cover_to : s->step);
			at->requests += p->requests;
		}
	}
	for (size_t k = 0; k < set->nstarts; k++) {
		struct partial_start *at = &set->starts[k];
		pa_usec_t slack = pa_bucket_slack(at->step);

		at->holed = pa_cover_holed(&at->cover, at->requests, at->step, &at->from, &at->to);
		at->whole = at->cover.n > 0 && !at->holed && at->from <= slack &&
			    at->to >= at->step - slack;
	}
	set->joined = 1;
}

/* Return 1 when point p of s is a part that covers its bucket with the parts of other series. */
static int
part_joined_whole(const struct pa_fc_series *s, const struct pa_fc_point *p)
{
	const struct partial_start *at = joined_at(s, p->ts);

	return p->cover_to > 0 && at != NULL && at->whole;
}

size_t
pa_fc_series_align_end(struct pa_fc_series_set *set)
{
	size_t extended = 0;

	for (size_t i = 0; i < set->size; i++) {
		struct pa_fc_series *s = set->slot[i];
		pa_usec_t last = PA_USEC_MIN;

		if (s == NULL || s->count == 0)
			continue;
		s->end = PA_USEC_MIN;	/* not aligned: its own last bucket */
		s->has_partial_end = 0;

		/*
		 * A series absent from the input neither sets the end of this
		 * input nor gets buckets up to it.
		 */
		if (!has_input(s))
			continue;
		for (size_t k = 0; k < s->count; k++)
			if (s->points[k].ts > last && !s->points[k].rejected)
				last = s->points[k].ts;
		s->end = last;
	}
	for (size_t i = 0; i < set->size; i++) {
		struct pa_fc_series *s = set->slot[i];
		pa_usec_t end, first = INT64_MAX;
		size_t known = 0;

		if (s == NULL || s->count == 0 || s->end == PA_USEC_MIN)
			continue;
		/* A series with no known count stays empty rather than made of zeros. */
		for (size_t k = 0; k < s->count; k++)
			known += !isnan(s->points[k].requests) &&
				 (s->points[k].cover_to == 0 || part_joined_whole(s, &s->points[k]));
		if (known == 0)
			continue;
		for (size_t k = 0; k < s->count; k++)
			if (s->points[k].ts < first && !s->points[k].rejected)
				first = s->points[k].ts;
		end = s->end;
		for (size_t j = 0; j < set->size; j++) {
			const struct pa_fc_series *o = set->slot[j];

			/*
			 * Only a grid that lines up with this one extends it, and
			 * only as far as this series can still be forecast: one
			 * wrong timestamp far ahead in another series must not
			 * stretch every series past the bucket limit.
			 */
			if (o != NULL && o->count > 0 && o->end != PA_USEC_MIN && o->step == s->step && o->end > end &&
			    (o->end - s->anchor) % s->step == 0 &&
			    (o->end - first) / s->step < PA_FC_MAX_BUCKETS)
				end = o->end;
		}
		if (end > s->end)
			extended++;

		/*
		 * The input ended inside a bucket that only other series have a
		 * record for.  The time it did not cover may have held requests
		 * of this series too, so the fill there is unknown, not 0.  A
		 * bucket that the parts of all series cover is no such end.
		 */
		s->has_partial_end = 0;
		for (size_t k = 0; k < set->nstarts; k++) {
			pa_usec_t at = set->starts[k].ts;

			if (set->starts[k].step == s->step && at > s->end && at <= end &&
			    !(set->joined && set->starts[k].whole) &&
			    (at - s->anchor) % s->step == 0 &&
			    (!s->has_partial_end || at < s->partial_end)) {
				s->has_partial_end = 1;
				s->partial_end = at;
				s->partial_end_at = set->starts[k].end;
			}
		}
		s->end = end;
	}
	return extended;
}

void
pa_fc_grid_free(struct pa_fc_grid *g)
{
	free(g->volume);
	free(g->complexity);
	free(g->complexity_sum);
	memset(g, 0, sizeof *g);
}

/* Return 1 when a point before index k has start ts and was not rejected. */
static int
valid_before(const struct pa_fc_series *s, size_t k, pa_usec_t ts)
{
	while (k > 0 && s->points[k - 1].ts == ts)
		if (!s->points[--k].rejected)
			return 1;
	return 0;
}

/* Return 1 when a point from index k on has start ts and was not rejected. */
static int
valid_from(const struct pa_fc_series *s, size_t k, size_t count, pa_usec_t ts)
{
	for (; k < count && s->points[k].ts == ts; k++)
		if (!s->points[k].rejected)
			return 1;
	return 0;
}

/*
 * Return the name of the input that point p of s was read from, with its
 * line in *line (0: unknown), or NULL for a point that no input record
 * gave, such as a bucket kept in the state.
 */
static const char *
point_input(const struct pa_fc_series *s, const struct pa_fc_point *p, size_t *line)
{
	*line = p->line;
	if (p->kept || p->input == 0 || s->set == NULL || p->input > s->set->inputs.n)
		return NULL;
	return s->set->inputs.v[p->input - 1];
}

int
pa_fc_series_regular(struct pa_fc_series *s, int gaps_unknown, pa_usec_t limit, size_t max_fill,
		     struct pa_fc_grid *g)
{
	pa_usec_t span, last;
	size_t len, filled = 0, holed_missing = 0, count, from = 0;
	double *v, *c, *csum;
	unsigned char *fresh;
	struct span *parts;

	memset(g, 0, sizeof *g);
	qsort(s->points, s->count, sizeof *s->points, by_ts);
	/*
	 * Rejected points before the first valid bucket or after the last
	 * count for nothing, unless a valid part shares their bucket: a
	 * rejected shard of it leaves that bucket unknown.
	 */
	for (count = s->count; count > 0 && (s->points[count - 1].ts > limit ||
					     (s->points[count - 1].rejected &&
					      !valid_before(s, count - 1, s->points[count - 1].ts)));
	     count--)
		;
	while (from < count && s->points[from].rejected &&
	       !valid_from(s, from + 1, count, s->points[from].ts))
		from++;
	if (count == from)
		return 0;

	/*
	 * A gap of years between two buckets is more likely a wrong timestamp
	 * than a quiet series, and filling it would cost time and memory for
	 * history no model uses.  So the series keeps the longest run of
	 * records without such a gap, the latest of equal ones, and a stray
	 * bucket on either side is left out.
	 */
	{
		size_t best_from = from, best_count = count, start = from;

		for (size_t j = from + 1; j <= count; j++) {
			if (j < count && (size_t)((s->points[j].ts - s->points[j - 1].ts) / s->step) <=
					 max_fill + 1)
				continue;
			if (j - start >= best_count - best_from || start == from) {
				best_from = start;
				best_count = j;
			}
			start = j;
		}
		if (best_from > from) {
			g->cut_before = best_from - from;
			g->cut_first = s->points[from].ts;
			g->cut_gap_from = s->points[best_from - 1].ts;
			g->cut_first_input = point_input(s, &s->points[from], &g->cut_first_line);
			g->cut_first_kept = s->points[from].kept;
		}
		if (best_count < count) {
			g->cut_after = count - best_count;
			g->cut_last = s->points[count - 1].ts;
			g->cut_gap_to = s->points[best_count].ts;
			g->cut_gap_to_input = point_input(s, &s->points[best_count],
							  &g->cut_gap_to_line);
			g->cut_gap_to_kept = s->points[best_count].kept;
		}
		from = best_from;
		count = best_count;
	}
	g->first = s->points[from].ts;
	last = s->points[count - 1].ts;
	if (s->end > last && (size_t)((s->end - last) / s->step) > max_fill) {
		g->cut_trailing = (size_t)((s->end - last) / s->step);
	} else if (s->end > last) {
		g->trailing = (size_t)((s->end - last) / s->step);
		last = s->end;
	}
	span = last - g->first;
	if (span / s->step >= PA_FC_MAX_BUCKETS)
		return -1;
	len = (size_t)(span / s->step) + 1;

	v = malloc(len * sizeof *v);
	c = malloc(len * sizeof *c);
	csum = malloc(len * sizeof *csum);
	fresh = calloc(len, 1);
	parts = calloc(len, sizeof *parts);
	if (v == NULL || c == NULL || csum == NULL || fresh == NULL || parts == NULL) {
		free(v);
		free(c);
		free(csum);
		free(fresh);
		free(parts);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		v[i] = csum[i] = -1;	/* -1: no record for this bucket yet */

	/*
	 * Parts of one bucket are added, as rollup shards need.  A part equal
	 * to another in every count is more likely the same record read twice,
	 * so such parts are counted for a message.  by_ts() puts them next to
	 * each other.  Unknown parts add nothing, so they double nothing.
	 */
	for (size_t j = from + 1; j < count; j++) {
		const struct pa_fc_point *p = &s->points[j], *q = &s->points[j - 1];

		if (p->ts == q->ts && !p->kept && !q->kept && !isnan(p->requests) &&
		    same_value(p->requests, q->requests) &&
		    same_value(p->complexity_sum, q->complexity_sum) && g->repeats++ == 0)
			g->repeat_first = p->ts;
	}

	/*
	 * A bucket read from the input replaces the kept one for the same
	 * start, and a part that the state kept pending joins the parts read.
	 * But a whole bucket read replaces a pending part too, and parts read
	 * again do not replace a bucket the state already has whole.
	 */
	for (size_t j = from; j < count; j++) {
		const struct pa_fc_point *p = &s->points[j];
		size_t i = (size_t)((p->ts - g->first) / s->step);

		if (!p->kept || p->pending)
			fresh[i] |= FRESH_PART;
		if (!p->kept && p->cover_to == 0 && !isnan(p->requests))
			fresh[i] |= FRESH_WHOLE;
		if (!p->kept && p->cover_to > 0 && !isnan(p->requests))
			fresh[i] |= FRESH_SPLIT;
		if (p->kept && !p->pending && !isnan(p->requests))
			fresh[i] |= KEPT_KNOWN;
		if (!p->kept && isnan(p->requests))
			fresh[i] |= FRESH_UNKNOWN;
	}

	/*
	 * A part read that covers time the pending part covers means that this
	 * input reads that time again, as a rerun of the last input does.  The
	 * new records win, as they do over a kept bucket, so the pending part
	 * is left out instead of counting those requests twice.
	 */
	for (size_t j = from; j < count; j++) {
		const struct pa_fc_point *p = &s->points[j];
		size_t i = (size_t)((p->ts - g->first) / s->step);

		if (!p->pending)
			continue;
		for (size_t k = from; k < count && s->points[k].ts <= p->ts; k++) {
			const struct pa_fc_point *q = &s->points[k];

			if (q->ts == p->ts && !q->kept && q->cover_to > 0 && !isnan(q->requests) &&
			    q->cover_from < p->cover_to && q->cover_to > p->cover_from) {
				fresh[i] |= PENDING_REREAD;
				if (g->reread++ == 0) {
					g->reread_ts = p->ts;
					g->reread_from = p->cover_from;
					g->reread_to = p->cover_to;
				}
				break;
			}
		}
	}

	/*
	 * A whole bucket and a part of it in one input are added, as pa-score
	 * --merge adds them, because rollups of several machines' logs may
	 * cover one bucket so.  The same requests read from two rollups of one
	 * log, a cut one and a whole one, are counted twice, so it is reported.
	 */
	for (size_t i = 0; i < len; i++)
		if ((fresh[i] & FRESH_WHOLE) && (fresh[i] & FRESH_SPLIT) && g->split++ == 0)
			g->split_ts = g->first + (pa_usec_t)i * s->step;
	for (size_t j = from; j < count; j++) {
		const struct pa_fc_point *p = &s->points[j];
		size_t i = (size_t)((p->ts - g->first) / s->step);
		int partial = p->pending || (!p->kept && p->cover_to > 0);
		int kept_holds = (fresh[i] & KEPT_KNOWN) && !(fresh[i] & FRESH_WHOLE);

		if (p->kept && !p->pending && (fresh[i] & FRESH_PART) && !kept_holds)
			continue;
		if (partial && (kept_holds || (p->pending && (fresh[i] & (FRESH_WHOLE | PENDING_REREAD)))))
			continue;
		if (v[i] == -1) {
			v[i] = p->requests;
			csum[i] = p->complexity_sum;
			filled++;
		} else {
			v[i] = add_known(v[i], p->requests);
			csum[i] = add_known(csum[i], p->complexity_sum);
		}
		if (p->cover_to > 0 || !isnan(p->requests))
			join_span(&parts[i], p, s->step);
	}
	/*
	 * A rejected or unknown part read, such as one shard of a bucket with
	 * a bad count, leaves the bucket unknown: the other parts alone would
	 * read as the whole.  A bucket the state has whole stays.
	 */
	for (size_t i = 0; i < len; i++) {
		if ((fresh[i] & FRESH_UNKNOWN) && v[i] != -1 &&
		    !((fresh[i] & KEPT_KNOWN) && !(fresh[i] & FRESH_WHOLE)))
			v[i] = csum[i] = NAN;
	}
	free(fresh);
	settle_parts(s, g, parts, len, v, csum);
	free(parts);
	for (size_t i = 0, in_gap = 0; i < len; i++) {
		const struct partial_start *at = NULL;

		if (v[i] == -1 && i + g->trailing < len)
			at = joined_at(s, g->first + (pa_usec_t)i * s->step);

		if (at != NULL && at->holed) {
			/*
			 * Other series' parts leave a stretch no input covered, so
			 * requests of this series may be missing there too.
			 */
			v[i] = csum[i] = NAN;
			in_gap = 0;
			holed_missing++;
			if (g->holed++ == 0) {
				g->holed_ts = at->ts;
				g->holed_from = at->from;
				g->holed_to = at->to;
			}
		} else if (v[i] != -1) {
			in_gap = 0;
		} else {
			/* Runs of missing buckets, so the message can name where they are. */
			if (i + g->trailing < len) {
				if (!in_gap && g->gaps++ == 0)
					g->gap_from = i;
				if (g->gaps == 1)
					g->gap_to = i;
				in_gap = 1;
			}
			v[i] = gaps_unknown ? NAN : 0;
			if (i + g->trailing >= len && s->has_partial_end &&
			    g->first + (pa_usec_t)i * s->step >= s->partial_end) {
				v[i] = NAN;
				g->trailing_unknown++;

				/* The part the input covered held no request of this series. */
				if (i == len - 1 && !gaps_unknown && s->partial_end_at > s->partial_end) {
					g->pending = 1;
					g->pending_ts = s->partial_end;
					g->pending_requests = g->pending_complexity_sum = 0;
					g->pending_from = 0;
					g->pending_to = s->partial_end_at - s->partial_end;
				}
			}
			csum[i] = NAN;
		}
		c[i] = (!isnan(v[i]) && v[i] > 0 && !isnan(csum[i])) ? csum[i] / v[i] : NAN;
	}
	g->volume = v;
	g->complexity = c;
	g->complexity_sum = csum;
	g->n = len;
	g->missing = len - filled - holed_missing;
	return 0;
}

int
pa_fc_series_keep(struct pa_fc_series *s, const struct pa_fc_grid *g, size_t from,
		  pa_usec_t limit)
{
	size_t later = 0, k = 0;
	struct pa_fc_point *p;

	for (size_t j = 0; j < s->count; j++)
		later += s->points[j].ts > limit;
	p = malloc((g->n - from + later + 1) * sizeof *p);
	if (p == NULL)
		return -1;
	for (size_t i = from; i < g->n; i++)
		p[k++] = (struct pa_fc_point){ .ts = g->first + (pa_usec_t)i * s->step,
					       .requests = g->volume[i],
					       .complexity_sum = g->complexity_sum[i], .kept = 1 };
	if (g->pending)
		p[k++] = (struct pa_fc_point){ .ts = g->pending_ts, .requests = g->pending_requests,
					       .complexity_sum = g->pending_complexity_sum,
					       .kept = 1, .pending = 1, .cover_from = g->pending_from,
					       .cover_to = g->pending_to };
	for (size_t j = 0; j < s->count; j++)
		if (s->points[j].ts > limit)
			p[k++] = s->points[j];
	free(s->points);
	s->points = p;
	s->count = k;
	s->alloc = g->n - from + later + 1;
	if (g->n > from) {
		s->has_kept = 1;
		s->kept_first = g->first + (pa_usec_t)from * s->step;
	}
	return 0;
}
