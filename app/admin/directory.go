package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
)

func (s *handlers) apiSchools(c echo.Context) error {
	schools, err := s.Authz.VisibleSchools(c.Request().Context(), app.ViewerOf(c).User.ID, "school", "list")
	if err != nil {
		return err
	}
	out := app.List[app.SchoolItem]{Items: make([]app.SchoolItem, 0, len(schools))}
	for _, sc := range schools {
		out.Items = append(out.Items, app.SchoolItem{ID: sc.ID, Name: sc.Name, RegionCode: sc.RegionCode, Stage: sc.Stage})
	}
	return c.JSON(http.StatusOK, out)
}

// directoryRoutes are the school directory of the API: schools, their
// classes and a class's students, each only to those who may see them.
func (s *handlers) directoryRoutes() {
	api := s.r.Group("/api/v1")
	s.r.Route(api, http.MethodGet, "/schools", s.apiSchools, app.Allow("school", "list", nil))
	s.r.Route(api, http.MethodGet, "/schools/:school/classes", s.apiClasses, app.Allow("class", "read", app.SchoolParam("school")))
	s.r.Route(api, http.MethodGet, "/classes/:class/students", s.apiStudents, app.Allow("student", "read", app.ClassParam("class")))
}

// ClassItem is a class in API lists.
type ClassItem struct {
	ID            int64  `json:"id"`
	Grade         int    `json:"grade"`
	Number        int    `json:"number"`
	Name          string `json:"name"`
	HeadTeacherID *int64 `json:"head_teacher_id"`
}

func (s *handlers) apiClasses(c echo.Context) error {
	classes, err := models.ClassesOfSchool(c.Request().Context(), s.DB, app.TargetOf(c).SchoolID)
	if err != nil {
		return err
	}
	out := app.List[ClassItem]{Items: make([]ClassItem, 0, len(classes))}
	for _, cl := range classes {
		out.Items = append(out.Items, ClassItem{ID: cl.ID, Grade: cl.Grade, Number: cl.Number, Name: cl.Name, HeadTeacherID: cl.HeadTeacherID})
	}
	return c.JSON(http.StatusOK, out)
}

// StudentItem is a student in API lists.
type StudentItem struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// apiStudents lists a class's students to the staff of that class: school
// leaders, its head teacher and the teachers who teach it.
func (s *handlers) apiStudents(c echo.Context) error {
	cl := app.ClassOf(c)
	acc, err := s.ClassAccessOf(c, cl)
	if err != nil {
		return err
	}
	if !acc.Staff() {
		return models.ErrNotFound
	}
	students, err := models.StudentsOfClass(c.Request().Context(), s.DB, cl.SchoolID, cl.ID)
	if err != nil {
		return err
	}
	out := app.List[StudentItem]{Items: make([]StudentItem, 0, len(students))}
	for _, st := range students {
		out.Items = append(out.Items, StudentItem{ID: st.ID, Name: st.Name})
	}
	return c.JSON(http.StatusOK, out)
}
