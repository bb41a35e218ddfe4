package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/media"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
)

// mediaUpstream is a fake OpenAI-compatible media provider: it checks the
// key, records every request and answers in the wire format of each
// route (OpenAI's for audio and images; seed 004's for video and music).
type mediaUpstream struct {
	*httptest.Server
	t        *testing.T
	mu       sync.Mutex
	requests []mediaCall
	polls    map[string]int // GETs of each video job
}

// mediaCall is one request the fake received.
type mediaCall struct {
	method, path, auth, contentType string
	json                            map[string]any    // a JSON body
	fields                          map[string]string // a multipart body's fields
	file                            []byte            // and its file part
	filename, fileType              string
}

func newMediaUpstream(t *testing.T) *mediaUpstream {
	u := &mediaUpstream{t: t, polls: map[string]int{}}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *mediaUpstream) serve(w http.ResponseWriter, r *http.Request) {
	call := mediaCall{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type")}
	if call.auth != "Bearer media-secret" {
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}`)
		return
	}
	mt, params, _ := mime.ParseMediaType(call.contentType)
	switch {
	case mt == "application/json":
		if err := json.NewDecoder(r.Body).Decode(&call.json); err != nil {
			http.Error(w, `{"error":{"message":"bad json"}}`, 400)
			return
		}
	case mt == "multipart/form-data":
		call.fields = map[string]string{}
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			data, _ := io.ReadAll(p)
			if p.FormName() == "file" {
				call.file, call.filename, call.fileType = data, p.FileName(), p.Header.Get("Content-Type")
			} else {
				call.fields[p.FormName()] += string(data)
			}
		}
	}
	u.mu.Lock()
	u.requests = append(u.requests, call)
	u.mu.Unlock()
	js := func(body string) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
	switch {
	case r.Method == "POST" && call.path == "/v1/audio/speech":
		w.Header().Set("Content-Type", "audio/mpeg")
		fmt.Fprintf(w, "ID3 %s says %s", call.json["voice"], call.json["input"])
	case r.Method == "POST" && call.path == "/v1/audio/transcriptions":
		if call.fields["response_format"] == "text" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "heard %d bytes\n", len(call.file))
			return
		}
		js(fmt.Sprintf(`{"text":"heard %d bytes of %s","usage":{"type":"tokens","input_tokens":5,"output_tokens":3,"total_tokens":8}}`, len(call.file), call.filename))
	case r.Method == "POST" && call.path == "/v1/images/generations":
		js(`{"created":1700000000,"data":[{"url":"https://img.example/1.png","revised_prompt":"a red fox"}],"usage":{"input_tokens":10,"output_tokens":20,"total_tokens":30}}`)
	case r.Method == "POST" && call.path == "/v1/music/generations":
		js(`{"created":1700000000,"data":[{"url":"https://music.example/1.mp3","duration":30}]}`)
	case r.Method == "POST" && call.path == "/v1/videos/generations":
		if strings.Contains(fmt.Sprint(call.json["prompt"]), "instant") {
			js(`{"id":"up-vid-fast","status":"succeeded","data":[{"url":"https://video.example/fast.mp4"}]}`)
			return
		}
		js(`{"job_id":"up-vid-1","status":"queued"}`)
	case r.Method == "GET" && strings.HasPrefix(call.path, "/v1/videos/generations/"):
		id := strings.TrimPrefix(call.path, "/v1/videos/generations/")
		u.mu.Lock()
		u.polls[id]++
		n := u.polls[id]
		u.mu.Unlock()
		if n == 1 {
			js(fmt.Sprintf(`{"id":%q,"status":"processing","progress":40}`, id))
			return
		}
		js(fmt.Sprintf(`{"id":%q,"status":"succeeded","progress":100,"data":[{"url":"https://video.example/%s.mp4"}]}`, id, id))
	default:
		http.Error(w, `{"error":{"message":"no such route"}}`, 404)
	}
}

// last returns the last request the fake received.
func (u *mediaUpstream) last() mediaCall {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.requests) == 0 {
		u.t.Fatal("the fake media provider received no request")
	}
	return u.requests[len(u.requests)-1]
}

// count returns how many requests the fake received.
func (u *mediaUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.requests)
}

// mediaRouter routes every media kind to the fake; client model names
// differ from the upstream's where the test checks the rewrite.
func mediaRouter(t *testing.T, u *mediaUpstream) *media.Router {
	t.Helper()
	r, err := media.NewRouter(media.Config{Providers: []media.ProviderConfig{{Name: "fake", BaseURL: u.URL + "/v1", APIKey: "media-secret",
		Models: []media.ModelConfig{
			{ID: "tts-1", Upstream: "up-tts", Kind: media.Speech, Voices: []string{"alloy", "nova"}},
			{ID: "tts-any", Kind: media.Speech},
			{ID: "whisper-1", Kind: media.Transcription},
			{ID: "dall-e-3", Kind: media.Image},
			{ID: "veo", Upstream: "veo-3", Kind: media.Video},
			{ID: "lyria", Kind: media.Music},
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newMediaServer(t *testing.T, u *mediaUpstream) *testServer {
	t.Helper()
	return serve(t, setup{svc: service.Config{Media: mediaRouter(t, u)}})
}

// TestMediaOffline: with no media model configured, every media route
// answers 503 naming the configuration to add, and the lists are empty.
func TestMediaOffline(t *testing.T) {
	ts := newTestServer(t)
	for _, tc := range []struct {
		name, path, code string
		body             any
	}{
		{"Speech", "/v1/audio/speech", "speech_unavailable", map[string]any{"model": "tts-1", "input": "hi", "voice": "alloy"}},
		{"Transcription", "/v1/audio/transcriptions", "transcription_unavailable", map[string]any{"model": "whisper-1", "file": "AAAA"}},
		{"Image", "/v1/images/generations", "image_unavailable", map[string]any{"model": "dall-e-3", "prompt": "a fox"}},
		{"Video", "/v1/videos/generations", "video_unavailable", map[string]any{"model": "veo", "prompt": "a fox"}},
		{"Music", "/v1/music/generations", "music_unavailable", map[string]any{"model": "lyria", "prompt": "a fox"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(t, "POST", tc.path, ts.admin, tc.body)
			code, _ := r.errCode()
			msg := str(obj(r.body["error"])["message"])
			if r.status != 503 || code != tc.code || !strings.Contains(msg, "chat.providers") || !strings.Contains(msg, "kind: ") {
				t.Fatalf("%d %s", r.status, r.raw)
			}
		})
	}
	models := ts.do(t, "GET", "/v1/audio/models", ts.admin, nil).must(t, 200)
	voices := ts.do(t, "GET", "/v1/audio/voices", ts.admin, nil).must(t, 200)
	if s, ok := models["speech"].([]any); !ok || len(s) != 0 {
		t.Errorf("audio models %v", models)
	}
	if v, ok := voices["voices"].([]any); !ok || len(v) != 0 {
		t.Errorf("voices %v", voices)
	}
	ts.do(t, "GET", "/v1/audio/models", "", nil).must(t, 401)
}

func TestAudioModelsAndVoices(t *testing.T) {
	ts := newMediaServer(t, newMediaUpstream(t))
	b := ts.do(t, "GET", "/v1/audio/models", ts.admin, nil).must(t, 200)
	speech, tr := list(b["speech"]), list(b["transcription"])
	if len(speech) != 2 || str(obj(speech[0])["id"]) != "tts-1" || str(obj(speech[0])["owned_by"]) != "fake" ||
		len(list(obj(speech[0])["voices"])) != 2 || len(tr) != 1 || str(obj(tr[0])["id"]) != "whisper-1" {
		t.Fatalf("audio models %s", ts.do(t, "GET", "/v1/audio/models", ts.admin, nil).raw)
	}
	v := list(ts.do(t, "GET", "/v1/audio/voices", ts.admin, nil).must(t, 200)["voices"])
	if len(v) != 2 || str(obj(v[0])["id"]) != "alloy" || str(obj(v[1])["name"]) != "nova" || str(list(obj(v[0])["models"])[0]) != "tts-1" {
		t.Fatalf("voices %v", v)
	}
}

func TestAudioSpeech(t *testing.T) {
	up := newMediaUpstream(t)
	ts := newMediaServer(t, up)
	r := ts.do(t, "POST", "/v1/audio/speech", ts.admin, map[string]any{"model": "tts-1", "input": "Hello there", "voice": "nova", "speed": 1.5})
	if r.status != 200 || r.header.Get("Content-Type") != "audio/mpeg" || string(r.raw) != "ID3 nova says Hello there" || r.header.Get("x-model-used") != "tts-1" {
		t.Fatalf("%d %v %q", r.status, r.header, r.raw)
	}
	call := up.last()
	if call.path != "/v1/audio/speech" || call.json["model"] != "up-tts" || call.json["input"] != "Hello there" || call.json["voice"] != "nova" || call.json["speed"] != 1.5 {
		t.Fatalf("upstream got %+v", call)
	}
	// A model without configured voices passes any voice through.
	ts.do(t, "POST", "/v1/audio/speech", ts.admin, map[string]any{"model": "tts-any", "input": "hi", "voice": "custom"}).must(t, 200)

	sent := up.count()
	for _, tc := range []struct {
		name   string
		body   any
		status int
		param  string
	}{
		{"ErrInputTooLong", map[string]any{"model": "tts-1", "input": strings.Repeat("é", media.MaxSpeechInput+1), "voice": "alloy"}, 400, "input"},
		{"ErrInputMissing", map[string]any{"model": "tts-1", "voice": "alloy"}, 400, "input"},
		{"ErrInputNotString", map[string]any{"model": "tts-1", "input": 5, "voice": "alloy"}, 400, "input"},
		{"ErrVoiceUnknown", map[string]any{"model": "tts-1", "input": "hi", "voice": "zeus"}, 400, "voice"},
		{"ErrVoiceMissing", map[string]any{"model": "tts-1", "input": "hi"}, 400, "voice"},
		{"ErrModelMissing", map[string]any{"input": "hi", "voice": "alloy"}, 400, "model"},
		{"ErrModelUnknown", map[string]any{"model": "tts-9", "input": "hi", "voice": "alloy"}, 404, "model"},
		{"ErrModelOfOtherKind", map[string]any{"model": "whisper-1", "input": "hi", "voice": "alloy"}, 404, "model"},
		{"ErrNotJSON", "[1,2]", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(t, "POST", "/v1/audio/speech", ts.admin, tc.body)
			_, param := r.errCode()
			if r.status != tc.status || (tc.param != "" && param != tc.param) {
				t.Fatalf("%d %s", r.status, r.raw)
			}
		})
	}
	// Exactly the limit passes.
	ts.do(t, "POST", "/v1/audio/speech", ts.admin, map[string]any{"model": "tts-1", "input": strings.Repeat("é", media.MaxSpeechInput), "voice": "alloy"}).must(t, 200)
	if up.count() != sent+1 {
		t.Fatalf("refused requests reached the provider: %d requests, want %d", up.count(), sent+1)
	}
}

func TestAudioTranscription(t *testing.T) {
	up := newMediaUpstream(t)
	ts := newMediaServer(t, up)
	audio := []byte("RIFF....WAVEfmt fake audio")
	post := func(t *testing.T, fields map[string]string, file []byte) response {
		t.Helper()
		return ts.postMultipart(t, "/v1/audio/transcriptions", ts.admin, "hello.wav", file, fields)
	}
	t.Run("Multipart", func(t *testing.T) {
		b := post(t, map[string]string{"model": "whisper-1", "language": "en"}, audio).must(t, 200)
		if b["text"] != fmt.Sprintf("heard %d bytes of hello.wav", len(audio)) {
			t.Fatalf("%v", b)
		}
		call := up.last()
		if call.path != "/v1/audio/transcriptions" || call.fields["model"] != "whisper-1" || call.fields["language"] != "en" ||
			!bytes.Equal(call.file, audio) || call.filename != "hello.wav" {
			t.Fatalf("upstream got %+v", call)
		}
	})
	t.Run("MultipartText", func(t *testing.T) {
		r := post(t, map[string]string{"model": "whisper-1", "response_format": "text"}, audio)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || string(r.raw) != fmt.Sprintf("heard %d bytes\n", len(audio)) {
			t.Fatalf("%d %v %q", r.status, r.header, r.raw)
		}
	})
	t.Run("Base64JSON", func(t *testing.T) {
		for _, file := range []string{base64.StdEncoding.EncodeToString(audio), "data:audio/wav;base64," + base64.StdEncoding.EncodeToString(audio)} {
			b := ts.do(t, "POST", "/v1/audio/transcriptions", ts.admin, map[string]any{"model": "whisper-1", "file": file, "filename": "clip.wav",
				"temperature": 0.2, "timestamp_granularities": []string{"word", "segment"}}).must(t, 200)
			call := up.last()
			if b["text"] != fmt.Sprintf("heard %d bytes of clip.wav", len(audio)) || !bytes.Equal(call.file, audio) ||
				call.fields["temperature"] != "0.2" || call.fields["timestamp_granularities[]"] != "wordsegment" || call.fields["model"] != "whisper-1" {
				t.Fatalf("%v; upstream got %+v", b, call)
			}
			if strings.HasPrefix(file, "data:") && call.fileType != "audio/wav" {
				t.Fatalf("file type %q", call.fileType)
			}
		}
	})
	for _, tc := range []struct {
		name   string
		send   func(t *testing.T) response
		status int
		param  string
	}{
		{"ErrFileMissing", func(t *testing.T) response { return post(t, map[string]string{"model": "whisper-1"}, nil) }, 400, "file"},
		{"ErrFileEmptyJSON", func(t *testing.T) response {
			return ts.do(t, "POST", "/v1/audio/transcriptions", ts.admin, map[string]any{"model": "whisper-1"})
		}, 400, "file"},
		{"ErrFileNotBase64", func(t *testing.T) response {
			return ts.do(t, "POST", "/v1/audio/transcriptions", ts.admin, map[string]any{"model": "whisper-1", "file": "%%%"})
		}, 400, "file"},
		{"ErrOptionObject", func(t *testing.T) response {
			return ts.do(t, "POST", "/v1/audio/transcriptions", ts.admin, map[string]any{"model": "whisper-1", "file": "AAAA", "prompt": map[string]any{}})
		}, 400, "prompt"},
		{"ErrModelMissing", func(t *testing.T) response { return post(t, nil, audio) }, 400, "model"},
		{"ErrModelUnknown", func(t *testing.T) response { return post(t, map[string]string{"model": "tts-1"}, audio) }, 404, "model"},
		{"ErrNotMultipart", func(t *testing.T) response {
			req, _ := http.NewRequest("POST", ts.URL+"/v1/audio/transcriptions", strings.NewReader("x"))
			req.Header.Set("Authorization", "Bearer "+ts.admin)
			req.Header.Set("Content-Type", "text/plain")
			return send(t, req)
		}, 400, "file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.send(t)
			if _, param := r.errCode(); r.status != tc.status || param != tc.param {
				t.Fatalf("%d %s", r.status, r.raw)
			}
		})
	}
}

func TestImageAndMusicGeneration(t *testing.T) {
	up := newMediaUpstream(t)
	ts := newMediaServer(t, up)
	b := ts.do(t, "POST", "/v1/images/generations", ts.admin, map[string]any{"model": "dall-e-3", "prompt": "a fox", "size": "1024x1024", "response_format": "url"}).must(t, 200)
	if str(obj(list(b["data"])[0])["url"]) != "https://img.example/1.png" {
		t.Fatalf("%v", b)
	}
	if c := up.last(); c.path != "/v1/images/generations" || c.json["model"] != "dall-e-3" || c.json["size"] != "1024x1024" || c.json["prompt"] != "a fox" {
		t.Fatalf("upstream got %+v", c)
	}
	b = ts.do(t, "POST", "/v1/music/generations", ts.admin, map[string]any{"model": "lyria", "prompt": "calm piano", "duration": 30}).must(t, 200)
	if str(obj(list(b["data"])[0])["url"]) != "https://music.example/1.mp3" {
		t.Fatalf("%v", b)
	}
	if c := up.last(); c.path != "/v1/music/generations" || c.json["duration"] != 30.0 {
		t.Fatalf("upstream got %+v", c)
	}
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		param      string
	}{
		{"ErrImagePromptMissing", "/v1/images/generations", map[string]any{"model": "dall-e-3"}, 400, "prompt"},
		{"ErrImageModelUnknown", "/v1/images/generations", map[string]any{"model": "lyria", "prompt": "x"}, 404, "model"},
		{"ErrMusicPromptMissing", "/v1/music/generations", map[string]any{"model": "lyria", "prompt": " "}, 400, "prompt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(t, "POST", tc.path, ts.admin, tc.body)
			if _, param := r.errCode(); r.status != tc.status || param != tc.param {
				t.Fatalf("%d %s", r.status, r.raw)
			}
		})
	}
	// Media requests count in usage and request logs like any other, with
	// the tokens the provider reported.
	month := obj(ts.do(t, "GET", "/v1/usage", ts.admin, nil).must(t, 200)["current_month"])
	img := obj(obj(month["by_endpoint"])["POST /v1/images/generations"])
	if img["requests"] != 3.0 || img["prompt_tokens"] != 10.0 || img["completion_tokens"] != 20.0 {
		t.Fatalf("image usage %v", img)
	}
	// A request is logged once its answer is written, so the client may
	// read the logs before the last one is queued.
	var logs []any
	testwait.Until(t, 10*time.Second, func() bool {
		logs = list(ts.do(t, "GET", "/v1/request-logs?endpoint=/v1/music/generations", ts.admin, nil).must(t, 200)["requests"])
		return len(logs) >= 2
	}, "the music requests were not both logged")
	if len(logs) != 2 {
		t.Fatalf("music request logs %v", logs)
	}
}

// A provider that refuses ragd's key fails the request without reaching
// a fake answer.
func TestMediaUpstreamKeyRefused(t *testing.T) {
	up := newMediaUpstream(t)
	r, err := media.NewRouter(media.Config{Providers: []media.ProviderConfig{{Name: "fake", BaseURL: up.URL + "/v1", APIKey: "wrong",
		Models: []media.ModelConfig{{ID: "dall-e-3", Kind: media.Image}}}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := serve(t, setup{svc: service.Config{Media: r}})
	res := ts.do(t, "POST", "/v1/images/generations", ts.admin, map[string]any{"model": "dall-e-3", "prompt": "a fox"})
	if res.status != 422 || !strings.Contains(string(res.raw), "HTTP 401") {
		t.Fatalf("%d %s", res.status, res.raw)
	}
}

func TestVideoJobs(t *testing.T) {
	up := newMediaUpstream(t)
	ts := newMediaServer(t, up)
	b := ts.do(t, "POST", "/v1/videos/generations", ts.admin, map[string]any{"model": "veo", "prompt": "A cat playing with a red ball", "seconds": 8}).must(t, 200)
	id := str(b["job_id"])
	if !strings.HasPrefix(id, "vidjob_") || b["id"] != id || b["status"] != "queued" || b["model"] != "veo" || b["object"] != "video.generation" {
		t.Fatalf("created %v", b)
	}
	if c := up.last(); c.path != "/v1/videos/generations" || c.json["model"] != "veo-3" || c.json["seconds"] != 8.0 {
		t.Fatalf("upstream got %+v", c)
	}
	b = ts.do(t, "GET", "/v1/videos/generations/"+id, ts.admin, nil).must(t, 200)
	if b["status"] != "in_progress" || b["progress"] != 40.0 || b["job_id"] != id {
		t.Fatalf("first poll %v", b)
	}
	if c := up.last(); c.method != "GET" || c.path != "/v1/videos/generations/up-vid-1" {
		t.Fatalf("upstream got %+v", c)
	}
	b = ts.do(t, "GET", "/v1/videos/generations/"+id, ts.admin, nil).must(t, 200)
	if b["status"] != "completed" || str(obj(list(b["data"])[0])["url"]) != "https://video.example/up-vid-1.mp4" || b["id"] != id {
		t.Fatalf("second poll %v", b)
	}
	// A finished job is answered from the store.
	n := up.count()
	ts.do(t, "GET", "/v1/videos/generations/"+id, ts.admin, nil).must(t, 200)
	if up.count() != n {
		t.Fatal("a finished job was polled at the provider again")
	}
	other := ts.key(t, "other", false)
	ts.do(t, "GET", "/v1/videos/generations/"+id, other, nil).must(t, 404)
	ts.do(t, "GET", "/v1/videos/generations/vidjob_missing", ts.admin, nil).must(t, 404)
	r := ts.do(t, "POST", "/v1/videos/generations", ts.admin, map[string]any{"model": "veo"})
	if _, param := r.errCode(); r.status != 400 || param != "prompt" {
		t.Fatalf("no prompt: %d %s", r.status, r.raw)
	}
}

// Seed 003's synchronous route answers with the finished job's data.
func TestVideoGenerationSync(t *testing.T) {
	ts := newMediaServer(t, newMediaUpstream(t))
	b := ts.do(t, "POST", "/v1/video/generations", ts.admin, map[string]any{"model": "veo", "prompt": "an instant cat"}).must(t, 200)
	if str(obj(list(b["data"])[0])["url"]) != "https://video.example/fast.mp4" || b["status"] != "completed" {
		t.Fatalf("%v", b)
	}
	// Its job stays pollable.
	ts.do(t, "GET", "/v1/videos/generations/"+str(b["job_id"]), ts.admin, nil).must(t, 200)
}

// A video job survives a restart: a server on the same data directory
// polls the provider's job and answers with it.
func TestVideoJobSurvivesRestart(t *testing.T) {
	up := newMediaUpstream(t)
	dir := t.TempDir()
	open := func() (*store.Store, *server.Server, *httptest.Server, string) {
		st, err := store.Open(filepath.Join(dir, store.FileName))
		if err != nil {
			t.Fatal(err)
		}
		svc := service.New(service.Config{Store: st, Media: mediaRouter(t, up), Embedders: embed.NewRegistry(embed.HashModelName, embed.NewHash(384))})
		srv := server.New(svc, server.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		srv.Start()
		ts := &testServer{Server: httptest.NewServer(srv.Handler()), store: st}
		return st, srv, ts.Server, ts.key(t, "default", false)
	}
	stop := func(st *store.Store, srv *server.Server, hs *httptest.Server) {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Error(err)
		}
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}
	st, srv, hs, key := open()
	ts := &testServer{Server: hs}
	id := str(ts.do(t, "POST", "/v1/videos/generations", key, map[string]any{"model": "veo", "prompt": "a slow cat"}).must(t, 200)["job_id"])
	stop(st, srv, hs)

	st, srv, hs, _ = open()
	defer stop(st, srv, hs)
	ts = &testServer{Server: hs}
	for _, want := range []string{"in_progress", "completed"} {
		if b := ts.do(t, "GET", "/v1/videos/generations/"+id, key, nil).must(t, 200); b["status"] != want || b["job_id"] != id {
			t.Fatalf("after the restart: %v, want status %s", b, want)
		}
	}
}

// Media models are priced per request (seed 004): each generation and
// video job carries its cost in x-credits-used once, and /v1/usage counts
// it by model; polling a job is free.
func TestMediaCredits(t *testing.T) {
	up := newMediaUpstream(t)
	ts := serve(t, setup{svc: service.Config{Media: mediaRouter(t, up)},
		cfg: server.Config{Prices: map[string]ragd.Price{"dall-e-3": {PerRequest: 0.04}, "veo": {PerRequest: 0.5}}}})
	r := ts.do(t, "POST", "/v1/images/generations", ts.admin, map[string]any{"model": "dall-e-3", "prompt": "a fox"})
	r.must(t, 200)
	if got := r.header.Get("x-credits-used"); got != "0.04" {
		t.Errorf("image credits %q", got)
	}
	r = ts.do(t, "POST", "/v1/videos/generations", ts.admin, map[string]any{"model": "veo", "prompt": "a fox"})
	job := r.must(t, 200)
	if got := r.header.Get("x-credits-used"); got != "0.5" {
		t.Errorf("video job credits %q", got)
	}
	if r := ts.do(t, "GET", "/v1/videos/generations/"+str(job["id"]), ts.admin, nil); r.header.Get("x-credits-used") != "0" {
		t.Errorf("a poll cost %q", r.header.Get("x-credits-used"))
	}
	var use map[string]any
	testwait.Until(t, 30*time.Second, func() bool {
		use = obj(ts.do(t, "GET", "/v1/usage", ts.admin, nil).must(t, 200)["current_month"])
		return obj(obj(use["by_model"])["veo"])["credits"] == 0.5
	}, "the video job's credits were not counted by model: %v", use)
	if img := obj(obj(use["by_model"])["dall-e-3"]); img["credits"] != 0.04 || img["requests"] != 1.0 {
		t.Errorf("dall-e-3 usage %v", img)
	}
}
