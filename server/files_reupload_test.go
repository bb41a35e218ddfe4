package server_test

import (
	"testing"
)

// Uploading bytes a collection already holds returns that file when
// nothing changed; a new name or metadata, or items deleted from it,
// ingest it again under its own id. Deleting a file's item updates the
// file's counts.
func TestFileReupload(t *testing.T) {
	fs := newFileServer(t, 0)
	col := fs.collection(t, fs.admin, "rows")
	data := []byte("animal,fact\notter,Otters hold hands while they sleep.\nheron,Herons stand still for hours to fish.\nbeaver,Beavers build dams of branches and mud.\n")
	first := obj(fs.upload(t, fs.admin, col, "?wait=true", "animals.csv", data, map[string]string{"metadata": `{"source": "a", "n": 9.50}`}).must(t, 201)["file"])
	id := str(first["id"])
	if first["status"] != "completed" || first["items"] != 3.0 {
		t.Fatalf("first upload %v", first)
	}
	filenames := func() map[string]bool { // of the search hits
		out := map[string]bool{}
		for _, r := range fs.search(t, col, map[string]any{"input": "otters herons beavers", "top_k": 10, "mode": "keyword"}) {
			out[str(obj(r)["filename"])] = true
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		filename   string
		fields     map[string]string
		status     int // 200: returned as it is; 201: ingested again
		deleteItem bool
		wantMeta   string // value of metadata "source" after
	}{
		{"SameNameAndMetadata", "animals.csv", map[string]string{"metadata": `{"n": 9.5, "source": "a"}`}, 200, false, "a"},
		{"MetadataOmitted", "animals.csv", nil, 200, false, "a"},
		{"NewName", "renamed.csv", nil, 201, false, "a"},
		{"NewMetadata", "renamed.csv", map[string]string{"metadata": `{"source": "b"}`}, 201, false, "b"},
		{"AfterItemDeleted", "renamed.csv", nil, 201, true, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.deleteItem {
				items := list(fs.do(t, "GET", "/v1/vector_store/"+col+"/items", fs.admin, nil).must(t, 200)["items"])
				fs.do(t, "DELETE", "/v1/vector_store/"+col+"/items/"+str(obj(items[0])["id"]), fs.admin, nil).must(t, 200)
				f := obj(fs.do(t, "GET", "/v1/vector_store/"+col+"/files/"+id, fs.admin, nil).must(t, 200)["file"])
				if f["items"] != 2.0 || f["items_deleted"] != 1.0 || f["chunks"] != 2.0 || f["status"] != "completed" {
					t.Fatalf("file after deleting one of its items: %v", f)
				}
				if c := fs.collectionBody(t, col); c["item_count"] != 2.0 || c["chunk_count"] != 2.0 {
					t.Fatalf("collection after deleting an item: %v", c)
				}
			}
			f := obj(fs.upload(t, fs.admin, col, "?wait=true", tc.filename, data, tc.fields).must(t, tc.status)["file"])
			if str(f["id"]) != id || f["filename"] != tc.filename || f["status"] != "completed" || f["items"] != 3.0 ||
				f["items_deleted"] != nil || obj(f["metadata"])["source"] != tc.wantMeta {
				t.Fatalf("re-upload answered %v", f)
			}
			if c := fs.collectionBody(t, col); c["file_count"] != 1.0 || c["item_count"] != 3.0 || c["chunk_count"] != 3.0 {
				t.Errorf("collection %v", c)
			}
			if got := filenames(); len(got) != 1 || !got[tc.filename] {
				t.Errorf("search hits come from files %v, want only %s", got, tc.filename)
			}
			hits := fs.search(t, col, map[string]any{"input": "otters", "mode": "keyword", "filter": map[string]any{"key": "source", "op": "eq", "value": tc.wantMeta}})
			if len(hits) != 1 {
				t.Errorf("%d hits with source %s, want 1", len(hits), tc.wantMeta)
			}
		})
	}
}
