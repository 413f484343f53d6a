#include "opts.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "forecast.h"

void
pa_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", pa_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", pa_prog);
	exit(PA_EXIT_USAGE);
}

double
pa_opt_double(const char *opt, const char *arg, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end == arg || *end != '\0' || errno != 0 || !isfinite(v))
		pa_usage_error("invalid number for %s: \"%s\"", opt, arg);
	if (v < min || v > max)
		pa_usage_error("%s must be between %g and %g, got \"%s\"", opt, min, max, arg);
	return v;
}

long
pa_opt_long(const char *opt, const char *arg, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0)
		pa_usage_error("invalid integer for %s: \"%s\"", opt, arg);
	if (v < min || v > max)
		pa_usage_error("%s must be between %ld and %ld, got \"%s\"", opt, min, max, arg);
	return v;
}

pa_usec_t
pa_opt_duration(const char *opt, const char *arg, pa_usec_t min, pa_usec_t max)
{
	char low[40], high[40];
	pa_usec_t v;

	if (pa_duration_parse(arg, &v) != 0) {
		char problem[200];

		pa_usage_error("invalid duration for %s: %s %s", opt, pa_quote(arg, strlen(arg)),
			       pa_duration_problem(arg, problem, sizeof problem));
	}
	if (v >= min && v <= max)
		return v;

	pa_duration_format(max, high, sizeof high);
	if (min <= 1)
		pa_usage_error("%s must be more than 0 and at most %s, got \"%s\"", opt, high, arg);
	pa_duration_format(min, low, sizeof low);
	pa_usage_error("%s must be between %s and %s, got \"%s\"", opt, low, high, arg);
	return v;
}

void
pa_opt_steps_or_duration(const char *opt, const char *arg, long min_steps, long max_steps,
			 pa_usec_t max_span, long *steps, pa_usec_t *span)
{
	char *end;

	if (*arg != '\0' && strspn(arg, "0123456789") == strlen(arg)) {
		*steps = pa_opt_long(opt, arg, min_steps, max_steps);
		*span = 0;
		return;
	}
	(void)strtod(arg, &end);
	if (end != arg && *end == '\0')
		pa_usage_error("invalid value for %s: \"%s\" (a count of steps is a whole number "
			       "such as 24, and a duration needs a unit such as 90m or 1.5h)",
			       opt, arg);
	*span = pa_opt_duration(opt, arg, 1, max_span);
}

void
pa_opt_shard(const char *arg, unsigned *k, unsigned *n)
{
	char *end;
	unsigned long a, b;

	errno = 0;
	a = strtoul(arg, &end, 10);
	if (end == arg || *end != '/' || errno != 0)
		pa_usage_error("invalid --shard \"%s\": expected K/N", arg);
	const char *rest = end + 1;

	b = strtoul(rest, &end, 10);
	if (end == rest || *end != '\0' || errno != 0 || b == 0 || b > 65536 || a >= b)
		pa_usage_error("invalid --shard \"%s\": expected K/N with 0 <= K < N", arg);
	*k = (unsigned)a;
	*n = (unsigned)b;
}

unsigned long long
pa_hash64(const char *s, size_t len)
{
	unsigned long long h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void
pa_print_version(void)
{
	printf("%s (pa) %s\n", pa_prog, PA_VERSION);
}

void
pa_common_defaults(struct pa_common_opts *o)
{
	o->max_bad = PA_MAX_BAD_DEFAULT;
	o->max_line = 1u << 20;
}

int
pa_common_option(struct pa_common_opts *o, int c, const char *arg)
{
	switch (c) {
	case PA_OPT_REJECTS:
		pa_rejects_open(pa_opt_output_path("--rejects", arg));
		return 1;
	case PA_OPT_MAX_BAD:
		o->max_bad = pa_opt_double("--max-bad", arg, 0, 1);
		return 1;
	case PA_OPT_MAX_LINE:
		o->max_line = (size_t)pa_opt_long("--max-line", arg, 64, 1L << 30);
		return 1;
	default:
		return 0;
	}
}

const char *
pa_opt_output_path(const char *opt, const char *path)
{
	if (path[0] == '\0')
		pa_usage_error("%s needs a file name, got an empty string", opt);
	if (strcmp(path, "-") == 0)
		pa_usage_error("%s \"-\": give a file name, because \"-\" does not stand for "
			       "standard output here (./- names a file called \"-\")", opt);

	/* "--rejects --max-bad 1" would otherwise write the rejects to a file named "--max-bad". */
	if (path[0] == '-')
		pa_usage_error("%s %s: the path begins with \"-\", so %s probably lacks its "
			       "argument and took the next option (for a file of that name, write "
			       "./%s)", opt, pa_quote(path, strlen(path)), opt, path);
	return path;
}

const char *
pa_opt_replaceable(const char *opt, const char *path)
{
	struct stat st;

	pa_opt_output_path(opt, path);

	/* A directory is left to the writer, whose message names the path to give instead. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		pa_usage_error("%s %s is not a regular file, and a new file renamed over it would "
			       "replace it", opt, pa_quote(path, strlen(path)));
	return path;
}

pa_usec_t
pa_opt_max_future(const char *arg)
{
	if (strcmp(arg, "none") == 0)
		return -1;
	return pa_opt_duration("--max-future", arg, 0, 3660LL * 86400 * PA_USEC_PER_SEC);
}

const char *
pa_opt_model(const char *arg)
{
	const char *quoted = pa_quote(arg, strlen(arg));
	char list[256];

	if (strncmp(arg, "ets:", 4) == 0 && !pa_fc_model_known(arg))
		pa_usage_error("invalid ETS form for --model: %s (error A or M, trend N, A or Ad, "
			       "season N, A or M; additive error with a multiplicative season is "
			       "not offered)", quoted);
	if (!pa_fc_model_known(arg))
		pa_usage_error("unknown model for --model: %s (use %s)", quoted,
			       pa_fc_model_list(list, sizeof list));
	return arg;
}
