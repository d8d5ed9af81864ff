"""Stage 0, sources: read and validate ``feeds.yaml``; every error names the line and the field.

The file is parsed with ``yaml.compose`` first so each value keeps its position, then validated
with pydantic; a validation error is mapped back to the line of the offending value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

KINDS = ("news", "vendor-blog", "policy", "regulator", "status")
Kind = Literal["news", "vendor-blog", "policy", "regulator", "status"]
Reliability = Literal["A", "B", "C", "D", "E", "F"]


class SourcesError(ValueError):
    """feeds.yaml is missing, unparsable or invalid; the message names the file, line and field."""


def _words(values: list[str]) -> list[str]:
    out = []
    for v in values:
        v = v.strip()
        if not v:
            raise ValueError("empty keyword")
        out.append(v)
    return out


class FeedSpec(BaseModel):
    """One feed as written in feeds.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s/$.?#][^\s]*$")
    kind: Kind = "news"
    reliability: Reliability = "C"
    vendor: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    tags: list[str] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    enabled: bool = True

    @field_validator("include", "exclude")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        return _words(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not tag or not all(c.islower() or c.isdigit() or c == "-" for c in tag):
                raise ValueError(f"tag {tag!r} is not a taxonomy value (lowercase, digits, -)")
        return value


class FeedsFile(BaseModel):
    """The whole file: a version and a list of feeds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    feeds: list[FeedSpec]


@dataclass(frozen=True)
class Sources:
    """The validated feeds, with the line each one starts on (for later error messages)."""

    path: Path
    feeds: list[FeedSpec]
    lines: dict[str, int]  # feed name -> line number

    def line_of(self, name: str) -> int:
        return self.lines.get(name, 0)


# libyaml's loader when PyYAML was built with it (10x faster on big files), else pure Python.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _construct(node: yaml.Node) -> Any:
    """Plain Python values from a composed node (safe: scalars, lists, maps only)."""
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _line_of(root: yaml.Node, loc: tuple[Any, ...]) -> tuple[int, str]:
    """The line (1-based) of the deepest node along a pydantic error location, and its path."""
    node = root
    for key in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            for knode, vnode in node.value:
                if knode.value == key:
                    node = vnode
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key < len(node.value):
                node = node.value[key]
            else:
                break
        else:
            break
    full = ".".join(f"[{k}]" if isinstance(k, int) else str(k) for k in loc)
    return node.start_mark.line + 1, full.replace(".[", "[")


def load_sources(path: Path) -> Sources:
    """Read and validate feeds.yaml; raise SourcesError naming the line and field on any fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SourcesError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise SourcesError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise SourcesError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise SourcesError(f"{path}:{line}: not valid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise SourcesError(f"{path}: not valid YAML: {exc}") from exc
    if root is None:
        raise SourcesError(f"{path}:1: the file is empty; expected `feeds:` with a list of feeds")
    if not isinstance(root, yaml.MappingNode):
        raise SourcesError(f"{path}:1: expected a mapping with `version` and `feeds`")
    try:
        raw = _construct(root)
    except yaml.YAMLError as exc:
        raise SourcesError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(raw, dict):  # `x-...` keys hold YAML anchors to reuse (e.g. keyword lists)
        raw = {k: v for k, v in raw.items() if not (isinstance(k, str) and k.startswith("x-"))}
    try:
        spec = FeedsFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        line, where = _line_of(root, tuple(first["loc"]))
        more = exc.error_count() - 1
        suffix = f" ({more} more error(s))" if more else ""
        raise SourcesError(f"{path}:{line}: {where or 'file'}: {first['msg']}{suffix}") from exc
    feed_nodes = next((v for k, v in root.value if k.value == "feeds"), None)
    lines: dict[str, int] = {}
    assert isinstance(feed_nodes, yaml.SequenceNode)
    for feed, node in zip(spec.feeds, feed_nodes.value, strict=True):
        line = node.start_mark.line + 1
        if feed.name in lines:
            raise SourcesError(
                f"{path}:{line}: feeds[].name: the name {feed.name!r} is already used "
                f"on line {lines[feed.name]}"
            )
        lines[feed.name] = line
    return Sources(path=path, feeds=list(spec.feeds), lines=lines)
