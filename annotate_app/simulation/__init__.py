"""Replay a labeled file through the production code, with the file's own labels playing people.

``annotate simulate`` has two modes: acquisition strategies (``strategies.py``, a worker job) and
routing policies (``routing.py``). Both read labeled pairs through ``data.py`` (the importer and the
label rule's outcomes), vectors through the project's embedding cache (``embedding.py`` in this
process, the job's snapshot in the worker), and fit the production BT head as the train job does
(``reward.pipeline.fit_chosen_head``: variant and logit scale chosen on the labels); judges are live
specs, ``simulated:ACC`` (``synthetic_judge.py``) or ``recorded:FILE`` (``ingest/verdicts.py``).
"""
