-- The reward head's own P(A better) and member spread, beside the score the app uses (p_a, which
-- is stacked with the judges' verdicts on judged pairs): routing weighs a judge against the head
-- alone, not against a score that already contains that judge. NULL in rows written before.
ALTER TABLE pair_scores ADD COLUMN head_p_a DOUBLE;
ALTER TABLE pair_scores ADD COLUMN head_uncertainty DOUBLE;
