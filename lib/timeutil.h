/*
 * timeutil.h - timestamps, durations and buckets.
 *
 * Instants are int64 microseconds since 1970-01-01T00:00:00Z (pa_usec_t).
 * Inputs may be RFC 3339 with any offset, Common Log Format dates
 * ("10/Oct/2000:13:55:36 -0700"), or epoch seconds, milliseconds or
 * microseconds distinguished by magnitude.  Outputs are RFC 3339 in UTC.
 */
#ifndef PA_TIMEUTIL_H
#define PA_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t pa_usec_t;

#define PA_USEC_PER_SEC 1000000LL
#define PA_USEC_MIN INT64_MIN

/*
 * Parse any accepted timestamp form from s[0..len).  Returns 0 and stores
 * the instant, or -1 when the text is not a timestamp.
 */
int pa_time_parse(const char *s, size_t len, pa_usec_t *out);

/* Parse only RFC 3339 ("2026-08-08T08:49:16.5+02:00", also with ' ' for 'T'). */
int pa_time_parse_rfc3339(const char *s, size_t len, pa_usec_t *out);

/* Parse only a Common Log Format date, without the brackets. */
int pa_time_parse_clf(const char *s, size_t len, pa_usec_t *out);

/*
 * Parse epoch seconds, milliseconds or microseconds, with an optional
 * fraction.  Magnitude decides the unit: below 1e11 seconds (until year
 * 5138), below 1e14 milliseconds, otherwise microseconds.
 */
int pa_time_parse_epoch(const char *s, size_t len, pa_usec_t *out);

/* Write t as RFC 3339 UTC into buf (at least 32 bytes); fraction only when non-zero. */
char *pa_time_format(pa_usec_t t, char *buf, size_t size);

/*
 * Parse a duration: one number and one unit, ms, s, m (or min), h, d or w,
 * such as "30s", "5m" or "1.5h".  A number without a unit is invalid, except
 * 0, because "1" could mean a second or an hour.  Returns 0 and stores
 * microseconds, or -1.
 */
int pa_duration_parse(const char *s, pa_usec_t *out);

/*
 * Describe why s is not a duration, for a message after the quoted value:
 * "is negative", "has no unit, so write 1s, 1m, 1h or 1d", "has more than
 * one unit, so write it as 179m", or a list of the valid forms.  Returns
 * buf.
 */
const char *pa_duration_problem(const char *s, char *buf, size_t size);

/* Write a duration in the largest unit that divides it, as pa_duration_parse reads it: "90s", "5m". */
void pa_duration_format(pa_usec_t v, char *buf, size_t size);

/* Start of the bucket of width step that contains t (floor, also before 1970). */
pa_usec_t pa_bucket_start(pa_usec_t t, pa_usec_t step);

/*
 * Check that a record's time t is at most max_ahead after the clock, as
 * for anything observed (requests, buckets) rather than scheduled.
 * *limit caches the last clock plus max_ahead; start it at PA_USEC_MIN.
 * The clock is read again only when t passes the cached limit.  Returns 1
 * when t is too far ahead; max_ahead < 0 turns the check off.
 */
int pa_time_ahead_of_clock(pa_usec_t t, pa_usec_t max_ahead, pa_usec_t *limit);

/* Write the clock that pa_time_ahead_of_clock() read for *limit, to the second, for a message. */
char *pa_time_format_clock(pa_usec_t limit, pa_usec_t max_ahead, char *buf, size_t size);

/*
 * Default of --max-future: NTP keeps clocks within well under a second,
 * so five minutes is room for a badly kept host, while a time zone read
 * wrongly, an hour or more ahead, is rejected rather than half accepted.
 */
#define PA_MAX_FUTURE_DEFAULT (5 * 60 * PA_USEC_PER_SEC)

/*
 * Return t, or the clock when t is after it.  *now caches the clock; start
 * it at PA_USEC_MIN.  A watermark that closes buckets goes through this,
 * so one request stamped ahead by a skewed host cannot close the buckets
 * that the other hosts are still filling.
 */
pa_usec_t pa_time_cap_at_clock(pa_usec_t t, pa_usec_t *now);

/* Days since 1970-01-01 for a proleptic Gregorian date. */
int64_t pa_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
