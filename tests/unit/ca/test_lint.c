/* The profile check before signing (src/ca/lint.c): what the CA's own
 * issuance makes passes; each way a TBSCertificate or an OCSP
 * ResponseData can break the JPKI profile is refused, naming it. */
#include "support/open_ca.h"
#include "ca/ca_impl.h"
#include "test.h"

#include <openssl/err.h>
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

/* ---- the DER walk ------------------------------------------------------ */

/* The TBSCertificate of x. */
static size_t
tbs_of(X509 *x, uint8_t **tbs)
{
	size_t len = 0;

	*tbs = NULL;
	if (x == NULL || pki_cert_tbs(x, tbs, &len) != JPKI_OK)
		return 0;
	return len;
}

static int
lint_bytes(const uint8_t *tbs, size_t len, enum cert_type t)
{
	char serial[SERIAL_HEX_MAX];

	jpki_errclear();
	return ca_lint_tbs_cert(ca, t, 1, tbs, len, now, serial);
}

/* Offset and header length of the TBSCertificate's field number i (0 the
 * version), read with OpenSSL's own TLV reader. */
static size_t
field_at(const uint8_t *tbs, size_t len, int i, size_t *hdr)
{
	const uint8_t *p = tbs, *start;
	long n;
	int tag, cls;

	if (ASN1_get_object(&p, &n, &tag, &cls, (long)len) & 0x80)
		return 0;
	for (;;) {
		start = p;
		if (ASN1_get_object(&p, &n, &tag, &cls, (long)(tbs + len - p)) &
		    0x80)
			return 0;
		if (i-- == 0)
			break;
		p += n;
	}
	*hdr = (size_t)(p - start);
	return (size_t)(start - tbs);
}

/* tbs with `ins` inserted at `at` and `del` bytes there deleted, its outer
 * length (4 octets: 30 82 hi lo) set to match; into out, its length. */
static size_t
splice(const uint8_t *tbs, size_t len, size_t at, size_t del,
    const uint8_t *ins, size_t ins_len, uint8_t *out)
{
	size_t n = 0, body;

	memcpy(out, tbs, at);
	n = at;
	memcpy(out + n, ins, ins_len);
	n += ins_len;
	memcpy(out + n, tbs + at + del, len - at - del);
	n += len - at - del;
	body = n - 4;
	out[2] = (uint8_t)(body >> 8);
	out[3] = (uint8_t)body;
	return n;
}

/* The first occurrence of pat in tbs at or after from, or len. */
static size_t
find(const uint8_t *tbs, size_t len, size_t from, const uint8_t *pat,
    size_t n)
{
	for (size_t i = from; i + n <= len; i++)
		if (memcmp(tbs + i, pat, n) == 0)
			return i;
	return len;
}

#define REFUSED_BYTES(b, n, t, frag) do {                                    \
		CHECK_INT(lint_bytes((b), (n), (t)), JPKI_ERR_REFUSED);      \
		CHECK(strstr(jpki_errmsg(), (frag)) != NULL);                \
		if (strstr(jpki_errmsg(), (frag)) == NULL)                   \
			fprintf(stderr, "    message: %s\n", jpki_errmsg()); \
	} while (0)

/* What is not strict DER, or bends RFC 5280's rules, is refused, each
 * named; a good TBSCertificate cut short anywhere is refused. */
static void
test_strict_der(void)
{
	static const uint8_t ku_true[] = {0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01,
	    0x01, 0xff};
	X509 *s = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1), *x;
	uint8_t *tbs = NULL, *m = NULL, *t2 = NULL;
	size_t len = tbs_of(s, &tbs), n, at, hdr, k, t2_len;
	int cut_ok = 1;

	CHECK(len > 300 && tbs[1] == 0x82);
	if (len <= 300 || (m = malloc(len + 64)) == NULL)
		goto out;
	CHECK_INT(lint_bytes(tbs, len, CERT_SIGN), JPKI_OK);
	/* A length not in the fewest octets: the version's 03 as 81 03. */
	at = field_at(tbs, len, 0, &hdr);
	CHECK_INT((int)tbs[at + 1], 3);
	n = splice(tbs, len, at + 1, 1, (const uint8_t[]){0x81, 0x03}, 2, m);
	REFUSED_BYTES(m, n, CERT_SIGN, "not a DER TBSCertificate: at version");
	/* The serial with a needless leading zero octet. */
	at = field_at(tbs, len, 1, &hdr);
	n = splice(tbs, len, at, hdr, (const uint8_t[]){0x02,
	    (uint8_t)(tbs[at + 1] + 1), 0x00}, 3, m);
	if (!(tbs[at + 2] & 0x80))
		REFUSED_BYTES(m, n, CERT_SIGN, "at serialNumber");
	/* Bytes after the TBSCertificate. */
	memcpy(m, tbs, len);
	m[len] = 0x00;
	REFUSED_BYTES(m, len + 1, CERT_SIGN, "bytes after its end");
	/* KeyUsage critical as BOOLEAN 01, and as an explicit FALSE. */
	k = find(tbs, len, 0, ku_true, sizeof(ku_true));
	CHECK(k < len);
	if (k < len) {
		memcpy(m, tbs, len);
		m[k + sizeof(ku_true) - 1] = 0x01;
		REFUSED_BYTES(m, len, CERT_SIGN, "BOOLEAN TRUE not encoded");
		m[k + sizeof(ku_true) - 1] = 0x00;
		REFUSED_BYTES(m, len, CERT_SIGN, "critical FALSE encoded");
	}
	/* The issuer in other bytes that OpenSSL's X509_NAME_cmp takes for the
	 * same name: countryName JP as a UTF8String. */
	at = field_at(tbs, len, 3, &hdr);
	k = find(tbs, len, at, (const uint8_t[]){0x13, 0x02, 'J', 'P'}, 4);
	CHECK(k < len);
	if (k < len) {
		memcpy(m, tbs, len);
		m[k] = 0x0C;
		REFUSED_BYTES(m, len, CERT_SIGN, "issuer: is not this CA");
	}
	/* The signature algorithm not the CA's: sha384WithRSA. */
	at = field_at(tbs, len, 2, &hdr);
	memcpy(m, tbs, len);
	CHECK_INT((int)m[at + 12], 0x0b);
	m[at + 12] = 0x0c;
	REFUSED_BYTES(m, len, CERT_SIGN, "not signed with "
	    "sha256WithRSAEncryption");
	/* An extension twice. */
	x = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1);
	X509_add_ext(x, X509_get_ext(x, X509_get_ext_by_NID(x,
	    NID_subject_key_identifier, -1)), -1);
	t2_len = tbs_of(x, &t2);
	REFUSED_BYTES(t2, t2_len, CERT_SIGN, "given twice: X509v3 Subject Key "
	    "Identifier");
	OPENSSL_free(t2);
	X509_free(x);
	/* A date of 2050 as a UTCTime is 1950; one before 2050 as a
	 * GeneralizedTime is not RFC 5280's. */
	x = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1);
	ASN1_UTCTIME_set_string(X509_getm_notAfter(x), "500101000000Z");
	t2_len = tbs_of(x, &t2);
	REFUSED_BYTES(t2, t2_len, CERT_SIGN, "notAfter is not after notBefore");
	OPENSSL_free(t2);
	ASN1_GENERALIZEDTIME_set_string(X509_getm_notAfter(x),
	    "20291231000000Z");
	t2_len = tbs_of(x, &t2);
	REFUSED_BYTES(t2, t2_len, CERT_SIGN, "notAfter before 2050 as a "
	    "GeneralizedTime");
	OPENSSL_free(t2);
	X509_free(x);
	/* A day that no month has: notAfter's MMDD as 0230. */
	at = field_at(tbs, len, 4, &hdr);
	memcpy(m, tbs, len);
	CHECK_INT((int)m[at + hdr + 15], 0x17);
	memcpy(m + at + hdr + 15 + 2 + 2, "0230", 4);
	REFUSED_BYTES(m, len, CERT_SIGN, "unreadable notAfter");
	/* KeyUsage with a bit past the nine also set (keyCertSign is not
	 * digitalSignature's). */
	x = build(CERT_AUTH, CERT_AUTH, now + 365 * 86400, 0);
	{
		ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();

		ASN1_BIT_STRING_set_bit(ku, 0, 1);
		ASN1_BIT_STRING_set_bit(ku, 12, 1);
		X509_EXTENSION_free(X509_delete_ext(x, X509_get_ext_by_NID(x,
		    NID_key_usage, -1)));
		X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT);
		ASN1_BIT_STRING_free(ku);
	}
	t2_len = tbs_of(x, &t2);
	REFUSED_BYTES(t2, t2_len, CERT_AUTH, "KeyUsage: must be "
	    "digitalSignature only");
	OPENSSL_free(t2);
	X509_free(x);
	/* Cut short at every length: refused, never read past. */
	for (size_t i = 0; i < len; i++) {
		uint8_t *cut = malloc(i + 1);   /* exactly i, for ASan */

		if (cut == NULL)
			break;
		memcpy(cut, tbs, i);
		if (lint_bytes(i > 0 ? cut : NULL, i, CERT_SIGN) !=
		    JPKI_ERR_REFUSED)
			cut_ok = 0;
		free(cut);
	}
	CHECK(cut_ok);
out:
	free(m);
	OPENSSL_free(tbs);
	X509_free(s);
}

/* The way the check read a TBSCertificate before it walked the DER
 * itself, kept here to compare against: wrapped in a Certificate with an
 * empty signature, parsed by OpenSSL's d2i_X509, re-encoded, the same
 * bytes.  (Then it also put a stand-in key in place of the subject key,
 * for speed only: OpenSSL's d2i_X509 does not refuse a key it cannot
 * decode, so this is the same verdict.)  1 if it accepts. */
static int
openssl_accepts(const uint8_t *tbs, size_t len)
{
	static const uint8_t nosig[1] = {0};
	uint8_t *der = NULL, *re = NULL;
	size_t der_len, re_len = 0;
	const uint8_t *p;
	X509 *x = NULL;
	int ok = 0;

	if (pki_cert_assemble(tbs, len, nosig, sizeof(nosig), &der,
	    &der_len) != JPKI_OK) {
		jpki_errclear();
		return 0;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)der_len);
	ok = x != NULL && p == der + der_len && pki_cert_tbs(x, &re,
	    &re_len) == JPKI_OK && re_len == len && memcmp(re, tbs, len) == 0;
	ERR_clear_error();
	jpki_errclear();
	OPENSSL_free(der);
	OPENSSL_free(re);
	X509_free(x);
	return ok;
}

/* Each byte of a good TBSCertificate changed three ways: whatever the old
 * OpenSSL reading refused, the DER walk refuses too. */
static void
differential(X509 *good, enum cert_type t)
{
	static const uint8_t flips[] = {0x01, 0x80, 0xFF};
	uint8_t *tbs = NULL, *m;
	size_t len = tbs_of(good, &tbs);
	int both = 0, only_new = 0, missed = 0;

	CHECK(len > 0 && openssl_accepts(tbs, len));
	CHECK_INT(lint_bytes(tbs, len, t), JPKI_OK);
	if (len == 0 || (m = malloc(len)) == NULL) {
		OPENSSL_free(tbs);
		return;
	}
	for (size_t i = 0; i < len; i++)
		for (size_t f = 0; f < sizeof(flips); f++) {
			int old_ok, new_ok;

			memcpy(m, tbs, len);
			m[i] ^= flips[f];
			old_ok = openssl_accepts(m, len);
			new_ok = lint_bytes(m, len, t) == JPKI_OK;
			if (!old_ok && new_ok) {
				if (missed++ < 5)
					fprintf(stderr, "    accepted at %zu "
					    "^ %02x what OpenSSL refuses\n", i,
					    flips[f]);
			} else if (!old_ok) {
				both++;
			} else if (!new_ok) {
				only_new++;
			}
		}
	CHECK_INT(missed, 0);
	CHECK(both > 0);
	printf("    differential: %zu mutations: both refuse %d, only the "
	    "check (its DER or the profile) %d, only OpenSSL %d\n",
	    len * sizeof(flips), both, only_new, missed);
	free(m);
	OPENSSL_free(tbs);
}

static void
test_differential(void)
{
	X509 *s = build(CERT_SIGN, CERT_SIGN, now + 365 * 86400, 1);
	X509 *a = build(CERT_AUTH, CERT_AUTH, now + 365 * 86400, 0);

	differential(s, CERT_SIGN);
	differential(a, CERT_AUTH);
	differential(ca_ocsp_cert(ca, CERT_SIGN), CERT_SIGN);
	X509_free(s);
	X509_free(a);
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

/* 2046: generation 3 of the authentication CA lives past 2050, and a
 * certificate it issues to 2050 or later has its notAfter in a
 * GeneralizedTime, which passes. */
static void
test_after_2049(void)
{
	struct ca_rollover_result res;
	uint8_t *tbs = NULL;
	size_t len;
	X509 *a;
	char m[512];

	/* Rolled over in 2042, before generation 2 (2033) ends. */
	setenv("JPKI_NOW", "2042-03-01T10:00:00+09:00", 1);
	CHECK_INT(ca_rollover(ca, CERT_AUTH, "test", &res), JPKI_OK);
	if (res.new_gen != 3)
		fprintf(stderr, "    rollover: %s\n", jpki_errmsg());
	setenv("JPKI_NOW", "2046-03-01T10:00:00+09:00", 1);
	now = jpki_now();
	build_gen = lint_gen = res.new_gen;
	a = build(CERT_AUTH, CERT_AUTH, now + 4LL * 365 * 86400 + 200 * 86400,
	    0);
	len = tbs_of(a, &tbs);
	CHECK(len > 0 && find(tbs, len, 0, (const uint8_t[]){0x18, 0x0f, '2',
	    '0', '5', '0'}, 6) < len);
	CHECK_INT(lint(a, CERT_AUTH, m, sizeof(m)), JPKI_OK);
	OPENSSL_free(tbs);
	X509_free(a);
	build_gen = lint_gen = 1;
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
		test_strict_der();
		test_differential();
		test_ocsp_answers();
		test_crl_heads();
		test_generations();
		test_after_2049();
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
