/*
 * broker/audit_cplog.c -- checkpoints.log: every signed checkpoint, copied
 * out of the database once committed, and checked against it.
 *
 * Trusts: nothing in the file or the checkpoint rows until it has compared
 * them and verified signatures with the platform key.  Holds: nothing secret.
 *
 * Every sync takes flock(LOCK_EX) on the log, reads the log, then the rows
 * (in that order: a line is only written once its row has committed, so a
 * row read after the log is never missing for an honest line), and appends
 * the rows the log lacks.  Brokers sharing a data directory therefore never
 * interleave or duplicate lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/audit.h"
#include "broker/audit_cplog.h"
#include "broker/db.h"
#include "broker/party.h"
#include "common/err.h"
#include "common/file.h"
#include "keys/sign.h"

#define CPLOG_MAX_BYTES (1u << 30)
#define CPLOG_PLATFORM "platform" /* EXCHANGE_PLATFORM_NAME */

struct audit_cplog {
	struct db *db;
	enum keys_suite suite;
	char *path;
	struct keys_pubkey *pk; /* the platform's, from the catalog */
	uint64_t logged;        /* the tree size of the last line this process saw */
	int readonly;
};

enum sync_mode {
	SYNC_OPEN,   /* check the last line against the leaves; verify and append rows */
	SYNC_COMMIT, /* verify and append the rows the log lacks */
	SYNC_CHECK,  /* only check that the log is a prefix of the rows */
};

struct row {
	uint64_t size;
	char *doc;
	size_t len;
};

static void
rows_free(struct row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].doc);
	free(rows);
}

/* The stored checkpoints in ascending size; caller frees with rows_free(). */
static int
rows_load(struct db *db, struct row **out, size_t *n)
{
	struct row *rows = NULL, *nr;
	sqlite3_stmt *st = NULL;
	size_t count = 0, cap = 0, bytes;
	int r, rc;

	if ((r = db_prepare(db,
	         "SELECT tree_size, document FROM audit_checkpoints ORDER BY tree_size", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap == 0 ? 16 : 2 * cap;
			if (__builtin_mul_overflow(cap, sizeof(*rows), &bytes) ||
			    (nr = realloc(rows, bytes)) == NULL) {
				r = SL_ERR_NOMEM;
				goto out;
			}
			rows = nr;
		}
		rows[count].size = (uint64_t)sqlite3_column_int64(st, 0);
		rows[count].len = (size_t)sqlite3_column_bytes(st, 1);
		if ((rows[count].doc = malloc(rows[count].len + 1)) == NULL) {
			r = SL_ERR_NOMEM;
			goto out;
		}
		memcpy(rows[count].doc, sqlite3_column_blob(st, 1), rows[count].len);
		rows[count].doc[rows[count].len] = '\0';
		count++;
	}
	if (rc != SQLITE_DONE) {
		r = db_fail(db, "read checkpoints");
		goto out;
	}
	*out = rows;
	*n = count;
	rows = NULL;
	count = 0;
	r = 0;
out:
	sqlite3_finalize(st);
	rows_free(rows, count);
	return r;
}

/* The whole file behind fd; caller frees *out. */
static int
fd_read_all(const char *path, int fd, char **out, size_t *len)
{
	struct stat sb;
	char *buf;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &sb) == -1)
		return sl_errf(SL_ERR_IO, "%s: %s", path, strerror(errno));
	if (sb.st_size < 0 || (uint64_t)sb.st_size > CPLOG_MAX_BYTES)
		return sl_errf(SL_ERR_LIMIT, "%s: larger than %u bytes", path, CPLOG_MAX_BYTES);
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL)
		return SL_ERR_NOMEM;
	while (got < (size_t)sb.st_size) {
		n = pread(fd, buf + got, (size_t)sb.st_size - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return sl_errf(SL_ERR_IO, "%s: %s", path,
			    n == 0 ? "shorter than its size" : strerror(errno));
		}
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	return 0;
}

/* The tree size a checkpoint line names; 0 with *ok = 0 when it is not one. */
static uint64_t
line_size(const char *line, size_t len, int *ok)
{
	json_t *doc = json_loadb(line, len, 0, NULL);
	json_t *ts = json_object_get(json_object_get(doc, "checkpoint"), "tree_size");
	uint64_t size = 0;

	*ok = json_is_integer(ts) && json_integer_value(ts) >= 0;
	if (*ok)
		size = (uint64_t)json_integer_value(ts);
	json_decref(doc);
	return size;
}

/* Line lineno (1-based) is not rows[i]: say how the log and the database differ. */
static int
mismatch(const struct audit_cplog *log, size_t lineno, const char *line, size_t len,
    const struct row *rows, size_t nrows, size_t i)
{
	uint64_t size;
	size_t j;
	int ok;

	size = line_size(line, len, &ok);
	if (!ok)
		return sl_errf(SL_ERR_AUTH, "%s: line %zu is not a checkpoint: the log was damaged",
		    log->path, lineno);
	for (j = 0; j < nrows && rows[j].size != size; j++)
		;
	if (j == nrows)
		return sl_errf(SL_ERR_AUTH,
		    "%s has checkpoint %llu that the database lacks: the audit log was rewritten",
		    log->path, (unsigned long long)size);
	if (rows[j].len != len || memcmp(rows[j].doc, line, len) != 0)
		return sl_errf(SL_ERR_AUTH,
		    "%s: checkpoint %llu (line %zu) differs from the database's: the audit log "
		    "was rewritten",
		    log->path, (unsigned long long)size, lineno);
	return sl_errf(SL_ERR_AUTH,
	    "%s: the database has checkpoint %llu, which the log does not have before "
	    "checkpoint %llu: a checkpoint was inserted into the database",
	    log->path, (unsigned long long)rows[i].size, (unsigned long long)size);
}

/* A checkpoint document verifies with the platform key, for this suite and its size. */
static int
doc_verify(const struct audit_cplog *log, const struct row *row, struct audit_signed *head)
{
	enum keys_suite suite;
	json_t *doc;
	int r;

	if ((doc = json_loadb(row->doc, row->len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return sl_errf(SL_ERR_AUTH, "%s: checkpoint %llu is not JSON", log->path,
		    (unsigned long long)row->size);
	sl_err_clear();
	r = audit_checkpoint_verify(doc, log->pk, &head->size, head->root, &suite);
	json_decref(doc);
	if (r != 0)
		return sl_errf(SL_ERR_AUTH,
		    "%s: checkpoint %llu does not verify with the platform key: %s", log->path,
		    (unsigned long long)row->size, sl_err_msg(r));
	if (suite != log->suite || head->size != row->size)
		return sl_errf(SL_ERR_AUTH,
		    "%s: checkpoint %llu is stored under another size or suite than it signs",
		    log->path, (unsigned long long)row->size);
	return 0;
}

/* Write all of buf at the end of the log. */
static int
append(const struct audit_cplog *log, int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return sl_errf(SL_ERR_IO, "%s: %s", log->path, strerror(errno));
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
log_sync(struct audit_cplog *log, enum sync_mode mode)
{
	struct audit_signed *heads = NULL;
	struct row *rows = NULL;
	char *buf = NULL, *p, *end, *nl, *torn = NULL;
	size_t len = 0, nrows = 0, nlines = 0, nheads = 0, i;
	int fd, r;

	if ((fd = open(log->path, (log->readonly ? O_RDONLY : O_RDWR | O_APPEND) | O_CLOEXEC)) ==
	    -1)
		return sl_errf(SL_ERR_IO, "%s: %s", log->path, strerror(errno));
	if (flock(fd, log->readonly || mode == SYNC_CHECK ? LOCK_SH : LOCK_EX) == -1) {
		r = sl_errf(SL_ERR_IO, "%s: lock: %s", log->path, strerror(errno));
		goto out;
	}
	if ((r = fd_read_all(log->path, fd, &buf, &len)) != 0 ||
	    (r = rows_load(log->db, &rows, &nrows)) != 0)
		goto out;
	for (p = buf, end = buf + len; p < end; p = nl + 1, nlines++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			/* A crash cut the last append short: its row is still there. */
			torn = p;
			break;
		}
		if (nlines >= nrows || rows[nlines].len != (size_t)(nl - p) ||
		    memcmp(rows[nlines].doc, p, rows[nlines].len) != 0) {
			r = mismatch(log, nlines + 1, p, (size_t)(nl - p), rows, nrows, nlines);
			goto out;
		}
	}
	if (mode == SYNC_CHECK) {
		r = 0;
		goto out;
	}
	if ((heads = calloc(nrows + 1, sizeof(*heads))) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	/* At open, the newest line must still be the root of the stored tree. */
	if (mode == SYNC_OPEN && nlines > 0 &&
	    (r = doc_verify(log, &rows[nlines - 1], &heads[nheads++])) != 0)
		goto out;
	for (i = nlines; i < nrows; i++)
		if ((r = doc_verify(log, &rows[i], &heads[nheads++])) != 0)
			goto out;
	/*
	 * The newest line alone is proven by the frontier stored with it; rows
	 * beyond the log (a crash, or a log made now) by the stored leaves.
	 */
	if (mode == SYNC_OPEN &&
	    (r = nheads == 1 && nlines == nrows
	             ? audit_signed_check(log->db, log->suite, &heads[0])
	             : audit_tree_check(log->db, log->suite, heads, nheads, 0)) != 0) {
		r = sl_errf(r, "%s: %s", log->path, sl_err_msg(r));
		goto out;
	}
	if (nlines < nrows && !log->readonly) {
		if (torn != NULL && ftruncate(fd, (off_t)(torn - buf)) == -1) {
			r = sl_errf(SL_ERR_IO, "%s: %s", log->path, strerror(errno));
			goto out;
		}
		for (i = nlines; i < nrows; i++)
			if ((r = append(log, fd, rows[i].doc, rows[i].len)) != 0 ||
			    (r = append(log, fd, "\n", 1)) != 0)
				goto out;
		if (fsync(fd) == -1) {
			r = sl_errf(SL_ERR_IO, "%s: %s", log->path, strerror(errno));
			goto out;
		}
	}
	log->logged = nrows > 0 ? rows[nrows - 1].size : 0;
	r = 0;
out:
	close(fd); /* releases the lock */
	free(heads);
	free(buf);
	rows_free(rows, nrows);
	return r;
}

/* The platform's public key as the catalog has it. */
static int
platform_key(struct db *db, struct keys_pubkey **pk)
{
	struct party p;
	int r;

	if ((r = party_find(db, CPLOG_PLATFORM, &p)) != 0)
		return r;
	if ((r = keys_pubkey_from_der(p.public_key, p.public_key_len, pk)) != 0)
		r = sl_errf(r, "catalog: the platform's public key does not parse");
	party_clear(&p);
	return r;
}

int
audit_cplog_open(struct db *db, enum keys_suite suite, const char *dir, struct audit_cplog **out)
{
	struct audit_cplog *log;
	int fd, r;

	if ((log = calloc(1, sizeof(*log))) == NULL)
		return SL_ERR_NOMEM;
	log->db = db;
	log->suite = suite;
	if ((log->path = sl_path_join(dir, AUDIT_CPLOG_FILE)) == NULL) {
		r = SL_ERR_NOMEM;
		goto fail;
	}
	if ((r = platform_key(db, &log->pk)) != 0)
		goto fail;
	if (access(log->path, F_OK) == -1 && errno == ENOENT) {
		/*
		 * A data directory from before checkpoints.log: start it from the
		 * stored checkpoints, which the sync below verifies one by one.
		 */
		if ((fd = open(log->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) == -1 &&
		    errno != EEXIST) {
			r = sl_errf(SL_ERR_IO, "%s: cannot create: %s", log->path, strerror(errno));
			goto fail;
		}
		if (fd != -1) {
			close(fd);
			(void)sl_fsync_parent(log->path);
		}
	}
	if (access(log->path, W_OK) == -1 && (errno == EACCES || errno == EROFS))
		log->readonly = 1;
	if ((r = log_sync(log, SYNC_OPEN)) != 0)
		goto fail;
	*out = log;
	return 0;
fail:
	audit_cplog_free(log);
	return r;
}

int
audit_cplog_committed(void *arg)
{
	struct audit_cplog *log = arg;
	sqlite3_stmt *st = NULL;
	int64_t newest = 0;
	int r;

	if (log == NULL || log->readonly)
		return 0;
	if ((r = db_stmt(
	         log->db, "SELECT coalesce(max(tree_size), 0) FROM audit_checkpoints", &st)) != 0)
		return r;
	if (sqlite3_step(st) == SQLITE_ROW)
		newest = sqlite3_column_int64(st, 0);
	else
		r = db_fail(log->db, "read checkpoints");
	db_stmt_done(st);
	if (r != 0 || (uint64_t)newest <= log->logged)
		return r;
	if ((r = log_sync(log, SYNC_COMMIT)) != 0)
		return sl_errf(r,
		    "%s (the database change is committed; the next open appends its checkpoint)",
		    sl_err_msg(r));
	return 0;
}

int
audit_cplog_check(struct audit_cplog *log)
{
	return log_sync(log, SYNC_CHECK);
}

const char *
audit_cplog_path(const struct audit_cplog *log)
{
	return log->path;
}

void
audit_cplog_free(struct audit_cplog *log)
{
	if (log == NULL)
		return;
	keys_pubkey_free(log->pk);
	free(log->path);
	free(log);
}
