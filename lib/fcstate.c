/*
 * fcstate.c - loading and atomically saving the forecast state file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcstate.h"
#include "ndjson.h"

json_t *
pa_fcstate_load(const char *path, char *err, size_t errsize)
{
	json_error_t jerr;
	json_t *state, *series;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		if (errno != ENOENT) {
			snprintf(err, errsize, "cannot read state file %s: %s", path, strerror(errno));
			return NULL;
		}
		state = json_object();
		json_object_set_new(state, "format_version", json_integer(PA_FCSTATE_VERSION));
		json_object_set_new(state, "series", json_object());
		return state;
	}
	state = json_loadf(f, 0, &jerr);
	fclose(f);
	if (state == NULL) {
		snprintf(err, errsize, "state file %s: invalid JSON at line %d: %s", path, jerr.line,
			 jerr.text);
		return NULL;
	}
	series = json_object_get(state, "series");
	if (!json_is_object(state) ||
	    json_integer_value(json_object_get(state, "format_version")) != PA_FCSTATE_VERSION ||
	    !json_is_object(series)) {
		snprintf(err, errsize,
			 "state file %s is not a pa-forecast state of format_version %d (remove it to start afresh)",
			 path, PA_FCSTATE_VERSION);
		json_decref(state);
		return NULL;
	}
	return state;
}

int
pa_fcstate_save(const char *path, const json_t *state, char *err, size_t errsize)
{
	size_t len = strlen(path) + 5;
	char *tmp = malloc(len);
	FILE *f;
	int ok;

	if (tmp == NULL) {
		snprintf(err, errsize, "out of memory saving state file %s", path);
		return -1;
	}
	snprintf(tmp, len, "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (f == NULL) {
		snprintf(err, errsize, "cannot write state file %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	ok = json_dumpf(state, f, PA_JSON_FLAGS | JSON_SORT_KEYS) == 0;
	ok = fputc('\n', f) != EOF && ok;
	ok = fflush(f) == 0 && ok;
	ok = fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(err, errsize, "cannot write state file %s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}
