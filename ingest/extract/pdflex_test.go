package extract

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// ops lexes l to its end and returns each operator with its operands.
func ops(l *lexer) []string {
	var out []string
	for {
		op, ok := l.next()
		if !ok {
			return out
		}
		var b strings.Builder
		var write func(o operand)
		write = func(o operand) {
			switch o.kind {
			case 'n':
				fmt.Fprintf(&b, "%g ", o.num)
			case '[':
				b.WriteString("[ ")
				for _, e := range o.arr {
					write(e)
				}
				b.WriteString("] ")
			default:
				fmt.Fprintf(&b, "%c%q ", o.kind, o.str)
			}
		}
		for _, a := range l.args {
			write(a)
		}
		out = append(out, b.String()+op)
	}
}

// A content stream lexed through the window, read in odd pieces, gives
// the same operators and operands as lexed from memory, with tokens,
// comments and inline images across refills.
func TestLexerStreaming(t *testing.T) {
	var stream bytes.Buffer
	for i := 0; stream.Len() < 3*lexWindow; i++ {
		fmt.Fprintf(&stream, "BT /F%d 12 Tf 72 %d Td (Hello \\(%d\\) world) Tj [(A) -120 (B) 33.5 <414243>] TJ ET %% comment %d\n", i%7, 700-i%600, i, i)
		if i%997 == 0 {
			stream.WriteString("q BI /W 4 /H 4 /BPC 8 /CS /G ID \x00\x01EIx\xff\xfe EI Q\n")
		}
		if i%3001 == 0 {
			stream.WriteString(strings.Repeat(" ", lexWindow/3))
		}
	}
	data := stream.Bytes()
	want := ops(&lexer{buf: data})
	for _, size := range []int{1, 4093, 1 << 16} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			l := &lexer{r: iotest.HalfReader(&chunked{data: data, size: size})}
			defer l.close()
			got := ops(l)
			if len(got) != len(want) {
				t.Fatalf("%d operators, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("operator %d: %s, want %s", i, got[i], want[i])
				}
			}
		})
	}
}

// chunked reads data at most size bytes at a time.
type chunked struct {
	data []byte
	size int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.size)], c.data)
	c.data = c.data[n:]
	return n, nil
}
