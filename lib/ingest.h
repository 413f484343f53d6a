/*
 * ingest.h - pa-ingest's reading loop: format detection and dispatch.
 *
 * Each input file is read on its own.  With no --format, the first
 * non-blank lines decide the format of that file: a JSON object, one of
 * the access-log presets, or a CSV/TSV header.  Request records come from
 * access logs, JSON logs and CSV logs; events, usage and series come from
 * JSON or CSV feeds (--type).
 *
 * Records that already carry a "kind" (output of an earlier pa tool) pass
 * through unchanged, so `cat access.log events.ndjson | pa-ingest` works.
 */
#ifndef PA_INGEST_H
#define PA_INGEST_H

#include <signal.h>
#include <stddef.h>

#include "accesslog.h"
#include "csvin.h"
#include "feeds.h"
#include "jsonw.h"
#include "tenant.h"

enum pa_ingest_type { PA_TYPE_REQUESTS, PA_TYPE_EVENTS, PA_TYPE_USAGE, PA_TYPE_SERIES };

enum pa_ingest_format {
	PA_FMT_AUTO,
	PA_FMT_LOG,		/* access log: a preset or a template in .log */
	PA_FMT_JSON,		/* one JSON object per line */
	PA_FMT_CSV,		/* CSV with a header line; .delim may be ',' or ';' */
	PA_FMT_TSV
	/* Readers for TSDB exports (Prometheus query_range, InfluxDB) belong here. */
};

/* Extra request fields written only on request (--add). */
enum {
	PA_ADD_HOST = 1,
	PA_ADD_REFERER = 2,
	PA_ADD_USER_AGENT = 4,
	PA_ADD_QUERY = 8
};

#define PA_DETECT_LINES 10	/* non-blank lines read before the format of a file is chosen */
#define PA_DETECT_HELD 64	/* and at most this many lines in all */

struct pa_ingest {
	/* Settings, filled by the caller before pa_ingest_file. */
	enum pa_ingest_type type;
	enum pa_ingest_format format;
	struct pa_logformat log;	/* for PA_FMT_LOG */
	struct pa_logformat wider;	/* combined, when log is a detected common */
	int log_given;			/* --format named a preset or template */
	unsigned char delim;		/* CSV delimiter, 0 = ',' or detected */
	int delim_given;		/* --delimiter: use delim for every CSV input, detected or not */
	struct pa_tenancy tenancy;
	struct pa_fieldmap fields;
	unsigned add;			/* PA_ADD_* */
	struct pa_feed_opts feed;
	size_t max_line;
	int threads;			/* parser threads for access logs; 1 parses in the reading thread */

	long passed;			/* records passed through unchanged */
	long cut_fields;		/* log lines written without a cut-off quoted field */
	char cut_first[300];		/* "FILE:LINE" of the first of them */
	long gaps;			/* series rows that wrote nothing because every value cell was empty */
	long bare_rows;			/* rows read as requests with a time and nothing else */
	char bare_first[300];		/* "FILE:LINE" of the first of them */

	/* Working state. */
	struct pa_jsonw w;
	char *scratch;
	size_t scratch_cap;
	enum pa_ingest_format cur;	/* format of the current file */
	struct pa_csvin csv;
	int csv_open;
	char **header;			/* current CSV header, owned */
	int nheader;
	int columns[PA_T_COUNT], columns2[PA_T_COUNT];
	int bad_header;			/* the CSV header lacks a required column: skip the file */
	int json_log_preset;		/* in a detected JSON file, .log reads its access-log lines */
	long repeated_headers;		/* lines of the current file that repeat its CSV header */
	long repeated_first;		/* line of the first of them */
	struct pa_series_state series;
	const char *where;
	struct pa_reader *reader;	/* the input being read, whose name is where */
	int streaming;			/* the current input is not a regular file (pipe, FIFO, tty) */
	int stream_fd;			/* descriptor to poll for pending data, or -1 when unknown */

	/*
	 * Stop handshake with a signal handler, both optional and owned by the
	 * caller.  *stop tells the readers to finish after the current line.
	 * *drained is 1 while a reader waits for input with every record
	 * written, so the handler may end the process at once.
	 */
	volatile sig_atomic_t *stop;
	volatile sig_atomic_t *drained;
};

void pa_ingest_init(struct pa_ingest *in);
void pa_ingest_free(struct pa_ingest *in);

/*
 * Return 1 when path ("-" is stdin) is a regular file, 0 for a pipe, FIFO,
 * terminal or socket, or a path that cannot be checked.
 */
int pa_ingest_is_regular(const char *path);

/*
 * Read one input ("-" is stdin).  Returns a PA_EXIT_* code for that input.
 * Input that is not a regular file is streamed: whenever no more data is
 * waiting, the records of the lines read so far are written and stdout is
 * flushed, in the serial and the threaded reader alike.
 */
int pa_ingest_file(struct pa_ingest *in, const char *path);

#define PA_THREADS_MAX 16
#define PA_FOLLOW_POLL_MS 200	/* how often a followed file is checked for more data */

/*
 * Follow one growing file like tail -F: read it from the start, then poll
 * for appended lines, flushing output after each batch.  When the path is
 * rotated (another file appears there) or truncated, the rest of the old
 * file is read and the new file is read from its start.  A last line
 * without its newline waits for more data.  Returns when *stop is set
 * (by a signal handler), after reading what is there.
 */
int pa_ingest_follow(struct pa_ingest *in, const char *path, volatile sig_atomic_t *stop);

/* Print the summary line on stderr. */
/* Report on stderr what was read with a loss, such as cut-off quoted fields. */
void pa_ingest_notes(const struct pa_ingest *in);
void pa_ingest_summary(const struct pa_ingest *in);

#endif
