package exams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	ics "github.com/arran4/golang-ical"
	"github.com/xuri/excelize/v2"

	"jianfu/app/apptest"
	"jianfu/models"
)

func ruleOf(body map[string]any) string {
	d, _ := body["details"].(map[string]any)
	r, _ := d["rule"].(string)
	return r
}

func examsPath(e *apptest.Env) string { return fmt.Sprintf("/api/v1/schools/%d/exams", e.HZ1().ID) }

// The "Done when" legality cases, as academic.hz1.
func TestExamLegality(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		c := e.Login("academic.hz1")
		cases := []struct {
			name string
			body map[string]any
			rule string
		}{
			{"EX-01/grade 2 paper exam", map[string]any{"grades": []int{2}, "subject": "数学", "kind": "final", "paper_based": true, "date": "2027-01-15"}, "EX-01"},
			{"EX-03/grade 5 midterm", map[string]any{"grades": []int{5}, "subject": "数学", "kind": "midterm", "paper_based": true, "date": "2026-11-18"}, "EX-03"},
			{"EX-02/second 数学 final for grade 8", map[string]any{"grades": []int{8}, "subject": "数学", "kind": "final", "paper_based": true, "date": "2027-01-15"}, "EX-02"},
			{"EX-04/monthly exam", map[string]any{"grades": []int{6}, "subject": "语文", "kind": "monthly", "paper_based": true, "date": "2026-11-30"}, "EX-04"},
			{"EX-05/grade 8 mock", map[string]any{"grades": []int{8}, "subject": "数学", "kind": "mock", "date": "2026-12-03"}, "EX-05"},
			{"CAL-03/national holiday", map[string]any{"grades": []int{8}, "subject": "历史", "kind": "midterm", "date": "2026-10-01"}, "CAL-03"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status, body := c.Do(http.MethodPost, examsPath(e), tc.body)
				if status != http.StatusUnprocessableEntity || body["error"] != "exam_not_allowed" || ruleOf(body) != tc.rule {
					t.Fatalf("got %d %v, want 422 exam_not_allowed %s", status, body, tc.rule)
				}
				if msg, _ := body["message"].(string); !strings.Contains(msg, tc.rule) {
					t.Errorf("message %q does not name %s", msg, tc.rule)
				}
			})
		}
		t.Run("grade 8 midterm is accepted", func(t *testing.T) {
			status, body := c.Do(http.MethodPost, examsPath(e), map[string]any{"grades": []int{8}, "subject": "历史", "kind": "midterm",
				"paper_based": true, "date": "2026-11-18", "start": "09:00", "duration_minutes": 90})

			if status != http.StatusCreated || body["status"] != "draft" || body["id"] == nil {
				t.Fatalf("got %d %v", status, body)
			}

			path := fmt.Sprintf("/api/v1/exams/%v", body["id"])
			status, body = c.Do(http.MethodPut, path, map[string]any{"grades": []int{5}, "subject": "历史", "kind": "midterm", "date": "2026-11-18"})
			if status != http.StatusUnprocessableEntity || ruleOf(body) != "EX-03" {
				t.Fatalf("edit to grade 5: %d %v", status, body)
			}
			if status, body := c.Do(http.MethodGet, path, nil); status != 200 || fmt.Sprint(body["grades"]) != "[8]" {
				t.Fatalf("refused edit changed the exam: %d %v", status, body)
			}
		})
		t.Run("refusals are counted by rule for the bureau", func(t *testing.T) {
			var rows []models.ExamRefusal
			e.DB.Where("school_id = ?", e.HZ1().ID).Find(&rows)
			got := map[string]int{}
			for _, r := range rows {
				got[r.Rule] += r.Attempts
				if r.Date != apptest.Today {
					t.Errorf("refusal dated %s, want the attempt's day %s", r.Date, apptest.Today)
				}
			}
			for rule, want := range map[string]int{"EX-01": 1, "EX-02": 1, "EX-03": 2, "EX-04": 1, "EX-05": 1, "CAL-03": 1} {
				if got[rule] != want {
					t.Errorf("%s counted %d times, want 1 (%v)", rule, got[rule], got)
				}
			}
			vals := indicatorsOf(t, e, "exams")
			if vals["ex.refused_attempts"] != 7 || vals["ex.events_total"] == 0 || vals["ex.blocked_papers"] != 1 {
				t.Errorf("indicators %v", vals)
			}
		})
		t.Run("bad input is a 400", func(t *testing.T) {
			status, _ := c.Do(http.MethodPost, examsPath(e), map[string]any{"grades": []int{8}, "subject": "数学", "kind": "exam", "date": "2026-11-18"})
			if status != http.StatusBadRequest {
				t.Fatalf("unknown kind: %d", status)
			}
			status, _ = c.Do(http.MethodPost, examsPath(e), map[string]any{"grades": []int{8}, "subject": "数学", "kind": "final", "date": "18/11/2026"})
			if status != http.StatusBadRequest {
				t.Fatalf("bad date: %d", status)
			}
		})
		t.Run("a teacher may not schedule exams", func(t *testing.T) {
			status, _ := e.Login("teacher.hz1").Do(http.MethodPost, examsPath(e), map[string]any{"grades": []int{8}, "subject": "历史", "kind": "midterm", "date": "2026-11-19"})
			if status != http.StatusForbidden {
				t.Fatalf("teacher: %d", status)
			}
		})
	})

}

func indicatorsOf(t *testing.T, e *apptest.Env, group string) map[string]float64 {
	t.Helper()
	for _, src := range models.IndicatorSources() {
		if src.Group != group {
			continue
		}
		out, err := src.Compute(context.Background(), e.DB, []int64{e.HZ1().ID}, "2026-09-01", "2027-01-31")
		if err != nil {
			t.Fatal(err)
		}
		return out[e.HZ1().ID]
	}
	t.Fatalf("no indicator group %s", group)
	return nil
}

// items of n points: easy/medium/hard counts at 10 points each.
func paperBody(easy, medium, hard int, outOfStandard bool) map[string]any {
	var items []map[string]any
	add := func(n int, band, cog string) {
		for i := 0; i < n; i++ {
			items = append(items, map[string]any{"points": 10, "difficulty": band, "cognitive": cog, "real_life": i == 0, "within_standard": true})
		}
	}
	add(easy, "easy", "understanding")
	add(medium, "medium", "application")
	add(hard, "hard", "inquiry")
	if outOfStandard {
		items[len(items)-1]["within_standard"] = false
	}
	return map[string]any{"items": items}
}

func hasViolation(body map[string]any, rule string) bool {
	vs, _ := body["violations"].([]any)
	for _, v := range vs {
		m := v.(map[string]any)
		if m["rule"] == rule && m["message"] != "" {
			return true
		}
	}
	return false
}

func newExam(t *testing.T, e *apptest.Env, c *apptest.Client, body map[string]any) int64 {
	t.Helper()
	status, out := c.Do(http.MethodPost, examsPath(e), body)
	if status != http.StatusCreated {
		t.Fatalf("create %v: %d %v", body, status, out)
	}
	return int64(out["id"].(float64))
}

func TestExamPaperAndApproval(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		ac := e.Login("academic.hz1")
		pr := e.Login("principal.hz1")
		id := newExam(t, e, ac, map[string]any{"grades": []int{8}, "subject": "历史", "kind": "midterm", "date": "2026-11-18"})
		paper := fmt.Sprintf("/api/v1/exams/%d/paper", id)
		t.Run("EX-12/50:30:20 against 7:2:1 is flagged", func(t *testing.T) {
			status, body := ac.Do(http.MethodPut, paper, paperBody(5, 3, 2, false))
			if status != 200 || body["ok"] != false || !hasViolation(body, "EX-12") {
				t.Fatalf("got %d %v", status, body)
			}
			bands := body["bands"].([]any)
			if bands[0].(map[string]any)["share"].(float64) != 0.5 || body["predicted_p"] == nil {
				t.Errorf("bands %v", bands)
			}
		})
		t.Run("EX-12/7:2:1 passes", func(t *testing.T) {
			status, body := ac.Do(http.MethodPut, paper, paperBody(7, 2, 1, false))
			if status != 200 || body["ok"] != true {
				t.Fatalf("got %d %v", status, body)
			}
		})
		t.Run("EX-09/an out-of-standard item cannot be approved", func(t *testing.T) {
			status, body := ac.Do(http.MethodPut, paper, paperBody(7, 2, 1, true))
			if status != 200 || body["blocked"] != true || !hasViolation(body, "EX-09") {
				t.Fatalf("got %d %v", status, body)
			}
			if status, body := ac.Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/submit", id), nil); status != 200 || body["status"] != "submitted" {
				t.Fatalf("submit: %d %v", status, body)
			}
			if status, _ := ac.Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/approve", id), nil); status != http.StatusForbidden {
				t.Fatalf("academic approving: %d", status)
			}
			status, body = pr.Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/approve", id), nil)
			if status != http.StatusUnprocessableEntity || ruleOf(body) != "EX-09" {
				t.Fatalf("approve with a blocked paper: %d %v", status, body)
			}
		})
		t.Run("approved once the paper is fixed, then published", func(t *testing.T) {
			if status, body := ac.Do(http.MethodPut, paper, paperBody(7, 2, 1, false)); status != 200 || body["blocked"] != false {
				t.Fatalf("fix: %d %v", status, body)
			}
			if status, body := pr.Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/approve", id), nil); status != 200 || body["status"] != "approved" {
				t.Fatalf("approve: %d %v", status, body)
			}
			if status, _ := ac.Do(http.MethodPut, paper, paperBody(7, 2, 1, false)); status != http.StatusConflict {
				t.Fatalf("editing an approved paper: %d", status)
			}
			if status, body := ac.Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/publish", id), nil); status != 200 || body["status"] != "published" {
				t.Fatalf("publish: %d %v", status, body)
			}
		})
		t.Run("withdraw needs a reason", func(t *testing.T) {
			path := fmt.Sprintf("/api/v1/exams/%d/withdraw", id)
			if status, _ := ac.Do(http.MethodPost, path, map[string]any{"reason": " "}); status != http.StatusBadRequest {
				t.Fatalf("no reason: %d", status)
			}
			if status, body := ac.Do(http.MethodPost, path, map[string]any{"reason": "疫情停课"}); status != 200 || body["status"] != "withdrawn" {
				t.Fatalf("withdraw: %d %v", status, body)
			}
		})
		t.Run("another school's exam is invisible", func(t *testing.T) {
			if status, _ := e.Login("principal.xq1").Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/approve", id), nil); status != http.StatusNotFound {
				t.Fatalf("principal.xq1: %d", status)
			}
		})
	})

}

// publishedIDs lists the ids of an exam list answer by status.
func examIDs(t *testing.T, body map[string]any) (all map[string]bool, statuses map[string]bool) {
	all, statuses = map[string]bool{}, map[string]bool{}
	for _, it := range apptest.Items(t, body) {
		all[fmt.Sprint(it["id"])] = true
		statuses[it["status"].(string)] = true
	}
	return
}

func parseFeed(t *testing.T, raw []byte) *ics.Calendar {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("feed does not parse: %v\n%s", err, raw)
	}
	if !bytes.HasPrefix(raw, []byte("BEGIN:VCALENDAR\r\n")) || !bytes.Contains(raw, []byte("VERSION:2.0")) {
		t.Fatalf("not an RFC 5545 calendar: %q", raw[:min(len(raw), 80)])
	}
	return cal
}

func TestExamCalendarFeed(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		ac := e.Login("academic.hz1")
		draft := newExam(t, e, ac, map[string]any{"grades": []int{8}, "subject": "历史", "kind": "midterm", "date": "2026-11-18", "start": "09:00", "duration_minutes": 90})
		var published, other int64
		e.DB.Model(&models.ExamEvent{}).Where("school_id = ? AND status = ?", e.HZ1().ID, models.ExamPublished).Count(&published)
		e.DB.Model(&models.ExamEvent{}).Where("school_id = ? AND status <> ?", e.HZ1().ID, models.ExamPublished).Count(&other)
		if published == 0 || other == 0 {
			t.Fatalf("seed: %d published, %d other", published, other)
		}
		status, raw := ac.Raw(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/exams.ics", e.HZ1().ID), nil)
		if status != 200 {
			t.Fatalf("feed: %d %s", status, raw)
		}
		cal := parseFeed(t, raw)
		events := cal.Events()
		if int64(len(events)) != published {
			t.Fatalf("feed has %d events, want the %d published", len(events), published)
		}
		for _, ev := range events {
			var id int64
			fmt.Sscanf(ev.Id(), "exam-%d@jianfu", &id)
			var ex models.ExamEvent
			if err := e.DB.First(&ex, id).Error; err != nil || ex.Status != models.ExamPublished || id == draft {
				t.Errorf("event %s is not a published exam (%s)", ev.Id(), ex.Status)
			}
			if _, err := ev.GetStartAt(); err != nil {
				if _, err := ev.GetAllDayStartAt(); err != nil {
					t.Errorf("event %s has no start: %v", ev.Id(), err)
				}
			}
		}
		t.Run("guardian subscribes with a token URL", func(t *testing.T) {
			parent := e.Login("parent.hz1")
			status, body := parent.Do(http.MethodPost, "/api/v1/me/calendar-token", nil)
			if status != http.StatusCreated {
				t.Fatalf("token: %d %v", status, body)
			}
			u, _ := url.Parse(body["url"].(string))
			token := strings.TrimSuffix(strings.TrimPrefix(u.Path, "/cal/"), ".ics")
			var n int64
			e.DB.Model(&models.CalendarToken{}).Where("token_hash = ?", token).Count(&n)
			if n != 0 {
				t.Fatal("calendar token stored in clear")
			}
			resp, err := http.Get(e.HTTP.URL + u.Path)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
				t.Fatalf("feed by token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			events := parseFeed(t, raw).Events()
			if len(events) == 0 {
				t.Fatal("guardian feed is empty")
			}
			for _, ev := range events {
				var id int64
				fmt.Sscanf(ev.Id(), "exam-%d@jianfu", &id)
				var ex models.ExamEvent
				e.DB.First(&ex, id)
				if ex.Status != models.ExamPublished || !strings.Contains(","+ex.Grades+",", ",4,") {
					t.Errorf("guardian of a grade-4 child gets %s (grades %s, %s)", ev.Id(), ex.Grades, ex.Status)
				}
			}
			resp, _ = http.Get(e.HTTP.URL + "/cal/not-a-token.ics")
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("bad token: %d", resp.StatusCode)
			}
		})
	})

}

// csvOf makes a results file: student number, then one score per item.
func importCSV(t *testing.T, e *apptest.Env, c *apptest.Client, examID int64, rows [][]string) (int, map[string]any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("学号,q1,q2,q3\n")
	for _, r := range rows {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	return multipartPost(t, e, c, fmt.Sprintf("/api/v1/exams/%d/results", examID), "results.csv", []byte(b.String()))
}

func multipartPost(t *testing.T, e *apptest.Env, c *apptest.Client, path, filename string, data []byte) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", filename)
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	_ = jsonUnmarshal(raw, &out)
	return resp.StatusCode, out
}

func TestExamResultsAsLevels(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		hz1 := e.HZ1()
		ac, pr := e.Login("academic.hz1"), e.Login("principal.hz1")
		id := newExam(t, e, ac, map[string]any{"grades": []int{4}, "subject": "道德与法治", "kind": "final", "date": "2027-01-13", "start": "14:00", "duration_minutes": 60})
		parent := e.Login("parent.hz1")
		t.Run("guardians do not see unpublished exams", func(t *testing.T) {
			if status, _ := parent.Do(http.MethodGet, fmt.Sprintf("/api/v1/exams/%d", id), nil); status != http.StatusNotFound {
				t.Fatalf("draft to a guardian: %d", status)
			}
			status, body := parent.Do(http.MethodGet, examsPath(e), nil)
			ids, statuses := examIDs(t, body)
			if status != 200 || ids[fmt.Sprint(id)] || len(ids) == 0 || len(statuses) != 1 || !statuses["published"] {
				t.Fatalf("guardian list: %d statuses %v", status, statuses)
			}
			status, body = ac.Do(http.MethodGet, examsPath(e), nil)
			if _, statuses := examIDs(t, body); status != 200 || !statuses["draft"] || !statuses["approved"] {
				t.Fatalf("staff list statuses %v", statuses)
			}
		})
		paperItems := map[string]any{"items": []map[string]any{
			{"points": 40, "difficulty": "easy", "cognitive": "understanding", "within_standard": true},
			{"points": 40, "difficulty": "medium", "cognitive": "application", "within_standard": true},
			{"points": 20, "expected_p": 0.3, "cognitive": "inquiry", "real_life": true, "within_standard": true},
		}}
		if status, body := ac.Do(http.MethodPut, fmt.Sprintf("/api/v1/exams/%d/paper", id), paperItems); status != 200 {
			t.Fatalf("paper: %d %v", status, body)
		}
		ac.Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/submit", id), nil)
		pr.Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/approve", id), nil)
		if status, body := ac.Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/publish", id), nil); status != 200 {
			t.Fatalf("publish: %d %v", status, body)
		}
		var students []models.Student
		for _, n := range []int{1, 2} {
			cl := e.Class(hz1.ID, 4, n)
			st, _ := models.StudentsOfClass(context.Background(), e.DB, hz1.ID, cl.ID)
			students = append(students, st...)
		}
		scores := [][]string{{"40", "40", "20"}, {"30", "30", "10"}, {"36", "30", "5"}, {"10", "20", "0"}}
		var rows [][]string
		for i := len(students) - 1; i >= 0; i-- {
			rows = append(rows, append([]string{students[i].StudentNo}, scores[i%len(scores)]...))
		}
		t.Run("a bad row refuses the whole import", func(t *testing.T) {
			bad := append([][]string{{students[0].StudentNo, "41", "0", "0"}}, rows[1:]...)
			if status, body := importCSV(t, e, ac, id, bad); status != http.StatusBadRequest {
				t.Fatalf("score above the item's points: %d %v", status, body)
			}
			var n int64
			e.DB.Model(&models.ExamResult{}).Where("exam_id = ?", id).Count(&n)
			if n != 0 {
				t.Fatalf("%d results written by a refused import", n)
			}
			if status, _ := importCSV(t, e, ac, id, [][]string{{"no-such-student", "1", "1", "1"}}); status != http.StatusBadRequest {
				t.Fatalf("unknown student: %d", status)
			}
			// The page form: the exam page again with the bad row named (it
			// was a bare error page).
			b := e.Browser()
			b.SignIn("academic.hz1")
			_, page := b.Get(fmt.Sprintf("/exams/%d", id))
			var csv strings.Builder
			csv.WriteString("学号,q1,q2,q3\n")
			for _, r := range bad {
				csv.WriteString(strings.Join(r, ",") + "\n")
			}
			var body bytes.Buffer
			w := multipart.NewWriter(&body)
			_ = w.WriteField("_csrf", apptest.CSRFFrom(t, page))
			fw, _ := w.CreateFormFile("file", "results.csv")
			_, _ = fw.Write([]byte(csv.String()))
			_ = w.Close()
			req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+fmt.Sprintf("/exams/%d/results", id), &body)
			req.Header.Set("Content-Type", w.FormDataContentType())
			resp, err := b.C.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(out), `id="results"`) || !strings.Contains(string(out), `id="error-summary"`) {
				t.Fatalf("a bad results file by form: %d, not the exam page with the reason", resp.StatusCode)
			}
		})
		if status, body := importCSV(t, e, ac, id, rows); status != 200 || body["imported"].(float64) != float64(len(students)) {
			t.Fatalf("import: %d %v", status, body)
		}
		t.Run("guardians see only their child's level", func(t *testing.T) {
			status, raw := parent.Raw(http.MethodGet, fmt.Sprintf("/api/v1/exams/%d/results", id), nil)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			var body map[string]any
			_ = jsonUnmarshal(raw, &body)
			list := apptest.Items(t, body)
			if len(list) != 1 {
				t.Fatalf("guardian sees %d results", len(list))
			}
			for _, forbidden := range []string{"total", "scores", "rank", "score"} {
				if _, ok := list[0][forbidden]; ok {
					t.Errorf("guardian result carries %q: %v", forbidden, list[0])
				}
			}
			if lv := list[0]["level"]; lv != "excellent" && lv != "good" && lv != "pass" && lv != "not_yet" {
				t.Errorf("level %v", lv)
			}
			if status, _ := parent.Do(http.MethodGet, fmt.Sprintf("/api/v1/exams/%d/analysis", id), nil); status != http.StatusNotFound {
				t.Errorf("guardian analysis: %d", status)
			}
			if status, _ := parent.Do(http.MethodGet, fmt.Sprintf("/api/v1/exams/%d/paper", id), nil); status != http.StatusNotFound {
				t.Errorf("guardian paper: %d", status)
			}
		})
		t.Run("staff table is in student-number order, never by score", func(t *testing.T) {
			status, body := ac.Do(http.MethodGet, fmt.Sprintf("/api/v1/exams/%d/results", id), nil)
			list := apptest.Items(t, body)
			if status != 200 || len(list) != len(students) {
				t.Fatalf("%d %d", status, len(list))
			}
			var nos []string
			for _, r := range list {
				nos = append(nos, r["student_no"].(string))
			}
			if !sort.StringsAreSorted(nos) {
				t.Fatalf("not in student-number order: %v", nos)
			}

			status, body = e.Login("teacher.hz1").Do(http.MethodGet, fmt.Sprintf("/api/v1/exams/%d/results", id), nil)
			if status != 200 || len(apptest.Items(t, body)) != len(students)/2 {
				t.Fatalf("teacher results: %d %d", status, len(apptest.Items(t, body)))
			}
		})
		t.Run("item analysis for leaders", func(t *testing.T) {
			status, body := pr.Do(http.MethodGet, fmt.Sprintf("/api/v1/exams/%d/analysis", id), nil)
			if status != 200 || body["students"].(float64) != float64(len(students)) || len(body["items"].([]any)) != 3 {
				t.Fatalf("analysis: %d %v", status, body)
			}
		})
		t.Run("Excel upload replaces results", func(t *testing.T) {
			f := excelize.NewFile()
			f.SetSheetRow("Sheet1", "A1", &[]any{"学号", "1", "2", "3"})
			for i, st := range students {
				f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+2), &[]any{st.StudentNo, 40, 40, 20})
			}
			var buf bytes.Buffer
			if err := f.Write(&buf); err != nil {
				t.Fatal(err)
			}
			if status, body := multipartPost(t, e, ac, fmt.Sprintf("/api/v1/exams/%d/results", id), "results.xlsx", buf.Bytes()); status != 200 {
				t.Fatalf("xlsx: %d %v", status, body)
			}
			_, body := parent.Do(http.MethodGet, fmt.Sprintf("/api/v1/exams/%d/results", id), nil)
			if lv := apptest.Items(t, body)[0]["level"]; lv != "excellent" {
				t.Fatalf("after a full-marks upload the level is %v", lv)
			}
		})
	})

}

func TestExamPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		hz1 := e.HZ1()
		b := e.Browser()
		b.SignIn("academic.hz1")
		status, page := b.Get(fmt.Sprintf("/schools/%d/exams?month=2026-11", hz1.ID))
		if status != 200 || !strings.Contains(page, "month-grid") || !strings.Contains(page, "期中考试") {
			t.Fatalf("calendar page: %d", status)
		}
		status, page, _ = b.Post(fmt.Sprintf("/schools/%d/exams", hz1.ID), url.Values{"_csrf": {apptest.CSRFFrom(t, page)}, "grades": {"2"},
			"subject": {"数学"}, "kind": {"final"}, "date": {"2027-01-15"}, "paper_based": {"true"}, "organiser": {"school"}})

		if status != http.StatusUnprocessableEntity || !strings.Contains(page, "EX-01") {
			t.Fatalf("refused create form: %d", status)
		}
		status, _, hdr := b.Post(fmt.Sprintf("/schools/%d/exams", hz1.ID), url.Values{"_csrf": {apptest.CSRFFrom(t, page)}, "grades": {"8"},
			"subject": {"历史"}, "kind": {"midterm"}, "date": {"2026-11-18"}, "paper_based": {"true"}, "organiser": {"school"}, "duration_minutes": {"90"}})

		if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/exams/") {
			t.Fatalf("create form: %d %v", status, hdr)
		}

		var mid models.ExamEvent
		e.DB.Where("school_id = ? AND grades = ? AND kind = ? AND subject_id = ?", hz1.ID, "8", "midterm", e.District.Subjects["数学"].ID).First(&mid)
		status, page = b.Get(fmt.Sprintf("/exams/%d", mid.ID))
		for _, want := range []string{"data-chart=\"bands-chart\"", "EX-09", "EX-12", "EX-10", "Cronbach"} {
			if !strings.Contains(page, want) {
				t.Errorf("exam page lacks %q", want)
			}
		}
		if status != 200 {
			t.Fatalf("exam page: %d", status)
		}
		pb := e.Browser()
		pb.SignIn("principal.hz1")
		var blocked models.ExamEvent
		e.DB.Where("school_id = ? AND kind = ? AND status = ?", hz1.ID, "final", models.ExamSubmitted).First(&blocked)
		_, page = pb.Get(fmt.Sprintf("/exams/%d", blocked.ID))
		if !strings.Contains(page, "EX-09") || !strings.Contains(page, "disabled") {
			t.Errorf("principal's page of a blocked paper lacks the EX-09 block")
		}
		parent := e.Browser()
		parent.SignIn("parent.hz1")
		status, page = parent.Get(fmt.Sprintf("/schools/%d/exams?month=2027-01", hz1.ID))
		if status != 200 || strings.Contains(page, "待审批") || strings.Contains(page, "已批准") {
			t.Fatalf("guardian calendar: %d or shows unpublished exams", status)
		}
		var g4 models.ExamEvent
		e.DB.Where("school_id = ? AND grades = ? AND kind = ? AND status = ?", hz1.ID, "4", "final", models.ExamPublished).First(&g4)
		status, page = parent.Get(fmt.Sprintf("/exams/%d", g4.ID))
		if status != 200 || !strings.Contains(page, "孩子的考试结果") || strings.Contains(page, "总分") || strings.Contains(page, "bands-chart") {
			t.Errorf("guardian exam page: %d, or shows staff content", status)
		}
		if status, _ := parent.Get(fmt.Sprintf("/exams/%d", mid.ID)); status != http.StatusNotFound {
			t.Errorf("guardian of a grade-4 child on a grade-8 exam: %d", status)
		}
	})

}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
