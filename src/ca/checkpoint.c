/*
 * checkpoint.c: signed checkpoints of the audit chain, and `jpki audit
 * verify` against them (ca.h; docs/audit.md, "Checkpoints").
 *
 * A checkpoint is the chain head (sequence number and hash) and the time,
 * signed by the audit key (CA_KEY_AUDIT) through the key seam, as a
 * Certificate Transparency log signs its tree head.  Each is one line of
 * an append-only file kept apart from the store (the signer's), with the
 * public key beside it (checkpoint-key.pem):
 *
 *   openjpki-checkpoint-v1 seq=N hash=HEX time=EPOCH at=ISO key=FPR sig=B64
 *
 * A new checkpoint is made only of a chain that extends the last one: the
 * entry the last checkpoint names must still hash as it did, and every
 * entry after it must link and hash correctly.  So once a checkpoint is
 * out, deleting the newest entries or rewriting any older one shows.
 */
#include "ca/ca_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECKPOINT_KEY_FILE "checkpoint-key.pem"
/* The most checkpoints one file may hold (a year of one a minute, ten
 * times over); a longer file is refused rather than read without end. */
#define CHECKPOINTS_MAX (10L * 366 * 24 * 60)

struct checkpoint {
	int64_t seq, time;
	uint8_t hash[32];
	char key[17];
	uint8_t sig[PKI_SIG_MAX];
	size_t sig_len;
};

static void
hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return JPKI_ERR_INPUT;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit_value(s[2 * i]), lo = hex_digit_value(
		    s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return JPKI_ERR_INPUT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return JPKI_OK;
}

static void
body_of(const struct checkpoint *c, uint8_t body[CA_CHECKPOINT_BODY_LEN])
{
	size_t o = sizeof(CA_CHECKPOINT_MAGIC);

	memcpy(body, CA_CHECKPOINT_MAGIC, o);
	for (int i = 0; i < 8; i++)
		body[o + (size_t)i] = (uint8_t)((uint64_t)c->seq >> (56 - 8 * i));
	memcpy(body + o + 8, c->hash, 32);
	for (int i = 0; i < 8; i++)
		body[o + 40 + (size_t)i] = (uint8_t)((uint64_t)c->time >>
		    (56 - 8 * i));
}

/* The first 8 bytes of the SHA-256 of the key's SubjectPublicKeyInfo. */
static int
key_fingerprint(EVP_PKEY *pub, char out[17])
{
	uint8_t *der = NULL, md[32];
	int n;

	if ((n = i2d_PUBKEY(pub, &der)) <= 0)
		return jpki_fail(JPKI_ERR_CRYPTO, "checkpoint key");
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	hex(md, 8, out);
	return JPKI_OK;
}

static int
line_format(const struct checkpoint *c, char *out, size_t n)
{
	char h[65], at[26], b64[PKI_SIG_MAX * 2];

	hex(c->hash, 32, h);
	iso8601_format_jst(c->time, at);
	EVP_EncodeBlock((unsigned char *)b64, c->sig, (int)c->sig_len);
	if ((size_t)snprintf(out, n, "%s seq=%lld hash=%s time=%lld at=%s "
	    "key=%s sig=%s", CA_CHECKPOINT_MAGIC, (long long)c->seq, h,
	    (long long)c->time, at, c->key, b64) >= n)
		return jpki_fail(JPKI_ERR_INTERNAL, "checkpoint line too long");
	return JPKI_OK;
}

/* One line of a checkpoints file (untrusted: an off-site copy may come
 * back edited).  Every field has a fixed width bound. */
static int
line_parse(const char *line, struct checkpoint *c)
{
	char h[65], at[32], key[17], b64[PKI_SIG_MAX * 2];
	long long seq, t;
	int end = 0, n;

	memset(c, 0, sizeof(*c));
	if (strlen(line) >= CA_CHECKPOINT_LINE_MAX ||
	    sscanf(line, CA_CHECKPOINT_MAGIC " seq=%lld hash=%64[0-9a-f] "
	    "time=%lld at=%31s key=%16[0-9a-f] sig=%1400[A-Za-z0-9+/=]%n",
	    &seq, h, &t, at, key, b64, &end) != 6 || line[end] != '\0' ||
	    seq < 1 || unhex(h, c->hash, 32) != JPKI_OK || strlen(key) != 16)
		return JPKI_ERR_INPUT;
	n = EVP_DecodeBlock(c->sig, (const unsigned char *)b64,
	    (int)strlen(b64));
	if (n <= 0 || (size_t)n > sizeof(c->sig) || strlen(b64) % 4 != 0)
		return JPKI_ERR_INPUT;
	/* EVP_DecodeBlock counts the padding's zero bytes. */
	c->sig_len = (size_t)n - (b64[strlen(b64) - 1] == '=') -
	    (strlen(b64) > 1 && b64[strlen(b64) - 2] == '=');
	c->seq = seq;
	c->time = t;
	memcpy(c->key, key, sizeof(c->key));
	return JPKI_OK;
}

int
ca_checkpoint_line_check(const char *line)
{
	struct checkpoint c;

	return line_parse(line, &c);
}

static int
sig_check(EVP_PKEY *pub, const struct checkpoint *c)
{
	uint8_t body[CA_CHECKPOINT_BODY_LEN];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	body_of(c, body);
	ok = md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    pub) == 1 && EVP_DigestVerify(md, c->sig, c->sig_len, body,
	    sizeof(body)) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok ? JPKI_OK : JPKI_ERR_VERIFY;
}

int
ca_checkpoint_path(const struct datadir *dd, char *buf, size_t n)
{
	const struct jpki_config *c = datadir_config(dd);

	if (c->checkpoints[0] == '/')
		return jpki_path(buf, n, "%s", c->checkpoints);
	if (c->checkpoints[0] != '\0')
		return jpki_path(buf, n, "%s/%s", datadir_root(dd),
		    c->checkpoints);
	return jpki_path(buf, n, "%s/signer/checkpoints", datadir_root(dd));
}

static int
key_path_beside(const char *path, char *buf, size_t n)
{
	char copy[JPKI_PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	return jpki_path(buf, n, "%s/%s", dirname(copy), CHECKPOINT_KEY_FILE);
}

static int
pub_read(const char *path, EVP_PKEY **out)
{
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return jpki_fail(errno == ENOENT ? JPKI_ERR_NOTFOUND :
		    JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	*out = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (*out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "%s: not a PEM public key",
		    path);
	return JPKI_OK;
}

static int
pub_writer(FILE *f, void *k)
{
	return PEM_write_PUBKEY(f, k);
}

/* The last checkpoint of an open file (found = 0: none yet). */
static int
last_of(FILE *f, const char *path, struct checkpoint *last, int *found)
{
	char line[CA_CHECKPOINT_LINE_MAX + 2];
	long lineno = 0;

	*found = 0;
	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		lineno++;
		if (line_parse(line, last) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT, "%s:%ld: not a "
			    "checkpoint", path, lineno);
		*found = 1;
	}
	return JPKI_OK;
}

/* Walking the chain from a checkpoint: the entry it names must still be
 * the one it signed; each after it must link and hash. */
struct extend {
	int64_t from;           /* the checkpoint's seq, 0 for none */
	uint8_t prev[32];
	int64_t seq;            /* the last entry seen */
	const char *why;
	int64_t bad;
};

static int
extend_one(void *arg, const struct audit_entry *e)
{
	struct extend *x = arg;
	uint8_t h[32];

	store_audit_entry_hash(e, h);
	if (e->seq != x->seq + 1 || memcmp(h, e->hash, 32) != 0 ||
	    (e->seq > x->from && memcmp(e->prev_hash, x->prev, 32) != 0) ||
	    (e->seq == x->from && memcmp(e->hash, x->prev, 32) != 0)) {
		x->why = e->seq == x->from ? "it is not the entry the last "
		    "checkpoint signed" : "the chain after the last checkpoint "
		    "is broken";
		x->bad = e->seq;
		return 1;
	}
	memcpy(x->prev, e->hash, 32);
	x->seq = e->seq;
	return 0;
}

int
ca_checkpoint_make(struct ca_signer *s, struct store *st, const char *path,
    char *line, size_t n, int *made)
{
	struct ca_signer_session *ss = NULL;
	struct checkpoint last, c;
	struct extend x;
	EVP_PKEY *pub = NULL, *had = NULL;
	uint8_t body[CA_CHECKPOINT_BODY_LEN];
	char kpath[JPKI_PATH_MAX], dir[JPKI_PATH_MAX], out[CA_CHECKPOINT_LINE_MAX];
	FILE *f = NULL;
	int fd = -1, found, r;

	*made = 0;
	if (line != NULL && n > 0)
		line[0] = '\0';
	snprintf(dir, sizeof(dir), "%s", path);
	if ((r = ca_make_dir(dirname(dir), 0700)) ||
	    (r = key_path_beside(path, kpath, sizeof(kpath))) ||
	    (r = ca_signer_public_key(s, CA_KEY_ID_AUDIT, &pub)))
		goto out;
	/* The public key beside the file: written once, never replaced. */
	if ((r = pub_read(kpath, &had)) == JPKI_ERR_NOTFOUND) {
		jpki_errclear();
		if ((r = ca_pem_write(kpath, 0644, pub_writer, pub)) ==
		    JPKI_ERR_CONFLICT)
			r = JPKI_OK;
		jpki_errclear();
	} else if (r == JPKI_OK && EVP_PKEY_eq(had, pub) != 1) {
		r = jpki_fail(JPKI_ERR_CONFLICT, "%s: another key than the "
		    "audit key this signer holds", kpath);
	}
	if (r != JPKI_OK)
		goto out;
	if ((fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0 ||
	    flock(fd, LOCK_EX) != 0 || (f = fdopen(fd, "a+")) == NULL) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((r = last_of(f, path, &last, &found)) != JPKI_OK)
		goto out;
	memset(&x, 0, sizeof(x));
	if (found) {
		x.from = last.seq;
		x.seq = last.seq - 1;
		memcpy(x.prev, last.hash, 32);
	}
	if ((r = store_audit_list(st, found ? last.seq - 1 : 0, 0, extend_one,
	    &x)) != JPKI_OK)
		goto out;
	if (x.why != NULL || (found && x.seq < last.seq)) {
		r = jpki_fail(JPKI_ERR_VERIFY, "audit: no checkpoint: entry "
		    "%lld: %s", (long long)(x.why ? x.bad : last.seq),
		    x.why ? x.why : "gone (the log was cut short)");
		goto out;
	}
	if (x.seq == 0 || (found && x.seq == last.seq)) {
		/* Nothing new: the last checkpoint stands. */
		if (found && line != NULL)
			r = line_format(&last, line, n);
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.seq = x.seq;
	memcpy(c.hash, x.prev, 32);
	c.time = jpki_now();
	c.sig_len = sizeof(c.sig);
	body_of(&c, body);
	if ((r = key_fingerprint(pub, c.key)) ||
	    (r = ca_signer_session_open(s, &ss)) ||
	    (r = ca_signer_sign(ss, CA_KEY_ID_AUDIT, CA_SIGN_CHECKPOINT, body,
	    sizeof(body), c.sig, &c.sig_len)) ||
	    (r = line_format(&c, out, sizeof(out))))
		goto out;
	if (fprintf(f, "%s\n", out) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	*made = 1;
	if (line != NULL)
		snprintf(line, n, "%s", out);
out:
	ca_signer_session_close(&ss);
	if (f != NULL)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(had);
	return r;
}

/* A signer for key_dir's files, or where dd keeps its keys. */
static int
audit_signer_open(const struct datadir *dd, const char *key_dir,
    unsigned keys, struct ca_signer **out)
{
	if (key_dir != NULL)
		return ca_signer_open_key_dir(key_dir, keys, out);
	return ca_signer_open(dd, keys, out);
}

int
ca_audit_key_open(const struct datadir *dd, const char *key_dir,
    struct ca_signer **out)
{
	EVP_PKEY *pub = NULL;
	int r;

	if (audit_signer_open(dd, key_dir, CA_KEYS_AUDIT, out) == JPKI_OK)
		return JPKI_OK;
	/* Made on first need, as the card issuer's is, where the other keys
	 * are (a file, or the token): the signer that makes it holds it. */
	jpki_errclear();
	if ((r = audit_signer_open(dd, key_dir, 0, out)) != JPKI_OK)
		return r;
	r = ca_signer_create_key(*out, CA_KEY_ID_AUDIT, 2048, &pub);
	EVP_PKEY_free(pub);
	if (r == JPKI_OK)
		return JPKI_OK;
	ca_signer_close(out);
	if (r != JPKI_ERR_CONFLICT)
		return r;
	/* Another process made it meanwhile. */
	jpki_errclear();
	return audit_signer_open(dd, key_dir, CA_KEYS_AUDIT, out);
}

int
ca_audit_checkpoint(struct datadir *dd, char *line, size_t n, int *made)
{
	const struct jpki_config *c = datadir_config(dd);
	struct ca_signer *s = NULL;
	char path[JPKI_PATH_MAX];
	int r;

	*made = 0;
	if (c->signer[0] != '\0') {
		if ((r = ca_signer_remote_checkpoint(c, datadir_root(dd), line,
		    n)) == JPKI_OK)
			*made = 1;
		return r;
	}
	if ((r = ca_checkpoint_path(dd, path, sizeof(path))) != JPKI_OK ||
	    (r = ca_audit_key_open(dd, NULL, &s)) != JPKI_OK)
		return r;
	r = ca_checkpoint_make(s, datadir_store(dd), path, line, n, made);
	ca_signer_close(&s);
	return r;
}

/* ---- verify ---------------------------------------------------------------- */

struct walk {
	const struct checkpoint *cp;
	size_t ncp, next;       /* the next checkpoint to meet */
	struct ca_strset issued, revoked;
	const char *why;
	char detail[256];
	int64_t last_seq;
};

static int
walk_one(void *arg, const struct audit_entry *e)
{
	struct walk *w = arg;
	int r = JPKI_OK;

	w->last_seq = e->seq;
	while (w->next < w->ncp && w->cp[w->next].seq == e->seq) {
		if (memcmp(w->cp[w->next].hash, e->hash, 32) != 0) {
			char at[26];

			iso8601_format_jst(w->cp[w->next].time, at);
			snprintf(w->detail, sizeof(w->detail), "audit entry "
			    "%lld differs from the checkpoint signed %s: the "
			    "log up to it was rewritten", (long long)e->seq,
			    at);
			return 1;
		}
		w->next++;
	}
	if (strcmp(e->action, "cert.issue") == 0)
		r = ca_strset_add(&w->issued, e->subject, e->seq, NULL);
	else if (strcmp(e->action, "cert.revoke") == 0)
		r = ca_strset_add(&w->revoked, e->subject, e->seq, NULL);
	if (r == JPKI_ERR_CONFLICT) {
		snprintf(w->detail, sizeof(w->detail), "audit entry %lld: %s "
		    "of %s a second time", (long long)e->seq, e->action,
		    e->subject);
		return 1;
	}
	return r == JPKI_OK ? 0 : 1;
}

struct cross {
	struct walk *w;
	char detail[256];
	long certs, revocations;
};

static int
cert_one(void *arg, const struct cert_record *c)
{
	struct cross *x = arg;
	struct ca_strset_item *is = ca_strset_find(&x->w->issued, c->serial),
	    *rv = ca_strset_find(&x->w->revoked, c->serial);

	x->certs++;
	if (is == NULL) {
		snprintf(x->detail, sizeof(x->detail), "certificate %s (%s) is "
		    "in the store, but no audit entry records its issuance",
		    c->serial, rules_cert_type_name(c->ca));
		return 1;
	}
	is->mark = 1;
	if (c->status == CERT_STATUS_REVOKED && rv == NULL) {
		snprintf(x->detail, sizeof(x->detail), "certificate %s (%s) is "
		    "revoked in the store, but no audit entry records its "
		    "revocation", c->serial, rules_cert_type_name(c->ca));
		return 1;
	}
	if (c->status != CERT_STATUS_REVOKED && rv != NULL) {
		snprintf(x->detail, sizeof(x->detail), "certificate %s (%s): "
		    "audit entry %lld revokes it, but the store shows it valid",
		    c->serial, rules_cert_type_name(c->ca),
		    (long long)rv->value);
		return 1;
	}
	if (rv != NULL)
		rv->mark = 1;
	return 0;
}

static int
revocation_one(void *arg, const char *serial, int64_t at, int reason)
{
	struct cross *x = arg;

	x->revocations++;
	if (ca_strset_find(&x->w->revoked, serial) == NULL) {
		snprintf(x->detail, sizeof(x->detail), "revocation of %s is in "
		    "the store (and its CRLs), but no audit entry records it",
		    serial);
		return 1;
	}
	return 0;
}

static int
checkpoints_read(const char *path, EVP_PKEY *pub, struct checkpoint **out,
    size_t *n)
{
	char line[CA_CHECKPOINT_LINE_MAX + 2], fpr[17];
	struct checkpoint *cp = NULL, *grown;
	size_t cap = 0;
	long lineno = 0;
	FILE *f;
	int r = JPKI_OK;

	*out = NULL;
	*n = 0;
	if ((r = key_fingerprint(pub, fpr)) != JPKI_OK)
		return r;
	if ((f = fopen(path, "r")) == NULL)
		return jpki_fail(errno == ENOENT ? JPKI_ERR_NOTFOUND :
		    JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (*n >= (size_t)CHECKPOINTS_MAX) {
			r = jpki_fail(JPKI_ERR_INPUT, "%s: more than %ld "
			    "checkpoints", path, CHECKPOINTS_MAX);
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((grown = realloc(cp, cap * sizeof(*cp))) == NULL) {
				r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
				break;
			}
			cp = grown;
		}
		if (line_parse(line, &cp[*n]) != JPKI_OK) {
			r = jpki_fail(JPKI_ERR_VERIFY, "%s:%ld: not a "
			    "checkpoint", path, lineno);
			break;
		}
		if (strcmp(cp[*n].key, fpr) != 0 ||
		    sig_check(pub, &cp[*n]) != JPKI_OK) {
			r = jpki_fail(JPKI_ERR_VERIFY, "%s:%ld: the checkpoint's "
			    "signature does not verify with the audit key",
			    path, lineno);
			break;
		}
		if (*n > 0 && cp[*n].seq < cp[*n - 1].seq) {
			r = jpki_fail(JPKI_ERR_VERIFY, "%s:%ld: a checkpoint "
			    "older than the one before it", path, lineno);
			break;
		}
		(*n)++;
	}
	fclose(f);
	if (r != JPKI_OK) {
		free(cp);
		*n = 0;
		return r;
	}
	*out = cp;
	return JPKI_OK;
}

int
ca_audit_verify(struct store *st, const char *cp_path, const char *key_path,
    struct ca_audit_report *rep)
{
	static const enum cert_type both[] = {CERT_SIGN, CERT_AUTH};
	struct checkpoint *cp = NULL;
	struct walk w;
	struct cross x;
	EVP_PKEY *pub = NULL;
	char kpath[JPKI_PATH_MAX];
	size_t ncp = 0;
	int r;

	memset(rep, 0, sizeof(*rep));
	memset(&w, 0, sizeof(w));
	memset(&x, 0, sizeof(x));
	if ((r = store_audit_verify(st, &rep->entries)) != JPKI_OK)
		return r;
	if (cp_path != NULL) {
		if (key_path == NULL) {
			if ((r = key_path_beside(cp_path, kpath,
			    sizeof(kpath))) != JPKI_OK)
				return r;
			key_path = kpath;
		}
		if ((r = pub_read(key_path, &pub)) != JPKI_OK ||
		    (r = checkpoints_read(cp_path, pub, &cp, &ncp)) != JPKI_OK)
			goto out;
		rep->checkpoints = (long)ncp;
		if (ncp > 0) {
			rep->checkpoint_seq = cp[ncp - 1].seq;
			rep->checkpoint_time = cp[ncp - 1].time;
		}
	}
	w.cp = cp;
	w.ncp = ncp;
	if ((r = store_audit_list(st, 0, 0, walk_one, &w)) != JPKI_OK)
		goto out;
	if (w.detail[0] != '\0') {
		r = jpki_fail(JPKI_ERR_VERIFY, "%s", w.detail);
		goto out;
	}
	if (w.next < ncp) {
		char at[26];

		iso8601_format_jst(cp[w.next].time, at);
		r = jpki_fail(JPKI_ERR_VERIFY, "audit: the checkpoint signed %s "
		    "covers entry %lld, but the log ends at entry %lld: "
		    "entries were deleted", at, (long long)cp[w.next].seq,
		    (long long)w.last_seq);
		goto out;
	}
	/* The store against the log: every certificate and revocation. */
	x.w = &w;
	if ((r = store_cert_list(st, 0, cert_one, &x)) != JPKI_OK)
		goto out;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(both) && x.detail[0] == '\0';
	    i++)
		if ((r = store_revocation_list(st, both[i], 0, CA_CRL_FULL,
		    revocation_one, &x)) != JPKI_OK)
			goto out;
	for (size_t i = 0; i < w.issued.cap && x.detail[0] == '\0'; i++)
		if (w.issued.items[i].key[0] != '\0' && !w.issued.items[i].mark)
			snprintf(x.detail, sizeof(x.detail), "audit entry %lld "
			    "records the issuance of %s, which is not in the "
			    "store", (long long)w.issued.items[i].value,
			    w.issued.items[i].key);
	if (x.detail[0] != '\0') {
		r = jpki_fail(JPKI_ERR_VERIFY, "%s", x.detail);
		goto out;
	}
	rep->certs = x.certs;
	rep->revocations = x.revocations;
out:
	free(cp);
	EVP_PKEY_free(pub);
	ca_strset_free(&w.issued);
	ca_strset_free(&w.revoked);
	return r;
}
