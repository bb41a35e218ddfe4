package rag

import (
	"fmt"
	"testing"
	"unicode/utf8"
)

func TestCitations(t *testing.T) {
	sources := []FileSearchResult{{FileID: "file-a", Filename: "a.md"}, {FileID: "file-b", Filename: "b.md"}}
	tests := []struct {
		name, answer, text string
		cites              []string // file_id@index
	}{
		{"AfterSpace", "The answer is 42 [1].", "The answer is 42.", []string{"file-a@16"}},
		{"Adjacent", "Both say so[1][2], twice.", "Both say so, twice.", []string{"file-a@11", "file-b@11"}},
		{"NoSuchSource", "See [3] and [0].", "See [3] and [0].", nil},
		{"NotANumber", "An [x] and [ 1] stay.", "An [x] and [ 1] stay.", nil},
		{"InlineCode", "Use `a [1]` here [2]", "Use `a [1]` here", []string{"file-b@16"}},
		{"FencedCode", "Run:\n```\nx [1]\n```\n\nDone [1]", "Run:\n```\nx [1]\n```\n\nDone", []string{"file-a@24"}},
		{"CountsCharacters", "Zürich ist schön [2].", "Zürich ist schön.", []string{"file-b@16"}},
		{"TrailingSpaces", "End   ", "End   ", nil},
		{"TrailingBracket", "Open [1", "Open [1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, then split at every character (the model's pieces are
			// JSON strings, whole characters): the same result.
			for split := range len(tt.answer) + 1 {
				if !utf8.RuneStart(tt.answer[min(split, len(tt.answer)-1)]) {
					continue
				}
				c := citations{sources: sources}
				var text string
				var cites []string
				for _, p := range append(append(c.add(tt.answer[:split]), c.add(tt.answer[split:])...), c.flush()...) {
					if p.annotation != nil {
						cites = append(cites, fmt.Sprintf("%s@%d", p.annotation.FileID, p.annotation.Index))
						continue
					}
					text += p.text
				}
				if text != tt.text || c.text.String() != tt.text || fmt.Sprint(cites) != fmt.Sprint(tt.cites) || len(c.annotations) != len(tt.cites) {
					t.Fatalf("split at %d: %q with %v, want %q with %v", split, text, cites, tt.text, tt.cites)
				}
			}
		})
	}
}
