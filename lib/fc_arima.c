/*
 * fc_arima.c - seasonal ARIMA(p,d,q)(P,D,Q)m with automatic order choice.
 *
 * Differencing: D = 1 when the seasonal strength 1 - Var(remainder) /
 * Var(detrended) exceeds 0.64, the threshold of nsdiffs() in R's forecast
 * 8.20, which measures it on an STL decomposition where this file uses a
 * moving average and phase means.  Then d is the number of first
 * differences, at most two, after which the KPSS level-stationarity
 * statistic falls below its 5% critical value 0.463 (urca's ur.kpss, as
 * ndiffs() uses it).  d + D is at most 2.
 *
 * Coefficients are fitted by conditional sum of squares (CSS): residuals
 * start at zero before the first full set of AR lags, and Nelder-Mead
 * (GSL nmsimplex2) minimises log of their mean square.  It stops when the
 * simplex is 0.001 across, far below a coefficient's standard error
 * (about 1 / sqrt(n), 0.04 for four weeks of hours).  The mean of the
 * differenced series, used when d + D < 2, is its sample mean and is not
 * optimised.  Coefficients outside the stationary or invertible region get
 * a prohibitive objective value, so the fit never leaves that region.
 *
 * Orders are chosen by AICc with a stepwise search like that of R's
 * auto.arima (Hyndman and Khandakar 2008), with smaller bounds.  It fits
 * four starting orders, then moves p, q, P or Q (or p and q together) by
 * one from the best so far.  It stops when no move improves or after
 * ARIMA_MODELS_MAX orders.  All orders of one search sum their squares
 * from the same first residual, so their AICc values compare like with
 * like.
 *
 * Unknown values (NAN) inside the history are interpolated linearly, ones
 * at the end repeat the last known value, and leading ones are dropped.
 */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "fc_models.h"
#include "forecast.h"

#define P_MAX 3			/* non-seasonal AR and MA orders searched */
#define Q_MAX 3
#define SP_MAX 1		/* seasonal AR and MA orders searched */
#define SQ_MAX 1
#define ORDER_SUM_MAX 5		/* p + q + P + Q */
#define ARIMA_MODELS_MAX 24	/* orders fitted by one search at most */
#define ITER_MAX 200		/* Nelder-Mead iterations per fit */
#define SIMPLEX_SIZE 1e-3	/* Nelder-Mead stops below this size */
#define SEASONAL_STRENGTH 0.64	/* seasonal difference above this strength */
#define KPSS_CRITICAL 0.463	/* 5% critical value, level stationarity */
#define HISTORY_MIN 8
#define PENALTY 1e100		/* objective outside the admissible region */
#define LAGS_MAX 16		/* non-zero lags of a multiplied polynomial */

/* Non-zero lags of a multiplied polynomial: x_t depends on coef[i] * x_{t - lag[i]}. */
struct sparse {
	size_t lag[LAGS_MAX];
	double coef[LAGS_MAX];
	size_t count;
};

struct css_problem {
	const double *w;	/* differenced series */
	const double *centred;	/* w less mean, which css_sum reads */
	size_t nw;
	size_t start;		/* first residual counted in the sum of squares */
	size_t period;
	int p, q, sp, sq;
	double mean;
	/*
	 * nw residuals, scratch, preceded by MA_LAG_MAX(period) zeros, so an
	 * MA lag that reaches before the first value reads a zero residual.
	 */
	double *resid;
};

/* Largest lag of a multiplied MA polynomial at period. */
#define MA_LAG_MAX(period) ((size_t)Q_MAX + (size_t)SQ_MAX * (period))

/* Fill unknown values into a copy that the caller frees, and store its length in len. */
static double *
fill_history(const double *y, size_t n, size_t *len)
{
	size_t first = 0, last_known;
	double *x;

	while (first < n && isnan(y[first]))
		first++;
	*len = n - first;
	if (*len == 0)
		return NULL;
	x = malloc(*len * sizeof *x);
	if (x == NULL)
		return NULL;

	last_known = 0;
	x[0] = y[first];
	for (size_t i = 1; i < *len; i++) {
		x[i] = y[first + i];
		if (isnan(x[i]))
			continue;

		/* Interpolate the gap since the previous known value. */
		for (size_t g = last_known + 1; g < i; g++)
			x[g] = x[last_known] + (x[i] - x[last_known]) * (double)(g - last_known) /
						       (double)(i - last_known);
		last_known = i;
	}
	for (size_t g = last_known + 1; g < *len; g++)
		x[g] = x[last_known];
	return x;
}

static double
mean_of(const double *x, size_t n)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += x[i];
	return n ? sum / (double)n : 0;
}

static double
variance_of(const double *x, size_t n)
{
	double mean = mean_of(x, n), sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (x[i] - mean) * (x[i] - mean);
	return n > 1 ? sum / (double)(n - 1) : 0;
}

double
pa_fcm_arima_kpss(const double *x, size_t n)
{
	double mean = mean_of(x, n), partial = 0, num = 0, lrv = 0;
	size_t lags = (size_t)(4 * pow((double)n / 100, 0.25));

	if (n < 2)
		return 0;
	for (size_t t = 0; t < n; t++) {
		partial += x[t] - mean;
		num += partial * partial;
		lrv += (x[t] - mean) * (x[t] - mean);
	}

	/* Newey-West long-run variance with Bartlett weights (urca's "short" lags). */
	for (size_t j = 1; j <= lags && j < n; j++) {
		double cov = 0;

		for (size_t t = j; t < n; t++)
			cov += (x[t] - mean) * (x[t - j] - mean);
		lrv += 2 * (1 - (double)j / (double)(lags + 1)) * cov;
	}
	lrv /= (double)n;
	if (!(lrv > 1e-12 * (1 + mean * mean)))
		return 0;	/* constant: nothing to difference */
	return num / ((double)n * (double)n * lrv);
}

int
pa_fcm_arima_ndiffs(const double *x, size_t n)
{
	double *w = malloc(n * sizeof *w);
	size_t len = n;
	int d = 0;

	if (w == NULL)
		return 0;
	memcpy(w, x, n * sizeof *w);
	while (d < 2 && len > HISTORY_MIN && pa_fcm_arima_kpss(w, len) > KPSS_CRITICAL) {
		for (size_t t = 0; t + 1 < len; t++)
			w[t] = w[t + 1] - w[t];
		len--;
		d++;
	}
	free(w);
	return d;
}

double
pa_fcm_arima_seasonal_strength(const double *x, size_t n, size_t period)
{
	size_t half = period / 2, count = 0;
	double *detrended, *phase, strength, var_detrended;
	size_t *phase_n;

	if (period < 2 || n < 2 * period + 1)
		return 0;
	detrended = calloc(n, sizeof *detrended);
	phase = calloc(period, sizeof *phase);
	phase_n = calloc(period, sizeof *phase_n);
	if (detrended == NULL || phase == NULL || phase_n == NULL) {
		free(detrended);
		free(phase);
		free(phase_n);
		return 0;
	}

	/* Centred moving average over one period (2 x m for an even m). */
	for (size_t t = half; t + half < n; t++) {
		double trend = 0;

		for (size_t k = t - half; k <= t + half; k++)
			trend += x[k];
		if (period % 2 == 0)
			trend -= 0.5 * (x[t - half] + x[t + half]);
		trend /= (double)period;
		detrended[count] = x[t] - trend;
		phase[t % period] += detrended[count];
		phase_n[t % period]++;
		count++;
	}
	for (size_t j = 0; j < period; j++)
		phase[j] = phase_n[j] ? phase[j] / (double)phase_n[j] : 0;

	/* The remainder overwrites the detrended series once its variance is known. */
	var_detrended = variance_of(detrended, count);
	for (size_t i = 0; i < count; i++)
		detrended[i] -= phase[(i + half) % period];
	strength = var_detrended > 0 ? 1 - variance_of(detrended, count) / var_detrended : 0;
	free(detrended);
	free(phase);
	free(phase_n);
	return strength > 0 ? strength : 0;
}

/*
 * Return 1 when x_t = sum coef[i] x_{t-i-1} is stationary, by the
 * Durbin-Levinson step-down: every partial autocorrelation inside (-1, 1).
 */
static int
ar_stationary(const double *coef, int order)
{
	double a[P_MAX + 1], b[P_MAX + 1];

	assert(order <= P_MAX);
	for (int i = 0; i < order; i++)
		a[i] = coef[i];
	for (int j = order; j >= 1; j--) {
		double r = a[j - 1];

		if (!(fabs(r) < 0.9999))
			return 0;
		for (int i = 0; i < j - 1; i++)
			b[i] = (a[i] + r * a[j - 2 - i]) / (1 - r * r);
		for (int i = 0; i < j - 1; i++)
			a[i] = b[i];
	}
	return 1;
}

/* An MA polynomial 1 + sum theta_i B^i is invertible when its negation is a stationary AR. */
static int
ma_invertible(const double *theta, int order)
{
	double neg[P_MAX];

	for (int i = 0; i < order; i++)
		neg[i] = -theta[i];
	return ar_stationary(neg, order);
}

/*
 * Multiply (1 +- sum a_i B^i)(1 +- sum s_j B^{jm}) and list the non-zero
 * lags.  sign is -1 for AR polynomials (x_t - sum a x_{t-i}) and +1 for MA
 * ones.  The listed coefficients are those of the right-hand side sum.
 */
static void
multiply(const double *a, int order, const double *s, int sorder, size_t period, int sign,
	 struct sparse *out)
{
	out->count = 0;
	for (int i = 0; i < order; i++) {
		out->lag[out->count] = (size_t)i + 1;
		out->coef[out->count++] = a[i];
	}
	for (int j = 0; j < sorder; j++) {
		out->lag[out->count] = (size_t)(j + 1) * period;
		out->coef[out->count++] = s[j];
		for (int i = 0; i < order; i++) {
			/* AR: -(a_i)(s_j) with both moved right; MA: +theta_i Theta_j. */
			out->lag[out->count] = (size_t)(j + 1) * period + (size_t)i + 1;
			out->coef[out->count++] = sign < 0 ? -a[i] * s[j] : a[i] * s[j];
		}
	}
	assert(out->count <= LAGS_MAX);
}

/* Split the parameter vector into its four polynomials. */
static void
unpack(const struct css_problem *pr, const double *v, const double **ar, const double **ma,
       const double **sar, const double **sma)
{
	*ar = v;
	*ma = v + pr->p;
	*sar = v + pr->p + pr->q;
	*sma = v + pr->p + pr->q + pr->sp;
}

/* Sum of squared residuals from pr->start, or PENALTY outside the admissible region. */
static double
css_sum(const struct css_problem *pr, const double *v)
{
	const double *ar, *ma, *sar, *sma;
	struct sparse arl, mal;
	size_t cond;
	double ss = 0;

	unpack(pr, v, &ar, &ma, &sar, &sma);
	if (!ar_stationary(ar, pr->p) || !ar_stationary(sar, pr->sp) || !ma_invertible(ma, pr->q) ||
	    !ma_invertible(sma, pr->sq))
		return PENALTY;
	multiply(ar, pr->p, sar, pr->sp, pr->period, -1, &arl);
	multiply(ma, pr->q, sma, pr->sq, pr->period, 1, &mal);
	cond = (size_t)pr->p + (size_t)pr->sp * pr->period;
	assert(cond <= pr->start);

	/* This loop takes most of a fit's time, so it reads no mean and tests no lag. */
	for (size_t t = 0; t < cond && t < pr->nw; t++)
		pr->resid[t] = 0;
	for (size_t t = cond; t < pr->nw; t++) {
		double e = pr->centred[t];

		for (size_t i = 0; i < arl.count; i++)
			e -= arl.coef[i] * pr->centred[t - arl.lag[i]];
		for (size_t i = 0; i < mal.count; i++)
			e -= mal.coef[i] * pr->resid[(ptrdiff_t)t - (ptrdiff_t)mal.lag[i]];
		pr->resid[t] = e;
		if (t >= pr->start)
			ss += e * e;
	}
	return isfinite(ss) ? ss : PENALTY;
}

static double
css_objective(const gsl_vector *u, void *params)
{
	const struct css_problem *pr = params;
	double ss = css_sum(pr, u->data);
	double neff = (double)(pr->nw - pr->start);

	if (ss >= PENALTY)
		return PENALTY;
	return 0.5 * neff * log(ss / neff > DBL_MIN ? ss / neff : DBL_MIN);
}

/* Fit the coefficients of pr's order by Nelder-Mead, starting from zero, into v. */
static void
css_fit(struct css_problem *pr, double *v)
{
	size_t dim = (size_t)(pr->p + pr->q + pr->sp + pr->sq);
	gsl_vector *u;

	for (size_t i = 0; i < dim; i++)
		v[i] = 0;
	if (dim == 0)
		return;

	/* Out of memory: the zero coefficients still give a valid model. */
	u = gsl_vector_calloc(dim);
	if (u == NULL)
		return;
	if (pa_fcm_simplex(css_objective, pr, u, 0.1, SIMPLEX_SIZE, ITER_MAX) < HUGE_VAL)
		for (size_t i = 0; i < dim; i++)
			v[i] = gsl_vector_get(u, i);
	gsl_vector_free(u);
}

/* AICc of a CSS fit with k estimated parameters (coefficients, mean, variance). */
static double
aicc_of(double ss, size_t neff, int k)
{
	double n = (double)neff, var = ss / n > DBL_MIN ? ss / n : DBL_MIN;

	if (n - k - 1 <= 0)
		return HUGE_VAL;
	return n * log(var) + 2.0 * k + 2.0 * k * (k + 1) / (n - k - 1);
}

/* Fit one order into fit (coefficients, variance, AICc); returns -1 when the history is too short. */
static int
fit_order(struct css_problem *pr, struct pa_fcm_arima_fit *fit)
{
	int dim = pr->p + pr->q + pr->sp + pr->sq;
	int k = dim + fit->has_mean + 1;
	size_t cond = (size_t)pr->p + (size_t)pr->sp * pr->period;
	double ss;

	if (cond > pr->start || pr->nw <= pr->start || pr->nw - pr->start < (size_t)k + HISTORY_MIN)
		return -1;
	css_fit(pr, fit->coef);
	ss = css_sum(pr, fit->coef);
	if (ss >= PENALTY)
		return -1;
	fit->p = pr->p;
	fit->q = pr->q;
	fit->sp = pr->sp;
	fit->sq = pr->sq;
	fit->sigma2 = ss / (double)(pr->nw - pr->start);
	fit->aicc = aicc_of(ss, pr->nw - pr->start, k);
	return 0;
}

struct order {
	int p, q, sp, sq;
};

static int
order_allowed(struct order o, size_t period)
{
	if (o.p < 0 || o.q < 0 || o.sp < 0 || o.sq < 0 || o.p > P_MAX || o.q > Q_MAX)
		return 0;
	if (o.sp > (period ? SP_MAX : 0) || o.sq > (period ? SQ_MAX : 0))
		return 0;
	return o.p + o.q + o.sp + o.sq <= ORDER_SUM_MAX;
}

/* Search the orders stepwise by AICc and leave the best fit in best. */
static int
search_orders(struct css_problem *pr, struct pa_fcm_arima_fit *best)
{
	static const struct order starts[] = { { 2, 2, 1, 1 }, { 0, 0, 0, 0 }, { 1, 0, 1, 0 }, { 0, 1, 0, 1 } };
	static const struct order moves[] = {
		{ 1, 0, 0, 0 }, { -1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, -1, 0, 0 },
		{ 0, 0, 1, 0 }, { 0, 0, -1, 0 }, { 0, 0, 0, 1 }, { 0, 0, 0, -1 },
		{ 1, 1, 0, 0 }, { -1, -1, 0, 0 }, { 1, -1, 0, 0 }, { -1, 1, 0, 0 },
	};
	struct order tried[ARIMA_MODELS_MAX], cur = { 0, 0, 0, 0 };
	size_t ntried = 0;
	int found = 0, improved = 1;
	struct pa_fcm_arima_fit trial = *best;

	for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
		struct order o = starts[s];

		if (!pr->period)
			o.sp = o.sq = 0;
		if (!order_allowed(o, pr->period))
			continue;
		for (size_t i = 0; i < ntried; i++)
			if (memcmp(&tried[i], &o, sizeof o) == 0)
				goto next_start;
		tried[ntried++] = o;
		pr->p = o.p, pr->q = o.q, pr->sp = o.sp, pr->sq = o.sq;
		if (fit_order(pr, &trial) == 0 && (!found || trial.aicc < best->aicc)) {
			*best = trial;
			cur = o;
			found = 1;
		}
next_start:;
	}

	while (found && improved && ntried < ARIMA_MODELS_MAX) {
		struct order from = cur;

		improved = 0;
		for (size_t m = 0; m < sizeof moves / sizeof moves[0] && ntried < ARIMA_MODELS_MAX; m++) {
			struct order o = { from.p + moves[m].p, from.q + moves[m].q,
					   from.sp + moves[m].sp, from.sq + moves[m].sq };
			int seen = 0;

			if (!order_allowed(o, pr->period))
				continue;
			for (size_t i = 0; i < ntried; i++)
				seen |= memcmp(&tried[i], &o, sizeof o) == 0;
			if (seen)
				continue;
			tried[ntried++] = o;
			pr->p = o.p, pr->q = o.q, pr->sp = o.sp, pr->sq = o.sq;
			if (fit_order(pr, &trial) == 0 && trial.aicc < best->aicc) {
				*best = trial;
				cur = o;
				improved = 1;
			}
		}
	}
	return found ? 0 : -1;
}

/* Apply (1 - B^lag) to x[0..*len) in place. */
static void
difference(double *x, size_t *len, size_t lag)
{
	assert(*len > lag);
	for (size_t t = 0; t + lag < *len; t++)
		x[t] = x[t + lag] - x[t];
	*len -= lag;
}

/*
 * Forecast from the filled history x with the fitted model: the full AR
 * polynomial including the differences runs forward, and the psi weights of
 * its MA(infinity) form give the error variance per step.
 */
static int
forecast_path(const double *x, size_t len, const double *resid, size_t period,
	      const struct pa_fcm_arima_fit *fit, size_t horizon, struct pa_fcm_out *out)
{
	struct sparse arl, mal;
	size_t m = period, off = (size_t)fit->d + (size_t)fit->sd * m, degree;
	double *poly, *ext, *psi, intercept = 0, var = 0;
	const double *ar, *ma, *sar, *sma;
	struct css_problem shape = { .p = fit->p, .q = fit->q, .sp = fit->sp, .sq = fit->sq };

	unpack(&shape, fit->coef, &ar, &ma, &sar, &sma);
	multiply(ar, fit->p, sar, fit->sp, m, -1, &arl);
	multiply(ma, fit->q, sma, fit->sq, m, 1, &mal);
	degree = (size_t)fit->p + (size_t)fit->sp * m + off;

	/* poly: 1 + poly[1] B + ..., the product of the AR part and the differences. */
	poly = calloc(degree + 1, sizeof *poly);
	ext = malloc((len + horizon) * sizeof *ext);
	psi = malloc(horizon * sizeof *psi);
	if (poly == NULL || ext == NULL || psi == NULL) {
		free(poly);
		free(ext);
		free(psi);
		return -1;
	}
	poly[0] = 1;
	for (size_t i = 0; i < arl.count; i++) {
		poly[arl.lag[i]] -= arl.coef[i];
		intercept -= arl.coef[i];
	}
	intercept = fit->has_mean ? fit->mean * (1 + intercept) : 0;
	for (int k = 0; k < fit->d + fit->sd; k++) {
		size_t lag = k < fit->d ? 1 : m;

		for (size_t i = degree; i >= lag; i--)
			poly[i] -= poly[i - lag];
	}

	memcpy(ext, x, len * sizeof *ext);
	for (size_t h = 0; h < horizon; h++) {
		size_t t = len + h;
		double value = intercept;

		for (size_t i = 1; i <= degree && i <= t; i++)
			value -= poly[i] * ext[t - i];
		for (size_t i = 0; i < mal.count; i++) {
			size_t lag = mal.lag[i];

			/* Future residuals are zero, and past ones sit at the differenced index. */
			if (lag > h && t - lag >= off && t - lag < len)
				value += mal.coef[i] * resid[t - lag - off];
		}
		ext[t] = value;
		out->mean[h] = value;
	}

	for (size_t j = 0; j < horizon; j++) {
		double v = 0;

		for (size_t i = 0; i < mal.count; i++)
			if (mal.lag[i] == j)
				v += mal.coef[i];
		if (j == 0)
			v = 1;
		for (size_t i = 1; i <= degree && i <= j; i++)
			v -= poly[i] * psi[j - i];
		psi[j] = v;
		var += v * v;
		out->sd[j] = sqrt(fit->sigma2 * var);
		if (!isfinite(out->sd[j]))
			out->sd[j] = j ? out->sd[j - 1] : 0;
	}
	free(poly);
	free(ext);
	free(psi);
	return 0;
}

int
pa_fcm_arima(const double *y, size_t n, size_t period, size_t horizon,
	     struct pa_fcm_arima_fit *fit, struct pa_fcm_out *out, char *why)
{
	struct pa_fcm_arima_fit local = { 0 }, *f = fit ? fit : &local;
	struct css_problem pr = { 0 };
	size_t len, wlen, m;
	double *x, *w = NULL, *centred = NULL, *resid = NULL;
	int rc = -1;

	x = fill_history(y, n, &len);
	if (x == NULL && len > 0) {
		snprintf(why, PA_FC_REASON_MAX, "out of memory");
		return -1;
	}
	if (len < HISTORY_MIN) {
		snprintf(why, PA_FC_REASON_MAX, "history of %zu values, need %d", len, HISTORY_MIN);
		free(x);
		return -1;
	}
	/* A seasonal part needs three seasons beyond what the lags consume. */
	m = period >= 2 && len >= 3 * period + 2 * HISTORY_MIN ? period : 0;

	w = malloc(len * sizeof *w);
	centred = malloc(len * sizeof *centred);
	resid = calloc(MA_LAG_MAX(period) + len, sizeof *resid);
	if (w == NULL || centred == NULL || resid == NULL) {
		snprintf(why, PA_FC_REASON_MAX, "out of memory");
		goto done;
	}
	pr.resid = resid + MA_LAG_MAX(period);
	if (f->state == PA_FCM_ARIMA_EMPTY) {
		f->period = m;
		f->sd = m && pa_fcm_arima_seasonal_strength(x, len, m) > SEASONAL_STRENGTH;
		memcpy(w, x, len * sizeof *w);
		wlen = len;
		if (f->sd)
			difference(w, &wlen, m);
		f->d = pa_fcm_arima_ndiffs(w, wlen);
		if (f->d + f->sd > 2)
			f->d = 2 - f->sd;
	} else if (f->p < 0 || f->p > P_MAX || f->q < 0 || f->q > Q_MAX || f->sp < 0 ||
		   f->sp > SP_MAX || f->sq < 0 || f->sq > SQ_MAX || f->d < 0 || f->sd < 0 ||
		   f->sd > 1 || f->d + f->sd > 2) {
		snprintf(why, PA_FC_REASON_MAX, "ARIMA order outside p, q <= %d, P, Q <= %d, d + D <= 2",
			 P_MAX, SP_MAX);
		goto done;
	} else if (f->period != m && f->period != 0) {
		snprintf(why, PA_FC_REASON_MAX, "history of %zu too short for period %zu", len,
			 f->period);
		goto done;
	}
	m = f->period;

	memcpy(w, x, len * sizeof *w);
	wlen = len;
	if ((size_t)f->d + (size_t)f->sd * m + HISTORY_MIN > len) {
		snprintf(why, PA_FC_REASON_MAX, "history of %zu values too short to difference", len);
		goto done;
	}
	if (f->sd)
		difference(w, &wlen, m);
	for (int k = 0; k < f->d; k++)
		difference(w, &wlen, 1);

	pr.w = w;
	pr.nw = wlen;
	pr.period = m;
	f->has_mean = f->d + f->sd < 2;
	if (f->state != PA_FCM_ARIMA_FITTED)
		f->mean = f->has_mean ? mean_of(w, wlen) : 0;
	pr.mean = f->mean;
	for (size_t t = 0; t < wlen; t++)
		centred[t] = w[t] - pr.mean;
	pr.centred = centred;

	if (f->state == PA_FCM_ARIMA_EMPTY) {
		/* Every order of the search counts residuals from the same start. */
		pr.start = P_MAX + (m ? SP_MAX * m : 0);
		if (search_orders(&pr, f) != 0) {
			snprintf(why, PA_FC_REASON_MAX, "history of %zu values too short for ARIMA", len);
			goto done;
		}
	} else {
		pr.p = f->p, pr.q = f->q, pr.sp = f->sp, pr.sq = f->sq;
		pr.start = (size_t)f->p + (size_t)f->sp * m;
		if (f->state == PA_FCM_ARIMA_ORDER) {
			if (fit_order(&pr, f) != 0) {
				snprintf(why, PA_FC_REASON_MAX, "history of %zu values too short for the order",
					 len);
				goto done;
			}
		} else {
			/* Filter with the stored coefficients and re-estimate only the variance. */
			double ss;

			if (pr.nw <= pr.start + 1 || (ss = css_sum(&pr, f->coef)) >= PENALTY) {
				snprintf(why, PA_FC_REASON_MAX, "stored ARIMA coefficients do not fit");
				goto done;
			}
			f->sigma2 = ss / (double)(pr.nw - pr.start);
		}
	}

	/* The residuals of the final coefficients, from the model's own first lag. */
	pr.p = f->p, pr.q = f->q, pr.sp = f->sp, pr.sq = f->sq;
	pr.start = (size_t)f->p + (size_t)f->sp * m;
	if (css_sum(&pr, f->coef) >= PENALTY) {
		snprintf(why, PA_FC_REASON_MAX, "ARIMA coefficients outside the admissible region");
		goto done;
	}
	f->state = PA_FCM_ARIMA_FITTED;
	if (forecast_path(x, len, pr.resid, m, f, horizon, out) != 0) {
		snprintf(why, PA_FC_REASON_MAX, "out of memory");
		goto done;
	}
	out->sigma = sqrt(f->sigma2);
	out->aicc = f->aicc;
	rc = 0;
done:
	free(x);
	free(w);
	free(centred);
	free(resid);
	return rc;
}

void
pa_fcm_arima_format(const struct pa_fcm_arima_fit *fit, char *buf, size_t size)
{
	if (fit->state != PA_FCM_ARIMA_FITTED)
		snprintf(buf, size, "arima");
	else if (fit->period)
		snprintf(buf, size, "arima(%d,%d,%d)(%d,%d,%d)[%zu]", fit->p, fit->d, fit->q, fit->sp,
			 fit->sd, fit->sq, fit->period);
	else
		snprintf(buf, size, "arima(%d,%d,%d)", fit->p, fit->d, fit->q);
}
