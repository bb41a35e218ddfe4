package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
	"github.com/ragd/ragd/webhook"
)

// receiver is a webhook endpoint that verifies every delivery with the
// README's code and answers the statuses it is given, then 200.
type receiver struct {
	*httptest.Server
	secret   string
	mu       sync.Mutex
	statuses []int // answered in order, then 200
	events   []webhook.Event
	badSigs  int
	got      chan webhook.Event
}

func newReceiver(t *testing.T, secret string, statuses ...int) *receiver {
	r := &receiver{secret: secret, statuses: statuses, got: make(chan webhook.Event, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := verifySignature(r.secret, req.Header.Get("X-Ragd-Signature"), body, time.Now()); err != nil {
			r.badSigs++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if len(r.statuses) > 0 {
			st := r.statuses[0]
			r.statuses = r.statuses[1:]
			w.WriteHeader(st)
			return
		}
		var ev webhook.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("delivery body %q: %v", body, err)
		}
		r.events = append(r.events, ev)
		r.got <- ev
	}))
	t.Cleanup(r.Close)
	return r
}

// wait returns the next accepted event.
func (r *receiver) wait(t *testing.T) webhook.Event {
	t.Helper()
	select {
	case ev := <-r.got:
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery arrived")
		return webhook.Event{}
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// waitDelivery waits until the one delivery of webhook w is in state and
// returns it.
func waitDelivery(t *testing.T, st *store.Store, w *ragd.Webhook, state string) *ragd.Delivery {
	t.Helper()
	var log []*ragd.Delivery
	testwait.Until(t, 20*time.Second, func() bool {
		var err error
		if log, err = st.Deliveries(context.Background(), w.Workspace, w.ID, 10); err != nil {
			t.Fatal(err)
		}
		return len(log) == 1 && log[0].State == state
	}, "the delivery of webhook %s is not %s", w.ID, state)
	return log[0]
}

func register(t *testing.T, st *store.Store, ws, url, secret string, events ...string) *ragd.Webhook {
	t.Helper()
	w := &ragd.Webhook{ID: ragd.NewID("wh"), Created: storetest.At, Workspace: ws, URL: url, Events: events, Secret: secret}
	if err := st.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestDeliverySignedAndRetried(t *testing.T) {
	st := storetest.MustOpen(t)
	const secret = "whsec_0123456789abcdef"
	rcv := newReceiver(t, secret, 500, 503)
	other := newReceiver(t, secret)
	w := register(t, st, "acme", rcv.URL, secret, webhook.FileCompleted, webhook.FileFailed)
	register(t, st, "acme", other.URL, secret, webhook.CollectionDeleted)
	register(t, st, "globex", other.URL, secret, webhook.FileCompleted)

	d := webhook.New(st, webhook.Options{Backoff: 5 * time.Millisecond, Logger: quiet})
	d.Start()
	defer d.Close(context.Background())
	data := map[string]any{"id": "file_1", "filename": "report.pdf", "status": "completed"}
	if err := d.Publish(context.Background(), "acme", webhook.FileCompleted, data); err != nil {
		t.Fatal(err)
	}
	ev := rcv.wait(t)
	if ev.Type != webhook.FileCompleted || ev.ID == "" || ev.Created == 0 {
		t.Errorf("event %+v", ev)
	}
	if got := ev.Data.(map[string]any)["filename"]; got != "report.pdf" {
		t.Errorf("data.filename = %v", got)
	}
	if rcv.badSigs != 0 {
		t.Errorf("%d deliveries failed signature verification", rcv.badSigs)
	}
	// Neither the endpoint subscribed to other events nor another
	// workspace's endpoint received it.
	select {
	case ev := <-other.got:
		t.Errorf("unsubscribed endpoint got %+v", ev)
	default:
	}
	log := waitDelivery(t, st, w, ragd.DeliveryDelivered)
	if log.Attempts != 3 || log.LastStatus != 200 || log.EventID != ev.ID {
		t.Errorf("delivery log %+v", log)
	}
}

func TestDeliveryGivesUpAfterMaxAttempts(t *testing.T) {
	st := storetest.MustOpen(t)
	rcv := newReceiver(t, "whsec_0123456789abcdef", 500, 500, 500, 500)
	w := register(t, st, "acme", rcv.URL, "whsec_0123456789abcdef", webhook.FileFailed)
	d := webhook.New(st, webhook.Options{Backoff: time.Millisecond, MaxAttempts: 3, Logger: quiet})
	d.Start()
	defer d.Close(context.Background())
	if err := d.Publish(context.Background(), "acme", webhook.FileFailed, map[string]string{"id": "file_2"}); err != nil {
		t.Fatal(err)
	}
	if log := waitDelivery(t, st, w, ragd.DeliveryFailed); log.Attempts != 3 || log.LastStatus != 500 || log.LastError == "" {
		t.Errorf("failed delivery %+v", log)
	}
}

// TestOutboxSurvivesRestart publishes while no dispatcher runs, closes the
// database, and checks the next process delivers the event.
func TestOutboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, "whsec_0123456789abcdef")
	register(t, st, "acme", rcv.URL, "whsec_0123456789abcdef", webhook.CollectionDeleted)
	if err := webhook.New(st, webhook.Options{Logger: quiet}).Publish(context.Background(), "acme", webhook.CollectionDeleted, map[string]string{"id": "col_1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = storetest.MustOpenIn(t, dir)
	d := webhook.New(st, webhook.Options{Logger: quiet})
	d.Start()
	defer d.Close(context.Background())
	if ev := rcv.wait(t); ev.Type != webhook.CollectionDeleted || ev.Data.(map[string]any)["id"] != "col_1" {
		t.Errorf("event %+v", ev)
	}
}

func TestSign(t *testing.T) {
	// Reference value: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
	got := webhook.Sign("whsec_test", 1700000000, []byte(`{"a":1}`))
	const want = "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if err := verifySignature("whsec_test", got, []byte(`{"a":1}`), time.Unix(1700000000, 0)); err != nil {
		t.Error(err)
	}
	for name, c := range map[string]struct {
		secret, header, body string
		now                  int64
	}{
		"WrongSecret": {"whsec_other", got, `{"a":1}`, 1700000000},
		"AlteredBody": {"whsec_test", got, `{"a":2}`, 1700000000},
		"Replayed":    {"whsec_test", got, `{"a":1}`, 1700000000 + 3600},
		"NoSignature": {"whsec_test", "t=1700000000", `{"a":1}`, 1700000000},
		"NoTimestamp": {"whsec_test", "v1=00", `{"a":1}`, 1700000000},
	} {
		t.Run(name, func(t *testing.T) {
			if err := verifySignature(c.secret, c.header, []byte(c.body), time.Unix(c.now, 0)); err == nil {
				t.Error("verified")
			}
		})
	}
}
