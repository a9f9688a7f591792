package homework

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
)

// Routes registers the homework area with the server: its routes, each with
// its declared permission, and its home tiles.
func Routes(r app.Router, d app.Deps) {
	s := &handlers{Deps: d, r: r}
	homeLinks(r)
	s.homeworkRoutes()
}

func (s *handlers) homeworkRoutes() {
	api := s.r.Group("/api/v1")
	item := app.SchoolOf("id", schoolOfHomework)
	s.r.Route(api, http.MethodPost, "/classes/:class/homework", s.apiCreateHomework, app.Allow("homework", "write", app.ClassParam("class")))
	s.r.Route(api, http.MethodGet, "/classes/:class/homework", s.apiClassHomework, app.Allow("homework", "read", app.ClassParam("class")))
	s.r.Route(api, http.MethodGet, "/classes/:class/load", s.apiClassLoad, app.Allow("homework", "read", app.ClassParam("class")))
	s.r.Route(api, http.MethodGet, "/classes/:class/quotas", s.apiClassQuotas, app.Allow("homework", "read", app.ClassParam("class")))
	s.r.Route(api, http.MethodPut, "/classes/:class/quotas", s.apiPutQuotas, app.Allow("quota", "write", app.ClassParam("class")))
	s.r.Route(api, http.MethodPost, "/classes/:class/feedback", s.apiDayFeedback, app.Allow("feedback", "write", app.ClassParam("class")))
	s.r.Route(api, http.MethodPut, "/homework/:id", s.apiUpdateHomework, app.Allow("homework", "write", item))
	s.r.Route(api, http.MethodDelete, "/homework/:id", s.apiWithdrawHomework, app.Allow("homework", "write", item))
	s.r.Route(api, http.MethodPost, "/homework/:id/feedback", s.apiItemFeedback, app.Allow("feedback", "write", item))
	s.r.Route(api, http.MethodGet, "/schools/:school/homework/loads", s.apiSchoolLoads, app.Allow("homework", "read", app.SchoolParam("school")))
	s.r.Route(api, http.MethodGet, "/schools/:school/homework/settings", s.apiSchoolHomeworkSettings, app.Allow("homework", "read", app.SchoolParam("school")))
	s.r.Route(api, http.MethodPut, "/schools/:school/homework/settings", s.apiPutSchoolHomeworkSettings, app.Allow("setting", "write", app.SchoolParam("school")))
	s.r.Route(api, http.MethodGet, "/regions/:code/homework/settings", s.apiRegionHomeworkSettings, app.Allow("region", "read", app.RegionParam("code")))
	s.r.Route(api, http.MethodPut, "/regions/:code/homework/settings", s.apiPutRegionHomeworkSettings, app.Allow("setting", "write", app.RegionParam("code")))
	s.homeworkPageRoutes()
}

// schoolOfHomework is the school of a homework item (for app.SchoolOf scopes).
func schoolOfHomework(c echo.Context, s *app.Server, id int64) (_ int64, err error) {
	defer models.Wrap(&err, "homework.schoolOfHomework")
	it, err := models.GetHomework(c.Request().Context(), s.DB, id)
	if err != nil {
		return 0, err
	}
	return it.SchoolID, nil
}

// homeworkRequest is the body of POST /classes/:class/homework (and the form).
type homeworkRequest struct {
	Subject  string `json:"subject" form:"subject" validate:"required,max=40"`
	Date     string `json:"date" form:"date" validate:"required,date"`
	DueDate  string `json:"due_date" form:"due_date" validate:"omitempty,date"`
	Title    string `json:"title" form:"title" validate:"required,max=200"`
	Details  string `json:"details" form:"details" validate:"max=2000"`
	Minutes  int    `json:"minutes" form:"minutes" validate:"required,min=1,max=240"`
	Kind     string `json:"kind" form:"kind" validate:"required,oneof=written oral reading practice inquiry"`
	Layer    string `json:"layer" form:"layer" validate:"required,oneof=required optional"`
	InSchool bool   `json:"in_school" form:"in_school"`
}

// savedResponse answers a homework save.
type savedResponse struct {
	ID              int64  `json:"id"`
	Status          string `json:"status"`
	Counted         bool   `json:"counted"`
	DayTotalMinutes int    `json:"day_total_minutes"`
	CapMinutes      int    `json:"cap_minutes"`
}

func toSaved(r *models.HomeworkSaved) savedResponse {
	return savedResponse{ID: r.Item.ID, Status: r.Item.Status, Counted: r.Item.Counted, DayTotalMinutes: r.DayTotal, CapMinutes: r.Cap}
}

func (s *handlers) apiCreateHomework(c echo.Context) error {
	var req homeworkRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	res, err := s.createHomework(c, app.ClassOf(c), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toSaved(res))
}

// boardItem is an item on the publicity board (HW-07).
type boardItem struct {
	ID        int64  `json:"id"`
	Subject   string `json:"subject"`
	Teacher   string `json:"teacher"`
	Title     string `json:"title"`
	Details   string `json:"details"`
	Minutes   int    `json:"minutes"`
	Kind      string `json:"kind"`
	Layer     string `json:"layer"`
	InSchool  bool   `json:"in_school"`
	Counted   bool   `json:"counted"`
	Date      string `json:"date"`
	DueDate   string `json:"due_date"`
	TeacherID int64  `json:"teacher_id"`
}

func toBoardItems(in []models.BoardItem) []boardItem {
	out := make([]boardItem, 0, len(in))
	for _, it := range in {
		out = append(out, boardItem{ID: it.ID, Subject: it.SubjectName, Teacher: it.TeacherName, Title: it.Title, Details: it.Details,
			Minutes: it.Minutes, Kind: it.Kind, Layer: it.Layer, InSchool: it.InSchool, Counted: it.Counted, Date: it.Date,
			DueDate: it.DueDate, TeacherID: it.TeacherID})
	}
	return out
}

// classDay is GET /classes/:class/homework: the board of one class-day.
type classDay struct {
	Date         string      `json:"date"`
	Items        []boardItem `json:"items"`
	TotalMinutes int         `json:"total_minutes"`
	AllMinutes   int         `json:"all_minutes"`
	CapMinutes   int         `json:"cap_minutes"`
	OverCap      bool        `json:"over_cap"`
	Rule         string      `json:"rule"`
	// HW-15: every minute taken home, whatever its label, against the
	// all-kinds budget (nil: none set).
	TakeHomeMinutes int  `json:"take_home_minutes"`
	BudgetMinutes   *int `json:"take_home_budget_minutes"`
	OverBudget      bool `json:"over_budget"`
}

// dateParam reads a YYYY-MM-DD query parameter, def when missing; a bad one is a 400.
func dateParam(c echo.Context, name, def string) (_ string, err error) {
	defer models.Wrap(&err, "homework.dateParam")
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	if _, err := time.Parse(models.DateLayout, v); err != nil {
		return "", models.Invalid("error.bad_date", map[string]any{"Value": v})
	}
	return v, nil
}

// canSeeBoard: staff of the school reaching the class, its guardians, overseers.
func (s *handlers) classViewer(c echo.Context, cl *models.Class) (_ models.ClassAccess, err error) {
	defer models.Wrap(&err, "homework.classViewer")
	acc, err := s.ClassAccessOf(c, cl)
	if err != nil {
		return acc, err
	}
	if !acc.Any() && !s.isSchoolStaff(c, cl.SchoolID) {
		return acc, models.ErrNotFound
	}
	return acc, nil
}

// isSchoolStaff reports whether the viewer works at the school (any staff
// role there): the publicity board is school-visible (HW-07), parents see
// only their children's classes.
func (s *handlers) isSchoolStaff(c echo.Context, schoolID int64) bool {
	v := app.ViewerOf(c)
	for _, r := range []string{policies.RolePrincipal, policies.RoleAcademic, policies.RoleHeadTeacher, policies.RoleTeacher} {
		if s.Authz.HasRoleIn(v.User.ID, r, schoolID) {
			return true
		}
	}
	return false
}

func (s *handlers) apiClassHomework(c echo.Context) error {
	cl := app.ClassOf(c)
	if _, err := s.classViewer(c, cl); err != nil {
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
	return c.JSON(http.StatusOK, day)
}

// loadDay is one date of GET /classes/:class/load.
type loadDay struct {
	Date            string `json:"date"`
	TotalMinutes    int    `json:"total_minutes"`
	AllMinutes      int    `json:"all_minutes"`
	CapMinutes      int    `json:"cap_minutes"`
	OverCap         bool   `json:"over_cap"`
	SchoolDay       bool   `json:"school_day"`
	ItemCount       int    `json:"item_count"`
	TakeHomeMinutes int    `json:"take_home_minutes"`
	BudgetMinutes   *int   `json:"take_home_budget_minutes"`
	// ReportedMinutes is the guardians' reported evening (their minutes ÷
	// the reporting students), nil without reports.
	ReportedMinutes *int `json:"reported_minutes"`
}

// loadRange is the class's daily totals against its caps over [from, to].
func (s *handlers) loadRange(c echo.Context, cl *models.Class, from, to string) (_ []loadDay, err error) {
	defer models.Wrap(&err, "homework.loadRange")
	ctx := c.Request().Context()
	f, _ := time.Parse(models.DateLayout, from)
	t, _ := time.Parse(models.DateLayout, to)
	if t.Before(f) || t.Sub(f) > time.Duration(models.MaxLoadRangeDays)*24*time.Hour {
		return nil, models.Invalid("homework.bad_range", map[string]any{"Max": models.MaxLoadRangeDays})
	}
	rules, err := models.LoadHomeworkRules(ctx, s.DB, cl.SchoolID)
	if err != nil {
		return nil, err
	}
	kinds, err := models.DayKinds(ctx, s.DB, cl.SchoolID, from, to)
	if err != nil {
		return nil, err
	}
	rows, err := models.ClassDayLoads(ctx, s.DB, cl.ID, from, to)
	if err != nil {
		return nil, err
	}
	byDate := map[string]models.ClassDayLoad{}
	for _, r := range rows {
		byDate[r.Date] = r
	}
	var out []loadDay
	for d := f; !d.After(t); d = d.AddDate(0, 0, 1) {
		ds := d.Format(models.DateLayout)
		capv := policies.CapFor(cl.Grade, kinds[ds], rules.Limits)
		r := byDate[ds]
		ld := loadDay{Date: ds, TotalMinutes: r.TotalMinutes, AllMinutes: r.AllMinutes, CapMinutes: capv.Minutes,
			OverCap: r.TotalMinutes > capv.Minutes, SchoolDay: kinds[ds] == policies.SchoolDay, ItemCount: r.ItemCount,
			TakeHomeMinutes: r.TakeHomeMinutes, BudgetMinutes: policies.TakeHomeBudgetFor(cl.Grade, rules.Limits)}
		if r.FeedbackStudents > 0 {
			m := r.FeedbackActualMinutes / r.FeedbackStudents
			ld.ReportedMinutes = &m
		}
		out = append(out, ld)
	}
	return out, nil
}

func (s *handlers) apiClassLoad(c echo.Context) error {
	cl := app.ClassOf(c)
	if _, err := s.classViewer(c, cl); err != nil {
		return err
	}
	today, _, err := s.TodayAt(c, cl.SchoolID)
	if err != nil {
		return err
	}
	td, _ := time.Parse(models.DateLayout, today)
	from, err := dateParam(c, "from", td.AddDate(0, 0, -6).Format(models.DateLayout))
	if err != nil {
		return err
	}
	to, err := dateParam(c, "to", today)
	if err != nil {
		return err
	}
	days, err := s.loadRange(c, cl, from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.List[loadDay]{Items: days})
}

// homeworkPatchRequest is the body of PUT /homework/:id.
type homeworkPatchRequest struct {
	DueDate  *string `json:"due_date" form:"due_date" validate:"omitempty,date"`
	Title    *string `json:"title" form:"title" validate:"omitempty,max=200"`
	Details  *string `json:"details" form:"details" validate:"omitempty,max=2000"`
	Minutes  *int    `json:"minutes" form:"minutes" validate:"omitempty,min=1,max=240"`
	Kind     *string `json:"kind" form:"kind" validate:"omitempty,oneof=written oral reading practice inquiry"`
	Layer    *string `json:"layer" form:"layer" validate:"omitempty,oneof=required optional"`
	InSchool *bool   `json:"in_school" form:"in_school"`
}

// ownItem loads an item the viewer may change: the teacher who set it or
// the class's head teacher. Other staff get 403, everyone else 404.
func (s *handlers) ownItem(c echo.Context) (_ *models.HomeworkItem, _ *models.Class, err error) {
	defer models.Wrap(&err, "homework.ownItem")
	ctx := c.Request().Context()
	id, err := app.ParamID(c, "id")
	if err != nil {
		return nil, nil, err
	}
	it, err := models.GetHomework(ctx, s.DB, id)
	if err != nil {
		return nil, nil, err
	}
	cl, err := models.GetClass(ctx, s.DB, it.ClassID)
	if err != nil {
		return nil, nil, err
	}
	acc, err := s.ClassAccessOf(c, cl)
	if err != nil {
		return nil, nil, err
	}
	if it.TeacherID == app.ViewerOf(c).User.ID || acc.Head {
		return it, cl, nil
	}
	if acc.Staff() {
		return nil, nil, app.ErrForbidden
	}
	return nil, nil, models.ErrNotFound
}

func (s *handlers) updateHomework(c echo.Context, req homeworkPatchRequest) (_ *models.HomeworkSaved, err error) {
	defer models.Wrap(&err, "homework.updateHomework")
	it, cl, err := s.ownItem(c)
	if err != nil {
		return nil, err
	}
	ctx := c.Request().Context()
	rules, err := models.LoadHomeworkRules(ctx, s.DB, cl.SchoolID)
	if err != nil {
		return nil, err
	}
	return models.UpdateHomework(ctx, s.DB, rules, cl, it.ID, models.HomeworkPatch{DueDate: req.DueDate, Title: req.Title,
		Details: req.Details, Minutes: req.Minutes, Kind: req.Kind, Layer: req.Layer, InSchool: req.InSchool})
}

func (s *handlers) apiUpdateHomework(c echo.Context) error {
	var req homeworkPatchRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	res, err := s.updateHomework(c, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSaved(res))
}

func (s *handlers) withdrawHomework(c echo.Context) (_ *models.HomeworkSaved, err error) {
	defer models.Wrap(&err, "homework.withdrawHomework")
	it, cl, err := s.ownItem(c)
	if err != nil {
		return nil, err
	}
	return models.WithdrawHomework(c.Request().Context(), s.DB, cl, it.ID)
}

func (s *handlers) apiWithdrawHomework(c echo.Context) error {
	res, err := s.withdrawHomework(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSaved(res))
}

// feedbackRequest is a guardian's report (HW-11): per item, or per day with date.
type feedbackRequest struct {
	StudentID        int64  `json:"student_id" form:"student_id" validate:"required,min=1"`
	Date             string `json:"date" form:"date" validate:"omitempty,date"`
	ActualMinutes    *int   `json:"actual_minutes" form:"actual_minutes" validate:"required,min=0,max=600"`
	StoppedAtBedtime bool   `json:"stopped_at_bedtime" form:"stopped_at_bedtime"`
	// HW-15: the guardian says it was written work, or took longer than estimated.
	ReallyWritten bool `json:"really_written" form:"really_written"`
	TookLonger    bool `json:"took_longer" form:"took_longer"`
}

// feedbackResponse answers a report with the estimate-vs-reality gap.
type feedbackResponse struct {
	ID               int64   `json:"id"`
	ItemID           *int64  `json:"item_id"`
	Date             string  `json:"date"`
	ActualMinutes    int     `json:"actual_minutes"`
	EstimatedMinutes int     `json:"estimated_minutes"`
	GapRatio         float64 `json:"gap_ratio"`
	StoppedAtBedtime bool    `json:"stopped_at_bedtime"`
	ReallyWritten    bool    `json:"really_written"`
	TookLonger       bool    `json:"took_longer"`
	Bedtime          string  `json:"bedtime"`
}

// saveFeedback checks that the viewer guards the student and the student is
// in the class (else 404), then stores the report.
func (s *handlers) saveFeedback(c echo.Context, cl *models.Class, itemID int64, req feedbackRequest) (_ *feedbackResponse, err error) {
	defer models.Wrap(&err, "homework.saveFeedback")
	ctx := c.Request().Context()
	me := app.ViewerOf(c).User.ID
	ok, err := models.GuardsStudent(ctx, s.DB, me, req.StudentID)
	if err != nil {
		return nil, err
	}
	var st models.Student
	if ok {
		if err := s.DB.WithContext(ctx).Take(&st, req.StudentID).Error; err != nil {
			return nil, models.NotFoundIf(err)
		}
	}
	if !ok || st.ClassID != cl.ID {
		return nil, models.ErrNotFound
	}
	today, _, err := s.TodayAt(c, cl.SchoolID)
	if err != nil {
		return nil, err
	}
	date := req.Date
	if date == "" && itemID == 0 {
		date = today
	}
	fb, err := models.SaveFeedback(ctx, s.DB, me, cl, models.FeedbackInput{StudentID: req.StudentID, ItemID: itemID, Date: date,
		ActualMinutes: *req.ActualMinutes, StoppedAtBedtime: req.StoppedAtBedtime, ReallyWritten: req.ReallyWritten, TookLonger: req.TookLonger, Today: today})
	if err != nil {
		return nil, err
	}
	return &feedbackResponse{ID: fb.ID, ItemID: fb.ItemID, Date: fb.Date, ActualMinutes: fb.ActualMinutes,
		EstimatedMinutes: fb.EstimatedMinutes, GapRatio: policies.GapRatio(fb.ActualMinutes, fb.EstimatedMinutes),
		StoppedAtBedtime: fb.StoppedAtBedtime, ReallyWritten: fb.ReallyWritten, TookLonger: fb.TookLonger, Bedtime: policies.Bedtime(cl.Grade)}, nil
}

func (s *handlers) apiItemFeedback(c echo.Context) error {
	var req feedbackRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	id, err := app.ParamID(c, "id")
	if err != nil {
		return err
	}
	it, err := models.GetHomework(c.Request().Context(), s.DB, id)
	if err != nil {
		return err
	}
	cl, err := models.GetClass(c.Request().Context(), s.DB, it.ClassID)
	if err != nil {
		return err
	}
	res, err := s.saveFeedback(c, cl, it.ID, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, res)
}

func (s *handlers) apiDayFeedback(c echo.Context) error {
	var req feedbackRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	res, err := s.saveFeedback(c, app.ClassOf(c), 0, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, res)
}

func (s *handlers) apiClassQuotas(c echo.Context) error {
	cl := app.ClassOf(c)
	if _, err := s.classViewer(c, cl); err != nil {
		return err
	}
	q, err := models.ClassQuotas(c.Request().Context(), s.DB, cl.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.List[models.ClassQuota]{Items: q})
}

// quotasRequest is the body of PUT /classes/:class/quotas: subject name → minutes.
type quotasRequest struct {
	Quotas map[string]int `json:"quotas" validate:"required"`
}

// setQuotas lets only the class's head teacher set quotas (HW-08).
func (s *handlers) setQuotas(c echo.Context, cl *models.Class, quotas map[string]int) (_ []models.ClassQuota, err error) {
	defer models.Wrap(&err, "homework.setQuotas")
	acc, err := s.ClassAccessOf(c, cl)
	if err != nil {
		return nil, err
	}
	if !acc.Head {
		if acc.Staff() {
			return nil, app.ErrForbidden
		}
		return nil, models.ErrNotFound
	}
	ctx := c.Request().Context()
	rules, err := models.LoadHomeworkRules(ctx, s.DB, cl.SchoolID)
	if err != nil {
		return nil, err
	}
	return models.SetQuotas(ctx, s.DB, rules, cl, quotas)
}

func (s *handlers) apiPutQuotas(c echo.Context) error {
	var req quotasRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	q, err := s.setQuotas(c, app.ClassOf(c), req.Quotas)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.List[models.ClassQuota]{Items: q})
}

// classLoadItem is one class in the school overview.
type classLoadItem struct {
	ClassID         int64  `json:"class_id"`
	Class           string `json:"class"`
	Grade           int    `json:"grade"`
	TotalMinutes    int    `json:"total_minutes"`
	AllMinutes      int    `json:"all_minutes"`
	CapMinutes      int    `json:"cap_minutes"`
	TakeHomeMinutes int    `json:"take_home_minutes"`
	BudgetMinutes   *int   `json:"take_home_budget_minutes"`
	OverCap         bool   `json:"over_cap"`
	ItemCount       int    `json:"item_count"`
	RefusedCount    int    `json:"refused_count"`
	Feedback        int    `json:"feedback_count"`
}

// classLoad is one class's day against the cap of its grade.
type classLoad struct {
	Class  models.Class
	Load   models.ClassDayLoad
	Cap    policies.Cap
	Budget *int // the all-kinds take-home budget (HW-15), nil: none
}

// classLoadsOn reads the day's rollup rows of a school's classes and the cap
// of each class under the school's current settings.
func (s *handlers) classLoadsOn(ctx context.Context, schoolID int64, classes []models.Class, date string) (_ []classLoad, err error) {
	defer models.Wrap(&err, "homework.classLoadsOn")
	rules, err := models.LoadHomeworkRules(ctx, s.DB, schoolID)
	if err != nil {
		return nil, err
	}
	kind, err := models.DayKindOf(ctx, s.DB, schoolID, date)
	if err != nil {
		return nil, err
	}
	rows, err := models.SchoolDayLoads(ctx, s.DB, schoolID, date)
	if err != nil {
		return nil, err
	}
	byClass := map[int64]models.ClassDayLoad{}
	for _, r := range rows {
		byClass[r.ClassID] = r
	}
	out := make([]classLoad, 0, len(classes))
	for _, cl := range classes {
		out = append(out, classLoad{Class: cl, Load: byClass[cl.ID], Cap: policies.CapFor(cl.Grade, kind, rules.Limits),
			Budget: policies.TakeHomeBudgetFor(cl.Grade, rules.Limits)})
	}
	return out, nil
}

// schoolLoads is every class of a school on a date against its cap.
func (s *handlers) schoolLoads(c echo.Context, schoolID int64, date string) (_ []classLoadItem, err error) {
	defer models.Wrap(&err, "homework.schoolLoads")
	ctx := c.Request().Context()
	classes, err := models.ClassesOfSchool(ctx, s.DB, schoolID)
	if err != nil {
		return nil, err
	}
	loads, err := s.classLoadsOn(ctx, schoolID, classes, date)
	if err != nil {
		return nil, err
	}
	out := make([]classLoadItem, 0, len(loads))
	for _, l := range loads {
		r, cl := l.Load, l.Class
		out = append(out, classLoadItem{ClassID: cl.ID, Class: cl.Label(), Grade: cl.Grade, TotalMinutes: r.TotalMinutes,
			AllMinutes: r.AllMinutes, CapMinutes: l.Cap.Minutes, TakeHomeMinutes: r.TakeHomeMinutes, BudgetMinutes: l.Budget,
			OverCap: r.TotalMinutes > l.Cap.Minutes, ItemCount: r.ItemCount,
			RefusedCount: r.RefusedCount, Feedback: r.FeedbackCount})
	}
	return out, nil
}

func (s *handlers) apiSchoolLoads(c echo.Context) error {
	sid := app.TargetOf(c).SchoolID
	if !s.isSchoolStaff(c, sid) && !app.ViewerOf(c).HasRole(policies.RoleBureau) && !app.ViewerOf(c).HasRole(policies.RoleAdmin) {
		return models.ErrNotFound
	}
	today, _, err := s.TodayAt(c, sid)
	if err != nil {
		return err
	}
	date, err := dateParam(c, "date", today)
	if err != nil {
		return err
	}
	out, err := s.schoolLoads(c, sid, date)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.List[classLoadItem]{Items: out})
}

// homeworkSettings is the JSON of a scope's homework settings.
type homeworkSettings struct {
	Caps               policies.BandCaps  `json:"caps"`
	RestCaps           *policies.BandCaps `json:"rest_caps"`
	Counting           policies.Counting  `json:"counting"`
	MaxWrittenSubjects policies.BandCaps  `json:"max_written_subjects"`
	TakeHomeBudget     *policies.BandCaps `json:"take_home_budget"` // all kinds taken home (HW-15); null: none here
}

// settingsResponse shows the scope's own values and the effective ones.
type settingsResponse struct {
	Scope     string           `json:"scope"`
	Own       homeworkSettings `json:"own"`
	Enclosing homeworkSettings `json:"enclosing"`
}

func toSettings(l policies.HomeworkLimits) homeworkSettings {
	return homeworkSettings{Caps: l.Caps, RestCaps: l.RestCaps, Counting: l.Counting, MaxWrittenSubjects: l.MaxWrittenSubjects, TakeHomeBudget: l.TakeHome}
}

func (s *handlers) schoolChain(c echo.Context, schoolID int64) (_ []string, err error) {
	defer models.Wrap(&err, "homework.schoolChain")
	ctx := c.Request().Context()
	sc, err := models.GetSchool(ctx, s.DB, schoolID)
	if err != nil {
		return nil, err
	}
	path, err := models.RegionPath(ctx, s.DB, sc.RegionCode)
	if err != nil {
		return nil, err
	}
	return policies.DomainChain(sc.ID, path), nil
}

func (s *handlers) regionChain(c echo.Context, code string) (_ []string, err error) {
	defer models.Wrap(&err, "homework.regionChain")
	path, err := models.RegionPath(c.Request().Context(), s.DB, code)
	if err != nil {
		return nil, err
	}
	return policies.DomainChain(0, path), nil
}

func (s *handlers) showSettings(c echo.Context, chain []string) (err error) {
	defer models.Wrap(&err, "homework.showSettings")
	own, enc, err := models.HomeworkLimitsAt(c.Request().Context(), s.DB, chain)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, settingsResponse{Scope: chain[0], Own: toSettings(own), Enclosing: toSettings(enc)})
}

func (s *handlers) putSettings(c echo.Context, schoolID int64, chain []string) (err error) {
	defer models.Wrap(&err, "homework.putSettings")
	req := toSettings(policies.DefaultHomeworkLimits())
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	l := policies.HomeworkLimits{Caps: req.Caps, RestCaps: req.RestCaps, Counting: req.Counting, MaxWrittenSubjects: req.MaxWrittenSubjects, TakeHome: req.TakeHomeBudget}
	if err := models.PutHomeworkLimits(c.Request().Context(), s.DB, schoolID, chain, l); err != nil {
		return err
	}
	return s.showSettings(c, chain)
}

func (s *handlers) apiSchoolHomeworkSettings(c echo.Context) error {
	chain, err := s.schoolChain(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	return s.showSettings(c, chain)
}

func (s *handlers) apiPutSchoolHomeworkSettings(c echo.Context) error {
	chain, err := s.schoolChain(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	return s.putSettings(c, app.TargetOf(c).SchoolID, chain)
}

func (s *handlers) apiRegionHomeworkSettings(c echo.Context) error {
	chain, err := s.regionChain(c, c.Param("code"))
	if err != nil {
		return err
	}
	return s.showSettings(c, chain)
}

func (s *handlers) apiPutRegionHomeworkSettings(c echo.Context) error {
	chain, err := s.regionChain(c, c.Param("code"))
	if err != nil {
		return err
	}
	return s.putSettings(c, 0, chain)
}
