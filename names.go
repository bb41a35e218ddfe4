package ragd

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes is the longest name of a collection or API key.
const MaxNameBytes = 256

// CollectionIDPrefix starts every collection ID. A collection is
// addressed in URLs by its ID or its name, so names may not start with
// it: such a name could shadow, or be shadowed by, another collection's ID.
const CollectionIDPrefix = "col_"

// ValidateCollectionName checks a collection name, already trimmed of
// surrounding spaces. A name is 1 to MaxNameBytes bytes of UTF-8 text
// without control characters and without "/", is not "." or ".." and
// does not start with CollectionIDPrefix: anything else could not be put
// in a URL path segment and read back as the same collection.
func ValidateCollectionName(name string) error {
	switch {
	case name == "":
		return Invalid("name", "name is required")
	case len(name) > MaxNameBytes:
		return Invalid("name", "name must be at most %d bytes, got %d", MaxNameBytes, len(name))
	case strings.Contains(name, "/"):
		return Invalid("name", "name may not contain \"/\": collections are addressed by name in URL paths, got %q", name)
	case name == "." || name == "..":
		return Invalid("name", "name may not be %q: clients resolve it as a relative URL path", name)
	case strings.HasPrefix(name, CollectionIDPrefix):
		return Invalid("name", "name may not start with %q, which collection IDs start with, got %q", CollectionIDPrefix, name)
	}
	return ValidateText("name", name, false)
}

// ValidateText checks text a client names or describes something with:
// valid UTF-8 without NUL or other control characters, which would reach
// logs, terminals and other programs verbatim. Multiline text (a
// description) may hold tabs, newlines and carriage returns.
func ValidateText(param, s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return Invalid(param, "%s must be valid UTF-8 text", param)
	}
	for i, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\t' || r == '\n' || r == '\r')) {
			return Invalid(param, "%s may not contain control characters such as NUL; found %U at byte %d", param, r, i)
		}
	}
	return nil
}
