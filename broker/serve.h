/*
 * broker/serve.h -- `sluice serve`: the exchange as an HTTPS JSON API
 * (docs/server.md, docs/openapi.yaml).
 *
 * libevent's HTTP server over OpenSSL, TLS 1.3 only, with the platform's
 * server certificate from DIR/tls/.  Every client presents a certificate
 * of the platform CA (the FILE.crt of `party add`); its key is the party's
 * identity key, and the party, not revoked, is the caller of every action.
 * Who may call each route is the table of broker/routes.h.
 *
 * One thread runs the event loop and answers the catalog's reads; job
 * routes (a query) run on --max-jobs job threads, each with its own
 * connection to the catalog, so a query never holds up the loop.  Beyond
 * --max-jobs running, a job is answered 429 with Retry-After.  --workers
 * workers are kept started ahead (executed, holding no key and no store,
 * waiting for their HEADER): each still serves one job and exits, and a
 * fresh one is started behind it.
 */
#ifndef SLUICE_BROKER_SERVE_H
#define SLUICE_BROKER_SERVE_H

#include <stdio.h>

struct serve_config {
	const char *dir, *passphrase_file;
	const char *listen;     /* "ADDR:PORT"; IPv6 as "[::1]:8443" */
	unsigned workers;       /* kept started ahead */
	unsigned max_jobs;      /* jobs at once (job threads) */
	unsigned max_conns;     /* connections at once; the rest wait in the kernel's backlog */
	unsigned request_s;     /* a request's headers and body must arrive within this */
	unsigned grace_s;       /* SIGTERM: how long running jobs may take to finish */
	unsigned upload_idle_s; /* an upload with no request for this long is abandoned */
	const char *web_dir;        /* the console's files */
	const char *console_tokens; /* "NAME[,NAME...]": print a login link for each; or NULL */
	unsigned login_ttl_s;       /* how long a login link is good for */
	const char *log_path;   /* the request log; NULL: standard error */
	const char *ready_path; /* written with the bound port once listening (tests), or NULL */
};

#define SERVE_LISTEN_DEFAULT "127.0.0.1:8443"

/* Run until SIGTERM or SIGINT.  Returns 0 after a clean stop. */
int serve_run(const struct serve_config *cfg) __attribute__((warn_unused_result));

/* The Prometheus text of the running server's counters (GET /metrics). */
void serve_metrics_write(FILE *f);

#endif
