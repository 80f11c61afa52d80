/*
 * broker/exchange.c -- creating and opening a data directory.
 *
 * Trusts: the data directory's files (owned by this user).  Holds: the
 * catalog handle and, once asked for, the master key.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/audit.h"
#include "broker/audit_cplog.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/keyring.h"
#include "broker/party.h"
#include "broker/spawn.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/schema.h"
#include "common/text.h"
#include "keys/kdf.h"
#include "keys/keys.h"
#include "keys/master.h"
#include "keys/sign.h"
#include "keys/x509.h"

#define CA_COMMON_NAME "Sluice platform CA"
#define SERVER_HOST "localhost"
#define DATA_FORMAT "1"

/* Schemas exchange_schema() keeps on a handle: room for the products one job thread serves. */
#define EXCHANGE_SCHEMAS 8

struct exchange {
	char *dir;
	char *passphrase_file;
	struct db *db;
	enum keys_suite suite;
	struct keys_master *mk;
	int64_t mk_version; /* the catalog's master key version when mk was loaded */
	struct audit_cplog *cplog;
	struct {
		char *json;
		struct schema *sch;
	} schemas[EXCHANGE_SCHEMAS]; /* exchange_schema()'s, replaced in turn */
	size_t next_schema;
};

/* 0 if dir is absent or an empty directory; an error naming the problem otherwise. */
static int
target_check(const char *dir)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (lstat(dir, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return sl_errf(SL_ERR_IO, "%s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return sl_errf(SL_ERR_EXISTS, "%s: exists and is not a directory", dir);
	if ((d = opendir(dir)) == NULL)
		return sl_errf(SL_ERR_IO, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			r = sl_errf(SL_ERR_EXISTS, "%s: directory is not empty (found '%s')", dir,
			    de->d_name);
			break;
		}
	}
	closedir(d);
	return r;
}

/*
 * dir as an absolute path through its real parent, so that "." or "x/" have a
 * parent and a name to build and rename a sibling with.  Caller frees *out.
 */
static int
target_resolve(const char *dir, char **out)
{
	char *a = NULL, *b = NULL, *parent = NULL, *base, *abs = NULL;
	size_t len;
	int r = SL_ERR_NOMEM;

	if ((abs = realpath(dir, NULL)) != NULL) {
		*out = abs;
		return 0;
	}
	if ((a = strdup(dir)) == NULL || (b = strdup(dir)) == NULL)
		goto out;
	base = basename(b);
	if ((parent = realpath(dirname(a), NULL)) == NULL) {
		r = sl_errf(SL_ERR_IO, "%s: its parent directory: %s", dir, strerror(errno));
		goto out;
	}
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || strcmp(base, "/") == 0) {
		r = sl_errf(SL_ERR_INVAL, "%s: not a directory name to create", dir);
		goto out;
	}
	len = strlen(parent) + strlen(base) + 2;
	if ((abs = malloc(len)) == NULL)
		goto out;
	snprintf(abs, len, "%s/%s", strcmp(parent, "/") == 0 ? "" : parent, base);
	*out = abs;
	r = 0;
out:
	free(a);
	free(b);
	free(parent);
	return r;
}

/* A new temporary directory beside dir: "<parent>/.<base>.init-XXXXXX". */
static int
staging_make(const char *dir, char **out)
{
	char *a = NULL, *b = NULL, *tmp = NULL;
	size_t len;
	int r = SL_ERR_NOMEM;

	if ((a = strdup(dir)) == NULL || (b = strdup(dir)) == NULL)
		goto out;
	len = strlen(dir) + 32;
	if ((tmp = malloc(len)) == NULL)
		goto out;
	snprintf(tmp, len, "%s/.%s.init-XXXXXX", dirname(a), basename(b));
	if (mkdtemp(tmp) == NULL) {
		r = sl_errf(
		    SL_ERR_IO, "%s: cannot create a directory beside it: %s", dir, strerror(errno));
		goto out;
	}
	*out = tmp;
	tmp = NULL;
	r = 0;
out:
	free(a);
	free(b);
	free(tmp);
	return r;
}

/* Write root/name with mode; an error names the file. */
static int
put_file(const char *root, const char *name, mode_t mode, const void *data, size_t len)
{
	char *path;
	int r;

	if ((path = sl_path_join(root, name)) == NULL)
		return SL_ERR_NOMEM;
	if ((r = sl_file_write_new(path, mode, data, len)) != 0)
		r = sl_errf(r, "%s: %s", path, strerror(errno));
	free(path);
	return r;
}

static int
put_dir(const char *root, const char *name)
{
	char *path;
	int r = 0;

	if ((path = sl_path_join(root, name)) == NULL)
		return SL_ERR_NOMEM;
	if (mkdir(path, 0700) == -1)
		r = sl_errf(SL_ERR_IO, "%s: %s", path, strerror(errno));
	free(path);
	return r;
}

static int
meta_put(struct db *db, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare(db, "INSERT INTO meta (key, value) VALUES (?, ?)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "write meta");
	sqlite3_finalize(st);
	return r;
}

/* The platform's identity, CA, server certificate and party row, in db's open transaction. */
static int
create_platform(const char *root, struct db *db, const struct keys_master *mk,
    enum keys_suite suite, struct exchange_created *info)
{
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	struct keys_ca *ca = NULL;
	char *idpem = NULL, *capem = NULL, *cakey = NULL, *pubpem = NULL, *srvcrt = NULL,
	     *srvkey = NULL, *platcrt = NULL;
	size_t idlen = 0, calen, cakeylen = 0, publen, srvcrtlen, srvkeylen = 0, platlen;
	int r;

	if ((r = keys_identity_generate(suite, &id)) != 0 ||
	    (r = keys_identity_to_pem(id, &idpem, &idlen)) != 0 ||
	    (r = keys_identity_pubkey(id, &pk)) != 0 ||
	    (r = keys_pubkey_to_pem(pk, &pubpem, &publen)) != 0 ||
	    (r = keys_pubkey_fingerprint(pk, info->platform_fingerprint)) != 0 ||
	    (r = keys_ca_generate(CA_COMMON_NAME, &ca)) != 0 ||
	    (r = keys_ca_cert_pem(ca, &capem, &calen)) != 0 ||
	    (r = keys_ca_key_pem(ca, &cakey, &cakeylen)) != 0 ||
	    (r = keys_ca_issue_server(ca, SERVER_HOST, &srvcrt, &srvcrtlen, &srvkey, &srvkeylen)) !=
	        0 ||
	    (r = keys_ca_issue_client(
	         ca, pk, EXCHANGE_PLATFORM_NAME, "platform", &platcrt, &platlen)) != 0)
		goto out;
	if ((r = keyring_secret_put(db, mk, KEYRING_SECRET_PLATFORM, idpem, idlen)) != 0 ||
	    (r = keyring_secret_put(db, mk, KEYRING_SECRET_CA, cakey, cakeylen)) != 0 ||
	    (r = party_insert(db, EXCHANGE_PLATFORM_NAME, "platform", pk, platcrt)) != 0)
		goto out;
	if ((r = put_file(root, EXCHANGE_PLATFORM_PUB, 0644, pubpem, publen)) != 0 ||
	    (r = put_file(root, EXCHANGE_CA_CERT, 0644, capem, calen)) != 0 ||
	    (r = put_file(root, EXCHANGE_SERVER_CERT, 0644, srvcrt, srvcrtlen)) != 0 ||
	    (r = put_file(root, EXCHANGE_SERVER_KEY, 0600, srvkey, srvkeylen)) != 0)
		goto out;
	r = 0;
out:
	keys_pem_free(idpem, idlen);
	keys_pem_free(cakey, cakeylen);
	keys_pem_free(srvkey, srvkeylen);
	free(pubpem);
	free(capem);
	free(srvcrt);
	free(platcrt);
	keys_ca_free(ca);
	keys_pubkey_free(pk);
	keys_identity_free(id);
	return r;
}

/* Build a whole data directory at root (an empty directory). */
static int
create_at(const char *root, enum keys_suite suite, const char *passphrase_file,
    struct exchange_created *info)
{
	struct keys_master *mk = NULL;
	struct keys_kdf_params kdf;
	struct db *db = NULL;
	char *dbpath = NULL, *keypath = NULL, *pass = NULL;
	char now[SL_TIME_RFC3339_LEN];
	size_t passlen = 0;
	int r;

	if ((r = put_dir(root, EXCHANGE_STORES_DIR)) != 0 || (r = put_dir(root, "tls")) != 0 ||
	    (r = put_file(root, AUDIT_CPLOG_FILE, 0644, "", 0)) != 0)
		goto out;
	if (passphrase_file != NULL) {
		keys_kdf_params_new(&kdf);
		if ((r = keyring_passphrase_read(passphrase_file, &pass, &passlen)) != 0 ||
		    (r = keys_master_from_passphrase(suite, &kdf, pass, passlen, &mk)) != 0)
			goto out;
	} else {
		if ((keypath = sl_path_join(root, KEYRING_MASTER_FILE)) == NULL) {
			r = SL_ERR_NOMEM;
			goto out;
		}
		if ((r = keys_master_generate(suite, &mk)) != 0)
			goto out;
		if ((r = keys_master_write_file(mk, keypath)) != 0) {
			r = sl_errf(r, "%s: %s", keypath, strerror(errno));
			goto out;
		}
	}
	if ((dbpath = sl_path_join(root, EXCHANGE_DB)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	sl_time_now(now);
	if ((r = db_open(dbpath, 1, &db)) != 0 || (r = db_migrate(db)) != 0 ||
	    (r = db_begin(db)) != 0)
		goto out;
	if ((r = meta_put(db, "suite", keys_suite_name(suite))) != 0 ||
	    (r = meta_put(db, "created", now)) != 0 ||
	    (r = meta_put(db, "data_format", DATA_FORMAT)) != 0 ||
	    (r = keyring_master_record(db, mk, passphrase_file != NULL ? &kdf : NULL)) != 0 ||
	    (r = create_platform(root, db, mk, suite, info)) != 0)
		goto out;
	if ((r = audit_append(db, suite, AUDIT_ACTOR_SYSTEM, "exchange.initialized", "exchange",
	         json_pack("{s:s, s:s, s:s, s:i}", "suite", keys_suite_name(suite), "master_key",
	             passphrase_file != NULL ? "passphrase" : "file", "platform_key",
	             info->platform_fingerprint, "schema_version", DB_SCHEMA_VERSION),
	         NULL)) != 0 ||
	    (r = db_commit(db)) != 0)
		goto out;
	info->suite = suite;
out:
	db_close(db); /* rolls back on failure; removes the WAL on success */
	keys_master_free(mk);
	if (pass != NULL)
		keys_secret_free(pass);
	free(dbpath);
	free(keypath);
	return r;
}

int
exchange_create(const char *dir, enum keys_suite suite, const char *passphrase_file,
    struct exchange_created *info)
{
	char *staging = NULL, *abs = NULL;
	int r;

	memset(info, 0, sizeof(*info));
	if ((r = target_check(dir)) != 0 || (r = target_resolve(dir, &abs)) != 0)
		return r;
	if ((r = staging_make(abs, &staging)) != 0) {
		free(abs);
		return r;
	}
	if ((r = create_at(staging, suite, passphrase_file, info)) != 0)
		goto out;
	/* rename(2) replaces an empty directory; a non-empty one makes it fail. */
	if (rename(staging, abs) == -1) {
		r = sl_errf(errno == ENOTEMPTY || errno == EEXIST ? SL_ERR_EXISTS : SL_ERR_IO,
		    "%s: %s", dir, strerror(errno));
		goto out;
	}
	free(staging);
	/* The data directory is complete; a failed fsync here only risks durability. */
	(void)sl_fsync_parent(abs);
	free(abs);
	return 0;
out:
	(void)sl_rmtree(staging);
	free(staging);
	free(abs);
	return r;
}

static int
meta_get(struct db *db, const char *key, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare(db, "SELECT value FROM meta WHERE key = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
		r = 0;
	} else {
		r = r == SQLITE_DONE ? sl_errf(SL_ERR_DB, "catalog meta '%s' missing", key)
		                     : db_fail(db, "read meta");
	}
	sqlite3_finalize(st);
	return r;
}

/*
 * Workers' diagnostics go to DIR/worker.log, for the platform's operator:
 * never to the party that asked for the job.  Emptied when it has grown
 * past EXCHANGE_WORKER_LOG_MAX (each worker writes at most SPAWN_STDERR_MAX).
 */
static void
worker_log_set(struct exchange *ex)
{
	char *path = sl_path_join(ex->dir, EXCHANGE_WORKER_LOG);
	struct stat st;

	if (path != NULL && stat(path, &st) == 0 && st.st_size > EXCHANGE_WORKER_LOG_MAX &&
	    truncate(path, 0) != 0)
		sl_warnx("%s: cannot empty it: %s", path, strerror(errno));
	spawn_log_set(path);
	free(path);
}

int
exchange_open(const char *dir, const char *passphrase_file, struct exchange **out)
{
	struct exchange *ex;
	char *dbpath = NULL, suite[16];
	int r;

	if ((ex = calloc(1, sizeof(*ex))) == NULL || (ex->dir = strdup(dir)) == NULL ||
	    (passphrase_file != NULL && (ex->passphrase_file = strdup(passphrase_file)) == NULL) ||
	    (dbpath = sl_path_join(dir, EXCHANGE_DB)) == NULL) {
		r = SL_ERR_NOMEM;
		goto fail;
	}
	if ((r = db_open(dbpath, 0, &ex->db)) != 0) {
		if (r == SL_ERR_NOTFOUND)
			r = sl_errf(r,
			    "%s: not a Sluice data directory (no %s); create one with "
			    "`sluice init %s`",
			    dir, EXCHANGE_DB, dir);
		goto fail;
	}
	if ((r = db_migrate(ex->db)) != 0 ||
	    (r = meta_get(ex->db, "suite", suite, sizeof(suite))) != 0)
		goto fail;
	if (keys_suite_parse(suite, &ex->suite) != 0) {
		r = sl_errf(SL_ERR_DB, "%s: unknown crypto suite '%s' in catalog", dbpath, suite);
		goto fail;
	}
	/* checkpoints.log must agree with the database before anything reads or signs. */
	if ((r = audit_cplog_open(ex->db, ex->suite, dir, &ex->cplog)) != 0)
		goto fail;
	db_on_commit(ex->db, audit_cplog_committed, ex->cplog);
	worker_log_set(ex);
	free(dbpath);
	*out = ex;
	return 0;
fail:
	free(dbpath);
	exchange_close(ex);
	return r;
}

struct db *
exchange_db(struct exchange *ex)
{
	return ex->db;
}

const char *
exchange_dir(const struct exchange *ex)
{
	return ex->dir;
}

enum keys_suite
exchange_suite(const struct exchange *ex)
{
	return ex->suite;
}

struct audit_cplog *
exchange_cplog(struct exchange *ex)
{
	return ex->cplog;
}

int
exchange_master(struct exchange *ex, struct keys_master **mk)
{
	int64_t version;
	int r;

	/*
	 * Another process (`keys rotate-master` beside a running daemon) may
	 * have rotated the key since it was loaded: the keys wrapped since are
	 * under the new one, so the new one is loaded.
	 */
	if ((r = keyring_master_version(ex->db, &version)) != 0)
		return r;
	if (ex->mk != NULL && version != ex->mk_version) {
		keys_master_free(ex->mk);
		ex->mk = NULL;
	}
	if (ex->mk == NULL) {
		if ((r = keyring_master_load(
		         ex->db, ex->dir, ex->suite, ex->passphrase_file, &ex->mk)) != 0)
			return r;
		ex->mk_version = version;
	}
	*mk = ex->mk;
	return 0;
}

int
exchange_audit(struct exchange *ex, const char *actor, const char *action, const char *subject,
    json_t *details)
{
	struct keys_identity *id = NULL;
	int64_t seq;
	int r;

	if ((r = audit_append(ex->db, ex->suite, actor, action, subject, details, &seq)) != 0)
		return r;
	if (seq % AUDIT_CHECKPOINT_EVERY != 0)
		return 0;
	if ((r = exchange_platform_identity(ex, &id)) != 0)
		return r;
	r = audit_checkpoint(ex->db, ex->suite, id, ex->cplog, 0, NULL);
	keys_identity_free(id);
	return r;
}

/* keyring_master_rotate()'s hook: the event commits with the rotation. */
static int
rotation_audited(void *arg, int64_t version, int64_t rewrapped, int passphrase)
{
	return exchange_audit(arg, EXCHANGE_PLATFORM_NAME, "keys.master_rotated", "master",
	    json_pack("{s:I, s:I, s:s}", "version", (json_int_t)version, "rewrapped",
	        (json_int_t)rewrapped, "source", passphrase ? "passphrase" : "file"));
}

int
exchange_rotate_master(struct exchange *ex, const char *new_passphrase_file)
{
	struct keys_master *mk;
	int r;

	if ((r = exchange_master(ex, &mk)) != 0 ||
	    (r = keyring_master_rotate(
	         ex->db, ex->dir, new_passphrase_file, rotation_audited, ex, &ex->mk)) != 0)
		return r;
	return keyring_master_version(ex->db, &ex->mk_version);
}

int
exchange_platform_identity(struct exchange *ex, struct keys_identity **out)
{
	struct keys_master *mk;
	uint8_t *pem = NULL;
	size_t len = 0;
	int r;

	if ((r = exchange_master(ex, &mk)) != 0 ||
	    (r = keyring_secret_get(ex->db, mk, KEYRING_SECRET_PLATFORM, &pem, &len)) != 0)
		return r;
	if ((r = keys_identity_from_pem(pem, len, out)) != 0)
		r = sl_errf(r, "platform identity in catalog is not a private key");
	keys_secret_free(pem);
	return r;
}

int
exchange_ca(struct exchange *ex, struct keys_ca **out)
{
	struct keys_master *mk;
	uint8_t *key = NULL, *cert = NULL;
	size_t keylen = 0, certlen = 0;
	char *path = NULL;
	int r;

	if ((path = sl_path_join(ex->dir, EXCHANGE_CA_CERT)) == NULL)
		return SL_ERR_NOMEM;
	if ((r = sl_file_read(path, 1 << 20, &cert, &certlen)) != 0) {
		r = sl_errf(r, "%s: cannot read CA certificate", path);
		goto out;
	}
	if ((r = exchange_master(ex, &mk)) != 0 ||
	    (r = keyring_secret_get(ex->db, mk, KEYRING_SECRET_CA, &key, &keylen)) != 0)
		goto out;
	if ((r = keys_ca_load((const char *)cert, certlen, (const char *)key, keylen, out)) != 0)
		r = sl_errf(r, "%s: does not match the CA key in the catalog", path);
out:
	if (key != NULL)
		keys_secret_free(key);
	free(cert);
	free(path);
	return r;
}

int
exchange_schema(struct exchange *ex, const char *json, const struct schema **out)
{
	struct schema *sch = NULL;
	char *copy;
	size_t i;
	int r;

	for (i = 0; i < EXCHANGE_SCHEMAS; i++) {
		if (ex->schemas[i].json != NULL && strcmp(ex->schemas[i].json, json) == 0) {
			*out = ex->schemas[i].sch;
			return 0;
		}
	}
	if ((r = schema_parse(json, strlen(json), &sch)) != 0)
		return r;
	if ((copy = strdup(json)) == NULL) {
		schema_free(sch);
		return SL_ERR_NOMEM;
	}
	i = ex->next_schema;
	ex->next_schema = (i + 1) % EXCHANGE_SCHEMAS;
	free(ex->schemas[i].json);
	schema_free(ex->schemas[i].sch);
	ex->schemas[i].json = copy;
	ex->schemas[i].sch = sch;
	*out = sch;
	return 0;
}

void
exchange_close(struct exchange *ex)
{
	size_t i;

	if (ex == NULL)
		return;
	for (i = 0; i < EXCHANGE_SCHEMAS; i++) {
		free(ex->schemas[i].json);
		schema_free(ex->schemas[i].sch);
	}
	db_close(ex->db);
	audit_cplog_free(ex->cplog);
	keys_master_free(ex->mk);
	spawn_log_set(NULL);
	free(ex->dir);
	free(ex->passphrase_file);
	free(ex);
}
