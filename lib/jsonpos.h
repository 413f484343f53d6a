/*
 * jsonpos.h - the input line of a value inside a parsed JSON document.
 *
 * jansson 2.14 (Debian 12) gives a line and column for parse errors only,
 * and a json_t carries no position.  These functions walk the text of a
 * document that jansson has already accepted, following one path of its
 * structure, so a sample or row rejected later can be reported on the line
 * where it starts.  Each walk reads only the text up to the value it finds.
 */
#ifndef PA_JSONPOS_H
#define PA_JSONPOS_H

#include <stddef.h>

/* Start of a value in doc[0..len). */
struct pa_json_pos {
	size_t off;		/* byte offset of its first byte */
	long line;		/* input line of that byte */
};

/* Return where the root value of doc[0..len) starts, given that doc begins on line lineno. */
struct pa_json_pos pa_json_pos_root(const char *doc, size_t len, long lineno);

/*
 * Move *pos from an object to the value of its member key.  When the key
 * repeats, the last member is taken, as jansson keeps the last.  Returns
 * 0, or -1 (with *pos unchanged) when *pos is not an object with that key.
 */
int pa_json_pos_member(const char *doc, size_t len, struct pa_json_pos *pos, const char *key);

/*
 * Store where each element of the array at pos starts in out[0..max).
 * Returns the number of elements, which may exceed max, or -1 when pos is
 * not an array.
 */
long pa_json_pos_elements(const char *doc, size_t len, struct pa_json_pos pos,
			  struct pa_json_pos *out, size_t max);

/*
 * Return the input line of each element of the array in member key of the
 * object at pos, as a new array of n longs for the caller to free.  Returns
 * NULL when there is no such member or its array has not n elements.
 */
long *pa_json_pos_element_lines(const char *doc, size_t len, struct pa_json_pos pos,
				const char *key, size_t n);

#endif
