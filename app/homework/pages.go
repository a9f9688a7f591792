package homework

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

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/views"
)

// homeLinks adds the area's home tiles.
func homeLinks(r app.Router) {
	r.AddHomeLinks(
		app.HomeLink{Role: policies.RoleTeacher, Label: "homework.nav", Icon: "📝", URL: func(models.Grant) string { return "/homework" }},
		app.HomeLink{Role: policies.RoleHeadTeacher, Label: "homework.nav_head", Icon: "🗓️", URL: func(models.Grant) string { return "/homework/head" }},
		app.HomeLink{Role: policies.RoleParent, Label: "homework.nav_parent", Icon: "🌙", URL: func(models.Grant) string { return "/homework/parent" }},
		app.HomeLink{Role: policies.RolePrincipal, Label: "homework.nav_school", Icon: "📊", URL: schoolLoadsURL},
		app.HomeLink{Role: policies.RoleAcademic, Label: "homework.nav_school", Icon: "📊", URL: schoolLoadsURL},
	)
}

func schoolLoadsURL(g models.Grant) string {
	if kind, key, ok := policies.ParseDomain(g.Domain); ok && kind == "school" {
		return "/homework/school/" + key
	}
	return "/"
}

func (s *handlers) homeworkPageRoutes() {
	g := s.r.Group("/homework")
	item := app.SchoolOf("id", schoolOfHomework)
	s.r.Route(g, http.MethodGet, "", s.pageHomeworkToday, app.SignedIn())
	s.r.Route(g, http.MethodPost, "/items", s.formCreateHomework, app.Allow("homework", "write", formClassScope("class_subject")))
	s.r.Route(g, http.MethodPost, "/items/:id/edit", s.formEditHomework, app.Allow("homework", "write", item))
	s.r.Route(g, http.MethodPost, "/items/:id/withdraw", s.formWithdrawHomework, app.Allow("homework", "write", item))
	s.r.Route(g, http.MethodGet, "/head", s.pageHeadRedirect, app.SignedIn())
	s.r.Route(g, http.MethodGet, "/classes/:class/week", s.pageClassWeek, app.Allow("homework", "read", app.ClassParam("class")))
	s.r.Route(g, http.MethodPost, "/classes/:class/quotas", s.formQuotas, app.Allow("quota", "write", app.ClassParam("class")))
	s.r.Route(g, http.MethodGet, "/classes/:class/board", s.pageBoard, app.Allow("homework", "read", app.ClassParam("class")))
	s.r.Route(g, http.MethodGet, "/parent", s.pageParent, app.SignedIn())
	s.r.Route(g, http.MethodGet, "/parent/week", s.pageParentWeek, app.SignedIn())
	s.r.Route(g, http.MethodPost, "/feedback", s.formFeedback, app.Allow("feedback", "write", formStudentScope("student_id")))
	s.r.Route(g, http.MethodGet, "/school/:school", s.pageSchoolLoads, app.Allow("homework", "read", app.SchoolParam("school")))
}

// formClassScope scopes a form post to the school of the class named by
// field, whose value is "<class id>|<subject>".
func formClassScope(field string) app.Scope {
	return func(c echo.Context, s *app.Server) (models.Target, error) {
		idStr, _, _ := strings.Cut(c.FormValue(field), "|")
		id, err := strconv.ParseInt(idStr, 10, 64)
		if err != nil || id <= 0 {
			return models.Target{}, models.Invalid("homework.pick_class", nil)
		}
		cl, err := models.GetClass(c.Request().Context(), s.DB, id)
		if err != nil {
			return models.Target{}, err
		}
		app.SetClass(c, cl)
		return models.Target{SchoolID: cl.SchoolID}, nil
	}
}

// formStudentScope scopes a form post to the school of the student in field.
func formStudentScope(field string) app.Scope {
	return func(c echo.Context, s *app.Server) (models.Target, error) {
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
	TakeHome int  // HW-15: every kind taken home
	Budget   *int // the all-kinds budget, nil: none
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
func (s *handlers) pageHomeworkToday(c echo.Context) error {
	date, err := dateParam(c, "date", s.ViewerToday(c))
	if err != nil {
		return err
	}
	// After a save the class picker stays on the class just used (it reset
	// to the first class after every save).
	data, err := s.todayData(c, date, hwForm{ClassSubject: c.QueryParam("class_subject")})
	if err != nil {
		return err
	}
	return s.RenderPage(c, http.StatusOK, "homework/today", "homework.today_title", data)
}

func (s *handlers) formCreateHomework(c echo.Context) error {
	var req homeworkRequest
	if err := c.Bind(&req); err != nil {
		return models.Invalid("error.bad_request", nil)
	}
	f := hwForm{ClassSubject: c.FormValue("class_subject"), homeworkRequest: req}
	_, subj, _ := strings.Cut(f.ClassSubject, "|")
	f.Subject = subj
	err := c.Validate(&f.homeworkRequest)
	if err == nil {
		_, err = s.createHomework(c, app.ClassOf(c), f.homeworkRequest)
	}
	if err != nil {
		data, derr := s.todayData(c, orToday(f.Date, s.ViewerToday(c)), f)
		if derr != nil {
			return derr
		}
		return s.RefusePage(c, err, "homework/today", "homework.today_title", data)
	}
	return app.RedirectWithFlash(c, "/homework?date="+url.QueryEscape(f.Date)+"&class_subject="+url.QueryEscape(f.ClassSubject), "homework.saved")
}

func orToday(d, today string) string {
	if _, err := time.Parse(models.DateLayout, d); err != nil {
		return today
	}
	return d
}

func (s *handlers) formEditHomework(c echo.Context) error {
	var req homeworkPatchRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	res, err := s.updateHomework(c, req)
	if err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			data, derr := s.todayData(c, s.ViewerToday(c), hwForm{})
			if derr != nil {
				return derr
			}
			return s.RenderWithError(c, fe.Status, "homework/today", "homework.today_title", fe.Message, data)
		})
	}
	return app.RedirectWithFlash(c, "/homework?date="+res.Item.Date, "homework.updated")
}

func (s *handlers) formWithdrawHomework(c echo.Context) error {
	res, err := s.withdrawHomework(c)
	if err != nil {
		return err
	}
	return app.RedirectWithFlash(c, "/homework?date="+res.Item.Date, "homework.withdrawn")
}

// ---- head teacher: the class week ----

func (s *handlers) pageHeadRedirect(c echo.Context) error {
	v := app.ViewerOf(c)
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
	Date         string
	Weekday      string // message id
	Total        int
	All          int
	Cap          int
	Over         bool
	School       bool
	TakeHome     int  // HW-15: every kind taken home
	Budget       *int // the all-kinds budget, nil: none
	Reported     *int // guardians' reported evening, nil: no reports
	ReportedOver bool
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
	Estimates      []models.EstimateRow
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

func (s *handlers) pageClassWeek(c echo.Context) error {
	cl := app.ClassOf(c)
	today, _, err := s.TodayAt(c, cl.SchoolID)
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
	return s.RenderPage(c, http.StatusOK, "homework/week", "homework.week_title", data)
}

func (s *handlers) formQuotas(c echo.Context) error {
	cl := app.ClassOf(c)
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
		return s.FormFailure(c, err, func(fe app.FormError) error {
			if _, perr := time.Parse(models.DateLayout, start); perr != nil {
				start = monday(s.ViewerToday(c))
			}
			data, derr := s.weekData(c, cl, start)
			if derr != nil {
				return derr
			}
			return s.RenderWithError(c, fe.Status, "homework/week", "homework.week_title", fe.Message, data)
		})
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/homework/classes/%d/week?start=%s", cl.ID, url.QueryEscape(start)), "homework.quotas_saved")
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

func (s *handlers) pageBoard(c echo.Context) error {
	cl := app.ClassOf(c)
	acc, err := s.classViewer(c, cl)
	if err != nil {
		return err
	}
	today, _, err := s.TodayAt(c, cl.SchoolID)
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
	week, err := s.loadRange(c, cl, start, app.ShiftDate(start, 6))
	if err != nil {
		return err
	}
	data := hwBoardData{Class: *cl, Day: day, Prev: app.ShiftDate(date, -1), Next: app.ShiftDate(date, 1),
		ChartJSON: weekChart(app.Translator(c), week), WeekURL: fmt.Sprintf("/homework/classes/%d/week?start=%s", cl.ID, start),
		Staff: acc.Staff() || s.isSchoolStaff(c, cl.SchoolID), Bedtime: policies.Bedtime(cl.Grade)}
	return s.RenderPage(c, http.StatusOK, "homework/board", "homework.board_title", data)
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

func (s *handlers) pageParent(c echo.Context) error {
	ctx := c.Request().Context()
	kids, err := models.ChildrenOf(ctx, s.DB, app.ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	today := s.ViewerToday(c)
	date, err := dateParam(c, "date", today)
	if err != nil {
		return err
	}
	data := hwParentData{Date: date, Prev: app.ShiftDate(date, -1), Next: app.ShiftDate(date, 1), Today: today}
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
	return s.RenderPage(c, http.StatusOK, "homework/parent", "homework.parent_title", data)
}

func (s *handlers) formFeedback(c echo.Context) error {
	var req feedbackRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	// No item_id is the whole evening's report; a malformed one is refused,
	// not saved as a whole-evening report.
	var itemID int64
	if raw := c.FormValue("item_id"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			return models.Invalid("error.bad_id", map[string]any{"Value": raw})
		}
		itemID = n
	}
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
		date = s.ViewerToday(c)
	}
	return app.RedirectWithFlash(c, "/homework/parent?date="+url.QueryEscape(date), "homework.feedback_saved")
}

// ---- principal / academic: the school today ----

type hwSchoolData struct {
	School     models.School
	Date       string
	Prev, Next string
	Classes    []classLoadItem
	Over       int
	WithItems  int
	// Estimates per teacher and subject over four weeks: principal and
	// academic director only (HW-15).
	Leader    bool
	Estimates []models.EstimateRow
}

func (s *handlers) pageSchoolLoads(c echo.Context) error {
	sid := app.TargetOf(c).SchoolID
	if !s.isSchoolStaff(c, sid) && !app.ViewerOf(c).HasRole(policies.RoleBureau) && !app.ViewerOf(c).HasRole(policies.RoleAdmin) {
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
	data := hwSchoolData{School: *sc, Date: date, Prev: app.ShiftDate(date, -1), Next: app.ShiftDate(date, 1), Classes: rows}
	uid := app.ViewerOf(c).User.ID
	if s.Authz.HasRoleIn(uid, policies.RolePrincipal, sid) || s.Authz.HasRoleIn(uid, policies.RoleAcademic, sid) {
		data.Leader = true
		if data.Estimates, err = models.EstimateReality(c.Request().Context(), s.DB, sid, 0, app.ShiftDate(date, -27), date); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if r.OverCap {
			data.Over++
		}
		if r.ItemCount > 0 {
			data.WithItems++
		}
	}
	return s.RenderPage(c, http.StatusOK, "homework/school", "homework.school_title", data)
}

// --- parent week calendar ---------------------------------------------------

type hwWeekItem struct {
	models.BoardItem
	DueOther bool // due on another day than it was set
}

type hwParentDay struct {
	Date    string
	Weekday string // message id
	Today   bool
	Items   []hwWeekItem
	Minutes int
	Due     []hwWeekItem // set earlier, due this day
}

type hwParentWeekChild struct {
	Student models.Student
	Class   models.Class
	Days    []hwParentDay
}

type hwParentWeek struct {
	Start, Prev, Next, Today string
	Children                 []hwParentWeekChild
}

// pageParentWeek is a parent's week per child: each day's homework with its
// details and due date, and what falls due that day.
func (s *handlers) pageParentWeek(c echo.Context) error {
	ctx := c.Request().Context()
	kids, err := models.ChildrenOf(ctx, s.DB, app.ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	today := s.ViewerToday(c)
	date, err := dateParam(c, "start", today)
	if err != nil {
		return err
	}
	start := monday(date)
	end := app.ShiftDate(start, 6)
	data := hwParentWeek{Start: start, Prev: app.ShiftDate(start, -7), Next: app.ShiftDate(start, 7), Today: today}
	for _, k := range kids {
		cl, err := models.GetClass(ctx, s.DB, k.ClassID)
		if err != nil {
			return err
		}
		// Items set up to two weeks before may fall due this week.
		items, err := models.ClassRangeItems(ctx, s.DB, cl.ID, app.ShiftDate(start, -14), end)
		if err != nil {
			return err
		}
		ch := hwParentWeekChild{Student: k, Class: *cl}
		for i := 0; i < 7; i++ {
			d := app.ShiftDate(start, i)
			day := hwParentDay{Date: d, Weekday: weekdayIDs[(i+1)%7], Today: d == today}
			for _, it := range items {
				w := hwWeekItem{BoardItem: it, DueOther: it.DueDate != "" && it.DueDate != it.Date}
				if it.Date == d {
					day.Items = append(day.Items, w)
					if it.Counted {
						day.Minutes += it.Minutes
					}
				} else if w.DueOther && it.DueDate == d {
					day.Due = append(day.Due, w)
				}
			}
			ch.Days = append(ch.Days, day)
		}
		data.Children = append(data.Children, ch)
	}
	sort.SliceStable(data.Children, func(i, j int) bool { return data.Children[i].Student.ID < data.Children[j].Student.ID })
	return s.RenderPage(c, http.StatusOK, "homework/parent_week", "homework.parent_week_title", data)
}
