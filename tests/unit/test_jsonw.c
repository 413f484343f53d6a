/* Unit tests for the direct JSON record writer. */
#include <jansson.h>

#include "jsonw.h"
#include "unit.h"

/* The record so far, closed with "}", as a NUL-terminated string. */
static const char *
text(struct pa_jsonw *w)
{
	static char buf[1024];

	snprintf(buf, sizeof buf, "%.*s}", (int)w->len, w->buf);
	return buf;
}

static int
valid_json(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, 0, &e);

	json_decref(v);
	return v != NULL;
}

int
main(void)
{
	struct pa_jsonw w;

	pa_jsonw_init(&w);
	pa_jsonw_begin(&w);
	pa_jsonw_str(&w, "a", "q\"b\\s\n\t\x01", 8);
	CHECK_STR("escapes", text(&w), "{\"a\":\"q\\\"b\\\\s\\n\\t\\u0001\"}");

	pa_jsonw_begin(&w);
	pa_jsonw_str(&w, "u", "caf\xc3\xa9 \xe2\x82\xac", 9);
	CHECK_STR("valid UTF-8 kept", text(&w), "{\"u\":\"caf\xc3\xa9 \xe2\x82\xac\"}");

	pa_jsonw_begin(&w);
	pa_jsonw_str(&w, "u", "a\xff" "b\xc3", 4);
	CHECK_STR("invalid UTF-8 replaced", text(&w), "{\"u\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"}");
	CHECK("invalid UTF-8 output is valid JSON", valid_json(text(&w)));

	pa_jsonw_begin(&w);
	pa_jsonw_str(&w, "z", "a\0b", 3);
	CHECK_STR("NUL replaced", text(&w), "{\"z\":\"a\xef\xbf\xbd" "b\"}");

	pa_jsonw_begin(&w);
	pa_jsonw_str(&w, "u", "\xed\xa0\x80\xc0\xaf", 5);
	CHECK("surrogates and overlong forms replaced", valid_json(text(&w)));

	pa_jsonw_begin(&w);
	pa_jsonw_int(&w, "n", -42);
	pa_jsonw_num(&w, "whole", 3.0);
	pa_jsonw_num(&w, "real", 0.1 + 0.2);
	pa_jsonw_num(&w, "nan", 0.0 / 0.0);
	pa_jsonw_bool(&w, "b", 1);
	CHECK_STR("numbers", text(&w), "{\"n\":-42,\"whole\":3,\"real\":0.3,\"nan\":null,\"b\":true}");

	pa_jsonw_begin(&w);
	pa_jsonw_time(&w, "ts", 1786178956LL * 1000000);
	pa_jsonw_time(&w, "again", 1786178956LL * 1000000 + 500000);
	CHECK_STR("times", text(&w), "{\"ts\":\"2026-08-08T08:49:16Z\",\"again\":\"2026-08-08T08:49:16.500Z\"}");

	/* A long string grows the buffer. */
	{
		static char big[20000];

		memset(big, '"', sizeof big);
		pa_jsonw_begin(&w);
		pa_jsonw_str(&w, "big", big, sizeof big);
		CHECK("long string grows buffer", w.len == 2 + 6 + 2 * sizeof big + 1);
	}
	pa_jsonw_free(&w);
	return unit_status();
}
