/*
 * test_backtest.c - the HPA emulation's saturated utilization and event
 * lifts in the predictive forecasts, on crafted series whose results
 * follow from the documented algorithm.
 */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backtest.h"
#include "fc_events.h"
#include "unit.h"

#define STEP_S 15		/* one bucket per HPA period: one tick per bucket */

/* A series of n buckets: first, then rest in every later bucket. */
static void
make_series(struct pa_bt_series *s, size_t n, double first, double rest)
{
	s->name = strdup("shop/api");
	s->start = 0;
	s->step_s = STEP_S;
	s->n = n;
	s->work = malloc(n * sizeof *s->work);
	s->work[0] = first;
	for (size_t t = 1; t < n; t++)
		s->work[t] = rest;
}

/* Reactive settings: capacity 1, no metric lag, the given lead time. */
static void
reactive_config(struct pa_bt_config *c, double lead_s)
{
	pa_bt_config_default(c);
	c->plan.capacity = 1;
	c->plan.lead_time_s = lead_s;
	c->hpa_metric_lag_s = 0;
	c->warmup = 0;
}

/* Replay the reactive policy and return its ready instances per bucket (owned). */
static double *
replay_reactive(const struct pa_bt_series *s, const struct pa_bt_config *c, double target)
{
	struct pa_bt_result r;
	char err[200];
	double *capacity;

	if (pa_bt_run(s, c, NULL, PA_BT_REACTIVE, target, 1, &r, err, sizeof err) != 0) {
		printf("# %s\n", err);
		return NULL;
	}
	capacity = r.capacity;
	r.capacity = NULL;
	pa_bt_result_free(&r);
	return capacity;
}

/*
 * Demand jumps from 1 to 100 with 2 ready instances at target 0.5.  The
 * HPA sees utilization 1 (saturated), so it asks for ceil(1 * 2 / 0.5) = 4,
 * not for the 200 that true demand needs (which the rate limit would cut
 * to max(2 + 4, 2 * 2) = 6).  The count doubles each period until it
 * covers demand, then settles at ceil(100 / 0.5) = 200.
 */
static void
test_saturated_doubling(void)
{
	static const double want[] = { 2, 4, 8, 16, 32, 64, 128, 200, 200, 200 };
	struct pa_bt_series s;
	struct pa_bt_config c;
	double *got;

	make_series(&s, 10, 1, 100);
	reactive_config(&c, 0);
	got = replay_reactive(&s, &c, 0.5);
	CHECK("saturated hpa replays", got != NULL);
	for (size_t t = 0; got && t < 10; t++) {
		char name[64];

		snprintf(name, sizeof name, "saturated hpa count at tick %zu", t);
		CHECK_NEAR(name, got[t], want[t], 1e-9);
	}
	free(got);
	pa_bt_series_free(&s);
}

/*
 * With a lead time of two periods, pods not yet ready count at 0%: after
 * ordering 2 more, the recomputed ratio is 1 * 2 / (4 * 0.5) = 1, within
 * the tolerance, so the HPA waits for them before it doubles again.
 */
static void
test_pending_pods_count_zero(void)
{
	static const double want[] = { 2, 2, 2, 4, 4, 4, 8, 8, 8, 16 };
	struct pa_bt_series s;
	struct pa_bt_config c;
	double *got;

	make_series(&s, 10, 1, 100);
	reactive_config(&c, 2 * STEP_S);
	got = replay_reactive(&s, &c, 0.5);
	CHECK("pending hpa replays", got != NULL);
	for (size_t t = 0; got && t < 10; t++) {
		char name[64];

		snprintf(name, sizeof name, "pending hpa count at tick %zu", t);
		CHECK_NEAR(name, got[t], want[t], 1e-9);
	}
	free(got);
	pa_bt_series_free(&s);
}

/*
 * With a metric two periods old and no lead time, the first doubling to 4
 * reads the jump at tick 3.  At tick 4 the sample is still from tick 2,
 * when 2 were ready: the 2 new pods have no usable sample, count at 0%,
 * and the recomputed ratio 1 * 2 / (4 * 0.5) = 1 is within the
 * tolerance, so the HPA keeps 4 for a period.  Counting the new pods as
 * sampled would ask for 8 at once.
 */
static void
test_new_pods_wait_for_a_sample(void)
{
	static const double want[] = { 2, 2, 2, 4, 4, 8, 8, 16, 16, 32 };
	struct pa_bt_series s;
	struct pa_bt_config c;
	double *got;

	make_series(&s, 10, 1, 100);
	s.work[1] = 100;
	reactive_config(&c, 0);
	c.hpa_metric_lag_s = 2 * STEP_S;
	got = replay_reactive(&s, &c, 0.5);
	CHECK("lagged hpa replays", got != NULL);
	for (size_t t = 0; got && t < 10; t++) {
		char name[64];

		snprintf(name, sizeof name, "lagged hpa count at tick %zu", t);
		CHECK_NEAR(name, got[t], want[t], 1e-9);
	}
	free(got);
	pa_bt_series_free(&s);
}

/*
 * Above a target of 1 / 1.1 a saturated fleet never scales: utilization
 * 1 over target 0.95 is a ratio of 1.053, inside the 0.1 tolerance.
 */
static void
test_saturated_high_target_stuck(void)
{
	struct pa_bt_series s;
	struct pa_bt_config c;
	struct pa_bt_result r;
	char err[200];
	double *got;

	make_series(&s, 20, 1.9, 100);
	reactive_config(&c, 0);
	got = replay_reactive(&s, &c, 0.95);
	CHECK("stuck hpa replays", got != NULL);
	CHECK_NEAR("stuck hpa starts at 2", got ? got[0] : -1, 2, 1e-9);
	CHECK_NEAR("stuck hpa still 2 at the end", got ? got[19] : -1, 2, 1e-9);
	free(got);

	CHECK("stuck hpa run", pa_bt_run(&s, &c, NULL, PA_BT_REACTIVE, 0.95, 0, &r, err,
					 sizeof err) == 0);
	CHECK_NEAR("stuck hpa overloaded after the first tick", r.overloaded_share, 19.0 / 20, 1e-9);
	pa_bt_result_free(&r);
	pa_bt_series_free(&s);
}

/* A scale-down waits for the stabilization window: 300 s is 20 periods. */
static void
test_scale_down_stabilized(void)
{
	struct pa_bt_series s;
	struct pa_bt_config c;
	double *got;

	make_series(&s, 40, 100, 10);
	reactive_config(&c, 0);
	got = replay_reactive(&s, &c, 0.5);
	CHECK("scale-down hpa replays", got != NULL);
	CHECK_NEAR("scale-down holds inside the window", got ? got[19] : -1, 200, 1e-9);
	CHECK_NEAR("scale-down after the window", got ? got[21] : -1, 20, 1e-9);
	free(got);
	pa_bt_series_free(&s);
}

/* Add an event record of type with a window [start_s, end_s). */
static void
add_event(struct pa_fc_events *e, const char *type, long start_s, long end_s)
{
	json_t *rec = json_pack("{s:s, s:I, s:I, s:s, s:s, s:i}", "kind", "event",
				"ts", (json_int_t)start_s, "end", (json_int_t)end_s,
				"name", "match", "event_type", type, "magnitude", 1);
	const char *reason;
	char err[200];

	if (pa_fc_events_add(e, rec, 3600 * PA_USEC_PER_SEC, err, sizeof err, &reason) != 0)
		printf("# %s\n", err);
	json_decref(rec);
}

/*
 * Hourly buckets over six days, 100 per second, tripled from 12:00 to
 * 14:00 on days 1, 2, 4 and 5 when an event runs.  Days 0 and 3 give the
 * baseline.  After the warm-up the two past windows give a lift of 3,
 * and the forecasts made before the windows of days 4 and 5 get it, but
 * only for the series the events name.
 */
static void
test_events_lift_forecasts(void)
{
	struct pa_bt_series s;
	struct pa_bt_config c;
	struct pa_fc_events events = { 0 };
	struct pa_bt_forecasts *f;
	char err[200];

	s.name = strdup("shop/api");
	s.start = 0;
	s.step_s = 3600;
	s.n = 6 * 24;
	s.work = malloc(s.n * sizeof *s.work);
	for (size_t t = 0; t < s.n; t++) {
		size_t day = t / 24, hour = t % 24;
		int event_day = day != 0 && day != 3;

		s.work[t] = event_day && (hour == 12 || hour == 13) ? 300 : 100;
	}
	for (long d = 0; d < 6; d++)
		if (d != 0 && d != 3)
			add_event(&events, "match", d * 86400 + 12 * 3600, d * 86400 + 14 * 3600);

	pa_bt_config_default(&c);
	c.plan.capacity = 10;
	c.period = 24;
	c.history = 3 * 24;
	c.warmup = 3 * 24;
	c.model = "naive";
	c.events = &events;
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("events forecasts made", f != NULL);
	if (f != NULL)
		CHECK("events lift some forecasts", pa_bt_forecasts_lifted(f) > 0);
	pa_bt_forecasts_free(f);

	free(s.name);
	s.name = strdup("other/api");
	for (size_t i = 0; i < events.count; i++) {
		free(events.v[i].tenant);
		events.v[i].tenant = strdup("shop");
	}
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("events of another tenant forecasts made", f != NULL);
	if (f != NULL)
		CHECK("events of another tenant lift nothing", pa_bt_forecasts_lifted(f) == 0);
	pa_bt_forecasts_free(f);

	pa_fc_events_free(&events);
	pa_bt_series_free(&s);
}

/*
 * A trend stream (samples without "end" whose magnitudes vary) is no list
 * of windows: on the series of test_events_lift_forecasts, with samples
 * at the event hours, it lifts nothing and marks no window bucket.
 */
static void
test_stream_no_windows(void)
{
	struct pa_bt_series s;
	struct pa_bt_config c;
	struct pa_fc_events events = { 0 };
	struct pa_bt_forecasts *f;
	struct pa_bt_result r;
	char err[200];

	s.name = strdup("shop/api");
	s.start = 0;
	s.step_s = 3600;
	s.n = 6 * 24;
	s.work = malloc(s.n * sizeof *s.work);
	for (size_t t = 0; t < s.n; t++) {
		size_t day = t / 24, hour = t % 24;

		s.work[t] = day != 0 && day != 3 && (hour == 12 || hour == 13) ? 300 : 100;
	}
	for (long d = 0; d < 6; d++) {
		for (long h = 11; h < 14; h++) {
			json_t *rec = json_pack("{s:s, s:I, s:s, s:s, s:I}", "kind", "event", "ts",
						(json_int_t)(d * 86400 + h * 3600), "name", "mentions",
						"event_type", "mentions", "magnitude", (json_int_t)(10 + d * 3 + h));
			const char *reason;

			if (pa_fc_events_add(&events, rec, 3600 * PA_USEC_PER_SEC, err, sizeof err, &reason) != 0)
				printf("# %s\n", err);
			json_decref(rec);
		}
	}
	CHECK("stream is a stream", pa_fc_event_is_stream(&events, "mentions"));

	pa_bt_config_default(&c);
	c.plan.capacity = 10;
	c.period = 24;
	c.history = 3 * 24;
	c.warmup = 3 * 24;
	c.model = "naive";
	c.events = &events;
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("stream forecasts made", f != NULL);
	if (f != NULL) {
		CHECK("stream lifts nothing", pa_bt_forecasts_lifted(f) == 0);
		CHECK("stream replay runs", pa_bt_run(&s, &c, f, PA_BT_PREDICTIVE, 0.01, 0, &r, err,
						      sizeof err) == 0);
		CHECK("stream marks no window", r.window_buckets == 0);
		CHECK("stream no window coverage", isnan(r.window_coverage));
		pa_bt_result_free(&r);
	}
	pa_bt_forecasts_free(f);
	pa_fc_events_free(&events);
	pa_bt_series_free(&s);
}

/* Predictive overloaded share on s with the given floor, at risk 0.1; -1 on failure. */
static double
predictive_overload(const struct pa_bt_series *s, struct pa_bt_config *c, enum pa_bt_floor floor)
{
	struct pa_bt_forecasts *f;
	struct pa_bt_result r;
	char err[200];
	double share = -1;

	c->floor = floor;
	f = pa_bt_forecast_all(s, c, err, sizeof err);
	if (f == NULL) {
		printf("# %s\n", err);
		return -1;
	}
	if (pa_bt_run(s, c, f, PA_BT_PREDICTIVE, 0.1, 0, &r, err, sizeof err) == 0) {
		share = r.overloaded_share;
		pa_bt_result_free(&r);
	} else {
		printf("# %s\n", err);
	}
	pa_bt_forecasts_free(f);
	return share;
}

/*
 * After a flat warm-up at 10 the demand climbs a sawtooth: 10, then 5%
 * more on each 15 s tick for ten ticks, again and again.  The load is
 * seen two ticks late, and an order serves one tick later.  The only
 * forecast, made at the end of the warm-up, expects 10, so the floor must
 * keep up.  A floor at the load seen is late on six ticks in ten, whenever
 * demand passes the forecast's instances.  The change floor has measured the
 * rise over those three ticks on most past ticks and sizes for it.  It is
 * late only in the first cycle, until it has seen the rise and a fall
 * lets it catch up.
 */
static void
test_change_floor_follows_growth(void)
{
	struct pa_bt_series s;
	struct pa_bt_config c;
	double load, change;

	make_series(&s, 330, 10, 10);
	for (size_t t = 30; t < s.n; t++)
		s.work[t] = (t - 30) % 10 == 0 ? 10 : s.work[t - 1] * 1.05;
	reactive_config(&c, STEP_S);
	c.hpa_metric_lag_s = 2 * STEP_S;
	c.warmup = 30;
	c.history = 30;
	c.forecast_every = 1000;
	c.model = "naive";
	load = predictive_overload(&s, &c, PA_BT_FLOOR_LOAD);
	change = predictive_overload(&s, &c, PA_BT_FLOOR_CHANGE);
	printf("# overloaded share: load floor %g, change floor %g\n", load, change);
	CHECK("load floor replays", load >= 0);
	CHECK("load floor is late on most ticks", load > 0.5);
	CHECK("change floor replays", change >= 0);
	CHECK("change floor is late only while it learns", change < 0.05);
	pa_bt_series_free(&s);
}

/*
 * With the automatic choice, --refit-every carries the fitted choice
 * forward: a full fit every 12 forecasts leaves 11 of 12 reused, and a
 * refit at every forecast reuses none.  The history of four days is long
 * enough to compare models with the daily season, because a fallback made
 * without a comparison is not carried forward.
 */
static void
test_refit_every_reuses(void)
{
	struct pa_bt_series s;
	struct pa_bt_config c;
	struct pa_bt_forecasts *f;
	char err[200];

	make_series(&s, 144, 10, 10);
	for (size_t t = 0; t < s.n; t++)
		s.work[t] = 100 + 40 * sin((double)t * 2 * M_PI / 24) + (double)(t % 5);
	s.step_s = 3600;
	pa_bt_config_default(&c);
	c.plan.capacity = 10;
	c.period = 24;
	c.history = 96;
	c.warmup = 96;
	c.refit_every = 12;
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("refit forecasts made", f != NULL);
	if (f != NULL)
		CHECK_NEAR("refit every 12 reuses 44 of 48", (double)pa_bt_forecasts_reused(f), 44, 1e-9);
	pa_bt_forecasts_free(f);
	c.refit_every = 1;
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("full fits made", f != NULL);
	if (f != NULL)
		CHECK_NEAR("refit every forecast reuses none", (double)pa_bt_forecasts_reused(f), 0, 1e-9);
	pa_bt_forecasts_free(f);
	pa_bt_series_free(&s);
}

/*
 * hw needs two seasons of history.  A trailing history of 12 hourly
 * buckets with a daily season cannot hold them, so every forecast runs
 * without the season and the fallback is counted; 48 buckets can.  The
 * automatic choice counts the dropped season alone, and a history of
 * fewer than 3 buckets is rejected.
 */
static void
test_named_model_fallback(void)
{
	struct pa_bt_series s;
	struct pa_bt_config c;
	struct pa_bt_forecasts *f;
	const char *fallback;
	size_t count, total;
	char err[200];

	make_series(&s, 96, 10, 10);
	for (size_t t = 0; t < s.n; t++)
		s.work[t] = 100 + 40 * sin((double)t * 2 * M_PI / 24) + (double)(t % 5);
	s.step_s = 3600;
	pa_bt_config_default(&c);
	c.plan.capacity = 10;
	c.model = "hw";
	c.period = 24;
	c.history = 12;
	c.warmup = 48;
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("short history forecasts made", f != NULL);
	if (f != NULL) {
		fallback = pa_bt_forecasts_fallback(f, &count, &total);
		CHECK_NEAR("short history falls back every time", (double)count, 48, 1e-9);
		CHECK_NEAR("short history forecast count", (double)total, 48, 1e-9);
		CHECK("fallback names the season", strstr(fallback, "two seasons of 24") != NULL);
	}
	pa_bt_forecasts_free(f);

	c.history = 48;
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("two-season forecasts made", f != NULL);
	if (f != NULL) {
		fallback = pa_bt_forecasts_fallback(f, &count, &total);
		CHECK_NEAR("two seasons need no fallback", (double)count, 0, 1e-9);
		CHECK("no fallback text", fallback[0] == '\0');
	}
	pa_bt_forecasts_free(f);

	c.model = "auto";
	c.history = 12;
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("auto forecasts made", f != NULL);
	if (f != NULL) {
		fallback = pa_bt_forecasts_fallback(f, &count, &total);
		CHECK_NEAR("auto short history drops the season", (double)count, 48, 1e-9);
		CHECK("auto fallback names the season", strstr(fallback, "two seasons of 24") != NULL);
		CHECK("auto fallback names no model", strstr(fallback, "instead") == NULL);
	}
	pa_bt_forecasts_free(f);

	c.history = 48;
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("auto two-season forecasts made", f != NULL);
	if (f != NULL) {
		pa_bt_forecasts_fallback(f, &count, &total);
		CHECK_NEAR("auto two seasons keep the season", (double)count, 0, 1e-9);
	}
	pa_bt_forecasts_free(f);

	c.history = 2;
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("history of 2 buckets rejected", f == NULL);
	CHECK("history message names the least", strstr(err, "at least 3") != NULL);
	pa_bt_forecasts_free(f);
	pa_bt_series_free(&s);
}

/*
 * Window coverage of the predictive policy at risk 0.01.  The series has
 * 15-minute buckets over 24 days and a 2-hour event every other day at
 * 14:00.  The event brings four times the usual load in its first bucket
 * and twice in the rest, each window scaled by its own factor between 0.6
 * and 1.4.  Sizing from one flat lift and from all errors leaves the
 * window buckets under-covered, and the profile with the errors of past
 * windows must cover them better.  Returns the coverage, or NAN on
 * failure, and sets *outside and *reactive_buckets.
 */
static double
window_coverage(int by_offset, int window_errors, double *outside, size_t *reactive_buckets)
{
	struct pa_bt_series s;
	struct pa_bt_config c;
	struct pa_fc_events events = { 0 };
	struct pa_bt_forecasts *f;
	struct pa_bt_result pred, react;
	unsigned long seed = 7;
	double coverage = NAN;
	char err[200];

	s.name = strdup("shop/api");
	s.start = 0;
	s.step_s = 900;
	s.n = 24 * 96;
	s.work = malloc(s.n * sizeof *s.work);
	for (size_t t = 0; t < s.n; t++) {
		size_t day = t / 96, quarter = t % 96;
		double noise;

		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		noise = 0.9 + 0.2 * (double)(seed >> 40) / (double)(1UL << 24);
		s.work[t] = (50 + 30 * (quarter >= 32 && quarter < 80)) * noise;
		if (day % 2 == 1 && quarter >= 56 && quarter < 64)
			s.work[t] *= (quarter == 56 ? 4 : 2) * (0.6 + 0.8 * (double)(day % 5) / 4);
	}
	for (long d = 1; d < 24; d += 2)
		add_event(&events, "match", d * 86400 + 14 * 3600, d * 86400 + 16 * 3600);

	pa_bt_config_default(&c);
	c.plan.capacity = 10;
	c.plan.lead_time_s = 300;
	c.period = 96;
	c.history = 2 * 96;
	c.warmup = 2 * 96;
	c.model = "ses";
	c.events = &events;
	c.event_profile = by_offset;
	c.window_errors = window_errors;
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	if (f == NULL) {
		printf("# %s\n", err);
	} else if (pa_bt_run(&s, &c, f, PA_BT_PREDICTIVE, 0.01, 0, &pred, err, sizeof err) == 0 &&
		   pa_bt_run(&s, &c, f, PA_BT_REACTIVE, 0.7, 0, &react, err, sizeof err) == 0) {
		coverage = pred.window_coverage;
		*outside = pred.outside_coverage;
		*reactive_buckets = react.window_buckets;
		pa_bt_result_free(&pred);
		pa_bt_result_free(&react);
	}
	pa_bt_forecasts_free(f);
	pa_fc_events_free(&events);
	pa_bt_series_free(&s);
	return coverage;
}

static void
test_window_coverage(void)
{
	double outside_flat, outside_shaped;
	size_t reactive_buckets = 1;
	double flat = window_coverage(0, 0, &outside_flat, &reactive_buckets);
	double shaped = window_coverage(1, 1, &outside_shaped, &reactive_buckets);

	printf("# window coverage at risk 0.01: flat %.3f, shaped %.3f\n", flat, shaped);
	CHECK("window coverage flat measured", !isnan(flat));
	CHECK("window coverage shaped measured", !isnan(shaped));
	CHECK("window coverage shaped higher", shaped > flat);
	CHECK("window coverage shaped near risk", shaped >= 0.95);
	CHECK("window coverage outside unchanged", outside_shaped == outside_flat);
	CHECK("window coverage reactive none", reactive_buckets == 0);
}

/*
 * Ten days of 15-minute buckets whose level swings from 10 to 190 over the
 * day, times noise: multiplicative (a lognormal factor, sigma 0.3) or
 * additive (a normal term, sd 20), from a fixed seed.
 */
static void
make_swinging_series(struct pa_bt_series *s, int multiplicative)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(rng, 7);
	make_series(s, 960, 100, 100);
	s->step_s = 900;
	for (size_t t = 0; t < s->n; t++) {
		double level = 100 - 90 * cos((double)(t % 96) * 2 * M_PI / 96);

		if (multiplicative)
			s->work[t] = level * exp(gsl_ran_gaussian(rng, 0.3));
		else
			s->work[t] = fmax(level + gsl_ran_gaussian(rng, 20), 0);
	}
	gsl_rng_free(rng);
}

#define SCALE_RISKS 7

/*
 * Replay the predictive policy with errors on the given scale at falling
 * risks, filling instance-hours (which rise with them) and overloaded
 * shares.  Returns 0, or -1 when a replay failed.
 */
static int
scale_curve(const struct pa_bt_series *s, struct pa_bt_config *c, enum pa_bt_error_scale scale,
	    double *hours, double *overloaded)
{
	static const double risks[SCALE_RISKS] = { 0.4, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01 };
	struct pa_bt_forecasts *f;
	char err[200];
	int rc = 0;

	c->error_scale = scale;
	f = pa_bt_forecast_all(s, c, err, sizeof err);
	if (f == NULL) {
		printf("# %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < SCALE_RISKS && rc == 0; i++) {
		struct pa_bt_result r;

		rc = pa_bt_run(s, c, f, PA_BT_PREDICTIVE, risks[i], 0, &r, err, sizeof err);
		if (rc != 0) {
			printf("# %s\n", err);
			break;
		}
		hours[i] = r.instance_hours;
		overloaded[i] = r.overloaded_share;
		pa_bt_result_free(&r);
	}
	pa_bt_forecasts_free(f);
	return rc;
}

/*
 * Instance-hours at an overloaded share of 1%, interpolated on a curve in
 * rising order of instance-hours; NAN when the curve does not cross it.
 */
static double
hours_at_one_percent(const double *hours, const double *overloaded)
{
	for (size_t i = 1; i < SCALE_RISKS; i++) {
		if (overloaded[i - 1] >= 0.01 && overloaded[i] <= 0.01) {
			double w = (overloaded[i - 1] - 0.01) / (overloaded[i - 1] - overloaded[i]);

			return hours[i - 1] + (hours[i] - hours[i - 1]) * w;
		}
	}
	return NAN;
}

/*
 * Seasonal naive forecasts of a level that swings tenfold over the day.
 * With additive noise the errors do not grow with the level, and log
 * errors give the busy hours too little headroom and the quiet ones too
 * much: the log scale needs far more instance-hours for the same
 * overloaded share.  With multiplicative noise the two scales come close.
 * The automatic scale, scored on the pinball loss of past targets, must
 * cost no more than 5% above the better fixed scale on either series.
 */
static void
test_error_scale(void)
{
	const char *names[2] = { "additive", "multiplicative" };

	for (int multiplicative = 0; multiplicative <= 1; multiplicative++) {
		double hours[3][SCALE_RISKS], overloaded[3][SCALE_RISKS], at[3];
		enum pa_bt_error_scale scales[3] = { PA_BT_ERRORS_ABSOLUTE, PA_BT_ERRORS_LOG,
						     PA_BT_ERRORS_AUTO };
		struct pa_bt_series s;
		struct pa_bt_config c;
		int ok = 1;
		char name[80];

		make_swinging_series(&s, multiplicative);
		pa_bt_config_default(&c);
		c.plan.capacity = 10;
		c.plan.lead_time_s = 900;
		c.period = 96;
		c.history = 288;
		c.warmup = 288;
		c.model = "snaive";
		c.floor = PA_BT_FLOOR_LOAD;
		for (int i = 0; i < 3; i++) {
			ok &= scale_curve(&s, &c, scales[i], hours[i], overloaded[i]) == 0;
			at[i] = hours_at_one_percent(hours[i], overloaded[i]);
		}
		printf("# %s noise: instance-hours at 1%% overloaded: absolute %.0f, log %.0f, auto %.0f\n",
		       names[multiplicative], at[0], at[1], at[2]);
		snprintf(name, sizeof name, "error scale %s replays", names[multiplicative]);
		CHECK(name, ok);
		for (int i = 0; i < 3; i++) {
			snprintf(name, sizeof name, "error scale %s curve %d crosses 1%%",
				 names[multiplicative], i);
			CHECK(name, !isnan(at[i]));
		}
		if (!multiplicative)
			CHECK("error scale additive log costs more", at[1] > 1.2 * at[0]);
		snprintf(name, sizeof name, "error scale %s auto near the better", names[multiplicative]);
		CHECK(name, at[2] <= 1.05 * fmin(at[0], at[1]));
		pa_bt_series_free(&s);
	}
}

int
main(void)
{
	test_saturated_doubling();
	test_pending_pods_count_zero();
	test_new_pods_wait_for_a_sample();
	test_saturated_high_target_stuck();
	test_scale_down_stabilized();
	test_events_lift_forecasts();
	test_stream_no_windows();
	test_change_floor_follows_growth();
	test_refit_every_reuses();
	test_named_model_fallback();
	test_window_coverage();
	test_error_scale();
	return unit_status();
}
