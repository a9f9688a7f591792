package bureau

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"

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

// indicatorHeader is an indicator's column title: its Chinese label and unit.
func indicatorHeader(tr *views.Translator, def models.IndicatorDef) string {
	return tr.T(def.MsgID) + "（" + tr.T("bureau.unit."+def.Unit) + "）"
}

// WriteWorkbook writes the dashboard as an xlsx workbook to w. Every sheet
// goes through excelize's StreamWriter, row by row: a province's workbook
// (thousands of schools × every indicator) never sits in memory as cells.
func WriteWorkbook(w io.Writer, d *models.Dashboard) (err error) {
	defer models.Wrap(&err, "bureau.WriteWorkbook")
	tr := views.NewTranslator("zh-CN")
	f := excelize.NewFile()
	defer f.Close()
	summary := tr.T("bureau.sheet.summary")
	if err := f.SetSheetName("Sheet1", summary); err != nil {
		return err
	}
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	pct, _ := f.NewStyle(&excelize.Style{NumFmt: 10}) // 0.00%
	rows := exportRows(d)
	kindLabel := func(k string) string { return tr.T("bureau.row." + k) }
	// Summary: who, the attention score, open alerts and breached rules.
	sw, err := f.NewStreamWriter(summary)
	if err != nil {
		return err
	}
	_ = sw.SetColWidth(3, 3, 32)
	head := []any{tr.T("bureau.col.kind"), tr.T("bureau.col.id"), tr.T("bureau.col.name"), tr.T("bureau.col.region"),
		tr.T("bureau.col.students"), tr.T("bureau.col.score"), tr.T("bureau.col.open_alerts"), tr.T("bureau.col.breaches")}
	if err := sw.SetRow("A1", head, excelize.RowOpts{StyleID: bold}); err != nil {
		return err
	}
	line := 2
	for _, s := range d.Schools {
		row := []any{kindLabel("school"), s.ID, s.Name, s.RegionCode, s.Students, s.Score, s.OpenAlerts, strings.Join(s.Breaches, "、")}
		if err := sw.SetRow("A"+strconv.Itoa(line), row); err != nil {
			return err
		}
		line++
	}
	for _, r := range append(append([]models.RegionRollup(nil), d.SubRegions...), d.Rollup) {
		kind := "sub_region"
		if r.Code == d.Region.Code {
			kind = "region"
		}
		if err := sw.SetRow("A"+strconv.Itoa(line), []any{kindLabel(kind), r.Code, r.Name, r.Code, r.Students}); err != nil {
			return err
		}
		line++
	}
	if err := sw.Flush(); err != nil {
		return err
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
			return err
		}
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return err
		}
		_ = sw.SetColWidth(3, 3, 32)
		head := []any{tr.T("bureau.col.kind"), tr.T("bureau.col.id"), tr.T("bureau.col.name"), tr.T("bureau.col.region")}
		for _, def := range defs {
			head = append(head, indicatorHeader(tr, def))
		}
		if err := sw.SetRow("A1", head, excelize.RowOpts{StyleID: bold}); err != nil {
			return err
		}
		row := make([]any, 0, 4+len(defs))
		for i, r := range rows {
			row = append(row[:0], kindLabel(r.Kind), r.ID, r.Name, r.RegionCode)
			for _, def := range defs {
				v, ok := r.Values[def.Key]
				switch {
				case !ok:
					row = append(row, nil)
				case def.Unit == "pct":
					row = append(row, excelize.Cell{StyleID: pct, Value: v})
				default:
					row = append(row, v)
				}
			}
			if err := sw.SetRow("A"+strconv.Itoa(i+2), row); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	return f.Write(w)
}

func (s *handlers) exportXLSX(c echo.Context) error {
	d, err := s.dashboard(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="jianfu-%s-%s.xlsx"`, d.Region.Code, d.Term.Key))
	h.Set(echo.HeaderContentType, xlsxMIME)
	// Streamed to the client: a failure after the first byte can only cut
	// the download short (the client sees a broken file, not a wrong one).
	c.Response().WriteHeader(http.StatusOK)
	if err := WriteWorkbook(c.Response(), d); err != nil {
		slog.Error("xlsx export cut short", "err", err)
	}
	return nil
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
		rec := []string{tr.T("bureau.row." + r.Kind), r.ID, r.Name, r.RegionCode, ""}
		if r.Score != nil {
			rec[4] = strconv.FormatFloat(*r.Score, 'f', -1, 64)
		}
		for _, def := range d.Defs {
			if v, ok := r.Values[def.Key]; ok {
				rec = append(rec, strconv.FormatFloat(v, 'f', -1, 64))
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
