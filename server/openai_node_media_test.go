package server_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/ragd/ragd/internal/testnode"
)

// TestOpenAINodeSDKMedia drives the speech, transcription and image
// routes with the official OpenAI Node SDK (test/openai-node/
// media.test.mjs) against a server whose media models live on the fake
// provider, then checks what the provider received from ragd.
func TestOpenAINodeSDKMedia(t *testing.T) {
	node, dir := nodeSDK(t)
	up := newMediaUpstream(t)
	ts := newMediaServer(t, up)
	testnode.Run(t, node, dir, 2*time.Minute, []string{"RAGD_URL=" + ts.URL, "RAGD_KEY=" + ts.admin}, nil,
		"--test", "--test-reporter=spec", "media.test.mjs")
	seen := map[string]bool{}
	for _, c := range up.requests {
		switch c.path {
		case "/v1/audio/speech":
			seen[c.path] = c.json["model"] == "up-tts" && c.json["voice"] == "alloy" && c.json["speed"] == 1.25
		case "/v1/audio/transcriptions":
			seen[c.path] = c.fields["model"] == "whisper-1" && c.filename == "hello.wav" && bytes.HasPrefix(c.file, []byte("RIFF"))
		case "/v1/images/generations":
			seen[c.path] = c.json["model"] == "dall-e-3" && c.json["prompt"] == "a red fox in the snow" && c.json["size"] == "1024x1024"
		}
	}
	for _, p := range []string{"/v1/audio/speech", "/v1/audio/transcriptions", "/v1/images/generations"} {
		if !seen[p] {
			t.Errorf("the provider did not receive the SDK's %s request as sent: %+v", p, up.requests)
		}
	}
}
