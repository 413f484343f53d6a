/*
 * fc_regressors.h - event windows and trend streams as regressors.
 *
 * For one series, each event type with a past window becomes an indicator
 * column (1 inside a window), known over the whole horizon because
 * schedules are.  Each numeric trend stream becomes the column of its
 * bucket sums, log1p-transformed when no sample is negative, taken L steps
 * back.  L, from 0 to max_lag, maximises the absolute cross-correlation of
 * the first differences of log1p(requests) and of the stream.  A stream
 * is only known up to its last sample, so it can inform at most L steps
 * past the end of the history.  The regression model forecasts the later
 * steps from a fit without it.
 */
#ifndef PA_FC_REGRESSORS_H
#define PA_FC_REGRESSORS_H

#include <stddef.h>

#include "fc_events.h"
#include "fc_series.h"
#include "forecast.h"

struct pa_fc_regressor_plan {
	struct pa_fc_regressors rx;	/* for pa_fc_opts.regressors; count 0: none */
	double *x;			/* rx.x, owned */
	size_t *lead;			/* rx.lead, owned */
	size_t *type;			/* event type index per column */
	int *stream;			/* 1: a trend stream, 0: event windows */
	int *log1p;			/* stream: the column is log1p(magnitude) */
	size_t *lag;			/* stream: steps back */
	double *xcorr;			/* stream: cross-correlation at that lag */
	size_t *windows;		/* event type: past windows */
};

/*
 * Build the columns for series s, whose history volume[0..n) starts at
 * first, over n + horizon rows.  masks contains ev->ntypes window masks of
 * n + horizon buckets each (all zero for a stream type).  Returns 0, or -1
 * when memory runs out.
 */
int pa_fc_regressors_build(struct pa_fc_regressor_plan *rp, const struct pa_fc_events *ev,
			   const struct pa_fc_series *s, const unsigned char *masks,
			   const double *volume, size_t n, size_t horizon, pa_usec_t first,
			   size_t max_lag);

void pa_fc_regressors_free(struct pa_fc_regressor_plan *rp);

/*
 * Return 1 when the volume forecast r came from the regression model and
 * at least one column of rp entered its fit.
 */
int pa_fc_regressors_used(const struct pa_fc_regressor_plan *rp, const struct pa_fc_result *r);

/*
 * Write one event_effect record per fitted column: a lift for event
 * windows, an effect per unit and the lag for a trend stream.
 */
void pa_fc_regressors_write(const struct pa_fc_regressor_plan *rp, const struct pa_fc_events *ev,
			    const struct pa_fc_series *s, const struct pa_fc_result *r,
			    double level);

#endif
