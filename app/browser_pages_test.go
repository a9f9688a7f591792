package app_test

import (
	"fmt"

	"jianfu/app/apptest"
)

// areaPages are the key pages of each area, as each role sees them on a
// phone: after-school and exams, homework (the teacher's evening form, the
// head teacher's week, the parent's board), bureau monitoring.
func areaPages() []browserPage {
	var pages []browserPage
	{
		hz1 := func(path string) func(e *apptest.Env) string {
			return func(e *apptest.Env) string { return fmt.Sprintf(path, e.HZ1().ID) }
		}
		pages = append(pages,
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
	{
		class41 := func(path string) func(e *apptest.Env) string {
			return func(e *apptest.Env) string { return fmt.Sprintf(path, e.Class(e.HZ1().ID, 4, 1).ID) }
		}
		pages = append(pages,
			browserPage{Name: "homework/today", User: "teacher.hz1", Path: "/homework", Want: []string{"今日作业", "4-1", "8-1", "HW-03"}},
			browserPage{Name: "homework/parent", User: "parent.hz1", Path: "/homework/parent", Want: []string{"4年级1班"}},
			browserPage{Name: "homework/board", User: "parent.hz1", PathFor: class41("/homework/classes/%d/board"), Want: []string{"4年级1班", "HW-02"}},
			browserPage{Name: "homework/head-week", User: "head.hz1", PathFor: class41("/homework/classes/%d/week"), Want: []string{"4年级1班"}},
		)
	}
	{
		hz1 := func(path string) func(e *apptest.Env) string {
			return func(e *apptest.Env) string { return fmt.Sprintf(path, e.HZ1().ID) }
		}
		pages = append(pages,
			browserPage{Name: "bureau/dashboard", User: "bureau.fuxin", Path: "/regions/210900", Want: []string{"“双减”监测看板", "区域汇总", "阜新市海州区实验学校", "逐周趋势"}},
			browserPage{Name: "bureau/dashboard-haizhou", User: "bureau.haizhou", Path: "/regions/210902", Want: []string{"海州区", "阜新市海州区第二小学"}},
			browserPage{Name: "bureau/reports", User: "bureau.fuxin", Path: "/regions/210900/reports?status=overdue", Want: []string{"学校报告", "逾期"}},
			browserPage{Name: "bureau/alerts", User: "bureau.haizhou", Path: "/regions/210902/alerts", Want: []string{"预警", "MON-04"}},
			browserPage{Name: "bureau/complaints", User: "bureau.haizhou", Path: "/regions/210902/complaints", Want: []string{"投诉举报", "转学校办理"}},
			browserPage{Name: "bureau/settings", User: "bureau.fuxin", Path: "/regions/210900/settings", Want: []string{"报告周期", "预警规则与阈值"}},
			browserPage{Name: "bureau/school", User: "principal.hz1", PathFor: hz1("/schools/%d/monitor"), Want: []string{"本学期指标", "班级作业量日历"}},
			browserPage{Name: "bureau/school-reports", User: "principal.hz1", PathFor: hz1("/schools/%d/reports"), Want: []string{"学校报告", "半月报"}},
			browserPage{Name: "bureau/school-complaints", User: "principal.hz1", PathFor: hz1("/schools/%d/complaints"), Want: []string{"投诉举报", "提交答复"}},
			browserPage{Name: "bureau/complaint-form", Path: "/complaints/new?region=210902", Want: []string{"投诉举报", "查询办理进度"}},
			browserPage{Name: "bureau/jobs", User: "admin", Path: "/admin/jobs", Want: []string{"定时任务运行记录"}},
		)
	}
	{
		hz1 := func(path string) func(e *apptest.Env) string {
			return func(e *apptest.Env) string { return fmt.Sprintf(path, e.HZ1().ID) }
		}
		// Issue 10: school setup, program management, lottery, the parent's week.
		pages = append(pages,
			browserPage{Name: "setup/principal", User: "principal.hz1", PathFor: hz1("/schools/%d/setup"), Want: []string{"学校设置", "下载 Excel 模板", "添加学期"}},
			browserPage{Name: "setup/admin-regions", User: "admin", Path: "/admin/regions", Want: []string{"新建区域", "创建区域"}},
			browserPage{Name: "afterschool/programs", User: "academic.hz1", PathFor: hz1("/schools/%d/afterschool/programs"), Want: []string{"课后服务项目管理", "新建项目"}},
			browserPage{Name: "afterschool/lottery", User: "academic.hz1", PathFor: hz1("/schools/%d/afterschool/lottery"), Want: []string{"报名抽签", "抽签（预览）"}},
			browserPage{Name: "homework/parent-week", User: "parent.hz1", Path: "/homework/parent/week", Want: []string{"本周作业", "周一", "订阅考试日历"}},
		)
	}
	return pages
}
