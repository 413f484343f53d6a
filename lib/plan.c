/*
 * plan.c - sizing, the scale rules and the on-demand/spot split.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#include "ndjson.h"
#include "plan.h"

void
pa_plan_settings_default(struct pa_plan_settings *s)
{
	s->capacity = 0;
	s->lead_time_s = 0;
	s->min_instances = 1;
	s->max_instances = 1000;
	s->target_utilization = 1.0;
	s->risk = -1;
	s->on_demand_price = 0;
	s->spot_price = -1;
	s->spot_interruption = 0;
	s->on_demand_base = 0;
	s->on_demand_share = 0;
	s->stabilization_s = 300;
	s->scale_up_factor = 2.0;
	s->scale_up_step = 4;
	s->scale_down_step = 0;
}

int
pa_plan_settings_check(const struct pa_plan_settings *s, char *err, size_t errsize)
{
	if (!(s->capacity > 0))
		snprintf(err, errsize, "no capacity per instance (set --capacity or \"capacity\" in --config)");
	else if (s->min_instances < 0)
		snprintf(err, errsize, "min %ld is negative", s->min_instances);
	else if (s->min_instances > s->max_instances)
		snprintf(err, errsize, "min %ld is above max %ld", s->min_instances, s->max_instances);
	else if (!(s->target_utilization > 0 && s->target_utilization <= 1))
		snprintf(err, errsize, "target utilization %g is outside (0, 1]", s->target_utilization);
	else if (s->risk >= 0 && !(s->risk > 0 && s->risk <= 0.5))
		snprintf(err, errsize, "risk %g is outside (0, 0.5]", s->risk);
	else if (s->lead_time_s < 0)
		snprintf(err, errsize, "lead time %g s is negative", s->lead_time_s);
	else if (s->spot_interruption < 0 || s->spot_interruption > 1)
		snprintf(err, errsize, "spot interruption %g is outside [0, 1]", s->spot_interruption);
	else if (s->on_demand_share < 0 || s->on_demand_share > 1)
		snprintf(err, errsize, "on-demand share %g is outside [0, 1]", s->on_demand_share);
	else if (s->on_demand_price < 0)
		snprintf(err, errsize, "on-demand price %g is negative", s->on_demand_price);
	else if (s->on_demand_base < 0 || s->scale_up_step < 0 || s->scale_down_step < 0)
		snprintf(err, errsize, "step limits and on-demand base must not be negative");
	else if (s->scale_up_factor != 0 && s->scale_up_factor < 1)
		snprintf(err, errsize, "scale-up factor %g is below 1", s->scale_up_factor);
	else
		return 0;
	return -1;
}

/* Standard deviation from an interval's upper half-width at level. */
static double
sigma_from_bounds(double mean, double lower, double upper, double level)
{
	double z, half;

	if (isnan(lower) || isnan(upper) || !(level > 0 && level < 1))
		return 0;
	z = gsl_cdf_ugaussian_Pinv((1 + level) / 2);
	half = upper - mean;

	/* A lower bound clamped at zero distorts the full width, so the upper
	 * side is used.  A point at the upper bound falls back to the full width. */
	if (half <= 0)
		half = (upper - lower) / 2;
	return half > 0 ? half / z : 0;
}

/*
 * Largest forecast value taken: 10 times pa-forecast's largest bucket
 * count, the most its bounds reach.  Beyond it the work, and the instances
 * it needs, stop being numbers a plan can act on.
 */
#define FORECAST_VALUE_MAX (10 * PA_REQUESTS_MAX)

static int
bad_value(double v)
{
	return !isfinite(v) || v < 0 || v > FORECAST_VALUE_MAX;
}

/*
 * Whether the bounds, each NAN when absent, enclose the point; if not, err
 * names the bound or bounds at fault.
 */
static int
encloses(double lower, double upper, double point, const char *what, const char *prefix,
	 char *err, size_t errsize)
{
	int low = !isnan(lower) && lower > point, high = !isnan(upper) && upper < point;

	if (low && high)
		snprintf(err, errsize, "%s%s bounds %g..%g do not enclose predicted_%s %g", prefix,
			 what, lower, upper, what, point);
	else if (low)
		snprintf(err, errsize, "%s%s_lower %g is above predicted_%s %g", prefix, what, lower,
			 what, point);
	else if (high)
		snprintf(err, errsize, "%s%s_upper %g is below predicted_%s %g", prefix, what, upper,
			 what, point);
	return !low && !high;
}

/*
 * Check one interval against its point forecasts.  prefix names where the
 * interval came from in the message ("" or "intervals[2].").
 */
static int
check_bounds(const struct pa_forecast_point *p, const struct pa_forecast_bounds *b,
	     const char *prefix, char *err, size_t errsize)
{
	static const char *names[] = { "volume_lower", "volume_upper", "complexity_lower",
				       "complexity_upper" };
	const double values[] = { b->volume_lower, b->volume_upper, b->complexity_lower,
				  b->complexity_upper };

	/* Absent bounds are NAN.  A symmetric interval may reach below zero,
	 * and a lower bound under zero means no more than zero, so only the
	 * upper bounds must not. */
	for (size_t i = 0; i < 4; i++) {
		if (isnan(values[i]))
			continue;
		if ((i == 0 || i == 2) && isfinite(values[i]) && values[i] < 0)
			continue;
		if (bad_value(values[i])) {
			snprintf(err, errsize, "%s%s %g is negative, not finite or above 1e16", prefix, names[i],
				 values[i]);
			return -1;
		}
	}
	if (!encloses(b->volume_lower, b->volume_upper, p->volume, "volume", prefix, err, errsize) ||
	    !encloses(b->complexity_lower, b->complexity_upper, p->complexity, "complexity", prefix,
		      err, errsize))
		return -1;
	/* An upper bound is read as a quantile, which needs the level it covers. */
	if (isnan(b->volume_upper) && isnan(b->complexity_upper))
		return 0;
	if (isnan(b->level)) {
		snprintf(err, errsize, "%sinterval_level is missing, but the %s bound needs it",
			 prefix, isnan(b->volume_upper) ? "complexity_upper" : "volume_upper");
		return -1;
	}
	if (!(b->level > 0 && b->level < 1)) {
		snprintf(err, errsize, "%sinterval_level %g is outside (0, 1)", prefix, b->level);
		return -1;
	}
	return 0;
}

/*
 * Check that a wider level has upper bounds at least those of a narrower
 * one.  Bounds that do not nest come from a broken forecast, and the tail
 * read from them would give a lower risk no more headroom.
 */
static int
check_nested(const struct pa_forecast_bounds *all, size_t count, char *err, size_t errsize)
{
	for (size_t i = 0; i < count; i++)
		for (size_t j = 0; j < count; j++) {
			const struct pa_forecast_bounds *a = &all[i], *b = &all[j];

			if (!(a->level < b->level) || isnan(a->volume_upper) || isnan(b->volume_upper))
				continue;
			if (b->volume_upper < a->volume_upper) {
				snprintf(err, errsize, "the %g%% interval's volume_upper %g lies below "
					 "the %g%% interval's %g: the levels do not nest",
					 b->level * 100, b->volume_upper, a->level * 100,
					 a->volume_upper);
				return -1;
			}
			if (!isnan(a->complexity_upper) && !isnan(b->complexity_upper) &&
			    b->complexity_upper < a->complexity_upper) {
				snprintf(err, errsize, "the %g%% interval's complexity_upper %g lies "
					 "below the %g%% interval's %g: the levels do not nest",
					 b->level * 100, b->complexity_upper, a->level * 100,
					 a->complexity_upper);
				return -1;
			}
		}
	return 0;
}

/* Standard deviation of work per second under one interval. */
static double
work_sigma(const struct pa_forecast_point *p, const struct pa_forecast_bounds *b)
{
	double sv = sigma_from_bounds(p->volume, b->volume_lower, b->volume_upper, b->level);
	double sc = sigma_from_bounds(p->complexity, b->complexity_lower, b->complexity_upper,
				      b->level);

	/* Var(VC) for independent V, C: mc^2 sv^2 + mv^2 sc^2 + sv^2 sc^2. */
	return sqrt(p->complexity * p->complexity * sv * sv + p->volume * p->volume * sc * sc +
		    sv * sv * sc * sc) / p->step_s;
}

/*
 * Put the work quantile of each interval's level on the upper tail, in
 * rising z.  A level given twice counts once, and a point below the one
 * before it is raised to it, so the tail never falls.
 */
static void
build_tail(const struct pa_forecast_point *p, const struct pa_forecast_bounds *all, size_t count,
	   struct pa_work_dist *out)
{
	out->ntail = 0;
	for (size_t i = 0; i < count; i++) {
		double z, work;
		size_t j;

		if (isnan(all[i].volume_upper))
			continue;
		z = gsl_cdf_ugaussian_Pinv((1 + all[i].level) / 2);
		work = out->mean + work_sigma(p, &all[i]) * z;
		for (j = out->ntail; j > 0 && out->tail_z[j - 1] > z; j--) {
			out->tail_z[j] = out->tail_z[j - 1];
			out->tail_work[j] = out->tail_work[j - 1];
		}
		if (j > 0 && fabs(out->tail_z[j - 1] - z) < 1e-12) {
			/* The same level again: undo the shift. */
			for (size_t k = j; k < out->ntail; k++) {
				out->tail_z[k] = out->tail_z[k + 1];
				out->tail_work[k] = out->tail_work[k + 1];
			}
			continue;
		}
		out->tail_z[j] = z;
		out->tail_work[j] = work;
		out->ntail++;
	}
	for (size_t i = 1; i < out->ntail; i++)
		if (out->tail_work[i] < out->tail_work[i - 1])
			out->tail_work[i] = out->tail_work[i - 1];
}

int
pa_work_dist_from_forecast(const struct pa_forecast_point *p, struct pa_work_dist *out,
			   char *err, size_t errsize)
{
	struct pa_forecast_bounds all[1 + PA_PLAN_LEVELS_MAX];
	size_t count = 0;

	/* The widest bucket the tools take is a leap year, and far beyond it bucket ends overflow. */
	if (!(p->step_s > 0 && p->step_s <= 366 * 86400.0)) {
		snprintf(err, errsize, "step_s %g is not a bucket width above 0 and up to 31622400 seconds",
			 p->step_s);
		return -1;
	}
	if (bad_value(p->volume)) {
		snprintf(err, errsize, "predicted_volume %g is negative, not finite or above 1e16", p->volume);
		return -1;
	}
	if (bad_value(p->complexity)) {
		snprintf(err, errsize, "predicted_complexity %g is negative, not finite or above 1e16",
			 p->complexity);
		return -1;
	}
	all[count++] = (struct pa_forecast_bounds){ p->level, p->volume_lower, p->volume_upper,
						    p->complexity_lower, p->complexity_upper };
	if (check_bounds(p, &all[0], "", err, errsize) != 0)
		return -1;
	for (size_t i = 0; i < p->nextra && i < PA_PLAN_LEVELS_MAX; i++) {
		char prefix[32];

		snprintf(prefix, sizeof prefix, "intervals[%zu].", i);
		if (check_bounds(p, &p->extra[i], prefix, err, errsize) != 0)
			return -1;
		all[count++] = p->extra[i];
	}

	if (check_nested(all, count, err, errsize) != 0)
		return -1;

	out->mean = p->volume * p->complexity / p->step_s;
	out->sigma = work_sigma(p, &all[0]);
	out->level = isnan(p->volume_upper) ? 0 : p->level;
	out->lower = (isnan(p->volume_lower) ? p->volume : fmax(p->volume_lower, 0)) *
		     (isnan(p->complexity_lower) ? p->complexity : fmax(p->complexity_lower, 0)) /
		     p->step_s;
	out->upper = (isnan(p->volume_upper) ? p->volume : p->volume_upper) *
		     (isnan(p->complexity_upper) ? p->complexity : p->complexity_upper) / p->step_s;
	build_tail(p, all, count, out);
	return 0;
}

/*
 * The line of the upper tail at z >= 0: work = *a + *b * z on the segment
 * that contains z, the last one extended beyond its end.  Returns the
 * segment's end in z (HUGE_VAL for the last).
 */
static double
tail_line(const struct pa_work_dist *d, size_t segment, double *a, double *b)
{
	double z0 = segment == 0 ? 0 : d->tail_z[segment - 1];
	double w0 = segment == 0 ? d->mean : d->tail_work[segment - 1];
	size_t last = d->ntail - 1;
	size_t to = segment < last ? segment : last;
	double z1 = d->tail_z[to], w1 = d->tail_work[to];

	if (segment > last) {
		/* Beyond the last point: the slope of the last segment. */
		z0 = last == 0 ? 0 : d->tail_z[last - 1];
		w0 = last == 0 ? d->mean : d->tail_work[last - 1];
	}
	*b = (w1 - w0) / (z1 - z0);
	*a = w1 - *b * z1;
	return segment < d->ntail ? d->tail_z[segment] : HUGE_VAL;
}

static int
has_tail(const struct pa_work_dist *d)
{
	return d->ntail >= 2 && d->sigma > 0;
}

double
pa_plan_work_quantile(const struct pa_work_dist *d, double risk)
{
	double q;

	if (risk < 0) {
		q = d->upper;
	} else if (d->sigma <= 0) {
		q = d->mean;
	} else {
		double z = gsl_cdf_ugaussian_Qinv(risk);

		q = d->mean + d->sigma * z;
		if (has_tail(d) && z > 0) {
			double a, b;
			size_t segment = 0;

			while (tail_line(d, segment, &a, &b) < z)
				segment++;
			q = a + b * z;
		}
	}
	return q > 0 ? q : 0;
}

long
pa_plan_instances_for(double work, double per_instance)
{
	double n;

	assert(per_instance > 0);
	if (!(work > 0))
		return 0;

	/* The relative slack keeps 100 / 20 from becoming 6 through rounding. */
	n = ceil(work / per_instance * (1 - 1e-12));
	return n < 1e15 ? (long)n : (long)1e15;
}

long
pa_plan_need(const struct pa_plan_settings *s, const struct pa_work_dist *d)
{
	double work = pa_plan_work_quantile(d, s->risk);

	return pa_plan_instances_for(work, s->capacity * s->target_utilization);
}

double
pa_plan_overload_probability(const struct pa_work_dist *d, double capacity)
{
	if (d->sigma <= 0)
		return d->mean > capacity ? 1 : 0;

	/*
	 * Below the forecast's lower bound, the bound itself gives how likely
	 * more work is, whatever spread the normal part has on that side.
	 */
	if (d->level > 0 && capacity <= d->lower) {
		double p = gsl_cdf_ugaussian_Q((capacity - d->mean) / d->sigma);
		double least = 1 - (1 - d->level) / 2;

		return p > least ? p : least;
	}
	if (has_tail(d) && capacity > d->mean) {
		/* The z at which the tail reaches the capacity. */
		for (size_t segment = 0;; segment++) {
			double a, b, end = tail_line(d, segment, &a, &b);

			if (b > 0 && a + b * end >= capacity)
				return gsl_cdf_ugaussian_Q((capacity - a) / b);
			if (end == HUGE_VAL)
				return 0;
		}
	}
	return gsl_cdf_ugaussian_Q((capacity - d->mean) / d->sigma);
}

/* E[(a + b Z - c)+] over z in [lo, hi] for a standard normal Z, where the line is above c. */
static double
line_excess(double a, double b, double c, double lo, double hi)
{
	double mass = gsl_cdf_ugaussian_P(hi) - gsl_cdf_ugaussian_P(lo);

	return (a - c) * mass + b * (gsl_ran_ugaussian_pdf(lo) - gsl_ran_ugaussian_pdf(hi));
}

double
pa_plan_expected_unserved(const struct pa_work_dist *d, double capacity)
{
	double z, sum = 0, lo;

	if (d->sigma <= 0)
		return d->mean > capacity ? d->mean - capacity : 0;
	if (!has_tail(d)) {
		/* E[(W - c)+] for W ~ N(mu, sigma^2): sigma * (phi(z) - z Q(z)). */
		z = (capacity - d->mean) / d->sigma;
		return d->sigma * (gsl_ran_ugaussian_pdf(z) - z * gsl_cdf_ugaussian_Q(z));
	}

	/* Below the mean the normal part, from where it crosses the capacity. */
	lo = 0;
	if (capacity < d->mean) {
		z = (capacity - d->mean) / d->sigma;
		sum += line_excess(d->mean, d->sigma, capacity, z, 0);
	}
	for (size_t segment = 0;; segment++) {
		double a, b, hi = tail_line(d, segment, &a, &b), from = lo;

		/* Only the part of the segment above the capacity adds. */
		if (b > 0 && a + b * from < capacity)
			from = (capacity - a) / b;
		if (from < hi && (b > 0 || a + b * from > capacity))
			sum += line_excess(a, b, capacity, from, hi);
		if (hi == HUGE_VAL)
			break;
		lo = hi;
	}
	return sum;
}

int
pa_plan_learn_capacity(const double *work, const double *load, size_t n,
		       double *capacity, double *r2, char *err, size_t errsize)
{
	double wl = 0, ww = 0, lsum = 0, mean, spread = 0, slope, residual = 0;
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		if (!(work[i] > 0) || !(load[i] >= 0) || !isfinite(work[i]) || !isfinite(load[i]))
			continue;
		wl += work[i] * load[i];
		ww += work[i] * work[i];
		lsum += load[i];
		used++;
	}
	if (used < 3) {
		snprintf(err, errsize, "%zu buckets with both usage and work, at least 3 needed", used);
		return -1;
	}
	slope = wl / ww;
	if (!(slope > 0)) {
		snprintf(err, errsize, "utilization does not rise with work");
		return -1;
	}
	mean = lsum / (double)used;
	for (size_t i = 0; i < n; i++) {
		if (!(work[i] > 0) || !(load[i] >= 0) || !isfinite(work[i]) || !isfinite(load[i]))
			continue;
		residual += (load[i] - slope * work[i]) * (load[i] - slope * work[i]);
		spread += (load[i] - mean) * (load[i] - mean);
	}

	/*
	 * R^2 against the mean utilization, the usual one: the uncentred form
	 * of a fit through the origin is high even when utilization ignores
	 * work.  Below 0 the line explains less than a constant would, and a
	 * capacity read from it would size nothing.
	 */
	/* Rounding leaves a constant utilization a spread near 1e-30, not 0. */
	if (spread <= 1e-12 * (double)used * (mean * mean + 1e-12)) {
		snprintf(err, errsize, "utilization is the same in all %zu buckets, so it cannot show "
			 "how work loads an instance; give the capacity", used);
		return -1;
	}
	*r2 = 1 - residual / spread;
	if (*r2 < 0) {
		snprintf(err, errsize, "utilization is not proportional to work: a line through "
			 "the origin explains less than its mean does (R^2 %.2f over %zu buckets), "
			 "as an idle baseline in cpu_usage makes it; give the capacity", *r2, used);
		return -1;
	}
	*capacity = 1 / slope;
	return 0;
}

const char *
pa_plan_action_name(enum pa_plan_action a)
{
	switch (a) {
	case PA_PLAN_PROVISION:
		return "provision";
	case PA_PLAN_DECOMMISSION:
		return "decommission";
	case PA_PLAN_HOLD:
		break;
	}
	return "hold";
}

void
pa_plan_split(const struct pa_plan_settings *s, long n, double work_lower,
	      long *on_demand, long *spot, double *hourly_cost)
{
	double spot_expected, share;
	long keep;

	assert(n >= 0);
	spot_expected = s->spot_price + s->spot_interruption * s->on_demand_price * s->lead_time_s / 3600;
	if (s->spot_price < 0 || spot_expected >= s->on_demand_price) {
		*on_demand = n;
		*spot = 0;
		*hourly_cost = n * s->on_demand_price;
		return;
	}

	keep = s->on_demand_base;
	share = ceil(s->on_demand_share * n - 1e-9);
	if (share > keep)
		keep = (long)share;
	if (pa_plan_instances_for(work_lower, s->capacity) > keep)
		keep = pa_plan_instances_for(work_lower, s->capacity);
	if (keep > n)
		keep = n;
	*on_demand = keep;
	*spot = n - keep;
	*hourly_cost = keep * s->on_demand_price + (n - keep) * spot_expected;
}

static const char *
instances_word(long n)
{
	return n == 1 ? "instance" : "instances";
}

/* Steps 5 and 6: step limits against current, then min and max. */
static long
limit_and_clamp(const struct pa_plan_settings *s, const struct pa_plan_input *in, long want,
		const char **reason, char *msg, size_t msgsize)
{
	long n = want;

	if (in->current >= 0 && s->scale_up_factor > 0) {
		double by_factor = ceil(in->current * s->scale_up_factor);
		long limit = in->current + s->scale_up_step;

		if (by_factor > limit)
			limit = by_factor < 1e15 ? (long)by_factor : (long)1e15;
		if (n > limit) {
			n = limit;
			*reason = "ScaleUpLimit";
			snprintf(msg, msgsize, "scale-up limited to %ld from %ld (need %ld)",
				 limit, in->current, want);
		}
	}
	if (in->current >= 0 && s->scale_down_step > 0 && n < in->current - s->scale_down_step) {
		n = in->current - s->scale_down_step;
		*reason = "ScaleDownLimit";
		snprintf(msg, msgsize, "scale-down limited to %ld %s at a time (need %ld)",
			 s->scale_down_step, instances_word(s->scale_down_step), want);
	}

	/* Bounds last: a step limit never carries a count past them. */
	if (n > s->max_instances) {
		snprintf(msg, msgsize, "the desired count %ld is more than the maximum %ld", n,
			 s->max_instances);
		n = s->max_instances;
		*reason = "TooManyReplicas";
	} else if (n < s->min_instances) {
		snprintf(msg, msgsize, "the desired count %ld is less than the minimum %ld", n,
			 s->min_instances);
		n = s->min_instances;
		*reason = "TooFewReplicas";
	}
	return n;
}

void
pa_plan_decide(const struct pa_plan_settings *s, const struct pa_plan_input *in,
	       struct pa_plan_result *out)
{
	char msg[PA_PLAN_MESSAGE_MAX - 64];	/* room for the unknown-current prefix */
	const char *reason;
	double work, full;
	long n, floor_load = 0;

	memset(out, 0, sizeof *out);
	work = pa_plan_work_quantile(&in->target, s->risk);
	out->need = pa_plan_need(s, &in->target);
	n = out->need;
	if (in->current >= 0 && n > in->current) {
		reason = "ScaleUpForecast";
	} else if (in->current >= 0 && n < in->current) {
		reason = "ScaleDownForecast";
	} else {
		reason = "DesiredWithinRange";
	}
	snprintf(msg, sizeof msg, "forecast work %.4g/s at the target needs %ld %s", work, n,
		 instances_word(n));

	/* Step 2: the load already present is a floor a forecast miss cannot cut. */
	if (in->current_load > 0) {
		floor_load = pa_plan_instances_for(in->current_load, 1.0);
		if (floor_load > n) {
			n = floor_load;
			reason = in->current >= 0 && n > in->current ? "ScaleUpCurrentLoad" : "CurrentLoad";
			snprintf(msg, sizeof msg,
				 "current load %.4g instances' worth needs %ld, forecast needs %ld",
				 in->current_load, n, out->need);
		}
	}

	/* Steps 3 and 4 only matter for a scale-in. */
	if (in->current >= 0 && n < in->current) {
		if (in->window_need > n) {
			long held = in->window_need < in->current ? in->window_need : in->current;

			snprintf(msg, sizeof msg,
				 "the largest need in the stabilization window is %ld, the target needs %ld",
				 in->window_need, n);
			n = held;
			reason = "ScaleDownStabilized";
		}
		if (n < in->current && in->signals_missing > 0) {
			snprintf(msg, sizeof msg,
				 "utilization missing or invalid on %ld of %ld %s, scale-down blocked (need %ld)",
				 in->signals_missing, in->current, instances_word(in->current), n);
			n = in->current;
			reason = "ScaleDownBlocked";
		}
	} else if (in->current < 0 && in->window_need > n) {
		/* With the fleet unknown, a scale-in cannot be ruled out, so the window holds. */
		snprintf(msg, sizeof msg,
			 "the largest need in the stabilization window is %ld, the target needs %ld",
			 in->window_need, n);
		n = in->window_need;
	}

	n = limit_and_clamp(s, in, n, &reason, msg, sizeof msg);

	out->optimal = n;
	if (in->current < 0) {
		out->action = PA_PLAN_PROVISION;
		out->delta = 0;
		snprintf(out->message, sizeof out->message, "%s%s", PA_PLAN_UNKNOWN_PREFIX, msg);
		reason = "CurrentUnknown";
	} else {
		out->delta = n - in->current;
		out->action = out->delta > 0 ? PA_PLAN_PROVISION
			    : out->delta < 0 ? PA_PLAN_DECOMMISSION : PA_PLAN_HOLD;
		snprintf(out->message, sizeof out->message, "%s", msg);
	}
	out->reason = reason;

	full = n * s->capacity;
	out->overload_probability = pa_plan_overload_probability(&in->target, full);
	out->expected_unserved = pa_plan_expected_unserved(&in->target, full);

	/*
	 * Served work is min(W, capacity) for work W >= 0.  The normal part of
	 * the distribution puts mass below zero, so E[W+] rather than the mean
	 * is the work offered: with the mean, a demand a hundred times the
	 * capacity and a wide interval gave a utilization of 0.17.
	 */
	out->expected_utilization = full > 0 ? (pa_plan_expected_unserved(&in->target, 0) -
						 out->expected_unserved) / full : 0;
	/* E[min(W, c)] >= c P(W >= c), which the lower bound may know better. */
	if (out->expected_utilization < out->overload_probability)
		out->expected_utilization = out->overload_probability;
	if (out->expected_utilization > 1)
		out->expected_utilization = 1;
	pa_plan_split(s, n, in->target.lower, &out->on_demand, &out->spot, &out->hourly_cost);

	/* A forecast without an interval gives no measure of the risk: 0 would claim none. */
	if (in->target.level == 0 && in->target.sigma == 0) {
		size_t len = strlen(out->message);

		out->overload_probability = NAN;
		out->expected_unserved = NAN;
		snprintf(out->message + len, sizeof out->message - len,
			 "; the forecast has no interval, so the overload risk is unknown");
	}
}
