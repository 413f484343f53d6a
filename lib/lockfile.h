/*
 * lockfile.h - the exclusive lock that keeps two runs from writing one
 * file at once.
 */
#ifndef PA_LOCKFILE_H
#define PA_LOCKFILE_H

#include <stddef.h>

/*
 * Take an exclusive flock on path.lock, created when missing, and return
 * its descriptor, which keeps the lock until closed.  When another
 * process has the lock, say so on stderr, naming what (such as "state
 * file"), path and holder (such as "another run"), and wait.  A --follow
 * run keeps its lock for as long as it runs, and a cron job must not wait
 * in silence.
 * Returns -1 with a message in err when the lock cannot be taken.
 */
int pa_lock_beside(const char *path, const char *what, const char *holder, char *err,
		   size_t errsize);

#endif
