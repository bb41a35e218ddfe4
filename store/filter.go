package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ragd/ragd"
)

// filterQuery compiles f into a SELECT of the IDs of the chunks of
// collection colID that pass it, with its bound arguments; both are empty
// when f is nil. Metadata values are read with json_extract, so a search
// restricted to these chunks never post-filters a fixed top-k.
//
// The query is driven from the collection's items through the covering
// index items_collection_meta (migration 030), so it reads neither other
// collections' rows nor the items' content, which can be large
// (TestFilterQueryPlan).
//
// Guarded, the query reads metadata that SQLite cannot parse as absent;
// see filterIDs.
func filterQuery(f *ragd.Filter, colID string, guarded bool) (string, []any) {
	if f == nil {
		return "", nil
	}
	args := &filterArgs{list: []any{colID}, meta: "i.metadata"}
	if guarded {
		args.meta = "CASE WHEN json_valid(i.metadata) THEN i.metadata END"
	}
	cond := compileFilter(f, args)
	return `SELECT c.id FROM items i JOIN chunks c ON c.item_id = i.id
		LEFT JOIN files fl ON fl.id = i.file_id WHERE i.collection_id = ? AND (` + cond + `)`, args.list
}

// filterIDs returns the sorted IDs of the chunks of collection colID that
// pass f (not nil).
//
// Metadata that SQLite cannot parse (nested past its JSON depth of 1000,
// as an older ragd stored it, or not JSON at all) makes json_extract fail
// the whole query. The query then runs again guarded, reading such
// metadata as absent, so that one bad row cannot fail every filtered
// search of its collection. The guard is not there from the start because
// json_valid parses every row once more: on 100k rows, 138.5 ms against
// 99.7 ms unguarded (best of 40).
//
// Answers are kept in s.filters while nothing is written: a filter run
// again (a tenant's, a document type's) costs a lookup instead of a pass
// over the collection's items.
func (s *Store) filterIDs(ctx context.Context, f *ragd.Filter, colID string) ([]int64, error) {
	writes := s.writes.Load()
	key, err := s.filters.key(f, colID)
	if err != nil {
		return nil, err
	}
	if ids, ok := s.filters.get(key, writes); ok {
		return ids, nil
	}
	ids, err := s.runFilter(ctx, f, colID)
	if err == nil {
		s.filters.add(key, writes, ids)
	}
	return ids, err
}

// runFilter reads the sorted IDs of the chunks of collection colID that
// pass f from the database.
func (s *Store) runFilter(ctx context.Context, f *ragd.Filter, colID string) ([]int64, error) {
	query, args := filterQuery(f, colID, false)
	ids, err := queryIDs(ctx, s.db, query, args...)
	if err != nil && strings.Contains(err.Error(), "malformed JSON") {
		query, args = filterQuery(f, colID, true)
		ids, err = queryIDs(ctx, s.db, query, args...)
	}
	slices.Sort(ids)
	return ids, err
}

// filterArgs collects the bound arguments of a filter being compiled;
// meta is the SQL expression of an item's metadata.
type filterArgs struct {
	list []any
	meta string
}

// compileFilter compiles f, checked by SearchQuery.Validate, to a SQL
// condition.
func compileFilter(f *ragd.Filter, args *filterArgs) string {
	if f.And != nil || f.Or != nil {
		list, join := f.And, " AND "
		if f.Or != nil {
			list, join = f.Or, " OR "
		}
		parts := make([]string, len(list))
		for i, sub := range list {
			parts[i] = "(" + compileFilter(sub, args) + ")"
		}
		return strings.Join(parts, join)
	}
	return compileComparison(f, args)
}

var sqlOps = map[string]string{"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

func compileComparison(f *ragd.Filter, args *filterArgs) string {
	var col string
	switch f.Key {
	case "item_id":
		col = "i.id"
	case "file_id":
		col = "i.file_id"
	case "filename":
		col = "fl.filename"
	default:
		// Validate checked that the key holds no quote that ends the JSON
		// path; single quotes are doubled for the SQL literal.
		col = `json_extract(` + args.meta + `, '$."` + strings.ReplaceAll(f.Key, "'", "''") + `"')`
	}
	if f.Op == "in" || f.Op == "nin" {
		list := f.Value.([]any)
		marks := make([]string, len(list))
		for i, x := range list {
			args.list = append(args.list, scalar(x))
			marks[i] = "?"
		}
		if f.Op == "in" {
			return fmt.Sprintf("%s IN (%s)", col, strings.Join(marks, ", "))
		}
		return fmt.Sprintf("(%s NOT IN (%s) OR %s IS NULL)", col, strings.Join(marks, ", "), col)
	}
	switch {
	case f.Value == nil && f.Op == "eq":
		return col + " IS NULL"
	case f.Value == nil:
		return col + " IS NOT NULL"
	}
	args.list = append(args.list, scalar(f.Value))
	if f.Op == "ne" {
		// A missing key is "not equal" too.
		return fmt.Sprintf("(%s != ? OR %s IS NULL)", col, col)
	}
	return fmt.Sprintf("%s %s ?", col, sqlOps[f.Op])
}

// scalar converts a JSON value to a SQL argument: booleans become 1/0,
// which is how json_extract returns them; ints become float64 like the
// numbers decoded from JSON.
func scalar(v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return 1
		}
		return 0
	case int:
		return float64(x)
	}
	return v
}

// queryIDs returns the integers of the column "id" that query selects. SQLite
// joins them into one string: a filter can pass tens of thousands of
// chunks, and fetching each as a row of its own costs about 1 us in
// database/sql, more than the query.
func queryIDs(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	var joined sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT group_concat(id) FROM (`+query+`)`, args...).Scan(&joined); err != nil {
		return nil, err
	}
	if !joined.Valid {
		return nil, nil
	}
	fields := strings.Split(joined.String, ",")
	ids := make([]int64, len(fields))
	for i, f := range fields {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("filter returned chunk id %q: %w", f, err)
		}
		ids[i] = id
	}
	return ids, nil
}

// filterCache keeps the chunk IDs that recent filters passed, each with
// the store's write count when it was read: an answer serves only while
// the count has not moved, so it is never stale. Any write moves it, so
// the cache serves read-heavy traffic; under writes it misses, at the cost
// of a map lookup.
type filterCache struct {
	lru *lru.Cache[filterKey, filterAnswer]
}

// filterKey names a filter of one collection: its ID and the filter's
// JSON.
type filterKey struct{ colID, filter string }

type filterAnswer struct {
	writes uint64
	ids    []int64
}

// Bounds of the filter cache: the answers it keeps, and the IDs of one
// answer (1 MiB), so that it holds at most 64 MiB. A filter passing more
// chunks than that leaves little for it to save beside the search itself.
const (
	filterCacheAnswers = 64
	maxCachedFilterIDs = 1 << 17
)

func newFilterCache() *filterCache {
	c, err := lru.New[filterKey, filterAnswer](filterCacheAnswers)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &filterCache{lru: c}
}

func (c *filterCache) key(f *ragd.Filter, colID string) (filterKey, error) {
	b, err := json.Marshal(f)
	return filterKey{colID, string(b)}, err
}

// get returns the answer kept for key, if it was read at write count
// writes. The slice is shared: callers only read it.
func (c *filterCache) get(key filterKey, writes uint64) ([]int64, bool) {
	a, ok := c.lru.Get(key)
	if !ok || a.writes != writes {
		return nil, false
	}
	return a.ids, true
}

// add keeps ids as key's answer, read at write count writes (taken before
// the read began: a write committed meanwhile makes it miss, never
// stale).
func (c *filterCache) add(key filterKey, writes uint64, ids []int64) {
	if len(ids) <= maxCachedFilterIDs {
		c.lru.Add(key, filterAnswer{writes, ids})
	}
}
