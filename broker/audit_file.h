/*
 * broker/audit_file.h -- the audit export file: writer and offline verifier.
 *
 * Both sides of the format live in broker/audit_file.c, reading and writing
 * the same lines in the same order; docs/audit-format.md specifies it for
 * independent verifiers.  The verifier needs no data directory and holds
 * O(log n) state however long the file is.
 */
#ifndef SLUICE_BROKER_AUDIT_FILE_H
#define SLUICE_BROKER_AUDIT_FILE_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "keys/suite.h"

struct db;
struct keys_pubkey;

#define AUDIT_EXPORT_TYPE "sluice.audit.export"
/* Longest line the verifier reads (an event with large details). */
#define AUDIT_LINE_MAX (16u << 20)

struct audit_export {
	int csv;                  /* CSV for spreadsheets instead of JSON Lines */
	uint64_t from, until;     /* event range, 1-based inclusive; 0 = whole log */
	const json_t *checkpoint; /* signed checkpoint of the exported tree (borrowed) */
	const json_t *since;      /* earlier checkpoint to prove consistency from, or NULL */
	const char *platform_pem; /* platform public key PEM, for the header */
	int progress;             /* report progress on stderr */
};

/*
 * Write the export of the tree that ex->checkpoint signs to out.  The
 * checkpoint must be the current tree head.  Returns 0 or an error with a
 * message; on error out holds a partial file the caller discards.
 */
int audit_export_write(struct db *db, enum keys_suite suite, const struct audit_export *ex,
    FILE *out) __attribute__((warn_unused_result));

struct audit_verify_result {
	enum keys_suite suite;
	uint64_t from, until; /* event range found */
	uint64_t tree_size;
	char root[65];
	char checkpoint_time[32];
	int key_from_header; /* 1 when no --key was given */
	uint64_t proof_size; /* the consistency line's from_size; 0 when there is none */
	uint64_t since_size; /* 0 unless the proof was checked against --since */
	/* On failure: the first bad event (0 when the failure is not an event's) and why. */
	uint64_t bad_seq;
	char reason[512];
};

/*
 * Verify the export at path.  key is the trusted platform key, or NULL to use
 * the one in the file's header (res->key_from_header says so).  since, if
 * not NULL, is an earlier checkpoint the file must prove it extends.
 * Returns 0 when everything holds, SL_ERR_AUTH when the file fails (res says
 * where and why), other errors for unreadable input (message recorded).
 */
int audit_verify_file(const char *path, const struct keys_pubkey *key, const json_t *since,
    struct audit_verify_result *res) __attribute__((warn_unused_result));

#endif
