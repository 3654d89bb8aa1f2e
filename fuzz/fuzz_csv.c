/*
 * fuzz_csv: the register import's CSV reader on arbitrary bytes.  Every
 * field it returns must lie inside its record buffer and be NUL-terminated
 * within CSV_LINE_MAX.
 */
#include "counter/csv.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct csv c;
	int got;

	counter_csv_init(&c, data, size);
	while (counter_csv_next(&c, &got) == JPKI_OK && got) {
		for (int i = 0; i < c.nfields; i++) {
			const uint8_t *f = (const uint8_t *)c.field[i];

			if (f < c.buf || f > c.buf + CSV_LINE_MAX ||
			    strlen(c.field[i]) > CSV_LINE_MAX)
				__builtin_trap();
		}
	}
	return 0;
}
