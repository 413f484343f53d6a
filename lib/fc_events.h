/*
 * fc_events.h - scheduled events as regressors for the forecast.
 *
 * Event records mark windows (a match, a campaign, a holiday) when a
 * series may run above or below its usual pattern.  For each event type
 * that touches a series, pa_fc_event_lift() estimates a multiplicative
 * lift from the past windows and pa_fc_event_profile() the same lift by
 * offset within the window.  pa-forecast multiplies forecasts that fall
 * in a future window by the profile's lift at their offset.
 *
 * The lift of one past window is the mean over its buckets of
 * log1p(actual) - log1p(baseline), the baseline being the mean of the same
 * bucket one, two and three seasons earlier outside any event window.  The
 * lift is exp of the mean over windows, with a t interval across windows.
 *
 * An event type whose records have no "end" and whose magnitudes vary, with
 * at least PA_FC_STREAM_MIN records, is a numeric trend stream (mentions per
 * five minutes, say) rather than a list of windows.  Its magnitudes become
 * a regressor of the regression model (fc_regressors.h).
 */
#ifndef PA_FC_EVENTS_H
#define PA_FC_EVENTS_H

#include <jansson.h>
#include <stddef.h>

#include "timeutil.h"

#define PA_FC_STREAM_MIN 8

struct pa_fc_event {
	pa_usec_t start, end;	/* window [start, end) */
	double magnitude;	/* 1 when the record has none */
	int has_end;		/* 1: the record gave "end" */
	int far_checked;	/* 1: pa_fc_event_far() has been applied to it */
	char *type;		/* event_type, owned */
	char *tenant;		/* owned; NULL: every tenant */
	char *service;		/* owned; NULL: every service */
};

struct pa_fc_events {
	struct pa_fc_event *v;
	size_t count, alloc;
	char **types;		/* distinct event types in byte order, owned */
	size_t ntypes;
};

/*
 * Add one event record (borrowed).  An event without "end" lasts window.
 * Returns 0, or -1 with a message in err and a reason class, for
 * pa_reject.
 */
int pa_fc_events_add(struct pa_fc_events *e, const json_t *rec, pa_usec_t window,
		     char *err, size_t errsize, const char **reason_class);

void pa_fc_events_free(struct pa_fc_events *e);

/*
 * How far from the history an event may lie before pa-forecast warns: ten
 * years, far beyond any horizon, so the warning catches a mistyped year.
 */
#define PA_FC_EVENT_FAR (3653LL * 86400 * PA_USEC_PER_SEC)

/*
 * Return 1 when ev starts more than PA_FC_EVENT_FAR after last, -1 when it
 * ends more than PA_FC_EVENT_FAR before first, and 0 otherwise.
 */
int pa_fc_event_far(const struct pa_fc_event *ev, pa_usec_t first, pa_usec_t last);

/* Return 1 when event type 'type' is a numeric trend stream (see above). */
int pa_fc_event_is_stream(const struct pa_fc_events *e, const char *type);

/*
 * Sum the magnitudes of the samples of stream 'type' applying to
 * tenant/service into out[0..n), bucket i being [first + i * step, + step).
 * A bucket without a sample is NAN.  Returns the number of buckets with one.
 */
size_t pa_fc_event_stream(const struct pa_fc_events *e, const char *type, const char *tenant,
			  const char *service, pa_usec_t first, pa_usec_t step, size_t n,
			  double *out);

/*
 * Mark in mask[0..n) the buckets [first + i * step, + step) that overlap a
 * window of event type 'type' applying to tenant/service: nonzero, with
 * PA_FC_WINDOW_START set where a window begins outside every window that
 * began before it.  So windows that meet but do not overlap, such as two
 * matches three hours apart with two-hour windows, stay two windows, and
 * overlapping ones are one.  Returns how many buckets were marked.
 */
#define PA_FC_WINDOW_START 2

size_t pa_fc_event_mask(const struct pa_fc_events *e, const char *type, const char *tenant,
			const char *service, pa_usec_t first, pa_usec_t step, size_t n,
			unsigned char *mask);

struct pa_fc_lift {
	double lift, lower, upper;	/* lower and upper NAN with fewer than 2 windows */
	size_t windows;			/* past windows with a usable baseline */
};

/*
 * Estimate the lift of the windows in mask[0..n) on y, with baseline
 * buckets taken period steps back (1 when there is no season), skipping
 * any bucket in other[] (all event windows).  With a second, longer season
 * period2 (0: none), a bucket that has one behind it takes its baseline
 * from the same bucket period2 steps back instead, scaled by the change in
 * level over the period before each.  level is the interval level.
 */
struct pa_fc_lift pa_fc_event_lift(const double *y, size_t n, const unsigned char *mask,
				   const unsigned char *other, size_t period, size_t period2,
				   double level);

/*
 * A lift profile: the lift by offset within the window, so a match's
 * ramp after kick-off and its later plateau get their own factors.  Bin b
 * covers offsets [2^b - 1, 2^(b+1) - 1) buckets since the window start
 * (0, 1-2, 3-6, 7-14, ...), finest where traffic changes fastest.  Each
 * bin's lift is exp of the mean over windows of the mean log ratio of the
 * window's buckets in that bin, shrunk toward the whole-window lift with
 * the weight of PA_FC_PROFILE_PRIOR windows.  A bin reached by fewer than
 * two windows takes the whole-window lift and interval.
 */
#define PA_FC_PROFILE_BINS 12
#define PA_FC_PROFILE_PRIOR 3

struct pa_fc_profile {
	struct pa_fc_lift whole;	/* pa_fc_event_lift() of the same windows */
	size_t nbins;			/* bins reached by some past window */
	struct pa_fc_lift bin[PA_FC_PROFILE_BINS];	/* interval of the mean lift */
	double prediction_sd[PA_FC_PROFILE_BINS];	/* standard deviation of the log lift of
							 * one more window, NAN with fewer than 2
							 * windows */
};

/* Return the profile bin of a bucket offset buckets after its window start. */
size_t pa_fc_profile_bin(size_t offset);

/* Return the first offset, in buckets, of profile bin b. */
size_t pa_fc_profile_bin_start(size_t b);

/*
 * Return how many buckets before i the window covering mask[i] started
 * (consecutive marked buckets count as one window up to the next
 * PA_FC_WINDOW_START); 0 when i is unmarked.
 */
size_t pa_fc_event_offset(const unsigned char *mask, size_t i);

/*
 * Estimate the lift profile of the windows in mask[0..n) on y, with the
 * baseline and level of pa_fc_event_lift().  Returns the profile, whose
 * whole-window lift decides whether any bin is applied.
 */
struct pa_fc_profile pa_fc_event_profile(const double *y, size_t n, const unsigned char *mask,
					 const unsigned char *other, size_t period, size_t period2,
					 double level);

/* Return the lift of the profile at a bucket offset buckets into its window. */
double pa_fc_profile_lift(const struct pa_fc_profile *p, size_t offset);

/*
 * Set *lower and *upper to the prediction interval at level for the lift
 * of one more window in bin b: the bin's lift times exp(-+ t * sd), with
 * the t quantile of the bin's windows.  Both are NAN with fewer than two.
 */
void pa_fc_profile_prediction(const struct pa_fc_profile *p, size_t b, double level,
			      double *lower, double *upper);

#endif
