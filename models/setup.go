package models

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"jianfu/policies"
)

// This file is school setup: what an admin or a principal enters so that a
// new school can be used — regions, terms with their no-school days, classes,
// subjects, teachers and what they teach, students and their guardians. Each
// function validates field by field (an *Error with Field set, so a form can
// show the message next to the input), writes in one transaction and audits.
//
// Role grants are written to casbin_rule inside the same transaction (a
// teacher account without its role would be a half-written record); the
// caller then calls Authorizer.PolicyChanged so the enforcer sees them.

// InvalidField is a 400 about one input field: Field names the form field.
func InvalidField(field, msgID string, params map[string]any) *Error {
	e := Invalid(msgID, params)
	e.Field = field
	return e
}

var regionCodeRe = regexp.MustCompile(`^[0-9]{6}$`)

// NewRegion is an administrative division an admin adds.
type NewRegion struct {
	Code       string // 6-digit administrative division code (210902)
	Name       string
	ParentCode string // empty: a top-level region (city)
}

// Region levels.
const (
	LevelCity   = "city"
	LevelCounty = "county"
)

// CreateRegion validates and creates a region; a region with a parent is a
// county, one without a city.
func CreateRegion(ctx context.Context, db *gorm.DB, n NewRegion) (*Region, error) {
	n.Code, n.Name, n.ParentCode = strings.TrimSpace(n.Code), strings.TrimSpace(n.Name), strings.TrimSpace(n.ParentCode)
	switch {
	case !regionCodeRe.MatchString(n.Code):
		return nil, InvalidField("code", "setup.region_code_invalid", map[string]any{"Code": n.Code})
	case n.Name == "" || utf8.RuneCountInString(n.Name) > 64:
		return nil, InvalidField("name", "setup.name_invalid", nil)
	case n.ParentCode == n.Code:
		return nil, InvalidField("parent_code", "setup.region_parent_self", nil)
	}
	r := &Region{Code: n.Code, Name: n.Name, Level: LevelCity}
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		if n.ParentCode != "" {
			if _, err := GetRegion(ctx, tx, n.ParentCode); err != nil {
				if errors.Is(err, ErrNotFound) {
					return InvalidField("parent_code", "school.region_unknown", map[string]any{"Code": n.ParentCode})
				}
				return err
			}
			p := n.ParentCode
			r.ParentCode, r.Level = &p, LevelCounty
		}
		if _, err := GetRegion(ctx, tx, n.Code); err == nil {
			return &Error{Kind: KindConflict, Code: "region_code_taken", MsgID: "setup.region_code_taken", Field: "code", Params: map[string]any{"Code": n.Code}}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.Create(r).Error; err != nil {
			return NotFoundIf(err)
		}
		return Audit(ctx, tx, 0, "create", "region", r.Code, nil, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

var schoolYearRe = regexp.MustCompile(`^([0-9]{4})-([0-9]{4})$`)

// NewTerm is a semester an admin or principal adds to a school.
type NewTerm struct {
	SchoolYear   string // 2026-2027
	Semester     int    // 1 autumn, 2 spring
	Name         string // empty: made from the year and semester by the caller
	StartDate    string
	EndDate      string
	NoSchoolDays []NewNoSchoolDay
}

// NewNoSchoolDay is a day without school inside a term.
type NewNoSchoolDay struct {
	Date   string
	Reason string
}

func validDate(s string) bool {
	_, err := time.Parse(DateLayout, s)
	return err == nil && len(s) == len(DateLayout)
}

// Validate checks the term field by field.
func (n *NewTerm) Validate() error {
	n.SchoolYear, n.Name = strings.TrimSpace(n.SchoolYear), strings.TrimSpace(n.Name)
	n.StartDate, n.EndDate = strings.TrimSpace(n.StartDate), strings.TrimSpace(n.EndDate)
	m := schoolYearRe.FindStringSubmatch(n.SchoolYear)
	if m == nil {
		return InvalidField("school_year", "setup.school_year_invalid", map[string]any{"Value": n.SchoolYear})
	}
	y1, _ := strconv.Atoi(m[1])
	y2, _ := strconv.Atoi(m[2])
	switch {
	case y2 != y1+1:
		return InvalidField("school_year", "setup.school_year_invalid", map[string]any{"Value": n.SchoolYear})
	case n.Semester != 1 && n.Semester != 2:
		return InvalidField("semester", "setup.semester_invalid", nil)
	case n.Name == "" || utf8.RuneCountInString(n.Name) > 64:
		return InvalidField("name", "setup.name_invalid", nil)
	case !validDate(n.StartDate):
		return InvalidField("start_date", "setup.date_invalid", map[string]any{"Value": n.StartDate})
	case !validDate(n.EndDate):
		return InvalidField("end_date", "setup.date_invalid", map[string]any{"Value": n.EndDate})
	case n.EndDate <= n.StartDate:
		return InvalidField("end_date", "setup.term_end_before_start", nil)
	}
	seen := map[string]bool{}
	for i := range n.NoSchoolDays {
		d := &n.NoSchoolDays[i]
		d.Date, d.Reason = strings.TrimSpace(d.Date), strings.TrimSpace(d.Reason)
		switch {
		case !validDate(d.Date):
			return InvalidField("no_school_days", "setup.date_invalid", map[string]any{"Value": d.Date})
		case d.Date < n.StartDate || d.Date > n.EndDate:
			return InvalidField("no_school_days", "setup.day_outside_term", map[string]any{"Value": d.Date})
		case seen[d.Date]:
			return InvalidField("no_school_days", "setup.day_twice", map[string]any{"Value": d.Date})
		case utf8.RuneCountInString(d.Reason) > 64:
			return InvalidField("no_school_days", "setup.reason_too_long", nil)
		}
		seen[d.Date] = true
	}
	return nil
}

// ParseNoSchoolDays reads one day a line: "2026-10-01 国庆节" (date, then an
// optional reason). Blank lines are skipped.
func ParseNoSchoolDays(text string) []NewNoSchoolDay {
	var out []NewNoSchoolDay
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		date, reason, _ := strings.Cut(line, " ")
		out = append(out, NewNoSchoolDay{Date: strings.TrimSpace(date), Reason: strings.TrimSpace(reason)})
	}
	return out
}

// CreateTerm adds a term and its no-school days to a school. Terms of one
// school may not overlap.
func CreateTerm(ctx context.Context, db *gorm.DB, schoolID int64, n NewTerm) (*Term, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	t := &Term{SchoolID: schoolID, SchoolYear: n.SchoolYear, Semester: n.Semester, Name: n.Name, StartDate: n.StartDate, EndDate: n.EndDate}
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		return createTermTx(ctx, tx, t, n.NoSchoolDays)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func createTermTx(ctx context.Context, tx *gorm.DB, t *Term, days []NewNoSchoolDay) error {
	if _, err := GetSchool(ctx, tx, t.SchoolID); err != nil {
		return err
	}
	var n int64
	if err := tx.Model(&Term{}).Where("school_id = ? AND school_year = ? AND semester = ?", t.SchoolID, t.SchoolYear, t.Semester).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return &Error{Kind: KindConflict, Code: "term_exists", MsgID: "setup.term_exists", Field: "semester", Params: map[string]any{"Year": t.SchoolYear, "Semester": t.Semester}}
	}
	if err := tx.Model(&Term{}).Where("school_id = ? AND start_date <= ? AND end_date >= ?", t.SchoolID, t.EndDate, t.StartDate).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return InvalidField("start_date", "setup.term_overlaps", nil)
	}
	if err := tx.Create(t).Error; err != nil {
		return NotFoundIf(err)
	}
	for _, d := range days {
		row := NoSchoolDay{SchoolID: t.SchoolID, TermID: t.ID, Date: d.Date, Reason: d.Reason}
		if err := tx.Create(&row).Error; err != nil {
			return NotFoundIf(err)
		}
	}
	return Audit(ctx, tx, t.SchoolID, "create", "term", t.ID, nil, map[string]any{"term": t, "no_school_days": days})
}

// TermsOfSchool lists a school's terms, the latest first.
func TermsOfSchool(ctx context.Context, db *gorm.DB, schoolID int64) ([]Term, error) {
	var ts []Term
	err := db.WithContext(ctx).Where("school_id = ?", schoolID).Order("start_date DESC").Find(&ts).Error
	return ts, err
}

// NoSchoolDaysOfTerm lists a term's days without school, in date order.
func NoSchoolDaysOfTerm(ctx context.Context, db *gorm.DB, schoolID, termID int64) ([]NoSchoolDay, error) {
	var ds []NoSchoolDay
	err := db.WithContext(ctx).Where("school_id = ? AND term_id = ?", schoolID, termID).Order("date").Find(&ds).Error
	return ds, err
}

// NewClass is a class an admin or principal adds.
type NewClass struct {
	Grade         int
	Number        int
	Name          string
	HeadTeacherID int64 // 0: none yet
}

// CreateClass adds a class of a grade the school teaches; a head teacher
// must be a teacher of the school and gets the head_teacher role there.
func CreateClass(ctx context.Context, db *gorm.DB, schoolID int64, n NewClass) (*Class, error) {
	var cl *Class
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		var err error
		cl, err = createClassTx(ctx, tx, schoolID, n)
		return err
	})
	return cl, err
}

func createClassTx(ctx context.Context, tx *gorm.DB, schoolID int64, n NewClass) (*Class, error) {
	sc, err := GetSchool(ctx, tx, schoolID)
	if err != nil {
		return nil, err
	}
	n.Name = strings.TrimSpace(n.Name)
	ok := false
	for _, g := range sc.Grades() {
		ok = ok || g == n.Grade
	}
	switch {
	case !ok:
		return nil, InvalidField("grade", "setup.grade_not_taught", map[string]any{"Grade": n.Grade})
	case n.Number < 1 || n.Number > 99:
		return nil, InvalidField("number", "setup.class_number_invalid", nil)
	case n.Name == "" || utf8.RuneCountInString(n.Name) > 32:
		return nil, InvalidField("name", "setup.name_invalid", nil)
	}
	var taken int64
	if err := tx.Model(&Class{}).Where("school_id = ? AND grade = ? AND number = ?", schoolID, n.Grade, n.Number).Count(&taken).Error; err != nil {
		return nil, err
	}
	if taken > 0 {
		return nil, &Error{Kind: KindConflict, Code: "class_exists", MsgID: "setup.class_exists", Field: "number", Params: map[string]any{"Class": Class{Grade: n.Grade, Number: n.Number}.Label()}}
	}
	cl := &Class{SchoolID: schoolID, Grade: n.Grade, Number: n.Number, Name: n.Name}
	if n.HeadTeacherID != 0 {
		if err := staffOfSchool(ctx, tx, schoolID, n.HeadTeacherID, "head_teacher_id"); err != nil {
			return nil, err
		}
		id := n.HeadTeacherID
		cl.HeadTeacherID = &id
	}
	if err := tx.Create(cl).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	if cl.HeadTeacherID != nil {
		if err := grantTx(tx, *cl.HeadTeacherID, policies.RoleHeadTeacher, policies.SchoolDomain(schoolID)); err != nil {
			return nil, err
		}
	}
	return cl, Audit(ctx, tx, schoolID, "create", "class", cl.ID, nil, cl)
}

// staffOfSchool checks that userID is an account of the school holding the
// teacher role there; field names the input for the message.
func staffOfSchool(ctx context.Context, tx *gorm.DB, schoolID, userID int64, field string) error {
	var n int64
	err := tx.WithContext(ctx).Table("users").
		Joins("JOIN casbin_rule ON casbin_rule.ptype = 'g' AND casbin_rule.v0 = 'user:' || CAST(users.id AS TEXT) AND casbin_rule.v2 = ?", policies.SchoolDomain(schoolID)).
		Where("users.id = ? AND users.school_id = ? AND casbin_rule.v1 = ?", userID, schoolID, policies.RoleTeacher).
		Count(&n).Error
	if err != nil {
		return err
	}
	if n == 0 {
		return InvalidField(field, "setup.not_a_teacher", nil)
	}
	return nil
}

// grantTx adds a role grant in tx unless it is held already. The enforcer
// learns of it through Authorizer.PolicyChanged after the commit.
func grantTx(tx *gorm.DB, userID int64, role, domain string) error {
	sub := policies.UserSubject(userID)
	var n int64
	if err := tx.Table("casbin_rule").Where("ptype = 'g' AND v0 = ? AND v1 = ? AND v2 = ?", sub, role, domain).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	row := map[string]any{"ptype": "g", "v0": sub, "v1": role, "v2": domain, "v3": "", "v4": "", "v5": ""}
	if err := tx.Table("casbin_rule").Create(row).Error; err != nil {
		return err
	}
	return Audit(tx.Statement.Context, tx, schoolOfDomain(domain), "grant", "user", userID, nil, Grant{role, domain})
}

// PolicyChanged reloads the policy after grants were written directly in a
// transaction (school setup) and tells the other replicas.
func (a *Authorizer) PolicyChanged() error {
	if err := a.loadPolicy(); err != nil {
		return err
	}
	if a.Watcher != nil {
		return a.Watcher.Update()
	}
	return nil
}

var subjectCodeRe = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)

// NewSubject is a subject an admin adds to the district's list.
type NewSubject struct {
	Code   string // ascii key: math, chinese …
	Name   string // Chinese name, used by the API (数学)
	NameEn string
}

// CreateSubject adds a subject; subjects are shared by every school.
func CreateSubject(ctx context.Context, db *gorm.DB, n NewSubject) (*Subject, error) {
	n.Code, n.Name, n.NameEn = strings.TrimSpace(n.Code), strings.TrimSpace(n.Name), strings.TrimSpace(n.NameEn)
	switch {
	case !subjectCodeRe.MatchString(n.Code):
		return nil, InvalidField("code", "setup.subject_code_invalid", map[string]any{"Code": n.Code})
	case n.Name == "" || utf8.RuneCountInString(n.Name) > 32:
		return nil, InvalidField("name", "setup.name_invalid", nil)
	case n.NameEn == "" || utf8.RuneCountInString(n.NameEn) > 64:
		return nil, InvalidField("name_en", "setup.name_invalid", nil)
	}
	s := &Subject{Code: n.Code, Name: n.Name, NameEn: n.NameEn}
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		var taken int64
		if err := tx.Model(&Subject{}).Where("code = ? OR name = ?", n.Code, n.Name).Count(&taken).Error; err != nil {
			return err
		}
		if taken > 0 {
			return &Error{Kind: KindConflict, Code: "subject_exists", MsgID: "setup.subject_exists", Field: "name", Params: map[string]any{"Name": n.Name}}
		}
		if err := tx.Create(s).Error; err != nil {
			return NotFoundIf(err)
		}
		return Audit(ctx, tx, 0, "create", "subject", s.ID, nil, s)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Subjects lists every subject by code.
func Subjects(ctx context.Context, db *gorm.DB) ([]Subject, error) {
	var ss []Subject
	err := db.WithContext(ctx).Order("id").Find(&ss).Error
	return ss, err
}

// StaffRoles are the school roles school setup may give a staff account.
var StaffRoles = []string{policies.RoleTeacher, policies.RoleAcademic, policies.RolePrincipal}

// NewStaff is a teacher (or another staff member) added to a school.
type NewStaff struct {
	Username    string
	DisplayName string
	Roles       []string // teacher is always given; academic, principal optional
}

// CreatedAccount is an account made by school setup with its one-time
// password, shown once to whoever created it.
type CreatedAccount struct {
	User     User
	Password string
}

// CreateStaff creates a staff account of the school with a one-time password
// and grants it teacher plus the roles asked for.
func CreateStaff(ctx context.Context, db *gorm.DB, schoolID int64, n NewStaff) (*CreatedAccount, error) {
	var out *CreatedAccount
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		var err error
		out, err = createStaffTx(ctx, tx, schoolID, n)
		return err
	})
	return out, err
}

func createStaffTx(ctx context.Context, tx *gorm.DB, schoolID int64, n NewStaff) (*CreatedAccount, error) {
	roles := []string{policies.RoleTeacher}
	for _, r := range n.Roles {
		ok := false
		for _, s := range StaffRoles {
			ok = ok || s == r
		}
		if !ok {
			return nil, InvalidField("roles", "user.role_unknown", map[string]any{"Role": r})
		}
		if r != policies.RoleTeacher {
			roles = append(roles, r)
		}
	}
	acc, err := newAccountTx(ctx, tx, schoolID, n.Username, n.DisplayName)
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		if err := grantTx(tx, acc.User.ID, r, policies.SchoolDomain(schoolID)); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// newAccountTx creates an account of the school with a generated one-time
// password; fields username and display_name name the inputs.
func newAccountTx(ctx context.Context, tx *gorm.DB, schoolID int64, username, displayName string) (*CreatedAccount, error) {
	username, displayName = strings.TrimSpace(username), strings.TrimSpace(displayName)
	if !usernameRe.MatchString(username) {
		return nil, InvalidField("username", "account.username_invalid", map[string]any{"Username": username})
	}
	if displayName == "" || utf8.RuneCountInString(displayName) > 64 {
		return nil, InvalidField("display_name", "account.display_name_invalid", nil)
	}
	if _, err := GetSchool(ctx, tx, schoolID); err != nil {
		return nil, err
	}
	var taken int64
	if err := tx.Model(&User{}).Where("username = ?", username).Count(&taken).Error; err != nil {
		return nil, err
	}
	if taken > 0 {
		return nil, &Error{Kind: KindConflict, Code: "username_taken", MsgID: "account.username_taken", Field: "username", Params: map[string]any{"Username": username}}
	}
	pw := GeneratePassword()
	sid := schoolID
	u, err := CreateUser(ctx, tx, username, displayName, pw, &sid)
	if err != nil {
		return nil, err
	}
	if err := tx.Model(&User{}).Where("id = ?", u.ID).Update("must_change_password", true).Error; err != nil {
		return nil, err
	}
	u.MustChangePassword = true
	if err := Audit(ctx, tx, schoolID, "create", "user", u.ID, nil, map[string]any{"username": u.Username,
		"display_name": u.DisplayName, "school_id": schoolID, "one_time_password": true}); err != nil {
		return nil, err
	}
	return &CreatedAccount{User: *u, Password: pw}, nil
}

// StaffMember is a teacher of a school with what they teach.
type StaffMember struct {
	User        User
	Roles       []string
	Assignments []string // "数学 4-1"
}

// StaffOfSchool lists the accounts holding a school role at the school.
func StaffOfSchool(ctx context.Context, db *gorm.DB, schoolID int64) ([]StaffMember, error) {
	var rules []struct{ V0, V1 string }
	staff := []string{policies.RoleTeacher, policies.RoleHeadTeacher, policies.RoleAcademic, policies.RolePrincipal}
	if err := db.WithContext(ctx).Table("casbin_rule").Select("v0, v1").
		Where("ptype = 'g' AND v2 = ? AND v1 IN ?", policies.SchoolDomain(schoolID), staff).Order("v0, v1").Scan(&rules).Error; err != nil {
		return nil, err
	}
	roles := map[int64][]string{}
	var ids []int64
	for _, r := range rules {
		id, err := strconv.ParseInt(strings.TrimPrefix(r.V0, "user:"), 10, 64)
		if err != nil {
			continue
		}
		if _, ok := roles[id]; !ok {
			ids = append(ids, id)
		}
		roles[id] = append(roles[id], r.V1)
	}
	var users []User
	if len(ids) > 0 {
		if err := db.WithContext(ctx).Where("id IN ? AND school_id = ?", ids, schoolID).Order("username").Find(&users).Error; err != nil {
			return nil, err
		}
	}
	var as []struct {
		TeacherID     int64
		Name          string
		Grade, Number int
	}
	if err := db.WithContext(ctx).Table("teaching_assignments").
		Select("teaching_assignments.teacher_id, subjects.name, classes.grade, classes.number").
		Joins("JOIN subjects ON subjects.id = teaching_assignments.subject_id").
		Joins("JOIN classes ON classes.id = teaching_assignments.class_id").
		Where("teaching_assignments.school_id = ?", schoolID).
		Order("classes.grade, classes.number, subjects.id").Scan(&as).Error; err != nil {
		return nil, err
	}
	teaches := map[int64][]string{}
	for _, a := range as {
		teaches[a.TeacherID] = append(teaches[a.TeacherID], a.Name+" "+Class{Grade: a.Grade, Number: a.Number}.Label())
	}
	out := make([]StaffMember, 0, len(users))
	for _, u := range users {
		out = append(out, StaffMember{User: u, Roles: roles[u.ID], Assignments: teaches[u.ID]})
	}
	return out, nil
}

// AssignTeaching records that a teacher of the school teaches a subject in
// one of its classes.
func AssignTeaching(ctx context.Context, db *gorm.DB, schoolID, teacherID, classID, subjectID int64) error {
	return Tx(ctx, db, func(tx *gorm.DB) error {
		return assignTeachingTx(ctx, tx, schoolID, teacherID, classID, subjectID)
	})
}

func assignTeachingTx(ctx context.Context, tx *gorm.DB, schoolID, teacherID, classID, subjectID int64) error {
	if err := staffOfSchool(ctx, tx, schoolID, teacherID, "teacher_id"); err != nil {
		return err
	}
	var n int64
	if err := tx.Model(&Class{}).Where("id = ? AND school_id = ?", classID, schoolID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return InvalidField("class_id", "setup.class_unknown", nil)
	}
	if err := tx.Model(&Subject{}).Where("id = ?", subjectID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return InvalidField("subject_id", "setup.subject_unknown", nil)
	}
	if err := tx.Model(&TeachingAssignment{}).Where("class_id = ? AND subject_id = ? AND teacher_id = ?", classID, subjectID, teacherID).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return nil // held already
	}
	ta := TeachingAssignment{SchoolID: schoolID, TeacherID: teacherID, ClassID: classID, SubjectID: subjectID}
	if err := tx.Create(&ta).Error; err != nil {
		return NotFoundIf(err)
	}
	return Audit(ctx, tx, schoolID, "create", "teaching_assignment", ta.ID, nil, ta)
}

// NewStudent is a student added to a class.
type NewStudent struct {
	ClassID   int64
	Name      string
	StudentNo string
	Gender    string
}

var studentNoRe = regexp.MustCompile(`^[0-9A-Za-z-]{1,32}$`)

// CreateStudent adds a student to a class of the school.
func CreateStudent(ctx context.Context, db *gorm.DB, schoolID int64, n NewStudent) (*Student, error) {
	var st *Student
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		var err error
		st, err = createStudentTx(ctx, tx, schoolID, n)
		return err
	})
	return st, err
}

func createStudentTx(ctx context.Context, tx *gorm.DB, schoolID int64, n NewStudent) (*Student, error) {
	n.Name, n.StudentNo, n.Gender = strings.TrimSpace(n.Name), strings.TrimSpace(n.StudentNo), strings.TrimSpace(n.Gender)
	switch {
	case n.Name == "" || utf8.RuneCountInString(n.Name) > 32:
		return nil, InvalidField("name", "setup.name_invalid", nil)
	case !studentNoRe.MatchString(n.StudentNo):
		return nil, InvalidField("student_no", "setup.student_no_invalid", map[string]any{"Value": n.StudentNo})
	case utf8.RuneCountInString(n.Gender) > 8:
		return nil, InvalidField("gender", "setup.gender_invalid", nil)
	}
	var cnt int64
	if err := tx.Model(&Class{}).Where("id = ? AND school_id = ?", n.ClassID, schoolID).Count(&cnt).Error; err != nil {
		return nil, err
	}
	if cnt == 0 {
		return nil, InvalidField("class_id", "setup.class_unknown", nil)
	}
	if err := tx.Model(&Student{}).Where("school_id = ? AND student_no = ?", schoolID, n.StudentNo).Count(&cnt).Error; err != nil {
		return nil, err
	}
	if cnt > 0 {
		return nil, &Error{Kind: KindConflict, Code: "student_no_taken", MsgID: "setup.student_no_taken", Field: "student_no", Params: map[string]any{"Value": n.StudentNo}}
	}
	st := &Student{SchoolID: schoolID, ClassID: n.ClassID, Name: n.Name, StudentNo: n.StudentNo, Gender: n.Gender}
	if err := tx.Create(st).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return st, Audit(ctx, tx, schoolID, "create", "student", st.ID, nil, st)
}

// NewGuardian links a parent account to a student: an existing parent account
// of the school by username, or a new one (with a one-time password).
type NewGuardian struct {
	StudentID   int64
	Username    string
	DisplayName string // for a new account
	Relation    string
}

// AddGuardian links a guardian to a student of the school. It returns the
// created account (nil when an existing account was linked).
func AddGuardian(ctx context.Context, db *gorm.DB, schoolID int64, n NewGuardian) (*CreatedAccount, error) {
	var out *CreatedAccount
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		var err error
		out, err = addGuardianTx(ctx, tx, schoolID, n)
		return err
	})
	return out, err
}

func addGuardianTx(ctx context.Context, tx *gorm.DB, schoolID int64, n NewGuardian) (*CreatedAccount, error) {
	n.Username, n.Relation = strings.TrimSpace(n.Username), strings.TrimSpace(n.Relation)
	if utf8.RuneCountInString(n.Relation) > 16 {
		return nil, InvalidField("relation", "setup.relation_invalid", nil)
	}
	var st Student
	if err := tx.Where("id = ? AND school_id = ?", n.StudentID, schoolID).First(&st).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, InvalidField("student_id", "setup.student_unknown", nil)
		}
		return nil, err
	}
	var existing User
	var created *CreatedAccount
	err := tx.Where("username = ?", n.Username).First(&existing).Error
	switch {
	case err == nil:
		if existing.SchoolID == nil || *existing.SchoolID != schoolID {
			return nil, &Error{Kind: KindConflict, Code: "username_taken", MsgID: "account.username_taken", Field: "username", Params: map[string]any{"Username": n.Username}}
		}
	case errors.Is(err, gorm.ErrRecordNotFound):
		if created, err = newAccountTx(ctx, tx, schoolID, n.Username, n.DisplayName); err != nil {
			return nil, err
		}
		existing = created.User
	default:
		return nil, err
	}
	var cnt int64
	if err := tx.Model(&Guardian{}).Where("user_id = ? AND student_id = ?", existing.ID, st.ID).Count(&cnt).Error; err != nil {
		return nil, err
	}
	if cnt > 0 {
		return nil, &Error{Kind: KindConflict, Code: "guardian_exists", MsgID: "setup.guardian_exists", Field: "username", Params: map[string]any{"Username": n.Username}}
	}
	g := Guardian{SchoolID: schoolID, UserID: existing.ID, StudentID: st.ID, Relation: n.Relation}
	if err := tx.Create(&g).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	if err := grantTx(tx, existing.ID, policies.RoleParent, policies.SchoolDomain(schoolID)); err != nil {
		return nil, err
	}
	return created, Audit(ctx, tx, schoolID, "create", "guardian", g.ID, nil, g)
}

// StudentRow is a student with the class label and the guardians' names.
type StudentRow struct {
	Student
	Class     string
	Guardians []string
}

// StudentsOfSchool lists a school's students by class and number.
func StudentsOfSchool(ctx context.Context, db *gorm.DB, schoolID int64) ([]StudentRow, error) {
	var rows []struct {
		Student
		Grade, Number int
	}
	if err := db.WithContext(ctx).Table("students").Select("students.*, classes.grade, classes.number").
		Joins("JOIN classes ON classes.id = students.class_id").Where("students.school_id = ?", schoolID).
		Order("classes.grade, classes.number, students.student_no").Scan(&rows).Error; err != nil {
		return nil, err
	}
	var gs []struct {
		StudentID   int64
		DisplayName string
		Username    string
	}
	if err := db.WithContext(ctx).Table("guardians").Select("guardians.student_id, users.display_name, users.username").
		Joins("JOIN users ON users.id = guardians.user_id").Where("guardians.school_id = ?", schoolID).Order("users.username").Scan(&gs).Error; err != nil {
		return nil, err
	}
	by := map[int64][]string{}
	for _, g := range gs {
		by[g.StudentID] = append(by[g.StudentID], g.DisplayName+" ("+g.Username+")")
	}
	out := make([]StudentRow, len(rows))
	for i, r := range rows {
		out[i] = StudentRow{Student: r.Student, Class: Class{Grade: r.Grade, Number: r.Number}.Label(), Guardians: by[r.ID]}
	}
	return out, nil
}
