/*
 * lockfile.c - the exclusive lock beside a state file or journal.
 */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "diag.h"

int
pa_lock_beside(const char *path, const char *what, const char *holder, char *err,
	       size_t errsize)
{
	size_t len = strlen(path) + 6;
	char *lockname = pa_xrealloc(NULL, len);
	int fd;

	snprintf(lockname, len, "%s.lock", path);
	fd = open(lockname, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		snprintf(err, errsize, "cannot lock %s %s: cannot open %s: %s", what, path,
			 lockname, strerror(errno));
		free(lockname);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		free(lockname);
		return fd;
	}

	/* A signal that interrupts the wait restarts it. */
	if (errno == EWOULDBLOCK)
		pa_warn("%s %s is locked by %s (%s); waiting for it to finish, as a --follow "
			"run holds the lock until it stops", what, path, holder, lockname);
	while (flock(fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		snprintf(err, errsize, "cannot lock %s %s: %s: %s", what, path, lockname,
			 strerror(errno));
		close(fd);
		free(lockname);
		return -1;
	}
	free(lockname);
	return fd;
}
