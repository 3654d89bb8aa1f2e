/*
 * cli_rp.h: what the relying party's commands share (cli_rp.c,
 * cli_login.c): the card reached by --card or --reader, its PIN asked and
 * verified, a certificate read from it, and the verifier of a command.
 */
#ifndef JPKI_CLI_RP_H
#define JPKI_CLI_RP_H

#include "cli/cli.h"
#include "base/base.h"
#include "card/card.h"
#include "rp/rp.h"

int cli_rp_card_open(const char *card, const char *reader,
    struct card_transport **t);
/* Ask for the PIN of k (JPKI_SIGN_PASSWORD / JPKI_AUTH_PIN, else the
 * terminal) and VERIFY it. */
int cli_rp_card_verify(struct card_transport *t, enum pin_kind k);
int cli_rp_card_cert(struct card_transport *t, enum card_cert which,
    X509 **out);
/* The login client's parts (cli_login.c), shared with the kiosk
 * (cli_kiosk.c): URL (without trailing slashes) + path; POST a JSON body
 * and read a JSON object answer of at most max bytes, whatever its
 * status; the Web eID style login token (JSON, malloc'd: the caller wipes
 * and frees it) for nonce and origin, signed on the card with the
 * authentication key after its PIN. */
int cli_rp_endpoint(const char *url, const char *path, char *out, size_t n);
int cli_rp_post_json(const char *url, const char *body, size_t max,
    json_t **out, unsigned *status);
int cli_rp_login_token(struct card_transport *t, const char *origin,
    const char *nonce, char **token);

/* The data directory's CAs and store (when there is one) and --anchors;
 * env is closed by the caller (cli_close). */
int cli_rp_verifier(const char *data, const char *anchors, unsigned flags,
    struct cli_env *env, struct rp_verifier **v);

#endif
