package embed

import "encoding/json"

// Ollama embeds through Ollama's POST {BaseURL}/api/embed. Vectors come
// back normalised. It is safe for concurrent use.
type Ollama struct{ *remote }

var _ Embedder = (*Ollama)(nil)

// NewOllama returns an Ollama embedder; BaseURL is the server root, e.g.
// http://127.0.0.1:11434. An invalid configuration is an EINVALID error
// naming the field.
func NewOllama(cfg RemoteConfig) (*Ollama, error) {
	r, err := newRemote("ollama", "/api/embed", ollamaWire, cfg)
	if err != nil {
		return nil, err
	}
	return &Ollama{r}, nil
}

type ollamaRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

var ollamaWire = wireFormat{
	pingPath: "/api/version",
	request: func(model string, batch []string) any {
		return ollamaRequest{Model: model, Input: batch}
	},
	decode: func(body []byte) ([][]float32, error) {
		var resp struct {
			Embeddings [][]float32 `json:"embeddings"`
		}
		err := json.Unmarshal(body, &resp)
		return resp.Embeddings, err
	},
}
