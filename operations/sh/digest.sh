# shellcheck shell=sh
# What a fact's script printed, and its digest: a run that will change something re-reads
# under its lock and goes on only if the digest is the same (lock.sh).

# digested SCRIPT: runs SCRIPT (in a subshell, not another sh), prints its output, then
# "digest\t<the output's POSIX cksum>".
digested() {
  out=$(eval "$1")
  printf '%s\n' "$out"
  printf 'digest\t%s\n' "$(printf '%s\n' "$out" | cksum)"
}

# digest_of SCRIPT: the digest `digested SCRIPT` would print.
digest_of() { out=$(eval "$1"); printf '%s\n' "$out" | cksum; }
