/* Unit tests of base: cursor bounds, buffer, calendar, ISO 8601, UTF-8. */
#include "base/base.h"
#include "test.h"

#include <stdlib.h>

static void
test_cursor_refuses_reads_past_the_end(void)
{
	const uint8_t bytes[] = {0x01, 0x02, 0x03};
	struct cursor c, sub;
	uint16_t v16;
	uint32_t v32;
	uint8_t v8;

	cursor_init(&c, bytes, sizeof(bytes));
	CHECK_INT(cursor_get_u16be(&c, &v16), JPKI_OK);
	CHECK_INT(v16, 0x0102);
	CHECK_INT(cursor_get_u32be(&c, &v32), JPKI_ERR_INPUT);
	CHECK_INT(cursor_left(&c), 1); /* unchanged by the failed read */
	CHECK_INT(cursor_sub(&c, &sub, 2), JPKI_ERR_INPUT);
	CHECK_INT(cursor_get_u8(&c, &v8), JPKI_OK);
	CHECK_INT(v8, 3);
	CHECK_INT(cursor_get_u8(&c, &v8), JPKI_ERR_INPUT);
	CHECK_INT(cursor_skip(&c, SIZE_MAX), JPKI_ERR_INPUT);
}

static void
test_jbuf_grows_and_formats(void)
{
	struct jbuf b;

	jbuf_init(&b);
	for (int i = 0; i < 1000; i++)
		CHECK_INT(jbuf_put_u16be(&b, (uint16_t)i), JPKI_OK);
	CHECK_INT(b.len, 2000);
	CHECK_INT(b.data[1998], 0x03);
	CHECK_INT(b.data[1999], 0xE7);
	jbuf_free(&b);
	CHECK_INT(jbuf_printf(&b, "%s-%d", "ab", 42), JPKI_OK);
	CHECK_INT(b.len, 5);
	CHECK(memcmp(b.data, "ab-42", 5) == 0);
	jbuf_free(&b);
}

static void
test_calendar_round_trips(void)
{
	static const struct {
		struct jdate d;
		int64_t days;
	} table[] = {
	    {{1970, 1, 1}, 0},
	    {{2000, 2, 29}, 11016},
	    {{1969, 12, 31}, -1},
	    {{2026, 11, 25}, 20782},
	    {{1900, 3, 1}, -25508},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		struct jdate back;

		CHECK_INT(jdate_to_days(table[i].d), table[i].days);
		back = jdate_from_days(table[i].days);
		CHECK_INT(jdate_cmp(back, table[i].d), 0);
	}
	/* Every day of 400 years round-trips. */
	for (int64_t z = -20000; z < 146097 - 20000; z++)
		if (jdate_to_days(jdate_from_days(z)) != z) {
			CHECK(!"days round trip");
			break;
		}
}

static void
test_add_months_clamps_to_month_end(void)
{
	static const struct {
		struct jdate from;
		int months;
		struct jdate want;
	} table[] = {
	    {{2030, 5, 31}, -3, {2030, 2, 28}},
	    {{2032, 5, 31}, -3, {2032, 2, 29}},
	    {{2030, 1, 15}, -3, {2029, 10, 15}},
	    {{2030, 3, 31}, 1, {2030, 4, 30}},
	    {{2030, 12, 1}, 1, {2031, 1, 1}},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++)
		CHECK_INT(jdate_cmp(jdate_add_months(table[i].from,
		    table[i].months), table[i].want), 0);
}

static void
test_date_parse_refuses_non_dates(void)
{
	static const char *bad[] = {"2023-02-29", "2023-13-01", "2023-1-01",
	    "2023-01-01x", "", "abcd-ef-gh", "2023-00-10", "2023/01/01"};
	struct jdate d;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(bad); i++)
		CHECK_INT(jdate_parse(bad[i], &d), JPKI_ERR_INPUT);
	CHECK_INT(jdate_parse("2024-02-29", &d), JPKI_OK);
	CHECK_INT(d.d, 29);
}

static void
test_iso8601_and_jst(void)
{
	static const struct {
		const char *s;
		int64_t t;
	} table[] = {
	    {"1970-01-01T09:00:00+09:00", 0},
	    {"1970-01-01T00:00:00Z", 0},
	    {"1970-01-01", -9 * 3600}, /* a bare date is 00:00 JST */
	    {"1970-01-01T09:00", 0},   /* no offset: JST */
	    {"2026-11-25T06:00:00-01:30", 1795591800},
	};
	char buf[26], ubuf[21];
	int64_t t;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++) {
		CHECK_INT(iso8601_parse(table[i].s, &t), JPKI_OK);
		CHECK_INT(t, table[i].t);
	}
	CHECK_INT(iso8601_parse("2026-11-25T25:00:00Z", &t), JPKI_ERR_INPUT);
	CHECK_INT(iso8601_parse("2026-11-25T10:00:00+0900", &t), JPKI_ERR_INPUT);

	iso8601_format_jst(0, buf);
	CHECK_STR(buf, "1970-01-01T09:00:00+09:00");
	iso8601_format_utc(0, ubuf);
	CHECK_STR(ubuf, "1970-01-01T00:00:00Z");

	/* 23:59:59 JST is 14:59:59Z, as in the real CA certificates. */
	iso8601_format_utc(jst_end_of_day((struct jdate){2025, 10, 19}), ubuf);
	CHECK_STR(ubuf, "2025-10-19T14:59:59Z");
	/* 15:00Z is already the next JST day. */
	CHECK_INT(jst_date_of(jst_end_of_day((struct jdate){2025, 10, 19}) + 1).d,
	    20);
}

static void
test_jpki_now_follows_the_environment(void)
{
	int64_t t;

	setenv("JPKI_NOW", "2030-04-01T00:00:00+09:00", 1);
	CHECK_INT(jpki_now_checked(&t), JPKI_OK);
	CHECK_INT(jdate_cmp(jst_date_of(t), (struct jdate){2030, 4, 1}), 0);
	setenv("JPKI_NOW", "tomorrow", 1);
	CHECK_INT(jpki_now_checked(&t), JPKI_ERR_INPUT);
	CHECK(strstr(jpki_errmsg(), "JPKI_NOW") != NULL);
	unsetenv("JPKI_NOW");
}

static void
test_utf8_validation(void)
{
	CHECK(utf8_valid_line("山田　太郎", strlen("山田　太郎")));
	CHECK_INT(utf8_count("山田　太郎", strlen("山田　太郎")), 5);
	CHECK(!utf8_valid_line("\xC0\xAF", 2));         /* overlong */
	CHECK(!utf8_valid_line("\xED\xA0\x80", 3));     /* surrogate */
	CHECK(!utf8_valid_line("a\nb", 3));             /* not one line */
	CHECK(!utf8_valid_line("\xE5\xB1", 2));         /* truncated */
}

static void
test_errors_have_names_and_exit_statuses(void)
{
	CHECK_INT(jpki_exit_status(JPKI_OK), 0);
	CHECK_INT(jpki_exit_status(JPKI_ERR_REFUSED), 1);
	CHECK_INT(jpki_exit_status(JPKI_ERR_INPUT), 2);
	CHECK_INT(jpki_exit_status(JPKI_ERR_IO), 3);
	for (int i = 0; i < JPKI_ERR__COUNT; i++)
		CHECK(jpki_strerr(i) != NULL && strcmp(jpki_strerr(i), "unknown"));
	CHECK_INT(jpki_fail(JPKI_ERR_INPUT, "line one\nline two"), JPKI_ERR_INPUT);
	CHECK_STR(jpki_errmsg(), "line one line two");
}

int
main(void)
{
	test_cursor_refuses_reads_past_the_end();
	test_jbuf_grows_and_formats();
	test_calendar_round_trips();
	test_add_months_clamps_to_month_end();
	test_date_parse_refuses_non_dates();
	test_iso8601_and_jst();
	test_jpki_now_follows_the_environment();
	test_utf8_validation();
	test_errors_have_names_and_exit_statuses();
	return test_summary();
}
