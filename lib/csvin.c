#include "csvin.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"

static void
grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 1024;
	*buf = realloc(*buf, *cap);
	if (*buf == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
}

static int
space_only(unsigned char c)
{
	return c == ' ';
}

/*
 * libcsv ends a record at CR as well as LF by default, which splits a row
 * at a bare CR inside a cell.  The line reader has already dropped the CR
 * of each CRLF, so only LF ends a record and a bare CR stays in its cell.
 */
static int
newline_only(unsigned char c)
{
	return c == '\n';
}

void
pa_csvin_init(struct pa_csvin *c, unsigned char delim, int quoting, size_t max_record,
	      pa_csv_record_fn fn, void *ctx)
{
	memset(c, 0, sizeof *c);
	if (csv_init(&c->parser, CSV_APPEND_NULL) != 0)
		pa_die(PA_EXIT_IO, "out of memory");
	csv_set_delim(&c->parser, delim);
	/* A NUL never reaches the parser, so it disables quoting. */
	csv_set_quote(&c->parser, quoting ? CSV_QUOTE : 0);
	/* Tabs are data in TSV; only spaces around values are trimmed. */
	if (delim == '\t')
		csv_set_space_func(&c->parser, space_only);
	csv_set_term_func(&c->parser, newline_only);
	c->fn = fn;
	c->ctx = ctx;
	c->max_record = max_record;
}

void
pa_csvin_free(struct pa_csvin *c)
{
	csv_free(&c->parser);
	free(c->buf);
	free(c->raw);
	c->buf = c->raw = NULL;
}

static void
on_field(void *data, size_t len, void *ctx)
{
	struct pa_csvin *c = ctx;
	int n = c->rec.nfields;

	if (n == PA_CSV_MAX_FIELDS) {
		c->rec.too_many = 1;
		return;
	}
	grow(&c->buf, &c->bufcap, c->buflen + len + 1);
	if (len > 0)
		memcpy(c->buf + c->buflen, data, len);
	c->buf[c->buflen + len] = '\0';
	c->off[n] = c->buflen;
	c->rec.len[n] = len;
	c->buflen += len + 1;
	c->rec.nfields = n + 1;
}

static void
reset(struct pa_csvin *c)
{
	c->rec.nfields = 0;
	c->rec.too_many = 0;
	c->buflen = 0;
	c->rawlen = 0;
	c->in_record = 0;
}

static void
on_record(int term, void *ctx)
{
	struct pa_csvin *c = ctx;

	(void)term;
	for (int i = 0; i < c->rec.nfields; i++)
		c->rec.field[i] = c->buf + c->off[i];
	c->rec.where = c->where;
	c->rec.lineno = c->start_line;
	c->rec.raw = c->raw;
	c->rec.rawlen = c->rawlen;
	c->rec.cut = c->cut;
	c->fn(c->ctx, &c->rec);
	reset(c);
}

/* Start the parser afresh after a record was dropped mid-way. */
static void
restart(struct pa_csvin *c, unsigned char delim, unsigned char quote)
{
	if (csv_init(&c->parser, CSV_APPEND_NULL) != 0)
		pa_die(PA_EXIT_IO, "out of memory");
	csv_set_delim(&c->parser, delim);
	csv_set_quote(&c->parser, quote);
	if (delim == '\t')
		csv_set_space_func(&c->parser, space_only);
	csv_set_term_func(&c->parser, newline_only);
	reset(c);
}

void
pa_csvin_line(struct pa_csvin *c, const char *where, const struct pa_line *line,
	      enum pa_csv_cut cut)
{
	c->where = where;
	c->cut = cut;
	if (!c->in_record) {
		if (line->len == 0)
			return;	/* blank lines between records carry nothing */
		c->start_line = line->lineno;
		c->in_record = 1;
	}
	if (c->rawlen > 0) {
		grow(&c->raw, &c->rawcap, c->rawlen + 1);
		c->raw[c->rawlen++] = '\n';
	}
	grow(&c->raw, &c->rawcap, c->rawlen + line->len + 1);
	memcpy(c->raw + c->rawlen, line->text, line->len);
	c->rawlen += line->len;
	c->raw[c->rawlen] = '\0';

	/* A quote that never closes would otherwise swallow the rest of the file. */
	if (c->rawlen > c->max_record) {
		pa_diag_count_read();
		pa_reject(where, c->start_line, c->raw, c->rawlen, "record too long",
			  "record longer than %zu bytes (unclosed quote?)", c->max_record);
		unsigned char delim = csv_get_delim(&c->parser), quote = csv_get_quote(&c->parser);

		csv_free(&c->parser);
		restart(c, delim, quote);
		return;
	}
	csv_parse(&c->parser, line->text, line->len, on_field, on_record, c);
	csv_parse(&c->parser, "\n", 1, on_field, on_record, c);
}

/*
 * Reject the first line of the open record, whose quote never closed, and
 * read the lines after it again as records of their own.
 */
static void
reread_after_open_quote(struct pa_csvin *c)
{
	unsigned char delim = csv_get_delim(&c->parser), quote = csv_get_quote(&c->parser);
	char *newline = memchr(c->raw, '\n', c->rawlen), *rest;
	size_t first = (size_t)(newline - c->raw), restlen = c->rawlen - first - 1;
	long lineno = c->start_line, lines = 1;
	enum pa_csv_cut cut = c->cut;

	for (size_t i = 0; i < restlen; i++)
		lines += newline[1 + i] == '\n';
	pa_diag_count_read();
	pa_reject(c->where, lineno, c->raw, first, "unclosed quoted field",
		  "unclosed quoted field: its quote never closes before the end of input, "
		  "so this line is rejected and the %ld line%s after it read again", lines,
		  lines == 1 ? "" : "s");

	rest = malloc(restlen + 1);
	if (rest == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	memcpy(rest, newline + 1, restlen);
	rest[restlen] = '\0';
	csv_free(&c->parser);
	restart(c, delim, quote);

	for (char *at = rest, *end; at <= rest + restlen; at = end + 1) {
		struct pa_line line;

		end = memchr(at, '\n', (size_t)(rest + restlen - at));
		if (end == NULL)
			end = rest + restlen;
		*end = '\0';
		line = (struct pa_line){ at, (size_t)(end - at), ++lineno };
		pa_csvin_line(c, c->where, &line, end == rest + restlen ? cut : PA_CSV_WHOLE);
	}
	free(rest);
}

void
pa_csvin_finish(struct pa_csvin *c)
{
	/*
	 * Every line is pushed with its newline, so a record still open here
	 * is inside a quoted field that never closed.  One stray quote would
	 * take every line after it along, good rows included, so only its own
	 * line is rejected and the others are read again, which may leave
	 * another quote open.
	 */
	while (c->in_record && memchr(c->raw, '\n', c->rawlen) != NULL)
		reread_after_open_quote(c);
	if (c->in_record) {
		unsigned char delim = csv_get_delim(&c->parser), quote = csv_get_quote(&c->parser);

		pa_diag_count_read();
		pa_reject(c->where, c->start_line, c->raw, c->rawlen,
			  "record cut off at end of input",
			  "record cut off at end of input: unclosed quoted field");
		csv_free(&c->parser);
		restart(c, delim, quote);
		return;
	}
	csv_fini(&c->parser, on_field, on_record, c);
	reset(c);
}
