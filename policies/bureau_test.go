package policies

import (
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestReportPeriods(t *testing.T) {
	cases := []struct {
		name, cycle, date  string
		key, from, to, due string
	}{
		{"MON-01/15th is the first half, due that day", CycleSemiMonthly, "2026-11-15", "2026-11-1", "2026-11-01", "2026-11-15", "2026-11-15"},
		{"MON-01/16th starts the second half, due the 30th", CycleSemiMonthly, "2026-11-16", "2026-11-2", "2026-11-16", "2026-11-30", "2026-11-30"},
		{"MON-01/31-day month still due the 30th", CycleSemiMonthly, "2026-12-31", "2026-12-2", "2026-12-16", "2026-12-31", "2026-12-30"},
		{"MON-01/February due its last day", CycleSemiMonthly, "2027-02-20", "2027-02-2", "2027-02-16", "2027-02-28", "2027-02-28"},
		{"MON-05/monthly due the month's end", CycleMonthly, "2026-11-03", "2026-11", "2026-11-01", "2026-11-30", "2026-11-30"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := PeriodOf(c.cycle, day(c.date))
			if err != nil {
				t.Fatal(err)
			}
			if p.Key != c.key || p.From != c.from || p.To != c.to || p.Due != c.due {
				t.Fatalf("got %+v", p)
			}
		})
	}
	if _, err := PeriodOf(CycleTerm, day("2026-11-03")); err == nil {
		t.Error("MON-05/term periods come from terms, not dates")
	}
}

func TestReportOverdue(t *testing.T) {
	cases := []struct {
		name, status, due, today string
		want                     bool
	}{
		{"MON-01/draft on the due day is not overdue", ReportDraft, "2026-11-15", "2026-11-15", false},
		{"MON-01/draft the day after is overdue", ReportDraft, "2026-11-15", "2026-11-16", true},
		{"MON-01/returned past due is overdue", ReportReturned, "2026-11-15", "2026-11-20", true},
		{"MON-01/submitted is never overdue", ReportSubmitted, "2026-11-15", "2026-11-20", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ReportOverdue(c.status, c.due, c.today); got != c.want {
				t.Fatalf("got %v", got)
			}
		})
	}
	if ReportEditable(ReportSubmitted) || ReportEditable(ReportAccepted) || !ReportEditable(ReportReturned) {
		t.Error("MON-01/submitted snapshots are immutable, returned ones editable")
	}
}

func TestAlertRules(t *testing.T) {
	as := DefaultAlertRules[0]
	hw := DefaultAlertRules[1]
	cases := []struct {
		name string
		rule AlertRule
		v    float64
		want bool
	}{
		{"AS-03/95% is not an alert", as, 0.95, false},
		{"AS-03/94.9% is an alert", as, 0.949, true},
		{"HW-02/03/one day over cap is not an alert", hw, 1, false},
		{"HW-02/03/two days over cap is an alert", hw, 2, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.rule.Breached(c.v); got != c.want {
				t.Fatalf("got %v", got)
			}
		})
	}
	worse := AttentionScore(map[string]float64{"as.coverage_pct": 0.5}, DefaultAlertRules, 0)
	better := AttentionScore(map[string]float64{"as.coverage_pct": 0.9}, DefaultAlertRules, 0)
	fine := AttentionScore(map[string]float64{"as.coverage_pct": 1}, DefaultAlertRules, 0)
	if !(worse > better && better > fine && fine == 0) {
		t.Errorf("AS-03/scores %v %v %v not ordered", worse, better, fine)
	}
	if (AlertRule{ID: "X", Key: "k", Op: "eq"}).Valid() {
		t.Error("unknown op accepted")
	}
}

func TestComplaintTransitions(t *testing.T) {
	cases := []struct {
		name, from, action, to string
		ok                     bool
	}{
		{"MON-04/assign a new complaint", ComplaintSubmitted, "assign", ComplaintAssigned, true},
		{"MON-04/school cannot answer before assignment", ComplaintSubmitted, "respond", ComplaintSubmitted, false},
		{"MON-04/school answers an assigned complaint", ComplaintAssigned, "respond", ComplaintResponded, true},
		{"MON-04/bureau closes an answered complaint", ComplaintResponded, "close", ComplaintClosed, true},
		{"MON-04/closed stays closed", ComplaintClosed, "close", ComplaintClosed, false},
		{"MON-04/closed cannot be reassigned", ComplaintClosed, "assign", ComplaintClosed, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			to, ok := ComplaintTransition(c.from, c.action)
			if to != c.to || ok != c.ok {
				t.Fatalf("got %s %v", to, ok)
			}
		})
	}
}

func TestWeekKey(t *testing.T) {
	if got := WeekKey(day("2026-11-25")); got != "2026-W48" {
		t.Fatal(got)
	}
	if got := WeekStart(day("2026-11-29")).Format(dateLayout); got != "2026-11-23" {
		t.Fatal(got)
	}
}

// One alert per school, rule id and week: two rules under one id are refused.
func TestDuplicateRuleID(t *testing.T) {
	if id := DuplicateRuleID(DefaultAlertRules); id != "" {
		t.Fatalf("default rules repeat %s", id)
	}
	if id := DuplicateRuleID([]AlertRule{{ID: "EX-01"}, {ID: "AS-03"}, {ID: "EX-01"}}); id != "EX-01" {
		t.Fatalf("got %q", id)
	}
}
