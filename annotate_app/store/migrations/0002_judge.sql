-- Versioned calibration maps of AI judges: judge p_a -> P(humans prefer A), refit as labels arrive.
CREATE SEQUENCE judge_calibration_ids START 1;

CREATE TABLE judge_calibrations (
    id BIGINT PRIMARY KEY DEFAULT nextval('judge_calibration_ids'),
    judge_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    method VARCHAR NOT NULL CHECK (method IN ('isotonic', 'platt')),
    n_pairs INTEGER NOT NULL,
    params JSON NOT NULL,                -- isotonic: {"x": [...], "y": [...]}; platt: {"coef", "intercept"}
    metrics JSON,                        -- the judge's figures on the pairs it was fitted on
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    UNIQUE (judge_id, version)
);
