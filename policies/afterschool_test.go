package policies

import (
	"reflect"
	"slices"
	"testing"
)

func week(n int, start, end string) []ServiceDay {
	var out []ServiceDay
	for d := 1; d <= n; d++ {
		out = append(out, ServiceDay{Weekday: d, Start: start, End: end})
	}
	return out
}

var guidance = []ServiceSegment{{Kind: SegHomeworkGuidance, Start: "15:30", End: "16:30"}, {Kind: SegActivities, Start: "16:30", End: "17:30"}}

func rules(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		if !slices.Contains(out, v.Rule) {
			out = append(out, v.Rule)
		}
	}
	return out
}

func TestCheckServicePlan(t *testing.T) {
	cases := []struct {
		name string
		plan ServicePlanSpec
		want []string
	}{
		{"compliant/5 days 15:30-17:30", ServicePlanSpec{Days: week(5, "15:30", "17:30"), Segments: guidance, OffWorkTime: "17:30"}, nil},
		{"AS-01/4 days is refused", ServicePlanSpec{Days: week(4, "15:30", "17:30"), Segments: guidance, OffWorkTime: "17:30"}, []string{RuleAS01}},
		{"AS-01/5 days is allowed", ServicePlanSpec{Days: week(5, "15:30", "17:30"), Segments: guidance}, nil},
		{"AS-01/weekend days do not count", ServicePlanSpec{Days: append(week(4, "15:30", "17:30"), ServiceDay{6, "09:00", "11:00"}), Segments: guidance}, []string{RuleAS01}},
		{"AS-01/119 min is refused", ServicePlanSpec{Days: week(5, "15:31", "17:30"), Segments: guidance}, []string{RuleAS01}},
		{"AS-01/120 min is allowed", ServicePlanSpec{Days: week(5, "15:30", "17:30"), Segments: guidance}, nil},
		{"AS-01/121 min is allowed", ServicePlanSpec{Days: week(5, "15:29", "17:30"), Segments: guidance}, nil},
		{"AS-02/end 17:29 is refused", ServicePlanSpec{Days: week(5, "15:00", "17:29"), Segments: guidance, OffWorkTime: "17:30"}, []string{RuleAS02}},
		{"AS-02/end 17:30 is allowed", ServicePlanSpec{Days: week(5, "15:00", "17:30"), Segments: guidance, OffWorkTime: "17:30"}, nil},
		{"AS-02/end 17:00 with off-work 17:30", ServicePlanSpec{Days: week(5, "15:00", "17:00"), Segments: guidance, OffWorkTime: "17:30"}, []string{RuleAS02}},
		{"AS-02/later local off-work 18:00", ServicePlanSpec{Days: week(5, "15:30", "17:30"), Segments: guidance, OffWorkTime: "18:00"}, []string{RuleAS02}},
		{"AS-06/no homework-guidance segment", ServicePlanSpec{Days: week(5, "15:30", "17:30"), Segments: []ServiceSegment{{Kind: SegActivities, Start: "15:30", End: "17:30"}}}, []string{RuleAS06}},
		{"AS-06/default layout has guidance", ServicePlanSpec{Days: week(5, "15:30", "17:30")}, nil},
		{"AS-07/evening self-study does not count", ServicePlanSpec{Days: week(5, "16:00", "19:00"),
			Segments: []ServiceSegment{{Kind: SegHomeworkGuidance, Start: "16:00", End: "17:00"}, {Kind: SegEveningStudy, Start: "17:00", End: "19:00"}}},
			[]string{RuleAS01, RuleAS02, RuleAS07}},
		{"AS-07/early arrival outside window changes nothing", ServicePlanSpec{Days: week(5, "15:30", "17:30"),
			Segments: append([]ServiceSegment{{Kind: SegEarlyArrival, Start: "07:00", End: "07:50"}}, guidance...)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if msg, _ := ValidatePlan(c.plan); msg != "" {
				t.Fatalf("plan invalid: %s", msg)
			}
			got := rules(CheckServicePlan(c.plan))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("mismatch: want %v got %v", c.want, got)
			}
		})
	}
}

func TestValidatePlan(t *testing.T) {
	for name, p := range map[string]ServicePlanSpec{
		"weekday 0":       {Days: []ServiceDay{{0, "15:30", "17:30"}}},
		"end before":      {Days: []ServiceDay{{1, "17:30", "15:30"}}},
		"bad time":        {Days: []ServiceDay{{1, "25:00", "26:00"}}},
		"twice monday":    {Days: []ServiceDay{{1, "15:30", "17:30"}, {1, "15:30", "17:30"}}},
		"unknown segment": {Days: week(5, "15:30", "17:30"), Segments: []ServiceSegment{{"new_lessons", "15:30", "16:30"}}},
	} {
		if msg, _ := ValidatePlan(p); msg == "" {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSlotsOverlap(t *testing.T) {
	a := Slot{1, "16:00", "17:00"}
	for _, c := range []struct {
		b    Slot
		want bool
	}{
		{Slot{1, "17:00", "18:00"}, false}, // touching
		{Slot{1, "16:59", "18:00"}, true},
		{Slot{2, "16:00", "17:00"}, false},
		{Slot{1, "15:00", "16:01"}, true},
		{Slot{1, "16:10", "16:20"}, true},
	} {
		if got := SlotsOverlap(a, c.b); got != c.want {
			t.Errorf("%v vs %v: got %v", a, c.b, got)
		}
	}
}

func TestProgramRules(t *testing.T) {
	if IsProgramCategory("new_lessons") {
		t.Error("AS-06/new_lessons category exists")
	}
	for _, c := range ProgramCategories {
		if !IsProgramCategory(c) {
			t.Error(c)
		}
	}
	if ok, _ := LooksLikeSubjectDrill("数学培优班"); !ok {
		t.Error("AS-06/培优 not flagged")
	}
	if ok, _ := LooksLikeSubjectDrill("足球社团"); ok {
		t.Error("AS-06/足球 flagged")
	}
	if !TeacherHoursAllowed(300, 60, 6) || TeacherHoursAllowed(300, 61, 6) {
		t.Error("AS-09/6 h boundary")
	}
	if FeeDue(500, FeePerSession, 4, false) != 2000 || FeeDue(500, FeePerSession, 4, true) != 0 || FeeDue(30000, FeePerTerm, 4, false) != 30000 {
		t.Error("AS-10/fees")
	}
	if !OffWorkAllowed("18:00", "17:30") || OffWorkAllowed("17:00", "17:30") {
		t.Error("AS-02/school off-work stricter only")
	}
}

func lotteryInput() ([]LotteryProgram, []LotteryApplicant) {
	progs := []LotteryProgram{{ID: 1, Places: 3, Slots: []Slot{{1, "16:00", "17:00"}}}, {ID: 2, Places: 3, Slots: []Slot{{1, "16:30", "17:30"}}}, {ID: 3, Places: 5, Slots: []Slot{{2, "16:00", "17:00"}}}}
	var apps []LotteryApplicant
	for i := int64(1); i <= 12; i++ {
		g := ""
		switch i {
		case 11:
			g = GroupLeftBehind
		case 12:
			g = GroupMigrant
		case 10:
			g = GroupDualWorking + "," + GroupMigrant
		}
		apps = append(apps, LotteryApplicant{StudentID: i, Groups: g, Choices: []int64{1, 3, 2}})
	}
	return progs, apps
}

func TestLottery(t *testing.T) {
	progs, apps := lotteryInput()
	t.Run("same seed same result", func(t *testing.T) {
		a := RunLottery(42, progs, apps, 2)
		rev := append([]LotteryApplicant(nil), apps...)
		slices.Reverse(rev)
		b := RunLottery(42, progs, rev, 2)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("mismatch:\n%v\n%v", a, b)
		}
	})
	t.Run("different seeds can differ", func(t *testing.T) {
		base := RunLottery(1, progs, apps, 2)
		differs := false
		for s := uint64(2); s < 20 && !differs; s++ {
			differs = !reflect.DeepEqual(base.Order, RunLottery(s, progs, apps, 2).Order)
		}
		if !differs {
			t.Fatal("19 seeds gave the same order")
		}
	})
	t.Run("priority groups draw first", func(t *testing.T) {
		for s := uint64(0); s < 10; s++ {
			r := RunLottery(s, progs, apps, 2)
			// 11 is left-behind (tier 0); 12 and 10 are migrant (tier 1, 10 also dual-working).
			if r.Order[0] != 11 || !slices.Contains(r.Order[1:3], 12) || !slices.Contains(r.Order[1:3], 10) {
				t.Fatalf("seed %d: order %v", s, r.Order)
			}
			for _, id := range []int64{11, 12, 10} {
				if !slices.Contains(r.Won[id], 1) {
					t.Fatalf("seed %d: priority student %d lost program 1: %v", s, id, r.Won)
				}
			}
		}
	})
	t.Run("capacity, clash and max hold", func(t *testing.T) {
		r := RunLottery(7, progs, apps, 2)
		count := map[int64]int{}
		for sid, ps := range r.Won {
			if len(ps) > 2 {
				t.Errorf("student %d won %d", sid, len(ps))
			}
			if slices.Contains(ps, 1) && slices.Contains(ps, 2) {
				t.Errorf("student %d won clashing 1 and 2", sid)
			}
			for _, p := range ps {
				count[p]++
			}
		}
		if count[1] != 3 || count[3] != 5 || count[2] != 3 {
			t.Errorf("places: %v", count)
		}
		// Students holding 2 programs (the maximum) are on no waitlist.
		for _, sid := range r.Waitlist[1] {
			if len(r.Won[sid]) >= 2 || slices.Contains(r.Won[sid], 2) {
				t.Errorf("student %d waitlisted for 1 but cannot take it: %v", sid, r.Won[sid])
			}
		}
		if len(r.Waitlist[1]) == 0 {
			t.Errorf("waitlist 1: %v", r.Waitlist[1])
		}
	})
}

// AS-04 and AS-06: a staff note and a principal's reason must be a sentence.
func TestIsSentence(t *testing.T) {
	for _, tc := range []struct {
		text string
		min  int
		want bool
	}{
		{"x", MinStaffNoteRunes, false},
		{"xxxxxxxxxxxx", MinStaffNoteRunes, false},
		{"…………………………", MinStaffNoteRunes, false},
		{"母亲11月20日递交书面申请表", MinStaffNoteRunes, true},
		{"Mother phoned on 20 Nov", MinStaffNoteRunes, true},
		{"同意", MinConfirmReasonRunes, false},
		{"内容为作业辅导与答疑，不讲授新课，已核对教案。", MinConfirmReasonRunes, true},
	} {
		if got := IsSentence(tc.text, tc.min); got != tc.want {
			t.Errorf("IsSentence(%q, %d) = %v, want %v", tc.text, tc.min, got, tc.want)
		}
	}
	if ok, w := LooksLikeSubjectDrill("数学新课提前学"); !ok || w == "" {
		t.Fatal("「数学新课提前学」 not flagged")
	}
}
