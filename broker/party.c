/*
 * broker/party.c -- the parties table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "common/err.h"
#include "common/file.h"
#include "common/text.h"
#include "keys/sign.h"
#include "keys/x509.h"

static const char *const party_roles[] = {
    "platform",
    "holder",
    "operator",
    "merchant",
    "buyer",
    "auditor",
};

int
party_role_valid(const char *role)
{
	size_t i;

	for (i = 0; i < sizeof(party_roles) / sizeof(party_roles[0]); i++)
		if (strcmp(role, party_roles[i]) == 0)
			return 1;
	return 0;
}

int
party_insert(struct db *db, const char *name, const char *role, const struct keys_pubkey *pk,
    const char *cert_pem)
{
	sqlite3_stmt *st = NULL;
	uint8_t *der = NULL;
	size_t derlen;
	char fp[KEYS_FINGERPRINT_MAX], now[SL_TIME_RFC3339_LEN];
	int r;

	sl_time_now(now);
	if ((r = keys_pubkey_to_der(pk, &der, &derlen)) != 0 ||
	    (r = keys_pubkey_fingerprint(pk, fp)) != 0)
		goto out;
	if ((r = db_prepare(db,
	         "INSERT INTO parties (name, role, public_key, fingerprint, certificate, created)"
	         " VALUES (?, ?, ?, ?, ?, ?)",
	         &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, der, (int)derlen, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, cert_pem, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "insert party");
		if (r == SL_ERR_EXISTS)
			r = sl_errf(r, "party '%s' already exists", name);
	}
out:
	sqlite3_finalize(st);
	free(der);
	return r;
}

static char *
dup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return strdup(t != NULL ? (const char *)t : "");
}

/* Fill p from a row of "SELECT " PARTY_COLUMNS. */
#define PARTY_COLUMNS                                                                              \
	"id, name, role, fingerprint, created, certificate, public_key, revoked, revoke_reason"

static int
party_from_row(sqlite3_stmt *st, struct party *p)
{
	int n = sqlite3_column_bytes(st, 6);

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	if ((p->name = dup_col(st, 1)) == NULL || (p->role = dup_col(st, 2)) == NULL ||
	    (p->fingerprint = dup_col(st, 3)) == NULL || (p->created = dup_col(st, 4)) == NULL ||
	    (p->certificate = dup_col(st, 5)) == NULL ||
	    (p->public_key = malloc((size_t)n + 1)) == NULL) {
		party_clear(p);
		return SL_ERR_NOMEM;
	}
	if (n > 0)
		memcpy(p->public_key, sqlite3_column_blob(st, 6), (size_t)n);
	p->public_key_len = (size_t)n;
	if ((sqlite3_column_type(st, 7) != SQLITE_NULL && (p->revoked = dup_col(st, 7)) == NULL) ||
	    (sqlite3_column_type(st, 8) != SQLITE_NULL &&
	        (p->revoke_reason = dup_col(st, 8)) == NULL)) {
		party_clear(p);
		return SL_ERR_NOMEM;
	}
	return 0;
}

int
party_find(struct db *db, const char *name, struct party *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare(db, "SELECT " PARTY_COLUMNS " FROM parties WHERE name = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		r = party_from_row(st, out);
	else if (r == SQLITE_DONE)
		r = sl_errf(SL_ERR_NOTFOUND, "no party named '%s'", name);
	else
		r = db_fail(db, "find party");
	sqlite3_finalize(st);
	return r;
}

int
party_find_key(struct db *db, const struct keys_pubkey *pk, struct party *out)
{
	char fp[KEYS_FINGERPRINT_MAX];
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = keys_pubkey_fingerprint(pk, fp)) != 0)
		return r;
	if ((r = db_stmt(
	         db, "SELECT " PARTY_COLUMNS " FROM parties WHERE fingerprint = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		r = party_from_row(st, out);
	else if (r == SQLITE_DONE)
		r = sl_errf(SL_ERR_NOTFOUND, "no party has the key %s", fp);
	else
		r = db_fail(db, "find party by key");
	db_stmt_done(st);
	return r;
}

int
party_list(struct db *db, struct party **list, size_t *count)
{
	sqlite3_stmt *st = NULL;
	struct party *v = NULL, *nv;
	size_t n = 0, cap = 0;
	int r, rc;

	if ((r = db_prepare(db, "SELECT " PARTY_COLUMNS " FROM parties ORDER BY id", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = SL_ERR_NOMEM;
				goto out;
			}
			v = nv;
		}
		if ((r = party_from_row(st, &v[n])) != 0)
			goto out;
		n++;
	}
	if (rc != SQLITE_DONE) {
		r = db_fail(db, "list parties");
		goto out;
	}
	*list = v;
	*count = n;
	v = NULL;
	n = 0;
	r = 0;
out:
	party_list_free(v, n);
	sqlite3_finalize(st);
	return r;
}

void
party_clear(struct party *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->role);
	free(p->fingerprint);
	free(p->created);
	free(p->certificate);
	free(p->public_key);
	free(p->revoked);
	free(p->revoke_reason);
	memset(p, 0, sizeof(*p));
}

int
party_revoke(struct exchange *ex, const char *name, const char *reason, const char *actor)
{
	struct db *db = exchange_db(ex);
	char now[SL_TIME_RFC3339_LEN];
	struct party p;
	sqlite3_stmt *st = NULL;
	int r;

	if (reason == NULL || *reason == '\0')
		return sl_errf(SL_ERR_INVAL, "a revocation needs a reason");
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = party_find(db, name, &p)) != 0)
		goto out;
	if (p.revoked != NULL)
		r = sl_errf(SL_ERR_EXISTS, "party %s was revoked on %s", name, p.revoked);
	else if (strcmp(p.role, "platform") == 0)
		r = sl_errf(SL_ERR_POLICY, "the platform's own party %s cannot be revoked", name);
	party_clear(&p);
	if (r != 0)
		goto out;
	sl_time_now(now);
	if ((r = db_prepare(
	         db, "UPDATE parties SET revoked = ?, revoke_reason = ? WHERE name = ?", &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "revoke party");
	sqlite3_finalize(st);
	if (r == 0 && (r = exchange_audit(ex, actor, "party.revoked", name,
	                   json_pack("{s:s}", "reason", reason))) == 0)
		r = db_commit(db);
out:
	if (r != 0)
		db_rollback(db);
	return r;
}

void
party_list_free(struct party *list, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		party_clear(&list[i]);
	free(list);
}

/* The three output paths: key as given, .pub and .crt beside it. */
