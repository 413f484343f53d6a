/* Unit tests for the regression model: trend changes, seasons and regressors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "forecast.h"
#include "unit.h"

#define N 480
#define H 24
#define PERIOD 24
#define EFFECT 30.0

/*
 * Slope 0.1 per step, changing to 0.4 at step 240, a daily shape of two
 * harmonics, and +30 in event windows of 3 steps every 40 steps, with
 * Gaussian noise of standard deviation 2.
 */
static double
truth(size_t t, double event)
{
	double trend = 100 + 0.1 * (double)t + (t > 240 ? 0.3 * (double)(t - 240) : 0);
	double angle = 2 * M_PI * (double)(t % PERIOD) / PERIOD;

	return trend + 20 * sin(angle) + 10 * cos(2 * angle) + EFFECT * event;
}

static double
event_at(size_t t)
{
	return t % 40 >= 10 && t % 40 < 13 ? 1 : 0;
}

static void
make_series(double *y, double *x)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(rng, 42);
	for (size_t t = 0; t < N + H; t++) {
		x[t] = event_at(t);
		if (t < N)
			y[t] = truth(t, x[t]) + gsl_ran_gaussian(rng, 2);
	}
	gsl_rng_free(rng);
}

static void
regress_opts(struct pa_fc_opts *o, const struct pa_fc_regressors *rx)
{
	pa_fc_opts_default(o);
	o->model = "regress";
	o->period = PERIOD;
	o->transform = PA_FC_TRANSFORM_NONE;
	o->counts = 0;
	o->nonnegative = 0;
	o->regressors = rx;
}

static void
test_recovers_effect_and_trend(void)
{
	double y[N], x[N + H];
	size_t lead = PA_FC_LEAD_ALWAYS;
	struct pa_fc_regressors rx = { 1, x, &lead, NULL };
	struct pa_fc_opts o;
	struct pa_fc_result r;
	double worst = 0, base = 0;
	size_t windows = 0;

	make_series(y, x);
	for (size_t t = 0; t < N; t++) {
		if (x[t] == 0)
			continue;
		base += truth(t, 0);
		windows++;
	}
	base /= (double)windows;
	regress_opts(&o, &rx);
	CHECK("regress runs", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("regress no fallback", r.fallback == 0);
	CHECK("regress model name", strncmp(r.model, "regress(p=24", 12) == 0);
	CHECK("effects filled", r.effects != NULL);
	CHECK("effect used", r.effects[0].used);
	CHECK_NEAR("effect near 30", r.effects[0].coef, EFFECT, 2.0);
	CHECK("effect lower below 30", r.effects[0].lower < EFFECT);
	CHECK("effect upper above 30", r.effects[0].upper > EFFECT);
	CHECK("effect interval excludes 0", r.effects[0].lower > 0);
	CHECK("effect on every step", r.effects[0].steps == H);
	CHECK_NEAR("effect base near baseline", r.effects[0].base, base, 2.0);
	for (size_t k = 0; k < H; k++) {
		double err = fabs(r.mean[k] - truth(N + k, x[N + k]));

		worst = err > worst ? err : worst;
	}
	/*
	 * The slope after the change is 0.4, and a forecast that kept the slope
	 * of 0.1 would be off by 0.3 * 240 = 72 at the end of the history.
	 */
	CHECK("forecast follows trend change", worst < 8);
	CHECK("lower below forecast", r.lower[0] < r.mean[0]);
	CHECK("upper above forecast", r.upper[0] > r.mean[0]);
	CHECK("interval widens", r.upper[H - 1] - r.lower[H - 1] >= r.upper[0] - r.lower[0]);
	pa_fc_result_free(&r);
}

static void
test_deterministic(void)
{
	double y[N], x[N + H];
	size_t lead = PA_FC_LEAD_ALWAYS;
	struct pa_fc_regressors rx = { 1, x, &lead, NULL };
	struct pa_fc_opts o;
	struct pa_fc_result a, b;

	make_series(y, x);
	regress_opts(&o, &rx);
	pa_fc_forecast(y, N, H, &o, &a);
	pa_fc_forecast(y, N, H, &o, &b);
	CHECK("regress deterministic", memcmp(a.mean, b.mean, H * sizeof *a.mean) == 0);
	pa_fc_result_free(&a);
	pa_fc_result_free(&b);
}

/* A stream taken 3 steps back helps the first 3 steps only. */
static void
test_lagged_stream_steps(void)
{
	double y[N], x[N + H], stream[N + H];
	size_t lead = 3;
	struct pa_fc_regressors rx = { 1, x, &lead, NULL };
	struct pa_fc_opts o;
	struct pa_fc_result r;

	make_series(y, stream);
	for (size_t t = 0; t < N + H; t++)
		x[t] = t >= 3 && t - 3 < N ? sin((double)(t - 3) * 0.37) : NAN;
	for (size_t t = 3; t < N; t++)
		y[t] += 15 * x[t];
	regress_opts(&o, &rx);
	CHECK("lagged runs", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("lagged used", r.effects[0].used);
	CHECK_NEAR("lagged effect near 15", r.effects[0].coef, 15, 3);
	CHECK("lagged helps 3 steps", r.effects[0].steps == 3);
	pa_fc_result_free(&r);
}

/* A stream that ends before the history does is fitted but informs no forecast step. */
static void
test_stream_ends_early(void)
{
	double y[N], x[N + H], events[N + H];
	size_t lead = 2;
	struct pa_fc_regressors rx = { 1, x, &lead, NULL };
	struct pa_fc_opts o;
	struct pa_fc_result r;

	make_series(y, events);
	for (size_t t = 0; t < N + H; t++)
		x[t] = t < N - 50 ? cos((double)t * 0.21) : NAN;
	regress_opts(&o, &rx);
	CHECK("early end runs", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("early end fitted", r.effects[0].used);
	CHECK("early end helps no step", r.effects[0].steps == 0);
	CHECK("early end finite", isfinite(r.mean[H - 1]));
	pa_fc_result_free(&r);
}

/* An event type whose windows all lie in the future has no estimate. */
static void
test_no_past_window(void)
{
	double y[N], x[N + H], events[N + H];
	size_t lead = PA_FC_LEAD_ALWAYS;
	struct pa_fc_regressors rx = { 1, x, &lead, NULL };
	struct pa_fc_opts o;
	struct pa_fc_result r;

	make_series(y, events);
	for (size_t t = 0; t < N + H; t++)
		x[t] = t >= N + 5 && t < N + 8 ? 1 : 0;
	regress_opts(&o, &rx);
	CHECK("future-only runs", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("future-only not used", r.effects[0].used == 0);
	CHECK("future-only no step", r.effects[0].steps == 0);
	pa_fc_result_free(&r);
}

/*
 * With too short a history for the coefficients, another model runs and
 * the reason names regress.
 */
static void
test_short_history_falls_back(void)
{
	double y[8];
	struct pa_fc_opts o;
	struct pa_fc_result r;

	for (size_t t = 0; t < 8; t++)
		y[t] = 10 + (double)(t % 3);
	regress_opts(&o, NULL);
	o.period = 0;
	CHECK("short runs", pa_fc_forecast(y, 8, 4, &o, &r) == PA_FC_OK);
	CHECK("short falls back", r.fallback == 1);
	CHECK("short reason names regress", strncmp(r.reason, "regress:", 8) == 0);
	pa_fc_result_free(&r);
}

/* "auto" leaves the regression out without regressors. */
static void
test_auto_without_regressors(void)
{
	double y[N], x[N + H];
	struct pa_fc_opts o;
	struct pa_fc_result r;

	make_series(y, x);
	pa_fc_opts_default(&o);
	o.period = PERIOD;
	o.transform = PA_FC_TRANSFORM_NONE;
	CHECK("auto runs", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("auto no effects", r.effects == NULL);
	CHECK("auto without regress", strstr(r.model, "regress") == NULL);
	pa_fc_result_free(&r);
}

/*
 * With a clear event effect and a steady trend, "auto" picks the
 * regression alone, because the other models cannot foresee the windows
 * and a model with regressors is never averaged.  The trend change is
 * taken out because right after it, Holt-Winters adapts sooner than
 * changepoints restricted to the first 80% of a history.
 */
static void
test_auto_with_regressors(void)
{
	double y[N], x[N + H];
	size_t lead = PA_FC_LEAD_ALWAYS;
	struct pa_fc_regressors rx = { 1, x, &lead, NULL };
	struct pa_fc_opts o;
	struct pa_fc_result r;

	make_series(y, x);
	for (size_t t = 241; t < N; t++)
		y[t] -= 0.3 * (double)(t - 240);
	pa_fc_opts_default(&o);
	o.period = PERIOD;
	o.transform = PA_FC_TRANSFORM_NONE;
	o.regressors = &rx;
	CHECK("auto regressors runs", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("auto picks regress alone", strncmp(r.model, "regress(", 8) == 0);
	CHECK("auto fills effects", r.effects != NULL);
	CHECK("auto effect used", r.effects[0].used);
	CHECK("auto choice stored", strstr(r.spec, " regress/24/0/0/0/0/0/0/") != NULL);
	pa_fc_result_free(&r);
}

/* The series of test_auto_with_regressors: one event column, no trend change. */
static void
make_steady_series(double *y, double *x)
{
	make_series(y, x);
	for (size_t t = 241; t < N; t++)
		y[t] -= 0.3 * (double)(t - 240);
}

static void
auto_opts(struct pa_fc_opts *o, const struct pa_fc_regressors *rx)
{
	pa_fc_opts_default(o);
	o->period = PERIOD;
	o->transform = PA_FC_TRANSFORM_NONE;
	o->regressors = rx;
}

/*
 * A kept regression choice fixes the Fourier pairs and the slope-change
 * penalty and estimates the coefficients afresh.  On the history it was
 * chosen on, it gives the forecast of that choice, up to the rounding of
 * solving the slope changes by Cholesky instead of on an SVD.
 */
static void
test_reuse_same_history(void)
{
	double y[N], x[N + H];
	size_t lead = PA_FC_LEAD_ALWAYS;
	struct pa_fc_regressors rx = { 1, x, &lead, NULL };
	struct pa_fc_opts o;
	struct pa_fc_result first, again;
	double worst = 0;

	make_steady_series(y, x);
	auto_opts(&o, &rx);
	CHECK("same history fit", pa_fc_forecast(y, N, H, &o, &first) == PA_FC_OK);
	CHECK("same history chose regress", strncmp(first.model, "regress(", 8) == 0);
	o.reuse = first.spec;
	CHECK("same history reuse runs", pa_fc_forecast(y, N, H, &o, &again) == PA_FC_OK);
	CHECK("same history reused", again.reused == 1);
	CHECK_STR("same history same model", again.model, first.model);
	CHECK_STR("same history same spec", again.spec, first.spec);
	for (size_t k = 0; k < H; k++) {
		double half = (first.upper[k] - first.lower[k]) / 2;

		worst = fmax(worst, fabs(again.mean[k] - first.mean[k]) / half);
		worst = fmax(worst, fabs(again.upper[k] - first.upper[k]) / half);
	}
	CHECK("same history forecast within 1e-6 half-width", worst < 1e-6);
	CHECK("same history effects filled", again.effects != NULL);
	CHECK("same history effect used", again.effects[0].used);
	CHECK_NEAR("same history same effect", again.effects[0].coef, first.effects[0].coef, 1e-6);
	CHECK("same history effect on every step", again.effects[0].steps == H);
	pa_fc_result_free(&first);
	pa_fc_result_free(&again);
}

/*
 * A choice kept from 12 steps earlier, reused on the longer history, stays
 * within a quarter of the cold interval's half-width of a new search on it,
 * the bound the state tests hold other kept models to.
 */
static void
test_reuse_warm_matches_cold(void)
{
	double y[N], x[N + H];
	size_t lead = PA_FC_LEAD_ALWAYS, seed_n = N - 12;
	struct pa_fc_regressors rx = { 1, x, &lead, NULL };
	struct pa_fc_opts o;
	struct pa_fc_result seed, warm, cold;
	double worst = 0;

	make_steady_series(y, x);
	auto_opts(&o, &rx);
	CHECK("warm seed fit", pa_fc_forecast(y, seed_n, H, &o, &seed) == PA_FC_OK);
	CHECK("warm seed chose regress", strncmp(seed.model, "regress(", 8) == 0);
	CHECK("cold fit", pa_fc_forecast(y, N, H, &o, &cold) == PA_FC_OK);
	CHECK("cold chose regress", strncmp(cold.model, "regress(", 8) == 0);
	o.reuse = seed.spec;
	CHECK("warm runs", pa_fc_forecast(y, N, H, &o, &warm) == PA_FC_OK);
	CHECK("warm reused", warm.reused == 1);
	for (size_t k = 0; k < H; k++)
		worst = fmax(worst, fabs(warm.mean[k] - cold.mean[k]) /
					((cold.upper[k] - cold.lower[k]) / 2));
	CHECK("warm within a quarter half-width", worst <= 0.25);
	CHECK_NEAR("warm effect near cold", warm.effects[0].coef, cold.effects[0].coef, 2.0);
	pa_fc_result_free(&seed);
	pa_fc_result_free(&warm);
	pa_fc_result_free(&cold);
}

/*
 * Every malformed or inapplicable regression spec is searched afresh, and
 * the search still gives a forecast.
 */
static void
test_reuse_bad_spec(void)
{
	static const struct {
		const char *name, *spec;
	} bad[] = {
		{ "bad spec harmonics over 10", "v1 scale=1 regress/24/0/0/0/0/0/0/11,0,5" },
		{ "bad spec harmonics fraction", "v1 scale=1 regress/24/0/0/0/0/0/0/2.5,0,5" },
		{ "bad spec harmonics negative", "v1 scale=1 regress/24/0/0/0/0/0/0/-1,0,5" },
		{ "bad spec lambda negative", "v1 scale=1 regress/24/0/0/0/0/0/0/2,0,-5" },
		{ "bad spec lambda infinite", "v1 scale=1 regress/24/0/0/0/0/0/0/2,0,inf" },
		{ "bad spec lambda text", "v1 scale=1 regress/24/0/0/0/0/0/0/2,0,x" },
		{ "bad spec lambda missing", "v1 scale=1 regress/24/0/0/0/0/0/0/2,0" },
		{ "bad spec structure empty", "v1 scale=1 regress/24/0/0/0/0/0/0/" },
		{ "bad spec structure missing", "v1 scale=1 regress/24/0/0/0/0/0/0" },
		{ "bad spec extra field", "v1 scale=1 regress/24/0/0/0/0/0/0/2,0,5/1" },
		{ "bad spec period2 text", "v1 scale=1 regress/24/0/0/0/0/0/x/2,0,5" },
		{ "bad spec boxcox", "v1 scale=1 regress/24/3/0/0/0/0/0/2,0,5" },
		{ "bad spec averaged", "v1 scale=1 regress/24/0/0/0/0/0/0/2,0,5 naive/0/0/0/0/0/0" },
	};
	double y[N], x[N + H];
	size_t lead = PA_FC_LEAD_ALWAYS;
	struct pa_fc_regressors rx = { 1, x, &lead, NULL };
	struct pa_fc_opts o;
	struct pa_fc_result r;

	make_steady_series(y, x);
	auto_opts(&o, &rx);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[80];

		o.reuse = bad[i].spec;
		snprintf(name, sizeof name, "%s status", bad[i].name);
		CHECK(name, pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
		snprintf(name, sizeof name, "%s searched afresh", bad[i].name);
		CHECK(name, r.reused == 0);
		snprintf(name, sizeof name, "%s chose regress", bad[i].name);
		CHECK(name, strncmp(r.model, "regress(", 8) == 0);
		pa_fc_result_free(&r);
	}

	/* The same structure with valid fields is kept. */
	o.reuse = "v1 scale=1 regress/24/0/0/0/0/0/0/2,0,5";
	CHECK("good spec runs", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("good spec reused", r.reused == 1);
	CHECK("good spec keeps structure", strstr(r.spec, " regress/24/0/0/0/0/0/0/2,0,5") != NULL);
	pa_fc_result_free(&r);

	/* Without regressors now, the search runs, as it would on a cold run. */
	o.regressors = NULL;
	CHECK("no regressors runs", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("no regressors not reused", r.reused == 0);
	CHECK("no regressors not regress", strstr(r.model, "regress") == NULL);
	pa_fc_result_free(&r);
}

/*
 * Fourier pairs kept for a season the history no longer supports are
 * dropped rather than computed for a period of 0.
 */
static void
test_reuse_season_dropped(void)
{
	double y[N], x[N + H];
	size_t lead = PA_FC_LEAD_ALWAYS;
	struct pa_fc_regressors rx = { 1, x, &lead, NULL };
	struct pa_fc_opts o;
	struct pa_fc_result r;

	make_steady_series(y, x);
	auto_opts(&o, &rx);
	o.period = 0;
	o.reuse = "v1 scale=1 regress/0/0/0/0/0/0/0/3,2,5";
	CHECK("no season runs", pa_fc_forecast(y, N, H, &o, &r) == PA_FC_OK);
	CHECK("no season reused", r.reused == 1);
	CHECK("no season stores no pairs", strstr(r.spec, " regress/0/0/0/0/0/0/0/0,0,5") != NULL);
	CHECK("no season finite", isfinite(r.mean[H - 1]));
	pa_fc_result_free(&r);
}

int
main(void)
{
	test_recovers_effect_and_trend();
	test_deterministic();
	test_lagged_stream_steps();
	test_stream_ends_early();
	test_no_past_window();
	test_short_history_falls_back();
	test_auto_without_regressors();
	test_auto_with_regressors();
	test_reuse_same_history();
	test_reuse_warm_matches_cold();
	test_reuse_bad_spec();
	test_reuse_season_dropped();
	return unit_status();
}
