/* The hands-on namespace tools (husk nsexec, husk nsenter): the namespace kinds by their
 * util-linux letters and /proc/PID/ns names, keeping a namespace alive on a file, opening the
 * namespaces of a process or of files to enter them. */
#ifndef HUSK_NSEXEC_H
#define HUSK_NSEXEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "ns.h"

struct husk_nskind {
	char letter;          /* unshare's and nsenter's short option */
	const char *option;   /* its long option: --mount, --uts, ... */
	const char *proc;     /* the file under /proc/PID/ns */
	unsigned long flag;   /* CLONE_NEW* */
};

/* In the order nsenter enters them: the user namespace first (it decides what the others may
 * be entered with), the mount namespace last but one and pid last (util-linux's order). */
extern const struct husk_nskind husk_nskinds[HUSK_NS_COUNT];
const struct husk_nskind *husk_nskind_by_letter(char letter);

/* Bind-mount /proc/PID/ns/X (pid_for_children for the pid namespace, time_for_children for
 * time) on file, creating it (mode 0444) if missing. A mount namespace kept on a file on a
 * shared mount is refused up front: the kernel would refuse it with a bare EINVAL, because the
 * bind would propagate into the namespace itself. */
int husk_nsexec_persist(pid_t pid, const struct husk_nskind *k, const char *file, struct husk_err *err);
/* Is the mount holding path (its parent directory if path does not exist) shared? */
int husk_nsexec_on_shared_mount(const char *path, bool *shared, struct husk_err *err);

/* Open for setns: file (a namespace file, e.g. kept by husk_nsexec_persist) or /proc/pid/ns/X,
 * checking its type. */
int husk_nsexec_open(pid_t pid, const struct husk_nskind *k, const char *file, int *fd, struct husk_err *err);
/* Whether the namespace fd is the caller's own one of that kind (setns into one's own user
 * namespace fails with EINVAL, so nsenter -a skips those). */
int husk_nsexec_is_own(int fd, const struct husk_nskind *k, bool *own, struct husk_err *err);

/* Write /proc/self/setgroups (if setgroups non-NULL), uid_map "inside outside 1" and gid_map
 * the same, after unshare(CLONE_NEWUSER); a value < 0 leaves that map unwritten. */
int husk_nsexec_map_self(long uid_inside, uid_t uid_outside, long gid_inside, gid_t gid_outside,
			 const char *setgroups, struct husk_err *err);

#endif
