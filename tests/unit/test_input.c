/* Unit tests for the line reader: gzip, BOM, CRLF, cut-off and over-long lines. */
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "input.h"
#include "unit.h"

static char dir[] = "/tmp/pa-test-input-XXXXXX";

static const char *
write_file(const char *name, const char *data, size_t len, int gzip)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (gzip) {
		gzFile gz = gzopen(path, "wb");

		gzwrite(gz, data, (unsigned)len);
		gzclose(gz);
	} else {
		f = fopen(path, "wb");
		fwrite(data, 1, len, f);
		fclose(f);
	}
	return path;
}

/* Read all lines of path into one string "a|b|c", marking statuses. */
static const char *
read_all(const char *path, size_t max_line)
{
	static char out[4096];
	struct pa_reader *r = pa_reader_open(path, max_line);
	struct pa_line line;
	enum pa_line_status st;
	size_t o = 0;

	out[0] = '\0';
	if (r == NULL)
		return "(open failed)";
	while ((st = pa_reader_next(r, &line)) != PA_LINE_EOF && st != PA_LINE_ERROR) {
		const char *mark = st == PA_LINE_TRUNCATED ? "!cut" :
				   st == PA_LINE_TOO_LONG ? "!long" : "";

		o += (size_t)snprintf(out + o, sizeof out - o, "%s%ld:%s%s", o ? "|" : "",
				      line.lineno, line.text, mark);
	}
	if (st == PA_LINE_ERROR)
		o += (size_t)snprintf(out + o, sizeof out - o, "|error");
	pa_reader_close(r);
	return out;
}

int
main(void)
{
	const char *p;

	if (mkdtemp(dir) == NULL)
		return 2;

	p = write_file("plain", "a\nb\nc\n", 6, 0);
	CHECK_STR("plain lines", read_all(p, 0), "1:a|2:b|3:c");

	p = write_file("crlf", "a\r\nb\r\n", 6, 0);
	CHECK_STR("crlf stripped", read_all(p, 0), "1:a|2:b");

	p = write_file("gz", "x\ny\n", 4, 1);
	CHECK_STR("gzip by magic", read_all(p, 0), "1:x|2:y");

	/* Two gzip members back to back, as cat a.gz b.gz leaves them. */
	{
		char two[256];
		size_t n1, n2;
		FILE *f;

		write_file("m1", "one\n", 4, 1);
		write_file("m2", "two\n", 4, 1);
		snprintf(two, sizeof two, "%s/m1", dir);
		f = fopen(two, "rb");
		n1 = fread(two + 100, 1, 70, f);
		fclose(f);
		snprintf(two, sizeof two, "%s/m2", dir);
		f = fopen(two, "rb");
		n2 = fread(two + 100 + n1, 1, 70, f);
		fclose(f);
		p = write_file("concat", two + 100, n1 + n2, 0);
		CHECK_STR("gzip members concatenated", read_all(p, 0), "1:one|2:two");

		/* The first member cut short is an error, not a quiet end. */
		p = write_file("gzcut", two + 100, n1 - 6, 0);
		CHECK("gzip cut off", strstr(read_all(p, 0), "error") != NULL);

		/* Zero bytes after the last member are padding. */
		memset(two + 100 + n1 + n2, 0, 40);
		p = write_file("gzpad", two + 100, n1 + n2 + 40, 0);
		CHECK_STR("gzip zero padding", read_all(p, 0), "1:one|2:two");

		/* Other bytes after the last member are an error, not a quiet end. */
		memcpy(two + 100 + n1 + n2, "three\n", 6);
		p = write_file("gztext", two + 100, n1 + n2 + 6, 0);
		CHECK_STR("gzip then plain text", read_all(p, 0), "1:one|2:two|error");

		/* A later member whose checksum is wrong gives its lines, then the error. */
		two[100 + n1 + n2 - 8] ^= 0x55;
		p = write_file("gzcrc2", two + 100, n1 + n2, 0);
		CHECK_STR("gzip second member checksum", read_all(p, 0), "1:one|2:two|error");
		two[100 + n1 + n2 - 8] ^= 0x55;

		/* A later member with a damaged header is an error too. */
		two[100 + n1 + 3] = (char)0xe0;
		p = write_file("gzhdr2", two + 100, n1 + n2, 0);
		CHECK_STR("gzip second member header", read_all(p, 0), "1:one|error");
	}

	p = write_file("bom", "\xef\xbb\xbf{}\n{}\n\xef\xbb\xbf{}\n", 15, 0);
	CHECK_STR("bom removed", read_all(p, 0), "1:{}|2:{}|3:{}");

	p = write_file("cut", "a\nbc", 4, 0);
	CHECK_STR("last line without newline", read_all(p, 0), "1:a|2:bc!cut");

	p = write_file("empty", "", 0, 0);
	CHECK_STR("empty input", read_all(p, 0), "");

	p = write_file("blank", "\n\n", 2, 0);
	CHECK_STR("blank lines numbered", read_all(p, 0), "1:|2:");

	/* A line over the limit is reported once, and the next line keeps its number. */
	{
		char big[300];

		memset(big, 'z', 200);
		memcpy(big + 200, "\nok\n", 4);
		p = write_file("long", big, 204, 0);
		const char *got = read_all(p, 64);

		CHECK("long line flagged", strstr(got, "1:") == got && strstr(got, "!long") != NULL);
		CHECK("line after long line", strstr(got, "|2:ok") != NULL);
	}

	p = write_file("utf16", "\xff\xfe{\0}\0\n\0", 8, 0);
	CHECK("utf-16 refused", strstr(read_all(p, 0), "error") != NULL);

	CHECK("missing file", pa_reader_open("/nonexistent/pa", 0) == NULL);

	/* Lines longer than the read chunk still come back whole. */
	{
		size_t n = 700000;
		char *data = malloc(n + 3);

		memset(data, 'q', n);
		memcpy(data + n, "\nr", 2);
		p = write_file("chunky", data, n + 2, 0);
		struct pa_reader *r = pa_reader_open(p, 0);
		struct pa_line line;

		CHECK("chunk-spanning line", pa_reader_next(r, &line) == PA_LINE_OK &&
						     line.len == n);
		CHECK("after chunk-spanning line", pa_reader_next(r, &line) == PA_LINE_TRUNCATED &&
							   strcmp(line.text, "r") == 0);
		pa_reader_close(r);
		free(data);
	}

	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 2;
	return unit_status();
}
