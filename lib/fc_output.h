/*
 * fc_output.h - forecast records for one series.
 *
 * Turns a collected series into forecast records on stdout.  The series is
 * laid on its grid, missing buckets are reported, and season lengths are
 * converted from durations to steps.  Volume (requests per bucket) and
 * complexity (mean per request) are forecast, one record per step ahead.  With events, buckets
 * inside event windows are left out of the fit, each event type's lift is
 * estimated and written as an event_effect record, and forecasts inside a
 * future window are multiplied by it.  When the volume forecast comes from
 * the regression model, the event types and trend streams were its
 * regressors instead (fc_regressors.h): no lift is multiplied in, and the
 * event_effect records give the regression's estimates.
 */
#ifndef PA_FC_OUTPUT_H
#define PA_FC_OUTPUT_H

#include "fc_events.h"
#include "fc_series.h"
#include "forecast.h"
#include "timeutil.h"

#define PA_FC_LEVELS_MAX 8

struct pa_fc_run_opts {
	const char *model;	/* as for pa_fc_opts.model */
	double level[PA_FC_LEVELS_MAX];	/* interval levels, 0 < level < 1; the first is the main one */
	size_t nlevels;		/* at least 1 */
	long horizon_steps;	/* steps ahead; used when horizon is 0 */
	pa_usec_t horizon;	/* the horizon as a duration, 0: use horizon_steps */
	pa_usec_t period;	/* main season as a duration, 0: none */
	pa_usec_t period2;	/* second season, 0: none */
	int period2_explicit;	/* 1: the user set period2, so a refusal is reported */
	int gaps_unknown;	/* missing buckets are unknown instead of 0 */
	size_t max_fill;	/* longest gap filled; the buckets before a longer one are left out */
	int transform;		/* PA_FC_TRANSFORM_* for volume; complexity is never transformed */
	const struct pa_fc_events *events;	/* borrowed; NULL or empty: none */
	json_t *state;		/* borrowed state (fcstate.h), read and updated per
				 * series, or NULL: no state */
	long refit_every;	/* updates with kept parameters before a full fit */
	pa_usec_t refit_span;	/* or history since the last full fit; 0: use refit_every */
	double drift;		/* full fit when the binomial tail of the interval
				 * misses is below this; 0: no drift check */
	int follow;		/* 1: trim each series to its kept window after forecasting */
	int verbose;		/* 1: say on stderr which fit each series got */
	long max_lag_steps;	/* largest lag of a trend stream; used when max_lag is 0 */
	pa_usec_t max_lag;	/* the same as a duration; both 0: the horizon */
};

/*
 * Forecast series s from its buckets up to and including limit
 * (PA_FC_NO_LIMIT: all) and write its records.  With a state, the kept
 * choice is reused unless a full fit is due, and the series' entry is
 * replaced.  Returns 0, or 1 when the series was skipped after a message
 * on stderr naming it.
 */
int pa_fc_emit_series(struct pa_fc_series *s, const struct pa_fc_run_opts *o, pa_usec_t limit);

/* Count on stderr the series whose gap notes were left out after the first few. */
void pa_fc_gap_notes_finish(const struct pa_fc_run_opts *o);

/* Write a step as the shortest exact duration ("1h", "5m", "90s") into buf. */
char *pa_fc_format_step(pa_usec_t step, char *buf, size_t size);

#endif
