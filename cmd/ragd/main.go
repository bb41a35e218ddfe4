// Command ragd is the ragd server and its command-line tools:
//
//	ragd serve    run the HTTP API
//	ragd keys     create, list and revoke API keys on a data directory
//	ragd backup   write a consistent copy of the database while it serves
//	ragd check    run SQLite's integrity check on a data directory
//	ragd ingest   bulk-load files and directories through the HTTP API
//	ragd cluster  show a cluster's nodes and their replication lag
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "ragd:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitError carries a process exit code.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func exitCode(err error) int {
	var e exitError
	if errors.As(err, &e) {
		return e.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}

const usage = `usage: ragd <command> [flags]

commands:
  serve    run the HTTP API (ragd serve --help lists its flags)
  keys     create, list or revoke API keys: ragd keys create|list|revoke
  backup   copy the database consistently while it serves: ragd backup OUT.db
  check    run SQLite's integrity check on the database: ragd check --data-dir DIR
  ingest   upload files and directories into a collection: ragd ingest --collection NAME PATH...
  cluster  show the nodes of a cluster and their lag: ragd cluster status --url URL
  version  print the version
`

// run dispatches a command line; it is main without the process exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{2}
	}
	switch args[0] {
	case "serve":
		m := NewMain(stdout, stderr)
		if err := m.ParseFlags(args[1:]); err != nil {
			return err
		}
		return m.Run(ctx)
	case "keys":
		return runKeys(ctx, args[1:], stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "ingest":
		return runIngest(ctx, args[1:], stdout, stderr)
	case "cluster":
		return runCluster(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "ragd", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "ragd: unknown command %q\n%s", args[0], usage)
	return exitError{2}
}

// envOr returns the environment variable name, or def when unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}
