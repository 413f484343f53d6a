/*
 * fc_output.h - forecast records for one series.
 *
 * Turns a collected series into forecast records on stdout: lays it on its
 * grid, reports missing buckets, converts the season lengths from durations
 * to steps, forecasts volume (requests per bucket) and complexity (mean per
 * request), and writes one record per step ahead.
 */
#ifndef PA_FC_OUTPUT_H
#define PA_FC_OUTPUT_H

#include "fc_series.h"
#include "forecast.h"
#include "timeutil.h"

struct pa_fc_run_opts {
	const char *model;	/* as for pa_fc_opts.model */
	double level;		/* interval level, 0 < level < 1 */
	long horizon_steps;	/* steps ahead; used when horizon is 0 */
	pa_usec_t horizon;	/* the horizon as a duration, 0: use horizon_steps */
	pa_usec_t period;	/* main season as a duration, 0: none */
	pa_usec_t period2;	/* second season, 0: none */
	int period2_explicit;	/* 1: the user set period2, so a refusal is reported */
	int gaps_unknown;	/* missing buckets are unknown instead of 0 */
	int transform;		/* PA_FC_TRANSFORM_* for volume; complexity is never transformed */
};

/*
 * Forecast series s and write its records.  Returns 0, or 1 when the
 * series was skipped after a message on stderr naming it.
 */
int pa_fc_emit_series(struct pa_fc_series *s, const struct pa_fc_run_opts *o);

/* Write a step as the shortest exact duration ("1h", "5m", "90s") into buf. */
char *pa_fc_format_step(pa_usec_t step, char *buf, size_t size);

#endif
