/* Unit tests for timestamp parsing, formatting, durations and buckets. */
#include "timeutil.h"
#include "unit.h"

static const char *
fmt(pa_usec_t t)
{
	static char buf[40];

	return pa_time_format(t, buf, sizeof buf);
}

static pa_usec_t
parse(const char *s)
{
	pa_usec_t t = -1;

	if (pa_time_parse(s, strlen(s), &t) != 0)
		return -999;
	return t;
}

int
main(void)
{
	pa_usec_t t, d;
	char buf[200];

	/* The same instant written with four offsets, two of them not whole hours. */
	t = parse("2026-08-08T08:49:16Z");
	CHECK_STR("rfc3339 utc", fmt(t), "2026-08-08T08:49:16Z");
	CHECK("rfc3339 +08:00", parse("2026-08-08T16:49:16+08:00") == t);
	CHECK("clf +0800", parse("08/Aug/2026:16:49:16 +0800") == t);
	CHECK("clf -0430", parse("08/Aug/2026:04:19:16 -0430") == t);
	CHECK("clf +0530", parse("08/Aug/2026:14:19:16 +0530") == t);
	CHECK("clf bracketed", parse("[08/Aug/2026:08:49:16 +0000]") == t);
	CHECK("epoch seconds", parse("1786178956") == t);
	CHECK("epoch millis", parse("1786178956000") == t);
	CHECK("epoch micros", parse("1786178956000000") == t);
	CHECK("space separator", parse("2026-08-08 08:49:16") == t);

	CHECK_STR("fraction millis", fmt(parse("2026-08-08T08:49:16.250Z")),
		  "2026-08-08T08:49:16.250Z");
	CHECK_STR("fraction micros", fmt(parse("1786178956.000001")),
		  "2026-08-08T08:49:16.000001Z");
	CHECK_STR("before 1970", fmt(parse("1969-12-31T23:59:59Z")), "1969-12-31T23:59:59Z");
	CHECK_STR("leap day", fmt(parse("2024-02-29T12:00:00Z")), "2024-02-29T12:00:00Z");

	CHECK("reject feb 30", parse("2026-02-30T00:00:00Z") == -999);
	CHECK("reject hour 24", parse("2026-02-03T24:00:00Z") == -999);
	CHECK("reject month name", parse("08/Foo/2026:08:49:16 +0000") == -999);
	CHECK("reject text", parse("yesterday") == -999);
	CHECK("reject trailing junk", parse("2026-08-08T08:49:16Zjunk") == -999);
	CHECK("reject empty", parse("") == -999);
	CHECK("reject epoch overflow", parse("-9223372036854775808") == -999);
	CHECK("reject huge epoch", parse("99999999999999999999") == -999);
	CHECK("reject exponent", parse("1e300") == -999);
	CHECK("reject huge fraction", parse("9999999999999999999.5") == -999);

	CHECK("duration 30s parses", pa_duration_parse("30s", &d) == 0);
	CHECK("duration 30s value", d == 30 * PA_USEC_PER_SEC);
	CHECK("duration 5m parses", pa_duration_parse("5m", &d) == 0);
	CHECK("duration 5m value", d == 300 * PA_USEC_PER_SEC);
	CHECK("duration 1h parses", pa_duration_parse("1h", &d) == 0);
	CHECK("duration 1h value", d == 3600 * PA_USEC_PER_SEC);
	CHECK("duration 1d parses", pa_duration_parse("1d", &d) == 0);
	CHECK("duration 1d value", d == 86400 * PA_USEC_PER_SEC);
	CHECK("duration 1.5h parses", pa_duration_parse("1.5h", &d) == 0);
	CHECK("duration 1.5h value", d == 5400 * PA_USEC_PER_SEC);
	CHECK("duration bad unit", pa_duration_parse("5x", &d) != 0);
	CHECK("duration negative", pa_duration_parse("-5m", &d) != 0);
	CHECK("duration 90min parses", pa_duration_parse("90min", &d) == 0);
	CHECK("duration 90min value", d == 5400 * PA_USEC_PER_SEC);
	CHECK("duration 250ms parses", pa_duration_parse("250ms", &d) == 0);
	CHECK("duration 250ms value", d == 250000);
	CHECK("duration 1w parses", pa_duration_parse("1w", &d) == 0);
	CHECK("duration 1w value", d == 7 * 86400 * PA_USEC_PER_SEC);

	/* Only 0 goes without a unit, because "1" could mean a second or an hour. */
	d = -1;
	CHECK("duration bare 0 parses", pa_duration_parse("0", &d) == 0);
	CHECK("duration bare 0 value", d == 0);
	CHECK("duration bare 1 rejected", pa_duration_parse("1", &d) != 0);
	CHECK("duration bare 1.5 rejected", pa_duration_parse("1.5", &d) != 0);
	CHECK("duration two units rejected", pa_duration_parse("2h59m", &d) != 0);
	CHECK("duration trailing number rejected", pa_duration_parse("1h30", &d) != 0);
	CHECK("duration space rejected", pa_duration_parse("1 h", &d) != 0);
	CHECK("duration empty rejected", pa_duration_parse("", &d) != 0);

	CHECK_STR("problem no unit", pa_duration_problem("1", buf, sizeof buf),
		  "has no unit, so write 1s, 1m, 1h or 1d (only 0 goes without one)");
	CHECK_STR("problem two units", pa_duration_problem("2h59m", buf, sizeof buf),
		  "has more than one unit, so write it as 179m");
	CHECK_STR("problem mixed units", pa_duration_problem("1m30s", buf, sizeof buf),
		  "has more than one unit, so write it as 90s");
	CHECK_STR("problem negative", pa_duration_problem("-5m", buf, sizeof buf), "is negative");
	CHECK_STR("problem bad unit", pa_duration_problem("5x", buf, sizeof buf),
		  "is not one number and a unit s, m, h, d or w, such as 30s, 5m, 1.5h or 1d");
	CHECK_STR("problem trailing number", pa_duration_problem("1h30", buf, sizeof buf),
		  "is not one number and a unit s, m, h, d or w, such as 30s, 5m, 1.5h or 1d");

	d = 3600 * PA_USEC_PER_SEC;
	CHECK_STR("bucket floor", fmt(pa_bucket_start(t, d)), "2026-08-08T08:00:00Z");
	CHECK_STR("bucket before 1970", fmt(pa_bucket_start(-1, d)), "1969-12-31T23:00:00Z");

	return unit_status();
}
