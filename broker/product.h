/*
 * broker/product.h -- the catalog of data products (DESIGN.md sections 4, 6).
 *
 * Owns the tables products and product_versions.  A product has a validated
 * schema, a merchant (and optionally the public data holder and authorized
 * operator of its authorization), its own data key (wrapped, broker/keyring)
 * and its own LMDB environment under DIR/stores/<name>/.  Versions are
 * published by ingest; only published versions are visible to queries.
 */
#ifndef SLUICE_BROKER_PRODUCT_H
#define SLUICE_BROKER_PRODUCT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct exchange;

struct product_version {
	int64_t version;
	int64_t key_version;
	int64_t rows, chunks, bytes;
	char *state; /* "published" or "dropped" */
	char *created;
};

struct product {
	int64_t id;
	char *name;
	char *schema;                        /* JSON text as validated */
	char *merchant, *holder, *operator_; /* party names; holder/operator may be NULL */
	int64_t key_version;
	char *created;
	struct product_version *versions; /* oldest first */
	size_t nversions;
};

/*
 * Add a product: validate the schema text (its "name" must be name), check
 * that merchant/holder/operator name parties of those roles, create its data
 * key and store directory, and record product.listed in the audit log with
 * actor as its actor (the merchant when proven, else the platform), all or
 * nothing.  Errors name the file, field path or party at fault.
 */
int product_add(struct exchange *ex, const char *name, const char *schema_json, size_t len,
    const char *merchant, const char *holder, const char *operator_, const char *actor)
    __attribute__((warn_unused_result));

/* One product with its versions; SL_ERR_NOTFOUND naming it.  Free with product_clear(). */
int product_find(struct exchange *ex, const char *name, struct product *out)
    __attribute__((warn_unused_result));

/* All products (without versions' details loaded) in creation order. */
int product_list(struct exchange *ex, struct product **list, size_t *count)
    __attribute__((warn_unused_result));

/*
 * The next version number of product p: one above the last published.  A
 * failed load's number is used again; the worker clears whatever that load
 * left in the store before writing (sandbox/store.h).
 */
int64_t product_version_next(const struct product *p);

/*
 * Publish version of product p with the counts the worker reported, and
 * record product.version_loaded, in one transaction: the version becomes
 * visible, with its audit event, or not at all.
 */
int product_version_publish(struct exchange *ex, const struct product *p, int64_t version,
    int64_t rows, int64_t chunks, int64_t bytes, const char *actor)
    __attribute__((warn_unused_result));

/*
 * Mark a published version dropped (no query reads it again) and record
 * product.version_dropped.  The store's records are left in place.
 * SL_ERR_NOTFOUND names the version; dropping twice is SL_ERR_POLICY.
 */
int product_version_drop(struct exchange *ex, const struct product *p, int64_t version,
    const char *actor) __attribute__((warn_unused_result));

/*
 * Commit a data key rotation in one transaction: store dek as key version
 * p->key_version + 1, publish version (re-sealed from from_version) under it,
 * make it the product's key, mark the old key retired (versions sealed under
 * it stay readable until dropped), and record keys.product_rotated.
 * from_version 0 means there was no version to re-seal.
 */
struct keys_master;
struct keys_dek;
int product_rotate_commit(struct exchange *ex, const struct product *p,
    const struct keys_master *mk, const struct keys_dek *dek, int64_t from_version, int64_t version,
    int64_t rows, int64_t chunks, int64_t bytes) __attribute__((warn_unused_result));

/* "name@version": how audit events name one version of a product. */
#define PRODUCT_SUBJECT_MAX (64 + 24)
void product_subject(const struct product *p, int64_t version, char out[PRODUCT_SUBJECT_MAX]);

/* JSON for `product show --json` / `product list --json`. */
json_t *product_json(const struct product *p, int with_schema);

void product_clear(struct product *p);
void product_list_free(struct product *list, size_t count);

#endif
