/*
 * broker/cli.c -- what every `sluice` subcommand shares.
 */
#include <getopt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "broker/cli.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "common/err.h"
#include "common/file.h"
#include "keys/sign.h"

/* A PEM private key is a few hundred bytes. */
#define KEY_FILE_MAX 16384
#include "common/log.h"

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sluice %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'sluice %s --help'.\n", cmd);
	return CLI_USAGE;
}

int
cli_bad_option(const char *cmd, char **argv)
{
	const char *opt = optind > 0 ? argv[optind - 1] : "?";

	if (optopt != 0 && optopt != '?' && strncmp(opt, "--", 2) != 0)
		return cli_usage_error(cmd, "unknown option '-%c' (or it needs a value)", optopt);
	return cli_usage_error(cmd, "unknown option '%s' (or it needs a value)", opt);
}

int
cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
	int r;

	if ((r = sl_file_read(path, max, data, len)) == 0)
		return 0;
	if (r == SL_ERR_NOTFOUND)
		return sl_errf(r, "%s: no such file", path);
	if (r == SL_ERR_LIMIT)
		return sl_errf(r, "%s: larger than %zu bytes", path, max);
	return sl_errf(r, "%s: %s", path, strerror(errno));
}

int
cli_load_identity(const char *path, struct keys_identity **id)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	int r;

	/* A private key, like master.key: a file only its owner can read, and no link. */
	if ((r = sl_file_read_private(path, KEY_FILE_MAX, &pem, &len)) != 0) {
		if (r == SL_ERR_POLICY)
			return r;
		if (r == SL_ERR_NOTFOUND)
			return sl_errf(r, "%s: no such file", path);
		if (r == SL_ERR_LIMIT)
			return sl_errf(r, "%s: larger than %d bytes", path, KEY_FILE_MAX);
		return sl_errf(r, "%s: %s", path, strerror(errno));
	}
	r = keys_identity_from_pem(pem, len, id);
	sl_file_free_secret(pem, len);
	if (r != 0)
		return sl_errf(r, "%s: not a private key written by `sluice party add`", path);
	return 0;
}

int
cli_actor(
    struct exchange *ex, const char *path, const char *want, const char *what, const char **actor)
{
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	struct party who;
	int r;

	memset(&who, 0, sizeof who);
	if (path == NULL) {
		*actor = EXCHANGE_PLATFORM_NAME;
		return 0;
	}
	if ((r = cli_load_identity(path, &id)) != 0 || (r = keys_identity_pubkey(id, &pk)) != 0)
		goto out;
	if ((r = party_find_key(exchange_db(ex), pk, &who)) != 0) {
		if (r == SL_ERR_NOTFOUND)
			r = sl_errf(SL_ERR_POLICY,
			    "%s: not the key of any party of this exchange, so not of %s (%s)",
			    path, want, what);
		goto out;
	}
	if (strcmp(who.name, want) != 0) {
		r = sl_errf(SL_ERR_POLICY, "%s: the key of party %s, not of %s (%s)", path,
		    who.name, want, what);
		goto out;
	}
	*actor = want;
	r = 0;
out:
	party_clear(&who);
	keys_pubkey_free(pk);
	keys_identity_free(id);
	return r;
}

int
cli_fail(int r)
{
	sl_errorx("%s", sl_err_msg(r));
	return CLI_FAILED;
}

int
cli_open(const struct cli *cli, const char *cmd, struct exchange **ex)
{
	int r;

	if (cli->dir == NULL)
		return cli_usage_error(cmd, "no data directory: give -d DIR before the command, "
		                            "or set SLUICE_DIR");
	sl_err_clear();
	if ((r = exchange_open(cli->dir, cli->passphrase_file, ex)) != 0)
		return cli_fail(r);
	return CLI_OK;
}

int
cli_print_json(json_t *doc)
{
	int r;

	if (doc == NULL)
		return cli_fail(SL_ERR_NOMEM);
	r = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (r != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return cli_fail(sl_errf(SL_ERR_IO, "cannot write to standard output"));
	return CLI_OK;
}

void
cli_group_usage(FILE *f, const char *group, const struct cli_command *table)
{
	const struct cli_command *c;

	fprintf(f, "Usage:\n");
	for (c = table; c->name != NULL; c++)
		fprintf(f, "  sluice %s %s %s\n", group, c->name, c->synopsis);
	fprintf(f, "\n");
	for (c = table; c->name != NULL; c++)
		fprintf(f, "  %-16s %s\n", c->name, c->summary);
}

int
cli_dispatch(const struct cli *cli, const char *group, const struct cli_command *table, int argc,
    char **argv)
{
	const struct cli_command *c;

	if (argc < 2) {
		cli_group_usage(stderr, group, table);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cli_group_usage(stdout, group, table);
		return CLI_OK;
	}
	for (c = table; c->name != NULL; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(cli, argc - 1, argv + 1);
	return cli_usage_error(group, "unknown subcommand '%s'", argv[1]);
}

int
cli_parse_count(const char *s, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}
