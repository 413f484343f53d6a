#include "jsonpos.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A newline can only be whitespace between tokens, because a JSON string contains no raw newline. */
static void
skip_space(const char *doc, size_t len, struct pa_json_pos *p)
{
	while (p->off < len && strchr(" \t\r\n", doc[p->off]) != NULL && doc[p->off] != '\0') {
		if (doc[p->off] == '\n')
			p->line++;
		p->off++;
	}
}

/* Step over the string that starts at p, quotes included. */
static void
skip_string(const char *doc, size_t len, struct pa_json_pos *p)
{
	p->off++;
	while (p->off < len && doc[p->off] != '"')
		p->off += doc[p->off] == '\\' ? 2 : 1;
	p->off = p->off < len ? p->off + 1 : len;
}

/*
 * Step over the value that starts at p.  The text is valid JSON, so
 * counting brackets outside strings finds the end without recursion.
 */
static void
skip_value(const char *doc, size_t len, struct pa_json_pos *p)
{
	long depth = 0;

	do {
		char c;

		skip_space(doc, len, p);
		if (p->off >= len)
			return;
		c = doc[p->off];
		if (c == '"') {
			skip_string(doc, len, p);
		} else if (c == '{' || c == '[') {
			depth++;
			p->off++;
		} else if (c == '}' || c == ']') {
			depth--;
			p->off++;
		} else if (c == ',' || c == ':') {
			p->off++;
		} else {
			/* A number or literal.  Its first byte is always passed, so the loop ends. */
			do
				p->off++;
			while (p->off < len && strchr(",:]} \t\r\n", doc[p->off]) == NULL);
		}
	} while (depth > 0);
}

/* Return 1 when the string token doc[start..end), quotes included, decodes to key. */
static int
key_equals(const char *doc, size_t start, size_t end, const char *key)
{
	size_t n = end - start - 2;
	json_t *decoded;
	int same;

	if (memchr(doc + start + 1, '\\', n) == NULL)
		return n == strlen(key) && memcmp(doc + start + 1, key, n) == 0;
	decoded = json_loadb(doc + start, end - start, JSON_DECODE_ANY, NULL);
	same = json_is_string(decoded) && strcmp(json_string_value(decoded), key) == 0;
	json_decref(decoded);
	return same;
}

struct pa_json_pos
pa_json_pos_root(const char *doc, size_t len, long lineno)
{
	struct pa_json_pos p = { 0, lineno };

	skip_space(doc, len, &p);
	return p;
}

int
pa_json_pos_member(const char *doc, size_t len, struct pa_json_pos *pos, const char *key)
{
	struct pa_json_pos p = *pos;
	int found = 0;

	if (p.off >= len || doc[p.off] != '{')
		return -1;
	p.off++;
	for (;;) {
		size_t key_start;
		int match;

		skip_space(doc, len, &p);
		if (p.off >= len || doc[p.off] != '"')
			break;
		key_start = p.off;
		skip_string(doc, len, &p);
		match = key_equals(doc, key_start, p.off, key);
		skip_space(doc, len, &p);
		if (p.off >= len || doc[p.off] != ':')
			break;
		p.off++;
		skip_space(doc, len, &p);
		if (match) {
			*pos = p;
			found = 1;
		}
		skip_value(doc, len, &p);
		skip_space(doc, len, &p);
		if (p.off >= len || doc[p.off] != ',')
			break;
		p.off++;
	}
	return found ? 0 : -1;
}

long
pa_json_pos_elements(const char *doc, size_t len, struct pa_json_pos pos,
		     struct pa_json_pos *out, size_t max)
{
	struct pa_json_pos p = pos;
	size_t n = 0;

	if (p.off >= len || doc[p.off] != '[')
		return -1;
	p.off++;
	skip_space(doc, len, &p);
	if (p.off < len && doc[p.off] == ']')
		return 0;
	while (p.off < len) {
		if (n < max)
			out[n] = p;
		n++;
		skip_value(doc, len, &p);
		skip_space(doc, len, &p);
		if (p.off >= len || doc[p.off] != ',')
			break;
		p.off++;
		skip_space(doc, len, &p);
	}
	return (long)n;
}

long *
pa_json_pos_element_lines(const char *doc, size_t len, struct pa_json_pos pos, const char *key,
			  size_t n)
{
	struct pa_json_pos *elements = calloc(n + 1, sizeof *elements);
	long *lines = NULL;

	if (elements == NULL)
		return NULL;
	if (pa_json_pos_member(doc, len, &pos, key) == 0 &&
	    pa_json_pos_elements(doc, len, pos, elements, n) == (long)n) {
		lines = malloc((n + 1) * sizeof *lines);
		for (size_t i = 0; lines != NULL && i < n; i++)
			lines[i] = elements[i].line;
	}
	free(elements);
	return lines;
}
