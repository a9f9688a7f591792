package exams

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/views"
)

// Routes registers the exams area with the server: its routes, each with
// its declared permission, and its home tiles.
func Routes(r app.Router, d app.Deps) {
	s := &handlers{Deps: d, r: r}
	schoolExams := func(g models.Grant) string {
		if kind, key, _ := policies.ParseDomain(g.Domain); kind == "school" {
			return "/schools/" + key + "/exams"
		}
		return "/exams"
	}
	for _, role := range []string{policies.RoleAcademic, policies.RolePrincipal, policies.RoleTeacher, policies.RoleHeadTeacher, policies.RoleParent} {
		r.AddHomeLinks(app.HomeLink{Role: role, Label: "exams.nav", Icon: "🗓️", URL: schoolExams})
	}
	s.examRoutes()
}

// examOf resolves the school of the exam in path parameter id.
var examOf = app.SchoolOf("id", func(c echo.Context, s *app.Server, id int64) (int64, error) {
	return models.ExamSchoolID(c.Request().Context(), s.DB, id)
})

func (s *handlers) examRoutes() {
	api := s.r.Group("/api/v1")
	s.r.Route(api, http.MethodPost, "/schools/:school/exams", s.apiCreateExam, app.Allow("exam", "write", app.SchoolParam("school")))
	s.r.Route(api, http.MethodGet, "/schools/:school/exams", s.apiListExams, app.Allow("exam", "read", app.SchoolParam("school")))
	s.r.Route(api, http.MethodGet, "/schools/:school/exams.ics", s.apiExamsICS, app.Allow("exam", "read", app.SchoolParam("school")))
	s.r.Route(api, http.MethodGet, "/exams/:id", s.apiGetExam, app.Allow("exam", "read", examOf))
	s.r.Route(api, http.MethodPut, "/exams/:id", s.apiUpdateExam, app.Allow("exam", "write", examOf))
	s.r.Route(api, http.MethodGet, "/exams/:id/paper", s.apiGetPaper, app.Allow("exam", "read", examOf))
	s.r.Route(api, http.MethodPut, "/exams/:id/paper", s.apiPutPaper, app.Allow("exam", "write", examOf))
	s.r.Route(api, http.MethodPost, "/exams/:id/submit", s.apiTransition(models.ActionSubmit), app.Allow("exam", "write", examOf))
	s.r.Route(api, http.MethodPost, "/exams/:id/approve", s.apiTransition(models.ActionApprove), app.Allow("exam", "approve", examOf))
	s.r.Route(api, http.MethodPost, "/exams/:id/publish", s.apiTransition(models.ActionPublish), app.Allow("exam", "publish", examOf))
	s.r.Route(api, http.MethodPost, "/exams/:id/withdraw", s.apiTransition(models.ActionWithdraw), app.Allow("exam", "withdraw", examOf))
	s.r.Route(api, http.MethodPost, "/exams/:id/results", s.apiImportResults, app.Allow("exam", "write", examOf))
	s.r.Route(api, http.MethodGet, "/exams/:id/results/template.xlsx", s.apiResultsTemplate, app.Allow("exam", "write", examOf))
	// Results files are bounded by the school's upload limit (a setting), not the server's.
	s.OwnBodyLimit(http.MethodPost, "/api/v1/exams/:id/results")
	s.OwnBodyLimit(http.MethodPost, "/exams/:id/results")
	s.r.Route(api, http.MethodGet, "/exams/:id/results", s.apiResults, app.Allow("exam", "read", examOf))
	s.r.Route(api, http.MethodGet, "/exams/:id/analysis", s.apiAnalysis, app.Allow("exam", "read", examOf))
	s.r.Route(api, http.MethodPost, "/me/calendar-token", s.apiCalendarToken, app.SignedIn())

	pages := s.r.Group("")
	// A phone calendar cannot send a bearer header: the secret token in the
	// URL is the credential (stored hashed), checked in the handler.
	s.r.Route(pages, http.MethodGet, "/cal/:file", s.calendarFeed, app.Public())
	s.r.Route(pages, http.MethodGet, "/exams", s.examsHome, app.SignedIn())
	s.r.Route(pages, http.MethodGet, "/schools/:school/exams", s.examsPage, app.Allow("exam", "read", app.SchoolParam("school")))
	s.r.Route(pages, http.MethodPost, "/schools/:school/exams", s.examsCreateForm, app.Allow("exam", "write", app.SchoolParam("school")))
	s.r.Route(pages, http.MethodGet, "/exams/:id", s.examPage, app.Allow("exam", "read", examOf))
	s.r.Route(pages, http.MethodPost, "/exams/:id/paper", s.examPaperForm, app.Allow("exam", "write", examOf))
	s.r.Route(pages, http.MethodPost, "/exams/:id/submit", s.examTransitionForm(models.ActionSubmit), app.Allow("exam", "write", examOf))
	s.r.Route(pages, http.MethodPost, "/exams/:id/approve", s.examTransitionForm(models.ActionApprove), app.Allow("exam", "approve", examOf))
	s.r.Route(pages, http.MethodPost, "/exams/:id/publish", s.examTransitionForm(models.ActionPublish), app.Allow("exam", "publish", examOf))
	s.r.Route(pages, http.MethodPost, "/exams/:id/withdraw", s.examTransitionForm(models.ActionWithdraw), app.Allow("exam", "withdraw", examOf))
	s.r.Route(pages, http.MethodPost, "/exams/:id/results", s.examResultsForm, app.Allow("exam", "write", examOf))
	s.r.Route(pages, http.MethodPost, "/calendar-token", s.calendarTokenForm, app.SignedIn())
}

// examAccess is how the viewer relates to a school's exams.
type examAccess struct {
	Staff       bool // works at the school, or oversees it (bureau, admin)
	Leader      bool // principal or academic director, or an overseer
	Academic    bool
	Principal   bool
	Guardian    bool // parent of a student of the school
	ChildGrades []int
	// OverseerOnly: bureau (or admin) with no role at the school. They see
	// calendars, papers and aggregates, never a named child's scores (issue
	// 11, finding 11).
	OverseerOnly bool
}

// filter is what a viewer may list: staff see everything, guardians only
// published exams of their children's grades.
func (a examAccess) filter(f models.ExamFilter) models.ExamFilter {
	if !a.Staff {
		f.PublishedOnly = true
		f.Grades = a.ChildGrades
		if len(f.Grades) == 0 {
			f.Grades = []int{-1}
		}
	}
	return f
}

// canSee reports whether the viewer may see one exam.
func (a examAccess) canSee(e models.ExamRow) bool {
	if a.Staff {
		return true
	}
	if e.Status != models.ExamPublished {
		return false
	}
	for _, g := range e.GradeList() {
		if slices.Contains(a.ChildGrades, g) {
			return true
		}
	}
	return false
}

type examRequest struct {
	Grades          []int  `json:"grades" form:"grades" validate:"required,min=1,max=9,dive,min=1,max=9"`
	Subject         string `json:"subject" form:"subject" validate:"required,max=32"`
	Kind            string `json:"kind" form:"kind" validate:"required,max=16"`
	PaperBased      *bool  `json:"paper_based" form:"paper_based"`
	Date            string `json:"date" form:"date" validate:"required,date"`
	Start           string `json:"start" form:"start" validate:"omitempty,hhmm"`
	DurationMinutes int    `json:"duration_minutes" form:"duration_minutes" validate:"min=0,max=300"`
	Organiser       string `json:"organiser" form:"organiser" validate:"omitempty,oneof=school region"`
}

func (r examRequest) input() models.ExamInput {
	paper := r.Kind != policies.ExamNonPaper
	if r.PaperBased != nil {
		paper = *r.PaperBased
	}
	return models.ExamInput{Grades: r.Grades, Subject: r.Subject, Kind: r.Kind, PaperBased: paper, Date: r.Date, Start: r.Start,
		DurationMinutes: r.DurationMinutes, Organiser: r.Organiser}
}

// violationOut is a violation as the API and the pages show it.
type violationOut struct {
	Rule     string `json:"rule"`
	Message  string `json:"message"`
	Blocking bool   `json:"blocking"`
}

func violationsOut(tr *views.Translator, vs []policies.Violation) []violationOut {
	out := make([]violationOut, 0, len(vs))
	for _, v := range vs {
		p := map[string]any{"Rule": v.Rule}
		for k, x := range v.Params {
			p[k] = x
		}
		if b, ok := p["Band"].(string); ok {
			p["Band"] = tr.T("exams.band." + b)
		}
		if k, ok := p["Kind"].(string); ok {
			p["Kind"] = tr.T("exams.kind." + k)
		}
		out = append(out, violationOut{Rule: v.Rule, Message: tr.T(v.MsgID, p), Blocking: v.Blocking})
	}
	return out
}

// localized fills a rule error's message parameters and violation list in
// the user's language.
func localized(c echo.Context, err error) error {
	e, ok := models.AsError(err)
	if !ok {
		return err
	}
	if cells, ok := e.Details["cells"].([]models.ResultCellProblem); ok {
		tr := app.Translator(c)
		for i := range cells {
			cells[i].Message = tr.T(cells[i].MsgID, cells[i].Params)
		}
	}
	if vs, ok := e.Details["violations"].([]policies.Violation); ok {
		tr := app.Translator(c)
		e.Details["violations"] = violationsOut(tr, vs)
		if b, ok := e.Params["Band"].(string); ok {
			e.Params["Band"] = tr.T("exams.band." + b)
		}
		if k, ok := e.Params["Kind"].(string); ok {
			e.Params["Kind"] = tr.T("exams.kind." + k)
		}
	}
	return e
}

func (s *handlers) apiCreateExam(c echo.Context) error {
	var req examRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	e, err := models.CreateExam(ctx, s.DB, school, req.input(), s.Today(school))
	if err != nil {
		return localized(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": e.ID, "status": e.Status})
}

func (s *handlers) apiUpdateExam(c echo.Context) error {
	var req examRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	id, _ := app.ParamID(c, "id")
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	e, err := models.UpdateExam(ctx, s.DB, school, id, req.input(), s.Today(school))
	if err != nil {
		return localized(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"id": e.ID, "status": e.Status})
}

// ExamItemOut is an exam in API lists.
type ExamItemOut struct {
	ID              int64  `json:"id"`
	Grades          []int  `json:"grades"`
	Subject         string `json:"subject"`
	Kind            string `json:"kind"`
	PaperBased      bool   `json:"paper_based"`
	Date            string `json:"date"`
	Start           string `json:"start"`
	DurationMinutes int    `json:"duration_minutes"`
	Organiser       string `json:"organiser"`
	Status          string `json:"status"`
	WithdrawReason  string `json:"withdraw_reason,omitempty"`
}

func toExamOut(e models.ExamRow) ExamItemOut {
	return ExamItemOut{ID: e.ID, Grades: e.GradeList(), Subject: e.Subject, Kind: e.Kind, PaperBased: e.PaperBased, Date: e.Date,
		Start: e.StartTime, DurationMinutes: e.DurationMinutes, Organiser: e.Organiser, Status: e.Status, WithdrawReason: e.WithdrawReason}
}

// termParam resolves ?term= (an id) or the school's current term.
func (s *handlers) termParam(c echo.Context, school *models.School) (_ *models.Term, err error) {
	defer models.Wrap(&err, "exams.termParam")
	ctx := c.Request().Context()
	if q := c.QueryParam("term"); q != "" {
		id, err := strconv.ParseInt(q, 10, 64)
		if err != nil {
			return nil, models.Invalid("error.bad_request", nil)
		}
		var t models.Term
		if err := s.DB.WithContext(ctx).Where("school_id = ?", school.ID).First(&t, id).Error; err != nil {
			return nil, models.NotFoundIf(err)
		}
		return &t, nil
	}
	return models.CurrentTerm(ctx, s.DB, school.ID, s.Today(school))
}

func (s *handlers) apiListExams(c echo.Context) error {
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	acc, err := s.examAccessFor(c, school.ID)
	if err != nil {
		return err
	}
	term, err := s.termParam(c, school)
	if err != nil {
		return err
	}
	rows, err := models.ExamsOfSchool(ctx, s.DB, school.ID, acc.filter(models.ExamFilter{TermID: term.ID}))
	if err != nil {
		return err
	}
	out := app.List[ExamItemOut]{Items: make([]ExamItemOut, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, toExamOut(r))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *handlers) apiGetExam(c echo.Context) error {
	e, _, err := s.visibleExam(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toExamOut(*e))
}

type paperItemRequest struct {
	Points         float64  `json:"points" validate:"gt=0,lte=200"`
	Difficulty     string   `json:"difficulty" validate:"omitempty,oneof=easy medium hard"`
	ExpectedP      *float64 `json:"expected_p" validate:"omitempty,gte=0,lte=1"`
	Cognitive      string   `json:"cognitive" validate:"required,oneof=recall understanding application inquiry"`
	RealLife       bool     `json:"real_life"`
	WithinStandard *bool    `json:"within_standard"`
}

type paperRequest struct {
	Items []paperItemRequest `json:"items" validate:"required,min=1,max=200,dive"`
}

// paperOut is the difficulty report as the API answers it.
type paperOut struct {
	OK             bool                 `json:"ok"`
	Violations     []violationOut       `json:"violations"`
	Bands          []policies.BandShare `json:"bands"`
	PredictedP     float64              `json:"predicted_p"`
	FullMarks      float64              `json:"full_marks"`
	RecallShare    float64              `json:"recall_share"`
	AppliedShare   float64              `json:"applied_share"`
	RealLifeShare  float64              `json:"real_life_share"`
	Blocked        bool                 `json:"blocked"`
	OutOfStandard  []int                `json:"out_of_standard"`
	Items          []models.ExamItem    `json:"items,omitempty"`
	SchoolPractice bool                 `json:"school_convention"`
}

func toPaperOut(tr *views.Translator, rep policies.PaperReport, items []models.ExamItem) paperOut {
	return paperOut{OK: rep.OK, Violations: violationsOut(tr, rep.Violations), Bands: rep.Bands, PredictedP: rep.PredictedP,
		FullMarks: rep.FullMarks, RecallShare: rep.RecallShare, AppliedShare: rep.AppliedShare, RealLifeShare: rep.RealLifeShare,
		Blocked: rep.Blocked, OutOfStandard: rep.OutOfStandard, Items: items, SchoolPractice: true}
}

func (s *handlers) apiPutPaper(c echo.Context) error {
	var req paperRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	in := make([]models.PaperItemInput, len(req.Items))
	for i, it := range req.Items {
		within := true
		if it.WithinStandard != nil {
			within = *it.WithinStandard
		}
		in[i] = models.PaperItemInput{Points: it.Points, Difficulty: it.Difficulty, ExpectedP: it.ExpectedP, Cognitive: it.Cognitive,
			RealLife: it.RealLife, WithinStandard: within}
	}
	id, _ := app.ParamID(c, "id")
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	rep, err := models.SavePaper(ctx, s.DB, school, id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPaperOut(app.Translator(c), rep, nil))
}

func (s *handlers) apiGetPaper(c echo.Context) error {
	e, acc, err := s.visibleExam(c)
	if err != nil {
		return err
	}
	if !acc.Staff {
		return models.ErrNotFound
	}
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, e.SchoolID)
	if err != nil {
		return err
	}
	items, rep, err := models.PaperOf(ctx, s.DB, school, e.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPaperOut(app.Translator(c), rep, items))
}

type transitionRequest struct {
	Reason string `json:"reason" form:"reason" validate:"max=500"`
}

func (s *handlers) apiTransition(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		e, err := s.transition(c, action)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"id": e.ID, "status": e.Status})
	}
}

type resultsRequest struct {
	Rows []struct {
		StudentNo string    `json:"student_no" validate:"required,max=32"`
		Scores    []float64 `json:"scores" validate:"required,max=200"`
	} `json:"rows" validate:"required,min=1,max=5000,dive"`
}

// resultsSheet reads results from a JSON body, an uploaded file (field
// "file") or a text/csv body (models.ParseResults says what a file may
// hold). The body is bounded by the school's upload limit (a setting): a
// larger one is a 413 naming the limit, never a file cut short.
func (s *handlers) resultsSheet(c echo.Context, school *models.School) (_ models.ResultsSheet, err error) {
	defer models.Wrap(&err, "exams.resultsSheet")
	limitMiB, err := models.ResultsUploadLimit(c.Request().Context(), s.DB, school)
	if err != nil {
		return models.ResultsSheet{}, err
	}
	limit := int64(limitMiB) << 20
	tooLarge := func(err error) bool {
		var mbe *http.MaxBytesError
		return errors.As(err, &mbe)
	}
	req := c.Request()
	ct := req.Header.Get(echo.HeaderContentType)
	switch {
	case strings.HasPrefix(ct, echo.MIMEApplicationJSON):
		req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
		var body resultsRequest
		if err := app.Bind(c, &body); err != nil {
			if tooLarge(err) || req.ContentLength > limit {
				return models.ResultsSheet{}, models.ResultsTooLarge(limitMiB)
			}
			return models.ResultsSheet{}, err
		}
		sh := models.ResultsSheet{Rows: make([]models.ResultRow, len(body.Rows))}
		for i, r := range body.Rows {
			sh.Rows[i] = models.ResultRow{StudentNo: r.StudentNo, Scores: r.Scores, Line: i + 1}
		}
		return sh, nil
	case strings.HasPrefix(ct, echo.MIMEMultipartForm):
		// The form's other fields and boundaries take a little more than the file.
		req.Body = http.MaxBytesReader(c.Response(), req.Body, limit+64<<10)
		fh, err := c.FormFile("file")
		if tooLarge(err) || err == nil && fh.Size > limit {
			return models.ResultsSheet{}, models.ResultsTooLarge(limitMiB)
		}
		if err != nil {
			return models.ResultsSheet{}, models.Invalid("exams.results_bad_file", nil)
		}
		f, err := fh.Open()
		if err != nil {
			return models.ResultsSheet{}, models.Invalid("exams.results_bad_file", nil)
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			return models.ResultsSheet{}, models.Invalid("exams.results_bad_file", nil)
		}
		return models.ParseResults(fh.Filename, data)
	default:
		data, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
		if err != nil {
			return models.ResultsSheet{}, models.Invalid("exams.results_bad_file", nil)
		}
		if int64(len(data)) > limit {
			return models.ResultsSheet{}, models.ResultsTooLarge(limitMiB)
		}
		return models.ParseResults("", data)
	}
}

// importResults reads and stores the results of the exam in path id; the
// error, if any, has its bad cells' messages in the user's language.
func (s *handlers) importResults(c echo.Context) (_ int64, _ int, err error) {
	defer models.Wrap(&err, "exams.importResults")
	id, _ := app.ParamID(c, "id")
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return id, 0, err
	}
	sh, err := s.resultsSheet(c, school)
	if err != nil {
		return id, 0, localized(c, err)
	}
	n, err := models.ImportResultsSheet(ctx, s.DB, school, id, sh)
	return id, n, localized(c, err)
}

func (s *handlers) apiImportResults(c echo.Context) error {
	_, n, err := s.importResults(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"imported": n})
}

// apiResultsTemplate downloads the import template of an exam: the header
// row with the exam's items, the student-number column as text, scores
// validated between 0 and each item's points.
func (s *handlers) apiResultsTemplate(c echo.Context) error {
	e, acc, err := s.visibleExam(c)
	if err != nil {
		return err
	}
	if !acc.Staff {
		return models.ErrNotFound
	}
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, e.SchoolID)
	if err != nil {
		return err
	}
	items, _, err := models.PaperOf(ctx, s.DB, school, e.ID)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return models.Invalid("exams.results_no_paper", nil)
	}
	tr := app.Translator(c)
	var buf bytes.Buffer
	err = models.ResultsTemplate(&buf, items, tr.T("exams.results_template_student_no"), func(it models.ExamItem) string {
		return tr.T("exams.results_template_item", "Number", it.Number, "Points", strconv.FormatFloat(it.Points, 'f', -1, 64))
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="exam-%d-results-template.xlsx"`, e.ID))
	return c.Blob(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buf.Bytes())
}

// guardianResultOut is what a guardian sees: a level, never a score or rank (EX-06).
type guardianResultOut struct {
	StudentID  int64  `json:"student_id"`
	Name       string `json:"name"`
	Level      string `json:"level"`
	LevelLabel string `json:"level_label"`
}

func (s *handlers) apiResults(c echo.Context) error {
	e, acc, err := s.visibleExam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if acc.OverseerOnly {
		return models.ErrNotFound
	}
	if !acc.Staff {
		rows, err := models.ResultsForGuardian(ctx, s.DB, e.ID, app.ViewerOf(c).User.ID)
		if err != nil {
			return err
		}
		tr := app.Translator(c)
		out := app.List[guardianResultOut]{Items: make([]guardianResultOut, 0, len(rows))}
		for _, r := range rows {
			out.Items = append(out.Items, guardianResultOut{StudentID: r.StudentID, Name: r.Name, Level: r.Level, LevelLabel: tr.T("exams.level." + r.Level)})
		}
		return c.JSON(http.StatusOK, out)
	}
	classIDs, err := s.staffClassFilter(c, acc, e.SchoolID)
	if err != nil {
		return err
	}
	rows, err := models.ResultsForStaff(ctx, s.DB, e.ID, classIDs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.List[models.StaffResult]{Items: rows})
}

func (s *handlers) apiAnalysis(c echo.Context) error {
	e, acc, err := s.visibleExam(c)
	if err != nil {
		return err
	}
	if !acc.Leader {
		return models.ErrNotFound
	}
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, e.SchoolID)
	if err != nil {
		return err
	}
	a, err := models.AnalyseExam(ctx, s.DB, school, e.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// examCalendar writes exams as an RFC 5545 calendar.
func examCalendar(tr *views.Translator, name string, rows []models.ExamRow, loc *time.Location, stamp time.Time) string {
	cal := ics.NewCalendarFor("jianfu")
	cal.SetMethod(ics.MethodPublish)
	cal.SetName(name)
	cal.SetXWRCalName(name)
	cal.SetXWRTimezone(loc.String())
	for _, e := range rows {
		ev := cal.AddEvent(fmt.Sprintf("exam-%d@jianfu", e.ID))
		ev.SetDtStampTime(stamp)
		ev.SetModifiedAt(e.UpdatedAt)
		ev.SetSummary(tr.T("exams.ics.summary", "Subject", e.Subject, "Kind", tr.T("exams.kind."+e.Kind), "Grades", gradesLabel(e.GradeList())))
		ev.SetDescription(tr.T("exams.ics.description"))
		day, err := time.ParseInLocation(models.DateLayout, e.Date, loc)
		if err != nil {
			continue
		}
		if start, err := time.ParseInLocation(models.DateLayout+" 15:04", e.Date+" "+e.StartTime, loc); err == nil {
			mins := e.DurationMinutes
			if mins <= 0 {
				mins = 90
			}
			ev.SetStartAt(start)
			ev.SetEndAt(start.Add(time.Duration(mins) * time.Minute))
		} else {
			ev.SetAllDayStartAt(day)
			ev.SetAllDayEndAt(day.AddDate(0, 0, 1))
		}
	}
	return cal.Serialize(ics.WithNewLine("\r\n"))
}

func gradesLabel(gs []int) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = strconv.Itoa(g)
	}
	return strings.Join(parts, "、")
}

func (s *handlers) apiExamsICS(c echo.Context) error {
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	acc, err := s.examAccessFor(c, school.ID)
	if err != nil {
		return err
	}
	f := acc.filter(models.ExamFilter{PublishedOnly: true})
	// ?grade= narrows the feed; it never widens a guardian's to grades
	// their children are not in (issue 11, finding 11).
	if g, err := strconv.Atoi(c.QueryParam("grade")); err == nil {
		if acc.Staff || slices.Contains(f.Grades, g) {
			f.Grades = []int{g}
		} else {
			f.Grades = []int{-1}
		}
	}
	rows, err := models.ExamsOfSchool(ctx, s.DB, school.ID, f)
	if err != nil {
		return err
	}
	body := examCalendar(app.Translator(c), school.Name, rows, school.Location(), s.Cfg.Now())
	return c.Blob(http.StatusOK, "text/calendar; charset=utf-8", []byte(body))
}

// calendarFeed serves /cal/<token>.ics: the published exams of the token
// owner's schools (guardians: their children's grades).
func (s *handlers) calendarFeed(c echo.Context) error {
	token, ok := strings.CutSuffix(c.Param("file"), ".ics")
	if !ok {
		return models.ErrNotFound
	}
	ctx := c.Request().Context()
	u, err := models.UserByCalendarToken(ctx, s.DB, token)
	if err != nil {
		return err // not found, or a 503 when the database cannot tell
	}
	grants, err := s.Authz.GrantsOf(u.ID)
	if err != nil {
		return err
	}
	// The feed has no session: act as the token's user for access checks.
	app.SetViewer(c, &app.Viewer{User: u, Grants: grants, Kind: "calendar"})
	var rows []models.ExamRow
	loc, name := time.Local, ""
	seen := map[int64]bool{}
	for _, g := range grants {
		kind, key, _ := policies.ParseDomain(g.Domain)
		id, err := strconv.ParseInt(key, 10, 64)
		if kind != "school" || err != nil || seen[id] {
			continue
		}
		seen[id] = true
		school, err := models.GetSchool(ctx, s.DB, id)
		if err != nil {
			continue
		}
		acc, err := s.examAccessFor(c, id)
		if err != nil {
			return err
		}
		r, err := models.ExamsOfSchool(ctx, s.DB, id, acc.filter(models.ExamFilter{PublishedOnly: true}))
		if err != nil {
			return err
		}
		rows = append(rows, r...)
		loc, name = school.Location(), school.Name
	}
	body := examCalendar(app.Translator(c), name, rows, loc, s.Cfg.Now())
	return c.Blob(http.StatusOK, "text/calendar; charset=utf-8", []byte(body))
}

func (s *handlers) calendarURL(c echo.Context, token string) string {
	return s.AbsoluteURL("/cal/" + token + ".ics")
}

func (s *handlers) apiCalendarToken(c echo.Context) error {
	token, err := models.IssueCalendarToken(c.Request().Context(), s.DB, app.ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"url": s.calendarURL(c, token)})
}
