/*
 * rollup.h - bucket aggregation of scored requests, mergeable quantile
 * sketches, and the merge of partial rollups.
 *
 * Every aggregate a bucket keeps is exactly mergeable: counts and byte sums
 * are integers, the complexity sum is kept in integer millionths
 * (complexity is quantised to 1e-6 before it is added), and the complexity
 * quantiles come from a log-bucketed sketch whose bins add.  So a rollup of
 * shards merged with --merge is byte-identical to the rollup of the whole
 * input, whatever the order the parts arrive in.
 */
#ifndef PA_ROLLUP_H
#define PA_ROLLUP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "timeutil.h"

/*
 * Relative accuracy of the complexity sketch: a reported quantile is within
 * 1% of a value whose rank is the requested one.
 */
#define PA_SKETCH_ALPHA 0.01

/*
 * Log-bucketed sketch of positive values, after DDSketch.  A value x falls
 * in bin k = round(log(x) / log(gamma)) with gamma = (1 + alpha) /
 * (1 - alpha), and bin k reports gamma^k, so 1.0 is reported exactly and
 * any value within a factor sqrt(gamma) (about 1%).  Values at or below
 * PA_SKETCH_MIN count as zeros.  Bins are
 * kept sparse and sorted by key, so memory grows with the spread of the
 * values, not their number.
 */
struct pa_sketch {
	int32_t *keys;
	uint64_t *counts;
	size_t nbins, cap;
	uint64_t zeros;
};

#define PA_SKETCH_MIN 1e-9

void pa_sketch_add(struct pa_sketch *s, double x, uint64_t n);
void pa_sketch_add_bin(struct pa_sketch *s, int32_t key, uint64_t n);
void pa_sketch_merge(struct pa_sketch *into, const struct pa_sketch *from);
uint64_t pa_sketch_count(const struct pa_sketch *s);

/* The q-quantile (0 <= q <= 1): the ceil(q * n)-th smallest value; 0 when empty. */
double pa_sketch_quantile(const struct pa_sketch *s, double q);
void pa_sketch_free(struct pa_sketch *s);

/* A new {"alpha","zeros","keys","counts"} object. */
json_t *pa_sketch_to_json(const struct pa_sketch *s);

/*
 * Add a sketch written by pa_sketch_to_json into s.  Returns 0, or -1 with
 * a reason in err when obj is NULL (the field is missing), is malformed or
 * was made with another alpha.
 */
int pa_sketch_add_json(struct pa_sketch *s, const json_t *obj, char *err, size_t errsize);

/* One bucket of one series. */
struct pa_bucket {
	pa_usec_t start;
	uint64_t requests;
	uint64_t errors;		/* status 500-599 */
	int64_t complexity_micro;	/* sum of complexities in millionths */
	uint64_t bytes_in;		/* sum over requests whose bytes_in is known */
	uint64_t bytes_in_known;	/* requests whose bytes_in is known */
	uint64_t bytes_out;
	uint64_t bytes_out_known;
	struct pa_sketch sketch;
	pa_usec_t covered;		/* end of the span that merged bucket records
					 * covered, from the start; written: how much the
					 * input covered, 0 when all of it */
	pa_usec_t covered_from;		/* start of that span, from the start; written:
					 * where the input's coverage began, 0 at the start */
	int rejected;			/* a part of it was rejected, so it is unknown */
};

/* One request, with the fields the rollup uses. */
struct pa_rollup_request {
	pa_usec_t ts;
	const char *tenant_service_name;
	const char *tenant;		/* may be NULL: taken from tenant_service_name */
	const char *service;
	int status;			/* 0 when unknown */
	double complexity;
	int has_bytes_in, has_bytes_out;
	uint64_t bytes_in, bytes_out;
};

/*
 * Copy a request and its names into one allocation, so it can wait in a
 * queue after the line it came from is gone.  Release it with free().
 */
struct pa_rollup_request *pa_rollup_request_copy(const struct pa_rollup_request *req);

/*
 * Fill req from a request record whose fields were already checked; the
 * complexity is left 0.  The names are borrowed from rec.
 */
void pa_rollup_request_of_record(const json_t *rec, struct pa_rollup_request *req);

/*
 * Writes one finished bucket.  The rollup keeps this in one function so
 * another output format can replace it; ctx is passed through.
 */
typedef void (*pa_bucket_writer)(const char *tenant_service_name, const char *tenant,
				 const char *service, pa_usec_t step,
				 const struct pa_bucket *b, void *ctx);

/* The default writer: one "bucket" NDJSON record on stdout. */
void pa_bucket_write_ndjson(const char *tenant_service_name, const char *tenant,
			    const char *service, pa_usec_t step,
			    const struct pa_bucket *b, void *ctx);

/*
 * The same bucket record as NDJSON text, written straight to stdout without
 * building a JSON tree: byte-identical to pa_bucket_write_ndjson's output
 * without a record hook.  Use it only when no --output-format hook is set.
 */
void pa_bucket_write_text(const char *tenant_service_name, const char *tenant,
			  const char *service, pa_usec_t step, const struct pa_bucket *b,
			  void *ctx);

/*
 * Format the bucket record into buf (with its newline).  Returns the length,
 * or 0 when it does not fit or a name needs JSON escapes; the caller then
 * takes pa_bucket_to_json.
 */
size_t pa_bucket_format(char *buf, size_t size, const char *tenant_service_name,
			const char *tenant, const char *service, pa_usec_t step,
			const struct pa_bucket *b);

/* A new bucket record; the caller owns the reference. */
json_t *pa_bucket_to_json(const char *tenant_service_name, const char *tenant,
			  const char *service, pa_usec_t step, const struct pa_bucket *b);

struct pa_rollup;

/*
 * A rollup with buckets of width step.  lateness < 0 keeps every bucket
 * open until pa_rollup_finish (batch mode); otherwise a bucket is written
 * once the newest request seen, or the clock when that request is later,
 * is lateness past its end.
 */
struct pa_rollup *pa_rollup_new(pa_usec_t step, pa_usec_t lateness,
				pa_bucket_writer writer, void *ctx);

/* Default maximum run of empty buckets written as zeros; see pa_rollup_set_max_fill. */
#define PA_ROLLUP_MAX_FILL 100000

/*
 * Write at most max_fill zero buckets between two buckets of one series.
 * A longer gap, usually a stray timestamp far from the rest, is left
 * unfilled with a warning naming the series, so one bad clock cannot make
 * the output unbounded.
 */
void pa_rollup_set_max_fill(struct pa_rollup *r, long max_fill);

/* Default quiet time after which a series is dropped; see pa_rollup_set_retire. */
#define PA_ROLLUP_RETIRE (86400 * PA_USEC_PER_SEC)

/*
 * With a lateness, pad a quiet series with zero buckets for at most retire
 * after its last request, then drop it from memory (0: pad and keep every
 * series for ever).  Without a lateness nothing is written before the end
 * of input, and nothing is dropped.
 */
void pa_rollup_set_retire(struct pa_rollup *r, pa_usec_t retire);

/* Return how many series pa_rollup_set_retire's rule has dropped so far. */
size_t pa_rollup_retired(const struct pa_rollup *r);

/*
 * Add one request.  Returns 0, or -1 when its bucket was already written
 * (the request is later than --lateness allows); the caller rejects it.
 */
int pa_rollup_add(struct pa_rollup *r, const struct pa_rollup_request *req);

/*
 * Add a bucket record from a partial rollup (--merge).  Returns 0, or -1
 * with a reason in err (a missing or invalid field, another step, a bucket
 * already written).  When the rollup was made with a step, records of any
 * step that divides it are added into the bucket containing them, so
 * per-minute buckets merge exactly into hourly ones.  Otherwise every
 * record must have the step of the first.
 */
int pa_rollup_add_record(struct pa_rollup *r, const json_t *rec, char *err, size_t errsize);

/*
 * Mark the bucket of a record that pa_rollup_add_record() rejected, so
 * that the bucket is written as unknown (covered_s of 1 microsecond)
 * rather than as a quiet one.  Only a series with valid records, and a
 * record whose ts and step can still be read, mark one.
 * Returns 1 when a bucket was marked.
 */
int pa_rollup_reject_record(struct pa_rollup *r, const json_t *rec);

/* How many buckets were marked by pa_rollup_reject_record(). */
size_t pa_rollup_rejected_buckets(const struct pa_rollup *r);

/*
 * Count a merged input line that could not be read as a record.  Which
 * bucket it held is unknown, so from then on every bucket that no record
 * covers is written as unknown instead of as a quiet zero.
 */
void pa_rollup_note_unreadable(struct pa_rollup *r);

/* How many buckets pa_rollup_note_unreadable() turned from quiet to unknown. */
size_t pa_rollup_unknown_gaps(const struct pa_rollup *r);

/*
 * Write every bucket still open, in order, keeping the rollup, so that
 * counts of what writing found can be read before pa_rollup_finish().
 */
void pa_rollup_finish_writing(struct pa_rollup *r);

/* Write every bucket still open, in order, and free the rollup. */
void pa_rollup_finish(struct pa_rollup *r);

#endif
