/*
 * p11_probe: for the tests, what a PKCS#11 token holds, asked of the token
 * itself.  usage: p11_probe MODULE TOKEN-LABEL   (user PIN in JPKI_HSM_PIN)
 *
 * For every private key object in the token it checks that the token keeps
 * it in: CKA_SENSITIVE true, CKA_EXTRACTABLE false, CKA_NEVER_EXTRACTABLE
 * true, CKA_TOKEN true, and that C_GetAttributeValue on its private
 * exponent fails (CKR_ATTRIBUTE_SENSITIVE) while the modulus reads.  It
 * prints one line per key ("ID LABEL kept-in") and exits 0 if every key
 * passed and there was at least one, 1 otherwise, 2 on a usage or token
 * error.
 */
#include <p11-kit/pkcs11.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static CK_FUNCTION_LIST *f;

static int
slot_of(const char *label, CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CK_TOKEN_INFO ti;

	if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return 0;
	for (CK_ULONG i = 0; i < n; i++) {
		size_t len = sizeof(ti.label);

		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		while (len > 0 && ti.label[len - 1] == ' ')
			len--;
		if (len == strlen(label) && memcmp(ti.label, label, len) == 0) {
			*slot = slots[i];
			return 1;
		}
	}
	return 0;
}

static int
bool_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = {type, &v, sizeof(v)};

	if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK)
		return -1;
	return v == CK_TRUE;
}

int
main(int argc, char **argv)
{
	CK_C_GetFunctionList get;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE find = {CKA_CLASS, &cls, sizeof(cls)};
	CK_OBJECT_HANDLE objs[128];
	CK_ULONG n = 0;
	CK_SESSION_HANDLE s;
	CK_SLOT_ID slot;
	const char *pin = getenv("JPKI_HSM_PIN");
	void *dl;
	int bad = 0;

	if (argc != 3 || pin == NULL) {
		fprintf(stderr, "usage: JPKI_HSM_PIN=PIN p11_probe MODULE "
		    "TOKEN-LABEL\n");
		return 2;
	}
	if ((dl = dlopen(argv[1], RTLD_NOW)) == NULL ||
	    (*(void **)&get = dlsym(dl, "C_GetFunctionList")) == NULL ||
	    get(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK ||
	    !slot_of(argv[2], &slot) ||
	    f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) !=
	    CKR_OK || f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin,
	    strlen(pin)) != CKR_OK) {
		fprintf(stderr, "p11_probe: cannot log in to token %s of %s\n",
		    argv[2], argv[1]);
		return 2;
	}
	if (f->C_FindObjectsInit(s, &find, 1) != CKR_OK ||
	    f->C_FindObjects(s, objs, 128, &n) != CKR_OK)
		return 2;
	f->C_FindObjectsFinal(s);
	for (CK_ULONG i = 0; i < n; i++) {
		unsigned char id[64], label[128], buf[1024];
		CK_ATTRIBUTE a[] = {
		    {CKA_ID, id, sizeof(id)},
		    {CKA_LABEL, label, sizeof(label) - 1},
		};
		CK_ATTRIBUTE priv = {CKA_PRIVATE_EXPONENT, buf, sizeof(buf)};
		CK_ATTRIBUTE mod = {CKA_MODULUS, buf, sizeof(buf)};
		CK_RV rv;
		int ok;

		if (f->C_GetAttributeValue(s, objs[i], a, 2) != CKR_OK)
			return 2;
		label[a[1].ulValueLen] = '\0';
		for (CK_ULONG j = 0; j < a[0].ulValueLen; j++)
			printf("%02x", id[j]);
		rv = f->C_GetAttributeValue(s, objs[i], &priv, 1);
		ok = bool_attr(s, objs[i], CKA_SENSITIVE) == 1 &&
		    bool_attr(s, objs[i], CKA_EXTRACTABLE) == 0 &&
		    bool_attr(s, objs[i], CKA_NEVER_EXTRACTABLE) == 1 &&
		    bool_attr(s, objs[i], CKA_TOKEN) == 1 &&
		    rv == CKR_ATTRIBUTE_SENSITIVE &&
		    f->C_GetAttributeValue(s, objs[i], &mod, 1) == CKR_OK &&
		    mod.ulValueLen >= 256;
		printf(" %s %s\n", label, ok ? "kept-in" : "EXPOSED");
		bad += !ok;
	}
	f->C_Logout(s);
	f->C_CloseSession(s);
	f->C_Finalize(NULL);
	return n > 0 && bad == 0 ? 0 : 1;
}
