/*
 * score.h - request features, the complexity heuristic, fitted models and
 * the per-service scale.
 *
 * A request's complexity is exp(s - ref), where s is a linear score over
 * the features below (the heuristic's fixed weights, or a model's fitted
 * ones) and ref is the score of the service's median request, so the
 * median request of every service scores 1.0.  Without a model, ref is the
 * median score of the service's first N requests (pa_calib).
 */
#ifndef PA_SCORE_H
#define PA_SCORE_H

#include <jansson.h>
#include <stddef.h>

#include "timeutil.h"

/* Feature indexes; every feature is 0 for a typical GET of an HTML page. */
enum pa_feature {
	PA_F_BYTES_IN,		/* ln(1 + bytes_in / 1024) */
	PA_F_BYTES_OUT,		/* ln(1 + bytes_out / 1024) */
	PA_F_QUERY,		/* ln(1 + query parameter count) */
	PA_F_SEGMENTS,		/* path template segments */
	PA_F_WRITE,		/* method POST, PUT, PATCH or DELETE */
	PA_F_LIGHT,		/* method HEAD or OPTIONS */
	PA_F_STATIC,		/* path ends in a static asset extension */
	PA_F_HEALTH,		/* path is a health or readiness probe */
	PA_F_DYNAMIC,		/* path is a script or API endpoint */
	PA_F_BODY_ITEMS,	/* ln(1 + keys and array elements in logged JSON bodies) */
	PA_F_BODY_DEPTH,	/* nesting depth of logged JSON bodies */
	PA_F_BASE_COUNT
};

#define PA_MAX_EXTRA 16		/* --feature fields a model may add */
#define PA_F_MAX (PA_F_BASE_COUNT + PA_MAX_EXTRA)
#define PA_TEMPLATE_MAX 256	/* longest path template kept */
/*
 * Largest byte count and carried complexity of one request.  Bucket sums
 * are kept in 64-bit integers (complexity in millionths), so these leave
 * room for millions of requests at the limit in one bucket.
 */
#define PA_SCORE_BYTES_MAX 1e12
#define PA_SCORE_COMPLEXITY_MAX 1e6

extern const char *const pa_feature_names[PA_F_BASE_COUNT];

/* Heuristic weights, in the order of enum pa_feature. */
extern const double pa_heuristic_weights[PA_F_BASE_COUNT];

/* The features of one request. */
struct pa_features {
	double x[PA_F_MAX];
	int bytes_in_known;	/* x[PA_F_BYTES_IN] is 0 and to be imputed when not */
	char template[PA_TEMPLATE_MAX];	/* normalised path: ids replaced by ":id" */
};

/* Optional numeric record fields used as extra features (log1p of the value). */
struct pa_extra {
	const char *names[PA_MAX_EXTRA];
	int n;
};

/* Depth limit for logged JSON bodies; deeper bodies are rejected. */
#define PA_BODY_DEPTH_DEFAULT 64

/*
 * Extract the features of a request record.  Returns 0, or -1 with a
 * message naming the field in err (a size that is not a non-negative
 * number, a method or path that is not a string, a body nested deeper than
 * max_depth, a missing extra feature).  Borrows rec.
 */
int pa_features_extract(const json_t *rec, const struct pa_extra *extra, int max_depth,
			struct pa_features *f, char *err, size_t errsize);

/*
 * Normalise a request path into a template: the query string is cut off
 * and counted, and segments that look like identifiers (numbers, UUIDs,
 * long hex or mixed tokens) become ":id".  Returns the query parameter
 * count.
 */
int pa_path_template(const char *path, size_t len, char *out, size_t outsize);

/*
 * The features of a request from already checked parts: method and path
 * (NULL when absent; len bytes, not NUL-terminated) and sizes.  No body
 * or extra features.
 */
void pa_features_basic(struct pa_features *f, const char *method, size_t mlen,
		       const char *path, size_t plen, int bytes_in_known, double bytes_in,
		       double bytes_out);


/* Coefficients of one linear score over the features. */
struct pa_weights {
	double w[PA_F_MAX];
	int n;			/* features used: PA_F_BASE_COUNT + extras */
	double intercept;
};

void pa_weights_heuristic(struct pa_weights *w);

/*
 * The linear score.  impute_bytes_in replaces x[PA_F_BYTES_IN] when the
 * request's bytes_in is unknown.
 */
double pa_score_linear(const struct pa_weights *w, const struct pa_features *f,
		       double impute_bytes_in);

/*
 * A service's scale: the weights that score its requests, the score of its
 * median request (reference) and the bytes_in feature assumed when a
 * request's bytes_in is unknown.  complexity = exp(score - reference).
 */
struct pa_scale {
	struct pa_weights w;
	double reference;
	double impute_bytes_in;
};

/* complexity = exp(score - reference), with the exponent clamped to +-30. */
double pa_complexity(double score, double reference);

/*
 * Returns the model's scale for a service, or NULL to calibrate it from the
 * data.  The scale must stay valid until pa_scorer_free.
 */
typedef const struct pa_scale *(*pa_scale_lookup)(const char *tenant_service_name, void *ctx);

/*
 * Called for every queued item in input order once its complexity is
 * known.  complexity is NAN for records that are not requests.  The item
 * is the caller's (a record, or a summary of one) and passes back to it.
 */
typedef void (*pa_scored_fn)(void *item, double complexity, void *ctx);

/*
 * The scorer holds records back, in input order, until the services of the
 * requests among them are calibrated: a service's reference is the median
 * score of its first calibrate_n requests (all of them when it has fewer).
 * At most hold_max records are held; when that fills, the oldest held
 * request's service is calibrated on the requests seen so far and a
 * warning says so.
 */
struct pa_scorer;

struct pa_scorer *pa_scorer_new(const struct pa_weights *heuristic, long calibrate_n,
				long hold_max, pa_scale_lookup lookup, void *lookup_ctx,
				pa_scored_fn emit, void *emit_ctx);

/*
 * Score a request at once when nothing is held and its service is
 * calibrated: returns 1 and stores the complexity.  Returns 0 when the
 * request must go through pa_scorer_request instead.
 */
int pa_scorer_try_now(struct pa_scorer *sc, const char *tenant_service_name,
		      const struct pa_features *f, double *complexity);

/* Is nothing held? */
int pa_scorer_idle(const struct pa_scorer *sc);

/* Queue a request with its features. */
void pa_scorer_request(struct pa_scorer *sc, void *item, const char *tenant_service_name,
		       const struct pa_features *f);

/* Queue a request that carries its complexity already. */
void pa_scorer_scored(struct pa_scorer *sc, void *item, double complexity);

/*
 * Queue a record of another kind, to be emitted after the records before
 * it.  With bypass set it is emitted at once instead, ahead of any held
 * requests: rollup mode does that because requests are not written there.
 */
void pa_scorer_other(struct pa_scorer *sc, void *item, int bypass);

/* Calibrate every service still waiting, emit everything held, and free. */
void pa_scorer_finish(struct pa_scorer *sc);

/*
 * The fields of a request record that scoring and rollups use, read by
 * pa_request_flat straight from the line.  Strings point into the line.
 */
struct pa_request_parts {
	char *tenant_service_name, *tenant, *service;	/* tenant, service may be NULL */
	size_t tenant_service_name_len, tenant_len, service_len;
	char *method, *path;		/* NULL when absent */
	size_t method_len, path_len;
	pa_usec_t ts;
	int has_ts;
	int status;			/* 0 when absent */
	int has_bytes_in, has_bytes_out, has_complexity;
	double bytes_in, bytes_out, complexity;
};

/*
 * Read a request from a flat line (see pa_flat_scan) when every field
 * scoring uses is present and valid, and there are no body fields.
 * Returns 0, or -1 for anything else: another kind, a field to reject, a
 * line the full parser must see.  The caller then takes the full path,
 * which reports what is wrong.
 */
int pa_request_flat(char *line, size_t len, struct pa_request_parts *p);

/*
 * NUL-terminate the strings of p in the line they point into, by
 * overwriting their closing quotes.  The line is no longer JSON after this.
 */
void pa_request_parts_terminate(struct pa_request_parts *p);

#endif
