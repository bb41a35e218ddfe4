package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
)

// The ingest limits come from flags, else the environment, else the
// defaults, and a limit that would mean none is refused.
func TestIngestFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want ingest.Config
		err  string
	}{
		{name: "Defaults", want: ingest.Config{Limits: extract.Limits{MaxText: 32 << 20, MaxExpansion: 20}, FileTimeout: 30 * time.Minute,
			MemoryBudget: 1 << 30}},
		{name: "Flags", args: []string{"--max-text-bytes", "1000", "--max-text-expansion", "3", "--ingest-timeout", "90s", "--ingest-memory", "5000"},
			want: ingest.Config{Limits: extract.Limits{MaxText: 1000, MaxExpansion: 3}, FileTimeout: 90 * time.Second, MemoryBudget: 5000}},
		{name: "Env", env: map[string]string{"RAGD_MAX_TEXT_BYTES": "2000", "RAGD_MAX_TEXT_EXPANSION": "4", "RAGD_INGEST_TIMEOUT": "5m",
			"RAGD_INGEST_MEMORY": "6000"},
			want: ingest.Config{Limits: extract.Limits{MaxText: 2000, MaxExpansion: 4}, FileTimeout: 5 * time.Minute, MemoryBudget: 6000}},
		{name: "ZeroText", args: []string{"--max-text-bytes", "0"}, err: "--max-text-bytes must be positive"},
		{name: "ZeroExpansion", args: []string{"--max-text-expansion", "0"}, err: "--max-text-expansion must be positive"},
		{name: "NegativeTimeout", args: []string{"--ingest-timeout", "-1s"}, err: "--ingest-timeout must be positive"},
		{name: "ZeroMemory", args: []string{"--ingest-memory", "0"}, err: "--ingest-memory must be positive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			m := NewMain(io.Discard, io.Discard)
			err := m.ParseFlags(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got ingest.Config
			m.ingest.apply(&got)
			if got.Limits != tt.want.Limits || got.FileTimeout != tt.want.FileTimeout || got.MemoryBudget != tt.want.MemoryBudget {
				t.Fatalf("config %+v, want %+v", got, tt.want)
			}
		})
	}
}
