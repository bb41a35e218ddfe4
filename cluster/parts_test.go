package cluster

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// busyStore is an object store whose puts fail with errs in turn, then
// succeed; it records what each put read.
type busyStore struct {
	jetstream.ObjectStore
	errs []error
	read []string
}

func (s *busyStore) Put(_ context.Context, _ jetstream.ObjectMeta, r io.Reader) (*jetstream.ObjectInfo, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	s.read = append(s.read, string(b))
	if len(s.errs) > 0 {
		err, s.errs = s.errs[0], s.errs[1:]
		return nil, err
	}
	return &jetstream.ObjectInfo{}, nil
}

// TestPutPartRetriesBusyStream checks that a part the stream refused for
// being busy is put again, whole, and that other errors, or a stream busy
// 4 times running, end the put.
func TestPutPartRetriesBusyStream(t *testing.T) {
	busy := &jetstream.APIError{Code: 429, ErrorCode: 10167, Description: "too many requests"}
	other := errors.New("disk full")
	for _, c := range []struct {
		errs  []error
		want  error
		tries int
	}{
		{[]error{jetstream.ErrTooManyStalledMsgs, busy}, nil, 3},
		{[]error{other}, other, 1},
		{[]error{busy, busy, busy, busy}, busy, 4},
	} {
		s := &busyStore{errs: c.errs}
		part := io.NewSectionReader(strings.NewReader("..the part's bytes.."), 2, 16)
		err := putPart(context.Background(), s, jetstream.ObjectMeta{Name: "file_x"}, part)
		if !errors.Is(err, c.want) || len(s.read) != c.tries {
			t.Errorf("puts failing with %v: %v after %d tries; want %v after %d", c.errs, err, len(s.read), c.want, c.tries)
		}
		for i, got := range s.read {
			if got != "the part's bytes" {
				t.Errorf("try %d of a put failing with %v read %q; want the whole part", i+1, c.errs, got)
			}
		}
	}
}
