package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/vecmath"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
)

// An op is one write of the seam (service.Writer) as it travels in the
// replicated log: the method's name and its arguments after the context,
// each encoded on its own. ID is unique per op (the publishing node's name
// and a counter): the stream deduplicates retried publications by it, and
// the publishing node finds its waiting caller by it.
//
// msgpack rather than JSON because the log must carry every exported
// field of the domain types, including those their json tags hide from the
// API (a collection's workspace, a file's chunking), and float32 vectors
// in 4 bytes each instead of up to 15 characters.
type op struct {
	ID     string               `msgpack:"id"`
	Method string               `msgpack:"m"`
	Args   []msgpack.RawMessage `msgpack:"a"`
}

// jobRef stands for a *store.Job in an op: a job is named by its file, and
// each node applies the op to its own job of that file (local row IDs may
// differ between nodes). Attempts fences the op: it applies only while
// the job is at that attempt, so a node that lost its claim (another node
// took the job over, thinking it dead) writes nothing more.
type jobRef struct {
	FileID   string `msgpack:"f"`
	Attempts int    `msgpack:"n"`
	Owner    string `msgpack:"o"`
}

var (
	writerType = reflect.TypeFor[service.Writer]()
	jobType    = reflect.TypeFor[*store.Job]()
	ctxType    = reflect.TypeFor[context.Context]()
	errType    = reflect.TypeFor[error]()
)

// Vectors travel as raw little-endian bytes, one msgpack bin each: msgpack
// would write and read a []float32 value by value, which at 384 dimensions
// costs more than the rest of an op of items together.
func init() {
	msgpack.Register([]float32(nil), func(e *msgpack.Encoder, v reflect.Value) error {
		if v.IsNil() {
			return e.EncodeNil()
		}
		return e.EncodeBytes(vecmath.Bytes(v.Interface().([]float32)))
	}, func(d *msgpack.Decoder, v reflect.Value) error {
		n, err := d.DecodeBytesLen()
		if err != nil {
			return err
		}
		if n < 0 {
			v.SetZero()
			return nil
		}
		if n%4 != 0 {
			return fmt.Errorf("cluster: a vector of %d bytes", n)
		}
		vec, err := vecmath.ReadFloats(n/4, d.ReadFull)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(vec))
		return nil
	})
}

// encodeOp returns the encoded op of a call of the seam's method with
// args (the method's parameters after the context).
func encodeOp(id, method string, args []any) ([]byte, error) {
	m, ok := writerType.MethodByName(method)
	if !ok {
		return nil, fmt.Errorf("cluster: %s is not a write of the seam", method)
	}
	if m.Type.NumIn() != len(args)+1 {
		return nil, fmt.Errorf("cluster: %s takes %d arguments after the context, got %d", method, m.Type.NumIn()-1, len(args))
	}
	o := op{ID: id, Method: method, Args: make([]msgpack.RawMessage, len(args))}
	for i, a := range args {
		if j, ok := a.(*store.Job); ok {
			a = jobRef{FileID: j.File.ID, Attempts: j.Attempts, Owner: j.Owner}
		}
		b, err := msgpack.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("cluster: encoding argument %d of %s: %w", i+1, method, err)
		}
		o.Args[i] = b
	}
	return msgpack.Marshal(&o)
}

// decodeOp decodes an op written by encodeOp. Its arguments are slices of
// b, not copies: msgpack's RawMessage decoding copies an argument into a
// buffer grown as it reads, which for an op of 500 items cost more than
// the rest of decoding them (BenchmarkCluster's profile,
// docs/benchmarks.md). b must not change while the op is in use.
func decodeOp(b []byte) (*op, error) {
	o := &op{}
	if err := decodeOpFields(b, o); err != nil {
		return nil, fmt.Errorf("cluster: decoding an op: %w", err)
	}
	return o, nil
}

// decodeOpFields reads the op struct's msgpack map from b into o, field by
// field as msgpack.Unmarshal would, keys it does not know skipped.
func decodeOpFields(b []byte, o *op) error {
	r := bytes.NewReader(b) // an io.ByteScanner: the decoder reads it directly, so r.Len() is its position
	d := msgpack.NewDecoder(r)
	fields, err := d.DecodeMapLen()
	if err != nil {
		return err
	}
	for range fields {
		key, err := d.DecodeString()
		if err != nil {
			return err
		}
		switch key {
		case "id":
			o.ID, err = d.DecodeString()
		case "m":
			o.Method, err = d.DecodeString()
		case "a":
			var n int
			if n, err = d.DecodeArrayLen(); err != nil || n < 0 {
				break
			}
			if n > r.Len() { // each argument takes a byte at least: a damaged length must not size the slice
				err = fmt.Errorf("%d arguments in %d bytes", n, r.Len())
				break
			}
			o.Args = make([]msgpack.RawMessage, n)
			for i := range o.Args {
				start := len(b) - r.Len()
				if err = d.Skip(); err != nil {
					break
				}
				o.Args[i] = b[start : len(b)-r.Len() : len(b)-r.Len()]
			}
		default:
			err = d.Skip()
		}
		if err != nil {
			return err
		}
	}
	if r.Len() != 0 {
		return fmt.Errorf("%d bytes after the op", r.Len())
	}
	return nil
}

// errUnknownOp is returned for an op this build does not know: written by
// a newer ragd. Applying must stop there rather than skip a write.
var errUnknownOp = errors.New("cluster: an op of an unknown method (written by a newer ragd?)")

// apply performs o on st under ctx and returns the method's results, the
// error last, and the decoded arguments (so that the node that published
// o can hand the caller what the store filled into them).
func apply(ctx context.Context, st *store.Store, o *op) (results []any, args []reflect.Value, err error) {
	if _, ok := writerType.MethodByName(o.Method); !ok {
		return nil, nil, fmt.Errorf("%w: %q", errUnknownOp, o.Method)
	}
	fn := reflect.ValueOf(st).MethodByName(o.Method)
	t := fn.Type()
	if t.NumIn() != len(o.Args)+1 || t.In(0) != ctxType {
		return nil, nil, fmt.Errorf("%w: %s with %d arguments", errUnknownOp, o.Method, len(o.Args))
	}
	in := make([]reflect.Value, t.NumIn())
	in[0] = reflect.ValueOf(ctx)
	for i, raw := range o.Args {
		pt := t.In(i + 1)
		if pt == jobType {
			var ref jobRef
			if err := msgpack.Unmarshal(raw, &ref); err != nil {
				return nil, nil, fmt.Errorf("cluster: decoding the job of %s: %w", o.Method, err)
			}
			job, err := st.JobOfFile(ctx, ref.FileID)
			if err != nil {
				return nil, nil, err
			}
			// The owner too: a file uploaded again starts its attempts
			// over.
			if job.Attempts != ref.Attempts || job.Owner != ref.Owner {
				return nil, nil, &ragd.Error{Kind: ragd.ENOTFOUND, Code: "ingest_superseded",
					Message: fmt.Sprintf("the ingest of file %q was taken over by node %s", ref.FileID, job.Owner)}
			}
			in[i+1] = reflect.ValueOf(job)
			continue
		}
		v := reflect.New(pt)
		if err := msgpack.Unmarshal(raw, v.Interface()); err != nil {
			return nil, nil, fmt.Errorf("cluster: decoding argument %d of %s: %w", i+1, o.Method, err)
		}
		in[i+1] = v.Elem()
	}
	out := fn.Call(in)
	last := out[len(out)-1]
	if t.Out(t.NumOut()-1) != errType {
		return nil, nil, fmt.Errorf("%w: %s returns no error", errUnknownOp, o.Method)
	}
	if !last.IsNil() {
		err = last.Interface().(error)
	}
	results = make([]any, len(out)-1)
	for i := range results {
		results[i] = out[i].Interface()
	}
	return results, in[1:], err
}

// deletedFiles returns the IDs of the files an applied op of method
// deleted, as the service's callers of ingest's Forget learn them: from
// the arguments of the deletes of one file, from the results of the
// writes that delete several.
func deletedFiles(method string, out *outcome) []string {
	var ids []string
	switch method {
	case "DeleteFile": // (ws, colID, fileID, at)
		ids = []string{out.args[2].String()}
	case "DeleteWorkspaceFile": // (ws, id)
		ids = []string{out.args[1].String()}
	case "DeleteCollection": // (collection, files)
		ids, _ = out.results[1].([]string)
	case "DetachFile", "CancelFileBatch", "ExpireCollection": // (files)
		ids, _ = out.results[0].([]string)
	}
	return ids
}
