/* The issuance fast path (pki_ee_tbs_encode + pki_signer_sign_tbs) writes
 * exactly the certificate the reference builder (pki_ee_cert_build +
 * pki_signer_sign_der) writes, for every shape of input: both types, the
 * facts at their longest (lengths past 127 and 255 octets), serials that
 * need a leading zero octet or have one, times before 1950 and after 2049,
 * the optional DirName CDP, no AIA, the test policy, real J-LIS names.
 * One template made from one request serves every other request of its
 * CA; what does not fit it is refused and the output left as it was. */
#include "pki_fixture.h"

#include <openssl/x509.h>

static EVP_PKEY *ca_key, *subject_key, *subject_key_3072;
static struct pki_signer *signer;

/* Both paths for p; 1 if their DER is the same and it verifies. */
static int
same_certificate(const struct pki_ee_template *t,
    const struct pki_ee_params *p, const char *what)
{
	X509 *x = NULL, *back = NULL;
	uint8_t *ref = NULL, *fast = NULL;
	size_t ref_len = 0, fast_len = 0;
	struct jbuf tbs;
	const unsigned char *q;
	int ok = 0, r;

	jbuf_init(&tbs);
	if ((r = pki_ee_cert_build(p, &x)) != JPKI_OK ||
	    (r = pki_signer_sign_der(signer, x, &ref, &ref_len)) != JPKI_OK) {
		fprintf(stderr, "%s: reference: %s\n", what, jpki_errmsg());
		goto done;
	}
	if ((r = pki_ee_tbs_encode(t, p, &tbs)) != JPKI_OK ||
	    (r = pki_signer_sign_tbs(signer, tbs.data, tbs.len, &fast,
	    &fast_len)) != JPKI_OK) {
		fprintf(stderr, "%s: fast path: %s\n", what, jpki_errmsg());
		goto done;
	}
	if (ref_len != fast_len || memcmp(ref, fast, ref_len) != 0) {
		size_t i = 0;

		while (i < ref_len && i < fast_len && ref[i] == fast[i])
			i++;
		fprintf(stderr, "%s: %zu vs %zu bytes, first difference at "
		    "%zu\n", what, ref_len, fast_len, i);
		goto done;
	}
	q = fast;
	if ((back = d2i_X509(NULL, &q, (long)fast_len)) == NULL ||
	    X509_verify(back, ca_key) != 1) {
		fprintf(stderr, "%s: does not parse or verify\n", what);
		goto done;
	}
	ok = 1;
done:
	X509_free(back);
	X509_free(x);
	OPENSSL_free(ref);
	OPENSSL_free(fast);
	jbuf_free(&tbs);
	return ok;
}

/* n copies of a UTF-8 character, and as many flags. */
static void
repeat(char *out, const char *ch, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		strcat(out, ch);
}

static void
flags_of(char *out, size_t n, char c)
{
	memset(out, '0', n);
	if (n > 0)
		out[n - 1] = c;
	out[n] = '\0';
}

static void
test_fast_path_matches_reference_for_every_shape(X509 *ca_sign,
    X509 *ca_auth)
{
	uint8_t serial[16], serial_top[16], serial_lead[16];
	struct pki_ee_template *ts = NULL, *ta = NULL;
	struct pki_ee_params base_s, base_a, p;
	struct pki_holder_facts f;
	static char long_name[PKI_NAME_MAX_CHARS * 4 + 8];
	static char long_address[PKI_ADDRESS_MAX_CHARS * 4 + 8];
	static char name_flags[PKI_NAME_MAX_CHARS + 2];
	static char address_flags[PKI_ADDRESS_MAX_CHARS + 2];

	fixture_serial(serial, 1);
	memcpy(serial_top, serial, 16);
	serial_top[0] |= 0x80;      /* DER needs a leading zero octet */
	memcpy(serial_lead, serial, 16);
	serial_lead[0] = 0;         /* DER drops it */
	serial_lead[1] = 0;
	base_s = fixture_ee(CERT_SIGN, ca_sign, subject_key, serial,
	    1764032400, 1917788399);
	base_a = fixture_ee(CERT_AUTH, ca_auth, subject_key, serial,
	    1764032400, 1917788399);
	CHECK_INT(pki_ee_template_new(&base_s, &ts), JPKI_OK);
	CHECK_INT(pki_ee_template_new(&base_a, &ta), JPKI_OK);
	if (ts == NULL || ta == NULL)
		goto done;

	CHECK(same_certificate(ts, &base_s, "signing"));
	CHECK(same_certificate(ta, &base_a, "authentication"));

	p = base_s;
	p.serial = serial_top;
	CHECK(same_certificate(ts, &p, "serial with the top bit set"));
	p.serial = serial_lead;
	CHECK(same_certificate(ts, &p, "serial with leading zero octets"));

	/* Facts at their longest: 3- and 4-byte characters push the SAN, the TBS
	 * and the extensions block past 255 octets of length. */
	f = holder;
	repeat(long_name, "髙", PKI_NAME_MAX_CHARS);
	flags_of(name_flags, PKI_NAME_MAX_CHARS, '1');
	repeat(long_address, "𠮷", PKI_ADDRESS_MAX_CHARS);
	flags_of(address_flags, PKI_ADDRESS_MAX_CHARS, '1');
	f.name = long_name;
	f.name_flags = name_flags;
	f.address = long_address;
	f.address_flags = address_flags;
	f.gender = 3;
	f.birth = "000000000";
	p = base_s;
	p.facts = &f;
	CHECK(same_certificate(ts, &p, "longest facts"));
	/* ...and at their shortest: every length in one octet. */
	f.name = "栄";
	f.name_flags = "0";
	f.address = "東";
	f.address_flags = "1";
	f.gender = 2;
	f.birth = "520190501";
	p.pref_romaji = "H";
	p.city_romaji = "N";
	p.cn = "1";
	p.crl_uri = "http://a/0.crl";
	CHECK(same_certificate(ts, &p, "shortest facts"));

	p = base_s;
	p.not_before = -631152000;  /* 1950-01-01: UTCTime's first year */
	CHECK(same_certificate(ts, &p, "notBefore 1950"));
	p.not_before = -631152001;  /* 1949-12-31: GeneralizedTime */
	CHECK(same_certificate(ts, &p, "notBefore 1949"));
	p.not_before = 1764032400;
	p.not_after = 2524607999;   /* 2049-12-31T23:59:59Z */
	CHECK(same_certificate(ts, &p, "notAfter 2049"));
	p.not_after = 2524608000;   /* 2050-01-01: GeneralizedTime */
	CHECK(same_certificate(ts, &p, "notAfter 2050"));

	p = base_s;
	p.crl_dirname_shard = "Tokyo-to Kiyose-shi CRLDP";
	CHECK(same_certificate(ts, &p, "DirName CDP"));
	p = base_a;
	p.crl_dirname_shard = "7";
	p.subject_pub = subject_key_3072;
	CHECK(same_certificate(ta, &p, "3072-bit key, DirName CDP"));
done:
	pki_ee_template_free(&ts);
	pki_ee_template_free(&ta);
	CHECK(ts == NULL && ta == NULL);
}

/* The per-CA choices come from the template: no AIA, the test policy, the
 * real J-LIS names each make their own template, and match. */
static void
test_templates_for_other_choices(X509 *ca_sign, X509 *ca_real)
{
	uint8_t serial[16];
	struct pki_ee_template *t = NULL;
	struct pki_ee_params p;

	fixture_serial(serial, 2);
	p = fixture_ee(CERT_SIGN, ca_sign, subject_key, serial, 1764032400,
	    1917788399);
	p.ocsp_uri = NULL;
	p.ca_issuers_uri = NULL;
	p.test_policy = 1;
	CHECK_INT(pki_ee_template_new(&p, &t), JPKI_OK);
	if (t != NULL)
		CHECK(same_certificate(t, &p, "no AIA, test policy"));
	pki_ee_template_free(&t);

	p = fixture_ee(CERT_SIGN, ca_real, subject_key, serial, 1764032400,
	    1917788399);
	p.names = &real_names;
	CHECK_INT(pki_ee_template_new(&p, &t), JPKI_OK);
	if (t != NULL)
		CHECK(same_certificate(t, &p, "real J-LIS names"));
	pki_ee_template_free(&t);
}

/* A refusal names the field and leaves the output as it was. */
static void
expect_refused(const struct pki_ee_template *t, const struct pki_ee_params *p,
    int code, const char *field)
{
	struct jbuf out;

	jbuf_init(&out);
	CHECK(jbuf_put(&out, "keep", 4) == JPKI_OK);
	CHECK_INT(pki_ee_tbs_encode(t, p, &out), code);
	CHECK(strstr(jpki_errmsg(), field) != NULL);
	CHECK(out.len == 4 && memcmp(out.data, "keep", 4) == 0);
	jbuf_free(&out);
}

static void
test_fast_path_refuses_what_the_builder_refuses(X509 *ca_sign)
{
	uint8_t serial[16], zero[16] = {0};
	struct pki_ee_template *t = NULL;
	struct pki_ee_params base, p;
	struct pki_holder_facts bad = holder;
	EVP_PKEY *ec = EVP_EC_gen("P-256");

	fixture_serial(serial, 3);
	base = fixture_ee(CERT_SIGN, ca_sign, subject_key, serial, 1764032400,
	    1917788399);
	CHECK_INT(pki_ee_template_new(&base, &t), JPKI_OK);
	if (t == NULL)
		goto done;
	p = base;
	p.cps_uri = "http://elsewhere.example/cps.html";
	expect_refused(t, &p, JPKI_ERR_INPUT, "template");
	p = base;
	p.type = CERT_AUTH;
	expect_refused(t, &p, JPKI_ERR_INPUT, "template");
	p = base;
	bad.gender = 4;
	p.facts = &bad;
	expect_refused(t, &p, JPKI_ERR_INPUT, "facts.gender");
	p = base;
	p.facts = NULL;
	expect_refused(t, &p, JPKI_ERR_INPUT, "R4");
	p = base;
	p.subject_pub = ec;
	expect_refused(t, &p, JPKI_ERR_INPUT, "subject_pub");
	p = base;
	p.serial = zero;
	expect_refused(t, &p, JPKI_ERR_INPUT, "serial");
	p = base;
	p.not_after = 4102444800;  /* 2100: after the CA's notAfter */
	expect_refused(t, &p, JPKI_ERR_INPUT, "CA certificate's notAfter");
	p = base;
	p.crl_uri = "ftp://openjpki.example/crl";
	expect_refused(t, &p, JPKI_ERR_INPUT, "crl_uri");
	p = base;
	p.cn = "";
	expect_refused(t, &p, JPKI_ERR_INPUT, "cn");
done:
	pki_ee_template_free(&t);
	EVP_PKEY_free(ec);
}

/* An authentication certificate with facts is refused by the template
 * too (R5), however it was made. */
static void
test_auth_template_refuses_facts(X509 *ca_auth)
{
	uint8_t serial[16];
	struct pki_ee_template *t = NULL;
	struct pki_ee_params p;

	fixture_serial(serial, 4);
	p = fixture_ee(CERT_AUTH, ca_auth, subject_key, serial, 1764032400,
	    1917788399);
	CHECK_INT(pki_ee_template_new(&p, &t), JPKI_OK);
	p.facts = &holder;
	if (t != NULL)
		expect_refused(t, &p, JPKI_ERR_INPUT, "R5");
	CHECK_INT(pki_ee_template_new(&p, NULL), JPKI_ERR_INPUT);
	pki_ee_template_free(&t);
}

int
main(void)
{
	uint8_t s1[] = {0x01}, s2[] = {0x02}, s3[] = {0x03};
	X509 *ca_sign = NULL, *ca_auth = NULL, *ca_real = NULL;

	ca_key = fixture_key();
	subject_key = fixture_key();
	subject_key_3072 = EVP_RSA_gen(3072);
	CHECK(subject_key_3072 != NULL);
	CHECK_INT(pki_signer_new(ca_key, &signer), JPKI_OK);
	/* CAs until 2099, so that notAfter in 2050 is allowed. */
	CHECK_INT(fixture_ca_cert_build(CERT_SIGN, &our_names, ca_key, s1,
	    sizeof(s1), 1700000000, 4070908799, &ca_sign), JPKI_OK);
	CHECK_INT(fixture_ca_cert_build(CERT_AUTH, &our_names, ca_key, s2,
	    sizeof(s2), 1700000000, 4070908799, &ca_auth), JPKI_OK);
	CHECK_INT(fixture_ca_cert_build(CERT_SIGN, &real_names, ca_key, s3,
	    sizeof(s3), 1700000000, 4070908799, &ca_real), JPKI_OK);
	if (ca_sign && ca_auth && ca_real && signer) {
		CHECK_INT(pki_cert_sign(ca_sign, ca_key), JPKI_OK);
		CHECK_INT(pki_cert_sign(ca_auth, ca_key), JPKI_OK);
		CHECK_INT(pki_cert_sign(ca_real, ca_key), JPKI_OK);
		test_fast_path_matches_reference_for_every_shape(ca_sign,
		    ca_auth);
		test_templates_for_other_choices(ca_sign, ca_real);
		test_fast_path_refuses_what_the_builder_refuses(ca_sign);
		test_auth_template_refuses_facts(ca_auth);
	}
	pki_signer_free(&signer);
	X509_free(ca_sign);
	X509_free(ca_auth);
	X509_free(ca_real);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(subject_key);
	EVP_PKEY_free(subject_key_3072);
	return test_summary();
}
