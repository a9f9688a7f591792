package policies

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Homework rule ids (POLICY.md §1) and the sleep rules the feedback uses (§2).
const (
	RuleHW01 = "HW-01" // grades 1–2: no take-home written homework
	RuleHW02 = "HW-02" // grades 3–6: ≤ 60 min a day
	RuleHW03 = "HW-03" // grades 7–9: ≤ 90 min a day
	RuleHW04 = "HW-04" // weekends and holidays: a configurable total
	RuleHW07 = "HW-07" // publicity board and daily class total
	RuleHW08 = "HW-08" // head-teacher coordination: quotas, subjects per day
	RuleHW09 = "HW-09" // layered homework: required / optional
	RuleHW10 = "HW-10" // finish written homework in school
	RuleHW11 = "HW-11" // bedtime wins over unfinished homework
	RuleHW15 = "HW-15" // labels are not trusted alone: all-kinds budget, guardians' reports
	RuleSL01 = "SL-01" // sleep hours
	RuleSL02 = "SL-02" // bedtime
)

// Official caps in minutes of counted homework per school day (OFF-N).
const (
	OfficialCapG1to2 = 0  // HW-01
	OfficialCapG3to6 = 60 // HW-02
	OfficialCapG7to9 = 90 // HW-03
)

// Homework kinds and layers, as the API names them.
const (
	KindWritten  = "written"
	KindOral     = "oral"
	KindReading  = "reading"
	KindPractice = "practice"
	KindInquiry  = "inquiry"

	LayerRequired = "required"
	LayerOptional = "optional"
)

// HomeworkKinds lists every kind in display order.
var HomeworkKinds = []string{KindWritten, KindOral, KindReading, KindPractice, KindInquiry}

// HomeworkLayers lists every layer (HW-09).
var HomeworkLayers = []string{LayerRequired, LayerOptional}

// IsHomeworkKind reports whether k is a known kind.
func IsHomeworkKind(k string) bool { return slices.Contains(HomeworkKinds, k) }

// IsHomeworkLayer reports whether l is a known layer.
func IsHomeworkLayer(l string) bool { return slices.Contains(HomeworkLayers, l) }

// DayKind tells whether a date is a school day or a weekend/holiday (HW-04).
type DayKind int

// The two kinds of day a cap depends on.
const (
	SchoolDay DayKind = iota
	RestDay
)

// GradeBand names the bands caps are set for: "g1_2", "g3_6", "g7_9".
func GradeBand(grade int) string {
	switch {
	case grade <= 2:
		return "g1_2"
	case grade <= 6:
		return "g3_6"
	default:
		return "g7_9"
	}
}

// GradeBands lists the bands in order.
var GradeBands = []string{"g1_2", "g3_6", "g7_9"}

// BandCaps are minutes per band.
type BandCaps struct {
	G1to2 int `json:"g1_2"`
	G3to6 int `json:"g3_6"`
	G7to9 int `json:"g7_9"`
}

// Of returns the minutes of the band of grade.
func (b BandCaps) Of(grade int) int {
	switch GradeBand(grade) {
	case "g1_2":
		return b.G1to2
	case "g3_6":
		return b.G3to6
	default:
		return b.G7to9
	}
}

// Counting says which items count toward the cap. The official default is
// written + required + take-home (HW-01..03 speak of 书面作业; optional tiers
// are HW-09's 弹性 homework; in-school work is HW-10's goal, not a burden at home).
type Counting struct {
	Kinds    []string `json:"kinds"`     // kinds that count
	Optional bool     `json:"optional"`  // optional items count too
	InSchool bool     `json:"in_school"` // in-school items count too
}

// DefaultCounting is what counts unless a setting says more.
func DefaultCounting() Counting { return Counting{Kinds: []string{KindWritten}} }

// Counts reports whether an item of this kind, layer and place counts toward the cap.
func (c Counting) Counts(kind, layer string, inSchool bool) bool {
	if !slices.Contains(c.Kinds, kind) {
		return false
	}
	if layer == LayerOptional && !c.Optional {
		return false
	}
	if inSchool && !c.InSchool {
		return false
	}
	return true
}

// HomeworkLimits are the effective homework settings of one school.
type HomeworkLimits struct {
	Caps     BandCaps  // per school day (HW-01..03)
	RestCaps *BandCaps // per weekend/holiday day (HW-04); nil: the school-day cap
	Counting Counting
	// MaxWrittenSubjects limits the subjects with counted homework on a day
	// per band (HW-08, LOCAL Zhejiang 3/4); 0 means off, the default.
	MaxWrittenSubjects BandCaps
	// TakeHome is the all-kinds daily budget of take-home minutes per band
	// (HW-15: every kind and layer taken home, whatever its label); nil: no
	// budget, the default. Stricter-only along the scope chain, like the caps.
	TakeHome *BandCaps
}

// DefaultHomeworkLimits are the official numbers.
func DefaultHomeworkLimits() HomeworkLimits {
	return HomeworkLimits{Caps: BandCaps{OfficialCapG1to2, OfficialCapG3to6, OfficialCapG7to9}, Counting: DefaultCounting()}
}

// Cap is a class's daily budget and the rule that sets it.
type Cap struct {
	Minutes int
	Rule    string
}

// CapFor is the cap of a grade on a kind of day.
func CapFor(grade int, day DayKind, l HomeworkLimits) Cap {
	rule := RuleHW02
	switch GradeBand(grade) {
	case "g1_2":
		rule = RuleHW01
	case "g7_9":
		rule = RuleHW03
	}
	if day == RestDay {
		if l.RestCaps != nil {
			return Cap{Minutes: l.RestCaps.Of(grade), Rule: RuleHW04}
		}
	}
	return Cap{Minutes: l.Caps.Of(grade), Rule: rule}
}

// Refusal codes of a homework save (DESIGN.md API contract).
const (
	CodeCapExceeded          = "cap_exceeded"
	CodeQuotaExceeded        = "subject_quota_exceeded"
	CodeWrittenNotAllowed    = "written_homework_not_allowed"
	CodeWrittenSubjectsLimit = "written_subjects_exceeded"
	CodeTakeHomeExceeded     = "take_home_budget_exceeded"
	CodeKindLooksWritten     = "kind_looks_written"
)

// LowerGradeTakeHomeKinds are the kinds grades 1–2 may take home (HW-01: no
// written homework; oral work, reading and practice without writing are
// allowed). Inquiry tasks usually end in a written record, so they stay in
// school.
var LowerGradeTakeHomeKinds = []string{KindOral, KindReading, KindPractice}

// writtenWords are words in a title or details that mean pen and paper
// (HW-15: the cheapest way around HW-01..03 is a label; a workbook page is
// written work whatever it is called).
var writtenWords = []string{"练习册", "作业本", "抄写", "默写", "听写", "写字", "描红", "试卷", "卷子", "口算本", "练字", "书写", "写一写", "日记", "作文", "练习卷", "学案", "导学案", "workbook", "worksheet"}

var pageRef = regexp.MustCompile(`第\s*[0-9一二三四五六七八九十百]+\s*[-—~至到]?\s*[0-9一二三四五六七八九十百]*\s*页|(^|[^A-Za-z])[Pp]\.\s*[0-9]+`)

// LooksWritten reports whether an item's text says it is written work, and
// the word that says so.
func LooksWritten(text string) (bool, string) {
	t := strings.ToLower(text)
	for _, w := range writtenWords {
		if strings.Contains(t, w) {
			return true, w
		}
	}
	if m := pageRef.FindString(text); m != "" {
		return true, m
	}
	return false, ""
}

// SaveCheck is what deciding a save needs: the class-day as it stands
// (without the item being saved) and the item.
type SaveCheck struct {
	Grade    int
	Cap      Cap
	Used     int // counted minutes already on the class-day
	Kind     string
	Layer    string
	InSchool bool
	Minutes  int
	Counting Counting
	// Quota of the item's subject (nil: no quota) and the subject's counted
	// minutes already on the day.
	Quota       *int
	SubjectUsed int
	// Subjects already with counted homework that day (other than the
	// item's) and the limit (0: off).
	OtherCountedSubjects int
	MaxSubjects          int
	// Text is the item's title and details (HW-15: a label must not hide
	// written work).
	Text string
	// TakeHomeUsed is the take-home minutes of every kind already on the
	// class-day; TakeHomeBudget the all-kinds budget (nil: none, HW-15).
	TakeHomeUsed   int
	TakeHomeBudget *int
}

// Refusal says why a save was refused.
type Refusal struct {
	Code      string
	Rule      string
	Cap       int // the cap or quota that was hit
	Used      int
	Remaining int
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%s (%s): cap %d, used %d, remaining %d", r.Code, r.Rule, r.Cap, r.Used, r.Remaining)
}

// CheckSave decides whether an item may be saved. HW-01 comes first (grades
// 1–2 take home only oral work, reading and practice without writing,
// whatever the minutes); then HW-15's label check (a take-home item whose
// text says pen and paper must be labelled written); then the class cap;
// then the all-kinds take-home budget (HW-15); then the subject quota — so
// when both the cap and a quota are exceeded, cap_exceeded is reported.
func CheckSave(c SaveCheck) *Refusal {
	written, _ := LooksWritten(c.Text)
	if c.Grade <= 2 && !c.InSchool && (!slices.Contains(LowerGradeTakeHomeKinds, c.Kind) || written) {
		return &Refusal{Code: CodeWrittenNotAllowed, Rule: RuleHW01, Cap: 0, Used: c.Used, Remaining: 0}
	}
	if !c.InSchool && c.Kind != KindWritten && written {
		return &Refusal{Code: CodeKindLooksWritten, Rule: RuleHW15, Cap: c.Cap.Minutes, Used: c.Used, Remaining: max(0, c.Cap.Minutes-c.Used)}
	}
	counts := c.Counting.Counts(c.Kind, c.Layer, c.InSchool)
	if counts && c.Used+c.Minutes > c.Cap.Minutes {
		return &Refusal{Code: CodeCapExceeded, Rule: c.Cap.Rule, Cap: c.Cap.Minutes, Used: c.Used, Remaining: max(0, c.Cap.Minutes-c.Used)}
	}
	if !c.InSchool && c.TakeHomeBudget != nil && c.TakeHomeUsed+c.Minutes > *c.TakeHomeBudget {
		b := *c.TakeHomeBudget
		return &Refusal{Code: CodeTakeHomeExceeded, Rule: RuleHW15, Cap: b, Used: c.TakeHomeUsed, Remaining: max(0, b-c.TakeHomeUsed)}
	}
	if !counts {
		return nil
	}
	if c.Quota != nil && c.SubjectUsed+c.Minutes > *c.Quota {
		return &Refusal{Code: CodeQuotaExceeded, Rule: RuleHW08, Cap: *c.Quota, Used: c.SubjectUsed, Remaining: max(0, *c.Quota-c.SubjectUsed)}
	}
	if c.MaxSubjects > 0 && c.SubjectUsed == 0 && c.OtherCountedSubjects+1 > c.MaxSubjects {
		return &Refusal{Code: CodeWrittenSubjectsLimit, Rule: RuleHW08, Cap: c.MaxSubjects, Used: c.OtherCountedSubjects, Remaining: 0}
	}
	return nil
}

// TakeHomeBudgetFor is the all-kinds budget of a grade (nil: none).
func TakeHomeBudgetFor(grade int, l HomeworkLimits) *int {
	if l.TakeHome == nil {
		return nil
	}
	b := l.TakeHome.Of(grade)
	return &b
}

// QuotaError says why a set of subject quotas is refused.
type QuotaError struct {
	Rule  string
	Sum   int
	Cap   int
	Bad   string // the subject with a negative quota, if that is the reason
	Total bool   // the quotas add up to more than the cap
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("%s: quotas sum %d over cap %d", e.Rule, e.Sum, e.Cap)
}

// ValidateQuotas checks head-teacher subject quotas (HW-08): each ≥ 0 and
// their sum within the class's daily cap.
func ValidateQuotas(quotas map[string]int, cap int) *QuotaError {
	sum := 0
	keys := make([]string, 0, len(quotas))
	for k := range quotas {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if quotas[k] < 0 {
			return &QuotaError{Rule: RuleHW08, Bad: k, Cap: cap}
		}
		sum += quotas[k]
	}
	if sum > cap {
		return &QuotaError{Rule: RuleHW08, Sum: sum, Cap: cap, Total: true}
	}
	return nil
}

// OverrideError says why a local homework setting is refused: it is looser
// than the official number or than the value of an enclosing scope.
type OverrideError struct {
	Rule   string // the rule the setting would loosen
	Field  string // "caps.g3_6", "rest_caps.g7_9", "counting.kinds" …
	Value  int
	Limit  int
	Source string // "official" or the enclosing scope ("region:210900")
}

func (e *OverrideError) Error() string {
	return fmt.Sprintf("%s: %s = %d is looser than %d (%s)", e.Rule, e.Field, e.Value, e.Limit, e.Source)
}

// ValidateOverride checks that limits set at a scope are not looser than the
// official numbers nor than enclosing, the limits of the scopes around it
// (nil: none set there). A local value may be stricter, never looser
// (POLICY.md preamble).
func ValidateOverride(l HomeworkLimits, enclosing *HomeworkLimits) *OverrideError {
	official := DefaultHomeworkLimits()
	bands := []struct {
		name     string
		rule     string
		get      func(BandCaps) int
		official int
	}{
		{"g1_2", RuleHW01, func(b BandCaps) int { return b.G1to2 }, OfficialCapG1to2},
		{"g3_6", RuleHW02, func(b BandCaps) int { return b.G3to6 }, OfficialCapG3to6},
		{"g7_9", RuleHW03, func(b BandCaps) int { return b.G7to9 }, OfficialCapG7to9},
	}
	for _, b := range bands {
		v := b.get(l.Caps)
		if v < 0 {
			return &OverrideError{Rule: b.rule, Field: "caps." + b.name, Value: v, Limit: 0, Source: "official"}
		}
		if v > b.official {
			return &OverrideError{Rule: b.rule, Field: "caps." + b.name, Value: v, Limit: b.official, Source: "official"}
		}
		if enclosing != nil && v > b.get(enclosing.Caps) {
			return &OverrideError{Rule: b.rule, Field: "caps." + b.name, Value: v, Limit: b.get(enclosing.Caps), Source: "enclosing"}
		}
		if l.RestCaps != nil {
			rv := b.get(*l.RestCaps)
			if rv < 0 {
				return &OverrideError{Rule: RuleHW04, Field: "rest_caps." + b.name, Value: rv, Limit: 0, Source: "official"}
			}
			if enclosing != nil && enclosing.RestCaps != nil && rv > b.get(*enclosing.RestCaps) {
				return &OverrideError{Rule: RuleHW04, Field: "rest_caps." + b.name, Value: rv, Limit: b.get(*enclosing.RestCaps), Source: "enclosing"}
			}
		}
		if l.TakeHome != nil {
			tv := b.get(*l.TakeHome)
			if tv < 0 {
				return &OverrideError{Rule: RuleHW15, Field: "take_home." + b.name, Value: tv, Limit: 0, Source: "official"}
			}
			if enclosing != nil && enclosing.TakeHome != nil && tv > b.get(*enclosing.TakeHome) {
				return &OverrideError{Rule: RuleHW15, Field: "take_home." + b.name, Value: tv, Limit: b.get(*enclosing.TakeHome), Source: "enclosing"}
			}
		}
		if ms := b.get(l.MaxWrittenSubjects); ms < 0 {
			return &OverrideError{Rule: RuleHW08, Field: "max_written_subjects." + b.name, Value: ms, Limit: 0, Source: "official"}
		} else if enclosing != nil {
			if em := b.get(enclosing.MaxWrittenSubjects); em > 0 && (ms == 0 || ms > em) {
				return &OverrideError{Rule: RuleHW08, Field: "max_written_subjects." + b.name, Value: ms, Limit: em, Source: "enclosing"}
			}
		}
	}
	// No take-home budget at this scope inherits the enclosing one: the
	// strictest value along the chain applies, so nothing is loosened.
	if enclosing != nil && enclosing.RestCaps != nil && l.RestCaps == nil {
		return &OverrideError{Rule: RuleHW04, Field: "rest_caps", Value: -1, Limit: enclosing.RestCaps.G3to6, Source: "enclosing"}
	}
	// Counting less than the official default (or than the enclosing scope) is looser.
	base := official.Counting
	if enclosing != nil {
		base = enclosing.Counting
	}
	for _, k := range l.Counting.Kinds {
		if !IsHomeworkKind(k) {
			return &OverrideError{Rule: RuleHW02, Field: "counting.kinds", Source: "official"}
		}
	}
	for _, k := range append(base.Kinds, official.Counting.Kinds...) {
		if !slices.Contains(l.Counting.Kinds, k) {
			return &OverrideError{Rule: RuleHW02, Field: "counting.kinds", Source: "enclosing"}
		}
	}
	if base.Optional && !l.Counting.Optional {
		return &OverrideError{Rule: RuleHW09, Field: "counting.optional", Source: "enclosing"}
	}
	if base.InSchool && !l.Counting.InSchool {
		return &OverrideError{Rule: RuleHW10, Field: "counting.in_school", Source: "enclosing"}
	}
	return nil
}

// Bedtime is the latest bedtime of a grade (SL-02: primary 21:20, junior
// 22:00; "一般", a soft limit). HW-11: stopping at bedtime is acceptable.
func Bedtime(grade int) string {
	if grade <= 6 {
		return "21:20"
	}
	return "22:00"
}

// SleepHours is the daily sleep a grade should get (SL-01).
func SleepHours(grade int) int {
	if grade <= 6 {
		return 10
	}
	return 9
}

// GapRatio is the estimate-vs-reality gap: reported ÷ estimated minutes
// (0 when nothing was estimated). Above 1 means estimates are low.
func GapRatio(actual, estimated int) float64 {
	if estimated <= 0 {
		return 0
	}
	return float64(actual) / float64(estimated)
}
