"""What ``reconciler init`` writes: the files of a manifests-only repository, rendered from the
skeleton that ships inside the package (read with importlib.resources, never from a source
tree), with this version pinned in the workflows and the pre-commit hook.

Pure: it renders text and checks the answers; ``scaffold.create`` writes the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from reconciler import __version__
from reconciler.errors import UsageError

# Where the action, the pre-commit hook and the releases live on GitHub (owner/name).
ACTION_REPOSITORY = "capillary-reconciler/reconciler"
AUTH_METHODS = ("oauth", "basic")
DEFAULT_ENVIRONMENT = "prod-eu"
DEFAULT_ENDPOINT = "https://eu.api.capillarytech.com"
DEFAULT_AUTH = "oauth"
_ENVIRONMENT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_CREDENTIALS = {
    "oauth": ("CAPILLARY_CLIENT_KEY", "CAPILLARY_CLIENT_SECRET"),
    "basic": ("CAPILLARY_USERNAME", "CAPILLARY_PASSWORD"),
}


@dataclass(frozen=True)
class Answers:
    """The live environment the new repository targets, besides the sandbox."""

    environment: str = DEFAULT_ENVIRONMENT
    endpoint: str = DEFAULT_ENDPOINT
    auth: str = DEFAULT_AUTH

    def checked(self) -> Answers:
        """These answers, or a ``UsageError`` naming the one that cannot be used."""
        from reconciler.config import SANDBOX, check_endpoint
        from reconciler.errors import ConfigError

        if not _ENVIRONMENT_NAME.fullmatch(self.environment):
            raise UsageError(
                f"--environment must be lower-case letters, digits, '-' or '_' (e.g. prod-eu), "
                f"not {self.environment!r}"
            )
        if self.environment == SANDBOX:
            raise UsageError("--environment names the live environment; 'sandbox' is always there")
        if self.auth not in AUTH_METHODS:
            raise UsageError(f"--auth must be one of {', '.join(AUTH_METHODS)}, not {self.auth!r}")
        try:
            endpoint = check_endpoint(self.endpoint)
        except ConfigError as exc:
            raise UsageError(f"--endpoint: {exc}") from None
        if endpoint == SANDBOX:
            raise UsageError("--endpoint must be the URL of your Capillary cluster")
        return Answers(self.environment, endpoint, self.auth)


@dataclass(frozen=True)
class ScaffoldFile:
    """One file of the new repository: its path (POSIX, relative) and its whole text.

    ``generated`` files are machinery pinned to this version (workflows, hook, schema), which
    ``init --force`` brings up to date; the others (configuration, manifests, README, .gitignore)
    are the user's from the moment they exist and are never replaced.
    """

    path: str
    text: str
    generated: bool


# path in the new repository -> (skeleton file, generated)
_FILES = {
    "reconciler.yaml": ("reconciler.yaml", False),
    "manifests/example.yaml": ("example.yaml", False),
    ".gitignore": ("gitignore", False),
    "README.md": ("README.md", False),
    ".pre-commit-config.yaml": ("pre-commit-config.yaml", True),
    ".github/workflows/plan.yml": ("workflows/plan.yml", True),
    ".github/workflows/apply.yml": ("workflows/apply.yml", True),
    ".github/workflows/drift.yml": ("workflows/drift.yml", True),
}
SCHEMA_PATH = "schema/manifest.schema.json"  # where the manifests' modeline points


def skeleton(name: str) -> str:
    """A file of the skeleton shipped in the package."""
    node = resources.files("reconciler.scaffold").joinpath("skeleton")
    for part in name.split("/"):  # one part at a time: a namespace path takes one
        node = node.joinpath(part)
    return node.read_text(encoding="utf-8")


def render(answers: Answers) -> list[ScaffoldFile]:
    """Every file ``init`` writes for these (checked) answers, in the order it writes them."""
    from reconciler.manifests.schema import json_schema

    key, secret = _CREDENTIALS[answers.auth]
    values = {
        "@VERSION@": __version__,
        "@ACTION@": ACTION_REPOSITORY,
        "@ENVIRONMENT@": answers.environment,
        "@ENDPOINT@": answers.endpoint,
        "@AUTH@": answers.auth,
        "@CREDENTIALS@": f"{key}, {secret}",
        "@SECRETS@": f"`{key}` and `{secret}`",
    }
    files = []
    for path, (source, generated) in _FILES.items():
        text = skeleton(source)
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        files.append(ScaffoldFile(path, text, generated))
    files.append(ScaffoldFile(SCHEMA_PATH, json_schema(), True))
    return files
