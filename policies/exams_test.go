package policies

import (
	"math"
	"testing"
)

func rulesOf(vs []Violation) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.Rule)
	}
	return out
}

func TestCheckExam(t *testing.T) {
	term := ExamCalendar{TermStart: "2026-09-01", TermEnd: "2027-01-22"}
	withOthers := func(o ...ExamPlan) ExamCalendar { c := term; c.Others = o; return c }
	final8 := ExamPlan{ID: 1, Grades: []int{8}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12", Organiser: OrganiserSchool}
	spring := ExamCalendar{TermStart: "2027-02-22", TermEnd: "2027-07-09", Semester: 2}
	springWith := func(o ...ExamPlan) ExamCalendar { c := spring; c.Others = o; return c }
	np := func(id int64, date string) ExamPlan {
		return ExamPlan{ID: id, Grades: []int{8}, Subject: "数学", Kind: ExamNonPaper, Date: date}
	}
	tight := DefaultExamRules()
	tight.MaxPerTerm = 2
	hainan := DefaultExamRules()
	hainan.PaperMinutesMax = HainanPaperMinutes()
	cases := []struct {
		name  string
		plan  ExamPlan
		cal   ExamCalendar
		rules ExamRules
		want  []string
	}{
		{"EX-01/grade 2 paper final is refused", ExamPlan{Grades: []int{2}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12"}, term, DefaultExamRules(), []string{"EX-01"}},
		{"EX-01/grade 2 non-paper assessment is allowed", ExamPlan{Grades: []int{2}, Subject: "数学", Kind: ExamNonPaper, Date: "2027-01-12"}, term, DefaultExamRules(), []string{}},
		{"EX-01/grade 3 paper final is allowed", ExamPlan{Grades: []int{3}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12"}, term, DefaultExamRules(), []string{}},
		{"EX-02/first final is allowed", final8, term, DefaultExamRules(), []string{}},
		{"EX-02/second final same subject and grade is refused", ExamPlan{Grades: []int{8}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2027-01-13"}, withOthers(final8), DefaultExamRules(), []string{"EX-02"}},
		{"EX-02/final of another subject is allowed", ExamPlan{Grades: []int{8}, Subject: "语文", Kind: ExamFinal, PaperBased: true, Date: "2027-01-13"}, withOthers(final8), DefaultExamRules(), []string{}},
		{"EX-02/editing the final itself is allowed", final8, withOthers(final8), DefaultExamRules(), []string{}},
		{"EX-03/grade 6 midterm is refused", ExamPlan{Grades: []int{6}, Subject: "数学", Kind: ExamMidterm, PaperBased: true, Date: "2026-11-11"}, term, DefaultExamRules(), []string{"EX-03"}},
		{"EX-03/grade 7 midterm is allowed", ExamPlan{Grades: []int{7}, Subject: "数学", Kind: ExamMidterm, PaperBased: true, Date: "2026-11-11"}, term, DefaultExamRules(), []string{}},
		{"EX-03/second grade 8 midterm is refused", ExamPlan{Grades: []int{8}, Subject: "数学", Kind: ExamMidterm, PaperBased: true, Date: "2026-11-12"},
			withOthers(ExamPlan{ID: 9, Grades: []int{8}, Subject: "数学", Kind: ExamMidterm, PaperBased: true, Date: "2026-11-11"}), DefaultExamRules(), []string{"EX-03"}},
		{"EX-04/monthly is refused", ExamPlan{Grades: []int{5}, Subject: "数学", Kind: ExamMonthly, PaperBased: true, Date: "2026-11-11"}, term, DefaultExamRules(), []string{"EX-04"}},
		{"EX-04/weekly is refused", ExamPlan{Grades: []int{8}, Subject: "数学", Kind: ExamWeekly, PaperBased: true, Date: "2026-11-11"}, term, DefaultExamRules(), []string{"EX-04"}},
		{"EX-04/unit test is refused", ExamPlan{Grades: []int{8}, Subject: "数学", Kind: ExamUnit, PaperBased: true, Date: "2026-11-11"}, term, DefaultExamRules(), []string{"EX-04"}},
		{"EX-04/disguised quiz is refused", ExamPlan{Grades: []int{8}, Subject: "数学", Kind: ExamQuiz, PaperBased: true, Date: "2026-11-11"}, term, DefaultExamRules(), []string{"EX-04"}},
		{"EX-05/grade 8 mock is refused", ExamPlan{Grades: []int{8}, Subject: "数学", Kind: ExamMock, PaperBased: true, Date: "2026-12-10"}, term, DefaultExamRules(), []string{"EX-05"}},
		{"EX-05/regional grade 9 final is refused", ExamPlan{Grades: []int{9}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12", Organiser: OrganiserRegion}, term, DefaultExamRules(), []string{"EX-05"}},
		{"EX-05/regional grade 9 mock in the final review is allowed", ExamPlan{Grades: []int{9}, Subject: "数学", Kind: ExamMock, PaperBased: true, Date: "2027-04-14", Organiser: OrganiserRegion}, spring, DefaultExamRules(), []string{}},
		{"EX-05/second grade 9 mock is allowed", ExamPlan{Grades: []int{9}, Subject: "数学", Kind: ExamMock, PaperBased: true, Date: "2027-05-12"},
			springWith(ExamPlan{ID: 7, Grades: []int{9}, Subject: "数学", Kind: ExamMock, PaperBased: true, Date: "2027-04-14"}), DefaultExamRules(), []string{}},
		{"EX-05/third grade 9 mock is refused", ExamPlan{Grades: []int{9}, Subject: "数学", Kind: ExamMock, PaperBased: true, Date: "2027-05-19"},
			springWith(ExamPlan{ID: 7, Grades: []int{9}, Subject: "数学", Kind: ExamMock, PaperBased: true, Date: "2027-04-14"},
				ExamPlan{ID: 8, Grades: []int{9}, Subject: "数学", Kind: ExamMock, PaperBased: true, Date: "2027-05-12"}), DefaultExamRules(), []string{"EX-05"}},
		// Finding 6: mocks were allowed in any term.
		{"EX-05/grade 9 mock in the autumn term is refused", ExamPlan{Grades: []int{9}, Subject: "数学", Kind: ExamMock, PaperBased: true, Date: "2026-12-10"}, term, DefaultExamRules(), []string{"EX-05"}},
		{"EX-05/grade 9 mock in February, before the final review, is refused", ExamPlan{Grades: []int{9}, Subject: "数学", Kind: ExamMock, PaperBased: true, Date: "2027-02-24"}, spring, DefaultExamRules(), []string{"EX-05"}},
		{"EX-05/grade 9 mock on 1 March, the review's first day, is allowed", ExamPlan{Grades: []int{9}, Subject: "数学", Kind: ExamMock, PaperBased: true, Date: "2027-03-01"}, spring, DefaultExamRules(), []string{}},
		// Finding 6: unlimited non-paper "exams" (three grade-8 数学 in one week).
		{"EX-04/first non-paper assessment of the week is allowed", np(0, "2026-11-11"), term, DefaultExamRules(), []string{}},
		{"EX-04/second non-paper assessment in one week is refused", np(0, "2026-11-12"), withOthers(np(5, "2026-11-11")), DefaultExamRules(), []string{"EX-04"}},
		{"EX-04/non-paper assessment the next week is allowed", np(0, "2026-11-16"), withOthers(np(5, "2026-11-11")), DefaultExamRules(), []string{}},
		{"EX-TERM/second assessment of the term within a limit of 2 is allowed", final8, withOthers(np(5, "2026-11-11")), tight, []string{}},
		{"EX-TERM/third assessment of the term over a limit of 2 is refused", final8, withOthers(np(5, "2026-11-11"), np(6, "2026-11-18")), tight, []string{"EX-TERM"}},
		{"EX-11/off by default: 150 minutes in grade 4 passes", ExamPlan{Grades: []int{4}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12", DurationMinutes: 150}, term, DefaultExamRules(), []string{}},
		{"EX-11/grade 4 at 60 minutes is allowed", ExamPlan{Grades: []int{4}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12", DurationMinutes: 60}, term, hainan, []string{}},
		{"EX-11/grade 4 at 61 minutes is refused", ExamPlan{Grades: []int{4}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12", DurationMinutes: 61}, term, hainan, []string{"EX-11"}},
		{"CAL-02/before the term is refused", ExamPlan{Grades: []int{8}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2026-08-31"}, term, DefaultExamRules(), []string{"CAL-02"}},
		{"CAL-02/last day of term is allowed", ExamPlan{Grades: []int{8}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2027-01-22"}, term, DefaultExamRules(), []string{}},
		{"CAL-03/no-school day is refused", ExamPlan{Grades: []int{8}, Subject: "数学", Kind: ExamFinal, PaperBased: true, Date: "2026-10-01"}, ExamCalendar{TermStart: "2026-09-01", TermEnd: "2027-01-22", NoSchool: true}, DefaultExamRules(), []string{"CAL-03"}},
		{"EX-DAY/third paper of the day is allowed", ExamPlan{Grades: []int{8}, Subject: "英语", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12"},
			withOthers(final8, ExamPlan{ID: 2, Grades: []int{8}, Subject: "语文", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12"}), DefaultExamRules(), []string{}},
		{"EX-DAY/fourth paper of the day is refused", ExamPlan{Grades: []int{8}, Subject: "物理", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12"},
			withOthers(final8, ExamPlan{ID: 2, Grades: []int{8}, Subject: "语文", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12"},
				ExamPlan{ID: 3, Grades: []int{8}, Subject: "英语", Kind: ExamFinal, PaperBased: true, Date: "2027-01-12"}), DefaultExamRules(), []string{"EX-DAY"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rulesOf(CheckExam(tc.plan, tc.cal, tc.rules))
			if len(got) != len(tc.want) {
				t.Fatalf("violations %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("violations %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// paper builds items of 10 points each: e easy, m medium, h hard, all
// understanding items within the standard, plus the extras.
func paper(e, m, h int) []PaperItem {
	var out []PaperItem
	add := func(n int, band, cog string) {
		for i := 0; i < n; i++ {
			out = append(out, PaperItem{Points: 10, Difficulty: band, Cognitive: cog, WithinStandard: true})
		}
	}
	add(e, BandEasy, CogUnderstanding)
	add(m, BandMedium, CogApplication)
	add(h, BandHard, CogInquiry)
	return out
}

func hasRule(vs []Violation, rule string) bool {
	for _, v := range vs {
		if v.Rule == rule {
			return true
		}
	}
	return false
}

func TestCheckPaper(t *testing.T) {
	r := DefaultPaperRules()
	t.Run("EX-12/7:2:1 passes", func(t *testing.T) {
		rep := CheckPaper(paper(7, 2, 1), r)
		if !rep.OK || rep.Blocked {
			t.Fatalf("report %+v", rep)
		}
		if math.Abs(rep.PredictedP-0.73) > 1e-9 {
			t.Errorf("predicted P %.4f, want 0.73", rep.PredictedP)
		}
	})
	t.Run("EX-12/50:30:20 is flagged", func(t *testing.T) {
		rep := CheckPaper(paper(5, 3, 2), r)
		if rep.OK || !hasRule(rep.Violations, "EX-12") || rep.Blocked {
			t.Fatalf("report %+v", rep)
		}
		if rep.Bands[0].Share != 0.5 || rep.Bands[1].Share != 0.3 || rep.Bands[2].Share != 0.2 {
			t.Errorf("bands %+v", rep.Bands)
		}
	})
	t.Run("EX-12/easy share 60% is within the 10-point tolerance", func(t *testing.T) {
		// 6 easy, 3 medium, 1 hard: easy −10, medium +10, hard 0.
		rep := CheckPaper(paper(6, 3, 1), r)
		for _, v := range rep.Violations {
			if v.MsgID == "exams.paper.ratio" {
				t.Fatalf("flagged at the boundary: %+v", v)
			}
		}
	})
	t.Run("EX-12/easy share 59% is flagged", func(t *testing.T) {
		items := paper(6, 3, 1)
		items[0].Points = 8.5 // easy 58.5/98.5
		rep := CheckPaper(items, r)
		if !hasRule(rep.Violations, "EX-12") {
			t.Fatalf("not flagged: %+v", rep.Bands)
		}
	})
	t.Run("EX-12/predicted P below the school convention is flagged", func(t *testing.T) {
		rep := CheckPaper(paper(0, 0, 10), DefaultPaperRules())
		found := false
		for _, v := range rep.Violations {
			found = found || v.MsgID == "exams.paper.p"
		}
		if !found {
			t.Fatalf("P %.2f not flagged", rep.PredictedP)
		}
	})
	t.Run("EX-12/an expected P puts the item in its band", func(t *testing.T) {
		p := 0.7
		it := PaperItem{Points: 5, ExpectedP: &p, Difficulty: BandEasy}
		if it.Band() != BandMedium {
			t.Errorf("P 0.70 is %s, want medium (easy is > 0.7)", it.Band())
		}
		p = 0.71
		if it.Band() != BandEasy {
			t.Errorf("P 0.71 is %s", it.Band())
		}
	})
	t.Run("EX-10/recall share 30% is allowed", func(t *testing.T) {
		items := paper(7, 2, 1)
		for i := 0; i < 3; i++ {
			items[i].Cognitive = CogRecall
		}
		if hasRule(CheckPaper(items, r).Violations, "EX-10") {
			t.Fatal("flagged at 30%")
		}
	})
	t.Run("EX-10/recall share 40% is flagged", func(t *testing.T) {
		items := paper(7, 2, 1)
		for i := 0; i < 4; i++ {
			items[i].Cognitive = CogRecall
		}
		if !hasRule(CheckPaper(items, r).Violations, "EX-10") {
			t.Fatal("not flagged at 40%")
		}
	})
	t.Run("EX-10/no application or inquiry items is flagged", func(t *testing.T) {
		items := paper(7, 2, 1)
		for i := range items {
			items[i].Cognitive = CogUnderstanding
		}
		if !hasRule(CheckPaper(items, r).Violations, "EX-10") {
			t.Fatal("not flagged")
		}
	})
	t.Run("EX-09/an item beyond the standard blocks", func(t *testing.T) {
		items := paper(7, 2, 1)
		items[9].WithinStandard = false
		rep := CheckPaper(items, r)
		if !rep.Blocked || !hasRule(rep.Violations, "EX-09") || len(rep.OutOfStandard) != 1 || rep.OutOfStandard[0] != 10 {
			t.Fatalf("report %+v", rep)
		}
	})
}

func TestLevels(t *testing.T) {
	cuts := DefaultLevels()
	for _, tc := range []struct {
		name  string
		score float64
		want  string
	}{
		{"EX-06/85 of 100 is excellent", 85, "excellent"},
		{"EX-06/84.5 of 100 is good", 84.5, "good"},
		{"EX-06/60 of 100 is pass", 60, "pass"},
		{"EX-06/59 of 100 is not yet", 59, "not_yet"},
		{"EX-06/0 is not yet", 0, "not_yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LevelFor(tc.score, 100, cuts); got != tc.want {
				t.Errorf("level %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("EX-06/3 levels are not allowed", func(t *testing.T) {
		if ValidLevels([]LevelCut{{"a", 0.8}, {"b", 0.6}, {"c", 0}}) {
			t.Fatal("3 levels accepted")
		}
	})
	t.Run("EX-06/5 levels are allowed", func(t *testing.T) {
		if !ValidLevels([]LevelCut{{"a", 0.9}, {"b", 0.8}, {"c", 0.7}, {"d", 0.6}, {"e", 0}}) {
			t.Fatal("5 levels refused")
		}
	})
	t.Run("EX-06/default levels are valid", func(t *testing.T) {
		if !ValidLevels(cuts) {
			t.Fatal("defaults invalid")
		}
	})
}
