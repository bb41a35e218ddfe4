package store

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// TestRowsRoundTrip reads back through ragd_rows every kind of field a
// rowsBuf writes, with SQLite's type and value for each.
func TestRowsRoundTrip(t *testing.T) {
	s := openTest(t)
	var r rowsBuf
	r.reset(4)
	r.int(math.MaxInt64).text("héllo\x00wörld").blob([]byte{0, 1, 2}).nullText("").end()
	r.int(math.MinInt64).text("").blob([]byte{}).nullText("file_1").end()
	r.int(0).text(strings.Repeat("x", 70000)).blob(nil).text("z").end()
	defer r.release()
	rows, err := s.db.Query(`SELECT typeof(c0), c0, typeof(c1), c1, typeof(c2), c2, typeof(c3), c3, typeof(c4), typeof(c11) FROM ragd_rows(?)`, r.b)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type row struct {
		t0     string
		c0     int64
		t1, c1 string
		t2     string
		c2     []byte
		t3     string
		c3     *string
		t4     string
		t11    string
	}
	str := func(s string) *string { return &s }
	want := []row{
		{"integer", math.MaxInt64, "text", "héllo\x00wörld", "blob", []byte{0, 1, 2}, "null", nil, "null", "null"},
		{"integer", math.MinInt64, "text", "", "blob", []byte{}, "text", str("file_1"), "null", "null"},
		{"integer", 0, "text", strings.Repeat("x", 70000), "null", nil, "text", str("z"), "null", "null"},
	}
	var got []row
	for rows.Next() {
		var g row
		if err := rows.Scan(&g.t0, &g.c0, &g.t1, &g.c1, &g.t2, &g.c2, &g.t3, &g.c3, &g.t4, &g.t11); err != nil {
			t.Fatal(err)
		}
		got = append(got, g)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.t0 != w.t0 || g.c0 != w.c0 || g.t1 != w.t1 || g.c1 != w.c1 || g.t2 != w.t2 || !bytes.Equal(g.c2, w.c2) ||
			g.t3 != w.t3 || (g.c3 == nil) != (w.c3 == nil) || g.c3 != nil && *g.c3 != *w.c3 || g.t4 != w.t4 || g.t11 != w.t11 {
			t.Errorf("row %d: got %+v, want %+v", i, g, w)
		}
	}
}

// TestRowsRefusesBadData checks that ragd_rows fails a statement on data
// no rowsBuf writes, instead of reading past it, and needs its argument.
func TestRowsRefusesBadData(t *testing.T) {
	s := openTest(t)
	var good rowsBuf
	good.reset(2)
	good.int(1).text("abc").end()
	good.int(2).text("def").end()
	defer good.release()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"Short", []byte{1, 0}, "no column count"},
		{"NoColumns", []byte{0, 0, 0, 0}, "0 columns"},
		{"TooManyColumns", []byte{13, 0, 0, 0}, "13 columns"},
		{"CutInField", good.b[:len(good.b)-1], "ragd_rows: data malformed at byte"},
		{"CutInRow", good.b[:len(good.b)-9], "ragd_rows: data malformed at byte"},
		{"UnknownType", append([]byte{1, 0, 0, 0}, 9), "ragd_rows: data malformed at byte"},
		{"LengthPastEnd", []byte{1, 0, 0, 0, rowText, 0xff, 0xff, 0xff, 0x7f, 'a'}, "ragd_rows: data malformed at byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n int
			err := s.db.QueryRow(`SELECT count(*) FROM ragd_rows(?)`, tc.data).Scan(&n)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("count %d, error %v; want an error with %q", n, err, tc.want)
			}
		})
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM ragd_rows(?)`, good.b).Scan(&n); err != nil || n != 2 {
		t.Fatalf("good data: %d rows, %v", n, err)
	}
	if err := s.db.QueryRow(`SELECT count(*) FROM ragd_rows`).Scan(&n); err == nil {
		t.Fatal("ragd_rows without its argument read rows")
	}
}
