/*
 * cert_profile.c: print the structural profile of one certificate, one
 * item a line, so that a shell test can diff our certificates against the
 * real J-LIS ones (tests/integration/test_ca_profile.sh).
 *
 * Only structure is printed, never values that differ by design between
 * two CAs (names, keys, serials, dates, key identifiers): attribute types
 * and string types in RDN order, extension OIDs in order with their
 * criticality, the kinds of names inside SubjectAltName, IssuerAltName,
 * CRLDistributionPoints and AuthorityInfoAccess, and derived facts such as
 * "validity-years 10" or "ski method1=1".  Every line begins with a word
 * naming its item, so a test can pick or drop items with grep.
 *
 * usage: cert_profile FILE (PEM, or DER)
 * exit: 0 printed, 1 unreadable certificate, 2 usage.
 */
#include "base/base.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void
print_oid(const ASN1_OBJECT *o)
{
	char buf[128];

	OBJ_obj2txt(buf, sizeof(buf), o, 1);
	fputs(buf, stdout);
}

static const char *
oid_name(const ASN1_OBJECT *o)
{
	int nid = OBJ_obj2nid(o);

	return nid == NID_undef ? "-" : OBJ_nid2sn(nid);
}

/* "<prefix> <rdn index> <attribute oid> <string type>" per attribute. */
static void
print_name(const char *prefix, const X509_NAME *n)
{
	for (int i = 0; i < X509_NAME_entry_count(n); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);

		printf("%s %d ", prefix, X509_NAME_ENTRY_set(e));
		print_oid(X509_NAME_ENTRY_get_object(e));
		printf(" %s\n", ASN1_tag2str(ASN1_STRING_type(v)));
	}
}

static const char *
uri_scheme(const ASN1_IA5STRING *uri, char *buf, size_t cap)
{
	const char *s = (const char *)ASN1_STRING_get0_data(uri);
	const char *colon = memchr(s, ':', (size_t)ASN1_STRING_length(uri));
	size_t n = colon ? (size_t)(colon - s) : 0;

	if (n == 0 || n >= cap)
		return "none";
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

/* One line per general name; a DirName also gets a line per attribute,
 * and says whether it equals the certificate's subject. */
static void
print_general_names(const char *prefix, const GENERAL_NAMES *gns,
    const X509 *x)
{
	char scheme[16], sub[64];

	for (int i = 0; i < sk_GENERAL_NAME_num(gns); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gns, i);

		switch (g->type) {
		case GEN_OTHERNAME: {
			const ASN1_TYPE *v = g->d.otherName->value;

			printf("%s %d otherName ", prefix, i);
			print_oid(g->d.otherName->type_id);
			printf(" %s\n", ASN1_tag2str(v->type));
			break;
		}
		case GEN_DIRNAME:
			printf("%s %d dirName equals-subject=%d\n", prefix, i,
			    X509_NAME_cmp(g->d.dirn,
			    X509_get_subject_name(x)) == 0);
			snprintf(sub, sizeof(sub), "%s %d dirName", prefix, i);
			print_name(sub, g->d.dirn);
			break;
		case GEN_URI:
			printf("%s %d uri scheme=%s\n", prefix, i,
			    uri_scheme(g->d.uniformResourceIdentifier, scheme,
			    sizeof(scheme)));
			break;
		case GEN_EMAIL:
			printf("%s %d email\n", prefix, i);
			break;
		case GEN_DNS:
			printf("%s %d dns\n", prefix, i);
			break;
		default:
			printf("%s %d type=%d\n", prefix, i, g->type);
			break;
		}
	}
}

static void
print_key_usage(const X509 *x)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} bits[] = {
	    {KU_DIGITAL_SIGNATURE, "digitalSignature"},
	    {KU_NON_REPUDIATION, "nonRepudiation"},
	    {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
	    {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
	    {KU_KEY_AGREEMENT, "keyAgreement"},
	    {KU_KEY_CERT_SIGN, "keyCertSign"},
	    {KU_CRL_SIGN, "cRLSign"},
	    {KU_ENCIPHER_ONLY, "encipherOnly"},
	    {KU_DECIPHER_ONLY, "decipherOnly"},
	};
	uint32_t ku = X509_get_key_usage((X509 *)x);

	printf("keyusage");
	for (size_t i = 0; i < JPKI_ARRAY_LEN(bits); i++)
		if (ku & bits[i].bit)
			printf(" %s", bits[i].name);
	printf("\n");
}

static void
print_basic_constraints(BASIC_CONSTRAINTS *bc)
{
	printf("basicconstraints ca=%d pathlen=%s\n", bc->ca ? 1 : 0,
	    bc->pathlen ? "present" : "none");
}

static void
print_cdp(CRL_DIST_POINTS *cdp, const X509 *x)
{
	char prefix[32];

	for (int i = 0; i < sk_DIST_POINT_num(cdp); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);

		printf("cdp %d reasons=%d crlissuer=%d\n", i,
		    dp->reasons != NULL, dp->CRLissuer != NULL);
		if (dp->distpoint == NULL)
			continue;
		if (dp->distpoint->type == 0) {
			snprintf(prefix, sizeof(prefix), "cdp %d fullName", i);
			print_general_names(prefix,
			    dp->distpoint->name.fullname, x);
		} else {
			printf("cdp %d relativeName\n", i);
		}
	}
}

static void
print_aia(AUTHORITY_INFO_ACCESS *aia, const X509 *x)
{
	char prefix[96], oid[64];

	for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		GENERAL_NAMES *one = sk_GENERAL_NAME_new_null();

		OBJ_obj2txt(oid, sizeof(oid), ad->method, 1);
		snprintf(prefix, sizeof(prefix), "aia %d %s", i, oid);
		if (one == NULL)
			continue;
		sk_GENERAL_NAME_push(one, ad->location);
		print_general_names(prefix, one, x);
		sk_GENERAL_NAME_free(one);
	}
}

static void
print_policies(CERTIFICATEPOLICIES *cp)
{
	for (int i = 0; i < sk_POLICYINFO_num(cp); i++) {
		POLICYINFO *pi = sk_POLICYINFO_value(cp, i);

		printf("policy %d ", i);
		print_oid(pi->policyid);
		printf("\n");
		for (int q = 0; q < sk_POLICYQUALINFO_num(pi->qualifiers);
		    q++) {
			POLICYQUALINFO *pq =
			    sk_POLICYQUALINFO_value(pi->qualifiers, q);
			char scheme[16];

			printf("policy %d qualifier ", i);
			print_oid(pq->pqualid);
			if (OBJ_obj2nid(pq->pqualid) == NID_id_qt_cps)
				printf(" uri scheme=%s", uri_scheme(pq->d.cpsuri,
				    scheme, sizeof(scheme)));
			printf("\n");
		}
	}
}

static void
print_eku(EXTENDED_KEY_USAGE *eku)
{
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		printf("eku %d ", i);
		print_oid(sk_ASN1_OBJECT_value(eku, i));
		printf("\n");
	}
}

/* RFC 5280 4.2.1.2 method 1: the SHA-1 of the subjectPublicKey bits. */
static void
print_ski(const X509 *x)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id((X509 *)x);
	const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(x);
	unsigned char md[SHA_DIGEST_LENGTH];
	int method1 = 0;

	if (ski == NULL || key == NULL)
		return;
	SHA1(ASN1_STRING_get0_data(key), (size_t)ASN1_STRING_length(key), md);
	method1 = ASN1_STRING_length(ski) == SHA_DIGEST_LENGTH &&
	    memcmp(ASN1_STRING_get0_data(ski), md, sizeof(md)) == 0;
	printf("ski length=%d method1=%d\n", ASN1_STRING_length(ski), method1);
}

static void
print_aki(AUTHORITY_KEYID *aki)
{
	printf("aki keyid=%d issuer=%d serial=%d\n", aki->keyid != NULL,
	    aki->issuer != NULL, aki->serial != NULL);
}

static void
print_extension_detail(X509 *x, X509_EXTENSION *e)
{
	int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
	const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(e);
	void *v = X509V3_EXT_d2i(e);

	switch (nid) {
	case NID_key_usage:
		print_key_usage(x);
		break;
	case NID_basic_constraints:
		if (v != NULL)
			print_basic_constraints(v);
		break;
	case NID_subject_alt_name:
		if (v != NULL)
			print_general_names("san", v, x);
		break;
	case NID_issuer_alt_name:
		if (v != NULL)
			print_general_names("ian", v, x);
		break;
	case NID_crl_distribution_points:
		if (v != NULL)
			print_cdp(v, x);
		break;
	case NID_info_access:
		if (v != NULL)
			print_aia(v, x);
		break;
	case NID_certificate_policies:
		if (v != NULL)
			print_policies(v);
		break;
	case NID_ext_key_usage:
		if (v != NULL)
			print_eku(v);
		break;
	case NID_subject_key_identifier:
		print_ski(x);
		break;
	case NID_authority_key_identifier:
		if (v != NULL)
			print_aki(v);
		break;
	case NID_id_pkix_OCSP_noCheck:
		/* RFC 6960 4.2.2.2.1: the value is NULL (05 00). */
		printf("ocsp-nocheck null=%d\n", ASN1_STRING_length(data) == 2 &&
		    ASN1_STRING_get0_data(data)[0] == 0x05 &&
		    ASN1_STRING_get0_data(data)[1] == 0x00);
		break;
	default:
		break;
	}
	if (v != NULL) {
		const X509V3_EXT_METHOD *m = X509V3_EXT_get(e);

		if (m != NULL && m->it != NULL)
			ASN1_item_free(v, ASN1_ITEM_ptr(m->it));
	}
}

static int64_t
asn1_time_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm))
		return -1;
	return (int64_t)timegm(&tm);
}

/* The validity as JPKI states it: notAfter at 23:59:59 JST on the day
 * before the N-th anniversary (JST) of notBefore → "validity-years N". */
static void
print_validity(const X509 *x)
{
	const ASN1_TIME *nb = X509_get0_notBefore(x);
	const ASN1_TIME *na = X509_get0_notAfter(x);
	int64_t tb = asn1_time_epoch(nb), ta = asn1_time_epoch(na);
	struct jdate db, da;
	int years = -1;

	printf("validity notBefore-type %s notAfter-type %s\n",
	    ASN1_tag2str(ASN1_STRING_type(nb)), ASN1_tag2str(ASN1_STRING_type(na)));
	if (tb < 0 || ta < 0) {
		printf("validity unreadable\n");
		return;
	}
	printf("validity notAfter-utc-time %02d:%02d:%02dZ\n",
	    (int)(ta % 86400 / 3600), (int)(ta % 3600 / 60), (int)(ta % 60));
	db = jst_date_of(tb);
	da = jst_date_of(ta);
	for (int n = 1; n <= 50; n++) {
		struct jdate end = {db.y + n, db.m, db.d};

		if (!jdate_valid(end)) /* 29 February: the 28th, then +1 */
			end.d = 28, end = jdate_add_days(end, 1);
		if (jdate_cmp(jdate_add_days(end, -1), da) == 0 &&
		    ta == jst_end_of_day(da)) {
			years = n;
			break;
		}
	}
	if (years > 0)
		printf("validity-years %d\n", years);
	else
		printf("validity-days %lld\n", (long long)((ta - tb) / 86400));
}

static void
print_key(const X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	BIGNUM *e = NULL;
	char *edec = NULL;

	if (k == NULL) {
		printf("key unreadable\n");
		return;
	}
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		printf("key %s bits=%d\n", OBJ_nid2sn(EVP_PKEY_get_base_id(k)),
		    EVP_PKEY_get_bits(k));
		return;
	}
	if (EVP_PKEY_get_bn_param(k, "e", &e) == 1)
		edec = BN_bn2dec(e);
	printf("key rsaEncryption bits=%d e=%s\n", EVP_PKEY_get_bits(k),
	    edec ? edec : "?");
	OPENSSL_free(edec);
	BN_free(e);
}

static void
print_signature(const X509 *x)
{
	const X509_ALGOR *outer, *inner = X509_get0_tbs_sigalg(x);
	const ASN1_OBJECT *oo, *io;
	int optype, iptype;
	const void *ov, *iv;

	X509_get0_signature(NULL, &outer, x);
	X509_ALGOR_get0(&oo, &optype, &ov, outer);
	X509_ALGOR_get0(&io, &iptype, &iv, inner);
	printf("signature %s params=%s\n", oid_name(oo),
	    optype == V_ASN1_NULL ? "NULL" : optype == V_ASN1_UNDEF ?
	    "absent" : "other");
	printf("signature tbs-matches-outer=%d\n", X509_ALGOR_cmp(outer,
	    inner) == 0);
}

static X509 *
read_cert(const char *path)
{
	FILE *f = fopen(path, "rb");
	X509 *x;

	if (f == NULL)
		return NULL;
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		rewind(f);
		x = d2i_X509_fp(f, NULL);
	}
	fclose(f);
	return x;
}

int
main(int argc, char **argv)
{
	X509 *x;

	if (argc != 2) {
		fprintf(stderr, "usage: cert_profile FILE.pem\n");
		return 2;
	}
	if ((x = read_cert(argv[1])) == NULL) {
		fprintf(stderr, "cert_profile: %s: not a certificate\n", argv[1]);
		return 1;
	}
	printf("version %ld\n", X509_get_version(x) + 1);
	print_signature(x);
	print_name("issuer", X509_get_issuer_name(x));
	print_name("subject", X509_get_subject_name(x));
	printf("issuer-equals-subject %d\n", X509_NAME_cmp(
	    X509_get_issuer_name(x), X509_get_subject_name(x)) == 0);
	printf("self-signed %d\n", X509_check_issued(x, x) == X509_V_OK &&
	    X509_verify(x, X509_get0_pubkey(x)) == 1);
	print_validity(x);
	print_key(x);
	for (int i = 0; i < X509_get_ext_count(x); i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		const ASN1_OBJECT *o = X509_EXTENSION_get_object(e);

		printf("ext ");
		print_oid(o);
		printf(" critical=%d %s\n", X509_EXTENSION_get_critical(e),
		    oid_name(o));
		print_extension_detail(x, e);
	}
	X509_free(x);
	return 0;
}
