/*
 * fcstate_events.c - event records in the forecast state file: merging
 * them by identity, checking the kept ones, and choosing which to keep.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fcstate.h"
#include "ndjson.h"

/*
 * Write the identity key of ev with name (NULL: none) into buf: event
 * type, name, tenant, service and start.  Each string has its length in
 * front, so that no byte of a name can make two identities collide.  An
 * absent string is "-", a present one "=" and its length and value.
 * Returns buf, or NULL when buf is too small.
 */
static char *
event_key(const struct pa_fc_event *ev, const char *name, char *buf, size_t size)
{
	const char *part[4] = { ev->type, name, ev->tenant, ev->service };
	size_t used = 0;
	int len;

	for (int i = 0; i < 4; i++) {
		if (part[i] == NULL)
			len = snprintf(buf + used, size - used, "-");
		else
			len = snprintf(buf + used, size - used, "=%zu:%s", strlen(part[i]), part[i]);
		if (len < 0 || (size_t)len >= size - used)
			return NULL;
		used += (size_t)len;
	}
	len = snprintf(buf + used, size - used, "|%lld", (long long)ev->start);
	return len >= 0 && (size_t)len < size - used ? buf : NULL;
}

int
pa_fcstate_event_ids_init(struct pa_fc_event_ids *ids)
{
	ids->index = json_object();
	ids->names = json_array();
	if (ids->index == NULL || ids->names == NULL) {
		pa_fcstate_event_ids_free(ids);
		return -1;
	}
	return 0;
}

void
pa_fcstate_event_ids_free(struct pa_fc_event_ids *ids)
{
	json_decref(ids->index);
	json_decref(ids->names);
	ids->index = ids->names = NULL;
}

int
pa_fcstate_event_add(struct pa_fc_events *e, struct pa_fc_event_ids *ids, const json_t *rec,
		     pa_usec_t window, char *err, size_t errsize, const char **reason_class)
{
	struct pa_fc_event *added, *same;
	const char *name = pa_rec_str(rec, "name");
	const json_t *pos;
	char *key;
	size_t need;

	if (pa_fc_events_add(e, rec, window, err, errsize, reason_class) != 0)
		return -1;
	added = &e->v[e->count - 1];
	need = strlen(added->type) + (name ? strlen(name) : 0) +
	       (added->tenant ? strlen(added->tenant) : 0) +
	       (added->service ? strlen(added->service) : 0) + 128;
	key = malloc(need);
	if (key == NULL || event_key(added, name, key, need) == NULL)
		goto nomem;

	pos = json_object_get(ids->index, key);
	if (pos == NULL) {
		if (json_object_set_new(ids->index, key, json_integer((json_int_t)(e->count - 1))) != 0 ||
		    json_array_append_new(ids->names, name ? json_string(name) : json_null()) != 0)
			goto nomem;
		free(key);
		return 0;
	}

	/*
	 * The later record replaces the earlier one in place, so the events
	 * keep the order of their first records and a rerun of the same input
	 * changes nothing.  Type, tenant and service are equal by the key, so
	 * the list of types stays as it is.
	 */
	same = &e->v[json_integer_value(pos)];
	free(same->type);
	free(same->tenant);
	free(same->service);
	*same = *added;
	e->count--;
	free(key);
	return 1;
nomem:
	free(key);
	*reason_class = "out of memory";
	snprintf(err, errsize, "out of memory storing an event");
	return -1;
}

/* Return 1 when key of rec is absent or a string, else write why. */
static int
string_or_absent(const json_t *rec, const char *key, size_t i, char *why, size_t size)
{
	const json_t *v = json_object_get(rec, key);

	if (v == NULL || json_is_string(v))
		return 1;
	snprintf(why, size, "\"events\"[%zu]: field \"%s\" is not a string: %s", i, key,
		 pa_quote_json(v));
	return 0;
}

int
pa_fcstate_events_valid(const json_t *events, char *why, size_t size)
{
	struct pa_fc_events scratch = { 0 };
	const json_t *rec;
	const char *reason_class;
	char err[300];
	size_t i;

	if (events == NULL)
		return 1;
	if (!json_is_array(events)) {
		snprintf(why, size, "\"events\" is not an array");
		return 0;
	}
	if (json_array_size(events) > PA_FCSTATE_EVENTS_MAX) {
		snprintf(why, size, "\"events\" has %zu records, more than the %d a state keeps",
			 json_array_size(events), PA_FCSTATE_EVENTS_MAX);
		return 0;
	}

	/*
	 * Each record goes through the checks of an input event record, so
	 * the file and the input accept the same records.  The window length
	 * only sets "end" when a record has none, which no check reads.
	 */
	json_array_foreach(events, i, rec) {
		if (!json_is_object(rec)) {
			snprintf(why, size, "\"events\"[%zu] is not an object", i);
			break;
		}
		if (!string_or_absent(rec, "name", i, why, size) ||
		    !string_or_absent(rec, "tenant", i, why, size) ||
		    !string_or_absent(rec, "service", i, why, size))
			break;
		if (pa_fc_events_add(&scratch, rec, 1, err, sizeof err, &reason_class) != 0) {
			snprintf(why, size, "\"events\"[%zu]: %s", i, err);
			break;
		}

		/* One record at a time, so a large list does not double the memory. */
		pa_fc_events_free(&scratch);
	}
	pa_fc_events_free(&scratch);
	return i == json_array_size(events);
}

int
pa_fcstate_events_drop_ended(struct pa_fc_events *e, struct pa_fc_event_ids *ids,
			     pa_usec_t before, size_t *dropped)
{
	struct pa_fc_event_ids fresh;
	size_t remaining = 0;

	*dropped = 0;
	for (size_t i = 0; i < e->count; i++)
		*dropped += e->v[i].end <= before;
	if (*dropped == 0)
		return 0;

	/* Build the new identities first, so running out of memory changes nothing. */
	if (pa_fcstate_event_ids_init(&fresh) != 0)
		return -1;
	for (size_t i = 0; i < e->count; i++) {
		const struct pa_fc_event *ev = &e->v[i];
		json_t *name = json_array_get(ids->names, i);
		const char *text = json_is_string(name) ? json_string_value(name) : NULL;
		size_t need;
		char *key;
		int failed;

		if (ev->end <= before)
			continue;
		need = strlen(ev->type) + (text ? strlen(text) : 0) +
		       (ev->tenant ? strlen(ev->tenant) : 0) +
		       (ev->service ? strlen(ev->service) : 0) + 128;
		key = malloc(need);
		failed = key == NULL || event_key(ev, text, key, need) == NULL ||
			 json_object_set_new(fresh.index, key, json_integer((json_int_t)remaining)) != 0 ||
			 json_array_append(fresh.names, name) != 0;
		free(key);
		if (failed) {
			pa_fcstate_event_ids_free(&fresh);
			return -1;
		}
		remaining++;
	}

	remaining = 0;
	for (size_t i = 0; i < e->count; i++) {
		if (e->v[i].end <= before) {
			free(e->v[i].type);
			free(e->v[i].tenant);
			free(e->v[i].service);
			continue;
		}
		e->v[remaining++] = e->v[i];
	}
	e->count = remaining;
	pa_fcstate_event_ids_free(ids);
	*ids = fresh;
	return 0;
}

int
pa_fcstate_seed_events(json_t *state, struct pa_fc_events *e, struct pa_fc_event_ids *ids,
		       pa_usec_t window)
{
	const json_t *rec;
	const char *reason_class;
	char err[300];
	size_t i;

	json_array_foreach(json_object_get(state, "events"), i, rec)
		if (pa_fcstate_event_add(e, ids, rec, window, err, sizeof err, &reason_class) < 0)
			return -1;

	/* The save writes the array anew from e, so the loaded copy would only take memory. */
	json_object_del(state, "events");
	return 0;
}

/*
 * Lower the start of the kept window recorded under key in cut to first.
 * Returns -1 when memory runs out.
 */
static int
lower_cut(json_t *cut, const char *key, pa_usec_t first)
{
	const json_t *old = json_object_get(cut, key);

	if (old != NULL && json_integer_value(old) <= first)
		return 0;
	return json_object_set_new(cut, key, json_integer(first));
}

/*
 * Return the key of a scope in cut as a new string, or NULL when memory
 * runs out: "=" and the length and value of tenant, or "-" for every
 * tenant, then the same for service.
 */
static char *
scope_key(const char *tenant, const char *service)
{
	size_t len = (tenant ? strlen(tenant) : 0) + (service ? strlen(service) : 0) + 64;
	char *key = malloc(len);
	int used;

	if (key == NULL)
		return NULL;
	used = tenant ? snprintf(key, len, "=%zu:%s", strlen(tenant), tenant) : snprintf(key, len, "-");
	if (service)
		snprintf(key + used, len - (size_t)used, "=%zu:%s", strlen(service), service);
	else
		snprintf(key + used, len - (size_t)used, "-");
	return key;
}

/*
 * Return the earliest kept-window start among the series in the scope of
 * ev, looked up in cut.  An unscoped event, or one that applies to no
 * kept series, takes the earliest start of all, all_first.
 */
static pa_usec_t
event_cut(const json_t *cut, const struct pa_fc_event *ev, pa_usec_t all_first)
{
	const json_t *v;
	char *key;

	if (ev->tenant == NULL && ev->service == NULL)
		return all_first;
	key = scope_key(ev->tenant, ev->service);
	if (key == NULL)
		return all_first;
	v = json_object_get(cut, key);
	free(key);
	return v != NULL ? (pa_usec_t)json_integer_value(v) : all_first;
}

/* Build the record that the state stores for ev: what pa_fc_events_add reads back. */
static json_t *
event_record(const struct pa_fc_event *ev, const json_t *name)
{
	json_t *rec = json_object();

	json_object_set_new(rec, "event_type", json_string(ev->type));
	if (json_is_string(name))
		json_object_set(rec, "name", (json_t *)name);
	pa_rec_set_time(rec, "ts", ev->start);
	if (ev->has_end)
		pa_rec_set_time(rec, "end", ev->end);
	pa_rec_set_num(rec, "magnitude", ev->magnitude);
	if (ev->tenant != NULL)
		json_object_set_new(rec, "tenant", json_string(ev->tenant));
	if (ev->service != NULL)
		json_object_set_new(rec, "service", json_string(ev->service));
	return rec;
}

/* Order event pointers by start, latest first, and by position among equal starts. */
static int
by_start_desc(const void *a, const void *b)
{
	const struct pa_fc_event *x = *(const struct pa_fc_event *const *)a;
	const struct pa_fc_event *y = *(const struct pa_fc_event *const *)b;

	if (x->start != y->start)
		return x->start < y->start ? 1 : -1;
	return (x > y) - (x < y);
}

/* Order event pointers by position in the event list. */
static int
by_position(const void *a, const void *b)
{
	const struct pa_fc_event *x = *(const struct pa_fc_event *const *)a;
	const struct pa_fc_event *y = *(const struct pa_fc_event *const *)b;

	return (x > y) - (x < y);
}

json_t *
pa_fcstate_events_keep(const json_t *state, const struct pa_fc_events *e,
		       const struct pa_fc_event_ids *ids, size_t *dropped)
{
	json_t *cut = json_object(), *out = json_array();
	const struct pa_fc_event **keep = NULL;
	const json_t *entry;
	const char *name;
	pa_usec_t all_first = INT64_MAX;
	size_t nkeep = 0, limit;

	*dropped = 0;
	if (cut == NULL || out == NULL || (e->count && (keep = malloc(e->count * sizeof *keep)) == NULL))
		goto nomem;

	/* The earliest kept bucket per tenant service, per tenant and per service. */
	json_object_foreach(json_object_get(state, "series"), name, entry) {
		const char *tenant = pa_rec_str(entry, "tenant");
		const char *service = pa_rec_str(entry, "service");
		char *both = scope_key(tenant, service), *tenant_only = scope_key(tenant, NULL);
		char *service_only = scope_key(NULL, service);
		pa_usec_t first = 0;
		int rc = -1;

		pa_rec_time(entry, "first", &first);
		if (first < all_first)
			all_first = first;
		if (both != NULL && tenant_only != NULL && service_only != NULL)
			rc = lower_cut(cut, both, first) | lower_cut(cut, tenant_only, first) |
			     lower_cut(cut, service_only, first);
		free(both);
		free(tenant_only);
		free(service_only);
		if (rc != 0)
			goto nomem;
	}
	if (all_first == INT64_MAX)
		all_first = PA_USEC_MIN;

	/*
	 * An event stays while it ends after the first kept bucket of a
	 * series it applies to: it marks buckets of a kept window, or lies
	 * ahead of them.
	 */
	for (size_t i = 0; i < e->count; i++)
		if (e->v[i].end > event_cut(cut, &e->v[i], all_first))
			keep[nkeep++] = &e->v[i];

	/*
	 * Over the bound, the events that start last stay, because they can
	 * still mark new buckets.  They are saved in their order of arrival.
	 */
	limit = nkeep;
	if (nkeep > PA_FCSTATE_EVENTS_MAX) {
		qsort(keep, nkeep, sizeof *keep, by_start_desc);
		limit = PA_FCSTATE_EVENTS_MAX;
		qsort(keep, limit, sizeof *keep, by_position);
		*dropped = nkeep - limit;
	}

	for (size_t i = 0; i < limit; i++) {
		json_t *rec = event_record(keep[i], json_array_get(ids->names,
								   (size_t)(keep[i] - e->v)));

		if (rec == NULL || json_array_append_new(out, rec) != 0)
			goto nomem;
	}
	free(keep);
	json_decref(cut);
	return out;
nomem:
	free(keep);
	json_decref(cut);
	json_decref(out);
	return NULL;
}
