/*
 * csvin.h - CSV and TSV records from physical lines, over libcsv.
 *
 * Lines from the line reader are pushed in one at a time.  A quoted field
 * may span several lines, so a record is handed over only when it is
 * complete.  It comes with the physical line where it started, for
 * diagnostics, and the raw text of all its lines, for --rejects.  The
 * reader has already removed the CR of a CRLF line end.
 */
#ifndef PA_CSVIN_H
#define PA_CSVIN_H

#include <csv.h>
#include <stddef.h>

#include "input.h"

#define PA_CSV_MAX_FIELDS 256

/* Ending of the last line of a record. */
enum pa_csv_cut {
	PA_CSV_WHOLE,		/* with a newline */
	PA_CSV_NO_NEWLINE,	/* at the end of input, without a newline */
	PA_CSV_INPUT_FAILED	/* where a read or decoding error cut the input */
};

/* One record; every pointer is valid only during the callback. */
struct pa_csvrec {
	int nfields;
	const char *field[PA_CSV_MAX_FIELDS];	/* NUL-terminated */
	size_t len[PA_CSV_MAX_FIELDS];
	int too_many;		/* fields beyond PA_CSV_MAX_FIELDS were dropped */
	const char *where;	/* input name */
	long lineno;		/* physical line where the record starts */
	const char *raw;	/* the record's lines joined with "\n" */
	size_t rawlen;
	enum pa_csv_cut cut;	/* how its last line ended */
};

typedef void (*pa_csv_record_fn)(void *ctx, const struct pa_csvrec *rec);

struct pa_csvin {
	struct csv_parser parser;
	pa_csv_record_fn fn;
	void *ctx;
	size_t max_record;	/* longest record in bytes */

	char *buf;		/* field bytes of the current record */
	size_t buflen, bufcap;
	size_t off[PA_CSV_MAX_FIELDS];
	struct pa_csvrec rec;

	char *raw;		/* lines of the current record */
	size_t rawlen, rawcap;
	int in_record;
	enum pa_csv_cut cut;	/* how the last line pushed ended */
	long start_line;
	const char *where;
};

/*
 * Start a parser.  delim is ',' ';' or '\t'; with quoting off (TSV) a
 * double quote is an ordinary character.
 */
void pa_csvin_init(struct pa_csvin *c, unsigned char delim, int quoting, size_t max_record,
		   pa_csv_record_fn fn, void *ctx);

/*
 * Push one physical line.  cut is its ending, and the record that the line
 * completes is marked with it.
 */
void pa_csvin_line(struct pa_csvin *c, const char *where, const struct pa_line *line,
		   enum pa_csv_cut cut);

/*
 * End of input: a record still open is handed over when it is complete, or
 * rejected as cut off at end of input when a quoted field never closed.
 */
void pa_csvin_finish(struct pa_csvin *c);

void pa_csvin_free(struct pa_csvin *c);

#endif
