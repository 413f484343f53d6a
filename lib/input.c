#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "diag.h"

#define CHUNK (256u * 1024u)

enum source_mode { SOURCE_UNKNOWN, SOURCE_PLAIN, SOURCE_GZIP };

struct pa_reader {
	char *name;
	int fd;
	int interactive;	/* a pipe or terminal: flush output before waiting on it */
	enum source_mode mode;	/* decided by the first bytes read */
	z_stream zs;		/* raw bytes from fd wait in zs.next_in/avail_in */
	unsigned char *raw;
	int in_member;		/* inside a gzip member: EOF here means it was cut off */
	long members;		/* gzip members decoded to their end */
	long long raw_read;	/* bytes read from fd, so raw_read - zs.avail_in is the file offset */
	long long member_start;	/* file offset of the gzip member being decoded */
	char *buf;		/* holds [start, end) unread bytes */
	size_t cap, start, end;
	size_t max_line;
	long lineno;
	int eof;
	int failed;		/* a read or decoding error was reported: no more input */
	int first;		/* no line returned yet: a BOM here is silent */
	int utf16;
	int discarding;		/* skipping the rest of an over-long line */
	int follow;		/* hold a final line without newline: more may come */
	volatile sig_atomic_t *stop;	/* set: end the input at the next read */
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
	r->fd = -1;
	r->name = strdup(strcmp(path, "-") == 0 ? "<stdin>" : path);
	r->max_line = max_line ? max_line : PA_MAX_LINE_DEFAULT;
	r->cap = r->max_line + CHUNK + 1;
	r->buf = malloc(r->cap);
	r->first = 1;
	if (r->name == NULL || r->buf == NULL)
		pa_die(PA_EXIT_IO, "out of memory");

	r->fd = fd;
	{
		struct stat st;

		r->interactive = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
	}
	r->raw = malloc(CHUNK);
	if (r->raw == NULL)
		pa_die(PA_EXIT_IO, "out of memory");
	return r;
}

const char *
pa_reader_name(const struct pa_reader *r)
{
	return r->name;
}

/*
 * Control bytes other than tab never occur in a text log line, a CSV
 * header or a JSON record.  A newline and a carriage return are allowed,
 * because a quoted CSV field may span lines.  Nor does text start with a
 * byte that no UTF-8 character starts with, as the PNG signature's 0x89.
 */
int
pa_line_is_binary(const struct pa_line *line)
{
	if (line->len > 0) {
		unsigned char first = (unsigned char)line->text[0];

		if ((first >= 0x80 && first <= 0xbf) || first >= 0xf8)
			return 1;
	}
	for (size_t i = 0; i < line->len; i++) {
		unsigned char c = (unsigned char)line->text[i];

		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return 1;
	}
	return 0;
}

int
pa_reader_is_utf16(const struct pa_reader *r)
{
	return r->utf16;
}

/*
 * read(2) that first flushes standard output when the input is a pipe or
 * terminal, so records already made reach the next tool while this one
 * waits for a slow writer such as tail -f.
 */
static ssize_t
read_input(struct pa_reader *r, void *buf, size_t size)
{
	ssize_t n;

	if (r->interactive)
		fflush(stdout);
	for (;;) {
		if (r->stop != NULL && *r->stop)
			return 0;

		/*
		 * Wait in poll(2), which a signal interrupts even when its
		 * handler has SA_RESTART, so a stop ends the wait for a slow
		 * writer.  A poll error is left to the read that follows.
		 */
		if (r->interactive && r->stop != NULL) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

			if (poll(&pfd, 1, -1) < 0 && errno == EINTR)
				continue;
		}
		n = read(r->fd, buf, size);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

/*
 * Read from the file into the raw buffer once it is empty.  read(2) returns
 * what a pipe has now, so lines reach the caller as they are written.
 * Returns the raw bytes waiting, 0 at end of file, -1 on error.
 */
static ssize_t
raw_fill(struct pa_reader *r)
{
	ssize_t n;

	if (r->zs.avail_in > 0)
		return (ssize_t)r->zs.avail_in;
	n = read_input(r, r->raw, CHUNK);
	if (n < 0) {
		pa_warn("%s: read failed: %s", r->name, strerror(errno));
		return -1;
	}
	r->raw_read += n;
	r->zs.next_in = r->raw;
	r->zs.avail_in = (uInt)n;
	return n;
}

/*
 * Read until at least need raw bytes are waiting, moving those left to
 * the front of the raw buffer.  Returns the bytes waiting, fewer than need
 * only at end of file, or -1 on error.
 */
static ssize_t
raw_peek(struct pa_reader *r, size_t need)
{
	while (r->zs.avail_in < need) {
		ssize_t n;

		if (r->zs.avail_in > 0 && r->zs.next_in != r->raw)
			memmove(r->raw, r->zs.next_in, r->zs.avail_in);
		r->zs.next_in = r->raw;
		n = read_input(r, r->raw + r->zs.avail_in, CHUNK - r->zs.avail_in);
		if (n < 0) {
			pa_warn("%s: read failed: %s", r->name, strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		r->raw_read += n;
		r->zs.avail_in += (uInt)n;
	}
	return (ssize_t)r->zs.avail_in;
}

/* File offset of the next raw byte not yet decoded. */
static long long
raw_offset(const struct pa_reader *r)
{
	return r->raw_read - (long long)r->zs.avail_in;
}

/* Choose plain or gzip from the magic bytes 1f 8b at the start of the input. */
static int
detect_mode(struct pa_reader *r)
{
	ssize_t n = raw_fill(r);

	/* One byte that could start the magic: wait for the second. */
	if (n == 1 && r->raw[0] == 0x1f)
		n = raw_peek(r, 2);
	if (n < 0)
		return -1;
	if (n >= 2 && r->raw[0] == 0x1f && r->raw[1] == 0x8b) {
		/* 15 + 16: a gzip wrapper only, with the largest window. */
		if (inflateInit2(&r->zs, 15 + 16) != Z_OK) {
			pa_warn("%s: cannot start gzip decoding", r->name);
			return -1;
		}
		r->mode = SOURCE_GZIP;
	} else if (n > 0) {
		r->mode = SOURCE_PLAIN;
	}
	return 0;
}

/*
 * Read the rest of the input after the last gzip member.  Zero bytes there
 * are taken as padding to a block size and ignored.  Anything else, such
 * as plain text appended to a .gz file, is reported with its offset and
 * size and fails the reader, because it cannot be read as gzip and
 * dropping it quietly would lose it.
 * Returns 0 for padding or nothing, -1 after reporting other data.
 */
static int
read_trailing_data(struct pa_reader *r)
{
	long long from = raw_offset(r), size = 0;
	int only_zeros = 1;

	for (;;) {
		ssize_t n = raw_fill(r);

		if (n < 0) {
			r->failed = 1;
			return -1;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n && only_zeros; i++)
			if (r->zs.next_in[i] != 0)
				only_zeros = 0;
		size += n;
		r->zs.avail_in = 0;
	}
	if (only_zeros)
		return 0;
	pa_warn("%s: offset %lld: the %lld bytes after the last gzip member are not gzip "
		"data and were not read", r->name, from, size);
	r->failed = 1;
	return -1;
}

/*
 * Decide what follows a gzip member that ended: another member, which
 * starts with the magic bytes 1f 8b, or trailing data.  Returns 1 when a
 * member starts, 0 at the end of input, -1 after an error.
 */
static int
next_member(struct pa_reader *r)
{
	ssize_t avail = raw_peek(r, 2);

	if (avail < 0) {
		r->failed = 1;
		return -1;
	}
	if (avail == 0)
		return 0;
	/* A lone 1f at the end is a member cut off after its first byte. */
	if (r->zs.next_in[0] == 0x1f && (avail == 1 || r->zs.next_in[1] == 0x8b)) {
		r->member_start = raw_offset(r);
		return 1;
	}
	return read_trailing_data(r);
}

/*
 * Decode gzip input into dst.  Concatenated members (cat a.gz b.gz, pigz,
 * bgzip) decode as one stream.  Damage in any member ends the input with
 * a message that gives its offset, after the bytes decoded before it.
 * Returns bytes produced, 0 at end, -1 on error.
 */
static ssize_t
gzip_read(struct pa_reader *r, char *dst, size_t cap)
{
	for (;;) {
		ssize_t avail;
		int ret;

		if (!r->in_member && r->members > 0) {
			int next = next_member(r);

			if (next <= 0)
				return next;
		}
		avail = raw_fill(r);
		if (avail < 0)
			return -1;
		if (avail == 0) {
			if (r->in_member) {
				pa_warn("%s: offset %lld: gzip input cut off inside the member "
					"that starts at offset %lld", r->name, raw_offset(r),
					r->member_start);
				return -1;
			}
			return 0;
		}

		r->zs.next_out = (Bytef *)dst;
		r->zs.avail_out = (uInt)cap;
		ret = inflate(&r->zs, Z_NO_FLUSH);
		r->in_member = 1;
		size_t produced = cap - r->zs.avail_out;

		if (ret == Z_STREAM_END) {
			r->in_member = 0;
			r->members++;
			inflateReset(&r->zs);
		} else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			pa_warn("%s: offset %lld: invalid gzip data in the member that starts at "
				"offset %lld: %s", r->name, raw_offset(r), r->member_start,
				r->zs.msg ? r->zs.msg : "decoding failed");

			/*
			 * What was decoded before the damage is good input, such as
			 * every line of a member whose checksum alone is wrong.
			 */
			r->failed = 1;
			return produced > 0 ? (ssize_t)produced : -1;
		}
		if (produced > 0)
			return (ssize_t)produced;
	}
}

/* Read decoded input into dst.  Returns bytes read, 0 at end of input, -1 on error. */
static ssize_t
source_read(struct pa_reader *r, char *dst, size_t cap)
{
	ssize_t n;

	if (r->mode == SOURCE_UNKNOWN) {
		if (detect_mode(r) < 0)
			return -1;
		if (r->mode == SOURCE_UNKNOWN)
			return 0;	/* empty so far */
	}
	if (r->mode == SOURCE_GZIP)
		return gzip_read(r, dst, cap);

	/* Plain input: hand over bytes read during detection, then read directly. */
	if (r->zs.avail_in > 0) {
		n = (ssize_t)(r->zs.avail_in < cap ? r->zs.avail_in : cap);
		memcpy(dst, r->zs.next_in, (size_t)n);
		r->zs.next_in += n;
		r->zs.avail_in -= (uInt)n;
		return n;
	}
	n = read_input(r, dst, cap);
	if (n < 0)
		pa_warn("%s: read failed: %s", r->name, strerror(errno));
	return n;
}

/* Read more input after the unread bytes.  Returns 0 at end of input, -1 on error. */
static int
fill(struct pa_reader *r)
{
	ssize_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->failed)
		return -1;
	if (r->eof || r->end == r->cap - 1)
		return 0;
	n = source_read(r, r->buf + r->end, r->cap - 1 - r->end);
	if (n < 0) {
		r->failed = 1;
		return -1;
	}
	if (n == 0) {
		r->eof = 1;
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

/* Hand over the first max_line bytes of an over-long line for its reject message. */
static enum pa_line_status
too_long_line(struct pa_reader *r, struct pa_line *line, char *base)
{
	base[r->max_line] = '\0';
	line->text = base;
	line->len = r->max_line;
	line->lineno = r->lineno;
	r->first = 0;
	return PA_LINE_TOO_LONG;
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
			if (len > r->max_line)
				return too_long_line(r, line, base);
			finish_line(r, line, base, len);
			return PA_LINE_OK;
		}

		if (avail > r->max_line && !r->discarding) {
			/* Report the line now and skip to its end, keeping memory bounded. */
			r->lineno++;
			r->discarding = 1;
			r->start += r->max_line;
			return too_long_line(r, line, base);
		}
		if (r->discarding) {
			r->start = r->end;
			scanned = 0;
		} else {
			scanned = avail;
		}

		int got = fill(r);

		if (got < 0 && (r->end == r->start || r->discarding))
			return PA_LINE_ERROR;
		if (got <= 0) {
			avail = r->end - r->start;
			if (avail == 0 || r->discarding) {
				if (!r->follow)
					r->discarding = 0;
				return PA_LINE_EOF;
			}
			if (r->follow && got == 0)
				return PA_LINE_EOF;
			/*
			 * The final line has no newline, or an error cut it: hand it
			 * over but flag it.  After an error the next call reports it.
			 */
			r->lineno++;
			base = r->buf + r->start;
			r->start = r->end;
			finish_line(r, line, base, avail);
			return PA_LINE_TRUNCATED;
		}
	}
}

int
pa_reader_failed(const struct pa_reader *r)
{
	return r->failed;
}

void
pa_reader_set_follow(struct pa_reader *r, int on)
{
	r->follow = on;
}

void
pa_reader_set_stop(struct pa_reader *r, volatile sig_atomic_t *stop)
{
	r->stop = stop;
}

void
pa_reader_resume(struct pa_reader *r)
{
	r->eof = 0;
}

void
pa_reader_close(struct pa_reader *r)
{
	if (r == NULL)
		return;
	if (r->mode == SOURCE_GZIP)
		inflateEnd(&r->zs);
	if (r->fd >= 0)
		close(r->fd);
	free(r->raw);
	free(r->buf);
	free(r->name);
	free(r);
}

const char *
pa_input_names_keep(struct pa_input_names *names, const char *name)
{
	if (names->n > 0 && strcmp(names->v[names->n - 1], name) == 0)
		return names->v[names->n - 1];
	names->v = pa_xrealloc(names->v, (names->n + 1) * sizeof *names->v);
	names->v[names->n] = pa_xstrdup(name);
	return names->v[names->n++];
}

void
pa_input_names_free(struct pa_input_names *names)
{
	for (size_t i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	names->v = NULL;
	names->n = 0;
}
