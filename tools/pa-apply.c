/*
 * pa-apply - turn plan records into kubectl commands: a POSIX sh script on
 * stdout, or, with --execute, commands run directly with a journal.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "apply.h"
#include "diag.h"
#include "kube.h"
#include "ndjson.h"
#include "opts.h"
#include "stop.h"

enum {
	OPT_TARGET = 1,
	OPT_SPOT_TARGET,
	OPT_CONTEXT,
	OPT_KUBECTL,
	OPT_MODE,
	OPT_MAX_STEP,
	OPT_EXECUTE,
	OPT_JOURNAL,
	OPT_STOP_ON_ERROR,
	OPT_REQUEST_TIMEOUT,
	OPT_TIMEOUT,
	OPT_FOLLOW,
	OPT_MAX_AGE
};

static const struct option longopts[] = {
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "spot-target", required_argument, NULL, OPT_SPOT_TARGET },
	{ "namespace", required_argument, NULL, 'n' },
	{ "context", required_argument, NULL, OPT_CONTEXT },
	{ "kubectl", required_argument, NULL, OPT_KUBECTL },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "max-step", required_argument, NULL, OPT_MAX_STEP },
	{ "execute", no_argument, NULL, OPT_EXECUTE },
	{ "journal", required_argument, NULL, OPT_JOURNAL },
	{ "stop-on-error", no_argument, NULL, OPT_STOP_ON_ERROR },
	{ "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	PA_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

static void
usage(void)
{
	pa_out_printf(
		"usage: pa-apply [options] [file ...]\n"
		"Turn plan records into kubectl commands: a POSIX sh script on stdout, or\n"
		"run them directly with --execute.\n"
		"\n"
		"      --mode MODE        scale (set replicas, default) or hpa-floor (patch\n"
		"                         the HPA's minReplicas)\n"
		"      --target TEMPLATE  object per plan, with {tenant} and {service}\n"
		"                         (default deployment/{tenant}-{service}, or\n"
		"                         horizontalpodautoscaler/{tenant}-{service} in hpa-floor)\n"
		"      --spot-target TEMPLATE\n"
		"                         split each plan: on_demand_instances go to --target,\n"
		"                         spot_instances to this object\n"
		"  -n, --namespace TEMPLATE\n"
		"                         namespace, with {tenant} and {service}\n"
		"      --context NAME     kubeconfig context\n"
		"      --kubectl PATH     kubectl program (default kubectl)\n"
		"      --request-timeout DURATION\n"
		"                         passed to kubectl --request-timeout (such as 30s)\n"
		"      --max-step N       change replicas by at most N per run\n"
		"      --execute          run the commands (no shell); read current replicas\n"
		"                         first and skip objects already at the plan\n"
		"      --journal FILE     with --execute, also write the journal to FILE\n"
		"      --stop-on-error    with --execute, stop at the first failed command\n"
		"      --timeout DURATION with --execute, kill a kubectl command that runs\n"
		"                         longer (default 1m)\n"
		"      --follow           act on each plan as it arrives, for a live pipeline:\n"
		"                         print its command, or run it with --execute\n"
		"      --max-age DURATION with --execute, skip plans whose ts is more than\n"
		"                         DURATION before the clock (default 10m with\n"
		"                         --follow, else none); none: no limit\n"
		PA_COMMON_USAGE);
}

/*
 * The newest plan started for one object while following with --execute,
 * and whether the journal records it as carried out.
 */
struct applied_plan {
	char *target;
	char *ns;			/* NULL: kubectl's namespace */
	pa_usec_t ts;			/* the plan's ts */
	int done;			/* journalled as ok, unchanged or held */
};

struct applied_plans {
	struct applied_plan *v;
	size_t n, cap;
};

struct runner {
	const struct pa_kube_conf *kc;
	struct pa_journal *journal;
	long timeout_ms;
	long failures;			/* kubectl commands that failed */
	long journal_failures;		/* journal records not written */
	int journal_not_renamed;	/* the journal stayed in its temporary file */
	int following;			/* one plan at a time: no batch to report on */
	long not_applied;		/* changes left undone after a stop signal */
	struct applied_plans *applied;	/* following: updated from each journal record */
};

struct ctx {
	struct pa_apply_conf conf;
	struct pa_changes changes;
	long seq;
	int follow;			/* act on each change as it arrives */
	const struct pa_kube_conf *kc;
	long max_step;
	struct runner *runner;		/* following with --execute */
	int stop_on_error;
	struct applied_plans applied;	/* following with --execute: last plan per object */
	int executing;			/* --execute */
	pa_usec_t max_age;		/* with --execute: skip older plans; < 0: no limit */
	long stale;			/* plans skipped for max_age */
	long unknown;			/* records of no kind that a pa tool writes */
	long not_applied;		/* with --execute: changes left undone after a stop signal */
	long lines;			/* input lines read, valid or not */
	long consumed;			/* plan and object records read, valid or not */
};

/* Set to end the input: by a stop signal, or after a failure with --stop-on-error. */
static volatile sig_atomic_t stop_requested;
/* The SIGINT or SIGTERM received, 0 before one: no kubectl command starts after it. */
static volatile sig_atomic_t stop_signal;

static void
on_stop(int sig)
{
	stop_signal = sig;
	stop_requested = 1;
}

/*
 * Handle SIGINT and SIGTERM by setting stop_signal, so a kubectl command
 * already running finishes and is journalled.  The command runs in a
 * process group of its own, so a Ctrl-C at the terminal reaches only
 * pa-apply.
 */
static void
catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static const char *
stop_signal_name(void)
{
	return stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
}

static int print_change(const struct pa_change *c, const struct pa_kube_conf *kc, long max_step);
static void print_header(int follow);
static void execute(struct runner *r, struct pa_changes *cs, long max_step, int stop_on_error);
static void follow_execute(struct ctx *cx, struct pa_change *out, int n);

/*
 * Return 1 when change c is a plan for a time more than max_age before the
 * clock, counting it and warning about the first one.  A pipeline that
 * replays a log from its start would otherwise scale the cluster through
 * every plan of its history.
 */
static int
stale_plan(struct ctx *cx, const struct pa_change *c)
{
	struct timespec now;
	pa_usec_t clock;
	char when[40], limit[40];

	if (cx->max_age < 0 || c->ts == 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	clock = (pa_usec_t)now.tv_sec * PA_USEC_PER_SEC + now.tv_nsec / 1000;
	if (c->ts >= clock - cx->max_age)
		return 0;
	if (cx->stale++ == 0)
		pa_warn("%s: plan for %s is older than --max-age (before %s); skipped, and so is "
			"every later plan this old", c->target, pa_time_format(c->ts, when, sizeof when),
			pa_time_format(clock - cx->max_age, limit, sizeof limit));
	return 1;
}

static void
on_line(const char *name, struct pa_line *line, enum pa_line_status status, void *arg)
{
	struct ctx *cx = arg;
	json_t *rec = pa_line_to_object(name, line, status);
	struct pa_change out[2];
	const char *cls = NULL;
	char why[600];
	int n, got;

	cx->lines++;
	if (rec == NULL)
		return;
	got = pa_apply_record(rec, &cx->conf, cx->seq++, out, &n, why, sizeof why, &cls);
	if (got != 0)
		cx->consumed++;
	if (got < 0)
		pa_reject(name, line->lineno, line->text, line->len, cls, "%s", why);

	/*
	 * Records of the kinds the other tools write come along from pa-plan,
	 * so they are dropped quietly.  Any other kind is more likely a
	 * misspelt object record, whose scaling would otherwise be lost
	 * unseen, so --rejects keeps it for a fixed rerun.
	 */
	if (got == 0 && !pa_kind_known(pa_rec_kind(rec))) {
		int copied = pa_rejects_keep(line->text, line->len);

		if (cx->unknown++ == 0)
			pa_warn_unknown_kind(name, line->lineno, pa_rec_kind(rec),
					     "plan, deployment, statefulset, replicaset or "
					     "horizontalpodautoscaler",
					     copied ? "it is skipped and copied to --rejects"
						  : "it is skipped");
	}
	/* Both halves of a split plan carry the plan's ts. */
	if (cx->executing && n > 0 && stale_plan(cx, &out[0])) {
		for (int i = 0; i < n; i++)
			pa_change_free(&out[i]);
		n = 0;
	}
	if (cx->runner != NULL) {
		follow_execute(cx, out, n);
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		if (cx->follow) {
			print_header(1);
			print_change(&out[i], cx->kc, cx->max_step);
			pa_change_free(&out[i]);
		} else {
			pa_changes_put(&cx->changes, &out[i]);
		}
	}
	json_decref(rec);
}

/*
 * Return the count a printed script changes from, or -1 when unknown.  For
 * an HPA floor that is the HPA's minReplicas, which only --execute reads,
 * because the plan's current count is of running replicas.
 */
static long
printed_current(const struct pa_change *c)
{
	return c->op == PA_OP_HPA_FLOOR ? -1 : c->current;
}

static void
print_comment(const struct pa_change *c, long value)
{
	char tbuf[40];
	const char *field = c->op == PA_OP_SCALE ? "replicas" : "minReplicas";
	char *series = pa_comment_text(c->series ? c->series : c->target);

	pa_out_printf("\n# %s", series);
	if (c->role != NULL)
		pa_out_printf(" (%s)", c->role);
	if (c->ts != 0)
		pa_out_printf(" at %s", pa_time_format(c->ts, tbuf, sizeof tbuf));
	if (c->target_ts != 0)
		pa_out_printf(" for %s", pa_time_format(c->target_ts, tbuf, sizeof tbuf));
	if (c->action != NULL) {
		char *action = pa_comment_text(c->action);

		pa_out_printf(": %s", action);
		free(action);
	}
	if (printed_current(c) >= 0)
		pa_out_printf(", %s %ld -> %ld", field, c->current, value);
	else if (c->op == PA_OP_HPA_FLOOR && c->current >= 0)
		pa_out_printf(", %s -> %ld (%ld replicas running)", field, value, c->current);
	else
		pa_out_printf(", %s -> %ld (current unknown)", field, value);
	if (value != c->replicas)
		pa_out_printf(" (plan %ld, capped by --max-step)", c->replicas);
	if (c->reason != NULL) {
		char *reason = pa_comment_text(c->reason);

		pa_out_printf(": %s", reason);
		free(reason);
	}
	pa_out_printf("\n");
	free(series);
}

/* Plans that a printed script leaves out for want of a count; they make the exit status 1. */
static long unprinted;

/* Print one change's comment and command; returns 1, or 0 when it needs none. */
static int
print_change(const struct pa_change *c, const struct pa_kube_conf *kc, long max_step)
{
	struct pa_argv argv = { 0 };
	long value = pa_change_capped(c, max_step);
	char *line;

	if (printed_current(c) == c->replicas)
		return 0;	/* already at the plan */
	if (max_step > 0 && printed_current(c) < 0) {
		pa_warn("%s: current %s unknown, so --max-step cannot be applied; skipped "
			"(--execute reads them)", c->target,
			c->op == PA_OP_HPA_FLOOR ? "minReplicas" : "replicas");
		unprinted++;
		return 0;
	}
	print_comment(c, value);
	pa_change_argv(c, kc, value, &argv);
	line = pa_argv_render(&argv);
	pa_out_printf("%s\n", line);
	free(line);
	pa_argv_free(&argv);
	return 1;
}

/* Print the script's first lines, once. */
static void
print_header(int follow)
{
	static int printed;

	if (printed)
		return;
	printed = 1;
	pa_out_printf("#!/bin/sh\n# kubectl commands from pa-apply, %s; review, then run "
		      "with sh\n", follow ? "in the order the plans came" : "scale-ups first");
}

/* Print the changes as a script; returns the number of commands printed. */
static size_t
print_script(const struct pa_changes *cs, const struct pa_kube_conf *kc, long max_step)
{
	size_t printed = 0;

	print_header(0);
	for (size_t i = 0; i < cs->n; i++)
		printed += (size_t)print_change(&cs->v[i], kc, max_step);
	return printed;
}

static json_t *
argv_json(const struct pa_argv *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->n; i++)
		json_array_append_new(arr, json_string(a->v[i]));
	return arr;
}

/* A journal record for c; result is ok, failed, unchanged, held or skipped. */
static json_t *
journal_record(const struct pa_change *c, const char *result, long value,
	       const struct pa_argv *argv, const struct pa_run_result *res)
{
	json_t *rec = json_object();
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	json_object_set_new(rec, "kind", json_string("journal"));
	pa_rec_set_time(rec, "ts", (pa_usec_t)now.tv_sec * PA_USEC_PER_SEC +
				   now.tv_nsec / 1000);
	if (c->series != NULL)
		json_object_set_new(rec, "series", json_string(c->series));
	if (c->ns != NULL)
		json_object_set_new(rec, "namespace", json_string(c->ns));
	json_object_set_new(rec, "target", json_string(c->target));
	json_object_set_new(rec, "op", json_string(c->op == PA_OP_SCALE ? "scale" : "hpa-floor"));
	if (c->ts != 0)
		pa_rec_set_time(rec, "plan_ts", c->ts);
	if (c->role != NULL)
		json_object_set_new(rec, "role", json_string(c->role));
	json_object_set_new(rec, "current", c->current >= 0 ? json_integer(c->current)
							    : json_null());
	json_object_set_new(rec, "planned", json_integer(c->replicas));
	if (value >= 0)
		json_object_set_new(rec, "set", json_integer(value));
	json_object_set_new(rec, "result", json_string(result));
	if (argv != NULL)
		json_object_set_new(rec, "command", argv_json(argv));
	if (res != NULL) {
		json_object_set_new(rec, "status", json_integer(res->status));
		if (res->timed_out)
			json_object_set_new(rec, "timed_out", json_true());
		json_object_set_new(rec, "stdout", json_stringn(res->out, res->out_len));
		json_object_set_new(rec, "stderr", json_stringn(res->err, res->err_len));
	}
	return rec;
}

static void note_journal_record(struct applied_plans *applied, const json_t *rec);

static void
emit_journal(struct runner *r, json_t *rec)
{
	if (r->applied != NULL)
		note_journal_record(r->applied, rec);
	pa_out_json(rec);
	if (r->journal != NULL && pa_journal_write(r->journal, rec) != 0)
		r->journal_failures++;
	json_decref(rec);
}

/* Run argv; on failure report it.  Returns the exit status, -1 when it could not start. */
static int
run_logged(const struct runner *r, const struct pa_change *c, const char *verb,
	   const struct pa_argv *argv, struct pa_run_result *res)
{
	if (pa_run(argv, r->timeout_ms, res) != 0) {
		pa_warn("%s: cannot start %s: %s", c->target, argv->v[0], strerror(errno));
		return -1;
	}
	if (res->timed_out) {
		pa_warn("%s: %s %s timed out after %ld ms and was killed (see --timeout)",
			c->target, argv->v[0], verb, r->timeout_ms);
	} else if (res->status != 0) {
		size_t n = res->err_len;

		while (n > 0 && (res->err[n - 1] == '\n' || res->err[n - 1] == '\r'))
			n--;
		pa_warn("%s: %s %s failed with status %d: %s", c->target, argv->v[0], verb,
			res->status, pa_quote(res->err, n));
	}
	return res->status;
}

/*
 * Read every object's current value; a failed read is journalled and the
 * change dropped.  Returns 1 when stopped at a failure (--stop-on-error).
 * After a stop signal, no further object is read: their number is stored
 * in *unread, and the objects already read are kept.
 */
static int
read_currents(struct runner *r, struct pa_changes *cs, int stop_on_error, size_t *unread)
{
	size_t keep = 0;
	int stopped = 0;

	for (size_t i = 0; i < cs->n; i++) {
		struct pa_change *c = &cs->v[i];
		struct pa_argv argv = { 0 };
		struct pa_run_result res;
		char why[300];
		int ok = 0;

		if (!stopped && stop_signal != 0) {
			*unread = cs->n - i;
			stopped = -1;
		}
		if (stopped) {
			pa_change_free(c);
			continue;
		}
		/* The count read from the cluster replaces the plan's current_instances. */
		c->current = -1;
		pa_change_get_argv(c, r->kc, &argv);
		if (run_logged(r, c, "get", &argv, &res) == 0) {
			if (pa_change_read_current(c, res.out, why, sizeof why) == 0)
				ok = 1;
			else
				pa_warn("%s: %s", c->target, why);
		}
		if (!ok) {
			r->failures++;
			emit_journal(r, journal_record(c, "failed", -1, &argv, &res));
			pa_change_free(c);
			stopped = stop_on_error;
		} else {
			cs->v[keep++] = *c;
		}
		pa_run_result_free(&res);
		pa_argv_free(&argv);
	}
	cs->n = keep;
	return stopped > 0;
}

/* The value execute() sets on c: the plan after the step cap, at most the HPA's maxReplicas. */
static long
value_to_set(const struct pa_change *c, long max_step)
{
	long value = pa_change_capped(c, max_step);

	if (c->op == PA_OP_HPA_FLOOR && c->hpa_max >= 0 && value > c->hpa_max)
		value = c->hpa_max;
	return value;
}

/* Warn that execution stopped, counting only the later objects that needed a change. */
static void
warn_stopped(const struct pa_changes *cs, size_t next, long max_step)
{
	size_t pending = 0;

	for (size_t j = next; j < cs->n; j++)
		if (value_to_set(&cs->v[j], max_step) != cs->v[j].current)
			pending++;
	pa_warn("stopping at the first failure (--stop-on-error); %zu change%s not made, "
		"%zu other object%s already at the plan", pending, pending == 1 ? "" : "s",
		cs->n - next - pending, cs->n - next - pending == 1 ? "" : "s");
}

/*
 * Return the count to set for one half c (on-demand or spot) of a split
 * plan whose planned count value is below the current one.  A plan that
 * moves instances from one half to the other must not remove instances
 * before the ones that replace them are ready, or the service runs short
 * for their start-up time.  So c goes down only as far as the other
 * half's ready pods allow, and a later plan lowers it the rest of the way.
 * Stores the other half's ready count in *ready (-1 when not read).
 */
static long
hold_scale_in(struct runner *r, const struct pa_changes *cs, const struct pa_change *c,
	      long value, long max_step, long *ready)
{
	const struct pa_change *other = NULL;
	struct pa_argv argv = { 0 };
	struct pa_run_result res;
	char why[300];
	long keep;

	*ready = -1;
	for (size_t j = 0; j < cs->n && other == NULL; j++)
		if (cs->v[j].seq == c->seq && cs->v[j].role != NULL &&
		    strcmp(cs->v[j].role, c->role) != 0)
			other = &cs->v[j];
	if (other == NULL)
		return value;

	pa_change_get_workload_argv(other, r->kc, &argv);
	if (run_logged(r, other, "get", &argv, &res) == 0)
		*ready = pa_workload_read_ready(res.out, why, sizeof why);
	else
		snprintf(why, sizeof why, "the get failed");
	pa_run_result_free(&res);
	pa_argv_free(&argv);
	if (*ready < 0) {
		pa_warn("%s: ready replicas of %s unknown (%s); scale-in held at %ld", c->target,
			other->target, why, c->current);
		return c->current;
	}

	keep = value_to_set(other, max_step) + value - *ready;
	if (keep > c->current)
		keep = c->current;
	return keep > value ? keep : value;
}

/*
 * Warn that a stop signal ends execution before cs->v[next], and count the
 * changes not made, unread objects included, in r->not_applied.
 */
static void
stop_on_signal(struct runner *r, const struct pa_changes *cs, size_t next, long max_step,
	       size_t unread)
{
	size_t pending = 0;

	for (size_t j = next; j < cs->n; j++)
		if (value_to_set(&cs->v[j], max_step) != cs->v[j].current)
			pending++;
	r->not_applied += (long)(pending + unread);
	if (unread > 0)
		pa_warn("stopping on %s; %zu change%s not made, %zu other object%s already at "
			"the plan, %zu object%s not read and not changed", stop_signal_name(),
			pending, pending == 1 ? "" : "s", cs->n - next - pending,
			cs->n - next - pending == 1 ? "" : "s", unread, unread == 1 ? "" : "s");
	else
		pa_warn("stopping on %s; %zu change%s not made, %zu other object%s already at "
			"the plan", stop_signal_name(), pending, pending == 1 ? "" : "s",
			cs->n - next - pending, cs->n - next - pending == 1 ? "" : "s");
}

static void
execute(struct runner *r, struct pa_changes *cs, long max_step, int stop_on_error)
{
	size_t unread = 0;

	if (read_currents(r, cs, stop_on_error, &unread))
		return;
	pa_changes_order(cs);
	if (stop_signal != 0) {
		/* No scale command starts after the signal, even for objects read before it. */
		stop_on_signal(r, cs, 0, max_step, unread);
		return;
	}

	for (size_t i = 0; i < cs->n; i++) {
		struct pa_change *c = &cs->v[i];
		struct pa_argv argv = { 0 };
		struct pa_run_result res;
		long value = value_to_set(c, max_step), planned, ready = -1;
		const char *result;
		json_t *rec;

		if (stop_signal != 0) {
			stop_on_signal(r, cs, i, max_step, 0);
			return;
		}

		/* The API server rejects an HPA whose floor is above its ceiling. */
		if (value != pa_change_capped(c, max_step))
			pa_warn("%s: plan %ld is above the HPA's maxReplicas %ld; setting %ld",
				c->target, pa_change_capped(c, max_step), c->hpa_max, c->hpa_max);
		planned = value;
		if (c->op == PA_OP_SCALE && c->role != NULL && value < c->current)
			value = hold_scale_in(r, cs, c, value, max_step, &ready);
		if (value == c->current) {
			rec = journal_record(c, value > planned ? "held" : "unchanged", value, NULL,
					     NULL);
			if (ready >= 0)
				json_object_set_new(rec, "other_ready", json_integer(ready));
			emit_journal(r, rec);
			continue;
		}
		pa_change_argv(c, r->kc, value, &argv);
		int status = run_logged(r, c, c->op == PA_OP_SCALE ? "scale" : "patch", &argv,
					&res);

		if (status != 0)
			result = "failed";
		else if (value > planned)
			result = "held";
		else
			result = "ok";
		rec = journal_record(c, result, value, &argv, &res);
		if (ready >= 0)
			json_object_set_new(rec, "other_ready", json_integer(ready));
		emit_journal(r, rec);
		pa_run_result_free(&res);
		pa_argv_free(&argv);
		if (status != 0) {
			r->failures++;
			if (stop_on_error) {
				if (!r->following)
					warn_stopped(cs, i + 1, max_step);
				break;
			}
		}
	}
}

/* The newest plan started for the object target in ns, or NULL. */
static struct applied_plan *
applied_for(const struct applied_plans *applied, const char *target, const char *ns)
{
	for (size_t i = 0; i < applied->n; i++) {
		struct applied_plan *a = &applied->v[i];

		if (strcmp(a->target, target) == 0 &&
		    (a->ns == NULL ? ns == NULL : ns != NULL && strcmp(a->ns, ns) == 0))
			return a;
	}
	return NULL;
}

/*
 * Remember the plan for ts on the object target in ns as started (done 0)
 * or carried out (done 1).  A plan older than the one remembered changes
 * nothing.
 */
static void
remember_plan(struct applied_plans *applied, const char *target, const char *ns,
	      pa_usec_t ts, int done)
{
	struct applied_plan *a = applied_for(applied, target, ns);

	if (a == NULL) {
		if (applied->n == applied->cap) {
			applied->cap = applied->cap ? 2 * applied->cap : 16;
			applied->v = pa_xrealloc(applied->v, applied->cap * sizeof *applied->v);
		}
		a = &applied->v[applied->n++];
		a->target = pa_xstrdup(target);
		a->ns = ns ? pa_xstrdup(ns) : NULL;
		a->ts = ts;
		a->done = done;
	} else if (ts > a->ts) {
		a->ts = ts;
		a->done = done;
	} else if (ts == a->ts && done) {
		a->done = 1;
	}
}

static void
applied_plans_free(struct applied_plans *applied)
{
	for (size_t i = 0; i < applied->n; i++) {
		free(applied->v[i].target);
		free(applied->v[i].ns);
	}
	free(applied->v);
	memset(applied, 0, sizeof *applied);
}

/* Remember the plan of a journal record whose result shows it carried out. */
static void
note_journal_record(struct applied_plans *applied, const json_t *rec)
{
	const char *result = pa_rec_str(rec, "result");
	const char *target = pa_rec_str(rec, "target"), *ns = pa_rec_str(rec, "namespace");
	pa_usec_t ts;

	if (target != NULL && result != NULL &&
	    (strcmp(result, "ok") == 0 || strcmp(result, "unchanged") == 0 ||
	     strcmp(result, "held") == 0) &&
	    pa_rec_time(rec, "plan_ts", &ts) == 1)
		remember_plan(applied, target, ns, ts, 1);
}

/*
 * Remember the plans an earlier run journalled in path as applied, so a
 * restart does not apply an older plan that a replayed stream brings
 * again.  A missing journal is a first run; unreadable records are
 * skipped, because the journal's own writer made them.
 */
static void
load_applied(struct ctx *cx, const char *path)
{
	struct pa_reader *reader;
	struct pa_line line;
	enum pa_line_status st;
	FILE *probe = fopen(path, "r");

	if (probe == NULL)
		return;
	fclose(probe);
	reader = pa_reader_open(path, 0);
	if (reader == NULL)
		return;
	while ((st = pa_reader_next(reader, &line)) == PA_LINE_OK || st == PA_LINE_TRUNCATED) {
		json_t *rec = json_loadb(line.text, line.len, 0, NULL);

		note_journal_record(&cx->applied, rec);
		json_decref(rec);
	}
	pa_reader_close(reader);
}

/*
 * Run one plan's changes (two with --spot-target) as soon as it arrives:
 * read the current count, set the new one, journal both.  A plan older
 * than one already started on the same object is skipped, because a
 * stream replayed after a restart upstream would otherwise set a stale
 * count before the current one.  So is a plan with the same ts when the
 * journal records that plan as carried out, but not one whose command
 * failed.
 */
static void
follow_execute(struct ctx *cx, struct pa_change *out, int n)
{
	struct pa_changes batch = { 0 };
	long failures = cx->runner->failures;

	for (int i = 0; i < n; i++) {
		const struct applied_plan *last = applied_for(&cx->applied, out[i].target,
							      out[i].ns);
		char had[40], got[40];
		int older = last != NULL && out[i].ts != 0 && out[i].ts < last->ts;
		int again = last != NULL && out[i].ts != 0 && out[i].ts == last->ts && last->done;

		if (older)
			pa_warn("%s: plan for %s is older than the one applied for %s; skipped",
				out[i].target, pa_time_format(out[i].ts, got, sizeof got),
				pa_time_format(last->ts, had, sizeof had));
		else if (again)
			pa_warn("%s: plan for %s is already applied, as the journal records; skipped",
				out[i].target, pa_time_format(out[i].ts, got, sizeof got));
		if (older || again) {
			emit_journal(cx->runner, journal_record(&out[i], "skipped", -1, NULL, NULL));
			pa_change_free(&out[i]);
			continue;
		}
		remember_plan(&cx->applied, out[i].target, out[i].ns, out[i].ts, 0);
		pa_changes_put(&batch, &out[i]);
	}
	execute(cx->runner, &batch, cx->max_step, cx->stop_on_error);
	pa_changes_free(&batch);
	if (cx->stop_on_error && cx->runner->failures > failures)
		stop_requested = 1;
}

/* Close the journal and count a failure, which pa_journal_close has reported. */
static void
close_journal(struct runner *r)
{
	int rc = pa_journal_close(r->journal);

	r->journal = NULL;
	if (rc == PA_JOURNAL_NOT_RENAMED)
		r->journal_not_renamed = 1;
	else if (rc != 0)
		r->journal_failures++;
}

/* Report failed commands and journal writes; returns 1 when there were any. */
static int
report_failures(const struct runner *r)
{
	if (r->failures > 0)
		pa_warn("failed kubectl commands: %ld", r->failures);
	if (r->journal_failures > 0)
		pa_warn("journal records not written: %ld", r->journal_failures);
	return r->failures > 0 || r->journal_failures > 0 || r->journal_not_renamed;
}

/*
 * Read the plans as a stream and run each one's commands as it arrives.
 * A stop signal ends the input; a command already running finishes and
 * is journalled first.  Returns the exit status.
 */
static int
follow_execute_inputs(int nfiles, char **files, struct ctx *cx,
		      const struct pa_common_opts *common, const char *journal_path,
		      long timeout_ms)
{
	struct runner r = { cx->kc, NULL, timeout_ms, 0, 0, 0, 1, 0, &cx->applied };
	int rc;

	/*
	 * The journal is locked before it is read.  A stop signal while
	 * waiting for the lock ends the process, because nothing has run.
	 */
	if (journal_path != NULL) {
		r.journal = pa_journal_open_append(journal_path);
		if (r.journal == NULL)
			return PA_EXIT_IO;
		load_applied(cx, journal_path);
	}
	catch_stop_signals();
	cx->runner = &r;
	rc = pa_input_each_until(nfiles, files, common->max_line, on_line, cx, &stop_requested);
	if (cx->stop_on_error && r.failures > 0)
		pa_warn("stopping at the first failure (--stop-on-error); later plans not read");

	if (r.journal != NULL)
		close_journal(&r);
	if (report_failures(&r))
		rc = PA_EXIT_IO;
	cx->not_applied = r.not_applied;
	cx->runner = NULL;
	return rc;
}

/*
 * Reject a journal path that is a directory, before any command runs.
 * Without --follow the journal is written to a temporary file beside PATH
 * and renamed to PATH at the end, and that rename would fail after the
 * cluster has changed.  pa_opt_replaceable has rejected an empty path, a
 * device and a pipe.
 */
static void
check_journal_path(const char *path)
{
	struct stat st;
	char example[600];

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return;
	snprintf(example, sizeof example, "%s%sjournal.ndjson", path,
		 path[strlen(path) - 1] == '/' ? "" : "/");
	pa_usage_error("--journal %s is a directory, not a file: name a file in it, such as %s",
		       pa_quote(path, strlen(path)), pa_quote(example, strlen(example)));
}

int
main(int argc, char **argv)
{
	struct pa_common_opts common;
	struct ctx cx = { 0 };
	struct pa_kube_conf kc = { "kubectl", NULL, NULL };
	const char *mode = "scale", *journal_path = NULL, *max_age_arg = NULL;
	int do_execute = 0, stop_on_error = 0, timeout_set = 0, c, rc, out;
	long max_step = 0, timeout_ms = 60000;
	char why[400];

	pa_diag_init(argv[0]);
	pa_out_init();
	pa_common_defaults(&common);

	/* Messages for unknown options come from below, one per option. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "n:hV", longopts, NULL)) != -1) {
		if (pa_common_option(&common, c, optarg))
			continue;
		switch (c) {
		case OPT_TARGET:
			cx.conf.target = optarg;
			break;
		case OPT_SPOT_TARGET:
			cx.conf.spot_target = optarg;
			break;
		case 'n':
			cx.conf.ns = optarg;
			break;
		case OPT_CONTEXT:
			kc.context = optarg;
			break;
		case OPT_KUBECTL:
			kc.kubectl = optarg;
			break;
		case OPT_MODE:
			mode = optarg;
			break;
		case OPT_MAX_STEP:
			max_step = pa_opt_long("--max-step", optarg, 1, PA_REPLICAS_MAX);
			break;
		case OPT_EXECUTE:
			do_execute = 1;
			break;
		case OPT_JOURNAL:
			journal_path = pa_opt_replaceable("--journal", optarg);
			break;
		case OPT_STOP_ON_ERROR:
			stop_on_error = 1;
			break;
		case OPT_REQUEST_TIMEOUT:
			pa_opt_duration("--request-timeout", optarg, PA_USEC_PER_SEC,
					86400 * PA_USEC_PER_SEC);
			kc.timeout = optarg;
			break;
		case OPT_FOLLOW:
			cx.follow = 1;
			break;
		case OPT_MAX_AGE:
			max_age_arg = optarg;
			break;
		case OPT_TIMEOUT:
			timeout_set = 1;
			timeout_ms = (long)(pa_opt_duration("--timeout", optarg, PA_USEC_PER_SEC / 10,
							    86400 * PA_USEC_PER_SEC) / 1000);
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

	if (strcmp(mode, "scale") == 0)
		cx.conf.op = PA_OP_SCALE;
	else if (strcmp(mode, "hpa-floor") == 0)
		cx.conf.op = PA_OP_HPA_FLOOR;
	else
		pa_usage_error("--mode %s is not scale or hpa-floor", pa_quote(mode, strlen(mode)));
	if (cx.conf.target == NULL)
		cx.conf.target = cx.conf.op == PA_OP_SCALE
					 ? "deployment/{tenant}-{service}"
					 : "horizontalpodautoscaler/{tenant}-{service}";
	if (pa_apply_conf_check(&cx.conf, why, sizeof why) != 0)
		pa_usage_error("%s", why);
	if (kc.kubectl[0] == '\0')
		pa_usage_error("--kubectl is empty");
	if ((journal_path != NULL || stop_on_error || max_age_arg != NULL || timeout_set) &&
	    !do_execute)
		pa_usage_error("--journal, --stop-on-error, --max-age and --timeout need --execute");
	if (journal_path != NULL)
		check_journal_path(journal_path);
	/*
	 * A split plan's current count is the total, not either workload's,
	 * so a printed script could never cap a step and would skip them all.
	 */
	if (max_step > 0 && cx.conf.spot_target != NULL && !do_execute)
		pa_usage_error("--max-step with --spot-target needs --execute, which reads each "
			       "workload's current replicas");
	cx.executing = do_execute;
	cx.max_age = cx.follow ? 10 * 60 * PA_USEC_PER_SEC : -1;
	if (max_age_arg != NULL)
		cx.max_age = strcmp(max_age_arg, "none") == 0
				     ? -1
				     : pa_opt_duration("--max-age", max_age_arg, PA_USEC_PER_SEC,
						       3660LL * 86400 * PA_USEC_PER_SEC);

	/*
	 * Following, each plan is acted on as it arrives, in input order: the
	 * script or journal is then a log of the plans, not one ordered batch.
	 */
	cx.kc = &kc;
	cx.max_step = max_step;
	cx.stop_on_error = stop_on_error;
	if (cx.follow && do_execute) {
		rc = follow_execute_inputs(argc - optind, argv + optind, &cx, &common,
					   journal_path, timeout_ms);
		applied_plans_free(&cx.applied);
		goto finish;
	}
	/* With --execute, the signals are caught once the journal is open. */
	if (!do_execute)
		pa_stop_catch();
	rc = pa_input_each(argc - optind, argv + optind, common.max_line, on_line, &cx);
	pa_changes_order(&cx.changes);

	if (rc == PA_EXIT_IO && cx.lines == 0) {
		/* No input could be read: an empty script would look like a plan with no changes. */
	} else if (cx.follow) {
		/* Every change was printed as it came, after the header. */
		print_header(1);
	} else if (!do_execute) {
		print_script(&cx.changes, &kc, max_step);
	} else {
		struct runner r = { &kc, NULL, timeout_ms, 0, 0, 0, 0, 0, NULL };

		if (journal_path != NULL) {
			r.journal = pa_journal_open(journal_path);
			if (r.journal == NULL)
				return PA_EXIT_IO;
		}
		catch_stop_signals();
		execute(&r, &cx.changes, max_step, stop_on_error);
		if (r.journal != NULL)
			close_journal(&r);
		if (report_failures(&r))
			rc = PA_EXIT_IO;
		cx.not_applied = r.not_applied;
	}

finish:
	pa_warn_kind_missing(cx.consumed, "plan", "pa-plan");
	if (cx.stale > 1)
		pa_warn("plans older than --max-age skipped: %ld", cx.stale);
	if (cx.unknown > 1)
		pa_warn("records of unknown kinds skipped: %ld", cx.unknown);

	/* A cron job reads only the status, so a plan not carried out shows there. */
	if (rc == PA_EXIT_OK && (unprinted > 0 || cx.changes.dropped > 0 || cx.not_applied > 0)) {
		long missed = unprinted + (long)cx.changes.dropped + cx.not_applied;

		pa_warn("%ld plan%s not applied (see the messages above)", missed,
			missed == 1 ? "" : "s");
		rc = PA_EXIT_DATA;
	}
	pa_changes_free(&cx.changes);
	if (rc == PA_EXIT_OK)
		rc = pa_diag_finish(common.max_bad);
	else
		pa_diag_finish(common.max_bad);
	out = pa_out_finish();
	return out ? out : rc;
}
