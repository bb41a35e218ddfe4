package embed

import (
	"encoding/json"
	"fmt"
)

// OpenAI embeds through an OpenAI-compatible server: POST
// {BaseURL}/embeddings as spoken by OpenAI, vLLM, llama.cpp's server,
// LocalAI and text-embeddings-inference's OpenAI route. Vectors come back
// normalised. It is safe for concurrent use.
type OpenAI struct{ *remote }

var _ Embedder = (*OpenAI)(nil)

// NewOpenAI returns an OpenAI-compatible embedder. An invalid configuration
// is an EINVALID error naming the field.
func NewOpenAI(cfg RemoteConfig) (*OpenAI, error) {
	r, err := newRemote("openai", "/embeddings", openAIWire, cfg)
	if err != nil {
		return nil, err
	}
	return &OpenAI{r}, nil
}

type openAIRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
}

type openAIResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

var openAIWire = wireFormat{
	pingPath: "/models",
	request: func(model string, batch []string) any {
		return openAIRequest{Model: model, Input: batch, EncodingFormat: "float"}
	},
	decode: func(body []byte) ([][]float32, error) {
		var resp openAIResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			return nil, err
		}
		// Place each vector by its index: servers may answer out of order.
		out := make([][]float32, len(resp.Data))
		for _, d := range resp.Data {
			if d.Index < 0 || d.Index >= len(out) || out[d.Index] != nil {
				return nil, fmt.Errorf("data index %d is out of range or repeated", d.Index)
			}
			out[d.Index] = d.Embedding
		}
		return out, nil
	},
}
