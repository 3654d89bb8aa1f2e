/* Bulk issuance (ca_issue_stream): every group is its own transaction and
 * every certificate verifies under its CA; a refusal keeps the groups
 * before the refused request's one and nothing after; ca_issue_batch is
 * all or nothing; and a change another writer commits between two groups
 * is seen by the certificates prepared before it (they are prepared
 * again), so no certificate carries facts the register no longer holds. */
#include "support/open_ca.h"
#include "ca/ca.h"
#include "pki/pki.h"
#include "test.h"

#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/jpki-stream-test-XXXXXX";
static struct ca *ca;
static EVP_PKEY *card_key;
static long next_number = 1;

/* A new resident (born 1985, so both certificate types are allowed). */
static int64_t
resident_new(const char *address)
{
	int64_t id;

	if (support_resident_add(ca, next_number++, address, &id) != JPKI_OK) {
		fprintf(stderr, "resident: %s\n", jpki_errmsg());
		exit(3);
	}
	return id;
}

static long
cert_count(void)
{
	long n = -1;

	CHECK_INT(store_cert_count(datadir_store(ca_datadir(ca)), &n), JPKI_OK);
	return n;
}

static struct ca_issue_request
request(int64_t resident, enum cert_type type)
{
	struct ca_issue_request q;

	memset(&q, 0, sizeof(q));
	q.resident_id = resident;
	q.type = type;
	q.pub = card_key;
	q.actor = "test";
	return q;
}

static X509 *
parsed(const struct ca_issued *i)
{
	const unsigned char *p = i->der;

	return i->der != NULL ? d2i_X509(NULL, &p, (long)i->der_len) : NULL;
}

struct commits {
	size_t at[16];
	int n;
};

static void
note_commit(void *arg, size_t committed)
{
	struct commits *c = arg;

	if (c->n < 16)
		c->at[c->n++] = committed;
}

static void
test_stream_commits_every_group_and_all_verify(void)
{
	struct ca_issue_request reqs[20];
	struct ca_issued out[20];
	struct commits seen = {.n = 0};
	struct ca_stream_options o = {.threads = 1, .group = 6,
	    .on_commit = note_commit, .arg = &seen};
	size_t committed = 0;
	long before = cert_count(), checked = 0;

	for (int i = 0; i < 10; i++) {
		int64_t id = resident_new("東京都清瀬市中里1-2-3");

		reqs[2 * i] = request(id, CERT_SIGN);
		reqs[2 * i + 1] = request(id, CERT_AUTH);
	}
	CHECK_INT(ca_issue_stream(ca, reqs, 20, out, &o, &committed), JPKI_OK);
	CHECK(committed == 20);
	CHECK_INT(seen.n, 4);
	CHECK(seen.at[0] == 6 && seen.at[1] == 12 && seen.at[2] == 18 &&
	    seen.at[3] == 20);
	CHECK_INT(cert_count(), before + 20);
	for (int i = 0; i < 20; i++) {
		X509 *x = parsed(&out[i]);
		struct cert_record rec;

		CHECK(x != NULL && X509_verify(x, X509_get0_pubkey(ca_cert(ca,
		    reqs[i].type))) == 1);
		CHECK_INT(store_cert_get(datadir_store(ca_datadir(ca)), out[i].serial, &rec),
		    JPKI_OK);
		CHECK(rec.der_len == out[i].der_len &&
		    memcmp(rec.der, out[i].der, rec.der_len) == 0);
		store_cert_free(&rec);
		X509_free(x);
		ca_issued_free(&out[i]);
	}
	CHECK_INT(store_audit_verify(datadir_store(ca_datadir(ca)), &checked), JPKI_OK);
}

/* A window smaller than a group and than the stream: the ring of prepared
 * requests wraps many times, with two signing threads and the caller. */
static void
test_small_window_wraps(void)
{
	enum { N = 40 };
	struct ca_issue_request reqs[N];
	struct ca_issued out[N];
	struct ca_stream_options o = {.threads = 2, .group = 7, .window = 3};
	size_t committed = 0;
	long before = cert_count(), checked = 0;

	for (int i = 0; i < N; i++)
		reqs[i] = request(resident_new("東京都清瀬市中里5-5-5"),
		    i % 2 ? CERT_AUTH : CERT_SIGN);
	CHECK_INT(ca_issue_stream(ca, reqs, N, out, &o, &committed), JPKI_OK);
	CHECK(committed == N);
	CHECK_INT(cert_count(), before + N);
	for (int i = 0; i < N; i++) {
		X509 *x = parsed(&out[i]);

		CHECK(x != NULL && X509_verify(x, X509_get0_pubkey(ca_cert(ca,
		    reqs[i].type))) == 1);
		/* out[i] is request i's certificate: its subject's CN is the
		 * serial recorded for it. */
		if (x != NULL) {
			char cn[64] = "";

			X509_NAME_get_text_by_NID(X509_get_subject_name(x),
			    NID_commonName, cn, sizeof(cn));
			CHECK_STR(cn, out[i].serial);
		}
		X509_free(x);
		ca_issued_free(&out[i]);
	}
	CHECK_INT(store_audit_verify(datadir_store(ca_datadir(ca)), &checked), JPKI_OK);
}

/* R8 refuses request 9 (a second signing certificate for the holder of
 * request 1): groups [0,4) and [4,8) stay, [8,12) is rolled back. */
static void
test_refusal_keeps_the_groups_before_it(void)
{
	struct ca_issue_request reqs[12];
	struct ca_issued out[12];
	struct ca_stream_options o = {.threads = 1, .group = 4};
	size_t committed = 99;
	long before = cert_count();
	int64_t ids[12];

	for (int i = 0; i < 12; i++) {
		ids[i] = resident_new("東京都清瀬市中里4-5-6");
		reqs[i] = request(ids[i], CERT_SIGN);
	}
	reqs[9] = request(ids[1], CERT_SIGN);
	CHECK_INT(ca_issue_stream(ca, reqs, 12, out, &o, &committed),
	    JPKI_ERR_REFUSED);
	CHECK(strstr(jpki_errmsg(), "request 9") != NULL);
	CHECK(strstr(jpki_errmsg(), "R8") != NULL);
	CHECK(committed == 8);
	CHECK_INT(cert_count(), before + 8);
	for (int i = 0; i < 12; i++) {
		CHECK(i < 8 ? out[i].der != NULL : out[i].der == NULL);
		ca_issued_free(&out[i]);
	}
}

static void
test_batch_is_all_or_nothing(void)
{
	struct ca_issue_request reqs[6];
	struct ca_issued out[6];
	long before = cert_count(), checked = 0;

	for (int i = 0; i < 6; i++)
		reqs[i] = request(resident_new("東京都清瀬市中里7-8-9"),
		    CERT_AUTH);
	reqs[5].resident_id = 999999;   /* nobody */
	CHECK(ca_issue_batch(ca, reqs, 6, out, 2) != JPKI_OK);
	CHECK(strstr(jpki_errmsg(), "request 5") != NULL);
	CHECK_INT(cert_count(), before);
	for (int i = 0; i < 6; i++)
		CHECK(out[i].der == NULL);
	CHECK_INT(store_audit_verify(datadir_store(ca_datadir(ca)), &checked), JPKI_OK);
}

/* Between the two groups another connection changes the second holder:
 * the first an address, the second a death. */
struct other_writer {
	int64_t resident;
	int die;
	int done;
};

static void
write_between_groups(void *arg, size_t committed)
{
	struct other_writer *w = arg;
	struct ca *other = NULL;
	struct resident r;

	(void)committed;
	if (w->done++)
		return;
	if (support_ca_open(dir, CA_KEYS_CA | CA_KEYS_OCSP, &other) != JPKI_OK ||
	    store_begin(datadir_store(ca_datadir(other))) != JPKI_OK ||
	    store_resident_get(datadir_store(ca_datadir(other)), w->resident, &r) != JPKI_OK) {
		fprintf(stderr, "other writer: %s\n", jpki_errmsg());
		exit(3);
	}
	if (w->die) {
		r.status = RESIDENT_DECEASED;
	} else {
		snprintf(r.address, sizeof(r.address), "北海道札幌市中央区1-1");
		memset(r.address_flags, 0, sizeof(r.address_flags));
		memset(r.address_flags, '0', utf8_count(r.address,
		    strlen(r.address)));
	}
	r.facts_version++;
	if (store_resident_update(datadir_store(ca_datadir(other)), &r) != JPKI_OK ||
	    store_commit(datadir_store(ca_datadir(other))) != JPKI_OK) {
		fprintf(stderr, "other writer: %s\n", jpki_errmsg());
		exit(3);
	}
	support_ca_close(&other);
}

static void
test_change_between_groups_is_seen(void)
{
	struct ca_issue_request reqs[2];
	struct ca_issued out[2];
	struct other_writer w = {.die = 0, .done = 0};
	struct ca_stream_options o = {.threads = 1, .group = 1,
	    .on_commit = write_between_groups, .arg = &w};
	struct pki_cert_facts facts;
	size_t committed = 0;
	X509 *x;

	reqs[0] = request(resident_new("東京都清瀬市中里1-1-1"), CERT_SIGN);
	w.resident = resident_new("東京都清瀬市中里2-2-2");
	reqs[1] = request(w.resident, CERT_SIGN);
	CHECK_INT(ca_issue_stream(ca, reqs, 2, out, &o, &committed), JPKI_OK);
	CHECK(committed == 2);
	x = parsed(&out[1]);
	CHECK(x != NULL);
	if (x != NULL) {
		CHECK_INT(pki_cert_facts_read(x, &facts), JPKI_OK);
		CHECK_STR(facts.address, "北海道札幌市中央区1-1");
		pki_cert_facts_free(&facts);
	}
	X509_free(x);
	ca_issued_free(&out[0]);
	ca_issued_free(&out[1]);

	/* A holder who died between the groups gets nothing. */
	memset(&w, 0, sizeof(w));
	w.die = 1;
	reqs[0] = request(resident_new("東京都清瀬市中里3-3-3"), CERT_AUTH);
	w.resident = resident_new("東京都清瀬市中里4-4-4");
	reqs[1] = request(w.resident, CERT_AUTH);
	CHECK(ca_issue_stream(ca, reqs, 2, out, &o, &committed) != JPKI_OK);
	CHECK(strstr(jpki_errmsg(), "request 1") != NULL);
	CHECK(committed == 1);
	ca_issued_free(&out[0]);
	ca_issued_free(&out[1]);
}

/* A responder (the CAs opened with the OCSP keys only, as `jpki serve`
 * opens them) holds no CA key, and the CA's acts are refused on it. */
static void
test_responder_holds_no_ca_key(void)
{
	struct ca *r = NULL;
	struct ca_issue_request q = request(resident_new("東京都清瀬市中里6-6-6"),
	    CERT_AUTH);
	struct ca_issued out;
	long before = cert_count();

	CHECK_INT(support_ca_open(dir, CA_KEYS_OCSP, &r), JPKI_OK);
	if (r == NULL)
		return;
	CHECK(ca_cert(r, CERT_SIGN) != NULL && ca_ocsp_cert(r, CERT_SIGN) != NULL);
	CHECK_INT(ca_issue(r, &q, &out), JPKI_ERR_REFUSED);
	CHECK(strstr(jpki_errmsg(), "responder") != NULL);
	CHECK_INT(ca_revoke(r, "0A", REASON_KEY_COMPROMISE, "test"),
	    JPKI_ERR_REFUSED);
	CHECK_INT(ca_crl_generate(r, CERT_SIGN, CA_CRL_FULL, NULL, NULL),
	    JPKI_ERR_REFUSED);
	CHECK_INT(cert_count(), before);
	support_ca_close(&r);
}

/* R9 inside one issuance: a certificate is renewed once; two requests
 * renewing the same one are refused together, and nothing is issued. */
static void
test_one_renewal_per_certificate(void)
{
	int64_t id = resident_new("東京都清瀬市中里7-7-7");
	struct ca_issue_request q = request(id, CERT_AUTH), two[2];
	struct ca_issued first, out[2];
	char when[26];
	long before;

	CHECK_INT(ca_issue(ca, &q, &first), JPKI_OK);
	/* Inside the renewal window (R9: from 3 months before expiry). */
	iso8601_format_jst(first.not_after - 30 * 86400, when);
	setenv("JPKI_NOW", when, 1);
	two[0] = two[1] = request(id, CERT_AUTH);
	two[0].replaces = two[1].replaces = first.serial;
	before = cert_count();
	CHECK_INT(ca_issue_batch(ca, two, 2, out, 1), JPKI_ERR_REFUSED);
	CHECK(strstr(jpki_errmsg(), "already renewed") != NULL);
	CHECK_INT(cert_count(), before);
	CHECK_INT(ca_issue_batch(ca, two, 1, out, 1), JPKI_OK);
	CHECK_INT(cert_count(), before + 1);
	ca_issued_free(&out[0]);
	ca_issued_free(&first);
	setenv("JPKI_NOW", "2026-11-25T10:00:00+09:00", 1);
}

int
main(void)
{
	char cmd[300];

	setenv("JPKI_NOW", "2026-11-25T10:00:00+09:00", 1);
	if (mkdtemp(dir) == NULL)
		return 3;
	if (support_ca_new(dir, CA_KEYS_CA | CA_KEYS_OCSP, &ca) != JPKI_OK) {
		fprintf(stderr, "%s\n", jpki_errmsg());
		return 3;
	}
	if ((card_key = EVP_RSA_gen(2048)) == NULL)
		return 3;
	test_stream_commits_every_group_and_all_verify();
	test_small_window_wraps();
	test_refusal_keeps_the_groups_before_it();
	test_batch_is_all_or_nothing();
	test_change_between_groups_is_seen();
	test_one_renewal_per_certificate();
	test_responder_holds_no_ca_key();
	EVP_PKEY_free(card_key);
	support_ca_close(&ca);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return test_summary();
}
