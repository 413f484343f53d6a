#include "ingest.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "input.h"
#include "ndjson.h"

void
pa_ingest_init(struct pa_ingest *in)
{
	memset(in, 0, sizeof *in);
	pa_tenancy_init(&in->tenancy);
	pa_jsonw_init(&in->w);
	in->max_line = PA_MAX_LINE_DEFAULT;
	in->threads = 1;
	in->feed.tenancy = &in->tenancy;
}

static void
free_header(struct pa_ingest *in)
{
	for (int i = 0; i < in->nheader; i++)
		free(in->header[i]);
	free(in->header);
	in->header = NULL;
	in->nheader = 0;
}

void
pa_ingest_free(struct pa_ingest *in)
{
	pa_jsonw_flush(&in->w);
	pa_tenancy_free(&in->tenancy);
	pa_fieldmap_free(&in->fields);
	pa_jsonw_free(&in->w);
	free(in->scratch);
	free_header(in);
}

static void
emit_span(struct pa_jsonw *w, const char *key, struct pa_span s)
{
	if (s.p != NULL)
		pa_jsonw_str(w, key, s.p, s.len);
}

/*
 * Write one request record.  row is the JSON or CSV row it came from, or
 * NULL for an access-log line parsed with format.  A row's tenant and
 * service fields are used unless --tenant or --service rules were given.
 */
/* Named fields of an access-log line, for field: rules. */
struct log_fields {
	const struct pa_logformat *format;
	const struct pa_request *req;
};

static const char *
log_field(void *ctx, const char *name, size_t *len)
{
	const struct log_fields *lf = ctx;

	return pa_request_named(lf->format, lf->req, name, len);
}

static void
emit_request(const struct pa_ingest *in, struct pa_jsonw *w, const struct pa_request *req,
	     struct pa_row *row, const struct pa_logformat *format)
{
	struct log_fields lf = { format, req };
	struct pa_rule_input ri;
	char tenant[PA_NAME_MAX], service[PA_NAME_MAX], tsn[2 * PA_NAME_MAX];
	char path[2048];
	size_t plen = 0, tl, sl;

	if (req->path.p != NULL)
		plen = pa_path_normalise(&in->tenancy, req->path.p, req->path.len, path, sizeof path);

	memset(&ri, 0, sizeof ri);
	ri.host = req->host;
	ri.referer = req->referer;
	ri.client = req->client;
	ri.user_agent = req->user_agent;
	if (req->path.p != NULL) {
		ri.path.p = path;
		ri.path.len = plen;
	}
	if (row != NULL) {
		ri.field = pa_row_field_cb;
		ri.field_ctx = row;
	} else if (format != NULL && format->nnamed > 0) {
		ri.field = log_field;
		ri.field_ctx = &lf;
	}
	pa_tenancy_resolve(&in->tenancy, &ri, tenant, service);
	if (row != NULL) {
		const char *v;
		size_t len;
		int own = 0;	/* the row named its tenant or service */

		if ((v = pa_row_get(row, PA_T_TSN, &len, NULL)) != NULL && memchr(v, '/', len) &&
		    !in->tenancy.custom[0] && !in->tenancy.custom[1]) {
			const char *slash = memchr(v, '/', len);

			pa_name_clean(v, (size_t)(slash - v), 0, tenant);
			pa_name_clean(slash + 1, len - (size_t)(slash - v) - 1, 0, service);
			own = 1;
		} else {
			if (!in->tenancy.custom[0] && (v = pa_row_get(row, PA_T_TENANT, &len, NULL)) != NULL) {
				pa_name_clean(v, len, 0, tenant);
				own = 1;
			}
			if (!in->tenancy.custom[1] && (v = pa_row_get(row, PA_T_SERVICE, &len, NULL)) != NULL) {
				pa_name_clean(v, len, 0, service);
				own = 1;
			}
		}
		if (tenant[0] == '\0')
			memcpy(tenant, in->tenancy.fallback_tenant, PA_NAME_MAX);
		if (service[0] == '\0')
			memcpy(service, in->tenancy.fallback_service, PA_NAME_MAX);

		/* pa_tenancy_resolve() mapped the rules' names, and --map renames the row's own too. */
		if (own)
			pa_tenancy_map(&in->tenancy, tenant, service);
	}
	tl = strlen(tenant);
	sl = strlen(service);
	memcpy(tsn, tenant, tl);
	tsn[tl] = '/';
	memcpy(tsn + tl + 1, service, sl);

	/* Names are cleaned to [A-Za-z0-9._-], so they need no escaping. */
	pa_jsonw_begin(w);
	pa_jsonw_plain(w, "kind", "request", 7);
	pa_jsonw_time(w, "ts", req->ts);
	pa_jsonw_plain(w, "tenant", tenant, tl);
	pa_jsonw_plain(w, "service", service, sl);
	pa_jsonw_plain(w, "tenant_service_name", tsn, tl + 1 + sl);
	emit_span(w, "client_id", req->client);
	if (req->client.p != NULL && req->client.len >= 5 && memcmp(req->client.p, "unix:", 5) == 0)
		pa_jsonw_cstr(w, "client_socket", "unix");
	emit_span(w, "method", req->method);
	if (req->path.p != NULL)
		pa_jsonw_str(w, "path", path, plen);
	if (req->status != 0)
		pa_jsonw_int(w, "status", req->status);
	if (req->has_bytes_in)
		pa_jsonw_int(w, "bytes_in", req->bytes_in);
	if (req->has_bytes_out)
		pa_jsonw_int(w, "bytes_out", req->bytes_out);
	if (req->has_duration)
		pa_jsonw_num(w, "duration_ms", req->duration_ms);
	if (in->add & PA_ADD_HOST)
		emit_span(w, "host", req->host);
	if (in->add & PA_ADD_QUERY)
		emit_span(w, "query", req->query);
	if (in->add & PA_ADD_REFERER)
		emit_span(w, "referer", req->referer);
	if (in->add & PA_ADD_USER_AGENT)
		emit_span(w, "user_agent", req->user_agent);
	pa_jsonw_end(w);
}

#define ROW_REJECT(cls, ...)                                                         \
	do {                                                                         \
		pa_reject(where, lineno, raw, rawlen, (cls), __VA_ARGS__);           \
		return;                                                              \
	} while (0)

/*
 * Reject a row because the value v[0..len) of a field is not what the
 * field expects.  A JSON value is shown with its type, as pa-score shows
 * it, because the string "-3" and the number -3 call for different fixes.
 * A CSV cell is always text, so it is quoted as it is.
 */
static void
reject_value(const struct pa_row *row, const char *where, long lineno, const char *raw,
	     size_t rawlen, const char *reason_class, const char *source, const char *expected,
	     const char *v, size_t len)
{
	if (row->json != NULL && row->value != NULL)
		pa_reject(where, lineno, raw, rawlen, reason_class, "field %s is not %s: %s",
			  pa_quote(source, strlen(source)), expected, pa_quote_json(row->value));
	else
		pa_reject(where, lineno, raw, rawlen, reason_class, "%s %s", reason_class,
			  pa_quote(v, len));
}

#define VALUE_REJECT(cls, expected)                                                        \
	do {                                                                               \
		reject_value(row, where, lineno, raw, rawlen, (cls), source, (expected), v, len); \
		return;                                                                    \
	} while (0)

/*
 * Return 1 when pa_row_get() found a JSON field for a number but returned no
 * text, because its value is an object, an array or a boolean.  A status
 * wrapped in an object must not count as a request without a status.
 */
static int
wrong_json_type(const struct pa_row *row, const char *v, const char *source)
{
	return v == NULL && source != NULL && row->json != NULL && row->value != NULL &&
	       (json_is_object(row->value) || json_is_array(row->value) ||
		json_is_boolean(row->value));
}

/*
 * Maximum byte count of a JSON or CSV row: 2^53, above which a double
 * (a JSON number in most readers) cannot represent every whole number.
 */
#define BYTES_MAX 9007199254740992LL

/*
 * Maximum duration of a JSON or CSV row, 1e9 ms (about 11.6 days).  A
 * longer one comes from a wrong unit or a broken logger, and would swamp
 * every sum it enters.
 */
#define DURATION_MS_MAX 1e9

/*
 * Parse a byte count: "-" is 0, otherwise a whole number from 0 to
 * BYTES_MAX.  Returns 0, -1 for text that is no whole number >= 0, or -2
 * for one above BYTES_MAX.
 */
static int
parse_count(const char *v, size_t len, long long *out)
{
	double d;
	size_t digits = 0;

	if (len == 1 && v[0] == '-') {
		*out = 0;
		return 0;
	}

	/* Plain digits are read exactly, because a double rounds counts above 2^53. */
	while (digits < len && isdigit((unsigned char)v[digits]))
		digits++;
	if (len > 0 && digits == len) {
		unsigned long long n = 0;

		for (size_t i = 0; i < len; i++) {
			if (n > BYTES_MAX / 10)
				return -2;
			n = n * 10 + (unsigned)(v[i] - '0');
		}
		if (n > BYTES_MAX)
			return -2;
		*out = (long long)n;
		return 0;
	}

	/*
	 * Other forms, such as 1e3, go through a double, where 2^53 may be a
	 * rounded larger value.  NOTE: jansson reads a JSON real such as
	 * 9007199254740993.0 as a double before this, so it arrives as the
	 * digits of 2^53 and is accepted.
	 */
	if (pa_parse_number(v, len, &d) != 0 || d < 0 || d != floor(d))
		return -1;
	if (d >= (double)BYTES_MAX)
		return -2;
	*out = (long long)d;
	return 0;
}

/* Reject a row because a number of field source is above its limit, which max_text names. */
static void
reject_range(const struct pa_row *row, const char *where, long lineno, const char *raw,
	     size_t rawlen, const char *reason_class, const char *source, const char *max_text,
	     const char *v, size_t len)
{
	if (row->json != NULL && row->value != NULL)
		pa_reject(where, lineno, raw, rawlen, reason_class, "field %s is more than %s: %s",
			  pa_quote(source, strlen(source)), max_text, pa_quote_json(row->value));
	else
		pa_reject(where, lineno, raw, rawlen, reason_class, "column %s is more than %s: %s",
			  pa_quote(source, strlen(source)), max_text, pa_quote(v, len));
}

#define RANGE_REJECT(cls, max_text)                                                      \
	do {                                                                             \
		reject_range(row, where, lineno, raw, rawlen, (cls), source, (max_text), v, len); \
		return;                                                                  \
	} while (0)

/* Keep a field's text as a span.  The text of a JSON number lives as long as the row. */
static void
keep_span(struct pa_span *span, const char *v, size_t len)
{
	span->p = v;
	span->len = len;
}

/*
 * Return the --format that reads row, when row is the start of a database
 * query result rather than a request: a Prometheus HTTP API response, or
 * an InfluxDB 1.x response as JSON or CSV.  NULL otherwise.
 */
static const char *
query_result_format(const struct pa_row *row)
{
	if (row->json != NULL) {
		const json_t *data = json_object_get(row->json, "data");

		if (json_is_string(json_object_get(row->json, "status")) &&
		    json_object_get(data, "resultType") != NULL)
			return "prometheus";
		if (json_is_array(json_object_get(row->json, "results")))
			return "influxdb";
		return NULL;
	}
	if (row->header != NULL && row->nheader >= 3 && strcmp(row->header[0], "name") == 0 &&
	    strcmp(row->header[1], "tags") == 0 && strcmp(row->header[2], "time") == 0)
		return "influxdb";
	return NULL;
}

/* A request from a JSON object or a CSV record, with fields found by name. */
static void
row_request(struct pa_ingest *in, struct pa_row *row, const char *where, long lineno,
	    const char *raw, size_t rawlen)
{
	static const struct {
		enum pa_target t;
		double to_ms;
	} durations[] = {
		{ PA_T_DURATION_MS, 1 }, { PA_T_DURATION_S, 1e3 },
		{ PA_T_DURATION_US, 1e-3 }, { PA_T_DURATION_NS, 1e-6 },
	};
	struct pa_request req;
	const char *v, *source = NULL;
	size_t len;
	double d;

	memset(&req, 0, sizeof req);
	if (pa_row_check_cells(row, where, lineno, raw, rawlen) != 0)
		return;
	if ((v = query_result_format(row)) != NULL)
		ROW_REJECT("query result", "%s query result, not a request: read it with --format %s",
			   strcmp(v, "prometheus") == 0 ? "a Prometheus" : "an InfluxDB", v);
	v = pa_row_get(row, PA_T_TS, &len, &source);
	if (wrong_json_type(row, v, source))
		VALUE_REJECT("invalid timestamp", "a timestamp");
	if (v == NULL && (source = pa_row_empty_source(row, PA_T_TS)) != NULL)
		ROW_REJECT("empty timestamp", "empty timestamp in %s %s",
			   row->csv != NULL ? "column" : "field", pa_quote(source, strlen(source)));
	if (v == NULL)
		ROW_REJECT("missing timestamp",
			   "missing timestamp (name its field with --field ts=NAME)");
	if (pa_parse_time_local(v, len, in->feed.utc_offset, &req.ts) != 0)
		VALUE_REJECT("invalid timestamp", "a timestamp");

	if ((v = pa_row_get(row, PA_T_CLIENT, &len, NULL)) != NULL && !(len == 1 && v[0] == '-'))
		keep_span(&req.client, v, len);
	/* Status, sizes and durations are parsed at once; text fields are kept as spans below. */
	source = NULL;
	if ((v = pa_row_get(row, PA_T_STATUS, &len, &source)) != NULL || wrong_json_type(row, v, source)) {
		if (v == NULL || pa_parse_number(v, len, &d) != 0 || d < 100 || d > 599 || d != (int)d)
			VALUE_REJECT("invalid status code", "a status code from 100 to 599");
		req.status = (int)d;
	}
	source = NULL;
	if ((v = pa_row_get(row, PA_T_BYTES_OUT, &len, &source)) != NULL ||
	    wrong_json_type(row, v, source)) {
		int count_rc = v == NULL ? -1 : parse_count(v, len, &req.bytes_out);

		if (count_rc == -2)
			RANGE_REJECT("byte count out of range", "2^53 (9007199254740992)");
		if (count_rc != 0)
			VALUE_REJECT("invalid byte count", "a byte count (a whole number >= 0)");
		req.has_bytes_out = 1;
	}
	source = NULL;
	if ((v = pa_row_get(row, PA_T_BYTES_IN, &len, &source)) != NULL ||
	    wrong_json_type(row, v, source)) {
		int count_rc = v == NULL ? -1 : parse_count(v, len, &req.bytes_in);

		if (count_rc == -2)
			RANGE_REJECT("byte count out of range", "2^53 (9007199254740992)");
		if (count_rc != 0)
			VALUE_REJECT("invalid byte count", "a byte count (a whole number >= 0)");
		req.has_bytes_in = 1;
	}
	for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
		source = NULL;
		if ((v = pa_row_get(row, durations[i].t, &len, &source)) == NULL &&
		    !wrong_json_type(row, v, source))
			continue;
		if (v == NULL || pa_parse_number(v, len, &d) != 0 || d < 0)
			VALUE_REJECT("invalid duration", "a duration >= 0");
		if (d * durations[i].to_ms > DURATION_MS_MAX)
			RANGE_REJECT("duration out of range", "1e9 ms (about 11.6 days)");
		req.duration_ms = d * durations[i].to_ms;
		req.has_duration = 1;
		break;
	}
	if ((v = pa_row_get(row, PA_T_HOST, &len, NULL)) != NULL)
		keep_span(&req.host, v, len);
	if ((v = pa_row_get(row, PA_T_METHOD, &len, NULL)) != NULL)
		keep_span(&req.method, v, len);
	if ((v = pa_row_get(row, PA_T_PATH, &len, NULL)) != NULL) {
		struct pa_span uri;

		keep_span(&uri, v, len);
		pa_request_set_uri(&req, uri.p, uri.len);
	} else if ((v = pa_row_get(row, PA_T_REQUEST, &len, NULL)) != NULL &&
		   (row->json == NULL || !json_is_number(row->value))) {
		struct pa_span method = req.method;

		pa_request_set_line(&req, v, len);
		if (method.p != NULL)
			req.method = method;
	}
	if ((v = pa_row_get(row, PA_T_REFERER, &len, NULL)) != NULL && !(len == 1 && v[0] == '-')) {
		req.referer.p = v;
		req.referer.len = len;
	}
	if ((v = pa_row_get(row, PA_T_USER_AGENT, &len, NULL)) != NULL && !(len == 1 && v[0] == '-')) {
		req.user_agent.p = v;
		req.user_agent.len = len;
	}

	/*
	 * A row with a time and no field of a request is more often another
	 * kind of file, such as a metrics snapshot, than a request.
	 */
	if (req.method.p == NULL && req.path.p == NULL && req.status == 0 && !req.has_bytes_out &&
	    !req.has_bytes_in && !req.has_duration && in->bare_rows++ == 0)
		snprintf(in->bare_first, sizeof in->bare_first, "%s:%ld", where, lineno);
	emit_request(in, &in->w, &req, row, NULL);
}

static void
dispatch_row(struct pa_ingest *in, struct pa_row *row, const char *where, long lineno,
	     const char *raw, size_t rawlen)
{
	switch (in->type) {
	case PA_TYPE_REQUESTS:
		row_request(in, row, where, lineno, raw, rawlen);
		return;
	case PA_TYPE_EVENTS:
		pa_feed_event(row, &in->feed, &in->w, where, lineno, raw, rawlen);
		break;
	case PA_TYPE_USAGE:
		pa_feed_usage(row, &in->feed, &in->w, where, lineno, raw, rawlen);
		break;
	case PA_TYPE_SERIES:
		pa_feed_series(row, &in->feed, &in->series, &in->w, where, lineno, raw, rawlen);
		break;
	}
}

/* A JSON line: pass through when it has a kind, otherwise a row. */
static void
json_line(struct pa_ingest *in, const char *where, struct pa_line *line,
	  enum pa_line_status st)
{
	json_t *obj = pa_line_to_object(where, line, st);
	struct pa_row row;

	if (obj == NULL)
		return;
	if (pa_rec_kind(obj) != NULL) {
		pa_jsonw_flush(&in->w);
		pa_out_write(line->text, line->len);
		pa_out_write("\n", 1);
		in->passed++;
		json_decref(obj);
		return;
	}
	memset(&row, 0, sizeof row);
	row.json = obj;
	row.map = &in->fields;
	dispatch_row(in, &row, where, line->lineno, line->text, line->len);
	json_decref(obj);
}

static void
scratch_reserve(struct pa_ingest *in, size_t n)
{
	if (n <= in->scratch_cap)
		return;
	in->scratch_cap = n < 4096 ? 4096 : n * 2;
	free(in->scratch);
	in->scratch = malloc(in->scratch_cap);
	if (in->scratch == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
}

/* Return the name of the access-log preset that reads line s[0..len) whole, or NULL. */
static const char *
access_log_preset(struct pa_ingest *in, const char *s, size_t len)
{
	scratch_reserve(in, 2 * (len + 1));
	for (int p = 0; pa_logformat_presets[p] != NULL; p++) {
		struct pa_logformat f;
		struct pa_request req;
		const char *cls;
		char err[256];

		if (pa_logformat_preset(pa_logformat_presets[p], &f) == 0 &&
		    pa_logformat_parse(&f, s, len, in->scratch, &req, &cls, err, sizeof err) == 0)
			return pa_logformat_presets[p];
	}
	return NULL;
}

/* Warn that the header has no column for target t, naming the --field to give. */
static void
warn_missing_column(const struct pa_ingest *in, const struct pa_csvrec *rec, enum pa_target t)
{
	const char *source = in->fields.source[t];

	if (source != NULL)
		pa_warn("%s:%ld: column %s (from --field %s=%s) not found in the header",
			rec->where, rec->lineno, pa_quote(source, strlen(source)), pa_target_name(t),
			source);
	else
		pa_warn("%s:%ld: the header has no %s column; name it with --field %s=COLUMN",
			rec->where, rec->lineno, pa_target_name(t), pa_target_name(t));
}

/*
 * Check before the first record that the header has the columns every
 * record needs, so a wrong file or a missing --field stops with one
 * message instead of a reject per line.
 */
static void
check_header(struct pa_ingest *in, const struct pa_csvrec *rec)
{
	static const enum pa_target metric[3] = { PA_T_CPU, PA_T_MEMORY, PA_T_NETWORK };
	static const char *const type_name[] = {
		[PA_TYPE_EVENTS] = "events", [PA_TYPE_USAGE] = "usage", [PA_TYPE_SERIES] = "series",
	};
	const char *preset;

	in->bad_header = 1;
	if (pa_line_is_binary(&(struct pa_line){ (char *)rec->raw, rec->rawlen, rec->lineno })) {
		pa_warn("%s:%ld: binary data, not a text, JSON or CSV header: %s", rec->where,
			rec->lineno, pa_quote(rec->raw, rec->rawlen < 16 ? rec->rawlen : 16));
		return;
	}

	/* Only requests come from access logs; other types read CSV or JSON. */
	if (in->type != PA_TYPE_REQUESTS &&
	    (preset = access_log_preset(in, rec->raw, rec->rawlen)) != NULL) {
		pa_warn("%s:%ld: the input is an access log (%s format), but --type %s reads CSV "
			"or JSON; read access logs without --type", rec->where, rec->lineno, preset,
			type_name[in->type]);
		return;
	}
	if (in->columns[PA_T_TS] < 0) {
		warn_missing_column(in, rec, PA_T_TS);
		return;
	}
	if (in->type == PA_TYPE_USAGE) {
		int found = 0;

		for (int i = 0; i < 3; i++) {
			if (in->columns[metric[i]] >= 0)
				found = 1;
			else if (in->fields.source[metric[i]] != NULL) {
				warn_missing_column(in, rec, metric[i]);
				return;
			}
		}
		if (!found) {
			pa_warn("%s:%ld: the header has no cpu_usage, memory_usage or network_io "
				"column; name one with --field cpu_usage=COLUMN", rec->where,
				rec->lineno);
			return;
		}

		/*
		 * Utilization exports often hold one machine per file, named after
		 * it, with no instance column.
		 */
		if (in->columns[PA_T_INSTANCE] < 0 && in->fields.source[PA_T_INSTANCE] == NULL &&
		    in->feed.stem_is_file) {
			pa_warn("%s:%ld: the header has no instance_id column; the file name %s is "
				"the instance_id of every row", rec->where, rec->lineno,
				pa_quote(in->feed.stem, strlen(in->feed.stem)));
			in->feed.instance_is_stem = 1;
		} else if (in->columns[PA_T_INSTANCE] < 0) {
			warn_missing_column(in, rec, PA_T_INSTANCE);
			return;
		}
	}
	in->bad_header = 0;
}

/*
 * Warn when two header columns have the same name, compared without
 * regard to case as columns are found, because only the first of them is
 * read.  Empty names, as trailing delimiters leave, are not compared.
 */
static void
warn_repeated_columns(const struct pa_ingest *in, const struct pa_csvrec *rec)
{
	int first = -1, second = -1;
	long more = 0;

	for (int c = 1; c < in->nheader; c++) {
		if (in->header[c][0] == '\0')
			continue;
		for (int e = 0; e < c; e++) {
			if (strcasecmp(in->header[e], in->header[c]) != 0)
				continue;
			if (first < 0) {
				first = e;
				second = c;
			} else {
				more++;
			}
			break;
		}
	}
	if (first < 0)
		return;
	if (more > 0)
		pa_warn("%s:%ld: column %s is in the header twice (columns %d and %d), and %ld more "
			"columns repeat a name; only the first column of each name is read",
			rec->where, rec->lineno,
			pa_quote(in->header[second], strlen(in->header[second])), first + 1,
			second + 1, more);
	else
		pa_warn("%s:%ld: column %s is in the header twice (columns %d and %d); only column "
			"%d is read", rec->where, rec->lineno,
			pa_quote(in->header[second], strlen(in->header[second])), first + 1,
			second + 1, first + 1);
}

/* Check whether rec repeats the header, as the header of a second file after cat a.csv b.csv does. */
static int
is_repeated_header(const struct pa_ingest *in, const struct pa_csvrec *rec)
{
	if (rec->nfields != in->nheader)
		return 0;
	for (int i = 0; i < rec->nfields; i++)
		if (rec->len[i] != strlen(in->header[i]) ||
		    memcmp(rec->field[i], in->header[i], rec->len[i]) != 0)
			return 0;
	return 1;
}

static void
csv_record(void *ctx, const struct pa_csvrec *rec)
{
	struct pa_ingest *in = ctx;
	struct pa_row row;

	if (in->header == NULL) {
		in->header = calloc((size_t)rec->nfields + 1, sizeof *in->header);
		if (in->header == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
		for (int i = 0; i < rec->nfields; i++) {
			/* libcsv has already removed the quotes and surrounding spaces. */
			in->header[i] = strdup(rec->field[i]);
			if (in->header[i] == NULL)
				pa_die(PA_EXIT_IO, "out of memory");
		}
		in->nheader = rec->nfields;
		pa_row_columns(&in->fields, in->header, in->nheader, in->columns, in->columns2);
		warn_repeated_columns(in, rec);
		check_header(in, rec);
		return;
	}
	if (in->bad_header)
		return;
	if (is_repeated_header(in, rec)) {
		if (in->repeated_headers++ == 0) {
			in->repeated_first = rec->lineno;
			pa_warn("%s:%ld: skipped a line that repeats the CSV header, as cat a.csv b.csv "
				"leaves", rec->where, rec->lineno);
		}
		return;
	}
	pa_diag_count_read();
	if (rec->too_many) {
		pa_reject(rec->where, rec->lineno, rec->raw, rec->rawlen, "too many fields",
			  "more than %d fields", PA_CSV_MAX_FIELDS);
		return;
	}
	if (pa_line_is_binary(&(struct pa_line){ (char *)rec->raw, rec->rawlen, rec->lineno })) {
		pa_reject(rec->where, rec->lineno, rec->raw, rec->rawlen, "binary data",
			  "binary data, not a CSV record: %s",
			  pa_quote(rec->raw, rec->rawlen < 16 ? rec->rawlen : 16));
		return;
	}
	/* A read or decoding error cut this row, which may still have all its cells. */
	if (rec->cut == PA_CSV_INPUT_FAILED) {
		pa_reject(rec->where, rec->lineno, rec->raw, rec->rawlen,
			  "record cut off at end of input",
			  "record cut off at end of input: the input failed inside this row");
		return;
	}
	memset(&row, 0, sizeof row);
	row.csv = rec;
	row.columns = in->columns;
	row.columns2 = in->columns2;
	row.header = in->header;
	row.nheader = in->nheader;
	row.map = &in->fields;
	dispatch_row(in, &row, rec->where, rec->lineno, rec->raw, rec->rawlen);
}

/* Outcome of parsing one access-log line. */
enum line_result { LINE_WRITTEN, LINE_REJECTED, LINE_JSON };

struct reject_note {
	const char *cls;	/* reason class for the summary */
	char msg[320];
	int cut;		/* a written line ended inside a quoted field */
};

/* Return 1 when a quote opened in the len bytes at s is never closed. */
static int
quote_left_open(const char *s, size_t len)
{
	int open = 0;

	for (size_t i = 0; i < len; i++) {
		if (open && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			open = !open;
	}
	return open;
}

/* Count a line written without the quoted field it was cut in. */
static void
note_cut(struct pa_ingest *in, const char *where, long lineno, long count)
{
	if (in->cut_fields == 0)
		snprintf(in->cut_first, sizeof in->cut_first, "%s:%ld", where, lineno);
	in->cut_fields += count;
}

/*
 * Parse one access-log line and write its record with w.  A rejected line
 * gets its reason in note, and a JSON line is left to the caller.  scratch
 * has room for at least 2 * (line->len + 1) bytes.  Touches no shared
 * state, so parser threads can call it.
 */
static enum line_result
parse_log_line(const struct pa_ingest *in, struct pa_jsonw *w, char *scratch,
	       const struct pa_line *line, enum pa_line_status st, struct reject_note *note)
{
	struct pa_request req;
	const char *cls = NULL;
	char err[256];

	note->cut = 0;
	if (st == PA_LINE_TOO_LONG) {
		note->cls = "line too long";
		snprintf(note->msg, sizeof note->msg, "line longer than %zu bytes (see --max-line)",
			 line->len);
		return LINE_REJECTED;
	}
	if (pa_logformat_parse(&in->log, line->text, line->len, scratch, &req, &cls, err,
			       sizeof err) == 0) {
		const struct pa_logformat *used = &in->log;

		/*
		 * Common reads the start of a combined line, so take the whole line
		 * when it is one.  The second half of scratch keeps the first
		 * parse's decoded fields intact.
		 */
		if (req.end != line->len && in->wider.ntok > 0) {
			struct pa_request whole;

			if (pa_logformat_parse(&in->wider, line->text, line->len,
					       scratch + line->len + 1, &whole, &cls, err,
					       sizeof err) == 0) {
				req = whole;
				used = &in->wider;
			}
		}
		note->cut = quote_left_open(line->text + req.end, line->len - req.end);
		if (req.ts_local)
			req.ts -= in->feed.utc_offset;
		emit_request(in, w, &req, NULL, used);
		return LINE_WRITTEN;
	}

	/* A JSON record in a log stream: pass it through or read it as a JSON log line. */
	if (line->text[0] == '{')
		return LINE_JSON;

	/*
	 * An auto-detected file may mix layouts, such as a vhost line among
	 * combined ones.  A cut-off last line is not retried, because a shorter
	 * layout would accept its first half.
	 */
	if (!in->log_given && st != PA_LINE_TRUNCATED) {
		struct pa_logformat alt;
		const char *cls2;
		char err2[256];

		for (int i = 0; pa_logformat_presets[i] != NULL; i++) {
			if (strcmp(pa_logformat_presets[i], in->log.name) == 0 ||
			    pa_logformat_preset(pa_logformat_presets[i], &alt) != 0)
				continue;
			if (pa_logformat_parse(&alt, line->text, line->len, scratch, &req, &cls2,
					       err2, sizeof err2) == 0) {
				/*
				 * A combined line cut inside its referer or user
				 * agent reads as a common one.  The request still
				 * counts, and the cut is reported at the end.
				 */
				note->cut = quote_left_open(line->text + req.end, line->len - req.end);
				if (req.ts_local)
					req.ts -= in->feed.utc_offset;
				emit_request(in, w, &req, NULL, &alt);
				return LINE_WRITTEN;
			}
		}
	}
	if (st == PA_LINE_TRUNCATED) {
		note->cls = "record cut off at end of input";
		snprintf(note->msg, sizeof note->msg, "record cut off at end of input: %s", err);
	} else if (pa_line_is_binary(line)) {
		note->cls = "binary data";
		snprintf(note->msg, sizeof note->msg,
			 "binary data, not a log line (a TLS handshake sent to a plain-text port?): %s",
			 pa_quote(line->text, line->len < 16 ? line->len : 16));
	} else {
		note->cls = cls;
		snprintf(note->msg, sizeof note->msg, "%s", err);
	}
	return LINE_REJECTED;
}

static void
log_line(struct pa_ingest *in, const char *where, struct pa_line *line, enum pa_line_status st)
{
	struct reject_note note;

	scratch_reserve(in, 2 * (line->len + 1));
	switch (parse_log_line(in, &in->w, in->scratch, line, st, &note)) {
	case LINE_WRITTEN:
		pa_diag_count_read();
		if (note.cut)
			note_cut(in, where, line->lineno, 1);
		break;
	case LINE_JSON:
		json_line(in, where, line, st);
		break;
	case LINE_REJECTED:
		pa_diag_count_read();
		pa_reject(where, line->lineno, line->text, line->len, note.cls, "%s", note.msg);
		break;
	}
}

static int
is_blank(const struct pa_line *line)
{
	for (size_t i = 0; i < line->len; i++)
		if (line->text[i] != ' ' && line->text[i] != '\t')
			return 0;
	return 1;
}

struct held_line {
	char *text;
	size_t len;
	long lineno;
	enum pa_line_status st;
};

/*
 * Return the index of the access-log preset that reads most of the lines,
 * or -1 when none reads any.  Ties go to the earlier preset.  Lines a
 * preset reads whole count before lines with extra fields at the end, so
 * a combined log is not taken for common, which reads the start of every
 * combined line.
 */
static int
best_preset(struct pa_ingest *in, const struct held_line *held, int nheld)
{
	int best = -1, best_hits = 0;

	scratch_reserve(in, in->max_line + 1);
	for (int p = 0; pa_logformat_presets[p] != NULL; p++) {
		struct pa_logformat f;
		struct pa_request req;
		const char *cls;
		char err[256];
		int hits = 0;

		pa_logformat_preset(pa_logformat_presets[p], &f);
		for (int i = 0; i < nheld; i++)
			if (held[i].len > 0 && held[i].st != PA_LINE_TOO_LONG &&
			    pa_logformat_parse(&f, held[i].text, held[i].len, in->scratch, &req, &cls,
					       err, sizeof err) == 0)
				hits += req.end == held[i].len ? PA_DETECT_HELD + 1 : 1;
		if (hits > best_hits) {
			best = p;
			best_hits = hits;
		}
	}
	return best;
}

/*
 * Set preset p as the layout of access-log lines, with combined for the
 * lines of a common log that are combined.
 */
static void
use_preset(struct pa_ingest *in, int p)
{
	pa_logformat_preset(pa_logformat_presets[p], &in->log);
	in->wider.ntok = 0;
	if (strcmp(in->log.name, "common") == 0)
		pa_logformat_preset("combined", &in->wider);
}

/* Return 1 when the first byte of line after spaces and tabs opens a JSON object. */
static int
starts_object(const struct pa_line *line)
{
	size_t i = 0;

	while (i < line->len && (line->text[i] == ' ' || line->text[i] == '\t'))
		i++;
	return i < line->len && line->text[i] == '{';
}

/*
 * Read a line that is not a JSON object in a request file detected as
 * JSON, such as the access log in cat events.ndjson access.log.  The
 * first such line that a preset reads chooses the preset, and the later
 * ones go through log_line, so a line it does not read is tried with the
 * other presets.  Until a preset is chosen a line that none reads is
 * rejected as invalid JSON, because the file may be a JSON log with a
 * broken line.
 */
static void
json_file_log_line(struct pa_ingest *in, const char *where, struct pa_line *line,
		   enum pa_line_status st)
{
	if (!in->json_log_preset) {
		struct held_line one = { line->text, line->len, line->lineno, st };
		int p = st == PA_LINE_TRUNCATED ? -1 : best_preset(in, &one, 1);

		if (p < 0) {
			json_line(in, where, line, st);
			return;
		}
		use_preset(in, p);
		in->json_log_preset = 1;
	}
	log_line(in, where, line, st);
}

static void
handle_line(struct pa_ingest *in, const char *where, struct pa_line *line,
	    enum pa_line_status st)
{
	if (in->cur == PA_FMT_CSV || in->cur == PA_FMT_TSV) {
		if (st == PA_LINE_TOO_LONG) {
			pa_diag_count_read();
			pa_reject(where, line->lineno, line->text, line->len, "line too long",
				  "line longer than %zu bytes (see --max-line)", line->len);
			return;
		}
		enum pa_csv_cut cut = PA_CSV_WHOLE;

		if (st == PA_LINE_TRUNCATED)
			cut = pa_reader_failed(in->reader) ? PA_CSV_INPUT_FAILED : PA_CSV_NO_NEWLINE;
		pa_csvin_line(&in->csv, where, line, cut);
		return;
	}
	if (is_blank(line) && st != PA_LINE_TOO_LONG)
		return;
	if (st == PA_LINE_TOO_LONG) {
		pa_diag_count_read();
		pa_reject(where, line->lineno, line->text, line->len, "line too long",
			  "line longer than %zu bytes (see --max-line)", line->len);
		return;
	}
	if (in->cur == PA_FMT_JSON && in->format == PA_FMT_AUTO && in->type == PA_TYPE_REQUESTS &&
	    !starts_object(line))
		json_file_log_line(in, where, line, st);
	else if (in->cur == PA_FMT_JSON)
		json_line(in, where, line, st);
	else
		log_line(in, where, line, st);
}

static unsigned char
guess_delim(const char *s, size_t len)
{
	/* A semicolon and a tab between fields, as some VM traces write them: ';'. */
	if (memchr(s, '\t', len) != NULL) {
		for (size_t i = 0; i < len; i++)
			if (s[i] == '\t' && (i == 0 || s[i - 1] != ';'))
				return '\t';
		return ';';
	}
	if (memchr(s, ';', len) != NULL && memchr(s, ',', len) == NULL)
		return ';';
	return ',';
}

static int
held_blank(const struct held_line *h)
{
	struct pa_line l = { h->text, h->len, h->lineno };

	return is_blank(&l);
}

/* Choose the format of one file from its first non-blank lines. */
static void
detect(struct pa_ingest *in, const char *where, struct held_line *held, int nheld)
{
	const struct held_line *first = NULL;
	int best;

	for (int i = 0; i < nheld && first == NULL; i++)
		if (!held_blank(&held[i]) && held[i].st != PA_LINE_TOO_LONG)
			first = &held[i];
	in->cur = PA_FMT_LOG;
	if (first == NULL) {
		pa_logformat_preset("combined", &in->log);
		return;
	}
	if (first->text[0] == '{') {
		in->cur = PA_FMT_JSON;

		/* Access-log lines among the first ones choose the preset for such lines. */
		if (in->type == PA_TYPE_REQUESTS && (best = best_preset(in, held, nheld)) >= 0) {
			use_preset(in, best);
			in->json_log_preset = 1;
		}
		return;
	}
	if (in->type != PA_TYPE_REQUESTS) {
		if (!in->delim_given)
			in->delim = guess_delim(first->text, first->len);
		in->cur = in->delim == '\t' ? PA_FMT_TSV : PA_FMT_CSV;
		return;
	}

	best = best_preset(in, held, nheld);
	if (best >= 0) {
		use_preset(in, best);
		return;
	}

	/* Binary data is no CSV either: read it as a log, so each line is rejected as binary. */
	if (pa_line_is_binary(&(struct pa_line){ first->text, first->len, first->lineno })) {
		pa_logformat_preset("combined", &in->log);
		return;
	}
	if ((in->delim_given && memchr(first->text, in->delim, first->len) != NULL) ||
	    memchr(first->text, '\t', first->len) != NULL || memchr(first->text, ',', first->len) != NULL) {
		if (!in->delim_given)
			in->delim = guess_delim(first->text, first->len);
		in->cur = in->delim == '\t' ? PA_FMT_TSV : PA_FMT_CSV;
		return;
	}
	pa_warn("%s: no known log format matches the first lines; reading it as combined "
		"(name the layout with --format or --log-format)", where);
	pa_logformat_preset("combined", &in->log);
}

static void
start_file(struct pa_ingest *in)
{
	if (in->cur == PA_FMT_CSV || in->cur == PA_FMT_TSV) {
		unsigned char delim = ',';

		if (in->cur == PA_FMT_TSV)
			delim = '\t';
		else if (in->delim != 0)
			delim = in->delim;

		pa_csvin_init(&in->csv, delim, in->cur == PA_FMT_CSV, in->max_line, csv_record, in);
		in->csv_open = 1;
	}
}

static void
end_file(struct pa_ingest *in)
{
	if (in->csv_open) {
		pa_csvin_finish(&in->csv);
		pa_csvin_free(&in->csv);
		in->csv_open = 0;
	}
	free_header(in);
	if (in->repeated_headers > 1)
		pa_warn("%s: skipped %ld lines that repeat the CSV header, the first at line %ld",
			in->where, in->repeated_headers, in->repeated_first);
	in->repeated_headers = 0;
	if (in->type == PA_TYPE_SERIES) {
		in->gaps += pa_series_finish(&in->series, &in->w, in->where);
	}
}

static void
set_stem(struct pa_ingest *in, const char *path)
{
	static char stem[PA_NAME_MAX];
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strcspn(base, ".");
	in->feed.stem_is_file = 1;
	if (strcmp(path, "-") == 0 || n == 0) {
		base = "stdin";
		n = 5;
		in->feed.stem_is_file = 0;
	}
	pa_name_clean(base, n, 0, stem);
	in->feed.stem = stem;
	in->feed.instance_is_stem = 0;
}

int
pa_ingest_is_regular(const char *path)
{
	struct stat sb;
	int rc = strcmp(path, "-") == 0 ? fstat(STDIN_FILENO, &sb) : stat(path, &sb);

	return rc == 0 && S_ISREG(sb.st_mode);
}

/*
 * Check whether reading the next line of a streamed input may block, so what
 * was read should be written first.  Returns 0 for a regular file.  The
 * reader may still hold buffered lines when the descriptor has no data,
 * which costs only an early flush.  A named FIFO's descriptor belongs to
 * the reader, so there every line counts as the last one waiting.
 */
static int
input_idle(const struct pa_ingest *in)
{
	struct pollfd pfd;

	if (!in->streaming)
		return 0;
	if (in->stream_fd < 0)
		return 1;
	pfd.fd = in->stream_fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 0;
}

static void
set_drained(struct pa_ingest *in, int on)
{
	if (in->drained != NULL)
		*in->drained = on;
}

static int
stop_requested(const struct pa_ingest *in)
{
	return in->stop != NULL && *in->stop;
}

/*
 * Parallel parsing of access logs.  The reading thread copies lines into
 * batches.  Parser threads turn each batch into records in the batch's own
 * buffer, and note rejects and JSON lines instead of reporting them.  The
 * reading thread writes the batches out in input order and reports the
 * notes at their place, so the output is the same as a serial run's.
 * Memory stays bounded by PAR_SLOTS batches of PAR_LINES lines each.
 */
#define PAR_LINES 2048
#define PAR_SLOTS 6

struct par_line {
	size_t off, len;
	long lineno;
	enum pa_line_status st;
};

struct par_note {
	size_t out;		/* bytes of output written before the line */
	int line;		/* index into lines */
	int json;		/* a JSON line for the reading thread, not a reject */
	struct reject_note note;
};

enum { SLOT_FREE, SLOT_FILLED, SLOT_DONE };

struct par_batch {
	char *text;
	size_t textlen, textcap;
	struct par_line lines[PAR_LINES];
	int nlines;
	struct par_note *notes;
	int nnotes, notecap;
	long nread;
	long ncut, cut_lineno;		/* lines written with a cut quoted field, the first */
	struct pa_jsonw w;
	char *scratch;
	size_t scratchcap;
	int state;
};

struct par {
	struct pa_ingest *in;
	struct par_batch slot[PAR_SLOTS];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long filled, taken, written;	/* batches submitted, taken by parsers, written out */
	int stop;
	pthread_t th[PA_THREADS_MAX];
	int nth;
};

static void
par_parse(const struct pa_ingest *in, struct par_batch *b)
{
	for (int i = 0; i < b->nlines; i++) {
		struct par_line *pl = &b->lines[i];
		struct pa_line line = { b->text + pl->off, pl->len, pl->lineno };
		struct reject_note note;
		enum line_result r;

		if (pl->st != PA_LINE_TOO_LONG && is_blank(&line))
			continue;
		if (b->scratchcap < 2 * (line.len + 1)) {
			b->scratchcap = 2 * (line.len + 1);
			b->scratch = pa_xrealloc(b->scratch, b->scratchcap);
		}
		r = parse_log_line(in, &b->w, b->scratch, &line, pl->st, &note);
		if (r == LINE_WRITTEN) {
			b->nread++;
			if (note.cut && b->ncut++ == 0)
				b->cut_lineno = line.lineno;
			continue;
		}
		if (b->nnotes == b->notecap) {
			b->notecap = b->notecap ? 2 * b->notecap : 16;
			b->notes = pa_xrealloc(b->notes, (size_t)b->notecap * sizeof *b->notes);
		}
		b->notes[b->nnotes].out = b->w.start;
		b->notes[b->nnotes].line = i;
		b->notes[b->nnotes].json = r == LINE_JSON;
		b->notes[b->nnotes].note = note;
		b->nnotes++;
	}
}

static void *
par_worker(void *arg)
{
	struct par *p = arg;

	for (;;) {
		struct par_batch *b;

		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->taken == p->filled)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->taken == p->filled) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		b = &p->slot[p->taken++ % PAR_SLOTS];
		pthread_mutex_unlock(&p->mu);

		par_parse(p->in, b);

		pthread_mutex_lock(&p->mu);
		b->state = SLOT_DONE;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* Wait for the oldest batch in flight, write it out and free its slot. */
static void
par_write_next(struct par *p)
{
	struct pa_ingest *in = p->in;
	struct par_batch *b = &p->slot[p->written % PAR_SLOTS];
	size_t done = 0;

	pthread_mutex_lock(&p->mu);
	while (b->state != SLOT_DONE)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);

	for (long i = 0; i < b->nread; i++)
		pa_diag_count_read();
	if (b->ncut)
		note_cut(in, in->where, b->cut_lineno, b->ncut);
	for (int i = 0; i < b->nnotes; i++) {
		struct par_note *n = &b->notes[i];
		struct par_line *pl = &b->lines[n->line];
		struct pa_line line = { b->text + pl->off, pl->len, pl->lineno };

		pa_out_write(b->w.buf + done, n->out - done);
		done = n->out;
		if (n->json) {
			json_line(in, in->where, &line, pl->st);
			pa_jsonw_flush(&in->w);
		} else {
			pa_diag_count_read();
			pa_reject(in->where, line.lineno, line.text, line.len, n->note.cls, "%s",
				  n->note.msg);
		}
	}
	pa_out_write(b->w.buf + done, b->w.start - done);
	in->w.records += b->w.records;

	b->w.len = b->w.start = 0;
	b->w.records = 0;
	b->nlines = b->nnotes = 0;
	b->nread = 0;
	b->ncut = 0;
	b->textlen = 0;
	b->state = SLOT_FREE;
	p->written++;
}

static void
par_submit(struct par *p)
{
	pthread_mutex_lock(&p->mu);
	p->slot[p->filled % PAR_SLOTS].state = SLOT_FILLED;
	p->filled++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Read the rest of an access log with parser threads.  Returns PA_LINE_EOF or PA_LINE_ERROR. */
static enum pa_line_status
read_lines_parallel(struct pa_ingest *in, struct pa_reader *r)
{
	struct par *p = calloc(1, sizeof *p);
	struct pa_line line;
	enum pa_line_status st;

	if (p == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	p->in = in;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (int i = 0; i < PAR_SLOTS; i++) {
		pa_jsonw_init(&p->slot[i].w);
		p->slot[i].w.hold = 1;
	}
	for (p->nth = 0; p->nth < in->threads; p->nth++)
		if (pthread_create(&p->th[p->nth], NULL, par_worker, p) != 0)
			pa_die(PA_EXIT_IO, "cannot start a parser thread");

	/* Records of the lines read before the format was known go first. */
	pa_jsonw_flush(&in->w);
	while ((st = pa_reader_next(r, &line)) != PA_LINE_EOF && st != PA_LINE_ERROR) {
		struct par_batch *b = &p->slot[p->filled % PAR_SLOTS];
		struct par_line *pl;

		set_drained(in, 0);
		/* Only this thread changes filled and written, so it reads them unlocked. */
		if (p->filled - p->written == PAR_SLOTS)
			par_write_next(p);
		if (b->textlen + line.len + 1 > b->textcap) {
			b->textcap = (b->textlen + line.len + 1) * 2;
			b->text = pa_xrealloc(b->text, b->textcap);
		}
		pl = &b->lines[b->nlines++];
		pl->off = b->textlen;
		pl->len = line.len;
		pl->lineno = line.lineno;
		pl->st = st;
		memcpy(b->text + b->textlen, line.text, line.len + 1);
		b->textlen += line.len + 1;
		if (b->nlines == PAR_LINES || b->textlen > PA_JSONW_BATCH * 4)
			par_submit(p);

		/* A streamed input with nothing waiting: hand over and write all read so far. */
		if (input_idle(in)) {
			if (p->slot[p->filled % PAR_SLOTS].nlines > 0)
				par_submit(p);
			while (p->written < p->filled)
				par_write_next(p);
			pa_out_flush();
			set_drained(in, 1);
		}
		if (stop_requested(in))
			break;
	}
	set_drained(in, 0);
	if (p->slot[p->filled % PAR_SLOTS].nlines > 0)
		par_submit(p);
	while (p->written < p->filled)
		par_write_next(p);

	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	for (int i = 0; i < PAR_SLOTS; i++) {
		free(p->slot[i].text);
		free(p->slot[i].notes);
		free(p->slot[i].scratch);
		pa_jsonw_free(&p->slot[i].w);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	return st == PA_LINE_ERROR ? st : PA_LINE_EOF;
}

/*
 * Read the first lines of a new input, choose its format and handle them.
 * Returns the status of the last read (PA_LINE_ERROR stops the input).
 */
static enum pa_line_status
begin_input(struct pa_ingest *in, struct pa_reader *r, const char *path)
{
	struct held_line held[PA_DETECT_HELD];
	struct pa_line line;
	enum pa_line_status st = PA_LINE_EOF;
	int nheld = 0, nonblank = 0;

	in->where = pa_reader_name(r);
	in->reader = r;
	set_stem(in, path);
	in->wider.ntok = 0;
	in->json_log_preset = 0;
	memset(&in->series, 0, sizeof in->series);

	/* Hold the first lines until the format is known. */
	in->cur = in->format;
	if (in->format == PA_FMT_AUTO) {
		while (nonblank < PA_DETECT_LINES &&
		       (st = pa_reader_next(r, &line)) != PA_LINE_EOF && st != PA_LINE_ERROR) {
			struct held_line *h = &held[nheld++];

			h->text = malloc(line.len + 1);
			if (h->text == NULL)
				pa_die(PA_EXIT_IO, "out of memory");
			memcpy(h->text, line.text, line.len + 1);
			h->len = line.len;
			h->lineno = line.lineno;
			h->st = st;
			if (!is_blank(&line))
				nonblank++;
			if (nheld == PA_DETECT_HELD || (nonblank > 0 && input_idle(in)))
				break;
		}
		detect(in, in->where, held, nheld);
	}
	start_file(in);
	for (int i = 0; i < nheld; i++) {
		line.text = held[i].text;
		line.len = held[i].len;
		line.lineno = held[i].lineno;
		handle_line(in, in->where, &line, held[i].st);
		free(held[i].text);
	}
	if (input_idle(in)) {
		pa_jsonw_flush(&in->w);
		pa_out_flush();
	}
	return st;
}

/* Handle lines until end of input; returns PA_LINE_EOF or PA_LINE_ERROR. */
static enum pa_line_status
read_lines(struct pa_ingest *in, struct pa_reader *r)
{
	struct pa_line line;
	enum pa_line_status st;

	while (!in->bad_header && (st = pa_reader_next(r, &line)) != PA_LINE_EOF) {
		set_drained(in, 0);
		if (st == PA_LINE_ERROR)
			return st;
		handle_line(in, in->where, &line, st);
		if (input_idle(in)) {
			pa_jsonw_flush(&in->w);
			pa_out_flush();
			/* Series rows held until the step is known are not written yet. */
			set_drained(in, in->series.npending == 0);
		}
		if (stop_requested(in))
			break;
	}
	set_drained(in, 0);
	return PA_LINE_EOF;
}

static int
finish_input(struct pa_ingest *in, struct pa_reader *r, enum pa_line_status st)
{
	int rc = PA_EXIT_OK;

	if (st == PA_LINE_ERROR)
		rc = pa_reader_is_utf16(r) ? PA_EXIT_DATA : PA_EXIT_IO;
	if (in->bad_header) {
		rc = PA_EXIT_USAGE;
		in->bad_header = 0;
	}
	end_file(in);
	pa_reader_close(r);
	return rc;
}

int
pa_ingest_file(struct pa_ingest *in, const char *path)
{
	struct pa_reader *r = pa_reader_open(path, in->max_line);
	enum pa_line_status st;

	if (r == NULL)
		return PA_EXIT_IO;
	in->streaming = !pa_ingest_is_regular(path);
	in->stream_fd = strcmp(path, "-") == 0 ? STDIN_FILENO : -1;
	st = begin_input(in, r, path);
	if (st != PA_LINE_ERROR) {
		if (in->cur == PA_FMT_LOG && in->threads > 1)
			st = read_lines_parallel(in, r);
		else
			st = read_lines(in, r);
	}
	return finish_input(in, r, st);
}

static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The file at path now is another file than the one open, or it shrank. */
static int
rotated(const char *path, struct stat *seen)
{
	struct stat now;

	if (stat(path, &now) != 0)
		return 0;	/* gone for now: keep reading the open file */
	if (now.st_dev != seen->st_dev || now.st_ino != seen->st_ino || now.st_size < seen->st_size)
		return 1;
	seen->st_size = now.st_size;
	return 0;
}

int
pa_ingest_follow(struct pa_ingest *in, const char *path, volatile sig_atomic_t *stop)
{
	struct pa_reader *r = NULL;
	struct stat seen;
	enum pa_line_status st;
	int rc = PA_EXIT_OK, warned_missing = 0;

	while (!*stop) {
		/*
		 * Wait for the file to exist and hold a first line, as tail -F
		 * does.  A file missing at the start is named once, because a
		 * mistyped path would otherwise look like a quiet log.
		 */
		if (r == NULL) {
			if (stat(path, &seen) != 0 || seen.st_size == 0) {
				if (!warned_missing && access(path, F_OK) != 0)
					pa_warn("%s: no such file, waiting for it to appear", path);
				warned_missing = 1;
				nap(PA_FOLLOW_POLL_MS);
				continue;
			}
			r = pa_reader_open(path, in->max_line);
			if (r == NULL)
				return PA_EXIT_IO;
			pa_reader_set_follow(r, 1);
			st = begin_input(in, r, path);
		} else {
			pa_reader_resume(r);
			st = read_lines(in, r);
		}
		if (st == PA_LINE_ERROR || in->bad_header)
			break;
		pa_jsonw_flush(&in->w);
		pa_out_flush();
		if (rotated(path, &seen)) {
			/* Drain what the old file still holds, then start on the new one. */
			pa_reader_resume(r);
			read_lines(in, r);
			pa_reader_set_follow(r, 0);
			st = read_lines(in, r);
			rc = finish_input(in, r, st);
			r = NULL;
			continue;
		}
		nap(PA_FOLLOW_POLL_MS);
	}
	if (r == NULL)
		return rc;

	/* Stopping ends the input: a held fragment is handed over as the cut-off last line. */
	pa_reader_set_follow(r, 0);
	if (st != PA_LINE_ERROR) {
		pa_reader_resume(r);
		st = read_lines(in, r);
	}
	return finish_input(in, r, st);
}

void
pa_ingest_notes(const struct pa_ingest *in)
{
	if (in->cut_fields)
		pa_warn("%ld log line%s ended inside a quoted field after the request, the first "
			"at %s; each was read without its referer and user agent",
			in->cut_fields, in->cut_fields == 1 ? "" : "s", in->cut_first);
	if (in->bare_rows)
		pa_warn("%ld row%s had a time but no method, path, status, size or duration, the "
			"first at %s; each was read as one request (are --format and --field "
			"right for this file?)", in->bare_rows, in->bare_rows == 1 ? "" : "s",
			in->bare_first);
}

void
pa_ingest_summary(const struct pa_ingest *in)
{
	/* A gap row is read but neither written nor rejected, so it gets its own count. */
	if (in->gaps > 0)
		pa_warn("summary: %ld read, %ld written, %ld passed through, %ld rejected, %ld gap%s",
			pa_diag_read(), in->w.records, in->passed, pa_diag_rejected(), in->gaps,
			in->gaps == 1 ? "" : "s");
	else
		pa_warn("summary: %ld read, %ld written, %ld passed through, %ld rejected",
			pa_diag_read(), in->w.records, in->passed, pa_diag_rejected());
}
