/* Several signatures in one round trip to `jpki signer` (ca_signer_sign_many,
 * signer_remote.c's sign_many, the daemon's held-back answers): a stream of
 * issuance through a signer forked here gives certificates that verify
 * under the CA's certificate, and a batch that mixes requests the seam
 * refuses, the signer refuses and the signer signs gives each its own
 * outcome, in its own place. */
#include "support/fork_signer.h"
#include "support/open_ca.h"
#include "ca/signer.h"
#include "pki/pki.h"
#include "test.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STREAM 14               /* more than a few chunks of SIGN_CHUNK */

static char dir[256], data[300], keys[300], sock[300];

static void
test_stream_through_the_signer(struct ca *ca, struct ca_issued *out)
{
	struct ca_issue_request reqs[STREAM];
	struct ca_stream_options so = {0};
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *cacert = NULL;
	size_t committed = 0;
	int64_t id = 0;
	char path[400];
	FILE *f;

	memset(reqs, 0, sizeof(reqs));
	for (int i = 0; i < STREAM; i++) {
		if (i % 2 == 0)
			CHECK_INT(support_resident_add(ca, 1000 + i,
			    "東京都千代田区千代田1-1", &id), JPKI_OK);
		reqs[i].resident_id = id;
		reqs[i].type = i % 2 ? CERT_AUTH : CERT_SIGN;
		reqs[i].pub = key;
		reqs[i].actor = "test";
	}
	so.threads = 2;
	so.group = 5;
	CHECK_INT(ca_issue_stream(ca, reqs, STREAM, out, &so, &committed),
	    JPKI_OK);
	CHECK(committed == STREAM);
	/* Each certificate is signed by its CA's key, whatever its place in
	 * the batches. */
	for (int i = 0; i < STREAM; i++) {
		const uint8_t *p = out[i].der;
		X509 *x = p != NULL ? d2i_X509(NULL, &p, (long)out[i].der_len) :
		    NULL;

		snprintf(path, sizeof(path), "%s/ca/%s-ca.pem", data,
		    i % 2 ? "auth" : "sign");
		if ((f = fopen(path, "r")) != NULL) {
			cacert = PEM_read_X509(f, NULL, NULL, NULL);
			fclose(f);
		}
		CHECK(x != NULL && cacert != NULL &&
		    X509_verify(x, X509_get0_pubkey(cacert)) == 1);
		X509_free(x);
		X509_free(cacert);
		cacert = NULL;
	}
	EVP_PKEY_free(key);
}

/* The TBSCertificate of a certificate. */
static void
tbs_of(const struct ca_issued *c, uint8_t **tbs, size_t *len)
{
	const uint8_t *p = c->der;
	X509 *x = d2i_X509(NULL, &p, (long)c->der_len);

	*tbs = NULL;
	*len = 0;
	if (x != NULL)
		CHECK_INT(pki_cert_tbs(x, tbs, len), JPKI_OK);
	X509_free(x);
}

static void
test_each_item_its_own_outcome(struct ca *ca, const struct ca_issued *out)
{
	struct ca_signer *s = NULL;
	struct ca_signer_session *ss = NULL;
	struct ca_sign_item items[4];
	uint8_t sigs[4][512];
	uint8_t *tbs = NULL;
	size_t len = 0;
	static const uint8_t digest[32] = {1, 2, 3};

	tbs_of(&out[0], &tbs, &len);
	CHECK_INT(ca_signer_open_remote(datadir_config(ca_datadir(ca)),
	    data, CA_KEYS_CA | CA_KEYS_OCSP, &s), JPKI_OK);
	if (s == NULL || tbs == NULL)
		return;
	CHECK_INT(ca_signer_session_open(s, &ss), JPKI_OK);
	memset(items, 0, sizeof(items));
	for (int k = 0; k < 4; k++) {
		items[k].sig = sigs[k];
		items[k].sig_len = sizeof(sigs[k]);
	}
	/* 0: a certificate it signed before: the signer refuses it. */
	items[0].id = (struct ca_key_id){CERT_SIGN, CA_KEY_CA, 1};
	items[0].op = CA_SIGN_CERT;
	items[0].in = tbs;
	items[0].len = len;
	/* 1: a digest with a CA key: the seam refuses it here, unsent. */
	items[1].id = (struct ca_key_id){CERT_SIGN, CA_KEY_CA, 1};
	items[1].op = CA_SIGN_OCSP;
	items[1].in = digest;
	items[1].len = sizeof(digest);
	/* 2: a generation the signer does not have. */
	items[2].id = (struct ca_key_id){CERT_SIGN, CA_KEY_CA, 2};
	items[2].op = CA_SIGN_CERT;
	items[2].in = tbs;
	items[2].len = len;
	/* 3: its caller failed it already: left as it is. */
	items[3].r = JPKI_ERR_INPUT;
	snprintf(items[3].why, sizeof(items[3].why), "the caller's own");
	CHECK_INT(ca_signer_sign_many(ss, items, 4), JPKI_OK);
	CHECK_INT(items[0].r, JPKI_ERR_REFUSED);
	CHECK(strstr(items[0].why, "was signed before") != NULL);
	CHECK_INT(items[1].r, JPKI_ERR_REFUSED);
	CHECK(items[1].why[0] != '\0' &&
	    strstr(items[1].why, "was signed before") == NULL);
	CHECK_INT(items[2].r, JPKI_ERR_NOTFOUND);
	CHECK(strstr(items[2].why, "no generation 2") != NULL);
	CHECK_INT(items[3].r, JPKI_ERR_INPUT);
	CHECK(strcmp(items[3].why, "the caller's own") == 0);
	/* The connection is still good: one more on it. */
	items[0].r = JPKI_OK;
	items[0].sig_len = sizeof(sigs[0]);
	CHECK_INT(ca_signer_sign_many(ss, items, 1), JPKI_OK);
	CHECK_INT(items[0].r, JPKI_ERR_REFUSED);
	ca_signer_session_close(&ss);
	ca_signer_close(&s);
	OPENSSL_free(tbs);
}

int
main(void)
{
	struct datadir_init_options o = {0};
	struct ca_issued out[STREAM];
	struct ca *ca = NULL;
	pid_t signer;
	int st;

	memset(out, 0, sizeof(out));
	snprintf(dir, sizeof(dir), "/tmp/jpki-test-signer-batch-%d",
	    (int)getpid());
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	snprintf(sock, sizeof(sock), "%s/signer.sock", dir);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK_INT(support_datadir_init(data, &o), JPKI_OK);
	signer = support_signer_fork(data, keys, sock);
	CHECK(signer > 0);
	if (signer > 0) {
		CHECK_INT(support_ca_open(data, CA_KEYS_CA, &ca), JPKI_OK);
		if (ca != NULL) {
			test_stream_through_the_signer(ca, out);
			test_each_item_its_own_outcome(ca, out);
		}
		support_ca_close(&ca);
		kill(signer, SIGTERM);
		CHECK(waitpid(signer, &st, 0) == signer && WIFEXITED(st) &&
		    WEXITSTATUS(st) == 0);
	}
	for (int i = 0; i < STREAM; i++)
		ca_issued_free(&out[i]);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary();
}
