/* The engine's verbs on existing containers: what husk ps, inspect, stop, start, kill, rm, wait,
 * pause and rename do, over the records and the monitors. Each takes the container's lock for
 * its changes; none holds it while waiting for a monitor (the monitor takes it to record an
 * exit). */
#ifndef HUSK_ENGINE_OPS_H
#define HUSK_ENGINE_OPS_H

#include <stdbool.h>
#include <jansson.h>

#include "engine.h"

/* The record as it truly is: a container recorded running (or restarting, paused) whose
 * monitor is gone is recorded exited, with ExitCode 137 and State.Error saying why, and what it
 * held (processes, lease, runtime state) is released. */
int husk_engine_inspect(const struct husk_engine *e, const char *id, json_t **rec, struct husk_err *err);

/* docker stop: the stop signal (--stop-signal, the image's, SIGTERM), then SIGKILL after
 * timeout seconds (-1: the container's own --stop-timeout, else 10). Not a restart: the policy
 * does not bring it back. A stopped container is no error. */
int husk_engine_stop(const struct husk_engine *e, const char *id, int timeout, struct husk_err *err);
/* Send sig to the container's init (or every process, all). */
int husk_engine_kill(const struct husk_engine *e, const char *id, int sig, struct husk_err *err);
/* docker start: a new monitor; a running container is no error. Returns the connection to the
 * monitor (the caller attaches or closes it), or -2 when it was running already. */
int husk_engine_start(const struct husk_engine *e, const char *id, struct husk_err *err);
/* docker rm: a running container is refused unless force (then killed first). */
int husk_engine_rm(const struct husk_engine *e, const char *id, bool force, struct husk_err *err);
/* docker wait: block until the container is not running; its exit code. */
int husk_engine_wait(const struct husk_engine *e, const char *id, struct husk_err *err);
int husk_engine_pause(const struct husk_engine *e, const char *id, bool pause, struct husk_err *err);
int husk_engine_rename(const struct husk_engine *e, const char *id, const char *name, struct husk_err *err);

/* husk system boot: after a reboot (the runtime directory gone), every container recorded
 * running is recorded exited, and those with restart policy always, or unless-stopped and not
 * stopped by hand, are started. Returns how many failed to start (their errors through warn). */
int husk_engine_boot(const struct husk_engine *e, struct husk_err *err);

#endif
