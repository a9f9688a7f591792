package models

import (
	"context"

	"gorm.io/gorm"
)

// Ownership below the school for the reads that over-exposed (issue 11,
// finding 11): a head teacher sees their own classes' children, a parent the
// programs their own children are in.

// ClassesHeadedBy lists the ids of the classes userID is head teacher of.
func ClassesHeadedBy(ctx context.Context, db *gorm.DB, schoolID, userID int64) ([]int64, error) {
	var ids []int64
	err := db.WithContext(ctx).Model(&Class{}).Where("school_id = ? AND head_teacher_id = ?", schoolID, userID).Order("id").Pluck("id", &ids).Error
	return ids, err
}

// RosterInClasses is Roster restricted to students of the given classes
// (none: an empty roster).
func RosterInClasses(ctx context.Context, db *gorm.DB, programID int64, classIDs []int64) ([]RosterEntry, error) {
	out := []RosterEntry{}
	if len(classIDs) == 0 {
		return out, nil
	}
	err := db.WithContext(ctx).Table("enrollments").
		Select("enrollments.*, students.name AS student_name, classes.name AS class_name, students.priority_groups AS groups").
		Joins("JOIN students ON students.id = enrollments.student_id").
		Joins("JOIN classes ON classes.id = students.class_id").
		Where("enrollments.program_id = ? AND enrollments.status IN ? AND students.class_id IN ?", programID, activeStatuses, classIDs).
		Order("CASE enrollments.status WHEN 'enrolled' THEN 0 WHEN 'waitlisted' THEN 1 ELSE 2 END, enrollments.position, enrollments.id").
		Scan(&out).Error
	return out, err
}

// GuardianInProgram reports whether one of userID's children has an active
// enrollment (enrolled, waitlisted or applied) in the program.
func GuardianInProgram(ctx context.Context, db *gorm.DB, userID, programID int64) (bool, error) {
	var n int64
	err := db.WithContext(ctx).Table("enrollments").
		Joins("JOIN guardians ON guardians.student_id = enrollments.student_id").
		Where("guardians.user_id = ? AND enrollments.program_id = ? AND enrollments.status IN ?", userID, programID, activeStatuses).
		Count(&n).Error
	return n > 0, err
}
