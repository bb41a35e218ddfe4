// Package tokenize counts and splits text into tokens with tiktoken's BPE
// encodings (cl100k_base, o200k_base), loaded offline from the binary.
package tokenize

import (
	"strings"
	"sync"
	"unicode/utf8"

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
//
// cl100k_base runs on a native encoder about ten times faster than
// tiktoken-go's (see native.go and BenchmarkCount); o200k_base runs on
// tiktoken-go.
type Encoding struct {
	name string
	nat  *native            // cl100k_base
	tk   *tiktoken.Tiktoken // the others
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
	e := &Encoding{name: name}
	if name == CL100K {
		ranks, err := tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe(name + ".tiktoken")
		if err != nil {
			return nil, err
		}
		e.nat = newNative(ranks)
	} else {
		tk, err := tiktoken.GetEncoding(name)
		if err != nil {
			return nil, err
		}
		e.tk = tk
	}
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
func (e *Encoding) Encode(text string) []int {
	if e.nat == nil {
		return e.tk.EncodeOrdinary(text)
	}
	toks := make([]int, 0, len(text)/4+1)
	e.nat.scan(text, true, func(tok, _ int, _ bool) { toks = append(toks, tok) })
	return toks
}

// Decode returns the text of tokens.
func (e *Encoding) Decode(tokens []int) string {
	if e.nat == nil {
		return e.tk.Decode(tokens)
	}
	var b strings.Builder
	for _, t := range tokens {
		if t >= 0 && t < len(e.nat.decoder) {
			b.WriteString(e.nat.decoder[t])
		}
	}
	return b.String()
}

// Count returns the number of tokens in text.
func (e *Encoding) Count(text string) int {
	if e.nat == nil {
		return len(e.tk.EncodeOrdinary(text))
	}
	n := 0
	e.nat.scan(text, true, func(int, int, bool) { n++ })
	return n
}

// Scan tokenizes a text that arrives in parts without holding it whole.
// It encodes the longest prefix of text that more text cannot change (all
// of text when eof is true), calls fn for each token with its id, its
// length in bytes and whether it begins a pre-tokenizer piece (a point
// where the text can be cut and each side re-encoded to the same tokens),
// and returns the number of bytes consumed; the caller passes the rest
// again, followed by the next part. The sizes of the tokens add up to the
// bytes consumed. With cl100k_base at most a few kilobytes stay
// unconsumed; other encodings (through tiktoken-go, whose sizes add up
// only for valid UTF-8) consume nothing until eof.
func (e *Encoding) Scan(text string, eof bool, fn func(tok, size int, pieceStart bool)) int {
	if e.nat != nil {
		return e.nat.scan(text, eof, fn)
	}
	if !eof {
		return 0
	}
	for i, t := range e.tk.EncodeOrdinary(text) {
		fn(t, len(e.tk.Decode([]int{t})), i == 0)
	}
	return len(text)
}

// ForModel returns the encoding of a model name (see EncodingNameForModel).
func ForModel(model string) *Encoding { return MustGet(EncodingNameForModel(model)) }

// Message is a chat message as CountMessages counts it.
type Message struct {
	Role    string
	Content string
	Name    string
}

// Tokens of the chat format around messages, as OpenAI's cookbook counts
// them for current chat models.
const (
	tokensPerMessage = 3 // <|start|>{role}\n ... <|end|>
	tokensPerName    = 1
	tokensPerReply   = 3 // <|start|>assistant<|message|>
)

// CountMessages returns the prompt tokens of a chat request made of msgs
// the way OpenAI counts them: per message 3 tokens of framing plus the
// tokens of its role, content and name (and 1 more with a name), plus 3
// priming the reply.
func (e *Encoding) CountMessages(msgs []Message) int {
	n := tokensPerReply
	for _, m := range msgs {
		n += tokensPerMessage + e.Count(m.Role) + e.Count(m.Content)
		if m.Name != "" {
			n += tokensPerName + e.Count(m.Name)
		}
	}
	return n
}

// Truncate returns the longest prefix of text with at most max tokens that
// ends between characters, and its token count.
func (e *Encoding) Truncate(text string, max int) (string, int) {
	if max <= 0 {
		return "", 0
	}
	n, end, cut := 0, 0, 0
	e.Scan(text, true, func(_, size int, _ bool) {
		n++
		end += size
		if n <= max && (end == len(text) || utf8.RuneStart(text[end])) {
			cut = end
		}
	})
	if n <= max {
		return text, n
	}
	// Re-count: a prefix cut inside a piece may encode differently.
	for cut > 0 {
		if c := e.Count(text[:cut]); c <= max {
			return text[:cut], c
		}
		_, size := utf8.DecodeLastRuneInString(text[:cut])
		cut -= size
	}
	return "", 0
}
