package extract

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// textFieldNames are the column or field names taken as a record's text
// when Options.TextField is empty, in order of preference.
var textFieldNames = []string{"text", "content", "body"}

// textField returns the index in names of the record text's column, or -1.
func textField(names []string, configured string) int {
	if configured != "" {
		for i, n := range names {
			if n == configured {
				return i
			}
		}
		return -1
	}
	for _, want := range textFieldNames {
		for i, n := range names {
			if strings.EqualFold(strings.TrimSpace(n), want) {
				return i
			}
		}
	}
	return -1
}

// renderFields renders fields as "name: value" lines, in the given order.
func renderFields(names []string, value func(i int) string) string {
	var b strings.Builder
	for i, n := range names {
		v := value(i)
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(n)
		b.WriteString(": ")
		b.WriteString(v)
	}
	return b.String()
}

// parseCSV emits one record per row; the first row names the columns. The
// delimiter (comma, semicolon or tab) is guessed from the header.
func parseCSV(j *job) error {
	tr, err := j.textReader()
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(tr, 64<<10)
	peek, _ := br.Peek(64 << 10)
	header := peek
	if i := bytes.IndexByte(peek, '\n'); i >= 0 {
		header = peek[:i]
	}
	r := csv.NewReader(br)
	r.Comma = ','
	for _, d := range []rune{'\t', ';'} {
		if bytes.Count(header, []byte(string(d))) > bytes.Count(header, []byte(string(r.Comma))) {
			r.Comma = d
		}
	}
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true
	names, err := r.Read()
	if err != nil {
		return corrupt(CSV, err, "its header row cannot be read (%v)", err)
	}
	names = append([]string(nil), names...)
	for i := range names {
		names[i] = strings.TrimSpace(strings.TrimPrefix(names[i], "\uFEFF"))
		if names[i] == "" {
			names[i] = fmt.Sprintf("column_%d", i+1)
		}
	}
	ti := textField(names, j.opts.TextField)
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return corrupt(CSV, err, "line %d cannot be read (%v)", line, err)
		}
		j.check()
		meta := make(map[string]any, len(names))
		for i, v := range row {
			if i < len(names) && i != ti {
				meta[names[i]] = csvValue(v)
			}
		}
		var text string
		if ti >= 0 && ti < len(row) {
			text = strings.TrimSpace(row[ti])
		} else {
			text = renderFields(names, func(i int) string {
				if i < len(row) {
					return strings.TrimSpace(row[i])
				}
				return ""
			})
		}
		if text == "" {
			continue
		}
		if err := j.sink.Record(Record{Text: text, Metadata: meta, Line: line}); err != nil {
			return err
		}
	}
}

// csvValue types a CSV cell: a decimal number (an optional minus sign,
// digits without a leading zero unless the zero is alone, then optionally
// a point and digits: 12, -3.5, 29.50, 9.00, 0.25) becomes an int64 (when
// it has no point and fits) or a float64, so that numeric filters see it
// whatever its written form; true and false become booleans; anything else
// stays a string, codes with leading zeros (02134), exponents and
// thousands separators included. Spaces around a cell are ignored.
func csvValue(cell string) any {
	s := strings.TrimSpace(cell)
	if isDecimal(s) {
		if !strings.Contains(s, ".") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	if s == "true" || s == "false" {
		return s == "true"
	}
	return cell
}

// isDecimal reports whether s is written -?(0|[1-9][0-9]*)(\.[0-9]+)?.
func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, point := strings.Cut(s, ".")
	digits := func(d string) bool {
		return d != "" && strings.Trim(d, "0123456789") == ""
	}
	return digits(whole) && (whole == "0" || whole[0] != '0') && (!point || digits(frac))
}

// parseJSONL emits one record per non-blank line.
func parseJSONL(j *job) error {
	r, err := j.textReader()
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), j.lim.MaxSegment*16)
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return corrupt(JSONL, err, "line %d is not valid JSON (%v)", line, err)
		}
		j.check()
		if err := emitJSONRecord(j, v, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return corrupt(JSONL, err, "a line cannot be read (%v)", err)
	}
	return nil
}

// emitJSONRecord emits a decoded JSON value as a record: an object's text
// field (or all its fields rendered) with the other fields as metadata, and
// any other value as its text.
func emitJSONRecord(j *job, v any, line int) error {
	obj, ok := v.(map[string]any)
	if !ok {
		text := jsonText(v)
		if text == "" {
			return nil
		}
		return j.sink.Record(Record{Text: text, Line: line})
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	var text string
	if ti := textField(names, j.opts.TextField); ti >= 0 {
		text = strings.TrimSpace(jsonText(obj[names[ti]]))
		delete(obj, names[ti])
	} else {
		text = renderFields(names, func(i int) string { return jsonText(obj[names[i]]) })
	}
	if text == "" {
		return nil
	}
	return j.sink.Record(Record{Text: text, Metadata: obj, Line: line})
}

// jsonText renders a JSON value as text: strings as they are, other values as JSON.
func jsonText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// parseJSON emits the elements of a top-level array as records, streaming;
// any other document yields its string values, one per line, as text.
func parseJSON(j *job) error {
	r, err := j.textReader()
	if err != nil {
		return err
	}
	br := bufio.NewReader(r)
	dec := json.NewDecoder(br)
	tok, err := dec.Token()
	if err != nil {
		return corrupt(JSON, err, "it is not valid JSON (%v)", err)
	}
	if d, ok := tok.(json.Delim); ok && d == '[' {
		for i := 1; dec.More(); i++ {
			var v any
			if err := dec.Decode(&v); err != nil {
				return corrupt(JSON, err, "array element %d is not valid JSON (%v)", i, err)
			}
			j.check()
			if err := emitJSONRecord(j, v, i); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return corrupt(JSON, err, "its array is not closed (%v)", err)
		}
		return nil
	}
	// Walk the tokens, keeping string values and skipping object keys.
	type level struct{ object, wantKey bool }
	stack := []level{{}}
	b := &blocks{j: j}
	for {
		top := &stack[len(stack)-1]
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				if len(stack) > 10000 {
					return corrupt(JSON, nil, "it nests more than 10000 levels deep")
				}
				stack = append(stack, level{object: t == '{', wantKey: t == '{'})
			} else if len(stack) > 1 {
				stack = stack[:len(stack)-1]
				stack[len(stack)-1].wantKey = stack[len(stack)-1].object
			}
		default:
			isKey := top.object && top.wantKey
			top.wantKey = top.object && !isKey
			if s, ok := t.(string); ok && !isKey {
				if err := b.add(s); err != nil {
					return err
				}
			}
		}
		tok, err = dec.Token()
		if errors.Is(err, io.EOF) && len(stack) > 1 {
			return corrupt(JSON, err, "it ends before all its objects and arrays are closed (is it cut short?)")
		}
		if errors.Is(err, io.EOF) {
			return b.flush()
		}
		if err != nil {
			return corrupt(JSON, err, "it is not valid JSON (%v)", err)
		}
	}
}
