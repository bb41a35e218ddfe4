// A VFS that writes a transaction's WAL frames in a few large writes;
// see walvfs.go.
#include <stddef.h>
#include <string.h>
#include "sqlite3.h"
#include "walvfs.h"

// The most a WAL file holds back: the largest write the unix VFS takes
// (its seekAndWriteFd), 15 frames of 8 KiB pages. Larger writes took
// no less time a frame (docs/benchmarks.md, "Session 22").
#define BUFFER_BYTES 0x1ffff
// A WAL frame's header: page number, the database's size in pages for a
// transaction's last frame (0 for the others), salts, checksums
// (https://sqlite.org/fileformat2.html#walformat). SQLite writes it with
// one call and the page with the next.
#define FRAME_HEADER 24

// walFile is a WAL file opened through the VFS: the file the default VFS
// opened, and the writes held back for it. The default VFS's file
// follows the struct in the same allocation.
typedef struct walFile {
	sqlite3_file base;
	sqlite3_file *real;
	unsigned char *buf; // BUFFER_BYTES, allocated at the first write held
	int len;            // bytes held in buf
	sqlite3_int64 start; // the file offset of buf[0]
	// end is the offset past the latest write, held or not (-1 before the
	// first and after a failure or a truncation): only a write that
	// continues it is held back, so the bytes held are always one run
	// that ends at end.
	sqlite3_int64 end;
	// inCommit: the latest frame header was that of a transaction's last
	// frame (or of the padding frames after it, with synchronous=FULL),
	// so every write until the next header completes the transaction, and
	// everything held is written with it.
	int inCommit;
} walFile;

// The file of the default VFS starts at this offset of a walFile's
// allocation, a multiple of 16 (SQLite allocates the walFile itself
// 8-aligned).
#define REAL_OFFSET ((sizeof(walFile) + 15) & ~(size_t)15)

static sqlite3_vfs *realVfs;
static sqlite3_vfs walVfs;

static sqlite3_int64 statHeld, statPassed, statFlushes, statPending;

static void count(sqlite3_int64 *stat, sqlite3_int64 n) { __atomic_add_fetch(stat, n, __ATOMIC_RELAXED); }

// flush writes what the file holds, in one call. After a failure the
// bytes are dropped: SQLite fails the transaction they belonged to and
// writes its frames again from its last commit.
static int flush(walFile *w) {
	if (w->len == 0) return SQLITE_OK;
	int n = w->len;
	int rc = w->real->pMethods->xWrite(w->real, w->buf, n, w->start);
	w->len = 0;
	count(&statPending, -n);
	count(&statFlushes, 1);
	if (rc != SQLITE_OK) w->end = -1;
	return rc;
}

// walClose drops what the file holds: never a committed transaction's
// bytes (its last frame wrote them), only frames of one that ended
// without committing.
static int walClose(sqlite3_file *f) {
	walFile *w = (walFile *)f;
	count(&statPending, -w->len);
	w->len = 0;
	int rc = w->real->pMethods->xClose(w->real);
	sqlite3_free(w->buf);
	w->buf = 0;
	return rc;
}

static int walRead(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
	walFile *w = (walFile *)f;
	int rc = flush(w);
	if (rc != SQLITE_OK) return rc;
	return w->real->pMethods->xRead(w->real, p, n, off);
}

// walWrite holds back a write that continues the previous one, and
// writes what it holds when the buffer is full, before any other call
// that reads or depends on the file, and right after the last frame of a
// transaction: a transaction's frames are all in the file before SQLite
// publishes it to readers (in the WAL index, after its last write) and
// before its commit returns, so a committed transaction survives the
// process's death as it did without the VFS, and a write's failure fails
// the transaction it belongs to.
static int walWrite(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
	walFile *w = (walFile *)f;
	const unsigned char *b = p;
	if (n == FRAME_HEADER) w->inCommit = (b[4] | b[5] | b[6] | b[7]) != 0;
	// A header waits for its page; any other write of a last frame (its
	// page, or the parts of a padding frame SQLite splits around a sync)
	// writes everything held.
	int commit = w->inCommit && n != FRAME_HEADER;
	if (off != w->end || n > BUFFER_BYTES) {
		int rc = flush(w);
		if (rc != SQLITE_OK) return rc;
		rc = w->real->pMethods->xWrite(w->real, p, n, off);
		w->end = rc == SQLITE_OK ? off + n : -1;
		count(&statPassed, 1);
		return rc;
	}
	if (w->len + n > BUFFER_BYTES) {
		int rc = flush(w);
		if (rc != SQLITE_OK) return rc;
	}
	if (!w->buf && !(w->buf = sqlite3_malloc(BUFFER_BYTES))) return SQLITE_IOERR_NOMEM;
	if (w->len == 0) w->start = off;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	w->end = off + n;
	count(&statPending, n);
	count(&statHeld, 1);
	return commit ? flush(w) : SQLITE_OK;
}

static int walTruncate(sqlite3_file *f, sqlite3_int64 size) {
	walFile *w = (walFile *)f;
	int rc = flush(w);
	if (rc != SQLITE_OK) return rc;
	w->end = -1;
	return w->real->pMethods->xTruncate(w->real, size);
}

// walSync writes what is held, and makes the writes up to the next
// frame header write through: SQLite syncs in the middle of a commit's
// padding frame, whose rest follows (and whose part before the sync may
// be 24 bytes that only look like a header).
static int walSync(sqlite3_file *f, int flags) {
	walFile *w = (walFile *)f;
	int rc = flush(w);
	if (rc != SQLITE_OK) return rc;
	w->inCommit = 1;
	return w->real->pMethods->xSync(w->real, flags);
}

static int walFileSize(sqlite3_file *f, sqlite3_int64 *size) {
	walFile *w = (walFile *)f;
	int rc = flush(w);
	if (rc != SQLITE_OK) return rc;
	return w->real->pMethods->xFileSize(w->real, size);
}

static int walLock(sqlite3_file *f, int lock) {
	walFile *w = (walFile *)f;
	return w->real->pMethods->xLock(w->real, lock);
}

static int walUnlock(sqlite3_file *f, int lock) {
	walFile *w = (walFile *)f;
	return w->real->pMethods->xUnlock(w->real, lock);
}

static int walCheckReservedLock(sqlite3_file *f, int *out) {
	walFile *w = (walFile *)f;
	return w->real->pMethods->xCheckReservedLock(w->real, out);
}

static int walFileControl(sqlite3_file *f, int op, void *arg) {
	walFile *w = (walFile *)f;
	int rc = flush(w);
	if (rc != SQLITE_OK) return rc;
	return w->real->pMethods->xFileControl(w->real, op, arg);
}

static int walSectorSize(sqlite3_file *f) {
	walFile *w = (walFile *)f;
	return w->real->pMethods->xSectorSize(w->real);
}

static int walDeviceCharacteristics(sqlite3_file *f) {
	walFile *w = (walFile *)f;
	return w->real->pMethods->xDeviceCharacteristics(w->real);
}

// A WAL file has no shared memory and is never mapped (the database
// file has and is), so the version 1 methods are all it needs.
static const sqlite3_io_methods walMethods = {
	1,
	walClose,
	walRead,
	walWrite,
	walTruncate,
	walSync,
	walFileSize,
	walLock,
	walUnlock,
	walCheckReservedLock,
	walFileControl,
	walSectorSize,
	walDeviceCharacteristics,
	0, 0, 0, 0, 0, 0,
};

// walOpen opens a WAL file inside a walFile, and any other file as the
// default VFS does, in the space SQLite gave: no call to it goes through
// this VFS.
static int walOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *outFlags) {
	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL)) return realVfs->xOpen(realVfs, name, f, flags, outFlags);
	walFile *w = (walFile *)f;
	memset(w, 0, sizeof *w);
	w->real = (sqlite3_file *)((char *)f + REAL_OFFSET);
	w->end = -1;
	int rc = realVfs->xOpen(realVfs, name, w->real, flags, outFlags);
	// pMethods stays 0 on failure, so SQLite does not close the file.
	if (rc == SQLITE_OK) w->base.pMethods = &walMethods;
	return rc;
}

// The rest of the VFS is the default VFS's, called with it.
static int vfsDelete(sqlite3_vfs *v, const char *name, int syncDir) { (void)v; return realVfs->xDelete(realVfs, name, syncDir); }
static int vfsAccess(sqlite3_vfs *v, const char *name, int flags, int *out) { (void)v; return realVfs->xAccess(realVfs, name, flags, out); }
static int vfsFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) { (void)v; return realVfs->xFullPathname(realVfs, name, n, out); }
static void *vfsDlOpen(sqlite3_vfs *v, const char *name) { (void)v; return realVfs->xDlOpen(realVfs, name); }
static void vfsDlError(sqlite3_vfs *v, int n, char *msg) { (void)v; realVfs->xDlError(realVfs, n, msg); }
static void (*vfsDlSym(sqlite3_vfs *v, void *h, const char *sym))(void) { (void)v; return realVfs->xDlSym(realVfs, h, sym); }
static void vfsDlClose(sqlite3_vfs *v, void *h) { (void)v; realVfs->xDlClose(realVfs, h); }
static int vfsRandomness(sqlite3_vfs *v, int n, char *out) { (void)v; return realVfs->xRandomness(realVfs, n, out); }
static int vfsSleep(sqlite3_vfs *v, int us) { (void)v; return realVfs->xSleep(realVfs, us); }
static int vfsCurrentTime(sqlite3_vfs *v, double *t) { (void)v; return realVfs->xCurrentTime(realVfs, t); }
static int vfsGetLastError(sqlite3_vfs *v, int n, char *msg) { (void)v; return realVfs->xGetLastError(realVfs, n, msg); }
static int vfsCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *t) { (void)v; return realVfs->xCurrentTimeInt64(realVfs, t); }

int walvfs_register(void) {
	if (sqlite3_vfs_find(WALVFS_NAME)) return SQLITE_OK;
	sqlite3_vfs *real = sqlite3_vfs_find(0);
	if (!real || real->iVersion < 2) return SQLITE_ERROR;
	realVfs = real;
	walVfs.iVersion = 2;
	walVfs.szOsFile = (int)REAL_OFFSET + real->szOsFile;
	walVfs.mxPathname = real->mxPathname;
	walVfs.zName = WALVFS_NAME;
	walVfs.xOpen = walOpen;
	walVfs.xDelete = vfsDelete;
	walVfs.xAccess = vfsAccess;
	walVfs.xFullPathname = vfsFullPathname;
	walVfs.xDlOpen = vfsDlOpen;
	walVfs.xDlError = vfsDlError;
	walVfs.xDlSym = vfsDlSym;
	walVfs.xDlClose = vfsDlClose;
	walVfs.xRandomness = vfsRandomness;
	walVfs.xSleep = vfsSleep;
	walVfs.xCurrentTime = vfsCurrentTime;
	walVfs.xGetLastError = vfsGetLastError;
	walVfs.xCurrentTimeInt64 = vfsCurrentTimeInt64;
	return sqlite3_vfs_register(&walVfs, 0);
}

void walvfs_stats(sqlite3_int64 *held, sqlite3_int64 *passed, sqlite3_int64 *flushes, sqlite3_int64 *pending) {
	*held = __atomic_load_n(&statHeld, __ATOMIC_RELAXED);
	*passed = __atomic_load_n(&statPassed, __ATOMIC_RELAXED);
	*flushes = __atomic_load_n(&statFlushes, __ATOMIC_RELAXED);
	*pending = __atomic_load_n(&statPending, __ATOMIC_RELAXED);
}
