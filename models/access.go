package models

import (
	"context"

	"gorm.io/gorm"

	"jianfu/policies"
)

// ClassAccess is how a user relates to a class, below the school level.
// Ownership is checked here, next to the data it guards (DESIGN.md).
type ClassAccess struct {
	Leader   bool // principal or academic director of the school
	Head     bool // the class's head teacher
	Teaches  bool // teaches a subject in the class
	Guardian bool // guardian of a student in the class
	Overseer bool // bureau or admin reaching the school (read only)
}

// Staff reports whether the user works with the class.
func (a ClassAccess) Staff() bool { return a.Leader || a.Head || a.Teaches }

// Any reports whether the user has any reason to see the class.
func (a ClassAccess) Any() bool { return a.Staff() || a.Guardian || a.Overseer }

// ClassAccessFor works out user's relation to cl; grants are the user's role
// grants (to tell an overseer from school staff).
func ClassAccessFor(ctx context.Context, db *gorm.DB, az *Authorizer, userID int64, grants []Grant, cl *Class) (a ClassAccess, err error) {
	defer wrap(&err, "ClassAccessFor(class %d)", cl.ID)
	a.Leader = az.HasRoleIn(userID, policies.RolePrincipal, cl.SchoolID) || az.HasRoleIn(userID, policies.RoleAcademic, cl.SchoolID)
	a.Head = cl.HeadTeacherID != nil && *cl.HeadTeacherID == userID
	// One statement for both relations (every homework save asks).
	var rel struct{ Teaches, Guardian bool }
	if err = db.WithContext(ctx).Raw(`SELECT
		EXISTS (SELECT 1 FROM teaching_assignments WHERE teacher_id = ? AND class_id = ?) AS teaches,
		EXISTS (SELECT 1 FROM guardians JOIN students ON students.id = guardians.student_id
			WHERE guardians.user_id = ? AND students.class_id = ?) AS guardian`,
		userID, cl.ID, userID, cl.ID).Scan(&rel).Error; err != nil {
		return a, err
	}
	a.Teaches, a.Guardian = rel.Teaches, rel.Guardian
	overseer := false
	for _, g := range grants {
		if g.Role == policies.RoleBureau || g.Role == policies.RoleAdmin {
			overseer = true
		}
	}
	if overseer {
		ok, _, err := az.Allowed(ctx, userID, Target{SchoolID: cl.SchoolID}, "school", "read")
		if err != nil {
			return a, err
		}
		a.Overseer = ok
	}
	return a, nil
}
