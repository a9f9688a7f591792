package dbtest_test

import (
	"testing"

	"jianfu/models"
	"jianfu/models/dbtest"
)

// The throwaway cluster stops and starts, and a database failure in between
// is classed unavailable (503), whether the connection was cut or refused.
func TestClusterRestart(t *testing.T) {
	c := dbtest.StartCluster(t)
	db, err := models.Open(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s, _ := db.DB(); s.Close() }()
	if err := db.Exec("SELECT 1").Error; err != nil {
		t.Fatal(err)
	}
	c.Stop("fast")
	for i := 0; i < 2; i++ { // a cut connection, then a refused one
		if err := db.Exec("SELECT 1").Error; !models.IsUnavailable(err) {
			t.Fatalf("query %d with the database down: %v, want unavailable", i, err)
		}
	}
	c.Start()
	if err := db.Exec("SELECT 1").Error; err != nil {
		t.Fatalf("first query after the restart: %v", err)
	}
}
