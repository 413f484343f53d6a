/*
 * fc_regress.c - regression on trend, seasons and external regressors.
 *
 * The model, in the spirit of Prophet, for step t of a history of n:
 *
 *   y_t = a + b t/n + sum_j d_j (t - c_j)_+ / n          piecewise-linear trend
 *       + sum_s sum_k (u_sk sin(2 pi k t / p_s) + v_sk cos(...))   seasons
 *       + sum_r g_r x_tr                                  regressors
 *       + e_t,   e_t = rho e_(t-1) + innovation           AR(1) errors
 *
 * The changepoints c_j lie evenly over the first 80% of the history, so the
 * slope at the end rests on the last fifth of it, and at most one falls in
 * each main season (see pa_fcm_regress).  Only the slope changes
 * d_j are penalised, by lambda^2 |d|^2 with lambda chosen by generalised
 * cross-validation (GSL's regularised least squares).  For fixed d the
 * other coefficients are ordinary least squares, so they are projected out
 * first and the ridge acts on the slope changes alone.  The number of
 * Fourier pairs per season is chosen by the GCV score of a fit without the
 * slope changes (choose_harmonics).
 *
 * Intervals combine the residual variance, reduced by the AR(1) correction
 * near the origin, with the variance of future slope changes.  Those
 * changes occur at the historical rate of changepoints per step, with a
 * Laplace size whose mean absolute value is that of the fitted ones.  That
 * variance has a closed form, so no simulation is needed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_multifit.h>

#include "fc_models.h"
#include "forecast.h"

#define CHANGEPOINTS_MAX 25
#define CHANGE_SPAN 0.8		/* share of the history that contains changepoints */
#define CHANGE_SPACING 5	/* fewest steps between changepoints */
#define LONG_CYCLES 4		/* cycles of the long season that free the trend from it */
#define HARMONICS_MAX 10
#define GCV_GRID 40		/* lambda values GSL's GCV search compares */
#define SPARE_ROWS 10		/* known rows beyond the parameter count */
#define MASKS_MAX 4		/* distinct sets of regressors known over the horizon */
#define RHO_MAX 0.95

static const size_t harmonic_choices[] = { 1, 2, 3, 4, 6, 8, 10 };

struct design {
	size_t n;			/* history length */
	size_t period[2], harmonics[2];
	size_t nchange;
	double change[CHANGEPOINTS_MAX];	/* changepoint positions in steps */
	const struct pa_fc_regressors *rx;
	size_t ncols;
	size_t col[PA_FC_REGRESSORS_MAX];	/* columns of rx in the design */
	double fill[PA_FC_REGRESSORS_MAX];	/* value of an unknown history row */
	double lambda;			/* slope-change penalty; 0: choose by GCV */
};

struct fit {
	size_t q;			/* unpenalised coefficients */
	double *beta;			/* q values */
	double *var;			/* variance of each of beta */
	double delta[CHANGEPOINTS_MAX];
	double lambda;			/* slope-change penalty used */
	double sigma2;			/* residual variance */
	double gcv;			/* n RSS / (n - df)^2 */
	double rho;			/* lag-1 autocorrelation of the residuals */
	double last_resid;
	size_t last_row;		/* history row of last_resid */
};

static void
fit_free(struct fit *f)
{
	free(f->beta);
	free(f->var);
	f->beta = NULL;
	f->var = NULL;
}

static size_t
unpenalised_count(const struct design *d)
{
	return 2 + 2 * (d->harmonics[0] + d->harmonics[1]) + d->ncols;
}

/* Return 1 when column c of rx may be read at row t of a history of n. */
static int
column_known(const struct pa_fc_regressors *rx, size_t c, size_t n, size_t t)
{
	if (rx->lead[c] != PA_FC_LEAD_ALWAYS && t >= n + rx->lead[c])
		return 0;
	return !isnan(rx->x[t * rx->count + c]);
}

/* Fill the unpenalised terms z and the changepoint hinges h of row t. */
static void
design_row(const struct design *d, size_t t, double *z, double *h)
{
	size_t q = 0;

	z[q++] = 1;
	z[q++] = (double)t / (double)d->n;
	for (size_t s = 0; s < 2; s++) {
		for (size_t k = 1; k <= d->harmonics[s]; k++) {
			double angle = 2 * M_PI * (double)k * (double)(t % d->period[s]) /
				       (double)d->period[s];

			z[q++] = sin(angle);
			z[q++] = cos(angle);
		}
	}
	for (size_t i = 0; i < d->ncols; i++) {
		double v = d->rx->x[t * d->rx->count + d->col[i]];

		z[q++] = isnan(v) || (t >= d->n && !column_known(d->rx, d->col[i], d->n, t)) ? d->fill[i] : v;
	}
	for (size_t j = 0; j < d->nchange; j++)
		h[j] = (double)t > d->change[j] ? ((double)t - d->change[j]) / (double)d->n : 0;
}

/* Replace each column of m by its residual after least squares on the SVD in w. */
static void
residualize(gsl_matrix *m, const gsl_matrix *z, double tiny, gsl_vector *c, gsl_vector *col,
	    gsl_multifit_linear_workspace *w)
{
	double rnorm, snorm;

	for (size_t j = 0; j < m->size2; j++) {
		gsl_matrix_get_col(col, m, j);
		gsl_multifit_linear_solve(tiny, z, col, c, &rnorm, &snorm, w);
		gsl_blas_dgemv(CblasNoTrans, -1, z, c, 1, col);
		gsl_matrix_set_col(m, j, col);
	}
}

/*
 * Solve the ridge regression of yr on the slope-change columns Hr into
 * delta and return its effective degrees of freedom.  With lambda 0 the
 * penalty is chosen by GSL's GCV search on an SVD.  Otherwise the normal
 * equations with that penalty are solved by Cholesky, which is much
 * cheaper at the later rolling origins.  *chosen receives the penalty.
 */
static double
ridge_changes(const gsl_matrix *Hr, const gsl_vector *yr, double lambda, gsl_vector *delta,
	      double *chosen)
{
	size_t K = Hr->size2;
	double df = 0;

	if (lambda <= 0) {
		gsl_vector *reg = gsl_vector_alloc(GCV_GRID), *G = gsl_vector_alloc(GCV_GRID);
		gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(Hr->size1, K);
		double g_lambda, rnorm, snorm;

		gsl_multifit_linear_svd(Hr, w);
		if (gsl_multifit_linear_gcv(yr, reg, G, &lambda, &g_lambda, w) != GSL_SUCCESS ||
		    !isfinite(lambda) || lambda <= 0)
			lambda = gsl_vector_get(w->S, 0);
		gsl_multifit_linear_solve(lambda, Hr, yr, delta, &rnorm, &snorm, w);
		for (size_t j = 0; j < K; j++) {
			double s2 = gsl_pow_2(gsl_vector_get(w->S, j));

			df += s2 / (s2 + lambda * lambda);
		}
		gsl_multifit_linear_free(w);
		gsl_vector_free(reg);
		gsl_vector_free(G);
	} else {
		gsl_matrix *gram = gsl_matrix_alloc(K, K), *a = gsl_matrix_alloc(K, K);
		gsl_vector *rhs = gsl_vector_alloc(K);

		gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1, Hr, Hr, 0, gram);
		gsl_blas_dgemv(CblasTrans, 1, Hr, yr, 0, rhs);
		gsl_matrix_memcpy(a, gram);
		for (size_t j = 0; j < K; j++)
			gsl_matrix_set(a, j, j, gsl_matrix_get(a, j, j) + lambda * lambda);
		gsl_linalg_cholesky_decomp1(a);
		gsl_linalg_cholesky_solve(a, rhs, delta);
		/* Effective degrees of freedom: trace((G + lambda^2 I)^-1 G). */
		gsl_linalg_cholesky_invert(a);
		for (size_t i = 0; i < K; i++)
			for (size_t j = 0; j < K; j++)
				df += gsl_matrix_get(a, i, j) * gsl_matrix_get(gram, j, i);
		gsl_matrix_free(gram);
		gsl_matrix_free(a);
		gsl_vector_free(rhs);
	}
	*chosen = lambda;
	return df;
}

/*
 * Fit design d to the known values of y[0..d->n).  Returns 0, or -1 when
 * there are too few known rows for the parameters or memory runs out.
 * Call fit_free on f either way.
 */
static int
fit_design(const double *y, const struct design *d, struct fit *f)
{
	size_t q = unpenalised_count(d), nk = 0, K = d->nchange, r = 0;
	size_t *rows;
	gsl_matrix *Z, *H, *Hr;
	gsl_vector *yv, *yr, *c, *col, *beta;
	gsl_multifit_linear_workspace *w;
	double *z, h[CHANGEPOINTS_MAX], tiny, rnorm, snorm, df = (double)q, rss = 0, num = 0, den = 0;

	memset(f, 0, sizeof *f);
	f->q = q;
	for (size_t t = 0; t < d->n; t++)
		nk += !isnan(y[t]);
	if (nk < q + K / 2 + SPARE_ROWS)
		return -1;

	rows = malloc(nk * sizeof *rows);
	z = malloc(q * sizeof *z);
	f->beta = malloc(q * sizeof *f->beta);
	f->var = malloc(q * sizeof *f->var);
	if (rows == NULL || z == NULL || f->beta == NULL || f->var == NULL) {
		free(rows);
		free(z);
		return -1;
	}
	Z = gsl_matrix_alloc(nk, q);
	H = gsl_matrix_alloc(nk, K ? K : 1);
	Hr = gsl_matrix_alloc(nk, K ? K : 1);
	yv = gsl_vector_alloc(nk);
	yr = gsl_vector_alloc(nk);
	c = gsl_vector_alloc(q);
	col = gsl_vector_alloc(nk);
	beta = gsl_vector_alloc(q);
	w = gsl_multifit_linear_alloc(nk, q);

	for (size_t t = 0; t < d->n; t++) {
		if (isnan(y[t]))
			continue;
		design_row(d, t, z, h);
		for (size_t i = 0; i < q; i++)
			gsl_matrix_set(Z, r, i, z[i]);
		for (size_t j = 0; j < K; j++)
			gsl_matrix_set(H, r, j, h[j]);
		gsl_vector_set(yv, r, y[t]);
		rows[r++] = t;
	}

	/* A tiny ridge penalty damps directions where the unpenalised columns are collinear. */
	gsl_multifit_linear_svd(Z, w);
	tiny = gsl_vector_get(w->S, 0) * 1e-10;

	if (K) {
		gsl_vector_view dv = gsl_vector_view_array(f->delta, K);
		gsl_matrix *yrm = gsl_matrix_alloc(nk, 1);

		gsl_matrix_memcpy(Hr, H);
		residualize(Hr, Z, tiny, c, col, w);
		gsl_matrix_set_col(yrm, 0, yv);
		residualize(yrm, Z, tiny, c, col, w);
		gsl_matrix_get_col(yr, yrm, 0);
		df += ridge_changes(Hr, yr, d->lambda, &dv.vector, &f->lambda);
		/* Take the fitted trend changes out of y before the unpenalised fit below. */
		gsl_blas_dgemv(CblasNoTrans, -1, H, &dv.vector, 1, yv);
		gsl_matrix_free(yrm);
	}
	gsl_multifit_linear_solve(tiny, Z, yv, beta, &rnorm, &snorm, w);
	for (size_t i = 0; i < q; i++)
		f->beta[i] = gsl_vector_get(beta, i);

	/* Residuals, their variance, and their lag-1 autocorrelation over adjacent rows. */
	gsl_blas_dgemv(CblasNoTrans, -1, Z, beta, 1, yv);
	for (size_t i = 0; i < nk; i++) {
		double e = gsl_vector_get(yv, i);

		rss += e * e;
		den += e * e;
		if (i > 0 && rows[i] == rows[i - 1] + 1)
			num += e * gsl_vector_get(yv, i - 1);
	}
	if (nk > df + 1) {
		f->sigma2 = rss / ((double)nk - df);
		f->gcv = (double)nk * rss / gsl_pow_2((double)nk - df);
	} else {
		f->sigma2 = f->gcv = HUGE_VAL;
	}
	f->rho = den > 0 ? num / den : 0;
	if (f->rho > RHO_MAX)
		f->rho = RHO_MAX;
	if (f->rho < -RHO_MAX)
		f->rho = -RHO_MAX;
	f->last_resid = gsl_vector_get(yv, nk - 1);
	f->last_row = rows[nk - 1];

	/*
	 * With Z = U S Q^T (GSL keeps Q and S in the workspace), the variance
	 * of coefficient i is sigma^2 sum_k Q_ik^2 / s_k^2 over the directions
	 * kept.  This treats the slope changes as known.
	 */
	for (size_t i = 0; i < q; i++) {
		double sum = 0;

		for (size_t k = 0; k < q; k++) {
			double sk = gsl_vector_get(w->S, k);

			if (sk > tiny)
				sum += gsl_pow_2(gsl_matrix_get(w->Q, i, k) / sk);
		}
		f->var[i] = f->sigma2 * sum;
	}

	gsl_multifit_linear_free(w);
	gsl_matrix_free(Z);
	gsl_matrix_free(H);
	gsl_matrix_free(Hr);
	gsl_vector_free(yv);
	gsl_vector_free(yr);
	gsl_vector_free(c);
	gsl_vector_free(col);
	gsl_vector_free(beta);
	free(rows);
	free(z);
	return isfinite(f->gcv) ? 0 : -1;
}

/* Return the maximum number of Fourier pairs season s can carry beside the other season. */
static size_t
harmonics_max(const struct design *d, size_t s)
{
	return pa_fcm_fourier_pairs_max(d->period[s], s == 1 ? d->period[0] : 0, HARMONICS_MAX);
}

/*
 * Choose the Fourier pairs of each season by GCV, the first season first.
 * The search leaves out the slope changes, which cost more to fit than
 * they change the ranking of seasonal shapes.
 */
static int
choose_harmonics(const double *y, struct design *full)
{
	struct design trial = *full, *d = &trial;
	size_t max[2] = { harmonics_max(d, 0), harmonics_max(d, 1) };
	int found = 0;

	d->nchange = 0;
	d->harmonics[0] = max[0] ? 1 : 0;
	d->harmonics[1] = max[1] < 2 ? max[1] : 2;
	for (size_t s = 0; s < 2; s++) {
		size_t best = d->harmonics[s];
		double best_gcv = HUGE_VAL;

		for (size_t i = 0; i < sizeof harmonic_choices / sizeof harmonic_choices[0]; i++) {
			struct fit f;

			if (harmonic_choices[i] > max[s])
				break;
			d->harmonics[s] = harmonic_choices[i];
			if (fit_design(y, d, &f) == 0 && f.gcv < best_gcv) {
				best_gcv = f.gcv;
				best = harmonic_choices[i];
				found = 1;
			}
			fit_free(&f);
		}
		d->harmonics[s] = best;
	}
	full->harmonics[0] = d->harmonics[0];
	full->harmonics[1] = d->harmonics[1];
	return max[0] + max[1] == 0 || found ? 0 : -1;
}

/*
 * Return the variance that slope changes at the historical rate add to
 * the trend k steps ahead.
 */
static double
trend_variance(const struct design *d, const struct fit *f, size_t k)
{
	double rate, scale = 0, n = (double)d->n, kk = (double)k;

	if (d->nchange == 0 || k < 2)
		return 0;
	for (size_t j = 0; j < d->nchange; j++)
		scale += fabs(f->delta[j]);
	scale /= (double)d->nchange;
	rate = (double)d->nchange / (CHANGE_SPAN * n);
	/*
	 * A Laplace change of mean absolute size b has variance 2 b^2, and a
	 * change u steps before step k moves it by u / n times its size.  The
	 * sum of u^2 over u < k is (k - 1) k (2k - 1) / 6.
	 */
	return 2 * scale * scale * rate * (kk - 1) * kk * (2 * kk - 1) / (6 * n * n);
}

/* Compute the point forecast and error standard deviation of fit f at future row t. */
static void
forecast_row(const struct design *d, const struct fit *f, size_t t, double *z, double *mean,
	     double *sd)
{
	double h[CHANGEPOINTS_MAX], m = 0, decay;
	size_t ahead = t - f->last_row;

	design_row(d, t, z, h);
	for (size_t i = 0; i < f->q; i++)
		m += z[i] * f->beta[i];
	for (size_t j = 0; j < d->nchange; j++)
		m += h[j] * f->delta[j];
	decay = pow(f->rho, (double)ahead);
	*mean = m + decay * f->last_resid;
	*sd = sqrt(f->sigma2 * (1 - decay * decay) + trend_variance(d, f, t + 1 - d->n));
}

/*
 * Write the fitted effect of every design column into spec->effects: its
 * coefficient, its interval at spec->level and its base.
 */
static void
write_effects(const struct design *d, const struct fit *f, const double *y,
	      const struct pa_fcm_regress_spec *spec, double *z)
{
	double zq = gsl_cdf_ugaussian_Pinv(0.5 + spec->level / 2);
	/*
	 * Autocorrelated residuals carry less information than their count,
	 * so a positive rho widens the interval.
	 */
	double inflate = f->rho > 0 ? sqrt((1 + f->rho) / (1 - f->rho)) : 1;
	size_t first = 2 + 2 * (d->harmonics[0] + d->harmonics[1]);

	for (size_t i = 0; i < d->ncols; i++) {
		struct pa_fc_effect *e = &spec->effects[d->col[i]];
		double coef = f->beta[first + i], se = sqrt(f->var[first + i]);
		double sum = 0, h[CHANGEPOINTS_MAX];
		size_t count = 0;

		for (size_t t = 0; t < d->n; t++) {
			double v = d->rx->x[t * d->rx->count + d->col[i]], fitted = 0;

			if (isnan(y[t]) || isnan(v) || v == 0)
				continue;
			design_row(d, t, z, h);
			for (size_t k = 0; k < f->q; k++)
				fitted += z[k] * f->beta[k];
			for (size_t j = 0; j < d->nchange; j++)
				fitted += h[j] * f->delta[j];
			sum += fitted - coef * v;
			count++;
		}
		e->used = 1;
		e->log1p = spec->log1p;
		e->coef = coef;
		e->lower = coef - zq * se * inflate;
		e->upper = coef + zq * se * inflate;
		e->base = count ? sum / (double)count : NAN;
	}
}

/*
 * Choose the columns of rx that the history supports, and set the fill
 * value of each to its mean over the history.
 */
static void
choose_columns(struct design *d, const double *y)
{
	const struct pa_fc_regressors *rx = d->rx;

	d->ncols = 0;
	for (size_t c = 0; rx && c < rx->count && d->ncols < PA_FC_REGRESSORS_MAX; c++) {
		double sum = 0, lo = HUGE_VAL, hi = -HUGE_VAL;
		size_t known = 0;

		for (size_t t = 0; t < d->n; t++) {
			double v = rx->x[t * rx->count + c];

			if (isnan(v) || isnan(y[t]))
				continue;
			sum += v;
			known++;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		/* A column constant over the history cannot be separated from the intercept. */
		if (known < SPARE_ROWS || hi <= lo)
			continue;
		d->col[d->ncols] = c;
		d->fill[d->ncols] = sum / (double)known;
		d->ncols++;
	}
}

/* Return a mask with bit i set when design column i is known at future row t. */
static uint64_t
known_mask(const struct design *d, size_t t)
{
	uint64_t mask = 0;

	for (size_t i = 0; i < d->ncols; i++)
		if (column_known(d->rx, d->col[i], d->n, t))
			mask |= (uint64_t)1 << i;
	return mask;
}

/* Return a copy of d that keeps only the columns in mask. */
static struct design
design_subset(const struct design *d, uint64_t mask)
{
	struct design s = *d;

	s.ncols = 0;
	for (size_t i = 0; i < d->ncols; i++) {
		if (!(mask & ((uint64_t)1 << i)))
			continue;
		s.col[s.ncols] = d->col[i];
		s.fill[s.ncols] = d->fill[i];
		s.ncols++;
	}
	return s;
}

/*
 * Forecast every step with the fit of the columns known at that step.  A
 * step that lacks a column, such as one past the lag of a trend stream,
 * gets a fit without it rather than an invented value.
 */
static int
forecast_steps(const double *y, const struct design *d, const struct fit *full, size_t horizon,
	       struct pa_fcm_out *out, const struct pa_fcm_regress_spec *spec, double *z)
{
	uint64_t all = d->ncols ? ((uint64_t)1 << d->ncols) - 1 : 0;
	uint64_t masks[MASKS_MAX + 1];
	size_t nmasks = 0;

	for (size_t k = 0; k < horizon; k++) {
		uint64_t m = known_mask(d, d->n + k);
		size_t i;

		for (i = 0; i < nmasks && masks[i] != m; i++)
			;
		if (i == nmasks && nmasks < MASKS_MAX)
			masks[nmasks++] = m;
	}
	for (size_t i = 0; i < nmasks; i++) {
		struct design sub = design_subset(d, masks[i]);
		struct fit own;
		const struct fit *f = full;

		if (masks[i] != all) {
			if (fit_design(y, &sub, &own) != 0) {
				fit_free(&own);
				return -1;
			}
			f = &own;
		}
		for (size_t k = 0; k < horizon; k++) {
			uint64_t m = known_mask(d, d->n + k);

			if (m != masks[i])
				continue;
			forecast_row(&sub, f, d->n + k, z, &out->mean[k], &out->sd[k]);
			for (size_t c = 0; spec->effects && c < d->ncols; c++)
				if (m & ((uint64_t)1 << c))
					spec->effects[d->col[c]].steps++;
		}
		if (f == &own)
			fit_free(&own);
	}
	if (nmasks == MASKS_MAX) {
		/* A step whose set of known columns was not kept gets no regressor. */
		struct design none = design_subset(d, 0);
		struct fit f0;
		int have = 0;

		for (size_t k = 0; k < horizon; k++) {
			uint64_t m = known_mask(d, d->n + k);
			size_t j;

			for (j = 0; j < nmasks && masks[j] != m; j++)
				;
			if (j < nmasks)
				continue;
			if (!have && fit_design(y, &none, &f0) != 0) {
				fit_free(&f0);
				return -1;
			}
			have = 1;
			forecast_row(&none, &f0, d->n + k, z, &out->mean[k], &out->sd[k]);
		}
		if (have)
			fit_free(&f0);
	}
	return 0;
}

int
pa_fcm_regress(const double *y, size_t n, const struct pa_fcm_regress_spec *spec,
	       size_t horizon, struct pa_fcm_out *out, char *why)
{
	const struct pa_fc_regressors *rx = spec->rx;
	struct design d = { .n = n, .rx = rx };
	struct fit full;
	double *series = NULL, *z = NULL;
	const double *fit_y = y;
	size_t known = pa_fcm_known(y, n), spacing;
	int rc = -1;

	gsl_set_error_handler_off();
	/* Clear the effects, so a fallback run after a failed one starts clean. */
	if (spec->effects && rx)
		memset(spec->effects, 0, rx->count * sizeof *spec->effects);
	if (rx && rx->y) {
		series = malloc(n * sizeof *series);
		if (series == NULL) {
			snprintf(why, PA_FC_REASON_MAX, "out of memory");
			return -1;
		}
		for (size_t t = 0; t < n; t++)
			series[t] = spec->log1p ? log1p(rx->y[t]) : rx->y[t];
		fit_y = series;
		known = pa_fcm_known(series, n);
	}

	d.period[0] = pa_fc_supported_period(n, spec->period);
	d.period[1] = pa_fc_supported_period(n, spec->period2);
	if (d.period[1] == d.period[0])
		d.period[1] = 0;
	if (d.period[0] == 0 && d.period[1]) {
		d.period[0] = d.period[1];
		d.period[1] = 0;
	}
	/*
	 * A trend that may bend within a season fits that season's shape.
	 * Over fewer than LONG_CYCLES cycles of the long season it trades the
	 * shape with that season's Fourier terms.  A steep trend and a deep
	 * season then cancel in the history and stop cancelling past its end:
	 * two weeks of half-hourly taxi counts gave a forecast of 4e9 against
	 * a largest count of 30,236.  So the trend bends at most once per main
	 * season, or once per long season while the history is that short.
	 */
	spacing = d.period[0];
	if (d.period[1] && n < LONG_CYCLES * d.period[1])
		spacing = d.period[1];
	if (spacing < CHANGE_SPACING)
		spacing = CHANGE_SPACING;
	d.nchange = (size_t)(CHANGE_SPAN * (double)n) / spacing;
	if (d.nchange > CHANGEPOINTS_MAX)
		d.nchange = CHANGEPOINTS_MAX;
	for (size_t j = 0; j < d.nchange; j++)
		d.change[j] = floor(CHANGE_SPAN * (double)n * (double)(j + 1) / (double)(d.nchange + 1));
	choose_columns(&d, fit_y);

	z = malloc((unpenalised_count(&d) + 2 * 2 * HARMONICS_MAX) * sizeof *z);
	if (z == NULL) {
		snprintf(why, PA_FC_REASON_MAX, "out of memory");
		goto done;
	}
	if (spec->reuse && spec->reuse->harmonics[0] + spec->reuse->harmonics[1] > 0) {
		/*
		 * Kept pairs may exceed what a season carries now, as when they
		 * were chosen for another period, and a season that this
		 * history does not support carries none.
		 */
		for (size_t s = 0; s < 2; s++) {
			size_t max = harmonics_max(&d, s);

			d.harmonics[s] = spec->reuse->harmonics[s] < max ? spec->reuse->harmonics[s] : max;
		}
	} else if (choose_harmonics(fit_y, &d) != 0) {
		snprintf(why, PA_FC_REASON_MAX, "%zu known values too few for a trend and seasons",
			 known);
		goto done;
	}
	if (spec->reuse)
		d.lambda = spec->reuse->lambda;
	if (fit_design(fit_y, &d, &full) != 0) {
		fit_free(&full);
		snprintf(why, PA_FC_REASON_MAX, "%zu known values too few for %zu coefficients",
			 known, unpenalised_count(&d) + d.nchange);
		goto done;
	}
	if (spec->reuse) {
		spec->reuse->harmonics[0] = d.harmonics[0];
		spec->reuse->harmonics[1] = d.harmonics[1];
		spec->reuse->lambda = full.lambda;
	}
	if (spec->effects)
		write_effects(&d, &full, fit_y, spec, z);
	if (forecast_steps(fit_y, &d, &full, horizon, out, spec, z) != 0) {
		fit_free(&full);
		snprintf(why, PA_FC_REASON_MAX, "the fit without the unknown regressors failed");
		goto done;
	}
	out->sigma = sqrt(full.sigma2);
	out->aicc = NAN;
	fit_free(&full);
	rc = 0;
done:
	free(series);
	free(z);
	return rc;
}

int
pa_fcm_regress_encode(const struct pa_fcm_params *p, char *buf, size_t size)
{
	return snprintf(buf, size, "%zu,%zu,%.17g", p->harmonics[0], p->harmonics[1], p->lambda);
}

/* Parse a count of Fourier pairs up to HARMONICS_MAX, digits only, ended by stop. */
static int
parse_harmonics(const char *text, char stop, size_t *out, const char **next)
{
	char *end;
	unsigned long v;

	if (*text < '0' || *text > '9')
		return -1;
	v = strtoul(text, &end, 10);
	if (*end != stop || v > HARMONICS_MAX)
		return -1;
	*out = (size_t)v;
	*next = end + 1;
	return 0;
}

int
pa_fcm_regress_decode(const char *text, struct pa_fcm_params *p)
{
	size_t harmonics[2];
	const char *at = text;
	char *end;
	double lambda;

	if (parse_harmonics(at, ',', &harmonics[0], &at) != 0 ||
	    parse_harmonics(at, ',', &harmonics[1], &at) != 0)
		return -1;
	lambda = strtod(at, &end);
	if (end == at || *end != '\0' || !isfinite(lambda) || lambda < 0)
		return -1;
	p->harmonics[0] = harmonics[0];
	p->harmonics[1] = harmonics[1];
	p->lambda = lambda;
	return 0;
}
