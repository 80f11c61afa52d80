/*
 * common/file.c -- small, careful file helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/file.h"

/*
 * Read the whole of fd (an open regular file, whose fstat() is st) as
 * sl_file_read() promises; fd is the caller's to close.
 */
static int
read_fd(int fd, const struct stat *st, size_t max, uint8_t **out, size_t *lenp)
{
	uint8_t *data = NULL;
	size_t len = 0, cap;
	ssize_t n;
	int r;

	if ((uint64_t)st->st_size > max) {
		r = SL_ERR_LIMIT;
		goto out;
	}
	/*
	 * The size may change under us: read until EOF, with room for one byte
	 * past max so an oversized file is seen, plus the terminating NUL.
	 */
	cap = (size_t)st->st_size + 2;
	if ((data = malloc(cap)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		if (len + 1 == cap) {
			uint8_t *nd;

			if (len > max) {
				r = SL_ERR_LIMIT;
				goto out;
			}
			cap = cap > (max + 2) / 2 ? max + 2 : cap * 2;
			if ((nd = realloc(data, cap)) == NULL) {
				r = SL_ERR_NOMEM;
				goto out;
			}
			data = nd;
		}
		n = read(fd, data + len, cap - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = SL_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		r = SL_ERR_LIMIT;
		goto out;
	}
	data[len] = '\0';
	*out = data;
	*lenp = len;
	data = NULL;
	r = 0;
out:
	if (data != NULL)
		sl_file_free_secret(data, cap);
	return r;
}

/* close() that keeps errno, so a caller's strerror(errno) tells the read's failure. */
static void
close_keep_errno(int fd)
{
	int saved = errno;

	(void)close(fd);
	errno = saved;
}

int
sl_file_read(const char *path, size_t max, uint8_t **out, size_t *lenp)
{
	struct stat st;
	int fd, r;

	if (max > SIZE_MAX - 2)
		return SL_ERR_INVAL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return errno == ENOENT ? SL_ERR_NOTFOUND : SL_ERR_IO;
	if (fstat(fd, &st) == -1)
		r = SL_ERR_IO;
	else if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		r = SL_ERR_IO;
	} else
		r = read_fd(fd, &st, max, out, lenp);
	close_keep_errno(fd);
	return r;
}

int
sl_file_read_private(const char *path, size_t max, uint8_t **out, size_t *lenp)
{
	struct stat st;
	int fd, r;

	if (max > SIZE_MAX - 2)
		return SL_ERR_INVAL;
	/*
	 * O_NOFOLLOW, and the checks on the opened file's fstat(), so that no
	 * rename or link between a check and the open can swap in another file.
	 * A link is refused rather than followed: whoever can change it chooses
	 * which key we use.
	 */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW)) == -1) {
		if (errno == ELOOP)
			return sl_errf(SL_ERR_POLICY,
			    "%s: is a symbolic link; a key or passphrase file must be the file "
			    "itself, owned by this user and readable by no one else (copy it in "
			    "place of the link, then chmod 600 %s)",
			    path, path);
		return errno == ENOENT ? SL_ERR_NOTFOUND : SL_ERR_IO;
	}
	if (fstat(fd, &st) == -1)
		r = SL_ERR_IO;
	else if (!S_ISREG(st.st_mode))
		r = sl_errf(SL_ERR_POLICY,
		    "%s: is not a regular file; a key or passphrase file must be one", path);
	else if (st.st_uid != geteuid())
		r = sl_errf(SL_ERR_POLICY,
		    "%s: is owned by uid %lu, not by this user (uid %lu); a key or passphrase "
		    "file must be its own user's (chown, then chmod 600 %s)",
		    path, (unsigned long)st.st_uid, (unsigned long)geteuid(), path);
	else if ((st.st_mode & 077) != 0)
		r = sl_errf(SL_ERR_POLICY,
		    "%s: mode %03o lets group or others use it; a key or passphrase file must "
		    "be readable by its owner only (chmod 600 %s)",
		    path, (unsigned)(st.st_mode & 0777), path);
	else
		r = read_fd(fd, &st, max, out, lenp);
	close_keep_errno(fd);
	return r;
}

void
sl_file_free_secret(uint8_t *p, size_t len)
{
	if (p == NULL)
		return;
	/* explicit_bzero is not optimised away, unlike memset before free. */
	explicit_bzero(p, len);
	free(p);
}

static int
write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return SL_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Write data to a fresh temporary file next to path; on success *tmpp holds
 * its name (caller frees).  The file is fsync'ed and has the requested mode.
 */
static int
write_temp(const char *path, mode_t mode, const void *data, size_t len, char **tmpp)
{
	char *tmp = NULL;
	size_t tlen = strlen(path) + sizeof(".tmp.XXXXXX");
	int fd = -1, r;

	if ((tmp = malloc(tlen)) == NULL)
		return SL_ERR_NOMEM;
	snprintf(tmp, tlen, "%s.tmp.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		r = SL_ERR_IO;
		goto out;
	}
	if (fchmod(fd, mode) == -1 || (r = write_all(fd, data, len)) != 0 || fsync(fd) == -1) {
		r = SL_ERR_IO;
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		r = SL_ERR_IO;
		goto out;
	}
	fd = -1;
	*tmpp = tmp;
	tmp = NULL;
	r = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		int saved = errno;

		unlink(tmp);
		errno = saved;
		free(tmp);
	}
	return r;
}

int
sl_fsync_parent(const char *path)
{
	char *copy, *dir;
	int fd, r = 0;

	if ((copy = strdup(path)) == NULL)
		return SL_ERR_NOMEM;
	dir = dirname(copy);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		r = SL_ERR_IO;
	else if (fsync(fd) == -1)
		r = SL_ERR_IO;
	if (fd != -1)
		close(fd);
	free(copy);
	return r;
}

int
sl_file_write_new(const char *path, mode_t mode, const void *data, size_t len)
{
	char *tmp = NULL;
	int r;

	if ((r = write_temp(path, mode, data, len, &tmp)) != 0)
		return r;
	/* link() fails with EEXIST instead of replacing, unlike rename(). */
	if (link(tmp, path) == -1) {
		r = errno == EEXIST ? SL_ERR_EXISTS : SL_ERR_IO;
		goto out;
	}
	r = sl_fsync_parent(path);
out:
	unlink(tmp);
	free(tmp);
	return r;
}

int
sl_file_write_replace(const char *path, mode_t mode, const void *data, size_t len)
{
	char *tmp = NULL;
	int r;

	if ((r = write_temp(path, mode, data, len, &tmp)) != 0)
		return r;
	if (rename(tmp, path) == -1) {
		r = SL_ERR_IO;
		unlink(tmp);
		goto out;
	}
	r = sl_fsync_parent(path);
out:
	free(tmp);
	return r;
}

static int
rmtree_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

int
sl_rmtree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : SL_ERR_IO;
	return nftw(path, rmtree_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : SL_ERR_IO;
}

char *
sl_path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + 1 + strlen(name) + 1;
	char *p;

	if ((p = malloc(len)) == NULL)
		return NULL;
	snprintf(p, len, "%s/%s", dir, name);
	return p;
}
