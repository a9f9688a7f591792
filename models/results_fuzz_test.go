package models

import (
	"math"
	"slices"
	"strconv"
	"testing"
)

// FuzzParseResults: whatever the bytes, ParseResults never panics, every
// score it accepts is finite with at most MaxScoreDigits digits and came
// from a plain decimal cell, and every refused cell keeps its place (the
// row keeps one entry per cell, so later scores never shift).
func FuzzParseResults(f *testing.F) {
	for _, s := range []string{
		"学号,q1,q2\n2026001,1,2\n", "2026001,0x1p2,NaN\n", "a,b\n1,,3\n", "\xef\xbb\xbf学号,q\n\"20\n26\",1e400\n",
		"1,1_0,+.5,-0,1e-3\n", "PK\x03\x04garbage", "1,0.30000000000000004\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sh, err := ParseResults("f.csv", data)
		if err != nil {
			return
		}
		bad := map[[2]int]bool{}
		for _, p := range sh.Problems {
			bad[[2]int{p.Row, p.col}] = true
		}
		for _, r := range sh.Rows {
			for j, x := range r.Scores {
				if slices.Contains(r.unread, j) {
					if !bad[[2]int{r.Line, j + 1}] {
						t.Fatalf("row %d item %d unread but not reported", r.Line, j+1)
					}
					continue
				}
				if math.IsNaN(x) || math.IsInf(x, 0) || significantDigits(x) > MaxScoreDigits {
					t.Fatalf("row %d item %d: accepted %v", r.Line, j+1, x)
				}
				if back, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', -1, 64), 64); err != nil || back != x {
					t.Fatalf("row %d item %d: %v does not round-trip", r.Line, j+1, x)
				}
			}
		}
	})
}
