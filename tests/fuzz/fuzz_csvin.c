/*
 * libFuzzer target for CSV records over lines.  The input is cut at
 * newlines and pushed line by line, as the reader does.  Every record must
 * start on a line that was pushed, and its raw text must fit the bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvin.h"
#include "diag.h"

static long lines_pushed;

static void
on_record(void *ctx, const struct pa_csvrec *rec)
{
	(void)ctx;
	if (rec->lineno < 1 || rec->lineno > lines_pushed || rec->rawlen > 512 + 4096)
		abort();
	for (int i = 0; i < rec->nfields; i++)
		if (strlen(rec->field[i]) > rec->len[i])
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pa_csvin c;
	char *copy = malloc(size + 1);
	size_t start = 0;

	pa_diag_init("fuzz_csvin");
	memcpy(copy, data, size);
	copy[size] = '\0';
	lines_pushed = 0;
	pa_csvin_init(&c, size > 0 && data[0] == '\t' ? '\t' : ',', size > 0 && data[0] != '\t', 512,
		      on_record, NULL);
	while (start <= size) {
		char *nl = memchr(copy + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - copy) : size;
		struct pa_line line = { copy + start, end - start, ++lines_pushed };

		copy[end] = '\0';
		pa_csvin_line(&c, "fuzz", &line);
		if (nl == NULL)
			break;
		start = end + 1;
	}
	pa_csvin_finish(&c);
	pa_csvin_free(&c);
	free(copy);
	return 0;
}
