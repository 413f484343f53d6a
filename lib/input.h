/*
 * input.h - line reader over plain or gzip files and stdin.
 *
 * gzip is detected by its magic bytes, not the file name, so a rotated
 * access.log.1 that happens to be compressed still reads.  Lines come back
 * without their "\n" or a trailing "\r", NUL-terminated, with the file name
 * and 1-based line number for diagnostics.  A UTF-8 byte order mark at the
 * start of the file is dropped silently; one at the start of a later line
 * (left by cat a b) is dropped with a warning.  UTF-16 input stops the
 * reader with one error instead of an error per line.
 */
#ifndef PA_INPUT_H
#define PA_INPUT_H

#include <signal.h>
#include <stddef.h>

#define PA_MAX_LINE_DEFAULT (1u << 20)	/* 1 MiB */

struct pa_reader;

enum pa_line_status {
	PA_LINE_OK,		/* a complete line */
	PA_LINE_TRUNCATED,	/* the last line of input had no newline */
	PA_LINE_TOO_LONG,	/* longer than the limit: the first bytes are returned */
	PA_LINE_EOF,
	PA_LINE_ERROR		/* read or decompression error, already reported */
};

struct pa_line {
	char *text;		/* NUL-terminated, owned by the reader, valid until the next call */
	size_t len;
	long lineno;
};

/*
 * Open path ("-" for stdin).  Returns NULL after reporting the error.
 * max_line bounds the memory one line may take.
 */
struct pa_reader *pa_reader_open(const char *path, size_t max_line);

/* The name used in diagnostics: the path, or "<stdin>". */
const char *pa_reader_name(const struct pa_reader *r);

enum pa_line_status pa_reader_next(struct pa_reader *r, struct pa_line *line);

/* Return 1 when line contains a control byte other than tab, CR or LF, as binary data does. */
int pa_line_is_binary(const struct pa_line *line);

/*
 * Return 1 after a read or decoding error was reported.  A PA_LINE_TRUNCATED
 * line returned then was cut by that error, not merely left without a
 * newline.
 */
int pa_reader_failed(const struct pa_reader *r);

/* Set when a UTF-16 byte order mark was found at the start of the input. */
int pa_reader_is_utf16(const struct pa_reader *r);

/*
 * Follow mode (tail -F): at end of input a final line without its newline
 * is held back, not returned as PA_LINE_TRUNCATED, because the writer may
 * not have finished it.  Turning follow mode off hands it over on the next
 * call.
 */
void pa_reader_set_follow(struct pa_reader *r, int on);

/*
 * End the input when *stop is set: before each read, and when a signal
 * interrupts the wait for a slow writer on a pipe or terminal.  That wait
 * is in poll(2), which Linux never restarts after a signal handler
 * (signal(7)), so the handler that sets *stop may use SA_RESTART.
 */
void pa_reader_set_stop(struct pa_reader *r, volatile sig_atomic_t *stop);

/* After PA_LINE_EOF, read again: data appended since then is returned. */
void pa_reader_resume(struct pa_reader *r);

void pa_reader_close(struct pa_reader *r);

/*
 * Input names kept for messages after their reader is gone, since the name
 * a reader passes lives only as long as it does.
 */
struct pa_input_names {
	char **v;
	size_t n;
};

/*
 * Return a copy of name that lives until pa_input_names_free().  Inputs
 * are read one after another, so a name equal to the last kept one reuses
 * it.
 */
const char *pa_input_names_keep(struct pa_input_names *names, const char *name);

void pa_input_names_free(struct pa_input_names *names);

#endif
