#include "prom.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "jsonpos.h"
#include "ndjson.h"

/* ---- Reading API responses ---- */

struct series_ctx {
	const char *where;
	long lineno;
	const char *doc;		/* the response text, to find the line of a series or sample */
	size_t len;
	size_t nseries;			/* series in the result */
	struct pa_json_pos *series_pos;	/* where each series starts, found on first use */
	int series_located;
	size_t index;			/* the series being read */
	int matrix;
	long *sample_line;		/* line of each sample of that series, found on first use */
	int samples_located;
	const struct pa_tsdb_map *map;
	struct pa_tsdb_acc *acc;
	const json_t *labels;
	const char *desc;
};

/* Line where the current series starts, or the response's first line when it cannot be found. */
static long
series_line(struct series_ctx *s)
{
	if (!s->series_located) {
		struct pa_json_pos p = pa_json_pos_root(s->doc, s->len, s->lineno);
		long n = -1;

		s->series_located = 1;
		s->series_pos = calloc(s->nseries + 1, sizeof *s->series_pos);
		if (s->series_pos == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
		if (pa_json_pos_member(s->doc, s->len, &p, "data") == 0 &&
		    pa_json_pos_member(s->doc, s->len, &p, "result") == 0)
			n = pa_json_pos_elements(s->doc, s->len, p, s->series_pos, s->nseries);
		if (n != (long)s->nseries) {
			free(s->series_pos);
			s->series_pos = NULL;
		}
	}
	return s->series_pos != NULL ? s->series_pos[s->index].line : s->lineno;
}

/* Line where sample k of the current series starts, or else the series' line. */
static long
sample_line(struct series_ctx *s, size_t k, size_t nsamples)
{
	long line = series_line(s);

	if (s->series_pos == NULL)
		return line;
	if (!s->samples_located) {
		struct pa_json_pos p = s->series_pos[s->index];

		s->samples_located = 1;
		if (!s->matrix) {
			/* An instant vector's one sample is the series' "value". */
			if (pa_json_pos_member(s->doc, s->len, &p, "value") != 0)
				return line;
			s->sample_line = malloc(sizeof *s->sample_line);
			if (s->sample_line == NULL)
				pa_die(PA_EXIT_IO, "out of memory");
			s->sample_line[0] = p.line;
		} else {
			/* Out of memory, the samples are reported on the series' line. */
			s->sample_line = pa_json_pos_element_lines(s->doc, s->len, p, "values",
								   nsamples);
		}
	}
	return s->sample_line != NULL ? s->sample_line[k] : line;
}

static void
reject_json(const struct series_ctx *s, long lineno, const json_t *raw, const char *reason_class,
	    const char *message)
{
	char *text = pa_tsdb_dump(raw);

	pa_reject(s->where, lineno, text, strlen(text), reason_class, "%s", message);
	free(text);
}

/*
 * Count the samples of a rejected series after its first as read and
 * rejected, so a lost series weighs toward --max-bad as its samples do.
 * The caller counted the first and printed the reason.
 */
static void
count_series_samples(const json_t *series, const char *reason_class)
{
	size_t n = json_array_size(json_object_get(series, "values"));

	for (size_t i = 1; i < n; i++)
		pa_diag_count_read();
	if (n > 1)
		pa_reject_records((long)n - 1, reason_class);
}

/* Reject a whole series on the line where it starts. */
static void
reject_series(struct series_ctx *s, const json_t *series, const char *reason_class,
	      const char *message)
{
	reject_json(s, series_line(s), series, reason_class, message);
	count_series_samples(series, reason_class);
}

/*
 * Reject sample k of the n in the current series, keeping it with its
 * labels in the rejects file.
 */
static void
reject_sample(struct series_ctx *s, const json_t *sample, size_t k, size_t n,
	      const char *reason_class, const char *why)
{
	json_t *raw = json_pack("{s:O,s:O}", "metric", s->labels, "value", sample);
	char msg[512];

	snprintf(msg, sizeof msg, "series %s: %s", s->desc, why);
	reject_json(s, sample_line(s, k, n), raw, reason_class, msg);
	json_decref(raw);
}

/*
 * Convert a sample time in seconds to microseconds, rounded to the
 * millisecond that Prometheus stores.  Returns -1 for a time that is not a
 * number or lies beyond year 9999 either way.
 */
static int
sample_time(const json_t *t, pa_usec_t *out)
{
	double sec = json_number_value(t);

	if (!json_is_number(t) || !(fabs(sec) < 253402300800.0))
		return -1;
	*out = (pa_usec_t)llround(sec * 1000.0) * 1000;
	return 0;
}

/*
 * Return whether text is a value as the HTTP API writes one: a decimal
 * number such as "-1.5" or "2e-05", or NaN, +Inf or -Inf.  Hex ("0x10"),
 * padded (" 5") and other strtod forms never come from Prometheus.
 */
static int
is_api_number(const char *text)
{
	const char *p = text;

	if (strcmp(text, "NaN") == 0 || strcmp(text, "+Inf") == 0 || strcmp(text, "-Inf") == 0)
		return 1;
	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

/*
 * Parse sample k of the n in the current series, a [time, "value"] pair.
 * Returns 0 with a finite value, or -1 after rejecting the sample.
 */
static int
parse_sample(struct series_ctx *s, const json_t *sample, size_t k, size_t n, pa_usec_t *ts,
	     double *v)
{
	const json_t *t = json_array_get(sample, 0);
	const json_t *value = json_array_get(sample, 1);
	const char *text = json_string_value(value);
	char *end;
	char why[300], when[40];

	if (!json_is_array(sample) || json_array_size(sample) != 2) {
		snprintf(why, sizeof why, "sample is not a pair [unix_time, \"value\"]: %s",
			 pa_quote_json(sample));
		reject_sample(s, sample, k, n, "invalid sample", why);
		return -1;
	}
	if (!json_is_number(t)) {
		snprintf(why, sizeof why, "sample time is not a number of seconds: %s",
			 pa_quote_json(t));
		reject_sample(s, sample, k, n, "invalid sample", why);
		return -1;
	}
	if (sample_time(t, ts) != 0) {
		snprintf(why, sizeof why, "sample time is beyond year 9999: %s", pa_quote_json(t));
		reject_sample(s, sample, k, n, "invalid sample", why);
		return -1;
	}
	pa_time_format(*ts, when, sizeof when);

	/* The API writes every value as a JSON string, so a bare number did not come from it. */
	if (text != NULL) {
		errno = 0;
		*v = strtod(text, &end);
	}
	if (text == NULL || end == text || *end != '\0' || !is_api_number(text)) {
		snprintf(why, sizeof why, "sample at %s: value is not a decimal number in a string, as "
			 "Prometheus writes one: %s",
			 when, pa_quote_json(value));
		reject_sample(s, sample, k, n, "invalid sample", why);
		return -1;
	}
	if (isnan(*v)) {
		snprintf(why, sizeof why,
			 "sample at %s: value is NaN (a stale marker or an undefined result such as "
			 "0/0): %s", when, pa_quote_json(value));
		reject_sample(s, sample, k, n, "NaN sample", why);
		return -1;
	}
	if (isinf(*v)) {
		/* strtod gives HUGE_VAL with ERANGE for "1e400", which is not "+Inf" as written. */
		snprintf(why, sizeof why, "sample at %s: value is %s, which no record field can hold: %s",
			 when, errno == ERANGE ? "beyond the range of a double" : "infinite",
			 pa_quote_json(value));
		reject_sample(s, sample, k, n, "infinite sample", why);
		return -1;
	}
	return 0;
}

/* Return whether samples of conv are each a value on their own, not a counter. */
static int
is_gauge(enum pa_tsdb_conv conv)
{
	return conv != PA_TSDB_CONV_RATE && conv != PA_TSDB_CONV_INCREASE && conv != PA_TSDB_CONV_CPU;
}

static void
add_gauge(const struct series_ctx *s, int group, const struct pa_tsdb_metric *m,
	  pa_usec_t ts, double v)
{
	switch (m->conv) {
	case PA_TSDB_CONV_STEP:
		pa_tsdb_acc_meta(s->acc, group, PA_TSDB_M_STEP_S, ts, v);
		return;
	case PA_TSDB_CONV_COVERED:
		pa_tsdb_acc_meta(s->acc, group, PA_TSDB_M_COVERED_S, ts, v);
		return;
	case PA_TSDB_CONV_COVERED_FROM:
		pa_tsdb_acc_meta(s->acc, group, PA_TSDB_M_COVERED_FROM_S, ts, v);
		return;
	case PA_TSDB_CONV_MEMORY:
		v /= s->map->memory_limit;
		break;
	default:
		if (s->map->metric >= 0)
			v /= pa_tsdb_metric_divisor(s->map);
		break;
	}
	pa_tsdb_acc_add(s->acc, group, m->field, ts, v);
}

/*
 * Turn counter samples into rates or increases.  A rate belongs to the
 * later sample (as rate() reports at the end of its window); an increase
 * belongs to the bucket starting at the earlier one.  A counter that went
 * down was reset, and its new value is the increase.  An increase across a
 * gap wider than the series' sample spacing (the series went stale for a
 * while) is not attributed to one bucket and is rejected.
 */
static void
add_counter(struct series_ctx *s, int group, const struct pa_tsdb_metric *m,
	    size_t n, const pa_usec_t *ts, const double *v, const json_t *samples,
	    const size_t *index)
{
	pa_usec_t spacing = 0;

	for (size_t i = 1; i < n; i++) {
		pa_usec_t d = ts[i] - ts[i - 1];

		if (d > 0 && (spacing == 0 || d < spacing))
			spacing = d;
	}

	for (size_t i = 1; i < n; i++) {
		double dv = v[i] >= v[i - 1] ? v[i] - v[i - 1] : v[i];
		double dt = (double)(ts[i] - ts[i - 1]) / PA_USEC_PER_SEC;

		if (dt <= 0)
			continue;
		if (m->conv == PA_TSDB_CONV_INCREASE) {
			if (ts[i] - ts[i - 1] > spacing + spacing / 2) {
				char a[40], b[40], why[200];

				snprintf(why, sizeof why,
					 "no samples between %s and %s (the series went stale), so "
					 "that increase is not attributed to a bucket",
					 pa_time_format(ts[i - 1], a, sizeof a),
					 pa_time_format(ts[i], b, sizeof b));
				reject_sample(s, json_array_get(samples, index[i]), index[i],
					      json_array_size(samples), "stale gap", why);
				continue;
			}
			pa_tsdb_acc_add(s->acc, group, m->field, ts[i - 1], dv);
		} else if (m->conv == PA_TSDB_CONV_CPU) {
			pa_tsdb_acc_add(s->acc, group, m->field, ts[i], dv / dt / s->map->cpu_limit);
		} else {
			pa_tsdb_acc_add(s->acc, group, m->field, ts[i], dv / dt);
		}
	}
}

/*
 * Warn when a gauge of pa's own per-bucket counts (pa_bucket_requests and
 * the like) repeats its value from one sample to the next for most of its
 * nonzero samples.  Such a gauge has one sample per bucket, so repeats
 * mean the query step was finer than the bucket and Prometheus filled the
 * steps between with the last value for its lookback (5 minutes by
 * default).  Adding them would count each bucket several times.
 * NOTE: a series whose real counts often repeat (such as 1, 1, 1) warns
 * too, which is why this warns and does not reject.
 */
static void
warn_repeats(struct series_ctx *s, const struct pa_tsdb_metric *m, size_t n,
	     const pa_usec_t *ts, const double *v)
{
	size_t pairs = 0, repeats = 0;

	if (m->name == NULL || strncmp(m->name, "pa_bucket_", 10) != 0)
		return;
	for (size_t i = 1; i < n; i++) {
		if (v[i - 1] == 0 || ts[i] <= ts[i - 1])
			continue;
		pairs++;
		if (v[i] == v[i - 1])
			repeats++;
	}
	if (repeats < 2 || repeats * 2 < pairs)
		return;
	pa_warn("%s:%ld: series %s: %zu of %zu nonzero samples repeat the value before them, as "
		"Prometheus repeats a per-bucket gauge when the query step is finer than the "
		"bucket, so buckets may be counted several times: query at the bucket step "
		"(step_s)", s->where, series_line(s), s->desc, repeats, pairs);
}

static const char *
field_list(void)
{
	return "cpu_usage, memory_usage, network_io, requests, errors, complexity_sum, "
	       "complexity_mean, bytes_in or bytes_out";
}

/*
 * Decide which field a series fills.  --metric applies to every series;
 * without it the __name__ table decides.  Returns 0, or -1 after rejecting.
 */
static int
series_metric(struct series_ctx *s, const json_t *series, struct pa_tsdb_metric *out)
{
	const char *name = json_string_value(json_object_get(s->labels, "__name__"));
	const struct pa_tsdb_metric *m;
	char msg[600];

	if (s->map->metric >= 0) {
		out->name = name;
		out->field = (enum pa_tsdb_field)s->map->metric;
		out->conv = PA_TSDB_CONV_GAUGE;
		return 0;
	}
	m = name ? pa_tsdb_metric_lookup(name) : NULL;
	if (m != NULL) {
		*out = *m;
		return 0;
	}
	if (name == NULL)
		snprintf(msg, sizeof msg,
			 "series %s has no __name__ (the query applied a function such as "
			 "rate()), so its field is unknown: give --metric FIELD (%s)",
			 s->desc, field_list());
	else
		snprintf(msg, sizeof msg,
			 "metric %s is not in the table of known names: give --metric FIELD (%s)",
			 pa_quote(name, strlen(name)), field_list());
	reject_series(s, series, "unknown metric", msg);
	return -1;
}

static void
read_series(struct series_ctx *s, const json_t *series, int matrix, json_t *seen)
{
	const json_t *samples;
	struct pa_tsdb_metric m;
	char *raw, *sig;
	int group;
	size_t n;
	pa_usec_t *ts;
	double *v;
	size_t *index;
	char msg[600];

	s->labels = json_object_get(series, "metric");
	if (!json_is_object(s->labels)) {
		pa_diag_count_read();
		reject_series(s, series, "invalid series", "series without a \"metric\" object");
		return;
	}
	s->desc = pa_tsdb_describe(json_string_value(json_object_get(s->labels, "__name__")),
				   s->labels);

	if (json_object_get(series, "histogram") || json_object_get(series, "histograms")) {
		pa_diag_count_read();
		snprintf(msg, sizeof msg, "series %s has native histogram samples, which pa does not read",
			 s->desc);
		reject_series(s, series, "native histogram", msg);
		goto out;
	}

	/* The same label set twice in one result would count its samples twice. */
	sig = json_dumps(s->labels, JSON_COMPACT | JSON_SORT_KEYS);
	if (json_object_get(seen, sig) != NULL) {
		pa_diag_count_read();
		snprintf(msg, sizeof msg, "duplicate series %s: the same labels already appeared "
			 "in this result, so these samples are not counted twice", s->desc);
		reject_series(s, series, "duplicate series", msg);
		free(sig);
		goto out;
	}
	json_object_set_new(seen, sig, json_true());
	free(sig);

	if (series_metric(s, series, &m) != 0) {
		pa_diag_count_read();
		goto out;
	}
	if (m.conv == PA_TSDB_CONV_MEMORY && s->map->memory_limit <= 0) {
		pa_diag_count_read();
		snprintf(msg, sizeof msg, "series %s is memory in bytes: give --memory-limit BYTES "
			 "to make it a fraction of the instance limit", s->desc);
		reject_series(s, series, "memory limit unknown", msg);
		goto out;
	}
	if (!is_gauge(m.conv) && !matrix) {
		pa_diag_count_read();
		snprintf(msg, sizeof msg, "series %s is a counter, and one sample has no rate: "
			 "query a range (query_range) or wrap it in rate()", s->desc);
		reject_series(s, series, "counter without range", msg);
		goto out;
	}

	raw = pa_tsdb_dump(series);
	group = pa_tsdb_acc_group(s->acc, s->labels, m.field, s->desc, series_line(s), raw,
				  strlen(raw));
	free(raw);
	if (group < 0) {
		pa_diag_count_read();
		count_series_samples(series, "samples of a series without tenant or service");
		goto out;
	}
	pa_tsdb_acc_source(s->acc, group, series);

	if (matrix) {
		samples = json_object_get(series, "values");
	} else {
		json_t *one = json_array();

		json_array_append(one, json_object_get(series, "value"));
		samples = one;
	}
	if (!json_is_array(samples)) {
		pa_diag_count_read();
		reject_series(s, series, "invalid series",
			      matrix ? "series without a \"values\" array" : "series without a \"value\"");
		goto out;
	}

	n = json_array_size(samples);
	ts = calloc(n + 1, sizeof *ts);
	v = calloc(n + 1, sizeof *v);
	index = calloc(n + 1, sizeof *index);
	if (ts == NULL || v == NULL || index == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	size_t good = 0;
	pa_usec_t prev = 0;
	for (size_t i = 0; i < n; i++) {
		pa_usec_t t;

		if (sample_time(json_array_get(json_array_get(samples, i), 0), &t) == 0) {
			if (i > 0)
				pa_tsdb_acc_spacing(s->acc, group, t - prev);
			prev = t;
		}
		pa_diag_count_read();
		if (parse_sample(s, json_array_get(samples, i), i, n, &ts[good], &v[good]) != 0)
			continue;
		/* The API lists a series' samples in time order, each time once. */
		if (good > 0 && ts[good] <= ts[good - 1]) {
			char why[200], when[40];

			snprintf(why, sizeof why, "sample at %s is not after the sample before it, so "
				 "it is not added to that bucket twice",
				 pa_time_format(ts[good], when, sizeof when));
			reject_sample(s, json_array_get(samples, i), i, n, "sample out of order", why);
			continue;
		}
		/* A usage ratio or rate below 0 is rejected, as pa-ingest's CSV reader rejects it. */
		if (is_gauge(m.conv) && m.field <= PA_TSDB_F_NETWORK_IO && v[good] < 0) {
			char why[200];

			snprintf(why, sizeof why, "negative %s: %s", pa_tsdb_field_name(m.field),
				 pa_quote_json(json_array_get(json_array_get(samples, i), 1)));
			reject_sample(s, json_array_get(samples, i), i, n, "negative usage", why);
			continue;
		}
		index[good++] = i;
	}
	if (m.conv == PA_TSDB_CONV_GAUGE && matrix)
		warn_repeats(s, &m, good, ts, v);
	if (is_gauge(m.conv))
		for (size_t i = 0; i < good; i++)
			add_gauge(s, group, &m, ts[i], v[i]);
	else
		add_counter(s, group, &m, good, ts, v, samples, index);
	free(ts);
	free(v);
	free(index);
	if (!matrix)
		json_decref((json_t *)samples);
out:
	free((char *)s->desc);
	s->desc = NULL;
	free(s->sample_line);
	s->sample_line = NULL;
	s->samples_located = 0;
}

static void
reject_doc(const char *where, long lineno, const char *doc, size_t len, const char *reason_class,
	   const char *message)
{
	pa_diag_count_read();
	pa_reject(where, lineno, doc, len, reason_class, "%s", message);
}

long
pa_prom_read(const char *where, long lineno, const char *doc, size_t len,
	     const struct pa_tsdb_map *map, pa_tsdb_emit_fn emit, void *ctx)
{
	json_error_t jerr;
	json_t *root;
	long emitted;

	root = json_loadb(doc, len, 0, &jerr);
	if (root == NULL) {
		pa_tsdb_reject_invalid_json(where, lineno, doc, len, &jerr);
		return -1;
	}
	emitted = pa_prom_read_json(where, lineno, root, doc, len, map, emit, ctx);
	json_decref(root);
	return emitted;
}

long
pa_prom_read_json(const char *where, long lineno, const json_t *root, const char *doc,
		  size_t len, const struct pa_tsdb_map *map, pa_tsdb_emit_fn emit, void *ctx)
{
	json_t *data, *result, *warnings, *seen;
	const char *status, *type;
	struct series_ctx s;
	char msg[600];
	long emitted;
	size_t i;
	json_t *w;

	status = json_string_value(json_object_get(root, "status"));
	if (status == NULL) {
		reject_doc(where, lineno, doc, len, "not a Prometheus response",
			   "not a Prometheus API response: no \"status\" field");
		return -1;
	}
	if (strcmp(status, "success") != 0) {
		const char *etype = json_string_value(json_object_get(root, "errorType"));
		const char *error = json_string_value(json_object_get(root, "error"));

		snprintf(msg, sizeof msg, "Prometheus returned an error (%s): %s",
			 etype ? etype : status, error ? error : "no message");
		reject_doc(where, lineno, doc, len, "Prometheus error response", msg);
		return -1;
	}

	warnings = json_object_get(root, "warnings");
	json_array_foreach(warnings, i, w)
		if (json_is_string(w))
			pa_warn("%s:%ld: Prometheus warning: %s", where, lineno, json_string_value(w));

	data = json_object_get(root, "data");
	type = json_string_value(json_object_get(data, "resultType"));
	result = json_object_get(data, "result");
	if (type == NULL || !json_is_array(result)) {
		reject_doc(where, lineno, doc, len, "not a Prometheus response",
			   "not a query result: no \"data.resultType\" and \"data.result\"");
		return -1;
	}
	if (strcmp(type, "vector") != 0 && strcmp(type, "matrix") != 0) {
		snprintf(msg, sizeof msg, "result type %s has no series: query an instant vector "
			 "or a range of one", pa_quote(type, strlen(type)));
		reject_doc(where, lineno, doc, len, "scalar result", msg);
		return -1;
	}
	if (json_array_size(result) == 0) {
		pa_warn("%s:%ld: the query result is empty: no series matched", where, lineno);
		return 0;
	}

	memset(&s, 0, sizeof s);
	s.where = where;
	s.lineno = lineno;
	s.doc = doc;
	s.len = len;
	s.nseries = json_array_size(result);
	s.matrix = strcmp(type, "matrix") == 0;
	s.map = map;
	s.acc = pa_tsdb_acc_new(map, where, lineno);
	seen = json_object();
	json_array_foreach(result, i, w) {
		s.index = i;
		read_series(&s, w, s.matrix, seen);
	}
	emitted = pa_tsdb_acc_finish(s.acc, emit, ctx);
	json_decref(seen);
	free(s.series_pos);
	return emitted;
}

/* ---- Writing OpenMetrics ---- */

char *
pa_tsdb_format_double(double v, char *buf, size_t size)
{
	snprintf(buf, size, "%.12g", v);
	v = strtod(buf, NULL);
	if (v == 0) {
		snprintf(buf, size, "0");
		return buf;
	}
	if (fabs(v) < 9007199254740992.0 && v == floor(v)) {
		snprintf(buf, size, "%.0f", v);
		return buf;
	}
	for (int prec = 1; prec <= 12; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

/* A gauge family and the record fields it is filled from. */
struct family {
	const char *name;
	const char *help;
	const char *kind;
	const char *field[3];		/* one field, or point, lower and upper */
};

static const char *const bounds[3] = { "point", "lower", "upper" };

static const struct family families[] = {
	{ "pa_bucket_requests", "Requests in the bucket that starts at the sample time.",
	  "bucket", { "requests" } },
	{ "pa_bucket_errors", "Failed requests in the bucket.", "bucket", { "errors" } },
	{ "pa_bucket_work", "Work in the bucket: the sum of request complexity (1 is a typical request).",
	  "bucket", { "complexity_sum" } },
	{ "pa_bucket_complexity", "Mean request complexity in the bucket.",
	  "bucket", { "complexity_mean" } },
	{ "pa_bucket_request_bytes", "Request payload bytes in the bucket.", "bucket", { "bytes_in" } },
	{ "pa_bucket_response_bytes", "Response bytes in the bucket.", "bucket", { "bytes_out" } },
	{ "pa_bucket_step_seconds", "Width of the bucket in seconds.", "bucket", { "step_s" } },
	{ "pa_bucket_covered_seconds", "Seconds of a partial bucket that its input covered; absent on a whole bucket.",
	  "bucket", { "covered_s" } },
	{ "pa_bucket_covered_from_seconds", "Where the covered part of a partial bucket begins, in seconds from the bucket start.",
	  "bucket", { "covered_from_s" } },
	{ "pa_forecast_requests", "Forecast requests per bucket; bound is point, lower or upper, and a bound has its interval level.",
	  "forecast", { "predicted_volume", "volume_lower", "volume_upper" } },
	{ "pa_forecast_complexity", "Forecast mean complexity per bucket; bound is point, lower or upper, and a bound has its interval level.",
	  "forecast", { "predicted_complexity", "complexity_lower", "complexity_upper" } },
	{ "pa_usage_cpu_ratio", "CPU use as a fraction of the instance limit.", "usage", { "cpu_usage" } },
	{ "pa_usage_memory_ratio", "Memory use as a fraction of the instance limit.",
	  "usage", { "memory_usage" } },
	{ "pa_usage_network_bytes_per_second", "Network traffic of the instance.",
	  "usage", { "network_io" } },
};

#define NFAMILIES (sizeof families / sizeof families[0])

struct pa_om_writer {
	FILE *f[NFAMILIES];
	char *buf[NFAMILIES];
	size_t size[NFAMILIES];
};

struct pa_om_writer *
pa_om_writer_new(void)
{
	struct pa_om_writer *w = calloc(1, sizeof *w);

	if (w == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	for (size_t i = 0; i < NFAMILIES; i++) {
		w->f[i] = open_memstream(&w->buf[i], &w->size[i]);
		if (w->f[i] == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
	}
	return w;
}

static void
put_label(FILE *f, const char *name, const char *value, int first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Seconds with up to microsecond digits, trailing zeros dropped. */
static void
put_seconds(FILE *f, pa_usec_t t)
{
	long long sec = t / PA_USEC_PER_SEC, usec = t % PA_USEC_PER_SEC;
	char frac[8];
	int n;

	if (usec < 0) {
		sec -= 1;
		usec += PA_USEC_PER_SEC;
	}
	if (usec == 0) {
		fprintf(f, "%lld", sec);
		return;
	}
	n = snprintf(frac, sizeof frac, "%06lld", usec);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	fprintf(f, "%lld.%s", sec, frac);
}

/*
 * pa-score writes bytes_in 0 with bytes_in_known 0 when no request carried
 * a size; that 0 means unknown and is not written.
 */
static int
byte_count_known(const json_t *rec, const char *field)
{
	char known[32];
	double n;

	if (strcmp(field, "bytes_in") != 0 && strcmp(field, "bytes_out") != 0)
		return 1;
	snprintf(known, sizeof known, "%s_known", field);
	return pa_rec_num(rec, known, &n) != 1 || n > 0;
}

/* The stream of one sample and the labels it shares with the other samples of its record. */
struct sample {
	FILE *f;
	const char *family, *tenant, *service;
	const char *instance;		/* usage samples, else NULL */
	const json_t *level;		/* interval_level of a bound, else NULL */
	pa_usec_t ts;
};

/* Write obj's field as one sample, labelled with bound when it is one, unless the field is absent. */
static void
put_sample(const struct sample *at, const json_t *obj, const char *field, const char *bound)
{
	char num[40];
	double v;

	if (pa_rec_num(obj, field, &v) != 1 || !byte_count_known(obj, field))
		return;
	fputs(at->family, at->f);
	fputc('{', at->f);
	put_label(at->f, "tenant", at->tenant, 1);
	put_label(at->f, "service", at->service, 0);
	if (at->instance != NULL)
		put_label(at->f, "instance_id", at->instance, 0);
	if (bound != NULL)
		put_label(at->f, "bound", bound, 0);
	if (bound != NULL && strcmp(bound, "point") != 0 && json_is_number(at->level))
		put_label(at->f, "level", pa_tsdb_format_double(json_number_value(at->level), num,
								 sizeof num), 0);
	fprintf(at->f, "} %s ", pa_tsdb_format_double(v, num, sizeof num));
	put_seconds(at->f, at->ts);
	fputc('\n', at->f);
}

int
pa_om_write_record(struct pa_om_writer *w, const json_t *rec, char *err, size_t errsize)
{
	const char *kind = pa_rec_kind(rec);
	const char *instance = pa_rec_str(rec, "instance_id");
	char *tenant, *service;
	pa_usec_t ts;
	int known = 0;

	for (size_t i = 0; i < NFAMILIES; i++)
		if (kind != NULL && strcmp(kind, families[i].kind) == 0)
			known = 1;
	if (!known)
		return 0;

	if (pa_rec_time(rec, "ts", &ts) != 1) {
		snprintf(err, errsize, "field \"ts\" is missing or not a timestamp");
		return -1;
	}
	if (strcmp(kind, "usage") == 0 && (instance == NULL || *instance == '\0')) {
		snprintf(err, errsize, "usage record has no instance_id");
		return -1;
	}
	/* Check every value before writing any, so a record is never half written. */
	for (size_t i = 0; i < NFAMILIES; i++) {
		double v;

		if (strcmp(kind, families[i].kind) != 0)
			continue;
		for (int b = 0; b < 3 && families[i].field[b] != NULL; b++) {
			const json_t *intervals = json_object_get(rec, "intervals");
			size_t k;
			json_t *e;

			if (pa_rec_num(rec, families[i].field[b], &v) < 0) {
				snprintf(err, errsize, "field \"%s\" is not a finite number",
					 families[i].field[b]);
				return -1;
			}
			json_array_foreach(intervals, k, e) {
				if (json_is_object(e) && pa_rec_num(e, families[i].field[b], &v) >= 0)
					continue;
				snprintf(err, errsize, "intervals[%zu] is not an object with a finite "
					 "\"%s\"", k, families[i].field[b]);
				return -1;
			}
		}
	}
	if (pa_tsdb_record_ids(rec, &tenant, &service, err, errsize) != 0)
		return -1;

	for (size_t i = 0; i < NFAMILIES; i++) {
		const json_t *intervals = json_object_get(rec, "intervals");
		struct sample at = { w->f[i], families[i].name, tenant, service, NULL, NULL, ts };

		if (strcmp(kind, families[i].kind) != 0)
			continue;
		if (strcmp(kind, "usage") == 0)
			at.instance = instance;
		if (families[i].field[1] == NULL) {
			put_sample(&at, rec, families[i].field[0], NULL);
			continue;
		}

		/*
		 * Bounds carry their level, and a record with several levels
		 * writes the bounds of each, so a dashboard can tell the 80%
		 * band from the 95% one.
		 */
		put_sample(&at, rec, families[i].field[0], bounds[0]);
		if (json_is_array(intervals) && json_array_size(intervals) > 0) {
			size_t k;
			json_t *e;

			json_array_foreach(intervals, k, e) {
				at.level = json_object_get(e, "interval_level");
				for (int b = 1; b < 3; b++)
					put_sample(&at, e, families[i].field[b], bounds[b]);
			}
		} else {
			at.level = json_object_get(rec, "interval_level");
			for (int b = 1; b < 3; b++)
				put_sample(&at, rec, families[i].field[b], bounds[b]);
		}
	}
	free(tenant);
	free(service);
	return 1;
}

int
pa_om_writer_finish(struct pa_om_writer *w, FILE *out)
{
	int rc = 0;

	for (size_t i = 0; i < NFAMILIES; i++) {
		if (fclose(w->f[i]) != 0)
			pa_die(PA_EXIT_IO, "out of memory");
		if (w->size[i] > 0) {
			fprintf(out, "# TYPE %s gauge\n# HELP %s %s\n", families[i].name,
				families[i].name, families[i].help);
			if (fwrite(w->buf[i], 1, w->size[i], out) != w->size[i])
				rc = -1;
		}
		free(w->buf[i]);
	}
	fputs("# EOF\n", out);
	free(w);
	return ferror(out) ? -1 : rc;
}
