// Package walvfs is an SQLite VFS that writes the WAL's frames in a few
// large writes instead of two system calls a frame.
//
// SQLite writes each frame of a transaction with two calls, its 24-byte
// header and then its page, and a bulk load's transaction has hundreds of
// frames: on this project's 2-core virtual machines those writes were a
// quarter of the writer's time (docs/benchmarks.md, "Session 22"). The
// VFS is the default one for every file but the WAL, whose writes it
// holds back while they follow one another, up to 128 KiB, and writes in
// one call.
//
// Nothing becomes visible or durable later than without it. A
// transaction's frames are all written, in order, by the time its last
// frame is (a frame header that carries the database's size marks the
// last one): before SQLite publishes the transaction in the WAL index,
// where readers, the checkpointer and other processes find it, and
// before its commit returns, so a process killed after a commit leaves
// the transaction in the file as it did without the VFS. Any other call
// on the WAL file (a read, a sync, a truncation, its size) writes what is
// held first, and a write that does not continue the previous one goes
// to the file at once. A failed write fails the transaction being
// written.
//
// One connection at a time may write a database through the VFS, as the
// store's one writer does: frames a transaction spilled before it rolled
// back stay held until that connection's next write, which writes them
// before its own at the same offsets (where SQLite's own VFS wrote them
// at once); another connection's commit in between would be overwritten.
package walvfs

// #include "walvfs.h"
import "C"

import (
	"errors"
	"sync"
)

// Name is the VFS's name, for a database URI's vfs parameter.
const Name = C.WALVFS_NAME

var (
	once sync.Once
	err  error
)

// Register registers the VFS with SQLite, not as the default. It is safe
// to call more than once.
func Register() error {
	once.Do(func() {
		if C.walvfs_register() != C.SQLITE_OK {
			err = errors.New("walvfs: SQLite has no default VFS to wrap")
		}
	})
	return err
}

// Stats counts what every WAL file opened through the VFS in this
// process did.
type Stats struct {
	Held    int64 // writes held back and written later
	Passed  int64 // writes passed to the file at once
	Flushes int64 // writes of what was held back
	Pending int64 // bytes held back now
}

// ReadStats returns the counts so far.
func ReadStats() Stats {
	var held, passed, flushes, pending C.sqlite3_int64
	C.walvfs_stats(&held, &passed, &flushes, &pending)
	return Stats{int64(held), int64(passed), int64(flushes), int64(pending)}
}
