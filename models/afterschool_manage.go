package models

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"jianfu/policies"
)

// What the academic director changes on a program after creating it: its
// description, room, capacity, grades and fee (AS-10), its application
// window (lottery programs), and fee waivers on the roster. Slots and
// instructors are fixed once sessions exist (attendance and hours hang on
// them); a new timetable is a new program.

// ProgramUpdate is the editable part of a program.
type ProgramUpdate struct {
	Name        string
	Description string
	Room        string
	Capacity    int
	Grades      []int
	FeeFen      int
	FeeUnit     string
}

// UpdateProgram changes a program of the school. Capacity may not drop below
// the students enrolled, and a grade may not be removed while a student of it
// holds a place; when capacity grows, waitlisted students are promoted in
// order. Field names the input a refusal belongs to.
func UpdateProgram(ctx context.Context, db *gorm.DB, schoolID, id int64, in ProgramUpdate) (*Program, error) {
	in.Name, in.Description, in.Room = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description), strings.TrimSpace(in.Room)
	if in.FeeUnit == "" {
		in.FeeUnit = policies.FeePerTerm
	}
	switch {
	case in.Name == "" || len([]rune(in.Name)) > 100:
		return nil, InvalidField("name", "as.program.bad_name", nil)
	case in.Capacity < 1 || in.Capacity > 2000:
		return nil, InvalidField("capacity", "as.program.bad_capacity", nil)
	case len(in.Grades) == 0:
		return nil, InvalidField("grades", "as.program.no_grades", nil)
	case in.FeeFen < 0 || in.FeeFen > 10_000_000:
		return nil, InvalidField("fee", "as.program.bad_fee", nil)
	case in.FeeUnit != policies.FeePerTerm && in.FeeUnit != policies.FeePerSession:
		return nil, InvalidField("fee_unit", "as.program.bad_fee", nil)
	case len([]rune(in.Room)) > 64 || len([]rune(in.Description)) > 2000:
		return nil, InvalidField("room", "setup.name_invalid", nil)
	}
	sc, err := GetSchool(ctx, db, schoolID)
	if err != nil {
		return nil, err
	}
	for _, g := range in.Grades {
		if !slices.Contains(sc.Grades(), g) {
			return nil, InvalidField("grades", "as.program.bad_grade", map[string]any{"Value": g})
		}
	}
	var out Program
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		p, err := lockProgram(tx, id)
		if err != nil {
			return err
		}
		if p.SchoolID != schoolID {
			return ErrNotFound
		}
		before := *p
		if in.Capacity < p.EnrolledCount {
			return &Error{Kind: KindConflict, Code: "capacity_below_enrolled", MsgID: "as.program.capacity_below_enrolled", Field: "capacity", Params: map[string]any{"N": p.EnrolledCount}}
		}
		var held []int
		if err := tx.Table("enrollments").Select("DISTINCT classes.grade").
			Joins("JOIN students ON students.id = enrollments.student_id").Joins("JOIN classes ON classes.id = students.class_id").
			Where("enrollments.program_id = ? AND enrollments.status IN ?", p.ID, activeStatuses).Pluck("classes.grade", &held).Error; err != nil {
			return err
		}
		for _, g := range held {
			if !slices.Contains(in.Grades, g) {
				return &Error{Kind: KindConflict, Code: "grade_has_students", MsgID: "as.program.grade_has_students", Field: "grades", Params: map[string]any{"Grade": g}}
			}
		}
		gs := slices.Clone(in.Grades)
		sort.Ints(gs)
		gs = slices.Compact(gs)
		strs := make([]string, len(gs))
		for i, g := range gs {
			strs[i] = strconv.Itoa(g)
		}
		p.Name, p.Description, p.Room, p.Capacity, p.Grades, p.FeeFen, p.FeeUnit = in.Name, in.Description, in.Room, in.Capacity, strings.Join(strs, ","), in.FeeFen, in.FeeUnit
		p.DrillFlag = ""
		if ok, w := policies.LooksLikeSubjectDrill(in.Name + " " + in.Description); ok {
			p.DrillFlag = w
		}
		if err := tx.Model(&Program{}).Where("id = ?", p.ID).Updates(map[string]any{"name": p.Name, "description": p.Description,
			"room": p.Room, "capacity": p.Capacity, "grades": p.Grades, "fee_fen": p.FeeFen, "fee_unit": p.FeeUnit, "drill_flag": p.DrillFlag}).Error; err != nil {
			return err
		}
		// More places: the waitlist moves up, first come first.
		if free := p.Capacity - p.EnrolledCount; free > 0 && p.WaitlistCount > 0 {
			var next []Enrollment
			if err := tx.Where("program_id = ? AND status = ?", p.ID, EnrollWaitlisted).Order("position, id").Limit(free).Find(&next).Error; err != nil {
				return err
			}
			now := time.Now().UTC()
			for _, e := range next {
				nb := e
				if err := tx.Model(&Enrollment{}).Where("id = ?", e.ID).Updates(map[string]any{"status": EnrollEnrolled, "updated_at": now}).Error; err != nil {
					return err
				}
				e.Status = EnrollEnrolled
				if err := Audit(ctx, tx, schoolID, "promote", "enrollment", e.ID, nb, e); err != nil {
					return err
				}
			}
			p.EnrolledCount += len(next)
			p.WaitlistCount -= len(next)
			if err := tx.Model(&Program{}).Where("id = ?", p.ID).Updates(map[string]any{"enrolled_count": p.EnrolledCount, "waitlist_count": p.WaitlistCount}).Error; err != nil {
				return err
			}
		}
		if err := Audit(ctx, tx, schoolID, "update", "program", p.ID, before, p); err != nil {
			return err
		}
		out = *p
		return RefreshTermRollup(ctx, tx, schoolID, p.TermID)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// SetApplicationWindow opens a lottery program's applications until the date
// (inclusive) or, with an empty date, closes them as of yesterday. Once the
// lottery has been drawn the window is fixed.
func SetApplicationWindow(ctx context.Context, db *gorm.DB, schoolID, id int64, until, today string) (*Program, error) {
	var out Program
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		p, err := lockProgram(tx, id)
		if err != nil {
			return err
		}
		if p.SchoolID != schoolID {
			return ErrNotFound
		}
		if p.Mode != ModeLottery {
			return &Error{Kind: KindConflict, Code: "not_lottery", MsgID: "as.window.not_lottery"}
		}
		if p.LotterySeed != "" {
			return &Error{Kind: KindConflict, Code: "lottery_drawn", MsgID: "as.window.drawn"}
		}
		before := *p
		if until == "" {
			t, err := time.Parse(DateLayout, today)
			if err != nil {
				return Invalid("error.bad_date", map[string]any{"Value": today})
			}
			until = t.AddDate(0, 0, -1).Format(DateLayout)
		} else if !validDate(until) {
			return InvalidField("apply_until", "error.bad_date", map[string]any{"Value": until})
		} else if until < today {
			return InvalidField("apply_until", "as.window.past", map[string]any{"Date": until})
		}
		p.ApplyUntil = until
		if err := tx.Model(&Program{}).Where("id = ?", p.ID).Update("apply_until", until).Error; err != nil {
			return err
		}
		out = *p
		return Audit(ctx, tx, schoolID, "update", "application_window", p.ID, map[string]string{"apply_until": before.ApplyUntil}, map[string]string{"apply_until": until})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// SetFeeWaiver waives (or charges again) a student's fee for a program
// (AS-10: reduced or waived fees for students in need).
func SetFeeWaiver(ctx context.Context, db *gorm.DB, schoolID, enrollmentID int64, waived bool) (*Enrollment, error) {
	var out Enrollment
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Where("id = ? AND school_id = ?", enrollmentID, schoolID).First(&out).Error; err != nil {
			return NotFoundIf(err)
		}
		if !slices.Contains(activeStatuses, out.Status) {
			return &Error{Kind: KindConflict, Code: "not_active", MsgID: "as.enroll.not_active"}
		}
		if out.FeeWaived == waived {
			return nil
		}
		before := out
		out.FeeWaived = waived
		if err := tx.Model(&Enrollment{}).Where("id = ?", out.ID).Updates(map[string]any{"fee_waived": waived, "updated_at": time.Now().UTC()}).Error; err != nil {
			return err
		}
		action := "waive"
		if !waived {
			action = "charge"
		}
		return Audit(ctx, tx, schoolID, action, "enrollment", out.ID, before, out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
