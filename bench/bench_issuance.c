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
 * usage: bench_issuance [COUNT] [GROUP]
 */
#include "bench_util.h"
#include "support/open_ca.h"
#include "ca/ca.h"
#include "counter/counter.h"

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

/* A data directory in dir with `residents` registered, opened with the
 * CA keys (through the signer if its config names one). */
static int
bench_setup(const char *dir, long residents, struct ca **ca)
{
	struct datadir_init_options o;
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = support_datadir_init(dir, &o)) != JPKI_OK ||
	    (r = support_ca_open(dir, CA_KEYS_CA, ca)) != JPKI_OK ||
	    (r = bench_register_residents(*ca, 10000000000L, residents)))
		return r;
	store_set_durable(datadir_store(ca_datadir(*ca)), 1);
	return JPKI_OK;
}

/* The key files of dir moved to keys, and `signer = unix:sock` put first
 * in its config: as an operator sets a signer up. */
static int
signer_config(const char *dir, const char *keys, const char *sock)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "mkdir -m 700 %s && mv %s/ca/*.key %s/ && "
	    "sed -i '1i signer = unix:%s' %s/config", keys, dir, keys, sock,
	    dir);
	return system(cmd) == 0 ? JPKI_OK : jpki_fail(JPKI_ERR_IO, "%s", cmd);
}

/* `jpki signer` for dir in a child process; its pid once it listens. */
static pid_t
signer_start(const char *dir, const char *keys, const char *sock)
{
	struct stat st;
	pid_t pid = fork();

	if (pid == 0) {
		static char listen[700];
		struct ca_signer_daemon_options so = {0};
		struct datadir *dd = NULL;


		snprintf(listen, sizeof(listen), "unix:%s", sock);
		so.listen = listen;
		so.key_dir = keys;
		if (datadir_open(dir, DATADIR_READ_ONLY, &dd) != JPKI_OK ||
		    ca_signer_serve(dd, &so) != JPKI_OK) {
			fprintf(stderr, "bench: signer: %s\n", jpki_errmsg());
			_exit(3);
		}
		_exit(0);
	}
	for (int i = 0; pid > 0 && i < 400; i++) {
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return pid;
		usleep(25000);
	}
	return -1;
}

static int
issue_all(struct ca *ca, struct ca_issue_request *reqs, long count,
    long batch, int threads, double *elapsed, double *cpu)
{
	struct ca_stream_options so = {0};
	size_t committed = 0;
	double t0 = bench_seconds(), c0 = bench_cpu_seconds(RUSAGE_SELF);
	int r;

	so.threads = threads;
	so.group = (size_t)batch;
	if ((r = ca_issue_stream(ca, reqs, (size_t)count, NULL, &so,
	    &committed)) != JPKI_OK || committed != (size_t)count)
		return r != JPKI_OK ? r : jpki_fail(JPKI_ERR_INTERNAL,
		    "committed %zu of %ld", committed, count);
	*elapsed = bench_seconds() - t0;
	*cpu = bench_cpu_seconds(RUSAGE_SELF) - c0;
	return JPKI_OK;
}

int
main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 20000;
	long batch = argc > 2 ? atol(argv[2]) : 1024;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	char dir[] = "/tmp/jpki-bench-XXXXXX", cmd[256];
	char sdir[] = "/tmp/jpki-bench-signer-XXXXXX";
	char sdata[600], keys[600], sock[600];
	struct ca *ca = NULL;
	struct ca_issue_request *reqs;
	EVP_PKEY *keys_rsa[KEYS];
	long residents;
	double limit_before, limit_after, cpu, elapsed, rate, limit, per_core;
	double s_cpu, s_elapsed, s_rate, child0, signer_cpu;
	pid_t signer;
	int r, st;

	if (count <= 0 || batch <= 0 || cores <= 0 || mkdtemp(dir) == NULL ||
	    mkdtemp(sdir) == NULL)
		return 2;
	setenv("JPKI_NOW", "2026-11-25T10:00:00+09:00", 1);
	/* One resident per signing + auth pair (R8: one valid certificate of
	 * each type per holder), registered in one import; their ids of a
	 * fresh register start at 1. */
	residents = (count + 1) / 2;
	for (int i = 0; i < KEYS; i++)
		if ((keys_rsa[i] = EVP_RSA_gen(2048)) == NULL)
			return 3;
	if ((reqs = calloc((size_t)count, sizeof(*reqs))) == NULL)
		return 3;
	for (long i = 0; i < count; i++) {
		reqs[i].resident_id = i / 2 + 1;
		reqs[i].type = i % 2 ? CERT_AUTH : CERT_SIGN;
		reqs[i].pub = keys_rsa[i % KEYS];
		reqs[i].actor = "bench";
	}
	if ((r = bench_setup(dir, residents, &ca)) != JPKI_OK) {
		fprintf(stderr, "bench: %s\n", jpki_errmsg());
		return 3;
	}

	limit_before = openssl_sign_rate();
	/* cores - 1 signing threads: the calling thread records and signs
	 * too, so no core is oversubscribed. */
	if ((r = issue_all(ca, reqs, count, batch, cores > 1 ? (int)cores - 1 :
	    1, &elapsed, &cpu)) != JPKI_OK) {
		fprintf(stderr, "bench: %s\n", jpki_errmsg());
		return 3;
	}
	rate = (double)count / elapsed;
	support_ca_close(&ca);

	/* Through the signer: a data directory of its own, the keys moved to
	 * the signer's directory.  The signing threads mostly wait on the
	 * socket, so twice as many as cores keep the signer's cores busy. */
	snprintf(sdata, sizeof(sdata), "%s/data", sdir);
	snprintf(keys, sizeof(keys), "%s/keys", sdir);
	snprintf(sock, sizeof(sock), "%s/signer.sock", sdir);
	if ((r = bench_setup(sdata, residents, &ca)) != JPKI_OK) {
		fprintf(stderr, "bench: %s\n", jpki_errmsg());
		return 3;
	}
	support_ca_close(&ca);
	/* The signer's CPU: what the children used once it is waited for. */
	child0 = bench_cpu_seconds(RUSAGE_CHILDREN);
	if ((r = signer_config(sdata, keys, sock)) != JPKI_OK ||
	    (signer = signer_start(sdata, keys, sock)) < 0 ||
	    (r = support_ca_open(sdata, CA_KEYS_CA, &ca)) != JPKI_OK) {
		fprintf(stderr, "bench: signer: %s\n", jpki_errmsg());
		return 3;
	}
	store_set_durable(datadir_store(ca_datadir(ca)), 1);
	if ((r = issue_all(ca, reqs, count, batch, 2 * (int)cores, &s_elapsed,
	    &s_cpu)) != JPKI_OK) {
		fprintf(stderr, "bench: signer: %s\n", jpki_errmsg());
		kill(signer, SIGKILL);
		return 3;
	}
	s_rate = (double)count / s_elapsed;
	support_ca_close(&ca);
	kill(signer, SIGTERM);
	waitpid(signer, &st, 0);
	signer_cpu = bench_cpu_seconds(RUSAGE_CHILDREN) - child0;

	limit_after = openssl_sign_rate();
	per_core = (limit_before + limit_after) / 2;
	limit = per_core * (double)cores;
	printf("bench: issued %ld certificates (sign and auth) in %.2f s, "
	    "committed %ld at a time, %ld threads signing, durable store\n",
	    count, elapsed, batch, cores);
	printf("bench: %.0f%% of %ld cores busy while issuing (%.1f us of CPU "
	    "a certificate)\n", 100 * cpu / elapsed / (double)cores, cores,
	    1e6 * cpu / (double)count);
	printf("bench: through jpki signer: %ld certificates in %.2f s, %ld "
	    "client threads; CPU a certificate: %.1f us the client's, %.1f us "
	    "the signer's (%.1f us in all, against %.1f us in-process)\n",
	    count, s_elapsed, 2 * cores, 1e6 * s_cpu / (double)count,
	    1e6 * signer_cpu / (double)count, 1e6 * (s_cpu + signer_cpu) /
	    (double)count, 1e6 * cpu / (double)count);
	printf("bench: openssl speed rsa2048: %.0f signs/s per core before, "
	    "%.0f after; mean x %ld cores = %.0f signs/s\n", limit_before,
	    limit_after, cores, limit);
	printf("bench: issuance %.0f certs/s vs rsa2048-sign-limit %.0f "
	    "signs/s = %.2fx\n", rate, limit, limit > 0 ? rate / limit : 0);
	printf("bench: issuance-signer %.0f certs/s vs rsa2048-sign-limit %.0f "
	    "signs/s = %.2fx\n", s_rate, limit, limit > 0 ? s_rate / limit :
	    0);

	for (int i = 0; i < KEYS; i++)
		EVP_PKEY_free(keys_rsa[i]);
	free(reqs);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, sdir);
	return system(cmd) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 :
	    3;
}
