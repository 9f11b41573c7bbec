"""The README's front door: what a newcomer runs first works as written, from the clone alone."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys

from tests.conftest import BIN, REPO, grand_total

README = (REPO / "README.md").read_text()


def bash_blocks(section: str) -> list[list[str]]:
    """The command lines of each ```bash block under the ``## section`` heading."""
    body = README.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [[line.split("  #")[0].strip() for line in block.strip().splitlines()]
            for block in re.findall(r"```bash\n(.*?)```", body, re.S)]


def test_the_readme_points_nowhere_outside_the_repository():
    assert "../" not in README
    assert "seeds/" not in README and "/work/" not in README
    for link in re.findall(r"\]\(([^)]+)\)", README):  # Markdown links: the web or the clone
        assert re.match(r"https?://", link) or (REPO / link).exists(), link


def test_quick_start_is_two_commands_and_ci_runs_exactly_the_test_command():
    provision, suite = bash_blocks("Quick start")[0]
    assert provision.endswith("pyinfra @local deploy.py -y"), provision
    assert suite == "bash .ci/run"
    [test_command] = bash_blocks("Tests")[0]
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci
    assert "for contributors and CI" in README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "Press enter to execute..." in README and "EOFError" in README


def test_the_quick_start_deploy_runs_unattended(sandbox):
    """The README's pyinfra command, without a terminal (stdin closed), as in a script."""
    provision = bash_blocks("Quick start")[0][0]
    command = shlex.split(provision.split("&&")[-1])
    assert command[0] == ".venv/bin/pyinfra"
    args = [str(BIN / "pyinfra"), *command[1:], "--json"]
    for key, value in sandbox.data.items():
        args += ["--data", f"{key}={value}"]
    done = subprocess.run(args, cwd=REPO, env=sandbox.env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "EOFError" not in done.stderr
    assert grand_total(done.stdout)["changed"] > 0
    assert sandbox.path(".local/bin/openClaude").exists()


def test_installing_the_clone_leaves_no_build_artefacts_in_it(tmp_path):
    clone = tmp_path / "clone"
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    for name in tracked:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, clone / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--wheel-dir", str(tmp_path / "wheels"), str(clone)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert not (clone / "build").exists()
    assert not list(clone.glob("*.egg-info"))
