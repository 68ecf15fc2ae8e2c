"""The dashboard's Dockerfile and the build context's .dockerignore as a build reads them: its stages and
instructions, and which files of the repository the build can see. The container test builds and starts
what these say, so the tests never hold a second copy of the install command or of the server's."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "apps" / "dashboard" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case, as the build reads it
    arguments: str  # continuation lines joined

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD, ENTRYPOINT or RUN; None in shell form."""
        text = self.arguments.strip()
        if not text.startswith("["):
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return None
        return [str(part) for part in parsed] if isinstance(parsed, list) else None

    @property
    def flags(self) -> dict[str, str]:
        """Leading --name=value options (COPY --from=..., HEALTHCHECK --interval=...)."""
        found: dict[str, str] = {}
        for word in self.arguments.split():
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            found[name] = value
        return found

    def without_flags(self) -> str:
        words = self.arguments.split(" ")
        while words and (words[0].startswith("--") or not words[0]):
            words.pop(0)
        return " ".join(words)

    @property
    def variables(self) -> dict[str, str]:
        """ENV's or ARG's name=value pairs (values unquoted; $NAME left as written)."""
        pairs: dict[str, str] = {}
        for word in shlex.split(self.arguments):
            name, _, value = word.partition("=")
            pairs[name] = value
        return pairs


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    @property
    def env(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for instruction in self.of("ENV"):
            found |= instruction.variables
        return found


@dataclass(frozen=True)
class Dockerfile:
    path: Path

    @cached_property
    def stages(self) -> list[Stage]:
        stages: list[Stage] = []
        for instruction in _instructions(self.path.read_text()):
            if instruction.keyword == "FROM":
                words = instruction.without_flags().split()
                name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
                stages.append(Stage(words[0], name))
            elif stages:
                stages[-1].instructions.append(instruction)
            else:
                raise ValueError(f"{self.path}: {instruction.keyword} before the first FROM")
        return stages

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def install_commands(self) -> list[str]:
        """The RUN lines that install the dashboard's environment (uv sync), in order."""
        return [i.arguments for s in self.stages for i in s.of("RUN") if "uv sync" in i.arguments]

    def context_copies(self) -> list[tuple[list[str], str]]:
        """Every COPY from the build context (not from another stage): its sources and destination."""
        copies = []
        for stage in self.stages:
            for instruction in stage.of("COPY"):
                if "from" in instruction.flags:
                    continue
                words = instruction.without_flags().split()
                copies.append((words[:-1], words[-1]))
        return copies


def _instructions(text: str) -> list[Instruction]:
    """Instructions with their continuation lines joined. As the build does, comment and blank lines are
    dropped even within a continued instruction."""
    found: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending = f"{pending} {stripped}" if pending else stripped
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        found.append(_instruction(pending))
        pending = ""
    if pending:
        found.append(_instruction(pending))
    return found


def _instruction(line: str) -> Instruction:
    keyword, _, arguments = line.partition(" ")
    return Instruction(keyword.upper(), arguments.strip())


def _pattern(glob: str) -> re.Pattern[str]:
    """A .dockerignore pattern as the build matches it: `*` and `?` within one path segment, `**` across
    any number of them."""
    parts = []
    index = 0
    while index < len(glob):
        if glob.startswith("**", index):
            parts.append(".*")
            index += 2
            if glob.startswith("/", index):
                parts[-1] = "(?:.*/)?"
                index += 1
        elif glob[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(parts) + "$")


@dataclass(frozen=True)
class DockerIgnore:
    path: Path

    @cached_property
    def rules(self) -> list[tuple[bool, re.Pattern[str]]]:
        """(excludes, pattern) in file order; the last rule that matches a path decides."""
        rules = []
        for line in self.path.read_text().splitlines():
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            include = text.startswith("!")
            glob = text.removeprefix("!").strip().strip("/")
            rules.append((not include, _pattern(glob)))
        return rules

    def ignores(self, relative: str) -> bool:
        """Whether the build cannot see this path (relative to the context, with / separators). A rule
        matching a folder covers everything in it."""
        parts = relative.strip("/").split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        ignored = False
        for excludes, pattern in self.rules:
            if any(pattern.match(prefix) for prefix in prefixes):
                ignored = excludes
        return ignored


def copy_source(source: str, destination: str, ignore: DockerIgnore, target: Path) -> None:
    """One COPY source as the build copies it: a folder's contents into the destination folder, a file
    into it (destination ending in /) or as it (otherwise)."""
    origin = ROOT / source
    if origin.is_dir():
        for path in sorted(origin.rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if path.is_file() and not ignore.ignores(relative):
                placed = target / destination / path.relative_to(origin)
                placed.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, placed)
        return
    if ignore.ignores(source) or not origin.is_file():
        raise FileNotFoundError(f"COPY {source}: not in the build context")
    placed = target / destination / origin.name if destination.endswith("/") else target / destination
    placed.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(origin, placed)
