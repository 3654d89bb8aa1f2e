/*
 * Unit tests of the relying party's small parts, table-driven: the era of
 * a birth date as a verdict shows it (R4), a login origin, strict base64,
 * the client's HTTP answer parser, the registered relying parties' keys,
 * the login digest (Web eID's SHA-256(origin) || SHA-256(nonce)), and the
 * DER walk that takes a CMS's certificates out (the stripped CMS is the
 * same SignedData without them).
 */
#include "rp/rp_int.h"
#include "test.h"

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <string.h>

static void
test_era_year_and_name_r4(void)
{
	static const struct {
		struct jdate d;
		int digit, year;
		const char *en, *ja;
	} cases[] = {
	    {{1868, 1, 25}, 1, 1, "Meiji", "明治"},
	    {{1912, 7, 29}, 1, 45, "Meiji", "明治"},
	    {{1912, 7, 30}, 2, 1, "Taisho", "大正"},
	    {{1926, 12, 25}, 3, 1, "Showa", "昭和"},
	    {{1980, 5, 15}, 3, 55, "Showa", "昭和"},
	    {{1989, 1, 7}, 3, 64, "Showa", "昭和"},
	    {{1989, 1, 8}, 4, 1, "Heisei", "平成"},
	    {{2019, 4, 30}, 4, 31, "Heisei", "平成"},
	    {{2019, 5, 1}, 5, 1, "Reiwa", "令和"},
	    {{1800, 1, 1}, 0, 0, "unknown", "不明"},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(cases); i++) {
		CHECK_INT(rules_era_digit(cases[i].d), cases[i].digit);
		CHECK_INT(rules_era_year(cases[i].d), cases[i].year);
		CHECK_STR(rules_era_name(cases[i].digit, 0), cases[i].en);
		CHECK_STR(rules_era_name(cases[i].digit, 1), cases[i].ja);
	}
	CHECK_STR(rules_era_name(9, 0), "unknown");
}

static void
test_origin_of_url(void)
{
	static const struct {
		const char *url, *origin;
	} ok[] = {
	    {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
	    {"http://127.0.0.1:8080/rp/login?x=1", "http://127.0.0.1:8080"},
	    {"HTTPS://Bank.Example/login", "https://bank.example"},
	    {"https://bank.example#frag", "https://bank.example"},
	};
	static const char *const bad[] = {"ftp://x", "bank.example", "http://",
	    "https:///path", "http://user@evil.example/"};
	char o[RP_ORIGIN_MAX + 1];

	for (size_t i = 0; i < JPKI_ARRAY_LEN(ok); i++) {
		CHECK_INT(rp_origin_of(ok[i].url, o), JPKI_OK);
		CHECK_STR(o, ok[i].origin);
	}
	for (size_t i = 0; i < JPKI_ARRAY_LEN(bad); i++)
		CHECK_INT(rp_origin_of(bad[i], o), JPKI_ERR_INPUT);
}

static void
test_base64_is_strict(void)
{
	uint8_t out[16];
	size_t n = 0;

	CHECK_INT(rp_b64_decode("aGVsbG8=", 8, out, sizeof(out), &n), JPKI_OK);
	CHECK_INT((int)n, 5);
	CHECK(memcmp(out, "hello", 5) == 0);
	CHECK_INT(rp_b64_decode("aGVsbG8", 7, out, sizeof(out), &n),
	    JPKI_ERR_INPUT);                     /* not a multiple of 4 */
	CHECK_INT(rp_b64_decode("aGV=bG8=", 8, out, sizeof(out), &n),
	    JPKI_ERR_INPUT);                     /* padding inside */
	CHECK_INT(rp_b64_decode("aGVs bG8", 8, out, sizeof(out), &n),
	    JPKI_ERR_INPUT);                     /* a space */
	CHECK_INT(rp_b64_decode("aGVsbG8gd29ybGQgYWdhaW4h", 24, out, 4, &n),
	    JPKI_ERR_INPUT);                     /* more than the room */
}

static void
test_http_answer_parser(void)
{
	static const struct {
		const char *in;
		int r;
		unsigned status;
		const char *body;
	} cases[] = {
	    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", JPKI_OK, 200,
		"{}"},
	    {"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
		"\r\n{\"a\":1}", JPKI_OK, 401, "{\"a\":1}"},
	    {"HTTP/1.0 204\r\n\r\n", JPKI_OK, 204, ""},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}", JPKI_ERR_INPUT,
		0, NULL},                        /* length differs */
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}",
		JPKI_ERR_INPUT, 0, NULL},
	    {"HTTP/1.1 099 X\r\n\r\n", JPKI_ERR_INPUT, 0, NULL},
	    {"HTTP/1.1 200 OK\nContent-Length: 0\n\n", JPKI_ERR_INPUT, 0,
		NULL},                           /* LF only */
	    {"HTTP/1.1 200 OK\r\nContent-Length: 2", JPKI_ERR_INPUT, 0, NULL},
	    {"SSH-2.0-x\r\n\r\n", JPKI_ERR_INPUT, 0, NULL},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(cases); i++) {
		struct rp_http_answer a;

		memset(&a, 0, sizeof(a));
		jbuf_init(&a.body);
		CHECK_INT(rp_http_answer_parse((const uint8_t *)cases[i].in,
		    strlen(cases[i].in), 1024, &a), cases[i].r);
		if (cases[i].r == JPKI_OK) {
			CHECK_INT((int)a.status, (int)cases[i].status);
			CHECK_INT((int)a.body.len, (int)strlen(cases[i].body));
			CHECK(a.body.len == 0 || memcmp(a.body.data,
			    cases[i].body, a.body.len) == 0);
		}
		rp_http_answer_free(&a);
	}
}

static void
test_api_keys_of_registered_relying_parties(void)
{
	const char *keys = "bank:0123456789abcdef01, portal : short,"
	    "tax:fedcba9876543210fe";
	char name[64];

	CHECK_INT(rp_api_key_check(keys, "0123456789abcdef01", name,
	    sizeof(name)), JPKI_OK);
	CHECK_STR(name, "bank");
	CHECK_INT(rp_api_key_check(keys, "fedcba9876543210fe", name,
	    sizeof(name)), JPKI_OK);
	CHECK_STR(name, "tax");
	/* Too short to be registered, a prefix, a name, none. */
	CHECK_INT(rp_api_key_check(keys, "short", name, sizeof(name)),
	    JPKI_ERR_REFUSED);
	CHECK_INT(rp_api_key_check(keys, "0123456789abcdef0", name,
	    sizeof(name)), JPKI_ERR_REFUSED);
	CHECK_INT(rp_api_key_check(keys, "bank", name, sizeof(name)),
	    JPKI_ERR_REFUSED);
	CHECK_INT(rp_api_key_check(keys, NULL, name, sizeof(name)),
	    JPKI_ERR_REFUSED);
	CHECK_INT(rp_api_key_check("", "0123456789abcdef01", name,
	    sizeof(name)), JPKI_ERR_REFUSED);
}

static void
test_login_digest_is_web_eid_construction(void)
{
	const char *origin = "https://rp.example", *nonce = "bm9uY2U=";
	uint8_t both[64], want[32], got[32];

	EVP_Digest(origin, strlen(origin), both, NULL, EVP_sha256(), NULL);
	EVP_Digest(nonce, strlen(nonce), both + 32, NULL, EVP_sha256(), NULL);
	EVP_Digest(both, 64, want, NULL, EVP_sha256(), NULL);
	CHECK_INT(rp_login_digest(origin, nonce, got), JPKI_OK);
	CHECK(memcmp(got, want, 32) == 0);
}

/* A signed CMS made here with a throwaway key and certificate. */
static int
sign_with(void *arg, const uint8_t hash[32], uint8_t *sig, size_t *sig_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(arg, NULL);
	int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_sign(ctx, sig, sig_len, hash, 32) == 1;

	EVP_PKEY_CTX_free(ctx);
	return ok ? JPKI_OK : JPKI_ERR_CRYPTO;
}

static void
test_cms_split_keeps_the_signed_data_but_the_certificates(void)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	struct rp_sign_params p = {0};
	struct rp_cms_certs certs;
	struct jbuf cms, stripped;
	const uint8_t *q;
	CMS_ContentInfo *a, *b;
	int split = 0;

	CHECK(key != NULL && x != NULL);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"signer", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	CHECK(X509_sign(x, key, EVP_sha256()) > 0);
	jbuf_init(&cms);
	jbuf_init(&stripped);
	p.cert = x;
	p.content = (const uint8_t *)"document";
	p.content_len = 8;
	p.signing_time = 1767225600;
	p.sign = sign_with;
	p.arg = key;
	CHECK_INT(rp_cms_sign(&p, &cms), JPKI_OK);
	CHECK_INT(rp_cms_split(cms.data, cms.len, &stripped, &certs, &split),
	    JPKI_OK);
	CHECK_INT(split, 1);
	CHECK_INT((int)certs.n, 1);
	q = cms.data;
	a = d2i_CMS_ContentInfo(NULL, &q, (long)cms.len);
	q = stripped.data;
	b = d2i_CMS_ContentInfo(NULL, &q, (long)stripped.len);
	CHECK(a != NULL && b != NULL);
	CHECK(q == stripped.data + stripped.len);
	{
		STACK_OF(X509) *in_a = CMS_get1_certs(a),
		    *in_b = CMS_get1_certs(b);

		CHECK_INT(sk_X509_num(in_a), 1);
		CHECK(in_b == NULL || sk_X509_num(in_b) == 0);
		sk_X509_pop_free(in_a, X509_free);
		sk_X509_pop_free(in_b, X509_free);
	}
	/* The certificate handed out is the one that was inside. */
	{
		uint8_t *der = NULL;
		int n = i2d_X509(x, &der);

		CHECK_INT((int)certs.len[0], n);
		CHECK(memcmp(certs.der[0], der, (size_t)n) == 0);
		OPENSSL_free(der);
	}
	/* Not DER it takes (a truncated one, trailing bytes): left whole. */
	CHECK_INT(rp_cms_split(cms.data, cms.len - 1, &stripped, &certs,
	    &split), JPKI_OK);
	CHECK_INT(split, 0);
	CMS_ContentInfo_free(a);
	CMS_ContentInfo_free(b);
	jbuf_free(&cms);
	jbuf_free(&stripped);
	X509_free(x);
	EVP_PKEY_free(key);
}

int
main(void)
{
	test_era_year_and_name_r4();
	test_origin_of_url();
	test_base64_is_strict();
	test_http_answer_parser();
	test_api_keys_of_registered_relying_parties();
	test_login_digest_is_web_eid_construction();
	test_cms_split_keeps_the_signed_data_but_the_certificates();
	return test_summary();
}
