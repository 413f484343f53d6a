/*
 * btio.h - pa-backtest's bucket intake and its reports (NDJSON, table, SVG).
 *
 * Bucket records are grouped per tenant_service_name in first-seen order.
 * Work per bucket is complexity_sum, else requests * complexity_mean, else
 * requests (complexity 1), over step_s.  Records for the same bucket add
 * up, so shard partials merge; missing buckets inside the span are
 * unknown (NAN), not zero, and so are buckets whose only records have
 * requests null.
 */
#ifndef PA_BTIO_H
#define PA_BTIO_H

#include <jansson.h>
#include <stdio.h>

#include "backtest.h"
#include "input.h"
#include "timeutil.h"

struct pa_bt_input;

struct pa_bt_input *pa_bt_input_new(void);
void pa_bt_input_free(struct pa_bt_input *in);

/*
 * Reject bucket records stamped more than max_future microseconds after
 * the clock (default PA_MAX_FUTURE_DEFAULT); max_future < 0 accepts any.
 */
void pa_bt_input_max_future(struct pa_bt_input *in, pa_usec_t max_future);

/*
 * Take one record (borrowed).  Returns 1 when it was a bucket (taken or
 * rejected with where:lineno), 0 for other kinds, which pa-backtest passes through.
 */
int pa_bt_input_record(struct pa_bt_input *in, const json_t *rec, const char *where,
		       const struct pa_line *line);

size_t pa_bt_input_count(const struct pa_bt_input *in);

/* The tenant_service_name of series i. */
const char *pa_bt_input_name(const struct pa_bt_input *in, size_t i);

/*
 * Build series i as a regular array.  out->name and out->work are owned by
 * the caller (pa_bt_series_free).  Returns 0, or -1 with a message.
 */
int pa_bt_input_series(const struct pa_bt_input *in, size_t i, struct pa_bt_series *out,
		       char *err, size_t errsize);

/* Every result of one series, for the reports. */
struct pa_bt_report {
	const struct pa_bt_series *series;
	size_t warmup;			/* first scored bucket */
	const char *model;		/* forecaster's model, or NULL */
	struct pa_bt_result *results;	/* borrowed */
	size_t nresults;
	const struct pa_bt_result *chart_predictive;	/* the chosen settings, or NULL */
	const struct pa_bt_result *chart_reactive;
	int spot;			/* spot instances replayed: write their hours */
	int name_width;			/* --table: width of the series column, at least 24 */
};

/* Write one "backtest" record per result. */
void pa_bt_write_records(const struct pa_bt_report *rep);

/*
 * Write the comparison records.  For each reactive target, the predictive
 * overloaded share is interpolated at its instance-hours.  A last record
 * sets the predictive instance-hours at a 1% overloaded share against the
 * oracle's.
 */
void pa_bt_write_comparisons(const struct pa_bt_report *rep);

/* Write the readable table of one series (and its comparisons when swept). */
void pa_bt_write_table(const struct pa_bt_report *rep, int header);

/*
 * Write an SVG with, per series, the cost/overload curves and demand
 * against capacity over time.  Returns 0, or -1 with errno set.
 */
int pa_bt_write_svg(FILE *fp, const struct pa_bt_report *reps, size_t nreps);

#endif
