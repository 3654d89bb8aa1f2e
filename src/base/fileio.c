/*
 * fileio.c: whole files.  The one way openjpki writes a file that must
 * survive a crash (card images, keys, the config): write the whole buffer,
 * fsync, close; callers rename or link it into place and then sync the
 * directory, so a new name is durable too.  And the one way it reads a
 * whole file, with a size limit checked while reading.
 */
#include "base/base.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
durable_write(const char *path, const void *buf, size_t n, mode_t mode)
{
	const uint8_t *p = buf;
	size_t off = 0;
	int fd, saved;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) < 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return JPKI_OK;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(path);
	return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(saved));
}

int
file_read_all(const char *path, size_t max, struct jbuf *out)
{
	uint8_t chunk[4096];
	FILE *f;
	size_t n;
	int r = JPKI_OK;

	jbuf_init(out);
	if ((f = fopen(path, "rb")) == NULL)
		return jpki_fail(errno == ENOENT ? JPKI_ERR_NOTFOUND :
		    errno == EACCES || errno == EISDIR || errno == ENOTDIR ?
		    JPKI_ERR_INPUT : JPKI_ERR_IO, "%s: %s", path,
		    strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (out->len + n > max) {
			r = jpki_fail(JPKI_ERR_INPUT, "%s: larger than %zu "
			    "bytes", path, max);
			break;
		}
		if ((r = jbuf_put(out, chunk, n)) != JPKI_OK)
			break;
	}
	if (r == JPKI_OK && ferror(f))
		r = jpki_fail(errno == EISDIR ? JPKI_ERR_INPUT : JPKI_ERR_IO,
		    "%s: read failed", path);
	fclose(f);
	if (r != JPKI_OK)
		jbuf_free(out);
	return r;
}

int
durable_sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd = -1, r = JPKI_OK;

	if (copy == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY)) < 0 ||
	    fsync(fd) != 0)
		r = jpki_fail(JPKI_ERR_IO, "%s: cannot sync directory: %s",
		    path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

int
jpki_path(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= n) {
		int r = jpki_fail(JPKI_ERR_INPUT, "path longer than %zu bytes: "
		    "%.60s...", n > 0 ? n - 1 : 0, n > 0 ? buf : "");

		if (n > 0)
			buf[0] = '\0';
		return r;
	}
	return JPKI_OK;
}
