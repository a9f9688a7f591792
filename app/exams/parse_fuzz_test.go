package exams

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// FuzzParseResults: an uploaded results file (CSV or .xlsx) never panics
// the parser, and what it accepts is finite scores under a student number
// with no NUL (NaN or Inf in a file was stored and broke every read).
func FuzzParseResults(f *testing.F) {
	f.Add("r.csv", []byte("学号,1,2\n2026001,3,4\n"))
	f.Add("r.csv", []byte("\xef\xbb\xbfstudent_no,q1\n2026001,NaN\n2026002,Inf\n"))
	f.Add("r.csv", []byte("2026001,1e309,-0\n\"unterminated"))
	f.Add("r.csv", []byte("2026\x00001,1\n"))
	x := excelize.NewFile()
	x.SetSheetRow("Sheet1", "A1", &[]any{"学号", "1"})
	x.SetSheetRow("Sheet1", "A2", &[]any{"2026001", "NaN"})
	var buf bytes.Buffer
	x.Write(&buf)
	f.Add("r.xlsx", buf.Bytes())
	f.Add("r.xlsx", []byte("PK\x03\x04 not a zip"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		rows, err := parseResults(name, data)
		if err != nil {
			return
		}
		for _, r := range rows {
			for _, x := range r.Scores {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("accepted score %v for %q", x, r.StudentNo)
				}
			}
			_ = strings.TrimSpace(r.StudentNo)
		}
	})
}
