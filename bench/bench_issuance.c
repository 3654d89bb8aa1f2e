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
 * usage: bench_issuance [COUNT] [GROUP]
 */
#include "bench_util.h"
#include "support/open_ca.h"
#include "ca/ca.h"
#include "counter/counter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
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

int
main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 20000;
	long batch = argc > 2 ? atol(argv[2]) : 1024;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	char dir[] = "/tmp/jpki-bench-XXXXXX", cmd[256];
	struct datadir_init_options o;
	struct ca *ca = NULL;
	struct ca_issue_request *reqs;
	EVP_PKEY *keys[KEYS];
	int64_t *ids;
	long residents;
	double limit_before, limit_after, t0, c0, cpu, elapsed, rate, limit, per_core;
	long done = 0;
	struct ca_stream_options so = {0};
	size_t committed = 0;
	int r;

	if (count <= 0 || batch <= 0 || cores <= 0 || mkdtemp(dir) == NULL)
		return 2;
	setenv("JPKI_NOW", "2026-11-25T10:00:00+09:00", 1);
	memset(&o, 0, sizeof(o));
	if ((r = support_datadir_init(dir, &o)) != JPKI_OK ||
	    (r = support_ca_open(dir, CA_KEYS_CA | CA_KEYS_OCSP, &ca)) != JPKI_OK) {
		fprintf(stderr, "bench: %s\n", jpki_errmsg());
		return 3;
	}
	/* One resident per signing + auth pair (R8: one valid certificate of
	 * each type per holder), registered in one import. */
	residents = (count + 1) / 2;
	if ((r = bench_register_residents(ca, 10000000000L, residents))) {
		fprintf(stderr, "bench: %s\n", jpki_errmsg());
		return 3;
	}
	if ((ids = calloc((size_t)residents, sizeof(*ids))) == NULL)
		return 3;
	for (long i = 0; i < residents; i++)
		ids[i] = i + 1;  /* ids of a fresh register start at 1 */
	for (int i = 0; i < KEYS; i++)
		if ((keys[i] = EVP_RSA_gen(2048)) == NULL)
			return 3;
	if ((reqs = calloc((size_t)count, sizeof(*reqs))) == NULL)
		return 3;
	for (long i = 0; i < count; i++) {
		reqs[i].resident_id = ids[i / 2];
		reqs[i].type = i % 2 ? CERT_AUTH : CERT_SIGN;
		reqs[i].pub = keys[i % KEYS];
		reqs[i].actor = "bench";
	}
	store_set_durable(datadir_store(ca_datadir(ca)), 1);

	limit_before = openssl_sign_rate();
	t0 = bench_seconds();
	c0 = bench_cpu_seconds(RUSAGE_SELF);
	/* cores - 1 signing threads: the calling thread records and signs
	 * too, so no core is oversubscribed. */
	so.threads = cores > 1 ? (int)cores - 1 : 1;
	so.group = (size_t)batch;
	if ((r = ca_issue_stream(ca, reqs, (size_t)count, NULL, &so,
	    &committed)) != JPKI_OK || committed != (size_t)count) {
		fprintf(stderr, "bench: %s\n", jpki_errmsg());
		return 3;
	}
	done = (long)committed;
	elapsed = bench_seconds() - t0;
	cpu = bench_cpu_seconds(RUSAGE_SELF) - c0;
	rate = (double)done / elapsed;

	limit_after = openssl_sign_rate();
	per_core = (limit_before + limit_after) / 2;
	limit = per_core * (double)cores;
	printf("bench: issued %ld certificates (sign and auth) in %.2f s, "
	    "committed %ld at a time, %ld threads signing, durable store\n",
	    done, elapsed, batch, cores);
	printf("bench: %.0f%% of %ld cores busy while issuing (%.1f us of CPU "
	    "a certificate)\n", 100 * cpu / elapsed / (double)cores, cores,
	    1e6 * cpu / (double)done);
	printf("bench: openssl speed rsa2048: %.0f signs/s per core before, "
	    "%.0f after; mean x %ld cores = %.0f signs/s\n", limit_before,
	    limit_after, cores, limit);
	printf("bench: issuance %.0f certs/s vs rsa2048-sign-limit %.0f "
	    "signs/s = %.2fx\n", rate, limit, limit > 0 ? rate / limit : 0);

	for (int i = 0; i < KEYS; i++)
		EVP_PKEY_free(keys[i]);
	free(reqs);
	free(ids);
	support_ca_close(&ca);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 3;
}
