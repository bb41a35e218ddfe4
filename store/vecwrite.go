package store

/*
#include <sqlite3.h>

// ragd_blob_write(table, column, rowid, offset, data) writes data into the
// blob of column of the row of table whose rowid (the real one, as
// sqlite3_blob_open takes it) is rowid, at offset: a part of a blob
// written without reading or rewriting the rest, as sqlite-vec writes its
// chunks. It returns NULL.
static void ragd_blob_write(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
	(void)argc;
	const char *table = (const char *)sqlite3_value_text(argv[0]);
	const char *column = (const char *)sqlite3_value_text(argv[1]);
	if (!table || !column) {
		sqlite3_result_error(ctx, "ragd_blob_write: table and column must be text", -1);
		return;
	}
	sqlite3_int64 offset = sqlite3_value_int64(argv[3]);
	if (offset < 0 || offset > 0x7fffffff) {
		sqlite3_result_error(ctx, "ragd_blob_write: offset out of range", -1);
		return;
	}
	const void *data = sqlite3_value_blob(argv[4]); // before its size, as SQLite asks
	int n = sqlite3_value_bytes(argv[4]);
	sqlite3_blob *b;
	sqlite3 *db = sqlite3_context_db_handle(ctx);
	int rc = sqlite3_blob_open(db, "main", table, column, sqlite3_value_int64(argv[2]), 1, &b);
	if (rc != SQLITE_OK) {
		sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
		return;
	}
	rc = sqlite3_blob_write(b, data, n, (int)offset);
	int crc = sqlite3_blob_close(b);
	if (rc == SQLITE_OK) rc = crc;
	if (rc != SQLITE_OK) sqlite3_result_error(ctx, sqlite3_errstr(rc), -1);
}

// ragd_blob_init registers ragd_blob_write on connection db, for
// top-level statements only (SQLITE_DIRECTONLY: no trigger, view or
// schema may call it).
static int ragd_blob_init(sqlite3 *db, char **pzErrMsg, const void *pApi) {
	(void)pzErrMsg; (void)pApi;
	return sqlite3_create_function(db, "ragd_blob_write", 5, SQLITE_UTF8 | SQLITE_DIRECTONLY, 0, ragd_blob_write, 0, 0);
}

static void ragd_blob_register(void) { sqlite3_auto_extension((void (*)(void))ragd_blob_init); }
*/
import "C"

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// runBuffers holds vecWriters' run buffers between transactions: growing
// a new one to a chunk's 1.5 MB in every transaction took 8 ms a
// transaction of a bulk insert, most of it the kernel handing the process
// fresh pages.
var runBuffers sync.Pool // of *[]byte

// registerBlobWrite makes every connection opened from now on know
// ragd_blob_write.
func registerBlobWrite() { C.ragd_blob_register() }

// vecChunkSlots is the slots of a sqlite-vec chunk: vec0's default
// chunk_size, which ragd's vector tables keep.
const vecChunkSlots = 1024

// vecBulkMin is the fewest vectors a vecWriter writes itself; fewer go
// through sqlite-vec's INSERT. Writing itself reads and rewrites the
// latest chunk's validity bitmap and rowids (8 KB), what sqlite-vec
// takes for a few rows.
const vecBulkMin = 16

// vecWriter adds the vectors of one collection's chunks to its vector
// table in a write transaction, writing the rows of sqlite-vec's shadow
// tables that sqlite-vec's INSERT of each vector in turn would write, with
// the same contents: each vector goes to the first free slot of the
// partition's latest chunk, or of a new chunk when that one is full.
//
// sqlite-vec writes a vector by opening its chunk's vector blob and
// writing into it at the slot's offset; SQLite reaches the offset by
// walking the blob's chain of overflow pages from its start, at every
// insert: 27 us a vector in a bulk insert, more than a quarter of the
// whole (docs/benchmarks.md, "Bulk writes"). A vecWriter keeps the
// chunk's bitmap and rowids in memory while it fills the chunk, and
// writes each run of consecutive slots' vectors with one blob write
// (ragd_blob_write).
//
// It relies on sqlite-vec's layout (v0.1.6), as the vector cache's reads
// do (vecscan.go): TestVecWriterMatchesSqliteVec compares every shadow
// table with what sqlite-vec's own inserts leave. Between its first add
// and close, nothing else may change the partition's vectors: flush
// checks that the chunk's bitmap is still the one it read, and fails the
// transaction otherwise.
type vecWriter struct {
	ctx  context.Context
	tx   *sql.Tx
	t    string // the vector table
	seq  int64  // the collection's partition
	dims int

	// Until vecBulkMin vectors came, they wait here, for sqlite-vec's
	// INSERT if no more come.
	pendingIDs  []int64
	pendingVecs [][]byte

	bulk   bool    // writing the shadow tables itself
	rowids rowsBuf // the _rowids rows not yet written
	// The chunk being filled (id 0: none yet), its bitmap and rowids, and
	// the first slot that may be free: sqlite-vec takes the chunk's first
	// free slot, and slots are only taken here, so none before next is.
	id                int64
	validity, slotIDs []byte
	read              []byte // the bitmap as read or created, for flush's check
	next              int
	dirty             bool
	// The vectors of the slots from runStart on, not yet written.
	run      []byte
	runStart int
}

func newVecWriter(ctx context.Context, tx *sql.Tx, dims int, seq int64) *vecWriter {
	return &vecWriter{ctx: ctx, tx: tx, t: vecTable(dims), seq: seq, dims: dims}
}

// add adds the vector of chunk rowid, encoded (vecmath.Bytes).
func (w *vecWriter) add(rowid int64, vec []byte) error {
	if len(vec) != 4*w.dims {
		return fmt.Errorf("vector of chunk %d has %d bytes, want %d", rowid, len(vec), 4*w.dims)
	}
	if !w.bulk {
		w.pendingIDs, w.pendingVecs = append(w.pendingIDs, rowid), append(w.pendingVecs, vec)
		if len(w.pendingIDs) < vecBulkMin {
			return nil
		}
		if err := w.begin(); err != nil {
			return err
		}
		ids, vecs := w.pendingIDs, w.pendingVecs
		w.pendingIDs, w.pendingVecs = nil, nil
		for i, id := range ids {
			if err := w.put(id, vecs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return w.put(rowid, vec)
}

// close writes what add was given and not yet written, and releases the
// writer's statement. A writer whose close failed leaves the transaction
// to roll back.
func (w *vecWriter) close() error {
	if !w.bulk {
		if len(w.pendingIDs) == 0 {
			return nil
		}
		st, err := w.tx.PrepareContext(w.ctx, fmt.Sprintf(`INSERT INTO %s (rowid, collection, embedding) VALUES (?, %d, ?)`, w.t, w.seq))
		if err != nil {
			return err
		}
		defer st.Close()
		for i, id := range w.pendingIDs {
			if _, err := st.ExecContext(w.ctx, id, w.pendingVecs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := w.flush(); err != nil {
		return err
	}
	run := w.run[:0]
	runBuffers.Put(&run)
	w.run = nil
	w.rowids.release()
	return nil
}

// begin starts writing the shadow tables: it reads the partition's latest
// chunk, whose free slots come first.
func (w *vecWriter) begin() error {
	w.rowids.into(`"`+w.t+`_rowids"`, "rowid, chunk_id, chunk_offset")
	w.bulk = true
	if b, ok := runBuffers.Get().(*[]byte); ok {
		w.run = *b
	}
	var size int
	err := w.tx.QueryRowContext(w.ctx, fmt.Sprintf(`SELECT chunk_id, size, validity, rowids FROM "%[1]s_chunks"
		WHERE chunk_id = (SELECT max(chunk_id) FROM "%[1]s_chunks" WHERE partition00 = ?)`, w.t), w.seq).
		Scan(&w.id, &size, &w.validity, &w.slotIDs)
	if errors.Is(err, sql.ErrNoRows) {
		w.id = 0
		return nil
	}
	if err != nil {
		return err
	}
	if size != vecChunkSlots || len(w.validity) != vecChunkSlots/8 || len(w.slotIDs) != 8*vecChunkSlots {
		return fmt.Errorf("%s chunk %d has %d slots, %d validity bytes and %d rowid bytes: not sqlite-vec's layout of %d slots",
			w.t, w.id, size, len(w.validity), len(w.slotIDs), vecChunkSlots)
	}
	w.read = bytes.Clone(w.validity)
	return nil
}

// put writes the vector of chunk rowid into the first free slot.
func (w *vecWriter) put(rowid int64, vec []byte) error {
	slot := w.free()
	if slot < 0 {
		if err := w.flush(); err != nil {
			return err
		}
		if err := w.newChunk(); err != nil {
			return err
		}
		slot = 0
	}
	if slot != w.runStart+len(w.run)/len(vec) {
		if err := w.writeRun(); err != nil {
			return err
		}
		w.runStart = slot
	}
	w.rowids.int(rowid).int(w.id).int(int64(slot)).end()
	w.validity[slot/8] |= 1 << (slot % 8)
	binary.LittleEndian.PutUint64(w.slotIDs[8*slot:], uint64(rowid))
	w.run = append(w.run, vec...)
	w.next, w.dirty = slot+1, true
	return nil
}

// free returns the chunk's first free slot, or -1 when it is full or
// there is no chunk.
func (w *vecWriter) free() int {
	if w.id == 0 {
		return -1
	}
	for s := w.next; s < vecChunkSlots; s++ {
		if w.validity[s/8]&(1<<(s%8)) == 0 {
			return s
		}
	}
	return -1
}

// newChunk adds an empty chunk to the partition, as sqlite-vec does when
// its latest chunk is full.
func (w *vecWriter) newChunk() error {
	res, err := w.tx.ExecContext(w.ctx, fmt.Sprintf(`INSERT INTO "%s_chunks" (size, validity, rowids, partition00) VALUES (?, zeroblob(?), zeroblob(?), ?)`, w.t),
		vecChunkSlots, vecChunkSlots/8, 8*vecChunkSlots, w.seq)
	if err != nil {
		return err
	}
	if w.id, err = res.LastInsertId(); err != nil {
		return err
	}
	// Its column named rowid, which the table declares without INTEGER,
	// is not the real rowid, which sqlite-vec's blob handles and
	// ragd_blob_write open, and the vector cache reads by the column
	// (vecscan.go). The two agree while no row of the table is deleted
	// (index.go empties a dropped collection's rows instead): checked.
	res, err = w.tx.ExecContext(w.ctx, fmt.Sprintf(`INSERT INTO "%s_vector_chunks00" (rowid, vectors) VALUES (?, zeroblob(?))`, w.t),
		w.id, 4*w.dims*vecChunkSlots)
	if err != nil {
		return err
	}
	if real, err := res.LastInsertId(); err != nil || real != w.id {
		return fmt.Errorf("%s: the vectors of chunk %d went to row %d (%v): its rowid column and real rowid differ", w.t, w.id, real, err)
	}
	w.validity, w.slotIDs = make([]byte, vecChunkSlots/8), make([]byte, 8*vecChunkSlots)
	w.read = make([]byte, vecChunkSlots/8)
	w.next, w.runStart = 0, 0
	return nil
}

// writeRun writes the vectors of the run into the chunk's vector blob.
func (w *vecWriter) writeRun() error {
	if len(w.run) == 0 {
		return nil
	}
	if _, err := w.tx.ExecContext(w.ctx, `SELECT ragd_blob_write(?, 'vectors', ?, ?, ?)`,
		w.t+"_vector_chunks00", w.id, w.runStart*4*w.dims, w.run); err != nil {
		return err
	}
	w.run = w.run[:0]
	return nil
}

// flush writes the chunk's vectors, bitmap and rowids, and the vectors'
// _rowids rows, when they changed.
func (w *vecWriter) flush() error {
	if !w.dirty {
		return nil
	}
	if err := w.writeRun(); err != nil {
		return err
	}
	if _, err := w.rowids.insert(w.ctx, w.tx); err != nil {
		return err
	}
	res, err := w.tx.ExecContext(w.ctx, fmt.Sprintf(`UPDATE "%s_chunks" SET validity = ?, rowids = ? WHERE chunk_id = ? AND validity = ?`, w.t),
		w.validity, w.slotIDs, w.id, w.read)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%s chunk %d changed while a bulk write filled it (%v)", w.t, w.id, err)
	}
	w.read = bytes.Clone(w.validity)
	w.dirty = false
	return nil
}
