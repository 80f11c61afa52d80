/*
 * broker/keyring.c -- master key record, wrapped keys, rotation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/db.h"
#include "broker/keyring.h"
#include "common/err.h"
#include "common/file.h"
#include "common/text.h"
#include "keys/dek.h"
#include "keys/keys.h"
#include "keys/master.h"

#define KIND_DEK "dek"
#define KIND_SECRET "secret"

/* The master_key row. */
struct master_row {
	enum keyring_source source;
	int64_t version;
	struct keys_kdf_params kdf;
	uint8_t *check;
	size_t checklen;
	char changed[32];
};

static void
master_row_clear(struct master_row *row)
{
	free(row->check);
	memset(row, 0, sizeof(*row));
}

static int
master_row_read(struct db *db, struct master_row *row)
{
	sqlite3_stmt *st = NULL;
	const void *p;
	int n, r;

	memset(row, 0, sizeof(*row));
	if ((r = db_stmt(db,
	         "SELECT source, version, kdf_salt, kdf_opslimit, kdf_memlimit, check_blob, changed"
	         " FROM master_key WHERE id = 1",
	         &st)) != 0)
		return r;
	if ((r = sqlite3_step(st)) != SQLITE_ROW) {
		r = r == SQLITE_DONE ? sl_errf(SL_ERR_DB, "catalog has no master key record")
		                     : db_fail(db, "read master key record");
		goto out;
	}
	row->source = strcmp((const char *)sqlite3_column_text(st, 0), "passphrase") == 0
	                  ? KEYRING_SOURCE_PASSPHRASE
	                  : KEYRING_SOURCE_FILE;
	row->version = sqlite3_column_int64(st, 1);
	if (row->source == KEYRING_SOURCE_PASSPHRASE) {
		if (sqlite3_column_bytes(st, 2) != KEYS_KDF_SALT_BYTES) {
			r = sl_errf(SL_ERR_DB, "catalog master key record: bad salt length");
			goto out;
		}
		memcpy(row->kdf.salt, sqlite3_column_blob(st, 2), KEYS_KDF_SALT_BYTES);
		row->kdf.opslimit = (uint64_t)sqlite3_column_int64(st, 3);
		row->kdf.memlimit = (uint64_t)sqlite3_column_int64(st, 4);
	}
	n = sqlite3_column_bytes(st, 5);
	p = sqlite3_column_blob(st, 5);
	if (n <= 0 || (row->check = malloc((size_t)n)) == NULL) {
		r = n <= 0 ? sl_errf(SL_ERR_DB, "catalog master key record: empty check")
		           : SL_ERR_NOMEM;
		goto out;
	}
	memcpy(row->check, p, (size_t)n);
	row->checklen = (size_t)n;
	snprintf(
	    row->changed, sizeof(row->changed), "%s", (const char *)sqlite3_column_text(st, 6));
	r = 0;
out:
	db_stmt_done(st);
	if (r != 0)
		master_row_clear(row);
	return r;
}

/* Insert or replace the master_key row for mk. */
static int
master_row_write(
    struct db *db, const struct keys_master *mk, const struct keys_kdf_params *kdf, int64_t version)
{
	sqlite3_stmt *st = NULL;
	uint8_t *check = NULL;
	size_t checklen;
	char now[SL_TIME_RFC3339_LEN];
	int r;

	sl_time_now(now);
	if ((r = keys_master_check_make(mk, &check, &checklen)) != 0)
		return r;
	if ((r = db_prepare(db,
	         "INSERT OR REPLACE INTO master_key (id, source, version, kdf_salt, kdf_opslimit,"
	         " kdf_memlimit, check_blob, changed) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
	         &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, kdf != NULL ? "passphrase" : "file", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	if (kdf != NULL) {
		sqlite3_bind_blob(st, 3, kdf->salt, KEYS_KDF_SALT_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)kdf->opslimit);
		sqlite3_bind_int64(st, 5, (int64_t)kdf->memlimit);
	}
	sqlite3_bind_blob(st, 6, check, (int)checklen, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "write master key record");
out:
	sqlite3_finalize(st);
	free(check);
	return r;
}

int
keyring_passphrase_read(const char *path, char **pass, size_t *len)
{
	uint8_t *data = NULL;
	char *p;
	size_t n = 0;
	int r;

	if ((r = sl_file_read_private(path, KEYRING_PASSPHRASE_MAX + 1, &data, &n)) != 0) {
		if (r == SL_ERR_POLICY)
			return r;
		if (r == SL_ERR_NOTFOUND)
			return sl_errf(r, "%s: passphrase file not found", path);
		if (r == SL_ERR_LIMIT)
			return sl_errf(r, "%s: passphrase file longer than %d bytes", path,
			    KEYRING_PASSPHRASE_MAX);
		return sl_errf(r, "%s: cannot read passphrase file: %s", path, strerror(errno));
	}
	if (n > 0 && data[n - 1] == '\n')
		n--;
	if (n > 0 && data[n - 1] == '\r')
		n--;
	if (n == 0 || n > KEYRING_PASSPHRASE_MAX) {
		sl_file_free_secret(data, n + 2);
		return sl_errf(
		    SL_ERR_INVAL, "%s: passphrase is %s", path, n == 0 ? "empty" : "too long");
	}
	if ((p = keys_secret_alloc(n + 1)) == NULL) {
		sl_file_free_secret(data, n);
		return SL_ERR_NOMEM;
	}
	memcpy(p, data, n);
	p[n] = '\0';
	sl_file_free_secret(data, n);
	*pass = p;
	*len = n;
	return 0;
}

int
keyring_master_record(
    struct db *db, const struct keys_master *mk, const struct keys_kdf_params *kdf)
{
	return master_row_write(db, mk, kdf, 1);
}

/* Derive the master key from a passphrase file with stored parameters. */
static int
master_from_file_pass(enum keys_suite suite, const struct keys_kdf_params *kdf, const char *path,
    struct keys_master **out)
{
	char *pass = NULL;
	size_t len = 0;
	int r;

	if ((r = keyring_passphrase_read(path, &pass, &len)) != 0)
		return r;
	r = keys_master_from_passphrase(suite, kdf, pass, len, out);
	keys_secret_free(pass);
	if (r == SL_ERR_INVAL)
		return sl_errf(r, "catalog: Argon2id parameters out of range");
	return r;
}

/* Read a key file and check it against the catalog; 0 only for the right key. */
static int
master_try_file(
    enum keys_suite suite, const char *path, const struct master_row *row, struct keys_master **out)
{
	struct keys_master *mk = NULL;
	int r;

	if ((r = keys_master_read_file(suite, path, &mk)) != 0)
		return r;
	if (keys_master_check(mk, row->check, row->checklen) != 0) {
		keys_master_free(mk);
		return SL_ERR_AUTH;
	}
	*out = mk;
	return 0;
}

int
keyring_master_version(struct db *db, int64_t *version)
{
	struct master_row row;
	int r;

	if ((r = master_row_read(db, &row)) != 0)
		return r;
	*version = row.version;
	master_row_clear(&row);
	return 0;
}

int
keyring_master_load(struct db *db, const char *dir, enum keys_suite suite,
    const char *passphrase_file, struct keys_master **out)
{
	struct master_row row;
	struct keys_master *mk = NULL;
	char *path = NULL, *newp = NULL;
	int r, rnew;

	if ((r = master_row_read(db, &row)) != 0)
		return r;
	if (row.source == KEYRING_SOURCE_PASSPHRASE) {
		if (passphrase_file == NULL) {
			r = sl_errf(SL_ERR_POLICY,
			    "%s: the master key comes from a passphrase: give --passphrase-file F "
			    "(or set SLUICE_PASSPHRASE_FILE)",
			    dir);
			goto out;
		}
		if ((r = master_from_file_pass(suite, &row.kdf, passphrase_file, &mk)) != 0)
			goto out;
		if (keys_master_check(mk, row.check, row.checklen) != 0) {
			r = sl_errf(SL_ERR_AUTH, "%s: wrong passphrase for this data directory",
			    passphrase_file);
			goto out;
		}
		goto done;
	}
	if ((path = sl_path_join(dir, KEYRING_MASTER_FILE)) == NULL ||
	    (newp = sl_path_join(dir, KEYRING_MASTER_NEW)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if ((r = master_try_file(suite, path, &row, &mk)) == 0)
		goto done;
	if (r == SL_ERR_POLICY) /* the message, naming path and the fix, is recorded */
		goto out;
	/* A rotation committed but did not rename: roll it forward. */
	if ((rnew = master_try_file(suite, newp, &row, &mk)) == 0) {
		if (rename(newp, path) == -1 && errno != ENOENT) {
			r = sl_errf(SL_ERR_IO, "%s: cannot finish master key rotation: %s", path,
			    strerror(errno));
			goto out;
		}
		(void)sl_fsync_parent(path);
		goto done;
	}
	if (r == SL_ERR_NOTFOUND)
		r = sl_errf(r, "%s: master key file missing", path);
	else if (r == SL_ERR_PARSE)
		r = sl_errf(r, "%s: not a Sluice master key file", path);
	else if (r == SL_ERR_AUTH)
		r = sl_errf(r, "%s: wrong master key for this data directory", path);
	else
		r = sl_errf(r, "%s: cannot read master key: %s", path, strerror(errno));
	goto out;
done:
	*out = mk;
	mk = NULL;
	r = 0;
out:
	keys_master_free(mk);
	master_row_clear(&row);
	free(path);
	free(newp);
	return r;
}

struct slot {
	char kind[8];
	char *name;
	uint32_t version;
};

/* Every (kind, name, version) in wrapped_keys; caller frees with slots_free(). */
static int
slots_read(struct db *db, struct slot **out, size_t *count)
{
	sqlite3_stmt *st = NULL;
	struct slot *v = NULL, *nv;
	size_t n = 0, cap = 0;
	int r, rc;

	if ((r = db_prepare(db, "SELECT kind, name, version FROM wrapped_keys", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = SL_ERR_NOMEM;
				goto out;
			}
			v = nv;
		}
		snprintf(
		    v[n].kind, sizeof(v[n].kind), "%s", (const char *)sqlite3_column_text(st, 0));
		v[n].version = (uint32_t)sqlite3_column_int64(st, 2);
		if ((v[n].name = strdup((const char *)sqlite3_column_text(st, 1))) == NULL) {
			r = SL_ERR_NOMEM;
			goto out;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		r = db_fail(db, "read wrapped keys");
		goto out;
	}
	*out = v;
	*count = n;
	v = NULL;
	n = 0;
	r = 0;
out:
	while (n > 0)
		free(v[--n].name);
	free(v);
	sqlite3_finalize(st);
	return r;
}

static void
slots_free(struct slot *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static int
slot_get(struct db *db, const struct keys_master *mk, const char *kind, const char *name,
    uint32_t version, uint8_t **secret, size_t *len)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare(db,
	         "SELECT blob FROM wrapped_keys WHERE kind = ? AND name = ? AND version = ?",
	         &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, version);
	if ((r = sqlite3_step(st)) != SQLITE_ROW) {
		r = r == SQLITE_DONE
		        ? sl_errf(SL_ERR_NOTFOUND, "no %s key '%s' version %u", kind, name, version)
		        : db_fail(db, "read wrapped key");
		goto out;
	}
	r = keys_master_unwrap(mk, kind, name, version, sqlite3_column_blob(st, 0),
	    (size_t)sqlite3_column_bytes(st, 0), secret, len);
	if (r == SL_ERR_AUTH)
		r = sl_errf(r,
		    "%s key '%s' version %u fails to unwrap: altered or not made for "
		    "this slot",
		    kind, name, version);
out:
	sqlite3_finalize(st);
	return r;
}

/* Write a wrapped blob into a slot: insert (replace = 0) or update (replace = 1). */
static int
slot_put(struct db *db, const struct keys_master *mk, const char *kind, const char *name,
    uint32_t version, const void *secret, size_t len, int replace)
{
	sqlite3_stmt *st = NULL;
	uint8_t *blob = NULL;
	size_t bloblen;
	char now[SL_TIME_RFC3339_LEN];
	int r;

	sl_time_now(now);
	if ((r = keys_master_wrap(mk, kind, name, version, secret, len, &blob, &bloblen)) != 0)
		return r;
	if ((r = db_prepare(db,
	         replace ? "UPDATE wrapped_keys SET blob = ?4 WHERE kind = ?1 AND name = ?2 AND"
	                   " version = ?3"
	                 : "INSERT INTO wrapped_keys (kind, name, version, blob, created)"
	                   " VALUES (?1, ?2, ?3, ?4, ?5)",
	         &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, version);
	sqlite3_bind_blob(st, 4, blob, (int)bloblen, SQLITE_STATIC);
	if (!replace)
		sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "write wrapped key");
		if (r == SL_ERR_EXISTS)
			r = sl_errf(
			    r, "%s key '%s' version %u already exists", kind, name, version);
	}
out:
	sqlite3_finalize(st);
	free(blob);
	return r;
}

int
keyring_secret_put(
    struct db *db, const struct keys_master *mk, const char *name, const void *secret, size_t len)
{
	return slot_put(db, mk, KIND_SECRET, name, 0, secret, len, 0);
}

int
keyring_secret_get(
    struct db *db, const struct keys_master *mk, const char *name, uint8_t **secret, size_t *len)
{
	return slot_get(db, mk, KIND_SECRET, name, 0, secret, len);
}

int
keyring_dek_put(struct db *db, const struct keys_master *mk, const char *product, uint32_t version,
    const struct keys_dek *dek)
{
	return slot_put(db, mk, KIND_DEK, product, version, keys_dek_bytes(dek), KEYS_DEK_BYTES, 0);
}

int
keyring_dek_get(struct db *db, const struct keys_master *mk, const char *product, uint32_t version,
    struct keys_dek **out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_stmt(db,
	         "SELECT blob FROM wrapped_keys WHERE kind = 'dek' AND name = ? AND version = ?",
	         &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, product, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	if ((r = sqlite3_step(st)) != SQLITE_ROW) {
		r = r == SQLITE_DONE ? sl_errf(SL_ERR_NOTFOUND,
		                           "no data key for product '%s' "
		                           "version %u",
		                           product, version)
		                     : db_fail(db, "read data key");
		goto out;
	}
	r = keys_dek_unwrap(mk, product, version, sqlite3_column_blob(st, 0),
	    (size_t)sqlite3_column_bytes(st, 0), out);
	if (r == SL_ERR_AUTH)
		r = sl_errf(
		    r, "data key of product '%s' version %u fails to unwrap", product, version);
out:
	db_stmt_done(st);
	return r;
}

/* Rewrap every slot from old to new, inside the caller's transaction. */
static int
rewrap_all(struct db *db, const struct keys_master *old, const struct keys_master *new)
{
	struct slot *slots = NULL;
	uint8_t *secret = NULL;
	size_t n = 0, i, len = 0;
	int r;

	if ((r = slots_read(db, &slots, &n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((r = slot_get(db, old, slots[i].kind, slots[i].name, slots[i].version, &secret,
		         &len)) != 0)
			goto out;
		r = slot_put(
		    db, new, slots[i].kind, slots[i].name, slots[i].version, secret, len, 1);
		keys_secret_free(secret);
		if (r != 0)
			goto out;
	}
out:
	slots_free(slots, n);
	return r;
}

int
keyring_master_rotate(struct db *db, const char *dir, const char *new_passphrase_file,
    int (*hook)(void *arg, int64_t version, int64_t rewrapped, int passphrase), void *arg,
    struct keys_master **mk)
{
	struct slot *slots = NULL;
	size_t nslots = 0;
	struct master_row row;
	struct keys_master *newmk = NULL;
	struct keys_kdf_params kdf;
	char *path = NULL, *newp = NULL;
	int r, wrote = 0;

	memset(&row, 0, sizeof(row));
	if ((path = sl_path_join(dir, KEYRING_MASTER_FILE)) == NULL ||
	    (newp = sl_path_join(dir, KEYRING_MASTER_NEW)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	/* The write lock first: no two rotations, no reader sees a half state. */
	if ((r = db_begin(db)) != 0 || (r = master_row_read(db, &row)) != 0)
		goto out;
	if (keys_master_check(*mk, row.check, row.checklen) != 0) {
		r = sl_errf(SL_ERR_AUTH, "master key changed during rotation; run it again");
		goto out;
	}
	if (row.source == KEYRING_SOURCE_FILE) {
		if (new_passphrase_file != NULL) {
			r = sl_errf(SL_ERR_POLICY,
			    "--new-passphrase-file: this data directory's master key comes from "
			    "%s, "
			    "not a passphrase",
			    path);
			goto out;
		}
		/* Left over from a rotation that died before its commit. */
		if (unlink(newp) == -1 && errno != ENOENT) {
			r = sl_errf(SL_ERR_IO, "%s: %s", newp, strerror(errno));
			goto out;
		}
		if ((r = keys_master_generate(keys_master_suite(*mk), &newmk)) != 0)
			goto out;
		if ((r = keys_master_write_file(newmk, newp)) != 0) {
			r = sl_errf(
			    r, "%s: cannot write new master key: %s", newp, strerror(errno));
			goto out;
		}
		wrote = 1;
	} else {
		if (new_passphrase_file == NULL) {
			r = sl_errf(SL_ERR_POLICY, "the master key comes from a passphrase: give "
			                           "--new-passphrase-file F");
			goto out;
		}
		keys_kdf_params_new(&kdf);
		if ((r = master_from_file_pass(
		         keys_master_suite(*mk), &kdf, new_passphrase_file, &newmk)) != 0)
			goto out;
	}
	if (hook != NULL) {
		if ((r = slots_read(db, &slots, &nslots)) != 0 ||
		    (r = hook(arg, row.version + 1, (int64_t)nslots,
		         row.source == KEYRING_SOURCE_PASSPHRASE)) != 0)
			goto out;
	}
	if ((r = rewrap_all(db, *mk, newmk)) != 0 ||
	    (r = master_row_write(db, newmk, row.source == KEYRING_SOURCE_FILE ? NULL : &kdf,
	         row.version + 1)) != 0 ||
	    (r = db_commit(db)) != 0)
		goto out;
	/* Committed: the new key is the key.  A crash from here on rolls forward at load. */
	wrote = 0;
	if (row.source == KEYRING_SOURCE_FILE) {
		if (rename(newp, path) == -1 && errno != ENOENT) {
			r = sl_errf(SL_ERR_IO,
			    "%s: rotation committed but rename failed (the next "
			    "command finishes it): %s",
			    newp, strerror(errno));
		}
		(void)sl_fsync_parent(path);
	}
	keys_master_free(*mk);
	*mk = newmk;
	newmk = NULL;
out:
	slots_free(slots, nslots);
	db_rollback(db);
	if (wrote)
		(void)unlink(newp);
	keys_master_free(newmk);
	master_row_clear(&row);
	free(path);
	free(newp);
	return r;
}

int
keyring_status(struct db *db, const struct keys_master *mk, struct keyring_status *st)
{
	struct master_row row;
	struct slot *slots = NULL;
	uint8_t *secret = NULL;
	size_t n = 0, i, len;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = master_row_read(db, &row)) != 0)
		return r;
	st->source = row.source;
	st->version = row.version;
	st->kdf = row.kdf;
	snprintf(st->changed, sizeof(st->changed), "%s", row.changed);
	master_row_clear(&row);
	if ((r = slots_read(db, &slots, &n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if (strcmp(slots[i].kind, KIND_DEK) == 0)
			st->deks++;
		else
			st->secrets++;
		if (mk == NULL)
			continue;
		if ((r = slot_get(db, mk, slots[i].kind, slots[i].name, slots[i].version, &secret,
		         &len)) != 0)
			break;
		keys_secret_free(secret);
	}
	slots_free(slots, n);
	return r;
}
