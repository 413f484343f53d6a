#include "stop.h"

#include <string.h>

volatile sig_atomic_t pa_stop_requested;
volatile sig_atomic_t pa_stop_idle;

static struct sigaction saved_int, saved_term;
static volatile sig_atomic_t caught;

static void
on_stop(int sig)
{
	if (pa_stop_requested || pa_stop_idle) {
		sigaction(sig, sig == SIGINT ? &saved_int : &saved_term, NULL);
		raise(sig);
		return;
	}
	pa_stop_requested = sig;
}

void
pa_stop_catch(void)
{
	struct sigaction sa;

	if (caught)
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;	/* a write to a full pipe must not fail with EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &saved_int);
	sigaction(SIGTERM, &sa, &saved_term);
	caught = 1;
}

void
pa_stop_release(void)
{
	if (!caught)
		return;
	sigaction(SIGINT, &saved_int, NULL);
	sigaction(SIGTERM, &saved_term, NULL);
	caught = 0;
}
