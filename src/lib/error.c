#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int husk_err_set(struct husk_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->msg[0] != '\0')
		return -1;
	err->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int husk_err_wrap(struct husk_err *err, const char *fmt, ...)
{
	char prefix[HUSK_ERR_MSG_MAX], old[HUSK_ERR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return -1;
}

const char *husk_err_format(const struct husk_err *err, char *buf, size_t len)
{
	if (err->errnum != 0)
		snprintf(buf, len, "%s: %s", err->msg, strerror(err->errnum));
	else
		snprintf(buf, len, "%s", err->msg);
	return buf;
}

void husk_err_clear(struct husk_err *err)
{
	err->errnum = 0;
	err->msg[0] = '\0';
}

int husk_err_copy(struct husk_err *dst, const struct husk_err *src)
{
	if (dst && !dst->msg[0])
		*dst = *src;
	return -1;
}
