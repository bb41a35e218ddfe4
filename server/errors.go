package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	gojson "github.com/goccy/go-json"
	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

// errorStatus maps each error kind to its HTTP status and error type. This
// is the only place where ragd chooses a status for an error.
var errorStatus = map[string]struct {
	status int
	typ    string
}{
	ragd.EINVALID:       {http.StatusBadRequest, "invalid_request_error"},
	ragd.EUNAUTHORIZED:  {http.StatusUnauthorized, "authentication_error"},
	ragd.EFORBIDDEN:     {http.StatusForbidden, "permission_error"},
	ragd.ENOTFOUND:      {http.StatusNotFound, "not_found_error"},
	ragd.EMETHOD:        {http.StatusMethodNotAllowed, "invalid_request_error"},
	ragd.ECONFLICT:      {http.StatusConflict, "invalid_request_error"},
	ragd.ETOOLARGE:      {http.StatusRequestEntityTooLarge, "invalid_request_error"},
	ragd.EUNSUPPORTED:   {http.StatusUnsupportedMediaType, "invalid_request_error"},
	ragd.EUNPROCESSABLE: {http.StatusUnprocessableEntity, "invalid_request_error"},
	ragd.ERATELIMIT:     {http.StatusTooManyRequests, "rate_limit_error"},
	ragd.EINTERNAL:      {http.StatusInternalServerError, "server_error"},
	ragd.EUNAVAILABLE:   {http.StatusServiceUnavailable, "server_error"},
	ragd.ETIMEOUT:       {http.StatusGatewayTimeout, "server_error"},
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Code    string  `json:"code"`
	Param   *string `json:"param"`
}

// toError converts any error a handler returns into a *ragd.Error.
func toError(err error) *ragd.Error {
	var e *ragd.Error
	if errors.As(err, &e) {
		return e
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := fmt.Sprint(he.Message)
		switch he.Code {
		case http.StatusNotFound:
			return &ragd.Error{Kind: ragd.ENOTFOUND, Code: "route_not_found", Message: "no such route; the API reference at GET " + openAPIRoute + " lists the available routes"}
		case http.StatusMethodNotAllowed:
			return &ragd.Error{Kind: ragd.EMETHOD, Message: "this route does not accept that method; the Allow header lists the methods it does"}
		case http.StatusRequestEntityTooLarge:
			return &ragd.Error{Kind: ragd.ETOOLARGE, Code: "body_too_large", Message: "the request body is too large"}
		case http.StatusUnauthorized:
			return &ragd.Error{Kind: ragd.EUNAUTHORIZED, Message: msg}
		}
		if he.Code < 500 {
			return &ragd.Error{Kind: ragd.EINVALID, Message: msg}
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &ragd.Error{Kind: ragd.ETOOLARGE, Code: "body_too_large",
			Message: fmt.Sprintf("the request body is larger than the limit of %d bytes", mbe.Limit)}
	}
	return &ragd.Error{Kind: ragd.EINTERNAL, Message: "internal error; the server log has details under this request's id", Err: err}
}

// handleError is Echo's HTTPErrorHandler: it writes every error as the
// JSON error shape with the status of its kind.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := toError(err)
	st, ok := errorStatus[e.Kind]
	if !ok {
		st = errorStatus[ragd.EINTERNAL]
	}
	if st.status >= 500 {
		s.log.Error("request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", c.Path(), "err", err)
	}
	body := errorBody{Error: errorDetail{Message: e.Message, Type: st.typ, Code: e.ClientCode()}}
	if e.Param != "" {
		body.Error.Param = &e.Param
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(st.status)
		return
	}
	if err := c.JSON(st.status, body); err != nil {
		s.log.Warn("writing error response", "err", err)
	}
}

// decodeJSON reads the request body (at most limit bytes) into v. Syntax
// errors, wrong types and, when strict, unknown fields become EINVALID
// errors that name the field.
//
// The body is read whole and decoded from memory: goccy's Decoder, which
// decodes as it reads, walks a value a field decodes itself (a vector,
// service.Vector) byte by byte through its stream before the field reads
// it again, and took a third longer for a batch of a thousand vectors
// (BenchmarkDecodeItemBatch). The Decoder held the whole body in its
// buffer as well, so memory is the same.
func decodeJSON(c echo.Context, limit int64, strict bool, v any) error {
	body, err := readBody(c, limit)
	if err != nil {
		return err
	}
	return decodeBody(body, strict, v)
}

// decodeBody is decodeJSON of a body already read.
func decodeBody(body []byte, strict bool, v any) error {
	if len(bytes.TrimLeft(body, " \t\r\n")) == 0 {
		return ragd.Invalid("", "the request body is empty; send a JSON object")
	}
	var err error
	if strict {
		err = gojson.UnmarshalWithOption(body, v, disallowUnknownFields)
	} else {
		err = gojson.Unmarshal(body, v)
	}
	if err == nil {
		return nil
	}
	var syn *gojson.SyntaxError
	var typ *gojson.UnmarshalTypeError
	var re *ragd.Error
	switch {
	case errors.As(err, &re): // a field's own UnmarshalJSON (service.Vector)
		return re
	case errors.As(err, &typ):
		field := jsonFieldPath(typ.Field)
		if field == "" {
			return ragd.Invalid("", "the request body must be a JSON object, not %s", typ.Value)
		}
		return ragd.Invalid(field, "field %q must be %s, not %s", field, jsonTypeName(typ.Type.String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return ragd.Invalid(name, "unknown field %q; check the field names in the API reference at GET "+openAPIRoute, name)
	case errors.As(err, &syn):
		return syntaxError(body)
	}
	return ragd.Invalid("", "the request body could not be read as JSON: %v", err)
}

// syntaxError says what is wrong with body, which is not one JSON value:
// truncated, followed by more, or malformed at a byte. Only refused
// bodies come here, so encoding/json's Decoder, which reports each case
// apart, reads it again.
func syntaxError(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	var first json.RawMessage
	err := dec.Decode(&first)
	var syn *json.SyntaxError
	switch {
	case err == nil:
		return ragd.Invalid("", "the request body must hold a single JSON object; more follows after byte %d", dec.InputOffset())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ragd.Invalid("", "the request body is truncated JSON")
	case errors.As(err, &syn):
		return ragd.Invalid("", "the request body is not valid JSON (at byte %d): %v", syn.Offset, syn)
	}
	return ragd.Invalid("", "the request body could not be read as JSON: %v", err)
}

// disallowUnknownFields is the decode option that makes goccy refuse an
// object key no field of the struct matches, as Decoder's
// DisallowUnknownFields does: goccy offers that as a method of Decoder
// only, so its flags are read once from a Decoder told so.
var disallowUnknownFields = func() gojson.DecodeOptionFunc {
	dec := gojson.NewDecoder(strings.NewReader("{}"))
	dec.DisallowUnknownFields()
	var strict gojson.DecodeOption
	if err := dec.DecodeWithOption(&struct{}{}, func(o *gojson.DecodeOption) { strict.Flags = o.Flags }); err != nil {
		panic(err)
	}
	return func(o *gojson.DecodeOption) { o.Flags |= strict.Flags }
}()

// jsonFieldPath writes goccy's path of a field ("items.3.content") the
// way ragd's own validation names it ("items[3].content").
func jsonFieldPath(path string) string {
	parts := strings.Split(path, ".")
	var b strings.Builder
	for i, p := range parts {
		if _, err := strconv.Atoi(p); err == nil && i > 0 {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// jsonTypeName names a Go type the way a JSON user thinks of it.
func jsonTypeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "struct"), strings.Contains(goType, "."):
		return "an object"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	}
	return goType
}
