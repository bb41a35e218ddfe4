package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// hooks is a webhook receiver on loopback that records the file events a
// cluster delivers: each file must have one event, fired by one node
// (its ingest's), whatever the number of nodes. A delivery may be
// repeated (an attempt whose result was not recorded before a kill), so
// events are told apart by their ID.
type hooks struct {
	srv *httptest.Server
	mu  sync.Mutex
	// events holds, for each file ID, the IDs of its events.
	events map[string]map[string]bool
}

func newHooks() *hooks {
	h := &hooks{events: map[string]map[string]bool{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			ID   string `json:"id"`
			Data struct {
				File struct{ ID string } `json:"file"`
			} `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.ID == "" || ev.Data.File.ID == "" {
			http.Error(w, "not a file event", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		if h.events[ev.Data.File.ID] == nil {
			h.events[ev.Data.File.ID] = map[string]bool{}
		}
		h.events[ev.Data.File.ID][ev.ID] = true
		h.mu.Unlock()
	}))
	return h
}

// register subscribes the receiver to the file events of the key's
// workspace.
func (h *hooks) register(cl *client) error {
	_, err := cl.call("POST", "/v1/webhooks", map[string]any{"url": h.srv.URL, "events": []string{"file.completed", "file.failed"}}, nil)
	return err
}

// check waits up to a minute for an event of every file and fails when a
// file had two events. With lost set (a node was killed), up to one file
// may lack its event: a node killed after it published a file and before
// it queued the event loses it, as one ragd killed there would.
func (h *hooks) check(files []string, lost bool) error {
	deadline := time.Now().Add(time.Minute)
	for {
		h.mu.Lock()
		var missing []string
		for _, id := range files {
			switch n := len(h.events[id]); {
			case n > 1:
				h.mu.Unlock()
				return fmt.Errorf("file %s had %d webhook events; want one, from the node that ingested it", id, n)
			case n == 0:
				missing = append(missing, id)
			}
		}
		h.mu.Unlock()
		if len(missing) == 0 || (lost && len(missing) == 1 && time.Now().After(deadline)) {
			fmt.Printf("webhooks: one event for each of %d files (%d missing, of a killed node)\n", len(files)-len(missing), len(missing))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d files had no webhook event within a minute: %v", len(missing), missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *hooks) close() { h.srv.Close() }
