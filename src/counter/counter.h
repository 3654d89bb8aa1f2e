/*
 * counter: what happens at the municipal counter.  For now, the resident
 * register (register.c): adding residents one by one or from CSV, and
 * register changes, whose consequences for certificates (R6) are applied in
 * the same transaction as the change.
 */
#ifndef JPKI_COUNTER_H
#define JPKI_COUNTER_H

#include "ca/ca.h"

/* A resident as typed at the counter or read from a CSV row: text fields,
 * validated by register_parse(). NULL = not given. */
struct register_input {
	const char *number;       /* 12 digits with check digit */
	const char *name;         /* "SURNAME GIVEN" (ASCII or U+3000 space) */
	const char *kana;         /* optional */
	const char *address;
	const char *birth;        /* YYYY-MM-DD */
	const char *gender;       /* male | female | unknown */
	const char *municipality; /* 6-digit code; NULL: the deployment's */
};

/* Validate and fill a resident (no store access but the municipality).
 * JPKI_ERR_INPUT naming the field. */
int register_parse(struct ca *ca, const struct register_input *in,
    struct resident *out);
/* Add one resident with its audit entry; sets r->id. */
int register_add(struct ca *ca, struct resident *r, const char *actor);
/* Import a CSV file with a header line naming the columns number, name,
 * address, birth, gender and optionally kana, municipality.  All rows or
 * none: the first bad row is named and nothing is stored.  *added gets
 * the number of residents added. */
int register_import_csv(struct ca *ca, const void *data, size_t len,
    const char *actor, long *added);

/* A register change (R6): facts given (non-NULL) replace the current ones.
 * A change of name, address, birth date or gender revokes the holder's
 * valid signing certificates (affiliationChanged) in the same
 * transaction; the authentication certificate stays valid.  deceased = 1
 * records death and revokes both (cessationOfOperation).  *revoked gets
 * how many certificates were revoked. */
struct register_change {
	const char *name, *kana, *address, *birth, *gender;
	int deceased;
};
int register_change(struct ca *ca, int64_t id,
    const struct register_change *ch, const char *actor, int *revoked);

#endif
