/*
 * fc_series.h - bucket records grouped into regular series for forecasting.
 *
 * pa-forecast reads bucket records in any order, possibly several partial
 * buckets for the same series and start (shards of one rollup).  The set
 * collects them per tenant_service_name.  pa_fc_series_regular() then
 * sorts one series and merges partial buckets by summing.  It lays the
 * values on a regular grid from the first to the last bucket.
 *
 * A series may also start from the window of history kept in a state file
 * (fcstate.h).  Those buckets are marked kept: a bucket read from the
 * input for the same start replaces a kept one instead of adding to it,
 * and a bucket before the kept window is rejected.
 *
 * Memory: every bucket of every series is kept until the end of input, 48
 * bytes each plus the series names, unless pa_fc_series_keep() trims it.
 */
#ifndef PA_FC_SERIES_H
#define PA_FC_SERIES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "input.h"
#include "timeutil.h"

/* No series is laid out on a grid longer than this many buckets. */
#define PA_FC_MAX_BUCKETS 10000000
#define PA_FC_MAX_FILL 100000	/* default of --max-fill, as in pa-score */

/* A limit for pa_fc_series_regular() that takes every bucket. */
#define PA_FC_NO_LIMIT INT64_MAX

struct pa_fc_point {
	pa_usec_t ts;
	double requests;	/* NAN: unknown */
	double complexity_sum;	/* NAN: no complexity in the record */
	/* Bit-fields and a 32-bit line, so that a point takes 48 bytes, not 56. */
	unsigned kept : 1;	/* 1: from the state's kept window */
	unsigned rejected : 1;	/* 1: from a record rejected for its counts, which
				 * makes its bucket unknown rather than a gap */
	unsigned pending : 1;	/* 1: a part kept by the state to join with later parts */
	unsigned input : 29;	/* 1 + index of the record's input in the set's
				 * names; 0: none, as for a kept bucket */
	uint32_t line;		/* the record's line in that input; 0: unknown */
	pa_usec_t cover_from;	/* span of the bucket the part covers, from its start; */
	pa_usec_t cover_to;	/* cover_to 0: all of it */
};

struct pa_fc_series_set;

struct pa_fc_series {
	char *name;		/* tenant_service_name, owned */
	char *tenant;		/* owned; from the record, else the part before '/' */
	char *service;		/* owned; from the record, else the part after '/' */
	pa_usec_t step;
	pa_usec_t anchor;	/* start of the first bucket read: others lie whole steps from it */
	pa_usec_t end;		/* last bucket of the grid; 0 or PA_USEC_MIN: the series' own last bucket */
	int has_partial_end;	/* 1: the input ended inside a bucket past the series' own last */
	pa_usec_t partial_end;	/* start of that bucket, unknown in the fill up to end */
	pa_usec_t partial_end_at;	/* and where the input ended inside it */
	struct pa_fc_point *points;
	size_t count, alloc;
	int has_kept;		/* 1: the series started from a kept window */
	pa_usec_t kept_first;	/* first bucket of that window */
	pa_usec_t kept_last;	/* last bucket of the history already forecast from */
	pa_usec_t open;		/* --follow: start of the newest bucket read */
	int has_open;		/* 1: open is set and that bucket has input records */
	const char *first_input;	/* input of the record that created it, or NULL */
	size_t first_line;		/* and its line */
	const struct pa_fc_series_set *set;	/* the set it belongs to, for the names that
						 * points' input indexes refer to and the
						 * coverage of partial buckets */
};

/*
 * A series laid on its grid: one value per step from first.  The arrays
 * hold n values each and belong to the caller (pa_fc_grid_free).
 */
struct pa_fc_grid {
	double *volume;		/* requests; NAN unknown */
	double *complexity;	/* mean per request; NAN unknown or no requests */
	double *complexity_sum;	/* NAN: unknown */
	size_t n;
	pa_usec_t first;
	size_t missing;		/* buckets with no record, gaps read per gaps_unknown */
	size_t trailing;	/* of those, after the series' own last bucket */
	size_t trailing_unknown;	/* of those, at or after a bucket the input ended inside */
	size_t repeats;		/* records equal to another of the same start, added as parts */
	pa_usec_t repeat_first;	/* start of the first of those */
	size_t gaps;		/* runs of missing buckets before the trailing ones */
	size_t gap_from, gap_to;	/* bucket indexes of the first of those runs */
	int pending;		/* 1: the last bucket is partial; its parts follow */
	pa_usec_t pending_ts;	/* its start */
	double pending_requests, pending_complexity_sum;
	pa_usec_t pending_from, pending_to;	/* the span they cover, from its start */
	size_t holed;		/* buckets whose parts leave a stretch no input covered */
	pa_usec_t holed_ts;	/* the first of them */
	pa_usec_t holed_from, holed_to;	/* and that stretch, from its start */
	size_t reread;		/* pending parts left out because a part read covers their time */
	pa_usec_t reread_ts;	/* the bucket of the first of them */
	pa_usec_t reread_from, reread_to;	/* and the span it covered, from the bucket's start */
	size_t split;		/* buckets read both whole and in parts, which are added */
	pa_usec_t split_ts;	/* the first of them */
	size_t unfinished;	/* earlier buckets whose pending part got no rest */
	pa_usec_t unfinished_ts;	/* the first of them */
	pa_usec_t unfinished_covered;	/* and the span its parts cover */
	/* Records left out beyond a gap longer than max_fill, before and after the run kept: */
	size_t cut_before, cut_after;
	pa_usec_t cut_first, cut_gap_from;	/* the first left out before, the last of them */
	pa_usec_t cut_gap_to, cut_last;		/* the first left out after, the last of them */
	const char *cut_first_input;	/* input of the first left out before, or NULL */
	size_t cut_first_line;		/* and its line, 0: unknown */
	int cut_first_kept;		/* 1: it is a bucket kept in the state */
	const char *cut_gap_to_input;	/* input of the first left out after, or NULL */
	size_t cut_gap_to_line;		/* and its line, 0: unknown */
	int cut_gap_to_kept;		/* 1: it is a bucket kept in the state */
	size_t cut_trailing;	/* steps to the end of input not filled, longer than max_fill */
};

struct pa_fc_series_set *pa_fc_series_new(void);
void pa_fc_series_free(struct pa_fc_series_set *set);

/*
 * Add one bucket record (borrowed).  Returns 0, or -1 with a complete
 * message in err and a short fixed reason class in *reason_class, for
 * pa_reject.
 */
int pa_fc_series_add(struct pa_fc_series_set *set, const json_t *rec,
		     char *err, size_t errsize, const char **reason_class);

/*
 * Add to the series name, seeded from a state file, the part of its last
 * bucket at ts that an earlier run read: counts covering cover_from to
 * cover_to microseconds of the bucket.  Parts read later join it.
 * Returns 0, or -1 when the series is absent or memory runs out.
 */
int pa_fc_series_pending(struct pa_fc_series_set *set, const char *name, pa_usec_t ts,
			 double requests, double complexity_sum, pa_usec_t cover_from,
			 pa_usec_t cover_to);

/* Name the input and line of the next record for pa_fc_series_add()'s messages. */
void pa_fc_series_source(struct pa_fc_series_set *set, const char *input, size_t line);

/* The series named name, or NULL.  Owned by the set. */
struct pa_fc_series *pa_fc_series_find(struct pa_fc_series_set *set, const char *name);

/*
 * Return how many bucket records were partial (covered_s below step_s)
 * and read as unknown, with *first naming the series and start of the
 * first of them.
 */
size_t pa_fc_series_partial(const struct pa_fc_series_set *set, const char **first);

/*
 * Compare a bucket record with the kept bucket of s at ts.  Returns 1 when
 * requests and complexity are the same, 0 when they differ, -1 when no
 * bucket at ts is kept, and -2 when the record's values are invalid.
 */
int pa_fc_series_compare(const struct pa_fc_series *s, const json_t *rec, pa_usec_t ts);

/* Drop the buckets at ts read since the last forecast, so a new record replaces them. */
void pa_fc_series_drop_fresh(struct pa_fc_series *s, pa_usec_t ts);

/* Outcomes of pa_fc_series_replace_kept(). */
enum pa_fc_replace {
	PA_FC_REPLACE_NOT_KEPT,		/* no kept bucket at ts: the record read stays for later */
	PA_FC_REPLACED,			/* the kept bucket now has the record's counts */
	PA_FC_KEPT_OVER_PART,		/* the record covers only part of the bucket */
	PA_FC_KEPT_OVER_UNKNOWN		/* the record's requests are unknown (null) */
};

/*
 * Move the counts of the record read at ts into the kept bucket at ts, in
 * place, and drop the record, so a --follow run can correct an older
 * bucket without laying its series out again.  The new record wins as in
 * pa_fc_series_regular(): only a whole record with known requests
 * replaces a kept bucket, and a part or an unknown count leaves it as it
 * was.  Returns what happened; *requests and *complexity_sum receive the
 * counts the kept bucket has afterwards.
 */
enum pa_fc_replace pa_fc_series_replace_kept(struct pa_fc_series *s, pa_usec_t ts,
					     double *requests, double *complexity_sum);

/* The series sorted by name, for deterministic output.  Owned by the set. */
struct pa_fc_series **pa_fc_series_sorted(struct pa_fc_series_set *set, size_t *count);

/*
 * Judge each bucket that an input began or ended inside over all series,
 * as pa-score --merge does: the spans that the parts of every series
 * cover, and the whole records of that bucket, are joined.  When they
 * cover the bucket (pa_cover_holed(), pa_bucket_slack()), a series' parts
 * count as its whole bucket, though they cover less.  The input covered
 * the rest, and the series had no request there, as with two rollups of
 * a log cut inside the bucket.  Call it once the input has
 * been read, before pa_fc_series_align_end() and pa_fc_series_regular().
 * Without it, each series is judged by its own parts, as --follow does,
 * because there a bucket is forecast before every series has read it.
 */
void pa_fc_series_join_parts(struct pa_fc_series_set *set);

/*
 * Extend every series to the last bucket of any series with the same step,
 * so all forecasts start from the end of the input.  A service that went
 * quiet before the others then gets a forecast from now, not from its
 * last request.  A series with kept buckets only (in the state but absent
 * from the input) is neither extended nor extends others, so no bucket
 * the input did not give is added to its kept window.  Returns the number
 * of series extended.
 */
size_t pa_fc_series_align_end(struct pa_fc_series_set *set);

/*
 * Start series name from a kept window of n buckets from first (borrowed
 * arrays; NAN unknown).  Call before any input record of that series.
 * Returns 0, or -1 when memory runs out.
 */
int pa_fc_series_seed(struct pa_fc_series_set *set, const char *name, const char *tenant,
		      const char *service, pa_usec_t step, pa_usec_t first,
		      const double *requests, const double *complexity_sum, size_t n);

/*
 * Lay the buckets of series s up to and including limit (PA_FC_NO_LIMIT: all)
 * on its grid, into g.  A bucket absent from the input counts in
 * g->missing.  When it lies after the series' own last bucket (see
 * pa_fc_series_align_end) it also counts in g->trailing.  It reads as 0
 * requests, or as unknown when gaps_unknown is set.  Only the longest run
 * of records without a gap of more than max_fill missing buckets is laid
 * out, and the fill after the series' own last bucket is left out when it
 * would be longer than that.  g->cut_before, g->cut_after and
 * g->cut_trailing count what was left out.  Returns 0, or -1 when
 * the grid would pass PA_FC_MAX_BUCKETS or memory runs out.  An empty
 * series gives n = 0.
 */
int pa_fc_series_regular(struct pa_fc_series *s, int gaps_unknown, pa_usec_t limit,
			 size_t max_fill, struct pa_fc_grid *g);

void pa_fc_grid_free(struct pa_fc_grid *g);

/*
 * Replace the buckets of s up to limit by the kept buckets g[from..n), so
 * a long --follow run keeps a bounded window.  Buckets after limit stay.
 * Returns 0, or -1 when memory runs out (s is then unchanged).
 */
int pa_fc_series_keep(struct pa_fc_series *s, const struct pa_fc_grid *g, size_t from,
		      pa_usec_t limit);

#endif
