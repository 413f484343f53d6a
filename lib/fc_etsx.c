/*
 * fc_etsx.c - exponential smoothing in innovations state-space form, named
 * ETS(error, trend, season) as in R's forecast package and in Hyndman,
 * Koehler, Ord and Snyder, "Forecasting with Exponential Smoothing"
 * (Springer, 2008).  The error is additive or multiplicative, the trend
 * none, additive or damped, the season none, additive or multiplicative.
 *
 * The states are updated in the recursive form, which is the same for both
 * error types, so the error type changes only the likelihood and the
 * spread of the forecast.  Smoothing parameters are fitted by maximum
 * likelihood with GSL's Nelder-Mead (nmsimplex2), inside the usual bounds
 * 0 < beta < alpha < 1, 0 < gamma < 1 - alpha, 0.80 <= phi <= 0.98.  The
 * objective is n log(sum e^2), plus 2 sum log|mu| for multiplicative error
 * where e = (y - mu) / mu, which is -2 log-likelihood up to a constant once
 * the variance is profiled out.  The likelihood is conditional on the
 * first known value, whose error is left out of the sums and of n, as
 * conditional sums of squares leave out ARIMA's first values.  Its
 * forecast comes from the heuristic start alone.  Counted, that error
 * lets one odd first value decide the form.  A zero in the first bucket
 * costs a seasonal form a full error but a level-only form with alpha
 * near 1 much less, so the flat ets(A,N,N) would win over a clear season.
 *
 * Unlike R's ets, the initial states are not fitted but taken from a simple
 * decomposition (etsx_init).  So a season of 168 or 336 steps costs one
 * pass over the history per likelihood evaluation, where fitting the
 * states would be a search in 170 or more dimensions.  The AICc still
 * counts them as parameters, as R does.
 *
 * The automatic choice keeps the admissible form with the lowest AICc
 * (etsx_choose).  Additive error is not combined with a multiplicative
 * season, which R's ets (restrict = TRUE) also leaves out as a model of
 * infinite variance.  Its seasonal update divides an additive error by the
 * level, so a level near zero makes the state explode.  Multiplicative
 * trend is not offered.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "fc_models.h"
#include "forecast.h"

/* The damping parameter stays in [0.80, 0.98], the default bounds of ets() in R's forecast 8.20. */
#define PHI_MIN 0.80
#define PHI_SPAN 0.18

/* Sample paths for the spread of a multiplicative-season forecast, and their fixed seed. */
#define SIM_PATHS 1000
#define SIM_SEED 2008

enum { SEASON_NONE = 0, SEASON_ADD = 1, SEASON_MUL = 2 };
enum { TREND_NONE = 0, TREND_ADD = 1, TREND_DAMPED = 2 };

struct etsx_par {
	double alpha, beta, gamma, phi;
};

struct etsx_problem {
	const double *y;
	size_t n;
	int error, trend, season;
	size_t m;		/* season length; 0 when season is NONE */
	double level0, trend0;
	double *season0;	/* m initial season states, season0[t % m] for time t */
	double *state;		/* m season states of one run */
};

/*
 * Result of one filter pass: the fit terms and the final level and trend.
 * The final season states are left in pr->state.
 */
struct etsx_run {
	double sse, sumlog;
	size_t known;
	double level, trend;
};

static const char *const trend_code[] = { "N", "A", "Ad" };
static const char *const season_code[] = { "N", "A", "M" };

static size_t
param_count(const struct etsx_problem *pr)
{
	return 1 + (pr->trend != TREND_NONE) + (pr->season != SEASON_NONE) +
	       (pr->trend == TREND_DAMPED);
}

static struct etsx_par
params_from(const gsl_vector *u, const struct etsx_problem *pr)
{
	struct etsx_par p = { 0, 0, 0, 1 };
	size_t i = 0;

	p.alpha = pa_fcm_logistic(gsl_vector_get(u, i++));
	if (pr->trend != TREND_NONE)
		p.beta = p.alpha * pa_fcm_logistic(gsl_vector_get(u, i++));
	if (pr->season != SEASON_NONE)
		p.gamma = (1 - p.alpha) * pa_fcm_logistic(gsl_vector_get(u, i++));
	if (pr->trend == TREND_DAMPED)
		p.phi = PHI_MIN + PHI_SPAN * pa_fcm_logistic(gsl_vector_get(u, i++));
	return p;
}

/*
 * Update level, trend and the season state s for an observation y whose
 * one-step forecast was built from lb = level + phi trend and season state
 * *s.  Returns -1 when a state that a multiplicative model needs positive
 * falls to zero or below.
 */
static inline int
etsx_update(const struct etsx_problem *pr, const struct etsx_par *p, double y, double lb,
	    double *level, double *trend, double *s)
{
	double phi_b = lb - *level;
	double deseasoned = y;
	double level_new;

	if (pr->season == SEASON_ADD)
		deseasoned = y - *s;
	else if (pr->season == SEASON_MUL)
		deseasoned = y / *s;
	level_new = lb + p->alpha * (deseasoned - lb);

	/*
	 * The trend moves by beta / alpha of the level's surprise, which is
	 * beta e in the error form.
	 */
	if (pr->trend != TREND_NONE)
		*trend = phi_b + p->beta / p->alpha * (level_new - *level - phi_b);
	if (pr->season == SEASON_ADD)
		*s += p->gamma * (y - lb - *s);
	else if (pr->season == SEASON_MUL)
		*s += p->gamma * (y / lb - *s);
	*level = level_new;
	if (pr->season == SEASON_MUL && !(*s > 0))
		return -1;
	if ((pr->error || pr->season == SEASON_MUL) && !(*level > 0))
		return -1;
	return 0;
}

/*
 * Run the model over y with parameters p.  Unknown values contribute no
 * error, and the states move on their own forecast across them.  Returns
 * -1 when a multiplicative model meets a forecast or state at or below zero.
 */
static int
etsx_filter(const struct etsx_problem *pr, const struct etsx_par *p, struct etsx_run *r)
{
	double level = pr->level0, trend = pr->trend != TREND_NONE ? pr->trend0 : 0;
	double phi = pr->trend == TREND_DAMPED ? p->phi : 1;
	double none = pr->season == SEASON_MUL ? 1 : 0, product = 1, sse = 0;
	const double *y = pr->y;
	size_t m = pr->m, phase = 0, known = 0;
	int multiplicative_season = pr->season == SEASON_MUL, conditioned = 0;

	if (m)
		memcpy(pr->state, pr->season0, m * sizeof *pr->state);
	r->sumlog = 0;
	for (size_t t = 0; t < pr->n; t++) {
		/* phase is t % m, kept without a division because this loop is hot. */
		double *s = m ? &pr->state[phase] : &none;
		double lb = level + phi * trend;
		double mu = multiplicative_season ? lb * *s : lb + *s;
		double value = y[t];

		if (m && ++phase == m)
			phase = 0;
		if (isnan(value)) {
			value = mu;
		} else if (!conditioned) {
			/*
			 * The first known value's forecast comes from the heuristic
			 * start alone, so its error is left out (see the header).
			 */
			conditioned = 1;
			if (pr->error && !(mu > 0))
				return -1;
		} else if (pr->error) {
			double e;

			if (!(mu > 0))
				return -1;
			e = (value - mu) / mu;
			sse += e * e;
			known++;
			/* Sum log(mu) as the log of a running product, so one log call
			 * covers many steps instead of one. */
			product *= mu;
			if (product > 1e250 || product < 1e-250) {
				r->sumlog += log(product);
				product = 1;
			}
		} else {
			sse += (value - mu) * (value - mu);
			known++;
		}
		if (etsx_update(pr, p, value, lb, &level, &trend, s) != 0)
			return -1;
	}
	r->sumlog += log(product);
	r->sse = sse;
	r->known = known;
	r->level = level;
	r->trend = trend;
	return 0;
}

static double
etsx_objective(const gsl_vector *u, void *data)
{
	const struct etsx_problem *pr = data;
	struct etsx_par p = params_from(u, pr);
	struct etsx_run r;
	double value;

	if (etsx_filter(pr, &p, &r) != 0 || r.known == 0 || !(r.sse > 0))
		return HUGE_VAL;
	value = (double)r.known * log(r.sse) + 2 * r.sumlog;
	return isfinite(value) ? value : HUGE_VAL;
}

/*
 * Estimate the initial season states.  Each phase gets its mean deviation
 * from (additive) or ratio to (multiplicative) the mean of its own season,
 * over all full seasons, after the slope within the season is removed.
 * The states are then centred to sum 0 or to mean 1.  Averaging over every
 * season, not only the first, matters most for long periods, because a
 * history of a few weeks has only a few seasons of 168 steps.  It matters
 * for a small gamma too, with which the season barely moves from its start.
 *
 * NOTE: one outlier moves its phase's start by its error over the number
 * of seasons, and with a small gamma that offset stays in the forecast.
 * A zero in the first bucket of 3 days lowers that hour's forecast by a
 * third.  A median over the seasons removes the offset, but on simulated
 * hourly series with one zero it made the AICc pick the seasonal form
 * less often.
 */
static int
init_season(struct etsx_problem *pr, double slope)
{
	size_t m = pr->m, seasons = pr->n / m;
	size_t *counts = calloc(m, sizeof *counts);
	double centre = 0;

	if (counts == NULL)
		return -1;
	for (size_t i = 0; i < m; i++)
		pr->season0[i] = 0;
	for (size_t j = 0; j < seasons; j++) {
		double level = pa_fcm_known_mean(pr->y + j * m, m);

		if (isnan(level) || (pr->season == SEASON_MUL && !(level > 0)))
			continue;
		for (size_t i = 0; i < m; i++) {
			double v = pr->y[j * m + i];
			double at = level + ((double)i - (double)(m - 1) / 2) * slope;

			if (isnan(v) || (pr->season == SEASON_MUL && !(at > 0)))
				continue;
			pr->season0[i] += pr->season == SEASON_MUL ? v / at : v - at;
			counts[i]++;
		}
	}
	for (size_t i = 0; i < m; i++) {
		if (counts[i])
			pr->season0[i] /= (double)counts[i];
		else
			pr->season0[i] = pr->season == SEASON_MUL ? 1 : 0;
		centre += pr->season0[i];
	}
	free(counts);
	centre /= (double)m;
	for (size_t i = 0; i < m; i++) {
		if (pr->season == SEASON_MUL)
			pr->season0[i] = centre > 0 ? pr->season0[i] / centre : 1;
		else
			pr->season0[i] -= centre;
		/*
		 * A phase that was always zero would start a multiplicative season
		 * at zero, where the filter rejects the model, so it starts at 1e-3.
		 */
		if (pr->season == SEASON_MUL && pr->season0[i] < 1e-3)
			pr->season0[i] = 1e-3;
	}
	return 0;
}

/*
 * Estimate the initial level and trend, and the season states when there
 * is a season.  With a season, the trend is the change per step from the
 * first to the last full season's mean, and the level is the first
 * season's mean taken back to the step before the first value.  Without
 * one, they come from the least-squares line through the first ten known
 * values, evaluated one step before the first.  Returns -1 when the first
 * or last full season (with a season) or the whole history (without) has
 * no known value, or when memory runs out.
 */
static int
etsx_init(struct etsx_problem *pr)
{
	size_t m = pr->m;

	if (m) {
		size_t seasons = pr->n / m;
		double first = pa_fcm_known_mean(pr->y, m);
		double last = pa_fcm_known_mean(pr->y + (seasons - 1) * m, m);
		double slope;

		if (isnan(first) || isnan(last))
			return -1;
		slope = pr->trend != TREND_NONE ? (last - first) / (double)((seasons - 1) * m) : 0;
		pr->trend0 = slope;
		pr->level0 = first - slope * (double)(m + 1) / 2;
		return init_season(pr, slope);
	}

	double sx = 0, sy = 0, sxx = 0, sxy = 0, cnt = 0, slope = 0;
	size_t first = 0;

	while (first < pr->n && isnan(pr->y[first]))
		first++;
	if (first == pr->n)
		return -1;
	for (size_t i = first; i < pr->n && cnt < 10; i++) {
		double x = (double)(i - first);

		if (isnan(pr->y[i]))
			continue;
		sx += x;
		sy += pr->y[i];
		sxx += x * x;
		sxy += x * pr->y[i];
		cnt++;
	}
	if (pr->trend != TREND_NONE && cnt > 1 && cnt * sxx - sx * sx > 0)
		slope = (cnt * sxy - sx * sy) / (cnt * sxx - sx * sx);
	pr->trend0 = slope;
	pr->level0 = (sy - slope * sx) / cnt - slope;
	if (pr->error && !(pr->level0 + slope > 0))
		pr->level0 = pr->y[first] - slope;
	return 0;
}

/*
 * Run Nelder-Mead once from u.  u receives the minimum found, and the
 * objective there is returned.
 */
static double
etsx_minimise(struct etsx_problem *pr, gsl_vector *u)
{
	return pa_fcm_simplex(etsx_objective, pr, u, 1.0, 1e-2, 100 * (int)u->size + 100);
}

/*
 * Maximise the likelihood.  The surface often has a second basin near
 * alpha = 1, where the season stops updating, so the search starts from
 * whichever of a slow and a fast level fits better.  A restart from the
 * result changed no benchmark forecast by more than 0.1% and cost a third
 * of the time, so there is none.  Returns the
 * objective, HUGE_VAL when no start gave a valid filter.
 */
static double
etsx_fit(struct etsx_problem *pr, struct etsx_par *par)
{
	static const double alpha_start[] = { 0.2, 0.7 };
	size_t dim = param_count(pr);
	gsl_vector *u = gsl_vector_alloc(dim), *trial = gsl_vector_alloc(dim);
	double best = HUGE_VAL;

	for (size_t a = 0; a < sizeof alpha_start / sizeof alpha_start[0]; a++) {
		size_t i = 0;
		double value;

		gsl_vector_set(trial, i++, pa_fcm_logit(alpha_start[a]));
		if (pr->trend != TREND_NONE)
			gsl_vector_set(trial, i++, pa_fcm_logit(0.1));
		if (pr->season != SEASON_NONE)
			gsl_vector_set(trial, i++, pa_fcm_logit(0.2));
		if (pr->trend == TREND_DAMPED)
			gsl_vector_set(trial, i++, 0);
		value = etsx_objective(trial, pr);
		if (value < best) {
			best = value;
			gsl_vector_memcpy(u, trial);
		}
	}
	if (best < HUGE_VAL)
		best = etsx_minimise(pr, u);
	*par = params_from(u, pr);
	gsl_vector_free(u);
	gsl_vector_free(trial);
	return best;
}

/*
 * Compute the AICc, with *loglik receiving the log-likelihood.  Parameters
 * are counted as R's ets counts them: the smoothing parameters, the
 * initial states (m - 1 free season states) and the variance.  Returns NAN
 * when there are too few known values for that count.
 */
static double
etsx_aicc(const struct etsx_problem *pr, const struct etsx_run *r, double *loglik)
{
	double n = (double)r->known;
	double k = (double)param_count(pr) + 1 + (pr->trend != TREND_NONE) +
		   (pr->m ? (double)pr->m - 1 : 0) + 1;

	*loglik = -0.5 * n * (log(2 * M_PI * r->sse / n) + 1) - r->sumlog;
	if (n - k - 1 <= 0)
		return NAN;
	return -2 * *loglik + 2 * k + 2 * k * (k + 1) / (n - k - 1);
}

/* Write the point forecasts from the final states of r into mean. */
static void
etsx_means(const struct etsx_problem *pr, const struct etsx_par *p, const struct etsx_run *r,
	   size_t horizon, double *mean)
{
	double phi = pr->trend == TREND_DAMPED ? p->phi : 1, phipow = 1, phisum = 0;

	for (size_t h = 1; h <= horizon; h++) {
		double s = pr->m ? pr->state[(pr->n + h - 1) % pr->m] : 0;
		double lb;

		phipow *= phi;
		phisum += phipow;
		lb = r->level + phisum * r->trend;
		mean[h - 1] = pr->season == SEASON_MUL ? lb * s : lb + s;
	}
}

/*
 * Write the forecast standard deviation of the models whose point forecast
 * is linear in the states (no multiplicative season) into sd.  The
 * variance follows Hyndman et al. (2008) chapter 6, with
 * c_j = alpha + beta (phi + ... + phi^j) + gamma [j a multiple of m].
 * Additive error (class 1): v_h = sigma^2 (1 + sum_{j<h} c_j^2).
 * Multiplicative error (class 2): v_h = (1 + sigma^2) theta_h - mu_h^2 with
 * theta_1 = mu_1^2 and theta_h = mu_h^2 + sigma^2 sum_{j<h} c_j^2 theta_{h-j}.
 */
static int
etsx_sd_linear(const struct etsx_problem *pr, const struct etsx_par *p, double sigma2,
	       size_t horizon, const double *mean, double *sd)
{
	double *c2 = malloc(horizon * sizeof *c2), *theta = NULL;
	double phi = pr->trend == TREND_DAMPED ? p->phi : 1, phipow = 1, phisum = 0, sum = 0;

	if (c2 == NULL)
		return -1;
	for (size_t j = 1; j < horizon; j++) {
		double c;

		phipow *= phi;
		phisum += phipow;
		c = p->alpha + p->beta * phisum + (pr->m && j % pr->m == 0 ? p->gamma : 0);
		c2[j] = c * c;
	}
	if (!pr->error) {
		for (size_t h = 1; h <= horizon; h++) {
			sd[h - 1] = sqrt(sigma2 * (1 + sum));
			if (h < horizon)
				sum += c2[h];
		}
		free(c2);
		return 0;
	}
	theta = malloc(horizon * sizeof *theta);
	if (theta == NULL) {
		free(c2);
		return -1;
	}
	for (size_t h = 1; h <= horizon; h++) {
		double mu2 = mean[h - 1] * mean[h - 1];

		theta[h - 1] = mu2;
		for (size_t j = 1; j < h; j++)
			theta[h - 1] += sigma2 * c2[j] * theta[h - 1 - j];
		sd[h - 1] = sqrt(fmax((1 + sigma2) * theta[h - 1] - mu2, 0));
	}
	free(theta);
	free(c2);
	return 0;
}

/*
 * Write the forecast standard deviation of a multiplicative season, which
 * has no closed form, into sd.  It is the standard deviation over
 * SIM_PATHS simulated futures, drawn with a fixed seed so the same history
 * gives the same interval.
 */
static int
etsx_sd_simulated(const struct etsx_problem *pr, const struct etsx_par *p,
		  const struct etsx_run *r, double sigma, size_t horizon, double *sd)
{
	double *sum = calloc(horizon, sizeof *sum), *sumsq = calloc(horizon, sizeof *sumsq);
	double *season = malloc(pr->m * sizeof *season);
	double phi = pr->trend == TREND_DAMPED ? p->phi : 1;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int rc = -1;

	if (sum == NULL || sumsq == NULL || season == NULL || rng == NULL)
		goto done;
	gsl_rng_set(rng, SIM_SEED);
	for (size_t path = 0; path < SIM_PATHS; path++) {
		double level = r->level, trend = r->trend;

		memcpy(season, pr->state, pr->m * sizeof *season);
		for (size_t h = 0; h < horizon; h++) {
			double *s = &season[(pr->n + h) % pr->m];
			double lb = level + phi * trend, mu = lb * *s;
			double e = gsl_ran_gaussian_ziggurat(rng, sigma);
			double y = pr->error ? mu * (1 + e) : mu + e;

			sum[h] += y;
			sumsq[h] += y * y;
			/* A path whose states turn nonpositive is held at small positive ones. */
			if (!(lb > 0) || etsx_update(pr, p, y, lb, &level, &trend, s) != 0) {
				level = fmax(level, 1e-9);
				*s = fmax(*s, 1e-3);
			}
		}
	}
	for (size_t h = 0; h < horizon; h++) {
		double m1 = sum[h] / SIM_PATHS;

		sd[h] = sqrt(fmax(sumsq[h] / SIM_PATHS - m1 * m1, 0));
	}
	rc = 0;
done:
	free(sum);
	free(sumsq);
	free(season);
	if (rng)
		gsl_rng_free(rng);
	return rc;
}

static int
form_admissible(int form)
{
	return form >= 0 && form < 18 &&
	       !(PA_FCM_ETS_ERROR(form) == 0 && PA_FCM_ETS_SEASON(form) == SEASON_MUL);
}

int
pa_fcm_etsx_parse(const char *code)
{
	int error, trend, season;

	if (code[0] == 'A' || code[0] == 'M')
		error = code[0] == 'M';
	else
		return -1;
	code++;
	if (strncmp(code, "Ad", 2) == 0) {
		trend = TREND_DAMPED;
		code += 2;
	} else if (*code == 'A' || *code == 'N') {
		trend = *code == 'A' ? TREND_ADD : TREND_NONE;
		code++;
	} else {
		return -1;
	}
	if (*code == 'N')
		season = SEASON_NONE;
	else if (*code == 'A')
		season = SEASON_ADD;
	else if (*code == 'M')
		season = SEASON_MUL;
	else
		return -1;
	if (code[1] != '\0' || !form_admissible(PA_FCM_ETS_FORM(error, trend, season)))
		return -1;
	return PA_FCM_ETS_FORM(error, trend, season);
}

void
pa_fcm_etsx_format(int form, size_t period, char *buf, size_t size)
{
	int season = PA_FCM_ETS_SEASON(form);

	if (season != SEASON_NONE && period)
		snprintf(buf, size, "ets(%s,%s,%s)[%zu]", PA_FCM_ETS_ERROR(form) ? "M" : "A",
			 trend_code[PA_FCM_ETS_TREND(form)], season_code[season], period);
	else
		snprintf(buf, size, "ets(%s,%s,%s)", PA_FCM_ETS_ERROR(form) ? "M" : "A",
			 trend_code[PA_FCM_ETS_TREND(form)], season_code[season]);
}

const char *
pa_fcm_etsx_model_name(int form)
{
	static const char *const names[18] = {
		"ets:ANN", "ets:ANA", NULL, "ets:AAN", "ets:AAA", NULL, "ets:AAdN", "ets:AAdA", NULL,
		"ets:MNN", "ets:MNA", "ets:MNM", "ets:MAN", "ets:MAA", "ets:MAM",
		"ets:MAdN", "ets:MAdA", "ets:MAdM",
	};

	return form >= 0 && form < 18 ? names[form] : NULL;
}

/* Point pr at form, with a season of m steps when the form has one, and estimate its start. */
static int
problem_set(struct etsx_problem *pr, int form, size_t m)
{
	pr->error = PA_FCM_ETS_ERROR(form);
	pr->trend = PA_FCM_ETS_TREND(form);
	pr->season = PA_FCM_ETS_SEASON(form);
	pr->m = pr->season != SEASON_NONE ? m : 0;
	return etsx_init(pr);
}

static int
form_multiplicative(int form)
{
	return PA_FCM_ETS_ERROR(form) || PA_FCM_ETS_SEASON(form) == SEASON_MUL;
}

/* Fit form, and make it the choice when its AICc beats *best. */
static void
etsx_try(struct etsx_problem *pr, size_t m, int form, double *best, int *chosen,
	 struct etsx_par *best_par)
{
	struct etsx_par par;
	struct etsx_run run;
	double aicc, loglik;

	if (problem_set(pr, form, m) != 0 || etsx_fit(pr, &par) == HUGE_VAL ||
	    etsx_filter(pr, &par, &run) != 0 || run.known == 0)
		return;
	aicc = etsx_aicc(pr, &run, &loglik);
	if (!isnan(aicc) && aicc < *best) {
		*best = aicc;
		*chosen = form;
		*best_par = par;
	}
}

/*
 * Choose the admissible form with the lowest AICc in two steps, as a
 * stepwise search: first the error and season among the forms without a
 * trend, then the trend (none, additive, damped) for that error and
 * season.  That is 7 fits instead of 15, and a trend seldom changes which
 * season and error fit best.  Returns the form, or -1 when none fitted.
 */
static int
etsx_choose(struct etsx_problem *pr, size_t m, int positive, struct etsx_par *best_par)
{
	double best = HUGE_VAL;
	int chosen = -1, error, season;

	for (int form = 0; form < 18; form++) {
		if (!form_admissible(form) || PA_FCM_ETS_TREND(form) != TREND_NONE ||
		    (PA_FCM_ETS_SEASON(form) != SEASON_NONE && m == 0) ||
		    (form_multiplicative(form) && !positive))
			continue;
		etsx_try(pr, m, form, &best, &chosen, best_par);
	}
	if (chosen < 0)
		return -1;
	error = PA_FCM_ETS_ERROR(chosen);
	season = PA_FCM_ETS_SEASON(chosen);
	etsx_try(pr, m, PA_FCM_ETS_FORM(error, TREND_ADD, season), &best, &chosen, best_par);
	etsx_try(pr, m, PA_FCM_ETS_FORM(error, TREND_DAMPED, season), &best, &chosen, best_par);
	return chosen;
}

int
pa_fcm_etsx(const double *y, size_t n, size_t period, int form, size_t horizon,
	    struct pa_fcm_params *reuse, struct pa_fcm_out *out, char *why)
{
	size_t m = period >= 2 && n >= 2 * period ? period : 0, known = pa_fcm_known(y, n);
	size_t nonpositive = n;
	struct etsx_problem pr = { .y = y, .n = n };
	struct etsx_par par;
	struct etsx_run run;
	char name[48];
	double loglik, sigma2;
	int rc = -1;

	why[0] = '\0';
	for (size_t i = 0; i < n && nonpositive == n; i++)
		if (!isnan(y[i]) && !(y[i] > 0))
			nonpositive = i;
	if (known < 4) {
		snprintf(why, PA_FC_REASON_MAX, "history of %zu known values, need 4", known);
		return -1;
	}
	if (m) {
		pr.season0 = malloc(m * sizeof *pr.season0);
		pr.state = malloc(m * sizeof *pr.state);
		if (pr.season0 == NULL || pr.state == NULL) {
			snprintf(why, PA_FC_REASON_MAX, "out of memory");
			goto done;
		}
	}
	gsl_set_error_handler_off();
	if (form == PA_FCM_ETS_AUTO && reuse && reuse->valid)
		form = reuse->ets_form;

	if (form == PA_FCM_ETS_AUTO) {
		form = etsx_choose(&pr, m, nonpositive == n, &par);
		if (form < 0) {
			snprintf(why, PA_FC_REASON_MAX, "no ETS form fitted a history of %zu known values",
				 known);
			goto done;
		}
		if (nonpositive < n)
			snprintf(why, PA_FC_REASON_MAX,
				 "additive forms only: value %g at step %zu is not positive",
				 y[nonpositive], nonpositive);
		problem_set(&pr, form, m);
	} else {
		if (!form_admissible(form)) {
			snprintf(why, PA_FC_REASON_MAX, "inadmissible ETS form %d", form);
			goto done;
		}
		pa_fcm_etsx_format(form, period, name, sizeof name);
		if (PA_FCM_ETS_SEASON(form) != SEASON_NONE && m == 0) {
			snprintf(why, PA_FC_REASON_MAX, "%s needs 2 periods of history, got %zu values",
				 name, n);
			goto done;
		}
		if (form_multiplicative(form) && nonpositive < n) {
			snprintf(why, PA_FC_REASON_MAX, "%s needs positive values, got %g at step %zu",
				 name, y[nonpositive], nonpositive);
			goto done;
		}
		if (problem_set(&pr, form, m) != 0) {
			snprintf(why, PA_FC_REASON_MAX, "%s: no known value in the first or last season",
				 name);
			goto done;
		}
		if (reuse && reuse->valid)
			par = (struct etsx_par){ reuse->alpha, reuse->beta, reuse->gamma, reuse->phi };
		else if (etsx_fit(&pr, &par) == HUGE_VAL) {
			snprintf(why, PA_FC_REASON_MAX, "%s: no parameters keep the states positive", name);
			goto done;
		}
	}

	if (etsx_filter(&pr, &par, &run) != 0 || run.known == 0) {
		pa_fcm_etsx_format(form, period, name, sizeof name);
		snprintf(why, PA_FC_REASON_MAX, "%s: the states left the positive range", name);
		goto done;
	}
	sigma2 = run.sse / (double)run.known;
	out->aicc = etsx_aicc(&pr, &run, &loglik);
	etsx_means(&pr, &par, &run, horizon, out->mean);
	if (pr.season == SEASON_MUL ? etsx_sd_simulated(&pr, &par, &run, sqrt(sigma2), horizon, out->sd)
				    : etsx_sd_linear(&pr, &par, sigma2, horizon, out->mean, out->sd)) {
		snprintf(why, PA_FC_REASON_MAX, "out of memory");
		goto done;
	}
	/*
	 * The one-step standard deviation on the scale of y.  Relative errors
	 * scale with the level, so they are multiplied by the first forecast.
	 */
	out->sigma = pr.error && horizon ? sqrt(sigma2) * fabs(out->mean[0]) : sqrt(sigma2);
	if (reuse && !reuse->valid)
		*reuse = (struct pa_fcm_params){ .valid = 1, .alpha = par.alpha, .beta = par.beta,
						 .gamma = par.gamma, .phi = par.phi, .ets_form = form };
	rc = 0;
done:
	free(pr.season0);
	free(pr.state);
	return rc;
}
