/*
 * municipality.c: the municipality's document-signing key and certificate,
 * with which the kiosk signs the residence certificates it issues
 * (住民票の写し, docs/relying-party.md "The kiosk").
 *
 * The key is behind the key seam like the CAs' (CA_KEY_MUNICIPALITY:
 * <data>/ca/municipality.key, or made inside the data directory's PKCS#11
 * token); it signs the digest of a document's CMS signed attributes and
 * its own certificate, nothing else (signer.c).  The certificate
 * (<data>/ca/municipality.pem) is self-signed: the municipality is its own
 * trust anchor, as its organisational PKI (LGPKI) is apart from JPKI's
 * resident CAs (pki_doc.c says why).  Both are made on first need, never
 * over an existing file: two processes starting at once each open
 * whichever was made.
 */
#include "ca/ca_impl.h"

#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MUNICIPALITY_CERT_FILE "municipality.pem"
#define MUNICIPALITY_KEY_BITS 2048
/* The certificate is made valid this long (and a day back, for clocks). */
#define MUNICIPALITY_CERT_DAYS (10 * 365)

struct ca_municipality {
	struct ca_signer *signer;
	struct ca_signer_session *session;
	pthread_mutex_t lock;       /* the one session, between threads */
	X509 *cert;
};

static int
key_open(const struct datadir *dd, struct ca_signer **out)
{
	EVP_PKEY *pub = NULL;
	int r;

	if ((r = ca_signer_open(dd, CA_KEYS_MUNICIPALITY, out)) == JPKI_OK)
		return JPKI_OK;
	jpki_errclear();
	if ((r = ca_signer_open(dd, 0, out)) != JPKI_OK)
		return r;
	r = ca_signer_create_key(*out, CA_KEY_ID_MUNICIPALITY,
	    MUNICIPALITY_KEY_BITS, &pub);
	EVP_PKEY_free(pub);
	if (r == JPKI_OK)
		return JPKI_OK;
	ca_signer_close(out);
	if (r != JPKI_ERR_CONFLICT)
		return r;
	jpki_errclear();
	return ca_signer_open(dd, CA_KEYS_MUNICIPALITY, out);
}

static int
sign_tbs(struct ca_municipality *m, const uint8_t *tbs, size_t n,
    uint8_t *sig, size_t *sig_len)
{
	return ca_signer_sign(m->session, CA_KEY_ID_MUNICIPALITY,
	    CA_SIGN_MUNICIPALITY_CERT, tbs, n, sig, sig_len);
}

/* The self-signed certificate naming the config's municipality. */
static int
cert_make(struct ca_municipality *m, struct datadir *dd, const char *path)
{
	const struct jpki_config *c = datadir_config(dd);
	struct municipality mu;
	uint8_t serial[CA_SERIAL_LEN], sig[PKI_SIG_MAX], *tbs = NULL,
	    *der = NULL;
	size_t tbs_len = 0, sig_len = sizeof(sig), der_len = 0;
	char org[160], cn[96];
	const uint8_t *p;
	EVP_PKEY *pub = NULL;
	X509 *x = NULL, *signed_x = NULL;
	int64_t now = jpki_now();
	int r;

	if ((r = store_municipality_get(datadir_store(dd), c->municipality,
	    &mu)) != JPKI_OK)
		return r;
	snprintf(org, sizeof(org), "%s%s", mu.pref_ja, mu.name_ja);
	snprintf(cn, sizeof(cn), "%s長", mu.name_ja);
	if ((r = ca_signer_public_key(m->signer, CA_KEY_ID_MUNICIPALITY,
	    &pub)) != JPKI_OK || (r = ca_serial_random(serial)) != JPKI_OK ||
	    (r = pki_municipality_cert_build(org, cn, pub, serial,
	    sizeof(serial), now - 86400, now + (int64_t)MUNICIPALITY_CERT_DAYS *
	    86400, &x)) != JPKI_OK || (r = pki_cert_tbs(x, &tbs, &tbs_len)) !=
	    JPKI_OK || (r = sign_tbs(m, tbs, tbs_len, sig, &sig_len)) !=
	    JPKI_OK || (r = pki_cert_assemble(tbs, tbs_len, sig, sig_len, &der,
	    &der_len)) != JPKI_OK)
		goto done;
	p = der;
	if ((signed_x = d2i_X509(NULL, &p, (long)der_len)) == NULL) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "municipality certificate: not "
		    "DER");
		goto done;
	}
	r = ca_cert_write(path, signed_x);
	if (r == JPKI_ERR_CONFLICT)
		jpki_errclear();    /* another process made it: read that */
	r = r == JPKI_ERR_CONFLICT ? JPKI_OK : r;
done:
	OPENSSL_free(tbs);
	OPENSSL_free(der);
	X509_free(x);
	X509_free(signed_x);
	EVP_PKEY_free(pub);
	return r;
}

/* The certificate read must carry the key the signer holds. */
static int
cert_matches(struct ca_municipality *m, const char *path)
{
	EVP_PKEY *pub = NULL;
	int r;

	if ((r = ca_signer_public_key(m->signer, CA_KEY_ID_MUNICIPALITY,
	    &pub)) != JPKI_OK)
		return r;
	if (EVP_PKEY_eq(pub, X509_get0_pubkey(m->cert)) != 1)
		r = jpki_fail(JPKI_ERR_CRYPTO, "%s: the certificate is not of "
		    "the municipality's key", path);
	EVP_PKEY_free(pub);
	return r;
}

int
ca_municipality_open(struct datadir *dd, struct ca_municipality **out)
{
	struct ca_municipality *m;
	char path[JPKI_PATH_MAX];
	time_t now;
	int r;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&m->lock, NULL);
	if ((r = datadir_path(dd, DATADIR_CA_DIR, MUNICIPALITY_CERT_FILE, path,
	    sizeof(path))) != JPKI_OK || (r = key_open(dd, &m->signer)) !=
	    JPKI_OK || (r = ca_signer_session_open(m->signer, &m->session)) !=
	    JPKI_OK)
		goto fail;
	if (access(path, F_OK) != 0 && (r = cert_make(m, dd, path)) !=
	    JPKI_OK)
		goto fail;
	if ((r = ca_cert_read(path, &m->cert)) != JPKI_OK ||
	    (r = cert_matches(m, path)) != JPKI_OK)
		goto fail;
	now = (time_t)jpki_now();
	if (X509_cmp_time(X509_get0_notAfter(m->cert), &now) <= 0) {
		r = jpki_fail(JPKI_ERR_REFUSED, "%s: the municipality's "
		    "certificate has expired; move it away and a new one is "
		    "made at the next start", path);
		goto fail;
	}
	*out = m;
	return JPKI_OK;
fail:
	ca_municipality_close(&m);
	return r;
}

X509 *
ca_municipality_cert(struct ca_municipality *m)
{
	return m->cert;
}

int
ca_municipality_sign_digest(struct ca_municipality *m,
    const uint8_t hash[32], uint8_t *sig, size_t *sig_len)
{
	int r;

	pthread_mutex_lock(&m->lock);
	r = ca_signer_sign(m->session, CA_KEY_ID_MUNICIPALITY,
	    CA_SIGN_DOCUMENT_DIGEST, hash, 32, sig, sig_len);
	pthread_mutex_unlock(&m->lock);
	return r;
}

void
ca_municipality_close(struct ca_municipality **mp)
{
	struct ca_municipality *m = *mp;

	if (m == NULL)
		return;
	ca_signer_session_close(&m->session);
	ca_signer_close(&m->signer);
	X509_free(m->cert);
	pthread_mutex_destroy(&m->lock);
	free(m);
	*mp = NULL;
}
