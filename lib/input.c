#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "diag.h"

#define CHUNK (256u * 1024u)

struct pa_reader {
	char *name;
	gzFile gz;
	char *buf;		/* holds [start, end) unread bytes */
	size_t cap, start, end;
	size_t max_line;
	long lineno;
	int eof;
	int first;		/* no line returned yet: a BOM here is silent */
	int utf16;
	int discarding;		/* skipping the rest of an over-long line */
	int follow;		/* hold a final line without newline: more may come */
};

struct pa_reader *
pa_reader_open(const char *path, size_t max_line)
{
	struct pa_reader *r;
	int fd;

	if (strcmp(path, "-") == 0) {
		fd = dup(STDIN_FILENO);
	} else {
		fd = open(path, O_RDONLY);
	}
	if (fd < 0) {
		pa_warn("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}

	r = calloc(1, sizeof *r);
	if (r == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	r->name = strdup(strcmp(path, "-") == 0 ? "<stdin>" : path);
	r->max_line = max_line ? max_line : PA_MAX_LINE_DEFAULT;
	r->cap = r->max_line + CHUNK + 1;
	r->buf = malloc(r->cap);
	r->first = 1;
	if (r->name == NULL || r->buf == NULL)
		pa_die(PA_EXIT_IO, "out of memory");

	/* gzdopen reads plain files transparently, so one path serves both. */
	r->gz = gzdopen(fd, "rb");
	if (r->gz == NULL) {
		close(fd);
		pa_warn("%s: cannot open: %s", r->name, strerror(errno));
		pa_reader_close(r);
		return NULL;
	}
	gzbuffer(r->gz, CHUNK);
	return r;
}

const char *
pa_reader_name(const struct pa_reader *r)
{
	return r->name;
}

int
pa_reader_is_utf16(const struct pa_reader *r)
{
	return r->utf16;
}

/* Read more input after the unread bytes.  Returns 0 at end of input, -1 on error. */
static int
fill(struct pa_reader *r)
{
	int n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->eof || r->end == r->cap - 1)
		return 0;
	n = gzread(r->gz, r->buf + r->end, (unsigned)(r->cap - 1 - r->end));
	if (n < 0) {
		int errnum;
		const char *msg = gzerror(r->gz, &errnum);

		pa_warn("%s: read failed: %s", r->name,
			errnum == Z_ERRNO ? strerror(errno) : msg);
		return -1;
	}
	if (n == 0) {
		/* A cut-off gzip member reads as end of input; say so. */
		int errnum;
		const char *msg = gzerror(r->gz, &errnum);

		r->eof = 1;
		if (errnum != Z_OK && errnum != Z_STREAM_END) {
			pa_warn("%s: read failed: %s", r->name, msg);
			return -1;
		}
		return 0;
	}
	r->end += (size_t)n;
	return 1;
}

static int
is_utf16_bom(const char *p)
{
	unsigned char a = (unsigned char)p[0], b = (unsigned char)p[1];

	return (a == 0xff && b == 0xfe) || (a == 0xfe && b == 0xff);
}

static void
finish_line(struct pa_reader *r, struct pa_line *line, char *text, size_t len)
{
	if (len > 0 && text[len - 1] == '\r')
		len--;
	text[len] = '\0';

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		if (!r->first)
			pa_warn("%s:%ld: removed a UTF-8 byte order mark inside the input",
				r->name, r->lineno);
		text += 3;
		len -= 3;
	}
	r->first = 0;
	line->text = text;
	line->len = len;
	line->lineno = r->lineno;
}

enum pa_line_status
pa_reader_next(struct pa_reader *r, struct pa_line *line)
{
	size_t scanned = 0;

	if (r->utf16)
		return PA_LINE_EOF;

	for (;;) {
		char *base = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *nl = memchr(base + scanned, '\n', avail - scanned);

		if (r->first && r->lineno == 0 && avail >= 2 && is_utf16_bom(base)) {
			r->utf16 = 1;
			pa_warn("%s: UTF-16 input, convert to UTF-8 (iconv -f UTF-16 -t UTF-8)",
				r->name);
			return PA_LINE_ERROR;
		}

		if (nl != NULL) {
			size_t len = (size_t)(nl - base);

			r->start += len + 1;
			if (r->discarding) {
				r->discarding = 0;
				scanned = 0;
				continue;
			}
			r->lineno++;
			if (len > r->max_line) {
				base[r->max_line] = '\0';
				line->text = base;
				line->len = r->max_line;
				line->lineno = r->lineno;
				r->first = 0;
				return PA_LINE_TOO_LONG;
			}
			finish_line(r, line, base, len);
			return PA_LINE_OK;
		}

		if (avail > r->max_line && !r->discarding) {
			/* Report the line now and skip to its end, keeping memory bounded. */
			r->lineno++;
			r->discarding = 1;
			r->start += r->max_line;
			base[r->max_line] = '\0';
			line->text = base;
			line->len = r->max_line;
			line->lineno = r->lineno;
			r->first = 0;
			return PA_LINE_TOO_LONG;
		}
		if (r->discarding) {
			r->start = r->end;
			scanned = 0;
		} else {
			scanned = avail;
		}

		int got = fill(r);

		if (got < 0)
			return PA_LINE_ERROR;
		if (got == 0) {
			avail = r->end - r->start;
			if (avail == 0 || r->discarding) {
				if (!r->follow)
					r->discarding = 0;
				return PA_LINE_EOF;
			}
			if (r->follow)
				return PA_LINE_EOF;
			/* The final line has no newline: hand it over but flag it. */
			r->lineno++;
			base = r->buf + r->start;
			r->start = r->end;
			finish_line(r, line, base, avail);
			return PA_LINE_TRUNCATED;
		}
	}
}

void
pa_reader_set_follow(struct pa_reader *r, int on)
{
	r->follow = on;
}

void
pa_reader_resume(struct pa_reader *r)
{
	r->eof = 0;
	gzclearerr(r->gz);
}

void
pa_reader_close(struct pa_reader *r)
{
	if (r == NULL)
		return;
	if (r->gz != NULL)
		gzclose(r->gz);
	free(r->buf);
	free(r->name);
	free(r);
}
