/*
 * fcstate.h - the model state file of pa-forecast --state.
 *
 * The file is one JSON object, format_version 3:
 *
 *	{"format_version": 3,
 *	 "series": {"NAME": {
 *	   "tenant": "t", "service": "api", "step_s": 300,
 *	   "first": "2026-06-01T00:00:00Z",
 *	   "requests": "10 14 null ...", "complexity_sum": "15.5 null ...",
 *	   "fit": {"model": "auto", "levels": [0.95], "period_steps": 288,
 *	           "period2_steps": 0, "transform": "auto", "updates": 3,
 *	           "fitted_end": "2026-06-05T00:00:00Z"},
 *	   "volume": {"spec": [SPEC], "model": "...", "issued_at": "...", "mean": "...",
 *	              "lower": "...", "upper": "...", "outside": [0, 1, 0]},
 *	   "complexity": {...}}},
 *	 "events": [{"event_type": "match", "name": "final",
 *	             "ts": "2026-06-04T18:00:00Z",
 *	             "end": "2026-06-04T20:00:00Z", "magnitude": 1,
 *	             "tenant": "t", "service": "api"}, ...]}
 *
 * requests and complexity_sum are the kept window of history, one value
 * per step from "first" (null: unknown).  They and mean, lower and upper
 * are number lists: strings of numbers separated by single spaces (see
 * fcstate_numbers.c).  format_version 2 differs only in writing them as
 * arrays, which still read, so a version 2 file is updated in place.  The window's last bucket is the
 * last one forecast from.  "fit" contains the options the kept choice was
 * made under, the updates with kept parameters since the last full fit,
 * and the end of the history of that fit.
 *
 * Each measure has one SPEC, a pa_fc_result.spec, per interval level (""
 * when there is nothing to reuse, as for a flat history or a named
 * model).  model names the model of the first level, so an update can
 * report why nothing was kept.  mean, lower and upper are the
 * forecasts last written at the first level.  outside flags the last
 * PA_FCSTATE_SCORED actuals scored against them, 1 when outside the
 * interval.
 *
 * "pending" is the part of the bucket after the window that the input
 * ended inside, joined with the parts of that bucket a later run reads.
 * "rejected_series" contains entries that did not load, as they were.
 *
 * "events" contains the event records, trend stream samples included, that
 * end after the first kept bucket of a series they apply to, or of any
 * series when they apply to none.  "name", "end", "tenant" and "service"
 * appear only when the record gave them, so an event without "end" takes the
 * --event-window of the run that reads it.  A file without "events" keeps
 * none.
 *
 * The file is written to a new FILE.tmp.XXXXXX, flushed to disk, renamed
 * into place and the directory synced, so a crash leaves the old file or
 * the new one, never half of one.  A run holds an exclusive flock on
 * FILE.lock from before it loads the state until it has saved it, so two
 * runs on one file update it one after the other.
 *
 * NOTE: The whole file is parsed into one jansson tree.  With number
 * lists as strings, that takes a few times the file's size in memory.  A
 * format_version 2 file takes about 150 bytes per kept bucket until it is
 * rewritten.
 */
#ifndef PA_FCSTATE_H
#define PA_FCSTATE_H

#include <jansson.h>
#include <stddef.h>

#include "fc_events.h"
#include "fc_series.h"
#include "forecast.h"

#define PA_FCSTATE_VERSION 3
#define PA_FCSTATE_VERSION_ARRAYS 2	/* the same with number lists as arrays */

/* Scored actuals kept per measure for the drift check. */
#define PA_FCSTATE_SCORED 24

/*
 * Event records a state keeps.  A trend stream sampled every five minutes
 * leaves 6,912 samples in the window of five-minute series with the
 * default seasons and a day ahead, so there is room for about 14 such
 * streams.
 */
#define PA_FCSTATE_EVENTS_MAX 100000

/*
 * Load the state file at path.  A missing file gives a new, empty state,
 * and so does one of format_version 1, which keeps no history, after a
 * warning.  Returns a new reference, or NULL with a message naming the
 * file in err when it is a directory, cannot be read, is not valid JSON,
 * is of another version, or has an "events" array with more than
 * PA_FCSTATE_EVENTS_MAX records or with a record that
 * pa_fcstate_events_valid() rejects.
 *
 * A series entry of the wrong shape moves to the "rejected_series"
 * object, with a warning, so the other series go on.  The wrong shape
 * includes a negative count or complexity sum, a "fit", "volume" or
 * "complexity" object without a field an update reads, and an "outside"
 * array longer than PA_FCSTATE_SCORED or with values other than booleans,
 * 0 and 1.  A "pending" part of the wrong shape is dropped with a warning,
 * and the window grows by its bucket, unknown.  A part whose bucket is the
 * window's last, unknown there, is read with the window ending before it.
 */
json_t *pa_fcstate_load(const char *path, char *err, size_t errsize);

/* Return x[0..n) as a number list string, or NULL when memory runs out. */
json_t *pa_fcstate_numbers_encode(const double *x, size_t n);

/* Return the length of a number list (string or array), 0 for another value. */
size_t pa_fcstate_numbers_count(const json_t *v);

/*
 * Decode the number list v into a new array *out of want values, NAN for
 * null.  With max above 0, every number must lie from 0 to max.  Returns 0, or
 * -1 after writing into why (when not NULL) what is wrong with field.
 */
int pa_fcstate_numbers_decode(const json_t *v, size_t want, double max, const char *field,
			      double **out, char *why, size_t size);

/* Write state to path atomically.  Returns 0, or -1 with a message in err. */
int pa_fcstate_save(const char *path, const json_t *state, char *err, size_t errsize);

/*
 * Take the exclusive lock of the state file at path, creating path.lock,
 * and wait while another process holds it.  The lock lasts until the
 * returned descriptor is closed or the process ends.  Returns the
 * descriptor.  Returns -2 with a message in err when path is a directory,
 * and -1 when the lock file cannot be opened or locked.
 */
int pa_fcstate_lock(const char *path, char *err, size_t errsize);

/*
 * Check that the state file's directory accepts a new file, so a run that
 * could not save its state stops before reading input.  Returns 0, or -1
 * with a message in err.
 */
int pa_fcstate_check_writable(const char *path, char *err, size_t errsize);

/*
 * Start every series of state (as loaded) in set from its kept window.
 * Returns 0, or -1 when memory runs out.
 */
int pa_fcstate_seed(const json_t *state, struct pa_fc_series_set *set);

/*
 * Return the number of buckets of history to keep per series for a main
 * season of period steps, a second of period2 (0: none) and horizon steps
 * ahead.  That is what the automatic choice needs to compare every model
 * at those seasons over ten origins.
 */
size_t pa_fcstate_window(size_t period, size_t period2, size_t horizon);

/*
 * Score the forecasts kept in measure (a "volume" or "complexity" object
 * of an entry, may be NULL) against the actuals of the buckets after
 * `after`.  actual[i] is the bucket at first + i * step, NAN when unknown.
 * Returns a new array of the last PA_FCSTATE_SCORED outside flags, the
 * kept ones followed by the new ones.
 */
json_t *pa_fcstate_score(const json_t *measure, const double *actual, size_t n,
			 pa_usec_t first, pa_usec_t step, pa_usec_t after);

/*
 * Return the probability that a calibrated interval at level leaves at
 * least as many actuals outside as the flags in outside (an array of 0 and
 * 1) record, which is the binomial upper tail.  *misses and *scored
 * receive the counts.  Returns 1 when no actual was outside.
 */
double pa_fcstate_drift_p(const json_t *outside, double level, size_t *misses, size_t *scored);

/* Contents of a new entry for one series. */
struct pa_fcstate_update {
	const struct pa_fc_series *series;
	const struct pa_fc_grid *grid;
	size_t keep_from;		/* first grid bucket of the kept window */
	const char *model;		/* --model */
	const double *level;		/* nlevels interval levels */
	size_t nlevels;
	size_t period, period2;		/* seasons in steps the fit used */
	size_t horizon;			/* steps ahead the fit was chosen for */
	int transform;			/* PA_FC_TRANSFORM_* */
	long updates;			/* updates with kept parameters since the last full fit */
	pa_usec_t fitted_end;		/* history end at the last full fit */
	pa_usec_t issued;		/* issued_at of the forecasts */
	const struct pa_fc_result *volume;	/* nlevels results */
	const struct pa_fc_result *complexity;	/* nlevels results, or NULL */
	json_t *volume_outside;		/* stolen, may be NULL */
	json_t *complexity_outside;	/* stolen, may be NULL */
};

/*
 * Set the counts of the bucket at ts in the kept window of series name in
 * state, as a --follow run does when a record corrects an older bucket
 * without a new forecast.  complexity_sum NAN writes null.  Returns 1
 * when set, 0 when state has no entry for name or its window has no
 * bucket at ts, and -1 when memory runs out (the entry is then unchanged).
 */
int pa_fcstate_set_bucket(json_t *state, const char *name, pa_usec_t ts, double requests,
			  double complexity_sum);

/* Build a series entry.  Returns a new reference, or NULL when memory runs out. */
json_t *pa_fcstate_entry(const struct pa_fcstate_update *u);

/* Identities of the events of one struct pa_fc_events, by position. */
struct pa_fc_event_ids {
	json_t *index;		/* identity key -> position */
	json_t *names;		/* "name" of the record at each position, or null */
};

/* Start an empty set.  Returns 0, or -1 when memory runs out. */
int pa_fcstate_event_ids_init(struct pa_fc_event_ids *ids);

void pa_fcstate_event_ids_free(struct pa_fc_event_ids *ids);

/*
 * Add event record rec (borrowed) to e, or replace the event with the same
 * identity: the same event_type, name, tenant, service and start ("ts"),
 * where an absent field differs from every present one.  So a corrected
 * record replaces the old one, two matches that start together under
 * different names stay two events, and a trend stream keeps one sample
 * per start.  ids must only change through this function.  Returns 0 when
 * added, 1 when replaced, or -1 with a message in err and a reason class,
 * as pa_fc_events_add().
 */
int pa_fcstate_event_add(struct pa_fc_events *e, struct pa_fc_event_ids *ids, const json_t *rec,
			 pa_usec_t window, char *err, size_t errsize, const char **reason_class);

/*
 * Return 1 when events, the "events" value of a state (may be NULL), is an
 * array of at most PA_FCSTATE_EVENTS_MAX records that pass the checks of
 * an input event record, with string name, tenant and service when
 * present.
 * Otherwise write into why which record is wrong and its value.
 */
int pa_fcstate_events_valid(const json_t *events, char *why, size_t size);

/*
 * Drop from e, and from ids, every event that ends at or before before,
 * keeping the order of the others.  A live run calls it with the first
 * bucket that any series still keeps, the same rule by which a state file
 * keeps events, so its events stay bounded.  Stores the number dropped in
 * *dropped.  Returns 0, or -1 when memory runs out (e and ids unchanged).
 */
int pa_fcstate_events_drop_ended(struct pa_fc_events *e, struct pa_fc_event_ids *ids,
				 pa_usec_t before, size_t *dropped);

/*
 * Add the events of state (as loaded) to e through pa_fcstate_event_add(),
 * and remove them from state.  Returns 0, or -1 when memory runs out.
 */
int pa_fcstate_seed_events(json_t *state, struct pa_fc_events *e,
			   struct pa_fc_event_ids *ids, pa_usec_t window);

/*
 * Return a new array of the records of e that state, with this run's
 * series entries, keeps (see "events" above), in the order of e.  Over
 * PA_FCSTATE_EVENTS_MAX, the events that start last are kept, and
 * *dropped receives how many others were left out.  Returns NULL when
 * memory runs out.
 */
json_t *pa_fcstate_events_keep(const json_t *state, const struct pa_fc_events *e,
			       const struct pa_fc_event_ids *ids, size_t *dropped);

/* Return the name of transform t for the "fit" object. */
const char *pa_fcstate_transform_name(int t);

#endif
