/* Unit tests for request features, path templates, body shapes and the scorer. */
#include <stdlib.h>

#include "jsonshape.h"
#include "score.h"
#include "unit.h"

/* The query count of path; its template goes to t. */
static int
template_of(const char *path, char *t)
{
	return pa_path_template(path, strlen(path), t, PA_TEMPLATE_MAX);
}

static void
test_templates(void)
{
	char t[PA_TEMPLATE_MAX];

	CHECK("template query count", template_of("/api/items/42?a=1&b=&&c", t) == 3);
	CHECK_STR("template numeric id", t, "/api/items/:id");
	template_of("/u/3f2b1c9e-0a4d-4e7b-9c1a-2b3c4d5e6f70/profile", t);
	CHECK_STR("template uuid", t, "/u/:id/profile");
	template_of("/static/app.js#x", t);
	CHECK_STR("template keeps names", t, "/static/app.js");
	CHECK("template no query", template_of("", t) == 0);
	CHECK_STR("template root", t, "/");
	template_of("//a//b/", t);
	CHECK_STR("template empty segments", t, "/a/b");
}

static json_t *
parse(const char *text)
{
	json_error_t e;

	return json_loads(text, 0, &e);
}

static void
test_features(void)
{
	struct pa_features f;
	char err[300];
	json_t *rec;

	rec = parse("{\"method\":\"post\",\"path\":\"/api/x?q=1\",\"bytes_in\":1024}");
	CHECK("features ok", pa_features_extract(rec, NULL, 64, &f, err, sizeof err) == 0);
	CHECK("features bytes_in known", f.bytes_in_known);
	CHECK_NEAR("features bytes_in log", f.x[PA_F_BYTES_IN], log(2), 1e-12);
	CHECK("features write method", f.x[PA_F_WRITE] == 1);
	CHECK("features write method", f.x[PA_F_LIGHT] == 0);
	CHECK("features dynamic path", f.x[PA_F_DYNAMIC] == 1);
	CHECK("features dynamic path", f.x[PA_F_STATIC] == 0);
	CHECK_NEAR("features one query param", f.x[PA_F_QUERY], log(2), 1e-12);
	json_decref(rec);

	rec = parse("{\"path\":\"/healthz\"}");
	pa_features_extract(rec, NULL, 64, &f, err, sizeof err);
	CHECK("features bytes_in unknown", !f.bytes_in_known);
	CHECK("features health path", f.x[PA_F_HEALTH] == 1);
	json_decref(rec);

	rec = parse("{\"bytes_out\":-1}");
	CHECK("features negative size rejected", pa_features_extract(rec, NULL, 64, &f, err, sizeof err) == -1);
	CHECK("features message names field", strstr(err, "\"bytes_out\"") != NULL);
	json_decref(rec);

	rec = parse("{\"request_body\":{\"a\":[1,2,{\"b\":3}],\"c\":\"[\"}}");
	CHECK("features body object", pa_features_extract(rec, NULL, 64, &f, err, sizeof err) == 0);
	CHECK_NEAR("features body items", f.x[PA_F_BODY_ITEMS], log1p(3 + 3), 1e-12);
	CHECK("features body depth", f.x[PA_F_BODY_DEPTH] == 3);
	json_decref(rec);

	rec = parse("{\"request_body\":\"{\\\"a\\\":[1,2,{\\\"b\\\":3}],\\\"c\\\":\\\"[\\\"}\"}");
	CHECK("features body text", pa_features_extract(rec, NULL, 64, &f, err, sizeof err) == 0);
	CHECK_NEAR("features body text items", f.x[PA_F_BODY_ITEMS], log1p(3 + 3), 1e-12);
	CHECK("features body text depth", f.x[PA_F_BODY_DEPTH] == 3);
	json_decref(rec);
}

/* The path class features of path. */
static void
classes_of(const char *path, int *stat, int *health, int *dynamic)
{
	struct pa_features f;

	pa_features_basic(&f, NULL, 0, path, strlen(path), 0, 0, 0);
	*stat = f.x[PA_F_STATIC] == 1;
	*health = f.x[PA_F_HEALTH] == 1;
	*dynamic = f.x[PA_F_DYNAMIC] == 1;
}

static void
test_path_classes(void)
{
	int st, he, dy;

	classes_of("/images/KSC-logo.GIF", &st, &he, &dy);
	CHECK("class static by extension", st);
	CHECK("class static by extension", !he);
	CHECK("class static by extension", !dy);
	classes_of("/cgi-bin/imagemap/countdown?320,274", &st, &he, &dy);
	CHECK("class dynamic by directory", !st);
	CHECK("class dynamic by directory", !he);
	CHECK("class dynamic by directory", dy);
	classes_of("/shop/cart.php", &st, &he, &dy);
	CHECK("class dynamic by extension", !st);
	CHECK("class dynamic by extension", dy);
	classes_of("/v1/healthz", &st, &he, &dy);
	CHECK("class health probe", !st);
	CHECK("class health probe", he);
	CHECK("class health probe", !dy);
	classes_of("/api", &st, &he, &dy);
	CHECK("class api last segment", dy);
	classes_of("/apidocs/index.html", &st, &he, &dy);
	CHECK("class plain page", !st);
	CHECK("class plain page", !he);
	CHECK("class plain page", !dy);
	classes_of("/js.d/app", &st, &he, &dy);
	CHECK("class dot in directory only", !st);
}

static void
test_shape_deep(void)
{
	size_t n = 1000000;
	char *deep = malloc(2 * n);
	struct pa_json_shape sh;

	memset(deep, '[', n);
	memset(deep + n, ']', n);
	CHECK("shape million deep text rejected",
	      pa_json_shape_text(deep, 2 * n, 64, &sh) == PA_SHAPE_TOO_DEEP);
	CHECK("shape 64 deep accepted", pa_json_shape_text(deep + n - 64, 128, 64, &sh) == PA_SHAPE_OK &&
	      sh.depth == 64);
	CHECK("shape unbalanced invalid", pa_json_shape_text(deep, 10, 64, &sh) == PA_SHAPE_INVALID);
	CHECK("shape string brackets ignored",
	      pa_json_shape_text("[\"]]\",\"\\\"[\"]", 13, 4, &sh) == PA_SHAPE_OK && sh.elements == 2);
	free(deep);
}

/* Scorer output captured for checks. */
struct seen {
	double complexity[16];
	int n;
};

static void
capture(void *rec, double complexity, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->complexity[s->n++] = complexity;
	json_decref(rec);
}

static void
test_scorer_median(void)
{
	struct pa_weights w;
	struct seen seen = { 0 };
	struct pa_scorer *sc;
	static const double sizes[] = { 0, 1024, 10240, 102400, 1048576 };

	pa_weights_heuristic(&w);
	sc = pa_scorer_new(&w, 5, 100, NULL, NULL, capture, &seen);
	for (int i = 0; i < 5; i++) {
		struct pa_features f;
		char err[100];
		json_t *rec = json_pack("{s:s,s:f}", "kind", "request", "bytes_in", sizes[i]);

		pa_features_extract(rec, NULL, 64, &f, err, sizeof err);
		pa_scorer_request(sc, rec, "t/a", &f);
		CHECK("scorer holds until calibrated", seen.n == (i < 4 ? 0 : 5));
	}
	pa_scorer_other(sc, json_pack("{s:s}", "kind", "event"), 0);
	pa_scorer_finish(sc);
	CHECK_NEAR("scorer median is 1", seen.complexity[2], 1.0, 1e-12);
	CHECK("scorer order kept", seen.complexity[0] < seen.complexity[1] &&
	      seen.complexity[3] < seen.complexity[4]);
	CHECK("scorer other kinds pass", seen.n == 6);
	CHECK("scorer other kinds pass", isnan(seen.complexity[5]));
}

/* Lines the fast reader must leave to the full parser. */
static void
test_flat_fallback(void)
{
	static const char *const lines[] = {
		"{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"ts\":1,\"ts\":2}",
		"{\"kind\":\"request\",\"tenant_service_name\":\"t/\\u0061\",\"ts\":1}",
		"{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"ts\":01}",
		"{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"ts\":1,\"b\":[1]}",
		"{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"ts\":1,\"bytes_in\":-1}",
		"{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"ts\":1,\"status\":99}",
		"{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"ts\":\"x\"}",
		"{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"ts\":1} x",
		"{\"kind\":\"event\",\"tenant_service_name\":\"t/a\",\"ts\":1}",
		"{\"kind\":\"request\",\"tenant_service_name\":5,\"ts\":1}",
		"{\"kind\":\"request\",\"tenant_service_name\":\"t/a\",\"ts\":1,}",
	};
	char buf[200];
	struct pa_request_parts p;

	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		snprintf(buf, sizeof buf, "%s", lines[i]);
		CHECK("flat leaves line to full parser", pa_request_flat(buf, strlen(buf), &p) == -1);
	}

	snprintf(buf, sizeof buf, "%s", "{ \"kind\": \"request\", \"tenant_service_name\": \"t/a\", "
		 "\"ts\": \"2026-01-01T00:00:00Z\", \"path\": \"/x?a=1\", \"bytes_in\": 2.5e3, "
		 "\"status\": 503, \"ua\": null }");
	CHECK("flat reads a request", pa_request_flat(buf, strlen(buf), &p) == 0);
	CHECK("flat bytes_in", p.has_bytes_in);
	CHECK("flat bytes_in", p.bytes_in == 2500);
	CHECK("flat bytes_in", !p.has_bytes_out);
	CHECK("flat status", p.status == 503);
	CHECK("flat status", p.has_ts);
	pa_request_parts_terminate(&p);
	CHECK_STR("flat name", p.tenant_service_name, "t/a");
	CHECK_STR("flat path", p.path, "/x?a=1");
	CHECK("flat absent tenant", p.tenant == NULL);
	CHECK("flat absent tenant", p.method == NULL);
}

int
main(void)
{
	test_templates();
	test_features();
	test_path_classes();
	test_shape_deep();
	test_scorer_median();
	test_flat_fallback();
	return unit_status();
}
