/*
 * libFuzzer target for access-log parsing and the JSON writer.  Every
 * preset parses the input as one line.  On success the spans must lie in
 * the line or the scratch buffer, and the status must be a valid code.
 * The input is also compiled as Apache and nginx templates, and written
 * as a JSON string, which jansson must read back as valid JSON.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog.h"
#include "jsonw.h"

static void
check_span(struct pa_span s, const char *line, size_t len, const char *scratch)
{
	/* An absolute URI without a path gets the path "/" from a string literal. */
	if (s.p == NULL || (s.len == 1 && s.p[0] == '/'))
		return;
	if (!((s.p >= line && s.p + s.len <= line + len) ||
	      (s.p >= scratch && s.p + s.len <= scratch + len + 1)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"combined", "common", "vhost_combined", "nginx", "nginx_vhost", "alb", "elb"
	};
	char *line = malloc(size + 1), *scratch = malloc(size + 1);
	struct pa_logformat f;
	struct pa_request req;
	struct pa_jsonw w;
	const char *cls;
	char err[256];

	memcpy(line, data, size);
	line[size] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		pa_logformat_preset(names[i], &f);
		if (pa_logformat_parse(&f, line, size, scratch, &req, &cls, err, sizeof err) != 0)
			continue;
		if (req.status != 0 && (req.status < 100 || req.status > 599))
			abort();
		check_span(req.client, line, size, scratch);
		check_span(req.method, line, size, scratch);
		check_span(req.path, line, size, scratch);
		check_span(req.query, line, size, scratch);
		check_span(req.host, line, size, scratch);
		check_span(req.referer, line, size, scratch);
		check_span(req.user_agent, line, size, scratch);
	}
	pa_logformat_compile(line, PA_AL_APACHE, &f, err, sizeof err);
	pa_logformat_compile(line, PA_AL_NGINX, &f, err, sizeof err);

	/* Whatever the bytes, the writer's output is valid JSON. */
	pa_jsonw_init(&w);
	pa_jsonw_begin(&w);
	pa_jsonw_str(&w, "s", line, size);
	pa_jsonw_raw(&w, "n", "1}", 2);	/* closes the object without writing it out */
	{
		json_error_t e;
		json_t *v = json_loadb(w.buf, w.len, 0, &e);

		if (v == NULL)
			abort();
		json_decref(v);
	}
	pa_jsonw_free(&w);
	free(line);
	free(scratch);
	return 0;
}
