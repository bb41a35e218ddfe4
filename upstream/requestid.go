package upstream

import (
	"context"
	"net/http"
)

type requestIDKey struct{}

// WithRequestID returns ctx carrying id, the x-request-id of the client
// request being served. Requests to providers made with that context
// forward it (SetRequestID), so that a provider's logs and ragd's can be
// matched line for line when a client reports a failure.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// SetRequestID sets X-Request-Id on req to the id its context carries,
// if any.
func SetRequestID(req *http.Request) {
	if id, _ := req.Context().Value(requestIDKey{}).(string); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
}
