/*
 * fc_fourier.c - Fourier seasons with ARIMA errors.
 *
 * The model, for step t of a history of n:
 *
 *   y_t = sum_s sum_k (u_sk sin(2 pi k t / p_s) + v_sk cos(2 pi k t / p_s)) + e_t
 *
 * with e_t a non-seasonal ARIMA process whose orders fc_arima.c chooses.
 * The seasons keep a smooth shape of a few harmonics fitted over the whole
 * history, so a burst moves them little.  The level and the short-term
 * swings are the ARIMA part's, and a burst does move those.  R's forecast
 * package fits the same model as auto.arima(x, xreg = fourier(x, K)).
 *
 * It is fitted in two stages.  The Fourier coefficients come from least
 * squares of the first differences of y on the first differences of the
 * terms: when e_t wanders like a random walk that is the generalised
 * least-squares estimate, and a level shift cannot pull the seasonal
 * shape towards it.  The ARIMA search then runs on e_t = y_t - seasons_t.
 * The harmonics per season are chosen by the AICc of that differenced
 * regression, the first season first, over a grid of counts.
 *
 * The interval is the ARIMA part's.  It leaves out the uncertainty of the
 * Fourier coefficients, which over the weeks of history this model needs
 * is small against the level's.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "fc_models.h"
#include "forecast.h"

#define HARMONICS_MAX 10
#define SPARE_ROWS 10		/* known differences beyond the coefficient count */
#define OUTLIER_IQRS 3.0	/* clip_outliers: interquartile ranges beyond the quartiles */

static const size_t harmonic_choices[] = { 1, 2, 3, 4, 6, 8, 10 };

struct seasons {
	size_t period[2];	/* 0: no such season */
	size_t harmonics[2];
};

static size_t
term_count(const struct seasons *s)
{
	return 2 * (s->harmonics[0] + s->harmonics[1]);
}

size_t
pa_fcm_fourier_pairs_max(size_t period, size_t main_period, size_t cap)
{
	size_t m = period >= 3 ? (period - 1) / 2 : 0;

	if (m > cap)
		m = cap;
	/*
	 * When the main season divides this one, harmonic period/main_period
	 * of this season is the first of the main one, and the two columns
	 * would be the same.
	 */
	if (period && main_period && period % main_period == 0 && m >= period / main_period)
		m = period / main_period - 1;
	return m;
}

/* Return the maximum number of Fourier pairs season j can carry beside the other one. */
static size_t
harmonics_max(const struct seasons *s, size_t j)
{
	return pa_fcm_fourier_pairs_max(s->period[j], j == 1 ? s->period[0] : 0, HARMONICS_MAX);
}

/* Write the Fourier terms of step t into row. */
static void
terms_at(const struct seasons *s, size_t t, double *row)
{
	size_t c = 0;

	for (size_t j = 0; j < 2; j++) {
		/* The phase of t within the season keeps the angle small and exact. */
		double phase = s->period[j] ? (double)(t % s->period[j]) / (double)s->period[j] : 0;

		for (size_t k = 1; k <= s->harmonics[j]; k++) {
			row[c++] = sin(2 * M_PI * (double)k * phase);
			row[c++] = cos(2 * M_PI * (double)k * phase);
		}
	}
}

static double
seasons_at(const struct seasons *s, size_t t, const double *coef, double *row)
{
	double sum = 0;

	terms_at(s, t, row);
	for (size_t c = 0; c < term_count(s); c++)
		sum += row[c] * coef[c];
	return sum;
}

/*
 * Clip x[0..n) in place to OUTLIER_IQRS interquartile ranges beyond its
 * quartiles, leaving unknown values.  Returns -1 when out of memory.
 */
static int
clip_outliers(double *x, size_t n)
{
	double *sorted = malloc((n + 1) * sizeof *sorted), q1, q3, lo, hi;
	size_t known = 0;

	if (sorted == NULL)
		return -1;
	for (size_t t = 0; t < n; t++)
		if (!isnan(x[t]))
			sorted[known++] = x[t];
	if (known < 4) {
		free(sorted);
		return 0;
	}
	gsl_sort(sorted, 1, known);
	q1 = gsl_stats_quantile_from_sorted_data(sorted, 1, known, 0.25);
	q3 = gsl_stats_quantile_from_sorted_data(sorted, 1, known, 0.75);
	lo = q1 - OUTLIER_IQRS * (q3 - q1);
	hi = q3 + OUTLIER_IQRS * (q3 - q1);
	for (size_t t = 0; t < n; t++)
		if (!isnan(x[t]))
			x[t] = fmin(fmax(x[t], lo), hi);
	free(sorted);
	return 0;
}

/*
 * Cross products of the differenced terms of every harmonic a search may
 * try, so that each trial solves a small system instead of refitting n
 * rows.  Column 2 (k - 1) of season j's block is the sine of harmonic k,
 * the next one its cosine, and season 1's block follows season 0's.
 */
struct normal {
	size_t full[2];		/* harmonics per season the columns cover */
	size_t p;		/* column count */
	size_t rows;		/* pairs of known neighbours */
	double *xtx;		/* p x p, row-major */
	double *xty;
	double yty;
};

static void
normal_free(struct normal *ne)
{
	free(ne->xtx);
	free(ne->xty);
}

/*
 * Sum the cross products over the first differences dy[1..n) of y, NAN
 * where either value is unknown.  Returns -1 when out of memory.
 */
static int
normal_build(const double *dy, size_t n, const struct seasons *full, struct normal *ne)
{
	double *now, *before, *d;
	size_t p = term_count(full);

	ne->full[0] = full->harmonics[0];
	ne->full[1] = full->harmonics[1];
	ne->p = p;
	ne->rows = 0;
	ne->yty = 0;
	/* One more element each, so kept harmonics of none allocate too. */
	ne->xtx = calloc(p * p + 1, sizeof *ne->xtx);
	ne->xty = calloc(p + 1, sizeof *ne->xty);
	now = malloc((p + 1) * sizeof *now);
	before = malloc((p + 1) * sizeof *before);
	d = malloc((p + 1) * sizeof *d);
	if (ne->xtx == NULL || ne->xty == NULL || now == NULL || before == NULL || d == NULL) {
		free(now);
		free(before);
		free(d);
		return -1;
	}

	terms_at(full, 0, before);
	for (size_t t = 1; t < n; t++) {
		terms_at(full, t, now);
		if (!isnan(dy[t])) {
			for (size_t i = 0; i < p; i++)
				d[i] = now[i] - before[i];
			for (size_t i = 0; i < p; i++) {
				for (size_t j = i; j < p; j++)
					ne->xtx[i * p + j] += d[i] * d[j];
				ne->xty[i] += d[i] * dy[t];
			}
			ne->yty += dy[t] * dy[t];
			ne->rows++;
		}
		memcpy(before, now, p * sizeof *now);
	}
	for (size_t i = 0; i < p; i++)
		for (size_t j = 0; j < i; j++)
			ne->xtx[i * p + j] = ne->xtx[j * p + i];
	free(now);
	free(before);
	free(d);
	return 0;
}

/*
 * Fit the coefficients of s's harmonics, a subset of ne's, by least
 * squares on first differences, and return the AICc of that regression.
 * Returns HUGE_VAL when too few pairs of known neighbours are left or the
 * system is singular.
 */
static double
fit_differenced(const struct normal *ne, const struct seasons *s, double *coef)
{
	size_t q = term_count(s), idx[4 * HARMONICS_MAX], c = 0;
	gsl_matrix *a;
	gsl_vector *b, *x;
	double rss = ne->yty, aicc = HUGE_VAL;

	if (q == 0 || ne->rows < q + SPARE_ROWS)
		return HUGE_VAL;
	for (size_t j = 0; j < 2; j++)
		for (size_t k = 0; k < 2 * s->harmonics[j]; k++)
			idx[c++] = (j ? 2 * ne->full[0] : 0) + k;

	a = gsl_matrix_alloc(q, q);
	b = gsl_vector_alloc(q);
	x = gsl_vector_alloc(q);
	if (a == NULL || b == NULL || x == NULL)
		goto done;
	for (size_t i = 0; i < q; i++) {
		for (size_t j = 0; j < q; j++)
			gsl_matrix_set(a, i, j, ne->xtx[idx[i] * ne->p + idx[j]]);
		gsl_vector_set(b, i, ne->xty[idx[i]]);
	}
	if (gsl_linalg_cholesky_decomp1(a) != GSL_SUCCESS ||
	    gsl_linalg_cholesky_solve(a, b, x) != GSL_SUCCESS)
		goto done;
	for (size_t i = 0; i < q; i++) {
		coef[i] = gsl_vector_get(x, i);
		rss -= coef[i] * gsl_vector_get(b, i);
	}

	/*
	 * Rounding can leave a tiny negative sum, and a series that is its
	 * seasons exactly leaves none, so the log gets a floor.
	 */
	rss = fmax(rss, DBL_MIN * (double)ne->rows);
	aicc = (double)ne->rows * log(rss / (double)ne->rows) + 2.0 * (double)(q + 1) +
	       2.0 * (double)(q + 1) * (double)(q + 2) / (double)(ne->rows - q - 2);
done:
	gsl_matrix_free(a);
	gsl_vector_free(b);
	gsl_vector_free(x);
	return aicc;
}

/* Choose the harmonics of each season by AICc, the first season first. */
static int
choose_harmonics(const struct normal *ne, struct seasons *s, double *coef)
{
	size_t max[2] = { harmonics_max(s, 0), harmonics_max(s, 1) };
	int found = 0;

	s->harmonics[0] = max[0] ? 1 : 0;
	s->harmonics[1] = max[1] < 2 ? max[1] : 2;
	for (size_t j = 0; j < 2; j++) {
		size_t best = s->harmonics[j];
		double best_aicc = HUGE_VAL;

		for (size_t i = 0; i < sizeof harmonic_choices / sizeof harmonic_choices[0]; i++) {
			double aicc;

			if (harmonic_choices[i] > max[j])
				break;
			s->harmonics[j] = harmonic_choices[i];
			aicc = fit_differenced(ne, s, coef);
			if (aicc < best_aicc) {
				best_aicc = aicc;
				best = harmonic_choices[i];
				found = 1;
			}
		}
		s->harmonics[j] = best;
	}
	return found ? 0 : -1;
}

int
pa_fcm_fourier(const double *y, size_t n, size_t period, size_t period2, size_t horizon,
	       struct pa_fcm_params *reuse, struct pa_fcm_out *out, char *why)
{
	struct seasons s = { { pa_fc_supported_period(n, period), pa_fc_supported_period(n, period2) },
			     { 0, 0 } };
	struct seasons full;
	struct normal ne = { .xtx = NULL };
	struct pa_fcm_arima_fit alone = { .state = PA_FCM_ARIMA_EMPTY };
	struct pa_fcm_arima_fit *fit = reuse ? &reuse->arima : &alone;
	int reuse_harmonics = reuse && reuse->harmonics[0] + reuse->harmonics[1] > 0;
	double coef[4 * HARMONICS_MAX], row[4 * HARMONICS_MAX], *e, *dy;
	int rc = -1;

	gsl_set_error_handler_off();
	if (period < 2 && period2 < 2) {
		snprintf(why, PA_FC_REASON_MAX, "no season to fit: --period and --period2 are 0 or too long for the history");
		return -1;
	}
	/* A season of 2 steps carries no sine and cosine pair, so it is left out. */
	if (s.period[0] < 3)
		s.period[0] = 0;
	if (s.period[1] < 3 || s.period[1] == s.period[0])
		s.period[1] = 0;
	if (s.period[0] == 0) {
		s.period[0] = s.period[1];
		s.period[1] = 0;
	}
	if (s.period[0] == 0) {
		size_t shortest = period >= 3 && (period2 < 3 || period < period2) ? period : period2;

		if (shortest < 3)
			snprintf(why, PA_FC_REASON_MAX,
				 "a season of 2 steps carries no Fourier pair; it needs 3 or more");
		else
			snprintf(why, PA_FC_REASON_MAX, "history of %zu shorter than 2 periods of %zu",
				 n, shortest);
		return -1;
	}

	/*
	 * Cross products for every harmonic a season can carry, or for the
	 * kept ones alone.  Kept pairs may exceed what a season carries in
	 * this history.
	 */
	full = s;
	for (size_t j = 0; j < 2; j++) {
		full.harmonics[j] = harmonics_max(&s, j);
		if (reuse_harmonics && reuse->harmonics[j] < full.harmonics[j])
			full.harmonics[j] = reuse->harmonics[j];
	}
	/*
	 * A burst inside the history is two large differences, up and down,
	 * whose pulls on smooth seasons nearly cancel.  A burst in the last
	 * bucket is one difference, which nothing cancels.  Unclipped, it bent
	 * the seasons so far that the ARIMA part took their error for a random
	 * walk and carried the burst through the whole horizon, so outlying
	 * differences are clipped first.
	 */
	dy = malloc(n * sizeof *dy);
	if (dy != NULL) {
		dy[0] = NAN;
		for (size_t t = 1; t < n; t++)
			dy[t] = y[t] - y[t - 1];
	}
	if (dy == NULL || clip_outliers(dy, n) != 0 || normal_build(dy, n, &full, &ne) != 0) {
		free(dy);
		normal_free(&ne);
		snprintf(why, PA_FC_REASON_MAX, "out of memory");
		return -1;
	}
	free(dy);
	if (reuse_harmonics)
		s = full;
	else if (choose_harmonics(&ne, &s, coef) != 0)
		s.harmonics[0] = s.harmonics[1] = 0;
	/* The search leaves coef from its last trial, so the choice is fitted again. */
	if (fit_differenced(&ne, &s, coef) == HUGE_VAL) {
		snprintf(why, PA_FC_REASON_MAX,
			 "%zu pairs of adjacent known buckets too few for %zu Fourier terms",
			 ne.rows, term_count(&s) ? term_count(&s) : 2);
		normal_free(&ne);
		return -1;
	}
	normal_free(&ne);

	e = malloc(n * sizeof *e);
	if (e == NULL) {
		snprintf(why, PA_FC_REASON_MAX, "out of memory");
		return -1;
	}
	for (size_t t = 0; t < n; t++)
		e[t] = isnan(y[t]) ? NAN : y[t] - seasons_at(&s, t, coef, row);
	if (pa_fcm_arima(e, n, 0, horizon, fit, out, why) != 0)
		goto done;
	for (size_t k = 0; k < horizon; k++)
		out->mean[k] += seasons_at(&s, n + k, coef, row);
	out->aicc = NAN;
	if (reuse) {
		reuse->harmonics[0] = s.harmonics[0];
		reuse->harmonics[1] = s.harmonics[1];
	}
	rc = 0;
done:
	free(e);
	return rc;
}

void
pa_fcm_fourier_format(size_t period, size_t period2, const struct pa_fcm_params *params,
		      char *buf, size_t size)
{
	char errors[64] = "";

	if (params && params->arima.state == PA_FCM_ARIMA_FITTED) {
		errors[0] = '+';
		pa_fcm_arima_format(&params->arima, errors + 1, sizeof errors - 1);
	}
	if (period < 3) {
		/* The second season took the main one's place. */
		period = period2;
		period2 = 0;
	}
	if (params && params->harmonics[0] && params->harmonics[1])
		snprintf(buf, size, "fourier(p=%zu:%zu,%zu:%zu)%s", period, params->harmonics[0],
			 period2, params->harmonics[1], errors);
	else if (params && params->harmonics[0])
		snprintf(buf, size, "fourier(p=%zu:%zu)%s", period, params->harmonics[0], errors);
	else if (period2)
		snprintf(buf, size, "fourier(p=%zu,%zu)%s", period, period2, errors);
	else
		snprintf(buf, size, "fourier(p=%zu)%s", period, errors);
}

int
pa_fcm_fourier_encode(const struct pa_fcm_params *p, char *buf, size_t size)
{
	return snprintf(buf, size, "%zu,%zu", p->harmonics[0], p->harmonics[1]);
}

int
pa_fcm_fourier_decode(const char *text, struct pa_fcm_params *p)
{
	unsigned long v[2];
	const char *at = text;
	char *end;

	for (size_t j = 0; j < 2; j++) {
		if (*at < '0' || *at > '9')
			return -1;
		v[j] = strtoul(at, &end, 10);
		if (*end != (j == 0 ? ',' : '\0') || v[j] > HARMONICS_MAX)
			return -1;
		/* A fit always has pairs at its main season. */
		if (j == 0 && v[j] == 0)
			return -1;
		at = end + 1;
	}
	p->harmonics[0] = v[0];
	p->harmonics[1] = v[1];
	return 0;
}
