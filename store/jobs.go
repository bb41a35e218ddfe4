package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ragd/ragd"
)

// Job states. A job is queued until a worker claims it (running), and ends
// done or failed; a running job found at start-up was interrupted and is
// queued again.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is a claimed ingest job: a file to ingest into a collection.
type Job struct {
	ID       int64
	Attempts int
	// State is the job's state (JobQueued ... JobFailed) when it was read.
	State string
	// Owner is the cluster node that claimed it last (StartJob).
	Owner string
	// UploadSeq is, in a cluster, the log sequence of the upload that
	// queued the job last (0 elsewhere): the ingest queue's message with
	// that sequence is the job's, other uploads of the same bytes are not.
	UploadSeq uint64
	// Workspace is the workspace of the file's collection.
	Workspace  string
	File       *ragd.File
	Collection *ragd.Collection
	seq        int64
}

// ClaimJob marks a queued job that may run now running, its file
// processing, and returns it; it returns nil when no job is ready. Jobs
// are claimed fairly across workspaces: the next job is the oldest one of
// the workspace with the fewest running jobs, so a workspace with a
// backlog gets no second worker while another waits for its first. With
// idleOnly, only workspaces with no running job are considered: that is
// the claim of a worker kept for workspaces whose files would otherwise
// wait behind another's long files.
func (s *Store) ClaimJob(ctx context.Context, idleOnly bool) (*Job, error) {
	var job *Job
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.Now().Unix()
		// The first workspace in claim order holds the job, when it has one
		// that may run now.
		var ws string
		var id sql.NullInt64
		var running int
		err := tx.QueryRowContext(ctx, ingestOrderSQL, JobQueued, JobRunning, now, idleOnly).Scan(&ws, &id, &running)
		if err == sql.ErrNoRows || err == nil && !id.Valid {
			return nil
		}
		if err != nil {
			return err
		}
		j := &Job{}
		var fileID string
		if err := tx.QueryRowContext(ctx, `UPDATE jobs SET state = ?, attempts = attempts + 1, updated = ? WHERE id = ?
			RETURNING id, attempts, file_id`, JobRunning, now, id.Int64).Scan(&j.ID, &j.Attempts, &fileID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE files SET status = ? WHERE id = ?`, ragd.FileProcessing, fileID); err != nil {
			return err
		}
		if j.File, err = s.scanFile(tx.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ?`, fileID)); err != nil {
			return err
		}
		if j.Collection, j.seq, err = s.scanCollection(tx.QueryRowContext(ctx, `SELECT `+collectionColumns+` FROM collections WHERE id = ?`,
			j.File.CollectionID)); err != nil {
			return err
		}
		j.Workspace = j.Collection.Workspace
		job = j
		return nil
	})
	return job, err
}

// IngestWorkspace is a workspace with unfinished ingest jobs, as
// IngestWorkspaces lists it.
type IngestWorkspace struct {
	Name string
	// Ready is whether a queued job of the workspace may run now; without,
	// the workspace only has running jobs.
	Ready bool
}

// IngestWorkspaces returns the workspaces whose jobs a claim would look
// at, in the order ClaimJob picks between them: those with a queued job
// that may run now, the one with the fewest running jobs first, then the
// one whose oldest such job is oldest; then those with running jobs only
// (a cluster's ingest queue hands such a job to another node when its
// claimer died). With idleOnly, only workspaces with a job that may run
// now and none running. A cluster's ingest queue holds each workspace's
// uploads apart and polls them in this order, so that its claims are as
// fair across workspaces as one node's.
func (s *Store) IngestWorkspaces(ctx context.Context, idleOnly bool) ([]IngestWorkspace, error) {
	return queryAll(ctx, s.db, func(r rowScanner) (IngestWorkspace, error) {
		var w IngestWorkspace
		var ready sql.NullInt64
		var running int
		err := r.Scan(&w.Name, &ready, &running)
		w.Ready = ready.Valid
		return w, err
	}, ingestOrderSQL, JobQueued, JobRunning, s.Now().Unix(), idleOnly)
}

// ingestOrderSQL lists the workspaces with queued or running jobs in the
// order claims take them (ClaimJob, IngestWorkspaces): those whose oldest
// queued job that may run now (ready) exists, the fewest running jobs (n)
// first, then the oldest ready job; then those with running jobs only.
// With ?4 (idle only), only workspaces with a ready job and none running.
// The workspaces are walked through the jobs_queue index, one seek each;
// so is each one's ready job and running count. Parameters: ?1 JobQueued,
// ?2 JobRunning, ?3 now (Unix seconds), ?4 idle only.
const ingestOrderSQL = `WITH RECURSIVE
	queued(ws) AS (SELECT (SELECT min(workspace) FROM jobs WHERE state = ?1)
		UNION ALL SELECT (SELECT min(workspace) FROM jobs WHERE state = ?1 AND workspace > queued.ws)
		FROM queued WHERE queued.ws IS NOT NULL),
	running(ws) AS (SELECT (SELECT min(workspace) FROM jobs WHERE state = ?2)
		UNION ALL SELECT (SELECT min(workspace) FROM jobs WHERE state = ?2 AND workspace > running.ws)
		FROM running WHERE running.ws IS NOT NULL),
	active(ws) AS (SELECT ws FROM queued WHERE ws IS NOT NULL UNION SELECT ws FROM running WHERE ws IS NOT NULL),
	counts AS (SELECT ws,
		(SELECT min(id) FROM jobs WHERE state = ?1 AND workspace = active.ws AND not_before <= ?3) AS ready,
		(SELECT count(*) FROM jobs WHERE state = ?2 AND workspace = active.ws) AS n
		FROM active)
SELECT ws, ready, n FROM counts
WHERE CASE WHEN ?4 THEN ready IS NOT NULL AND n = 0 ELSE ready IS NOT NULL OR n > 0 END
ORDER BY ready IS NULL, n, ready`

// OldestUnfinishedUpload returns the lowest log sequence of the upload of
// a queued or running job of workspace ws, or of any workspace when ws is
// "" (0 when there is none): in a cluster, the log must keep that upload
// for the ingest queue to hand it out, and a workspace's new ingest
// consumer starts there.
func (s *Store) OldestUnfinishedUpload(ctx context.Context, ws string) (uint64, error) {
	var seq sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT min(upload_seq) FROM jobs WHERE state IN (?, ?) AND upload_seq > 0 AND (?3 = '' OR workspace = ?3)`,
		JobQueued, JobRunning, ws).Scan(&seq)
	return uint64(seq.Int64), err
}

// StagedItem is an item of a file being ingested, its ID and Created set
// by the caller. The StageChunks that first names its ID inserts it with
// its Chunks; later calls add the Chunks they are given to it. Which of
// the two a call does is read from the database, not kept in the value,
// so that a copy of the value (a cluster applies a decoded copy on every
// node) stages the same rows. Staged items and chunks are invisible to
// search until PublishFile.
type StagedItem struct {
	ragd.NewItem
}

// StageChunks writes items and their chunks in one transaction, vectors
// waiting in the staging column. It returns an ENOTFOUND error with code
// "file_deleted" when the job's file no longer exists.
func (s *Store) StageChunks(ctx context.Context, job *Job, items []*StagedItem) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := checkProcessing(ctx, tx, job.File.ID); err != nil {
			return err
		}
		w := s.newChunkWriter(tx, job.Collection, job.seq, false)
		defer w.close()
		for _, si := range items {
			if si.ID == "" {
				return fmt.Errorf("store: staged item of file %s has no id", job.File.ID)
			}
			// The item may be one this call added: written before the check.
			if err := w.flush(ctx); err != nil {
				return err
			}
			var staged bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM items WHERE id = ?)`, si.ID).Scan(&staged); err != nil {
				return err
			}
			if !staged {
				if _, err := w.insertItem(ctx, job.File.ID, si.NewItem); err != nil {
					return err
				}
				continue
			}
			if err := w.insertChunks(ctx, si.ID, si.Chunks); err != nil {
				return err
			}
		}
		return w.flush(ctx)
	})
}

// publishVectors moves the staged vectors of the chunks that ofFile
// selects (with the job's file ID as its argument) into the collection's
// vector table.
func publishVectors(ctx context.Context, tx *sql.Tx, job *Job, ofFile string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, staged_vector FROM chunks WHERE `+ofFile+` ORDER BY id`, job.File.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	w := newVecWriter(ctx, tx, job.Collection.Dimensions, job.seq)
	for rows.Next() {
		var id int64
		var vec []byte
		if err := rows.Scan(&id, &vec); err != nil {
			return err
		}
		if err := w.add(id, vec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return w.close()
}

func checkProcessing(ctx context.Context, tx *sql.Tx, fileID string) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM files WHERE id = ?`, fileID).Scan(&status)
	if err == sql.ErrNoRows || (err == nil && status != ragd.FileProcessing) {
		return fileGone(fileID)
	}
	return err
}

// PublishFile makes a job's staged chunks searchable, all in one
// transaction: vectors move into the collection's vector table, contents
// into its keyword table, the items get their counts (and, for items in
// texts, their final content and description), the file is completed with
// its counts and pages, the collection's counters grow and the job is
// done, all at time at. It returns the completed file, or the
// "file_deleted" error.
func (s *Store) PublishFile(ctx context.Context, job *Job, pages int, texts []*StagedItem, at int64) (*ragd.File, error) {
	if err := explicit("file publication", job.File.ID, at); err != nil {
		return nil, err
	}
	var out *ragd.File
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		fileID := job.File.ID
		if err := checkProcessing(ctx, tx, fileID); err != nil {
			return err
		}
		const ofFile = `id IN (SELECT c.id FROM chunks c JOIN items i ON i.id = c.item_id WHERE i.file_id = ?)`
		if err := publishVectors(ctx, tx, job, ofFile); err != nil {
			return err
		}
		if err := indexKeywords(ctx, tx, job.seq, ofFile, fileID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chunks SET staged_vector = NULL WHERE `+ofFile, fileID); err != nil {
			return err
		}
		for _, t := range texts {
			if _, err := tx.ExecContext(ctx, `UPDATE items SET content = ?, description = ? WHERE id = ?`, t.Content, t.Description, t.ID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE items SET
			chunk_count = (SELECT count(*) FROM chunks WHERE item_id = items.id),
			tokens = (SELECT coalesce(sum(tokens), 0) FROM chunks WHERE item_id = items.id) WHERE file_id = ?`, fileID); err != nil {
			return err
		}
		var items, chunks, tokens int
		var contentBytes int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(chunk_count), 0), coalesce(sum(tokens), 0),
			coalesce(sum(length(CAST(content AS BLOB))), 0) FROM items WHERE file_id = ?`, fileID).Scan(&items, &chunks, &tokens, &contentBytes); err != nil {
			return err
		}
		now := at
		if _, err := tx.ExecContext(ctx, `UPDATE files SET status = ?, items = ?, chunks = ?, tokens = ?, pages = ?, completed_at = ?,
			error_code = NULL, error_message = NULL WHERE id = ?`, ragd.FileCompleted, items, chunks, tokens, pages, now, fileID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE collections SET item_count = item_count + ?, chunk_count = chunk_count + ?,
			bytes = bytes + ?, updated = ? WHERE id = ?`, items, chunks, contentBytes, now, job.Collection.ID); err != nil {
			return err
		}
		if err := setJobState(ctx, tx, job.ID, JobDone, now); err != nil {
			return err
		}
		var err error
		out, err = s.scanFile(tx.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ?`, fileID))
		return err
	})
	return out, err
}

// FailJob removes what a job staged and marks its file failed with the
// error's code and message, at time at. A file deleted meanwhile is not
// an error.
func (s *Store) FailJob(ctx context.Context, job *Job, fe ragd.FileError, at int64) error {
	if err := explicit("file failure", job.File.ID, at); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := checkProcessing(ctx, tx, job.File.ID); err != nil {
			return nil
		}
		if err := deleteFileItems(ctx, tx, job.File.ID); err != nil {
			return err
		}
		now := at
		if _, err := tx.ExecContext(ctx, `UPDATE files SET status = ?, error_code = ?, error_message = ?, items = 0, chunks = 0,
			tokens = 0, pages = 0 WHERE id = ?`, ragd.FileFailed, fe.Code, fe.Message, job.File.ID); err != nil {
			return err
		}
		return setJobState(ctx, tx, job.ID, JobFailed, now)
	})
}

// RequeueJob removes what a running job staged and queues it again, for a
// job interrupted by a shutdown.
func (s *Store) RequeueJob(ctx context.Context, jobID int64) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return requeue(ctx, tx, jobID, s.Now().Unix()) })
}

// RetryJob queues a running job again, removing what it staged, to be
// claimed no earlier than at: its run failed on something that may pass,
// such as a model provider being down.
func (s *Store) RetryJob(ctx context.Context, jobID int64, at time.Time) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := requeue(ctx, tx, jobID, s.Now().Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET not_before = ? WHERE id = ?`, at.Unix(), jobID)
		return err
	})
}

// RequeueRunningJobs queues again every job left running by a process that
// stopped without finishing it (a crash or kill), first removing what it
// had staged, so that each job still finishes exactly once. Call it at
// start-up before any worker runs. It returns how many jobs it requeued.
func (s *Store) RequeueRunningJobs(ctx context.Context) (int, error) {
	n := 0
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM jobs WHERE state = ?`, JobRunning)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := s.Now().Unix()
		for _, id := range ids {
			if err := requeue(ctx, tx, id, now); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

func requeue(ctx context.Context, tx *sql.Tx, jobID int64, now int64) error {
	var fileID string
	if err := tx.QueryRowContext(ctx, `SELECT file_id FROM jobs WHERE id = ? AND state = ?`, jobID, JobRunning).Scan(&fileID); err != nil {
		if err == sql.ErrNoRows {
			return nil // deleted with its file, or already finished
		}
		return err
	}
	if err := deleteFileItems(ctx, tx, fileID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE files SET status = ? WHERE id = ?`, ragd.FileEnqueued, fileID); err != nil {
		return err
	}
	return setJobState(ctx, tx, jobID, JobQueued, now)
}

func setJobState(ctx context.Context, tx *sql.Tx, jobID int64, state string, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, updated = ? WHERE id = ?`, state, now, jobID)
	return err
}

// PendingJobs returns how many jobs are queued or running.
func (s *Store) PendingJobs(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE state IN (?, ?)`, JobQueued, JobRunning).Scan(&n)
	return n, err
}

// JobOfFile returns the job of file fileID as this store knows it, with
// its file and collection: a cluster applies a replicated StageChunks,
// PublishFile or FailJob to the job of the same file on every node, whose
// local row IDs may differ. It returns the "file_deleted" error when the
// file is gone.
func (s *Store) JobOfFile(ctx context.Context, fileID string) (*Job, error) {
	return s.jobOfFile(ctx, s.db, fileID)
}

func (s *Store) jobOfFile(ctx context.Context, q querier, fileID string) (*Job, error) {
	j := &Job{}
	err := q.QueryRowContext(ctx, `SELECT id, attempts, state, owner, upload_seq FROM jobs WHERE file_id = ?`, fileID).Scan(&j.ID, &j.Attempts, &j.State,
		&j.Owner, &j.UploadSeq)
	if err == sql.ErrNoRows {
		return nil, fileGone(fileID)
	}
	if err != nil {
		return nil, err
	}
	if j.File, err = s.scanFile(q.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ?`, fileID)); err == sql.ErrNoRows {
		return nil, fileGone(fileID)
	} else if err != nil {
		return nil, err
	}
	if j.Collection, j.seq, err = s.scanCollection(q.QueryRowContext(ctx, `SELECT `+collectionColumns+` FROM collections WHERE id = ?`,
		j.File.CollectionID)); err != nil {
		return nil, err
	}
	j.Workspace = j.Collection.Workspace
	return j, nil
}

// JobOfUpload returns the job of the file of collection colID (an ID or a
// name) in workspace ws holding the bytes with digest sha256: the file an
// upload of those bytes recorded or found (CreateFile keeps one file per
// collection and digest). It returns the "file_deleted" error when there
// is none.
func (s *Store) JobOfUpload(ctx context.Context, ws, colID, sha256 string) (*Job, error) {
	c, _, err := s.collection(ctx, s.db, ws, colID)
	if err != nil {
		return nil, err
	}
	var fileID string
	err = s.db.QueryRowContext(ctx, `SELECT id FROM files WHERE collection_id = ? AND sha256 = ?`, c.ID, sha256).Scan(&fileID)
	if err == sql.ErrNoRows {
		return nil, fileGone(sha256)
	}
	if err != nil {
		return nil, err
	}
	return s.jobOfFile(ctx, s.db, fileID)
}

// StartJob claims the job of file fileID for cluster node owner at time
// at, the way ClaimJob does on one node but through the replicated log,
// so every node records the same claim: what an earlier attempt staged is
// removed, the job runs with one more attempt, its file is processing.
// attempts is the job's attempt count the claimer saw: when another claim
// came first, it returns an ECONFLICT error with code "ingest_claimed";
// when the job already ended, code "ingest_ended"; when the file is gone,
// "file_deleted".
func (s *Store) StartJob(ctx context.Context, fileID string, attempts int, owner string, at int64) (*Job, error) {
	if err := explicit("job start", fileID, at); err != nil {
		return nil, err
	}
	var job *Job
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		j, err := s.jobOfFile(ctx, tx, fileID)
		if err != nil {
			return err
		}
		switch {
		case j.State != JobQueued && j.State != JobRunning:
			return &ragd.Error{Kind: ragd.ECONFLICT, Code: "ingest_ended", Message: fmt.Sprintf("the ingest of file %q already ended (%s)", fileID, j.State)}
		case j.Attempts != attempts:
			return &ragd.Error{Kind: ragd.ECONFLICT, Code: "ingest_claimed", Message: fmt.Sprintf("the ingest of file %q was claimed by %s", fileID, j.Owner)}
		}
		if err := deleteFileItems(ctx, tx, fileID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE files SET status = ? WHERE id = ?`, ragd.FileProcessing, fileID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, attempts = attempts + 1, owner = ?, updated = ? WHERE id = ?`,
			JobRunning, owner, at, j.ID); err != nil {
			return err
		}
		j.State, j.Owner, j.Attempts = JobRunning, owner, j.Attempts+1
		j.File.Status = ragd.FileProcessing
		job = j
		return nil
	})
	return job, err
}
