/*
 * cli_hsm.c: the user PIN of the PKCS#11 token that holds a data
 * directory's keys (signer_pkcs11.c asks for it when a signer logs in).
 * Never from the command line: from `--pin-file FILE` (jpki init), else
 * $JPKI_HSM_PIN, else the file $JPKI_HSM_PIN_FILE names (for daemons),
 * else a prompt on the terminal with echo off.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *pin_file;
/* The PIN once given, for the process's later logins (jpki init checks the
 * token before it makes the data directory, then logs in again): asked
 * once.  Wiped at exit. */
static char given[CA_TOKEN_PIN_MAX];
static int have_given;

static void
given_wipe(void)
{
	jpki_wipe(given, sizeof(given));
}

/* The first line of path, without its newline. */
static int
pin_from_file(const char *path, char *pin, size_t n)
{
	struct jbuf b;
	size_t len;
	int r;

	jbuf_init(&b);
	if ((r = file_read_all(path, CA_TOKEN_PIN_MAX + 2, &b)) != JPKI_OK) {
		jbuf_free(&b);
		return jpki_fail(r == JPKI_ERR_NOTFOUND ? JPKI_ERR_INPUT : r,
		    "PIN file %s: cannot be read, or longer than a PIN", path);
	}
	for (len = 0; len < b.len && b.data[len] != '\n' &&
	    b.data[len] != '\r'; len++)
		;
	if (len == 0 || len >= n || memchr(b.data, '\0', len) != NULL) {
		jbuf_free(&b);
		return jpki_fail(JPKI_ERR_INPUT, "PIN file %s: one line, the "
		    "PIN (1 to %zu bytes)", path, n - 1);
	}
	memcpy(pin, b.data, len);
	pin[len] = '\0';
	jbuf_free(&b);      /* wipes */
	return JPKI_OK;
}

static int
pin_ask(const char *token, char *pin, size_t n)
{
	char prompt[96];

	if (pin_file != NULL)
		return pin_from_file(pin_file, pin, n);
	if (getenv("JPKI_HSM_PIN") == NULL && getenv("JPKI_HSM_PIN_FILE"))
		return pin_from_file(getenv("JPKI_HSM_PIN_FILE"), pin, n);
	snprintf(prompt, sizeof(prompt), "user PIN of token %s: ", token);
	return cli_read_secret("JPKI_HSM_PIN", prompt, pin, n);
}

static int
token_pin(void *arg, const char *token, char *pin, size_t n)
{
	int r;

	(void)arg;
	if (!have_given) {
		if ((r = pin_ask(token, given, sizeof(given))) != JPKI_OK) {
			jpki_wipe(given, sizeof(given));
			return r;
		}
		have_given = 1;
		atexit(given_wipe);
	}
	if (strlen(given) >= n)
		return jpki_fail(JPKI_ERR_INPUT, "the token PIN is too long");
	memcpy(pin, given, strlen(given) + 1);
	return JPKI_OK;
}

void
cli_hsm_pin_source(const char *file)
{
	pin_file = file;
	ca_signer_set_pin_source(token_pin, NULL);
}
