/*
 * ca_files.c: certificate files and serials.  Files are written to a
 * temporary name opened exclusively with their final mode (never chmod
 * after the fact), fsynced and linked into place, so a crash never leaves
 * a half-written file under the real name.  (Private keys: signer_file.c,
 * through the same writer.)
 */
#include "ca/ca_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Write via a temporary file opened O_EXCL with `mode`, fsync, link into
 * place (refusing to replace anything), then sync the directory. */
int
ca_pem_write(const char *path, mode_t mode, int (*writer)(FILE *, void *),
    void *obj)
{
	char tmp[JPKI_PATH_MAX];
	FILE *f = NULL;
	int fd, r = JPKI_OK;

	int r0;

	/* A temporary of its own (two processes may create one key at
	 * once: each links its own whole file, and one of them wins). */
	if ((r0 = jpki_path(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path)) != JPKI_OK)
		return r0;
	if ((fd = mkstemp(tmp)) < 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return r;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (!writer(f, obj)) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "%s: cannot write PEM", path);
		goto fail;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	fclose(f);
	f = NULL;
	/* link(2), not rename(2): an existing key or certificate is never
	 * replaced (EEXIST). */
	if (link(tmp, path) != 0) {
		r = jpki_fail(errno == EEXIST ? JPKI_ERR_CONFLICT : JPKI_ERR_IO,
		    "%s: %s", path, strerror(errno));
		goto fail;
	}
	unlink(tmp);
	return durable_sync_dir_of(path);
fail:
	if (f != NULL)
		fclose(f);
	unlink(tmp);
	return r;
}

static int
cert_writer(FILE *f, void *x)
{
	return PEM_write_X509(f, x);
}

int
ca_cert_write(const char *path, X509 *x)
{
	return ca_pem_write(path, 0644, cert_writer, x);
}

int
ca_cert_read(const char *path, X509 **out)
{
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	*out = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (*out == NULL)
		return jpki_fail(JPKI_ERR_CRYPTO, "%s: not a PEM certificate",
		    path);
	return JPKI_OK;
}

int
ca_serial_random(uint8_t serial[CA_SERIAL_LEN])
{
	if (RAND_bytes(serial, CA_SERIAL_LEN) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "random serial: RNG failed");
	/* Positive (top bit clear) and exactly 16 octets in DER (next bit
	 * set, so no leading zero octet is dropped): design.md, RFC 5280
	 * 4.1.2.2. */
	serial[0] = (uint8_t)((serial[0] & 0x7F) | 0x40);
	return JPKI_OK;
}

int
ca_cert_replace(const char *path, X509 *x)
{
	char tmp[JPKI_PATH_MAX];
	int r;

	/* Written whole under a name of its own, then renamed over the old
	 * one: a reader sees the old certificate or the new, never half. */
	if ((r = jpki_path(tmp, sizeof(tmp), "%s.new", path)) != JPKI_OK)
		return r;
	if (unlink(tmp) != 0 && errno != ENOENT)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", tmp, strerror(errno));
	if ((r = ca_cert_write(tmp, x)) != JPKI_OK)
		return r;
	if (rename(tmp, path) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return r;
	}
	return durable_sync_dir_of(path);
}
