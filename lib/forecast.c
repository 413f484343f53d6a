/*
 * forecast.c - model choice, fallbacks, transforms and intervals.
 *
 * The models in fc_simple.c and fc_ets.c return a point forecast and an
 * error standard deviation per step.  This file decides which model runs,
 * turns the standard deviation into bounds at the requested level, maps a
 * log1p fit back, and keeps counts at or above zero.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>

#include "fc_models.h"
#include "forecast.h"

#define ORIGINS_MAX 3		/* rolling origins for the automatic choice */
#define CALIBRATE_MIN 10	/* hold-out errors needed to rescale intervals */
#define SCALE_MIN 0.5		/* bounds on that rescaling */
#define SCALE_MAX 3.0

struct model_ref {
	const char *name;	/* as accepted by --model */
	size_t period;		/* 0 for non-seasonal models */
	int log1p;		/* fitted on log1p(y) */
};

static const char *const model_names[] = {
	"auto", "snaive", "naive", "drift", "mean", "ses", "hw", "hw-damped", NULL
};

void
pa_fc_opts_default(struct pa_fc_opts *o)
{
	memset(o, 0, sizeof *o);
	o->level = 0.95;
	o->model = "auto";
	o->counts = 1;
	o->transform = PA_FC_TRANSFORM_AUTO;
}

int
pa_fc_model_known(const char *name)
{
	for (size_t i = 0; model_names[i]; i++)
		if (strcmp(name, model_names[i]) == 0)
			return 1;
	return 0;
}

size_t
pa_fc_supported_period(size_t n, size_t period)
{
	return period >= 2 && n >= 2 * period ? period : 0;
}

static int
is_seasonal(const char *name)
{
	return strcmp(name, "snaive") == 0 || strcmp(name, "hw") == 0 ||
	       strcmp(name, "hw-damped") == 0;
}

static int
run_model(const struct model_ref *mr, const double *y, size_t n, size_t horizon,
	  struct pa_fcm_out *out, char *why)
{
	struct pa_fcm_ets_spec spec = { 0, 0, 0 };

	if (strcmp(mr->name, "snaive") == 0)
		return pa_fcm_snaive(y, n, mr->period, horizon, out, why);
	if (strcmp(mr->name, "naive") == 0)
		return pa_fcm_naive(y, n, horizon, out, why);
	if (strcmp(mr->name, "drift") == 0)
		return pa_fcm_drift(y, n, horizon, out, why);
	if (strcmp(mr->name, "mean") == 0)
		return pa_fcm_mean(y, n, horizon, out, why);
	if (strcmp(mr->name, "hw") == 0) {
		spec.trend = 1;
	} else if (strcmp(mr->name, "hw-damped") == 0) {
		spec.trend = 1;
		spec.damped = 1;
	} else {
		assert(strcmp(mr->name, "ses") == 0);
	}
	spec.period = mr->period;
	return pa_fcm_ets(y, n, &spec, horizon, out, why);
}

static void
format_model(const struct model_ref *mr, char *buf, size_t size)
{
	const char *suffix = mr->log1p ? "+log1p" : "";

	if (mr->period)
		snprintf(buf, size, "%s(p=%zu)%s", mr->name, mr->period, suffix);
	else if (strcmp(mr->name, "hw") == 0)
		snprintf(buf, size, "holt%s", suffix);
	else if (strcmp(mr->name, "hw-damped") == 0)
		snprintf(buf, size, "holt-damped%s", suffix);
	else
		snprintf(buf, size, "%s%s", mr->name, suffix);
}

/* Return 1 when every known value equals the first one. */
static int
is_flat(const double *y, size_t n)
{
	double first = NAN;

	for (size_t i = 0; i < n; i++) {
		if (isnan(y[i]))
			continue;
		if (isnan(first))
			first = y[i];
		else if (y[i] != first)
			return 0;
	}
	return 1;
}

struct candidates {
	struct model_ref ref[16];
	size_t count;
	int transform;		/* PA_FC_TRANSFORM_*: which scales to try */
};

static void
add_candidate(struct candidates *c, const char *name, size_t period)
{
	int from = c->transform == PA_FC_TRANSFORM_LOG1P;
	int to = c->transform != PA_FC_TRANSFORM_NONE;

	for (int log = from; log <= to; log++) {
		assert(c->count < sizeof c->ref / sizeof c->ref[0]);
		c->ref[c->count++] = (struct model_ref){ name, period, log };
	}
}

/*
 * Mean absolute error of model mr over the rolling origins, on the scale
 * of y whatever scale mr fits on (fit is y or log1p(y)).  Each error on
 * the fitted scale divided by the model's own standard deviation goes to
 * zs, for interval calibration.  Returns NAN when the model fails on any
 * origin.
 */
static double
holdout_error(const struct model_ref *mr, const double *y, const double *fit, size_t n,
	      size_t hold, size_t origins, double *zs, size_t *nzs, double *mean, double *sd)
{
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX];
	double sum = 0;
	size_t count = 0;

	*nzs = 0;
	for (size_t r = 1; r <= origins; r++) {
		size_t train = n - r * hold;

		if (run_model(mr, fit, train, hold, &out, why) != 0)
			return NAN;
		for (size_t k = 0; k < hold; k++) {
			double actual = y[train + k];
			double point = mr->log1p ? expm1(mean[k]) : mean[k];

			if (isnan(actual))
				continue;
			sum += fabs(actual - (point > 0 || !mr->log1p ? point : 0));
			count++;
			if (sd[k] > 0)
				zs[(*nzs)++] = fabs(fit[train + k] - mean[k]) / sd[k];
		}
	}
	return count ? sum / (double)count : NAN;
}

/*
 * Choose among the candidates the history supports.  On return *chosen is
 * set and *scale holds the interval rescaling (1 when too few errors).
 */
static int
choose_auto(const double *y, const double *ylog, int transform, size_t n, size_t horizon,
	    const struct pa_fc_opts *o, struct model_ref *chosen, double *scale, char *reason)
{
	struct candidates c = { .count = 0, .transform = transform };
	size_t m = pa_fc_supported_period(n, o->period);
	size_t m2 = pa_fc_supported_period(n, o->period2);
	size_t need = 4, hold, origins, nzs, best_nzs = 0;
	double *mean, *sd, *zs, *best_zs, best = HUGE_VAL;
	double z = gsl_cdf_ugaussian_Pinv(0.5 + o->level / 2);
	int found = 0;

	if (m) {
		add_candidate(&c, "snaive", m);
		add_candidate(&c, "hw", m);
		add_candidate(&c, "hw-damped", m);
		need = 2 * m;
	} else if (o->period >= 2 && n > o->period) {
		/* One season and a little more: enough to repeat it, not to fit one. */
		add_candidate(&c, "snaive", o->period);
		need = o->period + 1;
	}
	if (m2 && m2 != m) {
		add_candidate(&c, "snaive", m2);
		need = need > 2 * m2 ? need : 2 * m2;
	}
	add_candidate(&c, "naive", 0);
	add_candidate(&c, "ses", 0);
	add_candidate(&c, "drift", 0);

	/* Hold out up to one horizon per origin, keeping 'need' values to train on. */
	hold = horizon < n / 4 ? horizon : n / 4;
	if (hold == 0 || n <= need) {
		*chosen = c.ref[0];
		*scale = 1;
		snprintf(reason, PA_FC_REASON_MAX, "history of %zu too short to compare models", n);
		return 0;
	}
	if (n - need < hold)
		hold = n - need;
	origins = (n - need) / hold;
	if (origins > ORIGINS_MAX)
		origins = ORIGINS_MAX;

	mean = malloc(hold * sizeof *mean);
	sd = malloc(hold * sizeof *sd);
	zs = malloc(hold * origins * sizeof *zs);
	best_zs = malloc(hold * origins * sizeof *best_zs);
	if (mean == NULL || sd == NULL || zs == NULL || best_zs == NULL) {
		free(mean);
		free(sd);
		free(zs);
		free(best_zs);
		return -1;
	}
	for (size_t i = 0; i < c.count; i++) {
		const double *fit = c.ref[i].log1p ? ylog : y;
		double err = holdout_error(&c.ref[i], y, fit, n, hold, origins, zs, &nzs, mean, sd);

		/* Ties keep the earlier, simpler-to-explain candidate. */
		if (!isnan(err) && err < best) {
			best = err;
			*chosen = c.ref[i];
			memcpy(best_zs, zs, nzs * sizeof *zs);
			best_nzs = nzs;
			found = 1;
		}
	}
	if (!found)
		*chosen = (struct model_ref){ "naive", 0, 0 };

	/*
	 * Scale the interval so it would have covered the requested share of
	 * the hold-out errors.  A few dozen errors give a rough quantile, so
	 * the factor is bounded.
	 */
	*scale = 1;
	if (best_nzs >= CALIBRATE_MIN) {
		double q;

		gsl_sort(best_zs, 1, best_nzs);
		q = best_zs[(size_t)floor(o->level * (double)(best_nzs - 1) + 0.5)];
		*scale = q / z;
		if (*scale < SCALE_MIN)
			*scale = SCALE_MIN;
		if (*scale > SCALE_MAX)
			*scale = SCALE_MAX;
	}
	snprintf(reason, PA_FC_REASON_MAX,
		 "lowest hold-out MAE of %zu candidates over %zu origins of %zu steps; interval scale %.2f",
		 c.count, origins, hold, *scale);
	free(mean);
	free(sd);
	free(zs);
	free(best_zs);
	return 0;
}

static void
result_clear(struct pa_fc_result *r)
{
	memset(r, 0, sizeof *r);
}

void
pa_fc_result_free(struct pa_fc_result *r)
{
	free(r->mean);
	free(r->lower);
	free(r->upper);
	r->mean = r->lower = r->upper = NULL;
}

/*
 * Try mr, then its non-seasonal form, then naive.  The reason of the first
 * failure is kept so the caller can say why the fallback ran.
 */
static int
run_with_fallback(struct model_ref mr, const double *y, size_t n, size_t horizon,
		  struct pa_fcm_out *out, struct pa_fc_result *res)
{
	char why[PA_FC_REASON_MAX];

	if (run_model(&mr, y, n, horizon, out, why) == 0) {
		format_model(&mr, res->model, sizeof res->model);
		return 0;
	}
	res->fallback = 1;
	snprintf(res->reason, sizeof res->reason, "%s: %.120s", mr.name, why);
	if (mr.period) {
		struct model_ref plain = { strcmp(mr.name, "snaive") == 0 ? "naive" : mr.name, 0,
					   mr.log1p };

		if (run_model(&plain, y, n, horizon, out, why) == 0) {
			format_model(&plain, res->model, sizeof res->model);
			return 0;
		}
	}
	mr = (struct model_ref){ "naive", 0, mr.log1p };
	if (run_model(&mr, y, n, horizon, out, why) == 0) {
		format_model(&mr, res->model, sizeof res->model);
		return 0;
	}
	return -1;
}

int
pa_fc_forecast(const double *y, size_t n, size_t horizon,
	       const struct pa_fc_opts *opts, struct pa_fc_result *out)
{
	struct pa_fc_opts o;
	struct pa_fcm_out fit;
	struct model_ref mr = { "naive", 0, 0 };
	double *ylog = NULL, z, scale = 1;
	size_t known = pa_fcm_known(y, n);
	int transform, rc = PA_FC_OK;

	result_clear(out);
	if (opts)
		o = *opts;
	else
		pa_fc_opts_default(&o);
	if (o.model == NULL)
		o.model = "auto";
	assert(o.level > 0 && o.level < 1);
	if (!pa_fc_model_known(o.model)) {
		snprintf(out->reason, sizeof out->reason, "unknown model \"%.40s\"", o.model);
		return PA_FC_BAD_MODEL;
	}
	if (known == 0) {
		snprintf(out->reason, sizeof out->reason, "no known value in the history");
		return PA_FC_NO_DATA;
	}
	if (horizon == 0)
		return PA_FC_OK;

	out->horizon = horizon;
	out->mean = malloc(horizon * sizeof *out->mean);
	out->lower = malloc(horizon * sizeof *out->lower);
	out->upper = malloc(horizon * sizeof *out->upper);
	if (out->mean == NULL || out->lower == NULL || out->upper == NULL) {
		rc = PA_FC_NO_MEMORY;
		goto fail;
	}

	/* log1p needs values >= 0; a negative value switches it off. */
	transform = o.transform;
	for (size_t i = 0; transform != PA_FC_TRANSFORM_NONE && i < n; i++)
		if (!isnan(y[i]) && y[i] < 0)
			transform = PA_FC_TRANSFORM_NONE;
	if (transform != PA_FC_TRANSFORM_NONE) {
		ylog = malloc(n * sizeof *ylog);
		if (ylog == NULL) {
			rc = PA_FC_NO_MEMORY;
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			ylog[i] = log1p(y[i]);
	}

	fit.mean = out->mean;
	fit.sd = out->lower;	/* reused as scratch, overwritten below */

	if (is_flat(y, n)) {
		/* Nothing to fit: repeat the value, on the original scale. */
		if (run_with_fallback(mr, y, n, horizon, &fit, out) != 0)
			goto nodata;
		out->fallback = 1;
		snprintf(out->reason, sizeof out->reason, "%s",
			 known == 1 ? "history of 1 known value" : "history has zero variance");
	} else if (strcmp(o.model, "auto") == 0) {
		if (choose_auto(y, ylog, transform, n, horizon, &o, &mr, &scale, out->reason) != 0) {
			rc = PA_FC_NO_MEMORY;
			goto fail;
		}
		if (run_with_fallback(mr, mr.log1p ? ylog : y, n, horizon, &fit, out) != 0)
			goto nodata;
	} else {
		size_t m = o.period;

		mr.name = o.model;
		mr.period = is_seasonal(o.model) ? m : 0;
		mr.log1p = transform == PA_FC_TRANSFORM_LOG1P;
		if (mr.period && pa_fc_supported_period(n, m) == 0 && strcmp(o.model, "snaive") != 0) {
			out->fallback = 1;
			snprintf(out->reason, sizeof out->reason,
				 "history of %zu shorter than 2 periods of %zu", n, m);
			mr.period = 0;
		}
		if (run_with_fallback(mr, mr.log1p ? ylog : y, n, horizon, &fit, out) != 0)
			goto nodata;
	}
	transform = mr.log1p;
	out->sigma = fit.sigma;

	/* Bounds on the fitted scale, then mapped back. */
	z = gsl_cdf_ugaussian_Pinv(0.5 + o.level / 2);
	for (size_t k = 0; k < horizon; k++) {
		double mean = out->mean[k], sd = fit.sd[k] * scale;
		double lo = mean - z * sd, hi = mean + z * sd;

		if (transform) {
			mean = expm1(mean);
			lo = expm1(lo);
			hi = expm1(hi);
		}
		if (!transform && sd == 0 && !o.counts)
			lo = mean - 0.01 * fabs(mean), hi = mean + 0.01 * fabs(mean);
		if (o.counts) {
			/* A count varies at least as a Poisson variable would. */
			double floor_mean = mean > 0 ? mean : 0;
			double poisson = z * sqrt(floor_mean > 1 ? floor_mean : 1);

			if (hi < floor_mean + poisson)
				hi = floor_mean + poisson;
			if (lo > floor_mean - z * sqrt(floor_mean))
				lo = floor_mean - z * sqrt(floor_mean);
			mean = floor_mean;
			if (lo < 0)
				lo = 0;
		}
		out->mean[k] = mean;
		out->lower[k] = lo;
		out->upper[k] = hi;
	}
	free(ylog);
	return PA_FC_OK;

nodata:
	rc = PA_FC_NO_DATA;
fail:
	free(ylog);
	pa_fc_result_free(out);
	out->horizon = 0;
	if (rc == PA_FC_NO_MEMORY)
		snprintf(out->reason, sizeof out->reason, "out of memory");
	return rc;
}
