package upstream

import (
	"bytes"
	"strings"
	"testing"
)

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
