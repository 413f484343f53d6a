#include "jsonshape.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum pa_shape_status
pa_json_shape_text(const char *s, size_t len, int max_depth, struct pa_json_shape *out)
{
	/* open[d] is '{' or '[' for the container at depth d + 1; seen[d] is 1
	 * once that container holds a value, so "[]" counts no element. */
	char open[PA_SHAPE_DEPTH_MAX];
	char seen[PA_SHAPE_DEPTH_MAX];
	int depth = 0;
	size_t i = 0;

	assert(max_depth >= 1 && max_depth <= PA_SHAPE_DEPTH_MAX);
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

	assert(max_depth >= 1 && max_depth <= PA_SHAPE_DEPTH_MAX);
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
