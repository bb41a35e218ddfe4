package media_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/media"
)

func TestNewRouterErrors(t *testing.T) {
	provider := func(models ...media.ModelConfig) media.ProviderConfig {
		return media.ProviderConfig{Name: "p", BaseURL: "http://127.0.0.1:1/v1", Models: models}
	}
	for _, tc := range []struct {
		name  string
		cfg   media.Config
		param string
	}{
		{"ErrNoName", media.Config{Providers: []media.ProviderConfig{{BaseURL: "http://x/v1"}}}, "name"},
		{"ErrBaseURL", media.Config{Providers: []media.ProviderConfig{{Name: "p", BaseURL: "x/v1"}}}, "base_url"},
		{"ErrNoID", media.Config{Providers: []media.ProviderConfig{provider(media.ModelConfig{Kind: media.Image})}}, "models"},
		{"ErrKind", media.Config{Providers: []media.ProviderConfig{provider(media.ModelConfig{ID: "m", Kind: "hologram"})}}, "kind"},
		{"ErrVoicesNotSpeech", media.Config{Providers: []media.ProviderConfig{provider(media.ModelConfig{ID: "m", Kind: media.Image, Voices: []string{"a"}})}}, "voices"},
		{"ErrDuplicate", media.Config{Providers: []media.ProviderConfig{provider(media.ModelConfig{ID: "m", Kind: media.Image}),
			provider(media.ModelConfig{ID: "m", Kind: media.Music})}}, "models"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := media.NewRouter(tc.cfg)
			if e, ok := err.(*ragd.Error); !ok || e.Kind != ragd.EINVALID || e.Param != tc.param {
				t.Fatalf("%v, want EINVALID naming %s", err, tc.param)
			}
		})
	}
}

// A provider's video answer without a job id is a bad response (503), not
// a job nobody can poll.
func TestCreateVideoWithoutJobID(t *testing.T) {
	for _, body := range []string{`{"status":"queued"}`, `[1]`, `{"id":5}`} {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(body))
		}))
		r, err := media.NewRouter(media.Config{Providers: []media.ProviderConfig{{Name: "p", BaseURL: up.URL,
			Models: []media.ModelConfig{{ID: "veo", Kind: media.Video}}}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.CreateVideo(context.Background(), []byte(`{"model":"veo","prompt":"a cat"}`))
		if e, ok := err.(*ragd.Error); !ok || e.Kind != ragd.EUNAVAILABLE || e.Code != "upstream_bad_response" || !strings.Contains(e.Message, `"p"`) {
			t.Errorf("%s: %v", body, err)
		}
		up.Close()
	}
}
