package bureau_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"jianfu/app/apptest"
	"jianfu/models"
	"jianfu/scheduler"
)

// fixtureIndicators registers test sources for the "homework" and
// "afterschool" groups, computed from a small table the test fills, so the
// bureau's aggregation is checked on real numbers without the other areas.
func fixtureIndicators(t *testing.T, db *gorm.DB) {
	t.Helper()
	if err := db.Exec(`CREATE TABLE fixture_indicator_values (school_id BIGINT NOT NULL, date TEXT NOT NULL, key TEXT NOT NULL, value DOUBLE PRECISION NOT NULL)`).Error; err != nil {
		t.Fatal(err)
	}
	compute := func(ctx context.Context, db *gorm.DB, ids []int64, from, to string) (map[int64]map[string]float64, error) {
		out := map[int64]map[string]float64{}
		if !db.Migrator().HasTable("fixture_indicator_values") {
			return out, nil
		}
		var rows []struct {
			SchoolID int64
			Key      string
			V        float64
		}
		err := db.Table("fixture_indicator_values").Select("school_id, key, AVG(value) AS v").
			Where("school_id IN ? AND date >= ? AND date <= ?", ids, from, to).Group("school_id, key").Scan(&rows).Error
		for _, r := range rows {
			if out[r.SchoolID] == nil {
				out[r.SchoolID] = map[string]float64{}
			}
			out[r.SchoolID][r.Key] = r.V
		}
		return out, err
	}
	t.Cleanup(models.RegisterIndicators(models.IndicatorSource{Group: "afterschool", Compute: compute, Defs: []models.IndicatorDef{
		{Key: "fixture.coverage_pct", Group: "afterschool", MsgID: "fixture.as.coverage", Unit: "pct", HigherIsBetter: true},
	}}))
	t.Cleanup(models.RegisterIndicators(models.IndicatorSource{Group: "homework", Compute: compute, Defs: []models.IndicatorDef{
		{Key: "fixture.over_cap_days", Group: "homework", MsgID: "fixture.hw.over_cap_days", Unit: "days"},
		{Key: "fixture.refused", Group: "homework", MsgID: "fixture.hw.refused", Unit: "count"},
	}}))
}

// useFixtureRules makes the city's alert rules read the fixture keys (and
// the complaints group), so the tests do not depend on other areas' keys.
func useFixtureRules(t *testing.T, e *apptest.Env, coverage float64) {
	t.Helper()
	status, body := e.Login("bureau.fuxin").Do(http.MethodPut, "/api/v1/regions/210900/settings/bureau", map[string]any{"report_cycles": []string{},
		"alert_rules": []map[string]any{
			{"id": "AS-03", "key": "fixture.coverage_pct", "op": "lt", "threshold": coverage},
			{"id": "HW-02/03", "key": "fixture.over_cap_days", "op": "gte", "threshold": 2},
			{"id": "MON-04", "key": "cp.overdue", "op": "gt", "threshold": 0}}})

	if status != 200 {
		t.Fatalf("alert rules: %d %v", status, body)
	}
}

// setFixture stores one value per school and key on date.
func setFixture(t *testing.T, db *gorm.DB, schoolID int64, date, key string, v float64) {
	t.Helper()
	if err := db.Exec("DELETE FROM fixture_indicator_values WHERE school_id = ? AND date = ? AND key = ?", schoolID, date, key).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("INSERT INTO fixture_indicator_values (school_id, date, key, value) VALUES (?, ?, ?, ?)", schoolID, date, key, v).Error; err != nil {
		t.Fatal(err)
	}
}

// fillFixture gives every school coverage 98% and no over-cap days, except
// hz1 (coverage 90%, AS-03) and the second school (3 over-cap days, HW-02/03).
func fillFixture(t *testing.T, e *apptest.Env) {
	t.Helper()
	useFixtureRules(t, e, 0.95)
	for i, s := range e.District.Schools {
		cov, over := 0.98, 1.0
		switch {
		case s.ID == e.HZ1().ID:
			cov = 0.90
		case i == 1:
			over = 3
		}
		setFixture(t, e.DB, s.ID, apptest.Today, "fixture.coverage_pct", cov)
		setFixture(t, e.DB, s.ID, apptest.Today, "fixture.over_cap_days", over)
		setFixture(t, e.DB, s.ID, apptest.Today, "fixture.refused", float64(i))
	}
}

type dashboardJSON struct {
	Region struct{ Code, Name string }
	Term   struct{ Key, From, To string }
	Rollup struct {
		Code       string
		Schools    int
		Students   int64
		Indicators map[string]float64
	}
	SubRegions []struct {
		Code       string
		Schools    int
		Indicators map[string]float64
	} `json:"sub_regions"`
	Schools []struct {
		ID         int64
		Name       string
		RegionCode string `json:"region_code"`
		Students   int64
		Score      float64
		Breaches   []string
		Indicators map[string]float64
	}
}

func getDashboard(t *testing.T, c *apptest.Client, path string) dashboardJSON {
	t.Helper()
	status, raw := c.Raw(http.MethodGet, path, nil)
	if status != 200 {
		t.Fatalf("%s: %d %s", path, status, raw)
	}
	var d dashboardJSON
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBureauDashboard(t *testing.T) {
	apptest.EachSerial(t, func(t *testing.T, e *apptest.Env) {
		fixtureIndicators(t, e.DB)
		fillFixture(t, e)
		hz1 := e.HZ1()
		fuxin := e.Login("bureau.fuxin")
		t.Run("FuxinSeesEverySchool", func(t *testing.T) {
			d := getDashboard(t, fuxin, "/api/v1/regions/210900/dashboard")
			if len(d.Schools) != len(e.District.Schools) || len(d.Schools) != 14 {
				t.Fatalf("%d schools, want %d", len(d.Schools), len(e.District.Schools))
			}
			for _, s := range d.Schools {
				if _, ok := s.Indicators["fixture.coverage_pct"]; !ok {
					t.Errorf("%s has no after-school indicator", s.Name)
				}
				if _, ok := s.Indicators["cp.open"]; !ok {
					t.Errorf("%s has no complaints indicator", s.Name)
				}
			}

			for _, s := range d.Schools {
				if s.ID == hz1.ID && (!contains(s.Breaches, "AS-03") || !contains(s.Breaches, "MON-04") || s.Score < 30) {
					t.Errorf("hz1 breaches %v, score %v", s.Breaches, s.Score)
				}
			}
			for i := 1; i < len(d.Schools); i++ {
				if d.Schools[i].Score > d.Schools[i-1].Score {
					t.Fatalf("not sorted worst first at %d", i)
				}
			}

			var num, den, refused float64
			for _, s := range d.Schools {
				num += s.Indicators["fixture.coverage_pct"] * float64(s.Students)
				den += float64(s.Students)
				refused += s.Indicators["fixture.refused"]
			}
			if got, want := d.Rollup.Indicators["fixture.coverage_pct"], math.Round(num/den*10000)/10000; got != want || d.Rollup.Schools != 14 {
				t.Errorf("region coverage %v, want %v", got, want)
			}
			if d.Rollup.Indicators["fixture.refused"] != refused || refused != 91 {
				t.Errorf("refused saves %v, want the sum %v", d.Rollup.Indicators["fixture.refused"], refused)
			}
			if len(d.SubRegions) != 7 {
				t.Fatalf("%d sub-regions", len(d.SubRegions))
			}
			for _, sr := range d.SubRegions {
				if sr.Code == "210902" && (sr.Schools != 2 || sr.Indicators["fixture.coverage_pct"] >= 0.98) {
					t.Errorf("海州区 rollup %+v", sr)
				}
			}
		})
		t.Run("SortByIndicator", func(t *testing.T) {
			d := getDashboard(t, fuxin, "/api/v1/regions/210900/dashboard?sort=fixture.over_cap_days")
			if d.Schools[0].Indicators["fixture.over_cap_days"] != 3 {
				t.Errorf("worst over-cap school not first: %+v", d.Schools[0])
			}
			d = getDashboard(t, fuxin, "/api/v1/regions/210900/dashboard?sort=fixture.coverage_pct")
			if d.Schools[0].ID != hz1.ID {
				t.Errorf("lowest coverage not first: %s", d.Schools[0].Name)
			}
			if status, _ := fuxin.Do(http.MethodGet, "/api/v1/regions/210900/dashboard?sort=nope", nil); status != 400 {
				t.Errorf("unknown sort key: %d", status)
			}
			if status, _ := fuxin.Do(http.MethodGet, "/api/v1/regions/210900/dashboard?term=1999-2000-1", nil); status != 400 {
				t.Errorf("unknown term: %d", status)
			}
		})
		t.Run("HaizhouSeesOnlyItsSchools", func(t *testing.T) {
			hz := e.Login("bureau.haizhou")
			d := getDashboard(t, hz, "/api/v1/regions/210902/dashboard")
			if len(d.Schools) != 2 {
				t.Fatalf("%d schools", len(d.Schools))
			}
			for _, s := range d.Schools {
				if s.RegionCode != "210902" {
					t.Errorf("school %s of %s", s.Name, s.RegionCode)
				}
			}
			for _, p := range []string{"/api/v1/regions/210903/dashboard", "/api/v1/regions/210900/dashboard", "/api/v1/regions/210903/report.xlsx", "/api/v1/regions/999999/dashboard"} {
				if status, _ := hz.Do(http.MethodGet, p, nil); status != 404 {
					t.Errorf("bureau.haizhou %s: %d, want 404", p, status)
				}
			}
			if status, _ := e.Login("principal.hz1").Do(http.MethodGet, "/api/v1/regions/210902/dashboard", nil); status != 404 {
				t.Errorf("principal on the region dashboard: %d", status)
			}
		})
		t.Run("Pages", func(t *testing.T) {
			b := e.Browser()
			b.SignIn("bureau.fuxin")
			status, page := b.Get("/regions/210900")
			if status != 200 || !strings.Contains(page, hz1.Name) || !strings.Contains(page, `data-chart="trend0"`) || !strings.Contains(page, "AS-03") {
				t.Fatalf("dashboard page: %d", status)
			}
			status, page = b.Get(fmt.Sprintf("/schools/%d/monitor", hz1.ID))
			c41 := e.Class(hz1.ID, 4, 1)
			if status != 200 || !strings.Contains(page, fmt.Sprintf(`href="/homework/classes/%d/week"`, c41.ID)) {
				t.Fatalf("school page: %d", status)
			}
			hb := e.Browser()
			hb.SignIn("bureau.haizhou")
			if status, _ := hb.Get("/regions/210903"); status != 404 {
				t.Errorf("bureau.haizhou on 新邱区 page: %d", status)
			}
			xq := e.School("阜新市新邱区第一小学")
			if status, _ := hb.Get(fmt.Sprintf("/schools/%d/monitor", xq.ID)); status != 404 {
				t.Errorf("bureau.haizhou on a 新邱区 school: %d", status)
			}
		})
	})

}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// The workbook carries the same numbers as the dashboard API, as numbers.
func TestBureauExportEqualsDashboard(t *testing.T) {
	apptest.EachSerial(t, func(t *testing.T, e *apptest.Env) {
		fixtureIndicators(t, e.DB)
		fillFixture(t, e)
		fuxin := e.Login("bureau.fuxin")
		d := getDashboard(t, fuxin, "/api/v1/regions/210900/dashboard")
		status, raw := fuxin.Raw(http.MethodGet, "/api/v1/regions/210900/report.xlsx", nil)
		if status != 200 {
			t.Fatalf("xlsx: %d", status)
		}
		f, err := excelize.OpenReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if sheets[0] != "汇总" || !contains(sheets, "投诉") || !contains(sheets, "课后服务") || !contains(sheets, "作业") {
			t.Fatalf("sheets %v", sheets)
		}
		byID := map[string]map[string]float64{}
		for _, s := range d.Schools {
			byID[strconv.FormatInt(s.ID, 10)] = s.Indicators
		}
		byID["210900"] = d.Rollup.Indicators
		for _, sr := range d.SubRegions {
			byID[sr.Code] = sr.Indicators
		}
		keyOf := map[string]string{"收到投诉（个）": "cp.filed", "未办结投诉（个）": "cp.open", "超期未办结（个）": "cp.overdue",
			"fixture.as.coverage（%）": "fixture.coverage_pct", "fixture.hw.over_cap_days（天）": "fixture.over_cap_days", "fixture.hw.refused（个）": "fixture.refused"}
		checked := 0
		for _, sh := range sheets[1:] {
			rows, err := f.GetRows(sh, excelize.Options{RawCellValue: true})
			if err != nil {
				t.Fatal(err)
			}
			if rows[0][0] != "类型" || rows[0][2] != "名称" {
				t.Fatalf("%s headers %v", sh, rows[0])
			}
			if len(rows) != 1+14+7+1 {
				t.Fatalf("%s has %d rows", sh, len(rows))
			}
			for ri, row := range rows[1:] {
				vals := byID[row[1]]
				for j := 4; j < len(rows[0]); j++ {
					key, ok := keyOf[rows[0][j]]
					if !ok {
						continue
					}
					cell, _ := excelize.CoordinatesToCellName(j+1, ri+2)
					typ, _ := f.GetCellType(sh, cell)
					v, has := vals[key]
					if !has {
						continue
					}
					got, err := strconv.ParseFloat(row[j], 64)
					if err != nil || typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
						t.Fatalf("%s %s is not a number: %q (%v)", sh, cell, row[j], typ)
					}
					if math.Abs(got-v) > 1e-9 {
						t.Errorf("%s %s (%s %s) = %v, dashboard %v", sh, cell, row[2], key, got, v)
					}
					checked++
				}
			}
		}
		if checked < 6*20 {
			t.Fatalf("only %d numbers compared", checked)
		}

		status, raw = fuxin.Raw(http.MethodGet, "/api/v1/regions/210900/report.csv", nil)
		if status != 200 || !bytes.HasPrefix(raw, []byte("\xEF\xBB\xBF")) {
			t.Fatalf("csv: %d", status)
		}
		recs, err := csv.NewReader(bytes.NewReader(raw[3:])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := -1
		for j, h := range recs[0] {
			seen := map[string]bool{}
			for _, part := range regexp.MustCompile(`（[^）]+）`).FindAllString(h, -1) {
				if seen[part] {
					t.Errorf("csv header %q names its unit twice", h)
				}
				seen[part] = true
			}
			if h == "fixture.as.coverage（%）" {
				col = j
			}
		}
		for _, r := range recs[1:] {
			if v, ok := byID[r[1]]["fixture.coverage_pct"]; ok {
				// Under a 「（%）」 header the CSV holds percent values, written
				// exactly (no 85.30000000000001).
				if got, _ := strconv.ParseFloat(r[col], 64); math.Abs(got-v*100) > 1e-9 || strings.Contains(r[col], "0000000") {
					t.Errorf("csv %s coverage %q, dashboard %v", r[2], r[col], v)
				}
			}
		}
	})

}

func TestBureauReports(t *testing.T) {
	apptest.EachSerial(t, func(t *testing.T, e *apptest.Env) {
		fixtureIndicators(t, e.DB)
		fillFixture(t, e)
		ctx := context.Background()
		hz1 := e.HZ1()

		if _, err := models.EnsureReportDrafts(ctx, e.DB, apptest.Today); err != nil {
			t.Fatal(err)
		}
		principal := e.Login("principal.hz1")
		status, body := principal.Do(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/reports", hz1.ID), nil)
		if status != 200 {
			t.Fatalf("reports: %d", status)
		}
		var current, overdue map[string]any
		for _, it := range apptest.Items(t, body) {
			if it["period_key"] == "2026-11-2" {
				current = it
			}
			if it["overdue"] == true {
				overdue = it
			}
		}
		if current == nil || current["status"] != "draft" || current["due_date"] != "2026-11-30" {
			t.Fatalf("MON-01: no draft for 2026-11-2 due 11-30: %v", current)
		}
		snap := current["snapshot"].(map[string]any)["indicators"].(map[string]any)
		if snap["fixture.coverage_pct"] != 0.9 {
			t.Fatalf("snapshot %v", snap)
		}
		if overdue == nil || overdue["status"] != "draft" || overdue["due_date"].(string) >= apptest.Today {
			t.Errorf("the seeded overdue draft is not flagged: %v", overdue)
		}
		id := int64(current["id"].(float64))
		path := fmt.Sprintf("/api/v1/reports/%d", id)
		if status, body := principal.Do(http.MethodPost, path+"/submit", map[string]string{}); status != 400 {
			t.Fatalf("submit without narrative: %d %v", status, body)
		}
		if status, _ := principal.Do(http.MethodPut, path+"/narrative", map[string]string{"narrative": "本期情况平稳。"}); status != 200 {
			t.Fatalf("narrative: %d", status)
		}
		if status, body := principal.Do(http.MethodPost, path+"/submit", map[string]string{}); status != 200 || body["status"] != "submitted" || body["narrative"] != "本期情况平稳。" {
			t.Fatalf("submit: %d %v", status, body)
		}
		status, body = principal.Do(http.MethodPut, path+"/narrative", map[string]string{"narrative": "改"})
		if status != 422 || body["details"].(map[string]any)["rule"] != "MON-01" {
			t.Fatalf("edit after submit: %d %v", status, body)
		}

		setFixture(t, e.DB, hz1.ID, apptest.Today, "fixture.coverage_pct", 0.5)
		other := e.District.Schools[2]
		setFixture(t, e.DB, other.ID, apptest.Today, "fixture.coverage_pct", 0.5)
		if _, err := models.EnsureReportDrafts(ctx, e.DB, apptest.Today); err != nil {
			t.Fatal(err)
		}
		_, body = principal.Do(http.MethodGet, path, nil)
		if got := body["snapshot"].(map[string]any)["indicators"].(map[string]any)["fixture.coverage_pct"]; got != 0.9 {
			t.Fatalf("submitted snapshot changed to %v", got)
		}
		var draft models.SchoolReport
		e.DB.Where("school_id = ? AND period_key = ?", other.ID, "2026-11-2").First(&draft)
		if draft.Snapshot().Indicators["fixture.coverage_pct"] != 0.5 {
			t.Fatalf("draft snapshot not refreshed: %v", draft.Snapshot().Indicators)
		}

		if status, _ := e.Login("principal.xq1").Do(http.MethodGet, path, nil); status != 404 {
			t.Errorf("principal.xq1 on hz1's report: %d", status)
		}
		hz := e.Login("bureau.haizhou")
		if status, _ := principal.Do(http.MethodPost, path+"/accept", map[string]string{}); status != 403 {
			t.Errorf("principal accepting own report: %d", status)
		}
		if status, _ := hz.Do(http.MethodPost, path+"/return", map[string]string{}); status != 400 {
			t.Errorf("return without comment: %d", status)
		}
		if status, body := hz.Do(http.MethodPost, path+"/return", map[string]string{"comment": "请补充数据说明"}); status != 200 || body["status"] != "returned" {
			t.Fatalf("return: %d %v", status, body)
		}
		if status, body := principal.Do(http.MethodPost, path+"/submit", map[string]string{"narrative": "补充：已说明。"}); status != 200 || body["status"] != "submitted" {
			t.Fatalf("resubmit: %d %v", status, body)
		}
		if status, body := hz.Do(http.MethodPost, path+"/accept", map[string]string{}); status != 200 || body["status"] != "accepted" {
			t.Fatalf("accept: %d %v", status, body)
		}
		if status, _ := hz.Do(http.MethodPost, path+"/accept", map[string]string{}); status != 422 {
			t.Errorf("accepting twice: %d", status)
		}
		trail, _ := models.AuditTrail(ctx, e.DB, "school_report", id)
		if len(trail) < 5 {
			t.Errorf("audit trail has %d rows", len(trail))
		}

		fuxin := e.Login("bureau.fuxin")
		status, body = fuxin.Do(http.MethodPut, "/api/v1/regions/210900/settings/bureau", map[string]any{"report_cycles": []string{"monthly"}})
		if status != 200 || fmt.Sprint(body["report_cycles"]) != "[semi_monthly monthly]" {
			t.Fatalf("settings: %d %v", status, body)
		}
		if status, _ := fuxin.Do(http.MethodPut, "/api/v1/regions/210900/settings/bureau", map[string]any{"report_cycles": []string{"weekly"}}); status != 400 {
			t.Errorf("unknown cycle: %d", status)
		}
		if status, _ := hz.Do(http.MethodPut, "/api/v1/regions/210900/settings/bureau", map[string]any{"report_cycles": []string{}}); status != 404 {
			t.Errorf("bureau.haizhou on the city's settings: %d", status)
		}
		if _, err := models.EnsureReportDrafts(ctx, e.DB, apptest.Today); err != nil {
			t.Fatal(err)
		}
		var n int64
		e.DB.Model(&models.SchoolReport{}).Where("cycle = 'monthly' AND period_key = '2026-11'").Count(&n)
		if n != 14 {
			t.Errorf("%d monthly reports, want 14", n)
		}

		b := e.Browser()
		b.SignIn("principal.hz1")
		if status, page := b.Get(fmt.Sprintf("/reports/%d", id)); status != 200 || !strings.Contains(page, "补充：已说明。") || strings.Contains(page, `name="narrative"`) {
			t.Errorf("accepted report page: %d", status)
		}
		bb := e.Browser()
		bb.SignIn("bureau.fuxin")
		if status, page := bb.Get("/regions/210900/reports?status=overdue"); status != 200 || !strings.Contains(page, "逾期") {
			t.Errorf("bureau reports page: %d", status)
		}
	})

}

func TestBureauAlerts(t *testing.T) {
	apptest.EachSerial(t, func(t *testing.T, e *apptest.Env) {
		fixtureIndicators(t, e.DB)
		fillFixture(t, e)
		ctx := context.Background()
		day, _ := time.Parse(models.DateLayout, apptest.Today)

		if err := e.DB.Exec("DELETE FROM alerts").Error; err != nil {
			t.Fatal(err)
		}
		if _, err := models.EvaluateAlerts(ctx, e.DB, day); err != nil {
			t.Fatal(err)
		}
		var raised []models.Alert
		e.DB.Where("rule IN ? AND period_key = ?", []string{"AS-03", "HW-02/03"}, "2026-W48").Order("rule").Find(&raised)
		if len(raised) != 2 || raised[0].SchoolID != e.HZ1().ID || raised[1].SchoolID != e.District.Schools[1].ID {
			t.Fatalf("raised %+v, want AS-03 for hz1 and HW-02/03 for the second school", raised)
		}
		if n, _ := models.EvaluateAlerts(ctx, e.DB, day); n != 0 {
			t.Fatalf("second evaluation raised %d more", n)
		}
		hz1 := e.HZ1()
		principal := e.Login("principal.hz1")
		status, body := principal.Do(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/alerts?status=open", hz1.ID), nil)
		if status != 200 {
			t.Fatal(status)
		}
		var as03 map[string]any
		rules := []string{}
		for _, a := range apptest.Items(t, body) {
			rules = append(rules, a["rule"].(string))
			if a["rule"] == "AS-03" {
				as03 = a
			}
		}
		if as03 == nil || as03["value"] != 0.9 || as03["threshold"] != 0.95 || as03["period_key"] != "2026-W48" {
			t.Fatalf("hz1 alerts %v", rules)
		}
		if !contains(rules, "MON-04") {
			t.Errorf("the seeded overdue complaint raised no MON-04 alert: %v", rules)
		}
		id := int64(as03["id"].(float64))
		if status, _ := e.Login("principal.xq1").Do(http.MethodPost, fmt.Sprintf("/api/v1/alerts/%d/ack", id), map[string]string{}); status != 404 {
			t.Errorf("principal.xq1 acknowledging hz1's alert: %d", status)
		}
		if status, body := principal.Do(http.MethodPost, fmt.Sprintf("/api/v1/alerts/%d/ack", id), map[string]string{"note": "已安排"}); status != 200 || body["status"] != "acknowledged" {
			t.Fatalf("ack: %d %v", status, body)
		}
		if status, _ := principal.Do(http.MethodPost, fmt.Sprintf("/api/v1/alerts/%d/resolve", id), map[string]string{}); status != 400 {
			t.Errorf("resolve without note: %d", status)
		}
		hz := e.Login("bureau.haizhou")
		status, body = hz.Do(http.MethodGet, "/api/v1/regions/210902/alerts?status=open", nil)
		if status != 200 || len(apptest.Items(t, body)) < 2 {
			t.Fatalf("bureau alerts: %d %v", status, body)
		}
		if status, body := hz.Do(http.MethodPost, fmt.Sprintf("/api/v1/alerts/%d/resolve", id), map[string]string{"note": "已增加托管班次"}); status != 200 || body["status"] != "resolved" {
			t.Fatalf("resolve: %d %v", status, body)
		}

		if n, _ := models.EvaluateAlerts(ctx, e.DB, day); n != 0 {
			t.Errorf("re-raised %d", n)
		}

		useFixtureRules(t, e, 0.99)
		if n, _ := models.EvaluateAlerts(ctx, e.DB, day); n != 13 {
			t.Errorf("threshold 99%% raised %d alerts, want the 13 other schools", n)
		}
		b := e.Browser()
		b.SignIn("principal.hz1")
		status, page := b.Get(fmt.Sprintf("/schools/%d/monitor", hz1.ID))
		if status != 200 || !strings.Contains(page, "MON-04") {
			t.Fatalf("school page alerts: %d", status)
		}
	})

}

func TestComplaints(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		hz1 := e.HZ1()
		anon := e.Browser()
		t.Run("PublicFormNeedsCSRF", func(t *testing.T) {
			status, _, _ := anon.Post("/complaints/new", url.Values{"region_code": {"210902"}, "category": {"exam"}, "body": {"每周都考试排名"}})
			if status != 400 && status != 403 {
				t.Fatalf("without token: %d", status)
			}
		})
		_, page := anon.Get("/complaints/new?region=210902")
		tok := apptest.CSRFFrom(t, page)
		status, page, _ := anon.Post("/complaints/new", url.Values{"_csrf": {tok}, "region_code": {"210902"}, "school_name": {hz1.Name},
			"category": {"homework_load"}, "body": {"四年级作业每天做到十点"}, "anonymous": {"true"}, "reporter_name": {"张三"}})

		if status != 201 {
			t.Fatalf("file: %d", status)
		}
		i := strings.Index(page, `id="tracking">`)
		code := page[i+len(`id="tracking">`):]
		code = code[:strings.Index(code, "<")]
		var cp models.Complaint
		if err := e.DB.Where("tracking_code = ?", code).First(&cp).Error; err != nil {
			t.Fatal(err)
		}
		if !cp.Anonymous || cp.ReporterName != "" || cp.ReporterUserID != nil {
			t.Fatalf("anonymous complaint kept the reporter: %+v", cp)
		}
		t.Run("API", func(t *testing.T) {
			status, raw := anon.PostJSON("/api/v1/complaints", tok, map[string]any{"region_code": "210903", "category": "exam", "body": "每周五考试并排名"})
			if status != 201 || !strings.Contains(raw, `"status":"submitted"`) {
				t.Fatalf("api file: %d %s", status, raw)
			}
			status, raw = anon.PostJSON("/api/v1/complaints", tok, map[string]any{"region_code": "210903", "category": "bribes", "body": "xxxxxxx"})
			if status != 400 {
				t.Fatalf("bad category: %d %s", status, raw)
			}
			status, _ = anon.PostJSON("/api/v1/complaints", "", map[string]any{"region_code": "210903", "category": "exam", "body": "每周五考试并排名"})
			if status != 400 && status != 403 {
				t.Fatalf("api without CSRF token: %d", status)
			}
		})
		t.Run("RateLimited", func(t *testing.T) {
			var last int
			for i := 0; i < 5; i++ {
				last, _ = anon.PostJSON("/api/v1/complaints", tok, map[string]any{"region_code": "210902", "category": "other", "body": fmt.Sprintf("第%d条反映内容", i)})
			}
			if last != 429 {
				t.Fatalf("6th+ complaint within the hour: %d", last)
			}
		})

		hz := e.Login("bureau.haizhou")
		xq := e.School("阜新市新邱区第一小学")
		base := fmt.Sprintf("/api/v1/complaints/%d", cp.ID)
		if status, _ := hz.Do(http.MethodPost, base+"/assign", map[string]any{"school_id": xq.ID}); status != 400 {
			t.Errorf("assign to another region's school: %d", status)
		}
		if status, _ := e.Login("principal.hz1").Do(http.MethodPost, base+"/respond", map[string]any{"response": "x"}); status != 404 {
			t.Errorf("respond before assignment: %d", status)
		}
		if status, body := hz.Do(http.MethodPost, base+"/assign", map[string]any{"school_id": hz1.ID, "note": "请核查"}); status != 200 || body["status"] != "assigned" {
			t.Fatalf("assign: %d %v", status, body)
		}
		if status, _ := e.Login("principal.xq1").Do(http.MethodPost, base+"/respond", map[string]any{"response": "x"}); status != 404 {
			t.Errorf("another school answering: %d", status)
		}
		b := e.Browser()
		b.SignIn("principal.hz1")
		_, list := b.Get(fmt.Sprintf("/schools/%d/complaints", hz1.ID))
		status, _, _ = b.Post(fmt.Sprintf("/complaints/%d/respond", cp.ID), url.Values{"_csrf": {apptest.CSRFFrom(t, list)}, "response": {"已调整作业量"}, "next": {"/"}})
		if status != http.StatusSeeOther {
			t.Fatalf("respond form: %d", status)
		}
		if status, _ := e.Login("bureau.fuxin").Do(http.MethodPost, base+"/close", map[string]any{}); status != 400 {
			t.Errorf("close without feedback: %d", status)
		}
		if status, body := hz.Do(http.MethodPost, base+"/close", map[string]any{"feedback": "经核查属实，已整改。"}); status != 200 || body["status"] != "closed" {
			t.Fatalf("close: %d %v", status, body)
		}
		status, raw := e.Anon().Raw(http.MethodGet, "/api/v1/complaints/track/"+strings.ToLower(code), nil)
		if status != 200 || !strings.Contains(raw2s(raw), "经核查属实") || strings.Contains(raw2s(raw), "已调整作业量") {
			t.Fatalf("track: %d %s", status, raw)
		}
		if _, page := anon.Get("/complaints/track?code=" + code); !strings.Contains(page, "经核查属实") {
			t.Error("track page shows no feedback")
		}

		status, body := hz.Do(http.MethodGet, "/api/v1/regions/210902/complaints?status=all", nil)
		times := body["times"].(map[string]any)
		if status != 200 || times["filed"].(float64) < 3 || times["close_hours_median"].(float64) <= 0 {
			t.Fatalf("times %v", times)
		}
		if status, _ := hz.Do(http.MethodGet, "/api/v1/regions/210903/complaints", nil); status != 404 {
			t.Errorf("bureau.haizhou on 新邱区 complaints: %d", status)
		}
		d := getDashboard(t, hz, "/api/v1/regions/210902/dashboard")
		for _, s := range d.Schools {
			if s.ID == hz1.ID && s.Indicators["cp.filed"] < 1 {
				t.Errorf("hz1 complaints indicator %v", s.Indicators)
			}
		}
	})

}

func raw2s(b []byte) string { return string(b) }

func TestJobRunsPage(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		s, err := scheduler.New(scheduler.Options{DB: e.DB, Replica: "test", Now: e.Srv.Cfg.Now, LockKey: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ran := 0
		for _, j := range scheduler.BureauJobs(e.DB) {
			if s.RunOnce(context.Background(), j) {
				ran++
			}
			if s.RunOnce(context.Background(), j) {
				t.Errorf("%s ran twice in one period", j.Name)
			}
		}
		if ran != 5 {
			t.Fatalf("%d jobs ran", ran)
		}
		admin := e.Login("admin")
		status, body := admin.Do(http.MethodGet, "/api/v1/admin/jobs", nil)
		if status != 200 || len(apptest.Items(t, body)) != 5 {
			t.Fatalf("job runs: %d %v", status, body)
		}
		outcomes := map[string]string{}
		for _, r := range apptest.Items(t, body) {
			outcomes[r["job"].(string)] = r["outcome"].(string)
		}
		wantHW := "skipped"
		if e.DB.Migrator().HasTable("class_day_loads") {
			wantHW = "ok"
		}
		if outcomes[scheduler.JobReportDrafts] != "ok" || outcomes[scheduler.JobHomeworkReminders] != wantHW {
			t.Errorf("outcomes %v (homework reminders skip without the homework area)", outcomes)
		}
		b := e.Browser()
		b.SignIn("admin")
		// Jobs and outcomes by their names (it showed `alert_evaluation`, `ok`).
		if status, page := b.Get("/admin/jobs"); status != 200 || !strings.Contains(page, "预警评估") || !strings.Contains(page, "成功") ||
			strings.Contains(page, ">"+scheduler.JobAlertEvaluation+"<") || strings.Contains(page, ">ok<") {
			t.Fatalf("jobs page: %d %s", status, page[strings.Index(page, "<main>"):])
		}
		if status, _ := e.Login("bureau.fuxin").Do(http.MethodGet, "/api/v1/admin/jobs", nil); status != 403 {
			t.Errorf("bureau on job runs: %d", status)
		}

		p, _ := models.UserByUsername(context.Background(), e.DB, "principal.hz1")
		rs, _ := models.RemindersOf(context.Background(), e.DB, p.ID)
		if len(rs) == 0 {
			t.Error("no report reminders for principal.hz1")
		}
	})

}

// Head teachers of classes with nothing logged on a school day are reminded
// (read from the homework area's class_day_loads rollup, created here with
// its documented columns when the homework area is absent).
func TestHomeworkGapReminders(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		ctx := context.Background()
		if err := e.DB.Exec(`CREATE TABLE IF NOT EXISTS class_day_loads (id INTEGER PRIMARY KEY, school_id BIGINT NOT NULL, class_id BIGINT NOT NULL,
			grade INTEGER NOT NULL, date TEXT NOT NULL, total_minutes INTEGER NOT NULL DEFAULT 0, all_minutes INTEGER NOT NULL DEFAULT 0,
			cap_minutes INTEGER NOT NULL DEFAULT 0, item_count INTEGER NOT NULL DEFAULT 0, refused_count INTEGER NOT NULL DEFAULT 0,
			feedback_count INTEGER NOT NULL DEFAULT 0, feedback_actual_minutes INTEGER NOT NULL DEFAULT 0, feedback_estimated_minutes INTEGER NOT NULL DEFAULT 0,
			bedtime_stops INTEGER NOT NULL DEFAULT 0, updated_at TIMESTAMP)`).Error; err != nil {
			t.Fatal(err)
		}
		hz1 := e.HZ1()
		c41 := e.Class(hz1.ID, 4, 1)
		const date = "2026-11-26"
		if err := e.DB.Exec(`DELETE FROM class_day_loads WHERE date = ?`, date).Error; err != nil {
			t.Fatal(err)
		}
		if err := e.DB.Exec(`INSERT INTO class_day_loads (id, school_id, class_id, grade, date, total_minutes, all_minutes, cap_minutes, item_count,
			refused_count, feedback_count, feedback_actual_minutes, feedback_estimated_minutes, bedtime_stops, updated_at)
			VALUES (987654321, ?, ?, 4, ?, 30, 30, 60, 2, 0, 0, 0, 0, 0, CURRENT_TIMESTAMP)`, hz1.ID, c41.ID, date).Error; err != nil {
			t.Fatal(err)
		}
		rs, present, err := models.HomeworkGapReminders(ctx, e.DB, date)
		if err != nil || !present {
			t.Fatal(present, err)
		}
		var classes int64
		e.DB.Model(&models.Class{}).Count(&classes)
		if int64(len(rs)) != classes-1 {
			t.Fatalf("%d reminders for %d classes with one logged", len(rs), classes)
		}
		for _, r := range rs {
			if r.UserID == *c41.HeadTeacherID {
				t.Fatal("4-1 logged homework but its head teacher was reminded")
			}
		}
		if n, err := models.AddReminders(ctx, e.DB, rs); err != nil || n != len(rs) {
			t.Fatal(n, err)
		}
		if n, _ := models.AddReminders(ctx, e.DB, rs); n != 0 {
			t.Fatalf("reminders sent twice: %d", n)
		}

		if rs, _, _ := models.HomeworkGapReminders(ctx, e.DB, "2026-11-28"); len(rs) != 0 {
			t.Fatalf("%d reminders on a Saturday", len(rs))
		}
	})

}

// TestBureauExportLayout (finding 6): every sheet has a frozen header row,
// a width on every column and a dimension covering what it holds; 编号 is
// text on every sheet (the summary had numbers, so lookups across sheets
// failed); percentages are numbers shown as 0.0%.
func TestBureauExportLayout(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		fixtureIndicators(t, e.DB)
		fillFixture(t, e)
		fuxin := e.Login("bureau.fuxin")
		status, raw := fuxin.Raw(http.MethodGet, "/api/v1/regions/210900/report.xlsx", nil)
		if status != 200 {
			t.Fatalf("xlsx: %d", status)
		}
		f, err := excelize.OpenReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		pctSeen := 0
		for _, sh := range f.GetSheetList() {
			rows, _ := f.GetRows(sh, excelize.Options{RawCellValue: true})
			width := 0
			for _, r := range rows {
				width = max(width, len(r))
			}
			lastCol, _ := excelize.ColumnNumberToName(len(rows[0]))
			if dim, _ := f.GetSheetDimension(sh); dim != fmt.Sprintf("A1:%s%d", lastCol, len(rows)) || width != len(rows[0]) {
				t.Errorf("%s: dimension %q, holds %d×%d", sh, dim, len(rows), width)
			}
			if p, _ := f.GetPanes(sh); !p.Freeze || p.YSplit != 1 || p.TopLeftCell != "A2" {
				t.Errorf("%s: header not frozen: %+v", sh, p)
			}
			for j := range rows[0] {
				col, _ := excelize.ColumnNumberToName(j + 1)
				if w, _ := f.GetColWidth(sh, col); w < 10 {
					t.Errorf("%s column %s: width %v", sh, col, w)
				}
			}
			for i := 2; i <= len(rows); i++ {
				typ, _ := f.GetCellType(sh, fmt.Sprintf("B%d", i))
				if typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
					t.Fatalf("%s B%d (编号) is %v, not text", sh, i, typ)
				}
			}
			for j, h := range rows[0] {
				if !strings.HasSuffix(h, "（%）") {
					continue
				}
				col, _ := excelize.ColumnNumberToName(j + 1)
				for i := 2; i <= len(rows); i++ {
					cell := fmt.Sprintf("%s%d", col, i)
					if v, _ := f.GetCellValue(sh, cell, excelize.Options{RawCellValue: true}); v == "" {
						continue
					}
					id, _ := f.GetCellStyle(sh, cell)
					st, _ := f.GetStyle(id)
					typ, _ := f.GetCellType(sh, cell)
					if st == nil || st.CustomNumFmt == nil || *st.CustomNumFmt != "0.0%" || (typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber) {
						t.Fatalf("%s %s: style %+v type %v", sh, cell, st, typ)
					}
					pctSeen++
				}
			}
		}
		if pctSeen < 10 {
			t.Fatalf("only %d percentage cells", pctSeen)
		}
	})
}
