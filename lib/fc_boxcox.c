/*
 * fc_boxcox.c - the Box-Cox transform and Guerrero's choice of its lambda.
 *
 * Guerrero's method, as BoxCox.lambda in R's forecast package documents
 * it, picks the lambda under which the ratio sd_i / mean_i^(1 - lambda) of
 * subseries i varies least.  The transformed series then has about the
 * same spread at every level.  The minimum of that coefficient of
 * variation is found on a grid over [lo, hi], refined with GSL's Brent
 * minimiser.
 */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>

#include "fc_models.h"

#define GRID_STEPS 30		/* grid points over [lo, hi] before the Brent refinement */

double
pa_fcm_boxcox(double y, double lambda, double shift)
{
	return lambda == 0 ? log(y + shift) : (pow(y + shift, lambda) - 1) / lambda;
}

/*
 * Invert the transform.  A value w outside its range (lambda w + 1 <= 0)
 * maps to the bottom of the original range, -shift, when lambda > 0.  With
 * lambda < 0 such a w lies above every finite y, so it maps to HUGE_VAL,
 * and the caller decides how far an upper bound may reach.
 */
double
pa_fcm_boxcox_inverse(double w, double lambda, double shift)
{
	double base;

	if (lambda == 0)
		return exp(w) - shift;
	base = lambda * w + 1;
	if (!(base > 0))
		return lambda > 0 ? -shift : HUGE_VAL;
	return pow(base, 1 / lambda) - shift;
}

struct guerrero {
	double *mean, *sd;	/* per subseries */
	size_t count;
};

/* Return the coefficient of variation of the ratios sd_i / mean_i^(1 - lambda). */
static double
guerrero_cv(double lambda, void *data)
{
	const struct guerrero *g = data;
	double sum = 0, sumsq = 0, mean, var;

	for (size_t i = 0; i < g->count; i++) {
		double r = g->sd[i] / pow(g->mean[i], 1 - lambda);

		sum += r;
		sumsq += r * r;
	}
	mean = sum / (double)g->count;
	var = (sumsq - sum * mean) / (double)(g->count - 1);
	return sqrt(fmax(var, 0)) / mean;
}

/*
 * Fill mean and sd with the mean and sample standard deviation of each
 * whole subseries of len values of y + shift, and return their count.
 * Subseries with a mean at or below zero or no spread are left out.
 */
static size_t
subseries_stats(const double *y, size_t n, size_t len, double shift, double *mean, double *sd)
{
	size_t count = 0;

	/* Whole subseries only, aligned to the end so the most recent values count. */
	for (size_t start = n % len; start + len <= n; start += len) {
		double sum = 0, sumsq = 0, mu;
		size_t known = 0;

		for (size_t i = start; i < start + len; i++) {
			if (isnan(y[i]))
				continue;
			sum += y[i] + shift;
			sumsq += (y[i] + shift) * (y[i] + shift);
			known++;
		}
		if (known < 2)
			continue;
		mu = sum / (double)known;
		if (!(mu > 0))
			continue;
		mean[count] = mu;
		sd[count] = sqrt(fmax((sumsq - sum * mu) / (double)(known - 1), 0));
		if (sd[count] > 0)
			count++;
	}
	return count;
}

double
pa_fcm_guerrero(const double *y, size_t n, size_t period, double shift, double lo, double hi)
{
	size_t len = period >= 2 && n >= 2 * period ? period : 2;
	struct guerrero g = { malloc((n / len + 1) * sizeof *g.mean),
			      malloc((n / len + 1) * sizeof *g.sd), 0 };
	gsl_function f = { guerrero_cv, &g };
	gsl_min_fminimizer *s = NULL;
	double best = NAN, best_cv = HUGE_VAL, step = (hi - lo) / GRID_STEPS;
	size_t at = 0;

	if (g.mean == NULL || g.sd == NULL)
		goto done;
	g.count = subseries_stats(y, n, len, shift, g.mean, g.sd);
	if (g.count < 2)
		goto done;
	for (size_t i = 0; i <= GRID_STEPS; i++) {
		double cv = guerrero_cv(lo + step * (double)i, &g);

		if (cv < best_cv) {
			best_cv = cv;
			at = i;
		}
	}
	best = lo + step * (double)at;
	if (at == 0 || at == GRID_STEPS)
		goto done;	/* the minimum lies at an end of the range */

	/*
	 * The grid minimum is at or below both neighbours, so a minimum lies
	 * between them.  Brent's method refines it, and the grid point stays
	 * when GSL rejects the bracket because a neighbour ties with it.
	 */
	gsl_set_error_handler_off();
	s = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
	if (s == NULL ||
	    gsl_min_fminimizer_set_with_values(s, &f, best, best_cv, best - step,
					       guerrero_cv(best - step, &g), best + step,
					       guerrero_cv(best + step, &g)) != GSL_SUCCESS)
		goto done;
	for (int iter = 0; iter < 50; iter++) {
		if (gsl_min_fminimizer_iterate(s) != GSL_SUCCESS)
			break;
		if (gsl_min_test_interval(gsl_min_fminimizer_x_lower(s), gsl_min_fminimizer_x_upper(s),
					  1e-4, 0) == GSL_SUCCESS)
			break;
	}
	best = gsl_min_fminimizer_x_minimum(s);
done:
	if (s)
		gsl_min_fminimizer_free(s);
	free(g.mean);
	free(g.sd);
	return best;
}
