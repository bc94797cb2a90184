/* A container's monitor: the process that starts it, holds its stdio, writes its logs, reaps it,
 * records how it ended and restarts it by policy. One per running container, no daemon.
 *
 *   husk run / husk start            monitor (one pid throughout)              container init
 *   ─────────────────────            ─────────────────────────────             ──────────────
 *   record + snapshot written
 *   fork ─────────────────────────────▶ setsid; subreaper; flock RUN/ID/monitor.lock;
 *                                     listen on RUN/ID/attach
 *                                     pipes (or the pty) as its stdio,
 *                                     create, network, start (the library) ──▶ PDEATHSIG=KILL, exec
 *   's' pid ◀──────────────────────── record: running
 *   -d: print the id, exit            exec husk-monitor (the relay: logs,
 *   else: attached client              clients, reaping; a few hundred KiB)
 *                                     init exits: drain, exec husk monitor-exited:
 *                                     record the exit (OOM, time), lease and state
 *   'x' code ◀─────────────────────── released; --rm; restart by policy (exec the relay
 *                                     again) or exit, releasing the lock
 *
 * See docs/ARCHITECTURE.md, "The engine's monitor". */
#ifndef HUSK_ENGINE_MONITOR_H
#define HUSK_ENGINE_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "engine.h"

/* Messages on a client's connection (SOCK_SEQPACKET): one type byte, then the payload. */
enum {
	HUSK_ATTACH_HELLO = 'h',     /* client: 1 byte of HUSK_ATTACH_WANT_* */
	HUSK_ATTACH_STDIN = 'i',     /* client: bytes for the container's stdin */
	HUSK_ATTACH_CLOSE = 'c',     /* client: close the container's stdin */
	HUSK_ATTACH_RESIZE = 'w',    /* client: rows, cols (uint16 each, little endian) */
	HUSK_ATTACH_STDOUT = 'o',    /* monitor: the container's stdout (all of a pty's output) */
	HUSK_ATTACH_STDERR = 'e',    /* monitor: its stderr */
	HUSK_ATTACH_STARTED = 's',   /* monitor: started, int32 pid */
	HUSK_ATTACH_ERROR = 'E',     /* monitor: could not start: errno (int32), then the message */
	HUSK_ATTACH_EXIT = 'x',      /* monitor: exited and cleaned up: int32 exit code */
};
enum { HUSK_ATTACH_WANT_STDIN = 1, HUSK_ATTACH_WANT_STDOUT = 2, HUSK_ATTACH_WANT_STDERR = 4 };
#define HUSK_ATTACH_MSG_MAX (32 * 1024 + 1)

/* The first start of a container `husk run` prepared (r from husk_engine_run_prepare, its
 * record written): the monitor is forked with r in memory. Returns the connection to the
 * monitor, on which HUSK_ATTACH_STARTED or HUSK_ATTACH_ERROR comes first
 * (husk_monitor_started); the caller keeps it to stay attached, or closes it. */
int husk_monitor_spawn_run(const struct husk_engine *e, struct husk_engine_run *r, struct husk_err *err);
/* husk start: a monitor for an existing container, from its record. */
int husk_monitor_spawn(const struct husk_engine *e, const char *id, struct husk_err *err);
/* Wait for the monitor's first word: 0 and the pid, or -1 with its error (errno and text). */
int husk_monitor_started(int conn, pid_t *pid, struct husk_err *err);

/* The monitor after the relay: the container's init exited with wstatus. Records the exit,
 * cleans up, removes (--rm), tells the clients, restarts by policy (then this does not return:
 * it exec's the relay again). Returns the monitor's exit status. */
int husk_monitor_exited(const struct husk_engine *e, const char *id, int wstatus, const int *clients,
			size_t n_clients, int listen_fd, int lock_fd);

/* docker's status for a container that could not be started: 127 the program is not there,
 * 126 it cannot be executed, 125 anything else (husk's own failure). */
int husk_start_failure_code(const struct husk_err *err);
/* The exit code docker reports for a wait status: the code, or 128+N when killed by signal N. */
int husk_exit_code(int wstatus);

#endif
