/*
 * planrun.h - pa-plan's record intake and per-series planning.
 *
 * Forecast and usage records are collected per tenant service; every other
 * kind is left to the caller to pass through.  At the end each series with
 * forecasts is planned once and one plan record is written, in the order
 * the series first appeared.  A series with a rejected forecast, bad
 * settings or too short a horizon gets a message naming it and no plan;
 * the others are still planned.
 *
 * Memory: one entry per forecast record of the latest issue per series,
 * and one entry per distinct instance_id ever seen per series.
 */
#ifndef PA_PLANRUN_H
#define PA_PLANRUN_H

#include <jansson.h>

#include "input.h"
#include "planconf.h"
#include "timeutil.h"

struct pa_plan_run;

/*
 * conf is borrowed and must outlive the run.  now_set: plan at now instead
 * of each series' latest issued_at.  keep_input: also pass forecast and
 * usage records through.
 */
struct pa_plan_run *pa_plan_run_new(const struct pa_planconf *conf, int now_set, pa_usec_t now,
				    int keep_input);

#define PA_PLAN_USAGE_WINDOW_DEFAULT (5 * 60 * PA_USEC_PER_SEC)
#define PA_PLAN_USAGE_MAX_AGE_DEFAULT (15 * 60 * PA_USEC_PER_SEC)


/*
 * Set how current instances are read from usage records (both > 0): every
 * instance with a sample within window before the series' latest sample
 * counts, and usage whose latest sample is more than max_age before the
 * plan time leaves current unknown.  Defaults: 5 minutes and 15 minutes.
 */
void pa_plan_run_usage_limits(struct pa_plan_run *r, pa_usec_t window, pa_usec_t max_age);

/*
 * Reject usage records stamped more than max_future after the clock
 * (default PA_MAX_FUTURE_DEFAULT; < 0: accept any).  Usage is observed, so such a time
 * is wrong, and as a series' latest sample it would push every real
 * instance out of the usage window.
 */
void pa_plan_run_max_future(struct pa_plan_run *r, pa_usec_t max_future);

/*
 * Plan each series as its forecasts arrive, for a live pipeline.  An issue
 * is planned once, at the first of: a forecast that reaches the end of the
 * stabilization window after now + lead time (now being the issue time),
 * a newer issue of the series, or the end of input.  The plan reads the
 * usage records read by then.
 */
void pa_plan_run_follow(struct pa_plan_run *r);

/*
 * Learn the capacity of a series that has none configured from its usage
 * history against its bucket records (which still pass through): the
 * summed cpu_usage at each usage timestamp against the work per second of
 * the bucket containing it.  Memory grows by one entry per usage
 * timestamp and per bucket record of such series.
 */
void pa_plan_run_learn_capacity(struct pa_plan_run *r);

/*
 * Take one parsed record (borrowed).  Returns 1 when the record was
 * consumed or rejected, 0 when the caller should pass it through.  Bucket
 * records pass through and, when learning, are also kept.  A bad
 * forecast or usage record is rejected here with where:lineno.
 */
int pa_plan_run_record(struct pa_plan_run *r, const json_t *rec, const char *where,
		       const struct pa_line *line);

/*
 * Note an input line that was not valid JSON: when it names a
 * tenant_service_name, that series is not planned, since one of its
 * records was lost.
 */
void pa_plan_run_lost_line(struct pa_plan_run *r, const char *text, size_t len);

/*
 * Plan every series and write the plan records.  Returns PA_EXIT_OK,
 * PA_EXIT_DATA when a series was skipped for its data, or PA_EXIT_USAGE
 * when one was skipped for its settings.
 */
int pa_plan_run_finish(struct pa_plan_run *r);

/*
 * End a run that a stop signal interrupted: the issues not yet planned
 * stay unplanned, because their forecasts may still have been on the way,
 * and a message counts them.  A batch run plans at the end of its input,
 * so it plans none.  Returns the worst status of the plans already made.
 */
int pa_plan_run_stop(struct pa_plan_run *r);

void pa_plan_run_free(struct pa_plan_run *r);

#endif
