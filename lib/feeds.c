#include "feeds.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "ndjson.h"
#include "opts.h"

#define MAGNITUDE_MAX 1e15	/* the largest count a bucket record holds */

/* Common source names per target, tried in order. */
static const struct {
	const char *name;
	const char *aliases[14];
} targets[PA_T_COUNT] = {
	[PA_T_TS] = { "ts", { "ts", "time", "timestamp", "@timestamp", "start", "start_time",
			      "bucket_start", "date", "datetime", "ds", "period", "time_local", "time_iso8601",
			      "StartUTC" } },
	[PA_T_END] = { "end", { "end", "end_time", "stop", "until" } },
	[PA_T_CLIENT] = { "client_id", { "client_id", "client", "remote_addr", "client_ip",
					 "clientip", "remote_ip", "remotehost", "remote_host",
					 "request.remote_ip", "request.client_ip", "ClientHost",
					 "host" } },
	[PA_T_METHOD] = { "method", { "method", "request_method", "verb", "request.method",
				      "RequestMethod" } },
	[PA_T_PATH] = { "path", { "path", "uri", "url", "request_uri", "request_path",
				  "request.uri", "request.path", "RequestPath" } },
	[PA_T_STATUS] = { "status", { "status", "status_code", "response", "code",
				      "response.status", "DownstreamStatus" } },
	[PA_T_BYTES_OUT] = { "bytes_out", { "bytes_out", "bytes", "body_bytes_sent", "bytes_sent",
					    "size", "response_size", "DownstreamContentSize" } },
	[PA_T_BYTES_IN] = { "bytes_in", { "bytes_in", "request_length", "request_size",
					  "bytes_read", "RequestContentSize" } },
	[PA_T_DURATION_MS] = { "duration_ms", { "duration_ms", "latency_ms", "response_time_ms",
						"elapsed_ms" } },
	[PA_T_DURATION_S] = { "duration_s", { "duration_s", "request_time", "exec_time_seconds" } },
	[PA_T_DURATION_US] = { "duration_us", { "duration_us" } },
	[PA_T_DURATION_NS] = { "duration_ns", { "duration_ns", "Duration" } },
	[PA_T_HOST] = { "host", { "http_host", "request_host", "vhost", "server_name",
				  "request.host", "RequestHost" } },
	[PA_T_REFERER] = { "referer", { "referer", "referrer", "http_referer" } },
	[PA_T_USER_AGENT] = { "user_agent", { "user_agent", "useragent", "http_user_agent",
					      "ua" } },
	[PA_T_TENANT] = { "tenant", { "tenant", "tenant_id" } },
	[PA_T_SERVICE] = { "service", { "service", "service_name" } },
	[PA_T_TSN] = { "tenant_service_name", { "tenant_service_name" } },
	[PA_T_NAME] = { "name", { "name", "event", "event_name", "title", "holiday" } },
	[PA_T_EVENT_TYPE] = { "event_type", { "event_type", "type", "category" } },
	[PA_T_MAGNITUDE] = { "magnitude", { "magnitude", "value", "count", "weight", "y" } },
	[PA_T_INSTANCE] = { "instance_id", { "instance_id", "instance", "pod", "container",
					     "container_ip", "vm", "machine_id", "host" } },
	[PA_T_CPU] = { "cpu_usage", { "cpu_usage", "cpu", "cpu_util", "cpu_utilization",
				      "cpu_util_percent", "cpu_percent", "avg_cpu", "CPU usage [%]" } },
	[PA_T_MEMORY] = { "memory_usage", { "memory_usage", "memory", "mem", "mem_util",
					    "mem_util_percent", "memory_util", "memory_percent",
					    "mem_percent", "avg_mem" } },
	[PA_T_NETWORK] = { "network_io", { "network_io", "network", "net_io", "net" } },
	/* A whole request line, as nginx's $request writes it into JSON logs. */
	[PA_T_REQUEST] = { "request", { "request", "request_line" } },
};

const char *
pa_target_name(enum pa_target t)
{
	return targets[t].name;
}

int
pa_fieldmap_set(struct pa_fieldmap *map, const char *spec, char *err, size_t errsize)
{
	const char *eq = strchr(spec, '=');

	if (eq == NULL || eq == spec || eq[1] == '\0') {
		snprintf(err, errsize, "invalid --field \"%s\": expected TARGET=SOURCE", spec);
		return -1;
	}
	for (int t = 0; t < PA_T_COUNT; t++) {
		if (strlen(targets[t].name) == (size_t)(eq - spec) &&
		    strncmp(targets[t].name, spec, (size_t)(eq - spec)) == 0) {
			free(map->source[t]);
			map->source[t] = strdup(eq + 1);
			if (map->source[t] == NULL)
				pa_die(PA_EXIT_IO, "out of memory");
			return 0;
		}
	}
	size_t o = (size_t)snprintf(err, errsize, "invalid --field target \"%.*s\"; targets are",
				    (int)(eq - spec), spec);

	for (int t = 0; t < PA_T_COUNT && o < errsize; t++)
		o += (size_t)snprintf(err + o, errsize - o, "%s%s", t ? ", " : " ", targets[t].name);
	return -1;
}

void
pa_fieldmap_free(struct pa_fieldmap *map)
{
	for (int t = 0; t < PA_T_COUNT; t++) {
		free(map->source[t]);
		map->source[t] = NULL;
	}
}

static int
find_column(char *const *header, int nheader, const char *name, size_t len)
{
	for (int c = 0; c < nheader; c++)
		if (strlen(header[c]) == len && strncasecmp(header[c], name, len) == 0)
			return c;
	return -1;
}

void
pa_row_columns(const struct pa_fieldmap *map, char *const *header, int nheader, int *columns,
	       int *columns2)
{
	for (int t = 0; t < PA_T_COUNT; t++) {
		const char *src = map->source[t];

		columns[t] = columns2[t] = -1;
		if (src != NULL) {
			const char *plus = strchr(src, '+');

			columns[t] = find_column(header, nheader, src, strlen(src));
			if (columns[t] < 0 && plus != NULL) {
				columns[t] = find_column(header, nheader, src, (size_t)(plus - src));
				columns2[t] = find_column(header, nheader, plus + 1, strlen(plus + 1));
				if (columns2[t] < 0)
					columns[t] = -1;
			}
			continue;
		}
		for (int a = 0; a < 14 && targets[t].aliases[a] != NULL && columns[t] < 0; a++)
			for (int c = 0; c < nheader; c++)
				if (strcasecmp(header[c], targets[t].aliases[a]) == 0) {
					columns[t] = c;
					break;
				}
	}
}

/* Find a key or dotted path in a JSON object. */
static const json_t *
json_path(const json_t *obj, const char *path)
{
	const json_t *v = json_object_get(obj, path);
	char key[256];

	if (v != NULL || strchr(path, '.') == NULL)
		return v;
	while (obj != NULL && json_is_object(obj)) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof key)
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		obj = json_object_get(obj, key);
		if (dot == NULL)
			return obj;
		path = dot + 1;
	}
	return NULL;
}

/*
 * Write a JSON real as the shortest of 15 to 17 significant digits that
 * reads back as the same double, so 0.1 is "0.1", not
 * "0.10000000000000001".
 */
static void
format_real(double d, char *buf, size_t size)
{
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, size, "%.*g", digits, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

/*
 * Return the text of a string or number, or NULL for any other value.  A
 * number's text goes into a slot of its own for the life of the row.
 */
static const char *
json_text(struct pa_row *row, const json_t *v, size_t *len)
{
	struct pa_row_number *slot = NULL;

	if (v == NULL)
		return NULL;
	if (json_is_string(v)) {
		*len = json_string_length(v);
		return *len > 0 ? json_string_value(v) : NULL;
	}
	if (!json_is_number(v))
		return NULL;
	for (int i = 0; i < row->nnumbers && slot == NULL; i++)
		if (row->number[i].value == v)
			slot = &row->number[i];
	if (slot == NULL) {
		/* NOTE: a number past PA_ROW_NUMBERS in one row reuses the last slot. */
		if (row->nnumbers < PA_ROW_NUMBERS)
			row->nnumbers++;
		slot = &row->number[row->nnumbers - 1];
		slot->value = v;
		if (json_is_integer(v))
			snprintf(slot->text, sizeof slot->text, "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
		else
			format_real(json_real_value(v), slot->text, sizeof slot->text);
	}
	*len = strlen(slot->text);
	return slot->text;
}

const char *
pa_row_field(struct pa_row *row, const char *name, size_t *len)
{
	if (row->json != NULL)
		return json_text(row, json_path(row->json, name), len);
	for (int c = 0; c < row->nheader && c < row->csv->nfields; c++) {
		if (strcasecmp(row->header[c], name) == 0) {
			*len = row->csv->len[c];
			return *len > 0 ? row->csv->field[c] : NULL;
		}
	}
	return NULL;
}

const char *
pa_row_field_cb(void *row, const char *name, size_t *len)
{
	return pa_row_field(row, name, len);
}

const char *
pa_row_get(struct pa_row *row, enum pa_target t, size_t *len, const char **source_name)
{
	if (row->csv != NULL) {
		int c = row->columns[t];

		int c2 = row->columns2 != NULL ? row->columns2[t] : -1;

		if (c < 0 || c >= row->csv->nfields || row->csv->len[c] == 0)
			return NULL;
		if (source_name != NULL)
			*source_name = row->header[c];
		*len = row->csv->len[c];
		if (c2 >= 0 && c2 < row->csv->nfields &&
		    *len + 1 + row->csv->len[c2] < sizeof row->joinbuf) {
			memcpy(row->joinbuf, row->csv->field[c], *len);
			row->joinbuf[*len] = ' ';
			memcpy(row->joinbuf + *len + 1, row->csv->field[c2], row->csv->len[c2]);
			*len += 1 + row->csv->len[c2];
			return row->joinbuf;
		}
		return row->csv->field[c];
	}
	if (row->map != NULL && row->map->source[t] != NULL) {
		if (source_name != NULL)
			*source_name = row->map->source[t];
		row->value = json_path(row->json, row->map->source[t]);
		return json_text(row, row->value, len);
	}
	for (int a = 0; a < 14 && targets[t].aliases[a] != NULL; a++) {
		const char *alias = targets[t].aliases[a];
		const json_t *v;

		/*
		 * In JSON access logs (nginx "host": "$host", Caddy, Traefik) a
		 * plain "host" key is the virtual host, not the client as in the
		 * CSV traces of the Internet Traffic Archive.
		 */
		if (t == PA_T_CLIENT && strcmp(alias, "host") == 0)
			continue;
		v = json_path(row->json, alias);
		if (v != NULL && !json_is_null(v)) {
			if (source_name != NULL)
				*source_name = alias;
			row->value = v;
			return json_text(row, v, len);
		}
	}
	if (t == PA_T_HOST) {
		const json_t *v = json_path(row->json, "host");

		if (v != NULL && json_is_string(v)) {
			if (source_name != NULL)
				*source_name = "host";
			row->value = v;
			return json_text(row, v, len);
		}
	}
	return NULL;
}

int
pa_parse_number(const char *s, size_t len, double *out)
{
	char buf[64];
	char *end;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, &end);
	/* strtod also takes "nan", "inf" and hex; none of them is a count. */
	if (*end != '\0' || !isfinite(*out) || strpbrk(buf, "xXnN") != NULL)
		return -1;
	return 0;
}

/* True when an RFC 3339-like text ends without Z or an offset. */
static int
lacks_offset(const char *s, size_t len)
{
	if (len < 11 || s[4] != '-' || (s[10] != 'T' && s[10] != ' ' && s[10] != 't'))
		return len == 10 && s[4] == '-';
	for (size_t i = 11; i < len; i++)
		if (s[i] == 'Z' || s[i] == 'z' || s[i] == '+' || s[i] == '-')
			return 0;
	return 1;
}

int
pa_parse_time_local(const char *s, size_t len, pa_usec_t utc_offset, pa_usec_t *out)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (pa_time_parse(s, len, out) != 0)
		return -1;
	if (utc_offset != 0 && lacks_offset(s, len))
		*out -= utc_offset;
	return 0;
}

const char *
pa_row_empty_source(const struct pa_row *row, enum pa_target t)
{
	if (row->csv != NULL) {
		int c = row->columns[t];

		if (c < 0 || (c < row->csv->nfields && row->csv->len[c] > 0))
			return NULL;
		return row->header[c];
	}
	if (row->map != NULL && row->map->source[t] != NULL) {
		const json_t *v = json_path(row->json, row->map->source[t]);

		if (v != NULL && (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)))
			return row->map->source[t];
		return NULL;
	}
	for (int a = 0; a < 14 && targets[t].aliases[a] != NULL; a++) {
		const json_t *v = json_path(row->json, targets[t].aliases[a]);

		if (v != NULL && (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)))
			return targets[t].aliases[a];
	}
	return NULL;
}

/*
 * A short row would read its missing cells as empty, and a long one would
 * lose its surplus.  A short last row without a newline is most often one
 * that a cut file or a cut gzip stream ended, so it is named as cut off.
 * NOTE: a plain file cut inside the last cell of its last row has the
 * right count, so that row passes.
 */
int
pa_row_check_cells(const struct pa_row *row, const char *where, long lineno, const char *raw,
		   size_t rawlen)
{
	if (row->csv == NULL || row->csv->nfields == row->nheader)
		return 0;
	if (row->csv->cut)
		pa_reject(where, lineno, raw, rawlen, "record cut off at end of input",
			  "record cut off at end of input: CSV row of %d cells for a header of %d columns",
			  row->csv->nfields, row->nheader);
	else
		pa_reject(where, lineno, raw, rawlen, "wrong number of cells",
			  "CSV row of %d cells for a header of %d columns", row->csv->nfields,
			  row->nheader);
	return -1;
}

#define REJECT(cls, ...)                                                       \
	do {                                                                   \
		pa_reject(where, lineno, raw, rawlen, (cls), __VA_ARGS__);     \
		return -1;                                                     \
	} while (0)

/*
 * Reads the ts target or rejects.  A time column or key that is there but
 * empty is named as empty, one whose JSON value is an object, array or
 * boolean is shown with its type, and --field is suggested only when it is
 * absent.
 */
#define NEED_TIME(t, out)                                                              \
	do {                                                                           \
		size_t tl_;                                                            \
		const char *src_ = NULL;                                               \
		const char *tv_ = pa_row_get(row, (t), &tl_, &src_);                   \
		const char *empty_ = tv_ == NULL ? pa_row_empty_source(row, (t)) : NULL;      \
		if (tv_ == NULL && empty_ == NULL && src_ != NULL && row->json != NULL &&     \
		    row->value != NULL)                                                \
			REJECT("invalid timestamp", "field %s is not a timestamp: %s", \
			       pa_quote(src_, strlen(src_)), pa_quote_json(row->value)); \
		if (empty_ != NULL)                                                    \
			REJECT("empty timestamp", "empty timestamp in %s %s",          \
			       row->csv != NULL ? "column" : "field",                  \
			       pa_quote(empty_, strlen(empty_)));                      \
		if (tv_ == NULL)                                                       \
			REJECT("missing timestamp",                                    \
			       "missing timestamp (name its column with --field %s=NAME)", \
			       pa_target_name(t));                                     \
		if (pa_parse_time_local(tv_, tl_, o->utc_offset, (out)) != 0)          \
			REJECT("invalid timestamp", "invalid timestamp %s",            \
			       pa_quote(tv_, tl_));                                    \
	} while (0)

/*
 * Return the source name of target t when the JSON row has it with an
 * object, array or boolean value, which is neither text nor a number.
 * row->value is then that value.  Returns NULL otherwise, and for CSV.
 */
static const char *
wrong_type_source(struct pa_row *row, enum pa_target t)
{
	const char *source = NULL;
	size_t len;

	if (row->json == NULL || pa_row_get(row, t, &len, &source) != NULL || source == NULL)
		return NULL;
	if (json_is_object(row->value) || json_is_array(row->value) || json_is_boolean(row->value))
		return source;
	return NULL;
}

/*
 * Reject the row when target t is a JSON object, array or boolean, as in
 * 'field "cpu" is not a cpu_usage number: boolean true', instead of reading
 * the field as absent.
 */
#define NEED_TYPE(t, cls, expected)                                                     \
	do {                                                                            \
		const char *wrong_ = wrong_type_source(row, (t));                       \
		if (wrong_ != NULL)                                                     \
			REJECT((cls), "field %s is not %s: %s",                         \
			       pa_quote(wrong_, strlen(wrong_)), (expected),            \
			       pa_quote_json(row->value));                              \
	} while (0)

/* Reject the row when its tenant, service or tenant_service_name is no text or number. */
#define NEED_LABEL_TYPES()                                                              \
	do {                                                                            \
		NEED_TYPE(PA_T_TSN, "invalid series name", "a TENANT/SERVICE name");    \
		NEED_TYPE(PA_T_TENANT, "invalid series name", "a tenant name");         \
		NEED_TYPE(PA_T_SERVICE, "invalid series name", "a service name");       \
	} while (0)

/*
 * Reject the row for the value of the field or column source.  A JSON
 * value is shown with its type after json_problem, because the string "-1"
 * and the number -1 call for different fixes, so row->value must be that
 * value.  A CSV row gets the printf message that follows.
 */
#define VALUE_REJECT(cls, source, json_problem, ...)                                    \
	do {                                                                            \
		if (row->json != NULL)                                                  \
			REJECT((cls), "field %s %s: %s",                                \
			       pa_quote((source), strlen(source)), (json_problem),      \
			       pa_quote_json(row->value));                              \
		REJECT((cls), __VA_ARGS__);                                             \
	} while (0)

static void
write_series_names(struct pa_jsonw *w, const char *tenant, const char *service)
{
	char tsn[2 * PA_NAME_MAX];
	size_t tl = strlen(tenant), sl = strlen(service);

	memcpy(tsn, tenant, tl);
	tsn[tl] = '/';
	memcpy(tsn + tl + 1, service, sl);
	pa_jsonw_cstr(w, "tenant", tenant);
	pa_jsonw_cstr(w, "service", service);
	pa_jsonw_str(w, "tenant_service_name", tsn, tl + 1 + sl);
}

/*
 * Apply --map to a series the row named itself; the rules' names are
 * mapped already.  An event that names only its tenant, for all of its
 * services, takes only a wildcard entry's tenant, so it keeps its scope.
 */
static void
map_own(const struct pa_tenancy *t, char *tenant, char *service)
{
	if (tenant[0] == '\0')
		return;
	if (service[0] != '\0') {
		pa_tenancy_map(t, tenant, service);
		return;
	}
	memcpy(service, "*", 2);
	pa_tenancy_map(t, tenant, service);
	service[0] = '\0';
}

/*
 * Tenant and service of a feed row: a tenant_service_name column, then
 * tenant and service columns, then the --tenant/--service rules.  When
 * need is set (usage, series) both are always filled, with the fallbacks
 * if nothing else.  Returns 1 when any of them applied, 0 when the row
 * names no series.
 */
static int
row_series(struct pa_row *row, const struct pa_feed_opts *o, int need, char *tenant, char *service)
{
	size_t len;
	const char *v;
	int found = 0, own;

	tenant[0] = service[0] = '\0';
	if ((v = pa_row_get(row, PA_T_TSN, &len, NULL)) != NULL) {
		const char *slash = memchr(v, '/', len);

		if (slash != NULL) {
			pa_name_clean(v, (size_t)(slash - v), 0, tenant);
			pa_name_clean(slash + 1, len - (size_t)(slash - v) - 1, 0, service);
			found = tenant[0] && service[0];
		}
	}
	if (!found) {
		if ((v = pa_row_get(row, PA_T_TENANT, &len, NULL)) != NULL)
			found |= pa_name_clean(v, len, 0, tenant) > 0;
		if ((v = pa_row_get(row, PA_T_SERVICE, &len, NULL)) != NULL)
			found |= pa_name_clean(v, len, 0, service) > 0;
	}
	own = found;
	/* Explicit rules fill what the row left open. */
	if (o->tenancy->custom[0] || o->tenancy->custom[1] || found || need) {
		struct pa_rule_input in;
		char t2[PA_NAME_MAX], s2[PA_NAME_MAX];

		memset(&in, 0, sizeof in);
		in.field = pa_row_field_cb;
		in.field_ctx = row;
		pa_tenancy_resolve(o->tenancy, &in, t2, s2);
		/* An event that names only its tenant applies to every service of it. */
		if (tenant[0] == '\0' && (o->tenancy->custom[0] || need))
			memcpy(tenant, t2, sizeof t2);
		if (service[0] == '\0' && (o->tenancy->custom[1] || need))
			memcpy(service, s2, sizeof s2);
		found = 1;
	}
	if (own)
		map_own(o->tenancy, tenant, service);
	return found;
}

int
pa_feed_event(struct pa_row *row, const struct pa_feed_opts *o, struct pa_jsonw *w,
	      const char *where, long lineno, const char *raw, size_t rawlen)
{
	pa_usec_t start, end = 0;
	const char *name, *type, *v, *source = NULL;
	size_t nlen, tlen, len;
	double magnitude = 1;
	int has_end = 0;
	char tenant[PA_NAME_MAX], service[PA_NAME_MAX];

	if (pa_row_check_cells(row, where, lineno, raw, rawlen) != 0)
		return -1;
	NEED_TIME(PA_T_TS, &start);
	NEED_TYPE(PA_T_END, "invalid timestamp", "a timestamp");
	if ((v = pa_row_get(row, PA_T_END, &len, &source)) != NULL) {
		if (pa_parse_time_local(v, len, o->utc_offset, &end) != 0)
			VALUE_REJECT("invalid timestamp", source, "is not a timestamp",
				     "invalid end time %s", pa_quote(v, len));
		/* pa-forecast rejects a window without length, so it is caught here, at its line. */
		if (end <= start)
			REJECT("event does not end after it starts",
			       "event does not end after it starts: end %s", pa_quote(v, len));
		has_end = 1;
	}
	if (o->event_name != NULL) {
		name = o->event_name;
		nlen = strlen(name);
	} else {
		NEED_TYPE(PA_T_NAME, "invalid event name", "an event name (a string or number)");
		if ((name = pa_row_get(row, PA_T_NAME, &nlen, NULL)) == NULL) {
			name = o->stem;
			nlen = strlen(name);
		}
	}
	if (o->event_type != NULL) {
		type = o->event_type;
		tlen = strlen(type);
	} else {
		NEED_TYPE(PA_T_EVENT_TYPE, "invalid event_type", "an event type (a string or number)");
		if ((type = pa_row_get(row, PA_T_EVENT_TYPE, &tlen, NULL)) == NULL) {
			type = name;
			tlen = nlen;
		}
	}
	NEED_LABEL_TYPES();
	NEED_TYPE(PA_T_MAGNITUDE, "invalid magnitude", "a number");
	if ((v = pa_row_get(row, PA_T_MAGNITUDE, &len, &source)) != NULL &&
	    pa_parse_number(v, len, &magnitude) != 0)
		VALUE_REJECT("invalid magnitude", source, "is not a number", "invalid magnitude %s",
			     pa_quote(v, len));

	/*
	 * A row without an end may be a sample of a trend stream, where an
	 * empty cell is a gap, so the default 1 would be a made-up sample.  A
	 * window keeps the default, because pa-forecast does not weigh windows.
	 */
	if (v == NULL && !has_end && (v = pa_row_empty_source(row, PA_T_MAGNITUDE)) != NULL)
		REJECT("empty magnitude",
		       "empty magnitude in %s %s of a row without an end (fill it in or drop the row)",
		       row->csv != NULL ? "column" : "field", pa_quote(v, strlen(v)));

	/* One sample near the largest double would outweigh a whole trend stream, and two overflow. */
	if (!(fabs(magnitude) <= MAGNITUDE_MAX))
		VALUE_REJECT("invalid magnitude", source, "is outside -1e15 to 1e15",
			     "magnitude %s is outside -1e15 to 1e15", pa_quote(v, len));

	pa_jsonw_begin(w);
	pa_jsonw_cstr(w, "kind", "event");
	pa_jsonw_time(w, "ts", start);
	pa_jsonw_str(w, "name", name, nlen);
	pa_jsonw_str(w, "event_type", type, tlen);
	pa_jsonw_num(w, "magnitude", magnitude);
	if (has_end)
		pa_jsonw_time(w, "end", end);
	/* An event without a series applies to every series. */
	if (row_series(row, o, 0, tenant, service)) {
		if (tenant[0] != '\0')
			pa_jsonw_cstr(w, "tenant", tenant);
		if (service[0] != '\0')
			pa_jsonw_cstr(w, "service", service);
	}
	pa_jsonw_end(w);
	return 0;
}

/*
 * Read the utilization target t of a usage row into *out: cpu_usage and
 * memory_usage as fractions of the limit (a column named with "percent" or
 * "%", and all with --percent, are divided by 100), network_io in bytes/s.
 * Returns 1, 0 when the row has no value for t, or -1 after rejecting it.
 */
static int
read_usage_value(struct pa_row *row, enum pa_target t, const struct pa_feed_opts *o, double *out,
		 const char *where, long lineno, const char *raw, size_t rawlen)
{
	const char *key = pa_target_name(t);
	const char *source = NULL, *v;
	char expected[48], problem[80];
	size_t len;

	snprintf(expected, sizeof expected, "a %s number", key);
	NEED_TYPE(t, "invalid number", expected);
	v = pa_row_get(row, t, &len, &source);
	if (v == NULL)
		return 0;
	snprintf(problem, sizeof problem, "is not %s", expected);
	if (pa_parse_number(v, len, out) != 0)
		VALUE_REJECT("invalid number", source, problem, "invalid %s %s", key, pa_quote(v, len));
	if (t != PA_T_NETWORK &&
	    (o->percent || strstr(source, "percent") != NULL || strchr(source, '%') != NULL))
		*out /= 100;

	/* Utilization and throughput cannot fall below zero; a negative figure is an exporter fault. */
	snprintf(problem, sizeof problem, "is a negative %s", key);
	if (*out < 0)
		VALUE_REJECT("negative utilization", source, problem, "negative %s %s", key,
			     pa_quote(v, len));

	/* Nor can a machine use ten times its limit; such a figure is one too. */
	snprintf(problem, sizeof problem, "is more than %g times the limit for %s",
		 PA_USAGE_FRACTION_MAX, key);
	if (t != PA_T_NETWORK && *out > PA_USAGE_FRACTION_MAX)
		VALUE_REJECT("utilization too large", source, problem,
			     "%s %s is more than %g times the limit", key, pa_quote(v, len),
			     PA_USAGE_FRACTION_MAX);
	return 1;
}

/*
 * Write into out the utilization columns or keys of row that are there but
 * empty, as in 'cpu_usage column "cpu" and memory_usage column "mem" are
 * empty'.  Returns how many there are.
 */
static int
usage_empty_cells(const struct pa_row *row, char *out, size_t size)
{
	static const enum pa_target metric[3] = { PA_T_CPU, PA_T_MEMORY, PA_T_NETWORK };
	const char *kind = row->csv != NULL ? "column" : "field";
	const char *source[3];
	enum pa_target target[3];
	size_t used = 0;
	int n = 0;

	for (int i = 0; i < 3; i++) {
		if ((source[n] = pa_row_empty_source(row, metric[i])) != NULL)
			target[n++] = metric[i];
	}
	out[0] = '\0';
	for (int i = 0; i < n && used < size; i++) {
		const char *sep = ", ";

		if (i == 0)
			sep = "";
		else if (i == n - 1)
			sep = " and ";

		used += (size_t)snprintf(out + used, size - used, "%s%s %s %s", sep,
					 pa_target_name(target[i]), kind,
					 pa_quote(source[i], strlen(source[i])));
	}
	if (n > 0 && used < size)
		snprintf(out + used, size - used, " %s empty", n == 1 ? "is" : "are");
	return n;
}

int
pa_feed_usage(struct pa_row *row, const struct pa_feed_opts *o, struct pa_jsonw *w,
	      const char *where, long lineno, const char *raw, size_t rawlen)
{
	static const enum pa_target metric[3] = { PA_T_CPU, PA_T_MEMORY, PA_T_NETWORK };
	static const char *const key[3] = { "cpu_usage", "memory_usage", "network_io" };
	pa_usec_t ts;
	const char *inst, *empty_source;
	size_t ilen;
	double val[3];
	int have[3], any = 0;
	char tenant[PA_NAME_MAX], service[PA_NAME_MAX], empty[512];

	if (pa_row_check_cells(row, where, lineno, raw, rawlen) != 0)
		return -1;
	NEED_TIME(PA_T_TS, &ts);
	NEED_TYPE(PA_T_INSTANCE, "invalid instance_id", "an instance_id (a string or number)");
	inst = pa_row_get(row, PA_T_INSTANCE, &ilen, NULL);
	if (inst == NULL && o->instance_is_stem) {
		inst = o->stem;
		ilen = strlen(o->stem);
	}
	if (inst == NULL && (empty_source = pa_row_empty_source(row, PA_T_INSTANCE)) != NULL)
		REJECT("empty instance_id", "empty instance_id in %s %s",
		       row->csv != NULL ? "column" : "field",
		       pa_quote(empty_source, strlen(empty_source)));
	if (inst == NULL)
		REJECT("missing instance_id",
		       "missing instance_id (name its column with --field instance_id=NAME)");
	NEED_LABEL_TYPES();
	for (int i = 0; i < 3; i++) {
		have[i] = read_usage_value(row, metric[i], o, &val[i], where, lineno, raw, rawlen);
		if (have[i] < 0)
			return -1;
		any |= have[i];
	}
	if (!any && usage_empty_cells(row, empty, sizeof empty) > 0)
		REJECT("empty utilization", "no utilization value: %s", empty);
	if (!any)
		REJECT("missing utilization", "no cpu_usage, memory_usage or network_io column "
		       "(name one with --field cpu_usage=COLUMN)");
	row_series(row, o, 1, tenant, service);

	pa_jsonw_begin(w);
	pa_jsonw_cstr(w, "kind", "usage");
	pa_jsonw_time(w, "ts", ts);
	pa_jsonw_str(w, "instance_id", inst, ilen);
	write_series_names(w, tenant, service);
	/* An unknown figure is written as null, as Prometheus input writes it. */
	for (int i = 0; i < 3; i++) {
		if (have[i])
			pa_jsonw_num(w, key[i], val[i]);
		else
			pa_jsonw_raw(w, key[i], "null", 4);
	}
	pa_jsonw_end(w);
	return 0;
}

static void
write_bucket(struct pa_jsonw *w, pa_usec_t ts, pa_usec_t step, const char *tenant,
	     const char *service, double requests)
{
	pa_jsonw_begin(w);
	pa_jsonw_cstr(w, "kind", "bucket");
	pa_jsonw_time(w, "ts", ts);
	pa_jsonw_num(w, "step_s", (double)step / PA_USEC_PER_SEC);
	write_series_names(w, tenant, service);
	pa_jsonw_num(w, "requests", requests);
	pa_jsonw_int(w, "errors", 0);
	/* Counts carry no cost information, so every request weighs 1.0. */
	pa_jsonw_num(w, "complexity_sum", requests);
	pa_jsonw_num(w, "complexity_mean", requests > 0 ? 1 : 0);

	/*
	 * Whole counts also get the partials pa-score --merge adds up: no byte
	 * counts known, and a complexity sketch with every request in the bin
	 * of 1.0 (key 0 at the sketch's alpha of 0.01).
	 */
	if (requests == floor(requests) && requests < 1e15) {
		char sketch[128];
		int n;
		long long count = (long long)requests;

		pa_jsonw_int(w, "bytes_in", 0);
		pa_jsonw_int(w, "bytes_out", 0);
		pa_jsonw_int(w, "bytes_in_known", 0);
		pa_jsonw_int(w, "bytes_out_known", 0);
		pa_jsonw_int(w, "complexity_sum_micro", count * 1000000);
		if (count > 0)
			n = snprintf(sketch, sizeof sketch,
				     "{\"alpha\":0.01,\"zeros\":0,\"keys\":[0],\"counts\":[%lld]}", count);
		else
			n = snprintf(sketch, sizeof sketch,
				     "{\"alpha\":0.01,\"zeros\":0,\"keys\":[],\"counts\":[]}");
		pa_jsonw_raw(w, "complexity_sketch", sketch, (size_t)n);
	}
	pa_jsonw_end(w);
}

/* Check whether every value of a series row is a gap (an empty cell). */
static int
all_gaps(const double *val, int n)
{
	for (int i = 0; i < n; i++)
		if (!isnan(val[i]))
			return 0;
	return 1;
}

/* Find the series TENANT/SERVICE in t, adding it when it is new. */
static struct pa_series_entry *
series_lookup(struct pa_series_table *t, const char *tenant, const char *service)
{
	char name[2 * PA_NAME_MAX];
	int len = snprintf(name, sizeof name, "%s/%s", tenant, service);
	size_t mask, i;
	struct pa_series_entry *e;

	if (2 * (t->count + 1) >= t->index_cap) {
		t->index_cap = t->index_cap ? 2 * t->index_cap : 64;
		free(t->index);
		t->index = pa_xcalloc(t->index_cap, sizeof *t->index);
		mask = t->index_cap - 1;
		for (size_t k = 0; k < t->count; k++) {
			const char *old = t->entry[k].name;

			for (i = pa_hash64(old, strlen(old)) & mask; t->index[i] != 0; i = (i + 1) & mask)
				;
			t->index[i] = k + 1;
		}
	}
	mask = t->index_cap - 1;
	for (i = pa_hash64(name, (size_t)len) & mask; t->index[i] != 0; i = (i + 1) & mask) {
		e = &t->entry[t->index[i] - 1];
		if (strcmp(e->name, name) == 0)
			return e;
	}
	if (t->count == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->entry = pa_xrealloc(t->entry, t->cap * sizeof *t->entry);
	}
	e = &t->entry[t->count];
	memset(e, 0, sizeof *e);
	memcpy(e->name, name, (size_t)len + 1);
	t->index[i] = ++t->count;
	return e;
}

static void
series_table_free(struct pa_series_table *t)
{
	free(t->entry);
	free(t->index);
	memset(t, 0, sizeof *t);
}

/* Write a bucket for each known count of a row, or count the row as a gap. */
static void
write_row(struct pa_series_state *st, struct pa_jsonw *w, pa_usec_t ts, const char *tenant,
	  char (*service)[PA_NAME_MAX], const double *val, int n)
{
	for (int i = 0; i < n; i++)
		if (!isnan(val[i]))
			write_bucket(w, pa_bucket_start(ts, st->step), st->step, tenant, service[i],
				     val[i]);
	st->gaps += all_gaps(val, n);
}

/* Keep a row of the series groups.entry[group] until the step is known. */
static void
hold_row(struct pa_series_state *st, size_t group, pa_usec_t ts, const char *tenant,
	 char (*service)[PA_NAME_MAX], const double *val, int n, long lineno, const char *raw,
	 size_t rawlen)
{
	struct pa_series_pending *p;

	if (st->npending == st->pending_cap) {
		st->pending_cap = st->pending_cap ? 2 * st->pending_cap : 4;
		st->pending = pa_xrealloc(st->pending, (size_t)st->pending_cap * sizeof *st->pending);
	}
	p = &st->pending[st->npending++];
	p->ts = ts;
	p->nvals = n;
	memcpy(p->val, val, sizeof val[0] * (size_t)n);
	memcpy(p->service, service, sizeof service[0] * (size_t)n);
	snprintf(p->tenant, sizeof p->tenant, "%s", tenant);
	p->raw = pa_xmalloc(rawlen + 1);
	memcpy(p->raw, raw, rawlen);
	p->rawlen = rawlen;
	p->lineno = lineno;
	p->group = group;
}

/*
 * Warn once when a row is off the grid of its series, for a step inferred
 * from the rows, because such rows share a bucket that pa-forecast adds
 * up.  The step is then often wrong, as when 90-second data has a row a
 * minute after another near the top.
 */
static void
check_grid(struct pa_series_state *st, const struct pa_series_entry *series, pa_usec_t ts,
	   const char *where, long lineno)
{
	char when[40];

	if (st->grid_warned || !st->step_inferred || (ts - series->origin) % st->step == 0)
		return;
	st->grid_warned = 1;
	pa_warn("%s:%ld: timestamp %s is not a whole number of steps after the first row of its "
		"series, so rows may share a bucket; if the inferred step of %g s is wrong, name "
		"the step with --step", where, lineno, pa_time_format(ts, when, sizeof when),
		(double)st->step / PA_USEC_PER_SEC);
}

/* Write the rows held until the step was known, in input order. */
static void
flush_pending(struct pa_series_state *st, struct pa_jsonw *w, const char *where)
{
	for (int i = 0; i < st->npending; i++) {
		struct pa_series_pending *p = &st->pending[i];

		check_grid(st, &st->groups.entry[p->group], p->ts, where, p->lineno);
		write_row(st, w, p->ts, p->tenant, p->service, p->val, p->nvals);
		free(p->raw);
	}
	st->npending = 0;
}

/* A held row's series and time, to sort by. */
struct held_time {
	size_t group;
	pa_usec_t ts;
};

static int
compare_held_time(const void *a, const void *b)
{
	const struct held_time *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/*
 * Infer the step from the held rows as the smallest positive distance
 * between two rows of one series, and write them.  A rejected row only
 * leaves out a time, so it can make the distances larger but never this
 * minimum.  Does nothing when no series has rows at two times.
 */
static void
infer_step(struct pa_series_state *st, struct pa_jsonw *w, const char *where)
{
	struct held_time *times;
	pa_usec_t step = 0;

	if (st->npending < 2)
		return;
	times = pa_xmalloc((size_t)st->npending * sizeof *times);
	for (int i = 0; i < st->npending; i++) {
		times[i].group = st->pending[i].group;
		times[i].ts = st->pending[i].ts;
	}
	qsort(times, (size_t)st->npending, sizeof *times, compare_held_time);
	for (int i = 1; i < st->npending; i++) {
		pa_usec_t d = times[i].ts - times[i - 1].ts;

		if (times[i].group == times[i - 1].group && d > 0 && (step == 0 || d < step))
			step = d;
	}
	free(times);
	if (step == 0)
		return;
	st->step = step;
	st->step_inferred = 1;
	flush_pending(st, w, where);
}

/*
 * Warn about the first row at the time of the row before in its series.
 * Both rows are written, as buckets that pa-forecast adds up, so counts
 * split over rows (one per container, say) are kept.
 */
static void
note_repeat(struct pa_series_state *st, const struct pa_series_entry *series, pa_usec_t ts,
	    const char *where, long lineno)
{
	char when[40];

	if (st->repeats++ > 0)
		return;
	pa_warn("%s:%ld: timestamp %s repeats the time of line %ld in its series; both rows are "
		"written, and pa-forecast adds up the buckets of one time (if the rows belong to "
		"different series, name the column that tells them apart with --service "
		"field:COLUMN)", where, lineno, pa_time_format(ts, when, sizeof when),
		series->last_line);
}

/*
 * Warn once about a count that is not a whole number, such as a rate.
 * pa-forecast reads its bucket, but write_bucket leaves out the partials
 * that pa-score --merge adds up, so --merge rejects it.
 */
static void __attribute__((format(printf, 4, 5)))
warn_fraction(struct pa_series_state *st, const char *where, long lineno, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	if (st->fraction_warned)
		return;
	st->fraction_warned = 1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	pa_warn("%s:%ld: %s is not a whole number, so buckets with fractional counts get no "
		"merge partials and pa-score --merge will reject them (pa-forecast reads them)",
		where, lineno, what);
}

/* Check whether a field: rule for the tenant or the service reads column, so it is a label. */
static int
is_rule_field(const struct pa_tenancy *t, const char *column)
{
	for (int i = 0; i < t->ntenant; i++)
		if (t->tenant[i].kind == PA_RULE_FIELD && strcasecmp(t->tenant[i].arg, column) == 0)
			return 1;
	for (int i = 0; i < t->nservice; i++)
		if (t->service[i].kind == PA_RULE_FIELD && strcasecmp(t->service[i].arg, column) == 0)
			return 1;
	return 0;
}

/* Check whether JSON key k is one of the three label sources, each NULL when absent. */
static int
is_label_key(const char *k, const char *const label[3])
{
	for (int i = 0; i < 3; i++)
		if (label[i] != NULL && strcmp(k, label[i]) == 0)
			return 1;
	return 0;
}

/* Check whether the row has a service or tenant_service_name of its own. */
static int
row_names_service(struct pa_row *row)
{
	size_t len;

	return pa_row_get(row, PA_T_SERVICE, &len, NULL) != NULL ||
	       pa_row_get(row, PA_T_TSN, &len, NULL) != NULL;
}

/* Facts about the count cells of one CSV series row, beyond their values. */
struct count_cells {
	int unknown_empty;	/* empty cells of columns whose kind is not known yet */
	int unknown_column;	/* the last of those columns */
	int first_count_column;	/* a column whose first count is in this row, or -1 */
};

/*
 * Read the count cells of a CSV series row into val and names, as
 * pa_feed_series describes, and store in *cells what else they hold.
 * Returns the number of values, or -1 after rejecting the row.
 */
static int
read_csv_counts(struct pa_row *row, const struct pa_feed_opts *o, struct pa_series_state *st,
		const char *tscol, double *val, char (*names)[PA_NAME_MAX], struct count_cells *cells,
		const char *where, long lineno, const char *raw, size_t rawlen)
{
	int n = 0;

	cells->unknown_empty = 0;
	cells->unknown_column = -1;
	cells->first_count_column = -1;
	for (int c = 0; c < row->csv->nfields && c < row->nheader && n < PA_SERIES_MAX; c++) {
		const char *cell = row->csv->field[c];
		size_t cellen = row->csv->len[c];

		/* Of columns that share a name, only the first is read, as for every other target. */
		if (tscol == row->header[c] || c == row->columns[PA_T_TENANT] ||
		    c == row->columns[PA_T_SERVICE] || c == row->columns[PA_T_TSN] ||
		    is_rule_field(o->tenancy, row->header[c]) ||
		    st->column_kind[c] == PA_COLUMN_TEXT ||
		    (row->header[c][0] != '\0' &&
		     find_column(row->header, c, row->header[c], strlen(row->header[c])) >= 0))
			continue;
		if (cellen == 0 && st->column_kind[c] == PA_COLUMN_UNKNOWN) {
			/* Text or numbers: its first non-empty cell decides. */
			cells->unknown_empty++;
			cells->unknown_column = c;
			st->empty_unknown[c] = 1;
			continue;
		}
		if (cellen == 0) {
			val[n] = NAN;	/* a gap, not a zero */
		} else if (pa_parse_number(cell, cellen, &val[n]) != 0) {
			if (st->column_kind[c] == PA_COLUMN_UNKNOWN) {
				st->column_kind[c] = PA_COLUMN_TEXT;
				continue;
			}
			REJECT("invalid count", "invalid count %s in column %s",
			       pa_quote(cell, cellen),
			       pa_quote(row->header[c], strlen(row->header[c])));
		} else if (val[n] < 0) {
			REJECT("invalid count", "negative count %s in column %s",
			       pa_quote(cell, cellen),
			       pa_quote(row->header[c], strlen(row->header[c])));
		} else if (val[n] > PA_REQUESTS_MAX) {
			/* pa-forecast's limit, so the row is named here, in its file. */
			REJECT("invalid count", "count %s in column %s is more than 1e15",
			       pa_quote(cell, cellen),
			       pa_quote(row->header[c], strlen(row->header[c])));
		}
		if (cellen > 0 && val[n] != floor(val[n]))
			warn_fraction(st, where, lineno, "count %s in column %s",
				      pa_quote(cell, cellen),
				      pa_quote(row->header[c], strlen(row->header[c])));
		if (cellen > 0 && st->column_kind[c] == PA_COLUMN_UNKNOWN)
			cells->first_count_column = c;
		if (cellen > 0) {
			st->column_kind[c] = PA_COLUMN_NUMBER;
			st->any_number = 1;
		}
		pa_name_clean(row->header[c], strlen(row->header[c]), 1, names[n]);
		n++;
	}
	return n;
}

/*
 * Warn once when a column's first count makes a row of several series,
 * each named by its column, after an earlier row wrote its one count as a
 * series named by the row's service or the file.  That earlier row was
 * read while this column was still empty, so the other column's counts now
 * carry two names.
 * NOTE: telling the two apart needs every column's first count, which may
 * come at the end of the input, so the rows are not held until then.
 */
static void
warn_split_names(struct pa_series_state *st, const struct pa_row *row, int column,
		 const char *where, long lineno)
{
	if (st->split_warned || st->single_line == 0)
		return;
	st->split_warned = 1;
	pa_warn("%s:%ld: column %s has its first count here, so from this row each count column "
		"is a series named by its column, but earlier rows from line %ld, read while it was "
		"empty, wrote their count as series %s: give each count column a file of its own "
		"to keep one name per series",
		where, lineno, pa_quote(row->header[column], strlen(row->header[column])),
		st->single_line, pa_quote(st->single_name, strlen(st->single_name)));
}

int
pa_feed_series(struct pa_row *row, const struct pa_feed_opts *o, struct pa_series_state *st,
	       struct pa_jsonw *w, const char *where, long lineno, const char *raw, size_t rawlen)
{
	pa_usec_t ts;
	char tenant[PA_NAME_MAX], service[PA_NAME_MAX];
	double val[PA_SERIES_MAX];
	char names[PA_SERIES_MAX][PA_NAME_MAX];
	struct count_cells cells = { 0, -1, -1 };
	int n = 0, named_by_empty = 0;
	const char *tscol = NULL;
	size_t len;
	struct pa_series_entry *group;

	if (pa_row_check_cells(row, where, lineno, raw, rawlen) != 0)
		return -1;
	NEED_TIME(PA_T_TS, &ts);
	NEED_LABEL_TYPES();
	pa_row_get(row, PA_T_TS, &len, &tscol);
	row_series(row, o, 1, tenant, service);

	/* Every other numeric column is a series of counts. */
	if (row->csv != NULL) {
		n = read_csv_counts(row, o, st, tscol, val, names, &cells, where, lineno, raw, rawlen);
		if (n < 0)
			return -1;
	} else {
		const char *label[3] = { NULL, NULL, NULL };
		const char *k;
		json_t *v;

		/*
		 * Tenant, service and field: rule keys name the series, as their
		 * CSV columns do, so a number there is no count.
		 */
		pa_row_get(row, PA_T_TENANT, &len, &label[0]);
		pa_row_get(row, PA_T_SERVICE, &len, &label[1]);
		pa_row_get(row, PA_T_TSN, &len, &label[2]);
		json_object_foreach((json_t *)row->json, k, v) {
			if (n == PA_SERIES_MAX)
				break;
			if (!json_is_number(v) || strcmp(k, tscol) == 0 || is_label_key(k, label) ||
			    is_rule_field(o->tenancy, k))
				continue;
			val[n] = json_number_value(v);
			if (val[n] < 0 || val[n] > PA_REQUESTS_MAX)
				REJECT("invalid count", "field %s is not a count from 0 to 1e15: %s",
				       pa_quote(k, strlen(k)), pa_quote_json(v));
			if (val[n] != floor(val[n]))
				warn_fraction(st, where, lineno, "count %g in field %s", val[n],
					      pa_quote(k, strlen(k)));
			pa_name_clean(k, strlen(k), 1, names[n]);
			n++;
		}
	}
	if (n == 0 && cells.unknown_empty == 0)
		REJECT("missing count", "no numeric column besides the timestamp");

	/*
	 * A row whose count cells are all empty, before any of their columns
	 * had a number, is a gap, as an empty cell later in a count column
	 * is.  When one column could hold counts, that cell names the series
	 * as the column's counts will, so a series without any count is
	 * still named at the end of the input.
	 */
	if (n == 0 && cells.unknown_empty == 1) {
		val[0] = NAN;
		n = 1;
		named_by_empty = 1;
	}
	if (n == 1 && (o->tenancy->custom[1] || row_names_service(row)))
		memcpy(names[0], service, sizeof service);
	else if (n == 1 && row->columns != NULL)
		pa_name_clean(o->stem, strlen(o->stem), 1, names[0]);

	if (st->step == 0 && o->step > 0)
		st->step = o->step;
	group = series_lookup(&st->groups, tenant, service);
	if (group->rows == 0)
		group->origin = ts;
	else if (ts == group->last_ts)
		note_repeat(st, group, ts, where, lineno);
	else
		st->two_times = 1;
	group->last_ts = ts;
	group->last_line = lineno;
	group->rows++;
	for (int i = 0; i < n; i++) {
		struct pa_series_entry *e = series_lookup(&st->counts, tenant, names[i]);

		e->has_count |= !isnan(val[i]);
		if (named_by_empty)
			e->empty_column = cells.unknown_column;
		else
			e->column_known = 1;
	}

	if (n == 1 && !named_by_empty && cells.unknown_empty > 0 && st->single_line == 0) {
		st->single_line = lineno;
		snprintf(st->single_name, sizeof st->single_name, "%s/%s", tenant, names[0]);
	}
	if (n > 1 && cells.first_count_column >= 0)
		warn_split_names(st, row, cells.first_count_column, where, lineno);

	if (st->step == 0) {
		hold_row(st, (size_t)(group - st->groups.entry), ts, tenant, names, val, n, lineno,
			 raw, rawlen);
		if (st->two_times && (group->rows >= PA_STEP_ROWS || st->npending >= PA_STEP_HELD))
			infer_step(st, w, where);
	} else {
		check_grid(st, group, ts, where, lineno);
		write_row(st, w, ts, tenant, names, val, n);
	}
	return 0;
}

/*
 * Name the series whose every count cell was empty, the first few of them,
 * because they write no bucket and would otherwise vanish from the output.
 */
static void
warn_countless(const struct pa_series_state *st, const char *where)
{
	char names[5 * 2 * PA_NAME_MAX];
	size_t used = 0;
	long count = 0, shown = 0;

	names[0] = '\0';
	for (size_t i = 0; i < st->counts.count; i++) {
		const struct pa_series_entry *e = &st->counts.entry[i];

		/* Empty cells of a column that turned out to be text name no series. */
		if (e->has_count ||
		    (!e->column_known && st->column_kind[e->empty_column] == PA_COLUMN_TEXT))
			continue;
		count++;
		if (shown < 5 && used < sizeof names) {
			used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
						 shown ? ", " : "", e->name);
			shown++;
		}
	}
	/*
	 * Empty cells of several columns name no one series.  So when such a
	 * column never held anything, one warning says that all are empty.
	 */
	for (int c = 0; count == 0 && !st->any_number && c < PA_CSV_MAX_FIELDS; c++) {
		if (st->empty_unknown[c] && st->column_kind[c] == PA_COLUMN_UNKNOWN) {
			pa_warn("%s: no bucket written: every count cell is empty", where);
			break;
		}
	}
	if (count == 0)
		return;
	if (count > shown)
		pa_warn("%s: no bucket written for %ld series whose count cells are all empty: "
			"%s and %ld more", where, count, names, count - shown);
	else
		pa_warn("%s: no bucket written for %ld series whose count cells are all empty: %s",
			where, count, names);
}

long
pa_series_finish(struct pa_series_state *st, struct pa_jsonw *w, const char *where)
{
	long gaps;
	const char *unknown_step = st->groups.count == 1
		? "only one series row and no --step, so the step is unknown"
		: "every series row is at the same time and there is no --step, so the step is unknown";

	infer_step(st, w, where);

	/*
	 * When no series has rows at two times, as in a file of one row per
	 * series, the step is the distance from the first row to the first
	 * later row.
	 */
	for (int i = 1; i < st->npending && st->step == 0; i++) {
		if (st->pending[i].ts > st->pending[0].ts) {
			st->step = st->pending[i].ts - st->pending[0].ts;
			st->step_inferred = 1;
			flush_pending(st, w, where);
		}
	}
	for (int i = 0; i < st->npending; i++) {
		struct pa_series_pending *p = &st->pending[i];

		pa_reject(where, p->lineno, p->raw, p->rawlen, "series step unknown", "%s",
			  unknown_step);
		free(p->raw);
	}
	if (st->repeats > 1)
		pa_warn("%s: %ld rows in all repeat the time of the row before in their series",
			where, st->repeats);
	warn_countless(st, where);
	gaps = st->gaps;
	free(st->pending);
	series_table_free(&st->groups);
	series_table_free(&st->counts);
	memset(st, 0, sizeof *st);
	return gaps;
}
