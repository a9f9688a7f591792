package app

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/models"
	"jianfu/policies"
)

// Bureau monitoring (issue 6): region dashboards, exports, school reports,
// alerts, complaints (MON-01..05) and the job-run list.

func init() { registerArea(func(s *Server) { s.bureauRoutes() }) }

func (s *Server) bureauRoutes() {
	api := s.E.Group("/api/v1")
	region := RegionParam("code")
	school := SchoolParam("school")
	report := SchoolOf("id", func(c echo.Context, s *Server, id int64) (int64, error) {
		return models.SchoolOfReport(c.Request().Context(), s.DB, id)
	})
	alert := SchoolOf("id", func(c echo.Context, s *Server, id int64) (int64, error) {
		return models.SchoolOfAlert(c.Request().Context(), s.DB, id)
	})
	s.route(api, http.MethodGet, "/regions/:code/dashboard", s.apiDashboard, Allow("region", "read", region))
	s.route(api, http.MethodGet, "/regions/:code/trend", s.apiRegionTrend, Allow("region", "read", region))
	s.route(api, http.MethodGet, "/regions/:code/report.xlsx", s.exportXLSX, Allow("region", "read", region))
	s.route(api, http.MethodGet, "/regions/:code/report.csv", s.exportCSV, Allow("region", "read", region))
	s.route(api, http.MethodGet, "/regions/:code/settings/bureau", s.apiBureauSettings, Allow("region", "read", region))
	s.route(api, http.MethodPut, "/regions/:code/settings/bureau", s.apiPutBureauSettings, Allow("setting", "write", region))
	s.route(api, http.MethodGet, "/schools/:school/indicators", s.apiSchoolIndicators, Allow("school", "read", school))

	s.route(api, http.MethodGet, "/regions/:code/reports", s.apiRegionReports, Allow("report", "read", region))
	s.route(api, http.MethodGet, "/schools/:school/reports", s.apiSchoolReports, Allow("report", "read", school))
	s.route(api, http.MethodGet, "/reports/:id", s.apiReport, Allow("report", "read", report))
	s.route(api, http.MethodPut, "/reports/:id/narrative", s.apiReportNarrative, Allow("report", "write", report))
	s.route(api, http.MethodPost, "/reports/:id/submit", s.apiReportSubmit, Allow("report", "write", report))
	s.route(api, http.MethodPost, "/reports/:id/accept", s.apiReportAccept, Allow("report", "review", report))
	s.route(api, http.MethodPost, "/reports/:id/return", s.apiReportReturn, Allow("report", "review", report))

	s.route(api, http.MethodGet, "/regions/:code/alerts", s.apiRegionAlerts, Allow("alert", "read", region))
	s.route(api, http.MethodGet, "/schools/:school/alerts", s.apiSchoolAlerts, Allow("alert", "read", school))
	s.route(api, http.MethodPost, "/alerts/:id/ack", s.apiAlertAck, Allow("alert", "write", alert))
	s.route(api, http.MethodPost, "/alerts/:id/resolve", s.apiAlertResolve, Allow("alert", "write", alert))

	// The complaint form is public (MON-04: anyone with the link): CSRF
	// protected like every form, and limited per client address.
	s.route(api, http.MethodPost, "/complaints", s.apiFileComplaint, Public())
	s.route(api, http.MethodGet, "/complaints/track/:tracking", s.apiTrackComplaint, Public())
	s.route(api, http.MethodGet, "/regions/:code/complaints", s.apiRegionComplaints, Allow("complaint", "read", region))
	s.route(api, http.MethodGet, "/schools/:school/complaints", s.apiSchoolComplaints, Allow("complaint", "read", school))
	s.route(api, http.MethodPost, "/complaints/:id/assign", s.apiAssignComplaint, Allow("complaint", "triage", complaintRegion()))
	s.route(api, http.MethodPost, "/complaints/:id/close", s.apiCloseComplaint, Allow("complaint", "triage", complaintRegion()))
	s.route(api, http.MethodPost, "/complaints/:id/respond", s.apiRespondComplaint, Allow("complaint", "respond", complaintSchool()))

	s.route(api, http.MethodGet, "/admin/jobs", s.apiJobRuns, Allow("job", "read", nil))
	s.route(api, http.MethodGet, "/me/reminders", s.apiReminders, SignedIn())
	s.bureauPages()
}

// complaintRegion scopes a route to the region a complaint was filed in
// (the bureau's triage).
func complaintRegion() Scope {
	return func(c echo.Context, s *Server) (models.Target, error) {
		id, err := paramID(c, "id")
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
func complaintSchool() Scope {
	return func(c echo.Context, s *Server) (models.Target, error) {
		id, err := paramID(c, "id")
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

// districtToday is the current date in the district (Asia/Shanghai).
func (s *Server) districtToday() string { return models.School{}.Today(s.Cfg.Now()) }

// dashboard builds the region dashboard with the request's term and sort.
func (s *Server) dashboard(c echo.Context) (*models.Dashboard, error) {
	d, err := models.BuildDashboard(c.Request().Context(), s.DB, c.Param("code"), c.QueryParam("term"), s.districtToday())
	if err != nil {
		return nil, err
	}
	if key := c.QueryParam("sort"); key != "" {
		hib := false
		if def, ok := models.FindDef(d.Defs, key); ok {
			hib = def.HigherIsBetter
		} else if key != "name" && key != "score" {
			return nil, models.Invalid("bureau.sort_unknown", map[string]any{"Key": key})
		}
		if c.QueryParam("order") == "best" {
			hib = !hib
		}
		models.SortSchools(d.Schools, key, hib)
	}
	return d, nil
}

func (s *Server) apiDashboard(c echo.Context) error {
	d, err := s.dashboard(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

type trendResponse struct {
	Region models.Region      `json:"region"`
	Term   models.TermRef     `json:"term"`
	Weeks  []models.WeekPoint `json:"weeks"`
}

func (s *Server) regionSchoolIDs(c echo.Context) ([]int64, error) {
	codes, err := models.SubRegionCodes(c.Request().Context(), s.DB, c.Param("code"))
	if err != nil {
		return nil, err
	}
	schools, err := models.SchoolsInRegions(c.Request().Context(), s.DB, codes)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(schools))
	for i, sc := range schools {
		ids[i] = sc.ID
	}
	return ids, nil
}

func (s *Server) apiRegionTrend(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := models.GetRegion(ctx, s.DB, c.Param("code"))
	if err != nil {
		return err
	}
	ids, err := s.regionSchoolIDs(c)
	if err != nil {
		return err
	}
	term, err := models.ResolveTerm(ctx, s.DB, ids, c.QueryParam("term"), s.districtToday())
	if err != nil {
		return err
	}
	weeks, err := models.WeeklyTrend(ctx, s.DB, ids, term.From, term.To)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, trendResponse{Region: *r, Term: term, Weeks: weeks})
}

type schoolIndicatorsResponse struct {
	School     SchoolItem            `json:"school"`
	Term       models.TermRef        `json:"term"`
	Indicators map[string]float64    `json:"indicators"`
	Defs       []models.IndicatorDef `json:"defs"`
	Weeks      []models.WeekPoint    `json:"weeks"`
}

func (s *Server) schoolIndicators(c echo.Context, id int64) (*schoolIndicatorsResponse, *models.School, error) {
	ctx := c.Request().Context()
	sc, err := models.GetSchool(ctx, s.DB, id)
	if err != nil {
		return nil, nil, err
	}
	term, err := models.ResolveTerm(ctx, s.DB, []int64{id}, c.QueryParam("term"), sc.Today(s.Cfg.Now()))
	if err != nil {
		return nil, nil, err
	}
	vals, err := models.ComputeIndicators(ctx, s.DB, []int64{id}, term.From, term.To)
	if err != nil {
		return nil, nil, err
	}
	weeks, err := models.WeeklyTrend(ctx, s.DB, []int64{id}, term.From, term.To)
	if err != nil {
		return nil, nil, err
	}
	return &schoolIndicatorsResponse{School: SchoolItem{ID: sc.ID, Name: sc.Name, RegionCode: sc.RegionCode, Stage: sc.Stage},
		Term: term, Indicators: vals[id], Defs: models.IndicatorDefs(), Weeks: weeks}, sc, nil
}

func (s *Server) apiSchoolIndicators(c echo.Context) error {
	out, _, err := s.schoolIndicators(c, TargetOf(c).SchoolID)
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

func (s *Server) bureauSettings(c echo.Context) (BureauSettings, error) {
	ctx := c.Request().Context()
	scopes, err := models.RegionScopes(ctx, s.DB, c.Param("code"))
	if err != nil {
		return BureauSettings{}, err
	}
	cycles, err := models.ReportCyclesAt(ctx, s.DB, scopes)
	if err != nil {
		return BureauSettings{}, err
	}
	rules, err := models.AlertRulesAt(ctx, s.DB, scopes)
	return BureauSettings{ReportCycles: cycles, AlertRules: rules}, err
}

func (s *Server) apiBureauSettings(c echo.Context) error {
	bs, err := s.bureauSettings(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, bs)
}

func (s *Server) apiPutBureauSettings(c echo.Context) error {
	var req BureauSettings
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := s.saveBureauSettings(c, req); err != nil {
		return err
	}
	return s.apiBureauSettings(c)
}

// saveBureauSettings stores a region's report cycles and alert rules.
func (s *Server) saveBureauSettings(c echo.Context, req BureauSettings) error {
	ctx := c.Request().Context()
	var extra []string
	for _, cy := range req.ReportCycles {
		if !policies.ValidCycle(cy) {
			return models.Invalid("bureau.cycle_invalid", map[string]any{"Cycle": cy})
		}
		if cy != policies.CycleSemiMonthly {
			extra = append(extra, cy)
		}
	}
	for _, r := range req.AlertRules {
		if !r.Valid() {
			return models.Invalid("bureau.rule_invalid", map[string]any{"Rule": r.ID})
		}
	}
	scope := policies.RegionDomain(c.Param("code"))
	if extra == nil {
		extra = []string{}
	}
	if err := models.PutSetting(ctx, s.DB, 0, scope, models.SettingReportCycles, extra); err != nil {
		return err
	}
	if req.AlertRules != nil {
		return models.PutSetting(ctx, s.DB, 0, scope, models.SettingAlertRules, req.AlertRules)
	}
	return nil
}

// ReportItem is a report in API answers, with its overdue flag and figures.
type ReportItem struct {
	models.SchoolReport
	Overdue  bool                  `json:"overdue"`
	Snapshot models.ReportSnapshot `json:"snapshot"`
}

func (s *Server) reportItem(r models.SchoolReport) ReportItem {
	return ReportItem{SchoolReport: r, Overdue: r.Overdue(s.districtToday()), Snapshot: r.Snapshot()}
}

func (s *Server) reportItems(rs []models.SchoolReport, status string) list[ReportItem] {
	out := list[ReportItem]{Items: []ReportItem{}}
	for _, r := range rs {
		it := s.reportItem(r)
		if status == "overdue" && !it.Overdue {
			continue
		}
		out.Items = append(out.Items, it)
	}
	return out
}

// regionReports lists the reports of the region's schools filtered by the
// status query parameter ("overdue" is derived, not stored), with the
// schools' ids for naming them.
func (s *Server) regionReports(c echo.Context) (list[ReportItem], []int64, string, error) {
	ids, err := s.regionSchoolIDs(c)
	if err != nil {
		return list[ReportItem]{}, nil, "", err
	}
	status := c.QueryParam("status")
	stored := status
	if stored == "overdue" {
		stored = ""
	}
	rs, err := models.ReportsInSchools(c.Request().Context(), s.DB, ids, stored)
	if err != nil {
		return list[ReportItem]{}, nil, "", err
	}
	return s.reportItems(rs, status), ids, status, nil
}

func (s *Server) apiRegionReports(c echo.Context) error {
	items, _, _, err := s.regionReports(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, items)
}

func (s *Server) apiSchoolReports(c echo.Context) error {
	rs, err := models.ReportsOfSchool(c.Request().Context(), s.DB, TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.reportItems(rs, ""))
}

func (s *Server) apiReport(c echo.Context) error {
	id, _ := paramID(c, "id")
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

func (s *Server) apiReportNarrative(c echo.Context) error {
	var req narrativeRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	id, _ := paramID(c, "id")
	r, err := models.SaveReportNarrative(c.Request().Context(), s.DB, id, TargetOf(c).SchoolID, strings.TrimSpace(req.Narrative))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.reportItem(*r))
}

func (s *Server) apiReportSubmit(c echo.Context) error {
	var req narrativeRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	id, _ := paramID(c, "id")
	r, err := models.SubmitReport(c.Request().Context(), s.DB, id, TargetOf(c).SchoolID, viewerOf(c).User.ID, strings.TrimSpace(req.Narrative))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.reportItem(*r))
}

func (s *Server) reviewReport(c echo.Context, accept bool) error {
	var req reviewRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	id, _ := paramID(c, "id")
	r, err := models.ReviewReport(c.Request().Context(), s.DB, id, TargetOf(c).SchoolID, viewerOf(c).User.ID, accept, strings.TrimSpace(req.Comment))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.reportItem(*r))
}

func (s *Server) apiReportAccept(c echo.Context) error { return s.reviewReport(c, true) }
func (s *Server) apiReportReturn(c echo.Context) error { return s.reviewReport(c, false) }

func (s *Server) apiRegionAlerts(c echo.Context) error {
	ids, err := s.regionSchoolIDs(c)
	if err != nil {
		return err
	}
	as, err := models.AlertsOf(c.Request().Context(), s.DB, ids, c.QueryParam("status"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list[models.Alert]{Items: as})
}

func (s *Server) apiSchoolAlerts(c echo.Context) error {
	as, err := models.AlertsOf(c.Request().Context(), s.DB, []int64{TargetOf(c).SchoolID}, c.QueryParam("status"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list[models.Alert]{Items: as})
}

type noteRequest struct {
	Note string `json:"note" form:"note" validate:"max=4000"`
}

func (s *Server) apiAlertAck(c echo.Context) error {
	var req noteRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	id, _ := paramID(c, "id")
	a, err := models.AcknowledgeAlert(c.Request().Context(), s.DB, id, TargetOf(c).SchoolID, viewerOf(c).User.ID, strings.TrimSpace(req.Note))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) apiAlertResolve(c echo.Context) error {
	var req noteRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	id, _ := paramID(c, "id")
	a, err := models.ResolveAlert(c.Request().Context(), s.DB, id, TargetOf(c).SchoolID, viewerOf(c).User.ID, strings.TrimSpace(req.Note))
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

func (s *Server) fileComplaint(c echo.Context, req complaintRequest) (*models.Complaint, error) {
	in := models.ComplaintInput{RegionCode: req.RegionCode, SchoolName: req.SchoolName, Category: req.Category, Body: req.Body,
		Anonymous: req.Anonymous, ReporterName: req.ReporterName, ReporterContact: req.ReporterContact, IPHash: clientHash(c)}
	if v := viewerOf(c); v != nil {
		in.ReporterUserID = v.User.ID
	}
	return models.FileComplaint(c.Request().Context(), s.DB, in, s.Cfg.Now())
}

func (s *Server) apiFileComplaint(c echo.Context) error {
	var req complaintRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	cp, err := s.fileComplaint(c, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, tracked(cp))
}

func (s *Server) apiTrackComplaint(c echo.Context) error {
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

func (s *Server) complaintItems(cs []models.Complaint, forSchool bool) list[ComplaintItem] {
	out := list[ComplaintItem]{Items: make([]ComplaintItem, 0, len(cs))}
	today := s.districtToday()
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
	list[ComplaintItem]
	Times models.ComplaintTimes `json:"times"`
}

func (s *Server) regionComplaints(c echo.Context, status string) ([]models.Complaint, error) {
	codes, err := models.SubRegionCodes(c.Request().Context(), s.DB, c.Param("code"))
	if err != nil {
		return nil, err
	}
	return models.ComplaintsInRegions(c.Request().Context(), s.DB, codes, status)
}

func (s *Server) apiRegionComplaints(c echo.Context) error {
	cs, err := s.regionComplaints(c, c.QueryParam("status"))
	if err != nil {
		return err
	}
	all, err := s.regionComplaints(c, "")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, complaintListResponse{list: s.complaintItems(cs, false), Times: models.MeasureComplaints(all, s.districtToday())})
}

func (s *Server) apiSchoolComplaints(c echo.Context) error {
	cs, err := models.ComplaintsOfSchool(c.Request().Context(), s.DB, TargetOf(c).SchoolID, c.QueryParam("status"))
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

func (s *Server) apiAssignComplaint(c echo.Context) error {
	var req assignRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	cp, err := models.AssignComplaint(c.Request().Context(), s.DB, complaintOf(c).ID, req.SchoolID, strings.TrimSpace(req.Note), s.Cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cp)
}

func (s *Server) apiCloseComplaint(c echo.Context) error {
	var req complaintFeedbackRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	cp, err := models.CloseComplaint(c.Request().Context(), s.DB, complaintOf(c).ID, strings.TrimSpace(req.Feedback), s.Cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cp)
}

func (s *Server) apiRespondComplaint(c echo.Context) error {
	var req responseRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	cp, err := models.RespondComplaint(c.Request().Context(), s.DB, complaintOf(c).ID, TargetOf(c).SchoolID, strings.TrimSpace(req.Response), s.Cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cp)
}

func (s *Server) apiJobRuns(c echo.Context) error {
	rs, err := models.RecentJobRuns(c.Request().Context(), s.DB, c.QueryParam("job"), 200)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list[models.JobRun]{Items: rs})
}

func (s *Server) apiReminders(c echo.Context) error {
	rs, err := models.RemindersOf(c.Request().Context(), s.DB, viewerOf(c).User.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list[models.Reminder]{Items: rs})
}
