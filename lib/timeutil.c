#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Howard Hinnant's days-from-civil algorithm, valid for all int64 years in range. */
int64_t
pa_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, unsigned m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

/* Read exactly n digits at s[*i]. */
static int
digits(const char *s, size_t len, size_t *i, int n, int *out)
{
	int v = 0;

	if (*i + (size_t)n > len)
		return -1;
	for (int k = 0; k < n; k++) {
		char c = s[*i + (size_t)k];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*i += (size_t)n;
	*out = v;
	return 0;
}

static int
make_instant(int64_t y, int mo, int d, int h, int mi, int sec, long usec,
	     long offset_s, pa_usec_t *out)
{
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	/* A leap second is read as the last instant of its minute. */
	if (sec == 60)
		sec = 59;
	int64_t days = pa_days_from_civil(y, (unsigned)mo, (unsigned)d);
	int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;

	*out = secs * PA_USEC_PER_SEC + usec;
	return 0;
}

/* Parse ".123456" (any number of digits, microseconds kept). */
static void
fraction(const char *s, size_t len, size_t *i, long *usec)
{
	long scale = 100000;

	*usec = 0;
	if (*i < len && (s[*i] == '.' || s[*i] == ',')) {
		(*i)++;
		while (*i < len && isdigit((unsigned char)s[*i])) {
			*usec += (s[*i] - '0') * scale;
			scale /= 10;
			(*i)++;
		}
	}
}

int
pa_time_parse_rfc3339(const char *s, size_t len, pa_usec_t *out)
{
	size_t i = 0;
	int y, mo, d, h, mi, sec = 0, oh = 0, om = 0;
	long usec = 0, offset = 0;

	if (digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' ||
	    digits(s, len, &i, 2, &mo) || i >= len || s[i++] != '-' ||
	    digits(s, len, &i, 2, &d))
		return -1;
	if (i == len) /* a bare date is midnight UTC */
		return make_instant(y, mo, d, 0, 0, 0, 0, 0, out);
	if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
		return -1;
	i++;
	if (digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' ||
	    digits(s, len, &i, 2, &mi))
		return -1;
	if (i < len && s[i] == ':') {
		i++;
		if (digits(s, len, &i, 2, &sec))
			return -1;
		fraction(s, len, &i, &usec);
	}
	if (i < len && s[i] == ' ')
		i++;
	if (i == len) {
		/* No offset: taken as UTC, the only safe reading for a log. */
	} else if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		int sign = s[i++] == '-' ? -1 : 1;

		if (digits(s, len, &i, 2, &oh))
			return -1;
		if (i < len && s[i] == ':')
			i++;
		if (i < len && digits(s, len, &i, 2, &om))
			return -1;
		if (oh > 23 || om > 59)
			return -1;
		offset = sign * (oh * 3600L + om * 60L);
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	return make_instant(y, mo, d, h, mi, sec, usec, offset, out);
}

static int
month_from_name(const char *s)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int m = 0; m < 12; m++)
		if (strncmp(names + 3 * m, s, 3) == 0)
			return m + 1;
	return -1;
}

int
pa_time_parse_clf(const char *s, size_t len, pa_usec_t *out)
{
	size_t i = 0;
	int d, y, h, mi, sec, mo, oh, om;
	long usec = 0, offset = 0;

	if (len > 0 && s[0] == '[') {
		s++;
		len--;
		if (len > 0 && s[len - 1] == ']')
			len--;
	}
	if (digits(s, len, &i, 2, &d) || i + 5 > len || s[i++] != '/')
		return -1;
	mo = month_from_name(s + i);
	if (mo < 0)
		return -1;
	i += 3;
	if (s[i++] != '/' || digits(s, len, &i, 4, &y) || i >= len || s[i++] != ':' ||
	    digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' ||
	    digits(s, len, &i, 2, &mi) || i >= len || s[i++] != ':' ||
	    digits(s, len, &i, 2, &sec))
		return -1;
	fraction(s, len, &i, &usec);
	if (i < len) {
		int sign;

		if (s[i++] != ' ' || i >= len || (s[i] != '+' && s[i] != '-'))
			return -1;
		sign = s[i++] == '-' ? -1 : 1;
		if (digits(s, len, &i, 2, &oh))
			return -1;
		if (i < len && s[i] == ':')
			i++;
		if (digits(s, len, &i, 2, &om) || oh > 23 || om > 59)
			return -1;
		offset = sign * (oh * 3600L + om * 60L);
	}
	if (i != len)
		return -1;
	return make_instant(y, mo, d, h, mi, sec, usec, offset, out);
}

/* Epoch values must stay below 10^17 in magnitude, so microseconds never overflow. */
#define EPOCH_MAX 100000000000000000LL

int
pa_time_parse_epoch(const char *s, size_t len, pa_usec_t *out)
{
	char buf[40];
	char *end;
	double v;

	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (size_t k = 0; k < len; k++)
		if (!isdigit((unsigned char)buf[k]) && buf[k] != '.' &&
		    !(k == 0 && buf[k] == '-'))
			return -1;

	/* Whole numbers go through integers so microseconds stay exact. */
	if (strchr(buf, '.') == NULL) {
		errno = 0;
		long long n = strtoll(buf, &end, 10);

		if (*end != '\0' || errno != 0 || n <= -EPOCH_MAX || n >= EPOCH_MAX)
			return -1;
		long long mag = n < 0 ? -n : n;

		if (mag < 100000000000LL)
			*out = n * PA_USEC_PER_SEC;
		else if (mag < 100000000000000LL)
			*out = n * 1000;
		else
			*out = n;
		return 0;
	}
	v = strtod(buf, &end);
	if (*end != '\0' || !isfinite(v) || fabs(v) >= (double)EPOCH_MAX)
		return -1;
	double mag = fabs(v);

	if (mag < 1e11)
		*out = (pa_usec_t)llround(v * 1e6);
	else if (mag < 1e14)
		*out = (pa_usec_t)llround(v * 1e3);
	else
		*out = (pa_usec_t)llround(v);
	return 0;
}

int
pa_time_parse(const char *s, size_t len, pa_usec_t *out)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0)
		return -1;
	if (pa_time_parse_rfc3339(s, len, out) == 0)
		return 0;
	if (pa_time_parse_clf(s, len, out) == 0)
		return 0;
	return pa_time_parse_epoch(s, len, out);
}

char *
pa_time_format(pa_usec_t t, char *buf, size_t size)
{
	int64_t secs = t >= 0 ? t / PA_USEC_PER_SEC : -((-t + PA_USEC_PER_SEC - 1) / PA_USEC_PER_SEC);
	long usec = (long)(t - secs * PA_USEC_PER_SEC);
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	long sod = (long)(secs - days * 86400);
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	if (usec == 0)
		snprintf(buf, size, "%04lld-%02u-%02uT%02ld:%02ld:%02ldZ", (long long)y, m, d,
			 sod / 3600, sod / 60 % 60, sod % 60);
	else if (usec % 1000 == 0)
		snprintf(buf, size, "%04lld-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ", (long long)y,
			 m, d, sod / 3600, sod / 60 % 60, sod % 60, usec / 1000);
	else
		snprintf(buf, size, "%04lld-%02u-%02uT%02ld:%02ld:%02ld.%06ldZ", (long long)y,
			 m, d, sod / 3600, sod / 60 % 60, sod % 60, usec);
	return buf;
}

/*
 * Read one number and its unit from s into *us, and point *end past them.
 * Returns 1 for a number with a unit, 0 for a number without one (*end
 * then points after the number), and -1 when s does not start with a
 * finite number of at least 0.
 */
static int
duration_term(const char *s, double *us, const char **end)
{
	static const struct {
		const char *name;
		double seconds;
	} units[] = { { "ms", 0.001 }, { "min", 60 }, { "s", 1 }, { "m", 60 },
		      { "h", 3600 }, { "d", 86400 }, { "w", 7 * 86400 } };
	char *after;
	double v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	v = strtod(s, &after);
	if (after == s || !isfinite(v) || v < 0)
		return -1;
	*end = after;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		size_t len = strlen(units[i].name);

		/* A unit ends the text or comes before the next number, so "5mx" has none. */
		if (strncmp(after, units[i].name, len) == 0 &&
		    (after[len] == '\0' || isdigit((unsigned char)after[len]) || after[len] == '.')) {
			*us = v * units[i].seconds * 1e6;
			*end = after + len;
			return 1;
		}
	}
	*us = v * 1e6;
	return 0;
}

int
pa_duration_parse(const char *s, pa_usec_t *out)
{
	const char *end;
	double us;
	int got;

	if (s == NULL)
		return -1;
	got = duration_term(s, &us, &end);
	if (got < 0 || *end != '\0' || (got == 0 && us != 0) || us > 1e17)
		return -1;
	*out = (pa_usec_t)llround(us);
	return 0;
}

const char *
pa_duration_problem(const char *s, char *buf, size_t size)
{
	const char *end = s;
	double us, total = 0;
	int got, terms = 0;

	do {
		got = duration_term(end, &us, &end);
		if (got >= 0)
			total += us;
		terms++;
	} while (got == 1 && *end != '\0');

	if (*s == '-') {
		snprintf(buf, size, "is negative");
	} else if (got == 0 && *end == '\0' && terms == 1) {
		snprintf(buf, size, "has no unit, so write %.*ss, %.*sm, %.*sh or %.*sd "
			 "(only 0 goes without one)", (int)(end - s), s, (int)(end - s), s,
			 (int)(end - s), s, (int)(end - s), s);
	} else if (got == 1 && *end == '\0' && total <= 1e17) {
		char whole[40];

		pa_duration_format((pa_usec_t)llround(total), whole, sizeof whole);
		snprintf(buf, size, "has more than one unit, so write it as %s", whole);
	} else {
		snprintf(buf, size, "is not one number and a unit s, m, h, d or w, "
			 "such as 30s, 5m, 1.5h or 1d");
	}
	return buf;
}

void
pa_duration_format(pa_usec_t v, char *buf, size_t size)
{
	static const struct {
		pa_usec_t unit;
		const char *suffix;
	} units[] = { { 86400 * PA_USEC_PER_SEC, "d" }, { 3600 * PA_USEC_PER_SEC, "h" },
		      { 60 * PA_USEC_PER_SEC, "m" }, { PA_USEC_PER_SEC, "s" } };

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (v >= units[i].unit && v % units[i].unit == 0) {
			snprintf(buf, size, "%lld%s", (long long)(v / units[i].unit), units[i].suffix);
			return;
		}
	}
	snprintf(buf, size, "%gs", (double)v / PA_USEC_PER_SEC);
}

pa_usec_t
pa_bucket_start(pa_usec_t t, pa_usec_t step)
{
	pa_usec_t r = t % step;

	if (r < 0)
		r += step;
	return t - r;
}

/* The wall clock in microseconds since the epoch. */
static pa_usec_t
clock_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (pa_usec_t)now.tv_sec * PA_USEC_PER_SEC + now.tv_nsec / 1000;
}

int
pa_time_ahead_of_clock(pa_usec_t t, pa_usec_t max_ahead, pa_usec_t *limit)
{
	if (max_ahead < 0 || t <= *limit)
		return 0;
	*limit = clock_now() + max_ahead;
	return t > *limit;
}

char *
pa_time_format_clock(pa_usec_t limit, pa_usec_t max_ahead, char *buf, size_t size)
{
	return pa_time_format(pa_bucket_start(limit - max_ahead, PA_USEC_PER_SEC), buf, size);
}

pa_usec_t
pa_time_cap_at_clock(pa_usec_t t, pa_usec_t *now)
{
	if (t <= *now)
		return t;
	*now = clock_now();
	return t < *now ? t : *now;
}
