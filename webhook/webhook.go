// Package webhook delivers a workspace's events to its webhook endpoints
// from a persistent outbox in the store: each event is written to the
// outbox in the transaction that publishes it, then POSTed to every
// subscribed endpoint, signed with the endpoint's secret, and retried with
// exponential backoff until it is accepted or runs out of attempts. A
// restart loses nothing: pending deliveries are sent by the next process.
// Delivery is at least once; receivers deduplicate by event id.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/retry"
)

// Event types.
const (
	FileCompleted     = "file.completed"
	FileFailed        = "file.failed"
	CollectionDeleted = "collection.deleted"
)

// EventTypes lists the event types a webhook may subscribe to.
var EventTypes = []string{FileCompleted, FileFailed, CollectionDeleted}

// SignatureHeader is the header that carries a delivery's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
const SignatureHeader = "X-Ragd-Signature"

// Publisher publishes an event of a workspace to the webhooks subscribed
// to its type. data is the event's "data" object. Publish returns once the
// event is durably queued; it returns store errors only.
type Publisher interface {
	Publish(ctx context.Context, workspace, eventType string, data any) error
}

// Event is the JSON body of every delivery.
type Event struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    any    `json:"data"`
}

// Options tunes a Dispatcher; zero fields take the defaults.
type Options struct {
	// Client sends deliveries; default: 10 s timeout, no redirects, no
	// proxy, and only to the addresses Destinations allows.
	Client *http.Client
	// Destinations restricts where the default Client delivers.
	Destinations Destinations
	// MaxAttempts is how many times a delivery is tried before it is
	// marked failed; default 8.
	MaxAttempts int
	// Backoff is the nominal wait after the first failed attempt; it
	// doubles after each further one, up to MaxBackoff, and each wait is
	// between half and all of it (retry.Backoff), so that the deliveries
	// an endpoint's outage failed together are not all retried together.
	// Defaults 10 s and 1 h.
	Backoff, MaxBackoff time.Duration
	// Concurrency is how many deliveries are sent at once; default 4.
	Concurrency int
	// Logger receives delivery failures.
	Logger *slog.Logger
	// Now returns the current time; tests may replace it.
	Now func() time.Time
}

// Outbox is the durable queue of deliveries a Dispatcher works from; the
// store implements it. Its methods return only database errors.
type Outbox interface {
	// EnqueueEvent records one pending delivery of the event to every
	// webhook of ws subscribed to eventType and returns how many.
	EnqueueEvent(ctx context.Context, ws, eventType, eventID string, payload []byte) (int, error)
	// DueDeliveries returns up to limit pending deliveries due at now
	// (Unix milliseconds), oldest first.
	DueDeliveries(ctx context.Context, now int64, limit int) ([]*ragd.Delivery, error)
	// NextDeliveryAt returns when the next pending delivery is due, and
	// false when none is pending.
	NextDeliveryAt(ctx context.Context) (int64, bool, error)
	// RecordDeliveryAttempt saves the outcome of one attempt of d.
	RecordDeliveryAttempt(ctx context.Context, d *ragd.Delivery) error
}

// Dispatcher queues events in an Outbox and delivers them. It implements
// Publisher.
type Dispatcher struct {
	st      Outbox
	opt     Options
	backoff retry.Backoff
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

var _ Publisher = (*Dispatcher)(nil)

// New returns a dispatcher over st; call Start to begin delivering and
// Close to stop.
func New(st Outbox, opt Options) *Dispatcher {
	if opt.Client == nil {
		opt.Client = opt.Destinations.client()
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 8
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 10 * time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = time.Hour
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Dispatcher{st: st, opt: opt, backoff: retry.Backoff{Base: opt.Backoff, Max: opt.MaxBackoff}, wake: make(chan struct{}, 1)}
}

// Publish queues the event for every webhook of workspace subscribed to
// eventType and wakes the delivery loop.
func (d *Dispatcher) Publish(ctx context.Context, workspace, eventType string, data any) error {
	ev := Event{ID: ragd.NewID("evt"), Type: eventType, Created: d.opt.Now().Unix(), Data: data}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook event %s: %w", eventType, err)
	}
	n, err := d.st.EnqueueEvent(ctx, workspace, eventType, ev.ID, body)
	if err != nil {
		return err
	}
	if n > 0 {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Start begins delivering pending deliveries, including those left by a
// previous process.
func (d *Dispatcher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan struct{})
	go d.loop(ctx)
}

// Close stops delivering and waits until the sends in flight end or ctx is
// done. Deliveries cut short stay pending and are sent after a restart.
func (d *Dispatcher) Close(ctx context.Context) error {
	if d.cancel == nil {
		return nil
	}
	d.once.Do(d.cancel)
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batchSize is how many due deliveries one pass of the loop reads.
const batchSize = 32

func (d *Dispatcher) loop(ctx context.Context) {
	defer close(d.done)
	for {
		n, err := d.deliverDue(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d.opt.Logger.Warn("webhook deliveries", "err", err)
		}
		if n == batchSize {
			continue
		}
		// Retries are due on opt.Now's clock (attempt sets their times
		// with it, deliverDue compares with it): measure the wait on it.
		wait := time.Minute
		if next, ok, err := d.st.NextDeliveryAt(ctx); err == nil && ok {
			wait = min(wait, time.UnixMilli(next).Sub(d.opt.Now()))
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// deliverDue sends one batch of due deliveries and returns its size.
func (d *Dispatcher) deliverDue(ctx context.Context) (int, error) {
	due, err := d.st.DueDeliveries(ctx, d.opt.Now().UnixMilli(), batchSize)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, d.opt.Concurrency)
	var wg sync.WaitGroup
	errs := make([]error, len(due))
	for i, dl := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = d.attempt(ctx, dl)
		}()
	}
	wg.Wait()
	return len(due), errors.Join(errs...)
}

// attempt sends dl once and records the outcome, unless ctx ended first.
func (d *Dispatcher) attempt(ctx context.Context, dl *ragd.Delivery) error {
	status, err := d.send(ctx, dl)
	if ctx.Err() != nil {
		return nil
	}
	dl.Attempts++
	dl.LastStatus = status
	dl.LastError = ""
	switch {
	case err == nil:
		dl.State = ragd.DeliveryDelivered
	case dl.Attempts >= d.opt.MaxAttempts:
		dl.State, dl.LastError = ragd.DeliveryFailed, err.Error()
	default:
		dl.LastError = err.Error()
		dl.NextAttempt = d.opt.Now().Add(d.backoff.Delay(dl.Attempts)).UnixMilli()
	}
	if err != nil {
		d.opt.Logger.Info("webhook delivery failed", "delivery", dl.ID, "webhook", dl.WebhookID, "attempt", dl.Attempts, "err", err)
	}
	return d.st.RecordDeliveryAttempt(context.WithoutCancel(ctx), dl)
}

// send POSTs one delivery and returns the response status; any status but
// 2xx is an error.
func (d *Dispatcher) send(ctx context.Context, dl *ragd.Delivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ragd-webhook/1")
	req.Header.Set(SignatureHeader, Sign(dl.Secret, d.opt.Now().Unix(), dl.Payload))
	req.Header.Set("X-Ragd-Event-Id", dl.EventID)
	resp, err := d.opt.Client.Do(req)
	if err != nil {
		// The delivery log and the logs show this error: net/http hides a
		// URL's password in it, but not a token given as the user name.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			uerr.URL = RedactURL(dl.URL)
		}
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("the endpoint answered HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// Sign returns the signature header value of body sent at unix time t:
// "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret string, t int64, body []byte) string {
	ts := strconv.FormatInt(t, 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
