/*
 * fc_regressors.c - regressor columns from events, and their effect records.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fc_regressors.h"
#include "ndjson.h"

#define XCORR_PAIRS_MIN 20	/* differenced pairs needed to rank a lag */

void
pa_fc_regressors_free(struct pa_fc_regressor_plan *rp)
{
	free(rp->x);
	free(rp->lead);
	free(rp->type);
	free(rp->stream);
	free(rp->log1p);
	free(rp->lag);
	free(rp->xcorr);
	free(rp->windows);
	memset(rp, 0, sizeof *rp);
}

/* Count the runs of marked buckets in mask[0..n). */
static size_t
count_windows(const unsigned char *mask, size_t n)
{
	size_t runs = 0;

	for (size_t i = 0; i < n; i++)
		runs += mask[i] && (i == 0 || !mask[i - 1] || (mask[i] & PA_FC_WINDOW_START));
	return runs;
}

/*
 * Return the Pearson correlation of the first differences of log1p(volume)
 * at t and of the stream at t - lag, over the pairs where all four values
 * are known.  Returns NAN with fewer than XCORR_PAIRS_MIN pairs or when
 * either difference series is constant.
 */
static double
lagged_xcorr(const double *volume, const double *stream, size_t n, size_t lag)
{
	double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, cov, vx, vy;
	size_t count = 0;

	for (size_t t = lag + 1; t < n; t++) {
		double dy = log1p(volume[t]) - log1p(volume[t - 1]);
		double dx = stream[t - lag] - stream[t - lag - 1];

		if (isnan(dy) || isnan(dx))
			continue;
		sx += dx;
		sy += dy;
		sxx += dx * dx;
		syy += dy * dy;
		sxy += dx * dy;
		count++;
	}
	if (count < XCORR_PAIRS_MIN)
		return NAN;
	cov = sxy - sx * sy / (double)count;
	vx = sxx - sx * sx / (double)count;
	vy = syy - sy * sy / (double)count;
	return vx > 0 && vy > 0 ? cov / sqrt(vx * vy) : NAN;
}

/*
 * Choose the lag in [0, max_lag] with the largest absolute correlation,
 * and store that correlation in *corr.  A tie keeps the shorter lag.
 * Returns -1 when no lag has enough pairs.
 */
static long
choose_lag(const double *volume, const double *stream, size_t n, size_t max_lag, double *corr)
{
	long best = -1;

	*corr = NAN;
	for (size_t lag = 0; lag <= max_lag && lag + XCORR_PAIRS_MIN < n; lag++) {
		double r = lagged_xcorr(volume, stream, n, lag);

		if (isnan(r))
			continue;
		if (best < 0 || fabs(r) > fabs(*corr)) {
			best = (long)lag;
			*corr = r;
		}
	}
	return best;
}

/*
 * Fill column c of rows width values apart with stream type t of series s
 * taken at its best lag.  Returns 1, or 0 after a warning when the stream
 * cannot be used.
 */
static int
add_stream(struct pa_fc_regressor_plan *rp, size_t c, size_t width,
	   const struct pa_fc_events *ev, size_t t, const struct pa_fc_series *s,
	   const double *volume, size_t n, size_t total, pa_usec_t first, size_t max_lag,
	   double *values)
{
	size_t known = 0;
	size_t negative = total;	/* first bucket with a negative sum, or total when none */
	int nonnegative;
	long lag;
	double corr;

	pa_fc_event_stream(ev, ev->types[t], s->tenant, s->service, first, s->step, total, values);
	for (size_t i = 0; i < total; i++) {
		if (isnan(values[i]))
			continue;
		known += i < n;
		if (values[i] < 0 && negative == total)
			negative = i;
	}
	nonnegative = negative == total;
	if (known < XCORR_PAIRS_MIN) {
		pa_warn("%s: trend stream \"%s\" has %zu sample%s in the history, not used as a regressor",
			s->name, ev->types[t], known, known == 1 ? "" : "s");
		return 0;
	}

	/* One negative bucket sum changes the scale of the whole stream, so it is reported. */
	if (!nonnegative) {
		char when[40];

		pa_warn("%s: trend stream \"%s\" sums to %.15g in the bucket at %s, so the whole "
			"stream is a regressor on its raw scale, not on log1p",
			s->name, ev->types[t], values[negative],
			pa_time_format(first + (pa_usec_t)negative * s->step, when, sizeof when));
	}

	/* Counts span orders of magnitude, and on log1p a burst does not swamp the fit. */
	for (size_t i = 0; nonnegative && i < total; i++)
		values[i] = log1p(values[i]);
	lag = choose_lag(volume, values, n, max_lag, &corr);
	if (lag < 0) {
		pa_warn("%s: trend stream \"%s\" overlaps too few known buckets to choose a lag, not used",
			s->name, ev->types[t]);
		return 0;
	}
	for (size_t i = 0; i < total; i++)
		rp->x[i * width + c] = i >= (size_t)lag ? values[i - (size_t)lag] : NAN;
	rp->lead[c] = (size_t)lag;
	rp->type[c] = t;
	rp->stream[c] = 1;
	rp->log1p[c] = nonnegative;
	rp->lag[c] = (size_t)lag;
	rp->xcorr[c] = corr;
	return 1;
}

int
pa_fc_regressors_build(struct pa_fc_regressor_plan *rp, const struct pa_fc_events *ev,
		       const struct pa_fc_series *s, const unsigned char *masks,
		       const double *volume, size_t n, size_t horizon, pa_usec_t first,
		       size_t max_lag)
{
	size_t total = n + horizon, c = 0;
	size_t width = ev->ntypes < PA_FC_REGRESSORS_MAX ? ev->ntypes : PA_FC_REGRESSORS_MAX;
	double *values;

	memset(rp, 0, sizeof *rp);
	if (width == 0)
		return 0;
	rp->x = malloc(total * width * sizeof *rp->x);
	rp->lead = calloc(width, sizeof *rp->lead);
	rp->type = calloc(width, sizeof *rp->type);
	rp->stream = calloc(width, sizeof *rp->stream);
	rp->log1p = calloc(width, sizeof *rp->log1p);
	rp->lag = calloc(width, sizeof *rp->lag);
	rp->xcorr = calloc(width, sizeof *rp->xcorr);
	rp->windows = calloc(width, sizeof *rp->windows);
	values = malloc(total * sizeof *values);
	if (rp->x == NULL || rp->lead == NULL || rp->type == NULL || rp->stream == NULL ||
	    rp->log1p == NULL || rp->lag == NULL || rp->xcorr == NULL || rp->windows == NULL ||
	    values == NULL) {
		free(values);
		pa_fc_regressors_free(rp);
		return -1;
	}

	/* Rows are width values apart until the columns in use are known. */
	for (size_t t = 0; t < ev->ntypes; t++) {
		const unsigned char *mask = masks + t * total;

		if (c == width) {
			pa_warn("%s: more than %d event types and trend streams, so the %zu from %s "
				"on, in byte order, are not regressors", s->name, PA_FC_REGRESSORS_MAX,
				ev->ntypes - t, pa_quote(ev->types[t], strlen(ev->types[t])));
			break;
		}
		if (pa_fc_event_is_stream(ev, ev->types[t])) {
			c += (size_t)add_stream(rp, c, width, ev, t, s, volume, n, total, first,
						max_lag, values);
			continue;
		}
		rp->windows[c] = count_windows(mask, n);
		if (rp->windows[c] == 0)
			continue;
		for (size_t i = 0; i < total; i++)
			rp->x[i * width + c] = mask[i] != 0;
		rp->lead[c] = PA_FC_LEAD_ALWAYS;
		rp->type[c] = t;
		c++;
	}
	free(values);

	/* Pack the rows to the columns in use. */
	for (size_t i = 0; i < total; i++)
		for (size_t j = 0; j < c; j++)
			rp->x[i * c + j] = rp->x[i * width + j];
	rp->rx.count = c;
	rp->rx.x = rp->x;
	rp->rx.lead = rp->lead;
	rp->rx.y = volume;
	return 0;
}

int
pa_fc_regressors_used(const struct pa_fc_regressor_plan *rp, const struct pa_fc_result *r)
{
	if (r->effects == NULL || strncmp(r->model, "regress", 7) != 0)
		return 0;
	for (size_t c = 0; c < rp->rx.count; c++)
		if (r->effects[c].used)
			return 1;
	return 0;
}

/*
 * Return the multiplicative lift of coef for effect e: exp(coef) on the
 * log1p scale, else (base + coef) / base, which is NAN unless the base is
 * positive.
 */
static double
effect_lift(const struct pa_fc_effect *e, double coef)
{
	if (e->log1p)
		return exp(coef);
	return e->base > 0 ? (e->base + coef) / e->base : NAN;
}

void
pa_fc_regressors_write(const struct pa_fc_regressor_plan *rp, const struct pa_fc_events *ev,
		       const struct pa_fc_series *s, const struct pa_fc_result *r, double level)
{
	for (size_t c = 0; c < rp->rx.count; c++) {
		const struct pa_fc_effect *e = &r->effects[c];
		json_t *rec;

		if (!e->used)
			continue;
		rec = json_object();
		json_object_set_new(rec, "kind", json_string("event_effect"));
		json_object_set_new(rec, "event_type", json_string(ev->types[rp->type[c]]));
		json_object_set_new(rec, "tenant_service_name", json_string(s->name));
		json_object_set_new(rec, "tenant", json_string(s->tenant));
		json_object_set_new(rec, "service", json_string(s->service));
		if (rp->stream[c]) {
			pa_rec_set_num(rec, "effect_per_unit", e->coef);
			pa_rec_set_num(rec, "effect_lower", e->lower);
			pa_rec_set_num(rec, "effect_upper", e->upper);
			json_object_set_new(rec, "effect_scale", json_string(e->log1p ? "log1p" : "none"));
			json_object_set_new(rec, "regressor",
					    json_string(rp->log1p[c] ? "log1p(magnitude)" : "magnitude"));
			pa_rec_set_num(rec, "cross_correlation", rp->xcorr[c]);
		} else {
			pa_rec_set_num(rec, "lift", effect_lift(e, e->coef));
			pa_rec_set_num(rec, "lift_lower", effect_lift(e, e->lower));
			pa_rec_set_num(rec, "lift_upper", effect_lift(e, e->upper));
		}
		pa_rec_set_num(rec, "interval_level", level);
		pa_rec_set_num(rec, "lag_steps", rp->stream[c] ? (double)rp->lag[c] : 0);
		if (rp->stream[c])
			pa_rec_set_num(rec, "steps_ahead", (double)e->steps);
		else
			pa_rec_set_num(rec, "windows", (double)rp->windows[c]);
		json_object_set_new(rec, "applied", json_boolean(rp->stream[c] ? e->steps > 0 : 1));
		json_object_set_new(rec, "method", json_string("regression"));
		pa_out_json(rec);
		json_decref(rec);
	}
}
