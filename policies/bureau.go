package policies

import (
	"fmt"
	"math"
	"time"
)

// Report cycles. MON-01: the national cycle is twice a month, reports due
// before the 15th and the 30th; MON-05: monthly and per-term reports are
// local practice, switched on per region as settings.
const (
	CycleSemiMonthly = "semi_monthly"
	CycleMonthly     = "monthly"
	CycleTerm        = "term"
)

// ReportCycles lists the cycles in display order.
var ReportCycles = []string{CycleSemiMonthly, CycleMonthly, CycleTerm}

// Report statuses.
const (
	ReportDraft     = "draft"
	ReportSubmitted = "submitted"
	ReportAccepted  = "accepted"
	ReportReturned  = "returned"
)

// ReportPeriod is one reporting period of a cycle: the dates its figures
// cover and the day the report is due.
type ReportPeriod struct {
	Cycle string
	Key   string // 2026-11-1, 2026-11-2 (semi-monthly), 2026-11 (monthly), term-2026-2027-1
	From  string
	To    string
	Due   string
}

const dateLayout = "2006-01-02"

// PeriodOf is the semi-monthly or monthly period containing day (MON-01:
// the first half runs to the 15th and is due then; the second half runs to
// the month's end and is due the 30th, or the last day of a shorter month).
func PeriodOf(cycle string, day time.Time) (ReportPeriod, error) {
	y, m, d := day.Date()
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1)
	ym := first.Format("2006-01")
	switch cycle {
	case CycleSemiMonthly:
		if d <= 15 {
			mid := first.AddDate(0, 0, 14)
			return ReportPeriod{cycle, ym + "-1", first.Format(dateLayout), mid.Format(dateLayout), mid.Format(dateLayout)}, nil
		}
		due := last
		if last.Day() > 30 {
			due = first.AddDate(0, 0, 29)
		}
		return ReportPeriod{cycle, ym + "-2", first.AddDate(0, 0, 15).Format(dateLayout), last.Format(dateLayout), due.Format(dateLayout)}, nil
	case CycleMonthly:
		return ReportPeriod{cycle, ym, first.Format(dateLayout), last.Format(dateLayout), last.Format(dateLayout)}, nil
	}
	return ReportPeriod{}, fmt.Errorf("cycle %q has no calendar periods", cycle)
}

// TermPeriod is the per-term report period: the whole term, due its last day.
func TermPeriod(schoolYear string, semester int, start, end string) ReportPeriod {
	return ReportPeriod{CycleTerm, fmt.Sprintf("term-%s-%d", schoolYear, semester), start, end, end}
}

// ReportOverdue reports whether a report is past its due date without having
// been submitted (a returned report is owed again).
func ReportOverdue(status, due, today string) bool {
	return (status == ReportDraft || status == ReportReturned) && today > due
}

// ReportEditable reports whether the principal may still change the
// narrative: a submitted snapshot is immutable (MON-01).
func ReportEditable(status string) bool { return status == ReportDraft || status == ReportReturned }

// ValidCycle reports whether c is a known cycle.
func ValidCycle(c string) bool {
	for _, x := range ReportCycles {
		if x == c {
			return true
		}
	}
	return false
}

// AlertRule raises an alert for a school whose indicator Key compares with
// Threshold by Op (lt, lte, gt, gte). ID is the rule id the alert carries.
type AlertRule struct {
	ID        string  `json:"id"`
	Key       string  `json:"key"`
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold"`
}

// DefaultAlertRules are the alert rules before a bureau changes thresholds.
// Each names exactly what it counts, and one rule id raises one alert:
//   - AS-03 coverage (the lower of school days with service and guardians'
//     requests met) under 95%; participation is voluntary (AS-04) and never
//     alerted on;
//   - HW-02/03 a class whose guardian-reported evening was over its limit
//     on 2 or more days of the week (saves over the cap are refused, so the
//     counted total cannot show it);
//   - HW-15 two or more guardians' reports in the week say an item labelled
//     oral, reading, practice or inquiry was really written homework;
//   - EX-01 any refused attempt at a paper exam in grades 1–2 (EX-01
//     refusals only);
//   - MON-04 complaints past their answer date;
//   - AS-01 after-school service on fewer than 5 days a week.
var DefaultAlertRules = []AlertRule{
	{ID: "AS-03", Key: "as.coverage_pct", Op: "lt", Threshold: 0.95},
	{ID: "HW-02/03", Key: "hw.max_class_reported_over_days", Op: "gte", Threshold: 2},
	{ID: "HW-15", Key: "hw.reported_written", Op: "gte", Threshold: 2},
	{ID: "EX-01", Key: "ex.ex01_refusals", Op: "gt", Threshold: 0},
	{ID: "MON-04", Key: "cp.overdue", Op: "gt", Threshold: 0},
	{ID: "AS-01", Key: "as.days_per_week", Op: "lt", Threshold: 5},
}

// DuplicateRuleID returns the first rule id that appears twice in rules
// ("" when none): an alert is one per school, rule id and week, so a
// second rule under the same id would never raise its own alert.
func DuplicateRuleID(rules []AlertRule) string {
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.ID] {
			return r.ID
		}
		seen[r.ID] = true
	}
	return ""
}

// Valid reports whether the rule is well formed.
func (r AlertRule) Valid() bool {
	switch r.Op {
	case "lt", "lte", "gt", "gte":
	default:
		return false
	}
	return r.ID != "" && r.Key != "" && !math.IsNaN(r.Threshold) && !math.IsInf(r.Threshold, 0)
}

// Breached reports whether value v trips the rule.
func (r AlertRule) Breached(v float64) bool {
	switch r.Op {
	case "lt":
		return v < r.Threshold
	case "lte":
		return v <= r.Threshold
	case "gt":
		return v > r.Threshold
	case "gte":
		return v >= r.Threshold
	}
	return false
}

// Gap is how far past the threshold v is, relative to the threshold (0 when
// not breached), capped at 5 so one wild value does not drown the rest.
func (r AlertRule) Gap(v float64) float64 {
	if !r.Breached(v) {
		return 0
	}
	base := math.Abs(r.Threshold)
	if base < 1 {
		base = 1
	}
	if r.Threshold > 0 && r.Threshold <= 1 && (r.Op == "lt" || r.Op == "lte") {
		base = r.Threshold // a percentage: 90% against 95% is a 5% gap
	}
	return math.Min(math.Abs(v-r.Threshold)/base, 5)
}

// AttentionScore orders schools worst first on the dashboard: each breached
// rule counts 10 plus 10 per unit of relative gap, each open alert 5.
func AttentionScore(values map[string]float64, rules []AlertRule, openAlerts int) float64 {
	score := 5 * float64(openAlerts)
	for _, r := range rules {
		v, ok := values[r.Key]
		if !ok || !r.Breached(v) {
			continue
		}
		score += 10 + 10*r.Gap(v)
	}
	return math.Round(score*100) / 100
}

// Complaint categories (MON-04).
const (
	ComplaintHomeworkLoad      = "homework_load"
	ComplaintExam              = "exam"
	ComplaintAfterSchoolFees   = "after_school_fees_or_coercion"
	ComplaintOffCampusTraining = "off_campus_training"
	ComplaintOther             = "other"
)

// ComplaintCategories lists them in display order.
var ComplaintCategories = []string{ComplaintHomeworkLoad, ComplaintExam, ComplaintAfterSchoolFees, ComplaintOffCampusTraining, ComplaintOther}

// Complaint statuses: filed, assigned to a school by the bureau, answered by
// the school, closed by the bureau with feedback to the reporter.
const (
	ComplaintSubmitted = "submitted"
	ComplaintAssigned  = "assigned"
	ComplaintResponded = "responded"
	ComplaintClosed    = "closed"
)

// ComplaintAnswerDays is how long the bureau has to close a complaint with
// feedback (MON-04 asks for each lead to be checked quickly; PRACTICE).
const ComplaintAnswerDays = 7

// ComplaintTransition reports whether a complaint may move from status
// from by action (assign, respond, close).
func ComplaintTransition(from, action string) (to string, ok bool) {
	switch action {
	case "assign":
		if from == ComplaintSubmitted || from == ComplaintAssigned {
			return ComplaintAssigned, true
		}
	case "respond":
		if from == ComplaintAssigned || from == ComplaintResponded {
			return ComplaintResponded, true
		}
	case "close":
		if from != ComplaintClosed {
			return ComplaintClosed, true
		}
	}
	return from, false
}

// ValidComplaintCategory reports whether c is a known category.
func ValidComplaintCategory(c string) bool {
	for _, x := range ComplaintCategories {
		if x == c {
			return true
		}
	}
	return false
}

// Complaint filing limits (the public form is open to anyone with the link):
// ComplaintRateMax per client address and per signed-in account, and
// ComplaintNetRateMax per network (an IPv4 /24 or IPv6 /48), so rotating
// through the addresses of one network does not lift the limit.
const (
	ComplaintRateWindow = time.Hour
	ComplaintRateMax    = 5
	ComplaintNetRateMax = 30
)

// Alert statuses.
const (
	AlertOpen         = "open"
	AlertAcknowledged = "acknowledged"
	AlertResolved     = "resolved"
)

// WeekKey is the ISO week of day, "2026-W48": alerts are evaluated per week.
func WeekKey(day time.Time) string {
	y, w := day.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// WeekStart is the Monday of day's week.
func WeekStart(day time.Time) time.Time {
	wd := int(day.Weekday())
	if wd == 0 {
		wd = 7
	}
	return day.AddDate(0, 0, 1-wd)
}
