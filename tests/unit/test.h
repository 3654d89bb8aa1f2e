/*
 * test.h: the unit tests' few checks.  A failed check prints where and why
 * and counts; it does not jump, so one run reports every failure.  Each test
 * program ends with `return test_summary();`, which prints
 * "N passed, N failed" and returns non-zero if anything failed.
 */
#ifndef JPKI_TEST_H
#define JPKI_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

static inline void
test_record(int ok, const char *file, int line, const char *what)
{
	if (ok) {
		test_passed++;
	} else {
		test_failed++;
		fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	}
}

#define CHECK(cond) test_record(!!(cond), __FILE__, __LINE__, #cond)

#define CHECK_INT(got, want)                                                   \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		test_record(g_ == w_, __FILE__, __LINE__, #got " == " #want);  \
		if (g_ != w_)                                                  \
			fprintf(stderr, "    got %lld, want %lld\n", g_, w_);  \
	} while (0)

#define CHECK_STR(got, want)                                                   \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		int ok_ = g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0;     \
		test_record(ok_, __FILE__, __LINE__, #got " == " #want);       \
		if (!ok_)                                                      \
			fprintf(stderr, "    got \"%s\", want \"%s\"\n",       \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)");           \
	} while (0)

static inline int
test_summary(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed == 0 ? 0 : 1;
}

#endif
