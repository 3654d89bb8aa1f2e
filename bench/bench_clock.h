/*
 * bench_clock.h: the clocks every benchmark reads: wall time (monotonic)
 * and CPU time (user + system) of this process or of its waited-for
 * children.
 */
#ifndef JPKI_BENCH_CLOCK_H
#define JPKI_BENCH_CLOCK_H

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

#endif
