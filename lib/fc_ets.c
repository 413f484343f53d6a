/*
 * fc_ets.c - additive exponential smoothing: simple, Holt, damped Holt and
 * additive Holt-Winters, written as the single-source-of-error state-space
 * models ETS(A,N,N), ETS(A,A,N), ETS(A,Ad,N) and ETS(A,A|Ad|N,A), in the
 * ETS(error, trend, season) notation that R's forecast package also uses.
 *
 * The smoothing parameters are fitted by Nelder-Mead (GSL nmsimplex2) on the
 * sum of squared one-step errors, which for these Gaussian models is the
 * maximum-likelihood fit.  The initial states are estimated, not fitted as
 * R's ets does: the season from each phase's mean deviation over all full
 * seasons, level and trend from the first and last season means.  With a
 * small gamma the season barely moves from its start, so a start averaged
 * over the whole history matters more than the level's.  Unknown values
 * (NAN) contribute no error, and the states run forward on their own
 * prediction across them.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "fc_models.h"
#include "forecast.h"

/* The damping parameter stays in [0.80, 0.98], the default bounds of ets() in R's forecast 8.20. */
#define PHI_MIN 0.80
#define PHI_SPAN 0.18

struct ets_params {
	double alpha, beta, gamma, phi;
};

struct ets_state {
	double level, trend;
	double *season;		/* season[t % period]: the component for time t */
};

struct ets_problem {
	const double *y;
	size_t n;
	const struct pa_fcm_ets_spec *spec;
	double level0, trend0;
	double *season0;
	double *season;		/* scratch for one run */
};

/*
 * Map the unconstrained search vector to parameters inside the usual
 * admissible region: 0 < beta < alpha < 1 and 0 < gamma < 1 - alpha.
 */
static struct ets_params
params_from(const gsl_vector *u, const struct pa_fcm_ets_spec *spec)
{
	struct ets_params p = { 0, 0, 0, 1 };
	size_t i = 0;

	p.alpha = pa_fcm_logistic(gsl_vector_get(u, i++));
	if (spec->trend)
		p.beta = p.alpha * pa_fcm_logistic(gsl_vector_get(u, i++));
	if (spec->period)
		p.gamma = (1 - p.alpha) * pa_fcm_logistic(gsl_vector_get(u, i++));
	if (spec->damped)
		p.phi = PHI_MIN + PHI_SPAN * pa_fcm_logistic(gsl_vector_get(u, i++));
	return p;
}

static size_t
param_count(const struct pa_fcm_ets_spec *spec)
{
	return 1 + (spec->trend != 0) + (spec->period != 0) + (spec->damped != 0);
}

/*
 * Run the filter over y and return the sum of squared one-step errors;
 * *known receives how many errors it summed.  The final states are left in
 * st, ready for forecasting.
 */
static double
ets_run(const struct ets_problem *pr, const struct ets_params *p, struct ets_state *st,
	size_t *known)
{
	size_t m = pr->spec->period, count = 0;
	const double *y = pr->y;
	double *season = st->season;
	double level = pr->level0, trend = pr->trend0, sse = 0;
	double alpha = p->alpha, beta = p->beta, gamma = p->gamma, phi = p->phi;

	if (m)
		memcpy(season, pr->season0, m * sizeof *season);

	/*
	 * This loop runs once per likelihood evaluation.  The states live in
	 * locals, so they need not be stored and reloaded through st on every
	 * step, and phase is t % m without a division.
	 */
	for (size_t t = 0, phase = 0; t < pr->n; t++) {
		double s = m ? season[phase] : 0;
		double base = level + phi * trend;
		double e = 0;

		if (!isnan(y[t])) {
			e = y[t] - (base + s);
			sse += e * e;
			count++;
		}
		level = base + alpha * e;
		trend = phi * trend + beta * e;
		if (m) {
			season[phase] = s + gamma * e;
			if (++phase == m)
				phase = 0;
		}
	}
	st->level = level;
	st->trend = trend;
	*known = count;
	return sse;
}

static double
ets_objective(const gsl_vector *u, void *data)
{
	const struct ets_problem *pr = data;
	struct ets_params p = params_from(u, pr->spec);
	struct ets_state st = { 0, 0, pr->season };
	size_t known;
	double sse = ets_run(pr, &p, &st, &known);

	return isfinite(sse) ? sse : HUGE_VAL;
}

/*
 * Initial states.  With a season: the level is the mean of the first
 * season, the trend the change from the first to the last full season's
 * mean, the season each phase's mean deviation from its season's mean
 * (centred to sum zero).  Without: the first known value and the
 * least-squares slope of the first ten values.  Returns -1 when the first
 * or last full season contains no known value.
 */
static int
ets_init(struct ets_problem *pr)
{
	size_t m = pr->spec->period;

	if (m) {
		size_t seasons = pr->n / m;
		double first = pa_fcm_known_mean(pr->y, m);
		double last = pa_fcm_known_mean(pr->y + (seasons - 1) * m, m);
		double slope, centre = 0;
		size_t *counts = calloc(m, sizeof *counts);

		if (counts == NULL || isnan(first) || isnan(last)) {
			free(counts);
			return -1;
		}
		slope = pr->spec->trend ? (last - first) / (double)((seasons - 1) * m) : 0;

		/* Each phase: its mean deviation from the season means over all full seasons. */
		for (size_t i = 0; i < m; i++)
			pr->season0[i] = 0;
		for (size_t j = 0; j < seasons; j++) {
			double level = pa_fcm_known_mean(pr->y + j * m, m);

			for (size_t i = 0; i < m && !isnan(level); i++) {
				double v = pr->y[j * m + i];

				if (isnan(v))
					continue;
				pr->season0[i] += v - level - ((double)i - (double)(m - 1) / 2) * slope;
				counts[i]++;
			}
		}
		for (size_t i = 0; i < m; i++) {
			pr->season0[i] = counts[i] ? pr->season0[i] / (double)counts[i] : 0;
			centre += pr->season0[i];
		}
		for (size_t i = 0; i < m; i++)
			pr->season0[i] -= centre / (double)m;
		free(counts);
		pr->trend0 = slope;
		pr->level0 = first - slope * (double)(m + 1) / 2;
		return 0;
	}

	double sx = 0, sy = 0, sxx = 0, sxy = 0, cnt = 0;
	size_t first = 0;

	while (first < pr->n && isnan(pr->y[first]))
		first++;
	if (first == pr->n)
		return -1;
	for (size_t i = first; i < pr->n && i < first + 10; i++) {
		double x = (double)(i - first);

		if (isnan(pr->y[i]))
			continue;
		sx += x;
		sy += pr->y[i];
		sxx += x * x;
		sxy += x * pr->y[i];
		cnt++;
	}
	pr->trend0 = 0;
	if (pr->spec->trend && cnt > 1 && cnt * sxx - sx * sx > 0)
		pr->trend0 = (cnt * sxy - sx * sy) / (cnt * sxx - sx * sx);
	pr->level0 = pr->y[first] - pr->trend0;
	return 0;
}

/* One Nelder-Mead run from u; u receives the minimum found, the return its value. */
static double
ets_minimise(struct ets_problem *pr, gsl_vector *u)
{
	return pa_fcm_simplex(ets_objective, pr, u, 1.0, 1e-4, 100 * (int)u->size + 100);
}

/*
 * Minimise the squared error.  The surface often has a second basin near
 * alpha = 1, where the season stops updating, so the search starts from a
 * slow and a fast level and keeps the better.  A third search restarted
 * from that result changed no forecast of the benchmark series and cost
 * an eighth of the automatic choice's time, so there is none.
 */
static void
ets_fit(struct ets_problem *pr, gsl_vector *u)
{
	static const double alpha_start[] = { 0.2, 0.7 };
	gsl_vector *trial = gsl_vector_alloc(u->size);
	double best = HUGE_VAL;

	for (size_t a = 0; a < sizeof alpha_start / sizeof alpha_start[0]; a++) {
		size_t i = 0;
		double sse;

		gsl_vector_set(trial, i++, pa_fcm_logit(alpha_start[a]));
		if (pr->spec->trend)
			gsl_vector_set(trial, i++, pa_fcm_logit(0.1));
		if (pr->spec->period)
			gsl_vector_set(trial, i++, pa_fcm_logit(0.2));
		if (pr->spec->damped)
			gsl_vector_set(trial, i++, 0);
		sse = ets_minimise(pr, trial);
		if (sse < best) {
			best = sse;
			gsl_vector_memcpy(u, trial);
		}
	}
	gsl_vector_free(trial);
}

int
pa_fcm_ets(const double *y, size_t n, const struct pa_fcm_ets_spec *spec,
	   size_t horizon, struct pa_fcm_out *out, char *why)
{
	size_t m = spec->period, dim = param_count(spec), known;
	size_t need = m ? 2 * m : (spec->trend ? 4 : 3);
	struct ets_problem pr = { y, n, spec, 0, 0, NULL, NULL };
	struct ets_params p;
	struct ets_state st;
	gsl_vector *u;
	double sse, sigma2, loglik, k, c = 0;
	int rc = -1;

	assert(!spec->damped || spec->trend);
	if (n < need || pa_fcm_known(y, n) < need) {
		snprintf(why, PA_FC_REASON_MAX, "history of %zu known values, need %zu",
			 pa_fcm_known(y, n), need);
		return -1;
	}
	if (m) {
		pr.season0 = calloc(m, sizeof *pr.season0);
		pr.season = calloc(m, sizeof *pr.season);
		if (pr.season0 == NULL || pr.season == NULL) {
			snprintf(why, PA_FC_REASON_MAX, "out of memory");
			goto done;
		}
	}
	if (ets_init(&pr) != 0) {
		snprintf(why, PA_FC_REASON_MAX, "no known value in the first seasons");
		goto done;
	}

	if (spec->reuse && spec->reuse->valid) {
		p = (struct ets_params){ spec->reuse->alpha, spec->reuse->beta,
					 spec->reuse->gamma, spec->reuse->phi };
	} else {
		gsl_set_error_handler_off();
		u = gsl_vector_alloc(dim);
		ets_fit(&pr, u);
		p = params_from(u, spec);
		gsl_vector_free(u);
		if (spec->reuse)
			*spec->reuse = (struct pa_fcm_params){ .valid = 1, .alpha = p.alpha, .beta = p.beta, .gamma = p.gamma, .phi = p.phi };
	}

	st.season = pr.season;
	sse = ets_run(&pr, &p, &st, &known);
	sigma2 = sse / (double)known;
	out->sigma = sqrt(sigma2);

	/* Parameters counted as R's ets counts them: smoothing, initial states, variance. */
	k = (double)dim + 1 + (spec->trend ? 1 : 0) + (double)m + 1;
	loglik = -0.5 * (double)known * (log(2 * M_PI * fmax(sigma2, 1e-300)) + 1);
	out->aicc = (double)known - k - 1 > 0
		? -2 * loglik + 2 * k + 2 * k * (k + 1) / ((double)known - k - 1)
		: NAN;

	/* h-step variance: sigma^2 (1 + sum_{j<h} c_j^2), c_j = alpha + beta phi_j + gamma [m | j]. */
	double phisum = 0, phipow = 1;

	for (size_t h = 1; h <= horizon; h++) {
		phipow *= p.phi;
		phisum += phipow;
		out->mean[h - 1] = st.level + phisum * st.trend + (m ? st.season[(n + h - 1) % m] : 0);
		out->sd[h - 1] = sqrt(sigma2 * (1 + c));

		double cj = p.alpha + p.beta * phisum + ((m && h % m == 0) ? p.gamma : 0);

		c += cj * cj;
	}
	rc = 0;
done:
	free(pr.season0);
	free(pr.season);
	return rc;
}
