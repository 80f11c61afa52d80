/*
 * broker/routes.h -- the HTTPS API's routes and the one table of who may
 * call each (docs/openapi.yaml; docs/server.md).
 *
 * The table is consulted on every request before any handler runs, in the
 * spirit of OpenSSH's monitor permit table: a route that is not in it does
 * not exist, and a role that is not in a route's set is refused there.
 * Handlers call the same actions as the CLI (broker/actor.h: each takes the
 * caller's proven key), which check the object-level rules again: a buyer
 * sees its own contracts and queries, a merchant its own income.  Nothing
 * here knows about libevent or TLS; broker/serve.c does.
 */
#ifndef SLUICE_BROKER_ROUTES_H
#define SLUICE_BROKER_ROUTES_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct exchange;
struct keys_pubkey;
struct party;
struct spawn;

/* Role bits of a route's set. */
enum {
	ROLE_PLATFORM = 1u << 0,
	ROLE_HOLDER = 1u << 1,
	ROLE_OPERATOR = 1u << 2,
	ROLE_MERCHANT = 1u << 3,
	ROLE_BUYER = 1u << 4,
	ROLE_AUDITOR = 1u << 5,
	ROLE_ANY = (1u << 6) - 1,
	/* No caller at all: the console's files and its login link (nothing of any party's). */
	ROUTE_PUBLIC = 1u << 6,
};

/* The bit of a party's role; 0 for none. */
unsigned route_role_bit(const char *role);

#define ROUTE_PARAM_MAX 160 /* a path parameter: a product name, a contract or query id */

/* One call of a route: what the request brought, and the answer. */
struct route_call {
	struct exchange *ex;
	const struct keys_pubkey *caller; /* the key of the client certificate */
	const struct party *party;        /* whose it is (not revoked) */
	char param[ROUTE_PARAM_MAX + 1];  /* the {...} segment of the path, "" if none */
	json_t *body;                     /* a JSON body: an object of the route's fields */
	const char *raw;                  /* a route without fields: the body's bytes, unparsed */
	size_t raw_len;
	/* the URI's query string: the value of key, or NULL */
	const char *(*arg)(void *ctx, const char *key);
	void *arg_ctx;
	const char *idempotency_key; /* the Idempotency-Key header, or NULL */
	/* a request header: its value, or NULL */
	const char *(*header)(void *ctx, const char *name);
	void *header_ctx;
	const char *web;            /* public routes: the console's directory of files */
	const char *session, *csrf; /* a console session's request: its id and CSRF token */
	struct spawn *worker;        /* job routes: a worker started ahead, the handler's */

	/* out */
	int status;          /* HTTP status */
	json_t *doc;         /* the JSON answer (or {"error": ...} for a refusal) */
	char *text;          /* or its text already written (malloc'd; the caller frees it) */
	FILE *file;          /* or a file to send whole (audit export), rewound */
	const char *type;    /* its Content-Type; NULL: application/json */
	const char *cache;   /* its Cache-Control; NULL: no-store */
	char etag[48];       /* its ETag, or "" */
	const char *location; /* a redirect's target, or NULL */
	char *set_cookie;     /* a Set-Cookie value (malloc'd; the caller frees it), or NULL */
	const char *refusal; /* a refused call: the reason counted in /metrics */
};

/* Where a route's handler runs: all but ROUTE_INLINE count against --max-jobs. */
enum route_run {
	ROUTE_INLINE = 0, /* on the event loop: reads of the catalog */
	ROUTE_JOB = 1,    /* on a job thread, with a worker started ahead (c->worker) */
	ROUTE_FEED = 2,   /* on a job thread, feeding the worker an upload holds */
};

struct route {
	const char *method; /* "GET" or "POST" */
	const char *path;   /* "/v1/products/{name}": at most one {param}, a whole segment */
	unsigned roles;     /* who may call it */
	int job;            /* enum route_run */
	size_t max_body;    /* bytes; 0: no body */
	/*
	 * The body's members (NULL-terminated; others are refused), each a
	 * string unless listed in objects.  NULL with a max_body: the body is
	 * a document the handler parses itself (raw).
	 */
	const char *const *fields;
	const char *const *required; /* those it must have */
	const char *const *objects;  /* those that are JSON objects */
	void (*fn)(struct route_call *c);
	const char *const *integers; /* those that are integers of at least 0 */
};

/* The table, ending at an entry with a NULL method. */
extern const struct route routes[];

/*
 * The route for method and path (no query string): NULL if none.  *known is
 * set when the path exists for another method (405, not 404).  The
 * parameter is copied into param (at most ROUTE_PARAM_MAX bytes of
 * [A-Za-z0-9_.-], else no match).
 */
const struct route *route_match(
    const char *method, const char *path, char param[ROUTE_PARAM_MAX + 1], int *known);

/*
 * Check body (a parsed object) against the route's fields: unknown members,
 * missing required ones and non-string values of string fields are refused
 * into c (400, naming the field).  Returns 0 when it passes.
 */
int route_body_check(const struct route *rt, struct route_call *c, const json_t *body);

/*
 * An error answer: {"error": {"code", "message", "field"?}} with status,
 * extra's members merged into the error object (extra is stolen; may be
 * NULL).
 */
void route_error(struct route_call *c, int status, const char *code, const char *field,
    json_t *extra, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* An action's failure r (common/err.h) as the error answer with its status. */
void route_fail(struct route_call *c, int r, const char *field);

#endif
