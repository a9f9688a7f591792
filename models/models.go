package models

// All lists every GORM model of the schema; the column test checks each
// field has its column on both databases. Each area appends its models in
// an init func of its own file.
var All = []any{
	&Region{}, &School{}, &Term{}, &NoSchoolDay{}, &Subject{}, &User{}, &Class{},
	&Student{}, &Guardian{}, &TeachingAssignment{}, &Setting{}, &AuditLog{},
	&Session{}, &LoginFailure{},
}
