/*
 * broker/keyring.h -- the master key's record and the keys it wraps.
 *
 * Owns the tables master_key and wrapped_keys.  The master key itself is
 * never stored in the database: only its source (file or passphrase), the
 * Argon2id parameters, its version and a check blob that tells a right key
 * from a wrong one.
 *
 * Master key rotation (file source) is crash-safe in three steps:
 *   1. the new key is written to master.key.new (fsync'ed);
 *   2. one SQLite transaction rewraps every key and the check blob;
 *   3. master.key.new is renamed over master.key.
 * keyring_master_load() finishes or undoes an interrupted rotation: whichever
 * of master.key and master.key.new opens the check blob is the key, and the
 * other file is dealt with.  Until step 2 commits, the old key stays valid.
 */
#ifndef SLUICE_BROKER_KEYRING_H
#define SLUICE_BROKER_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "keys/kdf.h"
#include "keys/suite.h"

struct db;
struct keys_master;
struct keys_dek;

#define KEYRING_MASTER_FILE "master.key"
#define KEYRING_MASTER_NEW "master.key.new"
/* A passphrase file holds at most this many bytes (one trailing newline dropped). */
#define KEYRING_PASSPHRASE_MAX 1024

/* Secrets the platform keeps wrapped in the catalog. */
#define KEYRING_SECRET_PLATFORM "platform.identity"
#define KEYRING_SECRET_CA "tls.ca"

enum keyring_source {
	KEYRING_SOURCE_FILE,
	KEYRING_SOURCE_PASSPHRASE,
};

struct keyring_status {
	enum keyring_source source;
	int64_t version;
	char changed[32];
	int64_t deks;               /* wrapped data keys (all versions) */
	int64_t secrets;            /* other wrapped secrets */
	struct keys_kdf_params kdf; /* for a passphrase source */
};

/*
 * Read a passphrase file: at most KEYRING_PASSPHRASE_MAX bytes, one trailing
 * newline dropped, not empty, and a file only its owner can read, no symbolic
 * link (SL_ERR_POLICY otherwise; sl_file_read_private()).  *pass is locked
 * memory the caller frees with keys_secret_free().
 */
int keyring_passphrase_read(const char *path, char **pass, size_t *len)
    __attribute__((warn_unused_result));

/*
 * Record a new master key (inside the caller's transaction).  kdf is NULL
 * for a file source.
 */
int keyring_master_record(struct db *db, const struct keys_master *mk,
    const struct keys_kdf_params *kdf) __attribute__((warn_unused_result));

/*
 * Load the master key of the data directory dir: from dir/master.key, or from
 * passphrase_file for a passphrase source (NULL then is an SL_ERR_POLICY
 * error asking for one).  A wrong key or passphrase is SL_ERR_AUTH.  Caller
 * frees *out with keys_master_free().
 */
int keyring_master_load(struct db *db, const char *dir, enum keys_suite suite,
    const char *passphrase_file, struct keys_master **out) __attribute__((warn_unused_result));

/* The version of the master key the catalog records now (another process may rotate it). */
int keyring_master_version(struct db *db, int64_t *version) __attribute__((warn_unused_result));

/*
 * Rotate the master key: new random key (file source) or the key derived from
 * new_passphrase_file (passphrase source; required there, refused for a file
 * source).  hook, if not NULL, runs inside the rotation's transaction before
 * any key is rewrapped (so it may still unwrap with the old key), with the new
 * version and the number of keys to rewrap; its failure aborts the rotation.
 * On success *mk is replaced by the new key.  On failure the old key stays
 * valid and the database is unchanged.
 */
int keyring_master_rotate(struct db *db, const char *dir, const char *new_passphrase_file,
    int (*hook)(void *arg, int64_t version, int64_t rewrapped, int passphrase), void *arg,
    struct keys_master **mk) __attribute__((warn_unused_result));

/*
 * Store len bytes of secret wrapped under (kind "secret", name, version 0), in
 * the caller's transaction.  SL_ERR_EXISTS if that slot is taken.
 */
int keyring_secret_put(struct db *db, const struct keys_master *mk, const char *name,
    const void *secret, size_t len) __attribute__((warn_unused_result));

/* Unwrap a stored secret into locked memory (caller frees with keys_secret_free()). */
int keyring_secret_get(struct db *db, const struct keys_master *mk, const char *name,
    uint8_t **secret, size_t *len) __attribute__((warn_unused_result));

/* Store a product's data key under (product, version), in the caller's transaction. */
int keyring_dek_put(struct db *db, const struct keys_master *mk, const char *product,
    uint32_t version, const struct keys_dek *dek) __attribute__((warn_unused_result));

/* Unwrap a product's data key; caller frees *out with keys_dek_free(). */
int keyring_dek_get(struct db *db, const struct keys_master *mk, const char *product,
    uint32_t version, struct keys_dek **out) __attribute__((warn_unused_result));

/* Summary for `keys status`; with mk non-NULL every wrapped key is also unwrapped. */
int keyring_status(struct db *db, const struct keys_master *mk, struct keyring_status *st)
    __attribute__((warn_unused_result));

/* ---- actions: `keys status` and `keys rotate-master` ---------------------------
 *
 * The platform's own, so no caller: whoever holds the data directory (and
 * its passphrase) is the platform.  `keys rotate-product` is
 * load_rotate_product() (broker/load.h).
 */
struct exchange;

/* `keys status`: load the master key, unwrap every wrapped key, and say so in *st. */
int keyring_act_status(struct exchange *ex, struct keyring_status *st)
    __attribute__((warn_unused_result));

/*
 * `keys rotate-master`: exchange_rotate_master() with the new passphrase in
 * new_passphrase_file (the key's source by design, like the data
 * directory's own), then the status under the new key.
 */
int keyring_act_rotate_master(struct exchange *ex, const char *new_passphrase_file,
    struct keyring_status *st) __attribute__((warn_unused_result));

#endif
