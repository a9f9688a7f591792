package models_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/models/dbtest"
)

// resultsFixture is a school with grade-8 students and an approved paper
// exam whose items have the given points.
type resultsFixture struct {
	school   models.School
	exam     models.ExamEvent
	items    []models.ExamItem
	students []models.Student
}

func newResultsFixture(tb testing.TB, db *gorm.DB, nStudents int, points ...float64) *resultsFixture {
	tb.Helper()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(db.Create(&models.Region{Code: "210902", Name: "海州区", Level: "county"}).Error)
	f := &resultsFixture{school: models.School{RegionCode: "210902", Name: "测试学校", Stage: models.StageJunior, Code: "2100000001", OffWorkTime: "17:30", TimeZone: "Asia/Shanghai"}}
	must(db.Create(&f.school).Error)
	term := models.Term{SchoolID: f.school.ID, SchoolYear: "2026-2027", Semester: 1, Name: "t", StartDate: "2026-09-01", EndDate: "2027-01-22"}
	must(db.Create(&term).Error)
	subj := models.Subject{Code: "math", Name: "数学", NameEn: "Mathematics"}
	must(db.Create(&subj).Error)
	cl := models.Class{SchoolID: f.school.ID, Grade: 8, Number: 1, Name: "8年级1班"}
	must(db.Create(&cl).Error)
	other := models.Class{SchoolID: f.school.ID, Grade: 7, Number: 1, Name: "7年级1班"}
	must(db.Create(&other).Error)
	must(db.Create(&models.Student{SchoolID: f.school.ID, ClassID: other.ID, Name: "七年级", StudentNo: "70000001"}).Error)
	for i := 0; i < nStudents; i++ {
		f.students = append(f.students, models.Student{SchoolID: f.school.ID, ClassID: cl.ID, Name: fmt.Sprintf("学生%d", i+1), StudentNo: fmt.Sprintf("2026%05d", i+1)})
	}
	if nStudents > 0 {
		must(db.CreateInBatches(&f.students, 200).Error)
	}
	f.exam = models.ExamEvent{SchoolID: f.school.ID, TermID: term.ID, SubjectID: subj.ID, Grades: "8", Kind: "final", PaperBased: true,
		Date: "2027-01-10", StartTime: "09:00", DurationMinutes: 90, Status: models.ExamApproved}
	must(db.Create(&f.exam).Error)
	for i, p := range points {
		f.items = append(f.items, models.ExamItem{SchoolID: f.school.ID, ExamID: f.exam.ID, Number: i + 1, Points: p, Difficulty: "easy", Cognitive: "understand"})
	}
	must(db.Create(&f.items).Error)
	return f
}

func (f *resultsFixture) header() []string {
	h := []string{"学号"}
	for _, it := range f.items {
		h = append(h, fmt.Sprintf("第%d题（%g分）", it.Number, it.Points))
	}
	return h
}

func (f *resultsFixture) stored(tb testing.TB, db *gorm.DB) map[string][]float64 {
	tb.Helper()
	rs, err := models.ResultsForStaff(context.Background(), db, f.exam.ID, nil)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]float64{}
	for _, r := range rs {
		out[r.StudentNo] = r.Scores
	}
	return out
}

// problems returns the bad cells of an import error (failing if it is not one).
func problems(tb testing.TB, err error) []models.ResultCellProblem {
	tb.Helper()
	e, ok := models.AsError(err)
	if !ok || e.MsgID != "exams.results_bad_cells" {
		tb.Fatalf("err %v, want exams.results_bad_cells", err)
	}
	ps, _ := e.Details["cells"].([]models.ResultCellProblem)
	return ps
}

// parseProblems parses a file that must be readable and returns its bad
// cells as the import would report them.
func parseProblems(tb testing.TB, name string, data []byte) []models.ResultCellProblem {
	tb.Helper()
	sh, err := models.ParseResults(name, data)
	if err != nil {
		tb.Fatal(err)
	}
	return problems(tb, models.ResultProblemsError(sh.Problems))
}

type cellWant struct {
	row        int
	col, kind  string
	student    string
	headerPart string
}

func checkProblems(t *testing.T, got []models.ResultCellProblem, want []cellWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d: %+v", len(got), len(want), got)
		return
	}
	for i, w := range want {
		g := got[i]
		if g.Row != w.row || g.Column != w.col || g.MsgID != "exams.results_cell."+w.kind || g.StudentNo != w.student || !strings.Contains(g.Header, w.headerPart) {
			t.Errorf("problem %d: %+v, want %+v", i, g, w)
		}
	}
}

// Finding 1: an Excel cell holding 6.5 displayed with no decimals ("0")
// was read as its displayed text and stored as 7.
func TestResultsXLSXReadsStoredValue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		fx := newResultsFixture(t, db, 2, 10, 10)
		x := excelize.NewFile()
		sheet := x.GetSheetName(0)
		whole, _ := x.NewStyle(&excelize.Style{NumFmt: 1}) // "0"
		head := []any{"学号", "第1题", "第2题"}
		x.SetSheetRow(sheet, "A1", &head)
		x.SetCellStr(sheet, "A2", "202600001")
		x.SetCellFloat(sheet, "B2", 6.5, -1, 64)
		x.SetCellStyle(sheet, "B2", "B2", whole)
		x.SetCellFloat(sheet, "C2", 0.1+0.2, -1, 64)
		x.SetCellValue(sheet, "A3", 202600002) // a student number stored as a number
		x.SetCellFloat(sheet, "B3", 10, -1, 64)
		x.SetCellFloat(sheet, "C3", 1e-4, -1, 64)
		if shown, _ := x.GetCellValue(sheet, "B2"); shown != "7" {
			t.Fatalf("the cell shows %q; the test needs the display to differ from the value", shown)
		}
		var buf bytes.Buffer
		x.Write(&buf)
		sh, err := models.ParseResults("r.xlsx", buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := models.ImportResultsSheet(context.Background(), db, &fx.school, fx.exam.ID, sh); err != nil {
			t.Fatal(err)
		}
		got := fx.stored(t, db)
		if !slices.Equal(got["202600001"], []float64{6.5, 0.1 + 0.2}) || !slices.Equal(got["202600002"], []float64{10, 1e-4}) {
			t.Errorf("stored %v", got)
		}
	})
}

// Findings 2, 4 and 5: a formula, a hex float, NaN, Inf, text and a blank
// in the middle of a row are refused, all in one answer, with the row as
// the user sees it (the header is row 1), the column letter, its header
// and the student number; nothing is stored.
func TestResultsRefusesWhatItCannotReadExactly(t *testing.T) {
	t.Run("xlsx", func(t *testing.T) {
		x := excelize.NewFile()
		sheet := x.GetSheetName(0)
		head := []any{"学号", "第1题（5分）", "第2题（5分）", "第3题（5分）"}
		x.SetSheetRow(sheet, "A1", &head)
		x.SetSheetRow(sheet, "A2", &[]any{"202600001", 1, 2, 3})
		x.SetSheetRow(sheet, "A3", &[]any{"202600002", 1, 2, 3})
		x.SetCellFormula(sheet, "C3", "B3*2") // cached value 2 written above
		x.SetSheetRow(sheet, "A5", &[]any{"202600003", 1, true, "x"})
		var buf bytes.Buffer
		x.Write(&buf)
		checkProblems(t, parseProblems(t, "r.xlsx", buf.Bytes()), []cellWant{
			{3, "C", models.CellFormula, "202600002", "第2题"},
			{5, "C", models.CellNotDecimal, "202600003", "第2题"},
			{5, "D", models.CellNotDecimal, "202600003", "第3题"},
		})
	})
	t.Run("csv", func(t *testing.T) {
		csv := "学号,第1题,第2题,第3题\n" +
			"202600001,0x1p2,1,2\n" +
			"202600002,NaN,Inf,1e400\n" +
			"\n" +
			"202600003,1,,3\n" +
			"202600004,1_0,七,+.5\n" +
			"202600005,0.30000000000000004,1,1\n"
		checkProblems(t, parseProblems(t, "r.csv", []byte(csv)), []cellWant{
			{2, "B", models.CellNotDecimal, "202600001", "第1题"},
			{3, "B", models.CellNotDecimal, "202600002", "第1题"},
			{3, "C", models.CellNotDecimal, "202600002", "第2题"},
			{3, "D", models.CellNotFinite, "202600002", "第3题"},
			{5, "C", models.CellBlank, "202600003", "第2题"},
			{6, "B", models.CellNotDecimal, "202600004", "第1题"},
			{6, "C", models.CellNotDecimal, "202600004", "第2题"},
			{7, "B", models.CellTooPrecise, "202600005", "第1题"},
		})
	})
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		fx := newResultsFixture(t, db, 3, 5, 5)
		// Row numbers past the header, over-maximum naming the student and the
		// column header, unknown, repeated and other-grade students, a short
		// row: every one in one answer, nothing stored.
		csv := "学号,第1题（5分）,第2题（5分）\n" +
			"202600001,5,6\n" +
			"202600002,5.5,1\n" +
			"202600001,1,1\n" +
			"99999999,1,1\n" +
			"70000001,1,1\n" +
			"202600003,1\n"
		sh, err := models.ParseResults("r.csv", []byte(csv))
		if err != nil {
			t.Fatal(err)
		}
		_, err = models.ImportResultsSheet(context.Background(), db, &fx.school, fx.exam.ID, sh)
		ps := problems(t, err)
		checkProblems(t, ps, []cellWant{
			{2, "C", models.CellOverMax, "202600001", "第2题（5分）"},
			{3, "B", models.CellOverMax, "202600002", "第1题（5分）"},
			{4, "A", models.CellRepeated, "202600001", "学号"},
			{5, "A", models.CellUnknownStudent, "99999999", "学号"},
			{6, "A", models.CellUnknownStudent, "70000001", "学号"},
			{7, "C", models.CellTooFew, "202600003", "第2题"},
		})
		if ps[0].Params["Max"] != 5.0 || ps[2].Params["FirstRow"] != 2 {
			t.Errorf("params %v %v", ps[0].Params, ps[2].Params)
		}
		if got := fx.stored(t, db); len(got) != 0 {
			t.Errorf("stored %v", got)
		}
		// NaN given through the JSON path (no file) is refused the same way, not a 500.
		_, err = models.ImportResults(context.Background(), db, &fx.school, fx.exam.ID, []models.ResultRow{{StudentNo: "202600001", Scores: []float64{math.NaN(), 1}}})
		checkProblems(t, problems(t, err), []cellWant{{1, "B", models.CellNotFinite, "202600001", "#1"}})
	})
}

// Finding 3: a large file (more rows than SQLite's bound-variable limit,
// over the old 4 MiB cut) imports whole; the same file with one bad row at
// its end imports nothing.
func TestResultsLargeFileWholeOrNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	const n, items = 33000, 40
	points := make([]float64, items)
	for i := range points {
		points[i] = 4
	}
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		fx := newResultsFixture(t, db, n, points...)
		var b strings.Builder
		b.WriteString(strings.Join(fx.header(), ",") + "\n")
		for i, s := range fx.students {
			b.WriteString(s.StudentNo)
			for j := 0; j < items; j++ {
				fmt.Fprintf(&b, ",%g", float64((i+j)%17)/4)
			}
			b.WriteString("\n")
		}
		good := b.String()
		if len(good) < 5<<20 {
			t.Fatalf("file of %d bytes; the test needs more than 5 MiB", len(good))
		}
		bad := good + "202600001,9" + strings.Repeat(",1", items-1) + "\n"
		sh, err := models.ParseResults("big.csv", []byte(bad))
		if err != nil {
			t.Fatal(err)
		}
		_, err = models.ImportResultsSheet(context.Background(), db, &fx.school, fx.exam.ID, sh)
		ps := problems(t, err)
		if len(ps) != 2 || ps[0].Row != n+2 || ps[0].MsgID != "exams.results_cell."+models.CellRepeated || ps[1].MsgID != "exams.results_cell."+models.CellOverMax {
			t.Errorf("problems %+v", ps)
		}
		var count int64
		db.Model(&models.ExamResult{}).Count(&count)
		if count != 0 {
			t.Fatalf("%d results stored from a refused file", count)
		}
		sh, err = models.ParseResults("big.csv", []byte(good))
		if err != nil {
			t.Fatal(err)
		}
		got, err := models.ImportResultsSheet(context.Background(), db, &fx.school, fx.exam.ID, sh)
		if err != nil || got != n {
			t.Fatalf("imported %d, %v", got, err)
		}
		db.Model(&models.ExamResult{}).Count(&count)
		if count != n {
			t.Errorf("%d results stored, want %d", count, n)
		}
	})
}

// randomScore is a score a teacher could type, or any float64 in range
// (0.1+0.2 and friends): both must come back bit for bit.
func randomScore(r *rand.Rand, max float64) float64 {
	switch r.IntN(4) {
	case 0:
		return float64(r.IntN(int(max)*2+1)) / 2
	case 1:
		return math.Round(r.Float64()*max*100) / 100
	case 2:
		// Any number Excel keeps: 15 significant digits.
		x, _ := strconv.ParseFloat(strconv.FormatFloat(r.Float64()*max, 'g', models.MaxScoreDigits, 64), 64)
		return x
	default:
		return float64(r.IntN(int(max)*1000+1)) / 1000
	}
}

// TestResultsExportImportRoundTrip: results written in the import format
// (CSV and .xlsx) and imported back store every score exactly, on both
// databases, for random papers and scores.
func TestResultsExportImportRoundTrip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		r := rand.New(rand.NewPCG(14, 2026))
		for round := 0; round < 6; round++ {
			db := db
			if round > 0 {
				db.Exec("DELETE FROM exam_results")
			}
			nItems := 1 + r.IntN(12)
			points := make([]float64, nItems)
			for i := range points {
				points[i] = float64(1 + r.IntN(20))
			}
			var fx *resultsFixture
			if round == 0 {
				fx = newResultsFixture(t, db, 40, points...)
			} else {
				fx = &resultsFixture{}
				db.First(&fx.school)
				db.Where("grades = ?", "8").First(&fx.exam)
				db.Where("exam_id = ?", fx.exam.ID).Delete(&models.ExamItem{})
				for i, p := range points {
					fx.items = append(fx.items, models.ExamItem{SchoolID: fx.school.ID, ExamID: fx.exam.ID, Number: i + 1, Points: p, Difficulty: "easy", Cognitive: "understand"})
				}
				if err := db.Create(&fx.items).Error; err != nil {
					t.Fatal(err)
				}
				db.Where("class_id IN (SELECT id FROM classes WHERE grade = 8)").Order("student_no").Find(&fx.students)
			}
			want := map[string][]float64{}
			var rows []models.StaffResult
			for _, s := range fx.students {
				sc := make([]float64, nItems)
				for j := range sc {
					sc[j] = randomScore(r, points[j])
				}
				want[s.StudentNo] = sc
				rows = append(rows, models.StaffResult{StudentNo: s.StudentNo, Scores: sc})
			}
			xlsx := round%2 == 1
			var buf bytes.Buffer
			if err := models.WriteResultsFile(&buf, xlsx, fx.header(), rows); err != nil {
				t.Fatal(err)
			}
			name := map[bool]string{true: "r.xlsx", false: "r.csv"}[xlsx]
			sh, err := models.ParseResults(name, buf.Bytes())
			if err != nil {
				t.Fatalf("round %d (%s): %v", round, name, err)
			}
			if _, err := models.ImportResultsSheet(context.Background(), db, &fx.school, fx.exam.ID, sh); err != nil {
				t.Fatalf("round %d (%s): %v", round, name, err)
			}
			got := fx.stored(t, db)
			for no, w := range want {
				g := got[no]
				if len(g) != len(w) {
					t.Fatalf("round %d (%s) %s: %v, want %v", round, name, no, g, w)
				}
				for j := range w {
					if math.Float64bits(g[j]) != math.Float64bits(w[j]) {
						t.Fatalf("round %d (%s) %s item %d: %s, want %s", round, name, no, j+1,
							strconv.FormatFloat(g[j], 'g', -1, 64), strconv.FormatFloat(w[j], 'g', -1, 64))
					}
				}
			}
		}
	})
}

// TestResultsTemplate: the template has the header row (student number,
// then each item with its points), frozen, the student-number column as
// text and a 0..points validation per item; it imports back as a header.
func TestResultsTemplate(t *testing.T) {
	items := []models.ExamItem{{Number: 1, Points: 5}, {Number: 2, Points: 2.5}}
	var buf bytes.Buffer
	err := models.ResultsTemplate(&buf, items, "学号", func(it models.ExamItem) string { return fmt.Sprintf("第%d题（%g分）", it.Number, it.Points) })
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	sheet := x.GetSheetName(0)
	rows, _ := x.GetRows(sheet)
	if len(rows) != 1 || !slices.Equal(rows[0], []string{"学号", "第1题（5分）", "第2题（2.5分）"}) {
		t.Errorf("rows %v", rows)
	}
	panes, _ := x.GetPanes(sheet)
	if !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v", panes)
	}
	dvs, _ := x.GetDataValidations(sheet)
	if len(dvs) != 2 || dvs[1].Formula2 == "" || !strings.Contains(dvs[1].Formula2, "2.5") {
		t.Errorf("validations %+v", dvs)
	}
	st, _ := x.GetCellStyle(sheet, "A2")
	style, _ := x.GetStyle(st)
	if style == nil || style.NumFmt != 49 {
		t.Errorf("student-number column style %+v", style)
	}
}
