package bureau

// Orchestration of the bureau area: operations that span several model calls,
// and the ownership checks next to the data they guard. Handlers bind, call
// one of these, and render.

import (
	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
)

// dashboard gives the region dashboard with the request's term and sort,
// from the shared cache (read on the replica when there is one). The
// result is the caller's to read, not to change.
func (s *handlers) dashboard(c echo.Context) (_ *models.Dashboard, err error) {
	defer models.Wrap(&err, "bureau.dashboard")
	e, err := s.dashboards.get(c.Request().Context(), s, dashKey{c.Param("code"), c.QueryParam("term"), s.Today(nil)})
	if err != nil {
		return nil, err
	}
	return sorted(c, e.d)
}

// regionTrend is the weekly trend of the region's dashboard (same schools,
// same term), cached with it.
func (s *handlers) regionTrend(c echo.Context) (_ *models.Dashboard, _ []models.WeekPoint, err error) {
	defer models.Wrap(&err, "bureau.regionTrend")
	e, err := s.dashboards.get(c.Request().Context(), s, dashKey{c.Param("code"), c.QueryParam("term"), s.Today(nil)})
	if err != nil {
		return nil, nil, err
	}
	weeks, err := e.trend(c.Request().Context(), s)
	return e.d, weeks, err
}

func (s *handlers) regionSchoolIDs(c echo.Context) (_ []int64, err error) {
	defer models.Wrap(&err, "bureau.regionSchoolIDs")
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

func (s *handlers) schoolIndicators(c echo.Context, id int64) (_ *schoolIndicatorsResponse, _ *models.School, err error) {
	defer models.Wrap(&err, "bureau.schoolIndicators")
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
	return &schoolIndicatorsResponse{School: app.SchoolItem{ID: sc.ID, Name: sc.Name, RegionCode: sc.RegionCode, Stage: sc.Stage},
		Term: term, Indicators: vals[id], Defs: models.IndicatorDefs(), Weeks: weeks}, sc, nil
}

func (s *handlers) bureauSettings(c echo.Context) (_ BureauSettings, err error) {
	defer models.Wrap(&err, "bureau.bureauSettings")
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

// saveBureauSettings stores a region's report cycles and alert rules.
func (s *handlers) saveBureauSettings(c echo.Context, req BureauSettings) (err error) {
	defer models.Wrap(&err, "bureau.saveBureauSettings")
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
	// Well formed, on an indicator that may be alerted on (never
	// participation, AS-04), one rule per rule id.
	if err := models.ValidateAlertRules(req.AlertRules); err != nil {
		return err
	}
	scope := policies.RegionDomain(c.Param("code"))
	if extra == nil {
		extra = []string{}
	}
	// A list left out of the request is kept, not emptied.
	if req.ReportCycles != nil {
		if err := models.PutSetting(ctx, s.DB, 0, scope, models.SettingReportCycles, extra); err != nil {
			return err
		}
	}
	if req.AlertRules != nil {
		return models.PutSetting(ctx, s.DB, 0, scope, models.SettingAlertRules, req.AlertRules)
	}
	return nil
}

// regionReports lists the reports of the region's schools filtered by the
// status query parameter ("overdue" is derived, not stored), with the
// schools' ids for naming them.
func (s *handlers) regionReports(c echo.Context) (_ app.List[ReportItem], _ []int64, _ string, err error) {
	defer models.Wrap(&err, "bureau.regionReports")
	ids, err := s.regionSchoolIDs(c)
	if err != nil {
		return app.List[ReportItem]{}, nil, "", err
	}
	status := c.QueryParam("status")
	stored := status
	if stored == "overdue" {
		stored = ""
	}
	rs, err := models.ReportsInSchools(c.Request().Context(), s.DB, ids, stored)
	if err != nil {
		return app.List[ReportItem]{}, nil, "", err
	}
	return s.reportItems(rs, status), ids, status, nil
}

func (s *handlers) fileComplaint(c echo.Context, req complaintRequest) (_ *models.Complaint, err error) {
	defer models.Wrap(&err, "bureau.fileComplaint")
	in := models.ComplaintInput{RegionCode: req.RegionCode, SchoolName: req.SchoolName, Category: req.Category, Body: req.Body,
		Anonymous: req.Anonymous, ReporterName: req.ReporterName, ReporterContact: req.ReporterContact, IPHash: clientHash(c), NetHash: networkHash(c)}
	if v := app.ViewerOf(c); v != nil {
		in.ReporterUserID = v.User.ID
	}
	return models.FileComplaint(c.Request().Context(), s.DB, in, s.Cfg.Now())
}
