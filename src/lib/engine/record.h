/* What the engine remembers of a container, and where.
 *
 *   STORAGE/containers/ID/container.json   the record: docker-inspect shaped (Id, Name, Created,
 *                                           Config, HostConfig, State, RestartCount, LogPath,
 *                                           NetworkSettings, Mounts), replaced atomically
 *   STORAGE/containers/ID/ (the directory)  flock: one husk command at a time on a container
 *   STORAGE/names/NAME                      a symlink to ID: symlinkat claims a name atomically
 *   RUN/ID/monitor.lock                     flock held by the container's monitor while it lives
 *   RUN/ID/attach                           the monitor's socket (clients attach there)
 *
 * RUN is the engine's runtime directory, `<--root>-engine` (/run/husk-engine): it is gone after
 * a reboot, and so are the monitors; the records say what the containers were. */
#ifndef HUSK_ENGINE_RECORD_H
#define HUSK_ENGINE_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "../error.h"

struct husk_engine;

#define HUSK_ID_LEN 64

/* The record of container id, or -1 with errno ENOENT in err when there is none. A container
 * directory without a record (husk was killed while making it) reads as a record with
 * State.Status "dead", so that it can be listed and removed. */
int husk_record_load(const struct husk_engine *e, const char *id, json_t **rec, struct husk_err *err);
/* Written to a temporary file and renamed over the old one. */
int husk_record_save(const struct husk_engine *e, const char *id, json_t *rec, struct husk_err *err);
/* The container's lock, taken exclusively (waiting for another husk command to finish); the
 * returned fd holds it until closed. */
int husk_record_lock(const struct husk_engine *e, const char *id, struct husk_err *err);
/* Every container's id (a directory under containers/), sorted by nothing in particular. */
int husk_record_list(const struct husk_engine *e, char ***ids, size_t *n, struct husk_err *err);
void husk_record_list_free(char **ids, size_t n);

/* A name, a full id or a unique prefix of one (docker's rules) → the id. */
int husk_engine_lookup(const struct husk_engine *e, const char *ref, char id[HUSK_ID_LEN + 1], struct husk_err *err);

/* Names: [a-zA-Z0-9][a-zA-Z0-9_.-]* (docker's), claimed for id or refused naming the holder. */
int husk_name_check(const char *name, struct husk_err *err);
int husk_name_claim(const struct husk_engine *e, const char *name, const char *id, struct husk_err *err);
/* Only if it is still id's. */
void husk_name_release(const struct husk_engine *e, const char *name, const char *id);
/* adjective_noun, not in use at the time of asking (the claim decides). */
char *husk_name_generate(void);

/* RUN/ID (made on demand by the monitor). */
char *husk_engine_run_path(const struct husk_engine *e, const char *id, const char *file);
/* The monitor of id holds its lock. */
bool husk_monitor_alive(const struct husk_engine *e, const char *id);

/* The wall clock (CLOCK_REALTIME) in nanoseconds. */
uint64_t husk_realtime_ns(void);
/* RFC 3339 with nanoseconds, UTC, as docker writes times: "2026-11-29T15:04:05.123456789Z". */
char *husk_time_format(uint64_t ns);
/* The inverse (also accepts a plain Unix time in seconds, and durations like 10m, 2h, 30s
 * before now, for --since); 0 on success. */
int husk_time_parse(const char *text, uint64_t now_ns, uint64_t *ns);

#endif
