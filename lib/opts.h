/*
 * opts.h - bounded parsing of option values, and the options every tool shares.
 *
 * Every number from the command line goes through these parsers, never
 * atoi: a value that is not a number, or is out of range, is a usage error
 * naming the option.
 */
#ifndef PA_OPTS_H
#define PA_OPTS_H

#include <stddef.h>

#include "timeutil.h"

/* Print "prog: message" and a hint to run --help, then exit PA_EXIT_USAGE. */
void pa_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

double pa_opt_double(const char *opt, const char *arg, double min, double max);
long pa_opt_long(const char *opt, const char *arg, long min, long max);
pa_usec_t pa_opt_duration(const char *opt, const char *arg, pa_usec_t min, pa_usec_t max);

/*
 * Check the path given to an option that names an output file, such as
 * --rejects: it must not be empty, "-", or begin with "-", which is most
 * likely the next option taken as the value of one given without it.
 * Returns path, or exits with a usage error naming opt.
 */
const char *pa_opt_output_path(const char *opt, const char *path);

/*
 * Check the path of an output file that is written whole and renamed into
 * place: pa_opt_output_path's checks, and it must not exist or be a
 * regular file (a directory is left to the writer to report), because the
 * rename would replace a device or a pipe.  Returns path, or exits with a
 * usage error naming opt.
 */
const char *pa_opt_replaceable(const char *opt, const char *path);

/* Parse --max-future: a duration up to ten years, or "none" (returned as -1) for no check. */
pa_usec_t pa_opt_max_future(const char *arg);

/*
 * Check a --model value: a model name that pa_fc_forecast() accepts, or
 * ets:FORM.  Returns arg, or exits with a usage error that lists the models.
 */
const char *pa_opt_model(const char *arg);

/*
 * Parse a value that is a count of steps or a duration.  Digits alone are
 * a count of steps, stored in *steps with *span set to 0.  Anything else
 * must be a duration with a unit (90m, 1.5h), stored in *span.  A number
 * without a unit that is not a whole count (1.5, 1e2, -3) is a usage
 * error, because reading it as seconds would surprise.
 */
void pa_opt_steps_or_duration(const char *opt, const char *arg, long min_steps, long max_steps,
			      pa_usec_t max_span, long *steps, pa_usec_t *span);

/* Parse "K/N" for --shard, 0 <= K < N. */
void pa_opt_shard(const char *arg, unsigned *k, unsigned *n);

/* Stable 64-bit FNV-1a hash, used for --shard so every machine agrees. */
unsigned long long pa_hash64(const char *s, size_t len);

/* Print "prog (pa) VERSION" for --version. */
void pa_print_version(void);

#define PA_VERSION "0.1.0"

/*
 * Options that every record-reading tool takes.  Their long-option numbers
 * start at PA_OPT_BASE so tools can add their own below it.
 */
enum {
	PA_OPT_BASE = 1000,
	PA_OPT_REJECTS,
	PA_OPT_MAX_BAD,
	PA_OPT_MAX_LINE
};

struct pa_common_opts {
	double max_bad;		/* rejected share above which the exit status is 1 */
	size_t max_line;	/* longest accepted line in bytes */
};

#define PA_MAX_BAD_DEFAULT 0.05

#define PA_COMMON_LONGOPTS                                              \
	{ "rejects", required_argument, NULL, PA_OPT_REJECTS },         \
	{ "max-bad", required_argument, NULL, PA_OPT_MAX_BAD },         \
	{ "max-line", required_argument, NULL, PA_OPT_MAX_LINE },       \
	{ "help", no_argument, NULL, 'h' },                             \
	{ "version", no_argument, NULL, 'V' }

/*
 * Help lines of the common options, their descriptions from column 25, or
 * with pad (a string of spaces) that much further right to line up with a
 * tool's own options.
 */
#define PA_COMMON_USAGE_AT(pad)                                                          \
	"      --rejects FILE" pad "     copy every rejected input line to FILE, without the\n" \
	"                    " pad "     CR of a CRLF line end and cut at --max-line bytes\n" \
	"      --max-bad SHARE" pad "    exit 1 when more than SHARE (0-1) of records are\n" \
	"                     " pad "    rejected (default 0.05)\n"                         \
	"      --max-line BYTES" pad "   reject lines longer than BYTES (default 1048576)\n" \
	"  -h, --help" pad "             print this help and exit\n"                         \
	"  -V, --version" pad "          print the version and exit\n"
#define PA_COMMON_USAGE PA_COMMON_USAGE_AT("")
#define PA_COMMON_USAGE_WIDE PA_COMMON_USAGE_AT("    ")

void pa_common_defaults(struct pa_common_opts *o);

/* Handle one of the common options; returns 1 when c was one of them. */
int pa_common_option(struct pa_common_opts *o, int c, const char *arg);

#endif
