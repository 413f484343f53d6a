/*
 * pa-backtest - replay bucket series through predictive, reactive (HPA),
 * static and oracle capacity policies and compare what they cost.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backtest.h"
#include "btio.h"
#include "diag.h"
#include "fc_events.h"
#include "fc_output.h"
#include "forecast.h"
#include "ndjson.h"
#include "opts.h"
#include "planconf.h"
#include "stop.h"

static void
usage(void)
{
	printf("usage: pa-backtest [OPTION]... [FILE]...\n"
	       "Replay bucket records per tenant service through a predictive policy (forecast\n"
	       "from earlier buckets only, sized like pa-plan), a reactive HorizontalPodAutoscaler\n"
	       "emulation, a static policy sized for the peak and an oracle, and report each\n"
	       "policy's overloaded share, unserved work, instance-hours, cost and utilization.\n"
	       "Event records (scheduled matches, holidays) are read as known in advance: the\n"
	       "predictive forecast is multiplied inside their windows by the lift that earlier\n"
	       "windows of the same event_type showed at the same offset, and sized from the\n"
	       "errors inside earlier windows.  Other records pass through unchanged.\n"
	       "\n"
	       "Sizing (as in pa-plan):\n"
	       "      --capacity WORK        work units per second one instance serves (required)\n"
	       "      --lead-time DUR        time until a new instance serves (default 0)\n"
	       "      --min N, --max N       instance bounds (default 1 and 1000)\n"
	       "      --risk P               predictive overload probability, at most 0.5\n"
	       "                             (default 0.025)\n"
	       "      --target-utilization U predictive plans for this share of capacity (default 1)\n"
	       "      --stabilization DUR    predictive scale-in window (default 5m)\n"
	       "      --on-demand-price P    price per instance-hour, for the cost (default 0)\n"
	       "      --spot-price P         price per spot instance-hour (default: no spot);\n"
	       "                             all but the oracle split the count as pa-plan does\n"
	       "      --spot-interruption R  spot instances reclaimed per instance-hour, 0-1,\n"
	       "                             replayed with a fixed seed (default 0)\n"
	       "      --on-demand-base N     on-demand instances kept before any spot (default 0)\n"
	       "      --on-demand-share S    minimum on-demand share, 0-1 (default 0)\n"
	       "Reactive:\n"
	       "      --hpa-target U         HPA target utilization (default 0.7)\n"
	       "Forecasting:\n"
	       "      --model NAME           pa-forecast model (default auto)\n"
	       "      --season DUR           season length (default 1d; 0: none)\n"
	       "      --history DUR          trailing history per forecast (default 3 seasons or 3d)\n"
	       "      --warmup DUR           history before scoring starts (default 2 seasons or 2d)\n"
	       "      --forecast-every DUR   time between forecasts (default one bucket)\n"
	       "      --refit-every DUR      time between full fits of the auto model; forecasts\n"
	       "                             in between reuse its models and parameters on the\n"
	       "                             newer history (default: a full fit every forecast)\n"
	       "      --level L              forecast interval level in percent or as a fraction,\n"
	       "                             50-99.9 or 0.5-0.999 (default 0.95)\n"
	       "      --transform none|log1p fit the forecaster on log1p(work) (default none)\n"
	       "      --floor change|load    every tick, size at least the load present times the\n"
	       "                             quantile at the risk of its change over the lead\n"
	       "                             time in the last season, or the load alone at full\n"
	       "                             utilization (default change)\n"
	       "      --error-scale absolute|sqrt|log|auto\n"
	       "                             scale of the forecast errors that size the\n"
	       "                             headroom: absolute, or of sqrt or log of work\n"
	       "                             plus one instance's capacity, or per forecast the\n"
	       "                             one that sized the last season best (default auto)\n"
	       "      --event-window DUR     length of an event record without \"end\" (default 2h)\n"
	       "      --event-lift profile|flat\n"
	       "                             lift by offset within the window, or one lift per\n"
	       "                             event type (default profile)\n"
	       "      --event-errors windows|all\n"
	       "                             size buckets inside event windows at least by the\n"
	       "                             forecast errors inside past windows, or by all\n"
	       "                             errors only (default windows)\n"
	       "Output:\n"
	       "      --sweep                reactive over targets 0.5-0.95 and predictive over risks\n"
	       "                             0.5-0.001, plus equal-cost comparison records\n"
	       "      --table                a readable table instead of NDJSON\n"
	       "      --svg FILE             write the cost/overload curves and demand against\n"
	       "                             capacity over time as SVG\n"
	       "Input:\n"
	       "      --max-future DUR       reject buckets stamped more than DUR after the\n"
	       "                             clock (default 5m); none: accept any\n"
	       PA_COMMON_USAGE_WIDE);
}

enum {
	OPT_CAPACITY = 1, OPT_LEAD, OPT_MIN, OPT_MAX, OPT_RISK, OPT_TARGET, OPT_STAB, OPT_PRICE,
	OPT_HPA, OPT_MODEL, OPT_SEASON, OPT_HISTORY, OPT_WARMUP, OPT_EVERY, OPT_LEVEL, OPT_SWEEP,
	OPT_TABLE, OPT_SVG, OPT_TRANSFORM, OPT_EVENT_WINDOW, OPT_FLOOR, OPT_ERROR_SCALE,
	OPT_REFIT, OPT_EVENT_LIFT, OPT_EVENT_ERRORS, OPT_SPOT_PRICE, OPT_SPOT_INTERRUPTION,
	OPT_OD_BASE, OPT_OD_SHARE, OPT_MAX_FUTURE
};

static const struct option longopts[] = {
	{ "capacity", required_argument, NULL, OPT_CAPACITY },
	{ "lead-time", required_argument, NULL, OPT_LEAD },
	{ "min", required_argument, NULL, OPT_MIN },
	{ "max", required_argument, NULL, OPT_MAX },
	{ "risk", required_argument, NULL, OPT_RISK },
	{ "target-utilization", required_argument, NULL, OPT_TARGET },
	{ "stabilization", required_argument, NULL, OPT_STAB },
	{ "on-demand-price", required_argument, NULL, OPT_PRICE },
	{ "spot-price", required_argument, NULL, OPT_SPOT_PRICE },
	{ "spot-interruption", required_argument, NULL, OPT_SPOT_INTERRUPTION },
	{ "on-demand-base", required_argument, NULL, OPT_OD_BASE },
	{ "on-demand-share", required_argument, NULL, OPT_OD_SHARE },
	{ "hpa-target", required_argument, NULL, OPT_HPA },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "season", required_argument, NULL, OPT_SEASON },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "forecast-every", required_argument, NULL, OPT_EVERY },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "sweep", no_argument, NULL, OPT_SWEEP },
	{ "table", no_argument, NULL, OPT_TABLE },
	{ "svg", required_argument, NULL, OPT_SVG },
	{ "transform", required_argument, NULL, OPT_TRANSFORM },
	{ "event-window", required_argument, NULL, OPT_EVENT_WINDOW },
	{ "floor", required_argument, NULL, OPT_FLOOR },
	{ "error-scale", required_argument, NULL, OPT_ERROR_SCALE },
	{ "refit-every", required_argument, NULL, OPT_REFIT },
	{ "event-lift", required_argument, NULL, OPT_EVENT_LIFT },
	{ "event-errors", required_argument, NULL, OPT_EVENT_ERRORS },
	{ "max-future", required_argument, NULL, OPT_MAX_FUTURE },
	PA_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

static const double sweep_targets[] = { 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95 };
static const double sweep_risks[] = {
	0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1, 0.07, 0.05, 0.035, 0.025, 0.015, 0.01,
	0.005, 0.002, 0.001
};

#define NTARGETS (sizeof sweep_targets / sizeof sweep_targets[0])
#define NRISKS (sizeof sweep_risks / sizeof sweep_risks[0])
#define MAX_RESULTS (2 + NTARGETS + NRISKS + 2)

struct options {
	struct pa_bt_config config;
	double risk, hpa_target;
	double season_s, history_s, warmup_s, every_s, refit_s;	/* < 0: default */
	int sweep, table;
	int capacity_missing;	/* no --capacity: an error once a series needs it */
	const char *svg;
	pa_usec_t event_window;	/* length of an event record without "end" */
	pa_usec_t max_future;	/* latest bucket time after the clock; < 0: any */
};

/* One series' replay, kept until the SVG is written. */
struct series_run {
	struct pa_bt_series series;
	struct pa_bt_result results[MAX_RESULTS];
	size_t nresults;
	struct pa_bt_report report;
	char model[PA_FC_NAME_MAX];
};

static size_t
buckets_of(double seconds, double step_s)
{
	return seconds <= 0 ? 0 : (size_t)ceil(seconds / step_s - 1e-9);
}

/*
 * Per-series configuration: durations become bucket counts at the series'
 * step.  A season that is not a whole number of steps is dropped with a
 * warning, as pa-forecast drops it, since rounding it would fit a season
 * of another length.  The history and warm-up defaults are multiples of
 * the season, or of a day when there is none, given or left.
 */
static void
series_config(const struct options *o, const struct pa_bt_series *s, struct pa_bt_config *c)
{
	double season = o->season_s < 0 ? 86400 : o->season_s;
	double unit;
	pa_usec_t season_usec = llround(season * PA_USEC_PER_SEC);
	pa_usec_t step_usec = llround(s->step_s * PA_USEC_PER_SEC);

	*c = o->config;
	if (season_usec > 0 && season_usec % step_usec != 0) {
		char season_text[32], step_text[32];

		pa_fc_format_step(season_usec, season_text, sizeof season_text);
		pa_fc_format_step(step_usec, step_text, sizeof step_text);
		pa_warn("%s: --season %s is not a whole number of steps of %s, forecasting without "
			"that season", s->name, season_text, step_text);
		c->period = 0;
	} else {
		c->period = buckets_of(season, s->step_s);
	}

	/* A dropped season leaves the defaults of --season 0, not multiples of it. */
	unit = c->period > 0 ? season : 86400;
	c->history = buckets_of(o->history_s < 0 ? 3 * unit : o->history_s, s->step_s);
	c->warmup = buckets_of(o->warmup_s < 0 ? 2 * unit : o->warmup_s, s->step_s);
	c->forecast_every = o->every_s < 0 ? 1 : buckets_of(o->every_s, s->step_s);
	if (c->forecast_every == 0)
		c->forecast_every = 1;
	c->refit_every = o->refit_s < 0 ? 1 : buckets_of(o->refit_s, s->step_s) / c->forecast_every;
}

static int
run_one(struct series_run *sr, const struct pa_bt_config *c, const struct pa_bt_forecasts *f,
	enum pa_bt_policy policy, double setting, int keep)
{
	char err[300];

	if (pa_bt_run(&sr->series, c, f, policy, setting, keep, &sr->results[sr->nresults], err,
		      sizeof err) != 0) {
		pa_warn("%s: %s backtest failed: %s", sr->series.name, pa_bt_policy_name(policy), err);
		return -1;
	}
	sr->nresults++;
	return 0;
}

/* Replay every policy and setting on one series.  Returns an exit status. */
static int
replay_series(struct series_run *sr, const struct options *o)
{
	struct pa_bt_config c;
	struct pa_bt_forecasts *f;
	char err[300];
	int failed = 0;
	size_t first_scored;

	series_config(o, &sr->series, &c);

	/* The first forecast needs a history of 2 buckets, so the warm-up must give them. */
	if (c.warmup < 2) {
		char step_text[32], least_text[32];
		pa_usec_t step_usec = llround(sr->series.step_s * PA_USEC_PER_SEC);

		pa_fc_format_step(step_usec, step_text, sizeof step_text);
		pa_fc_format_step(2 * step_usec, least_text, sizeof least_text);
		pa_warn("%s: no backtest: the warm-up is %zu bucket%s of %s, but it must be at least "
			"2; set --warmup to %s or more", sr->series.name, c.warmup,
			c.warmup == 1 ? "" : "s", step_text, least_text);
		return PA_EXIT_DATA;
	}

	/* With fewer known buckets the predictive policy never acts, and its
	 * rows would read as a result. */
	if (c.history != 0 && c.history < PA_BT_MIN_HISTORY) {
		char step_text[32], least_text[32];
		pa_usec_t step_usec = llround(sr->series.step_s * PA_USEC_PER_SEC);

		pa_fc_format_step(step_usec, step_text, sizeof step_text);
		pa_fc_format_step(PA_BT_MIN_HISTORY * step_usec, least_text, sizeof least_text);
		pa_warn("%s: no backtest: the history is %zu bucket%s of %s, but a forecast needs "
			"at least %d; set --history to %s or more", sr->series.name, c.history,
			c.history == 1 ? "" : "s", step_text, PA_BT_MIN_HISTORY, least_text);
		return PA_EXIT_DATA;
	}
	f = pa_bt_forecast_all(&sr->series, &c, err, sizeof err);
	if (f == NULL) {
		pa_warn("%s: no backtest: %s", sr->series.name, err);
		return PA_EXIT_DATA;
	}
	snprintf(sr->model, sizeof sr->model, "%s", pa_bt_forecasts_model(f));
	{
		size_t count, total;
		const char *fallback = pa_bt_forecasts_fallback(f, &count, &total);

		if (fallback[0] != '\0' && strcmp(c.model, "auto") == 0)
			pa_warn("%s: %zu of %zu forecasts ran without the season: %s",
				sr->series.name, count, total, fallback);
		else if (fallback[0] != '\0')
			pa_warn("%s: model %s could not run in %zu of %zu forecasts, which ran %s",
				sr->series.name, c.model, count, total, fallback);
	}

	failed |= run_one(sr, &c, f, PA_BT_STATIC, NAN, 0);
	failed |= run_one(sr, &c, f, PA_BT_ORACLE, NAN, 0);
	if (o->sweep) {
		for (size_t i = 0; i < NTARGETS; i++)
			failed |= run_one(sr, &c, f, PA_BT_REACTIVE, sweep_targets[i], 0);
		for (size_t i = 0; i < NRISKS; i++)
			failed |= run_one(sr, &c, f, PA_BT_PREDICTIVE, sweep_risks[i], 0);
	}
	first_scored = sr->nresults;

	/* The chosen settings: reported without --sweep, charted with --svg. */
	if (!o->sweep || o->svg) {
		failed |= run_one(sr, &c, f, PA_BT_REACTIVE, o->hpa_target, o->svg != NULL);
		failed |= run_one(sr, &c, f, PA_BT_PREDICTIVE, o->risk, o->svg != NULL);
	}
	pa_bt_forecasts_free(f);
	if (failed)
		return PA_EXIT_USAGE;

	sr->report.series = &sr->series;
	sr->report.warmup = c.warmup;
	sr->report.model = sr->model;
	sr->report.results = sr->results;
	sr->report.nresults = o->sweep ? first_scored : sr->nresults;
	sr->report.spot = c.plan.spot_price >= 0;
	if (sr->nresults > first_scored) {
		sr->report.chart_reactive = &sr->results[sr->nresults - 2];
		sr->report.chart_predictive = &sr->results[sr->nresults - 1];
	}
	return PA_EXIT_OK;
}

struct intake {
	struct pa_bt_input *in;
	struct pa_fc_events *events;
	pa_usec_t event_window;
	int pass;		/* pass other kinds through (NDJSON output only) */
	int out_of_memory;	/* stop taking events */
	int unknown_kind_warned;	/* a record of a kind no pa tool writes was reported */
};

/* Take an event record for the forecasts; a bad one is rejected with its line. */
static void
take_event(struct intake *ctx, const json_t *rec, const char *name, const struct pa_line *line)
{
	const char *reason_class;
	char err[300];

	if (ctx->out_of_memory)
		return;
	if (pa_fc_events_add(ctx->events, rec, ctx->event_window, err, sizeof err,
			     &reason_class) != 0) {
		if (strcmp(reason_class, "out of memory") == 0)
			ctx->out_of_memory = 1;
		pa_reject(name, line->lineno, line->text, line->len, reason_class, "%s", err);
	}
}

static void
on_line(const char *name, struct pa_line *line, enum pa_line_status status, void *arg)
{
	struct intake *ctx = arg;
	json_t *rec = pa_line_to_object(name, line, status);
	const char *kind;

	if (rec == NULL)
		return;
	kind = pa_rec_kind_or_reject(rec, name, line);
	if (kind == NULL) {
		json_decref(rec);
		return;
	}
	if (strcmp(kind, "event") == 0) {
		take_event(ctx, rec, name, line);
	} else if (!pa_bt_input_record(ctx->in, rec, name, line)) {
		/* A kind no pa tool writes is most often a misspelt "bucket", which would go unscored. */
		if (!pa_kind_known(kind) && !ctx->unknown_kind_warned) {
			pa_warn_unknown_kind(name, line->lineno, kind, "bucket or event",
					     ctx->pass ? "it is passed through unchanged" : "it is dropped");
			ctx->unknown_kind_warned = 1;
		}
		if (ctx->pass)
			pa_out_json(rec);
	}
	json_decref(rec);
}

/*
 * The SVG is written to "FILE.tmp" beside its target and renamed into place,
 * so a reader never sees half a chart.  The temporary file is created before
 * the replay, so an unwritable path fails at once rather than after minutes
 * of replay.  While svg_tmp_exists is set, the exit handler and a SIGINT,
 * SIGTERM or SIGHUP remove the file, so a run that ends without a chart
 * leaves nothing behind.  svg_tmp is never freed, because a signal may
 * arrive at any point.
 */
static char *svg_tmp;
static FILE *svg_fp;
static volatile sig_atomic_t svg_tmp_exists;

static void
remove_svg_tmp(void)
{
	if (!svg_tmp_exists)
		return;
	if (svg_fp != NULL)
		fclose(svg_fp);
	svg_fp = NULL;
	remove(svg_tmp);
	svg_tmp_exists = 0;
}

static void
remove_svg_tmp_on_signal(int sig)
{
	if (svg_tmp_exists)
		unlink(svg_tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
open_svg(const char *path)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
	struct stat st;
	size_t len = strlen(path) + sizeof ".tmp";

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		pa_die(PA_EXIT_IO, "--svg: %s is a directory", pa_quote(path, strlen(path)));
	svg_tmp = pa_xmalloc(len);
	snprintf(svg_tmp, len, "%s.tmp", path);
	svg_fp = fopen(svg_tmp, "w");
	if (svg_fp == NULL)
		pa_die(PA_EXIT_IO, "--svg: cannot create %s: %s", pa_quote(path, strlen(path)),
		       strerror(errno));
	svg_tmp_exists = 1;
	atexit(remove_svg_tmp);
	for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
		signal(signals[i], remove_svg_tmp_on_signal);
}

static int
write_svg(const char *path, struct series_run *runs, size_t n)
{
	struct pa_bt_report *reps = pa_xcalloc(n ? n : 1, sizeof *reps);
	FILE *fp = svg_fp;
	size_t k = 0;
	int rc = PA_EXIT_OK;

	for (size_t i = 0; i < n; i++)
		if (runs[i].report.series != NULL)
			reps[k++] = runs[i].report;

	svg_fp = NULL;
	if (pa_bt_write_svg(fp, reps, k) != 0 || fclose(fp) != 0) {
		pa_warn("--svg: write to %s failed: %s", pa_quote(svg_tmp, strlen(svg_tmp)),
			strerror(errno));
		rc = PA_EXIT_IO;
	} else if (rename(svg_tmp, path) != 0) {
		pa_warn("--svg: cannot rename to %s: %s", pa_quote(path, strlen(path)), strerror(errno));
		rc = PA_EXIT_IO;
	} else {
		svg_tmp_exists = 0;
	}
	free(reps);
	return rc;
}

/*
 * A level in percent (80) or as a fraction (0.8), as pa-forecast takes it:
 * a value of 1 or more is read as percent.
 */
/* Return 0 for first, 1 for second; any other value of opt is a usage error. */
static int
one_of_two(const char *opt, const char *arg, const char *first, const char *second)
{
	if (strcmp(arg, first) == 0)
		return 0;
	if (strcmp(arg, second) != 0)
		pa_usage_error("invalid value for %s: %s (use %s or %s)", opt,
			       pa_quote(arg, strlen(arg)), first, second);
	return 1;
}

static enum pa_bt_error_scale
parse_error_scale(const char *arg)
{
	static const char *const names[] = { "absolute", "sqrt", "log", "auto" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(arg, names[i]) == 0)
			return (enum pa_bt_error_scale)i;
	pa_usage_error("invalid value for --error-scale: %s (use absolute, sqrt, log or auto)",
		       pa_quote(arg, strlen(arg)));
	return PA_BT_ERRORS_AUTO;
}

static double
parse_level(const char *arg)
{
	/* Wide bounds, so that the check below gives the one message for the range. */
	double v = pa_opt_double("--level", arg, -1e9, 1e9);

	if (v >= 1)
		v /= 100;

	/* 99.9 / 100 lands a rounding error above 0.999, so the bounds allow for it. */
	if (v < 0.5 - 1e-9 || v > 0.999 + 1e-9)
		pa_usage_error("--level must be between 50 and 99.9 percent (0.5 and 0.999), got %s",
			       pa_quote(arg, strlen(arg)));
	return fmin(fmax(v, 0.5), 0.999);
}

static void
parse_options(int argc, char **argv, struct options *o, struct pa_common_opts *common)
{
	struct pa_planconf conf;
	char err[300];
	int c;

	memset(o, 0, sizeof *o);
	pa_bt_config_default(&o->config);
	o->risk = 0.025;
	o->hpa_target = 0.7;
	o->season_s = o->history_s = o->warmup_s = o->every_s = o->refit_s = -1;
	o->event_window = 2 * 3600 * PA_USEC_PER_SEC;
	o->max_future = PA_MAX_FUTURE_DEFAULT;
	pa_planconf_init(&conf);

	/* Messages for unknown options come from below, one per option. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		if (pa_common_option(common, c, optarg))
			continue;
		switch (c) {
		case OPT_CAPACITY:
			pa_planconf_set(&conf, "capacity", "--capacity", optarg);
			break;
		case OPT_LEAD:
			pa_planconf_set(&conf, "lead_time", "--lead-time", optarg);
			break;
		case OPT_MIN:
			pa_planconf_set(&conf, "min", "--min", optarg);
			break;
		case OPT_MAX:
			pa_planconf_set(&conf, "max", "--max", optarg);
			break;
		case OPT_TARGET:
			pa_planconf_set(&conf, "target_utilization", "--target-utilization", optarg);
			break;
		case OPT_STAB:
			pa_planconf_set(&conf, "stabilization", "--stabilization", optarg);
			break;
		case OPT_PRICE:
			pa_planconf_set(&conf, "on_demand_price", "--on-demand-price", optarg);
			break;
		case OPT_SPOT_PRICE:
			pa_planconf_set(&conf, "spot_price", "--spot-price", optarg);
			break;
		case OPT_SPOT_INTERRUPTION:
			pa_planconf_set(&conf, "spot_interruption", "--spot-interruption", optarg);
			break;
		case OPT_OD_BASE:
			pa_planconf_set(&conf, "on_demand_base", "--on-demand-base", optarg);
			break;
		case OPT_OD_SHARE:
			pa_planconf_set(&conf, "on_demand_share", "--on-demand-share", optarg);
			break;
		case OPT_RISK:
			o->risk = pa_opt_double("--risk", optarg, 1e-9, 0.5);
			break;
		case OPT_HPA:
			o->hpa_target = pa_opt_double("--hpa-target", optarg, 0.01, 1);
			break;
		case OPT_MODEL:
			o->config.model = pa_opt_model(optarg);
			break;
		case OPT_SEASON:
			o->season_s = (double)pa_opt_duration("--season", optarg, 0, 366LL * 86400 * PA_USEC_PER_SEC) / PA_USEC_PER_SEC;
			break;
		case OPT_HISTORY:
			o->history_s = (double)pa_opt_duration("--history", optarg, 1, 3660LL * 86400 * PA_USEC_PER_SEC) / PA_USEC_PER_SEC;
			break;
		case OPT_WARMUP:
			o->warmup_s = (double)pa_opt_duration("--warmup", optarg, 1, 3660LL * 86400 * PA_USEC_PER_SEC) / PA_USEC_PER_SEC;
			break;
		case OPT_EVERY:
			o->every_s = (double)pa_opt_duration("--forecast-every", optarg, 1, 366LL * 86400 * PA_USEC_PER_SEC) / PA_USEC_PER_SEC;
			break;
		case OPT_REFIT:
			o->refit_s = (double)pa_opt_duration("--refit-every", optarg, 1, 366LL * 86400 * PA_USEC_PER_SEC) / PA_USEC_PER_SEC;
			break;
		case OPT_LEVEL:
			o->config.level = parse_level(optarg);
			break;
		case OPT_TRANSFORM:
			o->config.transform = one_of_two("--transform", optarg, "none", "log1p");
			break;
		case OPT_FLOOR:
			o->config.floor = one_of_two("--floor", optarg, "change", "load") == 0
						  ? PA_BT_FLOOR_CHANGE
						  : PA_BT_FLOOR_LOAD;
			break;
		case OPT_ERROR_SCALE:
			o->config.error_scale = parse_error_scale(optarg);
			break;
		case OPT_EVENT_LIFT:
			o->config.event_profile =
				one_of_two("--event-lift", optarg, "profile", "flat") == 0;
			break;
		case OPT_EVENT_ERRORS:
			o->config.window_errors =
				one_of_two("--event-errors", optarg, "windows", "all") == 0;
			break;
		case OPT_EVENT_WINDOW:
			o->event_window = pa_opt_duration("--event-window", optarg, 1,
							  366LL * 86400 * PA_USEC_PER_SEC);
			break;
		case OPT_MAX_FUTURE:
			o->max_future = pa_opt_max_future(optarg);
			break;
		case OPT_SWEEP:
			o->sweep = 1;
			break;
		case OPT_TABLE:
			o->table = 1;
			break;
		case OPT_SVG:
			o->svg = pa_opt_replaceable("--svg", optarg);
			break;
		case 'h':
			usage();
			pa_planconf_free(&conf);
			exit(pa_out_finish());
		case 'V':
			pa_print_version();
			pa_planconf_free(&conf);
			exit(pa_out_finish());
		default:
			pa_usage_error("invalid option or missing value: \"%s\"", argv[optind - 1]);
		}
	}
	pa_rejects_start(argc - optind, argv + optind);

	/* The settings keep their scale-up default of no limit unless layered over. */
	/* A missing capacity matters only once there is a series to replay. */
	if (pa_planconf_apply(&o->config.plan, conf.cli, err, sizeof err) != 0)
		pa_usage_error("%s", err);
	if (!(o->config.plan.capacity > 0)) {
		o->config.plan.capacity = 1;
		o->capacity_missing = 1;
	}
	if (pa_plan_settings_check(&o->config.plan, err, sizeof err) != 0)
		pa_usage_error("%s", err);
	if (o->config.plan.spot_price < 0 &&
	    (o->config.plan.spot_interruption > 0 || o->config.plan.on_demand_base > 0 ||
	     o->config.plan.on_demand_share > 0))
		pa_warn("--spot-interruption, --on-demand-base and --on-demand-share act only with "
			"--spot-price; every instance runs on demand");
	pa_planconf_free(&conf);
}

int
main(int argc, char **argv)
{
	struct pa_common_opts common;
	struct options o;
	struct pa_bt_input *in;
	struct pa_fc_events events = { 0 };
	struct intake intake = { 0 };
	struct series_run *runs;
	size_t n;
	int rc, out, header_done = 0, name_width = 24;

	pa_diag_init(argv[0]);
	pa_out_init();
	pa_common_defaults(&common);
	parse_options(argc, argv, &o, &common);
	if (o.svg != NULL)
		open_svg(o.svg);

	in = pa_bt_input_new();
	pa_bt_input_max_future(in, o.max_future);
	intake.in = in;
	intake.events = &events;
	intake.event_window = o.event_window;
	intake.pass = !o.table;
	pa_stop_catch();
	rc = pa_input_each(argc - optind, argv + optind, common.max_line, on_line, &intake);

	/* The replay can be long, so a signal during it ends the run at once, as before. */
	pa_stop_release();
	n = pa_bt_input_count(in);
	o.config.events = &events;
	if (n == 0 && rc == PA_EXIT_OK) {
		if (pa_diag_rejected() > 0)
			pa_warn("no valid bucket records in the input (%ld rejected), nothing replayed",
				pa_diag_rejected());
		else
			pa_warn("no bucket records in the input, nothing replayed; pa-score --rollup "
				"makes them");
		rc = PA_EXIT_DATA;
	}
	if (n > 0 && o.capacity_missing) {
		pa_warn("missing --capacity (work units per second one instance serves), nothing replayed");
		n = 0;
		rc = PA_EXIT_USAGE;
	}
	size_t replayed = 0, skipped = 0;

	runs = calloc(n ? n : 1, sizeof *runs);
	if (runs == NULL)
		pa_die(PA_EXIT_IO, "out of memory");

	/* The table's series column fits the longest name, so every row lines up. */
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(pa_bt_input_name(in, i)) > name_width)
			name_width = (int)strlen(pa_bt_input_name(in, i));

	for (size_t i = 0; i < n; i++) {
		char err[300];
		int one;

		if (pa_bt_input_series(in, i, &runs[i].series, err, sizeof err) != 0) {
			pa_warn("%s: no backtest: %s", pa_bt_input_name(in, i), err);
			one = PA_EXIT_DATA;
		} else {
			one = replay_series(&runs[i], &o);
		}
		if (one == PA_EXIT_OK) {
			runs[i].report.name_width = name_width;
			if (o.table) {
				pa_bt_write_table(&runs[i].report, !header_done);
				header_done = 1;
			} else {
				pa_bt_write_records(&runs[i].report);
				if (o.sweep)
					pa_bt_write_comparisons(&runs[i].report);
			}
		}
		if (one == PA_EXIT_OK)
			replayed++;
		else if (one == PA_EXIT_DATA)
			skipped++;
		else if (one > rc && rc != PA_EXIT_IO)
			rc = one;
	}

	/*
	 * A series too short for the warm-up is reported and skipped, as
	 * pa-forecast skips one it cannot forecast.  The run fails only when
	 * no series could be replayed.
	 */
	if (skipped > 0 && replayed == 0 && rc == PA_EXIT_OK)
		rc = PA_EXIT_DATA;
	if (o.svg != NULL && replayed > 0 && write_svg(o.svg, runs, n) != PA_EXIT_OK)
		rc = PA_EXIT_IO;

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < runs[i].nresults; k++)
			pa_bt_result_free(&runs[i].results[k]);
		pa_bt_series_free(&runs[i].series);
	}
	free(runs);
	pa_bt_input_free(in);
	pa_fc_events_free(&events);
	{
		int diag = pa_diag_finish(common.max_bad);

		if (diag > rc && rc == PA_EXIT_OK)
			rc = diag;
	}
	out = pa_out_finish();
	return out ? out : rc;
}
