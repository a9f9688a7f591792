package afterschool

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/scheduler"
)

// FET in and out (https://lalescu.ro/liviu/fet/): the school's programs
// as a .fet file fet-cl reads, and a school's own FET file as programs.

// maxFETFile bounds an uploaded .fet file (the largest FET example is
// about 3 MiB).
const maxFETFile = 8 << 20

// apiTimetableFET downloads the term's programs as a FET input file.
func (s *handlers) apiTimetableFET(c echo.Context) error {
	sc, term, _, err := s.SchoolTerm(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	prob, _, err := s.schoolProblem(c, sc, term)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := scheduler.WriteFET(&buf, prob); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="afterschool-%d-%d.fet"`, sc.ID, term.ID))
	return c.Blob(http.StatusOK, "application/xml; charset=utf-8", buf.Bytes())
}

// fetImportRequest is the form of a FET import besides the file.
type fetImportRequest struct {
	Category      string `form:"category" validate:"required"`
	Capacity      int    `form:"capacity" validate:"omitempty,min=1,max=2000"`
	FirstStart    string `form:"first_start" validate:"omitempty"`
	PeriodMinutes int    `form:"period_minutes" validate:"omitempty,min=5,max=240"`
	Grades        string `form:"grades" validate:"omitempty,max=40"`
}

// importFET reads the uploaded file (field "file") and the form, and
// creates the programs (scheduler.ImportFET).
func (s *handlers) importFET(c echo.Context) (_ scheduler.FETImportReport, err error) {
	defer models.Wrap(&err, "afterschool.importFET")
	sc, term, today, err := s.SchoolTerm(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return scheduler.FETImportReport{}, err
	}
	var req fetImportRequest
	if err := app.Bind(c, &req); err != nil {
		return scheduler.FETImportReport{}, err
	}
	if !policies.IsProgramCategory(req.Category) {
		return scheduler.FETImportReport{}, models.Invalid("as.program.bad_category", map[string]any{"Value": req.Category})
	}
	in := scheduler.FETImport{SchoolID: sc.ID, TermID: term.ID, Today: today, Category: req.Category, Capacity: req.Capacity, PeriodMinutes: req.PeriodMinutes}
	if req.FirstStart != "" {
		m, ok := policies.Minutes(req.FirstStart)
		if !ok {
			return scheduler.FETImportReport{}, models.Invalid("error.bad_time", map[string]any{"Value": req.FirstStart})
		}
		in.FirstStart = m
	}
	for _, g := range strings.FieldsFunc(req.Grades, func(r rune) bool { return r == ',' || r == ' ' || r == '、' }) {
		n, err := strconv.Atoi(g)
		if err != nil {
			return scheduler.FETImportReport{}, models.Invalid("as.program.bad_grade", map[string]any{"Value": g})
		}
		in.Grades = append(in.Grades, n)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return scheduler.FETImportReport{}, models.Invalid("as.fet.bad_file", map[string]any{"Reason": "no file"})
	}
	if fh.Size > maxFETFile {
		return scheduler.FETImportReport{}, &models.Error{Kind: models.KindTooLarge, Code: "too_large", MsgID: "error.too_large"}
	}
	f, err := fh.Open()
	if err != nil {
		return scheduler.FETImportReport{}, models.Invalid("as.fet.bad_file", map[string]any{"Reason": "unreadable upload"})
	}
	defer f.Close()
	in.File, err = scheduler.ReadFET(io.LimitReader(f, maxFETFile))
	if err != nil {
		return scheduler.FETImportReport{}, models.Invalid("as.fet.bad_file", map[string]any{"Reason": err.Error()})
	}
	return scheduler.ImportFET(c.Request().Context(), s.DB, in)
}

func (s *handlers) apiImportFET(c echo.Context) error {
	rep, err := s.importFET(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}
