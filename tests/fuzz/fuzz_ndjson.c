/*
 * libFuzzer target for the line reader and record parsing: arbitrary bytes
 * go through the reader as a file, and every line through the JSON record
 * parser and the timestamp getter.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "diag.h"
#include "input.h"
#include "ndjson.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/pa-fuzz-XXXXXX";
	int fd = mkstemp(path);
	struct pa_reader *r;
	struct pa_line line;
	enum pa_line_status st;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);

	/* Silence diagnostics for this input only, so libFuzzer can still report. */
	int saved = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);

	dup2(devnull, STDERR_FILENO);
	r = pa_reader_open(path, 4096);
	while (r != NULL && (st = pa_reader_next(r, &line)) != PA_LINE_EOF &&
	       st != PA_LINE_ERROR) {
		json_t *rec = pa_line_to_object(path, &line, st);
		pa_usec_t t;

		if (rec != NULL) {
			pa_rec_time(rec, "ts", &t);
			json_decref(rec);
		}
	}
	pa_reader_close(r);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(devnull);
	unlink(path);
	return 0;
}
