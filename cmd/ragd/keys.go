package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/service"
)

// runKeys manages API keys directly on a data directory.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: ragd keys create|list|revoke [flags]")
		return exitError{2}
	}
	fs := flag.NewFlagSet("ragd keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("RAGD_DATA_DIR", "./data"), "data directory (env RAGD_DATA_DIR)")
	name := fs.String("name", "cli key", "create: who or what the key is for")
	workspace := fs.String("workspace", ragd.DefaultWorkspace, "create: the key's workspace")
	admin := fs.Bool("admin", false, "create: an admin key")
	rpm := fs.Int("rpm", 0, "create: requests per minute (0: default tier)")
	tpm := fs.Int("tpm", 0, "create: tokens per minute (0: default tier)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := openStore(*dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := service.New(service.Config{Store: st})
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	switch args[0] {
	case "create":
		k := &ragd.Key{Name: *name, Workspace: *workspace, Admin: *admin, RPM: *rpm, TPM: *tpm}
		if err := svc.CreateKey(ctx, k); err != nil {
			return err
		}
		return enc.Encode(k)
	case "list":
		keys := []*ragd.Key{}
		for p := (ragd.Page{Limit: 100}); ; {
			page, more, err := svc.Keys(ctx, p)
			if err != nil {
				return err
			}
			keys = append(keys, page...)
			if !more {
				return enc.Encode(keys)
			}
			p.After = page[len(page)-1].ID
		}
	case "revoke":
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: ragd keys revoke [--data-dir DIR] KEY_ID")
		}
		if err := svc.RevokeKey(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "revoked", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("unknown keys command %q; use create, list or revoke", args[0])
}

// runBackup writes a consistent copy of a live database.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ragd backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("RAGD_DATA_DIR", "./data"), "data directory (env RAGD_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: ragd backup [--data-dir DIR] OUT.db")
	}
	st, err := openStore(*dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "backup written to", fs.Arg(0))
	return nil
}
