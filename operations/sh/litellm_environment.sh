# shellcheck shell=sh
# What verify.py reads of LiteLLM's tool environment: its distributions, the files the
# compromised releases left, the 1.107.0 daemon's lock, and the marker values of its Python.
# Arguments: the environment's directory; the daemon's lock; the marker reader (Python source);
# then the indicator file names.
env=$1; daemon_lock=$2; markers=$3; shift 3
if [ -e "$daemon_lock" ]; then printf 'indicator\t%s\n' "$daemon_lock"; fi
[ -d "$env" ] || exit 0
printf 'present\t%s\n' "$env"
for lib in "$env"/lib/python*; do
  [ -d "$lib" ] || continue
  for dist in "$lib"/site-packages/*.dist-info; do
    if [ -d "$dist" ]; then printf 'dist\t%s\n' "$dist"; fi
  done
  for name in "$@"; do
    for found in "$lib/$name" "$lib/site-packages/$name"; do
      if [ -e "$found" ]; then printf 'indicator\t%s\n' "$found"; fi
    done
  done
done
if [ -x "$env/bin/python" ]; then
  printf 'markers\t%s\n' "$("$env/bin/python" -c "$markers" 2>/dev/null)"
fi
