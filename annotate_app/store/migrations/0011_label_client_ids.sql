-- The id the label page gave each answer before sending it. The page resends an answer until the
-- server acknowledges its id, so an id seen before names the event already recorded for it.
CREATE TABLE label_client_ids (
    client_id VARCHAR PRIMARY KEY,
    event_id BIGINT NOT NULL,
    annotator VARCHAR NOT NULL
);
