/*
 * pa-route - router weights in proportion to each instance's capacity, so
 * predicted demand puts every instance at the same utilization.  Output is
 * HAProxy runtime commands, nginx, Envoy or Istio configuration, or NDJSON
 * route records.  New instances can first take a mirrored share.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "kube.h"
#include "ndjson.h"
#include "opts.h"
#include "route.h"
#include "shadow.h"
#include "stop.h"

enum format {
	FMT_NDJSON,
	FMT_HAPROXY,
	FMT_HAPROXY_CONFIG,
	FMT_NGINX,
	FMT_NGINX_LOCATIONS,
	FMT_ENVOY,
	FMT_ISTIO
};

static const char *format_names[] = { "ndjson", "haproxy", "haproxy-config", "nginx",
				      "nginx-locations", "envoy", "istio" };

enum {
	OPT_FORMAT = 1,
	OPT_BACKEND,
	OPT_CAPACITY,
	OPT_MAX_UTIL,
	OPT_OUTPUT,
	OPT_STATE,
	OPT_MIRROR,
	OPT_WINDOW,
	OPT_MIN_REQUESTS,
	OPT_MAX_ERROR_DELTA,
	OPT_MAX_LATENCY_RATIO,
	OPT_STEPS,
	OPT_ISTIO_HOST,
	OPT_USAGE_WINDOW
};

static const struct option longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "capacity", required_argument, NULL, OPT_CAPACITY },
	{ "max-utilization", required_argument, NULL, OPT_MAX_UTIL },
	{ "output", required_argument, NULL, 'o' },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "mirror", required_argument, NULL, OPT_MIRROR },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "min-requests", required_argument, NULL, OPT_MIN_REQUESTS },
	{ "max-error-delta", required_argument, NULL, OPT_MAX_ERROR_DELTA },
	{ "max-latency-ratio", required_argument, NULL, OPT_MAX_LATENCY_RATIO },
	{ "steps", required_argument, NULL, OPT_STEPS },
	{ "istio-host", required_argument, NULL, OPT_ISTIO_HOST },
	{ "usage-window", required_argument, NULL, OPT_USAGE_WINDOW },
	PA_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

static void
usage(void)
{
	pa_out_printf(
		"usage: pa-route [options] [file ...]\n"
		"Set router weights in proportion to each instance's capacity, read from its\n"
		"CPU use, so predicted demand puts every instance at the same utilization.\n"
		"\n"
		"  -f, --format FORMAT    ndjson (default), haproxy (runtime API commands),\n"
		"                         haproxy-config, nginx, nginx-locations, envoy, istio\n"
		"      --backend TEMPLATE backend or upstream name per series, with {tenant}\n"
		"                         and {service} (default {tenant}-{service})\n"
		"      --usage-window DURATION\n"
		"                         leave out an instance whose latest usage sample is\n"
		"                         more than DURATION before its series' latest (default 5m)\n"
		"      --capacity N       work units per second one instance handles on average;\n"
		"                         with a forecast this gives the predicted utilization\n"
		"      --max-utilization U\n"
		"                         utilization counted as full, 0.01-1 (default 0.9);\n"
		"                         above it a warning says the series needs instances\n"
		"  -o, --output FILE      write to FILE by atomic rename, and only when no\n"
		"                         input was rejected and there is a pool to write\n"
		"      --state FILE       shadow state and the shares written, from which the\n"
		"                         next run reads capacity; new instances first take a\n"
		"                         mirrored share\n"
		"      --mirror SHARE     share of requests mirrored to a new instance,\n"
		"                         0.0001-1 (default 0.05), capped by its spare capacity\n"
		"      --window DURATION  validation window before a shadow is judged (default 10m)\n"
		"      --min-requests N   shadow requests needed to judge it (default 100)\n"
		"      --max-error-delta D\n"
		"                         error rate the shadow may exceed serving by (default 0.01)\n"
		"      --max-latency-ratio R\n"
		"                         mean latency ratio shadow/serving allowed (default 1.2)\n"
		"      --steps LIST       promotion steps in percent of the full weight\n"
		"                         (default 25,50,100)\n"
		"      --istio-host HOST  destination host for the istio format (default backend)\n"
		PA_COMMON_USAGE);
}

/*
 * Output goes through one sink: stdout, or a buffer written to --output
 * only at the end, so a rejected upstream never leaves a half-changed file.
 */
struct sink {
	FILE *mem;
	char *buf;
	size_t len;
	const char *path;
};

static void
sink_write(struct sink *s, const char *text, size_t len)
{
	if (s->path == NULL)
		pa_out_write(text, len);
	else
		fwrite(text, 1, len, s->mem);
}

/*
 * A line of NDJSON output, held back until all input is read.  Only then
 * is a usage line known to take a server name already taken, and a
 * rejected line must not reach both the output and the rejects.
 */
struct pending_line {
	char *text;		/* the whole line, newline included */
	size_t len;
	size_t file;		/* index into ctx.files of the input line it came from */
	long lineno;		/* and that line's number */
	int dropped;
};

struct ctx {
	enum format format;
	struct sink sink;
	int hold_output;	/* NDJSON output waits in pending */
	struct pending_line *pending;
	size_t npending, pending_cap;
	char **files;		/* names of the inputs read, in order */
	size_t nfiles;
	long unknown;		/* records of no kind a pa tool writes, in a text format */
	long consumed;		/* usage and route records read, valid or not */
	const char *name;	/* the input line being read */
	long lineno;
	struct pa_fleet *fleet;
	struct pa_shadow *shadow;
	const char *istio_host;
	int failed;		/* a pool could not be written */
	size_t pools;		/* pools written to the sink */
};

/* Keep one output line that came from input line lineno of name. */
static void
hold_line(struct ctx *cx, const char *name, long lineno, const char *text, size_t len)
{
	struct pending_line *h;

	if (cx->npending == cx->pending_cap) {
		cx->pending_cap = cx->pending_cap ? 2 * cx->pending_cap : 256;
		cx->pending = realloc(cx->pending, cx->pending_cap * sizeof *cx->pending);
		if (cx->pending == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
	}
	h = &cx->pending[cx->npending++];
	if (cx->nfiles == 0 || strcmp(cx->files[cx->nfiles - 1], name) != 0) {
		cx->files = realloc(cx->files, (cx->nfiles + 1) * sizeof *cx->files);
		if (cx->files == NULL || (cx->files[cx->nfiles] = strdup(name)) == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
		cx->nfiles++;
	}
	h->file = cx->nfiles - 1;
	h->lineno = lineno;
	h->len = len;
	h->dropped = 0;
	h->text = pa_xmalloc(len + 1);
	memcpy(h->text, text, len);
	if (len == 0 || text[len - 1] != '\n')
		h->text[h->len++] = '\n';
}

/*
 * Leave out the pending line read from where at lineno.  Lines wait in
 * read order, so they are sorted by file and line number.
 */
static void
drop_pending(const char *where, long lineno, void *arg)
{
	struct ctx *cx = arg;
	size_t file, lo = 0, hi;

	for (file = cx->nfiles; file > 0; file--)
		if (strcmp(cx->files[file - 1], where) == 0)
			break;
	if (file-- == 0)
		return;

	hi = cx->npending;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pending_line *h = &cx->pending[mid];

		if (h->file < file || (h->file == file && h->lineno < lineno)) {
			lo = mid + 1;
		} else if (h->file == file && h->lineno == lineno) {
			cx->pending[mid].dropped = 1;
			return;
		} else {
			hi = mid;
		}
	}
}

static void
write_pending(struct ctx *cx)
{
	for (size_t i = 0; i < cx->npending; i++) {
		if (!cx->pending[i].dropped)
			sink_write(&cx->sink, cx->pending[i].text, cx->pending[i].len);
		free(cx->pending[i].text);
	}
	for (size_t i = 0; i < cx->nfiles; i++)
		free(cx->files[i]);
	free(cx->pending);
	free(cx->files);
	cx->pending = NULL;
	cx->files = NULL;
	cx->npending = cx->nfiles = 0;
	cx->hold_output = 0;
}

/*
 * Scale for the format and write one pool.  Returns 0, or -1 with the
 * reason in why and its reject class in cls.
 */
static int
emit_pool(struct ctx *cx, struct pa_pool *p, char *why, size_t whysize, const char **cls)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	int rc;

	switch (cx->format) {
	case FMT_NGINX:
	case FMT_NGINX_LOCATIONS:
		rc = pa_route_scale_nginx(p, why, whysize);
		break;
	case FMT_ENVOY:
	case FMT_ISTIO:
		rc = pa_route_scale_percent(p, why, whysize);
		break;
	default:
		rc = pa_route_scale_haproxy(p, why, whysize);
		break;
	}
	*cls = "no live server";
	if (rc != 0)
		return -1;
	if (cx->format == FMT_NGINX || cx->format == FMT_HAPROXY_CONFIG) {
		for (size_t i = 0; i < p->n; i++) {
			if (p->v[i].addr == NULL) {
				snprintf(why, whysize, "backend %s server %s has no address "
					 "(field \"addr\"), which %s needs",
					 pa_quote(p->backend, strlen(p->backend)),
					 pa_quote(p->v[i].name, strlen(p->v[i].name)),
					 format_names[cx->format]);
				*cls = "missing address";
				return -1;
			}
		}
	}

	if (cx->format == FMT_ISTIO) {
		char rule[200];

		/*
		 * The backend name becomes the VirtualService's metadata.name, and
		 * its host too without --istio-host.  Kubernetes takes an object
		 * name only as a DNS-1123 subdomain, so "Acme-api" or "a_b-c" fails.
		 */
		if (pa_dns1123_subdomain(p->backend, rule, sizeof rule) != 0) {
			snprintf(why, whysize, "backend %s cannot be an Istio VirtualService "
				 "name%s, because it is not a DNS-1123 subdomain: it %s",
				 pa_quote(p->backend, strlen(p->backend)),
				 cx->istio_host == NULL ? " or host" : "", rule);
			*cls = "invalid name";
			return -1;
		}

		/* Istio subset names are DNS-1123 labels. */
		for (size_t i = 0; i < p->n; i++) {
			if (p->v[i].weight > 0 || p->v[i].mirror > 0) {
				if (pa_dns1123_label(p->v[i].name, rule, sizeof rule) != 0) {
					snprintf(why, whysize, "backend %s server %s cannot be an "
						 "Istio subset name: %s",
						 pa_quote(p->backend, strlen(p->backend)),
						 pa_quote(p->v[i].name, strlen(p->v[i].name)), rule);
					*cls = "invalid name";
					return -1;
				}
			}
		}
	}

	if (cx->format == FMT_HAPROXY || cx->format == FMT_HAPROXY_CONFIG) {
		for (size_t i = 0; i < p->n; i++)
			if (p->v[i].phase == PA_PHASE_SHADOW && p->v[i].mirror > 0)
				pa_warn("%s/%s: HAProxy 2.6 has no request mirroring, so the shadow "
					"takes no traffic here; mirror with the nginx, envoy or istio "
					"format", p->backend, p->v[i].name);
	}

	fp = open_memstream(&text, &len);
	if (fp == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	switch (cx->format) {
	case FMT_NDJSON: {
		json_t *rec = pa_route_record(p);

		json_dumpf(rec, fp, PA_JSON_FLAGS);
		fputc('\n', fp);
		json_decref(rec);
		break;
	}
	case FMT_HAPROXY:
		pa_emit_haproxy(fp, p);
		break;
	case FMT_HAPROXY_CONFIG:
		pa_emit_haproxy_config(fp, p);
		break;
	case FMT_NGINX:
		pa_emit_nginx(fp, p);
		break;
	case FMT_NGINX_LOCATIONS:
		pa_emit_nginx_locations(fp, p);
		break;
	case FMT_ENVOY:
		pa_emit_envoy(fp, p);
		break;
	case FMT_ISTIO:
		pa_emit_istio(fp, p, cx->istio_host);
		break;
	}
	if (fclose(fp) != 0)
		pa_die(PA_EXIT_IO, "out of memory");
	if (cx->hold_output)
		hold_line(cx, cx->name, cx->lineno, text, len);
	else
		sink_write(&cx->sink, text, len);
	free(text);
	cx->pools++;
	return 0;
}

static void
on_line(const char *name, struct pa_line *line, enum pa_line_status status, void *arg)
{
	struct ctx *cx = arg;
	json_t *rec = pa_line_to_object(name, line, status);
	const char *kind, *cls = NULL;
	char why[600];
	int got;

	if (rec == NULL)
		return;
	cx->name = name;
	cx->lineno = line->lineno;
	kind = pa_rec_kind(rec);

	/* A route record gives weights directly; without a kind, a "router" field marks one. */
	if ((kind != NULL && strcmp(kind, "route") == 0) ||
	    (kind == NULL && json_object_get(rec, "router") != NULL)) {
		struct pa_pool pool;

		cx->consumed++;
		if (pa_route_from_record(rec, &pool, why, sizeof why, &cls) != 0) {
			pa_reject(name, line->lineno, line->text, line->len, cls, "%s", why);
		} else {
			if (emit_pool(cx, &pool, why, sizeof why, &cls) != 0)
				pa_reject(name, line->lineno, line->text, line->len, cls, "%s", why);
			pa_pool_free(&pool);
		}
		json_decref(rec);
		return;
	}

	if (kind != NULL && strcmp(kind, "usage") == 0)
		cx->consumed++;
	got = pa_fleet_add(cx->fleet, rec, name, line->lineno, line->text, line->len, why,
			   sizeof why, &cls);
	if (got == 0 && cx->shadow != NULL)
		got = pa_shadow_add_request(cx->shadow, rec, why, sizeof why, &cls);
	if (got < 0 || got == PA_FLEET_REJECTED_KEPT)
		pa_reject(name, line->lineno, line->text, line->len, cls, "%s", why);
	else if (cx->format == FMT_NDJSON)
		hold_line(cx, name, line->lineno, line->text, line->len);
	else if (got == 0 && !pa_kind_known(kind) && cx->unknown++ == 0) {
		char fate[80];

		snprintf(fate, sizeof fate, "it is left out of the %s output", format_names[cx->format]);
		pa_warn_unknown_kind(name, line->lineno, kind, "usage, forecast, plan or route", fate);
	}
	json_decref(rec);
}

/*
 * Warn when instances of series i have no valid cpu_usage, because their
 * capacity is then not measured but taken to be the median instance's.
 */
static void
warn_unread(const struct pa_fleet *f, size_t i, const char *series)
{
	const char *first = NULL;
	size_t n = pa_fleet_unread(f, i, &first);

	if (n == 1)
		pa_warn("%s: instance %s has no valid cpu_usage, so its capacity counts as "
			"the median instance's", series, pa_quote(first, strlen(first)));
	else if (n > 1)
		pa_warn("%s: %zu instances, the first %s, have no valid cpu_usage, so the capacity "
			"of each counts as the median instance's", series, n,
			pa_quote(first, strlen(first)));
}

/*
 * Check the template's own characters as a backend name, with a
 * placeholder standing for each name part.  Then only a tenant or service
 * part can make an expanded name invalid, and usage records are checked
 * for those.
 */
static void
backend_name_check(const char *tmpl)
{
	char *sample = pa_template_expand(tmpl, "t", "s"), why[200];

	if (sample == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	if (pa_route_name_check(sample, 0, why, sizeof why) != 0) {
		char example[300];

		/* Freed first, because the usage error exits. */
		snprintf(example, sizeof example, "%s", pa_quote(sample, strlen(sample)));
		free(sample);
		pa_usage_error("--backend %s gives backend names such as %s, which %s",
			       pa_quote(tmpl, strlen(tmpl)), example, why);
	}
	free(sample);
}

/*
 * Check the path of --output or --state, which is replaced by a rename, as
 * pa_opt_replaceable does, and reject a directory too, which no rename
 * can replace, before any input is read.  example names a file to give
 * instead inside the directory.
 */
static const char *
replaceable_file(const char *opt, const char *path, const char *example)
{
	struct stat st;

	pa_opt_replaceable(opt, path);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		char inside[512];	/* pa_quote shows no more than 60 bytes of it */

		snprintf(inside, sizeof inside, "%s/%s", path, example);
		pa_usage_error("%s %s is a directory, and the file is renamed into place; give "
			       "the path of a file, such as %s", opt, pa_quote(path, strlen(path)),
			       pa_quote(inside, strlen(inside)));
	}
	return path;
}

static int
is_nginx(const struct ctx *cx)
{
	return cx->format == FMT_NGINX || cx->format == FMT_NGINX_LOCATIONS;
}

/* A pool per series with usage, and which of them clash with another's name. */
struct fleet_pools {
	struct pa_pool *v;
	char *clash;
	size_t n;
};

/*
 * Build a pool per series and reject every record of the series whose
 * backend names clash.  Call it before write_pending, because in the
 * ndjson format a rejected record must not also pass through.
 */
static void
build_pools(struct ctx *cx, const char *backend_tmpl, struct fleet_pools *fp)
{
	fp->n = pa_fleet_series(cx->fleet);
	fp->v = pa_xcalloc(fp->n, sizeof *fp->v);
	fp->clash = pa_xcalloc(fp->n, 1);
	for (size_t i = 0; i < fp->n; i++)
		pa_fleet_pool(cx->fleet, i, backend_tmpl, &fp->v[i]);

	/* With --state, any nginx upstream may gain a NAME_shadow upstream. */
	pa_route_find_clashes(fp->v, fp->n, is_nginx(cx), is_nginx(cx) && cx->shadow != NULL,
			      fp->clash);
	pa_fleet_reject_series(cx->fleet, fp->clash, fp->n, "backend name clash",
			       cx->hold_output ? drop_pending : NULL, cx);
}

/* Set the weights of each pool built by build_pools and write it, then free the pools. */
static void
emit_pools(struct ctx *cx, const struct pa_capacity_model *m, struct fleet_pools *fp)
{
	char why[600];
	const char *cls;

	for (size_t i = 0; i < fp->n; i++) {
		struct pa_pool *pool = &fp->v[i];
		const char *series = pa_fleet_series_name(cx->fleet, i);
		double predicted;

		/* build_pools rejected the records of a series whose name clashes. */
		if (fp->clash[i]) {
			pa_pool_free(pool);
			continue;
		}

		/* Name parts are checked on intake, so this catches a name grown too long. */
		if (pa_route_name_check(pool->backend, 0, why, sizeof why) != 0) {
			pa_warn("%s: backend name %s %s; no route written", series,
				pa_quote(pool->backend, strlen(pool->backend)), why);
			cx->failed = 1;
			pa_pool_free(pool);
			continue;
		}

		/* Phases first, because a shadow's capacity carries none of the demand. */
		if (cx->shadow != NULL)
			pa_shadow_advance(cx->shadow, pool, pa_fleet_latest(cx->fleet));
		predicted = pa_fleet_weights(cx->fleet, i, m, pool);
		if (cx->shadow != NULL)
			pa_shadow_mirror(cx->shadow, pool, pa_fleet_demand(cx->fleet, i),
					 m->capacity);
		if (predicted > m->max_utilization)
			pa_warn("%s: predicted utilization %.3g is above --max-utilization %g on "
				"every serving instance, with the demand spread by capacity; the "
				"series needs more instances", series, predicted, m->max_utilization);
		if (isnan(predicted) && pa_pool_takes_live(pool))
			pa_warn("%s: no instance that takes live traffic has a valid cpu_usage and "
				"there is no forecast or plan, so the load is unknown and the "
				"instances are weighted as equal in capacity", series);
		else
			warn_unread(cx->fleet, i, series);
		if (emit_pool(cx, pool, why, sizeof why, &cls) != 0) {
			pa_warn("%s: %s", series, why);
			cx->failed = 1;
		} else if (cx->shadow != NULL) {
			pa_shadow_record_shares(cx->shadow, pool);
		}
		pa_pool_free(pool);
	}
	free(fp->v);
	free(fp->clash);
}

/* Write the buffered output to path by a temporary file and rename. */
static int
write_atomically(const char *path, const char *buf, size_t len)
{
	size_t n = strlen(path) + 5;
	char *tmp = malloc(n);
	FILE *fp;
	int rc = 0;

	if (tmp == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	snprintf(tmp, n, "%s.tmp", path);
	fp = fopen(tmp, "w");
	if (fp == NULL) {
		pa_warn("%s: cannot open: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fwrite(buf, 1, len, fp) != len || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		pa_warn("%s: write failed: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (fclose(fp) != 0 && rc == 0) {
		pa_warn("%s: write failed: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		pa_warn("%s: cannot rename into place: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
main(int argc, char **argv)
{
	struct pa_common_opts common;
	struct ctx cx = { 0 };
	struct pa_capacity_model model = { NAN, 0.9, NAN, NAN };
	struct pa_shadow_conf sc;
	struct fleet_pools pools;
	const char *backend_tmpl = "{tenant}-{service}", *state_path = NULL;
	pa_usec_t usage_window = PA_ROUTE_USAGE_WINDOW_DEFAULT;
	char why[400];
	int c, rc, input_rc, out, write_output = 0;

	pa_diag_init(argv[0]);
	pa_out_init();
	pa_common_defaults(&common);
	pa_shadow_defaults(&sc);

	/* Messages for unknown options come from below, one per option. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:o:hV", longopts, NULL)) != -1) {
		if (pa_common_option(&common, c, optarg))
			continue;
		switch (c) {
		case 'f': {
			size_t k;

			for (k = 0; k < sizeof format_names / sizeof format_names[0]; k++)
				if (strcmp(optarg, format_names[k]) == 0)
					break;
			if (k == sizeof format_names / sizeof format_names[0])
				pa_usage_error("--format %s is not one of ndjson, haproxy, "
					       "haproxy-config, nginx, nginx-locations, envoy, istio",
					       pa_quote(optarg, strlen(optarg)));
			cx.format = (enum format)k;
			break;
		}
		case OPT_BACKEND:
			backend_tmpl = optarg;
			break;
		case OPT_CAPACITY:
			model.capacity = pa_opt_double("--capacity", optarg, 1e-9, 1e12);
			break;
		case OPT_MAX_UTIL:
			model.max_utilization = pa_opt_double("--max-utilization", optarg, 0.01, 1);
			break;
		case 'o':
			cx.sink.path = replaceable_file("--output", optarg, "pa-route.conf");
			break;
		case OPT_STATE:
			state_path = replaceable_file("--state", optarg, "pa-route.json");
			break;
		case OPT_MIRROR:
			sc.mirror = pa_opt_double("--mirror", optarg, 0.0001, 1);
			break;
		case OPT_WINDOW:
			sc.window = pa_opt_duration("--window", optarg, 0, 30 * 86400 * PA_USEC_PER_SEC);
			break;
		case OPT_MIN_REQUESTS:
			sc.min_requests = pa_opt_long("--min-requests", optarg, 1, 1000000000L);
			break;
		case OPT_MAX_ERROR_DELTA:
			sc.max_error_delta = pa_opt_double("--max-error-delta", optarg, 0, 1);
			break;
		case OPT_MAX_LATENCY_RATIO:
			sc.max_latency_ratio = pa_opt_double("--max-latency-ratio", optarg, 1, 1000);
			break;
		case OPT_STEPS:
			if (pa_shadow_parse_steps(&sc, optarg, why, sizeof why) != 0)
				pa_usage_error("--steps %s", why);
			break;
		case OPT_USAGE_WINDOW:
			usage_window = pa_opt_duration("--usage-window", optarg, 1,
						       (pa_usec_t)7 * 86400 * PA_USEC_PER_SEC);
			break;
		case OPT_ISTIO_HOST:
			/* A destination host names a Kubernetes service, a DNS-1123 subdomain. */
			if (pa_route_name_check(optarg, 0, why, sizeof why) != 0 ||
			    pa_dns1123_subdomain(optarg, why, sizeof why) != 0)
				pa_usage_error("--istio-host %s: it %s", pa_quote(optarg, strlen(optarg)),
					       why);
			cx.istio_host = optarg;
			break;
		case 'h':
			usage();
			return pa_out_finish();
		case 'V':
			pa_print_version();
			return pa_out_finish();
		default:
			pa_usage_error("invalid option or missing value: \"%s\"", argv[optind - 1]);
		}
	}
	pa_rejects_start(argc - optind, argv + optind);
	if (pa_template_check(backend_tmpl, why, sizeof why) != 0)
		pa_usage_error("--backend %s", why);
	backend_name_check(backend_tmpl);

	if (cx.sink.path != NULL) {
		cx.sink.mem = open_memstream(&cx.sink.buf, &cx.sink.len);
		if (cx.sink.mem == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
	}
	if (state_path != NULL) {
		cx.shadow = pa_shadow_open(state_path, &sc, why, sizeof why);
		if (cx.shadow == NULL)
			pa_die(PA_EXIT_USAGE, "%s", why);
	}
	cx.hold_output = cx.format == FMT_NDJSON;
	if (pa_rejects_enabled())
		cx.fleet = pa_fleet_new(PA_FLEET_KEEP_TEXT);
	else
		cx.fleet = pa_fleet_new(cx.hold_output ? PA_FLEET_KEEP_PLACE : PA_FLEET_KEEP_NONE);

	pa_stop_catch();
	input_rc = pa_input_each(argc - optind, argv + optind, common.max_line, on_line, &cx);
	rc = input_rc;
	pa_warn_kind_missing(cx.consumed, "usage", "pa-ingest --type usage");
	pa_fleet_drop_stale(cx.fleet, usage_window);
	pa_fleet_reject_duplicates(cx.fleet, drop_pending, &cx);
	build_pools(&cx, backend_tmpl, &pools);
	write_pending(&cx);
	emit_pools(&cx, &model, &pools);

	pa_fleet_free(cx.fleet);
	if (cx.unknown > 1)
		pa_warn("records of unknown kinds left out: %ld", cx.unknown);

	if (rc == PA_EXIT_OK)
		rc = pa_diag_finish(common.max_bad);
	else
		pa_diag_finish(common.max_bad);
	if (rc == PA_EXIT_OK && cx.failed)
		rc = PA_EXIT_DATA;

	/*
	 * A file that is not written leaves the router on its old weights, so
	 * the state keeps the phases and shares that go with them.
	 */
	if (cx.sink.path != NULL) {
		fclose(cx.sink.mem);
		if (pa_stop_requested) {
			/* Pools named later in the input would be missing from the file. */
			pa_warn("%s: not written, because the run was stopped before the end of the "
				"input", cx.sink.path);
			if (rc == PA_EXIT_OK)
				rc = PA_EXIT_DATA;
		} else if (pa_diag_rejected() > 0 || cx.failed || rc != PA_EXIT_OK) {
			pa_warn("%s: not written, because input was rejected", cx.sink.path);
			if (rc == PA_EXIT_OK)
				rc = PA_EXIT_DATA;
		} else if (cx.pools == 0) {
			/* An empty export would replace a working configuration with none. */
			pa_warn("%s: not written, because the input has no pool to write "
				"(no usage or route record)", cx.sink.path);
			rc = PA_EXIT_DATA;
		} else {
			write_output = 1;
		}
	}
	if (cx.shadow != NULL) {
		if (pa_stop_requested && cx.sink.path == NULL)
			pa_warn("%s: not saved, because the run was stopped before the end of the "
				"input", state_path);
		if (input_rc == PA_EXIT_OK && !pa_stop_requested &&
		    (cx.sink.path == NULL || write_output) &&
		    pa_shadow_save(cx.shadow) != 0) {
			rc = PA_EXIT_IO;
			if (write_output)
				pa_warn("%s: not written, because the state file was not", cx.sink.path);
			write_output = 0;
		}
		pa_shadow_free(cx.shadow);
	}
	if (write_output && write_atomically(cx.sink.path, cx.sink.buf, cx.sink.len) != 0)
		rc = PA_EXIT_IO;
	free(cx.sink.buf);
	out = pa_out_finish();
	return out ? out : rc;
}
