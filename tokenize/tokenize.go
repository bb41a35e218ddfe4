// Package tokenize counts and splits text into tokens with tiktoken's BPE
// encodings (cl100k_base, o200k_base), loaded offline from the binary.
package tokenize

import (
	"strings"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
	"github.com/ragd/ragd"
)

// Encoding names.
const (
	CL100K = "cl100k_base"
	O200K  = "o200k_base"
)

func init() {
	// Encodings ship inside the binary; nothing is downloaded at run time.
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
}

// Encoding is a loaded BPE encoding, safe for concurrent use.
type Encoding struct {
	name string
	tk   *tiktoken.Tiktoken
}

var (
	mu        sync.Mutex
	encodings = map[string]*Encoding{}
)

// Get returns the named encoding, loading it on first use. An unknown name
// is an EINVALID error.
func Get(name string) (*Encoding, error) {
	mu.Lock()
	defer mu.Unlock()
	if e, ok := encodings[name]; ok {
		return e, nil
	}
	if name != CL100K && name != O200K {
		return nil, ragd.Invalid("encoding", "unknown token encoding %q; use %s or %s", name, CL100K, O200K)
	}
	tk, err := tiktoken.GetEncoding(name)
	if err != nil {
		return nil, err
	}
	e := &Encoding{name: name, tk: tk}
	encodings[name] = e
	return e, nil
}

// MustGet is Get for the built-in encoding names; it panics on failure,
// which only a broken build can cause.
func MustGet(name string) *Encoding {
	e, err := Get(name)
	if err != nil {
		panic(err)
	}
	return e
}

// EncodingNameForModel returns the encoding a model family uses: o200k_base
// for gpt-4o, gpt-4.1, gpt-5 and the o-series, cl100k_base otherwise.
func EncodingNameForModel(model string) string {
	m := strings.ToLower(model)
	for _, p := range []string{"gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o"} {
		if strings.HasPrefix(m, p) {
			return O200K
		}
	}
	return CL100K
}

// Name returns the encoding's name.
func (e *Encoding) Name() string { return e.name }

// Encode returns the tokens of text; special-token text is encoded as
// ordinary text.
func (e *Encoding) Encode(text string) []int { return e.tk.EncodeOrdinary(text) }

// Decode returns the text of tokens.
func (e *Encoding) Decode(tokens []int) string { return e.tk.Decode(tokens) }

// Count returns the number of tokens in text.
func (e *Encoding) Count(text string) int { return len(e.tk.EncodeOrdinary(text)) }
