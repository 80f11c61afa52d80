/*
 * broker/routes.c -- the table of routes and their handlers: each one the
 * CLI's action (broker/actor.h) with the caller's certificate key, its
 * result the document the CLI prints with --json.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/actor.h"
#include "broker/audit.h"
#include "broker/budget.h"
#include "broker/cli.h"
#include "broker/console.h"
#include "broker/contracts.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/ledger.h"
#include "broker/party.h"
#include "broker/product.h"
#include "broker/query.h"
#include "broker/routes.h"
#include "broker/serve.h"
#include "broker/spawn.h"
#include "broker/upload.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "contracts/contract.h"
#include "keys/hash.h"

/* ---- answers -------------------------------------------------------------------- */

void
route_error(struct route_call *c, int status, const char *code, const char *field, json_t *extra,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_decref(c->doc);
	c->status = status;
	c->refusal = code;
	e = json_pack("{s:s, s:s, s:s*}", "code", code, "message", msg, "field", field);
	if (e != NULL && extra != NULL)
		json_object_update(e, extra);
	json_decref(extra);
	c->doc = e != NULL ? json_pack("{s:o}", "error", e) : NULL;
}

/* The status of an action's error: what the caller did wrong, or what went wrong here. */
static int
status_of(int r)
{
	switch (r) {
	case SL_ERR_NOTFOUND:
		return 404;
	case SL_ERR_POLICY:
		return 403;
	case SL_ERR_AUTH:
		return 401;
	case SL_ERR_INVAL:
	case SL_ERR_PARSE:
	case SL_ERR_VERSION: /* a document in a format this build does not know */
		return 400;
	case SL_ERR_LIMIT:
		return 413;
	case SL_ERR_EXISTS:
		return 409;
	default:
		return 500;
	}
}

void
route_fail(struct route_call *c, int r, const char *field)
{
	int status = status_of(r);

	/* The broker's own failures are logged, not told: they may name its files. */
	if (status == 500) {
		sl_errorx(
		    "%s %s: %s", c->party != NULL ? c->party->name : "-", c->param, sl_err_msg(r));
		route_error(
		    c, 500, "internal", NULL, NULL, "the exchange could not do this; see its log");
		return;
	}
	route_error(c, status, sl_err_name(r), field, NULL, "%s", sl_err_msg(r));
}

/*
 * An action that refused the caller for an object that is not the caller's
 * (SL_ERR_POLICY on ACTOR_FIELD) would tell that the object exists: it is
 * answered as if it did not.
 */
static void
fail_hiding(struct route_call *c, int r, const char *field, const char *what)
{
	if (r == SL_ERR_POLICY && field != NULL && strcmp(field, ACTOR_FIELD) == 0) {
		route_error(c, 404, "notfound", NULL, NULL, "no %s %s", what, c->param);
		return;
	}
	route_fail(c, r, field);
}

static void
answer(struct route_call *c, int status, json_t *doc)
{
	c->status = status;
	c->doc = doc;
	if (doc == NULL)
		route_fail(c, SL_ERR_NOMEM, NULL);
}

/* An action's outcome: its document with status, or its failure r. */
static void
answer_or_fail(struct route_call *c, int r, int status, json_t *doc, const char *field)
{
	if (r != 0)
		route_fail(c, r, field);
	else
		answer(c, status, doc);
}

static const char *
body_str(const struct route_call *c, const char *key)
{
	return json_string_value(json_object_get(c->body, key));
}

/* ---- handlers ---------------------------------------------------------------------- */

static void
health(struct route_call *c)
{
	answer(c, 200, json_pack("{s:s, s:s}", "status", "ok", "version", PACKAGE_VERSION));
}

static void
metrics(struct route_call *c)
{
	if ((c->file = tmpfile()) == NULL) {
		route_fail(c, sl_errf(SL_ERR_IO, "metrics: no temporary file"), NULL);
		return;
	}
	serve_metrics_write(c->file);
	c->type = "text/plain; version=0.0.4";
	c->status = 200;
}

/*
 * The catalog is the same for every caller and changes only when the database
 * does, and rendering it was half the cost of the busiest read: its text is
 * kept, keyed by the database's data version, and handed out as a copy.
 */
static struct {
	pthread_mutex_t mu;
	int valid;
	int64_t version[2];
	char *text;
} catalog = {PTHREAD_MUTEX_INITIALIZER, 0, {0, 0}, NULL};

static void
products_list(struct route_call *c)
{
	json_t *doc = NULL;
	int64_t version[2];
	char *text;
	int r;

	if ((r = db_data_version(exchange_db(c->ex), version)) != 0) {
		route_fail(c, r, NULL);
		return;
	}
	pthread_mutex_lock(&catalog.mu);
	c->text = catalog.valid && catalog.version[0] == version[0] &&
	        catalog.version[1] == version[1]
	    ?  strdup(catalog.text) : NULL;
	pthread_mutex_unlock(&catalog.mu);
	if (c->text != NULL) {
		c->status = 200;
		return;
	}
	if ((r = product_catalog_json(c->ex, &doc)) != 0 || (text = cli_json_text(doc)) == NULL) {
		json_decref(doc);
		route_fail(c, r != 0 ? r : SL_ERR_NOMEM, NULL);
		return;
	}
	json_decref(doc);
	pthread_mutex_lock(&catalog.mu);
	free(catalog.text);
	catalog.text = text;
	catalog.version[0] = version[0];
	catalog.version[1] = version[1];
	catalog.valid = 1;
	c->text = strdup(text);
	pthread_mutex_unlock(&catalog.mu);
	if (c->text == NULL)
		route_fail(c, SL_ERR_NOMEM, NULL);
	else
		c->status = 200;
}

static void
products_show(struct route_call *c)
{
	struct product p;
	int r;

	if ((r = product_find(c->ex, c->param, &p)) != 0) {
		route_fail(c, r, NULL);
		return;
	}
	answer(c, 200, product_json(&p, 1));
	product_clear(&p);
}

/* A new product of the calling merchant, as `sluice product add --identity`; its data is loaded with the CLI. */
static void
products_add(struct route_call *c)
{
	char *schema = json_dumps(json_object_get(c->body, "schema"), JSON_COMPACT);
	struct product_add_request req = {
	    .name = body_str(c, "name"),
	    .schema = schema,
	    .schema_len = schema != NULL ? strlen(schema) : 0,
	    .merchant = c->party->name,
	    .holder = body_str(c, "holder"),
	    .operator_ = body_str(c, "operator"),
	};
	const char *field = NULL;
	struct product p;
	int r;

	if (schema == NULL) {
		route_fail(c, SL_ERR_NOMEM, NULL);
		return;
	}
	if ((r = product_act_add(c->ex, c->caller, &req, &p, &field)) != 0) {
		route_fail(c, r, field);
	} else {
		answer(c, 201, product_json(&p, 1));
		product_clear(&p);
	}
	free(schema);
}

static void
contracts_list_h(struct route_call *c)
{
	json_t *doc = NULL;
	int r;

	r = contracts_act_list(c->ex, c->caller, time(NULL), &doc);
	answer_or_fail(c, r, 200, doc, NULL);
}

static void
contracts_show_h(struct route_call *c)
{
	struct contracts_row row;
	int r;

	if ((r = contracts_act_find(c->ex, c->caller, c->param, &row)) != 0) {
		route_fail(c, r, NULL);
		return;
	}
	answer(c, 200, contracts_row_json(&row, time(NULL), 1));
	contracts_row_clear(&row);
}

/* The document of ct as the CLI writes C.json. */
static json_t *
contract_doc(const struct contract *ct)
{
	char *text = NULL;
	size_t len;
	json_t *doc = NULL;

	if (contract_to_text(ct, &text, &len) == 0)
		doc = json_loadb(text, len, 0, NULL);
	free(text);
	return doc;
}

static void
contracts_offer_h(struct route_call *c)
{
	struct contracts_offer_request req = {body_str(c, "product"), body_str(c, "buyer"),
	    json_object_get(c->body, "terms"), NULL, NULL};
	struct contract *ct = NULL;
	const char *field = NULL;
	int r;

	if ((r = contracts_act_offer(c->ex, c->caller, &req, &ct, &field)) != 0) {
		/* Another merchant's product: as if it did not exist. */
		if (r == SL_ERR_POLICY && field != NULL && strcmp(field, ACTOR_FIELD) == 0)
			route_error(
			    c, 404, "notfound", "product", NULL, "no product %s", req.product);
		else
			route_fail(c, r, field);
		return;
	}
	answer(c, 201, contract_doc(ct));
	contract_free(ct);
}

/*
 * The whole document, signed offline by one or more of its parties
 * (`sluice contract sign`), recorded; the platform countersigns when it is
 * complete.  Only a party of the contract may submit it.
 */
static void
contracts_submit_h(struct route_call *c)
{
	struct contracts_submitted res;
	struct contracts_row row;
	struct contract *ct = NULL;
	int r;

	if ((r = contracts_act_find(c->ex, c->caller, c->param, &row)) != 0) {
		route_fail(c, r, NULL);
		return;
	}
	contracts_row_clear(&row);
	if ((r = contract_parse(c->raw, c->raw_len, &ct)) != 0) {
		route_fail(c, r, NULL);
		return;
	}
	if (strcmp(ct->id, c->param) != 0) {
		route_error(c, 400, "inval", "id", NULL, "the document is contract %s, not %s",
		    ct->id, c->param);
		contract_free(ct);
		return;
	}
	if ((r = contracts_submit(c->ex, ct, &res)) != 0) {
		route_fail(c, r, NULL);
		contract_free(ct);
		return;
	}
	answer(c, 200,
	    json_pack("{s:s, s:s, s:b, s:o}", "id", ct->id, "state", res.state, "activated",
	        res.activated, "document", contract_doc(ct)));
	contract_free(ct);
}

static void
contracts_revoke_h(struct route_call *c)
{
	struct contracts_revoke_request req = {c->param, body_str(c, "reason")};
	struct contracts_row row;
	const char *field = NULL;
	char *by = NULL;
	int r;

	/* Not a party of it: as if there were no such contract. */
	if ((r = contracts_act_find(c->ex, c->caller, c->param, &row)) != 0) {
		route_fail(c, r, NULL);
		return;
	}
	contracts_row_clear(&row);
	if ((r = contracts_act_revoke(c->ex, c->caller, &req, &by, &field)) != 0) {
		route_fail(c, r, field);
		return;
	}
	answer(c, 200,
	    json_pack("{s:s, s:s, s:s, s:s}", "id", req.id, "state", "revoked", "by", by, "reason",
	        req.reason));
	free(by);
}

static void
budget_h(struct route_call *c)
{
	const char *field = NULL;
	json_t *doc = NULL;
	int r;

	if ((r = budget_act_show(c->ex, c->caller, c->param, &doc, &field)) != 0)
		fail_hiding(c, r, field, "contract");
	else
		answer(c, 200, doc);
}

static void
queries_submit(struct route_call *c)
{
	const char *sql = body_str(c, "sql");
	struct query_request req = {
	    .contract = body_str(c, "contract"),
	    .caller = c->caller,
	    .worker = c->worker,
	    .request_id = c->idempotency_key,
	    .text = sql,
	    .len = json_string_length(json_object_get(c->body, "sql")),
	    .rate_per_minute = cli_query_rate(),
	};
	struct query_outcome out;
	int r;

	c->worker = NULL; /* query_submit() owns it now */
	if ((r = query_submit(c->ex, &req, &out)) != 0) {
		route_fail(
		    c, r, r == SL_ERR_INVAL && req.request_id != NULL ? "Idempotency-Key" : NULL);
		return;
	}
	if (out.answer != NULL) {
		answer(c, out.replayed ? 200 : 201, json_incref(out.answer));
	} else {
		int refused = strcmp(out.state, "refused") == 0;

		/* A refusal breaks a rule; a failure is the worker's or the broker's. */
		route_error(c, refused ? 403 : 500, refused ? "refused" : "failed", NULL,
		    json_pack("{s:s, s:s}", "query_id", out.id, "state", out.state),
		    "query %s %s: %s", out.id, out.state, out.reason != NULL ? out.reason : "?");
	}
	/* The job's thread ends the worker once the answer is on its way (broker/serve.c). */
	c->worker = out.worker;
	out.worker = NULL;
	query_outcome_clear(&out);
}

static void
queries_show(struct route_call *c)
{
	json_t *doc = NULL;
	int r;

	r = query_act_show(c->ex, c->caller, c->param, &doc);
	answer_or_fail(c, r, 200, doc, NULL);
}

static void
queries_list(struct route_call *c)
{
	json_t *doc = NULL;
	int r;

	r = query_act_list(c->ex, c->caller, c->arg(c->arg_ctx, "contract"), &doc);
	answer_or_fail(c, r, 200, doc, NULL);
}

static void
ledger_h(struct route_call *c)
{
	struct ledger_statement_request req = {
	    c->arg(c->arg_ctx, "party"), c->arg(c->arg_ctx, "from"), c->arg(c->arg_ctx, "until")};
	const char *field = NULL;
	json_t *doc = NULL;
	int r;

	if ((r = ledger_act_statements_json(c->ex, c->caller, &req, &doc, &field)) != 0)
		route_fail(
		    c, r, field != NULL && strcmp(field, ACTOR_FIELD) == 0 ? "party" : field);
	else
		answer(c, 200, doc);
}

static void
checkpoint_h(struct route_call *c)
{
	const char *field = NULL;
	json_t *cp = NULL;
	int r;

	r = audit_act_checkpoint(c->ex, c->caller, &cp, &field);
	answer_or_fail(c, r, 200, cp, field);
}

/* A range bound of the query string: absent 0, else a count. */
static int
range_arg(struct route_call *c, const char *key, uint64_t *out)
{
	const char *s = c->arg(c->arg_ctx, key);
	char *end;

	*out = 0;
	if (s == NULL)
		return 0;
	if (*s < '0' || *s > '9' || (*out = strtoull(s, &end, 10), *end != '\0') || *out == 0) {
		route_error(c, 400, "inval", key, NULL, "%s must be an event number from 1", key);
		return -1;
	}
	return 0;
}

static void
export_h(struct route_call *c)
{
	const char *format = c->arg(c->arg_ctx, "format"), *field = NULL;
	struct audit_export_request req = {0};
	json_t *cp = NULL;
	int r;

	if (format != NULL && strcmp(format, "jsonl") != 0 && strcmp(format, "csv") != 0) {
		route_error(c, 400, "inval", "format", NULL, "format must be jsonl or csv");
		return;
	}
	if (range_arg(c, "from", &req.from) != 0 || range_arg(c, "until", &req.until) != 0)
		return;
	if (req.from != 0 && req.until != 0 && req.from > req.until) {
		route_error(c, 400, "inval", "from", NULL, "from %llu is after until %llu",
		    (unsigned long long)req.from, (unsigned long long)req.until);
		return;
	}
	req.csv = format != NULL && strcmp(format, "csv") == 0;
	req.name = "https";
	if ((c->file = tmpfile()) == NULL) {
		route_fail(c, sl_errf(SL_ERR_IO, "export: no temporary file"), NULL);
		return;
	}
	if ((r = audit_act_export(c->ex, c->caller, &req, c->file, &cp, &field)) != 0) {
		fclose(c->file);
		c->file = NULL;
		route_fail(c, r, field);
		return;
	}
	json_decref(cp);
	c->type = req.csv ? "text/csv" : "application/jsonl";
	c->status = 200;
}

/* ---- uploads (broker/upload.h) ------------------------------------------------------- */

/*
 * An upload's end, by its last part or by complete: the published version
 * (201), or the refusal with the worker's line:column errors (422), which
 * ended the upload either way.
 */
static void
upload_ended(struct route_call *c, int r, const char *product, struct load_result *res)
{
	if (r == 0)
		answer(c, 201, load_result_json(product, res));
	else if (r == SL_ERR_PARSE && res->errors != NULL)
		route_error(c, 422, "parse", NULL, json_incref(res->errors), "%s", sl_err_msg(r));
	else
		route_fail(c, r, NULL);
	load_result_clear(res);
}

/* A refusal of upload_*(): its state (409), none of the caller's (404), or the error. */
static void
upload_refused(struct route_call *c, int r, const char *field, json_t *state)
{
	if (r == UPLOAD_CONFLICT)
		route_error(c, 409, "conflict", field, state, "%s", sl_err_msg(r));
	else
		route_fail(c, r, field);
	if (r != UPLOAD_CONFLICT)
		json_decref(state);
}

static void
uploads_open(struct route_call *c)
{
	const char *format = body_str(c, "format"), *field = NULL;
	json_int_t size = json_integer_value(json_object_get(c->body, "size"));
	struct spawn *worker = c->worker;
	json_t *doc = NULL;
	int r;

	c->worker = NULL; /* the upload's, whatever happens */
	if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0) {
		spawn_free(worker);
		route_error(c, 400, "inval", "format", NULL, "format must be csv or jsonl");
		return;
	}
	r = upload_open(c->ex, c->caller, c->party->name, c->param, format, (uint64_t)size, worker,
	    &doc, &field);
	if (r == UPLOAD_BUSY) {
		route_error(c, 429, "busy", NULL, NULL, "%s", sl_err_msg(r));
		return;
	}
	if (r == UPLOAD_CONFLICT) {
		upload_refused(c, r, NULL, NULL);
		return;
	}
	if (r != 0) {
		fail_hiding(c, r, field, "product");
		return;
	}
	answer(c, 201, doc);
}

static void
uploads_part(struct route_call *c)
{
	const char *s = c->arg(c->arg_ctx, "offset");
	struct load_result res;
	json_t *doc = NULL;
	char product[SL_NAME_MAX + 1] = "";
	unsigned long long off;
	char *end;
	int r;

	errno = 0;
	if (s == NULL || *s < '0' || *s > '9' || (off = strtoull(s, &end, 10), *end != '\0') ||
	    errno == ERANGE) {
		route_error(c, 400, "inval", "offset", NULL,
		    "a part needs ?offset=N, the bytes of the upload before it");
		return;
	}
	r = upload_part(c->ex, c->party->name, c->param, off, c->raw, c->raw_len, &doc, &res,
	    product);
	if (r == 0 && doc != NULL)
		answer(c, 200, doc);
	else if (product[0] != '\0')
		upload_ended(c, r, product, &res);
	else
		upload_refused(c, r, "offset", doc);
}

static void
uploads_complete(struct route_call *c)
{
	struct load_result res;
	json_t *doc = NULL;
	char product[SL_NAME_MAX + 1] = "";
	int r;

	r = upload_complete(c->ex, c->party->name, c->param, &res, &doc, product);
	if (product[0] != '\0')
		upload_ended(c, r, product, &res);
	else
		upload_refused(c, r, NULL, doc);
}

static void
uploads_show(struct route_call *c)
{
	json_t *doc = NULL;
	int r;

	r = upload_status(c->party->name, c->param, &doc);
	answer_or_fail(c, r, 200, doc, NULL);
}

static void
uploads_cancel(struct route_call *c)
{
	int r;

	if ((r = upload_cancel(c->ex, c->party->name, c->param)) != 0)
		upload_refused(c, r, NULL, NULL);
	else
		answer(c, 200, json_pack("{s:s, s:s}", "upload", c->param, "state", "cancelled"));
}

/* ---- the console (web/, broker/console.h) -------------------------------------------- */

/* The console's files by their ending: nothing else is served. */
static const struct {
	const char *ext, *type;
} web_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".txt", "text/plain; charset=utf-8"},
};

static void
web_file(struct route_call *c, const char *name)
{
	const char *dot = strrchr(name, '.'), *want;
	uint8_t md[KEYS_HASH_BYTES];
	char *path = NULL, *data = NULL;
	size_t i, len = 0;
	FILE *f;
	int r;

	for (i = 0; dot != NULL && i < sizeof web_types / sizeof web_types[0]; i++)
		if (strcmp(dot, web_types[i].ext) == 0)
			break;
	/* A name is one segment of [A-Za-z0-9_.-] (route_match); no hidden file either. */
	if (name[0] == '.' || dot == NULL || i == sizeof web_types / sizeof web_types[0] ||
	    (path = sl_path_join(c->web, name)) == NULL ||
	    sl_file_read(path, 8u << 20, (uint8_t **)&data, &len) != 0) {
		free(path);
		route_error(c, 404, "notfound", NULL, NULL, "no such page");
		return;
	}
	free(path);
	/* Revalidated on each load (no-cache), answered 304 while it is the same file. */
	if ((r = keys_hash(KEYS_SUITE_INTL, data, len, md)) != 0) {
		free(data);
		route_fail(c, r, NULL);
		return;
	}
	c->etag[0] = '"';
	sl_hex_encode(md, 16, c->etag + 1);
	strcat(c->etag, "\"");
	c->cache = "no-cache";
	c->type = web_types[i].type;
	want = c->header(c->header_ctx, "If-None-Match");
	if (want != NULL && strcmp(want, c->etag) == 0) {
		free(data);
		c->status = 304;
		return;
	}
	if ((f = tmpfile()) == NULL || fwrite(data, 1, len, f) != len) {
		if (f != NULL)
			fclose(f);
		free(data);
		route_fail(c, sl_errf(SL_ERR_IO, "console: no temporary file"), NULL);
		return;
	}
	free(data);
	c->file = f;
	c->status = 200;
}

static void
web_index(struct route_call *c)
{
	web_file(c, "index.html");
}

static void
web_asset(struct route_call *c)
{
	web_file(c, c->param);
}

/* A login link: its token for a session cookie, then to the console. */
static void
web_login(struct route_call *c)
{
	const char *token = c->arg(c->arg_ctx, "token");
	const char *site = c->header(c->header_ctx, "Sec-Fetch-Site");
	char id[CONSOLE_SECRET_HEX];
	int r;

	/*
	 * A link from a terminal or typed in is "none"; another site's page that
	 * logs the browser in to a session of its own choosing is refused.
	 */
	if (site != NULL && strcmp(site, "cross-site") == 0) {
		route_error(c, 403, "csrf", NULL, NULL, "a login from another site is refused");
		return;
	}
	if (token == NULL) {
		route_error(c, 400, "inval", "token", NULL, "a login link has a token");
		return;
	}
	if ((r = console_login(token, id)) != 0) {
		route_error(c, 401, "auth", "token", NULL, "%s", sl_err_msg(r));
		return;
	}
	if (asprintf(&c->set_cookie, "%s=%s; Path=/; Max-Age=%d; Secure; HttpOnly; SameSite=Strict",
	        CONSOLE_COOKIE, id, CONSOLE_SESSION_S) < 0) {
		c->set_cookie = NULL;
		route_fail(c, SL_ERR_NOMEM, NULL);
		return;
	}
	explicit_bzero(id, sizeof id);
	c->location = "/";
	answer(c, 303, json_pack("{s:s}", "location", "/"));
}

/* Who is calling, and for a console session the CSRF token its changes must carry. */
static void
session_show(struct route_call *c)
{
	answer(c, 200,
	    json_pack("{s:s, s:s, s:s, s:s?}", "party", c->party->name, "role", c->party->role,
	        "via", c->session != NULL ? "console" : "certificate", "csrf", c->csrf));
}

static void
session_logout(struct route_call *c)
{
	if (c->session != NULL)
		console_logout(c->session);
	if ((c->set_cookie = strdup(CONSOLE_COOKIE "=; Path=/; Max-Age=0; Secure; HttpOnly; "
	                                           "SameSite=Strict")) == NULL) {
		route_fail(c, SL_ERR_NOMEM, NULL);
		return;
	}
	answer(c, 200, json_pack("{s:s}", "state", "logged out"));
}

/* ---- the table ------------------------------------------------------------------- */

static const char *const f_query[] = {"contract", "sql", NULL};
static const char *const f_revoke[] = {"reason", NULL};
static const char *const f_offer[] = {"product", "buyer", "terms", NULL};
static const char *const f_product[] = {"name", "schema", "holder", "operator", NULL};
static const char *const f_upload[] = {"format", "size", NULL};
static const char *const i_upload[] = {"size", NULL};
static const char *const r_product[] = {"name", "schema", NULL};
static const char *const o_product[] = {"schema", NULL};
static const char *const o_offer[] = {"terms", NULL};

/* Everyone who may hold a certificate; the actions narrow it to a party's own objects. */
#define PARTIES ROLE_ANY
#define READERS (ROLE_PLATFORM | ROLE_AUDITOR)
#define CONTRACT_PARTIES (ROLE_ANY & ~ROLE_AUDITOR)

const struct route routes[] = {
    {"GET", "/v1/health", PARTIES, 0, 0, NULL, NULL, NULL, health},
    {"GET", "/metrics", READERS, 0, 0, NULL, NULL, NULL, metrics},
    {"GET", "/v1/products", PARTIES, 0, 0, NULL, NULL, NULL, products_list},
    {"POST", "/v1/products", ROLE_MERCHANT, 0, 65536, f_product, r_product, o_product,
        products_add},
    {"GET", "/v1/products/{name}", PARTIES, 0, 0, NULL, NULL, NULL, products_show},
    {"POST", "/v1/products/{name}/uploads", ROLE_MERCHANT, ROUTE_JOB, 4096, f_upload, f_upload,
        NULL, uploads_open, i_upload},
    {"GET", "/v1/uploads/{id}", ROLE_MERCHANT, 0, 0, NULL, NULL, NULL, uploads_show},
    {"POST", "/v1/uploads/{id}/parts", ROLE_MERCHANT, ROUTE_FEED, UPLOAD_PART_MAX, NULL, NULL,
        NULL, uploads_part},
    {"POST", "/v1/uploads/{id}/complete", ROLE_MERCHANT, ROUTE_FEED, 0, NULL, NULL, NULL,
        uploads_complete},
    {"POST", "/v1/uploads/{id}/cancel", ROLE_MERCHANT, ROUTE_FEED, 0, NULL, NULL, NULL,
        uploads_cancel},
    {"GET", "/v1/contracts", PARTIES, 0, 0, NULL, NULL, NULL, contracts_list_h},
    {"POST", "/v1/contracts", ROLE_MERCHANT | ROLE_PLATFORM, 0, 65536, f_offer, f_offer, o_offer,
        contracts_offer_h},
    {"GET", "/v1/contracts/{id}", PARTIES, 0, 0, NULL, NULL, NULL, contracts_show_h},
    {"POST", "/v1/contracts/{id}/submit", CONTRACT_PARTIES, 0, CONTRACT_TEXT_MAX, NULL, NULL, NULL,
        contracts_submit_h},
    {"POST", "/v1/contracts/{id}/revoke", CONTRACT_PARTIES, 0, 4096, f_revoke, f_revoke, NULL,
        contracts_revoke_h},
    {"GET", "/v1/contracts/{id}/budget", PARTIES, 0, 0, NULL, NULL, NULL, budget_h},
    {"POST", "/v1/queries", ROLE_BUYER, ROUTE_JOB, QUERY_TEXT_MAX + 4096, f_query, f_query, NULL,
        queries_submit},
    {"GET", "/v1/queries", ROLE_BUYER | READERS, 0, 0, NULL, NULL, NULL, queries_list},
    {"GET", "/v1/queries/{id}", ROLE_BUYER | READERS, 0, 0, NULL, NULL, NULL, queries_show},
    {"GET", "/v1/ledger", PARTIES, 0, 0, NULL, NULL, NULL, ledger_h},
    {"GET", "/v1/audit/checkpoint", READERS, 0, 0, NULL, NULL, NULL, checkpoint_h},
    {"GET", "/v1/audit/export", READERS, 0, 0, NULL, NULL, NULL, export_h},
    {"GET", "/v1/session", PARTIES, 0, 0, NULL, NULL, NULL, session_show},
    {"POST", "/v1/session/logout", PARTIES, 0, 0, NULL, NULL, NULL, session_logout},
    {"GET", "/login", ROUTE_PUBLIC, 0, 0, NULL, NULL, NULL, web_login},
    {"GET", "/", ROUTE_PUBLIC, 0, 0, NULL, NULL, NULL, web_index},
    {"GET", "/{file}", ROUTE_PUBLIC, 0, 0, NULL, NULL, NULL, web_asset},
    {NULL, NULL, 0, 0, 0, NULL, NULL, NULL, NULL},
};

/* ---- matching ------------------------------------------------------------------- */

unsigned
route_role_bit(const char *role)
{
	static const char *const names[] = {
	    "platform", "holder", "operator", "merchant", "buyer", "auditor"};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(role, names[i]) == 0)
			return 1u << i;
	return 0;
}

static int
param_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-' || ch == '.';
}

/* Whether path fits pattern; the {param} segment copied into param. */
static int
path_fits(const char *pattern, const char *path, char param[ROUTE_PARAM_MAX + 1])
{
	const char *open = strchr(pattern, '{'), *close, *end;
	size_t pre, n;

	if (open == NULL)
		return strcmp(pattern, path) == 0;
	pre = (size_t)(open - pattern);
	close = strchr(open, '}');
	if (close == NULL || strncmp(pattern, path, pre) != 0)
		return 0;
	path += pre;
	for (end = path; *end != '\0' && *end != '/'; end++)
		if (!param_char(*end))
			return 0;
	n = (size_t)(end - path);
	/* "." and ".." are no names, and would read as path steps to anyone after us. */
	if (n == 0 || n > ROUTE_PARAM_MAX ||
	    (path[0] == '.' && (n == 1 || (n == 2 && path[1] == '.'))))
		return 0;
	if (strcmp(close + 1, end) != 0)
		return 0;
	memcpy(param, path, n);
	param[n] = '\0';
	return 1;
}

const struct route *
route_match(const char *method, const char *path, char param[ROUTE_PARAM_MAX + 1], int *known)
{
	const struct route *rt;

	*known = 0;
	param[0] = '\0';
	for (rt = routes; rt->method != NULL; rt++) {
		if (!path_fits(rt->path, path, param))
			continue;
		if (strcmp(rt->method, method) == 0)
			return rt;
		*known = 1;
	}
	param[0] = '\0';
	return NULL;
}

static int
listed(const char *const *names, const char *key)
{
	for (; names != NULL && *names != NULL; names++)
		if (strcmp(*names, key) == 0)
			return 1;
	return 0;
}

int
route_body_check(const struct route *rt, struct route_call *c, const json_t *body)
{
	const char *const *f;
	const char *key;
	json_t *v;

	if (!json_is_object(body)) {
		route_error(c, 400, "parse", NULL, NULL, "the body must be a JSON object");
		return -1;
	}
	json_object_foreach((json_t *)body, key, v) {
		if (!listed(rt->fields, key)) {
			route_error(c, 400, "inval", key, NULL, "unknown field \"%.64s\"", key);
			return -1;
		}
		if (listed(rt->integers, key)) {
			if (!json_is_integer(v) || json_integer_value(v) < 0) {
				route_error(c, 400, "inval", key, NULL,
				    "\"%s\" must be an integer of at least 0", key);
				return -1;
			}
		} else if (listed(rt->objects, key) ? !json_is_object(v) : !json_is_string(v)) {
			route_error(c, 400, "inval", key, NULL, "\"%s\" must be %s", key,
			    listed(rt->objects, key) ? "an object" : "a string");
			return -1;
		}
	}
	for (f = rt->required; f != NULL && *f != NULL; f++)
		if (json_object_get(body, *f) == NULL) {
			route_error(c, 400, "inval", *f, NULL, "\"%s\" is required", *f);
			return -1;
		}
	return 0;
}
