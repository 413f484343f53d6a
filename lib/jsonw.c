#include "jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "ndjson.h"

void
pa_jsonw_init(struct pa_jsonw *w)
{
	w->cap = 4096;
	w->len = 0;
	w->fields = 0;
	w->records = 0;
	w->start = 0;
	w->hold = 0;
	w->cap = PA_JSONW_BATCH * 2;
	w->buf = malloc(w->cap);
	if (w->buf == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
}

void
pa_jsonw_free(struct pa_jsonw *w)
{
	free(w->buf);
	w->buf = NULL;
}

static void
grow(struct pa_jsonw *w, size_t more)
{
	while (w->len + more > w->cap)
		w->cap *= 2;
	w->buf = realloc(w->buf, w->cap);
	if (w->buf == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
}

static inline void
reserve(struct pa_jsonw *w, size_t more)
{
	if (w->len + more > w->cap)
		grow(w, more);
}

static void
put(struct pa_jsonw *w, const char *s, size_t len)
{
	reserve(w, len);
	memcpy(w->buf + w->len, s, len);
	w->len += len;
}

void
pa_jsonw_begin(struct pa_jsonw *w)
{
	/* A record begun and not ended is dropped, so a rejected line never leaves half a record. */
	w->len = w->start;
	w->fields = 0;
	put(w, "{", 1);
}

#define KEY_MAX 64		/* longest key name the code uses, with room to spare */

/* Keys are fixed ASCII names from the code, so they need no escaping. */
static inline void
key(struct pa_jsonw *w, const char *k)
{
	char *o;

	reserve(w, KEY_MAX + 4);
	o = w->buf + w->len;
	if (w->fields++ > 0)
		*o++ = ',';
	*o++ = '"';
	for (int i = 0; k[i] != '\0' && i < KEY_MAX; i++)
		*o++ = k[i];
	*o++ = '"';
	*o++ = ':';
	w->len = (size_t)(o - w->buf);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return len >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (len < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		/* Overlong forms and UTF-16 surrogates are not valid UTF-8. */
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (len < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* Bytes that need more than a copy: controls, '"', '\\' and every non-ASCII byte. */
static inline int
special(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

void
pa_jsonw_escape(struct pa_jsonw *w, const char *str, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	/* Worst case: every byte becomes a 6-byte escape. */
	reserve(w, len * 6 + 2);
	while (i < len) {
		size_t run = i;
		unsigned char c;
		char *o;

		/* Copy the plain run in one go. */
		while (run < len && !special(s[run]))
			run++;
		if (run > i) {
			memcpy(w->buf + w->len, s + i, run - i);
			w->len += run - i;
			i = run;
			if (i == len)
				break;
		}
		c = s[i];
		o = w->buf + w->len;
		if (c >= 0x80) {
			size_t n = utf8_seq(s + i, len - i);

			if (n == 0) {
				memcpy(o, "\xef\xbf\xbd", 3);
				w->len += 3;
				i++;
			} else {
				memcpy(o, s + i, n);
				w->len += n;
				i += n;
			}
			continue;
		}
		/* jansson rejects \u0000 unless asked not to, so a NUL byte becomes U+FFFD. */
		if (c == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			w->len += 3;
			i++;
			continue;
		}
		o[0] = '\\';
		switch (c) {
		case '"': o[1] = '"'; w->len += 2; break;
		case '\\': o[1] = '\\'; w->len += 2; break;
		case '\n': o[1] = 'n'; w->len += 2; break;
		case '\r': o[1] = 'r'; w->len += 2; break;
		case '\t': o[1] = 't'; w->len += 2; break;
		default:
			o[1] = 'u';
			o[2] = '0';
			o[3] = '0';
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			w->len += 6;
			break;
		}
		i++;
	}
}

void
pa_jsonw_str(struct pa_jsonw *w, const char *k, const char *s, size_t len)
{
	key(w, k);
	put(w, "\"", 1);
	pa_jsonw_escape(w, s, len);
	put(w, "\"", 1);
}

void
pa_jsonw_plain(struct pa_jsonw *w, const char *k, const char *s, size_t len)
{
	key(w, k);
	reserve(w, len + 2);
	w->buf[w->len++] = '"';
	memcpy(w->buf + w->len, s, len);
	w->len += len;
	w->buf[w->len++] = '"';
}

void
pa_jsonw_cstr(struct pa_jsonw *w, const char *k, const char *s)
{
	pa_jsonw_str(w, k, s, strlen(s));
}

void
pa_jsonw_int(struct pa_jsonw *w, const char *k, long long v)
{
	char tmp[24];
	char *p = tmp + sizeof tmp;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	key(w, k);
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	put(w, p, (size_t)(tmp + sizeof tmp - p));
}

void
pa_jsonw_num(struct pa_jsonw *w, const char *k, double v)
{
	char tmp[40];
	int n;

	if (!isfinite(v)) {
		key(w, k);
		put(w, "null", 4);
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		pa_jsonw_int(w, k, (long long)v);
		return;
	}
	key(w, k);
	n = snprintf(tmp, sizeof tmp, "%.12g", v);
	put(w, tmp, (size_t)n);
	/* Keep reals recognisable as reals, as jansson does. */
	if (strpbrk(tmp, ".e") == NULL)
		put(w, ".0", 2);
}

void
pa_jsonw_bool(struct pa_jsonw *w, const char *k, int v)
{
	key(w, k);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void
pa_jsonw_raw(struct pa_jsonw *w, const char *k, const char *json, size_t len)
{
	key(w, k);
	put(w, json, len);
}

void
pa_jsonw_time(struct pa_jsonw *w, const char *k, pa_usec_t t)
{
	/* Consecutive log lines mostly share a second, so format it once per thread. */
	static _Thread_local pa_usec_t last = INT64_MIN;
	static _Thread_local char text[40];
	static _Thread_local size_t textlen;

	if (t != last) {
		pa_time_format(t, text, sizeof text);
		textlen = strlen(text);
		last = t;
	}
	key(w, k);
	reserve(w, textlen + 2);
	w->buf[w->len++] = '"';
	memcpy(w->buf + w->len, text, textlen);
	w->len += textlen;
	w->buf[w->len++] = '"';
}

void
pa_jsonw_end(struct pa_jsonw *w)
{
	put(w, "}\n", 2);
	w->records++;
	w->fields = 0;
	w->start = w->len;
	if (w->len >= PA_JSONW_BATCH && !w->hold)
		pa_jsonw_flush(w);
}

void
pa_jsonw_flush(struct pa_jsonw *w)
{
	if (w->start > 0)
		pa_out_write(w->buf, w->start);
	w->len = w->start = 0;
}
