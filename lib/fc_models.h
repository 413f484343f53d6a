/*
 * fc_models.h - the individual models behind pa_fc_forecast (internal).
 *
 * Every model reads y[0..n) with NAN for unknown buckets and writes, for
 * each step k ahead (k = 0 is one step), the point forecast mean[k] and the
 * standard deviation sd[k] of its forecast error, both on the scale of y.
 * The caller owns all arrays.  A model returns 0, or -1 when the history
 * cannot support it, after writing the reason into why (PA_FC_REASON_MAX
 * bytes).
 */
#ifndef PA_FC_MODELS_H
#define PA_FC_MODELS_H

#include <stddef.h>

struct pa_fcm_out {
	double *mean;
	double *sd;
	double sigma;		/* one-step residual standard deviation */
	double aicc;		/* AICc of a likelihood fit, NAN for the naive models */
};

int pa_fcm_snaive(const double *y, size_t n, size_t period, size_t horizon,
		  struct pa_fcm_out *out, char *why);
int pa_fcm_naive(const double *y, size_t n, size_t horizon, struct pa_fcm_out *out, char *why);
int pa_fcm_drift(const double *y, size_t n, size_t horizon, struct pa_fcm_out *out, char *why);
int pa_fcm_mean(const double *y, size_t n, size_t horizon, struct pa_fcm_out *out, char *why);

/*
 * Croston's method with the Syntetos-Boylan correction (SBA) for
 * intermittent counts: sizes of the non-zero values and the intervals
 * between them are smoothed separately, and the forecast is their ratio
 * times 1 - alpha/2.
 */
int pa_fcm_croston(const double *y, size_t n, size_t horizon, struct pa_fcm_out *out,
		   char *why);

/* Smoothing parameters of a fitted ETS model, kept to reuse on another origin. */
struct pa_fcm_params {
	int valid;
	double alpha, beta, gamma, phi;
};

/* Additive exponential smoothing in state-space form, ETS(A,N|A|Ad,N|A). */
struct pa_fcm_ets_spec {
	int trend;		/* 1: additive trend */
	int damped;		/* 1: damped trend (needs trend) */
	size_t period;		/* season length; 0: no season */
	struct pa_fcm_params *reuse;	/* NULL: fit; valid: filter with these
					 * parameters; otherwise fit and store */
};

int pa_fcm_ets(const double *y, size_t n, const struct pa_fcm_ets_spec *spec,
	       size_t horizon, struct pa_fcm_out *out, char *why);

/* Count of known (non-NAN) values in y[0..n). */
size_t pa_fcm_known(const double *y, size_t n);

#endif
