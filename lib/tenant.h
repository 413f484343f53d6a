/*
 * tenant.h - choosing tenant and service for each request.
 *
 * A rule names where a value comes from.  The tenant and the service each
 * have a chain of rules tried in order; the first one that gives a
 * non-empty value wins, and a fixed fallback covers the rest.  Rule specs:
 *
 *	host		the Host header, lower case, without the port
 *	subdomain	the first label of a Host with three or more labels
 *	referer		the host of the Referer URL
 *	path[:N]	the Nth path segment (default 1); as a service rule with
 *			N = 1, a request at the site root (/, /favicon.ico)
 *			gives "root"
 *	field:NAME	a field of JSON or CSV input (dots reach nested objects)
 *	regex:SRC:ERE	the first capture group (or the whole match) of a POSIX
 *			extended regex over SRC: host, path, referer, client or
 *			user_agent
 *	value:TEXT	the fixed TEXT; a spec that is none of the above is
 *			taken as a fixed value too
 *
 * Values are cleaned to the characters [A-Za-z0-9._-] (others become "-")
 * and cut to 63 bytes, so they are safe in names and never contain the
 * "/" that separates tenant from service.
 *
 * A map file (--map) then renames whole series: each line is
 * "KEY TENANT/SERVICE", where KEY is a TENANT/SERVICE the rules produced.
 * A KEY whose service part is "*" matches every service of that tenant,
 * and "*" in the value keeps that part as it was.  Lines starting with "#"
 * and blank lines are ignored.
 */
#ifndef PA_TENANT_H
#define PA_TENANT_H

#include <regex.h>
#include <stddef.h>

#include "accesslog.h"

#define PA_NAME_MAX 64		/* tenant or service, with the NUL */
#define PA_MAX_RULES 8
#define PA_MAX_TEMPLATES 64

enum pa_rule_kind {
	PA_RULE_VALUE, PA_RULE_HOST, PA_RULE_SUBDOMAIN, PA_RULE_REFERER,
	PA_RULE_PATH, PA_RULE_FIELD, PA_RULE_REGEX
};

enum pa_rule_source {
	PA_SRC_HOST, PA_SRC_PATH, PA_SRC_REFERER, PA_SRC_CLIENT, PA_SRC_USER_AGENT
};

struct pa_rule {
	enum pa_rule_kind kind;
	char *arg;		/* value text or field name, owned */
	int segment;		/* PA_RULE_PATH: 1-based */
	enum pa_rule_source source;	/* PA_RULE_REGEX */
	regex_t re;
};

/* Looks up a named input field for field: rules; returns NULL when absent. */
typedef const char *(*pa_field_fn)(void *ctx, const char *name, size_t *len);

/* Inputs the rules read for one request. */
struct pa_rule_input {
	struct pa_span host, referer, path, client, user_agent;
	pa_field_fn field;	/* may be NULL for access logs */
	void *field_ctx;
};

struct pa_map_entry {
	char *key;		/* "tenant/service", service may be "*"; owned */
	char tenant[PA_NAME_MAX], service[PA_NAME_MAX];
	long line;		/* line of the map file that set it */
};

struct pa_path_template {
	char *text;		/* "/users/{id}/orders", owned */
	char *copy;		/* the text cut into segments, owned */
	int nseg;
	char *seg[32];		/* segments; "{...}" matches any one segment */
};

struct pa_tenancy {
	struct pa_rule tenant[PA_MAX_RULES], service[PA_MAX_RULES];
	int ntenant, nservice;
	int custom[2];		/* a tenant (0) or service (1) rule was given */
	char fallback_tenant[PA_NAME_MAX], fallback_service[PA_NAME_MAX];

	struct pa_map_entry *map;	/* open-addressing hash table */
	size_t map_size, map_count;

	struct pa_path_template templates[PA_MAX_TEMPLATES];
	int ntemplates;
	int keep_ids;		/* leave numeric and hex ids in paths */
};

/* Defaults: tenant from host, service from path, fallbacks "default". */
void pa_tenancy_init(struct pa_tenancy *t);
void pa_tenancy_free(struct pa_tenancy *t);

/* Parse a rule spec (see above).  Returns 0, or -1 with a message in err. */
int pa_rule_parse(const char *spec, struct pa_rule *r, char *err, size_t errsize);

/* Append a rule to the tenant or service chain (the first call replaces the default). */
int pa_tenancy_add_rule(struct pa_tenancy *t, int service, const char *spec,
			char *err, size_t errsize);

/* Load a --map file.  Returns 0, or -1 with "file:line: reason" in err. */
int pa_tenancy_load_map(struct pa_tenancy *t, const char *path, char *err, size_t errsize);

/* Add a --path-template.  Returns 0, or -1 with a message in err. */
int pa_tenancy_add_template(struct pa_tenancy *t, const char *text, char *err, size_t errsize);

/*
 * Choose tenant and service for one request, then apply the map.  Both
 * buffers hold PA_NAME_MAX bytes and always receive a non-empty name.
 */
void pa_tenancy_resolve(const struct pa_tenancy *t, const struct pa_rule_input *in,
			char *tenant, char *service);

/*
 * Rename tenant and service in place after the --map entry for the pair,
 * or else after the tenant's wildcard entry, if there is one.  Both
 * buffers hold PA_NAME_MAX bytes.
 */
void pa_tenancy_map(const struct pa_tenancy *t, char *tenant, char *service);

/*
 * Normalise a path so series do not explode: a matching --path-template
 * replaces it, otherwise segments that look like ids (all digits, a UUID,
 * 16 or more hex digits) become "{id}" unless keep_ids is set.  Writes at
 * most outsize - 1 bytes plus a NUL and returns the length.
 */
size_t pa_path_normalise(const struct pa_tenancy *t, const char *path, size_t len,
			 char *out, size_t outsize);

/* Clean s into out (PA_NAME_MAX bytes) as described above; lower-cases when fold is set.  Returns the length. */
size_t pa_name_clean(const char *s, size_t len, int fold, char *out);

#endif
