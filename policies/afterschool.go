package policies

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// After-school service (课后服务) rules, AS-01..AS-10 in POLICY.md.

// Rule ids of the after-school area.
const (
	RuleAS01 = "AS-01" // 5 days a week, ≥ 120 minutes a day
	RuleAS02 = "AS-02" // ends no earlier than the local off-work time
	RuleAS03 = "AS-03" // full coverage: service every school day, a place for every student who asks
	RuleAS04 = "AS-04" // voluntary: a guardian's opt-in
	RuleAS06 = "AS-06" // homework guidance first; no new lessons
	RuleAS07 = "AS-07" // early arrival, lunch and evening self-study never count
	RuleAS08 = "AS-08" // staffing: own teachers or bureau-vetted providers
	RuleAS09 = "AS-09" // teachers' service hours (subsidy basis; weekly maximum)
	RuleAS10 = "AS-10" // fees published, waivers for students in need
)

// Official numbers of AS-01 and the default off-work time (AS-02 names the
// local off-work time; a bureau setting overrides it).
const (
	MinServiceDaysPerWeek   = 5
	MinServiceMinutesPerDay = 120
	DefaultOffWorkTime      = "17:30"
	// DefaultTeacherMaxWeeklyHours is a school setting's default (PRACTICE):
	// how many service hours a week one teacher may be given (AS-09).
	DefaultTeacherMaxWeeklyHours = 6
	// DefaultMaxProgramsPerStudent is the default per-student maximum of
	// programs (enrolled, waitlisted or applied) in a term (setting).
	DefaultMaxProgramsPerStudent = 3
	// MaxRankedChoices is how many programs a student may rank in a lottery
	// application window.
	MaxRankedChoices = 5
)

// Setting keys of the after-school area.
const (
	SettingOffWorkTime           = "as.off_work_time"            // "HH:MM": region (bureau) scope, school override
	SettingTeacherMaxWeeklyHours = "as.teacher_max_weekly_hours" // int: school scope
	SettingMaxProgramsPerStudent = "as.max_programs_per_student" // int: school scope
)

// Segment kinds of a service day. Only homework guidance and activities are
// after-school service; the others are care the school gives that AS-07
// excludes from the service's time.
const (
	SegHomeworkGuidance = "homework_guidance"
	SegActivities       = "activities"
	SegEarlyArrival     = "early_arrival"
	SegLunchNap         = "lunch_nap"
	SegEveningStudy     = "evening_self_study"
)

// SegmentKinds lists every segment kind.
var SegmentKinds = []string{SegHomeworkGuidance, SegActivities, SegEarlyArrival, SegLunchNap, SegEveningStudy}

// ExcludedSegment reports whether time in a segment of this kind does not
// count as after-school service (AS-07).
func ExcludedSegment(kind string) bool {
	return kind == SegEarlyArrival || kind == SegLunchNap || kind == SegEveningStudy
}

// ServiceDay is one weekday's service window (weekday 1 = Monday).
type ServiceDay struct {
	Weekday int    `json:"weekday"`
	Start   string `json:"start"`
	End     string `json:"end"`
}

// ServiceSegment is a part of every service day (segment 1 homework
// guidance, segment 2 activities; or an excluded care slot).
type ServiceSegment struct {
	Kind  string `json:"kind"`
	Start string `json:"start"`
	End   string `json:"end"`
}

// ServicePlanSpec is what the compliance check reads. Segments nil means
// the default layout (PRACTICE): segment 1 homework guidance, then activities.
type ServicePlanSpec struct {
	Days        []ServiceDay
	Segments    []ServiceSegment
	OffWorkTime string
}

// Minutes parses "HH:MM" into minutes after midnight; ok is false when s is
// not a valid time.
func Minutes(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, m := 0, 0
	for i, c := range s {
		if i == 2 {
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		if i < 2 {
			h = h*10 + int(c-'0')
		} else {
			m = m*10 + int(c-'0')
		}
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// HHMM formats minutes after midnight as "HH:MM".
func HHMM(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

func mustMin(s string) int { m, _ := Minutes(s); return m }

// ValidatePlan checks the shape of a plan (not the rules): valid weekdays and
// times, start before end, each weekday at most once. It returns a message id
// and params for the first problem, or "" when the plan is well formed.
func ValidatePlan(p ServicePlanSpec) (string, map[string]any) {
	seen := map[int]bool{}
	for _, d := range p.Days {
		if d.Weekday < 1 || d.Weekday > 7 {
			return "as.plan.bad_weekday", map[string]any{"Value": d.Weekday}
		}
		if seen[d.Weekday] {
			return "as.plan.duplicate_weekday", map[string]any{"Value": d.Weekday}
		}
		seen[d.Weekday] = true
		s, ok1 := Minutes(d.Start)
		e, ok2 := Minutes(d.End)
		if !ok1 || !ok2 || s >= e {
			return "as.plan.bad_window", map[string]any{"Start": d.Start, "End": d.End}
		}
	}
	for _, sg := range p.Segments {
		if !slices.Contains(SegmentKinds, sg.Kind) {
			return "as.plan.bad_segment", map[string]any{"Value": sg.Kind}
		}
		s, ok1 := Minutes(sg.Start)
		e, ok2 := Minutes(sg.End)
		if !ok1 || !ok2 || s >= e {
			return "as.plan.bad_window", map[string]any{"Start": sg.Start, "End": sg.End}
		}
	}
	if p.OffWorkTime != "" {
		if _, ok := Minutes(p.OffWorkTime); !ok {
			return "error.bad_time", map[string]any{"Value": p.OffWorkTime}
		}
	}
	return "", nil
}

// CountedMinutes is the service time of a day: its window minus any time
// inside excluded segments (AS-07). last is the end of the last counted minute.
func CountedMinutes(d ServiceDay, segments []ServiceSegment) (minutes, last int) {
	s, e := mustMin(d.Start), mustMin(d.End)
	counted := make([]bool, e-s)
	for i := range counted {
		counted[i] = true
	}
	for _, sg := range segments {
		if !ExcludedSegment(sg.Kind) {
			continue
		}
		from, to := max(mustMin(sg.Start), s), min(mustMin(sg.End), e)
		for m := from; m < to; m++ {
			counted[m-s] = false
		}
	}
	for i, ok := range counted {
		if ok {
			minutes++
			last = s + i + 1
		}
	}
	return minutes, last
}

// CheckServicePlan lists the rules a well-formed plan breaks, in rule order:
// AS-01 (fewer than 5 service days; a day under 120 minutes), AS-02 (a day
// ending before the off-work time), AS-06 (no homework-guidance segment).
// Time in excluded segments (AS-07) never counts toward AS-01 or AS-02; a
// plan whose excluded segments bring a day under a limit carries AS-07 too.
func CheckServicePlan(p ServicePlanSpec) []Violation {
	var out []Violation
	days := append([]ServiceDay(nil), p.Days...)
	sort.Slice(days, func(i, j int) bool { return days[i].Weekday < days[j].Weekday })
	off := p.OffWorkTime
	if off == "" {
		off = DefaultOffWorkTime
	}
	offMin := mustMin(off)
	serviceDays := 0
	var short, early []ServiceDay
	excludedHurt := false
	for _, d := range days {
		if d.Weekday > 5 {
			continue // weekends are not school days: they never count
		}
		mins, last := CountedMinutes(d, p.Segments)
		raw := mustMin(d.End) - mustMin(d.Start)
		if mins > 0 {
			serviceDays++
		}
		if mins < MinServiceMinutesPerDay {
			short = append(short, d)
			if raw >= MinServiceMinutesPerDay {
				excludedHurt = true
			}
		}
		if mins > 0 && last < offMin {
			early = append(early, d)
			if mustMin(d.End) >= offMin {
				excludedHurt = true
			}
		}
	}
	if serviceDays < MinServiceDaysPerWeek {
		out = append(out, Violation{Rule: RuleAS01, MsgID: "as.rule.as01_days", Params: map[string]any{"Days": serviceDays, "Min": MinServiceDaysPerWeek}})
	}
	for _, d := range short {
		mins, _ := CountedMinutes(d, p.Segments)
		out = append(out, Violation{Rule: RuleAS01, MsgID: "as.rule.as01_minutes", Params: map[string]any{"Weekday": d.Weekday, "Minutes": mins, "Min": MinServiceMinutesPerDay}})
	}
	for _, d := range early {
		_, last := CountedMinutes(d, p.Segments)
		out = append(out, Violation{Rule: RuleAS02, MsgID: "as.rule.as02_end", Params: map[string]any{"Weekday": d.Weekday, "End": HHMM(last), "OffWork": off}})
	}
	if p.Segments != nil && !hasHomeworkGuidance(p.Segments) {
		out = append(out, Violation{Rule: RuleAS06, MsgID: "as.rule.as06_guidance", Params: map[string]any{}})
	}
	if excludedHurt {
		out = append(out, Violation{Rule: RuleAS07, MsgID: "as.rule.as07_excluded", Params: map[string]any{}})
	}
	return out
}

func hasHomeworkGuidance(segs []ServiceSegment) bool {
	for _, s := range segs {
		if s.Kind == SegHomeworkGuidance && mustMin(s.End) > mustMin(s.Start) {
			return true
		}
	}
	return false
}

// OffWorkAllowed reports whether a school's own off-work time may override
// the bureau's: a local value may be stricter (later), never looser (AS-02).
func OffWorkAllowed(school, bureau string) bool {
	return mustMin(school) >= mustMin(bureau)
}

// Program categories (AS-06: there is no "new lessons" category).
const (
	CatHomeworkGuidance = "homework_guidance"
	CatSports           = "sports"
	CatArts             = "arts"
	CatScience          = "science"
	CatReading          = "reading"
	CatLabour           = "labour"
	CatClubs            = "clubs"
)

// ProgramCategories lists the categories a program may have.
var ProgramCategories = []string{CatHomeworkGuidance, CatSports, CatArts, CatScience, CatReading, CatLabour, CatClubs}

// IsProgramCategory reports whether c is an allowed category.
func IsProgramCategory(c string) bool { return slices.Contains(ProgramCategories, c) }

// drillWords are words that, in a program's name or description, suggest
// subject drills or new lessons (AS-06: 「不得…刷题备考、讲授新课或集体补课」).
// A program they match does not open until the principal confirms it with
// a written reason (ConfirmReasonOK); the confirmation is audited and the
// bureau sees it.
var drillWords = []string{"刷题", "补课", "新课", "提前学", "先学", "超前", "培优", "提分", "提高班", "冲刺", "奥数", "备考", "预习", "习题课", "考前", "应试"}

// MinConfirmReasonRunes is the shortest written reason a principal may give
// for opening a program that looks like new lessons (AS-06).
const MinConfirmReasonRunes = 15

// MinStaffNoteRunes is the shortest note of a staff entry on a guardian's
// behalf (AS-04): a sentence saying who asked, when and how, not a mark.
const MinStaffNoteRunes = 10

// Channels through which a guardian asks staff to enroll a child (AS-04).
const (
	ChannelPaperForm = "paper_form"
	ChannelPhone     = "phone"
	ChannelInPerson  = "in_person"
)

// RequestChannels lists the channels in display order.
var RequestChannels = []string{ChannelPaperForm, ChannelPhone, ChannelInPerson}

// IsSentence reports whether text is at least minRunes long and reads like
// words rather than a placeholder: at least half as many different letters
// (punctuation and spaces aside) as minRunes. "x", "……" or "aaaaaaaaaa"
// are not a sentence.
func IsSentence(text string, minRunes int) bool {
	text = strings.TrimSpace(text)
	if len([]rune(text)) < minRunes {
		return false
	}
	distinct := map[rune]bool{}
	for _, r := range text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			distinct[r] = true
		}
	}
	return len(distinct)*2 >= minRunes
}

// LooksLikeSubjectDrill reports whether a program's name looks like subject
// drilling or new-lesson teaching (AS-06), and the first word that matched.
func LooksLikeSubjectDrill(name string) (bool, string) {
	for _, w := range drillWords {
		if strings.Contains(name, w) {
			return true, w
		}
	}
	return false, ""
}

// Slot is a weekly time of a program (weekday 1 = Monday).
type Slot struct {
	Weekday int    `json:"weekday"`
	Start   string `json:"start"`
	End     string `json:"end"`
}

// Minutes is the slot's length.
func (s Slot) Minutes() int { return mustMin(s.End) - mustMin(s.Start) }

// SlotsOverlap reports whether two weekly slots share any minute (touching
// ends do not overlap).
func SlotsOverlap(a, b Slot) bool {
	return a.Weekday == b.Weekday && mustMin(a.Start) < mustMin(b.End) && mustMin(b.Start) < mustMin(a.End)
}

// AnyOverlap reports whether a slot of as overlaps a slot of bs.
func AnyOverlap(as, bs []Slot) bool {
	for _, a := range as {
		for _, b := range bs {
			if SlotsOverlap(a, b) {
				return true
			}
		}
	}
	return false
}

// WeeklyMinutes is the total length of slots.
func WeeklyMinutes(slots []Slot) int {
	n := 0
	for _, s := range slots {
		n += s.Minutes()
	}
	return n
}

// SlotWithinPlan reports whether a slot lies inside the plan's window of its
// weekday (a program outside the service window is not service time).
func SlotWithinPlan(s Slot, days []ServiceDay) bool {
	for _, d := range days {
		if d.Weekday == s.Weekday && mustMin(s.Start) >= mustMin(d.Start) && mustMin(s.End) <= mustMin(d.End) {
			return true
		}
	}
	return false
}

// TeacherHoursAllowed reports whether a teacher already given usedMinutes a
// week may take addMinutes more under a maximum of maxHours (AS-09 setting).
func TeacherHoursAllowed(usedMinutes, addMinutes, maxHours int) bool {
	return usedMinutes+addMinutes <= maxHours*60
}

// Fee units (AS-10: fees are published per term or per session).
const (
	FeePerTerm    = "term"
	FeePerSession = "session"
)

// FeeDue is what a student owes for a program (in fen): waived students in
// need owe nothing (AS-10); per-session fees count sessions attended.
func FeeDue(feeFen int, unit string, sessions int, waived bool) int {
	if waived || feeFen <= 0 {
		return 0
	}
	if unit == FeePerSession {
		return feeFen * sessions
	}
	return feeFen
}

// Priority groups of students, in lottery priority order: a member of an
// earlier group draws before every member of a later group; students in no
// group draw last. Left-behind children first, then migrant children, then
// children of dual-working parents (who most need care until off-work time).
const (
	GroupLeftBehind  = "left_behind"
	GroupMigrant     = "migrant"
	GroupDualWorking = "dual_working"
)

// PriorityOrder is the documented order of the lottery's priority groups.
var PriorityOrder = []string{GroupLeftBehind, GroupMigrant, GroupDualWorking}

// PriorityTier is the tier of a student with these groups (comma list):
// 0 for left_behind … len(PriorityOrder) for none.
func PriorityTier(groups string) int {
	tier := len(PriorityOrder)
	for _, g := range strings.Split(groups, ",") {
		if i := slices.Index(PriorityOrder, strings.TrimSpace(g)); i >= 0 && i < tier {
			tier = i
		}
	}
	return tier
}

// LotteryProgram is a program in a lottery: its free places and weekly slots.
type LotteryProgram struct {
	ID     int64
	Places int
	Slots  []Slot
}

// LotteryApplicant is a student with ranked choices (program ids, first =
// most wanted), the priority groups, and what the student already holds
// (places outside the lottery count toward Max and clashes).
type LotteryApplicant struct {
	StudentID int64
	Groups    string
	Choices   []int64
	Holding   []Slot
	Held      int
}

// LotteryResult is the outcome: each student's won programs, each program's
// waitlist (students who chose it and did not win it, in draw order), and
// the draw order itself.
type LotteryResult struct {
	Won      map[int64][]int64
	Waitlist map[int64][]int64
	Order    []int64
}

// RunLottery allocates places reproducibly from seed:
//
//  1. Applicants are sorted by student id, shuffled with a PCG generator
//     seeded with seed (math/rand/v2), then stably sorted by priority tier
//     (PriorityOrder), so group members draw first and the seed decides
//     order within a tier.
//  2. Round r gives each applicant, in draw order, their r-th choice when it
//     has a place left, they hold fewer than max programs, and it does not
//     overlap what they already hold — everyone's first choice before anyone's
//     second.
//  3. Choices not won go to the program's waitlist, in draw order, when
//     the student could still take them (no clash, under the maximum).
//
// The same seed and input give the same result.
func RunLottery(seed uint64, programs []LotteryProgram, applicants []LotteryApplicant, maxPerStudent int) LotteryResult {
	apps := append([]LotteryApplicant(nil), applicants...)
	sort.Slice(apps, func(i, j int) bool { return apps[i].StudentID < apps[j].StudentID })
	r := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	r.Shuffle(len(apps), func(i, j int) { apps[i], apps[j] = apps[j], apps[i] })
	sort.SliceStable(apps, func(i, j int) bool { return PriorityTier(apps[i].Groups) < PriorityTier(apps[j].Groups) })

	places := map[int64]int{}
	slotsOf := map[int64][]Slot{}
	for _, p := range programs {
		places[p.ID] = p.Places
		slotsOf[p.ID] = p.Slots
	}
	res := LotteryResult{Won: map[int64][]int64{}, Waitlist: map[int64][]int64{}}
	holding := make([][]Slot, len(apps))
	held := make([]int, len(apps))
	rounds := 0
	for i, a := range apps {
		res.Order = append(res.Order, a.StudentID)
		holding[i] = append([]Slot(nil), a.Holding...)
		held[i] = a.Held
		rounds = max(rounds, len(a.Choices))
	}
	won := map[[2]int64]bool{}
	for round := 0; round < rounds; round++ {
		for i, a := range apps {
			if round >= len(a.Choices) {
				continue
			}
			pid := a.Choices[round]
			if _, ok := places[pid]; !ok {
				continue
			}
			if places[pid] > 0 && held[i] < maxPerStudent && !AnyOverlap(holding[i], slotsOf[pid]) {
				places[pid]--
				held[i]++
				holding[i] = append(holding[i], slotsOf[pid]...)
				res.Won[a.StudentID] = append(res.Won[a.StudentID], pid)
				won[[2]int64{a.StudentID, pid}] = true
			}
		}
	}
	for i, a := range apps {
		for _, pid := range a.Choices {
			// A waitlist place must be one the student could take when
			// promoted: no clash with what they hold, and under the maximum.
			if _, ok := places[pid]; ok && !won[[2]int64{a.StudentID, pid}] && held[i] < maxPerStudent && !AnyOverlap(holding[i], slotsOf[pid]) {
				res.Waitlist[pid] = append(res.Waitlist[pid], a.StudentID)
			}
		}
	}
	return res
}
