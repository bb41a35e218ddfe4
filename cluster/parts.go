package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ragd/ragd/internal/retry"
)

// defaultPartSize is the most bytes one object of the object stores holds
// (Node.partSize). A put publishes its object's chunks (128 KiB each)
// without waiting for their acknowledgements, and fails when more than
// 4,000 wait (nats.go's fixed limit for object stores: "stalled with too
// many outstanding async published messages") or when the stream's leader
// queues more than 128 MiB ("429 too many requests"): a snapshot or a file
// of a few hundred MiB failed whenever the leader fell behind. Larger
// contents are stored as several objects, put one after another, each
// waiting for its chunks' acknowledgements, so at most 256 chunks wait.
const defaultPartSize = 32 << 20

// Metadata keys of an object's first part: how many parts the object
// has, and the nonce of the put that wrote them. An object without them
// is one part.
const (
	partsKey = "ragd-parts"
	nonceKey = "ragd-parts-nonce"
)

// partName names part i of the object name written by the put nonce: the
// object's own name for its first part. The nonce keeps the parts of two
// puts of one name apart, so that a reader never mixes them.
func partName(name, nonce string, i int) string {
	if i == 0 {
		return name
	}
	return fmt.Sprintf("%s.%s.part%d", name, nonce, i)
}

// partSuffix matches what partName appends to the name of a part after
// the first, the nonce as its first group.
var partSuffix = regexp.MustCompile(`\.([0-9a-z]+)\.part[1-9][0-9]*$`)

// partOf returns the object name a part name belongs to, and the nonce of
// the put that wrote it ("" for a first part).
func partOf(part string) (name, nonce string) {
	m := partSuffix.FindStringSubmatchIndex(part)
	if m == nil {
		return part, ""
	}
	return part[:m[0]], part[m[2]:m[3]]
}

// layout is how an object is stored: its parts, and the nonce of their
// put.
type layout struct {
	parts int
	nonce string
}

// layoutOf reads the layout of the object name from its first part.
func layoutOf(ctx context.Context, objs jetstream.ObjectStore, name string) (layout, error) {
	ictx, cancel := context.WithTimeout(ctx, blobTimeout(0))
	info, err := objs.GetInfo(ictx, name)
	cancel()
	if err != nil {
		return layout{}, err
	}
	count, ok := info.Metadata[partsKey]
	if !ok {
		return layout{parts: 1}, nil
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 {
		return layout{}, fmt.Errorf("cluster: object %s has %q parts", name, count)
	}
	return layout{parts: n, nonce: info.Metadata[nonceKey]}, nil
}

// putParts stores the size bytes of r under name, in parts of at most
// n.partSize bytes, each put bounded by blobTimeout. The first part goes
// last, with the layout: an object found by its name is whole. The parts
// of an object it replaces go once it is in place; the parts of a failed
// put go at once (what a delete misses, the orphan sweep and Snapshot's
// sweep remove).
func (n *Node) putParts(ctx context.Context, objs jetstream.ObjectStore, name string, r io.ReaderAt, size int64) error {
	prev, err := layoutOf(ctx, objs, name)
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return err
	}
	partSize := n.partSize.Load()
	l := layout{parts: max(1, int((size+partSize-1)/partSize)), nonce: strconv.FormatUint(rand.Uint64(), 36)}
	for i := l.parts - 1; i >= 0; i-- {
		meta := jetstream.ObjectMeta{Name: partName(name, l.nonce, i)}
		if i == 0 {
			meta.Metadata = map[string]string{partsKey: strconv.Itoa(l.parts), nonceKey: l.nonce}
		}
		off := int64(i) * partSize
		part := min(partSize, size-off)
		err := putPart(ctx, objs, meta, io.NewSectionReader(r, off, part))
		if err == nil {
			continue
		}
		if i == 0 {
			// A put that timed out may have landed: then it stands.
			if now, lerr := layoutOf(ctx, objs, name); lerr == nil && now.nonce == l.nonce {
				break
			}
		}
		deleteNames(ctx, objs, l.names(name, max(i, 1)))
		return err
	}
	if prev.parts > 1 && prev.nonce != l.nonce {
		deleteNames(ctx, objs, prev.names(name, 1))
	}
	return nil
}

// putPart puts one part, bounded by blobTimeout of its size. A part the
// stream refused for being too busy (its leader's queue is shared by every
// put to the bucket, from every node) is put again, up to 4 times.
func putPart(ctx context.Context, objs jetstream.ObjectStore, meta jetstream.ObjectMeta, part *io.SectionReader) error {
	b := retry.Backoff{Base: 500 * time.Millisecond, Max: 4 * time.Second}
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, blobTimeout(part.Size()))
		_, err := objs.Put(pctx, meta, part)
		cancel()
		var api *jetstream.APIError
		busy := errors.Is(err, jetstream.ErrTooManyStalledMsgs) || errors.As(err, &api) && api.Code == 429
		if !busy || attempt == 4 {
			return err
		}
		if err := retry.Sleep(ctx, b.Delay(attempt)); err != nil {
			return err
		}
		if _, err := part.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
}

// names returns the names of the parts of the object name from part from
// on.
func (l layout) names(name string, from int) []string {
	var names []string
	for i := from; i < l.parts; i++ {
		names = append(names, partName(name, l.nonce, i))
	}
	return names
}

// deleteNames deletes the objects names, each call bounded by
// blobTimeout, and returns the errors other than not found.
func deleteNames(ctx context.Context, objs jetstream.ObjectStore, names []string) error {
	var errs []error
	for _, name := range names {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), blobTimeout(0))
		err := objs.Delete(dctx, name)
		cancel()
		if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// getParts writes the object name, all its parts in order, to a new file
// at path; on error it removes the file. A part missing is not found,
// like the object: a replica that lags may answer for it, and the object
// may be replaced while it is read, so the caller tries again.
func getParts(ctx context.Context, objs jetstream.ObjectStore, name, path string) (err error) {
	l, err := layoutOf(ctx, objs, name)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	for i := range l.parts {
		if err := getPart(ctx, objs, partName(name, l.nonce, i), f); err != nil {
			return err
		}
	}
	return nil
}

// getPart appends the object part to w, bounded by blobTimeout of its
// size.
func getPart(ctx context.Context, objs jetstream.ObjectStore, part string, w io.Writer) error {
	ictx, cancel := context.WithTimeout(ctx, blobTimeout(0))
	info, err := objs.GetInfo(ictx, part)
	cancel()
	if err != nil {
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("cluster: part %s is missing: %w", part, err)
		}
		return err
	}
	gctx, cancel := context.WithTimeout(ctx, blobTimeout(int64(info.Size)))
	defer cancel()
	r, err := objs.Get(gctx, part)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return err
}

// deleteParts removes the object name with all its parts: the first part
// first, so that the object is no longer found while the others go.
// Deleting an object that does not exist is not an error.
func deleteParts(ctx context.Context, objs jetstream.ObjectStore, name string) error {
	l, err := layoutOf(ctx, objs, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		// A first part with a bad layout: it goes alone.
		return deleteNames(ctx, objs, []string{name})
	}
	return deleteNames(ctx, objs, append([]string{name}, l.names(name, 1)...))
}

// sweepParts deletes the objects of objs that belong to no object whose
// name keep accepts, and the parts of kept objects that their first part
// does not name (left by failed or replaced puts). It returns how many it
// deleted.
func sweepParts(ctx context.Context, objs jetstream.ObjectStore, keep func(name string) bool) (int, error) {
	lctx, cancel := context.WithTimeout(ctx, blobTimeout(0))
	infos, err := objs.List(lctx)
	cancel()
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	nonces := map[string]string{}
	var stale []string
	for _, info := range infos {
		if info.Deleted {
			continue
		}
		name, nonce := partOf(info.Name)
		if !keep(name) {
			stale = append(stale, info.Name)
			continue
		}
		if nonce == "" {
			continue
		}
		want, ok := nonces[name]
		if !ok {
			l, err := layoutOf(ctx, objs, name)
			if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
				return 0, err
			}
			want, nonces[name] = l.nonce, l.nonce
		}
		if nonce != want {
			stale = append(stale, info.Name)
		}
	}
	return len(stale), deleteNames(ctx, objs, stale)
}
