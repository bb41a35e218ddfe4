package server

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/internal/vecmath"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/tokenize"
)

func (s *Server) registerEmbeddingRoutes(g *echo.Group) {
	g.POST("/embeddings", s.handleEmbeddings)
}

// MaxEmbeddingInputs is the most texts one /v1/embeddings call may embed,
// as in OpenAI's API.
const MaxEmbeddingInputs = 2048

type embeddingsRequest struct {
	Input          json.RawMessage `json:"input"`
	Model          string          `json:"model"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
	User           string          `json:"user"`
}

type embeddingData struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

type embeddingsResponse struct {
	Object string          `json:"object"`
	Data   []embeddingData `json:"data"`
	Model  string          `json:"model"`
	Usage  usage           `json:"usage"`
}

// countTokens counts text in cl100k_base tokens, the unit of ragd's usage.
func countTokens(text string) int { return tokenize.MustGet(tokenize.CL100K).Count(text) }

// parseInputs reads OpenAI's input: a string or an array of strings.
func parseInputs(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ragd.Invalid("input", "input is required: a string or an array of strings")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, ragd.Invalid("input", "input must not be empty: send the text to embed")
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, ragd.Invalid("input", "input must be a string or an array of strings (token arrays are not supported)")
	}
	if len(many) == 0 || len(many) > MaxEmbeddingInputs {
		return nil, ragd.Invalid("input", "input must hold between 1 and %d strings, got %d", MaxEmbeddingInputs, len(many))
	}
	for i, s := range many {
		if s == "" {
			param := "input[" + strconv.Itoa(i) + "]"
			return nil, ragd.Invalid(param, "%s must not be empty: send the text to embed", param)
		}
	}
	return many, nil
}

func (s *Server) handleEmbeddings(c echo.Context) error {
	var req embeddingsRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, false, &req); err != nil {
		return err
	}
	texts, err := parseInputs(req.Input)
	if err != nil {
		return err
	}
	emb := s.svc.Embedders().Default()
	if req.Model != "" {
		if emb, err = s.svc.Embedders().Get(req.Model); err != nil {
			return err
		}
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		return ragd.Invalid("encoding_format", "encoding_format must be float or base64, got %q", req.EncodingFormat)
	}
	dims := emb.Dimensions()
	if req.Dimensions != nil {
		if *req.Dimensions < 1 || *req.Dimensions > dims {
			return ragd.Invalid("dimensions", "dimensions must be between 1 and %d for model %s", dims, emb.Name())
		}
		dims = *req.Dimensions
	}
	tokens := 0
	for i, t := range texts {
		n := countTokens(t)
		if n > emb.MaxInputTokens() {
			return ragd.Invalid("input", "input[%d] has %d tokens; model %s takes at most %d", i, n, emb.Name(), emb.MaxInputTokens())
		}
		tokens += n
	}
	if err := s.reserveTokens(c, tokens); err != nil {
		return err
	}
	vecs, err := emb.Embed(c.Request().Context(), texts)
	if err != nil {
		return err
	}
	resp := embeddingsResponse{Object: "list", Model: emb.Name(), Usage: embeddingUsage(c, service.Tokens{}.Add(emb.Name(), tokens)), Data: make([]embeddingData, len(vecs))}
	for i, v := range vecs {
		if dims < len(v) {
			// Shortened vectors are renormalised, as OpenAI does.
			v = append([]float32(nil), v[:dims]...)
			embed.Normalize(v)
		}
		d := embeddingData{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			d.Embedding = base64Vector(v)
		}
		resp.Data[i] = d
	}
	return c.JSON(http.StatusOK, resp)
}

// base64Vector encodes v as OpenAI's base64 format: little-endian float32.
func base64Vector(v []float32) string {
	return base64.StdEncoding.EncodeToString(vecmath.Bytes(v))
}
