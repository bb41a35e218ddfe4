package store

/*
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ragd_rows(data) is a table-valued function yielding the rows packed in
// the blob data (rowsBuf in rows.go): a uint32 column count, then each
// row's fields in order, each a type byte (RAGD_ROWS_NULL, _INT: an
// int64, _TEXT and _BLOB: a uint32 length and the bytes), little-endian. Its columns are c0 to c11; columns past the
// blob's count read NULL. INSERT ... SELECT from it writes a batch of
// rows with one statement: one bind and one step for all of them.

#define RAGD_ROWS_COLS 12
enum { RAGD_ROWS_NULL, RAGD_ROWS_INT, RAGD_ROWS_TEXT, RAGD_ROWS_BLOB };

typedef struct rowsCursor {
	sqlite3_vtab_cursor base;
	unsigned char *data; // the cursor's copy of the blob
	int n, ncol;
	int at, next; // the current row's offset and the next row's
	sqlite3_int64 rowid;
	unsigned char type[RAGD_ROWS_COLS];
	int off[RAGD_ROWS_COLS], len[RAGD_ROWS_COLS];
} rowsCursor;

static int rowsConnect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err) {
	(void)aux; (void)argc; (void)argv; (void)err;
	int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, data HIDDEN)");
	if (rc != SQLITE_OK) return rc;
	sqlite3_vtab *v = sqlite3_malloc(sizeof(*v));
	if (!v) return SQLITE_NOMEM;
	memset(v, 0, sizeof(*v));
	sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
	*out = v;
	return SQLITE_OK;
}

static int rowsDisconnect(sqlite3_vtab *v) {
	sqlite3_free(v);
	return SQLITE_OK;
}

// rowsBestIndex takes the plan with the data argument, the only one.
static int rowsBestIndex(sqlite3_vtab *v, sqlite3_index_info *info) {
	(void)v;
	for (int i = 0; i < info->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &info->aConstraint[i];
		if (c->iColumn == RAGD_ROWS_COLS && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
			if (!c->usable) return SQLITE_CONSTRAINT;
			info->aConstraintUsage[i].argvIndex = 1;
			info->aConstraintUsage[i].omit = 1;
			info->estimatedCost = 1;
			return SQLITE_OK;
		}
	}
	return SQLITE_CONSTRAINT;
}

static int rowsOpen(sqlite3_vtab *v, sqlite3_vtab_cursor **out) {
	(void)v;
	rowsCursor *c = sqlite3_malloc(sizeof(*c));
	if (!c) return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	*out = &c->base;
	return SQLITE_OK;
}

static int rowsClose(sqlite3_vtab_cursor *cur) {
	rowsCursor *c = (rowsCursor *)cur;
	sqlite3_free(c->data);
	sqlite3_free(c);
	return SQLITE_OK;
}

static uint32_t rowsU32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static sqlite3_int64 rowsI64(const unsigned char *p) {
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
	return (sqlite3_int64)v;
}

static int rowsMalformed(rowsCursor *c, int at) {
	sqlite3_free(c->base.pVtab->zErrMsg);
	c->base.pVtab->zErrMsg = sqlite3_mprintf("ragd_rows: data malformed at byte %d", at);
	return SQLITE_ERROR;
}

// rowsParse reads the row at c->next into the cursor, or ends it at the
// blob's end. A field cut short or of an unknown type is an error.
static int rowsParse(rowsCursor *c) {
	c->at = c->next;
	if (c->at >= c->n) return SQLITE_OK;
	int p = c->at;
	for (int i = 0; i < c->ncol; i++) {
		if (p >= c->n) return rowsMalformed(c, p);
		unsigned char t = c->data[p++];
		int size;
		switch (t) {
		case RAGD_ROWS_NULL: size = 0; break;
		case RAGD_ROWS_INT: size = 8; break;
		case RAGD_ROWS_TEXT:
		case RAGD_ROWS_BLOB: {
			if (c->n - p < 4) return rowsMalformed(c, p);
			uint32_t l = rowsU32(c->data + p);
			p += 4;
			if (l > (uint32_t)(c->n - p)) return rowsMalformed(c, p);
			size = (int)l;
			break;
		}
		default: return rowsMalformed(c, p - 1);
		}
		if (c->n - p < size) return rowsMalformed(c, p);
		c->type[i] = t;
		c->off[i] = p;
		c->len[i] = size;
		p += size;
	}
	c->next = p;
	return SQLITE_OK;
}

static int rowsFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc, sqlite3_value **argv) {
	(void)idxNum; (void)idxStr;
	rowsCursor *c = (rowsCursor *)cur;
	sqlite3_free(c->data);
	c->data = 0;
	c->n = c->at = c->next = 0;
	c->rowid = 0;
	if (argc != 1) return SQLITE_ERROR;
	const void *b = sqlite3_value_blob(argv[0]);
	int n = sqlite3_value_bytes(argv[0]);
	if (n < 4) {
		sqlite3_free(cur->pVtab->zErrMsg);
		cur->pVtab->zErrMsg = sqlite3_mprintf("ragd_rows: data of %d bytes has no column count", n);
		return SQLITE_ERROR;
	}
	c->data = sqlite3_malloc(n);
	if (!c->data) return SQLITE_NOMEM;
	memcpy(c->data, b, n);
	c->n = n;
	uint32_t ncol = rowsU32(c->data);
	if (ncol < 1 || ncol > RAGD_ROWS_COLS) {
		sqlite3_free(cur->pVtab->zErrMsg);
		cur->pVtab->zErrMsg = sqlite3_mprintf("ragd_rows: %u columns, want 1 to %d", ncol, RAGD_ROWS_COLS);
		return SQLITE_ERROR;
	}
	c->ncol = (int)ncol;
	c->next = 4;
	return rowsParse(c);
}

static int rowsNext(sqlite3_vtab_cursor *cur) {
	rowsCursor *c = (rowsCursor *)cur;
	c->rowid++;
	return rowsParse(c);
}

static int rowsEof(sqlite3_vtab_cursor *cur) {
	rowsCursor *c = (rowsCursor *)cur;
	return c->at >= c->n;
}

// rowsColumn gives a field as the blob holds it: the cursor's copy lives
// until the cursor closes, so texts and blobs are not copied again.
static int rowsColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i) {
	rowsCursor *c = (rowsCursor *)cur;
	if (i >= c->ncol) {
		sqlite3_result_null(ctx);
		return SQLITE_OK;
	}
	const unsigned char *p = c->data + c->off[i];
	switch (c->type[i]) {
	case RAGD_ROWS_INT: sqlite3_result_int64(ctx, rowsI64(p)); break;
	case RAGD_ROWS_TEXT: sqlite3_result_text(ctx, (const char *)p, c->len[i], SQLITE_STATIC); break;
	case RAGD_ROWS_BLOB: sqlite3_result_blob(ctx, p, c->len[i], SQLITE_STATIC); break;
	default: sqlite3_result_null(ctx);
	}
	return SQLITE_OK;
}

static int rowsRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out) {
	*out = ((rowsCursor *)cur)->rowid;
	return SQLITE_OK;
}

static sqlite3_module rowsModule = {
	.iVersion = 0,
	.xCreate = 0, // eponymous only: no CREATE VIRTUAL TABLE makes one
	.xConnect = rowsConnect,
	.xBestIndex = rowsBestIndex,
	.xDisconnect = rowsDisconnect,
	.xDestroy = rowsDisconnect,
	.xOpen = rowsOpen,
	.xClose = rowsClose,
	.xFilter = rowsFilter,
	.xNext = rowsNext,
	.xEof = rowsEof,
	.xColumn = rowsColumn,
	.xRowid = rowsRowid,
};

static int ragd_rows_init(sqlite3 *db, char **pzErrMsg, const void *pApi) {
	(void)pzErrMsg; (void)pApi;
	return sqlite3_create_module_v2(db, "ragd_rows", &rowsModule, 0, 0);
}

static void ragd_rows_register(void) { sqlite3_auto_extension((void (*)(void))ragd_rows_init); }
*/
import "C"

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// registerRows makes every connection opened from now on know ragd_rows.
func registerRows() { C.ragd_rows_register() }

// rowsBuf packs rows for ragd_rows, so that a batch of rows is inserted
// with one statement instead of a statement each: database/sql and the
// driver cost about 2 us an execution, a call into C for every argument
// bound, which in a bulk load of three rows a chunk (item, chunk, vector
// slot) was a tenth of the writer's time (docs/benchmarks.md). Each row
// gives a field for each column, through the typed appenders, then end.
type rowsBuf struct {
	b            []byte
	cols, fields int
	rows         int
	stmt         string // the INSERT of the rows, see into
}

// Field types, as ragd_rows reads them.
const (
	rowNull = iota
	rowInt
	rowText
	rowBlob
)

// rowsMaxCols is the most columns ragd_rows has (c0 to c11).
const rowsMaxCols = 12

// rowsBuffers holds rowsBufs' bytes between transactions: a bulk
// insert's buffers grow to megabytes in every transaction, and growing
// new ones each time (copies, zeroed fresh pages) cost more than the
// statements they save.
var rowsBuffers sync.Pool // of *[]byte

// reset empties the buffer for rows of cols columns.
func (r *rowsBuf) reset(cols int) {
	if cols < 1 || cols > rowsMaxCols {
		panic("rowsBuf: column count out of range")
	}
	if r.b == nil {
		if b, ok := rowsBuffers.Get().(*[]byte); ok {
			r.b = *b
		}
	}
	r.b = binary.LittleEndian.AppendUint32(r.b[:0], uint32(cols))
	r.cols, r.fields, r.rows = cols, 0, 0
}

// into readies r for rows of columns (a comma-separated list) of table,
// which insert writes.
func (r *rowsBuf) into(table, columns string) {
	n := strings.Count(columns, ",") + 1
	sel := make([]string, n)
	for i := range sel {
		sel[i] = "c" + strconv.Itoa(i)
	}
	r.stmt = "INSERT INTO " + table + " (" + columns + ") SELECT " + strings.Join(sel, ", ") + " FROM ragd_rows(?)"
	r.reset(n)
}

// insert writes the rows gathered since into or the last insert into
// into's table, with one statement, and empties r.
func (r *rowsBuf) insert(ctx context.Context, tx *sql.Tx) (sql.Result, error) {
	res, err := tx.ExecContext(ctx, r.stmt, r.b)
	if err == nil {
		r.reset(r.cols)
	}
	return res, err
}

// insertRange writes the rows as insert does into a table whose new rows
// get consecutive rowids (one INSERT of the writer's only connection into
// an INTEGER PRIMARY KEY or AUTOINCREMENT table), and returns the first
// and last of them.
func (r *rowsBuf) insertRange(ctx context.Context, tx *sql.Tx) (first, last int64, err error) {
	n := int64(r.rows)
	res, err := r.insert(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	if last, err = res.LastInsertId(); err != nil {
		return 0, 0, err
	}
	if got, err := res.RowsAffected(); err != nil || got != n {
		return 0, 0, fmt.Errorf("store: %d rows inserted of %d (%v)", got, n, err)
	}
	return last - n + 1, last, nil
}

func (r *rowsBuf) int(v int64) *rowsBuf {
	r.b = binary.LittleEndian.AppendUint64(append(r.b, rowInt), uint64(v))
	r.fields++
	return r
}

// text appends a string; it must be shorter than 4 GiB, as every text a
// request can bring is.
func (r *rowsBuf) text(v string) *rowsBuf { return r.textOf(v, nil) }

// textOf appends the text a followed by b, as text(a + string(b)) would
// without making that string.
func (r *rowsBuf) textOf(a string, b []byte) *rowsBuf {
	r.b = append(append(binary.LittleEndian.AppendUint32(append(r.b, rowText), uint32(len(a)+len(b))), a...), b...)
	r.fields++
	return r
}

// blob appends v, or NULL when v is nil.
func (r *rowsBuf) blob(v []byte) *rowsBuf {
	if v == nil {
		r.b = append(r.b, rowNull)
	} else {
		r.b = append(binary.LittleEndian.AppendUint32(append(r.b, rowBlob), uint32(len(v))), v...)
	}
	r.fields++
	return r
}

// nullText appends v, or NULL when v is empty.
func (r *rowsBuf) nullText(v string) *rowsBuf {
	if v == "" {
		r.b = append(r.b, rowNull)
		r.fields++
		return r
	}
	return r.text(v)
}

// release gives the buffer's bytes back for another rowsBuf to reuse;
// r must not be used after.
func (r *rowsBuf) release() {
	if r.b != nil {
		b := r.b[:0]
		rowsBuffers.Put(&b)
		r.b = nil
	}
}

// end closes a row, which must have had a field for every column.
func (r *rowsBuf) end() {
	r.rows++
	if r.fields != r.rows*r.cols {
		panic("rowsBuf: a row's field count differs from its columns")
	}
}
