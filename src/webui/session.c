/*
 * session.c: signed-in sessions of the web UI, in memory.  An id and a
 * CSRF token are 32 bytes from libsodium's randombytes each; ids and tokens
 * are compared in constant time.  A session unused for idle_seconds ends.
 */
#include "webui/webui_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void
webui_random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	randombytes_buf(b, nbytes);
	sodium_bin2hex(out, 2 * nbytes + 1, b, nbytes);
	sodium_memzero(b, sizeof(b));
}

static int
hex_equal(const char *a, const char *b, size_t n)
{
	return strlen(a) == n && strlen(b) == n && sodium_memcmp(a, b, n) == 0;
}

static void
who_from(const struct session *s, struct who *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->clerk, s->clerk, sizeof(out->clerk));
	out->role = s->role;
	memcpy(out->session, s->id, sizeof(out->session));
	memcpy(out->csrf, s->csrf, sizeof(out->csrf));
}

int
webui_session_new(struct webui *w, const char *clerk, enum clerk_role role,
    struct who *out)
{
	time_t now = mono_now();
	struct session *slot = NULL, *oldest = NULL;

	pthread_mutex_lock(&w->sessions_lock);
	for (int i = 0; i < WEBUI_SESSIONS_MAX; i++) {
		struct session *s = &w->sessions[i];

		if (s->used && now - s->last_seen > (time_t)w->idle_seconds)
			sodium_memzero(s, sizeof(*s));
		if (!s->used && slot == NULL)
			slot = s;
		if (s->used && (oldest == NULL ||
		    s->last_seen < oldest->last_seen))
			oldest = s;
	}
	/* Full: the session idle longest makes room. */
	if (slot == NULL)
		slot = oldest;
	sodium_memzero(slot, sizeof(*slot));
	slot->used = 1;
	webui_random_hex(slot->id, WEBUI_SESSION_ID_HEX / 2);
	webui_random_hex(slot->csrf, WEBUI_CSRF_HEX / 2);
	snprintf(slot->clerk, sizeof(slot->clerk), "%s", clerk);
	slot->role = role;
	slot->last_seen = now;
	who_from(slot, out);
	pthread_mutex_unlock(&w->sessions_lock);
	return JPKI_OK;
}

int
webui_session_find(struct webui *w, const char *id, struct who *out)
{
	time_t now = mono_now();
	int found = 0;

	pthread_mutex_lock(&w->sessions_lock);
	for (int i = 0; i < WEBUI_SESSIONS_MAX; i++) {
		struct session *s = &w->sessions[i];

		if (!s->used || !hex_equal(s->id, id, WEBUI_SESSION_ID_HEX))
			continue;
		if (now - s->last_seen > (time_t)w->idle_seconds) {
			sodium_memzero(s, sizeof(*s));
			break;
		}
		s->last_seen = now;
		who_from(s, out);
		found = 1;
		break;
	}
	pthread_mutex_unlock(&w->sessions_lock);
	return found;
}

void
webui_session_end(struct webui *w, const char *id)
{
	pthread_mutex_lock(&w->sessions_lock);
	for (int i = 0; i < WEBUI_SESSIONS_MAX; i++)
		if (w->sessions[i].used && hex_equal(w->sessions[i].id, id,
		    WEBUI_SESSION_ID_HEX))
			sodium_memzero(&w->sessions[i], sizeof(w->sessions[i]));
	pthread_mutex_unlock(&w->sessions_lock);
}

void
webui_session_end_clerk(struct webui *w, const char *clerk)
{
	pthread_mutex_lock(&w->sessions_lock);
	for (int i = 0; i < WEBUI_SESSIONS_MAX; i++)
		if (w->sessions[i].used &&
		    strcmp(w->sessions[i].clerk, clerk) == 0)
			sodium_memzero(&w->sessions[i], sizeof(w->sessions[i]));
	pthread_mutex_unlock(&w->sessions_lock);
}

int
webui_csrf_ok(const struct who *who, const char *token)
{
	return token != NULL && hex_equal(who->csrf, token, WEBUI_CSRF_HEX);
}
