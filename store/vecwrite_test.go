package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/internal/vecmath"
)

// vecStep is one write of TestVecWriterMatchesSqliteVec: rowids inserted
// into a partition, in one transaction, or deleted through sqlite-vec.
type vecStep struct {
	seq    int64
	from   int64 // the first rowid; the others follow
	n      int
	delete bool
}

// A vecWriter leaves sqlite-vec's shadow tables with the rows and blobs
// that sqlite-vec's INSERT of each vector leaves, row for row (every
// column; sqlite_sequence's rows are compared, not their order), whatever
// came before: an empty partition, a chunk filled in part or exactly,
// slots freed by deletes (taken first), batches over several chunks,
// partitions interleaved, and batches too small to write itself.
// sqlite-vec's KNN then finds in its tables what a scan of the vectors
// finds.
func TestVecWriterMatchesSqliteVec(t *testing.T) {
	const dims = 8
	steps := []vecStep{
		{seq: 1, from: 1, n: 1500},
		{seq: 2, from: 1501, n: 40},
		{seq: 1, from: 1100, n: 101, delete: true},
		{seq: 1, from: 5, n: 1, delete: true},
		{seq: 1, from: 2001, n: 200}, // the 101 free slots, then the rest of the chunk
		{seq: 1, from: 2201, n: vecBulkMin - 1},
		{seq: 2, from: 3001, n: 2100},
		{seq: 1, from: 6001, n: 1000},
		{seq: 3, from: 8001, n: vecChunkSlots}, // a chunk filled exactly
		{seq: 3, from: 9101, n: vecBulkMin},    // and a new one begun after it
	}
	r := rand.New(rand.NewPCG(3, 4))
	vecs := map[int64][]float32{}
	for _, st := range steps {
		for id := st.from; id < st.from+int64(st.n) && !st.delete; id++ {
			v := make([]float32, dims)
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
			vecs[id] = v
		}
	}
	ctx := context.Background()
	var dumps []vecTables
	for _, bulk := range []bool{false, true} {
		db := openVecDB(t, dims)
		for _, st := range steps {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := applyVecStep(ctx, tx, dims, st, vecs, bulk); err != nil {
				t.Fatalf("bulk %v, %+v: %v", bulk, st, err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		dumps = append(dumps, dumpVecTables(t, db, vecTable(dims)))
		if bulk {
			checkVecKNN(t, db, dims, vecs, steps)
		}
	}
	if len(dumps[0].chunks) != 8 || len(dumps[0].rowids) != len(vecs)-102 {
		t.Fatalf("sqlite-vec's inserts left %d chunks and %d rowids, want 8 and %d", len(dumps[0].chunks), len(dumps[0].rowids), len(vecs)-102)
	}
	for _, c := range []struct {
		table string
		a, b  [][]any
	}{
		{"_chunks", dumps[0].chunks, dumps[1].chunks},
		{"_rowids", dumps[0].rowids, dumps[1].rowids},
		{"_vector_chunks00", dumps[0].vectors, dumps[1].vectors},
		{"sqlite_sequence", dumps[0].sequence, dumps[1].sequence},
	} {
		if !reflect.DeepEqual(c.a, c.b) {
			t.Errorf("%s differs:\nsqlite-vec %v\nvecWriter  %v", c.table, c.a, c.b)
		}
	}
}

// A vecWriter whose chunk changed under it (here a delete through
// sqlite-vec in the same transaction) fails instead of writing back the
// bitmap it read.
func TestVecWriterRefusesAChangedChunk(t *testing.T) {
	const dims = 4
	ctx := context.Background()
	db := openVecDB(t, dims)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	w := newVecWriter(ctx, tx, dims, 1)
	for id := int64(1); id <= vecBulkMin; id++ {
		if err := w.add(id, vecmath.Bytes([]float32{1, 0, 0, float32(id)})); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	w = newVecWriter(ctx, tx, dims, 1)
	for id := int64(101); id <= 100+vecBulkMin; id++ {
		if err := w.add(id, vecmath.Bytes([]float32{0, 1, 0, float32(id)})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+vecTable(dims)+` WHERE rowid = 3`); err != nil {
		t.Fatal(err)
	}
	if err := w.close(); err == nil || !strings.Contains(err.Error(), "changed while a bulk write filled it") {
		t.Errorf("close after a delete in its chunk: %v", err)
	}
}

// openVecDB opens a new database holding a vector table of dims, in the
// journal and sync modes of a Store.
func openVecDB(t testing.TB, dims int) *sql.DB {
	registerDriver()
	db, err := sql.Open(writerDriverName, "file:"+filepath.Join(t.TempDir(), "vec.db")+"?_journal_mode=WAL&_synchronous=NORMAL&_auto_vacuum=incremental")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := ensureVecTable(context.Background(), tx, dims); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return db
}

// applyVecStep writes step st with a vecWriter (bulk) or sqlite-vec's
// INSERT and DELETE.
func applyVecStep(ctx context.Context, tx *sql.Tx, dims int, st vecStep, vecs map[int64][]float32, bulk bool) error {
	var w *vecWriter
	if bulk && !st.delete {
		w = newVecWriter(ctx, tx, dims, st.seq)
	}
	for id := st.from; id < st.from+int64(st.n); id++ {
		var err error
		switch {
		case st.delete:
			_, err = tx.ExecContext(ctx, `DELETE FROM `+vecTable(dims)+` WHERE rowid = ?`, id)
		case bulk:
			err = w.add(id, vecmath.Bytes(vecs[id]))
		default:
			_, err = tx.ExecContext(ctx, `INSERT INTO `+vecTable(dims)+` (rowid, collection, embedding) VALUES (?, ?, ?)`, id, st.seq, vecmath.Bytes(vecs[id]))
		}
		if err != nil {
			return err
		}
	}
	if w != nil {
		return w.close()
	}
	return nil
}

// vecTables holds every row of a vector table's shadow tables, and
// sqlite_sequence's.
type vecTables struct {
	chunks, rowids, vectors, sequence [][]any
}

func dumpVecTables(t *testing.T, db *sql.DB, table string) vecTables {
	dump := func(q string) [][]any {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out [][]any
		for rows.Next() {
			row := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range row {
				ptrs[i] = &row[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, row)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	return vecTables{
		chunks:   dump(fmt.Sprintf(`SELECT * FROM "%s_chunks" ORDER BY chunk_id`, table)),
		rowids:   dump(fmt.Sprintf(`SELECT rowid, * FROM "%s_rowids" ORDER BY rowid`, table)),
		vectors:  dump(fmt.Sprintf(`SELECT _rowid_, rowid, vectors FROM "%s_vector_chunks00" ORDER BY _rowid_`, table)),
		sequence: dump(`SELECT name, seq FROM sqlite_sequence ORDER BY name`),
	}
}

// checkVecKNN compares sqlite-vec's KNN in each partition with the
// nearest vectors found by computing every distance.
func checkVecKNN(t *testing.T, db *sql.DB, dims int, vecs map[int64][]float32, steps []vecStep) {
	live := map[int64][]int64{} // rowids by partition
	for _, st := range steps {
		for id := st.from; id < st.from+int64(st.n); id++ {
			if st.delete {
				for seq, ids := range live {
					live[seq] = slices.DeleteFunc(ids, func(x int64) bool { return x == id })
				}
			} else {
				live[st.seq] = append(live[st.seq], id)
			}
		}
	}
	const k = 10
	for seq, ids := range live {
		q := vecs[ids[len(ids)/3]]
		dist := func(id int64) float64 {
			var d float64
			for i, x := range vecs[id] {
				d += float64(x-q[i]) * float64(x-q[i])
			}
			return d
		}
		want := slices.Clone(ids)
		slices.SortFunc(want, func(a, b int64) int {
			if da, db := dist(a), dist(b); da != db {
				if da < db {
					return -1
				}
				return 1
			}
			return 0
		})
		want = want[:k]
		got, err := queryColumn[int64](context.Background(), db, `SELECT rowid FROM `+vecTable(dims)+` WHERE embedding MATCH ? AND k = ? AND collection = ? ORDER BY distance`, vecmath.Bytes(q), k, seq)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("partition %d: sqlite-vec's KNN found %v, want %v", seq, got, want)
		}
	}
}

// BenchmarkVecWrite measures writing 100k vectors of 384 dimensions into
// a vector table, in transactions of 1,000, with a vecWriter and, as its
// peer, sqlite-vec's INSERT of each vector, batch by batch in turn into
// two databases so that both see the same machine.
func BenchmarkVecWrite(b *testing.B) {
	const dims, n, per = 384, 100_000, 1000
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	batch := make([][]byte, per)
	for i := range batch {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		batch[i] = vecmath.Bytes(v)
	}
	for range b.N {
		b.StopTimer()
		dbs := []*sql.DB{openVecDB(b, dims), openVecDB(b, dims)}
		var spent [2]time.Duration
		b.StartTimer()
		for done := int64(0); done < n; done += per {
			for i, db := range dbs {
				start := time.Now()
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				var w *vecWriter
				if i == 1 {
					w = newVecWriter(ctx, tx, dims, 1)
				}
				for j, v := range batch {
					if w != nil {
						err = w.add(done+int64(j)+1, v)
					} else {
						_, err = tx.ExecContext(ctx, `INSERT INTO `+vecTable(dims)+` (rowid, collection, embedding) VALUES (?, 1, ?)`, done+int64(j)+1, v)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if w != nil {
					err = w.close()
				}
				if err == nil {
					err = tx.Commit()
				}
				if err != nil {
					b.Fatal(err)
				}
				spent[i] += time.Since(start)
			}
		}
		b.ReportMetric(n/spent[0].Seconds(), "sqlite-vec-vectors/s")
		b.ReportMetric(n/spent[1].Seconds(), "vecwriter-vectors/s")
		b.ReportMetric(float64(spent[0])/float64(spent[1]), "speedup")
	}
}
