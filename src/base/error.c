/*
 * error.c: error codes, their stable names, their exit statuses, and the
 * per-thread one-line message that explains the last failure.
 */
#include "base.h"

#include <stdio.h>
#include <string.h>

#define ERRMSG_MAX 512

static _Thread_local char errmsg[ERRMSG_MAX];

static const struct {
	const char *name;
	int exit_status;
} err_table[JPKI_ERR__COUNT] = {
	[JPKI_OK] = {"ok", 0},
	[JPKI_ERR_USAGE] = {"usage", 2},
	[JPKI_ERR_INPUT] = {"bad-input", 2},
	[JPKI_ERR_REFUSED] = {"refused", 1},
	[JPKI_ERR_VERIFY] = {"verify-failed", 1},
	[JPKI_ERR_NOTFOUND] = {"not-found", 2},
	[JPKI_ERR_CONFLICT] = {"conflict", 1},
	[JPKI_ERR_PIN] = {"wrong-pin", 1},
	[JPKI_ERR_LOCKED] = {"pin-locked", 1},
	[JPKI_ERR_IO] = {"io", 3},
	[JPKI_ERR_CRYPTO] = {"crypto", 3},
	[JPKI_ERR_NOMEM] = {"no-memory", 3},
	[JPKI_ERR_INTERNAL] = {"internal", 3},
};

const char *
jpki_strerr(int code)
{
	if (code < 0 || code >= JPKI_ERR__COUNT)
		return "unknown";
	return err_table[code].name;
}

int
jpki_exit_status(int code)
{
	if (code < 0 || code >= JPKI_ERR__COUNT)
		return 3;
	return err_table[code].exit_status;
}

int
jpki_vfail(int code, const char *fmt, va_list ap)
{
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	/* One line: a message never carries a newline onto the terminal. */
	for (char *p = errmsg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return code;
}

int
jpki_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jpki_vfail(code, fmt, ap);
	va_end(ap);
	return code;
}

const char *
jpki_errmsg(void)
{
	return errmsg;
}

void
jpki_errclear(void)
{
	errmsg[0] = '\0';
}
