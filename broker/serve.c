/*
 * broker/serve.c -- the daemon of broker/serve.h: TLS, connections, the
 * request path (authenticate, route table, body, dispatch), job threads,
 * pre-started workers, metrics, the request log and the lifecycle.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>

#include "broker/cli.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "broker/query.h"
#include "broker/routes.h"
#include "broker/console.h"
#include "broker/serve.h"
#include "broker/upload.h"
#include "broker/spawn.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/text.h"
#include "keys/keys.h"
#include "keys/sign.h"

/* An idle pre-started worker lives this long before it would be killed (it is re-armed when taken). */
#define IDLE_WORKER_MS (24u * 3600u * 1000u)
#define MAX_HEADERS 16384

/* ---- metrics ------------------------------------------------------------------------ */

static const double buckets[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

struct counter {
	char *labels; /* route="...",status="..." or reason="..." */
	unsigned long long n;
};

struct counters {
	struct counter *v;
	size_t n, cap;
};

static struct {
	pthread_mutex_t mu;
	struct counters requests, refusals;
	unsigned long long job_hist[NBUCKETS + 1], job_count;
	double job_sum;
	long connections;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void
count(struct counters *c, const char *labels)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].labels, labels) == 0) {
			c->v[i].n++;
			return;
		}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		struct counter *v = realloc(c->v, cap * sizeof *v);

		if (v == NULL)
			return;
		c->v = v;
		c->cap = cap;
	}
	if ((c->v[c->n].labels = strdup(labels)) != NULL)
		c->v[c->n++].n = 1;
}

static void
counters_free(struct counters *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i].labels);
	free(c->v);
	memset(c, 0, sizeof *c);
}

/* ---- the server's state --------------------------------------------------------------- */

struct job;

struct server {
	const struct serve_config *cfg;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	SSL_CTX *ssl;
	struct exchange *ex; /* the loop thread's */
	FILE *log;
	int stopping;
	struct event *sigterm, *sigint, *sighup, *stop_timer, *sweep_timer;
	struct timespec stop_at;

	/* job threads */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *queue_head, *queue_tail;
	unsigned running, queued; /* under mu */
	int quit;
	pthread_t *threads;
	struct exchange **thread_ex;
	unsigned nthreads;

	/* pre-started workers */
	pthread_mutex_t pool_mu;
	struct spawn **pool;
	unsigned npool;
	char *worker_path;
	unsigned max_conns; /* --max-connections, as the descriptor limit allows */
	char host[256];     /* as --listen names it, for the login links */
	char *web_dir;      /* the console's files */
};

static struct server S;

/* One connection: its TLS state and the request it has outstanding. */
struct conn {
	struct bufferevent *bev;
	struct evhttp_connection *evcon;
	struct event *deadline; /* the request must arrive before it */
	struct job *pending;    /* a job thread's, while it runs */
	int hs_started, hs_done;
	int closed; /* evhttp freed the connection; this struct lives until its SSL does */
	unsigned char *der; /* the client certificate's key, encoded once per connection */
	int derlen;
	char peer[64];
};

static int conn_index = -1; /* SSL ex_data slot of struct conn */

struct job {
	struct job *next;
	const struct route *rt;
	struct route_call call;
	struct evhttp_request *req;
	struct conn *conn;
	struct event *done; /* activated by the job thread */
	struct party party;
	struct keys_pubkey *caller;
	struct evkeyvalq args;
	char request_id[QUERY_REQUEST_ID_MAX + 40];
	struct timespec t0;
	int gone; /* the connection closed while the job ran (loop thread only) */
	/* A console session's request (broker/console.h): its id and CSRF token. */
	int via_console;
	char session[CONSOLE_SECRET_HEX], csrf[CONSOLE_SECRET_HEX];
};

/* ---- small helpers ----------------------------------------------------------------- */

static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static const char *
arg_lookup(void *ctx, const char *key)
{
	return evhttp_find_header((struct evkeyvalq *)ctx, key);
}

/* The request log: one JSON line per request, no body, no SQL, no key. */
static void
log_request(const struct job *j, int status, double seconds)
{
	char now[SL_TIME_RFC3339_LEN];
	json_t *o;
	char *text;

	sl_time_now(now);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:f, s:s}", "time", now, "peer",
	    j->conn != NULL ? j->conn->peer : "-", "party",
	    j->party.name != NULL ? j->party.name : "-", "method",
	    j->rt != NULL ? j->rt->method : "-", "route", j->rt != NULL ? j->rt->path : "-",
	    "status", status, "seconds", seconds, "request_id", j->request_id);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6))) == NULL) {
		json_decref(o);
		return;
	}
	fprintf(S.log != NULL ? S.log : stderr, "%s\n", text);
	fflush(S.log != NULL ? S.log : stderr);
	free(text);
	json_decref(o);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	json_decref(j->call.doc);
	json_decref(j->call.body);
	free(j->call.text);
	free(j->call.set_cookie);
	if (j->call.file != NULL)
		fclose(j->call.file);
	spawn_free(j->call.worker);
	if (j->done != NULL)
		event_free(j->done);
	evhttp_clear_headers(&j->args);
	keys_pubkey_free(j->caller);
	if (j->party.name != NULL)
		party_clear(&j->party);
	free(j);
}

/* ---- replying ------------------------------------------------------------------------ */

static void arm_deadline(struct conn *c);
static void on_close(struct evhttp_connection *evcon, void *arg);

static void
reply(struct job *j)
{
	struct route_call *c = &j->call;
	struct evkeyvalq *h = evhttp_request_get_output_headers(j->req);
	struct evbuffer *out = evhttp_request_get_output_buffer(j->req);
	char labels[256];
	double t = since(&j->t0);

	evhttp_add_header(h, "Content-Type", c->type != NULL ? c->type : "application/json");
	evhttp_add_header(h, "X-Request-Id", j->request_id);
	evhttp_add_header(h, "Cache-Control", c->cache != NULL ? c->cache : "no-store");
	/* The console's pages run only their own scripts, from here, in no one's frame. */
	evhttp_add_header(h, "Content-Security-Policy",
	    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
	if (c->etag[0] != '\0')
		evhttp_add_header(h, "ETag", c->etag);
	if (c->location != NULL)
		evhttp_add_header(h, "Location", c->location);
	if (c->set_cookie != NULL)
		evhttp_add_header(h, "Set-Cookie", c->set_cookie);
	if (c->status == 429)
		evhttp_add_header(h, "Retry-After", "1");
	if (c->status == 304) {
		/* Not modified: no body. */
	} else if (c->file != NULL) {
		int fd;

		fflush(c->file);
		if ((fd = dup(fileno(c->file))) != -1) {
			off_t len = lseek(fd, 0, SEEK_END);

			if (len <= 0 || evbuffer_add_file(out, fd, 0, len) != 0)
				close(fd);
		}
	} else {
		char *text = c->text != NULL ? c->text : c->doc != NULL ? cli_json_text(c->doc) : NULL;

		c->text = NULL;

		if (text == NULL) {
			c->status = 500;
			evbuffer_add_printf(out,
			    "{\"error\":{\"code\":\"internal\",\"message\":\"out of "
			    "memory\"}}\n");
		} else {
			evbuffer_add_printf(out, "%s\n", text);
			free(text);
		}
	}
	/* A detached request (the connection gone) is only freed by this. */
	evhttp_send_reply(j->req, c->status, NULL, NULL);
	if (j->conn != NULL && !j->gone && !j->conn->closed) {
		j->conn->pending = NULL;
		arm_deadline(j->conn);
	}
	pthread_mutex_lock(&M.mu);
	snprintf(labels, sizeof labels, "route=\"%s\",status=\"%d\"",
	    j->rt != NULL ? j->rt->path : "unmatched", c->status);
	count(&M.requests, labels);
	if (c->refusal != NULL && c->status >= 400) {
		snprintf(labels, sizeof labels, "reason=\"%s\"", c->refusal);
		count(&M.refusals, labels);
	}
	pthread_mutex_unlock(&M.mu);
	log_request(j, c->status, t);
}

/* A refusal before any action ran: audited as the CLI's refusals are. */
static void
audit_refusal(const struct job *j, const char *what)
{
	const char *uri = evhttp_request_get_uri(j->req), *q = strchr(uri, '?');
	/* Without the query string: a login link's token is a credential, even a spent one. */
	json_t *d = json_pack("{s:s, s:s%, s:i, s:s}", "method",
	    evhttp_request_get_command(j->req) == EVHTTP_REQ_POST ? "POST" : "GET", "path", uri,
	    q != NULL ? (size_t)(q - uri) : strlen(uri), "status", j->call.status, "reason", what);

	if (db_begin(exchange_db(S.ex)) != 0) {
		json_decref(d);
		return;
	}
	if (exchange_audit(S.ex, j->party.name != NULL ? j->party.name : "unknown", "http.refused",
	        j->rt != NULL ? j->rt->path : "-", d) != 0 ||
	    db_commit(exchange_db(S.ex)) != 0)
		db_rollback(exchange_db(S.ex));
}

/* ---- job threads ----------------------------------------------------------------------- */

static void
job_done(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&M.mu);
	{
		double t = since(&j->t0);
		size_t b;

		for (b = 0; b < NBUCKETS && t > buckets[b]; b++)
			;
		M.job_hist[b]++;
		M.job_count++;
		M.job_sum += t;
	}
	pthread_mutex_unlock(&M.mu);
	if (j->gone)
		j->conn = NULL;
	reply(j);
	job_free(j);
}

/*
 * A worker started ahead, or NULL when none is ready (the job then starts
 * its own).  The oldest: the newest may still be in its exec and start-up,
 * which the job would then wait for.
 */
static struct spawn *
pool_take(void)
{
	struct spawn *sp = NULL;

	pthread_mutex_lock(&S.pool_mu);
	if (S.npool > 0) {
		sp = S.pool[0];
		memmove(S.pool, S.pool + 1, --S.npool * sizeof *S.pool);
	}
	pthread_mutex_unlock(&S.pool_mu);
	return sp;
}

/* Start workers until --workers are ready. */
static void
pool_fill(void)
{
	for (;;) {
		struct spawn *sp = NULL;

		pthread_mutex_lock(&S.pool_mu);
		if (S.npool >= S.cfg->workers) {
			pthread_mutex_unlock(&S.pool_mu);
			return;
		}
		pthread_mutex_unlock(&S.pool_mu);
		if (spawn_start(S.worker_path, IDLE_WORKER_MS, &sp) != 0) {
			sl_errorx("serve: cannot start a worker ahead: %s", sl_err_msg(SL_ERR_IO));
			return;
		}
		pthread_mutex_lock(&S.pool_mu);
		if (S.npool < S.cfg->workers) {
			S.pool[S.npool++] = sp;
			sp = NULL;
		}
		pthread_mutex_unlock(&S.pool_mu);
		spawn_free(sp);
	}
}

static void *
job_thread(void *arg)
{
	struct exchange *ex = arg;

	for (;;) {
		struct spawn *ending;
		struct job *j;

		pthread_mutex_lock(&S.mu);
		while (S.queue_head == NULL && !S.quit)
			pthread_cond_wait(&S.cv, &S.mu);
		if (S.queue_head == NULL) {
			pthread_mutex_unlock(&S.mu);
			return NULL;
		}
		j = S.queue_head;
		if ((S.queue_head = j->next) == NULL)
			S.queue_tail = NULL;
		S.queued--;
		pthread_mutex_unlock(&S.mu);

		sl_err_clear();
		j->call.ex = ex;
		j->call.worker = j->rt->job == ROUTE_JOB ? pool_take() : NULL;
		j->rt->fn(&j->call);
		/* A worker left by the handler (a query's, after its RESULT) is ours to end. */
		ending = j->call.worker;
		j->call.worker = NULL;

		pthread_mutex_lock(&S.mu);
		S.running--;
		pthread_mutex_unlock(&S.mu);
		event_active(j->done, 0, 0);
		/* Once the answer is on its way, off its latency: the worker ended and replaced. */
		spawn_free(ending);
		pool_fill();
	}
}

/* Queue j for a job thread; 0, or -1 when --max-jobs are running (429). */
static int
job_enqueue(struct job *j)
{
	int r = 0;

	pthread_mutex_lock(&S.mu);
	if (S.running >= S.cfg->max_jobs) {
		r = -1;
	} else {
		S.running++;
		S.queued++;
		j->next = NULL;
		if (S.queue_tail != NULL)
			S.queue_tail->next = j;
		else
			S.queue_head = j;
		S.queue_tail = j;
		pthread_cond_signal(&S.cv);
	}
	pthread_mutex_unlock(&S.mu);
	return r;
}

/* ---- the request path ------------------------------------------------------------------- */

/* The value of cookie name in the request's Cookie header into out (hex only), or -1. */
static int
cookie_value(struct evhttp_request *req, const char *name, char *out, size_t outlen)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie"), *p;
	size_t n = strlen(name), k;

	for (p = h; p != NULL && *p != '\0'; p += strspn(p, "; ")) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			p += n + 1;
			k = strspn(p, "0123456789abcdef");
			if (k == 0 || k >= outlen || (p[k] != '\0' && p[k] != ';'))
				return -1;
			memcpy(out, p, k);
			out[k] = '\0';
			return 0;
		}
		p += strcspn(p, ";");
	}
	return -1;
}

/* A request without a certificate: the console session of its cookie, or the refusal. */
static int
console_caller(struct job *j)
{
	char party[SL_NAME_MAX + 1];
	int r;

	if (cookie_value(j->req, CONSOLE_COOKIE, j->session, sizeof j->session) != 0) {
		route_error(&j->call, 401, "auth", NULL, NULL,
		    "a client certificate of this exchange, or a console login, is required");
		return -1;
	}
	if ((r = console_session(j->session, party, j->csrf)) != 0) {
		route_error(&j->call, 401, "auth", NULL, NULL, "%s", sl_err_msg(r));
		return -1;
	}
	/* The party anew on every request: a revocation ends its sessions at once. */
	if (party_find(exchange_db(S.ex), party, &j->party) != 0 ||
	    keys_pubkey_from_der(j->party.public_key, j->party.public_key_len, &j->caller) != 0) {
		route_error(&j->call, 401, "auth", NULL, NULL, "the console session's party is gone");
		return -1;
	}
	if (j->party.revoked != NULL) {
		route_error(&j->call, 401, "auth", NULL, NULL, "party %s was revoked on %s",
		    j->party.name, j->party.revoked);
		return -1;
	}
	j->via_console = 1;
	j->call.caller = j->caller;
	j->call.party = &j->party;
	j->call.session = j->session;
	j->call.csrf = j->csrf;
	return 0;
}

/*
 * Cross-site requests that change something are refused whatever they carry:
 * a browser sends a client certificate, like a cookie, to any page's form.
 * Fetch Metadata says where a browser's request comes from (curl sends none),
 * and a console session's must also carry its CSRF token.
 */
static int
csrf_check(struct job *j)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(j->req);
	const char *site = evhttp_find_header(h, "Sec-Fetch-Site");
	const char *token = evhttp_find_header(h, "X-CSRF-Token");
	const char *mode = evhttp_find_header(h, "Sec-Fetch-Mode");

	if (evhttp_request_get_command(j->req) == EVHTTP_REQ_GET) {
		/*
		 * A read another site embeds or fetches (an export is audited and
		 * signed): refused, as the resource isolation policy of Fetch
		 * Metadata does; following a link here is not.
		 */
		if (site != NULL && strcmp(site, "cross-site") == 0 &&
		    (mode == NULL || strcmp(mode, "navigate") != 0)) {
			route_error(&j->call, 403, "csrf", NULL, NULL,
			    "a read embedded in or fetched by another site is refused");
			return -1;
		}
		return 0;
	}
	if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
		route_error(&j->call, 403, "csrf", NULL, NULL,
		    "a %s request from another site is refused", site);
		return -1;
	}
	if (j->via_console && (token == NULL || !console_secret_equal(token, j->csrf))) {
		route_error(&j->call, 403, "csrf", "X-CSRF-Token", NULL,
		    "a console request that changes something needs the session's CSRF token");
		return -1;
	}
	return 0;
}

/* The caller: the party whose key the client certificate certifies.  0, or the refusal into j. */
static int
authenticate(struct job *j)
{
	struct bufferevent *bev =
	    evhttp_connection_get_bufferevent(evhttp_request_get_connection(j->req));
	SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *cert = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
	unsigned char *der = NULL;
	int len, r;

	if (cert == NULL && S.cfg->console_tokens != NULL)
		return console_caller(j);
	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
		route_error(&j->call, 401, "auth", NULL, NULL,
		    "a client certificate of this exchange is required");
		return -1;
	}
	if (j->conn != NULL && j->conn->der != NULL) {
		der = j->conn->der;
		len = j->conn->derlen;
	} else if ((len = i2d_PUBKEY(X509_get0_pubkey(cert), &der)) <= 0) {
		route_error(&j->call, 401, "auth", NULL, NULL,
		    "the client certificate's key cannot be read");
		return -1;
	} else if (j->conn != NULL) {
		/* The peer's certificate is fixed for the connection: encoding it is 1/8 of a GET. */
		j->conn->der = der;
		j->conn->derlen = len;
	}
	r = keys_pubkey_from_der(der, (size_t)len, &j->caller);
	if (j->conn == NULL)
		OPENSSL_free(der);
	if (r == 0)
		r = party_find_key(exchange_db(S.ex), j->caller, &j->party);
	if (r != 0) {
		memset(&j->party, 0, sizeof j->party);
		route_error(&j->call, 401, "auth", NULL, NULL,
		    "the client certificate is not of a party of this exchange");
		return -1;
	}
	if (j->party.revoked != NULL) {
		route_error(&j->call, 401, "auth", NULL, NULL, "party %s was revoked on %s",
		    j->party.name, j->party.revoked);
		return -1;
	}
	j->call.caller = j->caller;
	j->call.party = &j->party;
	return 0;
}

/* The JSON body of a route that takes one. */
static int
read_body(struct job *j)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(j->req);
	size_t len = evbuffer_get_length(in);
	json_error_t e;
	json_t *body;
	char *data;

	if (len > j->rt->max_body) {
		route_error(&j->call, 413, "limit", NULL, NULL,
		    "the body is %zu bytes; this route takes at most %zu", len, j->rt->max_body);
		return -1;
	}
	if ((data = (char *)evbuffer_pullup(in, (ev_ssize_t)len)) == NULL && len > 0) {
		route_fail(&j->call, SL_ERR_NOMEM, NULL);
		return -1;
	}
	if (j->rt->fields == NULL) {
		/* A document its handler parses (a contract); valid while the request lives. */
		j->call.raw = data != NULL ? data : "";
		j->call.raw_len = len;
		return 0;
	}
	if ((body = json_loadb(data != NULL ? data : "", len,
	         JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e)) == NULL) {
		route_error(&j->call, 400, "parse", NULL, NULL, "the body is not JSON: %s at %d:%d",
		    e.text, e.line, e.column);
		return -1;
	}
	j->call.body = body;
	return route_body_check(j->rt, &j->call, body);
}

static void
refuse(struct job *j, const char *what)
{
	audit_refusal(j, what);
	reply(j);
	job_free(j);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
	const char *uri = evhttp_request_get_uri(req), *idem;
	struct evhttp_uri *u = NULL;
	const char *method;
	struct job *j;
	int known = 0, authed;
	uint8_t raw[8];

	(void)arg;
	if ((j = calloc(1, sizeof *j)) == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	TAILQ_INIT(&j->args);
	j->req = req;
	j->conn = ssl != NULL ? SSL_get_ex_data(ssl, conn_index) : NULL;
	if (j->conn != NULL) {
		j->conn->evcon = evcon;
		if (j->conn->deadline != NULL)
			event_del(j->conn->deadline);
		evhttp_connection_set_closecb(evcon, on_close, j->conn);
		if (j->conn->peer[0] == '\0') {
			char *addr = NULL;
			ev_uint16_t port = 0;

			evhttp_connection_get_peer(evcon, &addr, &port);
			snprintf(j->conn->peer, sizeof j->conn->peer, "%s:%u",
			    addr != NULL ? addr : "?", (unsigned)port);
		}
	}
	j->call.arg = arg_lookup;
	j->call.arg_ctx = &j->args;
	j->call.header = arg_lookup;
	j->call.header_ctx = evhttp_request_get_input_headers(req);
	j->call.status = 500;
	keys_random(raw, sizeof raw);
	memcpy(j->request_id, "r_", 2);
	sl_hex_encode(raw, sizeof raw, j->request_id + 2);
	sl_err_clear();

	authed = authenticate(j) == 0;
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		method = "GET";
		break;
	case EVHTTP_REQ_POST:
		method = "POST";
		break;
	default:
		method = "?";
	}
	if ((u = evhttp_uri_parse_with_flags(uri, 0)) == NULL || evhttp_uri_get_path(u) == NULL) {
		route_error(&j->call, 400, "parse", NULL, NULL, "a malformed request target");
		evhttp_uri_free(u);
		refuse(j, "malformed target");
		return;
	}
	if (evhttp_uri_get_query(u) != NULL &&
	    evhttp_parse_query_str(evhttp_uri_get_query(u), &j->args) != 0) {
		route_error(&j->call, 400, "parse", NULL, NULL, "a malformed query string");
		evhttp_uri_free(u);
		refuse(j, "malformed query string");
		return;
	}
	j->rt = route_match(method, evhttp_uri_get_path(u), j->call.param, &known);
	evhttp_uri_free(u);
	if (j->rt != NULL && (j->rt->roles & ROUTE_PUBLIC) != 0) {
		/* The console's own files and its login: no caller, nothing of anyone's. */
		json_decref(j->call.doc);
		j->call.doc = NULL;
		j->call.status = 500;
		j->call.web = S.web_dir;
		j->call.ex = S.ex;
		j->rt->fn(&j->call);
		if (j->call.status == 401 || j->call.status == 403)
			audit_refusal(j, "console login");
		reply(j);
		job_free(j);
		return;
	}
	if (!authed) {
		refuse(j, j->call.status == 401 && S.cfg->console_tokens != NULL
		              ? "no party's certificate or console session"
		              : "no party's certificate");
		return;
	}
	if (j->rt == NULL) {
		if (known)
			route_error(
			    &j->call, 405, "method", NULL, NULL, "%s is not allowed here", method);
		else
			route_error(&j->call, 404, "notfound", NULL, NULL, "no such route");
		reply(j);
		job_free(j);
		return;
	}
	/* The table first: nothing of the handler runs for a role it does not list. */
	if ((j->rt->roles & route_role_bit(j->party.role)) == 0) {
		route_error(&j->call, 403, "policy", NULL, NULL, "a %s may not %s %s",
		    j->party.role, j->rt->method, j->rt->path);
		refuse(j, "role");
		return;
	}
	if (csrf_check(j) != 0) {
		refuse(j, "csrf");
		return;
	}
	if ((idem = evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key")) !=
	    NULL) {
		if (*idem == '\0' || strlen(idem) > QUERY_REQUEST_ID_MAX) {
			route_error(&j->call, 400, "inval", "Idempotency-Key", NULL,
			    "an Idempotency-Key is 1 to %d bytes", QUERY_REQUEST_ID_MAX);
			reply(j);
			job_free(j);
			return;
		}
		j->call.idempotency_key = idem;
		snprintf(j->request_id, sizeof j->request_id, "%s", idem);
	}
	if (j->rt->max_body > 0 && read_body(j) != 0) {
		reply(j);
		job_free(j);
		return;
	}
	if (!j->rt->job) {
		j->call.ex = S.ex;
		j->rt->fn(&j->call);
		reply(j);
		job_free(j);
		return;
	}
	if (S.stopping) {
		route_error(&j->call, 503, "stopping", NULL, NULL, "the server is stopping");
		reply(j);
		job_free(j);
		return;
	}
	if ((j->done = event_new(S.base, -1, 0, job_done, j)) == NULL) {
		route_fail(&j->call, SL_ERR_NOMEM, NULL);
		reply(j);
		job_free(j);
		return;
	}
	if (j->conn != NULL)
		j->conn->pending = j;
	if (job_enqueue(j) != 0) {
		if (j->conn != NULL)
			j->conn->pending = NULL;
		route_error(&j->call, 429, "busy", NULL, NULL, "%u jobs are running; retry shortly",
		    S.cfg->max_jobs);
		reply(j);
		job_free(j);
	}
}

/* ---- connections ------------------------------------------------------------------------ */

/* Past the deadline with no whole request: shut the socket, and libevent frees the connection. */
static void
deadline_hit(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	evutil_socket_t s = c->bev != NULL ? bufferevent_getfd(c->bev) : -1;

	(void)fd;
	(void)what;
	if (s >= 0)
		shutdown(s, SHUT_RDWR);
	pthread_mutex_lock(&M.mu);
	count(&M.refusals, "reason=\"request timeout\"");
	pthread_mutex_unlock(&M.mu);
}

static void
arm_deadline(struct conn *c)
{
	struct timeval tv = {(time_t)S.cfg->request_s, 0};

	if (c->deadline != NULL)
		event_add(c->deadline, &tv);
}

/*
 * evhttp frees the connection (the client left, or a timeout): a job still
 * running for it answers a request libevent has detached, and nothing of
 * the connection is touched again.
 */
static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;

	(void)evcon;
	c->closed = 1;
	if (c->pending != NULL)
		c->pending->gone = 1;
	c->pending = NULL;
	if (c->deadline != NULL)
		event_del(c->deadline);
}

static void
listener_set(int on)
{
	struct evconnlistener *l =
	    S.bound != NULL ? evhttp_bound_socket_get_listener(S.bound) : NULL;

	if (l != NULL && !S.stopping)
		(void)(on ? evconnlistener_enable(l) : evconnlistener_disable(l));
}

/* SSL_free() of a connection's SSL: the connection is gone. */
static void
conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct conn *c = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (c == NULL)
		return;
	if (c->hs_started && !c->hs_done) {
		pthread_mutex_lock(&M.mu);
		count(&M.refusals, "reason=\"tls handshake\"");
		pthread_mutex_unlock(&M.mu);
	}
	if (c->pending != NULL) {
		c->pending->gone = 1;
		c->pending->conn = NULL;
	}
	if (c->deadline != NULL)
		event_free(c->deadline);
	OPENSSL_free(c->der);
	pthread_mutex_lock(&M.mu);
	if (M.connections-- == (long)S.max_conns)
		listener_set(1);
	pthread_mutex_unlock(&M.mu);
	free(c);
}

static void
tls_info(const SSL *ssl, int where, int ret)
{
	struct conn *c = SSL_get_ex_data(ssl, conn_index);

	(void)ret;
	if (c == NULL)
		return;
	if (where & SSL_CB_HANDSHAKE_START)
		c->hs_started = 1;
	if (where & SSL_CB_HANDSHAKE_DONE)
		c->hs_done = 1;
}

/* A refused certificate: named in the audit log (who tried matters), then the handshake fails. */
static int
tls_verify(int ok, X509_STORE_CTX *store)
{
	X509 *cert;
	char subject[256] = "?";
	json_t *d;

	if (ok)
		return 1;
	if ((cert = X509_STORE_CTX_get_current_cert(store)) != NULL)
		X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
	d = json_pack("{s:s, s:s}", "certificate", subject, "reason",
	    X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
	if (db_begin(exchange_db(S.ex)) == 0) {
		if (exchange_audit(S.ex, "unknown", "tls.refused", subject, d) != 0 ||
		    db_commit(exchange_db(S.ex)) != 0)
			db_rollback(exchange_db(S.ex));
	} else {
		json_decref(d);
	}
	return 0;
}

static struct bufferevent *
new_connection(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(S.ssl);
	struct conn *c = calloc(1, sizeof *c);
	struct bufferevent *bev;

	(void)arg;
	if (ssl == NULL || c == NULL || SSL_set_ex_data(ssl, conn_index, c) != 1) {
		SSL_free(ssl);
		free(c);
		return NULL;
	}
	pthread_mutex_lock(&M.mu);
	if (++M.connections >= (long)S.max_conns)
		listener_set(0);
	pthread_mutex_unlock(&M.mu);
	c->deadline = evtimer_new(base, deadline_hit, c);
	bev = bufferevent_openssl_socket_new(
	    base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl); /* conn_free() runs */
		return NULL;
	}
	c->bev = bev;
	arm_deadline(c);
	return bev;
}

/* ---- TLS ----------------------------------------------------------------------------- */

static int
tls_setup(const char *dir)
{
	char *ca = NULL, *crt = NULL, *key = NULL;
	STACK_OF(X509_NAME) * names;
	int r = SL_ERR_CRYPTO;

	if ((ca = sl_path_join(dir, EXCHANGE_CA_CERT)) == NULL ||
	    (crt = sl_path_join(dir, EXCHANGE_SERVER_CERT)) == NULL ||
	    (key = sl_path_join(dir, EXCHANGE_SERVER_KEY)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if ((S.ssl = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(S.ssl, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(S.ssl, TLS1_3_VERSION) != 1) {
		r = sl_errf(SL_ERR_CRYPTO, "serve: cannot set up TLS 1.3");
		goto out;
	}
	if (SSL_CTX_use_certificate_chain_file(S.ssl, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(S.ssl, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(S.ssl) != 1) {
		r = sl_errf(SL_ERR_CRYPTO,
		    "serve: cannot load the server certificate %s and key %s", crt, key);
		goto out;
	}
	if (SSL_CTX_load_verify_locations(S.ssl, ca, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(ca)) == NULL) {
		r = sl_errf(SL_ERR_CRYPTO, "serve: cannot load the platform CA %s", ca);
		goto out;
	}
	SSL_CTX_set_client_CA_list(S.ssl, names);
	/* A server certificate is no client's: only clientAuth leaves are taken. */
	SSL_CTX_set_purpose(S.ssl, X509_PURPOSE_SSL_CLIENT);
	/*
	 * With console logins a browser without a certificate must get as far as
	 * its cookie; a certificate it does present is still verified.
	 */
	SSL_CTX_set_verify(S.ssl,
	    SSL_VERIFY_PEER | (S.cfg->console_tokens != NULL ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT),
	    tls_verify);
	SSL_CTX_set_verify_depth(S.ssl, 2);
	SSL_CTX_set_info_callback(S.ssl, tls_info);
	SSL_CTX_set_session_cache_mode(S.ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(S.ssl, 0);
	SSL_CTX_set_options(S.ssl, SSL_OP_NO_RENEGOTIATION);
	r = 0;
out:
	ERR_clear_error();
	free(ca);
	free(crt);
	free(key);
	return r;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int
log_open(void)
{
	FILE *f;

	if (S.cfg->log_path == NULL)
		return 0;
	if ((f = fopen(S.cfg->log_path, "ae")) == NULL)
		return sl_errf(SL_ERR_IO, "serve: cannot open the log %s: %s", S.cfg->log_path,
		    strerror(errno));
	if (S.log != NULL)
		fclose(S.log);
	S.log = f;
	/* Workers' and the broker's own messages go there too. */
	dup2(fileno(f), STDERR_FILENO);
	return 0;
}

static void
stop_check(evutil_socket_t fd, short what, void *arg)
{
	struct timespec now;
	unsigned busy;

	(void)fd;
	(void)what;
	(void)arg;
	pthread_mutex_lock(&S.mu);
	busy = S.running;
	pthread_mutex_unlock(&S.mu);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (busy == 0 || now.tv_sec >= S.stop_at.tv_sec) {
		if (busy != 0)
			sl_errorx("serve: %u jobs still running after the grace period", busy);
		event_base_loopbreak(S.base);
	}
}

/* Uploads left idle past --upload-idle are abandoned (broker/upload.h). */
static void
sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	upload_sweep(S.ex, 0);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tick = {0, 50000};

	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		if (log_open() != 0)
			sl_errorx("%s", sl_err_msg(SL_ERR_IO));
		return;
	}
	if (S.stopping)
		return;
	listener_set(0);
	S.stopping = 1;
	clock_gettime(CLOCK_MONOTONIC, &S.stop_at);
	S.stop_at.tv_sec += S.cfg->grace_s;
	if ((S.stop_timer = event_new(S.base, -1, EV_PERSIST, stop_check, NULL)) != NULL)
		event_add(S.stop_timer, &tick);
	else
		event_base_loopbreak(S.base);
}

static int
bind_listen(const char *listen, char *host, size_t hostlen, unsigned *port)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t n;
	char *end;
	unsigned long p;

	if (colon == NULL || colon == listen)
		return sl_errf(SL_ERR_INVAL, "--listen %s: must be ADDR:PORT", listen);
	n = (size_t)(colon - listen);
	if (*h == '[' && n >= 2 && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || p > 65535 || n == 0 || n >= hostlen)
		return sl_errf(
		    SL_ERR_INVAL, "--listen %s: must be ADDR:PORT with a port 0..65535", listen);
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (unsigned)p;
	return 0;
}

/* The port the kernel gave (for --listen ...:0) and the ready file for whoever waits on it. */
/*
 * A login link for each --console-token party, on standard output (not the
 * log: the link is a credential until it is spent).  The parties were
 * checked at start-up.
 */
static int
console_links(unsigned port)
{
	const char *p = S.cfg->console_tokens, *host = S.host[0] != '\0' ? S.host : "127.0.0.1";
	char name[SL_NAME_MAX + 1], token[CONSOLE_SECRET_HEX];
	size_t n;

	for (; p != NULL && *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		snprintf(name, sizeof name, "%.*s", (int)n, p);
		if (console_token_new(name, S.cfg->login_ttl_s, token) != 0)
			return -1;
		if (printf("console login for %s (once, within %u s): https://%s:%u/login?token=%s\n",
		        name, S.cfg->login_ttl_s, host, port, token) < 0)
			return -1;
	}
	explicit_bzero(token, sizeof token);
	return fflush(stdout) == 0 ? 0 : -1;
}

/* Each --console-token name is a party of this exchange, not revoked. */
static int
console_parties_check(void)
{
	const char *p = S.cfg->console_tokens;
	char name[SL_NAME_MAX + 1];
	struct party who;
	size_t n;

	for (; p != NULL && *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		snprintf(name, sizeof name, "%.*s", (int)n, p);
		if (n == 0 || n > SL_NAME_MAX || party_find(exchange_db(S.ex), name, &who) != 0)
			return sl_errf(SL_ERR_NOTFOUND, "serve: --console-token: no party '%.*s'",
			    (int)n, p);
		if (who.revoked != NULL) {
			party_clear(&who);
			return sl_errf(SL_ERR_POLICY, "serve: --console-token: party %s was revoked",
			    name);
		}
		party_clear(&who);
	}
	return 0;
}

/* --web, else web/ beside the program (a build tree), else the installed files. */
static int
web_dir_find(void)
{
	char exe[PATH_MAX], *slash, *p;
	ssize_t n;

	if (S.cfg->web_dir != NULL)
		return (S.web_dir = strdup(S.cfg->web_dir)) != NULL ? 0 : SL_ERR_NOMEM;
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			if (asprintf(&p, "%s/web", exe) < 0)
				return SL_ERR_NOMEM;
			if (access(p, R_OK | X_OK) == 0) {
				S.web_dir = p;
				return 0;
			}
			free(p);
		}
	}
	return (S.web_dir = strdup(SLUICE_WEBDIR)) != NULL ? 0 : SL_ERR_NOMEM;
}

static int
announce(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	evutil_socket_t fd = evhttp_bound_socket_get_fd(S.bound);
	unsigned port = 0;
	FILE *f;
	char tmp[4096];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                      : ((struct sockaddr_in *)&ss)->sin_port);
	sl_warnx("serve: listening on port %u (%u workers ahead, %u jobs at once)", port,
	    S.cfg->workers, S.cfg->max_jobs);
	if (console_links(port) != 0)
		return sl_errf(SL_ERR_IO, "serve: cannot print the console's login links");
	if (S.cfg->ready_path == NULL)
		return 0;
	snprintf(tmp, sizeof tmp, "%s.tmp", S.cfg->ready_path);
	if ((f = fopen(tmp, "we")) == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 ||
	    rename(tmp, S.cfg->ready_path) != 0)
		return sl_errf(
		    SL_ERR_IO, "serve: cannot write %s: %s", S.cfg->ready_path, strerror(errno));
	return 0;
}

static int
threads_start(void)
{
	unsigned i;
	int r;

	S.nthreads = S.cfg->max_jobs;
	if ((S.threads = calloc(S.nthreads, sizeof *S.threads)) == NULL ||
	    (S.thread_ex = calloc(S.nthreads, sizeof *S.thread_ex)) == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < S.nthreads; i++)
		if ((r = exchange_open(S.cfg->dir, S.cfg->passphrase_file, &S.thread_ex[i])) != 0)
			return r;
	for (i = 0; i < S.nthreads; i++)
		if (pthread_create(&S.threads[i], NULL, job_thread, S.thread_ex[i]) != 0) {
			S.nthreads = i;
			return sl_errf(SL_ERR_IO, "serve: cannot start a job thread");
		}
	return 0;
}

static void
threads_stop(void)
{
	unsigned i;

	pthread_mutex_lock(&S.mu);
	S.quit = 1;
	pthread_cond_broadcast(&S.cv);
	pthread_mutex_unlock(&S.mu);
	for (i = 0; i < S.nthreads; i++)
		pthread_join(S.threads[i], NULL);
	for (i = 0; S.thread_ex != NULL && i < S.cfg->max_jobs; i++)
		exchange_close(S.thread_ex[i]);
	free(S.threads);
	free(S.thread_ex);
}

/*
 * Descriptors for --max-connections: the soft limit raised to the hard one
 * (as nginx's worker_rlimit_nofile), and the cap lowered, with a warning,
 * to what still leaves room for the catalog, the job threads and workers.
 */
static unsigned
conns_fit(unsigned want)
{
	struct rlimit rl;
	rlim_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	room = rl.rlim_cur > 256 ? rl.rlim_cur - 256 : 1;
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want > room) {
		sl_warnx("serve: --max-connections %u lowered to %llu: %llu descriptors allowed",
		    want, (unsigned long long)room, (unsigned long long)rl.rlim_cur);
		return (unsigned)room;
	}
	return want;
}

int
serve_run(const struct serve_config *cfg)
{
	char host[256];
	unsigned port = 0, i, busy;
	int r;

	memset(&S, 0, sizeof S);
	S.cfg = cfg;
	S.max_conns = conns_fit(cfg->max_conns);
	pthread_mutex_init(&S.mu, NULL);
	pthread_cond_init(&S.cv, NULL);
	pthread_mutex_init(&S.pool_mu, NULL);
	if ((r = bind_listen(cfg->listen, host, sizeof host, &port)) != 0)
		return r;
	snprintf(S.host, sizeof S.host, "%s", strchr(host, ':') != NULL ? "127.0.0.1" : host);
	if (strcmp(S.host, "0.0.0.0") == 0)
		snprintf(S.host, sizeof S.host, "127.0.0.1");
	signal(SIGPIPE, SIG_IGN);
	if ((r = log_open()) != 0 ||
	    (r = exchange_open(cfg->dir, cfg->passphrase_file, &S.ex)) != 0 ||
	    (r = console_parties_check()) != 0 || (r = web_dir_find()) != 0 ||
	    (r = tls_setup(cfg->dir)) != 0 ||
	    (r = spawn_worker_path(&S.worker_path)) != 0)
		goto out;
	if (conn_index < 0 &&
	    (conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free)) < 0) {
		r = sl_errf(SL_ERR_CRYPTO, "serve: no SSL ex_data slot");
		goto out;
	}
	if (evthread_use_pthreads() != 0 || (S.base = event_base_new()) == NULL ||
	    (S.http = evhttp_new(S.base)) == NULL) {
		r = sl_errf(SL_ERR_NOMEM, "serve: cannot set up the event loop");
		goto out;
	}
	evhttp_set_bevcb(S.http, new_connection, NULL);
	evhttp_set_gencb(S.http, on_request, NULL);
	evhttp_set_allowed_methods(S.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_max_headers_size(S.http, MAX_HEADERS);
	{
		const struct route *rt;
		size_t max = 0;

		for (rt = routes; rt->method != NULL; rt++)
			max = rt->max_body > max ? rt->max_body : max;
		evhttp_set_max_body_size(S.http, (ev_ssize_t)max);
	}
	evhttp_set_timeout(S.http, (int)(cfg->request_s > 0 ? cfg->request_s : 1) * 3);
	if ((S.bound = evhttp_bind_socket_with_handle(S.http, host, (ev_uint16_t)port)) == NULL) {
		r = sl_errf(
		    SL_ERR_IO, "serve: cannot listen on %s: %s", cfg->listen, strerror(errno));
		goto out;
	}
	{
		/*
		 * Accepted sockets inherit it: an answer leaves as several TLS
		 * records, and Nagle would hold the last one for the client's
		 * delayed ACK (40 ms a request).
		 */
		int one = 1;

		(void)setsockopt(evhttp_bound_socket_get_fd(S.bound), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof one);
	}
	if ((S.pool = calloc(cfg->workers + 1, sizeof *S.pool)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	pool_fill();
	if ((r = threads_start()) != 0)
		goto out;
	S.sigterm = evsignal_new(S.base, SIGTERM, on_signal, NULL);
	S.sigint = evsignal_new(S.base, SIGINT, on_signal, NULL);
	S.sighup = evsignal_new(S.base, SIGHUP, on_signal, NULL);
	if (S.sigterm == NULL || S.sigint == NULL || S.sighup == NULL ||
	    event_add(S.sigterm, NULL) != 0 || event_add(S.sigint, NULL) != 0 ||
	    event_add(S.sighup, NULL) != 0) {
		r = sl_errf(SL_ERR_IO, "serve: cannot catch signals");
		goto out;
	}
	upload_set_idle(cfg->upload_idle_s);
	{
		struct timeval every = {cfg->upload_idle_s >= 20 ? 10 : 1, 0};

		if ((S.sweep_timer = event_new(S.base, -1, EV_PERSIST, sweep, NULL)) == NULL ||
		    event_add(S.sweep_timer, &every) != 0) {
			r = sl_errf(SL_ERR_NOMEM, "serve: cannot set up the upload timer");
			goto out;
		}
	}
	if ((r = announce()) != 0)
		goto out;
	event_base_dispatch(S.base);
	pthread_mutex_lock(&S.mu);
	busy = S.running;
	pthread_mutex_unlock(&S.mu);
	if (busy != 0) {
		/* Past the grace period: a job's transaction is whole or absent, never half. */
		_exit(1);
	}
	sl_warnx("serve: stopped");
out:
	if (S.threads != NULL)
		threads_stop();
	/* No job thread is left to feed one: the uploads still open end unpublished. */
	if (S.ex != NULL)
		upload_sweep(S.ex, 1);
	if (S.sweep_timer != NULL)
		event_free(S.sweep_timer);
	for (i = 0; i < S.npool; i++)
		spawn_free(S.pool[i]);
	free(S.pool);
	if (S.stop_timer != NULL)
		event_free(S.stop_timer);
	if (S.sigterm != NULL)
		event_free(S.sigterm);
	if (S.sigint != NULL)
		event_free(S.sigint);
	if (S.sighup != NULL)
		event_free(S.sighup);
	if (S.http != NULL)
		evhttp_free(S.http);
	if (S.base != NULL)
		event_base_free(S.base);
	SSL_CTX_free(S.ssl);
	exchange_close(S.ex);
	free(S.worker_path);
	free(S.web_dir);
	if (S.log != NULL)
		fclose(S.log);
	pthread_mutex_lock(&M.mu);
	counters_free(&M.requests);
	counters_free(&M.refusals);
	pthread_mutex_unlock(&M.mu);
	return r;
}

void
serve_metrics_write(FILE *f)
{
	unsigned running, queued, ready;
	unsigned long long cum = 0;
	size_t i;

	pthread_mutex_lock(&S.mu);
	running = S.running - S.queued;
	queued = S.queued;
	pthread_mutex_unlock(&S.mu);
	pthread_mutex_lock(&S.pool_mu);
	ready = S.npool;
	pthread_mutex_unlock(&S.pool_mu);
	pthread_mutex_lock(&M.mu);
	fprintf(f, "# HELP sluice_http_requests_total Requests answered, by route and status.\n"
	           "# TYPE sluice_http_requests_total counter\n");
	for (i = 0; i < M.requests.n; i++)
		fprintf(f, "sluice_http_requests_total{%s} %llu\n", M.requests.v[i].labels,
		    M.requests.v[i].n);
	fprintf(f, "# HELP sluice_refusals_total Refused requests and connections, by reason.\n"
	           "# TYPE sluice_refusals_total counter\n");
	for (i = 0; i < M.refusals.n; i++)
		fprintf(f, "sluice_refusals_total{%s} %llu\n", M.refusals.v[i].labels,
		    M.refusals.v[i].n);
	fprintf(f,
	    "# HELP sluice_jobs_running Jobs a job thread is running.\n# TYPE sluice_jobs_running "
	    "gauge\n"
	    "sluice_jobs_running %u\n"
	    "# HELP sluice_jobs_queued Jobs accepted and waiting for a job thread.\n"
	    "# TYPE sluice_jobs_queued gauge\nsluice_jobs_queued %u\n"
	    "# HELP sluice_workers_ready Workers started ahead and waiting.\n"
	    "# TYPE sluice_workers_ready gauge\nsluice_workers_ready %u\n"
	    "# HELP sluice_connections Open client connections.\n"
	    "# TYPE sluice_connections gauge\nsluice_connections %ld\n"
	    "# HELP sluice_uploads_open Uploads opened and not yet completed or ended.\n"
	    "# TYPE sluice_uploads_open gauge\nsluice_uploads_open %u\n",
	    running, queued, ready, M.connections, upload_count());
	fprintf(f, "# HELP sluice_job_duration_seconds Jobs from request to answer.\n"
	           "# TYPE sluice_job_duration_seconds histogram\n");
	for (i = 0; i < NBUCKETS; i++) {
		cum += M.job_hist[i];
		fprintf(f, "sluice_job_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i], cum);
	}
	cum += M.job_hist[NBUCKETS];
	fprintf(f, "sluice_job_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	fprintf(f, "sluice_job_duration_seconds_sum %.6f\nsluice_job_duration_seconds_count %llu\n",
	    M.job_sum, M.job_count);
	pthread_mutex_unlock(&M.mu);
}
