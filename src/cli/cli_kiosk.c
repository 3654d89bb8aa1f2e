/*
 * cli_kiosk.c: `jpki kiosk`, the convenience-store kiosk's side of a
 * residence certificate (住民票の写し, R5): log in with the authentication
 * certificate (the login client's challenge and token, cli_login.c: the
 * 4-digit PIN from JPKI_AUTH_PIN or a prompt), send the token to the
 * municipality's POST URL/kiosk/residence, and write the signed PDF it
 * answers, with the receipt.
 *
 *   --receipt F     also write the receipt (JSON) to F
 *   --token-out F   also write the login token sent (JSON) to F
 *   --token F       send the token in F instead of signing one (no card:
 *                   for testing the municipality's refusal of a replay)
 *
 * Exit status: 0 issued, 1 refused, 2 bad input, 3 the municipality could
 * not be reached.
 */
#include "cli/cli_rp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char kiosk_usage[] =
    "usage: jpki kiosk (--card FILE | --reader NAME | --token FILE) --url URL\n"
    "                  --document residence --out FILE.pdf\n"
    "                  [--receipt FILE.json] [--token-out FILE] [--json]\n"
    "       a residence certificate (住民票の写し) from the municipality's\n"
    "       kiosk at URL (its /kiosk/challenge and /kiosk/residence), after\n"
    "       logging in with the authentication certificate; the PIN from\n"
    "       JPKI_AUTH_PIN or asked\n";

/* The token to send: signed now on the card, or read from --token. */
static int
token_get(const char *card, const char *reader, const char *token_in,
    const char *url, char **token)
{
	char at[1024], origin[RP_ORIGIN_MAX + 1];
	struct card_transport *t = NULL;
	json_t *challenge = NULL;
	const char *nonce;
	struct jbuf in;
	unsigned status = 0;
	int r;

	*token = NULL;
	if (token_in != NULL) {
		jbuf_init(&in);
		if ((r = file_read_all(token_in, RP_LOGIN_BODY_MAX, &in)) !=
		    JPKI_OK)
			return r;
		if ((*token = calloc(1, in.len + 1)) == NULL)
			r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		else
			memcpy(*token, in.data, in.len);
		jbuf_free(&in);
		return r;
	}
	if ((r = rp_origin_of(url, origin)) != JPKI_OK ||
	    (r = cli_rp_card_open(card, reader, &t)) != JPKI_OK ||
	    (r = cli_rp_endpoint(url, "/kiosk/challenge", at, sizeof(at))) !=
	    JPKI_OK || (r = cli_rp_post_json(at, "", RP_HTTP_JSON_MAX,
	    &challenge, &status)) != JPKI_OK)
		goto done;
	if (status != 200 || (nonce = json_string_value(json_object_get(
	    challenge, "nonce"))) == NULL || strlen(nonce) > RP_NONCE_B64_LEN) {
		r = jpki_fail(status == 404 ? JPKI_ERR_IO : JPKI_ERR_INPUT,
		    "%s: HTTP %u, no nonce%s", at, status, status == 404 ?
		    " (is the kiosk on: jpki serve --kiosk?)" : "");
		goto done;
	}
	r = cli_rp_login_token(t, origin, nonce, token);
done:
	json_decref(challenge);
	card_transport_free(&t);
	return r;
}

/* The document out of the answer, into --out. */
static int
document_write(json_t *answer, const char *out)
{
	const char *b64 = json_string_value(json_object_get(answer,
	    "document"));
	size_t n = b64 != NULL ? strlen(b64) : 0, len = 0;
	uint8_t *pdf;
	int r;

	if (n == 0 || n > RP_KIOSK_ANSWER_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "kiosk: the answer carries no "
		    "document");
	if ((pdf = malloc(n / 4 * 3 + 3)) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if ((r = rp_b64_decode(b64, n, pdf, n / 4 * 3 + 3, &len)) ==
	    JPKI_OK) {
		if (len < 5 || memcmp(pdf, "%PDF-", 5) != 0)
			r = jpki_fail(JPKI_ERR_INPUT, "kiosk: the document is "
			    "not a PDF");
		else
			r = cli_write_file("--out", out, pdf, len);
	}
	free(pdf);
	return r;
}

static void
receipt_print(const char *out, json_t *rc)
{
	json_t *fee = json_array_get(json_object_get(rc, "fees"), 0);

	printf("issued 住民票の写し to %s\n", out);
	printf("document     %s, 交付番号 %s\n", json_string_value(
	    json_object_get(rc, "municipality")), json_string_value(
	    json_object_get(rc, "document_number")));
	printf("issued at    %s\n", json_string_value(json_object_get(rc,
	    "issued_at")));
	printf("receipt      %lld: %s %lld円\n", (long long)json_integer_value(
	    json_object_get(rc, "number")), json_string_value(json_object_get(
	    fee, "label")), (long long)json_integer_value(json_object_get(fee,
	    "yen")));
	printf("total        %lld円\n", (long long)json_integer_value(
	    json_object_get(rc, "total_yen")));
}

int
cli_kiosk(int argc, char **argv)
{
	const char *card = NULL, *reader = NULL, *url = NULL, *document = NULL,
	    *out = NULL, *receipt_out = NULL, *token_out = NULL,
	    *token_in = NULL;
	int json = 0, r;
	const struct cli_opt opts[] = {
	    {"card", CLI_VALUE, .value = &card},
	    {"reader", CLI_TEXT, .value = &reader},
	    {"token", CLI_VALUE, .value = &token_in},
	    {"url", CLI_VALUE, .value = &url},
	    {"document", CLI_VALUE, .value = &document},
	    {"out", CLI_VALUE, .value = &out},
	    {"receipt", CLI_VALUE, .value = &receipt_out},
	    {"token-out", CLI_VALUE, .value = &token_out},
	};
	struct cli_command cmd = {.usage = kiosk_usage, .opts = opts,
	    .nopts = JPKI_ARRAY_LEN(opts), .json = &json};
	char at[1024], *token = NULL, *rc_text = NULL;
	json_t *answer = NULL, *rc;
	unsigned status = 0;

	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	if (url == NULL || out == NULL || document == NULL)
		return cli_usage("kiosk needs --url URL, --document residence "
		    "and --out FILE.pdf (jpki kiosk --help)");
	if (strcmp(document, "residence") != 0)
		return cli_usage("--document: only residence (住民票の写し) is "
		    "issued here, not '%s'", document);
	if (token_in != NULL && (card != NULL || reader != NULL))
		return cli_usage("--token sends a token already signed: no "
		    "--card or --reader with it");
	if ((r = token_get(card, reader, token_in, url, &token)) != JPKI_OK ||
	    (token_out != NULL && (r = cli_write_file("--token-out",
	    token_out, token, strlen(token))) != JPKI_OK) ||
	    (r = cli_rp_endpoint(url, "/kiosk/residence", at, sizeof(at))) !=
	    JPKI_OK || (r = cli_rp_post_json(at, token, RP_KIOSK_ANSWER_MAX,
	    &answer, &status)) != JPKI_OK)
		goto done;
	rc = json_object_get(answer, "receipt");
	if (status != 200 || !json_is_object(rc)) {
		const char *e = json_string_value(json_object_get(answer,
		    "error")), *why = json_string_value(json_object_get(answer,
		    "why"));

		if (json)
			cli_print_json(json_incref(answer));
		r = jpki_fail(status >= 500 ? JPKI_ERR_IO : status == 400 ?
		    JPKI_ERR_INPUT : JPKI_ERR_REFUSED, "kiosk: HTTP %u: %s: %s",
		    status, e != NULL ? e : "refused", why != NULL ? why : "");
		goto done;
	}
	if ((r = document_write(answer, out)) != JPKI_OK)
		goto done;
	if (receipt_out != NULL) {
		if ((rc_text = json_dumps(rc, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER)) == NULL) {
			r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
			goto done;
		}
		if ((r = cli_write_file("--receipt", receipt_out, rc_text,
		    strlen(rc_text))) != JPKI_OK)
			goto done;
	}
	if (json) {
		json_object_del(answer, "document");
		json_object_set_new(answer, "out", json_string(out));
		cli_print_json(json_incref(answer));
	} else {
		receipt_print(out, rc);
	}
done:
	if (token != NULL) {
		jpki_wipe(token, strlen(token));
		free(token);
	}
	free(rc_text);
	json_decref(answer);
	return cli_report(r);
}
