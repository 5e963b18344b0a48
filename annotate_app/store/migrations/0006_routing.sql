-- Routing history: every routing run and every decision it made, with its reason and propensity.
-- `routes` (0001) holds only the current route of each open pair; these tables keep why it changed,
-- and the propensity the learned router needs to weight its training pairs.

CREATE SEQUENCE routing_run_ids START 1;

CREATE TABLE routing_runs (
    id BIGINT PRIMARY KEY DEFAULT nextval('routing_run_ids'),
    policy VARCHAR NOT NULL,
    human_budget DOUBLE,
    params JSON,
    n_human INTEGER NOT NULL,
    n_ai INTEGER NOT NULL,
    n_hold INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE routing_decisions (
    run_id BIGINT NOT NULL,
    pair_id VARCHAR NOT NULL,
    route VARCHAR NOT NULL CHECK (route IN ('human', 'ai', 'hold')),
    priority DOUBLE NOT NULL,
    reason VARCHAR,
    propensity DOUBLE,                   -- P(this pair was sent to a human) under the policy
    explore BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, pair_id)
);
CREATE INDEX routing_decisions_pair ON routing_decisions (pair_id);
