package app_test

import "fmt"

// Key pages of the after-school and exam areas, as each role sees them on a phone.
func init() {
	hz1 := func(path string) func(e *env) string {
		return func(e *env) string { return fmt.Sprintf(path, e.hz1().ID) }
	}
	browserPages = append(browserPages,
		browserPage{Name: "afterschool/plan", User: "principal.hz1", PathFor: hz1("/schools/%d/afterschool"), Want: []string{"课后服务方案", "保存并检查"}},
		browserPage{Name: "afterschool/timetable", User: "academic.hz1", PathFor: hz1("/schools/%d/afterschool/timetable"), Want: []string{"课后服务课表"}},
		browserPage{Name: "afterschool/hours", User: "principal.hz1", PathFor: hz1("/schools/%d/afterschool/hours"), Want: []string{"课后服务课时"}},
		browserPage{Name: "afterschool/choose", User: "parent.hz1", Path: "/afterschool/choose", Want: []string{"课后服务选课"}},
		browserPage{Name: "afterschool/mine", User: "teacher.hz1", Path: "/afterschool/mine", Want: []string{"我的课后服务"}},
		browserPage{Name: "afterschool/coverage", User: "bureau.haizhou", Path: "/regions/210902/afterschool", Want: []string{"课后服务覆盖情况"}},
		browserPage{Name: "exams/calendar-academic", User: "academic.hz1", PathFor: hz1("/schools/%d/exams"), Want: []string{"学期考试日历"}},
		browserPage{Name: "exams/calendar-parent", User: "parent.hz1", PathFor: hz1("/schools/%d/exams"), Want: []string{"学期考试日历"}},
		browserPage{Name: "exams/home-principal", User: "principal.hz1", Path: "/exams", Want: []string{"考试"}},
	)
}

// Key homework pages: the teacher's evening form, the head teacher's week,
// the parent's board.
func init() {
	class41 := func(path string) func(e *env) string {
		return func(e *env) string { return fmt.Sprintf(path, e.class(e.hz1().ID, 4, 1).ID) }
	}
	browserPages = append(browserPages,
		browserPage{Name: "homework/today", User: "teacher.hz1", Path: "/homework", Want: []string{"今日作业", "4-1", "8-1", "HW-03"}},
		browserPage{Name: "homework/parent", User: "parent.hz1", Path: "/homework/parent", Want: []string{"4年级1班"}},
		browserPage{Name: "homework/board", User: "parent.hz1", PathFor: class41("/homework/classes/%d/board"), Want: []string{"4年级1班", "HW-02"}},
		browserPage{Name: "homework/head-week", User: "head.hz1", PathFor: class41("/homework/classes/%d/week"), Want: []string{"4年级1班"}},
	)
}
