/* Unit tests for reusing an automatic choice and for the state file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fc_series.h"
#include "fcstate.h"
#include "forecast.h"
#include "unit.h"

static void
test_reuse_matches_fit(void)
{
	size_t n = 24 * 14;
	double *y = malloc(n * sizeof *y);
	struct pa_fc_opts o;
	struct pa_fc_result first, again;
	int same = 1;

	for (size_t t = 0; t < n; t++)
		y[t] = 100 + 40 * sin(2 * M_PI * (double)(t % 24) / 24) + (double)((t * 7) % 5);
	pa_fc_opts_default(&o);
	o.period = 24;
	CHECK("fit status", pa_fc_forecast(y, n, 24, &o, &first) == PA_FC_OK);
	CHECK("fit spec written", strncmp(first.spec, "v1 scale=", 9) == 0);
	CHECK("fit not reused", first.reused == 0);

	o.reuse = first.spec;
	CHECK("reuse status", pa_fc_forecast(y, n, 24, &o, &again) == PA_FC_OK);
	CHECK("reuse flagged", again.reused == 1);
	CHECK_STR("reuse same model", again.model, first.model);
	for (size_t k = 0; k < 24; k++)
		if (again.mean[k] != first.mean[k] || again.upper[k] != first.upper[k])
			same = 0;
	CHECK("reuse same forecast", same);
	pa_fc_result_free(&first);
	pa_fc_result_free(&again);

	o.reuse = "v1 scale=1 prophet/24/0/0/0/0/0";
	CHECK("bad spec status", pa_fc_forecast(y, n, 24, &o, &again) == PA_FC_OK);
	CHECK("bad spec searched afresh", again.reused == 0);
	pa_fc_result_free(&again);

	/* A decomposition spec is reused, but not with a tenth field. */
	o.reuse = "v1 scale=1 mstl/24/1/0/0/0/0/0/1";
	CHECK("mstl spec status", pa_fc_forecast(y, n, 24, &o, &again) == PA_FC_OK);
	CHECK("mstl spec reused", again.reused == 1);
	pa_fc_result_free(&again);
	o.reuse = "v1 scale=1 mstl/24/1/0/0/0/0/0/1/9";
	CHECK("mstl tenth field status", pa_fc_forecast(y, n, 24, &o, &again) == PA_FC_OK);
	CHECK("mstl tenth field searched afresh", again.reused == 0);
	pa_fc_result_free(&again);
	free(y);
}

/* A state with one valid series entry of three buckets. */
static json_t *
small_state(void)
{
	return json_pack("{s:i, s:{s:{s:s, s:s, s:i, s:s, s:[i, n, i], s:[f, n, f]}}}",
			 "format_version", PA_FCSTATE_VERSION, "series", "a/b", "tenant", "a",
			 "service", "b", "step_s", 3600, "first", "2026-06-01T00:00:00Z", "requests",
			 10, 12, "complexity_sum", 15.0, 18.0);
}

/* Return the number of entries of dir whose name starts with prefix. */
static size_t
count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t count = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		count += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return count;
}

static void
test_state_file_round_trip(void)
{
	char dir[] = "/tmp/pa-state-XXXXXX", path[64], err[300];
	json_t *state, *loaded;
	struct stat st;
	mode_t old_mask;

	CHECK("mkdtemp", mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/s.json", dir);

	state = pa_fcstate_load(path, err, sizeof err);
	CHECK("missing file gives state", state != NULL);
	CHECK("missing file gives no series", json_object_size(json_object_get(state, "series")) == 0);
	json_decref(state);
	state = small_state();
	old_mask = umask(027);
	CHECK("save", pa_fcstate_save(path, state, err, sizeof err) == 0);
	umask(old_mask);
	CHECK("no temporary left", count_prefixed(dir, "s.json.tmp") == 0);
	CHECK("saved file stat", stat(path, &st) == 0);
	CHECK("saved file mode follows umask", (st.st_mode & 0777) == 0640);
	loaded = pa_fcstate_load(path, err, sizeof err);
	CHECK("load saved", loaded != NULL);
	CHECK("saved series kept", json_equal(state, loaded));
	json_decref(state);
	json_decref(loaded);
	unlink(path);
	rmdir(dir);
}

static void
test_state_entry_checked(void)
{
	char dir[] = "/tmp/pa-state-XXXXXX", path[64], err[300];
	json_t *state = small_state(), *loaded;

	CHECK("mkdtemp", mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/s.json", dir);
	json_array_append_new(json_object_get(json_object_get(json_object_get(state, "series"), "a/b"),
					      "requests"), json_integer(1));
	CHECK("save uneven arrays", pa_fcstate_save(path, state, err, sizeof err) == 0);
	loaded = pa_fcstate_load(path, err, sizeof err);
	CHECK("uneven arrays load", loaded != NULL);
	CHECK("uneven arrays leave series",
	      json_object_get(json_object_get(loaded, "series"), "a/b") == NULL);
	CHECK("uneven arrays set aside",
	      json_object_get(json_object_get(loaded, "rejected_series"), "a/b") != NULL);
	json_decref(loaded);
	json_decref(state);
	unlink(path);
	rmdir(dir);
}

/*
 * Save state with one change to the entry of "a/b", made by edit, and
 * return 1 when loading it moves that entry, as edited, from "series" to
 * "rejected_series".
 */
static int
load_sets_aside(const char *path, void (*edit)(json_t *entry))
{
	json_t *state = small_state(), *loaded, *entry;
	char err[400] = "";
	int aside;

	entry = json_object_get(json_object_get(state, "series"), "a/b");
	edit(entry);
	if (pa_fcstate_save(path, state, err, sizeof err) != 0) {
		json_decref(state);
		return 0;
	}
	loaded = pa_fcstate_load(path, err, sizeof err);
	aside = loaded != NULL && json_object_get(json_object_get(loaded, "series"), "a/b") == NULL &&
		json_equal(json_object_get(json_object_get(loaded, "rejected_series"), "a/b"), entry);
	json_decref(loaded);
	json_decref(state);
	return aside;
}

static void
negative_count(json_t *e)
{
	json_array_set_new(json_object_get(e, "requests"), 0, json_integer(-1));
}

static void
negative_complexity(json_t *e)
{
	json_array_set_new(json_object_get(e, "complexity_sum"), 2, json_real(-0.5));
}

static void
outside_not_flags(json_t *e)
{
	json_object_set_new(e, "volume", json_pack("{s:[s], s:[i, i]}", "spec", "", "outside", 0, 7));
}

static void
outside_too_long(json_t *e)
{
	json_t *flags = json_array();

	for (int i = 0; i <= PA_FCSTATE_SCORED; i++)
		json_array_append_new(flags, json_integer(0));
	json_object_set_new(e, "volume", json_pack("{s:[s], s:o}", "spec", "", "outside", flags));
}

static void
spec_not_string(json_t *e)
{
	json_object_set_new(e, "complexity", json_pack("{s:[i]}", "spec", 3));
}

static void
bounds_uneven(json_t *e)
{
	json_object_set_new(e, "volume", json_pack("{s:[s], s:[f, f], s:[f], s:[f, f]}", "spec", "",
						   "mean", 1.0, 2.0, "lower", 0.5, "upper", 2.0, 3.0));
}

static void
updates_negative(json_t *e)
{
	json_object_set_new(e, "fit", json_pack("{s:s, s:[f], s:i, s:i, s:s, s:i, s:s}", "model",
						"auto", "levels", 0.95, "period_steps", 24,
						"period2_steps", 0, "transform", "auto", "updates", -3,
						"fitted_end", "2026-06-01T03:00:00Z"));
}

static void
fit_not_object(json_t *e)
{
	json_object_set_new(e, "fit", json_string("auto"));
}

static void
test_state_values_checked(void)
{
	char dir[] = "/tmp/pa-state-XXXXXX", path[64], err[300];
	json_t *state = small_state(), *loaded, *entry;

	CHECK("mkdtemp", mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/s.json", dir);
	CHECK("negative count set aside", load_sets_aside(path, negative_count));
	CHECK("negative complexity set aside", load_sets_aside(path, negative_complexity));
	CHECK("outside of other numbers set aside", load_sets_aside(path, outside_not_flags));
	CHECK("outside too long set aside", load_sets_aside(path, outside_too_long));
	CHECK("spec not a string set aside", load_sets_aside(path, spec_not_string));
	CHECK("bounds of two lengths set aside", load_sets_aside(path, bounds_uneven));
	CHECK("negative updates set aside", load_sets_aside(path, updates_negative));
	CHECK("fit not an object set aside", load_sets_aside(path, fit_not_object));

	/* Booleans in outside, null counts and a spec that does not decode load. */
	entry = json_object_get(json_object_get(state, "series"), "a/b");
	json_object_set_new(entry, "volume", json_pack("{s:[s], s:[b, b]}", "spec", "v1 junk",
						       "outside", 1, 0));
	CHECK("save valid", pa_fcstate_save(path, state, err, sizeof err) == 0);
	loaded = pa_fcstate_load(path, err, sizeof err);
	CHECK("boolean flags load", loaded != NULL);
	json_decref(loaded);
	json_decref(state);
	unlink(path);
	rmdir(dir);
}

static void
test_state_directory_named(void)
{
	char dir[] = "/tmp/pa-state-XXXXXX", err[300];
	json_t *loaded;

	CHECK("mkdtemp", mkdtemp(dir) != NULL);
	loaded = pa_fcstate_load(dir, err, sizeof err);
	CHECK("directory not loaded", loaded == NULL);
	CHECK("directory named", strstr(err, "is a directory") != NULL);
	CHECK("directory not locked", pa_fcstate_lock(dir, err, sizeof err) == -2);
	CHECK("no lock file beside directory", count_prefixed("/tmp", dir + 5) == 1);
	json_decref(loaded);
	rmdir(dir);
}

static void
test_state_lock_exclusive(void)
{
	char dir[] = "/tmp/pa-state-XXXXXX", path[64], lockname[80], err[300];
	int fd, other;

	CHECK("mkdtemp", mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/s.json", dir);
	snprintf(lockname, sizeof lockname, "%s.lock", path);
	fd = pa_fcstate_lock(path, err, sizeof err);
	CHECK("lock taken", fd >= 0);

	/* flock locks belong to the open file, so a second open conflicts. */
	other = open(lockname, O_RDWR);
	CHECK("lock file created", other >= 0);
	CHECK("second lock refused", flock(other, LOCK_EX | LOCK_NB) != 0);
	CHECK("second lock would block", errno == EWOULDBLOCK);
	close(fd);
	CHECK("lock free after close", flock(other, LOCK_EX | LOCK_NB) == 0);
	close(other);
	unlink(lockname);
	rmdir(dir);
}

/*
 * A series kept in the state but absent from the input keeps its own end,
 * while a series of the input is extended to the end of the input.
 */
static void
test_align_end_skips_absent(void)
{
	json_t *state = small_state();
	struct pa_fc_series_set *set = pa_fc_series_new();
	json_t *rec = json_pack("{s:s, s:s, s:i, s:s, s:i}", "kind", "bucket", "ts",
				"2026-06-01T10:00:00Z", "step_s", 3600, "tenant_service_name", "c/d",
				"requests", 5);
	json_t *early = json_pack("{s:s, s:s, s:i, s:s, s:i}", "kind", "bucket", "ts",
				  "2026-06-01T02:00:00Z", "step_s", 3600,
				  "tenant_service_name", "e/f", "requests", 5);
	char err[300];
	const char *cls;
	struct pa_fc_grid g;

	CHECK("seed", pa_fcstate_seed(state, set) == 0);
	CHECK("add input bucket", pa_fc_series_add(set, rec, err, sizeof err, &cls) == 0);
	CHECK("add early bucket", pa_fc_series_add(set, early, err, sizeof err, &cls) == 0);
	pa_fc_series_align_end(set);
	CHECK("absent series grid", pa_fc_series_regular(pa_fc_series_find(set, "a/b"), 0,
							 PA_FC_NO_LIMIT, 100000, &g) == 0);
	CHECK("absent series not extended", g.n == 3);
	CHECK("absent series no trailing", g.trailing == 0);
	pa_fc_grid_free(&g);
	CHECK("early series grid", pa_fc_series_regular(pa_fc_series_find(set, "e/f"), 0,
							PA_FC_NO_LIMIT, 100000, &g) == 0);
	CHECK("input series extended", g.n == 9);
	CHECK("input series trailing", g.trailing == 8);
	pa_fc_grid_free(&g);
	json_decref(rec);
	json_decref(early);
	pa_fc_series_free(set);
	json_decref(state);
}

static void
test_seed_marks_kept(void)
{
	json_t *state = small_state();
	struct pa_fc_series_set *set = pa_fc_series_new();
	struct pa_fc_series *s;
	struct pa_fc_grid g;

	CHECK("seed", pa_fcstate_seed(state, set) == 0);
	s = pa_fc_series_find(set, "a/b");
	CHECK("seeded series found", s != NULL);
	if (s == NULL) {
		pa_fc_series_free(set);
		json_decref(state);
		return;
	}
	CHECK("seeded series kept", s->has_kept);
	CHECK("seeded step", s->step == 3600 * PA_USEC_PER_SEC);
	CHECK("grid", pa_fc_series_regular(s, 0, PA_FC_NO_LIMIT, 100000, &g) == 0);
	CHECK("grid length", g.n == 3);
	CHECK("kept unknown stays unknown", isnan(g.volume[1]));
	CHECK_NEAR("kept complexity", g.complexity[2], 1.5, 1e-12);
	CHECK("no bucket missing", g.missing == 0);
	pa_fc_grid_free(&g);
	pa_fc_series_free(set);
	json_decref(state);
}

static void
test_window_covers_models(void)
{
	/* Hourly buckets, daily and weekly seasons, a day ahead: two weeks and ten days. */
	CHECK("window two second seasons", pa_fcstate_window(24, 168, 24) == 336 + 240);
	/* Three main seasons and 16 buckets for seasonal ARIMA. */
	CHECK("window three main seasons", pa_fcstate_window(24, 0, 12) == 88 + 120);
	CHECK("window without season", pa_fcstate_window(0, 0, 6) == 64 + 60);
	CHECK("window second season alone", pa_fcstate_window(0, 168, 1) == 3 * 168 + 16 + 10);
}

static void
test_drift_scoring(void)
{
	json_t *measure = json_pack("{s:s, s:[f, f, f, f], s:[f, f, f, f], s:[i]}", "issued_at",
				    "2026-06-01T03:00:00Z", "lower", 9.0, 9.0, 9.0, 9.0, "upper",
				    11.0, 11.0, 11.0, 11.0, "outside", 0);
	double actual[6] = { 1, 2, 3, 10, 30, NAN };
	pa_usec_t first, after;
	json_t *flags;
	size_t misses, scored;
	double p;

	pa_time_parse_rfc3339("2026-06-01T00:00:00Z", 20, &first);
	after = first + 2 * 3600 * PA_USEC_PER_SEC;
	flags = pa_fcstate_score(measure, actual, 6, first, 3600 * PA_USEC_PER_SEC, after);
	CHECK("scored kept and new", json_array_size(flags) == 3);
	CHECK("inside scored 0", json_integer_value(json_array_get(flags, 1)) == 0);
	CHECK("outside scored 1", json_integer_value(json_array_get(flags, 2)) == 1);
	p = pa_fcstate_drift_p(flags, 0.95, &misses, &scored);
	CHECK("one miss counted", misses == 1);
	CHECK_NEAR("tail of one miss in three", p, 1 - pow(0.95, 3), 1e-12);
	json_decref(flags);

	/* A hand-written state may hold booleans: true is a miss. */
	json_object_set_new(measure, "outside", json_pack("[b, b]", 1, 0));
	flags = pa_fcstate_score(measure, actual, 3, first, 3600 * PA_USEC_PER_SEC, after);
	CHECK("boolean flags kept", json_array_size(flags) == 2);
	CHECK("true read as miss", json_integer_value(json_array_get(flags, 0)) == 1);
	CHECK("false read as hit", json_integer_value(json_array_get(flags, 1)) == 0);
	json_decref(flags);

	flags = json_pack("[i, i, i, i]", 1, 1, 0, 1);
	p = pa_fcstate_drift_p(flags, 0.95, &misses, &scored);
	CHECK("three misses of four improbable", p < 0.001);
	json_decref(flags);
	json_decref(measure);
}

static void
test_arima_spec_reused(void)
{
	size_t n = 24 * 10;
	double *y = malloc(n * sizeof *y);
	struct pa_fc_opts o;
	struct pa_fc_result r;

	for (size_t t = 0; t < n; t++)
		y[t] = 100 + 30 * sin(2 * M_PI * (double)(t % 24) / 24) + (double)((t * 11) % 7);
	pa_fc_opts_default(&o);
	o.period = 24;
	o.reuse = "v1 scale=1 arima/24/0/0/0/0/0/0,0,0,0,1,1,24,0,-0.5";
	CHECK("arima spec status", pa_fc_forecast(y, n, 6, &o, &r) == PA_FC_OK);
	CHECK("arima spec reused", r.reused == 1);
	CHECK_STR("arima spec orders kept", r.model, "arima(0,0,0)(0,1,1)[24]");
	CHECK("arima spec written back", strstr(r.spec, "0,0,0,0,1,1,24,0,-0.5") != NULL);
	pa_fc_result_free(&r);

	o.reuse = "v1 scale=1 arima/24/0/0/0/0/0/0,0,0,0,1,1,24,0";
	CHECK("short arima spec status", pa_fc_forecast(y, n, 6, &o, &r) == PA_FC_OK);
	CHECK("short arima spec searched afresh", r.reused == 0);
	pa_fc_result_free(&r);
	free(y);
}

int
main(void)
{
	test_reuse_matches_fit();
	test_state_file_round_trip();
	test_state_entry_checked();
	test_state_values_checked();
	test_state_directory_named();
	test_state_lock_exclusive();
	test_align_end_skips_absent();
	test_seed_marks_kept();
	test_window_covers_models();
	test_drift_scoring();
	test_arima_spec_reused();
	return unit_status();
}
