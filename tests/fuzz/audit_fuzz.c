/*
 * tests/fuzz/audit_fuzz.c -- libFuzzer harness for the offline audit
 * verifier (broker/audit_file.c: audit_verify_file(), and the checkpoint
 * check of broker/audit.c, audit_checkpoint_verify()), which `sluice audit
 * verify` runs on an export file and a --since checkpoint file that anyone
 * may have handed the auditor.
 *
 * The first byte holds flags: 1, the rest's first line is the --since
 * checkpoint (read as `audit verify` reads that file; not JSON: no run) and
 * the remainder the export; 2, pass the header's own platform_key as --key;
 * 4, pass a key of no exchange as --key instead.  The export is written to a
 * memfd once per input, since the verifier reads a path.
 *
 * A failed verification must be SL_ERR_AUTH with a reason; any other error a
 * code with a recorded message (SL_ERR_NOMEM aside).  A verified export must
 * report a sane range (from <= until <= tree_size), a hex root and a time;
 * it must verify again, the same, with the header's key passed as --key, and
 * must fail (SL_ERR_AUTH) cut one byte short.  With --since, a verified export
 * must report the checkpoint's size, and that checkpoint must verify on its
 * own with the same size.  The --since checkpoint is also given straight to
 * audit_checkpoint_verify(): a refusal is SL_ERR_PARSE or SL_ERR_AUTH with a
 * message, and an accepted checkpoint must be accepted again, with the same
 * size, root and suite, from its RFC 8785 canonical form.  Every line of the
 * input must be judged canonical by jcs_is_canonical(), the verifier's fast
 * check, exactly when jcs_canonicalize_text() gives it back unchanged.
 *
 *   make fuzz && ./tests/fuzz/audit_fuzz -max_total_time=60 CORPUS tests/fuzz/corpus/audit
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "broker/audit.h"
#include "broker/audit_file.h"
#include "broker/party.h"
#include "common/err.h"
#include "common/jcs.h"
#include "tests/fuzz/check.h"
#include "tests/fuzz/keys_init.h"
#include "keys/sign.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_SINCE 1
#define F_HEADER_KEY 2
#define F_OTHER_KEY 4

static int fd = -1;
static char path[64];
static struct keys_pubkey *other_key;

/*
 * The verifier never reaches the catalog, but broker/audit.c's checkpoint
 * log (broker/audit_cplog.c) looks up the platform party there, and
 * broker/party.c would bring in the whole broker: these stand in for it.
 */
int
party_find(struct db *db, const char *name, struct party *out)
{
	(void)db;
	(void)name;
	(void)out;
	abort();
}

void
party_clear(struct party *p)
{
	(void)p;
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct keys_identity *id;

	(void)argc;
	(void)argv;
	fuzz_keys_init();
	CHECK(keys_identity_generate(KEYS_SUITE_INTL, &id) == 0);
	CHECK(keys_identity_pubkey(id, &other_key) == 0);
	keys_identity_free(id);
	CHECK((fd = memfd_create("audit_fuzz", MFD_CLOEXEC)) >= 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return 0;
}

/* Make the memfd hold exactly the n bytes at p. */
static void
put(const uint8_t *p, size_t n)
{
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(n == 0 || pwrite(fd, p, n, 0) == (ssize_t)n);
}

/* The platform key the export's header names, or NULL. */
static struct keys_pubkey *
header_key(const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p, '\n', n);
	struct keys_pubkey *pk = NULL;
	json_t *h, *k;

	if (nl == NULL || (h = json_loadb((const char *)p, (size_t)(nl - p),
	                       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL)) == NULL)
		return NULL;
	k = json_object_get(h, "platform_key");
	if (!json_is_string(k) ||
	    keys_pubkey_from_pem(json_string_value(k), json_string_length(k), &pk) != 0)
		pk = NULL;
	json_decref(h);
	return pk;
}

static int
is_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

static void
checkpoint(const json_t *cp, const struct keys_pubkey *pk)
{
	uint8_t root[KEYS_HASH_BYTES], root2[KEYS_HASH_BYTES];
	enum keys_suite suite, suite2;
	uint64_t size, size2;
	char *text = NULL;
	size_t len = 0;
	json_t *j;
	int r;

	sl_err_clear();
	if ((r = audit_checkpoint_verify(cp, pk, &size, root, &suite)) != 0) {
		CHECK(r == SL_ERR_PARSE || r == SL_ERR_AUTH || r == SL_ERR_NOMEM);
		CHECK(r == SL_ERR_NOMEM || sl_err_msg(r) != sl_strerror(r));
		return;
	}
	CHECK(suite == keys_pubkey_suite(pk));
	CHECK(size == (uint64_t)json_integer_value(
	                  json_object_get(json_object_get(cp, "checkpoint"), "tree_size")));
	CHECK(jcs_serialize(cp, &text, &len) == 0);
	CHECK((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) != NULL);
	CHECK(audit_checkpoint_verify(j, pk, &size2, root2, &suite2) == 0);
	CHECK(size2 == size && suite2 == suite && memcmp(root, root2, sizeof root) == 0);
	json_decref(j);
	free(text);
}

static void
verified(const struct audit_verify_result *res, const struct keys_pubkey *key, const json_t *since)
{
	CHECK(res->bad_seq == 0 && res->reason[0] == '\0');
	CHECK(res->suite == KEYS_SUITE_INTL || res->suite == KEYS_SUITE_GM);
	CHECK(res->until <= res->tree_size);
	CHECK(res->from == 0 ? res->until == 0 : res->from <= res->until);
	CHECK(is_hex(res->root, 64) && res->checkpoint_time[0] != '\0');
	CHECK(res->key_from_header == (key == NULL));
	CHECK(res->proof_size <= res->tree_size);
	if (since != NULL)
		CHECK(res->since_size != 0 && res->since_size == res->proof_size);
	else
		CHECK(res->since_size == 0);
}

static void
verify(const uint8_t *p, size_t n, const struct keys_pubkey *key, const json_t *since,
    const struct keys_pubkey *hk)
{
	struct audit_verify_result res, again;
	uint8_t root[KEYS_HASH_BYTES];
	enum keys_suite suite;
	uint64_t size;
	int r;

	put(p, n);
	sl_err_clear();
	r = audit_verify_file(path, key, since, &res);
	if (r == SL_ERR_AUTH) {
		CHECK(res.reason[0] != '\0');
		return;
	}
	if (r != 0) {
		CHECK(r != SL_ERR_INTERNAL);
		CHECK(r == SL_ERR_NOMEM || sl_err_msg(r) != sl_strerror(r));
		return;
	}
	verified(&res, key, since);
	/* The key the header names verified it: passed as --key, it verifies the same. */
	CHECK(hk != NULL);
	CHECK(audit_verify_file(path, hk, since, &again) == 0);
	CHECK(again.from == res.from && again.until == res.until);
	CHECK(again.tree_size == res.tree_size && strcmp(again.root, res.root) == 0);
	CHECK(again.since_size == res.since_size && !again.key_from_header);
	if (since != NULL) {
		CHECK(audit_checkpoint_verify(since, hk, &size, root, &suite) == 0);
		CHECK(size == res.since_size);
	}
	/* Every line ends in a newline: a file cut short fails. */
	put(p, n - 1);
	CHECK(audit_verify_file(path, key, since, &again) == SL_ERR_AUTH);
}

/* jcs_is_canonical() of each line agrees with canonicalising it again. */
static void
lines_agree(const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n, *nl;
	char *out;
	size_t len, outlen;
	int back;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		out = NULL;
		back = jcs_canonicalize_text((const char *)p, len, &out, &outlen) == 0 &&
		       outlen == len && memcmp(out, p, len) == 0;
		free(out);
		CHECK(jcs_is_canonical((const char *)p, len, NULL, 0) == back);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct keys_pubkey *key = NULL;
	struct keys_pubkey *hk;
	const uint8_t *p, *nl;
	json_t *since = NULL;
	size_t n;

	if (size < 1)
		return 0;
	p = data + 1;
	n = size - 1;
	lines_agree(p, n);
	if (data[0] & F_SINCE) {
		if ((nl = memchr(p, '\n', n)) == NULL)
			return 0;
		since = json_loadb((const char *)p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, NULL);
		if (since == NULL)
			return 0;
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	hk = header_key(p, n);
	if (since != NULL)
		checkpoint(since, hk != NULL ? hk : other_key);
	if (data[0] & F_OTHER_KEY)
		key = other_key;
	else if (data[0] & F_HEADER_KEY)
		key = hk;
	if (key != NULL || !(data[0] & (F_HEADER_KEY | F_OTHER_KEY)))
		verify(p, n, key, since, hk);
	keys_pubkey_free(hk);
	json_decref(since);
	return 0;
}
