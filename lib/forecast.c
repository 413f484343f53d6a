/*
 * forecast.c - model choice, fallbacks, transforms and intervals.
 *
 * The models in fc_simple.c and fc_ets.c return a point forecast and an
 * error standard deviation per step.  This file decides which model runs,
 * turns the standard deviation into bounds at the requested level, maps a
 * log1p or Box-Cox fit back, and keeps counts at or above zero.
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

#define ORIGINS_MAX 10		/* rolling origins for the automatic choice */
#define CALIBRATE_MIN 10	/* hold-out errors needed to rescale intervals */
#define SCALE_MIN 0.5		/* bounds on that rescaling */
#define SCALE_MAX 3.0
#define COMBINE_MAX 3		/* most models averaged by the automatic choice */
/*
 * Relative spread below which a history counts as flat.  A complexity of
 * 1.1 read back from a state file's 12-digit sums differs from the
 * computed one in the last bits, and a model fitted to that noise is
 * noise itself.
 */
#define FLAT_TOLERANCE 1e-9
#define INTERMITTENT_SHARE 0.3	/* share of zero buckets from which Croston competes */
#define OUT_OF_RANGE (-2)	/* forecast_one: the model ran, path_outside rejected its path */

struct model_ref {
	const char *name;	/* as accepted by --model */
	size_t period;		/* 0 for non-seasonal models */
	int transform;		/* PA_FC_TRANSFORM_NONE, _LOG1P or _BOXCOX: the scale fitted */
	size_t period2;		/* second season of mstl, fourier and regress; 0 for none */
	/* Only for "regress": */
	const struct pa_fc_regressors *rx;
	double level;		/* interval level of the effects */
	struct pa_fc_effect *effects;	/* NULL, or where the fit writes them */
};

/* The history on the transformed scales that the models may be fitted on. */
struct scales {
	double *log1p;		/* log1p(y); NULL when not used */
	double *boxcox;		/* Box-Cox of y + shift; NULL when not used */
	double lambda, shift;
	double cap;		/* largest value a back-transformed value may take */
	int boxcox_distinct;	/* lambda is far enough from 0 and 1 to try beside log1p and raw */
};

static const char *const model_names[] = {
	"auto", "snaive", "naive", "drift", "mean", "ses", "hw", "hw-damped", "croston", "arima",
	"ets", "mstl", "fourier", "regress", NULL
};

void
pa_fc_opts_default(struct pa_fc_opts *o)
{
	memset(o, 0, sizeof *o);
	o->level = 0.95;
	o->model = "auto";
	o->counts = 1;
	o->nonnegative = 1;
	o->transform = PA_FC_TRANSFORM_AUTO;
}

int
pa_fc_model_known(const char *name)
{
	for (size_t i = 0; model_names[i]; i++)
		if (strcmp(name, model_names[i]) == 0)
			return 1;
	return strncmp(name, "ets:", 4) == 0 && pa_fcm_etsx_parse(name + 4) >= 0;
}

const char *
pa_fc_model_list(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; model_names[i] && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s, ", model_names[i]);
	if (used < size)
		snprintf(buf + used, size - used, "or ets:FORM such as ets:MAdM");
	return buf;
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
	       strcmp(name, "hw-damped") == 0 || strcmp(name, "arima") == 0 ||
	       strncmp(name, "ets", 3) == 0 || strcmp(name, "mstl") == 0 ||
	       strcmp(name, "fourier") == 0;
}

int
pa_fc_model_seasonal(const char *name)
{
	return is_seasonal(name);
}

int
pa_fc_model_needs_two_periods(const char *name)
{
	if (strncmp(name, "ets:", 4) == 0)
		return PA_FCM_ETS_SEASON(pa_fcm_etsx_parse(name + 4)) != 0;
	return is_seasonal(name) && strcmp(name, "snaive") != 0;
}

/* Run model mr; reuse (may be NULL) carries ETS or ARIMA parameters between origins. */
static int
run_model(const struct model_ref *mr, const double *y, size_t n, size_t horizon,
	  struct pa_fcm_out *out, char *why, struct pa_fcm_params *reuse)
{
	struct pa_fcm_ets_spec spec = { 0, 0, 0, reuse };

	if (strcmp(mr->name, "snaive") == 0)
		return pa_fcm_snaive(y, n, mr->period, horizon, out, why);
	if (strcmp(mr->name, "naive") == 0)
		return pa_fcm_naive(y, n, horizon, out, why);
	if (strcmp(mr->name, "drift") == 0)
		return pa_fcm_drift(y, n, horizon, out, why);
	if (strcmp(mr->name, "mean") == 0)
		return pa_fcm_mean(y, n, horizon, out, why);
	if (strcmp(mr->name, "croston") == 0)
		return pa_fcm_croston(y, n, horizon, out, why);
	if (strcmp(mr->name, "arima") == 0)
		return pa_fcm_arima(y, n, mr->period, horizon, reuse ? &reuse->arima : NULL, out, why);
	if (strcmp(mr->name, "mstl") == 0)
		return pa_fcm_mstl(y, n, mr->period, mr->period2, horizon, reuse, out, why);
	if (strcmp(mr->name, "fourier") == 0)
		return pa_fcm_fourier(y, n, mr->period, mr->period2, horizon, reuse, out, why);
	if (strncmp(mr->name, "ets", 3) == 0)
		return pa_fcm_etsx(y, n, mr->period,
				   mr->name[3] == ':' ? pa_fcm_etsx_parse(mr->name + 4) : PA_FCM_ETS_AUTO,
				   horizon, reuse, out, why);
	if (strcmp(mr->name, "regress") == 0) {
		struct pa_fcm_regress_spec rs = { mr->period, mr->period2, mr->rx,
						  mr->transform == PA_FC_TRANSFORM_LOG1P, mr->level,
						  reuse, mr->effects };

		return pa_fcm_regress(y, n, &rs, horizon, out, why);
	}
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

/* Name mr; params (may be NULL) gives a fitted ARIMA its orders. */
static void
format_model(const struct model_ref *mr, const struct pa_fcm_params *params, char *buf,
	     size_t size)
{
	const char *suffix = mr->transform == PA_FC_TRANSFORM_LOG1P ? "+log1p"
			     : mr->transform == PA_FC_TRANSFORM_BOXCOX ? "+boxcox" : "";
	char orders[64];
	int form = -1;

	if (strncmp(mr->name, "ets:", 4) == 0)
		form = pa_fcm_etsx_parse(mr->name + 4);
	else if (strcmp(mr->name, "ets") == 0 && params && params->valid)
		form = params->ets_form;
	if (strcmp(mr->name, "regress") == 0) {
		snprintf(orders, sizeof orders, "x=%zu", mr->rx ? mr->rx->count : 0);
		if (mr->period2)
			snprintf(buf, size, "regress(p=%zu,%zu,%s)%s", mr->period, mr->period2,
				 orders, suffix);
		else
			snprintf(buf, size, "regress(p=%zu,%s)%s", mr->period, orders, suffix);
	} else if (form >= 0) {
		pa_fcm_etsx_format(form, mr->period, orders, sizeof orders);
		snprintf(buf, size, "%s%s", orders, suffix);
	} else if (strcmp(mr->name, "arima") == 0 && params &&
		   params->arima.state == PA_FCM_ARIMA_FITTED) {
		pa_fcm_arima_format(&params->arima, orders, sizeof orders);
		snprintf(buf, size, "%s%s", orders, suffix);
	} else if (strcmp(mr->name, "mstl") == 0) {
		pa_fcm_mstl_format(mr->period, mr->period2, params, orders, sizeof orders);
		snprintf(buf, size, "%s%s", orders, suffix);
	} else if (strcmp(mr->name, "fourier") == 0) {
		pa_fcm_fourier_format(mr->period, mr->period2, params, orders, sizeof orders);
		snprintf(buf, size, "%s%s", orders, suffix);
	} else if (mr->period)
		snprintf(buf, size, "%s(p=%zu)%s", mr->name, mr->period, suffix);
	else if (strcmp(mr->name, "hw") == 0)
		snprintf(buf, size, "holt%s", suffix);
	else if (strcmp(mr->name, "hw-damped") == 0)
		snprintf(buf, size, "holt-damped%s", suffix);
	else
		snprintf(buf, size, "%s%s", mr->name, suffix);
}

/* Share of the known values that are zero. */
static double
zero_share(const double *y, size_t n)
{
	size_t known = 0, zeros = 0;

	for (size_t i = 0; i < n; i++) {
		if (isnan(y[i]))
			continue;
		known++;
		zeros += y[i] == 0;
	}
	return known ? (double)zeros / (double)known : 0;
}

/* Return 1 when every known value is above zero. */
static int
all_positive(const double *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isnan(y[i]) && !(y[i] > 0))
			return 0;
	return 1;
}

int
pa_fc_is_flat(const double *y, size_t n)
{
	double first = NAN;

	for (size_t i = 0; i < n; i++) {
		if (isnan(y[i]))
			continue;
		if (isnan(first))
			first = y[i];
		else if (fabs(y[i] - first) > FLAT_TOLERANCE * fmax(1, fabs(first)))
			return 0;
	}
	return 1;
}

/*
 * Most candidates: ten models on up to three scales (the seasonal naive
 * model at two periods counts twice), the regression on three until its
 * Box-Cox copy is dropped, and the decomposition and Fourier models on
 * one.  An intermittent series with two seasons and events reaches it.
 */
#define CANDIDATES_MAX 35

struct candidates {
	struct model_ref ref[CANDIDATES_MAX];
	size_t count;
	int transform;		/* PA_FC_TRANSFORM_*: which scales to try */
	int boxcox;		/* with AUTO: try the Box-Cox scale too */
	int positive;		/* every known value is above zero */
};

/*
 * Add name on each scale the transform allows.  With AUTO, ETS runs on the
 * raw scale only when every value is positive: its multiplicative forms
 * then already let the spread grow with the level, which is what the
 * transforms are for.  A zero rules those forms out, so then ETS runs on
 * every scale.
 */
static void
add_candidate(struct candidates *c, const char *name, size_t period)
{
	static const int scale[] = { PA_FC_TRANSFORM_NONE, PA_FC_TRANSFORM_LOG1P,
				     PA_FC_TRANSFORM_BOXCOX };

	for (size_t i = 0; i < sizeof scale / sizeof scale[0]; i++) {
		if (c->transform == PA_FC_TRANSFORM_AUTO) {
			if (scale[i] == PA_FC_TRANSFORM_BOXCOX && !c->boxcox)
				continue;
			if (scale[i] != PA_FC_TRANSFORM_NONE && strcmp(name, "ets") == 0 &&
			    c->positive)
				continue;
		} else if (c->transform != scale[i]) {
			continue;
		}
		assert(c->count < sizeof c->ref / sizeof c->ref[0]);
		c->ref[c->count++] = (struct model_ref){ .name = name, .period = period, .transform = scale[i] };
	}
}

/*
 * Add a model of additive seasons at period and period2 (0: one season),
 * the decomposition or the Fourier terms.  With the transform left to the
 * automatic choice it runs on log1p only, because additive seasons of
 * log1p(y) are multiplicative ones of y.  Their swings then grow with the
 * level, as request counts' do, and one scale instead of two halves the
 * model's cost in the hold-out.
 */
static void
add_seasons_candidate(struct candidates *c, const char *name, size_t period, size_t period2)
{
	int scale = c->transform == PA_FC_TRANSFORM_AUTO ? PA_FC_TRANSFORM_LOG1P : c->transform;

	assert(c->count < sizeof c->ref / sizeof c->ref[0]);
	c->ref[c->count++] = (struct model_ref){ .name = name, .period = period, .transform = scale,
						 .period2 = period2 };
}

/* The history on the scale that mr is fitted on. */
static const double *
scaled(const struct model_ref *mr, const double *y, const struct scales *ys)
{
	if (mr->transform == PA_FC_TRANSFORM_LOG1P)
		return ys->log1p;
	if (mr->transform == PA_FC_TRANSFORM_BOXCOX)
		return ys->boxcox;
	return y;
}

/*
 * Fix the form of each automatic ETS candidate by AICc on the whole
 * history, so that the hold-out judges the form that will forecast.
 * Chosen at the earliest origin instead, on as little as two seasons, the
 * AICc prefers the forms without a season, which pay for m - 1 fewer
 * states.  The hold-out values enter the choice of the form through the
 * in-sample likelihood, but not the parameters, which are fitted at the
 * earliest origin.
 */
static void
fix_ets_forms(struct candidates *c, const double *y, const struct scales *ys, size_t n)
{
	for (size_t i = 0; i < c->count; i++) {
		struct pa_fcm_params params = { .valid = 0 };
		double mean, sd;
		struct pa_fcm_out out = { &mean, &sd, 0, 0 };
		char why[PA_FC_REASON_MAX];

		if (strcmp(c->ref[i].name, "ets") != 0)
			continue;
		if (pa_fcm_etsx(scaled(&c->ref[i], y, ys), n, c->ref[i].period, PA_FCM_ETS_AUTO, 1,
				&params, &out, why) == 0)
			c->ref[i].name = pa_fcm_etsx_model_name(params.ets_form);
	}
}

/* A forecast path on the scale of y: point and bounds per step ahead. */
struct path {
	double *mean, *lower, *upper;
};

/*
 * Reject a path whose point forecast leaves the history far behind: more
 * than its spread (the range, or the largest magnitude when that is
 * larger) beyond its extremes, plus that spread again for every n steps
 * ahead.  A drift at the history's whole rise stays inside, so no trend
 * is lost.  What is caught is a fit that carries a transformed or
 * collinear structure to a number no history supports, or to NaN.
 * Returns -1 with the reason in why.
 */
static int
path_outside(const double *y, size_t n, const struct path *p, size_t horizon, char *why)
{
	double lo = HUGE_VAL, hi = -HUGE_VAL, spread;

	for (size_t t = 0; t < n; t++) {
		if (isnan(y[t]))
			continue;
		lo = fmin(lo, y[t]);
		hi = fmax(hi, y[t]);
	}
	if (lo > hi)
		return 0;
	spread = fmax(hi - lo, fmax(fabs(hi), fabs(lo)));
	for (size_t k = 0; k < horizon; k++) {
		double reach = spread * (1 + (double)(k + 1) / (double)n);

		if (!(p->mean[k] <= hi + reach && p->mean[k] >= lo - reach)) {
			snprintf(why, PA_FC_REASON_MAX,
				 "forecast %.6g at step %zu is far outside the history's %.6g to %.6g",
				 p->mean[k], k + 1, lo, hi);
			return -1;
		}
	}
	return 0;
}

/*
 * Run model mr on the first n values and write its path on the original
 * scale, bounds at z standard deviations mapped back through expm1 or the
 * inverse Box-Cox when the model fits a transformed series.  The point
 * forecast maps back without bias adjustment, so it is a median.  sd is
 * scratch of horizon values.  Returns 0, -1 when the model cannot run, or
 * OUT_OF_RANGE when path_outside rejects its path.
 */
static int
forecast_one(const struct model_ref *mr, const double *y, const struct scales *ys, size_t n,
	     size_t horizon, double z, double *sd, struct path *p, double *sigma, char *why,
	     struct pa_fcm_params *reuse)
{
	struct pa_fcm_out out = { p->mean, sd, 0, 0 };

	if (run_model(mr, scaled(mr, y, ys), n, horizon, &out, why, reuse) != 0)
		return -1;
	for (size_t k = 0; k < horizon; k++) {
		double mean = p->mean[k], lo = mean - z * sd[k], hi = mean + z * sd[k];

		if (mr->transform == PA_FC_TRANSFORM_LOG1P) {
			mean = fmin(expm1(mean), ys->cap);
			lo = fmin(expm1(lo), ys->cap);
			hi = fmin(expm1(hi), ys->cap);
		} else if (mr->transform == PA_FC_TRANSFORM_BOXCOX) {
			mean = fmin(pa_fcm_boxcox_inverse(mean, ys->lambda, ys->shift), ys->cap);
			lo = fmin(pa_fcm_boxcox_inverse(lo, ys->lambda, ys->shift), ys->cap);
			hi = fmin(pa_fcm_boxcox_inverse(hi, ys->lambda, ys->shift), ys->cap);
		}
		p->mean[k] = mean;
		p->lower[k] = lo;
		p->upper[k] = hi;
	}
	if (path_outside(y, n, p, horizon, why) != 0)
		return OUT_OF_RANGE;
	*sigma = out.sigma;
	return 0;
}

/* The models whose paths are averaged, and the interval rescaling. */
struct choice {
	struct model_ref ref[COMBINE_MAX];
	struct pa_fcm_params params[COMBINE_MAX];	/* ETS parameters once fitted */
	size_t count;
	double scale;
	int compared;		/* 1: made by comparing models on hold-outs, so worth keeping */
};

struct holdout {
	size_t hold, origins, len;	/* len = hold * origins */
	double *mean, *lower, *upper;	/* candidate i at [i * len + (r - 1) * hold + k] */
	double *mae;
	int *valid;
	size_t *order;			/* valid candidates, lowest MAE first */
	size_t nvalid;
};

static void
holdout_free(struct holdout *h)
{
	free(h->mean);
	free(h->lower);
	free(h->upper);
	free(h->mae);
	free(h->valid);
	free(h->order);
}

static double
point_error(double actual, double point, int counts)
{
	return fabs(actual - (counts && point < 0 ? 0 : point));
}

/*
 * Forecast every candidate from every rolling origin and record its paths
 * and mean absolute error on the scale of y.
 */
static int
run_holdout(const struct candidates *c, const double *y, const struct scales *ys, size_t n,
	    double z, int counts, struct holdout *h)
{
	char why[PA_FC_REASON_MAX];
	double *sd = malloc(h->hold * sizeof *sd), sigma;

	h->len = h->hold * h->origins;
	h->mean = malloc(c->count * h->len * sizeof *h->mean);
	h->lower = malloc(c->count * h->len * sizeof *h->lower);
	h->upper = malloc(c->count * h->len * sizeof *h->upper);
	h->mae = malloc(c->count * sizeof *h->mae);
	h->valid = calloc(c->count, sizeof *h->valid);
	h->order = malloc(c->count * sizeof *h->order);
	if (sd == NULL || h->mean == NULL || h->lower == NULL || h->upper == NULL ||
	    h->mae == NULL || h->valid == NULL || h->order == NULL) {
		free(sd);
		return -1;
	}

	/*
	 * The earliest origin fits the smoothing parameters and the later ones
	 * only filter with them.  That is one fit per candidate instead of one
	 * per origin, and no parameter has seen any hold-out value.
	 */
	for (size_t i = 0; i < c->count; i++) {
		struct pa_fcm_params reuse = { .valid = 0 };
		double sum = 0;
		size_t count = 0;

		h->valid[i] = 1;
		for (size_t r = h->origins; r >= 1 && h->valid[i]; r--) {
			size_t train = n - r * h->hold, at = i * h->len + (r - 1) * h->hold;
			struct path p = { h->mean + at, h->lower + at, h->upper + at };

			if (forecast_one(&c->ref[i], y, ys, train, h->hold, z, sd, &p, &sigma,
					 why, &reuse) != 0) {
				h->valid[i] = 0;
				break;
			}
			for (size_t k = 0; k < h->hold; k++) {
				if (isnan(y[train + k]))
					continue;
				sum += point_error(y[train + k], p.mean[k], counts);
				count++;
			}
		}
		h->mae[i] = count ? sum / (double)count : NAN;
		if (isnan(h->mae[i]))
			h->valid[i] = 0;
	}

	/* Insertion sort by MAE; ties keep the earlier, simpler candidate. */
	h->nvalid = 0;
	for (size_t i = 0; i < c->count; i++) {
		size_t j;

		if (!h->valid[i])
			continue;
		for (j = h->nvalid; j > 0 && h->mae[h->order[j - 1]] > h->mae[i]; j--)
			h->order[j] = h->order[j - 1];
		h->order[j] = i;
		h->nvalid++;
	}
	free(sd);
	return 0;
}

/* The averaged hold-out path of the best 'top' candidates at position j. */
static void
combined_at(const struct holdout *h, size_t top, size_t j, double *mean, double *lo, double *hi)
{
	*mean = *lo = *hi = 0;
	for (size_t t = 0; t < top; t++) {
		size_t at = h->order[t] * h->len + j;

		*mean += h->mean[at] / (double)top;
		*lo += h->lower[at] / (double)top;
		*hi += h->upper[at] / (double)top;
	}
}

static int
fits_regressors(const struct model_ref *mr)
{
	return mr->rx && mr->rx->count;
}

/*
 * Drop from the ranking every candidate whose hold-out point forecasts
 * repeat those of a better-ranked one.  The seasonal naive and naive
 * forecasts are the same on every scale, because each transform is
 * monotone and the point is back-transformed as a median, so without
 * this an average of "the best three" could be one forecast three times.
 */
static void
rank_distinct(struct holdout *h)
{
	size_t kept = 0;

	for (size_t t = 0; t < h->nvalid; t++) {
		const double *path = h->mean + h->order[t] * h->len;
		int repeat = 0;

		for (size_t u = 0; u < kept && !repeat; u++) {
			const double *other = h->mean + h->order[u] * h->len;
			size_t j;

			for (j = 0; j < h->len; j++)
				if (fabs(path[j] - other[j]) > 1e-9 * (1 + fabs(other[j])))
					break;
			repeat = j == h->len;
		}
		if (!repeat)
			h->order[kept++] = h->order[t];
	}
	h->nvalid = kept;
}

/*
 * A model that fits regressors applies their effects in full or not at
 * all, so it is never averaged: it competes only as the best candidate,
 * and below the top it leaves the ranking to the others.
 */
static void
rank_regressors_alone(struct holdout *h, const struct candidates *c)
{
	size_t kept = 0;

	for (size_t t = 0; t < h->nvalid; t++) {
		if (t > 0 && fits_regressors(&c->ref[h->order[t]]))
			continue;
		h->order[kept++] = h->order[t];
	}
	h->nvalid = kept;
}

/* Actual value behind hold-out position j. */
static double
holdout_actual(const struct holdout *h, const double *y, size_t n, size_t j)
{
	size_t r = j / h->hold + 1, k = j % h->hold;

	return y[n - r * h->hold + k];
}

/*
 * Choose among the candidates the history supports: the best one by
 * hold-out MAE, or the average of the best two or three when that average
 * did better on the same hold-out.  Averaging a few good forecasts is
 * seldom much worse than the best of them and often better, which guards
 * against a hold-out that happened to favour one model.  The hold-out
 * errors also give the interval rescaling.
 */
static int
choose_auto(const double *y, const struct scales *ys, int transform, size_t n, size_t horizon,
	    const struct pa_fc_opts *o, struct choice *ch, char *reason)
{
	struct candidates c = { .count = 0, .transform = transform, .boxcox = ys->boxcox_distinct,
				.positive = all_positive(y, n) };
	struct holdout h = { 0 };
	size_t m = pa_fc_supported_period(n, o->period);
	size_t m2 = pa_fc_supported_period(n, o->period2);
	size_t need = 4, top = 1, nratio = 0;
	double z = gsl_cdf_ugaussian_Pinv(0.5 + o->level / 2), best = HUGE_VAL, *ratio;

	if (m) {
		add_candidate(&c, "snaive", m);
		add_candidate(&c, "hw", m);
		add_candidate(&c, "hw-damped", m);
		add_candidate(&c, "arima", m);
		add_candidate(&c, "ets", m);
		need = 2 * m;
	} else if (o->period >= 2 && n > o->period) {
		/* One season and a little more: enough to repeat it, not to fit one. */
		add_candidate(&c, "snaive", o->period);
		need = o->period + 1;
	}
	if (m2 && m2 != m) {
		/* The seasonal naive model needs one season and one value to train on. */
		add_candidate(&c, "snaive", m2);
		need = need > m2 + 1 ? need : m2 + 1;
		if (m) {
			add_seasons_candidate(&c, "mstl", m, m2);
			add_seasons_candidate(&c, "fourier", m, m2);
		}
	} else if (m) {
		/* One season, as R's stlf() forecasts a single-season series. */
		add_seasons_candidate(&c, "mstl", m, 0);
		add_seasons_candidate(&c, "fourier", m, 0);
	}
	add_candidate(&c, "naive", 0);
	add_candidate(&c, "ses", 0);
	add_candidate(&c, "drift", 0);
	if (!m) {
		add_candidate(&c, "arima", 0);
		add_candidate(&c, "ets", 0);
	}
	if (zero_share(y, n) >= INTERMITTENT_SHARE)
		add_candidate(&c, "croston", 0);
	/*
	 * Without regressors the regression's trend and Fourier terms did not
	 * beat the models above on real series and doubled the time, so it
	 * competes only when it has regressors to fit.
	 */
	if (o->regressors && o->regressors->count) {
		size_t from = c.count;

		/*
		 * Its regressors are mapped onto the raw or the log1p scale
		 * only, so a Box-Cox copy is dropped.
		 */
		add_candidate(&c, "regress", m);
		for (size_t i = from; i < c.count; i++) {
			if (c.ref[i].transform == PA_FC_TRANSFORM_BOXCOX) {
				c.ref[i] = c.ref[--c.count];
				i--;
				continue;
			}
			c.ref[i].period2 = m2 != m ? m2 : 0;
			c.ref[i].rx = o->regressors;
			c.ref[i].level = o->level;
		}
	}

	ch->scale = 1;
	ch->count = 1;
	ch->ref[0] = c.ref[0];

	/* Hold out up to one horizon per origin, keeping 'need' values to train on. */
	h.hold = horizon < n / 4 ? horizon : n / 4;
	if (h.hold == 0 || n <= need) {
		snprintf(reason, PA_FC_REASON_MAX, "history of %zu too short to compare models", n);
		return 0;
	}
	if (n - need < h.hold)
		h.hold = n - need;
	h.origins = (n - need) / h.hold;
	if (h.origins > ORIGINS_MAX)
		h.origins = ORIGINS_MAX;
	fix_ets_forms(&c, y, ys, n);
	if (run_holdout(&c, y, ys, n, z, o->counts, &h) != 0) {
		holdout_free(&h);
		return -1;
	}
	if (h.nvalid == 0) {
		ch->ref[0] = (struct model_ref){ .name = "naive" };
		snprintf(reason, PA_FC_REASON_MAX, "no candidate model fitted the hold-out");
		holdout_free(&h);
		return 0;
	}

	ch->compared = 1;
	rank_distinct(&h);
	rank_regressors_alone(&h, &c);
	for (size_t t = 1; t <= COMBINE_MAX && t <= h.nvalid; t++) {
		double sum = 0, mean, lo, hi;
		size_t count = 0;

		if (t > 1 && fits_regressors(&c.ref[h.order[0]]))
			break;

		for (size_t j = 0; j < h.len; j++) {
			double actual = holdout_actual(&h, y, n, j);

			if (isnan(actual))
				continue;
			combined_at(&h, t, j, &mean, &lo, &hi);
			sum += point_error(actual, mean, o->counts);
			count++;
		}
		if (count && sum / (double)count < best) {
			best = sum / (double)count;
			top = t;
		}
	}
	ch->count = top;
	for (size_t t = 0; t < top; t++)
		ch->ref[t] = c.ref[h.order[t]];

	/*
	 * Rescale the interval so it would have covered the requested share of
	 * the hold-out actuals: each error is measured in units of the
	 * interval's half-width on its side.  A few dozen errors give a rough
	 * quantile, so the factor is bounded.
	 */
	ratio = malloc(h.len * sizeof *ratio);
	if (ratio == NULL) {
		holdout_free(&h);
		return -1;
	}
	for (size_t j = 0; j < h.len; j++) {
		double actual = holdout_actual(&h, y, n, j), mean, lo, hi, half;

		if (isnan(actual))
			continue;
		combined_at(&h, top, j, &mean, &lo, &hi);
		half = actual >= mean ? hi - mean : mean - lo;
		if (half > 0)
			ratio[nratio++] = fabs(actual - mean) / half;
	}
	if (nratio >= CALIBRATE_MIN) {
		gsl_sort(ratio, 1, nratio);
		ch->scale = ratio[(size_t)floor(o->level * (double)(nratio - 1) + 0.5)];
		if (ch->scale < SCALE_MIN)
			ch->scale = SCALE_MIN;
		if (ch->scale > SCALE_MAX)
			ch->scale = SCALE_MAX;
	}
	snprintf(reason, PA_FC_REASON_MAX,
		 "%s %zu of %zu candidates by hold-out MAE over %zu origins of %zu steps; interval scale %.2f",
		 top == 1 ? "best" : "mean of best", top, c.count, h.origins, h.hold, ch->scale);
	free(ratio);
	holdout_free(&h);
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
	free(r->effects);
	r->mean = r->lower = r->upper = NULL;
	r->effects = NULL;
}

/*
 * Try mr, then its non-seasonal form, then naive; a fixed ETS form first
 * falls back to the automatic choice among the forms the data allows.  The
 * reason of the first failure is kept so the caller can say why the
 * fallback ran.  An automatic ETS fit that had to leave out the
 * multiplicative forms counts as a fallback too, with its note as the
 * reason.
 */
static int
run_with_fallback(struct model_ref *mr, struct pa_fcm_params *params, const double *y,
		  const struct scales *ys, size_t n, size_t horizon, double z, double *sd,
		  struct path *p, struct pa_fc_result *res)
{
	char why[PA_FC_REASON_MAX] = "";
	size_t season = mr->period;
	int rc = forecast_one(mr, y, ys, n, horizon, z, sd, p, &res->sigma, why, params);

	if (rc == 0) {
		if (strncmp(mr->name, "ets", 3) == 0 && why[0] && res->reason[0] == '\0') {
			res->fallback = 1;
			snprintf(res->reason, sizeof res->reason, "%s: %.120s", mr->name, why);
		}
		return 0;
	}
	res->fallback = 1;
	res->out_of_range = rc == OUT_OF_RANGE;
	snprintf(res->reason, sizeof res->reason, "%s: %.120s", mr->name, why);
	if (strncmp(mr->name, "ets:", 4) == 0) {
		struct model_ref any = { .name = "ets", .period = mr->period,
					 .transform = mr->transform };

		if (params)
			memset(params, 0, sizeof *params);
		if (forecast_one(&any, y, ys, n, horizon, z, sd, p, &res->sigma, why, params) == 0) {
			*mr = any;
			return 0;
		}
	}
	if (mr->period) {
		struct model_ref plain = *mr;

		plain.name = strcmp(mr->name, "snaive") == 0 ? "naive" : mr->name;
		plain.period = 0;
		plain.period2 = 0;

		if (params)
			memset(params, 0, sizeof *params);
		if (forecast_one(&plain, y, ys, n, horizon, z, sd, p, &res->sigma, why, params) == 0) {
			*mr = plain;
			return 0;
		}
	}
	/*
	 * The last value can be a burst, and a model rejected for leaving the
	 * history behind was most often thrown by one, so a season, when
	 * there is one, is repeated in preference to the last value.
	 */
	if (season >= 2 && n > season && strcmp(mr->name, "snaive") != 0) {
		struct model_ref repeat = { .name = "snaive", .period = season,
					    .transform = mr->transform };

		if (forecast_one(&repeat, y, ys, n, horizon, z, sd, p, &res->sigma, why, NULL) == 0) {
			*mr = repeat;
			if (params)
				memset(params, 0, sizeof *params);
			return 0;
		}
	}
	*mr = (struct model_ref){ .name = "naive", .transform = mr->transform };
	if (params)
		memset(params, 0, sizeof *params);
	return forecast_one(mr, y, ys, n, horizon, z, sd, p, &res->sigma, why, NULL);
}

/* Name the chosen models: one name, or "mean(a, b)" for an average. */
static void
format_choice(const struct choice *ch, char *buf, size_t size)
{
	char one[PA_FC_NAME_MAX];
	size_t used;

	if (ch->count == 1) {
		format_model(&ch->ref[0], &ch->params[0], buf, size);
		return;
	}
	used = (size_t)snprintf(buf, size, "mean(");
	for (size_t t = 0; t < ch->count && used < size; t++) {
		format_model(&ch->ref[t], &ch->params[t], one, sizeof one);
		used += (size_t)snprintf(buf + used, size - used, "%s%s", t ? ", " : "", one);
	}
	if (used < size)
		snprintf(buf + used, size - used, ")");
}

/*
 * Widen or narrow the averaged path around its point forecast, keep counts
 * at or above zero, and give a count at least the spread of a Poisson
 * variable with that mean.
 */
static void
finish_bounds(struct pa_fc_result *out, const struct pa_fc_opts *o, double scale, double z)
{
	for (size_t k = 0; k < out->horizon; k++) {
		double mean = out->mean[k];
		double lo = mean - scale * (mean - out->lower[k]);
		double hi = mean + scale * (out->upper[k] - mean);

		if (hi == lo && !o->counts) {
			/* A flat non-count history: a 1% band rather than an empty interval. */
			lo = mean - 0.01 * fabs(mean);
			hi = mean + 0.01 * fabs(mean);
		}
		if (o->counts) {
			double floor_mean = mean > 0 ? mean : 0;
			double poisson = z * sqrt(floor_mean > 1 ? floor_mean : 1);

			if (hi < floor_mean + poisson)
				hi = floor_mean + poisson;
			if (lo > floor_mean - z * sqrt(floor_mean))
				lo = floor_mean - z * sqrt(floor_mean);
			mean = floor_mean;
		}
		if (o->counts || o->nonnegative) {
			mean = mean > 0 ? mean : 0;
			lo = lo > 0 ? lo : 0;
			hi = hi > mean ? hi : mean;
		}
		out->mean[k] = mean;
		out->lower[k] = lo;
		out->upper[k] = hi;
	}
}

/*
 * Write ch as "v1 scale=S NAME/PERIOD/LOG1P/ALPHA/BETA/GAMMA/PHI ...",
 * with 17 significant digits so a reused choice forecasts bit for bit as
 * the fit it came from.  An mstl model adds "/PERIOD2/ADJUSTED", its
 * second season and the pa_fcm_adjusted value of its smoothing model.
 * A fitted ARIMA adds an eighth field, "p,d,q,P,D,Q,m,MEAN,COEF...", so
 * its reuse neither searches orders nor fits coefficients.  The
 * regression model adds "/PERIOD2/H1,H2,LAMBDA", its second season and
 * the structure of pa_fcm_regress_encode.  Its coefficients are not
 * stored, because its regressors change with every run: a reuse
 * estimates them afresh within that structure.  The Fourier model adds
 * "/PERIOD2/K1,K2", its second season and harmonics, and the ARIMA field
 * of its errors when they were fitted.  Its Fourier coefficients are
 * estimated afresh, which least squares does in one step.
 */
static void
encode_choice(const struct choice *ch, char *buf, size_t size)
{
	size_t used = (size_t)snprintf(buf, size, "v1 scale=%.17g", ch->scale);

	for (size_t t = 0; t < ch->count && used < size; t++) {
		const struct pa_fcm_params *p = &ch->params[t];
		const struct pa_fcm_arima_fit *a = &p->arima;

		used += (size_t)snprintf(buf + used, size - used, " %s/%zu/%d/%.17g/%.17g/%.17g/%.17g",
					 ch->ref[t].name, ch->ref[t].period, ch->ref[t].transform,
					 p->valid ? p->alpha : 0, p->valid ? p->beta : 0,
					 p->valid ? p->gamma : 0, p->valid ? p->phi : 0);
		if (strcmp(ch->ref[t].name, "mstl") == 0 && used < size)
			used += (size_t)snprintf(buf + used, size - used, "/%zu/%d", ch->ref[t].period2,
						 p->valid ? (int)p->adjusted : 0);
		if (strcmp(ch->ref[t].name, "regress") == 0 && used < size) {
			used += (size_t)snprintf(buf + used, size - used, "/%zu/", ch->ref[t].period2);
			if (used < size)
				used += (size_t)pa_fcm_regress_encode(p, buf + used, size - used);
		}
		if (strcmp(ch->ref[t].name, "fourier") == 0 && used < size) {
			used += (size_t)snprintf(buf + used, size - used, "/%zu/", ch->ref[t].period2);
			if (used < size)
				used += (size_t)pa_fcm_fourier_encode(p, buf + used, size - used);
		}
		if ((strcmp(ch->ref[t].name, "arima") != 0 && strcmp(ch->ref[t].name, "fourier") != 0) ||
		    a->state != PA_FCM_ARIMA_FITTED || used >= size)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "/%d,%d,%d,%d,%d,%d,%zu,%.17g",
					 a->p, a->d, a->q, a->sp, a->sd, a->sq, a->period, a->mean);
		for (int c = 0; c < a->p + a->q + a->sp + a->sq && used < size; c++)
			used += (size_t)snprintf(buf + used, size - used, ",%.17g", a->coef[c]);
	}
	if (used >= size)
		buf[0] = '\0';	/* too long to reuse: store nothing */
}

/* Parse a finite number that must fill the token; returns -1 otherwise. */
static int
parse_number(const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return end != s && *end == '\0' && isfinite(*out) ? 0 : -1;
}

/* Parse encode_choice's ARIMA field into a FITTED fit.  Returns -1 when malformed. */
static int
decode_arima(char *text, struct pa_fcm_arima_fit *a)
{
	double v[8 + PA_FCM_ARIMA_COEF_MAX];
	char *save = NULL;
	size_t nv = 0, ncoef;

	for (char *f = strtok_r(text, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		if (nv == sizeof v / sizeof v[0] || parse_number(f, &v[nv]) != 0)
			return -1;
		nv++;
	}
	if (nv < 8)
		return -1;
	for (size_t i = 0; i < 7; i++)
		if (v[i] < 0 || v[i] > 1e6 || v[i] != floor(v[i]))
			return -1;
	memset(a, 0, sizeof *a);
	a->p = (int)v[0], a->d = (int)v[1], a->q = (int)v[2];
	a->sp = (int)v[3], a->sd = (int)v[4], a->sq = (int)v[5];
	a->period = (size_t)v[6];
	a->mean = v[7];
	ncoef = (size_t)(a->p + a->q + a->sp + a->sq);
	if (ncoef > PA_FCM_ARIMA_COEF_MAX || nv != 8 + ncoef)
		return -1;
	for (size_t c = 0; c < ncoef; c++)
		a->coef[c] = v[8 + c];
	a->has_mean = a->d + a->sd < 2;
	a->state = PA_FCM_ARIMA_FITTED;
	return 0;
}

/*
 * Parse encode_choice's text into ch.  A regression model gets the
 * regressors, level and effects of o and out.  Returns -1 when the text is
 * malformed, names an unknown model, or needs a transform the data cannot
 * take, and when it has the regression model but o has no regressors or
 * the model is averaged with others.
 */
static int
decode_choice(const char *spec, const struct scales *ys, const struct pa_fc_opts *o,
	      struct pa_fc_result *out, struct choice *ch)
{
	char buf[PA_FC_SPEC_MAX], *save = NULL, *tok;

	if (strlen(spec) >= sizeof buf)
		return -1;
	memcpy(buf, spec, strlen(spec) + 1);
	memset(ch, 0, sizeof *ch);
	tok = strtok_r(buf, " ", &save);
	if (tok == NULL || strcmp(tok, "v1") != 0)
		return -1;
	tok = strtok_r(NULL, " ", &save);
	if (tok == NULL || strncmp(tok, "scale=", 6) != 0 || parse_number(tok + 6, &ch->scale) != 0)
		return -1;
	/* choose_auto keeps the scale within these bounds, so another value was edited in. */
	if (ch->scale < SCALE_MIN || ch->scale > SCALE_MAX)
		return -1;
	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		char *field[10], *fsave = NULL, *part;
		double v[8];
		size_t nf = 0, i, numbers;
		int mstl, arima, regress, fourier, seasons2;

		if (ch->count == COMBINE_MAX)
			return -1;
		/* The loop ends with part at an eleventh field, if there is one. */
		for (part = strtok_r(tok, "/", &fsave); part && nf < 10;
		     part = strtok_r(NULL, "/", &fsave))
			field[nf++] = part;
		mstl = nf > 0 && strcmp(field[0], "mstl") == 0;
		arima = nf > 0 && strcmp(field[0], "arima") == 0;
		regress = nf > 0 && strcmp(field[0], "regress") == 0;
		fourier = nf > 0 && strcmp(field[0], "fourier") == 0;
		seasons2 = mstl || regress || fourier;
		if (part != NULL)
			return -1;
		if (!(nf == (seasons2 ? 9u : 7u) || (arima && nf == 8) || (fourier && nf == 10)))
			return -1;
		const char *name;

		for (i = 0; model_names[i] && strcmp(model_names[i], field[0]) != 0; i++)
			;
		name = model_names[i];
		if (name == NULL && strncmp(field[0], "ets:", 4) == 0)
			name = pa_fcm_etsx_model_name(pa_fcm_etsx_parse(field[0] + 4));
		if (name == NULL || strcmp(name, "auto") == 0)
			return -1;
		/*
		 * Numbers follow the name.  An ARIMA's eighth field, the ninth
		 * of a regression or Fourier model and the Fourier model's
		 * tenth are lists of their own.
		 */
		numbers = mstl ? 8 : 6;
		if (regress || fourier)
			numbers = 7;
		for (size_t f = 0; f < numbers; f++)
			if (parse_number(field[f + 1], &v[f]) != 0)
				return -1;
		if (v[0] < 0 || v[0] > 1e9)
			return -1;
		if (!(v[1] == PA_FC_TRANSFORM_NONE || (v[1] == PA_FC_TRANSFORM_LOG1P && ys->log1p) ||
		      (v[1] == PA_FC_TRANSFORM_BOXCOX && ys->boxcox)))
			return -1;
		if (seasons2 && (v[6] < 0 || v[6] > 1e9 ||
				(mstl && (v[7] < PA_FCM_ADJ_NONE || v[7] > PA_FCM_ADJ_DAMPED))))
			return -1;
		/*
		 * The regressors are mapped onto the raw or the log1p scale only,
		 * and a search tries the regression only when it has regressors.
		 */
		if (regress && (v[1] == PA_FC_TRANSFORM_BOXCOX || o->regressors == NULL ||
				o->regressors->count == 0))
			return -1;
		ch->ref[ch->count] = (struct model_ref){ .name = name, .period = (size_t)v[0],
							 .transform = (int)v[1],
							 .period2 = seasons2 ? (size_t)v[6] : 0 };
		ch->params[ch->count] = (struct pa_fcm_params){
			.valid = v[5] != 0, .alpha = v[2], .beta = v[3], .gamma = v[4], .phi = v[5],
			.adjusted = mstl ? (enum pa_fcm_adjusted)(int)v[7] : PA_FCM_ADJ_NONE
		};
		if (arima && nf == 8 && decode_arima(field[7], &ch->params[ch->count].arima) != 0)
			return -1;
		if (fourier && (pa_fcm_fourier_decode(field[8], &ch->params[ch->count]) != 0 ||
				(nf == 10 && decode_arima(field[9], &ch->params[ch->count].arima) != 0)))
			return -1;
		if (regress) {
			if (pa_fcm_regress_decode(field[8], &ch->params[ch->count]) != 0)
				return -1;
			ch->ref[ch->count].rx = o->regressors;
			ch->ref[ch->count].level = o->level;
			ch->ref[ch->count].effects = out->effects;
		}
		ch->count++;
	}
	for (size_t t = 0; ch->count > 1 && t < ch->count; t++)
		if (fits_regressors(&ch->ref[t]))
			return -1;
	return ch->count ? 0 : -1;
}

/*
 * Average the paths of the chosen models, fitted on the whole history,
 * into out.  A model that fails is left out, unless every is set: then
 * the call fails, as a kept choice must run whole or be replaced, and
 * failed receives the model and the reason.
 */
static int
run_choice(struct choice *ch, const double *y, const struct scales *ys, size_t n, double z,
	   double *sd, struct path *tmp, struct pa_fc_result *out, int every, char *failed)
{
	char why[PA_FC_REASON_MAX];
	size_t used = 0;
	double sigma;

	for (size_t k = 0; k < out->horizon; k++)
		out->mean[k] = out->lower[k] = out->upper[k] = 0;
	for (size_t t = 0; t < ch->count; t++) {
		if (forecast_one(&ch->ref[t], y, ys, n, out->horizon, z, sd, tmp, &sigma, why,
				 &ch->params[t]) != 0) {
			if (every) {
				snprintf(failed, PA_FC_REASON_MAX, "%.40s: %.110s", ch->ref[t].name, why);
				return -1;
			}
			continue;
		}
		/* Name the ETS form found, so a reused choice filters with the same one. */
		if (strcmp(ch->ref[t].name, "ets") == 0 && ch->params[t].valid)
			ch->ref[t].name = pa_fcm_etsx_model_name(ch->params[t].ets_form);
		if (used == 0)
			out->sigma = sigma;
		ch->params[used] = ch->params[t];
		ch->ref[used++] = ch->ref[t];
		for (size_t k = 0; k < out->horizon; k++) {
			out->mean[k] += tmp->mean[k];
			out->lower[k] += tmp->lower[k];
			out->upper[k] += tmp->upper[k];
		}
	}
	ch->count = used;
	for (size_t k = 0; used && k < out->horizon; k++) {
		out->mean[k] /= (double)used;
		out->lower[k] /= (double)used;
		out->upper[k] /= (double)used;
	}
	return used ? 0 : -1;
}

/* A Box-Cox lambda this close to 0 or 1 adds nothing beside the log1p and raw scales. */
#define BOXCOX_DISTINCT 0.1

/*
 * Fill ys with the scales *transform needs.  Box-Cox works on y + 1 when a
 * known value is zero, else on y, with Guerrero's lambda in [0, 1] for
 * counts and [-1, 2] otherwise.  Counts need no power above 1, and below 0
 * the inverse grows without bound as a forecast nears -1 / lambda.  When
 * no lambda can be estimated, an explicit boxcox becomes none, with a
 * note in out->reason.  Returns -1 when out of memory.
 */
static int
scales_init(struct scales *ys, const double *y, size_t n, const struct pa_fc_opts *o,
	    int *transform, struct pa_fc_result *out)
{
	double max = 0;
	int zero = 0;

	for (size_t i = 0; i < n; i++) {
		if (isnan(y[i]))
			continue;
		zero |= y[i] == 0;
		max = fmax(max, y[i]);
	}
	/*
	 * A bound mapped back through expm1 or a Box-Cox inverse grows
	 * exponentially with the spread on the fitted scale, and with lambda < 0
	 * it can reach infinity: Holt on log1p of two weeks of taxi counts gave
	 * an upper bound of 6e10 a day ahead, for a largest count of 39,197.
	 * Every back-transformed value stops at 10 times the history's largest
	 * value plus one.
	 */
	ys->cap = 10 * (max + 1);
	if (*transform == PA_FC_TRANSFORM_LOG1P || *transform == PA_FC_TRANSFORM_AUTO) {
		ys->log1p = malloc(n * sizeof *ys->log1p);
		if (ys->log1p == NULL)
			return -1;
		for (size_t i = 0; i < n; i++)
			ys->log1p[i] = log1p(y[i]);
	}
	if (*transform != PA_FC_TRANSFORM_BOXCOX && *transform != PA_FC_TRANSFORM_AUTO)
		return 0;
	ys->shift = zero ? 1 : 0;
	ys->lambda = pa_fcm_guerrero(y, n, o->period, ys->shift, o->counts ? 0 : -1,
				     o->counts ? 1 : 2);
	if (isnan(ys->lambda)) {
		if (*transform == PA_FC_TRANSFORM_BOXCOX) {
			*transform = PA_FC_TRANSFORM_NONE;
			out->fallback = 1;
			snprintf(out->reason, sizeof out->reason,
				 "boxcox: too few subseries with a spread to choose lambda; not transformed");
		}
		return 0;
	}
	ys->boxcox_distinct = fabs(ys->lambda) >= BOXCOX_DISTINCT &&
			      fabs(ys->lambda - 1) >= BOXCOX_DISTINCT;
	ys->boxcox = malloc(n * sizeof *ys->boxcox);
	if (ys->boxcox == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		ys->boxcox[i] = pa_fcm_boxcox(y[i], ys->lambda, ys->shift);
	return 0;
}

static void
scales_free(struct scales *ys)
{
	free(ys->log1p);
	free(ys->boxcox);
}

static int
forecast_from(const double *y, size_t n, size_t horizon,
	      const struct pa_fc_opts *opts, struct pa_fc_result *out)
{
	struct pa_fc_opts o;
	struct choice ch = { .count = 1, .scale = 1 };
	struct path p, tmp = { NULL, NULL, NULL };
	struct scales ys = { NULL, NULL, 0, 0, HUGE_VAL, 0 };
	double *sd = NULL, z;
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
	sd = malloc(horizon * sizeof *sd);
	tmp.mean = malloc(horizon * sizeof *tmp.mean);
	tmp.lower = malloc(horizon * sizeof *tmp.lower);
	tmp.upper = malloc(horizon * sizeof *tmp.upper);
	if (out->mean == NULL || out->lower == NULL || out->upper == NULL || sd == NULL ||
	    tmp.mean == NULL || tmp.lower == NULL || tmp.upper == NULL) {
		rc = PA_FC_NO_MEMORY;
		goto fail;
	}
	p = (struct path){ out->mean, out->lower, out->upper };
	z = gsl_cdf_ugaussian_Pinv(0.5 + o.level / 2);
	if (o.regressors && o.regressors->count) {
		out->effects = calloc(o.regressors->count, sizeof *out->effects);
		if (out->effects == NULL) {
			rc = PA_FC_NO_MEMORY;
			goto fail;
		}
	}

	/* log1p and Box-Cox need values >= 0; a negative value switches them off. */
	transform = o.transform;
	for (size_t i = 0; transform != PA_FC_TRANSFORM_NONE && i < n; i++)
		if (!isnan(y[i]) && y[i] < 0)
			transform = PA_FC_TRANSFORM_NONE;
	if (scales_init(&ys, y, n, &o, &transform, out) != 0) {
		rc = PA_FC_NO_MEMORY;
		goto fail;
	}

	ch.ref[0] = (struct model_ref){ .name = "naive" };
	if (pa_fc_is_flat(y, n)) {
		/* Nothing to fit: repeat the value, on the original scale. */
		if (run_with_fallback(&ch.ref[0], &ch.params[0], y, &ys, n, horizon, z, sd, &p, out) != 0)
			goto nodata;
		out->fallback = 1;
		snprintf(out->reason, sizeof out->reason, "%s",
			 known == 1 ? "history of 1 known value" : "history has zero variance");
	} else if (strcmp(o.model, "auto") == 0 && o.reuse &&
		   decode_choice(o.reuse, &ys, &o, out, &ch) == 0 &&
		   run_choice(&ch, y, &ys, n, z, sd, &tmp, out, 1, out->reuse_failed) == 0) {
		out->reused = 1;
		snprintf(out->reason, sizeof out->reason, "reused an earlier choice; interval scale %.2f",
			 ch.scale);
		encode_choice(&ch, out->spec, sizeof out->spec);
	} else if (strcmp(o.model, "auto") == 0) {
		memset(&ch, 0, sizeof ch);
		ch.count = 1;
		ch.scale = 1;
		if (choose_auto(y, &ys, transform, n, horizon, &o, &ch, out->reason) != 0) {
			rc = PA_FC_NO_MEMORY;
			goto fail;
		}
		if (ch.count == 1)
			ch.ref[0].effects = out->effects;
		/*
		 * Without a comparison (a history too short for hold-outs, or no
		 * candidate fitted them) the forecast is a fallback with an
		 * uncalibrated interval.  No spec is written for it, so a state
		 * file does not keep it for later updates.
		 */
		if (run_choice(&ch, y, &ys, n, z, sd, &tmp, out, 0, NULL) == 0) {
			if (ch.compared)
				encode_choice(&ch, out->spec, sizeof out->spec);
		} else {
			ch.count = 1;
			ch.ref[0] = (struct model_ref){ .name = "naive" };
			if (run_with_fallback(&ch.ref[0], &ch.params[0], y, &ys, n, horizon, z, sd, &p, out) != 0)
				goto nodata;
		}
	} else {
		size_t m = o.period;
		struct model_ref *mr = &ch.ref[0];

		mr->name = o.model;
		mr->period = is_seasonal(o.model) ? m : 0;
		mr->transform = transform == PA_FC_TRANSFORM_AUTO ? PA_FC_TRANSFORM_NONE : transform;
		if (strcmp(o.model, "regress") == 0) {
			/*
			 * Trend streams enter as log1p of their magnitude, so the
			 * counts they explain are fitted on log1p too unless the
			 * scale was named.
			 */
			if (transform == PA_FC_TRANSFORM_AUTO)
				mr->transform = PA_FC_TRANSFORM_LOG1P;
			/* The regression model itself drops a season that the history cannot support. */
			if (mr->transform == PA_FC_TRANSFORM_BOXCOX) {
				mr->transform = PA_FC_TRANSFORM_NONE;
				out->fallback = 1;
				snprintf(out->reason, sizeof out->reason,
					 "regress fits the raw counts or their log1p, not a Box-Cox power");
			}
			mr->period = m;
			mr->period2 = o.period2;
			mr->rx = o.regressors;
			mr->level = o.level;
			mr->effects = out->effects;
		}
		/*
		 * The seasonal naive model needs one period, not two, and the
		 * Fourier model names the season it cannot fit when it fails.
		 */
		if (mr->period && pa_fc_supported_period(n, m) == 0 &&
		    strcmp(o.model, "snaive") != 0 && strcmp(o.model, "fourier") != 0) {
			out->fallback = 1;
			snprintf(out->reason, sizeof out->reason,
				 "history of %zu shorter than 2 periods of %zu", n, m);
			mr->period = 0;
		}
		if ((strcmp(o.model, "mstl") == 0 || strcmp(o.model, "fourier") == 0) && mr->period &&
		    o.period2 >= 2 && o.period2 != m) {
			/* The second season, like the first, needs two full cycles. */
			mr->period2 = pa_fc_supported_period(n, o.period2);
			if (mr->period2 == 0)
				snprintf(out->reason, sizeof out->reason,
					 "history of %zu shorter than 2 periods of %zu, second season left out",
					 n, o.period2);
		}
		if (run_with_fallback(mr, &ch.params[0], y, &ys, n, horizon, z, sd, &p, out) != 0)
			goto nodata;
	}
	format_choice(&ch, out->model, sizeof out->model);
	finish_bounds(out, &o, ch.scale, z);
	scales_free(&ys);
	free(sd);
	free(tmp.mean);
	free(tmp.lower);
	free(tmp.upper);
	return PA_FC_OK;

nodata:
	rc = PA_FC_NO_DATA;
fail:
	scales_free(&ys);
	free(sd);
	free(tmp.mean);
	free(tmp.lower);
	free(tmp.upper);
	pa_fc_result_free(out);
	out->horizon = 0;
	if (rc == PA_FC_NO_MEMORY)
		snprintf(out->reason, sizeof out->reason, "out of memory");
	else if (rc == PA_FC_NO_DATA && out->reason[0] == '\0')
		snprintf(out->reason, sizeof out->reason, "no model could be fitted");
	return rc;
}

/*
 * Unknown buckets at the end of a history are steps the forecast has to
 * cross anyway: the models start from the last known bucket and forecast
 * that many steps further, and the first ones are dropped.  Fitted with
 * them, the seasonal models would find no season in the last cycle, and
 * filtered across them, carry a stale trend into the first forecast.
 */
int
pa_fc_forecast(const double *y, size_t n, size_t horizon,
	       const struct pa_fc_opts *opts, struct pa_fc_result *out)
{
	size_t tail = 0;
	int rc;

	while (tail < n && isnan(y[n - 1 - tail]))
		tail++;
	if (tail == 0 || tail == n || horizon == 0)
		return forecast_from(y, n, horizon, opts, out);
	rc = forecast_from(y, n - tail, horizon + tail, opts, out);
	if (rc != PA_FC_OK || out->horizon != horizon + tail)
		return rc;
	memmove(out->mean, out->mean + tail, horizon * sizeof *out->mean);
	memmove(out->lower, out->lower + tail, horizon * sizeof *out->lower);
	memmove(out->upper, out->upper + tail, horizon * sizeof *out->upper);
	out->horizon = horizon;
	return rc;
}
