/*
 * test_plan.c - sizing numerics, the scale rules and the settings layers.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#include "backtest.h"
#include "plan.h"

#include "planconf.h"
#include "unit.h"

/* A work distribution with no interval: work is exactly mean. */
static struct pa_work_dist
exact(double mean)
{
	struct pa_work_dist d = { .mean = mean, .lower = mean, .upper = mean };

	return d;
}

static struct pa_plan_settings
settings(double capacity, long min, long max)
{
	struct pa_plan_settings s;

	pa_plan_settings_default(&s);
	s.capacity = capacity;
	s.min_instances = min;
	s.max_instances = max;
	return s;
}

static struct pa_plan_input
input(double work, long current, double load)
{
	struct pa_plan_input in;

	in.target = exact(work);
	in.window_need = -1;
	in.current = current;
	in.current_load = load;
	in.signals_missing = 0;
	return in;
}

static void
test_instances_for(void)
{
	CHECK("instances_for exact multiple", pa_plan_instances_for(100, 20) == 5);
	CHECK("instances_for just above", pa_plan_instances_for(100.5, 20) == 6);
	CHECK("instances_for zero work", pa_plan_instances_for(0, 20) == 0);
	CHECK("instances_for tiny work", pa_plan_instances_for(1e-9, 20) == 1);
}

static void
test_work_dist(void)
{
	struct pa_forecast_point p;
	struct pa_work_dist d;
	char err[200];
	double z = 1.959963984540054;

	/* Volume 100 per 10 s with sigma 10, complexity exactly 2. */
	p.step_s = 10;
	p.volume = 100;
	p.volume_lower = 100 - 10 * z;
	p.volume_upper = 100 + 10 * z;
	p.complexity = 2;
	p.complexity_lower = NAN;
	p.complexity_upper = NAN;
	p.level = 0.95;
	p.nextra = 0;
	CHECK("work dist accepts", pa_work_dist_from_forecast(&p, &d, err, sizeof err) == 0);
	CHECK_NEAR("work dist mean", d.mean, 20, 1e-9);
	CHECK_NEAR("work dist sigma", d.sigma, 2, 1e-9);
	CHECK_NEAR("work quantile median", pa_plan_work_quantile(&d, 0.5), 20, 1e-9);
	CHECK_NEAR("work quantile 5%", pa_plan_work_quantile(&d, 0.05), 20 + 2 * 1.6448536269514722, 1e-6);
	CHECK_NEAR("work quantile upper bound", pa_plan_work_quantile(&d, -1), d.upper, 1e-12);
	CHECK_NEAR("overload at mean", pa_plan_overload_probability(&d, 20), 0.5, 1e-12);
	CHECK_NEAR("unserved at mean", pa_plan_expected_unserved(&d, 20), 2 * 0.3989422804014327, 1e-9);

	/* A symmetric interval reaching below zero is accepted and read as zero. */
	p.volume_lower = -5;
	p.complexity_lower = -1;
	CHECK("work dist accepts negative lower", pa_work_dist_from_forecast(&p, &d, err, sizeof err) == 0);
	CHECK_NEAR("negative lower read as zero", d.lower, 0, 0);
	p.volume_lower = 100 - 10 * z;
	p.complexity_lower = NAN;

	p.volume = NAN;
	CHECK("work dist rejects NaN", pa_work_dist_from_forecast(&p, &d, err, sizeof err) != 0);
	p.volume = -1;
	CHECK("work dist rejects negative", pa_work_dist_from_forecast(&p, &d, err, sizeof err) != 0);
	p.volume = 100;
	p.volume_upper = 90;
	CHECK("work dist rejects bounds below point",
	      pa_work_dist_from_forecast(&p, &d, err, sizeof err) != 0);
	p.volume_upper = 120;
	p.level = 95;
	CHECK("work dist rejects level as percent",
	      pa_work_dist_from_forecast(&p, &d, err, sizeof err) != 0);

	/* An upper bound needs its level, and a forecast without bounds does not. */
	p.level = NAN;
	CHECK("work dist rejects missing level",
	      pa_work_dist_from_forecast(&p, &d, err, sizeof err) != 0);
	CHECK("missing level named", strstr(err, "interval_level is missing") != NULL);
	p.volume_lower = p.volume_upper = NAN;
	p.complexity_upper = 3;
	CHECK("complexity bound needs level",
	      pa_work_dist_from_forecast(&p, &d, err, sizeof err) != 0);
	CHECK("complexity bound named", strstr(err, "complexity_upper") != NULL);
	p.complexity_upper = NAN;
	CHECK("no bounds need no level", pa_work_dist_from_forecast(&p, &d, err, sizeof err) == 0);
}

/*
 * E[(W - c)+] by the trapezoid rule over z in [-8, 8], with W at z read
 * from pa_plan_work_quantile(), as a check of the closed form.
 */
static double
unserved_by_quadrature(const struct pa_work_dist *d, double capacity)
{
	double sum = 0, dz = 1e-4;

	for (double z = -8; z < 8; z += dz) {
		double w0 = pa_plan_work_quantile(d, gsl_cdf_ugaussian_Q(z));
		double w1 = pa_plan_work_quantile(d, gsl_cdf_ugaussian_Q(z + dz));
		double f0 = fmax(w0 - capacity, 0) * gsl_ran_ugaussian_pdf(z);
		double f1 = fmax(w1 - capacity, 0) * gsl_ran_ugaussian_pdf(z + dz);

		sum += (f0 + f1) / 2 * dz;
	}
	return sum;
}

/*
 * A log-normal volume, as a forecast on the log1p scale gives it: median
 * 100, log standard deviation 0.5, intervals at 80%, 95% and 99%.  Its
 * upper bounds are exact quantiles, so sizing at the risk of one level's
 * upper tail must land on that bound, where a normal read of the 95%
 * interval alone would fall short.
 */
static void
test_work_dist_skewed(void)
{
	static const double levels[] = { 0.8, 0.95, 0.99 };
	struct pa_forecast_point p = { .step_s = 1, .volume = 100, .complexity = 1,
				       .complexity_lower = NAN, .complexity_upper = NAN };
	struct pa_work_dist d, normal;
	char err[200];
	double upper99 = 100 * exp(0.5 * gsl_cdf_ugaussian_Pinv(0.995));
	double upper95 = 100 * exp(0.5 * gsl_cdf_ugaussian_Pinv(0.975));

	p.level = 0.95;
	p.volume_lower = 100 * exp(-0.5 * gsl_cdf_ugaussian_Pinv(0.975));
	p.volume_upper = upper95;
	CHECK("skewed single level accepted", pa_work_dist_from_forecast(&p, &normal, err, sizeof err) == 0);
	CHECK("single level has no tail curve", normal.ntail == 1);

	for (size_t i = 0; i < 3; i++) {
		double z = gsl_cdf_ugaussian_Pinv((1 + levels[i]) / 2);

		p.extra[i] = (struct pa_forecast_bounds){ levels[i], 100 * exp(-0.5 * z),
							  100 * exp(0.5 * z), NAN, NAN };
	}
	p.nextra = 3;
	CHECK("skewed levels accepted", pa_work_dist_from_forecast(&p, &d, err, sizeof err) == 0);
	CHECK("repeated level counted once", d.ntail == 3);
	CHECK_NEAR("skewed quantile at 99% bound", pa_plan_work_quantile(&d, 0.005), upper99, 1e-6);
	CHECK_NEAR("skewed quantile at 95% bound", pa_plan_work_quantile(&d, 0.025), upper95, 1e-6);
	CHECK("normal read falls short", pa_plan_work_quantile(&normal, 0.005) < upper99 - 40);
	CHECK_NEAR("skewed quantile median", pa_plan_work_quantile(&d, 0.5), 100, 1e-9);
	CHECK("skewed quantile beyond last level rises",
	      pa_plan_work_quantile(&d, 0.001) > upper99);
	CHECK_NEAR("overload at 99% bound", pa_plan_overload_probability(&d, upper99), 0.005, 1e-9);
	CHECK_NEAR("overload at 95% bound", pa_plan_overload_probability(&d, upper95), 0.025, 1e-9);
	CHECK_NEAR("overload at median", pa_plan_overload_probability(&d, 100), 0.5, 1e-9);
	for (double c = 50; c <= 500; c += 75) {
		char name[64];

		snprintf(name, sizeof name, "skewed unserved at %g", c);
		CHECK_NEAR(name, pa_plan_expected_unserved(&d, c), unserved_by_quadrature(&d, c), 1e-3);
	}

	/* Levels from one normal distribution give the same results as one level. */
	p.volume_lower = 80;
	p.volume_upper = 120;
	for (size_t i = 0; i < 3; i++) {
		double z = gsl_cdf_ugaussian_Pinv((1 + levels[i]) / 2);

		p.extra[i] = (struct pa_forecast_bounds){ levels[i], 100 - 20 / 1.959963984540054 * z,
							  100 + 20 / 1.959963984540054 * z, NAN, NAN };
	}
	CHECK("normal levels accepted", pa_work_dist_from_forecast(&p, &d, err, sizeof err) == 0);
	normal = d;
	normal.ntail = 0;
	CHECK_NEAR("normal levels quantile", pa_plan_work_quantile(&d, 0.001),
		   pa_plan_work_quantile(&normal, 0.001), 1e-9);
	CHECK_NEAR("normal levels unserved", pa_plan_expected_unserved(&d, 110),
		   pa_plan_expected_unserved(&normal, 110), 1e-9);

	/* A bad extra level is named by its position. */
	p.extra[1].volume_upper = 50;
	CHECK("extra bounds below point rejected", pa_work_dist_from_forecast(&p, &d, err, sizeof err) != 0);
	CHECK("extra bounds named", strstr(err, "intervals[1].volume_upper 50 is below") != NULL);
	p.extra[1].volume_upper = 150;
	p.extra[2].level = 1.5;
	CHECK("extra level rejected", pa_work_dist_from_forecast(&p, &d, err, sizeof err) != 0);
	CHECK("extra level named", strstr(err, "intervals[2].interval_level 1.5") != NULL);
}

static void
test_decide_scaling(void)
{
	struct pa_plan_settings s = settings(10, 1, 100);
	struct pa_plan_input in;
	struct pa_plan_result r;

	in = input(45, 2, 1.0);
	pa_plan_decide(&s, &in, &r);
	CHECK("scale up optimal", r.optimal == 5);
	CHECK_STR("scale up reason", r.reason, "ScaleUpForecast");
	CHECK_STR("scale up action", pa_plan_action_name(r.action), "provision");
	CHECK("scale up delta", r.delta == 3);

	in = input(15, 6, 2.0);
	pa_plan_decide(&s, &in, &r);
	CHECK("scale down optimal", r.optimal == 2);
	CHECK_STR("scale down reason", r.reason, "ScaleDownForecast");
	CHECK_STR("scale down action", pa_plan_action_name(r.action), "decommission");

	/* The load present (4.2 instances' worth) outweighs a low forecast. */
	in = input(15, 6, 4.2);
	pa_plan_decide(&s, &in, &r);
	CHECK("current load floor", r.optimal == 5);
	CHECK_STR("current load reason", r.reason, "CurrentLoad");

	in = input(15, 6, 2.0);
	in.window_need = 4;
	pa_plan_decide(&s, &in, &r);
	CHECK("stabilization holds", r.optimal == 4);
	CHECK_STR("stabilization reason", r.reason, "ScaleDownStabilized");

	/* With the fleet unknown the window's need sets the count too, and the message gives it. */
	in = input(15, -1, -1);
	in.window_need = 7;
	pa_plan_decide(&s, &in, &r);
	CHECK("unknown fleet window optimal", r.optimal == 7);
	CHECK("unknown fleet window message",
	      strstr(r.message, "the largest need in the stabilization window is 7, the target needs 2") != NULL);

	in = input(15, 6, 2.0);
	in.signals_missing = 1;
	pa_plan_decide(&s, &in, &r);
	CHECK("missing signals block scale-in", r.optimal == 6);
	CHECK_STR("missing signals reason", r.reason, "ScaleDownBlocked");
	CHECK_STR("missing signals action", pa_plan_action_name(r.action), "hold");

	in = input(45, -1, -1);
	pa_plan_decide(&s, &in, &r);
	CHECK("unknown current optimal", r.optimal == 5);
	CHECK_STR("unknown current reason", r.reason, "CurrentUnknown");
	CHECK("unknown current message", strstr(r.message, "unknown") != NULL);
}

/* The three scenarios of the autoscaler bug where a rate cap beat maxReplicas. */
static void
test_bounds_last(void)
{
	struct pa_plan_settings s;
	struct pa_plan_input in;
	struct pa_plan_result r;

	s = settings(50, 2, 4);
	in = input(1600, 4, 2.0);
	pa_plan_decide(&s, &in, &r);
	CHECK("rate cap above max", r.optimal == 4);
	CHECK_STR("rate cap above max reason", r.reason, "TooManyReplicas");

	s = settings(50, 1, 4);
	in = input(400, 6, 3.0);
	pa_plan_decide(&s, &in, &r);
	CHECK("current above max", r.optimal == 4);
	CHECK_STR("current above max action", pa_plan_action_name(r.action), "decommission");

	s = settings(50, 1, 3);
	in = input(1000, 1, 0.9);
	pa_plan_decide(&s, &in, &r);
	CHECK("min step above max", r.optimal == 3);

	/* Without a max in the way the step limit does apply. */
	s = settings(50, 1, 100);
	in = input(1600, 4, 2.0);
	pa_plan_decide(&s, &in, &r);
	CHECK("scale-up limit", r.optimal == 8);
	CHECK_STR("scale-up limit reason", r.reason, "ScaleUpLimit");

	s = settings(10, 1, 100);
	s.scale_down_step = 2;
	in = input(10, 10, 1.0);
	pa_plan_decide(&s, &in, &r);
	CHECK("scale-down step", r.optimal == 8);
	CHECK_STR("scale-down step reason", r.reason, "ScaleDownLimit");

	s = settings(10, 3, 100);
	in = input(0, 5, 0);
	pa_plan_decide(&s, &in, &r);
	CHECK("zero forecast gives min", r.optimal == 3);
	CHECK_STR("zero forecast reason", r.reason, "TooFewReplicas");
}

static void
test_split(void)
{
	struct pa_plan_settings s = settings(10, 1, 100);
	long od, spot;
	double cost;

	s.on_demand_price = 1.0;
	pa_plan_split(&s, 10, 35, &od, &spot, &cost);
	CHECK("no spot price means on-demand", od == 10);
	CHECK("no spot price means on-demand (2)", spot == 0);
	CHECK_NEAR("on-demand cost", cost, 10, 1e-12);

	s.spot_price = 0.3;
	pa_plan_split(&s, 10, 35, &od, &spot, &cost);
	CHECK("lower bound stays on-demand", od == 4);
	CHECK("lower bound stays on-demand (2)", spot == 6);
	CHECK_NEAR("split cost", cost, 4 + 6 * 0.3, 1e-12);

	s.on_demand_share = 0.5;
	pa_plan_split(&s, 10, 35, &od, &spot, &cost);
	CHECK("on-demand share", od == 5);

	s.on_demand_base = 7;
	pa_plan_split(&s, 10, 35, &od, &spot, &cost);
	CHECK("on-demand base", od == 7);

	/* Replacing an interrupted spot instance for a lead time makes spot dearer. */
	s.on_demand_base = 0;
	s.on_demand_share = 0;
	s.spot_interruption = 0.8;
	s.lead_time_s = 3600;
	pa_plan_split(&s, 10, 35, &od, &spot, &cost);
	CHECK("interruptions rule out spot", od == 10);
	CHECK("interruptions rule out spot (2)", spot == 0);
}

/* Counts of one read "1 instance", every other count "N instances". */
static void
test_message_plural(void)
{
	struct pa_plan_settings s = settings(10, 0, 100);
	struct pa_plan_input in = input(10, -1, -1);
	struct pa_plan_result res;

	pa_plan_decide(&s, &in, &res);
	CHECK("need one singular", strstr(res.message, "needs 1 instance") != NULL);
	CHECK("need one not plural", strstr(res.message, "needs 1 instances") == NULL);
	in = input(30, -1, -1);
	pa_plan_decide(&s, &in, &res);
	CHECK("need three plural", strstr(res.message, "needs 3 instances") != NULL);
	in = input(0, 1, -1);
	in.signals_missing = 1;
	pa_plan_decide(&s, &in, &res);
	CHECK("blocked of one singular", strstr(res.message, "on 1 of 1 instance,") != NULL);
}

static void
test_settings(void)
{
	struct pa_plan_settings s = settings(10, 5, 3);
	struct pa_planconf conf;
	json_t *obj;
	char err[300];

	CHECK("min above max rejected", pa_plan_settings_check(&s, err, sizeof err) != 0);
	CHECK("min above max message", strstr(err, "min 5 is above max 3") != NULL);
	s = settings(0, 1, 3);
	CHECK("no capacity rejected", pa_plan_settings_check(&s, err, sizeof err) != 0);

	pa_plan_settings_default(&s);
	obj = json_pack("{s:f, s:s, s:i}", "capacity", 12.5, "lead_time", "5m", "max", 9);
	CHECK("apply accepts", pa_planconf_apply(&s, obj, err, sizeof err) == 0);
	CHECK_NEAR("apply capacity", s.capacity, 12.5, 0);
	CHECK_NEAR("apply duration", s.lead_time_s, 300, 0);
	CHECK("apply count", s.max_instances == 9);
	json_decref(obj);

	/* A duration string needs a unit, and a JSON number is seconds. */
	obj = json_pack("{s:s}", "lead_time", "300");
	CHECK("apply rejects duration without unit", pa_planconf_apply(&s, obj, err, sizeof err) != 0);
	CHECK("duration without unit message", strstr(err, "is a string without a unit") != NULL);
	json_decref(obj);
	obj = json_pack("{s:i}", "lead_time", 120);
	CHECK("apply takes seconds", pa_planconf_apply(&s, obj, err, sizeof err) == 0);
	CHECK_NEAR("apply seconds", s.lead_time_s, 120, 0);
	json_decref(obj);

	obj = json_pack("{s:i}", "capacty", 3);
	CHECK("apply rejects unknown key", pa_planconf_apply(&s, obj, err, sizeof err) != 0);
	json_decref(obj);
	obj = json_pack("{s:f}", "min", 1.5);
	CHECK("apply rejects fractional count", pa_planconf_apply(&s, obj, err, sizeof err) != 0);
	json_decref(obj);
	obj = json_pack("{s:i}", "capacity", 0);
	CHECK("apply rejects capacity 0", pa_planconf_apply(&s, obj, err, sizeof err) != 0);
	CHECK("capacity 0 message", strstr(err, "must be greater than 0") != NULL);
	json_decref(obj);
	obj = json_pack("{s:f}", "target_utilization", 0.0);
	CHECK("apply rejects utilization 0", pa_planconf_apply(&s, obj, err, sizeof err) != 0);
	json_decref(obj);

	/* A service entry beats the options, which beat the file's defaults. */
	pa_planconf_init(&conf);
	json_object_set_new(conf.defaults, "capacity", json_real(5));
	json_object_set_new(conf.defaults, "max", json_integer(50));
	json_object_set_new(conf.cli, "capacity", json_real(7));
	obj = json_pack("{s:i}", "max", 20);
	json_object_set_new(conf.services, "t/api", obj);
	CHECK("layers accept", pa_planconf_settings(&conf, "t/api", &s, err, sizeof err) == 0);
	CHECK_NEAR("option beats defaults", s.capacity, 7, 0);
	CHECK("service beats defaults", s.max_instances == 20);
	CHECK("layers other service", pa_planconf_settings(&conf, "t/web", &s, err, sizeof err) == 0 &&
					      s.max_instances == 50);
	pa_planconf_free(&conf);
}

/* A series of n five-minute buckets at level, jumping to high from bucket jump on. */
static struct pa_bt_series
step_series(size_t n, double level, double high, size_t jump)
{
	static double work[800];
	struct pa_bt_series s = { NULL, 0, 300, n, work };

	for (size_t i = 0; i < n && i < 800; i++)
		work[i] = i < jump ? level : high;
	return s;
}

static struct pa_bt_config
bt_config(double lead_s)
{
	struct pa_bt_config c;

	pa_bt_config_default(&c);
	c.plan.capacity = 1;
	c.plan.lead_time_s = lead_s;
	c.warmup = 288;
	c.history = 288;
	c.period = 0;
	c.model = "naive";
	return c;
}

static void
test_backtest_flat(void)
{
	struct pa_bt_series s = step_series(600, 10, 10, 600);
	struct pa_bt_config c = bt_config(60);
	struct pa_bt_forecasts *f;
	struct pa_bt_result r;
	char err[200];
	double hours = 312 * 300 / 3600.0;

	CHECK("backtest static runs", pa_bt_run(&s, &c, NULL, PA_BT_STATIC, NAN, 0, &r, err, sizeof err) == 0);
	CHECK_NEAR("static sized for peak", r.instance_hours, 10 * hours, 1e-9);
	CHECK_NEAR("static never overloaded", r.overloaded_share, 0, 0);
	CHECK("static scores every bucket", r.buckets == 312);

	CHECK("backtest oracle runs", pa_bt_run(&s, &c, NULL, PA_BT_ORACLE, NAN, 0, &r, err, sizeof err) == 0);
	CHECK_NEAR("oracle on flat demand", r.instance_hours, 10 * hours, 1e-9);
	CHECK_NEAR("oracle full utilization", r.mean_utilization, 1, 1e-12);

	CHECK("backtest reactive runs",
	      pa_bt_run(&s, &c, NULL, PA_BT_REACTIVE, 0.5, 0, &r, err, sizeof err) == 0);
	CHECK_NEAR("reactive holds headroom", r.instance_hours, 20 * hours, 1e-9);
	CHECK_NEAR("reactive utilization at target", r.mean_utilization, 0.5, 1e-12);

	CHECK("predictive needs forecasts",
	      pa_bt_run(&s, &c, NULL, PA_BT_PREDICTIVE, 0.05, 0, &r, err, sizeof err) != 0);
	f = pa_bt_forecast_all(&s, &c, err, sizeof err);
	CHECK("forecasts made", f != NULL);
	if (f == NULL)
		return;
	CHECK("backtest predictive runs",
	      pa_bt_run(&s, &c, f, PA_BT_PREDICTIVE, 0.05, 1, &r, err, sizeof err) == 0);
	CHECK_NEAR("predictive not overloaded", r.overloaded_share, 0, 0);
	CHECK("predictive at least the load", r.instance_hours >= 10 * hours - 1e-9);
	CHECK("predictive below reactive", r.instance_hours < 20 * hours);
	CHECK("predictive capacity kept", r.capacity != NULL && r.capacity[400] >= 10);
	pa_bt_result_free(&r);
	pa_bt_forecasts_free(f);
}

static void
test_backtest_jump(void)
{
	struct pa_bt_series s = step_series(600, 10, 40, 450);
	struct pa_bt_config c = bt_config(120);
	struct pa_bt_result reactive, oracle;
	char err[200];

	CHECK("jump reactive runs",
	      pa_bt_run(&s, &c, NULL, PA_BT_REACTIVE, 0.7, 0, &reactive, err, sizeof err) == 0);
	CHECK("jump oracle runs", pa_bt_run(&s, &c, NULL, PA_BT_ORACLE, NAN, 0, &oracle, err, sizeof err) == 0);

	/* The HPA observes the ramp late and its instances start two minutes later. */
	CHECK("reactive overloaded by jump", reactive.overloaded_share > 0);
	CHECK("reactive unserved work", reactive.unserved_work > 0);
	CHECK_NEAR("oracle ahead of jump", oracle.overloaded_share, 0, 0);
}

static void
test_learn_capacity(void)
{
	double work[] = { 10, 20, 40, 0, 80 }, load[] = { 0.5, 1.0, 2.0, 0.3, 4.0 };
	double capacity = 0, r2 = 0;
	char err[200];

	CHECK("learn capacity fits", pa_plan_learn_capacity(work, load, 5, &capacity, &r2, err, sizeof err) == 0);
	CHECK_NEAR("learn capacity value", capacity, 20, 1e-9);
	CHECK_NEAR("learn capacity exact fit", r2, 1, 1e-12);
	CHECK("learn capacity too few",
	      pa_plan_learn_capacity(work, load, 2, &capacity, &r2, err, sizeof err) != 0);
	/* Near 0.9 whatever the work: a line through the origin fits worse than the mean. */
	load[0] = 0.9;
	load[1] = 0.92;
	load[2] = 0.88;
	load[4] = 0.9;
	CHECK("learn capacity load ignores work",
	      pa_plan_learn_capacity(work, load, 5, &capacity, &r2, err, sizeof err) != 0);
	CHECK("learn capacity names R^2", strstr(err, "R^2 -") != NULL);
	load[0] = load[1] = load[2] = load[4] = 0;
	CHECK("learn capacity flat load",
	      pa_plan_learn_capacity(work, load, 5, &capacity, &r2, err, sizeof err) != 0);
}

static void
test_interpolate(void)
{
	double xs[] = { 1, 2, 4 }, ys[] = { 10, 20, 0 };

	CHECK_NEAR("interpolate inside", pa_bt_interpolate(xs, ys, 3, 3), 10, 1e-12);
	CHECK_NEAR("interpolate at point", pa_bt_interpolate(xs, ys, 3, 2), 20, 1e-12);
	CHECK("interpolate outside", isnan(pa_bt_interpolate(xs, ys, 3, 5)));
}

int
main(void)
{
	test_instances_for();
	test_work_dist();
	test_work_dist_skewed();
	test_decide_scaling();
	test_bounds_last();
	test_split();
	test_settings();
	test_message_plural();
	test_backtest_flat();
	test_backtest_jump();
	test_interpolate();
	test_learn_capacity();
	return unit_status();
}
