/* The key seam (src/ca/signer.h): what each key may sign, the shape of each
 * request, keys that are not loaded, and signatures that verify under the
 * certificates' public keys. */
#include "support/open_ca.h"
#include "test.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];
static struct datadir *dd;

static const uint8_t tbs[] = {0x30, 0x03, 0x02, 0x01, 0x01};

/* sig verifies as sha256WithRSAEncryption over data (or, digest = 1, over
 * the SHA-256 digest data) under pub. */
static int
verifies(EVP_PKEY *pub, const uint8_t *data, size_t len, int digest,
    const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	uint8_t hash[32];
	int ok;

	if (!digest)
		EVP_Digest(data, len, hash, NULL, EVP_sha256(), NULL);
	else
		memcpy(hash, data, 32);
	ok = ctx != NULL && EVP_PKEY_verify_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
	    EVP_PKEY_verify(ctx, sig, sig_len, hash, 32) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static void
test_each_key_signs_only_its_kind(void)
{
	struct ca_signer *s = NULL;
	struct ca_signer_session *ss = NULL;
	struct ca_key_id sign_ca = {CERT_SIGN, CA_KEY_CA, 1};
	struct ca_key_id sign_ocsp = {CERT_SIGN, CA_KEY_OCSP, 1};
	uint8_t sig[1024], digest[32] = {1, 2, 3};
	size_t sig_len;
	EVP_PKEY *pub = NULL;

	CHECK_INT(ca_signer_open_files(dd, CA_KEYS_CA | CA_KEYS_OCSP, &s),
	    JPKI_OK);
	CHECK_INT(ca_signer_session_open(s, &ss), JPKI_OK);
	if (ss == NULL)
		return;
	/* A certificate with the CA key: verifies under its public key. */
	sig_len = sizeof(sig);
	CHECK_INT(ca_signer_sign(ss, sign_ca, CA_SIGN_CERT, tbs, sizeof(tbs),
	    sig, &sig_len), JPKI_OK);
	CHECK_INT(ca_signer_public_key(s, sign_ca, &pub), JPKI_OK);
	CHECK(pub != NULL && verifies(pub, tbs, sizeof(tbs), 0, sig, sig_len));
	/* A CRL digest with the CA key. */
	sig_len = sizeof(sig);
	CHECK_INT(ca_signer_sign(ss, sign_ca, CA_SIGN_CRL_DIGEST, digest, 32,
	    sig, &sig_len), JPKI_OK);
	CHECK(pub != NULL && verifies(pub, digest, 32, 1, sig, sig_len));
	EVP_PKEY_free(pub);
	pub = NULL;
	/* An OCSP response with the responder key. */
	sig_len = sizeof(sig);
	CHECK_INT(ca_signer_sign(ss, sign_ocsp, CA_SIGN_OCSP, tbs, sizeof(tbs),
	    sig, &sig_len), JPKI_OK);
	CHECK_INT(ca_signer_public_key(s, sign_ocsp, &pub), JPKI_OK);
	CHECK(pub != NULL && verifies(pub, tbs, sizeof(tbs), 0, sig, sig_len));
	EVP_PKEY_free(pub);
	/* The policy: the responder key signs no certificate or CRL, the CA
	 * key no OCSP response (RFC 6960 4.2.2.2). */
	sig_len = sizeof(sig);
	CHECK_INT(ca_signer_sign(ss, sign_ocsp, CA_SIGN_CERT, tbs, sizeof(tbs),
	    sig, &sig_len), JPKI_ERR_REFUSED);
	CHECK_INT(ca_signer_sign(ss, sign_ocsp, CA_SIGN_CRL_DIGEST, digest, 32,
	    sig, &sig_len), JPKI_ERR_REFUSED);
	CHECK_INT(ca_signer_sign(ss, sign_ca, CA_SIGN_OCSP, tbs, sizeof(tbs),
	    sig, &sig_len), JPKI_ERR_REFUSED);
	/* Shapes: a CRL is signed by a 32-byte digest; no empty input; no
	 * such operation or key. */
	CHECK_INT(ca_signer_sign(ss, sign_ca, CA_SIGN_CRL_DIGEST, digest, 20,
	    sig, &sig_len), JPKI_ERR_INPUT);
	CHECK_INT(ca_signer_sign(ss, sign_ca, CA_SIGN_CERT, tbs, 0, sig,
	    &sig_len), JPKI_ERR_INPUT);
	CHECK_INT(ca_signer_sign(ss, sign_ca, (enum ca_sign_op)99, tbs,
	    sizeof(tbs), sig, &sig_len), JPKI_ERR_REFUSED);
	CHECK_INT(ca_signer_sign(ss, (struct ca_key_id){(enum cert_type)7,
	    CA_KEY_CA, 1}, CA_SIGN_CERT, tbs, sizeof(tbs), sig, &sig_len),
	    JPKI_ERR_INTERNAL);
	ca_signer_session_close(&ss);
	CHECK(ss == NULL);
	ca_signer_close(&s);
	CHECK(s == NULL);
}

static void
test_keys_not_loaded_are_not_there(void)
{
	struct ca_signer *s = NULL;
	struct ca_signer_session *ss = NULL;
	uint8_t sig[1024];
	size_t sig_len = sizeof(sig);
	EVP_PKEY *pub = NULL;

	/* A responder's signer: the OCSP keys only. */
	CHECK_INT(ca_signer_open_files(dd, CA_KEYS_OCSP, &s), JPKI_OK);
	CHECK_INT(ca_signer_session_open(s, &ss), JPKI_OK);
	if (ss == NULL)
		return;
	CHECK_INT(ca_signer_public_key(s, (struct ca_key_id){CERT_AUTH,
	    CA_KEY_CA, 1}, &pub), JPKI_ERR_NOTFOUND);
	CHECK(pub == NULL);
	CHECK_INT(ca_signer_sign(ss, (struct ca_key_id){CERT_AUTH, CA_KEY_CA, 1},
	    CA_SIGN_CERT, tbs, sizeof(tbs), sig, &sig_len), JPKI_ERR_REFUSED);
	sig_len = sizeof(sig);
	CHECK_INT(ca_signer_sign(ss, (struct ca_key_id){CERT_AUTH,
	    CA_KEY_OCSP, 1}, CA_SIGN_OCSP, tbs, sizeof(tbs), sig, &sig_len),
	    JPKI_OK);
	ca_signer_session_close(&ss);
	ca_signer_close(&s);
}

static void
test_a_key_is_never_written_over(void)
{
	EVP_PKEY *pub = NULL;

	CHECK_INT(ca_signer_create_file_key(dd, (struct ca_key_id){CERT_SIGN,
	    CA_KEY_CA, 1}, 2048, &pub), JPKI_ERR_CONFLICT);
	CHECK(pub == NULL);
}

/* A card issuer certificate body as card/cardinfo_sig.c writes it:
 * 5F 4E { id, id, 82 e, 81 n } (ids here are zeros; the signer looks at
 * the key).  Returns its length, 0 if it does not fit. */
static size_t
card_cert_body(EVP_PKEY *pub, uint8_t *out, size_t cap)
{
	uint8_t e[8], n[512], inner[600];
	BIGNUM *bn_e = NULL, *bn_n = NULL;
	size_t elen, nlen, k = 0, len = 0;

	if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &bn_e) ||
	    !EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &bn_n) ||
	    BN_num_bytes(bn_e) > (int)sizeof(e) ||
	    BN_num_bytes(bn_n) != 256)
		goto out;
	elen = (size_t)BN_bn2bin(bn_e, e);
	nlen = (size_t)BN_bn2bin(bn_n, n);
	memset(inner, 0, 32);
	k = 32;
	inner[k++] = 0x82;
	inner[k++] = (uint8_t)elen;
	memcpy(inner + k, e, elen);
	k += elen;
	inner[k++] = 0x81;
	inner[k++] = 0x82;
	inner[k++] = (uint8_t)(nlen >> 8);
	inner[k++] = (uint8_t)nlen;
	memcpy(inner + k, n, nlen);
	k += nlen;
	if (k + 5 > cap)
		goto out;
	out[0] = 0x5F;
	out[1] = 0x4E;
	out[2] = 0x82;
	out[3] = (uint8_t)(k >> 8);
	out[4] = (uint8_t)k;
	memcpy(out + 5, inner, k);
	len = k + 5;
out:
	BN_free(bn_e);
	BN_free(bn_n);
	return len;
}

/* The card issuer's key (made by init) signs a card's facts and its own
 * certificate, nothing else; no other key signs those. */
static void
test_card_issuer_key_signs_only_card_facts(void)
{
	struct ca_signer *s = NULL;
	struct ca_signer_session *ss = NULL;
	struct ca_key_id issuer = CA_KEY_ID_CARD_ISSUER;
	struct ca_key_id sign_ca = {CERT_SIGN, CA_KEY_CA, 1};
	uint8_t sig[1024], digests[CA_SIGN_CARD_FACTS_LEN] = {7, 8, 9};
	size_t sig_len = sizeof(sig);
	EVP_PKEY *pub = NULL;

	CHECK_INT(ca_signer_open_files(dd, CA_KEYS_CARD_ISSUER | CA_KEYS_CA,
	    &s), JPKI_OK);
	CHECK_INT(ca_signer_session_open(s, &ss), JPKI_OK);
	if (ss == NULL)
		return;
	CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CARD_FACTS, digests,
	    sizeof(digests), sig, &sig_len), JPKI_OK);
	CHECK_INT(ca_signer_public_key(s, issuer, &pub), JPKI_OK);
	CHECK(pub != NULL && verifies(pub, digests, sizeof(digests), 0, sig,
	    sig_len));
	EVP_PKEY_free(pub);
	/* Its certificate: a body ending with its own modulus is signed; a
	 * chosen blob, or the 64 bytes of two digests, is not. */
	pub = NULL;
	if (ca_signer_public_key(s, issuer, &pub) == JPKI_OK) {
		uint8_t body[600];
		size_t blen;

		blen = card_cert_body(pub, body, sizeof(body));
		CHECK(blen > 0);
		sig_len = sizeof(sig);
		CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CARD_CERT, body,
		    blen, sig, &sig_len), JPKI_OK);
		CHECK(verifies(pub, body, blen, 0, sig, sig_len));
		body[blen - 1] ^= 1;   /* another key's modulus */
		CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CARD_CERT, body,
		    blen, sig, &sig_len), JPKI_ERR_REFUSED);
	}
	EVP_PKEY_free(pub);
	pub = NULL;
	sig_len = sizeof(sig);
	CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CARD_CERT, tbs,
	    sizeof(tbs), sig, &sig_len), JPKI_ERR_REFUSED);
	CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CARD_CERT, digests,
	    sizeof(digests), sig, &sig_len), JPKI_ERR_REFUSED);
	/* nothing else with it, and not those with another key */
	CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CERT, tbs, sizeof(tbs),
	    sig, &sig_len), JPKI_ERR_REFUSED);
	CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_OCSP, tbs, sizeof(tbs),
	    sig, &sig_len), JPKI_ERR_REFUSED);
	CHECK_INT(ca_signer_sign(ss, sign_ca, CA_SIGN_CARD_FACTS, digests,
	    sizeof(digests), sig, &sig_len), JPKI_ERR_REFUSED);
	/* shape: the two SHA-256 digests, 64 bytes */
	CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CARD_FACTS, digests, 32,
	    sig, &sig_len), JPKI_ERR_INPUT);
	CHECK_INT(ca_signer_sign(ss, (struct ca_key_id){CERT_SIGN,
	    CA_KEY_CARD_ISSUER, 0}, CA_SIGN_CARD_FACTS, digests, sizeof(digests),
	    sig, &sig_len), JPKI_ERR_INTERNAL);
	ca_signer_session_close(&ss);
	ca_signer_close(&s);
	CHECK_INT(ca_signer_create_file_key(dd, issuer, 2048, &pub),
	    JPKI_ERR_CONFLICT);
}

/* The municipality's document key (the kiosk): it signs a document's
 * 32-byte digest and its own certificate (a TBSCertificate carrying its
 * own public key), nothing else; no other key signs those. */
static void
test_municipality_key_signs_only_documents(void)
{
	struct ca_signer *s = NULL;
	struct ca_signer_session *ss = NULL;
	struct ca_key_id muni = CA_KEY_ID_MUNICIPALITY;
	struct ca_key_id sign_ca = {CERT_SIGN, CA_KEY_CA, 1};
	uint8_t sig[1024], digest[32] = {1, 2, 3}, own[2048], *spki = NULL;
	size_t sig_len = sizeof(sig), own_len;
	EVP_PKEY *pub = NULL;
	int n;

	CHECK_INT(ca_signer_create_file_key(dd, muni, 2048, &pub), JPKI_OK);
	EVP_PKEY_free(pub);
	pub = NULL;
	CHECK_INT(ca_signer_open_files(dd, CA_KEYS_MUNICIPALITY | CA_KEYS_CA,
	    &s), JPKI_OK);
	if (s == NULL || ca_signer_session_open(s, &ss) != JPKI_OK) {
		ca_signer_close(&s);
		CHECK(0);
		return;
	}
	CHECK_INT(ca_signer_sign(ss, muni, CA_SIGN_DOCUMENT_DIGEST, digest,
	    sizeof(digest), sig, &sig_len), JPKI_OK);
	CHECK_INT(ca_signer_public_key(s, muni, &pub), JPKI_OK);
	CHECK(pub != NULL && verifies(pub, digest, 32, 1, sig, sig_len));
	/* its own certificate: a TBS holding its SPKI; not another key's */
	n = pub != NULL ? i2d_PUBKEY(pub, &spki) : 0;
	CHECK(n > 0 && (size_t)n + 8 < sizeof(own));
	if (n > 0 && (size_t)n + 8 < sizeof(own)) {
		own[0] = 0x30;
		own[1] = 0x82;
		own[2] = (uint8_t)((n + 4) >> 8);
		own[3] = (uint8_t)(n + 4);
		memcpy(own + 4, "\x02\x02\x01\x01", 4);
		memcpy(own + 8, spki, (size_t)n);
		own_len = (size_t)n + 8;
		sig_len = sizeof(sig);
		CHECK_INT(ca_signer_sign(ss, muni, CA_SIGN_MUNICIPALITY_CERT,
		    own, own_len, sig, &sig_len), JPKI_OK);
		CHECK(verifies(pub, own, own_len, 0, sig, sig_len));
		own[own_len - 1] ^= 1;  /* another key */
		CHECK_INT(ca_signer_sign(ss, muni, CA_SIGN_MUNICIPALITY_CERT,
		    own, own_len, sig, &sig_len), JPKI_ERR_REFUSED);
	}
	OPENSSL_free(spki);
	EVP_PKEY_free(pub);
	/* shape: a digest is 32 bytes */
	CHECK_INT(ca_signer_sign(ss, muni, CA_SIGN_DOCUMENT_DIGEST, digest,
	    31, sig, &sig_len), JPKI_ERR_INPUT);
	/* nothing else with it, and not those with another key */
	CHECK_INT(ca_signer_sign(ss, muni, CA_SIGN_CERT, tbs, sizeof(tbs), sig,
	    &sig_len), JPKI_ERR_REFUSED);
	CHECK_INT(ca_signer_sign(ss, muni, CA_SIGN_CRL_DIGEST, digest,
	    sizeof(digest), sig, &sig_len), JPKI_ERR_REFUSED);
	CHECK_INT(ca_signer_sign(ss, sign_ca, CA_SIGN_DOCUMENT_DIGEST, digest,
	    sizeof(digest), sig, &sig_len), JPKI_ERR_REFUSED);
	ca_signer_session_close(&ss);
	ca_signer_close(&s);
	CHECK_INT(ca_signer_create_file_key(dd, muni, 2048, &pub),
	    JPKI_ERR_CONFLICT);
	CHECK_INT(ca_signer_discard_file_key(dd, muni), JPKI_ERR_INTERNAL);
}

/* A card face (CA_SIGN_CARD_FACE): its elements from DF 21 on, signed by
 * the card issuer key only; nothing shaped like the other card ops'
 * inputs (64 bytes of digests, a 5F 4E body) is signed as one. */
static void
test_card_issuer_key_signs_card_face(void)
{
	struct ca_signer *s = NULL;
	struct ca_signer_session *ss = NULL;
	struct ca_key_id issuer = CA_KEY_ID_CARD_ISSUER;
	struct ca_key_id sign_ca = {CERT_SIGN, CA_KEY_CA, 1};
	uint8_t face[300], sig[1024];
	size_t sig_len = sizeof(sig);
	EVP_PKEY *pub = NULL;

	memset(face, 0x41, sizeof(face));
	face[0] = 0xDF;
	face[1] = 0x21;
	face[2] = 0x12;
	CHECK_INT(ca_signer_open_files(dd, CA_KEYS_CARD_ISSUER | CA_KEYS_CA,
	    &s), JPKI_OK);
	CHECK_INT(ca_signer_session_open(s, &ss), JPKI_OK);
	if (ss == NULL)
		return;
	CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CARD_FACE, face,
	    sizeof(face), sig, &sig_len), JPKI_OK);
	CHECK_INT(ca_signer_public_key(s, issuer, &pub), JPKI_OK);
	CHECK(pub != NULL && verifies(pub, face, sizeof(face), 0, sig,
	    sig_len));
	EVP_PKEY_free(pub);
	/* the facts' 64 bytes, a certificate body, a short or a foreign
	 * start: refused before anything is signed */
	sig_len = sizeof(sig);
	CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CARD_FACE, face,
	    CA_SIGN_CARD_FACTS_LEN, sig, &sig_len), JPKI_ERR_INPUT);
	face[0] = 0x5F;
	face[1] = 0x4E;
	CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CARD_FACE, face,
	    sizeof(face), sig, &sig_len), JPKI_ERR_INPUT);
	face[0] = 0xDF;
	face[1] = 0x21;
	CHECK_INT(ca_signer_sign(ss, issuer, CA_SIGN_CARD_FACE, face,
	    CA_SIGN_CARD_FACE_MAX + 1, sig, &sig_len), JPKI_ERR_INPUT);
	/* and no other key signs a card face */
	CHECK_INT(ca_signer_sign(ss, sign_ca, CA_SIGN_CARD_FACE, face,
	    sizeof(face), sig, &sig_len), JPKI_ERR_REFUSED);
	ca_signer_session_close(&ss);
	ca_signer_close(&s);
}

/* A key is named by (type, role, generation): a CA or responder key of
 * no generation, or of one past CA_GEN_MAX, is no key; a generation the
 * data directory does not have is not loaded; each generation signs with
 * its own key. */
static void
test_each_generation_is_its_own_key(void)
{
	static const struct {
		struct ca_key_id id;
		int want;
	} table[] = {
	    {{CERT_SIGN, CA_KEY_CA, 0}, JPKI_ERR_INTERNAL},
	    {{CERT_SIGN, CA_KEY_CA, -1}, JPKI_ERR_INTERNAL},
	    {{CERT_SIGN, CA_KEY_CA, CA_GEN_MAX + 1}, JPKI_ERR_INTERNAL},
	    {{CERT_AUTH, CA_KEY_OCSP, 0}, JPKI_ERR_INTERNAL},
	    {{(enum cert_type)0, CA_KEY_CARD_ISSUER, 1}, JPKI_ERR_INTERNAL},
	    {{CERT_SIGN, CA_KEY_CA, 2}, JPKI_ERR_REFUSED},
	    {{CERT_AUTH, CA_KEY_CA, CA_GEN_MAX}, JPKI_ERR_REFUSED},
	    {{CERT_SIGN, CA_KEY_CA, 1}, JPKI_OK},
	    {{CERT_AUTH, CA_KEY_CA, 1}, JPKI_OK},
	};
	struct ca_signer *s = NULL;
	struct ca_signer_session *ss = NULL;
	EVP_PKEY *pub = NULL, *pub2 = NULL;
	uint8_t sig[1024];
	size_t sig_len;

	CHECK_INT(ca_signer_open_files(dd, CA_KEYS_CA, &s), JPKI_OK);
	CHECK_INT(ca_signer_session_open(s, &ss), JPKI_OK);
	if (ss == NULL)
		return;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		sig_len = sizeof(sig);
		CHECK_INT(ca_signer_sign(ss, table[i].id, CA_SIGN_CERT, tbs,
		    sizeof(tbs), sig, &sig_len), table[i].want);
	}
	CHECK_INT(ca_signer_public_key(s, (struct ca_key_id){CERT_SIGN,
	    CA_KEY_CA, 2}, &pub), JPKI_ERR_NOTFOUND);
	ca_signer_session_close(&ss);
	ca_signer_close(&s);
	/* A second generation's key: the signer of the directory opens it
	 * beside the first, and it is another key. */
	CHECK_INT(ca_signer_create_file_key(dd, (struct ca_key_id){CERT_SIGN,
	    CA_KEY_CA, 2}, 2048, &pub2), JPKI_OK);
	CHECK_INT(ca_signer_open_files(dd, CA_KEYS_CA, &s), JPKI_OK);
	CHECK_INT(ca_signer_session_open(s, &ss), JPKI_OK);
	CHECK_INT(ca_signer_public_key(s, (struct ca_key_id){CERT_SIGN,
	    CA_KEY_CA, 1}, &pub), JPKI_OK);
	CHECK(pub != NULL && pub2 != NULL && EVP_PKEY_eq(pub, pub2) != 1);
	sig_len = sizeof(sig);
	if (ss != NULL && pub2 != NULL) {
		CHECK_INT(ca_signer_sign(ss, (struct ca_key_id){CERT_SIGN,
		    CA_KEY_CA, 2}, CA_SIGN_CERT, tbs, sizeof(tbs), sig,
		    &sig_len), JPKI_OK);
		CHECK(verifies(pub2, tbs, sizeof(tbs), 0, sig, sig_len));
		CHECK(!verifies(pub, tbs, sizeof(tbs), 0, sig, sig_len));
	}
	EVP_PKEY_free(pub);
	EVP_PKEY_free(pub2);
	ca_signer_session_close(&ss);
	ca_signer_close(&s);
	CHECK_INT(ca_signer_discard_file_key(dd, (struct ca_key_id){CERT_SIGN,
	    CA_KEY_CA, 2}), JPKI_OK);
	CHECK_INT(ca_signer_discard_file_key(dd, (struct ca_key_id){CERT_SIGN,
	    CA_KEY_CA, 1}), JPKI_ERR_INTERNAL);
}

/* One naming scheme for key files and token records: generation 1 keeps
 * the names from before generations, a later one is NAME.genN. */
static void
test_key_names_per_generation(void)
{
	static const struct {
		struct ca_key_id id;
		const char *name, *label;
	} table[] = {
	    {{CERT_SIGN, CA_KEY_CA, 1}, "sign-ca", "sign CA generation 1"},
	    {{CERT_AUTH, CA_KEY_OCSP, 1}, "auth-ocsp",
	     "auth OCSP responder generation 1"},
	    {{CERT_SIGN, CA_KEY_CA, 2}, "sign-ca.gen2", "sign CA generation 2"},
	    {{CERT_AUTH, CA_KEY_OCSP, CA_GEN_MAX}, "auth-ocsp.gen16",
	     "auth OCSP responder generation 16"},
	    {CA_KEY_ID_CARD_ISSUER, "card-issuer", "card issuer"},
	    {CA_KEY_ID_MUNICIPALITY, "municipality", "municipality document"},
	};
	char name[48], label[40];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		CHECK_INT(ca_key_name(table[i].id, name, sizeof(name)),
		    JPKI_OK);
		CHECK_STR(name, table[i].name);
		ca_key_label(table[i].id, label, sizeof(label));
		CHECK_STR(label, table[i].label);
	}
}

/* The seam's discard: a later generation's key goes from the directory
 * and the signer; generation 1 and the card issuer's are never
 * discarded. */
static void
test_discard_a_later_generation(void)
{
	struct ca_signer *s = NULL;
	EVP_PKEY *pub = NULL;
	struct ca_key_id later = {CERT_AUTH, CA_KEY_OCSP, 2};

	CHECK_INT(ca_signer_open(dd, CA_KEYS_OCSP, &s), JPKI_OK);
	if (s == NULL)
		return;
	CHECK_INT(ca_signer_create_key(s, later, 2048, &pub), JPKI_OK);
	EVP_PKEY_free(pub);
	pub = NULL;
	CHECK_INT(ca_signer_public_key(s, later, &pub), JPKI_OK);
	EVP_PKEY_free(pub);
	pub = NULL;
	CHECK_INT(ca_signer_discard_key(s, later), JPKI_OK);
	CHECK_INT(ca_signer_public_key(s, later, &pub), JPKI_ERR_NOTFOUND);
	CHECK_INT(ca_signer_discard_key(s, later), JPKI_OK);
	CHECK_INT(ca_signer_discard_key(s, (struct ca_key_id){CERT_AUTH,
	    CA_KEY_OCSP, 1}), JPKI_ERR_INTERNAL);
	CHECK_INT(ca_signer_discard_key(s, CA_KEY_ID_CARD_ISSUER),
	    JPKI_ERR_INTERNAL);
	ca_signer_close(&s);
	/* and a new signer of the directory does not find it */
	CHECK_INT(ca_signer_open(dd, CA_KEYS_OCSP, &s), JPKI_OK);
	if (s != NULL)
		CHECK_INT(ca_signer_public_key(s, later, &pub),
		    JPKI_ERR_NOTFOUND);
	ca_signer_close(&s);
}

int
main(void)
{
	struct datadir_init_options o = {0};

	snprintf(dir, sizeof(dir), "/tmp/jpki-test-signer-%d", (int)getpid());
	CHECK_INT(support_datadir_init(dir, &o), JPKI_OK);
	CHECK_INT(datadir_open(dir, DATADIR_READ_ONLY, &dd), JPKI_OK);
	if (dd != NULL) {
		test_each_key_signs_only_its_kind();
		test_keys_not_loaded_are_not_there();
		test_a_key_is_never_written_over();
		test_card_issuer_key_signs_only_card_facts();
		test_card_issuer_key_signs_card_face();
		test_municipality_key_signs_only_documents();
		test_each_generation_is_its_own_key();
		test_key_names_per_generation();
		test_discard_a_later_generation();
	}
	datadir_close(&dd);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary();
}
