/*
 * broker/console.c -- login tokens and sessions of the web console (broker/console.h).
 *
 * Few of each (a token per `--console-token` name, a session per login), so
 * plain lists; expired entries are dropped whenever the list is walked.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/console.h"
#include "common/err.h"
#include "common/text.h"
#include "keys/keys.h"

struct entry {
	struct entry *next;
	char secret[CONSOLE_SECRET_HEX]; /* a token, or a session id */
	char csrf[CONSOLE_SECRET_HEX];   /* sessions */
	char party[SL_NAME_MAX + 1];
	double expires; /* sl_monotonic() */
};

static struct {
	pthread_mutex_t mu;
	struct entry *tokens, *sessions;
} C = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL};

static void
secret_new(char out[CONSOLE_SECRET_HEX])
{
	uint8_t raw[32];

	keys_random(raw, sizeof raw);
	sl_hex_encode(raw, sizeof raw, out);
}

int
console_secret_equal(const char *a, const char *b)
{
	size_t n = strlen(a), i;
	unsigned char d = 0;

	if (n != strlen(b))
		return 0;
	for (i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Under C.mu: the live entry of list with secret s (expired ones dropped on the way), or NULL. */
static struct entry *
find_locked(struct entry **list, const char *s, int unlink)
{
	struct entry **pp = list, *e;
	double now = sl_monotonic();

	while ((e = *pp) != NULL) {
		if (e->expires < now) {
			*pp = e->next;
			explicit_bzero(e, sizeof *e);
			free(e);
			continue;
		}
		if (console_secret_equal(e->secret, s)) {
			if (unlink)
				*pp = e->next;
			return e;
		}
		pp = &e->next;
	}
	return NULL;
}

int
console_token_new(const char *party, unsigned ttl_s, char token[CONSOLE_SECRET_HEX])
{
	struct entry *e = calloc(1, sizeof *e);

	if (e == NULL)
		return SL_ERR_NOMEM;
	secret_new(e->secret);
	snprintf(e->party, sizeof e->party, "%s", party);
	e->expires = sl_monotonic() + ttl_s;
	memcpy(token, e->secret, CONSOLE_SECRET_HEX);
	pthread_mutex_lock(&C.mu);
	e->next = C.tokens;
	C.tokens = e;
	pthread_mutex_unlock(&C.mu);
	return 0;
}

int
console_login(const char *token, char id[CONSOLE_SECRET_HEX])
{
	struct entry *t;

	pthread_mutex_lock(&C.mu);
	/* Taken off the list as it is found: a token is spent once, even by two logins at once. */
	if ((t = find_locked(&C.tokens, token, 1)) == NULL) {
		pthread_mutex_unlock(&C.mu);
		return sl_errf(SL_ERR_AUTH, "this login link was used already or has expired; "
		                            "ask for a new one (sluice serve --console-token)");
	}
	/* The entry becomes the session: a new secret, a CSRF token, a longer life. */
	secret_new(t->secret);
	secret_new(t->csrf);
	t->expires = sl_monotonic() + CONSOLE_SESSION_S;
	t->next = C.sessions;
	C.sessions = t;
	memcpy(id, t->secret, CONSOLE_SECRET_HEX);
	pthread_mutex_unlock(&C.mu);
	return 0;
}

int
console_session(const char *id, char party[SL_NAME_MAX + 1], char csrf[CONSOLE_SECRET_HEX])
{
	struct entry *s;
	int r = 0;

	pthread_mutex_lock(&C.mu);
	if ((s = find_locked(&C.sessions, id, 0)) == NULL) {
		r = sl_errf(SL_ERR_AUTH, "the console session has ended; log in again");
	} else {
		memcpy(party, s->party, SL_NAME_MAX + 1);
		memcpy(csrf, s->csrf, CONSOLE_SECRET_HEX);
	}
	pthread_mutex_unlock(&C.mu);
	return r;
}

void
console_logout(const char *id)
{
	struct entry *s;

	pthread_mutex_lock(&C.mu);
	if ((s = find_locked(&C.sessions, id, 1)) != NULL) {
		explicit_bzero(s, sizeof *s);
		free(s);
	}
	pthread_mutex_unlock(&C.mu);
}
