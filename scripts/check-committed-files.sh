#!/usr/bin/env bash
# Fails when git tracks a build output (an executable or shared library) or
# a file over 1 MiB outside api/gen: binaries belong in the ignored bin/,
# and generated code is the one big thing committed on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r -d '' f; do
  [[ -f $f ]] || continue
  size=$(stat -c %s -- "$f")
  if ((size > 1048576)) && [[ $f != api/gen/* ]]; then
    bad+=("$f (over 1 MiB)")
    continue
  fi
  magic=$(head -c 4 -- "$f" | od -An -tx1 | tr -d ' \n')
  case $magic in
    7f454c46) bad+=("$f (ELF executable or library)") ;;        # Linux
    cffaedfe | cefaedfe | cafebabe) bad+=("$f (Mach-O binary)") ;; # macOS
    4d5a*) bad+=("$f (Windows executable)") ;;
  esac
done < <(git ls-files -z)
if ((${#bad[@]} > 0)); then
  echo "committed files that do not belong in git:"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
