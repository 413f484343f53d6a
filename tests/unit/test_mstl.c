/* Unit tests for the decomposition model: components, gaps, short and flat histories. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "fc_models.h"
#include "forecast.h"
#include "unit.h"

#define DAY 24
#define WEEK 168
#define WEEKS 8
#define N (WEEKS * WEEK)
#define SIGMA 1.0

/*
 * Day offsets of the weekly season, busy on weekdays and quiet at the
 * weekend.  They sum to zero.
 */
static const double weekday[7] = { 6, 6, 6, 6, 4, -14, -14 };

static double
true_daily(size_t t)
{
	double phase = 2 * M_PI * (double)(t % DAY) / DAY;

	return 10 * sin(phase) + 4 * cos(2 * phase);
}

static double
true_weekly(size_t t)
{
	return weekday[(t / DAY) % 7];
}

/* Level 100 plus both seasons plus Gaussian noise of SIGMA from a fixed-seed generator. */
static void
make_series(double *y, size_t n, unsigned long seed)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(rng, seed);
	for (size_t t = 0; t < n; t++)
		y[t] = 100 + true_daily(t) + true_weekly(t) + gsl_ran_gaussian(rng, SIGMA);
	gsl_rng_free(rng);
}

static double
rms_error(const double *got, double (*truth)(size_t), size_t n)
{
	double ss = 0;

	for (size_t t = 0; t < n; t++)
		ss += (got[t] - truth(t)) * (got[t] - truth(t));
	return sqrt(ss / (double)n);
}

static double
rms_trend_error(const double *trend, size_t n)
{
	double ss = 0;

	for (size_t t = 0; t < n; t++)
		ss += (trend[t] - 100) * (trend[t] - 100);
	return sqrt(ss / (double)n);
}

/*
 * Tolerances.  Each seasonal value is a weighted mean of its phase's
 * values across cycles: the daily one over a loess window of 11 days
 * (about 7 days' worth of tricube weight, so a standard error near
 * SIGMA / sqrt(7) = 0.38), the weekly one over all 8 weeks (SIGMA /
 * sqrt(8) = 0.35) plus what the daily estimate leaves.  An RMS error of
 * 0.6 SIGMA per component allows half as much again.  The trend averages
 * a few hundred values, so its error is far below 0.3 SIGMA.
 */
#define SEASON_TOL (0.6 * SIGMA)
#define TREND_TOL (0.3 * SIGMA)

static void
test_components_recovered(void)
{
	double *y = malloc(N * sizeof *y), *seasons = malloc(2 * N * sizeof *seasons);
	double *trend = malloc(N * sizeof *trend);
	size_t periods[2] = { DAY, WEEK };

	make_series(y, N, 1);
	CHECK("decompose succeeds", pa_fcm_mstl_decompose(y, N, periods, 2, seasons, trend) == 0);
	CHECK("daily season recovered", rms_error(seasons, true_daily, N) < SEASON_TOL);
	CHECK("weekly season recovered", rms_error(seasons + N, true_weekly, N) < SEASON_TOL);
	CHECK("trend recovered", rms_trend_error(trend, N) < TREND_TOL);
	free(y);
	free(seasons);
	free(trend);
}

/*
 * Without the weekly period the daily decomposition's trend, a loess over
 * 43 hours, follows the weekday swing (RMS about 9 around the level).
 * With it the trend stays within the tolerance.
 */
static void
test_daily_only_misses_week(void)
{
	double *y = malloc(N * sizeof *y), *seasons = malloc(2 * N * sizeof *seasons);
	double *trend = malloc(N * sizeof *trend);
	size_t periods[2] = { DAY, WEEK };

	make_series(y, N, 2);
	CHECK("daily-only decompose succeeds",
	      pa_fcm_mstl_decompose(y, N, periods, 1, seasons, trend) == 0);
	CHECK("daily-only trend swings", rms_trend_error(trend, N) > 5 * SIGMA);
	CHECK("both-season decompose succeeds",
	      pa_fcm_mstl_decompose(y, N, periods, 2, seasons, trend) == 0);
	CHECK("two-season trend steady", rms_trend_error(trend, N) < TREND_TOL);
	free(y);
	free(seasons);
	free(trend);
}

/*
 * A week ahead, the forecast is nearer the noise-free truth than the
 * weekly seasonal naive forecast, whose error is one noise draw (RMS
 * SIGMA) where the decomposition averages eight weeks.
 */
static void
test_forecast_week(void)
{
	double *y = malloc(N * sizeof *y), mean[WEEK], sd[WEEK], naive_mean[WEEK], naive_sd[WEEK];
	struct pa_fcm_out out = { mean, sd, 0, 0 }, naive = { naive_mean, naive_sd, 0, 0 };
	struct pa_fcm_params params = { .valid = 0 };
	char why[PA_FC_REASON_MAX], name[PA_FC_NAME_MAX];
	double ss = 0, naive_ss = 0;

	make_series(y, N, 3);
	CHECK("mstl forecast succeeds", pa_fcm_mstl(y, N, DAY, WEEK, WEEK, &params, &out, why) == 0);
	CHECK("snaive forecast succeeds", pa_fcm_snaive(y, N, WEEK, WEEK, &naive, why) == 0);
	for (size_t h = 0; h < WEEK; h++) {
		double truth = 100 + true_daily(N + h) + true_weekly(N + h);

		ss += (mean[h] - truth) * (mean[h] - truth);
		naive_ss += (naive_mean[h] - truth) * (naive_mean[h] - truth);
	}
	CHECK("mstl forecast near truth", sqrt(ss / WEEK) < SEASON_TOL + TREND_TOL);
	CHECK("mstl beats weekly snaive", ss < naive_ss);
	CHECK("mstl sd positive", sd[0] > 0);
	CHECK("mstl sd grows", sd[WEEK - 1] >= sd[0]);
	CHECK("mstl parameters stored", params.valid);
	CHECK("mstl level model stored", params.adjusted != PA_FCM_ADJ_NONE);
	pa_fcm_mstl_format(DAY, WEEK, &params, name, sizeof name);
	CHECK("mstl name two seasons", strncmp(name, "mstl(p=24,168)+ets(A,", 21) == 0);
	free(y);
}

/* A steady climb makes the adjusted series trend, so the damped trend model is tried and wins. */
static void
test_trend_picks_damped(void)
{
	double *y = malloc(N * sizeof *y), mean[DAY], sd[DAY];
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	struct pa_fcm_params params = { .valid = 0 };
	char why[PA_FC_REASON_MAX], name[PA_FC_NAME_MAX];

	make_series(y, N, 4);
	for (size_t t = 0; t < N; t++)
		y[t] += 0.05 * (double)t;
	CHECK("trend forecast succeeds", pa_fcm_mstl(y, N, DAY, WEEK, DAY, &params, &out, why) == 0);
	CHECK("trend picks damped", params.adjusted == PA_FCM_ADJ_DAMPED);
	pa_fcm_mstl_format(DAY, WEEK, &params, name, sizeof name);
	CHECK_STR("trend model name", name, "mstl(p=24,168)+ets(A,Ad,N)");
	CHECK("trend forecast climbs", mean[DAY - 1] - true_daily(N + DAY - 1) >
	      mean[0] - true_daily(N));
	free(y);
}

/*
 * Unknown buckets: a random tenth of the values, a whole day, the first
 * and the last are NAN.  The components are still within the tolerance
 * above, and the forecast is finite and near the truth.
 */
static void
test_gaps(void)
{
	double *y = malloc(N * sizeof *y), *seasons = malloc(2 * N * sizeof *seasons);
	double *trend = malloc(N * sizeof *trend), mean[DAY], sd[DAY];
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	size_t periods[2] = { DAY, WEEK };
	char why[PA_FC_REASON_MAX];
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int finite = 1;

	make_series(y, N, 5);
	gsl_rng_set(rng, 9);
	for (size_t t = 0; t < N; t++)
		if (gsl_rng_uniform(rng) < 0.1)
			y[t] = NAN;
	gsl_rng_free(rng);
	for (size_t t = 3 * WEEK; t < 3 * WEEK + DAY; t++)
		y[t] = NAN;
	y[0] = NAN;
	y[N - 1] = NAN;
	CHECK("gaps decompose succeeds", pa_fcm_mstl_decompose(y, N, periods, 2, seasons, trend) == 0);
	CHECK("gaps daily season recovered", rms_error(seasons, true_daily, N) < SEASON_TOL);
	CHECK("gaps weekly season recovered", rms_error(seasons + N, true_weekly, N) < SEASON_TOL);
	CHECK("gaps forecast succeeds", pa_fcm_mstl(y, N, DAY, WEEK, DAY, NULL, &out, why) == 0);
	for (size_t h = 0; h < DAY; h++)
		finite = finite && isfinite(mean[h]) && isfinite(sd[h]);
	CHECK("gaps forecast finite", finite);
	CHECK("gaps forecast near truth",
	      fabs(mean[DAY / 4] - (100 + true_daily(N + DAY / 4) + true_weekly(N + DAY / 4))) < 3 * SIGMA);
	free(y);
	free(seasons);
	free(trend);
}

static void
test_all_unknown(void)
{
	double y[3 * DAY], seasons[3 * DAY], trend[3 * DAY];
	size_t period = DAY;

	for (size_t t = 0; t < 3 * DAY; t++)
		y[t] = NAN;
	CHECK("all unknown rejected", pa_fcm_mstl_decompose(y, 3 * DAY, &period, 1, seasons, trend) == -1);
}

static void
test_period_out_of_range(void)
{
	double y[DAY], seasons[DAY], trend[DAY];
	size_t period = DAY;

	for (size_t t = 0; t < DAY; t++)
		y[t] = (double)t;
	CHECK("period not below n rejected", pa_fcm_mstl_decompose(y, DAY, &period, 1, seasons, trend) == -1);
	period = 1;
	CHECK("period 1 rejected", pa_fcm_mstl_decompose(y, DAY, &period, 1, seasons, trend) == -1);
}

/*
 * Ten days of history are shorter than two weeks, so the named model keeps
 * the daily season, drops the weekly one and names the weekly one in the
 * reason.
 */
static void
test_short_history_drops_week(void)
{
	size_t n = 10 * DAY;
	double *y = malloc(n * sizeof *y);
	struct pa_fc_opts o;
	struct pa_fc_result r;

	make_series(y, n, 6);
	pa_fc_opts_default(&o);
	o.model = "mstl";
	o.period = DAY;
	o.period2 = WEEK;
	o.transform = PA_FC_TRANSFORM_NONE;
	CHECK("short forecast ok", pa_fc_forecast(y, n, DAY, &o, &r) == PA_FC_OK);
	CHECK("short model daily only", strncmp(r.model, "mstl(p=24)+ets(", 15) == 0);
	CHECK("short reason names week", strstr(r.reason, "2 periods of 168") != NULL);
	CHECK("short not a fallback", r.fallback == 0);
	pa_fc_result_free(&r);

	/*
	 * Under two days of history the daily season goes too, and a fallback
	 * without a season runs.
	 */
	o.period2 = 0;
	CHECK("tiny forecast ok", pa_fc_forecast(y, DAY + 5, DAY, &o, &r) == PA_FC_OK);
	CHECK("tiny model no season", strncmp(r.model, "ets(A,", 6) == 0);
	CHECK("tiny is fallback", r.fallback == 1);
	pa_fc_result_free(&r);
	free(y);
}

static void
test_constant(void)
{
	double y[4 * WEEK], mean[DAY], sd[DAY];
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX];
	int exact = 1;

	for (size_t t = 0; t < 4 * WEEK; t++)
		y[t] = 42;
	CHECK("constant forecast succeeds", pa_fcm_mstl(y, 4 * WEEK, DAY, WEEK, DAY, NULL, &out, why) == 0);
	for (size_t h = 0; h < DAY; h++)
		exact = exact && fabs(mean[h] - 42) < 1e-9 && sd[h] < 1e-6;
	CHECK("constant forecast flat", exact);
}

static void
test_all_zero(void)
{
	double y[4 * WEEK], mean[DAY], sd[DAY];
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	struct pa_fc_opts o;
	struct pa_fc_result r;
	char why[PA_FC_REASON_MAX];
	int zero = 1;

	memset(y, 0, sizeof y);
	CHECK("zero forecast succeeds", pa_fcm_mstl(y, 4 * WEEK, DAY, WEEK, DAY, NULL, &out, why) == 0);
	for (size_t h = 0; h < DAY; h++)
		zero = zero && fabs(mean[h]) < 1e-12 && sd[h] < 1e-12;
	CHECK("zero forecast zero", zero);

	pa_fc_opts_default(&o);
	o.model = "mstl";
	o.period = DAY;
	o.period2 = WEEK;
	CHECK("zero named forecast ok", pa_fc_forecast(y, 4 * WEEK, DAY, &o, &r) == PA_FC_OK);
	CHECK("zero named point zero", r.mean[0] == 0);
	CHECK("zero named lower zero", r.lower[0] == 0);
	pa_fc_result_free(&r);
}

/* A stored choice with an mstl model is read back with its second season and smoothing model. */
static void
test_reuse_spec(void)
{
	double *y = malloc(N * sizeof *y);
	struct pa_fc_opts o;
	struct pa_fc_result r;

	make_series(y, N, 7);
	pa_fc_opts_default(&o);
	o.period = DAY;
	o.period2 = WEEK;
	o.reuse = "v1 scale=1.5 mstl/24/1/0.3/0/0/1/168/1";
	CHECK("reuse forecast ok", pa_fc_forecast(y, N, DAY, &o, &r) == PA_FC_OK);
	CHECK("reuse used", r.reused == 1);
	CHECK_STR("reuse model", r.model, "mstl(p=24,168)+ets(A,N,N)+log1p");
	CHECK("reuse spec keeps week", strstr(r.spec, "/168/1") != NULL);
	pa_fc_result_free(&r);

	o.reuse = "v1 scale=1.5 mstl/24/1/0.3/0/0/1";
	CHECK("short spec forecast ok", pa_fc_forecast(y, N, DAY, &o, &r) == PA_FC_OK);
	CHECK("short spec not reused", r.reused == 0);
	pa_fc_result_free(&r);

	o.reuse = "v1 scale=1.5 mstl/24/1/0.3/0/0/1/168/7";
	CHECK("bad smoothing forecast ok", pa_fc_forecast(y, N, DAY, &o, &r) == PA_FC_OK);
	CHECK("bad smoothing not reused", r.reused == 0);
	pa_fc_result_free(&r);
	free(y);
}

/*
 * Given both seasons, eight weeks of history and a shape that no single
 * season carries, the automatic choice picks the decomposition, and its
 * stored choice forecasts the same bits again.
 */
static void
test_auto_spec_round_trip(void)
{
	double *y = malloc(N * sizeof *y);
	struct pa_fc_opts o;
	struct pa_fc_result first, again;
	int same = 1;

	make_series(y, N, 8);
	pa_fc_opts_default(&o);
	o.period = DAY;
	o.period2 = WEEK;
	CHECK("auto forecast ok", pa_fc_forecast(y, N, DAY, &o, &first) == PA_FC_OK);
	CHECK("auto picks mstl", strncmp(first.model, "mstl(p=24,168)+ets(A,", 21) == 0);
	CHECK("auto spec names mstl", strstr(first.spec, " mstl/24/") != NULL);
	o.reuse = first.spec;
	CHECK("auto reuse ok", pa_fc_forecast(y, N, DAY, &o, &again) == PA_FC_OK);
	CHECK("auto reuse used", again.reused == 1);
	for (size_t h = 0; h < DAY; h++)
		same = same && first.mean[h] == again.mean[h] && first.upper[h] == again.upper[h];
	CHECK("auto reuse same forecast", same);
	CHECK_STR("auto reuse same model", again.model, first.model);
	pa_fc_result_free(&first);
	pa_fc_result_free(&again);
	free(y);
}

static void
test_format_names(void)
{
	struct pa_fcm_params damped = { .valid = 1, .adjusted = PA_FCM_ADJ_DAMPED };
	char name[PA_FC_NAME_MAX];

	pa_fcm_mstl_format(48, 336, NULL, name, sizeof name);
	CHECK_STR("format two seasons", name, "mstl(p=48,336)+ets(A,N,N)");
	pa_fcm_mstl_format(336, 48, &damped, name, sizeof name);
	CHECK_STR("format sorts seasons", name, "mstl(p=48,336)+ets(A,Ad,N)");
	pa_fcm_mstl_format(24, 0, NULL, name, sizeof name);
	CHECK_STR("format one season", name, "mstl(p=24)+ets(A,N,N)");
	pa_fcm_mstl_format(0, 168, NULL, name, sizeof name);
	CHECK_STR("format second season alone", name, "mstl(p=168)+ets(A,N,N)");
	pa_fcm_mstl_format(0, 0, &damped, name, sizeof name);
	CHECK_STR("format no season", name, "ets(A,Ad,N)");
}

static void
test_model_known(void)
{
	CHECK("mstl is known", pa_fc_model_known("mstl"));
}

int
main(void)
{
	test_components_recovered();
	test_daily_only_misses_week();
	test_forecast_week();
	test_trend_picks_damped();
	test_gaps();
	test_all_unknown();
	test_period_out_of_range();
	test_short_history_drops_week();
	test_constant();
	test_all_zero();
	test_reuse_spec();
	test_auto_spec_round_trip();
	test_format_names();
	test_model_known();
	return unit_status();
}
