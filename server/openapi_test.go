package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/server"
)

// TestOpenAPIDocumentsEveryRoute checks GET /openapi.json against the
// routes the server registered, in both directions, and that each route
// has its hand-written entry: a new route fails here, by name, until it is
// documented in routeDocs (server/openapi.go).
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	// With an ingester, so that the file routes are registered too.
	ts := serve(t, setup{ingest: &ingest.Config{}})
	r := ts.do(t, "GET", "/openapi.json", "", nil) // no API key
	r.must(t, 200)
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.raw, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("document %.200s: %v", r.raw, err)
	}
	type operation struct {
		Summary    string `json:"summary"`
		Parameters []struct {
			Name string `json:"name"`
			In   string `json:"in"`
		} `json:"parameters"`
		Security  *[]any                     `json:"security"`
		Responses map[string]json.RawMessage `json:"responses"`
	}
	documented := map[string]operation{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}
	registered := map[string]bool{}
	for _, rt := range ts.srv.Routes() {
		if strings.HasPrefix(rt.Method, "echo_") {
			continue
		}
		route := rt.Method + " " + rt.Path
		registered[route] = true
		var params []string
		segs := strings.Split(rt.Path, "/")
		for i, s := range segs {
			if name, ok := strings.CutPrefix(s, ":"); ok {
				params = append(params, name)
				segs[i] = "{" + name + "}"
			}
		}
		op, ok := documented[rt.Method+" "+strings.Join(segs, "/")]
		delete(documented, rt.Method+" "+strings.Join(segs, "/"))
		switch {
		case !ok:
			t.Errorf("route %s is missing from /openapi.json", route)
			continue
		case op.Summary == "":
			t.Errorf("route %s has no documentation: add an entry %q to routeDocs in server/openapi.go", route, route)
		case len(op.Responses) < 2:
			t.Errorf("route %s documents no success and error responses: %v", route, op.Responses)
		}
		if len(op.Parameters) != len(params) {
			t.Errorf("route %s documents parameters %v, want %v", route, op.Parameters, params)
		}
		for i, p := range op.Parameters {
			if i < len(params) && (p.Name != params[i] || p.In != "path") {
				t.Errorf("route %s parameter %d is %+v, want path parameter %s", route, i, p, params[i])
			}
		}
		// The /v1 routes take an API key; the others do not.
		if public := op.Security != nil && len(*op.Security) == 0; public == strings.HasPrefix(rt.Path, "/v1/") {
			t.Errorf("route %s: public %v in the document", route, public)
		}
	}
	for route := range documented {
		t.Errorf("/openapi.json names %s, which is not a registered route", route)
	}
	for _, route := range server.DocumentedRoutes() {
		if !registered[route] {
			t.Errorf("routeDocs documents %s, which is not a registered route: remove or fix its entry in server/openapi.go", route)
		}
	}
	// Every $ref names a component schema.
	for _, ref := range strings.Split(string(r.raw), `"$ref":"#/components/schemas/`)[1:] {
		name := ref[:strings.IndexByte(ref, '"')]
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("$ref to missing schema %q", name)
		}
	}
}

// TestRouteNotFoundPointsAtOpenAPI checks that errors sending the client
// to the API reference say where it is.
func TestRouteNotFoundPointsAtOpenAPI(t *testing.T) {
	ts := newTestServer(t)
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"RouteNotFound", "GET", "/v1/nope", nil, 404},
		{"UnknownField", "POST", "/v1/vector_store", map[string]any{"name": "x", "colour": "red"}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(t, tc.method, tc.path, ts.admin, tc.body)
			if msg := str(obj(r.body["error"])["message"]); r.status != tc.status || !strings.Contains(msg, "GET /openapi.json") {
				t.Fatalf("%d %q, want %d pointing at GET /openapi.json", r.status, msg, tc.status)
			}
		})
	}
}

// The document's Collection schema names every field a collection
// response has, so that a client generated from it sees them all.
func TestOpenAPICollectionSchema(t *testing.T) {
	ts := newTestServer(t)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	r := ts.do(t, "GET", "/openapi.json", "", nil)
	r.must(t, 200)
	if err := json.Unmarshal(r.raw, &doc); err != nil {
		t.Fatal(err)
	}
	props := doc.Components.Schemas["Collection"].Properties
	c := obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "documented"}).must(t, 201)["collection"])
	for field := range c {
		if _, ok := props[field]; !ok {
			t.Errorf("a collection response has %q, which the Collection schema of /openapi.json does not name", field)
		}
	}
}
