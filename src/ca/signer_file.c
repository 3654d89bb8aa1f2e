/*
 * signer_file.c: CA, OCSP responder, card issuer, municipality and audit
 * keys held in files of the data directory (<data>/ca/<sign|auth>-<ca|ocsp>.key
 * for generation 1, <sign|auth>-<ca|ocsp>.gen<N>.key for generation N,
 * <data>/ca/card-issuer.key, the kiosk's <data>/ca/municipality.key and
 * <data>/ca/audit.key, PEM, mode 0600) or of a key directory of jpki
 * signer's own (--keys DIR), behind the key seam
 * (signer.h).  This file is the only one that reads, writes
 * or holds such a key.
 *
 * Each session keeps its own struct pki_signer per key, made on first use
 * from a copy of the key: threads signing with one shared RSA key would
 * take turns on its blinding value.
 */
#include "ca/ca_impl.h"
#include "datadir/datadir.h"

#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Keys indexed [type][role][generation]: enum cert_type (1, 2; 0 for
 * the card issuer's, the municipality's and the audit key), enum
 * ca_key_role (1 to 5), the generation (1 to CA_GEN_MAX; 0 for those
 * three, which have none). */
#define TYPES 3
#define ROLES 6
#define GENS (CA_GEN_MAX + 1)
struct file_keys {
	const struct datadir *dd;   /* where new keys are made: its ca/, */
	char dir[JPKI_PATH_MAX];    /* or this directory if not "" */
	EVP_PKEY *key[TYPES][ROLES][GENS];
};

struct file_session {
	const struct file_keys *keys;
	struct pki_signer *signer[TYPES][ROLES][GENS];
};

/* dir NULL: the data directory's ca/. */
static int
key_path(const struct datadir *dd, const char *dir, struct ca_key_id id,
    char *buf, size_t n)
{
	char name[64];
	int r;

	/* One naming scheme with the token's records (signer.c): generation
	 * 1 keeps the names from before, a later one is "sign-ca.gen2". */
	if ((r = ca_key_name(id, name, sizeof(name) - 4)) != JPKI_OK)
		return r;
	strcat(name, ".key");
	if (dir != NULL)
		return jpki_path(buf, n, "%s/%s", dir, name);
	return datadir_path(dd, DATADIR_CA_DIR, name, buf, n);
}

static const char *
key_dir(const struct file_keys *fk)
{
	return fk->dir[0] != '\0' ? fk->dir : NULL;
}

static int
key_read(const char *path, EVP_PKEY **out)
{
	struct stat st;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	/* Key ceremony basics: a key file that anyone but its owner may
	 * read or write is refused, not opened (it may have been copied or
	 * replaced). */
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
		mode_t m = st.st_mode;

		fclose(f);
		return jpki_fail(JPKI_ERR_IO, "%s: a CA key must be mode 0600 "
		    "(it is %04o: %s%s%s%s%s by others than its owner)", path,
		    (unsigned)(m & 07777), m & 044 ? "readable" : "",
		    m & 044 && m & 033 ? ", " : "", m & 022 ? "writable" : "",
		    m & 022 && m & 011 ? ", " : "", m & 011 ? "executable" :
		    "");
	}
	*out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (*out == NULL)
		return jpki_fail(JPKI_ERR_CRYPTO, "%s: not a PEM private key",
		    path);
	return JPKI_OK;
}

static int
key_writer(FILE *f, void *k)
{
	return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

static int
file_public_key(void *state, struct ca_key_id id, EVP_PKEY **pub)
{
	struct file_keys *fk = state;
	EVP_PKEY *k = fk->key[id.type][id.role][id.gen];
	uint8_t *der = NULL;
	const uint8_t *p;
	char label[64];
	int n;

	ca_key_label(id, label, sizeof(label));
	if (k == NULL)
		return jpki_fail(JPKI_ERR_NOTFOUND, "signer: the %s key is "
		    "not loaded", label);
	/* A public-only copy: the private half stays in this file. */
	if ((n = i2d_PUBKEY(k, &der)) <= 0)
		return jpki_fail(JPKI_ERR_CRYPTO, "signer: public key");
	p = der;
	*pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	if (*pub == NULL)
		return jpki_fail(JPKI_ERR_CRYPTO, "signer: public key");
	return JPKI_OK;
}

static int
file_session_open(void *state, void **sess)
{
	struct file_session *fs;

	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	fs->keys = state;
	*sess = fs;
	return JPKI_OK;
}

static int
file_sign(void *sess, struct ca_key_id id, enum ca_sign_op op,
    const uint8_t *in, size_t len, uint8_t *sig, size_t *sig_len)
{
	struct file_session *fs = sess;
	struct pki_signer **ps = &fs->signer[id.type][id.role][id.gen];
	EVP_PKEY *k = fs->keys->key[id.type][id.role][id.gen];
	char label[64];
	int r;

	ca_key_label(id, label, sizeof(label));
	if (k == NULL)
		return jpki_fail(JPKI_ERR_REFUSED, "%s: this process holds "
		    "no such key", label);
	if (*ps == NULL && (r = pki_signer_new(k, ps)) != JPKI_OK)
		return r;
	if (op == CA_SIGN_CRL_DIGEST || op == CA_SIGN_DOCUMENT_DIGEST)
		return pki_signer_sign_digest(*ps, in, sig, sig_len);
	return pki_signer_sign_raw(*ps, in, len, sig, sig_len);
}

static void
file_session_close(void *sess)
{
	struct file_session *fs = sess;

	for (size_t t = 0; t < TYPES; t++)
		for (size_t r = 0; r < ROLES; r++)
			for (size_t g = 0; g < GENS; g++)
				pki_signer_free(&fs->signer[t][r][g]);
	free(fs);
}

static void
file_close(void *state)
{
	struct file_keys *fk = state;

	for (size_t t = 0; t < TYPES; t++)
		for (size_t r = 0; r < ROLES; r++)
			for (size_t g = 0; g < GENS; g++)
				EVP_PKEY_free(fk->key[t][r][g]);
	free(fk);
}

static int
file_create_key(void *state, struct ca_key_id id, int bits, EVP_PKEY **pub)
{
	struct file_keys *fk = state;
	char path[JPKI_PATH_MAX];
	EVP_PKEY *key;
	int r;

	*pub = NULL;
	if ((r = key_path(fk->dd, key_dir(fk), id, path, sizeof(path))) !=
	    JPKI_OK)
		return r;
	if ((key = EVP_RSA_gen((unsigned int)bits)) == NULL)
		return jpki_fail(JPKI_ERR_CRYPTO, "RSA-%d key generation failed",
		    bits);
	if ((r = ca_pem_write(path, 0600, key_writer, key)) != JPKI_OK) {
		EVP_PKEY_free(key);
		return r;
	}
	EVP_PKEY_free(fk->key[id.type][id.role][id.gen]);
	fk->key[id.type][id.role][id.gen] = key;
	return file_public_key(fk, id, pub);
}

static int
file_locate(void *state, struct ca_key_id id, char *buf, size_t n)
{
	struct file_keys *fk = state;
	char path[JPKI_PATH_MAX];
	int r;

	if ((r = key_path(fk->dd, key_dir(fk), id, path, sizeof(path))) !=
	    JPKI_OK)
		return r;
	return jpki_path(buf, n, "file %s", path);
}

static int
file_discard(const struct datadir *dd, const char *dir, struct ca_key_id id)
{
	char path[JPKI_PATH_MAX];
	int r;

	if ((r = key_path(dd, dir, id, path, sizeof(path))) != JPKI_OK)
		return r;
	if (unlink(path) != 0 && errno != ENOENT)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	return durable_sync_dir_of(path);
}

static int
file_discard_key(void *state, struct ca_key_id id)
{
	struct file_keys *fk = state;
	int r;

	if ((r = file_discard(fk->dd, key_dir(fk), id)) != JPKI_OK)
		return r;
	EVP_PKEY_free(fk->key[id.type][id.role][id.gen]);
	fk->key[id.type][id.role][id.gen] = NULL;
	return JPKI_OK;
}

static const struct ca_signer_impl file_impl = {
	.name = "file",
	.public_key = file_public_key,
	.session_open = file_session_open,
	.sign = file_sign,
	.session_close = file_session_close,
	.close = file_close,
	.create_key = file_create_key,
	.locate = file_locate,
	.discard_key = file_discard_key,
};

static int
open_keys(const struct datadir *dd, const char *dir, unsigned keys,
    struct ca_signer **out)
{
	static const enum cert_type types[] = {CERT_SIGN, CERT_AUTH};
	struct file_keys *fk;
	char path[JPKI_PATH_MAX];
	int r;

	*out = NULL;
	if ((fk = calloc(1, sizeof(*fk))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	fk->dd = dd;
	if (dir != NULL && (r = jpki_path(fk->dir, sizeof(fk->dir), "%s",
	    dir)) != JPKI_OK) {
		file_close(fk);
		return r;
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(types); i++) {
		for (int role = CA_KEY_CA; role <= CA_KEY_OCSP; role++) {
			if (!(keys & (role == CA_KEY_CA ? CA_KEYS_CA :
			    CA_KEYS_OCSP)))
				continue;
			for (int gen = 1; gen <= CA_GEN_MAX; gen++) {
				struct ca_key_id id = {types[i],
				    (enum ca_key_role)role, gen};

				if ((r = key_path(dd, dir, id, path,
				    sizeof(path)))) {
					file_close(fk);
					return r;
				}
				/* Generation 1 must be there; a later one
				 * ends the list where it is missing. */
				if (gen > 1 && access(path, F_OK) != 0)
					break;
				if ((r = key_read(path,
				    &fk->key[id.type][role][gen]))) {
					file_close(fk);
					return r;
				}
			}
		}
	}
	if (keys & CA_KEYS_CARD_ISSUER) {
		struct ca_key_id id = CA_KEY_ID_CARD_ISSUER;

		if ((r = key_path(dd, dir, id, path, sizeof(path))) ||
		    (r = key_read(path, &fk->key[0][CA_KEY_CARD_ISSUER][0]))) {
			file_close(fk);
			return r;
		}
	}
	if (keys & CA_KEYS_MUNICIPALITY) {
		struct ca_key_id id = CA_KEY_ID_MUNICIPALITY;

		if ((r = key_path(dd, dir, id, path, sizeof(path))) ||
		    (r = key_read(path, &fk->key[0][CA_KEY_MUNICIPALITY][0]))) {
			file_close(fk);
			return r;
		}
	}
	if (keys & CA_KEYS_AUDIT) {
		struct ca_key_id id = CA_KEY_ID_AUDIT;

		if ((r = key_path(dd, dir, id, path, sizeof(path))) ||
		    (r = key_read(path, &fk->key[0][CA_KEY_AUDIT][0]))) {
			file_close(fk);
			return r;
		}
	}
	return ca_signer_new(&file_impl, fk, out);
}

int
ca_signer_open_files(const struct datadir *dd, unsigned keys,
    struct ca_signer **out)
{
	return open_keys(dd, NULL, keys, out);
}

int
ca_signer_open_key_dir(const char *dir, unsigned keys,
    struct ca_signer **out)
{
	return open_keys(NULL, dir, keys, out);
}

int
ca_signer_create_file_key(const struct datadir *dd, struct ca_key_id id,
    int bits, EVP_PKEY **pub)
{
	struct file_keys one = {0};
	int r;

	*pub = NULL;
	if (id.gen < 0 || id.gen > CA_GEN_MAX)
		return jpki_fail(JPKI_ERR_INTERNAL, "signer: no generation %d",
		    id.gen);
	one.dd = dd;
	r = file_create_key(&one, id, bits, pub);
	EVP_PKEY_free(one.key[id.type][id.role][id.gen]);
	return r;
}

int
ca_signer_discard_file_key(const struct datadir *dd, struct ca_key_id id)
{
	if (id.role == CA_KEY_CARD_ISSUER || id.role == CA_KEY_MUNICIPALITY ||
	    id.gen < 2 || id.gen > CA_GEN_MAX)
		return jpki_fail(JPKI_ERR_INTERNAL, "signer: only a later "
		    "generation's key is discarded");
	return file_discard(dd, NULL, id);
}
