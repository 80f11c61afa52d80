/*
 * broker/console.h -- the web console's logins (`sluice serve --console-token`).
 *
 * A browser that holds no client certificate logs in with a one-time link:
 * a random token bound to one party, good for CONSOLE_TOKEN_S seconds and
 * for one use, which the daemon exchanges for a session (a random id in a
 * Secure, HttpOnly, SameSite=Strict cookie) and a CSRF token that every
 * state-changing request of the session must carry.  Both live only in the
 * daemon's memory: a restart logs everyone out.  The party's role rules
 * apply to a session as to its certificate; the party is looked up (and its
 * revocation checked) on every request, not remembered.
 *
 * Daemon only: process-wide and locked.
 */
#ifndef SLUICE_BROKER_CONSOLE_H
#define SLUICE_BROKER_CONSOLE_H

#include "common/text.h"

#define CONSOLE_TOKEN_S 600
#define CONSOLE_SESSION_S (8 * 3600)
#define CONSOLE_SECRET_HEX 65 /* 32 random bytes in hex, and the NUL */
#define CONSOLE_COOKIE "sluice_session"

/* A login token for party, good for ttl_s seconds, into token; 0, or SL_ERR_NOMEM. */
int console_token_new(const char *party, unsigned ttl_s, char token[CONSOLE_SECRET_HEX])
    __attribute__((warn_unused_result));

/*
 * Spend token (once, within its time): a new session of its party
 * into id.  SL_ERR_AUTH for a token that is unknown, used or expired.
 */
int console_login(const char *token, char id[CONSOLE_SECRET_HEX])
    __attribute__((warn_unused_result));

/* The party and CSRF token of session id; SL_ERR_AUTH when it is unknown or has expired. */
int console_session(const char *id, char party[SL_NAME_MAX + 1], char csrf[CONSOLE_SECRET_HEX])
    __attribute__((warn_unused_result));

/* End session id (logging out); unknown ids are ignored. */
void console_logout(const char *id);

/* Whether two secrets are equal, in time that does not depend on where they differ. */
int console_secret_equal(const char *a, const char *b);

#endif
