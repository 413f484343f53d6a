/* Unit tests for Fourier seasons with ARIMA errors: fit, bursts, reuse, gaps and limits. */
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
#define WEEKS 4
#define N (WEEKS * WEEK)
#define H DAY
#define SIGMA 1.0

/* Two daily harmonics and one weekly one: shapes the model can represent exactly. */
static double
seasons_at(size_t t)
{
	double day = 2 * M_PI * (double)(t % DAY) / DAY, week = 2 * M_PI * (double)(t % WEEK) / WEEK;

	return 20 * sin(day) + 6 * cos(2 * day) + 8 * sin(week);
}

/*
 * A level of 100 that drifts by a random walk of steps SIGMA / 4, the
 * seasons and Gaussian noise of SIGMA, from a fixed-seed generator.  The
 * level at the last step goes to *level_end.
 */
static void
make_series(double *y, size_t n, unsigned long seed, double *level_end)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	double level = 100;

	gsl_rng_set(rng, seed);
	for (size_t t = 0; t < n; t++) {
		level += gsl_ran_gaussian(rng, SIGMA / 4);
		y[t] = level + seasons_at(t) + gsl_ran_gaussian(rng, SIGMA);
	}
	*level_end = level;
	gsl_rng_free(rng);
}

/* RMS of the forecast against the level at the end plus the seasons ahead. */
static double
rms_error(const double *mean, size_t n, double level_end)
{
	double ss = 0;

	for (size_t k = 0; k < H; k++) {
		double want = level_end + seasons_at(n + k);

		ss += (mean[k] - want) * (mean[k] - want);
	}
	return sqrt(ss / H);
}

/*
 * The forecast follows the seasons and the level at the end.  Its error
 * comes from the estimate of that level, about SIGMA, and from the
 * coefficients, so 2 SIGMA leaves ample room (0.18 with this seed).
 */
static void
test_forecast_follows_seasons(void)
{
	double y[N], mean[H], sd[H], level_end;
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	struct pa_fcm_params params = { 0 };
	char why[PA_FC_REASON_MAX] = "";

	make_series(y, N, 1, &level_end);
	CHECK("fourier fits", pa_fcm_fourier(y, N, DAY, WEEK, H, &params, &out, why) == 0);
	CHECK("forecast near truth", rms_error(mean, N, level_end) < 2 * SIGMA);
	CHECK("daily harmonics cover the shape", params.harmonics[0] >= 2);
	CHECK("weekly harmonic found", params.harmonics[1] >= 1);
	CHECK("errors fitted", params.arima.state == PA_FCM_ARIMA_FITTED);
	CHECK("errors non-seasonal", params.arima.period == 0);
	CHECK("interval positive", sd[0] > 0);
	CHECK("interval widens", sd[H - 1] >= sd[0]);
}

/*
 * RMS of the forecast's daily shape, each step less the horizon's mean,
 * against the true one.  The level is left out, because how far a burst
 * moves it depends on the ARIMA part.
 */
static double
rms_shape_error(const double *mean, size_t n)
{
	double got = 0, want = 0, ss = 0;

	for (size_t k = 0; k < H; k++) {
		got += mean[k] / H;
		want += seasons_at(n + k) / H;
	}
	for (size_t k = 0; k < H; k++) {
		double e = (mean[k] - got) - (seasons_at(n + k) - want);

		ss += e * e;
	}
	return sqrt(ss / H);
}

/*
 * A burst of 50 SIGMA over three steps ends ten steps before the end of
 * the history.  The Fourier coefficients rest on four weeks of
 * differences, so the shape forecast stays within 2 SIGMA of the true
 * one (0.86 with this seed, 0.30 without the burst).
 */
static void
test_burst_keeps_shape(void)
{
	double y[N], mean[H], sd[H], level_end;
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX] = "";

	make_series(y, N, 2, &level_end);
	for (size_t t = N - 10; t < N - 7; t++)
		y[t] += 50 * SIGMA;
	CHECK("fourier fits after a burst", pa_fcm_fourier(y, N, DAY, WEEK, H, NULL, &out, why) == 0);
	CHECK("burst keeps the daily shape", rms_shape_error(mean, N) < 2 * SIGMA);
}

/*
 * A burst in the last bucket is one difference with nothing after it to
 * cancel it.  Unclipped, it bent the seasons so far that the errors
 * passed for a random walk, and the forecast stayed at the burst for the
 * whole horizon.  A day later the forecast must be back near the truth.
 * The noise is a fast sine, so the errors are plainly stationary.
 */
static void
test_burst_in_last_bucket(void)
{
	double y[N], mean[H], sd[H], level_end;
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX] = "";

	/* A steady level, so that nothing but the burst could move it. */
	for (size_t t = 0; t < N; t++)
		y[t] = 100 + seasons_at(t) + SIGMA * sin(7.3 * (double)t);
	level_end = 100;
	y[N - 1] += 500 * SIGMA;
	CHECK("fourier fits a last burst", pa_fcm_fourier(y, N, DAY, WEEK, H, NULL, &out, why) == 0);
	CHECK("last burst gone a day later",
	      fabs(mean[H - 1] - (level_end + seasons_at(N + H - 1))) < 10 * SIGMA);
}

/* Kept harmonics and ARIMA coefficients give the same forecast from the same history. */
static void
test_reuse_same_forecast(void)
{
	double y[N], first[H], again[H], sd[H], level_end;
	struct pa_fcm_out out = { first, sd, 0, 0 };
	struct pa_fcm_params params = { 0 }, first_params;
	char why[PA_FC_REASON_MAX] = "";
	int same = 1;

	make_series(y, N, 3, &level_end);
	CHECK("first fit", pa_fcm_fourier(y, N, DAY, WEEK, H, &params, &out, why) == 0);
	first_params = params;
	out.mean = again;
	CHECK("reused fit", pa_fcm_fourier(y, N, DAY, WEEK, H, &params, &out, why) == 0);
	for (size_t k = 0; k < H; k++)
		same &= fabs(first[k] - again[k]) <= 1e-9 * fabs(first[k]);
	CHECK("reuse same forecast", same);
	CHECK("reuse same daily harmonics", params.harmonics[0] == first_params.harmonics[0]);
	CHECK("reuse same weekly harmonics", params.harmonics[1] == first_params.harmonics[1]);
	CHECK("reuse same AR order", params.arima.p == first_params.arima.p);
	CHECK("reuse same MA order", params.arima.q == first_params.arima.q);
}

/* Unknown values inside the history drop their differences; the forecast stays close. */
static void
test_unknown_values(void)
{
	double y[N], mean[H], sd[H], level_end;
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	char why[PA_FC_REASON_MAX] = "";

	make_series(y, N, 4, &level_end);
	for (size_t t = 50; t < N - DAY; t += 37)
		y[t] = NAN;
	for (size_t t = 300; t < 330; t++)
		y[t] = NAN;
	CHECK("fits with gaps", pa_fcm_fourier(y, N, DAY, WEEK, H, NULL, &out, why) == 0);
	CHECK("forecast with gaps near truth", rms_error(mean, N, level_end) < 2 * SIGMA);
}

/*
 * A second season that the history does not cover twice is left out, and
 * a history without two cycles of a season of three steps or more is
 * rejected with a reason.
 */
static void
test_seasons_the_history_holds(void)
{
	double y[N], mean[H], sd[H], level_end;
	struct pa_fcm_out out = { mean, sd, 0, 0 };
	struct pa_fcm_params params = { 0 };
	char why[PA_FC_REASON_MAX] = "", name[96];

	make_series(y, N, 5, &level_end);
	CHECK("week left out of 10 days",
	      pa_fcm_fourier(y, 10 * DAY, DAY, WEEK, H, &params, &out, why) == 0);
	CHECK("no weekly harmonics", params.harmonics[1] == 0);
	pa_fcm_fourier_format(DAY, 0, &params, name, sizeof name);
	CHECK("name starts with the day", strncmp(name, "fourier(p=24:", 13) == 0);
	CHECK("name without the week", strstr(name, ",168") == NULL);
	CHECK("name with the errors", strstr(name, ")+arima(") != NULL);

	CHECK("one day rejected", pa_fcm_fourier(y, DAY, DAY, 0, H, NULL, &out, why) == -1);
	CHECK_STR("one day reason", why, "history of 24 shorter than 2 periods of 24");
	CHECK("no season rejected", pa_fcm_fourier(y, N, 0, 0, H, NULL, &out, why) == -1);
	CHECK("no season reason", strncmp(why, "no season to fit", 16) == 0);
	CHECK("period 2 rejected", pa_fcm_fourier(y, N, 2, 0, H, NULL, &out, why) == -1);
	CHECK("period 2 reason", strstr(why, "season of 2 steps") != NULL);

	/* A main season of 2 steps is left out and the second one takes its place. */
	memset(&params, 0, sizeof params);
	CHECK("period 2 with a week", pa_fcm_fourier(y, N, 2, WEEK, H, &params, &out, why) == 0);
	CHECK("week in the main place", params.harmonics[0] > 0);
	CHECK("no second season", params.harmonics[1] == 0);
	pa_fcm_fourier_format(2, WEEK, &params, name, sizeof name);
	CHECK("name with the week alone", strncmp(name, "fourier(p=168:", 14) == 0);

	/* Every other bucket unknown leaves no first difference. */
	for (size_t t = 0; t < N; t += 2)
		y[t] = NAN;
	CHECK("no adjacent pair rejected", pa_fcm_fourier(y, N, DAY, WEEK, H, NULL, &out, why) == -1);
	CHECK("no adjacent pair reason", strncmp(why, "0 pairs of adjacent known buckets", 33) == 0);
}

static void
test_harmonics_text(void)
{
	struct pa_fcm_params p = { 0 };
	char text[32];

	p.harmonics[0] = 4;
	p.harmonics[1] = 6;
	pa_fcm_fourier_encode(&p, text, sizeof text);
	CHECK_STR("encode harmonics", text, "4,6");
	p.harmonics[0] = p.harmonics[1] = 0;
	CHECK("decode harmonics", pa_fcm_fourier_decode("4,6", &p) == 0);
	CHECK("decode main pairs", p.harmonics[0] == 4);
	CHECK("decode second pairs", p.harmonics[1] == 6);
	CHECK("decode too many", pa_fcm_fourier_decode("11,2", &p) == -1);
	CHECK("decode sign", pa_fcm_fourier_decode("-1,2", &p) == -1);
	CHECK("decode trailing", pa_fcm_fourier_decode("3,2,1", &p) == -1);
	CHECK("decode one", pa_fcm_fourier_decode("3", &p) == -1);
	CHECK("decode no main pairs", pa_fcm_fourier_decode("0,2", &p) == -1);
	CHECK("decode failure keeps main", p.harmonics[0] == 4);
	CHECK("decode failure keeps second", p.harmonics[1] == 6);
}

/* A kept choice with the Fourier model is reused, with and without its ARIMA field. */
static void
test_spec_reused(void)
{
	double y[N], level_end;
	struct pa_fc_opts o;
	struct pa_fc_result r;

	make_series(y, N, 6, &level_end);
	pa_fc_opts_default(&o);
	o.period = DAY;
	o.period2 = WEEK;

	o.reuse = "v1 scale=1 fourier/24/1/0/0/0/0/168/3,2";
	CHECK("spec status", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("spec reused", r.reused == 1);
	CHECK("spec harmonics kept", strncmp(r.model, "fourier(p=24:3,168:2)+arima(", 28) == 0);
	CHECK("spec log1p", strstr(r.model, "+log1p") != NULL);
	pa_fc_result_free(&r);

	o.reuse = "v1 scale=1 fourier/24/1/0/0/0/0/168/3,2/1,1,1,0,0,0,0,0,0.3,-0.5";
	CHECK("spec with errors status", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("spec with errors reused", r.reused == 1);
	CHECK_STR("spec with errors kept", r.model, "fourier(p=24:3,168:2)+arima(1,1,1)+log1p");
	pa_fc_result_free(&r);

	o.reuse = "v1 scale=1 fourier/24/1/0/0/0/0/168/3,x";
	CHECK("bad harmonics status", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("bad harmonics searched afresh", r.reused == 0);
	pa_fc_result_free(&r);

	o.reuse = "v1 scale=1 fourier/24/1/0/0/0/0/168/3,2/1,1,1,0,0,0,0,0,0.3,-0.5/7";
	CHECK("eleventh field status", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("eleventh field searched afresh", r.reused == 0);
	pa_fc_result_free(&r);

	/* The scale stays within the bounds the automatic choice keeps it in. */
	o.reuse = "v1 scale=0 fourier/24/1/0/0/0/0/168/3,2";
	CHECK("scale 0 status", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("scale 0 searched afresh", r.reused == 0);
	pa_fc_result_free(&r);
	o.reuse = "v1 scale=1e300 fourier/24/1/0/0/0/0/168/3,2";
	CHECK("scale 1e300 status", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("scale 1e300 searched afresh", r.reused == 0);
	pa_fc_result_free(&r);

	/*
	 * A kept average runs whole or not at all: with d = 3, beyond what
	 * an ARIMA may have, its Fourier member fails, and the choice is
	 * searched afresh instead of going on with the seasonal naive alone.
	 */
	o.reuse = "v1 scale=1 fourier/24/1/0/0/0/0/168/3,2/1,1,1,0,0,0,0,0,0.3,-0.5 snaive/24/0/0/0/0/0";
	CHECK("kept average status", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("kept average reused", r.reused == 1);
	CHECK("kept average both", strncmp(r.model, "mean(fourier(p=24:3,168:2)", 26) == 0);
	pa_fc_result_free(&r);
	o.reuse = "v1 scale=1 fourier/24/1/0/0/0/0/168/3,2/1,3,1,0,0,0,0,0,0.3,-0.5 snaive/24/0/0/0/0/0";
	CHECK("broken member status", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("broken member searched afresh", r.reused == 0);
	pa_fc_result_free(&r);
}

/* --model fourier by name, and the automatic choice's round trip through its spec. */
static void
test_named_and_auto(void)
{
	double y[N], level_end;
	struct pa_fc_opts o;
	struct pa_fc_result first, again;
	int same = 1;

	make_series(y, N, 7, &level_end);
	CHECK("model known", pa_fc_model_known("fourier"));
	CHECK("model seasonal", pa_fc_model_seasonal("fourier"));
	pa_fc_opts_default(&o);
	o.period = DAY;
	o.period2 = WEEK;
	o.model = "fourier";
	CHECK("named status", pa_fc_forecast(y, N, H, &o, &first) == PA_FC_OK);
	CHECK("named model", strncmp(first.model, "fourier(p=24:", 13) == 0);
	CHECK("named not a fallback", first.fallback == 0);
	pa_fc_result_free(&first);

	o.model = "auto";
	CHECK("auto status", pa_fc_forecast(y, N, H, &o, &first) == PA_FC_OK);
	o.reuse = first.spec;
	CHECK("auto reuse status", pa_fc_forecast(y, N, H, &o, &again) == PA_FC_OK);
	CHECK("auto reused", again.reused == 1);
	for (size_t k = 0; k < H; k++)
		same &= again.mean[k] == first.mean[k];
	CHECK("auto reuse same forecast", same);
	pa_fc_result_free(&first);
	pa_fc_result_free(&again);
}

int
main(void)
{
	test_forecast_follows_seasons();
	test_burst_keeps_shape();
	test_burst_in_last_bucket();
	test_reuse_same_forecast();
	test_unknown_values();
	test_seasons_the_history_holds();
	test_harmonics_text();
	test_spec_reused();
	test_named_and_auto();
	return unit_status();
}
