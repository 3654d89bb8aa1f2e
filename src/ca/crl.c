/*
 * crl.c: publishing CRLs — one per shard of each CA, and a full one.
 *
 * design.md: CRLs are sharded, each certificate's shard fixed at issuance
 * and named in its CRL distribution point; every shard's CRL carries an
 * IssuingDistributionPoint; a full CRL per CA is published too; CRLs are
 * written by streaming DER.  So memory stays flat whatever the count: the
 * entries are encoded as the store yields them into an unlinked scratch
 * file (their total length must be known before the first byte of the
 * CRL), then the CRL is written once, front to back, hashing the signed
 * part as it goes, to a temporary file that is fsynced and renamed over
 * <out>/<sign|auth>/<shard>.crl or full.crl, the paths the CDP URIs name
 * under the base URL.
 *
 * The CRL number is taken, and committed, before the file is written: a
 * crash in between skips a number (allowed) but never publishes two
 * different CRLs under one number.  Generations into one directory take
 * turns (flock on the directory), so the published number only goes up,
 * and temporary files a killed generation left there are removed by the
 * next one.
 */
#include "ca/ca_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Entries are written to the scratch file in chunks of about this size. */
#define CRL_CHUNK (256 * 1024)

int
ca_crl_uri(const struct ca *ca, enum cert_type t, int shard, char *buf,
    size_t n)
{
	if ((size_t)snprintf(buf, n, "%s/crl/%s/%d.crl", ca->config.base_url,
	    rules_cert_type_name(t), shard) >= n)
		return jpki_fail(JPKI_ERR_INPUT, "base_url: too long for a "
		    "CRL distribution point");
	return JPKI_OK;
}

static int
write_all(int fd, const void *buf, size_t n, const char *path)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return jpki_fail(JPKI_ERR_IO, "%s: %s", path,
			    w < 0 ? strerror(errno) : "short write");
		p += w;
		n -= (size_t)w;
	}
	return JPKI_OK;
}

/* Pass one: every entry of the CRL into the scratch file. */
struct entries {
	int fd;
	const char *path;
	struct jbuf chunk;
	size_t len;
	long count;
	int r;
};

static int
entry_cb(void *arg, const char *serial, int64_t at, int reason)
{
	struct entries *e = arg;

	if ((e->r = pki_crl_entry(serial, at, reason, &e->chunk)) != JPKI_OK)
		return 1;
	e->count++;
	if (e->chunk.len >= CRL_CHUNK) {
		if ((e->r = write_all(e->fd, e->chunk.data, e->chunk.len,
		    e->path)) != JPKI_OK)
			return 1;
		e->len += e->chunk.len;
		e->chunk.len = 0;
	}
	return 0;
}

/* Write and, from the TBSCertList on, hash. */
struct out {
	int fd;
	const char *path;
	EVP_MD_CTX *md;
};

static int
emit(struct out *o, const void *p, size_t n, int signed_part)
{
	if (signed_part && EVP_DigestSignUpdate(o->md, p, n) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "CRL: hashing");
	return write_all(o->fd, p, n, o->path);
}

/* 1 for the name of a generation's temporary file: <final>.XXXXXX or
 * <final>.entries.XXXXXX, mkstemp's six letters and digits, where final
 * is <shard>.crl or full.crl. */
static int
is_scratch_name(const char *name)
{
	const char *p = strstr(name, ".crl.");

	if (p == NULL)
		return 0;
	p += 5;
	if (strncmp(p, "entries.", 8) == 0)
		p += 8;
	if (strlen(p) != 6)
		return 0;
	for (; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= 'a' && *p <= 'z')))
			return 0;
	return 1;
}

/* A generation killed between mkstemp and the rename (or the unlink of
 * its scratch file) left its temporary files.  The caller holds the
 * directory's lock, and generations into it take turns under that lock,
 * so every such file there now is a leftover. */
static void
remove_leftovers(const char *dir)
{
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (is_scratch_name(e->d_name))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static int
type_ok(enum cert_type t)
{
	return t == CERT_SIGN || t == CERT_AUTH;
}

int
ca_crl_generate(struct ca *ca, enum cert_type type, int shard,
    const char *out_dir, struct ca_crl_result *res)
{
	char base[PATH_MAX_JPKI], dir[PATH_MAX_JPKI], final[PATH_MAX_JPKI];
	char tmp[PATH_MAX_JPKI];
	char scratch[PATH_MAX_JPKI], uri[512];
	struct entries e = {.fd = -1, .r = JPKI_OK};
	struct out o = {.fd = -1, .md = NULL};
	struct pki_crl_frame frame = {0};
	struct pki_crl_params p;
	struct jbuf trailer;
	uint8_t *buf = NULL, sig[1024];
	size_t sig_len = sizeof(sig), left;
	int64_t now, number;
	int r, lock_fd = -1;

	jbuf_init(&e.chunk);
	jbuf_init(&trailer);
	if (!type_ok(type))
		return jpki_fail(JPKI_ERR_INPUT, "type: sign or auth");
	if ((r = ca_signing_key_check(ca, type)) != JPKI_OK)
		return r;
	if (shard != CA_CRL_FULL &&
	    (shard < 0 || shard >= ca->config.crl_shards))
		return jpki_fail(JPKI_ERR_INPUT, "shard: %d is not one of this "
		    "CA's shards (0-%d, or the full CRL)", shard,
		    ca->config.crl_shards - 1);
	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	/* <out_dir or data/crl>, then its <sign|auth> directory. */
	if ((size_t)snprintf(base, sizeof(base), out_dir ? "%s" : "%s/crl",
	    out_dir ? out_dir : ca->dir) >= sizeof(base) ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/%s", base,
	    rules_cert_type_name(type)) >= sizeof(dir))
		return jpki_fail(JPKI_ERR_INPUT, "CRL directory: path too long");
	if ((r = ca_make_dir(base, 0755)) != JPKI_OK ||
	    (r = ca_make_dir(dir, 0755)) != JPKI_OK)
		return r;
	if (shard == CA_CRL_FULL)
		r = snprintf(final, sizeof(final), "%s/full.crl", dir);
	else
		r = snprintf(final, sizeof(final), "%s/%d.crl", dir, shard);
	if ((size_t)r >= sizeof(final))
		return jpki_fail(JPKI_ERR_INPUT, "CRL path too long");
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", final) >=
	    sizeof(tmp) || (size_t)snprintf(scratch, sizeof(scratch),
	    "%s.entries.XXXXXX", final) >= sizeof(scratch))
		return jpki_fail(JPKI_ERR_INPUT, "CRL path too long");

	/* One generation at a time per directory, from taking the number to
	 * the rename: otherwise a CRL that took an earlier number could be
	 * renamed into place after a later one, and the published number
	 * would go backwards. */
	if ((lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(lock_fd, LOCK_EX) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", dir, strerror(errno));
		goto done;
	}
	remove_leftovers(dir);
	/* The number first, durably (see the top of this file). */
	if ((r = store_begin(ca->store)) != JPKI_OK)
		goto done;
	if ((r = store_crl_number_next(ca->store, type, shard, &number)) ||
	    (r = store_commit(ca->store))) {
		store_rollback(ca->store);
		goto done;
	}

	/* Pass one: the entries, into an unlinked scratch file. */
	if ((e.fd = mkstemp(scratch)) < 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", scratch, strerror(errno));
		goto fail;
	}
	unlink(scratch);
	e.path = scratch;
	if ((r = jbuf_reserve(&e.chunk, CRL_CHUNK + 256)) != JPKI_OK)
		goto fail;
	if ((r = store_revocation_list(ca->store, type, shard, entry_cb, &e)))
		goto fail;
	if ((r = e.r) != JPKI_OK ||
	    (r = write_all(e.fd, e.chunk.data, e.chunk.len, scratch)))
		goto fail;
	e.len += e.chunk.len;

	/* Pass two: the CRL, front to back. */
	memset(&p, 0, sizeof(p));
	p.ca_cert = ca->side[type].cert;
	p.this_update = now;
	p.next_update = now + CA_CRL_VALIDITY_SECONDS;
	p.number = number;
	p.sig_len = (size_t)EVP_PKEY_get_size(ca->side[type].key);
	if (shard != CA_CRL_FULL) {
		if ((r = ca_crl_uri(ca, type, shard, uri, sizeof(uri))))
			goto fail;
		p.idp_uri = uri;
	}
	if ((r = pki_crl_frame(&p, e.len, &frame)) != JPKI_OK)
		goto fail;
	if ((o.fd = mkstemp(tmp)) < 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	o.path = tmp;
	if (fchmod(o.fd, 0644) != 0) {  /* CRLs are public */
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if ((o.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(o.md, NULL, EVP_sha256(), NULL,
	    ca->side[type].key) != 1) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "CRL: signer setup");
		goto fail;
	}
	if ((r = emit(&o, frame.head.data, frame.tbs_offset, 0)) ||
	    (r = emit(&o, frame.head.data + frame.tbs_offset,
	    frame.head.len - frame.tbs_offset, 1)))
		goto fail;
	if ((buf = malloc(CRL_CHUNK)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (lseek(e.fd, 0, SEEK_SET) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", scratch, strerror(errno));
		goto fail;
	}
	for (left = e.len; left > 0;) {
		ssize_t n = read(e.fd, buf, left < CRL_CHUNK ? left : CRL_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = jpki_fail(JPKI_ERR_IO, "%s: %s", scratch,
			    n < 0 ? strerror(errno) : "shorter than written");
			goto fail;
		}
		if ((r = emit(&o, buf, (size_t)n, 1)) != JPKI_OK)
			goto fail;
		left -= (size_t)n;
	}
	if ((r = emit(&o, frame.tail.data, frame.tail.len, 1)) != JPKI_OK)
		goto fail;
	if (EVP_DigestSignFinal(o.md, sig, &sig_len) != 1 ||
	    sig_len != p.sig_len) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "CRL: signing");
		goto fail;
	}
	if ((r = pki_crl_signature(sig, sig_len, &trailer)) ||
	    (r = emit(&o, trailer.data, trailer.len, 0)))
		goto fail;
	if (fsync(o.fd) != 0 || close(o.fd) != 0) {
		o.fd = -1;
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	o.fd = -1;
	if (rename(tmp, final) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", final, strerror(errno));
		goto fail;
	}
	if ((r = durable_sync_dir_of(final)) != JPKI_OK)
		goto fail;
	if (res != NULL) {
		memset(res, 0, sizeof(*res));
		res->type = type;
		res->shard = shard;
		res->number = number;
		res->entries = e.count;
		res->this_update = p.this_update;
		res->next_update = p.next_update;
		snprintf(res->path, sizeof(res->path), "%s", final);
	}
	r = JPKI_OK;
	goto done;
fail:
	if (o.fd >= 0) {
		close(o.fd);
		o.fd = -1;
	}
	if (o.path != NULL)
		unlink(tmp);
done:
	if (lock_fd >= 0)
		close(lock_fd);  /* releases the lock */
	if (e.fd >= 0)
		close(e.fd);
	EVP_MD_CTX_free(o.md);
	pki_crl_frame_free(&frame);
	jbuf_free(&e.chunk);
	jbuf_free(&trailer);
	free(buf);
	return r;
}
