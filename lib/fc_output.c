/*
 * fc_output.c - from a collected series to forecast records.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fc_output.h"
#include "fc_regressors.h"
#include "fcstate.h"
#include "ndjson.h"

#define MODEL_TEXT_MAX 400

char *
pa_fc_format_step(pa_usec_t step, char *buf, size_t size)
{
	long long s = step / PA_USEC_PER_SEC;

	if (step % PA_USEC_PER_SEC != 0)
		snprintf(buf, size, "%.6gs", (double)step / PA_USEC_PER_SEC);
	else if (s % 604800 == 0)
		snprintf(buf, size, "%lldw", s / 604800);
	else if (s % 86400 == 0)
		snprintf(buf, size, "%lldd", s / 86400);
	else if (s % 3600 == 0)
		snprintf(buf, size, "%lldh", s / 3600);
	else if (s % 60 == 0)
		snprintf(buf, size, "%lldm", s / 60);
	else
		snprintf(buf, size, "%llds", s);
	return buf;
}

/* A season of length period in steps of step, or 0 when it is not a whole number >= 2. */
static size_t
period_steps(pa_usec_t period, pa_usec_t step)
{
	if (period <= 0 || period % step != 0 || period / step < 2)
		return 0;
	return (size_t)(period / step);
}

/* Describe the model that ran, with any fallback and its reason. */
static void
model_text(const struct pa_fc_result *r, const char *period_note, char *buf, size_t size)
{
	if (r->fallback && period_note[0])
		snprintf(buf, size, "%s; fallback: %s; %s", r->model, period_note, r->reason);
	else if (r->fallback)
		snprintf(buf, size, "%s; fallback: %s", r->model, r->reason);
	else if (period_note[0])
		snprintf(buf, size, "%s; fallback: %s", r->model, period_note);
	else
		snprintf(buf, size, "%s", r->model);
}

/*
 * All bounds of step k, one object per level, for the "intervals" field
 * written when more than one level was requested.
 */
static json_t *
intervals_at(const struct pa_fc_run_opts *o, const struct pa_fc_result *vol,
	     const struct pa_fc_result *cx, size_t k)
{
	json_t *list = json_array();

	for (size_t l = 0; l < o->nlevels; l++) {
		json_t *one = json_object();

		pa_rec_set_num(one, "interval_level", o->level[l]);
		pa_rec_set_num(one, "volume_lower", vol[l].lower[k]);
		pa_rec_set_num(one, "volume_upper", vol[l].upper[k]);
		pa_rec_set_num(one, "complexity_lower", cx ? cx[l].lower[k] : 1);
		pa_rec_set_num(one, "complexity_upper", cx ? cx[l].upper[k] : 1);
		json_array_append_new(list, one);
	}
	return list;
}

/*
 * vol and cx hold one result per level; cx is NULL without complexity.
 * fit_label, when not NULL, fills the "fit" field: kept or full.
 */
static void
write_records(const struct pa_fc_series *s, pa_usec_t issued, pa_usec_t issued_at, size_t horizon,
	      const struct pa_fc_run_opts *o, const struct pa_fc_result *vol,
	      const char *vol_model, const struct pa_fc_result *cx, const char *cx_model,
	      const double *event_lift, const char *fit_label)
{
	double level = o->level[0];

	for (size_t k = 0; k < horizon; k++) {
		json_t *rec = json_object();

		json_object_set_new(rec, "kind", json_string("forecast"));
		json_object_set_new(rec, "tenant_service_name", json_string(s->name));
		json_object_set_new(rec, "tenant", json_string(s->tenant));
		json_object_set_new(rec, "service", json_string(s->service));
		pa_rec_set_time(rec, "ts", issued + (pa_usec_t)k * s->step);
		pa_rec_set_num(rec, "step_s", (double)s->step / PA_USEC_PER_SEC);
		pa_rec_set_time(rec, "issued_at", issued_at);
		pa_rec_set_num(rec, "horizon_steps", (double)(k + 1));
		pa_rec_set_num(rec, "predicted_volume", vol->mean[k]);
		pa_rec_set_num(rec, "predicted_complexity", cx ? cx->mean[k] : 1);
		pa_rec_set_num(rec, "confidence_interval", (vol->upper[k] - vol->lower[k]) / 2);
		pa_rec_set_num(rec, "interval_level", level);
		pa_rec_set_num(rec, "volume_lower", vol->lower[k]);
		pa_rec_set_num(rec, "volume_upper", vol->upper[k]);
		pa_rec_set_num(rec, "complexity_lower", cx ? cx->lower[k] : 1);
		pa_rec_set_num(rec, "complexity_upper", cx ? cx->upper[k] : 1);
		json_object_set_new(rec, "model", json_string(vol_model));
		json_object_set_new(rec, "complexity_model", json_string(cx_model));
		if (fit_label != NULL)
			json_object_set_new(rec, "fit", json_string(fit_label));
		if (event_lift && event_lift[k] != 1)
			pa_rec_set_num(rec, "event_lift", event_lift[k]);
		if (o->nlevels > 1)
			json_object_set_new(rec, "intervals", intervals_at(o, vol, cx, k));
		pa_out_json(rec);
		json_decref(rec);
	}
}

/* Event windows over the history and the horizon of one series. */
struct event_plan {
	size_t ntypes, total;		/* total = history + horizon buckets */
	unsigned char *mask;		/* type t at [t * total + i] */
	unsigned char *any;		/* any type */
	struct pa_fc_profile *profile;	/* per type, from the history */
	size_t *marked;			/* history buckets marked per type */
	double *factor;			/* per step ahead, product of applied lifts */
};

static void
event_plan_free(struct event_plan *ep)
{
	free(ep->mask);
	free(ep->any);
	free(ep->profile);
	free(ep->marked);
	free(ep->factor);
}

/*
 * Mark every event type's windows on the grid of s, and estimate each
 * type's lift profile from its past windows.  Returns -1 when memory runs
 * out.
 */
static int
event_plan_build(struct event_plan *ep, const struct pa_fc_events *ev,
		 const struct pa_fc_series *s, const double *volume, size_t n, pa_usec_t first,
		 size_t horizon, size_t period, size_t period2, double level)
{
	memset(ep, 0, sizeof *ep);
	ep->ntypes = ev->ntypes;
	ep->total = n + horizon;
	ep->mask = calloc(ep->ntypes * ep->total, 1);
	ep->any = calloc(ep->total, 1);
	ep->profile = calloc(ep->ntypes, sizeof *ep->profile);
	ep->marked = calloc(ep->ntypes, sizeof *ep->marked);
	ep->factor = malloc(horizon * sizeof *ep->factor);
	if (ep->mask == NULL || ep->any == NULL || ep->profile == NULL || ep->marked == NULL ||
	    ep->factor == NULL)
		return -1;

	for (size_t t = 0; t < ep->ntypes; t++) {
		unsigned char *m = ep->mask + t * ep->total;

		/* A trend stream is a regressor, not a set of windows. */
		if (pa_fc_event_is_stream(ev, ev->types[t]))
			continue;
		pa_fc_event_mask(ev, ev->types[t], s->tenant, s->service, first, s->step,
				 ep->total, m);
		for (size_t i = 0; i < ep->total; i++) {
			ep->any[i] |= m[i] != 0;
			if (i < n)
				ep->marked[t] += m[i] != 0;
		}
	}
	for (size_t t = 0; t < ep->ntypes; t++)
		if (ep->marked[t])
			ep->profile[t] = pa_fc_event_profile(volume, n, ep->mask + t * ep->total,
							     ep->any, period, period2, level);
	return 0;
}

/*
 * Return 1 when a lift is applied to forecasts: it has an interval (two or
 * more past windows) and the interval excludes 1.  A lift that the past
 * windows do not separate from no effect would only add noise.
 */
static int
lift_applies(const struct pa_fc_lift *l)
{
	return l->windows >= 2 && (l->lower > 1 || l->upper < 1);
}

/* The bins of a lift profile that past windows reached, as an array of objects. */
static json_t *
profile_json(const struct pa_fc_profile *p, double step_s, double level)
{
	json_t *list = json_array();

	for (size_t b = 0; b < p->nbins; b++) {
		json_t *bin = json_object();
		double lower, upper;

		pa_fc_profile_prediction(p, b, level, &lower, &upper);
		pa_rec_set_num(bin, "offset_s", (double)pa_fc_profile_bin_start(b) * step_s);
		pa_rec_set_num(bin, "lift", p->bin[b].lift);
		pa_rec_set_num(bin, "lift_lower", p->bin[b].lower);
		pa_rec_set_num(bin, "lift_upper", p->bin[b].upper);
		pa_rec_set_num(bin, "prediction_lower", lower);
		pa_rec_set_num(bin, "prediction_upper", upper);
		pa_rec_set_num(bin, "windows", (double)p->bin[b].windows);
		json_array_append_new(list, bin);
	}
	return list;
}

static void
write_event_effects(const struct pa_fc_series *s, const struct pa_fc_events *ev,
		    const struct event_plan *ep, double level)
{
	double step_s = (double)s->step / PA_USEC_PER_SEC;

	for (size_t t = 0; t < ep->ntypes; t++) {
		const struct pa_fc_profile *p = &ep->profile[t];
		const struct pa_fc_lift *l = &p->whole;
		json_t *rec;

		if (l->windows == 0)
			continue;
		rec = json_object();
		json_object_set_new(rec, "kind", json_string("event_effect"));
		json_object_set_new(rec, "event_type", json_string(ev->types[t]));
		json_object_set_new(rec, "tenant_service_name", json_string(s->name));
		json_object_set_new(rec, "tenant", json_string(s->tenant));
		json_object_set_new(rec, "service", json_string(s->service));
		pa_rec_set_num(rec, "lift", l->lift);
		pa_rec_set_num(rec, "lift_lower", l->lower);
		pa_rec_set_num(rec, "lift_upper", l->upper);
		pa_rec_set_num(rec, "interval_level", level);
		pa_rec_set_num(rec, "lag_steps", 0);
		pa_rec_set_num(rec, "windows", (double)l->windows);
		json_object_set_new(rec, "applied", json_boolean(lift_applies(l)));
		json_object_set_new(rec, "profile", profile_json(p, step_s, level));
		pa_out_json(rec);
		json_decref(rec);
	}
}

/*
 * Multiply the volume forecast inside future event windows by the lift of
 * each type that applies, taken from its profile at the bucket's offset in
 * the window.  The bounds widen by the profile's prediction interval there
 * at the forecast's level, the spread of single past windows, so the
 * interval widens where past windows varied.  The forecast's own error and
 * the window's are independent, so their log half-widths add in
 * quadrature.  Multiplying the bounds would stack one 95% interval on
 * another.  Like any mapped bound, the upper one stops at 10 times the
 * history's largest count plus 1.
 */
static void
apply_event_lifts(struct event_plan *ep, const double *y, size_t n, struct pa_fc_result *vol,
		  double level)
{
	double cap = 0;

	for (size_t i = 0; i < n; i++)
		if (!isnan(y[i]) && y[i] > cap)
			cap = y[i];
	cap = 10 * (cap + 1);

	for (size_t k = 0; k < vol->horizon; k++) {
		double f = 1, wlo = 0, whi = 0, mean = vol->mean[k], lo, hi;

		for (size_t t = 0; t < ep->ntypes; t++) {
			const unsigned char *m = ep->mask + t * ep->total;
			const struct pa_fc_profile *p = &ep->profile[t];
			double lower, upper;
			size_t b;

			if (!m[n + k] || !lift_applies(&p->whole))
				continue;
			b = pa_fc_profile_bin(pa_fc_event_offset(m, n + k));
			pa_fc_profile_prediction(p, b, level, &lower, &upper);
			f *= p->bin[b].lift;
			/* A bin without a prediction interval widens nothing. */
			if (lower > 0 && lower < p->bin[b].lift)
				wlo += pow(log(p->bin[b].lift / lower), 2);
			if (upper > p->bin[b].lift)
				whi += pow(log(upper / p->bin[b].lift), 2);
		}
		ep->factor[k] = f;
		if (f == 1 && wlo == 0 && whi == 0)
			continue;

		/* Half-widths on the log scale, about the point forecast. */
		lo = mean > 0 && vol->lower[k] > 0 ? log(mean / vol->lower[k]) : HUGE_VAL;
		hi = mean > 0 && vol->upper[k] > mean ? log(vol->upper[k] / mean) : 0;
		vol->mean[k] = mean * f;
		if (mean > 0) {
			vol->lower[k] = lo < HUGE_VAL ? vol->mean[k] * exp(-sqrt(lo * lo + wlo)) : 0;
			vol->upper[k] = vol->mean[k] * exp(sqrt(hi * hi + whi));
		} else {
			vol->upper[k] *= f * exp(sqrt(whi));
		}
		if (vol->upper[k] > cap && cap > vol->mean[k])
			vol->upper[k] = cap;
	}
}

/* Choice of fit for a series with a state entry in this update. */
struct warm_plan {
	const json_t *entry;	/* the series' entry before this update, or NULL */
	int keep;		/* 1: forecast with the kept choice */
	char reason[240];	/* why a full fit runs although there is an entry */
	long updates;		/* updates with kept parameters, this one included */
	pa_usec_t fitted_end;
	json_t *vol_outside, *cx_outside;	/* new references, or NULL */
};

/* Return 1 when the entry's fit options are the ones of this update. */
static int
fit_matches(const json_t *fit, const struct pa_fc_run_opts *o, size_t p1, size_t p2)
{
	const json_t *levels = json_object_get(fit, "levels");
	const char *model = json_string_value(json_object_get(fit, "model"));
	const char *transform = json_string_value(json_object_get(fit, "transform"));

	if (model == NULL || strcmp(model, o->model) != 0 || transform == NULL ||
	    strcmp(transform, pa_fcstate_transform_name(o->transform)) != 0 ||
	    json_integer_value(json_object_get(fit, "period_steps")) != (json_int_t)p1 ||
	    json_integer_value(json_object_get(fit, "period2_steps")) != (json_int_t)p2 ||
	    !json_is_array(levels) || json_array_size(levels) != o->nlevels)
		return 0;
	for (size_t i = 0; i < o->nlevels; i++)
		if (fabs(json_number_value(json_array_get(levels, i)) - o->level[i]) > 1e-9)
			return 0;
	return 1;
}

/* Write the drift finding for one measure into buf when it calls for a refit. */
static int
drifted(const struct pa_fc_run_opts *o, const json_t *outside, const char *measure, char *buf,
	size_t size)
{
	size_t misses, scored;
	double p = pa_fcstate_drift_p(outside, o->level[0], &misses, &scored);

	if (o->drift <= 0 || p >= o->drift)
		return 0;
	snprintf(buf, size, "drift in %s, %zu of the last %zu actuals outside the %g%% interval "
		 "(p = %.2g)", measure, misses, scored, o->level[0] * 100, p);
	return 1;
}

/*
 * Score the forecasts kept for s against the actuals that arrived since,
 * and decide between the kept choice and a full fit.  A full fit runs
 * without an entry, when the options, the horizon or the supported seasons
 * changed, on the --refit-every schedule, and when either measure drifted.
 */
static void
plan_fit(const struct pa_fc_run_opts *o, const struct pa_fc_series *s,
	 const struct pa_fc_grid *g, size_t p1, size_t p2, size_t horizon, pa_usec_t issued,
	 struct warm_plan *wp)
{
	const json_t *fit;
	long updates;
	pa_usec_t fitted_end = 0;
	char step[32];

	memset(wp, 0, sizeof *wp);
	wp->fitted_end = issued;
	if (o->state == NULL)
		return;
	wp->entry = json_object_get(json_object_get(o->state, "series"), s->name);
	if (wp->entry == NULL || !s->has_kept)
		return;
	wp->vol_outside = pa_fcstate_score(json_object_get(wp->entry, "volume"), g->volume, g->n,
					   g->first, s->step, s->kept_last);
	wp->cx_outside = pa_fcstate_score(json_object_get(wp->entry, "complexity"), g->complexity,
					  g->n, g->first, s->step, s->kept_last);
	fit = json_object_get(wp->entry, "fit");
	updates = (long)json_integer_value(json_object_get(fit, "updates"));
	pa_rec_time(fit, "fitted_end", &fitted_end);

	if (!fit_matches(fit, o, p1, p2)) {
		snprintf(wp->reason, sizeof wp->reason,
			 "options or supported seasons differ from the kept fit");
	} else if (json_object_get(fit, "horizon_steps") != NULL &&
		   json_integer_value(json_object_get(fit, "horizon_steps")) != (json_int_t)horizon) {
		/* The automatic choice is made on hold-out origins one horizon long. */
		snprintf(wp->reason, sizeof wp->reason, "the horizon of %zu step%s differs from the "
			 "kept fit's %lld", horizon, horizon == 1 ? "" : "s",
			 (long long)json_integer_value(json_object_get(fit, "horizon_steps")));
	} else if (o->refit_span == 0 && updates >= o->refit_every) {
		snprintf(wp->reason, sizeof wp->reason, "%ld update%s since the last full fit "
			 "(see --refit-every)", updates, updates == 1 ? "" : "s");
	} else if (o->refit_span > 0 && issued - fitted_end >= o->refit_span) {
		snprintf(wp->reason, sizeof wp->reason, "%s of history since the last full fit "
			 "(see --refit-every)", pa_fc_format_step(issued - fitted_end, step, sizeof step));
	} else if (!drifted(o, wp->vol_outside, "volume", wp->reason, sizeof wp->reason) &&
		   !drifted(o, wp->cx_outside, "complexity", wp->reason, sizeof wp->reason)) {
		/* A run that brought no bucket after the kept history is no update. */
		wp->keep = 1;
		wp->updates = issued - s->step > s->kept_last ? updates + 1 : updates;
		wp->fitted_end = fitted_end;
		return;
	}
	/* A full fit starts the drift check afresh. */
	json_decref(wp->vol_outside);
	json_decref(wp->cx_outside);
	wp->vol_outside = wp->cx_outside = NULL;
}

/* The kept choice for one measure and level, or NULL. */
static const char *
kept_spec(const struct warm_plan *wp, const char *measure, size_t l)
{
	if (!wp->keep)
		return NULL;
	return json_string_value(json_array_get(
		json_object_get(json_object_get(wp->entry, measure), "spec"), l));
}

/* Return 1 when every result of the nres ran on the kept choice. */
static int
all_reused(const struct pa_fc_result *r, size_t nres)
{
	for (size_t l = 0; l < nres; l++)
		if (!r[l].reused)
			return 0;
	return 1;
}

/*
 * Return 1 when one measure's nres results count as kept: they ran on the
 * kept choice, or the history y[0..n) is flat and needed no choice.
 * Otherwise write why into wp->reason (when wp->keep is set) and warn
 * when a kept choice was stored but could not be used.
 */
static int
measure_kept(const struct pa_fc_series *s, struct warm_plan *wp, const char *measure,
	     const struct pa_fc_result *r, size_t nres, const double *y, size_t n)
{
	const char *spec = kept_spec(wp, measure, 0);
	const char *last_model, *failed = NULL;

	if (all_reused(r, nres) || pa_fc_is_flat(y, n))
		return 1;
	if (!wp->keep)
		return 0;
	last_model = json_string_value(json_object_get(json_object_get(wp->entry, measure),
						       "model"));
	for (size_t i = 0; i < nres; i++)
		if (r[i].reuse_failed[0] != '\0')
			failed = r[i].reuse_failed;
	if (spec != NULL && spec[0] != '\0' && failed != NULL) {
		/* A kept model can go wrong on newer history, as any fit can, so this is a refit reason. */
		snprintf(wp->reason, sizeof wp->reason, "the kept %s choice failed on this history "
			 "(%s)", measure, failed);
	} else if (spec != NULL && spec[0] != '\0') {
		/*
		 * The library searches afresh when the kept choice does not
		 * decode or no longer runs.  A state file edited by hand can
		 * cause that, so the message is written even without -v.
		 */
		snprintf(wp->reason, sizeof wp->reason, "the kept %s choice could not be used",
			 measure);
		pa_warn("%s: the %s choice kept from the last full fit (%s) does not decode or "
			"no longer runs on this history, so a full fit replaces it", s->name, measure,
			pa_quote(spec, strlen(spec)));
	} else if (last_model != NULL && strncmp(last_model, "naive", 5) == 0) {
		/*
		 * Naive is what a flat history, a history too short to compare
		 * models or a failed model leaves: no choice was made.
		 */
		snprintf(wp->reason, sizeof wp->reason, "the last full fit made no %s choice to "
			 "keep: it ran %s, as on a flat or too short history or after a model "
			 "failed, and this history varies", measure, last_model);
	} else if (last_model != NULL) {
		snprintf(wp->reason, sizeof wp->reason, "the state file keeps no %s choice for its "
			 "last %s model, %s, because that history was too short to compare models "
			 "or the file was written before such choices were kept",
			 measure, measure, last_model);
	} else {
		snprintf(wp->reason, sizeof wp->reason, "no %s choice was kept", measure);
	}
	return 0;
}

/* Replace the state entry of s after this update. */
static void
record_state(const struct pa_fc_run_opts *o, const struct pa_fc_series *s,
	     const struct pa_fc_grid *g, size_t keep_from, size_t p1, size_t p2, size_t horizon,
	     pa_usec_t issued, struct warm_plan *wp, const struct pa_fc_result *vol,
	     const struct pa_fc_result *cx)
{
	struct pa_fcstate_update u = {
		.series = s, .grid = g, .keep_from = keep_from, .model = o->model,
		.level = o->level, .nlevels = o->nlevels, .period = p1, .period2 = p2,
		.horizon = horizon, .transform = o->transform, .updates = wp->keep ? wp->updates : 0,
		.fitted_end = wp->keep ? wp->fitted_end : issued, .issued = issued,
		.volume = vol, .complexity = cx, .volume_outside = wp->vol_outside,
		.complexity_outside = wp->cx_outside,
	};
	json_t *entry;

	wp->vol_outside = wp->cx_outside = NULL;	/* stolen by pa_fcstate_entry */
	entry = pa_fcstate_entry(&u);
	if (entry == NULL) {
		pa_warn("%s: out of memory for the state entry, the old one is kept", s->name);
		return;
	}
	json_object_set_new(json_object_get(o->state, "series"), s->name, entry);
}

/*
 * Keep the part of the only bucket of new series s in the state file,
 * with an empty window, so that a later run adds the rest of the bucket
 * to it.  The series has no known count to forecast from yet.
 */
static void
keep_part_only(const struct pa_fc_series *s, const struct pa_fc_run_opts *o,
	       struct pa_fc_grid *g)
{
	struct warm_plan wp = { 0 };
	size_t horizon = o->horizon ? (size_t)((o->horizon + s->step - 1) / s->step)
				    : (size_t)o->horizon_steps;
	char at[40];

	pa_warn("%s: no forecast, because its only bucket, at %s, is a part that the input "
		"began or ended inside, so the state file keeps that part for the next run to add "
		"the rest to", s->name, pa_time_format(g->first, at, sizeof at));
	g->n = 0;
	record_state(o, s, g, 0, 0, 0, horizon, g->first, &wp, NULL, NULL);
}

/*
 * Name the count records from first to last that a gap longer than
 * --max-fill cut off on side ("after" or "before" them).  The message
 * starts with the input and line of the first of them, when it has one:
 * a bucket kept in the state file (kept set) has none.
 */
static void
warn_cut(const struct pa_fc_series *s, const struct pa_fc_run_opts *o, const char *stepbuf,
	 size_t count, pa_usec_t first, pa_usec_t last, const char *input, size_t line, int kept,
	 const char *side)
{
	char a[40], b[40], span[120], where[300] = "";
	int single = count == 1;

	if (input != NULL && line > 0)
		snprintf(where, sizeof where, "%s:%zu: ", input, line);
	else if (input != NULL)
		snprintf(where, sizeof where, "%s: ", input);
	if (single)
		snprintf(span, sizeof span, "1 bucket record at %s", pa_time_format(first, a, sizeof a));
	else
		snprintf(span, sizeof span, "%zu bucket records from %s to %s%s", count,
			 pa_time_format(first, a, sizeof a), pa_time_format(last, b, sizeof b),
			 where[0] ? ", the first on this line," : kept ? ", the first kept in the "
								 "state file," : "");
	pa_warn("%s%s: %s left out, because more than %zu buckets of %s are missing %s %s (is a "
		"timestamp wrong? see --max-fill); %s valid, so %s not written to --rejects",
		where, s->name, span, o->max_fill, stepbuf, side, single ? "it" : "them",
		single ? "it is" : "they are", single ? "it is" : "they are");
}

/*
 * The notes on quiet tails and gaps name the first GAP_NOTES_SHOWN series
 * of each kind, and pa_fc_gap_notes_finish() counts the rest.  A log
 * whose scanner paths became services would otherwise print a line per
 * path on every run.  -v names them all, and so does --follow, which has
 * no end to count at.
 */
#define GAP_NOTES_SHOWN 5
static size_t quiet_tails, quiet_tails_folded, gapped, gapped_folded;

void
pa_fc_gap_notes_finish(const struct pa_fc_run_opts *o)
{
	if (quiet_tails_folded)
		pa_warn("%zu more series with no bucket in their last steps before the end of "
			"input, read as %s (-v names them)", quiet_tails_folded,
			o->gaps_unknown ? "unknown" : "0 requests");
	if (gapped_folded)
		pa_warn("%zu more series with buckets missing in gaps, read as %s (-v names them)",
			gapped_folded, o->gaps_unknown ? "unknown" : "0 requests");
	quiet_tails = quiet_tails_folded = gapped = gapped_folded = 0;
}

/* Lay s on its grid and report the buckets that no record filled. */
static int
lay_out(struct pa_fc_series *s, const struct pa_fc_run_opts *o, pa_usec_t limit,
	struct pa_fc_grid *g)
{
	char stepbuf[32];
	size_t missing;

	pa_fc_format_step(s->step, stepbuf, sizeof stepbuf);
	if (pa_fc_series_regular(s, o->gaps_unknown, limit, o->max_fill, g) != 0) {
		pa_warn("%s: more than %d buckets of %s between the first and last bucket, series skipped",
			s->name, PA_FC_MAX_BUCKETS, stepbuf);
		return -1;
	}
	if (g->cut_before)
		warn_cut(s, o, stepbuf, g->cut_before, g->cut_first, g->cut_gap_from,
			 g->cut_first_input, g->cut_first_line, g->cut_first_kept, "after");
	if (g->cut_after)
		warn_cut(s, o, stepbuf, g->cut_after, g->cut_gap_to, g->cut_last,
			 g->cut_gap_to_input, g->cut_gap_to_line, g->cut_gap_to_kept, "before");
	if (g->cut_trailing) {
		char last[40];

		pa_warn("%s: its last bucket, at %s, is %zu steps of %s before the end of input, "
			"more than --max-fill, so it is forecast from there, not from the end",
			s->name, pa_time_format(g->first + (pa_usec_t)(g->n - 1) * s->step, last,
						sizeof last), g->cut_trailing, stepbuf);
	}
	if (g->repeats) {
		char at[40];

		pa_warn("%s: %zu bucket record%s equal to another with the same start, the first at "
			"%s, added to it as parts of one bucket; if an input was read twice, its "
			"counts are doubled", s->name, g->repeats, g->repeats == 1 ? "" : "s",
			pa_time_format(g->repeat_first, at, sizeof at));
	}
	if (g->holed) {
		char at[40], from[40], to[40];

		pa_warn("%s: no part of the bucket at %s covers %s to %s, too long a stretch to be "
			"quiet at the rate of requests around it (a missing piece of input?), so it is "
			"unknown%s", s->name, pa_time_format(g->holed_ts, at, sizeof at),
			pa_time_format(g->holed_ts + g->holed_from, from, sizeof from),
			pa_time_format(g->holed_ts + g->holed_to, to, sizeof to),
			g->holed > 1 ? ", as are later ones" : "");
	}
	if (g->reread) {
		char at[40];

		pa_warn("%s: this input covers again the time of the part of the bucket at %s kept "
			"from the last run (%g to %g s), as a rerun of an input does, so its records "
			"replace that part instead of adding to it", s->name,
			pa_time_format(g->reread_ts, at, sizeof at),
			(double)g->reread_from / PA_USEC_PER_SEC, (double)g->reread_to / PA_USEC_PER_SEC);
	}
	if (g->split) {
		char at[40];

		pa_warn("%s: %zu bucket%s read both as a whole record and as a part (covered_s), "
			"the first at %s: they are added, as the rollups of several machines' logs "
			"are, so a log given both as a whole rollup and as a cut one counts its "
			"requests twice (give one of them)", s->name, g->split,
			g->split == 1 ? "" : "s", pa_time_format(g->split_ts, at, sizeof at));
	}
	if (g->unfinished) {
		char at[40];

		pa_warn("%s: the part of the bucket at %s kept from the last run (it covers %g s of %s) got no "
			"rest from this input, so it is unknown%s", s->name,
			pa_time_format(g->unfinished_ts, at, sizeof at),
			(double)g->unfinished_covered / PA_USEC_PER_SEC, stepbuf,
			g->unfinished > 1 ? ", as are later ones" : "");
	}
	missing = g->missing;
	if (g->trailing && !o->verbose && !o->follow && quiet_tails++ >= GAP_NOTES_SHOWN) {
		quiet_tails_folded++;
		missing -= g->trailing;
	} else if (g->trailing) {
		char from[40];

		char partly[120] = "", at[40];

		if (g->trailing_unknown && !o->gaps_unknown)
			snprintf(partly, sizeof partly, " except from %s on, unknown because the input "
				 "ended inside that bucket", pa_time_format(s->partial_end, at, sizeof at));
		pa_warn("%s: no bucket in the last %zu step%s of %s before the end of input at "
			"%s, read as %s%s (see --no-align-end)", s->name, g->trailing,
			g->trailing == 1 ? "" : "s", stepbuf,
			pa_time_format(g->first + (pa_usec_t)(g->n - 1) * s->step, from, sizeof from),
			o->gaps_unknown ? "unknown" : "0 requests", partly);
		missing -= g->trailing;
	}
	if (missing && !o->verbose && !o->follow && gapped++ >= GAP_NOTES_SHOWN) {
		gapped_folded++;
	} else if (missing) {
		char from[40], to[40];

		pa_warn("%s: %zu bucket%s of %s missing in %zu gap%s, %s from %s to %s, read as %s",
			s->name, missing, missing == 1 ? "" : "s", stepbuf, g->gaps,
			g->gaps == 1 ? "" : "s", g->gaps == 1 ? "the gap" : "the first",
			pa_time_format(g->first + (pa_usec_t)g->gap_from * s->step, from, sizeof from),
			pa_time_format(g->first + (pa_usec_t)g->gap_to * s->step, to, sizeof to),
			o->gaps_unknown ? "unknown" : "0 requests (see --gaps)");
	}
	return 0;
}

/*
 * Counts are never forecast below zero, so a model that runs below zero
 * is written as 0.  On a series whose recent buckets all stayed well
 * above zero, such as additive Holt-Winters swinging through a trough,
 * that 0 is the model's failure rather than a forecast.  Nothing in the
 * record shows it, so the steps are named on stderr.
 */
static void
warn_zero_forecast(const struct pa_fc_series *s, const double *volume, size_t n, size_t period,
		   const struct pa_fc_result *r)
{
	size_t recent = period > 24 ? period : 24, zeros = 0, first = 0;
	double least = HUGE_VAL;

	for (size_t t = n > recent ? n - recent : 0; t < n; t++)
		if (!isnan(volume[t]) && volume[t] < least)
			least = volume[t];
	if (!(least >= 1) || least == HUGE_VAL)
		return;
	for (size_t k = r->horizon; k-- > 0;) {
		if (r->mean[k] == 0) {
			zeros++;
			first = k;
		}
	}
	if (zeros > 0)
		pa_warn("%s: volume: %s forecasts 0 at %zu of %zu steps, the first %zu ahead, where "
			"the last %zu buckets never went below %g; a transform (--transform log1p) "
			"or another model may suit the series", s->name, r->model, zeros, r->horizon,
			first + 1, n < recent ? n : recent, least);
}

int
pa_fc_emit_series(struct pa_fc_series *s, const struct pa_fc_run_opts *o, pa_usec_t limit)
{
	struct event_plan ep = { 0 };
	struct pa_fc_grid g;
	struct warm_plan wp = { 0 };
	struct pa_fc_regressor_plan rp = { 0 };
	int have_events = o->events && o->events->ntypes > 0;
	double *fit = NULL;
	double *volume, *complexity;
	size_t n, horizon, p1, p2, p1_all, p2_all, keep_from, window;
	pa_usec_t first, issued, issued_at;
	struct pa_fc_opts fo;
	struct pa_fc_result vol[PA_FC_LEVELS_MAX], cx[PA_FC_LEVELS_MAX];
	size_t nvol = 0, ncx = 0;
	char perbuf[32], period_note[160] = "";
	char vol_model[MODEL_TEXT_MAX], cx_model[MODEL_TEXT_MAX];
	const char *fit_label = NULL;
	size_t known, i, max_lag;
	int have_cx, by_regression = 0, rc = 0;

	if (lay_out(s, o, limit, &g) != 0)
		return 1;
	volume = g.volume;
	complexity = g.complexity;
	n = g.n;
	first = g.first;
	issued = first + (pa_usec_t)n * s->step;
	issued_at = issued;

	/*
	 * The last bucket, which the input ended inside, is forecast rather
	 * than left behind: the forecasts start at it and are issued where
	 * the input ended, so that pa-plan plans from that time, beside the
	 * usage sampled with the log.  Its part waits in g for later parts,
	 * and the kept window ends before it, because the state file keeps
	 * that part as the bucket after the window.  That holds for a part
	 * that begins inside the bucket too, such as a quiet hour's log whose
	 * requests all fall inside one bucket.
	 */
	if (n > 1 && isnan(volume[n - 1])) {
		pa_usec_t last = first + (pa_usec_t)(n - 1) * s->step, end = 0;

		if (g.pending && g.pending_ts == last)
			end = last + g.pending_to;
		else if (s->has_partial_end && last >= s->partial_end)
			end = s->partial_end_at;
		if (end > last) {
			g.n = --n;
			issued = last;
			issued_at = end;
		}
	}

	for (known = 0, i = 0; i < n; i++)
		known += !isnan(volume[i]);
	if (known == 0 && o->state != NULL && n == 1 && !s->has_kept && g.pending &&
	    g.pending_ts == first) {
		keep_part_only(s, o, &g);
		rc = 1;
		goto done;
	}
	if (known == 0) {
		pa_warn("%s: no forecast: no known request count in %zu bucket%s", s->name, n,
			n == 1 ? "" : "s");
		rc = 1;
		goto done;
	}

	/*
	 * A season needs one full period and one more bucket for the seasonal
	 * naive model, two periods for the fitted ones (the library checks
	 * that).  A season the history cannot support is dropped, and the
	 * record's model field reports it.
	 */
	p1 = p1_all = period_steps(o->period, s->step);
	p2 = p2_all = period_steps(o->period2, s->step);
	for (int k = 0; k < 2 && (!o->follow || o->verbose); k++) {
		pa_usec_t period = k ? o->period2 : o->period;
		char stepbuf[32];

		if (period > 0 && period % s->step != 0)
			pa_warn("%s: --%s %s is not a whole number of steps of %s, forecasting without that season",
				s->name, k ? "period2" : "period",
				pa_fc_format_step(period, perbuf, sizeof perbuf),
				pa_fc_format_step(s->step, stepbuf, sizeof stepbuf));
	}
	if (p1 && n <= p1) {
		snprintf(period_note, sizeof period_note,
			 "history of %zu bucket%s not longer than the period of %s", n,
			 n == 1 ? "" : "s", pa_fc_format_step(o->period, perbuf, sizeof perbuf));
		if (!o->follow || o->verbose)
			pa_warn("%s: %s, forecasting without that season", s->name, period_note);
		p1 = 0;
	}
	if (p2 && pa_fc_supported_period(n, p2) == 0) {
		if (o->period2_explicit && (!o->follow || o->verbose))
			pa_warn("%s: history of %zu buckets shorter than 2 periods of %s, forecasting without that season",
				s->name, n, pa_fc_format_step(o->period2, perbuf, sizeof perbuf));
		p2 = 0;
	}
	if (p1 == 0 && p2) {
		p1 = p2;
		p2 = 0;
	}
	if (p1 && pa_fc_supported_period(n, p1) == 0 && pa_fc_model_needs_two_periods(o->model) &&
	    (!o->follow || o->verbose)) {
		pa_fc_format_step((pa_usec_t)p1 * s->step, perbuf, sizeof perbuf);
		/* Fourier terms without a season are nothing, so fourier falls back to another model. */
		if (strcmp(o->model, "fourier") == 0)
			pa_warn("%s: history of %zu buckets shorter than 2 periods of %s, which fourier needs; "
				"the record's model field names the model that forecasts instead",
				s->name, n, perbuf);
		else
			pa_warn("%s: history of %zu buckets shorter than 2 periods of %s, %s forecasts without that season",
				s->name, n, perbuf, o->model);
	}

	horizon = o->horizon ? (size_t)((o->horizon + s->step - 1) / s->step)
			     : (size_t)o->horizon_steps;
	pa_fc_opts_default(&fo);
	fo.model = o->model;
	fo.period = p1;
	fo.period2 = p2;
	fo.transform = o->transform;
	plan_fit(o, s, &g, p1, p2, horizon, issued, &wp);

	/*
	 * Past windows of the event types whose lift is applied are left out
	 * of the fit, so the model learns the usual pattern and the lift is
	 * not counted twice.  Other windows stay: a type whose effect is not
	 * clear is part of the usual pattern.
	 */
	if (have_events) {
		size_t left = 0;

		if (event_plan_build(&ep, o->events, s, volume, n, first, horizon,
				     p1 ? p1 : p2, p1 ? p2 : 0, o->level[0]) != 0 ||
		    (fit = malloc(n * sizeof *fit)) == NULL) {
			pa_warn("%s: out of memory for event windows, series skipped", s->name);
			rc = 1;
			goto done;
		}
		for (i = 0; i < n; i++) {
			int applied = 0;

			for (size_t t = 0; t < ep.ntypes; t++)
				applied |= ep.mask[t * ep.total + i] && lift_applies(&ep.profile[t].whole);
			fit[i] = applied ? NAN : volume[i];
			left += !isnan(fit[i]);
		}
		if (left < known / 2)
			memcpy(fit, volume, n * sizeof *fit);

		/*
		 * The regression model fits event windows and trend streams as
		 * regressors on the full history instead.
		 */
		max_lag = o->max_lag ? (size_t)((o->max_lag + s->step - 1) / s->step)
				     : o->max_lag_steps ? (size_t)o->max_lag_steps : horizon;
		if (pa_fc_regressors_build(&rp, o->events, s, ep.mask, volume, n, horizon, first,
					   max_lag) != 0) {
			pa_warn("%s: out of memory for regressors, series skipped", s->name);
			rc = 1;
			goto done;
		}
		if (rp.rx.count)
			fo.regressors = &rp.rx;
	}

	/*
	 * One fit per level: the point forecast does not depend on the level,
	 * but the hold-out calibration of the interval does.
	 */
	for (nvol = 0; nvol < o->nlevels; nvol++) {
		fo.level = o->level[nvol];
		fo.reuse = kept_spec(&wp, "volume", nvol);
		if (pa_fc_forecast(fit ? fit : volume, n, horizon, &fo, &vol[nvol]) != PA_FC_OK) {
			pa_warn("%s: no forecast: %s", s->name, vol[nvol].reason);
			rc = 1;
			goto done;
		}
	}

	by_regression = pa_fc_regressors_used(&rp, &vol[0]);

	fo.regressors = NULL;
	fo.counts = 0;
	fo.transform = PA_FC_TRANSFORM_NONE;
	have_cx = 1;
	for (ncx = 0; have_cx && ncx < o->nlevels; ncx++) {
		fo.level = o->level[ncx];
		fo.reuse = kept_spec(&wp, "complexity", ncx);
		if (pa_fc_forecast(complexity, n, horizon, &fo, &cx[ncx]) != PA_FC_OK)
			have_cx = 0;
	}
	if (!have_cx)
		ncx--;

	/*
	 * A named model keeps no choice, so it is fitted on every update.  A
	 * flat history needs none and counts as kept.
	 */
	if (o->state != NULL) {
		int named = strcmp(o->model, "auto") != 0;

		if (named && wp.keep) {
			fit_label = "full";
		} else if (measure_kept(s, &wp, "volume", vol, nvol, fit ? fit : volume, n) &&
			   (!have_cx || measure_kept(s, &wp, "complexity", cx, ncx, complexity, n))) {
			fit_label = wp.keep ? "kept" : "full";
		} else {
			fit_label = "full";
		}
		if (strcmp(fit_label, "full") == 0) {
			wp.keep = 0;
			json_decref(wp.vol_outside);
			json_decref(wp.cx_outside);
			wp.vol_outside = wp.cx_outside = NULL;
		}
		if (o->verbose && named && wp.reason[0] == '\0')
			pa_warn("%s: full fit, --model %s keeps no choice", s->name, o->model);
		else if (o->verbose)
			pa_warn("%s: %s%s%s", s->name,
				wp.keep ? "forecast with the kept parameters" : "full fit",
				wp.reason[0] ? ", refit: " : "", wp.reason);
	}

	model_text(&vol[0], period_note, vol_model, sizeof vol_model);
	if (have_cx)
		model_text(&cx[0], period_note, cx_model, sizeof cx_model);
	else
		snprintf(cx_model, sizeof cx_model, "none; no complexity in the history, 1.0 assumed");
	/*
	 * A rejected forecast is named on stderr too: the model ran, so
	 * nothing else shows that its numbers were dropped.
	 */
	if (!o->follow || o->verbose) {
		warn_zero_forecast(s, volume, n, p1, &vol[0]);
		if (vol[0].out_of_range)
			pa_warn("%s: volume: %s, forecasting with %s", s->name, vol[0].reason,
				vol[0].model);
		if (have_cx && cx[0].out_of_range)
			pa_warn("%s: complexity: %s, forecasting with %s", s->name, cx[0].reason,
				cx[0].model);
	}
	/*
	 * Without a state every forecast is a full fit, so what -v can tell is
	 * why the model was chosen: the hold-out that picked it and the
	 * factor that calibrated its interval.
	 */
	if (o->verbose && o->state == NULL && !vol[0].fallback && vol[0].reason[0])
		pa_warn("%s: volume: %s: %s", s->name, vol[0].model, vol[0].reason);
	if (o->verbose && o->state == NULL && have_cx && !cx[0].fallback && cx[0].reason[0])
		pa_warn("%s: complexity: %s: %s", s->name, cx[0].model, cx[0].reason);
	if (wp.reason[0]) {
		size_t used = strlen(vol_model);

		snprintf(vol_model + used, sizeof vol_model - used, "; refit: %s", wp.reason);
		used = strlen(cx_model);
		snprintf(cx_model + used, sizeof cx_model - used, "; refit: %s", wp.reason);
	}

	/* A regression forecast contains the event effects already. */
	for (size_t l = 0; have_events && !by_regression && l < nvol; l++)
		apply_event_lifts(&ep, volume, n, &vol[l], o->level[l]);
	write_records(s, issued, issued_at, horizon, o, vol, vol_model, have_cx ? cx : NULL, cx_model,
		      have_events && !by_regression ? ep.factor : NULL, fit_label);
	if (by_regression)
		pa_fc_regressors_write(&rp, o->events, s, &vol[0], o->level[0]);
	else if (have_events)
		write_event_effects(s, o->events, &ep, o->level[0]);

	/*
	 * The window never shrinks: a run with a shorter horizon keeps the
	 * history a longer one needs, so switching back does not lose it.
	 */
	window = pa_fcstate_window(p1_all, p2_all, horizon);
	if (wp.entry != NULL && pa_fcstate_numbers_count(json_object_get(wp.entry, "requests")) > window)
		window = pa_fcstate_numbers_count(json_object_get(wp.entry, "requests"));
	keep_from = n - (n < window ? n : window);
	if (o->state != NULL)
		record_state(o, s, &g, keep_from, p1, p2, horizon, issued, &wp, vol,
			     have_cx ? cx : NULL);
	if (o->follow && pa_fc_series_keep(s, &g, keep_from, limit) != 0)
		pa_warn("%s: out of memory trimming the kept history", s->name);
	s->has_kept = 1;
	/* A forecast partial bucket counts as read: only later buckets forecast anew. */
	s->kept_last = issued_at > issued ? issued : issued - s->step;
done:
	json_decref(wp.vol_outside);
	json_decref(wp.cx_outside);
	for (size_t l = 0; l < nvol; l++)
		pa_fc_result_free(&vol[l]);
	for (size_t l = 0; l < ncx; l++)
		pa_fc_result_free(&cx[l]);
	event_plan_free(&ep);
	pa_fc_regressors_free(&rp);
	free(fit);
	pa_fc_grid_free(&g);
	return rc;
}
