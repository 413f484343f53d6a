/*
 * route.h - router weights and the emitters that write them.
 *
 * A pool is one HAProxy backend or nginx upstream: servers with a raw
 * weight (any non-negative scale), readiness, and an optional mirrored
 * share for a shadow server.  Raw weights come either from route records
 * that give them directly or from pa_route_capacity_weights, which weighs
 * each instance by its capacity inferred from its load.  Each router then
 * gets integers in its own range:
 *
 *	HAProxy	0-256, the largest weight scaled to 256; 0 takes no new traffic
 *	nginx	positive integers reduced by their common divisor; 0 is "down"
 *	Envoy, Istio	integer percentages that sum to exactly 100
 *
 * Ratios are kept to the precision of each range.  Strings in a pool are
 * owned by the pool.
 */
#ifndef PA_ROUTE_H
#define PA_ROUTE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "timeutil.h"

#define PA_HAPROXY_WEIGHT_MAX 256
#define PA_NGINX_WEIGHT_MAX 1000	/* a bound of ours: nginx sets none */

/* Usage age at which an instance is left out, as pa-plan's --usage-window default. */
#define PA_ROUTE_USAGE_WINDOW_DEFAULT (5 * 60 * PA_USEC_PER_SEC)

enum pa_phase {
	PA_PHASE_SERVING,	/* takes live traffic by its weight */
	PA_PHASE_SHADOW,	/* takes only a mirrored share, no live traffic */
	PA_PHASE_PROMOTING,	/* validated; live weight cut to a step of its share */
	PA_PHASE_ROLLED_BACK	/* failed validation; drained */
};

struct pa_server {
	char *name;		/* HAProxy server name; for nginx the address is used */
	char *addr;		/* host:port, or NULL when unknown */
	double raw;		/* weight on any scale, >= 0 */
	int ready;		/* 0: drained, weight 0 whatever raw says */
	enum pa_phase phase;
	double live_fraction;	/* share of its full weight it takes: 0 shadow, a step promoting */
	double spare;		/* utilization left under the maximum, NAN when unknown */
	double prior_share;	/* share of live traffic when cpu_usage was read, NAN unknown */
	pa_usec_t started;	/* when the instance started, 0 when unknown */
	double mirror;		/* share of requests mirrored to it, 0-1 (shadow only) */
	int weight;		/* scaled for the router being written */
};

struct pa_pool {
	char *backend;		/* HAProxy backend or nginx upstream name */
	char *series;		/* tenant_service_name, or NULL */
	const char *noun;	/* "backend" or "upstream" for messages; NULL: backend */
	struct pa_server *v;
	size_t n, cap;
};

void pa_pool_add(struct pa_pool *p, const char *name, const char *addr, double raw, int ready);
void pa_pool_free(struct pa_pool *p);

/*
 * Names that reach a router configuration: letters, digits, and - _ . :
 * (addresses may also hold [ ] for IPv6), 1-100 bytes.  Returns 0, or -1
 * with the reason in why.
 */
int pa_route_name_check(const char *s, int is_addr, char *why, size_t whysize);

/*
 * Check a server address as pa_route_name_check does, then its form:
 * HOST:PORT with a port from 1 to 65535, where HOST is an IPv4 address, a
 * DNS name or an IPv6 address in brackets ([::1]:80).  Returns 0, or -1
 * with the reason in why, to follow the quoted address.
 */
int pa_route_addr_check(const char *addr, char *why, size_t whysize);

/*
 * Read a route record: backend (or upstream) and servers (or backends),
 * each with name and/or addr and a weight.  Returns 0 and fills pool, or
 * -1 with a message naming the backend, the server and the bad value in
 * why, and a fixed phrase in *reason_class.  Borrows rec.
 */
int pa_route_from_record(const json_t *rec, struct pa_pool *pool, char *why, size_t whysize,
			 const char **reason_class);

/*
 * Scale the live weights (ready servers not in shadow) into each router's
 * range, storing them in weight.  Returns 0, or -1 when no server would
 * take live traffic, with the reason in why.
 */
int pa_route_scale_haproxy(struct pa_pool *p, char *why, size_t whysize);
int pa_route_scale_nginx(struct pa_pool *p, char *why, size_t whysize);
int pa_route_scale_percent(struct pa_pool *p, char *why, size_t whysize);

/*
 * Inputs to capacity weights for one series.  demand is predicted work
 * per second (NAN when there is no forecast), expected_utilization the
 * plan's (NAN when absent).
 */
struct pa_capacity_model {
	double capacity;	/* work units per second one instance handles */
	double max_utilization;	/* utilization counted as full, 0-1 */
	double demand;
	double expected_utilization;
};

/*
 * Set raw weights in proportion to each live instance's capacity, so the
 * predicted utilization is the same on every instance that takes live
 * traffic.  cpu[i] is instance i's current utilization (0-1), caused by
 * its prior_share of the live traffic, so prior_share / cpu[i] measures
 * its capacity against its peers'.  cpu[i] is NAN when the instance has
 * no valid reading.  When no server has a prior_share, the ready ones are
 * taken to have had equal shares.  An instance whose capacity cannot be
 * measured, because it has no reading, had no share or its cpu is near
 * idle, gets the median capacity.  Capacities are scaled so that each
 * live instance counts as one instance of m->capacity on average.
 *
 * A live instance counts as live_fraction of itself: its raw weight is
 * live_fraction times its capacity, so its utilization is live_fraction
 * times that of a serving one.  A server with live_fraction 0 gets raw 0
 * and the spare its current load leaves, NAN without a reading.  Returns
 * the predicted utilization of a serving instance: the demand over the
 * capacity of the live instances, else the plan's expected_utilization,
 * else the current work of the live instances with a reading over their
 * capacity.  Returns NAN when no instance takes live traffic, and also
 * when there is no demand, no plan and no live instance with a reading.
 * The live instances then still get raw weights by capacity, and their
 * spare is NAN.
 */
double pa_route_capacity_weights(struct pa_pool *p, const double *cpu,
				 const struct pa_capacity_model *m);

/* Return 1 when a server of p is ready and takes live traffic, else 0. */
int pa_pool_takes_live(const struct pa_pool *p);

/*
 * Emitters.  Each writes one pool to fp, assuming the matching
 * pa_route_scale_* succeeded.  Shadow upstream, variable and location
 * names are derived from the backend name.
 */
void pa_emit_haproxy(FILE *fp, const struct pa_pool *p);	/* runtime API commands */
void pa_emit_haproxy_config(FILE *fp, const struct pa_pool *p);	/* backend section */
void pa_emit_nginx(FILE *fp, const struct pa_pool *p);	/* http context */
void pa_emit_nginx_locations(FILE *fp, const struct pa_pool *p);	/* server context */
void pa_emit_envoy(FILE *fp, const struct pa_pool *p);	/* route_config YAML */
void pa_emit_istio(FILE *fp, const struct pa_pool *p, const char *host);	/* VirtualService */

/*
 * Mark in clash[] (n bytes, zeroed by the caller) every pool whose backend
 * name a router would read as another's, and name the series of both on
 * stderr.  Two blocks of one name break an nginx or HAProxy configuration,
 * and the runtime commands of both would set the same servers.  With
 * nginx set, names are compared without regard to case, as nginx compares
 * upstream names.  With shadows also set, a name that is another pool's
 * NAME_shadow upstream clashes too.
 */
void pa_route_find_clashes(const struct pa_pool *pools, size_t n, int nginx, int shadows,
			   char *clash);

/* An NDJSON route record (new reference): weights on the HAProxy scale and shares. */
json_t *pa_route_record(const struct pa_pool *p);

const char *pa_phase_name(enum pa_phase ph);

/*
 * The fleet: instances per series from usage records (the latest record
 * of each instance wins), the forecast for the earliest bucket of the
 * latest issue (issued_at) and the latest plan per series.  The add functions return 1 when the record was taken, 0 when
 * its kind is not theirs, and -1 when it is invalid, with why and
 * *reason_class set.  They borrow rec.
 */
struct pa_fleet;

/*
 * Return of pa_fleet_add for a usage record to reject, with why and
 * *reason_class set, whose instance was kept all the same: its cpu_usage
 * is invalid, so the instance stays in its pool with no CPU reading.
 */
#define PA_FLEET_REJECTED_KEPT 2

/* The parts of each taken line that the fleet keeps for pa_fleet_reject_series. */
enum pa_fleet_keep {
	PA_FLEET_KEEP_NONE,	/* a count per series */
	PA_FLEET_KEEP_PLACE,	/* also the file name and line number, to leave it out */
	PA_FLEET_KEEP_TEXT	/* also the text, to copy it to --rejects */
};

struct pa_fleet *pa_fleet_new(enum pa_fleet_keep keep);

/*
 * Take a usage, forecast or plan record.  where, lineno, text and len
 * name the input line, which is kept with a usage sample so that a
 * duplicate server name found after all input can still reject it.
 */
int pa_fleet_add(struct pa_fleet *f, const json_t *rec, const char *where, long lineno,
		 const char *text, size_t len, char *why, size_t whysize,
		 const char **reason_class);
void pa_fleet_free(struct pa_fleet *f);

/*
 * Leave out of each series the instances whose latest usage sample is more
 * than window before the series' latest, with one warning per series that
 * names them.  Call it after all input and before pa_fleet_series.
 */
void pa_fleet_drop_stale(struct pa_fleet *f, pa_usec_t window);

/*
 * Reject, with its latest input line, each instance whose server name is
 * already that of an instance seen earlier in its series, because a
 * router keys servers by name.  Call it after pa_fleet_drop_stale, so a
 * stale instance never takes a name from its replacement.  rejected, when
 * not NULL, is called with each such line's file name and line number,
 * so a caller that held the line back can leave it out.
 */
void pa_fleet_reject_duplicates(struct pa_fleet *f,
				void (*rejected)(const char *where, long lineno, void *arg),
				void *arg);

/* Series with at least one instance, sorted by tenant_service_name. */
size_t pa_fleet_series(struct pa_fleet *f);
const char *pa_fleet_series_name(const struct pa_fleet *f, size_t i);

/*
 * Build series i's pool: backend from the template ({tenant}, {service})
 * and one serving server per instance, with raw weights still 0.
 */
void pa_fleet_pool(const struct pa_fleet *f, size_t i, const char *backend_template,
		   struct pa_pool *out);

/*
 * Set the raw weights of series i's pool, built by pa_fleet_pool, by
 * capacity, after any shadow phases and prior shares are set.  m gives
 * capacity and max_utilization; demand and expected_utilization come from
 * the series' forecast and plan.  Returns what pa_route_capacity_weights
 * returns.
 */
double pa_fleet_weights(const struct pa_fleet *f, size_t i, const struct pa_capacity_model *m,
			struct pa_pool *pool);

/*
 * Count the instances of series i whose latest usage record has no valid
 * cpu_usage, and store the instance_id of the first in *first.
 */
size_t pa_fleet_unread(const struct pa_fleet *f, size_t i, const char **first);

/* Usage, forecast and plan records of series i taken by pa_fleet_add. */
long pa_fleet_records(const struct pa_fleet *f, size_t i);

/*
 * Reject every record of each series i below nseries with reject[i] set,
 * under reason_class, with no message per line because the caller names
 * the reason once.  The lines kept as PA_FLEET_KEEP_TEXT are copied to
 * --rejects in the order read, and rejected, when not NULL, is called
 * with each kept line's file name and line number.  A line already
 * rejected by pa_fleet_reject_duplicates is skipped.  Call it after
 * pa_fleet_series, whose order and count reject follows.
 */
void pa_fleet_reject_series(struct pa_fleet *f, const char *reject, size_t nseries,
			    const char *reason_class,
			    void (*rejected)(const char *where, long lineno, void *arg),
			    void *arg);

/* Predicted demand of series i in work units per second, NAN without a forecast. */
double pa_fleet_demand(const struct pa_fleet *f, size_t i);

/* Latest timestamp of any record the fleet took (0 when none). */
pa_usec_t pa_fleet_latest(const struct pa_fleet *f);

#endif
