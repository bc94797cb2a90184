/* Where a value sits in a JSON text, for error messages that name line and column.
 * jansson records positions only for syntax errors; validation errors find the value again
 * by walking the (already validated) text along the value's path. Pure logic, no syscalls. */
#ifndef HUSK_JSONPOS_H
#define HUSK_JSONPOS_H

#include <stddef.h>

/* One step of a path: an object key (key != NULL) or an array index. */
struct husk_json_step {
	const char *key;
	size_t index;
};

/* Position (1-based line and column) of the value at path; 0 on success, -1 if not found,
 * in which case line and col are those of the deepest value found on the way. */
int husk_json_locate(const char *text, size_t len, const struct husk_json_step *path, size_t depth,
		     int *line, int *col);

#endif
