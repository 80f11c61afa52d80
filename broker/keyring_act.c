/*
 * broker/keyring_act.c -- the key actions (broker/keyring.h): the master key
 * of an open exchange, checked and rotated.
 */
#include "broker/exchange.h"
#include "broker/keyring.h"

int
keyring_act_status(struct exchange *ex, struct keyring_status *st)
{
	struct keys_master *mk;
	int r;

	if ((r = exchange_master(ex, &mk)) != 0)
		return r;
	return keyring_status(exchange_db(ex), mk, st);
}

int
keyring_act_rotate_master(
    struct exchange *ex, const char *new_passphrase_file, struct keyring_status *st)
{
	int r;

	if ((r = exchange_rotate_master(ex, new_passphrase_file)) != 0)
		return r;
	return keyring_act_status(ex, st);
}
