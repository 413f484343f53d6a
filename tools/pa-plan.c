/*
 * pa-plan - instance plans from forecasts, current usage and a cost model.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "ndjson.h"
#include "opts.h"
#include "planconf.h"
#include "planrun.h"
#include "stop.h"

static void
usage(void)
{
	printf("usage: pa-plan [OPTION]... [FILE]...\n"
	       "Turn forecast records into one plan record per tenant service: the instance\n"
	       "count for the forecast at now + lead time, its on-demand/spot split, cost and\n"
	       "risk.  Usage records give the current instances; other records pass through.\n"
	       "\n"
	       "Sizing (per service in --config; the options override its \"defaults\"):\n"
	       "      --capacity WORK        work units per second one instance serves (required\n"
	       "                             unless --learn-capacity)\n"
	       "      --learn-capacity       for a service without a capacity, fit it from usage\n"
	       "                             history against bucket records in the input\n"
	       "      --lead-time DUR        start-up time of a new instance (default 0)\n"
	       "      --min N, --max N       instance bounds (default 1 and 1000)\n"
	       "      --target-utilization U plan for this share of capacity (default 1)\n"
	       "      --risk P               accepted overload probability, at most 0.5; the quantile\n"
	       "                             1-P is covered (default: the interval's upper bound)\n"
	       "      --stabilization DUR    scale in no lower than the largest need from now\n"
	       "                             until DUR past the target (default 5m)\n"
	       "      --scale-up-factor F    grow to at most current*F or current+STEP (default 2;\n"
	       "      --scale-up-step STEP   default 4); F 0: no scale-up limit\n"
	       "      --scale-down-step N    remove at most N instances per plan (default 0: no limit)\n"
	       "Cost:\n"
	       "      --on-demand-price P    price per on-demand instance-hour (default 0)\n"
	       "      --spot-price P         price per spot instance-hour (default: no spot)\n"
	       "      --spot-interruption R  probability per hour that a spot instance is reclaimed\n"
	       "                             (default 0)\n"
	       "      --on-demand-base N     on-demand instances kept before any spot (default 0)\n"
	       "      --on-demand-share S    minimum on-demand share, 0-1 (default 0)\n"
	       "Input and output:\n"
	       "      --config FILE          JSON settings: {\"defaults\":{...},\"services\":{NAME:{...}}}\n"
	       "      --now TIME             plan at TIME (default: each series' latest issued_at)\n"
	       "      --usage-window DUR     current instances: every instance_id with a usage\n"
	       "                             sample within DUR before the latest one (default 5m)\n"
	       "      --usage-max-age DUR    usage whose latest sample is older than DUR at the\n"
	       "                             plan time leaves current unknown (default 15m)\n"
	       "      --follow               plan each series as its forecasts arrive, for a\n"
	       "                             live pipeline, not at the end of input\n"
	       "      --max-future DUR       reject usage stamped more than DUR after the clock\n"
	       "                             (default 5m); none: accept any\n"
	       "      --keep-input           also pass forecast and usage records through\n"
	       PA_COMMON_USAGE_WIDE);
}

enum {
	OPT_CONFIG = 1,
	OPT_NOW,
	OPT_KEEP,
	OPT_LEARN,
	OPT_USAGE_WINDOW,
	OPT_USAGE_MAX_AGE,
	OPT_MAX_FUTURE,
	OPT_FOLLOW,
	OPT_SETTING		/* options mapped to a settings key */
};

struct setting_opt {
	const char *option;
	const char *key;
};

static const struct setting_opt setting_opts[] = {
	{ "capacity", "capacity" },
	{ "lead-time", "lead_time" },
	{ "min", "min" },
	{ "max", "max" },
	{ "target-utilization", "target_utilization" },
	{ "risk", "risk" },
	{ "on-demand-price", "on_demand_price" },
	{ "spot-price", "spot_price" },
	{ "spot-interruption", "spot_interruption" },
	{ "on-demand-base", "on_demand_base" },
	{ "on-demand-share", "on_demand_share" },
	{ "stabilization", "stabilization" },
	{ "scale-up-factor", "scale_up_factor" },
	{ "scale-up-step", "scale_up_step" },
	{ "scale-down-step", "scale_down_step" },
};

#define NSETTINGS (sizeof setting_opts / sizeof setting_opts[0])

struct ctx {
	struct pa_plan_run *run;
	long forecasts;		/* forecast records read, valid or not */
};


static void
on_line(const char *name, struct pa_line *line, enum pa_line_status status, void *arg)
{
	struct ctx *c = arg;
	json_t *rec = pa_line_to_object(name, line, status);

	if (rec == NULL) {
		if (line->len > 0)
			pa_plan_run_lost_line(c->run, line->text, line->len);
		return;
	}
	if (pa_rec_kind(rec) != NULL && strcmp(pa_rec_kind(rec), "forecast") == 0)
		c->forecasts++;
	if (!pa_plan_run_record(c->run, rec, name, line))
		pa_out_json(rec);
	json_decref(rec);
}

/*
 * Spot instances are planned only while they cost less than on-demand
 * ones, whose price defaults to 0, so a spot price given alone plans none.
 * That is legal but almost never meant.
 */
static void
warn_spot_price(const struct pa_plan_settings *s, const char *service)
{
	if (s->spot_price < 0 || s->spot_price < s->on_demand_price)
		return;
	pa_warn("%s%sspot price %g is not below the on-demand price %g, so no spot instances "
		"are planned%s", service ? service : "", service ? ": " : "", s->spot_price,
		s->on_demand_price, s->on_demand_price == 0 ? "; give --on-demand-price" : "");
}

/* Catch contradictions in the options and config defaults before reading. */
static void
check_global(const struct pa_planconf *conf, const char *config)
{
	struct pa_plan_settings s;
	char err[300];

	pa_plan_settings_default(&s);
	if (pa_planconf_apply(&s, conf->defaults, err, sizeof err) != 0 ||
	    pa_planconf_apply(&s, conf->cli, err, sizeof err) != 0)
		pa_usage_error("%s", err);
	if (!(s.capacity > 0))
		s.capacity = 1;		/* may still come per service */
	if (pa_plan_settings_check(&s, err, sizeof err) != 0) {
		if (config != NULL)
			pa_usage_error("%s, from the options and the defaults in %s", err, config);
		pa_usage_error("%s", err);
	}
	warn_spot_price(&s, NULL);

	/* A service's own entry may set either price. */
	{
		const char *name;
		json_t *entry;

		json_object_foreach(conf->services, name, entry) {
			struct pa_plan_settings own;

			(void)entry;
			if (pa_planconf_settings(conf, name, &own, err, sizeof err) == 0 &&
			    (own.spot_price != s.spot_price || own.on_demand_price != s.on_demand_price))
				warn_spot_price(&own, name);
		}
	}
}

int
main(int argc, char **argv)
{
	struct option longopts[NSETTINGS + 8 + 6];	/* settings, own, common and the terminator */
	struct pa_common_opts common;
	struct pa_planconf conf;
	struct ctx ctx = { 0 };
	const char *config = NULL;
	pa_usec_t now = 0;
	pa_usec_t usage_window = PA_PLAN_USAGE_WINDOW_DEFAULT;
	pa_usec_t usage_max_age = PA_PLAN_USAGE_MAX_AGE_DEFAULT;
	pa_usec_t max_future = PA_MAX_FUTURE_DEFAULT;
	int follow = 0;
	int now_set = 0, keep = 0, learn = 0, c, rc, run_rc, out;
	size_t n = 0;
	char err[400];

	pa_diag_init(argv[0]);
	pa_out_init();
	pa_common_defaults(&common);
	pa_planconf_init(&conf);

	for (size_t i = 0; i < NSETTINGS; i++)
		longopts[n++] = (struct option){ setting_opts[i].option, required_argument, NULL,
						 OPT_SETTING + (int)i };
	longopts[n++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
	longopts[n++] = (struct option){ "now", required_argument, NULL, OPT_NOW };
	longopts[n++] = (struct option){ "keep-input", no_argument, NULL, OPT_KEEP };
	longopts[n++] = (struct option){ "learn-capacity", no_argument, NULL, OPT_LEARN };
	longopts[n++] = (struct option){ "usage-window", required_argument, NULL, OPT_USAGE_WINDOW };
	longopts[n++] = (struct option){ "usage-max-age", required_argument, NULL, OPT_USAGE_MAX_AGE };
	longopts[n++] = (struct option){ "max-future", required_argument, NULL, OPT_MAX_FUTURE };
	longopts[n++] = (struct option){ "follow", no_argument, NULL, OPT_FOLLOW };
	{
		static const struct option common_opts[] = { PA_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };

		for (size_t i = 0; i < sizeof common_opts / sizeof common_opts[0]; i++)
			longopts[n++] = common_opts[i];
	}

	/* Messages for unknown options come from below, one per option. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		if (pa_common_option(&common, c, optarg))
			continue;
		if (c >= OPT_SETTING && c < OPT_SETTING + (int)NSETTINGS) {
			const struct setting_opt *o = &setting_opts[c - OPT_SETTING];
			char flag[40];

			snprintf(flag, sizeof flag, "--%s", o->option);
			pa_planconf_set(&conf, o->key, flag, optarg);
			continue;
		}
		switch (c) {
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_NOW:
			if (pa_time_parse(optarg, strlen(optarg), &now) != 0)
				pa_usage_error("--now: not a timestamp: %s", pa_quote(optarg, strlen(optarg)));
			now_set = 1;
			break;
		case OPT_KEEP:
			keep = 1;
			break;
		case OPT_LEARN:
			learn = 1;
			break;
		case OPT_USAGE_WINDOW:
			usage_window = pa_opt_duration("--usage-window", optarg, 1,
						       (pa_usec_t)7 * 86400 * PA_USEC_PER_SEC);
			break;
		case OPT_FOLLOW:
			follow = 1;
			break;
		case OPT_MAX_FUTURE:
			max_future = pa_opt_max_future(optarg);
			break;
		case OPT_USAGE_MAX_AGE:
			usage_max_age = pa_opt_duration("--usage-max-age", optarg, 1,
							(pa_usec_t)3650 * 86400 * PA_USEC_PER_SEC);
			break;
		case 'h':
			usage();
			pa_planconf_free(&conf);
			return pa_out_finish();
		case 'V':
			pa_print_version();
			pa_planconf_free(&conf);
			return pa_out_finish();
		default:
			pa_usage_error("invalid option or missing value: \"%s\"", argv[optind - 1]);
		}
	}
	pa_rejects_start(argc - optind, argv + optind);
	if (follow && now_set)
		pa_usage_error("--follow plans each issue at its own time, so it takes no --now");
	if (config != NULL && pa_planconf_load(&conf, config, err, sizeof err) != 0) {
		pa_warn("--config: %s", err);
		pa_planconf_free(&conf);
		return PA_EXIT_USAGE;
	}
	check_global(&conf, config);

	/*
	 * A batch run reports a service without a capacity when it ends.  A
	 * live one would run on without a single plan, so it stops here.
	 */
	if (follow && !learn && json_object_get(conf.cli, "capacity") == NULL &&
	    json_object_get(conf.defaults, "capacity") == NULL && json_object_size(conf.services) == 0)
		pa_usage_error("--follow needs a capacity: --capacity, \"capacity\" in --config, "
			       "or --learn-capacity");

	ctx.run = pa_plan_run_new(&conf, now_set, now, keep);
	pa_plan_run_usage_limits(ctx.run, usage_window, usage_max_age);
	pa_plan_run_max_future(ctx.run, max_future);
	if (follow)
		pa_plan_run_follow(ctx.run);
	if (learn)
		pa_plan_run_learn_capacity(ctx.run);
	pa_stop_catch();
	rc = pa_input_each(argc - optind, argv + optind, common.max_line, on_line, &ctx);
	pa_warn_kind_missing(ctx.forecasts, "forecast", "pa-forecast");
	run_rc = pa_stop_requested ? pa_plan_run_stop(ctx.run) : pa_plan_run_finish(ctx.run);
	pa_plan_run_free(ctx.run);
	pa_planconf_free(&conf);

	if (run_rc > rc && rc != PA_EXIT_IO)
		rc = run_rc;
	{
		int diag = pa_diag_finish(common.max_bad);

		if (diag > rc && rc != PA_EXIT_IO && rc != PA_EXIT_USAGE)
			rc = diag;
	}
	out = pa_out_finish();
	return out ? out : rc;
}
