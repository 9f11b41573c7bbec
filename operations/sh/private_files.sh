# shellcheck shell=sh
# Reading files that may hold secrets (operations/facts/unprinted.py): sent with pyinfra's
# printing off, so what they hold is never shown, at any verbosity.

# print_files FILE...: "file\t<path>\t<its base64 on one line>" for each readable file.
print_files() {
  for file in "$@"; do
    [ -f "$file" ] && [ -r "$file" ] || continue
    printf 'file\t%s\t%s\n' "$file" "$(base64 < "$file" | tr -d '\n')"
  done
}
