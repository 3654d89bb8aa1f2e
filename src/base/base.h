/*
 * base: the foundation every other module stands on.
 *
 * Error codes and the one-line error message, the bounded byte cursor that
 * reads every untrusted byte string, a growable byte buffer, the JST
 * calendar and the one clock (JPKI_NOW overrides it), secret wiping, and
 * whole-file reads and durable writes.
 *
 * The only I/O here is jpki_now() reading the environment and the file
 * functions (fileio.c), which touch only the paths they are given.
 */
#ifndef JPKI_BASE_H
#define JPKI_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ---- errors ------------------------------------------------------------
 *
 * One error idiom: functions return an int, JPKI_OK (0) on success or one of
 * the codes below.  The code that first detects a failure records one line
 * of explanation with jpki_fail(); callers pass the code up unchanged.  The
 * message is per thread.  Exit statuses follow design.md: 0 success,
 * 1 refused by a rule / verification failed, 2 bad usage or input, 3 I/O or
 * internal error.
 */
enum jpki_err {
	JPKI_OK = 0,
	JPKI_ERR_USAGE,     /* bad command line */
	JPKI_ERR_INPUT,     /* malformed or out-of-range input */
	JPKI_ERR_REFUSED,   /* a rule refuses the operation */
	JPKI_ERR_VERIFY,    /* a signature, chain or check failed */
	JPKI_ERR_NOTFOUND,  /* no such resident, card, certificate... */
	JPKI_ERR_CONFLICT,  /* duplicate, or state does not allow it */
	JPKI_ERR_PIN,       /* wrong PIN (tries left in the message) */
	JPKI_ERR_LOCKED,    /* PIN blocked */
	JPKI_ERR_IO,        /* file, socket, database */
	JPKI_ERR_CRYPTO,    /* OpenSSL failure */
	JPKI_ERR_NOMEM,
	JPKI_ERR_INTERNAL,
	JPKI_ERR__COUNT
};

/* Stable short name of a code, e.g. "refused". */
const char *jpki_strerr(int code);
/* Exit status for a code (0, 1, 2 or 3). */
int jpki_exit_status(int code);
/* Record a one-line message for this thread and return code. */
int jpki_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int jpki_vfail(int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* The last message recorded on this thread ("" if none). */
const char *jpki_errmsg(void);
/* Forget the last message. */
void jpki_errclear(void);

/* ---- bounded cursor -----------------------------------------------------
 *
 * Reads untrusted bytes.  Every getter checks the length first and, on
 * failure, leaves the cursor unchanged and returns JPKI_ERR_INPUT without
 * recording a message (callers know what they were parsing and say so).
 */
struct cursor {
	const uint8_t *p;
	size_t len;
};

void cursor_init(struct cursor *c, const void *p, size_t len);
size_t cursor_left(const struct cursor *c);
int cursor_get_u8(struct cursor *c, uint8_t *v);
int cursor_get_u16be(struct cursor *c, uint16_t *v);
int cursor_get_u32be(struct cursor *c, uint32_t *v);
int cursor_get_u64be(struct cursor *c, uint64_t *v);
/* Copy n bytes out. */
int cursor_get_bytes(struct cursor *c, void *out, size_t n);
/* Borrow a pointer to the next n bytes and advance. */
int cursor_take(struct cursor *c, const uint8_t **p, size_t n);
/* Split off a sub-cursor of n bytes and advance past them. */
int cursor_sub(struct cursor *c, struct cursor *sub, size_t n);
int cursor_skip(struct cursor *c, size_t n);

/* ---- growable buffer ---------------------------------------------------- */
struct jbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void jbuf_init(struct jbuf *b);
int jbuf_reserve(struct jbuf *b, size_t extra);
int jbuf_put(struct jbuf *b, const void *p, size_t n);
int jbuf_put_u8(struct jbuf *b, uint8_t v);
int jbuf_put_u16be(struct jbuf *b, uint16_t v);
int jbuf_put_u32be(struct jbuf *b, uint32_t v);
int jbuf_put_u64be(struct jbuf *b, uint64_t v);
int jbuf_printf(struct jbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Wipe and free the contents; the buffer is reusable afterwards. */
void jbuf_free(struct jbuf *b);

/* ---- JST calendar and clock ---------------------------------------------
 *
 * Every policy date is a calendar date in Japan (UTC+9, no DST).  Instants
 * are int64 seconds since the Unix epoch (UTC).
 */
#define JST_OFFSET_SECONDS (9 * 3600)

struct jdate {
	int y, m, d;
};

int jdate_valid(struct jdate d);
/* Days since 1970-01-01 (proleptic Gregorian) and back. */
int64_t jdate_to_days(struct jdate d);
struct jdate jdate_from_days(int64_t days);
int jdate_cmp(struct jdate a, struct jdate b);
int jdate_is_leap(int y);
int jdate_days_in_month(int y, int m);
struct jdate jdate_add_days(struct jdate d, int64_t n);
/* Add (or subtract) months; the day is clamped to the month's last day. */
struct jdate jdate_add_months(struct jdate d, int months);
/* Parse exactly "YYYY-MM-DD" (a real date); JPKI_ERR_INPUT otherwise. */
int jdate_parse(const char *s, struct jdate *out);
/* Format as "YYYY-MM-DD" into buf (at least 11 bytes). */
void jdate_format(struct jdate d, char buf[static 11]);

/* The JST calendar date containing instant t. */
struct jdate jst_date_of(int64_t t);
/* The instant of hh:mm:ss JST on date d. */
int64_t jst_instant(struct jdate d, int hh, int mm, int ss);
/* 23:59:59 JST on date d: the last second of a JST day. */
int64_t jst_end_of_day(struct jdate d);

/* Parse ISO 8601: "YYYY-MM-DD" (00:00 JST), "YYYY-MM-DDThh:mm[:ss]" (JST),
 * or with "Z" or "+hh:mm"/"-hh:mm".  JPKI_ERR_INPUT on anything else. */
int iso8601_parse(const char *s, int64_t *out);
/* Format instant t as "YYYY-MM-DDThh:mm:ss+09:00" (buf >= 26 bytes). */
void iso8601_format_jst(int64_t t, char buf[static 26]);
/* Format instant t as "YYYY-MM-DDThh:mm:ssZ" (buf >= 21 bytes). */
void iso8601_format_utc(int64_t t, char buf[static 21]);

/* The one clock: JPKI_NOW (ISO 8601) if set, else the system clock.  A bad
 * JPKI_NOW is reported once to stderr and the system clock is used. */
int64_t jpki_now(void);
/* Like jpki_now() but fails on a malformed JPKI_NOW (for the CLI's edge). */
int jpki_now_checked(int64_t *out);

/* ---- secrets ------------------------------------------------------------ */
void jpki_wipe(void *p, size_t n);
/* Constant-time equality of two n-byte strings: 1 if equal. */
int jpki_ct_equal(const void *a, const void *b, size_t n);

/* ---- text --------------------------------------------------------------- */
/* 1 if s[0..n) is well-formed UTF-8 with no NUL and no C0 control except
 * none at all (names and addresses are single-line). */
int utf8_valid_line(const char *s, size_t n);
/* The value of one hex digit (either case), or -1. */
int hex_digit_value(char c);
/* Number of code points in well-formed UTF-8. */
size_t utf8_count(const char *s, size_t n);

/* ---- files ------------------------------------------------------------- *
 * Every buffer that holds a path is JPKI_PATH_MAX bytes, and every path
 * is built with jpki_path(): one that would not fit is refused with
 * JPKI_ERR_INPUT naming it, never cut short. */
#define JPKI_PATH_MAX 1024
int jpki_path(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Write a whole file and fsync it (on failure it is removed); the caller
 * renames or links it into place, then syncs the directory. */
int durable_write(const char *path, const void *buf, size_t n, mode_t mode);
int durable_sync_dir_of(const char *path);
/* Read a whole file of at most max bytes into out (initialised here).
 * JPKI_ERR_NOTFOUND if it does not exist, JPKI_ERR_INPUT if it cannot be
 * opened as a file or is too large. */
int file_read_all(const char *path, size_t max, struct jbuf *out);

#define JPKI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
