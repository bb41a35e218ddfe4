package ragd

import (
	"encoding/json"
	"fmt"
)

// Limits of the metadata of a collection, item, file or ingested row,
// checked by ValidateMetadata before anything is stored. Metadata is read
// back by SQLite's JSON functions in every filtered search, which fail past
// a nesting of 1000; these bounds keep far below that, and keep one item's
// metadata small beside its content.
const (
	// MaxMetadataDepth is the deepest nesting of objects and arrays; the
	// metadata object itself is level 1.
	MaxMetadataDepth = 32
	// MaxMetadataKeys is the most keys in all the metadata's objects
	// together.
	MaxMetadataKeys = 1024
	// MaxMetadataKeyBytes is the longest key; filter keys have the same
	// limit.
	MaxMetadataKeyBytes = 256
	// MaxMetadataBytes is the largest metadata as JSON.
	MaxMetadataBytes = 64 << 10
)

// ValidateMetadata checks m against the metadata limits. The error is
// EINVALID with code invalid_metadata, names the limit in its message and
// has param as its Param; param also starts the message ("metadata of
// line 7 nests ..."), so callers that fail a whole file can say which row.
func ValidateMetadata(param string, m map[string]any) error {
	keys := 0
	if err := checkMetadataValue(param, m, 1, &keys); err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return invalidMetadata(param, "%s must be a JSON object of plain values: %v", param, err)
	}
	if len(b) > MaxMetadataBytes {
		return invalidMetadata(param, "%s is %d bytes as JSON; the limit is %d bytes", param, len(b), MaxMetadataBytes)
	}
	return nil
}

// checkMetadataValue walks v, at nesting level depth, counting object keys
// into keys. It returns at the first limit passed, so a hostile value costs
// no more than the limits allow.
func checkMetadataValue(param string, v any, depth int, keys *int) error {
	obj, isObj := v.(map[string]any)
	list, isList := v.([]any)
	if !isObj && !isList {
		return nil
	}
	if depth > MaxMetadataDepth {
		return invalidMetadata(param, "%s nests deeper than %d levels of objects and arrays; flatten it", param, MaxMetadataDepth)
	}
	for k, e := range obj {
		if *keys++; *keys > MaxMetadataKeys {
			return invalidMetadata(param, "%s has more than %d keys (counting nested objects); keep fewer", param, MaxMetadataKeys)
		}
		if len(k) > MaxMetadataKeyBytes {
			return invalidMetadata(param, "%s has a key of %d bytes (%.20q...); keys are at most %d bytes", param, len(k), k, MaxMetadataKeyBytes)
		}
		if err := checkMetadataValue(param, e, depth+1, keys); err != nil {
			return err
		}
	}
	for _, e := range list {
		if err := checkMetadataValue(param, e, depth+1, keys); err != nil {
			return err
		}
	}
	return nil
}

func invalidMetadata(param, format string, args ...any) *Error {
	return &Error{Kind: EINVALID, Code: "invalid_metadata", Param: param, Message: fmt.Sprintf(format, args...)}
}
