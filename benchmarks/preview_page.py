"""Measure ``reconciler preview`` (issue 22: 1,000 targets written in under 2 s).

Usage: python benchmarks/preview_page.py [--targets 1000] [--json] [--dense]; ``make bench``
runs it (``benchmarks/run.py``, scenario ``preview``). Runs the command in-process on
generated manifests (an HTML email with remote images, a two-segment UCS-2 SMS, a push
notification and a plain email per target, with the worst-case sample) and prints the time
from start to a written DIR/index.html, and the time of the page alone.

``--dense`` instead times the page of two targets whose SMS and email bodies are each a
900 kB template of 100,000 unknown placeholders (near the 1 MiB manifest cap), and of an email
of 100,000 tags never finished (``<a <a …``), and the before/after rows of two messages of
50,000 equal lines: all linear in the template, so this takes a few seconds, not minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

from reconciler.cli import main as cli_main
from reconciler.manifests import load_manifests
from reconciler.preview.page import PreviewOptions, build_page
from reconciler.preview.samples import worst_case

DOC = """\
apiVersion: reconciler/v1
kind: TargetCommunications
metadata: {{name: bench-{i}}}
target: {{targetGroup: {group}, target: {target}}}
communications:
  - communicationType: START
    channelId: 2
    sender: loyalty@northwind.example
    subjectTemplate: "You're in, {{{{first_name}}}}: target {i}"
    messageTemplate: |
      <html><body><img src="https://cdn.northwind.example/banner-{i}.png" alt="">
      <h1>Spend {{{{target_value}}}} by {{{{period_end_date}}}}</h1>
      <p>Hi {{{{first_name}}}}, earn 1,000 bonus points. <a href="{{{{unsubscribe}}}}">Unsubscribe</a></p>
      </body></html>
  - communicationType: REMINDER
    channelId: 1
    sender: NWREWARDS
    offsetDays: 3
    messageTemplate: "{{{{first_name}}}}, you’re 3 days from {{{{target_value}}}} bonus points on target {i}. Visit any Northwind store or shop online before {{{{period_end_date}}}} to keep your streak going."
  - communicationType: CHANGE
    channelId: 3
    sender: NWREWARDS
    subjectTemplate: "Halfway there"
    messageTemplate: "You're at {{{{achieved_value}}}} of {{{{target_value}}}}. Keep going!"
  - communicationType: FINISH
    channelId: 2
    sender: loyalty@northwind.example
    subjectTemplate: "Done"
    messageTemplate: "Your {{{{reward_code}}}} is ready."
"""
CONFIG = """\
environments:
  sandbox:
    endpoint: sandbox
    channels: {1: sms, 2: email, 3: push}
    tags: [target_value, achieved_value, period_end_date, reward_code]
"""


def generate(directory: Path, targets: int, per_file: int = 50) -> None:
    (directory / "manifests").mkdir()
    (directory / "reconciler.yaml").write_text(CONFIG)
    for start in range(0, targets, per_file):
        chunk = [
            DOC.format(i=i, group=1000 + i // 100, target=100000 + i)
            for i in range(start, min(start + per_file, targets))
        ]
        (directory / "manifests" / f"m{start:06d}.yaml").write_text("---\n".join(chunk))


DENSE = """\
apiVersion: reconciler/v1
kind: TargetCommunications
metadata: {{name: dense-{channel}}}
target: {{targetGroup: 1, target: {channel}}}
communications:
  - {{communicationType: START, channelId: {channel}, sender: NWREWARDS, subjectTemplate: "x",
     messageTemplate: "{body}"}}
"""


def dense() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "manifests").mkdir()
        (directory / "reconciler.yaml").write_text(CONFIG)
        body = "{{nope}} " * 100_000  # 900 kB: 100,000 placeholders
        for channel in (1, 2):
            text = DENSE.format(channel=channel, body=("<p>" if channel == 2 else "") + body)
            (directory / "manifests" / f"dense{channel}.yaml").write_text(text)
        # An email body of 100,000 tags never finished ('<a <a … >'): 300 kB.
        unfinished = DENSE.format(channel=2, body="<p>" + "<a " * 100_000 + ">")
        unfinished = unfinished.replace("dense-2", "unfinished").replace("target: 2", "target: 3")
        (directory / "manifests" / "unfinished.yaml").write_text(unfinished)
        with contextlib.chdir(directory):
            out, err = io.StringIO(), io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli_main(["--config", "reconciler.yaml", "preview", "--out", "preview"])
            elapsed = time.perf_counter() - start
            assert code == 0, err.getvalue()
    from reconciler.preview.compare import Communication, changed_lines

    def message(text: str) -> Communication:
        return Communication("START", "SMS", "sms", "NW", "", text, 0, True, "m.yaml:1:1")

    start = time.perf_counter()
    changed_lines(message("x\n" * 50_000 + "y"), message("x\n" * 25_000 + "z\n" + "x\n" * 25_000))
    compared = time.perf_counter() - start
    print(
        "preview of two 900 kB placeholder-dense templates and a 300 kB email of unfinished"
        f" tags written in {elapsed:.2f} s; two messages of 50,000 equal lines compared in"
        f" {compared:.2f} s"
    )


def measure_preview(targets: int) -> dict[str, float]:
    """Seconds from the command's start to a written page, the page alone, and its bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        generate(directory, targets)
        with contextlib.chdir(directory):
            out, err = io.StringIO(), io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli_main(["--config", "reconciler.yaml", "preview", "--out", "preview"])
            elapsed = time.perf_counter() - start
            assert code == 0, err.getvalue()
            size = (directory / "preview" / "index.html").stat().st_size
            result = load_manifests(["manifests"], variables={}, root=directory)
            from reconciler.config import EnvironmentConfig

            env = EnvironmentConfig(
                endpoint="sandbox", channels={"1": "sms", "2": "email", "3": "push"}
            )
            options = PreviewOptions.of("sandbox", env, worst_case(("target_value",)))
            page_start = time.perf_counter()
            build_page(result.documents, options=options)
            page_only = time.perf_counter() - page_start
    return {"elapsed": elapsed, "page_only": page_only, "bytes": float(size)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--dense", action="store_true", help="time placeholder-dense templates")
    args = parser.parse_args()
    if args.dense:
        dense()
        return
    figures = measure_preview(args.targets)
    if args.json:
        print(json.dumps(figures))
        return
    elapsed = figures["elapsed"]
    verdict = "ok" if elapsed < 2 else "OVER the 2 s budget"
    print(
        f"preview of {args.targets:,} targets ({args.targets * 4:,} communications, "
        f"{figures['bytes'] / 1e6:.1f} MB) written in {elapsed:.2f} s ({verdict}); the page "
        f"alone {figures['page_only']:.2f} s"
    )


if __name__ == "__main__":
    main()
