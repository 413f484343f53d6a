/*
 * unit.h - a minimal harness for C unit tests.
 *
 * Each CHECK prints "ok NAME" or "FAIL NAME: file:line: expression", which
 * tests/run counts.  main returns unit_status() so a crash still shows.
 */
#ifndef PA_UNIT_H
#define PA_UNIT_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int unit_failures;

#define CHECK(name, expr)                                                        \
	do {                                                                     \
		if (expr) {                                                      \
			printf("ok %s\n", name);                                 \
		} else {                                                         \
			printf("FAIL %s: %s:%d: %s\n", name, __FILE__, __LINE__, \
			       #expr);                                           \
			unit_failures++;                                         \
		}                                                                \
	} while (0)

#define CHECK_STR(name, got, want)                                               \
	do {                                                                     \
		const char *g_ = (got), *w_ = (want);                            \
		if (g_ != NULL && strcmp(g_, w_) == 0) {                         \
			printf("ok %s\n", name);                                 \
		} else {                                                         \
			printf("FAIL %s: %s:%d: got \"%s\", expected \"%s\"\n",  \
			       name, __FILE__, __LINE__, g_ ? g_ : "(null)", w_); \
			unit_failures++;                                         \
		}                                                                \
	} while (0)

#define CHECK_NEAR(name, got, want, tol)                                         \
	do {                                                                     \
		double g_ = (got), w_ = (want);                                  \
		if (fabs(g_ - w_) <= (tol)) {                                    \
			printf("ok %s\n", name);                                 \
		} else {                                                         \
			printf("FAIL %s: %s:%d: got %.10g, expected %.10g\n",    \
			       name, __FILE__, __LINE__, g_, w_);                \
			unit_failures++;                                         \
		}                                                                \
	} while (0)

static inline int
unit_status(void)
{
	return unit_failures ? 1 : 0;
}

#endif
