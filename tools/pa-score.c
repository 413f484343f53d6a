/*
 * pa-score - give every request a complexity score and roll requests up
 * into bucket records.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fit.h"
#include "ndjson.h"
#include "opts.h"
#include "rollup.h"
#include "score.h"
#include "stop.h"
#include "timeutil.h"
#include "tsdb.h"

enum {
	OPT_LATENESS = 1,
	OPT_MAX_FUTURE,
	OPT_MAX_FILL,
	OPT_RETIRE,
	OPT_MERGE,
	OPT_SHARD,
	OPT_CALIBRATE,
	OPT_HOLD,
	OPT_MAX_DEPTH,
	OPT_RESCORE,
	OPT_FIT,
	OPT_FIT_METHOD,
	OPT_FEATURE,
	OPT_MODEL,
	OPT_FOLLOW,
	OPT_COST
};

struct run {
	struct pa_common_opts common;
	pa_usec_t step;			/* 0: no rollup */
	pa_usec_t lateness;		/* < 0: keep buckets open until the end */
	int merge;
	int follow;			/* flush each record and bucket as written */
	int text_buckets;		/* NDJSON output: format buckets without jansson */
	int sharded;
	unsigned shard_k, shard_n;
	long calibrate_n, hold_max;
	long max_fill;			/* longest gap written as zero buckets */
	pa_usec_t retire;		/* quiet time after which a series is dropped */
	int retire_given;		/* --retire was given */
	int max_depth;
	int fast;			/* roll up flat request lines without jansson */
	int rescore;			/* score requests that carry a complexity */
	struct pa_extra extra;		/* --feature fields, or the model's */
	const char *fit_path;
	enum pa_fit_method fit_method;
	struct pa_fitter *fitter;
	const char *cost_field;		/* observed cost for --fit, duration_ms by default */
	long fit_skipped;		/* requests without the cost field */
	const char *model_path;
	struct pa_model *model;

	struct pa_scorer *scorer;
	struct pa_rollup *rollup;

	int have_max_ts;
	pa_usec_t max_ts;		/* newest accepted request, for --lateness */
	pa_usec_t max_future;		/* latest request time after the clock; < 0: any */
	pa_usec_t future_limit;		/* the clock when last read plus max_future */
	pa_usec_t now;			/* the clock when last read, for the watermark */
	long consumed;			/* request records read, or bucket records with --merge */
	long buckets_passed;		/* bucket records read without --merge */
};

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: pa-score [options] [FILE...]\n"
		"\n"
		"Add a complexity score to every request record (1.0 = the median request\n"
		"of its service), or roll requests up into bucket records.  Records of\n"
		"other kinds pass through unchanged.\n"
		"\n"
		"  -r, --rollup STEP        write bucket records of width STEP (whole seconds\n"
		"                           from 1s to 1d) instead of requests\n"
		"      --lateness DURATION  write each bucket once requests are DURATION\n"
		"                           past its end; later requests for it are\n"
		"                           rejected (default: write all at end of input)\n"
		"      --max-future DURATION  reject requests stamped more than DURATION\n"
		"                           after the clock (default 5m); none: accept any\n"
		"      --max-fill N         write at most N zero buckets in one gap of a\n"
		"                           series; a longer gap is reported and left\n"
		"                           empty (default 100000)\n"
		"      --retire DURATION    with --lateness or --follow, stop padding a\n"
		"                           series DURATION after its last request and\n"
		"                           drop it until it comes back (default 1d;\n"
		"                           0: never)\n"
		"      --follow             write each bucket as soon as it closes and flush\n"
		"                           it (for tail -f; --lateness defaults to 0)\n"
		"      --merge              combine bucket records from partial rollups;\n"
		"                           with --rollup STEP, also coarsen finer buckets\n"
		"                           into buckets of STEP\n"
		"      --shard K/N          keep only the series whose tenant_service_name\n"
		"                           hashes to shard K of N\n"
		"      --calibrate N        scale each service by the median of its first N\n"
		"                           requests (default 1000)\n"
		"      --hold RECORDS       hold at most RECORDS records back while services\n"
		"                           calibrate (default 100000)\n"
		"      --max-depth N        reject JSON bodies nested deeper than N levels\n"
		"                           (default 64)\n"
		"      --rescore            score requests that already carry a complexity\n"
		"                           (by default their complexity is kept)\n"
		"      --fit FILE           learn weights from requests with duration_ms and\n"
		"                           write the model to FILE (nothing on stdout)\n"
		"      --cost FIELD         with --fit, the observed cost field instead of\n"
		"                           duration_ms (such as a CPU time)\n"
		"      --fit-method METHOD  huber (robust, default) or ridge\n"
		"      --feature FIELD      with --fit, also use numeric request field FIELD\n"
		"                           as a feature (repeatable, up to 16)\n"
		"      --model FILE         score with the weights of a --fit model\n"
		"      --output-format FMT  ndjson (default), openmetrics (for promtool\n"
		"                           backfill) or influx (InfluxDB line protocol)\n"
		PA_COMMON_USAGE_AT("  "));
}

static int
keep_in_shard(const struct run *run, const json_t *rec)
{
	const char *name = pa_rec_str(rec, "tenant_service_name");

	if (!run->sharded)
		return 1;

	/* Records of no series go to shard 0 only, so the shards' union is the input. */
	if (name == NULL)
		return run->shard_k == 0;
	return pa_hash64(name, strlen(name)) % run->shard_n == run->shard_k;
}

static void
rollup_add(struct run *run, const struct pa_rollup_request *req)
{
	if (pa_rollup_add(run->rollup, req) != 0)
		pa_die(PA_EXIT_IO, "internal error: request accepted as on time was late");
}

/* Push buffered output to the reader; a closed pipe ends the tool quietly. */
static void
flush_output(void)
{
	if (fflush(stdout) == 0)
		return;
	if (errno == EPIPE)
		exit(PA_EXIT_OK);
	pa_die(PA_EXIT_IO, "write to standard output failed: %s", strerror(errno));
}

/*
 * The bucket writer: text formatting for NDJSON, records through
 * pa_out_json when --output-format has installed its hook there.
 */
static pa_bucket_writer
bucket_writer(const struct run *run)
{
	return run->text_buckets ? pa_bucket_write_text : pa_bucket_write_ndjson;
}

static int follow_text_buckets;

/* Bucket writer for --follow: each bucket reaches the reader at once. */
static void
write_bucket_flushed(const char *tenant_service_name, const char *tenant, const char *service,
		     pa_usec_t step, const struct pa_bucket *b, void *ctx)
{
	if (follow_text_buckets)
		pa_bucket_write_text(tenant_service_name, tenant, service, step, b, ctx);
	else
		pa_bucket_write_ndjson(tenant_service_name, tenant, service, step, b, ctx);
	flush_output();
}

/*
 * Scorer output.  Without a rollup every item is a record; with one, a
 * request is a copy from pa_rollup_request_copy and anything else a
 * record passing through.
 */
static void
emit(void *item, double complexity, void *ctx)
{
	struct run *run = ctx;

	if (isnan(complexity) || run->rollup == NULL) {
		json_t *rec = item;

		/* Quantised as the rollup quantises it, so both agree. */
		if (!isnan(complexity))
			pa_rec_set_num(rec, "complexity", (double)llround(complexity * 1e6) / 1e6);
		pa_out_json(rec);
		json_decref(rec);
		if (run->follow)
			flush_output();
		return;
	}

	struct pa_rollup_request *h = item;

	h->complexity = complexity;
	rollup_add(run, h);
	free(h);
}

/*
 * Score a request for the rollup: at once when its service is calibrated
 * and nothing is held, otherwise through the hold queue.
 */
static void
rollup_request(struct run *run, struct pa_rollup_request *req, const struct pa_features *f,
	       int has_complexity)
{
	if (has_complexity) {
		if (pa_scorer_idle(run->scorer))
			rollup_add(run, req);
		else
			pa_scorer_scored(run->scorer, pa_rollup_request_copy(req), req->complexity);
		return;
	}
	if (pa_scorer_try_now(run->scorer, req->tenant_service_name, f, &req->complexity)) {
		rollup_add(run, req);
		return;
	}
	pa_scorer_request(run->scorer, pa_rollup_request_copy(req), req->tenant_service_name, f);
}

/*
 * Reject a request stamped more than --max-future after the clock, or
 * whose bucket --lateness has already closed; otherwise advance the newest
 * time seen.  The second is the test the rollup makes when the request
 * reaches it, since requests reach it in input order.  The first keeps one
 * wrong date from opening a bucket years ahead, which would stretch the
 * series with empty buckets and move every forecast to that date.
 */
static int
check_time(struct run *run, const char *name, struct pa_line *line, pa_usec_t ts)
{
	if (pa_time_ahead_of_clock(ts, run->max_future, &run->future_limit)) {
		char when[40], clock[40];

		pa_reject(name, line->lineno, line->text, line->len, "timestamp in the future",
			  "request at %s is more than --max-future after the clock (%s); "
			  "is a timestamp wrong?", pa_time_format(ts, when, sizeof when),
			  pa_time_format_clock(run->future_limit, run->max_future, clock, sizeof clock));
		return -1;
	}
	if (run->lateness >= 0 && run->have_max_ts &&
	    pa_bucket_start(ts, run->step) <
		    pa_bucket_start(run->max_ts - run->lateness, run->step)) {
		char when[40];

		pa_reject(name, line->lineno, line->text, line->len, "late request",
			  "request at %s is later than --lateness allows: its bucket was "
			  "already written", pa_time_format(ts, when, sizeof when));
		return -1;
	}
	ts = pa_time_cap_at_clock(ts, &run->now);
	if (!run->have_max_ts || ts > run->max_ts) {
		run->have_max_ts = 1;
		run->max_ts = ts;
	}
	return 0;
}

/*
 * Roll up a flat, valid request line without building a JSON tree.
 * Returns 0 when the line needs the full path (which also reports any
 * problem), 1 when it was handled.
 */
static int
fast_request(struct run *run, const char *name, struct pa_line *line)
{
	struct pa_request_parts p;
	struct pa_rollup_request req;
	struct pa_features f;

	if (pa_request_flat(line->text, line->len, &p) != 0 || !p.has_ts)
		return 0;
	pa_diag_count_read();
	run->consumed++;
	if (run->sharded && pa_hash64(p.tenant_service_name, p.tenant_service_name_len) %
				    run->shard_n != run->shard_k)
		return 1;
	if (check_time(run, name, line, p.ts) != 0)
		return 1;

	pa_request_parts_terminate(&p);
	memset(&req, 0, sizeof req);
	req.ts = p.ts;
	req.tenant_service_name = p.tenant_service_name;
	req.tenant = p.tenant;
	req.service = p.service;
	req.status = p.status;
	req.has_bytes_in = p.has_bytes_in;
	req.bytes_in = (uint64_t)llround(p.bytes_in);
	req.has_bytes_out = p.has_bytes_out;
	req.bytes_out = (uint64_t)llround(p.bytes_out);
	req.complexity = p.complexity;
	pa_features_basic(&f, p.method, p.method_len, p.path, p.path_len, p.has_bytes_in,
			  p.bytes_in, p.bytes_out);
	rollup_request(run, &req, &f, p.has_complexity && !run->rescore);
	return 1;
}

/* Check the fields a request needs; returns 0 or -1 after rejecting it. */
static int
check_request(struct run *run, const char *name, struct pa_line *line, const json_t *rec,
	      struct pa_features *f)
{
	char err[300];
	pa_usec_t ts;
	double status;
	int rc;

	if (pa_rec_str(rec, "tenant_service_name") == NULL ||
	    pa_rec_str(rec, "tenant_service_name")[0] == '\0') {
		pa_reject(name, line->lineno, line->text, line->len, "missing field",
			  "field \"tenant_service_name\" is missing, empty or not a string");
		return -1;
	}
	rc = pa_rec_num(rec, "status", &status);
	if (rc < 0 || (rc == 1 && (status != floor(status) || status < 100 || status > 599))) {
		pa_reject(name, line->lineno, line->text, line->len, "invalid status",
			  "field \"status\" is not an HTTP status code (a whole number from 100 "
			  "to 599): %s",
			  pa_quote_json(json_object_get(rec, "status")));
		return -1;
	}
	if (pa_features_extract(rec, &run->extra, run->max_depth, f, err, sizeof err) != 0) {
		pa_reject(name, line->lineno, line->text, line->len, "invalid field", "%s", err);
		return -1;
	}
	if (run->step == 0)
		return 0;

	rc = pa_rec_time(rec, "ts", &ts);
	if (rc == 0) {
		pa_reject(name, line->lineno, line->text, line->len, "missing field",
			  "field \"ts\" is missing");
		return -1;
	}
	if (rc < 0) {
		pa_reject(name, line->lineno, line->text, line->len, "invalid timestamp",
			  "field \"ts\" is not a timestamp: %s",
			  pa_quote_json(json_object_get(rec, "ts")));
		return -1;
	}

	return check_time(run, name, line, ts);
}

/* Add a request to the training rows when it carries the cost field. */
static void
fit_row(struct run *run, const char *name, struct pa_line *line, const json_t *rec,
	const struct pa_features *f)
{
	double duration;
	int rc = pa_rec_num(rec, run->cost_field, &duration);

	if (rc == 0) {
		run->fit_skipped++;
		return;
	}
	if (rc < 0 || duration < 0) {
		pa_reject(name, line->lineno, line->text, line->len, "invalid field",
			  "field \"%s\" is not a non-negative number: %s", run->cost_field,
			  pa_quote_json(json_object_get(rec, run->cost_field)));
		return;
	}
	pa_fitter_add(run->fitter, pa_rec_str(rec, "tenant_service_name"), f, duration);
}

/*
 * Name the fits that fell back from Huber to ridge regression or the mean,
 * which only the model file would show otherwise.
 */
static void
warn_fallback(const json_t *model)
{
	const char *method = json_string_value(json_object_get(json_object_get(model, "global"), "fit"));
	const json_t *entry;
	const char *name;
	long fell = 0;

	if (method != NULL && strcmp(method, "huber") != 0)
		pa_warn("the global Huber fit did not converge or had too few rows, so it is a %s fit",
			method);
	json_object_foreach((json_t *)json_object_get(model, "services"), name, entry) {
		method = json_string_value(json_object_get(entry, "fit"));
		if (method != NULL && strcmp(method, "ridge") == 0 && fell++ == 0)
			pa_warn("service %s: the Huber fit did not converge, so it is a ridge fit%s", name,
				" (see \"fit\" in the model for other services)");
	}
}

/* Write the fitted model to run->fit_path through a temporary file. */
static int
write_model(struct run *run)
{
	char err[300], tmp[4096];
	json_t *model = pa_fitter_model(run->fitter, run->cost_field, err, sizeof err);
	int n;

	if (run->fit_skipped > 0)
		pa_warn("%ld requests without %s were not used for the fit",
			run->fit_skipped, run->cost_field);
	if (model == NULL) {
		pa_warn("cannot fit a model: %s", err);
		return PA_EXIT_DATA;
	}
	if (run->fit_method == PA_FIT_HUBER)
		warn_fallback(model);
	n = snprintf(tmp, sizeof tmp, "%s.tmp", run->fit_path);
	if (n < 0 || (size_t)n >= sizeof tmp)
		pa_die(PA_EXIT_USAGE, "--fit path is too long");
	if (json_dump_file(model, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) != 0 ||
	    rename(tmp, run->fit_path) != 0) {
		pa_warn("%s: cannot write the model", run->fit_path);
		remove(tmp);
		json_decref(model);
		return PA_EXIT_IO;
	}
	json_decref(model);
	return PA_EXIT_OK;
}

static void
on_line(const char *name, struct pa_line *line, enum pa_line_status status, void *ctx)
{
	struct run *run = ctx;
	json_t *rec;
	struct pa_features f;
	const char *kind;
	char err[300];
	double complexity;
	int has_complexity;

	if (run->fast && status == PA_LINE_OK && fast_request(run, name, line))
		return;
	rec = pa_line_to_object(name, line, status);
	if (rec == NULL) {
		if (run->merge)
			pa_rollup_note_unreadable(run->rollup);
		return;
	}
	kind = pa_rec_kind_or_reject(rec, name, line);
	if (kind == NULL) {
		if (run->merge)
			pa_rollup_note_unreadable(run->rollup);
		json_decref(rec);
		return;
	}
	if (strcmp(kind, run->merge ? "bucket" : "request") == 0)
		run->consumed++;
	else if (strcmp(kind, "bucket") == 0)
		run->buckets_passed++;
	if (!keep_in_shard(run, rec)) {
		json_decref(rec);
		return;
	}

	if (run->merge) {
		if (strcmp(kind, "bucket") != 0) {
			pa_out_json(rec);
		} else if (pa_rollup_add_record(run->rollup, rec, err, sizeof err) != 0) {
			pa_reject(name, line->lineno, line->text, line->len, "invalid bucket",
				  "%s", err);
			pa_rollup_reject_record(run->rollup, rec);
		}
		json_decref(rec);
		return;
	}

	if (strcmp(kind, "request") != 0) {
		pa_scorer_other(run->scorer, rec, run->rollup != NULL);
		return;
	}
	if (check_request(run, name, line, rec, &f) != 0) {
		json_decref(rec);
		return;
	}
	if (run->fitter != NULL) {
		fit_row(run, name, line, rec, &f);
		json_decref(rec);
		return;
	}
	/*
	 * A carried complexity is kept, so one that is not a score is an
	 * error, not a request to score again.  A null stands for none.
	 */
	has_complexity = 0;
	if (!run->rescore) {
		int got = pa_rec_num(rec, "complexity", &complexity);

		if (got < 0 || (got == 1 && !(complexity >= 0 &&
					      complexity <= PA_SCORE_COMPLEXITY_MAX))) {
			pa_reject(name, line->lineno, line->text, line->len, "invalid complexity",
				  "field \"complexity\" is not a score from 0 to 1e6: %s",
				  pa_quote_json(json_object_get(rec, "complexity")));
			json_decref(rec);
			return;
		}
		has_complexity = got == 1;
	}
	if (run->rollup != NULL) {
		struct pa_rollup_request req;

		pa_rollup_request_of_record(rec, &req);
		req.complexity = has_complexity ? complexity : 0;
		rollup_request(run, &req, &f, has_complexity);
		json_decref(rec);
		return;
	}
	if (has_complexity)
		pa_scorer_scored(run->scorer, rec, complexity);
	else
		pa_scorer_request(run->scorer, rec, pa_rec_str(rec, "tenant_service_name"), &f);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rollup", required_argument, NULL, 'r' },
		{ "lateness", required_argument, NULL, OPT_LATENESS },
		{ "max-future", required_argument, NULL, OPT_MAX_FUTURE },
		{ "max-fill", required_argument, NULL, OPT_MAX_FILL },
		{ "retire", required_argument, NULL, OPT_RETIRE },
		{ "merge", no_argument, NULL, OPT_MERGE },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "shard", required_argument, NULL, OPT_SHARD },
		{ "calibrate", required_argument, NULL, OPT_CALIBRATE },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
		{ "rescore", no_argument, NULL, OPT_RESCORE },
		{ "fit", required_argument, NULL, OPT_FIT },
		{ "fit-method", required_argument, NULL, OPT_FIT_METHOD },
		{ "feature", required_argument, NULL, OPT_FEATURE },
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "cost", required_argument, NULL, OPT_COST },
		{ "output-format", required_argument, NULL, PA_OPT_OUTPUT_FORMAT },
		PA_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct run run = { .cost_field = "duration_ms", .text_buckets = 1, .lateness = -1,
			   .max_future = PA_MAX_FUTURE_DEFAULT, .future_limit = PA_USEC_MIN, .now = PA_USEC_MIN,
			   .calibrate_n = 1000, .hold_max = 100000, .max_fill = PA_ROLLUP_MAX_FILL,
			   .retire = PA_ROLLUP_RETIRE, .max_depth = PA_BODY_DEPTH_DEFAULT };
	struct pa_weights heuristic;
	int c, rc, out;

	pa_diag_init(argv[0]);
	pa_out_init();
	pa_common_defaults(&run.common);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "r:hV", longopts, NULL)) != -1) {
		if (pa_common_option(&run.common, c, optarg))
			continue;
		switch (c) {
		case 'r':
			run.step = pa_opt_duration("--rollup", optarg, PA_USEC_PER_SEC,
						   86400 * PA_USEC_PER_SEC);
			/* pa-plan and pa-backtest take only a step_s of whole seconds. */
			if (run.step % PA_USEC_PER_SEC != 0)
				pa_usage_error("--rollup must be a whole number of seconds, got %s",
					       pa_quote(optarg, strlen(optarg)));
			break;
		case OPT_MAX_FILL:
			run.max_fill = pa_opt_long("--max-fill", optarg, 0, 100000000);
			break;
		case OPT_RETIRE:
			run.retire = pa_opt_duration("--retire", optarg, 0, 3660 * 86400 * PA_USEC_PER_SEC);
			run.retire_given = 1;
			break;
		case OPT_MAX_FUTURE:
			run.max_future = pa_opt_max_future(optarg);
			break;
		case OPT_LATENESS:
			run.lateness = pa_opt_duration("--lateness", optarg, 0,
						       7 * 86400 * PA_USEC_PER_SEC);
			break;
		case OPT_MERGE:
			run.merge = 1;
			break;
		case OPT_FOLLOW:
			run.follow = 1;
			break;
		case OPT_SHARD:
			pa_opt_shard(optarg, &run.shard_k, &run.shard_n);
			run.sharded = 1;
			break;
		case OPT_CALIBRATE:
			run.calibrate_n = pa_opt_long("--calibrate", optarg, 1, 10000000);
			break;
		case OPT_HOLD:
			run.hold_max = pa_opt_long("--hold", optarg, 1, 100000000);
			break;
		case OPT_MAX_DEPTH:
			run.max_depth = (int)pa_opt_long("--max-depth", optarg, 1, 4096);
			break;
		case OPT_RESCORE:
			run.rescore = 1;
			break;
		case OPT_FIT:
			run.fit_path = pa_opt_replaceable("--fit", optarg);
			break;
		case OPT_FIT_METHOD:
			if (strcmp(optarg, "huber") == 0)
				run.fit_method = PA_FIT_HUBER;
			else if (strcmp(optarg, "ridge") == 0)
				run.fit_method = PA_FIT_RIDGE;
			else
				pa_usage_error("invalid --fit-method \"%s\": expected huber or ridge",
					       optarg);
			break;
		case OPT_FEATURE:
			if (run.extra.n == PA_MAX_EXTRA)
				pa_usage_error("at most %d --feature options", PA_MAX_EXTRA);
			run.extra.names[run.extra.n++] = optarg;
			break;
		case OPT_MODEL:
			run.model_path = optarg;
			break;
		case OPT_COST:
			run.cost_field = optarg;
			break;
		case PA_OPT_OUTPUT_FORMAT:
			pa_tsdb_output_option(optarg);
			run.text_buckets = strcmp(optarg, "ndjson") == 0;
			break;
		case 'h':
			usage(stdout);
			return pa_out_finish();
		case 'V':
			pa_print_version();
			return pa_out_finish();
		default:
			pa_usage_error("invalid option or missing value: \"%s\"", argv[optind - 1]);
		}
	}
	pa_rejects_start(argc - optind, argv + optind);
	if (run.lateness >= 0 && run.step == 0 && !run.merge)
		pa_usage_error("--lateness needs --rollup or --merge");

	if (run.fit_path != NULL && (run.step != 0 || run.merge || run.model_path != NULL))
		pa_usage_error("--fit cannot be combined with --rollup, --merge or --model");
	if (strcmp(run.cost_field, "duration_ms") != 0 && run.fit_path == NULL)
		pa_usage_error("--cost needs --fit");
	if (run.extra.n > 0 && run.fit_path == NULL)
		pa_usage_error("--feature needs --fit (a model names its own features)");
	if (run.model_path != NULL) {
		char err[400];

		run.model = pa_model_load(run.model_path, err, sizeof err);
		if (run.model == NULL)
			pa_usage_error("invalid --model: %s", err);
		run.extra = *pa_model_extra(run.model);
	}

	if (run.follow && run.step == 0)
		pa_usage_error("--follow needs --rollup");
	if (run.retire_given && !run.follow && run.lateness < 0)
		pa_usage_error("--retire needs --lateness or --follow: without them every bucket is "
			       "written at the end of input, and no series is padded or dropped");
	if (run.follow)
		pa_tsdb_output_check_follow();
	if (run.follow && run.lateness < 0)
		run.lateness = 0;
	follow_text_buckets = run.text_buckets;

	if (run.step != 0 || run.merge)
		run.rollup = pa_rollup_new(run.step, run.lateness,
					   run.follow ? write_bucket_flushed : bucket_writer(&run),
					   NULL);
	if (run.rollup != NULL) {
		pa_rollup_set_max_fill(run.rollup, run.max_fill);
		pa_rollup_set_retire(run.rollup, run.retire);
	}
	if (run.fit_path != NULL)
		run.fitter = pa_fitter_new(run.fit_method, &run.extra);

	/* Extra features and the fit need fields the fast reader does not keep. */
	run.fast = run.step != 0 && !run.merge && run.extra.n == 0;
	pa_weights_heuristic(&heuristic);
	run.scorer = pa_scorer_new(&heuristic, run.calibrate_n, run.hold_max,
				   run.model ? pa_model_lookup : NULL, run.model, emit, &run);

	pa_stop_catch();
	rc = pa_input_each(argc - optind, argv + optind, run.common.max_line, on_line, &run);

	pa_scorer_finish(run.scorer);
	/* Buckets read back only to change their format miss no stage. */
	if (run.merge)
		pa_warn_kind_missing(run.consumed, "bucket", "pa-score --rollup");
	else if (run.buckets_passed == 0 || !pa_tsdb_output_converts())
		pa_warn_kind_missing(run.consumed, "request", "pa-ingest");
	if (run.rollup != NULL) {
		size_t unknown, gaps;

		/* Writing the last buckets counts unknown gaps, so it comes first. */
		pa_rollup_finish_writing(run.rollup);
		unknown = pa_rollup_rejected_buckets(run.rollup);
		gaps = pa_rollup_unknown_gaps(run.rollup);
		pa_rollup_finish(run.rollup);
		if (unknown > 0)
			pa_warn("%zu bucket%s with a rejected part written as unknown (covered_s "
				"0.000001), not as quiet", unknown, unknown == 1 ? "" : "s");
		if (gaps > 0)
			pa_warn("%zu bucket%s that no record covers written as unknown (covered_s "
				"0.000001), not as quiet, because a line of the input could not be "
				"read as a record", gaps, gaps == 1 ? "" : "s");
	}
	if (run.fitter != NULL) {
		int fit_rc = write_model(&run);

		if (rc == PA_EXIT_OK)
			rc = fit_rc;
		pa_fitter_free(run.fitter);
	}
	pa_tsdb_output_finish();
	if (rc == PA_EXIT_OK)
		rc = pa_diag_finish(run.common.max_bad);
	else
		pa_diag_finish(run.common.max_bad);
	if (run.model != NULL)
		pa_model_free(run.model);
	out = pa_out_finish();
	return out ? out : rc;
}
