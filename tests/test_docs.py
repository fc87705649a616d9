"""Documentation keeps up with the code: every command and built-in is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _commands() -> list[str]:
    import typer.main

    from smokejumper.cli.app import app

    group = typer.main.get_group(app)
    names = []
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        if sub:
            names.extend(f"{name} {child}" for child in sub)
        else:
            names.append(name)
    return sorted(names)


@pytest.mark.parametrize("command", _commands())
def test_every_cli_command_is_documented(command: str) -> None:
    assert f"## smokejumper {command}\n" in (DOCS / "cli.md").read_text(), (
        f"docs/cli.md has no section '## smokejumper {command}'"
    )


def test_every_builtin_metric_is_documented() -> None:
    from smokejumper.metrics.definitions import builtin_definitions

    text = (DOCS / "metrics.md").read_text()
    missing = [name for name in builtin_definitions() if f"`{name}`" not in text]
    assert missing == []


def test_every_registered_text_model_is_documented() -> None:
    from smokejumper.text.registry import sentiment_models, theme_models

    text = (DOCS / "text.md").read_text()
    for registry in (sentiment_models, theme_models):
        missing = [name for name in registry.names() if f"`{name}`" not in text]
        assert missing == [], f"docs/text.md does not document {missing}"
