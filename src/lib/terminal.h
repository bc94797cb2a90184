/* Terminals: the container's pty and the --console-socket hand-over. */
#ifndef HUSK_TERMINAL_H
#define HUSK_TERMINAL_H

#include <signal.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/* Connect to the unix socket a caller (conmon, containerd's shim) listens on. */
int husk_terminal_connect_socket(const char *path, struct husk_err *err);

/* In the container, after pivot: a pty from the container's devpts, the master sent over
 * console_fd with SCM_RIGHTS (as runc does), the slave made stdio, controlling terminal and
 * /dev/console. */
int husk_terminal_setup_console(int console_fd, const struct husk_process *p, struct husk_err *err);
/* The same for a process exec'd into a running container: a pty, handed over, made its
 * terminal; /dev/console stays the init's. */
int husk_terminal_setup_exec(int console_fd, const struct husk_process *p, struct husk_err *err);

/* A socket pair that stands in for a console socket when husk relays the terminal itself:
 * *to_init goes to the process that makes the pty, *receiver gets the master back. */
int husk_terminal_pair(int *to_init, int *receiver, struct husk_err *err);

/* husk relaying a container's terminal itself: raw mode on its own terminal (restored after),
 * stdin to the pty master and the master to stdout, window size changes (SIGWINCH) passed on,
 * other signals in set forwarded to pid, until pid exits; its wait status in *status. The
 * signals in set must be blocked by the caller. */
int husk_terminal_relay(int master, pid_t pid, const sigset_t *set, int *status, struct husk_err *err);

#endif
