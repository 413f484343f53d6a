#include "fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multifit.h>

#include "diag.h"

/* Training rows of one service: features row-major, PA_F_MAX per row. */
struct rows {
	char *name;
	double *x;
	unsigned char *bytes_in_known;
	double *y;
	long n, cap;
};

struct pa_fitter {
	enum pa_fit_method method;
	struct pa_extra extra;
	int nfeatures;
	json_t *index;		/* name -> position in services */
	struct rows *services;
	long nservices, capservices;
	long total;
};

struct pa_fitter *
pa_fitter_new(enum pa_fit_method method, const struct pa_extra *extra)
{
	struct pa_fitter *ft = pa_xrealloc(NULL, sizeof *ft);

	memset(ft, 0, sizeof *ft);
	ft->method = method;
	if (extra != NULL)
		ft->extra = *extra;
	ft->nfeatures = PA_F_BASE_COUNT + ft->extra.n;
	ft->index = json_object();
	return ft;
}

void
pa_fitter_add(struct pa_fitter *ft, const char *tenant_service_name,
	      const struct pa_features *f, double cost)
{
	json_t *pos = json_object_get(ft->index, tenant_service_name);
	struct rows *r;

	if (pos == NULL) {
		if (ft->nservices == ft->capservices) {
			ft->capservices = ft->capservices ? 2 * ft->capservices : 8;
			ft->services = pa_xrealloc(ft->services,
						(size_t)ft->capservices * sizeof *ft->services);
		}
		r = &ft->services[ft->nservices];
		memset(r, 0, sizeof *r);
		r->name = strdup(tenant_service_name);
		if (r->name == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
		json_object_set_new(ft->index, tenant_service_name, json_integer(ft->nservices));
		ft->nservices++;
	} else {
		r = &ft->services[json_integer_value(pos)];
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->x = pa_xrealloc(r->x, (size_t)r->cap * PA_F_MAX * sizeof *r->x);
		r->y = pa_xrealloc(r->y, (size_t)r->cap * sizeof *r->y);
		r->bytes_in_known = pa_xrealloc(r->bytes_in_known, (size_t)r->cap);
	}
	memcpy(r->x + r->n * PA_F_MAX, f->x, PA_F_MAX * sizeof *r->x);
	r->bytes_in_known[r->n] = (unsigned char)f->bytes_in_known;
	r->y[r->n] = log1p(cost);
	r->n++;
	ft->total++;
}

long
pa_fitter_rows(const struct pa_fitter *ft)
{
	return ft->total;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, long n)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A view of the rows a fit uses: pointers into one or more services. */
struct design {
	long n;
	const double **x;	/* n feature rows */
	double *y;
};

/* Quality of one fit on its training rows. */
struct fit_result {
	struct pa_weights w;
	double r2, residual_sd, residual_mad;
	long n;
	const char *method;
};

/*
 * Solve (X'X + lambda I) b = X'y by Cholesky, the intercept (column 0)
 * unpenalised.  Returns 0 or a GSL error code.
 */
static int
ridge(const gsl_matrix *X, const gsl_vector *y, double lambda, gsl_vector *b)
{
	size_t p = X->size2;
	gsl_matrix *A = gsl_matrix_alloc(p, p);
	gsl_vector *rhs = gsl_vector_alloc(p);
	int rc;

	gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, X, X, 0.0, A);
	gsl_blas_dgemv(CblasTrans, 1.0, X, y, 0.0, rhs);
	for (size_t j = 1; j < p; j++)
		gsl_matrix_set(A, j, j, gsl_matrix_get(A, j, j) + lambda);
	rc = gsl_linalg_cholesky_decomp1(A);
	if (rc == 0)
		rc = gsl_linalg_cholesky_solve(A, rhs, b);
	gsl_matrix_free(A);
	gsl_vector_free(rhs);
	return rc;
}

/*
 * Fit the design.  Columns constant over the rows are left out (weight 0);
 * bytes_in of rows where it is unknown is set to impute first.
 */
static void
fit_design(const struct pa_fitter *ft, const struct design *d, const unsigned char *known,
	   double impute, struct fit_result *res)
{
	int cols[PA_F_MAX], ncols = 0;
	gsl_matrix *X;
	gsl_vector *y, *b, *r;
	gsl_matrix *cov;
	double mean = 0, ss_tot = 0, ss_res = 0, *absres;
	int rc = -1;

	memset(res, 0, sizeof *res);
	res->w.n = ft->nfeatures;
	res->n = d->n;

	/* Keep the columns that vary. */
	for (int j = 0; j < ft->nfeatures; j++) {
		double lo = INFINITY, hi = -INFINITY;

		for (long i = 0; i < d->n; i++) {
			double v = (j == PA_F_BYTES_IN && !known[i]) ? impute : d->x[i][j];

			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		if (hi - lo > 1e-12)
			cols[ncols++] = j;
	}

	X = gsl_matrix_alloc((size_t)d->n, (size_t)ncols + 1);
	y = gsl_vector_alloc((size_t)d->n);
	b = gsl_vector_alloc((size_t)ncols + 1);
	r = gsl_vector_alloc((size_t)d->n);
	cov = gsl_matrix_alloc((size_t)ncols + 1, (size_t)ncols + 1);
	for (long i = 0; i < d->n; i++) {
		gsl_matrix_set(X, (size_t)i, 0, 1.0);
		for (int c = 0; c < ncols; c++) {
			int j = cols[c];
			double v = (j == PA_F_BYTES_IN && !known[i]) ? impute : d->x[i][j];

			gsl_matrix_set(X, (size_t)i, (size_t)c + 1, v);
		}
		gsl_vector_set(y, (size_t)i, d->y[i]);
		mean += d->y[i];
	}
	mean /= (double)d->n;

	if (ft->method == PA_FIT_HUBER && d->n > ncols + 1) {
		gsl_multifit_robust_workspace *ws =
			gsl_multifit_robust_alloc(gsl_multifit_robust_huber, (size_t)d->n,
						  (size_t)ncols + 1);

		rc = gsl_multifit_robust(X, y, b, cov, ws);
		gsl_multifit_robust_free(ws);
		res->method = "huber";
	}
	if (rc != 0) {
		/* A small penalty keeps collinear columns solvable. */
		rc = ridge(X, y, 1e-6 * (double)d->n, b);
		res->method = "ridge";
	}
	if (rc != 0) {
		gsl_vector_set_zero(b);
		gsl_vector_set(b, 0, mean);
		res->method = "mean";
	}

	res->w.intercept = gsl_vector_get(b, 0);
	for (int c = 0; c < ncols; c++)
		res->w.w[cols[c]] = gsl_vector_get(b, (size_t)c + 1);
	gsl_blas_dgemv(CblasNoTrans, 1.0, X, b, 0.0, r);

	absres = pa_xrealloc(NULL, (size_t)d->n * sizeof *absres);
	for (long i = 0; i < d->n; i++) {
		double e = d->y[i] - gsl_vector_get(r, (size_t)i);

		ss_res += e * e;
		ss_tot += (d->y[i] - mean) * (d->y[i] - mean);
		absres[i] = fabs(e);
	}
	res->r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : 0;
	res->residual_sd = d->n > ncols + 1 ? sqrt(ss_res / (double)(d->n - ncols - 1)) : 0;
	res->residual_mad = 1.4826 * median(absres, d->n);
	free(absres);
	gsl_matrix_free(X);
	gsl_vector_free(y);
	gsl_vector_free(b);
	gsl_vector_free(r);
	gsl_matrix_free(cov);
}

/* Median known bytes_in feature over rows, 0 when none is known. */
static double
impute_of(const struct design *d, const unsigned char *known)
{
	double *v = pa_xrealloc(NULL, (size_t)d->n * sizeof *v), m;
	long k = 0;

	for (long i = 0; i < d->n; i++)
		if (known[i])
			v[k++] = d->x[i][PA_F_BYTES_IN];
	m = median(v, k);
	free(v);
	return m;
}

/* Median fitted score of the rows: the score that maps to complexity 1. */
static double
reference_of(const struct design *d, const unsigned char *known, const struct pa_weights *w,
	     double impute)
{
	double *v = pa_xrealloc(NULL, (size_t)d->n * sizeof *v), m;

	for (long i = 0; i < d->n; i++) {
		struct pa_features f;

		memcpy(f.x, d->x[i], sizeof f.x);
		f.bytes_in_known = known[i];
		v[i] = pa_score_linear(w, &f, impute);
	}
	m = median(v, d->n);
	free(v);
	return m;
}

static json_t *
entry_json(const struct pa_fitter *ft, const struct fit_result *res, double reference,
	   double impute, int own_fit)
{
	json_t *coef = json_object();
	json_t *e = json_object();

	json_object_set_new(coef, "intercept", json_real(res->w.intercept));
	for (int j = 0; j < ft->nfeatures; j++)
		json_object_set_new(coef, j < PA_F_BASE_COUNT ? pa_feature_names[j] :
				    ft->extra.names[j - PA_F_BASE_COUNT], json_real(res->w.w[j]));
	json_object_set_new(e, "rows", json_integer(res->n));
	json_object_set_new(e, "fit", json_string(own_fit ? res->method : "global"));
	json_object_set_new(e, "coefficients", coef);
	json_object_set_new(e, "r2", json_real(res->r2));
	json_object_set_new(e, "residual_sd", json_real(res->residual_sd));
	json_object_set_new(e, "residual_mad", json_real(res->residual_mad));
	json_object_set_new(e, "reference", json_real(reference));
	json_object_set_new(e, "impute_bytes_in", json_real(impute));
	return e;
}

static void
design_of(const struct rows *r, struct design *d)
{
	d->n = r->n;
	d->x = pa_xrealloc(NULL, (size_t)r->n * sizeof *d->x);
	d->y = r->y;
	for (long i = 0; i < r->n; i++)
		d->x[i] = r->x + i * PA_F_MAX;
}

json_t *
pa_fitter_model(struct pa_fitter *ft, const char *cost_field, char *err, size_t errsize)
{
	struct design all;
	unsigned char *known;
	struct fit_result global;
	json_t *model, *features, *services, *target;
	double impute;
	long k = 0;

	/* Failures come back as return codes and fall back to ridge, never abort. */
	gsl_set_error_handler_off();
	if (ft->total < 2 * (ft->nfeatures + 1)) {
		snprintf(err, errsize, "%ld rows with %s, at least %d needed", ft->total, cost_field,
			 2 * (ft->nfeatures + 1));
		return NULL;
	}

	/* The global design spans every service's rows. */
	all.n = ft->total;
	all.x = pa_xrealloc(NULL, (size_t)ft->total * sizeof *all.x);
	all.y = pa_xrealloc(NULL, (size_t)ft->total * sizeof *all.y);
	known = pa_xrealloc(NULL, (size_t)ft->total);
	for (long s = 0; s < ft->nservices; s++) {
		for (long i = 0; i < ft->services[s].n; i++, k++) {
			all.x[k] = ft->services[s].x + i * PA_F_MAX;
			all.y[k] = ft->services[s].y[i];
			known[k] = ft->services[s].bytes_in_known[i];
		}
	}
	impute = impute_of(&all, known);
	fit_design(ft, &all, known, impute, &global);

	model = json_object();
	features = json_array();
	for (int j = 0; j < ft->nfeatures; j++)
		json_array_append_new(features, json_string(j < PA_F_BASE_COUNT ?
					pa_feature_names[j] : ft->extra.names[j - PA_F_BASE_COUNT]));
	json_object_set_new(model, "pa_score_model", json_integer(1));
	target = json_sprintf("ln(1 + %s)", cost_field);
	json_object_set_new(model, "target", target ? target : json_string("ln(1 + cost)"));
	json_object_set_new(model, "features", features);
	json_object_set_new(model, "global",
			    entry_json(ft, &global, reference_of(&all, known, &global.w, impute),
				       impute, 1));

	services = json_object();
	for (long s = 0; s < ft->nservices; s++) {
		struct rows *r = &ft->services[s];
		struct design d;
		struct fit_result res;
		double imp;
		int own = r->n >= PA_FIT_MIN_ROWS;

		design_of(r, &d);
		imp = impute_of(&d, r->bytes_in_known);
		if (own) {
			fit_design(ft, &d, r->bytes_in_known, imp, &res);
		} else {
			res = global;
			res.n = r->n;
		}
		json_object_set_new(services, r->name,
				    entry_json(ft, &res,
					       reference_of(&d, r->bytes_in_known, &res.w, imp),
					       imp, own));
		free(d.x);
	}
	json_object_set_new(model, "services", services);
	free(all.x);
	free(all.y);
	free(known);
	return model;
}

void
pa_fitter_free(struct pa_fitter *ft)
{
	for (long s = 0; s < ft->nservices; s++) {
		free(ft->services[s].name);
		free(ft->services[s].x);
		free(ft->services[s].y);
		free(ft->services[s].bytes_in_known);
	}
	free(ft->services);
	json_decref(ft->index);
	free(ft);
}

/* Model files */

struct pa_model {
	json_t *root;
	struct pa_extra extra;
	struct pa_scale global;
	json_t *index;		/* name -> position in scales */
	struct pa_scale *scales;
	long nscales;
};

static int
scale_from_json(const struct pa_model *m, const json_t *e, struct pa_scale *sc, char *err,
		size_t errsize)
{
	const json_t *coef = json_object_get(e, "coefficients");
	double v;

	memset(sc, 0, sizeof *sc);
	sc->w.n = PA_F_BASE_COUNT + m->extra.n;
	if (!json_is_object(coef) || !json_is_number(json_object_get(e, "reference")) ||
	    !json_is_number(json_object_get(e, "impute_bytes_in")) ||
	    !json_is_number(json_object_get(coef, "intercept"))) {
		snprintf(err, errsize, "entry without coefficients, reference or impute_bytes_in");
		return -1;
	}
	sc->reference = json_number_value(json_object_get(e, "reference"));
	sc->impute_bytes_in = json_number_value(json_object_get(e, "impute_bytes_in"));
	sc->w.intercept = json_number_value(json_object_get(coef, "intercept"));
	for (int j = 0; j < sc->w.n; j++) {
		const char *name = j < PA_F_BASE_COUNT ? pa_feature_names[j] :
				   m->extra.names[j - PA_F_BASE_COUNT];
		const json_t *c = json_object_get(coef, name);

		if (!json_is_number(c)) {
			snprintf(err, errsize, "coefficient \"%s\" is missing", name);
			return -1;
		}
		v = json_number_value(c);
		sc->w.w[j] = v;
	}
	return 0;
}

struct pa_model *
pa_model_load(const char *path, char *err, size_t errsize)
{
	json_error_t jerr;
	struct pa_model *m = pa_xrealloc(NULL, sizeof *m);
	const json_t *features, *services, *e;
	const char *name;
	char why[200];

	memset(m, 0, sizeof *m);
	m->index = json_object();
	m->root = json_load_file(path, 0, &jerr);
	if (m->root == NULL) {
		snprintf(err, errsize, "%s: %s", path, jerr.text);
		goto fail;
	}
	features = json_object_get(m->root, "features");
	services = json_object_get(m->root, "services");
	if (json_integer_value(json_object_get(m->root, "pa_score_model")) != 1 ||
	    !json_is_array(features) || !json_is_object(services)) {
		snprintf(err, errsize, "%s: not a pa-score model (version 1)", path);
		goto fail;
	}

	/* Features after the built-in ones are extra record fields. */
	for (size_t j = 0; j < json_array_size(features); j++) {
		const char *f = json_string_value(json_array_get(features, j));

		if (f == NULL) {
			snprintf(err, errsize, "%s: feature %zu is not a string", path, j);
			goto fail;
		}
		if (j < PA_F_BASE_COUNT) {
			if (strcmp(f, pa_feature_names[j]) != 0) {
				snprintf(err, errsize, "%s: feature %zu is \"%s\", expected \"%s\"",
					 path, j, f, pa_feature_names[j]);
				goto fail;
			}
		} else if (m->extra.n < PA_MAX_EXTRA) {
			m->extra.names[m->extra.n++] = f;
		} else {
			snprintf(err, errsize, "%s: more than %d extra features", path, PA_MAX_EXTRA);
			goto fail;
		}
	}
	if (json_array_size(features) < PA_F_BASE_COUNT) {
		snprintf(err, errsize, "%s: %zu features, expected at least %d", path,
			 json_array_size(features), PA_F_BASE_COUNT);
		goto fail;
	}

	if (scale_from_json(m, json_object_get(m->root, "global"), &m->global, why,
			    sizeof why) != 0) {
		snprintf(err, errsize, "%s: global: %s", path, why);
		goto fail;
	}
	m->scales = pa_xrealloc(NULL, (json_object_size(services) + 1) * sizeof *m->scales);
	json_object_foreach((json_t *)services, name, e) {
		if (scale_from_json(m, e, &m->scales[m->nscales], why, sizeof why) != 0) {
			snprintf(err, errsize, "%s: service \"%s\": %s", path, name, why);
			goto fail;
		}
		json_object_set_new(m->index, name, json_integer(m->nscales));
		m->nscales++;
	}
	return m;
fail:
	pa_model_free(m);
	return NULL;
}

const struct pa_extra *
pa_model_extra(const struct pa_model *m)
{
	return &m->extra;
}

const struct pa_scale *
pa_model_lookup(const char *tenant_service_name, void *model)
{
	struct pa_model *m = model;
	json_t *pos = json_object_get(m->index, tenant_service_name);

	return pos ? &m->scales[json_integer_value(pos)] : &m->global;
}

void
pa_model_free(struct pa_model *m)
{
	free(m->scales);
	json_decref(m->index);
	json_decref(m->root);
	free(m);
}
