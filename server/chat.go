package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/tokenize"
)

func (s *Server) registerChatRoutes(g *echo.Group) {
	g.POST("/chat/completions", s.handleChat(rag.ParseChatRequest, nil))
	// The seeds' names of the same route: seed 001's /v1/chat takes and
	// returns an OpenAI chat completion; seed 000's /v1/infer and
	// /v1/stream also take a prompt, /v1/infer answers with the completion
	// plus its text and /v1/stream always streams.
	g.POST("/chat", s.handleChat(rag.ParseChatRequest, nil))
	g.POST("/infer", s.handleChat(func(b []byte) (*rag.ChatRequest, error) { return rag.ParseInferRequest(b, false) }, (*rag.ChatResponse).WithText))
	g.POST("/stream", s.handleChat(func(b []byte) (*rag.ChatRequest, error) { return rag.ParseInferRequest(b, true) }, nil))
	g.POST("/chat/completions/RAG", s.handleRAG)
	g.GET("/chat/completions/:id", s.handleCompletionGet)
	g.POST("/chat/completions/:id/vote", s.handleCompletionVote)
	g.POST("/tokenize", s.handleTokenize)
}

// readBody reads the whole request body, at most limit bytes.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, limit))
	if err != nil {
		return nil, err
	}
	return body, nil
}

// handleChat returns the handler of a chat completion route whose body
// parse reads. Every such route goes the same way: token reservation,
// the router with its fallbacks, usage and the stored completion; shape,
// when not nil, rewrites a whole answer's body for the route.
func (s *Server) handleChat(parse func([]byte) (*rag.ChatRequest, error), shape func(*rag.ChatResponse) *rag.ChatResponse) echo.HandlerFunc {
	return func(c echo.Context) error {
		body, err := readBody(c, s.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		req, err := parse(body)
		if err != nil {
			return err
		}
		// The request as parsed, which for /v1/infer holds messages where
		// the client sent a prompt.
		if body, err = req.MarshalJSON(); err != nil {
			return err
		}
		turn, err := s.startChat(c, body, req.LastUserText())
		if err != nil {
			return err
		}
		return s.reply(c, turn, shape)(s.svc.Chat(c.Request().Context(), workspaceOf(c), turn, req))
	}
}

// reply returns what sends a chat or RAG answer: a whole result, its body
// rewritten by shape unless nil, or a stream.
func (s *Server) reply(c echo.Context, turn service.Turn, shape func(*rag.ChatResponse) *rag.ChatResponse) func(*rag.Result, *rag.ChatStream, error) error {
	return func(res *rag.Result, st *rag.ChatStream, err error) error {
		switch {
		case err != nil:
			return err
		case st != nil:
			return s.relay(c, turn, st)
		}
		return s.answer(c, turn, res, shape)
	}
}

func (s *Server) handleRAG(c echo.Context) error {
	body, err := readBody(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, err := rag.ParseRAGRequest(body)
	if err != nil {
		return err
	}
	turn, err := s.startChat(c, body, req.LastUserText())
	if err != nil {
		return err
	}
	return s.reply(c, turn, nil)(s.svc.RAG(c.Request().Context(), workspaceOf(c), turn, req, func(t service.Tokens) { addModelTokens(c, t) }))
}

// startChat reserves the tokens of a chat or RAG request whose parsed
// body is body (reserveChatTokens) and returns its turn, whose question
// is the last user message.
func (s *Server) startChat(c echo.Context, body []byte, question string) (service.Turn, error) {
	if err := s.reserveChatTokens(c, body); err != nil {
		return service.Turn{}, err
	}
	return turnOf(c, question)
}

// reserveChatTokens reserves what a chat or RAG request, whose body the
// rag parser has accepted, is expected to use: its messages (counted in
// cl100k_base, ragd's usage unit) plus its completion budget
// (max_completion_tokens or max_tokens, else rag.DefaultMaxTokens). The
// sources a RAG prompt adds are charged when the request settles.
func (s *Server) reserveChatTokens(c echo.Context, body []byte) error {
	var req struct {
		Messages            json.RawMessage `json:"messages"`
		MaxTokens           *int            `json:"max_tokens"`
		MaxCompletionTokens *int            `json:"max_completion_tokens"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return ragd.Invalid("max_tokens", "max_tokens and max_completion_tokens must be whole numbers: %v", err)
	}
	n, err := rag.CountTokens(tokenize.CL100K, "", req.Messages)
	if err != nil {
		return err
	}
	budget := rag.DefaultMaxTokens
	if req.MaxCompletionTokens != nil && *req.MaxCompletionTokens > 0 {
		budget = *req.MaxCompletionTokens
	} else if req.MaxTokens != nil && *req.MaxTokens > 0 {
		budget = *req.MaxTokens
	}
	return s.reserveTokens(c, n+budget)
}

// answer stores a whole completion and sends it, shaped by shape unless
// nil.
func (s *Server) answer(c echo.Context, turn service.Turn, res *rag.Result, shape func(*rag.ChatResponse) *rag.ChatResponse) error {
	s.settle(c, res)
	if err := s.svc.SaveCompletion(c.Request().Context(), workspaceOf(c), turn, res.Completion); err != nil {
		return err
	}
	if shape != nil {
		return c.JSON(http.StatusOK, shape(res.Response))
	}
	return c.JSON(http.StatusOK, res.Response)
}

// settle records what a whole answer cost: the model's latency, the
// tokens, and the headers naming the model that answered.
func (s *Server) settle(c echo.Context, res *rag.Result) {
	s.metrics.ObserveChat(res.Served.Provider, res.Served.Model, res.Timings.Model, nil)
	AddTokens(c, TokenUse{Model: res.Served.Model, Prompt: res.Completion.Usage.PromptTokens, Completion: res.Completion.Usage.CompletionTokens})
	res.Served.SetHeaders(c.Response().Header())
}

// relay streams a completion as server-sent events as it arrives, then
// stores it.
func (s *Server) relay(c echo.Context, turn service.Turn, st *rag.ChatStream) error {
	comp := s.stream(c, st, func(w *echo.Response) error { return rag.WriteSSE(w, w.Flush, st) })
	// The client has its answer; storing uses a context of its own so a
	// client that already left does not lose the record.
	if serr := s.svc.SaveCompletion(context.WithoutCancel(c.Request().Context()), workspaceOf(c), turn, comp); serr != nil {
		s.log.Error("storing a streamed completion", "err", serr)
	}
	return nil
}

// stream sends the answer of st as server-sent events, which write
// writes, then records the model's latency and the tokens of the answer
// and returns its record.
func (s *Server) stream(c echo.Context, st *rag.ChatStream, write func(w *echo.Response) error) *rag.Completion {
	w := c.Response()
	// A stream has no write deadline (Timeouts.Write): it lasts as long
	// as the model writes.
	if err := http.NewResponseController(w).SetWriteDeadline(time.Time{}); err != nil {
		s.log.Warn("clearing the write deadline of a stream", "err", err)
	}
	st.Served.SetHeaders(w.Header())
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	start := time.Now()
	err := write(w)
	s.metrics.ObserveChat(st.Served.Provider, st.Served.Model, time.Since(start), err)
	if err != nil {
		s.log.Warn("chat stream ended early", "request_id", w.Header().Get(echo.HeaderXRequestID), "err", err)
	}
	comp := st.Completion()
	// The usage counter cannot read an opaque completion, so its tokens
	// are reported here (as in settle).
	AddTokens(c, TokenUse{Model: st.Served.Model, Prompt: comp.Usage.PromptTokens, Completion: comp.Usage.CompletionTokens})
	return comp
}

// turnOf returns the turn of a chat request whose last user message is
// question: of the end user its x-user-id header names, if any (seed 003).
func turnOf(c echo.Context, question string) (service.Turn, error) {
	user := c.Request().Header.Get("X-User-Id")
	if user == "" {
		return service.Turn{}, nil
	}
	if err := service.ValidateUserID("x-user-id", user); err != nil {
		return service.Turn{}, err
	}
	return service.Turn{User: user, Question: question}, nil
}

// completionResponse is a stored completion with the client's vote.
type completionResponse struct {
	json.RawMessage
	vote string
}

func (r completionResponse) MarshalJSON() ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(r.RawMessage, &m); err != nil {
		return nil, err
	}
	if _, ok := m["sources"]; !ok {
		m["sources"] = nil
	}
	if r.vote != "" {
		m["vote"] = r.vote
	} else {
		m["vote"] = nil
	}
	return json.Marshal(m)
}

func (s *Server) handleCompletionGet(c echo.Context) error {
	comp, err := s.svc.Completion(c.Request().Context(), workspaceOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, completionResponse{comp.Record, comp.Vote})
}

type voteRequest struct {
	Vote string `json:"vote"`
}

func (s *Server) handleCompletionVote(c echo.Context) error {
	var req voteRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	id := c.Param("id")
	if err := s.svc.VoteCompletion(c.Request().Context(), workspaceOf(c), id, req.Vote); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": id, "vote": req.Vote})
}

type tokenizeRequest struct {
	Model    string          `json:"model"`
	Input    *string         `json:"input"`
	Messages json.RawMessage `json:"messages"`
}

type tokenizeResponse struct {
	Model    string `json:"model"`
	Encoding string `json:"encoding"`
	Tokens   int    `json:"tokens"`
}

// handleTokenize counts tokens with a model's tokenizer without running
// it: a chat model's own encoding, cl100k_base for embedding models.
func (s *Server) handleTokenize(c echo.Context) error {
	var req tokenizeRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, true, &req); err != nil {
		return err
	}
	if req.Input == nil && len(req.Messages) == 0 {
		return ragd.Invalid("input", "send input (a string) or messages (a chat conversation) to count")
	}
	model := req.Model
	if model == "" {
		model = s.svc.ChatModels().DefaultModel()
	}
	encoding := tokenize.CL100K
	if info, err := s.svc.ChatModels().Model(model); err == nil {
		encoding = info.Encoding
	} else if _, eerr := s.svc.Embedders().Get(model); eerr != nil {
		return err
	}
	input := ""
	if req.Input != nil {
		input = *req.Input
	}
	n, err := rag.CountTokens(encoding, input, req.Messages)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tokenizeResponse{Model: model, Encoding: encoding, Tokens: n})
}
