/*
 * broker/product_act.c -- the product actions (broker/product.h): who may
 * ask, then the catalog and the loader do it.
 */
#include <stdio.h>
#include <string.h>

#include "broker/actor.h"
#include "broker/exchange.h"
#include "broker/load.h"
#include "broker/product.h"
#include "broker/spawn.h"
#include "common/err.h"
#include "common/text.h"

/*
 * The actor of an action on product p that its merchant may do: the
 * merchant, proven by caller, or the platform.  *actor may point into p.
 */
static int
merchant_actor(struct exchange *ex, const struct keys_pubkey *caller, const struct product *p,
    const char **actor, const char **field)
{
	char what[160];
	int r;

	snprintf(what, sizeof what, "the merchant of product %s", p->name);
	if ((r = actor_as(ex, caller, p->merchant, what, actor)) == SL_ERR_POLICY)
		*field = ACTOR_FIELD;
	return r;
}

int
product_act_add(struct exchange *ex, const struct keys_pubkey *caller,
    const struct product_add_request *req, struct product *out, const char **field)
{
	const char *actor;
	int r;

	*field = NULL;
	memset(out, 0, sizeof *out);
	if ((r = actor_as(ex, caller, req->merchant, "the product's --merchant", &actor)) != 0) {
		if (r == SL_ERR_POLICY)
			*field = ACTOR_FIELD;
		return r;
	}
	if ((r = product_add(ex, req->name, req->schema, req->schema_len, req->merchant,
	         req->holder, req->operator_, actor, req->max_bytes)) != 0) {
		/* Schema errors name a field path inside it; the name's are the name's. */
		if (r == SL_ERR_INVAL || r == SL_ERR_PARSE)
			*field = sl_name_valid(req->name) ? "schema" : "name";
		return r;
	}
	return product_find(ex, req->name, out);
}

int
product_act_drop(struct exchange *ex, const struct keys_pubkey *caller,
    const struct product_drop_request *req, const char **field)
{
	struct product p;
	const char *actor;
	int r;

	*field = NULL;
	if ((r = product_find(ex, req->name, &p)) != 0)
		return r;
	/* The event names the merchant, whose product it is, whoever asked. */
	if ((r = merchant_actor(ex, caller, &p, &actor, field)) == 0)
		r = product_version_drop(ex, &p, req->version, p.merchant);
	product_clear(&p);
	return r;
}

int
product_act_load(struct exchange *ex, const struct keys_pubkey *caller,
    const struct product_load_request *req, struct load_result *res, const char **field)
{
	struct product p;
	const char *actor = EXCHANGE_PLATFORM_NAME;
	int r;

	*field = NULL;
	memset(res, 0, sizeof *res);
	memset(&p, 0, sizeof p);
	/* Without a caller's key no lookup: load_product() names a missing product. */
	if (caller != NULL && ((r = product_find(ex, req->name, &p)) != 0 ||
	                          (r = merchant_actor(ex, caller, &p, &actor, field)) != 0)) {
		product_clear(&p);
		return r;
	}
	r = load_product(ex, req->name, req->path, req->format, req->threads, req->progress,
	    req->progress_arg, res, actor);
	product_clear(&p);
	return r;
}

int
product_act_may_load(
    struct exchange *ex, const struct keys_pubkey *caller, const char *name, const char **field)
{
	struct product p;
	const char *actor;
	int r;

	*field = NULL;
	if ((r = product_find(ex, name, &p)) != 0)
		return r;
	r = merchant_actor(ex, caller, &p, &actor, field);
	product_clear(&p);
	return r;
}

int
product_act_load_begin(struct exchange *ex, const struct keys_pubkey *caller,
    struct load_spec *spec, struct load_session **out, const char **field)
{
	struct product p;
	const char *actor;
	int r;

	*field = NULL;
	*out = NULL;
	if ((r = product_find(ex, spec->product, &p)) != 0) {
		spawn_free(spec->worker);
		return r;
	}
	if ((r = merchant_actor(ex, caller, &p, &actor, field)) == 0) {
		spec->actor = actor;
		r = load_begin(ex, spec, out);
	} else {
		spawn_free(spec->worker);
	}
	product_clear(&p);
	return r;
}

int
product_catalog_json(struct exchange *ex, json_t **doc)
{
	struct product *list = NULL;
	json_t *arr;
	size_t n = 0, i;
	int r;

	*doc = NULL;
	if ((r = product_list(ex, &list, &n)) != 0)
		return r;
	arr = json_array();
	for (i = 0; arr != NULL && r == 0 && i < n; i++)
		r = json_array_append_new(arr, product_json(&list[i], 0)) == 0 ? 0 : SL_ERR_NOMEM;
	product_list_free(list, n);
	if (arr == NULL || r != 0 || (*doc = json_pack("{s:o}", "products", arr)) == NULL) {
		if (r != 0)
			json_decref(arr);
		return SL_ERR_NOMEM;
	}
	return 0;
}
