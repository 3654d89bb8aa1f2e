/*
 * bench_util.h: what the benchmarks share: the clocks (wall time,
 * monotonic; CPU time, user + system, of this process or of its waited-for
 * children) and a register of identical adult residents.
 */
#ifndef JPKI_BENCH_UTIL_H
#define JPKI_BENCH_UTIL_H

#include "ca/ca.h"
#include "counter/counter.h"
#include "support/open_ca.h"

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

static inline double
bench_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* who: RUSAGE_SELF or RUSAGE_CHILDREN. */
static inline double
bench_cpu_seconds(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* n residents born 1985 (both certificate types allowed), individual
 * numbers from base (11 digits, check digit added), in one import. */
static inline int
bench_register_residents(struct ca *ca, long base, long n)
{
	struct jbuf csv;
	long added = 0;
	int r = JPKI_OK;

	jbuf_init(&csv);
	jbuf_printf(&csv, "number,name,address,birth,gender\n");
	for (long i = 0; i < n; i++) {
		char number[RESIDENT_NUMBER_LEN + 1];

		support_individual_number(base + i, number);
		jbuf_printf(&csv, "%s,山田 太郎,東京都千代田区千代田1-1,"
		    "1985-06-15,male\n", number);
	}
	r = counter_register_import_csv(ca_datadir(ca), csv.data, csv.len,
	    "bench", &added);
	jbuf_free(&csv);
	if (r == JPKI_OK && added != n)
		r = jpki_fail(JPKI_ERR_INTERNAL, "import added %ld of %ld",
		    added, n);
	return r;
}

#endif
