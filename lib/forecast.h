/*
 * forecast.h - point forecasts and prediction intervals for one series.
 *
 * The input is a regular series y[0..n) of bucket values, oldest first, one
 * value per step.  NAN marks an unknown bucket; every model skips it when
 * fitting and carries its state across it.  The caller owns y.
 *
 * pa_fc_forecast() fills a pa_fc_result whose arrays it allocates; release
 * them with pa_fc_result_free().  A series too short or too flat for the
 * requested model still gets a forecast from a simpler one, and the result's
 * model and reason fields name the model that ran and the reason for it.  Only a
 * series with no known value at all has no forecast.
 *
 * Models (opts.model):
 *   "auto"     the candidates below that the history supports, compared by
 *              the mean absolute error over up to ten rolling origins at
 *              the end of the history.  The best one, or the average of the
 *              best two or three when that did better, is refitted on all
 *              of it.  The hold-out errors also rescale the interval so
 *              that it covers about the requested share of them.
 *   "snaive"   seasonal naive: the value one period back
 *   "naive"    the last known value (random walk)
 *   "drift"    random walk with the average historical slope
 *   "mean"     the mean of the history
 *   "hw"       additive Holt-Winters (level, trend, season), smoothing
 *              parameters fitted by Nelder-Mead on the one-step squared error
 *   "hw-damped" the same with a damped trend
 *   "ses"      simple exponential smoothing (level only)
 *   "croston"  Croston's method with the Syntetos-Boylan correction, for
 *              intermittent counts.  "auto" tries it when at least 30% of
 *              the known values are zero.
 *   "ets"      exponential smoothing in state-space form: error A or M,
 *              trend N, A or Ad, season N, A or M.  AICc chooses the form
 *              and maximum likelihood fits the parameters.  The result is
 *              named like "ets(M,Ad,M)[24]".  "auto" tries it on the raw
 *              scale, and on the transformed ones too when a value is <= 0.
 *   "ets:FORM" one fixed form, such as "ets:MAdM".  A multiplicative form
 *              on data with a value <= 0 falls back to "ets".
 *   "arima"    seasonal ARIMA with orders chosen by AICc
 *   "mstl"     STL decomposition at period and period2 together.  The
 *              adjusted series is forecast by ETS(A,N,N) or ETS(A,Ad,N),
 *              and each season repeats its last cycle.  "auto" tries it
 *              on log1p, at both periods when the history contains two
 *              seasons of period2, else at period alone.
 *   "fourier"  Fourier terms for period and period2 with non-seasonal
 *              ARIMA errors (fc_fourier.c).  "auto" tries it as it does
 *              "mstl".
 *   "regress"  regression on a piecewise-linear trend with penalised slope
 *              changes, Fourier terms for period and period2, and the
 *              columns of opts.regressors, with AR(1) errors (fc_regress.c).
 *              "auto" tries it only when regressors are given, and never
 *              averages it with other models, so their effects are
 *              applied in full or not at all.
 */
#ifndef PA_FORECAST_H
#define PA_FORECAST_H

#include <stddef.h>

#define PA_FC_NAME_MAX 160
#define PA_FC_REASON_MAX 160
#define PA_FC_SPEC_MAX 640

/* Most regressor columns the regression model takes. */
#define PA_FC_REGRESSORS_MAX 32

/* A lead for a column known for every row, such as an event schedule. */
#define PA_FC_LEAD_ALWAYS ((size_t)-1)

/*
 * External regressors for the "regress" model, one column each.  x contains
 * n + horizon rows of count values, row-major, for the history and the
 * horizon, NAN where a value is unknown.  A column with lead L is only
 * read at row t when t < (end of the training history) + L: a trend
 * stream taken L steps back is known that far ahead and no further, also
 * at the rolling origins of the automatic choice.  Unknown history rows
 * take the column's mean; a forecast step that lacks a column uses a fit
 * without that column.
 */
struct pa_fc_regressors {
	size_t count;		/* columns, at most PA_FC_REGRESSORS_MAX */
	const double *x;
	const size_t *lead;	/* per column, in steps, or PA_FC_LEAD_ALWAYS */
	const double *y;	/* NULL, or the history of the series with buckets
				 * that y passed to pa_fc_forecast leaves out (event
				 * windows) kept: the regression fits this one */
};

/* The fitted effect of one regressor column. */
struct pa_fc_effect {
	int used;		/* 1: the column entered the fit on the whole history */
	int log1p;		/* 1: coef is on the log1p scale of the series */
	double coef;		/* change of the fitted value per unit of the column */
	double lower, upper;	/* interval of coef at opts.level */
	double base;		/* mean fitted value without this column over the
				 * history rows where it is non-zero */
	size_t steps;		/* forecast steps whose point forecast used it */
};

struct pa_fc_opts {
	size_t period;		/* season length in steps; 0 or 1: no season */
	size_t period2;		/* a second, longer season (weekly beside daily); 0: none */
	double level;		/* interval level as a fraction, 0 < level < 1 */
	const char *model;	/* a name above; NULL means "auto" */
	int counts;		/* 1: values are counts, so forecasts and bounds are
				 * clamped at zero and a flat history still gets a
				 * Poisson-sized interval */
	int transform;		/* PA_FC_TRANSFORM_*; log1p and Box-Cox need every y >= 0 */
	int nonnegative;	/* 1: forecasts and bounds are clamped at zero
				 * (implied by counts) */
	const char *reuse;	/* NULL, or the spec of an earlier automatic
				 * choice: its models, parameters and interval
				 * scale are used without a new search or fit.
				 * A regression model keeps its Fourier pairs
				 * and slope-change penalty, and its
				 * coefficients are fitted afresh on y and
				 * regressors */
	const struct pa_fc_regressors *regressors;	/* NULL: none; borrowed */
};

/*
 * Variance-stabilising transform.  With log1p the model is fitted on
 * log1p(y) and the forecast mapped back with expm1, so the point forecast
 * is a median rather than a mean.  BOXCOX fits on the Box-Cox transform of
 * y, or of y + 1 when a value is zero, and maps back to a median the same
 * way.  Its lambda comes from Guerrero's method, in [0, 1] for counts and
 * [-1, 2] otherwise.  AUTO lets the automatic choice try each candidate on
 * the raw and log1p scales, and on the Box-Cox scale when lambda is at
 * least 0.1 away from 0 and 1.  With a named model AUTO means NONE.
 */
enum {
	PA_FC_TRANSFORM_NONE = 0,
	PA_FC_TRANSFORM_LOG1P = 1,
	PA_FC_TRANSFORM_AUTO = 2,
	PA_FC_TRANSFORM_BOXCOX = 3
};

/*
 * Fill o with the defaults: no season, level 0.95, "auto", counts,
 * nonnegative, transform AUTO.
 */
void pa_fc_opts_default(struct pa_fc_opts *o);

struct pa_fc_result {
	size_t horizon;		/* length of the three arrays */
	double *mean;		/* point forecast per step ahead, mean[0] one step ahead */
	double *lower;		/* interval bounds at opts.level */
	double *upper;
	double sigma;		/* one-step residual standard deviation, on the fitted scale */
	char model[PA_FC_NAME_MAX];	/* the model that produced the forecast, e.g. "hw(p=24)" */
	char reason[PA_FC_REASON_MAX];	/* why it was chosen or why a fallback ran; may be "" */
	int fallback;		/* 1: the requested model or period could not be used */
	int out_of_range;	/* 1: the requested model ran, but its forecast
				 * left the history's range so far that it was
				 * dropped (the reason gives the distance) */
	char spec[PA_FC_SPEC_MAX];	/* the automatic choice as text for opts.reuse;
					 * "" for a named model or a fallback */
	int reused;		/* 1: opts.reuse was used */
	char reuse_failed[PA_FC_REASON_MAX];	/* why opts.reuse, which decoded, could
						 * not run on this history; else "" */
	struct pa_fc_effect *effects;	/* NULL, or one per column of
					 * opts.regressors, filled when the
					 * forecast came from "regress" alone */
};

/* Return codes of pa_fc_forecast. */
enum pa_fc_status {
	PA_FC_OK = 0,
	PA_FC_NO_DATA = 1,	/* no known value in y: result holds only the reason */
	PA_FC_BAD_MODEL = 2,	/* opts.model is not a known name */
	PA_FC_NO_MEMORY = 3
};

/*
 * Forecast horizon steps past the end of y[0..n).  out is overwritten; on
 * PA_FC_OK its arrays hold horizon values each and the caller frees them
 * with pa_fc_result_free().  On any other status the arrays are NULL and
 * out->reason gives the cause.  Deterministic: the same input gives the same
 * result bit for bit.
 */
int pa_fc_forecast(const double *y, size_t n, size_t horizon,
		   const struct pa_fc_opts *opts, struct pa_fc_result *out);

void pa_fc_result_free(struct pa_fc_result *r);

/* Return 1 when name is a model pa_fc_forecast accepts. */
int pa_fc_model_known(const char *name);

/* The model names --model takes, as a list for messages, in buf. */
const char *pa_fc_model_list(char *buf, size_t size);

/* Return 1 when the named model has a seasonal form that needs a period. */
int pa_fc_model_seasonal(const char *name);

/*
 * Return 1 when every known value of y[0..n) equals the first one, to a
 * relative 1e-9 (FLAT_TOLERANCE in forecast.c).  Such a
 * history is forecast by repeating its value, with no fit and no choice
 * to keep.
 */
int pa_fc_is_flat(const double *y, size_t n);

/* Return period when n values hold at least two full seasons of it, else 0. */
size_t pa_fc_supported_period(size_t n, size_t period);

/*
 * Return 1 when the fixed model name fits a season only on two full
 * periods of history, and forecasts without it on less.
 */
int pa_fc_model_needs_two_periods(const char *name);

#endif
