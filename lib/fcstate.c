/*
 * fcstate.c - the forecast state file: loading, checking, atomic saving,
 * and the parts of an entry (kept window, drift flags).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>

#include "diag.h"
#include "fc_output.h"
#include "fcstate.h"
#include "lockfile.h"
#include "ndjson.h"

/* Rolling origins of the automatic choice (forecast.c), each one horizon long. */
#define HOLDOUT_ORIGINS 10

static json_t *
empty_state(void)
{
	json_t *state = json_object();

	json_object_set_new(state, "format_version", json_integer(PA_FCSTATE_VERSION));
	json_object_set_new(state, "series", json_object());
	return state;
}

/*
 * Return 1 when v is a number list (fcstate_numbers.c) of len numbers or
 * nulls, each from 0 to max when max is above 0.  Otherwise write into why, when
 * not NULL, what is wrong with field.
 */
static int
is_number_list(const json_t *v, size_t len, double max, const char *field, char *why,
	       size_t size)
{
	double *x;

	if (pa_fcstate_numbers_decode(v, len, max, field, &x, why, size) != 0)
		return 0;
	free(x);
	return 1;
}

/* Return 1 when a is an array of at most max booleans or 0 and 1 integers. */
static int
is_flag_array(const json_t *a, size_t max)
{
	size_t i;
	const json_t *v;

	if (!json_is_array(a) || json_array_size(a) > max)
		return 0;
	json_array_foreach(a, i, v)
		if (!json_is_boolean(v) &&
		    !(json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)))
			return 0;
	return 1;
}

/* Return 1 when the "fit" object f, when present, has the fields an update reads. */
static int
fit_valid(const json_t *f, char *why, size_t size)
{
	const json_t *levels = json_object_get(f, "levels"), *v;
	pa_usec_t t;
	size_t i;

	if (f == NULL)
		return 1;
	if (!json_is_object(f)) {
		snprintf(why, size, "has a \"fit\" that is not an object");
		return 0;
	}
	if (!json_is_integer(json_object_get(f, "updates")) ||
	    json_integer_value(json_object_get(f, "updates")) < 0) {
		snprintf(why, size, "has no \"fit.updates\" count >= 0");
		return 0;
	}
	if (!json_is_integer(json_object_get(f, "period_steps")) ||
	    json_integer_value(json_object_get(f, "period_steps")) < 0 ||
	    !json_is_integer(json_object_get(f, "period2_steps")) ||
	    json_integer_value(json_object_get(f, "period2_steps")) < 0) {
		snprintf(why, size, "has no \"fit.period_steps\" and \"fit.period2_steps\" "
			 "counts >= 0");
		return 0;
	}
	if (pa_rec_time(f, "fitted_end", &t) != 1) {
		snprintf(why, size, "has no valid \"fit.fitted_end\" timestamp");
		return 0;
	}
	if (json_object_get(f, "horizon_steps") != NULL &&
	    (!json_is_integer(json_object_get(f, "horizon_steps")) ||
	     json_integer_value(json_object_get(f, "horizon_steps")) < 1)) {
		snprintf(why, size, "has a \"fit.horizon_steps\" that is not a count >= 1");
		return 0;
	}
	if (!json_is_array(levels) || json_array_size(levels) == 0 ||
	    json_array_size(levels) > PA_FC_LEVELS_MAX) {
		snprintf(why, size, "has no \"fit.levels\" array of 1 to %d levels", PA_FC_LEVELS_MAX);
		return 0;
	}
	json_array_foreach(levels, i, v) {
		if (!json_is_number(v) || !(json_number_value(v) > 0 && json_number_value(v) < 1)) {
			snprintf(why, size, "has a \"fit.levels\" value outside (0, 1)");
			return 0;
		}
	}
	return 1;
}

/*
 * Return 1 when the measure object m ("volume" or "complexity"), when
 * present, has the shape pa_fcstate_entry writes.  A spec string that
 * does not decode is not caught here: the update reports it and fits
 * afresh.
 */
static int
measure_valid(const json_t *m, const char *measure, char *why, size_t size)
{
	const json_t *spec = json_object_get(m, "spec"), *v;
	const json_t *mean = json_object_get(m, "mean");
	pa_usec_t t;
	size_t i, horizon = pa_fcstate_numbers_count(mean);

	if (m == NULL)
		return 1;
	if (!json_is_object(m)) {
		snprintf(why, size, "has a \"%s\" that is not an object", measure);
		return 0;
	}
	if (!json_is_array(spec) || json_array_size(spec) > PA_FC_LEVELS_MAX) {
		snprintf(why, size, "has no \"%s.spec\" array of at most %d strings", measure,
			 PA_FC_LEVELS_MAX);
		return 0;
	}
	json_array_foreach(spec, i, v) {
		if (!json_is_string(v) || json_string_length(v) >= PA_FC_SPEC_MAX) {
			snprintf(why, size, "has a \"%s.spec\" entry that is not a string shorter "
				 "than %d bytes", measure, PA_FC_SPEC_MAX);
			return 0;
		}
	}
	if (json_object_get(m, "issued_at") != NULL && pa_rec_time(m, "issued_at", &t) != 1) {
		snprintf(why, size, "has no valid \"%s.issued_at\" timestamp", measure);
		return 0;
	}
	if (mean != NULL) {
		static const char *const lists[] = { "mean", "lower", "upper" };

		if (horizon == 0 || horizon > PA_FC_MAX_BUCKETS) {
			snprintf(why, size, "has no \"%s.mean\" list of 1 to %d numbers or null",
				 measure, PA_FC_MAX_BUCKETS);
			return 0;
		}
		/* Name all three counts, because any one of the lists may be the wrong one. */
		size_t nlower = pa_fcstate_numbers_count(json_object_get(m, "lower"));
		size_t nupper = pa_fcstate_numbers_count(json_object_get(m, "upper"));

		if (nlower > 0 && nupper > 0 && (nlower != horizon || nupper != horizon)) {
			snprintf(why, size, "has lists of different lengths: \"%s.mean\" %zu, "
				 "\"%s.lower\" %zu and \"%s.upper\" %zu values", measure, horizon,
				 measure, nlower, measure, nupper);
			return 0;
		}
		for (i = 0; i < 3; i++) {
			char field[40];

			snprintf(field, sizeof field, "%s.%s", measure, lists[i]);
			if (!is_number_list(json_object_get(m, lists[i]), horizon, 0, field, why, size))
				return 0;
		}
	}
	if (json_object_get(m, "outside") != NULL &&
	    !is_flag_array(json_object_get(m, "outside"), PA_FCSTATE_SCORED)) {
		snprintf(why, size, "has a \"%s.outside\" that is not an array of at most %d "
			 "booleans or 0 and 1", measure, PA_FCSTATE_SCORED);
		return 0;
	}
	return 1;
}

/*
 * Return 1 when the pending part p has the shape pa_fcstate_entry()
 * writes for a series whose n kept buckets of step_s seconds start at
 * first, or 0 after writing what is wrong into why.
 */
static int
pending_valid(const json_t *p, pa_usec_t first, size_t n, double step_s, char *why, size_t size)
{
	double requests, csum, from, covered;
	pa_usec_t ts, step = (pa_usec_t)llround(step_s * PA_USEC_PER_SEC);
	const char *field = NULL, *expected = NULL;
	char at[40], after[120];

	if (!json_is_object(p)) {
		snprintf(why, size, "has a \"pending\" part that is not an object");
		return 0;
	}
	if (pa_rec_time(p, "ts", &ts) != 1 || ts != first + (pa_usec_t)n * step) {
		snprintf(after, sizeof after, "%s, the start of the bucket after the kept history",
			 pa_time_format(first + (pa_usec_t)n * step, at, sizeof at));
		field = "ts";
		expected = after;
	} else if (pa_rec_num(p, "requests", &requests) != 1 || !(requests >= 0) ||
		   requests > PA_REQUESTS_MAX) {
		field = "requests";
		expected = "a count from 0 to 1e15";
	} else if (json_object_get(p, "complexity_sum") != NULL &&
		   (pa_rec_num(p, "complexity_sum", &csum) != 1 || !(csum >= 0) ||
		    csum > PA_COMPLEXITY_SUM_MAX)) {
		field = "complexity_sum";
		expected = "a number from 0 to 1e18";
	} else if (json_object_get(p, "covered_s") == NULL) {
		field = "covered_s";
		expected = "present";
	} else if (pa_rec_coverage(p, step_s, &from, &covered, &field, &expected) == 0) {
		field = "covered_s";
		expected = "below the bucket's step";
	}
	if (field != NULL) {
		snprintf(why, size, "has a \"pending\" part whose \"%s\" is not %s: %s", field,
			 expected, pa_quote_json(json_object_get(p, field)));
		return 0;
	}
	return 1;
}

/*
 * Return 1 when series entry e, apart from its pending part, has the
 * expected shape, or 0 after writing what is wrong into why.
 */
static int
entry_valid(const json_t *e, char *why, size_t size)
{
	const json_t *req = json_object_get(e, "requests");
	const json_t *csum = json_object_get(e, "complexity_sum");
	pa_usec_t first;
	double step;
	size_t n;

	if (!json_is_object(e)) {
		snprintf(why, size, "is not an object");
		return 0;
	}
	if (pa_rec_num(e, "step_s", &step) != 1 || step < 1 || step > 366 * 86400.0) {
		snprintf(why, size, "has no valid \"step_s\"");
		return 0;
	}
	if (pa_rec_time(e, "first", &first) != 1) {
		snprintf(why, size, "has no valid \"first\" timestamp");
		return 0;
	}
	/* A new series whose only bucket is a part keeps an empty window. */
	n = pa_fcstate_numbers_count(req);
	if ((n == 0 && json_object_get(e, "pending") == NULL) || n > PA_FC_MAX_BUCKETS) {
		snprintf(why, size, "has no \"requests\" list of 1 to %d numbers or null "
			 "(or an empty one beside a \"pending\" part)", PA_FC_MAX_BUCKETS);
		return 0;
	}
	if (!is_number_list(req, n, PA_REQUESTS_MAX, "requests", why, size) ||
	    !is_number_list(csum, n, PA_COMPLEXITY_SUM_MAX, "complexity_sum", why, size))
		return 0;
	if (!json_is_string(json_object_get(e, "tenant")) ||
	    !json_is_string(json_object_get(e, "service"))) {
		snprintf(why, size, "has no \"tenant\" and \"service\" strings");
		return 0;
	}
	return fit_valid(json_object_get(e, "fit"), why, size) &&
	       measure_valid(json_object_get(e, "volume"), "volume", why, size) &&
	       measure_valid(json_object_get(e, "complexity"), "complexity", why, size);
}

/*
 * Resize the kept window of entry e from n buckets to n - 1, dropping the
 * last, or to n + 1 with an unknown bucket after the last (grow set).
 * Returns 0, or -1 when memory runs out.
 */
static int
resize_window(json_t *e, size_t n, int grow)
{
	static const char *const lists[] = { "requests", "complexity_sum" };

	for (size_t i = 0; i < 2; i++) {
		double *x, *longer;
		json_t *list;

		if (pa_fcstate_numbers_decode(json_object_get(e, lists[i]), n, 0, lists[i], &x, NULL,
					      0) != 0)
			return -1;
		if (grow) {
			longer = realloc(x, (n + 1) * sizeof *x);
			if (longer == NULL) {
				free(x);
				return -1;
			}
			x = longer;
			x[n] = NAN;
		}
		list = pa_fcstate_numbers_encode(x, grow ? n + 1 : n - 1);
		free(x);
		if (list == NULL || json_object_set_new(e, lists[i], list) != 0)
			return -1;
	}
	return 0;
}

int
pa_fcstate_set_bucket(json_t *state, const char *name, pa_usec_t ts, double requests,
		      double complexity_sum)
{
	json_t *e = json_object_get(json_object_get(state, "series"), name);
	json_t *lists[2] = { NULL, NULL };
	const char *keys[2] = { "requests", "complexity_sum" };
	double value[2] = { requests, complexity_sum };
	double step_s;
	pa_usec_t first, step;
	size_t n, at;

	if (e == NULL || pa_rec_num(e, "step_s", &step_s) != 1 || pa_rec_time(e, "first", &first) != 1)
		return 0;
	step = (pa_usec_t)llround(step_s * PA_USEC_PER_SEC);
	n = pa_fcstate_numbers_count(json_object_get(e, "requests"));
	if (step <= 0 || ts < first || (ts - first) % step != 0 || (size_t)((ts - first) / step) >= n)
		return 0;
	at = (size_t)((ts - first) / step);

	/* Both lists are encoded before either is set, so a failure changes neither. */
	for (size_t i = 0; i < 2; i++) {
		double *x;

		if (pa_fcstate_numbers_decode(json_object_get(e, keys[i]), n, 0, keys[i], &x, NULL,
					      0) != 0)
			break;
		x[at] = value[i];
		lists[i] = pa_fcstate_numbers_encode(x, n);
		free(x);
		if (lists[i] == NULL)
			break;
	}
	if (lists[0] == NULL || lists[1] == NULL) {
		json_decref(lists[0]);
		json_decref(lists[1]);
		return -1;
	}
	json_object_set_new(e, keys[0], lists[0]);
	json_object_set_new(e, keys[1], lists[1]);
	return 1;
}

/*
 * Check the pending part of entry e of series name, read from path.  A
 * part whose bucket is the window's last one, unknown there, is the shape
 * that an earlier pa-forecast wrote for a part that began inside its
 * bucket: the window then ends before that bucket.  A part of another
 * wrong shape is dropped with a message that shows it, so the series
 * goes on without it.  Returns 0, or -1 when memory runs out.
 */
static int
check_pending(json_t *e, const char *name, const char *path)
{
	json_t *p = json_object_get(e, "pending");
	const json_t *req = json_object_get(e, "requests");
	size_t n = pa_fcstate_numbers_count(req);
	pa_usec_t first, ts, step;
	double step_s, *r;
	char why[400];
	char *text;

	if (p == NULL)
		return 0;
	pa_rec_num(e, "step_s", &step_s);
	pa_rec_time(e, "first", &first);
	step = (pa_usec_t)llround(step_s * PA_USEC_PER_SEC);
	if (n > 1 && json_is_object(p) && pa_rec_time(p, "ts", &ts) == 1 &&
	    ts == first + (pa_usec_t)(n - 1) * step) {
		if (pa_fcstate_numbers_decode(req, n, 0, "requests", &r, NULL, 0) != 0)
			return -1;
		if (isnan(r[n - 1]) && resize_window(e, n, 0) != 0) {
			free(r);
			return -1;
		}
		n -= isnan(r[n - 1]);
		free(r);
	}
	if (pending_valid(p, first, n, step_s, why, sizeof why))
		return 0;
	/*
	 * Without its part, the bucket after the window is unknown, not a gap
	 * of 0 requests: the window grows by that unknown bucket, which a
	 * whole record of this input replaces.
	 */
	text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	pa_warn("state file %s: series %s %s; that part of a bucket is dropped, and the bucket "
		"reads as unknown unless this input has it whole: %s", path,
		pa_quote(name, strlen(name)), why, text ? text : "(out of memory)");
	free(text);
	json_object_del(e, "pending");
	return n < PA_FC_MAX_BUCKETS ? resize_window(e, n, 1) : 0;
}

/*
 * Check every series entry of state, read from path.  An entry of the
 * wrong shape moves to "rejected_series", where it stays in the file for
 * repair by hand, and its series starts a new history: one damaged entry
 * must not stop the forecasts of the others.  Returns 0, or -1 when memory
 * runs out.
 */
static int
check_entries(json_t *state, const char *path)
{
	json_t *series = json_object_get(state, "series"), *entry;
	json_t *rejected = json_object_get(state, "rejected_series");
	const char *name;
	void *tmp;
	char why[400];

	json_object_foreach_safe(series, tmp, name, entry) {
		if (entry_valid(entry, why, sizeof why)) {
			if (check_pending(entry, name, path) != 0)
				return -1;
			continue;
		}
		pa_warn("state file %s: series %s %s; it starts a new history, and its entry is "
			"moved to \"rejected_series\" in the file, to repair by hand and move back "
			"to \"series\"", path, pa_quote(name, strlen(name)), why);
		if (rejected == NULL) {
			rejected = json_object();
			if (rejected == NULL || json_object_set_new(state, "rejected_series", rejected) != 0)
				return -1;
		}
		if (json_object_set(rejected, name, entry) != 0)
			return -1;
		json_object_del(series, name);
	}
	return 0;
}

json_t *
pa_fcstate_load(const char *path, char *err, size_t errsize)
{
	json_error_t jerr;
	json_t *state, *series;
	json_int_t version;
	char why[400];
	struct stat st;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		if (errno != ENOENT) {
			snprintf(err, errsize, "cannot read state file %s: %s", path, strerror(errno));
			return NULL;
		}
		return empty_state();
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errsize, "state file %s is a directory (give the path of a file "
			 "inside it)", path);
		fclose(f);
		return NULL;
	}
	state = json_loadf(f, 0, &jerr);
	if (state == NULL) {
		snprintf(err, errsize, "state file %s: invalid JSON at line %d: %s (remove the "
			 "file to start a new state)", path, pa_json_file_error_line(f, &jerr),
			 jerr.text);
		fclose(f);
		return NULL;
	}
	fclose(f);
	version = json_integer_value(json_object_get(state, "format_version"));
	series = json_object_get(state, "series");
	if (json_is_object(state) && version == 1 && json_is_object(series)) {
		pa_warn("state file %s has format_version 1, which keeps no history: starting a "
			"new state of format_version %d", path, PA_FCSTATE_VERSION);
		json_decref(state);
		return empty_state();
	}
	if (!json_is_object(state) ||
	    (version != PA_FCSTATE_VERSION && version != PA_FCSTATE_VERSION_ARRAYS) ||
	    !json_is_object(series)) {
		snprintf(err, errsize,
			 "state file %s is not a pa-forecast state of format_version %d or %d (remove it "
			 "to start afresh)", path, PA_FCSTATE_VERSION_ARRAYS, PA_FCSTATE_VERSION);
		json_decref(state);
		return NULL;
	}
	if (!pa_fcstate_events_valid(json_object_get(state, "events"), why, sizeof why)) {
		snprintf(err, errsize, "state file %s: %s (remove the file to start a new state)",
			 path, why);
		json_decref(state);
		return NULL;
	}
	if (json_object_get(state, "rejected_series") != NULL &&
	    !json_is_object(json_object_get(state, "rejected_series"))) {
		snprintf(err, errsize, "state file %s: \"rejected_series\" is not an object "
			 "(remove the file to start a new state)", path);
		json_decref(state);
		return NULL;
	}
	if (check_entries(state, path) != 0) {
		snprintf(err, errsize, "out of memory checking state file %s", path);
		json_decref(state);
		return NULL;
	}

	/* Entries written from now on are of this version; older ones still read. */
	json_object_set_new(state, "format_version", json_integer(PA_FCSTATE_VERSION));
	return state;
}

/* Return the directory of path as a new string, or NULL when memory runs out. */
static char *
dir_of(const char *path)
{
	char *copy = strdup(path), *dir;

	if (copy == NULL)
		return NULL;
	dir = strdup(dirname(copy));
	free(copy);
	return dir;
}

int
pa_fcstate_check_writable(const char *path, char *err, size_t errsize)
{
	size_t len = strlen(path) + 32;
	char *probe = malloc(len);
	int fd;

	if (probe == NULL) {
		snprintf(err, errsize, "out of memory checking state file %s", path);
		return -1;
	}

	/*
	 * Probe with a name of this process rather than FILE.tmp, which a
	 * crash may have left behind: creating and removing a new file needs
	 * the same directory permission as the save's rename.
	 */
	snprintf(probe, len, "%s.probe.%ld", path, (long)getpid());
	fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		snprintf(err, errsize, "cannot write state file %s: %s", path, strerror(errno));
		free(probe);
		return -1;
	}
	close(fd);
	unlink(probe);
	free(probe);
	return 0;
}

/* fsync the directory of path, so the rename itself survives a crash. */
static int
sync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd, rc;

	if (dir == NULL)
		return -1;
	fd = open(dir, O_RDONLY);
	free(dir);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
pa_fcstate_save(const char *path, const json_t *state, char *err, size_t errsize)
{
	size_t len = strlen(path) + 16;
	char *tmp = malloc(len);
	mode_t mask;
	FILE *f;
	int fd, ok;

	if (tmp == NULL) {
		snprintf(err, errsize, "out of memory saving state file %s", path);
		return -1;
	}

	/*
	 * A name of its own per run, so a run never writes into another
	 * run's temporary file.  mkstemp creates it with mode 0600, so it is
	 * given the mode that fopen would give a new file under the umask.
	 */
	snprintf(tmp, len, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errsize, "cannot write state file %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	f = fdopen(fd, "wb");
	if (f == NULL) {
		snprintf(err, errsize, "cannot write state file %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
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
	if (sync_dir(path) != 0) {
		snprintf(err, errsize, "cannot sync the directory of state file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int
pa_fcstate_lock(const char *path, char *err, size_t errsize)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errsize, "state file %s is a directory (give the path of a file "
			 "inside it)", path);
		return -2;
	}
	return pa_lock_beside(path, "state file", "another run", err, errsize);
}

/* Add the pending part p, checked by pending_valid(), to the series name. */
static int
seed_pending(struct pa_fc_series_set *set, const char *name, const json_t *p, double step_s)
{
	double requests, csum = NAN, from, covered;
	pa_usec_t ts;
	const char *field, *expected;

	pa_rec_time(p, "ts", &ts);
	pa_rec_num(p, "requests", &requests);
	pa_rec_num(p, "complexity_sum", &csum);
	pa_rec_coverage(p, step_s, &from, &covered, &field, &expected);
	return pa_fc_series_pending(set, name, ts, requests, csum,
				    llround(from * PA_USEC_PER_SEC),
				    llround((from + covered) * PA_USEC_PER_SEC));
}

int
pa_fcstate_seed(const json_t *state, struct pa_fc_series_set *set)
{
	const json_t *entry;
	const char *name;

	json_object_foreach(json_object_get(state, "series"), name, entry) {
		const json_t *req = json_object_get(entry, "requests");
		const json_t *csum = json_object_get(entry, "complexity_sum");
		size_t n = pa_fcstate_numbers_count(req);
		double *r, *c, step_s = 0;
		pa_usec_t first = 0;
		int rc;

		/* pa_fcstate_load checked the lists, so only memory can fail here. */
		if (pa_fcstate_numbers_decode(req, n, PA_REQUESTS_MAX, "requests", &r, NULL, 0) != 0)
			return -1;
		if (pa_fcstate_numbers_decode(csum, n, PA_COMPLEXITY_SUM_MAX, "complexity_sum", &c, NULL, 0) != 0) {
			free(r);
			return -1;
		}
		pa_rec_num(entry, "step_s", &step_s);
		pa_rec_time(entry, "first", &first);
		rc = pa_fc_series_seed(set, name, pa_rec_str(entry, "tenant"),
				       pa_rec_str(entry, "service"),
				       (pa_usec_t)llround(step_s * (double)PA_USEC_PER_SEC), first, r, c,
				       n);
		free(r);
		free(c);
		if (rc == 0 && json_object_get(entry, "pending") != NULL)
			rc = seed_pending(set, name, json_object_get(entry, "pending"), step_s);
		if (rc != 0)
			return -1;
	}
	return 0;
}

size_t
pa_fcstate_window(size_t period, size_t period2, size_t horizon)
{
	size_t main = period ? period : period2, second = period ? period2 : 0;
	size_t need = 64;

	/*
	 * Seasonal ARIMA needs three seasons and 16 buckets, and Holt-Winters
	 * two.  pa-forecast uses the second season only when the history
	 * contains two cycles of it.  The automatic choice then holds out ten
	 * horizons.
	 */
	if (main && 3 * main + 16 > need)
		need = 3 * main + 16;
	if (second && 2 * second > need)
		need = 2 * second;
	return need + HOLDOUT_ORIGINS * horizon;
}

json_t *
pa_fcstate_score(const json_t *measure, const double *actual, size_t n, pa_usec_t first,
		 pa_usec_t step, pa_usec_t after)
{
	const json_t *flag;
	json_t *all = json_array(), *out = json_array();
	double *lower = NULL, *upper = NULL;
	pa_usec_t issued;
	size_t i, from, horizon = pa_fcstate_numbers_count(json_object_get(measure, "lower"));

	json_array_foreach(json_object_get(measure, "outside"), i, flag)
		json_array_append_new(all, json_integer(json_is_true(flag) ||
							json_integer_value(flag) != 0));

	if (measure != NULL && pa_rec_time(measure, "issued_at", &issued) == 1 && issued >= first &&
	    pa_fcstate_numbers_decode(json_object_get(measure, "lower"), horizon, 0, "lower",
				      &lower, NULL, 0) == 0 &&
	    pa_fcstate_numbers_decode(json_object_get(measure, "upper"), horizon, 0, "upper",
				      &upper, NULL, 0) == 0) {
		for (i = (size_t)((issued - first) / step); i < n; i++) {
			pa_usec_t ts = first + (pa_usec_t)i * step;
			size_t k = (size_t)((ts - issued) / step);

			if (k >= horizon)
				break;
			if (ts <= after || isnan(actual[i]) || isnan(lower[k]) || isnan(upper[k]))
				continue;
			json_array_append_new(all, json_integer(actual[i] < lower[k] ||
								actual[i] > upper[k]));
		}
	}
	free(lower);
	free(upper);

	/* Keep the newest PA_FCSTATE_SCORED flags. */
	from = json_array_size(all) > PA_FCSTATE_SCORED ? json_array_size(all) - PA_FCSTATE_SCORED : 0;
	for (i = from; i < json_array_size(all); i++)
		json_array_append(out, json_array_get(all, i));
	json_decref(all);
	return out;
}

double
pa_fcstate_drift_p(const json_t *outside, double level, size_t *misses, size_t *scored)
{
	const json_t *flag;
	size_t i;

	*misses = 0;
	*scored = json_array_size(outside);
	json_array_foreach(outside, i, flag)
		*misses += json_integer_value(flag) != 0;
	if (*misses == 0)
		return 1;
	/* P(X >= misses) for X ~ Binomial(scored, 1 - level). */
	return gsl_cdf_binomial_Q((unsigned int)(*misses - 1), 1 - level, (unsigned int)*scored);
}

/* Return the name under which the state stores a PA_FC_TRANSFORM_* value. */
const char *
pa_fcstate_transform_name(int t)
{
	if (t == PA_FC_TRANSFORM_NONE)
		return "none";
	if (t == PA_FC_TRANSFORM_LOG1P)
		return "log1p";
	if (t == PA_FC_TRANSFORM_BOXCOX)
		return "boxcox";
	return "auto";
}

static json_t *
measure_entry(const struct pa_fcstate_update *u, const struct pa_fc_result *r, json_t *outside)
{
	json_t *m = json_object(), *spec = json_array();

	for (size_t l = 0; l < u->nlevels; l++)
		json_array_append_new(spec, json_string(r ? r[l].spec : ""));
	json_object_set_new(m, "spec", spec);
	if (r != NULL) {
		json_object_set_new(m, "model", json_string(r[0].model));
		pa_rec_set_time(m, "issued_at", u->issued);
		json_object_set_new(m, "mean", pa_fcstate_numbers_encode(r[0].mean, r[0].horizon));
		json_object_set_new(m, "lower", pa_fcstate_numbers_encode(r[0].lower, r[0].horizon));
		json_object_set_new(m, "upper", pa_fcstate_numbers_encode(r[0].upper, r[0].horizon));
	}
	json_object_set_new(m, "outside", outside ? outside : json_array());
	return m;
}

json_t *
pa_fcstate_entry(const struct pa_fcstate_update *u)
{
	const struct pa_fc_series *s = u->series;
	const struct pa_fc_grid *g = u->grid;
	json_t *e = json_object(), *fit = json_object(), *levels = json_array();

	if (e == NULL || fit == NULL || levels == NULL) {
		json_decref(e);
		json_decref(fit);
		json_decref(levels);
		json_decref(u->volume_outside);
		json_decref(u->complexity_outside);
		return NULL;
	}
	json_object_set_new(e, "tenant", json_string(s->tenant));
	json_object_set_new(e, "service", json_string(s->service));
	pa_rec_set_num(e, "step_s", (double)s->step / PA_USEC_PER_SEC);
	pa_rec_set_time(e, "first", g->first + (pa_usec_t)u->keep_from * s->step);
	json_object_set_new(e, "requests",
			    pa_fcstate_numbers_encode(g->volume + u->keep_from, g->n - u->keep_from));
	json_object_set_new(e, "complexity_sum",
			    pa_fcstate_numbers_encode(g->complexity_sum + u->keep_from,
						      g->n - u->keep_from));
	if (g->pending) {
		json_t *p = json_object();

		/* The last bucket's parts so far, for a later run's parts to complete. */
		pa_rec_set_time(p, "ts", g->pending_ts);
		pa_rec_set_num(p, "requests", g->pending_requests);
		if (!isnan(g->pending_complexity_sum))
			pa_rec_set_num(p, "complexity_sum", g->pending_complexity_sum);
		if (g->pending_from > 0)
			pa_rec_set_num(p, "covered_from_s", (double)g->pending_from / PA_USEC_PER_SEC);
		pa_rec_set_num(p, "covered_s", (double)(g->pending_to - g->pending_from) / PA_USEC_PER_SEC);
		json_object_set_new(e, "pending", p);
	}

	for (size_t l = 0; l < u->nlevels; l++)
		json_array_append_new(levels, json_real(u->level[l]));
	json_object_set_new(fit, "model", json_string(u->model));
	json_object_set_new(fit, "levels", levels);
	json_object_set_new(fit, "period_steps", json_integer((json_int_t)u->period));
	json_object_set_new(fit, "period2_steps", json_integer((json_int_t)u->period2));
	json_object_set_new(fit, "horizon_steps", json_integer((json_int_t)u->horizon));
	json_object_set_new(fit, "transform", json_string(pa_fcstate_transform_name(u->transform)));
	json_object_set_new(fit, "updates", json_integer(u->updates));
	pa_rec_set_time(fit, "fitted_end", u->fitted_end);
	json_object_set_new(e, "fit", fit);

	json_object_set_new(e, "volume", measure_entry(u, u->volume, u->volume_outside));
	json_object_set_new(e, "complexity", measure_entry(u, u->complexity, u->complexity_outside));
	return e;
}
