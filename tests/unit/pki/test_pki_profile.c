/*
 * Unit tests of the pki certificate profiles: the CA certificate against
 * the real J-LIS CA certificates, the signing and authentication
 * certificates extension by extension, chain validation with OpenSSL,
 * the facts read back, and the refusals of malformed input.
 */
#include "pki_fixture.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>

static EVP_PKEY *sign_ca_key, *auth_ca_key, *card_key;
static X509 *sign_ca, *auth_ca;
static int64_t t_nb, t_na; /* EE validity */

/* ---- helpers -------------------------------------------------------------- */

static int
has_field(const char *field)
{
	return strstr(jpki_errmsg(), field) != NULL;
}

/* The extensions' NIDs and criticality, in order. */
static int
ext_list(const X509 *x, int *nids, int *crits, int max)
{
	int n = X509_get_ext_count(x);

	for (int i = 0; i < n && i < max; i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);

		nids[i] = OBJ_obj2nid(X509_EXTENSION_get_object(e));
		crits[i] = X509_EXTENSION_get_critical(e);
	}
	return n;
}

static void
check_ext_order(const X509 *x, const int *want_nids, const int *want_crit,
    int want_n)
{
	int nids[16], crits[16], n;

	n = ext_list(x, nids, crits, 16);
	CHECK_INT(n, want_n);
	for (int i = 0; i < n && i < want_n; i++) {
		CHECK_INT(nids[i], want_nids[i]);
		CHECK_INT(crits[i], want_crit[i]);
	}
}

/* Same RDNs, attribute types and string types. */
static void
check_same_name_structure(const X509_NAME *a, const X509_NAME *b)
{
	int n = X509_NAME_entry_count(a);

	CHECK_INT(X509_NAME_entry_count(b), n);
	for (int i = 0; i < n && i < X509_NAME_entry_count(b); i++) {
		const X509_NAME_ENTRY *ea = X509_NAME_get_entry(a, i);
		const X509_NAME_ENTRY *eb = X509_NAME_get_entry(b, i);

		CHECK_INT(X509_NAME_ENTRY_set(ea), i); /* one attribute an RDN */
		CHECK_INT(X509_NAME_ENTRY_set(eb), i);
		CHECK_INT(OBJ_obj2nid(X509_NAME_ENTRY_get_object(ea)),
		    OBJ_obj2nid(X509_NAME_ENTRY_get_object(eb)));
		CHECK_INT(ASN1_STRING_type(X509_NAME_ENTRY_get_data(ea)),
		    ASN1_STRING_type(X509_NAME_ENTRY_get_data(eb)));
	}
}

static int
name_der_equal(const X509_NAME *a, const X509_NAME *b)
{
	const unsigned char *pa, *pb;
	size_t la, lb;

	if (!X509_NAME_get0_der(a, &pa, &la) ||
	    !X509_NAME_get0_der(b, &pb, &lb))
		return 0;
	return la == lb && memcmp(pa, pb, la) == 0;
}

static X509 *
load_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static int
verify_chain(X509 *ca, X509 *ee, int64_t at, const char *policy)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *vp;
	int ok = -1;

	if (store == NULL || ctx == NULL || !X509_STORE_add_cert(store, ca) ||
	    !X509_STORE_CTX_init(ctx, store, ee, NULL))
		goto done;
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, (time_t)at);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT);
	if (policy) {
		X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_POLICY_CHECK |
		    X509_V_FLAG_EXPLICIT_POLICY);
		X509_VERIFY_PARAM_add0_policy(vp, OBJ_txt2obj(policy, 1));
	}
	ok = X509_verify_cert(ctx);
	if (ok != 1)
		fprintf(stderr, "    verify: %s\n", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
done:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static char *
policy_of(X509 *x)
{
	CERTIFICATEPOLICIES *cps = X509_get_ext_d2i(x, NID_certificate_policies,
	    NULL, NULL);
	static char oid[64];

	oid[0] = '\0';
	if (cps && sk_POLICYINFO_num(cps) == 1)
		OBJ_obj2txt(oid, sizeof(oid),
		    sk_POLICYINFO_value(cps, 0)->policyid, 1);
	CERTIFICATEPOLICIES_free(cps);
	return oid;
}

/* ---- the CA certificate against the real ones ------------------------------ */

static const char *const real_ca_files[] = {
	"sign_ca_2015.pem", "sign_ca_2023.pem", "auth_ca_2015.pem",
	"auth_ca_2023.pem",
};

static int64_t
asn1_time_to_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	ASN1_TIME_to_tm(t, &tm);
	return (int64_t)timegm(&tm);
}

static void
compare_with_real_ca(const char *file)
{
	char path[4096];
	const char *src = getenv("JPKI_SOURCE"), *shared = getenv("JPKI_SHARED");
	X509 *real, *ours = NULL, *same = NULL;
	EVP_PKEY *key = sign_ca_key;
	enum cert_type type;
	const ASN1_INTEGER *sn;
	uint8_t serial[PKI_SERIAL_MAX];
	int64_t nb, na;
	int serial_len, r;

	if (shared)
		snprintf(path, sizeof(path), "%s/reference/jpki-ca/%s", shared,
		    file);
	else
		snprintf(path, sizeof(path), "%s/tests/data/shared/reference/"
		    "jpki-ca/%s", src ? src : ".", file);
	real = load_pem(path);
	CHECK(real != NULL);
	if (real == NULL) {
		fprintf(stderr, "    cannot read %s (JPKI_SOURCE?)\n", path);
		return;
	}
	type = strncmp(file, "sign", 4) == 0 ? CERT_SIGN : CERT_AUTH;
	nb = asn1_time_to_epoch(X509_get0_notBefore(real));
	na = asn1_time_to_epoch(X509_get0_notAfter(real));
	sn = X509_get0_serialNumber(real);
	serial_len = ASN1_STRING_length(sn);
	memcpy(serial, ASN1_STRING_get0_data(sn), (size_t)serial_len);

	/* With the real names, serial and dates, everything but the key, SKI
	 * and signature comes out byte for byte the same. */
	r = fixture_ca_cert_build(type, &real_names, key, serial,
	    (size_t)serial_len, nb, na, &same);
	CHECK_INT(r, JPKI_OK);
	if (same) {
		CHECK(name_der_equal(X509_get_subject_name(same),
		    X509_get_subject_name(real)));
		CHECK(name_der_equal(X509_get_issuer_name(same),
		    X509_get_issuer_name(real)));
		CHECK_INT(ASN1_INTEGER_cmp(X509_get0_serialNumber(same), sn), 0);
		CHECK_INT(ASN1_STRING_type(X509_get0_notBefore(same)),
		    ASN1_STRING_type(X509_get0_notBefore(real)));
		CHECK_INT(ASN1_TIME_compare(X509_get0_notAfter(same),
		    X509_get0_notAfter(real)), 0);
		CHECK_INT(X509_get_ext_count(same), X509_get_ext_count(real));
		for (int i = 0; i < X509_get_ext_count(real) &&
		    i < X509_get_ext_count(same); i++) {
			X509_EXTENSION *a = X509_get_ext(same, i);
			X509_EXTENSION *b = X509_get_ext(real, i);
			int nid = OBJ_obj2nid(X509_EXTENSION_get_object(b));

			CHECK_INT(OBJ_obj2nid(X509_EXTENSION_get_object(a)),
			    nid);
			CHECK_INT(X509_EXTENSION_get_critical(a),
			    X509_EXTENSION_get_critical(b));
			if (nid == NID_subject_key_identifier)
				continue; /* a different key */
			CHECK_INT(ASN1_STRING_cmp(X509_EXTENSION_get_data(a),
			    X509_EXTENSION_get_data(b)), 0);
		}
	}

	/* With our own names: the same structure. */
	r = fixture_ca_cert_build(type, &our_names, key, ca_serial,
	    sizeof(ca_serial), nb, na, &ours);
	CHECK_INT(r, JPKI_OK);
	if (ours) {
		int rn[16], rc[16], n;

		n = ext_list(real, rn, rc, 16);
		CHECK_INT(n, 5);
		check_ext_order(ours, rn, rc, n);
		check_same_name_structure(X509_get_subject_name(ours),
		    X509_get_subject_name(real));
		check_same_name_structure(X509_get_issuer_name(ours),
		    X509_get_issuer_name(real));
		CHECK_INT(X509_get_signature_nid(ours),
		    X509_get_signature_nid(real));
		CHECK_INT(X509_get_signature_nid(ours),
		    NID_sha256WithRSAEncryption);
		CHECK_INT(X509_get_version(ours), X509_get_version(real));
		CHECK_INT(ASN1_STRING_type(X509_get0_notAfter(ours)),
		    V_ASN1_UTCTIME);
		CHECK(strstr((const char *)ASN1_STRING_get0_data(
		    X509_get0_notAfter(ours)), "145959Z") != NULL);
		CHECK(X509_check_ca(ours) >= 1);
		CHECK_INT(X509_verify(ours, key), 1);
	}
	X509_free(same);
	X509_free(ours);
	X509_free(real);
}

static void
test_ca_cert_matches_the_real_jlis_ca_certificates(void)
{
	for (size_t i = 0; i < JPKI_ARRAY_LEN(real_ca_files); i++)
		compare_with_real_ca(real_ca_files[i]);
}

static void
test_ca_not_after_is_2359_jst_in_utc(void)
{
	const ASN1_TIME *t;
	struct jdate d = {2036, 3, 31};

	t = X509_get0_notAfter(sign_ca);
	CHECK_INT(ASN1_STRING_type(t), V_ASN1_UTCTIME);
	CHECK_STR((const char *)ASN1_STRING_get0_data(t), "360331145959Z");
	CHECK_INT(asn1_time_to_epoch(t), jst_end_of_day(d));
}

static void
test_ca_cert_names_the_service_and_itself(void)
{
	GENERAL_NAMES *san = X509_get_ext_d2i(sign_ca, NID_subject_alt_name,
	    NULL, NULL);
	CRL_DIST_POINTS *cdp = X509_get_ext_d2i(sign_ca,
	    NID_crl_distribution_points, NULL, NULL);
	X509_NAME *dn = NULL;

	CHECK(san != NULL && sk_GENERAL_NAME_num(san) == 1);
	if (san && sk_GENERAL_NAME_num(san) == 1) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(san, 0);
		CHECK_INT(g->type, GEN_DIRNAME);
		CHECK_INT(X509_NAME_entry_count(g->d.dirn), 4);
	}
	CHECK(cdp != NULL && sk_DIST_POINT_num(cdp) == 1);
	if (cdp && sk_DIST_POINT_num(cdp) == 1) {
		DIST_POINT *dp = sk_DIST_POINT_value(cdp, 0);
		GENERAL_NAME *g = sk_GENERAL_NAME_value(
		    dp->distpoint->name.fullname, 0);
		CHECK_INT(g->type, GEN_DIRNAME);
		CHECK_INT(X509_NAME_cmp(g->d.dirn,
		    X509_get_subject_name(sign_ca)), 0);
	}
	CHECK_INT(pki_ca_name(CERT_SIGN, &our_names, &dn), JPKI_OK);
	CHECK_INT(X509_NAME_cmp(dn, X509_get_subject_name(sign_ca)), 0);
	CHECK_INT(X509_NAME_cmp(X509_get_issuer_name(sign_ca),
	    X509_get_subject_name(sign_ca)), 0);
	X509_NAME_free(dn);
	GENERAL_NAMES_free(san);
	CRL_DIST_POINTS_free(cdp);
}

static void
test_ca_service_name_without_optional_ous(void)
{
	struct pki_names n = our_names;
	X509 *x = NULL;
	GENERAL_NAMES *san;

	n.service_ou_sign_ja = n.service_ou_auth_ja = n.agency_ja = NULL;
	CHECK_INT(fixture_ca_cert_build(CERT_AUTH, &n, auth_ca_key, ca_serial, 1,
	    t_nb, t_na, &x), JPKI_OK);
	san = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
	CHECK(san != NULL);
	if (san)
		CHECK_INT(X509_NAME_entry_count(
		    sk_GENERAL_NAME_value(san, 0)->d.dirn), 2);
	GENERAL_NAMES_free(san);
	X509_free(x);
}

/* ---- end-entity certificates ---------------------------------------------- */

static void
test_signing_cert_profile(void)
{
	static const int nids[] = {NID_key_usage, NID_subject_alt_name,
	    NID_certificate_policies, NID_issuer_alt_name,
	    NID_crl_distribution_points, NID_authority_key_identifier,
	    NID_subject_key_identifier, NID_info_access};
	static const int crit[] = {1, 0, 1, 0, 0, 0, 0, 0};
	uint8_t serial[16];
	struct pki_ee_params p;
	X509 *x;
	X509_NAME *subj;
	const ASN1_OCTET_STRING *aki, *ski;

	fixture_serial(serial, 1);
	p = fixture_ee(CERT_SIGN, sign_ca, card_key, serial, t_nb, t_na);
	x = fixture_issue(&p, sign_ca_key);
	CHECK(x != NULL);
	if (x == NULL)
		return;
	check_ext_order(x, nids, crit, (int)JPKI_ARRAY_LEN(nids));
	CHECK_INT(X509_get_key_usage(x),
	    KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
	CHECK_STR(policy_of(x), PKI_OID_POLICY_SIGN);
	subj = X509_get_subject_name(x);
	CHECK_INT(X509_NAME_entry_count(subj), 4);
	CHECK_INT(OBJ_obj2nid(X509_NAME_ENTRY_get_object(
	    X509_NAME_get_entry(subj, 0))), NID_countryName);
	CHECK_INT(ASN1_STRING_type(X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(subj, 0))), V_ASN1_PRINTABLESTRING);
	CHECK_INT(OBJ_obj2nid(X509_NAME_ENTRY_get_object(
	    X509_NAME_get_entry(subj, 1))), NID_localityName);
	CHECK_STR((const char *)ASN1_STRING_get0_data(X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(subj, 2))), "Kiyose-shi");
	CHECK_STR((const char *)ASN1_STRING_get0_data(X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(subj, 3))), "20260401ABCD0001");
	CHECK_INT(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(sign_ca)), 0);
	aki = X509_get0_authority_key_id(x);
	ski = X509_get0_subject_key_id(sign_ca);
	CHECK(aki != NULL && ski != NULL && ASN1_STRING_cmp(aki, ski) == 0);
	CHECK_INT(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	/* The fast key path (pki_key.c) gives the encoder's exact DER and
	 * leaves a usable key in the certificate. */
	{
		unsigned char *want = NULL, *got = NULL;
		int wl = i2d_PUBKEY(card_key, &want);
		int gl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &got);

		CHECK(wl > 0 && wl == gl && memcmp(want, got, (size_t)wl) == 0);
		CHECK(X509_get0_pubkey(x) != NULL &&
		    EVP_PKEY_eq(X509_get0_pubkey(x), card_key) == 1);
		OPENSSL_free(want);
		OPENSSL_free(got);
	}
	CHECK_INT(verify_chain(sign_ca, x, t_nb + 86400, PKI_OID_POLICY_SIGN), 1);
	/* The signing CA does not vouch for the auth policy. */
	CHECK(verify_chain(sign_ca, x, t_nb + 86400, PKI_OID_POLICY_AUTH) != 1);
	/* Nor does the authentication CA for it. */
	CHECK(verify_chain(auth_ca, x, t_nb + 86400, NULL) != 1);
	X509_free(x);
}

static void
test_signing_cert_facts_in_the_real_order(void)
{
	static const char *const order[] = {PKI_OID_FACT_NAME,
	    PKI_OID_FACT_BIRTH, PKI_OID_FACT_GENDER, PKI_OID_FACT_ADDRESS,
	    PKI_OID_FACT_NAME_FLAGS, PKI_OID_FACT_ADDRESS_FLAGS};
	uint8_t serial[16];
	struct pki_ee_params p;
	GENERAL_NAMES *san;
	X509 *x;

	fixture_serial(serial, 2);
	p = fixture_ee(CERT_SIGN, sign_ca, card_key, serial, t_nb, t_na);
	x = fixture_issue(&p, sign_ca_key);
	san = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
	CHECK(san != NULL);
	if (san == NULL)
		goto done;
	CHECK_INT(sk_GENERAL_NAME_num(san), 6);
	for (int i = 0; i < sk_GENERAL_NAME_num(san) && i < 6; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
		char oid[64] = "";

		CHECK_INT(g->type, GEN_OTHERNAME);
		if (g->type != GEN_OTHERNAME)
			continue;
		OBJ_obj2txt(oid, sizeof(oid), g->d.otherName->type_id, 1);
		CHECK_STR(oid, order[i]);
		CHECK_INT(g->d.otherName->value->type, V_ASN1_UTF8STRING);
	}
done:
	GENERAL_NAMES_free(san);
	X509_free(x);
}

static void
test_facts_read_back_equal_what_was_put_in(void)
{
	uint8_t serial[16];
	struct pki_ee_params p;
	struct pki_cert_facts f;
	uint8_t *der = NULL;
	const unsigned char *q;
	size_t len = 0;
	X509 *x, *parsed = NULL;

	fixture_serial(serial, 3);
	p = fixture_ee(CERT_SIGN, sign_ca, card_key, serial, t_nb, t_na);
	x = fixture_issue(&p, sign_ca_key);
	CHECK(x != NULL);
	/* Through DER, as `jpki cert show` reads a stored certificate. */
	CHECK_INT(pki_cert_der(x, &der, &len), JPKI_OK);
	q = der;
	parsed = d2i_X509(NULL, &q, (long)len);
	CHECK(parsed != NULL);
	CHECK_INT(pki_cert_facts_read(parsed, &f), JPKI_OK);
	CHECK_STR(f.name, "山田　太郎");
	CHECK(strstr(f.name, "\xE3\x80\x80") != NULL); /* U+3000 */
	CHECK_STR(f.name_flags, holder.name_flags);
	CHECK_INT(f.gender, 1);
	CHECK_STR(f.birth, "319800217");
	CHECK_STR(f.address, holder.address);
	CHECK_STR(f.address_flags, holder.address_flags);
	pki_cert_facts_free(&f);
	CHECK(f.name == NULL && f.address == NULL);
	OPENSSL_free(der);
	X509_free(parsed);
	X509_free(x);
}

/* A certificate from elsewhere (a real card, a file) whose SAN is built by
 * hand: each entry is {oid, ASN.1 type, value}. */
struct crafted_name {
	const char *oid;
	int type;
	const char *value;
};

static int
read_crafted(const struct crafted_name *names, size_t n)
{
	uint8_t serial[16];
	struct pki_ee_params p;
	struct pki_cert_facts f;
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	X509 *x = NULL;
	int r;

	fixture_serial(serial, 11);
	p = fixture_ee(CERT_AUTH, auth_ca, card_key, serial, t_nb, t_na);
	if (pki_ee_cert_build(&p, &x) != JPKI_OK || gens == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_TYPE *t = ASN1_TYPE_new();
		ASN1_STRING *v = ASN1_STRING_type_new(names[i].type);

		ASN1_STRING_set(v, names[i].value, -1);
		ASN1_TYPE_set(t, names[i].type, v);
		GENERAL_NAME_set0_othername(g, OBJ_txt2obj(names[i].oid, 1), t);
		sk_GENERAL_NAME_push(gens, g);
	}
	X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND);
	GENERAL_NAMES_free(gens);
	r = pki_cert_facts_read(x, &f);
	if (r == JPKI_OK)
		pki_cert_facts_free(&f);
	X509_free(x);
	return r;
}

static void
test_facts_read_refuses_malformed_other_names(void)
{
	const struct crafted_name six[] = {
		{PKI_OID_FACT_NAME, V_ASN1_UTF8STRING, "山田　花子"},
		{PKI_OID_FACT_BIRTH, V_ASN1_UTF8STRING, "419900102"},
		{PKI_OID_FACT_GENDER, V_ASN1_UTF8STRING, "2"},
		{PKI_OID_FACT_ADDRESS, V_ASN1_UTF8STRING, "東京都"},
		{PKI_OID_FACT_NAME_FLAGS, V_ASN1_UTF8STRING, "00000"},
		{PKI_OID_FACT_ADDRESS_FLAGS, V_ASN1_UTF8STRING, "000"},
	};
	struct crafted_name bad[6];

	CHECK_INT(read_crafted(six, 6), JPKI_OK);
	CHECK_INT(read_crafted(six, 5), JPKI_ERR_INPUT); /* .6 missing */
	CHECK(has_field(PKI_OID_FACT_ADDRESS_FLAGS));
	memcpy(bad, six, sizeof(bad));
	bad[5] = six[0]; /* .1 twice */
	CHECK_INT(read_crafted(bad, 6), JPKI_ERR_INPUT);
	CHECK(has_field("twice"));
	memcpy(bad, six, sizeof(bad));
	bad[3].type = V_ASN1_IA5STRING;
	CHECK_INT(read_crafted(bad, 6), JPKI_ERR_INPUT);
	CHECK(has_field("UTF8String"));
	memcpy(bad, six, sizeof(bad));
	bad[0].value = "山田\n花子";
	CHECK_INT(read_crafted(bad, 6), JPKI_ERR_INPUT);
	memcpy(bad, six, sizeof(bad));
	bad[2].value = "male";
	CHECK_INT(read_crafted(bad, 6), JPKI_ERR_INPUT);
	bad[0].oid = "1.2.3.4"; /* only foreign otherNames */
	CHECK_INT(read_crafted(bad, 1), JPKI_ERR_NOTFOUND);
}

static void
test_authentication_cert_carries_no_personal_facts(void)
{
	static const int nids[] = {NID_key_usage, NID_certificate_policies,
	    NID_issuer_alt_name, NID_crl_distribution_points,
	    NID_authority_key_identifier, NID_subject_key_identifier,
	    NID_info_access};
	static const int crit[] = {1, 1, 0, 0, 0, 0, 0};
	uint8_t serial[16];
	struct pki_ee_params p;
	struct pki_cert_facts f;
	X509 *x;
	X509_NAME *subj;

	fixture_serial(serial, 4);
	p = fixture_ee(CERT_AUTH, auth_ca, card_key, serial, t_nb, t_na);
	p.pref_romaji = "Tokyo-to"; /* ignored: R5 subject is C=JP, CN */
	p.city_romaji = "Kiyose-shi";
	x = fixture_issue(&p, auth_ca_key);
	CHECK(x != NULL);
	if (x == NULL)
		return;
	check_ext_order(x, nids, crit, (int)JPKI_ARRAY_LEN(nids));
	CHECK(X509_get_ext_by_NID(x, NID_subject_alt_name, -1) < 0);
	CHECK_INT(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	CHECK_STR(policy_of(x), PKI_OID_POLICY_AUTH);
	subj = X509_get_subject_name(x);
	CHECK_INT(X509_NAME_entry_count(subj), 2);
	CHECK_INT(OBJ_obj2nid(X509_NAME_ENTRY_get_object(
	    X509_NAME_get_entry(subj, 1))), NID_commonName);
	CHECK_INT(pki_cert_facts_read(x, &f), JPKI_ERR_NOTFOUND);
	CHECK_INT(verify_chain(auth_ca, x, t_nb + 86400, PKI_OID_POLICY_AUTH), 1);
	X509_free(x);
}

static void
test_test_environment_policies(void)
{
	uint8_t serial[16];
	struct pki_ee_params p;
	X509 *x;

	fixture_serial(serial, 5);
	p = fixture_ee(CERT_SIGN, sign_ca, card_key, serial, t_nb, t_na);
	p.test_policy = 1;
	x = fixture_issue(&p, sign_ca_key);
	CHECK(x != NULL);
	if (x)
		CHECK_STR(policy_of(x), "1.2.392.200149.8.5.1.0.20");
	X509_free(x);
	p = fixture_ee(CERT_AUTH, auth_ca, card_key, serial, t_nb, t_na);
	p.test_policy = 1;
	x = fixture_issue(&p, auth_ca_key);
	CHECK(x != NULL);
	if (x)
		CHECK_STR(policy_of(x), "1.2.392.200149.8.5.1.2.30");
	X509_free(x);
}

static void
test_crl_distribution_point_uri_then_dirname(void)
{
	uint8_t serial[16];
	struct pki_ee_params p;
	CRL_DIST_POINTS *cdp = NULL;
	X509_NAME *shard = NULL;
	X509 *x;

	fixture_serial(serial, 6);
	p = fixture_ee(CERT_SIGN, sign_ca, card_key, serial, t_nb, t_na);
	p.crl_dirname_shard = "Shard-07 CRLDP";
	x = fixture_issue(&p, sign_ca_key);
	CHECK(x != NULL);
	if (x)
		cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL,
		    NULL);
	CHECK(cdp != NULL && sk_DIST_POINT_num(cdp) == 2);
	CHECK_INT(pki_crl_dirname(CERT_SIGN, &our_names, "Shard-07 CRLDP",
	    &shard), JPKI_OK);
	CHECK_INT(X509_NAME_entry_count(shard), 5);
	if (cdp && sk_DIST_POINT_num(cdp) == 2) {
		GENERAL_NAME *uri = sk_GENERAL_NAME_value(
		    sk_DIST_POINT_value(cdp, 0)->distpoint->name.fullname, 0);
		GENERAL_NAME *dir = sk_GENERAL_NAME_value(
		    sk_DIST_POINT_value(cdp, 1)->distpoint->name.fullname, 0);
		CHECK_INT(uri->type, GEN_URI);
		CHECK_STR((const char *)ASN1_STRING_get0_data(
		    uri->d.uniformResourceIdentifier), p.crl_uri);
		CHECK_INT(dir->type, GEN_DIRNAME);
		CHECK_INT(X509_NAME_cmp(dir->d.dirn, shard), 0);
	}
	X509_NAME_free(shard);
	CRL_DIST_POINTS_free(cdp);
	X509_free(x);
}

static void
test_no_aia_without_uris_like_real_jpki(void)
{
	uint8_t serial[16];
	struct pki_ee_params p;
	X509 *x;

	fixture_serial(serial, 7);
	p = fixture_ee(CERT_AUTH, auth_ca, card_key, serial, t_nb, t_na);
	p.ocsp_uri = p.ca_issuers_uri = NULL;
	x = fixture_issue(&p, auth_ca_key);
	CHECK(x != NULL);
	if (x) {
		CHECK(X509_get_ext_by_NID(x, NID_info_access, -1) < 0);
		CHECK_INT(X509_get_ext_count(x), 6);
	}
	X509_free(x);
}

static void
test_validity_utctime_until_2049_generalized_from_2050(void)
{
	uint8_t serial[16];
	struct pki_ee_params p;
	struct jdate last49 = {2049, 12, 31}, first50 = {2050, 1, 1};
	struct jdate ca_end = {2060, 3, 31};
	X509 *x = NULL, *long_ca = NULL;

	/* A CA that lives past 2050, so the EE may too. */
	CHECK_INT(fixture_ca_cert_build(CERT_AUTH, &our_names, auth_ca_key,
	    ca_serial, 1, t_nb, jst_end_of_day(ca_end), &long_ca), JPKI_OK);
	if (long_ca == NULL)
		return;
	CHECK_INT(ASN1_STRING_type(X509_get0_notAfter(long_ca)),
	    V_ASN1_GENERALIZEDTIME);
	fixture_serial(serial, 8);
	p = fixture_ee(CERT_AUTH, long_ca, card_key, serial, t_nb,
	    jst_end_of_day(last49) + 9 * 3600); /* 2049-12-31T23:59:59Z */
	CHECK_INT(pki_ee_cert_build(&p, &x), JPKI_OK);
	if (x)
		CHECK_INT(ASN1_STRING_type(X509_get0_notAfter(x)),
		    V_ASN1_UTCTIME);
	X509_free(x);
	x = NULL;
	p.not_after = jst_instant(first50, 9, 0, 0); /* 2050-01-01T00:00Z */
	CHECK_INT(pki_ee_cert_build(&p, &x), JPKI_OK);
	if (x)
		CHECK_INT(ASN1_STRING_type(X509_get0_notAfter(x)),
		    V_ASN1_GENERALIZEDTIME);
	X509_free(x);
	X509_free(long_ca);
}

static void
test_ocsp_responder_cert_is_delegated_by_its_ca(void)
{
	static const int nids[] = {NID_key_usage, NID_ext_key_usage,
	    NID_id_pkix_OCSP_noCheck, NID_authority_key_identifier,
	    NID_subject_key_identifier};
	static const int crit[] = {1, 0, 0, 0, 0};
	uint8_t serial[16];
	X509 *x = NULL;

	fixture_serial(serial, 9);
	CHECK_INT(fixture_ocsp_cert_build(CERT_SIGN, &our_names, sign_ca,
	    sign_ca_key, card_key, serial, 16, t_nb, t_na, &x), JPKI_OK);
	CHECK(x != NULL);
	if (x == NULL)
		return;
	check_ext_order(x, nids, crit, (int)JPKI_ARRAY_LEN(nids));
	CHECK_INT(X509_get_extended_key_usage(x), XKU_OCSP_SIGN);
	CHECK_INT(X509_check_purpose(x, X509_PURPOSE_OCSP_HELPER, 0), 1);
	CHECK_INT(X509_check_issued(sign_ca, x), X509_V_OK);
	CHECK_INT(verify_chain(sign_ca, x, t_nb + 86400, NULL), 1);
	X509_free(x);
	/* A responder certificate built for the signing CA, signed by the
	 * authentication CA's key, does not verify under the signing CA (the
	 * CA module's key seam checks key against certificate on open). */
	CHECK_INT(fixture_ocsp_cert_build(CERT_SIGN, &our_names, sign_ca,
	    auth_ca_key, card_key, serial, 16, t_nb, t_na, &x), JPKI_OK);
	if (x != NULL)
		CHECK(X509_verify(x, X509_get0_pubkey(sign_ca)) != 1);
	X509_free(x);
	x = NULL;
	CHECK_INT(fixture_ocsp_cert_build(CERT_AUTH, &our_names, sign_ca,
	    sign_ca_key, card_key, serial, 16, t_nb, t_na, &x),
	    JPKI_ERR_INPUT);
}

/* ---- refusals ----------------------------------------------------------------- */

static char long_address[4 * 201 + 1];
static char long_flags[202];

struct refusal {
	const char *rule;
	const char *field; /* must appear in the message */
	void (*spoil)(struct pki_ee_params *p, struct pki_holder_facts *f);
};

static void no_facts(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)f; p->facts = NULL; }
static void facts_on_auth(struct pki_ee_params *p, struct pki_holder_facts *f)
{ p->type = CERT_AUTH; p->ca_cert = auth_ca; p->pref_romaji = p->city_romaji = NULL; (void)f; }
static void address_201(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)p; f->address = long_address; f->address_flags = long_flags; }
static void name_flags_short(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)p; f->name_flags = "0000"; }
static void address_flags_long(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)p; f->address_flags = "0000000000000000"; }
static void flags_not_binary(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)p; f->name_flags = "00200"; }
static void gender_4(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)p; f->gender = 4; }
static void birth_no_date(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)p; f->birth = "319800230"; }
static void birth_wrong_era(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)p; f->birth = "420200101"; } /* 2020 is Reiwa, not Heisei */
static void birth_short(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)p; f->birth = "S55.2.17"; }
static void name_not_utf8(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)p; f->name = "\xff\xfe"; f->name_flags = "00"; }
static void name_two_lines(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)p; f->name = "山田\n太郎"; f->name_flags = "00000"; }
static void no_cn(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)f; p->cn = ""; }
static void crl_https(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)f; p->crl_uri = "https://openjpki.example/crl/1.crl"; }
static void ocsp_space(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)f; p->ocsp_uri = "http://openjpki.example/oc sp"; }
static void wrong_ca(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)f; p->ca_cert = auth_ca; }
static void serial_zero(struct pki_ee_params *p, struct pki_holder_facts *f)
{ static const uint8_t z[16]; (void)f; p->serial = z; }
static void serial_21(struct pki_ee_params *p, struct pki_holder_facts *f)
{ static const uint8_t s[21] = {1}; (void)f; p->serial = s; p->serial_len = 21; }
static void times_reversed(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)f; p->not_after = p->not_before; }
static void type_3(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)f; p->type = (enum cert_type)3; }
static void outlives_ca(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)f; p->not_after = 4102444800LL; } /* 2100, the CA ends in 2036 */
static void no_pref(struct pki_ee_params *p, struct pki_holder_facts *f)
{ (void)f; p->pref_romaji = NULL; }

static void
test_malformed_inputs_are_refused_with_the_field_named(void)
{
	static const struct refusal table[] = {
		{"R4 signing needs facts", "facts", no_facts},
		{"R5 auth carries none", "facts", facts_on_auth},
		{"R4 address <= 200", "facts.address", address_201},
		{"flags per character", "facts.name_flags", name_flags_short},
		{"flags per character", "facts.address_flags", address_flags_long},
		{"flags are 0/1", "facts.name_flags", flags_not_binary},
		{"gender 1-3", "facts.gender", gender_4},
		{"birth is a date", "facts.birth", birth_no_date},
		{"birth era matches", "facts.birth", birth_wrong_era},
		{"birth is EYYYYMMDD", "facts.birth", birth_short},
		{"UTF-8 only", "facts.name", name_not_utf8},
		{"one line", "facts.name", name_two_lines},
		{"CN required", "cn", no_cn},
		{"CDP is http", "crl_uri", crl_https},
		{"URI IA5", "ocsp_uri", ocsp_space},
		{"issuer is this type's CA", "ca_cert", wrong_ca},
		{"serial positive", "serial", serial_zero},
		{"serial <= 20 octets", "serial", serial_21},
		{"validity ordered", "validity", times_reversed},
		{"type is sign or auth", "type", type_3},
		{"signing subject has L=pref", "pref_romaji", no_pref},
		{"not past the CA's notAfter", "validity", outlives_ca},
	};
	uint8_t serial[16];

	for (size_t i = 0; i < 201; i++)
		memcpy(long_address + 3 * i, "あ", 3);
	memset(long_flags, '0', 201);
	fixture_serial(serial, 10);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		struct pki_ee_params p = fixture_ee(CERT_SIGN, sign_ca,
		    card_key, serial, t_nb, t_na);
		struct pki_holder_facts f = holder;
		X509 *x = (X509 *)&p; /* must be reset to NULL */
		int r;

		p.facts = &f;
		table[i].spoil(&p, &f);
		jpki_errclear();
		r = pki_ee_cert_build(&p, &x);
		CHECK_INT(r, JPKI_ERR_INPUT);
		CHECK(x == NULL);
		if (r != JPKI_ERR_INPUT || !has_field(table[i].field))
			fprintf(stderr, "    rule \"%s\": \"%s\"\n",
			    table[i].rule, jpki_errmsg());
		CHECK(has_field(table[i].field));
	}
}

static void
test_address_of_exactly_200_characters_is_accepted(void)
{
	struct pki_holder_facts f = holder;
	char address[4 * 200 + 1] = "", flags[201];

	for (size_t i = 0; i < 200; i++)
		memcpy(address + 3 * i, "あ", 3);
	memset(flags, '0', 200);
	flags[200] = '\0';
	f.address = address;
	f.address_flags = flags;
	CHECK_INT(pki_holder_facts_check(&f), JPKI_OK);
	f.birth = "000000000"; /* era unknown */
	CHECK_INT(pki_holder_facts_check(&f), JPKI_OK);
	f.birth = "519990101"; /* Reiwa before Reiwa */
	CHECK_INT(pki_holder_facts_check(&f), JPKI_ERR_INPUT);
	f.birth = "320000101"; /* Showa after Showa */
	CHECK_INT(pki_holder_facts_check(&f), JPKI_ERR_INPUT);
	f.birth = "319890107"; /* last day of Showa */
	CHECK_INT(pki_holder_facts_check(&f), JPKI_OK);
	f.birth = "419890108"; /* first day of Heisei */
	CHECK_INT(pki_holder_facts_check(&f), JPKI_OK);
}

static void
test_names_from_the_config_are_checked(void)
{
	struct pki_names n = our_names;
	X509_NAME *dn = NULL;

	n.ou_auth = n.ou_sign;
	CHECK_INT(pki_ca_name(CERT_SIGN, &n, &dn), JPKI_ERR_INPUT);
	n = our_names;
	n.org = NULL;
	CHECK_INT(pki_ca_name(CERT_SIGN, &n, &dn), JPKI_ERR_INPUT);
	CHECK(has_field("names.org"));
	n = our_names;
	n.ou_agency = "0123456789012345678901234567890123456789012345678901234567890123456789";
	CHECK_INT(pki_ca_name(CERT_SIGN, &n, &dn), JPKI_ERR_INPUT);
	CHECK(dn == NULL);
	CHECK_INT(pki_crl_dirname(CERT_AUTH, &our_names, "", &dn),
	    JPKI_ERR_INPUT);
}

/* ---- DER and serial helpers ------------------------------------------------ */

static void
test_serial_hex_as_openssl_prints_it(void)
{
	static const struct {
		uint8_t bytes[4];
		size_t len;
		const char *hex;
	} table[] = {
		{{0x01}, 1, "01"},
		{{0x00, 0x01}, 2, "01"},
		{{0x06, 0x7C, 0x6A, 0x21}, 4, "067C6A21"},
		{{0x80}, 1, "80"},
		{{0x00}, 1, "00"},
		{{0x0a, 0xbc}, 2, "0ABC"},
	};
	char out[64];

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		CHECK_INT(pki_serial_hex(table[i].bytes, table[i].len, out,
		    sizeof(out)), JPKI_OK);
		CHECK_STR(out, table[i].hex);
	}
	CHECK_INT(pki_serial_hex(table[2].bytes, 4, out, 8), JPKI_ERR_INPUT);
	CHECK_INT(pki_serial_hex(table[2].bytes, 4, out, 9), JPKI_OK);
}

static void
test_serial_leading_zero_octets_are_not_encoded(void)
{
	static const uint8_t serial[24] = {[23] = 0x2A}; /* 24 octets, value 42 */
	struct pki_ee_params p;
	X509 *x = NULL;

	p = fixture_ee(CERT_AUTH, auth_ca, card_key, serial, t_nb, t_na);
	p.serial_len = sizeof(serial);
	CHECK_INT(pki_ee_cert_build(&p, &x), JPKI_OK);
	if (x)
		CHECK_INT(ASN1_INTEGER_get(X509_get0_serialNumber(x)), 42);
	X509_free(x);
}

/* ---- concurrency --------------------------------------------------------- */

#define SIGN_THREADS 4
#define SIGN_PER_THREAD 20

struct sign_job {
	int id, ok;
};

static void *
sign_worker(void *arg)
{
	struct sign_job *job = arg;

	for (int i = 0; i < SIGN_PER_THREAD; i++) {
		uint8_t serial[16];
		struct pki_ee_params p;
		X509 *x;

		fixture_serial(serial, (uint8_t)(100 + job->id));
		serial[15] = (uint8_t)i;
		p = fixture_ee(CERT_AUTH, auth_ca, card_key, serial, t_nb, t_na);
		x = NULL;
		if (pki_ee_cert_build(&p, &x) == JPKI_OK &&
		    pki_cert_sign(x, auth_ca_key) == JPKI_OK &&
		    X509_verify(x, auth_ca_key) == 1)
			job->ok++;
		X509_free(x);
	}
	return NULL;
}

static void
test_signing_from_several_threads_with_one_key(void)
{
	pthread_t t[SIGN_THREADS];
	struct sign_job jobs[SIGN_THREADS];

	for (int i = 0; i < SIGN_THREADS; i++) {
		jobs[i].id = i;
		jobs[i].ok = 0;
		CHECK_INT(pthread_create(&t[i], NULL, sign_worker, &jobs[i]), 0);
	}
	for (int i = 0; i < SIGN_THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(jobs[i].ok, SIGN_PER_THREAD);
	}
}

int
main(void)
{
	struct jdate ca_from = {2026, 4, 1}, ca_to = {2036, 3, 31};
	struct jdate ee_to = {2031, 2, 17};

	sign_ca_key = fixture_key();
	auth_ca_key = fixture_key();
	card_key = fixture_key();
	if (fixture_ca_cert_build(CERT_SIGN, &our_names, sign_ca_key, ca_serial,
	    sizeof(ca_serial), jst_instant(ca_from, 10, 0, 0),
	    jst_end_of_day(ca_to), &sign_ca) != JPKI_OK ||
	    fixture_ca_cert_build(CERT_AUTH, &our_names, auth_ca_key, ca_serial,
	    sizeof(ca_serial), jst_instant(ca_from, 10, 0, 0),
	    jst_end_of_day(ca_to), &auth_ca) != JPKI_OK) {
		fprintf(stderr, "test CA: %s\n", jpki_errmsg());
		return 1;
	}
	t_nb = jst_instant(ca_from, 11, 0, 0);
	t_na = jst_end_of_day(ee_to);

	test_ca_cert_matches_the_real_jlis_ca_certificates();
	test_ca_not_after_is_2359_jst_in_utc();
	test_ca_cert_names_the_service_and_itself();
	test_ca_service_name_without_optional_ous();
	test_signing_cert_profile();
	test_signing_cert_facts_in_the_real_order();
	test_facts_read_back_equal_what_was_put_in();
	test_facts_read_refuses_malformed_other_names();
	test_authentication_cert_carries_no_personal_facts();
	test_test_environment_policies();
	test_crl_distribution_point_uri_then_dirname();
	test_no_aia_without_uris_like_real_jpki();
	test_validity_utctime_until_2049_generalized_from_2050();
	test_ocsp_responder_cert_is_delegated_by_its_ca();
	test_malformed_inputs_are_refused_with_the_field_named();
	test_address_of_exactly_200_characters_is_accepted();
	test_names_from_the_config_are_checked();
	test_serial_hex_as_openssl_prints_it();
	test_serial_leading_zero_octets_are_not_encoded();
	test_signing_from_several_threads_with_one_key();

	X509_free(sign_ca);
	X509_free(auth_ca);
	EVP_PKEY_free(sign_ca_key);
	EVP_PKEY_free(auth_ca_key);
	EVP_PKEY_free(card_key);
	return test_summary();
}
