/*
 * feeds.h - rows of JSON or CSV input, and the event, usage and series
 * records made from them.
 *
 * A row is one JSON object or one CSV record with its header.  Record
 * fields (targets such as ts, status or magnitude) are found in a row by
 * a list of common source names, matched without regard to case, unless
 * --field TARGET=SOURCE names the source.  In JSON a source may be a
 * dotted path into nested objects ("request.uri"); a key that itself
 * contains dots is found first.  In CSV, "A+B" joins columns A and B.
 */
#ifndef PA_FEEDS_H
#define PA_FEEDS_H

#include <jansson.h>
#include <stddef.h>

#include "csvin.h"
#include "jsonw.h"
#include "tenant.h"
#include "timeutil.h"

enum pa_target {
	PA_T_TS, PA_T_END, PA_T_CLIENT, PA_T_METHOD, PA_T_PATH, PA_T_STATUS,
	PA_T_BYTES_OUT, PA_T_BYTES_IN, PA_T_DURATION_MS, PA_T_DURATION_S,
	PA_T_DURATION_US, PA_T_DURATION_NS, PA_T_HOST, PA_T_REFERER,
	PA_T_USER_AGENT, PA_T_TENANT, PA_T_SERVICE, PA_T_TSN, PA_T_NAME,
	PA_T_EVENT_TYPE, PA_T_MAGNITUDE, PA_T_INSTANCE, PA_T_CPU, PA_T_MEMORY,
	PA_T_NETWORK, PA_T_REQUEST,
	PA_T_COUNT
};

/* The target's name as used in --field, such as "bytes_out". */
const char *pa_target_name(enum pa_target t);

/* --field overrides, one source per target (NULL: use the common names). */
struct pa_fieldmap {
	char *source[PA_T_COUNT];	/* owned */
};

/*
 * Parse "TARGET=SOURCE" into map.  Returns 0, or -1 with a message in err
 * that lists the valid targets.
 */
int pa_fieldmap_set(struct pa_fieldmap *map, const char *spec, char *err, size_t errsize);
void pa_fieldmap_free(struct pa_fieldmap *map);

/* Maximum JSON numbers a row looks up: one per target and one per tenant or service field: rule. */
#define PA_ROW_NUMBERS (PA_T_COUNT + 2 * PA_MAX_RULES)

/* One input row.  Exactly one of json and csv is set; both are borrowed. */
struct pa_row {
	const json_t *json;
	const struct pa_csvrec *csv;
	const int *columns;	/* CSV: column of each target or -1, from pa_row_columns */
	const int *columns2;	/* CSV: second column joined with a space ("date+time"), or -1 */
	char joinbuf[256];
	char *const *header;	/* CSV: header names */
	int nheader;
	const struct pa_fieldmap *map;
	const json_t *value;	/* JSON: the value pa_row_get last found, for messages */
	/*
	 * JSON: the text of each number looked up, one slot per JSON value, so
	 * the text of one field stays valid while others are looked up.
	 */
	struct pa_row_number {
		const json_t *value;
		char text[32];	/* an integer's digits, or the shortest text that reads back as the real */
	} number[PA_ROW_NUMBERS];
	int nnumbers;
};

/*
 * Resolve the CSV column of every target from the header.  A --field
 * source "A+B" joins two columns with a space, such as a date and a time
 * column, and columns2 then contains B.  Both arrays have PA_T_COUNT slots.
 */
void pa_row_columns(const struct pa_fieldmap *map, char *const *header, int nheader,
		    int *columns, int *columns2);

/*
 * The text of a target in the row, or NULL when absent, JSON null, empty
 * or (for CSV) an empty cell.  The text is not NUL-terminated in general.
 * When source_name is not NULL it receives the source name that matched.
 * For JSON, row->value is then the value found.
 */
const char *pa_row_get(struct pa_row *row, enum pa_target t, size_t *len,
		       const char **source_name);

/*
 * Return the name of the column or JSON key that target t reads in row
 * when it is there but empty (an empty or missing cell, JSON null or ""),
 * or NULL when it is absent or has a value.
 */
const char *pa_row_empty_source(const struct pa_row *row, enum pa_target t);

/* Look up any named field (for field: rules); same returns as pa_row_get. */
const char *pa_row_field(struct pa_row *row, const char *name, size_t *len);

/* pa_row_field as a pa_field_fn; ctx is the struct pa_row. */
const char *pa_row_field_cb(void *row, const char *name, size_t *len);

/*
 * Reject a CSV row whose cell count differs from the header's, as cut off
 * when it is a last line without a newline.  Returns 0 for a row of the
 * right size or a JSON row, and -1 after rejecting.
 */
int pa_row_check_cells(const struct pa_row *row, const char *where, long lineno, const char *raw,
		       size_t rawlen);

/* Options for events, usage and series records. */

struct pa_feed_opts {
	const char *event_name;		/* --event-name, else the name column, else the file stem */
	const char *event_type;		/* --event-type, else the type column, else the name */
	const char *stem;		/* file name without directory and extension */
	int stem_is_file;		/* stem names a file, not standard input */
	int instance_is_stem;		/* usage rows without instance column: instance_id is stem */
	pa_usec_t utc_offset;		/* --utc-offset for times written without one */
	int percent;			/* --percent: cpu and memory are 0-100 */
	pa_usec_t step;			/* --step for series; 0 = inferred from the first rows */
	const struct pa_tenancy *tenancy;
};

/*
 * Turn a row into one record written with w.  Each returns 0, or -1 after
 * rejecting the row (with its physical line and raw text).
 */
int pa_feed_event(struct pa_row *row, const struct pa_feed_opts *o, struct pa_jsonw *w,
		  const char *where, long lineno, const char *raw, size_t rawlen);
int pa_feed_usage(struct pa_row *row, const struct pa_feed_opts *o, struct pa_jsonw *w,
		  const char *where, long lineno, const char *raw, size_t rawlen);

/*
 * Series input: a timestamp plus one or more numeric columns of counts per
 * step.  Every value column is a series; its service is the column name.
 * With a single value column the service is the row's service instead
 * (a service column, or a --service rule such as field:request_type), or
 * else the file stem.  Columns named by field: rules are labels, not
 * series.
 *
 * Rows of several series may come in blocks or interleaved, so time checks
 * compare a row only with earlier rows of its own series (the row's tenant
 * and service).  Without --step, accepted rows wait in the state until a
 * series has PA_STEP_ROWS of them, or PA_STEP_HELD wait and some series
 * has rows at two times, or the input ends.  The step of the whole file
 * is then the smallest positive distance between two waiting rows of one
 * series, so rejected rows near the top can leave a gap but cannot widen
 * the step.  When no series has two times, the step is the distance from
 * the first row to the first later row.  An inferred step is then checked
 * on every row, and the first row off its series' grid gets one warning.
 * A row at the time of the row before in its series is written, whatever
 * the step, and the first such row gets one warning.
 */
#define PA_SERIES_MAX 64	/* value columns per row */
#define PA_STEP_ROWS 8		/* rows of one series that decide an inferred step */
#define PA_STEP_HELD 256	/* rows held at most while some series has two times */

/*
 * Kind of a CSV column in series input.  A column whose first non-empty
 * cell is not a number is text and never a series, so a label such as a
 * request type is skipped.  A number later in a text column is skipped
 * too, and text later in a numeric column is an invalid count.
 */
enum { PA_COLUMN_UNKNOWN, PA_COLUMN_NUMBER, PA_COLUMN_TEXT };

/* A series seen in one input, as TENANT/SERVICE. */
struct pa_series_entry {
	char name[2 * PA_NAME_MAX];
	pa_usec_t origin;	/* time of its first row, where its grid starts */
	pa_usec_t last_ts;	/* time of its latest row */
	long last_line;		/* line of its latest row */
	long rows;		/* rows accepted */
	int has_count;		/* some row had a count, not only empty cells */
	int column_known;	/* some row named it from a column known to hold counts */
	int empty_column;	/* else the CSV column whose empty cell named it */
};

/* Series in order of first appearance, with a hash index into them. */
struct pa_series_table {
	struct pa_series_entry *entry;
	size_t count, cap;
	size_t *index;		/* open addressing: entry number + 1, or 0 when free */
	size_t index_cap;	/* a power of two, more than twice count */
};

/* A row that waits until the step is known. */
struct pa_series_pending {
	pa_usec_t ts;
	int nvals;
	double val[PA_SERIES_MAX];
	char tenant[PA_NAME_MAX];
	char service[PA_SERIES_MAX][PA_NAME_MAX];
	char *raw;		/* the row's text, for --rejects; owned */
	size_t rawlen;
	long lineno;
	size_t group;		/* index of the row's own series in pa_series_state.groups */
};

struct pa_series_state {
	pa_usec_t step;		/* from --step, or inferred from the rows */
	struct pa_series_pending *pending;	/* rows read before the step was known, in input order */
	int npending, pending_cap;
	struct pa_series_table groups;	/* the row's own series, for the time checks */
	struct pa_series_table counts;	/* each written series, to name those without a count */
	unsigned char column_kind[PA_CSV_MAX_FIELDS];	/* PA_COLUMN_*, set by a column's first non-empty cell */
	long gaps;		/* rows whose value cells were all empty, so they wrote no bucket */
	int step_inferred;	/* step came from the rows, not --step */
	int two_times;		/* some series has rows at two different times */
	int grid_warned;	/* a row off the inferred grid has been reported */
	long repeats;		/* rows at the time of the row before in their series */
	int fraction_warned;	/* a fractional count has been reported */
	int any_number;		/* some count cell held a number */
	unsigned char empty_unknown[PA_CSV_MAX_FIELDS];	/* 1: a cell was empty before the column's kind was known */
	long single_line;	/* first row written as one series while another count column was empty, or 0 */
	char single_name[2 * PA_NAME_MAX];	/* the TENANT/SERVICE that row wrote */
	int split_warned;	/* a column whose first count split the naming has been reported */
};

int pa_feed_series(struct pa_row *row, const struct pa_feed_opts *o,
		   struct pa_series_state *st, struct pa_jsonw *w,
		   const char *where, long lineno, const char *raw, size_t rawlen);
/*
 * End one input.  Rows still waiting are written when they give the step,
 * or else rejected, because without --step their step is unknown.  Series whose rows all had empty counts are named in one
 * warning, because they write no bucket at all.  Returns the input's gap
 * rows, those written here included, and clears st.
 */
long pa_series_finish(struct pa_series_state *st, struct pa_jsonw *w, const char *where);

/* Parse a number (optional sign, fraction, exponent); 0 or -1. */
int pa_parse_number(const char *s, size_t len, double *out);

/* Parse a timestamp in any accepted form; a time without an offset gets utc_offset. */
int pa_parse_time_local(const char *s, size_t len, pa_usec_t utc_offset, pa_usec_t *out);

#endif
