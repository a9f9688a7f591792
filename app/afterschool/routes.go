package afterschool

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
)

// After-school service (课后服务, issue 4): plans, programs, enrollment,
// sessions and attendance, staff hours. Rules AS-01..AS-10.

// Routes registers the afterschool area with the server: its routes, each with
// its declared permission, and its home tiles.
func Routes(r app.Router, d app.Deps) {
	s := &handlers{Deps: d, r: r}
	homeLinks(r)
	s.afterschoolRoutes()
}

func (s *handlers) afterschoolRoutes() {
	api := s.r.Group("/api/v1")
	school := app.SchoolParam("school")
	program := app.SchoolOf("id", schoolOfRow[models.Program])
	enrollment := app.SchoolOf("id", schoolOfRow[models.Enrollment])
	session := app.SchoolOf("id", schoolOfRow[models.ProgramSession])
	s.r.Route(api, http.MethodPut, "/schools/:school/service-plan", s.apiPutServicePlan, app.Allow("service", "write", school))
	s.r.Route(api, http.MethodGet, "/schools/:school/service-plan", s.apiGetServicePlan, app.Allow("service", "read", school))
	s.r.Route(api, http.MethodPost, "/schools/:school/programs", s.apiCreateProgram, app.Allow("program", "write", school))
	s.r.Route(api, http.MethodGet, "/schools/:school/programs", s.apiPrograms, app.Allow("program", "read", school))
	s.r.Route(api, http.MethodPost, "/schools/:school/lottery", s.apiRunLottery, app.Allow("program", "write", school))
	s.r.Route(api, http.MethodGet, "/schools/:school/staff-hours", s.apiStaffHours, app.Allow("program", "write", school))
	s.r.Route(api, http.MethodGet, "/schools/:school/timetable/solve", s.apiSolveTimetable, app.Allow("program", "write", school))
	s.r.Route(api, http.MethodGet, "/schools/:school/timetable.fet", s.apiTimetableFET, app.Allow("program", "write", school))
	s.r.Route(api, http.MethodPost, "/schools/:school/timetable/fet", s.apiImportFET, app.Allow("program", "write", school))
	s.r.Route(api, http.MethodGet, "/programs/:id", s.apiProgram, app.Allow("program", "read", program))
	s.r.Route(api, http.MethodGet, "/programs/:id/roster", s.apiRoster, app.Allow("program", "read", program))
	s.r.Route(api, http.MethodGet, "/programs/:id/sessions", s.apiSessions, app.Allow("program", "read", program))
	s.r.Route(api, http.MethodPost, "/programs/:id/enrollments", s.apiEnroll, app.Allow("enrollment", "write", program))
	// AS-06: the principal (service write) confirms a program that looks like new lessons.
	s.r.Route(api, http.MethodPost, "/programs/:id/confirm", s.apiConfirmProgram, app.Allow("service", "write", program))
	s.r.Route(api, http.MethodDelete, "/enrollments/:id", s.apiWithdraw, app.Allow("enrollment", "write", enrollment))
	s.r.Route(api, http.MethodPut, "/sessions/:id/attendance", s.apiAttendance, app.Allow("attendance", "write", session))
	s.r.Route(api, http.MethodPost, "/sessions/:id/cancel", s.apiCancelSession, app.Allow("attendance", "write", session))
	s.r.Route(api, http.MethodGet, "/regions/:code/providers", s.apiProviders, app.Allow("provider", "read", app.RegionParam("code")))
	s.r.Route(api, http.MethodPost, "/regions/:code/providers", s.apiCreateProvider, app.Allow("provider", "write", app.RegionParam("code")))
	s.r.Route(api, http.MethodPut, "/regions/:code/off-work-time", s.apiRegionOffWork, app.Allow("setting", "write", app.RegionParam("code")))
	s.afterschoolPages()
}

// schoolOfRow looks up the school_id of a row of T by id (for app.SchoolOf).
func schoolOfRow[T any](c echo.Context, s *app.Server, id int64) (int64, error) {
	var out struct{ SchoolID int64 }
	var m T
	res := s.DB.WithContext(c.Request().Context()).Model(&m).Select("school_id").Where("id = ?", id).Limit(1).Scan(&out)
	if res.Error != nil {
		return 0, res.Error
	}
	if res.RowsAffected == 0 {
		return 0, models.ErrNotFound
	}
	return out.SchoolID, nil
}

// isLeader reports whether the viewer is principal or academic director at the school.
func (s *handlers) isLeader(c echo.Context, schoolID int64) bool {
	uid := app.ViewerOf(c).User.ID
	return s.Authz.HasRoleIn(uid, policies.RolePrincipal, schoolID) || s.Authz.HasRoleIn(uid, policies.RoleAcademic, schoolID)
}

type planRequest struct {
	TermID      int64         `json:"term_id"`
	Days        []planDay     `json:"days" validate:"required,min=1,max=7,dive"`
	Segments    []planSegment `json:"segments" validate:"omitempty,max=10,dive"`
	OffWorkTime string        `json:"off_work_time" validate:"omitempty,hhmm"`
}

type planDay struct {
	Weekday int    `json:"weekday" validate:"min=1,max=7"`
	Start   string `json:"start" validate:"required,hhmm"`
	End     string `json:"end" validate:"required,hhmm"`
}

type planSegment struct {
	Kind  string `json:"kind" validate:"required"`
	Start string `json:"start" validate:"required,hhmm"`
	End   string `json:"end" validate:"required,hhmm"`
}

// ViolationItem is one broken rule in a compliance report.
type ViolationItem struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// PlanReport is the answer to a plan: compliant, and the rules it breaks.
type PlanReport struct {
	Compliant   bool            `json:"compliant"`
	Violations  []ViolationItem `json:"violations"`
	PlanID      int64           `json:"plan_id,omitempty"`
	TermID      int64           `json:"term_id,omitempty"`
	OffWorkTime string          `json:"off_work_time,omitempty"`
}

func toInt(x any) int {
	switch v := x.(type) {
	case int:
		return v
	case float64:
		return int(v)
	case int64:
		return int(v)
	}
	return 0
}

func (s *handlers) apiPutServicePlan(c echo.Context) error {
	var req planRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	in := models.PlanInput{SchoolID: app.TargetOf(c).SchoolID, TermID: req.TermID, OffWorkTime: req.OffWorkTime}
	for _, d := range req.Days {
		in.Days = append(in.Days, policies.ServiceDay{Weekday: d.Weekday, Start: d.Start, End: d.End})
	}
	if req.Segments != nil {
		in.Segments = []policies.ServiceSegment{}
		for _, sg := range req.Segments {
			in.Segments = append(in.Segments, policies.ServiceSegment{Kind: sg.Kind, Start: sg.Start, End: sg.End})
		}
	}
	today, _, err := s.TodayAt(c, in.SchoolID)
	if err != nil {
		return err
	}
	in.Today = today
	plan, vs, err := models.SaveServicePlan(c.Request().Context(), s.DB, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.planReport(c, plan, vs))
}

func (s *handlers) apiGetServicePlan(c echo.Context) error {
	schoolID := app.TargetOf(c).SchoolID
	_, term, _, err := s.SchoolTerm(c, schoolID)
	if err != nil {
		return err
	}
	plan, err := models.GetServicePlan(c.Request().Context(), s.DB, schoolID, term.ID)
	if err != nil {
		return err
	}
	if plan == nil {
		return models.ErrNotFound
	}
	spec := plan.Spec()
	return c.JSON(http.StatusOK, map[string]any{"term_id": plan.TermID, "days": spec.Days, "segments": spec.Segments,
		"off_work_time": plan.OffWorkTime, "report": s.planReport(c, plan, plan.PlanViolations())})
}

type programRequest struct {
	TermID        int64           `json:"term_id"`
	Name          string          `json:"name" validate:"required,max=100"`
	Category      string          `json:"category" validate:"required"`
	Description   string          `json:"description" validate:"max=2000"`
	Grades        []int           `json:"grades" validate:"required,min=1,max=9,dive,min=1,max=9"`
	Capacity      int             `json:"capacity" validate:"required,min=1,max=2000"`
	Slots         []policies.Slot `json:"slots" validate:"required,min=1,max=10"`
	Room          string          `json:"room" validate:"max=100"`
	RoomType      string          `json:"room_type" validate:"max=50"`
	InstructorIDs []int64         `json:"instructor_ids" validate:"max=5"`
	ProviderID    *int64          `json:"provider_id"`
	ExternalName  string          `json:"external_instructor" validate:"max=100"`
	Mode          string          `json:"mode" validate:"omitempty,oneof=first_come lottery"`
	FeeFen        int             `json:"fee_fen" validate:"min=0"`
	FeeUnit       string          `json:"fee_unit" validate:"omitempty,oneof=term session"`
	ApplyUntil    string          `json:"apply_until" validate:"omitempty,date"`
}

func (s *handlers) apiCreateProgram(c echo.Context) error {
	var req programRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	schoolID := app.TargetOf(c).SchoolID
	today, _, err := s.TodayAt(c, schoolID)
	if err != nil {
		return err
	}
	p, err := models.CreateProgram(c.Request().Context(), s.DB, models.ProgramInput{SchoolID: schoolID, TermID: req.TermID, Today: today,
		Name: req.Name, Category: req.Category, Description: req.Description, Grades: req.Grades, Capacity: req.Capacity, Slots: req.Slots,
		Room: req.Room, RoomType: req.RoomType, TeacherIDs: req.InstructorIDs, ProviderID: req.ProviderID, External: req.ExternalName,
		Mode: req.Mode, FeeFen: req.FeeFen, FeeUnit: req.FeeUnit, ApplyUntil: req.ApplyUntil})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": p.ID, "drill_flag": p.DrillFlag})
}

// ProgramItem is a program in API answers.
type ProgramItem struct {
	models.ProgramView
	GradeList []int `json:"grades"`
}

func (s *handlers) apiPrograms(c echo.Context) error {
	schoolID := app.TargetOf(c).SchoolID
	_, term, _, err := s.SchoolTerm(c, schoolID)
	if err != nil {
		return err
	}
	ps, err := models.ProgramsOfTerm(c.Request().Context(), s.DB, schoolID, term.ID)
	if err != nil {
		return err
	}
	out := app.List[ProgramItem]{Items: make([]ProgramItem, 0, len(ps))}
	for _, p := range ps {
		out.Items = append(out.Items, ProgramItem{ProgramView: p, GradeList: p.GradeList()})
	}
	return c.JSON(http.StatusOK, out)
}

func (s *handlers) apiProgram(c echo.Context) error {
	p, err := s.programView(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ProgramItem{ProgramView: *p, GradeList: p.GradeList()})
}

func (s *handlers) apiRoster(c echo.Context) error {
	p, err := s.programView(c)
	if err != nil {
		return err
	}
	if ok, err := s.canSeeRoster(c, &p.Program); err != nil || !ok {
		if err != nil {
			return err
		}
		return models.ErrNotFound
	}
	r, err := s.rosterOf(c, &p.Program)
	if err != nil {
		return err
	}
	if r == nil {
		r = []models.RosterEntry{}
	}
	return c.JSON(http.StatusOK, app.List[models.RosterEntry]{Items: r})
}

func (s *handlers) apiSessions(c echo.Context) error {
	p, err := s.programView(c)
	if err != nil {
		return err
	}
	if ok, err := s.canSeeSessions(c, &p.Program); err != nil || !ok {
		if err != nil {
			return err
		}
		return models.ErrNotFound
	}
	from, to := c.QueryParam("from"), c.QueryParam("to")
	if from == "" {
		from = "0000-01-01"
	}
	if to == "" {
		to = "9999-12-31"
	}
	ss, err := models.SessionsOfProgram(c.Request().Context(), s.DB, p.ID, from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.List[models.ProgramSession]{Items: ss})
}

type enrollRequest struct {
	StudentID int64  `json:"student_id" form:"student_id" validate:"required"`
	Note      string `json:"note" form:"note" validate:"max=500"`
	Channel   string `json:"channel" form:"channel" validate:"max=20"` // staff: paper_form, phone, in_person (AS-04)
	Rank      int    `json:"rank" form:"rank" validate:"min=0,max=10"`
	FeeWaived bool   `json:"fee_waived" form:"fee_waived"`
}

// EnrollmentAnswer is the answer to an enrollment.
type EnrollmentAnswer struct {
	ID       int64  `json:"id"`
	Status   string `json:"status"`
	Position int    `json:"waitlist_position,omitempty"`
}

func (s *handlers) apiEnroll(c echo.Context) error {
	id, err := app.ParamID(c, "id")
	if err != nil {
		return err
	}
	var req enrollRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	e, err := s.enroll(c, id, req)
	if err != nil {
		return err
	}
	pos, err := models.WaitlistPosition(c.Request().Context(), s.DB, e)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, EnrollmentAnswer{ID: e.ID, Status: e.Status, Position: pos})
}

func (s *handlers) apiWithdraw(c echo.Context) error {
	id, err := app.ParamID(c, "id")
	if err != nil {
		return err
	}
	e, promoted, err := s.withdraw(c, id)
	if err != nil {
		return err
	}
	out := map[string]any{"id": e.ID, "status": e.Status}
	if promoted != nil {
		out["promoted"] = EnrollmentAnswer{ID: promoted.ID, Status: promoted.Status}
	}
	return c.JSON(http.StatusOK, out)
}

type lotteryRequest struct {
	TermID int64  `json:"term_id"`
	Seed   string `json:"seed" validate:"omitempty,numeric,max=20"`
}

func (s *handlers) apiRunLottery(c echo.Context) error {
	var req lotteryRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	schoolID := app.TargetOf(c).SchoolID
	today, _, err := s.TodayAt(c, schoolID)
	if err != nil {
		return err
	}
	termID := req.TermID
	if termID == 0 {
		t, err := models.CurrentTerm(c.Request().Context(), s.DB, schoolID, today)
		if err != nil {
			return err
		}
		termID = t.ID
	}
	seed := models.NewSeed()
	if req.Seed != "" {
		if seed, err = strconv.ParseUint(req.Seed, 10, 64); err != nil {
			return models.Invalid("as.lottery.bad_seed", nil)
		}
	}
	run, err := models.RunLottery(c.Request().Context(), s.DB, schoolID, termID, seed)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, run)
}

type attendanceRequest struct {
	Items []models.Mark `json:"items" validate:"required,min=1,max=500,dive"`
}

func (s *handlers) apiAttendance(c echo.Context) error {
	ss, err := s.sessionFor(c)
	if err != nil {
		return err
	}
	var req attendanceRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	today, _, err := s.TodayAt(c, ss.SchoolID)
	if err != nil {
		return err
	}
	out, err := models.MarkAttendance(c.Request().Context(), s.DB, ss.ID, req.Items, app.ViewerOf(c).User.ID, today)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

type cancelRequest struct {
	Reason string `json:"reason" form:"reason" validate:"required,max=200"`
}

func (s *handlers) apiCancelSession(c echo.Context) error {
	ss, err := s.sessionFor(c)
	if err != nil {
		return err
	}
	var req cancelRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	out, err := models.CancelSession(c.Request().Context(), s.DB, ss.ID, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *handlers) monthParam(c echo.Context, schoolID int64) (_ string, _ string, err error) {
	defer models.Wrap(&err, "afterschool.monthParam")
	today, _, err := s.TodayAt(c, schoolID)
	if err != nil {
		return "", "", err
	}
	month := c.QueryParam("month")
	if month == "" {
		month = today[:7]
	}
	return month, today, nil
}

func (s *handlers) apiStaffHours(c echo.Context) error {
	schoolID := app.TargetOf(c).SchoolID
	month, today, err := s.monthParam(c, schoolID)
	if err != nil {
		return err
	}
	rows, err := models.StaffHours(c.Request().Context(), s.DB, schoolID, month, today)
	if err != nil {
		return err
	}
	if strings.EqualFold(c.QueryParam("format"), "csv") {
		return s.staffHoursCSV(c, month, rows)
	}
	return c.JSON(http.StatusOK, map[string]any{"month": month, "items": rows})
}

func (s *handlers) apiProviders(c echo.Context) error {
	var out []models.Provider
	err := s.DB.WithContext(c.Request().Context()).Where("region_code = ?", c.Param("code")).Order("name").Find(&out).Error
	if err != nil {
		return err
	}
	if out == nil {
		out = []models.Provider{}
	}
	return c.JSON(http.StatusOK, app.List[models.Provider]{Items: out})
}

type providerRequest struct {
	Name        string `json:"name" validate:"required,max=200"`
	Services    string `json:"services" validate:"max=500"`
	FeeStandard string `json:"fee_standard" validate:"max=200"`
	VettedUntil string `json:"vetted_until" validate:"omitempty,date"`
}

func (s *handlers) apiCreateProvider(c echo.Context) error {
	var req providerRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	p := models.Provider{RegionCode: c.Param("code"), Name: req.Name, Services: req.Services, FeeStandard: req.FeeStandard, VettedUntil: req.VettedUntil}
	if err := models.CreateProvider(c.Request().Context(), s.DB, &p); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

type offWorkRequest struct {
	Value string `json:"value" validate:"required,hhmm"`
}

// apiRegionOffWork sets a region's local off-work time (AS-02), the time
// every school's plan below it must reach unless the school sets a later one.
func (s *handlers) apiRegionOffWork(c echo.Context) error {
	var req offWorkRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	if err := models.PutSetting(c.Request().Context(), s.DB, 0, policies.RegionDomain(c.Param("code")), policies.SettingOffWorkTime, req.Value); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"region": c.Param("code"), "off_work_time": req.Value})
}

type confirmRequest struct {
	Reason string `json:"reason" form:"reason" validate:"max=1000"`
}

// apiConfirmProgram: POST /api/v1/programs/:id/confirm {reason} → the
// program with confirmation "confirmed" (AS-06, principal only).
func (s *handlers) apiConfirmProgram(c echo.Context) error {
	p, err := s.confirmProgram(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// confirmProgram is shared by the API and the form.
func (s *handlers) confirmProgram(c echo.Context) (_ *models.Program, err error) {
	defer models.Wrap(&err, "afterschool.confirmProgram")
	id, err := app.ParamID(c, "id")
	if err != nil {
		return nil, err
	}
	var req confirmRequest
	if err := app.Bind(c, &req); err != nil {
		return nil, err
	}
	p, err := models.GetProgram(c.Request().Context(), s.DB, id)
	if err != nil {
		return nil, err
	}
	return models.ConfirmProgram(c.Request().Context(), s.DB, p.SchoolID, p.ID, app.ViewerOf(c).User.ID, req.Reason)
}
