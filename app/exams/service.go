package exams

// Orchestration of the exams area: operations that span several model calls,
// and the ownership checks next to the data they guard. Handlers bind, call
// one of these, and render.

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
)

func (s *handlers) examsPageData(c echo.Context, form examRequestForm, refusals []violationOut) (_ *examsPageData, err error) {
	defer models.Wrap(&err, "exams.examsPageData")
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, app.TargetOf(c).SchoolID)
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
	today := s.Today(school)
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

func (s *handlers) examPageData(c echo.Context) (_ *examPageData, err error) {
	defer models.Wrap(&err, "exams.examPageData")
	e, acc, err := s.visibleExam(c)
	if err != nil {
		return nil, err
	}
	ctx := c.Request().Context()
	tr := app.Translator(c)
	school, err := models.GetSchool(ctx, s.DB, e.SchoolID)
	if err != nil {
		return nil, err
	}
	d := &examPageData{Exam: toExamView(*e), School: *school, Staff: acc.Staff, Leader: acc.Leader, CanWrite: acc.Academic,
		CanApprove: acc.Principal, CanPublish: acc.Academic || acc.Principal, Bands: policies.Bands, Cognitive: policies.CognitiveTypes,
		Editable: acc.Academic && e.PaperBased && (e.Status == models.ExamDraft || e.Status == models.ExamSubmitted)}
	if !acc.Staff {
		rows, err := models.ResultsForGuardian(ctx, s.DB, e.ID, app.ViewerOf(c).User.ID)
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
	if !acc.OverseerOnly { // overseers see aggregates only
		if d.Results, err = models.ResultsForStaff(ctx, s.DB, e.ID, classIDs); err != nil {
			return nil, err
		}
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

func (s *handlers) examAccessFor(c echo.Context, schoolID int64) (_ examAccess, err error) {
	defer models.Wrap(&err, "exams.examAccessFor")
	v := app.ViewerOf(c)
	uid := v.User.ID
	var a examAccess
	a.Academic = s.Authz.HasRoleIn(uid, policies.RoleAcademic, schoolID)
	a.Principal = s.Authz.HasRoleIn(uid, policies.RolePrincipal, schoolID)
	overseer := v.HasRole(policies.RoleBureau) || v.HasRole(policies.RoleAdmin)
	a.Leader = a.Academic || a.Principal || overseer
	schoolStaff := a.Academic || a.Principal || s.Authz.HasRoleIn(uid, policies.RoleTeacher, schoolID) || s.Authz.HasRoleIn(uid, policies.RoleHeadTeacher, schoolID)
	a.Staff = a.Leader || schoolStaff
	a.OverseerOnly = overseer && !schoolStaff
	if s.Authz.HasRoleIn(uid, policies.RoleParent, schoolID) {
		kids, err := models.ChildrenOf(c.Request().Context(), s.DB, uid)
		if err != nil {
			return a, err
		}
		for _, k := range kids {
			if k.SchoolID != schoolID {
				continue
			}
			a.Guardian = true
			if cl, err := models.GetClass(c.Request().Context(), s.DB, k.ClassID); err == nil && !slices.Contains(a.ChildGrades, cl.Grade) {
				a.ChildGrades = append(a.ChildGrades, cl.Grade)
			}
		}
	}
	return a, nil
}

// visibleExam loads the exam of the path and checks the viewer may see it.
func (s *handlers) visibleExam(c echo.Context) (_ *models.ExamRow, _ examAccess, err error) {
	defer models.Wrap(&err, "exams.visibleExam")
	id, _ := app.ParamID(c, "id")
	e, err := models.GetExam(c.Request().Context(), s.DB, id)
	if err != nil {
		return nil, examAccess{}, err
	}
	acc, err := s.examAccessFor(c, e.SchoolID)
	if err != nil {
		return nil, acc, err
	}
	if !acc.canSee(*e) {
		return nil, acc, models.ErrNotFound
	}
	return e, acc, nil
}

func (s *handlers) transition(c echo.Context, action string) (_ *models.ExamEvent, err error) {
	defer models.Wrap(&err, "exams.transition")
	var req transitionRequest
	if c.Request().ContentLength != 0 {
		if err := app.Bind(c, &req); err != nil {
			return nil, err
		}
	}
	id, _ := app.ParamID(c, "id")
	ctx := c.Request().Context()
	school, err := models.GetSchool(ctx, s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return nil, err
	}
	e, err := models.TransitionExam(ctx, s.DB, school, id, action, req.Reason, s.Today(school))
	return e, localized(c, err)
}

// staffClassFilter limits a teacher to the classes they teach or head;
// leaders and overseers see every class (nil).
func (s *handlers) staffClassFilter(c echo.Context, acc examAccess, schoolID int64) (_ []int64, err error) {
	defer models.Wrap(&err, "exams.staffClassFilter")
	if acc.Leader {
		return nil, nil
	}
	classes, err := models.ClassesTaughtBy(c.Request().Context(), s.DB, schoolID, app.ViewerOf(c).User.ID)
	if err != nil {
		return nil, err
	}
	ids := []int64{}
	for _, cl := range classes {
		ids = append(ids, cl.ID)
	}
	return ids, nil
}
