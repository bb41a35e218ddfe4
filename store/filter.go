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
// when f is nil. A search restricted to these chunks never post-filters a
// fixed top-k.
//
// Comparisons of item metadata look the values up in meta_values
// (migration 120), where every top-level key of every item's metadata has
// its value as json_extract reads it; the columns item_id, file_id and
// filename are compared as they are. The query is driven from the
// collection's items through the covering index items_collection_meta
// (migration 030), or from meta_values when a comparison there is
// selective, and reads neither other collections' rows nor the items'
// content, which can be large (TestFilterQueryPlan).
func filterQuery(f *ragd.Filter, colID string) (string, []any) {
	if f == nil {
		return "", nil
	}
	args := &filterArgs{list: []any{colID}, colID: colID}
	cond := compileFilter(f, args)
	return `SELECT c.id FROM items i JOIN chunks c ON c.item_id = i.id
		LEFT JOIN files fl ON fl.id = i.file_id WHERE i.collection_id = ? AND (` + cond + `)`, args.list
}

// filterIDs returns the sorted IDs of the chunks of collection colID that
// pass f (not nil).
//
// Answers are kept in s.filters while nothing is written: a filter run
// again (a tenant's, a document type's) costs a lookup instead of a query.
func (s *Store) filterIDs(ctx context.Context, f *ragd.Filter, colID string) ([]int64, error) {
	writes := s.writes.Load()
	key, err := s.filters.key(f, colID)
	if err != nil {
		return nil, err
	}
	if ids, ok := s.filters.get(key, writes); ok {
		return ids, nil
	}
	query, args := filterQuery(f, colID)
	ids, err := queryIDs(ctx, s.db, query, args...)
	slices.Sort(ids)
	if err == nil {
		s.filters.add(key, writes, ids)
	}
	return ids, err
}

// filterArgs collects the bound arguments of a filter being compiled, of
// collection colID.
type filterArgs struct {
	list  []any
	colID string
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
		return compileMetaComparison(f, args)
	}
	if f.Op == "in" || f.Op == "nin" {
		values, null := splitNull(f.Value.([]any))
		var matches []string
		if len(values) > 0 {
			matches = append(matches, fmt.Sprintf("%s IN (%s)", col, args.values(values)))
		}
		if null {
			matches = append(matches, col+" IS NULL")
		}
		match := "(" + strings.Join(matches, " OR ") + ")"
		if f.Op == "in" {
			return match
		}
		// Not matched, a NULL column included unless null is listed.
		return "NOT COALESCE(" + match + ", 0)"
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

// compileMetaComparison compiles a comparison of metadata key f.Key to
// lookups in meta_values. It passes what json_extract of the key would: a
// missing key and JSON null read as NULL, so "ne" and "nin" pass items
// without the key (they are the items not found equal), "eq" null passes
// the items with no value for it, and so does a null in an "in" list
// (and "nin" with a null excludes them).
func compileMetaComparison(f *ragd.Filter, args *filterArgs) string {
	// lookup binds the collection and key, then cond's arguments, in the
	// order of their placeholders.
	lookup := func(in bool, cond func() string) string {
		op := "IN"
		if !in {
			op = "NOT IN"
		}
		args.list = append(args.list, args.colID, f.Key)
		return fmt.Sprintf("i.seq %s (SELECT item_seq FROM meta_values WHERE collection_id = ? AND key = ? AND %s)", op, cond())
	}
	one := func(op string) func() string {
		return func() string {
			args.list = append(args.list, scalar(f.Value))
			return "value " + op + " ?"
		}
	}
	notNull := func() string { return "value IS NOT NULL" }
	switch {
	case f.Op == "in" || f.Op == "nin":
		in := f.Op == "in"
		values, null := splitNull(f.Value.([]any))
		var parts []string
		if len(values) > 0 {
			parts = append(parts, lookup(in, func() string { return "value IN (" + args.values(values) + ")" }))
		}
		if null {
			parts = append(parts, lookup(!in, notNull))
		}
		join := " AND "
		if in {
			join = " OR "
		}
		return "(" + strings.Join(parts, join) + ")"
	case f.Value == nil:
		return lookup(f.Op != "eq", notNull)
	case f.Op == "ne":
		return lookup(false, one("="))
	}
	return lookup(true, one(sqlOps[f.Op]))
}

// splitNull returns the values of an "in" or "nin" list other than null,
// and whether it lists null.
func splitNull(list []any) (values []any, null bool) {
	for _, x := range list {
		if x == nil {
			null = true
		} else {
			values = append(values, x)
		}
	}
	return values, null
}

// values binds the values of an "in" or "nin" list and returns their
// placeholders.
func (a *filterArgs) values(list []any) string {
	marks := make([]string, len(list))
	for i, x := range list {
		a.list = append(a.list, scalar(x))
		marks[i] = "?"
	}
	return strings.Join(marks, ", ")
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
