/*
 * broker/product.h -- the catalog of data products (docs/store-format.md).
 *
 * Owns the tables products and product_versions.  A product has a validated
 * schema, a merchant (and optionally the public data holder and authorized
 * operator of its authorization) and a directory DIR/stores/<name>/.  Each
 * version has its own LMDB environment, DIR/stores/<name>/<version>/, and its
 * own data key, wrapped under the master key as "<name>@<version>"
 * (broker/keyring): a worker given one version can open no other.  A
 * version is written once by ingest in a staging directory beside it and
 * published read-only with the digest of its sealed manifest, which the
 * catalog records and every query worker checks.  Only published versions
 * are visible to queries.
 */
#ifndef SLUICE_BROKER_PRODUCT_H
#define SLUICE_BROKER_PRODUCT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct exchange;

/* The key version of every version's data key: a version is re-keyed into a new version. */
#define PRODUCT_VERSION_KEY 1

struct product_version {
	int64_t version;
	int64_t key_version;
	int64_t rows, chunks, bytes;
	char *state; /* "published" or "dropped" */
	char *created;
	uint8_t manifest[32]; /* digest of the sealed manifest (KEYS_HASH_BYTES) */
	int has_manifest;     /* 0 for a version of a store layout before per-version ones */
};

struct product {
	int64_t id;
	char *name;
	char *schema;                        /* JSON text as validated */
	char *merchant, *holder, *operator_; /* party names; holder/operator may be NULL */
	int64_t max_bytes; /* sealed bytes all published versions may hold; 0: no limit */
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
    const char *merchant, const char *holder, const char *operator_, const char *actor,
    int64_t max_bytes) __attribute__((warn_unused_result));

/* One product with its versions; SL_ERR_NOTFOUND naming it.  Free with product_clear(). */
int product_find(struct exchange *ex, const char *name, struct product *out)
    __attribute__((warn_unused_result));

/* All products (without versions' details loaded) in creation order. */
int product_list(struct exchange *ex, struct product **list, size_t *count)
    __attribute__((warn_unused_result));

/* The next version number of product p: one above the last one recorded. */
int64_t product_version_next(const struct product *p);

/* DIR/stores/<product>/<version>, a new string the caller frees. */
int product_version_dir(struct exchange *ex, const char *product, int64_t version, char **out)
    __attribute__((warn_unused_result));

/* The data key of one version (its own); caller frees *out with keys_dek_free(). */
struct keys_dek;
int product_version_key(struct exchange *ex, const struct product *p, int64_t version,
    int64_t key_version, struct keys_dek **out) __attribute__((warn_unused_result));

/*
 * A version being written: its number, a fresh data key and a private
 * staging directory (mode 0700) that only the job writing it is given.
 */
struct product_stage {
	int64_t version;
	char *dir;
	struct keys_dek *dek;
	int published;
};

/* What the job that wrote a version reported. */
struct product_counts {
	int64_t rows, chunks, bytes;
	uint8_t manifest[32];
};

/* Begin version product_version_next(p).  Ended with product_stage_end() either way. */
int product_stage_begin(struct exchange *ex, const struct product *p, struct product_stage *out)
    __attribute__((warn_unused_result));

/* Remove the staging directory unless it was published; wipe and free the key. */
void product_stage_end(struct product_stage *s);

/*
 * Publish a staged version in one catalog transaction: its row with the
 * counts and manifest digest, its wrapped key, product.version_published
 * (naming the digest), and the staging directory made read-only and renamed
 * to DIR/stores/<product>/<version>.  All or nothing: after a failure the
 * staging directory is where it was.
 */
int product_version_publish(struct exchange *ex, const struct product *p, struct product_stage *s,
    const struct product_counts *c, const char *actor) __attribute__((warn_unused_result));

/*
 * Mark a published version dropped (no query reads it again) and record
 * product.version_dropped.  The store's records are left in place.
 * SL_ERR_NOTFOUND names the version; dropping twice is SL_ERR_POLICY.
 */
int product_version_drop(struct exchange *ex, const struct product *p, int64_t version,
    const char *actor) __attribute__((warn_unused_result));

/*
 * Commit `keys rotate-product`: publish s (from_version re-sealed under its
 * new key), recorded as keys.product_rotated, then mark from_version's key
 * retired (the version stays readable until dropped).
 */
int product_rotate_commit(struct exchange *ex, const struct product *p, struct product_stage *s,
    int64_t from_version, const struct product_counts *c) __attribute__((warn_unused_result));

/* "name@version": how audit events name one version of a product. */
#define PRODUCT_SUBJECT_MAX (64 + 24)
void product_subject(const struct product *p, int64_t version, char out[PRODUCT_SUBJECT_MAX]);

/* JSON for `product show --json` / `product list --json`. */
json_t *product_json(const struct product *p, int with_schema);

/* The catalog, `product list --json` and GET /v1/products: {"products": [product_json() ...]}. */
int product_catalog_json(struct exchange *ex, json_t **doc) __attribute__((warn_unused_result));

/* ---- actions: what a party asks of the catalog (broker/actor.h) ----------
 *
 * Each takes the caller's proven key (NULL: the platform), a request and a
 * result, and prints nothing.  On failure *field is the request's field at
 * fault when one is (ACTOR_FIELD for the caller), else NULL.  product_find()
 * and product_list() are the actions `product show` and `product list`:
 * anyone may read the catalog.
 */
struct keys_pubkey;
struct load_result;
struct load_progress;

struct product_add_request {
	const char *name;
	const char *schema; /* the schema's JSON text, of schema_len bytes */
	size_t schema_len;
	const char *merchant;
	const char *holder, *operator_; /* may be NULL */
	int64_t max_bytes;              /* 0: no limit */
};

/*
 * `product add`: the caller must be the merchant (or the platform, who is
 * then the audit log's actor).  product_add(), then the new product in *out
 * (free with product_clear()).  *field "schema" for an error in the schema,
 * whose message gives the field path inside it.
 */
int product_act_add(struct exchange *ex, const struct keys_pubkey *caller,
    const struct product_add_request *req, struct product *out, const char **field)
    __attribute__((warn_unused_result));

struct product_drop_request {
	const char *name;
	int64_t version;
};

/* `product drop-version`: by the platform or the product's merchant. */
int product_act_drop(struct exchange *ex, const struct keys_pubkey *caller,
    const struct product_drop_request *req, const char **field) __attribute__((warn_unused_result));

struct product_load_request {
	const char *name;
	const char *path;   /* the upload, streamed to the worker: the action's input */
	const char *format; /* "csv" or "jsonl" */
	unsigned threads;   /* the worker's parser threads; 0: the broker's default */
	/* A load_progress_fn (broker/load.h) called as the upload goes, or NULL: the caller displays it. */
	void (*progress)(void *arg, const struct load_progress *p);
	void *progress_arg;
};

/*
 * `product load`: by the platform or the product's merchant (then the audit
 * log's actor).  load_product()'s results and errors (SL_ERR_PARSE with
 * res->errors); clear *res with load_result_clear() either way.
 */
int product_act_load(struct exchange *ex, const struct keys_pubkey *caller,
    const struct product_load_request *req, struct load_result *res, const char **field)
    __attribute__((warn_unused_result));

/*
 * The same action fed in pieces (the daemon's uploads, broker/upload.h): the
 * caller must be the product's merchant; then load_begin() with spec, whose
 * actor this sets.  *field as for product_act_load().
 */
struct load_spec;
struct load_session;
/* Whether caller may load into product name (its merchant): 0, or the refusal with *field. */
int product_act_may_load(struct exchange *ex, const struct keys_pubkey *caller, const char *name,
    const char **field) __attribute__((warn_unused_result));
int product_act_load_begin(struct exchange *ex, const struct keys_pubkey *caller,
    struct load_spec *spec, struct load_session **out, const char **field)
    __attribute__((warn_unused_result));

void product_clear(struct product *p);
void product_list_free(struct product *list, size_t count);

#endif
