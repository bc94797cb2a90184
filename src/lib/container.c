#define _GNU_SOURCE
#include "container.h"

#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "caps.h"
#include "cgroup.h"
#include "cgroup_limits.h"
#include "defaults.h"
#include "fdpass.h"
#include "hooks.h"
#include "init.h"
#include "lsm.h"
#include "seccomp.h"
#include "ns.h"
#include "spawn.h"
#include "spec.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

#define EXEC_FIFO "exec.fifo"

int husk_write_pid_file(const char *path, pid_t pid, struct husk_err *err)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d", (int)pid);

	return husk_write_file_atomic(path, buf, (size_t)len, 0644, err);
}

/* Joining a pid or user namespace, or a new time namespace with offsets, only affects the
 * children of the caller: a short-lived spawner does those and clones the init with
 * CLONE_PARENT, so the init is still husk's child. Without them husk clones the init itself. */
static bool needs_spawner(const struct husk_spec *spec)
{
	return (spec->ns_join & (CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWTIME)) || (spec->ns_new & CLONE_NEWTIME);
}

/* In the init a spawner cloned: the spawner joined the cgroup and the namespaces and closed
 * their fds (and the state lock), so the numbers the context holds name nothing any more. */
__attribute__((noreturn)) static void spawned_init(void *arg)
{
	static const struct husk_ns_joins none;
	struct husk_init_ctx *ictx = arg;

	ictx->cgroup->n_attach_fds = 0;
	ictx->cgroup->v2_dirfd = -1;
	ictx->joins = &none;
	ictx->joined = true;
	ictx->lock_fd = -1;
	husk_init_run(ictx);
}

static pid_t spawn_init(struct husk_init_ctx *ictx, int parent_sync, struct husk_err *err)
{
	const struct husk_spec *spec = ictx->spec;
	/* the cgroup namespace is unshared by the init after it joined its cgroup; a new time
	 * namespace is made by the spawner, whose children are born in it */
	unsigned long long flags = spec->ns_new & ~(unsigned long)(CLONE_NEWCGROUP | CLONE_NEWTIME);
	int cgroup_fd = ictx->cgroup->v2 ? ictx->cgroup->v2_dirfd : -1;
	pid_t pid;

	if (!needs_spawner(spec)) {
		/* the init is born in new namespaces (a new pid namespace among them, or the host's),
		 * where nothing of a container's can see it while it holds the cgroup's fds */
		pid = husk_clone3(flags, cgroup_fd);
		if (pid < 0 && cgroup_fd >= 0 && (errno == EBUSY || errno == EOPNOTSUPP || errno == EINVAL)) {
			/* the cgroup refuses CLONE_INTO_CGROUP (threaded or domain-invalid):
			 * the init joins through cgroup.procs instead */
			_cleanup_free_ char *procs = husk_xasprintf("%s/cgroup.procs", ictx->cgroup->h[0].dir);
			int fd = open(procs, O_WRONLY | O_CLOEXEC);
			if (fd < 0)
				return husk_err_sys(err, "open %s", procs);
			ictx->cgroup->attach_fds[ictx->cgroup->n_attach_fds++] = fd;
			pid = husk_clone3(flags, -1);
		}
		if (pid < 0)
			return husk_err_sys(err, "clone the container init (namespaces %#llx)", flags);
		if (pid == 0) {
			close(parent_sync);
			husk_init_run(ictx);
		}
		return pid;
	}

	/* a joined pid namespace is another container's: the init is visible there from its
	 * clone on, so it is born holding only what it needs */
	const int keep[] = {ictx->sync_fd, ictx->start_fd, ictx->console_fd, ictx->listener_fd, ictx->root_mount_fd};
	struct husk_spawn sp = {
		.joins = ictx->joins, .new_time = (spec->ns_new & CLONE_NEWTIME) ? spec : NULL, .clone_flags = flags,
		.cgroup_fd = cgroup_fd, .attach_fds = ictx->cgroup->attach_fds, .n_attach = ictx->cgroup->n_attach_fds,
		.keep = keep, .n_keep = ARRAY_SIZE(keep), .preserve_fds = ictx->preserve_fds,
		.run = spawned_init, .arg = ictx,
	};
	return husk_spawn(&sp, err);
}

static char *resolve_rootfs(const char *bundle, const char *root_path, struct husk_err *err)
{
	_cleanup_free_ char *joined = root_path[0] == '/' ? husk_xstrdup(root_path)
							  : husk_xasprintf("%s/%s", bundle, root_path);
	char *real = realpath(joined, NULL);
	struct stat st;

	if (!real) {
		husk_err_sys(err, "root.path %s", joined);
		return NULL;
	}
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		husk_err_set(err, ENOTDIR, "root.path %s", joined);
		free(real);
		return NULL;
	}
	return real;
}

static char *owner_name(void)
{
	struct passwd *pw = getpwuid(geteuid());
	return husk_xstrdup(pw ? pw->pw_name : "");
}

/* Undo a create that failed half way: its init, the cgroups husk made, its state directory.
 * Only leaves husk created are emptied: a leaf that was there before is not the container's. */
static void abandon(const char *root, const char *id, pid_t pid, struct husk_cgroup *cg)
{
	struct husk_err ignored = {0};
	char **leaves = husk_xcalloc(cg->n + 1, sizeof(char *));
	size_t n = 0;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	for (size_t i = 0; i < cg->n; i++)
		for (size_t j = 0; j < cg->n_created; j++)
			if (strcmp(cg->h[i].dir, cg->created[j]) == 0)
				leaves[n++] = cg->h[i].dir;
	husk_cgroup_destroy(leaves, n, cg->created, cg->n_created, true, &ignored);
	free(leaves);
	husk_state_remove(root, id, &ignored);
}

static char **copy_strings(char *const *v, size_t n)
{
	char **out = husk_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = husk_xstrdup(v[i]);
	return out;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Record the container's cgroups in its state. Before husk_cgroup_create has run (planned),
 * what it is about to make (each missing directory on the way, the default "husk" parent, the
 * leaves) is recorded, so `delete --force` finds them even after a crash in between. */
static void state_cgroups(struct husk_state *st, const struct husk_cgroup *cg, bool planned)
{
	char **leaves = husk_xcalloc(cg->n + 1, sizeof(char *));

	for (size_t i = 0; i < cg->n; i++)
		leaves[i] = cg->h[i].dir;
	free_strings(st->cgroup_dirs, st->n_cgroup_dirs);
	free_strings(st->cgroup_created, st->n_cgroup_created);
	st->cgroup_dirs = copy_strings(leaves, cg->n);
	st->n_cgroup_dirs = cg->n;
	if (planned) {
		st->cgroup_created = husk_cgroup_plan_created(cg, &st->n_cgroup_created);
	} else {
		st->cgroup_created = copy_strings(cg->created, cg->n_created);
		st->n_cgroup_created = cg->n_created;
	}
	free(leaves);
}

static char *state_text(const struct husk_state *st, enum husk_status status)
{
	json_t *state = husk_state_to_json(st, status);
	char *text = json_dumps(state, JSON_COMPACT);

	json_decref(state);
	return text;
}

/* The init has made its namespaces and waits: run prestart and createRuntime in husk's own
 * namespaces, then hand it the state for createContainer and for startContainer. Each hook sees
 * the status the runtime-spec's lifecycle has at its step: the create hooks run while the
 * container is being created ("creating"); startContainer runs after create finished and before
 * the program ("created"), as in runc. */
static int run_create_hooks(int sync_fd, struct husk_state *st, pid_t pid, const struct husk_spec *spec,
			    struct husk_err *err)
{
	_cleanup_sync_msg_ struct husk_sync_msg msg = {0};
	_cleanup_free_ char *creating = NULL, *created = NULL;

	if (husk_sync_expect(sync_fd, HUSK_SYNC_HOOKS, &msg, err) < 0)
		return -1;
	st->pid = pid;
	creating = state_text(st, HUSK_CREATING);
	created = state_text(st, HUSK_CREATED);
	if (!creating || !created)
		return husk_err_set(err, ENOMEM, "encode the state for the hooks");
	if (husk_hooks_run(spec, HUSK_HOOK_PRESTART, creating, err) < 0 ||
	    husk_hooks_run(spec, HUSK_HOOK_CREATE_RUNTIME, creating, err) < 0)
		return -1;
	if (husk_sync_send_text(sync_fd, HUSK_SYNC_STATE, creating, err) < 0 ||
	    husk_sync_send_text(sync_fd, HUSK_SYNC_STATE, created, err) < 0)
		return husk_err_wrap(err, "the state for the hooks");
	return 0;
}

/* poststart / poststop: from the config in the bundle, as it is now. Their failure is only a
 * warning (the runtime-spec): reported as 1 with err set. */
static int run_post_hooks(const struct husk_state *st, enum husk_hook_kind kind, enum husk_status status,
			  struct husk_err *err)
{
	struct husk_spec spec;
	_cleanup_free_ char *text = NULL;
	int rc;

	if (!st->hooks)
		return 0;
	if (husk_spec_load(st->bundle, &spec, err) < 0) {
		husk_err_wrap(err, "%s hooks", husk_hook_kind_names[kind]);
		return 1;
	}
	text = state_text(st, status);
	rc = husk_hooks_run_all(&spec, kind, text ? text : "{}", err) < 0 ? 1 : 0;
	husk_spec_free(&spec);
	return rc;
}

/* The runtime-spec's container process state, for the seccomp listener. */
static int send_listener_state(int sync_fd, const struct husk_state *st, const struct husk_spec *spec,
			       struct husk_err *err)
{
	json_t *doc = json_pack("{s:s, s:[s], s:I, s:s, s:o}", "ociVersion", HUSK_OCI_VERSION, "fds", "seccompFd", "pid",
				(json_int_t)st->pid, "metadata",
				spec->seccomp.listener_metadata ? spec->seccomp.listener_metadata : "", "state",
				husk_state_to_json(st, HUSK_CREATED));
	_cleanup_free_ char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc;

	json_decref(doc);
	if (!text)
		return husk_err_set(err, ENOMEM, "encode the state for the seccomp listener");
	rc = husk_sync_send_text(sync_fd, HUSK_SYNC_STATE, text, err);
	return rc < 0 ? husk_err_wrap(err, "the state for the seccomp listener") : 0;
}

/* The uid/gid maps are written: let the init go on. With a new user namespace and a new mount
 * namespace, the root's and the bundle's directories go with the message, opened here as the
 * host's root through /proc/PID/root, that is in the init's new mount namespace: its root may
 * not be allowed to walk their parents (a 0700 directory on the way), and needs none of them. */
static int send_mapped(int sync_fd, pid_t pid, const struct husk_spec *spec, const char *bundle, const char *rootfs,
		       struct husk_err *err)
{
	_cleanup_free_ char *root_path = NULL, *bundle_path = NULL;
	_cleanup_close_ int root_dir = -1, bundle_dir = -1;

	if (!(spec->ns_new & CLONE_NEWNS))
		return husk_sync_send(sync_fd, HUSK_SYNC_MAPPED, 0, err);
	root_path = husk_xasprintf("/proc/%d/root%s", (int)pid, rootfs);
	bundle_path = husk_xasprintf("/proc/%d/root%s", (int)pid, bundle);
	root_dir = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_dir < 0)
		return husk_err_sys(err, "open the root %s in the container's mount namespace", rootfs);
	bundle_dir = open(bundle_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (bundle_dir < 0)
		return husk_err_sys(err, "open the bundle %s in the container's mount namespace", bundle);
	return husk_sync_send_fds(sync_fd, HUSK_SYNC_MAPPED, (int[]){root_dir, bundle_dir}, 2, err);
}

int husk_container_create(const struct husk_create_opts *o, struct husk_container *c, struct husk_err *err)
{
	struct husk_spec spec;
	struct husk_state st = {0};
	struct husk_cgroup cg;
	struct husk_ns_joins joins = {0};
	_cleanup_free_ char *bundle = NULL;
	_cleanup_close_ int lock_fd = -1, fifo_fd = -1, console_fd = -1, listener_fd = -1, terminal_receiver = -1;
	_cleanup_free_ char *cache_dir = NULL, *systemd_path = NULL;
	_cleanup_free_ struct husk_cgroup_write *limits = NULL;
	size_t n_limits = 0;
	struct husk_bpf bpf = {0};
	int sv[2] = {-1, -1};
	pid_t pid = -1;
	int rc = -1;
	bool claimed = false;

	memset(c, 0, sizeof(*c));
	c->sync_fd = c->lock_fd = c->terminal_fd = -1;
	memset(&cg, 0, sizeof(cg));
	cg.v2_dirfd = -1;
	if (husk_state_check_id(o->id, err) < 0)
		return -1;
	bundle = realpath(o->bundle, NULL);
	if (!bundle)
		return husk_err_sys(err, "bundle %s", o->bundle);
	/* everything the config says is checked before anything is created */
	if (husk_spec_load(bundle, &spec, err) < 0)
		return -1;
	if (!spec.has_process && o->run) {
		husk_err_set(err, 0, "config.json: no \"process\": there is nothing to run (create accepts such a "
			     "config; start refuses it)");
		goto out;
	}
	if (spec.process.terminal && !o->console_socket && !o->run) {
		husk_err_set(err, EINVAL, "process.terminal is true: --console-socket is required");
		goto out;
	}
	if (spec.process.terminal && !o->console_socket && !o->relay_terminal) {
		husk_err_set(err, EINVAL, "process.terminal is true: --console-socket is required");
		goto out;
	}
	husk_lsm_check(&spec, o->warn, o->warn_arg);
	{
		struct husk_err warning = {0};
		if (husk_caps_ambient_warning(&spec.process, &warning) && o->warn)
			o->warn(o->warn_arg, &warning);
	}
	/* compiled (or found in the cache) before anything is created: a bad filter fails here */
	cache_dir = husk_xasprintf("%s/.cache", o->root);
	if (husk_seccomp_prepare(&spec, cache_dir, &bpf, err) < 0)
		goto out;
	if (spec.seccomp.listener_path &&
	    (listener_fd = husk_terminal_connect_socket(spec.seccomp.listener_path, err)) < 0)
		goto out;
	st.rootfs = resolve_rootfs(bundle, spec.root_path, err);
	if (!st.rootfs || husk_ns_open_joins(&spec, &joins, err) < 0)
		goto out;
	if (o->console_socket && (console_fd = husk_terminal_connect_socket(o->console_socket, err)) < 0)
		goto out;
	/* husk oci run relaying the terminal itself: a socket pair stands in for the console
	 * socket, and the master comes back to this process */
	if (spec.process.terminal && !o->console_socket && husk_terminal_pair(&console_fd, &terminal_receiver, err) < 0)
		goto out;
	if (o->systemd_cgroup) {
		systemd_path = husk_cgroup_systemd_path(spec.cgroups_path, o->id, err);
		if (!systemd_path)
			goto out;
	}
	if (husk_cgroup_resolve(&cg, systemd_path ? systemd_path : spec.cgroups_path, o->id, err) < 0 ||
	    husk_cgroup_plan(&spec.resources, cg.v2, &limits, &n_limits, err) < 0)
		goto out;

	/* the id first: "already exists" must name the container, not its cgroup */
	if (husk_state_create(o->root, o->id, &lock_fd, err) < 0)
		goto out;
	claimed = true;
	if (husk_cgroup_check_new(&cg, err) < 0)
		goto out;
	st.id = husk_xstrdup(o->id);
	st.bundle = husk_xstrdup(bundle);
	st.created = husk_timestamp_now();
	st.owner = owner_name();
	st.status = HUSK_CREATING;
	st.annotations = json_incref(spec.annotations);
	st.no_new_keyring = o->no_new_keyring;
	for (int k = 0; k < HUSK_HOOK_KINDS; k++)
		st.hooks = st.hooks || spec.n_hooks[k];
	st.no_process = !spec.has_process;
	state_cgroups(&st, &cg, true);
	if (husk_state_write(lock_fd, &st, err) < 0 || husk_cgroup_create(&cg, err) < 0)
		goto out;
	state_cgroups(&st, &cg, false);
	if (husk_cgroup_apply_devices(&cg, &spec, err) < 0)
		goto out;
	/* v2: the leaf has a controller only if its parent enables it; enabled always, so that
	 * update, events and stats work for a container created without limits */
	if (cg.v2 && husk_cgroup_enable_controllers(cg.created, cg.n_created, cg.h[0].dir, err) < 0)
		goto out;
	if (husk_cgroup_apply(st.cgroup_dirs, st.n_cgroup_dirs, limits, n_limits, err) < 0)
		goto out;

	if (!o->run) {
		if (mkfifoat(lock_fd, EXEC_FIFO, 0600) < 0) {
			husk_err_sys(err, "create %s/%s/%s", o->root, o->id, EXEC_FIFO);
			goto out;
		}
		fifo_fd = openat(lock_fd, EXEC_FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fifo_fd < 0) {
			husk_err_sys(err, "open %s", EXEC_FIFO);
			goto out;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		husk_err_sys(err, "socketpair");
		goto out;
	}

	struct husk_init_ctx ictx = {
		.spec = &spec, .bundle = bundle, .rootfs = st.rootfs, .cgroup = &cg, .joins = &joins, .sync_fd = sv[1], .lock_fd = lock_fd,
		.start_fd = fifo_fd, .console_fd = console_fd, .preserve_fds = o->preserve_fds,
		.seccomp = &bpf, .listener_fd = listener_fd, .root_mount_fd = o->has_root_mount ? o->root_mount_fd : -1,
		.no_pivot = o->no_pivot, .no_new_keyring = o->no_new_keyring, .die_with_parent = o->die_with_parent,
	};
	pid = spawn_init(&ictx, sv[0], err);
	close(sv[1]);
	sv[1] = -1;
	if (pid < 0)
		goto out;
	husk_cgroup_close_fds(&cg);
	if (spec.ns_new & CLONE_NEWUSER) {
		if (husk_ns_write_idmaps(pid, &spec, err) < 0 || send_mapped(sv[0], pid, &spec, bundle, st.rootfs, err) < 0)
			goto out;
	}
	if (husk_hooks_during_create(&spec) && run_create_hooks(sv[0], &st, pid, &spec, err) < 0)
		goto out;
	{
		_cleanup_sync_msg_ struct husk_sync_msg msg = {0};
		if (husk_sync_expect(sv[0], HUSK_SYNC_READY, &msg, err) < 0) {
			if (err->errnum == EPIPE) {
				int status = 0;
				husk_err_clear(err);
				waitpid(pid, &status, 0);
				pid = -1;
				husk_err_set(err, 0, "the container init died while setting up (status %#x)", status);
			}
			goto out;
		}
	}
	st.pid = pid;
	st.start_time = husk_proc_start_time(pid, NULL);
	st.status = HUSK_CREATED;
	if (husk_state_write(lock_fd, &st, err) < 0)
		goto out;
	if (listener_fd >= 0 && send_listener_state(sv[0], &st, &spec, err) < 0)
		goto out;
	if (o->pid_file && husk_write_pid_file(o->pid_file, pid, err) < 0)
		goto out;
	if (terminal_receiver >= 0 && (c->terminal_fd = husk_recv_fd(terminal_receiver, err)) < 0)
		goto out;
	c->pid = pid;
	c->sync_fd = sv[0];
	sv[0] = -1;
	c->lock_fd = steal_fd(&lock_fd);
	rc = 0;
out:
	if (rc < 0 && claimed)
		abandon(o->root, o->id, pid, &cg);
	if (sv[0] >= 0)
		close(sv[0]);
	husk_ns_close_joins(&joins);
	husk_bpf_free(&bpf);
	husk_cgroup_free(&cg);
	husk_state_free(&st);
	husk_spec_free(&spec);
	return rc;
}

int husk_container_start_created(struct husk_container *c, struct husk_err *err)
{
	struct husk_state st;
	int rc;

	if (husk_sync_send(c->sync_fd, HUSK_SYNC_START, 0, err) < 0)
		return -1;
	if (husk_state_read(c->lock_fd, &st, err) < 0)
		return -1;
	st.status = HUSK_RUNNING;
	rc = husk_state_write(c->lock_fd, &st, err);
	if (rc == 0)
		rc = run_post_hooks(&st, HUSK_HOOK_POSTSTART, HUSK_RUNNING, err);
	husk_state_free(&st);
	return rc;
}

int husk_container_start(const char *root, const char *id, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1, fifo = -1;
	struct husk_state st;
	enum husk_status status;
	int rc = -1;

	if (husk_state_load(root, id, &lock_fd, &st, err) < 0)
		return -1;
	status = husk_state_status(&st);
	if (status != HUSK_CREATED) {
		husk_err_set(err, EINVAL, "container \"%s\" is %s, not created", id, husk_status_name(status));
		goto out;
	}
	/* the runtime-spec: start fails when process was not set, and the container stays as it
	 * was (created, its init waiting): checked before the fifo is touched */
	if (st.no_process) {
		husk_err_set(err, 0, "container \"%s\" has no process to start: its config.json had no \"process\"", id);
		goto out;
	}
	/* O_NONBLOCK: if the init is gone there is no reader and this fails instead of hanging */
	fifo = openat(lock_fd, EXEC_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0) {
		husk_err_sys(err, "release container \"%s\" (open %s)", id, EXEC_FIFO);
		goto out;
	}
	if (write(fifo, "0", 1) != 1) {
		husk_err_sys(err, "release container \"%s\"", id);
		goto out;
	}
	unlinkat(lock_fd, EXEC_FIFO, 0);
	st.status = HUSK_RUNNING;
	rc = husk_state_write(lock_fd, &st, err);
	if (rc == 0)
		rc = run_post_hooks(&st, HUSK_HOOK_POSTSTART, HUSK_RUNNING, err);
out:
	husk_state_free(&st);
	return rc;
}

int husk_container_kill(const char *root, const char *id, int sig, bool all, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	struct husk_state st;
	enum husk_status status;
	int rc = -1;

	if (husk_state_load(root, id, &lock_fd, &st, err) < 0)
		return -1;
	status = husk_state_status(&st);
	if (all && st.n_cgroup_dirs > 0) {
		/* every process of the container, also those a dead init left behind */
		rc = husk_cgroup_kill(st.cgroup_dirs[0], sig, err);
	} else if (status == HUSK_STOPPED || status == HUSK_CREATING) {
		husk_err_set(err, ESRCH, "container \"%s\" is not running", id);
	} else if (kill(st.pid, sig) < 0) {
		husk_err_sys(err, "kill container \"%s\" (pid %d)", id, (int)st.pid);
	} else {
		rc = 0;
	}
	husk_state_free(&st);
	return rc;
}

int husk_container_delete(const char *root, const char *id, bool force, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	struct husk_state st;
	enum husk_status status;
	int rc = -1;

	if (husk_state_load(root, id, &lock_fd, &st, err) < 0)
		return -1;
	status = husk_state_status(&st);
	if (status == HUSK_RUNNING && !force) {
		husk_err_set(err, EBUSY, "container \"%s\" is running: stop it first or use --force", id);
		goto out;
	}
	if (status == HUSK_PAUSED && !force) {
		husk_err_set(err, EBUSY, "container \"%s\" is paused: resume it first or use --force", id);
		goto out;
	}
	if (status == HUSK_CREATED || status == HUSK_RUNNING || status == HUSK_PAUSED) {
		if (kill(st.pid, SIGKILL) < 0 && errno != ESRCH) {
			husk_err_sys(err, "kill container \"%s\" (pid %d)", id, (int)st.pid);
			goto out;
		}
	}
	/* frozen tasks cannot die: thaw first (SIGKILL is queued and acted on at once) */
	if (status == HUSK_PAUSED)
		husk_cgroup_freeze(st.cgroup_dirs, st.n_cgroup_dirs, false, &(struct husk_err){0});
	/* force: the cgroup may hold processes the init left behind (or a create that crashed) */
	if (husk_cgroup_destroy(st.cgroup_dirs, st.n_cgroup_dirs, st.cgroup_created, st.n_cgroup_created, true, err) < 0)
		goto out;
	{
		/* poststop after the container is gone, before its state is: a warning at most */
		struct husk_err warning = {0};
		int post = run_post_hooks(&st, HUSK_HOOK_POSTSTOP, HUSK_STOPPED, &warning);
		rc = husk_state_remove(root, id, err);
		if (rc == 0 && post == 1) {
			*err = warning;
			rc = 1;
		}
	}
out:
	husk_state_free(&st);
	return rc;
}

int husk_container_state(const char *root, const char *id, json_t **out, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	struct husk_state st;

	if (husk_state_load(root, id, &lock_fd, &st, err) < 0)
		return -1;
	*out = husk_state_to_json(&st, husk_state_status(&st));
	husk_state_free(&st);
	return 0;
}

static int open_live(const char *root, const char *id, int *lock_fd, struct husk_state *st, const char *verb,
		     struct husk_err *err)
{
	enum husk_status status;

	if (husk_state_load(root, id, lock_fd, st, err) < 0)
		return -1;
	status = husk_state_status(st);
	if (status == HUSK_STOPPED || status == HUSK_CREATING) {
		husk_err_set(err, ESRCH, "%s: container \"%s\" is %s", verb, id, husk_status_name(status));
		husk_state_free(st);
		return -1;
	}
	return 0;
}

int husk_container_update(const char *root, const char *id, const struct husk_resources *res, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	_cleanup_free_ struct husk_cgroup_write *writes = NULL;
	struct husk_state st;
	size_t n;
	int rc = -1;

	if (open_live(root, id, &lock_fd, &st, "update", err) < 0)
		return -1;
	if (husk_cgroup_plan(res, husk_cgroup_dirs_v2(st.cgroup_dirs, st.n_cgroup_dirs), &writes, &n, err) == 0 &&
	    (!husk_cgroup_dirs_v2(st.cgroup_dirs, st.n_cgroup_dirs) ||
	     husk_cgroup_enable_controllers(st.cgroup_created, st.n_cgroup_created, st.cgroup_dirs[0], err) == 0))
		rc = husk_cgroup_apply(st.cgroup_dirs, st.n_cgroup_dirs, writes, n, err);
	husk_state_free(&st);
	return rc;
}

int husk_container_pause(const char *root, const char *id, bool pause, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	struct husk_state st;
	enum husk_status status;
	int rc = -1;

	if (open_live(root, id, &lock_fd, &st, pause ? "pause" : "resume", err) < 0)
		return -1;
	status = husk_state_status(&st);
	if (pause && status != HUSK_RUNNING)
		husk_err_set(err, EINVAL, "container \"%s\" is %s, not running", id, husk_status_name(status));
	else if (!pause && status != HUSK_PAUSED)
		husk_err_set(err, EINVAL, "container \"%s\" is %s, not paused", id, husk_status_name(status));
	else if (husk_cgroup_freeze(st.cgroup_dirs, st.n_cgroup_dirs, pause, err) == 0) {
		st.status = pause ? HUSK_PAUSED : HUSK_RUNNING;
		rc = husk_state_write(lock_fd, &st, err);
	}
	husk_state_free(&st);
	return rc;
}

int husk_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	struct husk_state st;
	int rc;

	if (husk_state_load(root, id, &lock_fd, &st, err) < 0)
		return -1;
	if (st.n_cgroup_dirs == 0) {
		husk_state_free(&st);
		return husk_err_set(err, ENOENT, "container \"%s\" has no cgroup", id);
	}
	rc = husk_cgroup_pids(st.cgroup_dirs[0], pids, n, err);
	husk_state_free(&st);
	return rc;
}

int husk_container_stats(const char *root, const char *id, json_t **stats, long long *oom_kills,
			 enum husk_status *status, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	struct husk_state st;

	if (husk_state_load(root, id, &lock_fd, &st, err) < 0)
		return -1;
	*status = husk_state_status(&st);
	/* the OOM count alone (a container's end) reads one file, not every statistic */
	if (stats)
		*stats = husk_cgroup_stats(st.cgroup_dirs, st.n_cgroup_dirs);
	*oom_kills = husk_cgroup_oom_kills(st.cgroup_dirs, st.n_cgroup_dirs);
	husk_state_free(&st);
	return 0;
}
