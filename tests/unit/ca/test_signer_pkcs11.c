/* The key seam over a PKCS#11 token (src/ca/signer_pkcs11.c), on a fresh
 * SoftHSM2 token of the test's own: every operation's signature verifies
 * under the key's public half, the seam's one policy still decides, a key
 * not loaded is not there, a key name is never made twice, threads sign
 * on sessions of their own at once, signers share one login, and a wrong
 * PIN is refused and not tried again.  Skipped (77) without SoftHSM2. */
#include "support/open_ca.h"
#include "test.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN "jpki-unit"
#define PIN "31415926"

static char dir[256], data[300];
static struct datadir *dd;

static const uint8_t tbs[] = {0x30, 0x03, 0x02, 0x01, 0x01};

static int
verifies(EVP_PKEY *pub, const uint8_t *in, size_t len, int digest,
    const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	uint8_t hash[32];
	int ok;

	if (!digest)
		EVP_Digest(in, len, hash, NULL, EVP_sha256(), NULL);
	else
		memcpy(hash, in, 32);
	ok = ctx != NULL && EVP_PKEY_verify_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
	    EVP_PKEY_verify(ctx, sig, sig_len, hash, 32) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* sign with id by op and check the signature under id's public key. */
static int
signs_and_verifies(struct ca_signer *s, struct ca_signer_session *ss,
    struct ca_key_id id, enum ca_sign_op op, const uint8_t *in, size_t len)
{
	uint8_t sig[1024];
	size_t sig_len = sizeof(sig);
	EVP_PKEY *pub = NULL;
	int ok;

	if (ca_signer_sign(ss, id, op, in, len, sig, &sig_len) != JPKI_OK ||
	    ca_signer_public_key(s, id, &pub) != JPKI_OK)
		return 0;
	ok = sig_len == 256 && verifies(pub, in, len,
	    op == CA_SIGN_CRL_DIGEST, sig, sig_len);
	EVP_PKEY_free(pub);
	return ok;
}

static void
test_every_op_verifies_and_the_policy_holds(void)
{
	struct ca_signer *s = NULL;
	struct ca_signer_session *ss = NULL;
	uint8_t digest[32] = {9, 8, 7}, facts[CA_SIGN_CARD_FACTS_LEN] = {1};
	uint8_t sig[1024];
	size_t sig_len = sizeof(sig);

	CHECK_INT(ca_signer_open(dd, CA_KEYS_CA | CA_KEYS_OCSP |
	    CA_KEYS_CARD_ISSUER, &s), JPKI_OK);
	if (s == NULL)
		return;
	CHECK_INT(ca_signer_session_open(s, &ss), JPKI_OK);
	if (ss == NULL)
		return;
	CHECK(signs_and_verifies(s, ss, (struct ca_key_id){CERT_SIGN,
	    CA_KEY_CA, 1}, CA_SIGN_CERT, tbs, sizeof(tbs)));
	CHECK(signs_and_verifies(s, ss, (struct ca_key_id){CERT_AUTH,
	    CA_KEY_CA, 1}, CA_SIGN_CRL_DIGEST, digest, sizeof(digest)));
	CHECK(signs_and_verifies(s, ss, (struct ca_key_id){CERT_AUTH,
	    CA_KEY_OCSP, 1}, CA_SIGN_OCSP, tbs, sizeof(tbs)));
	CHECK(signs_and_verifies(s, ss, CA_KEY_ID_CARD_ISSUER,
	    CA_SIGN_CARD_FACTS, facts, sizeof(facts)));
	/* The seam's policy, whatever holds the keys. */
	CHECK_INT(ca_signer_sign(ss, (struct ca_key_id){CERT_SIGN,
	    CA_KEY_OCSP, 1}, CA_SIGN_CERT, tbs, sizeof(tbs), sig, &sig_len),
	    JPKI_ERR_REFUSED);
	sig_len = sizeof(sig);
	CHECK_INT(ca_signer_sign(ss, CA_KEY_ID_CARD_ISSUER, CA_SIGN_CERT, tbs,
	    sizeof(tbs), sig, &sig_len), JPKI_ERR_REFUSED);
	ca_signer_session_close(&ss);
	ca_signer_close(&s);
}

static void
test_keys_not_loaded_are_not_there(void)
{
	struct ca_signer *s = NULL;
	struct ca_signer_session *ss = NULL;
	uint8_t sig[1024];
	size_t sig_len = sizeof(sig);
	EVP_PKEY *pub = NULL;
	char where[JPKI_PATH_MAX];

	CHECK_INT(ca_signer_open(dd, CA_KEYS_OCSP, &s), JPKI_OK);
	if (s == NULL)
		return;
	CHECK_INT(ca_signer_session_open(s, &ss), JPKI_OK);
	if (ss == NULL)
		return;
	CHECK_INT(ca_signer_public_key(s, (struct ca_key_id){CERT_SIGN,
	    CA_KEY_CA, 1}, &pub), JPKI_ERR_NOTFOUND);
	CHECK_INT(ca_signer_sign(ss, (struct ca_key_id){CERT_SIGN, CA_KEY_CA, 1},
	    CA_SIGN_CERT, tbs, sizeof(tbs), sig, &sig_len), JPKI_ERR_REFUSED);
	CHECK_INT(ca_signer_locate(s, (struct ca_key_id){CERT_SIGN, CA_KEY_CA, 1},
	    where, sizeof(where)), JPKI_OK);
	CHECK(strncmp(where, "pkcs11 module " MODULE " token " TOKEN " id ",
	    strlen("pkcs11 module " MODULE " token " TOKEN " id ")) == 0);
	ca_signer_session_close(&ss);
	ca_signer_close(&s);
}

static void
test_a_key_name_is_never_made_twice(void)
{
	struct ca_signer *s = NULL;
	EVP_PKEY *pub = NULL;
	char path[JPKI_PATH_MAX];
	struct jbuf before, after;

	jbuf_init(&before);
	jbuf_init(&after);
	CHECK_INT(datadir_path(dd, DATADIR_CA_DIR, "pkcs11", path,
	    sizeof(path)), JPKI_OK);
	CHECK_INT(file_read_all(path, 1 << 16, &before), JPKI_OK);
	CHECK_INT(ca_signer_open(dd, 0, &s), JPKI_OK);
	if (s != NULL)
		CHECK_INT(ca_signer_create_key(s, (struct ca_key_id){CERT_SIGN,
		    CA_KEY_CA, 1}, 2048, &pub), JPKI_ERR_CONFLICT);
	CHECK(pub == NULL);
	CHECK_INT(file_read_all(path, 1 << 16, &after), JPKI_OK);
	CHECK(before.len == after.len &&
	    memcmp(before.data, after.data, before.len) == 0);
	ca_signer_close(&s);
	jbuf_free(&before);
	jbuf_free(&after);
}

struct worker {
	struct ca_signer *s;
	int ok;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct ca_signer_session *ss = NULL;
	uint8_t msg[64];

	if (ca_signer_session_open(w->s, &ss) != JPKI_OK)
		return NULL;
	w->ok = 1;
	for (int i = 0; i < 25 && w->ok; i++) {
		memset(msg, i, sizeof(msg));
		msg[0] = 0x30;
		w->ok = signs_and_verifies(w->s, ss, (struct ca_key_id){
		    i % 2 ? CERT_AUTH : CERT_SIGN, CA_KEY_CA, 1}, CA_SIGN_CERT,
		    msg, sizeof(msg));
	}
	ca_signer_session_close(&ss);
	return NULL;
}

static void
test_threads_sign_at_once_and_signers_share_the_login(void)
{
	struct ca_signer *s = NULL, *other = NULL;
	struct worker w[4];
	pthread_t tid[4];

	CHECK_INT(ca_signer_open(dd, CA_KEYS_CA, &s), JPKI_OK);
	/* A second signer of the process: logged in already, the PIN source
	 * is not asked again (it would fail). */
	setenv("JPKI_HSM_PIN", "not-the-pin", 1);
	CHECK_INT(ca_signer_open(dd, CA_KEYS_CA, &other), JPKI_OK);
	setenv("JPKI_HSM_PIN", PIN, 1);
	ca_signer_close(&other);
	if (s == NULL)
		return;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){s, 0};
		CHECK(pthread_create(&tid[i], NULL, worker_main, &w[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		CHECK(w[i].ok);
	}
	ca_signer_close(&s);
}

/* A later generation's keys live in the token beside the first: made
 * through the seam (a rollover), named sign-ca.gen2 in the record, found
 * by the next signer of the directory, signing on their own; discarded,
 * they are gone from the record and from the next signer. */
static void
test_a_later_generation_lives_in_the_token(void)
{
	struct ca_key_id g1 = {CERT_SIGN, CA_KEY_CA, 1};
	struct ca_key_id g2 = {CERT_SIGN, CA_KEY_CA, 2};
	struct ca_signer *s = NULL;
	struct ca_signer_session *ss = NULL;
	EVP_PKEY *pub = NULL, *pub1 = NULL;
	char path[JPKI_PATH_MAX];
	struct jbuf rec;

	jbuf_init(&rec);
	CHECK_INT(ca_signer_open(dd, CA_KEYS_CA, &s), JPKI_OK);
	if (s == NULL)
		return;
	CHECK_INT(ca_signer_create_key(s, g2, 2048, &pub), JPKI_OK);
	EVP_PKEY_free(pub);
	pub = NULL;
	ca_signer_close(&s);
	CHECK_INT(datadir_path(dd, DATADIR_CA_DIR, "pkcs11", path,
	    sizeof(path)), JPKI_OK);
	CHECK_INT(file_read_all(path, 1 << 16, &rec), JPKI_OK);
	CHECK(memmem(rec.data, rec.len, "key sign-ca.gen2 = ", 19) != NULL);
	jbuf_free(&rec);
	CHECK_INT(ca_signer_open(dd, CA_KEYS_CA, &s), JPKI_OK);
	if (s == NULL)
		return;
	CHECK_INT(ca_signer_session_open(s, &ss), JPKI_OK);
	if (ss != NULL) {
		CHECK(signs_and_verifies(s, ss, g2, CA_SIGN_CERT, tbs,
		    sizeof(tbs)));
		CHECK_INT(ca_signer_public_key(s, g1, &pub1), JPKI_OK);
		CHECK_INT(ca_signer_public_key(s, g2, &pub), JPKI_OK);
		CHECK(pub != NULL && pub1 != NULL && EVP_PKEY_eq(pub, pub1) != 1);
		EVP_PKEY_free(pub);
		EVP_PKEY_free(pub1);
		pub = NULL;
	}
	ca_signer_session_close(&ss);
	CHECK_INT(ca_signer_discard_key(s, g2), JPKI_OK);
	CHECK_INT(ca_signer_public_key(s, g2, &pub), JPKI_ERR_NOTFOUND);
	ca_signer_close(&s);
	jbuf_init(&rec);
	CHECK_INT(file_read_all(path, 1 << 16, &rec), JPKI_OK);
	CHECK(memmem(rec.data, rec.len, "sign-ca.gen2", 12) == NULL);
	jbuf_free(&rec);
	CHECK_INT(ca_signer_open(dd, CA_KEYS_CA, &s), JPKI_OK);
	if (s != NULL)
		CHECK_INT(ca_signer_public_key(s, g2, &pub),
		    JPKI_ERR_NOTFOUND);
	ca_signer_close(&s);
}

static void
test_a_wrong_pin_is_refused(void)
{
	struct ca_signer *s = NULL;

	/* No signer open: the module is finalised and this one logs in. */
	unsetenv("JPKI_HSM_PIN");
	CHECK_INT(ca_signer_open(dd, CA_KEYS_OCSP, &s), JPKI_ERR_REFUSED);
	setenv("JPKI_HSM_PIN", "27182818", 1);
	CHECK_INT(ca_signer_open(dd, CA_KEYS_CA, &s), JPKI_ERR_PIN);
	CHECK(s == NULL);
	/* Each try counts towards locking the token: once refused, this
	 * process does not try it again, whatever PIN it would give. */
	setenv("JPKI_HSM_PIN", PIN, 1);
	CHECK_INT(ca_signer_open(dd, CA_KEYS_CA, &s), JPKI_ERR_PIN);
	CHECK(strstr(jpki_errmsg(), "not tried again") != NULL);
	/* Readers need neither the token nor the PIN. */
	CHECK_INT(ca_signer_open(dd, 0, &s), JPKI_OK);
	ca_signer_close(&s);
}

int
main(void)
{
	struct datadir_init_options o = {0};
	struct datadir *made = NULL;
	char path[600], cmd[1200];
	FILE *f;

	if (access(MODULE, R_OK) != 0 ||
	    system("command -v softhsm2-util >/dev/null 2>&1") != 0) {
		printf("no SoftHSM2: skipped\n");
		return 77;
	}
	snprintf(dir, sizeof(dir), "/tmp/jpki-test-signer-p11-%d",
	    (int)getpid());
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(path, sizeof(path), "%s/tokens", dir);
	mkdir(dir, 0700);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = "
	    "file\nlog.level = ERROR\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	setenv("JPKI_HSM_PIN", PIN, 1);
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label "
	    TOKEN " --pin " PIN " --so-pin 27182818 >/dev/null");
	CHECK(system(cmd) == 0);
	CHECK_INT(datadir_create(data, &o, &made), JPKI_OK);
	if (made != NULL) {
		CHECK_INT(ca_signer_pkcs11_setup(made, MODULE, TOKEN), JPKI_OK);
		CHECK_INT(ca_create(made), JPKI_OK);
		CHECK_INT(datadir_create_finish(made), JPKI_OK);
		datadir_close(&made);
	}
	CHECK_INT(datadir_open(data, DATADIR_READ_ONLY, &dd), JPKI_OK);
	if (dd != NULL && ca_signer_pkcs11_used(dd)) {
		test_every_op_verifies_and_the_policy_holds();
		test_keys_not_loaded_are_not_there();
		test_a_key_name_is_never_made_twice();
		test_threads_sign_at_once_and_signers_share_the_login();
		test_a_later_generation_lives_in_the_token();
		test_a_wrong_pin_is_refused();
	} else {
		CHECK(!"a data directory with its keys in the token");
	}
	datadir_close(&dd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
