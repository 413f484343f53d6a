/* Unit tests for the ARIMA model: coefficients, differencing, intervals, edge cases. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "fc_models.h"
#include "forecast.h"
#include "unit.h"

#define N 2000
#define HORIZON 24

/*
 * Simulate x_t = mean + ar (x_{t-1} - mean) + e_t + ma e_{t-1} with unit
 * Gaussian noise from a fixed-seed Mersenne Twister, after a burn-in.
 */
static void
simulate_arma(double *x, size_t n, double ar, double ma, double mean, unsigned long seed)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	double prev = 0, prev_e = 0;

	gsl_rng_set(rng, seed);
	for (size_t t = 0; t < n + 200; t++) {
		double e = gsl_ran_gaussian(rng, 1.0), v = ar * prev + e + ma * prev_e;

		if (t >= 200)
			x[t - 200] = mean + v;
		prev = v;
		prev_e = e;
	}
	gsl_rng_free(rng);
}

static int
fit_fixed(const double *x, size_t n, int p, int q, struct pa_fcm_arima_fit *fit,
	  double *mean, double *sd)
{
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX];

	memset(fit, 0, sizeof *fit);
	fit->state = PA_FCM_ARIMA_ORDER;
	fit->p = p;
	fit->q = q;
	return pa_fcm_arima(x, n, 0, HORIZON, fit, &out, why);
}

/* Standard error of a coefficient from 2,000 values is about 0.02; allow 0.06. */
static void
test_ar1_recovered(void)
{
	double *x = malloc(N * sizeof *x), mean[HORIZON], sd[HORIZON];
	struct pa_fcm_arima_fit fit;

	simulate_arma(x, N, 0.7, 0, 50, 1);
	CHECK("ar1 fit succeeds", fit_fixed(x, N, 1, 0, &fit, mean, sd) == 0);
	CHECK("order above bound rejected", fit_fixed(x, N, 4, 0, &fit, mean, sd) == -1);
	CHECK("ar1 refit succeeds", fit_fixed(x, N, 1, 0, &fit, mean, sd) == 0);
	CHECK_NEAR("ar1 coefficient", fit.coef[0], 0.7, 0.06);
	CHECK_NEAR("ar1 mean", fit.mean, 50, 0.5);
	CHECK_NEAR("ar1 residual variance", fit.sigma2, 1.0, 0.1);
	CHECK("ar1 forecast decays to mean",
	      fabs(mean[HORIZON - 1] - 50) < fabs(x[N - 1] - 50) + 1e-9);
	free(x);
}

static void
test_ma1_recovered(void)
{
	double *x = malloc(N * sizeof *x), mean[HORIZON], sd[HORIZON];
	struct pa_fcm_arima_fit fit;

	simulate_arma(x, N, 0, 0.5, 0, 2);
	CHECK("ma1 fit succeeds", fit_fixed(x, N, 0, 1, &fit, mean, sd) == 0);
	CHECK_NEAR("ma1 coefficient", fit.coef[0], 0.5, 0.06);

	/* Beyond one step an MA(1) forecast is the mean, with variance (1 + theta^2) sigma^2. */
	CHECK_NEAR("ma1 two steps at mean", mean[1], fit.mean, 1e-9);
	CHECK_NEAR("ma1 two-step sd", sd[1],
		   sqrt(fit.sigma2 * (1 + fit.coef[0] * fit.coef[0])), 1e-9);
	free(x);
}

static void
test_random_walk_differenced(void)
{
	double *x = malloc(N * sizeof *x), mean[HORIZON], sd[HORIZON];
	struct pa_fcm_arima_fit fit = { 0 };
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX];
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(rng, 3);
	x[0] = 100;
	for (size_t t = 1; t < N; t++)
		x[t] = x[t - 1] + gsl_ran_gaussian(rng, 1.0);
	gsl_rng_free(rng);

	CHECK("random walk ndiffs 1", pa_fcm_arima_ndiffs(x, N) == 1);
	CHECK("random walk kpss rejects", pa_fcm_arima_kpss(x, N) > 0.463);
	CHECK("random walk search succeeds", pa_fcm_arima(x, N, 0, HORIZON, &fit, &out, why) == 0);
	CHECK("random walk fit d 1", fit.d == 1);
	CHECK("random walk fit fitted", fit.state == PA_FCM_ARIMA_FITTED);
	free(x);
}

/*
 * KPSS at 5% rejects a stationary series now and then, and more often with
 * autocorrelation, so the check counts over 20 seeds.
 */
static void
test_stationary_not_differenced(void)
{
	double *x = malloc(N * sizeof *x);
	int differenced = 0;

	for (unsigned long seed = 100; seed < 120; seed++) {
		simulate_arma(x, N, 0.5, 0, 10, seed);
		differenced += pa_fcm_arima_ndiffs(x, N) != 0;
	}
	CHECK("stationary mostly ndiffs 0", differenced <= 3);
	free(x);
}

static void
test_interval_grows(void)
{
	double *x = malloc(N * sizeof *x), mean[HORIZON], sd[HORIZON];
	struct pa_fcm_arima_fit fit = { 0 };
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX];
	int grows = 1;

	simulate_arma(x, N, 0.8, 0.3, 0, 5);
	CHECK("interval fit succeeds", pa_fcm_arima(x, N, 0, HORIZON, &fit, &out, why) == 0);
	for (size_t k = 1; k < HORIZON; k++)
		grows &= sd[k] >= sd[k - 1] && isfinite(sd[k]);
	CHECK("interval sd nondecreasing", grows);
	CHECK("interval sd widens", sd[HORIZON - 1] > sd[0] * 1.2);
	CHECK_NEAR("interval one-step sd is sigma", sd[0], sqrt(fit.sigma2), 1e-12);
	free(x);
}

static void
test_seasonal_difference(void)
{
	enum { PERIOD = 24, LEN = 24 * 30 };
	double *x = malloc(LEN * sizeof *x), mean[HORIZON], sd[HORIZON];
	struct pa_fcm_arima_fit fit = { 0 };
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX];
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	double err = 0;

	gsl_rng_set(rng, 6);
	for (size_t t = 0; t < LEN; t++)
		x[t] = 100 + 30 * sin(2 * M_PI * (double)(t % PERIOD) / PERIOD) + gsl_ran_gaussian(rng, 2.0);
	gsl_rng_free(rng);

	CHECK("seasonal strength high", pa_fcm_arima_seasonal_strength(x, LEN, PERIOD) > 0.64);
	CHECK("seasonal fit succeeds", pa_fcm_arima(x, LEN, PERIOD, HORIZON, &fit, &out, why) == 0);
	CHECK("seasonal fit D 1", fit.sd == 1);
	CHECK("seasonal fit period", fit.period == PERIOD);
	for (size_t k = 0; k < HORIZON; k++)
		err += fabs(mean[k] - (100 + 30 * sin(2 * M_PI * (double)((LEN + k) % PERIOD) / PERIOD)));
	CHECK("seasonal forecast follows shape", err / HORIZON < 4);
	free(x);
}

static void
test_constant_series(void)
{
	double x[100], mean[HORIZON], sd[HORIZON];
	struct pa_fcm_arima_fit fit = { 0 };
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX];
	int finite = 1, flat = 1;

	for (size_t t = 0; t < 100; t++)
		x[t] = 42;
	CHECK("constant fit succeeds", pa_fcm_arima(x, 100, 24, HORIZON, &fit, &out, why) == 0);
	for (size_t k = 0; k < HORIZON; k++) {
		finite &= isfinite(mean[k]) && isfinite(sd[k]);
		flat &= mean[k] == 42;
	}
	CHECK("constant forecast finite", finite);
	CHECK("constant forecast flat", flat);
	CHECK("constant sigma finite", isfinite(out.sigma));
	CHECK("constant ndiffs 0", pa_fcm_arima_ndiffs(x, 100) == 0);
}

static void
test_short_and_gappy(void)
{
	double x[200], mean[HORIZON], sd[HORIZON];
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX];
	int finite = 1;

	simulate_arma(x, 200, 0.6, 0, 20, 7);
	CHECK("short history rejected", pa_fcm_arima(x, 5, 0, HORIZON, NULL, &out, why) == -1);
	x[0] = x[1] = NAN;
	for (size_t t = 50; t < 60; t++)
		x[t] = NAN;
	x[199] = NAN;
	CHECK("gappy fit succeeds", pa_fcm_arima(x, 200, 0, HORIZON, NULL, &out, why) == 0);
	for (size_t k = 0; k < HORIZON; k++)
		finite &= isfinite(mean[k]) && isfinite(sd[k]);
	CHECK("gappy forecast finite", finite);
}

static void
test_reuse_filters(void)
{
	double *x = malloc(N * sizeof *x), mean[HORIZON], sd[HORIZON];
	struct pa_fcm_arima_fit fit = { 0 }, before;
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX];

	simulate_arma(x, N, 0.7, 0, 50, 8);
	CHECK("reuse first fit", pa_fcm_arima(x, N - 100, 0, HORIZON, &fit, &out, why) == 0);
	before = fit;
	CHECK("reuse second origin", pa_fcm_arima(x, N, 0, HORIZON, &fit, &out, why) == 0);
	CHECK("reuse keeps coefficients", memcmp(before.coef, fit.coef, sizeof fit.coef) == 0);
	CHECK("reuse keeps p", before.p == fit.p);
	CHECK("reuse keeps q", before.q == fit.q);
	CHECK("reuse keeps d", before.d == fit.d);
	free(x);
}

static void
test_auto_and_named(void)
{
	double *x = malloc(N * sizeof *x);
	struct pa_fc_opts o;
	struct pa_fc_result r;

	simulate_arma(x, N, 0.7, 0, 50, 9);
	pa_fc_opts_default(&o);
	o.model = "arima";
	o.counts = 0;
	o.transform = PA_FC_TRANSFORM_NONE;
	CHECK("named arima known", pa_fc_model_known("arima"));
	CHECK("named arima ok", pa_fc_forecast(x, N, HORIZON, &o, &r) == PA_FC_OK);
	CHECK("named arima model name", strncmp(r.model, "arima(", 6) == 0);
	CHECK("named arima no fallback", r.fallback == 0);
	pa_fc_result_free(&r);
	free(x);
}

int
main(void)
{
	test_ar1_recovered();
	test_ma1_recovered();
	test_random_walk_differenced();
	test_stationary_not_differenced();
	test_interval_grows();
	test_seasonal_difference();
	test_constant_series();
	test_short_and_gappy();
	test_reuse_filters();
	test_auto_and_named();
	return unit_status();
}
