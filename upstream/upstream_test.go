package upstream

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		header string
		want   time.Duration
	}{
		{"", -1},
		{"0", 0},
		{" 12 ", 12 * time.Second},
		{"-3", -1},
		{"soon", -1},
		{"99999999999", MaxRetryAfter + time.Second},
		{"Sun, 01 Jun 2025 12:01:30 GMT", 90 * time.Second},
		{"Sunday, 01-Jun-25 12:00:05 GMT", 5 * time.Second},
		{"Sun, 01 Jun 2025 11:59:00 GMT", 0},
	}
	for _, c := range cases {
		if got := parseRetryAfter(c.header, now); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}

func TestUpstreamMessageLong(t *testing.T) {
	body := bytes.Repeat([]byte("é"), 400) // 800 bytes: cut inside a rune
	msg := Message(body)
	if len(msg) > 303 || !strings.HasSuffix(msg, "...") || !strings.HasPrefix(msg, "éé") {
		t.Errorf("shortened message %q (%d bytes)", msg, len(msg))
	}
	if got := Message(nil); got != "no message" {
		t.Errorf("empty body gives %q", got)
	}
}
