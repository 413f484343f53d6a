/*
 * planconf.c - layered planning settings.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "ndjson.h"
#include "opts.h"
#include "planconf.h"
#include "timeutil.h"

enum key_type { KEY_REAL, KEY_COUNT, KEY_DURATION };

struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	double min, max;	/* accepted range, checked for files and options alike */
	int above_min;		/* the value must be greater than min, not equal to it */
};

#define F(field) offsetof(struct pa_plan_settings, field)

static const struct key keys[] = {
	{ "capacity", KEY_REAL, F(capacity), 0, 1e12, 1 },
	{ "lead_time", KEY_DURATION, F(lead_time_s), 0, 365 * 86400.0, 0 },
	{ "min", KEY_COUNT, F(min_instances), 0, PA_REPLICAS_MAX, 0 },
	{ "max", KEY_COUNT, F(max_instances), 0, PA_REPLICAS_MAX, 0 },
	{ "target_utilization", KEY_REAL, F(target_utilization), 0, 1, 1 },
	{ "risk", KEY_REAL, F(risk), 0, 0.5, 1 },
	{ "on_demand_price", KEY_REAL, F(on_demand_price), 0, 1e9, 0 },
	{ "spot_price", KEY_REAL, F(spot_price), 0, 1e9, 0 },
	{ "spot_interruption", KEY_REAL, F(spot_interruption), 0, 1, 0 },
	{ "on_demand_base", KEY_COUNT, F(on_demand_base), 0, 1e9, 0 },
	{ "on_demand_share", KEY_REAL, F(on_demand_share), 0, 1, 0 },
	{ "stabilization", KEY_DURATION, F(stabilization_s), 0, 365 * 86400.0, 0 },
	{ "scale_up_factor", KEY_REAL, F(scale_up_factor), 0, 1e6, 0 },
	{ "scale_up_step", KEY_COUNT, F(scale_up_step), 0, 1e9, 0 },
	{ "scale_down_step", KEY_COUNT, F(scale_down_step), 0, 1e9, 0 },
};

#define NKEYS (sizeof keys / sizeof keys[0])

const char *const pa_planconf_keys[] = {
	"capacity", "lead_time", "min", "max", "target_utilization", "risk",
	"on_demand_price", "spot_price", "spot_interruption", "on_demand_base",
	"on_demand_share", "stabilization", "scale_up_factor", "scale_up_step",
	"scale_down_step", NULL
};

static const struct key *
find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

void
pa_planconf_init(struct pa_planconf *c)
{
	c->defaults = json_object();
	c->services = json_object();
	c->cli = json_object();
}

void
pa_planconf_free(struct pa_planconf *c)
{
	json_decref(c->defaults);
	json_decref(c->services);
	json_decref(c->cli);
	c->defaults = c->services = c->cli = NULL;
}

void
pa_planconf_set(struct pa_planconf *c, const char *key, const char *option, const char *arg)
{
	const struct key *k = find_key(key);
	double v;

	if (k == NULL)
		pa_die(PA_EXIT_USAGE, "internal error: unknown setting %s", key);
	switch (k->type) {
	case KEY_DURATION:
		v = (double)pa_opt_duration(option, arg, 0, (pa_usec_t)(k->max * PA_USEC_PER_SEC)) /
		    PA_USEC_PER_SEC;
		break;
	case KEY_COUNT:
		v = (double)pa_opt_long(option, arg, (long)k->min, (long)k->max);
		break;
	case KEY_REAL:
	default:
		/* A range open at its minimum gets one message for both ends, checked below. */
		if (k->above_min)
			v = pa_opt_double(option, arg, -HUGE_VAL, HUGE_VAL);
		else
			v = pa_opt_double(option, arg, k->min, k->max);
		break;
	}
	if (k->above_min && !(v > k->min && v <= k->max))
		pa_usage_error("%s must be greater than %g and at most %g, got \"%s\"", option,
			       k->min, k->max, arg);
	json_object_set_new(c->cli, key, json_real(v));
}

/* One value of obj converted by its key's type; -1 with a message when invalid. */
static int
convert(const struct key *k, const json_t *val, double *out, char *err, size_t errsize)
{
	double v;

	if (k->type == KEY_DURATION && json_is_string(val)) {
		pa_usec_t us;

		if (pa_duration_parse(json_string_value(val), &us) != 0) {
			const char *text = json_string_value(val);
			const char *quoted = pa_quote(text, json_string_length(val));
			char problem[200], *end;

			(void)strtod(text, &end);
			if (end != text && *end == '\0')
				snprintf(err, errsize, "\"%s\" %s is a string without a unit: write it "
					 "without quotes for seconds, or add a unit such as s or m",
					 k->name, quoted);
			else
				snprintf(err, errsize, "\"%s\" is not a duration: %s %s", k->name,
					 quoted, pa_duration_problem(text, problem, sizeof problem));
			return -1;
		}
		v = (double)us / PA_USEC_PER_SEC;
	} else if (json_is_number(val)) {
		v = json_number_value(val);
	} else {
		snprintf(err, errsize, "\"%s\" must be a %s", k->name,
			 k->type == KEY_DURATION ? "duration such as \"5m\" or seconds" : "number");
		return -1;
	}
	if (!isfinite(v) || v < k->min || v > k->max) {
		snprintf(err, errsize, "\"%s\" %g is outside %c%g, %g]", k->name, v,
			 k->above_min ? '(' : '[', k->min, k->max);
		return -1;
	}
	if (k->above_min && !(v > k->min)) {
		snprintf(err, errsize, "\"%s\" must be greater than %g, got %g", k->name, k->min, v);
		return -1;
	}
	if (k->type == KEY_COUNT && v != floor(v)) {
		snprintf(err, errsize, "\"%s\" %g is not a whole number", k->name, v);
		return -1;
	}
	*out = v;
	return 0;
}

int
pa_planconf_apply(struct pa_plan_settings *s, const json_t *obj, char *err, size_t errsize)
{
	const char *name;
	json_t *val;

	if (!json_is_object(obj)) {
		snprintf(err, errsize, "settings must be a JSON object");
		return -1;
	}
	json_object_foreach((json_t *)obj, name, val) {
		const struct key *k = find_key(name);
		char *field;
		double v;

		if (k == NULL) {
			snprintf(err, errsize, "unknown setting %s", pa_quote(name, strlen(name)));
			return -1;
		}
		if (convert(k, val, &v, err, errsize) != 0)
			return -1;
		field = (char *)s + k->offset;
		if (k->type == KEY_COUNT)
			*(long *)(void *)field = (long)v;
		else
			*(double *)(void *)field = v;
	}
	return 0;
}

int
pa_planconf_load(struct pa_planconf *c, const char *path, char *err, size_t errsize)
{
	struct pa_plan_settings scratch;
	json_error_t jerr;
	const char *name;
	json_t *root, *val;
	char inner[256];
	FILE *fp;

	/* Opened here, so a missing file is reported with the system's reason. */
	fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(err, errsize, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errsize, "%s:%d: invalid JSON: %s", path,
			 pa_json_file_error_line(fp, &jerr), jerr.text);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	if (!json_is_object(root)) {
		snprintf(err, errsize, "%s: the config must be a JSON object", path);
		goto fail;
	}
	json_object_foreach(root, name, val) {
		if (strcmp(name, "defaults") != 0 && strcmp(name, "services") != 0) {
			snprintf(err, errsize, "%s: unknown top-level key %s (expected \"defaults\" or \"services\")",
				 path, pa_quote(name, strlen(name)));
			goto fail;
		}
	}

	val = json_object_get(root, "defaults");
	if (val != NULL) {
		pa_plan_settings_default(&scratch);
		if (pa_planconf_apply(&scratch, val, inner, sizeof inner) != 0) {
			snprintf(err, errsize, "%s: defaults: %s", path, inner);
			goto fail;
		}
		json_object_update(c->defaults, val);
	}

	val = json_object_get(root, "services");
	if (val != NULL && !json_is_object(val)) {
		snprintf(err, errsize, "%s: \"services\" must be an object keyed by TENANT/SERVICE", path);
		goto fail;
	}
	if (val != NULL) {
		json_t *one;

		json_object_foreach(val, name, one) {
			pa_plan_settings_default(&scratch);
			if (pa_planconf_apply(&scratch, one, inner, sizeof inner) != 0) {
				snprintf(err, errsize, "%s: services %s: %s", path,
					 pa_quote(name, strlen(name)), inner);
				goto fail;
			}
		}
		json_object_update(c->services, val);
	}
	json_decref(root);
	return 0;

fail:
	json_decref(root);
	return -1;
}

int
pa_planconf_settings(const struct pa_planconf *c, const char *name,
		     struct pa_plan_settings *out, char *err, size_t errsize)
{
	const json_t *svc = json_object_get(c->services, name);

	/* Every layer was checked when it was recorded, so apply cannot fail here. */
	pa_plan_settings_default(out);
	if (pa_planconf_apply(out, c->defaults, err, errsize) != 0 ||
	    pa_planconf_apply(out, c->cli, err, errsize) != 0 ||
	    (svc != NULL && pa_planconf_apply(out, svc, err, errsize) != 0))
		return -1;
	return pa_plan_settings_check(out, err, errsize);
}
