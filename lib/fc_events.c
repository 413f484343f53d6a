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
	const json_t *v = json_object_get(rec, key);
	char *text;

	*reason_class = cls;
	if (v == NULL) {
		snprintf(err, errsize, "missing field \"%s\"", key);
		return -1;
	}
	if (json_is_string(v)) {
		snprintf(err, errsize, "field \"%s\" is not %s: %s", key, what,
			 pa_quote(json_string_value(v), json_string_length(v)));
		return -1;
	}
	text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	snprintf(err, errsize, "field \"%s\" is not %s: %.60s", key, what, text ? text : "?");
	free(text);
	return -1;
}

int
pa_fc_events_add(struct pa_fc_events *e, const json_t *rec, pa_usec_t window,
		 char *err, size_t errsize, const char **reason_class)
{
	const char *type = pa_rec_str(rec, "event_type");
	pa_usec_t start, end;
	double magnitude = 1;
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
	if (pa_rec_num(rec, "magnitude", &magnitude) < 0)
		return bad_event_field(rec, "magnitude", "a number", err, errsize, reason_class,
				       "invalid magnitude");

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
			mask[b] = 1;
		}
	}
	return marked;
}

struct pa_fc_lift
pa_fc_event_lift(const double *y, size_t n, const unsigned char *mask,
		 const unsigned char *other, size_t period, double level)
{
	struct pa_fc_lift l = { 1, NAN, NAN, 0 };
	double sum = 0, sumsq = 0;
	size_t lag = period ? period : 1, i = 0;

	/* One log ratio per window: a run of consecutive marked buckets. */
	while (i < n) {
		double run = 0;
		size_t used = 0;

		if (!mask[i]) {
			i++;
			continue;
		}
		for (; i < n && mask[i]; i++) {
			double base = 0;
			size_t nb = 0;

			if (isnan(y[i]))
				continue;
			for (size_t j = 1; j <= BASELINE_SEASONS && j * lag <= i; j++) {
				size_t b = i - j * lag;

				if (other[b] || isnan(y[b]))
					continue;
				base += y[b];
				nb++;
			}
			if (nb == 0)
				continue;
			run += log1p(y[i]) - log1p(base / (double)nb);
			used++;
		}
		if (used == 0)
			continue;
		run /= (double)used;
		sum += run;
		sumsq += run * run;
		l.windows++;
	}
	if (l.windows == 0)
		return l;

	double mean = sum / (double)l.windows;

	l.lift = exp(mean);
	if (l.windows >= 2) {
		double var = (sumsq - sum * mean) / (double)(l.windows - 1);
		double se = sqrt(var > 0 ? var / (double)l.windows : 0);
		double t = gsl_cdf_tdist_Pinv(0.5 + level / 2, (double)(l.windows - 1));

		l.lower = exp(mean - t * se);
		l.upper = exp(mean + t * se);
	}
	return l;
}
