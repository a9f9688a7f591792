package bureau_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"jianfu/app/apptest"
	"jianfu/models"
)

// get sends a GET with the client's token and extra headers, without the
// transport's transparent gzip.
func get(t *testing.T, c *apptest.Client, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.E.HTTP.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

type pageJSON struct {
	dashboardJSON
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

// TestBureauDashboardPagesETagGzip: the dashboard API pages on the server
// (worst first, sortable), refuses bad page parameters with a 400 in the
// user's language, answers a matching If-None-Match with 304, gzips when
// asked, and a write shows at once (the cache follows the rollup version).
func TestBureauDashboardPagesETagGzip(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		fuxin := e.Login("bureau.fuxin")
		const path = "/api/v1/regions/210900/dashboard"
		page := func(q string) pageJSON {
			t.Helper()
			resp, b := get(t, fuxin, path+q, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", q, resp.StatusCode, b)
			}
			var p pageJSON
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
		all := page("")
		if all.Total != 14 || len(all.Schools) != 14 || all.Page != 1 || all.PerPage != 100 {
			t.Fatalf("default page: total %d, %d schools, page %d/%d", all.Total, len(all.Schools), all.Page, all.PerPage)
		}
		p1, p3 := page("?per_page=5"), page("?per_page=5&page=3")
		if len(p1.Schools) != 5 || len(p3.Schools) != 4 || p1.Total != 14 {
			t.Fatalf("pages of 5: %d and %d schools of %d", len(p1.Schools), len(p3.Schools), p1.Total)
		}
		for i := range p1.Schools {
			if p1.Schools[i].ID != all.Schools[i].ID || i < len(p3.Schools) && p3.Schools[i].ID != all.Schools[10+i].ID {
				t.Fatalf("pages do not follow the worst-first order at %d", i)
			}
			if i > 0 && p1.Schools[i].Score > p1.Schools[i-1].Score {
				t.Fatalf("page 1 is not worst first: %v after %v", p1.Schools[i].Score, p1.Schools[i-1].Score)
			}
		}
		byName := page("?sort=name&per_page=3")
		if byName.Schools[0].Name > byName.Schools[1].Name || byName.Rollup.Schools != 14 {
			t.Fatalf("sort by name: %s before %s; rollup of %d schools", byName.Schools[0].Name, byName.Schools[1].Name, byName.Rollup.Schools)
		}
		for q, want := range map[string]string{"?page=0": "页码“0”无效", "?per_page=5000": "每页条数“5000”应在 1 到 1000 之间", "?page=x": "页码“x”无效"} {
			resp, b := get(t, fuxin, path+q, nil)
			var body map[string]any
			json.Unmarshal(b, &body)
			if resp.StatusCode != 400 || body["message"] != want+"（应为 1、2……）" && body["message"] != want {
				t.Errorf("%s: %d %s", q, resp.StatusCode, b)
			}
		}

		// ETag and 304; gzip.
		resp, body := get(t, fuxin, path, nil)
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("no ETag (%q) or gzip without asking (%q)", etag, resp.Header.Get("Content-Encoding"))
		}
		resp, b := get(t, fuxin, path, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified || len(b) != 0 {
			t.Fatalf("If-None-Match: %d, %d bytes", resp.StatusCode, len(b))
		}
		resp, b = get(t, fuxin, path, map[string]string{"Accept-Encoding": "gzip"})
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if string(plain) != string(body) || len(b) >= len(body) {
			t.Fatalf("gzip body: %d bytes for %d plain, same content %v", len(b), len(body), string(plain) == string(body))
		}
		// Another bureau user of the city shares the cached build and its ETag.
		if r2, _ := get(t, e.Login("bureau.fuxin"), path, map[string]string{"If-None-Match": etag}); r2.StatusCode != http.StatusNotModified {
			t.Fatalf("second session: %d", r2.StatusCode)
		}

		// A write changes the answer at once, before any drain, and after it.
		ctx := models.WithActor(context.Background(), models.Actor{RequestID: "test"})
		sc := e.HZ1()
		before := all.Rollup.Indicators[models.IndComplaintsFiled]
		now := apptest.Now()
		c, err := models.FileComplaint(ctx, e.DB, models.ComplaintInput{RegionCode: sc.RegionCode, SchoolName: sc.Name, Category: "homework_load",
			Body: "作业太多，孩子写到很晚。", Anonymous: true}, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := models.AssignComplaint(ctx, e.DB, c.ID, sc.ID, "请核实", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		resp, _ = get(t, fuxin, path, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != 200 {
			t.Fatalf("after a write, If-None-Match with the old ETag: %d", resp.StatusCode)
		}
		if got := page("").Rollup.Indicators[models.IndComplaintsFiled]; got != before+1 {
			t.Fatalf("complaints filed after a write: %v, want %v", got, before+1)
		}
		if _, err := models.DrainIndicatorOutbox(ctx, e.DB); err != nil {
			t.Fatal(err)
		}
		if got := page("").Rollup.Indicators[models.IndComplaintsFiled]; got != before+1 {
			t.Fatalf("complaints filed after the drain: %v, want %v", got, before+1)
		}
	})
}

// TestBureauTrendCachedWithTheDashboard: the weekly trend is built once per
// dashboard build and shared, and a write that moves the rollup version
// gives a trend equal to one computed afresh from the area rollups.
func TestBureauTrendCachedWithTheDashboard(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		fuxin := e.Login("bureau.fuxin")
		type trendJSON struct {
			Term  models.TermRef     `json:"term"`
			Weeks []models.WeekPoint `json:"weeks"`
		}
		trend := func() trendJSON {
			t.Helper()
			resp, b := get(t, fuxin, "/api/v1/regions/210900/trend", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("trend: %d %s", resp.StatusCode, b)
			}
			var tr trendJSON
			if err := json.Unmarshal(b, &tr); err != nil {
				t.Fatal(err)
			}
			return tr
		}
		ctx := models.WithActor(context.Background(), models.Actor{RequestID: "test"})
		fresh := func(tr trendJSON) []models.WeekPoint {
			t.Helper()
			codes, err := models.SubRegionCodes(ctx, e.DB, "210900")
			if err != nil {
				t.Fatal(err)
			}
			schools, err := models.SchoolsInRegions(ctx, e.DB, codes)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]int64, len(schools))
			for i, sc := range schools {
				ids[i] = sc.ID
			}
			w, err := models.WeeklyTrend(ctx, e.DB, ids, tr.Term.From, tr.Term.To)
			if err != nil {
				t.Fatal(err)
			}
			return w
		}
		first := trend()
		if len(first.Weeks) == 0 {
			t.Fatal("no weeks in the trend")
		}
		if b1, b2 := mustJSON(t, first.Weeks), mustJSON(t, fresh(first)); b1 != b2 {
			t.Fatalf("cached trend differs from a fresh one:\n%s\n%s", b1, b2)
		}
		sc := e.HZ1()
		now := apptest.Now()
		c, err := models.FileComplaint(ctx, e.DB, models.ComplaintInput{RegionCode: sc.RegionCode, SchoolName: sc.Name, Category: "homework_load",
			Body: "作业太多，孩子写到很晚。", Anonymous: true}, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := models.AssignComplaint(ctx, e.DB, c.ID, sc.ID, "请核实", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		second := trend()
		want := fresh(second)
		if b1, b2 := mustJSON(t, second.Weeks), mustJSON(t, want); b1 != b2 {
			t.Fatalf("after a write the trend is stale:\n%s\nwant\n%s", b1, b2)
		}
		if mustJSON(t, second.Weeks) == mustJSON(t, first.Weeks) {
			t.Fatal("a filed complaint did not move the trend (the check could not fail)")
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
