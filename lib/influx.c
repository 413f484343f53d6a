#include "influx.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "jsonpos.h"
#include "ndjson.h"
#include "prom.h"

/* ---- Reading /query responses ---- */

struct read_ctx {
	const char *where;
	long lineno;
	const struct pa_tsdb_map *map;
	struct pa_tsdb_acc *acc;

	/* A JSON response: its text and tree, to find the line of a series or row. */
	const char *doc;
	size_t len;
	const json_t *root;
	struct pa_json_pos *result_pos;	/* where each statement result starts */
	struct pa_json_pos *series_pos;	/* where each series starts, in reading order */
	size_t nresults, nseries;
	int located;			/* 1 once the two arrays above were looked for */

	/* A CSV response: the line of each row of the series being read. */
	const json_t *csv_lines;

	size_t series_index;		/* the series being read, counted over all results */
	long *row_line;			/* JSON: line of each row of that series, found on first use */
	int rows_located;
};

/*
 * Find where every statement result and series of a JSON response starts.
 * Leaves both arrays NULL when the text does not match the tree.
 */
static void
locate_series(struct read_ctx *r)
{
	const json_t *results = json_object_get(r->root, "results");
	struct pa_json_pos p = pa_json_pos_root(r->doc, r->len, r->lineno);
	size_t i, total = 0;
	const json_t *result;

	r->located = 1;
	r->nresults = json_array_size(results);
	json_array_foreach(results, i, result)
		total += json_array_size(json_object_get(result, "series"));
	r->result_pos = calloc(r->nresults + 1, sizeof *r->result_pos);
	r->series_pos = calloc(total + 1, sizeof *r->series_pos);
	if (r->result_pos == NULL || r->series_pos == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	if (pa_json_pos_member(r->doc, r->len, &p, "results") != 0 ||
	    pa_json_pos_elements(r->doc, r->len, p, r->result_pos, r->nresults) != (long)r->nresults)
		goto fail;
	json_array_foreach(results, i, result) {
		size_t n = json_array_size(json_object_get(result, "series"));

		p = r->result_pos[i];
		if (n == 0)
			continue;
		if (pa_json_pos_member(r->doc, r->len, &p, "series") != 0 ||
		    pa_json_pos_elements(r->doc, r->len, p, r->series_pos + r->nseries, n) != (long)n)
			goto fail;
		r->nseries += n;
	}
	return;
fail:
	free(r->result_pos);
	free(r->series_pos);
	r->result_pos = r->series_pos = NULL;
	r->nseries = 0;
}

/* Line where statement result i starts, or the response's first line when it cannot be found. */
static long
result_line(struct read_ctx *r, size_t i)
{
	if (r->doc == NULL)
		return r->lineno;
	if (!r->located)
		locate_series(r);
	return r->result_pos != NULL && i < r->nresults ? r->result_pos[i].line : r->lineno;
}

/* Line where the current series starts: its first row in CSV. */
static long
series_line(struct read_ctx *r)
{
	if (r->csv_lines != NULL)
		return r->lineno + (long)json_integer_value(json_array_get(r->csv_lines, 0)) - 1;
	if (r->doc == NULL)
		return r->lineno;
	if (!r->located)
		locate_series(r);
	return r->series_pos != NULL && r->series_index < r->nseries
		       ? r->series_pos[r->series_index].line
		       : r->lineno;
}

/* Line where row k of the n rows of the current series starts, or else the series' line. */
static long
row_line(struct read_ctx *r, size_t k, size_t n)
{
	long line = series_line(r);

	if (r->csv_lines != NULL)
		return r->lineno + (long)json_integer_value(json_array_get(r->csv_lines, k)) - 1;
	if (r->series_pos == NULL)
		return line;
	/* Out of memory, the rows are reported on the series' line. */
	if (!r->rows_located) {
		r->rows_located = 1;
		r->row_line = pa_json_pos_element_lines(r->doc, r->len, r->series_pos[r->series_index],
							"values", n);
	}
	return r->row_line != NULL ? r->row_line[k] : line;
}

static void
reject_json(const struct read_ctx *r, long lineno, const json_t *raw, const char *reason_class,
	    const char *fmt, const char *a, const char *b)
{
	char *text = pa_tsdb_dump(raw);
	char msg[600];

	snprintf(msg, sizeof msg, fmt, a, b);
	pa_reject(r->where, lineno, text, strlen(text), reason_class, "%s", msg);
	free(text);
}

/*
 * Parse a time cell: RFC 3339 text, or an epoch number.  Numbers from
 * 1e17 up are nanoseconds (InfluxDB's epoch=ns, and every CSV response);
 * smaller ones follow pa_time_parse_epoch.  Returns 0 or -1.
 */
static int
parse_time(const json_t *cell, pa_usec_t *out)
{
	char buf[64];
	int n;

	if (json_is_string(cell))
		return pa_time_parse_rfc3339(json_string_value(cell), json_string_length(cell), out);
	if (json_is_integer(cell)) {
		json_int_t v = json_integer_value(cell);

		if (v >= 100000000000000000LL) {
			*out = v / 1000;
			return 0;
		}
		n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, v);
		return pa_time_parse_epoch(buf, (size_t)n, out);
	}
	if (json_is_real(cell) && fabs(json_real_value(cell)) < 1e17) {
		n = snprintf(buf, sizeof buf, "%.6f", json_real_value(cell));
		return pa_time_parse_epoch(buf, (size_t)n, out);
	}
	return -1;
}

enum column_role { COL_TIME, COL_FIELD, COL_META, COL_LABEL, COL_IGNORED };

/*
 * Give each column a role.  A column named like a record field fills it,
 * and a column holding strings is a label.  Other numeric columns fill
 * --metric when it is given (one at most); without it they are ignored
 * when some column is a record field (SELECT * FROM pa_bucket), and
 * rejected when none is (SELECT mean(x) without an alias).  Returns 0, or
 * -1 after rejecting the series.
 */
static int
column_roles(struct read_ctx *r, const json_t *series, const json_t *columns,
	     const json_t *values, const char *desc, enum column_role *role, int *field)
{
	size_t ncol = json_array_size(columns), i, j;
	const char *other = NULL;	/* first numeric column that is not a field */
	int have_time = 0, nfields = 0, nother = 0;

	for (i = 0; i < ncol; i++) {
		const char *name = json_string_value(json_array_get(columns, i));
		int is_text = 0;
		json_t *row;

		if (name == NULL) {
			reject_json(r, series_line(r), series, "invalid series", "series %s has a column name that is not a string%s",
				    desc, "");
			return -1;
		}
		if (strcmp(name, "time") == 0) {
			role[i] = COL_TIME;
			have_time = 1;
			continue;
		}
		/* step_s and covered_s describe a bucket (pa-score writes them as fields). */
		field[i] = pa_tsdb_meta_lookup(name);
		if (field[i] >= 0) {
			role[i] = COL_META;
			continue;
		}
		field[i] = pa_tsdb_field_lookup(name);
		if (field[i] >= 0 && r->map->metric < 0) {
			role[i] = COL_FIELD;
			nfields++;
			continue;
		}
		json_array_foreach(values, j, row)
			if (json_is_string(json_array_get(row, i)))
				is_text = 1;
		if (is_text) {
			role[i] = COL_LABEL;
			continue;
		}
		role[i] = COL_IGNORED;
		if (nother++ == 0)
			other = name;
		if (r->map->metric >= 0) {
			if (nother > 1) {
				reject_json(r, series_line(r), series, "unknown column",
					    "columns %s and %s both would fill --metric: select one",
					    pa_quote(other, strlen(other)), pa_quote(name, strlen(name)));
				return -1;
			}
			role[i] = COL_FIELD;
			field[i] = r->map->metric;
		}
	}
	if (!have_time) {
		reject_json(r, series_line(r), series, "invalid series", "series %s has no time column%s", desc, "");
		return -1;
	}
	if (r->map->metric < 0 && nfields == 0) {
		reject_json(r, series_line(r), series, "unknown column",
			    other ? "column %s of series %s is not a record field: alias it in the "
				    "query (SELECT mean(x) AS requests) or give --metric FIELD"
				  : "series %s%s has no value column",
			    other ? pa_quote(other, strlen(other)) : desc, other ? desc : "");
		return -1;
	}
	return 0;
}

/* What is wrong with a row's cells, the first problem found. */
enum bad_cell {
	CELL_OK,
	CELL_NOT_TIME,		/* the time column is not a timestamp */
	CELL_NOT_NUMBER,	/* a value is not a finite number or null */
	CELL_NEGATIVE_USAGE	/* a usage value is below 0 */
};

/* Read the rows of one series: {"name", "tags", "columns", "values"}. */
static void
read_series(struct read_ctx *r, const json_t *series)
{
	const char *name = json_string_value(json_object_get(series, "name"));
	const json_t *tags = json_object_get(series, "tags");
	const json_t *columns = json_object_get(series, "columns");
	const json_t *values = json_object_get(series, "values");
	size_t ncol = json_array_size(columns), i, c;
	enum column_role *role;
	int *field;
	char *desc;
	json_t *row;
	int label_columns = 0, series_group[2] = { -1, -1 };
	int series_failed[2] = { 0, 0 };	/* usage, bucket: the series' labels did not map */
	long quiet_rows = 0;			/* later rows of such a series, counted as rejected */
	pa_usec_t prev_ts = 0, gap = 0;

	desc = pa_tsdb_describe(name, json_is_object(tags) ? tags : NULL);
	if (!json_is_array(columns) || !json_is_array(values)) {
		pa_diag_count_read();
		reject_json(r, series_line(r), series, "invalid series",
			    "series %s has no \"columns\" and \"values\" arrays%s", desc, "");
		free(desc);
		return;
	}
	role = calloc(ncol + 1, sizeof *role);
	field = calloc(ncol + 1, sizeof *field);
	if (role == NULL || field == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	if (column_roles(r, series, columns, values, desc, role, field) != 0) {
		pa_diag_count_read();
		goto out;
	}

	/*
	 * Without label columns every row belongs to the same records, so the
	 * row spacing (rows of nulls included) is the series' sample spacing.
	 */
	for (c = 0; c < ncol; c++)
		if (role[c] == COL_LABEL)
			label_columns = 1;

	json_array_foreach(values, i, row) {
		json_t *labels = json_is_object(tags) ? json_deep_copy(tags) : json_object();
		int group[2] = { -2, -2 };	/* usage, bucket; -2 not resolved yet */
		pa_usec_t ts = 0;
		enum bad_cell bad = CELL_OK;
		int has_value = 0, quiet = 0;
		size_t bad_col = 0;

		for (c = 0; c < ncol; c++) {
			json_t *cell = json_array_get(row, c);

			if (role[c] == COL_LABEL && json_is_string(cell))
				json_object_set(labels, json_string_value(json_array_get(columns, c)), cell);
			if (!bad && role[c] == COL_TIME && parse_time(cell, &ts) != 0) {
				bad = CELL_NOT_TIME;
				bad_col = c;
			}
			if (role[c] == COL_FIELD && !json_is_null(cell))
				has_value = 1;
			if (!bad && (role[c] == COL_FIELD || role[c] == COL_META) && !json_is_null(cell) &&
			    (!json_is_number(cell) || !isfinite(json_number_value(cell)))) {
				bad = CELL_NOT_NUMBER;
				bad_col = c;
			}
			/* A usage ratio or rate below 0 is rejected, as the CSV and Prometheus readers do. */
			if (!bad && role[c] == COL_FIELD && field[c] <= PA_TSDB_F_NETWORK_IO &&
			    json_is_number(cell) && json_number_value(cell) < 0) {
				bad = CELL_NEGATIVE_USAGE;
				bad_col = c;
			}
		}
		/*
		 * A row of nulls, such as an empty GROUP BY time() window, is no
		 * record, so it does not count as read and cannot dilute the
		 * rejected share.
		 */
		if (!json_is_array(row) || json_array_size(row) != ncol || bad || has_value)
			pa_diag_count_read();
		if (!json_is_array(row) || json_array_size(row) != ncol || bad) {
			char *rowdesc = pa_tsdb_describe(name, labels);
			const char *column = json_string_value(json_array_get(columns, bad_col));

			char why[400];

			if (!json_is_array(row) || json_array_size(row) != ncol)
				snprintf(why, sizeof why, "series %s: row of %zu cells for %zu columns",
					 rowdesc, json_is_array(row) ? json_array_size(row) : 0, ncol);
			else
				snprintf(why, sizeof why, "series %s: column \"%s\" is not %s: %s",
					 rowdesc, column ? column : "?",
					 bad == CELL_NOT_TIME ? "a timestamp" :
					 bad == CELL_NOT_NUMBER ? "a finite number or null" :
					 "a usage value >= 0",
					 pa_quote_json(json_array_get(row, bad_col)));
			reject_json(r, row_line(r, i, json_array_size(values)), row, "invalid row",
				    "%s%s", why, "");
			free(rowdesc);
			json_decref(labels);
			continue;
		}

		for (c = 0; c < ncol; c++) {
			json_t *cell = json_array_get(row, c);
			int usage, *g;

			if (role[c] != COL_FIELD || json_is_null(cell))
				continue;
			usage = field[c] <= PA_TSDB_F_NETWORK_IO;
			g = &group[usage ? 0 : 1];
			if (*g == -2 && series_failed[usage ? 0 : 1]) {
				*g = -1;
				quiet = 1;
			} else if (*g == -2) {
				/*
				 * Without label columns every row has the series' labels, so
				 * labels that do not map reject the whole series once.
				 */
				char *rowdesc = pa_tsdb_describe(name, labels);
				char *raw = pa_tsdb_dump(label_columns ? row : series);

				*g = pa_tsdb_acc_group(r->acc, labels, (enum pa_tsdb_field)field[c],
						       rowdesc, row_line(r, i, json_array_size(values)),
						       raw, strlen(raw));
				if (*g < 0 && !label_columns)
					series_failed[usage ? 0 : 1] = 1;
				free(rowdesc);
				free(raw);
			}
			if (*g >= 0) {
				double v = json_number_value(cell);

				if (field[c] == r->map->metric)
					v /= pa_tsdb_metric_divisor(r->map);
				pa_tsdb_acc_add(r->acc, *g, (enum pa_tsdb_field)field[c], ts, v);
				pa_tsdb_acc_source(r->acc, *g, series);
			}
		}
		/* The row's bucket record, if it has one, takes the step_s and coverage. */
		for (c = 0; c < ncol && group[1] >= 0; c++) {
			json_t *cell = json_array_get(row, c);

			if (role[c] == COL_META && !json_is_null(cell))
				pa_tsdb_acc_meta(r->acc, group[1], (enum pa_tsdb_meta)field[c], ts,
						 json_number_value(cell));
		}
		json_decref(labels);
		quiet_rows += quiet;

		if (!label_columns) {
			if (i > 0 && ts - prev_ts > 0 && (gap == 0 || ts - prev_ts < gap))
				gap = ts - prev_ts;
			prev_ts = ts;
			for (int k = 0; k < 2; k++)
				if (group[k] >= 0)
					series_group[k] = group[k];
		}
	}
	for (int k = 0; k < 2; k++)
		if (series_group[k] >= 0)
			pa_tsdb_acc_spacing(r->acc, series_group[k], gap);
	if (quiet_rows > 0)
		pa_reject_records(quiet_rows, "rows of a series without tenant or service");
out:
	free(role);
	free(field);
	free(desc);
	free(r->row_line);
	r->row_line = NULL;
	r->rows_located = 0;
}

static void
reject_doc(const char *where, long lineno, const char *doc, size_t len, const char *reason_class,
	   const char *message)
{
	pa_diag_count_read();
	pa_reject(where, lineno, doc, len, reason_class, "%s", message);
}

/*
 * Return whether more chunks of this response follow, which a statement
 * result marks with "partial": true.
 */
static int
is_partial(const json_t *results)
{
	size_t i;
	const json_t *result;

	json_array_foreach(results, i, result)
		if (json_is_true(json_object_get(result, "partial")))
			return 1;
	return 0;
}

static long
read_json(struct read_ctx *r, const json_t *root, const char *doc, size_t len,
	  struct pa_tsdb_acc **pending, pa_tsdb_emit_fn emit, void *ctx)
{
	json_t *results, *result, *series, *s;
	const char *error;
	char msg[600];
	size_t i, j, nseries = 0, nerrors = 0;

	r->doc = doc;
	r->len = len;
	r->root = root;
	error = json_string_value(json_object_get(root, "error"));
	if (error != NULL) {
		snprintf(msg, sizeof msg, "InfluxDB returned an error: %s", error);
		reject_doc(r->where, r->lineno, doc, len, "InfluxDB error response", msg);
		return -1;
	}
	results = json_object_get(root, "results");
	if (!json_is_array(results)) {
		reject_doc(r->where, r->lineno, doc, len, "not an InfluxDB response",
			   "not an InfluxDB /query response: no \"results\" array");
		return -1;
	}

	if (pending != NULL && *pending != NULL)
		r->acc = *pending;
	else
		r->acc = pa_tsdb_acc_new(r->map, r->where, r->lineno);
	json_array_foreach(results, i, result) {
		error = json_string_value(json_object_get(result, "error"));
		if (error != NULL) {
			char num[24];

			pa_diag_count_read();
			nerrors++;
			snprintf(num, sizeof num, "%zu", i);
			reject_json(r, result_line(r, i), result, "InfluxDB error response",
				    "InfluxDB statement %s failed: %s", num, error);
			continue;
		}
		series = json_object_get(result, "series");
		json_array_foreach(series, j, s) {
			r->series_index = nseries++;
			read_series(r, s);
		}
	}
	free(r->result_pos);
	free(r->series_pos);
	if (pending != NULL && is_partial(results)) {
		*pending = r->acc;
		return 0;
	}
	if (pending != NULL)
		*pending = NULL;
	if (nseries == 0 && nerrors == 0)
		pa_warn("%s:%ld: the query result is empty: no series matched", r->where, r->lineno);
	return pa_tsdb_acc_finish(r->acc, emit, ctx);
}

/* ---- CSV responses ---- */

/*
 * Rows of a CSV response as JSON arrays of strings, with the physical line
 * each starts on.
 */
struct csv_rows {
	json_t *rows;
	json_t *row;
	json_t *lines;
	long line;		/* current physical line */
};

static void
csv_field(void *s, size_t len, void *data)
{
	struct csv_rows *c = data;

	if (c->row == NULL) {
		c->row = json_array();
		json_array_append_new(c->lines, json_integer(c->line));
	}
	json_array_append_new(c->row, json_stringn(s ? s : "", s ? len : 0));
}

static void
csv_row(int term, void *data)
{
	struct csv_rows *c = data;

	(void)term;
	if (c->row == NULL) {
		c->row = json_array();
		json_array_append_new(c->lines, json_integer(c->line));
	}
	json_array_append_new(c->rows, c->row);
	c->row = NULL;
}

/*
 * Split InfluxDB's CSV tags cell, "host=a,region=us\ west", into an
 * object.  Backslash escapes the next byte, as line protocol does.
 * Returns NULL when a pair has no '='.
 */
static json_t *
parse_tags(const char *s)
{
	json_t *tags = json_object();
	char *key = NULL, *val = NULL;
	size_t klen = 0, vlen = 0;
	FILE *k = open_memstream(&key, &klen), *v = NULL;
	int ok = 1;

	if (k == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	if (*s == '\0') {
		fclose(k);
		free(key);
		return tags;
	}
	for (;; s++) {
		if (*s == '\\' && s[1] != '\0') {
			fputc(*++s, v ? v : k);
			continue;
		}
		if (*s == '=' && v == NULL) {
			v = open_memstream(&val, &vlen);
			if (v == NULL)
				pa_die(PA_EXIT_IO, "out of memory");
			continue;
		}
		if (*s == ',' || *s == '\0') {
			fclose(k);
			if (v == NULL) {
				ok = 0;
				free(key);
				break;
			}
			fclose(v);
			json_object_set_new(tags, key, json_string(val));
			free(key);
			free(val);
			v = NULL;
			if (*s == '\0')
				break;
			k = open_memstream(&key, &klen);
			if (k == NULL)
				pa_die(PA_EXIT_IO, "out of memory");
			continue;
		}
		fputc(*s, v ? v : k);
	}
	if (!ok) {
		json_decref(tags);
		return NULL;
	}
	return tags;
}

/* A cell of a CSV value column: null when empty, a number when it reads as one, else text. */
static json_t *
csv_value(const char *s)
{
	char *end;
	double v;

	if (*s == '\0')
		return json_null();
	errno = 0;
	v = strtod(s, &end);
	if (*end == '\0' && isfinite(v))
		return json_real(v);
	return json_string(s);
}

/* CSV responses always give epoch nanoseconds. */
static int
parse_nanoseconds(const char *s, pa_usec_t *out)
{
	long long ns;
	char *end;

	errno = 0;
	ns = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0)
		return -1;
	*out = ns / 1000;
	return 0;
}

/*
 * Reject the row still open at the end of a CSV response: every line before
 * it ended in a newline, so it can only be inside a quoted field that never
 * closed, as in a response cut short.  Its text runs from done_off, the end
 * of the last complete row, on line done_line.
 */
static void
reject_cut_row(const struct read_ctx *r, const char *doc, size_t len, size_t done_off,
	       long done_line)
{
	long lines = 1;

	while (done_off < len && (doc[done_off] == '\n' || doc[done_off] == '\r')) {
		done_line += doc[done_off] == '\n';
		done_off++;
	}
	for (size_t i = done_off; i < len; i++)
		lines += doc[i] == '\n';
	pa_diag_count_read();
	if (lines == 1)
		pa_reject(r->where, r->lineno + done_line - 1, doc + done_off, len - done_off,
			  "record cut off at end of input",
			  "record cut off at end of input: unclosed quoted field");
	else
		pa_reject(r->where, r->lineno + done_line - 1, doc + done_off, len - done_off,
			  "record cut off at end of input",
			  "record cut off at end of input: unclosed quoted field, which takes "
			  "the %ld lines from here to the end", lines);
}

/*
 * Split a CSV response into rows, each with the physical line where its
 * first cell ends.  Returns 0, or -1 after rejecting the response as
 * invalid CSV.
 */
static int
split_csv(const struct read_ctx *r, const char *doc, size_t len, struct csv_rows *c)
{
	struct csv_parser p;
	size_t off = 0, done_off = 0, nrows;
	long done_line = 1;

	if (csv_init(&p, CSV_APPEND_NULL) != 0)
		pa_die(PA_EXIT_IO, "out of memory");
	while (off < len) {
		const char *nl = memchr(doc + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (doc + off)) + 1 : len - off;

		nrows = json_array_size(c->rows);
		if (csv_parse(&p, doc + off, n, csv_field, csv_row, c) != n) {
			char msg[200];

			snprintf(msg, sizeof msg, "invalid CSV at line %ld: %s", c->line,
				 csv_strerror(csv_error(&p)));
			reject_doc(r->where, r->lineno, doc, len, "invalid CSV", msg);
			csv_free(&p);
			return -1;
		}
		off += n;
		c->line++;
		if (json_array_size(c->rows) > nrows) {
			done_off = off;
			done_line = c->line;
		}
	}

	/*
	 * The last line comes without its newline.  Ending it here leaves
	 * csv_fini a row only when a quoted field is still open.
	 */
	if (len > 0 && doc[len - 1] != '\n') {
		nrows = json_array_size(c->rows);
		csv_parse(&p, "\n", 1, csv_field, csv_row, c);
		if (json_array_size(c->rows) > nrows) {
			done_off = len;
			done_line = c->line + 1;
		}
	}
	nrows = json_array_size(c->rows);
	csv_fini(&p, csv_field, csv_row, c);
	csv_free(&p);
	if (json_array_size(c->rows) > nrows) {
		json_array_remove(c->rows, nrows);
		json_array_remove(c->lines, nrows);
		reject_cut_row(r, doc, len, done_off, done_line);
	}
	return 0;
}

/* Reject CSV row i, which is not a data row of the current header, on its line. */
static void
reject_csv_row(const struct read_ctx *r, const struct csv_rows *c, size_t i, const char *fmt,
	       ...)
{
	const json_t *row = json_array_get(c->rows, i);
	long line = r->lineno + (long)json_integer_value(json_array_get(c->lines, i)) - 1;
	char *text = pa_tsdb_dump(row);
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pa_diag_count_read();
	pa_reject(r->where, line, text, strlen(text), "invalid row", "%s", msg);
	free(text);
}

/*
 * Turn a CSV response into the JSON response's shape: consecutive rows with
 * the same name and tags make one series.  Times become RFC 3339 text.
 */
static long
read_csv(struct read_ctx *r, const char *doc, size_t len, pa_tsdb_emit_fn emit, void *ctx)
{
	struct csv_rows c = { json_array(), NULL, json_array(), 1 };
	json_t *header = NULL, *series = NULL, *list = json_array();
	json_t *list_lines = json_array();	/* the line of each row of each series in list */
	const char *prev_name = NULL, *prev_tags = NULL;
	size_t i;
	long emitted = -1;
	json_t *row;

	if (split_csv(r, doc, len, &c) != 0)
		goto out;

	header = json_array_get(c.rows, 0);
	if (header != NULL && json_array_size(header) >= 1 &&
	    strcmp(json_string_value(json_array_get(header, 0)), "error") == 0) {
		const char *error = json_string_value(json_array_get(json_array_get(c.rows, 1), 0));
		char msg[600];

		snprintf(msg, sizeof msg, "InfluxDB returned an error: %s", error ? error : "no message");
		reject_doc(r->where, r->lineno, doc, len, "InfluxDB error response", msg);
		header = NULL;
		goto out;
	}

	header = NULL;
	json_array_foreach(c.rows, i, row) {
		const char *first = json_string_value(json_array_get(row, 0));
		const char *tagtext = json_string_value(json_array_get(row, 1));
		const char *time = json_string_value(json_array_get(row, 2));
		json_t *values, *tags;
		pa_usec_t ts;
		char when[40];

		if (json_array_size(row) >= 3 && strcmp(first, "name") == 0 &&
		    strcmp(tagtext, "tags") == 0 && strcmp(time, "time") == 0) {
			json_t *columns = json_array();

			json_array_append_new(columns, json_string("time"));
			for (size_t k = 3; k < json_array_size(row); k++)
				json_array_append(columns, json_array_get(row, k));
			json_decref(header);
			header = columns;
			series = NULL;
			continue;
		}
		if (header == NULL) {
			reject_csv_row(r, &c, i, "CSV row before a name,tags,time header");
			continue;
		}
		if (json_array_size(row) != json_array_size(header) + 2) {
			reject_csv_row(r, &c, i, "CSV row of %zu cells for a header of %zu columns",
				       json_array_size(row), json_array_size(header) + 2);
			continue;
		}
		if (parse_nanoseconds(time, &ts) != 0) {
			reject_csv_row(r, &c, i, "CSV time is not epoch nanoseconds: %s",
				       pa_quote(time, strlen(time)));
			continue;
		}

		if (series == NULL || strcmp(first, prev_name) != 0 || strcmp(tagtext, prev_tags) != 0) {
			tags = parse_tags(tagtext);
			if (tags == NULL) {
				reject_csv_row(r, &c, i, "CSV tags cell %s is not KEY=VALUE pairs",
					       pa_quote(tagtext, strlen(tagtext)));
				continue;
			}
			series = json_pack("{s:s,s:o,s:O,s:[]}", "name", first, "tags", tags,
					   "columns", header, "values");
			json_array_append_new(list, series);
			json_array_append_new(list_lines, json_array());
			prev_name = first;
			prev_tags = tagtext;
		}
		values = json_array();
		json_array_append_new(values, json_string(pa_time_format(ts, when, sizeof when)));
		for (size_t k = 3; k < json_array_size(row); k++)
			json_array_append_new(values, csv_value(json_string_value(json_array_get(row, k))));
		json_array_append_new(json_object_get(series, "values"), values);
		json_array_append(json_array_get(list_lines, json_array_size(list_lines) - 1),
				  json_array_get(c.lines, i));
	}

	r->acc = pa_tsdb_acc_new(r->map, r->where, r->lineno);
	json_array_foreach(list, i, series) {
		r->csv_lines = json_array_get(list_lines, i);
		read_series(r, series);
	}
	r->csv_lines = NULL;
	if (json_array_size(list) == 0)
		pa_warn("%s:%ld: the query result is empty: no series matched", r->where, r->lineno);
	emitted = pa_tsdb_acc_finish(r->acc, emit, ctx);
out:
	json_decref(header);
	json_decref(list);
	json_decref(list_lines);
	json_decref(c.rows);
	json_decref(c.lines);
	return emitted;
}

long
pa_influx_read(const char *where, long lineno, const char *doc, size_t len,
	       const struct pa_tsdb_map *map, pa_tsdb_emit_fn emit, void *ctx)
{
	struct read_ctx r = { .where = where, .lineno = lineno, .map = map };
	size_t i = 0;

	while (i < len && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r'))
		i++;
	if (i < len && doc[i] == '{') {
		json_error_t jerr;
		json_t *root = json_loadb(doc, len, 0, &jerr);
		long emitted;

		if (root == NULL) {
			pa_tsdb_reject_invalid_json(where, lineno, doc, len, &jerr);
			return -1;
		}
		emitted = read_json(&r, root, doc, len, NULL, emit, ctx);
		json_decref(root);
		return emitted;
	}
	return read_csv(&r, doc, len, emit, ctx);
}

long
pa_influx_read_json(const char *where, long lineno, const json_t *root, const char *doc,
		    size_t len, const struct pa_tsdb_map *map, struct pa_tsdb_acc **pending,
		    pa_tsdb_emit_fn emit, void *ctx)
{
	struct read_ctx r = { .where = where, .lineno = lineno, .map = map };

	return read_json(&r, root, doc, len, pending, emit, ctx);
}

/* ---- Writing line protocol ---- */

static const char *
measurement_for(const char *kind)
{
	if (kind == NULL)
		return NULL;
	if (strcmp(kind, "bucket") == 0)
		return "pa_bucket";
	if (strcmp(kind, "forecast") == 0)
		return "pa_forecast";
	if (strcmp(kind, "usage") == 0)
		return "pa_usage";
	return NULL;
}

/*
 * Why a tag value cannot be written, or NULL.  InfluxDB 1.x keeps a
 * backslash literally unless it precedes a comma, '=' or space, so a
 * value cannot end in one; no escape exists for control characters.
 */
static const char *
tag_problem(const char *v)
{
	size_t n = strlen(v);

	if (n == 0)
		return "is empty";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return "contains a newline or another control character";
	if (v[n - 1] == '\\')
		return "ends in a backslash";
	return NULL;
}

static void
put_escaped(FILE *f, const char *s, const char *special)
{
	for (; *s; s++) {
		if (strchr(special, *s) != NULL)
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* Record keys that are not fields: the measurement, the time and the tags. InfluxDB reserves "time". */
static int
is_id_key(const char *key)
{
	return strcmp(key, "kind") == 0 || strcmp(key, "ts") == 0 || strcmp(key, "time") == 0 ||
	       strcmp(key, "tenant") == 0 ||
	       strcmp(key, "service") == 0 || strcmp(key, "instance_id") == 0 ||
	       strcmp(key, "tenant_service_name") == 0;
}

/*
 * A forecast with several levels lists them in "intervals", which a field
 * cannot hold.  Each number of each level becomes a field named with the
 * level in percent, such as volume_upper_95, after the record's own.
 */
static void
put_interval_fields(FILE *out, const json_t *intervals)
{
	size_t k;
	json_t *e;

	json_array_foreach(intervals, k, e) {
		const json_t *level = json_object_get(e, "interval_level");
		const char *key;
		json_t *v;

		if (!json_is_number(level))
			continue;
		json_object_foreach(e, key, v) {
			char num[40];

			if (!json_is_number(v) || strcmp(key, "interval_level") == 0)
				continue;
			fputc(',', out);
			put_escaped(out, key, ", =");
			fprintf(out, "_%s=", pa_tsdb_format_double(json_number_value(level) * 100, num,
								    sizeof num));
			fputs(pa_tsdb_format_double(json_number_value(v), num, sizeof num), out);
		}
	}
}

int
pa_influx_write_record(FILE *out, const json_t *rec, char *err, size_t errsize)
{
	const char *measurement = measurement_for(pa_rec_kind(rec));
	const char *instance = pa_rec_str(rec, "instance_id");
	const char *tag[3], *tagname[3] = { "tenant", "service", "instance_id" };
	char *tenant, *service;
	const char *key;
	json_t *v;
	pa_usec_t ts;
	int ntags = 2, nfields = 0;

	if (measurement == NULL)
		return 0;
	if (pa_rec_time(rec, "ts", &ts) != 1) {
		snprintf(err, errsize, "field \"ts\" is missing or not a timestamp");
		return -1;
	}
	/* Nanoseconds in an int64 reach from 1677 to 2262. */
	if (ts > INT64_MAX / 1000 || ts < INT64_MIN / 1000) {
		snprintf(err, errsize, "field \"ts\" is outside the nanosecond range of line protocol (years 1677 to 2262)");
		return -1;
	}
	if (pa_tsdb_record_ids(rec, &tenant, &service, err, errsize) != 0)
		return -1;
	tag[0] = tenant;
	tag[1] = service;
	if (strcmp(measurement, "pa_usage") == 0) {
		tag[2] = instance ? instance : "";
		ntags = 3;
	}

	/* Check everything before writing, so a line is never half written. */
	for (int i = 0; i < ntags; i++) {
		const char *why = tag_problem(tag[i]);

		if (why != NULL) {
			snprintf(err, errsize, "tag %s value %s %s, which line protocol cannot carry",
				 tagname[i], pa_quote(tag[i], strlen(tag[i])), why);
			goto fail;
		}
	}
	json_object_foreach((json_t *)rec, key, v) {
		if (is_id_key(key))
			continue;
		if (json_is_string(v) && strchr(json_string_value(v), '\n') != NULL) {
			snprintf(err, errsize, "field %s contains a newline, which line protocol cannot carry",
				 key);
			goto fail;
		}
		if (json_is_number(v) || json_is_string(v) || json_is_boolean(v))
			nfields++;
	}
	if (nfields == 0) {
		snprintf(err, errsize, "record has no fields to write");
		goto fail;
	}

	put_escaped(out, measurement, ", ");
	for (int i = 0; i < ntags; i++) {
		fprintf(out, ",%s=", tagname[i]);
		put_escaped(out, tag[i], ", =");
	}
	nfields = 0;
	json_object_foreach((json_t *)rec, key, v) {
		char num[40];

		if (is_id_key(key) || !(json_is_number(v) || json_is_string(v) || json_is_boolean(v)))
			continue;
		fputc(nfields++ ? ',' : ' ', out);
		put_escaped(out, key, ", =");
		fputc('=', out);
		if (json_is_number(v)) {
			fputs(pa_tsdb_format_double(json_number_value(v), num, sizeof num), out);
		} else if (json_is_boolean(v)) {
			fputs(json_is_true(v) ? "true" : "false", out);
		} else {
			fputc('"', out);
			put_escaped(out, json_string_value(v), "\"\\");
			fputc('"', out);
		}
	}
	put_interval_fields(out, json_object_get(rec, "intervals"));
	fprintf(out, " %lld\n", (long long)ts * 1000);
	free(tenant);
	free(service);
	return 1;
fail:
	free(tenant);
	free(service);
	return -1;
}
