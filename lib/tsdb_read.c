/* Reading whole inputs of query-result documents; see pa_tsdb_read_files in tsdb.h. */
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "influx.h"
#include "input.h"
#include "ndjson.h"
#include "prom.h"
#include "stop.h"
#include "tsdb.h"

/* One input read whole, with where each line starts for messages. */
struct text {
	char *buf;
	size_t len, cap;
	size_t *line_start;
	size_t nlines, lines_cap;
};

static void
append(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		while (t->len + n + 1 > t->cap)
			t->cap = t->cap ? t->cap * 2 : 65536;
		t->buf = realloc(t->buf, t->cap);
		if (t->buf == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

/*
 * Read path whole.  Returns 0; PA_EXIT_IO after the reader reported the
 * failure; PA_EXIT_DATA for UTF-16 input; or -1 after rejecting a line
 * over max_line, which ends the input because a document cut in the
 * middle cannot be parsed.
 */
static int
slurp(const char *path, size_t max_line, struct text *t, const char **name)
{
	struct pa_reader *r = pa_reader_open(path, max_line);
	struct pa_line line;
	enum pa_line_status st;
	int rc = 0;

	if (r == NULL)
		return PA_EXIT_IO;
	*name = pa_reader_name(r);
	while ((st = pa_reader_next(r, &line)) != PA_LINE_EOF) {
		if (st == PA_LINE_ERROR) {
			rc = PA_EXIT_IO;
			break;
		}
		if (st == PA_LINE_TOO_LONG) {
			pa_diag_count_read();
			pa_reject(*name, line.lineno, line.text, line.len, "line too long",
				  "line %ld is longer than %zu bytes, so the document cannot be read: "
				  "raise --max-line", line.lineno, max_line);
			rc = -1;
			break;
		}
		if (t->nlines == t->lines_cap) {
			t->lines_cap = t->lines_cap ? t->lines_cap * 2 : 1024;
			t->line_start = realloc(t->line_start, t->lines_cap * sizeof *t->line_start);
			if (t->line_start == NULL)
				pa_die(PA_EXIT_IO, "out of memory");
		}
		t->line_start[t->nlines++] = t->len;
		append(t, line.text, line.len);
		append(t, "\n", 1);
	}
	if (pa_reader_is_utf16(r))
		rc = PA_EXIT_DATA;
	*name = strdup(*name);
	pa_reader_close(r);
	return rc;
}

static long
line_of(const struct text *t, size_t off)
{
	size_t lo = 0, hi = t->nlines;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (t->line_start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return (long)lo + 1;
}

static size_t
skip_space(const struct text *t, size_t off)
{
	while (off < t->len && strchr(" \t\r\n", t->buf[off]) != NULL)
		off++;
	return off;
}

/*
 * Return the end of the last line of t that is not blank: the offset of
 * the newline that slurp adds to every line.
 */
static size_t
last_line_end(const struct text *t)
{
	size_t end = t->len;

	while (end > 0 && strchr(" \t\r\n", t->buf[end - 1]) != NULL)
		end--;
	while (end < t->len && t->buf[end] != '\n')
		end++;
	return end;
}

void
pa_tsdb_reject_invalid_json(const char *where, long lineno, const char *doc, size_t len,
			    const json_error_t *jerr)
{
	long line = lineno + (jerr->line > 1 ? jerr->line - 1 : 0);

	pa_diag_count_read();
	if (jerr->position >= 0 && (size_t)jerr->position >= len)
		pa_reject(where, line, doc, len, "record cut off at end of input",
			  "record cut off at end of input: invalid JSON at column %d: %s",
			  jerr->column, jerr->text);
	else
		pa_reject(where, line, doc, len, "invalid JSON", "invalid JSON at column %d: %s",
			  jerr->column, jerr->text);
}

/*
 * Split t into consecutive JSON documents (jq -c output, or curl responses
 * appended by a loop) and read each.  Invalid JSON ends the input, since
 * no later document boundary can be trusted.
 */
static long
read_documents(enum pa_tsdb_input fmt, const char *name, const struct text *t,
	       const struct pa_tsdb_map *map, pa_tsdb_emit_fn emit, void *ctx)
{
	long records = 0, n;
	struct pa_tsdb_acc *pending = NULL;	/* samples of an unfinished chunked response */

	size_t off = skip_space(t, 0);

	while (off < t->len) {
		json_error_t jerr;
		json_t *v = json_loadb(t->buf + off, t->len - off, JSON_DISABLE_EOF_CHECK, &jerr);
		size_t end = v ? (size_t)jerr.position : last_line_end(t) - off;
		long lineno = line_of(t, off);

		/*
		 * Invalid JSON is parsed again by the reader, which reports it.
		 * It runs to the end of the input but for trailing blank lines,
		 * so --rejects gets each of its lines once, and an error at its
		 * end is reported on its last line.
		 */
		if (v == NULL && fmt == PA_TSDB_IN_PROMETHEUS)
			n = pa_prom_read(name, lineno, t->buf + off, end, map, emit, ctx);
		else if (v == NULL)
			n = pa_influx_read(name, lineno, t->buf + off, end, map, emit, ctx);
		else if (fmt == PA_TSDB_IN_PROMETHEUS)
			n = pa_prom_read_json(name, lineno, v, t->buf + off, end, map, emit, ctx);
		else
			n = pa_influx_read_json(name, lineno, v, t->buf + off, end, map, &pending, emit,
						ctx);
		json_decref(v);
		if (n > 0)
			records += n;
		off = skip_space(t, off + end);
	}
	/* A chunked response cut off before its last chunk still gives what it read. */
	if (pending != NULL) {
		pa_warn("%s: the last document is a partial chunk (\"partial\": true), so the "
			"chunked response may be cut off", name);
		records += pa_tsdb_acc_finish(pending, emit, ctx);
	}
	return records;
}

static long
read_csv_document(const char *name, const struct text *t, size_t off,
		  const struct pa_tsdb_map *map, pa_tsdb_emit_fn emit, void *ctx)
{
	long n = pa_influx_read(name, line_of(t, off), t->buf + off, last_line_end(t) - off, map,
				emit, ctx);

	return n > 0 ? n : 0;
}

int
pa_tsdb_read_files(enum pa_tsdb_input fmt, int nfiles, char **files, size_t max_line,
		   const struct pa_tsdb_map *map, pa_tsdb_emit_fn emit, void *ctx,
		   long *records)
{
	static char *stdin_only[] = { "-" };
	int rc = PA_EXIT_OK;

	if (nfiles == 0) {
		nfiles = 1;
		files = stdin_only;
	}
	/*
	 * A query_range response often comes as one line of many megabytes, so
	 * the default line limit, sized for log lines, is raised for documents.
	 */
	if (max_line == PA_MAX_LINE_DEFAULT)
		max_line = PA_TSDB_MAX_LINE_DEFAULT;
	for (int i = 0; i < nfiles && !pa_stop_requested; i++) {
		struct text t = { 0 };
		const char *name = NULL;
		int r;
		size_t off;

		/*
		 * The samples or rows of one response often fail alike, all on
		 * its one line, so each message is printed once per input.
		 */
		pa_diag_fold_begin();

		/*
		 * A document is read whole before any of its records is written,
		 * so while it is read every earlier record is out, and a stop
		 * signal may end the run at once.  One that comes while a
		 * document is read into records ends the input after it.
		 */
		pa_out_flush();
		pa_stop_idle = 1;
		r = slurp(files[i], max_line, &t, &name);
		pa_stop_idle = 0;

		if (r == PA_EXIT_IO)
			rc = PA_EXIT_IO;
		if (r == 0 && t.len > 0) {
			off = skip_space(&t, 0);
			if (off == t.len)
				pa_warn("%s: input is empty", name);
			else if (fmt == PA_TSDB_IN_INFLUXDB && t.buf[off] != '{')
				*records += read_csv_document(name, &t, off, map, emit, ctx);
			else
				*records += read_documents(fmt, name, &t, map, emit, ctx);
		} else if (r == 0) {
			pa_warn("%s: input is empty", name);
		} else if (r == PA_EXIT_DATA && rc != PA_EXIT_IO) {
			rc = PA_EXIT_DATA;
		}
		pa_diag_fold_end();
		free((char *)name);
		free(t.buf);
		free(t.line_start);
	}
	return rc;
}
