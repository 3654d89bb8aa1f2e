/*
 * secret.c: wiping buffers that held PINs or keys, and comparing secrets in
 * constant time.
 */
#include "base.h"

#include <string.h>

void
jpki_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

int
jpki_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
