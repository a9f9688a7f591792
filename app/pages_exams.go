package app

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

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
func (s *Server) examsHome(c echo.Context) error {
	for _, g := range viewerOf(c).Grants {
		if kind, key, _ := policies.ParseDomain(g.Domain); kind == "school" {
			return c.Redirect(http.StatusSeeOther, "/schools/"+key+"/exams")
		}
	}
	return models.ErrNotFound
}

func (s *Server) examsPageData(c echo.Context, form examRequestForm, refusals []violationOut) (*examsPageData, error) {
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, TargetOf(c).SchoolID)
	if err != nil {
		return nil, err
	}
	acc, err := s.examAccessFor(c, school.ID)
	if err != nil {
		return nil, err
	}
	term, err := s.termParam(c, school)
	if err != nil {
		return nil, err
	}
	today := s.schoolToday(c, school)
	month := c.QueryParam("month")
	if _, err := time.Parse("2006-01", month); err != nil {
		month = today[:7]
		if today < term.StartDate || today > term.EndDate {
			month = term.StartDate[:7]
		}
	}
	first, _ := time.Parse("2006-01", month)
	d := &examsPageData{School: *school, Term: *term, Month: month, Prev: first.AddDate(0, -1, 0).Format("2006-01"),
		Next: first.AddDate(0, 1, 0).Format("2006-01"), Grades: school.Grades(), CanWrite: acc.Academic, Kinds: policies.ExamKinds,
		Form: form, Refusals: refusals, Guardian: !acc.Staff, FeedPath: fmt.Sprintf("/api/v1/schools/%d/exams.ics", school.ID),
		Weekdays: []string{"1", "2", "3", "4", "5", "6", "7"}}
	d.Grade, _ = strconv.Atoi(c.QueryParam("grade"))
	f := acc.filter(models.ExamFilter{TermID: term.ID})
	if d.Grade > 0 {
		f.Grades = []int{d.Grade}
		if !acc.Staff && !containsInt(acc.ChildGrades, d.Grade) {
			f.Grades = []int{-1}
		}
	}
	rows, err := models.ExamsOfSchool(ctx, s.DB, school.ID, f)
	if err != nil {
		return nil, err
	}
	byDate := map[string][]examView{}
	for _, r := range rows {
		v := toExamView(r)
		d.List = append(d.List, v)
		if r.Status != models.ExamWithdrawn {
			byDate[r.Date] = append(byDate[r.Date], v)
		}
	}
	weeks, err := models.MonthGrid(month)
	if err != nil {
		return nil, err
	}
	var off []models.NoSchoolDay
	if err := s.DB.WithContext(ctx).Where("school_id = ? AND date LIKE ?", school.ID, month+"-%").Find(&off).Error; err != nil {
		return nil, err
	}
	offDay := map[string]bool{}
	for _, o := range off {
		offDay[o.Date] = true
	}
	for _, w := range weeks {
		row := make([]dayCell, 7)
		for i, date := range w {
			if date == "" {
				continue
			}
			day, _ := strconv.Atoi(date[8:])
			row[i] = dayCell{Date: date, Day: day, Off: i >= 5 || offDay[date], Exams: byDate[date]}
		}
		d.Weeks = append(d.Weeks, row)
	}
	for _, name := range []string{"语文", "数学", "英语", "道德与法治", "科学", "物理", "化学", "生物", "历史", "地理"} {
		d.Subjects = append(d.Subjects, name)
	}
	return d, nil
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (s *Server) examsPage(c echo.Context) error {
	d, err := s.examsPageData(c, examRequestForm{Kind: policies.ExamFinal, Subject: "数学", Duration: 90}, nil)
	if err != nil {
		return err
	}
	return s.renderPage(c, http.StatusOK, "exams/calendar", "exams.title", d)
}

// examsCreateForm creates an exam from the page form; a refusal re-renders
// the page with the legality answer (each violation with its rule id).
func (s *Server) examsCreateForm(c echo.Context) error {
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
		e, ok := models.AsError(err)
		if !ok {
			return err
		}
		vs, _ := e.Details["violations"].([]violationOut)
		if len(vs) == 0 {
			vs = []violationOut{{Rule: fmt.Sprint(e.Details["rule"]), Message: translator(c).T(e.MsgID, e.Params)}}
		}
		d, derr := s.examsPageData(c, echoForm, vs)
		if derr != nil {
			return derr
		}
		return s.renderPage(c, statusOf[e.Kind], "exams/calendar", "exams.title", d)
	}
	if err := c.Validate(&req); err != nil {
		return refuse(err)
	}
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	e, err := models.CreateExam(ctx, s.DB, school, req.input(), s.schoolToday(c, school))
	if err != nil {
		return refuse(localized(c, err))
	}
	return redirectWithFlash(c, fmt.Sprintf("/exams/%d", e.ID), "exams.created")
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
}

func (s *Server) examPageData(c echo.Context) (*examPageData, error) {
	e, acc, err := s.visibleExam(c)
	if err != nil {
		return nil, err
	}
	ctx := c.Request().Context()
	tr := translator(c)
	school, err := models.GetSchool(ctx, s.DB, e.SchoolID)
	if err != nil {
		return nil, err
	}
	d := &examPageData{Exam: toExamView(*e), School: *school, Staff: acc.Staff, Leader: acc.Leader, CanWrite: acc.Academic,
		CanApprove: acc.Principal, CanPublish: acc.Academic || acc.Principal, Bands: policies.Bands, Cognitive: policies.CognitiveTypes,
		Editable: acc.Academic && e.PaperBased && (e.Status == models.ExamDraft || e.Status == models.ExamSubmitted)}
	if !acc.Staff {
		rows, err := models.ResultsForGuardian(ctx, s.DB, e.ID, viewerOf(c).User.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			d.Levels = append(d.Levels, levelView{Name: r.Name, Level: r.Level})
		}
		return d, nil
	}
	items, rep, err := models.PaperOf(ctx, s.DB, school, e.ID)
	if err != nil {
		return nil, err
	}
	d.HasPaper = len(items) > 0
	d.Report = toPaperOut(tr, rep, nil)
	for _, v := range d.Report.Violations {
		if v.Blocking {
			d.Blocking = append(d.Blocking, v)
		}
	}
	if d.HasPaper {
		d.Checks = paperChecks(tr, rep)
		d.Chart = bandChart(tr, rep)
	}
	for _, it := range items {
		r := paperRowView{Number: it.Number, Points: strconv.FormatFloat(it.Points, 'f', -1, 64), Difficulty: it.Difficulty,
			Cognitive: it.Cognitive, RealLife: it.RealLife, WithinStandard: it.WithinStandard}
		if it.ExpectedP != nil {
			r.ExpectedP = strconv.FormatFloat(*it.ExpectedP, 'f', -1, 64)
		}
		d.Rows = append(d.Rows, r)
	}
	for i := 0; i < 5 && d.Editable; i++ {
		d.Rows = append(d.Rows, paperRowView{Number: len(d.Rows) + 1, Difficulty: policies.BandEasy, Cognitive: policies.CogUnderstanding, WithinStandard: true})
	}
	classIDs, err := s.staffClassFilter(c, acc, e.SchoolID)
	if err != nil {
		return nil, err
	}
	if d.Results, err = models.ResultsForStaff(ctx, s.DB, e.ID, classIDs); err != nil {
		return nil, err
	}
	classes, err := models.ClassesOfSchool(ctx, s.DB, e.SchoolID)
	if err != nil {
		return nil, err
	}
	d.ClassLabels = map[int64]string{}
	for _, cl := range classes {
		d.ClassLabels[cl.ID] = cl.Label()
	}
	if acc.Leader && len(d.Results) > 0 {
		a, err := models.AnalyseExam(ctx, s.DB, school, e.ID)
		if err != nil {
			return nil, err
		}
		d.Analysis = &a
		d.AChart = analysisChart(tr, a)
	}
	return d, nil
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

func (s *Server) examPage(c echo.Context) error {
	d, err := s.examPageData(c)
	if err != nil {
		return err
	}
	return s.renderPage(c, http.StatusOK, "exams/exam", "exams.exam_title", d)
}

// examPaperForm saves the paper from the editor rows (blank rows skipped).
func (s *Server) examPaperForm(c echo.Context) error {
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
			return models.Invalid("exams.bad_points", map[string]any{"Item": i + 1})
		}
		it := models.PaperItemInput{Points: p, Difficulty: at(diff, i), Cognitive: at(cog, i), RealLife: at(real, i) == "1", WithinStandard: at(within, i) != "0"}
		if x := strings.TrimSpace(at(ep, i)); x != "" {
			v, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return models.Invalid("exams.bad_expected_p", map[string]any{"Item": i + 1})
			}
			it.ExpectedP = &v
		}
		in = append(in, it)
	}
	id, _ := paramID(c, "id")
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	if _, err := models.SavePaper(ctx, s.DB, school, id, in); err != nil {
		return err
	}
	return redirectWithFlash(c, fmt.Sprintf("/exams/%d#paper", id), "exams.paper_saved")
}

func at(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return ""
}

func (s *Server) examTransitionForm(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		e, err := s.transition(c, action)
		if err != nil {
			return err
		}
		return redirectWithFlash(c, fmt.Sprintf("/exams/%d", e.ID), "exams.done."+action)
	}
}

func (s *Server) examResultsForm(c echo.Context) error {
	rows, err := resultRows(c)
	if err != nil {
		return err
	}
	id, _ := paramID(c, "id")
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	if _, err := models.ImportResults(ctx, s.DB, school, id, rows); err != nil {
		return err
	}
	return redirectWithFlash(c, fmt.Sprintf("/exams/%d#results", id), "exams.results_imported")
}

type tokenPageData struct{ URL string }

// calendarTokenForm issues a calendar feed URL and shows it once.
func (s *Server) calendarTokenForm(c echo.Context) error {
	token, err := models.IssueCalendarToken(c.Request().Context(), s.DB, viewerOf(c).User.ID)
	if err != nil {
		return err
	}
	return s.renderPage(c, http.StatusOK, "exams/token", "exams.subscribe", tokenPageData{URL: s.calendarURL(c, token)})
}
