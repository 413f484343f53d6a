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

/*
 * Fast reading of flat records.  pa_flat_scan accepts a line only when it
 * is one JSON object whose values are all strings, numbers, true, false or
 * null, with strings in plain ASCII without escapes, numbers in strict
 * JSON syntax, and no key twice.  Any other line returns -1 and goes to
 * the full parser, which accepts or rejects it with a message, so the fast
 * path never changes what is accepted.
 */
enum pa_flat_type {
	PA_FLAT_ABSENT = 0,
	PA_FLAT_NULL,
	PA_FLAT_STRING,		/* s, len: the text between the quotes */
	PA_FLAT_NUMBER,		/* s, len: the literal; num: its value */
	PA_FLAT_BOOL
};

struct pa_flat_value {
	enum pa_flat_type type;
	const char *s;		/* points into the scanned line */
	size_t len;
	double num;
};

#define PA_FLAT_MAX_KEYS 64	/* a line with more keys takes the full parser */

/*
 * Scan line[0..len) and store the value of each of the nkeys wanted keys
 * (keys[i], keylens[i] bytes long) in values[i], PA_FLAT_ABSENT when
 * missing.  Returns 0, or -1 when the line is not a flat record as defined
 * above.
 */
int pa_flat_scan(const char *line, size_t len, const char *const *keys, const size_t *keylens,
		 int nkeys, struct pa_flat_value *values);

#endif
