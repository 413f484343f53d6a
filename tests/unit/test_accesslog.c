/* Unit tests for access-log templates, presets and line parsing. */
#include <stdlib.h>

#include "accesslog.h"
#include "unit.h"

static char scratch[4096];

static int
parse(const struct pa_logformat *f, const char *line, struct pa_request *req, const char **cls)
{
	char err[256];

	return pa_logformat_parse(f, line, strlen(line), scratch, req, cls, err, sizeof err);
}

static int
span_is(struct pa_span s, const char *want)
{
	return s.p != NULL && s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

int
main(void)
{
	struct pa_logformat f;
	struct pa_request req;
	const char *cls = NULL;
	char err[256];

	CHECK("preset combined loads", pa_logformat_preset("combined", &f) == 0);
	CHECK("preset unknown fails", pa_logformat_preset("syslog", &f) == -1);

	pa_logformat_preset("combined", &f);
	CHECK("combined line parses",
	      parse(&f, "192.0.2.1 - - [08/Aug/2026:16:49:16 +0800] \"GET /a/b?x=1 HTTP/1.1\" 200 512 \"-\" \"ua\"",
		    &req, &cls) == 0);
	CHECK("combined ts honours offset", req.ts == 1786178956LL * 1000000);
	CHECK("combined method", span_is(req.method, "GET"));
	CHECK("combined path without query", span_is(req.path, "/a/b"));
	CHECK("combined query", span_is(req.query, "x=1"));
	CHECK("combined status", req.status == 200);
	CHECK("combined bytes", req.has_bytes_out);
	CHECK("combined bytes (2)", req.bytes_out == 512);
	CHECK("combined no bytes_in", !req.has_bytes_in);
	CHECK("combined dash referer absent", req.referer.p == NULL);
	CHECK("combined user agent", span_is(req.user_agent, "ua"));

	/* Escapes inside quotes, and a backslash that ends the field. */
	CHECK("escaped quote parses",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"a \\\"b\\\" c\"",
		    &req, &cls) == 0);
	CHECK("escaped quote decoded", span_is(req.user_agent, "a \"b\" c"));
	CHECK("trailing backslash parses",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"tool\\\\\"",
		    &req, &cls) == 0);
	CHECK("trailing backslash decoded", span_is(req.user_agent, "tool\\"));
	CHECK("hex escape decoded",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"10\\x22 x\"",
		    &req, &cls) == 0 && span_is(req.user_agent, "10\" x"));

	/* An unescaped quote is content when the template's next text does not follow it. */
	CHECK("bare quote in referer parses",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"a\"b\" \"ua\"",
		    &req, &cls) == 0);
	CHECK("bare quote kept", span_is(req.referer, "a\"b"));

	/* Extra fields after the template are allowed; a garbled line is not. */
	CHECK("trailing fields allowed",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\" \"10.0.0.1\" 0.003",
		    &req, &cls) == 0);
	CHECK("garbled line rejected", parse(&f, "not a log line at all", &req, &cls) == -1);
	CHECK("garbled line reason", strcmp(cls, "line does not match the log format") == 0);
	CHECK("bad status rejected",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 2000 1 \"-\" \"ua\"", &req, &cls) == -1 &&
	      strcmp(cls, "invalid status code") == 0);
	CHECK("bad bytes rejected",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1k \"-\" \"ua\"", &req, &cls) == -1 &&
	      strcmp(cls, "invalid byte count") == 0);
	CHECK("bad date rejected",
	      parse(&f, "h - - [31/Feb/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\"", &req, &cls) == -1 &&
	      strcmp(cls, "invalid timestamp") == 0);
	CHECK("dash size is zero",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"HEAD / HTTP/1.1\" 304 - \"-\" \"ua\"", &req, &cls) == 0 &&
	      req.has_bytes_out && req.bytes_out == 0);

	/* A request line that is not one still counts, without method and path. */
	CHECK("junk request parses",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"\\x16\\x03\\x01\" 400 0 \"-\" \"-\"", &req, &cls) == 0);
	CHECK("junk request has no method", req.method.p == NULL);
	CHECK("junk request has no method (2)", req.path.p == NULL);
	CHECK("junk request status kept", req.status == 400);
	CHECK("dash method is junk",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"- - -\" 400 0 \"-\" \"-\"", &req, &cls) == 0 &&
	      req.method.p == NULL);
	CHECK("absolute uri gives host",
	      parse(&f, "h - - [01/Jan/2026:00:00:00 +0000] \"GET http://shop.example.com:80/x HTTP/1.1\" 200 0 \"-\" \"-\"",
		    &req, &cls) == 0 && span_is(req.host, "shop.example.com:80") && span_is(req.path, "/x"));
	CHECK("IPv6 client with zone kept",
	      parse(&f, "fe80::1%eth0 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 0 \"-\" \"-\"",
		    &req, &cls) == 0 && span_is(req.client, "fe80::1%eth0"));
	CHECK("dash client absent",
	      parse(&f, "- - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 0 \"-\" \"-\"", &req, &cls) == 0 &&
	      req.client.p == NULL);

	/* Apache template with size in, duration in microseconds and the Host header. */
	CHECK("apache template compiles",
	      pa_logformat_compile("%{Host}i %h %l %u %t \"%r\" %>s %b %I %D", PA_AL_APACHE, &f, err,
				   sizeof err) == 0);
	CHECK("apache template parses",
	      parse(&f, "a.example.com 192.0.2.7 - - [02/Jan/2026:03:04:05 -0800] \"GET / HTTP/1.1\" 200 1234 812 15320",
		    &req, &cls) == 0);
	CHECK("apache %I is bytes_in", req.has_bytes_in);
	CHECK("apache %I is bytes_in (2)", req.bytes_in == 812);
	CHECK_NEAR("apache %D is microseconds", req.duration_ms, 15.32, 1e-9);
	CHECK("apache host", span_is(req.host, "a.example.com"));
	CHECK("apache %{format}t unsupported",
	      pa_logformat_compile("%h %{%Y}t", PA_AL_APACHE, &f, err, sizeof err) == -1);
	CHECK("template without time fails",
	      pa_logformat_compile("%h \"%r\" %>s", PA_AL_APACHE, &f, err, sizeof err) == -1 &&
	      strstr(err, "%t") != NULL);
	CHECK("adjacent fields fail",
	      pa_logformat_compile("%h%t", PA_AL_APACHE, &f, err, sizeof err) == -1);

	/* nginx template with request_time in seconds and an ISO time. */
	CHECK("nginx template compiles",
	      pa_logformat_compile("$remote_addr [$time_iso8601] \"$request\" $status $request_time",
				   PA_AL_NGINX, &f, err, sizeof err) == 0);
	CHECK("nginx template parses",
	      parse(&f, "192.0.2.9 [2026-01-02T03:04:05+01:00] \"GET / HTTP/1.1\" 200 0.025", &req, &cls) == 0);
	CHECK_NEAR("nginx request_time in ms", req.duration_ms, 25, 1e-9);
	CHECK("nginx iso time", req.ts == 1767319445LL * 1000000);
	CHECK("nginx braced variable",
	      pa_logformat_compile("${remote_addr} [$time_local]", PA_AL_NGINX, &f, err, sizeof err) == 0 &&
	      (f.have & (1u << PA_AL_CLIENT)));

	/* Other headers and variables are kept by canonical name for field: rules. */
	{
		size_t len = 0;
		const char *v;

		CHECK("named header compiles",
		      pa_logformat_compile("%h %t \"%{X-Tenant}i\" %{SVC}e", PA_AL_APACHE, &f, err,
					   sizeof err) == 0 && f.nnamed == 2);
		CHECK("named header parses",
		      parse(&f, "h [01/Jan/2026:00:00:00 +0000] \"acme\" web", &req, &cls) == 0);
		v = pa_request_named(&f, &req, "x_tenant", &len);
		CHECK("named header by other spelling", v != NULL && len == 4 && memcmp(v, "acme", 4) == 0);
		v = pa_request_named(&f, &req, "HTTP_X_TENANT", &len);
		CHECK("named header with http prefix", v != NULL && len == 4);
		CHECK("named env variable", pa_request_named(&f, &req, "svc", &len) != NULL);
		CHECK("named env variable (2)", len == 3);
		CHECK("unknown name absent", pa_request_named(&f, &req, "x-other", &len) == NULL);
		CHECK("nginx variable named",
		      pa_logformat_compile("$remote_addr [$time_local] $http_x_tenant", PA_AL_NGINX, &f, err,
					   sizeof err) == 0 &&
		      parse(&f, "h [01/Jan/2026:00:00:00 +0000] globex", &req, &cls) == 0 &&
		      pa_request_named(&f, &req, "X-Tenant", &len) != NULL && len == 6);
	}

	/* ALB: three processing times summed, -1 means unknown. */
	pa_logformat_preset("alb", &f);
	CHECK("alb parses",
	      parse(&f, "https 2018-07-02T22:23:00.186641Z app/lb/1 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 \"GET https://www.example.com:443/ HTTP/1.1\" \"curl/7.46.0\" ECDHE TLSv1.2 arn \"Root=1\" \"www.example.com\" \"arn\" 1 2018-07-02T22:22:48.364000Z \"forward\" \"-\" \"-\"",
		    &req, &cls) == 0);
	CHECK("alb client without port", span_is(req.client, "192.168.131.39"));
	CHECK_NEAR("alb duration summed", req.duration_ms, 171, 1e-6);
	CHECK("alb received bytes", req.has_bytes_in);
	CHECK("alb received bytes (2)", req.bytes_in == 0);
	CHECK("alb -1 timing leaves duration absent",
	      parse(&f, "http 2018-11-30T22:23:00.186641Z app/lb/1 192.168.131.39:2817 - -1 -1 -1 400 - 0 0 \"- - -\" \"-\" - - - \"-\" \"-\" \"-\" 0 2018-11-30T22:22:48.364000Z \"-\" \"-\" \"-\"",
		    &req, &cls) == 0 && !req.has_duration);
	return unit_status();
}
