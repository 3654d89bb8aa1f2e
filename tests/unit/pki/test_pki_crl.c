/* The streamed CRL (pki_crl_entry + pki_crl_frame + pki_crl_signature)
 * is a CRL OpenSSL parses and verifies, with every entry as written: the
 * serial (1 to 20 octets, with and without a leading zero octet), the
 * revocation time (UTCTime and GeneralizedTime), the reason (absent when
 * unspecified); version 2, AKI = the CA's SKI, the CRL number, and the
 * IssuingDistributionPoint (critical, with the URI) only on a shard's CRL.
 * Sizes cross every DER length form: no entries (the list is left out),
 * one, and enough for a 3-octet length.  Bad input is refused and leaves
 * the output as it was. */
#include "pki_fixture.h"

#include <openssl/x509v3.h>

static EVP_PKEY *ca_key;
static X509 *ca;

struct entry {
	char serial[48];
	int64_t at;
	int reason;
};

/* The CRL's DER for entries e[0..n), signed with ca_key. */
static int
make_crl(const struct entry *e, size_t n, int64_t number, const char *idp,
    struct jbuf *der)
{
	struct pki_crl_params p = {
		.ca_cert = ca, .this_update = 1775005200,
		.next_update = 1775005200 + 86400, .number = number,
		.idp_uri = idp, .sig_len = (size_t)EVP_PKEY_get_size(ca_key),
	};
	struct pki_crl_frame f;
	struct jbuf entries;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[512];
	size_t sig_len = sizeof(sig);
	int ok = 0;

	jbuf_init(&entries);
	for (size_t i = 0; i < n; i++)
		if (pki_crl_entry(e[i].serial, e[i].at, e[i].reason, &entries)) {
			fprintf(stderr, "entry %zu: %s\n", i, jpki_errmsg());
			goto done;
		}
	if (pki_crl_frame(&p, entries.len, &f) != JPKI_OK) {
		fprintf(stderr, "frame: %s\n", jpki_errmsg());
		goto done;
	}
	if (md == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ca_key) != 1 ||
	    EVP_DigestSignUpdate(md, f.head.data + f.tbs_offset,
	    f.head.len - f.tbs_offset) != 1 ||
	    EVP_DigestSignUpdate(md, entries.data, entries.len) != 1 ||
	    EVP_DigestSignUpdate(md, f.tail.data, f.tail.len) != 1 ||
	    EVP_DigestSignFinal(md, sig, &sig_len) != 1)
		goto frame;
	if (jbuf_put(der, f.head.data, f.head.len) == JPKI_OK &&
	    jbuf_put(der, entries.data, entries.len) == JPKI_OK &&
	    jbuf_put(der, f.tail.data, f.tail.len) == JPKI_OK &&
	    pki_crl_signature(sig, sig_len, der) == JPKI_OK)
		ok = 1;
frame:
	pki_crl_frame_free(&f);
done:
	EVP_MD_CTX_free(md);
	jbuf_free(&entries);
	return ok;
}

static int64_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;
	struct jdate d;

	if (!ASN1_TIME_to_tm(t, &tm))
		return -1;
	d = (struct jdate){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
	return jdate_to_days(d) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 +
	    tm.tm_sec;
}

static void
serial_hex_of(const ASN1_INTEGER *i, char *out, size_t n)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(i, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(out, n, "%s%s", hex && strlen(hex) % 2 ? "0" : "",
	    hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

/* Parse der and check it against e[0..n). */
static void
check_crl(const struct jbuf *der, const struct entry *e, size_t n,
    int64_t number, const char *idp, const char *what)
{
	const unsigned char *q = der->data;
	X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)der->len);
	STACK_OF(X509_REVOKED) *rev;
	ASN1_INTEGER *num;
	AUTHORITY_KEYID *aki;
	int crit = -1;
	ISSUING_DIST_POINT *dp;

	CHECK(crl != NULL);
	if (crl == NULL) {
		fprintf(stderr, "%s: does not parse\n", what);
		return;
	}
	CHECK(q == der->data + der->len);
	CHECK(X509_CRL_verify(crl, ca_key) == 1);
	CHECK_INT(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	CHECK(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(ca)) == 0);
	CHECK(time_of(X509_CRL_get0_lastUpdate(crl)) == 1775005200);
	CHECK(time_of(X509_CRL_get0_nextUpdate(crl)) == 1775005200 + 86400);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	CHECK(num != NULL && ASN1_INTEGER_get(num) == number && crit == 0);
	ASN1_INTEGER_free(num);
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
	    NULL);
	CHECK(aki != NULL && aki->keyid != NULL &&
	    ASN1_OCTET_STRING_cmp(aki->keyid, X509_get0_subject_key_id(ca)) ==
	    0);
	AUTHORITY_KEYID_free(aki);
	crit = -1;
	dp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit,
	    NULL);
	if (idp == NULL) {
		CHECK(dp == NULL);
	} else {
		GENERAL_NAME *g;

		CHECK(dp != NULL && crit == 1 && dp->onlyuser > 0 &&
		    dp->distpoint != NULL && dp->distpoint->type == 0 &&
		    sk_GENERAL_NAME_num(dp->distpoint->name.fullname) == 1);
		if (dp != NULL && dp->distpoint != NULL &&
		    dp->distpoint->type == 0) {
			g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
			CHECK(g != NULL && g->type == GEN_URI && strcmp((const
			    char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
			    idp) == 0);
		}
	}
	ISSUING_DIST_POINT_free(dp);
	rev = X509_CRL_get_REVOKED(crl);
	CHECK_INT(rev ? sk_X509_REVOKED_num(rev) : 0, (int)n);
	for (size_t i = 0; rev != NULL && i < n &&
	    i < (size_t)sk_X509_REVOKED_num(rev); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rev, (int)i);
		ASN1_ENUMERATED *reason;
		char hex[64];

		serial_hex_of(X509_REVOKED_get0_serialNumber(r), hex,
		    sizeof(hex));
		/* Leading zero octets of the stored hex are not in DER. */
		{
			const char *want = e[i].serial;

			while (want[0] == '0' && want[1] == '0' && want[2])
				want += 2;
			if (strcmp(hex, want) != 0) {
				CHECK_STR(hex, want);
				break;
			}
		}
		CHECK(time_of(X509_REVOKED_get0_revocationDate(r)) == e[i].at);
		reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		if (e[i].reason == 0)
			CHECK(reason == NULL);
		else
			CHECK(reason != NULL &&
			    ASN1_ENUMERATED_get(reason) == e[i].reason);
		ASN1_ENUMERATED_free(reason);
	}
	X509_CRL_free(crl);
}

static void
test_crls_of_every_size_parse_verify_and_say_what_was_written(void)
{
	static const int reasons[] = {0, 1, 3, 4, 5, 6, 9, 2, 10};
	enum { MANY = 3000 };
	struct entry *e = calloc(MANY, sizeof(*e));
	size_t sizes[] = {0, 1, 5, MANY};
	struct jbuf der;

	if (e == NULL)
		return;
	for (size_t i = 0; i < MANY; i++) {
		/* 16-octet serials as issued, and the odd shapes. */
		snprintf(e[i].serial, sizeof(e[i].serial),
		    "%02X%030zX", (unsigned)(0x10 + i % 0x60), i * 7919);
		e[i].at = 1775005200 - (int64_t)i * 3600;
		e[i].reason = reasons[i % JPKI_ARRAY_LEN(reasons)];
	}
	strcpy(e[1].serial, "01");                      /* one octet */
	strcpy(e[2].serial, "80");                      /* needs a 0x00 */
	strcpy(e[3].serial, "00FF");                    /* a zero dropped */
	strcpy(e[4].serial, "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"); /* 20 */
	e[4].at = 2524608000;                          /* 2050: GeneralizedTime */
	for (size_t s = 0; s < JPKI_ARRAY_LEN(sizes); s++) {
		char what[64];

		snprintf(what, sizeof(what), "%zu entries, shard", sizes[s]);
		jbuf_init(&der);
		CHECK(make_crl(e, sizes[s], 7, "http://127.0.0.1:8080/crl/sign/19.crl",
		    &der));
		check_crl(&der, e, sizes[s], 7, "http://127.0.0.1:8080/crl/sign/19.crl",
		    what);
		jbuf_free(&der);
		snprintf(what, sizeof(what), "%zu entries, full", sizes[s]);
		jbuf_init(&der);
		CHECK(make_crl(e, sizes[s], 300, NULL, &der));
		check_crl(&der, e, sizes[s], 300, NULL, what);
		/* MANY entries take a 3-octet length: 30 83 ... */
		if (sizes[s] == MANY)
			CHECK(der.len > 0x10000 && der.data[1] == 0x83);
		jbuf_free(&der);
	}
	free(e);
}

static void
test_bad_input_is_refused_and_changes_nothing(void)
{
	/* Empty, half an octet, not hex, zero, 21 octets, 20 with the top
	 * bit set (21 in DER); and (longest) more than any buffer holds. */
	static const char *bad_serials[] = {"", "1", "0G", "12 4", "0000",
	    "0102030405060708090A0B0C0D0E0F101112131415",
	    "8102030405060708090A0B0C0D0E0F1011121314"};
	char longest[101];
	struct pki_crl_params p = {.ca_cert = ca, .this_update = 100,
	    .next_update = 200, .number = 1, .sig_len = 256};
	struct pki_crl_frame f;
	struct jbuf out;

	jbuf_init(&out);
	CHECK(jbuf_put(&out, "keep", 4) == JPKI_OK);
	memset(longest, '0', 99);
	longest[99] = '1';
	longest[100] = '\0';
	CHECK_INT(pki_crl_entry(longest, 100, 0, &out), JPKI_ERR_INPUT);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(bad_serials); i++)
		CHECK_INT(pki_crl_entry(bad_serials[i], 100, 0, &out),
		    JPKI_ERR_INPUT);
	CHECK_INT(pki_crl_entry("0A", 100, 7, &out), JPKI_ERR_INPUT);
	CHECK_INT(pki_crl_entry("0A", 100, 8, &out), JPKI_ERR_INPUT);
	CHECK(strstr(jpki_errmsg(), "5.3.1") != NULL);
	CHECK_INT(pki_crl_entry("0A", 100, 11, &out), JPKI_ERR_INPUT);
	CHECK(out.len == 4 && memcmp(out.data, "keep", 4) == 0);
	jbuf_free(&out);

	p.number = 0;
	CHECK_INT(pki_crl_frame(&p, 0, &f), JPKI_ERR_INPUT);
	p.number = 1;
	p.next_update = 100;
	CHECK_INT(pki_crl_frame(&p, 0, &f), JPKI_ERR_INPUT);
	p.next_update = 200;
	p.idp_uri = "ftp://x/1.crl";
	CHECK_INT(pki_crl_frame(&p, 0, &f), JPKI_ERR_INPUT);
	p.idp_uri = NULL;
	p.ca_cert = NULL;
	CHECK_INT(pki_crl_frame(&p, 0, &f), JPKI_ERR_INPUT);
}

int
main(void)
{
	ca_key = fixture_key();
	CHECK_INT(fixture_ca_cert_build(CERT_SIGN, &our_names, ca_key, ca_serial,
	    sizeof(ca_serial), 1700000000, 2000000000, &ca), JPKI_OK);
	if (ca != NULL && pki_cert_sign(ca, ca_key) == JPKI_OK) {
		test_crls_of_every_size_parse_verify_and_say_what_was_written();
		test_bad_input_is_refused_and_changes_nothing();
	}
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return test_summary();
}
