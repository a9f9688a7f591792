package policies

import "testing"

func intp(n int) *int { return &n }

func TestCapFor(t *testing.T) {
	def := DefaultHomeworkLimits()
	weekend := def
	weekend.RestCaps = &BandCaps{G1to2: 0, G3to6: 30, G7to9: 45}
	cases := []struct {
		name  string
		grade int
		day   DayKind
		l     HomeworkLimits
		want  Cap
	}{
		{"HW-01/grade 1 is 0", 1, SchoolDay, def, Cap{0, RuleHW01}},
		{"HW-01/grade 2 is 0", 2, SchoolDay, def, Cap{0, RuleHW01}},
		{"HW-02/grade 3 is 60", 3, SchoolDay, def, Cap{60, RuleHW02}},
		{"HW-02/grade 6 is 60", 6, SchoolDay, def, Cap{60, RuleHW02}},
		{"HW-03/grade 7 is 90", 7, SchoolDay, def, Cap{90, RuleHW03}},
		{"HW-03/grade 9 is 90", 9, SchoolDay, def, Cap{90, RuleHW03}},
		{"HW-04/no setting keeps the school-day cap", 4, RestDay, def, Cap{60, RuleHW02}},
		{"HW-04/weekend setting grade 4", 4, RestDay, weekend, Cap{30, RuleHW04}},
		{"HW-04/weekend setting grade 8", 8, RestDay, weekend, Cap{45, RuleHW04}},
		{"HW-04/weekend setting does not touch school days", 8, SchoolDay, weekend, Cap{90, RuleHW03}},
		{"HW-02/stricter local cap", 5, SchoolDay, HomeworkLimits{Caps: BandCaps{0, 45, 80}}, Cap{45, RuleHW02}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CapFor(tc.grade, tc.day, tc.l); got != tc.want {
				t.Fatalf("CapFor(%d) = %+v, want %+v", tc.grade, got, tc.want)
			}
		})
	}
}

func TestCounts(t *testing.T) {
	def := DefaultCounting()
	wide := Counting{Kinds: []string{KindWritten, KindOral}, Optional: true, InSchool: true}
	cases := []struct {
		name     string
		c        Counting
		kind     string
		layer    string
		inSchool bool
		want     bool
	}{
		{"HW-02/written required take-home counts", def, KindWritten, LayerRequired, false, true},
		{"HW-09/optional does not count by default", def, KindWritten, LayerOptional, false, false},
		{"HW-10/in-school does not count by default", def, KindWritten, LayerRequired, true, false},
		{"HW-02/oral does not count by default", def, KindOral, LayerRequired, false, false},
		{"HW-02/reading does not count by default", def, KindReading, LayerRequired, false, false},
		{"HW-02/setting counts oral", wide, KindOral, LayerRequired, false, true},
		{"HW-09/setting counts optional", wide, KindWritten, LayerOptional, false, true},
		{"HW-10/setting counts in-school", wide, KindWritten, LayerRequired, true, true},
		{"HW-02/setting still ignores practice", wide, KindPractice, LayerRequired, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Counts(tc.kind, tc.layer, tc.inSchool); got != tc.want {
				t.Fatalf("Counts = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckSave(t *testing.T) {
	def := DefaultHomeworkLimits()
	item := func(grade, used, minutes int) SaveCheck {
		return SaveCheck{Grade: grade, Cap: CapFor(grade, SchoolDay, def), Used: used, Kind: KindWritten, Layer: LayerRequired,
			Minutes: minutes, Counting: def.Counting}
	}
	with := func(c SaveCheck, f func(*SaveCheck)) SaveCheck { f(&c); return c }
	cases := []struct {
		name      string
		c         SaveCheck
		code      string // "" allowed
		rule      string
		remaining int
	}{
		{"HW-02/59 is allowed", item(4, 0, 59), "", "", 0},
		{"HW-02/60 is allowed", item(4, 40, 20), "", "", 0},
		{"HW-02/61 is refused", item(4, 40, 21), CodeCapExceeded, RuleHW02, 20},
		{"HW-02/61 in one item is refused", item(3, 0, 61), CodeCapExceeded, RuleHW02, 60},
		{"HW-02/full day refuses 1 more minute", item(6, 60, 1), CodeCapExceeded, RuleHW02, 0},
		{"HW-03/89 is allowed", item(7, 0, 89), "", "", 0},
		{"HW-03/90 is allowed", item(8, 60, 30), "", "", 0},
		{"HW-03/91 is refused", item(9, 60, 31), CodeCapExceeded, RuleHW03, 30},
		{"HW-01/grade 2 written take-home is refused", item(2, 0, 5), CodeWrittenNotAllowed, RuleHW01, 0},
		{"HW-01/grade 2 written optional take-home is refused", with(item(2, 0, 5), func(c *SaveCheck) { c.Layer = LayerOptional }), CodeWrittenNotAllowed, RuleHW01, 0},
		{"HW-01/grade 1 written in school is allowed", with(item(1, 0, 20), func(c *SaveCheck) { c.InSchool = true }), "", "", 0},
		{"HW-01/grade 2 oral take-home is allowed", with(item(2, 0, 10), func(c *SaveCheck) { c.Kind = KindOral }), "", "", 0},
		{"HW-02/grade 3 written take-home is allowed", item(3, 0, 10), "", "", 0},
		{"HW-03/grade 6 gets 60 not 90", item(6, 0, 61), CodeCapExceeded, RuleHW02, 60},
		{"HW-03/grade 7 gets 90", item(7, 0, 61), "", "", 0},
		{"HW-09/optional over the cap is allowed", with(item(4, 60, 30), func(c *SaveCheck) { c.Layer = LayerOptional }), "", "", 0},
		{"HW-10/in-school over the cap is allowed", with(item(4, 60, 30), func(c *SaveCheck) { c.InSchool = true }), "", "", 0},
		{"HW-08/quota 20 allows 20", with(item(4, 0, 20), func(c *SaveCheck) { c.Quota = intp(20) }), "", "", 0},
		{"HW-08/quota 20 refuses 21", with(item(4, 0, 21), func(c *SaveCheck) { c.Quota = intp(20) }), CodeQuotaExceeded, RuleHW08, 20},
		{"HW-08/quota counts the subject's minutes", with(item(4, 30, 10), func(c *SaveCheck) { c.Quota = intp(20); c.SubjectUsed = 15 }), CodeQuotaExceeded, RuleHW08, 5},
		{"HW-02/cap wins over quota when both are exceeded", with(item(4, 50, 15), func(c *SaveCheck) { c.Quota = intp(10) }), CodeCapExceeded, RuleHW02, 10},
		{"HW-04/weekend cap", with(item(4, 20, 15), func(c *SaveCheck) { c.Cap = Cap{30, RuleHW04} }), CodeCapExceeded, RuleHW04, 10},
		{"HW-08/third subject allowed at limit 3", with(item(4, 10, 10), func(c *SaveCheck) { c.MaxSubjects = 3; c.OtherCountedSubjects = 2 }), "", "", 0},
		{"HW-08/fourth subject refused at limit 3", with(item(4, 10, 10), func(c *SaveCheck) { c.MaxSubjects = 3; c.OtherCountedSubjects = 3 }), CodeWrittenSubjectsLimit, RuleHW08, 0},
		{"HW-08/same subject again allowed at limit 3", with(item(4, 10, 10), func(c *SaveCheck) { c.MaxSubjects = 3; c.OtherCountedSubjects = 3; c.SubjectUsed = 10 }), "", "", 0},
		{"HW-08/subject limit off by default", with(item(4, 10, 10), func(c *SaveCheck) { c.OtherCountedSubjects = 8 }), "", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := CheckSave(tc.c)
			if tc.code == "" {
				if r != nil {
					t.Fatalf("refused: %v", r)
				}
				return
			}
			if r == nil {
				t.Fatalf("allowed, want %s", tc.code)
			}
			if r.Code != tc.code || r.Rule != tc.rule || r.Remaining != tc.remaining {
				t.Fatalf("got %s/%s remaining %d, want %s/%s remaining %d", r.Code, r.Rule, r.Remaining, tc.code, tc.rule, tc.remaining)
			}
		})
	}
}

func TestValidateQuotas(t *testing.T) {
	cases := []struct {
		name   string
		quotas map[string]int
		cap    int
		ok     bool
	}{
		{"HW-08/sum 59 of 60 is allowed", map[string]int{"语文": 20, "数学": 20, "英语": 19}, 60, true},
		{"HW-08/sum 60 of 60 is allowed", map[string]int{"语文": 20, "数学": 20, "英语": 20}, 60, true},
		{"HW-08/sum 61 of 60 is refused", map[string]int{"语文": 21, "数学": 20, "英语": 20}, 60, false},
		{"HW-08/sum 91 of 90 is refused", map[string]int{"语文": 31, "数学": 30, "英语": 30}, 90, false},
		{"HW-08/negative is refused", map[string]int{"语文": -1}, 60, false},
		{"HW-08/none is allowed", map[string]int{}, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateQuotas(tc.quotas, tc.cap)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateQuotas = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && err.Rule != RuleHW08 {
				t.Fatalf("rule %s", err.Rule)
			}
		})
	}
}

func TestValidateOverride(t *testing.T) {
	def := DefaultHomeworkLimits()
	with := func(f func(*HomeworkLimits)) HomeworkLimits {
		l := DefaultHomeworkLimits()
		f(&l)
		return l
	}
	region := with(func(l *HomeworkLimits) {
		l.Caps.G3to6 = 50
		l.RestCaps = &BandCaps{0, 40, 60}
		l.MaxWrittenSubjects = BandCaps{0, 3, 4}
	})
	cases := []struct {
		name      string
		l         HomeworkLimits
		enclosing *HomeworkLimits
		rule      string // "" allowed
		field     string
	}{
		{"HW-02/official 60 is allowed", def, nil, "", ""},
		{"HW-02/stricter 59 is allowed", with(func(l *HomeworkLimits) { l.Caps.G3to6 = 59 }), nil, "", ""},
		{"HW-02/looser 61 is refused", with(func(l *HomeworkLimits) { l.Caps.G3to6 = 61 }), nil, RuleHW02, "caps.g3_6"},
		{"HW-03/stricter 89 is allowed", with(func(l *HomeworkLimits) { l.Caps.G7to9 = 89 }), nil, "", ""},
		{"HW-03/looser 91 is refused", with(func(l *HomeworkLimits) { l.Caps.G7to9 = 91 }), nil, RuleHW03, "caps.g7_9"},
		{"HW-01/looser than 0 is refused", with(func(l *HomeworkLimits) { l.Caps.G1to2 = 10 }), nil, RuleHW01, "caps.g1_2"},
		{"HW-02/negative is refused", with(func(l *HomeworkLimits) { l.Caps.G3to6 = -1 }), nil, RuleHW02, "caps.g3_6"},
		{"HW-02/school stricter than region is allowed", with(func(l *HomeworkLimits) {
			l.Caps.G3to6 = 45
			l.RestCaps = &BandCaps{0, 30, 60}
			l.MaxWrittenSubjects = BandCaps{0, 2, 4}
		}), &region, "", ""},
		{"HW-02/school looser than region is refused", with(func(l *HomeworkLimits) { l.Caps.G3to6 = 55; l.RestCaps = &BandCaps{0, 40, 60} }), &region, RuleHW02, "caps.g3_6"},
		{"HW-04/weekend looser than region is refused", with(func(l *HomeworkLimits) {
			l.Caps.G3to6 = 50
			l.RestCaps = &BandCaps{0, 41, 60}
		}), &region, RuleHW04, "rest_caps.g3_6"},
		{"HW-04/dropping the region's weekend cap is refused", with(func(l *HomeworkLimits) {
			l.Caps.G3to6 = 50
			l.MaxWrittenSubjects = BandCaps{0, 3, 4}
		}), &region, RuleHW04, "rest_caps"},
		{"HW-04/any weekend number without an enclosing one", with(func(l *HomeworkLimits) { l.RestCaps = &BandCaps{0, 120, 150} }), nil, "", ""},
		{"HW-08/turning the region's subject limit off is refused", with(func(l *HomeworkLimits) {
			l.Caps.G3to6 = 50
			l.RestCaps = &BandCaps{0, 40, 60}
		}), &region, RuleHW08, "max_written_subjects.g3_6"},
		{"HW-02/counting oral too is stricter", with(func(l *HomeworkLimits) { l.Counting.Kinds = []string{KindWritten, KindOral} }), nil, "", ""},
		{"HW-02/counting nothing is looser", with(func(l *HomeworkLimits) { l.Counting.Kinds = nil }), nil, RuleHW02, "counting.kinds"},
		{"HW-02/an unknown kind is refused", with(func(l *HomeworkLimits) { l.Counting.Kinds = []string{KindWritten, "chores"} }), nil, RuleHW02, "counting.kinds"},
		{"HW-09/dropping counted optional items is looser", def, &HomeworkLimits{Caps: def.Caps, Counting: Counting{Kinds: []string{KindWritten}, Optional: true}}, RuleHW09, "counting.optional"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateOverride(tc.l, tc.enclosing)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("allowed, want %s on %s", tc.rule, tc.field)
			}
			if err.Rule != tc.rule || err.Field != tc.field {
				t.Fatalf("got %s on %s, want %s on %s", err.Rule, err.Field, tc.rule, tc.field)
			}
		})
	}
}

func TestBedtimeAndGap(t *testing.T) {
	cases := []struct {
		name  string
		grade int
		want  string
	}{
		{"SL-02/grade 6 is 21:20", 6, "21:20"},
		{"SL-02/grade 7 is 22:00", 7, "22:00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Bedtime(tc.grade); got != tc.want {
				t.Fatalf("Bedtime(%d) = %s", tc.grade, got)
			}
		})
	}
	t.Run("HW-11/gap ratio", func(t *testing.T) {
		if g := GapRatio(90, 60); g != 1.5 {
			t.Fatalf("GapRatio = %v", g)
		}
		if g := GapRatio(10, 0); g != 0 {
			t.Fatalf("GapRatio with no estimate = %v", g)
		}
	})
}

// HW-01 and HW-15: grades 1–2 take home only oral work, reading and
// practice without writing; a label does not hide written work; the
// all-kinds budget bounds every take-home minute.
func TestCheckSaveLabelsAndBudget(t *testing.T) {
	budget := 90
	base := func(grade int, kind, layer, text string, inSchool bool, minutes, takeHome int) SaveCheck {
		return SaveCheck{Grade: grade, Cap: CapFor(grade, SchoolDay, DefaultHomeworkLimits()), Kind: kind, Layer: layer, InSchool: inSchool,
			Minutes: minutes, Counting: DefaultCounting(), Text: text, TakeHomeUsed: takeHome, TakeHomeBudget: &budget}
	}
	cases := []struct {
		name string
		chk  SaveCheck
		code string
	}{
		{"HW-01/grade 1 reading at home is allowed", base(1, KindReading, LayerRequired, "亲子共读", false, 15, 0), ""},
		{"HW-01/grade 1 oral at home is allowed", base(1, KindOral, LayerRequired, "背诵古诗", false, 10, 0), ""},
		{"HW-01/grade 1 practice without writing is allowed", base(1, KindPractice, LayerRequired, "帮家长择菜", false, 10, 0), ""},
		{"HW-01/grade 1 workbook page labelled practice is refused", base(1, KindPractice, LayerRequired, "练习册第12页", false, 10, 0), CodeWrittenNotAllowed},
		{"HW-01/grade 2 page range labelled oral is refused", base(2, KindOral, LayerOptional, "第 3-4 页", false, 10, 0), CodeWrittenNotAllowed},
		{"HW-01/grade 2 inquiry at home is refused", base(2, KindInquiry, LayerRequired, "观察月亮", false, 10, 0), CodeWrittenNotAllowed},
		{"HW-01/grade 1 written work in school is allowed", base(1, KindWritten, LayerRequired, "练习册第12页", true, 10, 0), ""},
		{"HW-15/grade 4 copying labelled oral is refused", base(4, KindOral, LayerRequired, "抄写生字", false, 10, 0), CodeKindLooksWritten},
		{"HW-15/grade 4 copying labelled written is allowed", base(4, KindWritten, LayerRequired, "抄写生字", false, 10, 0), ""},
		{"HW-15/an English title with mp3 is not a page", base(4, KindOral, LayerRequired, "listen to the mp3 twice", false, 10, 0), ""},
		{"HW-15/90 of 90 take-home minutes is allowed", base(4, KindOral, LayerRequired, "背诵", false, 30, 60), ""},
		{"HW-15/91 of 90 take-home minutes is refused", base(4, KindOral, LayerOptional, "背诵", false, 31, 60), CodeTakeHomeExceeded},
		{"HW-15/in-school minutes do not use the budget", base(4, KindWritten, LayerRequired, "课堂练习", true, 40, 90), ""},
		{"HW-02/cap_exceeded wins over the budget", base(4, KindWritten, LayerRequired, "口算", false, 61, 0), CodeCapExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := CheckSave(tc.chk)
			got := ""
			if r != nil {
				got = r.Code
			}
			if got != tc.code {
				t.Fatalf("got %q (%v), want %q", got, r, tc.code)
			}
		})
	}
	noBudget := base(4, KindOral, LayerRequired, "背诵", false, 200, 200)
	noBudget.TakeHomeBudget = nil
	if r := CheckSave(noBudget); r != nil {
		t.Fatalf("no budget set: %v", r)
	}
}

// HW-15: the take-home budget is stricter-only along the chain, like the caps.
func TestTakeHomeBudgetOverride(t *testing.T) {
	enc := DefaultHomeworkLimits()
	enc.TakeHome = &BandCaps{G1to2: 30, G3to6: 90, G7to9: 120}
	own := DefaultHomeworkLimits()
	own.TakeHome = &BandCaps{G1to2: 30, G3to6: 80, G7to9: 120}
	if oe := ValidateOverride(own, &enc); oe != nil {
		t.Fatalf("stricter refused: %v", oe)
	}
	own.TakeHome = &BandCaps{G1to2: 30, G3to6: 91, G7to9: 120}
	if oe := ValidateOverride(own, &enc); oe == nil || oe.Rule != RuleHW15 || oe.Field != "take_home.g3_6" {
		t.Fatalf("looser accepted: %v", oe)
	}
	own.TakeHome = &BandCaps{G1to2: -1}
	if oe := ValidateOverride(own, nil); oe == nil || oe.Rule != RuleHW15 {
		t.Fatalf("negative accepted: %v", oe)
	}
}
