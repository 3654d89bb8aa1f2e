/*
 * card_fixture.h: what the card tests share: a scratch directory, an issuer
 * master key, a throwaway test CA (not the project's CA module: a few
 * OpenSSL calls, enough to give the card real certificates), and a
 * personalised card built with the card client's issuer operations.
 * Included by the card unit tests and the card_* test tools.
 */
#ifndef JPKI_CARD_FIXTURE_H
#define JPKI_CARD_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cairo.h>

#include "card/card.h"

#define FIXTURE_UNUSED __attribute__((unused))

#define FIXTURE_AUTH_PIN "1234"
#define FIXTURE_SIGN_PIN "ABC123"
#define FIXTURE_INFO_PIN "5678"
/* Collation numbers: A the individual number of fixture_info; B its birth
 * 800123, expiry year 2036, security code 4321. */
#define FIXTURE_MATCH_A "123456789018"
#define FIXTURE_MATCH_B "80012320364321"

struct test_ca {
	EVP_PKEY *key;
	X509 *cert;
};

FIXTURE_UNUSED static char *
fixture_dir(void)
{
	static char tmpl[64];

	snprintf(tmpl, sizeof(tmpl), "/tmp/jpki-card-test.XXXXXX");
	return mkdtemp(tmpl);
}

FIXTURE_UNUSED static void
fixture_rmdir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.500s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

FIXTURE_UNUSED static int
fixture_master(const char *dir, uint8_t master[CARD_ISSUER_KEY_LEN])
{
	char path[512];

	snprintf(path, sizeof(path), "%s/issuer-master.key", dir);
	if (access(path, F_OK) != 0 && card_issuer_master_create(path) != 0)
		return -1;
	return card_issuer_master_load(path, master);
}

FIXTURE_UNUSED static void
name_add(X509_NAME *n, const char *field, const char *value)
{
	X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
	    (const unsigned char *)value, -1, -1, 0);
}

FIXTURE_UNUSED static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) != NULL) {
		X509_add_ext(cert, ext, -1);
		X509_EXTENSION_free(ext);
	}
}

/* Build and sign a certificate for pub, by ca (or self-signed if ca has
 * no cert yet). */
static X509 *
fixture_cert(struct test_ca *ca, EVP_PKEY *pub, const char *cn, int is_ca,
    const char *key_usage)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	static long serial = 1;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	name_add(n, "C", "JP");
	name_add(n, "O", "JPKI test");
	name_add(n, "CN", cn);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, ca->cert ? X509_get_subject_name(ca->cert) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_set_pubkey(x, pub);
	add_ext(x, ca->cert ? ca->cert : x, NID_basic_constraints,
	    is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, ca->cert ? ca->cert : x, NID_key_usage, key_usage);
	add_ext(x, ca->cert ? ca->cert : x, NID_subject_key_identifier, "hash");
	X509_sign(x, ca->key, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

FIXTURE_UNUSED static int
fixture_ca(struct test_ca *ca, const char *cn)
{
	ca->cert = NULL;
	if ((ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)2048)) == NULL)
		return -1;
	ca->cert = fixture_cert(ca, ca->key, cn, 1,
	    "critical,keyCertSign,cRLSign");
	return ca->cert ? 0 : -1;
}

FIXTURE_UNUSED static void
fixture_ca_free(struct test_ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
}

FIXTURE_UNUSED static int
fixture_der(X509 *x, struct jbuf *out)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	jbuf_init(out);
	if (n <= 0)
		return -1;
	jbuf_put(out, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

/* Generate the key in the card, issue its certificate, write it. */
FIXTURE_UNUSED static int
fixture_key_and_cert(struct card_transport *t, struct test_ca *ca,
    enum cert_type type, const char *cn)
{
	struct jbuf spki, der;
	const unsigned char *p;
	EVP_PKEY *pub;
	X509 *x;
	int r;

	if (card_client_generate_key(t, type, &spki) != 0)
		return -1;
	p = spki.data;
	pub = d2i_PUBKEY(NULL, &p, (long)spki.len);
	jbuf_free(&spki);
	if (pub == NULL)
		return -1;
	x = fixture_cert(ca, pub, cn, 0, type == CERT_SIGN ?
	    "critical,digitalSignature,nonRepudiation" :
	    "critical,digitalSignature");
	EVP_PKEY_free(pub);
	fixture_der(x, &der);
	X509_free(x);
	r = card_client_write_cert(t, card_cert_for(type, CARD_CERT_OWN),
	    der.data, der.len);
	jbuf_free(&der);
	if (r == 0) {
		fixture_der(ca->cert, &der);
		r = card_client_write_cert(t, card_cert_for(type,
		    CARD_CERT_CA), der.data, der.len);
		jbuf_free(&der);
	}
	return r;
}

static const struct card_info fixture_info = {
	"123456789018", "番号　花子", "東京都千代田区霞が関二丁目1番2号",
	"19800123", "2"};

/* A throwaway card issuer key (the counter's is behind the key seam). */
FIXTURE_UNUSED static EVP_PKEY *
fixture_card_issuer(void)
{
	static EVP_PKEY *issuer;

	if (issuer == NULL)
		issuer = EVP_RSA_gen(2048);
	return issuer;
}

FIXTURE_UNUSED static int
fixture_rsa_sign(EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t *sig,
    size_t *sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
	    key) == 1 && EVP_DigestSign(ctx, sig, sig_len, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* EF 0003, 0004 and 0005 for info, signed by issuer as the counter signs
 * them through the key seam. */
FIXTURE_UNUSED static int
fixture_sign_info(struct card_transport *t, const struct card_info *info,
    EVP_PKEY *issuer)
{
	uint8_t digests[2 * CARD_INFO_DIGEST_LEN], sig[512], cert_sig[512];
	size_t sig_len = sizeof(sig), cert_sig_len = sizeof(cert_sig);
	struct jbuf ef3, body, ef4, ef5;
	int r = -1;

	jbuf_init(&ef3);
	jbuf_init(&body);
	jbuf_init(&ef4);
	jbuf_init(&ef5);
	if (issuer != NULL && card_info_digests(info, digests) == 0 &&
	    fixture_rsa_sign(issuer, digests, sizeof(digests), sig,
	    &sig_len) == 0 &&
	    card_info_encode_signature(digests, sig, sig_len, &ef3) == 0 &&
	    card_info_encode_cert_body(issuer, &body) == 0 &&
	    fixture_rsa_sign(issuer, body.data, body.len, cert_sig,
	    &cert_sig_len) == 0 &&
	    card_info_encode_cert(&body, cert_sig, cert_sig_len, &ef4) == 0 &&
	    card_info_encode_apinfo(issuer, &ef5) == 0 &&
	    card_client_write_info_signature(t, &ef3, &ef4, &ef5) == 0)
		r = 0;
	jbuf_free(&ef3);
	jbuf_free(&body);
	jbuf_free(&ef4);
	jbuf_free(&ef5);
	return r;
}

static cairo_status_t
fixture_png_write(void *closure, const unsigned char *data, unsigned int n)
{
	return jbuf_put(closure, data, n) ? CAIRO_STATUS_NO_MEMORY :
	    CAIRO_STATUS_SUCCESS;
}

/* A small PNG of w x h: a grey bar on white (the tests' stand-in for the
 * counter's rendered text). */
FIXTURE_UNUSED static int
fixture_png(int w, int h, struct jbuf *out)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w,
	    h);
	cairo_t *cr = cairo_create(s);
	cairo_status_t st;

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
	cairo_rectangle(cr, 4, h / 4, w - 8, h / 2);
	cairo_fill(cr);
	cairo_destroy(cr);
	st = cairo_surface_write_to_png_stream(s, fixture_png_write, out);
	cairo_surface_destroy(s);
	return st == CAIRO_STATUS_SUCCESS ? 0 : -1;
}

/* The card face of fixture_info (expiry 2036-01-23), signed by issuer as
 * the counter signs it through the key seam; a 48 x 60 photo. */
FIXTURE_UNUSED static int
fixture_face(struct card_face *f, EVP_PKEY *issuer)
{
	struct card_pixels px = {48, 60, NULL};
	struct jbuf content;
	uint8_t sig[512];
	size_t sig_len = sizeof(sig);
	int r = -1;

	card_face_init(f);
	jbuf_init(&content);
	snprintf(f->birth, sizeof(f->birth), "%s", fixture_info.birth);
	snprintf(f->sex, sizeof(f->sex), "%s", fixture_info.sex);
	snprintf(f->expiry, sizeof(f->expiry), "20360123");
	if ((px.rgb = malloc(48 * 60 * 3)) == NULL)
		return -1;
	for (int i = 0; i < 48 * 60 * 3; i++)
		px.rgb[i] = (uint8_t)(i * 7 % 251);
	if (issuer != NULL &&
	    card_face_encode_public_key(issuer, &f->public_key) == 0 &&
	    fixture_png(200, 32, &f->name) == 0 &&
	    fixture_png(240, 48, &f->address) == 0 &&
	    fixture_png(64, 24, &f->code) == 0 &&
	    card_jp2_encode(&px, 10, &f->photo) == 0 &&
	    card_face_signed_content(f, (size_t)EVP_PKEY_get_size(issuer),
	    &content) == 0 &&
	    fixture_rsa_sign(issuer, content.data, content.len, sig,
	    &sig_len) == 0 && jbuf_put(&f->signature, sig, sig_len) == 0)
		r = 0;
	card_pixels_free(&px);
	jbuf_free(&content);
	return r;
}

/* Write the card face and its collation numbers A and B (the same as the
 * card-info AP's: what the face shows). */
FIXTURE_UNUSED static int
fixture_write_face(struct card_transport *t)
{
	struct card_face f;
	struct jbuf ef;
	int r = -1;

	jbuf_init(&ef);
	if (fixture_face(&f, fixture_card_issuer()) == 0 &&
	    card_face_encode(&f, &ef) == 0 &&
	    card_client_write_face(t, &ef) == 0 &&
	    card_client_set_match(t, CARD_FACE_MATCH_A, FIXTURE_MATCH_A) == 0 &&
	    card_client_set_match(t, CARD_FACE_MATCH_B, FIXTURE_MATCH_B) == 0)
		r = 0;
	card_face_free(&f);
	jbuf_free(&ef);
	return r;
}

/* Personalise a blank card as the counter would: PINs, keys,
 * certificates, card-info AP.  Returns 0 on success. */
FIXTURE_UNUSED static int
fixture_personalise(struct card_transport *t,
    const uint8_t master[CARD_ISSUER_KEY_LEN], struct test_ca *sign_ca,
    struct test_ca *auth_ca)
{
	if (card_client_issuer_auth(t, master) != 0 ||
	    card_client_set_pin(t, PIN_AUTH, FIXTURE_AUTH_PIN) != 0 ||
	    card_client_set_pin(t, PIN_SIGN, FIXTURE_SIGN_PIN) != 0 ||
	    card_client_set_pin(t, PIN_CARDINFO, FIXTURE_INFO_PIN) != 0 ||
	    fixture_key_and_cert(t, sign_ca, CERT_SIGN, "SIGN0001") != 0 ||
	    fixture_key_and_cert(t, auth_ca, CERT_AUTH, "AUTH0001") != 0 ||
	    card_client_write_info(t, &fixture_info) != 0 ||
	    fixture_sign_info(t, &fixture_info, fixture_card_issuer()) != 0 ||
	    card_client_set_match(t, CARD_MATCH_A, FIXTURE_MATCH_A) != 0 ||
	    card_client_set_match(t, CARD_MATCH_B, FIXTURE_MATCH_B) != 0 ||
	    fixture_write_face(t) != 0)
		return -1;
	return 0;
}

/* A personalised card image at dir/card.img (created, personalised,
 * saved, unlocked).  Returns 0 on success. */
FIXTURE_UNUSED static int
fixture_card_image(const char *dir, const uint8_t master[CARD_ISSUER_KEY_LEN],
    char path[512])
{
	struct card_transport *t = NULL;
	struct test_ca sign_ca, auth_ca;
	int r = -1;

	snprintf(path, 512, "%.400s/card.img", dir);
	if (fixture_ca(&sign_ca, "Test signing CA") != 0 ||
	    fixture_ca(&auth_ca, "Test authentication CA") != 0)
		return -1;
	if (card_image_create(path, CARD_MYNUMBER, master, NULL) == 0 &&
	    card_transport_image(path, &t) == 0 &&
	    fixture_personalise(t, master, &sign_ca, &auth_ca) == 0)
		r = 0;
	if (r != 0)
		fprintf(stderr, "fixture: %s\n", jpki_errmsg());
	card_transport_free(&t);
	fixture_ca_free(&sign_ca);
	fixture_ca_free(&auth_ca);
	return r;
}

#endif
