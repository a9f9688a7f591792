package afterschool

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/scheduler"
	"jianfu/views"
)

// homeLinks adds the area's home tiles.
func homeLinks(r app.Router) {
	school := func(g models.Grant) string {
		if kind, key, ok := policies.ParseDomain(g.Domain); ok && kind == "school" {
			return "/schools/" + key + "/afterschool"
		}
		return "/afterschool/mine"
	}
	region := func(g models.Grant) string {
		if kind, key, ok := policies.ParseDomain(g.Domain); ok && kind == "region" {
			return "/regions/" + key + "/afterschool"
		}
		return "/"
	}
	r.AddHomeLinks(
		app.HomeLink{Role: policies.RolePrincipal, Label: "as.nav.plan", Icon: "🏫", URL: school},
		app.HomeLink{Role: policies.RoleAcademic, Label: "as.nav.plan", Icon: "🏫", URL: school},
		app.HomeLink{Role: policies.RoleAcademic, Label: "as.nav.timetable", Icon: "🗓", URL: func(g models.Grant) string { return school(g) + "/timetable" }},
		app.HomeLink{Role: policies.RolePrincipal, Label: "as.nav.hours", Icon: "⏱", URL: func(g models.Grant) string { return school(g) + "/hours" }},
		app.HomeLink{Role: policies.RoleAcademic, Label: "as.nav.hours", Icon: "⏱", URL: func(g models.Grant) string { return school(g) + "/hours" }},
		app.HomeLink{Role: policies.RoleTeacher, Label: "as.nav.mine", Icon: "✅", URL: func(models.Grant) string { return "/afterschool/mine" }},
		app.HomeLink{Role: policies.RoleParent, Label: "as.nav.choose", Icon: "🎨", URL: func(models.Grant) string { return "/afterschool/choose" }},
		app.HomeLink{Role: policies.RoleBureau, Label: "as.nav.coverage", Icon: "📊", URL: region},
	)
	r.AddHomeLinks(manageHomeLinks()...)
}

func (s *handlers) afterschoolPages() {
	g := s.r.Group("")
	school := app.SchoolParam("school")
	program := app.SchoolOf("id", schoolOfRow[models.Program])
	session := app.SchoolOf("id", schoolOfRow[models.ProgramSession])
	s.r.Route(g, http.MethodGet, "/schools/:school/afterschool", s.pagePlan, app.Allow("service", "read", school))
	s.r.Route(g, http.MethodPost, "/schools/:school/afterschool/plan", s.postPlan, app.Allow("service", "write", school))
	s.r.Route(g, http.MethodGet, "/schools/:school/afterschool/timetable", s.pageTimetable, app.Allow("program", "read", school))
	s.r.Route(g, http.MethodPost, "/schools/:school/afterschool/timetable/fet", s.timetableFETForm, app.Allow("program", "write", school))
	s.r.Route(g, http.MethodGet, "/schools/:school/afterschool/hours", s.pageHours, app.Allow("program", "write", school))
	s.r.Route(g, http.MethodGet, "/schools/:school/afterschool/hours.csv", s.hoursCSV, app.Allow("program", "write", school))
	s.r.Route(g, http.MethodGet, "/afterschool/programs/:id", s.pageProgram, app.Allow("program", "read", program))
	s.r.Route(g, http.MethodPost, "/afterschool/programs/:id/confirm", s.postConfirmProgram, app.Allow("service", "write", program))
	s.r.Route(g, http.MethodPost, "/afterschool/programs/:id/enroll", s.postStaffEnroll, app.Allow("enrollment", "write", program))
	s.r.Route(g, http.MethodGet, "/afterschool/sessions/:id", s.pageSession, app.Allow("attendance", "write", session))
	s.r.Route(g, http.MethodPost, "/afterschool/sessions/:id", s.postSession, app.Allow("attendance", "write", session))
	s.r.Route(g, http.MethodPost, "/afterschool/sessions/:id/cancel", s.postCancelSession, app.Allow("attendance", "write", session))
	s.r.Route(g, http.MethodGet, "/afterschool/mine", s.pageMine, app.Allow("attendance", "write", nil))
	s.r.Route(g, http.MethodGet, "/afterschool/choose", s.pageChoose, app.Allow("enrollment", "write", nil))
	s.r.Route(g, http.MethodPost, "/afterschool/choose/enroll", s.postChooseEnroll, app.Allow("enrollment", "write", nil))
	s.r.Route(g, http.MethodPost, "/afterschool/choose/withdraw", s.postChooseWithdraw, app.Allow("enrollment", "write", nil))
	s.r.Route(g, http.MethodGet, "/regions/:code/afterschool", s.pageCoverage, app.Allow("service", "read", app.RegionParam("code")))
	s.managePages()
}

// ---- plan page ----

type planDayRow struct {
	Weekday    int
	On         bool
	Start, End string
	Minutes    int
}

type programRow struct {
	models.ProgramView
	SlotText string
	Grades   string
}

type planPage struct {
	School       models.School
	Term         models.Term
	HasPlan      bool
	Days         []planDayRow
	HWStart      string
	HWEnd        string
	ActStart     string
	ActEnd       string
	OffWork      string
	OffWorkFrom  string
	TypedOffWork string // a refused form's off-work time, as typed
	Report       PlanReport
	CanEdit      bool
	CanManage    bool
	Programs     []programRow
	Flagged      int
}

func (s *handlers) SchoolTerm(c echo.Context, schoolID int64) (_ *models.School, _ *models.Term, _ string, err error) {
	defer models.Wrap(&err, "afterschool.SchoolTerm")
	today, sc, err := s.TodayAt(c, schoolID)
	if err != nil {
		return nil, nil, "", err
	}
	term, err := models.CurrentTerm(c.Request().Context(), s.DB, schoolID, today)
	if err != nil {
		return nil, nil, "", err
	}
	return sc, term, today, nil
}

func slotText(tr interface{ T(string, ...any) string }, slots []models.ProgramSlot) string {
	parts := make([]string, len(slots))
	for i, sl := range slots {
		parts[i] = tr.T("as.weekday."+strconv.Itoa(sl.Weekday)) + " " + sl.StartTime + "–" + sl.EndTime
	}
	return strings.Join(parts, "，")
}

func (s *handlers) programRows(c echo.Context, ps []models.ProgramView) ([]programRow, int) {
	tr := app.Translator(c)
	out := make([]programRow, len(ps))
	flagged := 0
	for i, p := range ps {
		gs := make([]string, 0)
		for _, g := range p.GradeList() {
			gs = append(gs, strconv.Itoa(g))
		}
		out[i] = programRow{ProgramView: p, SlotText: slotText(tr, p.Slots), Grades: strings.Join(gs, "、")}
		if p.DrillFlag != "" {
			flagged++
		}
	}
	return out, flagged
}

func (s *handlers) pagePlan(c echo.Context) error { return s.renderPlan(c, http.StatusOK, nil, "") }

// renderPlan draws the plan page; typed, when a refused form comes back,
// replaces the stored plan's days, times and off-work time with what was typed.
func (s *handlers) renderPlan(c echo.Context, status int, typed *models.PlanInput, msg string) error {
	ctx := c.Request().Context()
	sc, term, _, err := s.SchoolTerm(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	plan, err := models.GetServicePlan(ctx, s.DB, sc.ID, term.ID)
	if err != nil {
		return err
	}
	off, scope, err := models.OffWorkTime(ctx, s.DB, sc)
	if err != nil {
		return err
	}
	uid := app.ViewerOf(c).User.ID
	if scope != "" {
		scope = s.ScopeName(c, app.Translator(c), scope)
	}
	data := planPage{School: *sc, Term: *term, OffWork: off, OffWorkFrom: scope, HWStart: "15:30", HWEnd: "16:30", ActStart: "16:30", ActEnd: "17:30",
		CanEdit: s.Authz.HasRoleIn(uid, policies.RolePrincipal, sc.ID), CanManage: s.isLeader(c, sc.ID)}
	byDay := map[int]policies.ServiceDay{}
	if plan != nil {
		data.HasPlan = true
		spec := plan.Spec()
		for _, d := range spec.Days {
			byDay[d.Weekday] = d
		}
		for _, sg := range spec.Segments {
			switch sg.Kind {
			case policies.SegHomeworkGuidance:
				data.HWStart, data.HWEnd = sg.Start, sg.End
			case policies.SegActivities:
				data.ActStart, data.ActEnd = sg.Start, sg.End
			}
		}
		data.Report = s.planReport(c, plan, plan.PlanViolations())
		for wd := 1; wd <= 5; wd++ {
			row := planDayRow{Weekday: wd, Start: "15:30", End: "17:30"}
			if d, ok := byDay[wd]; ok {
				row.On, row.Start, row.End = true, d.Start, d.End
				row.Minutes, _ = policies.CountedMinutes(d, spec.Segments)
			}
			data.Days = append(data.Days, row)
		}
	} else {
		for wd := 1; wd <= 5; wd++ {
			data.Days = append(data.Days, planDayRow{Weekday: wd, On: true, Start: "15:30", End: "17:30"})
		}
	}
	ps, err := models.ProgramsOfTerm(ctx, s.DB, sc.ID, term.ID)
	if err != nil {
		return err
	}
	data.Programs, data.Flagged = s.programRows(c, ps)
	if typed != nil {
		data.TypedOffWork = typed.OffWorkTime
		on := map[int]policies.ServiceDay{}
		for _, d := range typed.Days {
			on[d.Weekday] = d
		}
		for i := range data.Days {
			d, ok := on[data.Days[i].Weekday]
			data.Days[i].On = ok
			if ok {
				data.Days[i].Start, data.Days[i].End = d.Start, d.End
			}
		}
		for _, sg := range typed.Segments {
			switch sg.Kind {
			case policies.SegHomeworkGuidance:
				data.HWStart, data.HWEnd = sg.Start, sg.End
			case policies.SegActivities:
				data.ActStart, data.ActEnd = sg.Start, sg.End
			}
		}
	}
	return s.RenderWithError(c, status, "afterschool/plan", "as.plan.title", msg, data)
}

func (s *handlers) postPlan(c echo.Context) error {
	schoolID := app.TargetOf(c).SchoolID
	_, term, today, err := s.SchoolTerm(c, schoolID)
	if err != nil {
		return err
	}
	in := models.PlanInput{SchoolID: schoolID, TermID: term.ID, Today: today, OffWorkTime: strings.TrimSpace(c.FormValue("off_work_time"))}
	for wd := 1; wd <= 5; wd++ {
		n := strconv.Itoa(wd)
		if c.FormValue("day"+n) == "" {
			continue
		}
		in.Days = append(in.Days, policies.ServiceDay{Weekday: wd, Start: c.FormValue("start" + n), End: c.FormValue("end" + n)})
	}
	in.Segments = []policies.ServiceSegment{}
	if st, en := c.FormValue("hw_start"), c.FormValue("hw_end"); st != "" && en != "" {
		in.Segments = append(in.Segments, policies.ServiceSegment{Kind: policies.SegHomeworkGuidance, Start: st, End: en})
	}
	if st, en := c.FormValue("act_start"), c.FormValue("act_end"); st != "" && en != "" {
		in.Segments = append(in.Segments, policies.ServiceSegment{Kind: policies.SegActivities, Start: st, End: en})
	}
	if _, _, err := models.SaveServicePlan(c.Request().Context(), s.DB, in); err != nil {
		// The same page, with what was typed and the reason (the rule id, if one).
		return s.FormFailure(c, err, func(fe app.FormError) error { return s.renderPlan(c, fe.Status, &in, fe.Message) })
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/schools/%d/afterschool", schoolID), "as.plan.saved")
}

// ---- timetable grid ----

type gridCell struct {
	ID    int64
	Name  string
	Room  string
	Grade string
}

type gridRow struct {
	Time  string
	Cells [5][]gridCell
}

type timetablePage struct {
	School     models.School
	Term       models.Term
	Rows       []gridRow
	Weekdays   []int
	Solve      *solveView
	Leader     bool
	Categories []string
	FET        *scheduler.FETImportReport // after a FET import
}

type solveView struct {
	Placed   int
	Unplaced []solveMiss
	Errors   []string
}

type solveMiss struct {
	Name   string
	Reason string
}

func (s *handlers) pageTimetable(c echo.Context) error {
	data, err := s.timetableData(c)
	if err != nil {
		return err
	}
	return s.RenderPage(c, http.StatusOK, "afterschool/timetable", "as.timetable.title", data)
}

// timetableFETForm imports a school's FET file from the timetable page and
// shows the page with what was imported and what the file holds that we
// do not honour (by constraint name and count).
func (s *handlers) timetableFETForm(c echo.Context) error {
	rep, err := s.importFET(c)
	if err != nil {
		return s.FormFailure(c, err, func(f app.FormError) error {
			data, derr := s.timetableData(c)
			if derr != nil {
				return derr
			}
			return s.RenderWithError(c, f.Status, "afterschool/timetable", "as.timetable.title", f.Message, data)
		})
	}
	data, err := s.timetableData(c)
	if err != nil {
		return err
	}
	data.FET = &rep
	return s.RenderPage(c, http.StatusOK, "afterschool/timetable", "as.timetable.title", data)
}

func (s *handlers) timetableData(c echo.Context) (_ *timetablePage, err error) {
	defer models.Wrap(&err, "afterschool.timetableData")
	ctx := c.Request().Context()
	sc, term, _, err := s.SchoolTerm(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return nil, err
	}
	ps, err := models.ProgramsOfTerm(ctx, s.DB, sc.ID, term.ID)
	if err != nil {
		return nil, err
	}
	rows := map[string]*gridRow{}
	for _, p := range ps {
		for _, sl := range p.Slots {
			if sl.Weekday < 1 || sl.Weekday > 5 {
				continue
			}
			key := sl.StartTime + "–" + sl.EndTime
			r, ok := rows[key]
			if !ok {
				r = &gridRow{Time: key}
				rows[key] = r
			}
			gs := make([]string, 0)
			for _, g := range p.GradeList() {
				gs = append(gs, strconv.Itoa(g))
			}
			r.Cells[sl.Weekday-1] = append(r.Cells[sl.Weekday-1], gridCell{ID: p.ID, Name: p.Name, Room: p.Room, Grade: strings.Join(gs, ",")})
		}
	}
	data := timetablePage{School: *sc, Term: *term, Weekdays: []int{1, 2, 3, 4, 5}}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		data.Rows = append(data.Rows, *rows[k])
	}
	data.Leader = s.isLeader(c, sc.ID)
	data.Categories = policies.ProgramCategories
	if c.QueryParam("solve") == "1" && data.Leader {
		prob, names, err := s.schoolProblem(c, sc, term)
		if err != nil {
			return nil, err
		}
		sol := scheduler.Solve(prob)
		sv := &solveView{Placed: len(sol.Placements), Errors: scheduler.Check(prob, sol)}
		tr := app.Translator(c)
		for _, u := range sol.Unplaced {
			sv.Unplaced = append(sv.Unplaced, solveMiss{Name: names[u.ProgramID], Reason: tr.T("as.solver." + u.Reason)})
		}
		data.Solve = sv
	}
	return &data, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (s *handlers) apiSolveTimetable(c echo.Context) error {
	sc, term, _, err := s.SchoolTerm(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	prob, _, err := s.schoolProblem(c, sc, term)
	if err != nil {
		return err
	}
	sol := scheduler.Solve(prob)
	return c.JSON(http.StatusOK, map[string]any{"placements": nonNil(sol.Placements), "unplaced": nonNil(sol.Unplaced), "violations": nonNil(scheduler.Check(prob, sol))})
}

func nonNil[T any](x []T) []T {
	if x == nil {
		return []T{}
	}
	return x
}

// ---- program page: roster, sessions, attendance ----

type programPage struct {
	Program    programRow
	Raw        models.Program // the stored program, for the edit form
	CanEdit    bool           // the academic director or principal: edit, window, waivers
	Grades     []int
	Form       *views.Form
	CanConfirm bool // the principal, while the program waits for confirmation (AS-06)
	// Staff entry on a guardian's request (AS-04): the students the viewer
	// may enroll, and the channels a request comes through.
	StaffStudents []staffEnrollOption
	Channels      []string
	CanRoster     bool
	CanMark       bool
	Roster        []models.RosterEntry
	Sessions      []models.ProgramSession
	Today         string
	FeeText       string
	Attendance    string
}

func (s *handlers) pageProgram(c echo.Context) error {
	return s.renderProgram(c, http.StatusOK, nil, "")
}

func (s *handlers) renderProgram(c echo.Context, status int, form *views.Form, msg string) error {
	ctx := c.Request().Context()
	p, err := s.programView(c)
	if err != nil {
		return err
	}
	rows, _ := s.programRows(c, []models.ProgramView{*p})
	today, _, err := s.TodayAt(c, p.SchoolID)
	if err != nil {
		return err
	}
	data := programPage{Program: rows[0], Today: today, Raw: p.Program, Form: form}
	if data.CanEdit, _, err = s.Authz.Allowed(ctx, app.ViewerOf(c).User.ID, models.Target{SchoolID: p.SchoolID}, "program", "write"); err != nil {
		return err
	}
	if sc, err := models.GetSchool(ctx, s.DB, p.SchoolID); err == nil {
		data.Grades = sc.Grades()
	}
	data.CanConfirm = p.Confirmation == models.ConfirmationPending && s.Authz.HasRoleIn(app.ViewerOf(c).User.ID, policies.RolePrincipal, p.SchoolID)
	if p.Confirmation != models.ConfirmationPending {
		if data.StaffStudents, err = s.staffEnrollStudents(c, &p.Program); err != nil {
			return err
		}
		data.Channels = policies.RequestChannels
	}
	if data.CanRoster, err = s.canSeeRoster(c, &p.Program); err != nil {
		return err
	}
	ins, err := models.IsInstructor(ctx, s.DB, p.ID, app.ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	data.CanMark = ins || s.isLeader(c, p.SchoolID)
	if data.CanRoster {
		if data.Roster, err = s.rosterOf(c, &p.Program); err != nil {
			return err
		}
		from := app.ShiftDate(today, -14)
		if data.Sessions, err = models.SessionsOfProgram(ctx, s.DB, p.ID, from, app.ShiftDate(today, 7)); err != nil {
			return err
		}
		present, marked := 0, 0
		all, err := models.SessionsOfProgram(ctx, s.DB, p.ID, "0000-01-01", today)
		if err != nil {
			return err
		}
		for _, ss := range all {
			present += ss.PresentCount
			marked += ss.PresentCount + ss.AbsentCount + ss.ExcusedCount
		}
		if marked > 0 {
			data.Attendance = fmt.Sprintf("%.1f%%", float64(present)*100/float64(marked))
		}
	}
	tr := app.Translator(c)
	if p.FeeFen > 0 {
		data.FeeText = tr.T("as.fee."+p.FeeUnit, "Yuan", fmt.Sprintf("%.2f", float64(p.FeeFen)/100))
	} else {
		data.FeeText = tr.T("as.fee.free")
	}
	return s.RenderWithError(c, status, "afterschool/program", "as.program.title", msg, data)
}

type sessionStudent struct {
	ID     int64
	Name   string
	Class  string
	Status string
}

type sessionPage struct {
	Session  models.ProgramSession
	Program  models.Program
	Students []sessionStudent
	CanMark  bool
	Options  []string
}

func (s *handlers) pageSession(c echo.Context) error {
	ctx := c.Request().Context()
	ss, err := s.sessionFor(c)
	if err != nil {
		return err
	}
	p, err := models.GetProgram(ctx, s.DB, ss.ProgramID)
	if err != nil {
		return err
	}
	roster, err := models.Roster(ctx, s.DB, p.ID)
	if err != nil {
		return err
	}
	marks, err := models.AttendanceOf(ctx, s.DB, ss.ID)
	if err != nil {
		return err
	}
	today, _, err := s.TodayAt(c, p.SchoolID)
	if err != nil {
		return err
	}
	data := sessionPage{Session: *ss, Program: *p, CanMark: ss.Status == models.SessionScheduled && ss.Date <= today,
		Options: []string{models.AttPresent, models.AttAbsent, models.AttExcused}}
	for _, r := range roster {
		if r.Status != models.EnrollEnrolled {
			continue
		}
		st := marks[r.StudentID]
		if st == "" {
			st = models.AttPresent
		}
		data.Students = append(data.Students, sessionStudent{ID: r.StudentID, Name: r.StudentName, Class: r.ClassName, Status: st})
	}
	return s.RenderPage(c, http.StatusOK, "afterschool/session", "as.session.title", data)
}

func (s *handlers) postSession(c echo.Context) error {
	ss, err := s.sessionFor(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return models.Invalid("error.bad_request", nil)
	}
	var marks []models.Mark
	for k, v := range form {
		if id, ok := strings.CutPrefix(k, "s"); ok && len(v) > 0 {
			sid, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				continue
			}
			marks = append(marks, models.Mark{StudentID: sid, Status: v[0]})
		}
	}
	sort.Slice(marks, func(i, j int) bool { return marks[i].StudentID < marks[j].StudentID })
	today, _, err := s.TodayAt(c, ss.SchoolID)
	if err != nil {
		return err
	}
	if _, err := models.MarkAttendance(c.Request().Context(), s.DB, ss.ID, marks, app.ViewerOf(c).User.ID, today); err != nil {
		return err
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/afterschool/sessions/%d", ss.ID), "as.session.saved")
}

// postStaffEnroll is the staff entry form: a student enrolled on the
// guardian's request, with the request in a sentence and its channel (AS-04).
func (s *handlers) postStaffEnroll(c echo.Context) error {
	id, err := app.ParamID(c, "id")
	if err != nil {
		return err
	}
	var req enrollRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	if _, err := s.enroll(c, id, req); err != nil {
		return err
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/afterschool/programs/%d", id), "as.enroll.staff_saved")
}

// postConfirmProgram is the principal's confirmation form (AS-06).
func (s *handlers) postConfirmProgram(c echo.Context) error {
	p, err := s.confirmProgram(c)
	if err != nil {
		return err
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/afterschool/programs/%d", p.ID), "as.program.confirmed_flash")
}

func (s *handlers) postCancelSession(c echo.Context) error {
	ss, err := s.sessionFor(c)
	if err != nil {
		return err
	}
	if _, err := models.CancelSession(c.Request().Context(), s.DB, ss.ID, c.FormValue("reason")); err != nil {
		return err
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/afterschool/programs/%d", ss.ProgramID), "as.session.cancelled")
}

// ---- teacher: my programs ----

type minePage struct {
	Programs []programRow
	Sessions []mineSession
	Today    string
}

type mineSession struct {
	models.ProgramSession
	ProgramName string
}

func (s *handlers) pageMine(c echo.Context) error {
	ctx := c.Request().Context()
	uid := app.ViewerOf(c).User.ID
	var ids []int64
	if err := s.DB.WithContext(ctx).Model(&models.ProgramInstructor{}).Where("teacher_id = ?", uid).Pluck("program_id", &ids).Error; err != nil {
		return err
	}
	var ps []models.Program
	if err := s.DB.WithContext(ctx).Where("id IN ?", append(ids, 0)).Order("name").Find(&ps).Error; err != nil {
		return err
	}
	data := minePage{Today: s.Cfg.Now().In(models.School{}.Location()).Format(models.DateLayout)}
	for _, p := range ps {
		views, err := models.ProgramsOfTerm(ctx, s.DB, p.SchoolID, p.TermID)
		if err != nil {
			return err
		}
		for _, v := range views {
			if v.ID == p.ID {
				rows, _ := s.programRows(c, []models.ProgramView{v})
				data.Programs = append(data.Programs, rows[0])
			}
		}
		ss, err := models.SessionsOfProgram(ctx, s.DB, p.ID, app.ShiftDate(data.Today, -7), data.Today)
		if err != nil {
			return err
		}
		for _, x := range ss {
			data.Sessions = append(data.Sessions, mineSession{ProgramSession: x, ProgramName: p.Name})
		}
	}
	sort.SliceStable(data.Sessions, func(i, j int) bool { return data.Sessions[i].Date > data.Sessions[j].Date })
	return s.RenderPage(c, http.StatusOK, "afterschool/mine", "as.mine.title", data)
}

// ---- guardian: choose programs ----

type chooseProgram struct {
	programRow
	EnrollmentID int64
	Status       string
	Position     int
	Full         bool
	Open         bool
}

type chooseChild struct {
	Student  models.Student
	Class    models.Class
	Programs []chooseProgram
}

type choosePage struct {
	Children []chooseChild
}

func (s *handlers) pageChoose(c echo.Context) error { return s.renderChoose(c, http.StatusOK, "") }

func (s *handlers) renderChoose(c echo.Context, status int, msg string) error {
	ctx := c.Request().Context()
	kids, err := models.ChildrenOf(ctx, s.DB, app.ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	var data choosePage
	for _, k := range kids {
		cl, err := models.GetClass(ctx, s.DB, k.ClassID)
		if err != nil {
			return err
		}
		_, term, today, err := s.SchoolTerm(c, k.SchoolID)
		if err != nil {
			return err
		}
		ps, err := models.ProgramsOfTerm(ctx, s.DB, k.SchoolID, term.ID)
		if err != nil {
			return err
		}
		mine, err := models.StudentEnrollments(ctx, s.DB, k.ID, term.ID)
		if err != nil {
			return err
		}
		child := chooseChild{Student: k, Class: *cl}
		rows, _ := s.programRows(c, ps)
		for _, r := range rows {
			if !r.Eligible(cl.Grade) {
				continue
			}
			cp := chooseProgram{programRow: r, Full: r.EnrolledCount >= r.Capacity,
				Open: r.Mode != models.ModeLottery || r.LotterySeed != "" || today <= r.ApplyUntil}
			for _, e := range mine {
				if e.ProgramID == r.ID {
					cp.EnrollmentID, cp.Status = e.ID, e.Status
					if cp.Position, err = models.WaitlistPosition(ctx, s.DB, &e); err != nil {
						return err
					}
				}
			}
			child.Programs = append(child.Programs, cp)
		}
		data.Children = append(data.Children, child)
	}
	return s.RenderWithError(c, status, "afterschool/choose", "as.choose.title", msg, data)
}

func (s *handlers) postChooseEnroll(c echo.Context) error {
	pid, err := strconv.ParseInt(c.FormValue("program_id"), 10, 64)
	if err != nil {
		return models.ErrNotFound
	}
	sid, err := strconv.ParseInt(c.FormValue("student_id"), 10, 64)
	if err != nil {
		return models.ErrNotFound
	}
	guards, err := models.GuardsStudent(c.Request().Context(), s.DB, app.ViewerOf(c).User.ID, sid)
	if err != nil {
		return err
	}
	if !guards {
		return models.ErrNotFound
	}
	e, err := s.enroll(c, pid, enrollRequest{StudentID: sid})
	if err != nil {
		// A refusal (a 4th program, a clash, the grade): the choices again with why.
		return s.FormFailure(c, err, func(fe app.FormError) error { return s.renderChoose(c, fe.Status, fe.Message) })
	}
	return app.RedirectWithFlash(c, "/afterschool/choose", "as.choose.done_"+e.Status)
}

func (s *handlers) postChooseWithdraw(c echo.Context) error {
	id, err := strconv.ParseInt(c.FormValue("enrollment_id"), 10, 64)
	if err != nil {
		return models.ErrNotFound
	}
	e, err := models.GetEnrollment(c.Request().Context(), s.DB, id)
	if err != nil {
		return err
	}
	guards, err := models.GuardsStudent(c.Request().Context(), s.DB, app.ViewerOf(c).User.ID, e.StudentID)
	if err != nil {
		return err
	}
	if !guards {
		return models.ErrNotFound
	}
	if _, _, err := models.Withdraw(c.Request().Context(), s.DB, id); err != nil {
		return err
	}
	return app.RedirectWithFlash(c, "/afterschool/choose", "as.choose.withdrawn")
}

// ---- staff hours ----

type hoursPage struct {
	School     models.School
	Month      string
	Prev, Next string
	Rows       []models.StaffHoursRow
	Total      float64
	MaxWeekly  int
}

func (s *handlers) pageHours(c echo.Context) error {
	ctx := c.Request().Context()
	schoolID := app.TargetOf(c).SchoolID
	month, today, err := s.monthParam(c, schoolID)
	if err != nil {
		return err
	}
	rows, err := models.StaffHours(ctx, s.DB, schoolID, month, today)
	if err != nil {
		return err
	}
	sc, err := models.GetSchool(ctx, s.DB, schoolID)
	if err != nil {
		return err
	}
	maxH, err := models.SchoolIntSetting(ctx, s.DB, sc, policies.SettingTeacherMaxWeeklyHours, policies.DefaultTeacherMaxWeeklyHours)
	if err != nil {
		return err
	}
	m, _ := time.Parse("2006-01", month)
	data := hoursPage{School: *sc, Month: month, Rows: rows, MaxWeekly: maxH, Prev: m.AddDate(0, -1, 0).Format("2006-01"), Next: m.AddDate(0, 1, 0).Format("2006-01")}
	for _, r := range rows {
		data.Total += r.Hours
	}
	return s.RenderPage(c, http.StatusOK, "afterschool/hours", "as.hours.title", data)
}

func (s *handlers) hoursCSV(c echo.Context) error {
	schoolID := app.TargetOf(c).SchoolID
	month, today, err := s.monthParam(c, schoolID)
	if err != nil {
		return err
	}
	rows, err := models.StaffHours(c.Request().Context(), s.DB, schoolID, month, today)
	if err != nil {
		return err
	}
	return s.staffHoursCSV(c, month, rows)
}

// staffHoursCSV writes the month's staff hours as CSV (UTF-8 with a BOM so
// spreadsheet programs read the Chinese names).
func (s *handlers) staffHoursCSV(c echo.Context, month string, rows []models.StaffHoursRow) (err error) {
	defer models.Wrap(&err, "afterschool.staffHoursCSV")
	tr := app.Translator(c)
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{tr.T("as.hours.teacher"), tr.T("as.hours.month"), tr.T("as.hours.sessions"), tr.T("as.hours.minutes"), tr.T("as.hours.hours")})
	for _, r := range rows {
		_ = w.Write([]string{app.CSVText(r.Name), month, strconv.Itoa(r.Sessions), strconv.Itoa(r.Minutes), strconv.FormatFloat(r.Hours, 'f', 2, 64)})
	}
	w.Flush()
	name := "staff-hours-" + month + ".csv"
	c.Response().Header().Set(echo.HeaderContentDisposition, "attachment; filename*=UTF-8''"+url.PathEscape(name))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// ---- bureau: coverage ----

type coverageRow struct {
	School models.School
	Values map[string]float64
	Cells  []coverageCell
}

// coverageCell is one value; Has is false for a school without it (no
// applications, no school days), shown as "–", never as a zero.
type coverageCell struct {
	Has   bool
	Value float64
	Unit  string
}

type coveragePage struct {
	Region models.Region
	Rows   []coverageRow
	Keys   []models.IndicatorDef
	From   string
	To     string
	// Programs the principal confirmed (or still must confirm) although
	// they look like new lessons, with the written reasons (AS-06).
	Confirmed []confirmedProgram
}

type confirmedProgram struct {
	School  string
	Program models.Program
}

func (s *handlers) pageCoverage(c echo.Context) error {
	ctx := c.Request().Context()
	code := c.Param("code")
	reg, err := models.GetRegion(ctx, s.DB, code)
	if err != nil {
		return err
	}
	codes, err := models.SubRegionCodes(ctx, s.DB, code)
	if err != nil {
		return err
	}
	schools, err := models.SchoolsInRegions(ctx, s.DB, codes)
	if err != nil {
		return err
	}
	to := s.Cfg.Now().In(models.School{}.Location()).Format(models.DateLayout)
	data := coveragePage{Region: *reg, From: app.ShiftDate(to, -27), To: to}
	ids := make([]int64, len(schools))
	for i, sc := range schools {
		ids[i] = sc.ID
	}
	for _, src := range models.IndicatorSources() {
		if src.Group != "afterschool" {
			continue
		}
		data.Keys = src.Defs
		vals, err := src.Compute(ctx, s.DB, ids, data.From, data.To)
		if err != nil {
			return err
		}
		for _, sc := range schools {
			row := coverageRow{School: sc, Values: vals[sc.ID]}
			for _, d := range src.Defs {
				x, ok := vals[sc.ID][d.Key]
				row.Cells = append(row.Cells, coverageCell{Has: ok, Value: x, Unit: d.Unit})
			}
			data.Rows = append(data.Rows, row)
		}
	}
	progs, err := models.ConfirmedPrograms(ctx, s.DB, ids)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, sc := range schools {
		names[sc.ID] = sc.Name
	}
	for _, p := range progs {
		data.Confirmed = append(data.Confirmed, confirmedProgram{School: names[p.SchoolID], Program: p})
	}
	return s.RenderPage(c, http.StatusOK, "afterschool/coverage", "as.coverage.title", data)
}
