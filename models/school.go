package models

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Region is an administrative division (city 210900, district 210902 …).
type Region struct {
	Code       string  `gorm:"primaryKey" json:"code"`
	Name       string  `json:"name"`
	ParentCode *string `json:"parent_code"`
	Level      string  `json:"level"` // city, county
}

// School is the tenant: every tenant row carries its id as school_id.
type School struct {
	ID          int64     `gorm:"primaryKey" json:"id"`
	RegionCode  string    `json:"region_code"`
	Name        string    `json:"name"`
	Stage       string    `json:"stage"` // primary, junior, nine_year
	Code        string    `json:"code"`  // 10-digit national school code
	OffWorkTime string    `json:"off_work_time"`
	TimeZone    string    `json:"time_zone"`
	CreatedAt   time.Time `json:"-"`
}

// School stages.
const (
	StagePrimary  = "primary"
	StageJunior   = "junior"
	StageNineYear = "nine_year"
)

// Grades returns the grades a school of this stage teaches.
func (s School) Grades() []int {
	switch s.Stage {
	case StagePrimary:
		return []int{1, 2, 3, 4, 5, 6}
	case StageJunior:
		return []int{7, 8, 9}
	default:
		return []int{1, 2, 3, 4, 5, 6, 7, 8, 9}
	}
}

// Location is the school's time zone ("today" is in it).
func (s School) Location() *time.Location {
	if loc, err := time.LoadLocation(s.TimeZone); err == nil && s.TimeZone != "" {
		return loc
	}
	return shanghai
}

// Today is the current date at the school, YYYY-MM-DD.
func (s School) Today(now time.Time) string { return now.In(s.Location()).Format(DateLayout) }

var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// DateLayout is how dates travel and are stored: YYYY-MM-DD.
const DateLayout = "2006-01-02"

// Term is a semester of a school year at one school.
type Term struct {
	ID         int64  `gorm:"primaryKey" json:"id"`
	SchoolID   int64  `json:"school_id"`
	SchoolYear string `json:"school_year"` // 2026-2027
	Semester   int    `json:"semester"`    // 1 autumn, 2 spring
	Name       string `json:"name"`
	StartDate  string `json:"start_date"`
	EndDate    string `json:"end_date"`
}

// Contains reports whether date (YYYY-MM-DD) falls in the term.
func (t Term) Contains(date string) bool { return date >= t.StartDate && date <= t.EndDate }

// NoSchoolDay is a day without school inside a term (holiday, event).
type NoSchoolDay struct {
	ID       int64  `gorm:"primaryKey" json:"id"`
	SchoolID int64  `json:"school_id"`
	TermID   int64  `json:"term_id"`
	Date     string `json:"date"`
	Reason   string `json:"reason"`
}

// Subject is a school subject; Name is the Chinese name used by the API (数学).
type Subject struct {
	ID     int64  `gorm:"primaryKey" json:"id"`
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
}

// Class is a class of a grade (4-1 is grade 4, number 1).
type Class struct {
	ID            int64  `gorm:"primaryKey" json:"id"`
	SchoolID      int64  `json:"school_id"`
	Grade         int    `json:"grade"`
	Number        int    `json:"number"`
	Name          string `json:"name"`
	HeadTeacherID *int64 `json:"head_teacher_id"`
}

// Label is the short form "4-1".
func (c Class) Label() string { return fmt.Sprintf("%d-%d", c.Grade, c.Number) }

// Student belongs to one class of one school.
type Student struct {
	ID             int64  `gorm:"primaryKey" json:"id"`
	SchoolID       int64  `json:"school_id"`
	ClassID        int64  `json:"class_id"`
	Name           string `json:"name"`
	StudentNo      string `json:"student_no"`
	Gender         string `json:"gender"`
	PriorityGroups string `json:"priority_groups"` // comma list: left_behind, migrant, dual_working
}

// Guardian links a parent account to a student.
type Guardian struct {
	ID        int64  `gorm:"primaryKey" json:"id"`
	SchoolID  int64  `json:"school_id"`
	UserID    int64  `json:"user_id"`
	StudentID int64  `json:"student_id"`
	Relation  string `json:"relation"`
}

// TeachingAssignment says a teacher teaches a subject in a class.
type TeachingAssignment struct {
	ID        int64 `gorm:"primaryKey" json:"id"`
	SchoolID  int64 `json:"school_id"`
	TeacherID int64 `json:"teacher_id"`
	ClassID   int64 `json:"class_id"`
	SubjectID int64 `json:"subject_id"`
}

// GetSchool loads a school by id. Schools are written once (the admin
// creates them; nothing updates a school row), so a school read outside a
// transaction is kept for the life of the process: every request of a
// school's staff needs it for the authorization chain and the settings
// chain (issue 12: the save path). A future update path must call
// forgetImmutable.
func GetSchool(ctx context.Context, db *gorm.DB, id int64) (*School, error) {
	key, cached := immutableKey(db, "school", id)
	if cached {
		if v, ok := immutableCache.Load(key); ok {
			s := v.(School)
			return &s, nil
		}
	}
	var s School
	if err := db.WithContext(ctx).First(&s, id).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	if cached {
		immutableCache.Store(key, s)
	}
	return &s, nil
}

// immutableCache holds rows that are never updated (schools, region
// paths), per database.
var immutableCache sync.Map

type immutableCacheKey struct {
	db   *sql.DB
	kind string
	id   any
}

// immutableKey is the cache key of a row, and whether db may use the
// cache: not inside a transaction (which may have just created the row and
// roll back).
func immutableKey(db *gorm.DB, kind string, id any) (immutableCacheKey, bool) {
	if _, inTx := db.Statement.ConnPool.(gorm.TxCommitter); inTx {
		return immutableCacheKey{}, false
	}
	sqlDB, err := db.DB()
	if err != nil {
		return immutableCacheKey{}, false
	}
	return immutableCacheKey{sqlDB, kind, id}, true
}

// GetClass loads a class by id.
func GetClass(ctx context.Context, db *gorm.DB, id int64) (*Class, error) {
	var c Class
	if err := db.WithContext(ctx).First(&c, id).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &c, nil
}

// GetRegion loads a region by code.
func GetRegion(ctx context.Context, db *gorm.DB, code string) (*Region, error) {
	var r Region
	if err := db.WithContext(ctx).First(&r, "code = ?", code).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &r, nil
}

// RegionPath is the codes from region code up to the root (code first).
// Regions are written once, like schools: the path is kept (GetSchool).
func RegionPath(ctx context.Context, db *gorm.DB, code string) ([]string, error) {
	key, cached := immutableKey(db, "region_path", code)
	if cached {
		if v, ok := immutableCache.Load(key); ok {
			return slices.Clone(v.([]string)), nil
		}
	}
	path, err := regionPath(ctx, db, code)
	if err == nil && cached {
		immutableCache.Store(key, slices.Clone(path))
	}
	return path, err
}

func regionPath(ctx context.Context, db *gorm.DB, code string) ([]string, error) {
	var path []string
	for code != "" && len(path) < 8 {
		var r Region
		if err := db.WithContext(ctx).First(&r, "code = ?", code).Error; err != nil {
			return nil, NotFoundIf(err)
		}
		path = append(path, r.Code)
		if r.ParentCode == nil {
			break
		}
		code = *r.ParentCode
	}
	return path, nil
}

// SubRegionCodes is code and every region below it.
func SubRegionCodes(ctx context.Context, db *gorm.DB, code string) ([]string, error) {
	var all []Region
	if err := db.WithContext(ctx).Find(&all).Error; err != nil {
		return nil, err
	}
	children := map[string][]string{}
	for _, r := range all {
		if r.ParentCode != nil {
			children[*r.ParentCode] = append(children[*r.ParentCode], r.Code)
		}
	}
	out := []string{code}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

// SchoolsInRegions lists the schools of the given region codes, by region then name.
func SchoolsInRegions(ctx context.Context, db *gorm.DB, codes []string) ([]School, error) {
	var out []School
	err := db.WithContext(ctx).Where("region_code IN ?", codes).Order("region_code, id").Find(&out).Error
	return out, err
}

// ClassesOfSchool lists a school's classes by grade and number.
func ClassesOfSchool(ctx context.Context, db *gorm.DB, schoolID int64) ([]Class, error) {
	var out []Class
	err := db.WithContext(ctx).Where("school_id = ?", schoolID).Order("grade, number").Find(&out).Error
	return out, err
}

// StudentsOfClass lists a class's students by student number.
func StudentsOfClass(ctx context.Context, db *gorm.DB, schoolID, classID int64) ([]Student, error) {
	var out []Student
	err := db.WithContext(ctx).Where("school_id = ? AND class_id = ?", schoolID, classID).Order("student_no").Find(&out).Error
	return out, err
}

// CurrentTerm is the school's term containing date, or the latest one before it.
func CurrentTerm(ctx context.Context, db *gorm.DB, schoolID int64, date string) (*Term, error) {
	var t Term
	err := db.WithContext(ctx).Where("school_id = ? AND start_date <= ?", schoolID, date).
		Order("start_date DESC").First(&t).Error
	if err != nil {
		err = db.WithContext(ctx).Where("school_id = ?", schoolID).Order("start_date").First(&t).Error
	}
	if err != nil {
		return nil, NotFoundIf(err)
	}
	return &t, nil
}

// SubjectByName finds a subject by its Chinese name (数学) or code (math).
func SubjectByName(ctx context.Context, db *gorm.DB, name string) (*Subject, error) {
	var s Subject
	if err := db.WithContext(ctx).Where("name = ? OR code = ?", name, name).First(&s).Error; err != nil {
		return nil, NotFoundIf(err)
	}
	return &s, nil
}

// IsSchoolDay reports whether date is a weekday of the term that is not a no-school day.
func IsSchoolDay(ctx context.Context, db *gorm.DB, schoolID int64, date string) (bool, error) {
	d, err := time.Parse(DateLayout, date)
	if err != nil {
		return false, Invalid("error.bad_date", map[string]any{"Value": date})
	}
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false, nil
	}
	var n int64
	if err := db.WithContext(ctx).Model(&NoSchoolDay{}).Where("school_id = ? AND date = ?", schoolID, date).Count(&n).Error; err != nil {
		return false, err
	}
	return n == 0, nil
}

// TeachesClass reports whether teacher teaches (any subject in) the class.
func TeachesClass(ctx context.Context, db *gorm.DB, teacherID, classID int64) (bool, error) {
	var n int64
	err := db.WithContext(ctx).Model(&TeachingAssignment{}).Where("teacher_id = ? AND class_id = ?", teacherID, classID).Count(&n).Error
	return n > 0, err
}

// GuardsClass reports whether the user is a guardian of a student in the class.
func GuardsClass(ctx context.Context, db *gorm.DB, userID, classID int64) (bool, error) {
	var n int64
	err := db.WithContext(ctx).Table("guardians").Joins("JOIN students ON students.id = guardians.student_id").
		Where("guardians.user_id = ? AND students.class_id = ?", userID, classID).Count(&n).Error
	return n > 0, err
}

// GuardsStudent reports whether the user is a guardian of the student.
func GuardsStudent(ctx context.Context, db *gorm.DB, userID, studentID int64) (bool, error) {
	var n int64
	err := db.WithContext(ctx).Model(&Guardian{}).Where("user_id = ? AND student_id = ?", userID, studentID).Count(&n).Error
	return n > 0, err
}

// ChildrenOf lists the students a guardian is linked to.
func ChildrenOf(ctx context.Context, db *gorm.DB, userID int64) ([]Student, error) {
	var out []Student
	err := db.WithContext(ctx).Joins("JOIN guardians ON guardians.student_id = students.id").
		Where("guardians.user_id = ?", userID).Order("students.id").Find(&out).Error
	return out, err
}

// ClassesTaughtBy lists the classes a teacher teaches or heads, in one school.
func ClassesTaughtBy(ctx context.Context, db *gorm.DB, schoolID, teacherID int64) ([]Class, error) {
	var out []Class
	err := db.WithContext(ctx).Where("school_id = ? AND (head_teacher_id = ? OR id IN (?))", schoolID, teacherID,
		db.Model(&TeachingAssignment{}).Select("class_id").Where("teacher_id = ?", teacherID)).
		Order("grade, number").Find(&out).Error
	return out, err
}
