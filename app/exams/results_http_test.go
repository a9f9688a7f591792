package exams_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"jianfu/app/apptest"
	"jianfu/models"
	"jianfu/policies"
)

// resultsExam is an approved grade-4 paper exam of hz1 with items of 40,
// 40 and 20 points, and its grade-4 students.
func resultsExam(t *testing.T, e *apptest.Env) (int64, []models.Student, *apptest.Client) {
	t.Helper()
	hz1 := e.HZ1()
	ac, pr := e.Login("academic.hz1"), e.Login("principal.hz1")
	id := newExam(t, e, ac, map[string]any{"grades": []int{4}, "subject": "道德与法治", "kind": "final", "date": "2027-01-13", "start": "14:00", "duration_minutes": 60})
	paper := map[string]any{"items": []map[string]any{
		{"points": 40, "difficulty": "easy", "cognitive": "understanding", "within_standard": true},
		{"points": 40, "difficulty": "medium", "cognitive": "application", "within_standard": true},
		{"points": 20, "expected_p": 0.3, "cognitive": "inquiry", "real_life": true, "within_standard": true},
	}}
	if status, body := ac.Do(http.MethodPut, fmt.Sprintf("/api/v1/exams/%d/paper", id), paper); status != 200 {
		t.Fatalf("paper: %d %v", status, body)
	}
	ac.Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/submit", id), nil)
	if status, body := pr.Do(http.MethodPost, fmt.Sprintf("/api/v1/exams/%d/approve", id), nil); status != 200 {
		t.Fatalf("approve: %d %v", status, body)
	}
	var students []models.Student
	for _, n := range []int{1, 2} {
		st, _ := models.StudentsOfClass(context.Background(), e.DB, hz1.ID, e.Class(hz1.ID, 4, n).ID)
		students = append(students, st...)
	}
	return id, students, ac
}

func cellMessages(t *testing.T, body map[string]any) []string {
	t.Helper()
	d, _ := body["details"].(map[string]any)
	cells, _ := d["cells"].([]any)
	var out []string
	for _, c := range cells {
		out = append(out, c.(map[string]any)["message"].(string))
	}
	return out
}

// TestExamResultsImportHTTP: findings 2–5 through the real router: every
// bad cell in one 400 with zh-CN messages naming row, column, header and
// student; a file past the old 4 MiB cut is read to its end (the bad last
// row is found) and one past the server's 8 MiB body limit but under the
// school's setting imports; over the setting it is a 413 naming the limit.
func TestExamResultsImportHTTP(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		id, students, ac := resultsExam(t, e)
		path := fmt.Sprintf("/api/v1/exams/%d/results", id)
		var good strings.Builder
		good.WriteString("学号,第1题,第2题,第3题\n")
		for _, st := range students {
			good.WriteString(st.StudentNo + ",40,39.5,20\n")
		}
		a, b := students[0].StudentNo, students[1].StudentNo
		t.Run("every bad cell in one answer", func(t *testing.T) {
			csv := "学号,第1题,第2题,第3题\n" + a + ",NaN,0x1p2,\n" + b + ",41,1,1\n"
			status, body := multipartPost(t, e, ac, path, "r.csv", []byte(csv))
			msgs := cellMessages(t, body)
			if status != http.StatusBadRequest || len(msgs) != 4 {
				t.Fatalf("%d %v", status, body)
			}
			want := []string{"第 2 行 B 列「第1题」（学号 " + a + "）", "第 2 行 C 列「第2题」", "第 2 行（学号 " + a + "）：只有 2 个得分，应有 3 个（D 列起缺少）", "第 3 行 B 列「第1题」（学号 " + b + "）：得分 41 超过本题满分 40"}
			for i, w := range want {
				if !strings.Contains(msgs[i], w) {
					t.Errorf("message %d %q, want it to contain %q", i, msgs[i], w)
				}
			}
			if e.Count("exam_results", "exam_id = ?", id) != 0 {
				t.Fatal("a refused file stored results")
			}
		})
		t.Run("past 4 MiB: the bad last row is found", func(t *testing.T) {
			pad := strings.Repeat("\n", 5<<20)
			csv := good.String() + pad + b + ",1,1,1\n"
			status, body := multipartPost(t, e, ac, path, "r.csv", []byte(csv))
			msgs := cellMessages(t, body)
			line := strings.Count(good.String(), "\n") + len(pad) + 1
			if status != http.StatusBadRequest || len(msgs) != 1 || !strings.Contains(msgs[0], fmt.Sprintf("第 %d 行", line)) {
				t.Fatalf("%d %v", status, msgs)
			}
		})
		t.Run("past the server's 8 MiB, under the setting: imported", func(t *testing.T) {
			csv := good.String() + strings.Repeat("\n", 9<<20)
			status, body := multipartPost(t, e, ac, path, "r.csv", []byte(csv))
			if status != 200 || body["imported"].(float64) != float64(len(students)) {
				t.Fatalf("%d %v", status, body)
			}
			var r models.ExamResult
			e.DB.Where("exam_id = ?", id).First(&r)
			if r.Scores != "[40,39.5,20]" {
				t.Errorf("stored %s", r.Scores)
			}
		})
		t.Run("an xlsx over the old 4 MiB cut imports", func(t *testing.T) {
			x := excelize.NewFile()
			x.SetSheetRow("Sheet1", "A1", &[]any{"学号", "第1题", "第2题", "第3题"})
			for i, st := range students {
				x.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+2), &[]any{st.StudentNo, 6.5, 40, 20})
			}
			// A second sheet of incompressible notes makes the file about 5 MB.
			x.NewSheet("备注")
			r := rand.New(rand.NewPCG(4, 8))
			for i := 1; i <= 3700; i++ {
				b := make([]byte, 1500)
				for j := range b {
					b[j] = byte('!' + r.IntN(90))
				}
				x.SetCellStr("备注", fmt.Sprintf("A%d", i), string(b))
			}
			var buf bytes.Buffer
			x.Write(&buf)
			if buf.Len() < 4<<20+(600<<10) {
				t.Fatalf("xlsx of %d bytes; the test needs about 4.8 MB", buf.Len())
			}
			status, body := multipartPost(t, e, ac, path, "r.xlsx", buf.Bytes())
			if status != 200 || body["imported"].(float64) != float64(len(students)) {
				t.Fatalf("%d %v", status, body)
			}
			var res models.ExamResult
			e.DB.Where("exam_id = ?", id).First(&res)
			if res.Scores != "[6.5,40,20]" {
				t.Errorf("stored %s", res.Scores)
			}
		})
		t.Run("over the setting: 413 naming the limit", func(t *testing.T) {
			hz1 := e.HZ1()
			if err := models.PutSetting(context.Background(), e.DB, hz1.ID, policies.SchoolDomain(hz1.ID), policies.SettingResultsMaxUploadMiB, 1); err != nil {
				t.Fatal(err)
			}
			csv := good.String() + strings.Repeat("\n", 1<<20)
			status, body := multipartPost(t, e, ac, path, "r.csv", []byte(csv))
			if status != http.StatusRequestEntityTooLarge || !strings.Contains(fmt.Sprint(body["message"]), "1 MiB") {
				t.Fatalf("%d %v", status, body)
			}
			req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+path, strings.NewReader(csv))
			req.Header.Set("Content-Type", "text/csv")
			req.Header.Set("Authorization", "Bearer "+ac.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("csv body: %d", resp.StatusCode)
			}
		})
		t.Run("template", func(t *testing.T) {
			status, raw := ac.Raw(http.MethodGet, path+"/template.xlsx", nil)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			x, err := excelize.OpenReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			rows, _ := x.GetRows(x.GetSheetName(0))
			if len(rows) != 1 || strings.Join(rows[0], "|") != "学号|第1题（40分）|第2题（40分）|第3题（20分）" {
				t.Errorf("template rows %v", rows)
			}
			if status, _ := e.Login("parent.hz1").Raw(http.MethodGet, path+"/template.xlsx", nil); status != http.StatusNotFound && status != http.StatusForbidden {
				t.Errorf("parent template: %d", status)
			}
		})
	})
}

// TestExamResultsFormListsEveryCell: the page form shows every bad cell
// on the exam page (400), and changes nothing.
func TestExamResultsFormListsEveryCell(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		id, students, _ := resultsExam(t, e)
		br := e.Browser()
		br.SignIn("academic.hz1")
		_, page := br.Get(fmt.Sprintf("/exams/%d", id))
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("_csrf", apptest.CSRFFrom(t, page))
		fw, _ := w.CreateFormFile("file", "r.csv")
		io.WriteString(fw, "学号,a,b,c\n"+students[0].StudentNo+",1,,1\n"+students[1].StudentNo+",x,1,1\n")
		w.Close()
		req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+fmt.Sprintf("/exams/%d/results", id), &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		resp, err := br.C.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		html := string(raw)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html, `id="import-problems"`) ||
			!strings.Contains(html, "第 2 行 C 列「b」") || !strings.Contains(html, "第 3 行 B 列「a」") {
			t.Fatalf("%d %s", resp.StatusCode, html[max(0, strings.Index(html, "import-problems")-200):])
		}
		if status, _ := br.Get(fmt.Sprintf("/api/v1/exams/%d/results/template.xlsx", id)); status != 200 {
			t.Errorf("template link from the page (session): %d", status)
		}
		_ = url.Values{}
		if e.Count("exam_results", "exam_id = ?", id) != 0 {
			t.Fatal("stored")
		}
	})
}
