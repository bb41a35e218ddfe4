package media

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/upstream"
)

// MaxSpeechInput is the longest speech input in characters (seed 002;
// OpenAI allows 4,096).
const MaxSpeechInput = 2000

// body is a JSON request body member by member: ragd reads a few members
// and rewrites model; the others pass through to the provider.
type body map[string]json.RawMessage

// parseBody reads a JSON object body.
func parseBody(data []byte) (body, error) {
	var b body
	if err := json.Unmarshal(data, &b); err != nil || b == nil {
		return nil, ragd.Invalid("", "the request body must be a JSON object")
	}
	return b, nil
}

// str returns member key as a string: "" when absent or null, EINVALID
// naming it when it is not a string, or when it is required and empty.
func (b body) str(key string, required bool) (string, error) {
	var s string
	if raw, ok := b[key]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", ragd.Invalid(key, "%s must be a string", key)
		}
	}
	if required && strings.TrimSpace(s) == "" {
		return "", ragd.Invalid(key, "%s is required", key)
	}
	return s, nil
}

// forModel returns the body sent to rt's provider: b with rt's upstream
// model name.
func (b body) forModel(rt *route) ([]byte, error) {
	out := make(body, len(b))
	for k, v := range b {
		out[k] = v
	}
	name, err := json.Marshal(rt.upstream)
	if err != nil {
		return nil, err
	}
	out["model"] = name
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// routeOf reads the model of b and returns its route among the models of
// kind, with the errors of find.
func (r *Router) routeOf(kind Kind, b body) (*route, error) {
	model, err := b.str("model", false)
	if err != nil {
		return nil, err
	}
	return r.find(kind, model)
}

// speechTypes are the content types of OpenAI's speech response formats,
// for a provider that names none.
var speechTypes = map[string]string{"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
	"wav": "audio/wav", "pcm": "audio/pcm"}

// Speech reads a speech request, {"model", "input", "voice"} plus any of
// the provider's options, and returns the audio the model made of it with
// its content type. Beside the errors of the provider (see
// upstream.Client.Do) it returns EINVALID naming input when input is
// missing or longer than MaxSpeechInput characters, and naming voice when
// voice is missing or not one of the model's configured voices, and the
// model errors of the router (EINVALID, ENOTFOUND, EUNAVAILABLE with code
// speech_unavailable when no speech model is configured).
func (r *Router) Speech(ctx context.Context, data []byte) (*Output, error) {
	b, err := parseBody(data)
	if err != nil {
		return nil, err
	}
	rt, err := r.routeOf(Speech, b)
	if err != nil {
		return nil, err
	}
	input, err := b.str("input", true)
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(input); n > MaxSpeechInput {
		return nil, ragd.Invalid("input", "input is %d characters long; the limit is %d", n, MaxSpeechInput)
	}
	voice, err := b.str("voice", true)
	if err != nil {
		return nil, err
	}
	if len(rt.Voices) > 0 && !slices.Contains(rt.Voices, voice) {
		return nil, &ragd.Error{Kind: ragd.EINVALID, Code: "voice_not_found", Param: "voice",
			Message: fmt.Sprintf("model %q has no voice %q; its voices: %s", rt.ID, voice, strings.Join(rt.Voices, ", "))}
	}
	format, err := b.str("response_format", false)
	if err != nil {
		return nil, err
	}
	payload, err := b.forModel(rt)
	if err != nil {
		return nil, err
	}
	out, err := rt.call(ctx, upstream.Request{Body: payload, Accept: "*/*"}, "")
	if err != nil {
		return nil, err
	}
	if out.ContentType == "" {
		if format == "" {
			format = "mp3"
		}
		out.ContentType = speechTypes[format]
	}
	if out.ContentType == "" {
		out.ContentType = "application/octet-stream"
	}
	return out, nil
}

// TranscriptionRequest is an audio file to transcribe, read from a
// multipart form or a JSON body with the file in base64.
type TranscriptionRequest struct {
	// Model is the transcription model.
	Model string
	// File is the audio.
	File []byte
	// Filename is the file's name; providers tell the audio format by its
	// extension.
	Filename string
	// ContentType is the file's type, "" when unknown.
	ContentType string
	// Fields are the other form fields (language, prompt, response_format,
	// temperature, timestamp_granularities[], ...), in order, passed
	// through to the provider.
	Fields [][2]string
}

// Transcribe sends req's audio to its model as OpenAI's multipart form
// and returns the transcription as the provider wrote it (JSON, or text,
// SRT or VTT as response_format asked). Beside the errors of the provider
// and the model errors of the router (code transcription_unavailable when
// no transcription model is configured) it returns EINVALID naming file
// when the file is missing or empty.
func (r *Router) Transcribe(ctx context.Context, req *TranscriptionRequest) (*Output, error) {
	rt, err := r.find(Transcription, req.Model)
	if err != nil {
		return nil, err
	}
	if len(req.File) == 0 {
		return nil, ragd.Invalid("file", "file is required: the audio to transcribe, as a multipart file or base64 in JSON")
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("model", rt.upstream); err != nil {
		return nil, err
	}
	for _, f := range req.Fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	name := req.Filename
	if name == "" {
		name = "audio"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	ct := req.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, err
	}
	if _, err := part.Write(req.File); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return rt.call(ctx, upstream.Request{Body: buf.Bytes(), ContentType: w.FormDataContentType(), Accept: "*/*"}, "")
}

// Generate reads an image or music generation request, {"model",
// "prompt"} plus the provider's options, and returns the provider's
// answer as it came: for images OpenAI's {"created", "data": [{"url" |
// "b64_json", ...}]}. Beside the errors of the provider and the model
// errors of the router it returns EINVALID naming prompt when it is
// missing.
func (r *Router) Generate(ctx context.Context, kind Kind, data []byte) (*Output, error) {
	rt, payload, err := r.generation(kind, data)
	if err != nil {
		return nil, err
	}
	return rt.call(ctx, upstream.Request{Body: payload, Accept: "*/*"}, "")
}

// generation reads a generation request of kind and returns its route
// and the body to send.
func (r *Router) generation(kind Kind, data []byte) (*route, []byte, error) {
	b, err := parseBody(data)
	if err != nil {
		return nil, nil, err
	}
	rt, err := r.routeOf(kind, b)
	if err != nil {
		return nil, nil, err
	}
	if _, err := b.str("prompt", true); err != nil {
		return nil, nil, err
	}
	payload, err := b.forModel(rt)
	return rt, payload, err
}
