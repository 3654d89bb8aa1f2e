/*
 * issue_forever: issues certificates in batches until killed (for the
 * crash test).  usage: issue_forever DATA_DIR PUBKEY.pem RESIDENT_ID...
 * Prints "committed N" after each committed batch.
 */
#include "ca/ca.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH 8

int
main(int argc, char **argv)
{
	struct ca_issue_request reqs[BATCH];
	struct ca *ca = NULL;
	EVP_PKEY *pub;
	FILE *f;
	long committed = 0;

	if (argc < 4)
		return 2;
	if ((f = fopen(argv[2], "r")) == NULL ||
	    (pub = PEM_read_PUBKEY(f, NULL, NULL, NULL)) == NULL)
		return 2;
	fclose(f);
	if (ca_open(argv[1], &ca) != JPKI_OK) {
		fprintf(stderr, "%s\n", jpki_errmsg());
		return 3;
	}
	for (long round = 0;; round++) {
		for (int i = 0; i < BATCH; i++) {
			reqs[i].resident_id = atoll(argv[3 + (round + i) %
			    (argc - 3)]);
			reqs[i].type = i % 2 ? CERT_AUTH : CERT_SIGN;
			reqs[i].pub = pub;
			reqs[i].card_expiry = (struct jdate){0, 0, 0};
			reqs[i].card_id = 0;
			reqs[i].replaces = NULL;
			reqs[i].actor = "crash-test";
		}
		if (ca_issue_batch(ca, reqs, BATCH, NULL, 2) != JPKI_OK) {
			fprintf(stderr, "%s\n", jpki_errmsg());
			return 3;
		}
		committed += BATCH;
		printf("committed %ld\n", committed);
		fflush(stdout);
	}
}
