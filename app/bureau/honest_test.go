package bureau_test

import (
	"net/http"
	"strings"
	"testing"

	"jianfu/app/apptest"
	"jianfu/scheduler"
)

// Alerts name exactly what they count: no alert rule on participation
// (voluntary, AS-04), one rule per rule id, only registered indicators.
func TestAlertRulesMeanWhatTheySay(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		fuxin := e.Login("bureau.fuxin")
		put := func(rules ...map[string]any) (int, map[string]any) {
			return fuxin.Do(http.MethodPut, "/api/v1/regions/210900/settings/bureau", map[string]any{"report_cycles": []string{}, "alert_rules": rules})
		}
		status, body := put(map[string]any{"id": "AS-03", "key": "as.participation_pct", "op": "lt", "threshold": 0.95})
		if status != http.StatusUnprocessableEntity || body["error"] != "indicator_not_alertable" || body["details"].(map[string]any)["rule"] != "AS-04" {
			t.Fatalf("rule on participation: %d %v", status, body)
		}
		status, body = put(map[string]any{"id": "EX-01", "key": "ex.ex01_refusals", "op": "gt", "threshold": 0},
			map[string]any{"id": "EX-01", "key": "ex.refused_attempts", "op": "gt", "threshold": 0})
		if status != http.StatusBadRequest {
			t.Fatalf("two rules under one id: %d %v", status, body)
		}
		if status, body = put(map[string]any{"id": "AS-03", "key": "as.no_such_thing", "op": "lt", "threshold": 1}); status != http.StatusBadRequest {
			t.Fatalf("unknown indicator: %d %v", status, body)
		}
		if status, body = put(map[string]any{"id": "AS-03", "key": "as.coverage_pct", "op": "lt", "threshold": 0.9}); status != 200 {
			t.Fatalf("a good rule: %d %v", status, body)
		}
	})
}

// Finding 8 on /admin/jobs: the due periods that never ran are listed as
// missed (nothing has run in the test server).
func TestJobsPageShowsMissedPeriods(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		admin := e.Login("admin")
		status, body := admin.Do(http.MethodGet, "/api/v1/admin/jobs", nil)
		missed, _ := body["missed"].([]any)
		if status != 200 || len(missed) == 0 {
			t.Fatalf("jobs: %d %v", status, body)
		}
		found := false
		for _, m := range missed {
			r := m.(map[string]any)
			if r["job"] == scheduler.JobReportDrafts && r["state"] == scheduler.StateMissed {
				found = true
			}
		}
		if !found {
			t.Fatalf("no missed report_drafts period in %v", missed)
		}
		b := e.Browser()
		b.SignIn("admin")
		if status, page := b.Get("/admin/jobs"); status != 200 || !strings.Contains(page, `data-state="missed"`) {
			t.Fatalf("jobs page: %d", status)
		}
	})
}
