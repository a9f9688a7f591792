package bureau

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
)

// Bureau monitoring (issue 6): region dashboards, exports, school reports,
// alerts, complaints (MON-01..05) and the job-run list.

// Routes registers the bureau area with the server: its routes, each with
// its declared permission, and its home tiles.
func Routes(r app.Router, d app.Deps) {
	s := &handlers{Deps: d, r: r, dashboards: newDashboardCache()}
	homeLinks(r)
	s.bureauRoutes()
}

func (s *handlers) bureauRoutes() {
	api := s.r.Group("/api/v1")
	region := app.RegionParam("code")
	school := app.SchoolParam("school")
	report := app.SchoolOf("id", func(c echo.Context, s *app.Server, id int64) (int64, error) {
		return models.SchoolOfReport(c.Request().Context(), s.DB, id)
	})
	alert := app.SchoolOf("id", func(c echo.Context, s *app.Server, id int64) (int64, error) {
		return models.SchoolOfAlert(c.Request().Context(), s.DB, id)
	})
	s.r.Route(api, http.MethodGet, "/regions/:code/dashboard", s.apiDashboard, app.Allow("region", "read", region))
	s.r.Route(api, http.MethodGet, "/regions/:code/trend", s.apiRegionTrend, app.Allow("region", "read", region))
	s.r.Route(api, http.MethodGet, "/regions/:code/report.xlsx", s.exportXLSX, app.Allow("region", "read", region))
	s.r.Route(api, http.MethodGet, "/regions/:code/report.csv", s.exportCSV, app.Allow("region", "read", region))
	s.r.Route(api, http.MethodGet, "/regions/:code/settings/bureau", s.apiBureauSettings, app.Allow("region", "read", region))
	s.r.Route(api, http.MethodPut, "/regions/:code/settings/bureau", s.apiPutBureauSettings, app.Allow("setting", "write", region))
	s.r.Route(api, http.MethodGet, "/schools/:school/indicators", s.apiSchoolIndicators, app.Allow("school", "read", school))

	s.r.Route(api, http.MethodGet, "/regions/:code/reports", s.apiRegionReports, app.Allow("report", "read", region))
	s.r.Route(api, http.MethodGet, "/schools/:school/reports", s.apiSchoolReports, app.Allow("report", "read", school))
	s.r.Route(api, http.MethodGet, "/reports/:id", s.apiReport, app.Allow("report", "read", report))
	s.r.Route(api, http.MethodPut, "/reports/:id/narrative", s.apiReportNarrative, app.Allow("report", "write", report))
	s.r.Route(api, http.MethodPost, "/reports/:id/submit", s.apiReportSubmit, app.Allow("report", "write", report))
	s.r.Route(api, http.MethodPost, "/reports/:id/accept", s.apiReportAccept, app.Allow("report", "review", report))
	s.r.Route(api, http.MethodPost, "/reports/:id/return", s.apiReportReturn, app.Allow("report", "review", report))

	s.r.Route(api, http.MethodGet, "/regions/:code/alerts", s.apiRegionAlerts, app.Allow("alert", "read", region))
	s.r.Route(api, http.MethodGet, "/schools/:school/alerts", s.apiSchoolAlerts, app.Allow("alert", "read", school))
	s.r.Route(api, http.MethodPost, "/alerts/:id/ack", s.apiAlertAck, app.Allow("alert", "write", alert))
	s.r.Route(api, http.MethodPost, "/alerts/:id/resolve", s.apiAlertResolve, app.Allow("alert", "write", alert))

	// The complaint form is public (MON-04: anyone with the link): CSRF
	// protected like every form, and limited per client address.
	s.r.Route(api, http.MethodPost, "/complaints", s.apiFileComplaint, app.Public())
	s.r.Route(api, http.MethodGet, "/complaints/track/:tracking", s.apiTrackComplaint, app.Public())
	s.r.Route(api, http.MethodGet, "/regions/:code/complaints", s.apiRegionComplaints, app.Allow("complaint", "read", region))
	s.r.Route(api, http.MethodGet, "/schools/:school/complaints", s.apiSchoolComplaints, app.Allow("complaint", "read", school))
	s.r.Route(api, http.MethodPost, "/complaints/:id/assign", s.apiAssignComplaint, app.Allow("complaint", "triage", complaintRegion()))
	s.r.Route(api, http.MethodPost, "/complaints/:id/close", s.apiCloseComplaint, app.Allow("complaint", "triage", complaintRegion()))
	s.r.Route(api, http.MethodPost, "/complaints/:id/respond", s.apiRespondComplaint, app.Allow("complaint", "respond", complaintSchool()))

	s.r.Route(api, http.MethodGet, "/admin/jobs", s.apiJobRuns, app.Allow("job", "read", nil))
	s.r.Route(api, http.MethodGet, "/me/reminders", s.apiReminders, app.SignedIn())
	s.bureauPages()
}

// complaintRegion scopes a route to the region a complaint was filed in
// (the bureau's triage).
func complaintRegion() app.Scope {
	return func(c echo.Context, s *app.Server) (models.Target, error) {
		id, err := app.ParamID(c, "id")
		if err != nil {
			return models.Target{}, err
		}
		cp, err := models.GetComplaint(c.Request().Context(), s.DB, id)
		if err != nil {
			return models.Target{}, err
		}
		c.Set(complaintKey, cp)
		return models.Target{RegionCode: cp.RegionCode}, nil
	}
}

// complaintSchool scopes a route to the school a complaint was assigned to;
// an unassigned complaint belongs to no school yet.
func complaintSchool() app.Scope {
	return func(c echo.Context, s *app.Server) (models.Target, error) {
		id, err := app.ParamID(c, "id")
		if err != nil {
			return models.Target{}, err
		}
		cp, err := models.GetComplaint(c.Request().Context(), s.DB, id)
		if err != nil {
			return models.Target{}, err
		}
		if cp.SchoolID == nil {
			return models.Target{}, models.ErrNotFound
		}
		c.Set(complaintKey, cp)
		return models.Target{SchoolID: *cp.SchoolID}, nil
	}
}

const complaintKey = "jianfu.complaint"

func complaintOf(c echo.Context) *models.Complaint {
	cp, _ := c.Get(complaintKey).(*models.Complaint)
	return cp
}

type trendResponse struct {
	Region models.Region      `json:"region"`
	Term   models.TermRef     `json:"term"`
	Weeks  []models.WeekPoint `json:"weeks"`
}

func (s *handlers) apiRegionTrend(c echo.Context) error {
	d, weeks, err := s.regionTrend(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, trendResponse{Region: d.Region, Term: d.Term, Weeks: weeks})
}

type schoolIndicatorsResponse struct {
	School     app.SchoolItem        `json:"school"`
	Term       models.TermRef        `json:"term"`
	Indicators map[string]float64    `json:"indicators"`
	Defs       []models.IndicatorDef `json:"defs"`
	Weeks      []models.WeekPoint    `json:"weeks"`
}

func (s *handlers) apiSchoolIndicators(c echo.Context) error {
	out, _, err := s.schoolIndicators(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// BureauSettings is what a bureau configures for its region: the report
// cycles beyond the national semi-monthly one (MON-01, MON-05) and the
// alert rules' thresholds.
type BureauSettings struct {
	ReportCycles []string             `json:"report_cycles"`
	AlertRules   []policies.AlertRule `json:"alert_rules" validate:"dive"`
}

func (s *handlers) apiBureauSettings(c echo.Context) error {
	bs, err := s.bureauSettings(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, bs)
}

func (s *handlers) apiPutBureauSettings(c echo.Context) error {
	var req BureauSettings
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	// A PUT replaces both lists: a body naming neither is a mistake, not
	// "delete every rule" (send "alert_rules": [] for that).
	if req.ReportCycles == nil && req.AlertRules == nil {
		return models.Invalid("error.empty_body", nil)
	}
	if err := s.saveBureauSettings(c, req); err != nil {
		return err
	}
	return s.apiBureauSettings(c)
}

// ReportItem is a report in API answers, with its overdue flag and figures.
type ReportItem struct {
	models.SchoolReport
	Overdue  bool                  `json:"overdue"`
	Snapshot models.ReportSnapshot `json:"snapshot"`
}

func (s *handlers) reportItem(r models.SchoolReport) ReportItem {
	return ReportItem{SchoolReport: r, Overdue: r.Overdue(s.Today(nil)), Snapshot: r.Snapshot()}
}

func (s *handlers) reportItems(rs []models.SchoolReport, status string) app.List[ReportItem] {
	out := app.List[ReportItem]{Items: []ReportItem{}}
	for _, r := range rs {
		it := s.reportItem(r)
		if status == "overdue" && !it.Overdue {
			continue
		}
		out.Items = append(out.Items, it)
	}
	return out
}

func (s *handlers) apiRegionReports(c echo.Context) error {
	items, _, _, err := s.regionReports(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, items)
}

func (s *handlers) apiSchoolReports(c echo.Context) error {
	rs, err := models.ReportsOfSchool(c.Request().Context(), s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.reportItems(rs, ""))
}

func (s *handlers) apiReport(c echo.Context) error {
	id, _ := app.ParamID(c, "id")
	r, err := models.GetReport(c.Request().Context(), s.DB, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.reportItem(*r))
}

type narrativeRequest struct {
	Narrative string `json:"narrative" form:"narrative" validate:"max=20000"`
}

type reviewRequest struct {
	Comment string `json:"comment" form:"comment" validate:"max=4000"`
}

// narrativePut replaces the narrative: the field must be there (a body of
// {} or one without it must not clear a written narrative).
type narrativePut struct {
	Narrative *string `json:"narrative" validate:"required,max=20000"`
}

func (s *handlers) apiReportNarrative(c echo.Context) error {
	var req narrativePut
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	id, _ := app.ParamID(c, "id")
	r, err := models.SaveReportNarrative(c.Request().Context(), s.DB, id, app.TargetOf(c).SchoolID, strings.TrimSpace(*req.Narrative))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.reportItem(*r))
}

func (s *handlers) apiReportSubmit(c echo.Context) error {
	var req narrativeRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	id, _ := app.ParamID(c, "id")
	r, err := models.SubmitReport(c.Request().Context(), s.DB, id, app.TargetOf(c).SchoolID, app.ViewerOf(c).User.ID, strings.TrimSpace(req.Narrative))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.reportItem(*r))
}

func (s *handlers) reviewReport(c echo.Context, accept bool) (err error) {
	defer models.Wrap(&err, "bureau.reviewReport")
	var req reviewRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	id, _ := app.ParamID(c, "id")
	r, err := models.ReviewReport(c.Request().Context(), s.DB, id, app.TargetOf(c).SchoolID, app.ViewerOf(c).User.ID, accept, strings.TrimSpace(req.Comment))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.reportItem(*r))
}

func (s *handlers) apiReportAccept(c echo.Context) error { return s.reviewReport(c, true) }
func (s *handlers) apiReportReturn(c echo.Context) error { return s.reviewReport(c, false) }

func (s *handlers) apiRegionAlerts(c echo.Context) error {
	ids, err := s.regionSchoolIDs(c)
	if err != nil {
		return err
	}
	as, err := models.AlertsOf(c.Request().Context(), s.DB, ids, c.QueryParam("status"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.List[models.Alert]{Items: as})
}

func (s *handlers) apiSchoolAlerts(c echo.Context) error {
	as, err := models.AlertsOf(c.Request().Context(), s.DB, []int64{app.TargetOf(c).SchoolID}, c.QueryParam("status"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.List[models.Alert]{Items: as})
}

type noteRequest struct {
	Note string `json:"note" form:"note" validate:"max=4000"`
}

func (s *handlers) apiAlertAck(c echo.Context) error {
	var req noteRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	id, _ := app.ParamID(c, "id")
	a, err := models.AcknowledgeAlert(c.Request().Context(), s.DB, id, app.TargetOf(c).SchoolID, app.ViewerOf(c).User.ID, strings.TrimSpace(req.Note))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *handlers) apiAlertResolve(c echo.Context) error {
	var req noteRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	id, _ := app.ParamID(c, "id")
	a, err := models.ResolveAlert(c.Request().Context(), s.DB, id, app.TargetOf(c).SchoolID, app.ViewerOf(c).User.ID, strings.TrimSpace(req.Note))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// complaintRequest is the public complaint form (MON-04).
type complaintRequest struct {
	RegionCode      string `json:"region_code" form:"region_code" validate:"required,max=12"`
	SchoolName      string `json:"school_name" form:"school_name" validate:"max=100"`
	Category        string `json:"category" form:"category" validate:"required"`
	Body            string `json:"body" form:"body" validate:"required,max=4000"`
	Anonymous       bool   `json:"anonymous" form:"anonymous"`
	ReporterName    string `json:"reporter_name" form:"reporter_name" validate:"max=50"`
	ReporterContact string `json:"reporter_contact" form:"reporter_contact" validate:"max=100"`
}

// TrackedComplaint is what the reporter sees with the tracking code: the
// status and the bureau's feedback, never the school's internal answer.
type TrackedComplaint struct {
	TrackingCode string `json:"tracking_code"`
	Category     string `json:"category"`
	Status       string `json:"status"`
	FiledOn      string `json:"filed_on"`
	Feedback     string `json:"feedback"`
	ClosedOn     string `json:"closed_on,omitempty"`
}

func tracked(cp *models.Complaint) TrackedComplaint {
	t := TrackedComplaint{TrackingCode: cp.TrackingCode, Category: cp.Category, Status: cp.Status,
		FiledOn: models.School{}.Today(cp.CreatedAt), Feedback: cp.Feedback}
	if cp.ClosedAt != nil {
		t.ClosedOn = models.School{}.Today(*cp.ClosedAt)
	}
	return t
}

// clientHash identifies a client address for rate limiting without storing it.
func clientHash(c echo.Context) string {
	h := sha256.Sum256([]byte("jianfu-complaint:" + c.RealIP()))
	return hex.EncodeToString(h[:16])
}

// networkHash hashes the client's network (IPv4 /24, IPv6 /48), so filing
// from many addresses of one network is limited too (MON-04 limits).
func networkHash(c echo.Context) string {
	ip := net.ParseIP(c.RealIP())
	if ip == nil {
		return ""
	}
	var n net.IP
	if v4 := ip.To4(); v4 != nil {
		n = v4.Mask(net.CIDRMask(24, 32))
	} else {
		n = ip.Mask(net.CIDRMask(48, 128))
	}
	h := sha256.Sum256([]byte("jianfu-complaint-net:" + n.String()))
	return hex.EncodeToString(h[:16])
}

func (s *handlers) apiFileComplaint(c echo.Context) error {
	var req complaintRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	cp, err := s.fileComplaint(c, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, tracked(cp))
}

func (s *handlers) apiTrackComplaint(c echo.Context) error {
	cp, err := models.ComplaintByCode(c.Request().Context(), s.DB, c.Param("tracking"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tracked(cp))
}

// ComplaintItem is a complaint for the bureau and the school; an anonymous
// one carries no reporter details at all.
type ComplaintItem struct {
	models.Complaint
	Overdue bool `json:"overdue"`
}

func (s *handlers) complaintItems(cs []models.Complaint, forSchool bool) app.List[ComplaintItem] {
	out := app.List[ComplaintItem]{Items: make([]ComplaintItem, 0, len(cs))}
	today := s.Today(nil)
	for _, cp := range cs {
		if forSchool {
			// The school answers the matter, not the person: it never sees who complained.
			cp.ReporterName, cp.ReporterContact = "", ""
		}
		out.Items = append(out.Items, ComplaintItem{Complaint: cp, Overdue: cp.Status != policies.ComplaintClosed && cp.DueDate < today})
	}
	return out
}

type complaintListResponse struct {
	app.List[ComplaintItem]
	Times models.ComplaintTimes `json:"times"`
}

func (s *handlers) regionComplaints(c echo.Context, status string) (_ []models.Complaint, err error) {
	defer models.Wrap(&err, "bureau.regionComplaints")
	codes, err := models.SubRegionCodes(c.Request().Context(), s.DB, c.Param("code"))
	if err != nil {
		return nil, err
	}
	return models.ComplaintsInRegions(c.Request().Context(), s.DB, codes, status)
}

func (s *handlers) apiRegionComplaints(c echo.Context) error {
	cs, err := s.regionComplaints(c, c.QueryParam("status"))
	if err != nil {
		return err
	}
	all, err := s.regionComplaints(c, "")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, complaintListResponse{List: s.complaintItems(cs, false), Times: models.MeasureComplaints(all, s.Today(nil))})
}

func (s *handlers) apiSchoolComplaints(c echo.Context) error {
	cs, err := models.ComplaintsOfSchool(c.Request().Context(), s.DB, app.TargetOf(c).SchoolID, c.QueryParam("status"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.complaintItems(cs, true))
}

type assignRequest struct {
	SchoolID int64  `json:"school_id" form:"school_id" validate:"required,gt=0"`
	Note     string `json:"note" form:"note" validate:"max=4000"`
}

type complaintFeedbackRequest struct {
	Feedback string `json:"feedback" form:"feedback" validate:"required,max=4000"`
}

type responseRequest struct {
	Response string `json:"response" form:"response" validate:"required,max=4000"`
}

func (s *handlers) apiAssignComplaint(c echo.Context) error {
	var req assignRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	cp, err := models.AssignComplaint(c.Request().Context(), s.DB, complaintOf(c).ID, req.SchoolID, strings.TrimSpace(req.Note), s.Cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cp)
}

func (s *handlers) apiCloseComplaint(c echo.Context) error {
	var req complaintFeedbackRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	cp, err := models.CloseComplaint(c.Request().Context(), s.DB, complaintOf(c).ID, strings.TrimSpace(req.Feedback), s.Cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cp)
}

func (s *handlers) apiRespondComplaint(c echo.Context) error {
	var req responseRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	cp, err := models.RespondComplaint(c.Request().Context(), s.DB, complaintOf(c).ID, app.TargetOf(c).SchoolID, strings.TrimSpace(req.Response), s.Cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cp)
}

// apiJobRuns: {items: latest runs, missed: due periods not ok, catchup_days}.
func (s *handlers) apiJobRuns(c echo.Context) error {
	data, err := s.jobsData(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, data)
}

func (s *handlers) apiReminders(c echo.Context) error {
	rs, err := models.RemindersOf(c.Request().Context(), s.DB, app.ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app.List[models.Reminder]{Items: rs})
}
