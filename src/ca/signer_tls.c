/*
 * signer_tls.c: mutual TLS for `jpki signer` over TCP, and its small PKI
 * (signer_tls.h; ca.h: ca_signer_tls_init, ca_signer_tls_issue_client).
 */
#include "ca/ca_impl.h"
#include "ca/signer_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int
tls_fail(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return jpki_fail(JPKI_ERR_CRYPTO, "signer TLS: %s%s%s", what,
	    e ? ": " : "", e ? buf : "");
}

static int
ctx_new(const SSL_METHOD *m, const char *cert, const char *key,
    const char *ca, SSL_CTX **out)
{
	SSL_CTX *ctx;
	char what[JPKI_PATH_MAX + 32];

	*out = NULL;
	if ((ctx = SSL_CTX_new(m)) == NULL)
		return tls_fail("context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(what, sizeof(what), "certificate %s", cert);
		SSL_CTX_free(ctx);
		return tls_fail(what);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(what, sizeof(what), "key %s", key);
		SSL_CTX_free(ctx);
		return tls_fail(what);
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		snprintf(what, sizeof(what), "CA certificate %s", ca);
		SSL_CTX_free(ctx);
		return tls_fail(what);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	*out = ctx;
	return JPKI_OK;
}

int
signer_tls_client_ctx(const char *cert, const char *key, const char *ca,
    SSL_CTX **out)
{
	return ctx_new(TLS_client_method(), cert, key, ca, out);
}

int
signer_tls_server_ctx(const char *cert, const char *key, const char *ca,
    SSL_CTX **out)
{
	int r;

	if ((r = ctx_new(TLS_server_method(), cert, key, ca, out)) != JPKI_OK)
		return r;
	/* Each connection is long-lived; no tickets to keep. */
	SSL_CTX_set_num_tickets(*out, 0);
	return JPKI_OK;
}

int
signer_tls_connect(SSL_CTX *ctx, struct signer_conn *c, const char *host,
    const char *where)
{
	char what[JPKI_PATH_MAX + 32];

	if ((c->ssl = SSL_new(ctx)) == NULL)
		return tls_fail("session");
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, host);
	if (SSL_set1_host(c->ssl, host) != 1)
		return tls_fail("server name");
	if (SSL_connect(c->ssl) != 1) {
		long v = SSL_get_verify_result(c->ssl);

		snprintf(what, sizeof(what), "%s: handshake%s%s", where,
		    v != X509_V_OK ? ": " : "", v != X509_V_OK ?
		    X509_verify_cert_error_string(v) : "");
		SSL_free(c->ssl);
		c->ssl = NULL;
		return tls_fail(what);
	}
	return JPKI_OK;
}

int
signer_tls_accept(SSL_CTX *ctx, struct signer_conn *c, char *peer, size_t n)
{
	X509 *x;

	if ((c->ssl = SSL_new(ctx)) == NULL)
		return tls_fail("session");
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_accept(c->ssl) != 1) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		return tls_fail("handshake");
	}
	snprintf(peer, n, "tls:?");
	if ((x = SSL_get1_peer_certificate(c->ssl)) != NULL) {
		char cn[128] = "";

		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
		    NID_commonName, cn, sizeof(cn));
		snprintf(peer, n, "tls:%s", cn);
		X509_free(x);
	}
	return JPKI_OK;
}

/* ---- the signer PKI --------------------------------------------------------- */

static int
ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return tls_fail("extension");
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? JPKI_OK : tls_fail("extension");
}

/* A certificate for key, named cn, signed by issuer_key (issuer NULL:
 * self-signed CA). kind: 0 CA, 1 server (san), 2 client. */
static int
cert_make(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    int kind, const char *san, int days, X509 **out)
{
	uint8_t serial[CA_SERIAL_LEN];
	X509 *x;
	X509_NAME *name;
	BIGNUM *bn = NULL;
	int r;

	*out = NULL;
	if ((r = ca_serial_random(serial)) != JPKI_OK)
		return r;
	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL) {
		X509_free(x);
		return tls_fail("certificate");
	}
	if (!X509_set_version(x, X509_VERSION_3) ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"openjpki signer", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
	    name) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, NULL) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) ||
	    !X509_set_pubkey(x, key)) {
		r = tls_fail("certificate");
		goto out;
	}
	if ((r = ext_add(x, issuer, NID_subject_key_identifier, "hash")) ||
	    (r = ext_add(x, issuer, NID_authority_key_identifier,
	    "keyid:always")))
		goto out;
	if (kind == 0)
		r = ext_add(x, NULL, NID_basic_constraints,
		    "critical,CA:TRUE,pathlen:0") || ext_add(x, NULL,
		    NID_key_usage, "critical,keyCertSign,cRLSign");
	else
		r = ext_add(x, issuer, NID_basic_constraints,
		    "critical,CA:FALSE") || ext_add(x, issuer, NID_key_usage,
		    "critical,digitalSignature") || ext_add(x, issuer,
		    NID_ext_key_usage, kind == 1 ? "serverAuth" :
		    "clientAuth") || (kind == 1 && ext_add(x, issuer,
		    NID_subject_alt_name, san));
	if (r) {
		r = tls_fail("certificate extensions");
		goto out;
	}
	if (!X509_sign(x, issuer_key, EVP_sha256())) {
		r = tls_fail("signing a certificate");
		goto out;
	}
	*out = x;
	x = NULL;
out:
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	return r;
}

static int
key_writer(FILE *f, void *k)
{
	return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

static int
pair_write(const char *dir, const char *base, EVP_PKEY *key, X509 *x)
{
	char path[JPKI_PATH_MAX];
	int r;

	if ((r = jpki_path(path, sizeof(path), "%s/%s.key", dir, base)) ||
	    (r = ca_pem_write(path, 0600, key_writer, key)) ||
	    (r = jpki_path(path, sizeof(path), "%s/%s.pem", dir, base)))
		return r;
	return ca_cert_write(path, x);
}

int
ca_signer_tls_init(const char *dir, const char *names)
{
	EVP_PKEY *ca_key = NULL, *key = NULL;
	X509 *ca = NULL, *srv = NULL;
	char san[1024], first[256];
	size_t n = 0;
	int r;

	/* "host,10.0.0.1" -> "DNS:host,IP:10.0.0.1" */
	san[0] = '\0';
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(names, ","),
	    names);
	for (const char *p = names; *p; ) {
		size_t len = strcspn(p, ",");
		char item[256];
		unsigned char ip[16];
		int is_ip;

		if (len == 0 || len >= sizeof(item))
			return jpki_fail(JPKI_ERR_INPUT, "signer TLS: a server "
			    "name of 1 to %zu bytes", sizeof(item) - 1);
		memcpy(item, p, len);
		item[len] = '\0';
		is_ip = inet_pton(AF_INET, item, ip) == 1 ||
		    inet_pton(AF_INET6, item, ip) == 1;
		n += (size_t)snprintf(san + n, sizeof(san) - n, "%s%s:%s",
		    n ? "," : "", is_ip ? "IP" : "DNS", item);
		if (n >= sizeof(san))
			return jpki_fail(JPKI_ERR_INPUT, "signer TLS: too many "
			    "server names");
		p += len;
		if (*p == ',')
			p++;
	}
	if ((r = ca_make_dir(dir, 0700)) != JPKI_OK)
		return r;
	if ((ca_key = EVP_EC_gen("P-256")) == NULL ||
	    (key = EVP_EC_gen("P-256")) == NULL) {
		r = tls_fail("key generation");
		goto out;
	}
	if ((r = cert_make(ca_key, "openjpki signer CA", NULL, ca_key, 0, NULL,
	    SIGNER_TLS_CA_DAYS, &ca)) ||
	    (r = cert_make(key, first, ca, ca_key, 1, san, SIGNER_TLS_CERT_DAYS,
	    &srv)) ||
	    (r = pair_write(dir, "ca", ca_key, ca)) ||
	    (r = pair_write(dir, "server", key, srv)))
		goto out;
out:
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	X509_free(ca);
	X509_free(srv);
	return r;
}

int
ca_signer_tls_issue_client(const char *dir, const char *name,
    const char *out_dir)
{
	EVP_PKEY *ca_key = NULL, *key = NULL;
	X509 *ca = NULL, *cli = NULL;
	char path[JPKI_PATH_MAX];
	FILE *f;
	int r;

	if ((r = jpki_path(path, sizeof(path), "%s/ca.key", dir)) != JPKI_OK)
		return r;
	if ((f = fopen(path, "r")) == NULL)
		return jpki_fail(JPKI_ERR_NOTFOUND, "%s: %s (no signer PKI "
		    "here yet)", path, strerror(errno));
	ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (ca_key == NULL)
		return jpki_fail(JPKI_ERR_CRYPTO, "%s: not a PEM key", path);
	if ((r = jpki_path(path, sizeof(path), "%s/ca.pem", dir)) ||
	    (r = ca_cert_read(path, &ca)) ||
	    (r = ca_make_dir(out_dir, 0700)))
		goto out;
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		r = tls_fail("key generation");
		goto out;
	}
	if ((r = cert_make(key, name, ca, ca_key, 2, NULL,
	    SIGNER_TLS_CERT_DAYS, &cli)) ||
	    (r = pair_write(out_dir, "client", key, cli)) ||
	    (r = jpki_path(path, sizeof(path), "%s/ca.pem", out_dir)) ||
	    (r = ca_cert_write(path, ca)))
		goto out;
out:
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	X509_free(ca);
	X509_free(cli);
	return r;
}
