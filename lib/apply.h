/*
 * apply.h - turning plan records into replica changes for kubectl.
 *
 * A change is one object and the replica count (or HPA floor) it should
 * get.  Changes are collected for the whole input, so that a later plan for
 * the same object replaces an earlier one and so that scale-ups can run
 * before scale-downs.  Strings in a change are owned by the change.
 */
#ifndef PA_APPLY_H
#define PA_APPLY_H

#include <jansson.h>
#include <stddef.h>

#include "kube.h"
#include "plan.h"
#include "timeutil.h"

enum pa_apply_op {
	PA_OP_SCALE,		/* kubectl scale TARGET --replicas N */
	PA_OP_HPA_FLOOR		/* kubectl patch TARGET: spec.minReplicas = N */
};

/* Mapping from plan records to Kubernetes objects. */
struct pa_apply_conf {
	enum pa_apply_op op;
	const char *target;	/* template, e.g. deployment/{tenant}-{service} */
	const char *spot_target;	/* template for spot replicas; NULL: no split */
	const char *ns;		/* namespace template; NULL: the record's or kubectl's */
};

struct pa_change {
	enum pa_apply_op op;
	char *target;		/* TYPE/NAME, validated */
	char *ns;		/* validated, or NULL */
	char *series;		/* tenant_service_name or the object name, for comments */
	char *action;		/* the plan's action, or NULL */
	char *reason;		/* the plan's reason, or NULL */
	const char *role;	/* "on-demand", "spot" or NULL */
	long replicas;		/* wanted replicas or HPA floor */
	long current;		/* current replicas or floor, -1 unknown */
	long hpa_max;		/* HPA maxReplicas when read, -1 unknown */
	pa_usec_t ts;		/* when the plan was made, 0 when absent */
	pa_usec_t target_ts;	/* when its capacity is needed, 0 when absent */
	long seq;		/* input order, for a stable order */
};

struct pa_changes {
	struct pa_change *v;
	size_t n, cap;
	size_t dropped;		/* plans dropped because another series names their object */
};

/*
 * Check the template options once at start.  Returns 0, or -1 with the
 * reason in why.
 */
int pa_apply_conf_check(const struct pa_apply_conf *conf, char *why, size_t whysize);

/*
 * Turn one record into changes, stored in out[0..*nout) (at most 2).
 * Returns 1 when the record gave changes, 0 when its kind is not one
 * pa-apply consumes, and -1 when it is invalid: why contains the message and
 * *reason_class a fixed phrase for the reject summary.  Plan records
 * (kind "plan") and direct object records (kind deployment, statefulset,
 * replicaset or horizontalpodautoscaler, with name, replicas and optional
 * namespace) are consumed.  Borrows rec.
 */
int pa_apply_record(const json_t *rec, const struct pa_apply_conf *conf, long seq,
		    struct pa_change out[2], int *nout, char *why, size_t whysize,
		    const char **reason_class);

/* Add c, taking its strings; a change for the same namespace and target replaces an older one. */
void pa_changes_put(struct pa_changes *cs, struct pa_change *c);

/*
 * Sort: scale-ups (and floors raised) first, then changes whose current
 * value is unknown, then scale-downs; input order within each group.
 */
void pa_changes_order(struct pa_changes *cs);

void pa_change_free(struct pa_change *c);
void pa_changes_free(struct pa_changes *cs);

/*
 * The value to set after the step cap: at most max_step away from the
 * current value (max_step <= 0: no cap).  With an unknown current value the
 * wanted value is returned unchanged.
 */
long pa_change_capped(const struct pa_change *c, long max_step);

/* Build the kubectl argv that sets value on c's object. */
void pa_change_argv(const struct pa_change *c, const struct pa_kube_conf *kc, long value,
		    struct pa_argv *out);

/* Build "kubectl get TARGET -o json" (scale subresource for PA_OP_SCALE). */
void pa_change_get_argv(const struct pa_change *c, const struct pa_kube_conf *kc,
			struct pa_argv *out);

/*
 * Read the current value from kubectl get output into c->current (and
 * c->hpa_max).  Returns 0, or -1 with the reason in why.
 */
int pa_change_read_current(struct pa_change *c, const char *json_text, char *why,
			   size_t whysize);

/* Build "kubectl get TARGET -o json" for the workload itself, whose status counts ready pods. */
void pa_change_get_workload_argv(const struct pa_change *c, const struct pa_kube_conf *kc,
				 struct pa_argv *out);

/*
 * Read status.readyReplicas from kubectl get output of a workload (absent:
 * 0, as the API omits a zero).  Returns the count, or -1 with the reason
 * in why.
 */
long pa_workload_read_ready(const char *json_text, char *why, size_t whysize);

/* Text safe inside a sh comment: control bytes become "?", cut at 300 bytes.  Caller frees. */
char *pa_comment_text(const char *s);

#endif
