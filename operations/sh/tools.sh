# shellcheck shell=sh
# Installing the tools openClaude runs on (operations/ops/tools.py), without sudo.

# install_uv HOME DIR REQUIREMENT FAILED: pip installs REQUIREMENT (uv) into HOME/DIR and links
# HOME/.local/bin/uv to it; on failure prints FAILED and pip's last lines, and exits 1.
install_uv() {
  log=$(mktemp "${TMPDIR:-/tmp}/openclaude-uv.XXXXXX") && trap 'rm -f "$log"' EXIT || exit 1
  if ! python3 -m pip install --quiet --disable-pip-version-check --upgrade \
      --target "$1/$2" "$3" > "$log" 2>&1; then
    echo "$4" >&2; tail -n 5 "$log" >&2; exit 1
  fi
  mkdir -p "$1/.local/bin" && ln -sfn "$1/$2/bin/uv" "$1/.local/bin/uv" && "$1/.local/bin/uv" --version
}
