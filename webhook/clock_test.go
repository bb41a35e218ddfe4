package webhook_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/webhook"
)

// memOutbox is an Outbox in memory whose every event goes to one webhook,
// so that a Dispatcher can run in a synctest bubble, on its fake clock.
type memOutbox struct {
	mu         sync.Mutex
	deliveries []*ragd.Delivery
}

func (o *memOutbox) EnqueueEvent(_ context.Context, _, eventType, eventID string, payload []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deliveries = append(o.deliveries, &ragd.Delivery{ID: "whd_" + eventID, EventID: eventID, Type: eventType,
		State: ragd.DeliveryPending, Payload: payload, URL: "http://receiver.invalid/hook", Secret: "whsec_0123456789abcdef"})
	return 1, nil
}

func (o *memOutbox) DueDeliveries(_ context.Context, now int64, limit int) ([]*ragd.Delivery, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var due []*ragd.Delivery
	for _, d := range o.deliveries {
		if d.State == ragd.DeliveryPending && d.NextAttempt <= now && len(due) < limit {
			c := *d
			due = append(due, &c)
		}
	}
	return due, nil
}

func (o *memOutbox) NextDeliveryAt(context.Context) (int64, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var next int64
	found := false
	for _, d := range o.deliveries {
		if d.State == ragd.DeliveryPending && (!found || d.NextAttempt < next) {
			next, found = d.NextAttempt, true
		}
	}
	return next, found, nil
}

func (o *memOutbox) RecordDeliveryAttempt(_ context.Context, d *ragd.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, stored := range o.deliveries {
		if stored.ID == d.ID {
			*stored = *d
		}
	}
	return nil
}

var _ webhook.Outbox = (*memOutbox)(nil)

// roundTripFunc answers a Dispatcher's requests without a network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The delivery loop times a retry on Options.Now, the clock that set the
// retry's due time: with that clock an hour ahead of the timers' clock,
// the retry is sent after its backoff, not after the loop's longest wait
// of a minute. On synctest's fake clock the gap is exact.
func TestRetryWaitsOnOptionsClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const backoff = 10 * time.Second
		var attempts atomic.Int32
		sent := make(chan time.Time, 2)
		client := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			status := http.StatusOK
			if attempts.Add(1) == 1 {
				status = http.StatusInternalServerError
			}
			sent <- time.Now()
			return &http.Response{StatusCode: status, Body: http.NoBody}, nil
		})}
		d := webhook.New(&memOutbox{}, webhook.Options{Client: client, Backoff: backoff, Logger: quiet,
			Now: func() time.Time { return time.Now().Add(time.Hour) }})
		d.Start()
		defer d.Close(context.Background())
		if err := d.Publish(context.Background(), "acme", webhook.FileFailed, map[string]string{"id": "file_1"}); err != nil {
			t.Fatal(err)
		}
		first, retried := <-sent, <-sent
		if gap := retried.Sub(first); gap < backoff/2 || gap > backoff {
			t.Errorf("retried %v after the first attempt, want after the backoff, %v to %v", gap, backoff/2, backoff)
		}
	})
}
