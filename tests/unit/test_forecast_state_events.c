/* Unit tests for event records in the forecast state: identity, checks, keeping. */
#include <stdlib.h>
#include <string.h>

#include "fcstate.h"
#include "unit.h"

#define HOUR (3600 * PA_USEC_PER_SEC)

/* Add the event record given as JSON text.  Returns what pa_fcstate_event_add returns. */
static int
add(struct pa_fc_events *e, struct pa_fc_event_ids *ids, const char *text)
{
	json_t *rec = json_loads(text, 0, NULL);
	const char *reason_class;
	char err[300];
	int rc;

	rc = pa_fcstate_event_add(e, ids, rec, 2 * HOUR, err, sizeof err, &reason_class);
	json_decref(rec);
	return rc;
}

static void
test_identity(void)
{
	struct pa_fc_events e = { 0 };
	struct pa_fc_event_ids ids;

	CHECK("identity init", pa_fcstate_event_ids_init(&ids) == 0);
	CHECK("identity first added",
	      add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"a\",\"ts\":0}") == 0);
	CHECK("identity same replaced",
	      add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"a\",\"ts\":0,\"end\":7200,"
			    "\"magnitude\":3}") == 1);
	CHECK("identity one event", e.count == 1);
	CHECK("identity end replaced", e.v[0].end == 2 * HOUR);
	CHECK("identity end given", e.v[0].has_end == 1);
	CHECK("identity magnitude replaced", e.v[0].magnitude == 3);
	CHECK("identity other name added",
	      add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"b\",\"ts\":0}") == 0);
	CHECK("identity no name added", add(&e, &ids, "{\"event_type\":\"match\",\"ts\":0}") == 0);
	CHECK("identity other start added",
	      add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"a\",\"ts\":60}") == 0);
	CHECK("identity other tenant added",
	      add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"a\",\"ts\":0,\"tenant\":\"t\"}") == 0);
	CHECK("identity empty tenant rejected",
	      add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"a\",\"ts\":0,\"tenant\":\"\"}") == -1);
	CHECK("identity count", e.count == 5);

	/* Plain concatenation would give both "a|b|c". */
	CHECK("identity separator in type",
	      add(&e, &ids, "{\"event_type\":\"a|b\",\"name\":\"c\",\"ts\":0}") == 0);
	CHECK("identity separator in name",
	      add(&e, &ids, "{\"event_type\":\"a\",\"name\":\"b|c\",\"ts\":0}") == 0);
	CHECK("identity separators distinct", e.count == 7);

	CHECK("identity bad record rejected",
	      add(&e, &ids, "{\"event_type\":\"match\",\"ts\":\"soon\"}") == -1);
	CHECK("identity bad record not added", e.count == 7);
	pa_fc_events_free(&e);
	pa_fcstate_event_ids_free(&ids);
}

static void
test_valid(void)
{
	json_t *events = json_array();
	char why[400];

	CHECK("valid absent", pa_fcstate_events_valid(NULL, why, sizeof why) == 1);
	CHECK("valid empty", pa_fcstate_events_valid(events, why, sizeof why) == 1);

	json_array_append_new(events, json_pack("{s:s, s:s}", "event_type", "sale", "ts",
						"2026-06-01T00:00:00Z"));
	CHECK("valid one", pa_fcstate_events_valid(events, why, sizeof why) == 1);

	json_array_append_new(events, json_pack("{s:s, s:s, s:i}", "event_type", "sale", "ts",
						"2026-06-01T00:00:00Z", "service", 4));
	CHECK("valid service not string", pa_fcstate_events_valid(events, why, sizeof why) == 0);
	CHECK_STR("valid service message", why,
		  "\"events\"[1]: field \"service\" is not a string: number 4");
	json_array_remove(events, 1);

	while (json_array_size(events) <= PA_FCSTATE_EVENTS_MAX)
		json_array_append(events, json_array_get(events, 0));
	CHECK("valid over bound", pa_fcstate_events_valid(events, why, sizeof why) == 0);
	CHECK_STR("valid over bound message", why,
		  "\"events\" has 100001 records, more than the 100000 a state keeps");
	json_decref(events);

	events = json_object();
	CHECK("valid object", pa_fcstate_events_valid(events, why, sizeof why) == 0);
	CHECK_STR("valid object message", why, "\"events\" is not an array");
	json_decref(events);
}

static void
test_keep(void)
{
	struct pa_fc_events e = { 0 };
	struct pa_fc_event_ids ids;
	json_t *state = json_pack("{s:{s:{s:s, s:s, s:i}}}", "series", "shop/cart", "tenant", "shop",
				  "service", "cart", "first", 36000);
	json_t *records;
	size_t dropped = 9;

	pa_fcstate_event_ids_init(&ids);

	/* The window starts at hour 10, so an event that ends then is dropped. */
	add(&e, &ids, "{\"event_type\":\"sale\",\"ts\":0}");
	add(&e, &ids, "{\"event_type\":\"sale\",\"ts\":28800,\"name\":\"ends at 10\"}");
	add(&e, &ids, "{\"event_type\":\"sale\",\"ts\":30000}");
	add(&e, &ids, "{\"event_type\":\"sale\",\"ts\":72000,\"name\":\"later\"}");
	add(&e, &ids, "{\"event_type\":\"sale\",\"ts\":0,\"tenant\":\"shop\",\"end\":36001}");
	add(&e, &ids, "{\"event_type\":\"sale\",\"ts\":0,\"tenant\":\"shop\",\"service\":\"cart\"}");
	records = pa_fcstate_events_keep(state, &e, &ids, &dropped);
	CHECK("keep returned", records != NULL);
	CHECK("keep none dropped by bound", dropped == 0);
	CHECK("keep three", json_array_size(records) == 3);
	CHECK_STR("keep overlapping", json_string_value(json_object_get(json_array_get(records, 0), "ts")),
		  "1970-01-01T08:20:00Z");
	CHECK_STR("keep future name",
		  json_string_value(json_object_get(json_array_get(records, 1), "name")), "later");
	CHECK_STR("keep scoped end",
		  json_string_value(json_object_get(json_array_get(records, 2), "end")),
		  "1970-01-01T10:00:01Z");
	CHECK("keep no end written", json_object_get(json_array_get(records, 0), "end") == NULL);
	json_decref(records);

	/* With no series, every event stays. */
	json_object_clear(json_object_get(state, "series"));
	records = pa_fcstate_events_keep(state, &e, &ids, &dropped);
	CHECK("keep without series", json_array_size(records) == 6);
	json_decref(records);
	json_decref(state);
	pa_fc_events_free(&e);
	pa_fcstate_event_ids_free(&ids);
}

/* Ended events leave the list and their identities, the others keep order and identity. */
static void
test_drop_ended(void)
{
	struct pa_fc_events e = { 0 };
	struct pa_fc_event_ids ids;
	size_t dropped = 99;

	CHECK("drop init", pa_fcstate_event_ids_init(&ids) == 0);
	add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"a\",\"ts\":0}");
	add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"b\",\"ts\":7200,\"end\":14400}");
	add(&e, &ids, "{\"event_type\":\"promo\",\"ts\":3600,\"end\":36000}");
	add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"c\",\"ts\":28800}");

	CHECK("drop none before", pa_fcstate_events_drop_ended(&e, &ids, 0, &dropped) == 0);
	CHECK("drop none counted", dropped == 0);
	CHECK("drop none count", e.count == 4);

	/* At 4 h: "a" (0 to 2 h) and "b" (2 h to 4 h) have ended. */
	CHECK("drop ended", pa_fcstate_events_drop_ended(&e, &ids, 4 * HOUR, &dropped) == 0);
	CHECK("drop ended counted", dropped == 2);
	CHECK("drop ended count", e.count == 2);
	CHECK("drop keeps order first", strcmp(e.v[0].type, "promo") == 0);
	CHECK("drop keeps order second", e.v[1].start == 8 * HOUR);
	CHECK("drop names follow", json_array_size(ids.names) == 2);
	CHECK("drop name of kept", strcmp(json_string_value(json_array_get(ids.names, 1)), "c") == 0);

	/* A kept identity still replaces in place; a dropped one is new again. */
	CHECK("drop kept replaced",
	      add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"c\",\"ts\":28800,\"magnitude\":4}") == 1);
	CHECK("drop kept replaced in place", e.v[1].magnitude == 4);
	CHECK("drop kept count unchanged", e.count == 2);
	CHECK("drop dropped added anew",
	      add(&e, &ids, "{\"event_type\":\"match\",\"name\":\"a\",\"ts\":0}") == 0);
	CHECK("drop dropped appended", e.count == 3);
	CHECK("drop dropped appended last", e.v[2].start == 0);

	pa_fcstate_event_ids_free(&ids);
	pa_fc_events_free(&e);
}

int
main(void)
{
	test_identity();
	test_valid();
	test_keep();
	test_drop_ended();
	return unit_status();
}
