package server_test

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestOwnVectors: a collection without an embedding model stores the
// vectors its clients bring, and searches them by vector, by keywords
// and by both; filters apply as to any search.
func TestOwnVectors(t *testing.T) {
	ts := newTestServer(t)
	col := obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "mine", "embedding_model": "none", "dimensions": 3}).must(t, 201)["collection"])
	id := str(col["id"])
	if col["embedding_model"] != "none" || col["dimensions"] != 3.0 {
		t.Fatalf("collection %v", col)
	}
	north := obj(ts.do(t, "POST", "/v1/vector_store/"+id+"/items", ts.admin, map[string]any{"content": "the north star", "vector": []float64{0, 0, 5},
		"metadata": map[string]any{"sky": "north"}}).must(t, 201)["item"])
	ts.do(t, "POST", "/v1/vector_store/"+id+"/items/batch", ts.admin, map[string]any{"items": []any{
		map[string]any{"content": "an eastern wind", "vector": []float64{1, 0, 0.1}, "metadata": map[string]any{"sky": "east"}},
		map[string]any{"vector": []float64{0, 1, 0}, "metadata": map[string]any{"sky": "west"}},
	}}).must(t, 201)
	search := func(body map[string]any) []any {
		return list(ts.do(t, "POST", "/v1/vector_store/"+id+"/search", ts.admin, body).must(t, 200)["results"])
	}
	first := func(res []any) string {
		if len(res) == 0 {
			return ""
		}
		return str(obj(obj(res[0])["metadata"])["sky"])
	}
	for _, c := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"Vector", map[string]any{"mode": "vector", "vector": []float64{0.1, 0, 1}, "top_k": 3}, "north"},
		{"VectorUnnormalized", map[string]any{"mode": "vector", "vector": []float64{30, 1, 0}}, "east"},
		{"Hybrid", map[string]any{"input": "wind", "vector": []float64{0, 1, 0}}, "east"},
		{"Keyword", map[string]any{"input": "north star", "mode": "keyword"}, "north"},
		{"HybridWithoutVectorIsKeyword", map[string]any{"input": "eastern"}, "east"},
		{"Filtered", map[string]any{"mode": "vector", "vector": []float64{0, 0, 1}, "filter": map[string]any{"key": "sky", "op": "ne", "value": "north"}}, "east"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := first(search(c.body)); got != c.want {
				t.Errorf("first result %q, want %q", got, c.want)
			}
		})
	}
	if res := search(map[string]any{"mode": "vector", "vector": []float64{0, 0, 1}}); obj(res[0])["score"].(float64) < 0.999 {
		t.Errorf("the same direction scores %v", obj(res[0])["score"])
	}
	// A new vector for an item's content.
	ts.do(t, "PATCH", "/v1/vector_store/"+id+"/items/"+str(north["id"]), ts.admin, map[string]any{"vector": []float64{0, -1, 0}}).must(t, 200)
	if got := first(search(map[string]any{"mode": "vector", "vector": []float64{0, -1, 0}})); got != "north" {
		t.Errorf("after the new vector, first %q", got)
	}
	if got := str(obj(ts.do(t, "GET", "/v1/vector_store/"+id+"/items/"+str(north["id"]), ts.admin, nil).must(t, 200)["item"])["content"]); got != "the north star" {
		t.Errorf("content after a vector update %q", got)
	}
}

// Vectors from /v1/embeddings can be fed back unchanged into a collection
// of the same model, as arrays of numbers or as base64 strings
// (encoding_format "base64"), and found again with the vector itself in
// either form.
func TestEmbeddingsFedBack(t *testing.T) {
	ts := newTestServer(t)
	for _, format := range []string{"float", "base64"} {
		t.Run(format, func(t *testing.T) {
			id := str(obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": format, "embedding_model": "hash-64"}).must(t, 201)["collection"])["id"])
			emb := ts.do(t, "POST", "/v1/embeddings", ts.admin, map[string]any{"model": "hash-64", "input": "precomputed text", "encoding_format": format}).must(t, 200)
			vec := obj(list(emb["data"])[0])["embedding"]
			if _, isString := vec.(string); isString != (format == "base64") {
				t.Fatalf("embedding %T in format %s", vec, format)
			}
			ts.do(t, "POST", "/v1/vector_store/"+id+"/items/batch", ts.admin, map[string]any{"items": []any{
				map[string]any{"content": "precomputed text", "vector": vec},
				map[string]any{"content": "something else entirely"},
			}}).must(t, 201)
			res := list(ts.do(t, "POST", "/v1/vector_store/"+id+"/search", ts.admin, map[string]any{"mode": "vector", "vector": vec}).must(t, 200)["results"])
			if len(res) != 2 || obj(res[0])["content"] != "precomputed text" || obj(res[0])["score"].(float64) < 0.999 {
				t.Errorf("search by the fed-back vector: %v", res)
			}
		})
	}
}

func TestOwnVectorErrors(t *testing.T) {
	ts := newTestServer(t)
	none := str(obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "n", "embedding_model": "none", "dimensions": 2}).must(t, 201)["collection"])["id"])
	model := str(obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "m", "embedding_model": "hash-64"}).must(t, 201)["collection"])["id"])
	// A batch large enough to be checked on all cores names its first
	// refused item.
	var many []string
	for i := range 200 {
		v := `[1, 0]`
		switch i {
		case 37:
			v = `[1, 0, 0]`
		case 150:
			v = `["x", 0]`
		}
		many = append(many, `{"content": "a", "vector": `+v+`}`)
	}
	for _, c := range []struct {
		name, path string
		body       string
		status     int
		param      string
	}{
		{"ErrLargeBatchFirst", "/v1/vector_store/" + none + "/items/batch", `{"items": [` + strings.Join(many, ", ") + `]}`, 400, "items[37].vector"},
		{"ErrNoDimensions", "/v1/vector_store", `{"name": "x", "embedding_model": "none"}`, 400, "dimensions"},
		{"ErrTooManyDimensions", "/v1/vector_store", `{"name": "x", "embedding_model": "none", "dimensions": 9000}`, 400, "dimensions"},
		{"ErrModelDimensions", "/v1/vector_store", `{"name": "x", "embedding_model": "hash-64", "dimensions": 32}`, 400, "dimensions"},
		{"ErrVectorRequired", "/v1/vector_store/" + none + "/items", `{"content": "no vector"}`, 400, "vector"},
		{"ErrBatchVectorRequired", "/v1/vector_store/" + none + "/items/batch", `{"items": [{"content": "a", "vector": [1, 0]}, {"content": "b"}]}`, 400, "items[1].vector"},
		{"ErrWrongLength", "/v1/vector_store/" + none + "/items/batch", `{"items": [{"content": "a", "vector": [1, 0]}, {"content": "b", "vector": [1, 0, 0]}]}`, 400, "items[1].vector"},
		{"ErrInfinity", "/v1/vector_store/" + none + "/items/batch", `{"items": [{"content": "a", "vector": [1, 0]}, {"content": "b", "vector": [1e400, 0]}]}`, 400, "items[1].vector[0]"},
		{"ErrZero", "/v1/vector_store/" + none + "/items", `{"content": "a", "vector": [0, 0]}`, 400, "vector"},
		{"ErrNotNumbers", "/v1/vector_store/" + none + "/items", `{"content": "a", "vector": ["x", 0]}`, 400, "vector[0]"},
		{"ErrBatchNotNumber", "/v1/vector_store/" + none + "/items/batch", `{"items": [{"content": "a", "vector": [1, 0]}, {"content": "b", "vector": [0, "x,y"]}]}`, 400, "items[1].vector[1]"},
		{"ErrNotArray", "/v1/vector_store/" + none + "/items", `{"content": "a", "vector": {"x": 1}}`, 400, "vector"},
		{"ErrSearchNotNumber", "/v1/vector_store/" + none + "/search", `{"input": "a", "mode": "vector", "vector": [1, null]}`, 400, "vector[1]"},
		{"ErrNotBase64", "/v1/vector_store/" + none + "/items", `{"content": "a", "vector": "AACAP!!!"}`, 400, "vector"},
		{"ErrBase64Length", "/v1/vector_store/" + none + "/items", `{"content": "a", "vector": "AACAPwAAAA=="}`, 400, "vector"},
		{"ErrBase64NaN", "/v1/vector_store/" + none + "/items/batch", `{"items": [{"content": "a", "vector": "AACAPwAAAD8="}, {"content": "b", "vector": "AADAfwAAgD8="}]}`, 400, "items[1].vector[0]"},
		{"ErrBase64Infinity", "/v1/vector_store/" + none + "/search", `{"mode": "vector", "vector": "AACAfwAAgD8="}`, 400, "vector[0]"},
		{"ErrBase64WrongLength", "/v1/vector_store/" + none + "/items", `{"content": "a", "vector": "AACAPwAAAD8AAABA"}`, 400, "vector"},
		{"ErrModelLength", "/v1/vector_store/" + model + "/items", `{"content": "a", "vector": [1, 0]}`, 422, "vector"},
		{"ErrSearchNoVector", "/v1/vector_store/" + none + "/search", `{"input": "a", "mode": "vector"}`, 400, "vector"},
		{"ErrSearchKeywordVector", "/v1/vector_store/" + none + "/search", `{"input": "a", "mode": "keyword", "vector": [1, 0]}`, 400, "vector"},
		{"ErrSearchHybridNoInput", "/v1/vector_store/" + none + "/search", `{"vector": [1, 0]}`, 400, "input"},
		{"ErrSearchLength", "/v1/vector_store/" + model + "/search", `{"mode": "vector", "vector": [1, 0]}`, 422, "vector"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, "POST", c.path, ts.admin, c.body)
			r.must(t, c.status)
			if _, p := r.errCode(); c.param != "" && p != c.param {
				t.Errorf("param %v, want %s: %s", p, c.param, r.raw)
			}
		})
	}
	// Nothing was stored by the refused batches.
	if items := list(ts.do(t, "GET", "/v1/vector_store/"+none+"/items", ts.admin, nil).must(t, 200)["items"]); len(items) != 0 {
		t.Errorf("refused items were stored: %v", items)
	}
}

// A file cannot go into a collection without an embedding model: the
// upload is refused with the reason, not ingested into a failure.
func TestOwnVectorsRefuseFiles(t *testing.T) {
	fs := newFileServer(t, 0)
	id := str(obj(fs.do(t, "POST", "/v1/vector_store", fs.admin, map[string]any{"name": "n", "embedding_model": "none", "dimensions": 2}).must(t, 201)["collection"])["id"])
	r := fs.upload(t, fs.admin, id, "", "a.md", []byte("# A\n\ntext"), nil)
	r.must(t, 422)
	if code, _ := r.errCode(); code != "no_embedding_model" {
		t.Errorf("upload: %s", r.raw)
	}
	if files := list(fs.do(t, "GET", "/v1/vector_store/"+id+"/files", fs.admin, nil).must(t, 200)["files"]); len(files) != 0 {
		t.Errorf("files %v", files)
	}
}

// A collection held as int8 codes (its vectors' 2-bit codes scanned first)
// returns through the API the same nearest as the exact scan and as a
// brute-force ranking of the vectors sent, with and without a filter,
// when its 40 items are all among a top_k of 10's rescored candidates.
func TestQuantizedSearchThroughAPI(t *testing.T) {
	ts := newTestServer(t)
	const dims, n = 64, 40
	id := str(obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "q", "embedding_model": "none", "dimensions": dims,
		"quantization": "int8"}).must(t, 201)["collection"])["id"])
	r := rand.New(rand.NewPCG(31, 32))
	vector := func() []float64 {
		v := make([]float64, dims)
		for j := range v {
			v[j] = r.NormFloat64()
		}
		return v
	}
	vecs := make([][]float64, n)
	var items []any
	for i := range vecs {
		vecs[i] = vector()
		items = append(items, map[string]any{"vector": vecs[i], "metadata": map[string]any{"n": i, "g": i % 4}})
	}
	ts.do(t, "POST", "/v1/vector_store/"+id+"/items/batch", ts.admin, map[string]any{"items": items}).must(t, 201)
	cosine := func(a, b []float64) float64 {
		var ab, aa, bb float64
		for j := range a {
			ab, aa, bb = ab+a[j]*b[j], aa+a[j]*a[j], bb+b[j]*b[j]
		}
		return ab / math.Sqrt(aa*bb)
	}
	ranked := func(res []any) []int {
		var out []int
		for _, x := range res {
			out = append(out, int(obj(obj(x)["metadata"])["n"].(float64)))
		}
		return out
	}
	for q := range 10 {
		v := vector()
		for _, group := range []int{-1, q % 4} {
			want := make([]int, 0, n)
			for i := range n {
				if group < 0 || i%4 == group {
					want = append(want, i)
				}
			}
			slices.SortFunc(want, func(a, b int) int { return cmp.Compare(cosine(v, vecs[b]), cosine(v, vecs[a])) })
			want = want[:5]
			for _, exact := range []bool{false, true} {
				body := map[string]any{"mode": "vector", "vector": v, "top_k": 5, "exact": exact}
				if group >= 0 {
					body["filter"] = map[string]any{"key": "g", "op": "eq", "value": group}
				}
				got := ranked(list(ts.do(t, "POST", "/v1/vector_store/"+id+"/search", ts.admin, body).must(t, 200)["results"]))
				if !slices.Equal(got, want) {
					t.Errorf("query %d, group %d, exact %v: items %v, want %v", q, group, exact, got, want)
				}
			}
		}
	}
}

// A batch large enough that the store writes its vectors into
// sqlite-vec's chunks itself (store/vecwrite.go), in both formats: each
// item is found first by its own vector, exactly and through the vector
// cache, and an item deleted and one added after are seen as such.
func TestOwnVectorsLargeBatch(t *testing.T) {
	ts := newTestServer(t)
	id := str(obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "bulk", "embedding_model": "none", "dimensions": 8}).must(t, 201)["collection"])["id"])
	r := rand.New(rand.NewPCG(2, 3))
	vecs := make([][]float32, 300)
	var items []any
	for i := range vecs {
		vecs[i] = make([]float32, 8)
		for j := range vecs[i] {
			vecs[i][j] = float32(r.NormFloat64())
		}
		var v any = vecs[i]
		if i%2 == 1 {
			raw := make([]byte, 32)
			for j, x := range vecs[i] {
				binary.LittleEndian.PutUint32(raw[4*j:], math.Float32bits(x))
			}
			v = base64.StdEncoding.EncodeToString(raw)
		}
		items = append(items, map[string]any{"content": fmt.Sprintf("item %d", i), "vector": v})
	}
	stored := list(ts.do(t, "POST", "/v1/vector_store/"+id+"/items/batch", ts.admin, map[string]any{"items": items}).must(t, 201)["items"])
	first := func(v []float32, exact bool) string {
		res := list(ts.do(t, "POST", "/v1/vector_store/"+id+"/search", ts.admin, map[string]any{"mode": "vector", "vector": v, "exact": exact, "top_k": 1}).must(t, 200)["results"])
		if len(res) == 0 {
			return ""
		}
		return str(obj(res[0])["content"])
	}
	for _, i := range []int{0, 1, 150, 299} {
		for _, exact := range []bool{true, false} {
			if got := first(vecs[i], exact); got != fmt.Sprintf("item %d", i) {
				t.Errorf("item %d (exact %v): found %q first", i, exact, got)
			}
		}
	}
	ts.do(t, "DELETE", "/v1/vector_store/"+id+"/items/"+str(obj(stored[150])["id"]), ts.admin, nil).must(t, 200)
	if got := first(vecs[150], false); got == "item 150" {
		t.Errorf("a deleted item is still found")
	}
	ts.do(t, "POST", "/v1/vector_store/"+id+"/items", ts.admin, map[string]any{"content": "late", "vector": vecs[150]}).must(t, 201)
	if got := first(vecs[150], false); got != "late" {
		t.Errorf("the item added after the batch: found %q first", got)
	}
}
