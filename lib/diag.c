#include "diag.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *pa_prog = "pa";

#define MAX_CLASSES 64

static struct {
	const char *reason;
	long count;
} classes[MAX_CLASSES];
static int nclasses;
static long other_rejects;	/* rejects beyond MAX_CLASSES distinct reasons */

static long nread, nrejected;
static long nshown;		/* reject messages printed */
static long nhidden;		/* reject messages neither printed nor folded */
static FILE *rejects;
static const char *rejects_path;
static struct stat rejects_st;	/* the rejects file as opened */
static int rejects_pending;	/* opened but not emptied yet */

/*
 * A printed reject message that later rejects repeat, between
 * pa_diag_fold_begin and pa_diag_fold_end.  Only printed messages are
 * kept, so there are at most PA_DIAG_SHOWN of them.
 */
static struct fold {
	char *where;
	char *text;		/* the message after "where:line: " */
	unsigned long hash;
	long repeats;		/* rejects after the printed one */
	long first_line, last_line;	/* lowest and highest line of those repeats */
} folds[PA_DIAG_SHOWN];
static int nfolds;
static int folding;

/*
 * Open /dev/null on each of descriptors 0-2 that is closed, so that no
 * file the tool opens later gets its number.  Otherwise, with standard
 * output closed, the records would go into the rejects or lock file that
 * took descriptor 1.  /dev/null is opened read-only, so writing to a closed
 * standard output still fails with EBADF (exit status 3), and a closed
 * standard input reads as empty.
 */
static void
fill_closed_std_fds(void)
{
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		int null_fd;

		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		null_fd = open("/dev/null", O_RDONLY);
		if (null_fd < 0)
			_exit(PA_EXIT_IO);	/* stderr may be the closed one, so no message */
		if (null_fd != fd) {
			if (dup2(null_fd, fd) < 0)
				_exit(PA_EXIT_IO);
			close(null_fd);
		}
	}
}

void
pa_diag_init(const char *prog)
{
	const char *slash = strrchr(prog, '/');

	fill_closed_std_fds();
	pa_prog = slash ? slash + 1 : prog;
}

/*
 * Print one message line.  Control characters are escaped as in
 * pa_quote, because series names and values come from the input: a
 * newline in a tenant name must not start a line that reads as another
 * message.
 */
static void
vwarn(const char *fmt, va_list ap)
{
	char small[1024], *text = small;
	va_list again;
	int len;

	va_copy(again, ap);
	len = vsnprintf(small, sizeof small, fmt, ap);
	if (len >= (int)sizeof small) {
		text = malloc((size_t)len + 1);
		if (text != NULL)
			vsnprintf(text, (size_t)len + 1, fmt, again);
		else
			text = small;	/* the cut message is still worth printing */
	}
	va_end(again);

	fprintf(stderr, "%s: ", pa_prog);
	for (const char *c = text; len > 0 && *c; c++) {
		unsigned char u = (unsigned char)*c;

		if (u < 0x20 || u == 0x7f)
			fprintf(stderr, "\\x%02x", u);
		else
			fputc(u, stderr);
	}
	fputc('\n', stderr);
	if (text != small)
		free(text);
}

void
pa_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void
pa_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(code);
}

void
pa_rejects_open(const char *path)
{
	/*
	 * Not truncated here: the inputs are not known yet, and one of them
	 * may be this very file (pa_rejects_start()).
	 */
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0 || fstat(fd, &rejects_st) != 0 || (rejects = fdopen(fd, "w")) == NULL)
		pa_die(PA_EXIT_IO, "%s: cannot open rejects file: %s", path, strerror(errno));
	rejects_path = path;
	rejects_pending = 1;

	/*
	 * Line-buffered, so a rejected line is in the file once its message
	 * is on stderr: a long-running --follow reader never leaves a cut-off
	 * line, and a killed one loses none.
	 */
	setvbuf(rejects, NULL, _IOLBF, 0);
}

/* Empty the rejects file before its first line, once. */
static void
rejects_empty(void)
{
	if (!rejects_pending)
		return;
	rejects_pending = 0;
	if (S_ISREG(rejects_st.st_mode) && ftruncate(fileno(rejects), 0) != 0)
		pa_die(PA_EXIT_IO, "%s: cannot empty rejects file: %s", rejects_path,
		       strerror(errno));
}

static int
same_file(const struct stat *st)
{
	return st->st_dev == rejects_st.st_dev && st->st_ino == rejects_st.st_ino;
}

void
pa_rejects_start(int nfiles, char *const *files)
{
	struct stat st;

	if (rejects == NULL || !rejects_pending)
		return;

	/* Only a regular file is emptied, so only one can lose its lines. */
	if (S_ISREG(rejects_st.st_mode)) {
		for (int i = 0; i < nfiles; i++) {
			if (strcmp(files[i], "-") == 0)
				continue;
			if (stat(files[i], &st) == 0 && same_file(&st))
				pa_die(PA_EXIT_USAGE, "rejects file %s is also the input %s; give "
				       "--rejects a file of its own", rejects_path, files[i]);
		}
		if (fstat(STDIN_FILENO, &st) == 0 && same_file(&st))
			pa_die(PA_EXIT_USAGE, "rejects file %s is also the standard input; give "
			       "--rejects a file of its own", rejects_path);
	}
	rejects_empty();
}

static void
count_class(const char *reason, long n)
{
	for (int i = 0; i < nclasses; i++) {
		if (classes[i].reason == reason ||
		    strcmp(classes[i].reason, reason) == 0) {
			classes[i].count += n;
			return;
		}
	}
	if (nclasses == MAX_CLASSES) {
		other_rejects += n;
		return;
	}
	classes[nclasses].reason = reason;
	classes[nclasses].count = n;
	nclasses++;
}

void
pa_reject(const char *where, long lineno, const char *line, size_t len,
	  const char *reason_class, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pa_vreject(where, lineno, line, len, reason_class, fmt, ap);
	va_end(ap);
}

static unsigned long
text_hash(const char *where, const char *text)
{
	unsigned long h = 5381;

	for (const char *p = where; *p; p++)
		h = h * 33 ^ (unsigned char)*p;
	for (const char *p = text; *p; p++)
		h = h * 33 ^ (unsigned char)*p;
	return h;
}

/* Return the fold of a message already printed from where, or NULL. */
static struct fold *
find_fold(const char *where, const char *text, unsigned long hash)
{
	for (int i = 0; i < nfolds; i++)
		if (folds[i].hash == hash && strcmp(folds[i].text, text) == 0 &&
		    strcmp(folds[i].where, where) == 0)
			return &folds[i];
	return NULL;
}

int
pa_rejects_keep(const char *line, size_t len)
{
	if (rejects == NULL)
		return 0;
	rejects_empty();

	/* A line that cannot be kept would be lost, so the run stops here. */
	if (fwrite(line, 1, len, rejects) != len || fputc('\n', rejects) == EOF || ferror(rejects))
		pa_die(PA_EXIT_IO, "%s: write failed: %s", rejects_path, strerror(errno));
	return 1;
}

/*
 * Print or fold one reject message while folding is on.  The message is
 * formatted first, because whether it prints depends on its text.
 */
static void
fold_reject(const char *where, long lineno, const char *fmt, va_list ap)
{
	va_list again;
	char *text;
	int len;
	unsigned long hash;
	struct fold *f;

	va_copy(again, ap);
	len = vsnprintf(NULL, 0, fmt, ap);
	text = pa_xmalloc(len > 0 ? (size_t)len + 1 : 1);
	vsnprintf(text, len > 0 ? (size_t)len + 1 : 1, fmt, again);
	va_end(again);
	hash = text_hash(where, text);
	f = find_fold(where, text, hash);
	if (f != NULL) {
		if (f->repeats == 0 || lineno < f->first_line)
			f->first_line = lineno;
		if (f->repeats == 0 || lineno > f->last_line)
			f->last_line = lineno;
		f->repeats++;
		free(text);
		return;
	}
	if (nshown >= PA_DIAG_SHOWN) {
		nhidden++;
		free(text);
		return;
	}
	fprintf(stderr, "%s: %s:%ld: %s\n", pa_prog, where, lineno, text);
	nshown++;
	f = &folds[nfolds++];
	f->where = pa_xstrdup(where);
	f->text = text;
	f->hash = hash;
	f->repeats = 0;
}

void
pa_vreject(const char *where, long lineno, const char *line, size_t len,
	   const char *reason_class, const char *fmt, va_list ap)
{
	nrejected++;
	count_class(reason_class, 1);
	if (folding) {
		fold_reject(where, lineno, fmt, ap);
	} else if (nshown < PA_DIAG_SHOWN) {
		fprintf(stderr, "%s: %s:%ld: ", pa_prog, where, lineno);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		nshown++;
	} else {
		nhidden++;
	}
	if (line != NULL)
		pa_rejects_keep(line, len);
}

void
pa_diag_fold_begin(void)
{
	pa_diag_fold_end();
	folding = 1;
}

void
pa_diag_fold_end(void)
{
	for (int i = 0; i < nfolds; i++) {
		struct fold *f = &folds[i];

		if (f->repeats > 0 && f->first_line == f->last_line)
			pa_warn("%s:%ld: %ld more reject%s with the same message: %s", f->where,
				f->first_line, f->repeats, f->repeats == 1 ? "" : "s", f->text);
		else if (f->repeats > 0)
			pa_warn("%s:%ld-%ld: %ld more reject%s with the same message: %s", f->where,
				f->first_line, f->last_line, f->repeats, f->repeats == 1 ? "" : "s",
				f->text);
		free(f->where);
		free(f->text);
	}
	nfolds = 0;
	folding = 0;
}

void
pa_reject_records(long records, const char *reason_class)
{
	nrejected += records;
	count_class(reason_class, records);
}

int
pa_rejects_enabled(void)
{
	return rejects != NULL;
}

void
pa_rejects_copy(const char *line, size_t len)
{
	pa_rejects_keep(line, len);
}

void
pa_diag_count_read(void)
{
	nread++;
}

long
pa_diag_read(void)
{
	return nread;
}

long
pa_diag_rejected(void)
{
	return nrejected;
}

void
pa_warn_kind_missing(long consumed, const char *kind, const char *maker)
{
	if (consumed == 0 && nread > nrejected)
		pa_warn("no %s records in the input; %s makes them", kind, maker);
}

int
pa_diag_finish(double max_bad)
{
	pa_diag_fold_end();
	if (nhidden > 0)
		pa_warn("%ld more rejected lines not shown", nhidden);
	if (nrejected > 0) {
		for (int i = 0; i < nclasses; i++)
			pa_warn("rejected %ld: %s", classes[i].count, classes[i].reason);
		if (other_rejects > 0)
			pa_warn("rejected %ld: other reasons", other_rejects);
	}
	if (rejects != NULL) {
		rejects_empty();
		if (ferror(rejects) | fclose(rejects))
			pa_die(PA_EXIT_IO, "%s: write failed: %s", rejects_path,
			       strerror(errno));
		rejects = NULL;
	}
	if (nrejected > 0 && nread > 0 && (double)nrejected / (double)nread > max_bad) {
		pa_warn("rejected %ld of %ld records (%.1f%%), above --max-bad %g",
			nrejected, nread, 100.0 * (double)nrejected / (double)nread,
			max_bad);
		return PA_EXIT_DATA;
	}
	return PA_EXIT_OK;
}

void *
pa_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	return p;
}

void *
pa_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (p == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	return p;
}

void *
pa_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (q == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	return q;
}

char *
pa_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(pa_xmalloc(n), s, n);
}

const char *
pa_quote(const char *s, size_t len)
{
	/* Per thread, so pa-ingest's parser threads can quote values in messages. */
	static _Thread_local char buf[4][256];
	static _Thread_local int slot;
	char *out = buf[slot++ & 3];
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < len && o < 200; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 60) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			o += (size_t)snprintf(out + o, 8, "\\x%02x", c);
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
