package models

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"jianfu/policies"
)

func init() {
	All = append(All, &HomeworkItem{}, &HomeworkQuota{}, &HomeworkFeedback{}, &ClassDayLoad{})
}

// HomeworkItem is one piece of homework a teacher sets for a class on a date.
// Counted records whether it counted toward the cap when saved, so withdrawing
// it takes back exactly what it added even if the counting setting changed.
type HomeworkItem struct {
	ID          int64      `gorm:"primaryKey" json:"id"`
	SchoolID    int64      `json:"school_id"`
	ClassID     int64      `json:"class_id"`
	SubjectID   int64      `json:"subject_id"`
	TeacherID   int64      `json:"teacher_id"`
	Date        string     `json:"date"`
	DueDate     string     `json:"due_date"`
	Title       string     `json:"title"`
	Details     string     `json:"details"`
	Minutes     int        `json:"minutes"`
	Kind        string     `json:"kind"`
	Layer       string     `json:"layer"`
	InSchool    bool       `json:"in_school"`
	Counted     bool       `json:"counted"`
	Status      string     `json:"status"`
	WithdrawnAt *time.Time `json:"withdrawn_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Homework item statuses: withdrawn items stop counting; the audit log keeps them.
const (
	HomeworkActive    = "active"
	HomeworkWithdrawn = "withdrawn"
)

// HomeworkQuota is a head teacher's share of the class's daily budget for
// one subject (HW-08). The quotas of a class add up to at most its cap.
type HomeworkQuota struct {
	ID        int64     `gorm:"primaryKey" json:"id"`
	SchoolID  int64     `json:"school_id"`
	ClassID   int64     `json:"class_id"`
	SubjectID int64     `json:"subject_id"`
	Minutes   int       `json:"minutes"`
	UpdatedBy *int64    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// HomeworkFeedback is a guardian's report of how long homework really took,
// for one item (ItemID set) or a whole day (ItemID nil). Stopping at bedtime
// is an accepted outcome (HW-11, SL-02).
type HomeworkFeedback struct {
	ID               int64  `gorm:"primaryKey" json:"id"`
	SchoolID         int64  `json:"school_id"`
	ClassID          int64  `json:"class_id"`
	StudentID        int64  `json:"student_id"`
	GuardianID       int64  `json:"guardian_id"`
	ItemID           *int64 `json:"item_id"`
	Date             string `json:"date"`
	ActualMinutes    int    `json:"actual_minutes"`
	EstimatedMinutes int    `json:"estimated_minutes"`
	StoppedAtBedtime bool   `json:"stopped_at_bedtime"`
	// HW-15: the guardian says the item (or the evening) was really written
	// work, or took longer than its estimate.
	ReallyWritten bool      `json:"really_written"`
	TookLonger    bool      `json:"took_longer"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// ClassDayLoad is the rollup of one class on one date, written in the same
// transaction as every homework write. Its row is also the lock that
// serializes concurrent saves on the class-day. TotalMinutes counts toward
// the cap; AllMinutes is every active item; TakeHomeMinutes every active
// take-home item of any kind and layer (HW-15), against BudgetMinutes, the
// all-kinds budget in force at the last save (0: none). The feedback
// columns sum guardians' reports: FeedbackStudents reporting students,
// ReportedWritten and ReportedLonger the reports flagged "really written"
// and "took longer".
type ClassDayLoad struct {
	ID                       int64     `gorm:"primaryKey" json:"-"`
	SchoolID                 int64     `json:"school_id"`
	ClassID                  int64     `json:"class_id"`
	Grade                    int       `json:"grade"`
	Date                     string    `json:"date"`
	TotalMinutes             int       `json:"total_minutes"`
	AllMinutes               int       `json:"all_minutes"`
	CapMinutes               int       `json:"cap_minutes"`
	ItemCount                int       `json:"item_count"`
	RefusedCount             int       `json:"refused_count"`
	FeedbackCount            int       `json:"feedback_count"`
	FeedbackActualMinutes    int       `json:"feedback_actual_minutes"`
	FeedbackEstimatedMinutes int       `json:"feedback_estimated_minutes"`
	BedtimeStops             int       `json:"bedtime_stops"`
	TakeHomeMinutes          int       `json:"take_home_minutes"`
	BudgetMinutes            int       `json:"budget_minutes"`
	FeedbackStudents         int       `json:"feedback_students"`
	ReportedWritten          int       `json:"reported_written"`
	ReportedLonger           int       `json:"reported_longer"`
	UpdatedAt                time.Time `json:"-"`
}

// Homework setting keys (values are JSON; scopes "*", "region:<code>", "school:<id>").
const (
	SettingHomeworkCaps               = "homework.caps"                 // policies.BandCaps, school days
	SettingHomeworkRestCaps           = "homework.rest_caps"            // policies.BandCaps, weekends and holidays (HW-04)
	SettingHomeworkCounting           = "homework.counting"             // policies.Counting
	SettingHomeworkMaxWrittenSubjects = "homework.max_written_subjects" // policies.BandCaps, 0 = off (HW-08)
	SettingHomeworkTakeHome           = "homework.take_home_budget"     // *policies.BandCaps, all kinds taken home (HW-15); null = none
)

var homeworkSettingKeys = []string{SettingHomeworkCaps, SettingHomeworkRestCaps, SettingHomeworkCounting, SettingHomeworkMaxWrittenSubjects, SettingHomeworkTakeHome}

// Limits of homework input.
const (
	MaxHomeworkMinutes  = 240
	MaxHomeworkTitle    = 200
	MaxHomeworkDetails  = 2000
	MaxFeedbackMinutes  = 600
	MaxLoadRangeDays    = 92
	homeworkAuditEntity = "homework_item"
)

// HomeworkRules are the effective homework limits of one school.
type HomeworkRules struct {
	School *School
	Limits policies.HomeworkLimits
}

// LoadHomeworkRules resolves a school's homework settings. Along the scope
// chain (school, its regions, *) the strictest value wins, so a value that
// became looser after an enclosing scope tightened never takes effect.
func LoadHomeworkRules(ctx context.Context, db *gorm.DB, schoolID int64) (*HomeworkRules, error) {
	sc, err := GetSchool(ctx, db, schoolID)
	if err != nil {
		return nil, err
	}
	path, err := RegionPath(ctx, db, sc.RegionCode)
	if err != nil {
		return nil, err
	}
	l, err := limitsAlong(ctx, db, policies.DomainChain(sc.ID, path))
	if err != nil {
		return nil, err
	}
	return &HomeworkRules{School: sc, Limits: l}, nil
}

// limitsAlong is the strictest combination of the homework settings at scopes.
func limitsAlong(ctx context.Context, db *gorm.DB, scopes []string) (policies.HomeworkLimits, error) {
	l := policies.DefaultHomeworkLimits()
	if len(scopes) == 0 {
		return l, nil
	}
	var rows []Setting
	if err := db.WithContext(ctx).Where("key IN ? AND scope IN ?", homeworkSettingKeys, scopes).Find(&rows).Error; err != nil {
		return l, err
	}
	minBands := func(a, b policies.BandCaps) policies.BandCaps {
		return policies.BandCaps{G1to2: min(a.G1to2, b.G1to2), G3to6: min(a.G3to6, b.G3to6), G7to9: min(a.G7to9, b.G7to9)}
	}
	minOn := func(a, b int) int { // 0 is off
		if a == 0 || (b != 0 && b < a) {
			return b
		}
		return a
	}
	for _, r := range rows {
		switch r.Key {
		case SettingHomeworkCaps:
			var b policies.BandCaps
			if json.Unmarshal([]byte(r.Value), &b) == nil {
				l.Caps = minBands(l.Caps, b)
			}
		case SettingHomeworkRestCaps:
			var b *policies.BandCaps
			if json.Unmarshal([]byte(r.Value), &b) == nil && b != nil {
				if l.RestCaps == nil {
					l.RestCaps = b
				} else {
					m := minBands(*l.RestCaps, *b)
					l.RestCaps = &m
				}
			}
		case SettingHomeworkTakeHome:
			var b *policies.BandCaps
			if json.Unmarshal([]byte(r.Value), &b) == nil && b != nil {
				if l.TakeHome == nil {
					l.TakeHome = b
				} else {
					m := minBands(*l.TakeHome, *b)
					l.TakeHome = &m
				}
			}
		case SettingHomeworkCounting:
			var c policies.Counting
			if json.Unmarshal([]byte(r.Value), &c) == nil {
				for _, k := range c.Kinds {
					if policies.IsHomeworkKind(k) && !contains(l.Counting.Kinds, k) {
						l.Counting.Kinds = append(l.Counting.Kinds, k)
					}
				}
				l.Counting.Optional = l.Counting.Optional || c.Optional
				l.Counting.InSchool = l.Counting.InSchool || c.InSchool
			}
		case SettingHomeworkMaxWrittenSubjects:
			var b policies.BandCaps
			if json.Unmarshal([]byte(r.Value), &b) == nil {
				l.MaxWrittenSubjects = policies.BandCaps{G1to2: minOn(l.MaxWrittenSubjects.G1to2, b.G1to2),
					G3to6: minOn(l.MaxWrittenSubjects.G3to6, b.G3to6), G7to9: minOn(l.MaxWrittenSubjects.G7to9, b.G7to9)}
			}
		}
	}
	return l, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// HomeworkLimitsAt returns the limits set at exactly scope (defaults where
// unset) and the strictest limits of the scopes enclosing it.
func HomeworkLimitsAt(ctx context.Context, db *gorm.DB, chain []string) (own, enclosing policies.HomeworkLimits, err error) {
	if len(chain) == 0 {
		return own, enclosing, Invalid("error.bad_request", nil)
	}
	if own, err = limitsAlong(ctx, db, chain[:1]); err != nil {
		return
	}
	enclosing, err = limitsAlong(ctx, db, chain[1:])
	return
}

// PutHomeworkLimits stores the homework settings of chain[0] (a school or a
// region) after checking they are not looser than the official numbers or
// the enclosing scopes (chain[1:]). A looser value is a 422 naming the rule.
func PutHomeworkLimits(ctx context.Context, db *gorm.DB, schoolID int64, chain []string, l policies.HomeworkLimits) error {
	if len(chain) == 0 {
		return Invalid("error.bad_request", nil)
	}
	enclosing, err := limitsAlong(ctx, db, chain[1:])
	if err != nil {
		return err
	}
	if oe := policies.ValidateOverride(l, &enclosing); oe != nil {
		return RuleError("setting_looser_than_allowed", oe.Rule, "homework.setting_looser", map[string]any{
			"Field": oe.Field, "Value": oe.Value, "Limit": oe.Limit}, map[string]any{"field": oe.Field, "value": oe.Value, "limit": oe.Limit, "source": oe.Source})
	}
	scope := chain[0]
	return Tx(ctx, db, func(tx *gorm.DB) error {
		for key, v := range map[string]any{SettingHomeworkCaps: l.Caps, SettingHomeworkRestCaps: l.RestCaps,
			SettingHomeworkCounting: l.Counting, SettingHomeworkMaxWrittenSubjects: l.MaxWrittenSubjects, SettingHomeworkTakeHome: l.TakeHome} {
			if err := PutSetting(ctx, tx, schoolID, scope, key, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// DayKindOf tells whether date is a school day at the school: a weekday inside
// one of its terms that is not a no-school day. Anything else is a rest day
// (HW-04).
func DayKindOf(ctx context.Context, db *gorm.DB, schoolID int64, date string) (policies.DayKind, error) {
	kinds, err := DayKinds(ctx, db, schoolID, date, date)
	if err != nil {
		return policies.SchoolDay, err
	}
	return kinds[date], nil
}

// DayKinds tells the kind of every date in [from, to].
func DayKinds(ctx context.Context, db *gorm.DB, schoolID int64, from, to string) (map[string]policies.DayKind, error) {
	start, err := time.Parse(DateLayout, from)
	if err != nil {
		return nil, Invalid("error.bad_date", map[string]any{"Value": from})
	}
	end, err := time.Parse(DateLayout, to)
	if err != nil {
		return nil, Invalid("error.bad_date", map[string]any{"Value": to})
	}
	var terms []Term
	if err := db.WithContext(ctx).Where("school_id = ? AND start_date <= ? AND end_date >= ?", schoolID, to, from).Find(&terms).Error; err != nil {
		return nil, err
	}
	var off []string
	if err := db.WithContext(ctx).Model(&NoSchoolDay{}).Where("school_id = ? AND date BETWEEN ? AND ?", schoolID, from, to).Pluck("date", &off).Error; err != nil {
		return nil, err
	}
	out := map[string]policies.DayKind{}
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		ds := d.Format(DateLayout)
		kind := policies.RestDay
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday && !contains(off, ds) {
			for _, t := range terms {
				if t.Contains(ds) {
					kind = policies.SchoolDay
				}
			}
		}
		out[ds] = kind
	}
	return out, nil
}

// CapOn is the cap of a class on a date.
func (r *HomeworkRules) CapOn(ctx context.Context, db *gorm.DB, cl *Class, date string) (policies.Cap, error) {
	kind, err := DayKindOf(ctx, db, cl.SchoolID, date)
	if err != nil {
		return policies.Cap{}, err
	}
	return policies.CapFor(cl.Grade, kind, r.Limits), nil
}

// HomeworkInput is what a teacher sends to set homework.
type HomeworkInput struct {
	SubjectID int64
	Date      string
	DueDate   string // "" means the same day
	Title     string
	Details   string
	Minutes   int
	Kind      string
	Layer     string
	InSchool  bool
}

// Validate checks the input's form (not the caps).
func (in *HomeworkInput) Validate() error {
	in.Title = strings.TrimSpace(in.Title)
	in.Details = strings.TrimSpace(in.Details)
	if in.DueDate == "" {
		in.DueDate = in.Date
	}
	if _, err := time.Parse(DateLayout, in.Date); err != nil {
		return Invalid("error.bad_date", map[string]any{"Value": in.Date})
	}
	if _, err := time.Parse(DateLayout, in.DueDate); err != nil {
		return Invalid("error.bad_date", map[string]any{"Value": in.DueDate})
	}
	if in.DueDate < in.Date {
		return Invalid("homework.due_before_date", nil)
	}
	if in.Title == "" || utf8.RuneCountInString(in.Title) > MaxHomeworkTitle {
		return Invalid("homework.bad_title", map[string]any{"Max": MaxHomeworkTitle})
	}
	if utf8.RuneCountInString(in.Details) > MaxHomeworkDetails {
		return Invalid("homework.bad_details", map[string]any{"Max": MaxHomeworkDetails})
	}
	if in.Minutes < 1 || in.Minutes > MaxHomeworkMinutes {
		return Invalid("homework.bad_minutes", map[string]any{"Max": MaxHomeworkMinutes})
	}
	if !policies.IsHomeworkKind(in.Kind) {
		return Invalid("homework.bad_kind", map[string]any{"Value": in.Kind})
	}
	if !policies.IsHomeworkLayer(in.Layer) {
		return Invalid("homework.bad_layer", map[string]any{"Value": in.Layer})
	}
	return nil
}

// HomeworkSaved is the outcome of a save: the item and the class-day after it.
type HomeworkSaved struct {
	Item     HomeworkItem
	DayTotal int // counted minutes of the class-day
	Cap      int
}

// LockClassDay returns the class-day rollup row, creating it if missing, and
// locks it for the rest of tx: on PostgreSQL with SELECT … FOR UPDATE; on
// SQLite the transaction already holds the write lock from BEGIN
// (_txlock=immediate). Every homework write goes through it, so concurrent
// writers of one class-day run one after another.
func LockClassDay(ctx context.Context, tx *gorm.DB, cl *Class, date string, capMinutes int) (*ClassDayLoad, error) {
	tx = tx.WithContext(ctx)
	get := func() (*ClassDayLoad, error) {
		q := tx.Where("class_id = ? AND date = ?", cl.ID, date)
		if DialectOf(tx) == Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var load ClassDayLoad
		if err := q.Take(&load).Error; err != nil {
			return nil, err
		}
		return &load, nil
	}
	load, err := get()
	if err == nil || !errors.Is(err, gorm.ErrRecordNotFound) {
		return load, err
	}
	row := ClassDayLoad{SchoolID: cl.SchoolID, ClassID: cl.ID, Grade: cl.Grade, Date: date, CapMinutes: capMinutes, UpdatedAt: time.Now().UTC()}
	if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "class_id"}, {Name: "date"}}, DoNothing: true}).Create(&row).Error; err != nil {
		return nil, err
	}
	return get()
}

// refusalError turns a policies refusal into the API error.
func refusalError(r *policies.Refusal, subject string) *Error {
	details := map[string]any{"cap_minutes": r.Cap, "used_minutes": r.Used, "remaining_minutes": r.Remaining}
	params := map[string]any{"Cap": r.Cap, "Used": r.Used, "Remaining": r.Remaining, "Subject": subject}
	if r.Code == policies.CodeQuotaExceeded {
		details["subject"] = subject
	}
	return RuleError(r.Code, r.Rule, "homework."+r.Code, params, details)
}

// daySubjects sums the counted minutes of each subject on a class-day,
// leaving out the item except (0: none).
func daySubjects(ctx context.Context, tx *gorm.DB, classID int64, date string, except int64) (map[int64]int, error) {
	var rows []struct {
		SubjectID int64
		Minutes   int
	}
	err := tx.WithContext(ctx).Model(&HomeworkItem{}).Select("subject_id, SUM(minutes) AS minutes").
		Where("class_id = ? AND date = ? AND status = ? AND counted = ? AND id <> ?", classID, date, HomeworkActive, true, except).
		Group("subject_id").Scan(&rows).Error
	out := map[int64]int{}
	for _, r := range rows {
		out[r.SubjectID] = r.Minutes
	}
	return out, err
}

// checkItem decides a save on a locked class-day; used is the counted
// minutes without the item itself, takeHome the take-home minutes of every
// kind without it.
func checkItem(ctx context.Context, tx *gorm.DB, r *HomeworkRules, cl *Class, capv policies.Cap, used, takeHome int, it *HomeworkItem) error {
	chk := policies.SaveCheck{Grade: cl.Grade, Cap: capv, Used: used, Kind: it.Kind, Layer: it.Layer, InSchool: it.InSchool,
		Minutes: it.Minutes, Counting: r.Limits.Counting, MaxSubjects: r.Limits.MaxWrittenSubjects.Of(cl.Grade),
		Text: it.Title + " " + it.Details, TakeHomeUsed: takeHome, TakeHomeBudget: policies.TakeHomeBudgetFor(cl.Grade, r.Limits)}
	counts := r.Limits.Counting.Counts(it.Kind, it.Layer, it.InSchool)
	var q HomeworkQuota
	if counts {
		err := tx.WithContext(ctx).Where("class_id = ? AND subject_id = ?", cl.ID, it.SubjectID).Take(&q).Error
		if err == nil {
			chk.Quota = &q.Minutes
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if chk.Quota != nil || chk.MaxSubjects > 0 {
			subj, err := daySubjects(ctx, tx, cl.ID, it.Date, it.ID)
			if err != nil {
				return err
			}
			chk.SubjectUsed = subj[it.SubjectID]
			for id, m := range subj {
				if id != it.SubjectID && m > 0 {
					chk.OtherCountedSubjects++
				}
			}
		}
	}
	if ref := policies.CheckSave(chk); ref != nil {
		name := ""
		if ref.Code == policies.CodeQuotaExceeded {
			var s Subject
			if tx.WithContext(ctx).Take(&s, it.SubjectID).Error == nil {
				name = s.Name
			}
		}
		return refusalError(ref, name)
	}
	it.Counted = counts
	return nil
}

// countRefusal adds one to the class-day's refused saves, in a short
// transaction of its own after the refused one rolled back (so the refused
// item itself leaves nothing).
func countRefusal(ctx context.Context, db *gorm.DB, cl *Class, date string, capMinutes int) error {
	return Tx(ctx, db, func(tx *gorm.DB) error {
		load, err := LockClassDay(ctx, tx, cl, date, capMinutes)
		if err != nil {
			return err
		}
		return tx.Model(&ClassDayLoad{}).Where("id = ?", load.ID).
			Updates(map[string]any{"refused_count": load.RefusedCount + 1, "updated_at": time.Now().UTC()}).Error
	})
}

// isRefusal reports whether err is a save refused by a cap, quota or HW-01 rule.
func isRefusal(err error) bool {
	e, ok := AsError(err)
	return ok && e.Kind == KindRule
}

// CreateHomework saves an item for a class after checking the caps (HW-01..04)
// and quotas (HW-08) on the locked class-day; the check, the insert, the
// rollup and the audit row are one transaction.
func CreateHomework(ctx context.Context, db *gorm.DB, r *HomeworkRules, cl *Class, teacherID int64, in HomeworkInput) (*HomeworkSaved, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	capv, err := r.CapOn(ctx, db, cl, in.Date)
	if err != nil {
		return nil, err
	}
	it := HomeworkItem{SchoolID: cl.SchoolID, ClassID: cl.ID, SubjectID: in.SubjectID, TeacherID: teacherID, Date: in.Date,
		DueDate: in.DueDate, Title: in.Title, Details: in.Details, Minutes: in.Minutes, Kind: in.Kind, Layer: in.Layer,
		InSchool: in.InSchool, Status: HomeworkActive}
	var out HomeworkSaved
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		load, err := LockClassDay(ctx, tx, cl, in.Date, capv.Minutes)
		if err != nil {
			return err
		}
		if err := checkItem(ctx, tx, r, cl, capv, load.TotalMinutes, load.TakeHomeMinutes, &it); err != nil {
			return err
		}
		now := time.Now().UTC()
		it.CreatedAt, it.UpdatedAt = now, now
		if err := tx.Create(&it).Error; err != nil {
			return err
		}
		total := load.TotalMinutes + countedMinutes(it)
		if err := tx.Model(&ClassDayLoad{}).Where("id = ?", load.ID).Updates(map[string]any{
			"total_minutes": total, "all_minutes": load.AllMinutes + it.Minutes, "item_count": load.ItemCount + 1,
			"take_home_minutes": load.TakeHomeMinutes + takeHomeMinutes(it), "budget_minutes": budgetOf(cl, r),
			"cap_minutes": capv.Minutes, "updated_at": now}).Error; err != nil {
			return err
		}
		out = HomeworkSaved{Item: it, DayTotal: total, Cap: capv.Minutes}
		return Audit(ctx, tx, cl.SchoolID, "create", homeworkAuditEntity, it.ID, nil, it)
	})
	if isRefusal(err) {
		if cerr := countRefusal(ctx, db, cl, in.Date, capv.Minutes); cerr != nil {
			return nil, cerr
		}
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func countedMinutes(it HomeworkItem) int {
	if it.Counted && it.Status == HomeworkActive {
		return it.Minutes
	}
	return 0
}

// takeHomeMinutes is what an item adds to the evening, whatever its label
// (HW-15).
func takeHomeMinutes(it HomeworkItem) int {
	if it.Status == HomeworkActive && !it.InSchool {
		return it.Minutes
	}
	return 0
}

// budgetOf is the class's all-kinds take-home budget (0: none).
func budgetOf(cl *Class, r *HomeworkRules) int {
	if b := policies.TakeHomeBudgetFor(cl.Grade, r.Limits); b != nil {
		return *b
	}
	return 0
}

func activeMinutes(it HomeworkItem) int {
	if it.Status == HomeworkActive {
		return it.Minutes
	}
	return 0
}

// GetHomework loads an item by id.
func GetHomework(ctx context.Context, db *gorm.DB, id int64) (*HomeworkItem, error) {
	var it HomeworkItem
	if err := db.WithContext(ctx).Take(&it, id).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &it, nil
}

// HomeworkPatch is an edit of an item; nil fields stay. The class, subject
// and date stay: to move homework, withdraw it and set it again.
type HomeworkPatch struct {
	DueDate  *string
	Title    *string
	Details  *string
	Minutes  *int
	Kind     *string
	Layer    *string
	InSchool *bool
}

// UpdateHomework edits an active item, re-checking the caps with the item's
// new values in place of its old ones.
func UpdateHomework(ctx context.Context, db *gorm.DB, r *HomeworkRules, cl *Class, id int64, p HomeworkPatch) (*HomeworkSaved, error) {
	cur, err := GetHomework(ctx, db, id)
	if err != nil {
		return nil, err
	}
	if cur.ClassID != cl.ID {
		return nil, ErrNotFound
	}
	capv, err := r.CapOn(ctx, db, cl, cur.Date)
	if err != nil {
		return nil, err
	}
	var out HomeworkSaved
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		load, err := LockClassDay(ctx, tx, cl, cur.Date, capv.Minutes)
		if err != nil {
			return err
		}
		var before HomeworkItem
		if err := tx.Take(&before, id).Error; err != nil {
			return NotFoundIf(err)
		}
		if before.Status != HomeworkActive {
			return &Error{Kind: KindConflict, Code: "homework_withdrawn", MsgID: "homework.already_withdrawn"}
		}
		in := HomeworkInput{SubjectID: before.SubjectID, Date: before.Date, DueDate: before.DueDate, Title: before.Title,
			Details: before.Details, Minutes: before.Minutes, Kind: before.Kind, Layer: before.Layer, InSchool: before.InSchool}
		set := func(dst *string, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		set(&in.DueDate, p.DueDate)
		set(&in.Title, p.Title)
		set(&in.Details, p.Details)
		set(&in.Kind, p.Kind)
		set(&in.Layer, p.Layer)
		if p.Minutes != nil {
			in.Minutes = *p.Minutes
		}
		if p.InSchool != nil {
			in.InSchool = *p.InSchool
		}
		if err := in.Validate(); err != nil {
			return err
		}
		after := before
		after.DueDate, after.Title, after.Details, after.Minutes = in.DueDate, in.Title, in.Details, in.Minutes
		after.Kind, after.Layer, after.InSchool = in.Kind, in.Layer, in.InSchool
		used := load.TotalMinutes - countedMinutes(before)
		takeHome := load.TakeHomeMinutes - takeHomeMinutes(before)
		if err := checkItem(ctx, tx, r, cl, capv, used, takeHome, &after); err != nil {
			return err
		}
		after.UpdatedAt = time.Now().UTC()
		if err := tx.Model(&HomeworkItem{}).Where("id = ?", id).Updates(map[string]any{
			"due_date": after.DueDate, "title": after.Title, "details": after.Details, "minutes": after.Minutes,
			"kind": after.Kind, "layer": after.Layer, "in_school": after.InSchool, "counted": after.Counted,
			"updated_at": after.UpdatedAt}).Error; err != nil {
			return err
		}
		total := used + countedMinutes(after)
		if err := tx.Model(&ClassDayLoad{}).Where("id = ?", load.ID).Updates(map[string]any{
			"total_minutes": total, "all_minutes": load.AllMinutes - before.Minutes + after.Minutes,
			"take_home_minutes": takeHome + takeHomeMinutes(after), "budget_minutes": budgetOf(cl, r),
			"cap_minutes": capv.Minutes, "updated_at": after.UpdatedAt}).Error; err != nil {
			return err
		}
		out = HomeworkSaved{Item: after, DayTotal: total, Cap: capv.Minutes}
		return Audit(ctx, tx, cl.SchoolID, "update", homeworkAuditEntity, id, before, after)
	})
	if isRefusal(err) {
		if cerr := countRefusal(ctx, db, cl, cur.Date, capv.Minutes); cerr != nil {
			return nil, cerr
		}
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// WithdrawHomework takes an item off the board: it stops counting, the
// class-day total drops, and the audit log keeps its history. Withdrawing a
// withdrawn item changes nothing.
func WithdrawHomework(ctx context.Context, db *gorm.DB, cl *Class, id int64) (*HomeworkSaved, error) {
	cur, err := GetHomework(ctx, db, id)
	if err != nil {
		return nil, err
	}
	if cur.ClassID != cl.ID {
		return nil, ErrNotFound
	}
	var out HomeworkSaved
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		load, err := LockClassDay(ctx, tx, cl, cur.Date, 0)
		if err != nil {
			return err
		}
		var before HomeworkItem
		if err := tx.Take(&before, id).Error; err != nil {
			return NotFoundIf(err)
		}
		out = HomeworkSaved{Item: before, DayTotal: load.TotalMinutes, Cap: load.CapMinutes}
		if before.Status != HomeworkActive {
			return nil
		}
		now := time.Now().UTC()
		after := before
		after.Status, after.WithdrawnAt, after.UpdatedAt = HomeworkWithdrawn, &now, now
		if err := tx.Model(&HomeworkItem{}).Where("id = ?", id).Updates(map[string]any{
			"status": HomeworkWithdrawn, "withdrawn_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		total := load.TotalMinutes - countedMinutes(before)
		if err := tx.Model(&ClassDayLoad{}).Where("id = ?", load.ID).Updates(map[string]any{
			"total_minutes": total, "all_minutes": load.AllMinutes - before.Minutes, "item_count": load.ItemCount - 1,
			"take_home_minutes": load.TakeHomeMinutes - takeHomeMinutes(before), "updated_at": now}).Error; err != nil {
			return err
		}
		out = HomeworkSaved{Item: after, DayTotal: total, Cap: load.CapMinutes}
		return Audit(ctx, tx, cl.SchoolID, "withdraw", homeworkAuditEntity, id, before, after)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// BoardItem is an item as the publicity board shows it (HW-07).
type BoardItem struct {
	HomeworkItem
	SubjectName string `json:"subject"`
	TeacherName string `json:"teacher"`
}

func boardQuery(ctx context.Context, db *gorm.DB) *gorm.DB {
	return db.WithContext(ctx).Table("homework_items").
		Select("homework_items.*, subjects.name AS subject_name, users.display_name AS teacher_name").
		Joins("JOIN subjects ON subjects.id = homework_items.subject_id").
		Joins("JOIN users ON users.id = homework_items.teacher_id")
}

// ClassDayItems lists the active items of a class on a date, by subject.
func ClassDayItems(ctx context.Context, db *gorm.DB, classID int64, date string) ([]BoardItem, error) {
	var out []BoardItem
	err := boardQuery(ctx, db).Where("homework_items.class_id = ? AND homework_items.date = ? AND homework_items.status = ?", classID, date, HomeworkActive).
		Order("subjects.id, homework_items.id").Scan(&out).Error
	return out, err
}

// ClassRangeItems lists the active items of a class in [from, to].
func ClassRangeItems(ctx context.Context, db *gorm.DB, classID int64, from, to string) ([]BoardItem, error) {
	var out []BoardItem
	err := boardQuery(ctx, db).Where("homework_items.class_id = ? AND homework_items.date BETWEEN ? AND ? AND homework_items.status = ?", classID, from, to, HomeworkActive).
		Order("homework_items.date, subjects.id, homework_items.id").Scan(&out).Error
	return out, err
}

// TeacherDayItems lists what a teacher set on a date (withdrawn ones too).
func TeacherDayItems(ctx context.Context, db *gorm.DB, teacherID int64, date string) ([]BoardItem, error) {
	var out []BoardItem
	err := boardQuery(ctx, db).Where("homework_items.teacher_id = ? AND homework_items.date = ?", teacherID, date).
		Order("homework_items.class_id, homework_items.id").Scan(&out).Error
	return out, err
}

// ClassDayLoads lists the rollup rows of a class in [from, to].
func ClassDayLoads(ctx context.Context, db *gorm.DB, classID int64, from, to string) ([]ClassDayLoad, error) {
	var out []ClassDayLoad
	err := db.WithContext(ctx).Where("class_id = ? AND date BETWEEN ? AND ?", classID, from, to).Order("date").Find(&out).Error
	return out, err
}

// SchoolDayLoads lists the rollup rows of every class of a school on a date.
func SchoolDayLoads(ctx context.Context, db *gorm.DB, schoolID int64, date string) ([]ClassDayLoad, error) {
	var out []ClassDayLoad
	err := db.WithContext(ctx).Where("school_id = ? AND date = ?", schoolID, date).Find(&out).Error
	return out, err
}

// ClassQuota is a quota with its subject's name.
type ClassQuota struct {
	SubjectID int64  `json:"subject_id"`
	Subject   string `json:"subject"`
	Minutes   int    `json:"minutes"`
}

// ClassQuotas lists a class's subject quotas.
func ClassQuotas(ctx context.Context, db *gorm.DB, classID int64) ([]ClassQuota, error) {
	var out []ClassQuota
	err := db.WithContext(ctx).Table("homework_quotas").Select("homework_quotas.subject_id, subjects.name AS subject, homework_quotas.minutes").
		Joins("JOIN subjects ON subjects.id = homework_quotas.subject_id").
		Where("homework_quotas.class_id = ?", classID).Order("subjects.id").Scan(&out).Error
	return out, err
}

// SetQuotas replaces a class's subject quotas (subject name → minutes). They
// must add up to at most the class's school-day cap (HW-08).
func SetQuotas(ctx context.Context, db *gorm.DB, r *HomeworkRules, cl *Class, quotas map[string]int) ([]ClassQuota, error) {
	capv := policies.CapFor(cl.Grade, policies.SchoolDay, r.Limits)
	if qe := policies.ValidateQuotas(quotas, capv.Minutes); qe != nil {
		if qe.Total {
			return nil, RuleError("quotas_exceed_cap", qe.Rule, "homework.quotas_exceed_cap",
				map[string]any{"Sum": qe.Sum, "Cap": qe.Cap}, map[string]any{"sum_minutes": qe.Sum, "cap_minutes": qe.Cap})
		}
		return nil, Invalid("homework.bad_quota", map[string]any{"Subject": qe.Bad})
	}
	rows := make([]HomeworkQuota, 0, len(quotas))
	var by *int64
	if a, ok := ActorFrom(ctx); ok && a.UserID > 0 {
		by = &a.UserID
	}
	now := time.Now().UTC()
	for name, m := range quotas {
		s, err := SubjectByName(ctx, db, name)
		if errors.Is(err, ErrNotFound) {
			return nil, Invalid("homework.unknown_subject", map[string]any{"Value": name})
		}
		if err != nil {
			return nil, err // the database failing is a 503, not "no such subject"
		}
		rows = append(rows, HomeworkQuota{SchoolID: cl.SchoolID, ClassID: cl.ID, SubjectID: s.ID, Minutes: m, UpdatedBy: by, UpdatedAt: now})
	}
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		before, err := ClassQuotas(ctx, tx, cl.ID)
		if err != nil {
			return err
		}
		if err := tx.Where("class_id = ?", cl.ID).Delete(&HomeworkQuota{}).Error; err != nil {
			return err
		}
		if len(rows) > 0 {
			if err := tx.Create(&rows).Error; err != nil {
				return err
			}
		}
		return Audit(ctx, tx, cl.SchoolID, "update", "homework_quotas", cl.ID, before, quotas)
	})
	if err != nil {
		return nil, err
	}
	return ClassQuotas(ctx, db, cl.ID)
}

// FeedbackInput is a guardian's report: for one item (ItemID) or for the
// student's whole day (Date).
type FeedbackInput struct {
	StudentID        int64
	ItemID           int64 // 0: the whole day
	Date             string
	ActualMinutes    int
	StoppedAtBedtime bool
	// HW-15: "this was really written homework", "it took longer than the
	// estimate" (also true when the actual minutes exceed the estimate).
	ReallyWritten bool
	TookLonger    bool
	Today         string // the school's today: no reports on future days
}

// SaveFeedback stores a guardian's report, replacing the student's earlier
// report for the same item or day (a day report replaces that day's item
// reports and the other way round), and keeps the class-day rollup's
// feedback sums in the same transaction.
func SaveFeedback(ctx context.Context, db *gorm.DB, guardianID int64, cl *Class, in FeedbackInput) (*HomeworkFeedback, error) {
	if in.ActualMinutes < 0 || in.ActualMinutes > MaxFeedbackMinutes {
		return nil, Invalid("feedback.bad_minutes", map[string]any{"Max": MaxFeedbackMinutes})
	}
	if in.ItemID != 0 {
		it, err := GetHomework(ctx, db, in.ItemID)
		if err != nil {
			return nil, err
		}
		if it.ClassID != cl.ID || it.Status != HomeworkActive {
			return nil, ErrNotFound
		}
		in.Date = it.Date
	}
	if _, err := time.Parse(DateLayout, in.Date); err != nil {
		return nil, Invalid("error.bad_date", map[string]any{"Value": in.Date})
	}
	if in.Today != "" && in.Date > in.Today {
		return nil, Invalid("feedback.future_day", nil)
	}
	fb := HomeworkFeedback{SchoolID: cl.SchoolID, ClassID: cl.ID, StudentID: in.StudentID, GuardianID: guardianID,
		Date: in.Date, ActualMinutes: in.ActualMinutes, StoppedAtBedtime: in.StoppedAtBedtime, ReallyWritten: in.ReallyWritten}
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		load, err := LockClassDay(ctx, tx, cl, in.Date, 0)
		if err != nil {
			return err
		}
		if in.ItemID != 0 {
			var it HomeworkItem
			if err := tx.Take(&it, in.ItemID).Error; err != nil {
				return NotFoundIf(err)
			}
			fb.ItemID, fb.EstimatedMinutes = &it.ID, it.Minutes
		} else {
			var est int
			if err := tx.Model(&HomeworkItem{}).Select("COALESCE(SUM(minutes), 0)").
				Where("class_id = ? AND date = ? AND status = ? AND in_school = ?", cl.ID, in.Date, HomeworkActive, false).Scan(&est).Error; err != nil {
				return err
			}
			if est == 0 {
				return Invalid("feedback.no_homework", nil)
			}
			fb.EstimatedMinutes = est
		}
		fb.TookLonger = in.TookLonger || fb.ActualMinutes > fb.EstimatedMinutes
		// The reports this one replaces.
		var old []HomeworkFeedback
		q := tx.Where("student_id = ? AND date = ?", in.StudentID, in.Date)
		if in.ItemID != 0 {
			q = q.Where("item_id IS NULL OR item_id = ?", in.ItemID)
		}
		if err := q.Find(&old).Error; err != nil {
			return err
		}
		count, actual, est, stops := load.FeedbackCount, load.FeedbackActualMinutes, load.FeedbackEstimatedMinutes, load.BedtimeStops
		written, longer := load.ReportedWritten, load.ReportedLonger
		for _, o := range old {
			count, actual, est, stops = count-1, actual-o.ActualMinutes, est-o.EstimatedMinutes, stops-b2i(o.StoppedAtBedtime)
			written, longer = written-b2i(o.ReallyWritten), longer-b2i(o.TookLonger)
			if err := tx.Delete(&HomeworkFeedback{}, o.ID).Error; err != nil {
				return err
			}
			if err := Audit(ctx, tx, cl.SchoolID, "replace", "homework_feedback", o.ID, o, nil); err != nil {
				return err
			}
		}
		now := time.Now().UTC()
		fb.CreatedAt, fb.UpdatedAt = now, now
		if err := tx.Create(&fb).Error; err != nil {
			return NotFoundIf(err)
		}
		count, actual, est, stops = count+1, actual+fb.ActualMinutes, est+fb.EstimatedMinutes, stops+b2i(fb.StoppedAtBedtime)
		written, longer = written+b2i(fb.ReallyWritten), longer+b2i(fb.TookLonger)
		// The reporting students of the class-day: the reported evening is
		// their reported minutes ÷ their number.
		var students int64
		if err := tx.Model(&HomeworkFeedback{}).Where("class_id = ? AND date = ?", cl.ID, in.Date).
			Distinct("student_id").Count(&students).Error; err != nil {
			return err
		}
		if err := tx.Model(&ClassDayLoad{}).Where("id = ?", load.ID).Updates(map[string]any{
			"feedback_count": count, "feedback_actual_minutes": actual, "feedback_estimated_minutes": est,
			"bedtime_stops": stops, "reported_written": written, "reported_longer": longer,
			"feedback_students": students, "updated_at": now}).Error; err != nil {
			return err
		}
		return Audit(ctx, tx, cl.SchoolID, "create", "homework_feedback", fb.ID, nil, fb)
	})
	if err != nil {
		return nil, err
	}
	return &fb, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// EstimateRow is one teacher's subject: the minutes the teacher estimated
// for the items guardians reported on, the minutes they reported, and how
// many said "really written" or "took longer" (HW-15).
type EstimateRow struct {
	TeacherID   int64   `json:"teacher_id"`
	TeacherName string  `json:"teacher"`
	Subject     string  `json:"subject"`
	Reports     int     `json:"reports"`
	Estimated   int     `json:"estimated_minutes"`
	Actual      int     `json:"actual_minutes"`
	Written     int     `json:"really_written"`
	Longer      int     `json:"took_longer"`
	Ratio       float64 `json:"ratio"`
}

// EstimateReality compares estimates with guardians' item reports per
// teacher and subject over [from, to] for a school, or one class of it
// (classID 0: every class). Shown to the head teacher and school leaders,
// never to other parents. Largest gap first.
func EstimateReality(ctx context.Context, db *gorm.DB, schoolID, classID int64, from, to string) ([]EstimateRow, error) {
	q := db.WithContext(ctx).Table("homework_feedbacks f").
		Select(`i.teacher_id, u.display_name AS teacher_name, s.name AS subject, COUNT(*) AS reports,
			SUM(f.estimated_minutes) AS estimated, SUM(f.actual_minutes) AS actual,
			SUM(CASE WHEN f.really_written THEN 1 ELSE 0 END) AS written, SUM(CASE WHEN f.took_longer THEN 1 ELSE 0 END) AS longer`).
		Joins("JOIN homework_items i ON i.id = f.item_id").
		Joins("JOIN users u ON u.id = i.teacher_id").
		Joins("JOIN subjects s ON s.id = i.subject_id").
		Where("f.school_id = ? AND f.date BETWEEN ? AND ?", schoolID, from, to).
		Group("i.teacher_id, u.display_name, s.name")
	if classID != 0 {
		q = q.Where("f.class_id = ?", classID)
	}
	var out []EstimateRow
	if err := q.Scan(&out).Error; err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Ratio = round4(policies.GapRatio(out[i].Actual, out[i].Estimated))
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Ratio != out[b].Ratio {
			return out[a].Ratio > out[b].Ratio
		}
		return out[a].TeacherName+out[a].Subject < out[b].TeacherName+out[b].Subject
	})
	return out, nil
}

// StudentFeedback lists a student's reports on a date.
func StudentFeedback(ctx context.Context, db *gorm.DB, studentID int64, date string) ([]HomeworkFeedback, error) {
	var out []HomeworkFeedback
	err := db.WithContext(ctx).Where("student_id = ? AND date = ?", studentID, date).Order("id").Find(&out).Error
	return out, err
}

// Homework indicator keys (group "homework"). Compliance is read from what
// guardians report, not from the counted total: a save over the cap is
// refused, so the counted total is within the cap by construction.
const (
	IndHWClassDays          = "hw.class_days"
	IndHWReportedClassDays  = "hw.reported_class_days"
	IndHWUnreportedDays     = "hw.unreported_class_days"
	IndHWDaysWithinCapPct   = "hw.days_within_cap_pct"
	IndHWClassDaysG12       = "hw.class_days_g1_2"
	IndHWClassDaysG36       = "hw.class_days_g3_6"
	IndHWClassDaysG79       = "hw.class_days_g7_9"
	IndHWAvgMinutesG36      = "hw.avg_minutes_g3_6"
	IndHWAvgMinutesG79      = "hw.avg_minutes_g7_9"
	IndHWTakeHomeG12        = "hw.avg_take_home_g1_2"
	IndHWTakeHomeG36        = "hw.avg_take_home_g3_6"
	IndHWTakeHomeG79        = "hw.avg_take_home_g7_9"
	IndHWRefusedSaves       = "hw.refused_saves"
	IndHWFeedbackGapRatio   = "hw.feedback_gap_ratio"
	IndHWBedtimeStopPct     = "hw.bedtime_stop_pct"
	IndHWFeedbackCount      = "hw.feedback_count"
	IndHWReportedWritten    = "hw.reported_written"
	IndHWReportedWrittenPct = "hw.reported_written_pct"
	IndHWReportedLongerPct  = "hw.reported_longer_pct"
)

// Homework indicators for the bureau (models.RegisterIndicators).
func init() {
	RegisterIndicators(IndicatorSource{
		Group: "homework",
		Defs: []IndicatorDef{
			{Key: IndHWClassDays, MsgID: "indicator.hw.class_days", Unit: "count", Agg: AggSum, Rule: policies.RuleHW07},
			{Key: IndHWReportedClassDays, MsgID: "indicator.hw.reported_class_days", Unit: "count", Agg: AggSum, Rule: policies.RuleHW15, HigherIsBetter: true},
			{Key: IndHWUnreportedDays, MsgID: "indicator.hw.unreported_class_days", Unit: "count", Agg: AggSum, Rule: policies.RuleHW15},
			{Key: IndHWDaysWithinCapPct, MsgID: "indicator.hw.days_within_cap_pct", Unit: "pct", HigherIsBetter: true, Agg: AggShare, WeightKey: IndHWReportedClassDays, Rule: "HW-02/03"},
			{Key: IndHWClassDaysG12, MsgID: "indicator.hw.class_days_g1_2", Unit: "count", Agg: AggSum, Rule: policies.RuleHW01},
			{Key: IndHWClassDaysG36, MsgID: "indicator.hw.class_days_g3_6", Unit: "count", Agg: AggSum, Rule: policies.RuleHW02},
			{Key: IndHWClassDaysG79, MsgID: "indicator.hw.class_days_g7_9", Unit: "count", Agg: AggSum, Rule: policies.RuleHW03},
			{Key: IndHWAvgMinutesG36, MsgID: "indicator.hw.avg_minutes_g3_6", Unit: "minutes", Agg: AggMean, WeightKey: IndHWClassDaysG36, Rule: policies.RuleHW02},
			{Key: IndHWAvgMinutesG79, MsgID: "indicator.hw.avg_minutes_g7_9", Unit: "minutes", Agg: AggMean, WeightKey: IndHWClassDaysG79, Rule: policies.RuleHW03},
			{Key: IndHWTakeHomeG12, MsgID: "indicator.hw.avg_take_home_g1_2", Unit: "minutes", Agg: AggMean, WeightKey: IndHWClassDaysG12, Rule: policies.RuleHW15},
			{Key: IndHWTakeHomeG36, MsgID: "indicator.hw.avg_take_home_g3_6", Unit: "minutes", Agg: AggMean, WeightKey: IndHWClassDaysG36, Rule: policies.RuleHW15},
			{Key: IndHWTakeHomeG79, MsgID: "indicator.hw.avg_take_home_g7_9", Unit: "minutes", Agg: AggMean, WeightKey: IndHWClassDaysG79, Rule: policies.RuleHW15},
			{Key: IndHWRefusedSaves, MsgID: "indicator.hw.refused_saves", Unit: "count", Agg: AggSum, Rule: "HW-02/03"},
			{Key: IndHWFeedbackGapRatio, MsgID: "indicator.hw.feedback_gap_ratio", Unit: "ratio", Agg: AggMean, WeightKey: IndHWFeedbackCount, Rule: policies.RuleHW15},
			{Key: IndHWBedtimeStopPct, MsgID: "indicator.hw.bedtime_stop_pct", Unit: "pct", Agg: AggShare, WeightKey: IndHWFeedbackCount, Rule: policies.RuleHW11},
			{Key: IndHWFeedbackCount, MsgID: "indicator.hw.feedback_count", Unit: "count", Agg: AggSum, HigherIsBetter: true, Rule: policies.RuleHW15},
			{Key: IndHWReportedWritten, MsgID: "indicator.hw.reported_written", Unit: "count", Agg: AggSum, Rule: policies.RuleHW15},
			{Key: IndHWReportedWrittenPct, MsgID: "indicator.hw.reported_written_pct", Unit: "pct", Agg: AggShare, WeightKey: IndHWFeedbackCount, Rule: policies.RuleHW15},
			{Key: IndHWReportedLongerPct, MsgID: "indicator.hw.reported_longer_pct", Unit: "pct", Agg: AggShare, WeightKey: IndHWFeedbackCount, Rule: policies.RuleHW15},
		},
		Tables:  []string{"class_day_loads"},
		Compute: homeworkIndicators,
	})
}

// reportedLimitSQL is the limit a class-day's reported evening is held to:
// the all-kinds take-home budget when one is set, else the counted cap (0
// for grades 1–2 without a budget: no number to compare, left out).
const reportedLimitSQL = "(CASE WHEN budget_minutes > 0 THEN budget_minutes ELSE cap_minutes END)"

// reportedOverSQL is true for a class-day whose reported evening (the
// reporting students' minutes ÷ their number) is over its limit.
const reportedOverSQL = "feedback_students > 0 AND " + reportedLimitSQL + " > 0 AND feedback_actual_minutes > " + reportedLimitSQL + " * feedback_students"

// homeworkIndicators computes the homework indicators of many schools from
// class_day_loads in one grouped query. A class-day is a row with homework
// on it. A value without a denominator (no class-days of a band, no
// reports) is left out, so a school without the band is absent from the
// region's average rather than a zero in it.
func homeworkIndicators(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string) (map[int64]map[string]float64, error) {
	var rows []struct {
		SchoolID                    int64
		ClassDays                   int64
		Reported, ReportedWithin    int64
		G12Days, G12TakeHome        int64
		G36Days, G36Minutes         int64
		G36TakeHome                 int64
		G79Days, G79Minutes         int64
		G79TakeHome                 int64
		Refused, Feedback           int64
		FbActual, FbEstimated       int64
		BedtimeStops                int64
		ReportedWritten, ReportedLg int64
	}
	out := map[int64]map[string]float64{}
	if len(schoolIDs) == 0 {
		return out, nil
	}
	err := db.WithContext(ctx).Table("class_day_loads").Select(`school_id,
		SUM(CASE WHEN item_count > 0 THEN 1 ELSE 0 END) AS class_days,
		SUM(CASE WHEN item_count > 0 AND feedback_students > 0 AND `+reportedLimitSQL+` > 0 THEN 1 ELSE 0 END) AS reported,
		SUM(CASE WHEN item_count > 0 AND feedback_students > 0 AND `+reportedLimitSQL+` > 0 AND NOT (`+reportedOverSQL+`) THEN 1 ELSE 0 END) AS reported_within,
		SUM(CASE WHEN item_count > 0 AND grade <= 2 THEN 1 ELSE 0 END) AS g12_days,
		SUM(CASE WHEN item_count > 0 AND grade <= 2 THEN take_home_minutes ELSE 0 END) AS g12_take_home,
		SUM(CASE WHEN item_count > 0 AND grade BETWEEN 3 AND 6 THEN 1 ELSE 0 END) AS g36_days,
		SUM(CASE WHEN item_count > 0 AND grade BETWEEN 3 AND 6 THEN total_minutes ELSE 0 END) AS g36_minutes,
		SUM(CASE WHEN item_count > 0 AND grade BETWEEN 3 AND 6 THEN take_home_minutes ELSE 0 END) AS g36_take_home,
		SUM(CASE WHEN item_count > 0 AND grade BETWEEN 7 AND 9 THEN 1 ELSE 0 END) AS g79_days,
		SUM(CASE WHEN item_count > 0 AND grade BETWEEN 7 AND 9 THEN total_minutes ELSE 0 END) AS g79_minutes,
		SUM(CASE WHEN item_count > 0 AND grade BETWEEN 7 AND 9 THEN take_home_minutes ELSE 0 END) AS g79_take_home,
		SUM(refused_count) AS refused,
		SUM(feedback_count) AS feedback,
		SUM(feedback_actual_minutes) AS fb_actual,
		SUM(feedback_estimated_minutes) AS fb_estimated,
		SUM(bedtime_stops) AS bedtime_stops,
		SUM(reported_written) AS reported_written,
		SUM(reported_longer) AS reported_lg`).
		Where("school_id IN ? AND date BETWEEN ? AND ?", schoolIDs, from, to).Group("school_id").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		m := map[string]float64{
			IndHWClassDays:         float64(r.ClassDays),
			IndHWReportedClassDays: float64(r.Reported),
			IndHWUnreportedDays:    float64(r.ClassDays - r.Reported),
			IndHWRefusedSaves:      float64(r.Refused),
			IndHWFeedbackCount:     float64(r.Feedback),
			IndHWReportedWritten:   float64(r.ReportedWritten),
		}
		ratio := func(key string, a, b int64) {
			if b > 0 {
				m[key] = float64(a) / float64(b)
			}
		}
		ratio(IndHWDaysWithinCapPct, r.ReportedWithin, r.Reported)
		if r.G12Days > 0 {
			m[IndHWClassDaysG12] = float64(r.G12Days)
			ratio(IndHWTakeHomeG12, r.G12TakeHome, r.G12Days)
		}
		if r.G36Days > 0 {
			m[IndHWClassDaysG36] = float64(r.G36Days)
			ratio(IndHWAvgMinutesG36, r.G36Minutes, r.G36Days)
			ratio(IndHWTakeHomeG36, r.G36TakeHome, r.G36Days)
		}
		if r.G79Days > 0 {
			m[IndHWClassDaysG79] = float64(r.G79Days)
			ratio(IndHWAvgMinutesG79, r.G79Minutes, r.G79Days)
			ratio(IndHWTakeHomeG79, r.G79TakeHome, r.G79Days)
		}
		ratio(IndHWFeedbackGapRatio, r.FbActual, r.FbEstimated)
		ratio(IndHWBedtimeStopPct, r.BedtimeStops, r.Feedback)
		ratio(IndHWReportedWrittenPct, r.ReportedWritten, r.Feedback)
		ratio(IndHWReportedLongerPct, r.ReportedLg, r.Feedback)
		out[r.SchoolID] = m
	}
	return out, nil
}

// TableName names the table of HomeworkItem.
func (HomeworkItem) TableName() string { return "homework_items" }

// TableName names the table of HomeworkQuota.
func (HomeworkQuota) TableName() string { return "homework_quotas" }

// TableName names the table of HomeworkFeedback.
func (HomeworkFeedback) TableName() string { return "homework_feedbacks" }

// TableName names the rollup table (the bureau reads it by this name).
func (ClassDayLoad) TableName() string { return "class_day_loads" }

// TeachesSubjectIn reports whether the teacher teaches the subject in the class.
func TeachesSubjectIn(ctx context.Context, db *gorm.DB, teacherID, classID, subjectID int64) (bool, error) {
	var n int64
	err := db.WithContext(ctx).Model(&TeachingAssignment{}).
		Where("teacher_id = ? AND class_id = ? AND subject_id = ?", teacherID, classID, subjectID).Count(&n).Error
	return n > 0, err
}

// TaughtSubject is a subject a teacher teaches in a class.
type TaughtSubject struct {
	ClassID   int64
	SubjectID int64
	Subject   string
}

// SubjectsTaughtBy lists the (class, subject) pairs a teacher teaches.
func SubjectsTaughtBy(ctx context.Context, db *gorm.DB, teacherID int64) ([]TaughtSubject, error) {
	var out []TaughtSubject
	err := db.WithContext(ctx).Table("teaching_assignments").
		Select("teaching_assignments.class_id, teaching_assignments.subject_id, subjects.name AS subject").
		Joins("JOIN subjects ON subjects.id = teaching_assignments.subject_id").
		Where("teaching_assignments.teacher_id = ?", teacherID).Order("teaching_assignments.class_id, subjects.id").Scan(&out).Error
	return out, err
}

// SubjectsOfClass lists the subjects taught in a class.
func SubjectsOfClass(ctx context.Context, db *gorm.DB, classID int64) ([]Subject, error) {
	var out []Subject
	err := db.WithContext(ctx).Where("id IN (?)", db.Model(&TeachingAssignment{}).Select("subject_id").Where("class_id = ?", classID)).
		Order("id").Find(&out).Error
	return out, err
}
