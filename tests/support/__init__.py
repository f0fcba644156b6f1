"""What the tests share besides fixtures (those live in the conftest.py files), one module each:

- ``cli``: running ``reconciler`` in process or as a real process, and the repository it runs in;
- ``manifests``: manifest documents written by a test;
- ``sandbox``: requests to the sandbox and checks of its state and request log;
- ``probe``: the probe's scratch target, and what a probe left on it and in the repository;
- ``client``: driving one ``CapillaryClient``: settings, fake time, scripted transports;
- ``servers``: loopback HTTP servers that answer from a script or sit in front of the sandbox;
- ``fake_capillary``: a small Capillary written in the test, whose upsert a test overrides;
- ``raw_servers``: raw-socket servers that misbehave below HTTP;
- ``guards``: what the suite-wide guards of ``tests/conftest.py`` check;
- ``render``: the golden scenario plan and the markdown well-formedness check;
- ``workflows``: the GitHub workflows read as data, and their ``run:`` steps run;
- ``contracts``: the contract files a probe would write per sandbox dialect, and the sandbox's
  database read as the contract suites compare it.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (the demo manifests, reconciler.yaml)
