/* kube.c - Kubernetes names, shell quoting, kubectl argv, running commands, journal. */
#include "kube.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "lockfile.h"
#include "ndjson.h"

/* A byte for a message: printable as itself, anything else as \xNN. */
static const char *
show_byte(unsigned char c, char *buf, size_t size)
{
	if (c >= 0x21 && c < 0x7f && c != '"' && c != '\\')
		snprintf(buf, size, "\"%c\"", c);
	else
		snprintf(buf, size, "\"\\x%02x\"", c);
	return buf;
}

static int
is_lower_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * One dot-free part of a DNS-1123 name: lower case letters, digits and
 * '-', starting and ending with a letter or digit.  pos is the offset of
 * the part in the whole name and name_len the whole name's length, for
 * the message.
 */
static int
check_label_chars(const char *s, size_t len, size_t pos, size_t name_len, char *why,
		  size_t whysize)
{
	char b[16], label[300];

	if (len == 0) {
		snprintf(why, whysize, "has an empty part at position %zu", pos + 1);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z') {
			snprintf(why, whysize,
				 "contains upper case %s at position %zu (names are not lowercased)",
				 show_byte(c, b, sizeof b), pos + i + 1);
			return -1;
		}
		if (!is_lower_alnum(c) && c != '-') {
			snprintf(why, whysize, "contains %s at position %zu",
				 show_byte(c, b, sizeof b), pos + i + 1);
			return -1;
		}
	}

	/* The rule applies to each label of a dotted name, so the message names the bad one. */
	label[0] = '\0';
	if (len < name_len)
		snprintf(label, sizeof label, "label %s at position %zu ", pa_quote(s, len),
			 pos + 1);
	if (s[0] == '-') {
		snprintf(why, whysize, "%smust start with a letter or digit", label);
		return -1;
	}
	if (s[len - 1] == '-') {
		snprintf(why, whysize, "%smust end with a letter or digit", label);
		return -1;
	}
	return 0;
}

int
pa_dns1123_label(const char *s, char *why, size_t whysize)
{
	size_t len = strlen(s);

	if (len == 0) {
		snprintf(why, whysize, "is empty");
		return -1;
	}
	if (len > PA_DNS1123_LABEL_MAX) {
		snprintf(why, whysize, "is %zu characters, longer than %d", len,
			 PA_DNS1123_LABEL_MAX);
		return -1;
	}
	if (memchr(s, '.', len) != NULL) {
		snprintf(why, whysize, "contains \".\" at position %zu",
			 (size_t)((const char *)memchr(s, '.', len) - s) + 1);
		return -1;
	}
	return check_label_chars(s, len, 0, len, why, whysize);
}

int
pa_dns1123_subdomain(const char *s, char *why, size_t whysize)
{
	size_t len = strlen(s), start = 0;

	if (len == 0) {
		snprintf(why, whysize, "is empty");
		return -1;
	}
	if (len > PA_DNS1123_SUBDOMAIN_MAX) {
		snprintf(why, whysize, "is %zu characters, longer than %d", len,
			 PA_DNS1123_SUBDOMAIN_MAX);
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (check_label_chars(s + start, i - start, start, len, why, whysize) != 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

int
pa_kube_target_check(const char *target, char *why, size_t whysize)
{
	const char *slash = strchr(target, '/');
	char b[16];

	if (slash == NULL || slash == target) {
		snprintf(why, whysize, "is not TYPE/NAME");
		return -1;
	}
	for (const char *p = target; p < slash; p++) {
		if (!is_lower_alnum((unsigned char)*p) && *p != '.') {
			snprintf(why, whysize, "has %s in its resource type",
				 show_byte((unsigned char)*p, b, sizeof b));
			return -1;
		}
	}
	if (pa_dns1123_subdomain(slash + 1, why, whysize) != 0) {
		char rule[200];

		snprintf(rule, sizeof rule, "%s", why);
		snprintf(why, whysize, "name is not a DNS-1123 subdomain: %s", rule);
		return -1;
	}
	return 0;
}

char *
pa_sh_quote(const char *s)
{
	size_t n = 3;
	char *q, *o;

	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	q = o = pa_xrealloc(NULL, n);
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return q;
}

/* The placeholder at p ("{tenant}"), its length in *len; 0 tenant, 1 service, -1 none. */
static int
placeholder_at(const char *p, size_t *len)
{
	if (strncmp(p, "{tenant}", 8) == 0) {
		*len = 8;
		return 0;
	}
	if (strncmp(p, "{service}", 9) == 0) {
		*len = 9;
		return 1;
	}
	return -1;
}

int
pa_template_check(const char *tmpl, char *why, size_t whysize)
{
	size_t len;

	for (const char *p = tmpl; *p; p++) {
		if (*p == '}') {
			snprintf(why, whysize, "has an unmatched \"}\"");
			return -1;
		}
		if (*p != '{')
			continue;
		if (placeholder_at(p, &len) < 0) {
			const char *end = strchr(p, '}');

			if (end == NULL)
				snprintf(why, whysize, "has an unmatched \"{\"");
			else
				snprintf(why, whysize,
					 "has unknown placeholder %s (known: {tenant}, {service})",
					 pa_quote(p, (size_t)(end - p) + 1));
			return -1;
		}
		p += len - 1;
	}
	return 0;
}

char *
pa_template_expand(const char *tmpl, const char *tenant, const char *service)
{
	size_t cap = strlen(tmpl) + strlen(tenant) * 4 + strlen(service) * 4 + 1;
	char *out = pa_xrealloc(NULL, cap), *o = out;
	size_t len;
	int which;

	for (const char *p = tmpl; *p;) {
		which = *p == '{' ? placeholder_at(p, &len) : -1;
		if (which < 0) {
			*o++ = *p++;
			continue;
		}
		const char *v = which == 0 ? tenant : service;
		size_t vlen = strlen(v), used = (size_t)(o - out);

		if (used + vlen + strlen(p) + 1 > cap) {
			cap = used + vlen + strlen(p) + 1;
			out = pa_xrealloc(out, cap);
			o = out + used;
		}
		memcpy(o, v, vlen);
		o += vlen;
		p += len;
	}
	*o = '\0';
	return out;
}

void
pa_argv_push(struct pa_argv *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = pa_xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = pa_xstrdup(s);
	a->v[a->n] = NULL;
}

void
pa_argv_free(struct pa_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

char *
pa_argv_render(const struct pa_argv *a)
{
	size_t len = 0, cap = 64;
	char *line = pa_xrealloc(NULL, cap);

	line[0] = '\0';
	for (size_t i = 0; i < a->n; i++) {
		char *q = pa_sh_quote(a->v[i]);
		size_t qlen = strlen(q);

		if (len + qlen + 2 > cap) {
			cap = (len + qlen + 2) * 2;
			line = pa_xrealloc(line, cap);
		}
		if (i > 0)
			line[len++] = ' ';
		memcpy(line + len, q, qlen + 1);
		len += qlen;
		free(q);
	}
	return line;
}

void
pa_kube_argv_start(struct pa_argv *a, const struct pa_kube_conf *conf, const char *ns)
{
	pa_argv_push(a, conf->kubectl);
	if (conf->context != NULL) {
		pa_argv_push(a, "--context");
		pa_argv_push(a, conf->context);
	}
	if (conf->timeout != NULL) {
		pa_argv_push(a, "--request-timeout");
		pa_argv_push(a, conf->timeout);
	}
	if (ns != NULL) {
		pa_argv_push(a, "--namespace");
		pa_argv_push(a, ns);
	}
}

/* Append what is readable on fd to buf, up to PA_RUN_CAPTURE; returns 0 at end of file. */
static int
drain_fd(int fd, char **buf, size_t *len, int *cut)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof chunk);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	size_t keep = (size_t)n;

	if (*len + keep > PA_RUN_CAPTURE) {
		keep = PA_RUN_CAPTURE - *len;
		*cut = 1;
	}
	*buf = pa_xrealloc(*buf, *len + keep + 1);
	memcpy(*buf + *len, chunk, keep);
	*len += keep;
	(*buf)[*len] = '\0';
	return 1;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
pa_run(const struct pa_argv *argv, long timeout_ms, struct pa_run_result *res)
{
	int outp[2], errp[2], st;
	long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	pid_t pid;

	assert(argv->n > 0);
	memset(res, 0, sizeof *res);
	res->out = pa_xstrdup("");
	res->err = pa_xstrdup("");
	if (pipe(outp) != 0)
		return -1;
	if (pipe(errp) != 0) {
		close(outp[0]);
		close(outp[1]);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(outp[0]);
		close(outp[1]);
		close(errp[0]);
		close(errp[1]);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(outp[1], 1);
		dup2(errp[1], 2);
		close(outp[0]);
		close(errp[0]);
		execvp(argv->v[0], argv->v);
		dprintf(2, "cannot run %s: %s", argv->v[0], strerror(errno));
		_exit(127);
	}
	close(outp[1]);
	close(errp[1]);

	/* Read both pipes together so a child filling one never blocks on the other. */
	struct pollfd pfd[2] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 } };
	int open_fds = 2;

	setpgid(pid, pid);	/* also here, so the group exists before a kill */
	while (open_fds > 0) {
		int wait_ms = -1, ready;

		if (deadline > 0) {
			long long left = deadline - now_ms();

			if (left <= 0) {
				kill(-pid, SIGKILL);
				res->timed_out = 1;
				break;
			}
			wait_ms = left > 1000 ? 1000 : (int)left;
		}
		ready = poll(pfd, 2, wait_ms);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			int more = i == 0 ? drain_fd(pfd[i].fd, &res->out, &res->out_len, &res->out_cut)
					  : drain_fd(pfd[i].fd, &res->err, &res->err_len, &res->err_cut);

			if (!more) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		res->status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		res->status = 128 + WTERMSIG(st);
	else
		res->status = 255;
	return 0;
}

void
pa_run_result_free(struct pa_run_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

struct pa_journal {
	int fd;				/* -1 when appending: opened per record */
	int lock_fd;			/* holds the flock on PATH.lock until closed */
	char *path;
	char *tmp;			/* written and renamed to path; NULL when appending */
};

/* Take the lock on path.lock; returns its descriptor, or -1 after reporting an error. */
static int
lock_journal(const char *path)
{
	char err[4096 + 200];
	int fd = pa_lock_beside(path, "journal", "another pa-apply run", err, sizeof err);

	if (fd < 0)
		pa_warn("%s", err);
	return fd;
}

/*
 * The temporary file gets a name of its own, PATH.tmp.XXXXXX, so that no
 * other process can write or rename it.  mkstemp creates it with mode
 * 0600, so it is given the mode that open would give a new file under the
 * umask.
 */
struct pa_journal *
pa_journal_open(const char *path)
{
	struct pa_journal *j = pa_xrealloc(NULL, sizeof *j);
	size_t n = strlen(path) + 12;
	mode_t mask;

	j->path = pa_xstrdup(path);
	j->tmp = pa_xrealloc(NULL, n);
	snprintf(j->tmp, n, "%s.tmp.XXXXXX", path);
	j->fd = mkstemp(j->tmp);
	if (j->fd < 0) {
		pa_warn("%s: cannot open journal: cannot create a temporary file beside it: %s",
			path, strerror(errno));
		free(j->path);
		free(j->tmp);
		free(j);
		return NULL;
	}
	mask = umask(0);
	umask(mask);
	fchmod(j->fd, 0644 & ~mask);
	fcntl(j->fd, F_SETFD, FD_CLOEXEC);	/* kept from the kubectl children */
	j->lock_fd = lock_journal(path);
	if (j->lock_fd < 0) {
		close(j->fd);
		unlink(j->tmp);
		free(j->path);
		free(j->tmp);
		free(j);
		return NULL;
	}
	return j;
}

/*
 * The file is opened again for each record, so a journal renamed away by
 * logrotate is followed by a new one at path.  Opening it once here
 * reports a path that cannot be written before any command runs.
 */
struct pa_journal *
pa_journal_open_append(const char *path)
{
	struct pa_journal *j;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int lock_fd;

	if (fd < 0) {
		pa_warn("%s: cannot open journal: %s", path, strerror(errno));
		return NULL;
	}
	close(fd);
	lock_fd = lock_journal(path);
	if (lock_fd < 0)
		return NULL;
	j = pa_xrealloc(NULL, sizeof *j);
	j->fd = -1;
	j->lock_fd = lock_fd;
	j->path = pa_xstrdup(path);
	j->tmp = NULL;
	return j;
}

static int
write_all(int fd, const char *text, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/*
 * Each record goes out in one write(2) of the whole line, so a process
 * killed between records never leaves half a line, and in append mode the
 * line lands at the end even when another writer appended meanwhile.
 */
int
pa_journal_write(struct pa_journal *j, const json_t *rec)
{
	const char *name = j->tmp ? j->tmp : j->path;
	char *text = json_dumps(rec, PA_JSON_FLAGS);
	size_t len;
	int fd = j->fd, rc;

	if (text == NULL) {
		pa_warn("%s: journal write failed: out of memory", name);
		return -1;
	}
	len = strlen(text);
	text = pa_xrealloc(text, len + 1);
	text[len++] = '\n';
	if (fd < 0)
		fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	rc = fd < 0 ? -1 : write_all(fd, text, len);
	if (rc != 0)
		pa_warn("%s: journal write failed: %s", name, strerror(errno));
	if (j->fd < 0 && fd >= 0 && close(fd) != 0 && rc == 0) {
		pa_warn("%s: journal write failed: %s", name, strerror(errno));
		rc = -1;
	}
	free(text);
	return rc;
}

int
pa_journal_close(struct pa_journal *j)
{
	const char *name = j->tmp ? j->tmp : j->path;
	int rc = 0;

	if (j->fd >= 0 && close(j->fd) != 0) {
		pa_warn("%s: journal write failed: %s", name, strerror(errno));
		rc = PA_JOURNAL_LOST;
	} else if (j->tmp != NULL && rename(j->tmp, j->path) != 0) {
		pa_warn("%s: cannot rename the journal to %s: %s, so its records stay in %s",
			j->tmp, j->path, strerror(errno), j->tmp);
		rc = PA_JOURNAL_NOT_RENAMED;
	}
	close(j->lock_fd);
	free(j->path);
	free(j->tmp);
	free(j);
	return rc;
}
