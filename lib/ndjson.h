/*
 * ndjson.h - NDJSON records in and out, and checked stdout.
 *
 * Output goes through one buffered stdout.  A closed pipe (| head) ends the
 * tool quietly with status 0; any other write failure, a full disk
 * included, exits PA_EXIT_IO.  Records are written compactly, keys in
 * insertion order, reals with 12 significant digits, so the same input
 * gives byte-identical output.
 */
#ifndef PA_NDJSON_H
#define PA_NDJSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "input.h"
#include "timeutil.h"

/* Ignore SIGPIPE and give stdout a large buffer.  Call once at start. */
void pa_out_init(void);

/* Write rec as one line.  Borrows rec. */
void pa_out_json(const json_t *rec);

/*
 * Send every record given to pa_out_json to fn instead, for output formats
 * other than NDJSON (tsdb.h); fn writes with pa_out_write.  NULL restores
 * NDJSON.
 */
typedef void (*pa_out_record_fn)(const json_t *rec, void *ctx);
void pa_out_set_record_hook(pa_out_record_fn fn, void *ctx);

/* Write raw bytes to stdout (for text outputs such as shell scripts). */
void pa_out_write(const char *s, size_t len);
void pa_out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Flush stdout now, for a tool that waits for more input (follow mode) so
 * readers see records promptly.  A closed pipe ends the tool quietly, any
 * other failure exits PA_EXIT_IO.
 */
void pa_out_flush(void);

/* Flush stdout; returns 1 when all output so far is written, 0 after a failure. */
int pa_out_written(void);

/* Flush and close stdout; returns PA_EXIT_IO on failure, PA_EXIT_OK otherwise. */
int pa_out_finish(void);

/* Flags every pa tool dumps JSON with. */
#define PA_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

/*
 * Limits every tool keeps on record values, so that sums, squares and
 * interval bounds stay finite: the requests of one bucket, its complexity
 * sum, and cpu or memory use as a fraction of the limit (a larger figure
 * is an exporter fault, not load).
 */
#define PA_REQUESTS_MAX 1e15
#define PA_COMPLEXITY_SUM_MAX 1e18
#define PA_USAGE_FRACTION_MAX 10.0

/*
 * Parse one line as a JSON object.  Returns a new reference, or NULL with a
 * message in err (at least 160 bytes) such as "invalid JSON at column 7:
 * unexpected token".
 */
json_t *pa_json_parse_object(const char *text, size_t len, char *err, size_t errsize);

/*
 * Return the line of the parse error jerr in the JSON file f.  For an
 * error at the end of the text, jansson has counted the newline that ends
 * the last line and names the line after it, so this returns the last
 * line that is not blank, where a cut-off file ends.  Other errors keep
 * jansson's line, and so does an f that cannot seek, such as a pipe.
 */
int pa_json_file_error_line(FILE *f, const json_error_t *jerr);

/* The record's "kind", or NULL when absent or not a string. */
const char *pa_rec_kind(const json_t *rec);

/*
 * The record's "kind", or NULL after rejecting the line read from where:
 * every record has a kind, so one without is malformed.
 */
const char *pa_rec_kind_or_reject(const json_t *rec, const char *where, const struct pa_line *line);

/* Return 1 when kind is one that a pa tool writes, such as "bucket" or "plan". */
int pa_kind_known(const char *kind);

/*
 * Warn that the record at where:lineno has a kind (NULL: none) that the
 * tool does not take.  takes lists the kinds it takes, and fate says what
 * becomes of the record, such as "it is skipped".  For a tool whose output
 * carries no records, where a misspelt kind would otherwise go unseen.
 */
void pa_warn_unknown_kind(const char *where, long lineno, const char *kind, const char *takes,
			  const char *fate);

/* A string field, or NULL when absent or not a string. */
const char *pa_rec_str(const json_t *rec, const char *key);

/*
 * A numeric field.  Returns 1 and stores it when present and a finite
 * number, 0 when absent or null, -1 when present but not a number.
 */
int pa_rec_num(const json_t *rec, const char *key, double *out);

/*
 * Read a usage record's cpu_usage, as pa-plan and pa-route both read it.
 * Returns 1 with a fraction of the instance's CPU limit, from 0 to
 * PA_USAGE_FRACTION_MAX, in *cpu.  Returns 0 when the field is absent or
 * null, a missing reading.  Any other value is an exporter fault, not
 * load, and gets -1 with the reason and the value in why.
 */
int pa_rec_cpu_usage(const json_t *rec, double *cpu, char *why, size_t whysize);

/* A timestamp field (string in any accepted form, or epoch number).  Same returns as pa_rec_num. */
int pa_rec_time(const json_t *rec, const char *key, pa_usec_t *out);

/*
 * Read which part of a bucket of step_s seconds its input covered, in
 * seconds: from covered_from_s (default 0) for covered_s (default the rest
 * of the bucket).  pa-score writes them for a bucket that its input began
 * or ended inside.  Returns 1 when the bucket is partial, 0 when whole, and
 * -1 with the invalid field in *field and the expected value in *expected.
 */
int pa_rec_coverage(const json_t *rec, double step_s, double *from, double *covered,
		    const char **field, const char **expected);

/*
 * Return how much of a bucket of step microseconds may go uncovered at
 * either end with the bucket still whole: 1% of the step, at least 1 s,
 * because requests rarely fall on a bucket's first or last microsecond.
 */
pa_usec_t pa_bucket_slack(pa_usec_t step);

/*
 * The spans that the parts of one bucket cover, in microseconds from its
 * start, joined where they meet or overlap.  A stretch between two spans
 * may be quiet time: no request fell between the last request of one
 * input and the first of the next.  Or no input covered it, as when a
 * piece of a log is missing, and the bucket's counts lack its requests.
 */
#define PA_COVER_SPANS 8

struct pa_cover {
	int n;			/* disjoint spans, ordered by start */
	pa_usec_t from[PA_COVER_SPANS], to[PA_COVER_SPANS];
};

/*
 * Add the span [from, to) of one part.  With no room for another span,
 * the two closest are joined, which reads the narrowest stretch as quiet.
 */
void pa_cover_add(struct pa_cover *c, pa_usec_t from, pa_usec_t to);

/*
 * Return 1 when a stretch between the spans is too long to be quiet time
 * for a bucket of step microseconds with requests in its spans
 * (pa_stretch_missing()).  Its bounds go to *from and *to.  Otherwise
 * return 0 with the span from the first start to the last end in *from and
 * *to.
 */
int pa_cover_holed(const struct pa_cover *c, double requests, pa_usec_t step, pa_usec_t *from,
		   pa_usec_t *to);

/*
 * Return 1 when a stretch of length microseconds with no request is too
 * long to be quiet time at rate requests per microsecond.  Requests
 * arriving at random at that rate leave so long a stretch empty less than
 * once in a thousand, and it is longer than pa_bucket_slack(step).
 */
int pa_stretch_missing(pa_usec_t length, double rate, pa_usec_t step);

/*
 * Describe a JSON value for a message by its type and value, so that a
 * message shows when a number was sent as a string: string "200", number
 * 200, boolean true, null, object {"a":1}, array [1,2], or "(missing)" for
 * NULL.
 * Strings and JSON text are cut at 60 bytes as pa_quote cuts them.  The
 * result is a static buffer per thread, so use it before the fourth next
 * call.
 */
const char *pa_quote_json(const json_t *v);

/*
 * Return the record's tenant_service_name when it is TENANT/SERVICE: a
 * string with one "/" and text on both sides.  Otherwise return NULL with
 * a reject message naming the field and its value in why.
 */
const char *pa_rec_series(const json_t *rec, char *why, size_t whysize);

/*
 * The bucket width that pa-plan and pa-backtest accept in step_s: a whole
 * number of seconds up to 366 days, which stays far from overflow when
 * counted in microseconds.
 * NOTE: pa-forecast, pa-route and pa-score --merge still read a width that
 * is not whole, and pa-ingest --step can write one.
 */
#define PA_STEP_S_MAX 31622400.0
#define PA_STEP_S_RULE "a whole number of seconds from 1 to 31622400"

/*
 * Read step_s under PA_STEP_S_RULE.  Same returns as pa_rec_num, with -1
 * also for a number that breaks the rule.
 */
int pa_rec_step_s(const json_t *rec, double *out);

/*
 * Describe field key of rec for a reject message: 'field "ts" is missing'
 * when it is absent, else 'field "ts" is not EXPECTED: VALUE' with the
 * value, null included, as pa_quote_json shows it.  Returns buf.
 */
const char *pa_field_problem(const json_t *rec, const char *key, const char *expected,
			     char *buf, size_t size);

/* Set key to an RFC 3339 UTC string. */
void pa_rec_set_time(json_t *rec, const char *key, pa_usec_t t);

/*
 * Set key to a number: an integer when v is whole and small enough to be
 * exact, a real otherwise.  NaN and infinities are not valid JSON and are
 * written as null.
 */
void pa_rec_set_num(json_t *rec, const char *key, double v);

/*
 * Callback for pa_input_each: one line of one input.  status is PA_LINE_OK,
 * PA_LINE_TRUNCATED (last line without newline, still to be parsed) or
 * PA_LINE_TOO_LONG (to be rejected).
 */
typedef void (*pa_line_fn)(const char *name, struct pa_line *line,
			   enum pa_line_status status, void *ctx);

/*
 * Read every operand in order ("-" or no operands: stdin) and call fn for
 * each line.  Returns PA_EXIT_IO when an input could not be opened or read
 * (the others are still read), PA_EXIT_DATA for UTF-16 input, PA_EXIT_OK
 * otherwise.  After pa_stop_catch (stop.h), a stop signal ends the input
 * before the next line.
 */
int pa_input_each(int nfiles, char **files, size_t max_line, pa_line_fn fn, void *ctx);

/*
 * pa_input_each that ends early once *stop is set: by fn, or by a signal
 * handler installed without SA_RESTART (see pa_reader_set_stop).
 */
int pa_input_each_until(int nfiles, char **files, size_t max_line, pa_line_fn fn, void *ctx,
			volatile sig_atomic_t *stop);

/*
 * Standard handling of a line for JSON-reading tools.  A blank line returns
 * NULL silently.  Any other line counts as read; an over-long or invalid
 * one is rejected with its reason (noting a cut-off last line) and NULL is
 * returned, otherwise the parsed object.
 */
json_t *pa_line_to_object(const char *name, struct pa_line *line,
			  enum pa_line_status status);

/*
 * Return 1 when the file at path looks like record input rather than a
 * JSON object document such as a state file, with the reason in why.
 * Input is gzip-compressed, or its text does not begin with "{", or its
 * first line is an object with a "kind" string, or its first line is a
 * JSON object of its own with more text after it.  An empty file does not
 * look like input.
 * Only the first PA_MAX_LINE_DEFAULT bytes are read.  Returns 0 otherwise,
 * also when the file cannot be read, which the caller reports on opening it.
 */
int pa_file_looks_like_records(const char *path, char *why, size_t whysize);

#endif
