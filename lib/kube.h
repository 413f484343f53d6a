/*
 * kube.h - Kubernetes object names, shell quoting, kubectl argument
 * vectors, running a command without a shell, and the apply journal.
 *
 * Tenant and service names come from logs, so every name that reaches
 * kubectl is checked against the DNS-1123 rules the API server applies and
 * is never rewritten: a lowercased name would point at a different object.
 * Strings returned by functions here are malloc'd and owned by the caller
 * unless noted.
 */
#ifndef PA_KUBE_H
#define PA_KUBE_H

#include <jansson.h>
#include <stddef.h>

#define PA_DNS1123_LABEL_MAX 63
#define PA_DNS1123_SUBDOMAIN_MAX 253

/*
 * Check s as a DNS-1123 label (namespaces) or subdomain (most object
 * names).  Return 0 when valid, otherwise -1 with the broken rule written
 * to why, such as: contains upper case "D" at position 23.
 */
int pa_dns1123_label(const char *s, char *why, size_t whysize);
int pa_dns1123_subdomain(const char *s, char *why, size_t whysize);

/*
 * Check "TYPE/NAME" (deployment/checkout, hpa/checkout): TYPE is a
 * resource type in lower case letters, digits and dots, NAME a DNS-1123
 * subdomain.  Same returns as pa_dns1123_label.
 */
int pa_kube_target_check(const char *target, char *why, size_t whysize);

/* Quote s for POSIX sh: always single quotes, with ' written as '\''. */
char *pa_sh_quote(const char *s);

/*
 * Name templates hold literal text and the placeholders {tenant} and
 * {service}.  pa_template_check returns 0, or -1 with the reason in why
 * for an unknown placeholder or an unmatched brace.  pa_template_expand
 * assumes a checked template.
 */
int pa_template_check(const char *tmpl, char *why, size_t whysize);
char *pa_template_expand(const char *tmpl, const char *tenant, const char *service);

/* A growing NULL-terminated argument vector; every element is owned. */
struct pa_argv {
	char **v;
	size_t n, cap;
};

void pa_argv_push(struct pa_argv *a, const char *s);
void pa_argv_free(struct pa_argv *a);

/* Render as one sh command line: every argument single-quoted, the program word too. */
char *pa_argv_render(const struct pa_argv *a);

/* kubectl program path and the optional --context and --request-timeout values. */
struct pa_kube_conf {
	const char *kubectl;
	const char *context;	/* NULL: kubectl's current context */
	const char *timeout;	/* NULL: kubectl's default */
};

/* Start a kubectl argument vector: program, --context, --namespace (ns may be NULL). */
void pa_kube_argv_start(struct pa_argv *a, const struct pa_kube_conf *conf, const char *ns);

/*
 * Output of a finished command.  out and err are NUL-terminated and hold
 * at most PA_RUN_CAPTURE bytes each; longer output is cut and marked in
 * out_cut / err_cut.  status is the exit status, 128+N for a signal, or
 * 127 when the program could not be started (err then gives the reason).
 */
#define PA_RUN_CAPTURE (256u * 1024u)

struct pa_run_result {
	int status;
	int timed_out;		/* killed after the timeout; status is then 128+SIGKILL */
	char *out, *err;
	size_t out_len, err_len;
	int out_cut, err_cut;
};

/*
 * Run argv with fork and execvp, no shell, stdin from /dev/null, in its own
 * process group.  After timeout_ms (0: none) the whole group is killed, so
 * a helper process that kubectl starts cannot keep it alive.  Returns 0, or
 * -1 when a pipe or fork failed.
 */
int pa_run(const struct pa_argv *argv, long timeout_ms, struct pa_run_result *res);
void pa_run_result_free(struct pa_run_result *res);

/*
 * Journal of executed commands, one NDJSON record per line.  Lines go to
 * a temporary file PATH.tmp.XXXXXX of this process as each command ends
 * (written at once, so a crash keeps the finished ones), and
 * pa_journal_close renames it to PATH.  pa_journal_open_append instead
 * appends to PATH itself, for a process that runs until stopped, whose
 * journal must be readable while it runs.  Both open functions take an
 * exclusive flock on PATH.lock, waiting with a message while another
 * process holds it, and keep it until pa_journal_close, so two runs on
 * one journal take turns.  The open functions return NULL and
 * pa_journal_write returns -1 after reporting an I/O error.
 */
struct pa_journal;

struct pa_journal *pa_journal_open(const char *path);
struct pa_journal *pa_journal_open_append(const char *path);
int pa_journal_write(struct pa_journal *j, const json_t *rec);	/* borrows rec */

/* Results of pa_journal_close other than 0. */
enum {
	PA_JOURNAL_LOST = -1,		/* a write failed: records may be missing */
	PA_JOURNAL_NOT_RENAMED = -2	/* the rename failed: every record is in the temporary file */
};

/*
 * Close the journal, rename its temporary file to PATH and release the
 * lock.  Returns 0, or after reporting the error PA_JOURNAL_LOST or
 * PA_JOURNAL_NOT_RENAMED.  The message for a failed rename names the
 * temporary file, which contains the records.
 */
int pa_journal_close(struct pa_journal *j);

#endif
