#include "ndjson.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "stop.h"

static char outbuf[1 << 16];

void
pa_out_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
}

static void
write_failed(void)
{
	if (errno == EPIPE)
		exit(PA_EXIT_OK);
	pa_die(PA_EXIT_IO, "write to standard output failed: %s", strerror(errno));
}

void
pa_out_write(const char *s, size_t len)
{
	if (fwrite(s, 1, len, stdout) != len)
		write_failed();
}

void
pa_out_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(stdout, fmt, ap);
	va_end(ap);
	if (n < 0)
		write_failed();
}

static int
dump_callback(const char *buffer, size_t size, void *data)
{
	(void)data;
	pa_out_write(buffer, size);
	return 0;
}

static pa_out_record_fn record_hook;
static void *record_hook_ctx;

void
pa_out_set_record_hook(pa_out_record_fn fn, void *ctx)
{
	record_hook = fn;
	record_hook_ctx = ctx;
}

void
pa_out_json(const json_t *rec)
{
	if (record_hook != NULL) {
		record_hook(rec, record_hook_ctx);
		return;
	}
	json_dump_callback(rec, dump_callback, NULL, PA_JSON_FLAGS);
	if (putchar('\n') == EOF)
		write_failed();
}

void
pa_out_flush(void)
{
	if (fflush(stdout) != 0)
		write_failed();
}

int
pa_out_written(void)
{
	return fflush(stdout) == 0 && !ferror(stdout);
}

int
pa_out_finish(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			return PA_EXIT_OK;
		pa_warn("write to standard output failed: %s", strerror(errno));
		return PA_EXIT_IO;
	}
	if (fclose(stdout) != 0 && errno != EPIPE) {
		pa_warn("write to standard output failed: %s", strerror(errno));
		return PA_EXIT_IO;
	}
	return PA_EXIT_OK;
}

json_t *
pa_json_parse_object(const char *text, size_t len, char *err, size_t errsize)
{
	json_error_t jerr;
	json_t *v;

	v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		static const char eof[] = " near end of file";
		static const char premature[] = "premature end of input";
		size_t n = strlen(jerr.text), k = sizeof eof - 1;

		/*
		 * jansson's end of file and end of input are the end of the text
		 * given, here one line, so the message names the line: "end of
		 * file" in the middle of a stream reads as if the file were cut off.
		 */
		if (json_error_code(&jerr) == json_error_null_character) {
			/* jansson's message names its JSON_ALLOW_NUL flag, which a user cannot set. */
			const char *near = strstr(jerr.text, " near ");

			snprintf(err, errsize, "invalid JSON at column %d: a NUL character (\\u0000) "
				 "is not allowed in a JSON string%s", jerr.column, near ? near : "");
		} else if (n >= k && strcmp(jerr.text + n - k, eof) == 0)
			snprintf(err, errsize, "invalid JSON at column %d: %.*s at end of line",
				 jerr.column, (int)(n - k), jerr.text);
		else if (strncmp(jerr.text, premature, sizeof premature - 1) == 0)
			snprintf(err, errsize, "invalid JSON at column %d: line ends inside a value%s",
				 jerr.column, jerr.text + sizeof premature - 1);
		else if (jerr.position >= (int)len)
			snprintf(err, errsize, "invalid JSON at column %d: %s at end of line",
				 jerr.column, jerr.text);
		else
			snprintf(err, errsize, "invalid JSON at column %d: %s", jerr.column,
				 jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		snprintf(err, errsize, "not a JSON object");
		json_decref(v);
		return NULL;
	}
	return v;
}

int
pa_json_file_error_line(FILE *f, const json_error_t *jerr)
{
	long size = 0;
	int line = 1, last = 1, c;

	if (fseek(f, 0, SEEK_SET) != 0)
		return jerr->line;
	while ((c = getc(f)) != EOF) {
		size++;
		if (c == '\n')
			line++;
		else if (c != ' ' && c != '\t' && c != '\r')
			last = line;
	}
	return jerr->position >= size ? last : jerr->line;
}

const char *
pa_rec_kind(const json_t *rec)
{
	return pa_rec_str(rec, "kind");
}

int
pa_kind_known(const char *kind)
{
	static const char *const kinds[] = {
		"request", "event", "usage", "bucket", "forecast", "event_effect", "plan",
		"route", "journal", "backtest", "backtest_comparison"
	};

	for (size_t i = 0; kind != NULL && i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kind, kinds[i]) == 0)
			return 1;
	return 0;
}

const char *
pa_rec_kind_or_reject(const json_t *rec, const char *where, const struct pa_line *line)
{
	const char *kind = pa_rec_kind(rec);

	if (kind == NULL)
		pa_reject(where, line->lineno, line->text, line->len, "missing field",
			  "field \"kind\" is missing or not a string");
	return kind;
}

void
pa_warn_unknown_kind(const char *where, long lineno, const char *kind, const char *takes,
		     const char *fate)
{
	char what[160];

	if (kind != NULL)
		snprintf(what, sizeof what, "kind %s is not one", pa_quote(kind, strlen(kind)));
	else
		snprintf(what, sizeof what, "a record without \"kind\" is not one");
	pa_warn("%s:%ld: %s that %s takes (%s), so %s, as are later records of unknown kinds",
		where, lineno, what, pa_prog, takes, fate);
}

const char *
pa_rec_str(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

int
pa_rec_num(const json_t *rec, const char *key, double *out)
{
	const json_t *v = json_object_get(rec, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return isfinite(*out) ? 1 : -1;
}

int
pa_rec_cpu_usage(const json_t *rec, double *cpu, char *why, size_t whysize)
{
	int got = pa_rec_num(rec, "cpu_usage", cpu);

	if (got == 0)
		return 0;
	if (got == 1 && *cpu >= 0 && *cpu <= PA_USAGE_FRACTION_MAX)
		return 1;
	snprintf(why, whysize, "field \"cpu_usage\" is not a fraction of the limit from 0 to %g: %s",
		 PA_USAGE_FRACTION_MAX, pa_quote_json(json_object_get(rec, "cpu_usage")));
	return -1;
}

int
pa_rec_time(const json_t *rec, const char *key, pa_usec_t *out)
{
	const json_t *v = json_object_get(rec, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v))
		return pa_time_parse(json_string_value(v), json_string_length(v), out) == 0 ? 1 : -1;
	if (json_is_integer(v)) {
		char buf[32];
		int n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));

		return pa_time_parse_epoch(buf, (size_t)n, out) == 0 ? 1 : -1;
	}
	if (json_is_real(v)) {
		char buf[64];
		int n = snprintf(buf, sizeof buf, "%.6f", json_real_value(v));

		return n > 0 && (size_t)n < sizeof buf &&
		       pa_time_parse_epoch(buf, (size_t)n, out) == 0 ? 1 : -1;
	}
	return -1;
}

int
pa_rec_coverage(const json_t *rec, double step_s, double *from, double *covered,
		const char **field, const char **expected)
{
	/* Seconds are written with microsecond digits, so sums may round. */
	double slack = 1e-6 * (1 + step_s);

	*from = 0;
	*covered = step_s;
	if (json_object_get(rec, "covered_from_s") != NULL &&
	    (pa_rec_num(rec, "covered_from_s", from) != 1 || !(*from >= 0 && *from < step_s))) {
		*field = "covered_from_s";
		*expected = "a number of seconds from 0 to below step_s";
		return -1;
	}
	if (json_object_get(rec, "covered_s") != NULL) {
		if (pa_rec_num(rec, "covered_s", covered) != 1 ||
		    !(*covered > 0 && *covered <= step_s - *from + slack)) {
			*field = "covered_s";
			*expected = *from > 0 ? "a number of seconds above 0 and at most step_s "
						"less covered_from_s"
					      : "a number of seconds above 0 and at most step_s";
			return -1;
		}
	} else {
		*covered = step_s - *from;
	}
	return *from > 0 || *from + *covered < step_s - slack;
}

pa_usec_t
pa_bucket_slack(pa_usec_t step)
{
	return step / 100 > PA_USEC_PER_SEC ? step / 100 : PA_USEC_PER_SEC;
}

void
pa_cover_add(struct pa_cover *c, pa_usec_t from, pa_usec_t to)
{
	int i = 0, j;

	/* Skip the spans that end before this one starts, then swallow those it reaches. */
	while (i < c->n && c->to[i] < from)
		i++;
	for (j = i; j < c->n && c->from[j] <= to; j++) {
		if (c->from[j] < from)
			from = c->from[j];
		if (c->to[j] > to)
			to = c->to[j];
	}
	if (j == i && c->n == PA_COVER_SPANS) {
		int k = 1;

		/* No room: join the two spans closest together and try again. */
		for (int m = 2; m < c->n; m++)
			if (c->from[m] - c->to[m - 1] < c->from[k] - c->to[k - 1])
				k = m;
		c->to[k - 1] = c->to[k];
		memmove(&c->from[k], &c->from[k + 1], (size_t)(c->n - k - 1) * sizeof c->from[0]);
		memmove(&c->to[k], &c->to[k + 1], (size_t)(c->n - k - 1) * sizeof c->to[0]);
		c->n--;
		pa_cover_add(c, from, to);
		return;
	}

	/* Spans i to j-1 become one; the ones after it move to close or open the room. */
	memmove(&c->from[i + 1], &c->from[j], (size_t)(c->n - j) * sizeof c->from[0]);
	memmove(&c->to[i + 1], &c->to[j], (size_t)(c->n - j) * sizeof c->to[0]);
	c->n += 1 - (j - i);
	c->from[i] = from;
	c->to[i] = to;
}

/*
 * Requests at a steady random rate leave a stretch of t empty with
 * probability exp(-rate t).  That is below one in a thousand when rate t
 * is above 6.9.
 */
#define QUIET_EXPECTED 6.9

int
pa_stretch_missing(pa_usec_t length, double rate, pa_usec_t step)
{
	return length > pa_bucket_slack(step) && rate * (double)length > QUIET_EXPECTED;
}

int
pa_cover_holed(const struct pa_cover *c, double requests, pa_usec_t step, pa_usec_t *from,
	       pa_usec_t *to)
{
	pa_usec_t covered = 0, widest = 0;
	int at = 0;

	if (c->n == 0) {
		*from = *to = 0;
		return 0;
	}
	for (int i = 0; i < c->n; i++) {
		covered += c->to[i] - c->from[i];
		if (i > 0 && c->from[i] - c->to[i - 1] > widest) {
			widest = c->from[i] - c->to[i - 1];
			at = i;
		}
	}
	if (covered > 0 && pa_stretch_missing(widest, requests / (double)covered, step)) {
		*from = c->to[at - 1];
		*to = c->from[at];
		return 1;
	}
	*from = c->from[0];
	*to = c->to[c->n - 1];
	return 0;
}

const char *
pa_quote_json(const json_t *v)
{
	/* Per thread, as pa_quote's buffers are. */
	static _Thread_local char buf[4][300];
	static _Thread_local int slot;
	char *out = buf[slot++ & 3];
	const char *type;
	char *text;

	if (v == NULL)
		return "(missing)";
	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(out, sizeof buf[0], "string %s",
			 pa_quote(json_string_value(v), json_string_length(v)));
		return out;
	case JSON_NULL:
		return "null";
	case JSON_TRUE:
		return "boolean true";
	case JSON_FALSE:
		return "boolean false";
	case JSON_OBJECT:
		type = "object";
		break;
	case JSON_ARRAY:
		type = "array";
		break;
	default:
		type = "number";
		break;
	}

	/* Unquoted JSON text, in ASCII and cut as pa_quote cuts a string. */
	/* 15 digits, so 1e300 reads back as written, not as 1.0000000000000001e+300. */
	text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII |
			  JSON_REAL_PRECISION(15));
	if (text == NULL)
		return "(unprintable)";
	if (strlen(text) > 60)
		snprintf(out, sizeof buf[0], "%s %.60s...", type, text);
	else
		snprintf(out, sizeof buf[0], "%s %s", type, text);
	free(text);
	return out;
}

const char *
pa_rec_series(const json_t *rec, char *why, size_t whysize)
{
	const char *name = pa_rec_str(rec, "tenant_service_name");
	const char *slash = name != NULL ? strchr(name, '/') : NULL;

	if (slash == NULL || slash == name || slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
		pa_field_problem(rec, "tenant_service_name", "TENANT/SERVICE", why, whysize);
		return NULL;
	}
	return name;
}

int
pa_rec_step_s(const json_t *rec, double *out)
{
	double step;
	int got = pa_rec_num(rec, "step_s", &step);

	if (got <= 0)
		return got;
	if (!(step >= 1 && step <= PA_STEP_S_MAX) || step != floor(step))
		return -1;
	*out = step;
	return 1;
}

const char *
pa_field_problem(const json_t *rec, const char *key, const char *expected, char *buf,
		 size_t size)
{
	const json_t *value = json_object_get(rec, key);

	if (value == NULL)
		snprintf(buf, size, "field \"%s\" is missing", key);
	else
		snprintf(buf, size, "field \"%s\" is not %s: %s", key, expected,
			 pa_quote_json(value));
	return buf;
}

void
pa_rec_set_time(json_t *rec, const char *key, pa_usec_t t)
{
	char buf[40];

	json_object_set_new(rec, key, json_string(pa_time_format(t, buf, sizeof buf)));
}

void
pa_rec_set_num(json_t *rec, const char *key, double v)
{
	if (!isfinite(v))
		json_object_set_new(rec, key, json_null());
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		json_object_set_new(rec, key, json_integer((json_int_t)v));
	else
		json_object_set_new(rec, key, json_real(v));
}

int
pa_input_each(int nfiles, char **files, size_t max_line, pa_line_fn fn, void *ctx)
{
	return pa_input_each_until(nfiles, files, max_line, fn, ctx, &pa_stop_requested);
}

int
pa_input_each_until(int nfiles, char **files, size_t max_line, pa_line_fn fn, void *ctx,
		    volatile sig_atomic_t *stop)
{
	static char *stdin_only[] = { "-" };
	int rc = PA_EXIT_OK;

	if (nfiles == 0) {
		nfiles = 1;
		files = stdin_only;
	}
	for (int i = 0; i < nfiles && !(stop && *stop); i++) {
		struct pa_reader *r = pa_reader_open(files[i], max_line);
		struct pa_line line;
		enum pa_line_status st;

		if (r == NULL) {
			rc = PA_EXIT_IO;
			continue;
		}
		if (stop != NULL)
			pa_reader_set_stop(r, stop);
		while (!(stop && *stop) && (st = pa_reader_next(r, &line)) != PA_LINE_EOF) {
			if (st == PA_LINE_ERROR) {
				if (pa_reader_is_utf16(r)) {
					if (rc == PA_EXIT_OK)
						rc = PA_EXIT_DATA;
				} else {
					rc = PA_EXIT_IO;
				}
				break;
			}
			fn(pa_reader_name(r), &line, st, ctx);
		}
		pa_reader_close(r);
	}
	return rc;
}

json_t *
pa_line_to_object(const char *name, struct pa_line *line, enum pa_line_status status)
{
	char err[200];
	json_t *rec;
	size_t i = 0;

	while (i < line->len && (line->text[i] == ' ' || line->text[i] == '\t'))
		i++;
	if (i == line->len && status != PA_LINE_TOO_LONG)
		return NULL;	/* blank lines carry no record */
	pa_diag_count_read();

	if (status == PA_LINE_TOO_LONG) {
		pa_reject(name, line->lineno, line->text, line->len, "line too long",
			  "line longer than %zu bytes (see --max-line)", line->len);
		return NULL;
	}
	rec = pa_json_parse_object(line->text, line->len, err, sizeof err);
	if (rec == NULL) {
		if (status == PA_LINE_TRUNCATED)
			pa_reject(name, line->lineno, line->text, line->len,
				  "record cut off at end of input",
				  "record cut off at end of input: %s", err);
		else if (pa_line_is_binary(line))
			pa_reject(name, line->lineno, line->text, line->len, "binary data",
				  "binary data, not a JSON record: %s",
				  pa_quote(line->text, line->len < 16 ? line->len : 16));
		else
			pa_reject(name, line->lineno, line->text, line->len, "invalid JSON",
				  "%s", err);
	}
	return rec;
}

/* Return 1 when text[0, len) contains anything but JSON whitespace. */
static int
has_text(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr(" \t\r\n", text[i]) == NULL)
			return 1;
	return 0;
}

int
pa_file_looks_like_records(const char *path, char *why, size_t whysize)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len, start;
	const char *newline;
	json_t *first;
	json_error_t jerr;
	const char *kind;
	int found = 0;

	if (f == NULL)
		return 0;
	buf = pa_xmalloc(PA_MAX_LINE_DEFAULT);
	len = fread(buf, 1, PA_MAX_LINE_DEFAULT, f);
	fclose(f);
	if (len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b) {
		snprintf(why, whysize, "it is gzip-compressed");
		free(buf);
		return 1;
	}

	/* A JSON document of named fields, such as a state file, starts with "{". */
	start = 0;
	while (start < len && strchr(" \t\r\n", buf[start]) != NULL)
		start++;
	if (start < len && buf[start] != '{') {
		size_t prefix_len = 0;

		while (start + prefix_len < len && prefix_len < 20 && buf[start + prefix_len] != '\n')
			prefix_len++;
		snprintf(why, whysize, "it begins with %s, not with the \"{\" of a JSON object",
			 pa_quote(buf + start, prefix_len));
		free(buf);
		return 1;
	}

	/* A first line longer than the buffer is not one record. */
	newline = memchr(buf, '\n', len);
	if (newline == NULL && len == PA_MAX_LINE_DEFAULT) {
		free(buf);
		return 0;
	}
	first = json_loadb(buf, newline ? (size_t)(newline - buf) : len, 0, &jerr);
	kind = pa_rec_kind(first);
	if (json_is_object(first) && kind != NULL) {
		snprintf(why, whysize, "line 1 is a record of kind %s", pa_quote(kind, strlen(kind)));
		found = 1;
	} else if (json_is_object(first) && newline != NULL &&
		   has_text(newline + 1, len - (size_t)(newline + 1 - buf))) {
		snprintf(why, whysize, "line 1 is a JSON object of its own, and more lines follow");
		found = 1;
	}
	json_decref(first);
	free(buf);
	return found;
}
