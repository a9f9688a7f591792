package policies

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Exam kinds (DESIGN.md: POST /api/v1/schools/:school/exams).
const (
	ExamFinal    = "final"
	ExamMidterm  = "midterm"
	ExamMock     = "mock"
	ExamUnit     = "unit"
	ExamMonthly  = "monthly"
	ExamWeekly   = "weekly"
	ExamQuiz     = "quiz"
	ExamNonPaper = "non_paper" // 乐考 / 游园: a non-paper assessment (EX-01 alternative)
)

// ExamKinds lists every kind in display order.
var ExamKinds = []string{ExamFinal, ExamMidterm, ExamMock, ExamNonPaper, ExamUnit, ExamMonthly, ExamWeekly, ExamQuiz}

// Exam organisers: the school itself, or a region (regional / cross-school).
const (
	OrganiserSchool = "school"
	OrganiserRegion = "region"
)

// GraduatingGrade is the graduating grade of compulsory education (初三):
// the only grade that may sit regional or cross-school mock exams (EX-05).
const GraduatingGrade = 9

// Rule ids of the exam area. EX-* come from POLICY.md §3; CAL-02/CAL-03 from
// §7 (term dates, no exam on a day without school). RuleExamDayLoad has no
// POLICY.md id: it is a school setting (PRACTICE) that limits papers per
// class per day.
const (
	RuleEX01        = "EX-01"
	RuleEX02        = "EX-02"
	RuleEX03        = "EX-03"
	RuleEX04        = "EX-04"
	RuleEX05        = "EX-05"
	RuleEX06        = "EX-06"
	RuleEX09        = "EX-09"
	RuleEX10        = "EX-10"
	RuleEX11        = "EX-11"
	RuleEX12        = "EX-12"
	RuleCAL02       = "CAL-02"
	RuleCAL03       = "CAL-03"
	RuleExamDayLoad = "EX-DAY"
	// RuleExamTermLoad has no POLICY.md id either: a setting (PRACTICE) that
	// bounds all assessments of a class per term (S4 二 「大幅压减考试次数」).
	RuleExamTermLoad = "EX-TERM"
)

// ExamPlan is what the legality check needs of one exam event.
type ExamPlan struct {
	ID              int64
	Grades          []int
	Subject         string
	Kind            string
	PaperBased      bool
	Date            string // YYYY-MM-DD
	DurationMinutes int
	Organiser       string
}

// ExamRules are the configurable numbers of the legality check.
type ExamRules struct {
	// MaxPapersPerClassDay: papers one class may sit on one day (EX-DAY, a
	// school setting, PRACTICE).
	MaxPapersPerClassDay int `json:"max_papers_per_class_day"`
	// MockMax: mock exams per subject per term for the graduating grade (EX-05: 1~2).
	MockMax int `json:"mock_max"`
	// PaperMinutesMax: EX-11 LOCAL (Hainan 2022) paper length by grade; nil or
	// empty means off (the default).
	PaperMinutesMax map[int]int `json:"paper_minutes_max,omitempty"`
	// NonPaperMaxPerWeek: non-paper assessments (乐考, 游园) one class may
	// have in an ISO week — unbounded, "non_paper" would be the label that
	// hides weekly tests (EX-04). Default 1.
	NonPaperMaxPerWeek int `json:"non_paper_max_per_week"`
	// MaxPerTerm: assessments of every kind one class may have in a term
	// (EX-TERM). Default 20.
	MaxPerTerm int `json:"max_per_term"`
	// MockFromMonth: the month the graduating grade's final review (总复习)
	// starts in the second semester; mocks are allowed from its first day
	// (EX-05). Default 3 (March).
	MockFromMonth int `json:"mock_from_month"`
}

// Setting keys and defaults of the exams area that are not rules.
const (
	// SettingResultsMaxUploadMiB is the largest results file (CSV or
	// .xlsx) a school may upload, in MiB (int, school or region scope); a
	// larger one is refused with 413 naming the limit.
	SettingResultsMaxUploadMiB = "exams.results_max_upload_mib"
	DefaultResultsMaxUploadMiB = 16
	MaxResultsUploadMiB        = 64
)

// Defaults of the exam rules.
const (
	DefaultNonPaperMaxPerWeek = 1
	DefaultMaxPerTerm         = 20
	DefaultMockFromMonth      = 3
)

// DefaultExamRules are the defaults: three papers a day, two mocks from
// March of the second semester, one non-paper assessment a week, twenty
// assessments a term, EX-11 off.
func DefaultExamRules() ExamRules {
	return ExamRules{MaxPapersPerClassDay: 3, MockMax: 2, NonPaperMaxPerWeek: DefaultNonPaperMaxPerWeek,
		MaxPerTerm: DefaultMaxPerTerm, MockFromMonth: DefaultMockFromMonth}
}

// WithDefaults fills unset (zero) numbers of a stored setting with the
// defaults, so a setting written before a number existed keeps it bounded.
func (r ExamRules) WithDefaults() ExamRules {
	d := DefaultExamRules()
	if r.MaxPapersPerClassDay <= 0 {
		r.MaxPapersPerClassDay = d.MaxPapersPerClassDay
	}
	if r.MockMax <= 0 {
		r.MockMax = d.MockMax
	}
	if r.NonPaperMaxPerWeek <= 0 {
		r.NonPaperMaxPerWeek = d.NonPaperMaxPerWeek
	}
	if r.MaxPerTerm <= 0 {
		r.MaxPerTerm = d.MaxPerTerm
	}
	if r.MockFromMonth < 1 || r.MockFromMonth > 12 {
		r.MockFromMonth = d.MockFromMonth
	}
	return r
}

// HainanPaperMinutes is the EX-11 LOCAL example (grades 3–4 ≤ 60, 5–6 ≤ 90, junior ≤ 120).
func HainanPaperMinutes() map[int]int {
	return map[int]int{3: 60, 4: 60, 5: 90, 6: 90, 7: 120, 8: 120, 9: 120}
}

// ExamCalendar is what the check knows of the term around a plan.
type ExamCalendar struct {
	TermStart, TermEnd string
	// Semester of the term: 1 autumn, 2 spring (EX-05: mocks only in the
	// graduating grade's second semester).
	Semester int
	// NoSchool: the date is a weekend or a no-school day of the term.
	NoSchool bool
	// Others are the school's other live (not withdrawn) exams of the term.
	Others []ExamPlan
}

func overlaps(a, b []int) bool {
	for _, g := range a {
		if slices.Contains(b, g) {
			return true
		}
	}
	return false
}

func gradesList(gs []int) string {
	s := ""
	for i, g := range gs {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(g)
	}
	return s
}

// CheckExam lists every rule the plan breaks, in rule order. An empty list
// means the exam may be scheduled.
func CheckExam(p ExamPlan, cal ExamCalendar, r ExamRules) []Violation {
	var out []Violation
	add := func(rule, msg string, params map[string]any) {
		out = append(out, Violation{Rule: rule, MsgID: msg, Params: params, Blocking: true})
	}
	// EX-01: no paper exams in grades 1–2.
	if p.PaperBased {
		var low []int
		for _, g := range p.Grades {
			if g <= 2 {
				low = append(low, g)
			}
		}
		if len(low) > 0 {
			add(RuleEX01, "exams.rule.ex01", map[string]any{"Grades": gradesList(low)})
		}
	}
	sameSubjectGrade := func(kind string) int {
		n := 0
		for _, o := range cal.Others {
			if o.ID != p.ID && o.Kind == kind && o.Subject == p.Subject && overlaps(o.Grades, p.Grades) {
				n++
			}
		}
		return n
	}
	switch p.Kind {
	case ExamFinal:
		// EX-02: one final per subject per semester, organised by the school.
		if sameSubjectGrade(ExamFinal) >= 1 {
			add(RuleEX02, "exams.rule.ex02", map[string]any{"Subject": p.Subject})
		}
	case ExamMidterm:
		// EX-03: midterms only in grades 7–9, at most one per subject per semester.
		var bad []int
		for _, g := range p.Grades {
			if g < 7 || g > 9 {
				bad = append(bad, g)
			}
		}
		if len(bad) > 0 {
			add(RuleEX03, "exams.rule.ex03_grade", map[string]any{"Grades": gradesList(bad)})
		} else if sameSubjectGrade(ExamMidterm) >= 1 {
			add(RuleEX03, "exams.rule.ex03_count", map[string]any{"Subject": p.Subject})
		}
	case ExamWeekly, ExamMonthly, ExamUnit, ExamQuiz:
		// EX-04: weekly, monthly, unit tests and disguised tests (测验…) are refused.
		add(RuleEX04, "exams.rule.ex04", map[string]any{"Kind": p.Kind})
	}
	// EX-05: regional / cross-school exams and mocks only for the graduating
	// grade, at most MockMax mocks per subject.
	if p.Organiser == OrganiserRegion || p.Kind == ExamMock {
		var bad []int
		for _, g := range p.Grades {
			if g != GraduatingGrade {
				bad = append(bad, g)
			}
		}
		switch {
		case len(bad) > 0:
			add(RuleEX05, "exams.rule.ex05_grade", map[string]any{"Grades": gradesList(bad)})
		case p.Organiser == OrganiserRegion && p.Kind != ExamMock:
			add(RuleEX05, "exams.rule.ex05_kind", nil)
		case p.Kind == ExamMock && !InFinalReview(p.Date, cal.Semester, r.MockFromMonth):
			add(RuleEX05, "exams.rule.ex05_stage", map[string]any{"Month": r.MockFromMonth})
		case p.Kind == ExamMock && sameSubjectGrade(ExamMock) >= r.MockMax:
			add(RuleEX05, "exams.rule.ex05_count", map[string]any{"Max": r.MockMax, "Subject": p.Subject})
		}
	}
	// EX-04: non-paper assessments are bounded per class and week, or the
	// label would let weekly tests through.
	if p.Kind == ExamNonPaper && r.NonPaperMaxPerWeek > 0 {
		wk := isoWeek(p.Date)
		for _, g := range p.Grades {
			n := 1
			for _, o := range cal.Others {
				if o.ID != p.ID && o.Kind == ExamNonPaper && slices.Contains(o.Grades, g) && isoWeek(o.Date) == wk {
					n++
				}
			}
			if n > r.NonPaperMaxPerWeek {
				add(RuleEX04, "exams.rule.non_paper_week", map[string]any{"Grade": g, "Max": r.NonPaperMaxPerWeek})
				break
			}
		}
	}
	// EX-TERM: all assessments of a class in the term.
	if r.MaxPerTerm > 0 {
		for _, g := range p.Grades {
			n := 1
			for _, o := range cal.Others {
				if o.ID != p.ID && slices.Contains(o.Grades, g) {
					n++
				}
			}
			if n > r.MaxPerTerm {
				add(RuleExamTermLoad, "exams.rule.term_load", map[string]any{"Grade": g, "Max": r.MaxPerTerm})
				break
			}
		}
	}
	// EX-11 (LOCAL, off by default): paper length by grade.
	if p.PaperBased && len(r.PaperMinutesMax) > 0 && p.DurationMinutes > 0 {
		for _, g := range p.Grades {
			if lim, ok := r.PaperMinutesMax[g]; ok && p.DurationMinutes > lim {
				add(RuleEX11, "exams.rule.ex11", map[string]any{"Grade": g, "Max": lim, "Minutes": p.DurationMinutes})
				break
			}
		}
	}
	// CAL-02: inside the term; CAL-03: on a school day.
	if p.Date < cal.TermStart || p.Date > cal.TermEnd {
		add(RuleCAL02, "exams.rule.cal02", map[string]any{"Start": cal.TermStart, "End": cal.TermEnd})
	} else if cal.NoSchool {
		add(RuleCAL03, "exams.rule.cal03", map[string]any{"Date": p.Date})
	}
	// EX-DAY: papers per class per day.
	if p.PaperBased && r.MaxPapersPerClassDay > 0 {
		for _, g := range p.Grades {
			n := 1
			for _, o := range cal.Others {
				if o.ID != p.ID && o.PaperBased && o.Date == p.Date && slices.Contains(o.Grades, g) {
					n++
				}
			}
			if n > r.MaxPapersPerClassDay {
				add(RuleExamDayLoad, "exams.rule.day_load", map[string]any{"Grade": g, "Max": r.MaxPapersPerClassDay})
				break
			}
		}
	}
	return out
}

// InFinalReview reports whether date falls in the graduating grade's final
// review stage: the second semester, from the first day of fromMonth
// (EX-05, POLICY.md amendment: grade 9, second semester).
func InFinalReview(date string, semester, fromMonth int) bool {
	t, err := time.Parse(dateLayout, date)
	if err != nil || semester != 2 {
		return false
	}
	return int(t.Month()) >= fromMonth && t.Month() <= time.August
}

func isoWeek(date string) string {
	t, err := time.Parse(dateLayout, date)
	if err != nil {
		return date
	}
	return WeekKey(t)
}

// Difficulty bands of an item (EX-12 PRACTICE: P > 0.7 easy, 0.4–0.7 medium, < 0.4 hard).
const (
	BandEasy   = "easy"
	BandMedium = "medium"
	BandHard   = "hard"
)

// Bands lists the bands in ratio order (easy:medium:hard).
var Bands = []string{BandEasy, BandMedium, BandHard}

// Cognitive types of an item (EX-10: fewer recall items, more inquiry/open ones).
const (
	CogRecall        = "recall"
	CogUnderstanding = "understanding"
	CogApplication   = "application"
	CogInquiry       = "inquiry"
)

// CognitiveTypes lists the cognitive types.
var CognitiveTypes = []string{CogRecall, CogUnderstanding, CogApplication, CogInquiry}

// BandOf classifies a P value (EX-12): > 0.7 easy, ≥ 0.4 medium, else hard.
func BandOf(p float64) string {
	switch {
	case p > 0.7:
		return BandEasy
	case p >= 0.4:
		return BandMedium
	}
	return BandHard
}

// PaperItem is one item of a paper as the check sees it.
type PaperItem struct {
	Points         float64
	Difficulty     string   // easy/medium/hard; ignored when ExpectedP is set
	ExpectedP      *float64 // an expected P value, 0..1
	Cognitive      string
	RealLife       bool
	WithinStandard bool // within the curriculum standard and the teaching progress (EX-09)
}

// Band is the item's band: from its expected P if given, else its label.
func (it PaperItem) Band() string {
	if it.ExpectedP != nil {
		return BandOf(*it.ExpectedP)
	}
	return it.Difficulty
}

// PaperRules are the school's paper conventions. All are PRACTICE values
// ("school convention", EX-12), settings a school may change.
type PaperRules struct {
	TargetRatio    [3]float64 `json:"target_ratio"`    // easy:medium:hard by points, default 7:2:1
	RatioTolerance float64    `json:"ratio_tolerance"` // allowed |share − target| per band, default 0.10
	TargetPMin     float64    `json:"target_p_min"`    // predicted paper P band, default 0.65–0.80
	TargetPMax     float64    `json:"target_p_max"`
	RecallMax      float64    `json:"recall_max"`  // max points share of recall items (EX-10), default 0.30
	AppliedMin     float64    `json:"applied_min"` // min share of application + inquiry/open items (EX-10), default 0.20
	// BandP is the P assumed for an item labelled only with a band.
	BandP map[string]float64 `json:"band_p"`
}

// DefaultPaperRules are the defaults: 7:2:1 (a 中考 math spec cited in
// POLICY.md EX-12) with a 0.10 tolerance, predicted P 0.65–0.80.
func DefaultPaperRules() PaperRules {
	return PaperRules{TargetRatio: [3]float64{7, 2, 1}, RatioTolerance: 0.10, TargetPMin: 0.65, TargetPMax: 0.80,
		RecallMax: 0.30, AppliedMin: 0.20, BandP: map[string]float64{BandEasy: 0.85, BandMedium: 0.55, BandHard: 0.25}}
}

// BandShare is one band of the difficulty report.
type BandShare struct {
	Band   string  `json:"band"`
	Points float64 `json:"points"`
	Share  float64 `json:"share"`
	Target float64 `json:"target"`
}

// PaperReport is the difficulty report of a paper.
type PaperReport struct {
	OK            bool        `json:"ok"`
	Violations    []Violation `json:"violations"`
	Bands         []BandShare `json:"bands"`
	PredictedP    float64     `json:"predicted_p"`
	FullMarks     float64     `json:"full_marks"`
	RecallShare   float64     `json:"recall_share"`
	AppliedShare  float64     `json:"applied_share"`
	RealLifeShare float64     `json:"real_life_share"`
	OutOfStandard []int       `json:"out_of_standard"` // 1-based item numbers
	Blocked       bool        `json:"blocked"`
}

// eps keeps boundary cases exact despite float sums (0.1+0.2…).
const eps = 1e-9

// PredictedP is an item's expected P: its own value or its band's default.
func (r PaperRules) PredictedP(it PaperItem) float64 {
	if it.ExpectedP != nil {
		return *it.ExpectedP
	}
	return r.BandP[it.Difficulty]
}

// CheckPaper builds the difficulty report (EX-09, EX-10, EX-12). Items beyond
// the standard or progress block approval (EX-09); the other checks flag.
func CheckPaper(items []PaperItem, r PaperRules) PaperReport {
	rep := PaperReport{Violations: []Violation{}, OutOfStandard: []int{}}
	var full, pSum, recall, applied, real float64
	pts := map[string]float64{}
	for i, it := range items {
		full += it.Points
		pts[it.Band()] += it.Points
		pSum += it.Points * r.PredictedP(it)
		switch it.Cognitive {
		case CogRecall:
			recall += it.Points
		case CogApplication, CogInquiry:
			applied += it.Points
		}
		if it.RealLife {
			real += it.Points
		}
		if !it.WithinStandard {
			rep.OutOfStandard = append(rep.OutOfStandard, i+1)
		}
	}
	rep.FullMarks = full
	ratioSum := r.TargetRatio[0] + r.TargetRatio[1] + r.TargetRatio[2]
	for i, b := range Bands {
		bs := BandShare{Band: b, Points: pts[b]}
		if ratioSum > 0 {
			bs.Target = r.TargetRatio[i] / ratioSum
		}
		if full > 0 {
			bs.Share = pts[b] / full
		}
		rep.Bands = append(rep.Bands, bs)
	}
	if full > 0 {
		rep.PredictedP = pSum / full
		rep.RecallShare = recall / full
		rep.AppliedShare = applied / full
		rep.RealLifeShare = real / full
	}
	flag := func(rule, msg string, params map[string]any) {
		rep.Violations = append(rep.Violations, Violation{Rule: rule, MsgID: msg, Params: params})
	}
	if len(rep.OutOfStandard) > 0 {
		rep.Violations = append(rep.Violations, Violation{Rule: RuleEX09, MsgID: "exams.paper.ex09", Blocking: true,
			Params: map[string]any{"Items": gradesList(rep.OutOfStandard)}})
		rep.Blocked = true
	}
	if full == 0 {
		flag(RuleEX12, "exams.paper.empty", nil)
	} else {
		for _, bs := range rep.Bands {
			if math.Abs(bs.Share-bs.Target) > r.RatioTolerance+eps {
				flag(RuleEX12, "exams.paper.ratio", map[string]any{"Band": bs.Band, "Share": pct(bs.Share), "Target": pct(bs.Target), "Tolerance": pct(r.RatioTolerance)})
			}
		}
		if rep.PredictedP < r.TargetPMin-eps || rep.PredictedP > r.TargetPMax+eps {
			flag(RuleEX12, "exams.paper.p", map[string]any{"P": fmt.Sprintf("%.2f", rep.PredictedP), "Min": fmt.Sprintf("%.2f", r.TargetPMin), "Max": fmt.Sprintf("%.2f", r.TargetPMax)})
		}
		if rep.RecallShare > r.RecallMax+eps {
			flag(RuleEX10, "exams.paper.recall", map[string]any{"Share": pct(rep.RecallShare), "Max": pct(r.RecallMax)})
		}
		if rep.AppliedShare < r.AppliedMin-eps {
			flag(RuleEX10, "exams.paper.applied", map[string]any{"Share": pct(rep.AppliedShare), "Min": pct(r.AppliedMin)})
		}
	}
	rep.OK = len(rep.Violations) == 0
	return rep
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

// LevelCut is one result level (EX-06): a score share at or above MinShare
// gets Level. Levels are ordered from the highest.
type LevelCut struct {
	Level    string  `json:"level"`     // a message id suffix: excellent, good, pass, not_yet …
	MinShare float64 `json:"min_share"` // of full marks, 0..1
}

// DefaultLevels are four levels (EX-06: 一般分4至5个等级): 优秀 ≥ 85%, 良好 ≥ 70%,
// 合格 ≥ 60%, 待合格 below (school convention).
func DefaultLevels() []LevelCut {
	return []LevelCut{{"excellent", 0.85}, {"good", 0.70}, {"pass", 0.60}, {"not_yet", 0}}
}

// ValidLevels reports whether cuts are 4 or 5 levels (EX-06), strictly
// descending, ending at 0.
func ValidLevels(cuts []LevelCut) bool {
	if len(cuts) < 4 || len(cuts) > 5 || cuts[len(cuts)-1].MinShare != 0 {
		return false
	}
	for i := 1; i < len(cuts); i++ {
		if cuts[i].MinShare >= cuts[i-1].MinShare || cuts[i].Level == "" {
			return false
		}
	}
	return true
}

// LevelFor turns a score into its level (EX-06): the only thing students and
// guardians ever see of a result.
func LevelFor(score, full float64, cuts []LevelCut) string {
	share := 0.0
	if full > 0 {
		share = score / full
	}
	for _, c := range cuts {
		if share >= c.MinShare-eps {
			return c.Level
		}
	}
	return cuts[len(cuts)-1].Level
}
