package ingest_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// deflateRepeat returns a raw DEFLATE stream of prefix, unit repeated n
// times, then suffix, without compressing all of it: each part is
// compressed once into a self-contained segment ending on a sync flush
// (its back-references stay inside it), so the unit's segment can simply
// be repeated. A gigabyte bomb takes milliseconds to build.
func deflateRepeat(t testing.TB, prefix, unit []byte, n int, suffix []byte) []byte {
	t.Helper()
	segment := func(b []byte, final bool) []byte {
		var buf bytes.Buffer
		w, err := flate.NewWriter(&buf, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		if final {
			err = w.Close()
		} else {
			err = w.Flush()
		}
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	out := segment(prefix, false)
	u := segment(unit, false)
	for range n {
		out = append(out, u...)
	}
	return append(out, segment(suffix, true)...)
}

// docxBomb writes to dir a DOCX whose one <w:t> holds n MiB of text.
func docxBomb(t testing.TB, dir string, n int) string {
	t.Helper()
	prefix := []byte(`<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>`)
	unit := bytes.Repeat([]byte("a"), 1<<20)
	suffix := []byte(`</w:t></w:r></w:p></w:body></w:document>`)
	crc := crc32.Update(0, crc32.IEEETable, prefix)
	for range n {
		crc = crc32.Update(crc, crc32.IEEETable, unit)
	}
	crc = crc32.Update(crc, crc32.IEEETable, suffix)
	data := deflateRepeat(t, prefix, unit, n, suffix)

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "word/document.xml", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(prefix) + n<<20 + len(suffix))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bomb.docx")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pdfBomb writes to dir a one-page PDF whose content is one FlateDecode
// stream of n MiB of zero bytes.
func pdfBomb(t testing.TB, dir string, n int) string {
	t.Helper()
	var stream bytes.Buffer
	stream.Write([]byte{0x78, 0xDA}) // zlib header, best compression
	stream.Write(deflateRepeat(t, nil, make([]byte, 1<<20), n, nil))
	// The Adler-32 of zeros: a stays 1, b adds 1 per byte.
	binary.Write(&stream, binary.BigEndian, uint32((n<<20)%65521)<<16|1)

	var pdf bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, pdf.Len())
		fmt.Fprintf(&pdf, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	pdf.WriteString("%PDF-1.4\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>")
	obj(fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", stream.Len(), stream.Bytes()))
	xref := pdf.Len()
	fmt.Fprintf(&pdf, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&pdf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&pdf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	path := filepath.Join(dir, "bomb.pdf")
	if err := os.WriteFile(path, pdf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// procMiB returns a field of /proc/<pid>/status, such as VmRSS, in MiB.
func procMiB(t testing.TB, pid int, field string) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// resetPeak resets the peak RSS (VmHWM) of process pid to its current RSS
// and returns that (Linux clear_refs), so that a later VmHWM shows the
// growth of what came after.
func resetPeak(t testing.TB, pid int) float64 {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Fatal(err)
	}
	return procMiB(t, pid, "VmRSS")
}

// bombs are the decompression bombs of issue 9, each with the code it
// must fail with.
var bombs = []struct {
	name  string
	write func(t testing.TB, dir string, n int) string
	code  string
}{
	{"DOCX1GiBTextRun", docxBomb, "too_large_after_extraction"},
	{"PDF1GiBZeroStream", pdfBomb, "decompression_limit"},
}

// maxBombGrowthMiB is the most a worker's peak RSS may grow on a bomb.
const maxBombGrowthMiB = 150

// uploadBombs starts ragd with the given workers, uploads the bombs
// (indexes into bombs) of 1 GiB each at once with ?wait=true, checks that
// each fails with its code, and returns the growth of the process's peak
// RSS over its RSS before the uploads.
func uploadBombs(t testing.TB, workers int, which ...int) float64 {
	t.Helper()
	dir := t.TempDir()
	p := startRagd(t, t.TempDir(), "--workers", strconv.Itoa(workers))
	col := p.collection(t, "bombs")
	var paths []string
	for _, i := range which {
		paths = append(paths, bombs[i].write(t, dir, 1024))
		if st, err := os.Stat(paths[len(paths)-1]); err != nil || st.Size() > 4<<20 {
			t.Fatalf("%s: %v, %d bytes", bombs[i].name, err, st.Size())
		}
	}
	base := resetPeak(t, p.cmd.Process.Pid)
	type result struct {
		status int
		body   map[string]any
		err    error
	}
	results := make([]chan result, len(which))
	for k, path := range paths {
		results[k] = make(chan result, 1)
		go func() {
			status, body, err := p.uploadFile(col, path, "?wait=true")
			results[k] <- result{status, body, err}
		}()
	}
	for k, i := range which {
		r := <-results[k]
		if r.err != nil {
			t.Fatal(r.err)
		}
		if e, _ := r.body["error"].(map[string]any); r.status != 422 || e["code"] != bombs[i].code {
			t.Fatalf("%s: status %d, %v; want 422 %s", bombs[i].name, r.status, r.body, bombs[i].code)
		}
	}
	growth := procMiB(t, p.cmd.Process.Pid, "VmHWM") - base
	p.kill(t, syscall.SIGTERM)
	return growth
}

// Two decompression bombs ingested at once each fail with a clear code,
// and the server's peak RSS grows by less than maxBombGrowthMiB per worker.
func TestDecompressionBombs(t *testing.T) {
	growth := uploadBombs(t, 2, 0, 1)
	t.Logf("peak RSS grew by %.0f MiB with both bombs on 2 workers", growth)
	if growth > 2*maxBombGrowthMiB {
		t.Fatalf("peak RSS grew by %.0f MiB, over %d MiB per worker", growth, maxBombGrowthMiB)
	}
}

// BenchmarkBombRSS reports, for each decompression bomb ingested alone by
// one worker of a real ragd process, the growth of the process's peak RSS
// (budget maxBombGrowthMiB).
func BenchmarkBombRSS(b *testing.B) {
	for i, bomb := range bombs {
		b.Run(bomb.name, func(b *testing.B) {
			for b.Loop() {
				growth := uploadBombs(b, 1, i)
				b.ReportMetric(growth, "peak-RSS-growth-MiB/worker")
				if growth > maxBombGrowthMiB {
					b.Errorf("peak RSS grew by %.0f MiB, over %d MiB", growth, maxBombGrowthMiB)
				}
			}
		})
	}
}
