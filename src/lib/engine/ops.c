#define _GNU_SOURCE
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "monitor.h"
#include "record.h"
#include "../container.h"
#include "../names.h"
#include "../util.h"

static const char *status_of(json_t *rec)
{
	const char *s = json_string_value(json_object_get(json_object_get(rec, "State"), "Status"));
	return s ? s : "dead";
}

/* Statuses in which a monitor must be alive. */
static bool needs_monitor(const char *status)
{
	return strcmp(status, "running") == 0 || strcmp(status, "paused") == 0 || strcmp(status, "restarting") == 0;
}

/* The monitor is gone but the record says it runs: killed (SIGKILL of the monitor, which takes
 * the container with it), or a reboot. Under the lock: record the truth, release the rest. */
static int reconcile(const struct husk_engine *e, const char *id, json_t **rec, bool locked, struct husk_err *err)
{
	_cleanup_close_ int lock = -1;
	_cleanup_free_ char *now = NULL, *run = NULL;
	struct husk_err ignored = {0};
	json_t *state;

	if (!needs_monitor(status_of(*rec)) || husk_monitor_alive(e, id))
		return 0;
	/* (a caller that holds the lock has read *rec under it: a second lock, another open file
	 * description, would wait for the first for ever) */
	if (!locked) {
		lock = husk_record_lock(e, id, err);
		if (lock < 0)
			return -1;
		json_decref(*rec);
		*rec = NULL;
		if (husk_record_load(e, id, rec, err) < 0)
			return -1;
		/* again under the lock: a monitor may have started or ended it meanwhile */
		if (!needs_monitor(status_of(*rec)) || husk_monitor_alive(e, id))
			return 0;
	}
	/* whatever is left of it (a set-user-ID init keeps running without its monitor) */
	husk_container_kill(e->root, id, SIGKILL, true, &ignored);
	husk_engine_release(e, id, *rec, NULL, &ignored);
	state = json_object_get(*rec, "State");
	now = husk_time_format(husk_realtime_ns());
	json_object_set_new(state, "Status", json_string("exited"));
	json_object_set_new(state, "Running", json_false());
	json_object_set_new(state, "Paused", json_false());
	json_object_set_new(state, "Restarting", json_false());
	json_object_set_new(state, "Pid", json_integer(0));
	json_object_set_new(state, "ExitCode", json_integer(137));
	json_object_set_new(state, "FinishedAt", json_string(now));
	json_object_set_new(state, "Error", json_string("its monitor ended (killed, or the machine restarted): the "
							"container was killed with it"));
	run = husk_engine_run_path(e, id, NULL);
	husk_rmtree_at(AT_FDCWD, run, &ignored);
	return husk_record_save(e, id, *rec, err);
}

int husk_engine_inspect(const struct husk_engine *e, const char *id, json_t **rec, struct husk_err *err)
{
	if (husk_record_load(e, id, rec, err) < 0)
		return -1;
	if (reconcile(e, id, rec, false, err) < 0) {
		json_decref(*rec);
		*rec = NULL;
		return -1;
	}
	return 0;
}

/* Wait until the monitor of id is gone, at most ms (-1: for ever); true if it is. The monitor
 * tells its clients when it is done; a client that asked for nothing just waits for that. */
static bool wait_monitor_gone(const struct husk_engine *e, const char *id, int ms)
{
	struct husk_err ignored = {0};
	uint64_t end = husk_now_ns() + (uint64_t)(ms < 0 ? 0 : ms) * 1000000ULL;
	int conn = husk_attach_connect(e, id, 0, &ignored);

	for (;;) {
		if (!husk_monitor_alive(e, id)) {
			if (conn >= 0)
				close(conn);
			return true;
		}
		int left = ms < 0 ? 100 : (int)((end > husk_now_ns() ? end - husk_now_ns() : 0) / 1000000ULL);
		if (ms >= 0 && left <= 0)
			break;
		if (conn >= 0) {
			struct pollfd p = {conn, POLLIN, 0};
			char buf[HUSK_ATTACH_MSG_MAX];
			if (poll(&p, 1, left > 100 ? 100 : left) > 0 && recv(conn, buf, sizeof(buf), MSG_DONTWAIT) == 0) {
				close(conn);
				conn = -1;
			}
		} else {
			struct timespec ts = {0, 10 * 1000000L};
			nanosleep(&ts, NULL);
			/* a restart between: the new relay listens again */
			conn = husk_attach_connect(e, id, 0, &ignored);
		}
	}
	if (conn >= 0)
		close(conn);
	return false;
}

static int set_manual_stop(const struct husk_engine *e, const char *id, bool stop, json_t **rec, struct husk_err *err)
{
	_cleanup_close_ int lock = husk_record_lock(e, id, err);

	if (lock < 0 || husk_record_load(e, id, rec, err) < 0)
		return -1;
	if (reconcile(e, id, rec, true, err) < 0)
		return -1;
	json_object_set_new(*rec, "ManualStop", json_boolean(stop));
	return husk_record_save(e, id, *rec, err);
}

int husk_engine_stop(const struct husk_engine *e, const char *id, int timeout, struct husk_err *err)
{
	json_t *rec = NULL, *config;
	struct husk_err ignored = {0};
	int sig = SIGTERM;

	if (set_manual_stop(e, id, true, &rec, err) < 0)
		return -1;
	if (!husk_monitor_alive(e, id)) {
		json_decref(rec);
		return 0;
	}
	config = json_object_get(rec, "Config");
	if (json_string_value(json_object_get(config, "StopSignal"))) {
		int s = husk_signal_parse(json_string_value(json_object_get(config, "StopSignal")));
		if (s > 0)
			sig = s;
	}
	if (timeout < 0)
		timeout = json_is_integer(json_object_get(config, "StopTimeout"))
				  ? (int)json_integer_value(json_object_get(config, "StopTimeout"))
				  : 10;
	json_decref(rec);
	/* a paused container takes the signal once thawed */
	husk_container_pause(e->root, id, false, &ignored);
	if (husk_container_kill(e->root, id, sig, false, &ignored) == 0 && wait_monitor_gone(e, id, timeout * 1000))
		return 0;
	husk_container_kill(e->root, id, SIGKILL, true, &ignored);
	if (!wait_monitor_gone(e, id, 30 * 1000))
		return husk_err_set(err, ETIMEDOUT, "container %.12s: its monitor did not end 30 s after SIGKILL", id);
	return 0;
}

int husk_engine_kill(const struct husk_engine *e, const char *id, int sig, struct husk_err *err)
{
	json_t *rec = NULL;

	if (husk_engine_inspect(e, id, &rec, err) < 0)
		return -1;
	if (strcmp(status_of(rec), "running") != 0 && strcmp(status_of(rec), "paused") != 0) {
		json_decref(rec);
		return husk_err_set(err, 0, "container %.12s is not running", id);
	}
	json_decref(rec);
	return husk_container_kill(e->root, id, sig, false, err);
}

int husk_engine_start(const struct husk_engine *e, const char *id, struct husk_err *err)
{
	json_t *rec = NULL;
	int conn;

	if (husk_engine_inspect(e, id, &rec, err) < 0)
		return -1;
	/* a monitor finishing its container (recording the exit) is let finish */
	if (!needs_monitor(status_of(rec)) && husk_monitor_alive(e, id))
		wait_monitor_gone(e, id, 10 * 1000);
	json_decref(rec);
	rec = NULL;
	if (set_manual_stop(e, id, false, &rec, err) < 0)
		return -1;
	if (husk_monitor_alive(e, id)) {
		json_decref(rec);
		return -2;
	}
	if (strcmp(status_of(rec), "dead") == 0 || strcmp(status_of(rec), "removing") == 0) {
		husk_err_set(err, 0, "container %.12s is %s: it cannot be started (husk rm it)", id, status_of(rec));
		json_decref(rec);
		return -1;
	}
	json_decref(rec);
	/* not under the lock, which the monitor takes to record the start: of two starts at once,
	 * one monitor gets RUN/ID/monitor.lock and the other says so */
	conn = husk_monitor_spawn(e, id, err);
	return conn;
}

int husk_engine_rm(const struct husk_engine *e, const char *id, bool force, struct husk_err *err)
{
	_cleanup_close_ int lock = -1;
	json_t *rec = NULL;
	int rc;

	if (husk_engine_inspect(e, id, &rec, err) < 0)
		return -1;
	if (husk_monitor_alive(e, id)) {
		if (!force) {
			husk_err_set(err, 0, "container %.12s is %s: stop it first (husk stop), or remove it with husk rm -f",
				     id, status_of(rec));
			json_decref(rec);
			return -1;
		}
		json_decref(rec);
		rec = NULL;
		if (husk_engine_stop(e, id, 0, err) < 0)
			return -1;
	}
	json_decref(rec);
	lock = husk_record_lock(e, id, err);
	if (lock < 0)
		return -1;
	if (husk_monitor_alive(e, id))
		return husk_err_set(err, 0, "container %.12s was started again meanwhile", id);
	rc = husk_engine_remove(e, id, err);
	return rc;
}

int husk_engine_wait(const struct husk_engine *e, const char *id, struct husk_err *err)
{
	json_t *rec = NULL;
	int code;

	if (husk_engine_inspect(e, id, &rec, err) < 0)
		return -1;
	json_decref(rec);
	rec = NULL;
	for (;;) {
		int conn = husk_attach_connect(e, id, 0, NULL);
		if (conn >= 0) {
			/* the first exit message; a restart lets us go with it too */
			char buf[HUSK_ATTACH_MSG_MAX];
			ssize_t n;
			while ((n = recv(conn, buf, sizeof(buf), 0)) > 0 || (n < 0 && errno == EINTR))
				if (n == 5 && buf[0] == HUSK_ATTACH_EXIT) {
					int32_t c;
					memcpy(&c, buf + 1, 4);
					close(conn);
					return c;
				}
			close(conn);
		}
		if (!husk_monitor_alive(e, id))
			break;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (husk_engine_inspect(e, id, &rec, err) < 0) {
		/* removed when it ended (--rm): docker wait says 0 only if it saw the exit */
		return -1;
	}
	code = (int)json_integer_value(json_object_get(json_object_get(rec, "State"), "ExitCode"));
	json_decref(rec);
	return code;
}

int husk_engine_pause(const struct husk_engine *e, const char *id, bool pause, struct husk_err *err)
{
	_cleanup_close_ int lock = husk_record_lock(e, id, err);
	json_t *rec = NULL, *state;
	int rc = -1;

	if (lock < 0 || husk_record_load(e, id, &rec, err) < 0)
		return -1;
	state = json_object_get(rec, "State");
	if (!husk_monitor_alive(e, id) || !needs_monitor(status_of(rec))) {
		husk_err_set(err, 0, "container %.12s is not running", id);
	} else if (pause == (strcmp(status_of(rec), "paused") == 0)) {
		husk_err_set(err, 0, "container %.12s is %s", id, pause ? "already paused" : "not paused");
	} else if (husk_container_pause(e->root, id, pause, err) == 0) {
		json_object_set_new(state, "Status", json_string(pause ? "paused" : "running"));
		json_object_set_new(state, "Paused", json_boolean(pause));
		rc = husk_record_save(e, id, rec, err);
	}
	json_decref(rec);
	return rc;
}

int husk_engine_rename(const struct husk_engine *e, const char *id, const char *name, struct husk_err *err)
{
	_cleanup_close_ int lock = husk_record_lock(e, id, err);
	_cleanup_free_ char *slashed = husk_xasprintf("/%s", name);
	json_t *rec = NULL;
	char *old;
	int rc;

	if (lock < 0 || husk_record_load(e, id, &rec, err) < 0)
		return -1;
	if (husk_name_claim(e, name, id, err) < 0) {
		json_decref(rec);
		return -1;
	}
	old = husk_xstrdup(json_string_value(json_object_get(rec, "Name")));
	json_object_set_new(rec, "Name", json_string(slashed));
	rc = husk_record_save(e, id, rec, err);
	if (rc == 0)
		husk_name_release(e, old, id);
	else
		husk_name_release(e, name, id);
	free(old);
	json_decref(rec);
	return rc;
}

int husk_engine_boot(const struct husk_engine *e, struct husk_err *err)
{
	char **ids = NULL;
	size_t n = 0;
	int failed = 0;

	if (husk_record_list(e, &ids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct husk_err one = {0};
		json_t *rec = NULL;
		if (husk_engine_inspect(e, ids[i], &rec, &one) < 0) {
			if (e->warn)
				e->warn(e->warn_arg, &one);
			continue;
		}
		const char *policy = json_string_value(
			json_object_get(json_object_get(json_object_get(rec, "HostConfig"), "RestartPolicy"), "Name"));
		bool start = policy && !husk_monitor_alive(e, ids[i]) &&
			     (strcmp(policy, "always") == 0 ||
			      (strcmp(policy, "unless-stopped") == 0 && !json_is_true(json_object_get(rec, "ManualStop"))));
		json_decref(rec);
		if (!start)
			continue;
		int conn = husk_engine_start(e, ids[i], &one);
		pid_t pid;
		if (conn >= 0) {
			int started = husk_monitor_started(conn, &pid, &one);
			close(conn);
			conn = started < 0 ? -1 : 0;
		}
		if (conn == -1) {
			husk_err_wrap(&one, "start %.12s", ids[i]);
			if (e->warn)
				e->warn(e->warn_arg, &one);
			failed++;
		}
	}
	husk_record_list_free(ids, n);
	return failed;
}
