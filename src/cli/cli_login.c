/*
 * cli_login.c: `jpki login`, the card holder's side of logging in to a
 * relying party with the authentication certificate (src/rp/login.c):
 * POST URL/rp/challenge for a nonce, the 4-digit PIN (JPKI_AUTH_PIN or a
 * prompt), the card signs SHA-256(origin) || SHA-256(nonce), POST
 * URL/rp/login with the token, and the relying party's answer.
 *
 *   --origin O      sign for origin O instead of URL's own (what a
 *                   phishing page relaying another site's challenge gets;
 *                   for testing a relying party's refusal)
 *   --token-out F   also write the token sent (JSON) to F
 *   --dry-run       ask the challenge and sign, but send nothing
 *
 * Exit status: 0 logged in, 1 refused, 2 bad input, 3 the relying party
 * could not be reached.
 */
#include "cli/cli_rp.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char login_usage[] =
    "usage: jpki login (--card FILE | --reader NAME) --url URL [--origin O]\n"
    "                  [--token-out FILE] [--dry-run] [--json]\n"
    "       log in to the relying party at URL (its /rp/challenge and\n"
    "       /rp/login) with the authentication certificate; the PIN from\n"
    "       JPKI_AUTH_PIN or asked\n";

/* URL without a trailing slash, then path. */
int
cli_rp_endpoint(const char *url, const char *path, char *out, size_t n)
{
	size_t len = strlen(url);

	while (len > 0 && url[len - 1] == '/')
		len--;
	if ((size_t)snprintf(out, n, "%.*s%s", (int)len, url, path) >= n)
		return jpki_fail(JPKI_ERR_INPUT, "--url: too long");
	return JPKI_OK;
}

int
cli_rp_post_json(const char *url, const char *body, size_t max, json_t **out,
    unsigned *status)
{
	struct rp_http_answer a;
	json_error_t jerr;
	int r;

	*out = NULL;
	if ((r = rp_http_post(url, "application/json", body, strlen(body),
	    max, &a)) != JPKI_OK)
		return r;
	*status = a.status;
	if ((*out = json_loadb((const char *)a.body.data, a.body.len, 0,
	    &jerr)) == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		r = jpki_fail(JPKI_ERR_INPUT, "%s: HTTP %u and not a JSON "
		    "object", url, a.status);
	}
	rp_http_answer_free(&a);
	return r;
}

/* The login token of Web eID's shape, with the nonce (and origin) it
 * answers. */
int
cli_rp_login_token(struct card_transport *t, const char *origin, const char *nonce,
    char **token)
{
	uint8_t digest[32], sig[CARD_SIG_LEN];
	char sig_b64[CARD_SIG_LEN / 3 * 4 + 8], *cert_b64 = NULL;
	struct jbuf der;
	json_t *j;
	int r;

	jbuf_init(&der);
	if ((r = card_client_read_cert(t, CARD_CERT_AUTH, &der)) != JPKI_OK ||
	    (r = rp_login_digest(origin, nonce, digest)) != JPKI_OK ||
	    (r = cli_rp_card_verify(t, PIN_AUTH)) != JPKI_OK ||
	    (r = card_client_sign_sha256(t, CERT_AUTH, digest, sig)) !=
	    JPKI_OK)
		goto done;
	if ((cert_b64 = malloc(der.len / 3 * 4 + 8)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto done;
	}
	EVP_EncodeBlock((unsigned char *)cert_b64, der.data, (int)der.len);
	EVP_EncodeBlock((unsigned char *)sig_b64, sig, sizeof(sig));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "certificate",
	    cert_b64, "algorithm", RP_LOGIN_ALGORITHM, "signature", sig_b64,
	    "format", RP_LOGIN_FORMAT, "nonce", nonce, "origin", origin);
	if (j == NULL || (*token = json_dumps(j, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	json_decref(j);
done:
	free(cert_b64);
	jbuf_free(&der);
	return r;
}

int
cli_login(int argc, char **argv)
{
	const char *card = NULL, *reader = NULL, *url = NULL, *origin_opt = NULL,
	    *token_out = NULL, *nonce;
	int json = 0, dry_run = 0, r;
	const struct cli_opt opts[] = {
	    {"card", CLI_VALUE, .value = &card},
	    {"reader", CLI_TEXT, .value = &reader},
	    {"url", CLI_VALUE, .value = &url},
	    {"origin", CLI_VALUE, .value = &origin_opt},
	    {"token-out", CLI_VALUE, .value = &token_out},
	    {"dry-run", CLI_FLAG, .flag = &dry_run},
	};
	struct cli_command cmd = {.usage = login_usage, .opts = opts,
	    .nopts = JPKI_ARRAY_LEN(opts), .json = &json};
	char origin[RP_ORIGIN_MAX + 1], at[1024], *token = NULL;
	struct card_transport *t = NULL;
	json_t *challenge = NULL, *answer = NULL;
	unsigned status = 0;

	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	if (url == NULL)
		return cli_usage("login needs --url URL (jpki login --help)");
	if ((r = rp_origin_of(origin_opt != NULL ? origin_opt : url,
	    origin)) != JPKI_OK || (r = cli_rp_card_open(card, reader, &t)) !=
	    JPKI_OK || (r = cli_rp_endpoint(url, "/rp/challenge", at,
	    sizeof(at))) != JPKI_OK || (r = cli_rp_post_json(at, "",
	    RP_HTTP_JSON_MAX, &challenge, &status)) != JPKI_OK)
		goto done;
	if (status != 200 || (nonce = json_string_value(json_object_get(
	    challenge, "nonce"))) == NULL || strlen(nonce) > RP_NONCE_B64_LEN) {
		r = jpki_fail(JPKI_ERR_INPUT, "%s: HTTP %u, no nonce", at,
		    status);
		goto done;
	}
	if ((r = cli_rp_login_token(t, origin, nonce, &token)) != JPKI_OK ||
	    (token_out != NULL && (r = cli_write_file("--token-out", token_out,
	    token, strlen(token))) != JPKI_OK))
		goto done;
	if (dry_run) {
		if (json)
			cli_print_json(json_pack("{s:s, s:s, s:s}", "result",
			    "signed", "nonce", nonce, "origin", origin));
		else
			printf("signed the challenge for %s (not sent)\n",
			    origin);
		goto done;
	}
	if ((r = cli_rp_endpoint(url, "/rp/login", at, sizeof(at))) != JPKI_OK ||
	    (r = cli_rp_post_json(at, token, RP_HTTP_JSON_MAX,
	    &answer, &status)) != JPKI_OK)
		goto done;
	if (json)
		cli_print_json(json_incref(answer));
	if (status == 200 && json_is_string(json_object_get(answer,
	    "subject"))) {
		if (!json)
			printf("logged in as %s (serial %s)\n",
			    json_string_value(json_object_get(answer,
			    "subject")), json_string_value(json_object_get(
			    answer, "serial")));
	} else {
		const char *e = json_string_value(json_object_get(answer,
		    "error")), *why = json_string_value(json_object_get(answer,
		    "why"));

		r = jpki_fail(status >= 500 ? JPKI_ERR_IO : status == 400 ?
		    JPKI_ERR_INPUT : JPKI_ERR_REFUSED, "login: HTTP %u: %s: %s",
		    status, e != NULL ? e : "refused", why != NULL ? why : "");
	}
done:
	if (token != NULL) {
		jpki_wipe(token, strlen(token));
		free(token);
	}
	json_decref(challenge);
	json_decref(answer);
	card_transport_free(&t);
	return cli_report(r);
}
