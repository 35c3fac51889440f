"""A stand-in for a fresh Colab runtime, to run a notebook alone as Colab runs it (tests/test_colab.py).

What Colab gives a notebook opened from GitHub, and what stands in for it here:
- an empty /content as the kernel's working folder: a fresh empty folder ($WORKSHOP_COLAB_CONTENT points the
  setup cell and helpers.runs at it; unset in real Colab);
- the notebook file with no sibling files: a copy alone in a folder of its own;
- `google.colab` imported as the kernel starts: tests/colab/google/colab (drive.mount, output), imported by an
  IPython startup file;
- github.com for the setup cell's `git clone https://github.com/<owner>/<name>`: a bare repository made from
  this checkout's working tree (tracked and untracked, not ignored, files), through git's
  `url.<base>.insteadOf`, set in the kernel's environment (GIT_CONFIG_COUNT): no network;
- Colab's packages: the kernel runs the Python given by $WORKSHOP_COLAB_PYTHON (CI: a venv pinned as Colab,
  see .ci/run), else this one;
- Google Drive: a folder that outlives the runtime ($COLAB_STANDIN_DRIVE), as a real Drive outlives a disconnect.

What it does not stand in for: Colab's front end (widgets are not rendered), its GPU, the network (the corpus
comes from $WORKSHOP_CORPUS, never downloaded). Run one notebook by hand:
    python tests/colab_runtime.py notebooks/06_sampling.ipynb   # WORKSHOP_SMOKE=0 for full mode
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
STANDIN = Path(__file__).resolve().parent / "colab"  # holds google/colab and the IPython startup file
COLAB_PYTHON_ENV = "WORKSHOP_COLAB_PYTHON"
sys.path.insert(0, str(REPO))

from helpers.runs import COLAB_CONTENT_ENV  # noqa: E402
from helpers.settings import project_setting  # noqa: E402

PINNED = STANDIN / "requirements.txt"  # Colab's versions, installed by .ci/run into the kernel's venv
COLAB_PYTHON_VERSION = (STANDIN / "python-version").read_text().strip()  # Colab's Python, .ci/run's venv's


def colab_pins(path: Path = PINNED) -> dict[str, str]:
    """`{package: version}` for each `name==version` line of tests/colab/requirements.txt."""
    lines = (line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return dict(line.split("==") for line in lines if "==" in line)


DISCONNECT = """# added by tests/colab_runtime.py: the runtime goes away in the middle of training
import itertools, os, signal, sys


def _disconnect(event, args, _seen=itertools.count(1)):
    if event == "os.rename" and "/MyDrive/" in str(args[1]) and str(args[1]).endswith("/last.safetensors"):
        if next(_seen) == {count}:
            os.kill(os.getpid(), signal.SIGKILL)


sys.addaudithook(_disconnect)
del _disconnect
"""
REPORT_CELL = """# added by tests/colab_runtime.py: what this runtime is, for the test to check
import importlib.metadata, json, sys
import helpers

versions = {}
for name in ("ipython", "ipykernel", "ipywidgets", "matplotlib", "notebook", "torch"):
    try:
        versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        versions[name] = None
report = {"helpers": helpers.__file__, "python": sys.version.split()[0], "colab": "google.colab" in sys.modules}
print("COLAB-RUNTIME " + json.dumps({**report, "versions": versions}))"""


def publish_checkout(into: Path, repo: Path = REPO) -> str:
    """A bare repository `into/<owner>/<name>` holding this checkout's working tree as one commit.

    The working tree, not HEAD: what is tested is what would be committed. Returns `owner/name`.
    """
    github = project_setting("github", repo / "pyproject.toml")
    bare = into / github
    bare.parent.mkdir(parents=True, exist_ok=True)
    quiet = {"check": True, "capture_output": True, "text": True}
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], **quiet)
    env = {
        **git_isolation(),
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(into),
        "GIT_DIR": str(bare),
        "GIT_WORK_TREE": str(repo),
        "GIT_AUTHOR_NAME": "colab stand-in",
        "GIT_AUTHOR_EMAIL": "colab@example.invalid",
        "GIT_COMMITTER_NAME": "colab stand-in",
        "GIT_COMMITTER_EMAIL": "colab@example.invalid",
    }
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, **quiet)
    subprocess.run(["git", "commit", "-q", "-m", "working tree"], cwd=repo, env=env, **quiet)
    (bare / "index").unlink(missing_ok=True)
    return github


def git_isolation() -> dict[str, str]:
    """No system or user git configuration: only what the stand-in sets."""
    return {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def github_served_from(remotes: Path) -> dict[str, str]:
    """Git environment that answers https://github.com/<owner>/<name> from remotes/<owner>/<name>."""
    return {
        **git_isolation(),
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": f"url.file://{remotes}/.insteadOf",
        "GIT_CONFIG_VALUE_0": "https://github.com/",
        "GIT_CONFIG_KEY_1": "protocol.file.allow",
        "GIT_CONFIG_VALUE_1": "always",
        "GIT_TERMINAL_PROMPT": "0",
    }


class ColabMachine:
    """What outlives one runtime: the published checkout, Google Drive, the kernel's Python and caches."""

    def __init__(self, base: Path, corpus: Path, python: str | None = None):
        self.base = base
        self.corpus = corpus  # the kernel is given it: the stand-in never downloads
        self.remotes = base / "github"
        self.github = publish_checkout(self.remotes)
        self.drive = base / "drive"  # the attendee's Google Drive
        self.python = python or os.environ.get(COLAB_PYTHON_ENV) or sys.executable
        self.mplconfig = base / "matplotlib"  # shared: the font cache is built once, not per runtime
        self.count = 0

    def runtime(self) -> ColabRuntime:
        """A fresh runtime: empty /content and home folder; Drive and the published checkout as they are."""
        self.count += 1
        return ColabRuntime(self, self.base / f"runtime-{self.count}")


class ColabRuntime:
    def __init__(self, machine: ColabMachine, folder: Path):
        self.machine = machine
        self.content = folder / "content"
        self.home = folder / "root"
        self.ipython_dir = folder / "ipython"
        self.kernels = folder / "kernels"
        self.opened = folder / "opened"  # the notebook file, alone
        for path in (self.content, self.home, self.opened):
            path.mkdir(parents=True)
        startup = self.ipython_dir / "profile_default" / "startup"
        startup.mkdir(parents=True)
        shutil.copy(STANDIN / "startup" / "00_colab.py", startup)
        spec = self.kernels / "colab"
        spec.mkdir(parents=True)
        argv = [machine.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Colab", "language": "python"}))

    @property
    def clone(self) -> Path:
        return self.content / "gpt-from-scratch"

    def env(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "WORKSHOP_SMOKE", "OMP_NUM_THREADS")
        return {
            **{key: os.environ[key] for key in keep if key in os.environ},
            **github_served_from(self.machine.remotes),
            "HOME": str(self.home),
            "IPYTHONDIR": str(self.ipython_dir),
            "PYTHONPATH": str(STANDIN),  # google.colab; never this checkout: helpers must come from the clone
            "MPLCONFIGDIR": str(self.machine.mplconfig),
            "COLAB_STANDIN_DRIVE": str(self.machine.drive),
            "WORKSHOP_CORPUS": str(self.machine.corpus),
            COLAB_CONTENT_ENV: str(self.content),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }

    def disconnect_at_checkpoint(self, count: int) -> None:
        """Kill the kernel (SIGKILL: no clean-up, as when Colab's runtime goes away) at the `count`-th time a
        checkpoint on Drive is being renamed into place as last.safetensors: a cut in mid-training."""
        (self.ipython_dir / "profile_default" / "startup" / "10_disconnect.py").write_text(
            DISCONNECT.format(count=count)
        )

    def open(self, notebook: Path) -> nbformat.NotebookNode:
        """The notebook as Colab opens it from GitHub: its file alone, plus a last cell reporting the runtime."""
        alone = self.opened / notebook.name
        shutil.copy(notebook, alone)
        nb = nbformat.read(alone, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(REPORT_CELL))
        return nb

    def run(self, nb: nbformat.NotebookNode, timeout: int = 600) -> dict:
        """Execute every cell in a new kernel whose working folder is /content; returns the runtime report."""
        specs = KernelSpecManager(kernel_dirs=[str(self.kernels)])
        km = AsyncKernelManager(kernel_name="colab", kernel_spec_manager=specs)  # async: nbclient then sees a death
        client = NotebookClient(nb, km=km, timeout=timeout, resources={"metadata": {"path": str(self.content)}})
        try:
            client.execute(env=self.env())
        finally:  # nbclient leaves a kernel it was handed running
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
        return report_of(nb)


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """Everything the cells printed (streams and plain-text results), in order."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif "data" in out and "text/plain" in out.data:
                parts.append(out.data["text/plain"])
    return "\n".join(parts)


def report_of(nb: nbformat.NotebookNode) -> dict:
    lines = [line for line in outputs_text(nb).splitlines() if line.startswith("COLAB-RUNTIME ")]
    if not lines:
        raise AssertionError("the notebook ran, but its last cell printed no COLAB-RUNTIME report")
    return json.loads(lines[-1][len("COLAB-RUNTIME ") :])


def main(argv: list[str]) -> int:
    """Run notebooks alone in the stand-in, one fresh runtime each; print each one's time and report."""
    from helpers.data import find_corpus

    with tempfile.TemporaryDirectory(prefix="colab-") as tmp:
        machine = ColabMachine(Path(tmp), corpus=find_corpus(download=False))
        for name in argv:
            runtime = machine.runtime()
            started = time.perf_counter()
            report = runtime.run(runtime.open(Path(name)))
            print(f"{name}: {time.perf_counter() - started:.1f} s alone in the Colab stand-in; {json.dumps(report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
