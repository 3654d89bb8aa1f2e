/*
 * fuzz_form_code.c: libFuzzer target for the check code a clerk types in
 * from the inquiry/response form (JPKI_FORM_CHECK_CODE or the prompt):
 * counter_form_code_matches() and counter_form_check() on a fixed form.
 * The input, cut at the first NUL, is the code.  The form's stored hash is
 * all zero bytes, which no SHA-256 output will be, so no input may match;
 * and nothing may read past the input: sanitizers catch the rest.
 */
#include "counter/forms.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct inquiry_form form;
static int ready;

/* An unused renewal form with a zero salt and a zero hash. */
static void
setup(void)
{
	memset(&form, 0, sizeof(form));
	form.number = 1;
	form.resident_id = 1;
	form.purpose = FORM_RENEW;
	form.cert_types = COUNTER_BOTH;
	form.origin = FORM_FROM_NOTICE;
	form.issued_on = (struct jdate){2030, 3, 1};
	form.expiry = (struct jdate){2030, 5, 5};
	form.status = FORM_UNUSED;
	ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *code;

	if (!ready)
		setup();
	if ((code = malloc(size + 1)) == NULL)
		return 0;
	memcpy(code, data, size);
	code[size] = '\0';
	if (counter_form_code_matches(&form, code))
		abort();
	if (counter_form_check(&form, 1, FORM_RENEW, code, 1900000000) ==
	    JPKI_OK)
		abort();
	jpki_errclear();
	free(code);
	return 0;
}
