package seed

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"jianfu/models"
)

// Bulk loading (issue 12): PostgreSQL takes rows through COPY (pgx
// CopyFrom), SQLite through multi-row INSERTs sized for its parameter
// binding; rows that others point at get their ids reserved up front
// (reserveIDs), so nothing is read back per row.

// rowsWritten counts the rows the seed has written (the progress bar's rate).
var rowsWritten atomic.Int64

// bulkInsert writes rows (values in cols order) into table.
func bulkInsert(ctx context.Context, db *gorm.DB, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	_, inTx := db.Statement.ConnPool.(gorm.TxCommitter)
	var err error
	if models.DialectOf(db) == models.Postgres && !inTx {
		err = copyRows(ctx, db, table, cols, rows)
	} else {
		err = insertRows(ctx, db, table, cols, rows)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	rowsWritten.Add(int64(len(rows)))
	if progress != nil {
		progress(int64(len(rows)))
	}
	return nil
}

// progress, when set, is told of every bulk write.
var progress func(n int64)

func copyRows(ctx context.Context, db *gorm.DB, table string, cols []string, rows [][]any) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy: driver connection is %T, not pgx", dc)
		}
		pc := c.Conn()
		// A bulk load of generated rows skips the per-row foreign-key and
		// outbox triggers when the role may (a superuser, as in benchmarks):
		// the ids come from rows just written, and the rollups are rebuilt
		// after the load. Elsewhere the triggers run.
		if _, err := pc.Exec(ctx, "SET session_replication_role = replica"); err == nil {
			defer pc.Exec(context.WithoutCancel(ctx), "RESET session_replication_role")
		}
		_, err := pc.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
}

func insertRows(ctx context.Context, db *gorm.DB, table string, cols []string, rows [][]any) error {
	// The pure-Go SQLite driver binds parameters in time quadratic in their
	// number: a few hundred per statement is the sweet spot.
	per := 60000 / len(cols)
	if models.DialectOf(db) == models.SQLite {
		per = max(1, 400/len(cols))
	}
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for i := 0; i < len(rows); i += per {
		batch := rows[i:min(i+per, len(rows))]
		var sb strings.Builder
		sb.WriteString(head)
		args := make([]any, 0, len(batch)*len(cols))
		for j, r := range batch {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(one)
			args = append(args, r...)
		}
		if err := db.WithContext(ctx).Exec(sb.String(), args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// reserveIDs takes n ids of table's id column and returns the first; the
// caller writes rows with ids first..first+n-1.
func reserveIDs(ctx context.Context, db *gorm.DB, table string, n int) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	var last int64
	if models.DialectOf(db) == models.Postgres {
		err := db.WithContext(ctx).Raw("SELECT setval(pg_get_serial_sequence(?, 'id'), nextval(pg_get_serial_sequence(?, 'id')) + ?)", table, table, n-1).Scan(&last).Error
		return last - int64(n) + 1, err
	}
	// SQLite: move the AUTOINCREMENT counter past the block.
	err := db.WithContext(ctx).Raw("SELECT MAX(COALESCE((SELECT MAX(id) FROM "+table+"), 0), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0))", table).Scan(&last).Error
	if err != nil {
		return 0, err
	}
	res := db.WithContext(ctx).Exec("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", last+int64(n), table)
	if res.Error == nil && res.RowsAffected == 0 {
		res = db.WithContext(ctx).Exec("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)", table, last+int64(n))
	}
	return last + 1, res.Error
}
