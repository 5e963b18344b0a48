-- Base schema: content, append-only label events, and the tables the learning loop writes.

CREATE TABLE settings (
    key VARCHAR PRIMARY KEY,
    value JSON NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE prompts (
    id VARCHAR PRIMARY KEY,              -- hash of the canonical conversation
    text VARCHAR NOT NULL,               -- flat rendering, for search, length features and embedding
    turns JSON NOT NULL,                 -- [{"role": "user"|"assistant"|"system", "content": ...}]
    n_turns INTEGER NOT NULL,
    source VARCHAR,                      -- file the prompt first came from
    category VARCHAR,
    metadata JSON,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE responses (
    id VARCHAR PRIMARY KEY,              -- hash of (prompt id, text)
    prompt_id VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    model VARCHAR,
    metadata JSON,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE INDEX responses_prompt ON responses (prompt_id);

-- A/B orientation is fixed by sorting the two response ids, so the id never depends on input order
-- and "A" carries no information about which side won.
CREATE TABLE pairs (
    id VARCHAR PRIMARY KEY,
    prompt_id VARCHAR NOT NULL,
    response_a VARCHAR NOT NULL,
    response_b VARCHAR NOT NULL,
    source VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE INDEX pairs_prompt ON pairs (prompt_id);

CREATE SEQUENCE label_event_ids START 1;

-- One row per submit, skip or undo. Never updated, never deleted.
-- choice: +2 A much better, +1 A better, 0 tie, -1 B better, -2 B much better; NULL with both_bad.
CREATE TABLE label_events (
    id BIGINT PRIMARY KEY DEFAULT nextval('label_event_ids'),
    pair_id VARCHAR NOT NULL,
    annotator VARCHAR NOT NULL,
    source VARCHAR NOT NULL CHECK (source IN ('human', 'ai', 'import')),
    kind VARCHAR NOT NULL CHECK (kind IN ('label', 'skip', 'undo')),
    choice SMALLINT CHECK (choice BETWEEN -2 AND 2),
    both_bad BOOLEAN NOT NULL DEFAULT false,
    left_side VARCHAR CHECK (left_side IN ('a', 'b')),
    rationale VARCHAR,
    aspects JSON,
    latency_ms INTEGER,
    undoes BIGINT,                       -- for kind = 'undo': the event it takes back
    p_a DOUBLE,                          -- for source = 'ai': debiased P(A better)
    judge_id VARCHAR,
    metadata JSON,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE INDEX label_events_pair ON label_events (pair_id);
CREATE INDEX label_events_annotator ON label_events (annotator);

CREATE TABLE annotators (
    name VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL DEFAULT 'annotator' CHECK (role IN ('admin', 'annotator')),
    password_hash VARCHAR,
    active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE jobs (
    id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress DOUBLE NOT NULL DEFAULT 0,
    message VARCHAR,
    error VARCHAR,
    params JSON,
    result JSON,
    pid INTEGER,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    started_at TIMESTAMP,
    finished_at TIMESTAMP
);

CREATE TABLE model_versions (
    id VARCHAR PRIMARY KEY,
    mode VARCHAR NOT NULL,               -- 'head' | 'finetune'
    encoder VARCHAR,
    path VARCHAR NOT NULL,
    n_labels INTEGER,
    heldout_accuracy DOUBLE,
    log_loss DOUBLE,
    ece DOUBLE,
    train_seconds DOUBLE,
    metrics JSON,
    active BOOLEAN NOT NULL DEFAULT false,
    job_id VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE pair_scores (
    pair_id VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    p_a DOUBLE NOT NULL,
    uncertainty DOUBLE,
    acquisition DOUBLE,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (pair_id, model_version)
);

-- The current route of each open pair; priority orders the human queue (higher first).
CREATE TABLE routes (
    pair_id VARCHAR PRIMARY KEY,
    route VARCHAR NOT NULL CHECK (route IN ('human', 'ai', 'hold')),
    priority DOUBLE NOT NULL DEFAULT 0,
    policy VARCHAR NOT NULL,
    reason VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE embeddings (
    encoder VARCHAR NOT NULL,
    text_hash VARCHAR NOT NULL,
    vector FLOAT[] NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (encoder, text_hash)
);

-- Pairs handed to an annotator and not yet answered; a lease that expires frees the pair again.
CREATE TABLE leases (
    pair_id VARCHAR NOT NULL,
    annotator VARCHAR NOT NULL,
    left_side VARCHAR NOT NULL CHECK (left_side IN ('a', 'b')),
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (pair_id, annotator)
);

-- Events that are still in force: labels and skips that no later undo took back,
-- the latest one per (pair, annotator, source).
CREATE VIEW current_labels AS
SELECT e.*
FROM label_events e
WHERE e.kind IN ('label', 'skip')
  AND NOT EXISTS (SELECT 1 FROM label_events u WHERE u.kind = 'undo' AND u.undoes = e.id)
QUALIFY row_number() OVER (PARTITION BY e.pair_id, e.annotator, e.source ORDER BY e.id DESC) = 1;

-- One row per (pair, source): vote counts and the majority outcome among real labels.
CREATE VIEW pair_labels AS
SELECT
    pair_id,
    source,
    count(*) FILTER (WHERE NOT both_bad) AS n_votes,
    count(*) FILTER (WHERE choice > 0) AS n_a,
    count(*) FILTER (WHERE choice < 0) AS n_b,
    count(*) FILTER (WHERE choice = 0) AS n_tie,
    count(*) FILTER (WHERE both_bad) AS n_both_bad,
    avg(choice) AS mean_choice,
    list(annotator ORDER BY annotator) AS annotators,
    CASE
        WHEN count(*) FILTER (WHERE choice > 0) > greatest(count(*) FILTER (WHERE choice < 0), count(*) FILTER (WHERE choice = 0)) THEN 'a'
        WHEN count(*) FILTER (WHERE choice < 0) > greatest(count(*) FILTER (WHERE choice > 0), count(*) FILTER (WHERE choice = 0)) THEN 'b'
        WHEN count(*) FILTER (WHERE NOT both_bad) = 0 THEN 'both_bad'
        ELSE 'tie'
    END AS outcome
FROM current_labels
WHERE kind = 'label'
GROUP BY pair_id, source;

-- A pair with its conversation and both responses: what judges, trainers, exports and the UI read.
CREATE VIEW pair_texts AS
SELECT
    p.id AS pair_id, p.prompt_id, pr.text AS prompt, pr.turns, pr.n_turns, pr.category,
    p.response_a, ra.text AS text_a, ra.model AS model_a,
    p.response_b, rb.text AS text_b, rb.model AS model_b,
    p.created_at
FROM pairs p
JOIN prompts pr ON pr.id = p.prompt_id
JOIN responses ra ON ra.id = p.response_a
JOIN responses rb ON rb.id = p.response_b;
