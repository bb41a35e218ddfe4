package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ragd/ragd"
)

// maxFilterDepth bounds the nesting of and/or filters.
const maxFilterDepth = 8

// Limits of a filter's width. SQLite refuses an expression nested 1000
// deep (an "or" of 999 terms compiles to one) and more than 32766 bound
// values; these keep a filter well inside both, so a wide filter is a 400
// that names the limit rather than an error of the database.
const (
	// MaxFilterTerms is the most comparisons in one filter, counting
	// those inside every "and" and "or".
	MaxFilterTerms = 100
	// MaxFilterValues is the most values in one filter, counting every
	// value of every "in" and "nin" list.
	MaxFilterValues = 10_000
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
func filterQuery(f *Filter, colID string, guarded bool) (string, []any, error) {
	if f == nil {
		return "", nil, nil
	}
	args := &filterArgs{list: []any{colID}, meta: "i.metadata"}
	if guarded {
		args.meta = "CASE WHEN json_valid(i.metadata) THEN i.metadata END"
	}
	cond, err := compileFilter(f, "filter", 0, args)
	if err != nil {
		return "", nil, err
	}
	return `SELECT c.id FROM items i JOIN chunks c ON c.item_id = i.id
		LEFT JOIN files fl ON fl.id = i.file_id WHERE i.collection_id = ? AND (` + cond + `)`, args.list, nil
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
func (s *Store) filterIDs(ctx context.Context, f *Filter, colID string) ([]int64, error) {
	query, args, err := filterQuery(f, colID, false)
	if err != nil {
		return nil, err
	}
	ids, err := queryIDs(ctx, s.db, query, args...)
	if err != nil && strings.Contains(err.Error(), "malformed JSON") {
		query, args, _ = filterQuery(f, colID, true)
		ids, err = queryIDs(ctx, s.db, query, args...)
	}
	slices.Sort(ids)
	return ids, err
}

// filterArgs collects the bound arguments of a filter being compiled and
// counts its comparisons against MaxFilterTerms; meta is the SQL
// expression of an item's metadata.
type filterArgs struct {
	list  []any
	terms int
	meta  string
}

func compileFilter(f *Filter, param string, depth int, args *filterArgs) (string, error) {
	if f == nil {
		return "1", nil
	}
	if depth > maxFilterDepth {
		return "", ragd.Invalid(param, "filters nest deeper than %d levels", maxFilterDepth)
	}
	kinds := 0
	if f.Key != "" || f.Op != "" {
		kinds++
	}
	if f.And != nil {
		kinds++
	}
	if f.Or != nil {
		kinds++
	}
	if kinds != 1 {
		return "", ragd.Invalid(param, `a filter is either {"key", "op", "value"}, {"and": [...]} or {"or": [...]}`)
	}
	if f.And != nil || f.Or != nil {
		list, join, name := f.And, " AND ", "and"
		if f.Or != nil {
			list, join, name = f.Or, " OR ", "or"
		}
		if len(list) == 0 {
			return "", ragd.Invalid(param+"."+name, "%q needs at least one filter", name)
		}
		parts := make([]string, len(list))
		for i, sub := range list {
			p, err := compileFilter(sub, fmt.Sprintf("%s.%s[%d]", param, name, i), depth+1, args)
			if err != nil {
				return "", err
			}
			parts[i] = "(" + p + ")"
		}
		return strings.Join(parts, join), nil
	}
	return compileComparison(f, param, args)
}

var sqlOps = map[string]string{"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

func compileComparison(f *Filter, param string, args *filterArgs) (string, error) {
	if args.terms++; args.terms > MaxFilterTerms {
		return "", ragd.Invalid("filter", "the filter has more than %d comparisons (counting those inside every and/or); match many values of one key with a single \"in\"", MaxFilterTerms)
	}
	if f.Key == "" {
		return "", ragd.Invalid(param+".key", "a filter needs a key")
	}
	if strings.ContainsAny(f.Key, "\"\\\x00") || len(f.Key) > 256 {
		return "", ragd.Invalid(param+".key", "filter key %q may not contain quotes or backslashes", f.Key)
	}
	var col string
	switch f.Key {
	case "item_id":
		col = "i.id"
	case "file_id":
		col = "i.file_id"
	case "filename":
		col = "fl.filename"
	default:
		// The key is checked above to hold no quote that ends the JSON
		// path; single quotes are doubled for the SQL literal.
		col = `json_extract(` + args.meta + `, '$."` + strings.ReplaceAll(f.Key, "'", "''") + `"')`
	}
	switch f.Op {
	case "eq", "ne", "gt", "gte", "lt", "lte":
		v, err := scalar(f.Value, param+".value")
		if err != nil {
			return "", err
		}
		if v == nil {
			if f.Op == "eq" {
				return col + " IS NULL", nil
			}
			if f.Op == "ne" {
				return col + " IS NOT NULL", nil
			}
			return "", ragd.Invalid(param+".value", "op %q needs a number or string value, not null", f.Op)
		}
		args.list = append(args.list, v)
		if f.Op == "ne" {
			// A missing key is "not equal" too.
			return fmt.Sprintf("(%s != ? OR %s IS NULL)", col, col), nil
		}
		return fmt.Sprintf("%s %s ?", col, sqlOps[f.Op]), nil
	case "in", "nin":
		list, ok := f.Value.([]any)
		if !ok || len(list) == 0 {
			return "", ragd.Invalid(param+".value", "op %q needs a non-empty array value", f.Op)
		}
		if len(args.list)-1+len(list) > MaxFilterValues {
			return "", ragd.Invalid("filter", "the filter has more than %d values (counting every in and nin list); narrow it", MaxFilterValues)
		}
		marks := make([]string, len(list))
		for i, x := range list {
			v, err := scalar(x, fmt.Sprintf("%s.value[%d]", param, i))
			if err != nil {
				return "", err
			}
			args.list = append(args.list, v)
			marks[i] = "?"
		}
		if f.Op == "in" {
			return fmt.Sprintf("%s IN (%s)", col, strings.Join(marks, ", ")), nil
		}
		return fmt.Sprintf("(%s NOT IN (%s) OR %s IS NULL)", col, strings.Join(marks, ", "), col), nil
	case "":
		return "", ragd.Invalid(param+".op", "a filter needs an op: eq, ne, gt, gte, lt, lte, in or nin")
	default:
		return "", ragd.Invalid(param+".op", "unknown filter op %q; use eq, ne, gt, gte, lt, lte, in or nin", f.Op)
	}
}

// scalar converts a JSON value to a SQL argument: numbers, strings, booleans
// (as 1/0, which is how json_extract returns them) and null.
func scalar(v any, param string) (any, error) {
	switch x := v.(type) {
	case nil, string, float64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case int:
		return float64(x), nil
	default:
		return nil, ragd.Invalid(param, "filter values must be strings, numbers, booleans or null, not %T", v)
	}
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
