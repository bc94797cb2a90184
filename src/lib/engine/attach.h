/* The client's side of a container's monitor connection: husk run in the foreground, husk
 * attach, husk start -a, husk wait. One code path for all of them. */
#ifndef HUSK_ENGINE_ATTACH_H
#define HUSK_ENGINE_ATTACH_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>

#include "engine.h"

#define HUSK_DETACH_KEYS_MAX 8
/* husk_attach_relay's results besides an exit code (0..255) */
#define HUSK_ATTACH_DETACHED (-2)    /* the detach keys were typed */
#define HUSK_ATTACH_LOST (-3)        /* the monitor went away without an exit code */

struct husk_attach_opts {
	bool stdin;                  /* send our stdin (ended: the container's stdin is closed) */
	bool tty;                    /* our terminal in raw mode, its size passed on */
	int out_fd, err_fd;          /* where the container's stdout and stderr go (-1: dropped) */
	char detach_keys[HUSK_DETACH_KEYS_MAX];
	size_t n_detach_keys;        /* 0: no detaching */
	const sigset_t *forward;     /* signals (blocked by the caller) passed to forward_fn */
	void (*forward_fn)(int sig, void *arg);
	void *forward_arg;
};

/* Connect to the monitor of id, asking for the streams in want (HUSK_ATTACH_WANT_*). */
int husk_attach_connect(const struct husk_engine *e, const char *id, unsigned want, struct husk_err *err);
int husk_detach_keys_parse(const char *text, char *keys, size_t *n, struct husk_err *err);
/* Relay until the container's exit code arrives (returned), the detach keys, or the monitor
 * goes away (HUSK_ATTACH_LOST). */
int husk_attach_relay(int conn, const struct husk_attach_opts *o, struct husk_err *err);

#endif
