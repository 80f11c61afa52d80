/*
 * broker/product.c -- the catalog of data products.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/keyring.h"
#include "broker/party.h"
#include "broker/product.h"
#include "common/err.h"
#include "common/file.h"
#include "common/schema.h"
#include "common/log.h"
#include "common/text.h"
#include "keys/hash.h"
#include "keys/keys.h"
#include "keys/dek.h"
#include "keys/master.h"

#define FIRST_KEY_VERSION 1

/* The id of party name, which must have role; the message names the option. */
static int
party_with_role(
    struct exchange *ex, const char *option, const char *name, const char *role, int64_t *id)
{
	struct party p;
	int r;

	sl_err_clear();
	if ((r = party_find(exchange_db(ex), name, &p)) != 0) {
		if (r == SL_ERR_NOTFOUND)
			return sl_errf(r, "%s %s: no such party (add it with `sluice party add`)",
			    option, name);
		return r;
	}
	if (strcmp(p.role, role) != 0) {
		r = sl_errf(SL_ERR_POLICY, "%s %s: that party is a %s, not a %s", option, name,
		    p.role, role);
	} else {
		*id = p.id;
		r = 0;
	}
	party_clear(&p);
	return r;
}

/* DIR/stores/PRODUCT, or DIR/stores/PRODUCT/LEAF: the one place that spells the layout. */
static int
product_path(struct exchange *ex, const char *product, const char *leaf, char **out)
{
	char *stores = sl_path_join(exchange_dir(ex), EXCHANGE_STORES_DIR);
	char *pd = stores != NULL ? sl_path_join(stores, product) : NULL;

	free(stores);
	*out = pd != NULL && leaf != NULL ? sl_path_join(pd, leaf) : pd;
	if (leaf != NULL)
		free(pd);
	return *out == NULL ? SL_ERR_NOMEM : 0;
}

int
product_add(struct exchange *ex, const char *name, const char *schema_json, size_t len,
    const char *merchant, const char *holder, const char *operator_, const char *actor,
    int64_t max_bytes)
{
	struct db *db = exchange_db(ex);
	struct schema *sch = NULL;
	sqlite3_stmt *st = NULL;
	int64_t mid, hid = 0, oid = 0;
	char *dir = NULL, now[SL_TIME_RFC3339_LEN];
	int r, made_dir = 0;

	if (!sl_name_valid(name))
		return sl_errf(SL_ERR_INVAL, "product name '%s': must be %s", name, SL_NAME_RULE);
	sl_err_clear();
	if ((r = schema_parse(schema_json, len, &sch)) != 0)
		return r;
	if (strcmp(sch->name, name) != 0) {
		r = sl_errf(SL_ERR_INVAL, "name: the schema names product \"%s\", not \"%s\"",
		    sch->name, name);
		goto out;
	}
	if ((r = party_with_role(ex, "--merchant", merchant, "merchant", &mid)) != 0 ||
	    (holder != NULL &&
	        (r = party_with_role(ex, "--holder", holder, "holder", &hid)) != 0) ||
	    (operator_ != NULL &&
	        (r = party_with_role(ex, "--operator", operator_, "operator", &oid)) != 0))
		goto out;
	if (max_bytes < 0) {
		r = sl_errf(
		    SL_ERR_INVAL, "--max-bytes %lld: must be at least 1", (long long)max_bytes);
		goto out;
	}
	if ((r = product_path(ex, name, NULL, &dir)) != 0)
		goto out;
	sl_time_now(now);
	if ((r = db_begin(db)) != 0)
		goto out;
	if ((r = db_prepare(db,
	         "INSERT INTO products (name, schema, merchant, holder, operator,"
	         " created, max_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)",
	         &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, schema_json, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, mid);
	if (hid != 0)
		sqlite3_bind_int64(st, 4, hid);
	if (oid != 0)
		sqlite3_bind_int64(st, 5, oid);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	if (max_bytes > 0)
		sqlite3_bind_int64(st, 7, max_bytes);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "insert product");
		if (r == SL_ERR_EXISTS)
			r = sl_errf(r, "product '%s' already exists", name);
		goto out;
	}
	if ((r = exchange_audit(ex, actor, "product.listed", name,
	         json_pack("{s:s, s:s?, s:s?, s:I, s:o?}", "merchant", merchant, "holder", holder,
	             "operator", operator_, "columns", (json_int_t)sch->ncols, "max_bytes",
	             max_bytes > 0 ? json_integer(max_bytes) : NULL))) != 0)
		goto out;
	/* A store directory left over by an earlier failure is reused only when empty. */
	if (mkdir(dir, 0700) == -1) {
		if (errno != EEXIST || rmdir(dir) == -1 || mkdir(dir, 0700) == -1) {
			r = sl_errf(SL_ERR_IO, "%s: cannot create the product's store: %s", dir,
			    strerror(errno));
			goto out;
		}
	}
	made_dir = 1;
	if ((r = db_commit(db)) != 0)
		goto out;
	made_dir = 0;
	sl_fsync_parent(dir);
out:
	sqlite3_finalize(st);
	db_rollback(db);
	if (made_dir)
		rmdir(dir);
	schema_free(sch);
	free(dir);
	return r;
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? strdup((const char *)t) : NULL;
}

#define PRODUCT_SELECT                                                                             \
	"SELECT p.id, p.name, p.schema, m.name, h.name, o.name, p.created, p.max_bytes"            \
	" FROM products p JOIN parties m ON m.id = p.merchant"                                     \
	" LEFT JOIN parties h ON h.id = p.holder LEFT JOIN parties o ON o.id = p.operator"

static int
product_row(sqlite3_stmt *st, struct product *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	p->name = col_dup(st, 1);
	p->schema = col_dup(st, 2);
	p->merchant = col_dup(st, 3);
	p->holder = col_dup(st, 4);
	p->operator_ = col_dup(st, 5);
	p->created = col_dup(st, 6);
	p->max_bytes = sqlite3_column_int64(st, 7);
	if (p->name == NULL || p->schema == NULL || p->merchant == NULL || p->created == NULL) {
		product_clear(p);
		return SL_ERR_NOMEM;
	}
	return 0;
}

static int
versions_load(struct db *db, struct product *p)
{
	sqlite3_stmt *st = NULL;
	struct product_version *v;
	int r, rc;

	if ((r = db_stmt(db,
	         "SELECT version, key_version, rows, chunks, bytes, state, created, manifest"
	         " FROM product_versions WHERE product = ? ORDER BY version",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, p->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((v = realloc(p->versions, (p->nversions + 1) * sizeof(*v))) == NULL) {
			r = SL_ERR_NOMEM;
			goto out;
		}
		p->versions = v;
		v = &p->versions[p->nversions++];
		v->version = sqlite3_column_int64(st, 0);
		v->key_version = sqlite3_column_int64(st, 1);
		v->rows = sqlite3_column_int64(st, 2);
		v->chunks = sqlite3_column_int64(st, 3);
		v->bytes = sqlite3_column_int64(st, 4);
		v->state = col_dup(st, 5);
		v->created = col_dup(st, 6);
		v->has_manifest = sqlite3_column_bytes(st, 7) == (int)sizeof(v->manifest);
		if (v->has_manifest)
			memcpy(v->manifest, sqlite3_column_blob(st, 7), sizeof(v->manifest));
	}
	r = rc == SQLITE_DONE ? 0 : db_fail(db, "read product versions");
out:
	db_stmt_done(st);
	return r;
}

int
product_find(struct exchange *ex, const char *name, struct product *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_stmt(exchange_db(ex), PRODUCT_SELECT " WHERE p.name = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		r = product_row(st, out);
	else if (r == SQLITE_DONE)
		r = sl_errf(SL_ERR_NOTFOUND, "no product named '%s'", name);
	else
		r = db_fail(exchange_db(ex), "find product");
	db_stmt_done(st);
	if (r == 0 && (r = versions_load(exchange_db(ex), out)) != 0)
		product_clear(out);
	return r;
}

int
product_list(struct exchange *ex, struct product **list, size_t *count)
{
	sqlite3_stmt *st = NULL;
	struct product *v = NULL, *nv;
	size_t n = 0;
	int r, rc;

	if ((r = db_stmt(exchange_db(ex), PRODUCT_SELECT " ORDER BY p.id", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL) {
			r = SL_ERR_NOMEM;
			goto out;
		}
		v = nv;
		if ((r = product_row(st, &v[n])) != 0)
			goto out;
		n++;
		if ((r = versions_load(exchange_db(ex), &v[n - 1])) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = db_fail(exchange_db(ex), "list products");
		goto out;
	}
	*list = v;
	*count = n;
	v = NULL;
	n = 0;
out:
	db_stmt_done(st);
	product_list_free(v, n);
	return r;
}

int64_t
product_version_next(const struct product *p)
{
	return p->nversions > 0 ? p->versions[p->nversions - 1].version + 1 : 1;
}

void
product_subject(const struct product *p, int64_t version, char out[PRODUCT_SUBJECT_MAX])
{
	snprintf(out, PRODUCT_SUBJECT_MAX, "%s@%lld", p->name, (long long)version);
}

/* Insert a published version row (in the caller's transaction). */
static int
version_insert(
    struct db *db, const struct product *p, int64_t version, const struct product_counts *c)
{
	sqlite3_stmt *st = NULL;
	char now[SL_TIME_RFC3339_LEN];
	int r;

	sl_time_now(now);
	if ((r = db_prepare(db,
	         "INSERT INTO product_versions (product, version, key_version, rows, chunks, bytes,"
	         " state, created, manifest) VALUES (?, ?, ?, ?, ?, ?, 'published', ?, ?)",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, p->id);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_int64(st, 3, PRODUCT_VERSION_KEY);
	sqlite3_bind_int64(st, 4, c->rows);
	sqlite3_bind_int64(st, 5, c->chunks);
	sqlite3_bind_int64(st, 6, c->bytes);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, c->manifest, (int)sizeof(c->manifest), SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "publish version");
		if (r == SL_ERR_EXISTS)
			r = sl_errf(r, "version %lld of %s was published by another job meanwhile",
			    (long long)version, p->name);
	}
	sqlite3_finalize(st);
	return r;
}

/* ---- staging and publishing ----------------------------------------------- */

int
product_version_dir(struct exchange *ex, const char *product, int64_t version, char **out)
{
	char name[24];

	snprintf(name, sizeof(name), "%lld", (long long)version);
	return product_path(ex, product, name, out);
}

int
product_version_key(struct exchange *ex, const struct product *p, int64_t version,
    int64_t key_version, struct keys_dek **out)
{
	struct keys_master *mk;
	char subject[PRODUCT_SUBJECT_MAX];
	int r;

	product_subject(p, version, subject);
	if ((r = exchange_master(ex, &mk)) != 0)
		return r;
	return keyring_dek_get(exchange_db(ex), mk, subject, (uint32_t)key_version, out);
}

int
product_stage_begin(struct exchange *ex, const struct product *p, struct product_stage *out)
{
	uint8_t raw[8];
	char name[64];
	int r;

	memset(out, 0, sizeof(*out));
	out->version = product_version_next(p);
	keys_random(raw, sizeof(raw));
	snprintf(name, sizeof(name), ".staging-%lld-%02x%02x%02x%02x%02x%02x%02x%02x",
	    (long long)out->version, raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6],
	    raw[7]);
	if ((r = product_path(ex, p->name, name, &out->dir)) != 0)
		goto out;
	if (mkdir(out->dir, 0700) == -1) {
		r = sl_errf(SL_ERR_IO, "%s: cannot create the new version's staging directory: %s",
		    out->dir, strerror(errno));
		free(out->dir);
		out->dir = NULL;
		goto out;
	}
	r = keys_dek_generate(exchange_suite(ex), &out->dek);
out:
	if (r != 0)
		product_stage_end(out);
	return r;
}

void
product_stage_end(struct product_stage *s)
{
	if (s->dir != NULL && !s->published && sl_rmtree(s->dir) != 0)
		sl_warnx("%s: a failed job's staging directory could not be removed", s->dir);
	free(s->dir);
	keys_dek_free(s->dek);
	memset(s, 0, sizeof(*s));
}

/*
 * Make a staged version read-only and move it to its place, under the
 * catalog's write lock (the caller's transaction), so no other publisher is
 * between its rename and its commit.  A directory already there has no
 * catalog row (the insert before this succeeded): a crash left it; it goes.
 */
static int
stage_install(struct exchange *ex, const struct product *p, struct product_stage *s, char **final)
{
	char *data = NULL;
	int r;

	if ((r = product_version_dir(ex, p->name, s->version, final)) != 0)
		return r;
	if ((data = sl_path_join(s->dir, "data.mdb")) == NULL)
		return SL_ERR_NOMEM;
	if (chmod(data, 0400) == -1 || chmod(s->dir, 0500) == -1) {
		r = sl_errf(SL_ERR_IO, "%s: %s", data, strerror(errno));
		goto out;
	}
	if ((r = sl_rmtree(*final)) != 0)
		goto out;
	if (rename(s->dir, *final) == -1) {
		r = sl_errf(
		    SL_ERR_IO, "%s: cannot publish as %s: %s", s->dir, *final, strerror(errno));
		goto out;
	}
	sl_fsync_parent(*final);
out:
	free(data);
	return r;
}

/* Undo stage_install() after a failed commit: the version goes back to staging. */
static void
stage_uninstall(const char *final, struct product_stage *s)
{
	if (final != NULL && rename(final, s->dir) == -1)
		sl_warnx("%s: an unpublished version is left in place: %s", final, strerror(errno));
	if (chmod(s->dir, 0700) == -1) {
		/* sl_rmtree() still removes it as root; nothing else to do */
	}
}

static int
publish(struct exchange *ex, const struct product *p, struct product_stage *s,
    const struct product_counts *c, const char *actor, const char *action, json_t *extra)
{
	struct db *db = exchange_db(ex);
	struct keys_master *mk;
	char subject[PRODUCT_SUBJECT_MAX], hex[2 * KEYS_HASH_BYTES + 1], *final = NULL;
	json_t *details;
	int r, installed = 0;

	product_subject(p, s->version, subject);
	sl_hex_encode(c->manifest, sizeof(c->manifest), hex);
	if ((r = exchange_master(ex, &mk)) != 0 || (r = db_begin(db)) != 0) {
		json_decref(extra);
		return r;
	}
	details = json_pack("{s:I, s:I, s:I, s:I, s:s, s:I}", "version", (json_int_t)s->version,
	    "rows", (json_int_t)c->rows, "chunks", (json_int_t)c->chunks, "bytes",
	    (json_int_t)c->bytes, "manifest", hex, "key_version", (json_int_t)PRODUCT_VERSION_KEY);
	if (details != NULL && extra != NULL)
		json_object_update(details, extra);
	json_decref(extra);
	if ((r = version_insert(db, p, s->version, c)) != 0 ||
	    (r = keyring_dek_put(db, mk, subject, PRODUCT_VERSION_KEY, s->dek)) != 0 ||
	    (r = exchange_audit(ex, actor, action, subject, details)) != 0)
		goto out;
	details = NULL;
	if ((r = stage_install(ex, p, s, &final)) != 0)
		goto out;
	installed = 1;
	if ((r = db_commit(db)) != 0)
		goto out;
	s->published = 1;
out:
	json_decref(details);
	db_rollback(db);
	if (r != 0 && installed)
		stage_uninstall(final, s);
	free(final);
	return r;
}

int
product_version_publish(struct exchange *ex, const struct product *p, struct product_stage *s,
    const struct product_counts *c, const char *actor)
{
	return publish(ex, p, s, c, actor, "product.version_published", NULL);
}

int
product_version_drop(
    struct exchange *ex, const struct product *p, int64_t version, const char *actor)
{
	struct db *db = exchange_db(ex);
	sqlite3_stmt *st = NULL;
	char subject[PRODUCT_SUBJECT_MAX];
	size_t i;
	int r;

	for (i = 0; i < p->nversions; i++)
		if (p->versions[i].version == version)
			break;
	if (i == p->nversions)
		return sl_errf(
		    SL_ERR_NOTFOUND, "%s has no version %lld", p->name, (long long)version);
	product_subject(p, version, subject);
	if ((r = db_begin(db)) != 0)
		return r;
	/* The state is re-checked inside the transaction: another drop may have won. */
	if ((r = db_prepare(db,
	         "UPDATE product_versions SET state = 'dropped' WHERE product = ? AND version = ?"
	         " AND state = 'published'",
	         &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, p->id);
	sqlite3_bind_int64(st, 2, version);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "drop version");
		goto out;
	}
	if (sqlite3_changes(db_sqlite(db)) != 1) {
		r = sl_errf(SL_ERR_POLICY, "version %lld of %s is already dropped",
		    (long long)version, p->name);
		goto out;
	}
	if ((r = exchange_audit(ex, actor, "product.version_dropped", subject,
	         json_pack("{s:I}", "version", (json_int_t)version))) != 0)
		goto out;
	r = db_commit(db);
out:
	sqlite3_finalize(st);
	db_rollback(db);
	return r;
}

int
product_rotate_commit(struct exchange *ex, const struct product *p, struct product_stage *s,
    int64_t from_version, const struct product_counts *c)
{
	struct db *db = exchange_db(ex);
	sqlite3_stmt *st = NULL;
	char now[SL_TIME_RFC3339_LEN], old[PRODUCT_SUBJECT_MAX];
	int r;

	/*
	 * The new version and its key first (their own transaction: publish());
	 * then the old version's key is marked retired.  A crash between the
	 * two leaves a readable new version and an old key not yet marked.
	 */
	if ((r = publish(ex, p, s, c, EXCHANGE_PLATFORM_NAME, "keys.product_rotated",
	         json_pack("{s:I}", "from_version", (json_int_t)from_version))) != 0)
		return r;
	sl_time_now(now);
	product_subject(p, from_version, old);
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_prepare(db,
	         "UPDATE wrapped_keys SET retired = ? WHERE kind = 'dek' AND name = ?"
	         " AND retired IS NULL",
	         &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, old, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "retire data key");
		goto out;
	}
	r = db_commit(db);
out:
	sqlite3_finalize(st);
	db_rollback(db);
	return r;
}

json_t *
product_json(const struct product *p, int with_schema)
{
	json_t *vs = json_array(), *o, *sch = NULL;
	size_t i;

	for (i = 0; vs != NULL && i < p->nversions; i++) {
		const struct product_version *v = &p->versions[i];

		json_array_append_new(
		    vs, json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "version",
		            (json_int_t)v->version, "key_version", (json_int_t)v->key_version,
		            "rows", (json_int_t)v->rows, "chunks", (json_int_t)v->chunks, "bytes",
		            (json_int_t)v->bytes, "state", v->state ? v->state : "", "created",
		            v->created ? v->created : ""));
	}
	if (with_schema)
		sch = json_loads(p->schema, 0, NULL);
	o = json_pack("{s:s, s:s, s:s?, s:s?, s:o?, s:s, s:o}", "name", p->name, "merchant",
	    p->merchant, "holder", p->holder, "operator", p->operator_, "max_bytes",
	    p->max_bytes > 0 ? json_integer(p->max_bytes) : NULL, "created", p->created, "versions",
	    vs);
	if (o != NULL && sch != NULL)
		json_object_set_new(o, "schema", sch);
	return o;
}

void
product_clear(struct product *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nversions; i++) {
		free(p->versions[i].state);
		free(p->versions[i].created);
	}
	free(p->versions);
	free(p->name);
	free(p->schema);
	free(p->merchant);
	free(p->holder);
	free(p->operator_);
	free(p->created);
	memset(p, 0, sizeof(*p));
}

void
product_list_free(struct product *list, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		product_clear(&list[i]);
	free(list);
}
