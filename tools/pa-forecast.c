/*
 * pa-forecast - forecast request volume and complexity per tenant service.
 *
 * Reads bucket and event records, forecasts each series once the input
 * ends, and writes forecast and event_effect records.  Records of other
 * kinds pass through unchanged and in order as they arrive, so usage
 * records reach pa-plan.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fc_output.h"
#include "fc_series.h"
#include "fcstate.h"
#include "forecast.h"
#include "ndjson.h"
#include "opts.h"
#include "tsdb.h"

enum {
	OPT_PERIOD2 = 1,
	OPT_GAPS,
	OPT_NO_ALIGN_END,
	OPT_TRANSFORM,
	OPT_EVENT_WINDOW,
	OPT_STATE,
	OPT_REFIT_EVERY,
	OPT_MAX_LAG
};

struct ctx {
	struct pa_fc_series_set *set;
	struct pa_fc_events events;
	pa_usec_t event_window;	/* length of an event without "end" */
	int fatal;		/* out of memory: stop collecting */
};

static void
usage(void)
{
	printf("usage: pa-forecast [options] [file ...]\n"
	       "Forecast request volume and complexity per tenant service from bucket\n"
	       "and event records; other records pass through unchanged.\n"
	       "\n"
	       "  -H, --horizon N|DUR    steps ahead (24), or a duration such as 12h\n"
	       "  -l, --level PCT[,PCT]  interval levels in percent or as fractions (95);\n"
	       "                         the first fills the bounds, all go in \"intervals\"\n"
	       "  -p, --period DUR       main season (1d); 0 for none\n"
	       "      --period2 DUR      second, longer season (1w); 0 for none\n"
	       "  -m, --model NAME       auto, snaive, naive, drift, mean, ses, hw,\n"
	       "                         hw-damped, croston, arima, regress (auto)\n"
	       "      --gaps zero|unknown  read missing buckets as 0 requests (zero)\n"
	       "                         or as unknown\n"
	       "      --no-align-end     forecast each series from its own last bucket;\n"
	       "                         by default series end together, at the last\n"
	       "                         bucket of the input\n"
	       "      --transform auto|none|log1p  fit volume on log1p(requests): when it\n"
	       "                         wins the hold-out (auto), never, or always\n"
	       "      --event-window DUR length of an event record without \"end\" (2h)\n"
	       "      --max-lag N|DUR    largest lag of a trend stream as a regressor, in\n"
	       "                         steps or as a duration (the horizon)\n"
	       "      --state FILE       keep each series' chosen models and parameters in\n"
	       "                         FILE and reuse them on the next run\n"
	       "      --refit-every N    runs a kept choice is reused before a full fit (24)\n"
	       "      --output-format FMT  ndjson (default), openmetrics (for promtool\n"
	       "                         backfill) or influx (InfluxDB line protocol)\n"
	       PA_COMMON_USAGE);
}

static void
on_line(const char *name, struct pa_line *line, enum pa_line_status status, void *arg)
{
	struct ctx *c = arg;
	json_t *rec = pa_line_to_object(name, line, status);
	const char *kind, *reason_class;
	char err[300];

	if (rec == NULL)
		return;
	kind = pa_rec_kind(rec);
	if (kind != NULL && strcmp(kind, "event") == 0) {
		if (!c->fatal && pa_fc_events_add(&c->events, rec, c->event_window, err, sizeof err,
						  &reason_class) != 0) {
			if (strcmp(reason_class, "out of memory") == 0)
				c->fatal = 1;
			pa_reject(name, line->lineno, line->text, line->len, reason_class, "%s", err);
		}
		json_decref(rec);
		return;
	}
	if (kind == NULL || strcmp(kind, "bucket") != 0) {
		pa_out_json(rec);
		json_decref(rec);
		return;
	}
	if (!c->fatal && pa_fc_series_add(c->set, rec, err, sizeof err, &reason_class) != 0) {
		if (strcmp(reason_class, "out of memory") == 0)
			c->fatal = 1;
		pa_reject(name, line->lineno, line->text, line->len, reason_class, "%s", err);
	}
	json_decref(rec);
}

/* Parse "95", "0.95" or a comma-separated list such as "80,95" into ro. */
static void
parse_levels(const char *arg, struct pa_fc_run_opts *ro)
{
	char buf[256], *item, *save = NULL;

	if (strlen(arg) >= sizeof buf)
		pa_usage_error("--level is too long: \"%.40s...\"", arg);
	memcpy(buf, arg, strlen(arg) + 1);
	ro->nlevels = 0;
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		double v = pa_opt_double("--level", item, 0.01, 99.99);

		if (ro->nlevels == PA_FC_LEVELS_MAX)
			pa_usage_error("--level takes at most %d levels", PA_FC_LEVELS_MAX);
		ro->level[ro->nlevels++] = v >= 1 ? v / 100 : v;
	}
	if (ro->nlevels == 0)
		pa_usage_error("--level needs at least one level");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "horizon", required_argument, NULL, 'H' },
		{ "level", required_argument, NULL, 'l' },
		{ "period", required_argument, NULL, 'p' },
		{ "period2", required_argument, NULL, OPT_PERIOD2 },
		{ "model", required_argument, NULL, 'm' },
		{ "gaps", required_argument, NULL, OPT_GAPS },
		{ "no-align-end", no_argument, NULL, OPT_NO_ALIGN_END },
		{ "transform", required_argument, NULL, OPT_TRANSFORM },
		{ "event-window", required_argument, NULL, OPT_EVENT_WINDOW },
		{ "output-format", required_argument, NULL, PA_OPT_OUTPUT_FORMAT },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "refit-every", required_argument, NULL, OPT_REFIT_EVERY },
		{ "max-lag", required_argument, NULL, OPT_MAX_LAG },
		PA_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct pa_common_opts common;
	struct pa_fc_run_opts ro = {
		.model = "auto", .level = { 0.95 }, .nlevels = 1, .horizon_steps = 24,
		.period = 86400 * PA_USEC_PER_SEC, .period2 = 7 * 86400 * PA_USEC_PER_SEC,
		.transform = PA_FC_TRANSFORM_AUTO, .refit_every = 24,
	};
	const char *state_path = NULL;
	json_t *state_in = NULL, *state_out = NULL;
	char err[400];
	struct ctx c = { .event_window = 2 * 3600 * PA_USEC_PER_SEC };
	struct pa_fc_series **series;
	size_t count;
	int opt, rc, in, out;
	int align_end = 1;

	pa_diag_init(argv[0]);
	pa_out_init();
	pa_common_defaults(&common);

	while ((opt = getopt_long(argc, argv, "H:l:p:m:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'H':
			if (strspn(optarg, "0123456789") == strlen(optarg)) {
				ro.horizon_steps = pa_opt_long("--horizon", optarg, 1, 100000);
				ro.horizon = 0;
			} else {
				ro.horizon = pa_opt_duration("--horizon", optarg, 1,
							     3660LL * 86400 * PA_USEC_PER_SEC);
			}
			break;
		case 'l':
			parse_levels(optarg, &ro);
			break;
		case 'p':
			ro.period = pa_opt_duration("--period", optarg, 0,
						    3660LL * 86400 * PA_USEC_PER_SEC);
			break;
		case OPT_PERIOD2:
			ro.period2 = pa_opt_duration("--period2", optarg, 0,
						     3660LL * 86400 * PA_USEC_PER_SEC);
			ro.period2_explicit = 1;
			break;
		case 'm':
			if (!pa_fc_model_known(optarg))
				pa_usage_error("unknown model for --model: \"%s\" (use auto, snaive, "
					       "naive, drift, mean, ses, hw, hw-damped, croston, arima or regress)",
					       optarg);
			ro.model = optarg;
			break;
		case OPT_NO_ALIGN_END:
			align_end = 0;
			break;
		case OPT_GAPS:
			if (strcmp(optarg, "zero") == 0)
				ro.gaps_unknown = 0;
			else if (strcmp(optarg, "unknown") == 0)
				ro.gaps_unknown = 1;
			else
				pa_usage_error("invalid value for --gaps: \"%s\" (use zero or unknown)",
					       optarg);
			break;
		case OPT_TRANSFORM:
			if (strcmp(optarg, "none") == 0)
				ro.transform = PA_FC_TRANSFORM_NONE;
			else if (strcmp(optarg, "log1p") == 0)
				ro.transform = PA_FC_TRANSFORM_LOG1P;
			else if (strcmp(optarg, "auto") == 0)
				ro.transform = PA_FC_TRANSFORM_AUTO;
			else
				pa_usage_error("invalid value for --transform: \"%s\" (use auto, none or log1p)",
					       optarg);
			break;
		case OPT_EVENT_WINDOW:
			c.event_window = pa_opt_duration("--event-window", optarg, 1,
							 366LL * 86400 * PA_USEC_PER_SEC);
			break;
		case OPT_MAX_LAG:
			if (strspn(optarg, "0123456789") == strlen(optarg)) {
				ro.max_lag_steps = pa_opt_long("--max-lag", optarg, 1, 100000);
				ro.max_lag = 0;
			} else {
				ro.max_lag = pa_opt_duration("--max-lag", optarg, 1,
							     366LL * 86400 * PA_USEC_PER_SEC);
			}
			break;
		case OPT_STATE:
			state_path = optarg;
			break;
		case OPT_REFIT_EVERY:
			ro.refit_every = pa_opt_long("--refit-every", optarg, 1, 1000000);
			break;
		case PA_OPT_OUTPUT_FORMAT:
			pa_tsdb_output_option(optarg);
			break;
		case 'h':
			usage();
			return pa_out_finish();
		case 'V':
			pa_print_version();
			return pa_out_finish();
		default:
			if (!pa_common_option(&common, opt, optarg))
				pa_usage_error("unknown option");
		}
	}

	/* The old state is read before any output, so a bad file changes nothing. */
	if (state_path) {
		state_in = pa_fcstate_load(state_path, err, sizeof err);
		if (state_in == NULL)
			pa_die(PA_EXIT_USAGE, "%s", err);
		state_out = json_deep_copy(state_in);
		ro.state_in = state_in;
		ro.state_out = state_out;
	}

	c.set = pa_fc_series_new();
	if (c.set == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	in = pa_input_each(argc - optind, argv + optind, common.max_line, on_line, &c);

	/* Forecasts follow the passed-through records, series in name order. */
	if (align_end)
		pa_fc_series_align_end(c.set);
	series = pa_fc_series_sorted(c.set, &count);
	ro.events = &c.events;
	for (size_t i = 0; i < count; i++)
		pa_fc_emit_series(series[i], &ro);
	pa_fc_series_free(c.set);
	pa_fc_events_free(&c.events);
	pa_tsdb_output_finish();
	if (state_path && pa_fcstate_save(state_path, state_out, err, sizeof err) != 0) {
		pa_warn("%s", err);
		c.fatal = 1;
	}
	json_decref(state_in);
	json_decref(state_out);

	rc = pa_diag_finish(common.max_bad);
	out = pa_out_finish();
	if (out)
		return out;
	if (c.fatal || in == PA_EXIT_IO)
		return PA_EXIT_IO;
	return in ? in : rc;
}
