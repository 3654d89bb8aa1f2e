/*
 * open_ca.h: for tests, benchmarks and test tools: a data directory made
 * as `jpki init` makes it, and its CAs opened with their keys, as the
 * commands that issue open them (support_ca_new does both, with the
 * defaults; the CLI's own way is cli_open).  And a resident put straight
 * into the store, for those that need one to issue to or to record
 * certificates of.
 */
#ifndef JPKI_SUPPORT_OPEN_CA_H
#define JPKI_SUPPORT_OPEN_CA_H

#include "ca/ca.h"
#include "datadir/datadir.h"

#include <stdio.h>
#include <string.h>

static inline int
support_datadir_init(const char *dir, const struct datadir_init_options *o)
{
	struct datadir *dd = NULL;
	int r;

	if ((r = datadir_create(dir, o, &dd)) == JPKI_OK &&
	    (r = ca_create(dd)) == JPKI_OK)
		r = datadir_create_finish(dd);
	datadir_close(&dd);
	return r;
}

/* The CAs of dir with `keys`, over their own read-write data directory,
 * closed with support_ca_close(). */
static inline int
support_ca_open(const char *dir, unsigned keys, struct ca **out)
{
	struct datadir *dd = NULL;
	int r;

	*out = NULL;
	if ((r = datadir_open(dir, DATADIR_READ_WRITE, &dd)) != JPKI_OK)
		return r;
	if ((r = ca_open(dd, keys, out)) != JPKI_OK)
		datadir_close(&dd);
	return r;
}

/* support_datadir_init with the defaults, as plain `jpki init` makes it,
 * then support_ca_open: dir's CAs with `keys`. */
static inline int
support_ca_new(const char *dir, unsigned keys, struct ca **out)
{
	struct datadir_init_options o;
	int r;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	if ((r = support_datadir_init(dir, &o)) != JPKI_OK)
		return r;
	return support_ca_open(dir, keys, out);
}

static inline void
support_ca_close(struct ca **ca)
{
	struct datadir *dd;

	if (*ca == NULL)
		return;
	dd = ca_datadir(*ca);
	ca_close(ca);
	datadir_close(&dd);
}

/* An individual number: n zero-padded as its first 11 digits (n below
 * 10^11), then its check digit. */
static inline void
support_individual_number(long n, char out[RESIDENT_NUMBER_LEN + 1])
{
	char digits[24];

	snprintf(digits, sizeof(digits), "%011ld", n);
	digits[11] = (char)('0' + rules_individual_number_check_digit(digits));
	digits[12] = '\0';
	memcpy(out, digits, RESIDENT_NUMBER_LEN + 1);
}

/* An active resident of ca's municipality, inserted into its store as
 * the register holds one: 山田 花子, female, born 1985-06-15 (so both
 * certificate types are allowed), living at address, with the individual
 * number support_individual_number(n) makes.  Its id in *id. */
static inline int
support_resident_add(struct ca *ca, long n, const char *address,
    int64_t *id)
{
	struct resident r;
	int rc;

	memset(&r, 0, sizeof(r));
	support_individual_number(n, r.number);
	strcpy(r.surname, "山田");
	strcpy(r.given, "花子");
	strcpy(r.name_flags, "00000");  /* 山田<U+3000>花子: one a character */
	snprintf(r.address, sizeof(r.address), "%s", address);
	memset(r.address_flags, '0', utf8_count(r.address, strlen(r.address)));
	r.birth = (struct jdate){1985, 6, 15};
	r.gender = GENDER_FEMALE;
	snprintf(r.municipality, sizeof(r.municipality), "%s",
	    datadir_config(ca_datadir(ca))->municipality);
	r.status = RESIDENT_ACTIVE;
	r.facts_version = 1;
	if ((rc = store_resident_insert(datadir_store(ca_datadir(ca)), &r)) !=
	    JPKI_OK)
		return rc;
	*id = r.id;
	return JPKI_OK;
}

#endif
