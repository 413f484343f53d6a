/* Unit tests for request features, path templates, body shapes and the scorer. */
#include <stdlib.h>

#include "jsonshape.h"
#include "score.h"
#include "unit.h"

static void
test_templates(void)
{
	char t[PA_TEMPLATE_MAX];

	CHECK("template query count", pa_path_template("/api/items/42?a=1&b=&&c", t, sizeof t) == 3);
	CHECK_STR("template numeric id", t, "/api/items/:id");
	pa_path_template("/u/3f2b1c9e-0a4d-4e7b-9c1a-2b3c4d5e6f70/profile", t, sizeof t);
	CHECK_STR("template uuid", t, "/u/:id/profile");
	pa_path_template("/static/app.js#x", t, sizeof t);
	CHECK_STR("template keeps names", t, "/static/app.js");
	CHECK("template no query", pa_path_template("", t, sizeof t) == 0);
	CHECK_STR("template root", t, "/");
	pa_path_template("//a//b/", t, sizeof t);
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
	CHECK("features write method", f.x[PA_F_WRITE] == 1 && f.x[PA_F_LIGHT] == 0);
	CHECK("features dynamic path", f.x[PA_F_DYNAMIC] == 1 && f.x[PA_F_STATIC] == 0);
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
capture(json_t *rec, double complexity, void *ctx)
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
	CHECK("scorer other kinds pass", seen.n == 6 && isnan(seen.complexity[5]));
}

int
main(void)
{
	test_templates();
	test_features();
	test_shape_deep();
	test_scorer_median();
	return unit_status();
}
