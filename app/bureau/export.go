package bureau

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"

	"jianfu/app"
	"jianfu/models"
	"jianfu/views"
)

// The region export: the dashboard's numbers as a workbook (a summary sheet
// plus one sheet per indicator group, Chinese headers, numbers as numbers)
// or as one CSV table.

const xlsxMIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// exportTable is the dashboard flattened into rows: schools (worst first),
// then each sub-region and the region as totals.
type exportRow struct {
	Kind       string // school, sub_region, region
	ID         string // school id or region code
	Name       string
	RegionCode string
	Score      *float64
	Values     map[string]float64
}

func exportRows(d *models.Dashboard) []exportRow {
	var rows []exportRow
	for _, s := range d.Schools {
		score := s.Score
		rows = append(rows, exportRow{"school", strconv.FormatInt(s.ID, 10), s.Name, s.RegionCode, &score, s.Indicators})
	}
	for _, r := range d.SubRegions {
		rows = append(rows, exportRow{"sub_region", r.Code, r.Name, r.Code, nil, r.Indicators})
	}
	rows = append(rows, exportRow{"region", d.Region.Code, d.Region.Name, d.Region.Code, nil, d.Rollup.Indicators})
	return rows
}

// indicatorHeader is an indicator's column title: its Chinese label and unit,
// the unit once (a label that names it already keeps its own: it said
// 「（分钟）（分钟）」).
func indicatorHeader(tr *views.Translator, def models.IndicatorDef) string {
	label, unit := tr.T(def.MsgID), tr.T("bureau.unit."+def.Unit)
	if strings.Contains(label, "（"+unit+"）") || strings.Contains(label, "("+unit+")") {
		return label
	}
	return label + "（" + unit + "）"
}

// csvValue is an indicator's value as the CSV shows it: percentages as
// exact percent values under a 「（%）」 header (percentText), the rest as they are.
func csvValue(def models.IndicatorDef, v float64) string {
	if def.Unit == "pct" {
		return percentText(v)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// sheetWriter writes one sheet the same way on every sheet: a bold,
// frozen header row, 编号 and the region code as text, percentages as
// numbers shown "0.0%", every column a width from its header, and the
// sheet's dimension set to what it holds.
type sheetWriter struct {
	f                     *excelize.File
	bold, text, pct, head int
}

func newSheetWriter(f *excelize.File) (*sheetWriter, error) {
	w := &sheetWriter{f: f}
	var err error
	pctFmt := "0.0%"
	if w.bold, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}}); err != nil {
		return nil, err
	}
	if w.text, err = f.NewStyle(&excelize.Style{NumFmt: 49}); err != nil { // "@": text
		return nil, err
	}
	if w.pct, err = f.NewStyle(&excelize.Style{CustomNumFmt: &pctFmt}); err != nil {
		return nil, err
	}
	return w, nil
}

// textColumns are the columns held as text on every sheet: 编号 (B) and
// the region code (D), so lookups across sheets match.
var textColumns = []int{2, 4}

// write puts head and rows on sheet; pctCols are 1-based columns of
// percentages (values 0..1).
func (w *sheetWriter) write(sheet string, head []any, rows [][]any, pctCols []int) error {
	f := w.f
	if err := f.SetSheetRow(sheet, "A1", &head); err != nil {
		return err
	}
	for i, row := range rows {
		for _, c := range textColumns {
			if c <= len(row) && row[c-1] != nil {
				row[c-1] = fmt.Sprint(row[c-1])
			}
		}
		if err := f.SetSheetRow(sheet, "A"+strconv.Itoa(i+2), &row); err != nil {
			return err
		}
	}
	lastCol, _ := excelize.ColumnNumberToName(len(head))
	last := len(rows) + 1
	if err := f.SetCellStyle(sheet, "A1", lastCol+"1", w.bold); err != nil {
		return err
	}
	if len(rows) > 0 {
		for _, c := range textColumns {
			col, _ := excelize.ColumnNumberToName(c)
			if err := f.SetCellStyle(sheet, col+"2", col+strconv.Itoa(last), w.text); err != nil {
				return err
			}
		}
		for _, c := range pctCols {
			col, _ := excelize.ColumnNumberToName(c)
			if err := f.SetCellStyle(sheet, col+"2", col+strconv.Itoa(last), w.pct); err != nil {
				return err
			}
		}
	}
	for j, h := range head {
		col, _ := excelize.ColumnNumberToName(j + 1)
		width := 10.0
		if j == 2 { // 名称
			width = 32
		} else if hw := displayWidth(fmt.Sprint(h)) + 2; hw > width {
			width = min(hw, 30)
		}
		if err := f.SetColWidth(sheet, col, col, width); err != nil {
			return err
		}
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return f.SetSheetDimension(sheet, "A1:"+lastCol+strconv.Itoa(last))
}

// displayWidth is a text's width in Excel's character units (a CJK
// character counts two).
func displayWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		if r > 0x2e7f {
			w += 2
		} else {
			w++
		}
	}
	return w
}

// BuildWorkbook writes the dashboard as an xlsx workbook.
func BuildWorkbook(d *models.Dashboard) (_ *excelize.File, err error) {
	defer models.Wrap(&err, "bureau.BuildWorkbook")
	tr := views.NewTranslator("zh-CN")
	f := excelize.NewFile()
	summary := tr.T("bureau.sheet.summary")
	if err := f.SetSheetName("Sheet1", summary); err != nil {
		return nil, err
	}
	w, err := newSheetWriter(f)
	if err != nil {
		return nil, err
	}
	rows := exportRows(d)
	kindLabel := func(k string) string { return tr.T("bureau.row." + k) }
	// Summary: who, the attention score, open alerts and breached rules.
	head := []any{tr.T("bureau.col.kind"), tr.T("bureau.col.id"), tr.T("bureau.col.name"), tr.T("bureau.col.region"),
		tr.T("bureau.col.students"), tr.T("bureau.col.score"), tr.T("bureau.col.open_alerts"), tr.T("bureau.col.breaches")}
	var lines [][]any
	for _, s := range d.Schools {
		breaches := ""
		for i, b := range s.Breaches {
			if i > 0 {
				breaches += "、"
			}
			breaches += b
		}
		lines = append(lines, []any{kindLabel("school"), strconv.FormatInt(s.ID, 10), s.Name, s.RegionCode, s.Students, s.Score, s.OpenAlerts, breaches})
	}
	for _, r := range append(append([]models.RegionRollup(nil), d.SubRegions...), d.Rollup) {
		kind := "sub_region"
		if r.Code == d.Region.Code {
			kind = "region"
		}
		lines = append(lines, []any{kindLabel(kind), r.Code, r.Name, r.Code, r.Students})
	}
	if err := w.write(summary, head, lines, nil); err != nil {
		return nil, err
	}
	// One sheet per indicator group.
	for _, g := range models.Groups(d.Defs) {
		var defs []models.IndicatorDef
		for _, def := range d.Defs {
			if def.Group == g {
				defs = append(defs, def)
			}
		}
		name := tr.T("bureau.group." + g)
		if name == "bureau.group."+g {
			name = g
		}
		if _, err := f.NewSheet(name); err != nil {
			return nil, err
		}
		head := []any{tr.T("bureau.col.kind"), tr.T("bureau.col.id"), tr.T("bureau.col.name"), tr.T("bureau.col.region")}
		var pctCols []int
		for j, def := range defs {
			head = append(head, indicatorHeader(tr, def))
			if def.Unit == "pct" {
				pctCols = append(pctCols, 5+j)
			}
		}
		var lines [][]any
		for _, r := range rows {
			row := []any{kindLabel(r.Kind), r.ID, r.Name, r.RegionCode}
			for _, def := range defs {
				if v, ok := r.Values[def.Key]; ok {
					row = append(row, v)
				} else {
					row = append(row, nil)
				}
			}
			lines = append(lines, row)
		}
		if err := w.write(name, head, lines, pctCols); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// percentText writes a fraction (0..1) as a percent value exactly: the
// decimal point of its shortest form moved two places (0.853 → "85.3"),
// never 85.30000000000001.
func percentText(v float64) string {
	neg := v < 0
	s := strconv.FormatFloat(math.Abs(v), 'f', -1, 64)
	ip, fp, _ := strings.Cut(s, ".")
	fp += "00"
	ip, fp = strings.TrimLeft(ip+fp[:2], "0"), strings.TrimRight(fp[2:], "0")
	if ip == "" {
		ip = "0"
	}
	out := ip
	if fp != "" {
		out += "." + fp
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}

func (s *handlers) exportXLSX(c echo.Context) error {
	d, err := s.dashboard(c)
	if err != nil {
		return err
	}
	f, err := BuildWorkbook(d)
	if err != nil {
		return err
	}
	defer f.Close()
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="jianfu-%s-%s.xlsx"`, d.Region.Code, d.Term.Key))
	return c.Blob(http.StatusOK, xlsxMIME, buf.Bytes())
}

func (s *handlers) exportCSV(c echo.Context) error {
	d, err := s.dashboard(c)
	if err != nil {
		return err
	}
	tr := views.NewTranslator("zh-CN")
	var buf bytes.Buffer
	buf.WriteString("\uFEFF") // so spreadsheet programs read UTF-8
	w := csv.NewWriter(&buf)
	head := []string{tr.T("bureau.col.kind"), tr.T("bureau.col.id"), tr.T("bureau.col.name"), tr.T("bureau.col.region"), tr.T("bureau.col.score")}
	for _, def := range d.Defs {
		head = append(head, indicatorHeader(tr, def))
	}
	_ = w.Write(head)
	for _, r := range exportRows(d) {
		rec := []string{tr.T("bureau.row." + r.Kind), app.CSVText(r.ID), app.CSVText(r.Name), app.CSVText(r.RegionCode), ""}
		if r.Score != nil {
			rec[4] = strconv.FormatFloat(*r.Score, 'f', -1, 64)
		}
		for _, def := range d.Defs {
			if v, ok := r.Values[def.Key]; ok {
				rec = append(rec, csvValue(def, v))
			} else {
				rec = append(rec, "")
			}
		}
		_ = w.Write(rec)
	}
	w.Flush()
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="jianfu-%s-%s.csv"`, d.Region.Code, d.Term.Key))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
