package afterschool

// Orchestration of the afterschool area: operations that span several model calls,
// and the ownership checks next to the data they guard. Handlers bind, call
// one of these, and render.

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/scheduler"
)

// schoolProblem builds a solver input from a school's programs: slots per
// week and length from each program's slots, its first teacher, its room's
// type (rooms as the programs name them), the plan's windows, and each
// teacher's weekly maximum (AS-09 setting).
func (s *handlers) schoolProblem(c echo.Context, sc *models.School, term *models.Term) (_ scheduler.Problem, _ map[int64]string, err error) {
	defer models.Wrap(&err, "afterschool.schoolProblem")
	ctx := c.Request().Context()
	p := scheduler.Problem{Step: 10}
	names := map[int64]string{}
	plan, err := models.GetServicePlan(ctx, s.DB, sc.ID, term.ID)
	if err != nil {
		return p, nil, err
	}
	if plan != nil {
		for _, d := range plan.Spec().Days {
			st, _ := policies.Minutes(d.Start)
			en, _ := policies.Minutes(d.End)
			p.Windows = append(p.Windows, scheduler.Window{Weekday: d.Weekday, Start: st, End: en})
		}
	}
	maxH, err := models.SchoolIntSetting(ctx, s.DB, sc, policies.SettingTeacherMaxWeeklyHours, policies.DefaultTeacherMaxWeeklyHours)
	if err != nil {
		return p, nil, err
	}
	ps, err := models.ProgramsOfTerm(ctx, s.DB, sc.ID, term.ID)
	if err != nil {
		return p, nil, err
	}
	rooms := map[string]string{}
	teachers := map[string]bool{}
	for _, pr := range ps {
		names[pr.ID] = pr.Name
		t := scheduler.Task{ID: pr.ID, Name: pr.Name, SlotsPerWeek: len(pr.Slots), Grades: pr.GradeList(), RoomType: pr.RoomType}
		if t.RoomType == "" {
			t.RoomType = "classroom"
		}
		if len(pr.Slots) > 0 {
			t.Duration = pr.Slots[0].Slot().Minutes()
		}
		for _, in := range pr.Instructors {
			if in.TeacherID != nil {
				t.Instructor = strconv.FormatInt(*in.TeacherID, 10)
				teachers[t.Instructor] = true
				break
			}
		}
		room := pr.Room
		if room == "" {
			room = fmt.Sprintf("room-%d", pr.ID)
		}
		rooms[room] = t.RoomType
		p.Programs = append(p.Programs, t)
	}
	for _, id := range slices.Sorted(mapKeys(rooms)) {
		p.Rooms = append(p.Rooms, scheduler.Room{ID: id, Type: rooms[id]})
	}
	for _, id := range slices.Sorted(mapKeys(teachers)) {
		p.Instructors = append(p.Instructors, scheduler.Instructor{ID: id, MaxWeeklyMinutes: maxH * 60})
	}
	return p, names, nil
}

func (s *handlers) planReport(c echo.Context, p *models.ServicePlan, vs []policies.Violation) PlanReport {
	tr := app.Translator(c)
	out := PlanReport{Compliant: len(vs) == 0, Violations: make([]ViolationItem, 0, len(vs))}
	if p != nil {
		out.PlanID, out.TermID, out.OffWorkTime = p.ID, p.TermID, p.OffWorkTime
	}
	for _, v := range vs {
		params := map[string]any{"Rule": v.Rule}
		for k, x := range v.Params {
			params[k] = x
		}
		if wd, ok := params["Weekday"]; ok {
			params["Day"] = tr.T("as.weekday." + strconv.Itoa(toInt(wd)))
		}
		out.Violations = append(out.Violations, ViolationItem{Rule: v.Rule, Message: tr.T(v.MsgID, params)})
	}
	return out
}

func (s *handlers) programView(c echo.Context) (_ *models.ProgramView, err error) {
	defer models.Wrap(&err, "afterschool.programView")
	id, err := app.ParamID(c, "id")
	if err != nil {
		return nil, err
	}
	p, err := models.GetProgram(c.Request().Context(), s.DB, id)
	if err != nil {
		return nil, err
	}
	ps, err := models.ProgramsOfTerm(c.Request().Context(), s.DB, p.SchoolID, p.TermID)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].ID == p.ID {
			return &ps[i], nil
		}
	}
	return nil, models.ErrNotFound
}

// canSeeRoster: school leaders, the program's instructors and the
// administrator see the whole roster; a head teacher sees the children of
// their own classes in it (rosterOf). The bureau needs aggregates only: no
// named roster (issue 11, finding 11).
func (s *handlers) canSeeRoster(c echo.Context, p *models.Program) (_ bool, err error) {
	defer models.Wrap(&err, "afterschool.canSeeRoster")
	all, classes, err := s.rosterScope(c, p)
	return all || len(classes) > 0, err
}

// rosterScope tells whether the viewer sees the whole roster, or else the
// classes whose children they see in it.
func (s *handlers) rosterScope(c echo.Context, p *models.Program) (all bool, classes []int64, err error) {
	v := app.ViewerOf(c)
	if s.isLeader(c, p.SchoolID) || v.HasRole(policies.RoleAdmin) {
		return true, nil, nil
	}
	if ok, err := models.IsInstructor(c.Request().Context(), s.DB, p.ID, v.User.ID); err != nil || ok {
		return ok, nil, err
	}
	if s.Authz.HasRoleIn(v.User.ID, policies.RoleHeadTeacher, p.SchoolID) {
		classes, err = models.ClassesHeadedBy(c.Request().Context(), s.DB, p.SchoolID, v.User.ID)
		return false, classes, err
	}
	return false, nil, nil
}

// rosterOf is the roster as the viewer may see it.
func (s *handlers) rosterOf(c echo.Context, p *models.Program) ([]models.RosterEntry, error) {
	all, classes, err := s.rosterScope(c, p)
	if err != nil {
		return nil, err
	}
	if all {
		return models.Roster(c.Request().Context(), s.DB, p.ID)
	}
	return models.RosterInClasses(c.Request().Context(), s.DB, p.ID, classes)
}

// canSeeSessions: school staff and overseers see a program's sessions; a
// parent only those of a program one of their children is in.
func (s *handlers) canSeeSessions(c echo.Context, p *models.Program) (bool, error) {
	v := app.ViewerOf(c)
	for _, g := range v.Grants {
		if g.Role != policies.RoleParent {
			return true, nil // staff or overseer: the route's permission checked the reach
		}
	}
	return models.GuardianInProgram(c.Request().Context(), s.DB, v.User.ID, p.ID)
}

// enroll decides who is asking: a guardian of the student opts in (AS-04);
// school staff enter it on the guardian's written request (note required);
// anyone else does not see the student.
func (s *handlers) enroll(c echo.Context, programID int64, req enrollRequest) (_ *models.Enrollment, err error) {
	defer models.Wrap(&err, "afterschool.enroll")
	ctx := c.Request().Context()
	v := app.ViewerOf(c)
	p, err := models.GetProgram(ctx, s.DB, programID)
	if err != nil {
		return nil, err
	}
	in := models.EnrollInput{ProgramID: p.ID, StudentID: req.StudentID, RequestedBy: v.User.ID, Note: req.Note, Channel: req.Channel, Rank: req.Rank}
	guards, err := models.GuardsStudent(ctx, s.DB, v.User.ID, req.StudentID)
	if err != nil {
		return nil, err
	}
	if !guards {
		ok, err := s.staffForStudent(c, p.SchoolID, req.StudentID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, models.ErrNotFound
		}
		in.Staff, in.FeeWaived = true, req.FeeWaived
	}
	today, _, err := s.TodayAt(c, p.SchoolID)
	if err != nil {
		return nil, err
	}
	in.Today = today
	return models.Enroll(ctx, s.DB, in)
}

// staffForStudent: leaders for any student of the school; a head teacher
// for the students of their own class.
func (s *handlers) staffForStudent(c echo.Context, schoolID, studentID int64) (_ bool, err error) {
	defer models.Wrap(&err, "afterschool.staffForStudent")
	if s.isLeader(c, schoolID) {
		return true, nil
	}
	var st models.Student
	if err := s.DB.WithContext(c.Request().Context()).First(&st, studentID).Error; err != nil {
		return false, models.NotFoundIf(err)
	}
	cl, err := models.GetClass(c.Request().Context(), s.DB, st.ClassID)
	if err != nil {
		return false, err
	}
	return cl.SchoolID == schoolID && cl.HeadTeacherID != nil && *cl.HeadTeacherID == app.ViewerOf(c).User.ID, nil
}

// withdraw lets the student's guardian or staff for the student end an enrollment.
func (s *handlers) withdraw(c echo.Context, id int64) (_ *models.Enrollment, _ *models.Enrollment, err error) {
	defer models.Wrap(&err, "afterschool.withdraw")
	ctx := c.Request().Context()
	e, err := models.GetEnrollment(ctx, s.DB, id)
	if err != nil {
		return nil, nil, err
	}
	guards, err := models.GuardsStudent(ctx, s.DB, app.ViewerOf(c).User.ID, e.StudentID)
	if err != nil {
		return nil, nil, err
	}
	if !guards {
		ok, err := s.staffForStudent(c, e.SchoolID, e.StudentID)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, models.ErrNotFound
		}
	}
	return models.Withdraw(ctx, s.DB, id)
}

// instructorOrLeader: a session's marks and cancellation belong to the
// program's instructors and the school's leaders.
func (s *handlers) sessionFor(c echo.Context) (_ *models.ProgramSession, err error) {
	defer models.Wrap(&err, "afterschool.sessionFor")
	id, err := app.ParamID(c, "id")
	if err != nil {
		return nil, err
	}
	ss, err := models.GetSession(c.Request().Context(), s.DB, id)
	if err != nil {
		return nil, err
	}
	if s.isLeader(c, ss.SchoolID) {
		return ss, nil
	}
	ok, err := models.IsInstructor(c.Request().Context(), s.DB, ss.ProgramID, app.ViewerOf(c).User.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, models.ErrNotFound
	}
	return ss, nil
}

// staffEnrollOption is a student staff may enroll on a guardian's request.
type staffEnrollOption struct {
	ID    int64
	Label string
}

// staffEnrollStudents lists the students the viewer may enroll in p on a
// guardian's request (AS-04): for leaders every student of the eligible
// grades, for a head teacher those of their own classes; nil for others.
func (s *handlers) staffEnrollStudents(c echo.Context, p *models.Program) (_ []staffEnrollOption, err error) {
	defer models.Wrap(&err, "afterschool.staffEnrollStudents")
	ctx := c.Request().Context()
	uid := app.ViewerOf(c).User.ID
	leader := s.isLeader(c, p.SchoolID)
	if !leader && !s.Authz.HasRoleIn(uid, policies.RoleHeadTeacher, p.SchoolID) {
		return nil, nil
	}
	classes, err := models.ClassesOfSchool(ctx, s.DB, p.SchoolID)
	if err != nil {
		return nil, err
	}
	var out []staffEnrollOption
	for _, cl := range classes {
		if !p.Eligible(cl.Grade) || (!leader && (cl.HeadTeacherID == nil || *cl.HeadTeacherID != uid)) {
			continue
		}
		sts, err := models.StudentsOfClass(ctx, s.DB, p.SchoolID, cl.ID)
		if err != nil {
			return nil, err
		}
		for _, st := range sts {
			out = append(out, staffEnrollOption{ID: st.ID, Label: cl.Label() + " " + st.Name + " (" + st.StudentNo + ")"})
		}
	}
	return out, nil
}
