/*
 * bench_lint.c: what the profile check costs `jpki signer` per certificate
 * (ca_lint_tbs_cert, run on every TBSCertificate before it is signed),
 * beside what the signature itself costs (RSA-2048, sha256WithRSA, the
 * CA's own key), both measured in this run on one core.  The signer's
 * throughput is bounded by their sum (issue 9: through the signer >= 0.7x
 * of the RSA limit), so the check must stay a small part of it.
 *
 * usage: bench_lint [ROUNDS]
 */
#include "bench_util.h"
#include "support/open_ca.h"
#include "ca/ca_impl.h"
#include "pki/pki.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A TBSCertificate of each type as the CA makes them. */
static int
tbs_of_type(struct ca *ca, enum cert_type t, int64_t resident, EVP_PKEY *key,
    uint8_t **tbs, size_t *len)
{
	struct ca_issue_request req;
	struct ca_issued out;
	const uint8_t *p;
	X509 *x;
	int r;

	memset(&req, 0, sizeof(req));
	req.resident_id = resident;
	req.type = t;
	req.pub = key;
	req.actor = "bench";
	if ((r = ca_issue(ca, &req, &out)) != JPKI_OK)
		return r;
	p = out.der;
	x = d2i_X509(NULL, &p, (long)out.der_len);
	r = x != NULL ? pki_cert_tbs(x, tbs, len) : JPKI_ERR_CRYPTO;
	X509_free(x);
	ca_issued_free(&out);
	return r;
}

int
main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 4000;
	char dir[] = "/tmp/jpki-bench-lint-XXXXXX", data[64], path[128];
	char serial[SERIAL_HEX_MAX];
	struct ca *ca = NULL;
	EVP_PKEY *key = NULL, *cakey = NULL;
	uint8_t *tbs[2] = {NULL, NULL}, sig[512];
	size_t len[2], sig_len;
	int64_t resident, now;
	double t0, lint_us[2], sign_us;
	FILE *f;
	int r;

	if (rounds <= 0 || mkdtemp(dir) == NULL)
		return 2;
	snprintf(data, sizeof(data), "%s/data", dir);
	if ((r = support_ca_new(data, CA_KEYS_CA, &ca)) != JPKI_OK ||
	    (r = support_resident_add(ca, 1, "東京都千代田区千代田1-1",
	    &resident)) != JPKI_OK || (key = EVP_RSA_gen(2048)) == NULL ||
	    (r = tbs_of_type(ca, CERT_SIGN, resident, key, &tbs[0],
	    &len[0])) != JPKI_OK ||
	    (r = tbs_of_type(ca, CERT_AUTH, resident, key, &tbs[1],
	    &len[1])) != JPKI_OK) {
		fprintf(stderr, "bench: lint: %s\n", jpki_errmsg());
		return 3;
	}
	now = jpki_now();
	for (int t = 0; t < 2; t++) {
		enum cert_type type = t == 0 ? CERT_SIGN : CERT_AUTH;

		t0 = bench_seconds();
		for (long i = 0; i < rounds; i++)
			if ((r = ca_lint_tbs_cert(ca, type, 1, tbs[t], len[t],
			    now, serial)) != JPKI_OK) {
				fprintf(stderr, "bench: lint: %s\n",
				    jpki_errmsg());
				return 3;
			}
		lint_us[t] = 1e6 * (bench_seconds() - t0) / (double)rounds;
	}
	/* The signature the signer then makes: the CA key, from its file. */
	snprintf(path, sizeof(path), "%s/ca/sign-ca.key", data);
	if ((f = fopen(path, "r")) == NULL ||
	    (cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "bench: lint: %s: no key\n", path);
		return 3;
	}
	fclose(f);
	t0 = bench_seconds();
	for (long i = 0; i < rounds / 4; i++) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		sig_len = sizeof(sig);
		if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(),
		    NULL, cakey) != 1 || EVP_DigestSign(md, sig, &sig_len,
		    tbs[0], len[0]) != 1) {
			fprintf(stderr, "bench: lint: the signature failed\n");
			return 3;
		}
		EVP_MD_CTX_free(md);
	}
	sign_us = 1e6 * (bench_seconds() - t0) / (double)(rounds / 4);
	printf("bench: lint: %ld checks of each type, one core\n", rounds);
	printf("bench: lint-sign %.1f us per TBSCertificate (%zu bytes) vs "
	    "rsa2048-sign %.1f us = %.3fx\n", lint_us[0], len[0], sign_us,
	    lint_us[0] / sign_us);
	printf("bench: lint-auth %.1f us per TBSCertificate (%zu bytes) vs "
	    "rsa2048-sign %.1f us = %.3fx\n", lint_us[1], len[1], sign_us,
	    lint_us[1] / sign_us);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	OPENSSL_free(tbs[0]);
	OPENSSL_free(tbs[1]);
	support_ca_close(&ca);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench: could not remove %s\n", dir);
	}
	return 0;
}
