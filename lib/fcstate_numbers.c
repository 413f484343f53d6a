/*
 * fcstate_numbers.c - the number lists of the forecast state file.
 *
 * format_version 3 writes each list (kept history, last forecasts) as one
 * JSON string of numbers separated by single spaces, "null" for unknown.
 * jansson keeps every array element as an allocation of its own, about 60
 * bytes per number.  A run on a state of 1,000 week-long series peaked at
 * 312 MB with arrays and at 114 MB with strings, and at 69 MB without a
 * state (scripts/bench-forecast-state).  The arrays of format_version 2
 * still read.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcstate.h"

/*
 * Format x into buf: null, a whole number, or 12 significant digits, the
 * precision of every number pa writes as JSON (PA_JSON_FLAGS).
 */
static size_t
format_number(double x, char *buf, size_t size)
{
	if (isnan(x))
		return (size_t)snprintf(buf, size, "null");
	if (x == floor(x) && fabs(x) < 1e15)
		return (size_t)snprintf(buf, size, "%.0f", x);
	return (size_t)snprintf(buf, size, "%.12g", x);
}

json_t *
pa_fcstate_numbers_encode(const double *x, size_t n)
{
	size_t cap = n * 8 + 1, len = 0;
	char *text = malloc(cap);
	json_t *out;

	if (text == NULL)
		return NULL;
	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char buf[40];
		size_t w = format_number(x[i], buf, sizeof buf);

		if (len + w + 2 > cap) {
			char *grown;

			cap = (len + w + 2) * 2;
			grown = realloc(text, cap);
			if (grown == NULL) {
				free(text);
				return NULL;
			}
			text = grown;
		}
		if (i > 0)
			text[len++] = ' ';
		memcpy(text + len, buf, w + 1);
		len += w;
	}
	out = json_stringn_nocheck(text, len);
	free(text);
	return out;
}

size_t
pa_fcstate_numbers_count(const json_t *v)
{
	const char *s;
	size_t n;

	if (json_is_array(v))
		return json_array_size(v);
	if (!json_is_string(v) || json_string_length(v) == 0)
		return 0;
	s = json_string_value(v);
	for (n = 1; *s != '\0'; s++)
		n += *s == ' ';
	return n;
}

/*
 * Write into why, when not NULL, that element i of field is wrong: text
 * is the element as JSON, or with quote set a token of a list string.
 */
static void
bad_element(const char *field, size_t i, const char *text, size_t len, int quote,
	    double max, char *why, size_t size)
{
	char range[40] = "a number";

	if (why == NULL)
		return;
	if (max > 0)
		snprintf(range, sizeof range, "a number from 0 to %g", max);
	snprintf(why, size, "has \"%s\"[%zu] = %s%.*s%s, not %s or null", field, i,
		 quote ? "\"" : "", (int)(len < 40 ? len : 40), text, quote ? "\"" : "", range);
}

static int
decode_array(const json_t *a, double *x, double max, const char *field, char *why,
	     size_t size)
{
	size_t i;
	const json_t *v;

	json_array_foreach(a, i, v) {
		if (json_is_null(v)) {
			x[i] = NAN;
			continue;
		}
		/* jansson reads no infinity or NaN, so every number it returns is finite. */
		if (json_is_number(v) && (max == 0 || (json_number_value(v) >= 0 &&
							 json_number_value(v) <= max))) {
			x[i] = json_number_value(v);
			continue;
		}
		if (why != NULL) {
			char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			bad_element(field, i, text ? text : "?", text ? strlen(text) : 1, 0,
				    max, why, size);
			free(text);
		}
		return -1;
	}
	return 0;
}

static int
decode_string(const char *s, size_t n, double *x, double max, const char *field,
	      char *why, size_t size)
{
	for (size_t i = 0; i < n; i++) {
		const char *end = strchr(s, ' ');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char token[64], *stop;

		if (len == 4 && memcmp(s, "null", 4) == 0) {
			x[i] = NAN;
		} else {
			if (len == 0 || len >= sizeof token) {
				bad_element(field, i, s, len, 1, max, why, size);
				return -1;
			}
			memcpy(token, s, len);
			token[len] = '\0';
			errno = 0;
			x[i] = strtod(token, &stop);

			/* strtod also reads hexadecimal, "inf" and "nan", which JSON has not. */
			if (*stop != '\0' || errno == ERANGE || !isfinite(x[i]) ||
			    strspn(token, "0123456789+-.eE") != len || (max > 0 && (x[i] < 0 || x[i] > max))) {
				bad_element(field, i, s, len, 1, max, why, size);
				return -1;
			}
		}
		s += len + (end != NULL);
	}
	return 0;
}

int
pa_fcstate_numbers_decode(const json_t *v, size_t want, double max, const char *field,
			  double **out, char *why, size_t size)
{
	size_t n = pa_fcstate_numbers_count(v);
	double *x;

	*out = NULL;
	if (!json_is_array(v) && !json_is_string(v)) {
		if (why != NULL)
			snprintf(why, size, "has no \"%s\" list of %zu numbers or null", field, want);
		return -1;
	}
	if (n != want) {
		if (why != NULL)
			snprintf(why, size, "has \"%s\" of %zu values where %zu are needed", field, n,
				 want);
		return -1;
	}
	x = malloc((n ? n : 1) * sizeof *x);
	if (x == NULL) {
		if (why != NULL)
			snprintf(why, size, "is too large to read: out of memory");
		return -1;
	}
	if ((json_is_array(v) ? decode_array(v, x, max, field, why, size)
			      : decode_string(json_string_value(v), n, x, max, field, why,
					      size)) != 0) {
		free(x);
		return -1;
	}
	*out = x;
	return 0;
}
