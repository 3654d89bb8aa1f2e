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
 * turns (flock on the directory), so the published number only goes up;
 * whoever holds the lock removes what a killed generation left there.
 *
 * The CA key signs the TBSCertList through the key seam as it is written
 * (ca_signer_crl_*): in-process the seam hashes it and the key signs the
 * digest, so a CRL of millions of entries is never held; `jpki signer`
 * hashes the stream itself, and checks what it begins with.
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

void
ca_gen_name(enum cert_type t, int gen, char *buf, size_t n)
{
	/* Generation 1 keeps the names it had before generations, which
	 * its certificates carry. */
	if (gen > 1)
		snprintf(buf, n, "%s.gen%d", rules_cert_type_name(t), gen);
	else
		snprintf(buf, n, "%s", rules_cert_type_name(t));
}

int
ca_crl_uri(const struct ca *ca, enum cert_type t, int gen, int shard,
    char *buf, size_t n)
{
	char name[32];

	ca_gen_name(t, gen, name, sizeof(name));
	if ((size_t)snprintf(buf, n, "%s/crl/%s/%d.crl", ca->config.base_url,
	    name, shard) >= n)
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

/* One generation: its paths, files and state, from start to rename. */
struct crl_job {
	struct ca *ca;
	enum cert_type type;
	int gen;              /* the generation whose CRL this is */
	struct ca_side *side;
	int shard;
	int64_t now, number;
	char dir[JPKI_PATH_MAX], final[JPKI_PATH_MAX], tmp[JPKI_PATH_MAX];
	char scratch[JPKI_PATH_MAX], uri[512];
	int lock_fd;
	struct entries e;
	int out_fd;           /* the CRL being written to tmp */
	int tmp_made;
	struct ca_signer_session *ss;  /* signing the TBSCertList as written */
	struct pki_crl_params p;
};

/* Write and, from the TBSCertList on, hash. */
static int
emit(struct crl_job *j, const void *p, size_t n, int signed_part)
{
	int r;

	if (signed_part && (r = ca_signer_crl_update(j->ss, p, n)) != JPKI_OK)
		return r;
	return write_all(j->out_fd, p, n, j->tmp);
}

/* 1 for the name of a generation's temporary file, exactly as this file
 * makes them: <final>.jpki-tmp.XXXXXX or <final>.jpki-entries.XXXXXX,
 * final being full.crl or <shard>.crl (at most 5 digits) and XXXXXX
 * mkstemp's six letters and digits.  Nothing else in the directory is
 * touched, however alike its name (full.crl.sha256, 0.crl.backup). */
static int
is_scratch_name(const char *name)
{
	const char *p = name;
	size_t digits = 0;

	if (strncmp(p, "full", 4) == 0) {
		p += 4;
	} else {
		while (p[digits] >= '0' && p[digits] <= '9')
			digits++;
		if (digits == 0 || digits > 5)
			return 0;
		p += digits;
	}
	if (strncmp(p, ".crl.", 5) != 0)
		return 0;
	p += 5;
	if (strncmp(p, "jpki-tmp.", 9) == 0)
		p += 9;
	else if (strncmp(p, "jpki-entries.", 13) == 0)
		p += 13;
	else
		return 0;
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
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		/* Regular files only, never through a link. */
		if (is_scratch_name(e->d_name) &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static int
type_ok(enum cert_type t)
{
	return t == CERT_SIGN || t == CERT_AUTH;
}

static int
path_fits(int n, size_t size)
{
	return n >= 0 && (size_t)n < size;
}

/* <out_dir or data/crl>/<sign|auth>[.gen<N>]/, made if missing, and the
 * names in it. */
static int
crl_paths(struct crl_job *j, const char *out_dir)
{
	char base[JPKI_PATH_MAX], name[32];
	int r;

	ca_gen_name(j->type, j->gen, name, sizeof(name));
	if (out_dir != NULL) {
		if (!path_fits(snprintf(base, sizeof(base), "%s", out_dir),
		    sizeof(base)))
			return jpki_fail(JPKI_ERR_INPUT, "CRL directory: path "
			    "too long");
	} else if ((r = datadir_path(j->ca->dd, DATADIR_CRL_DIR, NULL, base,
	    sizeof(base))) != JPKI_OK) {
		return r;
	}
	if (!path_fits(snprintf(j->dir, sizeof(j->dir), "%s/%s", base, name),
	    sizeof(j->dir)))
		return jpki_fail(JPKI_ERR_INPUT, "CRL directory: path too long");
	if ((r = ca_make_dir(base, 0755)) != JPKI_OK ||
	    (r = ca_make_dir(j->dir, 0755)) != JPKI_OK)
		return r;
	if (!path_fits(j->shard == CA_CRL_FULL ?
	    snprintf(j->final, sizeof(j->final), "%s/full.crl", j->dir) :
	    snprintf(j->final, sizeof(j->final), "%s/%d.crl", j->dir,
	    j->shard), sizeof(j->final)) ||
	    !path_fits(snprintf(j->tmp, sizeof(j->tmp), "%s.jpki-tmp.XXXXXX",
	    j->final),
	    sizeof(j->tmp)) ||
	    !path_fits(snprintf(j->scratch, sizeof(j->scratch),
	    "%s.jpki-entries.XXXXXX", j->final), sizeof(j->scratch)))
		return jpki_fail(JPKI_ERR_INPUT, "CRL path too long");
	return JPKI_OK;
}

/* One generation at a time per directory, from taking the number to the
 * rename: otherwise a CRL that took an earlier number could be renamed
 * into place after a later one, and the published number would go
 * backwards.  With the lock held, nobody else is writing here: what a
 * killed generation left is removed. */
static int
crl_lock_dir(struct crl_job *j)
{
	if ((j->lock_fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(j->lock_fd, LOCK_EX) != 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", j->dir, strerror(errno));
	remove_leftovers(j->dir);
	return JPKI_OK;
}

/* The number first, durably, in its own short transaction (see the top of
 * this file); nothing slow happens while the store's write lock is held. */
static int
crl_take_number(struct crl_job *j)
{
	struct store *s = j->ca->store;
	int r;

	if ((r = store_begin(s)) != JPKI_OK)
		return r;
	if ((r = store_crl_number_next(s, j->type, j->shard, &j->number)) ||
	    (r = store_commit(s))) {
		store_rollback(s);
		return r;
	}
	return JPKI_OK;
}

/* Pass one: the entries, into an unlinked scratch file. */
static int
crl_write_entries(struct crl_job *j)
{
	struct entries *e = &j->e;
	int r;

	if ((e->fd = mkstemp(j->scratch)) < 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", j->scratch,
		    strerror(errno));
	unlink(j->scratch);
	e->path = j->scratch;
	if ((r = jbuf_reserve(&e->chunk, CRL_CHUNK + 256)) != JPKI_OK ||
	    (r = store_revocation_list(j->ca->store, j->type, j->gen, j->shard,
	    entry_cb, e)) != JPKI_OK)
		return r;
	if ((r = e->r) != JPKI_OK ||
	    (r = write_all(e->fd, e->chunk.data, e->chunk.len, j->scratch)))
		return r;
	e->len += e->chunk.len;
	return JPKI_OK;
}

/* Copy the scratch file's entries into the CRL. */
static int
crl_copy_entries(struct crl_job *j)
{
	uint8_t *buf;
	size_t left;
	int r = JPKI_OK;

	if ((buf = malloc(CRL_CHUNK)) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if (lseek(j->e.fd, 0, SEEK_SET) != 0)
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", j->scratch,
		    strerror(errno));
	for (left = j->e.len; r == JPKI_OK && left > 0;) {
		ssize_t n = read(j->e.fd, buf, left < CRL_CHUNK ? left :
		    CRL_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = jpki_fail(JPKI_ERR_IO, "%s: %s", j->scratch,
			    n < 0 ? strerror(errno) : "shorter than written");
			break;
		}
		r = emit(j, buf, (size_t)n, 1);
		left -= (size_t)n;
	}
	free(buf);
	return r;
}

/* The TBSCertList, signed by the CA key through the seam as it was
 * streamed, and the signature appended. */
static int
crl_sign(struct crl_job *j)
{
	struct jbuf trailer;
	uint8_t sig[PKI_SIG_MAX];
	size_t sig_len = sizeof(sig);
	int r;

	if ((r = ca_signer_crl_finish(j->ss, sig, &sig_len)) != JPKI_OK)
		return r;
	if (sig_len != j->p.sig_len)
		return jpki_fail(JPKI_ERR_CRYPTO, "CRL: a signature of %zu bytes "
		    "where the frame has room for %zu", sig_len, j->p.sig_len);
	jbuf_init(&trailer);
	if ((r = pki_crl_signature(sig, sig_len, &trailer)) == JPKI_OK)
		r = emit(j, trailer.data, trailer.len, 0);
	jbuf_free(&trailer);
	return r;
}

/* Pass two: the CRL, front to back, into the temporary file, fsynced. */
static int
crl_write_signed(struct crl_job *j)
{
	struct pki_crl_frame frame = {0};
	struct pki_crl_params *p = &j->p;
	EVP_PKEY *pub = X509_get0_pubkey(j->side->cert);
	int r;

	p->ca_cert = j->side->cert;
	p->this_update = j->now;
	p->next_update = j->now + CA_CRL_VALIDITY_SECONDS;
	p->number = j->number;
	p->sig_len = pub != NULL ? (size_t)EVP_PKEY_get_size(pub) : 0;
	if (j->shard != CA_CRL_FULL) {
		if ((r = ca_crl_uri(j->ca, j->type, j->gen, j->shard, j->uri,
		    sizeof(j->uri))) != JPKI_OK)
			return r;
		p->idp_uri = j->uri;
	}
	if ((r = pki_crl_frame(p, j->e.len, &frame)) != JPKI_OK)
		return r;
	if ((j->out_fd = mkstemp(j->tmp)) < 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", j->tmp, strerror(errno));
		goto out;
	}
	j->tmp_made = 1;
	if (fchmod(j->out_fd, 0644) != 0) {  /* CRLs are public */
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", j->tmp, strerror(errno));
		goto out;
	}
	if ((r = ca_session(j->ca, &j->ss)) != JPKI_OK ||
	    (r = ca_signer_crl_begin(j->ss, (struct ca_key_id){j->type,
	    CA_KEY_CA, j->gen}, (uint64_t)(frame.head.len - frame.tbs_offset) +
	    j->e.len + frame.tail.len)) != JPKI_OK)
		goto out;
	if ((r = emit(j, frame.head.data, frame.tbs_offset, 0)) ||
	    (r = emit(j, frame.head.data + frame.tbs_offset,
	    frame.head.len - frame.tbs_offset, 1)) ||
	    (r = crl_copy_entries(j)) ||
	    (r = emit(j, frame.tail.data, frame.tail.len, 1)) ||
	    (r = crl_sign(j)))
		goto out;
	if (fsync(j->out_fd) != 0)
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", j->tmp, strerror(errno));
out:
	pki_crl_frame_free(&frame);
	return r;
}

/* Into place under its published name, durably. */
static int
crl_publish(struct crl_job *j)
{
	int fd = j->out_fd;

	j->out_fd = -1;
	if (close(fd) != 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", j->tmp, strerror(errno));
	if (rename(j->tmp, j->final) != 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", j->final,
		    strerror(errno));
	j->tmp_made = 0;
	return durable_sync_dir_of(j->final);
}

/* What the CRL now published covers and until when, for `jpki serve`'s
 * publisher and /metrics (store_crl_published_put keeps the highest
 * number).  Written after the rename, still under the directory's lock:
 * a crash in between leaves the record behind the file, so the CRL is
 * made again, never taken for newer than it is.  Only for the data
 * directory's own CRLs, not those written to another --out. */
static int
crl_record(struct crl_job *j, const char *out_dir)
{
	struct store *s = j->ca->store;
	struct crl_published c = {.ca = j->type, .gen = j->gen,
	    .shard = j->shard,
	    .number = j->number, .this_update = j->p.this_update,
	    .next_update = j->p.next_update, .entries = j->e.count};
	int r;

	if (out_dir != NULL)
		return JPKI_OK;
	if ((r = store_begin(s)) != JPKI_OK)
		return r;
	if ((r = store_crl_published_put(s, &c)) || (r = store_commit(s))) {
		store_rollback(s);
		return r;
	}
	return JPKI_OK;
}

static void
crl_job_end(struct crl_job *j)
{
	if (j->out_fd >= 0)
		close(j->out_fd);
	if (j->tmp_made)
		unlink(j->tmp);
	if (j->lock_fd >= 0)
		close(j->lock_fd);  /* releases the lock */
	if (j->e.fd >= 0)
		close(j->e.fd);
	jbuf_free(&j->e.chunk);
}

int
ca_crl_generate(struct ca *ca, enum cert_type type, int shard,
    const char *out_dir, struct ca_crl_result *res)
{
	if (!type_ok(type))
		return jpki_fail(JPKI_ERR_INPUT, "type: sign or auth");
	return ca_crl_generate_gen(ca, type, ca_issuing(ca, type)->gen, shard,
	    out_dir, res);
}

int
ca_crl_generate_gen(struct ca *ca, enum cert_type type, int gen, int shard,
    const char *out_dir, struct ca_crl_result *res)
{
	struct crl_job j = {.ca = ca, .type = type, .gen = gen, .shard = shard,
	    .lock_fd = -1, .out_fd = -1, .e = {.fd = -1, .r = JPKI_OK}};
	int r;

	jbuf_init(&j.e.chunk);
	if (!type_ok(type))
		return jpki_fail(JPKI_ERR_INPUT, "type: sign or auth");
	if ((j.side = ca_side_of(ca, type, gen)) == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "generation: the %s CA has no "
		    "generation %d", rules_cert_type_name(type), gen);
	if ((r = ca_signing_key_check(ca, type)) != JPKI_OK)
		return r;
	if (shard != CA_CRL_FULL &&
	    (shard < 0 || shard >= ca->config.crl_shards))
		return jpki_fail(JPKI_ERR_INPUT, "shard: %d is not one of this "
		    "CA's shards (0-%d, or the full CRL)", shard,
		    ca->config.crl_shards - 1);
	if ((r = jpki_now_checked(&j.now)) != JPKI_OK)
		return r;
	if ((r = crl_paths(&j, out_dir)) == JPKI_OK &&
	    (r = crl_lock_dir(&j)) == JPKI_OK &&
	    (r = crl_take_number(&j)) == JPKI_OK &&
	    (r = crl_write_entries(&j)) == JPKI_OK &&
	    (r = crl_write_signed(&j)) == JPKI_OK &&
	    (r = crl_publish(&j)) == JPKI_OK &&
	    (r = crl_record(&j, out_dir)) == JPKI_OK && res != NULL) {
		memset(res, 0, sizeof(*res));
		res->type = type;
		res->gen = gen;
		res->shard = shard;
		res->number = j.number;
		res->entries = j.e.count;
		res->this_update = j.p.this_update;
		res->next_update = j.p.next_update;
		snprintf(res->path, sizeof(res->path), "%s", j.final);
	}
	crl_job_end(&j);
	return r;
}
