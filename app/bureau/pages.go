package bureau

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/scheduler"
	"jianfu/views"
)

// homeLinks adds the area's home tiles.
func homeLinks(r app.Router) {
	r.AddHomeLinks(
		app.HomeLink{Role: policies.RoleBureau, Label: "bureau.nav.dashboard", Icon: "📊", URL: regionURL("")},
		app.HomeLink{Role: policies.RoleBureau, Label: "bureau.nav.reports", Icon: "📑", URL: regionURL("/reports")},
		app.HomeLink{Role: policies.RoleBureau, Label: "bureau.nav.alerts", Icon: "🚨", URL: regionURL("/alerts")},
		app.HomeLink{Role: policies.RoleBureau, Label: "bureau.nav.complaints", Icon: "📮", URL: regionURL("/complaints")},
		app.HomeLink{Role: policies.RoleBureau, Label: "bureau.nav.settings", Icon: "⚙️", URL: regionURL("/settings")},
		app.HomeLink{Role: policies.RolePrincipal, Label: "bureau.nav.school", Icon: "📊", URL: schoolURL("/monitor")},
		app.HomeLink{Role: policies.RolePrincipal, Label: "bureau.nav.school_reports", Icon: "📑", URL: schoolURL("/reports")},
		app.HomeLink{Role: policies.RolePrincipal, Label: "bureau.nav.school_complaints", Icon: "📮", URL: schoolURL("/complaints")},
		app.HomeLink{Role: policies.RoleAdmin, Label: "bureau.nav.jobs", Icon: "⏱", URL: func(models.Grant) string { return "/admin/jobs" }},
		app.HomeLink{Role: policies.RoleParent, Label: "complaint.nav", Icon: "📮", URL: func(models.Grant) string { return "/complaints/new" }},
		app.HomeLink{Role: policies.RolePrincipal, Label: "reminder.title", Icon: "🔔", URL: func(models.Grant) string { return "/reminders" }},
		app.HomeLink{Role: policies.RoleHeadTeacher, Label: "reminder.title", Icon: "🔔", URL: func(models.Grant) string { return "/reminders" }},
	)
}

func regionURL(suffix string) func(models.Grant) string {
	return func(g models.Grant) string {
		_, key, _ := policies.ParseDomain(g.Domain)
		return "/regions/" + key + suffix
	}
}

func schoolURL(suffix string) func(models.Grant) string {
	return func(g models.Grant) string {
		_, key, _ := policies.ParseDomain(g.Domain)
		return "/schools/" + key + suffix
	}
}

func (s *handlers) bureauPages() {
	g := s.r.Group("")
	region := app.RegionParam("code")
	school := app.SchoolParam("school")
	report := app.SchoolOf("id", func(c echo.Context, s *app.Server, id int64) (int64, error) {
		return models.SchoolOfReport(c.Request().Context(), s.DB, id)
	})
	alert := app.SchoolOf("id", func(c echo.Context, s *app.Server, id int64) (int64, error) {
		return models.SchoolOfAlert(c.Request().Context(), s.DB, id)
	})
	s.r.Route(g, http.MethodGet, "/regions/:code", s.dashboardPage, app.Allow("region", "read", region))
	s.r.Route(g, http.MethodGet, "/regions/:code/reports", s.regionReportsPage, app.Allow("report", "read", region))
	s.r.Route(g, http.MethodGet, "/regions/:code/alerts", s.regionAlertsPage, app.Allow("alert", "read", region))
	s.r.Route(g, http.MethodGet, "/regions/:code/complaints", s.regionComplaintsPage, app.Allow("complaint", "read", region))
	s.r.Route(g, http.MethodGet, "/regions/:code/settings", s.bureauSettingsPage, app.Allow("setting", "write", region))
	s.r.Route(g, http.MethodPost, "/regions/:code/settings", s.bureauSettingsSubmit, app.Allow("setting", "write", region))
	s.r.Route(g, http.MethodGet, "/schools/:school/monitor", s.schoolMonitorPage, app.Allow("school", "read", school))
	s.r.Route(g, http.MethodGet, "/schools/:school/reports", s.schoolReportsPage, app.Allow("report", "read", school))
	s.r.Route(g, http.MethodGet, "/schools/:school/complaints", s.schoolComplaintsPage, app.Allow("complaint", "read", school))
	s.r.Route(g, http.MethodGet, "/reports/:id", s.reportPage, app.Allow("report", "read", report))
	s.r.Route(g, http.MethodPost, "/reports/:id", s.reportSubmitForm, app.Allow("report", "write", report))
	s.r.Route(g, http.MethodPost, "/reports/:id/review", s.reportReviewForm, app.Allow("report", "review", report))
	s.r.Route(g, http.MethodPost, "/alerts/:id/ack", s.alertAckForm, app.Allow("alert", "write", alert))
	s.r.Route(g, http.MethodPost, "/alerts/:id/resolve", s.alertResolveForm, app.Allow("alert", "write", alert))
	s.r.Route(g, http.MethodGet, "/complaints/new", s.complaintFormPage, app.Public())
	s.r.Route(g, http.MethodPost, "/complaints/new", s.complaintFormSubmit, app.Public())
	s.r.Route(g, http.MethodGet, "/complaints/track", s.complaintTrackPage, app.Public())
	s.r.Route(g, http.MethodPost, "/complaints/:id/assign", s.complaintAssignForm, app.Allow("complaint", "triage", complaintRegion()))
	s.r.Route(g, http.MethodPost, "/complaints/:id/close", s.complaintCloseForm, app.Allow("complaint", "triage", complaintRegion()))
	s.r.Route(g, http.MethodPost, "/complaints/:id/respond", s.complaintRespondForm, app.Allow("complaint", "respond", complaintSchool()))
	s.r.Route(g, http.MethodGet, "/admin/jobs", s.jobRunsPage, app.Allow("job", "read", nil))
	s.r.Route(g, http.MethodGet, "/reminders", s.remindersPage, app.SignedIn())
}

// formatValue shows an indicator value in its unit.
func formatValue(unit string, v float64) string {
	switch unit {
	case "pct":
		return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
	case "count":
		if v == math.Trunc(v) {
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
	case "ratio":
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

type colView struct {
	Key, MsgID, Unit, Group string
	SortURL                 string
	// Agg and Rule say how the region row combines the schools and which
	// rule the value measures (shown on hover).
	Agg, Rule string
}

type cellView struct {
	Text string
	Bad  bool
}

type rowView struct {
	ID         int64
	Code       string
	Name       string
	RegionCode string
	URL        string
	Score      string
	OpenAlerts int
	Breaches   []string
	Students   int64
	Cells      []cellView
}

type chartView struct {
	ID    string
	Title string // message id
	JSON  template.JS
}

type dashboardPageData struct {
	Region     models.Region
	Term       models.TermRef
	Cols       []colView
	Rollup     rowView
	SubRegions []rowView
	Schools    []rowView
	Charts     []chartView
	Sort       string
	ExportXLSX string
	ExportCSV  string
}

func cells(defs []models.IndicatorDef, rules []policies.AlertRule, vals map[string]float64) []cellView {
	out := make([]cellView, len(defs))
	for i, d := range defs {
		v, ok := vals[d.Key]
		if !ok {
			out[i] = cellView{Text: "—"}
			continue
		}
		bad := false
		for _, r := range rules {
			bad = bad || (r.Key == d.Key && r.Breached(v))
		}
		out[i] = cellView{Text: formatValue(d.Unit, v), Bad: bad}
	}
	return out
}

// trendCharts makes one ECharts line chart per indicator group from weeks.
func trendCharts(tr *views.Translator, defs []models.IndicatorDef, weeks []models.WeekPoint, prefix string) []chartView {
	var out []chartView
	x := make([]string, len(weeks))
	for i, w := range weeks {
		x[i] = w.Week
	}
	for gi, g := range models.Groups(defs) {
		var series []map[string]any
		var names []string
		hasPct, hasOther := false, false
		for _, d := range defs {
			if d.Group == g {
				hasPct, hasOther = hasPct || d.Unit == "pct", hasOther || d.Unit != "pct"
			}
		}
		for _, d := range defs {
			if d.Group != g {
				continue
			}
			data := make([]any, len(weeks))
			for i, w := range weeks {
				if v, ok := w.Values[d.Key]; ok {
					if d.Unit == "pct" {
						v = math.Round(v*1000) / 10
					}
					data[i] = v
				}
			}
			name := tr.T(d.MsgID)
			names = append(names, name)
			axis := 0
			if hasPct && d.Unit != "pct" {
				axis = 1 // percentages on the left axis, other units on the right
			}
			series = append(series, map[string]any{"name": name, "type": "line", "data": data, "connectNulls": true, "yAxisIndex": axis})
		}
		yAxis := []map[string]any{{"type": "value"}}
		if hasPct {
			yAxis[0]["axisLabel"] = map[string]any{"formatter": "{value}%"}
			if hasOther {
				yAxis = append(yAxis, map[string]any{"type": "value", "splitLine": map[string]any{"show": false}})
			}
		}
		opt := map[string]any{
			"tooltip": map[string]any{"trigger": "axis"},
			"legend":  map[string]any{"data": names, "type": "scroll"},
			"grid":    map[string]any{"left": 44, "right": 44, "top": 40, "bottom": 30},
			"xAxis":   map[string]any{"type": "category", "data": x},
			"yAxis":   yAxis,
			"series":  series,
		}
		b, _ := json.Marshal(opt)
		out = append(out, chartView{ID: fmt.Sprintf("%s%d", prefix, gi), Title: "bureau.group." + g, JSON: template.JS(b)})
	}
	return out
}

func (s *handlers) dashboardPage(c echo.Context) error {
	d, err := s.dashboard(c)
	if err != nil {
		return err
	}
	_, weeks, err := s.regionTrend(c)
	if err != nil {
		return err
	}
	base := "/regions/" + d.Region.Code + "?term=" + url.QueryEscape(d.Term.Key)
	data := dashboardPageData{Region: d.Region, Term: d.Term, Sort: c.QueryParam("sort"),
		ExportXLSX: "/api/v1/regions/" + d.Region.Code + "/report.xlsx?term=" + url.QueryEscape(d.Term.Key),
		ExportCSV:  "/api/v1/regions/" + d.Region.Code + "/report.csv?term=" + url.QueryEscape(d.Term.Key)}
	for _, def := range d.Defs {
		data.Cols = append(data.Cols, colView{Key: def.Key, MsgID: def.MsgID, Unit: def.Unit, Group: def.Group, SortURL: base + "&sort=" + url.QueryEscape(def.Key),
			Agg: models.AggregationOf(def), Rule: def.Rule})
	}
	roll := func(r models.RegionRollup) rowView {
		return rowView{Code: r.Code, Name: r.Name, URL: "/regions/" + r.Code, Students: r.Students, Cells: cells(d.Defs, d.Rules, r.Indicators)}
	}
	data.Rollup = roll(d.Rollup)
	for _, r := range d.SubRegions {
		data.SubRegions = append(data.SubRegions, roll(r))
	}
	for _, sc := range d.Schools {
		data.Schools = append(data.Schools, rowView{ID: sc.ID, Name: sc.Name, RegionCode: sc.RegionCode, URL: fmt.Sprintf("/schools/%d/monitor", sc.ID),
			Score: strconv.FormatFloat(sc.Score, 'f', 1, 64), OpenAlerts: sc.OpenAlerts, Breaches: sc.Breaches, Students: sc.Students,
			Cells: cells(d.Defs, d.Rules, sc.Indicators)})
	}
	data.Charts = trendCharts(app.Translator(c), d.Defs, weeks, "trend")
	return s.RenderPage(c, http.StatusOK, "bureau/dashboard", "bureau.dashboard_title", data)
}

type indicatorLine struct {
	MsgID, Group, Text string
	Bad                bool
}

type classLink struct {
	Label string
	URL   string
}

type alertView struct {
	models.Alert
	SchoolName string
	Label      string // message id of the indicator (its key when unknown)
	Value      string
	Threshold  string
	CanWrite   bool
}

type schoolMonitorData struct {
	School  *models.School
	Term    models.TermRef
	Lines   []indicatorLine
	Charts  []chartView
	Classes []classLink
	Alerts  []alertView
	Reports []ReportItem
	Next    string
}

func (s *handlers) CanDo(c echo.Context, t models.Target, obj, act string) bool {
	ok, _, err := s.Authz.Allowed(c.Request().Context(), app.ViewerOf(c).User.ID, t, obj, act)
	return err == nil && ok
}

func (s *handlers) alertViews(c echo.Context, as []models.Alert, names map[int64]string) []alertView {
	defs := models.IndicatorDefs()
	out := make([]alertView, 0, len(as))
	for _, a := range as {
		unit, label := "count", a.IndicatorKey
		if d, ok := models.FindDef(defs, a.IndicatorKey); ok {
			unit, label = d.Unit, d.MsgID
		}
		out = append(out, alertView{Alert: a, SchoolName: names[a.SchoolID], Label: label, Value: formatValue(unit, a.Value), Threshold: formatValue(unit, a.Threshold),
			CanWrite: s.CanDo(c, models.Target{SchoolID: a.SchoolID}, "alert", "write")})
	}
	return out
}

func (s *handlers) schoolMonitorPage(c echo.Context) error {
	ctx := c.Request().Context()
	res, sc, err := s.schoolIndicators(c, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	scopes, err := models.RegionScopes(ctx, s.DB, sc.RegionCode)
	if err != nil {
		return err
	}
	rules, err := models.AlertRulesAt(ctx, s.DB, scopes)
	if err != nil {
		return err
	}
	data := schoolMonitorData{School: sc, Term: res.Term, Next: c.Request().URL.RequestURI()}
	cs := cells(res.Defs, rules, res.Indicators)
	for i, d := range res.Defs {
		data.Lines = append(data.Lines, indicatorLine{MsgID: d.MsgID, Group: d.Group, Text: cs[i].Text, Bad: cs[i].Bad})
	}
	data.Charts = trendCharts(app.Translator(c), res.Defs, res.Weeks, "school")
	classes, err := models.ClassesOfSchool(ctx, s.DB, sc.ID)
	if err != nil {
		return err
	}
	for _, cl := range classes {
		data.Classes = append(data.Classes, classLink{Label: cl.Label(), URL: fmt.Sprintf("/homework/classes/%d/week", cl.ID)})
	}
	as, err := models.AlertsOf(ctx, s.DB, []int64{sc.ID}, "open")
	if err != nil {
		return err
	}
	data.Alerts = s.alertViews(c, as, map[int64]string{sc.ID: sc.Name})
	rs, err := models.ReportsOfSchool(ctx, s.DB, sc.ID)
	if err != nil {
		return err
	}
	for i, r := range rs {
		if i >= 6 {
			break
		}
		data.Reports = append(data.Reports, s.reportItem(r))
	}
	return s.RenderPage(c, http.StatusOK, "bureau/school", "bureau.school_title", data)
}

type reportsPageData struct {
	Title   string
	Reports []reportRow
	Status  string
}

type reportRow struct {
	ReportItem
	SchoolName string
}

func (s *handlers) schoolNamesByID(c echo.Context, ids []int64) map[int64]string {
	var schools []models.School
	s.DB.WithContext(c.Request().Context()).Where("id IN ?", ids).Find(&schools)
	out := map[int64]string{}
	for _, sc := range schools {
		out[sc.ID] = sc.Name
	}
	return out
}

func (s *handlers) regionReportsPage(c echo.Context) error {
	items, ids, status, err := s.regionReports(c)
	if err != nil {
		return err
	}
	names := s.schoolNamesByID(c, ids)
	data := reportsPageData{Status: status}
	for _, it := range items.Items {
		data.Reports = append(data.Reports, reportRow{ReportItem: it, SchoolName: names[it.SchoolID]})
	}
	return s.RenderPage(c, http.StatusOK, "bureau/reports", "bureau.reports_title", data)
}

func (s *handlers) schoolReportsPage(c echo.Context) error {
	id := app.TargetOf(c).SchoolID
	rs, err := models.ReportsOfSchool(c.Request().Context(), s.DB, id)
	if err != nil {
		return err
	}
	names := s.schoolNamesByID(c, []int64{id})
	data := reportsPageData{}
	for _, it := range s.reportItems(rs, "").Items {
		data.Reports = append(data.Reports, reportRow{ReportItem: it, SchoolName: names[it.SchoolID]})
	}
	return s.RenderPage(c, http.StatusOK, "bureau/reports", "bureau.reports_title", data)
}

type reportPageData struct {
	Report     ReportItem
	SchoolName string
	Lines      []indicatorLine
	CanWrite   bool
	CanReview  bool
	Editable   bool
}

func (s *handlers) reportPage(c echo.Context) error {
	id, _ := app.ParamID(c, "id")
	r, err := models.GetReport(c.Request().Context(), s.DB, id)
	if err != nil {
		return err
	}
	it := s.reportItem(*r)
	data := reportPageData{Report: it, SchoolName: s.schoolNamesByID(c, []int64{r.SchoolID})[r.SchoolID],
		CanWrite:  s.CanDo(c, models.Target{SchoolID: r.SchoolID}, "report", "write"),
		CanReview: s.CanDo(c, models.Target{SchoolID: r.SchoolID}, "report", "review"),
		Editable:  policies.ReportEditable(r.Status)}
	for _, d := range models.IndicatorDefs() {
		if v, ok := it.Snapshot.Indicators[d.Key]; ok {
			data.Lines = append(data.Lines, indicatorLine{MsgID: d.MsgID, Group: d.Group, Text: formatValue(d.Unit, v)})
		}
	}
	return s.RenderPage(c, http.StatusOK, "bureau/report", "bureau.report_title", data)
}

func (s *handlers) reportSubmitForm(c echo.Context) error {
	var req narrativeRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	id, _ := app.ParamID(c, "id")
	ctx := c.Request().Context()
	if c.FormValue("action") == "submit" {
		if _, err := models.SubmitReport(ctx, s.DB, id, app.TargetOf(c).SchoolID, app.ViewerOf(c).User.ID, strings.TrimSpace(req.Narrative)); err != nil {
			return err
		}
		return app.RedirectWithFlash(c, fmt.Sprintf("/reports/%d", id), "report.submitted")
	}
	if _, err := models.SaveReportNarrative(ctx, s.DB, id, app.TargetOf(c).SchoolID, strings.TrimSpace(req.Narrative)); err != nil {
		return err
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/reports/%d", id), "report.saved")
}

func (s *handlers) reportReviewForm(c echo.Context) error {
	var req reviewRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	id, _ := app.ParamID(c, "id")
	accept := c.FormValue("decision") == "accept"
	if _, err := models.ReviewReport(c.Request().Context(), s.DB, id, app.TargetOf(c).SchoolID, app.ViewerOf(c).User.ID, accept, strings.TrimSpace(req.Comment)); err != nil {
		return err
	}
	msg := "report.returned"
	if accept {
		msg = "report.accepted"
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/reports/%d", id), msg)
}

type alertsPageData struct {
	Region models.Region
	Alerts []alertView
	Status string
	Next   string
}

func (s *handlers) regionAlertsPage(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := models.GetRegion(ctx, s.DB, c.Param("code"))
	if err != nil {
		return err
	}
	ids, err := s.regionSchoolIDs(c)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status == "" {
		status = "open"
	}
	if status == "all" {
		status = ""
	}
	as, err := models.AlertsOf(ctx, s.DB, ids, status)
	if err != nil {
		return err
	}
	data := alertsPageData{Region: *r, Alerts: s.alertViews(c, as, s.schoolNamesByID(c, ids)), Status: c.QueryParam("status"), Next: c.Request().URL.RequestURI()}
	return s.RenderPage(c, http.StatusOK, "bureau/alerts", "bureau.alerts_title", data)
}

func (s *handlers) alertForm(c echo.Context, resolve bool) (err error) {
	defer models.Wrap(&err, "bureau.alertForm")
	var req noteRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	id, _ := app.ParamID(c, "id")
	ctx := c.Request().Context()
	msg := "alert.acknowledged"
	if resolve {
		_, err = models.ResolveAlert(ctx, s.DB, id, app.TargetOf(c).SchoolID, app.ViewerOf(c).User.ID, strings.TrimSpace(req.Note))
		msg = "alert.resolved"
	} else {
		_, err = models.AcknowledgeAlert(ctx, s.DB, id, app.TargetOf(c).SchoolID, app.ViewerOf(c).User.ID, strings.TrimSpace(req.Note))
	}
	if err != nil {
		return err
	}
	return app.RedirectWithFlash(c, app.SafeNext(c.FormValue("next")), msg)
}

func (s *handlers) alertAckForm(c echo.Context) error     { return s.alertForm(c, false) }
func (s *handlers) alertResolveForm(c echo.Context) error { return s.alertForm(c, true) }

type complaintView struct {
	ComplaintItem
	SchoolName string
	Category   string // message id
}

type complaintsPageData struct {
	Region     *models.Region
	Times      *models.ComplaintTimes
	Complaints []complaintView
	Schools    []models.School // assignable schools (bureau)
	Bureau     bool
	Status     string
	Next       string
}

func (s *handlers) complaintViews(c echo.Context, cs []models.Complaint, forSchool bool) []complaintView {
	var ids []int64
	for _, cp := range cs {
		if cp.SchoolID != nil {
			ids = append(ids, *cp.SchoolID)
		}
	}
	names := s.schoolNamesByID(c, ids)
	var out []complaintView
	for _, it := range s.complaintItems(cs, forSchool).Items {
		v := complaintView{ComplaintItem: it, Category: "complaint.cat." + it.Complaint.Category}
		if it.SchoolID != nil {
			v.SchoolName = names[*it.SchoolID]
		}
		out = append(out, v)
	}
	return out
}

func (s *handlers) regionComplaintsPage(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := models.GetRegion(ctx, s.DB, c.Param("code"))
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status == "" {
		status = "open"
	}
	q := status
	if q == "all" {
		q = ""
	}
	cs, err := s.regionComplaints(c, q)
	if err != nil {
		return err
	}
	all, err := s.regionComplaints(c, "")
	if err != nil {
		return err
	}
	times := models.MeasureComplaints(all, s.Today(nil))
	codes, err := models.SubRegionCodes(ctx, s.DB, r.Code)
	if err != nil {
		return err
	}
	schools, err := models.SchoolsInRegions(ctx, s.DB, codes)
	if err != nil {
		return err
	}
	data := complaintsPageData{Region: r, Times: &times, Complaints: s.complaintViews(c, cs, false), Schools: schools, Bureau: true,
		Status: status, Next: c.Request().URL.RequestURI()}
	return s.RenderPage(c, http.StatusOK, "bureau/complaints", "complaint.list_title", data)
}

func (s *handlers) schoolComplaintsPage(c echo.Context) error {
	cs, err := models.ComplaintsOfSchool(c.Request().Context(), s.DB, app.TargetOf(c).SchoolID, "")
	if err != nil {
		return err
	}
	data := complaintsPageData{Complaints: s.complaintViews(c, cs, true), Next: c.Request().URL.RequestURI()}
	return s.RenderPage(c, http.StatusOK, "bureau/complaints", "complaint.list_title", data)
}

func (s *handlers) complaintAssignForm(c echo.Context) error {
	var req assignRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	if _, err := models.AssignComplaint(c.Request().Context(), s.DB, complaintOf(c).ID, req.SchoolID, strings.TrimSpace(req.Note), s.Cfg.Now()); err != nil {
		return err
	}
	return app.RedirectWithFlash(c, app.SafeNext(c.FormValue("next")), "complaint.assigned")
}

func (s *handlers) complaintCloseForm(c echo.Context) error {
	var req complaintFeedbackRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	if _, err := models.CloseComplaint(c.Request().Context(), s.DB, complaintOf(c).ID, strings.TrimSpace(req.Feedback), s.Cfg.Now()); err != nil {
		return err
	}
	return app.RedirectWithFlash(c, app.SafeNext(c.FormValue("next")), "complaint.closed")
}

func (s *handlers) complaintRespondForm(c echo.Context) error {
	var req responseRequest
	if err := app.Bind(c, &req); err != nil {
		return err
	}
	if _, err := models.RespondComplaint(c.Request().Context(), s.DB, complaintOf(c).ID, app.TargetOf(c).SchoolID, strings.TrimSpace(req.Response), s.Cfg.Now()); err != nil {
		return err
	}
	return app.RedirectWithFlash(c, app.SafeNext(c.FormValue("next")), "complaint.responded")
}

type complaintFormData struct {
	Regions    []models.Region
	Categories []string
	Form       complaintRequest
	Filed      *TrackedComplaint
}

func (s *handlers) complaintForm(c echo.Context, status int, data complaintFormData, errMsg string) (err error) {
	defer models.Wrap(&err, "bureau.complaintForm")
	var regions []models.Region
	if err := s.DB.WithContext(c.Request().Context()).Order("code").Find(&regions).Error; err != nil {
		return err
	}
	data.Regions, data.Categories = regions, policies.ComplaintCategories
	if data.Form.RegionCode == "" {
		data.Form.RegionCode = c.QueryParam("region")
	}
	p := s.Page(c, "complaint.form_title", data)
	p.Error = errMsg
	return s.RenderPageModel(c, status, "bureau/complaint_form", p)
}

func (s *handlers) complaintFormPage(c echo.Context) error {
	return s.complaintForm(c, http.StatusOK, complaintFormData{}, "")
}

// complaintFormSubmit files the public form; errors show on the form again
// (with the reporter's text kept), and success shows the tracking code.
func (s *handlers) complaintFormSubmit(c echo.Context) error {
	var req complaintRequest
	err := app.Bind(c, &req)
	var cp *models.Complaint
	if err == nil {
		cp, err = s.fileComplaint(c, req)
	}
	if err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.complaintForm(c, fe.Status, complaintFormData{Form: req}, fe.Message)
		})
	}
	t := tracked(cp)
	return s.complaintForm(c, http.StatusCreated, complaintFormData{Filed: &t}, "")
}

type trackPageData struct {
	Code      string
	Complaint *TrackedComplaint
	NotFound  bool
}

func (s *handlers) complaintTrackPage(c echo.Context) error {
	data := trackPageData{Code: strings.TrimSpace(c.QueryParam("code"))}
	if data.Code != "" {
		cp, err := models.ComplaintByCode(c.Request().Context(), s.DB, data.Code)
		if err != nil {
			data.NotFound = true
		} else {
			t := tracked(cp)
			data.Complaint = &t
		}
	}
	return s.RenderPage(c, http.StatusOK, "bureau/complaint_track", "complaint.track_title", data)
}

type settingsPageData struct {
	Region     models.Region
	Cycles     map[string]bool
	Rules      []policies.AlertRule
	AllCycle   []string
	Indicators []indicatorOption // what a rule watches, chosen by name
	RuleIDs    []string          // the rule ids of POLICY.md a rule may carry
}

// indicatorOption is an indicator the alert-rule form offers by its name.
type indicatorOption struct{ Key, Label string }

func (s *handlers) bureauSettingsPage(c echo.Context) error {
	bs, err := s.bureauSettings(c)
	if err != nil {
		return err
	}
	return s.renderSettings(c, http.StatusOK, bs.ReportCycles, bs.AlertRules, "")
}

func (s *handlers) renderSettings(c echo.Context, status int, cycles []string, rules []policies.AlertRule, msg string) error {
	r, err := models.GetRegion(c.Request().Context(), s.DB, c.Param("code"))
	if err != nil {
		return err
	}
	tr := app.Translator(c)
	data := settingsPageData{Region: *r, Cycles: map[string]bool{}, Rules: rules, AllCycle: policies.ReportCycles}
	for _, cy := range cycles {
		data.Cycles[cy] = true
	}
	seen := map[string]bool{}
	for _, def := range models.IndicatorDefs() {
		data.Indicators = append(data.Indicators, indicatorOption{Key: def.Key, Label: tr.T(def.MsgID)})
	}
	for _, rule := range policies.DefaultAlertRules {
		if !seen[rule.ID] {
			data.RuleIDs = append(data.RuleIDs, rule.ID)
			seen[rule.ID] = true
		}
	}
	return s.RenderWithError(c, status, "bureau/settings", "bureau.settings_title", msg, data)
}

// bureauSettingsSubmit reads the settings form: the cycles ticked, and for
// each rule (rule_id[i], rule_key[i], rule_op[i], rule_threshold[i]).
func (s *handlers) bureauSettingsSubmit(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return models.Invalid("error.bad_request", nil)
	}
	// The page always sends its rule rows (at least the empty one): a form
	// without them is not this page's, and must not delete every rule.
	if _, ok := form["rule_id"]; !ok {
		return models.Invalid("error.empty_body", nil)
	}
	req := BureauSettings{ReportCycles: form["cycle"], AlertRules: []policies.AlertRule{}}
	ids, keys, ops, ths := form["rule_id"], form["rule_key"], form["rule_op"], form["rule_threshold"]
	for i := range ids {
		if i >= len(keys) || i >= len(ops) || i >= len(ths) {
			break
		}
		if strings.TrimSpace(ids[i]) == "" && strings.TrimSpace(keys[i]) == "" {
			continue // an empty row of the form
		}
		th, perr := strconv.ParseFloat(strings.TrimSpace(ths[i]), 64)
		if (perr != nil || math.IsNaN(th) || math.IsInf(th, 0)) && err == nil {
			err = models.Invalid("bureau.rule_invalid", map[string]any{"Rule": ids[i]})
		}
		req.AlertRules = append(req.AlertRules, policies.AlertRule{ID: strings.TrimSpace(ids[i]), Key: strings.TrimSpace(keys[i]), Op: ops[i], Threshold: th})
	}
	if err == nil {
		err = s.saveBureauSettings(c, req)
	}
	if err != nil {
		// The same page again with what was entered and the reason.
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.renderSettings(c, fe.Status, req.ReportCycles, req.AlertRules, fe.Message)
		})
	}
	return app.RedirectWithFlash(c, "/regions/"+c.Param("code")+"/settings", "bureau.settings_saved")
}

// jobsView is /admin/jobs: the latest runs, and the due periods of the
// catch-up window that are missed (no run), failed or still running.
type jobsView struct {
	Runs   []models.JobRun         `json:"items"`
	Missed []scheduler.PeriodState `json:"missed"`
	Days   int                     `json:"catchup_days"`
}

func (s *handlers) jobsData(c echo.Context) (_ *jobsView, err error) {
	defer models.Wrap(&err, "bureau.jobsData")
	ctx := c.Request().Context()
	rs, err := models.RecentJobRuns(ctx, s.DB, c.QueryParam("job"), 200)
	if err != nil {
		return nil, err
	}
	n, err := scheduler.CatchupDaysFromEnv()
	if err != nil {
		n = 0
	}
	days := scheduler.ShownCatchupDays(n)
	missed, err := scheduler.PeriodStates(ctx, s.DB, scheduler.BureauJobs(s.DB), s.Cfg.Now(), models.School{}.Location(), days)
	if err != nil {
		return nil, err
	}
	if missed == nil {
		missed = []scheduler.PeriodState{}
	}
	return &jobsView{Runs: rs, Missed: missed, Days: days}, nil
}

func (s *handlers) jobRunsPage(c echo.Context) error {
	data, err := s.jobsData(c)
	if err != nil {
		return err
	}
	return s.RenderPage(c, http.StatusOK, "bureau/jobs", "bureau.jobs_title", data)
}

type reminderView struct {
	Text string
	Link string
	When string
}

func (s *handlers) remindersPage(c echo.Context) error {
	rs, err := models.RemindersOf(c.Request().Context(), s.DB, app.ViewerOf(c).User.ID)
	if err != nil {
		return err
	}
	tr := app.Translator(c)
	var out []reminderView
	for _, r := range rs {
		out = append(out, reminderView{Text: tr.T(r.MsgID, r.ParamMap()), Link: r.Link, When: models.School{}.Today(r.CreatedAt)})
	}
	return s.RenderPage(c, http.StatusOK, "bureau/reminders", "reminder.title", out)
}
