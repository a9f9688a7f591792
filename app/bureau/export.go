package bureau

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"

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

// BuildWorkbook writes the dashboard as an xlsx workbook.
func BuildWorkbook(d *models.Dashboard) (_ *excelize.File, err error) {
	defer models.Wrap(&err, "bureau.BuildWorkbook")
	tr := views.NewTranslator("zh-CN")
	f := excelize.NewFile()
	summary := tr.T("bureau.sheet.summary")
	if err := f.SetSheetName("Sheet1", summary); err != nil {
		return nil, err
	}
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	pct, _ := f.NewStyle(&excelize.Style{NumFmt: 10}) // 0.00%
	rows := exportRows(d)
	kindLabel := func(k string) string { return tr.T("bureau.row." + k) }
	// Summary: who, the attention score, open alerts and breached rules.
	head := []any{tr.T("bureau.col.kind"), tr.T("bureau.col.id"), tr.T("bureau.col.name"), tr.T("bureau.col.region"),
		tr.T("bureau.col.students"), tr.T("bureau.col.score"), tr.T("bureau.col.open_alerts"), tr.T("bureau.col.breaches")}
	if err := f.SetSheetRow(summary, "A1", &head); err != nil {
		return nil, err
	}
	_ = f.SetRowStyle(summary, 1, 1, bold)
	line := 2
	for _, s := range d.Schools {
		breaches := ""
		for i, b := range s.Breaches {
			if i > 0 {
				breaches += "、"
			}
			breaches += b
		}
		row := []any{kindLabel("school"), s.ID, s.Name, s.RegionCode, s.Students, s.Score, s.OpenAlerts, breaches}
		if err := f.SetSheetRow(summary, "A"+strconv.Itoa(line), &row); err != nil {
			return nil, err
		}
		line++
	}
	for _, r := range append(append([]models.RegionRollup(nil), d.SubRegions...), d.Rollup) {
		kind := "sub_region"
		if r.Code == d.Region.Code {
			kind = "region"
		}
		row := []any{kindLabel(kind), r.Code, r.Name, r.Code, r.Students}
		if err := f.SetSheetRow(summary, "A"+strconv.Itoa(line), &row); err != nil {
			return nil, err
		}
		line++
	}
	_ = f.SetColWidth(summary, "C", "C", 32)
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
		for _, def := range defs {
			head = append(head, indicatorHeader(tr, def))
		}
		if err := f.SetSheetRow(name, "A1", &head); err != nil {
			return nil, err
		}
		_ = f.SetRowStyle(name, 1, 1, bold)
		for i, r := range rows {
			row := []any{kindLabel(r.Kind), r.ID, r.Name, r.RegionCode}
			for _, def := range defs {
				if v, ok := r.Values[def.Key]; ok {
					row = append(row, v)
				} else {
					row = append(row, nil)
				}
			}
			cell := "A" + strconv.Itoa(i+2)
			if err := f.SetSheetRow(name, cell, &row); err != nil {
				return nil, err
			}
		}
		for j, def := range defs {
			if def.Unit == "pct" {
				col, _ := excelize.ColumnNumberToName(5 + j)
				_ = f.SetColStyle(name, col, pct)
			}
		}
		_ = f.SetColWidth(name, "C", "C", 32)
	}
	return f, nil
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
