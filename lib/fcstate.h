/*
 * fcstate.h - the model state file of pa-forecast --state.
 *
 * The file is one JSON object:
 *
 *	{"format_version": 1,
 *	 "series": {"NAME": {"levels": [0.95], "volume": [SPEC], "complexity": [SPEC],
 *	                     "reuses": 3, "history_end": "2026-06-04T00:00:00Z"}}}
 *
 * where SPEC is a pa_fc_result.spec per interval level ("" when there is
 * nothing to reuse) and reuses counts the runs since the last full fit.
 * It is written to a temporary file beside it and renamed into place, so a
 * crash leaves the old file or the new one, never half of one.
 */
#ifndef PA_FCSTATE_H
#define PA_FCSTATE_H

#include <jansson.h>
#include <stddef.h>

#define PA_FCSTATE_VERSION 1

/*
 * Load path.  A missing file gives a new, empty state.  Returns a new
 * reference, or NULL with a message in err when the file cannot be read
 * or is not a state file of this version.
 */
json_t *pa_fcstate_load(const char *path, char *err, size_t errsize);

/* Write state to path atomically.  Returns 0, or -1 with a message in err. */
int pa_fcstate_save(const char *path, const json_t *state, char *err, size_t errsize);

#endif
