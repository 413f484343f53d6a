/* Unit tests for reusing an automatic choice and for the state file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	free(y);
}

static void
test_state_file_round_trip(void)
{
	char dir[] = "/tmp/pa-state-XXXXXX", path[64], tmp[80], err[300];
	json_t *state, *loaded;

	CHECK("mkdtemp", mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/s.json", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);

	state = pa_fcstate_load(path, err, sizeof err);
	CHECK("missing file gives state", state != NULL);
	json_object_set_new(json_object_get(state, "series"), "a/b", json_string("x"));
	CHECK("save", pa_fcstate_save(path, state, err, sizeof err) == 0);
	CHECK("no temporary left", access(tmp, F_OK) != 0);
	loaded = pa_fcstate_load(path, err, sizeof err);
	CHECK("load saved", loaded != NULL);
	CHECK("saved series kept", json_equal(state, loaded));
	json_decref(state);
	json_decref(loaded);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_reuse_matches_fit();
	test_state_file_round_trip();
	return unit_status();
}
