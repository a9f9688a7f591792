package models

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"jianfu/policies"
)

func init() {
	All = append(All, &ExamEvent{}, &ExamPaper{}, &ExamItem{}, &ExamResult{}, &ExamRefusal{}, &ExamDayStat{}, &CalendarToken{})
}

// Exam statuses: draft → submitted → approved (principal) → published;
// withdrawn (with a reason) from any of them.
const (
	ExamDraft     = "draft"
	ExamSubmitted = "submitted"
	ExamApproved  = "approved"
	ExamPublished = "published"
	ExamWithdrawn = "withdrawn"
)

// Settings keys of the exam area (scope chain school → regions → *).
const (
	SettingExamRules  = "exams.rules"  // policies.ExamRules
	SettingPaperRules = "exams.paper"  // policies.PaperRules (school convention, PRACTICE)
	SettingExamLevels = "exams.levels" // []policies.LevelCut (EX-06: 4 or 5 levels)
)

// ExamEvent is one exam on a school's term calendar, for one or more grades.
type ExamEvent struct {
	ID              int64     `gorm:"primaryKey" json:"id"`
	SchoolID        int64     `json:"school_id"`
	TermID          int64     `json:"term_id"`
	SubjectID       int64     `json:"subject_id"`
	Grades          string    `json:"-"` // comma list "7,8"
	Kind            string    `json:"kind"`
	PaperBased      bool      `json:"paper_based"`
	Date            string    `json:"date"`
	StartTime       string    `json:"start"`
	DurationMinutes int       `json:"duration_minutes"`
	Organiser       string    `json:"organiser"`
	Status          string    `json:"status"`
	WithdrawReason  string    `json:"withdraw_reason"`
	CreatedBy       *int64    `json:"-"`
	ApprovedBy      *int64    `json:"-"`
	CreatedAt       time.Time `json:"-"`
	UpdatedAt       time.Time `json:"-"`
}

// GradeList is the grades of the exam.
func (e ExamEvent) GradeList() []int {
	var out []int
	for _, s := range strings.Split(e.Grades, ",") {
		if g, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			out = append(out, g)
		}
	}
	return out
}

func gradesText(gs []int) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = strconv.Itoa(g)
	}
	return strings.Join(parts, ",")
}

// ExamPaper is the summary of an exam's paper (its items are ExamItem rows).
type ExamPaper struct {
	ID         int64     `gorm:"primaryKey" json:"id"`
	SchoolID   int64     `json:"school_id"`
	ExamID     int64     `json:"exam_id"`
	FullMarks  float64   `json:"full_marks"`
	PredictedP float64   `json:"predicted_p"`
	OK         bool      `gorm:"column:ok" json:"ok"`
	Blocked    bool      `json:"blocked"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ExamItem is one item of a paper.
type ExamItem struct {
	ID             int64    `gorm:"primaryKey" json:"-"`
	SchoolID       int64    `json:"-"`
	ExamID         int64    `json:"-"`
	Number         int      `json:"number"`
	Points         float64  `json:"points"`
	Difficulty     string   `json:"difficulty"`
	ExpectedP      *float64 `json:"expected_p,omitempty"`
	Cognitive      string   `json:"cognitive"`
	RealLife       bool     `json:"real_life"`
	WithinStandard bool     `json:"within_standard"`
}

// PaperItem is the item as the rules see it.
func (it ExamItem) PaperItem() policies.PaperItem {
	return policies.PaperItem{Points: it.Points, Difficulty: it.Difficulty, ExpectedP: it.ExpectedP, Cognitive: it.Cognitive,
		RealLife: it.RealLife, WithinStandard: it.WithinStandard}
}

// ExamResult is one student's result: item scores (staff only) and the level
// students and guardians see (EX-06).
type ExamResult struct {
	ID        int64     `gorm:"primaryKey"`
	SchoolID  int64     `json:"-"`
	ExamID    int64     `json:"-"`
	StudentID int64     `json:"student_id"`
	Scores    string    `json:"-"` // JSON array of item scores
	Total     float64   `json:"-"`
	Level     string    `json:"level"`
	CreatedAt time.Time `json:"-"`
}

// ExamRefusal counts refused exam attempts per school, day and rule: the
// bureau sees what schools tried and which rule said no.
type ExamRefusal struct {
	ID       int64 `gorm:"primaryKey"`
	SchoolID int64
	Date     string
	Rule     string
	Attempts int
}

// ExamDayStat is the maintained rollup of a school's exams on one date.
type ExamDayStat struct {
	ID            int64 `gorm:"primaryKey"`
	SchoolID      int64
	Date          string
	EventsTotal   int
	EventsPaper   int
	PapersChecked int
	PapersPassing int
	PapersBlocked int
}

// CalendarToken lets a phone calendar fetch a user's exam feed without a
// bearer header; only the token's hash is stored.
type CalendarToken struct {
	ID        int64 `gorm:"primaryKey"`
	UserID    int64
	TokenHash string
	CreatedAt time.Time
}

// ExamInput is what a user asks for when creating or editing an exam.
type ExamInput struct {
	Grades          []int
	Subject         string // Chinese name or code
	Kind            string
	PaperBased      bool
	Date            string
	Start           string
	DurationMinutes int
	Organiser       string
}

// ExamRules are the legality settings of a school.
func ExamRules(ctx context.Context, db *gorm.DB, school *School) (policies.ExamRules, error) {
	r := policies.DefaultExamRules()
	scopes, err := schoolScopes(ctx, db, school)
	if err != nil {
		return r, err
	}
	_, err = LookupSetting(ctx, db, scopes, SettingExamRules, &r)
	return r.WithDefaults(), err
}

// PaperRules are the paper conventions of a school.
func PaperRules(ctx context.Context, db *gorm.DB, school *School) (policies.PaperRules, error) {
	r := policies.DefaultPaperRules()
	scopes, err := schoolScopes(ctx, db, school)
	if err != nil {
		return r, err
	}
	_, err = LookupSetting(ctx, db, scopes, SettingPaperRules, &r)
	if r.BandP == nil {
		r.BandP = policies.DefaultPaperRules().BandP
	}
	return r, err
}

// ExamLevels are a school's result levels (EX-06); invalid settings fall back
// to the defaults.
func ExamLevels(ctx context.Context, db *gorm.DB, school *School) ([]policies.LevelCut, error) {
	cuts := policies.DefaultLevels()
	scopes, err := schoolScopes(ctx, db, school)
	if err != nil {
		return cuts, err
	}
	var set []policies.LevelCut
	if sc, err := LookupSetting(ctx, db, scopes, SettingExamLevels, &set); err != nil {
		return cuts, err
	} else if sc != "" && policies.ValidLevels(set) {
		cuts = set
	}
	return cuts, nil
}

func schoolScopes(ctx context.Context, db *gorm.DB, school *School) ([]string, error) {
	path, err := RegionPath(ctx, db, school.RegionCode)
	if err != nil {
		return nil, err
	}
	return policies.DomainChain(school.ID, path), nil
}

func validateExamInput(in *ExamInput) error {
	if !slices.Contains(policies.ExamKinds, in.Kind) {
		return Invalid("exams.bad_kind", map[string]any{"Value": in.Kind})
	}
	if in.Kind == policies.ExamNonPaper {
		in.PaperBased = false
	}
	if in.Organiser == "" {
		in.Organiser = policies.OrganiserSchool
	}
	if in.Organiser != policies.OrganiserSchool && in.Organiser != policies.OrganiserRegion {
		return Invalid("exams.bad_organiser", map[string]any{"Value": in.Organiser})
	}
	if len(in.Grades) == 0 {
		return Invalid("exams.no_grades", nil)
	}
	for _, g := range in.Grades {
		if g < 1 || g > 9 {
			return Invalid("exams.bad_grade", map[string]any{"Value": g})
		}
	}
	slices.Sort(in.Grades)
	in.Grades = slices.Compact(in.Grades)
	if _, err := time.Parse(DateLayout, in.Date); err != nil {
		return Invalid("error.bad_date", map[string]any{"Value": in.Date})
	}
	if in.DurationMinutes < 0 || in.DurationMinutes > 300 {
		return Invalid("exams.bad_duration", nil)
	}
	return nil
}

// planOf is the rules' view of an exam.
func planOf(e ExamEvent, subject string) policies.ExamPlan {
	return policies.ExamPlan{ID: e.ID, Grades: e.GradeList(), Subject: subject, Kind: e.Kind, PaperBased: e.PaperBased,
		Date: e.Date, DurationMinutes: e.DurationMinutes, Organiser: e.Organiser}
}

// termFor is the school's term of date (for a date outside every term, the
// current one, so that CAL-02 answers).
func termFor(ctx context.Context, tx *gorm.DB, schoolID int64, date string) (*Term, error) {
	var t Term
	err := tx.WithContext(ctx).Where("school_id = ? AND start_date <= ? AND end_date >= ?", schoolID, date, date).First(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return CurrentTerm(ctx, tx, schoolID, date)
	}
	return &t, err
}

// checkLegality runs the legality rules for e against the rest of its term,
// locking the term row on PostgreSQL so two concurrent writes of the same
// term are checked one after the other.
func checkLegality(ctx context.Context, tx *gorm.DB, school *School, e ExamEvent, subject string) ([]policies.Violation, error) {
	var term Term
	q := tx.WithContext(ctx)
	if DialectOf(tx) == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.First(&term, e.TermID).Error; err != nil {
		return nil, err
	}
	rules, err := ExamRules(ctx, tx, school)
	if err != nil {
		return nil, err
	}
	open, err := IsSchoolDay(ctx, tx, school.ID, e.Date)
	if err != nil {
		return nil, err
	}
	others, err := liveExams(ctx, tx, school.ID, term.ID)
	if err != nil {
		return nil, err
	}
	cal := policies.ExamCalendar{TermStart: term.StartDate, TermEnd: term.EndDate, Semester: term.Semester, NoSchool: !open}
	for _, o := range others {
		cal.Others = append(cal.Others, planOf(o.ExamEvent, o.Subject))
	}
	return policies.CheckExam(planOf(e, subject), cal, rules), nil
}

// ExamRow is an exam with its subject's name.
type ExamRow struct {
	ExamEvent
	Subject string
}

func liveExams(ctx context.Context, db *gorm.DB, schoolID, termID int64) ([]ExamRow, error) {
	var out []ExamRow
	err := db.WithContext(ctx).Table("exam_events").Select("exam_events.*, subjects.name AS subject").
		Joins("JOIN subjects ON subjects.id = exam_events.subject_id").
		Where("exam_events.school_id = ? AND exam_events.term_id = ? AND exam_events.status <> ?", schoolID, termID, ExamWithdrawn).
		Order("exam_events.date, exam_events.start_time, exam_events.id").Scan(&out).Error
	return out, err
}

// ErrExamNotAllowed builds the 422 of a refused exam: the first violation
// names the rule; details list them all.
func ErrExamNotAllowed(vs []policies.Violation) *Error {
	v := vs[0]
	params := map[string]any{}
	for k, x := range v.Params {
		params[k] = x
	}
	return RuleError("exam_not_allowed", v.Rule, v.MsgID, params, map[string]any{"violations": vs})
}

// RecordRefusals counts a refused attempt under each rule that refused it
// (in its own transaction: the refused write itself rolled back).
func RecordRefusals(ctx context.Context, db *gorm.DB, schoolID int64, date string, vs []policies.Violation) error {
	seen := map[string]bool{}
	return Tx(ctx, db, func(tx *gorm.DB) error {
		for _, v := range vs {
			if seen[v.Rule] {
				continue
			}
			seen[v.Rule] = true
			row := ExamRefusal{SchoolID: schoolID, Date: date, Rule: v.Rule, Attempts: 1}
			if err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "school_id"}, {Name: "date"}, {Name: "rule"}},
				DoUpdates: clause.Assignments(map[string]any{"attempts": gorm.Expr("exam_refusals.attempts + 1")}),
			}).Create(&row).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// legalityGuard runs the legality check inside a write's transaction and
// keeps a refusal, so it can be counted for the bureau after the refused
// write has rolled back.
type legalityGuard struct{ refused []policies.Violation }

func (g *legalityGuard) check(ctx context.Context, tx *gorm.DB, school *School, e ExamEvent, subject string) error {
	vs, err := checkLegality(ctx, tx, school, e, subject)
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		g.refused = vs
		return ErrExamNotAllowed(vs)
	}
	return nil
}

// record counts the refusal, if there was one (today is the school's date
// of the attempt).
func (g *legalityGuard) record(ctx context.Context, db *gorm.DB, schoolID int64, today string) error {
	if g.refused == nil {
		return nil
	}
	return RecordRefusals(ctx, db, schoolID, today, g.refused)
}

// CreateExam schedules an exam as a draft after the legality check. A refusal
// is a 422 exam_not_allowed and is counted by rule for the bureau (today is
// the school's date of the attempt).
func CreateExam(ctx context.Context, db *gorm.DB, school *School, in ExamInput, today string) (*ExamEvent, error) {
	if err := validateExamInput(&in); err != nil {
		return nil, err
	}
	subj, err := SubjectByName(ctx, db, in.Subject)
	if err != nil {
		return nil, Invalid("exams.bad_subject", map[string]any{"Value": in.Subject})
	}
	var e ExamEvent
	var guard legalityGuard
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		term, err := termFor(ctx, tx, school.ID, in.Date)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		e = ExamEvent{SchoolID: school.ID, TermID: term.ID, SubjectID: subj.ID, Grades: gradesText(in.Grades), Kind: in.Kind,
			PaperBased: in.PaperBased, Date: in.Date, StartTime: in.Start, DurationMinutes: in.DurationMinutes,
			Organiser: in.Organiser, Status: ExamDraft, CreatedAt: now, UpdatedAt: now}
		if a, ok := ActorFrom(ctx); ok && a.UserID > 0 {
			e.CreatedBy = &a.UserID
		}
		if err := guard.check(ctx, tx, school, e, subj.Name); err != nil {
			return err
		}
		if err := tx.Create(&e).Error; err != nil {
			return err
		}
		if err := refreshDayStats(ctx, tx, school.ID, e.Date); err != nil {
			return err
		}
		return Audit(ctx, tx, school.ID, "create", "exam", e.ID, nil, e)
	})
	if rerr := guard.record(ctx, db, school.ID, today); rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// GetExam loads an exam with its subject name.
func GetExam(ctx context.Context, db *gorm.DB, id int64) (*ExamRow, error) {
	var out []ExamRow
	err := db.WithContext(ctx).Table("exam_events").Select("exam_events.*, subjects.name AS subject").
		Joins("JOIN subjects ON subjects.id = exam_events.subject_id").Where("exam_events.id = ?", id).Limit(1).Scan(&out).Error
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return &out[0], nil
}

// ExamSchoolID is the school of an exam (for route scopes).
func ExamSchoolID(ctx context.Context, db *gorm.DB, id int64) (int64, error) {
	var e ExamEvent
	if err := db.WithContext(ctx).Select("id, school_id").First(&e, id).Error; err != nil {
		return 0, NotFoundIf(err)
	}
	return e.SchoolID, nil
}

// UpdateExam changes a draft or submitted exam (it goes back to draft) after
// the legality check.
func UpdateExam(ctx context.Context, db *gorm.DB, school *School, id int64, in ExamInput, today string) (*ExamEvent, error) {
	if err := validateExamInput(&in); err != nil {
		return nil, err
	}
	subj, err := SubjectByName(ctx, db, in.Subject)
	if err != nil {
		return nil, Invalid("exams.bad_subject", map[string]any{"Value": in.Subject})
	}
	var e ExamEvent
	var guard legalityGuard
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Where("school_id = ?", school.ID).First(&e, id).Error; err != nil {
			return NotFoundIf(err)
		}
		if e.Status != ExamDraft && e.Status != ExamSubmitted {
			return examStateError(e.Status)
		}
		before := e
		term, err := termFor(ctx, tx, school.ID, in.Date)
		if err != nil {
			return err
		}
		e.TermID, e.SubjectID, e.Grades, e.Kind, e.PaperBased = term.ID, subj.ID, gradesText(in.Grades), in.Kind, in.PaperBased
		e.Date, e.StartTime, e.DurationMinutes, e.Organiser = in.Date, in.Start, in.DurationMinutes, in.Organiser
		e.Status, e.UpdatedAt = ExamDraft, time.Now().UTC()
		if err := guard.check(ctx, tx, school, e, subj.Name); err != nil {
			return err
		}
		if err := tx.Save(&e).Error; err != nil {
			return err
		}
		for _, d := range []string{before.Date, e.Date} {
			if err := refreshDayStats(ctx, tx, school.ID, d); err != nil {
				return err
			}
		}
		return Audit(ctx, tx, school.ID, "update", "exam", e.ID, before, e)
	})
	if rerr := guard.record(ctx, db, school.ID, today); rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

func examStateError(status string) *Error {
	return &Error{Kind: KindConflict, Code: "exam_state", MsgID: "exams.bad_state", Params: map[string]any{"Status": status}}
}

// Exam actions.
const (
	ActionSubmit   = "submit"
	ActionApprove  = "approve"
	ActionPublish  = "publish"
	ActionWithdraw = "withdraw"
)

// TransitionExam moves an exam along draft → submitted → approved →
// published, or withdraws it (reason required). Approval re-checks legality
// and is refused while the paper has blocking violations (EX-09).
func TransitionExam(ctx context.Context, db *gorm.DB, school *School, id int64, action, reason, today string) (*ExamEvent, error) {
	var e ExamEvent
	var guard legalityGuard
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Where("school_id = ?", school.ID).First(&e, id).Error; err != nil {
			return NotFoundIf(err)
		}
		before := e
		switch action {
		case ActionSubmit:
			if e.Status != ExamDraft {
				return examStateError(e.Status)
			}
			e.Status = ExamSubmitted
		case ActionApprove:
			if e.Status != ExamSubmitted {
				return examStateError(e.Status)
			}
			var subj Subject
			if err := tx.First(&subj, e.SubjectID).Error; err != nil {
				return err
			}
			if err := guard.check(ctx, tx, school, e, subj.Name); err != nil {
				return err
			}
			var paper ExamPaper
			err := tx.Where("exam_id = ?", e.ID).First(&paper).Error
			if e.PaperBased {
				// A paper-based exam is approved on its paper: no paper, no
				// check of EX-09/EX-10/EX-12, so no approval.
				var items int64
				if err == nil {
					if cerr := tx.Model(&ExamItem{}).Where("exam_id = ?", e.ID).Count(&items).Error; cerr != nil {
						return cerr
					}
				}
				if (err != nil && errors.Is(err, gorm.ErrRecordNotFound)) || items == 0 {
					return RuleError("paper_required", policies.RuleEX09, "exams.paper_required", nil, nil)
				}
			}
			if err == nil && paper.Blocked {
				items, err := examItems(ctx, tx, e.ID)
				if err != nil {
					return err
				}
				rules, err := PaperRules(ctx, tx, school)
				if err != nil {
					return err
				}
				rep := policies.CheckPaper(paperItems(items), rules)
				var blocking []policies.Violation
				for _, v := range rep.Violations {
					if v.Blocking {
						blocking = append(blocking, v)
					}
				}
				if len(blocking) > 0 {
					return RuleError("paper_blocked", blocking[0].Rule, blocking[0].MsgID, blocking[0].Params,
						map[string]any{"violations": blocking})
				}
			} else if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
			e.Status = ExamApproved
			if a, ok := ActorFrom(ctx); ok && a.UserID > 0 {
				e.ApprovedBy = &a.UserID
			}
		case ActionPublish:
			if e.Status != ExamApproved {
				return examStateError(e.Status)
			}
			e.Status = ExamPublished
		case ActionWithdraw:
			if e.Status == ExamWithdrawn {
				return examStateError(e.Status)
			}
			reason = strings.TrimSpace(reason)
			if reason == "" {
				return Invalid("exams.reason_required", nil)
			}
			e.Status, e.WithdrawReason = ExamWithdrawn, reason
		default:
			return ErrNotFound
		}
		e.UpdatedAt = time.Now().UTC()
		if err := tx.Model(&ExamEvent{}).Where("id = ?", e.ID).Updates(map[string]any{
			"status": e.Status, "withdraw_reason": e.WithdrawReason, "approved_by": e.ApprovedBy, "updated_at": e.UpdatedAt}).Error; err != nil {
			return err
		}
		if err := refreshDayStats(ctx, tx, school.ID, e.Date); err != nil {
			return err
		}
		return Audit(ctx, tx, school.ID, action, "exam", e.ID, before, e)
	})
	if rerr := guard.record(ctx, db, school.ID, today); rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// ExamFilter narrows a list of exams.
type ExamFilter struct {
	TermID        int64
	PublishedOnly bool
	Grades        []int // any of these grades; empty: all
	From, To      string
}

// ExamsOfSchool lists a school's exams of a term by date (withdrawn ones
// only for staff lists, never when PublishedOnly).
func ExamsOfSchool(ctx context.Context, db *gorm.DB, schoolID int64, f ExamFilter) ([]ExamRow, error) {
	q := db.WithContext(ctx).Table("exam_events").Select("exam_events.*, subjects.name AS subject").
		Joins("JOIN subjects ON subjects.id = exam_events.subject_id").Where("exam_events.school_id = ?", schoolID)
	if f.TermID > 0 {
		q = q.Where("exam_events.term_id = ?", f.TermID)
	}
	if f.PublishedOnly {
		q = q.Where("exam_events.status = ?", ExamPublished)
	}
	if f.From != "" {
		q = q.Where("exam_events.date >= ?", f.From)
	}
	if f.To != "" {
		q = q.Where("exam_events.date <= ?", f.To)
	}
	var rows []ExamRow
	if err := q.Order("exam_events.date, exam_events.start_time, exam_events.id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(f.Grades) == 0 {
		return rows, nil
	}
	out := rows[:0]
	for _, r := range rows {
		for _, g := range r.GradeList() {
			if slices.Contains(f.Grades, g) {
				out = append(out, r)
				break
			}
		}
	}
	return out, nil
}

// PaperItemInput is one item of a paper as a user sends it.
type PaperItemInput struct {
	Points         float64
	Difficulty     string
	ExpectedP      *float64
	Cognitive      string
	RealLife       bool
	WithinStandard bool
}

func examItems(ctx context.Context, db *gorm.DB, examID int64) ([]ExamItem, error) {
	var out []ExamItem
	err := db.WithContext(ctx).Where("exam_id = ?", examID).Order("number").Find(&out).Error
	return out, err
}

func paperItems(items []ExamItem) []policies.PaperItem {
	out := make([]policies.PaperItem, len(items))
	for i, it := range items {
		out[i] = it.PaperItem()
	}
	return out
}

// PaperOf returns an exam's items and its difficulty report.
func PaperOf(ctx context.Context, db *gorm.DB, school *School, examID int64) ([]ExamItem, policies.PaperReport, error) {
	items, err := examItems(ctx, db, examID)
	if err != nil {
		return nil, policies.PaperReport{}, err
	}
	rules, err := PaperRules(ctx, db, school)
	if err != nil {
		return nil, policies.PaperReport{}, err
	}
	return items, policies.CheckPaper(paperItems(items), rules), nil
}

// SavePaper replaces an exam's paper with items and answers its difficulty
// report (EX-09/10/12). Only a paper-based exam not yet approved can change.
func SavePaper(ctx context.Context, db *gorm.DB, school *School, examID int64, in []PaperItemInput) (policies.PaperReport, error) {
	var rep policies.PaperReport
	if len(in) == 0 || len(in) > 200 {
		return rep, Invalid("exams.paper_items", nil)
	}
	items := make([]ExamItem, len(in))
	for i, x := range in {
		// Written as "not inside" so NaN (every comparison false) is refused.
		if !(x.Points > 0 && x.Points <= 200) {
			return rep, Invalid("exams.bad_points", map[string]any{"Item": i + 1})
		}
		if x.ExpectedP != nil && !(*x.ExpectedP >= 0 && *x.ExpectedP <= 1) {
			return rep, Invalid("exams.bad_expected_p", map[string]any{"Item": i + 1})
		}
		if x.ExpectedP == nil && !slices.Contains(policies.Bands, x.Difficulty) {
			return rep, Invalid("exams.bad_difficulty", map[string]any{"Item": i + 1})
		}
		if !slices.Contains(policies.CognitiveTypes, x.Cognitive) {
			return rep, Invalid("exams.bad_cognitive", map[string]any{"Item": i + 1})
		}
		items[i] = ExamItem{SchoolID: school.ID, ExamID: examID, Number: i + 1, Points: x.Points, Difficulty: x.Difficulty,
			ExpectedP: x.ExpectedP, Cognitive: x.Cognitive, RealLife: x.RealLife, WithinStandard: x.WithinStandard}
		if x.ExpectedP != nil {
			items[i].Difficulty = policies.BandOf(*x.ExpectedP)
		}
	}
	rules, err := PaperRules(ctx, db, school)
	if err != nil {
		return rep, err
	}
	rep = policies.CheckPaper(paperItems(items), rules)
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		var e ExamEvent
		if err := tx.Where("school_id = ?", school.ID).First(&e, examID).Error; err != nil {
			return NotFoundIf(err)
		}
		if !e.PaperBased {
			return Invalid("exams.not_paper_based", nil)
		}
		if e.Status != ExamDraft && e.Status != ExamSubmitted {
			return examStateError(e.Status)
		}
		var results int64
		if err := tx.Model(&ExamResult{}).Where("exam_id = ?", examID).Count(&results).Error; err != nil {
			return err
		}
		if results > 0 {
			return examStateError(e.Status)
		}
		old, err := examItems(ctx, tx, examID)
		if err != nil {
			return err
		}
		if err := tx.Where("exam_id = ?", examID).Delete(&ExamItem{}).Error; err != nil {
			return err
		}
		if err := tx.Create(&items).Error; err != nil {
			return err
		}
		paper := ExamPaper{SchoolID: school.ID, ExamID: examID, FullMarks: rep.FullMarks, PredictedP: rep.PredictedP, OK: rep.OK,
			Blocked: rep.Blocked, UpdatedAt: time.Now().UTC()}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "exam_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"full_marks", "predicted_p", "ok", "blocked", "updated_at"})}).Create(&paper).Error; err != nil {
			return err
		}
		if err := refreshDayStats(ctx, tx, school.ID, e.Date); err != nil {
			return err
		}
		return Audit(ctx, tx, school.ID, "paper", "exam", examID, old, items)
	})
	return rep, err
}

// refreshDayStats recomputes the rollup row of one school and date from that
// day's exams (a handful of rows), inside the write's transaction.
func refreshDayStats(ctx context.Context, tx *gorm.DB, schoolID int64, date string) error {
	var st ExamDayStat
	type agg struct {
		Total, Paper int
	}
	var a agg
	if err := tx.WithContext(ctx).Model(&ExamEvent{}).Select("COUNT(*) AS total, COALESCE(SUM(CASE WHEN paper_based THEN 1 ELSE 0 END), 0) AS paper").
		Where("school_id = ? AND date = ? AND status <> ?", schoolID, date, ExamWithdrawn).Scan(&a).Error; err != nil {
		return err
	}
	type pagg struct {
		Checked, Passing, Blocked int
	}
	var p pagg
	if err := tx.WithContext(ctx).Table("exam_papers").Joins("JOIN exam_events ON exam_events.id = exam_papers.exam_id").
		Select("COUNT(*) AS checked, COALESCE(SUM(CASE WHEN exam_papers.ok THEN 1 ELSE 0 END), 0) AS passing, COALESCE(SUM(CASE WHEN exam_papers.blocked THEN 1 ELSE 0 END), 0) AS blocked").
		Where("exam_events.school_id = ? AND exam_events.date = ? AND exam_events.status <> ?", schoolID, date, ExamWithdrawn).Scan(&p).Error; err != nil {
		return err
	}
	st = ExamDayStat{SchoolID: schoolID, Date: date, EventsTotal: a.Total, EventsPaper: a.Paper, PapersChecked: p.Checked,
		PapersPassing: p.Passing, PapersBlocked: p.Blocked}
	return tx.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "school_id"}, {Name: "date"}},
		DoUpdates: clause.AssignmentColumns([]string{"events_total", "events_paper", "papers_checked", "papers_passing", "papers_blocked"})}).
		Create(&st).Error
}

// resultsBatch is how many rows one statement reads or writes: far under
// SQLite's and PostgreSQL's bound variables (32766 and 65535) whatever the
// file's size, and small enough that the pure-Go SQLite driver binds them
// quickly (its cost per statement grows faster than the arguments).
const resultsBatch = 200

// ImportResults stores item scores of an exam's students and their levels
// (EX-06); see ImportResultsSheet. Rows without a Line are numbered from 1.
func ImportResults(ctx context.Context, db *gorm.DB, school *School, examID int64, rows []ResultRow) (int, error) {
	sh := ResultsSheet{Rows: rows}
	for i := range sh.Rows {
		if sh.Rows[i].Line == 0 {
			sh.Rows[i].Line = i + 1
		}
	}
	return ImportResultsSheet(ctx, db, school, examID, sh)
}

// ImportResultsSheet stores item scores of an exam's students and their
// levels (EX-06), replacing earlier results of the same students. Every row
// must name a student of the school in one of the exam's grades, once, and
// have one score per item within its points. Every bad cell is reported in
// one ResultProblemsError and then nothing is stored; otherwise all rows
// are stored in one transaction, read and written in batches the database
// accepts.
func ImportResultsSheet(ctx context.Context, db *gorm.DB, school *School, examID int64, sh ResultsSheet) (int, error) {
	rows := sh.Rows
	if len(rows) == 0 {
		return 0, Invalid("exams.results_empty", nil)
	}
	cuts, err := ExamLevels(ctx, db, school)
	if err != nil {
		return 0, err
	}
	n := 0
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		var e ExamEvent
		if err := tx.Where("school_id = ?", school.ID).First(&e, examID).Error; err != nil {
			return NotFoundIf(err)
		}
		if e.Status == ExamWithdrawn || e.Status == ExamDraft {
			return examStateError(e.Status)
		}
		items, err := examItems(ctx, tx, examID)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return Invalid("exams.results_no_paper", nil)
		}
		var full float64
		for _, it := range items {
			full += it.Points
		}
		byNo := map[string]Student{}
		for start := 0; start < len(rows); start += resultsBatch {
			end := min(start+resultsBatch, len(rows))
			nos := make([]string, 0, end-start)
			for _, r := range rows[start:end] {
				nos = append(nos, r.StudentNo)
			}
			var students []Student
			if err := tx.Where("school_id = ? AND student_no IN ?", school.ID, nos).Find(&students).Error; err != nil {
				return err
			}
			for _, s := range students {
				byNo[s.StudentNo] = s
			}
		}
		classes, err := ClassesOfSchool(ctx, tx, school.ID)
		if err != nil {
			return err
		}
		gradeOf := map[int64]int{}
		for _, c := range classes {
			gradeOf[c.ID] = c.Grade
		}
		grades := e.GradeList()
		out := make([]ExamResult, 0, len(rows))
		seen := map[int64]int{}
		problems := slices.Clone(sh.Problems)
		now := time.Now().UTC()
		for _, r := range rows {
			st, ok := byNo[r.StudentNo]
			switch {
			case r.StudentNo == "":
				problems = append(problems, newProblem(CellNoStudentNo, r.Line, 0, sh.header(0), "", "", nil))
			case !ok || !slices.Contains(grades, gradeOf[st.ClassID]):
				problems = append(problems, newProblem(CellUnknownStudent, r.Line, 0, sh.header(0), r.StudentNo, r.StudentNo, nil))
			case seen[st.ID] > 0:
				problems = append(problems, newProblem(CellRepeated, r.Line, 0, sh.header(0), r.StudentNo, r.StudentNo, map[string]any{"FirstRow": seen[st.ID]}))
			}
			if ok && seen[st.ID] == 0 {
				seen[st.ID] = r.Line
			}
			switch {
			case len(r.Scores) < len(items):
				problems = append(problems, newProblem(CellTooFew, r.Line, len(r.Scores)+1, sh.header(len(r.Scores)+1), r.StudentNo, "", map[string]any{"Want": len(items), "Got": len(r.Scores)}))
			case len(r.Scores) > len(items):
				problems = append(problems, newProblem(CellTooMany, r.Line, len(items)+1, sh.header(len(items)+1), r.StudentNo, "", map[string]any{"Want": len(items), "Got": len(r.Scores)}))
			}
			var total float64
			for j, x := range r.Scores {
				if j >= len(items) {
					break
				}
				if slices.Contains(r.unread, j) { // reported by the parser
					continue
				}
				v := strconv.FormatFloat(x, 'f', -1, 64)
				switch {
				case math.IsNaN(x) || math.IsInf(x, 0):
					problems = append(problems, newProblem(CellNotFinite, r.Line, j+1, sh.header(j+1), r.StudentNo, v, nil))
				case significantDigits(x) > MaxScoreDigits:
					problems = append(problems, newProblem(CellTooPrecise, r.Line, j+1, sh.header(j+1), r.StudentNo, v, map[string]any{"Digits": MaxScoreDigits}))
				case x < 0:
					problems = append(problems, newProblem(CellNegative, r.Line, j+1, sh.header(j+1), r.StudentNo, v, nil))
				case x > items[j].Points:
					problems = append(problems, newProblem(CellOverMax, r.Line, j+1, sh.header(j+1), r.StudentNo, v, map[string]any{"Max": items[j].Points}))
				}
				total += x
			}
			b, _ := json.Marshal(r.Scores)
			out = append(out, ExamResult{SchoolID: school.ID, ExamID: examID, StudentID: st.ID, Scores: string(b), Total: total,
				Level: policies.LevelFor(total, full, cuts), CreatedAt: now})
		}
		if len(problems) > 0 {
			return ResultProblemsError(problems)
		}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "exam_id"}, {Name: "student_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"scores", "total", "level", "created_at"})}).CreateInBatches(&out, resultsBatch).Error; err != nil {
			return err
		}
		n = len(out)
		return Audit(ctx, tx, school.ID, "results", "exam", examID, nil, map[string]any{"imported": n})
	})
	return n, err
}

// StaffResult is a result line for staff: in student-number order, never
// sorted by score (EX-06/07).
type StaffResult struct {
	StudentID int64     `json:"student_id"`
	StudentNo string    `json:"student_no"`
	Name      string    `json:"name"`
	ClassID   int64     `json:"class_id"`
	Scores    []float64 `json:"scores"`
	Total     float64   `json:"total"`
	Level     string    `json:"level"`
}

// ResultsForStaff lists an exam's results for staff, in student-number order;
// classIDs limits them to some classes (nil: all).
func ResultsForStaff(ctx context.Context, db *gorm.DB, examID int64, classIDs []int64) ([]StaffResult, error) {
	type row struct {
		StudentID int64
		StudentNo string
		Name      string
		ClassID   int64
		Scores    string
		Total     float64
		Level     string
	}
	q := db.WithContext(ctx).Table("exam_results").
		Select("exam_results.student_id, students.student_no, students.name, students.class_id, exam_results.scores, exam_results.total, exam_results.level").
		Joins("JOIN students ON students.id = exam_results.student_id").Where("exam_results.exam_id = ?", examID)
	if classIDs != nil {
		q = q.Where("students.class_id IN ?", classIDs)
	}
	var rows []row
	if err := q.Order("students.student_no").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]StaffResult, len(rows))
	for i, r := range rows {
		out[i] = StaffResult{StudentID: r.StudentID, StudentNo: r.StudentNo, Name: r.Name, ClassID: r.ClassID, Total: r.Total, Level: r.Level}
		_ = json.Unmarshal([]byte(r.Scores), &out[i].Scores)
	}
	return out, nil
}

// GuardianResult is all a guardian sees of a result: the child and a level.
type GuardianResult struct {
	StudentID int64  `json:"student_id"`
	Name      string `json:"name"`
	Level     string `json:"level"`
}

// ResultsForGuardian lists the levels of the guardian's own children.
func ResultsForGuardian(ctx context.Context, db *gorm.DB, examID, userID int64) ([]GuardianResult, error) {
	var out []GuardianResult
	err := db.WithContext(ctx).Table("exam_results").Select("exam_results.student_id, students.name, exam_results.level").
		Joins("JOIN students ON students.id = exam_results.student_id").
		Joins("JOIN guardians ON guardians.student_id = students.id").
		Where("exam_results.exam_id = ? AND guardians.user_id = ?", examID, userID).Order("students.id").Scan(&out).Error
	return out, err
}

// AnalyseExam runs the item analysis of an exam's imported results.
func AnalyseExam(ctx context.Context, db *gorm.DB, school *School, examID int64) (policies.ItemAnalysis, error) {
	items, err := examItems(ctx, db, examID)
	if err != nil {
		return policies.ItemAnalysis{}, err
	}
	var res []ExamResult
	if err := db.WithContext(ctx).Where("exam_id = ?", examID).Order("id").Find(&res).Error; err != nil {
		return policies.ItemAnalysis{}, err
	}
	scores := make([][]float64, 0, len(res))
	for _, r := range res {
		var s []float64
		if json.Unmarshal([]byte(r.Scores), &s) == nil && len(s) == len(items) {
			scores = append(scores, s)
		}
	}
	rules, err := PaperRules(ctx, db, school)
	if err != nil {
		return policies.ItemAnalysis{}, err
	}
	return policies.AnalyseItems(paperItems(items), scores, rules, policies.KelleyShare), nil
}

// IssueCalendarToken makes (or replaces) the user's calendar feed token and
// returns it; only its hash is stored.
func IssueCalendarToken(ctx context.Context, db *gorm.DB, userID int64) (string, error) {
	token := NewToken()
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", userID).Delete(&CalendarToken{}).Error; err != nil {
			return err
		}
		if err := tx.Create(&CalendarToken{UserID: userID, TokenHash: hashToken(token), CreatedAt: time.Now().UTC()}).Error; err != nil {
			return err
		}
		return Audit(ctx, tx, 0, "create", "calendar_token", userID, nil, nil)
	})
	return token, err
}

// UserByCalendarToken finds the enabled user of a calendar token.
func UserByCalendarToken(ctx context.Context, db *gorm.DB, token string) (*User, error) {
	if token == "" {
		return nil, ErrNotFound
	}
	var ct CalendarToken
	if err := db.WithContext(ctx).Where("token_hash = ?", hashToken(token)).First(&ct).Error; err != nil {
		return nil, lookupError(err)
	}
	var u User
	if err := db.WithContext(ctx).First(&u, ct.UserID).Error; err != nil {
		return nil, lookupError(err)
	}
	if u.Disabled {
		return nil, ErrNotFound
	}
	return &u, nil
}

// Indicators of the exam area, from the exam_day_stats and exam_refusals
// rollups. Each rule's refusals have their own key, so the alert of a rule
// counts that rule's refusals only.
var examRuleRefusalKeys = map[string]string{
	policies.RuleEX01: "ex.ex01_refusals",
	policies.RuleEX04: "ex.ex04_refusals",
	policies.RuleEX05: "ex.ex05_refusals",
}

func init() {
	RegisterIndicators(IndicatorSource{
		Group: "exams",
		Defs: []IndicatorDef{
			{Key: "ex.events_total", MsgID: "exams.ind.events_total", Unit: "count", Agg: AggSum, Rule: policies.RuleEX02},
			{Key: "ex.events_paper", MsgID: "exams.ind.events_paper", Unit: "count", Agg: AggSum, Rule: policies.RuleEX02},
			{Key: "ex.refused_attempts", MsgID: "exams.ind.refused_attempts", Unit: "count", Agg: AggSum},
			{Key: "ex.ex01_refusals", MsgID: "exams.ind.ex01_refusals", Unit: "count", Agg: AggSum, Rule: policies.RuleEX01},
			{Key: "ex.ex04_refusals", MsgID: "exams.ind.ex04_refusals", Unit: "count", Agg: AggSum, Rule: policies.RuleEX04},
			{Key: "ex.ex05_refusals", MsgID: "exams.ind.ex05_refusals", Unit: "count", Agg: AggSum, Rule: policies.RuleEX05},
			{Key: "ex.papers_checked", MsgID: "exams.ind.papers_checked", Unit: "count", Agg: AggSum, Rule: policies.RuleEX09},
			{Key: "ex.papers_passing_pct", MsgID: "exams.ind.papers_passing_pct", Unit: "pct", HigherIsBetter: true, Agg: AggShare, WeightKey: "ex.papers_checked", Rule: policies.RuleEX12},
			{Key: "ex.blocked_papers", MsgID: "exams.ind.blocked_papers", Unit: "count", Agg: AggSum, Rule: policies.RuleEX09},
		},
		Tables:  []string{"exam_day_stats", "exam_refusals"},
		Compute: examIndicators,
	})
}

func examIndicators(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string) (map[int64]map[string]float64, error) {
	out := map[int64]map[string]float64{}
	if len(schoolIDs) == 0 {
		return out, nil
	}
	type srow struct {
		SchoolID                                                    int64
		EventsTotal, EventsPaper, PapersChecked, PapersPassing, Blk int
	}
	var rows []srow
	if err := db.WithContext(ctx).Model(&ExamDayStat{}).
		Select("school_id, SUM(events_total) AS events_total, SUM(events_paper) AS events_paper, SUM(papers_checked) AS papers_checked, SUM(papers_passing) AS papers_passing, SUM(papers_blocked) AS blk").
		Where("school_id IN ? AND date >= ? AND date <= ?", schoolIDs, from, to).Group("school_id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	type rrow struct {
		SchoolID int64
		Rule     string
		Attempts int
	}
	var refusals []rrow
	if err := db.WithContext(ctx).Model(&ExamRefusal{}).Select("school_id, rule, SUM(attempts) AS attempts").
		Where("school_id IN ? AND date >= ? AND date <= ?", schoolIDs, from, to).Group("school_id, rule").Scan(&refusals).Error; err != nil {
		return nil, err
	}
	for _, id := range schoolIDs {
		m := map[string]float64{"ex.events_total": 0, "ex.events_paper": 0, "ex.refused_attempts": 0, "ex.blocked_papers": 0, "ex.papers_checked": 0}
		for _, k := range examRuleRefusalKeys {
			m[k] = 0
		}
		out[id] = m
	}
	for _, r := range rows {
		m := out[r.SchoolID]
		m["ex.events_total"], m["ex.events_paper"], m["ex.blocked_papers"] = float64(r.EventsTotal), float64(r.EventsPaper), float64(r.Blk)
		m["ex.papers_checked"] = float64(r.PapersChecked)
		if r.PapersChecked > 0 {
			m["ex.papers_passing_pct"] = float64(r.PapersPassing) / float64(r.PapersChecked)
		}
	}
	for _, r := range refusals {
		// A school's attempt refused by two rules counts once per rule: the
		// total is the sum over rules, each rule key only its own.
		out[r.SchoolID]["ex.refused_attempts"] += float64(r.Attempts)
		if k, ok := examRuleRefusalKeys[r.Rule]; ok {
			out[r.SchoolID][k] += float64(r.Attempts)
		}
	}
	return out, nil
}

// MonthGrid is a month of weeks (Monday first) of dates YYYY-MM-DD; days of
// other months are "".
func MonthGrid(month string) ([][]string, error) {
	first, err := time.Parse("2006-01", month)
	if err != nil {
		return nil, Invalid("error.bad_date", map[string]any{"Value": month})
	}
	offset := (int(first.Weekday()) + 6) % 7
	var weeks [][]string
	week := make([]string, 7)
	day := first
	for i := 0; i < offset; i++ {
		week[i] = ""
	}
	col := offset
	for day.Month() == first.Month() {
		week[col] = day.Format(DateLayout)
		col++
		if col == 7 {
			weeks = append(weeks, week)
			week, col = make([]string, 7), 0
		}
		day = day.AddDate(0, 0, 1)
	}
	if col > 0 {
		weeks = append(weeks, week)
	}
	return weeks, nil
}

// RefreshExamDayStats recomputes the rollup of one school and date (for
// bulk loads such as the demo seed).
func RefreshExamDayStats(ctx context.Context, db *gorm.DB, schoolID int64, date string) error {
	return Tx(ctx, db, func(tx *gorm.DB) error { return refreshDayStats(ctx, tx, schoolID, date) })
}
