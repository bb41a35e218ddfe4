package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
)

// ingestSettings are the serve flags that bound what uploaded files may
// cost: text, expansion and time per file, memory of all together.
type ingestSettings struct {
	maxText   int64
	expansion int64
	timeout   time.Duration
	memory    int64
}

// registerIngestFlags adds the ingest limit flags of ragd serve to fs.
func (s *ingestSettings) registerIngestFlags(fs *flag.FlagSet) {
	d := extract.DefaultLimits
	fs.Int64Var(&s.maxText, "max-text-bytes", int64(envInt("RAGD_MAX_TEXT_BYTES", int(d.MaxText))),
		"most text one file may yield, in bytes; past it the file fails with too_large_after_extraction (env RAGD_MAX_TEXT_BYTES)")
	fs.Int64Var(&s.expansion, "max-text-expansion", int64(envInt("RAGD_MAX_TEXT_EXPANSION", int(d.MaxExpansion))),
		"most bytes of text per byte of file (plus 1 MiB); past it the file fails with too_large_after_extraction (env RAGD_MAX_TEXT_EXPANSION)")
	fs.DurationVar(&s.timeout, "ingest-timeout", envDuration("RAGD_INGEST_TIMEOUT", ingest.DefaultFileTimeout),
		"longest ingest of one file (extraction, chunking, embedding); past it the file fails with ingest_timeout (env RAGD_INGEST_TIMEOUT)")
	fs.Int64Var(&s.memory, "ingest-memory", int64(envInt("RAGD_INGEST_MEMORY", ingest.DefaultMemoryBudget)),
		"memory budget of all ingest workers together, in bytes: each file reserves 32 MiB plus twice its size (at most the budget) and waits until that fits (env RAGD_INGEST_MEMORY)")
}

// check refuses limits that would mean no limit.
func (s *ingestSettings) check() error {
	switch {
	case s.maxText <= 0:
		return fmt.Errorf("--max-text-bytes must be positive, got %d", s.maxText)
	case s.expansion <= 0:
		return fmt.Errorf("--max-text-expansion must be positive, got %d", s.expansion)
	case s.timeout <= 0:
		return fmt.Errorf("--ingest-timeout must be positive, got %s", s.timeout)
	case s.memory <= 0:
		return fmt.Errorf("--ingest-memory must be positive, got %d", s.memory)
	}
	return nil
}

// apply sets the limits on cfg.
func (s *ingestSettings) apply(cfg *ingest.Config) {
	cfg.Limits.MaxText, cfg.Limits.MaxExpansion, cfg.FileTimeout, cfg.MemoryBudget = s.maxText, s.expansion, s.timeout, s.memory
}

// envDuration returns the environment variable name as a duration, or def
// when unset or not a duration.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}
