/*
 * accesslog.h - access-log formats: named presets and user templates.
 *
 * A format is compiled once from a template, either an Apache LogFormat
 * string ("%h %l %u %t \"%r\" %>s %b") or an nginx log_format string
 * ("$remote_addr - $remote_user [$time_local] \"$request\" ..."), into a
 * list of fields separated by literal text.  The presets (combined, common,
 * vhost_combined, nginx, alb, elb) are templates too.
 *
 * Parsing a line fills a struct pa_request whose strings point into the
 * line or into a caller-supplied scratch buffer; neither is copied, so the
 * request is valid only until the next line is parsed.
 */
#ifndef PA_ACCESSLOG_H
#define PA_ACCESSLOG_H

#include <stddef.h>

#include "timeutil.h"

/* Contents of one template field. */
enum pa_al_field {
	PA_AL_SKIP,		/* logged but not used */
	PA_AL_CLIENT,		/* %h, $remote_addr */
	PA_AL_CLIENT_PORT,	/* ip:port (load balancers); the port is dropped */
	PA_AL_TIME_CLF,		/* %t, $time_local: 10/Oct/2000:13:55:36 -0700 */
	PA_AL_TIME_ISO,		/* $time_iso8601 */
	PA_AL_TIME_EPOCH,	/* $msec: seconds with a fraction */
	PA_AL_REQUEST,		/* %r, $request: "GET /path HTTP/1.1" */
	PA_AL_METHOD,		/* %m, $request_method */
	PA_AL_URI,		/* %U, $request_uri */
	PA_AL_STATUS,		/* %>s, $status */
	PA_AL_BYTES_OUT,	/* %b, %O, $body_bytes_sent */
	PA_AL_BYTES_IN,		/* %I, $request_length */
	PA_AL_DUR_S,		/* %T, $request_time: seconds; several are summed */
	PA_AL_DUR_MS,		/* %{ms}T */
	PA_AL_DUR_US,		/* %D */
	PA_AL_HOST,		/* %v, %{Host}i, $host */
	PA_AL_REFERER,		/* %{Referer}i, $http_referer */
	PA_AL_USER_AGENT,	/* %{User-Agent}i, $http_user_agent */
	PA_AL_NAMED,		/* any other header or variable, kept for field: rules */
	PA_AL_NFIELDS
};

#define PA_AL_MAX_TOKENS 64
#define PA_AL_MAX_NAMED 8	/* named fields kept per format; later ones are skipped */

struct pa_al_token {
	enum pa_al_field field;
	int quoted;		/* the field sits between double quotes */
	char lit[32];		/* literal text that follows the field */
	size_t litlen;
	char name[32];		/* PA_AL_NAMED: canonical name (see pa_al_name_canon) */
	int slot;		/* PA_AL_NAMED: index into pa_request.named */
};

struct pa_logformat {
	char name[32];		/* preset name, or "template" */
	char lead[32];		/* literal text before the first field */
	size_t leadlen;
	int ntok;
	struct pa_al_token tok[PA_AL_MAX_TOKENS];
	unsigned have;		/* bit (1 << field) for every field present */
	int nnamed;
};

enum pa_al_syntax { PA_AL_APACHE, PA_AL_NGINX };

/* A string inside a parsed line; p == NULL when the field is absent or "-". */
struct pa_span {
	const char *p;
	size_t len;
};

struct pa_request {
	pa_usec_t ts;
	struct pa_span client, method, path, query, host, referer, user_agent;
	int status;		/* 0 when not logged */
	int has_bytes_out, has_bytes_in, has_duration;
	long long bytes_out, bytes_in;
	double duration_ms;
	struct pa_span named[PA_AL_MAX_NAMED];	/* values of the format's named fields */
	size_t end;		/* bytes the template read; text after it was extra fields */
	int ts_local;		/* ts was logged without a UTC offset and read as UTC */
};

/* The preset names, in the order auto-detection tries them. NULL-terminated. */
extern const char *const pa_logformat_presets[];

/* Load a preset by name.  Returns 0, or -1 when the name is unknown. */
int pa_logformat_preset(const char *name, struct pa_logformat *f);

/*
 * Compile a template.  Returns 0, or -1 with a message in err (which names
 * the option or field to fix).  A template must contain a timestamp field.
 */
int pa_logformat_compile(const char *template, enum pa_al_syntax syntax,
			 struct pa_logformat *f, char *err, size_t errsize);

/*
 * Parse one line (NUL-terminated, len bytes) with format f.  scratch must
 * hold at least len + 1 bytes; decoded quoted fields are written there.
 * Returns 0, or -1 with reason_class set to a fixed phrase (for the reject
 * summary) and err to the full message.
 */
int pa_logformat_parse(const struct pa_logformat *f, const char *line, size_t len,
		       char *scratch, struct pa_request *req,
		       const char **reason_class, char *err, size_t errsize);

/*
 * Set path, query and (for an absolute URI, when not yet set) host from a
 * request target such as "/p?q" or "http://h:80/p?q".  The spans point
 * into uri.
 */
void pa_request_set_uri(struct pa_request *req, const char *uri, size_t len);

/*
 * Canonical form of a header or variable name, so that Apache's
 * %{X-Tenant}i, nginx's $http_x_tenant and a rule's field:X-Tenant meet:
 * lower case, '_' as '-', and no "http-" in front.  Writes at most 31
 * bytes and a NUL into out (32 bytes).
 */
void pa_al_name_canon(const char *name, size_t len, char *out);

/* The value of the named field name in req, parsed with f; NULL when absent. */
const char *pa_request_named(const struct pa_logformat *f, const struct pa_request *req,
			     const char *name, size_t *len);

/* Set method, path and query from a request line "GET /p HTTP/1.1"; junk leaves them absent. */
void pa_request_set_line(struct pa_request *req, const char *line, size_t len);

#endif
