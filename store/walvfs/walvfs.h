#ifndef WALVFS_H
#define WALVFS_H
#include "sqlite3.h"

// WALVFS_NAME is the VFS's name, for a URI's vfs= parameter.
#define WALVFS_NAME "ragd-wal"

// walvfs_register registers the VFS over the default one, once;
// SQLITE_ERROR if there is no default VFS.
int walvfs_register(void);

// walvfs_stats reports, for every WAL file opened through the VFS since
// the process started: the writes it held back and wrote later, the
// writes it passed through at once, the system calls that wrote what it
// held back, and the bytes it holds now.
void walvfs_stats(sqlite3_int64 *held, sqlite3_int64 *passed, sqlite3_int64 *flushes, sqlite3_int64 *pending);
#endif
