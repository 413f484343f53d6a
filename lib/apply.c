/* apply.c - plan records to replica changes, their order and their kubectl commands. */
#include "apply.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "ndjson.h"

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : pa_xstrdup(s);
}

int
pa_apply_conf_check(const struct pa_apply_conf *conf, char *why, size_t whysize)
{
	char rule[200];
	const char *names[3] = { "--target", "--spot-target", "--namespace" };
	const char *vals[3] = { conf->target, conf->spot_target, conf->ns };

	for (int i = 0; i < 3; i++) {
		if (vals[i] != NULL && pa_template_check(vals[i], rule, sizeof rule) != 0) {
			snprintf(why, whysize, "%s %s %s", names[i],
				 pa_quote(vals[i], strlen(vals[i])), rule);
			return -1;
		}
	}
	if (strchr(conf->target, '/') == NULL ||
	    (conf->spot_target != NULL && strchr(conf->spot_target, '/') == NULL)) {
		snprintf(why, whysize, "a target template must be TYPE/NAME, such as "
			 "deployment/{tenant}-{service}");
		return -1;
	}
	if (conf->spot_target != NULL && strcmp(conf->spot_target, conf->target) == 0) {
		snprintf(why, whysize, "--spot-target %s is the same object as --target, so one "
			 "half of each plan would overwrite the other (name the spot workload, such "
			 "as deployment/{tenant}-{service}-spot)",
			 pa_quote(conf->spot_target, strlen(conf->spot_target)));
		return -1;
	}

	/*
	 * "a" is the shortest valid value for a placeholder and adds no
	 * character that could fix a name.  A template that fails with it
	 * fails for every tenant and service, so it is one usage error
	 * instead of a reject per record.
	 */
	for (int i = 0; i < 3; i++) {
		char *sample;
		int bad;

		if (vals[i] == NULL)
			continue;
		sample = pa_template_expand(vals[i], "a", "a");
		bad = i == 2 ? pa_dns1123_label(sample, rule, sizeof rule)
			     : pa_kube_target_check(sample, rule, sizeof rule);
		if (bad != 0) {
			char shown[300];

			/* Positions in the rule count in the expanded name, so show it. */
			snprintf(shown, sizeof shown, "%s", pa_quote(vals[i], strlen(vals[i])));
			snprintf(why, whysize, "%s %s can never give a valid %s: %s%s%s %s", names[i],
				 shown, i == 2 ? "DNS-1123 label" : "object name",
				 pa_quote(sample, strlen(sample)),
				 strchr(vals[i], '{') != NULL ? " (each placeholder as \"a\")" : "",
				 i == 2 ? "" : ":", rule);
		}
		free(sample);
		if (bad != 0)
			return -1;
	}
	return 0;
}

/* A replica count: a whole number from 0 to PA_REPLICAS_MAX.  Same returns as pa_rec_num. */
static int
rec_replicas(const json_t *rec, const char *key, long *out)
{
	double v;
	int got = pa_rec_num(rec, key, &v);

	if (got <= 0)
		return got;
	if (v < 0 || v > PA_REPLICAS_MAX || v != floor(v))
		return -1;
	*out = (long)v;
	return 1;
}

static const char *
reject_value(const json_t *rec, const char *key)
{
	return pa_quote_json(json_object_get(rec, key));
}

/*
 * Validate target and namespace, then fill c.  Returns 0, or -1 with why
 * and *cls set.
 */
static int
make_change(struct pa_change *c, enum pa_apply_op op, const char *target, const char *ns,
	    char *why, size_t whysize, const char **cls)
{
	char rule[240];

	if (ns != NULL && pa_dns1123_label(ns, rule, sizeof rule) != 0) {
		snprintf(why, whysize, "namespace %s is not a valid DNS-1123 label: %s",
			 pa_quote(ns, strlen(ns)), rule);
		*cls = "invalid namespace";
		return -1;
	}
	if (pa_kube_target_check(target, rule, sizeof rule) != 0) {
		snprintf(why, whysize, "object %s is not valid: %s",
			 pa_quote(target, strlen(target)), rule);
		*cls = "invalid object name";
		return -1;
	}
	memset(c, 0, sizeof *c);
	c->op = op;
	c->target = dup_or_null(target);
	c->ns = dup_or_null(ns);
	c->current = -1;
	c->hpa_max = -1;
	return 0;
}

static int
direct_record(const json_t *rec, const char *kind, long seq, struct pa_change out[2],
	      int *nout, char *why, size_t whysize, const char **cls)
{
	const char *name = pa_rec_str(rec, "name");
	const char *ns = pa_rec_str(rec, "namespace");
	enum pa_apply_op op = strcmp(kind, "horizontalpodautoscaler") == 0 ? PA_OP_HPA_FLOOR
									    : PA_OP_SCALE;
	const char *key = op == PA_OP_HPA_FLOOR ? "min_replicas" : "replicas";
	long replicas;
	char target[600];

	if (name == NULL) {
		snprintf(why, whysize, "field \"name\" is missing or not a string");
		*cls = "missing name";
		return -1;
	}
	if (rec_replicas(rec, key, &replicas) != 1) {
		snprintf(why, whysize, "field \"%s\" is not a whole number from 0 to %ld: %s",
			 key, PA_REPLICAS_MAX, reject_value(rec, key));
		*cls = "invalid replicas";
		return -1;
	}
	if (strlen(name) > 500) {
		snprintf(why, whysize, "object name is %zu characters, longer than %d",
			 strlen(name), PA_DNS1123_SUBDOMAIN_MAX);
		*cls = "invalid object name";
		return -1;
	}
	snprintf(target, sizeof target, "%s/%s", kind, name);
	if (make_change(&out[0], op, target, ns, why, whysize, cls) != 0)
		return -1;
	out[0].series = dup_or_null(name);
	out[0].replicas = replicas;
	out[0].seq = seq;
	*nout = 1;
	return 1;
}

/* Split "TENANT/SERVICE" when tenant or service are not given beside it. */
static int
plan_names(const json_t *rec, char **tenant, char **service)
{
	const char *t = pa_rec_str(rec, "tenant"), *s = pa_rec_str(rec, "service");
	const char *tsn = pa_rec_str(rec, "tenant_service_name");
	const char *slash = tsn ? strchr(tsn, '/') : NULL;

	if (t == NULL && slash != NULL) {
		*tenant = strndup(tsn, (size_t)(slash - tsn));
	} else {
		*tenant = dup_or_null(t);
	}
	if (s == NULL && slash != NULL)
		*service = dup_or_null(slash + 1);
	else
		*service = dup_or_null(s);
	return *tenant != NULL && *service != NULL ? 0 : -1;
}

static int
plan_record(const json_t *rec, const struct pa_apply_conf *conf, long seq,
	    struct pa_change out[2], int *nout, char *why, size_t whysize, const char **cls)
{
	char *tenant = NULL, *service = NULL, *target = NULL, *ns = NULL;
	const char *tsn = pa_rec_str(rec, "tenant_service_name");
	const char *rec_ns = pa_rec_str(rec, "namespace");
	long optimal, on_demand = 0, spot = 0, current = -1;
	pa_usec_t ts = 0, target_ts = 0;
	int rc = -1, n = 0;

	if (plan_names(rec, &tenant, &service) != 0) {
		snprintf(why, whysize, "plan has no tenant and service "
			 "(fields \"tenant\" and \"service\", or \"tenant_service_name\")");
		*cls = "missing tenant or service";
		goto out;
	}
	if (rec_replicas(rec, "optimal_instances", &optimal) != 1) {
		snprintf(why, whysize,
			 "field \"optimal_instances\" is not a whole number from 0 to %ld: %s",
			 PA_REPLICAS_MAX, reject_value(rec, "optimal_instances"));
		*cls = "invalid optimal_instances";
		goto out;
	}
	if (rec_replicas(rec, "current_instances", &current) < 0) {
		snprintf(why, whysize, "field \"current_instances\" is not a whole number or null: %s",
			 reject_value(rec, "current_instances"));
		*cls = "invalid current_instances";
		goto out;
	}
	if (conf->spot_target != NULL &&
	    (rec_replicas(rec, "on_demand_instances", &on_demand) != 1 ||
	     rec_replicas(rec, "spot_instances", &spot) != 1)) {
		snprintf(why, whysize, "--spot-target needs whole numbers in \"on_demand_instances\" "
			 "and \"spot_instances\": %s, %s",
			 reject_value(rec, "on_demand_instances"), reject_value(rec, "spot_instances"));
		*cls = "invalid spot split";
		goto out;
	}
	if (conf->spot_target != NULL && on_demand + spot != optimal) {
		snprintf(why, whysize, "\"on_demand_instances\" %ld and \"spot_instances\" %ld do "
			 "not add up to \"optimal_instances\" %ld", on_demand, spot, optimal);
		*cls = "invalid spot split";
		goto out;
	}
	if (pa_rec_time(rec, "ts", &ts) < 0) {
		snprintf(why, whysize, "field \"ts\" is not a valid timestamp: %s",
			 reject_value(rec, "ts"));
		*cls = "invalid ts";
		goto out;
	}
	if (pa_rec_time(rec, "target_ts", &target_ts) < 0) {
		snprintf(why, whysize, "field \"target_ts\" is not a valid timestamp: %s",
			 reject_value(rec, "target_ts"));
		*cls = "invalid target_ts";
		goto out;
	}

	if (conf->ns != NULL)
		ns = pa_template_expand(conf->ns, tenant, service);
	else if (rec_ns != NULL)
		ns = dup_or_null(rec_ns);

	for (int i = 0; i < (conf->spot_target ? 2 : 1); i++) {
		target = pa_template_expand(i == 0 ? conf->target : conf->spot_target, tenant,
					    service);
		if (make_change(&out[n], conf->op, target, ns, why, whysize, cls) != 0) {
			free(target);
			goto out;
		}
		free(target);
		if (tsn != NULL) {
			out[n].series = pa_xstrdup(tsn);
		} else {
			size_t len = strlen(tenant) + strlen(service) + 2;

			out[n].series = pa_xrealloc(NULL, len);
			snprintf(out[n].series, len, "%s/%s", tenant, service);
		}
		out[n].action = dup_or_null(pa_rec_str(rec, "action"));
		out[n].reason = dup_or_null(pa_rec_str(rec, "reason"));
		out[n].ts = ts;
		out[n].target_ts = target_ts;
		out[n].seq = seq;
		if (conf->spot_target == NULL) {
			out[n].replicas = optimal;
			out[n].current = current;
		} else {
			/* The plan's current count is the total, not either workload's. */
			out[n].role = i == 0 ? "on-demand" : "spot";
			out[n].replicas = i == 0 ? on_demand : spot;
		}

		/*
		 * The API server takes an HPA's minReplicas of 0 only with the
		 * HPAScaleToZero feature gate, so a plan or half with no
		 * instances keeps a floor of 1.
		 */
		if (conf->op == PA_OP_HPA_FLOOR && out[n].replicas == 0)
			out[n].replicas = 1;
		n++;
	}
	if (n == 2 && strcmp(out[0].target, out[1].target) == 0) {
		snprintf(why, whysize, "--target and --spot-target both name %s for this plan, so "
			 "one half would overwrite the other", pa_quote(out[0].target,
									strlen(out[0].target)));
		*cls = "on-demand and spot are one object";
		goto out;
	}
	*nout = n;
	rc = 1;
out:
	if (rc != 1)
		for (int i = 0; i < n; i++)
			pa_change_free(&out[i]);
	free(tenant);
	free(service);
	free(ns);
	return rc;
}

int
pa_apply_record(const json_t *rec, const struct pa_apply_conf *conf, long seq,
		struct pa_change out[2], int *nout, char *why, size_t whysize,
		const char **reason_class)
{
	static const char *direct[] = { "deployment", "statefulset", "replicaset",
					"horizontalpodautoscaler" };
	const char *kind = pa_rec_kind(rec);

	*nout = 0;
	if (kind == NULL)
		return 0;
	if (strcmp(kind, "plan") == 0)
		return plan_record(rec, conf, seq, out, nout, why, whysize, reason_class);
	/* Kubernetes spells the kinds "Deployment" and so on, so case is not compared. */
	for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++)
		if (strcasecmp(kind, direct[i]) == 0)
			return direct_record(rec, direct[i], seq, out, nout, why, whysize,
					     reason_class);
	return 0;
}

static int
same_object(const struct pa_change *a, const struct pa_change *b)
{
	if (strcmp(a->target, b->target) != 0)
		return 0;
	if (a->ns == NULL || b->ns == NULL)
		return a->ns == b->ns;
	return strcmp(a->ns, b->ns) == 0;
}

void
pa_changes_put(struct pa_changes *cs, struct pa_change *c)
{
	for (size_t i = 0; i < cs->n; i++) {
		if (!same_object(&cs->v[i], c))
			continue;
		/*
		 * Two series that the templates map to one object would take
		 * turns setting its count, so the one dropped is named.
		 */
		if (cs->v[i].series != NULL && c->series != NULL &&
		    strcmp(cs->v[i].series, c->series) != 0) {
			const struct pa_change *applied = c->ts >= cs->v[i].ts ? c : &cs->v[i];
			const struct pa_change *dropped = applied == c ? &cs->v[i] : c;

			cs->dropped++;
			pa_warn("%s: the plans of %s and %s both name this object; %s's %ld "
				"replicas are set and %s's %ld are not (give each series its own "
				"object with --target)", applied->target,
				pa_quote(dropped->series, strlen(dropped->series)),
				pa_quote(applied->series, strlen(applied->series)),
				pa_quote(applied->series, strlen(applied->series)), applied->replicas,
				pa_quote(dropped->series, strlen(dropped->series)), dropped->replicas);
		}
		/* The plan for the latest target time wins; at equal times the later line. */
		if (c->ts >= cs->v[i].ts) {
			pa_change_free(&cs->v[i]);
			cs->v[i] = *c;
		} else {
			pa_change_free(c);
		}
		return;
	}
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? cs->cap * 2 : 32;
		cs->v = realloc(cs->v, cs->cap * sizeof *cs->v);
		if (cs->v == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
	}
	cs->v[cs->n++] = *c;
}

static int
direction_group(const struct pa_change *c)
{
	if (c->current < 0)
		return 1;
	return c->replicas >= c->current ? 0 : 2;
}

static int
cmp_change(const void *pa, const void *pb)
{
	const struct pa_change *a = pa, *b = pb;
	int ga = direction_group(a), gb = direction_group(b);

	if (ga != gb)
		return ga - gb;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void
pa_changes_order(struct pa_changes *cs)
{
	if (cs->n > 1)
		qsort(cs->v, cs->n, sizeof *cs->v, cmp_change);
}

void
pa_change_free(struct pa_change *c)
{
	free(c->target);
	free(c->ns);
	free(c->series);
	free(c->action);
	free(c->reason);
	memset(c, 0, sizeof *c);
}

void
pa_changes_free(struct pa_changes *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		pa_change_free(&cs->v[i]);
	free(cs->v);
	cs->v = NULL;
	cs->n = cs->cap = 0;
}

long
pa_change_capped(const struct pa_change *c, long max_step)
{
	if (max_step <= 0 || c->current < 0)
		return c->replicas;
	if (c->replicas > c->current + max_step)
		return c->current + max_step;
	if (c->replicas < c->current - max_step)
		return c->current - max_step;
	return c->replicas;
}

void
pa_change_argv(const struct pa_change *c, const struct pa_kube_conf *kc, long value,
	       struct pa_argv *out)
{
	char buf[96];

	pa_kube_argv_start(out, kc, c->ns);
	if (c->op == PA_OP_SCALE) {
		pa_argv_push(out, "scale");
		pa_argv_push(out, c->target);
		snprintf(buf, sizeof buf, "--replicas=%ld", value);
		pa_argv_push(out, buf);
	} else {
		pa_argv_push(out, "patch");
		pa_argv_push(out, c->target);
		pa_argv_push(out, "--type=merge");
		snprintf(buf, sizeof buf, "--patch={\"spec\":{\"minReplicas\":%ld}}", value);
		pa_argv_push(out, buf);
	}
}

/* Build "kubectl get" of c's object as JSON, its scale subresource when scale is set. */
static void
get_argv(const struct pa_change *c, const struct pa_kube_conf *kc, int scale,
	 struct pa_argv *out)
{
	pa_kube_argv_start(out, kc, c->ns);
	pa_argv_push(out, "get");
	pa_argv_push(out, c->target);
	if (scale)
		pa_argv_push(out, "--subresource=scale");
	pa_argv_push(out, "--output=json");
}

void
pa_change_get_argv(const struct pa_change *c, const struct pa_kube_conf *kc,
		   struct pa_argv *out)
{
	get_argv(c, kc, c->op == PA_OP_SCALE, out);
}

void
pa_change_get_workload_argv(const struct pa_change *c, const struct pa_kube_conf *kc,
			    struct pa_argv *out)
{
	get_argv(c, kc, 0, out);
}

long
pa_workload_read_ready(const char *json_text, char *why, size_t whysize)
{
	json_error_t jerr;
	json_t *obj = json_loads(json_text, 0, &jerr);
	json_t *v;
	long ready = -1;

	if (obj == NULL) {
		snprintf(why, whysize, "kubectl get output is not JSON: %s", jerr.text);
		return -1;
	}
	v = json_object_get(json_object_get(obj, "status"), "readyReplicas");
	if (v == NULL)
		ready = 0;
	else if (json_is_integer(v) && json_integer_value(v) >= 0)
		ready = (long)json_integer_value(v);
	else
		snprintf(why, whysize, "status.readyReplicas is not a count >= 0");
	json_decref(obj);
	return ready;
}

int
pa_change_read_current(struct pa_change *c, const char *json_text, char *why,
		       size_t whysize)
{
	json_error_t jerr;
	json_t *obj = json_loads(json_text, 0, &jerr);
	json_t *spec = obj ? json_object_get(obj, "spec") : NULL;
	const char *key = c->op == PA_OP_SCALE ? "replicas" : "minReplicas";
	json_t *v = spec ? json_object_get(spec, key) : NULL;
	int rc = -1;

	if (obj == NULL) {
		snprintf(why, whysize, "kubectl get output is not JSON: %s", jerr.text);
		return -1;
	}
	if (v == NULL && c->op == PA_OP_HPA_FLOOR) {
		c->current = 1;	/* the API's default minReplicas */
	} else if (v == NULL && c->op == PA_OP_SCALE) {
		c->current = 0;	/* an absent replicas field in a Scale is 0 */
	} else if (json_is_integer(v) && json_integer_value(v) >= 0) {
		c->current = (long)json_integer_value(v);
	} else {
		snprintf(why, whysize, "kubectl get output has no whole spec.%s", key);
		goto out;
	}
	if (c->op == PA_OP_HPA_FLOOR) {
		json_t *max = json_object_get(spec, "maxReplicas");

		if (json_is_integer(max))
			c->hpa_max = (long)json_integer_value(max);
	}
	rc = 0;
out:
	json_decref(obj);
	return rc;
}

char *
pa_comment_text(const char *s)
{
	size_t n = strlen(s);
	char *t;

	if (n > 300)
		n = 300;
	t = malloc(n + 1);
	if (t == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		t[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	t[n] = '\0';
	return t;
}
