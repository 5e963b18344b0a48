-- The `auto` strategy's evidence: one row per selected batch. The arm that chose it, every arm's
-- draw probability, the control-variate baseline, and the batch's uniform share (the pairs its gain
-- is measured on); gain stays NULL until the next model exists and that share is labeled.
CREATE TABLE acquisition_rounds (
    round INTEGER PRIMARY KEY,
    model_version VARCHAR NOT NULL,
    arm VARCHAR NOT NULL,
    probs VARCHAR NOT NULL,
    baseline DOUBLE NOT NULL,
    eval_pairs VARCHAR NOT NULL,
    gain DOUBLE,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
