package models

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"jianfu/policies"
)

// After-school service (课后服务): service plans, bureau-vetted providers,
// programs with their slots and instructors. Enrollment is in
// afterschool_enroll.go, sessions, attendance and rollups in
// afterschool_sessions.go.

func init() {
	All = append(All, &ServicePlan{}, &Provider{}, &Program{}, &ProgramSlot{}, &ProgramInstructor{},
		&Enrollment{}, &ProgramSession{}, &SessionAttendance{}, &LotteryRun{}, &ASTermRollup{}, &ASDailyRollup{})
}

// ServicePlan is a school's after-school plan for a term: the service
// window of each weekday, the segments of a day, the off-work time it was
// checked against and the result of the compliance check.
type ServicePlan struct {
	ID             int64     `gorm:"primaryKey" json:"id"`
	SchoolID       int64     `json:"school_id"`
	TermID         int64     `json:"term_id"`
	DaysJSON       string    `json:"-"`
	SegmentsJSON   string    `json:"-"` // "" means the default layout (homework guidance first)
	OffWorkTime    string    `json:"off_work_time"`
	Compliant      bool      `json:"compliant"`
	ViolationsJSON string    `json:"-"`
	UpdatedBy      *int64    `json:"-"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Spec is the plan as the rule check reads it.
func (p ServicePlan) Spec() policies.ServicePlanSpec {
	var s policies.ServicePlanSpec
	_ = json.Unmarshal([]byte(p.DaysJSON), &s.Days)
	if p.SegmentsJSON != "" {
		s.Segments = []policies.ServiceSegment{}
		_ = json.Unmarshal([]byte(p.SegmentsJSON), &s.Segments)
	}
	s.OffWorkTime = p.OffWorkTime
	return s
}

// storedViolation keeps the message parameters with the rule id.
type storedViolation struct {
	Rule   string         `json:"rule"`
	MsgID  string         `json:"msg_id"`
	Params map[string]any `json:"params"`
}

// PlanViolations decodes the stored violations with their message ids.
func (p ServicePlan) PlanViolations() []policies.Violation {
	var st []storedViolation
	_ = json.Unmarshal([]byte(p.ViolationsJSON), &st)
	out := make([]policies.Violation, len(st))
	for i, v := range st {
		out[i] = policies.Violation{Rule: v.Rule, MsgID: v.MsgID, Params: v.Params}
	}
	return out
}

// Provider is an outside organisation the bureau vetted for after-school
// service (AS-08): its list is kept per region and reaches every school below.
type Provider struct {
	ID          int64     `gorm:"primaryKey" json:"id"`
	RegionCode  string    `json:"region_code"`
	Name        string    `json:"name"`
	Services    string    `json:"services"`
	FeeStandard string    `json:"fee_standard"`
	VettedUntil string    `json:"vetted_until"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"-"`
}

// TableName keeps the area prefix.
func (Provider) TableName() string { return "as_providers" }

// Program modes.
const (
	ModeFirstCome = "first_come"
	ModeLottery   = "lottery"
)

// Program is an after-school offer of a school in a term.
type Program struct {
	ID          int64  `gorm:"primaryKey" json:"id"`
	SchoolID    int64  `json:"school_id"`
	TermID      int64  `json:"term_id"`
	Name        string `json:"name"`
	Category    string `json:"category"`
	Description string `json:"description"`
	Grades      string `json:"-"` // "3,4,5"
	Capacity    int    `json:"capacity"`
	Room        string `json:"room"`
	RoomType    string `json:"room_type"`
	Mode        string `json:"mode"`
	FeeFen      int    `json:"fee_fen"`
	FeeUnit     string `json:"fee_unit"`
	ApplyUntil  string `json:"apply_until,omitempty"`
	LotterySeed string `json:"lottery_seed,omitempty"`
	DrillFlag   string `json:"drill_flag,omitempty"` // the word that makes the name look like a subject drill (AS-06)
	// Confirmation is "" for a program that needs none, ConfirmationPending
	// for one whose name or description matches the new-lesson list (it
	// takes no enrollment yet), ConfirmationConfirmed once the principal
	// confirmed it with ConfirmReason (AS-06).
	Confirmation  string     `json:"confirmation,omitempty"`
	ConfirmReason string     `json:"confirm_reason,omitempty"`
	ConfirmedBy   *int64     `json:"confirmed_by,omitempty"`
	ConfirmedAt   *time.Time `json:"confirmed_at,omitempty"`
	EnrolledCount int        `json:"enrolled"`
	WaitlistCount int        `json:"waitlisted"`
	AppliedCount  int        `json:"applied"`
	QueueSeq      int        `json:"-"`
	CreatedBy     *int64     `json:"-"`
	CreatedAt     time.Time  `json:"-"`
}

// GradeList is the program's eligible grades.
func (p Program) GradeList() []int {
	var out []int
	for _, s := range strings.Split(p.Grades, ",") {
		if g, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			out = append(out, g)
		}
	}
	return out
}

// Eligible reports whether a student of grade may join.
func (p Program) Eligible(grade int) bool { return slices.Contains(p.GradeList(), grade) }

// ProgramSlot is one weekly time of a program.
type ProgramSlot struct {
	ID        int64  `gorm:"primaryKey" json:"-"`
	SchoolID  int64  `json:"-"`
	ProgramID int64  `json:"-"`
	Weekday   int    `json:"weekday"`
	StartTime string `json:"start"`
	EndTime   string `json:"end"`
}

// Slot is the slot as the rules see it.
func (s ProgramSlot) Slot() policies.Slot {
	return policies.Slot{Weekday: s.Weekday, Start: s.StartTime, End: s.EndTime}
}

// ProgramInstructor is a teacher of the school or an outside instructor from
// a vetted provider (AS-08).
type ProgramInstructor struct {
	ID           int64  `gorm:"primaryKey" json:"-"`
	SchoolID     int64  `json:"-"`
	ProgramID    int64  `json:"-"`
	TeacherID    *int64 `json:"teacher_id,omitempty"`
	ProviderID   *int64 `json:"provider_id,omitempty"`
	ExternalName string `json:"external_name,omitempty"`
}

// weekdayOf is the weekday of a date, 1 = Monday … 7 = Sunday.
func weekdayOf(date string) int {
	d, err := time.Parse(DateLayout, date)
	if err != nil {
		return 0
	}
	wd := int(d.Weekday())
	if wd == 0 {
		wd = 7
	}
	return wd
}

// SchoolScopes is the settings chain of a school (school, regions, *).
func SchoolScopes(ctx context.Context, db *gorm.DB, sc *School) ([]string, error) {
	path, err := RegionPath(ctx, db, sc.RegionCode)
	if err != nil {
		return nil, err
	}
	return policies.DomainChain(sc.ID, path), nil
}

// OffWorkTime is the local off-work time that AS-02 checks a school's plan
// against: the school's own setting, else its bureau's (region), else the
// school's default column. scope says where it came from ("" = default).
func OffWorkTime(ctx context.Context, db *gorm.DB, sc *School) (value, scope string, err error) {
	scopes, err := SchoolScopes(ctx, db, sc)
	if err != nil {
		return "", "", err
	}
	scope, err = LookupSetting(ctx, db, scopes, policies.SettingOffWorkTime, &value)
	if err != nil {
		return "", "", err
	}
	if scope == "" || value == "" {
		value = sc.OffWorkTime
		if value == "" {
			value = policies.DefaultOffWorkTime
		}
	}
	return value, scope, nil
}

// bureauOffWorkTime is the off-work time without the school's own override.
func bureauOffWorkTime(ctx context.Context, db *gorm.DB, sc *School) (string, error) {
	scopes, err := SchoolScopes(ctx, db, sc)
	if err != nil {
		return "", err
	}
	var v string
	scope, err := LookupSetting(ctx, db, scopes[1:], policies.SettingOffWorkTime, &v)
	if err != nil {
		return "", err
	}
	if scope == "" || v == "" {
		v = sc.OffWorkTime
		if v == "" {
			v = policies.DefaultOffWorkTime
		}
	}
	return v, nil
}

// SchoolIntSetting reads an integer setting of a school, or def.
func SchoolIntSetting(ctx context.Context, db *gorm.DB, sc *School, key string, def int) (int, error) {
	scopes, err := SchoolScopes(ctx, db, sc)
	if err != nil {
		return 0, err
	}
	v := def
	scope, err := LookupSetting(ctx, db, scopes, key, &v)
	if err != nil {
		return 0, err
	}
	if scope == "" || v <= 0 {
		return def, nil
	}
	return v, nil
}

// PlanInput is a plan to save; OffWorkTime, when set, becomes the school's
// own off-work time (it may be later than the bureau's, never earlier).
type PlanInput struct {
	SchoolID    int64
	TermID      int64 // 0: the current term
	Days        []policies.ServiceDay
	Segments    []policies.ServiceSegment // nil: the default layout
	OffWorkTime string
	Today       string
}

// SaveServicePlan validates, checks (AS-01/02/06/07) and stores a school's
// plan for a term in one transaction, refreshing the school's rollup. The
// plan is stored even when it breaks rules: the report says which.
func SaveServicePlan(ctx context.Context, db *gorm.DB, in PlanInput) (*ServicePlan, []policies.Violation, error) {
	spec := policies.ServicePlanSpec{Days: in.Days, Segments: in.Segments, OffWorkTime: in.OffWorkTime}
	if msg, params := policies.ValidatePlan(spec); msg != "" {
		return nil, nil, Invalid(msg, params)
	}
	if len(in.Days) == 0 {
		return nil, nil, Invalid("as.plan.no_days", nil)
	}
	sc, err := GetSchool(ctx, db, in.SchoolID)
	if err != nil {
		return nil, nil, err
	}
	term, err := termOf(ctx, db, sc, in.TermID, in.Today)
	if err != nil {
		return nil, nil, err
	}
	if in.OffWorkTime != "" {
		bureau, err := bureauOffWorkTime(ctx, db, sc)
		if err != nil {
			return nil, nil, err
		}
		if !policies.OffWorkAllowed(in.OffWorkTime, bureau) {
			return nil, nil, RuleError("off_work_time_looser", policies.RuleAS02, "as.plan.off_work_looser",
				map[string]any{"Value": in.OffWorkTime, "Bureau": bureau}, map[string]any{"bureau_off_work_time": bureau})
		}
	}
	var plan ServicePlan
	var violations []policies.Violation
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		if in.OffWorkTime != "" {
			if err := PutSetting(ctx, tx, sc.ID, policies.SchoolDomain(sc.ID), policies.SettingOffWorkTime, in.OffWorkTime); err != nil {
				return err
			}
		}
		off, _, err := OffWorkTime(ctx, tx, sc)
		if err != nil {
			return err
		}
		spec.OffWorkTime = off
		violations = policies.CheckServicePlan(spec)
		days, _ := json.Marshal(in.Days)
		segs := ""
		if in.Segments != nil {
			b, _ := json.Marshal(in.Segments)
			segs = string(b)
		}
		st := make([]storedViolation, len(violations))
		for i, v := range violations {
			st[i] = storedViolation{Rule: v.Rule, MsgID: v.MsgID, Params: v.Params}
		}
		vj, _ := json.Marshal(st)
		var before *ServicePlan
		var old ServicePlan
		switch err := tx.Where("school_id = ? AND term_id = ?", sc.ID, term.ID).First(&old).Error; {
		case err == nil:
			before = &old
			plan = old
		case errors.Is(err, gorm.ErrRecordNotFound):
		default:
			return err
		}
		plan.SchoolID, plan.TermID = sc.ID, term.ID
		plan.DaysJSON, plan.SegmentsJSON, plan.OffWorkTime = string(days), segs, off
		plan.Compliant, plan.ViolationsJSON = len(violations) == 0, string(vj)
		plan.UpdatedAt = time.Now().UTC()
		if a, ok := ActorFrom(ctx); ok && a.UserID > 0 {
			plan.UpdatedBy = &a.UserID
		}
		if err := tx.Save(&plan).Error; err != nil {
			return err
		}
		action := "update"
		if before == nil {
			action = "create"
		}
		if err := Audit(ctx, tx, sc.ID, action, "service_plan", plan.ID, before, plan); err != nil {
			return err
		}
		return RefreshTermRollup(ctx, tx, sc.ID, term.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	return &plan, violations, nil
}

// termOf is the term with id termID of the school, or its current term.
func termOf(ctx context.Context, db *gorm.DB, sc *School, termID int64, today string) (*Term, error) {
	if termID == 0 {
		return CurrentTerm(ctx, db, sc.ID, today)
	}
	var t Term
	if err := db.WithContext(ctx).Where("id = ? AND school_id = ?", termID, sc.ID).First(&t).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &t, nil
}

// GetServicePlan loads a school's plan for a term (nil when none yet).
func GetServicePlan(ctx context.Context, db *gorm.DB, schoolID, termID int64) (*ServicePlan, error) {
	var p ServicePlan
	err := db.WithContext(ctx).Where("school_id = ? AND term_id = ?", schoolID, termID).First(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// ProgramInput is a program to create.
type ProgramInput struct {
	SchoolID    int64
	TermID      int64 // 0: the current term
	Today       string
	Name        string
	Category    string
	Description string
	Grades      []int
	Capacity    int
	Slots       []policies.Slot
	Room        string
	RoomType    string
	TeacherIDs  []int64
	ProviderID  *int64 // an outside provider (AS-08) with ExternalName
	External    string
	Mode        string
	FeeFen      int
	FeeUnit     string
	ApplyUntil  string // lottery: last day of applications
}

// CreateProgram validates and stores a program with its slots and
// instructors and generates its sessions for the term, in one transaction.
// AS-06: no "new lessons" category (drill-like names are flagged, not
// refused). AS-08: instructors are the school's teachers or come from a
// provider the bureau vetted for a region above the school. AS-09: no
// teacher is given more weekly service hours than the school's maximum.
func CreateProgram(ctx context.Context, db *gorm.DB, in ProgramInput) (*Program, error) {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "" || len([]rune(in.Name)) > 100:
		return nil, Invalid("as.program.bad_name", nil)
	case !policies.IsProgramCategory(in.Category):
		return nil, RuleError("category_not_allowed", policies.RuleAS06, "as.program.bad_category", map[string]any{"Value": in.Category}, nil)
	case in.Capacity < 1 || in.Capacity > 2000:
		return nil, Invalid("as.program.bad_capacity", nil)
	case len(in.Grades) == 0:
		return nil, Invalid("as.program.no_grades", nil)
	case len(in.Slots) == 0:
		return nil, Invalid("as.program.no_slots", nil)
	case in.FeeFen < 0:
		return nil, Invalid("as.program.bad_fee", nil)
	}
	if in.Mode == "" {
		in.Mode = ModeFirstCome
	}
	if in.Mode != ModeFirstCome && in.Mode != ModeLottery {
		return nil, Invalid("as.program.bad_mode", map[string]any{"Value": in.Mode})
	}
	if in.FeeUnit == "" {
		in.FeeUnit = policies.FeePerTerm
	}
	if in.FeeUnit != policies.FeePerTerm && in.FeeUnit != policies.FeePerSession {
		return nil, Invalid("as.program.bad_fee", nil)
	}
	for i, s := range in.Slots {
		if msg, params := policies.ValidatePlan(policies.ServicePlanSpec{Days: []policies.ServiceDay{{Weekday: s.Weekday, Start: s.Start, End: s.End}}}); msg != "" {
			return nil, Invalid(msg, params)
		}
		if s.Weekday > 5 {
			return nil, Invalid("as.plan.bad_weekday", map[string]any{"Value": s.Weekday})
		}
		for _, o := range in.Slots[:i] {
			if policies.SlotsOverlap(s, o) {
				return nil, Invalid("as.program.slots_overlap", nil)
			}
		}
	}
	sc, err := GetSchool(ctx, db, in.SchoolID)
	if err != nil {
		return nil, err
	}
	for _, g := range in.Grades {
		if !slices.Contains(sc.Grades(), g) {
			return nil, Invalid("as.program.bad_grade", map[string]any{"Value": g})
		}
	}
	term, err := termOf(ctx, db, sc, in.TermID, in.Today)
	if err != nil {
		return nil, err
	}
	if in.Mode == ModeLottery {
		if in.ApplyUntil == "" {
			return nil, Invalid("as.program.apply_until_required", nil)
		}
		if _, err := time.Parse(DateLayout, in.ApplyUntil); err != nil {
			return nil, Invalid("error.bad_date", map[string]any{"Value": in.ApplyUntil})
		}
	}
	maxHours, err := SchoolIntSetting(ctx, db, sc, policies.SettingTeacherMaxWeeklyHours, policies.DefaultTeacherMaxWeeklyHours)
	if err != nil {
		return nil, err
	}
	grades := make([]string, len(in.Grades))
	sort.Ints(in.Grades)
	for i, g := range in.Grades {
		grades[i] = strconv.Itoa(g)
	}
	p := Program{SchoolID: sc.ID, TermID: term.ID, Name: in.Name, Category: in.Category, Description: strings.TrimSpace(in.Description),
		Grades: strings.Join(slices.Compact(grades), ","), Capacity: in.Capacity, Room: in.Room, RoomType: in.RoomType, Mode: in.Mode,
		FeeFen: in.FeeFen, FeeUnit: in.FeeUnit, ApplyUntil: in.ApplyUntil}
	if in.Mode != ModeLottery {
		p.ApplyUntil = ""
	}
	if ok, w := policies.LooksLikeSubjectDrill(in.Name + " " + in.Description); ok {
		p.DrillFlag = w
		p.Confirmation = ConfirmationPending
	}
	if a, ok := ActorFrom(ctx); ok && a.UserID > 0 {
		p.CreatedBy = &a.UserID
	}
	weekly := policies.WeeklyMinutes(in.Slots)
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		for _, tid := range slices.Compact(slices.Sorted(slices.Values(in.TeacherIDs))) {
			ok, err := IsTeacherOf(ctx, tx, sc.ID, tid)
			if err != nil {
				return err
			}
			if !ok {
				return Invalid("as.program.bad_instructor", map[string]any{"Value": tid})
			}
			used, err := TeacherWeeklyMinutes(ctx, tx, sc.ID, term.ID, tid)
			if err != nil {
				return err
			}
			if !policies.TeacherHoursAllowed(used, weekly, maxHours) {
				return RuleError("teacher_hours_exceeded", policies.RuleAS09, "as.program.teacher_hours",
					map[string]any{"Max": maxHours, "Used": used / 60}, map[string]any{"teacher_id": tid, "max_hours": maxHours, "used_minutes": used, "add_minutes": weekly})
			}
		}
		if in.ProviderID != nil {
			if err := checkProvider(ctx, tx, sc, *in.ProviderID, in.Today); err != nil {
				return err
			}
			if strings.TrimSpace(in.External) == "" {
				return Invalid("as.program.external_name", nil)
			}
		}
		if err := tx.Create(&p).Error; err != nil {
			return err
		}
		slots := make([]ProgramSlot, len(in.Slots))
		for i, s := range in.Slots {
			slots[i] = ProgramSlot{SchoolID: sc.ID, ProgramID: p.ID, Weekday: s.Weekday, StartTime: s.Start, EndTime: s.End}
		}
		if err := tx.Create(&slots).Error; err != nil {
			return err
		}
		var ins []ProgramInstructor
		for _, tid := range slices.Compact(slices.Sorted(slices.Values(in.TeacherIDs))) {
			ins = append(ins, ProgramInstructor{SchoolID: sc.ID, ProgramID: p.ID, TeacherID: &tid})
		}
		if in.ProviderID != nil {
			ins = append(ins, ProgramInstructor{SchoolID: sc.ID, ProgramID: p.ID, ProviderID: in.ProviderID, ExternalName: strings.TrimSpace(in.External)})
		}
		if len(ins) > 0 {
			if err := tx.Create(&ins).Error; err != nil {
				return err
			}
		}
		var lead *int64
		if len(in.TeacherIDs) > 0 {
			lead = &in.TeacherIDs[0]
		}
		if err := generateSessions(ctx, tx, sc.ID, term, p.ID, lead, slots); err != nil {
			return err
		}
		if err := Audit(ctx, tx, sc.ID, "create", "program", p.ID, nil, map[string]any{"program": p, "slots": in.Slots, "teachers": in.TeacherIDs}); err != nil {
			return err
		}
		return RefreshTermRollup(ctx, tx, sc.ID, term.ID)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Program confirmation states (AS-06).
const (
	ConfirmationPending   = "pending"
	ConfirmationConfirmed = "confirmed"
)

// ConfirmProgram is the principal's explicit confirmation, with a written
// reason, that a program matching the new-lesson list is not new lessons
// (AS-06); until then it takes no enrollment. Audited; the bureau sees the
// confirmed programs (as.programs_confirmed_new_lesson) and the reasons.
func ConfirmProgram(ctx context.Context, db *gorm.DB, schoolID, programID, userID int64, reason string) (*Program, error) {
	reason = strings.TrimSpace(reason)
	if !policies.IsSentence(reason, policies.MinConfirmReasonRunes) {
		return nil, RuleError("confirm_reason_required", policies.RuleAS06, "as.program.confirm_reason",
			map[string]any{"Min": policies.MinConfirmReasonRunes}, map[string]any{"min_chars": policies.MinConfirmReasonRunes})
	}
	if len([]rune(reason)) > 1000 {
		return nil, Invalid("as.program.confirm_reason_long", nil)
	}
	var out Program
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		p, err := lockProgram(tx, programID)
		if err != nil {
			return err
		}
		if p.SchoolID != schoolID {
			return ErrNotFound
		}
		if p.Confirmation != ConfirmationPending {
			return &Error{Kind: KindConflict, Code: "program_not_pending", MsgID: "as.program.not_pending"}
		}
		before := *p
		now := time.Now().UTC()
		p.Confirmation, p.ConfirmReason, p.ConfirmedBy, p.ConfirmedAt = ConfirmationConfirmed, reason, &userID, &now
		if err := tx.Model(&Program{}).Where("id = ?", p.ID).Updates(map[string]any{"confirmation": p.Confirmation,
			"confirm_reason": reason, "confirmed_by": userID, "confirmed_at": now}).Error; err != nil {
			return err
		}
		if err := Audit(ctx, tx, schoolID, "confirm", "program", p.ID, before, *p); err != nil {
			return err
		}
		out = *p
		return RefreshTermRollup(ctx, tx, p.SchoolID, p.TermID)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ConfirmedPrograms lists the programs of schools that the principal
// confirmed or that still wait for it (the bureau's view of AS-06).
func ConfirmedPrograms(ctx context.Context, db *gorm.DB, schoolIDs []int64) ([]Program, error) {
	var out []Program
	err := db.WithContext(ctx).Where("school_id IN ? AND confirmation <> ''", schoolIDs).Order("school_id, id").Find(&out).Error
	return out, err
}

// checkProvider enforces AS-08: an outside provider must be on the vetted
// list of a region that reaches the school, active and not expired.
func checkProvider(ctx context.Context, db *gorm.DB, sc *School, id int64, today string) error {
	var pr Provider
	if err := db.WithContext(ctx).First(&pr, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return RuleError("provider_not_vetted", policies.RuleAS08, "as.program.provider_not_vetted", nil, nil)
		}
		return err
	}
	path, err := RegionPath(ctx, db, sc.RegionCode)
	if err != nil {
		return err
	}
	if !pr.Active || !slices.Contains(path, pr.RegionCode) || (pr.VettedUntil != "" && today != "" && pr.VettedUntil < today) {
		return RuleError("provider_not_vetted", policies.RuleAS08, "as.program.provider_not_vetted", nil, map[string]any{"provider_id": id})
	}
	return nil
}

// CreateProvider adds a provider to a region's vetted list (bureau, AS-08).
func CreateProvider(ctx context.Context, db *gorm.DB, p *Provider) error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		return Invalid("as.provider.bad_name", nil)
	}
	if p.VettedUntil != "" {
		if _, err := time.Parse(DateLayout, p.VettedUntil); err != nil {
			return Invalid("error.bad_date", map[string]any{"Value": p.VettedUntil})
		}
	}
	if _, err := GetRegion(ctx, db, p.RegionCode); err != nil {
		return err
	}
	p.Active = true
	return Tx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		return Audit(ctx, tx, 0, "create", "provider", p.ID, nil, p)
	})
}

// ProvidersFor lists the active providers vetted for regions that reach a school.
func ProvidersFor(ctx context.Context, db *gorm.DB, sc *School) ([]Provider, error) {
	path, err := RegionPath(ctx, db, sc.RegionCode)
	if err != nil {
		return nil, err
	}
	var out []Provider
	err = db.WithContext(ctx).Where("region_code IN ? AND active = ?", path, true).Order("name").Find(&out).Error
	return out, err
}

// IsTeacherOf reports whether a user teaches or heads a class at the school.
func IsTeacherOf(ctx context.Context, db *gorm.DB, schoolID, userID int64) (bool, error) {
	var n int64
	if err := db.WithContext(ctx).Model(&TeachingAssignment{}).Where("school_id = ? AND teacher_id = ?", schoolID, userID).Count(&n).Error; err != nil {
		return false, err
	}
	if n > 0 {
		return true, nil
	}
	err := db.WithContext(ctx).Model(&Class{}).Where("school_id = ? AND head_teacher_id = ?", schoolID, userID).Count(&n).Error
	return n > 0, err
}

// TeacherWeeklyMinutes is how many minutes a week a teacher already serves
// in the term's programs (AS-09 maximum).
func TeacherWeeklyMinutes(ctx context.Context, db *gorm.DB, schoolID, termID, teacherID int64) (int, error) {
	var slots []ProgramSlot
	err := db.WithContext(ctx).Where("program_id IN (?)",
		db.Model(&ProgramInstructor{}).Select("program_instructors.program_id").
			Joins("JOIN programs ON programs.id = program_instructors.program_id").
			Where("program_instructors.school_id = ? AND program_instructors.teacher_id = ? AND programs.term_id = ?", schoolID, teacherID, termID)).
		Find(&slots).Error
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range slots {
		n += s.Slot().Minutes()
	}
	return n, nil
}

// GetProgram loads a program.
func GetProgram(ctx context.Context, db *gorm.DB, id int64) (*Program, error) {
	var p Program
	if err := db.WithContext(ctx).First(&p, id).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &p, nil
}

// ProgramView is a program with its slots and instructors, for lists and pages.
type ProgramView struct {
	Program
	Slots       []ProgramSlot       `json:"slots"`
	Instructors []ProgramInstructor `json:"instructors"`
	TeacherName string              `json:"teacher_name"`
}

// ProgramsOfTerm lists a school's programs of a term with slots and
// instructors, by name.
func ProgramsOfTerm(ctx context.Context, db *gorm.DB, schoolID, termID int64) ([]ProgramView, error) {
	var ps []Program
	if err := db.WithContext(ctx).Where("school_id = ? AND term_id = ?", schoolID, termID).Order("name, id").Find(&ps).Error; err != nil {
		return nil, err
	}
	return programViews(ctx, db, schoolID, ps)
}

func programViews(ctx context.Context, db *gorm.DB, schoolID int64, ps []Program) ([]ProgramView, error) {
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	var slots []ProgramSlot
	var ins []ProgramInstructor
	if err := db.WithContext(ctx).Where("school_id = ? AND program_id IN ?", schoolID, append(ids, 0)).Order("weekday, start_time").Find(&slots).Error; err != nil {
		return nil, err
	}
	if err := db.WithContext(ctx).Where("school_id = ? AND program_id IN ?", schoolID, append(ids, 0)).Order("id").Find(&ins).Error; err != nil {
		return nil, err
	}
	var teacherIDs []int64
	for _, in := range ins {
		if in.TeacherID != nil {
			teacherIDs = append(teacherIDs, *in.TeacherID)
		}
	}
	names := map[int64]string{}
	if len(teacherIDs) > 0 {
		var us []User
		if err := db.WithContext(ctx).Where("id IN ?", teacherIDs).Find(&us).Error; err != nil {
			return nil, err
		}
		for _, u := range us {
			names[u.ID] = u.DisplayName
		}
	}
	out := make([]ProgramView, len(ps))
	for i, p := range ps {
		out[i].Program = p
		for _, s := range slots {
			if s.ProgramID == p.ID {
				out[i].Slots = append(out[i].Slots, s)
			}
		}
		for _, in := range ins {
			if in.ProgramID != p.ID {
				continue
			}
			out[i].Instructors = append(out[i].Instructors, in)
			if out[i].TeacherName == "" {
				if in.TeacherID != nil {
					out[i].TeacherName = names[*in.TeacherID]
				} else {
					out[i].TeacherName = in.ExternalName
				}
			}
		}
	}
	return out, nil
}

// ProgramSlots lists one program's slots.
func ProgramSlots(ctx context.Context, db *gorm.DB, programID int64) ([]policies.Slot, error) {
	var rows []ProgramSlot
	if err := db.WithContext(ctx).Where("program_id = ?", programID).Order("weekday, start_time").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]policies.Slot, len(rows))
	for i, r := range rows {
		out[i] = r.Slot()
	}
	return out, nil
}

// IsInstructor reports whether a user teaches a program.
func IsInstructor(ctx context.Context, db *gorm.DB, programID, userID int64) (bool, error) {
	var n int64
	err := db.WithContext(ctx).Model(&ProgramInstructor{}).Where("program_id = ? AND teacher_id = ?", programID, userID).Count(&n).Error
	return n > 0, err
}
