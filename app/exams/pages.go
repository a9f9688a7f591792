package exams

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/views"
)

// examView is an exam as the pages show it.
type examView struct {
	ID         int64
	Subject    string
	Kind       string
	Grades     string
	Date       string
	Start      string
	Duration   int
	Status     string
	PaperBased bool
	Organiser  string
	Reason     string
}

func toExamView(e models.ExamRow) examView {
	return examView{ID: e.ID, Subject: e.Subject, Kind: e.Kind, Grades: gradesLabel(e.GradeList()), Date: e.Date, Start: e.StartTime,
		Duration: e.DurationMinutes, Status: e.Status, PaperBased: e.PaperBased, Organiser: e.Organiser, Reason: e.WithdrawReason}
}

type dayCell struct {
	Date  string
	Day   int
	Off   bool
	Exams []examView
}

type examsPageData struct {
	School    models.School
	Term      models.Term
	Month     string
	Prev      string
	Next      string
	Grade     int
	Grades    []int
	Weeks     [][]dayCell
	List      []examView
	CanWrite  bool
	Kinds     []string
	Subjects  []string
	Form      examRequestForm
	Refusals  []violationOut
	FeedPath  string
	Guardian  bool
	TokenURL  string
	Weekdays  []string
	WithTerms bool
}

// examRequestForm echoes the create form after a refusal.
type examRequestForm struct {
	Grade     string
	Subject   string
	Kind      string
	Date      string
	Start     string
	Duration  int
	Organiser string
	NonPaper  bool
}

// examsHome sends a user to the exam calendar of their (first) school.
func (s *handlers) examsHome(c echo.Context) error {
	for _, g := range app.ViewerOf(c).Grants {
		if kind, key, _ := policies.ParseDomain(g.Domain); kind == "school" {
			return c.Redirect(http.StatusSeeOther, "/schools/"+key+"/exams")
		}
	}
	return models.ErrNotFound
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (s *handlers) examsPage(c echo.Context) error {
	d, err := s.examsPageData(c, examRequestForm{Kind: policies.ExamFinal, Subject: "数学", Duration: 90}, nil)
	if err != nil {
		return err
	}
	return s.RenderPage(c, http.StatusOK, "exams/calendar", "exams.title", d)
}

// examsCreateForm creates an exam from the page form; a refusal re-renders
// the page with the legality answer (each violation with its rule id).
func (s *handlers) examsCreateForm(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return models.Invalid("error.bad_request", nil)
	}
	dur, _ := strconv.Atoi(form.Get("duration_minutes"))
	echoForm := examRequestForm{Grade: form.Get("grades"), Subject: form.Get("subject"), Kind: form.Get("kind"), Date: form.Get("date"),
		Start: form.Get("start"), Duration: dur, Organiser: form.Get("organiser"), NonPaper: form.Get("paper_based") == "false"}
	var grades []int
	for _, g := range strings.FieldsFunc(form.Get("grades"), func(r rune) bool { return r == ',' || r == ' ' || r == '，' || r == '、' }) {
		if n, err := strconv.Atoi(g); err == nil {
			grades = append(grades, n)
		}
	}
	req := examRequest{Grades: grades, Subject: echoForm.Subject, Kind: echoForm.Kind, Date: echoForm.Date, Start: echoForm.Start,
		DurationMinutes: dur, Organiser: echoForm.Organiser}
	if echoForm.NonPaper {
		f := false
		req.PaperBased = &f
	}
	refuse := func(err error) error {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			vs, _ := fe.Details["violations"].([]violationOut)
			if len(vs) == 0 {
				vs = []violationOut{{Rule: fe.Rule, Message: fe.Message}}
			}
			d, derr := s.examsPageData(c, echoForm, vs)
			if derr != nil {
				return derr
			}
			return s.RenderPage(c, fe.Status, "exams/calendar", "exams.title", d)
		})
	}
	if err := c.Validate(&req); err != nil {
		return refuse(err)
	}
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	e, err := models.CreateExam(ctx, s.DB, school, req.input(), s.Today(school))
	if err != nil {
		return refuse(localized(c, err))
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/exams/%d", e.ID), "exams.created")
}

type checkView struct {
	Rule    string
	Label   string
	OK      bool
	Details []string
}

type paperRowView struct {
	Number         int
	Points         string
	Difficulty     string
	ExpectedP      string
	Cognitive      string
	RealLife       bool
	WithinStandard bool
}

type levelView struct {
	Name  string
	Level string
}

type examPageData struct {
	Exam        examView
	School      models.School
	Staff       bool
	Leader      bool
	CanWrite    bool
	CanApprove  bool
	CanPublish  bool
	Editable    bool
	HasPaper    bool
	Report      paperOut
	Checks      []checkView
	Chart       map[string]any
	Rows        []paperRowView
	Bands       []string
	Cognitive   []string
	Results     []models.StaffResult
	ClassLabels map[int64]string
	Levels      []levelView
	Analysis    *policies.ItemAnalysis
	AChart      map[string]any
	Blocking    []violationOut
	// ImportProblems lists the bad cells of a refused results file.
	ImportProblems []string
}

// paperChecks is the checklist of the paper report, one line per rule check.
func paperChecks(tr *views.Translator, rep policies.PaperReport) []checkView {
	byMsg := map[string][]policies.Violation{}
	for _, v := range rep.Violations {
		byMsg[v.MsgID] = append(byMsg[v.MsgID], v)
	}
	line := func(rule, label string, msgs ...string) checkView {
		cv := checkView{Rule: rule, Label: tr.T(label), OK: true}
		for _, m := range msgs {
			for _, v := range violationsOut(tr, byMsg[m]) {
				cv.OK = false
				cv.Details = append(cv.Details, v.Message)
			}
		}
		return cv
	}
	return []checkView{
		line(policies.RuleEX09, "exams.check.ex09", "exams.paper.ex09"),
		line(policies.RuleEX12, "exams.check.ratio", "exams.paper.ratio", "exams.paper.empty"),
		line(policies.RuleEX12, "exams.check.p", "exams.paper.p"),
		line(policies.RuleEX10, "exams.check.recall", "exams.paper.recall"),
		line(policies.RuleEX10, "exams.check.applied", "exams.paper.applied"),
	}
}

// bandChart is the ECharts option of points share per band against the target.
func bandChart(tr *views.Translator, rep policies.PaperReport) map[string]any {
	var names []string
	var share, target []float64
	for _, b := range rep.Bands {
		names = append(names, tr.T("exams.band."+b.Band))
		share = append(share, round1(b.Share*100))
		target = append(target, round1(b.Target*100))
	}
	return map[string]any{
		"tooltip": map[string]any{},
		"legend":  map[string]any{"data": []string{tr.T("exams.chart.share"), tr.T("exams.chart.target")}},
		"xAxis":   map[string]any{"type": "category", "data": names},
		"yAxis":   map[string]any{"type": "value", "max": 100, "name": "%"},
		"series": []map[string]any{
			{"name": tr.T("exams.chart.share"), "type": "bar", "data": share},
			{"name": tr.T("exams.chart.target"), "type": "bar", "data": target},
		},
	}
}

// analysisChart compares predicted and actual P per item.
func analysisChart(tr *views.Translator, a policies.ItemAnalysis) map[string]any {
	var names []string
	var pred, act []float64
	for _, it := range a.Items {
		names = append(names, strconv.Itoa(it.Number))
		pred = append(pred, round2(it.PredictedP))
		act = append(act, round2(it.P))
	}
	return map[string]any{
		"tooltip": map[string]any{},
		"legend":  map[string]any{"data": []string{tr.T("exams.chart.predicted"), tr.T("exams.chart.actual")}},
		"xAxis":   map[string]any{"type": "category", "data": names},
		"yAxis":   map[string]any{"type": "value", "min": 0, "max": 1},
		"series": []map[string]any{
			{"name": tr.T("exams.chart.predicted"), "type": "line", "data": pred},
			{"name": tr.T("exams.chart.actual"), "type": "bar", "data": act},
		},
	}
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }
func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// refuseExam draws the exam page again with a refusal at the top (422);
// rows, when given, are the paper rows as typed.
func (s *handlers) refuseExam(c echo.Context, err error, rows []paperRowView) error {
	return s.FormFailure(c, localized(c, err), func(fe app.FormError) error {
		d, derr := s.examPageData(c)
		if derr != nil {
			return derr
		}
		if rows != nil {
			d.Rows = rows
		}
		return s.RenderWithError(c, fe.Status, "exams/exam", "exams.exam_title", fe.Message, d)
	})
}

// typedPaperRows are the paper rows as the form sent them.
func typedPaperRows(form map[string][]string) []paperRowView {
	var out []paperRowView
	for i := range form["points"] {
		out = append(out, paperRowView{Number: i + 1, Points: form["points"][i], Difficulty: at(form["difficulty"], i), ExpectedP: at(form["expected_p"], i),
			Cognitive: at(form["cognitive"], i), RealLife: at(form["real_life"], i) == "1", WithinStandard: at(form["within_standard"], i) != "0"})
	}
	return out
}

func (s *handlers) examPage(c echo.Context) error {
	d, err := s.examPageData(c)
	if err != nil {
		return err
	}
	return s.RenderPage(c, http.StatusOK, "exams/exam", "exams.exam_title", d)
}

// examPaperForm saves the paper from the editor rows (blank rows skipped).
func (s *handlers) examPaperForm(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return models.Invalid("error.bad_request", nil)
	}
	points, diff, ep, cog := form["points"], form["difficulty"], form["expected_p"], form["cognitive"]
	real, within := form["real_life"], form["within_standard"]
	var in []models.PaperItemInput
	for i := range points {
		p, err := strconv.ParseFloat(strings.TrimSpace(points[i]), 64)
		if strings.TrimSpace(points[i]) == "" {
			continue
		}
		if err != nil {
			return s.refuseExam(c, models.Invalid("exams.bad_points", map[string]any{"Item": i + 1}), typedPaperRows(form))
		}
		it := models.PaperItemInput{Points: p, Difficulty: at(diff, i), Cognitive: at(cog, i), RealLife: at(real, i) == "1", WithinStandard: at(within, i) != "0"}
		if x := strings.TrimSpace(at(ep, i)); x != "" {
			v, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return s.refuseExam(c, models.Invalid("exams.bad_expected_p", map[string]any{"Item": i + 1}), typedPaperRows(form))
			}
			it.ExpectedP = &v
		}
		in = append(in, it)
	}
	id, _ := app.ParamID(c, "id")
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	if _, err := models.SavePaper(ctx, s.DB, school, id, in); err != nil {
		return s.refuseExam(c, err, typedPaperRows(form))
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/exams/%d#paper", id), "exams.paper_saved")
}

func at(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return ""
}

func (s *handlers) examTransitionForm(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		e, err := s.transition(c, action)
		if err != nil {
			return s.refuseExam(c, err, nil)
		}
		return app.RedirectWithFlash(c, fmt.Sprintf("/exams/%d", e.ID), "exams.done."+action)
	}
}

// examResultsForm imports a results file; a refusal draws the exam page
// again with the message and every bad cell listed.
func (s *handlers) examResultsForm(c echo.Context) error {
	id, _, err := s.importResults(c)
	if err != nil {
		return s.FormFailure(c, err, func(f app.FormError) error {
			d, derr := s.examPageData(c)
			if derr != nil {
				return derr
			}
			if e, ok := models.AsError(err); ok {
				cells, _ := e.Details["cells"].([]models.ResultCellProblem)
				for _, p := range cells {
					d.ImportProblems = append(d.ImportProblems, p.Message)
				}
			}
			return s.RenderWithError(c, f.Status, "exams/exam", "exams.exam_title", f.Message, d)
		})
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/exams/%d#results", id), "exams.results_imported")
}

type tokenPageData struct{ URL string }

// calendarTokenForm issues a calendar feed URL and shows it once.
func (s *handlers) calendarTokenForm(c echo.Context) error {
	token, err := models.IssueCalendarToken(c.Request().Context(), s.DB, app.ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	return s.RenderPage(c, http.StatusOK, "exams/token", "exams.subscribe", tokenPageData{URL: s.calendarURL(c, token)})
}
