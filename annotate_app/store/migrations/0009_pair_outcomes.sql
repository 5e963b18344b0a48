-- The outcome of a pair from its votes, in SQL. The rule is written once, in the docstring of
-- annotate_app/labels/__init__.py; annotate_app/labels/outcome.py computes the same in pandas and
-- tests/test_labels_outcome.py holds the two to the same answers. In short: both-bad votes take no
-- side; the outcome is the sign of the mean choice of the other votes ('tie' at exactly 0); a pair
-- with only both-bad votes is 'both_bad'; strength is |mean choice|.
--
-- One row per (pair, voters): voters is a source ('human', 'ai', 'import', 'adjudicated'), or
-- 'people', every vote of a person (labels.sources.HUMAN_SOURCES) pooled.

DROP VIEW pair_labels;

CREATE VIEW pair_outcomes AS
WITH votes AS (
    SELECT pair_id, source AS voters, annotator, choice, both_bad
    FROM current_labels WHERE kind = 'label'
    UNION ALL
    SELECT pair_id, 'people' AS voters, annotator, choice, both_bad
    FROM current_labels WHERE kind = 'label' AND source IN ('human', 'import', 'adjudicated')
),
counted AS (
    SELECT
        pair_id,
        voters,
        count(*) AS n_labels,
        count(*) FILTER (WHERE NOT both_bad) AS n_votes,
        count(*) FILTER (WHERE NOT both_bad AND choice > 0) AS n_a,
        count(*) FILTER (WHERE NOT both_bad AND choice < 0) AS n_b,
        count(*) FILTER (WHERE NOT both_bad AND choice = 0) AS n_tie,
        count(*) FILTER (WHERE both_bad) AS n_both_bad,
        avg(choice) FILTER (WHERE NOT both_bad) AS mean_choice,
        list(annotator ORDER BY annotator) AS annotators
    FROM votes
    GROUP BY pair_id, voters
)
SELECT
    *,
    abs(mean_choice) AS strength,
    CASE
        WHEN n_votes = 0 THEN 'both_bad'
        WHEN mean_choice > 0 THEN 'a'
        WHEN mean_choice < 0 THEN 'b'
        ELSE 'tie'
    END AS outcome
FROM counted;

-- Per (pair, source), as before: a projection of pair_outcomes, never a second rule.
CREATE VIEW pair_labels AS
SELECT pair_id, voters AS source, n_votes, n_a, n_b, n_tie, n_both_bad, mean_choice, strength,
       annotators, outcome
FROM pair_outcomes
WHERE voters <> 'people';
