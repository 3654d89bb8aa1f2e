/*
 * fuzz_cardinfo.c: libFuzzer target for the host's parsers of the
 * card-info AP's files (cardinfo.c, cardinfo_sig.c): EF 0001, EF 0002,
 * the TLV header the client reads first, and the relying party's check of
 * EF 0003 and EF 0004.  Properties: a refused file leaves its fields
 * empty; an accepted one encodes and parses back to the same facts; bytes
 * that were never signed never verify.
 */
#include "card/card_int.h"

#include <stdlib.h>
#include <string.h>

static void
roundtrip(const struct card_info *info)
{
	struct card_info back;
	struct jbuf num, facts;

	memset(&back, 0, sizeof(back));
	jbuf_init(&num);
	jbuf_init(&facts);
	if (card_info_encode_number(info, &num) != JPKI_OK ||
	    card_info_encode_facts(info, &facts) != JPKI_OK ||
	    card_info_parse_number(num.data, num.len, &back) != JPKI_OK ||
	    card_info_parse_facts(facts.data, facts.len, &back) != JPKI_OK ||
	    memcmp(info, &back, sizeof(back)) != 0)
		abort();
	jbuf_free(&num);
	jbuf_free(&facts);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct card_info info;
	int num_ok, facts_ok;
	size_t total;

	memset(&info, 0, sizeof(info));
	num_ok = card_info_parse_number(data, size, &info) == JPKI_OK;
	facts_ok = card_info_parse_facts(data, size, &info) == JPKI_OK;
	if (!num_ok && info.number[0] != '\0')
		abort();
	if (!facts_ok && (info.name[0] != '\0' || info.address[0] != '\0' ||
	    info.birth[0] != '\0' || info.sex[0] != '\0'))
		abort();
	if (num_ok || facts_ok) {
		/* what one file did not give, take from a valid resident */
		if (!num_ok)
			memcpy(info.number, "123456789018", 13);
		if (!facts_ok) {
			memcpy(info.birth, "19800123", 9);
			memcpy(info.sex, "1", 2);
		}
		roundtrip(&info);
	}
	if (card_tlv_header_len(data, size, &total) == JPKI_OK &&
	    (total < 2 || total > 5 + 0xFFFF))
		abort();
	/* EF 0003 and EF 0004 from the input (split at its first byte),
	 * beside valid EF 0001 and EF 0002: a forged signature with its own
	 * self-signed key would need an RSA signature the fuzzer cannot
	 * make, so nothing may verify. */
	if (size > 1) {
		struct card_info_files f;
		static const struct card_info valid = {"123456789018", "A",
		    "B", "19800123", "1"};
		size_t cut = data[0] < size - 1 ? data[0] : size - 1;

		card_info_files_init(&f);
		if (card_info_encode_number(&valid, &f.number) ||
		    card_info_encode_facts(&valid, &f.facts) ||
		    jbuf_put(&f.signature, data + 1, cut) ||
		    jbuf_put(&f.cert, data + 1 + cut, size - 1 - cut))
			abort();
		if (card_info_verify(&f, NULL, NULL) == JPKI_OK)
			abort();
		card_info_files_free(&f);
	}
	jpki_errclear();
	return 0;
}
