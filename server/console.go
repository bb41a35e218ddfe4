package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// The web console (issue 16) is plain HTML, one CSS file and ES modules,
// with no build step: the files under console/ are what the browser runs,
// so the binary embeds them as they are committed. They live in the server
// package because go:embed reaches only files below the package directory.
//
//go:embed console
var consoleFiles embed.FS

// ConsoleCSP is the Content-Security-Policy of every console response: the
// console loads scripts, styles and data only from ragd itself (no CDN,
// web font or telemetry), runs no inline script, and cannot be framed.
const ConsoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// consoleAsset is one embedded console file, with its gzip encoding made
// once, when first asked for.
type consoleAsset struct {
	body, gz    []byte
	etag, ctype string
}

var (
	consoleOnce   sync.Once
	consoleAssets map[string]*consoleAsset
)

// loadConsoleAssets reads and compresses the embedded console files.
func loadConsoleAssets() map[string]*consoleAsset {
	consoleOnce.Do(func() {
		consoleAssets = map[string]*consoleAsset{}
		sub, err := fs.Sub(consoleFiles, "console")
		if err != nil {
			panic(err)
		}
		err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			body, err := fs.ReadFile(sub, name)
			if err != nil {
				return err
			}
			var gz bytes.Buffer
			w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
			w.Write(body)
			w.Close()
			sum := sha256.Sum256(body)
			ctype := mime.TypeByExtension(path.Ext(name))
			if path.Ext(name) == ".js" {
				ctype = "text/javascript; charset=utf-8"
			}
			consoleAssets[name] = &consoleAsset{body: body, gz: gz.Bytes(), etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ctype}
			return nil
		})
		if err != nil {
			panic(err)
		}
	})
	return consoleAssets
}

// ConsoleAssets returns the names of the console's embedded files, for
// tests that measure what the console loads.
func ConsoleAssets() []string {
	var names []string
	for name := range loadConsoleAssets() {
		names = append(names, name)
	}
	return names
}

// registerConsoleRoutes serves the console at /console/ and sends / there.
// The routes are outside /v1 and take no key: the console signs in by
// calling the API with the key its user types.
func (s *Server) registerConsoleRoutes(e *echo.Echo) {
	toConsole := func(c echo.Context) error { return c.Redirect(http.StatusFound, "/console/") }
	e.GET("/", toConsole)
	e.GET("/console", toConsole)
	e.GET("/console/*", handleConsoleFile)
}

// handleConsoleFile serves an embedded console file, gzip-compressed when
// the client accepts it, revalidated by its ETag. An unknown name is the
// API's JSON 404.
func handleConsoleFile(c echo.Context) error {
	name := c.Param("*")
	if name == "" {
		name = "index.html"
	}
	a, ok := loadConsoleAssets()[name]
	if !ok {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", ConsoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	// Revalidated on every load: a new ragd binary serves new files at
	// the same names.
	h.Set("Cache-Control", "no-cache")
	h.Set(echo.HeaderVary, echo.HeaderAcceptEncoding)
	body, etag := a.body, a.etag
	if acceptsGzip(c.Request().Header.Get(echo.HeaderAcceptEncoding)) {
		body, etag = a.gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		h.Set(echo.HeaderContentEncoding, "gzip")
	}
	h.Set("ETag", etag)
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, a.ctype, body)
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}
