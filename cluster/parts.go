package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
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

// partsKey is the metadata key of an object's first part that holds the
// number of parts. An object without it is one part.
const partsKey = "ragd-parts"

// errDamaged is the error of an object missing one of its parts, or with
// a bad count of parts: retrying does not help.
var errDamaged = errors.New("the object is damaged")

// partName names part i of the object name: the object's own name for
// its first part.
func partName(name string, i int) string {
	if i == 0 {
		return name
	}
	return fmt.Sprintf("%s.part%d", name, i)
}

// partSuffix matches what partName appends to the name of a part after
// the first.
var partSuffix = regexp.MustCompile(`\.part[1-9][0-9]*$`)

// partOf returns the object name a part name belongs to.
func partOf(part string) string { return partSuffix.ReplaceAllString(part, "") }

// putParts stores the size bytes of r under name, in parts of at most
// n.partSize bytes, each put bounded by blobTimeout. The first part goes
// last, with the number of parts: an object found by its name is whole.
// A failed put removes the parts it stored.
func (n *Node) putParts(ctx context.Context, objs jetstream.ObjectStore, name string, r io.ReaderAt, size int64) error {
	partSize := n.partSize.Load()
	parts := max(1, int((size+partSize-1)/partSize))
	for i := parts - 1; i >= 0; i-- {
		meta := jetstream.ObjectMeta{Name: partName(name, i)}
		if i == 0 {
			meta.Metadata = map[string]string{partsKey: strconv.Itoa(parts)}
		}
		off := int64(i) * partSize
		part := min(partSize, size-off)
		pctx, cancel := context.WithTimeout(ctx, blobTimeout(part))
		_, err := objs.Put(pctx, meta, io.NewSectionReader(r, off, part))
		cancel()
		if err != nil {
			for j := i + 1; j < parts; j++ {
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), blobTimeout(0))
				objs.Delete(dctx, partName(name, j))
				cancel()
			}
			return err
		}
	}
	return nil
}

// parts returns the number of parts of the object name, from its first
// part's metadata.
func parts(ctx context.Context, objs jetstream.ObjectStore, name string) (int, error) {
	ictx, cancel := context.WithTimeout(ctx, blobTimeout(0))
	info, err := objs.GetInfo(ictx, name)
	cancel()
	if err != nil {
		return 0, err
	}
	count, ok := info.Metadata[partsKey]
	if !ok {
		return 1, nil
	}
	parts, err := strconv.Atoi(count)
	if err != nil || parts < 1 {
		return 0, fmt.Errorf("cluster: object %s has %q parts (%w)", name, count, errDamaged)
	}
	return parts, nil
}

// getParts writes the object name, all its parts in order, to a new file
// at path; on error it removes the file.
func getParts(ctx context.Context, objs jetstream.ObjectStore, name, path string) (err error) {
	count, err := parts(ctx, objs, name)
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
	for i := range count {
		if err := getPart(ctx, objs, partName(name, i), f); err != nil {
			return err
		}
	}
	return nil
}

// getPart appends the object part to w, bounded by blobTimeout of its
// size. A missing part of an object whose first part exists is an error
// of its own: the object is damaged, not absent.
func getPart(ctx context.Context, objs jetstream.ObjectStore, part string, w io.Writer) error {
	ictx, cancel := context.WithTimeout(ctx, blobTimeout(0))
	info, err := objs.GetInfo(ictx, part)
	cancel()
	if err == nil {
		gctx, cancel := context.WithTimeout(ctx, blobTimeout(int64(info.Size)))
		defer cancel()
		var r jetstream.ObjectResult
		if r, err = objs.Get(gctx, part); err == nil {
			_, err = io.Copy(w, r)
			if cerr := r.Close(); err == nil {
				err = cerr
			}
		}
	}
	if errors.Is(err, jetstream.ErrObjectNotFound) && partOf(part) != part {
		return fmt.Errorf("cluster: part %s is missing (%w)", part, errDamaged)
	}
	return err
}

// deleteParts removes the object name with all its parts: the first part
// first, so that the object is no longer found while the others go.
// Deleting an object that does not exist is not an error.
func deleteParts(ctx context.Context, objs jetstream.ObjectStore, name string) error {
	count, err := parts(ctx, objs, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for i := range count {
		dctx, cancel := context.WithTimeout(ctx, blobTimeout(0))
		err := objs.Delete(dctx, partName(name, i))
		cancel()
		if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
