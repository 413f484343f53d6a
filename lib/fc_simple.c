/*
 * fc_simple.c - the benchmark models: seasonal naive, naive, drift, mean,
 * and Croston's method for intermittent counts.
 *
 * Their error variances follow random-walk algebra: the h-step error of a
 * random walk sums h independent one-step errors, so its variance is h
 * times the one-step variance.
 */
#include <math.h>
#include <stdio.h>

#include "fc_models.h"
#include "forecast.h"

size_t
pa_fcm_known(const double *y, size_t n)
{
	size_t known = 0;

	for (size_t i = 0; i < n; i++)
		if (!isnan(y[i]))
			known++;
	return known;
}

double
pa_fcm_known_mean(const double *y, size_t n)
{
	double sum = 0;
	size_t known = 0;

	for (size_t i = 0; i < n; i++) {
		if (isnan(y[i]))
			continue;
		sum += y[i];
		known++;
	}
	return known ? sum / (double)known : NAN;
}

/* Standard deviation of the known values around their mean. */
static double
known_sd(const double *y, size_t n)
{
	double mean = pa_fcm_known_mean(y, n), ss = 0;
	size_t known = 0;

	for (size_t i = 0; i < n; i++) {
		if (isnan(y[i]))
			continue;
		ss += (y[i] - mean) * (y[i] - mean);
		known++;
	}
	return known > 1 ? sqrt(ss / (double)(known - 1)) : 0;
}

/* Root mean square of y[t] - y[t - lag] over pairs where both are known. */
static double
lag_rms(const double *y, size_t n, size_t lag, double offset, size_t *pairs)
{
	double ss = 0;

	*pairs = 0;
	for (size_t t = lag; t < n; t++) {
		double e;

		if (isnan(y[t]) || isnan(y[t - lag]))
			continue;
		e = y[t] - y[t - lag] - offset;
		ss += e * e;
		(*pairs)++;
	}
	return *pairs ? sqrt(ss / (double)*pairs) : NAN;
}

int
pa_fcm_snaive(const double *y, size_t n, size_t period, size_t horizon,
	      struct pa_fcm_out *out, char *why)
{
	size_t pairs;
	double sigma, fallback = pa_fcm_known_mean(y, n), wide = known_sd(y, n);

	if (period < 2) {
		snprintf(why, PA_FC_REASON_MAX, "no season to repeat (period %zu)", period);
		return -1;
	}
	if (n < period) {
		snprintf(why, PA_FC_REASON_MAX, "history of %zu shorter than period %zu", n, period);
		return -1;
	}
	sigma = lag_rms(y, n, period, 0, &pairs);
	if (pairs == 0) {
		snprintf(why, PA_FC_REASON_MAX, "no two known values one period (%zu) apart", period);
		return -1;
	}

	/*
	 * The forecast for a phase is its last known value.  A phase never
	 * seen (unknown buckets) falls back to the mean of the history with
	 * the spread of the whole history, which is wider than sigma.
	 */
	for (size_t k = 0; k < horizon; k++) {
		size_t seasons = k / period + 1;
		size_t back = n - period + k % period;
		int found = 0;

		for (;;) {
			if (!isnan(y[back])) {
				found = 1;
				break;
			}
			if (back < period)
				break;
			back -= period;
			seasons++;
		}
		if (found) {
			out->mean[k] = y[back];
			out->sd[k] = sigma * sqrt((double)seasons);
		} else {
			out->mean[k] = fallback;
			out->sd[k] = fmax(wide, sigma) * sqrt((double)seasons);
		}
	}
	out->sigma = sigma;
	out->aicc = NAN;
	return 0;
}

static double
last_known(const double *y, size_t n, size_t *age)
{
	for (size_t i = n; i-- > 0;) {
		if (!isnan(y[i])) {
			*age = n - 1 - i;
			return y[i];
		}
	}
	*age = n;
	return NAN;
}

int
pa_fcm_naive(const double *y, size_t n, size_t horizon, struct pa_fcm_out *out, char *why)
{
	size_t pairs, age;
	double last = last_known(y, n, &age), sigma;

	if (isnan(last)) {
		snprintf(why, PA_FC_REASON_MAX, "no known value");
		return -1;
	}
	sigma = lag_rms(y, n, 1, 0, &pairs);

	/*
	 * A single value gives no estimate of the spread, so the value itself
	 * (at least 1) is the standard deviation: wide, but never zero.
	 */
	if (pairs == 0)
		sigma = fmax(fabs(last), 1);
	for (size_t k = 0; k < horizon; k++) {
		out->mean[k] = last;
		out->sd[k] = sigma * sqrt((double)(k + 1 + age));
	}
	out->sigma = sigma;
	out->aicc = NAN;
	return 0;
}

int
pa_fcm_drift(const double *y, size_t n, size_t horizon, struct pa_fcm_out *out, char *why)
{
	size_t first = 0, age, pairs;
	double last = last_known(y, n, &age), slope, sigma, span;

	while (first < n && isnan(y[first]))
		first++;
	if (isnan(last) || n - 1 - age <= first) {
		snprintf(why, PA_FC_REASON_MAX, "fewer than 2 known values");
		return -1;
	}
	span = (double)(n - 1 - age - first);
	slope = (last - y[first]) / span;
	sigma = lag_rms(y, n, 1, slope, &pairs);

	/*
	 * The slope is fitted to the differences, so one difference leaves a
	 * residual of 0, or a single sample of the spread when unknown buckets
	 * lie between the ends.  Either interval would be too narrow.
	 */
	if (pairs < 2) {
		snprintf(why, PA_FC_REASON_MAX, "fewer than 2 pairs of adjacent known values");
		return -1;
	}
	for (size_t k = 0; k < horizon; k++) {
		double h = (double)(k + 1 + age);

		out->mean[k] = last + slope * h;
		out->sd[k] = sigma * sqrt(h * (1 + h / span));
	}
	out->sigma = sigma;
	out->aicc = NAN;
	return 0;
}

int
pa_fcm_mean(const double *y, size_t n, size_t horizon, struct pa_fcm_out *out, char *why)
{
	size_t known = pa_fcm_known(y, n);
	double mean = pa_fcm_known_mean(y, n), sd = known_sd(y, n);

	if (known == 0) {
		snprintf(why, PA_FC_REASON_MAX, "no known value");
		return -1;
	}
	for (size_t k = 0; k < horizon; k++) {
		out->mean[k] = mean;
		out->sd[k] = sd * sqrt(1 + 1 / (double)known);
	}
	out->sigma = sd;
	out->aicc = NAN;
	return 0;
}

/* Smoothing constant for Croston's sizes and intervals, a usual choice for slow series. */
#define CROSTON_ALPHA 0.1

int
pa_fcm_croston(const double *y, size_t n, size_t horizon, struct pa_fcm_out *out, char *why)
{
	double size = NAN, interval = NAN, forecast = NAN, ss = 0;
	size_t since = 1, demands = 0, errors = 0;

	for (size_t t = 0; t < n; t++) {
		if (isnan(y[t])) {
			since++;
			continue;
		}

		/* The one-step error of the forecast made before this value. */
		if (!isnan(forecast)) {
			ss += (y[t] - forecast) * (y[t] - forecast);
			errors++;
		}
		if (y[t] == 0) {
			since++;
			continue;
		}
		if (isnan(size)) {
			size = y[t];
			interval = (double)since;
		} else {
			size += CROSTON_ALPHA * (y[t] - size);
			interval += CROSTON_ALPHA * ((double)since - interval);
		}
		since = 1;
		demands++;
		forecast = (1 - CROSTON_ALPHA / 2) * size / interval;
	}
	if (demands < 2 || errors == 0) {
		snprintf(why, PA_FC_REASON_MAX, "fewer than 2 non-zero values");
		return -1;
	}

	/* A flat forecast of a stationary rate: the one-step spread at every step. */
	out->sigma = sqrt(ss / (double)errors);
	for (size_t k = 0; k < horizon; k++) {
		out->mean[k] = forecast;
		out->sd[k] = out->sigma;
	}
	out->aicc = NAN;
	return 0;
}
