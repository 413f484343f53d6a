/*
 * pa-ingest - turn access logs, event feeds and utilization exports into
 * pa records (NDJSON on stdout).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "ingest.h"
#include "ndjson.h"
#include "opts.h"
#include "stop.h"
#include "tsdb.h"

static void
usage(void)
{
	printf("usage: %s [options] [FILE...]\n"
	       "Read access logs, event feeds or utilization exports (plain or gzip;\n"
	       "FILE - or none is stdin) and write pa records as NDJSON.\n"
	       "\n"
	       "Input:\n"
	       "  -t, --type TYPE        requests (default), events, usage or series\n"
	       "  -f, --format FORMAT    combined, common, vhost_combined, nginx,\n"
	       "                         nginx_vhost, alb, elb, json, csv, tsv or auto\n"
	       "                         (default: chosen per file from its first lines)\n"
	       "      --log-format TPL   an Apache LogFormat (%%h %%t \"%%r\" ...) or nginx\n"
	       "                         log_format ($remote_addr [$time_local] ...) string\n"
	       "      --field T=SOURCE   take record field T from SOURCE (a JSON key or\n"
	       "                         dotted path, or a CSV column name); repeatable\n"
	       "      --delimiter C      CSV delimiter (default: detected from the header)\n"
	       "      --utc-offset OFF   offset of times written without one (+02:00)\n"
	       "\n"
	       "Tenant and service (RULE: host, subdomain, referer, path[:N],\n"
	       "field:NAME, regex:SOURCE:ERE, value:TEXT or a fixed TEXT):\n"
	       "      --tenant RULE      tenant rule, tried in order (default: host)\n"
	       "      --service RULE     service rule, tried in order (default: path)\n"
	       "      --default-tenant NAME    when no rule applies (default: default)\n"
	       "      --default-service NAME   when no rule applies (default: default)\n"
	       "      --map FILE         rename series: lines \"TENANT/SERVICE NEW/NAME\"\n"
	       "      --path-template T  normalise matching paths to T (/users/{id});\n"
	       "                         repeatable\n"
	       "      --keep-ids         keep numeric and hex ids in paths\n"
	       "      --add LIST         also write host, referer, user_agent, query\n"
	       "\n"
	       "Events, usage and series:\n"
	       "      --event-name NAME  name of every event (default: name column or\n"
	       "                         file name)\n"
	       "      --event-type TYPE  event type (default: type column, else the name)\n"
	       "      --percent          cpu and memory columns are percentages\n"
	       "      --step DURATION    series step (default: the smallest time between\n"
	       "                         the first accepted rows of a series)\n"
	       "\n"
	       "      --threads N        parser threads for access logs (default: 2 on\n"
	       "                         a machine with 2 or more CPUs, else 1; 1 for a\n"
	       "                         pipe or terminal)\n"
	       "      --follow           follow one growing FILE like tail -F, across\n"
	       "                         rotation, until interrupted\n"
	       PA_TSDB_INGEST_USAGE
	       "\n"
	       "Output:\n"
	       "  -q, --quiet            no summary line on stderr\n"
	       PA_COMMON_USAGE,
	       pa_prog);
}

enum {
	OPT_LOG_FORMAT = 1, OPT_FIELD, OPT_DELIM, OPT_UTC_OFFSET, OPT_TENANT, OPT_SERVICE,
	OPT_DEFAULT_TENANT, OPT_DEFAULT_SERVICE, OPT_MAP, OPT_PATH_TEMPLATE, OPT_KEEP_IDS,
	OPT_ADD, OPT_EVENT_NAME, OPT_EVENT_TYPE, OPT_PERCENT, OPT_STEP, OPT_FOLLOW, OPT_THREADS
};

static const struct option longopts[] = {
	{ "type", required_argument, NULL, 't' },
	{ "format", required_argument, NULL, 'f' },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "field", required_argument, NULL, OPT_FIELD },
	{ "delimiter", required_argument, NULL, OPT_DELIM },
	{ "utc-offset", required_argument, NULL, OPT_UTC_OFFSET },
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "default-tenant", required_argument, NULL, OPT_DEFAULT_TENANT },
	{ "default-service", required_argument, NULL, OPT_DEFAULT_SERVICE },
	{ "map", required_argument, NULL, OPT_MAP },
	{ "path-template", required_argument, NULL, OPT_PATH_TEMPLATE },
	{ "keep-ids", no_argument, NULL, OPT_KEEP_IDS },
	{ "add", required_argument, NULL, OPT_ADD },
	{ "event-name", required_argument, NULL, OPT_EVENT_NAME },
	{ "event-type", required_argument, NULL, OPT_EVENT_TYPE },
	{ "percent", no_argument, NULL, OPT_PERCENT },
	{ "step", required_argument, NULL, OPT_STEP },
	{ "quiet", no_argument, NULL, 'q' },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "threads", required_argument, NULL, OPT_THREADS },
	PA_TSDB_INGEST_LONGOPTS,
	PA_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

static void
set_format(struct pa_ingest *in, const char *arg)
{
	if (strcmp(arg, "auto") == 0)
		in->format = PA_FMT_AUTO;
	else if (strcmp(arg, "json") == 0 || strcmp(arg, "ndjson") == 0)
		in->format = PA_FMT_JSON;
	else if (strcmp(arg, "csv") == 0)
		in->format = PA_FMT_CSV;
	else if (strcmp(arg, "tsv") == 0)
		in->format = PA_FMT_TSV;
	else if (pa_logformat_preset(arg, &in->log) == 0) {
		in->format = PA_FMT_LOG;
		in->log_given = 1;
	} else
		pa_usage_error("unknown --format \"%s\"; expected combined, common, vhost_combined, "
			       "nginx, nginx_vhost, alb, elb, json, csv, tsv, prometheus, influxdb "
			       "or auto", arg);
}

static void
set_add(struct pa_ingest *in, const char *arg)
{
	char buf[256];

	snprintf(buf, sizeof buf, "%s", arg);
	for (char *s = strtok(buf, ","); s != NULL; s = strtok(NULL, ",")) {
		if (strcmp(s, "host") == 0)
			in->add |= PA_ADD_HOST;
		else if (strcmp(s, "referer") == 0)
			in->add |= PA_ADD_REFERER;
		else if (strcmp(s, "user_agent") == 0)
			in->add |= PA_ADD_USER_AGENT;
		else if (strcmp(s, "query") == 0)
			in->add |= PA_ADD_QUERY;
		else
			pa_usage_error("unknown --add field \"%s\"; expected host, referer, user_agent or query", s);
	}
}

static pa_usec_t
parse_offset(const char *arg)
{
	pa_usec_t t;
	char buf[40];

	/* Read the offset through the RFC 3339 parser: 1970-01-01T00:00:00+02:00 is -2h. */
	if (strlen(arg) > 6 || (arg[0] != '+' && arg[0] != '-'))
		pa_usage_error("invalid --utc-offset \"%s\": expected +HH:MM or -HH:MM", arg);
	snprintf(buf, sizeof buf, "1970-01-01T00:00:00%s", arg);
	if (pa_time_parse_rfc3339(buf, strlen(buf), &t) != 0)
		pa_usage_error("invalid --utc-offset \"%s\": expected +HH:MM or -HH:MM", arg);
	return -t;
}

/*
 * Catch SIGINT and SIGTERM, so that a stop ends the input after the
 * current line.  A reader waiting on a pipe with every record written
 * sets pa_stop_idle, and a signal then ends the run at once.
 */
static void
catch_stop(struct pa_ingest *in)
{
	in->stop = &pa_stop_requested;
	in->drained = &pa_stop_idle;
	pa_stop_catch();
}

int
main(int argc, char **argv)
{
	struct pa_common_opts common;
	struct pa_ingest in;
	struct pa_tsdb_map tsdb;
	char err[512];
	int c, quiet = 0, follow = 0, threads_given = 0, rc = PA_EXIT_OK, out;
	const char *type_name = "requests";

	pa_diag_init(argv[0]);
	pa_out_init();
	pa_common_defaults(&common);
	pa_ingest_init(&in);
	in.threads = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
	pa_tsdb_map_init(&tsdb);

	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:f:qhV", longopts, NULL)) != -1) {
		if (pa_common_option(&common, c, optarg))
			continue;
		if (pa_tsdb_ingest_option(&tsdb, c, optarg))
			continue;
		switch (c) {
		case 't':
			type_name = optarg;
			if (strcmp(optarg, "requests") == 0)
				in.type = PA_TYPE_REQUESTS;
			else if (strcmp(optarg, "events") == 0)
				in.type = PA_TYPE_EVENTS;
			else if (strcmp(optarg, "usage") == 0)
				in.type = PA_TYPE_USAGE;
			else if (strcmp(optarg, "series") == 0)
				in.type = PA_TYPE_SERIES;
			else
				pa_usage_error("unknown --type \"%s\"; expected requests, events, usage or series",
					       optarg);
			break;
		case 'f':
			set_format(&in, optarg);
			break;
		case OPT_LOG_FORMAT: {
			enum pa_al_syntax syn = strchr(optarg, '$') != NULL ? PA_AL_NGINX : PA_AL_APACHE;

			if (pa_logformat_compile(optarg, syn, &in.log, err, sizeof err) != 0)
				pa_usage_error("invalid --log-format: %s", err);
			in.format = PA_FMT_LOG;
			in.log_given = 1;
			break;
		}
		case OPT_FIELD:
			if (pa_fieldmap_set(&in.fields, optarg, err, sizeof err) != 0)
				pa_usage_error("%s", err);
			break;
		case OPT_DELIM:
			if (strlen(optarg) != 1 && strcmp(optarg, "\\t") != 0)
				pa_usage_error("invalid --delimiter \"%s\": expected one character", optarg);
			in.delim = optarg[0] == '\\' ? '\t' : (unsigned char)optarg[0];
			in.delim_given = 1;
			break;
		case OPT_UTC_OFFSET:
			in.feed.utc_offset = parse_offset(optarg);
			break;
		case OPT_TENANT:
		case OPT_SERVICE:
			if (pa_tenancy_add_rule(&in.tenancy, c == OPT_SERVICE, optarg, err, sizeof err) != 0)
				pa_usage_error("%s", err);
			break;
		case OPT_DEFAULT_TENANT:
		case OPT_DEFAULT_SERVICE: {
			char *dst = c == OPT_DEFAULT_TENANT ? in.tenancy.fallback_tenant
							    : in.tenancy.fallback_service;

			if (pa_name_clean(optarg, strlen(optarg), 0, dst) == 0)
				pa_usage_error("invalid %s \"%s\": use letters, digits, '.', '_' or '-'",
					       c == OPT_DEFAULT_TENANT ? "--default-tenant" : "--default-service",
					       optarg);
			break;
		}
		case OPT_MAP:
			if (pa_tenancy_load_map(&in.tenancy, optarg, err, sizeof err) != 0)
				pa_die(PA_EXIT_USAGE, "%s", err);
			break;
		case OPT_PATH_TEMPLATE:
			if (pa_tenancy_add_template(&in.tenancy, optarg, err, sizeof err) != 0)
				pa_usage_error("%s", err);
			break;
		case OPT_KEEP_IDS:
			in.tenancy.keep_ids = 1;
			break;
		case OPT_ADD:
			set_add(&in, optarg);
			break;
		case OPT_EVENT_NAME:
			in.feed.event_name = optarg;
			break;
		case OPT_EVENT_TYPE:
			in.feed.event_type = optarg;
			break;
		case OPT_PERCENT:
			in.feed.percent = 1;
			break;
		case OPT_STEP:
			in.feed.step = pa_opt_duration("--step", optarg, PA_USEC_PER_SEC,
						       366LL * 86400 * PA_USEC_PER_SEC);
			break;
		case 'q':
			quiet = 1;
			break;
		case OPT_FOLLOW:
			follow = 1;
			break;
		case OPT_THREADS:
			in.threads = (int)pa_opt_long("--threads", optarg, 1, PA_THREADS_MAX);
			threads_given = 1;
			break;
		case 'h':
			usage();
			pa_ingest_free(&in);
			return pa_out_finish();
		case 'V':
			pa_print_version();
			pa_ingest_free(&in);
			return pa_out_finish();
		default:
			pa_usage_error("invalid option or missing value: \"%s\"", argv[optind - 1]);
		}
	}
	pa_rejects_start(argc - optind, argv + optind);
	in.max_line = common.max_line;
	if (in.type != PA_TYPE_REQUESTS && in.format == PA_FMT_LOG)
		pa_usage_error("--type %s reads JSON or CSV, not an access-log format", type_name);
	if (in.format == PA_FMT_CSV && in.delim == 0)
		in.delim = ',';

	/*
	 * Parser threads hand records over a batch at a time, so a pipe or a
	 * terminal is read in the calling thread unless --threads asks
	 * otherwise: each record is then written as soon as its line is read.
	 */
	if (!threads_given) {
		if (optind == argc && !pa_ingest_is_regular("-"))
			in.threads = 1;
		for (int i = optind; i < argc; i++)
			if (!pa_ingest_is_regular(argv[i]))
				in.threads = 1;
	}

	if (follow) {
		if (argc - optind != 1 || strcmp(argv[optind], "-") == 0)
			pa_usage_error("--follow needs exactly one FILE (a pipe on stdin is followed anyway)");
		pa_stop_catch();
		rc = pa_ingest_follow(&in, argv[optind], &pa_stop_requested);
	} else if (tsdb.input >= 0) {
		tsdb.step = in.feed.step;
		pa_stop_catch();
		rc = pa_tsdb_read_files(tsdb.input, argc - optind, argv + optind, common.max_line,
					&tsdb, pa_tsdb_emit_stdout, NULL, &in.w.records);
	} else if (optind == argc) {
		catch_stop(&in);
		rc = pa_ingest_file(&in, "-");
	} else {
		catch_stop(&in);
		for (int i = optind; i < argc && !pa_stop_requested; i++) {
			int frc = pa_ingest_file(&in, argv[i]);

			if (frc > rc)
				rc = frc;
		}
	}

	pa_ingest_notes(&in);
	if (!quiet)
		pa_ingest_summary(&in);
	pa_ingest_free(&in);
	{
		int drc = pa_diag_finish(common.max_bad);

		if (drc > rc)
			rc = drc;
	}
	out = pa_out_finish();
	return out ? out : rc;
}
