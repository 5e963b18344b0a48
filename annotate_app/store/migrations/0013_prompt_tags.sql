-- HyPER's LLM-tagged prompt metadata, cached: one row per prompt and tagger model, so each prompt
-- is tagged once per tagger. Values are from the fixed option sets in judge/tagging.py.
CREATE TABLE prompt_tags (
    prompt_id VARCHAR NOT NULL,
    tagger VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    expertise VARCHAR NOT NULL,
    open_endedness VARCHAR NOT NULL,
    safety_concern VARCHAR NOT NULL,
    complexity VARCHAR NOT NULL,
    format_constraints VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (prompt_id, tagger)
);
