/*
 * signer_pkcs11.c: CA, OCSP responder and card issuer keys inside a
 * PKCS#11 token, behind the key seam (signer.h).  Plain PKCS#11 through
 * p11-kit's header: any module (SoftHSM2 in the tests, a network HSM or a
 * smart card in production) is loaded with dlopen and C_GetFunctionList.
 *
 * The data directory records the module, the token's label and each key's
 * CKA_ID (<data>/ca/pkcs11, pkcs11_record.h); the keys are generated in
 * the token (C_GenerateKeyPair: CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
 * not CKA_EXTRACTABLE) and only signatures come out.
 *
 * Processes and threads: a module is loaded and initialised once per
 * process (CKF_OS_LOCKING_OK) however many signers use it.  A signer
 * opened with keys logs in once with the user PIN and keeps that session
 * open for its life (closing a token's last session logs it out); each
 * ca_signer_session is a session of its own, looking its keys up on first
 * use, so signing threads never share one.  A signer opened without keys
 * (readers: `jpki ca show`) loads nothing until it is asked to make one.
 */
#include "ca/ca_impl.h"
#include "ca/pkcs11_record.h"
#include "datadir/datadir.h"

#include <p11-kit/pkcs11.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECORD_FILE "pkcs11"
#define KEY_ID_LEN 16           /* random CKA_ID of a new key */
#define TYPES 3
#define ROLES 6
#define GENS (CA_GEN_MAX + 1)
#define SLOTS_MAX 256

/* ---- modules: one load and C_Initialize per process ------------------- */

struct p11_module {
	struct p11_module *next;
	char path[JPKI_PATH_MAX];
	void *dl;
	CK_FUNCTION_LIST *f;
	int refs;
	int finalize;           /* initialised here: finalised here */
	int established;        /* signers with the token open (a session) */
	pthread_mutex_t open_lock;      /* one token_open at a time: finding
	                                   the token and logging in */
};

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *modules;

static ca_token_pin_fn pin_fn;
static void *pin_arg;

/* A token whose PIN this process had refused is not tried again (each try
 * counts towards locking it): "module\ntoken", under modules_lock. */
static char pin_refused[JPKI_PATH_MAX + P11_TOKEN_LABEL_MAX + 2];

void
ca_signer_set_pin_source(ca_token_pin_fn fn, void *arg)
{
	pin_fn = fn;
	pin_arg = arg;
}

static const char *
ckr_name(CK_RV rv)
{
	static const struct {
		CK_RV rv;
		const char *name;
	} names[] = {
	    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
	    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
	    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
	    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
	    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
	    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
	    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
	    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
	    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
	    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
	    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
	    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
	    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
	    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
	    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
	    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
	    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
	    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
	    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
	    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
	    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
	    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
	    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
	    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
	    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
	    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
	    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
	    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
	    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
	    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
	};
	static _Thread_local char other[32];

	for (size_t i = 0; i < JPKI_ARRAY_LEN(names); i++)
		if (names[i].rv == rv)
			return names[i].name;
	snprintf(other, sizeof(other), "CKR 0x%lx", (unsigned long)rv);
	return other;
}

/* One error line for a failed call on token `token`. */
static int
ckr_fail(CK_RV rv, const char *token, const char *call)
{
	int code = JPKI_ERR_CRYPTO;

	if (rv == CKR_HOST_MEMORY)
		code = JPKI_ERR_NOMEM;
	else if (rv == CKR_DEVICE_ERROR || rv == CKR_DEVICE_REMOVED ||
	    rv == CKR_DEVICE_MEMORY || rv == CKR_TOKEN_NOT_PRESENT ||
	    rv == CKR_SESSION_COUNT || rv == CKR_SESSION_CLOSED)
		code = JPKI_ERR_IO;
	return jpki_fail(code, "PKCS#11 token %s: %s: %s", token, call,
	    ckr_name(rv));
}

static int
module_get(const char *path, struct p11_module **out)
{
	CK_C_INITIALIZE_ARGS args;
	CK_C_GetFunctionList get;
	struct p11_module *m;
	CK_RV rv;
	int r = JPKI_OK;

	*out = NULL;
	pthread_mutex_lock(&modules_lock);
	for (m = modules; m != NULL; m = m->next)
		if (strcmp(m->path, path) == 0)
			break;
	if (m != NULL) {
		m->refs++;
		*out = m;
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(m->path, path, strlen(path) + 1);
	pthread_mutex_init(&m->open_lock, NULL);
	if ((m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		r = jpki_fail(JPKI_ERR_IO, "PKCS#11 module %s: %s", path,
		    dlerror());
		goto fail;
	}
	*(void **)&get = dlsym(m->dl, "C_GetFunctionList");
	if (get == NULL || (rv = get(&m->f)) != CKR_OK || m->f == NULL) {
		r = jpki_fail(JPKI_ERR_IO, "PKCS#11 module %s: no "
		    "C_GetFunctionList", path);
		goto fail;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;   /* signing threads share it */
	rv = m->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		r = jpki_fail(JPKI_ERR_IO, "PKCS#11 module %s: C_Initialize: %s",
		    path, ckr_name(rv));
		goto fail;
	}
	m->finalize = rv == CKR_OK;
	m->refs = 1;
	m->next = modules;
	modules = m;
	*out = m;
	goto out;
fail:
	if (m->dl != NULL)
		dlclose(m->dl);
	free(m);
out:
	pthread_mutex_unlock(&modules_lock);
	return r;
}

static void
module_put(struct p11_module **mp)
{
	struct p11_module *m = *mp, **pp;

	if (m == NULL)
		return;
	*mp = NULL;
	pthread_mutex_lock(&modules_lock);
	if (--m->refs == 0) {
		for (pp = &modules; *pp != NULL; pp = &(*pp)->next)
			if (*pp == m) {
				*pp = m->next;
				break;
			}
		if (m->finalize)
			m->f->C_Finalize(NULL);
		dlclose(m->dl);
		pthread_mutex_destroy(&m->open_lock);
		free(m);
	}
	pthread_mutex_unlock(&modules_lock);
}

/* The slot holding the token labelled `label`. */
static int
token_find(CK_FUNCTION_LIST *f, const char *module, const char *label,
    CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[SLOTS_MAX];
	CK_ULONG n = SLOTS_MAX;
	CK_TOKEN_INFO ti;
	size_t want = strlen(label);
	CK_RV rv;

	if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return jpki_fail(JPKI_ERR_IO, "PKCS#11 module %s: "
		    "C_GetSlotList: %s", module, ckr_name(rv));
	for (CK_ULONG i = 0; i < n; i++) {
		size_t len = sizeof(ti.label);

		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		while (len > 0 && ti.label[len - 1] == ' ')
			len--;
		if (len == want && memcmp(ti.label, label, len) == 0) {
			if (!(ti.flags & CKF_USER_PIN_INITIALIZED))
				return jpki_fail(JPKI_ERR_REFUSED, "PKCS#11 "
				    "token %s: its user PIN is not set", label);
			*slot = slots[i];
			return JPKI_OK;
		}
	}
	return jpki_fail(JPKI_ERR_NOTFOUND, "PKCS#11 module %s: no token "
	    "labelled '%s'", module, label);
}

/* A module that scans its tokens when it is initialised can read a token's
 * file while another process rewrites it (SoftHSM2 rewrites it at each
 * login) and then miss the token, or see it without its user PIN.  If no
 * signer of this process has the token open (others may be waiting on
 * open_lock, which the caller holds, having used nothing yet) and the
 * module was initialised here, it is finalised and initialised again
 * after a pause growing with `try`.  Otherwise the module is shared and
 * only the pause is made: SoftHSM2 re-reads a token's file in whichever
 * thread notices first that it changed, and another thread asking about
 * the token meanwhile gets CKR_GENERAL_ERROR from C_GetTokenInfo (seen
 * with a third key opened while two others signed).  JPKI_OK: look again;
 * else a JPKI_ code. */
#define TOKEN_RESCANS 12

static int
module_rescan(struct p11_module *m, const char *module, int try)
{
	struct timespec pause = {0, (20 + 10 * try) * 1000 * 1000};
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	pthread_mutex_lock(&modules_lock);
	if (m->established != 0 || !m->finalize) {
		pthread_mutex_unlock(&modules_lock);
		nanosleep(&pause, NULL);
		jpki_errclear();
		return JPKI_OK;
	}
	m->f->C_Finalize(NULL);
	nanosleep(&pause, NULL);
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = m->f->C_Initialize(&args);
	pthread_mutex_unlock(&modules_lock);
	if (rv != CKR_OK)
		return jpki_fail(JPKI_ERR_IO, "PKCS#11 module %s: C_Initialize: "
		    "%s", module, ckr_name(rv));
	jpki_errclear();
	return JPKI_OK;
}

/* token_find, rescanning over about a second before the token is called
 * missing or without a user PIN. */
static int
token_find_settled(struct p11_module *m, const char *module,
    const char *label, CK_SLOT_ID *slot)
{
	int r = JPKI_OK, rs;

	for (int i = 0; i <= TOKEN_RESCANS; i++) {
		r = token_find(m->f, module, label, slot);
		if ((r != JPKI_ERR_NOTFOUND && r != JPKI_ERR_REFUSED) ||
		    i == TOKEN_RESCANS)
			return r;
		if ((rs = module_rescan(m, module, i)) != JPKI_OK)
			return rs;
	}
	return r;
}

/* ---- the signer -------------------------------------------------------- */

struct p11_key {
	int loaded;
	uint8_t id[P11_KEY_ID_MAX];
	size_t id_len;
	EVP_PKEY *pub;
};

struct p11_state {
	char record_path[JPKI_PATH_MAX];
	struct p11_record rec;
	struct p11_module *mod;         /* NULL until a key is needed */
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE login;        /* kept open: the token stays
	                                   logged in while the signer is */
	int public_only;                /* no login: public objects only */
	struct p11_key key[TYPES][ROLES][GENS];
};

struct p11_session {
	struct p11_state *st;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE obj[TYPES][ROLES][GENS];     /* 0: not looked up yet */
};

static int
record_path(const struct datadir *dd, char *buf, size_t n)
{
	return datadir_path(dd, DATADIR_CA_DIR, RECORD_FILE, buf, n);
}

int
ca_signer_pkcs11_used(const struct datadir *dd)
{
	char path[JPKI_PATH_MAX];
	struct stat st;

	return record_path(dd, path, sizeof(path)) == JPKI_OK &&
	    lstat(path, &st) == 0;
}

static int
record_read(const char *path, struct p11_record *rec)
{
	struct jbuf b;
	int r;

	jbuf_init(&b);
	if ((r = file_read_all(path, P11_RECORD_MAX, &b)) != JPKI_OK) {
		jbuf_free(&b);
		return r;
	}
	if ((r = p11_record_parse(b.data, b.len, rec)) != JPKI_OK) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", jpki_errmsg());
		r = jpki_fail(r, "%s: %s", path, msg);
	}
	jbuf_free(&b);
	return r;
}

/* Replace the record with rec: a whole new file renamed over it. */
static int
record_write(const char *path, const struct p11_record *rec)
{
	char tmp[JPKI_PATH_MAX];
	struct jbuf b;
	int r;

	jbuf_init(&b);
	if ((r = jpki_path(tmp, sizeof(tmp), "%s.tmp", path)) != JPKI_OK ||
	    (r = p11_record_format(rec, &b)) != JPKI_OK ||
	    (r = durable_write(tmp, b.data, b.len, 0644)) != JPKI_OK)
		goto out;
	if (rename(tmp, path) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	r = durable_sync_dir_of(path);
out:
	jbuf_free(&b);
	return r;
}

static int
pin_get(const char *token, char *pin, size_t n)
{
	const char *v;

	if (pin_fn != NULL)
		return pin_fn(pin_arg, token, pin, n);
	if ((v = getenv("JPKI_HSM_PIN")) == NULL)
		return jpki_fail(JPKI_ERR_REFUSED, "PKCS#11 token %s: no user "
		    "PIN given (JPKI_HSM_PIN)", token);
	if (strlen(v) >= n)
		return jpki_fail(JPKI_ERR_INPUT, "JPKI_HSM_PIN: too long");
	memcpy(pin, v, strlen(v) + 1);
	return JPKI_OK;
}

/* C_Login with `pin` on the session st->login, tried a few times while
 * another process is updating the token (SoftHSM2 locks its token file to
 * record a login).  A wrong PIN is never tried again. */
static CK_RV
token_login(struct p11_state *st, const char *pin)
{
	CK_RV rv = CKR_GENERAL_ERROR;

	for (int i = 0; i <= TOKEN_RESCANS; i++) {
		struct timespec pause = {0, (20 + 10 * i) * 1000 * 1000};

		rv = st->mod->f->C_Login(st->login, CKU_USER,
		    (CK_UTF8CHAR *)pin, (CK_ULONG)strlen(pin));
		if (rv != CKR_GENERAL_ERROR && rv != CKR_FUNCTION_FAILED)
			break;
		nanosleep(&pause, NULL);
	}
	return rv;
}

/* Load the module, find the token, open the session that keeps it
 * logged in, and log in unless another signer of this process has. */
static int
token_open(struct p11_state *st)
{
	CK_FUNCTION_LIST *f;
	CK_SESSION_INFO si;
	char pin[CA_TOKEN_PIN_MAX], refused[sizeof(pin_refused)];
	int have_pin = 0, rescans = 0;
	CK_RV rv;
	int r;

	if (st->mod != NULL)
		return JPKI_OK;
	if ((r = module_get(st->rec.module, &st->mod)) != JPKI_OK)
		return r;
	pthread_mutex_lock(&st->mod->open_lock);
again:
	if ((r = token_find_settled(st->mod, st->rec.module, st->rec.token,
	    &st->slot)) != JPKI_OK)
		goto fail;
	f = st->mod->f;
	if ((rv = f->C_OpenSession(st->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &st->login)) != CKR_OK) {
		r = ckr_fail(rv, st->rec.token, "C_OpenSession");
		goto fail;
	}
	if (st->public_only)
		goto ok;
	if (f->C_GetSessionInfo(st->login, &si) == CKR_OK &&
	    (si.state == CKS_RW_USER_FUNCTIONS ||
	    si.state == CKS_RO_USER_FUNCTIONS))
		goto ok;
	snprintf(refused, sizeof(refused), "%s\n%s", st->rec.module,
	    st->rec.token);
	pthread_mutex_lock(&modules_lock);
	r = strcmp(refused, pin_refused) == 0;
	pthread_mutex_unlock(&modules_lock);
	if (r) {
		r = jpki_fail(JPKI_ERR_PIN, "PKCS#11 token %s: wrong user PIN "
		    "(not tried again)", st->rec.token);
		goto fail_session;
	}
	if (!have_pin) {
		if ((r = pin_get(st->rec.token, pin, sizeof(pin))) != JPKI_OK)
			goto fail_session;
		have_pin = 1;
	}
	rv = token_login(st, pin);
	/* The module read the token while another process rewrote it and
	 * saw no user PIN (token_find had seen one): scan it again. */
	if (rv == CKR_USER_PIN_NOT_INITIALIZED && rescans < TOKEN_RESCANS) {
		f->C_CloseSession(st->login);
		if ((r = module_rescan(st->mod, st->rec.module, rescans++)) !=
		    JPKI_OK)
			goto fail;
		goto again;
	}
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		goto ok;
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE ||
	    rv == CKR_PIN_LOCKED) {
		pthread_mutex_lock(&modules_lock);
		memcpy(pin_refused, refused, sizeof(pin_refused));
		pthread_mutex_unlock(&modules_lock);
	}
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
		r = jpki_fail(JPKI_ERR_PIN, "PKCS#11 token %s: wrong user PIN",
		    st->rec.token);
	else if (rv == CKR_PIN_LOCKED)
		r = jpki_fail(JPKI_ERR_LOCKED, "PKCS#11 token %s: user PIN "
		    "locked", st->rec.token);
	else
		r = ckr_fail(rv, st->rec.token, "C_Login");
fail_session:
	f->C_CloseSession(st->login);
fail:
	jpki_wipe(pin, sizeof(pin));
	pthread_mutex_unlock(&st->mod->open_lock);
	module_put(&st->mod);
	return r;
ok:
	jpki_wipe(pin, sizeof(pin));
	pthread_mutex_lock(&modules_lock);
	st->mod->established++;
	pthread_mutex_unlock(&modules_lock);
	pthread_mutex_unlock(&st->mod->open_lock);
	return JPKI_OK;
}

/* The object of class cls with CKA_ID id in session h. */
static int
object_find(struct p11_state *st, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
    const struct p11_key *k, const char *label, CK_OBJECT_HANDLE *obj)
{
	CK_FUNCTION_LIST *f = st->mod->f;
	CK_ATTRIBUTE t[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_ID, (void *)k->id, k->id_len},
	};
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = f->C_FindObjectsInit(h, t, 2)) != CKR_OK)
		return ckr_fail(rv, st->rec.token, "C_FindObjectsInit");
	rv = f->C_FindObjects(h, found, 2, &n);
	f->C_FindObjectsFinal(h);
	if (rv != CKR_OK)
		return ckr_fail(rv, st->rec.token, "C_FindObjects");
	if (n != 1)
		return jpki_fail(n == 0 ? JPKI_ERR_NOTFOUND : JPKI_ERR_CONFLICT,
		    "PKCS#11 token %s: %s %s key (the id %s records): %s",
		    st->rec.token, n == 0 ? "no" : "more than one", label,
		    st->record_path, n == 0 ? "not in the token" :
		    "ambiguous");
	*obj = found[0];
	return JPKI_OK;
}

/* The public key of the pair: modulus and exponent of its public object
 * (or, for a token that keeps none, of the private one). */
static int
public_read(struct p11_state *st, const struct p11_key *k, const char *label,
    EVP_PKEY **pub)
{
	CK_FUNCTION_LIST *f = st->mod->f;
	CK_OBJECT_HANDLE obj;
	uint8_t n[1024], e[16];
	CK_ATTRIBUTE t[] = {
	    {CKA_MODULUS, n, sizeof(n)},
	    {CKA_PUBLIC_EXPONENT, e, sizeof(e)},
	};
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	CK_RV rv;
	int r;

	*pub = NULL;
	if ((r = object_find(st, st->login, CKO_PUBLIC_KEY, k, label, &obj))) {
		if (r != JPKI_ERR_NOTFOUND)
			return r;
		jpki_errclear();
		if ((r = object_find(st, st->login, CKO_PRIVATE_KEY, k, label,
		    &obj)) != JPKI_OK)
			return r;
	}
	if ((rv = f->C_GetAttributeValue(st->login, obj, t, 2)) != CKR_OK)
		return ckr_fail(rv, st->rec.token, "C_GetAttributeValue");
	r = jpki_fail(JPKI_ERR_CRYPTO, "PKCS#11 token %s: the %s key is not "
	    "an RSA key OpenSSL reads", st->rec.token, label);
	if ((bn = BN_bin2bn(n, (int)t[0].ulValueLen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)t[1].ulValueLen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, pub, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	jpki_errclear();
	r = JPKI_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return r;
}

static int
key_load(struct p11_state *st, struct ca_key_id id)
{
	struct p11_key *k = &st->key[id.type][id.role][id.gen];
	const struct p11_record_key *rk;
	char name[P11_KEY_NAME_MAX + 1], label[40];
	int r;

	ca_key_label(id, label, sizeof(label));
	if ((r = ca_key_name(id, name, sizeof(name))) != JPKI_OK)
		return r;
	if ((rk = p11_record_find(&st->rec, name)) == NULL)
		return jpki_fail(JPKI_ERR_NOTFOUND, "%s: no %s key (%s) in "
		    "PKCS#11 token %s", st->record_path, label, name,
		    st->rec.token);
	memcpy(k->id, rk->id, rk->id_len);
	k->id_len = rk->id_len;
	if ((r = token_open(st)) != JPKI_OK ||
	    (r = public_read(st, k, label, &k->pub)) != JPKI_OK)
		return r;
	k->loaded = 1;
	return JPKI_OK;
}

static int
p11_public_key(void *state, struct ca_key_id id, EVP_PKEY **pub)
{
	struct p11_state *st = state;
	struct p11_key *k = &st->key[id.type][id.role][id.gen];
	char label[40];

	ca_key_label(id, label, sizeof(label));
	if (!k->loaded)
		return jpki_fail(JPKI_ERR_NOTFOUND, "signer: the %s key is "
		    "not loaded", label);
	if (!EVP_PKEY_up_ref(k->pub))
		return jpki_fail(JPKI_ERR_CRYPTO, "signer: public key");
	*pub = k->pub;
	return JPKI_OK;
}

static int
p11_session_open(void *state, void **sess)
{
	struct p11_state *st = state;
	struct p11_session *ps;
	CK_RV rv;
	int r;

	if ((r = token_open(st)) != JPKI_OK)
		return r;
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	ps->st = st;
	if ((rv = st->mod->f->C_OpenSession(st->slot, CKF_SERIAL_SESSION, NULL,
	    NULL, &ps->h)) != CKR_OK) {
		free(ps);
		return ckr_fail(rv, st->rec.token, "C_OpenSession");
	}
	*sess = ps;
	return JPKI_OK;
}

/* DigestInfo of SHA-256 (RFC 8017 9.2 note 1), before the 32-byte hash:
 * what CKM_RSA_PKCS signs for a digest made outside the token. */
static const uint8_t sha256_prefix[19] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
    0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

static int
p11_sign(void *sess, struct ca_key_id id, enum ca_sign_op op,
    const uint8_t *in, size_t len, uint8_t *sig, size_t *sig_len)
{
	struct p11_session *ps = sess;
	struct p11_state *st = ps->st;
	CK_FUNCTION_LIST *f = st->mod->f;
	CK_OBJECT_HANDLE *obj = &ps->obj[id.type][id.role][id.gen];
	struct p11_key *k = &st->key[id.type][id.role][id.gen];
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	uint8_t digest_info[sizeof(sha256_prefix) + 32];
	CK_ULONG out = (CK_ULONG)*sig_len;
	char label[40];
	CK_RV rv;
	int r;

	ca_key_label(id, label, sizeof(label));
	if (!k->loaded)
		return jpki_fail(JPKI_ERR_REFUSED, "%s: this process holds "
		    "no such key", label);
	if (*obj == 0 && (r = object_find(st, ps->h, CKO_PRIVATE_KEY, k,
	    label, obj)) != JPKI_OK)
		return r;
	if (op == CA_SIGN_CRL_DIGEST || op == CA_SIGN_DOCUMENT_DIGEST) {
		/* Only the digest of a streamed TBSCertList, or of a
		 * document's signed attributes, crosses. */
		memcpy(digest_info, sha256_prefix, sizeof(sha256_prefix));
		memcpy(digest_info + sizeof(sha256_prefix), in, 32);
		mech.mechanism = CKM_RSA_PKCS;
		in = digest_info;
		len = sizeof(digest_info);
	}
	if ((rv = f->C_SignInit(ps->h, &mech, *obj)) != CKR_OK)
		return ckr_fail(rv, st->rec.token, "C_SignInit");
	if ((rv = f->C_Sign(ps->h, (CK_BYTE *)in, (CK_ULONG)len, sig,
	    &out)) != CKR_OK)
		return ckr_fail(rv, st->rec.token, "C_Sign");
	*sig_len = (size_t)out;
	return JPKI_OK;
}

static void
p11_session_close(void *sess)
{
	struct p11_session *ps = sess;

	ps->st->mod->f->C_CloseSession(ps->h);
	free(ps);
}

static void
p11_close(void *state)
{
	struct p11_state *st = state;

	for (size_t t = 0; t < TYPES; t++)
		for (size_t r = 0; r < ROLES; r++)
			for (size_t g = 0; g < GENS; g++)
				EVP_PKEY_free(st->key[t][r][g].pub);
	if (st->mod != NULL) {
		st->mod->f->C_CloseSession(st->login);
		pthread_mutex_lock(&modules_lock);
		st->mod->established--;
		pthread_mutex_unlock(&modules_lock);
		module_put(&st->mod);
	}
	free(st);
}

/* Generate an RSA key pair of `bits` in the token, labelled "openjpki
 * NAME", CKA_ID a fresh random one.  The private half is sensitive and
 * never extractable; both halves are token objects. */
static int
generate_pair(struct p11_state *st, const char *name, int bits,
    struct p11_key *k)
{
	CK_FUNCTION_LIST *f = st->mod->f;
	CK_MECHANISM mech = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG mbits = (CK_ULONG)bits;
	CK_BYTE e[] = {0x01, 0x00, 0x01};
	CK_OBJECT_HANDLE hpub, hpriv;
	char label[64];
	CK_RV rv;

	snprintf(label, sizeof(label), "openjpki %s", name);
	if (RAND_bytes(k->id, KEY_ID_LEN) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "no random key id");
	k->id_len = KEY_ID_LEN;
	{
		CK_ATTRIBUTE pub_t[] = {
		    {CKA_TOKEN, &yes, sizeof(yes)},
		    {CKA_PRIVATE, &no, sizeof(no)},
		    {CKA_VERIFY, &yes, sizeof(yes)},
		    {CKA_ENCRYPT, &no, sizeof(no)},
		    {CKA_WRAP, &no, sizeof(no)},
		    {CKA_MODULUS_BITS, &mbits, sizeof(mbits)},
		    {CKA_PUBLIC_EXPONENT, e, sizeof(e)},
		    {CKA_ID, k->id, k->id_len},
		    {CKA_LABEL, label, strlen(label)},
		};
		CK_ATTRIBUTE priv_t[] = {
		    {CKA_TOKEN, &yes, sizeof(yes)},
		    {CKA_PRIVATE, &yes, sizeof(yes)},
		    {CKA_SENSITIVE, &yes, sizeof(yes)},
		    {CKA_EXTRACTABLE, &no, sizeof(no)},
		    {CKA_SIGN, &yes, sizeof(yes)},
		    {CKA_DECRYPT, &no, sizeof(no)},
		    {CKA_UNWRAP, &no, sizeof(no)},
		    {CKA_DERIVE, &no, sizeof(no)},
		    {CKA_ID, k->id, k->id_len},
		    {CKA_LABEL, label, strlen(label)},
		};

		rv = f->C_GenerateKeyPair(st->login, &mech, pub_t,
		    JPKI_ARRAY_LEN(pub_t), priv_t, JPKI_ARRAY_LEN(priv_t),
		    &hpub, &hpriv);
	}
	if (rv != CKR_OK)
		return ckr_fail(rv, st->rec.token, "C_GenerateKeyPair");
	return JPKI_OK;
}

static int
p11_create_key(void *state, struct ca_key_id id, int bits, EVP_PKEY **pub)
{
	struct p11_state *st = state;
	struct p11_key k = {0};
	struct p11_record rec;
	char name[P11_KEY_NAME_MAX + 1], label[40];
	int fd, r;

	*pub = NULL;
	ca_key_label(id, label, sizeof(label));
	if ((r = ca_key_name(id, name, sizeof(name))) != JPKI_OK ||
	    (r = token_open(st)) != JPKI_OK)
		return r;
	/* One maker at a time: the record is read again under the lock, and
	 * a key it already names is never made twice. */
	if ((fd = open(st->record_path, O_RDONLY | O_CLOEXEC)) < 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", st->record_path,
		    strerror(errno));
	if (flock(fd, LOCK_EX) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", st->record_path,
		    strerror(errno));
		goto out;
	}
	if ((r = record_read(st->record_path, &rec)) != JPKI_OK)
		goto out;
	if (p11_record_find(&rec, name) != NULL) {
		r = jpki_fail(JPKI_ERR_CONFLICT, "%s: the %s key (%s) exists "
		    "already", st->record_path, label, name);
		goto out;
	}
	if (rec.nkeys >= P11_RECORD_KEYS_MAX) {
		r = jpki_fail(JPKI_ERR_REFUSED, "%s: holds %d keys, no more",
		    st->record_path, P11_RECORD_KEYS_MAX);
		goto out;
	}
	if ((r = generate_pair(st, name, bits, &k)) != JPKI_OK ||
	    (r = public_read(st, &k, label, &k.pub)) != JPKI_OK)
		goto out;
	memcpy(rec.key[rec.nkeys].name, name, strlen(name) + 1);
	memcpy(rec.key[rec.nkeys].id, k.id, k.id_len);
	rec.key[rec.nkeys].id_len = k.id_len;
	rec.nkeys++;
	/* A crash before this leaves an unrecorded key pair in the token,
	 * never a record of a key that is not there. */
	if ((r = record_write(st->record_path, &rec)) != JPKI_OK)
		goto out;
	st->rec = rec;
	EVP_PKEY_free(st->key[id.type][id.role][id.gen].pub);
	k.loaded = 1;
	st->key[id.type][id.role][id.gen] = k;
	k.pub = NULL;
	if (!EVP_PKEY_up_ref(st->key[id.type][id.role][id.gen].pub)) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "signer: public key");
		goto out;
	}
	*pub = st->key[id.type][id.role][id.gen].pub;
out:
	EVP_PKEY_free(k.pub);
	close(fd);
	return r;
}

static int
p11_locate(void *state, struct ca_key_id id, char *buf, size_t n)
{
	struct p11_state *st = state;
	const struct p11_record_key *rk;
	char name[P11_KEY_NAME_MAX + 1], hex[2 * P11_KEY_ID_MAX + 1] = "";
	int r;

	if ((r = ca_key_name(id, name, sizeof(name))) != JPKI_OK)
		return r;
	if ((rk = p11_record_find(&st->rec, name)) == NULL)
		return jpki_path(buf, n, "pkcs11 module %s token %s (no %s key "
		    "recorded)", st->rec.module, st->rec.token, name);
	for (size_t i = 0; i < rk->id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", rk->id[i]);
	return jpki_path(buf, n, "pkcs11 module %s token %s id %s",
	    st->rec.module, st->rec.token, hex);
}

/* The record's entry goes first, then the pair in the token: a crash
 * between leaves an unrecorded key pair, never a record of a key that is
 * not there (as p11_create_key). */
static int
p11_discard_key(void *state, struct ca_key_id id)
{
	struct p11_state *st = state;
	struct p11_key *held = &st->key[id.type][id.role][id.gen];
	const struct p11_record_key *rk;
	struct p11_key k = {0};
	struct p11_record rec;
	char name[P11_KEY_NAME_MAX + 1], label[40];
	int fd, r;

	ca_key_label(id, label, sizeof(label));
	if ((r = ca_key_name(id, name, sizeof(name))) != JPKI_OK)
		return r;
	if ((fd = open(st->record_path, O_RDONLY | O_CLOEXEC)) < 0)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", st->record_path,
		    strerror(errno));
	if (flock(fd, LOCK_EX) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", st->record_path,
		    strerror(errno));
		goto out;
	}
	if ((r = record_read(st->record_path, &rec)) != JPKI_OK)
		goto out;
	if ((rk = p11_record_find(&rec, name)) != NULL) {
		size_t i = (size_t)(rk - rec.key);

		if ((r = token_open(st)) != JPKI_OK)
			goto out;
		memcpy(k.id, rk->id, rk->id_len);
		k.id_len = rk->id_len;
		memmove(&rec.key[i], &rec.key[i + 1],
		    (rec.nkeys - i - 1) * sizeof(rec.key[0]));
		rec.nkeys--;
		if ((r = record_write(st->record_path, &rec)) != JPKI_OK)
			goto out;
		st->rec = rec;
		for (int c = 0; c < 2; c++) {
			CK_OBJECT_HANDLE h;

			if (object_find(st, st->login, c == 0 ?
			    CKO_PRIVATE_KEY : CKO_PUBLIC_KEY, &k, label,
			    &h) == JPKI_OK)
				st->mod->f->C_DestroyObject(st->login, h);
			jpki_errclear();
		}
	}
	EVP_PKEY_free(held->pub);
	memset(held, 0, sizeof(*held));
	r = JPKI_OK;
out:
	close(fd);
	return r;
}

static const struct ca_signer_impl p11_impl = {
	.name = "pkcs11",
	.public_key = p11_public_key,
	.session_open = p11_session_open,
	.sign = p11_sign,
	.session_close = p11_session_close,
	.close = p11_close,
	.create_key = p11_create_key,
	.locate = p11_locate,
	.discard_key = p11_discard_key,
};

int
ca_signer_open_pkcs11(const struct datadir *dd, unsigned keys,
    struct ca_signer **out)
{
	static const enum cert_type types[] = {CERT_SIGN, CERT_AUTH};
	struct p11_state *st;
	int r;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	if ((r = record_path(dd, st->record_path, sizeof(st->record_path))) ||
	    (r = record_read(st->record_path, &st->rec)))
		goto fail;
	/* Generation 1 must be there; a later one ends the list where the
	 * record names no key of it (as with key files). */
	for (size_t i = 0; i < JPKI_ARRAY_LEN(types); i++) {
		for (int role = CA_KEY_CA; role <= CA_KEY_OCSP; role++) {
			if (!(keys & (role == CA_KEY_CA ? CA_KEYS_CA :
			    CA_KEYS_OCSP)))
				continue;
			for (int gen = 1; gen <= CA_GEN_MAX; gen++) {
				struct ca_key_id id = {types[i],
				    (enum ca_key_role)role, gen};
				char name[P11_KEY_NAME_MAX + 1];

				if ((r = ca_key_name(id, name, sizeof(name))))
					goto fail;
				if (gen > 1 &&
				    p11_record_find(&st->rec, name) == NULL)
					break;
				if ((r = key_load(st, id)) != JPKI_OK)
					goto fail;
			}
		}
	}
	if ((keys & CA_KEYS_CARD_ISSUER) &&
	    (r = key_load(st, CA_KEY_ID_CARD_ISSUER)) != JPKI_OK)
		goto fail;
	if ((keys & CA_KEYS_MUNICIPALITY) &&
	    (r = key_load(st, CA_KEY_ID_MUNICIPALITY)) != JPKI_OK)
		goto fail;
	if ((keys & CA_KEYS_AUDIT) &&
	    (r = key_load(st, CA_KEY_ID_AUDIT)) != JPKI_OK)
		goto fail;
	return ca_signer_new(&p11_impl, st, out);
fail:
	p11_close(st);
	return r;
}

int
ca_signer_pkcs11_public(const struct datadir *dd, struct ca_key_id id,
    EVP_PKEY **pub)
{
	struct p11_state *st;
	int r;

	*pub = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	st->public_only = 1;
	if ((r = record_path(dd, st->record_path, sizeof(st->record_path))) ==
	    JPKI_OK && (r = record_read(st->record_path, &st->rec)) == JPKI_OK &&
	    (r = key_load(st, id)) == JPKI_OK)
		r = p11_public_key(st, id, pub);
	p11_close(st);
	return r;
}

/* A state for module and token, logged in, without a record. */
static int
token_try(const char *module, const char *token, struct p11_state **out)
{
	struct p11_state *st;
	int r;

	*out = NULL;
	if (module[0] == '\0' || module[0] == ' ' ||
	    module[strlen(module) - 1] == ' ' ||
	    strlen(module) >= sizeof(st->rec.module) ||
	    strpbrk(module, "\n\r") != NULL)
		return jpki_fail(JPKI_ERR_INPUT, "PKCS#11 module: '%s' is not "
		    "a path", module);
	if (!p11_token_label_valid(token))
		return jpki_fail(JPKI_ERR_INPUT, "PKCS#11 token label: 1 to %d "
		    "printable bytes, no blank at either end",
		    P11_TOKEN_LABEL_MAX);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	memcpy(st->rec.module, module, strlen(module) + 1);
	memcpy(st->rec.token, token, strlen(token) + 1);
	if ((r = token_open(st)) != JPKI_OK) {
		p11_close(st);
		return r;
	}
	*out = st;
	return JPKI_OK;
}

int
ca_signer_pkcs11_check(const char *module, const char *token)
{
	struct p11_state *st;
	int r;

	if ((r = token_try(module, token, &st)) == JPKI_OK)
		p11_close(st);
	return r;
}

int
ca_signer_pkcs11_setup(const struct datadir *dd, const char *module,
    const char *token)
{
	struct p11_state *st;
	int fd, r;

	/* The token must be there and take the PIN before anything is
	 * recorded. */
	if ((r = token_try(module, token, &st)) != JPKI_OK)
		return r;
	if ((r = record_path(dd, st->record_path, sizeof(st->record_path))))
		goto out;
	if ((fd = open(st->record_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) < 0) {
		r = jpki_fail(errno == EEXIST ? JPKI_ERR_CONFLICT : JPKI_ERR_IO,
		    "%s: %s", st->record_path, strerror(errno));
		goto out;
	}
	close(fd);
	r = record_write(st->record_path, &st->rec);
out:
	p11_close(st);
	return r;
}
