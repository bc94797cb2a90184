/* OCI hooks: programs run at set points of a container's life with its state on stdin. */
#ifndef HUSK_HOOKS_H
#define HUSK_HOOKS_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/* Run the hooks of one kind in order, each with state_json on its stdin, its args and env, and
 * killed after its timeout. The first that fails (exit status, signal, timeout, exec) stops the
 * run and is the error. */
int husk_hooks_run(const struct husk_spec *spec, enum husk_hook_kind kind, const char *state_json, struct husk_err *err);
/* The same for hooks whose failure is only a warning (poststart, poststop): every hook runs
 * whatever the others did; -1 if any failed, with err naming each failure. */
int husk_hooks_run_all(const struct husk_spec *spec, enum husk_hook_kind kind, const char *state_json,
		       struct husk_err *err);

/* Does the config have any hook of those that run during create (prestart, createRuntime,
 * createContainer, startContainer)? */
bool husk_hooks_during_create(const struct husk_spec *spec);

#endif
