/* Unit tests for event windows and lift estimates. */
#include <math.h>
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

int
main(void)
{
	test_mask_windows();
	test_lift_doubles();
	test_lift_single_window();
	return unit_status();
}
