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
#include <sys/random.h>
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
 * A name beside path no file has: path.tmp.XXXXXX, six random characters.
 * mkostemp() makes the file too, which an O_TMPFILE file linked in there
 * must not find.
 */
static char *
temp_name(const char *path)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = strlen(path) + sizeof(".tmp.XXXXXX"), i;
	unsigned char rnd[6];
	char *tmp;

	if ((tmp = malloc(n)) == NULL)
		return NULL;
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		free(tmp);
		return NULL;
	}
	snprintf(tmp, n, "%s.tmp.", path);
	for (i = 0; i < sizeof rnd; i++)
		tmp[n - 1 - sizeof rnd + i] = set[rnd[i] % (sizeof set - 1)];
	tmp[n - 1] = '\0';
	return tmp;
}

void
sl_pending_close(struct sl_pending *p)
{
	int saved = errno;

	if (p->fd != -1)
		close(p->fd);
	if (p->tmp != NULL)
		unlink(p->tmp);
	free(p->tmp);
	free(p->path);
	memset(p, 0, sizeof *p);
	p->fd = -1;
	errno = saved;
}

int
sl_pending_open(const char *path, mode_t mode, struct sl_pending *p)
{
	char *copy;
	int saved;

	memset(p, 0, sizeof *p);
	p->fd = -1;
	if ((p->path = strdup(path)) == NULL || (copy = strdup(path)) == NULL) {
		free(p->path);
		return SL_ERR_NOMEM;
	}
	/* Unnamed until committed: a crash while it is written leaves nothing. */
	p->fd = open(dirname(copy), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	saved = errno;
	free(copy);
	if (p->fd == -1 && (saved == EOPNOTSUPP || saved == EISDIR || saved == EINVAL)) {
		/* A filesystem without O_TMPFILE: a named temporary file. */
		size_t n = strlen(path) + sizeof(".tmp.XXXXXX");

		if ((p->tmp = malloc(n)) == NULL) {
			free(p->path);
			return SL_ERR_NOMEM;
		}
		snprintf(p->tmp, n, "%s.tmp.XXXXXX", path);
		p->fd = mkostemp(p->tmp, O_CLOEXEC);
		saved = errno;
	}
	if (p->fd == -1 || fchmod(p->fd, mode) == -1) {
		saved = p->fd == -1 ? saved : errno;
		sl_pending_close(p);
		errno = saved;
		return SL_ERR_IO;
	}
	return 0;
}

int
sl_pending_write(struct sl_pending *p, const void *data, size_t len)
{
	return write_all(p->fd, data, len);
}

/* Give the unnamed file at p->fd the name to (which must not exist). */
static int
link_unnamed(int fd, const char *to)
{
	char proc[64];

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, to, AT_SYMLINK_FOLLOW);
}

int
sl_pending_commit(struct sl_pending *p, int replace)
{
	char *tmp = NULL;
	int r = 0, saved;

	if (fsync(p->fd) == -1)
		r = SL_ERR_IO;
	else if (p->tmp != NULL)
		r = (replace ? rename(p->tmp, p->path) : link(p->tmp, p->path)) == -1
		        ? (errno == EEXIST ? SL_ERR_EXISTS : SL_ERR_IO)
		        : 0;
	else if (!replace)
		r = link_unnamed(p->fd, p->path) == -1 ? (errno == EEXIST ? SL_ERR_EXISTS : SL_ERR_IO)
		                                       : 0;
	else {
		/*
		 * linkat() will not replace a file: name it beside path, then
		 * rename it over path.  Only between the two has it a name of its own.
		 */
		int tries;

		for (tries = 0, r = SL_ERR_IO; tries < 8 && r == SL_ERR_IO; tries++) {
			free(tmp);
			if ((tmp = temp_name(p->path)) == NULL) {
				r = SL_ERR_NOMEM;
				break;
			}
			if (link_unnamed(p->fd, tmp) == 0)
				r = 0;
			else if (errno != EEXIST)
				break;
		}
		if (r == 0 && rename(tmp, p->path) == -1) {
			saved = errno;
			unlink(tmp);
			errno = saved;
			r = SL_ERR_IO;
		}
	}
	saved = errno;
	free(tmp);
	if (r == 0) {
		if (p->tmp != NULL && !replace)
			unlink(p->tmp);
		free(p->tmp);
		p->tmp = NULL;
		r = sl_fsync_parent(p->path);
	}
	errno = saved;
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

/* The whole of path, or nothing: replace says whether an existing path may go. */
static int
write_whole(const char *path, mode_t mode, const void *data, size_t len, int replace)
{
	struct sl_pending p;
	int r;

	if ((r = sl_pending_open(path, mode, &p)) != 0)
		return r;
	if ((r = sl_pending_write(&p, data, len)) == 0)
		r = sl_pending_commit(&p, replace);
	sl_pending_close(&p);
	return r;
}

int
sl_file_write_new(const char *path, mode_t mode, const void *data, size_t len)
{
	return write_whole(path, mode, data, len, 0);
}

int
sl_file_write_replace(const char *path, mode_t mode, const void *data, size_t len)
{
	return write_whole(path, mode, data, len, 1);
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
