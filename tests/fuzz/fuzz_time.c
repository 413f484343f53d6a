/*
 * libFuzzer target for timestamp and duration parsing.  Any parse that
 * succeeds must format and parse back to the same instant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[64], text[40];
	pa_usec_t t, back, d;

	if (size >= sizeof buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	if (pa_time_parse(buf, size, &t) == 0) {
		/* Years outside 0000-9999 do not have an RFC 3339 form. */
		if (t > -62167219200LL * 1000000 && t < 253402300800LL * 1000000) {
			pa_time_format(t, text, sizeof text);
			if (pa_time_parse(text, strlen(text), &back) != 0 || back != t)
				abort();
		}
	}
	if (pa_duration_parse(buf, &d) == 0 && d < 0)
		abort();
	return 0;
}
