/*
 * cli_ca.h: private to the `jpki ca` group: the generation commands
 * (cli_ca_gen.c) that cli_ca.c's table runs.
 */
#ifndef JPKI_CLI_CA_H
#define JPKI_CLI_CA_H

#include "cli/cli.h"
#include "ca/ca.h"
#include "pki/pki.h"

/* `ca show`: "generations" into each CA's object of o, warnings into
 * `warnings`; the text form of one CA's generations. */
int cli_ca_generations_show(struct cli_env *e, json_t *o, json_t *warnings);
void cli_ca_generations_print(json_t *side);
int cli_ca_export(struct cli_env *e, const char *dir, int json);
int cli_ca_rollover(struct cli_env *e, const char *type, const char *actor,
    int json);
int cli_ca_renew_responders(struct cli_env *e, const char *type,
    long long days, const char *actor, int json);

#endif
