/*
 * fc_mstl.c - forecasts from a decomposition with one or two seasons.
 *
 * The decomposition is STL, seasonal-trend decomposition by loess
 * (Cleveland, Cleveland, McRae and Terpenning, Journal of Official
 * Statistics 6(1), 1990).  It uses the defaults documented for R's
 * stats::stl(): local-constant loess across cycles, local-linear loess for
 * the trend and the low-pass filter, two inner passes, no robustness
 * weights, and the window and jump lengths computed in stl() below.
 * It runs once per season, shortest first, on the series with the other
 * seasons taken out.  The round over all seasons is repeated
 * MSTL_ITERATIONS times so that each season is estimated free of the
 * others, and the k-th season's window spans 7 + 4k cycles, as in
 * mstl() of R's forecast package (iterate = 2).
 *
 * The forecast adds the last cycle of each seasonal component to a
 * non-seasonal forecast of the seasonally adjusted series, which is
 * ETS(A,N,N), or ETS(A,Ad,N) when the adjusted series shows a trend and
 * the damped model has the lower AICc.  Both run through pa_fcm_ets, but
 * the ETS(A,N,N) smoothing parameter is fitted here, by a grid and Brent's
 * method, which costs a small fraction of a simplex search.  The interval
 * is the smoothing model's, because the seasonal components count as
 * known.
 *
 * Unknown values (NAN) are interpolated for the decomposition only.  The
 * adjusted series keeps them unknown, so the smoothing model skips them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>

#include "fc_models.h"
#include "forecast.h"

#define MSTL_ITERATIONS 2	/* passes over all seasons */
#define STL_INNER 2		/* inner loop passes per STL, as R's stl() without robustness */
#define SEASON_WINDOW(k) (7 + 4 * (k))	/* cycles in the k-th season's window, k from 1 */
#define TREND_T 2.0		/* |t| of the level model's mean error that calls for a trend */
#define ALPHA_MIN 1e-4		/* smoothing parameter bounds of fc_ets.c and R's ets() */
#define ALPHA_MAX 0.9999
#define ALPHA_GRID 20		/* grid steps before the Brent refinement */

static size_t
odd_at_least(double x)
{
	size_t v = (size_t)ceil(x);

	return v % 2 ? v : v + 1;
}

/*
 * Fit a local polynomial (degree 0 or 1) at position x of y[0..n) over the
 * q positions nearest x with tricube weights, as STL's loess does.
 * Returns NAN when every weight is zero.
 */
static double
loess_at(const double *y, size_t n, size_t q, double x, int degree)
{
	size_t left, right;
	double h, inv_h, sumw = 0, sumwj = 0, sumwy = 0, sumwjj = 0, sumwjy = 0;

	if (q >= n) {
		left = 0;
		right = n - 1;
	} else {
		double start = floor(x) - (double)(q - 1) / 2;

		if (start < 0)
			start = 0;
		if (start > (double)(n - q))
			start = (double)(n - q);
		left = (size_t)start;
		right = left + q - 1;
	}
	h = fmax(x - (double)left, (double)right - x);
	if (q > n)
		h += (double)((q - n) / 2);
	inv_h = 1 / h;

	/* Tricube weights are 1 within 0.001 h of x and 0 beyond 0.999 h, as in STL. */
	for (size_t j = left; j <= right; j++) {
		double pos = (double)j, u = fabs(pos - x) * inv_h, w;

		if (u > 0.999)
			continue;
		if (u <= 0.001) {
			w = 1;
		} else {
			double v = 1 - u * u * u;

			w = v * v * v;
		}
		sumw += w;
		sumwy += w * y[j];
		if (degree == 1) {
			sumwj += w * pos;
			sumwjj += w * pos * pos;
			sumwjy += w * pos * y[j];
		}
	}
	if (sumw <= 0)
		return NAN;
	if (degree == 1) {
		double centre = sumwj / sumw;
		double spread = sumwjj / sumw - centre * centre;

		/*
		 * Evaluate the weighted least-squares line at x.  As in STL, the
		 * line is skipped when the positions barely spread (a single point).
		 */
		if (spread > 0 && sqrt(spread) > 0.001 * (double)(n - 1)) {
			double slope = (sumwjy / sumw - centre * sumwy / sumw) / spread;

			return sumwy / sumw + slope * (x - centre);
		}
	}
	return sumwy / sumw;
}

/*
 * Smooth y[0..n) by loess at every jump-th position and the last, with
 * linear interpolation between them, as STL does to save work.  Where the
 * window lies wholly inside the series (q odd, below n), every position
 * has the same symmetric tricube kernel and the local line's slope term
 * vanishes.  So the kernel is computed once, into kernel (q values of
 * scratch).
 */
static void
loess_smooth(const double *y, size_t n, size_t q, int degree, size_t jump, double *kernel,
	     double *out)
{
	size_t prev = 0, half = (q - 1) / 2;
	int inside = q % 2 == 1 && q < n && half > 0;

	if (inside) {
		double sum = 0;

		for (size_t k = 0; k < q; k++) {
			double u = fabs((double)k - (double)half) / (double)half, v = 1 - u * u * u;

			if (u > 0.999)
				kernel[k] = 0;
			else if (u <= 0.001)
				kernel[k] = 1;
			else
				kernel[k] = v * v * v;
			sum += kernel[k];
		}
		for (size_t k = 0; k < q; k++)
			kernel[k] /= sum;
	}
	if (jump < 1)
		jump = 1;
	for (size_t i = 0;; i += jump) {
		double v;

		if (i >= n - 1)
			i = n - 1;
		if (inside && i >= half && i + half < n) {
			const double *from = y + i - half;

			v = 0;
			for (size_t k = 0; k < q; k++)
				v += kernel[k] * from[k];
		} else {
			v = loess_at(y, n, q, (double)i, degree);
		}
		out[i] = isnan(v) ? y[i] : v;
		for (size_t j = prev + 1; j < i; j++)
			out[j] = out[prev] + (out[i] - out[prev]) * (double)(j - prev) / (double)(i - prev);
		prev = i;
		if (i == n - 1)
			break;
	}
}

/*
 * Write the moving average of width w of x[0..n) into out, where out[i]
 * is the mean of x[i..i+w) for i <= n - w.
 */
static void
moving_average(const double *x, size_t n, size_t w, double *out)
{
	double sum = 0;

	for (size_t i = 0; i < w; i++)
		sum += x[i];
	out[0] = sum / (double)w;
	for (size_t i = 1; i + w <= n; i++) {
		sum += x[i + w - 1] - x[i - 1];
		out[i] = sum / (double)w;
	}
}

struct stl_work {
	double *detrended;	/* n */
	double *cycle;		/* n + 2 period: smoothed cycle-subseries, one cycle beyond each end */
	double *low;		/* n + period + 1: scratch of the low-pass filter, then its result */
	double *low2;		/* n + 2 */
	double *sub, *subfit;	/* one phase's values, count + 2 */
	double *kernel;		/* loess weights, n + 2 */
};

static void
stl_work_free(struct stl_work *w)
{
	free(w->detrended);
	free(w->cycle);
	free(w->low);
	free(w->low2);
	free(w->sub);
	free(w->subfit);
	free(w->kernel);
}

static int
stl_work_alloc(struct stl_work *w, size_t n, size_t period)
{
	size_t cycles = n + 2;	/* enough for any period */

	w->detrended = malloc(n * sizeof *w->detrended);
	w->cycle = malloc((n + 2 * period) * sizeof *w->cycle);
	w->low = malloc((n + period + 1) * sizeof *w->low);
	w->low2 = malloc((n + 2) * sizeof *w->low2);
	w->sub = malloc(cycles * sizeof *w->sub);
	w->subfit = malloc(cycles * sizeof *w->subfit);
	w->kernel = malloc(cycles * sizeof *w->kernel);
	if (w->detrended && w->cycle && w->low && w->low2 && w->sub && w->subfit && w->kernel)
		return 0;
	stl_work_free(w);
	return -1;
}

/*
 * Smooth each phase's values of x[0..n) across cycles, extended one cycle
 * before the first and after the last, into cycle[0..n + 2 period).
 */
static void
smooth_cycles(const double *x, size_t n, size_t period, size_t window, struct stl_work *w)
{
	size_t jump = (window + 9) / 10;

	for (size_t phase = 0; phase < period && phase < n; phase++) {
		size_t count = (n - 1 - phase) / period + 1;
		double before, after;

		for (size_t i = 0; i < count; i++)
			w->sub[i] = x[phase + i * period];
		loess_smooth(w->sub, count, window, 0, jump, w->kernel, w->subfit);
		before = loess_at(w->sub, count, window, -1, 0);
		after = loess_at(w->sub, count, window, (double)count, 0);
		w->cycle[phase] = isnan(before) ? w->sub[0] : before;
		for (size_t i = 0; i < count; i++)
			w->cycle[phase + (i + 1) * period] = w->subfit[i];
		w->cycle[phase + (count + 1) * period] = isnan(after) ? w->sub[count - 1] : after;
	}
}

/*
 * Decompose x[0..n) by STL at period into season and trend, n values
 * each.  n must be more than period.
 */
static void
stl(const double *x, size_t n, size_t period, size_t window, double *season, double *trend,
    struct stl_work *w)
{
	size_t trend_window = odd_at_least(1.5 * (double)period / (1 - 1.5 / (double)window));
	size_t low_window = odd_at_least((double)period);

	for (size_t i = 0; i < n; i++)
		trend[i] = 0;
	for (size_t pass = 0; pass < STL_INNER; pass++) {
		for (size_t i = 0; i < n; i++)
			w->detrended[i] = x[i] - trend[i];
		smooth_cycles(w->detrended, n, period, window, w);

		/* The low-pass filter: moving averages of period, period and 3, then loess. */
		moving_average(w->cycle, n + 2 * period, period, w->low);
		moving_average(w->low, n + period + 1, period, w->low2);
		moving_average(w->low2, n + 2, 3, w->low);
		loess_smooth(w->low, n, low_window, 1, (low_window + 9) / 10, w->kernel, w->detrended);
		for (size_t i = 0; i < n; i++)
			season[i] = w->cycle[period + i] - w->detrended[i];

		for (size_t i = 0; i < n; i++)
			w->detrended[i] = x[i] - season[i];
		loess_smooth(w->detrended, n, trend_window, 1, (trend_window + 9) / 10, w->kernel,
			     trend);
	}
}

/*
 * Copy y into filled, with each NAN replaced by linear interpolation
 * between its known neighbours, or by the nearest known value at either
 * end.  Returns -1 when no value is known.
 */
static int
interpolate(const double *y, size_t n, double *filled)
{
	size_t prev = n;	/* index of the last known value, n for none yet */

	for (size_t i = 0; i < n; i++) {
		if (isnan(y[i]))
			continue;
		filled[i] = y[i];
		if (prev == n) {
			for (size_t j = 0; j < i; j++)
				filled[j] = y[i];
		} else {
			for (size_t j = prev + 1; j < i; j++)
				filled[j] = y[prev] + (y[i] - y[prev]) * (double)(j - prev) / (double)(i - prev);
		}
		prev = i;
	}
	if (prev == n)
		return -1;
	for (size_t j = prev + 1; j < n; j++)
		filled[j] = y[prev];
	return 0;
}

int
pa_fcm_mstl_decompose(const double *y, size_t n, const size_t *periods, size_t count,
		      double *seasons, double *trend)
{
	struct stl_work w = { 0 };
	double *adjusted = malloc(n * sizeof *adjusted);
	size_t longest = 0;
	int rc = -1, gaps;

	for (size_t k = 0; k < count; k++) {
		if (periods[k] < 2 || periods[k] >= n)
			goto done;
		if (periods[k] > longest)
			longest = periods[k];
	}
	if (adjusted == NULL || interpolate(y, n, adjusted) != 0)
		goto done;
	gaps = pa_fcm_known(y, n) < n;
	for (size_t i = 0; i < n; i++)
		trend[i] = adjusted[i];
	for (size_t i = 0; i < count * n; i++)
		seasons[i] = 0;
	if (count == 0) {
		rc = 0;
		goto done;
	}
	if (stl_work_alloc(&w, n, longest) != 0)
		goto done;

	/*
	 * adjusted contains the series less every season.  Each pass puts one
	 * season back, estimates it again and takes the new estimate out.
	 * A straight line drawn across a long gap has no seasonal swing and
	 * would flatten the seasons there.  So after each pass an unknown
	 * value is refilled with its fitted value (trend plus seasons), and
	 * a history with gaps gets one pass more.
	 */
	for (int pass = 0; pass < MSTL_ITERATIONS + (gaps ? 1 : 0); pass++) {
		for (size_t k = 0; k < count; k++) {
			double *season = seasons + k * n;

			for (size_t i = 0; i < n; i++)
				adjusted[i] += season[i];
			stl(adjusted, n, periods[k], SEASON_WINDOW(k + 1), season, trend, &w);
			for (size_t i = 0; i < n; i++)
				adjusted[i] -= season[i];
		}
		for (size_t i = 0; gaps && i < n; i++)
			if (isnan(y[i]))
				adjusted[i] = trend[i];
	}
	stl_work_free(&w);
	rc = 0;
done:
	free(adjusted);
	return rc;
}

/* One-step errors of simple exponential smoothing: their sum of squares, sum and count. */
struct ses_errors {
	double sse, sum;
	size_t count;
};

/*
 * Run simple exponential smoothing with smoothing parameter alpha over the
 * known values of y, started at the first known value as fc_ets.c starts
 * ETS(A,N,N), so the squared errors are the ones it minimises.
 */
static struct ses_errors
ses_run(const double *y, size_t n, double alpha)
{
	struct ses_errors r = { 0, 0, 0 };
	double level = NAN;

	for (size_t t = 0; t < n; t++) {
		double e;

		if (isnan(y[t]))
			continue;
		if (isnan(level)) {
			level = y[t];
			continue;
		}
		e = y[t] - level;
		level += alpha * e;
		r.sse += e * e;
		r.sum += e;
		r.count++;
	}
	return r;
}

struct ses_problem {
	const double *y;
	size_t n;
};

static double
ses_sse(double alpha, void *data)
{
	const struct ses_problem *pr = data;

	return ses_run(pr->y, pr->n, alpha).sse;
}

/*
 * Fit the smoothing parameter of ETS(A,N,N) by least squares: the best of
 * a grid over [ALPHA_MIN, ALPHA_MAX], refined by Brent's method (GSL)
 * between its neighbours.  One parameter needs no simplex, and the grid
 * keeps the search from stalling at the bound alpha = 1, where a series
 * close to a random walk puts the minimum.
 */
static double
fit_ses_alpha(const double *y, size_t n)
{
	struct ses_problem pr = { y, n };
	gsl_function f = { ses_sse, &pr };
	gsl_min_fminimizer *s;
	double value[ALPHA_GRID + 1], best;
	size_t at = 0;

	for (size_t i = 0; i <= ALPHA_GRID; i++) {
		value[i] = ses_sse(ALPHA_MIN + (ALPHA_MAX - ALPHA_MIN) * (double)i / ALPHA_GRID, &pr);
		if (value[i] < value[at])
			at = i;
	}
	best = ALPHA_MIN + (ALPHA_MAX - ALPHA_MIN) * (double)at / ALPHA_GRID;
	if (at == 0 || at == ALPHA_GRID || !(value[at] < value[at - 1] && value[at] < value[at + 1]))
		return best;

	gsl_set_error_handler_off();
	s = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
	if (s == NULL)
		return best;
	if (gsl_min_fminimizer_set_with_values(s, &f, best, value[at],
					       best - (ALPHA_MAX - ALPHA_MIN) / ALPHA_GRID, value[at - 1],
					       best + (ALPHA_MAX - ALPHA_MIN) / ALPHA_GRID, value[at + 1]) == GSL_SUCCESS) {
		for (int iter = 0; iter < 50; iter++) {
			if (gsl_min_fminimizer_iterate(s) != GSL_SUCCESS)
				break;
			if (gsl_min_test_interval(gsl_min_fminimizer_x_lower(s),
						  gsl_min_fminimizer_x_upper(s), 1e-6, 0) == GSL_SUCCESS)
				break;
		}
		best = gsl_min_fminimizer_x_minimum(s);
	}
	gsl_min_fminimizer_free(s);
	return best;
}

/*
 * Return the t statistic of the mean one-step error of simple exponential
 * smoothing with smoothing parameter alpha.  Smoothing lags behind a trend,
 * so its errors then share one sign.
 */
static double
ses_error_t(const double *y, size_t n, double alpha)
{
	struct ses_errors r = ses_run(y, n, alpha);
	double mean, var;

	if (r.count < 2)
		return 0;
	mean = r.sum / (double)r.count;
	var = (r.sse - (double)r.count * mean * mean) / (double)(r.count - 1);
	return var > 0 ? mean / sqrt(var / (double)r.count) : 0;
}

/*
 * Forecast the adjusted series with the smoothing model in reuse, or fit
 * ETS(A,N,N) and store it in reuse (when not NULL).  ETS(A,Ad,N) is fitted
 * too only when the ETS(A,N,N) errors have a mean that differs from zero
 * (|t| > TREND_T), and it wins when its AICc is lower.  Without that sign
 * of a trend the damped model cannot improve much on the level alone, and
 * its three-parameter search costs about six times as much.
 */
static int
forecast_adjusted(const double *adjusted, size_t n, size_t horizon, struct pa_fcm_params *reuse,
		  struct pa_fcm_out *out, char *why)
{
	struct pa_fcm_params level_fit = { .valid = 0 }, damped_fit = { .valid = 0 };
	struct pa_fcm_ets_spec level_spec = { 0, 0, 0, &level_fit };
	struct pa_fcm_ets_spec damped_spec = { 1, 1, 0, &damped_fit };
	struct pa_fcm_out damped;
	double *mean = NULL, *sd = NULL;
	char damped_why[PA_FC_REASON_MAX];
	int rc;

	if (reuse && reuse->valid && reuse->adjusted != PA_FCM_ADJ_NONE) {
		int trend = reuse->adjusted == PA_FCM_ADJ_DAMPED;
		struct pa_fcm_ets_spec spec = { trend, trend, 0, reuse };

		return pa_fcm_ets(adjusted, n, &spec, horizon, out, why);
	}

	level_fit = (struct pa_fcm_params){ .valid = 1, .alpha = fit_ses_alpha(adjusted, n), .phi = 1,
					    .adjusted = PA_FCM_ADJ_SES };
	rc = pa_fcm_ets(adjusted, n, &level_spec, horizon, out, why);
	if (rc == 0 && reuse)
		*reuse = level_fit;
	if (rc != 0 || fabs(ses_error_t(adjusted, n, level_fit.alpha)) <= TREND_T)
		return rc;

	mean = malloc(horizon * sizeof *mean);
	sd = malloc(horizon * sizeof *sd);
	damped = (struct pa_fcm_out){ mean, sd, 0, 0 };
	if (mean && sd && pa_fcm_ets(adjusted, n, &damped_spec, horizon, &damped, damped_why) == 0 &&
	    !isnan(damped.aicc) && !(out->aicc <= damped.aicc)) {
		memcpy(out->mean, mean, horizon * sizeof *mean);
		memcpy(out->sd, sd, horizon * sizeof *sd);
		out->sigma = damped.sigma;
		out->aicc = damped.aicc;
		damped_fit.adjusted = PA_FCM_ADJ_DAMPED;
		if (reuse)
			*reuse = damped_fit;
	}
	free(mean);
	free(sd);
	return 0;
}

int
pa_fcm_mstl(const double *y, size_t n, size_t period, size_t period2, size_t horizon,
	    struct pa_fcm_params *reuse, struct pa_fcm_out *out, char *why)
{
	size_t periods[2], count = 0;
	double *seasons = NULL, *trend = NULL, *adjusted = NULL;
	int rc = -1;

	/* Each season needs one full cycle and one more value, as for the seasonal naive model. */
	if (period >= 2 && n > period)
		periods[count++] = period;
	if (period2 >= 2 && period2 != period && n > period2)
		periods[count++] = period2;
	if (count == 2 && periods[0] > periods[1]) {
		size_t t = periods[0];

		periods[0] = periods[1];
		periods[1] = t;
	}

	seasons = malloc((count ? count : 1) * n * sizeof *seasons);
	trend = malloc(n * sizeof *trend);
	adjusted = malloc(n * sizeof *adjusted);
	if (seasons == NULL || trend == NULL || adjusted == NULL) {
		snprintf(why, PA_FC_REASON_MAX, "out of memory");
		goto done;
	}
	if (pa_fcm_mstl_decompose(y, n, periods, count, seasons, trend) != 0) {
		snprintf(why, PA_FC_REASON_MAX, "no known value to decompose");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		adjusted[i] = y[i];
		for (size_t k = 0; k < count; k++)
			adjusted[i] -= seasons[k * n + i];
	}
	if (forecast_adjusted(adjusted, n, horizon, reuse, out, why) != 0)
		goto done;

	/* Each season repeats its last cycle. */
	for (size_t k = 0; k < count; k++) {
		const double *last = seasons + k * n + n - periods[k];

		for (size_t h = 0; h < horizon; h++)
			out->mean[h] += last[h % periods[k]];
	}
	rc = 0;
done:
	free(seasons);
	free(trend);
	free(adjusted);
	return rc;
}

void
pa_fcm_mstl_format(size_t period, size_t period2, const struct pa_fcm_params *params, char *buf,
		   size_t size)
{
	const char *ets = params && params->adjusted == PA_FCM_ADJ_DAMPED ? "ets(A,Ad,N)"
									  : "ets(A,N,N)";
	size_t shorter, longer;

	/* A second period without a first one is decomposed alone, as pa_fcm_mstl does. */
	if (period < 2) {
		period = period2;
		period2 = 0;
	}
	shorter = period < period2 ? period : period2;
	longer = period < period2 ? period2 : period;
	if (period < 2)
		snprintf(buf, size, "%s", ets);
	else if (period2 >= 2 && period2 != period)
		snprintf(buf, size, "mstl(p=%zu,%zu)+%s", shorter, longer, ets);
	else
		snprintf(buf, size, "mstl(p=%zu)+%s", period, ets);
}
