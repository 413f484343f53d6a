/*
 * pa-forecast - forecast request volume and complexity per tenant service.
 *
 * Reads bucket and event records, forecasts each series once the input
 * ends (or, with --follow, each time one of its buckets closes), and
 * writes forecast and event_effect records.  Records of other kinds pass
 * through unchanged and in order as they arrive, so usage records reach
 * pa-plan.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "fc_output.h"
#include "fc_series.h"
#include "fcstate.h"
#include "forecast.h"
#include "input.h"
#include "ndjson.h"
#include "opts.h"
#include "stop.h"
#include "tsdb.h"

enum {
	OPT_PERIOD2 = 1,
	OPT_GAPS,
	OPT_NO_ALIGN_END,
	OPT_TRANSFORM,
	OPT_EVENT_WINDOW,
	OPT_STATE,
	OPT_REFIT_EVERY,
	OPT_DRIFT,
	OPT_FOLLOW,
	OPT_SAVE_EVERY,
	OPT_MAX_LAG,
	OPT_WHOLE_BUCKETS,
	OPT_MAX_FUTURE,
	OPT_MAX_FILL
};

struct ctx {
	struct pa_fc_series_set *set;
	struct pa_fc_events events;
	struct pa_fc_event_ids event_ids;	/* identities of events (fcstate.h) */
	pa_usec_t event_window;	/* length of an event without "end" */
	int fatal;		/* out of memory: stop collecting */
	int follow;		/* forecast a series each time one of its buckets closes */
	int whole_buckets;	/* --follow: each bucket record is complete, so it closes on arrival */
	struct pa_fc_run_opts *ro;
	const char *state_path;	/* NULL: no state file */
	double save_every;	/* seconds between saves in --follow */
	struct timespec saved;	/* last save */
	int output_failed;	/* stdout failed: the state is not saved either */
	int input_failed;	/* an input file could not be read: the state is not saved */
	pa_usec_t max_future;	/* latest bucket time after the clock; < 0: any */
	pa_usec_t future_limit;	/* the clock when last read plus max_future */
	int replay_noted;	/* --follow: the note on skipped replayed buckets was written */
	size_t forecasts_since_prune;	/* --follow: forecasts since events were last pruned */
	int events_unchecked;	/* an event arrived since warn_far_events() last ran */
	size_t far_events;	/* events reported as far from the history */
	int unknown_kind_warned;	/* a record of a kind no pa tool writes was reported */
	long buckets;		/* bucket records read, valid or not */
	long forecasts;		/* forecast records read, which --output-format converts */
	int stopped_forecasting;	/* a stop signal came after the input: not every series was forecast */
};

/* Events far from the history that are reported one by one; the rest are counted. */
#define FAR_EVENTS_SHOWN 10

/* Forecasts in --follow between two prunings of ended events. */
#define PRUNE_EVERY 256


static void
usage(void)
{
	printf("usage: pa-forecast [options] [file ...]\n"
	       "Forecast request volume and complexity per tenant service from bucket\n"
	       "and event records; other records pass through unchanged.\n"
	       "\n"
	       "  -H, --horizon N|DUR    whole steps ahead (24), or a duration such as 12h\n"
	       "  -l, --level PCT[,PCT]  interval levels in percent or as fractions (95);\n"
	       "                         the first fills the bounds, all go in \"intervals\"\n"
	       "  -p, --period DUR       main season (1d); 0 for none\n"
	       "      --period2 DUR      second, longer season (1w); 0 for none\n"
	       "  -m, --model NAME       auto, snaive, naive, drift, mean, ses, hw,\n"
	       "                         hw-damped, croston, arima, mstl, fourier,\n"
	       "                         regress, ets (form by AICc) or a fixed ETS\n"
	       "                         form such as ets:MAdM (auto)\n"
	       "      --gaps zero|unknown  read missing buckets as 0 requests (zero)\n"
	       "                         or as unknown\n"
	       "      --no-align-end     forecast each series from its own last bucket;\n"
	       "                         by default series end together, at the last\n"
	       "                         bucket of the input\n"
	       "      --transform auto|none|log1p|boxcox  fit volume on log1p(requests) or\n"
	       "                         a Box-Cox power chosen per series: whichever\n"
	       "                         wins the hold-out (auto), never, or always\n"
	       "      --event-window DUR length of an event record without \"end\" (2h)\n"
	       "      --max-future DUR   reject buckets stamped more than DUR after the\n"
	       "                         clock (5m); none: accept any\n"
	       "      --max-fill N       forecast from the longest run of buckets without\n"
	       "                         a gap of more than N missing ones (100000)\n"
	       "      --max-lag N|DUR    largest lag of a trend stream as a regressor, in\n"
	       "                         steps or as a duration (the horizon)\n"
	       "      --state FILE       keep each series' fitted models and recent history,\n"
	       "                         and the events that touch it, in FILE; the next\n"
	       "                         run needs only the new buckets and events\n"
	       "      --refit-every N|DUR  updates with kept parameters before a full fit\n"
	       "                         (24), or a duration of new history such as 1d\n"
	       "      --drift P          full fit when the interval misses of the last 24\n"
	       "                         actuals have a binomial tail below P, from 0\n"
	       "                         to 0.5 (0.01); 0: off\n"
	       "      --follow           forecast a series each time one of its buckets\n"
	       "                         closes, reading an endless stream\n"
	       "      --whole-buckets    with --follow, each bucket record is complete (as\n"
	       "                         pa-score --follow writes them): forecast on arrival\n"
	       "      --save-every DUR   with --follow and --state, save at most this often\n"
	       "                         (1m), and at the end of input, which SIGINT or\n"
	       "                         SIGTERM brings\n"
	       "  -v, --verbose          say on stderr which fit or model each series got\n"
	       "      --output-format FMT  ndjson (default), openmetrics (for promtool\n"
	       "                         backfill) or influx (InfluxDB line protocol)\n"
	       PA_COMMON_USAGE);
}

static void
save_state(struct ctx *c)
{
	char err[400];
	json_t *events;
	size_t dropped;

	if (c->state_path == NULL || c->input_failed || c->output_failed)
		return;
	if (c->stopped_forecasting) {
		pa_warn("state file %s not saved, because the run was stopped before every "
			"series was forecast; it keeps what it held before", c->state_path);
		return;
	}

	/*
	 * The state records which buckets were forecast, and a restart skips
	 * those, so it is saved only once their forecasts are written.
	 */
	if (!pa_out_written()) {
		if (errno != EPIPE)
			pa_warn("state file %s not saved, because the forecasts it would record "
				"could not be written; it keeps what it held before", c->state_path);
		c->output_failed = 1;
		return;
	}
	events = pa_fcstate_events_keep(c->ro->state, &c->events, &c->event_ids, &dropped);
	if (events == NULL) {
		pa_warn("out of memory choosing the events to keep in state file %s", c->state_path);
		c->fatal = 1;
		return;
	}
	if (dropped > 0)
		pa_warn("state file %s keeps at most %d events, so the %zu that start first are "
			"left out", c->state_path, PA_FCSTATE_EVENTS_MAX, dropped);
	json_object_set_new(c->ro->state, "events", events);
	if (pa_fcstate_save(c->state_path, c->ro->state, err, sizeof err) != 0) {
		pa_warn("%s", err);
		c->fatal = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->saved);
}

/* Save in --follow once save_every seconds have passed since the last save. */
static void
save_if_due(struct ctx *c)
{
	struct timespec now;

	if (c->state_path == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((double)(now.tv_sec - c->saved.tv_sec) +
	    (double)(now.tv_nsec - c->saved.tv_nsec) / 1e9 >= c->save_every)
		save_state(c);
}

/*
 * Reject a bucket stamped more than --max-future after the clock.  Buckets
 * are observed, so one so far ahead has a wrong date, and it would stretch
 * its series, and the series aligned with it, to that date.  Returns 1
 * when rejected.
 */
static int
reject_future(struct ctx *c, const char *name, struct pa_line *line, const json_t *rec)
{
	pa_usec_t ts;
	char when[40], clock[40];

	if (pa_rec_time(rec, "ts", &ts) != 1 ||
	    !pa_time_ahead_of_clock(ts, c->max_future, &c->future_limit))
		return 0;
	pa_reject(name, line->lineno, line->text, line->len, "timestamp in the future",
		  "bucket \"ts\" %s is more than --max-future after the clock (%s); "
		  "is a timestamp wrong?", pa_time_format(ts, when, sizeof when),
		  pa_time_format_clock(c->future_limit, c->max_future, clock, sizeof clock));
	return 1;
}

/*
 * In --follow, handle a record for a bucket that has closed: one already
 * forecast, or older than the newest bucket read.  After a restart,
 * pa-ingest --follow reads its log from the start again, so such buckets
 * come back unchanged.  They are skipped after one note, and so is a
 * bucket older than the kept history.  With --whole-buckets a record
 * that differs replaces the kept bucket, as the new record wins in a
 * batch run with --state.  Without it, such a record may be one part of a
 * closed bucket, so it is rejected.  Returns 1 when the record was
 * skipped or rejected, 0 when it goes on to be added.
 */
static int
check_closed(struct ctx *c, const char *name, struct pa_line *line, const json_t *rec)
{
	const char *series = pa_rec_str(rec, "tenant_service_name");
	struct pa_fc_series *s = series ? pa_fc_series_find(c->set, series) : NULL;
	pa_usec_t ts, closed;
	char a[40], b[40];
	int same;

	if (s == NULL || pa_rec_time(rec, "ts", &ts) != 1)
		return 0;
	if (s->has_open && (ts < s->open || (c->whole_buckets && ts == s->open)))
		closed = s->open;
	else if (!s->has_open && s->has_kept && ts <= s->kept_last)
		closed = s->kept_last;
	else
		return 0;

	same = pa_fc_series_compare(s, rec, ts);
	if (same == -2)
		return 0;	/* pa_fc_series_add() rejects it, naming the field */
	if (same == 1 || (s->has_kept && ts < s->kept_first)) {
		if (!c->replay_noted)
			pa_warn("%s:%ld: skipping buckets already forecast that are unchanged or older "
				"than the kept history, as in input replayed after a restart",
				name, line->lineno);
		c->replay_noted = 1;
		return 1;
	}
	if (c->whole_buckets) {
		/* close_bucket() replaces the kept bucket once the record passes its checks. */
		pa_fc_series_drop_fresh(s, ts);
		return 0;
	}
	pa_reject(name, line->lineno, line->text, line->len, "bucket after its series moved on",
		  "bucket \"ts\" %s of %s arrived after the bucket at %s, so it has closed",
		  pa_time_format(ts, a, sizeof a), pa_quote(series, strlen(series)),
		  pa_time_format(closed, b, sizeof b));
	return 1;
}

/*
 * Drop, every PRUNE_EVERY forecasts, the events that ended at or before
 * the first bucket any series still keeps.  A live run reads events for
 * as long as it runs, and no forecast reads those again: the same rule
 * decides which events a state file keeps.
 */
static void
prune_events(struct ctx *c)
{
	struct pa_fc_series **series;
	size_t count, dropped;
	pa_usec_t before = INT64_MAX;

	if (++c->forecasts_since_prune < PRUNE_EVERY || c->events.count == 0)
		return;
	c->forecasts_since_prune = 0;

	series = pa_fc_series_sorted(c->set, &count);
	for (size_t i = 0; i < count; i++) {
		const struct pa_fc_series *s = series[i];

		if (s->has_kept && s->kept_first < before)
			before = s->kept_first;
		for (size_t j = 0; !s->has_kept && j < s->count; j++)
			if (s->points[j].ts < before)
				before = s->points[j].ts;
	}
	if (count == 0 || before == INT64_MAX)
		return;
	if (pa_fcstate_events_drop_ended(&c->events, &c->event_ids, before, &dropped) != 0)
		pa_warn("out of memory dropping ended events; they are kept");
}

/*
 * Warn once about each event that starts more than PA_FC_EVENT_FAR after
 * the last bucket of all series or ends that long before the first, such
 * as a schedule row typed as 2998 for 1998.  The event is kept as given,
 * so one ahead of the history stays in a state file until it ends.
 */
static void
warn_far_events(struct ctx *c)
{
	struct pa_fc_series **series;
	size_t count;
	pa_usec_t first = INT64_MAX, last = INT64_MIN;
	char a[40], b[40];

	if (!c->events_unchecked)
		return;
	series = pa_fc_series_sorted(c->set, &count);
	for (size_t i = 0; i < count; i++) {
		const struct pa_fc_series *s = series[i];

		if (s->has_kept && s->kept_first < first)
			first = s->kept_first;
		for (size_t j = 0; j < s->count; j++) {
			if (s->points[j].ts < first)
				first = s->points[j].ts;
			if (s->points[j].ts > last)
				last = s->points[j].ts;
		}
	}
	if (first > last)
		return;	/* no bucket yet to compare with */
	c->events_unchecked = 0;

	for (size_t i = 0; i < c->events.count; i++) {
		struct pa_fc_event *ev = &c->events.v[i];
		const json_t *name = json_array_get(c->event_ids.names, i);
		char label[400];
		int far;

		if (ev->far_checked)
			continue;
		ev->far_checked = 1;
		far = pa_fc_event_far(ev, first, last);
		if (far == 0 || ++c->far_events > FAR_EVENTS_SHOWN)
			continue;
		if (json_is_string(name))
			snprintf(label, sizeof label, "event %s of type %s",
				 pa_quote(json_string_value(name), json_string_length(name)),
				 pa_quote(ev->type, strlen(ev->type)));
		else
			snprintf(label, sizeof label, "event of type %s", pa_quote(ev->type, strlen(ev->type)));
		if (far > 0)
			pa_warn("%s starts at %s, more than 10 years after the last bucket at %s; "
				"check its year", label, pa_time_format(ev->start, a, sizeof a),
				pa_time_format(last, b, sizeof b));
		else
			pa_warn("%s ends at %s, more than 10 years before the first bucket at %s; "
				"check its year", label, pa_time_format(ev->end, a, sizeof a),
				pa_time_format(first, b, sizeof b));
	}
}

/* Count the far events past the first FAR_EVENTS_SHOWN, which were not shown. */
static void
summarise_far_events(const struct ctx *c)
{
	if (c->far_events > FAR_EVENTS_SHOWN)
		pa_warn("%zu more events lie more than 10 years from the first or last bucket",
			c->far_events - FAR_EVENTS_SHOWN);
}

/*
 * With --whole-buckets, put rec, read at line of input name, in place of
 * the closed bucket of s at ts that it differs from, and report what
 * happened.  The kept history and the state's entry change in place, so
 * the series' newest bucket, its forecasts and its kept window stay.
 * Returns 1 when the bucket is the newest, whose forecasts are then
 * written again, and 0 when nothing more is to be done.
 */
static int
replace_closed(struct ctx *c, const char *name, const struct pa_line *line,
	       struct pa_fc_series *s, pa_usec_t ts)
{
	pa_usec_t newest = s->has_open ? s->open : s->kept_last;
	enum pa_fc_replace outcome;
	double requests, complexity_sum;
	char a[40], b[40];
	const char *quoted;

	outcome = pa_fc_series_replace_kept(s, ts, &requests, &complexity_sum);
	pa_time_format(ts, a, sizeof a);
	quoted = pa_quote(s->name, strlen(s->name));
	if (outcome == PA_FC_KEPT_OVER_PART || outcome == PA_FC_KEPT_OVER_UNKNOWN) {
		pa_warn("%s:%ld: bucket \"ts\" %s of %s not replaced: the record %s, and the "
			"kept bucket is whole, so it stays", name, line->lineno, a, quoted,
			outcome == PA_FC_KEPT_OVER_PART ? "covers only part of the bucket (covered_s)"
							: "has unknown requests (null)");
		return 0;
	}
	if (ts == newest) {
		pa_warn("%s:%ld: bucket \"ts\" %s of %s replaced by a record that differs; it is "
			"the newest bucket, so its forecasts are written again", name, line->lineno,
			a, quoted);
		return 1;
	}
	if (outcome == PA_FC_REPLACE_NOT_KEPT) {
		/* The series has no kept window yet, so its next forecast lays the record out. */
		pa_warn("%s:%ld: bucket \"ts\" %s of %s replaced by a record that differs; "
			"later forecasts use it", name, line->lineno, a, quoted);
		return 0;
	}
	if (pa_fcstate_set_bucket(c->ro->state, s->name, ts, requests, complexity_sum) < 0) {
		pa_warn("out of memory replacing bucket \"ts\" %s of %s in the state; the state "
			"keeps the old counts", a, quoted);
		c->fatal = 1;
	}
	pa_warn("%s:%ld: bucket \"ts\" %s of %s replaced in the kept history by a record that "
		"differs; the forecasts already written stay, because the newest bucket is at %s, "
		"and later forecasts use it", name, line->lineno, a, quoted,
		pa_time_format(newest, b, sizeof b));
	return 0;
}

/*
 * In --follow, forecast the series of rec when rec opens a later bucket,
 * or at once with --whole-buckets, because then no other part of rec's
 * bucket will come.  rec was read at line of input name.
 */
static void
close_bucket(struct ctx *c, const char *name, const struct pa_line *line, const json_t *rec)
{
	struct pa_fc_series *s = pa_fc_series_find(c->set, pa_rec_str(rec, "tenant_service_name"));
	pa_usec_t ts;

	if (s == NULL || pa_rec_time(rec, "ts", &ts) != 1)
		return;
	if (c->whole_buckets) {
		/*
		 * check_closed() lets a record for a closed bucket through only
		 * when it differs from the kept one.  A restart from a state has
		 * no open bucket yet, and the newest is the last one kept.
		 */
		if ((s->has_open && ts <= s->open) ||
		    (!s->has_open && s->has_kept && ts <= s->kept_last)) {
			if (!replace_closed(c, name, line, s, ts))
				return;
		}
		s->open = ts;
		s->has_open = 1;
		warn_far_events(c);
		pa_fc_emit_series(s, c->ro, ts);
		save_if_due(c);
		prune_events(c);
		return;
	}
	if (s->has_open && ts > s->open) {
		warn_far_events(c);
		pa_fc_emit_series(s, c->ro, s->open);
		save_if_due(c);
		prune_events(c);
	}
	if (!s->has_open || ts > s->open) {
		s->open = ts;
		s->has_open = 1;
	}
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
	kind = pa_rec_kind_or_reject(rec, name, line);
	if (kind == NULL) {
		json_decref(rec);
		return;
	}
	if (strcmp(kind, "event") == 0) {
		if (!c->fatal && pa_fcstate_event_add(&c->events, &c->event_ids, rec, c->event_window,
						      err, sizeof err, &reason_class) < 0) {
			if (strcmp(reason_class, "out of memory") == 0)
				c->fatal = 1;
			pa_reject(name, line->lineno, line->text, line->len, reason_class, "%s", err);
		} else if (!c->fatal) {
			c->events_unchecked = 1;
		}
		json_decref(rec);
		return;
	}
	if (strcmp(kind, "bucket") != 0) {
		if (strcmp(kind, "forecast") == 0)
			c->forecasts++;
		/* A kind no pa tool writes is most often a misspelt "bucket", which would go unforecast. */
		if (!pa_kind_known(kind) && !c->unknown_kind_warned) {
			pa_warn_unknown_kind(name, line->lineno, kind, "bucket or event",
					     "it is passed through unchanged");
			c->unknown_kind_warned = 1;
		}
		pa_out_json(rec);
		json_decref(rec);
		return;
	}
	c->buckets++;
	if (reject_future(c, name, line, rec)) {
		json_decref(rec);
		return;
	}
	if (c->follow && check_closed(c, name, line, rec)) {
		json_decref(rec);
		return;
	}
	pa_fc_series_source(c->set, name, (size_t)line->lineno);
	if (!c->fatal && pa_fc_series_add(c->set, rec, err, sizeof err, &reason_class) != 0) {
		if (strcmp(reason_class, "out of memory") == 0)
			c->fatal = 1;
		pa_reject(name, line->lineno, line->text, line->len, reason_class, "%s", err);
	} else if (c->follow && !c->fatal) {
		close_bucket(c, name, line, rec);
	}
	json_decref(rec);
}

/*
 * Exit with a usage error when the --state path looks like an input file,
 * as when --state lacks its argument and takes the first operand.  This
 * runs before the lock is taken, so no file is created beside that input.
 */
static void
check_state_path(const char *path)
{
	char why[200];

	if (!pa_file_looks_like_records(path, why, sizeof why))
		return;
	pa_die(PA_EXIT_USAGE, "state file %s is not a pa-forecast state but looks like input, "
	       "because %s; --state probably lacks its argument, so give the path of the "
	       "state file after it (the file need not exist yet)", path, why);
}

/*
 * Read the inputs as a stream.  A stop signal ends the input as its end
 * does: every open bucket closes and is forecast, and the state is saved.
 */
static int
follow_inputs(int nfiles, char **files, struct ctx *c)
{
	static char *stdin_only[] = { "-" };
	struct pa_fc_series **series;
	size_t count;
	int rc = PA_EXIT_OK;

	if (nfiles == 0) {
		nfiles = 1;
		files = stdin_only;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->saved);
	for (int i = 0; i < nfiles && !pa_stop_requested; i++) {
		struct pa_reader *r = pa_reader_open(files[i], 0);
		struct pa_line line;
		enum pa_line_status st;

		if (r == NULL) {
			rc = PA_EXIT_IO;
			c->input_failed = 1;
			continue;
		}
		pa_reader_set_stop(r, &pa_stop_requested);
		while (!pa_stop_requested && (st = pa_reader_next(r, &line)) != PA_LINE_EOF) {
			if (st == PA_LINE_ERROR) {
				rc = PA_EXIT_IO;
				c->input_failed = 1;
				break;
			}
			on_line(pa_reader_name(r), &line, st, c);
		}
		pa_reader_close(r);
	}
	warn_far_events(c);
	series = pa_fc_series_sorted(c->set, &count);
	for (size_t i = 0; i < count; i++)
		if (series[i]->has_open && series[i]->open > series[i]->kept_last)
			pa_fc_emit_series(series[i], c->ro, series[i]->open);
	return rc;
}

/*
 * Show on stderr how many of total series are done, when the clock's
 * second has changed since the last line.  Only a terminal gets it,
 * because a log file should not fill with progress lines.
 */
static void
show_progress(size_t done, size_t total, struct timespec *last)
{
	struct timespec now;

	if (total < 2 || !isatty(STDERR_FILENO))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done < total && now.tv_sec == last->tv_sec)
		return;
	*last = now;
	if (done < total)
		fprintf(stderr, "\rpa-forecast: %zu of %zu series forecast", done, total);
	else
		fprintf(stderr, "\r%60s\r", "");
}

/* Parse "95", "0.95" or a comma-separated list such as "80,95" into ro. */
static void
parse_levels(const char *arg, struct pa_fc_run_opts *ro)
{
	char buf[256], *item, *comma;

	if (strlen(arg) >= sizeof buf)
		pa_usage_error("--level is too long: \"%.40s...\"", arg);
	if (strspn(arg, ",") == strlen(arg))
		pa_usage_error("--level needs at least one level");
	memcpy(buf, arg, strlen(arg) + 1);
	ro->nlevels = 0;
	/* strtok_r would skip the empty items that a stray comma leaves. */
	for (item = buf; item; item = comma ? comma + 1 : NULL) {
		double v;

		comma = strchr(item, ',');
		if (comma)
			*comma = '\0';
		if (*item == '\0')
			pa_usage_error("--level has an empty item in \"%s\"", arg);
		v = pa_opt_double("--level", item, 0.01, 99.99);
		if (v >= 1)
			v /= 100;
		/* The same bound for a fraction as for a percentage. */
		if (v > 0.9999)
			pa_usage_error("--level %s is above 99.99%%", item);
		if (v < 0.5)
			pa_warn("--level %s reads as a %g%% interval, narrower than half; a value "
				"below 1 is a fraction (0.95) and one from 1 up a percentage (95)",
				item, v * 100);
		for (size_t i = 0; i < ro->nlevels; i++)
			if (fabs(ro->level[i] - v) < 1e-9)
				pa_usage_error("--level lists the level %s twice in \"%s\"", item, arg);
		if (ro->nlevels == PA_FC_LEVELS_MAX)
			pa_usage_error("--level takes at most %d levels", PA_FC_LEVELS_MAX);
		ro->level[ro->nlevels++] = v;
	}
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
		{ "drift", required_argument, NULL, OPT_DRIFT },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "save-every", required_argument, NULL, OPT_SAVE_EVERY },
		{ "whole-buckets", no_argument, NULL, OPT_WHOLE_BUCKETS },
		{ "max-future", required_argument, NULL, OPT_MAX_FUTURE },
		{ "max-fill", required_argument, NULL, OPT_MAX_FILL },
		{ "verbose", no_argument, NULL, 'v' },
		{ "max-lag", required_argument, NULL, OPT_MAX_LAG },
		PA_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct pa_common_opts common;
	struct pa_fc_run_opts ro = {
		.model = "auto", .level = { 0.95 }, .nlevels = 1, .horizon_steps = 24,
		.period = 86400 * PA_USEC_PER_SEC, .period2 = 7 * 86400 * PA_USEC_PER_SEC,
		.transform = PA_FC_TRANSFORM_AUTO, .refit_every = 24, .drift = 0.01,
		.max_fill = PA_FC_MAX_FILL,
	};
	char err[400];
	struct ctx c = { .event_window = 2 * 3600 * PA_USEC_PER_SEC, .save_every = 60, .ro = &ro,
			 .max_future = PA_MAX_FUTURE_DEFAULT, .future_limit = PA_USEC_MIN };
	struct pa_fc_series **series;
	size_t count;
	struct timespec shown = { 0, 0 };
	int opt, rc, in, out;
	int align_end = 1, lock_fd = -1, save_every_given = 0, refit_given = 0;
	int stopped_reading = 0;	/* a stop signal ended the input */

	pa_diag_init(argv[0]);
	pa_out_init();
	pa_common_defaults(&common);

	/* Messages for unknown options come from below, one per option. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "H:l:p:m:vhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'H':
			pa_opt_steps_or_duration("--horizon", optarg, 1, 100000,
						 3660LL * 86400 * PA_USEC_PER_SEC, &ro.horizon_steps,
						 &ro.horizon);
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
			ro.model = pa_opt_model(optarg);
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
			else if (strcmp(optarg, "boxcox") == 0)
				ro.transform = PA_FC_TRANSFORM_BOXCOX;
			else
				pa_usage_error("invalid value for --transform: \"%s\" (use auto, none, log1p "
					       "or boxcox)", optarg);
			break;
		case OPT_EVENT_WINDOW:
			c.event_window = pa_opt_duration("--event-window", optarg, 1,
							 366LL * 86400 * PA_USEC_PER_SEC);
			break;
		case OPT_MAX_LAG:
			pa_opt_steps_or_duration("--max-lag", optarg, 1, 100000,
						 366LL * 86400 * PA_USEC_PER_SEC, &ro.max_lag_steps,
						 &ro.max_lag);
			break;
		case OPT_STATE:
			c.state_path = pa_opt_replaceable("--state", optarg);
			break;
		case OPT_REFIT_EVERY:
			pa_opt_steps_or_duration("--refit-every", optarg, 0, 1000000,
						 3660LL * 86400 * PA_USEC_PER_SEC, &ro.refit_every,
						 &ro.refit_span);
			refit_given = 1;
			break;
		case OPT_DRIFT:
			ro.drift = pa_opt_double("--drift", optarg, 0, 0.5);
			refit_given = 1;
			break;
		case OPT_FOLLOW:
			c.follow = 1;
			ro.follow = 1;
			break;
		case OPT_MAX_FILL:
			ro.max_fill = (size_t)pa_opt_long("--max-fill", optarg, 0, PA_FC_MAX_BUCKETS);
			break;
		case OPT_MAX_FUTURE:
			c.max_future = pa_opt_max_future(optarg);
			break;
		case OPT_WHOLE_BUCKETS:
			c.whole_buckets = 1;
			break;
		case OPT_SAVE_EVERY:
			save_every_given = 1;
			c.save_every = (double)pa_opt_duration("--save-every", optarg, 0,
							       366LL * 86400 * PA_USEC_PER_SEC) /
				       PA_USEC_PER_SEC;
			break;
		case 'v':
			ro.verbose = 1;
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
				pa_usage_error("invalid option or missing value: \"%s\"", argv[optind - 1]);
		}
	}
	pa_rejects_start(argc - optind, argv + optind);
	if (c.whole_buckets && !c.follow)
		pa_usage_error("--whole-buckets needs --follow");
	if (c.follow)
		pa_tsdb_output_check_follow();
	if (save_every_given && !(c.follow && c.state_path != NULL))
		pa_usage_error("--save-every needs --follow and --state");
	/* A run without either fits afresh, so a refit rule would have no effect. */
	if (refit_given && !c.follow && c.state_path == NULL)
		pa_usage_error("--refit-every and --drift need --state or --follow");
	if (ro.period2_explicit && ro.period2 > 0 && ro.period > 0 && ro.period2 <= ro.period) {
		char a[32], b[32];

		pa_usage_error("--period2 %s must be longer than --period %s (0: no second season)",
			       pa_fc_format_step(ro.period2, a, sizeof a),
			       pa_fc_format_step(ro.period, b, sizeof b));
	}

	/*
	 * The old state is read, and the directory checked for the new one,
	 * before any output, so a bad file changes nothing.  The lock, held
	 * until the process ends, makes a second run on the same file wait
	 * and then start from the state this run saves.
	 */
	c.set = pa_fc_series_new();
	if (c.set == NULL || pa_fcstate_event_ids_init(&c.event_ids) != 0)
		pa_die(PA_EXIT_IO, "out of memory");
	if (c.state_path) {
		check_state_path(c.state_path);
		lock_fd = pa_fcstate_lock(c.state_path, err, sizeof err);
		if (lock_fd < 0)
			pa_die(lock_fd == -2 ? PA_EXIT_USAGE : PA_EXIT_IO, "%s", err);
		ro.state = pa_fcstate_load(c.state_path, err, sizeof err);
		if (ro.state == NULL)
			pa_die(PA_EXIT_USAGE, "%s", err);
		if (pa_fcstate_check_writable(c.state_path, err, sizeof err) != 0)
			pa_die(PA_EXIT_IO, "%s", err);
		if (pa_fcstate_seed(ro.state, c.set) != 0 ||
		    pa_fcstate_seed_events(ro.state, &c.events, &c.event_ids, c.event_window) != 0)
			pa_die(PA_EXIT_IO, "out of memory loading state file %s", c.state_path);
		c.events_unchecked = c.events.count > 0;
	} else if (c.follow) {
		/* --follow keeps the state in memory, so updates reuse the kept choice. */
		ro.state = json_pack("{s:i, s:{}}", "format_version", PA_FCSTATE_VERSION, "series");
	}
	ro.events = &c.events;

	pa_stop_catch();
	if (c.follow) {
		in = follow_inputs(argc - optind, argv + optind, &c);
	} else {
		in = pa_input_each(argc - optind, argv + optind, common.max_line, on_line, &c);
		stopped_reading = pa_stop_requested != 0;
		{
			const char *first;
			size_t partial = pa_fc_series_partial(c.set, &first);

			if (partial)
				pa_warn("%zu bucket record%s that the input began or ended inside "
					"(covered_s below step_s), the first of %s: parts that, "
					"with those of all series, cover their bucket are added, "
					"others read as unknown", partial, partial == 1 ? "" : "s",
					first);
		}

		warn_far_events(&c);

		/* Forecasts follow the passed-through records, series in name order. */
		pa_fc_series_join_parts(c.set);
		if (align_end)
			pa_fc_series_align_end(c.set);
		series = pa_fc_series_sorted(c.set, &count);
		for (size_t i = 0; i < count; i++) {
			/* A stop while forecasting ends the output after a whole series. */
			if (pa_stop_requested && !stopped_reading) {
				pa_warn("stopped; %zu of %zu series not forecast", count - i, count);
				c.stopped_forecasting = 1;
				break;
			}
			show_progress(i, count, &shown);
			pa_fc_emit_series(series[i], &ro, PA_FC_NO_LIMIT);
		}
		show_progress(count, count, &shown);
		pa_fc_gap_notes_finish(&ro);
	}
	/* Forecasts read back only to change their format miss no stage. */
	if (c.forecasts == 0 || !pa_tsdb_output_converts())
		pa_warn_kind_missing(c.buckets, "bucket", "pa-score --rollup");
	summarise_far_events(&c);
	pa_fc_series_free(c.set);
	pa_tsdb_output_finish();

	/* A state updated from part of the input would miss buckets for good. */
	if (in == PA_EXIT_IO)
		c.input_failed = 1;
	if (c.state_path != NULL && c.input_failed)
		pa_warn("state file %s not saved because an input could not be read; it still "
			"contains the state before this run", c.state_path);
	save_state(&c);
	pa_fc_events_free(&c.events);
	pa_fcstate_event_ids_free(&c.event_ids);
	json_decref(ro.state);
	if (lock_fd >= 0)
		close(lock_fd);

	rc = pa_diag_finish(common.max_bad);
	out = pa_out_finish();
	if (out)
		return out;
	if (c.fatal || in == PA_EXIT_IO)
		return PA_EXIT_IO;
	if (in)
		return in;

	/* Output cut short by a stop must not pass for a whole run in a script. */
	return c.stopped_forecasting && rc == PA_EXIT_OK ? PA_EXIT_DATA : rc;
}
