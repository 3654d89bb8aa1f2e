/*
 * fuzz_ocsp_request: the OCSP request reader on arbitrary bytes.  It must
 * never read outside the input, and what it accepts must be within its
 * limits: 1 to PKI_OCSP_CERTS_MAX CertIDs, each with 20- or 32-octet hashes
 * matching its algorithm, a serial of 1 to PKI_SERIAL_MAX octets, its own
 * DER inside the input, and a nonce within PKI_OCSP_NONCE_MAX.
 */
#include "pki/pki.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pki_ocsp_request req;

	if (pki_ocsp_request_parse(data, size, &req) != JPKI_OK) {
		if (req.n != 0)
			__builtin_trap();
		return 0;
	}
	if (req.n == 0 || req.n > PKI_OCSP_CERTS_MAX ||
	    req.nonce_len > PKI_OCSP_NONCE_MAX ||
	    (req.has_nonce && req.nonce_len == 0))
		__builtin_trap();
	for (size_t i = 0; i < req.n; i++) {
		const struct pki_ocsp_certid *id = &req.id[i];

		if ((id->hash != PKI_OCSP_SHA1 && id->hash != PKI_OCSP_SHA256) ||
		    id->serial_len == 0 || id->serial_len > PKI_SERIAL_MAX ||
		    id->der_len == 0 || id->der_len > size ||
		    memmem(data, size, id->der, id->der_len) == NULL)
			__builtin_trap();
	}
	return 0;
}
