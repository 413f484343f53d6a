#include "jsonshape.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum pa_shape_status
pa_json_shape_text(const char *s, size_t len, int max_depth, struct pa_json_shape *out)
{
	/*
	 * open[d] is '{' or '[' for the container at depth d + 1.  seen[d] is 1
	 * once that container contains a value, so "[]" counts no element.
	 */
	char open[PA_SHAPE_DEPTH_MAX];
	char seen[PA_SHAPE_DEPTH_MAX];
	int depth = 0;
	size_t i = 0;

	assert(max_depth >= 1);
	assert(max_depth <= PA_SHAPE_DEPTH_MAX);
	memset(out, 0, sizeof *out);
	while (i < len) {
		char c = s[i++];

		switch (c) {
		case '{':
		case '[':
			if (depth > 0 && open[depth - 1] == '[' && !seen[depth - 1]) {
				seen[depth - 1] = 1;
				out->elements++;
			}
			if (depth == max_depth)
				return PA_SHAPE_TOO_DEEP;
			open[depth] = c;
			seen[depth] = 0;
			depth++;
			if (depth > out->depth)
				out->depth = depth;
			break;
		case '}':
		case ']':
			if (depth == 0 || open[depth - 1] != (c == '}' ? '{' : '['))
				return PA_SHAPE_INVALID;
			depth--;
			break;
		case ',':
			if (depth == 0)
				return PA_SHAPE_INVALID;
			seen[depth - 1] = 0;
			break;
		case ':':
			if (depth == 0 || open[depth - 1] != '{')
				return PA_SHAPE_INVALID;
			out->keys++;
			break;
		case '"':
			while (i < len && s[i] != '"') {
				if (s[i] == '\\')
					i++;
				i++;
			}
			if (i >= len)
				return PA_SHAPE_INVALID;
			i++;
			if (depth > 0 && open[depth - 1] == '[' && !seen[depth - 1]) {
				seen[depth - 1] = 1;
				out->elements++;
			}
			break;
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			break;
		default:
			/* The first byte of a number, true, false or null. */
			if (depth > 0 && open[depth - 1] == '[' && !seen[depth - 1]) {
				seen[depth - 1] = 1;
				out->elements++;
			}
			break;
		}
	}
	return depth == 0 ? PA_SHAPE_OK : PA_SHAPE_INVALID;
}

/* One open container of the value walk. */
struct frame {
	const json_t *v;
	void *iter;		/* object iterator */
	size_t index;		/* array position */
};

enum pa_shape_status
pa_json_shape_value(const json_t *v, int max_depth, struct pa_json_shape *out)
{
	struct frame *stack;
	int depth = 0;
	enum pa_shape_status rc = PA_SHAPE_OK;

	assert(max_depth >= 1);
	assert(max_depth <= PA_SHAPE_DEPTH_MAX);
	memset(out, 0, sizeof *out);
	if (!json_is_object(v) && !json_is_array(v))
		return PA_SHAPE_OK;
	stack = malloc((size_t)max_depth * sizeof *stack);
	if (stack == NULL)
		abort();

	stack[depth].v = v;
	stack[depth].iter = json_is_object(v) ? json_object_iter((json_t *)v) : NULL;
	stack[depth].index = 0;
	depth = 1;
	out->depth = 1;
	while (depth > 0) {
		struct frame *f = &stack[depth - 1];
		const json_t *child;

		if (json_is_object(f->v)) {
			if (f->iter == NULL) {
				depth--;
				continue;
			}
			child = json_object_iter_value(f->iter);
			f->iter = json_object_iter_next((json_t *)f->v, f->iter);
			out->keys++;
		} else {
			if (f->index >= json_array_size(f->v)) {
				depth--;
				continue;
			}
			child = json_array_get(f->v, f->index++);
			out->elements++;
		}
		if (!json_is_object(child) && !json_is_array(child))
			continue;
		if (depth == max_depth) {
			rc = PA_SHAPE_TOO_DEEP;
			break;
		}
		stack[depth].v = child;
		stack[depth].iter = json_is_object(child) ? json_object_iter((json_t *)child) : NULL;
		stack[depth].index = 0;
		depth++;
		if (depth > out->depth)
			out->depth = depth;
	}
	free(stack);
	return rc;
}

/* Flat records */

static size_t
skip_space(const char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/*
 * A plain string at s[i] (the opening quote): printable ASCII, no escapes.
 * Returns the index after the closing quote, or 0 when not plain.
 */
static size_t
scan_plain_string(const char *s, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			return i + 1;
		if (c == '\\' || c < 0x20 || c >= 0x7f)
			return 0;
	}
	return 0;
}

/* A strict JSON number at s[i]; returns the index after it, or 0. */
static size_t
scan_number(const char *s, size_t i, size_t len)
{
	size_t start;

	if (i < len && s[i] == '-')
		i++;
	if (i >= len)
		return 0;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;

		/* Integers jansson could not hold take the full parser. */
		if (i - start > 18)
			return 0;
	} else {
		return 0;
	}
	if (i < len && s[i] == '.') {
		start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return 0;
	}
	return i;
}

/*
 * The value of a number literal checked by scan_number.  Plain integers
 * of up to 15 digits are exact in a double, so they are summed directly.
 * Other literals go to strtod, which stops at the separator after them.
 */
static double
number_value(const char *s, size_t len)
{
	double v = 0;

	if (len > 15)
		return strtod(s, NULL);
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return strtod(s, NULL);
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
scan_literal(const char *s, size_t i, size_t len, const char *word)
{
	size_t n = strlen(word);

	return i + n <= len && memcmp(s + i, word, n) == 0;
}

int
pa_flat_scan(const char *line, size_t len, const char *const *keys, const size_t *keylens,
	     int nkeys, struct pa_flat_value *values)
{
	const char *seen[PA_FLAT_MAX_KEYS];
	size_t seenlen[PA_FLAT_MAX_KEYS];
	int nseen = 0;
	size_t i;

	for (int k = 0; k < nkeys; k++)
		values[k].type = PA_FLAT_ABSENT;
	i = skip_space(line, 0, len);
	if (i >= len || line[i] != '{')
		return -1;
	i = skip_space(line, i + 1, len);
	if (i < len && line[i] == '}')
		return skip_space(line, i + 1, len) == len ? 0 : -1;

	for (;;) {
		struct pa_flat_value v = { 0 };
		const char *key;
		size_t keylen, end;
		int want = -1;

		/* "key" : */
		if (i >= len || line[i] != '"' || (end = scan_plain_string(line, i, len)) == 0)
			return -1;
		key = line + i + 1;
		keylen = end - i - 2;
		for (int k = 0; k < nseen; k++)
			if (seenlen[k] == keylen && memcmp(seen[k], key, keylen) == 0)
				return -1;
		if (nseen == PA_FLAT_MAX_KEYS)
			return -1;
		seen[nseen] = key;
		seenlen[nseen++] = keylen;
		i = skip_space(line, end, len);
		if (i >= len || line[i] != ':')
			return -1;
		i = skip_space(line, i + 1, len);
		if (i >= len)
			return -1;

		/* value */
		if (line[i] == '"') {
			if ((end = scan_plain_string(line, i, len)) == 0)
				return -1;
			v.type = PA_FLAT_STRING;
			v.s = line + i + 1;
			v.len = end - i - 2;
		} else if (line[i] == '-' || (line[i] >= '0' && line[i] <= '9')) {
			if ((end = scan_number(line, i, len)) == 0)
				return -1;
			v.type = PA_FLAT_NUMBER;
			v.s = line + i;
			v.len = end - i;
		} else if (scan_literal(line, i, len, "null")) {
			v.type = PA_FLAT_NULL;
			end = i + 4;
		} else if (scan_literal(line, i, len, "true")) {
			v.type = PA_FLAT_BOOL;
			end = i + 4;
		} else if (scan_literal(line, i, len, "false")) {
			v.type = PA_FLAT_BOOL;
			end = i + 5;
		} else {
			return -1;	/* an object or array value */
		}

		for (int k = 0; k < nkeys && want < 0; k++)
			if (keylens[k] == keylen && keys[k][0] == key[0] &&
			    memcmp(keys[k], key, keylen) == 0)
				want = k;
		if (want >= 0) {
			if (v.type == PA_FLAT_NUMBER)
				v.num = number_value(v.s, v.len);
			values[want] = v;
		}

		i = skip_space(line, end, len);
		if (i < len && line[i] == ',') {
			i = skip_space(line, i + 1, len);
			continue;
		}
		if (i < len && line[i] == '}')
			return skip_space(line, i + 1, len) == len ? 0 : -1;
		return -1;
	}
}
