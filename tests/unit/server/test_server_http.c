/*
 * test_server_http.c: the server's HTTP pieces that need no socket: dates
 * written and read as RFC 9110 5.6.7 says, entity tags, and the latency
 * histogram's buckets as /metrics prints them.
 */
#include "server/server_impl.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_http_date_is_imf_fixdate_and_reads_back(void)
{
	static const struct {
		int64_t t;
		const char *text;
	} table[] = {
		{784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},  /* RFC 9110's */
		{0, "Thu, 01 Jan 1970 00:00:00 GMT"},
		{1803567600, "Thu, 25 Feb 2027 15:00:00 GMT"},
		{1709251199, "Thu, 29 Feb 2024 23:59:59 GMT"},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		char buf[HTTP_DATE_LEN];
		int64_t back = -1;

		http_date_format(table[i].t, buf);
		CHECK_STR(buf, table[i].text);
		CHECK_INT(http_date_parse(table[i].text, &back), JPKI_OK);
		CHECK(back == table[i].t);
	}
}

static void
test_http_date_refuses_what_is_not_imf_fixdate(void)
{
	static const char *bad[] = {
		"", "yesterday", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37",
		"Sun, 06 Nov 1994 08:49:37 GMT trailing",
		"Sun, 06 Xyz 1994 08:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t t;

		CHECK(http_date_parse(bad[i], &t) != JPKI_OK);
	}
}

static void
test_etag_is_the_quoted_sha256_prefix(void)
{
	char tag[HTTP_ETAG_LEN];

	http_etag_of("abc", 3, tag);
	/* SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223... */
	CHECK_STR(tag, "\"ba7816bf8f01cfea414140de5dae2223\"");
}

static void
test_latency_lands_in_its_bucket_and_every_one_above(void)
{
	struct server_metrics *m = calloc(1, sizeof(*m));
	struct jbuf out;

	server_metrics_count(m, ROUTE_OCSP, 200, 700);        /* 0.7 ms */
	server_metrics_count(m, ROUTE_OCSP, 200, 1000);       /* on a bound */
	server_metrics_count(m, ROUTE_OCSP, 404, 3000000);    /* over 2.5 s */
	server_metrics_count(m, ROUTE_CRL, 299, 10);          /* other status */
	jbuf_init(&out);
	CHECK_INT(server_metrics_render(m, &out), JPKI_OK);
	CHECK_INT(jbuf_put_u8(&out, 0), JPKI_OK);
	CHECK(strstr((char *)out.data, "jpki_serve_request_duration_seconds_"
	    "bucket{route=\"ocsp\",le=\"0.0005\"} 0\n") != NULL);
	CHECK(strstr((char *)out.data, "jpki_serve_request_duration_seconds_"
	    "bucket{route=\"ocsp\",le=\"0.001\"} 2\n") != NULL);
	CHECK(strstr((char *)out.data, "jpki_serve_request_duration_seconds_"
	    "bucket{route=\"ocsp\",le=\"2.5\"} 2\n") != NULL);
	CHECK(strstr((char *)out.data, "jpki_serve_request_duration_seconds_"
	    "bucket{route=\"ocsp\",le=\"+Inf\"} 3\n") != NULL);
	CHECK(strstr((char *)out.data, "jpki_serve_requests_total{route="
	    "\"ocsp\",status=\"404\"} 1\n") != NULL);
	CHECK(strstr((char *)out.data, "jpki_serve_requests_total{route="
	    "\"crl\",status=\"other\"} 1\n") != NULL);
	jbuf_free(&out);
	free(m);
}

int
main(void)
{
	test_http_date_is_imf_fixdate_and_reads_back();
	test_http_date_refuses_what_is_not_imf_fixdate();
	test_etag_is_the_quoted_sha256_prefix();
	test_latency_lands_in_its_bucket_and_every_one_above();
	return test_summary();
}
