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
/* The data directory's CAs and store (when there is one) and --anchors;
 * env is closed by the caller (cli_close). */
int cli_rp_verifier(const char *data, const char *anchors, unsigned flags,
    struct cli_env *env, struct rp_verifier **v);

#endif
