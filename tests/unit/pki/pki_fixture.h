/*
 * pki_fixture.h: what the pki tests share: our names and the real J-LIS
 * ones, a holder with Japanese facts, RSA keys made in the test, and a CA
 * with signing and authentication end-entity certificates.
 */
#ifndef JPKI_PKI_FIXTURE_H
#define JPKI_PKI_FIXTURE_H

#include "pki/pki.h"
#include "test.h"

#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

static const struct pki_names our_names = {
	.org = "OpenJPKI",
	.ou_sign = "OpenJPKI for digital signature",
	.ou_auth = "OpenJPKI for user authentication",
	.ou_agency = "OpenJPKI Certification Centre",
	.service_ja = "公的個人認証サービス",
	.service_ou_sign_ja = "公的個人認証サービス署名用",
	.service_ou_auth_ja = "公的個人認証サービス利用者証明用",
	.agency_ja = "オープン認証センター",
};

/* The real CA certificates' names (reference/jpki-ca). */
static const struct pki_names real_names = {
	.org = "JPKI",
	.ou_sign = "JPKI for digital signature",
	.ou_auth = "JPKI for user authentication",
	.ou_agency = "Japan Agency for Local Authority Information Systems",
	.service_ja = "公的個人認証サービス",
	.service_ou_sign_ja = "公的個人認証サービス署名用",
	.service_ou_auth_ja = "公的個人認証サービス利用者証明用",
	.agency_ja = "地方公共団体情報システム機構",
};

/* A holder: name with U+3000 between surname and given name, one
 * substitute character in the address. */
static const struct pki_holder_facts holder = {
	.name = "山田　太郎",
	.name_flags = "00000",
	.gender = 1,
	.birth = "319800217",
	.address = "東京都清瀬市中里１丁目２番３号",
	.address_flags = "000000000000010",
};

static const uint8_t ca_serial[] = {0x01};

static inline EVP_PKEY *
fixture_key(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);

	if (k == NULL) {
		fprintf(stderr, "cannot generate an RSA key\n");
		exit(1);
	}
	return k;
}

/* 16 random-looking bytes, top bit clear, different per tag. */
static inline void
fixture_serial(uint8_t serial[16], uint8_t tag)
{
	for (int i = 0; i < 16; i++)
		serial[i] = (uint8_t)(0x3C + 7 * i + 13 * tag);
	serial[0] &= 0x7F;
}

/* Parameters of an end-entity certificate of `type` under ca. */
static inline struct pki_ee_params
fixture_ee(enum cert_type type, X509 *ca, EVP_PKEY *pub,
    const uint8_t serial[16], int64_t nb, int64_t na)
{
	struct pki_ee_params p = {
		.type = type,
		.serial = serial,
		.serial_len = 16,
		.not_before = nb,
		.not_after = na,
		.subject_pub = pub,
		.ca_cert = ca,
		.names = &our_names,
		.cn = type == CERT_SIGN ? "20260401ABCD0001" : "A1B2C3D4E5F60718",
		.cps_uri = "http://openjpki.example/cps.html",
		.crl_uri = "http://openjpki.example/crl/sign-07.crl",
		.ocsp_uri = "http://openjpki.example/ocsp/sign",
		.ca_issuers_uri = "http://openjpki.example/ca/sign.der",
	};
	if (type == CERT_SIGN) {
		p.pref_romaji = "Tokyo-to";
		p.city_romaji = "Kiyose-shi";
		p.facts = &holder;
	} else {
		p.crl_uri = "http://openjpki.example/crl/auth-07.crl";
		p.ocsp_uri = "http://openjpki.example/ocsp/auth";
		p.ca_issuers_uri = "http://openjpki.example/ca/auth.der";
	}
	return p;
}

/* A self-signed CA certificate, built and signed with key (the CA module
 * signs through its key seam; these tests hold the key). */
static inline int
fixture_ca_cert_build(enum cert_type t, const struct pki_names *n,
    EVP_PKEY *key, const uint8_t *serial, size_t serial_len, int64_t nb,
    int64_t na, X509 **out)
{
	int r = pki_ca_cert_build(t, n, key, serial, serial_len, nb, na, out);

	if (r == JPKI_OK && (r = pki_cert_sign(*out, key)) != JPKI_OK) {
		X509_free(*out);
		*out = NULL;
	}
	return r;
}

/* A delegated responder certificate, built and signed with ca_key. */
static inline int
fixture_ocsp_cert_build(enum cert_type t, const struct pki_names *n,
    X509 *ca_cert, EVP_PKEY *ca_key, EVP_PKEY *responder_pub,
    const uint8_t *serial, size_t serial_len, int64_t nb, int64_t na,
    X509 **out)
{
	int r = pki_ocsp_cert_build(t, n, ca_cert, responder_pub, serial,
	    serial_len, nb, na, out);

	if (r == JPKI_OK && (r = pki_cert_sign(*out, ca_key)) != JPKI_OK) {
		X509_free(*out);
		*out = NULL;
	}
	return r;
}

/* Build and sign; NULL (with the message printed) on failure. */
static inline X509 *
fixture_issue(const struct pki_ee_params *p, EVP_PKEY *ca_key)
{
	X509 *x = NULL;
	int r;

	if ((r = pki_ee_cert_build(p, &x)) || (r = pki_cert_sign(x, ca_key))) {
		fprintf(stderr, "issue: %s: %s\n", jpki_strerr(r),
		    jpki_errmsg());
		X509_free(x);
		return NULL;
	}
	return x;
}

#endif
