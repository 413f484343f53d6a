/*
 * shadow.h - the shadow state machine for new instances.
 *
 * A server that appears in a backend already in the state file starts
 * in shadow: it takes no live traffic, only a mirrored share of requests
 * (--mirror, capped by its spare capacity).  Once the validation window
 * has passed and it has served enough mirrored requests, its error rate
 * and mean latency, taken from request records that name it in
 * instance_id, are compared with the serving servers of the same backend.
 * It is then promoted in steps of its full weight, each step needing
 * another window of passing comparisons, or rolled back and drained.
 *
 *	shadow -> promoting (step 1 .. n) -> serving
 *	   \-----------\-> rolled_back
 *
 * The state file is JSON, rewritten by a temporary file and rename.  It
 * also contains each server's share of live traffic in the weights last
 * written, from which the next run infers the server's capacity.
 * Times come from the input records, not the clock, so a replay gives the
 * same decisions.
 */
#ifndef PA_SHADOW_H
#define PA_SHADOW_H

#include <jansson.h>
#include <stddef.h>

#include "route.h"
#include "timeutil.h"

#define PA_SHADOW_MAX_STEPS 10

struct pa_shadow_conf {
	double mirror;			/* share of requests mirrored to a shadow, 0-1 */
	pa_usec_t window;		/* time in a phase before it is judged */
	long min_requests;		/* requests needed to judge */
	double max_error_delta;		/* allowed error rate above serving */
	double max_latency_ratio;	/* allowed mean latency over serving's */
	double steps[PA_SHADOW_MAX_STEPS];	/* fractions of the full weight */
	int nsteps;
};

void pa_shadow_defaults(struct pa_shadow_conf *c);

/* Parse "25,50,100" (percent, increasing, ending at 100).  Returns 0, or -1 with why. */
int pa_shadow_parse_steps(struct pa_shadow_conf *c, const char *arg, char *why,
			  size_t whysize);

struct pa_shadow;

/*
 * Load the state from path (a missing file is an empty state).  Returns
 * NULL with the reason in why when the file cannot be read or parsed.
 * conf is copied.
 */
struct pa_shadow *pa_shadow_open(const char *path, const struct pa_shadow_conf *conf,
				 char *why, size_t whysize);

/*
 * Count a request record (kind "request" with instance_id) towards its
 * instance's requests, errors (status 500 and above) and latency
 * (duration_ms).  Returns 1 when taken, 0 when rec is not such a record,
 * -1 when invalid (why and *reason_class set).  Borrows rec.
 */
int pa_shadow_add_request(struct pa_shadow *sh, const json_t *rec, char *why, size_t whysize,
			  const char **reason_class);

/*
 * Advance the state of every server in pool at time now and set each
 * server's phase and live_fraction: 0 in shadow or rolled back, the
 * current step's fraction while promoting, 1 serving.  Set prior_share
 * to the share of live traffic stored by pa_shadow_record_shares, NAN
 * when none is stored.  now = 0 takes the latest request time seen.  Call
 * it before the raw weights are set, because they depend on both.
 */
void pa_shadow_advance(struct pa_shadow *sh, struct pa_pool *pool, pa_usec_t now);

/*
 * Set the mirrored share of each shadow in pool, after the raw weights.
 * The share is capped by the shadow's spare capacity: its spare field (a
 * fraction of one instance) times capacity, over demand (both in work
 * units per second).  When demand or capacity is NAN, the share is not
 * capped.
 */
void pa_shadow_mirror(const struct pa_shadow *sh, struct pa_pool *pool, double demand,
		      double capacity);

/*
 * Store each server's share of live traffic in the weights just written
 * for pool, scaled for its router, so the next run can tell how much
 * traffic caused the load it reads.  Call it after pa_shadow_advance.
 */
void pa_shadow_record_shares(struct pa_shadow *sh, const struct pa_pool *pool);

/* Write the state file.  Returns 0, or -1 after reporting the error. */
int pa_shadow_save(struct pa_shadow *sh);

void pa_shadow_free(struct pa_shadow *sh);

#endif
