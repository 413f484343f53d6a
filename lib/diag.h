/*
 * diag.h - diagnostics, rejected records and the exit-code table.
 *
 * Every pa tool reports problems in one grammar:
 *
 *	pa-ingest: access.log:1234: invalid status code "abc"
 *
 * lower case, no trailing period, the offending value quoted.
 * pa_quote_json (ndjson.h) shows a value from a JSON record with its JSON
 * type, as in string "200" or number -1, so that a number sent as a string
 * is plain to see.  The first PA_DIAG_SHOWN rejects are printed; later ones
 * are only counted per reason and summarised by pa_diag_finish().  While
 * folding is on (pa_diag_fold_begin), a message printed once is not
 * printed again, and its repeats are summarised in one line.
 */
#ifndef PA_DIAG_H
#define PA_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes shared by every tool and printed in every man page. */
enum pa_exit {
	PA_EXIT_OK = 0,		/* success, rejects (if any) under --max-bad */
	PA_EXIT_DATA = 1,	/* rejected share above --max-bad, or unusable input */
	PA_EXIT_USAGE = 2,	/* usage or configuration error */
	PA_EXIT_IO = 3		/* I/O or system failure */
};

#define PA_DIAG_SHOWN 20	/* rejects printed before only counting */

extern const char *pa_prog;	/* program name for messages, set by pa_diag_init */

/*
 * Set the program name for messages, and open /dev/null read-only on any
 * of descriptors 0-2 that is closed.  Every tool calls it first, before
 * it opens any file.
 */
void pa_diag_init(const char *prog);

/* Print "prog: message" on stderr. */
void pa_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "prog: message" on stderr and exit with code. */
void pa_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * Open FILE for --rejects; pa_rejects_start() empties it.  Every rejected
 * line is written there as the reader returned it, without the CR of a
 * CRLF line end and cut at --max-line bytes, and ended by a newline.
 */
void pa_rejects_open(const char *path);

/*
 * Check the input operands against the --rejects file and empty it.  A
 * rejects file that is also an input, or the standard input, is a usage
 * error: emptying it would lose the lines the run is about to read.
 * Every tool calls this once its operands are known; a tool that rejects
 * or finishes before empties the file then.
 */
void pa_rejects_start(int nfiles, char *const *files);

/*
 * Reject one input line: print "prog: where:line: reason" (while under the
 * display cap), count it under reason_class, and copy the raw line to the
 * rejects file.  reason_class is a short fixed phrase such as "invalid
 * status code"; fmt is the full message with the value quoted.
 */
void pa_reject(const char *where, long lineno, const char *line, size_t len,
	       const char *reason_class, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/*
 * Copy a line that the tool skips without rejecting it to the rejects
 * file, so that --rejects keeps it too.  It is not counted as rejected.
 * Returns 1 when the line was copied, 0 without --rejects.
 */
int pa_rejects_keep(const char *line, size_t len);

/* pa_reject with the message's arguments as a va_list, for reject helpers of their own. */
void pa_vreject(const char *where, long lineno, const char *line, size_t len,
		const char *reason_class, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

/*
 * Count records as rejected under reason_class when no one input line is
 * at fault, as when two series clash only in the output they build.  The
 * caller prints the reason once for them all, and copies their lines with
 * pa_rejects_copy.
 */
void pa_reject_records(long records, const char *reason_class);

/*
 * Fold repeated reject messages of one input, such as the samples of a
 * query result that fail the same way.  From pa_diag_fold_begin on, a
 * reject whose message, apart from its line number, was already printed
 * for the same input name is counted instead of printed, and does not use
 * up the PA_DIAG_SHOWN messages printed.  It still goes to --rejects and
 * counts toward --max-bad.  pa_diag_fold_end (also called by
 * pa_diag_finish) prints one line per repeated message, with the count and
 * the lines of the repeats:
 *
 *	pa-ingest: answer.json:1: 29 more rejects with the same message: ...
 */
void pa_diag_fold_begin(void);
void pa_diag_fold_end(void);

/* Return whether --rejects named a file, so a caller knows to keep lines for it. */
int pa_rejects_enabled(void);

/* Copy a line counted by pa_reject_records to the rejects file, when one is open. */
void pa_rejects_copy(const char *line, size_t len);

/* Count one record read, for the rejected share. */
void pa_diag_count_read(void);

long pa_diag_read(void);
long pa_diag_rejected(void);

/*
 * Report a missing stage of the pipeline at the end of the input, given
 * the count of records of the kind the tool consumes.  When it is 0 but
 * records were read and not all were rejected, print that none of that
 * kind arrived and which tool makes them, as in "no bucket records in the
 * input; pa-score --rollup makes them".  Without it the records would
 * pass through without a word.
 */
void pa_warn_kind_missing(long consumed, const char *kind, const char *maker);

/*
 * Print the repeat summary and per-reason counts (when anything was
 * rejected), close the rejects file, and return PA_EXIT_DATA when the
 * rejected share of records read exceeds max_bad, PA_EXIT_OK otherwise.
 */
int pa_diag_finish(double max_bad);

/*
 * Allocation that cannot fail: on exhaustion the tool reports "out of
 * memory" and exits PA_EXIT_IO, because no pa tool can do useful work
 * without the memory it asked for.  A size of 0 allocates one byte, so the
 * result is never NULL.  The caller frees the result.
 */
void *pa_xmalloc(size_t size);
void *pa_xcalloc(size_t count, size_t size);
void *pa_xrealloc(void *p, size_t size);
char *pa_xstrdup(const char *s);

/* Quote a value for a message: printable ASCII kept, the rest escaped, cut at 60 bytes. */
const char *pa_quote(const char *s, size_t len);

#endif
