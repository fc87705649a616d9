"""Labels people give texts in the product: corrections that teach the text models.

An analyst who reads "Great, another price rise" tagged positive corrects it: the label
(its sentiment, or its themes) is kept in the operational store beside the text as it is
stored, redacted, with who gave it and when. One current label per task and text:
labelling the same text again replaces it, and the audit log keeps every change.
``smokejumper enrich --corrections`` teaches the sentiment model and the hybrid theme
tagger from them (with a training CSV too, when one is given), so the next run scores
every text under the new model version.

>>> normalise_themes(["staff", "billing", "staff"], ("billing", "staff", "price"))
['billing', 'staff']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from smokejumper.errors import TextError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

TASKS = ("sentiment", "themes")


@dataclass(frozen=True)
class TextLabel:
    """One text's current label for one task: ``value`` is a sentiment label, or the list
    of its themes (empty: none of the taxonomy's themes)."""

    task: str
    source_table: str
    text_id: str
    text: str
    value: str | list[str]
    labelled_by: str
    labelled_at: datetime
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "source_table": self.source_table, "text_id": self.text_id,
                "text": self.text, "value": self.value, "labelled_by": self.labelled_by,
                "labelled_at": self.labelled_at, "note": self.note}


def normalise_themes(themes: Sequence[str], known: Sequence[str]) -> list[str]:
    """Sorted distinct theme names, each one of ``known`` (one clear error otherwise)."""
    unknown = [theme for theme in themes if theme not in known]
    if unknown:
        raise TextError(f"unknown theme {unknown[0]!r}; the workspace's themes are: "
                        f"{', '.join(known)}")
    return sorted(set(themes))


def record_label(engine: Engine, label: TextLabel) -> TextLabel:
    """Keep ``label`` as the text's current one for its task (replacing an earlier one)
    and write the change to the audit log, in one transaction."""
    from sqlalchemy.exc import IntegrityError

    from smokejumper.store.models import audit_log, text_labels

    if label.task not in TASKS:
        raise TextError(f"unknown label task {label.task!r}; expected sentiment or themes")
    key = ((text_labels.c.task == label.task)
           & (text_labels.c.source_table == label.source_table)
           & (text_labels.c.text_id == label.text_id))
    values = {"text": label.text, "value": label.value, "labelled_by": label.labelled_by,
              "labelled_at": label.labelled_at, "note": label.note}
    for attempt in (1, 2):  # a second try when someone labelled the same text meanwhile
        try:
            with engine.begin() as connection:
                previous = connection.execute(
                    text_labels.select().where(key).with_for_update()).mappings().first()
                if previous is None:
                    connection.execute(text_labels.insert().values(
                        task=label.task, source_table=label.source_table,
                        text_id=label.text_id, **values))
                else:
                    connection.execute(text_labels.update().where(key).values(**values))
                connection.execute(audit_log.insert().values(
                    ts=datetime.now(UTC).replace(tzinfo=None), actor=label.labelled_by,
                    action="text.label", target=f"{label.source_table}:{label.text_id}",
                    detail={"task": label.task, "value": label.value,
                            "previous": None if previous is None else previous["value"]}))
            return label
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def read_labels(engine: Engine, task: str | None = None) -> list[TextLabel]:
    """Current labels, oldest first (all tasks, or one)."""
    from smokejumper.store.models import text_labels

    if task is not None and task not in TASKS:
        raise TextError(f"unknown label task {task!r}; expected sentiment or themes")
    query = text_labels.select().order_by(text_labels.c.label_id)
    if task is not None:
        query = query.where(text_labels.c.task == task)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [TextLabel(task=row["task"], source_table=row["source_table"],
                      text_id=row["text_id"], text=row["text"], value=row["value"],
                      labelled_by=row["labelled_by"], labelled_at=row["labelled_at"],
                      note=row["note"]) for row in rows]


@dataclass(frozen=True)
class Corrections:
    """The labels that teach the models: sentiment (texts, labels) and themes (texts,
    theme lists)."""

    sentiment_texts: tuple[str, ...] = ()
    sentiment_labels: tuple[str, ...] = ()
    theme_texts: tuple[str, ...] = ()
    theme_labels: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, labels: Sequence[TextLabel]) -> Corrections:
        sentiment = [label for label in labels if label.task == "sentiment"]
        themes = [label for label in labels if label.task == "themes"]
        return cls(tuple(label.text for label in sentiment),
                   tuple(str(label.value) for label in sentiment),
                   tuple(label.text for label in themes),
                   tuple(tuple(label.value) for label in themes))

    def __bool__(self) -> bool:
        return bool(self.sentiment_texts or self.theme_texts)


__all__ = ["TASKS", "Corrections", "TextLabel", "normalise_themes", "read_labels",
           "record_label"]
