/*
 * broker/enrol.h -- enrolling a party (README.md, "Concepts").
 *
 * Above party.h, which only keeps the table: enrolment also needs the
 * exchange's CA, suite and audit log.
 */
#ifndef SLUICE_BROKER_ENROL_H
#define SLUICE_BROKER_ENROL_H

struct exchange;
struct party;

/*
 * Create a party with a new identity: insert it and write out_key (the private
 * key, 0600), and beside it .pub and .crt (the key path's ".key" suffix, if
 * any, is replaced).  The three files and the row appear together or not at
 * all; existing files are never overwritten.  On success, when info is not
 * NULL, it receives the new party (caller frees with party_clear()).
 */
int enrol_party(struct exchange *ex, const char *name, const char *role, const char *out_key,
    struct party *info) __attribute__((warn_unused_result));

#endif
