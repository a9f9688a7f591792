package models

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"jianfu/policies"
)

// Enrollment statuses. Applied is a lottery application waiting for the
// draw; not_drawn is a choice the lottery did not give and could not
// waitlist (clash or maximum reached).
const (
	EnrollEnrolled   = "enrolled"
	EnrollWaitlisted = "waitlisted"
	EnrollApplied    = "applied"
	EnrollNotDrawn   = "not_drawn"
	EnrollWithdrawn  = "withdrawn"
)

// activeStatuses hold a student's place or claim in a program.
var activeStatuses = []string{EnrollEnrolled, EnrollWaitlisted, EnrollApplied}

// Enrollment is a student's place (or waitlist position, or lottery
// application) in a program. AS-04: it exists only on a guardian's opt-in;
// StaffEntry marks one a staff member entered on a guardian's written
// request, which Note records.
type Enrollment struct {
	ID          int64  `gorm:"primaryKey" json:"id"`
	SchoolID    int64  `json:"school_id"`
	ProgramID   int64  `json:"program_id"`
	StudentID   int64  `json:"student_id"`
	Status      string `json:"status"`
	Position    int    `json:"position,omitempty"` // waitlist order
	ChoiceRank  int    `json:"choice_rank,omitempty"`
	RequestedBy *int64 `json:"requested_by,omitempty"`
	StaffEntry  bool   `json:"staff_entry"`
	Note        string `json:"note,omitempty"`
	// RequestChannel is how the guardian asked staff (AS-04): paper_form,
	// phone or in_person; empty for a guardian's own request.
	RequestChannel string    `json:"request_channel,omitempty"`
	FeeWaived      bool      `json:"fee_waived"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"-"`
}

// EnrollInput is a request to enroll a student.
type EnrollInput struct {
	ProgramID   int64
	StudentID   int64
	RequestedBy int64
	Staff       bool   // entered by staff on a guardian's written request
	Note        string // staff: the guardian's request (who, when, how), at least a sentence
	Channel     string // staff: how the guardian asked (policies.RequestChannels)
	Rank        int    // lottery: the choice's rank (1 = first); 0 = next
	FeeWaived   bool   // AS-10: a student in need (staff only)
	Today       string
}

// lockProgram reads a program and holds it until the transaction ends: a
// row lock on PostgreSQL; SQLite already holds the database write lock from
// BEGIN (IMMEDIATE), so capacity checks are serialized on both.
func lockProgram(tx *gorm.DB, id int64) (*Program, error) {
	q := tx
	if DialectOf(tx) == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var p Program
	if err := q.First(&p, id).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &p, nil
}

// reasonError is a 422 refusal that is a business limit rather than a
// 双减 rule: details carry "reason".
func reasonError(code, msgID string, params, details map[string]any) *Error {
	if details == nil {
		details = map[string]any{}
	}
	details["reason"] = code
	return &Error{Kind: KindRule, Code: code, MsgID: msgID, Params: params, Details: details}
}

// Enroll enrolls a student in a program in one transaction that holds the
// program's row, so capacity holds under a rush: the first Capacity
// requests are enrolled, the rest waitlisted in arrival order. A lottery
// program takes applications until its draw. Refusals: AS-04 (staff entry
// without the guardian's request), grade, a clash with the student's other
// programs, the per-student maximum.
func Enroll(ctx context.Context, db *gorm.DB, in EnrollInput) (*Enrollment, error) {
	in.Note = strings.TrimSpace(in.Note)
	if in.Staff && !policies.IsSentence(in.Note, policies.MinStaffNoteRunes) {
		return nil, RuleError("guardian_request_required", policies.RuleAS04, "as.enroll.note_required",
			map[string]any{"Min": policies.MinStaffNoteRunes}, map[string]any{"min_chars": policies.MinStaffNoteRunes})
	}
	if in.Staff && !slices.Contains(policies.RequestChannels, in.Channel) {
		return nil, RuleError("request_channel_required", policies.RuleAS04, "as.enroll.channel_required", nil,
			map[string]any{"channels": policies.RequestChannels})
	}
	if !in.Staff {
		in.Channel = ""
	}
	if len([]rune(in.Note)) > 500 {
		return nil, Invalid("as.enroll.note_too_long", nil)
	}
	var out Enrollment
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		p, err := lockProgram(tx, in.ProgramID)
		if err != nil {
			return err
		}
		var st Student
		if err := tx.First(&st, in.StudentID).Error; err != nil {
			return NotFoundIf(err)
		}
		if st.SchoolID != p.SchoolID {
			return ErrNotFound
		}
		var cl Class
		if err := tx.First(&cl, st.ClassID).Error; err != nil {
			return err
		}
		if p.Confirmation == ConfirmationPending {
			return RuleError("program_not_confirmed", policies.RuleAS06, "as.enroll.not_confirmed", map[string]any{"Program": p.Name}, nil)
		}
		if !p.Eligible(cl.Grade) {
			return reasonError("grade_not_eligible", "as.enroll.grade", map[string]any{"Grade": cl.Grade}, map[string]any{"grade": cl.Grade})
		}
		mine, err := studentClaims(tx, st.ID, p.TermID)
		if err != nil {
			return err
		}
		held := 0
		applied := 0
		for _, m := range mine {
			if m.ProgramID == p.ID {
				return &Error{Kind: KindConflict, Code: "already_enrolled", MsgID: "as.enroll.already", Details: map[string]any{"enrollment_id": m.ID, "status": m.Status}}
			}
			if m.Status == EnrollApplied {
				applied++
			} else {
				held++
			}
		}
		sc, err := GetSchool(ctx, tx, p.SchoolID)
		if err != nil {
			return err
		}
		maxN, err := SchoolIntSetting(ctx, tx, sc, policies.SettingMaxProgramsPerStudent, policies.DefaultMaxProgramsPerStudent)
		if err != nil {
			return err
		}
		drawPending := p.Mode == ModeLottery && p.LotterySeed == ""
		if held >= maxN {
			return reasonError("program_limit", "as.enroll.limit", map[string]any{"Max": maxN}, map[string]any{"max": maxN})
		}
		if drawPending && applied >= policies.MaxRankedChoices {
			return reasonError("choice_limit", "as.enroll.choice_limit", map[string]any{"Max": policies.MaxRankedChoices}, map[string]any{"max": policies.MaxRankedChoices})
		}
		slots, err := ProgramSlots(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		for _, m := range mine {
			if m.Status == EnrollApplied {
				continue // ranked lottery choices may be alternatives at the same time
			}
			other, err := ProgramSlots(ctx, tx, m.ProgramID)
			if err != nil {
				return err
			}
			if policies.AnyOverlap(slots, other) {
				var op Program
				tx.Select("id, name").First(&op, m.ProgramID)
				return reasonError("slot_clash", "as.enroll.clash", map[string]any{"Program": op.Name}, map[string]any{"program_id": m.ProgramID})
			}
		}
		e := Enrollment{SchoolID: p.SchoolID, ProgramID: p.ID, StudentID: st.ID, StaffEntry: in.Staff, Note: in.Note, RequestChannel: in.Channel,
			FeeWaived: in.FeeWaived && in.Staff, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
		if in.RequestedBy > 0 {
			e.RequestedBy = &in.RequestedBy
		}
		counters := map[string]any{}
		switch {
		case drawPending:
			if in.Today != "" && in.Today > p.ApplyUntil {
				return reasonError("applications_closed", "as.enroll.closed", map[string]any{"Date": p.ApplyUntil}, map[string]any{"apply_until": p.ApplyUntil})
			}
			e.Status = EnrollApplied
			e.ChoiceRank = in.Rank
			if e.ChoiceRank <= 0 {
				e.ChoiceRank = applied + 1
			}
			counters["applied_count"] = gorm.Expr("applied_count + 1")
		case p.EnrolledCount < p.Capacity:
			e.Status = EnrollEnrolled
			counters["enrolled_count"] = gorm.Expr("enrolled_count + 1")
		default:
			e.Status = EnrollWaitlisted
			e.Position = p.QueueSeq + 1
			counters["waitlist_count"] = gorm.Expr("waitlist_count + 1")
			counters["queue_seq"] = gorm.Expr("queue_seq + 1")
		}
		if err := tx.Create(&e).Error; err != nil {
			return NotFoundIf(err)
		}
		if err := tx.Model(&Program{}).Where("id = ?", p.ID).Updates(counters).Error; err != nil {
			return err
		}
		if err := Audit(ctx, tx, p.SchoolID, "create", "enrollment", e.ID, nil, e); err != nil {
			return err
		}
		out = e
		// Every request changes demand (AS-03), not only a place.
		return RefreshTermRollup(ctx, tx, p.SchoolID, p.TermID)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// studentClaims lists a student's active enrollments in a term's programs.
func studentClaims(tx *gorm.DB, studentID, termID int64) ([]Enrollment, error) {
	var out []Enrollment
	err := tx.Joins("JOIN programs ON programs.id = enrollments.program_id").
		Where("enrollments.student_id = ? AND enrollments.status IN ? AND programs.term_id = ?", studentID, activeStatuses, termID).
		Order("enrollments.id").Find(&out).Error
	return out, err
}

// GetEnrollment loads an enrollment.
func GetEnrollment(ctx context.Context, db *gorm.DB, id int64) (*Enrollment, error) {
	var e Enrollment
	if err := db.WithContext(ctx).First(&e, id).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &e, nil
}

// Withdraw ends an enrollment (or a waitlist place, or an application).
// When an enrolled place frees, the first waitlisted student is promoted in
// the same transaction; promoted is nil when nobody waited.
func Withdraw(ctx context.Context, db *gorm.DB, id int64) (withdrawn, promoted *Enrollment, err error) {
	e0, err := GetEnrollment(ctx, db, id)
	if err != nil {
		return nil, nil, err
	}
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		p, err := lockProgram(tx, e0.ProgramID)
		if err != nil {
			return err
		}
		var e Enrollment
		if err := tx.First(&e, id).Error; err != nil {
			return NotFoundIf(err)
		}
		if !slices.Contains(activeStatuses, e.Status) {
			return &Error{Kind: KindConflict, Code: "not_active", MsgID: "as.enroll.not_active"}
		}
		before := e
		now := time.Now().UTC()
		counters := map[string]any{}
		switch e.Status {
		case EnrollEnrolled:
			counters["enrolled_count"] = gorm.Expr("enrolled_count - 1")
		case EnrollWaitlisted:
			counters["waitlist_count"] = gorm.Expr("waitlist_count - 1")
		case EnrollApplied:
			counters["applied_count"] = gorm.Expr("applied_count - 1")
		}
		if err := tx.Model(&Enrollment{}).Where("id = ?", e.ID).Updates(map[string]any{"status": EnrollWithdrawn, "updated_at": now}).Error; err != nil {
			return err
		}
		e.Status = EnrollWithdrawn
		if err := Audit(ctx, tx, e.SchoolID, "withdraw", "enrollment", e.ID, before, e); err != nil {
			return err
		}
		withdrawn = &e
		if before.Status == EnrollEnrolled && p.EnrolledCount-1 < p.Capacity {
			var next Enrollment
			res := tx.Where("program_id = ? AND status = ?", p.ID, EnrollWaitlisted).Order("position, id").Limit(1).Find(&next)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				nb := next
				if err := tx.Model(&Enrollment{}).Where("id = ?", next.ID).Updates(map[string]any{"status": EnrollEnrolled, "updated_at": now}).Error; err != nil {
					return err
				}
				next.Status = EnrollEnrolled
				delete(counters, "enrolled_count") // one left, one promoted
				counters["waitlist_count"] = gorm.Expr("waitlist_count - 1")
				if err := Audit(ctx, tx, e.SchoolID, "promote", "enrollment", next.ID, nb, next); err != nil {
					return err
				}
				promoted = &next
			}
		}
		if err := tx.Model(&Program{}).Where("id = ?", p.ID).Updates(counters).Error; err != nil {
			return err
		}
		return RefreshTermRollup(ctx, tx, p.SchoolID, p.TermID)
	})
	return withdrawn, promoted, err
}

// WaitlistPosition is a waitlisted enrollment's place in the queue (1 = next).
func WaitlistPosition(ctx context.Context, db *gorm.DB, e *Enrollment) (int, error) {
	if e.Status != EnrollWaitlisted {
		return 0, nil
	}
	var n int64
	err := db.WithContext(ctx).Model(&Enrollment{}).
		Where("program_id = ? AND status = ? AND (position < ? OR (position = ? AND id <= ?))", e.ProgramID, EnrollWaitlisted, e.Position, e.Position, e.ID).
		Count(&n).Error
	return int(n), err
}

// RosterEntry is a student of a program's roster.
type RosterEntry struct {
	Enrollment
	StudentName string `json:"student_name"`
	ClassName   string `json:"class_name"`
	Groups      string `json:"priority_groups"`
}

// Roster lists a program's active enrollments: enrolled first, then the
// waitlist in order, then lottery applications.
func Roster(ctx context.Context, db *gorm.DB, programID int64) ([]RosterEntry, error) {
	var out []RosterEntry
	err := db.WithContext(ctx).Table("enrollments").
		Select("enrollments.*, students.name AS student_name, classes.name AS class_name, students.priority_groups AS groups").
		Joins("JOIN students ON students.id = enrollments.student_id").
		Joins("JOIN classes ON classes.id = students.class_id").
		Where("enrollments.program_id = ? AND enrollments.status IN ?", programID, activeStatuses).
		Order("CASE enrollments.status WHEN 'enrolled' THEN 0 WHEN 'waitlisted' THEN 1 ELSE 2 END, enrollments.position, enrollments.id").
		Scan(&out).Error
	return out, err
}

// StudentEnrollments lists a student's enrollments in a term (any status but withdrawn).
func StudentEnrollments(ctx context.Context, db *gorm.DB, studentID, termID int64) ([]Enrollment, error) {
	var out []Enrollment
	err := db.WithContext(ctx).Joins("JOIN programs ON programs.id = enrollments.program_id").
		Where("enrollments.student_id = ? AND enrollments.status <> ? AND programs.term_id = ?", studentID, EnrollWithdrawn, termID).
		Order("enrollments.id").Find(&out).Error
	return out, err
}

// LotteryRun records a lottery draw: the seed it used (so anyone can
// replay it with policies.RunLottery) and what it gave.
type LotteryRun struct {
	ID         int64     `gorm:"primaryKey" json:"id"`
	SchoolID   int64     `json:"school_id"`
	TermID     int64     `json:"term_id"`
	Seed       string    `json:"seed"`
	Programs   int       `json:"programs"`
	Applicants int       `json:"applicants"`
	Winners    int       `json:"winners"`
	RunBy      *int64    `json:"-"`
	RunAt      time.Time `json:"run_at"`
}

// NewSeed is a fresh random lottery seed.
func NewSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// lotteryInput gathers a term's undrawn lottery programs and their
// applicants as policies.RunLottery reads them.
func lotteryInput(tx *gorm.DB, schoolID, termID int64) ([]Program, []policies.LotteryProgram, []policies.LotteryApplicant, int, error) {
	q := tx
	if DialectOf(tx) == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var progs []Program
	if err := q.Where("school_id = ? AND term_id = ? AND mode = ? AND lottery_seed = ''", schoolID, termID, ModeLottery).Order("id").Find(&progs).Error; err != nil {
		return nil, nil, nil, 0, err
	}
	sc, err := GetSchool(tx.Statement.Context, tx, schoolID)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	maxN, err := SchoolIntSetting(tx.Statement.Context, tx, sc, policies.SettingMaxProgramsPerStudent, policies.DefaultMaxProgramsPerStudent)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	ids := []int64{0}
	var lps []policies.LotteryProgram
	for _, p := range progs {
		ids = append(ids, p.ID)
		slots, err := ProgramSlots(tx.Statement.Context, tx, p.ID)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		lps = append(lps, policies.LotteryProgram{ID: p.ID, Places: max(p.Capacity-p.EnrolledCount, 0), Slots: slots})
	}
	var apps []Enrollment
	if err := tx.Where("program_id IN ? AND status = ?", ids, EnrollApplied).Order("student_id, choice_rank, id").Find(&apps).Error; err != nil {
		return nil, nil, nil, 0, err
	}
	byStudent := map[int64]*policies.LotteryApplicant{}
	var order []int64
	for _, a := range apps {
		la, ok := byStudent[a.StudentID]
		if !ok {
			la = &policies.LotteryApplicant{StudentID: a.StudentID}
			byStudent[a.StudentID] = la
			order = append(order, a.StudentID)
		}
		la.Choices = append(la.Choices, a.ProgramID)
	}
	var out []policies.LotteryApplicant
	for _, sid := range order {
		la := byStudent[sid]
		var st Student
		if err := tx.Select("id, priority_groups").First(&st, sid).Error; err != nil {
			return nil, nil, nil, 0, err
		}
		la.Groups = st.PriorityGroups
		claims, err := studentClaims(tx, sid, termID)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		for _, c := range claims {
			if c.Status == EnrollApplied {
				continue
			}
			la.Held++
			s, err := ProgramSlots(tx.Statement.Context, tx, c.ProgramID)
			if err != nil {
				return nil, nil, nil, 0, err
			}
			la.Holding = append(la.Holding, s...)
		}
		out = append(out, *la)
	}
	return progs, lps, out, maxN, nil
}

// DrawLottery computes what a draw with seed would give now, writing nothing.
func DrawLottery(ctx context.Context, db *gorm.DB, schoolID, termID int64, seed uint64) (policies.LotteryResult, error) {
	var res policies.LotteryResult
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, lps, apps, maxN, err := lotteryInput(tx, schoolID, termID)
		if err != nil {
			return err
		}
		res = policies.RunLottery(seed, lps, apps, maxN)
		return nil
	})
	return res, err
}

// RunLottery closes the application window of a term's lottery programs:
// it draws with seed (policies.RunLottery documents the order: priority
// groups first, then the seed), enrolls the winners, waitlists the others
// in draw order, and stores the seed on each program and in a LotteryRun.
func RunLottery(ctx context.Context, db *gorm.DB, schoolID, termID int64, seed uint64) (*LotteryRun, error) {
	run := LotteryRun{SchoolID: schoolID, TermID: termID, Seed: strconv.FormatUint(seed, 10), RunAt: time.Now().UTC()}
	if a, ok := ActorFrom(ctx); ok && a.UserID > 0 {
		run.RunBy = &a.UserID
	}
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		progs, lps, apps, maxN, err := lotteryInput(tx, schoolID, termID)
		if err != nil {
			return err
		}
		if len(progs) == 0 {
			return reasonError("no_lottery", "as.lottery.none", nil, nil)
		}
		res := policies.RunLottery(seed, lps, apps, maxN)
		now := time.Now().UTC()
		for _, sid := range sortedKeys(res.Won) {
			run.Winners++
			for _, pid := range res.Won[sid] {
				if err := tx.Model(&Enrollment{}).Where("program_id = ? AND student_id = ? AND status = ?", pid, sid, EnrollApplied).
					Updates(map[string]any{"status": EnrollEnrolled, "updated_at": now}).Error; err != nil {
					return err
				}
			}
		}
		for _, p := range progs {
			for i, sid := range res.Waitlist[p.ID] {
				if err := tx.Model(&Enrollment{}).Where("program_id = ? AND student_id = ? AND status = ?", p.ID, sid, EnrollApplied).
					Updates(map[string]any{"status": EnrollWaitlisted, "position": p.QueueSeq + i + 1, "updated_at": now}).Error; err != nil {
					return err
				}
			}
			if err := tx.Model(&Enrollment{}).Where("program_id = ? AND status = ?", p.ID, EnrollApplied).
				Updates(map[string]any{"status": EnrollNotDrawn, "updated_at": now}).Error; err != nil {
				return err
			}
			var enrolled, waiting int64
			tx.Model(&Enrollment{}).Where("program_id = ? AND status = ?", p.ID, EnrollEnrolled).Count(&enrolled)
			tx.Model(&Enrollment{}).Where("program_id = ? AND status = ?", p.ID, EnrollWaitlisted).Count(&waiting)
			if err := tx.Model(&Program{}).Where("id = ?", p.ID).Updates(map[string]any{"lottery_seed": run.Seed, "enrolled_count": enrolled,
				"waitlist_count": waiting, "applied_count": 0, "queue_seq": p.QueueSeq + len(res.Waitlist[p.ID])}).Error; err != nil {
				return err
			}
		}
		run.Programs, run.Applicants = len(progs), len(apps)
		if err := tx.Create(&run).Error; err != nil {
			return err
		}
		order := make([]string, len(res.Order))
		for i, id := range res.Order {
			order[i] = strconv.FormatInt(id, 10)
		}
		if err := Audit(ctx, tx, schoolID, "draw", "lottery", run.ID, nil, map[string]any{"run": run, "order": strings.Join(order, ","), "won": res.Won}); err != nil {
			return err
		}
		return RefreshTermRollup(ctx, tx, schoolID, termID)
	})
	if err != nil {
		return nil, err
	}
	return &run, nil
}

// sortedKeys lists map keys in order (deterministic iteration).
func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
