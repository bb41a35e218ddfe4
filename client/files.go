package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"iter"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ragd/ragd"
)

// fileResponse is the body of every single-file answer.
type fileResponse struct {
	File *ragd.File `json:"file"`
}

// Files iterates over the files of a collection in the server's order
// (creation order), a page at a time, starting after the file with id
// after, or at the start if after is empty.
func (c *Client) Files(ctx context.Context, collectionID, after string) iter.Seq2[*ragd.File, error] {
	return list[ragd.File](ctx, c, collectionPath(collectionID, "/files"), "files", after)
}

// ragd.File returns one file of a collection, or an ENOTFOUND error.
func (c *Client) File(ctx context.Context, collectionID, fileID string) (*ragd.File, error) {
	var out fileResponse
	_, err := c.do(ctx, http.MethodGet, collectionPath(collectionID, "/files/"+url.PathEscape(fileID)), nil, nil, &out)
	return out.File, err
}

// DeleteFile deletes a file with its chunks.
func (c *Client) DeleteFile(ctx context.Context, collectionID, fileID string) error {
	_, err := c.do(ctx, http.MethodDelete, collectionPath(collectionID, "/files/"+url.PathEscape(fileID)), nil, nil, nil)
	return err
}

// Upload describes one file to upload.
type Upload struct {
	// Path is the file on disk; it is streamed, never read whole.
	Path string
	// Name is the filename sent to the server; empty means Path's base.
	Name string
	// Metadata is attached to the file and its chunks.
	Metadata map[string]any
	// MaxTokens and OverlapTokens override the collection's chunking
	// when positive.
	MaxTokens, OverlapTokens int
	// Wait makes the server answer only once the file is completed or
	// failed.
	Wait bool
}

// UploadFile uploads a file into a collection as a multipart body with a
// known length, streamed from disk on each attempt. created is false when
// the collection already held identical bytes and the server returned
// that file instead. Errors are the server's (413 ETOOLARGE, 415
// EUNSUPPORTED, ...) or the file's own (*fs.PathError).
func (c *Client) UploadFile(ctx context.Context, collectionID string, up Upload) (f *ragd.File, created bool, err error) {
	name := up.Name
	if name == "" {
		name = filepath.Base(up.Path)
	}
	head, tail, ctype, err := multipartFrame(name, up)
	if err != nil {
		return nil, false, err
	}
	b := func() (io.ReadCloser, int64, string, error) {
		fh, err := os.Open(up.Path)
		if err != nil {
			return nil, 0, "", err
		}
		st, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, 0, "", err
		}
		r := io.MultiReader(bytes.NewReader(head), io.LimitReader(fh, st.Size()), bytes.NewReader(tail))
		return struct {
			io.Reader
			io.Closer
		}{r, fh}, int64(len(head)) + st.Size() + int64(len(tail)), ctype, nil
	}
	var q url.Values
	if up.Wait {
		q = url.Values{"wait": {"true"}}
	}
	var out fileResponse
	status, err := c.do(ctx, http.MethodPost, collectionPath(collectionID, "/files"), q, b, &out)
	if err != nil {
		return nil, false, err
	}
	return out.File, status != http.StatusOK, nil
}

// multipartFrame returns the bytes that go before and after the file's
// content in the multipart body, and the body's content type. The form
// fields come first, so a server can read them before the file.
func multipartFrame(name string, up Upload) (head, tail []byte, ctype string, err error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if up.Metadata != nil {
		meta, err := json.Marshal(up.Metadata)
		if err != nil {
			return nil, nil, "", err
		}
		if err := w.WriteField("metadata", string(meta)); err != nil {
			return nil, nil, "", err
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"max_tokens", up.MaxTokens}, {"overlap_tokens", up.OverlapTokens}} {
		if f.v > 0 {
			if err := w.WriteField(f.name, strconv.Itoa(f.v)); err != nil {
				return nil, nil, "", err
			}
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": name}))
	ct := mime.TypeByExtension(filepath.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	if _, err := w.CreatePart(h); err != nil {
		return nil, nil, "", err
	}
	n := buf.Len()
	if err := w.Close(); err != nil {
		return nil, nil, "", err
	}
	all := buf.Bytes()
	return all[:n:n], all[n:], w.FormDataContentType(), nil
}
