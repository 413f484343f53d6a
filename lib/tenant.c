#include "tenant.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "opts.h"

void
pa_tenancy_init(struct pa_tenancy *t)
{
	char err[200];

	memset(t, 0, sizeof *t);
	snprintf(t->fallback_tenant, sizeof t->fallback_tenant, "default");
	snprintf(t->fallback_service, sizeof t->fallback_service, "default");
	pa_rule_parse("host", &t->tenant[0], err, sizeof err);
	pa_rule_parse("path", &t->service[0], err, sizeof err);
	t->ntenant = t->nservice = 1;
}

static void
rule_free(struct pa_rule *r)
{
	free(r->arg);
	if (r->kind == PA_RULE_REGEX)
		regfree(&r->re);
	r->arg = NULL;
}

void
pa_tenancy_free(struct pa_tenancy *t)
{
	for (int i = 0; i < t->ntenant; i++)
		rule_free(&t->tenant[i]);
	for (int i = 0; i < t->nservice; i++)
		rule_free(&t->service[i]);
	for (size_t i = 0; i < t->map_size; i++)
		free(t->map[i].key);
	free(t->map);
	for (int i = 0; i < t->ntemplates; i++) {
		free(t->templates[i].text);
		free(t->templates[i].copy);
	}
	t->ntenant = t->nservice = t->ntemplates = 0;
	t->map = NULL;
}

int
pa_rule_parse(const char *spec, struct pa_rule *r, char *err, size_t errsize)
{
	static const char *const sources[] = { "host", "path", "referer", "client", "user_agent" };

	memset(r, 0, sizeof *r);
	if (strcmp(spec, "host") == 0) {
		r->kind = PA_RULE_HOST;
	} else if (strcmp(spec, "subdomain") == 0) {
		r->kind = PA_RULE_SUBDOMAIN;
	} else if (strcmp(spec, "referer") == 0) {
		r->kind = PA_RULE_REFERER;
	} else if (strcmp(spec, "path") == 0 || strncmp(spec, "path:", 5) == 0) {
		char *end;
		long n = 1;

		if (spec[4] == ':') {
			errno = 0;
			n = strtol(spec + 5, &end, 10);
			if (end == spec + 5 || *end != '\0' || errno != 0 || n < 1 || n > 32) {
				snprintf(err, errsize, "invalid rule \"%s\": path:N needs N from 1 to 32", spec);
				return -1;
			}
		}
		r->kind = PA_RULE_PATH;
		r->segment = (int)n;
	} else if (strncmp(spec, "field:", 6) == 0) {
		if (spec[6] == '\0') {
			snprintf(err, errsize, "invalid rule \"%s\": field: needs a field name", spec);
			return -1;
		}
		r->kind = PA_RULE_FIELD;
		r->arg = pa_xstrdup(spec + 6);
	} else if (strncmp(spec, "regex:", 6) == 0) {
		const char *src = spec + 6;
		const char *colon = strchr(src, ':');
		size_t i;
		int rc;

		for (i = 0; i < sizeof sources / sizeof sources[0]; i++)
			if (colon != NULL && strlen(sources[i]) == (size_t)(colon - src) &&
			    strncmp(sources[i], src, (size_t)(colon - src)) == 0)
				break;
		if (i == sizeof sources / sizeof sources[0]) {
			snprintf(err, errsize,
				 "invalid rule \"%s\": expected regex:SOURCE:ERE with SOURCE one of host, path, referer, client, user_agent",
				 spec);
			return -1;
		}
		r->kind = PA_RULE_REGEX;
		r->source = (enum pa_rule_source)i;
		rc = regcomp(&r->re, colon + 1, REG_EXTENDED);
		if (rc != 0) {
			char msg[120];

			regerror(rc, &r->re, msg, sizeof msg);
			snprintf(err, errsize, "invalid regex \"%s\": %s", colon + 1, msg);
			r->kind = PA_RULE_VALUE;
			return -1;
		}
	} else {
		const char *v = strncmp(spec, "value:", 6) == 0 ? spec + 6 : spec;
		const char *colon = strchr(spec, ':');
		char clean[PA_NAME_MAX];

		/*
		 * A word and a colon reads as a rule kind, so a misspelled one
		 * ("feild:host") fails here rather than naming every request
		 * after the text.  value:TEXT takes a fixed text with a colon.
		 */
		if (v == spec && colon != NULL && colon > spec &&
		    strspn(spec, "abcdefghijklmnopqrstuvwxyz_") == (size_t)(colon - spec)) {
			snprintf(err, errsize, "unknown rule kind \"%.*s\" in \"%s\" (use host, "
				 "subdomain, referer, path, path:N, field:NAME, regex:SOURCE:ERE, or "
				 "value:TEXT for a fixed text)", (int)(colon - spec), spec, spec);
			return -1;
		}

		if (pa_name_clean(v, strlen(v), 0, clean) == 0) {
			snprintf(err, errsize, "invalid rule \"%s\": the fixed value is empty", spec);
			return -1;
		}
		r->kind = PA_RULE_VALUE;
		r->arg = pa_xstrdup(clean);
	}
	return 0;
}

int
pa_tenancy_add_rule(struct pa_tenancy *t, int service, const char *spec, char *err,
		    size_t errsize)
{
	struct pa_rule *rules = service ? t->service : t->tenant;
	int *n = service ? &t->nservice : &t->ntenant;

	/* The first rule given replaces the default chain. */
	if (!t->custom[service]) {
		for (int i = 0; i < *n; i++)
			rule_free(&rules[i]);
		*n = 0;
		t->custom[service] = 1;
	}
	if (*n == PA_MAX_RULES) {
		snprintf(err, errsize, "more than %d rules for the %s", PA_MAX_RULES,
			 service ? "service" : "tenant");
		return -1;
	}
	if (pa_rule_parse(spec, &rules[*n], err, errsize) != 0)
		return -1;
	(*n)++;
	return 0;
}

size_t
pa_name_clean(const char *s, size_t len, int fold, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o < PA_NAME_MAX - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '.' || c == '_' || c == '-') {
			out[o++] = fold ? (char)tolower(c) : (char)c;
		} else if (o > 0 && out[o - 1] != '-') {
			out[o++] = '-';
		}
	}
	while (o > 0 && out[o - 1] == '-')
		o--;
	out[o] = '\0';
	return o;
}

/* The host part of a Host header value: no port, no trailing dot. */
static struct pa_span
host_name(struct pa_span h)
{
	struct pa_span out = h;

	if (h.p == NULL)
		return out;
	if (h.len > 0 && h.p[0] == '[') {
		const char *rb = memchr(h.p, ']', h.len);

		if (rb != NULL) {
			out.p = h.p + 1;
			out.len = (size_t)(rb - h.p) - 1;
		}
		return out;
	}
	const char *colon = memchr(h.p, ':', h.len);

	/* Exactly one colon means a port follows, while more mean a bare IPv6 address. */
	if (colon != NULL && memchr(colon + 1, ':', h.len - (size_t)(colon - h.p) - 1) == NULL)
		out.len = (size_t)(colon - h.p);
	if (out.len > 0 && out.p[out.len - 1] == '.')
		out.len--;
	return out;
}

/* The host of an absolute URL such as a Referer. */
static struct pa_span
url_host(struct pa_span u)
{
	struct pa_span out = { NULL, 0 };
	const char *p;

	if (u.p == NULL)
		return out;
	p = memchr(u.p, ':', u.len);
	if (p == NULL || (size_t)(p - u.p) + 3 > u.len || p[1] != '/' || p[2] != '/')
		return out;
	p += 3;
	out.p = p;
	while ((size_t)(p - u.p) < u.len && *p != '/' && *p != '?' && *p != '#')
		p++;
	out.len = (size_t)(p - out.p);
	/* Drop user:password@ */
	const char *at = memchr(out.p, '@', out.len);

	if (at != NULL) {
		out.len -= (size_t)(at + 1 - out.p);
		out.p = at + 1;
	}
	return host_name(out);
}

static int
is_ip_literal(struct pa_span s)
{
	size_t digits = 0, dots = 0;

	if (memchr(s.p, ':', s.len) != NULL)
		return 1;
	for (size_t i = 0; i < s.len; i++) {
		if (isdigit((unsigned char)s.p[i]))
			digits++;
		else if (s.p[i] == '.')
			dots++;
	}
	return dots == 3 && digits + dots == s.len;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Clean one path segment after undoing its percent-encoding ("A%20B" is "a-b"). */
static size_t
clean_segment(const char *s, size_t len, char *out)
{
	char buf[256];
	size_t n = 0;

	for (size_t i = 0; i < len && n < sizeof buf; i++) {
		if (s[i] == '%' && i + 2 < len && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
			buf[n++] = (char)(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
			i += 2;
		} else {
			buf[n++] = s[i];
		}
	}
	return pa_name_clean(buf, n, 1, out);
}

static size_t
path_rule(const struct pa_rule *r, struct pa_span path, int service, char *out)
{
	const char *p = path.p, *end = path.p + path.len;
	int seg = 0;

	if (p == NULL)
		return 0;
	while (p < end) {
		const char *s, *e;

		while (p < end && *p == '/')
			p++;
		if (p == end)
			break;
		s = p;
		while (p < end && *p != '/')
			p++;
		e = p;
		if (++seg < r->segment)
			continue;
		/* A file in the site root is not a service of its own. */
		if (e == end && r->segment == 1 && memchr(s, '.', (size_t)(e - s)) != NULL)
			break;
		return clean_segment(s, (size_t)(e - s), out);
	}
	if (r->segment == 1 && service) {
		memcpy(out, "root", 5);
		return 4;
	}
	return 0;
}

static struct pa_span
source_span(const struct pa_rule_input *in, enum pa_rule_source src)
{
	switch (src) {
	case PA_SRC_HOST: return in->host;
	case PA_SRC_PATH: return in->path;
	case PA_SRC_REFERER: return in->referer;
	case PA_SRC_CLIENT: return in->client;
	case PA_SRC_USER_AGENT: return in->user_agent;
	}
	return in->host;
}

static size_t
apply_rule(const struct pa_rule *r, const struct pa_rule_input *in, int service, char *out)
{
	struct pa_span s;

	switch (r->kind) {
	case PA_RULE_VALUE:
		return pa_name_clean(r->arg, strlen(r->arg), 0, out);
	case PA_RULE_HOST:
		s = host_name(in->host);
		/* A request to a bare IP address names no tenant. */
		if (s.p == NULL || is_ip_literal(s))
			return 0;
		return pa_name_clean(s.p, s.len, 1, out);
	case PA_RULE_SUBDOMAIN: {
		const char *dot1, *dot2;

		s = host_name(in->host);
		if (s.p == NULL || (dot1 = memchr(s.p, '.', s.len)) == NULL)
			return 0;
		dot2 = memchr(dot1 + 1, '.', s.len - (size_t)(dot1 + 1 - s.p));
		if (dot2 == NULL || isdigit((unsigned char)s.p[s.len - 1]))
			return 0;	/* two labels, or an IPv4 address */
		return pa_name_clean(s.p, (size_t)(dot1 - s.p), 1, out);
	}
	case PA_RULE_REFERER:
		s = url_host(in->referer);
		return s.p ? pa_name_clean(s.p, s.len, 1, out) : 0;
	case PA_RULE_PATH:
		return path_rule(r, in->path, service, out);
	case PA_RULE_FIELD: {
		size_t len;
		const char *v = in->field ? in->field(in->field_ctx, r->arg, &len) : NULL;

		return v ? pa_name_clean(v, len, 0, out) : 0;
	}
	case PA_RULE_REGEX: {
		char buf[1024];
		regmatch_t m[2];

		s = source_span(in, r->source);
		if (s.p == NULL)
			return 0;
		/* regexec needs a NUL-terminated string, so a long value is matched on its first 1023 bytes. */
		size_t n = s.len < sizeof buf - 1 ? s.len : sizeof buf - 1;

		memcpy(buf, s.p, n);
		buf[n] = '\0';
		if (regexec(&r->re, buf, 2, m, 0) != 0)
			return 0;
		int g = m[1].rm_so >= 0 ? 1 : 0;

		return pa_name_clean(buf + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so),
				     r->source != PA_SRC_CLIENT && r->source != PA_SRC_USER_AGENT, out);
	}
	}
	return 0;
}

static unsigned long long
map_hash(const char *s, size_t len)
{
	return pa_hash64(s, len);
}

static const struct pa_map_entry *
map_find(const struct pa_tenancy *t, const char *key, size_t len)
{
	size_t i;

	if (t->map_size == 0)
		return NULL;
	i = (size_t)(map_hash(key, len) & (t->map_size - 1));
	while (t->map[i].key != NULL) {
		if (strlen(t->map[i].key) == len && memcmp(t->map[i].key, key, len) == 0)
			return &t->map[i];
		i = (i + 1) & (t->map_size - 1);
	}
	return NULL;
}

static void
map_insert(struct pa_tenancy *t, const char *key, const char *tenant, const char *service,
	   long line)
{
	size_t i, len = strlen(key);

	if (t->map_size == 0 || (t->map_count + 1) * 2 > t->map_size) {
		struct pa_map_entry *old = t->map;
		size_t oldsize = t->map_size;

		t->map_size = oldsize ? oldsize * 2 : 64;
		t->map = calloc(t->map_size, sizeof *t->map);
		if (t->map == NULL)
			pa_die(PA_EXIT_IO, "out of memory");
		t->map_count = 0;
		for (size_t k = 0; k < oldsize; k++)
			if (old[k].key != NULL) {
				map_insert(t, old[k].key, old[k].tenant, old[k].service,
					   old[k].line);
				free(old[k].key);
			}
		free(old);
	}
	i = (size_t)(map_hash(key, len) & (t->map_size - 1));
	while (t->map[i].key != NULL) {
		if (strcmp(t->map[i].key, key) == 0)
			break;	/* a later line wins */
		i = (i + 1) & (t->map_size - 1);
	}
	if (t->map[i].key == NULL) {
		t->map[i].key = pa_xstrdup(key);
		t->map_count++;
	}
	snprintf(t->map[i].tenant, PA_NAME_MAX, "%s", tenant);
	snprintf(t->map[i].service, PA_NAME_MAX, "%s", service);
	t->map[i].line = line;
}

int
pa_tenancy_load_map(struct pa_tenancy *t, const char *path, char *err, size_t errsize)
{
	FILE *fp = fopen(path, "r");
	char line[1024];
	long lineno = 0;

	if (fp == NULL) {
		snprintf(err, errsize, "%s: cannot open map file: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		char key[256], value[256], extra[2];
		char *slash;
		const struct pa_map_entry *earlier;
		char tenant[PA_NAME_MAX], service[PA_NAME_MAX];
		int n;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errsize, "%s:%ld: line longer than %zu bytes", path, lineno,
				 sizeof line - 2);
			fclose(fp);
			return -1;
		}
		n = sscanf(line, "%255s %255s %1s", key, value, extra);
		if (n <= 0 || key[0] == '#')
			continue;
		slash = strchr(value, '/');
		if (n != 2 || strchr(key, '/') == NULL || slash == NULL) {
			snprintf(err, errsize, "%s:%ld: invalid map line %s: expected a key "
				 "TENANT/SERVICE or TENANT/* and a value TENANT/SERVICE, where * "
				 "in the value keeps that part", path, lineno,
				 pa_quote(line, strcspn(line, "\r\n")));
			fclose(fp);
			return -1;
		}
		*slash = '\0';
		if (strcmp(value, "*") == 0)
			snprintf(tenant, sizeof tenant, "*");
		else
			pa_name_clean(value, strlen(value), 0, tenant);
		if (strcmp(slash + 1, "*") == 0)
			snprintf(service, sizeof service, "*");
		else
			pa_name_clean(slash + 1, strlen(slash + 1), 0, service);
		if (tenant[0] == '\0' || service[0] == '\0') {
			snprintf(err, errsize, "%s:%ld: empty tenant or service in \"%s/%s\"", path,
				 lineno, value, slash + 1);
			fclose(fp);
			return -1;
		}
		if ((earlier = map_find(t, key, strlen(key))) != NULL)
			pa_warn("%s:%ld: map key %s repeats line %ld; this later line wins", path,
				lineno, pa_quote(key, strlen(key)), earlier->line);
		map_insert(t, key, tenant, service, lineno);
	}
	if (ferror(fp)) {
		snprintf(err, errsize, "%s: read failed: %s", path, strerror(errno));
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return 0;
}

void
pa_tenancy_map(const struct pa_tenancy *t, char *tenant, char *service)
{
	char key[2 * PA_NAME_MAX + 1];
	size_t tl = strlen(tenant), sl = strlen(service);
	const struct pa_map_entry *e;

	if (t->map_count == 0)
		return;
	memcpy(key, tenant, tl);
	key[tl] = '/';
	memcpy(key + tl + 1, service, sl + 1);
	e = map_find(t, key, tl + 1 + sl);
	if (e == NULL) {
		key[tl + 1] = '*';
		e = map_find(t, key, tl + 2);
	}
	if (e == NULL)
		return;
	if (strcmp(e->tenant, "*") != 0)
		memcpy(tenant, e->tenant, strlen(e->tenant) + 1);
	if (strcmp(e->service, "*") != 0)
		memcpy(service, e->service, strlen(e->service) + 1);
}

void
pa_tenancy_resolve(const struct pa_tenancy *t, const struct pa_rule_input *in, char *tenant,
		   char *service)
{
	int i;

	tenant[0] = service[0] = '\0';
	for (i = 0; i < t->ntenant; i++)
		if (apply_rule(&t->tenant[i], in, 0, tenant) > 0)
			break;
	if (tenant[0] == '\0')
		memcpy(tenant, t->fallback_tenant, strlen(t->fallback_tenant) + 1);
	for (i = 0; i < t->nservice; i++)
		if (apply_rule(&t->service[i], in, 1, service) > 0)
			break;
	if (service[0] == '\0')
		memcpy(service, t->fallback_service, strlen(t->fallback_service) + 1);
	pa_tenancy_map(t, tenant, service);
}

int
pa_tenancy_add_template(struct pa_tenancy *t, const char *text, char *err, size_t errsize)
{
	struct pa_path_template *pt;
	char *p;

	if (t->ntemplates == PA_MAX_TEMPLATES) {
		snprintf(err, errsize, "more than %d path templates", PA_MAX_TEMPLATES);
		return -1;
	}
	if (text[0] != '/') {
		snprintf(err, errsize, "invalid path template \"%s\": it must start with \"/\"", text);
		return -1;
	}
	pt = &t->templates[t->ntemplates];
	pt->text = pa_xstrdup(text);
	pt->nseg = 0;
	p = pt->copy = pa_xstrdup(text);
	for (char *s = strtok(p, "/"); s != NULL; s = strtok(NULL, "/")) {
		if (pt->nseg == 32) {
			snprintf(err, errsize, "path template \"%s\" has more than 32 segments", text);
			free(pt->copy);
			free(pt->text);
			return -1;
		}
		pt->seg[pt->nseg++] = s;
	}
	t->ntemplates++;
	return 0;
}

static int
is_hex(char c)
{
	return isxdigit((unsigned char)c) != 0;
}

/* True for an id: all digits, a UUID, or 16 or more hex digits. */
static int
looks_like_id(const char *s, size_t n)
{
	size_t digits = 0, hex = 0;

	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		if (is_hex(s[i]))
			hex++;
	}
	if (n > 0 && digits == n)
		return 1;
	if (n == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' && hex == 32)
		return 1;
	return n >= 16 && hex == n && digits > 0;
}

static int
template_match(const struct pa_path_template *pt, const char *path, size_t len)
{
	const char *p = path, *end = path + len;
	int k = 0;

	while (p < end) {
		const char *s;

		while (p < end && *p == '/')
			p++;
		if (p == end)
			break;
		s = p;
		while (p < end && *p != '/')
			p++;
		if (k == pt->nseg)
			return 0;
		if (pt->seg[k][0] != '{' &&
		    (strlen(pt->seg[k]) != (size_t)(p - s) || memcmp(pt->seg[k], s, (size_t)(p - s)) != 0))
			return 0;
		k++;
	}
	return k == pt->nseg;
}

static int
has_digit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] >= '0' && s[i] <= '9')
			return 1;
	return 0;
}

size_t
pa_path_normalise(const struct pa_tenancy *t, const char *path, size_t len, char *out,
		  size_t outsize)
{
	size_t o = 0;

	for (int i = 0; i < t->ntemplates; i++) {
		if (template_match(&t->templates[i], path, len)) {
			size_t n = strlen(t->templates[i].text);

			if (n >= outsize)
				n = outsize - 1;
			memcpy(out, t->templates[i].text, n);
			out[n] = '\0';
			return n;
		}
	}
	/* Every id form contains a digit, so most paths are copied as they are. */
	if (t->keep_ids || !has_digit(path, len)) {
		o = len < outsize ? len : outsize - 1;
		memcpy(out, path, o);
		out[o] = '\0';
		return o;
	}
	for (size_t i = 0; i < len && o + 5 < outsize;) {
		size_t j = i;

		if (path[i] == '/') {
			out[o++] = '/';
			i++;
			continue;
		}
		while (j < len && path[j] != '/')
			j++;
		if (!t->keep_ids && looks_like_id(path + i, j - i)) {
			memcpy(out + o, "{id}", 4);
			o += 4;
		} else {
			size_t n = j - i;

			if (o + n >= outsize)
				n = outsize - 1 - o;
			memcpy(out + o, path + i, n);
			o += n;
		}
		i = j;
	}
	out[o] = '\0';
	return o;
}
