package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/ragd/ragd/store"
)

// lockFileName is the file in the data directory that ragd serve holds
// an exclusive flock on while it runs.
const lockFileName = "ragd.lock"

// lockDataDir takes the exclusive lock of a data directory, creating the
// directory, or says which process holds it. Two servers on one data
// directory would each requeue the other's running ingest jobs as
// abandoned by a crash. The kernel drops a flock when its process ends,
// even by kill -9, so a crash leaves no stale lock. Call release when done.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another ragd serve (pid %s); stop it first or choose another --data-dir",
				dir, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	// The pid is only for the message above; the flock is the lock.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}

// createStore opens the database of a data directory, creating both: only
// ragd serve does, after lockDataDir.
func createStore(dataDir string, opts ...store.Option) (*store.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	return store.Open(filepath.Join(dataDir, store.FileName), opts...)
}

// openStore opens the existing database of a data directory for the
// commands that work on one (keys, backup, check): a mistyped --data-dir
// must fail instead of creating an empty database and answering from it.
func openStore(dataDir string) (*store.Store, error) {
	path := filepath.Join(dataDir, store.FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no ragd database at %s: check --data-dir (ragd serve creates the database on its first start)", path)
	}
	return store.Open(path)
}
