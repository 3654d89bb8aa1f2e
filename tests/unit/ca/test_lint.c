/* The profile check before signing (src/ca/lint.c): what the CA's own
 * issuance makes passes; each way a TBSCertificate or an OCSP
 * ResponseData can break the JPKI profile is refused, naming it. */
#include "support/open_ca.h"
#include "ca/ca_impl.h"
#include "test.h"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];
static struct ca *ca;
static EVP_PKEY *card_key;
static int64_t now;

static struct pki_holder_facts facts = {
    .name = "山田\xE3\x80\x80太郎", .name_flags = "00000", .gender = 1,
    .birth = "319801231", .address = "東京都清瀬市中里五丁目842番地",
    .address_flags = "0000000000000000",
};

/* The CA generation build() makes certificates for, and lint() checks
 * against. */
static int build_gen = 1, lint_gen = 1;

static X509 *
build(enum cert_type t, enum cert_type ca_type, int64_t na, int with_facts)
{
	static uint8_t serial[16];
	struct pki_ee_params ep = {0};
	char crl[PKI_URI_MAX];
	X509 *x = NULL;

	ca_serial_random(serial);
	ca_crl_uri(ca, t, build_gen, 3, crl, sizeof(crl));
	ep.type = t;
	ep.serial = serial;
	ep.serial_len = sizeof(serial);
	ep.not_before = now;
	ep.not_after = na;
	ep.subject_pub = card_key;
	ep.ca_cert = ca_gen_cert(ca, ca_type, build_gen);
	ep.names = &ca->names;
	ep.pref_romaji = "Tokyo-to";
	ep.city_romaji = "Kiyose-shi";
	ep.cn = "LINT";
	ep.facts = with_facts ? &facts : NULL;
	ep.test_policy = ca->config.test_policy;
	ep.cps_uri = ca->config.cps_uri;
	ep.crl_uri = crl;
	CHECK_INT(pki_ee_cert_build(&ep, &x), JPKI_OK);
	return x;
}

/* lint x as a TBSCertificate for CA t: the code, and the message in msg. */
static int
lint(X509 *x, enum cert_type t, char *msg, size_t n)
{
	uint8_t *tbs = NULL;
	size_t len;
	char serial[SERIAL_HEX_MAX];
	int r;

	if (x == NULL || pki_cert_tbs(x, &tbs, &len) != JPKI_OK)
		return -1;
	jpki_errclear();
	r = ca_lint_tbs_cert(ca, t, lint_gen, tbs, len, now, serial);
	snprintf(msg, n, "%s", jpki_errmsg());
	OPENSSL_free(tbs);
	return r;
}

#define REFUSED(x, t, frag) do {                                             \
		char m_[512];                                                \
		CHECK_INT(lint((x), (t), m_, sizeof(m_)), JPKI_ERR_REFUSED); \
		CHECK(strstr(m_, (frag)) != NULL);                           \
		if (strstr(m_, (frag)) == NULL)                              \
			fprintf(stderr, "    message: %s\n", m_);            \
	} while (0)

static void
test_the_profile_passes(void)
{
	X509 *s = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1);
	X509 *a = build(CERT_AUTH, CERT_AUTH, now + 365 * 86400, 0);
	char m[512];

	CHECK_INT(lint(s, CERT_SIGN, m, sizeof(m)), JPKI_OK);
	CHECK_INT(lint(a, CERT_AUTH, m, sizeof(m)), JPKI_OK);
	/* Its own certificates: a new responder certificate, its CA's. */
	CHECK_INT(lint(ca_cert(ca, CERT_SIGN), CERT_SIGN, m, sizeof(m)),
	    JPKI_OK);
	CHECK_INT(lint(ca_ocsp_cert(ca, CERT_AUTH), CERT_AUTH, m, sizeof(m)),
	    JPKI_OK);
	X509_free(s);
	X509_free(a);
}

static void
test_what_breaks_it_is_named(void)
{
	X509 *s, *a, *x;
	X509_EXTENSION *e;
	BASIC_CONSTRAINTS *bc;
	char serial[SERIAL_HEX_MAX];
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};

	/* The holder's facts on an authentication certificate. */
	s = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1);
	a = build(CERT_AUTH, CERT_AUTH, now + 365 * 86400, 0);
	X509_add_ext(a, X509_get_ext(s, X509_get_ext_by_NID(s,
	    NID_subject_alt_name, -1)), 1);
	REFUSED(a, CERT_AUTH, "belong on signing certificates only");
	X509_free(a);
	/* Past any card issued today, past the 5th birthday (R6). */
	a = build(CERT_AUTH, CERT_AUTH, now + 8LL * 366 * 86400, 0);
	REFUSED(a, CERT_AUTH, "more than five years on");
	X509_free(a);
	x = build(CERT_SIGN, CERT_SIGN, now + 5LL * 366 * 86400 + 86400, 1);
	REFUSED(x, CERT_SIGN, "past the 5th birthday");
	X509_free(x);
	/* To the other CA's key. */
	REFUSED(s, CERT_AUTH, "issuer: is not this CA");
	/* KeyUsage made non-critical. */
	x = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1);
	X509_EXTENSION_set_critical(X509_get_ext(x, X509_get_ext_by_NID(x,
	    NID_key_usage, -1)), 0);
	REFUSED(x, CERT_SIGN, "must be critical");
	X509_free(x);
	/* An extension the profile does not have: a CA certificate for a key
	 * that is not the CA's. */
	x = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1);
	bc = BASIC_CONSTRAINTS_new();
	bc->ca = 1;
	e = X509V3_EXT_i2d(NID_basic_constraints, 1, bc);
	X509_add_ext(x, e, -1);
	REFUSED(x, CERT_SIGN, "not this CA's own");
	X509_EXTENSION_free(e);
	BASIC_CONSTRAINTS_free(bc);
	X509_free(x);
	/* A signing certificate without its facts. */
	x = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1);
	X509_EXTENSION_free(X509_delete_ext(x, X509_get_ext_by_NID(x,
	    NID_subject_alt_name, -1)));
	REFUSED(x, CERT_SIGN, "missing");
	X509_free(x);
	/* notBefore not today. */
	x = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - 3 * 86400));
	REFUSED(x, CERT_SIGN, "notBefore is not today");
	X509_free(x);
	/* Not a TBSCertificate. */
	CHECK_INT(ca_lint_tbs_cert(ca, CERT_SIGN, 1, junk, sizeof(junk), now,
	    serial), JPKI_ERR_REFUSED);
	X509_free(s);
}

/* The tbsResponseData of a DER OCSPResponse (OpenSSL keeps it opaque). */
static int
response_data(const uint8_t *der, size_t len, uint8_t **rd, size_t *rd_len)
{
	const uint8_t *p = der, *q;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	OCSP_BASICRESP *bs = resp ? OCSP_response_get1_basic(resp) : NULL;
	uint8_t *b = NULL;
	long n, inner;
	int tag, cls, blen;

	*rd = NULL;
	if (bs == NULL || (blen = i2d_OCSP_BASICRESP(bs, &b)) <= 0)
		goto out;
	q = b;
	if (ASN1_get_object(&q, &n, &tag, &cls, blen) & 0x80)
		goto out;
	p = q;
	if (ASN1_get_object(&q, &inner, &tag, &cls, n) & 0x80)
		goto out;
	*rd_len = (size_t)(q - p) + (size_t)inner;
	if ((*rd = malloc(*rd_len)) != NULL)
		memcpy(*rd, p, *rd_len);
out:
	OPENSSL_free(b);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return *rd != NULL ? JPKI_OK : JPKI_ERR_INPUT;
}

static void
test_ocsp_answers(void)
{
	X509 *s = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1);
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), s, ca_cert(ca,
	    CERT_SIGN));
	struct ca_ocsp_answer ans;
	struct jbuf out;
	uint8_t *der = NULL, *rd = NULL;
	size_t rd_len = 0;
	int n;

	jbuf_init(&out);
	OCSP_request_add0_id(req, id);
	n = i2d_OCSP_REQUEST(req, &der);
	CHECK_INT(ca_ocsp_respond(ca, der, (size_t)n, &out, &ans), JPKI_OK);
	CHECK_INT(response_data(out.data, out.len, &rd, &rd_len), JPKI_OK);
	if (rd != NULL) {
		CHECK_INT(ca_lint_ocsp_data(ca, CERT_SIGN, 1, rd, rd_len, now),
		    JPKI_OK);
		/* Not the other responder's to sign. */
		CHECK_INT(ca_lint_ocsp_data(ca, CERT_AUTH, 1, rd, rd_len, now),
		    JPKI_ERR_REFUSED);
		CHECK(strstr(jpki_errmsg(), "responderID") != NULL);
		/* Produced long ago. */
		CHECK_INT(ca_lint_ocsp_data(ca, CERT_SIGN, 1, rd, rd_len,
		    now + 3 * 86400), JPKI_ERR_REFUSED);
		/* Cut short. */
		CHECK_INT(ca_lint_ocsp_data(ca, CERT_SIGN, 1, rd, rd_len - 1, now),
		    JPKI_ERR_REFUSED);
	}
	free(rd);
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	jbuf_free(&out);
	X509_free(s);
}

static void
test_crl_heads(void)
{
	struct ca_crl_result res;
	struct jbuf f;
	char out[300];
	const uint8_t *p, *q;
	long n, inner;
	int tag, cls;
	size_t tbs_len;

	snprintf(out, sizeof(out), "%s/crl-out", dir);
	jbuf_init(&f);
	CHECK_INT(ca_crl_generate(ca, CERT_SIGN, CA_CRL_FULL, out, &res),
	    JPKI_OK);
	CHECK_INT(file_read_all(res.path, 1 << 20, &f), JPKI_OK);
	/* CertificateList ::= SEQUENCE { tbsCertList, ... } */
	p = f.data;
	if (f.len == 0 || (ASN1_get_object(&p, &n, &tag, &cls, (long)f.len) &
	    0x80)) {
		CHECK(0);
		return;
	}
	q = p;
	if (ASN1_get_object(&q, &inner, &tag, &cls, n) & 0x80) {
		CHECK(0);
		return;
	}
	tbs_len = (size_t)(q - p) + (size_t)inner;
	CHECK_INT(ca_lint_crl_head(ca, CERT_SIGN, 1, p, tbs_len, tbs_len, now),
	    JPKI_OK);
	CHECK_INT(ca_lint_crl_head(ca, CERT_SIGN, 1, p, 40, tbs_len, now),
	    JPKI_ERR_REFUSED);
	CHECK_INT(ca_lint_crl_head(ca, CERT_SIGN, 1, p, tbs_len, tbs_len + 1, now),
	    JPKI_ERR_REFUSED);
	CHECK(strstr(jpki_errmsg(), "length") != NULL);
	CHECK_INT(ca_lint_crl_head(ca, CERT_AUTH, 1, p, tbs_len, tbs_len, now),
	    JPKI_ERR_REFUSED);
	CHECK(strstr(jpki_errmsg(), "issuer is not this CA") != NULL);
	CHECK_INT(ca_lint_crl_head(ca, CERT_SIGN, 1, p, tbs_len, tbs_len,
	    now + 2 * 86400), JPKI_ERR_REFUSED);
	CHECK(strstr(jpki_errmsg(), "thisUpdate is not now") != NULL);
	jbuf_free(&f);
}

/* After a rollover, each generation is checked against its own CA
 * certificate: a generation-2 certificate that ends after generation 1's
 * CA passes as generation 2's, generation 1's body is not generation 2's; a
 * holder's certificate of generation 1 is refused (it no longer issues),
 * its own responder certificate still passes; a generation the CA does
 * not have is no generation. */
static void
test_generations(void)
{
	struct ca_rollover_result res;
	X509 *g1, *g2;
	char m[512], serial[SERIAL_HEX_MAX];
	uint8_t *tbs = NULL;
	size_t len = 0;

	/* 2033: generation 1 (made in 2026, 10 years) ends in 2036, before
	 * a 4-year certificate issued today. */
	setenv("JPKI_NOW", "2033-01-10T10:00:00+09:00", 1);
	now = jpki_now();
	CHECK_INT(ca_rollover(ca, CERT_AUTH, "test", &res), JPKI_OK);
	CHECK_INT(res.new_gen, 2);
	build_gen = 2;
	g2 = build(CERT_AUTH, CERT_AUTH, now + 4LL * 365 * 86400, 0);
	build_gen = 1;
	g1 = build(CERT_AUTH, CERT_AUTH, now + 365 * 86400, 0);
	lint_gen = 2;
	CHECK_INT(lint(g2, CERT_AUTH, m, sizeof(m)), JPKI_OK);
	/* Generation 1's body as generation 2's: not its key. */
	REFUSED(g1, CERT_AUTH, "AuthorityKeyIdentifier");
	lint_gen = 1;
	REFUSED(g1, CERT_AUTH, "a generation that no longer issues: "
	    "generation 2 issues");
	REFUSED(g2, CERT_AUTH, "no longer issues");
	CHECK_INT(lint(ca_gen_ocsp_cert(ca, CERT_AUTH, 1), CERT_AUTH, m,
	    sizeof(m)), JPKI_OK);
	/* The signing CA did not roll over: its generation 1 issues. */
	CHECK_INT(ca_generation_count(ca, CERT_SIGN), 1);
	lint_gen = 3;
	if (g2 != NULL && pki_cert_tbs(g2, &tbs, &len) == JPKI_OK) {
		CHECK_INT(ca_lint_tbs_cert(ca, CERT_AUTH, 3, tbs, len, now,
		    serial), JPKI_ERR_NOTFOUND);
		CHECK(strstr(jpki_errmsg(), "has no generation 3") != NULL);
	}
	OPENSSL_free(tbs);
	lint_gen = 1;
	X509_free(g1);
	X509_free(g2);
}

int
main(void)
{
	setenv("JPKI_NOW", "2026-11-25T10:00:00+09:00", 1);
	now = jpki_now();
	snprintf(dir, sizeof(dir), "/tmp/jpki-test-lint-%d", (int)getpid());
	CHECK_INT(support_ca_new(dir, CA_KEYS_CA | CA_KEYS_OCSP, &ca), JPKI_OK);
	card_key = EVP_RSA_gen(2048);
	if (ca != NULL && card_key != NULL) {
		test_the_profile_passes();
		test_what_breaks_it_is_named();
		test_ocsp_answers();
		test_crl_heads();
		test_generations();
	}
	EVP_PKEY_free(card_key);
	support_ca_close(&ca);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary();
}
