/*
 * planconf.h - per-service planning settings from options and a JSON file.
 *
 * Layers, each overriding the one before:
 *
 *	1. built-in defaults (pa_plan_settings_default)
 *	2. the config file's "defaults" object
 *	3. command-line options
 *	4. the config file's "services" entry for the tenant service
 *
 * The config file is one JSON object:
 *
 *	{"defaults": {"capacity": 20, "lead_time": "5m"},
 *	 "services": {"shop/api": {"capacity": 50, "min": 2, "max": 40}}}
 *
 * Keys are the long option names with '_' for '-' (see pa_planconf_keys);
 * durations are strings such as "5m" or numbers of seconds.  Unknown keys
 * and wrongly typed values are configuration errors, found at load time.
 */
#ifndef PA_PLANCONF_H
#define PA_PLANCONF_H

#include <jansson.h>

#include "plan.h"

struct pa_planconf {
	json_t *defaults;	/* owned; an empty object when absent */
	json_t *services;	/* owned; an empty object when absent */
	json_t *cli;		/* owned; values from options, set by pa_planconf_set */
};

/* Start with no config file and no options. */
void pa_planconf_init(struct pa_planconf *c);
void pa_planconf_free(struct pa_planconf *c);

/*
 * Record a command-line value for key (e.g. "capacity", "lead_time").
 * arg is parsed by the key's type with the bounded option parsers, so a
 * bad value ends the program with a usage error naming option.
 */
void pa_planconf_set(struct pa_planconf *c, const char *key, const char *option, const char *arg);

/* Load path.  Returns 0, or -1 with the reason in err (exit status 2 territory). */
int pa_planconf_load(struct pa_planconf *c, const char *path, char *err, size_t errsize);

/*
 * Settings for the tenant service name, layered as above and checked with
 * pa_plan_settings_check.  Returns 0, or -1 with the reason in err.
 */
int pa_planconf_settings(const struct pa_planconf *c, const char *name,
			 struct pa_plan_settings *out, char *err, size_t errsize);

/* Apply one JSON object of settings onto s.  Returns 0, or -1 with the reason. */
int pa_planconf_apply(struct pa_plan_settings *s, const json_t *obj, char *err, size_t errsize);

/* NULL-terminated list of the accepted keys, for help text and tests. */
extern const char *const pa_planconf_keys[];

#endif
