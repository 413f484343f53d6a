/*
 * backtest.h - replay a bucket series through capacity policies.
 *
 * A series is work per second per bucket (requests times mean complexity
 * over the step), NAN where a bucket is unknown.  The replay runs on a
 * clock of ticks, 15 s (the HorizontalPodAutoscaler's sync period) when
 * the step is a multiple of it, else one tick per bucket.  Demand within
 * a bucket is linear between bucket midpoints.  Each policy decides a
 * desired instance count;
 * new instances serve only after the lead time and are billed from the
 * moment they are ordered, removed ones stop at once.
 *
 * Policies:
 *   predictive  at each bucket start, a forecast from the buckets before it
 *               only (pa_fc_forecast on a trailing window), times the lift
 *               of known event windows ahead, sized by pa_plan_decide at
 *               the risk budget
 *   reactive    the HPA algorithm, every tick, on the CPU utilization of
 *               hpa_metric_lag_s ago.  Utilization is served work over the
 *               ready instances' capacity, so it saturates at 1: the HPA
 *               cannot see how far demand exceeds capacity.  See
 *               decide_reactive() in backtest.c for the steps and the
 *               source of each parameter.
 *   static      one count sized for the peak of the evaluated range
 *   oracle      uses the future: at every tick the largest need from
 *               now until a new instance would be ready
 *
 * Every policy is scored on the same buckets: those after the warm-up.
 */
#ifndef PA_BACKTEST_H
#define PA_BACKTEST_H

#include <stddef.h>

#include "fc_events.h"
#include "plan.h"
#include "timeutil.h"

struct pa_bt_series {
	char *name;		/* owned */
	pa_usec_t start;	/* ts of work[0] */
	double step_s;
	size_t n;
	double *work;		/* owned, work units per second, NAN unknown */
};

void pa_bt_series_free(struct pa_bt_series *s);

/* The predictive policy's floor, from the load present (usage records). */
enum pa_bt_floor {
	PA_BT_FLOOR_LOAD,	/* the load at full utilization */
	PA_BT_FLOOR_CHANGE	/* times the quantile, at the risk, of the load's own change
				 * over the metric lag and lead time in the last season */
};

/*
 * The scale on which the predictive policy measures its forecast errors.
 * On a series whose level swings over the day, absolute errors of the busy
 * hours set the headroom of the quiet ones.  Errors of log(work + capacity)
 * give headroom in proportion to the load, as a utilization target does.
 */
enum pa_bt_error_scale {
	PA_BT_ERRORS_ABSOLUTE,	/* actual - forecast, work/s */
	PA_BT_ERRORS_SQRT,	/* differences of sqrt(work + capacity) */
	PA_BT_ERRORS_LOG,	/* differences of log(work + capacity) */
	PA_BT_ERRORS_AUTO	/* per forecast and step, the scale whose quantiles
				 * scored best on the last season's known targets */
};

/* Known history buckets a forecast needs before the predictive policy acts on it. */
#define PA_BT_MIN_HISTORY 3

struct pa_bt_config {
	struct pa_plan_settings plan;	/* capacity, lead time, bounds, prices, sizing */
	double hpa_tolerance;		/* 0.1 */
	double hpa_stabilization_s;	/* 300 */
	double hpa_period_s;		/* 15 */
	double hpa_metric_lag_s;	/* age of the utilization the HPA acts on, 30 */
	long hpa_up_pods;		/* 4 per period ... */
	double hpa_up_percent;		/* ... or 100% per period, whichever is more */
	size_t warmup;			/* buckets used only as forecast history */
	size_t history;			/* trailing buckets given to the forecaster */
	size_t period;			/* season in buckets for the forecaster, 0: none */
	size_t forecast_every;		/* buckets between forecasts (1: every bucket) */
	size_t refit_every;		/* forecasts between full fits of an automatic
					 * choice, the others reuse its models and
					 * parameters on the newer history (<= 1: refit all) */
	const char *model;		/* pa_fc model name */
	double level;			/* forecast interval level */
	int transform;			/* 1: the forecaster fits log1p of the series */
	enum pa_bt_floor floor;		/* what the plan never goes under, every tick */
	enum pa_bt_error_scale error_scale;
	int event_profile;		/* 1: event lifts by offset in the window, 0: one per type */
	int window_errors;		/* 1: buckets in event windows size from errors in past windows */
	const struct pa_fc_events *events;	/* borrowed; NULL: no events */
};

void pa_bt_config_default(struct pa_bt_config *c);

enum pa_bt_policy { PA_BT_PREDICTIVE, PA_BT_REACTIVE, PA_BT_STATIC, PA_BT_ORACLE };

const char *pa_bt_policy_name(enum pa_bt_policy p);

struct pa_bt_result {
	enum pa_bt_policy policy;
	double setting;			/* risk (predictive), target utilization (reactive), else NAN */
	size_t buckets;			/* buckets scored (known demand) */
	double overloaded_share;	/* share of scored time with demand above ready capacity */
	double unserved_work;		/* work units not served over the scored range */
	double instance_hours;		/* ordered or running instances, integrated */
	double spot_hours;		/* the spot share of instance_hours */
	long interruptions;		/* spot instances reclaimed */
	double cost;			/* on-demand hours and spot hours at their prices */
	double mean_utilization;	/* served work over ready capacity */
	double window_coverage;		/* predictive with events: share of the buckets at
					 * the lead time inside event windows whose work was
					 * at most the quantile sized at the risk, else NAN */
	double outside_coverage;	/* the same outside event windows */
	size_t window_buckets;		/* buckets counted in window_coverage */
	double *capacity;		/* optional, per bucket mean ready capacity (owned) */
};

/*
 * Forecasts for every decision bucket, computed once and shared by every
 * risk setting.  With c->events, each forecast is multiplied inside the
 * future windows of an event type by that type's lift at the bucket's
 * offset in the window (one lift per type without c->event_profile),
 * estimated (as pa-forecast does) from the type's windows before the
 * decision only; the event records themselves are known in advance, as
 * scheduled events are.
 * Events apply to a series when their tenant and service match the parts
 * of its name before and after the first '/', or are absent.  Returns NULL
 * with a message in err when the series is too short for the warm-up or
 * the forecaster failed.
 */
struct pa_bt_forecasts;

struct pa_bt_forecasts *pa_bt_forecast_all(const struct pa_bt_series *s,
					   const struct pa_bt_config *c,
					   char *err, size_t errsize);
void pa_bt_forecasts_free(struct pa_bt_forecasts *f);

/* The model names the forecaster used, "hw(p=288)" or "mixed", for the report. */
const char *pa_bt_forecasts_model(const struct pa_bt_forecasts *f);

/*
 * The first fallback of a named model, "holt instead: <reason>", or "" when it
 * always ran as requested; *count of the *total forecasts fell back.
 */
const char *pa_bt_forecasts_fallback(const struct pa_bt_forecasts *f, size_t *count,
				     size_t *total);

/* How many forecasts reused an earlier automatic choice instead of a full fit. */
size_t pa_bt_forecasts_reused(const struct pa_bt_forecasts *f);

/* How many forecasts a lift changed, for the report. */
size_t pa_bt_forecasts_lifted(const struct pa_bt_forecasts *f);

/*
 * Replay one policy.  setting is the risk for predictive (f required), the
 * target utilization for reactive, ignored otherwise.  keep_capacity
 * stores out->capacity for the chart.  Returns 0, or -1 with a message.
 */
int pa_bt_run(const struct pa_bt_series *s, const struct pa_bt_config *c,
	      const struct pa_bt_forecasts *f, enum pa_bt_policy policy, double setting,
	      int keep_capacity, struct pa_bt_result *out, char *err, size_t errsize);

void pa_bt_result_free(struct pa_bt_result *r);

/*
 * Linear interpolation of y at x on points sorted by x; NAN outside the
 * range.  Used to read one curve at another curve's instance-hours.
 */
double pa_bt_interpolate(const double *xs, const double *ys, size_t n, double x);

#endif
