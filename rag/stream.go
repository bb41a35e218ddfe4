package rag

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ragd/ragd"
)

// ChatStream is a streamed answer on its way to the client: the chunks of
// the upstream, relayed one by one as they arrive with ragd's completion
// id, preceded for RAG by a chunk carrying the sources. It assembles the
// answer as it goes, for the stored Completion.
type ChatStream struct {
	// Served says which model answers.
	Served Served

	src     Stream
	req     *ChatRequest
	id      string
	created int64
	model   string
	pending []json.RawMessage
	sources []ragd.SearchResult
	choices map[int]*streamChoice
	order   []int
	usage   *Usage
	timings Timings
	now     func() time.Time
	start   time.Time
}

func newChatStream(src Stream, served Served, req *ChatRequest, now func() time.Time, start time.Time) *ChatStream {
	return &ChatStream{Served: served, src: src, req: req, id: newCompletionID(), created: now().Unix(),
		model: served.Model, choices: map[int]*streamChoice{}, now: now, start: start}
}

// chunk is what ragd reads of a chat.completion.chunk.
type chunk struct {
	Model   string `json:"model"`
	Created int64  `json:"created"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role      string     `json:"role"`
			Content   *string    `json:"content"`
			Refusal   *string    `json:"refusal"`
			ToolCalls []toolCall `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *Usage `json:"usage"`
}

// toolCall is a tool call of an assistant message, or a delta of one
// (then Index says which call it extends).
type toolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// streamChoice is one choice assembled from its deltas.
type streamChoice struct {
	role         string
	content      strings.Builder
	hasContent   bool
	refusal      *string
	toolCalls    []toolCall
	finishReason *string
}

// Recv returns the data of the next chunk, or io.EOF after the last. A
// failure is a *ragd.Error, or the context's error once the client is gone.
func (s *ChatStream) Recv() (json.RawMessage, error) {
	if len(s.pending) > 0 {
		data := s.pending[0]
		s.pending = s.pending[1:]
		return data, nil
	}
	data, err := s.src.Recv()
	if errors.Is(err, io.EOF) {
		s.timings.Model = s.now().Sub(s.start)
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	obj, err := parseObject(data, "a streamed chunk")
	if err != nil {
		return nil, &ragd.Error{Kind: ragd.EUNAVAILABLE, Err: err,
			Message: fmt.Sprintf("chat provider %q sent a malformed stream chunk", s.Served.Provider)}
	}
	obj.set("id", s.id)
	var c chunk
	_ = json.Unmarshal(data, &c)
	s.add(&c)
	return obj.MarshalJSON()
}

// add folds one chunk into the assembled answer.
func (s *ChatStream) add(c *chunk) {
	if c.Model != "" {
		s.model = c.Model
	}
	if c.Created != 0 {
		s.created = c.Created
	}
	if c.Usage != nil {
		s.usage = c.Usage
	}
	for _, ch := range c.Choices {
		sc := s.choices[ch.Index]
		if sc == nil {
			sc = &streamChoice{role: "assistant"}
			s.choices[ch.Index] = sc
			s.order = append(s.order, ch.Index)
		}
		d := ch.Delta
		if d.Role != "" {
			sc.role = d.Role
		}
		if d.Content != nil {
			sc.content.WriteString(*d.Content)
			sc.hasContent = true
		}
		if d.Refusal != nil {
			r := *d.Refusal
			if sc.refusal != nil {
				r = *sc.refusal + r
			}
			sc.refusal = &r
		}
		for _, tc := range d.ToolCalls {
			sc.addToolCall(tc)
		}
		if ch.FinishReason != nil {
			sc.finishReason = ch.FinishReason
		}
	}
}

// addToolCall starts a tool call or appends a delta to the one it extends.
func (sc *streamChoice) addToolCall(tc toolCall) {
	i := len(sc.toolCalls)
	if tc.Index != nil {
		i = *tc.Index
	}
	for len(sc.toolCalls) <= i {
		sc.toolCalls = append(sc.toolCalls, toolCall{Type: "function"})
	}
	t := &sc.toolCalls[i]
	if tc.ID != "" {
		t.ID = tc.ID
	}
	if tc.Type != "" {
		t.Type = tc.Type
	}
	t.Function.Name += tc.Function.Name
	t.Function.Arguments += tc.Function.Arguments
}

// Close stops the upstream request.
func (s *ChatStream) Close() error { return s.src.Close() }

// Timings returns the time spent; Model is set once the stream has ended.
func (s *ChatStream) Timings() Timings { return s.timings }

// ID returns ragd's id of the completion.
func (s *ChatStream) ID() string { return s.id }

// Completion returns the record of the answer assembled so far; after
// io.EOF, of the whole answer.
func (s *ChatStream) Completion() *Completion {
	type outMessage struct {
		Role      string     `json:"role"`
		Content   *string    `json:"content"`
		Refusal   *string    `json:"refusal,omitempty"`
		ToolCalls []toolCall `json:"tool_calls,omitempty"`
	}
	type outChoice struct {
		Index        int        `json:"index"`
		Message      outMessage `json:"message"`
		FinishReason *string    `json:"finish_reason"`
	}
	choices := make([]outChoice, 0, len(s.order))
	var text strings.Builder
	for _, i := range s.order {
		sc := s.choices[i]
		m := outMessage{Role: sc.role, Refusal: sc.refusal, ToolCalls: sc.toolCalls}
		for j := range m.ToolCalls {
			m.ToolCalls[j].Index = nil
		}
		if sc.hasContent || len(sc.toolCalls) == 0 {
			c := sc.content.String()
			m.Content = &c
			text.WriteString(c)
		}
		choices = append(choices, outChoice{Index: i, Message: m, FinishReason: sc.finishReason})
	}
	raw, _ := json.Marshal(choices)
	c := &Completion{ID: s.id, Object: "chat.completion", Created: s.created, Model: s.model, Choices: raw, Sources: s.sources}
	if s.usage != nil {
		c.Usage = *s.usage
	} else {
		c.Usage = estimateUsage(s.req, text.String())
	}
	return c
}

// WriteSSE relays s to w as server-sent events in OpenAI's framing
// ("data: {chunk}\n\n" each, then "data: [DONE]\n\n"), calling flush after
// each event, and closes s. A failure mid-stream is sent as an event
// {"error": {"message", "type", "code"}} and returned; so is a failed
// write (the client is gone).
func WriteSSE(w io.Writer, flush func(), s *ChatStream) error {
	defer s.Close()
	for {
		data, err := s.Recv()
		if errors.Is(err, io.EOF) {
			_, err = io.WriteString(w, "data: [DONE]\n\n")
			flush()
			return err
		}
		if err != nil {
			writeSSEError(w, err)
			flush()
			return err
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return err
		}
		flush()
	}
}

// writeSSEError writes err as an OpenAI error event; only a *ragd.Error's
// message is shown.
func writeSSEError(w io.Writer, err error) {
	body := struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	}{Type: "server_error"}
	body.Message, body.Code = streamError(err)
	data, _ := json.Marshal(map[string]any{"error": body})
	fmt.Fprintf(w, "data: %s\n\n", data)
}

// streamError returns the message and code a client is shown for a
// failure after a stream started: a *ragd.Error's own, else a generic one.
func streamError(err error) (message, code string) {
	var e *ragd.Error
	if errors.As(err, &e) {
		return e.Message, e.ClientCode()
	}
	return "the answer stream failed", ragd.EINTERNAL
}
