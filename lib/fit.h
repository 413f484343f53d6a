/*
 * fit.h - learn complexity weights from observed request cost, and the
 * model file that stores them.
 *
 * The target is ln(1 + cost), the cost being duration_ms or another
 * observed cost field (--cost).  The features are those of score.h
 * plus any extra numeric fields named with --feature.  One fit runs over
 * all rows (the global scale, used for services the model has not seen),
 * and one per service that has at least PA_FIT_MIN_ROWS rows; smaller
 * services keep the global weights with their own reference.  Features
 * constant over the rows get weight 0.
 */
#ifndef PA_FIT_H
#define PA_FIT_H

#include <jansson.h>
#include <stddef.h>

#include "score.h"

#define PA_FIT_MIN_ROWS 50

enum pa_fit_method {
	PA_FIT_HUBER,		/* robust regression, GSL's Huber weights */
	PA_FIT_RIDGE		/* least squares with a small ridge penalty */
};

struct pa_fitter;

/* extra is copied; its names must outlive the fitter. */
struct pa_fitter *pa_fitter_new(enum pa_fit_method method, const struct pa_extra *extra);

/* Add one training row. */
void pa_fitter_add(struct pa_fitter *ft, const char *tenant_service_name,
		   const struct pa_features *f, double cost);

long pa_fitter_rows(const struct pa_fitter *ft);

/*
 * Fit and return the model as a new JSON object, or NULL with a reason in
 * err when there are too few rows.  cost_field names the target in the
 * model and in messages.  Frees nothing: call pa_fitter_free.
 */
json_t *pa_fitter_model(struct pa_fitter *ft, const char *cost_field, char *err,
			size_t errsize);
void pa_fitter_free(struct pa_fitter *ft);

/* A model loaded from its file. */
struct pa_model;

/*
 * Load a model file.  Returns NULL with a reason in err when it cannot be
 * read or is not a pa-score model.
 */
struct pa_model *pa_model_load(const char *path, char *err, size_t errsize);

/* The extra record fields the model reads.  Borrowed from the model. */
const struct pa_extra *pa_model_extra(const struct pa_model *m);

/* pa_scale_lookup over the model: the service's scale, or the global one. */
const struct pa_scale *pa_model_lookup(const char *tenant_service_name, void *model);

void pa_model_free(struct pa_model *m);

#endif
