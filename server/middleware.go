package server

import (
	"crypto/subtle"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
)

var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestID sets x-request-id on every response: the client's own when it
// sent a sane one, else a new UUID.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !saneRequestID.MatchString(id) {
			id = uuid.NewString()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// logRequests writes one structured line per request.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		s.log.Info("request", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "route", c.Path(), "status", status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "bytes", c.Response().Size)
		return nil
	}
}

const keyContextKey = "ragd.key"

// adminEnvKeyID is the key ID shown for requests made with RAGD_ADMIN_KEY.
const adminEnvKeyID = "key_admin_env"

// authenticate requires a valid bearer key and puts it in the context.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		secret, ok := strings.CutPrefix(h, "Bearer ")
		secret = strings.TrimSpace(secret)
		if !ok || secret == "" {
			return &ragd.Error{Kind: ragd.EUNAUTHORIZED, Code: "missing_api_key",
				Message: "send your API key in the Authorization header: 'Authorization: Bearer <key>'"}
		}
		var key *store.Key
		if s.cfg.AdminKey != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.AdminKey)) == 1 {
			key = &store.Key{ID: adminEnvKeyID, Name: "RAGD_ADMIN_KEY", Workspace: store.DefaultWorkspace, Admin: true}
		} else {
			k, err := s.store.KeyBySecret(c.Request().Context(), secret)
			if err != nil {
				return err
			}
			key = k
		}
		c.Set(keyContextKey, key)
		return next(c)
	}
}

// keyOf returns the authenticated key of the request.
func keyOf(c echo.Context) *store.Key { return c.Get(keyContextKey).(*store.Key) }

// workspaceOf returns the workspace of the request's key.
func workspaceOf(c echo.Context) string { return keyOf(c).Workspace }

// requireAdmin lets only admin keys through.
func requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !keyOf(c).Admin {
			return &ragd.Error{Kind: ragd.EFORBIDDEN, Code: "admin_required", Message: "this route needs an admin API key"}
		}
		return next(c)
	}
}
