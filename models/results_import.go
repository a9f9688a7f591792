package models

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"jianfu/policies"
)

// Exam results files (CSV or Excel .xlsx): one row per student, the
// student number in the first column, then one score per paper item; an
// optional header row first (the template has one). The importer never
// changes a number silently:
//   - Excel cells are read as stored, not as displayed (6.5 shown with no
//     decimals is 6.5); a formula cell is refused, not read through its
//     cached value;
//   - a score must be a plain decimal number: "0x1p2", "NaN", "Inf", "1e400"
//     or "七" are refused;
//   - a blank score cell is refused (it is never skipped, which would shift
//     the later scores one item left): write 0 for an unanswered item and
//     leave out the row of a student who missed the exam;
//   - every bad cell is reported in one answer, with the row as the user
//     sees it (the spreadsheet row, the CSV line), the column letter, the
//     column's header and the student number.

// ResultRow is one imported line: a student number and item scores. Line
// is the row as the user sees it (1 for the first line of the file).
type ResultRow struct {
	StudentNo string
	Scores    []float64
	Line      int
	unread    []int // indexes of Scores whose cell could not be read (NaN placeholders)
}

// ResultsSheet is a parsed results file: its header row (nil when it has
// none), its rows, and the cells that could not be read (ImportResultsSheet
// reports them with its own findings, in one answer).
type ResultsSheet struct {
	Header   []string
	Rows     []ResultRow
	Problems []ResultCellProblem
}

// ResultCellProblem is one bad cell of a results import. MsgID and Params
// give the message (exams.results_cell.*); Message is filled in the user's
// language by the web layer.
type ResultCellProblem struct {
	Row       int            `json:"row"`
	Column    string         `json:"column"`
	Header    string         `json:"header"`
	StudentNo string         `json:"student_no"`
	Value     string         `json:"value"`
	MsgID     string         `json:"-"`
	Params    map[string]any `json:"-"`
	Message   string         `json:"message"`
	col       int
}

// Problem kinds of a results cell (message ids exams.results_cell.<kind>).
const (
	CellBlank          = "blank"
	CellFormula        = "formula"
	CellNotDecimal     = "not_decimal"
	CellNotFinite      = "not_finite"
	CellTooPrecise     = "too_precise"
	CellNegative       = "negative"
	CellOverMax        = "over_max"
	CellTooMany        = "too_many"
	CellTooFew         = "too_few"
	CellNoStudentNo    = "no_student_no"
	CellUnknownStudent = "unknown_student"
	CellRepeated       = "repeated_student"
)

// maxCellProblems bounds the list returned: a wrong file gives thousands.
const maxCellProblems = 500

// ResultProblemsError is the 400 of an import with bad cells: every
// problem (up to maxCellProblems, Count says how many in all) in Details
// "cells"; nothing was stored.
func ResultProblemsError(ps []ResultCellProblem) *Error {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Row != ps[j].Row {
			return ps[i].Row < ps[j].Row
		}
		return ps[i].col < ps[j].col
	})
	n := len(ps)
	if len(ps) > maxCellProblems {
		ps = ps[:maxCellProblems]
	}
	e := Invalid("exams.results_bad_cells", map[string]any{"Count": n})
	e.Details = map[string]any{"cells": ps, "count": n}
	return e
}

// newProblem makes a problem; col is 0-based (0 is the student number),
// extra adds message parameters.
func newProblem(kind string, row, col int, header, studentNo, value string, extra map[string]any) ResultCellProblem {
	p := ResultCellProblem{Row: row, Column: ColumnName(col), Header: header, StudentNo: studentNo, Value: value,
		MsgID: "exams.results_cell." + kind, col: col}
	if header == "" && col > 0 {
		p.Header = fmt.Sprintf("#%d", col)
	}
	p.Params = map[string]any{"Row": p.Row, "Column": p.Column, "Header": p.Header, "StudentNo": p.StudentNo, "Value": p.Value, "Item": col}
	for k, v := range extra {
		p.Params[k] = v
	}
	return p
}

// KindTooLarge is the kind of an upload over its limit (413).
const KindTooLarge Kind = "too_large"

// ResultsTooLarge is the 413 of a results file over the limit, naming it.
func ResultsTooLarge(limitMiB int) *Error {
	return &Error{Kind: KindTooLarge, Code: "too_large", MsgID: "exams.results_too_large", Params: map[string]any{"LimitMiB": limitMiB}}
}

// ResultsUploadLimit is a school's limit for a results file in MiB (the
// setting policies.SettingResultsMaxUploadMiB, default
// policies.DefaultResultsMaxUploadMiB).
// A value above policies.MaxResultsUploadMiB counts as that maximum: the
// server reads the whole file into memory.
func ResultsUploadLimit(ctx context.Context, db *gorm.DB, sc *School) (int, error) {
	v, err := SchoolIntSetting(ctx, db, sc, policies.SettingResultsMaxUploadMiB, policies.DefaultResultsMaxUploadMiB)
	return min(v, policies.MaxResultsUploadMiB), err
}

// decimal is a plain decimal number, as a person types it or Excel stores
// it (an exponent is allowed: Excel stores 0.0001 as 1E-4).
var decimal = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// parseScore reads a score exactly or says why not (a problem kind).
func parseScore(s string) (float64, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, CellBlank
	}
	if !decimal.MatchString(s) {
		return 0, CellNotDecimal
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil { // out of range: 1e400
		return 0, CellNotFinite
	}
	if significantDigits(x) > MaxScoreDigits {
		return 0, CellTooPrecise
	}
	return x, ""
}

// MaxScoreDigits is the most significant digits a score may have: what
// Excel keeps of a number, so that every stored score survives an export
// to .xlsx and an import back unchanged.
const MaxScoreDigits = 15

// significantDigits counts the digits of x's shortest exact decimal form.
func significantDigits(x float64) int {
	m := strconv.FormatFloat(math.Abs(x), 'e', -1, 64) // d.ddde±x
	m, _, _ = strings.Cut(m, "e")
	return len(strings.Replace(m, ".", "", 1))
}

// ColumnName is the spreadsheet letter of a 0-based column (0 → A).
func ColumnName(i int) string {
	name, _ := excelize.ColumnNumberToName(i + 1)
	return name
}

// rawCell is a cell as read from a file: its text as stored, and why it
// cannot be a number whatever its text (formula, error, boolean).
type rawCell struct {
	text   string
	refuse string
}

// ParseResults reads an uploaded results file, Excel when its name ends in
// .xlsx or its content is a zip, CSV otherwise. A file it cannot read is
// exams.results_bad_file; bad cells are in the sheet's Problems.
func ParseResults(name string, data []byte) (ResultsSheet, error) {
	var rows [][]rawCell
	var err error
	if strings.HasSuffix(strings.ToLower(name), ".xlsx") || bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		rows, err = xlsxCells(data)
	} else {
		rows, err = csvCells(data)
	}
	if err != nil {
		return ResultsSheet{}, err
	}
	return sheetOf(rows), nil
}

// csvCells reads CSV records; row i of the result is line i+1 of the file
// (a record spanning lines counts at its first line; blank lines are kept
// as empty rows so numbering stays right).
func csvCells(data []byte) ([][]rawCell, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	var out [][]rawCell
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, Invalid("exams.results_bad_file", nil)
		}
		line, _ := r.FieldPos(0)
		for len(out) < line-1 {
			out = append(out, nil)
		}
		cells := make([]rawCell, len(rec))
		for i, s := range rec {
			cells[i] = rawCell{text: s}
		}
		out = append(out, cells)
	}
}

// xlsxCells reads the first sheet's cells as stored, streaming the sheet's
// XML: the number in <v> as written (excelize's readers round to 15
// significant digits, which would change a score), shared and inline
// strings as text, and formula, boolean, error and date cells marked.
// Row i of the result is sheet row i+1.
func xlsxCells(data []byte) ([][]rawCell, error) {
	bad := Invalid("exams.results_bad_file", nil)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, bad
	}
	open := func(name string) (io.ReadCloser, error) {
		name = strings.TrimPrefix(name, "/")
		for _, f := range zr.File {
			if strings.EqualFold(f.Name, name) {
				return f.Open()
			}
		}
		return nil, fs.ErrNotExist
	}
	decode := func(name string, v any) error {
		r, err := open(name)
		if err != nil {
			return err
		}
		defer r.Close()
		return xml.NewDecoder(r).Decode(v)
	}
	var wb struct {
		Sheets []struct {
			ID string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if decode("xl/workbook.xml", &wb) != nil || len(wb.Sheets) == 0 || decode("xl/_rels/workbook.xml.rels", &rels) != nil {
		return nil, bad
	}
	sheetPath := ""
	for _, r := range rels.Rels {
		if r.ID == wb.Sheets[0].ID {
			sheetPath = r.Target
			if !strings.HasPrefix(sheetPath, "/") {
				sheetPath = "xl/" + sheetPath
			}
		}
	}
	var sst struct {
		SI []struct {
			T string `xml:"t"`
			R []struct {
				T string `xml:"t"`
			} `xml:"r"`
		} `xml:"si"`
	}
	if err := decode("xl/sharedStrings.xml", &sst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, bad
	}
	shared := make([]string, len(sst.SI))
	for i, si := range sst.SI {
		shared[i] = si.T
		for _, r := range si.R {
			shared[i] += r.T
		}
	}
	r, err := open(sheetPath)
	if err != nil {
		return nil, bad
	}
	defer r.Close()
	type xc struct {
		Ref string  `xml:"r,attr"`
		T   string  `xml:"t,attr"`
		F   *string `xml:"f"`
		V   string  `xml:"v"`
		IS  struct {
			T string `xml:"t"`
			R []struct {
				T string `xml:"t"`
			} `xml:"r"`
		} `xml:"is"`
	}
	var out [][]rawCell
	row, col := 0, 0
	d := xml.NewDecoder(r)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, bad
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "row":
			row, col = row+1, 0
			for _, a := range se.Attr {
				if a.Name.Local == "r" {
					if n, err := strconv.Atoi(a.Value); err == nil && n > 0 && n <= 1<<20 {
						row = n
					}
				}
			}
		case "c":
			var c xc
			if err := d.DecodeElement(&c, &se); err != nil {
				return nil, bad
			}
			col++
			if c.Ref != "" {
				x, y, err := excelize.CellNameToCoordinates(c.Ref)
				if err != nil {
					return nil, bad
				}
				col, row = x, y
			}
			if row <= 0 || col <= 0 || col > 16384 {
				return nil, bad
			}
			cell := rawCell{text: c.V}
			switch c.T {
			case "s":
				n, err := strconv.Atoi(strings.TrimSpace(c.V))
				if err != nil || n < 0 || n >= len(shared) {
					return nil, bad
				}
				cell.text = shared[n]
			case "inlineStr":
				cell.text = c.IS.T
				for _, r := range c.IS.R {
					cell.text += r.T
				}
			case "b", "e", "d":
				cell.refuse = CellNotDecimal
			}
			if c.F != nil {
				cell.refuse = CellFormula
			}
			for len(out) < row {
				out = append(out, nil)
			}
			for len(out[row-1]) < col {
				out[row-1] = append(out[row-1], rawCell{})
			}
			out[row-1][col-1] = cell
		}
	}
}

// isHeaderRow tells a header row: its first cell has no digit (学号,
// student_no) or its second is not a number.
func isHeaderRow(rec []rawCell) bool {
	if len(rec) == 0 {
		return false
	}
	if !strings.ContainsAny(rec[0].text, "0123456789") {
		return true
	}
	if len(rec) > 1 {
		_, bad := parseScore(rec[1].text)
		return bad != ""
	}
	return false
}

// studentNo reads the first cell: text as typed, or an Excel number written
// without exponent or decimals (20230101 stored as 2.0230101E7).
func studentNo(c rawCell) string {
	s := strings.TrimSpace(c.text)
	if strings.ContainsAny(s, "eE.") && decimal.MatchString(s) {
		if x, err := strconv.ParseFloat(s, 64); err == nil && x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
	}
	return s
}

// sheetOf turns cells into rows, collecting every bad cell. A bad cell
// keeps its place (a NaN placeholder) so the later scores stay on their
// items.
func sheetOf(rows [][]rawCell) ResultsSheet {
	var sh ResultsSheet
	first := true
	for i, rec := range rows {
		line := i + 1
		// Trailing empty cells are not data (Excel keeps formatted blanks).
		for len(rec) > 0 && strings.TrimSpace(rec[len(rec)-1].text) == "" && rec[len(rec)-1].refuse == "" {
			rec = rec[:len(rec)-1]
		}
		if len(rec) == 0 {
			continue
		}
		if first {
			first = false
			if isHeaderRow(rec) {
				for _, c := range rec {
					sh.Header = append(sh.Header, strings.TrimSpace(c.text))
				}
				continue
			}
		}
		row := ResultRow{StudentNo: studentNo(rec[0]), Line: line}

		for j, c := range rec[1:] {
			col := j + 1
			kind := c.refuse
			var x float64
			if kind == "" {
				x, kind = parseScore(c.text)
			}
			if kind != "" {
				sh.Problems = append(sh.Problems, newProblem(kind, line, col, sh.header(col), row.StudentNo, strings.TrimSpace(c.text), nil))
				row.unread = append(row.unread, len(row.Scores))
				x = math.NaN()
			}
			row.Scores = append(row.Scores, x)
		}
		sh.Rows = append(sh.Rows, row)
	}
	return sh
}

func (sh ResultsSheet) header(col int) string {
	if col < len(sh.Header) {
		return sh.Header[col]
	}
	return ""
}

// ResultsTemplate writes the import template of an exam as .xlsx: a frozen
// header row 学号 + one column per item named by its number and points
// ("第1题（5分）"), the student-number column formatted as text, the score
// columns as numbers with a validation of 0 to the item's points.
func ResultsTemplate(w io.Writer, items []ExamItem, studentNoHeader string, itemHeader func(ExamItem) string) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	num, err := f.NewStyle(&excelize.Style{NumFmt: 0})
	if err != nil {
		return err
	}
	head := []any{studentNoHeader}
	for _, it := range items {
		head = append(head, itemHeader(it))
	}
	if err := f.SetSheetRow(sheet, "A1", &head); err != nil {
		return err
	}
	last := ColumnName(len(items))
	if err := f.SetColStyle(sheet, "A", text); err != nil {
		return err
	}
	if err := f.SetColWidth(sheet, "A", "A", 16); err != nil {
		return err
	}
	if len(items) > 0 {
		if err := f.SetColStyle(sheet, "B:"+last, num); err != nil {
			return err
		}
		if err := f.SetColWidth(sheet, "B", last, 14); err != nil {
			return err
		}
	}
	for j, it := range items {
		col := ColumnName(j + 1)
		dv := excelize.NewDataValidation(true)
		dv.Sqref = fmt.Sprintf("%s2:%s1048576", col, col)
		if err := dv.SetRange(0, it.Points, excelize.DataValidationTypeDecimal, excelize.DataValidationOperatorBetween); err != nil {
			return err
		}
		if err := f.AddDataValidation(sheet, dv); err != nil {
			return err
		}
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return f.Write(w)
}

// WriteResultsFile writes results in the import format (the header row,
// then the student number as text and one score per item), as .xlsx when
// xlsx is true, else CSV with a UTF-8 byte order mark. Scores are written
// in their shortest exact form, so importing the file back stores the
// same numbers.
func WriteResultsFile(w io.Writer, xlsx bool, header []string, results []StaffResult) error {
	if !xlsx {
		cw := csv.NewWriter(w)
		if _, err := io.WriteString(w, "\xef\xbb\xbf"); err != nil {
			return err
		}
		if err := cw.Write(header); err != nil {
			return err
		}
		for _, r := range results {
			rec := []string{r.StudentNo}
			for _, x := range r.Scores {
				rec = append(rec, strconv.FormatFloat(x, 'f', -1, 64))
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	head := make([]any, len(header))
	for i, h := range header {
		head[i] = h
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	for i, r := range results {
		row := []any{excelize.Cell{StyleID: text, Value: r.StudentNo}}
		for _, x := range r.Scores {
			row = append(row, x)
		}
		if err := sw.SetRow(fmt.Sprintf("A%d", i+2), row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}
