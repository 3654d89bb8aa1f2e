/*
 * jst.c: the JST calendar (proleptic Gregorian dates in UTC+9) and the one
 * clock.  Day arithmetic uses the days-from-civil algorithm on int64, so it
 * is exact for any year we will meet and needs no time zone database.
 */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
jdate_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
jdate_days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};

	if (m < 1 || m > 12)
		return 0;
	return m == 2 && jdate_is_leap(y) ? 29 : days[m - 1];
}

int
jdate_valid(struct jdate d)
{
	return d.y >= 1 && d.y <= 9999 && d.m >= 1 && d.m <= 12 && d.d >= 1 &&
	    d.d <= jdate_days_in_month(d.y, d.m);
}

int64_t
jdate_to_days(struct jdate d)
{
	int64_t y = d.m <= 2 ? (int64_t)d.y - 1 : d.y;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (d.m + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + d.d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

struct jdate
jdate_from_days(int64_t z)
{
	struct jdate d;
	int64_t era, doe, yoe, doy, mp, y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d.d = (int)(doy - (153 * mp + 2) / 5 + 1);
	d.m = (int)(mp < 10 ? mp + 3 : mp - 9);
	d.y = (int)(d.m <= 2 ? y + 1 : y);
	return d;
}

int
jdate_cmp(struct jdate a, struct jdate b)
{
	if (a.y != b.y)
		return a.y < b.y ? -1 : 1;
	if (a.m != b.m)
		return a.m < b.m ? -1 : 1;
	if (a.d != b.d)
		return a.d < b.d ? -1 : 1;
	return 0;
}

struct jdate
jdate_add_days(struct jdate d, int64_t n)
{
	return jdate_from_days(jdate_to_days(d) + n);
}

struct jdate
jdate_add_months(struct jdate d, int months)
{
	int64_t idx = (int64_t)d.y * 12 + (d.m - 1) + months;
	struct jdate r;
	int dim;

	r.y = (int)(idx >= 0 ? idx / 12 : (idx - 11) / 12);
	r.m = (int)(idx - (int64_t)r.y * 12) + 1;
	dim = jdate_days_in_month(r.y, r.m);
	r.d = d.d > dim ? dim : d.d;
	return r;
}

/* Parse exactly n decimal digits. */
static int
parse_digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return JPKI_ERR_INPUT;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return JPKI_OK;
}

static int
parse_date_prefix(const char *s, struct jdate *out)
{
	struct jdate d;

	if (strlen(s) < 10 || s[4] != '-' || s[7] != '-' ||
	    parse_digits(s, 4, &d.y) != JPKI_OK ||
	    parse_digits(s + 5, 2, &d.m) != JPKI_OK ||
	    parse_digits(s + 8, 2, &d.d) != JPKI_OK || !jdate_valid(d))
		return JPKI_ERR_INPUT;
	*out = d;
	return JPKI_OK;
}

int
jdate_parse(const char *s, struct jdate *out)
{
	if (s == NULL || strlen(s) != 10)
		return JPKI_ERR_INPUT;
	return parse_date_prefix(s, out);
}

void
jdate_format(struct jdate d, char buf[static 11])
{
	snprintf(buf, 11, "%04u-%02u-%02u", (unsigned)d.y % 10000u,
	    (unsigned)d.m % 100u, (unsigned)d.d % 100u);
}

struct jdate
jst_date_of(int64_t t)
{
	int64_t s = t + JST_OFFSET_SECONDS;
	int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;

	return jdate_from_days(days);
}

int64_t
jst_instant(struct jdate d, int hh, int mm, int ss)
{
	return jdate_to_days(d) * 86400 + hh * 3600 + mm * 60 + ss -
	    JST_OFFSET_SECONDS;
}

int64_t
jst_end_of_day(struct jdate d)
{
	return jst_instant(d, 23, 59, 59);
}

int
iso8601_parse(const char *s, int64_t *out)
{
	struct jdate d;
	int hh = 0, mm = 0, ss = 0, oh = 9, om = 0, sign = 1;
	const char *p;

	if (s == NULL || parse_date_prefix(s, &d) != JPKI_OK)
		return JPKI_ERR_INPUT;
	p = s + 10;
	if (*p == '\0')
		goto done;
	if (*p != 'T' && *p != ' ')
		return JPKI_ERR_INPUT;
	p++;
	if (strlen(p) < 5 || parse_digits(p, 2, &hh) != JPKI_OK || p[2] != ':' ||
	    parse_digits(p + 3, 2, &mm) != JPKI_OK)
		return JPKI_ERR_INPUT;
	p += 5;
	if (*p == ':') {
		if (parse_digits(p + 1, 2, &ss) != JPKI_OK)
			return JPKI_ERR_INPUT;
		p += 3;
	}
	if (hh > 23 || mm > 59 || ss > 59)
		return JPKI_ERR_INPUT;
	if (*p == 'Z') {
		oh = 0;
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (strlen(p) < 6 || parse_digits(p + 1, 2, &oh) != JPKI_OK ||
		    p[3] != ':' || parse_digits(p + 4, 2, &om) != JPKI_OK ||
		    oh > 14 || om > 59)
			return JPKI_ERR_INPUT;
		p += 6;
	}
	if (*p != '\0')
		return JPKI_ERR_INPUT;
done:
	*out = jdate_to_days(d) * 86400 + hh * 3600 + mm * 60 + ss -
	    sign * (oh * 3600 + om * 60);
	return JPKI_OK;
}

static void
format_instant(int64_t t, char *buf, size_t n, const char *suffix)
{
	struct jdate d = jdate_from_days(t >= 0 ? t / 86400 : (t - 86399) / 86400);
	int64_t sod = t - jdate_to_days(d) * 86400;

	snprintf(buf, n, "%04u-%02u-%02uT%02u:%02u:%02u%s",
	    (unsigned)d.y % 10000u, (unsigned)d.m % 100u, (unsigned)d.d % 100u,
	    (unsigned)(sod / 3600) % 100u, (unsigned)(sod / 60 % 60),
	    (unsigned)(sod % 60), suffix);
}

void
iso8601_format_jst(int64_t t, char buf[static 26])
{
	format_instant(t + JST_OFFSET_SECONDS, buf, 26, "+09:00");
}

void
iso8601_format_utc(int64_t t, char buf[static 21])
{
	format_instant(t, buf, 21, "Z");
}

int
jpki_now_checked(int64_t *out)
{
	const char *env = getenv("JPKI_NOW");

	if (env != NULL && *env != '\0') {
		if (iso8601_parse(env, out) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT,
			    "JPKI_NOW: not an ISO 8601 date or time: %s", env);
		return JPKI_OK;
	}
	*out = (int64_t)time(NULL);
	return JPKI_OK;
}

int64_t
jpki_now(void)
{
	static int warned;
	int64_t t;

	if (jpki_now_checked(&t) != JPKI_OK) {
		if (!warned)
			fprintf(stderr, "jpki: %s; using the system clock\n",
			    jpki_errmsg());
		warned = 1;
		return (int64_t)time(NULL);
	}
	return t;
}
