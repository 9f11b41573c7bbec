"""Every path in data works (issue #23): the real proxy, started by the real launcher, with every
path key of group_data/all.py set to a non-default value, answers a request on each tier.

The world of tests/support/end_to_end.py (real LiteLLM release installed by deploy.py, real Claude
Code CLI, stand-ins on loopback), with the files in other directories and under other names
than the defaults; nothing may appear at a default path.
"""

from __future__ import annotations

import json
import os

import pytest

from operations.deploys.openclaude import DEFAULTS
from operations.model.data import PATH_KEYS
from tests.claude_cli import claude_cli  # noqa: F401  (fixture)
from tests.support.end_to_end import ANTHROPIC_REPLY, BEDROCK_REPLY, converse_posts, messages_posts, standin_world
from tests.support.processes import command_line
from tests.test_verify import failed

# Other directories and other names than group_data/all.py's, for every path key.
PATHS = {
    "litellm_config": "etc/routing/proxy-routes.yaml",
    "master_key_file": "secrets/openclaude/proxy.key",
    "proxy_log": "var/log/litellm-proxy.txt",
    "proxy_pid_file": "var/run/litellm-proxy.state",
    "launcher": "tools/bin/oc",
    "launcher_alias": "bin/claude-via-proxy",
    "claude_settings": "dotfiles/claude/user-settings.json",
    "openclaude_dir": "profiles/openclaude",
    # Used with proxy_at_login only (off here): moved all the same, written nowhere.
    "launch_agent": "agents/mac/openclaude-proxy.plist",
    "systemd_unit": "agents/linux/openclaude-proxy.service",
}
USER_SETTINGS = {"env": {"OPENCLAUDE_PATHS_MARK": "carried over"}, "theme": "dark"}


@pytest.fixture(scope="module")
def world(tmp_path_factory, uv_cache, claude_cli):  # noqa: F811
    with standin_world(tmp_path_factory, uv_cache, claude_cli, name="every-path", paths=PATHS,
                       home_files={PATHS["claude_settings"]: json.dumps(USER_SETTINGS)}) as world:
        yield world


@pytest.fixture(scope="module")
def runs(world):
    found = {tier: world.claude(tier, "-p", "say hi", "--model", tier, oauth=True)
             for tier in ("opus", "sonnet", "haiku")}
    found["verify"] = world.pyinfra("verify.py", oauth=True)
    return found


def test_every_path_key_of_group_data_is_moved():
    assert set(PATHS) == set(PATH_KEYS)
    assert all(PATHS[key] != DEFAULTS[key] for key in PATH_KEYS)
    assert len({os.path.dirname(path) for path in PATHS.values()}) == len(PATHS)


@pytest.mark.parametrize("tier", ["opus", "sonnet", "haiku"])
def test_a_request_on_each_tier_answers_through_the_moved_proxy(runs, tier):
    run = runs[tier]
    assert run.returncode == 0, run.output
    if tier == "haiku":
        assert BEDROCK_REPLY in run.stdout, run.output
        assert converse_posts(run) and not messages_posts(run)
    else:
        assert ANTHROPIC_REPLY in run.stdout, run.output
        assert messages_posts(run) and not run.bedrock


def test_the_launcher_used_every_moved_path(world, runs):
    home = world.home
    assert world.paths == PATHS
    assert runs["haiku"].claude_env["CLAUDE_CONFIG_DIR"] == str(home / PATHS["openclaude_dir"])
    derived = json.loads((home / PATHS["openclaude_dir"] / "settings.json").read_text())
    assert derived["env"]["OPENCLAUDE_PATHS_MARK"] == "carried over"
    assert (home / PATHS["proxy_log"]).stat().st_size > 0
    assert world.proxy_pid() == runs["opus"].proxy_pid
    assert str(home / PATHS["litellm_config"]) in command_line(world.proxy_pid())
    assert (home / PATHS["master_key_file"]).stat().st_mode & 0o777 == 0o600
    assert os.path.samefile(world.alias, world.launcher)
    # The callbacks beside the moved config wrote their record there.
    assert (home / PATHS["litellm_config"]).with_name("usage.tsv").stat().st_size > 0


def test_nothing_appears_at_a_default_path(world, runs):
    for key in PATH_KEYS:
        assert not (world.home / DEFAULTS[key]).exists(), DEFAULTS[key]
    assert not (world.home / os.path.dirname(DEFAULTS["litellm_config"])).exists()


def test_verify_passes_with_the_moved_paths(runs):
    assert runs["verify"].returncode == 0, failed(runs["verify"])
