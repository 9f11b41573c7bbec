"""The front door and the pages behind it: what a newcomer runs first works as written, from the
clone alone; the settings table is group_data/all.py's; every link and file mentioned exists."""

from __future__ import annotations

import json
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.runs import REPO, grand_total, pyinfra_command

README = (REPO / "README.md").read_text()
PAGES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
# Top-level folders of the repository whose files the pages name in backticks.
REPO_FOLDERS = ("bench", "docs", "files", "group_data", "inventory", "operations", "tests", ".ci")


def bash_blocks(section: str) -> list[list[str]]:
    """The command lines of each ```bash block under the ``## section`` heading."""
    body = README.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [[line.split("  #")[0].strip() for line in block.strip().splitlines()]
            for block in re.findall(r"```bash\n(.*?)```", body, re.S)]


def section(text: str, heading: str) -> str:
    """The body under the ``## heading`` line, up to the next ``## `` heading."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def settings_table(readme: str) -> dict[str, str]:
    """Each key of the README's settings table with its default as written there; a row may list
    several keys and as many defaults, each in backticks."""
    table = {}
    for row in section(readme, "Settings").splitlines():
        if not row.startswith("| `"):
            continue
        keys_cell, defaults_cell = row.split(" | ")[:2]
        keys = re.findall(r"`([^`]+)`", keys_cell)
        defaults = re.findall(r"`([^`]+)`", defaults_cell)
        assert len(keys) == len(defaults), row
        table.update(zip(keys, defaults))
    return table


def as_shown(value) -> str:
    """A default the way the settings table shows it: strings bare, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def group_data_defaults() -> dict[str, object]:
    namespace = runpy.run_path(str(REPO / "group_data" / "all.py"))
    return {key: value for key, value in namespace.items() if not key.startswith("__")}


def heading_anchors(text: str) -> set[str]:
    """The anchors a Markdown renderer gives the headings: lower case, punctuation dropped,
    spaces as hyphens."""
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", text, re.M)}


def broken_links(page: Path, text: str) -> list[str]:
    """The relative links in ``text`` (the page's) that leave the repository, or name a file or
    heading that is not there."""
    broken = []
    for link in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"https?://", link):
            continue
        target, _, anchor = link.partition("#")
        if not target:
            if anchor not in heading_anchors(text):
                broken.append(link)
            continue
        path = (page.parent / target).resolve()
        if not path.is_relative_to(REPO) or not path.exists():
            broken.append(link)
        elif anchor and anchor not in heading_anchors(path.read_text()):
            broken.append(link)
    return broken


def test_the_readme_is_a_short_front_door():
    assert len(README.splitlines()) <= 250
    for page in PAGES[1:]:
        assert page.relative_to(REPO).as_posix() in README, f"{page.name} is not linked from the README"


def test_the_settings_table_lists_every_default_of_group_data():
    defaults = group_data_defaults()
    table = settings_table(README)
    assert sorted(table) == sorted(defaults)
    for key, value in defaults.items():
        assert table[key] == as_shown(value), key


def test_a_wrong_or_missing_default_in_the_table_is_caught():
    defaults = group_data_defaults()
    wrong = README.replace("| `litellm_port` | `4000` |", "| `litellm_port` | `4001` |")
    assert settings_table(wrong)["litellm_port"] != as_shown(defaults["litellm_port"])
    missing = README.replace("| `lock_wait` |", "| lock_wait |")
    assert "lock_wait" not in settings_table(missing)


def test_every_relative_link_resolves_to_a_file_and_heading_in_the_repository():
    for page in PAGES:
        assert broken_links(page, page.read_text()) == [], page.name


def test_a_broken_link_is_caught():
    text = ("# Probe\n[a](models.md#no-such-heading) [b](no-such-page.md) [c](../../outside.md)"
            " [d](models.md#what-each-name-routes-to) [e](#probe) [f](#nowhere)\n")
    assert broken_links(REPO / "docs" / "probe.md", text) == [
        "models.md#no-such-heading", "no-such-page.md", "../../outside.md", "#nowhere"]


def test_every_repository_file_the_pages_name_exists():
    pattern = r"`((?:%s)/[^`\s<>*]*)`" % "|".join(re.escape(folder) for folder in REPO_FOLDERS)
    for page in PAGES:
        for name in re.findall(pattern, page.read_text()):
            generated = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", name]).returncode == 0
            assert (REPO / name).exists() or generated, f"{page.name}: {name}"


def test_the_pages_point_nowhere_outside_the_repository():
    assert "../" not in README
    for page in PAGES:
        text = page.read_text()
        assert "seeds/" not in text and "/work/" not in text and "shared/" not in text, page.name


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
    args = pyinfra_command(*command[1:], data=sandbox.data, yes=False)
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
