/*
 * planrun.c - collect forecasts and usage per series, then plan each once.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "ndjson.h"
#include "plan.h"
#include "planrun.h"

struct forecast {
	pa_usec_t ts;
	size_t order;		/* input position, so a repeated bucket keeps the last */
	struct pa_forecast_point point;
};

/* One instance's usage sample, kept only when learning capacity. */
struct reading {
	pa_usec_t ts;
	size_t instance;		/* index in history.instance_num */
	double cpu;
	int valid;			/* 0: cpu_usage missing or invalid */
};

/* Usage samples and bucket work, kept only when learning capacity. */
struct history {
	json_t *reading_at;		/* "timestamp instance_id" -> index into readings */
	json_t *instance_num;		/* instance_id -> a number for sorting */
	struct reading *readings;
	size_t nreadings, reading_cap;
	pa_usec_t *bucket_ts;
	double *bucket_step_s, *bucket_work;	/* work units per second */
	size_t nbuckets, bucket_cap;
};

/* The latest usage sample of one instance. */
struct instance {
	char *id;
	pa_usec_t last_ts;
	pa_usec_t prev_ts;		/* the sample before last_ts, or -1 */
	double cpu;			/* cpu_usage at last_ts; NAN when missing or invalid */
};

struct series {
	char *name;
	char *tenant, *service;
	int has_forecast;
	pa_usec_t issued_at;		/* latest issue seen; older issues are dropped */
	struct forecast *forecasts;
	size_t nforecasts, cap;
	int have_usage;
	pa_usec_t usage_ts;		/* latest usage timestamp of any instance */
	json_t *instance_at;		/* instance_id -> index into instances */
	struct instance *instances;
	size_t ninstances, instance_cap;
	char *lost;			/* why the issue at lost_issue cannot be planned, or NULL */
	pa_usec_t lost_issue;		/* a newer issue clears lost */
	int lost_next;			/* lost came before any issue: it holds for the first */
	struct history *history;	/* for learning the capacity, or NULL */
	int planned;			/* follow: the issue at issued_at was planned */
	pa_usec_t span;			/* follow: lead time plus stabilization, or < 0 */
	pa_usec_t lead;			/* follow: lead time */
};

struct pa_plan_run {
	const struct pa_planconf *conf;
	int now_set;
	pa_usec_t now;
	pa_usec_t usage_window, usage_max_age;
	pa_usec_t max_future;		/* latest usage time after the clock; < 0: any */
	pa_usec_t future_limit;		/* the clock when last read plus max_future */
	int keep_input;
	int learn;
	int follow;			/* plan each issue once it covers what the plan reads */
	int follow_rc;			/* worst status of the plans made so far */
	int unknown_kind_warned;	/* a record of a kind no pa tool writes was reported */
	json_t *index;			/* name -> position in list */
	struct series **list;
	size_t n, cap;
	size_t order;
};

struct pa_plan_run *
pa_plan_run_new(const struct pa_planconf *conf, int now_set, pa_usec_t now, int keep_input)
{
	struct pa_plan_run *r = calloc(1, sizeof *r);

	if (r == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	r->conf = conf;
	r->now_set = now_set;
	r->now = now;
	r->keep_input = keep_input;
	r->usage_window = PA_PLAN_USAGE_WINDOW_DEFAULT;
	r->usage_max_age = PA_PLAN_USAGE_MAX_AGE_DEFAULT;
	r->max_future = PA_MAX_FUTURE_DEFAULT;
	r->future_limit = PA_USEC_MIN;
	r->index = json_object();
	return r;
}

void
pa_plan_run_usage_limits(struct pa_plan_run *r, pa_usec_t window, pa_usec_t max_age)
{
	assert(window > 0);
	assert(max_age > 0);
	r->usage_window = window;
	r->usage_max_age = max_age;
}

static struct series *
series_get(struct pa_plan_run *r, const char *name)
{
	json_t *pos = json_object_get(r->index, name);
	struct series *s;
	const char *slash;

	if (pos != NULL)
		return r->list[json_integer_value(pos)];
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->list = pa_xrealloc(r->list, r->cap * sizeof *r->list);
	}
	s = calloc(1, sizeof *s);
	if (s == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	s->name = pa_xstrdup(name);
	slash = strchr(name, '/');
	s->tenant = slash ? strndup(name, (size_t)(slash - name)) : pa_xstrdup(name);
	s->service = pa_xstrdup(slash ? slash + 1 : "");
	if (s->tenant == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	s->instance_at = json_object();
	json_object_set_new(r->index, name, json_integer((json_int_t)r->n));
	r->list[r->n++] = s;
	return s;
}

/*
 * Mark the current issue of s as one that cannot be planned.  A bad record
 * spoils only its issue: a newer issue, which the plan reads instead,
 * starts clean (start_issue()).
 */
static void
series_lose(struct series *s, const char *why)
{
	if (s->lost != NULL)
		return;
	s->lost = pa_xstrdup(why);
	s->lost_issue = s->issued_at;
	s->lost_next = !s->has_forecast;
}

void
pa_plan_run_max_future(struct pa_plan_run *r, pa_usec_t max_future)
{
	r->max_future = max_future;
}

void
pa_plan_run_follow(struct pa_plan_run *r)
{
	r->follow = 1;
}

void
pa_plan_run_learn_capacity(struct pa_plan_run *r)
{
	r->learn = 1;
}

static struct history *
history_of(struct series *s)
{
	if (s->history == NULL) {
		s->history = calloc(1, sizeof *s->history);
		if (s->history == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
		s->history->reading_at = json_object();
		s->history->instance_num = json_object();
	}
	return s->history;
}

/*
 * Keep an instance's reading for learning.  A repeated reading of the same
 * instance at the same timestamp replaces the earlier one, as in
 * instance_sample(), so a record read twice is not counted twice.
 */
static void
history_usage(struct series *s, const char *id, pa_usec_t ts, double cpu, int valid)
{
	struct history *h = history_of(s);
	json_t *num = json_object_get(h->instance_num, id), *pos;
	struct reading *rd;
	char *key;
	size_t size;

	if (num == NULL) {
		num = json_integer((json_int_t)json_object_size(h->instance_num));
		json_object_set_new(h->instance_num, id, num);
	}
	size = 24 + strlen(id);
	key = pa_xmalloc(size);
	snprintf(key, size, "%lld %s", (long long)ts, id);
	pos = json_object_get(h->reading_at, key);
	if (pos != NULL) {
		rd = &h->readings[json_integer_value(pos)];
	} else {
		if (h->nreadings == h->reading_cap) {
			h->reading_cap = h->reading_cap ? 2 * h->reading_cap : 64;
			h->readings = pa_xrealloc(h->readings, h->reading_cap * sizeof *h->readings);
		}
		json_object_set_new(h->reading_at, key, json_integer((json_int_t)h->nreadings));
		rd = &h->readings[h->nreadings++];
	}
	free(key);
	rd->ts = ts;
	rd->instance = (size_t)json_integer_value(num);
	rd->cpu = cpu;
	rd->valid = valid;
}

static void
take_bucket(struct pa_plan_run *r, const json_t *rec)
{
	const char *name = pa_rec_str(rec, "tenant_service_name");
	struct history *h;
	double step, requests, sum, mean;
	pa_usec_t ts;

	/* Buckets only feed learning; an unusable one is left to later tools. */
	if (name == NULL || pa_rec_time(rec, "ts", &ts) != 1 ||
	    pa_rec_num(rec, "step_s", &step) != 1 || !(step > 0 && step <= 366 * 86400.0))
		return;
	if (pa_rec_num(rec, "complexity_sum", &sum) != 1) {
		if (pa_rec_num(rec, "requests", &requests) != 1)
			return;
		sum = pa_rec_num(rec, "complexity_mean", &mean) == 1 ? requests * mean : requests;
	}
	if (!(sum >= 0))
		return;
	h = history_of(series_get(r, name));
	if (h->nbuckets == h->bucket_cap) {
		h->bucket_cap = h->bucket_cap ? 2 * h->bucket_cap : 64;
		h->bucket_ts = pa_xrealloc(h->bucket_ts, h->bucket_cap * sizeof *h->bucket_ts);
		h->bucket_step_s = pa_xrealloc(h->bucket_step_s, h->bucket_cap * sizeof *h->bucket_step_s);
		h->bucket_work = pa_xrealloc(h->bucket_work, h->bucket_cap * sizeof *h->bucket_work);
	}
	h->bucket_ts[h->nbuckets] = ts;
	h->bucket_step_s[h->nbuckets] = step;
	h->bucket_work[h->nbuckets] = sum / step;
	h->nbuckets++;
}

/* A reading placed in its bucket, for learn_capacity(). */
struct placed {
	size_t bucket, instance;
	double cpu;
	int valid;
};

static int
cmp_placed(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return (x->instance > y->instance) - (x->instance < y->instance);
}

/*
 * Pair each bucket's work with the load of the instances that reported in
 * it, and fit the capacity.  The load is the sum over instances of each
 * one's mean cpu_usage inside the bucket, since exporters do not sample
 * every instance in the same second.  Summed per timestamp, instances
 * sampled apart would each stand alone beside the whole bucket's work.  A
 * bucket has an unknown load, and is left out, when some instance has only
 * invalid readings in it, or none while it reported before and after it
 * (a missed scrape).  *samples is the number of buckets used and *missed
 * the number left out.  Returns 0, or -1 with the reason.
 */
static int
learn_capacity(const struct series *s, double *capacity, double *r2, size_t *samples,
	       size_t *missed, char *err, size_t errsize)
{
	const struct history *h = s->history;
	struct placed *placed;
	double *work, *load;
	pa_usec_t *first, *last;
	size_t nplaced = 0, n = 0, ninstances;
	int rc;

	if (h == NULL || h->nreadings == 0 || h->nbuckets == 0) {
		snprintf(err, errsize, "no capacity set, and no usage history with bucket records to learn it from");
		return -1;
	}
	ninstances = json_object_size(h->instance_num);
	placed = malloc(h->nreadings * sizeof *placed);
	work = malloc(h->nbuckets * sizeof *work);
	load = malloc(h->nbuckets * sizeof *load);
	first = malloc(ninstances * sizeof *first);
	last = malloc(ninstances * sizeof *last);
	if (placed == NULL || work == NULL || load == NULL || first == NULL || last == NULL)
		pa_die(PA_EXIT_IO, "out of memory");

	/* Each instance's span of readings: inside it, a bucket without one is a missed scrape. */
	for (size_t i = 0; i < ninstances; i++) {
		first[i] = INT64_MAX;
		last[i] = INT64_MIN;
	}
	for (size_t u = 0; u < h->nreadings; u++) {
		const struct reading *rd = &h->readings[u];

		if (rd->ts < first[rd->instance])
			first[rd->instance] = rd->ts;
		if (rd->ts > last[rd->instance])
			last[rd->instance] = rd->ts;
	}

	/* Linear search: learning runs once per series, over its own records. */
	for (size_t u = 0; u < h->nreadings; u++) {
		const struct reading *rd = &h->readings[u];

		for (size_t b = 0; b < h->nbuckets; b++) {
			pa_usec_t end = h->bucket_ts[b] + (pa_usec_t)llround(h->bucket_step_s[b] * PA_USEC_PER_SEC);

			if (rd->ts >= h->bucket_ts[b] && rd->ts < end) {
				placed[nplaced++] = (struct placed){ b, rd->instance, rd->cpu, rd->valid };
				break;
			}
		}
	}
	qsort(placed, nplaced, sizeof *placed, cmp_placed);

	*missed = 0;
	for (size_t i = 0; i < nplaced;) {
		size_t b = placed[i].bucket, present = 0, expected = 0;
		pa_usec_t start = h->bucket_ts[b];
		pa_usec_t end = start + (pa_usec_t)llround(h->bucket_step_s[b] * PA_USEC_PER_SEC);
		double sum = 0;
		int unknown = 0;

		for (size_t k = 0; k < ninstances; k++)
			if (first[k] < end && last[k] >= start)
				expected++;
		while (i < nplaced && placed[i].bucket == b) {
			size_t inst = placed[i].instance, valid = 0;
			double cpu = 0;

			for (; i < nplaced && placed[i].bucket == b && placed[i].instance == inst; i++) {
				if (placed[i].valid) {
					cpu += placed[i].cpu;
					valid++;
				}
			}
			present++;
			if (valid == 0)
				unknown = 1;
			else
				sum += cpu / (double)valid;
		}
		if (unknown || present < expected) {
			(*missed)++;
		} else {
			work[n] = h->bucket_work[b];
			load[n] = sum;
			n++;
		}
	}
	rc = pa_plan_learn_capacity(work, load, n, capacity, r2, err, errsize);
	*samples = n;
	free(placed);
	free(work);
	free(load);
	free(first);
	free(last);
	return rc;
}

static void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	json_decref(h->reading_at);
	json_decref(h->instance_num);
	free(h->readings);
	free(h->bucket_ts);
	free(h->bucket_step_s);
	free(h->bucket_work);
	free(h);
}

/* An optional bound: NAN when absent or null, -1 returned when not a number. */
static int
optional_num(const json_t *rec, const char *key, double *out)
{
	int got = pa_rec_num(rec, key, out);

	if (got == 0)
		*out = NAN;
	return got < 0 ? -1 : 0;
}

static void
reject(const char *where, const struct pa_line *line, const char *cls, const char *msg)
{
	pa_reject(where, line->lineno, line->text, line->len, cls, "%s", msg);
}

static int plan_series(struct pa_plan_run *r, struct series *s);
static void plan_followed(struct pa_plan_run *r, struct series *s);

/*
 * Read the record's "intervals" list, when present, into p's extra
 * levels: each item needs "interval_level" and may carry the four
 * bounds.  Returns -1 with a message naming the item when one is not an
 * object, or a field of it not a number.
 */
static int
take_intervals(const json_t *rec, struct pa_forecast_point *p, char *err, size_t errsize)
{
	static const char *fields[] = { "interval_level", "volume_lower", "volume_upper",
					"complexity_lower", "complexity_upper" };
	const json_t *list = json_object_get(rec, "intervals");
	size_t i;
	const json_t *item;

	p->nextra = 0;
	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list)) {
		snprintf(err, errsize, "field \"intervals\" is not a list");
		return -1;
	}
	json_array_foreach(list, i, item) {
		struct pa_forecast_bounds spare;
		struct pa_forecast_bounds *b = p->nextra < PA_PLAN_LEVELS_MAX ? &p->extra[p->nextra]
									     : &spare;
		double *slots[] = { &b->level, &b->volume_lower, &b->volume_upper,
				    &b->complexity_lower, &b->complexity_upper };

		if (!json_is_object(item)) {
			snprintf(err, errsize, "intervals[%zu] is not an object", i);
			return -1;
		}
		for (size_t f = 0; f < 5; f++) {
			if (optional_num(item, fields[f], slots[f]) == 0)
				continue;
			snprintf(err, errsize, "intervals[%zu].%s is not a number", i, fields[f]);
			return -1;
		}
		if (isnan(b->level)) {
			snprintf(err, errsize, "intervals[%zu] has no \"interval_level\"", i);
			return -1;
		}

		/* Levels past the maximum are checked but not kept. */
		if (b != &spare)
			p->nextra++;
	}
	return 0;
}

/*
 * Return the time from an issue to the end of what a plan of s reads: the
 * lead time plus the stabilization window.  -1 for a series without
 * settings, which is planned at once, so its error comes as soon as its
 * first forecast does.
 */
static pa_usec_t
plan_span(const struct pa_plan_run *r, struct series *s)
{
	struct pa_plan_settings set;
	char err[300];

	if (pa_planconf_settings(r->conf, s->name, &set, err, sizeof err) != 0 && !r->learn)
		return -1;
	s->lead = (pa_usec_t)llround(set.lead_time_s * PA_USEC_PER_SEC);
	return (pa_usec_t)llround((set.lead_time_s + set.stabilization_s) * PA_USEC_PER_SEC);
}

/*
 * Return 1 when a forecast for the bucket at ts reaches the end of the
 * plan's span: it contains the target, now + lead time, whose bucket must
 * have arrived, and it ends at or after the stabilization window's end.
 */
static int
covers_window(const struct series *s, pa_usec_t ts, double step_s)
{
	pa_usec_t end = ts + (pa_usec_t)llround(step_s * PA_USEC_PER_SEC);

	return s->span < 0 || (end > s->issued_at + s->lead && end >= s->issued_at + s->span);
}

/* Plan the current issue of s once, keeping the worst status for the end. */
static void
plan_followed(struct pa_plan_run *r, struct series *s)
{
	int rc = plan_series(r, s);

	s->planned = 1;
	if (rc > r->follow_rc)
		r->follow_rc = rc;
}

/* Make issued the issue of s that forecasts go to, planning the one before when following. */
static void
start_issue(struct pa_plan_run *r, struct series *s, pa_usec_t issued)
{
	/* Following, an issue that never covered the window is planned as it is. */
	if (r->follow && s->has_forecast && !s->planned)
		plan_followed(r, s);
	if (s->lost != NULL && s->lost_next) {
		s->lost_issue = issued;
		s->lost_next = 0;
	} else if (s->lost != NULL && s->lost_issue < issued) {
		free(s->lost);
		s->lost = NULL;
	}
	s->nforecasts = 0;
	s->issued_at = issued;
	s->has_forecast = 1;
	s->planned = 0;
	if (r->follow)
		s->span = plan_span(r, s);
}

/*
 * Mark the issue of the bad forecast rec as one that cannot be planned.
 * A record of an older issue spoils nothing, because no plan reads it; one
 * of a newer issue starts that issue.
 */
static void
forecast_lost(struct pa_plan_run *r, struct series *s, const json_t *rec, const char *why)
{
	pa_usec_t issued;

	if (!r->now_set && pa_rec_time(rec, "issued_at", &issued) == 1) {
		if (s->has_forecast && issued < s->issued_at)
			return;
		if (!s->has_forecast || issued > s->issued_at)
			start_issue(r, s, issued);
	}
	series_lose(s, why);
}

static void
take_forecast(struct pa_plan_run *r, const json_t *rec, const char *name, const char *where,
	      const struct pa_line *line)
{
	struct pa_forecast_point p;
	struct pa_work_dist dist;
	struct series *s;
	pa_usec_t ts, issued = 0;
	char msg[400], why[300];
	static const char *required[] = { "step_s", "predicted_volume", "predicted_complexity" };
	double *slots[] = { &p.step_s, &p.volume, &p.complexity };

	s = series_get(r, name);
	for (size_t i = 0; i < 3; i++) {
		int got = i == 0 ? pa_rec_step_s(rec, slots[i]) : pa_rec_num(rec, required[i], slots[i]);

		if (got != 1) {
			char problem[200];

			pa_field_problem(rec, required[i], i == 0 ? PA_STEP_S_RULE : "a number", problem,
					 sizeof problem);
			snprintf(msg, sizeof msg, "%s: %s", name, problem);
			reject(where, line, "invalid forecast", msg);
			snprintf(why, sizeof why, "forecast at %s:%ld has no valid %s", where,
				 line->lineno, required[i]);
			forecast_lost(r, s, rec, why);
			return;
		}
	}
	{
		static const char *bounds[] = { "volume_lower", "volume_upper", "complexity_lower",
						"complexity_upper", "interval_level" };
		double *bound_slots[] = { &p.volume_lower, &p.volume_upper, &p.complexity_lower,
					  &p.complexity_upper, &p.level };

		for (size_t i = 0; i < 5; i++) {
			const char *problem = "is not a number";

			/*
			 * A null upper bound marks the interval unknown, and sizing
			 * at the point forecast would call the overload risk nil.
			 */
			if (i == 1 && json_is_null(json_object_get(rec, bounds[i])))
				problem = "is null: sizing at the risk needs the interval";
			else if (optional_num(rec, bounds[i], bound_slots[i]) == 0)
				continue;
			snprintf(msg, sizeof msg, "%s: field \"%s\" %s", name, bounds[i], problem);
			reject(where, line, "invalid forecast", msg);
			snprintf(why, sizeof why, "forecast at %s:%ld has an invalid %s", where,
				 line->lineno, bounds[i]);
			forecast_lost(r, s, rec, why);
			return;
		}
	}

	/*
	 * An upper bound is read as the quantile of its level, so a level
	 * assumed in its place could overstate the headroom.
	 */
	if (isnan(p.level) && (!isnan(p.volume_upper) || !isnan(p.complexity_upper))) {
		const char *bound = isnan(p.volume_upper) ? "complexity_upper" : "volume_upper";

		snprintf(msg, sizeof msg, "%s: field \"interval_level\" is %s, but \"%s\" needs the "
			 "level it covers, such as 0.95", name,
			 json_object_get(rec, "interval_level") == NULL ? "missing" : "null", bound);
		reject(where, line, "invalid forecast", msg);
		snprintf(why, sizeof why, "forecast at %s:%ld has %s without interval_level", where,
			 line->lineno, bound);
		forecast_lost(r, s, rec, why);
		return;
	}
	if (take_intervals(rec, &p, why, sizeof why) != 0 ||
	    pa_work_dist_from_forecast(&p, &dist, why, sizeof why) != 0) {
		snprintf(msg, sizeof msg, "%s: %s", name, why);
		reject(where, line, "invalid forecast", msg);
		snprintf(msg, sizeof msg, "forecast at %s:%ld: %s", where, line->lineno, why);
		forecast_lost(r, s, rec, msg);
		return;
	}

	/* issued_at orders the issues, so with --now it may be absent but not invalid. */
	{
		const char *bad_field = NULL;
		char problem[200];
		int got_issued = pa_rec_time(rec, "issued_at", &issued);

		if (pa_rec_time(rec, "ts", &ts) != 1)
			bad_field = "ts";
		else if (got_issued < 0 || (got_issued == 0 && !r->now_set))
			bad_field = "issued_at";
		if (bad_field != NULL) {
			pa_field_problem(rec, bad_field, "a timestamp", problem, sizeof problem);
			snprintf(msg, sizeof msg, "%s: %s%s", name, problem,
				 strcmp(bad_field, "issued_at") == 0 && got_issued == 0
					 ? " (--now plans without issued_at)" : "");
			reject(where, line, "invalid forecast", msg);
			snprintf(why, sizeof why, "forecast at %s:%ld has no valid %s", where,
				 line->lineno, bad_field);
			forecast_lost(r, s, rec, why);
			return;
		}
	}

	/* Only the latest issue of a series is planned from. */
	if (s->has_forecast && issued < s->issued_at)
		return;
	if (!s->has_forecast || issued > s->issued_at)
		start_issue(r, s, issued);

	/* Buckets of two widths in one issue overlap, and the plan would read the wrong one. */
	if (s->nforecasts > 0 && p.step_s != s->forecasts[0].point.step_s) {
		snprintf(msg, sizeof msg, "%s: field \"step_s\" is %g but earlier forecasts of the "
			 "same issue have %g", name, p.step_s, s->forecasts[0].point.step_s);
		reject(where, line, "invalid forecast", msg);
		snprintf(why, sizeof why, "forecast at %s:%ld has step_s %g, unlike the rest of its "
			 "issue (%g)", where, line->lineno, p.step_s, s->forecasts[0].point.step_s);
		series_lose(s, why);
		return;
	}
	if (s->nforecasts == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->forecasts = pa_xrealloc(s->forecasts, s->cap * sizeof *s->forecasts);
	}
	s->forecasts[s->nforecasts].ts = ts;
	s->forecasts[s->nforecasts].order = r->order++;
	s->forecasts[s->nforecasts].point = p;
	s->nforecasts++;
	if (r->follow && !s->planned && covers_window(s, ts, p.step_s))
		plan_followed(r, s);
}

static struct instance *
instance_get(struct series *s, const char *id, int *created)
{
	json_t *pos = json_object_get(s->instance_at, id);
	struct instance *inst;

	*created = pos == NULL;
	if (pos != NULL)
		return &s->instances[json_integer_value(pos)];
	if (s->ninstances == s->instance_cap) {
		s->instance_cap = s->instance_cap ? 2 * s->instance_cap : 16;
		s->instances = pa_xrealloc(s->instances, s->instance_cap * sizeof *s->instances);
	}
	json_object_set_new(s->instance_at, id, json_integer((json_int_t)s->ninstances));
	inst = &s->instances[s->ninstances++];
	inst->id = pa_xstrdup(id);
	inst->last_ts = 0;
	inst->prev_ts = -1;
	inst->cpu = NAN;
	return inst;
}

/*
 * Keep the instance's latest sample, and the one before it for its sample
 * interval.  A sample older than the latest only refines that interval.
 * At one timestamp the reading read last wins.
 */
static void
instance_sample(struct series *s, const char *id, pa_usec_t ts, double cpu)
{
	int created;
	struct instance *inst = instance_get(s, id, &created);

	if (created) {
		inst->last_ts = ts;
		inst->cpu = cpu;
	} else if (ts > inst->last_ts) {
		inst->prev_ts = inst->last_ts;
		inst->last_ts = ts;
		inst->cpu = cpu;
	} else if (ts == inst->last_ts) {
		inst->cpu = cpu;
	} else if (ts > inst->prev_ts) {
		inst->prev_ts = ts;
	}
}

static void
take_usage(struct pa_plan_run *r, const json_t *rec, const char *name, const char *where,
	   const struct pa_line *line)
{
	const char *id = pa_rec_str(rec, "instance_id");
	struct series *s;
	pa_usec_t ts;
	double cpu;
	int valid;
	char msg[600], why[200];

	if (id == NULL || id[strspn(id, " \t")] == '\0' || pa_rec_time(rec, "ts", &ts) != 1) {
		char problem[200];

		if (id == NULL || id[strspn(id, " \t")] == '\0')
			pa_field_problem(rec, "instance_id", "a non-blank string", problem,
					 sizeof problem);
		else
			pa_field_problem(rec, "ts", "a timestamp", problem, sizeof problem);
		snprintf(msg, sizeof msg, "%s: %s", name, problem);
		reject(where, line, "invalid usage", msg);
		return;
	}
	if (pa_time_ahead_of_clock(ts, r->max_future, &r->future_limit)) {
		char when[40], clock[40];

		snprintf(msg, sizeof msg, "%s: usage \"ts\" %s is more than --max-future after the "
			 "clock (%s); is a timestamp wrong?", name, pa_time_format(ts, when, sizeof when),
			 pa_time_format_clock(r->future_limit, r->max_future, clock, sizeof clock));
		reject(where, line, "timestamp in the future", msg);
		return;
	}
	s = series_get(r, name);

	/*
	 * A CPU use beyond PA_USAGE_FRACTION_MAX times the limit is an exporter
	 * fault, not load: read as load, one such sample would ask for the
	 * maximum.  The record is rejected, as pa-route rejects it, but the
	 * instance still counts, with its reading missing, so it blocks a
	 * scale-in instead of vanishing from the current instances.
	 */
	valid = pa_rec_cpu_usage(rec, &cpu, why, sizeof why);
	if (valid < 0) {
		snprintf(msg, sizeof msg, "%s: instance %s: %s, so the instance still counts, with "
			 "no CPU reading", name, pa_quote(id, strlen(id)), why);
		reject(where, line, "invalid cpu_usage", msg);
	}
	if (r->learn)
		history_usage(s, id, ts, valid == 1 ? cpu : 0, valid == 1);
	instance_sample(s, id, ts, valid == 1 ? cpu : NAN);
	if (!s->have_usage || ts > s->usage_ts) {
		s->usage_ts = ts;
		s->have_usage = 1;
	}
}

int
pa_plan_run_record(struct pa_plan_run *r, const json_t *rec, const char *where,
		   const struct pa_line *line)
{
	const char *kind = pa_rec_kind_or_reject(rec, where, line);
	const char *name;
	char why[200];
	int forecast;

	if (kind == NULL)
		return 1;
	if (r->learn && strcmp(kind, "bucket") == 0) {
		take_bucket(r, rec);
		return 0;
	}
	forecast = strcmp(kind, "forecast") == 0;
	if (!forecast && strcmp(kind, "usage") != 0) {
		/* A kind no pa tool writes is most often a misspelt "forecast", which would go unplanned. */
		if (!pa_kind_known(kind) && !r->unknown_kind_warned) {
			pa_warn_unknown_kind(where, line->lineno, kind, "forecast or usage",
					     "it is passed through unchanged");
			r->unknown_kind_warned = 1;
		}
		return 0;
	}

	name = pa_rec_series(rec, why, sizeof why);
	if (name == NULL) {
		reject(where, line, forecast ? "invalid forecast" : "invalid usage", why);
		return 1;
	}
	if (r->keep_input)
		pa_out_json(rec);
	if (forecast)
		take_forecast(r, rec, name, where, line);
	else
		take_usage(r, rec, name, where, line);
	return 1;
}

static const char *
find(const char *hay, size_t len, const char *needle, size_t nlen)
{
	for (size_t i = 0; i + nlen <= len; i++)
		if (memcmp(hay + i, needle, nlen) == 0)
			return hay + i;
	return NULL;
}

void
pa_plan_run_lost_line(struct pa_plan_run *r, const char *text, size_t len)
{
	static const char key[] = "\"tenant_service_name\"";
	const char *end = text + len, *p, *q;
	char name[256], why[320];

	p = find(text, len, key, sizeof key - 1);
	if (p == NULL)
		return;
	p += sizeof key - 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || *p++ != ':')
		return;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || *p++ != '"')
		return;
	for (q = p; q < end && *q != '"' && *q != '\\'; q++)
		;
	if (q >= end || *q != '"' || q == p || (size_t)(q - p) >= sizeof name)
		return;
	memcpy(name, p, (size_t)(q - p));
	name[q - p] = '\0';

	/* Only a series that also has forecasts is at stake; usage-only stays quiet. */
	snprintf(why, sizeof why, "an input line naming it was not valid JSON");
	series_lose(series_get(r, name), why);
}

static int
by_time(const void *a, const void *b)
{
	const struct forecast *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Sort and drop repeated buckets, keeping the one read last. */
static void
sort_forecasts(struct series *s)
{
	size_t out = 0;

	qsort(s->forecasts, s->nforecasts, sizeof *s->forecasts, by_time);
	for (size_t i = 0; i < s->nforecasts; i++) {
		if (out > 0 && s->forecasts[out - 1].ts == s->forecasts[i].ts)
			out--;
		s->forecasts[out++] = s->forecasts[i];
	}
	s->nforecasts = out;
}

static void
write_plan(const struct series *s, pa_usec_t now, pa_usec_t target, long current,
	   const struct pa_plan_result *res)
{
	json_t *rec = json_object();

	json_object_set_new(rec, "kind", json_string("plan"));
	json_object_set_new(rec, "tenant_service_name", json_string(s->name));
	json_object_set_new(rec, "tenant", json_string(s->tenant));
	json_object_set_new(rec, "service", json_string(s->service));
	pa_rec_set_time(rec, "ts", now);
	pa_rec_set_time(rec, "target_ts", target);
	if (current >= 0)
		pa_rec_set_num(rec, "current_instances", (double)current);
	else
		json_object_set_new(rec, "current_instances", json_null());
	pa_rec_set_num(rec, "optimal_instances", (double)res->optimal);
	pa_rec_set_num(rec, "on_demand_instances", (double)res->on_demand);
	pa_rec_set_num(rec, "spot_instances", (double)res->spot);
	json_object_set_new(rec, "action", json_string(pa_plan_action_name(res->action)));
	if (current >= 0)
		pa_rec_set_num(rec, "delta", (double)res->delta);
	else
		json_object_set_new(rec, "delta", json_null());
	pa_rec_set_num(rec, "expected_utilization", res->expected_utilization);
	pa_rec_set_num(rec, "overload_probability", res->overload_probability);
	pa_rec_set_num(rec, "expected_unserved_work", res->expected_unserved);
	pa_rec_set_num(rec, "hourly_cost", res->hourly_cost);
	json_object_set_new(rec, "reason", json_string(res->reason));
	json_object_set_new(rec, "message", json_string(res->message));
	pa_out_json(rec);
	json_decref(rec);
}

/* Facts from the usage records about the instances running at the plan time. */
struct usage_view {
	int stale;			/* the latest sample is older than the maximum age */
	pa_usec_t age;			/* now minus the latest sample */
	long vanished;			/* seen in the window but silent since */
	const struct instance *first_vanished;
	long invalid;			/* whose latest cpu_usage is missing or invalid */
	const struct instance *first_invalid;
};

/*
 * Current instances: every instance_id with a sample inside the usage
 * window that ends at the series' latest sample, each with its own latest
 * cpu_usage, because exporters do not sample every instance at the same
 * second.  An instance in the window whose last sample is more than 1.5 of
 * its own sample interval (with one sample, the shortest interval of the
 * others) older than the series' latest sample has vanished.  Its
 * utilization is unknown, so it counts as a missing signal, which blocks a
 * scale-in as the HorizontalPodAutoscaler does for pods without metrics.
 * Usage older than the maximum age leaves current unknown.
 */
static void
current_from_usage(const struct pa_plan_run *r, const struct series *s, pa_usec_t now,
		   struct pa_plan_input *in, struct usage_view *view)
{
	pa_usec_t window_start, shortest;

	in->current = -1;
	in->current_load = -1;
	in->signals_missing = 0;
	memset(view, 0, sizeof *view);
	if (!s->have_usage)
		return;
	if (now - s->usage_ts > r->usage_max_age) {
		view->stale = 1;
		view->age = now - s->usage_ts;
		return;
	}

	window_start = s->usage_ts - r->usage_window;

	/* An instance with one sample is judged by the shortest interval of the others. */
	shortest = -1;
	for (size_t i = 0; i < s->ninstances; i++) {
		const struct instance *inst = &s->instances[i];

		if (inst->last_ts >= window_start && inst->prev_ts >= 0 &&
		    (shortest < 0 || inst->last_ts - inst->prev_ts < shortest))
			shortest = inst->last_ts - inst->prev_ts;
	}

	in->current = 0;
	in->current_load = 0;
	for (size_t i = 0; i < s->ninstances; i++) {
		const struct instance *inst = &s->instances[i];
		int missing = isnan(inst->cpu);
		pa_usec_t interval = inst->prev_ts >= 0 ? inst->last_ts - inst->prev_ts : shortest;

		if (inst->last_ts < window_start)
			continue;
		in->current++;
		if (!missing)
			in->current_load += inst->cpu;
		else if (view->invalid++ == 0)
			view->first_invalid = inst;
		if (interval >= 0) {
			if (s->usage_ts - inst->last_ts > interval + interval / 2) {
				if (view->vanished++ == 0)
					view->first_vanished = inst;
				missing = 1;
			}
		}
		if (missing)
			in->signals_missing++;
	}
}

/* A duration in its largest whole unit, for messages: "90s", "45m", "30h", "731d". */
static const char *
format_age(pa_usec_t age, char *buf, size_t size)
{
	long long s = (long long)(age / PA_USEC_PER_SEC);

	if (s < 120)
		snprintf(buf, size, "%llds", s);
	else if (s < 2 * 3600)
		snprintf(buf, size, "%lldm", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, size, "%lldh", s / 3600);
	else
		snprintf(buf, size, "%lldd", s / 86400);
	return buf;
}

/* Put in the plan's message why current is unknown or why a scale-in was blocked. */
static void
explain_usage(const struct pa_plan_run *r, const struct usage_view *view, struct pa_plan_result *res)
{
	static const char prefix[] = PA_PLAN_UNKNOWN_PREFIX;
	char rest[PA_PLAN_MESSAGE_MAX], age[32], limit[32], at[40];
	int len;

	/* A message longer than PA_PLAN_MESSAGE_MAX is cut there; the reason word is not. */
	if (view->stale && strncmp(res->message, prefix, sizeof prefix - 1) == 0) {
		snprintf(rest, sizeof rest, "%s", res->message + sizeof prefix - 1);
		len = snprintf(res->message, sizeof res->message,
			 "current instances unknown (stale usage: the latest sample is %s old, "
			 "more than --usage-max-age %s): %s",
			 format_age(view->age, age, sizeof age),
			 format_age(r->usage_max_age, limit, sizeof limit), rest);
		assert(len > 0);
		res->reason = "StaleUsage";
	}
	if (view->vanished > 0 && strcmp(res->reason, "ScaleDownBlocked") == 0) {
		snprintf(rest, sizeof rest, "%s", res->message);
		len = snprintf(res->message, sizeof res->message,
			 "no usage sample from %s since %s (%ld instance%s silent): %s",
			 pa_quote(view->first_vanished->id, strlen(view->first_vanished->id)),
			 pa_time_format(view->first_vanished->last_ts, at, sizeof at),
			 view->vanished, view->vanished == 1 ? "" : "s", rest);
		assert(len > 0);
	}
	if (view->invalid > 0 && strcmp(res->reason, "ScaleDownBlocked") == 0) {
		snprintf(rest, sizeof rest, "%s", res->message);
		len = snprintf(res->message, sizeof res->message,
			 "the latest sample of %s, at %s, has no valid cpu_usage: %s",
			 pa_quote(view->first_invalid->id, strlen(view->first_invalid->id)),
			 pa_time_format(view->first_invalid->last_ts, at, sizeof at), rest);
		assert(len > 0);
	}
}

/* Plan one series; returns an exit status for it. */
static int
plan_series(struct pa_plan_run *r, struct series *s)
{
	struct pa_plan_settings set;
	struct pa_plan_input in;
	struct pa_plan_result res;
	struct pa_work_dist dist;
	struct usage_view view;
	const struct forecast *hit = NULL;
	pa_usec_t now, target, window_end, last_end;
	char err[300], buf[2][40], learned[200];

	if (s->lost != NULL) {
		pa_warn("%s: no plan: %s", s->name, s->lost);
		return PA_EXIT_DATA;
	}
	learned[0] = '\0';
	if (pa_planconf_settings(r->conf, s->name, &set, err, sizeof err) != 0) {
		double capacity, r2;
		size_t samples, missed;

		if (!r->learn || set.capacity > 0) {
			pa_warn("%s: no plan: %s", s->name, err);
			return PA_EXIT_USAGE;
		}
		if (learn_capacity(s, &capacity, &r2, &samples, &missed, err, sizeof err) != 0) {
			pa_warn("%s: no plan: cannot learn the capacity: %s", s->name, err);
			return PA_EXIT_DATA;
		}
		set.capacity = capacity;
		if (pa_plan_settings_check(&set, err, sizeof err) != 0) {
			pa_warn("%s: no plan: %s", s->name, err);
			return PA_EXIT_USAGE;
		}
		if (missed > 0)
			snprintf(learned, sizeof learned, "capacity %.4g/s learned from %zu buckets of "
				 "usage (R^2 %.2f, %zu left out where an instance had no valid reading)",
				 capacity, samples, r2, missed);
		else
			snprintf(learned, sizeof learned, "capacity %.4g/s learned from %zu buckets of "
				 "usage (R^2 %.2f)", capacity, samples, r2);
	}
	sort_forecasts(s);
	now = r->now_set ? r->now : s->issued_at;

	/*
	 * Usage newer than the forecast's issue shows that the clock is past
	 * it by a whole step or more, as when a cron job reads a forecast file
	 * that an earlier run left.  The plan is then made for the usage time,
	 * from the buckets still ahead.
	 */
	if (!r->now_set && s->have_usage &&
	    s->usage_ts - now >= (pa_usec_t)llround(s->forecasts[0].point.step_s * PA_USEC_PER_SEC)) {
		char age[32];

		pa_warn("%s: the latest usage sample, at %s, is %s newer than the forecast issued "
			"at %s; planning for the usage time", s->name,
			pa_time_format(s->usage_ts, buf[0], sizeof buf[0]),
			format_age(s->usage_ts - now, age, sizeof age),
			pa_time_format(now, buf[1], sizeof buf[1]));
		now = s->usage_ts;
	}
	target = now + (pa_usec_t)llround(set.lead_time_s * PA_USEC_PER_SEC);
	window_end = target + (pa_usec_t)llround(set.stabilization_s * PA_USEC_PER_SEC);

	for (size_t i = 0; i < s->nforecasts; i++) {
		const struct forecast *f = &s->forecasts[i];

		if (f->ts + (pa_usec_t)llround(f->point.step_s * PA_USEC_PER_SEC) > target) {
			hit = f;
			break;
		}
	}
	if (hit != NULL && hit->ts > target) {
		pa_warn("%s: no plan: no forecast bucket contains now + lead time %s, the first "
			"starts at %s (check --now)", s->name,
			pa_time_format(target, buf[0], sizeof buf[0]),
			pa_time_format(hit->ts, buf[1], sizeof buf[1]));
		return PA_EXIT_DATA;
	}
	if (hit == NULL) {
		const struct forecast *f = &s->forecasts[s->nforecasts - 1];

		last_end = f->ts + (pa_usec_t)llround(f->point.step_s * PA_USEC_PER_SEC);
		pa_warn("%s: no plan: no forecast bucket contains now + lead time %s, the last "
			"ends at %s (%s)", s->name, pa_time_format(target, buf[0], sizeof buf[0]),
			pa_time_format(last_end, buf[1], sizeof buf[1]),
			now > s->issued_at ? "the forecast is older than the usage: run pa-forecast "
					     "on newer buckets"
					   : "forecast a longer horizon or shorten --lead-time");
		return PA_EXIT_DATA;
	}

	/* Checked at intake, so the conversion cannot fail now. */
	if (pa_work_dist_from_forecast(&hit->point, &in.target, err, sizeof err) != 0)
		assert(0);
	/* Scale-in looks from now, not from the target, because an instance
	 * removed now cannot come back before the lead time has passed. */
	in.window_need = -1;
	for (const struct forecast *f = s->forecasts; f < s->forecasts + s->nforecasts && f->ts < window_end; f++) {
		long need;

		if (f->ts + (pa_usec_t)llround(f->point.step_s * PA_USEC_PER_SEC) <= now)
			continue;
		if (pa_work_dist_from_forecast(&f->point, &dist, err, sizeof err) != 0)
			continue;
		need = pa_plan_need(&set, &dist);
		if (need > in.window_need)
			in.window_need = need;
	}
	current_from_usage(r, s, now, &in, &view);
	if (view.stale) {
		char age[32], at[40];

		pa_warn("%s: stale usage: the latest sample, at %s, is %s older than the plan time "
			"(--usage-max-age %s); current instances unknown", s->name,
			pa_time_format(s->usage_ts, at, sizeof at), format_age(view.age, age, sizeof age),
			format_age(r->usage_max_age, buf[0], sizeof buf[0]));
	}
	pa_plan_decide(&set, &in, &res);
	explain_usage(r, &view, &res);
	if (learned[0] != '\0') {
		size_t used = strlen(res.message);

		snprintf(res.message + used, sizeof res.message - used, "; %s", learned);
	}
	write_plan(s, now, target, in.current, &res);
	return PA_EXIT_OK;
}

/* A services entry that names no series read is most often a misspelt name. */
static void
warn_unused_services(const struct pa_plan_run *r)
{
	const char *name;
	json_t *settings;

	json_object_foreach(r->conf->services, name, settings) {
		(void)settings;
		if (json_object_get(r->index, name) == NULL)
			pa_warn("config: the settings for service %s match no series with forecasts "
				"in the input",
				pa_quote(name, strlen(name)));
	}
}

int
pa_plan_run_finish(struct pa_plan_run *r)
{
	int rc = r->follow_rc;

	for (size_t i = 0; i < r->n; i++) {
		struct series *s = r->list[i];
		int one;

		if (!s->has_forecast && s->lost == NULL)
			continue;
		if (r->follow && s->planned)
			continue;
		if (!s->has_forecast) {
			pa_warn("%s: no plan: %s", s->name, s->lost);
			one = PA_EXIT_DATA;
		} else {
			one = plan_series(r, s);
		}
		if (one > rc)
			rc = one;
	}
	warn_unused_services(r);
	return rc;
}

int
pa_plan_run_stop(struct pa_plan_run *r)
{
	size_t pending = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->list[i]->has_forecast && !r->list[i]->planned)
			pending++;
	if (pending > 0 && r->follow)
		pa_warn("stopped; the latest issue of %zu series was not planned, because its "
			"forecasts did not yet reach the end of the stabilization window", pending);
	else if (pending > 0)
		pa_warn("stopped before the end of the input; %zu series not planned, because "
			"more of their forecasts may have followed", pending);

	/* A batch run left without plans must not pass for a whole run in a script. */
	if (pending > 0 && !r->follow && r->follow_rc == PA_EXIT_OK)
		return PA_EXIT_DATA;
	return r->follow_rc;
}

void
pa_plan_run_free(struct pa_plan_run *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct series *s = r->list[i];

		free(s->name);
		free(s->tenant);
		free(s->service);
		free(s->forecasts);
		free(s->lost);
		json_decref(s->instance_at);
		for (size_t k = 0; k < s->ninstances; k++)
			free(s->instances[k].id);
		free(s->instances);
		history_free(s->history);
		free(s);
	}
	free(r->list);
	json_decref(r->index);
	free(r);
}
