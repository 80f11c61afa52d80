/*
 * broker/cmd_serve.c -- `sluice serve`: the HTTPS JSON API (broker/serve.h).
 */
#include <stdio.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/routes.h"
#include "broker/console.h"
#include "broker/serve.h"
#include "broker/upload.h"
#include "common/err.h"

/* The route table, one route a line: METHOD PATH ROLE,ROLE,... (docs/openapi.yaml must agree). */
static int
print_routes(void)
{
	static const char *const names[] = {
	    "platform", "holder", "operator", "merchant", "buyer", "auditor"};
	const struct route *rt;
	size_t i;

	for (rt = routes; rt->method != NULL; rt++) {
		const char *sep = "";

		printf("%s %s ", rt->method, rt->path);
		for (i = 0; i < sizeof names / sizeof names[0]; i++)
			if (rt->roles & route_role_bit(names[i])) {
				printf("%s%s", sep, names[i]);
				sep = ",";
			}
		printf("%s\n", rt->roles & ROUTE_PUBLIC ? "public" : "");
	}
	return fflush(stdout) == 0 ? CLI_OK : cli_fail(sl_errf(SL_ERR_IO, "cannot write"));
}

static int
serve_cmd_run(const struct cli *cli, const struct cli_args *a)
{
	struct serve_config cfg = {
	    .dir = cli->dir,
	    .passphrase_file = cli->passphrase_file,
	    .listen = cli_opt(a, "listen") != NULL ? cli_opt(a, "listen") : SERVE_LISTEN_DEFAULT,
	    .workers = (unsigned)cli_count(a, "workers", 2),
	    .max_jobs = (unsigned)cli_count(a, "max-jobs", 2),
	    .max_conns = (unsigned)cli_count(a, "max-connections", 4096),
	    .request_s = (unsigned)cli_count(a, "request-timeout", 10),
	    .grace_s = (unsigned)cli_count(a, "grace", 30),
	    .upload_idle_s = (unsigned)cli_count(a, "upload-idle", UPLOAD_IDLE_S),
	    .web_dir = cli_opt(a, "web"),
	    .console_tokens = cli_opt(a, "console-token"),
	    .login_ttl_s = (unsigned)cli_count(a, "login-ttl", CONSOLE_TOKEN_S),
	    .log_path = cli_opt(a, "log"),
	    .ready_path = cli_opt(a, "ready-file"),
	};
	int r;

	if (cli_flag(a, "routes"))
		return print_routes();
	if (cli->dir == NULL)
		return cli_usage_error(cli_path(a), "no data directory: give -d DIR before the "
		                                    "command, or set SLUICE_DIR");
	sl_err_clear();
	if ((r = serve_run(&cfg)) != 0)
		return cli_fail(r);
	return CLI_OK;
}

const struct cli_spec cmd_serve[] = {
    {
        .path = "serve",
        .summary = "the exchange as an HTTPS JSON API",
        .help = "Serve the exchange over HTTPS (TLS 1.3 only) with the platform's server\n"
                "certificate from DIR/tls/.  Every client authenticates with the client\n"
                "certificate `party add` wrote (FILE.crt and FILE.key); its party and role\n"
                "decide what each route allows (docs/openapi.yaml).  Queries run on\n"
                "--max-jobs job threads, each on a worker started ahead; beyond that a\n"
                "query is answered 429 with Retry-After.  One JSON line per request goes to\n"
                "the log.  SIGTERM stops accepting and lets running jobs finish within the\n"
                "grace period; SIGHUP reopens the log.",
        .opts =
            {
                {"listen", 0, CLI_STRING, "ADDR:PORT",
                    "where to listen (default " SERVE_LISTEN_DEFAULT "; port 0: any free one)"},
                {"workers", 0, CLI_COUNT, "N", "workers kept started ahead (default 2)", 0, 0, 64,
                    "0 to 64"},
                {"max-jobs", 0, CLI_COUNT, "N", "queries running at once (default 2)", 0, 1, 64,
                    "1 to 64"},
                {"max-connections", 0, CLI_COUNT, "N", "client connections at once (default 4096)",
                    0, 1, 65536, "1 to 65536"},
                {"request-timeout", 0, CLI_COUNT, "S",
                    "seconds a request may take to arrive (default 10)", 0, 1, 3600, "1 to 3600"},
                {"grace", 0, CLI_COUNT, "S", "seconds running jobs get at SIGTERM (default 30)", 0,
                    0, 3600, "0 to 3600"},
                {"upload-idle", 0, CLI_COUNT, "S",
                    "seconds an upload may wait for its next part (default 600)", 0, 1, 86400,
                    "1 to 86400"},
                {"web", 0, CLI_STRING, "DIR",
                    "the console's files (default: web/ beside the program, else the installed ones)"},
                {"console-token", 0, CLI_STRING, "NAME,...",
                    "print a one-time console login link for each party"},
                {"login-ttl", 0, CLI_COUNT, "S",
                    "seconds a login link is good for (default 600)", 0, 1, 86400, "1 to 86400"},
                {"log", 0, CLI_STRING, "FILE", "the request log (default: standard error)"},
                {"ready-file", 0, CLI_STRING, "FILE",
                    "write the listening port to FILE once ready"},
                {"routes", 0, CLI_FLAG, NULL,
                    "print the routes and the roles each allows, and exit"},
            },
        .run = serve_cmd_run,
    },
    {.path = NULL},
};
