package app

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"jianfu/models"
	"jianfu/policies"
	"jianfu/views"
)

func init() {
	addHomeLinks(
		HomeLink{Role: policies.RoleTeacher, Label: "homework.nav", Icon: "📝", URL: func(models.Grant) string { return "/homework" }},
		HomeLink{Role: policies.RoleHeadTeacher, Label: "homework.nav_head", Icon: "🗓️", URL: func(models.Grant) string { return "/homework/head" }},
		HomeLink{Role: policies.RoleParent, Label: "homework.nav_parent", Icon: "🌙", URL: func(models.Grant) string { return "/homework/parent" }},
		HomeLink{Role: policies.RolePrincipal, Label: "homework.nav_school", Icon: "📊", URL: schoolLoadsURL},
		HomeLink{Role: policies.RoleAcademic, Label: "homework.nav_school", Icon: "📊", URL: schoolLoadsURL},
	)
}

func schoolLoadsURL(g models.Grant) string {
	if kind, key, ok := policies.ParseDomain(g.Domain); ok && kind == "school" {
		return "/homework/school/" + key
	}
	return "/"
}

func (s *Server) homeworkPageRoutes() {
	g := s.E.Group("/homework")
	item := SchoolOf("id", schoolOfHomework)
	s.route(g, http.MethodGet, "", s.pageHomeworkToday, SignedIn())
	s.route(g, http.MethodPost, "/items", s.formCreateHomework, Allow("homework", "write", formClassScope("class_subject")))
	s.route(g, http.MethodPost, "/items/:id/edit", s.formEditHomework, Allow("homework", "write", item))
	s.route(g, http.MethodPost, "/items/:id/withdraw", s.formWithdrawHomework, Allow("homework", "write", item))
	s.route(g, http.MethodGet, "/head", s.pageHeadRedirect, SignedIn())
	s.route(g, http.MethodGet, "/classes/:class/week", s.pageClassWeek, Allow("homework", "read", ClassParam("class")))
	s.route(g, http.MethodPost, "/classes/:class/quotas", s.formQuotas, Allow("quota", "write", ClassParam("class")))
	s.route(g, http.MethodGet, "/classes/:class/board", s.pageBoard, Allow("homework", "read", ClassParam("class")))
	s.route(g, http.MethodGet, "/parent", s.pageParent, SignedIn())
	s.route(g, http.MethodPost, "/feedback", s.formFeedback, Allow("feedback", "write", formStudentScope("student_id")))
	s.route(g, http.MethodGet, "/school/:school", s.pageSchoolLoads, Allow("homework", "read", SchoolParam("school")))
}

// formClassScope scopes a form post to the school of the class named by
// field, whose value is "<class id>|<subject>".
func formClassScope(field string) Scope {
	return func(c echo.Context, s *Server) (models.Target, error) {
		idStr, _, _ := strings.Cut(c.FormValue(field), "|")
		id, err := strconv.ParseInt(idStr, 10, 64)
		if err != nil || id <= 0 {
			return models.Target{}, models.Invalid("homework.pick_class", nil)
		}
		cl, err := models.GetClass(c.Request().Context(), s.DB, id)
		if err != nil {
			return models.Target{}, err
		}
		c.Set(classKey, cl)
		return models.Target{SchoolID: cl.SchoolID}, nil
	}
}

// formStudentScope scopes a form post to the school of the student in field.
func formStudentScope(field string) Scope {
	return func(c echo.Context, s *Server) (models.Target, error) {
		id, err := strconv.ParseInt(c.FormValue(field), 10, 64)
		if err != nil || id <= 0 {
			return models.Target{}, models.ErrNotFound
		}
		var st models.Student
		if err := s.DB.WithContext(c.Request().Context()).Take(&st, id).Error; err != nil {
			return models.Target{}, models.NotFoundIf(err)
		}
		return models.Target{SchoolID: st.SchoolID}, nil
	}
}

// ---- teacher: today ----

type hwClassRow struct {
	ID       int64
	Label    string
	Name     string
	Total    int
	All      int
	Cap      int
	Rule     string
	Over     bool
	Head     bool
	Subjects string
}

type hwOption struct {
	Value string
	Label string
}

type hwTodayData struct {
	Date, Prev, Next string
	Classes          []hwClassRow
	Options          []hwOption
	Mine             []hwItemRow
	Kinds, Layers    []string
	Form             hwForm
}

type hwItemRow struct {
	boardItem
	Class     string
	Withdrawn bool
}

// hwForm is the add-homework form, kept after a refusal so nothing is retyped.
type hwForm struct {
	ClassSubject string
	homeworkRequest
}

// todayData builds the teacher's "today": each class they teach or head
// with its total against the cap, what they set, and the form.
func (s *Server) todayData(c echo.Context, date string, form hwForm) (*hwTodayData, error) {
	ctx := c.Request().Context()
	v := viewerOf(c)
	data := &hwTodayData{Date: date, Prev: shiftDate(date, -1), Next: shiftDate(date, 1), Kinds: policies.HomeworkKinds,
		Layers: policies.HomeworkLayers, Form: form}
	if data.Form.Date == "" {
		data.Form.Date = date
	}
	if data.Form.Kind == "" {
		data.Form.Kind, data.Form.Layer = policies.KindWritten, policies.LayerRequired
	}
	taught, err := models.SubjectsTaughtBy(ctx, s.DB, v.User.ID)
	if err != nil {
		return nil, err
	}
	subjects := map[int64][]string{}
	for _, t := range taught {
		subjects[t.ClassID] = append(subjects[t.ClassID], t.Subject)
	}
	labels := map[int64]string{}
	seen := map[int64]bool{}
	for _, g := range v.Grants {
		kind, key, _ := policies.ParseDomain(g.Domain)
		sid, _ := strconv.ParseInt(key, 10, 64)
		if kind != "school" || seen[sid] || (g.Role != policies.RoleTeacher && g.Role != policies.RoleHeadTeacher) {
			continue
		}
		seen[sid] = true
		classes, err := models.ClassesTaughtBy(ctx, s.DB, sid, v.User.ID)
		if err != nil {
			return nil, err
		}
		loads, err := s.classLoadsOn(ctx, sid, classes, date)
		if err != nil {
			return nil, err
		}
		for _, cl := range loads {
			l, capv := cl.Load, cl.Cap
			labels[cl.Class.ID] = cl.Class.Label()
			data.Classes = append(data.Classes, hwClassRow{ID: cl.Class.ID, Label: cl.Class.Label(), Name: cl.Class.Name, Total: l.TotalMinutes,
				All: l.AllMinutes, Cap: capv.Minutes, Rule: capv.Rule, Over: l.TotalMinutes > capv.Minutes,
				Head: cl.Class.HeadTeacherID != nil && *cl.Class.HeadTeacherID == v.User.ID, Subjects: strings.Join(subjects[cl.Class.ID], "、")})
			for _, subj := range subjects[cl.Class.ID] {
				data.Options = append(data.Options, hwOption{Value: fmt.Sprintf("%d|%s", cl.Class.ID, subj), Label: cl.Class.Label() + " " + subj})
			}
		}
	}
	mine, err := models.TeacherDayItems(ctx, s.DB, v.User.ID, date)
	if err != nil {
		return nil, err
	}
	for _, it := range toBoardItems(mine) {
		data.Mine = append(data.Mine, hwItemRow{boardItem: it, Class: labels[mineClass(mine, it.ID)], Withdrawn: mineStatus(mine, it.ID) == models.HomeworkWithdrawn})
	}
	return data, nil
}

func mineClass(items []models.BoardItem, id int64) int64 {
	for _, it := range items {
		if it.ID == id {
			return it.ClassID
		}
	}
	return 0
}

func mineStatus(items []models.BoardItem, id int64) string {
	for _, it := range items {
		if it.ID == id {
			return it.Status
		}
	}
	return ""
}

// viewerToday is "today" in the viewer's first school (Shanghai otherwise).
func (s *Server) viewerToday(c echo.Context) string {
	v := viewerOf(c)
	if v.User.SchoolID != nil {
		if t, err := s.schoolTodayByID(c, *v.User.SchoolID); err == nil {
			return t
		}
	}
	return models.School{}.Today(s.Cfg.Now())
}

func (s *Server) pageHomeworkToday(c echo.Context) error {
	date, err := dateParam(c, "date", s.viewerToday(c))
	if err != nil {
		return err
	}
	data, err := s.todayData(c, date, hwForm{})
	if err != nil {
		return err
	}
	return s.renderPage(c, http.StatusOK, "homework/today", "homework.today_title", data)
}

// formError re-renders a page with the error's message (naming its rule).
func (s *Server) formError(c echo.Context, err error, page, title string, data any) error {
	e, ok := models.AsError(err)
	if !ok {
		return err
	}
	p := s.page(c, title, data)
	p.Error = translator(c).T(e.MsgID, e.Params)
	return s.renderPageModel(c, statusOf[e.Kind], page, p)
}

func (s *Server) formCreateHomework(c echo.Context) error {
	var req homeworkRequest
	if err := c.Bind(&req); err != nil {
		return models.Invalid("error.bad_request", nil)
	}
	f := hwForm{ClassSubject: c.FormValue("class_subject"), homeworkRequest: req}
	_, subj, _ := strings.Cut(f.ClassSubject, "|")
	f.Subject = subj
	err := c.Validate(&f.homeworkRequest)
	if err == nil {
		_, err = s.createHomework(c, ClassOf(c), f.homeworkRequest)
	}
	if err != nil {
		data, derr := s.todayData(c, orToday(f.Date, s.viewerToday(c)), f)
		if derr != nil {
			return derr
		}
		return s.formError(c, err, "homework/today", "homework.today_title", data)
	}
	return redirectWithFlash(c, "/homework?date="+url.QueryEscape(f.Date), "homework.saved")
}

func orToday(d, today string) string {
	if _, err := time.Parse(models.DateLayout, d); err != nil {
		return today
	}
	return d
}

func (s *Server) formEditHomework(c echo.Context) error {
	var req homeworkPatchRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	res, err := s.updateHomework(c, req)
	if err != nil {
		e, ok := models.AsError(err)
		if !ok || e.Kind != models.KindRule {
			return err
		}
		data, derr := s.todayData(c, s.viewerToday(c), hwForm{})
		if derr != nil {
			return derr
		}
		return s.formError(c, err, "homework/today", "homework.today_title", data)
	}
	return redirectWithFlash(c, "/homework?date="+res.Item.Date, "homework.updated")
}

func (s *Server) formWithdrawHomework(c echo.Context) error {
	res, err := s.withdrawHomework(c)
	if err != nil {
		return err
	}
	return redirectWithFlash(c, "/homework?date="+res.Item.Date, "homework.withdrawn")
}

// ---- head teacher: the class week ----

func (s *Server) pageHeadRedirect(c echo.Context) error {
	v := viewerOf(c)
	var cls []models.Class
	if err := s.DB.WithContext(c.Request().Context()).Where("head_teacher_id = ?", v.User.ID).Order("grade, number").Find(&cls).Error; err != nil {
		return err
	}
	if len(cls) == 0 {
		return c.Redirect(http.StatusSeeOther, "/homework")
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/homework/classes/%d/week", cls[0].ID))
}

type hwWeekCell struct {
	Minutes int
	Counted int
	Items   int
}

type hwWeekRow struct {
	Subject string
	Quota   *int
	Cells   []hwWeekCell
}

type hwWeekDay struct {
	Date    string
	Weekday string // message id
	Total   int
	All     int
	Cap     int
	Over    bool
	School  bool
}

type hwQuotaField struct {
	Subject string
	Minutes string
}

type hwWeekData struct {
	Class          models.Class
	Start          string
	Prev, Next     string
	Days           []hwWeekDay
	Rows           []hwWeekRow
	Head           bool
	Cap            int
	Rule           string
	Quotas         []hwQuotaField
	QuotaSum       int
	BoardURL       string
	FeedbackRatio  string
	FeedbackCount  int
	RefusedInWeek  int
	BedtimeInWeek  int
	HasFeedbackGap bool
}

var weekdayIDs = []string{"homework.weekday.sun", "homework.weekday.mon", "homework.weekday.tue", "homework.weekday.wed", "homework.weekday.thu", "homework.weekday.fri", "homework.weekday.sat"}

// monday is the Monday of date's week.
func monday(date string) string {
	t, err := time.Parse(models.DateLayout, date)
	if err != nil {
		return date
	}
	off := (int(t.Weekday()) + 6) % 7
	return t.AddDate(0, 0, -off).Format(models.DateLayout)
}

func (s *Server) weekData(c echo.Context, cl *models.Class, start string) (*hwWeekData, error) {
	ctx := c.Request().Context()
	acc, err := s.classAccess(c, cl)
	if err != nil {
		return nil, err
	}
	if !acc.Staff() && !acc.Overseer && !s.isSchoolStaff(c, cl.SchoolID) {
		return nil, models.ErrNotFound
	}
	end := shiftDate(start, 6)
	days, err := s.loadRange(c, cl, start, end)
	if err != nil {
		return nil, err
	}
	items, err := models.ClassRangeItems(ctx, s.DB, cl.ID, start, end)
	if err != nil {
		return nil, err
	}
	quotas, err := models.ClassQuotas(ctx, s.DB, cl.ID)
	if err != nil {
		return nil, err
	}
	subjects, err := models.SubjectsOfClass(ctx, s.DB, cl.ID)
	if err != nil {
		return nil, err
	}
	rules, err := models.LoadHomeworkRules(ctx, s.DB, cl.SchoolID)
	if err != nil {
		return nil, err
	}
	capv := policies.CapFor(cl.Grade, policies.SchoolDay, rules.Limits)
	data := &hwWeekData{Class: *cl, Start: start, Prev: shiftDate(start, -7), Next: shiftDate(start, 7), Head: acc.Head,
		Cap: capv.Minutes, Rule: capv.Rule, BoardURL: fmt.Sprintf("/homework/classes/%d/board", cl.ID)}
	idx := map[string]int{}
	for i, d := range days {
		t, _ := time.Parse(models.DateLayout, d.Date)
		data.Days = append(data.Days, hwWeekDay{Date: d.Date, Weekday: weekdayIDs[t.Weekday()], Total: d.TotalMinutes, All: d.AllMinutes,
			Cap: d.CapMinutes, Over: d.OverCap, School: d.SchoolDay})
		idx[d.Date] = i
	}
	quotaOf := map[string]int{}
	for _, q := range quotas {
		quotaOf[q.Subject] = q.Minutes
		data.QuotaSum += q.Minutes
	}
	rows := map[string]*hwWeekRow{}
	var order []string
	row := func(name string) *hwWeekRow {
		if r, ok := rows[name]; ok {
			return r
		}
		r := &hwWeekRow{Subject: name, Cells: make([]hwWeekCell, len(days))}
		if m, ok := quotaOf[name]; ok {
			r.Quota = &m
		}
		rows[name] = r
		order = append(order, name)
		return r
	}
	for _, sj := range subjects {
		row(sj.Name)
		q := ""
		if m, ok := quotaOf[sj.Name]; ok {
			q = strconv.Itoa(m)
		}
		data.Quotas = append(data.Quotas, hwQuotaField{Subject: sj.Name, Minutes: q})
	}
	for _, it := range items {
		r := row(it.SubjectName)
		cell := &r.Cells[idx[it.Date]]
		cell.Minutes += it.Minutes
		cell.Items++
		if it.Counted {
			cell.Counted += it.Minutes
		}
	}
	for _, name := range order {
		data.Rows = append(data.Rows, *rows[name])
	}
	loads, err := models.ClassDayLoads(ctx, s.DB, cl.ID, start, end)
	if err != nil {
		return nil, err
	}
	var actual, est int
	for _, l := range loads {
		actual += l.FeedbackActualMinutes
		est += l.FeedbackEstimatedMinutes
		data.FeedbackCount += l.FeedbackCount
		data.RefusedInWeek += l.RefusedCount
		data.BedtimeInWeek += l.BedtimeStops
	}
	if est > 0 {
		data.HasFeedbackGap = true
		data.FeedbackRatio = fmt.Sprintf("%.2f", policies.GapRatio(actual, est))
	}
	return data, nil
}

func (s *Server) pageClassWeek(c echo.Context) error {
	cl := ClassOf(c)
	today, err := s.schoolTodayByID(c, cl.SchoolID)
	if err != nil {
		return err
	}
	start, err := dateParam(c, "start", today)
	if err != nil {
		return err
	}
	data, err := s.weekData(c, cl, monday(start))
	if err != nil {
		return err
	}
	return s.renderPage(c, http.StatusOK, "homework/week", "homework.week_title", data)
}

func (s *Server) formQuotas(c echo.Context) error {
	cl := ClassOf(c)
	params, err := c.FormParams()
	if err != nil {
		return models.Invalid("error.bad_request", nil)
	}
	quotas := map[string]int{}
	for k, vs := range params {
		name, ok := strings.CutPrefix(k, "q:")
		if !ok || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		m, err := strconv.Atoi(strings.TrimSpace(vs[0]))
		if err != nil {
			return models.Invalid("homework.bad_quota", map[string]any{"Subject": name})
		}
		quotas[name] = m
	}
	start := monday(c.FormValue("start"))
	if _, err := s.setQuotas(c, cl, quotas); err != nil {
		e, ok := models.AsError(err)
		if !ok || (e.Kind != models.KindRule && e.Kind != models.KindInvalid) {
			return err
		}
		if _, perr := time.Parse(models.DateLayout, start); perr != nil {
			start = monday(s.viewerToday(c))
		}
		data, derr := s.weekData(c, cl, start)
		if derr != nil {
			return derr
		}
		return s.formError(c, err, "homework/week", "homework.week_title", data)
	}
	return redirectWithFlash(c, fmt.Sprintf("/homework/classes/%d/week?start=%s", cl.ID, url.QueryEscape(start)), "homework.quotas_saved")
}

// ---- publicity board ----

type hwBoardData struct {
	Class     models.Class
	Day       *classDay
	Prev      string
	Next      string
	ChartJSON template.JS
	WeekURL   string
	Staff     bool
	Bedtime   string
}

// weekChart is the ECharts option of a week: bars of counted minutes and a
// line for the cap.
func weekChart(tr *views.Translator, days []loadDay) template.JS {
	var labels []string
	var totals, caps []int
	for _, d := range days {
		labels = append(labels, d.Date[5:])
		totals = append(totals, d.TotalMinutes)
		caps = append(caps, d.CapMinutes)
	}
	opt := map[string]any{
		"tooltip": map[string]any{"trigger": "axis"},
		"legend":  map[string]any{"data": []string{tr.T("homework.chart_total"), tr.T("homework.chart_cap")}},
		"xAxis":   map[string]any{"type": "category", "data": labels},
		"yAxis":   map[string]any{"type": "value", "name": tr.T("homework.minutes")},
		"series": []map[string]any{
			{"name": tr.T("homework.chart_total"), "type": "bar", "data": totals, "itemStyle": map[string]any{"color": "#1b7f3b"}},
			{"name": tr.T("homework.chart_cap"), "type": "line", "step": "middle", "data": caps, "itemStyle": map[string]any{"color": "#c8102e"}},
		},
	}
	b, _ := json.Marshal(opt) // json.Marshal escapes <, > and &: safe inside <script>
	return template.JS(b)
}

func (s *Server) pageBoard(c echo.Context) error {
	cl := ClassOf(c)
	acc, err := s.classViewer(c, cl)
	if err != nil {
		return err
	}
	today, err := s.schoolTodayByID(c, cl.SchoolID)
	if err != nil {
		return err
	}
	date, err := dateParam(c, "date", today)
	if err != nil {
		return err
	}
	day, err := s.boardOf(c, cl, date)
	if err != nil {
		return err
	}
	start := monday(date)
	week, err := s.loadRange(c, cl, start, shiftDate(start, 6))
	if err != nil {
		return err
	}
	data := hwBoardData{Class: *cl, Day: day, Prev: shiftDate(date, -1), Next: shiftDate(date, 1),
		ChartJSON: weekChart(translator(c), week), WeekURL: fmt.Sprintf("/homework/classes/%d/week?start=%s", cl.ID, start),
		Staff: acc.Staff() || s.isSchoolStaff(c, cl.SchoolID), Bedtime: policies.Bedtime(cl.Grade)}
	return s.renderPage(c, http.StatusOK, "homework/board", "homework.board_title", data)
}

// ---- parent ----

type hwChild struct {
	Student  models.Student
	Class    models.Class
	Day      *classDay
	Feedback map[int64]models.HomeworkFeedback // item id (0: the day) → report
	DayFb    *models.HomeworkFeedback
	Bedtime  string
	BoardURL string
}

type hwParentData struct {
	Date     string
	Prev     string
	Next     string
	Today    string
	Children []hwChild
}

func (s *Server) pageParent(c echo.Context) error {
	ctx := c.Request().Context()
	kids, err := models.ChildrenOf(ctx, s.DB, viewerOf(c).User.ID)
	if err != nil {
		return err
	}
	today := s.viewerToday(c)
	date, err := dateParam(c, "date", today)
	if err != nil {
		return err
	}
	data := hwParentData{Date: date, Prev: shiftDate(date, -1), Next: shiftDate(date, 1), Today: today}
	for _, k := range kids {
		cl, err := models.GetClass(ctx, s.DB, k.ClassID)
		if err != nil {
			return err
		}
		day, err := s.boardOf(c, cl, date)
		if err != nil {
			return err
		}
		fbs, err := models.StudentFeedback(ctx, s.DB, k.ID, date)
		if err != nil {
			return err
		}
		ch := hwChild{Student: k, Class: *cl, Day: day, Feedback: map[int64]models.HomeworkFeedback{}, Bedtime: policies.Bedtime(cl.Grade),
			BoardURL: fmt.Sprintf("/homework/classes/%d/board?date=%s", cl.ID, date)}
		for i, f := range fbs {
			if f.ItemID == nil {
				ch.DayFb = &fbs[i]
			} else {
				ch.Feedback[*f.ItemID] = f
			}
		}
		data.Children = append(data.Children, ch)
	}
	sort.SliceStable(data.Children, func(i, j int) bool { return data.Children[i].Student.ID < data.Children[j].Student.ID })
	return s.renderPage(c, http.StatusOK, "homework/parent", "homework.parent_title", data)
}

func (s *Server) formFeedback(c echo.Context) error {
	var req feedbackRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	itemID, _ := strconv.ParseInt(c.FormValue("item_id"), 10, 64)
	var st models.Student
	if err := s.DB.WithContext(ctx).Take(&st, req.StudentID).Error; err != nil {
		return models.NotFoundIf(err)
	}
	cl, err := models.GetClass(ctx, s.DB, st.ClassID)
	if err != nil {
		return err
	}
	if _, err := s.saveFeedback(c, cl, itemID, req); err != nil {
		return err
	}
	date := req.Date
	if date == "" {
		date = s.viewerToday(c)
	}
	return redirectWithFlash(c, "/homework/parent?date="+url.QueryEscape(date), "homework.feedback_saved")
}

// ---- principal / academic: the school today ----

type hwSchoolData struct {
	School     models.School
	Date       string
	Prev, Next string
	Classes    []classLoadItem
	Over       int
	WithItems  int
}

func (s *Server) pageSchoolLoads(c echo.Context) error {
	sid := TargetOf(c).SchoolID
	if !s.isSchoolStaff(c, sid) && !viewerOf(c).HasRole(policies.RoleBureau) && !viewerOf(c).HasRole(policies.RoleAdmin) {
		return models.ErrNotFound
	}
	sc, err := models.GetSchool(c.Request().Context(), s.DB, sid)
	if err != nil {
		return err
	}
	date, err := dateParam(c, "date", sc.Today(s.Cfg.Now()))
	if err != nil {
		return err
	}
	rows, err := s.schoolLoads(c, sid, date)
	if err != nil {
		return err
	}
	data := hwSchoolData{School: *sc, Date: date, Prev: shiftDate(date, -1), Next: shiftDate(date, 1), Classes: rows}
	for _, r := range rows {
		if r.OverCap {
			data.Over++
		}
		if r.ItemCount > 0 {
			data.WithItems++
		}
	}
	return s.renderPage(c, http.StatusOK, "homework/school", "homework.school_title", data)
}
