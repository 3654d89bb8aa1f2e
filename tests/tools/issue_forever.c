/*
 * issue_forever: registers residents and issues them certificates in
 * batches until killed (for the crash test).
 * usage: issue_forever DATA_DIR PUBKEY.pem
 * Prints "committed N" after each committed batch of certificates.
 */
#include "support/open_ca.h"
#include "ca/ca.h"
#include "counter/counter.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 8   /* certificates: a signing and an auth for 4 residents */

int
main(int argc, char **argv)
{
	struct ca_issue_request reqs[BATCH];
	struct ca *ca = NULL;
	EVP_PKEY *pub;
	FILE *f;
	long committed = 0, serial = 0;

	if (argc != 3)
		return 2;
	if ((f = fopen(argv[2], "r")) == NULL ||
	    (pub = PEM_read_PUBKEY(f, NULL, NULL, NULL)) == NULL)
		return 2;
	fclose(f);
	if (support_ca_open(argv[1], CA_KEYS_CA | CA_KEYS_OCSP, &ca) != JPKI_OK) {
		fprintf(stderr, "%s\n", jpki_errmsg());
		return 3;
	}
	/* Continue numbering after the residents of earlier runs. */
	if (store_resident_count(datadir_store(ca_datadir(ca)), &serial) != JPKI_OK)
		return 3;
	for (;;) {
		char csv[1024];
		size_t len = 0;
		long added;

		len += (size_t)snprintf(csv + len, sizeof(csv) - len,
		    "number,name,address,birth,gender\n");
		for (int i = 0; i < BATCH / 2; i++) {
			char number[24];

			snprintf(number, sizeof(number), "%011ld",
			    20000000000L + serial++);
			number[11] = (char)('0' +
			    rules_individual_number_check_digit(number));
			number[12] = '\0';
			len += (size_t)snprintf(csv + len, sizeof(csv) - len,
			    "%s,山田 太郎,東京都千代田区千代田1-1,1980-05-05,"
			    "male\n", number);
		}
		if (counter_register_import_csv(ca_datadir(ca), csv, len,
		    "crash-test", &added)) {
			fprintf(stderr, "%s\n", jpki_errmsg());
			return 3;
		}
		memset(reqs, 0, sizeof(reqs));
		for (int i = 0; i < BATCH; i++) {
			char number[24];
			struct resident res;

			snprintf(number, sizeof(number), "%011ld",
			    20000000000L + serial - BATCH / 2 + i / 2);
			number[11] = (char)('0' +
			    rules_individual_number_check_digit(number));
			number[12] = '\0';
			if (store_resident_by_number(datadir_store(ca_datadir(ca)), number, &res))
				return 3;
			reqs[i].resident_id = res.id;
			reqs[i].type = i % 2 ? CERT_AUTH : CERT_SIGN;
			reqs[i].pub = pub;
			reqs[i].actor = "crash-test";
		}
		if (ca_issue_batch(ca, reqs, BATCH, NULL, 2) != JPKI_OK) {
			/* Its signer went away (test_signer.sh): say so, and
			 * leave as a process that ends should. */
			fprintf(stderr, "%s\n", jpki_errmsg());
			support_ca_close(&ca);
			EVP_PKEY_free(pub);
			return 3;
		}
		committed += BATCH;
		printf("committed %ld\n", committed);
		fflush(stdout);
	}
}
