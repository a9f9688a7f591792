package models

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"jianfu/policies"
)

// Session statuses and attendance marks.
const (
	SessionScheduled = "scheduled"
	SessionCancelled = "cancelled"

	AttPresent = "present"
	AttAbsent  = "absent"
	AttExcused = "excused"
)

// ProgramSession is one meeting of a program on a date (generated from the
// program's weekly slots across the term, minus no-school days).
type ProgramSession struct {
	ID           int64      `gorm:"primaryKey" json:"id"`
	SchoolID     int64      `json:"school_id"`
	ProgramID    int64      `json:"program_id"`
	Date         string     `json:"date"`
	StartTime    string     `json:"start"`
	EndTime      string     `json:"end"`
	InstructorID *int64     `json:"instructor_id,omitempty"`
	Status       string     `json:"status"`
	CancelReason string     `json:"cancel_reason,omitempty"`
	PresentCount int        `json:"present"`
	AbsentCount  int        `json:"absent"`
	ExcusedCount int        `json:"excused"`
	MarkedAt     *time.Time `json:"marked_at,omitempty"`
}

// Minutes is the session's length.
func (s ProgramSession) Minutes() int {
	return policies.Slot{Weekday: 1, Start: s.StartTime, End: s.EndTime}.Minutes()
}

// SessionAttendance is one student's mark for one session.
type SessionAttendance struct {
	ID        int64     `gorm:"primaryKey" json:"-"`
	SchoolID  int64     `json:"-"`
	SessionID int64     `json:"session_id"`
	StudentID int64     `json:"student_id"`
	Status    string    `json:"status"`
	MarkedBy  *int64    `json:"-"`
	MarkedAt  time.Time `json:"marked_at"`
}

// TableName: the table is singular ("attendance" is uncountable).
func (SessionAttendance) TableName() string { return "session_attendance" }

// generateSessions creates a program's sessions for every term date whose
// weekday has a slot, skipping no-school days.
func generateSessions(ctx context.Context, tx *gorm.DB, schoolID int64, term *Term, programID int64, instructor *int64, slots []ProgramSlot) error {
	var off []string
	if err := tx.WithContext(ctx).Model(&NoSchoolDay{}).Where("school_id = ? AND date BETWEEN ? AND ?", schoolID, term.StartDate, term.EndDate).Pluck("date", &off).Error; err != nil {
		return err
	}
	start, err1 := time.Parse(DateLayout, term.StartDate)
	end, err2 := time.Parse(DateLayout, term.EndDate)
	if err1 != nil || err2 != nil {
		return Invalid("error.bad_date", map[string]any{"Value": term.StartDate})
	}
	var rows []ProgramSession
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		date := d.Format(DateLayout)
		if slices.Contains(off, date) {
			continue
		}
		wd := weekdayOf(date)
		for _, s := range slots {
			if s.Weekday == wd {
				rows = append(rows, ProgramSession{SchoolID: schoolID, ProgramID: programID, Date: date, StartTime: s.StartTime,
					EndTime: s.EndTime, InstructorID: instructor, Status: SessionScheduled})
			}
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return tx.WithContext(ctx).CreateInBatches(&rows, 500).Error
}

// GetSession loads a session.
func GetSession(ctx context.Context, db *gorm.DB, id int64) (*ProgramSession, error) {
	var s ProgramSession
	if err := db.WithContext(ctx).First(&s, id).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &s, nil
}

// SessionsOfProgram lists a program's sessions between from and to.
func SessionsOfProgram(ctx context.Context, db *gorm.DB, programID int64, from, to string) ([]ProgramSession, error) {
	var out []ProgramSession
	err := db.WithContext(ctx).Where("program_id = ? AND date BETWEEN ? AND ?", programID, from, to).Order("date, start_time").Find(&out).Error
	return out, err
}

// AttendanceOf lists the marks of a session by student.
func AttendanceOf(ctx context.Context, db *gorm.DB, sessionID int64) (map[int64]string, error) {
	var rows []SessionAttendance
	if err := db.WithContext(ctx).Where("session_id = ?", sessionID).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.StudentID] = r.Status
	}
	return out, nil
}

// Mark is one student's attendance mark.
type Mark struct {
	StudentID int64  `json:"student_id" validate:"required"`
	Status    string `json:"status" validate:"required,oneof=present absent excused"`
}

// MarkAttendance stores the marks of a held session (its date not after
// today, not cancelled) for students enrolled in the program, updating the
// session's counts and the school's daily rollup in the same transaction.
func MarkAttendance(ctx context.Context, db *gorm.DB, sessionID int64, marks []Mark, by int64, today string) (*ProgramSession, error) {
	if len(marks) == 0 {
		return nil, Invalid("as.attendance.empty", nil)
	}
	var out ProgramSession
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		q := tx
		if DialectOf(tx) == Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var s ProgramSession
		if err := q.First(&s, sessionID).Error; err != nil {
			return NotFoundIf(err)
		}
		if s.Status == SessionCancelled {
			return reasonError("session_cancelled", "as.attendance.cancelled", nil, nil)
		}
		if today != "" && s.Date > today {
			return reasonError("session_in_future", "as.attendance.future", map[string]any{"Date": s.Date}, nil)
		}
		var enrolled []int64
		if err := tx.Model(&Enrollment{}).Where("program_id = ? AND status = ?", s.ProgramID, EnrollEnrolled).Pluck("student_id", &enrolled).Error; err != nil {
			return err
		}
		now := time.Now().UTC()
		rows := make([]SessionAttendance, 0, len(marks))
		for _, m := range marks {
			if !slices.Contains(enrolled, m.StudentID) {
				return Invalid("as.attendance.not_enrolled", map[string]any{"Value": m.StudentID})
			}
			if m.Status != AttPresent && m.Status != AttAbsent && m.Status != AttExcused {
				return Invalid("as.attendance.bad_status", map[string]any{"Value": m.Status})
			}
			r := SessionAttendance{SchoolID: s.SchoolID, SessionID: s.ID, StudentID: m.StudentID, Status: m.Status, MarkedAt: now}
			if by > 0 {
				r.MarkedBy = &by
			}
			rows = append(rows, r)
		}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "session_id"}, {Name: "student_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"status", "marked_by", "marked_at"})}).Create(&rows).Error; err != nil {
			return err
		}
		before := s
		type cnt struct {
			Status string
			N      int
		}
		var cs []cnt
		if err := tx.Model(&SessionAttendance{}).Select("status, COUNT(*) AS n").Where("session_id = ?", s.ID).Group("status").Scan(&cs).Error; err != nil {
			return err
		}
		s.PresentCount, s.AbsentCount, s.ExcusedCount = 0, 0, 0
		for _, c := range cs {
			switch c.Status {
			case AttPresent:
				s.PresentCount = c.N
			case AttAbsent:
				s.AbsentCount = c.N
			case AttExcused:
				s.ExcusedCount = c.N
			}
		}
		s.MarkedAt = &now
		if err := tx.Model(&ProgramSession{}).Where("id = ?", s.ID).Updates(map[string]any{"present_count": s.PresentCount,
			"absent_count": s.AbsentCount, "excused_count": s.ExcusedCount, "marked_at": now}).Error; err != nil {
			return err
		}
		if err := Audit(ctx, tx, s.SchoolID, "attendance", "program_session", s.ID, before, map[string]any{"session": s, "marks": marks}); err != nil {
			return err
		}
		out = s
		return RefreshDailyRollup(ctx, tx, s.SchoolID, s.Date)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CancelSession cancels a session (weather, a school event) with a reason.
func CancelSession(ctx context.Context, db *gorm.DB, sessionID int64, reason string) (*ProgramSession, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len([]rune(reason)) > 200 {
		return nil, Invalid("as.session.reason_required", nil)
	}
	var out ProgramSession
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		var s ProgramSession
		if err := tx.First(&s, sessionID).Error; err != nil {
			return NotFoundIf(err)
		}
		if s.Status == SessionCancelled {
			return &Error{Kind: KindConflict, Code: "already_cancelled", MsgID: "as.session.already_cancelled"}
		}
		before := s
		s.Status, s.CancelReason = SessionCancelled, reason
		if err := tx.Model(&ProgramSession{}).Where("id = ?", s.ID).Updates(map[string]any{"status": s.Status, "cancel_reason": reason}).Error; err != nil {
			return err
		}
		if err := Audit(ctx, tx, s.SchoolID, "cancel", "program_session", s.ID, before, s); err != nil {
			return err
		}
		out = s
		return RefreshDailyRollup(ctx, tx, s.SchoolID, s.Date)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// StaffHoursRow is one teacher's service in a month (AS-09: the basis of
// subsidy pay): sessions held and their hours.
type StaffHoursRow struct {
	TeacherID int64   `json:"teacher_id"`
	Name      string  `json:"name"`
	Sessions  int     `json:"sessions"`
	Minutes   int     `json:"minutes"`
	Hours     float64 `json:"hours"`
}

// StaffHours lists each instructor's held (not cancelled, date not after
// today) sessions in month "YYYY-MM" at a school, by name.
func StaffHours(ctx context.Context, db *gorm.DB, schoolID int64, month, today string) ([]StaffHoursRow, error) {
	if _, err := time.Parse("2006-01", month); err != nil {
		return nil, Invalid("as.hours.bad_month", map[string]any{"Value": month})
	}
	var ss []ProgramSession
	err := db.WithContext(ctx).Where("school_id = ? AND date LIKE ? AND date <= ? AND status = ? AND instructor_id IS NOT NULL",
		schoolID, month+"-%", today, SessionScheduled).Find(&ss).Error
	if err != nil {
		return nil, err
	}
	byTeacher := map[int64]*StaffHoursRow{}
	for _, s := range ss {
		r, ok := byTeacher[*s.InstructorID]
		if !ok {
			r = &StaffHoursRow{TeacherID: *s.InstructorID}
			byTeacher[*s.InstructorID] = r
		}
		r.Sessions++
		r.Minutes += s.Minutes()
	}
	ids := sortedKeys(byTeacher)
	var us []User
	if err := db.WithContext(ctx).Where("id IN ?", append(ids, 0)).Find(&us).Error; err != nil {
		return nil, err
	}
	out := make([]StaffHoursRow, 0, len(ids))
	for _, id := range ids {
		r := byTeacher[id]
		for _, u := range us {
			if u.ID == id {
				r.Name = u.DisplayName
			}
		}
		r.Hours = float64(r.Minutes) / 60
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b StaffHoursRow) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ASTermRollup is a school's after-school state for a term, maintained in
// the transaction of every write that changes it (plan, program,
// enrollment), so the bureau reads one row per school.
type ASTermRollup struct {
	ID                    int64 `gorm:"primaryKey"`
	SchoolID              int64
	TermID                int64
	HasPlan               bool
	PlanCompliant         bool
	DaysPerWeek           int
	MinutesPerDay         int // the shortest service day's counted minutes
	Programs              int
	StudentsTotal         int
	StudentsEnrolled      int
	TeachersTotal         int
	TeachersParticipating int
	// AS-03 coverage: students whose guardians asked for a place (any live
	// or lottery-refused request) and those who hold one; the school's
	// grades and the grades with a program; the weekdays (bit 1<<weekday)
	// the plan serves with at least one program running.
	StudentsApplied int
	StudentsPlaced  int
	GradesTotal     int
	GradesOffered   int
	ServiceWeekdays int
	// AS-06: programs that look like new lessons awaiting the principal's
	// confirmation, and those confirmed with a written reason.
	ProgramsUnconfirmed int
	ProgramsConfirmed   int
	UpdatedAt           time.Time
}

// TableName keeps the area prefix.
func (ASTermRollup) TableName() string { return "as_term_rollups" }

// ASDailyRollup is a school's sessions and attendance marks of one date,
// maintained with every attendance mark or cancellation.
type ASDailyRollup struct {
	ID                int64 `gorm:"primaryKey"`
	SchoolID          int64
	Date              string
	SessionsHeld      int
	SessionsCancelled int
	Present           int
	Absent            int
	Excused           int
}

// TableName keeps the area prefix.
func (ASDailyRollup) TableName() string { return "as_daily_rollups" }

// lockRow makes sure a rollup row exists, then holds it (PostgreSQL row
// lock) so the recount that follows sees every committed write before it.
func lockRow(tx *gorm.DB, row any, where string, args ...any) error {
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(row).Error; err != nil {
		return err
	}
	q := tx
	if DialectOf(tx) == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return q.Where(where, args...).First(row).Error
}

// RefreshTermRollup recounts a school's term rollup from the school's own
// rows; call it inside the write's transaction.
func RefreshTermRollup(ctx context.Context, tx *gorm.DB, schoolID, termID int64) error {
	tx = tx.WithContext(ctx)
	r := ASTermRollup{SchoolID: schoolID, TermID: termID, UpdatedAt: time.Now().UTC()}
	if err := lockRow(tx, &r, "school_id = ? AND term_id = ?", schoolID, termID); err != nil {
		return err
	}
	plan, err := GetServicePlan(ctx, tx, schoolID, termID)
	if err != nil {
		return err
	}
	r.HasPlan, r.PlanCompliant, r.DaysPerWeek, r.MinutesPerDay = false, false, 0, 0
	planDays := 0
	if plan != nil {
		r.HasPlan, r.PlanCompliant = true, plan.Compliant
		spec := plan.Spec()
		for _, d := range spec.Days {
			if d.Weekday > 5 {
				continue
			}
			m, _ := policies.CountedMinutes(d, spec.Segments)
			if m > 0 {
				planDays |= 1 << d.Weekday
				r.DaysPerWeek++
				if r.MinutesPerDay == 0 || m < r.MinutesPerDay {
					r.MinutesPerDay = m
				}
			}
		}
	}
	var n int64
	if err := tx.Model(&Program{}).Where("school_id = ? AND term_id = ?", schoolID, termID).Count(&n).Error; err != nil {
		return err
	}
	r.Programs = int(n)
	var progs []Program
	if err := tx.Select("id, grades, confirmation").Where("school_id = ? AND term_id = ?", schoolID, termID).Find(&progs).Error; err != nil {
		return err
	}
	offered := map[int]bool{}
	r.ProgramsUnconfirmed, r.ProgramsConfirmed = 0, 0
	for _, p := range progs {
		for _, g := range p.GradeList() {
			offered[g] = true
		}
		switch p.Confirmation {
		case ConfirmationPending:
			r.ProgramsUnconfirmed++
		case ConfirmationConfirmed:
			r.ProgramsConfirmed++
		}
	}
	var sc School
	if err := tx.First(&sc, schoolID).Error; err != nil {
		return err
	}
	r.GradesTotal, r.GradesOffered = len(sc.Grades()), 0
	for _, g := range sc.Grades() {
		if offered[g] {
			r.GradesOffered++
		}
	}
	var weekdays []int
	if err := tx.Model(&ProgramSlot{}).Joins("JOIN programs ON programs.id = program_slots.program_id").
		Where("programs.school_id = ? AND programs.term_id = ?", schoolID, termID).Distinct("program_slots.weekday").Pluck("program_slots.weekday", &weekdays).Error; err != nil {
		return err
	}
	r.ServiceWeekdays = 0
	for _, wd := range weekdays {
		r.ServiceWeekdays |= planDays & (1 << wd)
	}
	if err := tx.Model(&Enrollment{}).Joins("JOIN programs ON programs.id = enrollments.program_id").
		Where("enrollments.school_id = ? AND enrollments.status IN ? AND programs.term_id = ?", schoolID,
			[]string{EnrollEnrolled, EnrollWaitlisted, EnrollApplied, EnrollNotDrawn}, termID).
		Distinct("enrollments.student_id").Count(&n).Error; err != nil {
		return err
	}
	r.StudentsApplied = int(n)
	if err := tx.Model(&Student{}).Where("school_id = ?", schoolID).Count(&n).Error; err != nil {
		return err
	}
	r.StudentsTotal = int(n)
	if err := tx.Model(&Enrollment{}).Joins("JOIN programs ON programs.id = enrollments.program_id").
		Where("enrollments.school_id = ? AND enrollments.status = ? AND programs.term_id = ?", schoolID, EnrollEnrolled, termID).
		Distinct("enrollments.student_id").Count(&n).Error; err != nil {
		return err
	}
	r.StudentsEnrolled = int(n)
	r.StudentsPlaced = r.StudentsEnrolled
	if err := tx.Raw(`SELECT COUNT(*) FROM (SELECT teacher_id FROM teaching_assignments WHERE school_id = ?
		UNION SELECT head_teacher_id FROM classes WHERE school_id = ? AND head_teacher_id IS NOT NULL) t`, schoolID, schoolID).Scan(&n).Error; err != nil {
		return err
	}
	r.TeachersTotal = int(n)
	if err := tx.Model(&ProgramInstructor{}).Joins("JOIN programs ON programs.id = program_instructors.program_id").
		Where("program_instructors.school_id = ? AND program_instructors.teacher_id IS NOT NULL AND programs.term_id = ?", schoolID, termID).
		Distinct("program_instructors.teacher_id").Count(&n).Error; err != nil {
		return err
	}
	r.TeachersParticipating = int(n)
	r.UpdatedAt = time.Now().UTC()
	return tx.Save(&r).Error
}

// RefreshDailyRollup recounts a school's sessions and marks of one date.
func RefreshDailyRollup(ctx context.Context, tx *gorm.DB, schoolID int64, date string) error {
	tx = tx.WithContext(ctx)
	r := ASDailyRollup{SchoolID: schoolID, Date: date}
	if err := lockRow(tx, &r, "school_id = ? AND date = ?", schoolID, date); err != nil {
		return err
	}
	var agg struct {
		Held, Cancelled, Present, Absent, Excused int
	}
	err := tx.Model(&ProgramSession{}).Select(`
		COALESCE(SUM(CASE WHEN status = 'scheduled' AND marked_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS held,
		COALESCE(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0) AS cancelled,
		COALESCE(SUM(CASE WHEN status = 'scheduled' THEN present_count ELSE 0 END), 0) AS present,
		COALESCE(SUM(CASE WHEN status = 'scheduled' THEN absent_count ELSE 0 END), 0) AS absent,
		COALESCE(SUM(CASE WHEN status = 'scheduled' THEN excused_count ELSE 0 END), 0) AS excused`).
		Where("school_id = ? AND date = ?", schoolID, date).Scan(&agg).Error
	if err != nil {
		return err
	}
	return tx.Model(&ASDailyRollup{}).Where("id = ?", r.ID).Updates(map[string]any{"sessions_held": agg.Held,
		"sessions_cancelled": agg.Cancelled, "present": agg.Present, "absent": agg.Absent, "excused": agg.Excused}).Error
}

// After-school indicator keys (group "afterschool"). AS-03 is coverage:
// service on every school day and a place for every student whose guardian
// asks (demand met); participation is voluntary (AS-04), shown, never
// alerted on.
const (
	IndOffersService        = "as.offers_service"
	IndParticipationPct     = "as.participation_pct"
	IndDaysPerWeek          = "as.days_per_week"
	IndMinutesPerDay        = "as.minutes_per_day"
	IndAttendancePct        = "as.attendance_pct"
	IndTeacherParticipation = "as.teacher_participation_pct"
	IndPlanCompliant        = "as.plan_compliant"
	IndSchoolDays           = "as.school_days"
	IndServiceDaysPct       = "as.service_days_pct"
	IndGradesTotal          = "as.grades_total"
	IndGradesOfferedPct     = "as.grades_offered_pct"
	IndStudentsApplied      = "as.students_applied"
	IndDemandMetPct         = "as.demand_met_pct"
	IndUnmetDemand          = "as.unmet_demand"
	IndCoveragePct          = "as.coverage_pct"
	IndProgramsUnconfirmed  = "as.programs_unconfirmed"
	IndProgramsConfirmed    = "as.programs_confirmed_new_lesson"

	// IndEnrolledPct is the former name of IndParticipationPct.
	IndEnrolledPct = IndParticipationPct
)

func init() {
	RegisterIndicators(IndicatorSource{
		Group: "afterschool",
		Defs: []IndicatorDef{
			{Key: IndCoveragePct, MsgID: "as.ind.coverage_pct", Unit: "pct", HigherIsBetter: true, Agg: AggMin, Rule: policies.RuleAS03},
			{Key: IndSchoolDays, MsgID: "as.ind.school_days", Unit: "count", Agg: AggSum, Rule: policies.RuleAS03},
			{Key: IndServiceDaysPct, MsgID: "as.ind.service_days_pct", Unit: "pct", HigherIsBetter: true, Agg: AggShare, WeightKey: IndSchoolDays, Rule: policies.RuleAS03},
			{Key: IndGradesTotal, MsgID: "as.ind.grades_total", Unit: "count", Agg: AggSum, Rule: policies.RuleAS03},
			{Key: IndGradesOfferedPct, MsgID: "as.ind.grades_offered_pct", Unit: "pct", HigherIsBetter: true, Agg: AggShare, WeightKey: IndGradesTotal, Rule: policies.RuleAS03},
			{Key: IndStudentsApplied, MsgID: "as.ind.students_applied", Unit: "count", Agg: AggSum, Rule: policies.RuleAS03},
			{Key: IndDemandMetPct, MsgID: "as.ind.demand_met_pct", Unit: "pct", HigherIsBetter: true, Agg: AggShare, WeightKey: IndStudentsApplied, Rule: policies.RuleAS03},
			{Key: IndUnmetDemand, MsgID: "as.ind.unmet_demand", Unit: "count", Agg: AggSum, Rule: policies.RuleAS03},
			{Key: IndParticipationPct, MsgID: "as.ind.participation_pct", Unit: "pct", Agg: AggMean, Rule: policies.RuleAS04, NoAlert: true},
			{Key: IndOffersService, MsgID: "as.ind.offers_service", Unit: "ratio", HigherIsBetter: true, Agg: AggShare, Rule: policies.RuleAS03},
			{Key: IndDaysPerWeek, MsgID: "as.ind.days_per_week", Unit: "days", HigherIsBetter: true, Agg: AggMin, Rule: policies.RuleAS01},
			{Key: IndMinutesPerDay, MsgID: "as.ind.minutes_per_day", Unit: "minutes", HigherIsBetter: true, Agg: AggMin, Rule: policies.RuleAS01},
			{Key: IndAttendancePct, MsgID: "as.ind.attendance_pct", Unit: "pct", HigherIsBetter: true, Agg: AggMean, Rule: policies.RuleAS04, NoAlert: true},
			{Key: IndTeacherParticipation, MsgID: "as.ind.teacher_participation_pct", Unit: "pct", HigherIsBetter: true, Agg: AggMean, Rule: policies.RuleAS09},
			{Key: IndPlanCompliant, MsgID: "as.ind.plan_compliant", Unit: "ratio", HigherIsBetter: true, Agg: AggShare, Rule: policies.RuleAS01},
			{Key: IndProgramsUnconfirmed, MsgID: "as.ind.programs_unconfirmed", Unit: "count", Agg: AggSum, Rule: policies.RuleAS06},
			{Key: IndProgramsConfirmed, MsgID: "as.ind.programs_confirmed_new_lesson", Unit: "count", Agg: AggSum, Rule: policies.RuleAS06},
		},
		Tables:  []string{"as_term_rollups", "as_daily_rollups", "terms"},
		Compute: computeASIndicators,
	})
}

// computeASIndicators reads the rollups: the term rollup of the term in
// force at `to`, the daily rollups of [from, to], and the school calendar
// (terms, no-school days) for the school days. A share without its
// denominator (no applications, no school days) is left out.
func computeASIndicators(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string) (map[int64]map[string]float64, error) {
	out := make(map[int64]map[string]float64, len(schoolIDs))
	if len(schoolIDs) == 0 {
		return out, nil
	}
	type termRow struct {
		ASTermRollup
		StartDate string
		EndDate   string
	}
	var rows []termRow
	err := db.WithContext(ctx).Table("as_term_rollups").Select("as_term_rollups.*, terms.start_date, terms.end_date").
		Joins("JOIN terms ON terms.id = as_term_rollups.term_id").
		Where("as_term_rollups.school_id IN ? AND terms.start_date <= ?", schoolIDs, to).
		Order("terms.start_date").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	latest := map[int64]termRow{}
	for _, r := range rows {
		latest[r.SchoolID] = r // ordered by start date: the last one wins
	}
	var daily []struct {
		SchoolID                 int64
		Present, Absent, Excused int
	}
	err = db.WithContext(ctx).Model(&ASDailyRollup{}).Select("school_id, SUM(present) AS present, SUM(absent) AS absent, SUM(excused) AS excused").
		Where("school_id IN ? AND date BETWEEN ? AND ?", schoolIDs, from, to).Group("school_id").Scan(&daily).Error
	if err != nil {
		return nil, err
	}
	// Days without service: every session handled that day was cancelled.
	var lost []struct {
		SchoolID int64
		Date     string
	}
	err = db.WithContext(ctx).Model(&ASDailyRollup{}).Select("school_id, date").
		Where("school_id IN ? AND date BETWEEN ? AND ? AND sessions_cancelled > 0 AND sessions_held = 0", schoolIDs, from, to).Scan(&lost).Error
	if err != nil {
		return nil, err
	}
	lostDays := map[int64]map[string]bool{}
	for _, l := range lost {
		if lostDays[l.SchoolID] == nil {
			lostDays[l.SchoolID] = map[string]bool{}
		}
		lostDays[l.SchoolID][l.Date] = true
	}
	var off []NoSchoolDay
	if err := db.WithContext(ctx).Where("school_id IN ? AND date BETWEEN ? AND ?", schoolIDs, from, to).Find(&off).Error; err != nil {
		return nil, err
	}
	offDays := map[int64]map[string]bool{}
	for _, o := range off {
		if offDays[o.SchoolID] == nil {
			offDays[o.SchoolID] = map[string]bool{}
		}
		offDays[o.SchoolID][o.Date] = true
	}
	share := func(m map[string]float64, key string, a, b int) {
		if b > 0 {
			m[key] = float64(a) / float64(b)
		}
	}
	for _, id := range schoolIDs {
		r, ok := latest[id]
		if !ok {
			continue // no term rollup: the school has no after-school data at all
		}
		m := map[string]float64{IndOffersService: 0, IndPlanCompliant: 0, IndDaysPerWeek: float64(r.DaysPerWeek),
			IndMinutesPerDay: float64(r.MinutesPerDay), IndProgramsUnconfirmed: float64(r.ProgramsUnconfirmed),
			IndProgramsConfirmed: float64(r.ProgramsConfirmed)}
		if r.HasPlan && r.DaysPerWeek > 0 && r.Programs > 0 {
			m[IndOffersService] = 1
		}
		if r.HasPlan && r.PlanCompliant {
			m[IndPlanCompliant] = 1
		}
		share(m, IndParticipationPct, r.StudentsEnrolled, r.StudentsTotal)
		share(m, IndTeacherParticipation, r.TeachersParticipating, r.TeachersTotal)
		if r.GradesTotal > 0 {
			m[IndGradesTotal] = float64(r.GradesTotal)
			share(m, IndGradesOfferedPct, r.GradesOffered, r.GradesTotal)
		}
		m[IndStudentsApplied] = float64(r.StudentsApplied)
		m[IndUnmetDemand] = float64(r.StudentsApplied - r.StudentsPlaced)
		share(m, IndDemandMetPct, r.StudentsPlaced, r.StudentsApplied)
		schoolDays, serviceDays := serviceDays(from, to, r.StartDate, r.EndDate, r.ServiceWeekdays, offDays[id], lostDays[id])
		if schoolDays > 0 {
			m[IndSchoolDays] = float64(schoolDays)
			share(m, IndServiceDaysPct, serviceDays, schoolDays)
		}
		// Coverage is the lower of service days and demand met: either
		// falling short breaks 全覆盖 (AS-03).
		cov, has := 1.0, false
		for _, k := range []string{IndServiceDaysPct, IndDemandMetPct} {
			if v, ok := m[k]; ok {
				cov, has = min(cov, v), true
			}
		}
		if has {
			m[IndCoveragePct] = cov
		}
		out[id] = m
	}
	for _, d := range daily {
		if marked := d.Present + d.Absent + d.Excused; marked > 0 && out[d.SchoolID] != nil {
			out[d.SchoolID][IndAttendancePct] = float64(d.Present) / float64(marked)
		}
	}
	return out, nil
}

// serviceDays counts the school days of [from, to] inside the term (a
// weekday that is not a no-school day) and those with service: the plan
// serves the weekday with a program running (weekdays, bit 1<<weekday) and
// the day's sessions were not all cancelled.
func serviceDays(from, to, termStart, termEnd string, weekdays int, off, lost map[string]bool) (school, service int) {
	if from < termStart {
		from = termStart
	}
	if to > termEnd {
		to = termEnd
	}
	start, err1 := time.Parse(DateLayout, from)
	end, err2 := time.Parse(DateLayout, to)
	if err1 != nil || err2 != nil {
		return 0, 0
	}
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		wd := int(d.Weekday())
		ds := d.Format(DateLayout)
		if wd == 0 || wd == 6 || off[ds] {
			continue
		}
		school++
		if weekdays&(1<<wd) != 0 && !lost[ds] {
			service++
		}
	}
	return school, service
}
