/*
 * facts.c: the holder's four facts (R4) as a relying party shows them: the
 * signing certificate's otherNames (pki_cert_facts_read), the birth date
 * in its era as the certificate's era digit says (1 Meiji ... 5 Reiwa,
 * 0 unknown), the gender in words.
 */
#include "rp/rp_int.h"

#include <stdio.h>
#include <string.h>

int
rp_facts_read(X509 *x, struct rp_facts *out)
{
	struct jdate d = {0};
	int r, era;

	memset(out, 0, sizeof(*out));
	if ((r = pki_cert_facts_read(x, &out->raw)) != JPKI_OK)
		return r;
	era = out->raw.birth != NULL && strlen(out->raw.birth) == 9 ?
	    out->raw.birth[0] - '0' : 0;
	out->era_name = rules_era_name(era, 0);
	if (era >= 1 && era <= 5 && sscanf(out->raw.birth + 1, "%4d%2d%2d",
	    &d.y, &d.m, &d.d) == 3 && jdate_valid(d)) {
		jdate_format(d, out->birth_iso);
		rules_era_date_ja(d, out->birth_era, sizeof(out->birth_era));
	}
	out->gender_name = out->raw.gender == 1 ? "male" :
	    out->raw.gender == 2 ? "female" : "unknown";
	return JPKI_OK;
}

void
rp_facts_free(struct rp_facts *f)
{
	pki_cert_facts_free(&f->raw);
	memset(f, 0, sizeof(*f));
}
