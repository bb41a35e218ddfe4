package rag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ResponseStream is a streamed Responses answer on its way to the client:
// the chat model's stream turned into the Responses API's events.
type ResponseStream struct {
	// Chat is the chat completion stream the answer comes from: the model
	// that answers, its usage and timing.
	Chat *ChatStream
	b    *responseBuilder
}

// RespondStream starts a streamed answer to req, grounded on found as in
// Respond.
func (r *Router) RespondStream(ctx context.Context, req *ResponsesRequest, found []FileSearchResult) (*ResponseStream, error) {
	chat, sources, err := r.responseChat(req, found)
	if err != nil {
		return nil, err
	}
	st, err := r.Stream(ctx, chat)
	if err != nil {
		return nil, err
	}
	return &ResponseStream{Chat: st, b: newResponseBuilder(req, st.Served.Model, found, sources, r.now().Unix())}, nil
}

// WriteResponseEvents sends s to w as server-sent events in the Responses
// API's format ("event: <type>\ndata: {"type", "sequence_number", ...}"),
// calling flush after each, and closes s. The events are, in order:
// response.created, response.in_progress; with a search, its
// output_item.added, file_search_call.in_progress, .searching and
// .completed and output_item.done (the search ran before the stream
// started); the message's output_item.added and content_part.added; an
// output_text.delta per piece of the answer and an
// output_text.annotation.added per citation where it occurs;
// output_text.done, content_part.done, output_item.done and
// response.completed with the whole response. A failure of the model
// mid-stream is sent as response.failed and returned; so is a failed
// write (the client is gone).
func WriteResponseEvents(w io.Writer, flush func(), s *ResponseStream) error {
	defer s.Chat.Close()
	e := &eventWriter{w: w, flush: flush}
	b := s.b
	e.send("response.created", map[string]any{"response": b.snapshot()})
	e.send("response.in_progress", map[string]any{"response": b.snapshot()})
	out := 0
	if fs := b.search; fs != nil {
		started := *fs
		started.Status = "in_progress"
		e.send("response.output_item.added", map[string]any{"output_index": out, "item": started})
		for _, step := range []string{"in_progress", "searching", "completed"} {
			e.send("response.file_search_call."+step, map[string]any{"output_index": out, "item_id": fs.ID})
		}
		e.send("response.output_item.done", map[string]any{"output_index": out, "item": fs})
		b.obj.Output = append(b.obj.Output, fs)
		out++
	}
	msg := b.msg
	msg.Content = []outputText{}
	e.send("response.output_item.added", map[string]any{"output_index": out, "item": msg})
	at := func(fields map[string]any) map[string]any {
		fields["item_id"], fields["output_index"], fields["content_index"] = msg.ID, out, 0
		return fields
	}
	e.send("response.content_part.added", at(map[string]any{"part": outputText{Type: "output_text", Annotations: []fileCitation{}, Logprobs: []any{}}}))
	pieces := func(ps []textPiece) {
		for _, p := range ps {
			if p.annotation != nil {
				e.send("response.output_text.annotation.added", at(map[string]any{"annotation_index": p.index, "annotation": p.annotation}))
			} else {
				e.send("response.output_text.delta", at(map[string]any{"delta": p.text, "logprobs": []any{}}))
			}
		}
	}
	for e.err == nil {
		data, err := s.Chat.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.obj.Status = "failed"
			b.obj.Error = &responseError{Code: "server_error"}
			b.obj.Error.Message, _ = streamError(err)
			e.send("response.failed", map[string]any{"response": b.snapshot()})
			return errors.Join(err, e.err)
		}
		var c chunk
		_ = json.Unmarshal(data, &c)
		for _, ch := range c.Choices {
			if ch.Index == 0 && ch.Delta.Content != nil {
				pieces(b.addText(*ch.Delta.Content))
			}
		}
	}
	if e.err != nil {
		return e.err
	}
	pieces(b.cites.flush())
	comp := s.Chat.Completion()
	res := b.finish(finishReason(comp.Choices), comp.Usage)
	text := b.text()
	e.send("response.output_text.done", at(map[string]any{"text": text.Text, "logprobs": []any{}}))
	e.send("response.content_part.done", at(map[string]any{"part": text}))
	e.send("response.output_item.done", map[string]any{"output_index": out, "item": b.msg})
	e.send("response.completed", map[string]any{"response": res})
	return e.err
}

// eventWriter writes numbered server-sent events; after a failed write it
// writes nothing more and keeps the error.
type eventWriter struct {
	w     io.Writer
	flush func()
	seq   int
	err   error
}

// send writes one event of type typ with fields, adding its type and
// sequence number.
func (e *eventWriter) send(typ string, fields map[string]any) {
	if e.err != nil {
		return
	}
	fields["type"], fields["sequence_number"] = typ, e.seq
	e.seq++
	data, err := json.Marshal(fields)
	if err != nil {
		e.err = err
		return
	}
	if _, e.err = fmt.Fprintf(e.w, "event: %s\ndata: %s\n\n", typ, data); e.err == nil {
		e.flush()
	}
}
