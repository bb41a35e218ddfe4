package store

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// A block rebuilt from a cached version, reusing the postings of the rows
// still there and tokenizing only the others, equals the block built
// from scratch, whichever rows came and went: appended after the base's,
// among them (an ingest's staged chunks, published later with older IDs)
// and removed.
func TestKeywordBlockFromBase(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const block = 7
	start := int64(block) << kwBlockShift
	text := map[int64]string{}
	for id := start; id < start+kwBlockIDs; id += 1 + int64(r.IntN(3)) {
		words := make([]string, 1+r.IntN(30))
		for i := range words {
			words[i] = fmt.Sprintf("t%d", min(r.IntN(50), r.IntN(50)))
		}
		text[id] = strings.Join(words, " ")
	}
	raw := func(ids []int64, base *kwBlock) *rawBlock {
		rb := &rawBlock{blockVersion: blockVersion{block: block, version: int64(len(ids))}, base: base}
		for _, id := range ids {
			had := false
			if base != nil {
				_, had = slices.BinarySearch(base.docs, uint16(id-start))
			}
			var toks []byte
			for _, w := range strings.Fields(text[id]) {
				toks = append(append(toks, w...), 0)
			}
			rb.ids, rb.lens, rb.fresh = append(rb.ids, id), append(rb.lens, uint32(len(strings.Fields(text[id])))), append(rb.fresh, !had)
			if had {
				toks = nil
			}
			rb.tokens = append(rb.tokens, toks)
		}
		return rb
	}
	var all []int64
	for id := range text {
		all = append(all, id)
	}
	slices.Sort(all)
	pick := func(ids []int64, keep func(i int, id int64) bool) []int64 {
		var out []int64
		for i, id := range ids {
			if keep(i, id) {
				out = append(out, id)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		base, now []int64
	}{
		{"Appended", pick(all, func(i int, _ int64) bool { return i < len(all)/2 }), all},
		{"Among", pick(all, func(i int, _ int64) bool { return i%3 != 1 }), all},
		{"Removed", all, pick(all, func(i int, _ int64) bool { return i%4 != 0 })},
		{"CameAndWent", pick(all, func(i int, _ int64) bool { return i%2 == 0 }), pick(all, func(i int, _ int64) bool { return i%3 == 0 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc := &kwCollection{dict: map[string]uint32{}}
			base := kc.buildLocked(raw(tc.base, nil))
			got := kc.buildLocked(raw(tc.now, base))
			want := kc.buildLocked(raw(tc.now, nil))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("from base:\n%+v\nfrom scratch:\n%+v", got, want)
			}
			if len(want.post) == 0 || slices.ContainsFunc(kc.count, func(n uint32) bool { return n != 0 }) {
				t.Fatalf("%d postings, scratch counts %v: want postings and zero counts", len(want.post), kc.count)
			}
		})
	}
}
