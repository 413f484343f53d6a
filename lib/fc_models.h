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

#include <gsl/gsl_vector.h>

#include "forecast.h"

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

/*
 * Seasonal ARIMA(p,d,q)(P,D,Q)m fitted by conditional sum of squares, with
 * d and D from unit-root style rules and the orders by a stepwise AICc
 * search (fc_arima.c explains each rule).
 */
enum pa_fcm_arima_state {
	PA_FCM_ARIMA_EMPTY = 0,	/* choose differences and orders, then fit */
	PA_FCM_ARIMA_ORDER,	/* fit the coefficients of the given period, d, D and orders */
	PA_FCM_ARIMA_FITTED	/* forecast with the stored coefficients */
};

#define PA_FCM_ARIMA_COEF_MAX 8

struct pa_fcm_arima_fit {
	enum pa_fcm_arima_state state;
	int p, d, q, sp, sd, sq;	/* sp, sd, sq: the seasonal P, D, Q */
	size_t period;			/* 0: no seasonal part */
	int has_mean;			/* 1 when d + D < 2 */
	double mean;			/* of the differenced series */
	double coef[PA_FCM_ARIMA_COEF_MAX];	/* AR p, MA q, SAR P, SMA Q */
	double sigma2;			/* residual variance */
	double aicc;
};

/*
 * Forecast with ARIMA.  fit may be NULL; otherwise it is read according to
 * its state and left FITTED with the model that made the forecast.  A
 * seasonal part at period needs 3 * period + 16 values, else the model is
 * non-seasonal.
 */
int pa_fcm_arima(const double *y, size_t n, size_t period, size_t horizon,
		 struct pa_fcm_arima_fit *fit, struct pa_fcm_out *out, char *why);

/* Name a fit as "arima(p,d,q)(P,D,Q)[m]" or "arima(p,d,q)". */
void pa_fcm_arima_format(const struct pa_fcm_arima_fit *fit, char *buf, size_t size);

/* KPSS level-stationarity statistic of x[0..n); 0 for a constant series. */
double pa_fcm_arima_kpss(const double *x, size_t n);

/* First differences (0 to 2) after which the KPSS test no longer rejects at 5%. */
int pa_fcm_arima_ndiffs(const double *x, size_t n);

/* Seasonal strength in [0, 1] of a moving-average decomposition at period. */
double pa_fcm_arima_seasonal_strength(const double *x, size_t n, size_t period);

/*
 * Parameters of a fitted model, kept to reuse on another origin: the ETS
 * smoothing parameters (valid) or an ARIMA fit.
 */
/* Non-seasonal model of a decomposition forecast (pa_fcm_mstl). */
enum pa_fcm_adjusted {
	PA_FCM_ADJ_NONE = 0,	/* not chosen yet */
	PA_FCM_ADJ_SES,		/* ETS(A,N,N) */
	PA_FCM_ADJ_DAMPED	/* ETS(A,Ad,N) */
};

struct pa_fcm_params {
	int valid;
	double alpha, beta, gamma, phi;
	int ets_form;		/* the ETS form of pa_fcm_etsx, PA_FCM_ETS_FORM() */
	struct pa_fcm_arima_fit arima;
	enum pa_fcm_adjusted adjusted;	/* pa_fcm_mstl: which ETS the parameters are for */
	size_t harmonics[2];	/* regression, fourier: Fourier pairs per season; 0 and 0: choose */
	double lambda;		/* regression: slope-change penalty; 0: choose */
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

/*
 * Exponential smoothing in the state-space form of Hyndman, Koehler, Ord
 * and Snyder (2008): error additive or multiplicative, trend none, additive
 * or damped, season none, additive or multiplicative.  A form is
 * PA_FCM_ETS_FORM(error, trend, season) with error 0 (A) or 1 (M), trend
 * 0 (N), 1 (A) or 2 (Ad), season 0 (N), 1 (A) or 2 (M).
 */
#define PA_FCM_ETS_FORM(error, trend, season) ((error) * 9 + (trend) * 3 + (season))
#define PA_FCM_ETS_ERROR(form) ((form) / 9)
#define PA_FCM_ETS_TREND(form) ((form) / 3 % 3)
#define PA_FCM_ETS_SEASON(form) ((form) % 3)
#define PA_FCM_ETS_AUTO (-1)	/* choose the form by AICc */

/*
 * Forecast with ETS of the given form, or of the admissible form with the
 * lowest AICc when form is PA_FCM_ETS_AUTO.  The parameters are fitted by
 * maximum likelihood.  reuse works as for pa_fcm_ets, and its ets_form
 * gives the form when form is AUTO and reuse is valid.  A multiplicative
 * form needs every known value above zero: a fixed one fails on other
 * data, and AUTO then tries the additive forms only and writes a note into
 * why while still returning 0.  A form with a season at period needs 2 *
 * period values.
 */
int pa_fcm_etsx(const double *y, size_t n, size_t period, int form, size_t horizon,
		struct pa_fcm_params *reuse, struct pa_fcm_out *out, char *why);

/* Parse a form code such as "MAdM" or "ANN"; returns -1 for an unknown or
 * inadmissible one (additive error with a multiplicative season). */
int pa_fcm_etsx_parse(const char *code);

/* Name a form as "ets(M,Ad,M)[24]", or "ets(A,N,N)" without a season. */
void pa_fcm_etsx_format(int form, size_t period, char *buf, size_t size);

/* The --model name of a form, "ets:MAdM": a static string. */
const char *pa_fcm_etsx_model_name(int form);

/*
 * Guerrero's choice of the Box-Cox lambda in [lo, hi] for y[0..n) + shift:
 * the lambda that makes the standard deviation of subseries of length
 * period (2 when period < 2) most nearly proportional to their mean to the
 * power 1 - lambda.  Returns NAN when fewer than two subseries have a
 * positive mean and a spread.
 */
double pa_fcm_guerrero(const double *y, size_t n, size_t period, double shift, double lo,
		       double hi);

/* Box-Cox transform of y + shift, and its inverse. */
double pa_fcm_boxcox(double y, double lambda, double shift);
double pa_fcm_boxcox_inverse(double w, double lambda, double shift);

/*
 * Decompose y[0..n) into one seasonal component per period (count of
 * them, shortest first, each at least 2 and below n) and a trend, by STL
 * per period repeated over all of them (fc_mstl.c).  seasons receives
 * count * n values, season k at seasons[k * n]; trend n values.  Unknown
 * values are interpolated first.  Returns -1 when no value is known, a
 * period is out of range, or memory runs out.
 */
int pa_fcm_mstl_decompose(const double *y, size_t n, const size_t *periods, size_t count,
			  double *seasons, double *trend);

/*
 * Forecast with the decomposition at period and period2 (0: none).  Each
 * season repeats its last cycle, and the seasonally adjusted series is
 * forecast by ETS(A,N,N), or by ETS(A,Ad,N) when it trends and has the
 * lower AICc.  A season is left out unless n exceeds it.  reuse (may be
 * NULL) is read when valid and otherwise receives the smoothing model and
 * its parameters.
 */
int pa_fcm_mstl(const double *y, size_t n, size_t period, size_t period2, size_t horizon,
		struct pa_fcm_params *reuse, struct pa_fcm_out *out, char *why);

/* Name a fit as "mstl(p=48,336)+ets(A,Ad,N)", or the ETS model alone without a period. */
void pa_fcm_mstl_format(size_t period, size_t period2, const struct pa_fcm_params *params,
			char *buf, size_t size);

/*
 * Forecast with Fourier terms for period and period2 (0: none) and
 * non-seasonal ARIMA errors (fc_fourier.c).  A season is left out unless
 * the history covers it twice.  reuse (may be NULL) gives the harmonics per
 * season and the ARIMA fit to keep when set, and otherwise receives them.
 */
int pa_fcm_fourier(const double *y, size_t n, size_t period, size_t period2, size_t horizon,
		   struct pa_fcm_params *reuse, struct pa_fcm_out *out, char *why);

/*
 * Return the most sine and cosine pairs, at most cap, that a season of
 * period steps carries.  A season below 3 steps carries none.  Beside a
 * main season (main_period, 0 for none) that divides it, it carries fewer
 * than the ratio of the two, because that harmonic would repeat the main
 * season's first.
 */
size_t pa_fcm_fourier_pairs_max(size_t period, size_t main_period, size_t cap);

/* Name a fit as "fourier(p=24:5,168:6)+arima(2,1,2)". */
void pa_fcm_fourier_format(size_t period, size_t period2, const struct pa_fcm_params *params,
			   char *buf, size_t size);

/*
 * Write the harmonics per season as "K1,K2" for a kept choice, and parse
 * them back.  Decoding returns -1, leaving p unchanged, unless the text is
 * two counts of at most 10, the first of them at least 1.
 */
int pa_fcm_fourier_encode(const struct pa_fcm_params *p, char *buf, size_t size);
int pa_fcm_fourier_decode(const char *text, struct pa_fcm_params *p);

/*
 * Regression on a piecewise-linear trend, Fourier seasons and external
 * regressors (fc_regress.c).
 */
struct pa_fcm_regress_spec {
	size_t period, period2;		/* seasons in steps; 0: none */
	const struct pa_fc_regressors *rx;	/* NULL: none */
	int log1p;			/* y is log1p of the series; rx->y is mapped alike */
	double level;			/* interval level of the effects */
	struct pa_fcm_params *reuse;	/* NULL, or harmonics to keep or store */
	struct pa_fc_effect *effects;	/* NULL, or rx->count entries to fill */
};

int pa_fcm_regress(const double *y, size_t n, const struct pa_fcm_regress_spec *spec,
		   size_t horizon, struct pa_fcm_out *out, char *why);

/*
 * Write the structure a regression fit chose, the Fourier pairs per season
 * and the slope-change penalty, as "H1,H2,LAMBDA" for a kept choice.
 * Returns what snprintf returns.  Reused through spec->reuse, it fixes
 * that structure, and the coefficients are estimated afresh.
 */
int pa_fcm_regress_encode(const struct pa_fcm_params *p, char *buf, size_t size);

/*
 * Parse pa_fcm_regress_encode's text into p's harmonics and lambda.
 * Returns -1, leaving p unchanged, unless the text is two counts of
 * Fourier pairs, each at most 10, and a finite lambda >= 0.
 */
int pa_fcm_regress_decode(const char *text, struct pa_fcm_params *p);

/*
 * Minimise objective by GSL's Nelder-Mead simplex from u, with an initial
 * step in every direction, until the simplex is smaller than tol or after
 * iterations steps.  u receives the minimum found and the objective there
 * is returned; out of memory leaves u as it was and returns HUGE_VAL.
 */
double pa_fcm_simplex(double (*objective)(const gsl_vector *, void *), void *data, gsl_vector *u,
		      double step, double tol, int iterations);

/*
 * Map u to (0, 1) by the logistic function, clamped to [1e-4, 0.9999], the
 * default bounds of ets() in R's forecast 8.20, and map p back.
 */
double pa_fcm_logistic(double u);
double pa_fcm_logit(double p);

/* Mean of the known values of y[0..n), NAN when there is none. */
double pa_fcm_known_mean(const double *y, size_t n);

/* Count of known (non-NAN) values in y[0..n). */
size_t pa_fcm_known(const double *y, size_t n);

#endif
