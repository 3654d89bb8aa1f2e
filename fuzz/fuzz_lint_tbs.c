/*
 * fuzz_lint_tbs: the signer's profile check (ca_lint_tbs_cert, lint.c) on
 * arbitrary bytes as a TBSCertificate, against the signing CA and the
 * authentication CA of one data directory made at the first input (its
 * CAs opened without keys, as the check needs none).  The first byte
 * picks how the rest is used: even, as the TBSCertificate itself; odd,
 * written over a good TBSCertificate of that CA (one of each type, made
 * at the first input) at the offset its next two bytes give, so that
 * changes reach the checks that come after the issuer and the CA's key
 * identifier, which bytes made against another CA never pass.
 * Whatever the bytes, the check answers OK or a refusal and reads only
 * inside them; on OK the serial it reports is hex of at most 20 octets.
 * Seeds: fuzz/corpus/fuzz_lint_tbs/.
 */
#include "support/open_ca.h"
#include "ca/ca_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ca *ca;
static int64_t now;
static uint8_t *good[2];
static size_t good_len[2];

static const struct pki_holder_facts facts = {
    .name = "山田\xE3\x80\x80太郎", .name_flags = "00000", .gender = 1,
    .birth = "319801231", .address = "東京都清瀬市中里五丁目842番地",
    .address_flags = "0000000000000000",
};

/* A TBSCertificate of type t as the CA makes them, into good[i]. */
static void
make_good(int i, enum cert_type t, EVP_PKEY *key)
{
	uint8_t serial[16] = {0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	    14, 15};
	struct pki_ee_params ep = {0};
	char crl[PKI_URI_MAX];
	X509 *x = NULL;

	ca_crl_uri(ca, t, 1, 3, crl, sizeof(crl));
	ep.type = t;
	ep.serial = serial;
	ep.serial_len = sizeof(serial);
	ep.not_before = now;
	ep.not_after = now + 365 * 86400;
	ep.subject_pub = key;
	ep.ca_cert = ca_gen_cert(ca, t, 1);
	ep.names = &ca->names;
	ep.pref_romaji = "Tokyo-to";
	ep.city_romaji = "Kiyose-shi";
	ep.cn = "FUZZ";
	ep.facts = t == CERT_SIGN ? &facts : NULL;
	ep.test_policy = ca->config.test_policy;
	ep.cps_uri = ca->config.cps_uri;
	ep.crl_uri = crl;
	if (pki_ee_cert_build(&ep, &x) != JPKI_OK ||
	    pki_cert_tbs(x, &good[i], &good_len[i]) != JPKI_OK ||
	    ca_lint_tbs_cert(ca, t, 1, good[i], good_len[i], now,
	    (char[SERIAL_HEX_MAX]){0}) != JPKI_OK) {
		fprintf(stderr, "fuzz_lint_tbs: %s\n", jpki_errmsg());
		abort();
	}
	X509_free(x);
}

static char data_dir[64];

static void
remove_data_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_lint_tbs: could not remove %s\n",
		    data_dir);
}

static void
setup(void)
{
	EVP_PKEY *key;

	snprintf(data_dir, sizeof(data_dir), "/tmp/jpki-fuzz-lint-%d",
	    (int)getpid());
	if (support_ca_new(data_dir, CA_KEYS_NONE, &ca) != JPKI_OK ||
	    (key = EVP_RSA_gen(2048)) == NULL) {
		fprintf(stderr, "fuzz_lint_tbs: %s\n", jpki_errmsg());
		abort();
	}
	atexit(remove_data_dir);
	now = jpki_now();               /* not before the CA's notBefore */
	make_good(0, CERT_SIGN, key);
	make_good(1, CERT_AUTH, key);
	EVP_PKEY_free(key);
}

static void
check(const uint8_t *tbs, size_t len)
{
	char serial[SERIAL_HEX_MAX];

	for (int t = 0; t < 2; t++) {
		int r = ca_lint_tbs_cert(ca, t == 0 ? CERT_SIGN : CERT_AUTH, 1,
		    tbs, len, now, serial);

		if (r != JPKI_OK && r != JPKI_ERR_REFUSED)
			__builtin_trap();
		if (r == JPKI_OK && (serial[0] == '\0' ||
		    strlen(serial) > 2 * PKI_SERIAL_MAX))
			__builtin_trap();
		jpki_errclear();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b;
	size_t len, at;
	int i;

	if (ca == NULL)
		setup();
	if (size == 0)
		return 0;
	if (!(data[0] & 1)) {
		/* Exactly size - 1 bytes, so that ASan sees a read past. */
		len = size - 1;
		if ((b = malloc(len > 0 ? len : 1)) == NULL)
			return 0;
		memcpy(b, data + 1, len);
		check(len > 0 ? b : NULL, len);
		free(b);
		return 0;
	}
	if (size < 3)
		return 0;
	i = (data[0] >> 1) & 1;
	len = good_len[i];
	at = (size_t)(data[1] << 8 | data[2]) % len;
	if ((b = malloc(len)) == NULL)
		return 0;
	memcpy(b, good[i], len);
	memcpy(b + at, data + 3, size - 3 < len - at ? size - 3 : len - at);
	check(b, len);
	free(b);
	return 0;
}
