/*
 * btio.c - bucket intake and the backtest reports.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btio.h"
#include "diag.h"
#include "ndjson.h"

#define MAX_BUCKETS 20000000	/* a series span beyond this is almost surely a bad ts */

struct raw {
	pa_usec_t ts;
	double work;		/* work units in the bucket; NAN: unknown (requests null) */
	const char *input;	/* input name, for messages; kept in pa_bt_input */
	size_t lineno;
};

/* A stretch without buckets longer than both of these is reported. */
#define GAP_REPORT_S 86400.0
#define GAP_REPORT_STEPS 10

struct raw_series {
	char *name;
	double step_s;
	pa_usec_t first_ts;	/* start of the first bucket read, which sets the step grid */
	struct raw *rows;
	size_t n, cap;
};

struct pa_bt_input {
	json_t *index;		/* name -> position */
	struct raw_series *list;
	size_t n, cap;
	struct pa_input_names inputs;	/* names of the inputs the rows came from */
	pa_usec_t max_future;	/* latest bucket time after the clock; < 0: any */
	pa_usec_t future_limit;	/* the clock when last read plus max_future */
};

struct pa_bt_input *
pa_bt_input_new(void)
{
	struct pa_bt_input *in = calloc(1, sizeof *in);

	if (in == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	in->index = json_object();
	in->max_future = PA_MAX_FUTURE_DEFAULT;
	in->future_limit = PA_USEC_MIN;
	return in;
}

void
pa_bt_input_max_future(struct pa_bt_input *in, pa_usec_t max_future)
{
	in->max_future = max_future;
}

void
pa_bt_input_free(struct pa_bt_input *in)
{
	if (in == NULL)
		return;
	for (size_t i = 0; i < in->n; i++) {
		free(in->list[i].name);
		free(in->list[i].rows);
	}
	free(in->list);
	pa_input_names_free(&in->inputs);
	json_decref(in->index);
	free(in);
}

size_t
pa_bt_input_count(const struct pa_bt_input *in)
{
	return in->n;
}

/*
 * Reject a bucket for one field: "missing" when the field is absent, else
 * the value (null too) quoted after what the field should be.  name is the
 * series name, or NULL while it is not known.
 */
static void
reject_field(const char *where, const struct pa_line *line, const char *name, const json_t *rec,
	     const char *field, const char *expected)
{
	const json_t *value = json_object_get(rec, field);
	char msg[300];

	if (value == NULL)
		snprintf(msg, sizeof msg, "%s%sfield \"%s\" is missing", name ? name : "",
			 name ? ": " : "", field);
	else
		snprintf(msg, sizeof msg, "%s%sfield \"%s\" is not %s: %s", name ? name : "",
			 name ? ": " : "", field, expected, pa_quote_json(value));
	pa_reject(where, line->lineno, line->text, line->len, "invalid bucket", "%s", msg);
}

/*
 * Work units in a bucket record, NAN when the bucket is unknown, or -1
 * with the offending field named.
 */
static double
bucket_work(const json_t *rec, const char **bad)
{
	double requests, sum, mean;
	int got, has_requests;

	/*
	 * The limits are those of every tool (ndjson.h), which the replay's
	 * forecasts keep too.  A bad count is rejected even where the
	 * complexity sum gives the work, as pa-forecast rejects it.
	 */
	got = pa_rec_num(rec, "requests", &requests);
	if (got < 0 || (got == 1 && !(requests >= 0 && requests <= PA_REQUESTS_MAX))) {
		*bad = "requests";
		return -1;
	}
	has_requests = got == 1;
	got = pa_rec_num(rec, "complexity_sum", &sum);
	if (got == 1 && sum >= 0 && sum <= PA_COMPLEXITY_SUM_MAX)
		return sum;
	if (got != 0) {
		*bad = "complexity_sum";
		return -1;
	}

	/*
	 * requests null is an unknown count, as in pa-forecast, so the bucket
	 * is unknown like one without a record.  An absent field is still an
	 * error, because it more likely means a record of another shape.
	 */
	if (!has_requests && json_is_null(json_object_get(rec, "requests")))
		return NAN;
	if (!has_requests) {
		*bad = "requests";
		return -1;
	}
	got = pa_rec_num(rec, "complexity_mean", &mean);
	if (got < 0 || (got == 1 && mean < 0)) {
		*bad = "complexity_mean";
		return -1;
	}
	return got == 1 ? requests * mean : requests;
}

int
pa_bt_input_record(struct pa_bt_input *in, const json_t *rec, const char *where,
		   const struct pa_line *line)
{
	const char *kind = pa_rec_kind(rec), *name, *bad = NULL, *field, *expected;
	struct raw_series *s;
	json_t *pos;
	pa_usec_t ts;
	double step, work, covered_from, covered;
	int partial;

	if (kind == NULL || strcmp(kind, "bucket") != 0)
		return 0;
	name = pa_rec_str(rec, "tenant_service_name");
	if (name == NULL || name[0] == '\0') {
		reject_field(where, line, NULL, rec, "tenant_service_name", "a non-empty string");
		return 1;
	}
	if (pa_rec_time(rec, "ts", &ts) != 1) {
		reject_field(where, line, name, rec, "ts", "a timestamp");
		return 1;
	}

	/*
	 * Buckets are observed, so one stamped far after the clock has a wrong
	 * date.  Kept, it would stretch its series to that date, and every
	 * policy would be billed across the years between.  The rule and the
	 * message are pa-forecast's.
	 */
	if (pa_time_ahead_of_clock(ts, in->max_future, &in->future_limit)) {
		char when[40], clock[40];

		pa_reject(where, line->lineno, line->text, line->len, "timestamp in the future",
			  "bucket \"ts\" %s is more than --max-future after the clock (%s); "
			  "is a timestamp wrong?", pa_time_format(ts, when, sizeof when),
			  pa_time_format_clock(in->future_limit, in->max_future, clock,
					       sizeof clock));
		return 1;
	}

	if (pa_rec_step_s(rec, &step) != 1) {
		reject_field(where, line, name, rec, "step_s", PA_STEP_S_RULE);
		return 1;
	}
	work = bucket_work(rec, &bad);
	if (!isnan(work) && work < 0) {
		reject_field(where, line, name, rec, bad,
			     strcmp(bad, "requests") == 0 ? "a count from 0 to 1e15" :
			     strcmp(bad, "complexity_sum") == 0 ? "a number from 0 to 1e18" :
			     "a number >= 0");
		return 1;
	}
	/*
	 * A bucket that pa-score's input began or ended inside has only part
	 * of its count, which the replay would score as a drop in demand.  It
	 * is left out, so it is unknown like a missing bucket.
	 */
	partial = pa_rec_coverage(rec, step, &covered_from, &covered, &field, &expected);
	if (partial < 0) {
		reject_field(where, line, name, rec, field, expected);
		return 1;
	}
	if (partial) {
		char when[40];

		pa_warn("%s: the bucket at %s covers %g of %g s (its input %s inside it); left "
			"out of the replay", name, pa_time_format(ts, when, sizeof when), covered,
			step, covered_from > 0 ? "began" : "ended");
		return 1;
	}

	pos = json_object_get(in->index, name);
	if (pos == NULL) {
		if (in->n == in->cap) {
			in->cap = in->cap ? 2 * in->cap : 8;
			in->list = realloc(in->list, in->cap * sizeof *in->list);
			if (in->list == NULL)
				pa_die(PA_EXIT_IO, "out of memory");
		}
		s = &in->list[in->n];
		memset(s, 0, sizeof *s);
		s->name = strdup(name);
		if (s->name == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
		s->step_s = step;
		s->first_ts = ts;
		json_object_set_new(in->index, name, json_integer((json_int_t)in->n));
		in->n++;
	} else {
		s = &in->list[json_integer_value(pos)];
	}
	if (step != s->step_s) {
		char msg[300];

		snprintf(msg, sizeof msg, "%s: step_s %g differs from the series' step %g", name, step,
			 s->step_s);
		pa_reject(where, line->lineno, line->text, line->len, "invalid bucket", "%s", msg);
		return 1;
	}

	/*
	 * A start off the grid would be added to the bucket it falls in and
	 * inflate that bucket's work.  The rule and the message are
	 * pa-forecast's.
	 */
	if ((ts - s->first_ts) % ((pa_usec_t)step * PA_USEC_PER_SEC) != 0) {
		char at[40], first[40];

		pa_reject(where, line->lineno, line->text, line->len,
			  "bucket not aligned with its series", "bucket \"ts\" %s does not lie a whole "
			  "number of steps (%g s) from the first bucket of %s at %s",
			  pa_time_format(ts, at, sizeof at), step, pa_quote(name, strlen(name)),
			  pa_time_format(s->first_ts, first, sizeof first));
		return 1;
	}

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->rows = realloc(s->rows, s->cap * sizeof *s->rows);
		if (s->rows == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
	}
	s->rows[s->n].ts = ts;
	s->rows[s->n].work = work;
	s->rows[s->n].input = pa_input_names_keep(&in->inputs, where);
	s->rows[s->n].lineno = line->lineno;
	s->n++;
	return 1;
}

const char *
pa_bt_input_name(const struct pa_bt_input *in, size_t i)
{
	return in->list[i].name;
}

static int
by_time(const void *a, const void *b)
{
	const struct raw *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->work < y->work ? -1 : x->work > y->work;
}

/*
 * Report the longest stretch of s without buckets when it is long: one
 * mistyped timestamp stretches a series over months that every policy is
 * billed across.  The record named is the one next to the stretch on the
 * side with fewer records, which is the likely mistyped one whether it
 * lies far before the others or far after them.  With too_long, the span
 * is beyond MAX_BUCKETS and the stretch goes into err for the caller's
 * error instead.  Returns -1 then, or when memory runs out.  Also report
 * records equal to another of the same start, which are added up as
 * shards are but more likely an input read twice.
 */
static int
check_rows(const struct raw_series *s, pa_usec_t step, int too_long, char *err, size_t errsize)
{
	struct raw *sorted = malloc(s->n * sizeof *sorted);
	const struct raw *after = NULL, *repeat = NULL, *named = NULL;
	size_t n = 0, repeats = 0, gap_at = 0;
	pa_usec_t longest = 0;
	char from[40], to[40], first[40], last[40], side[200] = "";

	if (sorted == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}

	/* Records with requests null are left out, as they leave their buckets unknown. */
	for (size_t k = 0; k < s->n; k++)
		if (!isnan(s->rows[k].work))
			sorted[n++] = s->rows[k];
	qsort(sorted, n, sizeof *sorted, by_time);
	for (size_t k = 1; k < n; k++) {
		if (sorted[k].ts - sorted[k - 1].ts > longest) {
			longest = sorted[k].ts - sorted[k - 1].ts;
			after = &sorted[k];
			gap_at = k;
		}
		if (sorted[k].ts == sorted[k - 1].ts && sorted[k].work == sorted[k - 1].work &&
		    repeats++ == 0)
			repeat = &sorted[k];
	}
	if (repeats > 0) {
		char at[40];

		pa_warn("%s: %zu bucket record%s equal to another with the same start, the first at "
			"%s (%s:%zu), added to it as parts of one bucket; if an input was read twice, "
			"its work is doubled", s->name, repeats, repeats == 1 ? "" : "s",
			pa_time_format(repeat->ts, at, sizeof at), repeat->input,
			repeat->lineno);
	}

	if (after != NULL) {
		int fewer_before = gap_at < n - gap_at;

		named = fewer_before ? &sorted[gap_at - 1] : after;
		pa_time_format(after->ts - longest + step, from, sizeof from);
		pa_time_format(after->ts - step, to, sizeof to);
		snprintf(side, sizeof side, "%s the bucket of %s:%zu", fewer_before ? "after" : "before",
			 named->input, named->lineno);
	}
	if (too_long) {
		snprintf(err, errsize, "%lld buckets from %s to %s are more than %d; the longest "
			 "stretch without buckets runs from %s to %s, %s; is a timestamp wrong?",
			 (long long)((sorted[n - 1].ts - sorted[0].ts) / step),
			 pa_time_format(sorted[0].ts, first, sizeof first),
			 pa_time_format(sorted[n - 1].ts, last, sizeof last), MAX_BUCKETS,
			 from, to, side);
		free(sorted);
		return -1;
	}
	if (after != NULL && longest / step - 1 >= GAP_REPORT_STEPS &&
	    (double)(longest - step) / PA_USEC_PER_SEC > GAP_REPORT_S)
		pa_warn("%s: no bucket for %lld steps from %s to %s, %s; every policy is billed "
			"across them; is a timestamp wrong?", s->name, (long long)(longest / step - 1),
			from, to, side);
	free(sorted);
	return 0;
}

int
pa_bt_input_series(const struct pa_bt_input *in, size_t i, struct pa_bt_series *out,
		   char *err, size_t errsize)
{
	const struct raw_series *s = &in->list[i];
	pa_usec_t lo = 0, hi = 0, step = (pa_usec_t)s->step_s * PA_USEC_PER_SEC;
	size_t n, known = 0;

	memset(out, 0, sizeof *out);

	/*
	 * The span runs between the known buckets, because records with
	 * requests null outside them would only add unknown buckets that
	 * every policy is billed across.
	 */
	for (size_t k = 0; k < s->n; k++) {
		if (isnan(s->rows[k].work))
			continue;
		if (known == 0 || s->rows[k].ts < lo)
			lo = s->rows[k].ts;
		if (known == 0 || s->rows[k].ts > hi)
			hi = s->rows[k].ts;
		known++;
	}
	if (known == 0) {
		if (s->n == 1)
			snprintf(err, errsize, "no bucket is known, because its only record has "
				 "requests null");
		else
			snprintf(err, errsize, "no bucket is known, because all %zu records have "
				 "requests null", s->n);
		return -1;
	}
	if (check_rows(s, step, (hi - lo) / step >= MAX_BUCKETS, err, errsize) != 0)
		return -1;
	n = (size_t)((hi - lo) / step) + 1;
	out->work = malloc(n * sizeof *out->work);
	out->name = strdup(s->name);
	if (out->work == NULL || out->name == NULL) {
		pa_bt_series_free(out);
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	for (size_t k = 0; k < n; k++)
		out->work[k] = NAN;
	for (size_t k = 0; k < s->n; k++) {
		size_t b;

		/* A part with requests null adds nothing, so its bucket stays unknown. */
		if (isnan(s->rows[k].work))
			continue;
		b = (size_t)((s->rows[k].ts - lo) / step);
		out->work[b] = (isnan(out->work[b]) ? 0 : out->work[b]) + s->rows[k].work;
	}

	/* Work units per bucket become work units per second. */
	for (size_t k = 0; k < n; k++)
		out->work[k] /= s->step_s;
	out->start = lo;
	out->step_s = s->step_s;
	out->n = n;
	return 0;
}

static void
set_setting(json_t *rec, const struct pa_bt_result *r)
{
	if (r->policy == PA_BT_PREDICTIVE)
		pa_rec_set_num(rec, "risk", r->setting);
	else if (r->policy == PA_BT_REACTIVE)
		pa_rec_set_num(rec, "target_utilization", r->setting);
}

void
pa_bt_write_records(const struct pa_bt_report *rep)
{
	for (size_t i = 0; i < rep->nresults; i++) {
		const struct pa_bt_result *r = &rep->results[i];
		json_t *rec = json_object();

		json_object_set_new(rec, "kind", json_string("backtest"));
		json_object_set_new(rec, "tenant_service_name", json_string(rep->series->name));
		json_object_set_new(rec, "policy", json_string(pa_bt_policy_name(r->policy)));
		set_setting(rec, r);
		pa_rec_set_num(rec, "overloaded_share", r->overloaded_share);
		pa_rec_set_num(rec, "unserved_work", r->unserved_work);
		pa_rec_set_num(rec, "instance_hours", r->instance_hours);
		if (rep->spot) {
			pa_rec_set_num(rec, "spot_instance_hours", r->spot_hours);
			pa_rec_set_num(rec, "spot_interruptions", (double)r->interruptions);
		}
		pa_rec_set_num(rec, "cost", r->cost);
		pa_rec_set_num(rec, "mean_utilization", r->mean_utilization);
		pa_rec_set_num(rec, "buckets", (double)r->buckets);
		if (r->policy == PA_BT_PREDICTIVE && rep->model != NULL)
			json_object_set_new(rec, "model", json_string(rep->model));
		if (r->window_buckets > 0) {
			pa_rec_set_num(rec, "window_coverage", r->window_coverage);
			pa_rec_set_num(rec, "window_buckets", (double)r->window_buckets);
			pa_rec_set_num(rec, "outside_coverage", r->outside_coverage);
		}
		pa_out_json(rec);
		json_decref(rec);
	}
}

/* Points of one policy sorted by x (spend or overloaded share). */
struct curve {
	size_t n;
	double x[64], y[64];
};

/* The quantities a curve plots, x against y. */
enum curve_axis {
	BY_HOURS,	/* instance-hours against overloaded share */
	BY_SHARE,	/* overloaded share against instance-hours */
	BY_SPEND	/* the equal-cost axis against overloaded share */
};

/*
 * The spend that equal cost compares: instance-hours, which are cost at
 * one price, or the cost itself when spot instances make the two differ.
 */
static double
spend_of(const struct pa_bt_report *rep, const struct pa_bt_result *r)
{
	return rep->spot ? r->cost : r->instance_hours;
}

static void
curve_of(const struct pa_bt_report *rep, enum pa_bt_policy policy, enum curve_axis axis,
	 struct curve *c)
{
	c->n = 0;
	for (size_t i = 0; i < rep->nresults && c->n < 64; i++) {
		const struct pa_bt_result *r = &rep->results[i];
		size_t j;

		if (r->policy != policy)
			continue;
		j = c->n++;
		switch (axis) {
		case BY_HOURS:
			c->x[j] = r->instance_hours;
			c->y[j] = r->overloaded_share;
			break;
		case BY_SPEND:
			c->x[j] = spend_of(rep, r);
			c->y[j] = r->overloaded_share;
			break;
		case BY_SHARE:
			c->x[j] = r->overloaded_share;
			c->y[j] = r->instance_hours;
			break;
		}

		/* Insertion sort: a sweep has a few dozen points. */
		while (j > 0 && c->x[j - 1] > c->x[j]) {
			double tx = c->x[j], ty = c->y[j];

			c->x[j] = c->x[j - 1];
			c->y[j] = c->y[j - 1];
			c->x[j - 1] = tx;
			c->y[j - 1] = ty;
			j--;
		}
	}
}

/*
 * The predictive overloaded share at hours.  Beyond the most expensive
 * predictive point the share there is an upper bound (*bound = 1).
 */
static double
predictive_share_at(const struct curve *pred, double hours, int *bound)
{
	*bound = 0;
	if (pred->n == 0 || hours < pred->x[0])
		return NAN;
	if (hours > pred->x[pred->n - 1]) {
		*bound = 1;
		return pred->y[pred->n - 1];
	}
	return pa_bt_interpolate(pred->x, pred->y, pred->n, hours);
}

/* Predictive instance-hours at a 1% overloaded share; a bound when every point is below it. */
static double
predictive_hours_at_one_percent(const struct pa_bt_report *rep, int *bound)
{
	struct curve byshare;

	curve_of(rep, PA_BT_PREDICTIVE, BY_SHARE, &byshare);
	*bound = 0;
	if (byshare.n == 0 || byshare.x[0] > 0.01)
		return NAN;
	if (byshare.x[byshare.n - 1] < 0.01) {
		*bound = 1;
		return byshare.y[byshare.n - 1];
	}
	return pa_bt_interpolate(byshare.x, byshare.y, byshare.n, 0.01);
}

static const struct pa_bt_result *
find_policy(const struct pa_bt_report *rep, enum pa_bt_policy policy)
{
	for (size_t i = 0; i < rep->nresults; i++)
		if (rep->results[i].policy == policy)
			return &rep->results[i];
	return NULL;
}

void
pa_bt_write_comparisons(const struct pa_bt_report *rep)
{
	const struct pa_bt_result *oracle = find_policy(rep, PA_BT_ORACLE);
	struct curve pred;
	double hours;
	int bound;

	curve_of(rep, PA_BT_PREDICTIVE, BY_SPEND, &pred);
	for (size_t i = 0; i < rep->nresults; i++) {
		const struct pa_bt_result *r = &rep->results[i];
		json_t *rec;
		double share;

		if (r->policy != PA_BT_REACTIVE)
			continue;
		share = predictive_share_at(&pred, spend_of(rep, r), &bound);
		rec = json_object();
		json_object_set_new(rec, "kind", json_string("backtest_comparison"));
		json_object_set_new(rec, "tenant_service_name", json_string(rep->series->name));
		json_object_set_new(rec, "compare", json_string("equal_cost"));
		json_object_set_new(rec, "basis", json_string(rep->spot ? "cost" : "instance_hours"));
		pa_rec_set_num(rec, "target_utilization", r->setting);
		pa_rec_set_num(rec, "instance_hours", r->instance_hours);
		if (rep->spot)
			pa_rec_set_num(rec, "cost", r->cost);
		pa_rec_set_num(rec, "reactive_overloaded_share", r->overloaded_share);
		pa_rec_set_num(rec, "predictive_overloaded_share", share);
		json_object_set_new(rec, "predictive_is_upper_bound", json_boolean(bound));
		pa_rec_set_num(rec, "share_ratio", r->overloaded_share > 0 ? share / r->overloaded_share : NAN);
		pa_out_json(rec);
		json_decref(rec);
	}

	if (oracle == NULL)
		return;
	hours = predictive_hours_at_one_percent(rep, &bound);
	{
		json_t *rec = json_object();

		json_object_set_new(rec, "kind", json_string("backtest_comparison"));
		json_object_set_new(rec, "tenant_service_name", json_string(rep->series->name));
		json_object_set_new(rec, "compare", json_string("oracle_at_1pct"));
		pa_rec_set_num(rec, "overloaded_share", 0.01);
		pa_rec_set_num(rec, "predictive_instance_hours", hours);
		json_object_set_new(rec, "predictive_is_upper_bound", json_boolean(bound));
		pa_rec_set_num(rec, "oracle_instance_hours", oracle->instance_hours);
		pa_rec_set_num(rec, "hours_ratio",
			       oracle->instance_hours > 0 ? hours / oracle->instance_hours : NAN);
		pa_out_json(rec);
		json_decref(rec);
	}
}

static void
fmt_setting(const struct pa_bt_result *r, char *buf, size_t size)
{
	if (r->policy == PA_BT_PREDICTIVE)
		snprintf(buf, size, "risk=%g", r->setting);
	else if (r->policy == PA_BT_REACTIVE)
		snprintf(buf, size, "target=%g", r->setting);
	else
		snprintf(buf, size, "-");
}

/* Write the equal-cost and oracle comparison lines under a sweep's table rows. */
static void
write_table_comparisons(const struct pa_bt_report *rep)
{
	const struct pa_bt_result *oracle = find_policy(rep, PA_BT_ORACLE);
	struct curve pred;

	/* The comparison lines only mean something with a curve to read. */
	curve_of(rep, PA_BT_PREDICTIVE, BY_SPEND, &pred);
	if (pred.n < 2)
		return;
	for (size_t i = 0; i < rep->nresults; i++) {
		const struct pa_bt_result *r = &rep->results[i];
		const char *unit = rep->spot ? "cost" : "inst-h";
		double share;
		int bound;

		if (r->policy != PA_BT_REACTIVE)
			continue;
		share = predictive_share_at(&pred, spend_of(rep, r), &bound);
		if (isnan(share))
			pa_out_printf("  at reactive target %g (%.2f %s): predictive costs more at every risk\n",
				      r->setting, spend_of(rep, r), unit);
		else
			pa_out_printf("  at reactive target %g (%.2f %s): overloaded %.3f%% reactive, "
				      "%s%.3f%% predictive\n", r->setting, spend_of(rep, r), unit,
				      100 * r->overloaded_share, bound ? "<= " : "", 100 * share);
	}
	if (oracle != NULL) {
		int bound;
		double hours = predictive_hours_at_one_percent(rep, &bound);

		if (isnan(hours))
			pa_out_printf("  at 1%% overloaded: predictive never reaches 1%% in this sweep\n");
		else
			pa_out_printf("  at 1%% overloaded: predictive %s%.2f inst-h, oracle %.2f (%.2fx)\n",
				      bound ? "<= " : "", hours, oracle->instance_hours,
				      oracle->instance_hours > 0 ? hours / oracle->instance_hours : NAN);
	}
}

void
pa_bt_write_table(const struct pa_bt_report *rep, int header)
{
	char setting[40], *name = pa_xstrdup(rep->series->name);
	int width = rep->name_width > 24 ? rep->name_width : 24;

	/* A control character in a name would reach the terminal as it is. */
	for (char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (header) {
		pa_out_printf("%-*s %-10s %-12s %10s %14s %12s %10s %6s", width, "series", "policy",
			      "setting", "overloaded", "unserved_work", "inst_hours", "cost", "util");
		if (rep->spot)
			pa_out_printf(" %12s %9s", "spot_hours", "reclaimed");
		pa_out_printf("\n");
	}
	for (size_t i = 0; i < rep->nresults; i++) {
		const struct pa_bt_result *r = &rep->results[i];

		fmt_setting(r, setting, sizeof setting);
		pa_out_printf("%-*s %-10s %-12s %9.3f%% %14.6g %12.2f %10.2f %5.1f%%",
			      width, name, pa_bt_policy_name(r->policy), setting,
			      100 * r->overloaded_share, r->unserved_work, r->instance_hours, r->cost,
			      100 * r->mean_utilization);
		if (rep->spot)
			pa_out_printf(" %12.2f %9ld", r->spot_hours, r->interruptions);
		pa_out_printf("\n");
	}
	free(name);

	write_table_comparisons(rep);

	/* The coverage lines need no curve, so they follow the chosen risk too. */
	for (size_t i = 0; i < rep->nresults; i++) {
		const struct pa_bt_result *r = &rep->results[i];

		if (r->policy != PA_BT_PREDICTIVE || r->window_buckets == 0)
			continue;
		pa_out_printf("  risk %g quantile covers %.2f%% of %zu buckets in event windows, "
			      "%.2f%% outside\n", r->setting, 100 * r->window_coverage,
			      r->window_buckets, 100 * r->outside_coverage);
	}
}

/* SVG drawing. */

#define SVG_W 900
#define PANEL_H 320
#define MARGIN 60

static const char *
policy_color(enum pa_bt_policy p)
{
	switch (p) {
	case PA_BT_PREDICTIVE:
		return "#1f77b4";
	case PA_BT_REACTIVE:
		return "#d62728";
	case PA_BT_STATIC:
		return "#7f7f7f";
	case PA_BT_ORACLE:
		break;
	}
	return "#2ca02c";
}

/*
 * Series names come from logs, so they are escaped for XML.  XML 1.0
 * allows no control character but tab, newline and carriage return, not
 * even escaped, so every control character becomes '?'.
 */
static void
svg_text(FILE *fp, const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			putc('?', fp);
			continue;
		}
		switch (*s) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		default:
			putc(*s, fp);
		}
	}
}

static void
svg_axes(FILE *fp, double top, const char *title, const char *xlabel, const char *ylabel,
	 double xmin, double xmax, double ymax)
{
	double w = SVG_W - 2 * MARGIN, h = PANEL_H - 2 * MARGIN;

	fprintf(fp, "<text x=\"%d\" y=\"%.0f\" font-weight=\"bold\">", MARGIN, top + 25);
	svg_text(fp, title);
	fprintf(fp, "</text>\n");
	fprintf(fp, "<rect x=\"%d\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#000\"/>\n",
		MARGIN, top + MARGIN, w, h);
	fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", MARGIN + w / 2,
		top + PANEL_H - 15, xlabel);
	fprintf(fp, "<text x=\"15\" y=\"%.0f\" transform=\"rotate(-90 15 %.0f)\" text-anchor=\"middle\">%s</text>\n",
		top + PANEL_H / 2.0, top + PANEL_H / 2.0, ylabel);
	fprintf(fp, "<text x=\"%d\" y=\"%.0f\" font-size=\"11\">%.4g</text>\n", MARGIN, top + PANEL_H - MARGIN + 15, xmin);
	fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%.4g</text>\n",
		MARGIN + w, top + PANEL_H - MARGIN + 15, xmax);
	fprintf(fp, "<text x=\"%d\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%.4g</text>\n", MARGIN - 4,
		top + MARGIN + 10, ymax);
	fprintf(fp, "<text x=\"%d\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">0</text>\n", MARGIN - 4,
		top + PANEL_H - MARGIN);
}

static double
sx(double v, double lo, double hi)
{
	return MARGIN + (hi > lo ? (v - lo) / (hi - lo) : 0.5) * (SVG_W - 2 * MARGIN);
}

static double
sy(double v, double top, double hi)
{
	return top + PANEL_H - MARGIN - (hi > 0 ? v / hi : 0) * (PANEL_H - 2 * MARGIN);
}

/*
 * A reactive target above 1 / (1 + tolerance) never scales a saturated
 * fleet up, because a utilization of 1 lies within the tolerance of the
 * target.  Its overloaded share shows that and sets no chart scale.
 */
static int
reactive_stuck(const struct pa_bt_result *r)
{
	struct pa_bt_config c;

	if (r->policy != PA_BT_REACTIVE)
		return 0;
	pa_bt_config_default(&c);
	return r->setting * (1 + c.hpa_tolerance) > 1;
}

static void
svg_tradeoff(FILE *fp, const struct pa_bt_report *rep, double top)
{
	double xmin = INFINITY, xmax = 0, ymax = 0;
	static const enum pa_bt_policy order[] = { PA_BT_REACTIVE, PA_BT_PREDICTIVE, PA_BT_STATIC, PA_BT_ORACLE };

	const struct pa_bt_result *stat = find_policy(rep, PA_BT_STATIC);
	int static_off = 0;
	size_t stuck_shown = 0;

	for (size_t i = 0; i < rep->nresults; i++) {
		const struct pa_bt_result *r = &rep->results[i];

		if (r->policy == PA_BT_STATIC)
			continue;
		xmin = fmin(xmin, r->instance_hours);
		xmax = fmax(xmax, r->instance_hours);
		if (!reactive_stuck(r))
			ymax = fmax(ymax, 100 * r->overloaded_share);
	}

	/* A peak-sized fleet often costs many times the rest; it would squash the curves. */
	if (stat != NULL && (xmax <= 0 || stat->instance_hours <= 1.5 * xmax)) {
		xmin = fmin(xmin, stat->instance_hours);
		xmax = fmax(xmax, stat->instance_hours);
		ymax = fmax(ymax, 100 * stat->overloaded_share);
	} else if (stat != NULL) {
		static_off = 1;
	}
	if (!isfinite(xmin))
		xmin = 0;
	if (ymax <= 0)
		ymax = 1;
	svg_axes(fp, top, rep->series->name, "instance-hours", "overloaded time, %", xmin, xmax, ymax);
	for (size_t p = 0; p < 4; p++) {
		struct curve c;

		curve_of(rep, order[p], BY_HOURS, &c);
		if (c.n == 0)
			continue;
		if (order[p] == PA_BT_STATIC && static_off) {
			fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\" font-size=\"12\">"
				    "static: %.0f inst-h, %.3g%% (off scale)</text>\n",
				SVG_W - MARGIN - 250.0, top + MARGIN + 15.0 + 15.0 * p, policy_color(order[p]),
				stat->instance_hours, 100 * stat->overloaded_share);
			continue;
		}
		/* Targets past the tolerance's reach overload far more than the
		 * rest, so they are named instead of squashing the curve. */
		if (order[p] == PA_BT_REACTIVE) {
			size_t on_scale = 0;

			for (size_t i = 0; i < rep->nresults; i++) {
				const struct pa_bt_result *r = &rep->results[i];

				if (reactive_stuck(r) && 100 * r->overloaded_share > ymax)
					fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\" font-size=\"12\">"
						    "reactive %.3g: %.0f inst-h, %.3g%% (off scale)</text>\n",
						MARGIN + 10.0, top + MARGIN + 15.0 + 15.0 * (double)stuck_shown++,
						policy_color(order[p]), r->setting, r->instance_hours,
						100 * r->overloaded_share);
			}
			for (size_t i = 0; i < c.n; i++) {
				if (100 * c.y[i] > ymax)
					continue;
				c.x[on_scale] = c.x[i];
				c.y[on_scale++] = c.y[i];
			}
			c.n = on_scale;
		}
		if (c.n > 1) {
			fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
				policy_color(order[p]));
			for (size_t i = 0; i < c.n; i++)
				fprintf(fp, "%.1f,%.1f ", sx(c.x[i], xmin, xmax), sy(100 * c.y[i], top, ymax));
			fprintf(fp, "\"/>\n");
		}
		for (size_t i = 0; i < c.n; i++)
			fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n",
				sx(c.x[i], xmin, xmax), sy(100 * c.y[i], top, ymax), policy_color(order[p]));
		fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\" font-size=\"12\">%s</text>\n",
			SVG_W - MARGIN - 90.0, top + MARGIN + 15.0 + 15.0 * p, policy_color(order[p]),
			pa_bt_policy_name(order[p]));
	}
}

/* Demand and capacity over time, each pixel column showing its bucket maximum. */
static void
svg_timeline(FILE *fp, const struct pa_bt_report *rep, double top, size_t warmup)
{
	const struct pa_bt_series *s = rep->series;
	const struct pa_bt_result *lines[2] = { rep->chart_reactive, rep->chart_predictive };
	size_t cols = SVG_W - 2 * MARGIN, n = s->n - warmup;
	double ymax = 0;
	char title[160];

	for (size_t t = warmup; t < s->n; t++) {
		if (!isnan(s->work[t]))
			ymax = fmax(ymax, s->work[t]);
		for (int l = 0; l < 2; l++)
			if (lines[l] && lines[l]->capacity)
				ymax = fmax(ymax, lines[l]->capacity[t]);
	}
	if (ymax <= 0)
		ymax = 1;

	/* A margin above the highest line, so a count held at its peak does not
	 * read as clipped by the frame. */
	ymax *= 1.05;
	snprintf(title, sizeof title, "%s: demand and capacity over time", s->name);
	svg_axes(fp, top, title, "bucket", "work units per second", (double)warmup, (double)s->n - 1, ymax);
	for (int l = -1; l < 2; l++) {
		const double *v = l < 0 ? s->work : (lines[l] ? lines[l]->capacity : NULL);
		const char *color = l < 0 ? "#000" : policy_color(lines[l]->policy);

		if (v == NULL)
			continue;
		fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" points=\"", color,
			l < 0 ? "1" : "1.5");
		for (size_t c = 0; c < cols && n > 0; c++) {
			size_t a = warmup + c * n / cols, b = warmup + (c + 1) * n / cols;
			double m = -1;

			if (b <= a)
				b = a + 1;
			for (size_t t = a; t < b && t < s->n; t++)
				if (!isnan(v[t]))
					m = fmax(m, v[t]);
			if (m >= 0)
				fprintf(fp, "%.1f,%.1f ", MARGIN + (double)c, sy(m, top, ymax));
		}
		fprintf(fp, "\"/>\n");
	}
	fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">demand (black)</text>\n",
		SVG_W - MARGIN - 180.0, top + MARGIN + 15.0);
	for (int l = 0; l < 2; l++) {
		char setting[40];

		if (lines[l] == NULL)
			continue;
		fmt_setting(lines[l], setting, sizeof setting);
		fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\" font-size=\"12\">%s %s</text>\n",
			SVG_W - MARGIN - 180.0, top + MARGIN + 30.0 + 15.0 * l, policy_color(lines[l]->policy),
			pa_bt_policy_name(lines[l]->policy), setting);
	}
}

int
pa_bt_write_svg(FILE *fp, const struct pa_bt_report *reps, size_t nreps)
{
	fprintf(fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" "
		    "font-family=\"sans-serif\" font-size=\"13\">\n", SVG_W, nreps * 2 * PANEL_H);
	fprintf(fp, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
	for (size_t i = 0; i < nreps; i++) {
		svg_tradeoff(fp, &reps[i], (double)(2 * i) * PANEL_H);
		svg_timeline(fp, &reps[i], (double)(2 * i + 1) * PANEL_H, reps[i].warmup);
	}
	fprintf(fp, "</svg>\n");
	return ferror(fp) ? -1 : 0;
}
