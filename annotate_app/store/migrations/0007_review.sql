-- Review: flags on pairs (append-only) and adjudicated labels as a source of their own.

CREATE SEQUENCE pair_flag_ids START 1;

-- One row per flag raised or resolution made. A flag is open until a later 'resolve' row on the
-- same pair; nothing is updated or deleted.
CREATE TABLE pair_flags (
    id BIGINT PRIMARY KEY DEFAULT nextval('pair_flag_ids'),
    pair_id VARCHAR NOT NULL,
    annotator VARCHAR NOT NULL,          -- who flagged, or who resolved
    kind VARCHAR NOT NULL CHECK (kind IN ('flag', 'resolve')),
    reason VARCHAR CHECK (reason IN ('broken', 'unsafe', 'cant_judge')),
    note VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    CHECK ((kind = 'flag') = (reason IS NOT NULL))
);
CREATE INDEX pair_flags_pair ON pair_flags (pair_id);

-- Flags raised after the pair's latest resolution.
CREATE VIEW open_flags AS
SELECT f.*
FROM pair_flags f
WHERE f.kind = 'flag'
  AND f.id > coalesce(
      (SELECT max(r.id) FROM pair_flags r WHERE r.kind = 'resolve' AND r.pair_id = f.pair_id), 0
  );

-- label_events gains the 'adjudicated' source: an admin's final label on a disputed pair. DuckDB
-- cannot alter a CHECK constraint, so the table is rebuilt with its rows, ids and indexes.
CREATE TABLE label_events_next (
    id BIGINT PRIMARY KEY DEFAULT nextval('label_event_ids'),
    pair_id VARCHAR NOT NULL,
    annotator VARCHAR NOT NULL,
    source VARCHAR NOT NULL CHECK (source IN ('human', 'ai', 'import', 'adjudicated')),
    kind VARCHAR NOT NULL CHECK (kind IN ('label', 'skip', 'undo')),
    choice SMALLINT CHECK (choice BETWEEN -2 AND 2),
    both_bad BOOLEAN NOT NULL DEFAULT false,
    left_side VARCHAR CHECK (left_side IN ('a', 'b')),
    rationale VARCHAR,
    aspects JSON,
    latency_ms INTEGER,
    undoes BIGINT,
    p_a DOUBLE,
    judge_id VARCHAR,
    metadata JSON,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
INSERT INTO label_events_next SELECT * FROM label_events;
DROP TABLE label_events;
ALTER TABLE label_events_next RENAME TO label_events;
CREATE INDEX label_events_pair ON label_events (pair_id);
CREATE INDEX label_events_annotator ON label_events (annotator);
