/*
 * backtest.c - the replay engine and the four policies.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "backtest.h"
#include "forecast.h"

void
pa_bt_series_free(struct pa_bt_series *s)
{
	free(s->name);
	free(s->work);
	s->name = NULL;
	s->work = NULL;
}

void
pa_bt_config_default(struct pa_bt_config *c)
{
	pa_plan_settings_default(&c->plan);

	/* A backtest step is one bucket, far longer than the HPA's 15 s period,
	 * so a per-plan growth limit would handicap the predictive policy only. */
	c->plan.scale_up_factor = 0;
	c->plan.stabilization_s = 300;
	c->hpa_tolerance = 0.1;
	c->hpa_stabilization_s = 300;
	c->hpa_period_s = 15;
	c->hpa_metric_lag_s = 30;
	c->hpa_up_pods = 4;
	c->hpa_up_percent = 100;
	c->warmup = 0;
	c->history = 0;
	c->period = 0;
	c->forecast_every = 1;
	c->refit_every = 1;
	c->model = "auto";
	c->level = 0.95;
	c->transform = 0;
	c->floor = PA_BT_FLOOR_CHANGE;
	c->error_scale = PA_BT_ERRORS_AUTO;
	c->event_profile = 1;
	c->window_errors = 1;
	c->events = NULL;
}

const char *
pa_bt_policy_name(enum pa_bt_policy p)
{
	switch (p) {
	case PA_BT_PREDICTIVE:
		return "predictive";
	case PA_BT_REACTIVE:
		return "reactive";
	case PA_BT_STATIC:
		return "static";
	case PA_BT_ORACLE:
		break;
	}
	return "oracle";
}

/* Forecast issues: issue i was made at bucket issue_at[i] and covers horizon buckets from it. */
struct pa_bt_forecasts {
	size_t horizon;
	size_t nissues;
	size_t *issue_at;
	size_t *issue_of;		/* per bucket: the issue in force at its start */
	double *mean, *lower, *upper;	/* nissues * horizon */
	unsigned char *blind;		/* per issue: 1 when its history held too few known
					 * buckets to act on */
	double *error_q;		/* nissues * horizon * NLEVELS error quantiles, work/s */
	double *change_q;		/* per bucket NLEVELS quantiles of the log change of
					 * demand over the metric lag and the lead time */
	unsigned char *window_bin;	/* per bucket 0 .. n + horizon, 0 outside event windows, else
					 * 1 + the profile bin of its offset; NULL without events */
	double level;
	size_t lifted;			/* issues with a lift applied to some step */
	size_t reused;			/* issues that reused an earlier choice */
	size_t fallbacks;		/* issues where a named model could not run */
	char model[PA_FC_NAME_MAX];
	char fallback[PA_FC_NAME_MAX + PA_FC_REASON_MAX + 80];	/* the first fallback, or "" */
};

void
pa_bt_forecasts_free(struct pa_bt_forecasts *f)
{
	if (f == NULL)
		return;
	free(f->issue_at);
	free(f->issue_of);
	free(f->blind);
	free(f->mean);
	free(f->lower);
	free(f->upper);
	free(f->error_q);
	free(f->change_q);
	free(f->window_bin);
	free(f);
}

const char *
pa_bt_forecasts_model(const struct pa_bt_forecasts *f)
{
	return f->model;
}

const char *
pa_bt_forecasts_fallback(const struct pa_bt_forecasts *f, size_t *count, size_t *total)
{
	*count = f->fallbacks;
	*total = f->nissues;
	return f->fallback;
}

/* Return 1 when ran, such as "hw(p=24)", names the model requested. */
static int
runs_model(const char *ran, const char *requested)
{
	size_t len = strlen(requested);

	return strncmp(ran, requested, len) == 0 && (ran[len] == '\0' || ran[len] == '(');
}

/*
 * Count a forecast r whose named model could not run on its history: the
 * forecaster ran another model, or the history held less than two seasons
 * and the seasonal part was dropped.  With the automatic choice only the
 * dropped season counts.  The first reason is kept.
 */
static void
note_fallback(struct pa_bt_forecasts *f, const struct pa_bt_config *c, size_t history,
	      size_t period, const struct pa_fc_result *r)
{
	int season_dropped;

	int automatic = c->model == NULL || strcmp(c->model, "auto") == 0;

	season_dropped = c->period > 1 && period == 0 &&
			 (automatic || pa_fc_model_seasonal(c->model));
	if (!season_dropped && (automatic || !(r->fallback && !runs_model(r->model, c->model))))
		return;
	f->fallbacks++;
	if (f->fallback[0] != '\0')
		return;

	/* The automatic choice has no named model to fall back from, only the season. */
	if (season_dropped && automatic)
		snprintf(f->fallback, sizeof f->fallback,
			 "a history of %zu buckets is shorter than two seasons of %zu buckets",
			 history, c->period);
	else if (season_dropped)
		snprintf(f->fallback, sizeof f->fallback,
			 "%s instead: a history of %zu buckets is shorter than two seasons of %zu buckets",
			 r->model, history, c->period);
	else
		snprintf(f->fallback, sizeof f->fallback, "%s instead: %s", r->model, r->reason);
}

size_t
pa_bt_forecasts_reused(const struct pa_bt_forecasts *f)
{
	return f->reused;
}

size_t
pa_bt_forecasts_lifted(const struct pa_bt_forecasts *f)
{
	return f->lifted;
}

/* Event windows of every type on the series' grid, past and future. */
struct event_grid {
	size_t ntypes, total;
	unsigned char *mask;		/* type i at [i * total + bucket] */
	unsigned char *any;		/* any type */
	struct pa_fc_profile *profile;	/* per type, at the current decision */
	int by_offset;			/* 1: the lift depends on the offset in the window */
};

static void
event_grid_free(struct event_grid *g)
{
	free(g->mask);
	free(g->any);
	free(g->profile);
}

/*
 * Mark the windows of every event type but trend streams on buckets
 * 0 .. total.  Returns -1 when memory runs out.
 */
static int
event_grid_build(struct event_grid *g, const struct pa_fc_events *ev,
		 const struct pa_bt_series *s, size_t total)
{
	const char *name = s->name ? s->name : "";
	const char *slash = strchr(name, '/');
	size_t tenant_len = slash ? (size_t)(slash - name) : strlen(name);
	const char *service = slash ? slash + 1 : "";
	pa_usec_t step = (pa_usec_t)llround(s->step_s * PA_USEC_PER_SEC);
	char *tenant;

	memset(g, 0, sizeof *g);
	g->ntypes = ev ? ev->ntypes : 0;
	g->total = total;
	if (g->ntypes == 0)
		return 0;
	tenant = malloc(tenant_len + 1);
	g->mask = calloc(g->ntypes * total, 1);
	g->any = calloc(total, 1);
	g->profile = calloc(g->ntypes, sizeof *g->profile);
	if (tenant == NULL || !g->mask || !g->any || !g->profile) {
		free(tenant);
		return -1;
	}
	memcpy(tenant, name, tenant_len);
	tenant[tenant_len] = '\0';
	for (size_t i = 0; i < g->ntypes; i++) {
		unsigned char *m = g->mask + i * total;

		/* A trend stream is a series of samples, not a set of windows,
		 * as in pa-forecast, so its samples mark nothing. */
		if (pa_fc_event_is_stream(ev, ev->types[i]))
			continue;
		pa_fc_event_mask(ev, ev->types[i], tenant, service, s->start, step, total, m);
		for (size_t b = 0; b < total; b++)
			g->any[b] |= m[b] != 0;
	}
	free(tenant);
	return 0;
}

/*
 * A lift is applied when two or more past windows give it an interval
 * that excludes 1, the rule pa-forecast applies.  A lift that the past
 * does not separate from no effect would only add noise.
 */
static int
lift_applies(const struct pa_fc_lift *l)
{
	return l->windows >= 2 && (l->lower > 1 || l->upper < 1);
}

/*
 * Estimate, from every bucket before decision t, the lift profile of each
 * type whose windows touch buckets t - 1 .. t + horizon, the only ones
 * apply_lifts() reads.  Other types keep a lift of 1 with no windows.
 */
static void
estimate_lifts(struct event_grid *g, const double *totals, size_t t, size_t horizon,
	       size_t period, size_t period2, double level)
{
	for (size_t i = 0; i < g->ntypes; i++) {
		const unsigned char *m = g->mask + i * g->total;
		int near = 0;

		for (size_t b = t > 0 ? t - 1 : 0; b < t + horizon && b < g->total; b++)
			near |= m[b];
		memset(&g->profile[i], 0, sizeof g->profile[i]);
		g->profile[i].whole = (struct pa_fc_lift){ 1, NAN, NAN, 0 };
		if (near)
			g->profile[i] = pa_fc_event_profile(totals, t, m, g->any, period, period2, level);
	}
}

/*
 * Product of the applied lifts of the types whose windows cover bucket b:
 * the profile's lift at b's offset in its window, or the whole-window
 * lift.  Whether a type applies rests on its whole-window lift.
 */
static double
lift_at(const struct event_grid *g, size_t b)
{
	double lift = 1;

	for (size_t e = 0; e < g->ntypes; e++) {
		const unsigned char *m = g->mask + e * g->total;
		const struct pa_fc_profile *p = &g->profile[e];

		if (!m[b] || !lift_applies(&p->whole))
			continue;
		lift *= g->by_offset ? pa_fc_profile_lift(p, pa_fc_event_offset(m, b)) : p->whole.lift;
	}
	return lift;
}

/*
 * Multiply the forecast of issue i (made at bucket t) for bucket t + k by
 * lift(t + k) / lift(t - 1).  The forecaster fits the history as observed,
 * so when the last bucket already lies in a window its level carries that
 * window's lift, and only the change of lift ahead is applied.  The
 * bounds scale by the same factor, not by the lift's interval: that
 * interval is the uncertainty of the mean lift, and the spread of single
 * windows around it reaches the sizing through the replay's own forecast
 * errors inside past windows (calibrate()).  Returns 1 when some step
 * changed.
 */
static int
apply_lifts(const struct event_grid *g, struct pa_bt_forecasts *f, size_t i, size_t t)
{
	double now;
	int changed = 0;

	if (g->ntypes == 0 || t == 0)
		return 0;
	now = lift_at(g, t - 1);
	for (size_t k = 0; k < f->horizon; k++) {
		double factor = lift_at(g, t + k) / now;

		if (factor == 1)
			continue;
		f->mean[i * f->horizon + k] *= factor;
		f->lower[i * f->horizon + k] *= factor;
		f->upper[i * f->horizon + k] *= factor;
		changed = 1;
	}
	return changed;
}

/* Buckets from a decision until the end of the stabilization window after the lead time. */
static size_t
lookahead_buckets(const struct pa_bt_series *s, const struct pa_bt_config *c)
{
	double span = c->plan.lead_time_s + c->plan.stabilization_s;

	return (size_t)floor(span / s->step_s) + 1;
}

/* Ticks per bucket: the HPA's period when the step is a whole multiple of it, else one. */
static long
ticks_per_bucket(const struct pa_bt_series *s, const struct pa_bt_config *c)
{
	if (fmod(s->step_s, c->hpa_period_s) == 0 && s->step_s > c->hpa_period_s)
		return (long)(s->step_s / c->hpa_period_s);
	return 1;
}

/*
 * Demand at every tick of a series.  Inside a bucket it ramps linearly
 * between bucket midpoints, so a change between buckets ramps instead of
 * jumping, as real traffic does.  The ramp alone would give a peak bucket
 * an eighth of its rise less than its own mean, so each bucket's ramp is
 * moved to average the bucket's work.  In a dip, where that would take a
 * tick below half the bucket's work, the ramp is flattened until it does
 * not: a bucket that averages little cannot hold its neighbours' edges.
 * An unknown neighbour keeps the bucket's own value, and an unknown bucket
 * is NAN.
 */
struct demand {
	const double *work;
	size_t n;
	long per;		/* ticks per bucket */
	double *offset;		/* per bucket, the ramp's mean deviation; NULL when per is 1 */
	double *slope;		/* per bucket, the share of the ramp kept, 0 to 1 */
};

/* The ramp's deviation from the bucket's work at tick k of bucket t. */
static double
ramp(const struct demand *d, size_t t, long k)
{
	const double *w = d->work;
	double x = (k + 0.5) / d->per - 0.5, next;

	if (x < 0)
		next = t > 0 ? w[t - 1] : NAN;
	else
		next = t + 1 < d->n ? w[t + 1] : NAN;
	if (isnan(next))
		return 0;
	return (next - w[t]) * fabs(x);
}

static void
demand_free(struct demand *d)
{
	free(d->offset);
	free(d->slope);
	d->offset = d->slope = NULL;
}

static int
demand_init(struct demand *d, const struct pa_bt_series *s, long per)
{
	d->work = s->work;
	d->n = s->n;
	d->per = per;
	d->offset = d->slope = NULL;
	if (per == 1)
		return 0;
	d->offset = malloc(s->n * sizeof *d->offset);
	d->slope = malloc(s->n * sizeof *d->slope);
	if (d->offset == NULL || d->slope == NULL) {
		demand_free(d);
		return -1;
	}
	for (size_t t = 0; t < s->n; t++) {
		double sum = 0, lowest = 0;

		d->offset[t] = 0;
		d->slope[t] = 1;
		if (isnan(s->work[t]))
			continue;
		for (long k = 0; k < per; k++)
			sum += ramp(d, t, k);
		d->offset[t] = sum / (double)per;
		for (long k = 0; k < per; k++)
			lowest = fmin(lowest, ramp(d, t, k) - d->offset[t]);
		if (s->work[t] + lowest < s->work[t] / 2)
			d->slope[t] = s->work[t] / (2 * -lowest);
	}
	return 0;
}

static double
demand_tick(const struct demand *d, long tick)
{
	size_t t;

	if (tick < 0)
		tick = 0;
	t = (size_t)(tick / d->per);
	if (t >= d->n)
		t = d->n - 1;
	if (d->offset == NULL || isnan(d->work[t]))
		return d->work[t];
	return d->work[t] + d->slope[t] * (ramp(d, t, tick - (long)t * d->per) - d->offset[t]);
}

/* Levels at which the replay's own forecast errors are kept, as 1 - risk. */
static const double error_levels[] = { 0.5, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.998, 0.999 };

#define NLEVELS (sizeof error_levels / sizeof error_levels[0])
#define SPOT_SEED 20260601	/* the spot interruption draws */
#define ERRORS_MIN 24		/* known errors needed before they are trusted */
#define BLIND_HISTORY PA_BT_MIN_HISTORY

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Store in q the quantiles at error_levels of the m values of sorted, which it sorts. */
static void
fill_quantiles(double *sorted, size_t m, double *q)
{
	qsort(sorted, m, sizeof *sorted, cmp_double);
	for (size_t l = 0; l < NLEVELS; l++) {
		double pos = error_levels[l] * (double)(m - 1);
		size_t lo = (size_t)floor(pos);
		size_t hi = lo + 1 < m ? lo + 1 : lo;

		q[l] = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - (double)lo);
	}
}

/* How many issues j, counted from 0, had their target issue_at[j] + k observed when issue i was made. */
static size_t
known_issues(const struct pa_bt_forecasts *f, const struct pa_bt_config *c, size_t every,
	     size_t i, size_t k)
{
	size_t t = f->issue_at[i], known = 0;

	if (t >= c->warmup + k + 1)
		known = (t - k - 1 - c->warmup) / every + 1;
	return known > i ? i : known;
}

/*
 * Issues whose target k steps ahead lies in an event window, for the
 * window errors of calibrate().  List 0 contains every such issue, and
 * list b + 1 those whose target lies in profile bin b of its window, each
 * in issue order.  seen[l] counts the entries of list l already observed.
 */
#define WINDOW_LISTS (PA_FC_PROFILE_BINS + 1)

struct window_lists {
	size_t *issues;		/* list l at [l * nissues] */
	size_t count[WINDOW_LISTS], seen[WINDOW_LISTS];
};

static void
window_lists_fill(struct window_lists *w, const struct pa_bt_forecasts *f,
		  const double *errors, size_t k)
{
	memset(w->count, 0, sizeof w->count);
	memset(w->seen, 0, sizeof w->seen);
	for (size_t j = 0; j < f->nissues; j++) {
		unsigned char list = f->window_bin[f->issue_at[j] + k];

		if (list == 0 || isnan(errors[j]))
			continue;
		w->issues[w->count[0]++] = j;
		w->issues[list * f->nissues + w->count[list]++] = j;
	}
}

/*
 * Raise q to the quantiles of the latest errors, at most cap, of window
 * targets known before issue i.  They are the errors of the target's
 * profile bin when there are ERRORS_MIN of them, else those of every
 * window bucket when there are that many.  Otherwise q stays.  Taking the
 * larger quantile keeps a window bucket's headroom at least that of the
 * buckets around it.
 */
static void
window_quantiles(struct window_lists *w, const struct pa_bt_forecasts *f, const double *errors,
		 size_t i, size_t k, size_t known, size_t cap, double *sorted, double *q)
{
	unsigned char list = f->window_bin[f->issue_at[i] + k];
	const size_t *issues;
	size_t m = 0, seen;
	double own[NLEVELS];

	for (size_t l = 0; l < WINDOW_LISTS; l++)
		while (w->seen[l] < w->count[l] && w->issues[l * f->nissues + w->seen[l]] < known)
			w->seen[l]++;
	if (list == 0)
		return;
	if (w->seen[list] < ERRORS_MIN)
		list = 0;
	if (w->seen[list] < ERRORS_MIN)
		return;
	issues = w->issues + list * f->nissues;
	seen = w->seen[list];
	for (size_t e = seen > cap ? seen - cap : 0; e < seen; e++)
		sorted[m++] = errors[issues[e]];
	fill_quantiles(sorted, m, own);
	for (size_t l = 0; l < NLEVELS; l++)
		if (isnan(q[l]) || own[l] > q[l])
			q[l] = own[l];
}

/*
 * Forecast errors on the scales of enum pa_bt_error_scale.  The sqrt and
 * log scales add one instance's capacity to the work, as log_change()
 * does, so that a few requests more on a near-idle series do not read as
 * a large relative error.
 */
#define NSCALES 3

static double
to_scale(int scale, double work, double capacity)
{
	switch (scale) {
	case PA_BT_ERRORS_SQRT:
		return sqrt(fmax(work, 0) + capacity);
	case PA_BT_ERRORS_LOG:
		return log(fmax(work, 0) + capacity);
	}
	return work;
}

static double
from_scale(int scale, double y, double capacity)
{
	switch (scale) {
	case PA_BT_ERRORS_SQRT:
		return y > 0 ? y * y - capacity : -capacity;
	case PA_BT_ERRORS_LOG:
		return exp(y) - capacity;
	}
	return y;
}

/*
 * Forecast error of issue j, k steps ahead, on the given scale; NAN when
 * the target is unknown or beyond the series.  The absolute error is taken
 * from the forecast as made, the others from the forecast clipped at zero,
 * as the sizing reads it.
 */
static double
scaled_error(const struct pa_bt_forecasts *f, const struct pa_bt_series *s, double capacity,
	     int scale, size_t j, size_t k)
{
	size_t target = f->issue_at[j] + k;
	double mean = f->mean[j * f->horizon + k];

	if (target >= s->n || isnan(mean))
		return NAN;
	if (scale == PA_BT_ERRORS_ABSOLUTE)
		return s->work[target] - mean;
	return to_scale(scale, s->work[target], capacity) - to_scale(scale, mean, capacity);
}

/*
 * Sum the pinball losses of the bounds mean + q[l] at every error level
 * against the actual work.  The expected sum is least for the true
 * quantiles.  mean is the forecast as the sizing reads it, clipped at
 * zero.  Returns NAN when either side is unknown.
 */
static double
pinball_loss(const double *q, double mean, double actual)
{
	double loss = 0;

	if (isnan(q[0]) || isnan(mean) || isnan(actual))
		return NAN;
	for (size_t l = 0; l < NLEVELS; l++) {
		double bound = mean + q[l];

		if (actual >= bound)
			loss += error_levels[l] * (actual - bound);
		else
			loss += (1 - error_levels[l]) * (bound - actual);
	}
	return loss;
}

/* Per scale, the errors of every issue at one step and a running sum of past losses. */
struct scale_errors {
	double *errors;		/* nissues */
	double *loss_sum;	/* nissues + 1: losses of issues before j, summed */
	size_t *loss_count;	/* nissues + 1: how many of them were known */
};

/*
 * Quantiles of the forecast errors of the forecasts k steps ahead whose
 * targets were already observed when issue i was made, over the last
 * season of issues, stored as distances from the forecast in work/s.
 * Model intervals fitted on one-step residuals are often far too narrow
 * for bursts, and a normal width from the error variance lets one burst
 * inflate a whole day, so the sizing reads the empirical quantile at its
 * risk instead.
 *
 * With c->window_errors, a target inside an event window takes the larger
 * of those quantiles and the ones of the errors of earlier targets inside
 * windows, as many as a season contains however far back
 * (window_quantiles()).  The spread inside a window is far larger than
 * outside, and a day contains few window buckets.
 *
 * With PA_BT_ERRORS_AUTO, every scale gets its quantiles and issue i takes
 * those of the scale with the least pinball loss over the issues of its
 * error window, each scored against its own target.  The choice reads
 * only targets observed before issue i, as the quantiles do.
 */
static int
calibrate(struct pa_bt_forecasts *f, const struct pa_bt_series *s, const struct pa_bt_config *c)
{
	size_t every = c->forecast_every ? c->forecast_every : 1;
	size_t season = c->period ? c->period : (size_t)ceil(86400 / s->step_s);
	size_t window = season / every > ERRORS_MIN ? season / every : ERRORS_MIN;
	double capacity = c->plan.capacity;
	int first = c->error_scale == PA_BT_ERRORS_AUTO ? 0 : (int)c->error_scale;
	int last = c->error_scale == PA_BT_ERRORS_AUTO ? NSCALES - 1 : (int)c->error_scale;
	struct scale_errors sc[NSCALES] = { { NULL, NULL, NULL } };
	double *sorted = malloc(window * sizeof *sorted);
	struct window_lists lists = { NULL, { 0 }, { 0 } };
	int by_window = c->window_errors && f->window_bin != NULL;
	int failed = sorted == NULL;

	f->error_q = malloc(f->nissues * f->horizon * NLEVELS * sizeof *f->error_q);
	failed |= f->error_q == NULL;
	if (by_window) {
		lists.issues = malloc(WINDOW_LISTS * f->nissues * sizeof *lists.issues);
		failed |= lists.issues == NULL;
	}
	for (int a = first; a <= last; a++) {
		sc[a].errors = malloc(f->nissues * sizeof *sc[a].errors);
		sc[a].loss_sum = malloc((f->nissues + 1) * sizeof *sc[a].loss_sum);
		sc[a].loss_count = malloc((f->nissues + 1) * sizeof *sc[a].loss_count);
		failed |= sc[a].errors == NULL || sc[a].loss_sum == NULL || sc[a].loss_count == NULL;
	}
	if (failed)
		goto out;

	for (size_t k = 0; k < f->horizon; k++) {
		for (int a = first; a <= last; a++) {
			for (size_t j = 0; j < f->nissues; j++)
				sc[a].errors[j] = scaled_error(f, s, capacity, a, j, k);
			sc[a].loss_sum[0] = 0;
			sc[a].loss_count[0] = 0;
		}

		/* Every scale has the same unknown errors, so one list serves all. */
		if (by_window)
			window_lists_fill(&lists, f, sc[first].errors, k);

		for (size_t i = 0; i < f->nissues; i++) {
			double *q = f->error_q + (i * f->horizon + k) * NLEVELS;
			double mean = f->mean[i * f->horizon + k];
			size_t target = f->issue_at[i] + k;
			double actual = target < s->n ? s->work[target] : NAN;
			size_t known = known_issues(f, c, every, i, k), from, m;
			double best_loss = INFINITY;

			from = known > window ? known - window : 0;
			for (int a = first; a <= last; a++) {
				double qa[NLEVELS], loss;
				size_t scored = sc[a].loss_count[known] - sc[a].loss_count[from];

				m = 0;
				for (size_t j = from; j < known; j++)
					if (!isnan(sc[a].errors[j]))
						sorted[m++] = sc[a].errors[j];
				if (m < ERRORS_MIN) {
					for (size_t l = 0; l < NLEVELS; l++)
						qa[l] = NAN;
				} else {
					fill_quantiles(sorted, m, qa);
				}
				if (by_window)
					window_quantiles(&lists, f, sc[a].errors, i, k, known, window, sorted, qa);

				/* Back to work/s around the forecast the sizing reads. */
				if (a != PA_BT_ERRORS_ABSOLUTE && !isnan(mean)) {
					double center = to_scale(a, mean, capacity);

					for (size_t l = 0; l < NLEVELS; l++)
						qa[l] = from_scale(a, center + qa[l], capacity) - fmax(mean, 0);
				}

				/* Pick before this issue's own loss joins the sums. */
				loss = scored >= ERRORS_MIN
					       ? (sc[a].loss_sum[known] - sc[a].loss_sum[from]) / (double)scored
					       : NAN;
				if (a == first || (!isnan(loss) && loss < best_loss)) {
					memcpy(q, qa, sizeof qa);
					if (!isnan(loss))
						best_loss = loss;
				}

				loss = pinball_loss(qa, fmax(mean, 0), actual);
				sc[a].loss_sum[i + 1] = sc[a].loss_sum[i] + (isnan(loss) ? 0 : loss);
				sc[a].loss_count[i + 1] = sc[a].loss_count[i] + !isnan(loss);
			}
		}
	}

out:
	for (int a = first; a <= last; a++) {
		free(sc[a].errors);
		free(sc[a].loss_sum);
		free(sc[a].loss_count);
	}
	free(sorted);
	free(lists.issues);
	return failed ? -1 : 0;
}

/* Histogram of log changes for calibrate_change(): bins of 0.01 over [-4, 4]. */
#define CHANGE_BINS 800
#define CHANGE_LOW (-4.0)
#define CHANGE_WIDTH 0.01

static long
change_bin(double x)
{
	long b = (long)floor((x - CHANGE_LOW) / CHANGE_WIDTH);

	if (b < 0)
		return 0;
	if (b >= CHANGE_BINS)
		return CHANGE_BINS - 1;
	return b;
}

/*
 * Log change of demand from tick v to tick v + h, NAN when either is
 * unknown.  One instance's capacity is added to both ends, because the
 * floor sizes in whole instances.  A load of a few requests that triples
 * needs no more instances, and on a near-idle series that ratio would
 * otherwise set the headroom of every busy hour.
 */
static double
log_change(const struct demand *d, double capacity, long v, long h)
{
	double a = demand_tick(d, v), b = demand_tick(d, v + h);

	return isnan(a) || isnan(b) ? NAN : log((b + capacity) / (a + capacity));
}

/*
 * Store, for the predictive floor at each bucket t, quantiles of the log
 * change of demand over the metric lag plus the lead time.  They count
 * every tick of the last season whose later end lies before bucket t - 1,
 * because demand inside bucket t - 2 is interpolated towards t - 1, the
 * last bucket known at t.  This is the headroom that an order placed on
 * the load seen now needs when it arrives, measured where the HPA assumes
 * a fixed target.  A histogram slides with t, so each bucket costs a few
 * hundred steps.
 */
static int
calibrate_change(struct pa_bt_forecasts *f, const struct pa_bt_series *s, const struct pa_bt_config *c)
{
	long per = ticks_per_bucket(s, c);
	double tick_s = s->step_s / (double)per;
	long h = (long)ceil(c->plan.lead_time_s / tick_s - 1e-9) + (long)ceil(c->hpa_metric_lag_s / tick_s - 1e-9);
	long season = (long)(c->period ? c->period : (size_t)ceil(86400 / s->step_s)) * per;
	long *bins = calloc(CHANGE_BINS, sizeof *bins), count = 0, added = 0, removed = 0;
	struct demand d;

	f->change_q = malloc(s->n * NLEVELS * sizeof *f->change_q);
	if (bins == NULL || f->change_q == NULL || demand_init(&d, s, per) != 0) {
		free(bins);
		return -1;
	}
	if (h < 1)
		h = 1;
	for (size_t t = 0; t < s->n; t++) {
		double *q = f->change_q + t * NLEVELS;
		long end = ((long)t - 1) * per - h;	/* ticks v < end qualify */

		for (; added < end; added++) {
			double x = log_change(&d, c->plan.capacity, added, h);

			if (!isnan(x)) {
				bins[change_bin(x)]++;
				count++;
			}
		}
		for (; removed < end - season; removed++) {
			double x = log_change(&d, c->plan.capacity, removed, h);

			if (!isnan(x)) {
				bins[change_bin(x)]--;
				count--;
			}
		}
		if (count < ERRORS_MIN) {
			for (size_t l = 0; l < NLEVELS; l++)
				q[l] = NAN;
			continue;
		}

		/* Upper bin edge of the level's rank, counted from the top. */
		for (size_t l = 0; l < NLEVELS; l++) {
			double above = (1 - error_levels[l]) * (double)count;
			long seen = 0, b = CHANGE_BINS - 1;

			while (b > 0 && (double)(seen + bins[b]) <= above)
				seen += bins[b--];
			q[l] = CHANGE_LOW + (double)(b + 1) * CHANGE_WIDTH;
		}
	}
	free(bins);
	demand_free(&d);
	return 0;
}

/* The error quantile at level p from the stored ones; NAN when too few errors are known. */
static double
error_quantile(const double *q, double p)
{
	if (isnan(q[0]))
		return NAN;
	if (p <= error_levels[0])
		return q[0];
	for (size_t l = 1; l < NLEVELS; l++) {
		if (p <= error_levels[l]) {
			double w = (p - error_levels[l - 1]) / (error_levels[l] - error_levels[l - 1]);

			return q[l - 1] + (q[l] - q[l - 1]) * w;
		}
	}

	/* Beyond the last level a season of errors adds no finer detail. */
	return q[NLEVELS - 1];
}

struct pa_bt_forecasts *
pa_bt_forecast_all(const struct pa_bt_series *s, const struct pa_bt_config *c,
		   char *err, size_t errsize)
{
	struct pa_bt_forecasts *f;
	struct pa_fc_opts opts;
	struct event_grid events;
	double *totals;
	char spec[PA_FC_SPEC_MAX] = "";
	size_t since_fit = 0;
	size_t every = c->forecast_every ? c->forecast_every : 1;
	size_t season = c->period ? c->period : (size_t)ceil(86400 / s->step_s);
	/* Event lifts of a daily season are measured against the same day of the week. */
	size_t week = fabs((double)season * s->step_s - 86400) < 1e-6 ? 7 * season : 0;

	if (c->warmup < 2) {
		snprintf(err, errsize, "the warm-up is %zu bucket%s, but it must be at least 2",
			 c->warmup, c->warmup == 1 ? "" : "s");
		return NULL;
	}
	if (c->history != 0 && c->history < PA_BT_MIN_HISTORY) {
		snprintf(err, errsize, "the history is %zu bucket%s, but a forecast needs at least %d",
			 c->history, c->history == 1 ? "" : "s", PA_BT_MIN_HISTORY);
		return NULL;
	}
	if (s->n <= c->warmup) {
		snprintf(err, errsize, "%zu bucket%s leave%s nothing to score after a warm-up of "
			 "%zu buckets; give a shorter --warmup (by default two seasons)", s->n,
			 s->n == 1 ? "" : "s", s->n == 1 ? "s" : "", c->warmup);
		return NULL;
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	f->horizon = lookahead_buckets(s, c) + every;
	f->nissues = (s->n - c->warmup + every - 1) / every;
	f->level = c->level;
	f->issue_at = calloc(f->nissues, sizeof *f->issue_at);
	f->issue_of = calloc(s->n, sizeof *f->issue_of);
	f->blind = calloc(f->nissues, 1);
	f->mean = calloc(f->nissues * f->horizon, sizeof *f->mean);
	f->lower = calloc(f->nissues * f->horizon, sizeof *f->lower);
	f->upper = calloc(f->nissues * f->horizon, sizeof *f->upper);
	if (!f->issue_at || !f->issue_of || !f->blind || !f->mean || !f->lower || !f->upper) {
		snprintf(err, errsize, "out of memory");
		pa_bt_forecasts_free(f);
		return NULL;
	}

	/* Forecast work per bucket, a count-like total, so the count rules of
	 * the forecaster (intervals at least Poisson-wide, clamped at zero)
	 * apply at the scale they were made for. */
	totals = malloc(s->n * sizeof *totals);
	if (totals == NULL) {
		snprintf(err, errsize, "out of memory");
		pa_bt_forecasts_free(f);
		return NULL;
	}
	for (size_t t = 0; t < s->n; t++)
		totals[t] = s->work[t] * s->step_s;
	if (event_grid_build(&events, c->events, s, s->n + f->horizon) != 0 ||
	    (events.ntypes > 0 && (f->window_bin = malloc(s->n + f->horizon)) == NULL)) {
		snprintf(err, errsize, "out of memory");
		event_grid_free(&events);
		pa_bt_forecasts_free(f);
		free(totals);
		return NULL;
	}

	events.by_offset = c->event_profile;
	for (size_t b = 0, offset = 0; f->window_bin != NULL && b < s->n + f->horizon; b++) {
		offset = b > 0 && events.any[b - 1] ? offset + 1 : 0;
		f->window_bin[b] = events.any[b] ? (unsigned char)(pa_fc_profile_bin(offset) + 1) : 0;
	}
	pa_fc_opts_default(&opts);
	opts.level = c->level;
	opts.model = c->model;
	opts.counts = 1;
	opts.transform = c->transform;
	for (size_t i = 0; i < f->nissues; i++) {
		size_t t = c->warmup + i * every;
		size_t from = c->history && t > c->history ? t - c->history : 0, known = 0;
		struct pa_fc_result r;
		int rc;

		/*
		 * A history of a few known buckets, as after a stretch without
		 * records longer than --history, gives a forecast of nothing but
		 * noise.  The policy keeps its count on it, as the HPA does without
		 * a metric.
		 */
		for (size_t b = from; b < t; b++)
			known += !isnan(totals[b]);
		f->blind[i] = known < BLIND_HISTORY;

		/* Only buckets before t reach the forecaster and the lift estimates. */
		if (events.ntypes > 0)
			estimate_lifts(&events, totals, t, f->horizon, season, week, c->level);
		opts.period = pa_fc_supported_period(t - from, c->period);

		/* The parameters fitted at the last full fit are carried forward and
		 * run over the newer history, as pa-forecast does with --state. */
		opts.reuse = spec[0] != '\0' && since_fit < c->refit_every ? spec : NULL;
		rc = pa_fc_forecast(totals + from, t - from, f->horizon, &opts, &r);
		if (rc == PA_FC_OK && r.reused) {
			since_fit++;
			f->reused++;
		} else if (rc == PA_FC_OK) {
			snprintf(spec, sizeof spec, "%s", r.spec);
			since_fit = 1;
		}
		f->issue_at[i] = t;
		for (size_t k = 0; k < every && t + k < s->n; k++)
			f->issue_of[t + k] = i;
		if (rc == PA_FC_NO_DATA) {
			/* No known history yet: an unknown forecast, planned as zero. */
			for (size_t k = 0; k < f->horizon; k++)
				f->mean[i * f->horizon + k] = f->lower[i * f->horizon + k] =
					f->upper[i * f->horizon + k] = 0;
			continue;
		}
		if (rc != PA_FC_OK) {
			snprintf(err, errsize, "forecast at bucket %zu failed: %s", t, r.reason);
			event_grid_free(&events);
			pa_bt_forecasts_free(f);
			free(totals);
			return NULL;
		}
		note_fallback(f, c, t - from, opts.period, &r);
		if (f->model[0] == '\0')
			snprintf(f->model, sizeof f->model, "%s", r.model);
		else if (strcmp(f->model, r.model) != 0)
			snprintf(f->model, sizeof f->model, "mixed");
		for (size_t k = 0; k < f->horizon; k++) {
			f->mean[i * f->horizon + k] = r.mean[k] / s->step_s;
			f->lower[i * f->horizon + k] = r.lower[k] / s->step_s;
			f->upper[i * f->horizon + k] = r.upper[k] / s->step_s;
		}
		pa_fc_result_free(&r);
		f->lifted += (size_t)apply_lifts(&events, f, i, t);
	}
	event_grid_free(&events);
	free(totals);
	if (calibrate(f, s, c) != 0 || calibrate_change(f, s, c) != 0) {
		snprintf(err, errsize, "out of memory");
		pa_bt_forecasts_free(f);
		return NULL;
	}
	return f;
}

/*
 * Work distribution forecast for bucket t + k, from the issue in force at
 * t.  Its 1 - risk quantile is the larger of the model's and the forecast
 * plus the replay's own error quantile; sigma is set so that pa-plan's
 * normal quantile lands there.
 */
static void
forecast_dist(const struct pa_bt_forecasts *f, size_t t, size_t k, double risk,
	      struct pa_work_dist *d)
{
	size_t i = f->issue_of[t];
	size_t off = t - f->issue_at[i] + k;
	struct pa_forecast_point p;
	char err[160];
	double z, q;

	if (off >= f->horizon)
		off = f->horizon - 1;
	p.step_s = 1;
	p.volume = fmax(f->mean[i * f->horizon + off], 0);
	p.volume_lower = fmin(fmax(f->lower[i * f->horizon + off], 0), p.volume);
	p.volume_upper = fmax(f->upper[i * f->horizon + off], p.volume);
	p.complexity = 1;
	p.complexity_lower = p.complexity_upper = NAN;
	p.level = f->level;
	p.nextra = 0;
	if (pa_work_dist_from_forecast(&p, d, err, sizeof err) != 0) {
		d->mean = d->lower = d->upper = p.volume;
		d->sigma = 0;
		d->level = 0;
	}

	q = error_quantile(f->error_q + (i * f->horizon + off) * NLEVELS, 1 - risk);
	if (isnan(q))
		return;
	z = gsl_cdf_ugaussian_Qinv(risk);
	if (z > 1e-9) {
		if (q > z * d->sigma)
			d->sigma = q / z;
	} else if (q > 0) {
		/* At risk 0.5 the quantile is the mean, so the median error shifts it. */
		d->mean += q;
	}
}

/* The fleet: ready instances and orders still starting, oldest first. */
struct fleet {
	long ready;
	long pending;
	size_t head, count, cap;
	long *arrive_tick;
	long *arrive_count;
};

static int
fleet_order(struct fleet *fl, long tick, long n)
{
	if (fl->head + fl->count == fl->cap) {
		if (fl->head > 0) {
			memmove(fl->arrive_tick, fl->arrive_tick + fl->head, fl->count * sizeof(long));
			memmove(fl->arrive_count, fl->arrive_count + fl->head, fl->count * sizeof(long));
			fl->head = 0;
		}
		if (fl->count == fl->cap) {
			size_t cap = fl->cap ? 2 * fl->cap : 64;
			long *a = realloc(fl->arrive_tick, cap * sizeof(long));

			if (a == NULL)
				return -1;
			fl->arrive_tick = a;
			a = realloc(fl->arrive_count, cap * sizeof(long));
			if (a == NULL)
				return -1;
			fl->arrive_count = a;
			fl->cap = cap;
		}
	}
	fl->arrive_tick[fl->head + fl->count] = tick;
	fl->arrive_count[fl->head + fl->count] = n;
	fl->count++;
	fl->pending += n;
	return 0;
}

/* Scale in: cancel the newest orders first, then stop ready instances. */
static void
fleet_remove(struct fleet *fl, long n)
{
	while (n > 0 && fl->count > 0) {
		size_t last = fl->head + fl->count - 1;
		long take = fl->arrive_count[last] < n ? fl->arrive_count[last] : n;

		fl->arrive_count[last] -= take;
		fl->pending -= take;
		n -= take;
		if (fl->arrive_count[last] == 0)
			fl->count--;
	}
	fl->ready -= n < fl->ready ? n : fl->ready;
}

/* Order or remove instances so the fleet comes to n, orders ready at ready_tick. */
static int
fleet_resize(struct fleet *fl, long ready_tick, long n)
{
	long spec = fl->ready + fl->pending;

	if (n > spec)
		return fleet_order(fl, ready_tick, n - spec);
	if (n < spec)
		fleet_remove(fl, spec - n);
	return 0;
}

static void
fleet_arrive(struct fleet *fl, long tick)
{
	while (fl->count > 0 && fl->arrive_tick[fl->head] <= tick) {
		fl->ready += fl->arrive_count[fl->head];
		fl->pending -= fl->arrive_count[fl->head];
		fl->head++;
		fl->count--;
	}
}

static long
clamp_count(const struct pa_plan_settings *p, long n)
{
	if (n > p->max_instances)
		n = p->max_instances;
	if (n < p->min_instances)
		n = p->min_instances;
	return n;
}

/* Replay state shared by the policies' decision functions. */
struct replay {
	const struct pa_bt_series *s;
	const struct pa_bt_config *c;
	const struct pa_bt_forecasts *f;
	struct pa_plan_settings plan;
	double setting;
	double tick_s;
	long ticks_per_bucket;
	long lead_ticks;
	long static_count;
	long metric_lag_ticks;		/* age of the utilization the HPA sees */
	struct demand demand;
	double *hpa_recs;		/* recommendations of the stabilization window, a ring */
	long *ready_at;			/* ready instances per scored tick, for the lagged metric */
	size_t hpa_window, hpa_next, hpa_filled;
	/*
	 * Work per second that on-demand instances must carry alone if every
	 * spot instance goes: the forecast's lower bound for the predictive
	 * policy, as pa-plan splits.  The others have no forecast, so only
	 * the on-demand base and share keep instances off spot, as on a
	 * cluster whose autoscaler fills a spot pool above an on-demand base.
	 */
	double work_lower;
};

static double
demand_at(const struct replay *r, long tick)
{
	return demand_tick(&r->demand, tick);
}

static double observed_load(const struct replay *r, const struct fleet *fl, long tick);

static long
decide_predictive(struct replay *r, const struct fleet *fl, size_t t)
{
	struct pa_plan_input in;
	struct pa_plan_result res;
	struct pa_work_dist d;
	double observed;
	size_t target = (size_t)floor(r->plan.lead_time_s / r->s->step_s);
	size_t last = lookahead_buckets(r->s, r->c) - 1;

	/* Blind, the count holds; the first decision has none to hold yet. */
	if (r->f->blind[r->f->issue_of[t]] && fl->ready + fl->pending > 0)
		return fl->ready + fl->pending;

	/* An order now serves from now + lead until the next decision's order
	 * arrives one step later, so it covers the largest need in that span. */
	forecast_dist(r->f, t, target, r->plan.risk, &in.target);
	for (size_t k = target + 1; k <= (size_t)floor((r->plan.lead_time_s + r->s->step_s - 1e-6) / r->s->step_s); k++) {
		forecast_dist(r->f, t, k, r->plan.risk, &d);
		if (pa_plan_need(&r->plan, &d) > pa_plan_need(&r->plan, &in.target))
			in.target = d;
	}

	/* Scale-in looks at every bucket from now until the window closes,
	 * because a removed instance cannot return before the lead time. */
	in.window_need = -1;
	for (size_t k = 0; k <= last; k++) {
		long need;

		forecast_dist(r->f, t, k, r->plan.risk, &d);
		need = pa_plan_need(&r->plan, &d);
		if (need > in.window_need)
			in.window_need = need;
	}
	in.current = fl->ready + fl->pending;
	in.signals_missing = 0;
	observed = observed_load(r, fl, (long)t * r->ticks_per_bucket);
	if (t > 0 && !isnan(observed)) {
		in.current_load = observed / r->plan.capacity;
	} else {
		in.current_load = -1;
		in.signals_missing = 1;
	}
	pa_plan_decide(&r->plan, &in, &res);
	r->work_lower = in.target.lower;
	return res.optimal;
}

/*
 * The HorizontalPodAutoscaler's algorithm with its defaults.  The sources
 * are the Kubernetes "Horizontal Pod Autoscaling" page, for the algorithm,
 * pods that are not ready or lack metrics, and the readiness flags.  The
 * autoscaling/v2 HPAScalingRules API reference gives the default scale-up
 * policies (double the pods or add 4 per 15 s window, the larger wins).
 * The v1.33 blog post on configurable tolerance gives the 10% default, and
 * the AKS autoscaling guide the 5-minute scale-down stabilization.
 *
 *  1. The metric is mean CPU utilization, sampled hpa_metric_lag_s ago
 *     (the metrics pipeline's delay; an estimate, the scrape and
 *     averaging windows are tens of seconds).  A pod cannot use more than
 *     its CPU, so utilization is served work over the capacity then ready
 *     and never exceeds 1.
 *  2. Pods with a usable sample: those ready both then and now.  A pod
 *     that became ready since has only a sample from before it served.
 *     Inside the CPU initialization period (5 minutes by default) the
 *     controller sets such a sample aside, and past it the sample reads
 *     as idle, which gives the same count below.  A pod still starting
 *     has no sample.  Those are the pods not yet ready.  Removed pods drop
 *     out of the list.
 *  3. ratio = utilization / target.  With every pod sampled, nothing changes
 *     within hpa_tolerance of 1 (0.1, --horizontal-pod-autoscaler-
 *     tolerance), else desired = ceil(ratio * sampled pods).
 *  4. Scaling up (ratio > 1) with pods not yet ready, those count at 0%
 *     and the ratio is recomputed over all pods; if it is then within the
 *     tolerance or below 1, nothing changes, else desired =
 *     ceil(new ratio * all pods), never below the current count.  Scaling
 *     down, they are left out, as step 3.
 *  5. Scale-in goes only to the largest recommendation of the last
 *     hpa_stabilization_s (300 s, the default scale-down stabilization
 *     window).
 *  6. Scale-up per hpa_period_s (15 s, the default sync period) is at most
 *     the larger of 4 pods and 100% of the current count (the default
 *     scale-up policies).
 *
 * Steps 3 and 4 give the same count, ceil(ratio * sampled pods).  They
 * differ only in when the tolerance keeps the current one.
 */
static long
decide_reactive(struct replay *r, const struct fleet *fl, double demand, long ready_then)
{
	long spec = fl->ready + fl->pending, rec, desired, limit;
	long sampled = ready_then < fl->ready ? ready_then : fl->ready;
	double utilization, ratio;

	/* No metric, or no pod with a usable sample: the HPA leaves the count alone. */
	if (isnan(demand) || sampled <= 0)
		return spec;
	utilization = fmin(demand / (ready_then * r->plan.capacity), 1);
	ratio = utilization / r->setting;
	if (ratio > 1 && sampled < spec) {
		double recomputed = ratio * (double)sampled / (double)spec;

		rec = (long)ceil(recomputed * (double)spec - 1e-9);
		if (recomputed <= 1 + r->c->hpa_tolerance || rec < spec)
			rec = spec;
	} else if (fabs(ratio - 1) <= r->c->hpa_tolerance) {
		rec = spec;
	} else {
		rec = (long)ceil(ratio * (double)sampled - 1e-9);
	}

	/* Scale-in only to the largest recommendation of the window. */
	r->hpa_recs[r->hpa_next] = (double)rec;
	r->hpa_next = (r->hpa_next + 1) % r->hpa_window;
	if (r->hpa_filled < r->hpa_window)
		r->hpa_filled++;
	desired = rec;
	if (desired < spec) {
		for (size_t i = 0; i < r->hpa_filled; i++)
			if (r->hpa_recs[i] > desired)
				desired = (long)r->hpa_recs[i];
		if (desired > spec)
			desired = spec;
	}

	limit = spec + r->c->hpa_up_pods;
	if ((long)ceil(spec * (1 + r->c->hpa_up_percent / 100)) > limit)
		limit = (long)ceil(spec * (1 + r->c->hpa_up_percent / 100));
	if (desired > limit)
		desired = limit;
	return clamp_count(&r->plan, desired);
}

/*
 * Size for everything until an instance ordered now would be ready.  An
 * unknown tick keeps the current count, as the other policies do, because
 * its demand is unknown.  Reading it as no demand would make the bound
 * cheaper than any policy could be.
 */
static long
decide_oracle(const struct replay *r, const struct fleet *fl, long tick)
{
	long last = (long)r->s->n * r->ticks_per_bucket - 1;
	long need = 0, hold = fl->ready + fl->pending;

	for (long u = tick; u <= tick + r->lead_ticks && u <= last; u++) {
		double d = demand_at(r, u);
		long n = isnan(d) ? hold : pa_plan_instances_for(d, r->plan.capacity);

		if (n > need)
			need = n;
	}
	return clamp_count(&r->plan, need);
}

/* Ready instances at a past tick, the current ones before the first. */
static long
ready_seen(const struct replay *r, const struct fleet *fl, long tick)
{
	long first = (long)r->c->warmup * r->ticks_per_bucket;

	if (tick < first || r->metric_lag_ticks == 0)
		return fl->ready;
	return r->ready_at[tick - first];
}

/*
 * The load present as usage records show it: work served hpa_metric_lag_s
 * ago, at most the ready capacity then, since CPU use saturates as the
 * HPA's metric does.  NAN when the bucket is unknown.
 */
static double
observed_load(const struct replay *r, const struct fleet *fl, long tick)
{
	long then = tick - r->metric_lag_ticks;
	double demand = demand_at(r, then);

	/* fmin() would return the capacity for an unknown demand, read as full load. */
	if (isnan(demand))
		return NAN;
	return fmin(demand, (double)ready_seen(r, fl, then) * r->plan.capacity);
}

/* Coverage counts of the quantile sized at the risk, inside and outside event windows. */
struct coverage {
	size_t inside, inside_covered, outside, outside_covered;
};

/*
 * Count whether the work of the bucket at the lead time from decision t
 * stayed within the quantile the plan sized for it, as the first bucket
 * decide_predictive() covers.
 */
static void
count_coverage(const struct replay *r, size_t t, struct coverage *cov)
{
	size_t target = (size_t)floor(r->plan.lead_time_s / r->s->step_s);
	struct pa_work_dist d;
	int covered;

	if (t + target >= r->s->n || isnan(r->s->work[t + target]))
		return;
	forecast_dist(r->f, t, target, r->plan.risk, &d);
	covered = r->s->work[t + target] <= pa_plan_work_quantile(&d, r->plan.risk);
	if (r->f->window_bin[t + target]) {
		cov->inside++;
		cov->inside_covered += (size_t)covered;
	} else {
		cov->outside++;
		cov->outside_covered += (size_t)covered;
	}
}

/*
 * Raise current to the floor under the plan, at every tick and between
 * forecasts too.  The floor starts from the load present as usage records
 * show it, as the HPA reads it.  An order placed now serves only after the
 * lead time, so that load grows by the quantile, at the risk, of its
 * change over the metric lag plus the lead time in the last season, each
 * end counted with one instance's capacity added (see log_change()).  This
 * is the HPA's headroom measured on the series instead of fixed by a target.
 * PA_BT_FLOOR_LOAD takes the load as it is, at full utilization, so the
 * plan follows a rise one lead time late.
 */
static long
predictive_floor(const struct replay *r, const struct fleet *fl, long tick, size_t t, long current)
{
	double d = observed_load(r, fl, tick), growth = NAN;
	long n;

	if (isnan(d))
		return current;
	if (r->c->floor == PA_BT_FLOOR_CHANGE)
		growth = exp(error_quantile(r->f->change_q + t * NLEVELS, 1 - r->plan.risk));
	if (isnan(growth))
		n = pa_plan_instances_for(d, r->plan.capacity);
	else
		n = pa_plan_instances_for((d + r->plan.capacity) * growth - r->plan.capacity,
					  r->plan.capacity * r->plan.target_utilization);
	n = clamp_count(&r->plan, n);
	return n > current ? n : current;
}

static long
decide(struct replay *r, enum pa_bt_policy policy, const struct fleet *fl, long tick, size_t t,
       int bucket_start, long current)
{
	switch (policy) {
	case PA_BT_PREDICTIVE:
		if (bucket_start)
			current = decide_predictive(r, fl, t);
		if (bucket_start && r->c->floor == PA_BT_FLOOR_LOAD)
			return current;
		return predictive_floor(r, fl, tick, t, current);
	case PA_BT_REACTIVE:
		return decide_reactive(r, fl, demand_at(r, tick - r->metric_lag_ticks),
				       ready_seen(r, fl, tick - r->metric_lag_ticks));
	case PA_BT_STATIC:
		return r->static_count;
	case PA_BT_ORACLE:
		break;
	}
	return decide_oracle(r, fl, tick);
}

static int
setup(struct replay *r, const struct pa_bt_series *s, const struct pa_bt_config *c,
      const struct pa_bt_forecasts *f, enum pa_bt_policy policy, double setting,
      char *err, size_t errsize)
{
	double peak = 0;

	memset(r, 0, sizeof *r);
	r->s = s;
	r->c = c;
	r->f = f;
	r->plan = c->plan;
	r->setting = setting;
	if (policy == PA_BT_PREDICTIVE) {
		if (f == NULL) {
			snprintf(err, errsize, "the predictive policy needs forecasts");
			return -1;
		}
		r->plan.risk = setting;
	}
	if (policy == PA_BT_REACTIVE && !(setting > 0 && setting <= 1)) {
		snprintf(err, errsize, "target utilization %g is outside (0, 1]", setting);
		return -1;
	}
	if (pa_plan_settings_check(&r->plan, err, errsize) != 0)
		return -1;

	/* The tick is the HPA's period when the step is a whole multiple of it. */
	r->ticks_per_bucket = ticks_per_bucket(s, c);
	r->tick_s = s->step_s / r->ticks_per_bucket;
	r->lead_ticks = (long)ceil(c->plan.lead_time_s / r->tick_s - 1e-9);
	r->metric_lag_ticks = (long)ceil(c->hpa_metric_lag_s / r->tick_s - 1e-9);
	if (demand_init(&r->demand, s, r->ticks_per_bucket) != 0) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}

	for (long u = (long)c->warmup * r->ticks_per_bucket; u < (long)s->n * r->ticks_per_bucket; u++) {
		double d = demand_at(r, u);

		if (!isnan(d) && d > peak)
			peak = d;
	}
	r->static_count = clamp_count(&r->plan, pa_plan_instances_for(peak, r->plan.capacity));

	r->hpa_window = (size_t)ceil(c->hpa_stabilization_s / r->tick_s);
	if (r->hpa_window == 0)
		r->hpa_window = 1;
	r->hpa_recs = calloc(r->hpa_window, sizeof *r->hpa_recs);
	r->ready_at = calloc((s->n - c->warmup) * (size_t)r->ticks_per_bucket, sizeof *r->ready_at);
	if (r->hpa_recs == NULL || r->ready_at == NULL) {
		free(r->hpa_recs);
		free(r->ready_at);
		demand_free(&r->demand);
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	return 0;
}

/* The fleet is taken to have run at its first count for a whole stabilization window. */
static void
seed_recommendations(struct replay *r, long count)
{
	for (size_t i = 0; i < r->hpa_window; i++)
		r->hpa_recs[i] = (double)count;
	r->hpa_filled = r->hpa_window;
}

int
pa_bt_run(const struct pa_bt_series *s, const struct pa_bt_config *c,
	  const struct pa_bt_forecasts *f, enum pa_bt_policy policy, double setting,
	  int keep_capacity, struct pa_bt_result *out, char *err, size_t errsize)
{
	struct replay r;
	struct fleet od, spot, all;
	double scored_s = 0, overloaded_s = 0, unserved = 0, served = 0, capacity_work = 0;
	double od_s = 0, spot_s = 0, reclaim_p = 0;
	long current = 0;
	int rc = 0;
	struct coverage cov = { 0, 0, 0, 0 };
	gsl_rng *rng = NULL;

	memset(out, 0, sizeof *out);
	out->window_coverage = out->outside_coverage = NAN;
	memset(&od, 0, sizeof od);
	memset(&spot, 0, sizeof spot);
	memset(&all, 0, sizeof all);
	out->policy = policy;
	out->setting = policy == PA_BT_PREDICTIVE || policy == PA_BT_REACTIVE ? setting : NAN;
	if (s->n <= c->warmup) {
		snprintf(err, errsize, "%zu bucket%s leave%s nothing to score after a warm-up of "
			 "%zu buckets; give a shorter --warmup (by default two seasons)", s->n,
			 s->n == 1 ? "" : "s", s->n == 1 ? "s" : "", c->warmup);
		return -1;
	}
	if (setup(&r, s, c, f, policy, setting, err, errsize) != 0)
		return -1;
	if (keep_capacity) {
		out->capacity = calloc(s->n, sizeof *out->capacity);
		if (out->capacity == NULL) {
			snprintf(err, errsize, "out of memory");
			free(r.hpa_recs);
			free(r.ready_at);
			demand_free(&r.demand);
			return -1;
		}
	}

	/*
	 * With a spot price, every policy splits its count as pa-plan does and
	 * runs two fleets, on-demand and spot, each replacing what it lost.
	 * --spot-interruption is read as a rate, reclaims per instance-hour,
	 * as pa-plan's expected cost reads it, so a tick's probability is
	 * 1 - exp(-rate * tick) and a rate of 1 stays finite.  The draws come from a fixed
	 * seed, the same for every policy and setting, so a replay repeats.
	 */
	if (c->plan.spot_price >= 0) {
		rng = gsl_rng_alloc(gsl_rng_mt19937);
		if (rng == NULL) {
			snprintf(err, errsize, "out of memory");
			rc = -1;
			goto done;
		}
		gsl_rng_set(rng, SPOT_SEED);
		reclaim_p = 1 - exp(-c->plan.spot_interruption * r.tick_s / 3600);
	}

	for (size_t t = c->warmup; t < s->n; t++) {
		double cap_sum = 0;

		if (policy == PA_BT_PREDICTIVE && f->window_bin != NULL)
			count_coverage(&r, t, &cov);

		for (long k = 0; k < r.ticks_per_bucket; k++) {
			long tick = (long)t * r.ticks_per_bucket + k;
			int first = t == c->warmup && k == 0;
			long desired, want_od, want_spot;
			double capacity, demand = demand_at(&r, tick), hourly;

			/* The policies decide on one fleet; only the replay keeps spot and on-demand apart. */
			all.ready = od.ready + spot.ready;
			all.pending = od.pending + spot.pending;

			/* The first decision starts the fleet ready, with no lead time and no rate limit. */
			if (first && policy == PA_BT_REACTIVE)
				desired = clamp_count(&r.plan, isnan(demand) ? 0 :
						      pa_plan_instances_for(demand, r.plan.capacity * setting));
			else
				desired = decide(&r, policy, &all, tick, t, k == 0, current);
			want_od = desired;
			want_spot = 0;

			/*
			 * The oracle stays on demand: it reads the future demand but
			 * cannot tell which spot instances go, so only on demand is
			 * it still a bound that is never overloaded.
			 */
			if (rng != NULL && policy != PA_BT_ORACLE) {
				long keep;

				pa_plan_split(&r.plan, desired, r.work_lower, &want_od, &want_spot, &hourly);

				/*
				 * Make before break, as pa-apply --execute does: either
				 * fleet shrinks only as far as the other one's ready
				 * instances cover the count.
				 */
				keep = desired - od.ready;
				if (keep > spot.ready + spot.pending)
					keep = spot.ready + spot.pending;
				if (keep > want_spot)
					want_spot = keep;
				keep = desired - spot.ready;
				if (keep > od.ready + od.pending)
					keep = od.ready + od.pending;
				if (keep > want_od)
					want_od = keep;
			}

			if (first) {
				od.ready = want_od;
				spot.ready = want_spot;
				seed_recommendations(&r, desired);
			} else if (fleet_resize(&od, tick + r.lead_ticks, want_od) != 0 ||
				   fleet_resize(&spot, tick + r.lead_ticks, want_spot) != 0) {
				snprintf(err, errsize, "out of memory");
				rc = -1;
				goto done;
			}
			/*
			 * A reclaimed instance is replaced at once, as its workload
			 * controller does, and the replacement serves one lead time
			 * later: at this tick already without a lead time.
			 */
			if (rng != NULL && spot.ready > 0 && reclaim_p > 0) {
				long lost = (long)gsl_ran_binomial(rng, reclaim_p, (unsigned int)spot.ready);

				spot.ready -= lost;
				out->interruptions += lost;
				if (lost > 0 && fleet_order(&spot, tick + r.lead_ticks, lost) != 0) {
					snprintf(err, errsize, "out of memory");
					rc = -1;
					goto done;
				}
			}
			fleet_arrive(&od, tick);
			fleet_arrive(&spot, tick);

			/*
			 * The policy's own count, not the fleets', which may hold
			 * instances until their replacements are ready: the floor
			 * keeps the count decided at the bucket start.
			 */
			current = desired;
			r.ready_at[tick - (long)c->warmup * r.ticks_per_bucket] = od.ready + spot.ready;

			capacity = (od.ready + spot.ready) * r.plan.capacity;
			cap_sum += capacity;
			od_s += (od.ready + od.pending) * r.tick_s;
			spot_s += (spot.ready + spot.pending) * r.tick_s;
			if (isnan(demand))
				continue;
			scored_s += r.tick_s;
			capacity_work += capacity * r.tick_s;
			if (demand > capacity * (1 + 1e-9)) {
				overloaded_s += r.tick_s;
				unserved += (demand - capacity) * r.tick_s;
				served += capacity * r.tick_s;
			} else {
				served += demand * r.tick_s;
			}
		}
		if (!isnan(s->work[t]))
			out->buckets++;
		if (out->capacity)
			out->capacity[t] = cap_sum / r.ticks_per_bucket;
	}

	out->overloaded_share = scored_s > 0 ? overloaded_s / scored_s : 0;
	out->unserved_work = unserved;
	out->instance_hours = (od_s + spot_s) / 3600;
	out->spot_hours = spot_s / 3600;
	out->cost = od_s / 3600 * c->plan.on_demand_price +
		    (c->plan.spot_price > 0 ? spot_s / 3600 * c->plan.spot_price : 0);
	out->mean_utilization = capacity_work > 0 ? served / capacity_work : 0;
	out->window_buckets = cov.inside;
	out->window_coverage = cov.inside ? (double)cov.inside_covered / (double)cov.inside : NAN;
	out->outside_coverage = cov.outside ? (double)cov.outside_covered / (double)cov.outside : NAN;
done:
	if (rng != NULL)
		gsl_rng_free(rng);
	free(r.hpa_recs);
	free(r.ready_at);
	demand_free(&r.demand);
	free(od.arrive_tick);
	free(od.arrive_count);
	free(spot.arrive_tick);
	free(spot.arrive_count);
	if (rc != 0)
		pa_bt_result_free(out);
	return rc;
}

void
pa_bt_result_free(struct pa_bt_result *r)
{
	free(r->capacity);
	r->capacity = NULL;
}

double
pa_bt_interpolate(const double *xs, const double *ys, size_t n, double x)
{
	if (n == 0 || x < xs[0] || x > xs[n - 1])
		return NAN;
	for (size_t i = 1; i < n; i++) {
		if (x <= xs[i]) {
			double span = xs[i] - xs[i - 1];

			if (span <= 0)
				return ys[i];
			return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / span;
		}
	}
	return ys[n - 1];
}
