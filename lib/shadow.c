/* shadow.c - shadow, promote or roll back new instances, with a JSON state file. */
#include "shadow.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "ndjson.h"

struct stats {
	char *instance;
	long requests, errors, timed;
	double latency_sum;	/* milliseconds over the timed requests */
};

struct pa_shadow {
	struct pa_shadow_conf conf;
	char *path;
	json_t *state;		/* {"version":1,"backends":{B:{S:{phase,since,step,share}}}} */
	struct stats *st;
	size_t n, cap;
	pa_usec_t latest;
};

void
pa_shadow_defaults(struct pa_shadow_conf *c)
{
	c->mirror = 0.05;
	c->window = 600 * PA_USEC_PER_SEC;
	c->min_requests = 100;
	c->max_error_delta = 0.01;
	c->max_latency_ratio = 1.2;
	c->steps[0] = 0.25;
	c->steps[1] = 0.5;
	c->steps[2] = 1;
	c->nsteps = 3;
}

int
pa_shadow_parse_steps(struct pa_shadow_conf *c, const char *arg, char *why, size_t whysize)
{
	const char *p = arg;
	double prev = 0;
	int n = 0;

	while (*p) {
		char *end;
		double v = strtod(p, &end);

		if (end == p || v <= prev || v > 100 || (*end != ',' && *end != '\0') ||
		    n == PA_SHADOW_MAX_STEPS) {
			snprintf(why, whysize, "%s is not a list of up to %d increasing percentages "
				 "ending at 100", pa_quote(arg, strlen(arg)), PA_SHADOW_MAX_STEPS);
			return -1;
		}
		c->steps[n++] = v / 100;
		prev = v;
		p = *end == ',' ? end + 1 : end;
	}
	if (n == 0 || prev != 100) {
		snprintf(why, whysize, "%s must end at 100", pa_quote(arg, strlen(arg)));
		return -1;
	}
	c->nsteps = n;
	return 0;
}

static const char *phase_names[] = { "serving", "shadow", "promoting", "rolled_back" };

/*
 * Read an entry's "share", the server's share of live traffic in the
 * weights last written, into *share when share is not NULL.  Returns 1,
 * 0 when the entry has none, or -1 when it is not a number from 0 to 1.
 */
static int
share_read(const json_t *entry, double *share)
{
	double v;
	int got = pa_rec_num(entry, "share", &v);

	if (got == 1 && (v < 0 || v > 1))
		return -1;
	if (got == 1 && share != NULL)
		*share = v;
	return got;
}

/*
 * Check every server entry of a loaded state: a phase this version
 * writes, a step, when present, that indexes --steps, a share, when
 * present, from 0 to 1 and a since that is a timestamp.  phase and since
 * are required.
 * Returns 0, or -1 with the file, backend, server and the missing field
 * or the value in why.
 */
static int
state_check(const struct pa_shadow *sh, char *why, size_t whysize)
{
	const char *backend, *server;
	json_t *servers, *entry;
	pa_usec_t since;

	json_object_foreach(json_object_get(sh->state, "backends"), backend, servers) {
		if (!json_is_object(servers)) {
			snprintf(why, whysize, "%s: backend %s is not an object of servers", sh->path,
				 pa_quote(backend, strlen(backend)));
			return -1;
		}
		json_object_foreach(servers, server, entry) {
			const json_t *phase = json_object_get(entry, "phase");
			const json_t *step = json_object_get(entry, "step");
			char where[300];
			size_t k = 0;

			snprintf(where, sizeof where, "%s: backend %s server %s", sh->path,
				 pa_quote(backend, strlen(backend)), pa_quote(server, strlen(server)));
			if (!json_is_object(entry)) {
				snprintf(why, whysize, "%s: entry %s is not an object", where,
					 pa_quote_json(entry));
				return -1;
			}
			/*
			 * Without a phase the entry would be read as serving, and
			 * without a since a shadow would never be judged.
			 */
			if (phase == NULL || json_object_get(entry, "since") == NULL) {
				snprintf(why, whysize, "%s: missing field \"%s\"", where,
					 phase == NULL ? "phase" : "since");
				return -1;
			}
			while (json_is_string(phase) && k < sizeof phase_names / sizeof phase_names[0] &&
			       strcmp(json_string_value(phase), phase_names[k]) != 0)
				k++;
			if (!json_is_string(phase) || k == sizeof phase_names / sizeof phase_names[0]) {
				snprintf(why, whysize, "%s: field \"phase\" %s is not serving, shadow, "
					 "promoting or rolled_back", where, pa_quote_json(phase));
				return -1;
			}
			/* Promotion moves one step a window, so a step past --steps has no meaning. */
			if (step != NULL && (!json_is_integer(step) || json_integer_value(step) < 0 ||
					     json_integer_value(step) >= sh->conf.nsteps)) {
				snprintf(why, whysize, "%s: field \"step\" %s is not a whole number from 0 "
					 "to %d (one less than the number of --steps)", where,
					 pa_quote_json(step), sh->conf.nsteps - 1);
				return -1;
			}
			if (share_read(entry, NULL) < 0) {
				snprintf(why, whysize, "%s: field \"share\" %s is not a number from 0 "
					 "to 1", where, pa_quote_json(json_object_get(entry, "share")));
				return -1;
			}
			if (pa_rec_time(entry, "since", &since) < 0) {
				snprintf(why, whysize, "%s: field \"since\" %s is not a timestamp", where,
					 pa_quote_json(json_object_get(entry, "since")));
				return -1;
			}
		}
	}
	return 0;
}

struct pa_shadow *
pa_shadow_open(const char *path, const struct pa_shadow_conf *conf, char *why, size_t whysize)
{
	struct pa_shadow *sh = calloc(1, sizeof *sh);
	json_error_t err;

	if (sh == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	sh->conf = *conf;
	sh->path = strdup(path);
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		sh->state = json_pack("{s:i,s:{}}", "version", 1, "backends");
		return sh;
	}
	sh->state = json_load_file(path, 0, &err);
	if (sh->state == NULL || !json_is_object(json_object_get(sh->state, "backends"))) {
		snprintf(why, whysize, "%s: not a pa-route state file: %s", path,
			 sh->state == NULL ? err.text : "no \"backends\" object");
		pa_shadow_free(sh);
		return NULL;
	}
	if (state_check(sh, why, whysize) != 0) {
		pa_shadow_free(sh);
		return NULL;
	}
	return sh;
}

static struct stats *
stats_get(struct pa_shadow *sh, const char *instance, int create)
{
	for (size_t i = 0; i < sh->n; i++)
		if (strcmp(sh->st[i].instance, instance) == 0)
			return &sh->st[i];
	if (!create)
		return NULL;
	if (sh->n == sh->cap) {
		sh->cap = sh->cap ? sh->cap * 2 : 16;
		sh->st = realloc(sh->st, sh->cap * sizeof *sh->st);
		if (sh->st == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
	}
	memset(&sh->st[sh->n], 0, sizeof sh->st[sh->n]);
	sh->st[sh->n].instance = strdup(instance);
	return &sh->st[sh->n++];
}

int
pa_shadow_add_request(struct pa_shadow *sh, const json_t *rec, char *why, size_t whysize,
		      const char **cls)
{
	const char *kind = pa_rec_kind(rec), *instance = pa_rec_str(rec, "instance_id");
	double status, ms;
	int got_status, got_ms;
	pa_usec_t ts;
	struct stats *s;

	if (kind == NULL || strcmp(kind, "request") != 0 || instance == NULL)
		return 0;
	got_status = pa_rec_num(rec, "status", &status);
	got_ms = pa_rec_num(rec, "duration_ms", &ms);
	if (got_status < 0 || got_ms < 0 || (got_ms == 1 && ms < 0)) {
		snprintf(why, whysize, "request for instance %s has a non-numeric status or "
			 "a bad duration_ms", pa_quote(instance, strlen(instance)));
		*cls = "invalid request";
		return -1;
	}
	s = stats_get(sh, instance, 1);
	s->requests++;
	if (got_status == 1 && status >= 500)
		s->errors++;
	if (got_ms == 1) {
		s->timed++;
		s->latency_sum += ms;
	}
	if (pa_rec_time(rec, "ts", &ts) == 1 && ts > sh->latest)
		sh->latest = ts;
	return 1;
}

/* Requests, errors and latency of the serving servers of a pool, summed. */
static struct stats
serving_stats(struct pa_shadow *sh, const struct pa_pool *pool)
{
	struct stats sum = { 0 };

	for (size_t i = 0; i < pool->n; i++) {
		const struct stats *s;

		if (pool->v[i].phase != PA_PHASE_SERVING)
			continue;
		s = stats_get(sh, pool->v[i].name, 0);
		if (s == NULL)
			continue;
		sum.requests += s->requests;
		sum.errors += s->errors;
		sum.timed += s->timed;
		sum.latency_sum += s->latency_sum;
	}
	return sum;
}

/* Whether s started less than a validation window before now. */
static int
is_young(const struct pa_shadow *sh, const struct pa_server *s, pa_usec_t now)
{
	return s->started != 0 && now - s->started < sh->conf.window;
}

enum verdict { WAIT, PASS, FAIL };

/* Compare one server with the serving ones; why gets the numbers. */
static enum verdict
judge(const struct pa_shadow *sh, const struct stats *s, const struct stats *base, char *why,
      size_t whysize)
{
	double err, base_err, lat, base_lat;

	if (s == NULL || s->requests < sh->conf.min_requests) {
		snprintf(why, whysize, "%ld of %ld requests needed", s ? s->requests : 0,
			 sh->conf.min_requests);
		return WAIT;
	}
	err = (double)s->errors / (double)s->requests;
	base_err = base->requests > 0 ? (double)base->errors / (double)base->requests : 0;
	lat = s->timed > 0 ? s->latency_sum / (double)s->timed : NAN;
	base_lat = base->timed > 0 ? base->latency_sum / (double)base->timed : NAN;
	snprintf(why, whysize, "%ld requests, errors %.2f%% vs %.2f%% serving, "
		 "mean latency %.1f ms vs %.1f ms", s->requests, err * 100, base_err * 100,
		 lat, base_lat);
	if (err > base_err + sh->conf.max_error_delta)
		return FAIL;
	if (isfinite(lat) && isfinite(base_lat) && base_lat > 0 &&
	    lat > base_lat * sh->conf.max_latency_ratio)
		return FAIL;
	return PASS;
}

static void
set_phase(json_t *entry, const char *phase, pa_usec_t now, int step)
{
	json_object_set_new(entry, "phase", json_string(phase));
	pa_rec_set_time(entry, "since", now);
	json_object_set_new(entry, "step", json_integer(step));
}

static enum pa_phase
phase_of(const char *s)
{
	if (s == NULL || strcmp(s, "serving") == 0)
		return PA_PHASE_SERVING;
	if (strcmp(s, "shadow") == 0)
		return PA_PHASE_SHADOW;
	if (strcmp(s, "promoting") == 0)
		return PA_PHASE_PROMOTING;
	return PA_PHASE_ROLLED_BACK;
}

/* Move one server's entry on if its window has passed; reports every change on stderr. */
static void
advance(struct pa_shadow *sh, const struct pa_pool *pool, struct pa_server *srv,
	json_t *entry, const struct stats *base, pa_usec_t now)
{
	enum pa_phase ph = phase_of(pa_rec_str(entry, "phase"));
	pa_usec_t since = now;
	json_int_t step = json_integer_value(json_object_get(entry, "step"));
	char why[300];
	enum verdict v;

	pa_rec_time(entry, "since", &since);
	srv->phase = ph;
	if (ph == PA_PHASE_SERVING || ph == PA_PHASE_ROLLED_BACK || now - since < sh->conf.window)
		return;
	v = judge(sh, stats_get(sh, srv->name, 0), base, why, sizeof why);
	if (v == WAIT)
		return;
	if (v == FAIL) {
		set_phase(entry, "rolled_back", now, 0);
		srv->phase = PA_PHASE_ROLLED_BACK;
		pa_warn("%s/%s: rolled back: %s", pool->backend, srv->name, why);
		return;
	}
	step = ph == PA_PHASE_SHADOW ? 0 : step + 1;
	if (step >= sh->conf.nsteps) {
		set_phase(entry, "serving", now, 0);
		srv->phase = PA_PHASE_SERVING;
		pa_warn("%s/%s: promoted to serving: %s", pool->backend, srv->name, why);
		return;
	}
	set_phase(entry, "promoting", now, (int)step);
	srv->phase = PA_PHASE_PROMOTING;
	pa_warn("%s/%s: promoted to %g%% of its weight: %s", pool->backend, srv->name,
		sh->conf.steps[step] * 100, why);
}

void
pa_shadow_advance(struct pa_shadow *sh, struct pa_pool *pool, pa_usec_t now)
{
	json_t *backends = json_object_get(sh->state, "backends");
	json_t *bk = json_object_get(backends, pool->backend), *next;
	int known_backend = bk != NULL, has_older = 0;
	struct stats base;

	if (now == 0)
		now = sh->latest;
	if (sh->latest > now)
		now = sh->latest;
	next = json_object();

	/*
	 * Phases as stored first, so the serving comparison uses the right
	 * servers.  A server missing from the state is new when its backend is
	 * known, or when it started less than a window ago while an older
	 * server can serve: a backend of only young servers serves as it is.
	 */
	for (size_t i = 0; i < pool->n; i++) {
		const struct pa_server *s = &pool->v[i];
		json_t *entry = bk ? json_object_get(bk, s->name) : NULL;

		if (entry != NULL)
			pool->v[i].phase = phase_of(pa_rec_str(entry, "phase"));
		else if (known_backend || is_young(sh, s, now))
			pool->v[i].phase = PA_PHASE_SHADOW;
		else
			pool->v[i].phase = PA_PHASE_SERVING;
		if (pool->v[i].phase != PA_PHASE_SHADOW)
			has_older = 1;
	}
	base = serving_stats(sh, pool);

	for (size_t i = 0; i < pool->n; i++) {
		struct pa_server *srv = &pool->v[i];
		json_t *entry = bk ? json_object_get(bk, srv->name) : NULL;

		entry = entry ? json_deep_copy(entry) : json_object();
		if (json_object_size(entry) == 0) {
			int shadow = srv->phase == PA_PHASE_SHADOW && has_older;

			set_phase(entry, shadow ? "shadow" : "serving", now, 0);
			if (shadow)
				pa_warn("%s/%s: new instance, shadowed", pool->backend, srv->name);
		} else {
			advance(sh, pool, srv, entry, &base, now);
		}
		srv->phase = phase_of(pa_rec_str(entry, "phase"));

		if (srv->phase == PA_PHASE_SHADOW || srv->phase == PA_PHASE_ROLLED_BACK) {
			srv->live_fraction = 0;
		} else if (srv->phase == PA_PHASE_PROMOTING) {
			json_int_t step = json_integer_value(json_object_get(entry, "step"));

			if (step < 0 || step >= sh->conf.nsteps)
				step = 0;
			srv->live_fraction = sh->conf.steps[step];
		} else {
			srv->live_fraction = 1;
		}
		srv->prior_share = NAN;
		share_read(entry, &srv->prior_share);
		json_object_set_new(next, srv->name, entry);
	}
	/* Servers gone from the input are dropped from the state. */
	json_object_set_new(backends, pool->backend, next);
}

void
pa_shadow_mirror(const struct pa_shadow *sh, struct pa_pool *pool, double demand,
		 double capacity)
{
	for (size_t i = 0; i < pool->n; i++) {
		struct pa_server *srv = &pool->v[i];
		double share = sh->conf.mirror;

		if (srv->phase != PA_PHASE_SHADOW)
			continue;
		/* The mirrored share must fit in the spare capacity of the shadow. */
		if (isfinite(srv->spare) && isfinite(demand) && demand > 0 && isfinite(capacity))
			share = fmin(share, srv->spare * capacity / demand);
		/* nginx split_clients takes two decimals of a percent. */
		srv->mirror = share < 0.0001 ? 0 : share;
	}
}

void
pa_shadow_record_shares(struct pa_shadow *sh, const struct pa_pool *pool)
{
	json_t *bk = json_object_get(json_object_get(sh->state, "backends"), pool->backend);
	double sum = 0;

	for (size_t i = 0; i < pool->n; i++)
		sum += pool->v[i].weight;
	if (sum <= 0)
		return;
	for (size_t i = 0; i < pool->n; i++) {
		json_t *entry = json_object_get(bk, pool->v[i].name);

		if (entry != NULL)
			pa_rec_set_num(entry, "share", round(pool->v[i].weight / sum * 1e6) / 1e6);
	}
}

int
pa_shadow_save(struct pa_shadow *sh)
{
	size_t n = strlen(sh->path) + 5;
	char *tmp = malloc(n);
	int rc = 0;

	if (tmp == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	snprintf(tmp, n, "%s.tmp", sh->path);
	if (json_dump_file(sh->state, tmp,
			   JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(12)) != 0) {
		pa_warn("%s: cannot write state", tmp);
		rc = -1;
	} else if (rename(tmp, sh->path) != 0) {
		pa_warn("%s: cannot rename state into place: %s", sh->path, strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

void
pa_shadow_free(struct pa_shadow *sh)
{
	if (sh == NULL)
		return;
	for (size_t i = 0; i < sh->n; i++)
		free(sh->st[i].instance);
	free(sh->st);
	free(sh->path);
	json_decref(sh->state);
	free(sh);
}
