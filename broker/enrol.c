/*
 * broker/enrol.c -- enrolling a party: a new identity, its certificate from
 * the platform CA, its row and audit event, and its three files.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/db.h"
#include "broker/enrol.h"
#include "broker/exchange.h"
#include "broker/ledger.h"
#include "broker/party.h"
#include "common/err.h"
#include "common/file.h"
#include "common/text.h"
#include "keys/sign.h"
#include "keys/x509.h"

struct party_paths {
	char *key, *pub, *crt;
};

static void
paths_free(struct party_paths *pp)
{
	free(pp->key);
	free(pp->pub);
	free(pp->crt);
}

static int
paths_make(const char *out_key, struct party_paths *pp)
{
	size_t len = strlen(out_key), base = len;

	memset(pp, 0, sizeof(*pp));
	if (len >= 4 && strcmp(out_key + len - 4, ".key") == 0)
		base = len - 4;
	if ((pp->key = strdup(out_key)) == NULL || (pp->pub = malloc(base + 5)) == NULL ||
	    (pp->crt = malloc(base + 5)) == NULL) {
		paths_free(pp);
		return SL_ERR_NOMEM;
	}
	snprintf(pp->pub, base + 5, "%.*s.pub", (int)base, out_key);
	snprintf(pp->crt, base + 5, "%.*s.crt", (int)base, out_key);
	return 0;
}

int
enrol_party(struct exchange *ex, const char *name, const char *role, const char *out_key,
    struct party *info)
{
	struct db *db = exchange_db(ex);
	struct party_paths pp;
	struct party existing;
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	struct keys_ca *ca = NULL;
	char *keypem = NULL, *pubpem = NULL, *crt = NULL, fp[KEYS_FINGERPRINT_MAX];
	size_t keylen = 0, publen, crtlen;
	int r, wrote_key = 0, wrote_pub = 0, wrote_crt = 0;

	if (!sl_name_valid(name))
		return sl_errf(SL_ERR_INVAL, "party name '%s': must be %s", name, SL_NAME_RULE);
	if (strcmp(name, LEDGER_ADJUSTMENT) == 0)
		return sl_errf(SL_ERR_INVAL, "party name '%s': reserved for the ledger's account", name);
	if (!party_role_valid(role))
		return sl_errf(SL_ERR_INVAL, "role '%s': must be one of %s", role, PARTY_ROLES);
	if ((r = paths_make(out_key, &pp)) != 0)
		return r;
	if (access(pp.key, F_OK) == 0 || access(pp.pub, F_OK) == 0 || access(pp.crt, F_OK) == 0) {
		r = sl_errf(SL_ERR_EXISTS, "%s: exists; party files are never overwritten",
		    access(pp.key, F_OK) == 0   ? pp.key
		    : access(pp.pub, F_OK) == 0 ? pp.pub
		                                : pp.crt);
		goto out;
	}
	if ((r = party_find(db, name, &existing)) == 0) {
		party_clear(&existing);
		r = sl_errf(SL_ERR_EXISTS, "party '%s' already exists", name);
		goto out;
	} else if (r != SL_ERR_NOTFOUND) {
		goto out;
	}
	if ((r = exchange_ca(ex, &ca)) != 0 ||
	    (r = keys_identity_generate(exchange_suite(ex), &id)) != 0 ||
	    (r = keys_identity_to_pem(id, &keypem, &keylen)) != 0 ||
	    (r = keys_identity_pubkey(id, &pk)) != 0 ||
	    (r = keys_pubkey_to_pem(pk, &pubpem, &publen)) != 0 ||
	    (r = keys_ca_issue_client(ca, pk, name, role, &crt, &crtlen)) != 0)
		goto out;
	if ((r = keys_pubkey_fingerprint(pk, fp)) != 0 || (r = db_begin(db)) != 0 ||
	    (r = party_insert(db, name, role, pk, crt)) != 0 ||
	    (r = exchange_audit(ex, EXCHANGE_PLATFORM_NAME, "party.added", name,
	         json_pack("{s:s, s:s}", "role", role, "fingerprint", fp))) != 0)
		goto out;
	if ((r = sl_file_write_new(pp.key, 0600, keypem, keylen)) != 0) {
		r = sl_errf(r, "%s: %s", pp.key, strerror(errno));
		goto out;
	}
	wrote_key = 1;
	if ((r = sl_file_write_new(pp.pub, 0644, pubpem, publen)) != 0) {
		r = sl_errf(r, "%s: %s", pp.pub, strerror(errno));
		goto out;
	}
	wrote_pub = 1;
	if ((r = sl_file_write_new(pp.crt, 0644, crt, crtlen)) != 0) {
		r = sl_errf(r, "%s: %s", pp.crt, strerror(errno));
		goto out;
	}
	wrote_crt = 1;
	if ((r = db_commit(db)) != 0)
		goto out;
	wrote_key = wrote_pub = wrote_crt = 0;
	if (info != NULL)
		r = party_find(db, name, info);
out:
	db_rollback(db);
	if (wrote_key)
		unlink(pp.key);
	if (wrote_pub)
		unlink(pp.pub);
	if (wrote_crt)
		unlink(pp.crt);
	keys_pem_free(keypem, keylen);
	free(pubpem);
	free(crt);
	keys_ca_free(ca);
	keys_pubkey_free(pk);
	keys_identity_free(id);
	paths_free(&pp);
	return r;
}
