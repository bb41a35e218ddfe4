package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/media"
)

// maxAudioBytes bounds an audio file to transcribe: OpenAI's limit, which
// clients written for it already respect.
const maxAudioBytes = 25 << 20

// videoPollInterval is how often the synchronous video route (seed 003's
// POST /v1/video/generations) asks the provider about its job.
const videoPollInterval = 2 * time.Second

func (s *Server) registerMediaRoutes(g *echo.Group) {
	g.GET("/audio/models", s.handleAudioModels)
	g.GET("/audio/voices", s.handleAudioVoices)
	g.POST("/audio/speech", s.handleSpeech)
	g.POST("/audio/transcriptions", s.handleTranscription)
	g.POST("/images/generations", s.generate(media.Image))
	g.POST("/music/generations", s.generate(media.Music))
	g.POST("/videos/generations", s.handleVideoCreate)
	g.GET("/videos/generations/:job_id", s.handleVideoGet)
	g.POST("/video/generations", s.handleVideoGenerate)
}

// mediaModel is a media model in the audio model list.
type mediaModel struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	OwnedBy string   `json:"owned_by"`
	Voices  []string `json:"voices,omitempty"`
}

func mediaModels(models []media.Model) []mediaModel {
	out := make([]mediaModel, len(models))
	for i, m := range models {
		out[i] = mediaModel{ID: m.ID, Object: "model", OwnedBy: m.Provider, Voices: m.Voices}
	}
	return out
}

// handleAudioModels lists the speech models under seed 002's "speech" key,
// and the transcription models beside them.
func (s *Server) handleAudioModels(c echo.Context) error {
	r := s.svc.MediaModels()
	return c.JSON(http.StatusOK, map[string]any{"speech": mediaModels(r.Models(media.Speech)),
		"transcription": mediaModels(r.Models(media.Transcription))})
}

// voice is a voice in the voice list, with the speech models that have it.
type voice struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Models []string `json:"models"`
}

// handleAudioVoices lists the configured voices of every speech model, in
// config order, each once.
func (s *Server) handleAudioVoices(c echo.Context) error {
	voices := []*voice{}
	byID := map[string]*voice{}
	for _, m := range s.svc.MediaModels().Models(media.Speech) {
		for _, v := range m.Voices {
			if byID[v] == nil {
				byID[v] = &voice{ID: v, Name: v}
				voices = append(voices, byID[v])
			}
			byID[v].Models = append(byID[v].Models, m.ID)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"voices": voices})
}

func (s *Server) handleSpeech(c echo.Context) error {
	body, err := readBody(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	return s.sendOutput(c)(s.svc.Speech(c.Request().Context(), body))
}

// generate returns the handler of the image or music route.
func (s *Server) generate(kind media.Kind) echo.HandlerFunc {
	return func(c echo.Context) error {
		body, err := readBody(c, s.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		return s.sendOutput(c)(s.svc.Generate(c.Request().Context(), kind, body))
	}
}

// sendOutput returns what sends a provider's answer as it came, naming the
// model in x-model-used and counting the tokens it reported.
func (s *Server) sendOutput(c echo.Context) func(*media.Output, error) error {
	return func(out *media.Output, err error) error {
		if err != nil {
			return err
		}
		AddTokens(c, TokenUse{Model: out.Model, Prompt: out.Usage.InputTokens, Completion: out.Usage.OutputTokens})
		c.Response().Header().Set("x-model-used", out.Model)
		return c.Blob(http.StatusOK, out.ContentType, out.Body)
	}
}

// handleTranscription reads the audio from OpenAI's multipart form
// (file, model and options) or from a JSON body whose file is base64
// (seed 004), and answers with the transcription as the provider wrote
// it.
func (s *Server) handleTranscription(c echo.Context) error {
	ct, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	var req *media.TranscriptionRequest
	var err error
	if ct == echo.MIMEApplicationJSON {
		req, err = transcriptionJSON(c)
	} else {
		req, err = transcriptionForm(c)
	}
	if err != nil {
		return err
	}
	return s.sendOutput(c)(s.svc.Transcribe(c.Request().Context(), req))
}

// transcriptionForm reads a multipart transcription request.
func transcriptionForm(c echo.Context) (*media.TranscriptionRequest, error) {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxAudioBytes+maxFormField*4)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, ragd.Invalid("file", "send the audio as multipart/form-data with a part named \"file\", or as JSON with the file in base64: %v", err)
	}
	req := &media.TranscriptionRequest{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return req, nil
		}
		if err != nil {
			return nil, multipartError(err)
		}
		name := p.FormName()
		if name == "file" {
			req.Filename, req.ContentType = p.FileName(), p.Header.Get(echo.HeaderContentType)
			if req.File, err = io.ReadAll(io.LimitReader(p, maxAudioBytes+1)); err != nil {
				return nil, multipartError(err)
			}
			if len(req.File) > maxAudioBytes {
				return nil, audioTooLarge()
			}
			continue
		}
		v, err := formValue(p, name)
		if err != nil {
			return nil, err
		}
		if name == "model" {
			req.Model = string(v)
		} else {
			req.Fields = append(req.Fields, [2]string{name, string(v)})
		}
	}
}

func audioTooLarge() error {
	return &ragd.Error{Kind: ragd.ETOOLARGE, Code: "file_too_large", Param: "file",
		Message: "the audio file is larger than the limit of 25 MiB; split it or compress it"}
}

// transcriptionJSON reads a JSON transcription request: {"model", "file":
// base64 or a data: URL, "filename"?, options...}. Options are sent as
// form fields: strings as they are, numbers and booleans as JSON writes
// them, arrays (timestamp_granularities) as one "name[]" field per value.
func transcriptionJSON(c echo.Context) (*media.TranscriptionRequest, error) {
	var body map[string]json.RawMessage
	if err := decodeJSON(c, maxAudioBytes/3*4+maxFormField, false, &body); err != nil {
		return nil, err
	}
	req := &media.TranscriptionRequest{}
	var file string
	for key, dst := range map[string]*string{"model": &req.Model, "file": &file, "filename": &req.Filename} {
		if raw, ok := body[key]; ok && json.Unmarshal(raw, dst) != nil {
			return nil, ragd.Invalid(key, "%s must be a string", key)
		}
		delete(body, key)
	}
	if meta, data, ok := strings.Cut(file, ","); ok && strings.HasPrefix(meta, "data:") {
		req.ContentType, _, _ = strings.Cut(strings.TrimPrefix(meta, "data:"), ";")
		file = data
	}
	var err error
	if req.File, err = base64.StdEncoding.DecodeString(file); err != nil {
		return nil, ragd.Invalid("file", "file must be the audio in base64 (or a data: URL of it): %v", err)
	}
	if len(req.File) > maxAudioBytes {
		return nil, audioTooLarge()
	}
	for _, key := range slices.Sorted(maps.Keys(body)) {
		raw := body[key]
		var values []json.RawMessage
		name := key
		if json.Unmarshal(raw, &values) == nil {
			name = strings.TrimSuffix(key, "[]") + "[]"
		} else {
			values = []json.RawMessage{raw}
		}
		for _, v := range values {
			var str string
			switch text := string(v); {
			case json.Unmarshal(v, &str) == nil:
			case text == "null" || text[0] == '{' || text[0] == '[':
				return nil, ragd.Invalid(key, "%s must be a string, number, boolean or array of them", key)
			default:
				str = text // a number or boolean, as JSON writes it
			}
			req.Fields = append(req.Fields, [2]string{name, str})
		}
	}
	return req, nil
}

// videoJob is the JSON of a video job: the provider's last answer about
// it, with ragd's id (as id and job_id, seed 004's name), model, status
// and creation time.
func videoJob(j *ragd.VideoJob) map[string]any {
	out := map[string]any{}
	_ = json.Unmarshal(j.Record, &out) // stored only once read as a JSON object
	out["id"], out["job_id"], out["object"] = j.ID, j.ID, "video.generation"
	out["model"], out["status"], out["created"] = j.Model, j.Status, j.Created
	return out
}

func (s *Server) handleVideoCreate(c echo.Context) error {
	body, err := readBody(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	j, err := s.svc.CreateVideoJob(c.Request().Context(), workspaceOf(c), body)
	if err != nil {
		return err
	}
	// A job is charged once, when it is created: polls are free.
	AddTokens(c, TokenUse{Model: j.Model})
	return c.JSON(http.StatusOK, videoJob(j))
}

func (s *Server) handleVideoGet(c echo.Context) error {
	j, err := s.svc.VideoJob(c.Request().Context(), workspaceOf(c), c.Param("job_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, videoJob(j))
}

// handleVideoGenerate is seed 003's synchronous route: it answers once
// the job is done, with its data (data[0].url).
func (s *Server) handleVideoGenerate(c echo.Context) error {
	body, err := readBody(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	j, err := s.svc.GenerateVideo(c.Request().Context(), workspaceOf(c), body, videoPollInterval)
	if err != nil {
		return err
	}
	AddTokens(c, TokenUse{Model: j.Model})
	return c.JSON(http.StatusOK, videoJob(j))
}
