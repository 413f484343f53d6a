#include "accesslog.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"

/*
 * Preset templates.  The alb and elb layouts name the fields of AWS load
 * balancer access logs in order, and fields after the last one named are
 * ignored, so lines with fields added later still parse.
 */
static const struct {
	const char *name;
	enum pa_al_syntax syntax;
	const char *template;
} presets[] = {
	{ "combined", PA_AL_APACHE,
	  "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"" },
	{ "vhost_combined", PA_AL_APACHE,
	  "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" },
	/* nginx with the virtual host in front, as some distributions configure it. */
	{ "nginx_vhost", PA_AL_NGINX,
	  "$host $remote_addr - $remote_user [$time_local] \"$request\" $status "
	  "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"" },
	{ "alb", PA_AL_NGINX,
	  "$type $time_iso8601 $elb $pa_client_port $target $pa_seconds $pa_seconds "
	  "$pa_seconds $status $target_status $request_length $bytes_sent \"$request\" "
	  "\"$http_user_agent\" $ssl_cipher $ssl_protocol $target_group_arn \"$trace_id\" "
	  "\"$host\"" },
	{ "elb", PA_AL_NGINX,
	  "$time_iso8601 $elb $pa_client_port $backend $pa_seconds $pa_seconds "
	  "$pa_seconds $status $backend_status $request_length $bytes_sent \"$request\" "
	  "\"$http_user_agent\"" },
	{ "common", PA_AL_APACHE, "%h %l %u %t \"%r\" %>s %b" },
	/* nginx's default "combined" log_format is Apache's combined. */
	{ "nginx", PA_AL_NGINX,
	  "$remote_addr - $remote_user [$time_local] \"$request\" $status "
	  "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"" },
};

const char *const pa_logformat_presets[] = {
	"combined", "vhost_combined", "nginx_vhost", "alb", "elb", "common", NULL
};

int
pa_logformat_preset(const char *name, struct pa_logformat *f)
{
	char err[200];

	for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
		if (strcmp(presets[i].name, name) != 0)
			continue;
		if (pa_logformat_compile(presets[i].template, presets[i].syntax, f, err,
					 sizeof err) != 0)
			return -1;
		snprintf(f->name, sizeof f->name, "%s", name);
		return 0;
	}
	return -1;
}

/* nginx variables pa understands; every other variable is skipped. */
static const struct {
	const char *name;
	enum pa_al_field field;
} nginx_vars[] = {
	{ "remote_addr", PA_AL_CLIENT },
	{ "realip_remote_addr", PA_AL_CLIENT },
	{ "pa_client_port", PA_AL_CLIENT_PORT },
	{ "time_local", PA_AL_TIME_CLF },
	{ "time_iso8601", PA_AL_TIME_ISO },
	{ "msec", PA_AL_TIME_EPOCH },
	{ "request", PA_AL_REQUEST },
	{ "request_method", PA_AL_METHOD },
	{ "request_uri", PA_AL_URI },
	{ "uri", PA_AL_URI },
	{ "document_uri", PA_AL_URI },
	{ "status", PA_AL_STATUS },
	{ "body_bytes_sent", PA_AL_BYTES_OUT },
	{ "bytes_sent", PA_AL_BYTES_OUT },
	{ "request_length", PA_AL_BYTES_IN },
	{ "request_time", PA_AL_DUR_S },
	{ "pa_seconds", PA_AL_DUR_S },
	{ "host", PA_AL_HOST },
	{ "http_host", PA_AL_HOST },
	{ "server_name", PA_AL_HOST },
	{ "http_referer", PA_AL_REFERER },
	{ "http_user_agent", PA_AL_USER_AGENT },
};

static enum pa_al_field
nginx_field(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof nginx_vars / sizeof nginx_vars[0]; i++)
		if (strlen(nginx_vars[i].name) == len &&
		    memcmp(nginx_vars[i].name, name, len) == 0)
			return nginx_vars[i].field;
	/* Any other variable is kept by name for field: rules, such as $http_x_tenant. */
	return PA_AL_NAMED;
}

void
pa_al_name_canon(const char *name, size_t len, char *out)
{
	size_t o = 0;

	if (len > 5 && strncasecmp(name, "http", 4) == 0 && (name[4] == '_' || name[4] == '-')) {
		name += 5;
		len -= 5;
	}
	for (size_t i = 0; i < len && o < 31; i++)
		out[o++] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
	out[o] = '\0';
}

const char *
pa_request_named(const struct pa_logformat *f, const struct pa_request *req, const char *name,
		 size_t *len)
{
	char canon[32];

	pa_al_name_canon(name, strlen(name), canon);
	for (int i = 0; i < f->ntok; i++) {
		const struct pa_al_token *t = &f->tok[i];

		if (t->field == PA_AL_NAMED && strcmp(t->name, canon) == 0) {
			*len = req->named[t->slot].len;
			return req->named[t->slot].p;
		}
	}
	return NULL;
}

/* Map one Apache directive, letter c with an optional {arg}.  Returns -1 when it is unsupported. */
static int
apache_field(char c, const char *arg, size_t arglen, enum pa_al_field *out)
{
	switch (c) {
	case 'h': case 'a':
		*out = PA_AL_CLIENT;
		return 0;
	case 't':
		/* Only the default CLF date is read, not %{format}t. */
		if (arglen > 0)
			return -1;
		*out = PA_AL_TIME_CLF;
		return 0;
	case 'r': *out = PA_AL_REQUEST; return 0;
	case 'm': *out = PA_AL_METHOD; return 0;
	case 'U': *out = PA_AL_URI; return 0;
	case 's': *out = PA_AL_STATUS; return 0;
	case 'b': case 'B': case 'O': *out = PA_AL_BYTES_OUT; return 0;
	case 'I': *out = PA_AL_BYTES_IN; return 0;
	case 'D': *out = PA_AL_DUR_US; return 0;
	case 'T':
		if (arglen == 0 || (arglen == 1 && arg[0] == 's'))
			*out = PA_AL_DUR_S;
		else if (arglen == 2 && memcmp(arg, "ms", 2) == 0)
			*out = PA_AL_DUR_MS;
		else if (arglen == 2 && memcmp(arg, "us", 2) == 0)
			*out = PA_AL_DUR_US;
		else
			return -1;
		return 0;
	case 'v': case 'V': *out = PA_AL_HOST; return 0;
	case 'i':
		if (arglen == 4 && strncasecmp(arg, "Host", 4) == 0)
			*out = PA_AL_HOST;
		else if (arglen == 7 && strncasecmp(arg, "Referer", 7) == 0)
			*out = PA_AL_REFERER;
		else if (arglen == 10 && strncasecmp(arg, "User-Agent", 10) == 0)
			*out = PA_AL_USER_AGENT;
		else
			*out = PA_AL_NAMED;
		return 0;
	case 'e': case 'n': case 'C':
		/* Environment variables, notes and cookies are kept by name. */
		*out = arglen > 0 ? PA_AL_NAMED : PA_AL_SKIP;
		return 0;
	case 'l': case 'u': case 'p': case 'P': case 'q': case 'H': case 'k':
	case 'L': case 'X': case 'o': case 'R': case 'f':
	case 'A': case 'S': case '^':
		*out = PA_AL_SKIP;
		return 0;
	default:
		return -1;
	}
}

static int
append_lit(struct pa_logformat *f, char c, char *err, size_t errsize)
{
	char *lit = f->ntok == 0 ? f->lead : f->tok[f->ntok - 1].lit;
	size_t *len = f->ntok == 0 ? &f->leadlen : &f->tok[f->ntok - 1].litlen;

	if (*len + 1 >= sizeof f->lead) {
		snprintf(err, errsize, "log format: literal text between two fields longer than %zu bytes",
			 sizeof f->lead - 1);
		return -1;
	}
	lit[(*len)++] = c;
	lit[*len] = '\0';
	return 0;
}

static int
add_field(struct pa_logformat *f, enum pa_al_field field, const char *name, size_t namelen,
	  char *err, size_t errsize)
{
	struct pa_al_token *t;

	if (field == PA_AL_NAMED && (f->nnamed == PA_AL_MAX_NAMED || name == NULL))
		field = PA_AL_SKIP;

	if (f->ntok == PA_AL_MAX_TOKENS) {
		snprintf(err, errsize, "log format has more than %d fields", PA_AL_MAX_TOKENS);
		return -1;
	}
	/* Two fields with nothing between them cannot be separated. */
	if (f->ntok > 0 && f->tok[f->ntok - 1].litlen == 0) {
		snprintf(err, errsize, "log format has two fields with no text between them");
		return -1;
	}
	t = &f->tok[f->ntok++];
	memset(t, 0, sizeof *t);
	t->field = field;
	if (field == PA_AL_NAMED) {
		pa_al_name_canon(name, namelen, t->name);
		t->slot = f->nnamed++;
	}
	f->have |= 1u << field;
	return 0;
}

int
pa_logformat_compile(const char *tpl, enum pa_al_syntax syntax, struct pa_logformat *f,
		     char *err, size_t errsize)
{
	const char *p = tpl;

	memset(f, 0, sizeof *f);
	snprintf(f->name, sizeof f->name, "template");
	while (*p != '\0') {
		enum pa_al_field field;
		const char *fname = NULL;
		size_t fnamelen = 0;

		if (syntax == PA_AL_APACHE && *p == '%') {
			const char *arg = NULL;
			size_t arglen = 0;

			p++;
			if (*p == '%') {
				if (append_lit(f, '%', err, errsize) != 0)
					return -1;
				p++;
				continue;
			}
			/* Status-code conditions and the < > modifiers do not change the field. */
			while (*p == '<' || *p == '>' || *p == '!' || *p == ',' ||
			       isdigit((unsigned char)*p))
				p++;
			if (*p == '{') {
				const char *close = strchr(p, '}');

				if (close == NULL) {
					snprintf(err, errsize, "log format: unclosed \"{\" in %s", tpl);
					return -1;
				}
				arg = p + 1;
				arglen = (size_t)(close - arg);
				p = close + 1;
			}
			fname = arg;
			fnamelen = arglen;
			if (*p == '\0' || apache_field(*p, arg, arglen, &field) != 0) {
				snprintf(err, errsize, "log format: unsupported directive \"%%%.*s%c\"",
					 arg ? (int)arglen + 2 : 0, arg ? arg - 1 : "", *p ? *p : ' ');
				return -1;
			}
			p++;
		} else if (syntax == PA_AL_NGINX && *p == '$' &&
			   (isalnum((unsigned char)p[1]) || p[1] == '_' || p[1] == '{')) {
			const char *name;
			size_t n = 0;
			int braced = p[1] == '{';

			name = p + 1 + braced;
			while (isalnum((unsigned char)name[n]) || name[n] == '_')
				n++;
			if (braced && name[n] != '}') {
				snprintf(err, errsize, "log format: unclosed \"${\" in %s", tpl);
				return -1;
			}
			field = nginx_field(name, n);
			fname = name;
			fnamelen = n;
			p = name + n + braced;
		} else {
			if (append_lit(f, *p, err, errsize) != 0)
				return -1;
			p++;
			continue;
		}
		if (add_field(f, field, fname, fnamelen, err, errsize) != 0)
			return -1;
	}

	/* A field is quoted when it sits between two double quotes. */
	for (int i = 0; i < f->ntok; i++) {
		const char *before = i == 0 ? f->lead : f->tok[i - 1].lit;
		size_t blen = i == 0 ? f->leadlen : f->tok[i - 1].litlen;

		f->tok[i].quoted = blen > 0 && before[blen - 1] == '"' &&
				   f->tok[i].litlen > 0 && f->tok[i].lit[0] == '"';
	}

	if (!(f->have & ((1u << PA_AL_TIME_CLF) | (1u << PA_AL_TIME_ISO) |
			 (1u << PA_AL_TIME_EPOCH)))) {
		snprintf(err, errsize, "log format has no timestamp field: add %s",
			 syntax == PA_AL_APACHE ? "%t" : "$time_local, $time_iso8601 or $msec");
		return -1;
	}
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Undo the escapes Apache and nginx write inside quoted fields: \" \\ \n
 * \t \r and \xHH.  Any other backslash is kept as logged.
 */
static size_t
unescape(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\\' || i + 1 == len) {
			out[o++] = s[i];
			continue;
		}
		char c = s[i + 1];

		if (c == '"' || c == '\\') {
			out[o++] = c;
			i++;
		} else if (c == 'n') {
			out[o++] = '\n';
			i++;
		} else if (c == 't') {
			out[o++] = '\t';
			i++;
		} else if (c == 'r') {
			out[o++] = '\r';
			i++;
		} else if (c == 'x' && i + 3 < len && hexval(s[i + 2]) >= 0 &&
			   hexval(s[i + 3]) >= 0) {
			out[o++] = (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
			i += 3;
		} else {
			out[o++] = '\\';
		}
	}
	return o;
}

/* True when lit[0..n) is at line[pos].  Literals are a few bytes, so a loop is faster than memcmp. */
static inline int
lit_at(const char *line, size_t len, size_t pos, const char *lit, size_t n)
{
	if (len - pos < n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (line[pos + i] != lit[i])
			return 0;
	return 1;
}

/*
 * Find the end of a quoted field starting at line[pos]: the first double
 * quote not escaped by a backslash that is followed by the rest of the
 * template's literal.  Requiring the literal as well lets a bare quote
 * inside a field parse, unless the template's next text follows it.
 */
static long
quoted_end(const char *line, size_t len, size_t pos, const struct pa_al_token *t, int last)
{
	size_t j = pos;

	while (j < len) {
		const char *q = memchr(line + j, '"', len - j);
		const char *b;

		if (q == NULL)
			return -1;
		/* A backslash before the quote escapes the character after it. */
		b = memchr(line + j, '\\', (size_t)(q - line) - j);
		if (b != NULL) {
			j = (size_t)(b - line) + 2;
			continue;
		}
		j = (size_t)(q - line);
		if (lit_at(line, len, j, t->lit, t->litlen) &&
		    (!last || j + t->litlen == len || line[j + t->litlen] == ' '))
			return (long)j;
		j++;
	}
	return -1;
}

static int
parse_uint(const char *s, size_t len, long long *out)
{
	long long v = 0;

	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Parse a non-negative decimal like "0.000043".  Returns -1 for "-1", "-" or junk. */
static int
parse_seconds(const char *s, size_t len, double *out)
{
	double v = 0, scale = 0.1;
	size_t i = 0;

	if (len == 0)
		return -1;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0)
		return -1;
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			v += (s[i] - '0') * scale;
			scale /= 10;
		}
	}
	if (i != len)
		return -1;
	*out = v;
	return 0;
}

static int
is_method_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
}

/*
 * Split an absolute or origin-form request target into host, path and
 * query.  "http://h:80/p?q" gives host "h:80", path "/p", query "q".
 */
void
pa_request_set_uri(struct pa_request *req, const char *u, size_t len)
{
	size_t i = 0;

	for (; i < len && (isalnum((unsigned char)u[i]) || u[i] == '+' || u[i] == '-' ||
			   u[i] == '.'); i++)
		;
	if (i > 0 && i + 2 < len && u[i] == ':' && u[i + 1] == '/' && u[i + 2] == '/') {
		size_t h = i + 3, e = h;

		while (e < len && u[e] != '/' && u[e] != '?' && u[e] != '#')
			e++;
		if (req->host.p == NULL && e > h) {
			req->host.p = u + h;
			req->host.len = e - h;
		}
		u += e;
		len -= e;
		if (len == 0) {
			req->path.p = "/";
			req->path.len = 1;
			return;
		}
	}
	const char *q = memchr(u, '?', len);
	const char *hash = memchr(u, '#', len);
	size_t plen = len;

	if (q != NULL)
		plen = (size_t)(q - u);
	else if (hash != NULL)
		plen = (size_t)(hash - u);

	req->path.p = u;
	req->path.len = plen;
	if (q != NULL) {
		size_t qend = hash && hash > q ? (size_t)(hash - u) : len;

		req->query.p = q + 1;
		req->query.len = qend - plen - 1;
	}
}

/*
 * "GET /path HTTP/1.1".  Junk such as a TLS handshake sent to a plain-text
 * port leaves method and path absent; the request still happened and
 * still counts.
 */
void
pa_request_set_line(struct pa_request *req, const char *r, size_t len)
{
	const char *sp = memchr(r, ' ', len);
	size_t mlen, ulen;

	if (sp == NULL)
		return;
	mlen = (size_t)(sp - r);
	if (mlen == 0 || mlen > 32 || !isalpha((unsigned char)r[0]))
		return;
	for (size_t i = 0; i < mlen; i++)
		if (!is_method_char(r[i]))
			return;

	const char *uri = sp + 1;

	ulen = len - mlen - 1;
	/* The protocol, when present, is the last word and starts with HTTP/. */
	for (size_t j = ulen; j > 0; j--) {
		if (uri[j - 1] == ' ') {
			if (ulen - j >= 5 && memcmp(uri + j, "HTTP/", 5) == 0)
				ulen = j - 1;
			break;
		}
	}
	if (ulen == 0 || (ulen == 1 && uri[0] == '-'))
		return;
	req->method.p = r;
	req->method.len = mlen;
	pa_request_set_uri(req, uri, ulen);
}

/* Consecutive log lines mostly share their second, so each thread remembers its last date. */
static int
parse_clf_cached(const char *v, size_t len, pa_usec_t *out)
{
	static _Thread_local char last[40];
	static _Thread_local size_t lastlen;
	static _Thread_local pa_usec_t last_ts;

	if (len == lastlen && memcmp(v, last, len) == 0) {
		*out = last_ts;
		return 0;
	}
	if (pa_time_parse_clf(v, len, out) != 0)
		return -1;
	if (len < sizeof last) {
		memcpy(last, v, len);
		lastlen = len;
		last_ts = *out;
	}
	return 0;
}

static void
set_span(struct pa_span *s, const char *p, size_t len)
{
	if (len == 0 || (len == 1 && p[0] == '-')) {
		s->p = NULL;
		s->len = 0;
	} else {
		s->p = p;
		s->len = len;
	}
}

#define FAIL(cls, ...)                                                  \
	do {                                                            \
		*reason_class = (cls);                                  \
		snprintf(err, errsize, __VA_ARGS__);                    \
		return -1;                                              \
	} while (0)

int
pa_logformat_parse(const struct pa_logformat *f, const char *line, size_t len,
		   char *scratch, struct pa_request *req, const char **reason_class,
		   char *err, size_t errsize)
{
	size_t pos = f->leadlen;
	size_t so = 0;		/* bytes of scratch used */
	int have_time = 0, bad_duration = 0;
	double seconds = 0;

	memset(req, 0, sizeof *req);
	if (len < f->leadlen || memcmp(line, f->lead, f->leadlen) != 0)
		FAIL("line does not match the log format",
		     "line does not match the %s format at column 1", f->name);

	for (int i = 0; i < f->ntok; i++) {
		const struct pa_al_token *t = &f->tok[i];
		int last = i == f->ntok - 1;
		const char *v = line + pos;
		size_t vlen, end;

		if (t->quoted) {
			long q = quoted_end(line, len, pos, t, last);

			if (q < 0)
				FAIL("line does not match the log format",
				     "line does not match the %s format at column %zu: unterminated quoted field %s",
				     f->name, pos + 1, pa_quote(line + pos, len - pos));
			end = (size_t)q;
		} else if (t->field == PA_AL_TIME_CLF && pos < len && line[pos] == '[') {
			const char *close = memchr(line + pos, ']', len - pos);

			if (close == NULL)
				FAIL("invalid timestamp", "invalid timestamp %s: no closing \"]\"",
				     pa_quote(line + pos, len - pos));
			v = line + pos + 1;
			end = (size_t)(close - line) + 1;
		} else {
			/* Unquoted fields end at the literal's first byte, or a space. */
			char stop = t->litlen > 0 ? t->lit[0] : ' ';
			const char *e = memchr(line + pos, stop, len - pos);

			end = e ? (size_t)(e - line) : len;
		}
		vlen = line + end - v;
		if (v > line + end)
			vlen = 0;
		if (t->field == PA_AL_TIME_CLF && v != line + pos)
			vlen = end - 1 - (size_t)(v - line);

		/* Decode escapes only when there are any. */
		if (t->quoted && memchr(v, '\\', vlen) != NULL &&
		    t->field != PA_AL_SKIP) {
			size_t n = unescape(v, vlen, scratch + so);

			v = scratch + so;
			so += n;
			vlen = n;
		}

		switch (t->field) {
		case PA_AL_SKIP:
			break;
		case PA_AL_CLIENT:
			set_span(&req->client, v, vlen);
			break;
		case PA_AL_CLIENT_PORT: {
			size_t n = vlen;

			if (vlen > 0 && v[0] == '[') {
				const char *rb = memchr(v, ']', vlen);

				if (rb != NULL) {
					set_span(&req->client, v + 1, (size_t)(rb - v) - 1);
					break;
				}
			}
			while (n > 0 && v[n - 1] != ':')
				n--;
			set_span(&req->client, v, n > 0 ? n - 1 : vlen);
			break;
		}
		case PA_AL_TIME_CLF:
			/* Text that does not even start like a date means the layout is wrong. */
			if (vlen == 0 || !isdigit((unsigned char)v[0]))
				FAIL("line does not match the log format",
				     "line does not match the %s format at column %zu: no date",
				     f->name, pos + 1);
			if (parse_clf_cached(v, vlen, &req->ts) != 0)
				FAIL("invalid timestamp", "invalid timestamp %s", pa_quote(v, vlen));
			/* The offset follows a space: "10/Oct/2026:13:55:36 +0200". */
			req->ts_local = memchr(v, ' ', vlen) == NULL;
			have_time = 1;
			break;
		case PA_AL_TIME_ISO:
			if (pa_time_parse_rfc3339(v, vlen, &req->ts) != 0)
				FAIL("invalid timestamp", "invalid timestamp %s", pa_quote(v, vlen));
			have_time = 1;
			break;
		case PA_AL_TIME_EPOCH:
			if (pa_time_parse_epoch(v, vlen, &req->ts) != 0)
				FAIL("invalid timestamp", "invalid timestamp %s", pa_quote(v, vlen));
			have_time = 1;
			break;
		case PA_AL_REQUEST:
			pa_request_set_line(req, v, vlen);
			break;
		case PA_AL_METHOD:
			set_span(&req->method, v, vlen);
			break;
		case PA_AL_URI:
			if (vlen > 0 && !(vlen == 1 && v[0] == '-'))
				pa_request_set_uri(req, v, vlen);
			break;
		case PA_AL_STATUS: {
			long long st;

			if (vlen != 3 || parse_uint(v, vlen, &st) != 0 || st < 100 || st > 599)
				FAIL("invalid status code", "invalid status code %s", pa_quote(v, vlen));
			req->status = (int)st;
			break;
		}
		case PA_AL_BYTES_OUT:
		case PA_AL_BYTES_IN: {
			long long n = 0;

			/* "-" means no body was sent: zero bytes, as logged. */
			if (!(vlen == 1 && v[0] == '-') && parse_uint(v, vlen, &n) != 0)
				FAIL("invalid byte count", "invalid byte count %s", pa_quote(v, vlen));
			if (t->field == PA_AL_BYTES_OUT) {
				req->bytes_out = n;
				req->has_bytes_out = 1;
			} else {
				req->bytes_in = n;
				req->has_bytes_in = 1;
			}
			break;
		}
		case PA_AL_DUR_S:
		case PA_AL_DUR_MS:
		case PA_AL_DUR_US: {
			double d;

			/* Load balancers write -1 when the backend sent no response, so the duration is unknown. */
			if (parse_seconds(v, vlen, &d) != 0) {
				if ((vlen == 1 && v[0] == '-') || (vlen == 2 && memcmp(v, "-1", 2) == 0)) {
					bad_duration = 1;
					break;
				}
				FAIL("invalid duration", "invalid duration %s", pa_quote(v, vlen));
			}
			if (t->field == PA_AL_DUR_MS)
				d /= 1e3;
			else if (t->field == PA_AL_DUR_US)
				d /= 1e6;
			seconds += d;
			req->has_duration = 1;
			break;
		}
		case PA_AL_HOST:
			/* "-" keeps a host already taken from an absolute request URI. */
			if (!(vlen == 0 || (vlen == 1 && v[0] == '-')))
				set_span(&req->host, v, vlen);
			break;
		case PA_AL_REFERER:
			set_span(&req->referer, v, vlen);
			break;
		case PA_AL_USER_AGENT:
			set_span(&req->user_agent, v, vlen);
			break;
		case PA_AL_NAMED:
			set_span(&req->named[t->slot], v, vlen);
			break;
		case PA_AL_NFIELDS:
			break;
		}

		pos = end;
		if (t->litlen > 0) {
			if (!lit_at(line, len, pos, t->lit, t->litlen))
				FAIL("line does not match the log format",
				     "line does not match the %s format at column %zu", f->name,
				     pos + 1);
			pos += t->litlen;
		}
	}
	/* Fields appended after the template (nginx's $http_x_forwarded_for and the like) are allowed. */
	if (pos < len && line[pos] != ' ' && line[pos - 1] != ' ')
		FAIL("line does not match the log format",
		     "line does not match the %s format at column %zu: unexpected text", f->name,
		     pos + 1);
	if (!have_time)
		FAIL("invalid timestamp", "missing timestamp");
	req->end = pos;
	if (req->has_duration && !bad_duration)
		req->duration_ms = seconds * 1e3;
	else
		req->has_duration = 0;
	return 0;
}
