/*
 * bench_issuance.c: certificates per second issued into a durable store,
 * beside the machine's RSA-2048 signing limit measured in the same run
 * (`openssl speed rsa2048` signs/s x cores).  Target (design.md): >= 75 %.
 *
 * It creates a throwaway data directory, registers residents, pre-makes
 * RSA-2048 public keys (as cards would generate them), and issues through
 * ca_issue_stream() with cores - 1 signing threads plus the calling one,
 * committing every GROUP certificates with synchronous=FULL: a certificate
 * counts once its group is committed to disk.  The machine's speed drifts
 * (shared hosts), so the limit is measured just before and just after
 * issuing, and their mean is the baseline.
 *
 * Then the same through `jpki signer` (issuance-signer): a second data
 * directory whose key files are moved out to a directory only a signer
 * process (forked here, ca_signer_serve) reads, with `signer = unix:...`
 * in its config, so every signature crosses the socket and passes the
 * signer's profile check and serial record.  Its baseline is the same
 * RSA limit: the signer does the signing on the same cores.
 *
 * Then the same with every key in a SoftHSM2 token (signer_pkcs11.c): a
 * fresh token under a SOFTHSM2_CONF of the bench's own, a data directory
 * made with it, and COUNT/4 certificates issued the same way, beside the
 * token's own raw signing rate (C_Sign with CKM_SHA256_RSA_PKCS over a
 * TBSCertificate-sized message, one session per core, in a loop) measured
 * before and after in the same run.  Target (issue 9): >= 0.6x.
 *
 * usage: bench_issuance [COUNT] [GROUP]
 */
#include "bench_util.h"
#include "support/fork_signer.h"
#include "support/open_ca.h"
#include "ca/ca.h"
#include "counter/counter.h"

#include <p11-kit/pkcs11.h>

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEYS 16
#define HSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define HSM_TOKEN "jpki-bench"
#define HSM_PIN "31415926"
#define TBS_LEN 1300            /* about a JPKI TBSCertificate */
#define LIMIT_SECONDS 3.0

/* openssl speed's RSA-2048 signs per second on one core. */
static double
openssl_sign_rate(void)
{
	/* -elapsed: per wall-clock second, as our own figure is. */
	FILE *p = popen("openssl speed -elapsed -seconds 3 rsa2048 2>/dev/null",
	    "r");
	char line[512];
	double rate = 0, sign_s, verify_s, sps, vps;

	if (p == NULL)
		return 0;
	while (fgets(line, sizeof(line), p) != NULL)
		if (sscanf(line, "rsa 2048 bits %lfs %lfs %lf %lf", &sign_s,
		    &verify_s, &sps, &vps) == 4)
			rate = sps;
	pclose(p);
	return rate;
}

struct run {
	long done;
	double elapsed, cpu;
};

/* cores - 1 signing threads: the calling thread records and signs too, so
 * no core is oversubscribed. */
static int
in_process_threads(long cores)
{
	return cores > 1 ? (int)cores - 1 : 1;
}

/* Issue count certificates (sign and auth for count/2 residents) into the
 * CAs of ca through ca_issue_stream(), committing batch at a time, with
 * `threads` signing threads besides the calling one. */
static int
issue_run(struct ca *ca, long count, long batch, int threads,
    struct run *out)
{
	struct ca_issue_request *reqs;
	EVP_PKEY *keys[KEYS];
	struct ca_stream_options so = {0};
	size_t committed = 0;
	long residents = (count + 1) / 2;
	double t0, c0;
	int r;

	/* One resident per signing + auth pair (R8: one valid certificate of
	 * each type per holder), registered in one import; ids of a fresh
	 * register start at 1. */
	if ((r = bench_register_residents(ca, 10000000000L, residents)))
		return r;
	for (int i = 0; i < KEYS; i++)
		if ((keys[i] = EVP_RSA_gen(2048)) == NULL)
			return JPKI_ERR_CRYPTO;
	if ((reqs = calloc((size_t)count, sizeof(*reqs))) == NULL)
		return JPKI_ERR_NOMEM;
	for (long i = 0; i < count; i++) {
		reqs[i].resident_id = i / 2 + 1;
		reqs[i].type = i % 2 ? CERT_AUTH : CERT_SIGN;
		reqs[i].pub = keys[i % KEYS];
		reqs[i].actor = "bench";
	}
	store_set_durable(datadir_store(ca_datadir(ca)), 1);

	t0 = bench_seconds();
	c0 = bench_cpu_seconds(RUSAGE_SELF);
	so.threads = threads;
	so.group = (size_t)batch;
	r = ca_issue_stream(ca, reqs, (size_t)count, NULL, &so, &committed);
	if (r == JPKI_OK && committed != (size_t)count)
		r = JPKI_ERR_INTERNAL;
	out->done = (long)committed;
	out->elapsed = bench_seconds() - t0;
	out->cpu = bench_cpu_seconds(RUSAGE_SELF) - c0;
	for (int i = 0; i < KEYS; i++)
		EVP_PKEY_free(keys[i]);
	free(reqs);
	return r;
}

/* ---- through jpki signer ------------------------------------------------- */

/* The same stream through a forked jpki signer: its figures into run, the
 * signer's CPU into *signer_cpu. */
static int
bench_signer(const char *dir, long count, long batch, long cores,
    struct run *run, double *signer_cpu)
{
	struct datadir_init_options o;
	char data[512], keys[512], sock[512];
	struct ca *ca = NULL;
	double child0;
	pid_t signer;
	int r, st;

	*signer_cpu = 0;
	snprintf(data, sizeof(data), "%s/signer-data", dir);
	snprintf(keys, sizeof(keys), "%s/signer-keys", dir);
	snprintf(sock, sizeof(sock), "%s/signer.sock", dir);
	memset(&o, 0, sizeof(o));
	if ((r = support_datadir_init(data, &o)) != JPKI_OK)
		return r;
	/* The signer's CPU: what the children used once it is waited for. */
	child0 = bench_cpu_seconds(RUSAGE_CHILDREN);
	if ((signer = support_signer_fork(data, keys, sock)) < 0)
		return jpki_fail(JPKI_ERR_IO, "the signer did not start");
	/* The signing threads mostly wait on the socket, so twice as many as
	 * cores keep the signer's cores busy. */
	if ((r = support_ca_open(data, CA_KEYS_CA, &ca)) == JPKI_OK)
		r = issue_run(ca, count, batch, 2 * (int)cores, run);
	support_ca_close(&ca);
	kill(signer, r == JPKI_OK ? SIGTERM : SIGKILL);
	waitpid(signer, &st, 0);
	*signer_cpu = bench_cpu_seconds(RUSAGE_CHILDREN) - child0;
	if (r == JPKI_OK && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		r = jpki_fail(JPKI_ERR_INTERNAL, "the signer ended badly");
	return r;
}

/* ---- the token's own signing rate ---------------------------------------- */

struct limit_thread {
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	double until;
	long signs;
	int failed;
};

/* One session signing TBS-sized messages with the sign CA's key until
 * the deadline. */
static void *
limit_main(void *arg)
{
	struct limit_thread *t = arg;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	char label[] = "openjpki sign-ca";
	CK_ATTRIBUTE find[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_LABEL, label, sizeof(label) - 1},
	};
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	CK_OBJECT_HANDLE key;
	CK_SESSION_HANDLE h;
	CK_ULONG n = 0;
	uint8_t msg[TBS_LEN], sig[1024];

	memset(msg, 0x5a, sizeof(msg));
	if (t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, &h) !=
	    CKR_OK) {
		t->failed = 1;
		return NULL;
	}
	if (t->f->C_FindObjectsInit(h, find, 2) != CKR_OK ||
	    t->f->C_FindObjects(h, &key, 1, &n) != CKR_OK || n != 1)
		t->failed = 1;
	t->f->C_FindObjectsFinal(h);
	while (!t->failed && bench_seconds() < t->until) {
		CK_ULONG len = sizeof(sig);

		msg[t->signs % TBS_LEN] ^= 1;
		if (t->f->C_SignInit(h, &mech, key) != CKR_OK ||
		    t->f->C_Sign(h, msg, sizeof(msg), sig, &len) != CKR_OK)
			t->failed = 1;
		else
			t->signs++;
	}
	t->f->C_CloseSession(h);
	return NULL;
}

/* Signs per second of the token, `cores` sessions in parallel; 0 if it
 * cannot be measured.  No signer of ours may be open meanwhile (this
 * initialises and finalises the module itself). */
static double
token_sign_rate(long cores)
{
	CK_C_INITIALIZE_ARGS args;
	CK_C_GetFunctionList get;
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE login;
	struct limit_thread t[16];
	pthread_t tid[16];
	double t0, rate = 0;
	long signs = 0;
	int found = 0, failed = 0;
	void *dl;

	if (cores > 16)
		cores = 16;
	if ((dl = dlopen(HSM_MODULE, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return 0;
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	if (get == NULL || get(&f) != CKR_OK || f->C_Initialize(&args) != CKR_OK) {
		dlclose(dl);
		return 0;
	}
	if (f->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK)
		for (CK_ULONG i = 0; i < n && !found; i++)
			found = f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
			    memcmp(ti.label, HSM_TOKEN, strlen(HSM_TOKEN)) == 0 &&
			    ti.label[strlen(HSM_TOKEN)] == ' ' &&
			    (slots[0] = slots[i], 1);
	if (found && f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL,
	    &login) == CKR_OK) {
		if (f->C_Login(login, CKU_USER, (CK_UTF8CHAR *)HSM_PIN,
		    strlen(HSM_PIN)) == CKR_OK) {
			t0 = bench_seconds();
			for (long i = 0; i < cores; i++) {
				t[i] = (struct limit_thread){f, slots[0],
				    t0 + LIMIT_SECONDS, 0, 0};
				pthread_create(&tid[i], NULL, limit_main, &t[i]);
			}
			for (long i = 0; i < cores; i++) {
				pthread_join(tid[i], NULL);
				signs += t[i].signs;
				failed |= t[i].failed;
			}
			if (!failed)
				rate = (double)signs / (bench_seconds() - t0);
		}
		f->C_CloseSession(login);
	}
	f->C_Finalize(NULL);
	dlclose(dl);
	return rate;
}

/* A data directory like `jpki init --pkcs11 HSM_MODULE --token HSM_TOKEN`
 * in a fresh token of the bench's own (under dir/softhsm). */
static int
pkcs11_datadir_init(const char *dir, const char *data)
{
	struct datadir_init_options o;
	struct datadir *dd = NULL;
	char path[512], cmd[1024];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/softhsm", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/softhsm/tokens", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/softhsm/softhsm2.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return JPKI_ERR_IO;
	fprintf(f, "directories.tokendir = %s/softhsm/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	setenv("JPKI_HSM_PIN", HSM_PIN, 1);
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label "
	    HSM_TOKEN " --pin " HSM_PIN " --so-pin 27182818 >/dev/null");
	if (system(cmd) != 0)
		return jpki_fail(JPKI_ERR_IO, "softhsm2-util --init-token failed");
	memset(&o, 0, sizeof(o));
	if ((r = datadir_create(data, &o, &dd)) == JPKI_OK &&
	    (r = ca_signer_pkcs11_setup(dd, HSM_MODULE, HSM_TOKEN)) == JPKI_OK &&
	    (r = ca_create(dd)) == JPKI_OK)
		r = datadir_create_finish(dd);
	datadir_close(&dd);
	return r;
}

static int
bench_pkcs11(const char *dir, long count, long batch, long cores)
{
	char data[512];
	struct ca *ca = NULL;
	struct run run;
	double before, after, limit, rate;
	int r;

	if (access(HSM_MODULE, R_OK) != 0 ||
	    system("command -v softhsm2-util >/dev/null 2>&1") != 0) {
		printf("bench: issuance-pkcs11 skipped: no SoftHSM2 (%s, "
		    "softhsm2-util)\n", HSM_MODULE);
		return 0;
	}
	snprintf(data, sizeof(data), "%s/pkcs11-data", dir);
	if ((r = pkcs11_datadir_init(dir, data)) != JPKI_OK) {
		fprintf(stderr, "bench: pkcs11: %s\n", jpki_errmsg());
		return 3;
	}
	before = token_sign_rate(cores);
	if ((r = support_ca_open(data, CA_KEYS_CA | CA_KEYS_OCSP, &ca)) ||
	    (r = issue_run(ca, count, batch, in_process_threads(cores),
	    &run)) != JPKI_OK) {
		fprintf(stderr, "bench: pkcs11: %s\n", jpki_errmsg());
		return 3;
	}
	support_ca_close(&ca);
	after = token_sign_rate(cores);
	if (before <= 0 || after <= 0) {
		fprintf(stderr, "bench: pkcs11: the token's sign rate could not "
		    "be measured\n");
		return 3;
	}
	rate = (double)run.done / run.elapsed;
	limit = (before + after) / 2;
	printf("bench: pkcs11: issued %ld certificates in %.2f s, keys in a "
	    "SoftHSM2 token, %ld sessions signing; %.0f%% of %ld cores busy "
	    "in this process\n", run.done, run.elapsed, cores,
	    100 * run.cpu / run.elapsed / (double)cores, cores);
	printf("bench: pkcs11: the token's C_Sign (CKM_SHA256_RSA_PKCS, %d "
	    "bytes, %ld sessions): %.0f signs/s before, %.0f after\n",
	    TBS_LEN, cores, before, after);
	printf("bench: issuance-pkcs11 %.0f certs/s vs softhsm-sign-limit %.0f "
	    "signs/s = %.2fx\n", rate, limit, rate / limit);
	return 0;
}

int
main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 20000;
	long batch = argc > 2 ? atol(argv[2]) : 1024;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	char dir[] = "/tmp/jpki-bench-XXXXXX", data[64], cmd[256];
	struct ca *ca = NULL;
	struct run run, srun;
	double limit_before, limit_after, rate, limit, per_core, signer_cpu;
	double srate;
	int r, rc;

	if (count <= 0 || batch <= 0 || cores <= 0 || mkdtemp(dir) == NULL)
		return 2;
	setenv("JPKI_NOW", "2026-11-25T10:00:00+09:00", 1);
	snprintf(data, sizeof(data), "%s/file-data", dir);
	if ((r = support_ca_new(data, CA_KEYS_CA | CA_KEYS_OCSP, &ca)) !=
	    JPKI_OK) {
		fprintf(stderr, "bench: %s\n", jpki_errmsg());
		return 3;
	}
	limit_before = openssl_sign_rate();
	if ((r = issue_run(ca, count, batch, in_process_threads(cores),
	    &run)) != JPKI_OK) {
		fprintf(stderr, "bench: %s\n", jpki_errmsg());
		return 3;
	}
	rate = (double)run.done / run.elapsed;
	support_ca_close(&ca);
	if ((r = bench_signer(dir, count, batch, cores, &srun,
	    &signer_cpu)) != JPKI_OK) {
		fprintf(stderr, "bench: signer: %s\n", jpki_errmsg());
		return 3;
	}
	srate = (double)srun.done / srun.elapsed;

	limit_after = openssl_sign_rate();
	per_core = (limit_before + limit_after) / 2;
	limit = per_core * (double)cores;
	printf("bench: issued %ld certificates (sign and auth) in %.2f s, "
	    "committed %ld at a time, %ld threads signing, durable store\n",
	    run.done, run.elapsed, batch, cores);
	printf("bench: %.0f%% of %ld cores busy while issuing (%.1f us of CPU "
	    "a certificate)\n", 100 * run.cpu / run.elapsed / (double)cores,
	    cores, 1e6 * run.cpu / (double)run.done);
	printf("bench: through jpki signer: %ld certificates in %.2f s, %ld "
	    "client threads; CPU a certificate: %.1f us the client's, %.1f us "
	    "the signer's (%.1f us in all, against %.1f us in-process)\n",
	    srun.done, srun.elapsed, 2 * cores, 1e6 * srun.cpu /
	    (double)srun.done, 1e6 * signer_cpu / (double)srun.done,
	    1e6 * (srun.cpu + signer_cpu) / (double)srun.done,
	    1e6 * run.cpu / (double)run.done);
	printf("bench: openssl speed rsa2048: %.0f signs/s per core before, "
	    "%.0f after; mean x %ld cores = %.0f signs/s\n", limit_before,
	    limit_after, cores, limit);
	printf("bench: issuance %.0f certs/s vs rsa2048-sign-limit %.0f "
	    "signs/s = %.2fx\n", rate, limit, limit > 0 ? rate / limit : 0);
	printf("bench: issuance-signer %.0f certs/s vs rsa2048-sign-limit %.0f "
	    "signs/s = %.2fx\n", srate, limit, limit > 0 ? srate / limit : 0);
	fflush(stdout);

	rc = bench_pkcs11(dir, count / 4 > 0 ? count / 4 : 1, batch, cores);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? rc : 3;
}
