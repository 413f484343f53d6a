/*
 * fc_simplex.c - the Nelder-Mead search that the fitted models share, and
 * the map that keeps smoothing parameters inside their bounds.
 */
#include <math.h>

#include <gsl/gsl_multimin.h>

#include "fc_models.h"

double
pa_fcm_simplex(double (*objective)(const gsl_vector *, void *), void *data, gsl_vector *u,
	       double step, double tol, int iterations)
{
	size_t dim = u->size;
	gsl_multimin_function f = { objective, dim, data };
	gsl_multimin_fminimizer *s = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, dim);
	gsl_vector *steps = gsl_vector_alloc(dim);
	double best;

	if (s == NULL || steps == NULL) {
		if (s)
			gsl_multimin_fminimizer_free(s);
		gsl_vector_free(steps);
		return HUGE_VAL;
	}
	gsl_vector_set_all(steps, step);
	gsl_multimin_fminimizer_set(s, &f, u, steps);
	for (int iter = 0; iter < iterations; iter++) {
		if (gsl_multimin_fminimizer_iterate(s) != GSL_SUCCESS)
			break;
		if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(s), tol) == GSL_SUCCESS)
			break;
	}
	gsl_vector_memcpy(u, gsl_multimin_fminimizer_x(s));
	best = gsl_multimin_fminimizer_minimum(s);
	gsl_multimin_fminimizer_free(s);
	gsl_vector_free(steps);
	return best;
}

double
pa_fcm_logistic(double u)
{
	double p = 1 / (1 + exp(-u));

	if (p < 1e-4)
		return 1e-4;
	return p > 0.9999 ? 0.9999 : p;
}

double
pa_fcm_logit(double p)
{
	return log(p / (1 - p));
}
