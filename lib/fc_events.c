/*
 * fc_events.c - event windows and their estimated lift.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "diag.h"
#include "fc_events.h"
#include "ndjson.h"

#define BASELINE_SEASONS 3

static char *
copy_or_null(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = malloc(strlen(s) + 1);
	if (p != NULL)
		memcpy(p, s, strlen(s) + 1);
	return p;
}

static int
add_type(struct pa_fc_events *e, const char *type)
{
	size_t lo = 0, hi = e->ntypes;
	char **v;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(e->types[mid], type);

		if (c == 0)
			return 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	v = realloc(e->types, (e->ntypes + 1) * sizeof *v);
	if (v == NULL)
		return -1;
	e->types = v;
	memmove(v + lo + 1, v + lo, (e->ntypes - lo) * sizeof *v);
	v[lo] = copy_or_null(type);
	if (v[lo] == NULL)
		return -1;
	e->ntypes++;
	return 0;
}

/* Report field key of an event as missing or invalid ("is not WHAT"). */
static int
bad_event_field(const json_t *rec, const char *key, const char *what, char *err,
		size_t errsize, const char **reason_class, const char *cls)
{
	*reason_class = cls;
	snprintf(err, errsize, "field \"%s\" is not %s: %s", key, what,
		 pa_quote_json(json_object_get(rec, key)));
	return -1;
}

static int
string_or_absent(const json_t *rec, const char *key)
{
	const json_t *v = json_object_get(rec, key);

	return v == NULL || json_is_string(v);
}

/* A series is never named with an empty part, so an empty scope would match none. */
static int
scope_or_absent(const json_t *rec, const char *key)
{
	const json_t *v = json_object_get(rec, key);

	return v == NULL || (json_is_string(v) && json_string_length(v) > 0);
}

int
pa_fc_events_add(struct pa_fc_events *e, const json_t *rec, pa_usec_t window,
		 char *err, size_t errsize, const char **reason_class)
{
	const char *type = pa_rec_str(rec, "event_type");
	pa_usec_t start, end;
	double magnitude = 1;
	int has_magnitude;
	int got;
	struct pa_fc_event ev;

	if (type == NULL || type[0] == '\0')
		return bad_event_field(rec, "event_type", "a non-empty string", err, errsize,
				       reason_class, "invalid event_type");
	if (pa_rec_time(rec, "ts", &start) != 1)
		return bad_event_field(rec, "ts", "a timestamp", err, errsize, reason_class,
				       "invalid ts");
	got = pa_rec_time(rec, "end", &end);
	if (got < 0 || (got == 1 && end <= start))
		return bad_event_field(rec, "end", "a timestamp after \"ts\"", err, errsize,
				       reason_class, "invalid end");
	if (got == 0)
		end = start + window;
	/*
	 * One sample near the largest double would outweigh a whole trend
	 * stream.  A null magnitude is rejected, not read as the default 1,
	 * because that 1 would be a made-up sample.
	 */
	has_magnitude = pa_rec_num(rec, "magnitude", &magnitude);
	if (has_magnitude < 0 || (has_magnitude == 1 && !(fabs(magnitude) <= 1e15)) ||
	    (has_magnitude == 0 && json_object_get(rec, "magnitude") != NULL))
		return bad_event_field(rec, "magnitude", "a number from -1e15 to 1e15", err, errsize,
				       reason_class, "invalid magnitude");

	/*
	 * A tenant or service that is not a string would read as absent, and
	 * the event would apply to every series.  An empty one would apply to
	 * none.
	 */
	if (!scope_or_absent(rec, "tenant"))
		return bad_event_field(rec, "tenant", "a non-empty string", err, errsize, reason_class,
				       "invalid tenant");
	if (!scope_or_absent(rec, "service"))
		return bad_event_field(rec, "service", "a non-empty string", err, errsize, reason_class,
				       "invalid service");
	if (!string_or_absent(rec, "name"))
		return bad_event_field(rec, "name", "a string", err, errsize, reason_class,
				       "invalid name");

	if (e->count == e->alloc) {
		size_t alloc = e->alloc ? 2 * e->alloc : 32;
		struct pa_fc_event *v = realloc(e->v, alloc * sizeof *v);

		if (v == NULL)
			goto nomem;
		e->v = v;
		e->alloc = alloc;
	}
	ev.start = start;
	ev.end = end;
	ev.magnitude = magnitude;
	ev.has_end = got == 1;
	ev.far_checked = 0;
	ev.type = copy_or_null(type);
	ev.tenant = copy_or_null(pa_rec_str(rec, "tenant"));
	ev.service = copy_or_null(pa_rec_str(rec, "service"));
	if (ev.type == NULL || add_type(e, type) != 0) {
		free(ev.type);
		free(ev.tenant);
		free(ev.service);
		goto nomem;
	}
	e->v[e->count++] = ev;
	return 0;
nomem:
	*reason_class = "out of memory";
	snprintf(err, errsize, "out of memory storing an event");
	return -1;
}

void
pa_fc_events_free(struct pa_fc_events *e)
{
	for (size_t i = 0; i < e->count; i++) {
		free(e->v[i].type);
		free(e->v[i].tenant);
		free(e->v[i].service);
	}
	for (size_t i = 0; i < e->ntypes; i++)
		free(e->types[i]);
	free(e->v);
	free(e->types);
	memset(e, 0, sizeof *e);
}

int
pa_fc_event_far(const struct pa_fc_event *ev, pa_usec_t first, pa_usec_t last)
{
	/* Compared as differences, because the times may lie near the ends of pa_usec_t. */
	if (ev->start > last && ev->start - last > PA_FC_EVENT_FAR)
		return 1;
	if (ev->end < first && first - ev->end > PA_FC_EVENT_FAR)
		return -1;
	return 0;
}

int
pa_fc_event_is_stream(const struct pa_fc_events *e, const char *type)
{
	size_t count = 0;
	int varies = 0;
	double first = 0;

	for (size_t i = 0; i < e->count; i++) {
		const struct pa_fc_event *ev = &e->v[i];

		if (strcmp(ev->type, type) != 0)
			continue;
		if (ev->has_end)
			return 0;
		if (count++ == 0)
			first = ev->magnitude;
		else if (ev->magnitude != first)
			varies = 1;
	}
	return varies && count >= PA_FC_STREAM_MIN;
}

size_t
pa_fc_event_stream(const struct pa_fc_events *e, const char *type, const char *tenant,
		   const char *service, pa_usec_t first, pa_usec_t step, size_t n, double *out)
{
	pa_usec_t last = first + (pa_usec_t)n * step;
	size_t filled = 0;

	for (size_t i = 0; i < n; i++)
		out[i] = NAN;
	for (size_t i = 0; i < e->count; i++) {
		const struct pa_fc_event *ev = &e->v[i];
		size_t b;

		if (strcmp(ev->type, type) != 0 ||
		    (ev->tenant && strcmp(ev->tenant, tenant) != 0) ||
		    (ev->service && strcmp(ev->service, service) != 0))
			continue;
		if (ev->start < first || ev->start >= last)
			continue;
		b = (size_t)((ev->start - first) / step);
		if (isnan(out[b])) {
			out[b] = 0;
			filled++;
		}
		out[b] += ev->magnitude;
	}
	return filled;
}

size_t
pa_fc_event_mask(const struct pa_fc_events *e, const char *type, const char *tenant,
		 const char *service, pa_usec_t first, pa_usec_t step, size_t n,
		 unsigned char *mask)
{
	size_t marked = 0;
	pa_usec_t last = first + (pa_usec_t)n * step;
	enum { COVERED = 1, INSIDE = 4 };	/* INSIDE: a window began before this bucket */

	for (size_t i = 0; i < e->count; i++) {
		const struct pa_fc_event *ev = &e->v[i];
		pa_usec_t from, to;

		if (strcmp(ev->type, type) != 0 ||
		    (ev->tenant && strcmp(ev->tenant, tenant) != 0) ||
		    (ev->service && strcmp(ev->service, service) != 0))
			continue;
		if (ev->end <= first || ev->start >= last)
			continue;
		from = ev->start > first ? (ev->start - first) / step : 0;
		to = (ev->end - first + step - 1) / step;
		if (to > (pa_usec_t)n)
			to = (pa_usec_t)n;
		for (pa_usec_t b = from; b < to; b++) {
			marked += !mask[b];
			mask[b] |= COVERED | (b == from ? PA_FC_WINDOW_START : INSIDE);
		}
	}

	/* A window that begins inside another is part of it. */
	for (size_t b = 0; b < n; b++) {
		if (mask[b] & INSIDE)
			mask[b] &= (unsigned char)~PA_FC_WINDOW_START;
		mask[b] &= (unsigned char)~INSIDE;
	}
	return marked;
}

/* Return the mean of the known values of y[from, to) outside other[], or NAN. */
static double
day_level(const double *y, size_t from, size_t to, const unsigned char *other)
{
	double sum = 0;
	size_t count = 0;

	for (size_t b = from; b < to; b++) {
		if (other[b] || isnan(y[b]))
			continue;
		sum += y[b];
		count++;
	}
	return count ? sum / (double)count : NAN;
}

/*
 * Return the baseline of bucket i from the second, longer season lag2.  It
 * averages the same bucket one to BASELINE_SEASONS of those seasons
 * earlier, each scaled by the level of the lag steps before i over the
 * level of the lag steps before that bucket.  So a Saturday is measured
 * against Saturdays, and growth between the weeks does not count as lift.
 * Returns NAN when no earlier season has a usable bucket.
 */
static double
weekly_baseline(const double *y, size_t i, const unsigned char *other, size_t lag, size_t lag2)
{
	double base = 0, now;
	size_t nb = 0;

	if (lag2 <= lag || i < lag2 + lag)
		return NAN;
	now = day_level(y, i - lag, i, other);
	if (!(now > 0))
		return NAN;
	for (size_t j = 1; j <= BASELINE_SEASONS && j * lag2 + lag <= i; j++) {
		size_t b = i - j * lag2;
		double then;

		if (other[b] || isnan(y[b]))
			continue;
		then = day_level(y, b - lag, b, other);
		if (!(then > 0))
			continue;
		base += y[b] * now / then;
		nb++;
	}
	return nb ? base / (double)nb : NAN;
}

/*
 * log1p(y[i]) - log1p(baseline) for bucket i, the baseline being the mean
 * of y one to BASELINE_SEASONS lags earlier outside other[], or the
 * level-scaled one of the second season lag2 when it has one (0: none).
 * NAN when y[i] or every baseline bucket is unknown.
 */
static double
bucket_log_ratio(const double *y, size_t i, const unsigned char *other, size_t lag, size_t lag2)
{
	double base = 0;
	size_t nb = 0;

	if (isnan(y[i]))
		return NAN;
	base = weekly_baseline(y, i, other, lag, lag2);
	if (!isnan(base))
		return log1p(y[i]) - log1p(base);
	base = 0;
	for (size_t j = 1; j <= BASELINE_SEASONS && j * lag <= i; j++) {
		size_t b = i - j * lag;

		if (other[b] || isnan(y[b]))
			continue;
		base += y[b];
		nb++;
	}
	if (nb == 0)
		return NAN;
	return log1p(y[i]) - log1p(base / (double)nb);
}

/* Sums of one log ratio per window, and the lift and interval they give. */
struct moments {
	double sum, sumsq;
	size_t count;
};

static void
moments_add(struct moments *m, double x)
{
	m->sum += x;
	m->sumsq += x * x;
	m->count++;
}

static double
moments_mean(const struct moments *m)
{
	return m->sum / (double)m->count;
}

/* Sample variance across windows; needs count >= 2. */
static double
moments_var(const struct moments *m)
{
	double var = (m->sumsq - m->sum * moments_mean(m)) / (double)(m->count - 1);

	return var > 0 ? var : 0;
}

static double
t_quantile(double level, size_t windows)
{
	return gsl_cdf_tdist_Pinv(0.5 + level / 2, (double)(windows - 1));
}

static struct pa_fc_lift
lift_from_moments(const struct moments *m, double level)
{
	struct pa_fc_lift l = { 1, NAN, NAN, m->count };

	if (m->count == 0)
		return l;
	l.lift = exp(moments_mean(m));
	if (m->count >= 2) {
		double se = sqrt(moments_var(m) / (double)m->count);
		double t = t_quantile(level, m->count);

		l.lower = exp(moments_mean(m) - t * se);
		l.upper = exp(moments_mean(m) + t * se);
	}
	return l;
}

size_t
pa_fc_profile_bin(size_t offset)
{
	size_t b = 0;

	for (size_t x = offset + 1; x > 1; x >>= 1)
		b++;
	return b < PA_FC_PROFILE_BINS ? b : PA_FC_PROFILE_BINS - 1;
}

size_t
pa_fc_profile_bin_start(size_t b)
{
	return ((size_t)1 << b) - 1;
}

size_t
pa_fc_event_offset(const unsigned char *mask, size_t i)
{
	size_t from = i;

	if (!mask[i])
		return 0;
	while (from > 0 && mask[from - 1] && !(mask[from] & PA_FC_WINDOW_START))
		from--;
	return i - from;
}

/*
 * Fill bin b of p from the window log ratios of that bin, shrunk toward
 * the whole-window estimate w.  The standard error of the shrunk mean is
 * taken as the weighted sum of the two standard errors, an upper bound
 * whatever their correlation.  The prediction adds the variance of single
 * windows, pooled the same way, so its interval is for the lift of one more
 * window.
 */
static void
profile_fill_bin(struct pa_fc_profile *p, size_t b, const struct moments *bin,
		 const struct moments *w, double level)
{
	double weight, mean_w, var_w, se_w, center, se, var, t;

	p->bin[b] = p->whole;
	p->prediction_sd[b] = NAN;
	if (w->count < 2)
		return;
	mean_w = moments_mean(w);
	var_w = moments_var(w);
	se_w = sqrt(var_w / (double)w->count);
	if (bin->count < 2) {
		p->prediction_sd[b] = sqrt(var_w + se_w * se_w);
		return;
	}
	weight = (double)bin->count / (double)(bin->count + PA_FC_PROFILE_PRIOR);
	center = weight * moments_mean(bin) + (1 - weight) * mean_w;
	se = weight * sqrt(moments_var(bin) / (double)bin->count) + (1 - weight) * se_w;
	var = weight * moments_var(bin) + (1 - weight) * var_w;
	t = t_quantile(level, bin->count);
	p->bin[b] = (struct pa_fc_lift){ exp(center), exp(center - t * se), exp(center + t * se),
					 bin->count };
	p->prediction_sd[b] = sqrt(var + se * se);
}

struct pa_fc_profile
pa_fc_event_profile(const double *y, size_t n, const unsigned char *mask,
		    const unsigned char *other, size_t period, size_t period2, double level)
{
	struct pa_fc_profile p;
	struct moments whole = { 0, 0, 0 }, bins[PA_FC_PROFILE_BINS];
	size_t lag = period ? period : 1, i = 0;

	memset(&p, 0, sizeof p);
	memset(bins, 0, sizeof bins);

	/* One log ratio per window, a run of consecutive marked buckets, and
	 * one per window and bin of offsets. */
	while (i < n) {
		double run = 0, in_bin[PA_FC_PROFILE_BINS] = { 0 };
		size_t used = 0, used_bin[PA_FC_PROFILE_BINS] = { 0 }, start = i;

		if (!mask[i]) {
			i++;
			continue;
		}
		for (; i < n && mask[i] && (i == start || !(mask[i] & PA_FC_WINDOW_START)); i++) {
			double r = bucket_log_ratio(y, i, other, lag, period ? period2 : 0);
			size_t b = pa_fc_profile_bin(i - start);

			if (isnan(r))
				continue;
			run += r;
			used++;
			in_bin[b] += r;
			used_bin[b]++;
		}
		if (used == 0)
			continue;
		moments_add(&whole, run / (double)used);
		for (size_t b = 0; b < PA_FC_PROFILE_BINS; b++) {
			if (used_bin[b] == 0)
				continue;
			moments_add(&bins[b], in_bin[b] / (double)used_bin[b]);
			if (b + 1 > p.nbins)
				p.nbins = b + 1;
		}
	}

	p.whole = lift_from_moments(&whole, level);
	for (size_t b = 0; b < PA_FC_PROFILE_BINS; b++)
		profile_fill_bin(&p, b, &bins[b], &whole, level);
	return p;
}

struct pa_fc_lift
pa_fc_event_lift(const double *y, size_t n, const unsigned char *mask,
		 const unsigned char *other, size_t period, size_t period2, double level)
{
	return pa_fc_event_profile(y, n, mask, other, period, period2, level).whole;
}

double
pa_fc_profile_lift(const struct pa_fc_profile *p, size_t offset)
{
	return p->bin[pa_fc_profile_bin(offset)].lift;
}

void
pa_fc_profile_prediction(const struct pa_fc_profile *p, size_t b, double level,
			 double *lower, double *upper)
{
	double t;

	if (isnan(p->prediction_sd[b]) || p->bin[b].windows < 2) {
		*lower = *upper = NAN;
		return;
	}
	t = t_quantile(level, p->bin[b].windows);
	*lower = p->bin[b].lift * exp(-t * p->prediction_sd[b]);
	*upper = p->bin[b].lift * exp(t * p->prediction_sd[b]);
}
