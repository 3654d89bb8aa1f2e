/*
 * cardwrites.c: what waits in card_writes for a card (docs/counter.md, "A
 * card in a reader"): the procedures committed for it in a reader whose
 * writes are not on it yet.  Both ways of opening a card ask: a reader
 * session applies them first (cardreader.c), an image session refuses
 * the card until they are (cardops.c), and the dry run says so (decide.c).
 */
#include "counter/counter_int.h"

#include <stdio.h>
#include <string.h>

static int
waiting_row(void *arg, int64_t id, int64_t receipt_id, const char *writes)
{
	static const struct {
		const char *op;
		unsigned bit;
	} kinds[] = {
	    {"cert", COUNTER_WAIT_CERT}, {"info", COUNTER_WAIT_INFO},
	    {"info-signature", COUNTER_WAIT_INFO_SIGNATURE},
	    {"face", COUNTER_WAIT_FACE},
	};
	struct counter_waiting *w = arg;
	json_t *list, *op;
	size_t i;

	(void)id;
	if (w->rows < COUNTER_WAIT_RECEIPTS)
		w->receipt[w->rows] = receipt_id;
	w->rows++;
	/* A row that does not parse fails where it is applied; here it
	 * counts as waiting and replaces nothing known. */
	if ((list = json_loads(writes ? writes : "", JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return 0;
	json_array_foreach(list, i, op) {
		const char *what = json_string_value(json_object_get(op, "op"));

		for (size_t k = 0; what != NULL && k < JPKI_ARRAY_LEN(kinds);
		    k++)
			if (strcmp(what, kinds[k].op) == 0)
				w->ops |= kinds[k].bit;
	}
	json_decref(list);
	return 0;
}

int
counter_card_writes_waiting(struct store *s, const char *serial,
    struct counter_waiting *w)
{
	memset(w, 0, sizeof(*w));
	return store_card_writes_pending(s, serial, waiting_row, w);
}

void
counter_waiting_receipts(const struct counter_waiting *w, char *buf, size_t n)
{
	size_t k = 0;

	buf[0] = '\0';
	for (int i = 0; i < w->rows && i < COUNTER_WAIT_RECEIPTS && k < n;
	    i++)
		k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "",
		    (long long)w->receipt[i]);
	if (w->rows > COUNTER_WAIT_RECEIPTS && k < n)
		snprintf(buf + k, n - k, ", ...");
}
