/* Unit tests for the forecast models, fallbacks and intervals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast.h"
#include "unit.h"

/* A deterministic pseudo-random stream so the tests never vary. */
static unsigned long rng_state = 12345;

static double
noise(void)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return ((double)(rng_state >> 33) / (double)(1UL << 31)) - 0.5;
}

static double
daily_shape(size_t t, size_t period)
{
	return 100 + 40 * sin(2 * M_PI * (double)(t % period) / (double)period);
}

static int
all_finite(const struct pa_fc_result *r)
{
	for (size_t k = 0; k < r->horizon; k++)
		if (!isfinite(r->mean[k]) || !isfinite(r->lower[k]) || !isfinite(r->upper[k]))
			return 0;
	return 1;
}

static int
bounds_ordered(const struct pa_fc_result *r)
{
	for (size_t k = 0; k < r->horizon; k++)
		if (!(r->lower[k] <= r->mean[k] && r->mean[k] <= r->upper[k]))
			return 0;
	return 1;
}

static void
test_snaive_exact(void)
{
	double y[48];
	struct pa_fc_opts o;
	struct pa_fc_result r;
	int rc;

	for (size_t t = 0; t < 48; t++)
		y[t] = daily_shape(t, 24);
	pa_fc_opts_default(&o);
	o.period = 24;
	o.model = "snaive";
	rc = pa_fc_forecast(y, 48, 30, &o, &r);
	CHECK("snaive status", rc == PA_FC_OK);
	CHECK_STR("snaive name", r.model, "snaive(p=24)");
	CHECK_NEAR("snaive repeats phase 0", r.mean[0], y[24], 1e-9);
	CHECK_NEAR("snaive repeats phase 29", r.mean[29], y[29], 1e-9);
	CHECK("snaive bounds ordered", bounds_ordered(&r));
	pa_fc_result_free(&r);
}

static void
test_hw_tracks_season(void)
{
	size_t n = 24 * 14, h = 24;
	double *y = malloc((n + h) * sizeof *y), worst = 0;
	struct pa_fc_opts o;
	struct pa_fc_result r;

	for (size_t t = 0; t < n + h; t++)
		y[t] = daily_shape(t, 24) + 0.2 * (double)t + 4 * noise();
	pa_fc_opts_default(&o);
	o.period = 24;
	o.model = "hw";
	o.counts = 0;		/* else the Poisson floor hides the model's own widening */
	CHECK("hw status", pa_fc_forecast(y, n, h, &o, &r) == PA_FC_OK);
	CHECK_STR("hw name", r.model, "hw(p=24)");
	for (size_t k = 0; k < h; k++)
		worst = fmax(worst, fabs(r.mean[k] - (y[n + k])));
	CHECK("hw error below 15", worst < 15);
	CHECK("hw sigma above 0.5", r.sigma > 0.5);
	CHECK("hw sigma below 3", r.sigma < 3);
	CHECK("hw finite", all_finite(&r));
	CHECK("hw bounds ordered", bounds_ordered(&r));
	CHECK("hw interval widens", r.upper[h - 1] - r.lower[h - 1] > r.upper[0] - r.lower[0]);
	pa_fc_result_free(&r);
	free(y);
}

static void
test_auto_picks_seasonal(void)
{
	size_t n = 24 * 10;
	double *y = malloc(n * sizeof *y);
	struct pa_fc_opts o;
	struct pa_fc_result r;

	for (size_t t = 0; t < n; t++)
		y[t] = daily_shape(t, 24) + 2 * noise();
	pa_fc_opts_default(&o);
	o.period = 24;
	CHECK("auto status", pa_fc_forecast(y, n, 24, &o, &r) == PA_FC_OK);
	CHECK("auto seasonal model", strstr(r.model, "p=24") != NULL);
	CHECK("auto reason given", strstr(r.reason, "hold-out") != NULL);
	CHECK("auto not fallback", r.fallback == 0);
	pa_fc_result_free(&r);
	free(y);
}

static void
test_flat_series(void)
{
	double zeros[12] = { 0 }, fives[12];
	struct pa_fc_opts o;
	struct pa_fc_result r;

	for (size_t i = 0; i < 12; i++)
		fives[i] = 5;
	pa_fc_opts_default(&o);
	o.period = 24;
	CHECK("zeros status", pa_fc_forecast(zeros, 12, 6, &o, &r) == PA_FC_OK);
	CHECK_NEAR("zeros mean", r.mean[5], 0, 0);
	CHECK_NEAR("zeros lower", r.lower[5], 0, 0);
	CHECK("zeros upper finite", isfinite(r.upper[5]));
	CHECK("zeros upper not negative", r.upper[5] >= 0);
	CHECK_STR("zeros reason", r.reason, "history has zero variance");
	pa_fc_result_free(&r);

	CHECK("fives status", pa_fc_forecast(fives, 12, 6, &o, &r) == PA_FC_OK);
	CHECK_NEAR("fives mean", r.mean[0], 5, 0);
	CHECK("fives lower below 5", r.lower[0] < 5);
	CHECK("fives upper above 5", r.upper[0] > 5);
	CHECK("fives lower not negative", r.lower[0] >= 0);
	pa_fc_result_free(&r);
}

static void
test_short_histories(void)
{
	double one = 17, none[2] = { NAN, NAN };
	struct pa_fc_opts o;
	struct pa_fc_result r;

	pa_fc_opts_default(&o);
	o.period = 24;
	CHECK("one point status", pa_fc_forecast(&one, 1, 6, &o, &r) == PA_FC_OK);
	CHECK_NEAR("one point mean", r.mean[0], 17, 0);
	CHECK("one point wide", r.upper[0] - r.lower[0] >= 17);
	CHECK_STR("one point reason", r.reason, "history of 1 known value");
	pa_fc_result_free(&r);

	CHECK("no data status", pa_fc_forecast(none, 2, 6, &o, &r) == PA_FC_NO_DATA);
	CHECK("no data mean null", r.mean == NULL);
	CHECK("no data lower null", r.lower == NULL);
	CHECK("no data reason", strlen(r.reason) > 0);
}

static void
test_fallback_and_bad_model(void)
{
	double y[12] = { 40, 44, 39, 47, 52, 49, 55, 58, 53, 60, 62, 57 };
	struct pa_fc_opts o;
	struct pa_fc_result r;

	pa_fc_opts_default(&o);
	o.period = 24;
	o.model = "hw";
	CHECK("short hw status", pa_fc_forecast(y, 12, 6, &o, &r) == PA_FC_OK);
	CHECK("short hw fallback", r.fallback == 1);
	CHECK_STR("short hw model", r.model, "holt");
	CHECK("short hw reason names period", strstr(r.reason, "24") != NULL);
	pa_fc_result_free(&r);

	o.model = "prophet";
	CHECK("bad model status", pa_fc_forecast(y, 12, 6, &o, &r) == PA_FC_BAD_MODEL);
	CHECK("bad model known", !pa_fc_model_known("prophet"));
	CHECK("good model known", pa_fc_model_known("hw-damped"));
}

static void
test_counts_not_negative(void)
{
	double y[20];
	struct pa_fc_opts o;
	struct pa_fc_result r;
	int ok = 1;

	for (size_t i = 0; i < 20; i++)
		y[i] = 100 - 5 * (double)i;
	pa_fc_opts_default(&o);
	o.model = "drift";
	CHECK("decline status", pa_fc_forecast(y, 20, 40, &o, &r) == PA_FC_OK);
	for (size_t k = 0; k < 40; k++)
		if (r.mean[k] < 0 || r.lower[k] < 0)
			ok = 0;
	CHECK("decline clamped at zero", ok);
	pa_fc_result_free(&r);
}

static void
test_non_count_not_negative(void)
{
	double y[20];
	struct pa_fc_opts o;
	struct pa_fc_result r;
	int ok = 1;

	for (size_t i = 0; i < 20; i++)
		y[i] = 1.0 - 0.05 * (double)i + 0.01 * (double)(i % 3);
	pa_fc_opts_default(&o);
	o.counts = 0;
	o.transform = PA_FC_TRANSFORM_NONE;
	o.model = "drift";
	CHECK("complexity decline status", pa_fc_forecast(y, 20, 40, &o, &r) == PA_FC_OK);
	for (size_t k = 0; k < 40; k++)
		if (r.mean[k] < 0 || r.lower[k] < 0)
			ok = 0;
	CHECK("complexity clamped at zero", ok);
	pa_fc_result_free(&r);
}

static void
test_croston_intermittent(void)
{
	double y[80] = { 0 };
	struct pa_fc_opts o;
	struct pa_fc_result r;

	/* A demand of 8 every fourth bucket: a rate of 2 per bucket. */
	for (size_t i = 3; i < 80; i += 4)
		y[i] = 8;
	pa_fc_opts_default(&o);
	o.model = "croston";
	o.transform = PA_FC_TRANSFORM_NONE;
	CHECK("croston status", pa_fc_forecast(y, 80, 5, &o, &r) == PA_FC_OK);
	CHECK_STR("croston name", r.model, "croston");
	/* SBA deflates the rate by 1 - alpha/2 = 0.95. */
	CHECK_NEAR("croston rate", r.mean[0], 2 * 0.95, 0.01);
	CHECK("croston flat", r.mean[4] == r.mean[0]);
	CHECK("croston lower zero", r.lower[0] == 0);
	pa_fc_result_free(&r);

	y[3] = 0;
	for (size_t i = 4; i < 80; i++)
		y[i] = 0;
	y[40] = 3;
	CHECK("croston one demand falls back", pa_fc_forecast(y, 80, 5, &o, &r) == PA_FC_OK);
	CHECK("croston fallback flagged", r.fallback == 1);
	pa_fc_result_free(&r);
}

static void
test_unknown_buckets(void)
{
	size_t n = 24 * 4;
	double *y = malloc(n * sizeof *y);
	struct pa_fc_opts o;
	struct pa_fc_result a, b;

	for (size_t t = 0; t < n; t++)
		y[t] = (t % 24 >= 8 && t % 24 < 20) ? daily_shape(t, 24) : NAN;
	pa_fc_opts_default(&o);
	o.period = 24;
	CHECK("gappy status", pa_fc_forecast(y, n, 24, &o, &a) == PA_FC_OK);
	CHECK("gappy finite", all_finite(&a));
	CHECK("gappy ordered", bounds_ordered(&a));
	CHECK("gappy repeat status", pa_fc_forecast(y, n, 24, &o, &b) == PA_FC_OK);
	CHECK("gappy deterministic", memcmp(a.mean, b.mean, 24 * sizeof *a.mean) == 0 &&
					     memcmp(a.upper, b.upper, 24 * sizeof *a.upper) == 0);
	pa_fc_result_free(&a);
	pa_fc_result_free(&b);
	free(y);
}

static void
test_log1p_transform(void)
{
	size_t n = 24 * 7;
	double *y = malloc(n * sizeof *y);
	struct pa_fc_opts o;
	struct pa_fc_result r;

	for (size_t t = 0; t < n; t++)
		y[t] = exp(2 + 2 * sin(2 * M_PI * (double)(t % 24) / 24)) + noise();
	pa_fc_opts_default(&o);
	o.period = 24;
	o.transform = 1;
	o.model = "snaive";
	CHECK("log1p status", pa_fc_forecast(y, n, 24, &o, &r) == PA_FC_OK);
	CHECK_NEAR("log1p maps back", r.mean[3], y[n - 24 + 3], 1e-6);
	CHECK("log1p ordered", bounds_ordered(&r));
	pa_fc_result_free(&r);
	free(y);
}

int
main(void)
{
	test_snaive_exact();
	test_hw_tracks_season();
	test_auto_picks_seasonal();
	test_flat_series();
	test_short_histories();
	test_fallback_and_bad_model();
	test_counts_not_negative();
	test_non_count_not_negative();
	test_croston_intermittent();
	test_unknown_buckets();
	test_log1p_transform();
	return unit_status();
}
