/*
 * common/file.h -- small, careful file helpers.
 *
 * Every writer here either produces the whole file, durably, or leaves
 * nothing behind: the data goes to an unnamed file in the same directory
 * (O_TMPFILE), is fsync'ed, and is then linked or renamed into place and
 * the directory fsync'ed (struct sl_pending).
 */
#ifndef SLUICE_COMMON_FILE_H
#define SLUICE_COMMON_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Read the whole regular file at path into a new buffer, with a NUL byte
 * after the data (not counted in *lenp).  Files larger than max bytes fail
 * with SL_ERR_LIMIT.  On success the caller frees *out with free() (or with
 * sl_file_free_secret() when the file held a secret).  SL_ERR_NOTFOUND if
 * the file does not exist, SL_ERR_IO for other failures (errno kept).
 */
int sl_file_read(const char *path, size_t max, uint8_t **out, size_t *lenp)
    __attribute__((warn_unused_result));

/*
 * Read a secret file (a master key, a party's private key, a passphrase) as
 * sl_file_read() does, but only if path is a regular file, not a symbolic
 * link, owned by this user, with no permission for group or others.
 * Otherwise SL_ERR_POLICY, with a recorded message (sl_errf()) that names
 * path and the fix ("chmod 600 path").  The other failures are
 * sl_file_read()'s, with no message recorded.
 */
int sl_file_read_private(const char *path, size_t max, uint8_t **out, size_t *lenp)
    __attribute__((warn_unused_result));

/* Wipe len bytes at p, then free(p).  p may be NULL. */
void sl_file_free_secret(uint8_t *p, size_t len);

/*
 * Create path with the given mode and contents.  Refuses to replace an
 * existing file (SL_ERR_EXISTS).  The file appears whole or not at all.
 */
int sl_file_write_new(const char *path, mode_t mode, const void *data, size_t len)
    __attribute__((warn_unused_result));

/* Create or atomically replace path with the given mode and contents. */
int sl_file_write_replace(const char *path, mode_t mode, const void *data, size_t len)
    __attribute__((warn_unused_result));

/*
 * A file being written for path, to appear whole or not at all: unnamed
 * (O_TMPFILE) until it is committed, so that a crash, even SIGKILL, while
 * it is written leaves nothing; on a filesystem without O_TMPFILE a
 * temporary file path.tmp.XXXXXX beside it, removed on abort.
 *
 *   sl_pending_open(path, mode, &p)    SL_ERR_IO (errno kept) if it cannot be made
 *   sl_pending_write(&p, data, len)    or write to p.fd (dup() it for a FILE)
 *   sl_pending_commit(&p, replace)     fsync, then path names it (replacing
 *                                      an existing file if replace, else
 *                                      SL_ERR_EXISTS), and the directory is fsync'ed
 *   sl_pending_close(&p)               always; undoes an uncommitted file
 */
struct sl_pending {
	int fd;
	char *path;
	char *tmp; /* its name while written, without O_TMPFILE */
};
int sl_pending_open(const char *path, mode_t mode, struct sl_pending *p)
    __attribute__((warn_unused_result));
int sl_pending_write(struct sl_pending *p, const void *data, size_t len)
    __attribute__((warn_unused_result));
int sl_pending_commit(struct sl_pending *p, int replace) __attribute__((warn_unused_result));
void sl_pending_close(struct sl_pending *p);

/*
 * fsync the directory that holds path, so a rename or link of path is
 * durable.  Callers that cannot undo the rename may ignore a failure.
 */
int sl_fsync_parent(const char *dir);

/*
 * Remove the tree at path, not following symbolic links.  Used to undo a
 * half-made directory; a missing path is not an error.
 */
int sl_rmtree(const char *path);

/*
 * Join a directory and a name into a new string "dir/name"; the caller frees
 * it with free().  NULL on allocation failure.
 */
char *sl_path_join(const char *dir, const char *name);

#endif
