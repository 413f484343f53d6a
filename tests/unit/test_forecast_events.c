/* Unit tests for event windows and lift estimates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_events.h"
#include "ndjson.h"
#include "unit.h"

#define HOUR (3600 * PA_USEC_PER_SEC)

static int
add(struct pa_fc_events *e, const char *json)
{
	char err[200];
	const char *cls;
	json_t *rec = json_loads(json, 0, NULL);
	int rc = pa_fc_events_add(e, rec, 2 * HOUR, err, sizeof err, &cls);

	json_decref(rec);
	return rc;
}

static void
test_mask_windows(void)
{
	struct pa_fc_events e = { 0 };
	unsigned char mask[24] = { 0 };
	pa_usec_t day;
	size_t marked;

	pa_time_parse("2026-06-01T00:00:00Z", 20, &day);
	CHECK("add instant", add(&e, "{\"ts\":\"2026-06-01T05:30:00Z\",\"event_type\":\"match\"}") == 0);
	CHECK("add window", add(&e, "{\"ts\":\"2026-06-01T20:00:00Z\",\"end\":\"2026-06-01T21:00:00Z\",\"event_type\":\"match\",\"tenant\":\"a\"}") == 0);
	CHECK("add other tenant", add(&e, "{\"ts\":\"2026-06-01T10:00:00Z\",\"event_type\":\"match\",\"tenant\":\"b\"}") == 0);
	CHECK("add other type", add(&e, "{\"ts\":\"2026-06-01T12:00:00Z\",\"event_type\":\"sale\"}") == 0);
	CHECK("reject no type", add(&e, "{\"ts\":\"2026-06-01T12:00:00Z\"}") == -1);
	CHECK("reject end before ts", add(&e, "{\"ts\":\"2026-06-01T12:00:00Z\",\"end\":\"2026-06-01T11:00:00Z\",\"event_type\":\"x\"}") == -1);
	CHECK("two types", e.ntypes == 2);
	CHECK_STR("first type", e.types[0], "match");
	CHECK_STR("second type", e.types[1], "sale");

	marked = pa_fc_event_mask(&e, "match", "a", "api", day, HOUR, 24, mask);
	/* 05:30 for 2h overlaps 05:00, 06:00 and 07:00; 20:00-21:00 is one bucket. */
	CHECK("mask count", marked == 4);
	CHECK("mask 04 clear", !mask[4]);
	CHECK("mask 05 set", mask[5]);
	CHECK("mask 06 set", mask[6]);
	CHECK("mask 07 set", mask[7]);
	CHECK("mask 08 clear", !mask[8]);
	CHECK("mask 20 set", mask[20]);
	CHECK("mask 21 clear", !mask[21]);
	CHECK("mask skips tenant b 10", !mask[10]);
	CHECK("mask skips tenant b 11", !mask[11]);
	CHECK("mask skips other type", !mask[12]);
	pa_fc_events_free(&e);
}

/*
 * Windows that meet without overlapping stay apart: 12:30 and 15:30 with
 * two-hour windows mark 12:00-14:00 and 15:00-17:00, which touch, but
 * 15:00 starts a window of its own.  A window that starts inside another
 * (13:00) joins it, and the profile finds two windows of offsets 0 to 2.
 */
static void
test_mask_adjacent_windows(void)
{
	struct pa_fc_events e = { 0 };
	unsigned char mask[72] = { 0 };
	double y[72];
	struct pa_fc_profile p;
	pa_usec_t day;

	pa_time_parse("2026-06-01T00:00:00Z", 20, &day);
	CHECK("add 12:30", add(&e, "{\"ts\":\"2026-06-03T12:30:00Z\",\"event_type\":\"match\"}") == 0);
	CHECK("add 13:00", add(&e, "{\"ts\":\"2026-06-03T13:00:00Z\",\"event_type\":\"match\"}") == 0);
	CHECK("add 15:30", add(&e, "{\"ts\":\"2026-06-03T15:30:00Z\",\"event_type\":\"match\"}") == 0);
	CHECK("adjacent marked", pa_fc_event_mask(&e, "match", "a", "api", day, HOUR, 72, mask) == 6);
	CHECK("12:00 starts a window", mask[60] & PA_FC_WINDOW_START);
	CHECK("13:00 marked", mask[61]);
	CHECK("13:00 inside it", !(mask[61] & PA_FC_WINDOW_START));
	CHECK("15:00 starts a window", mask[63] & PA_FC_WINDOW_START);
	CHECK("offset of 14:00", pa_fc_event_offset(mask, 62) == 2);
	CHECK("offset of 15:00", pa_fc_event_offset(mask, 63) == 0);
	CHECK("offset of 17:00", pa_fc_event_offset(mask, 65) == 2);

	/* The same hours of the two days before are the baseline. */
	for (size_t t = 0; t < 72; t++)
		y[t] = mask[t] ? 200 : 100;
	p = pa_fc_event_profile(y, 72, mask, mask, 24, 0, 0.95);
	CHECK("two windows", p.whole.windows == 2);
	CHECK("no bin past offset 2", p.nbins == 2);
	pa_fc_events_free(&e);
}

/*
 * Windows of one type that start in the same bucket are one window, whatever
 * their names and ends, and it lasts to the later end.  A window's end is
 * rounded up to the end of its bucket, so a window that starts in the bucket
 * where another ends (21:30 and 21:45) joins it too.
 */
static void
test_mask_merged_windows(void)
{
	struct pa_fc_events e = { 0 };
	unsigned char mask[72] = { 0 };
	double y[72];
	struct pa_fc_profile p;
	pa_usec_t day;

	pa_time_parse("2026-06-01T00:00:00Z", 20, &day);
	CHECK("add first of same start", add(&e, "{\"ts\":\"2026-06-03T10:00:00Z\",\"end\":\"2026-06-03T12:00:00Z\",\"name\":\"a\",\"event_type\":\"match\"}") == 0);
	CHECK("add second of same start", add(&e, "{\"ts\":\"2026-06-03T10:00:00Z\",\"end\":\"2026-06-03T14:00:00Z\",\"name\":\"b\",\"event_type\":\"match\"}") == 0);
	CHECK("add ending mid-bucket", add(&e, "{\"ts\":\"2026-06-03T20:00:00Z\",\"end\":\"2026-06-03T21:30:00Z\",\"event_type\":\"match\"}") == 0);
	CHECK("add starting in that bucket", add(&e, "{\"ts\":\"2026-06-03T21:45:00Z\",\"end\":\"2026-06-03T22:30:00Z\",\"event_type\":\"match\"}") == 0);
	CHECK("merged marked", pa_fc_event_mask(&e, "match", "a", "api", day, HOUR, 72, mask) == 7);
	CHECK("10:00 starts a window", mask[58] & PA_FC_WINDOW_START);
	CHECK("13:00 in the longer window", mask[61]);
	CHECK("14:00 after it", !mask[62]);
	CHECK("offset of 13:00", pa_fc_event_offset(mask, 61) == 3);
	CHECK("20:00 starts a window", mask[68] & PA_FC_WINDOW_START);
	CHECK("21:00 marked", mask[69]);
	CHECK("21:00 does not start one", !(mask[69] & PA_FC_WINDOW_START));
	CHECK("offset of 22:00", pa_fc_event_offset(mask, 70) == 2);

	for (size_t t = 0; t < 72; t++)
		y[t] = mask[t] ? 200 : 100;
	p = pa_fc_event_profile(y, 72, mask, mask, 24, 0, 0.95);
	CHECK("four events make two windows", p.whole.windows == 2);
	pa_fc_events_free(&e);
}

/* An event is far from the history only beyond PA_FC_EVENT_FAR, on either side. */
static void
test_event_far(void)
{
	pa_usec_t first = 1000 * HOUR, last = 2000 * HOUR;
	struct pa_fc_event ev = { 0 };

	ev.start = last + PA_FC_EVENT_FAR;
	ev.end = ev.start + HOUR;
	CHECK("start at the limit after", pa_fc_event_far(&ev, first, last) == 0);
	ev.start++;
	CHECK("start past the limit after", pa_fc_event_far(&ev, first, last) == 1);

	ev.end = first - PA_FC_EVENT_FAR;
	ev.start = ev.end - HOUR;
	CHECK("end at the limit before", pa_fc_event_far(&ev, first, last) == 0);
	ev.end--;
	CHECK("end past the limit before", pa_fc_event_far(&ev, first, last) == -1);

	ev.start = first;
	ev.end = last;
	CHECK("inside the history", pa_fc_event_far(&ev, first, last) == 0);
}

static void
test_lift_doubles(void)
{
	size_t n = 24 * 10;
	double *y = malloc(n * sizeof *y);
	unsigned char *mask = calloc(n, 1);
	struct pa_fc_lift l;

	for (size_t t = 0; t < n; t++) {
		y[t] = 100 + 40 * (t % 24 >= 9 && t % 24 < 18) + (double)(t % 5);
		if ((t / 24) % 3 == 2 && t % 24 == 12) {
			mask[t] = 1;
			y[t] = 2 * y[t] + 1;	/* log1p doubles exactly */
		}
	}
	l = pa_fc_event_lift(y, n, mask, mask, 24, 0, 0.95);
	CHECK("lift windows", l.windows == 3);
	CHECK_NEAR("lift near 2", l.lift, 2, 0.05);
	CHECK("lift lower below lift", l.lower < l.lift);
	CHECK("lift upper above lift", l.upper > l.lift);
	CHECK("lift lower above 1.5", l.lower > 1.5);
	free(y);
	free(mask);
}

/*
 * Five weeks of hours that halve at weekends and grow 2% a day, with a
 * two-hour window at 14:00 every other day from the third week that doubles
 * the load.  Against the same hour a week earlier, scaled by the growth of
 * the day before, the lift is 2 whatever the weekday.  Against the days
 * before, a Saturday window reads the busier Friday and a Monday one the
 * quiet Sunday, so the lift scatters.
 */
static void
test_lift_weekly_baseline(void)
{
	size_t n = 24 * 35;
	double *y = malloc(n * sizeof *y);
	unsigned char *mask = calloc(n, 1);
	struct pa_fc_lift weekly, daily;

	for (size_t t = 0; t < n; t++) {
		size_t day = t / 24, hour = t % 24;

		y[t] = 1000 * (1 + 0.5 * (hour >= 9 && hour < 18)) * (day % 7 >= 5 ? 0.5 : 1) *
		       pow(1.02, (double)day);
		if (day >= 14 && day % 2 == 0 && (hour == 14 || hour == 15)) {
			mask[t] = 1;
			y[t] *= 2;
		}
	}
	weekly = pa_fc_event_lift(y, n, mask, mask, 24, 168, 0.95);
	daily = pa_fc_event_lift(y, n, mask, mask, 24, 0, 0.95);
	CHECK("weekly windows", weekly.windows == 11);
	CHECK_NEAR("weekly lift is 2", weekly.lift, 2, 0.01);
	CHECK("weekly interval narrow", weekly.upper / weekly.lower < 1.02);
	CHECK("daily interval wider", daily.upper / daily.lower > 1.2);
	free(y);
	free(mask);
}

static void
test_lift_single_window(void)
{
	double y[72];
	unsigned char mask[72] = { 0 };
	struct pa_fc_lift l;

	for (size_t t = 0; t < 72; t++)
		y[t] = 50;
	y[60] = 25;
	mask[60] = 1;
	l = pa_fc_event_lift(y, 72, mask, mask, 24, 0, 0.95);
	CHECK("single window count", l.windows == 1);
	CHECK("single window below 1", l.lift < 1);
	CHECK("single window no lower", isnan(l.lower));
	CHECK("single window no upper", isnan(l.upper));
}

/* Samples without "end" and with varying magnitudes form a trend stream. */
static void
test_stream_samples(void)
{
	struct pa_fc_events e = { 0 };
	double out[6];
	pa_usec_t day;
	char json[200];
	size_t filled;

	pa_time_parse("2026-06-01T00:00:00Z", 20, &day);
	for (int i = 0; i < 10; i++) {
		snprintf(json, sizeof json,
			 "{\"ts\":\"2026-06-01T%02d:30:00Z\",\"event_type\":\"mentions\",\"magnitude\":%d}",
			 i / 2, 10 + i);
		CHECK("add sample", add(&e, json) == 0);
	}
	CHECK("add schedule a", add(&e, "{\"ts\":\"2026-06-01T01:00:00Z\",\"event_type\":\"sale\"}") == 0);
	CHECK("reject text magnitude",
	      add(&e, "{\"ts\":\"2026-06-01T01:00:00Z\",\"event_type\":\"x\",\"magnitude\":\"lots\"}") == -1);
	CHECK("mentions is a stream", pa_fc_event_is_stream(&e, "mentions") == 1);
	CHECK("sale is no stream", pa_fc_event_is_stream(&e, "sale") == 0);

	filled = pa_fc_event_stream(&e, "mentions", "a", "api", day, HOUR, 6, out);
	/* Two samples per hour for hours 0 to 4: 10 + 11, 12 + 13, ... */
	CHECK("stream buckets filled", filled == 5);
	CHECK_NEAR("stream hour 0 sum", out[0], 21, 0);
	CHECK_NEAR("stream hour 4 sum", out[4], 37, 0);
	CHECK("stream hour 5 unknown", isnan(out[5]));
	pa_fc_events_free(&e);
}

/* A constant magnitude or an "end" makes a list of windows, not a stream. */
static void
test_not_streams(void)
{
	struct pa_fc_events e = { 0 };
	char json[200];

	for (int i = 0; i < 10; i++) {
		snprintf(json, sizeof json,
			 "{\"ts\":\"2026-06-01T%02d:00:00Z\",\"event_type\":\"flat\",\"magnitude\":1}", i);
		add(&e, json);
		snprintf(json, sizeof json,
			 "{\"ts\":\"2026-06-01T%02d:00:00Z\",\"end\":\"2026-06-01T%02d:30:00Z\",\"event_type\":\"ranged\",\"magnitude\":%d}",
			 i, i, i);
		add(&e, json);
	}
	CHECK("constant magnitude no stream", pa_fc_event_is_stream(&e, "flat") == 0);
	CHECK("windows with end no stream", pa_fc_event_is_stream(&e, "ranged") == 0);
	CHECK("unknown type no stream", pa_fc_event_is_stream(&e, "none") == 0);
	pa_fc_events_free(&e);
}


static void
test_profile_bins(void)
{
	unsigned char mask[8] = { 0, 1, 1, 1, 0, 1, 1, 0 };

	CHECK("bin of offset 0", pa_fc_profile_bin(0) == 0);
	CHECK("bin of offset 1", pa_fc_profile_bin(1) == 1);
	CHECK("bin of offset 2", pa_fc_profile_bin(2) == 1);
	CHECK("bin of offset 3", pa_fc_profile_bin(3) == 2);
	CHECK("bin of offset 6", pa_fc_profile_bin(6) == 2);
	CHECK("bin of offset 7", pa_fc_profile_bin(7) == 3);
	CHECK("bin of huge offset is last", pa_fc_profile_bin((size_t)1 << 40) == PA_FC_PROFILE_BINS - 1);
	CHECK("bin 3 starts at 7", pa_fc_profile_bin_start(3) == 7);
	CHECK("offset outside window", pa_fc_event_offset(mask, 0) == 0);
	CHECK("offset at window start", pa_fc_event_offset(mask, 1) == 0);
	CHECK("offset two in", pa_fc_event_offset(mask, 3) == 2);
	CHECK("offset in second window", pa_fc_event_offset(mask, 6) == 1);
}

/* Ramp of the synthetic windows by profile bin: offsets 0, 1-2, 3-6, 7-14, 15. */
static const double ramp[] = { 3, 2.5, 2, 1.5, 1.2 };

#define RAMP_LEN 16
#define RAMP_DAY 24

/*
 * A daily pattern with a RAMP_LEN-bucket window every fourth day from day
 * 3, so the three days before each window give its baseline.  Inside a
 * window log1p(y) rises by log(ramp[bin]) plus, with noisy, a per-window
 * shift of up to +-0.1 that averages out over the windows.  Returns n.
 */
static size_t
ramp_series(double *y, unsigned char *mask, size_t windows, int noisy)
{
	size_t n = RAMP_DAY * (3 + 4 * windows);

	for (size_t t = 0; t < n; t++) {
		size_t day = t / RAMP_DAY, hour = t % RAMP_DAY;

		y[t] = 200 + 100 * (hour >= 8 && hour < 20);
		mask[t] = 0;
		if (day >= 3 && (day - 3) % 4 == 0 && hour >= 4 && hour < 4 + RAMP_LEN) {
			size_t w = (day - 3) / 4;
			double shift = noisy ? 0.1 * ((double)(w % 5) - 2) / 2 : 0;

			mask[t] = 1;
			y[t] = (y[t] + 1) * ramp[pa_fc_profile_bin(hour - 4)] * exp(shift) - 1;
		}
	}
	return n;
}

/* Exp of the mean log ramp over a window's buckets: the whole-window lift. */
static double
ramp_whole(void)
{
	double sum = 0;

	for (size_t o = 0; o < RAMP_LEN; o++)
		sum += log(ramp[pa_fc_profile_bin(o)]);
	return exp(sum / RAMP_LEN);
}

static void
test_profile_ramp_exact(void)
{
	size_t windows = 10, n;
	double *y = malloc(RAMP_DAY * (3 + 4 * windows) * sizeof *y);
	unsigned char *mask = malloc(RAMP_DAY * (3 + 4 * windows));
	struct pa_fc_profile p;
	double weight = (double)windows / (double)(windows + PA_FC_PROFILE_PRIOR);

	n = ramp_series(y, mask, windows, 0);
	p = pa_fc_event_profile(y, n, mask, mask, RAMP_DAY, 0, 0.95);
	CHECK("exact profile windows", p.whole.windows == windows);
	CHECK("exact profile five bins", p.nbins == 5);
	CHECK_NEAR("exact whole lift", p.whole.lift, ramp_whole(), 1e-9);

	/* Without noise every window gives the ramp, so each bin is the
	 * shrinkage of log(ramp) toward the whole-window log lift. */
	for (size_t b = 0; b < 5; b++) {
		double want = exp(weight * log(ramp[b]) + (1 - weight) * log(ramp_whole()));
		char name[60];

		snprintf(name, sizeof name, "exact bin %zu shrunk lift", b);
		CHECK_NEAR(name, p.bin[b].lift, want, 1e-9);
		snprintf(name, sizeof name, "exact bin %zu windows", b);
		CHECK(name, p.bin[b].windows == windows);
	}
	CHECK_NEAR("exact lift at offset 0", pa_fc_profile_lift(&p, 0), p.bin[0].lift, 0);
	CHECK_NEAR("exact lift at offset 9", pa_fc_profile_lift(&p, 9), p.bin[3].lift, 0);
	free(y);
	free(mask);
}

/* With 40 noisy windows the shrinkage weight is 40/43, so every bin must
 * give the ramp back within 8%, and the ramp's order must hold. */
static void
test_profile_ramp_noisy(void)
{
	size_t windows = 40, n;
	double *y = malloc(RAMP_DAY * (3 + 4 * windows) * sizeof *y);
	unsigned char *mask = malloc(RAMP_DAY * (3 + 4 * windows));
	struct pa_fc_profile p;
	double lower, upper, lower80, upper80;

	n = ramp_series(y, mask, windows, 1);
	p = pa_fc_event_profile(y, n, mask, mask, RAMP_DAY, 0, 0.95);
	CHECK("noisy profile windows", p.whole.windows == windows);
	for (size_t b = 0; b < 5; b++) {
		char name[60];

		snprintf(name, sizeof name, "noisy bin %zu within 8%%", b);
		CHECK(name, fabs(p.bin[b].lift / ramp[b] - 1) < 0.08);
		snprintf(name, sizeof name, "noisy bin %zu lower below lift", b);
		CHECK(name, p.bin[b].lower < p.bin[b].lift);
		snprintf(name, sizeof name, "noisy bin %zu upper above lift", b);
		CHECK(name, p.bin[b].lift < p.bin[b].upper);
		pa_fc_profile_prediction(&p, b, 0.95, &lower, &upper);
		snprintf(name, sizeof name, "noisy bin %zu prediction lower wider", b);
		CHECK(name, lower < p.bin[b].lower);
		snprintf(name, sizeof name, "noisy bin %zu prediction upper wider", b);
		CHECK(name, upper > p.bin[b].upper);
		pa_fc_profile_prediction(&p, b, 0.8, &lower80, &upper80);
		snprintf(name, sizeof name, "noisy bin %zu 80%% lower inside", b);
		CHECK(name, lower80 > lower);
		snprintf(name, sizeof name, "noisy bin %zu 80%% upper inside", b);
		CHECK(name, upper80 < upper);
		if (b > 0) {
			snprintf(name, sizeof name, "noisy bin %zu below bin %zu", b, b - 1);
			CHECK(name, p.bin[b].lift < p.bin[b - 1].lift);
		}
	}
	free(y);
	free(mask);
}

/*
 * Bins that fewer than two windows reach fall back to the whole-window
 * lift: here one window of 16 buckets and two of 3, so bins 2 to 4 rest
 * on the long window alone.  A single window gives no interval at all.
 */
static void
test_profile_few_windows(void)
{
	size_t n = RAMP_DAY * 15;
	double *y = malloc(n * sizeof *y);
	unsigned char *mask = calloc(n, 1);
	struct pa_fc_profile p;
	double lower, upper;

	for (size_t t = 0; t < n; t++)
		y[t] = 100 + 50 * (t % RAMP_DAY >= 12);
	for (size_t day = 3; day < 15; day += 4) {
		size_t len = day == 3 ? RAMP_LEN : 3;

		for (size_t o = 0; o < len; o++) {
			size_t t = day * RAMP_DAY + 4 + o;

			mask[t] = 1;
			y[t] = (y[t] + 1) * ramp[pa_fc_profile_bin(o)] * (day == 7 ? 1.1 : 1) - 1;
		}
	}
	p = pa_fc_event_profile(y, n, mask, mask, RAMP_DAY, 0, 0.95);
	CHECK("few windows count", p.whole.windows == 3);
	CHECK("few windows bin 0 shared", p.bin[0].windows == 3);
	CHECK("few windows bin 1 own lift", p.bin[1].lift != p.whole.lift);
	for (size_t b = 2; b < 5; b++) {
		char name[60];

		snprintf(name, sizeof name, "few windows bin %zu falls back", b);
		CHECK_NEAR(name, p.bin[b].lift, p.whole.lift, 0);
		snprintf(name, sizeof name, "few windows bin %zu whole lower", b);
		CHECK_NEAR(name, p.bin[b].lower, p.whole.lower, 0);
	}

	/* Only the first window: no interval anywhere, and no prediction. */
	memset(mask + 5 * RAMP_DAY, 0, n - 5 * RAMP_DAY);
	p = pa_fc_event_profile(y, n, mask, mask, RAMP_DAY, 0, 0.95);
	CHECK("one window count", p.whole.windows == 1);
	CHECK("one window no lower", isnan(p.bin[0].lower));
	pa_fc_profile_prediction(&p, 0, 0.95, &lower, &upper);
	CHECK("one window no prediction lower", isnan(lower));
	CHECK("one window no prediction upper", isnan(upper));
	CHECK_NEAR("one window bin 0 is whole", p.bin[0].lift, p.whole.lift, 0);
	free(y);
	free(mask);
}

int
main(void)
{
	test_mask_windows();
	test_mask_adjacent_windows();
	test_mask_merged_windows();
	test_event_far();
	test_lift_doubles();
	test_lift_weekly_baseline();
	test_lift_single_window();
	test_stream_samples();
	test_not_streams();
	test_profile_bins();
	test_profile_ramp_exact();
	test_profile_ramp_noisy();
	test_profile_few_windows();
	return unit_status();
}
