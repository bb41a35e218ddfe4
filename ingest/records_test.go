package ingest_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
)

// Numbers in CSV cells and JSON Lines fields are numbers in metadata, so
// a numeric filter finds every row it should, whatever the number's
// written form (29.50, 9.00, 12, -3.5), while codes with leading zeros
// stay text.
func TestRecordNumbersFilter(t *testing.T) {
	g, st := testIngester(t, ingest.Config{Workers: 1})
	for _, tt := range []struct{ filename, data string }{
		{"prices.csv", "name,price,sku,text\nwidget,29.50,0042,item blue widget\ngadget,9.00,0043,item red gadget\n" +
			"gizmo,12,0044,item green gizmo\nrefund,-3.5,0045,item refund line\ndoodad,19.999,0046,item doodad\n"},
		{"prices.jsonl", `{"name": "widget", "price": 29.50, "sku": "0042", "text": "item blue widget"}` + "\n" +
			`{"name": "gadget", "price": 9.00, "sku": "0043", "text": "item red gadget"}` + "\n" +
			`{"name": "gizmo", "price": 12, "sku": "0044", "text": "item green gizmo"}` + "\n" +
			`{"name": "refund", "price": -3.5, "sku": "0045", "text": "item refund line"}` + "\n" +
			`{"name": "doodad", "price": 19.999, "sku": "0046", "text": "item doodad"}` + "\n"},
	} {
		t.Run(tt.filename, func(t *testing.T) {
			col := testCollection(t, st, "ws", tt.filename, embed.HashModelName)
			if f := waitFile(t, g, col, addFile(t, g, col, tt.filename, []byte(tt.data))); f.Status != ragd.FileCompleted || f.Items != 5 {
				t.Fatalf("file %+v (error %+v)", f, f.Error)
			}
			for _, q := range []struct {
				filter *ragd.Filter
				want   []string
			}{
				{&ragd.Filter{Key: "price", Op: "lt", Value: 20.0}, []string{"doodad", "gadget", "gizmo", "refund"}},
				{&ragd.Filter{Key: "price", Op: "gte", Value: 12.0}, []string{"doodad", "gizmo", "widget"}},
				{&ragd.Filter{Key: "price", Op: "eq", Value: 9.0}, []string{"gadget"}},
				{&ragd.Filter{Key: "sku", Op: "eq", Value: "0042"}, []string{"widget"}},
			} {
				res, err := st.Search(context.Background(), col.Workspace, col.ID, ragd.SearchQuery{Text: "item", Mode: ragd.ModeKeyword,
					TopK: 10, Filter: q.filter})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range res {
					got = append(got, r.Metadata["name"].(string))
				}
				sort.Strings(got)
				if strings.Join(got, ",") != strings.Join(q.want, ",") {
					t.Errorf("%s %s %v: %v, want %v", q.filter.Key, q.filter.Op, q.filter.Value, got, q.want)
				}
			}
		})
	}
}
