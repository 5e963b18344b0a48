"""The prompt-tag cache: HyPER's six LLM tags per (prompt, tagger model)."""

from __future__ import annotations

import pandas as pd

from annotate_app.judge.tagging import TAG_OPTIONS
from annotate_app.store.base import StoreBase

TAG_COLUMNS = tuple(TAG_OPTIONS)


class PromptTagStore(StoreBase):
    def untagged_prompts(self, tagger: str, limit: int | None = None) -> list[tuple[str, str]]:
        """(prompt_id, text) of the prompts in some pair that ``tagger`` has not tagged yet."""
        sql = (
            "SELECT pr.id, pr.text FROM prompts pr "
            "WHERE pr.id IN (SELECT prompt_id FROM pairs) "
            "AND pr.id NOT IN (SELECT prompt_id FROM prompt_tags WHERE tagger = ?) ORDER BY pr.id"
        )
        params: list = [tagger]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self.cursor() as cur:
            return [(str(a), str(b)) for a, b in cur.execute(sql, params).fetchall()]

    def save_prompt_tags(self, prompt_id: str, tagger: str, tags: dict[str, str]) -> None:
        values = [tags[c] for c in TAG_COLUMNS]
        with self.transaction() as cur:
            cur.execute(
                f"INSERT OR REPLACE INTO prompt_tags (prompt_id, tagger, {', '.join(TAG_COLUMNS)}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [prompt_id, tagger, *values],
            )

    def prompt_taggers(self) -> dict[str, int]:
        """Tagger -> number of prompts it tagged."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT tagger, count(*) FROM prompt_tags GROUP BY tagger ORDER BY tagger"
            ).fetchall()
        return {str(t): int(n) for t, n in rows}

    def pair_prompt_tags(self, tagger: str | None = None) -> pd.DataFrame:
        """pair_id and the six tags of its prompt, for pairs whose prompt ``tagger`` tagged. Without
        a tagger: the one that tagged the most prompts (ties: the first by name), so every pair's
        features come from one model."""
        if tagger is None:
            taggers = self.prompt_taggers()
            if not taggers:
                return pd.DataFrame(columns=["pair_id", *TAG_COLUMNS])
            tagger = min(taggers, key=lambda t: (-taggers[t], t))
        with self.cursor() as cur:
            return cur.execute(
                f"SELECT p.id AS pair_id, {', '.join('t.' + c for c in TAG_COLUMNS)} "
                "FROM pairs p JOIN prompt_tags t ON t.prompt_id = p.prompt_id "
                "WHERE t.tagger = ? ORDER BY p.id",
                [tagger],
            ).df()
