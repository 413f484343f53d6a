/*
 * plan.c - sizing, the scale rules and the on-demand/spot split.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

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
	else if (s->risk >= 0 && !(s->risk > 0 && s->risk < 1))
		snprintf(err, errsize, "risk %g is outside (0, 1)", s->risk);
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

static int
bad_value(double v)
{
	return !isfinite(v) || v < 0;
}

int
pa_work_dist_from_forecast(const struct pa_forecast_point *p, struct pa_work_dist *out,
			   char *err, size_t errsize)
{
	double sv, sc, var;
	int have_bounds;

	if (!(p->step_s > 0) || !isfinite(p->step_s)) {
		snprintf(err, errsize, "step_s %g is not a positive number", p->step_s);
		return -1;
	}
	{
		static const char *names[] = { "predicted_volume", "volume_lower", "volume_upper",
					       "predicted_complexity", "complexity_lower",
					       "complexity_upper" };
		const double values[] = { p->volume, p->volume_lower, p->volume_upper,
					  p->complexity, p->complexity_lower, p->complexity_upper };

		/* Absent bounds are NAN; the two predictions must be present.  A
		 * symmetric interval may reach below zero, and a lower bound under
		 * zero says no more than zero, so only the others must not. */
		for (size_t i = 0; i < 6; i++) {
			if (isnan(values[i]) && i != 0 && i != 3)
				continue;
			if ((i == 1 || i == 4) && isfinite(values[i]) && values[i] < 0)
				continue;
			if (bad_value(values[i])) {
				snprintf(err, errsize, "%s %g is negative or not finite", names[i], values[i]);
				return -1;
			}
		}
	}
	if ((!isnan(p->volume_lower) && p->volume_lower > p->volume) ||
	    (!isnan(p->volume_upper) && p->volume_upper < p->volume)) {
		snprintf(err, errsize, "volume bounds %g..%g do not enclose predicted_volume %g",
			 p->volume_lower, p->volume_upper, p->volume);
		return -1;
	}
	if ((!isnan(p->complexity_lower) && p->complexity_lower > p->complexity) ||
	    (!isnan(p->complexity_upper) && p->complexity_upper < p->complexity)) {
		snprintf(err, errsize, "complexity bounds %g..%g do not enclose predicted_complexity %g",
			 p->complexity_lower, p->complexity_upper, p->complexity);
		return -1;
	}
	have_bounds = !isnan(p->volume_upper);
	if (have_bounds && !(p->level > 0 && p->level < 1)) {
		snprintf(err, errsize, "interval_level %g is outside (0, 1)", p->level);
		return -1;
	}

	sv = sigma_from_bounds(p->volume, p->volume_lower, p->volume_upper, p->level);
	sc = sigma_from_bounds(p->complexity, p->complexity_lower, p->complexity_upper, p->level);

	/* Var(VC) for independent V, C: mc^2 sv^2 + mv^2 sc^2 + sv^2 sc^2. */
	var = p->complexity * p->complexity * sv * sv + p->volume * p->volume * sc * sc + sv * sv * sc * sc;
	out->mean = p->volume * p->complexity / p->step_s;
	out->sigma = sqrt(var) / p->step_s;
	out->level = have_bounds ? p->level : 0;
	out->lower = (isnan(p->volume_lower) ? p->volume : fmax(p->volume_lower, 0)) *
		     (isnan(p->complexity_lower) ? p->complexity : fmax(p->complexity_lower, 0)) /
		     p->step_s;
	out->upper = (isnan(p->volume_upper) ? p->volume : p->volume_upper) *
		     (isnan(p->complexity_upper) ? p->complexity : p->complexity_upper) / p->step_s;
	return 0;
}

double
pa_plan_work_quantile(const struct pa_work_dist *d, double risk)
{
	double q;

	if (risk < 0)
		q = d->upper;
	else if (d->sigma <= 0)
		q = d->mean;
	else
		q = d->mean + d->sigma * gsl_cdf_ugaussian_Qinv(risk);
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
	return gsl_cdf_ugaussian_Q((capacity - d->mean) / d->sigma);
}

double
pa_plan_expected_unserved(const struct pa_work_dist *d, double capacity)
{
	double z;

	if (d->sigma <= 0)
		return d->mean > capacity ? d->mean - capacity : 0;

	/* E[(W - c)+] for W ~ N(mu, sigma^2): sigma * (phi(z) - z Q(z)). */
	z = (capacity - d->mean) / d->sigma;
	return d->sigma * (gsl_ran_ugaussian_pdf(z) - z * gsl_cdf_ugaussian_Q(z));
}

int
pa_plan_learn_capacity(const double *work, const double *load, size_t n,
		       double *capacity, double *r2, char *err, size_t errsize)
{
	double wl = 0, ww = 0, ll = 0, slope, residual = 0;
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		if (!(work[i] > 0) || !(load[i] >= 0) || !isfinite(work[i]) || !isfinite(load[i]))
			continue;
		wl += work[i] * load[i];
		ww += work[i] * work[i];
		ll += load[i] * load[i];
		used++;
	}
	if (used < 3) {
		snprintf(err, errsize, "%zu usage samples with work beside them, at least 3 needed", used);
		return -1;
	}
	slope = wl / ww;
	if (!(slope > 0)) {
		snprintf(err, errsize, "utilization does not rise with work");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(work[i] > 0) || !(load[i] >= 0) || !isfinite(work[i]) || !isfinite(load[i]))
			continue;
		residual += (load[i] - slope * work[i]) * (load[i] - slope * work[i]);
	}
	*capacity = 1 / slope;
	*r2 = ll > 0 ? 1 - residual / ll : 0;
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
	out->expected_utilization = full > 0 ? (in->target.mean - out->expected_unserved) / full : 0;
	if (out->expected_utilization < 0)
		out->expected_utilization = 0;
	pa_plan_split(s, n, in->target.lower, &out->on_demand, &out->spot, &out->hourly_cost);
}
