/*
 * fc_series.h - bucket records grouped into regular series for forecasting.
 *
 * pa-forecast reads bucket records in any order, possibly several partial
 * buckets for the same series and start (shards of one rollup).  The set
 * collects them per tenant_service_name.  pa_fc_series_regular() then
 * sorts one series and merges partial buckets by summing.  It lays the
 * values on a regular grid from the first to the last bucket.
 *
 * Memory: every bucket of every series is kept until the end of input, 40
 * bytes each plus the series names.
 */
#ifndef PA_FC_SERIES_H
#define PA_FC_SERIES_H

#include <jansson.h>
#include <stddef.h>

#include "timeutil.h"

/* No series is laid out on a grid longer than this many buckets. */
#define PA_FC_MAX_BUCKETS 10000000

struct pa_fc_point {
	pa_usec_t ts;
	double requests;	/* NAN: unknown */
	double complexity_sum;	/* NAN: no complexity in the record */
};

struct pa_fc_series {
	char *name;		/* tenant_service_name, owned */
	char *tenant;		/* owned; from the record, else the part before '/' */
	char *service;		/* owned; from the record, else the part after '/' */
	pa_usec_t step;
	pa_usec_t anchor;	/* start of the first bucket read: others lie whole steps from it */
	pa_usec_t end;		/* last bucket of the grid; 0: the series' own last bucket */
	struct pa_fc_point *points;
	size_t count, alloc;
};

struct pa_fc_series_set;

struct pa_fc_series_set *pa_fc_series_new(void);
void pa_fc_series_free(struct pa_fc_series_set *set);

/*
 * Add one bucket record (borrowed).  Returns 0, or -1 with a complete
 * message in err and a short fixed reason class in *reason_class, for
 * pa_reject.
 */
int pa_fc_series_add(struct pa_fc_series_set *set, const json_t *rec,
		     char *err, size_t errsize, const char **reason_class);

/* The series sorted by name, for deterministic output.  Owned by the set. */
struct pa_fc_series **pa_fc_series_sorted(struct pa_fc_series_set *set, size_t *count);

/*
 * Extend every series to the last bucket of any series with the same step,
 * so all forecasts start from the end of the input.  A service that went
 * quiet before the others then gets a forecast from now, not from its
 * last request.  Returns the number of series extended.
 */
size_t pa_fc_series_align_end(struct pa_fc_series_set *set);

/*
 * Lay series s on its grid.  *volume and *complexity (mean per request,
 * NAN where unknown or no requests) receive new arrays of *n values that
 * the caller frees; *first is the start of the first bucket.  A bucket
 * absent from the input counts in *missing.  When it lies after the
 * series' own last bucket (see pa_fc_series_align_end) it also counts in
 * *trailing.  It reads as 0 requests, or as unknown when gaps_unknown is
 * set.  Returns 0, or -1 when the grid would
 * pass PA_FC_MAX_BUCKETS or memory runs out.
 */
int pa_fc_series_regular(struct pa_fc_series *s, int gaps_unknown, double **volume,
			 double **complexity, size_t *n, pa_usec_t *first, size_t *missing,
			 size_t *trailing);

#endif
