#include "score.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "jsonshape.h"
#include "ndjson.h"

const char *const pa_feature_names[PA_F_BASE_COUNT] = {
	"bytes_in", "bytes_out", "query_params", "path_segments", "method_write",
	"method_light", "path_static", "path_health", "path_dynamic", "body_items",
	"body_depth"
};

/*
 * Chosen by judgement, not fitted; --fit replaces them.  In natural-log
 * units: 0.30 on bytes_in means a 1 MiB upload costs about 8 times an empty
 * one, a static file about a third of a page, a health probe a fifth.
 */
const double pa_heuristic_weights[PA_F_BASE_COUNT] = {
	[PA_F_BYTES_IN] = 0.30,
	[PA_F_BYTES_OUT] = 0.20,
	[PA_F_QUERY] = 0.25,
	[PA_F_SEGMENTS] = 0.05,
	[PA_F_WRITE] = 0.40,
	[PA_F_LIGHT] = -0.70,
	[PA_F_STATIC] = -1.00,
	[PA_F_HEALTH] = -1.60,
	[PA_F_DYNAMIC] = 0.50,
	[PA_F_BODY_ITEMS] = 0.10,
	[PA_F_BODY_DEPTH] = 0.05,
};

/* Path templates */

static int
is_hex(char c)
{
	return isxdigit((unsigned char)c);
}

/* Does segment s[0..n) look like an identifier rather than a route name? */
static int
segment_is_id(const char *s, size_t n)
{
	size_t digits = 0, alpha = 0, hex = 0;

	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		else if (isalpha((unsigned char)s[i]))
			alpha++;
		if (is_hex(s[i]) || s[i] == '-')
			hex++;
	}
	if (n > 0 && digits == n)
		return 1;			/* 42 */
	if (n >= 8 && hex == n && digits > 0)
		return 1;			/* a UUID or a hex digest */
	return n >= 16 && digits > 0 && alpha > 0 && memchr(s, '.', n) == NULL;	/* a token */
}

int
pa_path_template(const char *path, size_t len, char *out, size_t outsize)
{
	const char *hash = memchr(path, '#', len);
	const char *q;
	size_t pathlen, o = 0;
	int nquery = 0;

	if (hash != NULL)
		len = (size_t)(hash - path);
	q = memchr(path, '?', len);
	pathlen = q ? (size_t)(q - path) : len;

	if (q != NULL) {
		/* Count the non-empty parameters between '&' (or ';') separators. */
		const char *p = q + 1, *end = path + len;

		while (p < end) {
			const char *sep = p;

			while (sep < end && *sep != '&' && *sep != ';')
				sep++;
			if (sep > p)
				nquery++;
			p = sep + 1;
		}
	}

	for (size_t i = 0; i < pathlen;) {
		size_t n = 0;
		const char *seg;

		if (path[i] == '/') {
			i++;
			continue;
		}
		seg = path + i;
		while (i + n < pathlen && seg[n] != '/')
			n++;
		i += n;
		if (segment_is_id(seg, n)) {
			seg = ":id";
			n = 3;
		}
		if (o + n + 2 < outsize) {
			out[o++] = '/';
			memcpy(out + o, seg, n);
			o += n;
		}
	}
	if (o == 0 && outsize > 1)
		out[o++] = '/';
	out[o] = '\0';
	return nquery;
}

static int
count_segments(const char *template)
{
	int n = 0;

	for (const char *p = template; *p != '\0'; p++)
		if (*p == '/' && p[1] != '\0')
			n++;
	return n;
}

/* A word of a fixed list, with its length so most comparisons stop there. */
struct word {
	const char *text;
	size_t len;
};

#define W(s) { s, sizeof(s) - 1 }

/* Is s[0..n) one of the words, ignoring ASCII case? */
static int
is_one_of(const char *s, size_t n, const struct word *words, size_t nwords)
{
	for (size_t i = 0; i < nwords; i++)
		if (words[i].len == n && strncasecmp(s, words[i].text, n) == 0)
			return 1;
	return 0;
}

#define NWORDS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Set the path class features from a template: a static file by the
 * extension of its last segment, a health probe by its last segment, a
 * script or API endpoint by a script extension or any segment name.
 */
static void
classify_path(struct pa_features *f, const char *template, size_t n)
{
	static const struct word static_ext[] = {
		W("css"), W("js"), W("png"), W("jpg"), W("jpeg"), W("gif"), W("ico"), W("svg"),
		W("webp"), W("woff"), W("woff2"), W("ttf"), W("map"), W("txt"), W("xml"),
		W("xbm"), W("bmp"), W("mp4")
	};
	static const struct word script_ext[] = {
		W("php"), W("cgi"), W("asp"), W("aspx"), W("jsp"), W("pl")
	};
	static const struct word probes[] = {
		W("health"), W("healthz"), W("healthcheck"), W("ping"), W("ready"), W("readyz"),
		W("live"), W("livez"), W("status"), W("metrics"), W("server-status")
	};
	static const struct word dynamic_dirs[] = {
		W("cgi-bin"), W("htbin"), W("api"), W("graphql"), W("search"), W("rpc")
	};
	size_t last = n, dot = 0;

	while (last > 0 && template[last - 1] != '/')
		last--;
	for (size_t i = last; i < n; i++)
		if (template[i] == '.')
			dot = i + 1;
	if (dot > 0) {
		f->x[PA_F_STATIC] = is_one_of(template + dot, n - dot, static_ext, NWORDS(static_ext));
		f->x[PA_F_DYNAMIC] = is_one_of(template + dot, n - dot, script_ext,
					       NWORDS(script_ext));
	}
	f->x[PA_F_HEALTH] = is_one_of(template + last, n - last, probes, NWORDS(probes));

	/* Segments start after each '/'; the last one was covered above. */
	for (size_t i = 0; i < last && !f->x[PA_F_DYNAMIC];) {
		size_t j = i + 1;

		while (j < n && template[j] != '/')
			j++;
		if (is_one_of(template + i + 1, j - i - 1, dynamic_dirs, NWORDS(dynamic_dirs)))
			f->x[PA_F_DYNAMIC] = 1;
		i = j;
	}
}

/* Feature extraction */

/* A size field: absent is unknown, otherwise a non-negative number. */
static int
size_field(const json_t *rec, const char *key, double *out, int *known, char *err,
	   size_t errsize)
{
	const json_t *v = json_object_get(rec, key);

	*known = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) >= 0 &&
				     json_number_value(v) <= PA_SCORE_BYTES_MAX)) {
		snprintf(err, errsize, "field \"%s\" is not a byte count from 0 to 1e12: %s", key,
			 pa_quote_json(v));
		return -1;
	}
	*out = json_number_value(v);
	*known = 1;
	return 0;
}

static int
body_shape(const json_t *rec, const char *key, int max_depth, struct pa_json_shape *total,
	   char *err, size_t errsize)
{
	const json_t *v = json_object_get(rec, key);
	struct pa_json_shape sh;
	enum pa_shape_status st;

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v), i = 0;

		while (i < n && isspace((unsigned char)s[i]))
			i++;
		if (i == n || (s[i] != '{' && s[i] != '['))
			return 0;	/* not logged as JSON: no structure to read */
		st = pa_json_shape_text(s + i, n - i, max_depth, &sh);
	} else {
		st = pa_json_shape_value(v, max_depth, &sh);
	}
	if (st == PA_SHAPE_TOO_DEEP) {
		snprintf(err, errsize, "field \"%s\" nests deeper than %d levels (see --max-depth)",
			 key, max_depth);
		return -1;
	}
	if (st == PA_SHAPE_INVALID) {
		snprintf(err, errsize, "field \"%s\" is not valid JSON: brackets do not balance",
			 key);
		return -1;
	}
	total->keys += sh.keys;
	total->elements += sh.elements;
	if (sh.depth > total->depth)
		total->depth = sh.depth;
	return 0;
}

/* The method and path features, from text that need not be NUL-terminated. */
static void
features_route(struct pa_features *f, const char *method, size_t mlen, const char *path,
	       size_t plen)
{
	if (method != NULL) {
		if ((mlen == 4 && strncasecmp(method, "POST", 4) == 0) ||
		    (mlen == 3 && strncasecmp(method, "PUT", 3) == 0) ||
		    (mlen == 5 && strncasecmp(method, "PATCH", 5) == 0) ||
		    (mlen == 6 && strncasecmp(method, "DELETE", 6) == 0))
			f->x[PA_F_WRITE] = 1;
		else if ((mlen == 4 && strncasecmp(method, "HEAD", 4) == 0) ||
			 (mlen == 7 && strncasecmp(method, "OPTIONS", 7) == 0))
			f->x[PA_F_LIGHT] = 1;
	}
	if (path != NULL) {
		int nquery = pa_path_template(path, plen, f->template, sizeof f->template);
		size_t n = strlen(f->template);

		f->x[PA_F_QUERY] = nquery ? log1p(nquery) : 0;
		f->x[PA_F_SEGMENTS] = count_segments(f->template);
		classify_path(f, f->template, n);
	}
}

void
pa_features_basic(struct pa_features *f, const char *method, size_t mlen, const char *path,
		  size_t plen, int bytes_in_known, double bytes_in, double bytes_out)
{
	/* The template buffer is written only when there is a path. */
	memset(f->x, 0, sizeof f->x);
	f->template[0] = '\0';
	f->bytes_in_known = bytes_in_known;
	if (bytes_in_known)
		f->x[PA_F_BYTES_IN] = log1p(bytes_in / 1024);

	/* An unknown response size scores as an empty one: its term is 0. */
	f->x[PA_F_BYTES_OUT] = bytes_out > 0 ? log1p(bytes_out / 1024) : 0;
	features_route(f, method, mlen, path, plen);
}

int
pa_features_extract(const json_t *rec, const struct pa_extra *extra, int max_depth,
		    struct pa_features *f, char *err, size_t errsize)
{
	const json_t *method = json_object_get(rec, "method");
	const json_t *path = json_object_get(rec, "path");
	struct pa_json_shape body = { 0 };
	double bytes_in = 0, bytes_out = 0;
	int known_in, known_out;

	if (size_field(rec, "bytes_in", &bytes_in, &known_in, err, errsize) != 0 ||
	    size_field(rec, "bytes_out", &bytes_out, &known_out, err, errsize) != 0)
		return -1;
	if (method != NULL && !json_is_null(method) && !json_is_string(method)) {
		snprintf(err, errsize, "field \"method\" is not a string: %s",
			 pa_quote_json(method));
		return -1;
	}
	if (path != NULL && !json_is_null(path) && !json_is_string(path)) {
		snprintf(err, errsize, "field \"path\" is not a string: %s", pa_quote_json(path));
		return -1;
	}
	pa_features_basic(f, json_string_value(method), json_string_length(method),
			  json_string_value(path), json_string_length(path), known_in, bytes_in,
			  bytes_out);

	if (body_shape(rec, "request_body", max_depth, &body, err, errsize) != 0 ||
	    body_shape(rec, "response_body", max_depth, &body, err, errsize) != 0)
		return -1;
	f->x[PA_F_BODY_ITEMS] = log1p((double)(body.keys + body.elements));
	f->x[PA_F_BODY_DEPTH] = (double)body.depth;

	for (int i = 0; extra != NULL && i < extra->n; i++) {
		double v;
		int rc = pa_rec_num(rec, extra->names[i], &v);

		if (rc == 0) {
			snprintf(err, errsize, "field \"%s\" is missing (the model uses it)",
				 extra->names[i]);
			return -1;
		}
		if (rc < 0 || v < 0) {
			snprintf(err, errsize, "field \"%s\" is not a non-negative number: %s",
				 extra->names[i], pa_quote_json(json_object_get(rec, extra->names[i])));
			return -1;
		}
		f->x[PA_F_BASE_COUNT + i] = log1p(v);
	}
	return 0;
}

void
pa_weights_heuristic(struct pa_weights *w)
{
	memset(w, 0, sizeof *w);
	memcpy(w->w, pa_heuristic_weights, sizeof pa_heuristic_weights);
	w->n = PA_F_BASE_COUNT;
}

double
pa_score_linear(const struct pa_weights *w, const struct pa_features *f, double impute_bytes_in)
{
	double s = w->intercept;

	for (int i = 0; i < w->n; i++) {
		double x = f->x[i];

		if (i == PA_F_BYTES_IN && !f->bytes_in_known)
			x = impute_bytes_in;
		s += w->w[i] * x;
	}
	return s;
}

double
pa_complexity(double score, double reference)
{
	double e = score - reference;

	if (e > 30)
		e = 30;
	if (e < -30)
		e = -30;
	return exp(e);
}

/* The scorer: per-service calibration and the hold queue */

/* Calibration state of one service. */
struct service {
	const struct pa_scale *scale;	/* the model's scale, NULL to use own */
	struct pa_scale own;		/* calibrated from the data */
	int calibrated;
	double *scores;		/* scores of the first requests, bytes_in term left out */
	double *bytes_in;	/* their bytes_in features, NAN when unknown */
	long n;
	long cap;		/* room in scores and bytes_in */
	char *name;
};

/* A held record: a request to score (svc >= 0), one scored already
 * (SVC_SCORED, complexity in partial) or another kind (SVC_OTHER). */
struct held {
	void *item;
	long svc;
	double partial;		/* score without the bytes_in term */
	double bytes_in;	/* bytes_in feature, NAN when unknown */
};

struct pa_scorer {
	struct pa_weights heuristic;
	long calibrate_n, hold_max;
	pa_scale_lookup lookup;
	void *lookup_ctx;
	pa_scored_fn emit;
	void *emit_ctx;

	json_t *index;		/* tenant_service_name -> position in services */
	struct service *services;
	long nservices, capservices;

	struct held *ring;	/* circular queue of held records, input order */
	long head, count, cap;
	int warned_full;
};

struct pa_scorer *
pa_scorer_new(const struct pa_weights *heuristic, long calibrate_n, long hold_max,
	      pa_scale_lookup lookup, void *lookup_ctx, pa_scored_fn emit, void *emit_ctx)
{
	struct pa_scorer *sc = pa_xrealloc(NULL, sizeof *sc);

	memset(sc, 0, sizeof *sc);
	sc->heuristic = *heuristic;
	sc->calibrate_n = calibrate_n;
	sc->hold_max = hold_max;
	sc->lookup = lookup;
	sc->lookup_ctx = lookup_ctx;
	sc->emit = emit;
	sc->emit_ctx = emit_ctx;
	sc->index = json_object();
	return sc;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of v[0..n), sorting v; the mean of the middle two when n is even. */
static double
median_sorting(double *v, long n)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Fix a service's scale from its sampled requests: an unknown bytes_in is
 * taken as the median known one, and the reference is the median score.
 */
static void
calibrate(struct pa_scorer *sc, struct service *s)
{
	double *known = pa_xrealloc(NULL, (size_t)(s->n + 1) * sizeof *known);
	double wb = sc->heuristic.w[PA_F_BYTES_IN];
	long nknown = 0;

	for (long i = 0; i < s->n; i++)
		if (!isnan(s->bytes_in[i]))
			known[nknown++] = s->bytes_in[i];
	s->own.w = sc->heuristic;
	s->own.impute_bytes_in = median_sorting(known, nknown);
	for (long i = 0; i < s->n; i++)
		s->scores[i] += wb * (isnan(s->bytes_in[i]) ? s->own.impute_bytes_in : s->bytes_in[i]);
	s->own.reference = median_sorting(s->scores, s->n);
	s->calibrated = 1;
	free(known);
	free(s->scores);
	free(s->bytes_in);
	s->scores = s->bytes_in = NULL;
}

enum { SVC_OTHER = -1, SVC_SCORED = -2 };

static void
emit_held(struct pa_scorer *sc, struct held *h)
{
	const struct pa_scale *scale;
	double score;

	if (h->svc == SVC_OTHER) {
		sc->emit(h->item, NAN, sc->emit_ctx);
		return;
	}
	if (h->svc == SVC_SCORED) {
		sc->emit(h->item, h->partial, sc->emit_ctx);
		return;
	}
	scale = sc->services[h->svc].scale;
	if (scale == NULL)
		scale = &sc->services[h->svc].own;
	score = h->partial + scale->w.w[PA_F_BYTES_IN] *
		(isnan(h->bytes_in) ? scale->impute_bytes_in : h->bytes_in);
	sc->emit(h->item, pa_complexity(score, scale->reference), sc->emit_ctx);
}

/* Emit held records from the front while they are ready. */
static void
drain(struct pa_scorer *sc)
{
	while (sc->count > 0) {
		struct held *h = &sc->ring[sc->head];

		if (h->svc >= 0 && !sc->services[h->svc].calibrated)
			return;
		emit_held(sc, h);
		sc->head = (sc->head + 1) % sc->cap;
		sc->count--;
	}
}

static void
push(struct pa_scorer *sc, const struct held *h)
{
	if (sc->count == sc->cap) {
		long newcap = sc->cap ? 2 * sc->cap : 1024;
		struct held *ring = pa_xrealloc(NULL, (size_t)newcap * sizeof *ring);

		for (long i = 0; i < sc->count; i++)
			ring[i] = sc->ring[(sc->head + i) % sc->cap];
		free(sc->ring);
		sc->ring = ring;
		sc->cap = newcap;
		sc->head = 0;
	}
	sc->ring[(sc->head + sc->count) % sc->cap] = *h;
	sc->count++;
}

static long
service_index(struct pa_scorer *sc, const char *name)
{
	json_t *pos = json_object_get(sc->index, name);
	struct service *s;

	if (pos != NULL)
		return (long)json_integer_value(pos);
	if (sc->nservices == sc->capservices) {
		sc->capservices = sc->capservices ? 2 * sc->capservices : 16;
		sc->services = pa_xrealloc(sc->services,
					(size_t)sc->capservices * sizeof *sc->services);
	}
	s = &sc->services[sc->nservices];
	memset(s, 0, sizeof *s);
	s->name = strdup(name);
	if (s->name == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	if (sc->lookup != NULL)
		s->scale = sc->lookup(name, sc->lookup_ctx);
	if (s->scale != NULL)
		s->calibrated = 1;
	json_object_set_new(sc->index, name, json_integer(sc->nservices));
	return sc->nservices++;
}

int
pa_scorer_idle(const struct pa_scorer *sc)
{
	return sc->count == 0;
}

int
pa_scorer_try_now(struct pa_scorer *sc, const char *tenant_service_name,
		  const struct pa_features *f, double *complexity)
{
	json_t *pos;
	const struct service *s;
	const struct pa_scale *scale;

	if (sc->count > 0)
		return 0;
	pos = json_object_get(sc->index, tenant_service_name);
	if (pos == NULL)
		return 0;
	s = &sc->services[json_integer_value(pos)];
	if (!s->calibrated)
		return 0;
	scale = s->scale ? s->scale : &s->own;
	*complexity = pa_complexity(pa_score_linear(&scale->w, f, scale->impute_bytes_in),
				    scale->reference);
	return 1;
}

void
pa_scorer_request(struct pa_scorer *sc, void *item, const char *tenant_service_name,
		  const struct pa_features *f)
{
	struct held h = { .item = item };
	struct pa_features without_bytes_in = *f;
	struct service *s;

	h.svc = service_index(sc, tenant_service_name);
	s = &sc->services[h.svc];

	/* The bytes_in term is added when emitted, once the imputed value is known. */
	without_bytes_in.bytes_in_known = 0;
	h.partial = pa_score_linear(s->scale ? &s->scale->w : &sc->heuristic,
				    &without_bytes_in, 0);
	h.bytes_in = f->bytes_in_known ? f->x[PA_F_BYTES_IN] : NAN;

	if (!s->calibrated) {
		/*
		 * The sample grows as requests come, so a stream of many rare
		 * services (a scanner's paths) does not reserve room for
		 * --calibrate requests in each.
		 */
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 8;
			if (s->cap > sc->calibrate_n)
				s->cap = sc->calibrate_n;
			s->scores = pa_xrealloc(s->scores, (size_t)s->cap * sizeof *s->scores);
			s->bytes_in = pa_xrealloc(s->bytes_in, (size_t)s->cap * sizeof *s->bytes_in);
		}
		s->scores[s->n] = h.partial;
		s->bytes_in[s->n] = h.bytes_in;
		s->n++;
		if (s->n == sc->calibrate_n)
			calibrate(sc, s);
	}
	if (sc->count == 0 && s->calibrated) {
		emit_held(sc, &h);
		return;
	}
	push(sc, &h);
	drain(sc);

	/* Bound the queue: calibrate the oldest waiting service early. */
	while (sc->count >= sc->hold_max) {
		struct service *oldest = &sc->services[sc->ring[sc->head].svc];

		if (!sc->warned_full) {
			pa_warn("service \"%s\" calibrated on its first %ld requests because "
				"%ld records are held (see --hold)", oldest->name, oldest->n,
				sc->hold_max);
			sc->warned_full = 1;
		}
		calibrate(sc, oldest);
		drain(sc);
	}
}

void
pa_scorer_scored(struct pa_scorer *sc, void *item, double complexity)
{
	struct held h = { .item = item, .svc = SVC_SCORED, .partial = complexity };

	if (sc->count == 0) {
		emit_held(sc, &h);
		return;
	}
	push(sc, &h);
}

void
pa_scorer_other(struct pa_scorer *sc, void *item, int bypass)
{
	struct held h = { .item = item, .svc = SVC_OTHER };

	if (bypass || sc->count == 0) {
		sc->emit(item, NAN, sc->emit_ctx);
		return;
	}
	push(sc, &h);
}

void
pa_scorer_finish(struct pa_scorer *sc)
{
	for (long i = 0; i < sc->nservices; i++)
		if (!sc->services[i].calibrated)
			calibrate(sc, &sc->services[i]);
	drain(sc);
	for (long i = 0; i < sc->nservices; i++) {
		free(sc->services[i].scores);
		free(sc->services[i].bytes_in);
		free(sc->services[i].name);
	}
	free(sc->services);
	free(sc->ring);
	json_decref(sc->index);
	free(sc);
}

/* Fast reading of flat request lines */

enum {
	K_KIND, K_TS, K_TENANT, K_SERVICE, K_TSN, K_METHOD, K_PATH, K_STATUS, K_BYTES_IN,
	K_BYTES_OUT, K_COMPLEXITY, K_REQUEST_BODY, K_RESPONSE_BODY, K_COUNT
};

static const char *const flat_keys[K_COUNT] = {
	"kind", "ts", "tenant", "service", "tenant_service_name", "method", "path", "status",
	"bytes_in", "bytes_out", "complexity", "request_body", "response_body"
};

static const size_t flat_keylens[K_COUNT] = { 4, 2, 6, 7, 19, 6, 4, 6, 8, 9, 10, 12, 13 };

/*
 * An optional string of line: absent or null gives NULL, another type
 * fails.
 */
static int
flat_string(char *line, const struct pa_flat_value *v, char **s, size_t *len)
{
	*s = NULL;
	*len = 0;
	if (v->type == PA_FLAT_ABSENT || v->type == PA_FLAT_NULL)
		return 0;
	if (v->type != PA_FLAT_STRING)
		return -1;
	*s = line + (v->s - line);
	*len = v->len;
	return 0;
}

/* An optional non-negative number. */
static int
flat_size(const struct pa_flat_value *v, double max, int *known, double *out)
{
	*known = 0;
	if (v->type == PA_FLAT_ABSENT || v->type == PA_FLAT_NULL)
		return 0;
	if (v->type != PA_FLAT_NUMBER || !(v->num >= 0 && v->num <= max))
		return -1;
	*known = 1;
	*out = v->num;
	return 0;
}

static int
flat_time(const struct pa_flat_value *v, pa_usec_t *ts)
{
	if (v->type == PA_FLAT_STRING)
		return pa_time_parse(v->s, v->len, ts);

	/* Fractional or exponent epochs take the full path, which rounds them. */
	if (v->type == PA_FLAT_NUMBER && strspn(v->s, "0123456789") == v->len)
		return pa_time_parse_epoch(v->s, v->len, ts);
	return -1;
}

int
pa_request_flat(char *line, size_t len, struct pa_request_parts *p)
{
	struct pa_flat_value v[K_COUNT];
	int has_status;
	double status = 0;

	if (pa_flat_scan(line, len, flat_keys, flat_keylens, K_COUNT, v) != 0)
		return -1;
	if (v[K_KIND].type != PA_FLAT_STRING || v[K_KIND].len != 7 ||
	    memcmp(v[K_KIND].s, "request", 7) != 0)
		return -1;
	if ((v[K_REQUEST_BODY].type != PA_FLAT_ABSENT && v[K_REQUEST_BODY].type != PA_FLAT_NULL) ||
	    (v[K_RESPONSE_BODY].type != PA_FLAT_ABSENT && v[K_RESPONSE_BODY].type != PA_FLAT_NULL))
		return -1;

	memset(p, 0, sizeof *p);
	if (flat_string(line, &v[K_TSN], &p->tenant_service_name,
			&p->tenant_service_name_len) != 0 || p->tenant_service_name == NULL ||
	    p->tenant_service_name_len == 0 ||
	    flat_string(line, &v[K_TENANT], &p->tenant, &p->tenant_len) != 0 ||
	    flat_string(line, &v[K_SERVICE], &p->service, &p->service_len) != 0 ||
	    flat_string(line, &v[K_METHOD], &p->method, &p->method_len) != 0 ||
	    flat_string(line, &v[K_PATH], &p->path, &p->path_len) != 0 ||
	    flat_size(&v[K_BYTES_IN], PA_SCORE_BYTES_MAX, &p->has_bytes_in, &p->bytes_in) != 0 ||
	    flat_size(&v[K_BYTES_OUT], PA_SCORE_BYTES_MAX, &p->has_bytes_out, &p->bytes_out) != 0 ||
	    flat_size(&v[K_STATUS], DBL_MAX, &has_status, &status) != 0 ||
	    flat_size(&v[K_COMPLEXITY], PA_SCORE_COMPLEXITY_MAX, &p->has_complexity,
		      &p->complexity) != 0)
		return -1;
	if (has_status) {
		if (status != floor(status) || status < 100 || status > 599)
			return -1;
		p->status = (int)status;
	}
	if (v[K_TS].type != PA_FLAT_ABSENT && v[K_TS].type != PA_FLAT_NULL) {
		if (flat_time(&v[K_TS], &p->ts) != 0)
			return -1;
		p->has_ts = 1;
	}
	return 0;
}

void
pa_request_parts_terminate(struct pa_request_parts *p)
{
	/* Each string ends at its closing quote, inside the caller's line. */
	p->tenant_service_name[p->tenant_service_name_len] = '\0';
	if (p->tenant != NULL)
		p->tenant[p->tenant_len] = '\0';
	if (p->service != NULL)
		p->service[p->service_len] = '\0';
	if (p->method != NULL)
		p->method[p->method_len] = '\0';
	if (p->path != NULL)
		p->path[p->path_len] = '\0';
}
