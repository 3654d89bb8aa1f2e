/*
 * Interop tests of the pki profiles with real tools: the certificates we
 * build are written to a temporary directory and read by `openssl verify`,
 * `openssl x509` and GnuTLS's `certtool`, as relying parties would.
 *
 * The tools read the system clock, so these certificates are valid around
 * the real time(NULL), not jpki_now().
 */
#include "pki_fixture.h"

#include <openssl/pem.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOOL_OUTPUT_MAX 65536

static char dir[64];
static char tool_out[TOOL_OUTPUT_MAX];
static int failure_expected; /* do not print the output of a refusal */

/* Run a shell command; its stdout and stderr land in tool_out.  Returns the
 * exit status, or -1 if it did not exit normally. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *p;
	size_t n = 0, got;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	tool_out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while (n < sizeof(tool_out) - 1 &&
	    (got = fread(tool_out + n, 1, sizeof(tool_out) - 1 - n, p)) > 0)
		n += got;
	tool_out[n] = '\0';
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	if (WEXITSTATUS(st) != 0 && !failure_expected)
		fprintf(stderr, "    `%s` exited %d:\n%s\n", cmd, WEXITSTATUS(st),
		    tool_out);
	return WEXITSTATUS(st);
}

static int
output_has(const char *s)
{
	return strstr(tool_out, s) != NULL;
}

static void
write_pem(X509 *x, const char *name)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK_INT(PEM_write_X509(f, x), 1);
	fclose(f);
}

static void
test_openssl_verify_accepts_the_chains(void)
{
	CHECK_INT(run("openssl verify -x509_strict -policy_check "
	    "-explicit_policy -policy %s -CAfile %s/sign_ca.pem %s/sign.pem",
	    PKI_OID_POLICY_SIGN, dir, dir), 0);
	CHECK(output_has("sign.pem: OK"));
	CHECK_INT(run("openssl verify -x509_strict -policy_check "
	    "-explicit_policy -policy %s -CAfile %s/auth_ca.pem %s/auth.pem",
	    PKI_OID_POLICY_AUTH, dir, dir), 0);
	CHECK(output_has("auth.pem: OK"));
	CHECK_INT(run("openssl verify -purpose ocsphelper -CAfile %s/sign_ca.pem "
	    "%s/ocsp.pem", dir, dir), 0);
	/* A signing certificate does not chain to the authentication CA. */
	failure_expected = 1;
	CHECK(run("openssl verify -CAfile %s/auth_ca.pem %s/sign.pem", dir,
	    dir) != 0);
	failure_expected = 0;
	CHECK(output_has("unable to get local issuer certificate"));
}

static void
test_openssl_text_shows_the_facts_only_on_signing(void)
{
	char oid[64];

	CHECK_INT(run("openssl x509 -noout -text -in %s/sign.pem", dir), 0);
	for (int i = 1; i <= 6; i++) {
		snprintf(oid, sizeof(oid), "othername: 1.2.392.200149.8.5.5.%d::",
		    i);
		CHECK(output_has(oid));
	}
	CHECK(output_has("X509v3 Key Usage: critical"));
	CHECK(output_has("Digital Signature, Non Repudiation"));
	CHECK(output_has("X509v3 Certificate Policies: critical"));
	CHECK(output_has("Policy: " PKI_OID_POLICY_SIGN));
	CHECK(output_has("CPS: http://openjpki.example/cps.html"));
	CHECK(output_has("OCSP - URI:http://openjpki.example/ocsp/sign"));
	CHECK(output_has("URI:http://openjpki.example/crl/sign-07.crl"));
	CHECK(output_has("Subject: C = JP, L = Tokyo-to, L = Kiyose-shi, "
	    "CN = 20260401ABCD0001"));

	CHECK_INT(run("openssl x509 -noout -text -in %s/auth.pem", dir), 0);
	CHECK(!output_has("1.2.392.200149.8.5.5."));
	CHECK(!output_has("X509v3 Subject Alternative Name"));
	CHECK(output_has("Policy: " PKI_OID_POLICY_AUTH));
	CHECK(output_has("Subject: C = JP, CN = A1B2C3D4E5F60718"));
}

static void
test_openssl_prints_the_serial_as_pki_serial_hex(void)
{
	uint8_t serial[16];
	char hex[64], want[80];

	fixture_serial(serial, 1);
	CHECK_INT(pki_serial_hex(serial, sizeof(serial), hex, sizeof(hex)),
	    JPKI_OK);
	snprintf(want, sizeof(want), "serial=%s\n", hex);
	CHECK_INT(run("openssl x509 -noout -serial -in %s/sign.pem", dir), 0);
	CHECK_STR(tool_out, want);
}

static void
test_gnutls_certtool_parses_and_verifies(void)
{
	char oid[64];

	CHECK_INT(run("certtool -i --infile %s/sign.pem", dir), 0);
	for (int i = 1; i <= 6; i++) {
		snprintf(oid, sizeof(oid), "otherName OID: 1.2.392.200149.8.5.5.%d",
		    i);
		CHECK(output_has(oid));
	}
	CHECK_INT(run("certtool -i --infile %s/auth.pem", dir), 0);
	CHECK(!output_has("otherName"));
	CHECK_INT(run("certtool -i --infile %s/sign_ca.pem", dir), 0);
	CHECK_INT(run("certtool --verify --load-ca-certificate %s/sign_ca.pem "
	    "--infile %s/sign.pem", dir, dir), 0);
	CHECK_INT(run("certtool --verify --load-ca-certificate %s/auth_ca.pem "
	    "--infile %s/auth.pem", dir, dir), 0);
}

int
main(void)
{
	EVP_PKEY *sign_ca_key = fixture_key(), *auth_ca_key = fixture_key();
	EVP_PKEY *card_key = fixture_key(), *ocsp_key = fixture_key();
	X509 *sign_ca = NULL, *auth_ca = NULL, *sign = NULL, *auth = NULL;
	X509 *ocsp = NULL;
	uint8_t s1[16], s2[16], s3[16];
	struct pki_ee_params p;
	int64_t now = (int64_t)time(NULL);
	int64_t nb = now - 3600, na = now + 5 * 365 * 86400LL;

	snprintf(dir, sizeof(dir), "/tmp/jpki-pki-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	CHECK_INT(fixture_ca_cert_build(CERT_SIGN, &our_names, sign_ca_key,
	    ca_serial, 1, nb - 86400, na + 86400, &sign_ca), JPKI_OK);
	CHECK_INT(fixture_ca_cert_build(CERT_AUTH, &our_names, auth_ca_key,
	    ca_serial, 1, nb - 86400, na + 86400, &auth_ca), JPKI_OK);
	if (sign_ca == NULL || auth_ca == NULL)
		return test_summary();
	fixture_serial(s1, 1);
	fixture_serial(s2, 2);
	fixture_serial(s3, 3);
	p = fixture_ee(CERT_SIGN, sign_ca, card_key, s1, nb, na);
	sign = fixture_issue(&p, sign_ca_key);
	p = fixture_ee(CERT_AUTH, auth_ca, card_key, s2, nb, na);
	auth = fixture_issue(&p, auth_ca_key);
	CHECK_INT(fixture_ocsp_cert_build(CERT_SIGN, &our_names, sign_ca,
	    sign_ca_key, ocsp_key, s3, 16, nb, na, &ocsp), JPKI_OK);
	CHECK(sign != NULL && auth != NULL && ocsp != NULL);
	if (sign && auth && ocsp) {
		write_pem(sign_ca, "sign_ca.pem");
		write_pem(auth_ca, "auth_ca.pem");
		write_pem(sign, "sign.pem");
		write_pem(auth, "auth.pem");
		write_pem(ocsp, "ocsp.pem");
		test_openssl_verify_accepts_the_chains();
		test_openssl_text_shows_the_facts_only_on_signing();
		test_openssl_prints_the_serial_as_pki_serial_hex();
		test_gnutls_certtool_parses_and_verifies();
	}
	run("rm -rf %s", dir);

	X509_free(sign_ca);
	X509_free(auth_ca);
	X509_free(sign);
	X509_free(auth);
	X509_free(ocsp);
	EVP_PKEY_free(sign_ca_key);
	EVP_PKEY_free(auth_ca_key);
	EVP_PKEY_free(card_key);
	EVP_PKEY_free(ocsp_key);
	return test_summary();
}
