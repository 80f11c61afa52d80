/*
 * broker/commands.h -- the entry points of `sluice` subcommands.
 *
 * Each takes the global options and its own argv (argv[0] is its name) and
 * returns an exit code (broker/cli.h).
 */
#ifndef SLUICE_BROKER_COMMANDS_H
#define SLUICE_BROKER_COMMANDS_H

struct cli;

int cmd_init(const struct cli *cli, int argc, char **argv);
int cmd_party(const struct cli *cli, int argc, char **argv);
int cmd_audit(const struct cli *cli, int argc, char **argv);
int cmd_product(const struct cli *cli, int argc, char **argv);
int cmd_contract(const struct cli *cli, int argc, char **argv);
int cmd_query(const struct cli *cli, int argc, char **argv);
int cmd_keys(const struct cli *cli, int argc, char **argv);
int cmd_ledger(const struct cli *cli, int argc, char **argv);

#endif
