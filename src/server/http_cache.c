/*
 * http_cache.c: HTTP caching for the server's answers (RFC 9110 and 9111,
 * RFC 5019 section 6.2 for OCSP): HTTP-dates written and read, entity tags,
 * and the conditional-request test that turns a GET into 304 Not Modified.
 *
 * Dates are written with our own day and month names, never strftime's
 * %a/%b, which follow the locale.  Only the IMF-fixdate form is read
 * (RFC 9110 5.6.7 obliges a recipient to accept the two obsolete forms as
 * well; a date we cannot read is ignored, which only costs a full answer).
 */
#include "server/server_impl.h"

#include <microhttpd.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
    "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void
http_date_format(int64_t t, char buf[static HTTP_DATE_LEN])
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	snprintf(buf, HTTP_DATE_LEN, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int
http_date_parse(const char *s, int64_t *out)
{
	char wd[4], mon[4];
	struct tm tm;
	int m = -1, end = 0;

	memset(&tm, 0, sizeof(tm));
	/* "Sun, 06 Nov 1994 08:49:37 GMT", nothing after. */
	if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wd,
	    &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &end) != 7 || end == 0 || s[end] != '\0')
		return JPKI_ERR_INPUT;
	for (int i = 0; i < 12; i++)
		if (strcmp(mon, months[i]) == 0)
			m = i;
	if (m < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return JPKI_ERR_INPUT;
	tm.tm_mon = m;
	tm.tm_year -= 1900;
	*out = (int64_t)timegm(&tm);
	return JPKI_OK;
}

void
http_etag_of(const void *data, size_t len, char buf[static HTTP_ETAG_LEN])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[SHA256_DIGEST_LENGTH];
	size_t n = 0;

	SHA256(data, len, md);
	buf[n++] = '"';
	for (size_t i = 0; i < 16; i++) {
		buf[n++] = hex[md[i] >> 4];
		buf[n++] = hex[md[i] & 15];
	}
	buf[n++] = '"';
	buf[n] = '\0';
}

/* Whether etag is in an If-None-Match list ("*", or tags separated by
 * commas; a W/ prefix ignored: If-None-Match compares weakly, RFC 9110
 * 13.1.2). */
static int
etag_listed(const char *list, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = list;

	while (*p != '\0') {
		const char *q;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		q = p;
		while (*q != '\0' && *q != ',' && *q != ' ' && *q != '\t')
			q++;
		if ((size_t)(q - p) == el && memcmp(p, etag, el) == 0)
			return 1;
		p = q;
	}
	return 0;
}

int
http_not_modified(struct MHD_Connection *c, const char *etag,
    int64_t last_modified)
{
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_NONE_MATCH);
	const char *ims;
	int64_t since;

	/* RFC 9110 13.2.2: If-None-Match, when present, decides alone. */
	if (inm != NULL)
		return etag != NULL && etag_listed(inm, etag);
	ims = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	return ims != NULL && last_modified > 0 &&
	    http_date_parse(ims, &since) == JPKI_OK && last_modified <= since;
}
