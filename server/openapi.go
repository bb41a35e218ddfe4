package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

// The OpenAPI document at GET /openapi.json is generated from the routes
// the server registered, so it cannot name a route that does not exist;
// what a route does, takes and returns comes from routeDocs (or
// openAIRoutes). A route registered without an entry appears with an
// empty summary, and
// TestOpenAPIDocumentsEveryRoute names it: adding a route means adding
// its entry.

// openAPIRoute is where the document is served, without an API key.
const openAPIRoute = "/openapi.json"

// jsonSchema is a JSON Schema (2020-12, as OpenAPI 3.1 uses it).
type jsonSchema = map[string]any

var (
	stringSchema  = jsonSchema{"type": "string"}
	integerSchema = jsonSchema{"type": "integer"}
	numberSchema  = jsonSchema{"type": "number"}
	booleanSchema = jsonSchema{"type": "boolean"}
	// anyObject is an object whose members are not documented here: the
	// OpenAI routes' objects follow OpenAI's API reference.
	anyObject = jsonSchema{"type": "object"}
)

// objectSchema is an object of props; required lists the required ones.
func objectSchema(props jsonSchema, required ...string) jsonSchema {
	s := jsonSchema{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func arraySchema(items jsonSchema) jsonSchema { return jsonSchema{"type": "array", "items": items} }

func nullable(typ string) jsonSchema { return jsonSchema{"type": []string{typ, "null"}} }

// ref points at a schema of componentSchemas.
func ref(name string) jsonSchema { return jsonSchema{"$ref": "#/components/schemas/" + name} }

// componentSchemas are the shapes several routes share.
var componentSchemas = map[string]jsonSchema{
	"Error": objectSchema(jsonSchema{"error": objectSchema(jsonSchema{"message": stringSchema, "type": stringSchema,
		"code": stringSchema, "param": nullable("string")}, "message", "type", "code", "param")}, "error"),
	"ChatMessage": jsonSchema{"type": "object", "required": []string{"role"}, "properties": jsonSchema{
		"role":    jsonSchema{"type": "string", "enum": []string{"system", "developer", "user", "assistant", "tool"}},
		"content": jsonSchema{"oneOf": []jsonSchema{stringSchema, arraySchema(anyObject), {"type": "null"}}},
	}},
	"ChatCompletionRequest": jsonSchema{"type": "object", "required": []string{"messages"},
		"description": "OpenAI's chat completion request; members not listed (tools, response_format, stop, ...) reach the provider unchanged. No model means the default chat model.",
		"properties": jsonSchema{"model": stringSchema, "messages": arraySchema(ref("ChatMessage")), "stream": booleanSchema,
			"max_tokens": integerSchema, "max_completion_tokens": integerSchema, "temperature": numberSchema, "top_p": numberSchema, "seed": integerSchema}},
	"InferRequest": jsonSchema{"type": "object", "description": "A chat completion request in which prompt may stand for messages (a single user message); send one of them.",
		"oneOf": []jsonSchema{{"required": []string{"prompt"}}, {"required": []string{"messages"}}},
		"properties": jsonSchema{"model": stringSchema, "prompt": stringSchema, "messages": arraySchema(ref("ChatMessage")),
			"max_tokens": integerSchema, "temperature": numberSchema, "top_p": numberSchema, "seed": integerSchema}},
	"TokenUsage": objectSchema(jsonSchema{"prompt_tokens": integerSchema, "completion_tokens": integerSchema, "total_tokens": integerSchema}),
	"ChatCompletion": objectSchema(jsonSchema{"id": stringSchema, "object": jsonSchema{"const": "chat.completion"}, "created": integerSchema,
		"model": stringSchema, "choices": arraySchema(objectSchema(jsonSchema{"index": integerSchema, "message": ref("ChatMessage"),
			"finish_reason": nullable("string")})), "usage": ref("TokenUsage")}, "id", "object", "created", "model", "choices"),
	"InferResponse": jsonSchema{"allOf": []jsonSchema{ref("ChatCompletion"),
		objectSchema(jsonSchema{"text": jsonSchema{"type": "string", "description": "the first choice's message content"}}, "text")}},
	"RAGRequest": jsonSchema{"allOf": []jsonSchema{ref("ChatCompletionRequest"), objectSchema(jsonSchema{"collection": stringSchema,
		"top_k": integerSchema, "retrieval": objectSchema(jsonSchema{"top_k": integerSchema, "mode": ref("SearchMode"),
			"filter": anyObject, "score_threshold": numberSchema, "rerank": anyObject})}, "collection")}},
	"RAGCompletion": jsonSchema{"allOf": []jsonSchema{ref("ChatCompletion"), objectSchema(jsonSchema{"sources": arraySchema(ref("SearchResult"))})}},
	"SearchMode":    jsonSchema{"type": "string", "enum": []string{"hybrid", "vector", "keyword"}},
	"Vector": jsonSchema{"description": "A client's own vector: numbers, or the base64 of its little-endian float32s (as /v1/embeddings writes with encoding_format base64).",
		"oneOf": []jsonSchema{arraySchema(numberSchema), {"type": "string", "contentEncoding": "base64"}}},
	"SearchRequest": objectSchema(jsonSchema{"input": stringSchema, "vector": ref("Vector"), "top_k": integerSchema,
		"mode": ref("SearchMode"), "alpha": numberSchema, "score_threshold": numberSchema, "filter": anyObject,
		"include_content": booleanSchema, "exact": booleanSchema, "rerank": anyObject}, "input"),
	"SearchResult": objectSchema(jsonSchema{"id": stringSchema, "item_id": stringSchema, "file_id": nullable("string"),
		"filename": nullable("string"), "content": stringSchema, "description": stringSchema, "score": numberSchema,
		"metadata": anyObject, "created": integerSchema, "position": anyObject}),
	"EmbeddingUsage": objectSchema(jsonSchema{"prompt_tokens": integerSchema, "total_tokens": integerSchema}),
	"Collection": objectSchema(jsonSchema{"id": stringSchema, "name": stringSchema, "description": stringSchema, "created": integerSchema,
		"updated": integerSchema, "embedding_model": stringSchema, "dimensions": integerSchema, "chunking": anyObject,
		"item_count": integerSchema, "file_count": integerSchema, "chunk_count": integerSchema, "bytes": integerSchema, "metadata": anyObject,
		"quantization": ref("Quantization"),
		"vector_search": jsonSchema{"type": "string", "readOnly": true, "enum": []string{ragd.VectorSearchFloats, ragd.VectorSearchCodes, ragd.VectorSearchDisk},
			"description": "How a vector search reads the collection's vectors now: decided by quantization, its size and the memory budget."}}),
	"Quantization": jsonSchema{"type": "string", "enum": []string{"auto", "int8", "none"}},
	"CollectionRequest": objectSchema(jsonSchema{"name": stringSchema, "description": stringSchema, "embedding_model": stringSchema,
		"dimensions": integerSchema, "chunking": objectSchema(jsonSchema{"max_tokens": integerSchema, "overlap_tokens": integerSchema}), "metadata": anyObject,
		"quantization": ref("Quantization")}),
	"Item": objectSchema(jsonSchema{"id": stringSchema, "created": integerSchema, "updated": integerSchema, "description": stringSchema,
		"content": stringSchema, "metadata": anyObject, "chunk_count": integerSchema, "tokens": integerSchema}),
	"VideoJob": objectSchema(jsonSchema{"id": stringSchema, "job_id": stringSchema, "object": stringSchema, "model": stringSchema,
		"status": jsonSchema{"type": "string", "enum": []string{"queued", "in_progress", "completed", "failed"}}, "created": integerSchema,
		"data": arraySchema(anyObject)}, "id", "status"),
	"ItemRequest": objectSchema(jsonSchema{"content": stringSchema, "description": stringSchema, "metadata": anyObject, "vector": ref("Vector")}),
	"File": objectSchema(jsonSchema{"id": stringSchema, "filename": stringSchema, "bytes": integerSchema, "content_type": stringSchema,
		"sha256": stringSchema, "status": jsonSchema{"type": "string", "enum": []string{"enqueued", "processing", "completed", "failed"}},
		"error": anyObject, "items": integerSchema, "chunks": integerSchema, "tokens": integerSchema, "pages": integerSchema,
		"created": integerSchema, "completed_at": integerSchema, "metadata": anyObject}),
	"Memory": objectSchema(jsonSchema{"id": stringSchema, "user_id": stringSchema, "role": stringSchema, "content": stringSchema,
		"created": integerSchema, "score": numberSchema}),
	"Deleted": objectSchema(jsonSchema{"id": stringSchema, "deleted": booleanSchema}, "id", "deleted"),
	"Model": objectSchema(jsonSchema{"id": stringSchema, "object": jsonSchema{"const": "model"}, "created": integerSchema,
		"owned_by": stringSchema, "type": jsonSchema{"type": "string", "enum": []string{"chat", "embedding", "rerank"}},
		"context_window": integerSchema, "dimensions": integerSchema, "default": booleanSchema, "description": stringSchema,
		"price": objectSchema(jsonSchema{"input_per_1k": numberSchema, "output_per_1k": numberSchema, "per_request": numberSchema})},
		"id", "object", "owned_by", "type", "context_window"),
	"UsageCounts": objectSchema(jsonSchema{"requests": integerSchema, "embedding_tokens": integerSchema, "prompt_tokens": integerSchema,
		"completion_tokens": integerSchema, "credits": numberSchema}),
	"MonthUsage": jsonSchema{"allOf": []jsonSchema{ref("UsageCounts"), objectSchema(jsonSchema{"month": stringSchema,
		"total_tokens": integerSchema, "stored_bytes": integerSchema,
		"by_endpoint": jsonSchema{"type": "object", "additionalProperties": ref("UsageCounts")},
		"by_model":    jsonSchema{"type": "object", "additionalProperties": ref("UsageCounts")}})}},
}

// body is a request or response body: a JSON schema, or for another
// content type its schema under that type.
type body struct {
	schema      jsonSchema
	contentType string // "" is application/json
}

func jsonBody(s jsonSchema) *body { return &body{schema: s} }

// listOf is a list response: the items under key, with has_more and
// last_id (API.md's pagination).
func listOf(key string, item jsonSchema) *body {
	return jsonBody(objectSchema(jsonSchema{key: arraySchema(item), "has_more": booleanSchema, "last_id": nullable("string")}, key))
}

var (
	multipartFile = &body{contentType: "multipart/form-data", schema: objectSchema(jsonSchema{
		"file": jsonSchema{"type": "string", "contentMediaType": "application/octet-stream"}, "metadata": stringSchema,
		"max_tokens": integerSchema, "overlap_tokens": integerSchema, "purpose": stringSchema}, "file")}
	eventStream = &body{contentType: "text/event-stream",
		schema: jsonSchema{"type": "string", "description": "server-sent events: data: {chat.completion.chunk} ... data: [DONE]"}}
	rawContent  = &body{contentType: "application/octet-stream", schema: jsonSchema{"type": "string", "description": "the file's original bytes"}}
	openAIShape = jsonBody(jsonSchema{"type": "object", "description": "OpenAI's shape for this route (see OpenAI's API reference)"})
)

// routeDoc documents one route.
type routeDoc struct {
	summary string
	// public routes take no API key; admin routes take an admin key.
	public, admin bool
	request       *body
	// status is the success status, 200 when 0; response its body, and
	// stream the alternative body of a request with "stream": true.
	status   int
	response *body
	stream   *body
}

// routeDocs documents each route by "METHOD /path" as registered.
var routeDocs = map[string]routeDoc{
	"GET /healthz":      {summary: "Liveness probe: the process answers", public: true},
	"GET /readyz":       {summary: "Readiness probe: the database answers", public: true},
	"GET /metrics":      {summary: "Prometheus metrics (admin key when --metrics-auth)", public: true, response: &body{contentType: "text/plain", schema: stringSchema}},
	"GET /openapi.json": {summary: "This OpenAPI 3.1 document", public: true, response: jsonBody(anyObject)},
	"GET /":             {summary: "Redirects to the console", public: true, status: 302},
	"GET /console":      {summary: "Redirects to the console's page, /console/", public: true, status: 302},
	"GET /console/*": {summary: "The web console's files (it signs in with an API key, kept by the browser)", public: true,
		response: &body{contentType: "text/html", schema: stringSchema}},

	"GET /v1/vector_store/:id/files/:fileid/chunks": {summary: "A completed file's chunks in document order, a page at a time",
		response: listOf("chunks", objectSchema(jsonSchema{"id": stringSchema, "item_id": stringSchema, "content": stringSchema,
			"tokens": integerSchema, "position": anyObject}))},
	"GET /v1/usage/daily": {summary: "Requests and tokens per UTC day, from the request logs",
		response: jsonBody(objectSchema(jsonSchema{"days": arraySchema(objectSchema(jsonSchema{"date": stringSchema,
			"requests": integerSchema, "tokens": integerSchema}))}, "days"))},

	"GET /v1/audio/models": {summary: "The speech and transcription models (seed 002)",
		response: jsonBody(objectSchema(jsonSchema{"speech": arraySchema(anyObject), "transcription": arraySchema(anyObject)}, "speech"))},
	"GET /v1/audio/voices": {summary: "The configured voices of the speech models (seed 002)",
		response: jsonBody(objectSchema(jsonSchema{"voices": arraySchema(anyObject)}, "voices"))},
	"POST /v1/audio/speech": {summary: "Speech from text (input at most 2,000 characters), by the model's provider",
		request:  jsonBody(objectSchema(jsonSchema{"model": stringSchema, "input": stringSchema, "voice": stringSchema}, "model", "input", "voice")),
		response: &body{contentType: "audio/mpeg", schema: jsonSchema{"type": "string", "description": "the audio, in the provider's content type"}}},
	"POST /v1/audio/transcriptions": {summary: "Text from audio (multipart, or JSON with the file in base64), by the model's provider",
		request: &body{contentType: "multipart/form-data", schema: objectSchema(jsonSchema{"file": jsonSchema{"type": "string",
			"contentMediaType": "application/octet-stream"}, "model": stringSchema}, "file", "model")}, response: openAIShape},
	"POST /v1/images/generations": {summary: "Images from a prompt, by the model's provider",
		request: jsonBody(objectSchema(jsonSchema{"model": stringSchema, "prompt": stringSchema}, "model", "prompt")), response: openAIShape},
	"POST /v1/music/generations": {summary: "Music from a prompt, by the model's provider",
		request: jsonBody(objectSchema(jsonSchema{"model": stringSchema, "prompt": stringSchema}, "model", "prompt")), response: jsonBody(anyObject)},
	"POST /v1/videos/generations": {summary: "Start a video generation job; poll GET /v1/videos/generations/{job_id}",
		request: jsonBody(objectSchema(jsonSchema{"model": stringSchema, "prompt": stringSchema}, "model", "prompt")), response: jsonBody(ref("VideoJob"))},
	"GET /v1/videos/generations/:job_id": {summary: "A video generation job, asked of its provider while it runs", response: jsonBody(ref("VideoJob"))},
	"POST /v1/video/generations": {summary: "Seed 003's synchronous video generation: waits for the job to end",
		request: jsonBody(objectSchema(jsonSchema{"model": stringSchema, "prompt": stringSchema}, "model", "prompt")), response: jsonBody(ref("VideoJob"))},

	"POST /v1/chat/completions": {summary: "OpenAI chat completion routed to the model's provider, with fallbacks",
		request: jsonBody(ref("ChatCompletionRequest")), response: jsonBody(ref("ChatCompletion")), stream: eventStream},
	"POST /v1/chat": {summary: "Seed 001's chat route: the same as POST /v1/chat/completions",
		request: jsonBody(ref("ChatCompletionRequest")), response: jsonBody(ref("ChatCompletion")), stream: eventStream},
	"POST /v1/infer": {summary: "Seed 000's inference: a prompt or messages answered with one chat completion plus its text",
		request: jsonBody(ref("InferRequest")), response: jsonBody(ref("InferResponse"))},
	"POST /v1/stream": {summary: "Seed 000's streamed inference: POST /v1/infer as server-sent events",
		request: jsonBody(ref("InferRequest")), response: eventStream},
	"POST /v1/chat/completions/RAG": {summary: "Answer from a collection's passages, citing them",
		request: jsonBody(ref("RAGRequest")), response: jsonBody(ref("RAGCompletion")), stream: eventStream},
	"GET /v1/chat/completions/:id": {summary: "A stored chat completion with its sources and vote",
		response: jsonBody(jsonSchema{"allOf": []jsonSchema{ref("RAGCompletion"), objectSchema(jsonSchema{"vote": nullable("string")})}})},
	"POST /v1/chat/completions/:id/vote": {summary: "Vote up or down on a stored completion",
		request:  jsonBody(objectSchema(jsonSchema{"vote": jsonSchema{"type": "string", "enum": []string{"up", "down"}}}, "vote")),
		response: jsonBody(objectSchema(jsonSchema{"id": stringSchema, "vote": stringSchema}))},
	"GET /v1/chat/models": {summary: "The chat models (seed 002); private_models is always empty",
		response: jsonBody(objectSchema(jsonSchema{"models": arraySchema(ref("Model")), "private_models": arraySchema(ref("Model"))}, "models", "private_models"))},
	"POST /v1/tokenize": {summary: "Count tokens with a model's tokenizer without running it",
		request:  jsonBody(objectSchema(jsonSchema{"model": stringSchema, "input": stringSchema, "messages": arraySchema(ref("ChatMessage"))})),
		response: jsonBody(objectSchema(jsonSchema{"model": stringSchema, "encoding": stringSchema, "tokens": integerSchema}))},
	"POST /v1/embeddings": {summary: "OpenAI embeddings",
		request: jsonBody(objectSchema(jsonSchema{"input": jsonSchema{"oneOf": []jsonSchema{stringSchema, arraySchema(stringSchema)}},
			"model": stringSchema, "encoding_format": jsonSchema{"type": "string", "enum": []string{"float", "base64"}}, "dimensions": integerSchema}, "input")),
		response: jsonBody(objectSchema(jsonSchema{"object": stringSchema, "model": stringSchema, "usage": ref("EmbeddingUsage"),
			"data": arraySchema(objectSchema(jsonSchema{"object": stringSchema, "index": integerSchema,
				"embedding": jsonSchema{"oneOf": []jsonSchema{arraySchema(numberSchema), stringSchema}}}))}))},
	"POST /v1/rerank": {summary: "Rerank documents against a query (Cohere/TEI shape)",
		request: jsonBody(objectSchema(jsonSchema{"model": stringSchema, "query": stringSchema, "documents": arraySchema(jsonSchema{}),
			"top_n": integerSchema, "return_documents": booleanSchema}, "query", "documents")),
		response: jsonBody(objectSchema(jsonSchema{"id": stringSchema, "model": stringSchema, "usage": ref("EmbeddingUsage"),
			"results": arraySchema(objectSchema(jsonSchema{"index": integerSchema, "relevance_score": numberSchema, "document": anyObject}))}))},
	"GET /v1/models": {summary: "Every model with its type and context window",
		response: jsonBody(objectSchema(jsonSchema{"object": stringSchema, "data": arraySchema(ref("Model"))}))},
	"GET /v1/models/:model":                                   {summary: "One model", response: jsonBody(ref("Model"))},
	"POST /v1/vector_stores/:id/file_batches/:batchid/cancel": {summary: "OpenAI: cancel a file batch", response: openAIShape},
	"POST /v1/responses":                                      {summary: "OpenAI Responses API, with the file_search tool over vector stores", request: openAIShape, response: openAIShape},

	"POST /v1/vector_store": {summary: "Create a collection", status: http.StatusCreated,
		request: jsonBody(ref("CollectionRequest")), response: jsonBody(objectSchema(jsonSchema{"collection": ref("Collection")}))},
	"GET /v1/vector_store":     {summary: "List the collections", response: listOf("collections", ref("Collection"))},
	"GET /v1/vector_store/:id": {summary: "A collection", response: jsonBody(objectSchema(jsonSchema{"collection": ref("Collection")}))},
	"PUT /v1/vector_store/:id": {summary: "Update a collection's name, description, metadata or quantization",
		request: jsonBody(ref("CollectionRequest")), response: jsonBody(objectSchema(jsonSchema{"collection": ref("Collection")}))},
	"PATCH /v1/vector_store/:id": {summary: "Update a collection's name, description, metadata or quantization",
		request: jsonBody(ref("CollectionRequest")), response: jsonBody(objectSchema(jsonSchema{"collection": ref("Collection")}))},
	"DELETE /v1/vector_store/:id": {summary: "Delete a collection with its items, files and vectors", response: jsonBody(ref("Deleted"))},
	"POST /v1/vector_store/:id/search": {summary: "Search a collection (hybrid, vector or keyword)",
		request:  jsonBody(ref("SearchRequest")),
		response: jsonBody(objectSchema(jsonSchema{"results": arraySchema(ref("SearchResult")), "usage": ref("EmbeddingUsage")}))},
	"POST /v1/vector_store/:id/items": {summary: "Add an item", status: http.StatusCreated,
		request: jsonBody(ref("ItemRequest")), response: jsonBody(objectSchema(jsonSchema{"item": ref("Item"), "usage": ref("EmbeddingUsage")}))},
	"POST /v1/vector_store/:id/items/batch": {summary: "Add up to 1000 items, all or none", status: http.StatusCreated,
		request:  jsonBody(objectSchema(jsonSchema{"items": arraySchema(ref("ItemRequest"))}, "items")),
		response: jsonBody(objectSchema(jsonSchema{"items": arraySchema(ref("Item")), "usage": ref("EmbeddingUsage")}))},
	"GET /v1/vector_store/:id/items":         {summary: "List a collection's items", response: listOf("items", ref("Item"))},
	"GET /v1/vector_store/:id/items/:itemid": {summary: "An item", response: jsonBody(objectSchema(jsonSchema{"item": ref("Item")}))},
	"PUT /v1/vector_store/:id/items/:itemid": {summary: "Update an item; new content is re-embedded",
		request: jsonBody(ref("ItemRequest")), response: jsonBody(objectSchema(jsonSchema{"item": ref("Item"), "usage": ref("EmbeddingUsage")}))},
	"PATCH /v1/vector_store/:id/items/:itemid": {summary: "Update an item; new content is re-embedded",
		request: jsonBody(ref("ItemRequest")), response: jsonBody(objectSchema(jsonSchema{"item": ref("Item"), "usage": ref("EmbeddingUsage")}))},
	"DELETE /v1/vector_store/:id/items/:itemid": {summary: "Delete an item", response: jsonBody(ref("Deleted"))},
	"POST /v1/vector_store/:id/files": {summary: "Upload a file to ingest (202; 201 with ?wait=true)", status: http.StatusAccepted,
		request: multipartFile, response: jsonBody(objectSchema(jsonSchema{"file": ref("File")}))},
	"GET /v1/vector_store/:id/files":                 {summary: "List a collection's files", response: listOf("files", ref("File"))},
	"GET /v1/vector_store/:id/files/:fileid":         {summary: "A file and its ingest status", response: jsonBody(objectSchema(jsonSchema{"file": ref("File")}))},
	"GET /v1/vector_store/:id/files/:fileid/content": {summary: "A file's original bytes", response: rawContent},
	"DELETE /v1/vector_store/:id/files/:fileid":      {summary: "Delete a file with its chunks and vectors", response: jsonBody(ref("Deleted"))},
	"POST /v1/files":            {summary: "OpenAI: upload a file", request: multipartFile, response: openAIShape},
	"GET /v1/files/:id/content": {summary: "OpenAI: a file's bytes", response: rawContent},

	"GET /v1/users/:user/memories": {summary: "An end user's memories (x-user-id, seed 003)",
		response: jsonBody(objectSchema(jsonSchema{"memories": arraySchema(ref("Memory"))}))},
	"POST /v1/users/:user/memories/search": {summary: "Search an end user's memories",
		request:  jsonBody(objectSchema(jsonSchema{"query": stringSchema, "top_k": integerSchema}, "query")),
		response: jsonBody(objectSchema(jsonSchema{"memories": arraySchema(ref("Memory"))}))},
	"DELETE /v1/users/:user/memories": {summary: "Forget every memory of an end user",
		response: jsonBody(objectSchema(jsonSchema{"user_id": stringSchema, "deleted": integerSchema}))},
	"DELETE /v1/users/:user/memories/:id": {summary: "Forget one memory", response: jsonBody(ref("Deleted"))},
	"GET /v1/workspaces":                  {summary: "The workspaces this key can use", response: jsonBody(anyObject)},
	"GET /v1/usage": {summary: "This workspace's usage this month and last month",
		response: jsonBody(objectSchema(jsonSchema{"current_month": ref("MonthUsage"), "previous_month": ref("MonthUsage")}))},
	"GET /v1/request-logs": {summary: "Recent requests of this workspace (?period=&timestamp=&endpoint=)", response: jsonBody(anyObject)},
	"POST /v1/request-logs": {summary: "Recent requests of this workspace (seed 002's JSON body)",
		request:  jsonBody(objectSchema(jsonSchema{"period": jsonSchema{"type": "integer", "enum": []int{15, 30, 45, 60}}, "timestamp": stringSchema, "endpoint": stringSchema}, "period")),
		response: jsonBody(anyObject)},
	"GET /v1/health": {summary: "The state of the database and of each provider", response: jsonBody(anyObject)},
	"POST /v1/cluster/snapshot": {summary: "Take a snapshot of this cluster node's store now and trim the replicated log below the oldest kept",
		admin: true, response: jsonBody(objectSchema(jsonSchema{"object": stringSchema, "seq": integerSchema}))},
	"POST /v1/keys": {summary: "Create an API key; its secret is shown only here", admin: true, status: http.StatusCreated,
		request: jsonBody(objectSchema(jsonSchema{"name": stringSchema, "workspace": stringSchema, "admin": booleanSchema,
			"rpm": integerSchema, "tpm": integerSchema}, "name")), response: jsonBody(anyObject)},
	"GET /v1/keys":        {summary: "List API keys (no secrets)", admin: true, response: jsonBody(anyObject)},
	"DELETE /v1/keys/:id": {summary: "Revoke an API key", admin: true, response: jsonBody(ref("Deleted"))},
	"POST /v1/webhooks": {summary: "Register a webhook", admin: true, status: http.StatusCreated,
		request:  jsonBody(objectSchema(jsonSchema{"url": stringSchema, "events": arraySchema(stringSchema), "secret": stringSchema}, "url", "events")),
		response: jsonBody(anyObject)},
	"GET /v1/webhooks":                {summary: "List webhooks", admin: true, response: jsonBody(anyObject)},
	"GET /v1/webhooks/:id":            {summary: "A webhook", admin: true, response: jsonBody(anyObject)},
	"DELETE /v1/webhooks/:id":         {summary: "Delete a webhook", admin: true, response: jsonBody(ref("Deleted"))},
	"GET /v1/webhooks/:id/deliveries": {summary: "A webhook's recent deliveries", admin: true, response: jsonBody(anyObject)},
}

// openAIRoutes are routes of OpenAI's Files and Vector Stores APIs by
// summary: their bodies are OpenAI's objects, which OpenAI's API reference
// documents; a POST takes a JSON body (those that take none are in
// routeDocs).
var openAIRoutes = map[string]string{
	"GET /v1/files":                                         "list files",
	"GET /v1/files/:id":                                     "a file",
	"DELETE /v1/files/:id":                                  "delete a file",
	"POST /v1/vector_stores":                                "create a vector store",
	"GET /v1/vector_stores":                                 "list vector stores",
	"GET /v1/vector_stores/:id":                             "a vector store",
	"POST /v1/vector_stores/:id":                            "modify a vector store",
	"DELETE /v1/vector_stores/:id":                          "delete a vector store",
	"POST /v1/vector_stores/:id/search":                     "search a vector store",
	"POST /v1/vector_stores/:id/files":                      "attach a file to a vector store",
	"GET /v1/vector_stores/:id/files":                       "list a vector store's files",
	"GET /v1/vector_stores/:id/files/:fileid":               "a vector store file",
	"POST /v1/vector_stores/:id/files/:fileid":              "update a vector store file's attributes",
	"DELETE /v1/vector_stores/:id/files/:fileid":            "detach a file from a vector store",
	"GET /v1/vector_stores/:id/files/:fileid/content":       "a vector store file's parsed content",
	"POST /v1/vector_stores/:id/file_batches":               "attach files in a batch",
	"GET /v1/vector_stores/:id/file_batches/:batchid":       "a file batch",
	"GET /v1/vector_stores/:id/file_batches/:batchid/files": "list a file batch's files",
}

// docOf returns the documentation of route ("METHOD /path"), a zero
// routeDoc when it has none.
func docOf(route string) routeDoc {
	if d, ok := routeDocs[route]; ok {
		return d
	}
	summary, ok := openAIRoutes[route]
	if !ok {
		return routeDoc{}
	}
	d := routeDoc{summary: "OpenAI: " + summary, response: openAIShape}
	if strings.HasPrefix(route, "POST ") {
		d.request = openAIShape
	}
	return d
}

// openAPIDocument builds the document of routes: each with its entry of
// routeDocs, its path parameters and its error responses.
func openAPIDocument(routes []*echo.Route) jsonSchema {
	paths := jsonSchema{}
	for _, rt := range routes {
		if strings.HasPrefix(rt.Method, "echo_") {
			continue
		}
		path, params := openAPIPath(rt.Path)
		item, _ := paths[path].(jsonSchema)
		if item == nil {
			item = jsonSchema{}
			paths[path] = item
		}
		item[strings.ToLower(rt.Method)] = docOf(rt.Method + " " + rt.Path).operation(params)
	}
	return jsonSchema{
		"openapi": "3.1.0",
		"info": jsonSchema{"title": "ragd", "version": "v1",
			"description": "ragd's HTTP API: collections, items, files and search over SQLite, chat and RAG through configured providers, and the OpenAI-compatible routes. Errors are {error: {message, type, code, param}}."},
		"paths":    paths,
		"security": []jsonSchema{{"bearerAuth": []string{}}},
		"components": jsonSchema{
			"schemas":         componentSchemas,
			"securitySchemes": jsonSchema{"bearerAuth": jsonSchema{"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <API key>"}},
		},
	}
}

// openAPIPath turns Echo's /a/:id into OpenAPI's /a/{id} and returns the
// parameter names.
func openAPIPath(path string) (string, []string) {
	segs := strings.Split(path, "/")
	var params []string
	for i, s := range segs {
		if name, ok := strings.CutPrefix(s, ":"); ok {
			params = append(params, name)
			segs[i] = "{" + name + "}"
		}
	}
	return strings.Join(segs, "/"), params
}

// operation is the OpenAPI operation of d with the path parameters params.
func (d routeDoc) operation(params []string) jsonSchema {
	op := jsonSchema{"summary": d.summary}
	if d.public {
		op["security"] = []jsonSchema{}
	}
	if d.admin {
		op["description"] = "Needs an admin API key."
	}
	if len(params) > 0 {
		ps := make([]jsonSchema, len(params))
		for i, p := range params {
			ps[i] = jsonSchema{"name": p, "in": "path", "required": true, "schema": stringSchema}
		}
		op["parameters"] = ps
	}
	if d.request != nil {
		op["requestBody"] = jsonSchema{"required": true, "content": d.request.content(nil)}
	}
	status := d.status
	if status == 0 {
		status = http.StatusOK
	}
	ok := jsonSchema{"description": http.StatusText(status)}
	if d.response != nil {
		ok["content"] = d.response.content(d.stream)
	}
	op["responses"] = jsonSchema{
		strconv.Itoa(status): ok,
		"default":            jsonSchema{"description": "an error", "content": jsonSchema{"application/json": jsonSchema{"schema": ref("Error")}}},
	}
	return op
}

// content is the content map of b, and of alt (another content type)
// when not nil.
func (b *body) content(alt *body) jsonSchema {
	out := jsonSchema{}
	for _, x := range []*body{b, alt} {
		if x == nil {
			continue
		}
		ct := x.contentType
		if ct == "" {
			ct = echo.MIMEApplicationJSON
		}
		out[ct] = jsonSchema{"schema": x.schema}
	}
	return out
}

func (s *Server) handleOpenAPI(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, s.openAPI)
}

// renderOpenAPI renders the document of routes.
func renderOpenAPI(routes []*echo.Route) []byte {
	doc, err := json.Marshal(openAPIDocument(routes))
	if err != nil {
		// The document holds only maps, slices, strings, numbers and
		// booleans, which always encode.
		panic(fmt.Sprintf("server: encoding the OpenAPI document: %v", err))
	}
	return doc
}
