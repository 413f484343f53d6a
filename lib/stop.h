/*
 * stop.h - end the input at a whole line on SIGINT or SIGTERM.
 *
 * A tool killed by the default action of these signals stops inside a
 * stdio buffer, so its last output record is cut.  With pa_stop_catch,
 * the first signal sets pa_stop_requested.  pa_input_each and pa-ingest's
 * readers test it before each line, so the input ends after the record
 * being handled.  The tool then finishes as at the end of its input: it
 * flushes whole records and exits with the status of the input read so
 * far.  A second signal ends the process at once.
 */
#ifndef PA_STOP_H
#define PA_STOP_H

#include <signal.h>

/* The number of the first SIGINT or SIGTERM caught, 0 before one arrives. */
extern volatile sig_atomic_t pa_stop_requested;

/*
 * Set by a reader while it waits on a pipe with every record written.  A
 * signal then ends the process at once, since no record can be cut.
 */
extern volatile sig_atomic_t pa_stop_idle;

/*
 * Catch SIGINT and SIGTERM as described above.  The handler has
 * SA_RESTART, so stdio's write to a full pipe is resumed rather than
 * failed with EINTR, and a reader waiting on a pipe is woken by the
 * poll(2) that pa_reader_set_stop turns on.  A second signal, or one that
 * arrives while pa_stop_idle is set, restores the action in place before
 * this call, such as a handler that removes a temporary file, and raises
 * the signal again.
 */
void pa_stop_catch(void);

/*
 * Restore the actions in place before pa_stop_catch, for a long phase
 * after the input that a signal should end at once.  A stop that already
 * arrived stays in pa_stop_requested.
 */
void pa_stop_release(void);

#endif
