package models_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"jianfu/models"
	"jianfu/models/dbtest"
)

// TestBackupRestore runs the README's backup and restore commands against a
// throwaway cluster: what was dumped comes back, with every migration applied.
func TestBackupRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	c := dbtest.StartCluster(t)
	src := c.CreateDatabase("jianfu")
	ctx := context.Background()
	db, err := models.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s, _ := db.DB(); s.Close() }()
	if err := models.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&models.Region{Code: "210902", Name: "海州区", Level: "county"}).Error; err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "jianfu.dump")
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(filepath.Join(c.Bin(), name), args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	run("pg_dump", "-Fc", "-d", src, "-f", dump)
	dst := c.CreateDatabase("jianfu_restored")
	run("pg_restore", "--no-owner", "--exit-on-error", "-d", dst, dump)

	rdb, err := models.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s, _ := rdb.DB(); s.Close() }()
	var r models.Region
	if err := rdb.Where("code = ?", "210902").First(&r).Error; err != nil || r.Name != "海州区" {
		t.Fatalf("restored region %+v, %v", r, err)
	}
	st, err := models.MigrationsStatus(ctx, rdb)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if !m.Applied {
			t.Fatalf("migration %d not applied after the restore", m.Version)
		}
	}
}
