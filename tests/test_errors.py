"""Every exception class the package defines is in the tree under ``ReconcilerError``, except a
short, named list of internal signals that are always caught before they leave the package."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import reconciler
from reconciler import errors
from reconciler.errors import ReconcilerError

# Internal control flow, never raised to a caller of the package: each is caught and turned
# into an ``ApiError``, a ``Diagnostic``, an HTTP answer or a per-target outcome where it is
# used. A class added here needs the same guarantee and a line saying who catches it.
INTERNAL = {
    # Ctrl-C at a prompt; Console.confirm turns it into a "no" at once
    "reconciler.console._CtrlC",
    # one failed attempt; the retry loop (api.retry.run_with_retries) makes it an ApiError
    "reconciler.api.retry.AttemptFailure",
    # an unreadable answer body; api.calls turns it into an AttemptFailure
    "reconciler.api.bounds.BodyProblem",
    # a YAML problem with its position; manifests, config and export make it a Diagnostic or
    # a ConfigError/ExportError
    "reconciler.manifests.yamlstrict.YamlProblem",
    # a template file that cannot be read; manifests.load makes it a Diagnostic, export skips it
    "reconciler.manifests.templates.TemplateProblem",
    # an answer that contradicts the write; applier.execute records it as the target's outcome
    "reconciler.applier.execute._Inconsistent",
    # the sandbox server's error answer; its app turns it into an HTTP error envelope
    "reconciler.sandbox.envelope.ApiFailure",
}


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined at the top level of a module of the package."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(reconciler.__path__, prefix="reconciler."):
        if info.name.rpartition(".")[2] == "__main__":
            continue  # importing it runs the CLI
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == info.name:
                found[f"{info.name}.{cls.__qualname__}"] = cls
    return found


def test_every_exception_class_derives_from_reconciler_error() -> None:
    outside = sorted(
        name
        for name, cls in _exception_classes().items()
        if not issubclass(cls, ReconcilerError) and name not in INTERNAL
    )
    assert outside == []


def test_the_internal_exemptions_still_exist_and_are_still_outside_the_tree() -> None:
    """A stale entry would exempt a class that no longer needs it (or no longer exists)."""
    classes = _exception_classes()
    assert sorted(INTERNAL - classes.keys()) == []
    assert sorted(n for n in INTERNAL if issubclass(classes[n], ReconcilerError)) == []


def test_the_circuit_breaker_error_is_a_server_error_in_the_tree() -> None:
    from reconciler.api import CircuitOpenError

    assert CircuitOpenError is errors.CircuitOpenError
    assert issubclass(CircuitOpenError, errors.ServerError)
    assert "└── CircuitOpenError" in (errors.__doc__ or "")
