/*
 * jsonshape.h - the structure of a logged JSON body: nesting depth, object
 * keys and array elements.
 *
 * Both walks are iterative with memory bounded by max_depth, so a body
 * nested a million levels deep is reported as too deep instead of
 * exhausting the stack.
 */
#ifndef PA_JSONSHAPE_H
#define PA_JSONSHAPE_H

#include <jansson.h>
#include <stddef.h>

#define PA_SHAPE_DEPTH_MAX 4096	/* largest max_depth accepted */

struct pa_json_shape {
	long depth;		/* 0 for a scalar, 1 for a flat object or array */
	long keys;		/* object members, all levels */
	long elements;		/* array elements, all levels */
};

enum pa_shape_status {
	PA_SHAPE_OK = 0,
	PA_SHAPE_TOO_DEEP = -1,	/* nesting passed max_depth */
	PA_SHAPE_INVALID = -2	/* brackets, quotes or separators do not balance */
};

/*
 * Scan JSON text s[0..len).  Checks bracket and string structure, not every
 * token, because the goal is the shape.  max_depth must be 1 to
 * PA_SHAPE_DEPTH_MAX.
 */
enum pa_shape_status pa_json_shape_text(const char *s, size_t len, int max_depth,
					struct pa_json_shape *out);

/* Walk a parsed value.  Borrows v. */
enum pa_shape_status pa_json_shape_value(const json_t *v, int max_depth,
					 struct pa_json_shape *out);

#endif
