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
	l = pa_fc_event_lift(y, n, mask, mask, 24, 0.95);
	CHECK("lift windows", l.windows == 3);
	CHECK_NEAR("lift near 2", l.lift, 2, 0.05);
	CHECK("lift lower below lift", l.lower < l.lift);
	CHECK("lift upper above lift", l.upper > l.lift);
	CHECK("lift lower above 1.5", l.lower > 1.5);
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
	l = pa_fc_event_lift(y, 72, mask, mask, 24, 0.95);
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

int
main(void)
{
	test_mask_windows();
	test_lift_doubles();
	test_lift_single_window();
	test_stream_samples();
	test_not_streams();
	return unit_status();
}
