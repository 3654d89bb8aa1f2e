/* OCSP: requests made by OpenSSL's own API (SHA-1 and SHA-256 CertIDs,
 * with and without a nonce, several certificates) are read back field for
 * field; every truncation, trailing bytes, non-DER lengths and each named
 * limit are refused; responses built for them parse, verify under the CA
 * with the delegated responder, carry the nonce and say good, revoked
 * (time, reason) or unknown as asked. */
#include "pki_fixture.h"

#include <openssl/ocsp.h>

static EVP_PKEY *ca_key, *responder_key;
/* The responder's key signs through a pki_signer (the CA module's key seam
 * does it through its signer). */
static struct pki_signer *responder_signer;
static struct pki_sign_with responder_signs = {pki_signer_sign_fn, NULL};
static X509 *ca, *responder;

/* A DER OCSPRequest for serials[0..n) under ca. */
static size_t
make_request(const EVP_MD *md, const long *serials, int n, int nonce,
    uint8_t *out, size_t cap)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL;
	int len;

	for (int i = 0; i < n; i++) {
		ASN1_INTEGER *sn = ASN1_INTEGER_new();
		OCSP_CERTID *id;

		ASN1_INTEGER_set(sn, serials[i]);
		id = OCSP_cert_id_new(md, X509_get_subject_name(ca),
		    X509_get0_pubkey_bitstr(ca), sn);
		ASN1_INTEGER_free(sn);
		if (id == NULL || OCSP_request_add0_id(req, id) == NULL)
			return 0;
	}
	if (nonce && !OCSP_request_add1_nonce(req, NULL, -1))
		return 0;
	len = i2d_OCSP_REQUEST(req, &der);
	OCSP_REQUEST_free(req);
	if (len <= 0 || (size_t)len > cap) {
		OPENSSL_free(der);
		return 0;
	}
	memcpy(out, der, (size_t)len);
	OPENSSL_free(der);
	return (size_t)len;
}

static void
test_openssl_requests_read_back(void)
{
	static const long serials[] = {0x1234, 0x7F, 0x80, 0x0102030405060708};
	uint8_t buf[4096], name[32], key[32];
	struct pki_ocsp_request req;
	const EVP_MD *mds[] = {EVP_sha1(), EVP_sha256()};

	for (int m = 0; m < 2; m++) {
		enum pki_ocsp_hash h = m == 0 ? PKI_OCSP_SHA1 : PKI_OCSP_SHA256;
		size_t hl = m == 0 ? 20 : 32;
		size_t len = make_request(mds[m], serials, 4, m == 0, buf,
		    sizeof(buf));

		CHECK(len > 0);
		CHECK_INT(pki_ocsp_request_parse(buf, len, &req), JPKI_OK);
		CHECK_INT(pki_ocsp_issuer_hashes(ca, h, name, key), JPKI_OK);
		CHECK(req.n == 4);
		CHECK_INT(req.has_nonce, m == 0);
		if (m == 0)
			CHECK(req.nonce_len == 18 && req.nonce[0] == 0x04 &&
			    req.nonce[1] == 16);
		for (size_t i = 0; i < req.n && i < 4; i++) {
			char hex[48], want[48];

			CHECK((int)req.id[i].hash == (int)h);
			CHECK(memcmp(req.id[i].name_hash, name, hl) == 0);
			CHECK(memcmp(req.id[i].key_hash, key, hl) == 0);
			CHECK_INT(pki_serial_hex(req.id[i].serial,
			    req.id[i].serial_len, hex, sizeof(hex)), JPKI_OK);
			snprintf(want, sizeof(want), "%0*lX",
			    (int)(((unsigned)snprintf(NULL, 0, "%lX",
			    serials[i]) + 1) / 2 * 2), serials[i]);
			CHECK_STR(hex, want);
		}
		/* Every shorter prefix, and one byte more, is refused. */
		for (size_t cut = 0; cut < len; cut++)
			if (pki_ocsp_request_parse(buf, cut, &req) == JPKI_OK) {
				CHECK(!"a truncated request was accepted");
				break;
			}
		buf[len] = 0;
		CHECK_INT(pki_ocsp_request_parse(buf, len + 1, &req),
		    JPKI_ERR_INPUT);
		CHECK(req.n == 0);
	}
}

static void
test_limits_and_non_der_refused(void)
{
	long many[PKI_OCSP_CERTS_MAX + 1];
	uint8_t buf[8192], big[PKI_OCSP_REQUEST_MAX + 1];
	struct pki_ocsp_request req;
	size_t len;
	/* OCSPRequest { TBSRequest { requestList { } } } with a long-form
	 * length where the short form fits: not DER. */
	static const uint8_t long_form[] = {0x30, 0x81, 0x04, 0x30, 0x02,
	    0x30, 0x00};
	static const uint8_t empty_list[] = {0x30, 0x04, 0x30, 0x02, 0x30,
	    0x00};
	static const uint8_t indefinite[] = {0x30, 0x80, 0x30, 0x02, 0x30,
	    0x00, 0x00, 0x00};

	for (int i = 0; i <= PKI_OCSP_CERTS_MAX; i++)
		many[i] = 1000 + i;
	len = make_request(EVP_sha1(), many, PKI_OCSP_CERTS_MAX, 0, buf,
	    sizeof(buf));
	CHECK_INT(pki_ocsp_request_parse(buf, len, &req), JPKI_OK);
	len = make_request(EVP_sha1(), many, PKI_OCSP_CERTS_MAX + 1, 0, buf,
	    sizeof(buf));
	CHECK_INT(pki_ocsp_request_parse(buf, len, &req), JPKI_ERR_INPUT);
	CHECK(strstr(jpki_errmsg(), "more than") != NULL);
	len = make_request(EVP_md5(), many, 1, 0, buf, sizeof(buf));
	CHECK_INT(pki_ocsp_request_parse(buf, len, &req), JPKI_ERR_REFUSED);
	CHECK_INT(pki_ocsp_request_parse(long_form, sizeof(long_form), &req),
	    JPKI_ERR_INPUT);
	CHECK_INT(pki_ocsp_request_parse(indefinite, sizeof(indefinite),
	    &req), JPKI_ERR_INPUT);
	CHECK_INT(pki_ocsp_request_parse(empty_list, sizeof(empty_list),
	    &req), JPKI_ERR_INPUT);
	CHECK(strstr(jpki_errmsg(), "no certificates") != NULL);
	memset(big, 0x30, sizeof(big));
	CHECK_INT(pki_ocsp_request_parse(big, sizeof(big), &req),
	    JPKI_ERR_INPUT);
	CHECK_INT(pki_ocsp_request_parse(NULL, 0, &req), JPKI_ERR_INPUT);
}

static OCSP_BASICRESP *
basic_of(const struct jbuf *der, int *status)
{
	const unsigned char *q = der->data;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &q, (long)der->len);
	OCSP_BASICRESP *bs = NULL;

	*status = resp ? OCSP_response_status(resp) : -1;
	if (resp != NULL && q == der->data + der->len)
		bs = OCSP_response_get1_basic(resp);
	OCSP_RESPONSE_free(resp);
	return bs;
}

static void
test_responses_verify_and_say_what_was_asked(void)
{
	static const long serials[] = {0x11, 0x22, 0x33};
	uint8_t buf[4096];
	size_t len = make_request(EVP_sha1(), serials, 3, 1, buf, sizeof(buf));
	struct pki_ocsp_request req;
	struct pki_ocsp_responder rs;
	struct pki_ocsp_single s[3];
	struct jbuf der;
	OCSP_BASICRESP *bs;
	OCSP_REQUEST *oreq;
	const unsigned char *q = buf;
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *none = sk_X509_new_null();
	int status = -1;

	CHECK_INT(pki_ocsp_request_parse(buf, len, &req), JPKI_OK);
	CHECK_INT(pki_ocsp_responder_init(&rs, responder), JPKI_OK);
	for (int i = 0; i < 3; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].id = &req.id[i];
		s[i].this_update = 1775005200;
		s[i].next_update = 1775005200 + 86400;
	}
	s[0].status = PKI_OCSP_GOOD;
	s[1].status = PKI_OCSP_REVOKED;
	s[1].revoked_at = 1775000000;
	s[1].reason = 3;
	s[2].status = PKI_OCSP_UNKNOWN;
	jbuf_init(&der);
	CHECK_INT(pki_ocsp_response(&rs, s, 3, &req, 1775005200,
	    &responder_signs, &der), JPKI_OK);
	bs = basic_of(&der, &status);
	CHECK_INT(status, OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CHECK(bs != NULL);
	oreq = d2i_OCSP_REQUEST(NULL, &q, (long)len);
	X509_STORE_add_cert(store, ca);
	if (bs != NULL && oreq != NULL) {
		CHECK_INT(OCSP_basic_verify(bs, none, store, 0), 1);
		CHECK_INT(OCSP_check_nonce(oreq, bs), 1);
		for (int i = 0; i < 3; i++) {
			OCSP_CERTID *id = OCSP_onereq_get0_id(
			    OCSP_request_onereq_get0(oreq, i));
			int st = -1, reason = -1;
			ASN1_GENERALIZEDTIME *rev = NULL, *tu = NULL, *nu = NULL;

			CHECK_INT(OCSP_resp_find_status(bs, id, &st, &reason,
			    &rev, &tu, &nu), 1);
			CHECK_INT(st, i == 0 ? V_OCSP_CERTSTATUS_GOOD : i == 1 ?
			    V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_UNKNOWN);
			if (i == 1) {
				ASN1_TIME *want = ASN1_TIME_set(NULL, 1775000000);

				CHECK_INT(reason, 3);
				CHECK(rev != NULL && want != NULL &&
				    ASN1_TIME_compare(rev, want) == 0);
				ASN1_TIME_free(want);
			}
			CHECK(tu != NULL && nu != NULL &&
			    OCSP_check_validity(tu, nu, 0, -1) == 0);
		}
	}
	OCSP_BASICRESP_free(bs);
	jbuf_free(&der);

	/* A malformed-request answer is just its status. */
	jbuf_init(&der);
	CHECK_INT(pki_ocsp_error_response(PKI_OCSP_MALFORMED, &der), JPKI_OK);
	bs = basic_of(&der, &status);
	CHECK_INT(status, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	CHECK(bs == NULL);
	CHECK_INT(pki_ocsp_error_response(PKI_OCSP_SUCCESSFUL, &der),
	    JPKI_ERR_INPUT);
	CHECK_INT(pki_ocsp_error_response((enum pki_ocsp_status)4, &der),
	    JPKI_ERR_INPUT);
	jbuf_free(&der);
	OCSP_REQUEST_free(oreq);
	X509_STORE_free(store);
	sk_X509_free(none);
	pki_ocsp_responder_free(&rs);
	CHECK_INT(pki_ocsp_responder_init(&rs, NULL), JPKI_ERR_INPUT);
}

int
main(void)
{
	uint8_t rserial[] = {0x02};

	ca_key = fixture_key();
	responder_key = fixture_key();
	CHECK_INT(pki_signer_new(responder_key, &responder_signer), JPKI_OK);
	responder_signs.arg = responder_signer;
	CHECK_INT(fixture_ca_cert_build(CERT_SIGN, &our_names, ca_key, ca_serial,
	    sizeof(ca_serial), 1700000000, 2000000000, &ca), JPKI_OK);
	if (ca == NULL || pki_cert_sign(ca, ca_key) != JPKI_OK)
		return test_summary();
	CHECK_INT(fixture_ocsp_cert_build(CERT_SIGN, &our_names, ca, ca_key,
	    responder_key, rserial, sizeof(rserial), 1700000000, 1900000000,
	    &responder), JPKI_OK);
	if (responder != NULL) {
		test_openssl_requests_read_back();
		test_limits_and_non_der_refused();
		test_responses_verify_and_say_what_was_asked();
	}
	X509_free(responder);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	pki_signer_free(&responder_signer);
	EVP_PKEY_free(responder_key);
	return test_summary();
}
