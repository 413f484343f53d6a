/* route.c - router weights: reading, scaling to each router's range, and emitters. */
#include "route.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "kube.h"
#include "ndjson.h"

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : pa_xstrdup(s);
}

void
pa_pool_add(struct pa_pool *p, const char *name, const char *addr, double raw, int ready)
{
	struct pa_server *s;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->v = realloc(p->v, p->cap * sizeof *p->v);
		if (p->v == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
	}
	s = &p->v[p->n++];
	memset(s, 0, sizeof *s);
	s->name = dup_or_null(name ? name : addr);
	s->addr = dup_or_null(addr);
	s->raw = raw;
	s->spare = NAN;
	s->prior_share = NAN;
	s->ready = ready;
	s->phase = PA_PHASE_SERVING;
	s->live_fraction = 1;
}

void
pa_pool_free(struct pa_pool *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].addr);
	}
	free(p->v);
	free(p->backend);
	free(p->series);
	memset(p, 0, sizeof *p);
}

int
pa_route_name_check(const char *s, int is_addr, char *why, size_t whysize)
{
	size_t len = strlen(s);

	if (len == 0 || len > 100) {
		snprintf(why, whysize, "must be 1 to 100 bytes");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.')
			continue;
		if (c == ':' || (is_addr && (c == '[' || c == ']')))
			continue;
		snprintf(why, whysize, "contains %s at position %zu", pa_quote(s + i, 1), i + 1);
		return -1;
	}
	return 0;
}

/*
 * Check a DNS name of at most 253 bytes: dot-separated labels of 1 to 63
 * letters, digits, - and _, with no - at either end of a label.
 */
static int
dns_name_check(const char *host, size_t len)
{
	size_t label = 0;

	if (len > 253)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || host[i] == '.') {
			if (label == 0 || label > 63 || host[i - 1] == '-' || host[i - label] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '_')
			return -1;
		label++;
	}
	return 0;
}

int
pa_route_addr_check(const char *addr, char *why, size_t whysize)
{
	const char *colon, *host = addr;
	char text[128], *end;
	size_t hostlen;
	long port;

	if (pa_route_name_check(addr, 1, why, whysize) != 0)
		return -1;

	/* An IPv6 literal is bracketed, because its own colons would hide the port's. */
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		struct in6_addr a6;

		if (close == NULL || close[1] != ':') {
			snprintf(why, whysize, "is not HOST:PORT or [IPV6]:PORT");
			return -1;
		}
		hostlen = (size_t)(close - addr - 1);
		memcpy(text, addr + 1, hostlen);
		text[hostlen] = '\0';
		if (inet_pton(AF_INET6, text, &a6) != 1) {
			snprintf(why, whysize, "has %s in brackets, which is not an IPv6 address",
				 pa_quote(text, hostlen));
			return -1;
		}
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL) {
			snprintf(why, whysize, "has no port (HOST:PORT)");
			return -1;
		}
		hostlen = (size_t)(colon - addr);
		if (memchr(addr, ':', hostlen) != NULL) {
			snprintf(why, whysize, "is not HOST:PORT (write an IPv6 address in brackets, "
				 "as in [::1]:80)");
			return -1;
		}
		if (hostlen == 0) {
			snprintf(why, whysize, "has an empty host");
			return -1;
		}
		memcpy(text, host, hostlen);
		text[hostlen] = '\0';

		/*
		 * Resolvers read a host of only digits and dots as IPv4, so it must
		 * be a valid one.  Any other host must be a DNS name.
		 */
		if (strspn(text, "0123456789.") == hostlen) {
			struct in_addr a4;

			if (inet_pton(AF_INET, text, &a4) != 1) {
				snprintf(why, whysize, "has host %s, which is not an IPv4 address",
					 pa_quote(text, hostlen));
				return -1;
			}
		} else if (dns_name_check(text, hostlen) != 0) {
			snprintf(why, whysize, "has host %s, which is not a DNS name",
				 pa_quote(text, hostlen));
			return -1;
		}
	}

	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port < 1 ||
	    port > 65535) {
		snprintf(why, whysize, "has port %s, which is not from 1 to 65535",
			 pa_quote(colon + 1, strlen(colon + 1)));
		return -1;
	}
	return 0;
}

int
pa_route_from_record(const json_t *rec, struct pa_pool *pool, char *why, size_t whysize,
		     const char **cls)
{
	const char *backend = pa_rec_str(rec, "backend");
	const char *word = "backend";
	const json_t *servers = json_object_get(rec, "servers");
	char rule[200];
	size_t i, bad = 0;
	const json_t *s;

	memset(pool, 0, sizeof *pool);
	if (backend == NULL) {
		backend = pa_rec_str(rec, "upstream");
		word = "upstream";
	}
	if (servers == NULL)
		servers = json_object_get(rec, "backends");
	if (backend == NULL) {
		snprintf(why, whysize, "route record has no \"backend\" or \"upstream\" name");
		*cls = "missing backend";
		return -1;
	}
	if (pa_route_name_check(backend, 0, rule, sizeof rule) != 0) {
		snprintf(why, whysize, "%s name %s %s", word, pa_quote(backend, strlen(backend)),
			 rule);
		*cls = "invalid name";
		return -1;
	}
	if (!json_is_array(servers) || json_array_size(servers) == 0) {
		snprintf(why, whysize, "%s %s has no servers (a non-empty \"servers\" array)", word,
			 pa_quote(backend, strlen(backend)));
		*cls = "missing servers";
		return -1;
	}

	pool->backend = dup_or_null(backend);
	json_array_foreach(servers, i, s) {
		const char *name = pa_rec_str(s, "name"), *addr = pa_rec_str(s, "addr");
		const char *label = "(unnamed)";
		const json_t *w = json_object_get(s, "weight");
		const json_t *ready = json_object_get(s, "ready");
		double weight;

		if (name != NULL)
			label = name;
		else if (addr != NULL)
			label = addr;
		if (!json_is_object(s) || (name == NULL && addr == NULL)) {
			snprintf(why, whysize, "%s %s server %zu has no \"name\" or \"addr\"", word,
				 pa_quote(backend, strlen(backend)), i + 1);
			*cls = "invalid name";
			goto fail;
		}
		if ((name && pa_route_name_check(name, 0, rule, sizeof rule) != 0) ||
		    (addr && pa_route_name_check(addr, 1, rule, sizeof rule) != 0)) {
			int bad_name = name && pa_route_name_check(name, 0, rule, sizeof rule) != 0;
			const char *value = bad_name ? name : addr;

			snprintf(why, whysize, "%s %s server %s: field \"%s\" %s %s", word,
				 pa_quote(backend, strlen(backend)), pa_quote(label, strlen(label)),
				 bad_name ? "name" : "addr", pa_quote(value, strlen(value)), rule);
			*cls = "invalid name";
			goto fail;
		}
		if (addr && pa_route_addr_check(addr, rule, sizeof rule) != 0) {
			snprintf(why, whysize, "%s %s server %s: address %s %s", word,
				 pa_quote(backend, strlen(backend)), pa_quote(label, strlen(label)),
				 pa_quote(addr, strlen(addr)), rule);
			*cls = "invalid address";
			goto fail;
		}
		if (!json_is_number(w) || !isfinite(json_number_value(w)) ||
		    json_number_value(w) < 0) {
			/* Name every bad server of the backend in one message. */
			size_t used = strlen(why);

			if (bad == 0)
				used = (size_t)snprintf(why, whysize, "%s %s:", word,
							pa_quote(backend, strlen(backend)));
			if (used < whysize)
				snprintf(why + used, whysize - used, "%s server %s weight %s is %s",
					 bad ? ";" : "", pa_quote(label, strlen(label)),
					 pa_quote_json(w), json_is_number(w) ? "negative" : "not a number");
			bad++;
			continue;
		}
		weight = json_number_value(w);

		/* A router keys its servers by name, so a second one would overwrite the first. */
		for (size_t k = 0; k < pool->n; k++) {
			const char *other = pool->v[k].name ? pool->v[k].name : pool->v[k].addr;

			if (other != NULL && strcmp(other, label) == 0) {
				snprintf(why, whysize, "%s %s names server %s twice", word,
					 pa_quote(backend, strlen(backend)),
					 pa_quote(label, strlen(label)));
				*cls = "invalid name";
				goto fail;
			}
		}
		pa_pool_add(pool, name, addr, weight, ready == NULL || json_is_true(ready));
	}
	if (bad > 0) {
		*cls = "invalid weight";
		goto fail;
	}
	pool->noun = strcmp(word, "upstream") == 0 ? "upstream" : "backend";
	return 0;
fail:
	pa_pool_free(pool);
	return -1;
}

static int
is_live(const struct pa_server *s)
{
	return s->ready && s->raw > 0 &&
	       (s->phase == PA_PHASE_SERVING || s->phase == PA_PHASE_PROMOTING);
}

static double
max_live(const struct pa_pool *p)
{
	double m = 0;

	for (size_t i = 0; i < p->n; i++)
		if (is_live(&p->v[i]) && p->v[i].raw > m)
			m = p->v[i].raw;
	return m;
}

static int
no_live(const struct pa_pool *p, char *why, size_t whysize)
{
	snprintf(why, whysize, "%s %s: every weight is 0 or its server is not ready, "
		 "so no server would take traffic", p->noun ? p->noun : "backend",
		 pa_quote(p->backend, strlen(p->backend)));
	return -1;
}

int
pa_route_scale_haproxy(struct pa_pool *p, char *why, size_t whysize)
{
	double m = max_live(p);

	if (m <= 0)
		return no_live(p, why, whysize);
	for (size_t i = 0; i < p->n; i++) {
		struct pa_server *s = &p->v[i];

		s->weight = 0;
		if (!is_live(s))
			continue;
		/* A live server keeps at least 1: rounding must not drain it. */
		s->weight = (int)lround(s->raw / m * PA_HAPROXY_WEIGHT_MAX);
		if (s->weight < 1)
			s->weight = 1;
	}
	return 0;
}

static long
gcd(long a, long b)
{
	while (b != 0) {
		long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * Return whether every live weight times scale is a whole number (within
 * rounding of decimal input) and a positive one is at least 1.  A weight of
 * 1e-6 is within that rounding of 0, so raised to 1 it would weigh as much
 * as a weight of 1.
 */
static int
whole_at(const struct pa_pool *p, double scale)
{
	for (size_t i = 0; i < p->n; i++) {
		double v = p->v[i].raw * scale;

		if (!is_live(&p->v[i]))
			continue;
		if (v > 1e9 || fabs(v - nearbyint(v)) > 1e-6 * fmax(1, v) ||
		    (v > 0 && nearbyint(v) < 1))
			return 0;
	}
	return 1;
}

int
pa_route_scale_nginx(struct pa_pool *p, char *why, size_t whysize)
{
	double m = max_live(p), scale = 0;
	long g = 0, top = 0;

	if (m <= 0)
		return no_live(p, why, whysize);

	/* Decimal weights such as 0.5 and 0.25 become exact integers (2 and 1) when they can. */
	for (double s = 1; s <= 1e4; s *= 10) {
		if (whole_at(p, s)) {
			scale = s;
			break;
		}
	}
	if (scale == 0)
		scale = PA_NGINX_WEIGHT_MAX / m;
	for (size_t i = 0; i < p->n; i++) {
		struct pa_server *s = &p->v[i];

		s->weight = 0;
		if (!is_live(s))
			continue;
		s->weight = (int)fmax(1, nearbyint(fmin(s->raw * scale, 1e9)));
		g = gcd(s->weight, g);
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].weight > 0)
			p->v[i].weight = (int)(p->v[i].weight / g);
		if (p->v[i].weight > top)
			top = p->v[i].weight;
	}
	if (top > PA_NGINX_WEIGHT_MAX) {
		for (size_t i = 0; i < p->n; i++) {
			struct pa_server *s = &p->v[i];

			if (s->weight > 0)
				s->weight = (int)fmax(1, lround((double)s->weight / (double)top *
								PA_NGINX_WEIGHT_MAX));
		}
	}
	return 0;
}

int
pa_route_scale_percent(struct pa_pool *p, char *why, size_t whysize)
{
	double sum = 0, *rem;
	int total = 0;

	for (size_t i = 0; i < p->n; i++)
		if (is_live(&p->v[i]))
			sum += p->v[i].raw;
	if (sum <= 0)
		return no_live(p, why, whysize);
	rem = malloc(p->n * sizeof *rem);
	if (rem == NULL)
		pa_die(PA_EXIT_IO, "out of memory");

	/* Largest remainder: floors first, then the leftover points by largest fraction. */
	for (size_t i = 0; i < p->n; i++) {
		double exact = is_live(&p->v[i]) ? p->v[i].raw / sum * 100 : 0;

		p->v[i].weight = (int)floor(exact);
		rem[i] = is_live(&p->v[i]) ? exact - floor(exact) : -1;
		total += p->v[i].weight;
	}
	while (total < 100) {
		size_t best = 0;

		for (size_t i = 1; i < p->n; i++)
			if (rem[i] > rem[best])
				best = i;
		p->v[best].weight++;
		rem[best] = -1;
		total++;
	}
	free(rem);
	return 0;
}

/*
 * Limits on what one usage sample shows of an instance's capacity.  Below
 * CPU_MIN_MEASURED of its limit an instance is near idle, and its reading
 * is mostly overhead or a sample taken before traffic reached it, so its
 * capacity is taken to be the median.  A measured capacity is kept within
 * CAPACITY_SPREAD_MAX times the median either way, so that a single low
 * reading cannot draw nearly all the traffic to one instance.
 * NOTE: both limits are judgement, not measured on a fleet.
 */
#define CPU_MIN_MEASURED 0.01
#define CAPACITY_SPREAD_MAX 4.0

static int
takes_live(const struct pa_server *s)
{
	return s->ready && s->live_fraction > 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
pa_pool_takes_live(const struct pa_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (takes_live(&p->v[i]))
			return 1;
	return 0;
}

/*
 * Store in cap[i] the capacity of each live server relative to its peers,
 * which is the share of live traffic it had over the utilization that the
 * share caused.  A live server whose capacity cannot be measured, because
 * it has no CPU reading (cpu[i] is NAN), no share or a near-idle reading,
 * gets the median.  Servers that take no live traffic get 0.
 */
static void
relative_capacity(const struct pa_pool *p, const double *cpu, double *cap)
{
	double *measured = pa_xmalloc(p->n * sizeof *measured), median = 1;
	size_t nmeasured = 0;
	int any_prior = 0;

	/* Without shares from an earlier run, the router is taken to split traffic equally. */
	for (size_t i = 0; i < p->n; i++)
		if (isfinite(p->v[i].prior_share))
			any_prior = 1;

	for (size_t i = 0; i < p->n; i++) {
		double share = any_prior ? p->v[i].prior_share : 1;

		cap[i] = NAN;
		if (!takes_live(&p->v[i]))
			continue;
		if (isfinite(share) && share > 0 && !isnan(cpu[i]) && cpu[i] >= CPU_MIN_MEASURED) {
			cap[i] = share / cpu[i];
			measured[nmeasured++] = cap[i];
		}
	}
	if (nmeasured > 0) {
		qsort(measured, nmeasured, sizeof *measured, cmp_double);
		median = nmeasured % 2 ? measured[nmeasured / 2]
				       : (measured[nmeasured / 2 - 1] + measured[nmeasured / 2]) / 2;
	}

	for (size_t i = 0; i < p->n; i++) {
		if (!takes_live(&p->v[i]))
			cap[i] = 0;
		else if (isnan(cap[i]))
			cap[i] = median;
		else
			cap[i] = fmin(fmax(cap[i], median / CAPACITY_SPREAD_MAX),
				      median * CAPACITY_SPREAD_MAX);
	}
	free(measured);
}

double
pa_route_capacity_weights(struct pa_pool *p, const double *cpu,
			  const struct pa_capacity_model *m)
{
	double *cap = pa_xmalloc(p->n * sizeof *cap);
	double counted = 0, capacity_sum = 0, read_capacity = 0, work = 0, predicted = NAN;

	relative_capacity(p, cpu, cap);
	for (size_t i = 0; i < p->n; i++) {
		counted += takes_live(&p->v[i]) ? p->v[i].live_fraction : 0;
		capacity_sum += p->v[i].live_fraction * cap[i];
	}

	/*
	 * Scale the capacities so that each live instance is one instance of
	 * --capacity on average, and one being promoted counts as its step of
	 * one.  The current work of an instance with a reading, in those units,
	 * is its utilization times its capacity.  The work of one without a
	 * reading is unknown, so the current load is read from the others.
	 */
	if (counted > 0 && capacity_sum > 0) {
		for (size_t i = 0; i < p->n; i++) {
			cap[i] *= counted / capacity_sum;
			if (!takes_live(&p->v[i]) || isnan(cpu[i]))
				continue;
			work += cpu[i] * cap[i];
			read_capacity += p->v[i].live_fraction * cap[i];
		}
		if (isfinite(m->demand) && m->capacity > 0)
			predicted = m->demand / (m->capacity * counted);
		else if (isfinite(m->expected_utilization))
			predicted = m->expected_utilization;
		else if (read_capacity > 0)
			predicted = work / read_capacity;
	}

	/*
	 * Weights in proportion to capacity give each serving instance the
	 * same predicted utilization, and one being promoted its step of it.
	 * They do so even when that utilization is unknown.
	 */
	for (size_t i = 0; i < p->n; i++) {
		struct pa_server *s = &p->v[i];

		s->raw = 0;
		if (!s->ready) {
			s->spare = 0;
		} else if (s->live_fraction <= 0) {
			/* Without live traffic an instance keeps the load it has now. */
			s->spare = isnan(cpu[i]) ? NAN : fmax(0, m->max_utilization - cpu[i]);
		} else {
			s->raw = s->live_fraction * cap[i];
			s->spare = isnan(predicted) ? NAN
				 : fmax(0, m->max_utilization - s->live_fraction * predicted);
		}
	}
	free(cap);
	return predicted;
}

const char *
pa_phase_name(enum pa_phase ph)
{
	switch (ph) {
	case PA_PHASE_SERVING:
		return "serving";
	case PA_PHASE_SHADOW:
		return "shadow";
	case PA_PHASE_PROMOTING:
		return "promoting";
	case PA_PHASE_ROLLED_BACK:
		return "rolled_back";
	}
	return "serving";
}

void
pa_emit_haproxy(FILE *fp, const struct pa_pool *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct pa_server *s = &p->v[i];

		/*
		 * HAProxy keeps a drained server out of the balancing whatever its
		 * weight, and an earlier run may have drained this one, so every
		 * serving server is set ready again.  The command is idempotent.
		 */
		if (!s->ready || s->phase == PA_PHASE_ROLLED_BACK)
			fprintf(fp, "set server %s/%s state drain\n", p->backend, s->name);
		else if (s->phase == PA_PHASE_SERVING || s->phase == PA_PHASE_PROMOTING)
			fprintf(fp, "set server %s/%s state ready\n", p->backend, s->name);
		fprintf(fp, "set server %s/%s weight %d\n", p->backend, s->name, s->weight);
	}
}

void
pa_emit_haproxy_config(FILE *fp, const struct pa_pool *p)
{
	fprintf(fp, "backend %s\n", p->backend);
	for (size_t i = 0; i < p->n; i++) {
		const struct pa_server *s = &p->v[i];

		fprintf(fp, "    server %s %s weight %d\n", s->name, s->addr, s->weight);
	}
}

/*
 * Name the split_clients variable of a backend.  nginx variable names take
 * only letters, digits and _, so _ is the escape: _ becomes __, and - . :
 * become _h _d _c.  Distinct backend names such as "a-b" and "a_b" then
 * get distinct variables.  size must hold "pa_mirror_" and twice the
 * backend name.
 */
static void
var_name(char *buf, size_t size, const char *backend)
{
	size_t o = (size_t)snprintf(buf, size, "pa_mirror_");

	for (const char *c = backend; *c && o + 2 < size; c++) {
		char code = 0;

		if (*c == '_')
			code = '_';
		else if (*c == '-')
			code = 'h';
		else if (*c == '.')
			code = 'd';
		else if (*c == ':')
			code = 'c';
		if (code == 0) {
			buf[o++] = *c;
		} else {
			buf[o++] = '_';
			buf[o++] = code;
		}
	}
	buf[o] = '\0';
}

static int
has_shadow(const struct pa_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].phase == PA_PHASE_SHADOW && p->v[i].ready && p->v[i].mirror > 0)
			return 1;
	return 0;
}

static double
mirror_share(const struct pa_pool *p)
{
	double share = 0;

	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].phase == PA_PHASE_SHADOW && p->v[i].ready)
			share += p->v[i].mirror;
	return fmin(share, 1);
}

void
pa_emit_nginx(FILE *fp, const struct pa_pool *p)
{
	char var[16 + 2 * 100];	/* a backend name has at most 100 bytes */

	fprintf(fp, "upstream %s {\n", p->backend);
	for (size_t i = 0; i < p->n; i++) {
		const struct pa_server *s = &p->v[i];

		if (s->phase == PA_PHASE_SHADOW)
			continue;
		if (s->weight > 0)
			fprintf(fp, "    server %s weight=%d;\n", s->addr, s->weight);
		else
			fprintf(fp, "    server %s down;\n", s->addr);
	}
	fprintf(fp, "}\n");
	if (!has_shadow(p))
		return;

	/* The mirror subrequest goes out for every request; split_clients picks the share kept. */
	fprintf(fp, "upstream %s_shadow {\n", p->backend);
	for (size_t i = 0; i < p->n; i++) {
		const struct pa_server *s = &p->v[i];

		if (s->phase == PA_PHASE_SHADOW && s->ready && s->mirror > 0)
			fprintf(fp, "    server %s;\n", s->addr);
	}
	fprintf(fp, "}\n");
	var_name(var, sizeof var, p->backend);
	fprintf(fp, "split_clients \"${request_id}\" $%s {\n", var);
	fprintf(fp, "    %.2f%% 1;\n", mirror_share(p) * 100);
	fprintf(fp, "    * \"\";\n}\n");
}

void
pa_emit_nginx_locations(FILE *fp, const struct pa_pool *p)
{
	char var[16 + 2 * 100];	/* a backend name has at most 100 bytes */

	fprintf(fp, "# add \"mirror /_pa_mirror/%s;\" to the location that proxies to %s\n",
		p->backend, p->backend);
	fprintf(fp, "location = /_pa_mirror/%s {\n", p->backend);
	fprintf(fp, "    internal;\n");

	/*
	 * Without a shadow the location still returns 204 to the mirror
	 * subrequest, because nginx would otherwise pass it on to the serving
	 * location and so to the live upstream a second time.
	 */
	if (!has_shadow(p)) {
		fprintf(fp, "    return 204;\n}\n");
		return;
	}
	var_name(var, sizeof var, p->backend);
	fprintf(fp, "    if ($%s = \"\") {\n        return 204;\n    }\n", var);
	fprintf(fp, "    proxy_pass http://%s_shadow$request_uri;\n", p->backend);
	fprintf(fp, "}\n");
}

void
pa_emit_envoy(FILE *fp, const struct pa_pool *p)
{
	fprintf(fp, "- name: %s\n  match:\n    prefix: \"/\"\n  route:\n", p->backend);
	fprintf(fp, "    weighted_clusters:\n      clusters:\n");
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].weight > 0)
			fprintf(fp, "      - name: %s\n        weight: %d\n", p->v[i].name,
				p->v[i].weight);
	if (!has_shadow(p))
		return;
	fprintf(fp, "    request_mirror_policies:\n");
	for (size_t i = 0; i < p->n; i++) {
		const struct pa_server *s = &p->v[i];

		if (s->phase != PA_PHASE_SHADOW || !s->ready || s->mirror <= 0)
			continue;
		/* Parts per million, so a share such as 0.5% stays exact. */
		fprintf(fp, "    - cluster: %s\n      runtime_fraction:\n", s->name);
		fprintf(fp, "        default_value:\n          numerator: %ld\n"
			"          denominator: MILLION\n", lround(s->mirror * 1e6));
		fprintf(fp, "        runtime_key: pa.mirror.%s.%s\n", p->backend, s->name);
	}
}

void
pa_emit_istio(FILE *fp, const struct pa_pool *p, const char *host)
{
	const char *h = host ? host : p->backend;
	const struct pa_server *mirror = NULL;

	fprintf(fp, "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n");
	fprintf(fp, "metadata:\n  name: %s\nspec:\n  hosts:\n  - %s\n  http:\n  - route:\n",
		p->backend, h);
	for (size_t i = 0; i < p->n; i++) {
		const struct pa_server *s = &p->v[i];

		if (s->phase == PA_PHASE_SHADOW && s->ready && s->mirror > 0 && mirror == NULL)
			mirror = s;
		if (s->weight > 0)
			fprintf(fp, "    - destination:\n        host: %s\n        subset: %s\n"
				"      weight: %d\n", h, s->name, s->weight);
	}
	if (mirror != NULL) {
		/* NOTE: a VirtualService route has one mirror; further shadows are left out. */
		fprintf(fp, "    mirror:\n      host: %s\n      subset: %s\n", h, mirror->name);
		fprintf(fp, "    mirrorPercentage:\n      value: %.4g\n", mirror->mirror * 100);
	}
	fprintf(fp, "---\n");
}

json_t *
pa_route_record(const struct pa_pool *p)
{
	json_t *rec = json_object(), *arr = json_array();
	double sum = 0;

	for (size_t i = 0; i < p->n; i++)
		sum += p->v[i].weight;
	json_object_set_new(rec, "kind", json_string("route"));
	json_object_set_new(rec, "backend", json_string(p->backend));
	if (p->series != NULL)
		json_object_set_new(rec, "tenant_service_name", json_string(p->series));
	for (size_t i = 0; i < p->n; i++) {
		const struct pa_server *s = &p->v[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(s->name));
		if (s->addr != NULL)
			json_object_set_new(o, "addr", json_string(s->addr));
		json_object_set_new(o, "weight", json_integer(s->weight));
		pa_rec_set_num(o, "share", sum > 0 ? round(s->weight / sum * 1e6) / 1e6 : 0);
		json_object_set_new(o, "ready", json_boolean(s->ready));
		json_object_set_new(o, "phase", json_string(pa_phase_name(s->phase)));
		if (s->phase == PA_PHASE_SHADOW)
			pa_rec_set_num(o, "mirror", round(s->mirror * 1e6) / 1e6);
		json_array_append_new(arr, o);
	}
	json_object_set_new(rec, "servers", arr);
	return rec;
}

/* Return whether two names are one, without regard to case when nocase is set. */
static int
same_name(int nocase, const char *a, const char *b)
{
	return nocase ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

/* A backend name and the index of its pool, sorted to find names that clash. */
struct name_key {
	const char *name;
	size_t pool;
};

static int
cmp_key_exact(const void *a, const void *b)
{
	const struct name_key *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->pool > y->pool) - (x->pool < y->pool);
}

/* nginx ignores the case of upstream names, so its formats sort without it. */
static int
cmp_key_nocase(const void *a, const void *b)
{
	const struct name_key *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);

	return c != 0 ? c : (x->pool > y->pool) - (x->pool < y->pool);
}

/* Names alone, for bsearch() over keys sorted by cmp_key_nocase(). */
static int
cmp_name_nocase(const void *a, const void *b)
{
	return strcasecmp(((const struct name_key *)a)->name, ((const struct name_key *)b)->name);
}

#define CLASH_NAMES_SHOWN 5	/* series named per clash; the rest are counted */

/* Name the series of keys[0..k-1], which share one backend name, and mark them in clash[]. */
static void
report_group(int nginx, const struct pa_pool *pools, const struct name_key *keys, size_t k,
	     char *clash)
{
	const char *noun = nginx ? "upstream" : "backend";
	size_t shown = k < CLASH_NAMES_SHOWN ? k : CLASH_NAMES_SHOWN, used = 0;
	int case_differs = 0;
	char names[CLASH_NAMES_SHOWN * 260 + 40];

	for (size_t m = 0; m < k; m++) {
		clash[keys[m].pool] = 1;
		if (strcmp(keys[m].name, keys[0].name) != 0)
			case_differs = 1;
	}

	/* List every series, as in "a", "b" and "c", or else five and a count of the rest. */
	for (size_t m = 0; m < shown; m++) {
		const char *series = pools[keys[m].pool].series;
		const char *sep = m == 0 ? "" : (m == k - 1 ? " and " : ", ");

		used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", sep,
					 pa_quote(series, strlen(series)));
	}
	if (k > shown)
		snprintf(names + used, sizeof names - used, " and %zu more", k - shown);

	pa_warn("%s: the series %s %s to this %s name%s, so %s written (give each "
		"series its own name with --backend)", keys[0].name, names,
		k > 2 ? "all map" : "both map", noun,
		case_differs ? ", which nginx reads without regard to case" : "",
		k > 2 ? "none is" : "neither is");
}

void
pa_route_find_clashes(const struct pa_pool *pools, size_t n, int nginx, int shadows, char *clash)
{
	int (*cmp)(const void *, const void *) = nginx ? cmp_key_nocase : cmp_key_exact;
	struct name_key *keys = pa_xcalloc(n, sizeof *keys);

	/* Once sorted, names that clash are neighbours. */
	for (size_t i = 0; i < n; i++) {
		keys[i].name = pools[i].backend;
		keys[i].pool = i;
	}
	qsort(keys, n, sizeof *keys, cmp);
	for (size_t start = 0, end; start < n; start = end) {
		for (end = start + 1; end < n; end++)
			if (!same_name(nginx, keys[end].name, keys[start].name))
				break;
		if (end - start > 1)
			report_group(nginx, pools, keys + start, end - start, clash);
	}

	/* The case-blind search below relies on the nginx order of the keys. */
	if (nginx && shadows) {
		for (size_t i = 0; i < n; i++) {
			const struct pa_pool *b = &pools[i];
			size_t size = strlen(b->backend) + sizeof "_shadow";
			char *shadow = pa_xmalloc(size);
			struct name_key want = { shadow, 0 };
			const struct name_key *hit;

			snprintf(shadow, size, "%s_shadow", b->backend);
			hit = bsearch(&want, keys, n, sizeof *keys, cmp_name_nocase);
			if (hit != NULL) {
				const struct pa_pool *a = &pools[hit->pool];

				pa_warn("%s: the series %s maps to this upstream name, which is also "
					"the shadow upstream of %s, so neither is written (give each "
					"series its own name with --backend)", a->backend,
					pa_quote(a->series, strlen(a->series)),
					pa_quote(b->series, strlen(b->series)));
				clash[hit->pool] = 1;
				clash[i] = 1;
			}
			free(shadow);
		}
	}
	free(keys);
}

/* The fleet: usage, forecasts and plans gathered per series. */

struct instance {
	char *id, *server, *addr;
	double cpu;
	int ready;
	pa_usec_t ts, started;

	/* The input line of the latest sample, to reject it after all input. */
	char *where, *line;
	size_t len;
	long lineno;
	long seq;		/* read order of that line */
	int line_rejected;	/* that line was rejected already, for its cpu_usage */
};

/*
 * An input line that a series took, kept so that a clash of backend names,
 * found only after all input, can reject the series' lines.
 */
struct held_line {
	size_t file;		/* index into the fleet's file names */
	long lineno;
	long seq;		/* read order */
	char *text;		/* NULL unless the fleet keeps text */
	size_t len;
	int rejected;		/* already rejected, for a duplicate server name */
};

struct series {
	char *name, *tenant, *service;
	struct instance *inst;
	size_t n, cap;
	struct held_line *held;
	size_t nheld, heldcap;
	double demand;		/* work units per second, NAN when no forecast */
	pa_usec_t forecast_ts;
	pa_usec_t issued_at;	/* issue of the forecast kept; PA_USEC_MIN when unstamped */
	double expected_utilization;
	pa_usec_t plan_ts;
	long records;		/* usage, forecast and plan records taken */
};

struct pa_fleet {
	struct series *v;
	size_t n, cap;
	pa_usec_t latest;
	long lines;		/* lines taken, to order rejections as read */
	enum pa_fleet_keep keep;
	char **files;		/* names of the inputs of held lines, in read order */
	size_t nfiles;
};

static void
instance_free(struct instance *in)
{
	free(in->id);
	free(in->server);
	free(in->addr);
	free(in->where);
	free(in->line);
}

struct pa_fleet *
pa_fleet_new(enum pa_fleet_keep keep)
{
	struct pa_fleet *f = calloc(1, sizeof *f);

	if (f == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	f->keep = keep;
	return f;
}

/* Count a line that series s took, keep what the fleet keeps of it, and return its read order. */
static long
series_take_line(struct pa_fleet *f, struct series *s, const char *where, long lineno,
		 const char *text, size_t len)
{
	struct held_line *h;

	s->records++;
	if (f->keep == PA_FLEET_KEEP_NONE)
		return f->lines++;
	if (f->nfiles == 0 || strcmp(f->files[f->nfiles - 1], where) != 0) {
		f->files = pa_xrealloc(f->files, (f->nfiles + 1) * sizeof *f->files);
		f->files[f->nfiles++] = pa_xstrdup(where);
	}
	if (s->nheld == s->heldcap) {
		s->heldcap = s->heldcap ? s->heldcap * 2 : 8;
		s->held = pa_xrealloc(s->held, s->heldcap * sizeof *s->held);
	}
	h = &s->held[s->nheld++];
	memset(h, 0, sizeof *h);
	h->file = f->nfiles - 1;
	h->lineno = lineno;
	h->seq = f->lines;
	if (f->keep == PA_FLEET_KEEP_TEXT) {
		h->text = pa_xmalloc(len + 1);
		memcpy(h->text, text, len);
		h->text[len] = '\0';
		h->len = len;
	}
	return f->lines++;
}

/* Mark the held line of s read at seq as rejected, found by bisection over the read order. */
static void
series_mark_rejected(struct series *s, long seq)
{
	size_t lo = 0, hi = s->nheld;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->held[mid].seq < seq) {
			lo = mid + 1;
		} else if (s->held[mid].seq > seq) {
			hi = mid;
		} else {
			s->held[mid].rejected = 1;
			return;
		}
	}
}

/* Check the len bytes at s as pa_route_name_check checks a whole name. */
static int
name_part_check(const char *s, size_t len, char *why, size_t whysize)
{
	char part[128];

	if (len == 0 || len > 100) {
		snprintf(why, whysize, "must be 1 to 100 bytes");
		return -1;
	}
	memcpy(part, s, len);
	part[len] = '\0';
	return pa_route_name_check(part, 0, why, whysize);
}

static struct series *
series_get(struct pa_fleet *f, const json_t *rec, char *why, size_t whysize, const char **cls)
{
	const char *tsn = pa_rec_str(rec, "tenant_service_name");
	const char *slash = tsn ? strchr(tsn, '/') : NULL, *part = NULL;
	char rule[200];
	struct series *s;

	if (tsn == NULL || slash == NULL || slash == tsn || slash[1] == '\0') {
		snprintf(why, whysize, "field \"tenant_service_name\" is not TENANT/SERVICE: %s",
			 pa_quote_json(json_object_get(rec, "tenant_service_name")));
		*cls = "invalid tenant_service_name";
		return NULL;
	}
	/*
	 * The tenant and the service become part of a backend name in a
	 * router's configuration, where a newline, a space or a brace would
	 * start directives of their own.
	 */
	if (name_part_check(tsn, (size_t)(slash - tsn), rule, sizeof rule) != 0)
		part = "tenant";
	else if (name_part_check(slash + 1, strlen(slash + 1), rule, sizeof rule) != 0)
		part = "service";
	if (part != NULL) {
		snprintf(why, whysize, "field \"tenant_service_name\" %s: %s %s",
			 pa_quote(tsn, strlen(tsn)), part, rule);
		*cls = "invalid name";
		return NULL;
	}
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, tsn) == 0)
			return &f->v[i];
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->v = realloc(f->v, f->cap * sizeof *f->v);
		if (f->v == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
	}
	s = &f->v[f->n++];
	memset(s, 0, sizeof *s);
	s->name = dup_or_null(tsn);
	s->tenant = strndup(tsn, (size_t)(slash - tsn));
	s->service = dup_or_null(slash + 1);
	if (s->tenant == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	s->demand = NAN;
	s->expected_utilization = NAN;
	return s;
}

/* Set why and *cls for a usage record whose cpu_usage is invalid; returns PA_FLEET_REJECTED_KEPT. */
static int
reject_cpu(const char *id, const char *cpu_why, char *why, size_t whysize, const char **cls)
{
	snprintf(why, whysize, "instance %s: %s, so the instance still counts, with no CPU reading",
		 pa_quote(id, strlen(id)), cpu_why);
	*cls = "invalid cpu_usage";
	return PA_FLEET_REJECTED_KEPT;
}

static int
fleet_usage(struct pa_fleet *f, const json_t *rec, const char *where, long lineno,
	    const char *text, size_t len, char *why, size_t whysize, const char **cls)
{
	const char *id = pa_rec_str(rec, "instance_id");
	const char *server = pa_rec_str(rec, "server"), *addr = pa_rec_str(rec, "addr");
	const json_t *ready = json_object_get(rec, "ready");
	char rule[200], cpu_why[200];
	double cpu;
	int cpu_got;
	pa_usec_t ts = 0, started = 0;
	struct series *s;
	struct instance *in = NULL;

	if (id == NULL) {
		snprintf(why, whysize, "field \"instance_id\" is missing or not a string");
		*cls = "missing instance_id";
		return -1;
	}
	if (server != NULL && pa_route_name_check(server, 0, rule, sizeof rule) != 0) {
		snprintf(why, whysize, "instance %s: field \"server\" %s %s",
			 pa_quote(id, strlen(id)), pa_quote(server, strlen(server)), rule);
		*cls = "invalid name";
		return -1;
	}
	if (server == NULL && pa_route_name_check(id, 0, rule, sizeof rule) != 0) {
		snprintf(why, whysize, "instance %s: field \"instance_id\", the server name "
			 "without \"server\", %s", pa_quote(id, strlen(id)), rule);
		*cls = "invalid name";
		return -1;
	}
	if (server == NULL)
		server = id;
	if (addr != NULL && pa_route_name_check(addr, 1, rule, sizeof rule) != 0) {
		snprintf(why, whysize, "instance %s: field \"addr\" %s %s",
			 pa_quote(id, strlen(id)), pa_quote(addr, strlen(addr)), rule);
		*cls = "invalid name";
		return -1;
	}
	if (addr != NULL && pa_route_addr_check(addr, rule, sizeof rule) != 0) {
		snprintf(why, whysize, "instance %s: address %s %s", pa_quote(id, strlen(id)),
			 pa_quote(addr, strlen(addr)), rule);
		*cls = "invalid address";
		return -1;
	}
	/*
	 * As in pa-plan, a cpu_usage beyond PA_USAGE_FRACTION_MAX times the
	 * limit, or below 0, is an exporter fault.  Its record is rejected once
	 * the rest of it has been checked, but the instance is still a server
	 * that takes traffic, so it stays in the pool with no CPU reading.
	 */
	cpu_got = pa_rec_cpu_usage(rec, &cpu, cpu_why, sizeof cpu_why);
	if (cpu_got != 1)
		cpu = NAN;
	if (ready != NULL && !json_is_boolean(ready)) {
		snprintf(why, whysize, "field \"ready\" is not true or false: %s", pa_quote_json(ready));
		*cls = "invalid ready";
		return -1;
	}
	if (pa_rec_time(rec, "ts", &ts) != 1) {
		if (json_object_get(rec, "ts") == NULL)
			snprintf(why, whysize, "missing field \"ts\"");
		else
			snprintf(why, whysize, "field \"ts\" is not a timestamp: %s",
				 pa_quote_json(json_object_get(rec, "ts")));
		*cls = "invalid ts";
		return -1;
	}
	if (pa_rec_time(rec, "started_at", &started) < 0) {
		snprintf(why, whysize, "field \"started_at\" is not a timestamp: %s",
			 pa_quote_json(json_object_get(rec, "started_at")));
		*cls = "invalid started_at";
		return -1;
	}
	s = series_get(f, rec, why, whysize, cls);
	if (s == NULL)
		return -1;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->inst[i].id, id) == 0)
			in = &s->inst[i];
	if (in != NULL && ts < in->ts && cpu_got < 0)
		return reject_cpu(id, cpu_why, why, whysize, cls);
	if (in != NULL && ts < in->ts) {
		series_take_line(f, s, where, lineno, text, len);
		return 1;	/* an older sample than the one kept */
	}

	/* Server names are compared in pa_fleet_reject_duplicates, once staleness is known. */
	if (in == NULL) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 8;
			s->inst = realloc(s->inst, s->cap * sizeof *s->inst);
			if (s->inst == NULL)
				pa_die(PA_EXIT_IO, "out of memory");
		}
		in = &s->inst[s->n++];
		memset(in, 0, sizeof *in);
		in->id = dup_or_null(id);
	}
	free(in->server);
	free(in->addr);
	free(in->where);
	free(in->line);
	in->server = dup_or_null(server);
	in->addr = dup_or_null(addr);
	in->where = dup_or_null(where);
	in->line = pa_xmalloc(len + 1);
	memcpy(in->line, text, len);
	in->line[len] = '\0';
	in->len = len;
	in->lineno = lineno;
	in->seq = series_take_line(f, s, where, lineno, text, len);
	in->cpu = cpu;
	in->ready = ready == NULL || json_is_true(ready);
	in->ts = ts;
	in->started = started;
	in->line_rejected = cpu_got < 0;
	if (ts > f->latest)
		f->latest = ts;
	if (cpu_got < 0) {
		/* Rejected now, so a clash of names must not reject the line again. */
		s->records--;
		series_mark_rejected(s, in->seq);
		return reject_cpu(id, cpu_why, why, whysize, cls);
	}
	return 1;
}

static int
fleet_forecast(struct pa_fleet *f, const json_t *rec, const char *where, long lineno,
	       const char *text, size_t len, char *why, size_t whysize, const char **cls)
{
	double volume, complexity = 1, step;
	pa_usec_t ts = 0, issued = PA_USEC_MIN;
	struct series *s;

	if (pa_rec_num(rec, "predicted_volume", &volume) != 1 || volume < 0 ||
	    pa_rec_num(rec, "step_s", &step) != 1 || step <= 0 ||
	    pa_rec_num(rec, "predicted_complexity", &complexity) < 0 || complexity < 0 ||
	    pa_rec_time(rec, "ts", &ts) != 1) {
		snprintf(why, whysize, "forecast needs a timestamp \"ts\", a positive \"step_s\", "
			 "a non-negative \"predicted_volume\" and, if given, \"predicted_complexity\"; it has "
			 "%s, %s, %s and %s", pa_quote_json(json_object_get(rec, "ts")),
			 pa_quote_json(json_object_get(rec, "step_s")),
			 pa_quote_json(json_object_get(rec, "predicted_volume")),
			 pa_quote_json(json_object_get(rec, "predicted_complexity")));
		*cls = "invalid forecast";
		return -1;
	}
	if (pa_rec_time(rec, "issued_at", &issued) < 0) {
		snprintf(why, whysize, "field \"issued_at\" is not a timestamp: %s",
			 pa_quote_json(json_object_get(rec, "issued_at")));
		*cls = "invalid forecast";
		return -1;
	}
	s = series_get(f, rec, why, whysize, cls);
	if (s == NULL)
		return -1;
	series_take_line(f, s, where, lineno, text, len);

	/*
	 * A file that collects a following forecaster's output contains many
	 * issues, and an older one may target buckets already past, so only
	 * the latest issue counts, as in pa-plan.  Within it the nearest
	 * target bucket is the one the router serves next.
	 */
	if (!isnan(s->demand) && issued < s->issued_at)
		return 1;
	if (isnan(s->demand) || issued > s->issued_at || ts < s->forecast_ts) {
		s->demand = volume * complexity / step;
		s->forecast_ts = ts;
		s->issued_at = issued;
	}
	return 1;
}

static int
fleet_plan(struct pa_fleet *f, const json_t *rec, const char *where, long lineno,
	   const char *text, size_t len, char *why, size_t whysize, const char **cls)
{
	double u;
	pa_usec_t ts = 0;
	struct series *s;
	int got = pa_rec_num(rec, "expected_utilization", &u);

	if (got < 0 || (got == 1 && u < 0)) {
		snprintf(why, whysize, "field \"expected_utilization\" is not a fraction: %s",
			 pa_quote_json(json_object_get(rec, "expected_utilization")));
		*cls = "invalid plan";
		return -1;
	}
	s = series_get(f, rec, why, whysize, cls);
	if (s == NULL)
		return -1;
	series_take_line(f, s, where, lineno, text, len);
	pa_rec_time(rec, "ts", &ts);
	if (got == 1 && (isnan(s->expected_utilization) || ts >= s->plan_ts)) {
		s->expected_utilization = u;
		s->plan_ts = ts;
	}
	return 1;
}

int
pa_fleet_add(struct pa_fleet *f, const json_t *rec, const char *where, long lineno,
	     const char *text, size_t len, char *why, size_t whysize, const char **cls)
{
	const char *kind = pa_rec_kind(rec);

	if (kind == NULL)
		return 0;
	if (strcmp(kind, "usage") == 0)
		return fleet_usage(f, rec, where, lineno, text, len, why, whysize, cls);
	if (strcmp(kind, "forecast") == 0)
		return fleet_forecast(f, rec, where, lineno, text, len, why, whysize, cls);
	if (strcmp(kind, "plan") == 0)
		return fleet_plan(f, rec, where, lineno, text, len, why, whysize, cls);
	return 0;
}

#define STALE_NAMES_SHOWN 5	/* left-out instances named per series; the rest are counted */

void
pa_fleet_drop_stale(struct pa_fleet *f, pa_usec_t window)
{
	for (size_t i = 0; i < f->n; i++) {
		struct series *s = &f->v[i];
		pa_usec_t latest = PA_USEC_MIN;
		char names[600], when[40], newest[40];
		size_t kept = 0, dropped = 0, used = 0;

		for (size_t k = 0; k < s->n; k++)
			if (s->inst[k].ts > latest)
				latest = s->inst[k].ts;

		names[0] = '\0';
		for (size_t k = 0; k < s->n; k++) {
			struct instance *in = &s->inst[k];

			if (latest - in->ts <= window) {
				s->inst[kept++] = *in;
				continue;
			}
			if (dropped < STALE_NAMES_SHOWN && used < sizeof names)
				used += (size_t)snprintf(names + used, sizeof names - used, "%s%s (%s)",
							 dropped ? ", " : "",
							 pa_quote(in->id, strlen(in->id)),
							 pa_time_format(in->ts, when, sizeof when));
			dropped++;
			instance_free(in);
		}
		s->n = kept;
		if (dropped == 0)
			continue;

		/* A silent instance may be gone, so weighting it as live would send it traffic. */
		pa_time_format(latest, newest, sizeof newest);
		if (dropped > STALE_NAMES_SHOWN)
			pa_warn("%s: %zu instances left out, because their latest usage sample is "
				"more than --usage-window before the series' latest at %s: %s and %zu "
				"more", s->name, dropped, newest, names, dropped - STALE_NAMES_SHOWN);
		else
			pa_warn("%s: %zu instance%s left out, because %s latest usage sample is "
				"more than --usage-window before the series' latest at %s: %s",
				s->name, dropped, dropped == 1 ? "" : "s", dropped == 1 ? "its" : "their",
				newest, names);
	}
}

/* An instance that takes a server name already taken, and the instance that has it. */
struct duplicate {
	struct series *series;
	size_t taker, holder;
};

static int
cmp_duplicate_seq(const void *a, const void *b)
{
	const struct duplicate *x = a, *y = b;
	long p = x->series->inst[x->taker].seq, q = y->series->inst[y->taker].seq;

	return (p > q) - (p < q);
}

void
pa_fleet_reject_duplicates(struct pa_fleet *f,
			   void (*rejected)(const char *where, long lineno, void *arg), void *arg)
{
	struct duplicate *dup = NULL;
	size_t ndup = 0, cap = 0;

	/*
	 * Instances are kept in the order they were first seen, so the one
	 * seen first keeps the name.  A rejected instance takes no name from
	 * the ones after it.
	 */
	for (size_t i = 0; i < f->n; i++) {
		struct series *s = &f->v[i];
		char *rejected = pa_xcalloc(s->n ? s->n : 1, 1);

		for (size_t k = 0; k < s->n; k++) {
			for (size_t j = 0; j < k; j++) {
				if (rejected[j] || strcmp(s->inst[j].server, s->inst[k].server) != 0)
					continue;
				if (ndup == cap) {
					cap = cap ? cap * 2 : 8;
					dup = realloc(dup, cap * sizeof *dup);
					if (dup == NULL)
						pa_die(PA_EXIT_IO, "out of memory");
				}
				dup[ndup++] = (struct duplicate){ s, k, j };
				rejected[k] = 1;
				break;
			}
		}
		free(rejected);
	}

	/* Report in the order the lines were read, as a rejection on intake would. */
	if (ndup > 1)
		qsort(dup, ndup, sizeof *dup, cmp_duplicate_seq);
	for (size_t d = 0; d < ndup; d++) {
		struct series *s = dup[d].series;
		const struct instance *in = &s->inst[dup[d].taker];
		const struct instance *holder = &s->inst[dup[d].holder];

		/* A line rejected for its cpu_usage is not rejected twice, but the instance still goes. */
		if (in->line_rejected) {
			pa_warn("%s:%ld: instance %s: server name %s is already that of instance %s "
				"in %s, so the instance is left out", in->where, in->lineno,
				pa_quote(in->id, strlen(in->id)), pa_quote(in->server, strlen(in->server)),
				pa_quote(holder->id, strlen(holder->id)), pa_quote(s->name, strlen(s->name)));
			continue;
		}
		pa_reject(in->where, in->lineno, in->line, in->len, "duplicate server name",
			  "instance %s: server name %s is already that of instance %s in %s",
			  pa_quote(in->id, strlen(in->id)), pa_quote(in->server, strlen(in->server)),
			  pa_quote(holder->id, strlen(holder->id)), pa_quote(s->name, strlen(s->name)));
		if (rejected != NULL)
			rejected(in->where, in->lineno, arg);
		/* Rejected now, so a clash of names must not reject it again. */
		s->records--;
		series_mark_rejected(s, in->seq);
	}

	/* Remove the rejected instances, which dup indexes, only once the messages are out. */
	for (size_t d = 0; d < ndup; d++)
		dup[d].series->inst[dup[d].taker].seq = -1;
	for (size_t i = 0; i < f->n; i++) {
		struct series *s = &f->v[i];
		size_t kept = 0;

		for (size_t k = 0; k < s->n; k++) {
			if (s->inst[k].seq < 0)
				instance_free(&s->inst[k]);
			else
				s->inst[kept++] = s->inst[k];
		}
		s->n = kept;
	}
	free(dup);
}

static int
cmp_series(const void *a, const void *b)
{
	const struct series *x = a, *y = b;

	if ((x->n == 0) != (y->n == 0))
		return x->n == 0 ? 1 : -1;
	return strcmp(x->name, y->name);
}

size_t
pa_fleet_series(struct pa_fleet *f)
{
	size_t n = 0;

	if (f->n > 1)
		qsort(f->v, f->n, sizeof *f->v, cmp_series);
	while (n < f->n && f->v[n].n > 0)
		n++;
	return n;
}

const char *
pa_fleet_series_name(const struct pa_fleet *f, size_t i)
{
	return f->v[i].name;
}

size_t
pa_fleet_unread(const struct pa_fleet *f, size_t i, const char **first)
{
	const struct series *s = &f->v[i];
	size_t n = 0;

	*first = NULL;
	for (size_t k = 0; k < s->n; k++) {
		if (!isnan(s->inst[k].cpu))
			continue;
		if (n++ == 0)
			*first = s->inst[k].id;
	}
	return n;
}

long
pa_fleet_records(const struct pa_fleet *f, size_t i)
{
	return f->v[i].records;
}

static int
cmp_held_seq(const void *a, const void *b)
{
	const struct held_line *x = *(const struct held_line *const *)a;
	const struct held_line *y = *(const struct held_line *const *)b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

void
pa_fleet_reject_series(struct pa_fleet *f, const char *reject, size_t nseries,
		       const char *reason_class,
		       void (*rejected)(const char *where, long lineno, void *arg), void *arg)
{
	const struct held_line **lines = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < nseries && i < f->n; i++) {
		struct series *s = &f->v[i];

		if (!reject[i])
			continue;
		pa_reject_records(s->records, reason_class);
		for (size_t k = 0; k < s->nheld; k++) {
			if (s->held[k].rejected)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				lines = pa_xrealloc(lines, cap * sizeof *lines);
			}
			lines[n++] = &s->held[k];
		}
	}

	/* Copy in the order the lines were read, as rejections on intake would be. */
	if (n > 1)
		qsort(lines, n, sizeof *lines, cmp_held_seq);
	for (size_t k = 0; k < n; k++) {
		if (lines[k]->text != NULL)
			pa_rejects_copy(lines[k]->text, lines[k]->len);
		if (rejected != NULL)
			rejected(f->files[lines[k]->file], lines[k]->lineno, arg);
	}
	free(lines);
}

double
pa_fleet_demand(const struct pa_fleet *f, size_t i)
{
	return f->v[i].demand;
}

pa_usec_t
pa_fleet_latest(const struct pa_fleet *f)
{
	return f->latest;
}

void
pa_fleet_pool(const struct pa_fleet *f, size_t i, const char *backend_template,
	      struct pa_pool *out)
{
	const struct series *s = &f->v[i];

	memset(out, 0, sizeof *out);
	out->backend = pa_template_expand(backend_template, s->tenant, s->service);
	out->series = dup_or_null(s->name);
	for (size_t k = 0; k < s->n; k++) {
		pa_pool_add(out, s->inst[k].server, s->inst[k].addr, 0, s->inst[k].ready);
		out->v[k].started = s->inst[k].started;
	}
}

double
pa_fleet_weights(const struct pa_fleet *f, size_t i, const struct pa_capacity_model *m,
		 struct pa_pool *pool)
{
	const struct series *s = &f->v[i];
	struct pa_capacity_model model = *m;
	double *cpu = malloc((s->n ? s->n : 1) * sizeof *cpu), predicted;

	if (cpu == NULL)
		pa_die(PA_EXIT_IO, "out of memory");

	/* pa_fleet_pool added one server per instance, in the same order. */
	for (size_t k = 0; k < s->n; k++)
		cpu[k] = s->inst[k].cpu;
	model.demand = s->demand;
	model.expected_utilization = s->expected_utilization;
	predicted = pa_route_capacity_weights(pool, cpu, &model);
	free(cpu);
	return predicted;
}

void
pa_fleet_free(struct pa_fleet *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		struct series *s = &f->v[i];

		for (size_t k = 0; k < s->n; k++)
			instance_free(&s->inst[k]);
		for (size_t k = 0; k < s->nheld; k++)
			free(s->held[k].text);
		free(s->held);
		free(s->inst);
		free(s->name);
		free(s->tenant);
		free(s->service);
	}
	for (size_t i = 0; i < f->nfiles; i++)
		free(f->files[i]);
	free(f->files);
	free(f->v);
	free(f);
}
