"""reconciler.yaml and environment selection (SPEC §7); credentials are read by variable name only.

Never reads a secret value itself: ``api.auth.credentials_from_env`` does, when a command needs one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reconciler.contract import ContractSettings
from reconciler.diagnostics import Diagnostic
from reconciler.errors import ConfigError, ValidationFailed
from reconciler.lint.rules import RULES, ChannelKind, unknown_rule
from reconciler.lint.rules import Level as LintLevel
from reconciler.manifests.schema import IgnoredField

CONFIG_FILE = "reconciler.yaml"
SANDBOX = "sandbox"
DEFAULT_MANIFESTS = "manifests/"
MAX_RATE_LIMIT = 1_000_000_000  # requests per minute: beyond it, "unlimited" is meant
MAX_TIMEOUT_S = 3_600
_TAG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*(\.\*)?")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LintConfig(_Strict):
    """``lint:`` of an environment: rules re-levelled (error, warning) or switched off."""

    rules: dict[str, LintLevel] = Field(default_factory=dict)

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, rules: dict[str, LintLevel]) -> dict[str, LintLevel]:
        for name in rules:
            if name not in RULES:
                raise ValueError(unknown_rule(name))
        return rules


class EnvironmentConfig(_Strict):
    endpoint: str = Field(description="'sandbox' or https://host of the Capillary API")
    auth: Literal["oauth", "basic"] = "oauth"
    # Numbers are finite and in a range that works (issue 14): `.inf`, `.nan`, 1e400 or a
    # rate so small that the first request would wait for ever are refused with a position.
    parallelism: int = Field(8, ge=1, le=256)
    rateLimit: float | None = Field(
        None, ge=1, le=MAX_RATE_LIMIT, allow_inf_nan=False, description="requests per minute"
    )
    maxDeactivatePercent: float = Field(25, ge=0, le=100, allow_inf_nan=False)
    connectTimeout: float = Field(5, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False)
    readTimeout: float = Field(30, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False)
    maxResponseMiB: int = Field(16, ge=1, le=1024, description="largest answer accepted, decoded")
    vars: dict[str, str] = Field(default_factory=dict)
    contract: ContractSettings | None = Field(
        None, description="how this org's upsert behaves, when stated instead of probed"
    )
    # Message lint (docs/lint.md): channel ids are per org, so what each id is comes from here.
    channels: dict[str, ChannelKind] = Field(
        default_factory=dict, description="channelId -> sms | email | push, for lint"
    )
    maxSegments: int = Field(3, ge=1, le=255, description="SMS segments allowed per message")
    tags: list[str] = Field(default_factory=list, description="template tags beyond Capillary's")
    liquid: bool = Field(False, description="the org's Liquid feature is on")
    lint: LintConfig = Field(default_factory=LintConfig)
    # Preview (docs/preview.md): named profiles of placeholder -> sample value.
    samples: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="sample profiles for preview: name -> {tag: value}"
    )
    ignore: list[IgnoredField] = Field(
        default_factory=list, description="compared fields live edits own, in every manifest"
    )

    @field_validator("endpoint")
    @classmethod
    def _usable_endpoint(cls, endpoint: str) -> str:
        # Here, so that a refused endpoint is reported with its position, and by validate for
        # every environment, not only when a command selects it.
        try:
            check_endpoint(endpoint)
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("endpoint ")) from None
        return endpoint

    @field_validator("channels")
    @classmethod
    def _channel_ids(cls, channels: dict[str, ChannelKind]) -> dict[str, ChannelKind]:
        for key in channels:
            if not key.isdigit() or key.startswith("0"):
                raise ValueError(f"{key!r} is not a channel id (a positive integer)")
        return channels

    @field_validator("tags")
    @classmethod
    def _tag_names(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            if not _TAG_NAME.fullmatch(tag):
                raise ValueError(
                    f"{tag!r} is not a tag name (letters, digits, '_' and '.'; "
                    "'prefix.*' for every tag under a prefix)"
                )
        return tags

    @field_validator("samples")
    @classmethod
    def _sample_profiles(cls, samples: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for name, values in samples.items():
            if name == "worst-case":
                raise ValueError("'worst-case' is the built-in profile; name yours differently")
            for tag in values:
                if not _TAG_NAME.fullmatch(tag) or tag.endswith(".*"):
                    raise ValueError(f"samples.{name}: {tag!r} is not a tag name")
        return samples

    def channel_kinds(self) -> dict[int, ChannelKind]:
        return {int(key): kind for key, kind in self.channels.items()}


class ConfigFile(_Strict):
    manifests: str | list[str] = DEFAULT_MANIFESTS
    defaultEnvironment: str | None = None
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """The configuration a command runs with: one selected environment."""

    environment: str
    env: EnvironmentConfig
    root: Path
    manifests: tuple[str, ...]
    config_path: Path | None = None
    sandbox_db: Path = field(default=Path(".reconciler/sandbox.db"))

    @property
    def is_sandbox(self) -> bool:
        return self.env.endpoint == SANDBOX


def ci_active(environ: Mapping[str, str]) -> bool:
    value = environ.get("CI", "")
    return value.strip().lower() not in ("", "0", "false", "no")


def check_endpoint(endpoint: str) -> str:
    """'sandbox', any https:// URL, or http:// to a loopback address; anything else is refused."""
    if endpoint == SANDBOX:
        return endpoint
    from reconciler.api.settings import check_endpoint as check_url

    return check_url(endpoint)


def find_config(start: Path) -> Path | None:
    """reconciler.yaml in ``start`` or the nearest parent directory that has one, as git finds
    ``.git``; the search ends at the repository root (a directory holding ``.git``), so a file
    outside the repository is never picked up. Shown relative to ``start`` when below it.

    A file found in a parent directory that belongs to another user is refused, as git refuses
    such a repository: outside a repository the walk reaches shared directories (``/tmp``),
    where anyone could leave a configuration that sends the credentials to their endpoint."""
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_FILE
        if candidate.is_file():
            if directory != start and not _owned_by_this_user(candidate):
                raise ConfigError(
                    f"{candidate} belongs to another user, so it is not read (anyone could "
                    f"have left it there); pass --config {candidate} to use it"
                )
            return Path(CONFIG_FILE) if directory == start else candidate
        if (directory / ".git").exists():
            return None
    return None


def _owned_by_this_user(path: Path) -> bool:
    geteuid = getattr(os, "geteuid", None)  # no such notion on Windows
    return geteuid is None or path.stat().st_uid in (geteuid(), 0)


def load_config(path: Path | None) -> tuple[ConfigFile, Path | None]:
    """Read reconciler.yaml (``path``, or the one ``find_config`` finds)."""
    if path is None:
        path = find_config(Path.cwd())
        if path is None:
            return ConfigFile(), None
    elif not path.is_file():
        raise ConfigError(f"configuration file {str(path)!r} does not exist")
    from reconciler.manifests.yamlstrict import MAX_FILE_BYTES, YamlProblem, decode, read_documents

    shown = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{shown}: configuration file is larger than 1 MiB")
        documents = read_documents(decode(path.read_bytes()))
    except YamlProblem as exc:
        raise ValidationFailed([Diagnostic(shown, exc.line, exc.col, exc.message)]) from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read configuration: {exc.strerror}") from None
    if len(documents) != 1 or not isinstance(documents[0].value, dict):
        raise ValidationFailed([Diagnostic(shown, 1, 1, "configuration must be one YAML mapping")])
    document = documents[0]
    try:
        return ConfigFile.model_validate(document.value), path
    except ValidationError as exc:
        from reconciler.manifests.reasons import collapse

        problems = []
        for at, reason, key in collapse(exc, document, _config_fields):
            line, col = document.key_position(at) if key else document.position(at)
            problems.append(Diagnostic(shown, line, col, _at(at, reason, key)))
        raise ValidationFailed(problems) from None


def _config_fields(loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed in the configuration's mapping at ``loc``, for did-you-mean."""
    model: type[BaseModel] = ConfigFile
    parts = list(loc)
    if parts[:1] == ["environments"]:
        if len(parts) == 1:
            return []  # environment names are the user's
        model, parts = EnvironmentConfig, parts[2:]
    for part in parts:
        annotation = (
            model.model_fields[str(part)].annotation if str(part) in model.model_fields else None
        )
        nested = [
            a
            for a in (annotation, *getattr(annotation, "__args__", ()))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _at(loc: tuple[str | int, ...], reason: str, key: bool) -> str:
    """A reason with the dotted path of what it is about: ``environments.prod.auth must be
    ...``, ``environments.prod: unknown field 'x'``; at the top level, the reason alone."""
    where = ".".join(str(p) for p in (loc[:-1] if key else loc))
    name = str(loc[-1]) if loc else ""
    if not where:
        return reason
    if not key and name and reason.startswith(f"{name} "):
        return where + reason[len(name) :]
    if not key and name and reason.startswith(f"{name}: "):
        return where + reason[len(name) :]
    return f"{where}: {reason}"


def select(
    config_path: Path | None = None,
    env_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    network: bool = True,
) -> Settings:
    """Pick the environment: --env, then RECONCILER_ENV, then defaultEnvironment, then sandbox.

    ``network`` is False for offline commands (validate), which the CI rule does not concern.
    """
    environ = os.environ if environ is None else environ
    config, found = load_config(config_path)
    explicit_name = env_name or environ.get("RECONCILER_ENV") or None
    name = explicit_name or config.defaultEnvironment or SANDBOX
    if name in config.environments:
        env = config.environments[name]
    elif name == SANDBOX:
        env = EnvironmentConfig(endpoint=SANDBOX)
    elif found is None:
        raise ConfigError(
            f"environment {name!r} needs a configuration file, and there is no {CONFIG_FILE} "
            f"in {Path.cwd().resolve()} or any parent directory up to the repository root; "
            f"create one (reconciler init) or pass --config FILE"
        )
    else:
        known = ", ".join(sorted(config.environments)) or "none"
        raise ConfigError(f"unknown environment {name!r} (defined: {known})")
    check_endpoint(env.endpoint)
    if network and env.endpoint == SANDBOX and ci_active(environ) and not explicit_name:
        raise ConfigError(
            f"CI is set and environment {name!r} was not named explicitly: the sandbox endpoint "
            "is only used in CI with --env or RECONCILER_ENV, so a missing setting cannot apply "
            "into the local emulator"
        )
    root = found.parent.resolve() if found else Path.cwd().resolve()
    manifests = (config.manifests,) if isinstance(config.manifests, str) else config.manifests
    base = found.parent if found else Path()
    shown = tuple(os.path.relpath(base / m) for m in manifests)
    return Settings(
        environment=name,
        env=env,
        root=root,
        manifests=shown,
        config_path=found,
        sandbox_db=root / ".reconciler" / "sandbox.db",
    )
