package app

import (
	"github.com/labstack/echo/v4"

	"jianfu/models"
)

// Today is the one "today" of the product: the date (YYYY-MM-DD) at school in
// its time zone; a nil school means the district's default zone.
func (s *Server) Today(school *models.School) string {
	if school == nil {
		return models.School{}.Today(s.Cfg.Now())
	}
	return school.Today(s.Cfg.Now())
}

// TodayAt looks up the school and returns today there, with the school.
func (s *Server) TodayAt(c echo.Context, schoolID int64) (today string, school *models.School, err error) {
	defer models.Wrap(&err, "TodayAt(school %d)", schoolID)
	school, err = models.GetSchool(c.Request().Context(), s.DB, schoolID)
	if err != nil {
		return "", nil, err
	}
	return s.Today(school), school, nil
}

// ViewerToday is today at the viewer's own school, or the district's.
func (s *Server) ViewerToday(c echo.Context) string {
	if v := ViewerOf(c); v != nil && v.User.SchoolID != nil {
		if t, _, err := s.TodayAt(c, *v.User.SchoolID); err == nil {
			return t
		}
	}
	return s.Today(nil)
}
