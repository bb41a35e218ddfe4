package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/webhook"
)

// TestWebhookCollectionDeleted registers an endpoint through the API,
// deletes a collection and checks the signed event and the delivery log.
func TestWebhookCollectionDeleted(t *testing.T) {
	type delivery struct {
		sig  string
		body []byte
	}
	got := make(chan delivery, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Get("X-Ragd-Signature"), body}
	}))
	defer rcv.Close()
	ts := newOpsServer(t, server.OpsConfig{})
	admin := ts.key(t, "acme", true)
	wh := obj(ts.do(t, "POST", "/v1/webhooks", admin, map[string]any{"url": rcv.URL, "events": []string{"collection.deleted"}}).must(t, 201)["webhook"])
	secret := str(wh["secret"])
	if !strings.HasPrefix(secret, "whsec_") || len(secret) < 30 {
		t.Fatalf("generated secret %q", secret)
	}
	id := str(wh["id"])
	listed := list(ts.do(t, "GET", "/v1/webhooks", admin, nil).must(t, 200)["webhooks"])
	if len(listed) != 1 || obj(listed[0])["secret"] != nil || obj(listed[0])["url"] != rcv.URL {
		t.Errorf("list %v: the secret is shown only at creation", listed)
	}
	if one := obj(ts.do(t, "GET", "/v1/webhooks/"+id, admin, nil).must(t, 200)["webhook"]); one["secret"] != nil {
		t.Errorf("get shows the secret: %v", one)
	}

	col := ts.collection(t, admin, "doomed")
	ts.do(t, "DELETE", "/v1/vector_store/doomed", admin, nil).must(t, 200) // by name: the event still carries the id
	var d delivery
	select {
	case d = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery")
	}
	var ev webhook.Event
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatal(err)
	}
	if data := ev.Data.(map[string]any); ev.Type != "collection.deleted" || data["id"] != col || data["name"] != "doomed" {
		t.Errorf("event %s", d.body)
	}
	ts0, _, _ := strings.Cut(strings.TrimPrefix(d.sig, "t="), ",")
	sent, _ := strconv.ParseInt(ts0, 10, 64)
	if d.sig != webhook.Sign(secret, sent, d.body) {
		t.Errorf("signature %q does not match the secret", d.sig)
	}
	var log []any
	testwait.Until(t, 10*time.Second, func() bool {
		log = list(ts.do(t, "GET", "/v1/webhooks/"+id+"/deliveries", admin, nil).must(t, 200)["deliveries"])
		return len(log) == 1 && obj(log[0])["state"] == "delivered"
	}, "the delivery was not logged as delivered")
	if len(log) != 1 || obj(log[0])["state"] != "delivered" || obj(log[0])["attempts"] != 1.0 || obj(log[0])["event_id"] != ev.ID {
		t.Errorf("delivery log %v", log)
	}
	// A failed delete publishes nothing.
	ts.do(t, "DELETE", "/v1/vector_store/"+col, admin, nil).must(t, 404)
	ts.do(t, "DELETE", "/v1/webhooks/"+id, admin, nil).must(t, 200)
	ts.do(t, "GET", "/v1/webhooks/"+id+"/deliveries", admin, nil).must(t, 404)
	select {
	case d := <-got:
		t.Errorf("unexpected delivery %s", d.body)
	default:
	}
}

func TestWebhookCreateErrors(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{})
	for _, c := range []struct {
		name  string
		body  any
		param string
	}{
		{"ErrURLRequired", map[string]any{"events": []string{"file.completed"}}, "url"},
		{"ErrURLScheme", map[string]any{"url": "file:///etc/passwd", "events": []string{"file.completed"}}, "url"},
		{"ErrURLRelative", map[string]any{"url": "/hook", "events": []string{"file.completed"}}, "url"},
		{"ErrEventsRequired", map[string]any{"url": "http://example.com/h"}, "events"},
		{"ErrUnknownEvent", map[string]any{"url": "http://example.com/h", "events": []string{"file.completed", "file.exploded"}}, "events[1]"},
		{"ErrShortSecret", map[string]any{"url": "http://example.com/h", "events": []string{"file.failed"}, "secret": "abc"}, "secret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, "POST", "/v1/webhooks", ts.admin, c.body)
			r.must(t, 400)
			if _, p := r.errCode(); p != c.param {
				t.Errorf("param %v, want %s", p, c.param)
			}
		})
	}
}

// Webhook URLs naming a link-local (cloud metadata) address are refused
// with a 400 on the url; credentials in a URL are used for delivery but
// never shown by the API or kept in request logs.
func TestWebhookDestinations(t *testing.T) {
	auth := make(chan string, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		auth <- user + ":" + pass
	}))
	defer rcv.Close()
	ts := newOpsServer(t, server.OpsConfig{LogBodies: true, FlushInterval: 10 * time.Millisecond})
	admin := ts.key(t, "acme", true)
	for _, url := range []string{"http://169.254.169.254/latest/meta-data/iam/", "http://[fe80::1%25eth0]:8080/hook", "http://[::ffff:169.254.169.254]/"} {
		r := ts.do(t, "POST", "/v1/webhooks", admin, map[string]any{"url": url, "events": []string{"collection.deleted"}})
		e := obj(r.must(t, 400)["error"])
		if e["param"] != "url" || !strings.Contains(str(e["message"]), "--webhook-allow") {
			t.Errorf("%s: error %v", url, e)
		}
	}

	const password = "pa55w0rd-in-url"
	url := strings.Replace(rcv.URL, "http://", "http://hook-user:"+password+"@", 1) + "/hook"
	wh := obj(ts.do(t, "POST", "/v1/webhooks", admin, map[string]any{"url": url, "events": []string{"collection.deleted"}}).must(t, 201)["webhook"])
	shown := []any{wh["url"], obj(ts.do(t, "GET", "/v1/webhooks/"+str(wh["id"]), admin, nil).must(t, 200)["webhook"])["url"]}
	for _, w := range list(ts.do(t, "GET", "/v1/webhooks", admin, nil).must(t, 200)["webhooks"]) {
		shown = append(shown, obj(w)["url"])
	}
	for _, u := range shown {
		if want := strings.Replace(url, "hook-user:"+password, "xxxxx", 1); u != want {
			t.Errorf("url shown as %v, want %s", u, want)
		}
	}
	col := ts.collection(t, admin, "doomed")
	ts.do(t, "DELETE", "/v1/vector_store/"+col, admin, nil).must(t, 200)
	select {
	case got := <-auth:
		if got != "hook-user:"+password {
			t.Errorf("delivery authenticated as %q", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery")
	}
	testwait.Until(t, 10*time.Second, func() bool {
		logs := list(ts.do(t, "GET", "/v1/request-logs?period=15&endpoint=/v1/webhooks", admin, nil).must(t, 200)["requests"])
		var bodies []string
		for _, l := range logs {
			bodies = append(bodies, str(obj(l)["body"]))
		}
		if all := strings.Join(bodies, "\n"); strings.Contains(all, "hook-user:") || strings.Contains(all, password) {
			t.Fatalf("credentials in request logs: %s", all)
		}
		return len(logs) >= 4 // the three refused and the created
	}, "the four webhook requests were not logged")
}
