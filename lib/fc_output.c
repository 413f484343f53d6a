/*
 * fc_output.c - from a collected series to forecast records.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fc_output.h"
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

static void
write_records(const struct pa_fc_series *s, pa_usec_t issued, size_t horizon, double level,
	      const struct pa_fc_result *vol, const char *vol_model,
	      const struct pa_fc_result *cx, const char *cx_model)
{
	for (size_t k = 0; k < horizon; k++) {
		json_t *rec = json_object();

		json_object_set_new(rec, "kind", json_string("forecast"));
		json_object_set_new(rec, "tenant_service_name", json_string(s->name));
		json_object_set_new(rec, "tenant", json_string(s->tenant));
		json_object_set_new(rec, "service", json_string(s->service));
		pa_rec_set_time(rec, "ts", issued + (pa_usec_t)k * s->step);
		pa_rec_set_num(rec, "step_s", (double)s->step / PA_USEC_PER_SEC);
		pa_rec_set_time(rec, "issued_at", issued);
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
		pa_out_json(rec);
		json_decref(rec);
	}
}

int
pa_fc_emit_series(struct pa_fc_series *s, const struct pa_fc_run_opts *o)
{
	double *volume, *complexity;
	size_t n, missing, horizon, p1, p2;
	pa_usec_t first;
	struct pa_fc_opts fo;
	struct pa_fc_result vol, cx;
	char stepbuf[32], perbuf[32], period_note[160] = "";
	char vol_model[MODEL_TEXT_MAX], cx_model[MODEL_TEXT_MAX];
	size_t known, i;
	int have_cx, rc = 0;

	pa_fc_format_step(s->step, stepbuf, sizeof stepbuf);
	if (pa_fc_series_regular(s, o->gaps_unknown, &volume, &complexity, &n, &first,
				 &missing) != 0) {
		pa_warn("%s: more than %d buckets of %s between the first and last bucket, series skipped",
			s->name, PA_FC_MAX_BUCKETS, stepbuf);
		return 1;
	}
	if (missing) {
		char from[40], to[40];

		pa_warn("%s: %zu buckets of %s missing between %s and %s, read as %s",
			s->name, missing, stepbuf, pa_time_format(first, from, sizeof from),
			pa_time_format(first + (pa_usec_t)(n - 1) * s->step, to, sizeof to),
			o->gaps_unknown ? "unknown" : "0 requests (see --gaps)");
	}

	for (known = 0, i = 0; i < n; i++)
		known += !isnan(volume[i]);
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
	 * record says so.
	 */
	p1 = period_steps(o->period, s->step);
	p2 = period_steps(o->period2, s->step);
	if (p1 && n <= p1) {
		snprintf(period_note, sizeof period_note,
			 "history of %zu bucket%s not longer than the period of %s", n,
			 n == 1 ? "" : "s", pa_fc_format_step(o->period, perbuf, sizeof perbuf));
		pa_warn("%s: %s, forecasting without that season", s->name, period_note);
		p1 = 0;
	}
	if (p2 && pa_fc_supported_period(n, p2) == 0) {
		if (o->period2_explicit)
			pa_warn("%s: history of %zu buckets shorter than 2 periods of %s, forecasting without that season",
				s->name, n, pa_fc_format_step(o->period2, perbuf, sizeof perbuf));
		p2 = 0;
	}
	if (p1 == 0 && p2) {
		p1 = p2;
		p2 = 0;
	}

	horizon = o->horizon ? (size_t)((o->horizon + s->step - 1) / s->step)
			     : (size_t)o->horizon_steps;
	pa_fc_opts_default(&fo);
	fo.model = o->model;
	fo.level = o->level;
	fo.period = p1;
	fo.period2 = p2;
	fo.transform = o->transform;

	if (pa_fc_forecast(volume, n, horizon, &fo, &vol) != PA_FC_OK) {
		pa_warn("%s: no forecast: %s", s->name, vol.reason);
		rc = 1;
		goto done;
	}
	model_text(&vol, period_note, vol_model, sizeof vol_model);

	fo.counts = 0;
	fo.transform = PA_FC_TRANSFORM_NONE;
	have_cx = pa_fc_forecast(complexity, n, horizon, &fo, &cx) == PA_FC_OK;
	if (have_cx)
		model_text(&cx, period_note, cx_model, sizeof cx_model);
	else
		snprintf(cx_model, sizeof cx_model, "none; no complexity in the history, 1.0 assumed");

	write_records(s, first + (pa_usec_t)n * s->step, horizon, o->level, &vol, vol_model,
		      have_cx ? &cx : NULL, cx_model);
	pa_fc_result_free(&vol);
	if (have_cx)
		pa_fc_result_free(&cx);
done:
	free(volume);
	free(complexity);
	return rc;
}
