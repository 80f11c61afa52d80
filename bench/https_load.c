/* bench/https_load.c -- a small wrk-like HTTP/1.1 load generator over TLS 1.3 that can
 * present a client certificate (wrk cannot, and every route of `sluice serve` needs one).
 *
 *   bench/https_load --host 127.0.0.1 --port P --path /v1/products --ca CA.crt
 *       [--cert C.crt --key C.key] [--connections N] [--threads T] [--duration S]
 *       [--post JSON]
 *
 * With --post the request is a POST of that JSON body (a query submission), else a GET.
 *
 * As wrk: T threads, each with its own epoll loop and N/T keep-alive connections (TCP_NODELAY),
 * one request in flight per connection, sent again as soon as the answer is read.  The
 * response's status line and Content-Length are parsed and exactly the body is read; a
 * `Connection: close` answer (or an HTTP/1.0 one without keep-alive) is counted and the
 * connection made again.  Answers completed before the deadline count; those in flight then
 * do not.  One JSON line is printed:
 *   {"requests": 2xx answers, "seconds", "per_second": 2xx answers a second, "p50_ms", "p99_ms"
 *    (latency of the 2xx answers, request written to body read), "non2xx", "errors",
 *    "reconnects", "connections", "threads", "body_bytes" (the last 2xx body), "cipher"}
 * Exits 0 if any 2xx answer was read, else 1.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

enum state { ST_CONNECT, ST_HANDSHAKE, ST_WRITE, ST_READ };

struct conn {
	int fd;
	SSL *ssl;
	enum state st;
	unsigned events; /* registered with epoll */
	size_t sent;     /* bytes of the request written */
	char *buf;       /* the answer so far */
	size_t len, cap;
	size_t head;     /* length of the header block, 0 until it is whole */
	size_t body;     /* Content-Length */
	int status, close_after;
	double t0;       /* the request's start */
	double retry_at; /* when a connection that failed early is made again */
};

struct worker {
	pthread_t tid;
	int nconns, ep;
	SSL_CTX *ctx;
	struct conn *conns;
	uint32_t *lat; /* microseconds, one per 2xx answer */
	size_t nlat, caplat;
	long ok, non2xx, errors, reconnects;
	size_t body_bytes;
	char cipher[64];
	int failed; /* could not start */
};

static const char *o_host = "127.0.0.1", *o_path = "/", *o_ca, *o_cert, *o_key, *o_post;
static int o_port, o_conns = 1, o_threads = 1;
static double o_duration = 5;
static struct sockaddr_storage addr;
static socklen_t addrlen;
static char request[8192];
static size_t request_len;
static double t_start, t_end;
static int host_is_ip;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: https_load --host H --port P --path PATH --ca CA.crt [--cert C.crt --key C.key]\n"
	                "                  [--connections N] [--threads T] [--duration SECONDS] [--post JSON]\n");
	exit(2);
}

static void
ssl_die(const char *what)
{
	fprintf(stderr, "https_load: %s: ", what);
	ERR_print_errors_fp(stderr);
	fputc('\n', stderr);
	exit(1);
}

static SSL_CTX *
ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
		ssl_die("cannot set up a TLS 1.3 context");
	if (SSL_CTX_load_verify_locations(ctx, o_ca, NULL) != 1)
		ssl_die("cannot load the CA certificate");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (o_cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx, o_cert) != 1)
			ssl_die("cannot load the client certificate");
		if (SSL_CTX_use_PrivateKey_file(ctx, o_key, SSL_FILETYPE_PEM) != 1)
			ssl_die("cannot load the client key");
		if (SSL_CTX_check_private_key(ctx) != 1)
			ssl_die("the client key does not match the certificate");
	}
	/* No resumption: every connection is made once and kept alive. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

static void
set_events(struct worker *w, struct conn *c, unsigned ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};

	if (c->events == ev)
		return;
	if (epoll_ctl(w->ep, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &e) != 0) {
		perror("https_load: epoll_ctl");
		exit(1);
	}
	c->events = ev;
}

/* OpenSSL's error e asks to wait for the socket: wait for what it names and say so. */
static int
want_io(struct worker *w, struct conn *c, int e)
{
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		return 0;
	set_events(w, c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
	return 1;
}

static void
conn_close(struct worker *w, struct conn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0) {
		epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->events = 0;
}

static void conn_open(struct worker *w, struct conn *c);

/* A failed connection: counted, the first one a thread sees told on stderr, and made again.
 * One that never got through its handshake is made again by the main loop, not at once, so a
 * server that refuses is not hammered. */
static void
conn_error(struct worker *w, struct conn *c, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	int early = c->st == ST_CONNECT || c->st == ST_HANDSHAKE;

	if (w->errors++ == 0) {
		char buf[256] = "";
		long v = c->ssl != NULL ? SSL_get_verify_result(c->ssl) : X509_V_OK;

		if (e != 0)
			ERR_error_string_n(e, buf, sizeof buf);
		fprintf(stderr, "https_load: %s%s%s%s%s (errno %d)\n", what, buf[0] ? ": " : "", buf,
		    v != X509_V_OK ? "; server certificate: " : "",
		    v != X509_V_OK ? X509_verify_cert_error_string(v) : "", errno);
	}
	ERR_clear_error();
	conn_close(w, c);
	c->st = ST_CONNECT;
	if (early)
		c->retry_at = now() + 0.01;
	else if (now() < t_end)
		conn_open(w, c);
}

static void
request_start(struct conn *c)
{
	c->st = ST_WRITE;
	c->sent = 0;
	c->len = c->head = c->body = 0;
	c->status = c->close_after = 0;
	c->t0 = now();
}

static void
conn_open(struct worker *w, struct conn *c)
{
	int one = 1;

	c->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("https_load: socket");
		exit(1);
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->events = 0;
	if ((c->ssl = SSL_new(w->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		ssl_die("SSL_new");
	if (host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), o_host) != 1)
			ssl_die("X509_VERIFY_PARAM_set1_ip_asc");
	} else if (SSL_set_tlsext_host_name(c->ssl, o_host) != 1 || SSL_set1_host(c->ssl, o_host) != 1)
		ssl_die("SSL_set1_host");
	SSL_set_connect_state(c->ssl);
	if (connect(c->fd, (struct sockaddr *)&addr, addrlen) == 0) {
		c->st = ST_HANDSHAKE;
		set_events(w, c, EPOLLOUT);
	} else if (errno == EINPROGRESS) {
		c->st = ST_CONNECT;
		set_events(w, c, EPOLLOUT);
	} else {
		w->errors++;
		close(c->fd);
		c->fd = -1;
		SSL_free(c->ssl);
		c->ssl = NULL;
		/* Retried by the main loop in 10 ms, not in a tight recursion. */
		c->st = ST_CONNECT;
		c->retry_at = now() + 0.01;
	}
}

/* Parse the header block c->buf[0..head): status, Content-Length, Connection.  0, or -1. */
static int
parse_head(struct conn *c)
{
	char *p = c->buf, *end = c->buf + c->head, *eol;
	int have_len = 0, http10 = 0, keep = 0;

	if (c->head < 12 || strncmp(p, "HTTP/1.", 7) != 0)
		return -1;
	http10 = p[7] == '0';
	c->status = atoi(p + 9);
	if (c->status < 100 || c->status > 599)
		return -1;
	while ((eol = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		char *line = eol + 1, *colon, *v;
		size_t n;

		p = line;
		if ((eol = memchr(line, '\n', (size_t)(end - line))) == NULL)
			break;
		n = (size_t)(eol - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		if ((colon = memchr(line, ':', n)) == NULL)
			return -1;
		v = colon + 1;
		while (v < line + n && (*v == ' ' || *v == '\t'))
			v++;
		if ((size_t)(colon - line) == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
			char *e;
			unsigned long long x = strtoull(v, &e, 10);

			if (e == v)
				return -1;
			c->body = (size_t)x;
			have_len = 1;
		} else if ((size_t)(colon - line) == 10 && strncasecmp(line, "Connection", 10) == 0) {
			size_t vn = (size_t)(line + n - v);

			if (vn >= 5 && strncasecmp(v, "close", 5) == 0)
				c->close_after = 1;
			else if (vn >= 10 && strncasecmp(v, "keep-alive", 10) == 0)
				keep = 1;
		} else if ((size_t)(colon - line) == 17 &&
		           strncasecmp(line, "Transfer-Encoding", 17) == 0) {
			return -1; /* chunked: neither server under test sends it */
		}
	}
	if (!have_len)
		return -1;
	if (http10 && !keep)
		c->close_after = 1;
	return 0;
}

static void
answer_done(struct worker *w, struct conn *c)
{
	double t = now();

	if (t > t_end)
		return; /* past the deadline: not counted */
	if (c->status >= 200 && c->status < 300) {
		if (w->nlat == w->caplat) {
			w->caplat = w->caplat ? 2 * w->caplat : 65536;
			if ((w->lat = realloc(w->lat, w->caplat * sizeof *w->lat)) == NULL) {
				perror("https_load");
				exit(1);
			}
		}
		w->lat[w->nlat++] = (uint32_t)((t - c->t0) * 1e6 + 0.5);
		w->ok++;
		w->body_bytes = c->body;
	} else {
		w->non2xx++;
	}
}

/* Drive one connection as far as it goes without blocking. */
static void
drive(struct worker *w, struct conn *c)
{
	for (;;) {
		int r, e;

		switch (c->st) {
		case ST_CONNECT: {
			int err = 0;
			socklen_t l = sizeof err;

			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err != 0) {
				errno = err;
				conn_error(w, c, "cannot connect");
				return;
			}
			c->st = ST_HANDSHAKE;
			break;
		}
		case ST_HANDSHAKE:
			r = SSL_do_handshake(c->ssl);
			if (r == 1) {
				if (w->cipher[0] == '\0')
					snprintf(w->cipher, sizeof w->cipher, "%s",
					    SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
				request_start(c);
				break;
			}
			e = SSL_get_error(c->ssl, r);
			if (want_io(w, c, e))
				return;
			conn_error(w, c, "the TLS handshake failed");
			return;
		case ST_WRITE:
			r = SSL_write(c->ssl, request + c->sent, (int)(request_len - c->sent));
			if (r > 0) {
				c->sent += (size_t)r;
				if (c->sent == request_len)
					c->st = ST_READ;
				break;
			}
			e = SSL_get_error(c->ssl, r);
			if (want_io(w, c, e))
				return;
			conn_error(w, c, "cannot send the request");
			return;
		case ST_READ:
			if (c->cap - c->len < 16384) {
				c->cap = c->cap ? 2 * c->cap : 65536;
				if ((c->buf = realloc(c->buf, c->cap)) == NULL) {
					perror("https_load");
					exit(1);
				}
			}
			r = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len - 1));
			if (r <= 0) {
				e = SSL_get_error(c->ssl, r);
				if (want_io(w, c, e))
					return;
				/* The peer closed or failed (a keep-alive close before any byte of the
				 * answer too): counted as an error, as wrk does. */
				conn_error(w, c, e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && r == 0)
				    ? "the server closed the connection" : "cannot read the answer");
				return;
			}
			c->len += (size_t)r;
			if (c->head == 0) {
				char *h;

				c->buf[c->len] = '\0';
				if ((h = strstr(c->buf, "\r\n\r\n")) == NULL) {
					if (c->len > 65536) {
						conn_error(w, c, "the answer's header is over 64 KiB");
						return;
					}
					break;
				}
				c->head = (size_t)(h - c->buf) + 4;
				if (parse_head(c) != 0) {
					if (w->errors == 0)
						fprintf(stderr, "https_load: the answer: %.200s\n", c->buf);
					conn_error(w, c, "cannot parse the answer (no Content-Length?)");
					return;
				}
			}
			if (c->len < c->head + c->body)
				break;
			if (c->len > c->head + c->body) { /* bytes after the answer: none was asked for */
				conn_error(w, c, "bytes after the answer");
				return;
			}
			answer_done(w, c);
			if (now() >= t_end) {
				conn_close(w, c);
				return;
			}
			if (c->close_after) {
				w->reconnects++;
				conn_close(w, c);
				conn_open(w, c); /* epoll says when it is connected */
				return;
			}
			request_start(c);
			break;
		}
	}
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[256];
	int i;

	w->ctx = ctx_new();
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("https_load: epoll_create1");
		exit(1);
	}
	w->conns = calloc((size_t)w->nconns, sizeof *w->conns);
	if (w->conns == NULL) {
		perror("https_load");
		exit(1);
	}
	for (i = 0; i < w->nconns; i++) {
		w->conns[i].fd = -1;
		conn_open(w, &w->conns[i]);
	}
	for (;;) {
		double t = now();
		int n, ms;

		if (t >= t_end)
			break;
		/* Connections that failed before their handshake was through are made again here. */
		for (i = 0; i < w->nconns; i++)
			if (w->conns[i].fd < 0 && t >= w->conns[i].retry_at)
				conn_open(w, &w->conns[i]);
		ms = (int)((t_end - t) * 1000) + 1;
		if (ms > 10)
			ms = 10;
		n = epoll_wait(w->ep, ev, (int)(sizeof ev / sizeof ev[0]), ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("https_load: epoll_wait");
			exit(1);
		}
		for (i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;

			if (c->fd >= 0)
				drive(w, c);
		}
	}
	for (i = 0; i < w->nconns; i++) {
		conn_close(w, &w->conns[i]);
		free(w->conns[i].buf);
	}
	free(w->conns);
	close(w->ep);
	SSL_CTX_free(w->ctx);
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double
pct(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i] / 1000.0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'h'},
	    {"port", required_argument, NULL, 'p'},
	    {"path", required_argument, NULL, 'u'},
	    {"ca", required_argument, NULL, 'a'},
	    {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},
	    {"connections", required_argument, NULL, 'n'},
	    {"threads", required_argument, NULL, 't'},
	    {"duration", required_argument, NULL, 'd'},
	    {"post", required_argument, NULL, 'b'},
	    {NULL, 0, NULL, 0},
	};
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	struct in6_addr a6;
	struct worker *w;
	char port[16];
	uint32_t *lat;
	size_t nlat = 0, body_bytes = 0;
	long ok = 0, non2xx = 0, errors = 0, reconnects = 0;
	const char *cipher = "";
	double secs;
	int o, i, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'h': o_host = optarg; break;
		case 'p': o_port = atoi(optarg); break;
		case 'u': o_path = optarg; break;
		case 'a': o_ca = optarg; break;
		case 'c': o_cert = optarg; break;
		case 'k': o_key = optarg; break;
		case 'n': o_conns = atoi(optarg); break;
		case 't': o_threads = atoi(optarg); break;
		case 'd': o_duration = atof(optarg); break;
		case 'b': o_post = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || o_port <= 0 || o_port > 65535 || o_ca == NULL || o_conns < 1 ||
	    o_threads < 1 || o_duration <= 0 || (o_cert == NULL) != (o_key == NULL))
		usage();
	if (o_threads > o_conns)
		o_threads = o_conns;
	signal(SIGPIPE, SIG_IGN);
	host_is_ip = inet_pton(AF_INET, o_host, &a6) == 1 || inet_pton(AF_INET6, o_host, &a6) == 1;
	snprintf(port, sizeof port, "%d", o_port);
	if ((r = getaddrinfo(o_host, port, &hints, &ai)) != 0) {
		fprintf(stderr, "https_load: %s: %s\n", o_host, gai_strerror(r));
		return 1;
	}
	memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
	addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (o_post != NULL)
		r = snprintf(request, sizeof request,
		    "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n%s",
		    o_path, o_host, o_port, strlen(o_post), o_post);
	else
		r = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", o_path,
		    o_host, o_port);
	if (r < 0 || (size_t)r >= sizeof request) {
		fprintf(stderr, "https_load: the path or the body is too long\n");
		return 2;
	}
	request_len = (size_t)r;

	/* Each thread's SSL_CTX is made in the thread; load one here first so a bad file fails early. */
	SSL_CTX_free(ctx_new());
	if ((w = calloc((size_t)o_threads, sizeof *w)) == NULL)
		return 1;
	t_start = now();
	t_end = t_start + o_duration;
	for (i = 0; i < o_threads; i++) {
		w[i].nconns = o_conns / o_threads + (i < o_conns % o_threads);
		if (pthread_create(&w[i].tid, NULL, worker_run, &w[i]) != 0) {
			perror("https_load: pthread_create");
			return 1;
		}
	}
	for (i = 0; i < o_threads; i++) {
		pthread_join(w[i].tid, NULL);
		nlat += w[i].nlat;
	}
	secs = now() - t_start;
	if (secs > o_duration)
		secs = o_duration; /* answers after the deadline are not counted */
	if ((lat = malloc((nlat ? nlat : 1) * sizeof *lat)) == NULL)
		return 1;
	nlat = 0;
	for (i = 0; i < o_threads; i++) {
		if (w[i].nlat)
			memcpy(lat + nlat, w[i].lat, w[i].nlat * sizeof *lat);
		nlat += w[i].nlat;
		ok += w[i].ok;
		non2xx += w[i].non2xx;
		errors += w[i].errors;
		reconnects += w[i].reconnects;
		if (w[i].ok)
			body_bytes = w[i].body_bytes;
		if (cipher[0] == '\0')
			cipher = w[i].cipher;
	}
	qsort(lat, nlat, sizeof *lat, cmp_u32);
	printf("{\"requests\": %ld, \"seconds\": %.3f, \"per_second\": %.1f, \"p50_ms\": %.3f, "
	       "\"p99_ms\": %.3f, \"non2xx\": %ld, \"errors\": %ld, \"reconnects\": %ld, "
	       "\"connections\": %d, \"threads\": %d, \"body_bytes\": %zu, \"cipher\": \"%s\"}\n",
	    ok, secs, (double)ok / secs, pct(lat, nlat, 0.50), pct(lat, nlat, 0.99), non2xx, errors,
	    reconnects, o_conns, o_threads, body_bytes, cipher);
	for (i = 0; i < o_threads; i++)
		free(w[i].lat);
	free(w);
	free(lat);
	return ok > 0 ? 0 : 1;
}
