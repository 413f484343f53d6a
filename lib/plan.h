/*
 * plan.h - instance counts from a forecast distribution of work.
 *
 * Work is measured in work units per second: requests per second times
 * mean complexity.  Capacity is work units per second per instance.  A
 * forecast gives a mean and interval bounds for volume and complexity; the
 * work at one target bucket is modelled as a normal distribution whose
 * standard deviation comes from the interval's upper half-width and level.
 *
 * pa_plan_decide() applies the rules in a fixed order, the same order the
 * Kubernetes HorizontalPodAutoscaler uses, and reports the rule that set
 * the final count as an HPA-style reason:
 *
 *	1. need      smallest N with N * capacity * target_utilization covering
 *	             the work quantile 1 - risk at now + lead time
 *	2. floor     never below the instances the load already present needs
 *	             at full utilization (sum of the current cpu_usage)
 *	3. window    a scale-in goes no lower than the largest need inside the
 *	             stabilization window
 *	4. signals   missing or invalid utilization blocks any scale-in
 *	5. steps     scale-up and scale-down step limits against current
 *	6. bounds    min and max, applied last so no rate rule can pass them
 *
 * Nothing here allocates; every function is pure.
 */
#ifndef PA_PLAN_H
#define PA_PLAN_H

#include <stddef.h>

/* Per-service settings.  Durations in seconds, prices per instance-hour. */
struct pa_plan_settings {
	double capacity;		/* work units per second per instance; <= 0: unset */
	double lead_time_s;		/* start-up time of a new instance */
	long min_instances;
	long max_instances;
	double target_utilization;	/* share of capacity planned for, (0, 1] */
	double risk;			/* accepted overload probability, (0, 0.5];
					 * < 0: size for the interval's upper bound */
	double on_demand_price;
	double spot_price;		/* < 0: no spot instances */
	double spot_interruption;	/* probability per hour that a spot instance is reclaimed */
	long on_demand_base;		/* on-demand instances kept before any spot */
	double on_demand_share;		/* minimum share of on-demand instances, [0, 1] */
	double stabilization_s;		/* scale-in looks this far ahead of the target */
	double scale_up_factor;		/* one plan grows to at most current * factor ... */
	long scale_up_step;		/* ... or current + step, whichever is larger; 0 factor: no limit */
	long scale_down_step;		/* at most this many removed per plan; 0: no limit */
};

/* Fill s with the defaults (capacity unset, see pa-plan(1) for the values). */
void pa_plan_settings_default(struct pa_plan_settings *s);

/*
 * Check s for values that cannot be planned with.  Returns 0, or -1 with a
 * message such as "min 5 is above max 3" in err.
 */
int pa_plan_settings_check(const struct pa_plan_settings *s, char *err, size_t errsize);

/* The maximum instance count of a plan, the largest replica count pa-apply accepts. */
#define PA_REPLICAS_MAX 100000L

#define PA_PLAN_LEVELS_MAX 8	/* interval levels of one forecast that sizing reads */

/*
 * Distribution of work in one target bucket, work units per second.  With
 * two or more interval levels its upper tail is the curve through
 * (0, mean) and (tail_z[i], tail_work[i]), linear in the standard normal
 * quantile z between the points and beyond the last.  That keeps a
 * skewed forecast's skew.  Below the mean, and with one level, work is
 * normal with sigma.
 */
struct pa_work_dist {
	double mean;
	double sigma;		/* 0: the forecast had no interval */
	double lower;		/* the forecast's lower bound of work */
	double upper;		/* the forecast's upper bound of work */
	double level;		/* level of lower..upper, 0 when there are no bounds */
	size_t ntail;		/* points of the upper tail, rising z */
	double tail_z[PA_PLAN_LEVELS_MAX];
	double tail_work[PA_PLAN_LEVELS_MAX];
};

/* One interval of a forecast; a bound is NAN when absent. */
struct pa_forecast_bounds {
	double level;
	double volume_lower, volume_upper;
	double complexity_lower, complexity_upper;
};

/* One forecast record's numbers; bounds are NAN when absent. */
struct pa_forecast_point {
	double step_s;
	double volume, volume_lower, volume_upper;
	double complexity, complexity_lower, complexity_upper;
	double level;
	size_t nextra;		/* further levels, from the record's "intervals" */
	struct pa_forecast_bounds extra[PA_PLAN_LEVELS_MAX];
};

/*
 * Turn a forecast point into a work distribution.  The standard deviation
 * of volume and of complexity is the upper half-width divided by the
 * normal quantile of (1 + level) / 2; work = volume * complexity / step_s
 * with the product's variance to second order.  Each level, the main one
 * and the extra ones, gives one point of the upper tail.  Returns 0, or
 * -1 with a message when a value is negative, not finite, or the bounds
 * do not enclose the point.
 */
int pa_work_dist_from_forecast(const struct pa_forecast_point *p, struct pa_work_dist *out,
			       char *err, size_t errsize);

/*
 * Work the plan must cover: the 1 - risk quantile, or the upper bound when
 * risk < 0.  Never negative.
 */
double pa_plan_work_quantile(const struct pa_work_dist *d, double risk);

/* Smallest N >= 0 with N * per_instance >= work (work 0 needs 0). */
long pa_plan_instances_for(double work, double per_instance);

/* Instances needed for d under settings s, step 1 of the order above. */
long pa_plan_need(const struct pa_plan_settings *s, const struct pa_work_dist *d);

/* P(work > capacity) and E[max(work - capacity, 0)] under d. */
double pa_plan_overload_probability(const struct pa_work_dist *d, double capacity);
double pa_plan_expected_unserved(const struct pa_work_dist *d, double capacity);

/*
 * Learn capacity per instance from history: load[i] (instances' worth of
 * utilization in one bucket, the sum of cpu_usage) against work[i] (work
 * units per second) by least squares through the origin, load = work /
 * capacity.  Returns 0 and stores the capacity and R^2 (against the mean
 * load), or -1
 * with the reason when fewer than 3 points carry work or the slope is
 * not positive.
 */
int pa_plan_learn_capacity(const double *work, const double *load, size_t n,
			   double *capacity, double *r2, char *err, size_t errsize);

enum pa_plan_action { PA_PLAN_HOLD, PA_PLAN_PROVISION, PA_PLAN_DECOMMISSION };

const char *pa_plan_action_name(enum pa_plan_action a);

struct pa_plan_input {
	struct pa_work_dist target;	/* work at now + lead time */
	long window_need;		/* largest need in the stabilization window, -1: none */
	long current;			/* running instances, -1: unknown */
	double current_load;		/* sum of cpu_usage over them (instances' worth), < 0: unknown */
	long signals_missing;		/* instances whose utilization was missing or invalid */
};

#define PA_PLAN_MESSAGE_MAX 320

/* Start of the message when current is unknown; callers may replace it with a cause. */
#define PA_PLAN_UNKNOWN_PREFIX "current instances unknown (no usage records): "

struct pa_plan_result {
	long need;			/* step 1 alone */
	long optimal;			/* the final count */
	long on_demand, spot;
	enum pa_plan_action action;
	long delta;			/* optimal - current; 0 when current is unknown */
	double expected_utilization;	/* E[min(work, capacity)] / capacity at full utilization */
	double overload_probability;
	double expected_unserved;	/* work units per second */
	double hourly_cost;		/* expected, spot interruptions included */
	const char *reason;		/* static HPA-style word, e.g. "ScaleUpForecast" */
	char message[PA_PLAN_MESSAGE_MAX];
};

/* Apply the rules above.  s must have passed pa_plan_settings_check. */
void pa_plan_decide(const struct pa_plan_settings *s, const struct pa_plan_input *in,
		    struct pa_plan_result *out);

/*
 * Split n instances into on-demand and spot.  Spot is used only when its
 * expected price (spot price plus the on-demand replacement for one lead
 * time after an interruption) is below on-demand; on-demand always covers
 * the base, the share and, at full utilization, the forecast's lower bound
 * of work, so the service survives all spot instances going at once.
 * Stores the expected hourly cost.
 */
void pa_plan_split(const struct pa_plan_settings *s, long n, double work_lower,
		   long *on_demand, long *spot, double *hourly_cost);

#endif
