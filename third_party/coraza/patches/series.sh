#!/usr/bin/env bash
# Parapet's Coraza copy as pristine Coraza plus an ordered patch series.
# See ../PARAPET.md ("The patch series") for the workflow.
#
#   series.sh apply DIR    build pristine + patches into DIR (a new directory)
#   series.sh verify       fail, with a diff, unless third_party/coraza equals
#                          pristine + patches, file list and bytes
#   series.sh git DIR      DIR becomes a git repository: tag "pristine" is the
#                          release minus removed.txt, then one commit per patch
#                          (its header as the message), to edit with git
#   series.sh export DIR   rewrite the patch files from DIR's commits after
#                          "pristine" (the reverse of "git")
#   series.sh tree         rewrite third_party/coraza (all but PARAPET.md and
#                          patches/) as pristine + patches (after an export)
#   series.sh base DIR     DIR becomes a git repository holding the release
#                          minus removed.txt, tagged "pristine" (for a rebase
#                          onto the next release)
#   series.sh new NAME "Subject"
#                          write the difference between the tree and
#                          pristine + patches as the next patch, NNNN-NAME.patch
#   series.sh check-alone N...
#                          check that patches N... each apply to pristine on
#                          their own (the upstreamable ones, see PARAPET.md)
#
# The release is the version of github.com/corazawaf/coraza/v3 that the
# repository's go.mod requires (the replace directive points it here). It
# comes from the Go module cache, or the module proxy through
# `go mod download`. removed.txt lists what is deleted from the release
# before the patches apply (development files: CI, docs, mage); pristine.sum
# pins the release's module hash.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
copy=$(dirname "$here")
root=$(cd "$copy/../.." && pwd)
GO=${GO:-go}
module=github.com/corazawaf/coraza/v3
# Everything in the copy that is Parapet's, not Coraza's: never compared.
parapet_only=(PARAPET.md patches)

die() { echo "coraza-patches: $*" >&2; exit 1; }

# One scratch directory per run, removed on exit.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/coraza-patches.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# git, unaffected by the user's configuration where it matters for
# byte-identical patch files.
g() {
  git -c core.quotePath=false -c diff.noprefix=false -c diff.mnemonicPrefix=false \
    -c diff.renames=false -c diff.algorithm=myers -c core.autocrlf=false \
    -c user.name=coraza-patches -c user.email=coraza-patches@localhost \
    -c commit.gpgSign=false "$@"
}

version() {
  local v
  v=$(awk -v m="$module" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$root/go.mod")
  [ -n "$v" ] || die "no version of $module in $root/go.mod"
  echo "$v"
}

# pristine prints the directory of the released module (read-only, in the
# module cache), downloading it through the proxy when it is not cached. Its
# hash must be the one pristine.sum pins for that version (go.sum does not
# list a replaced module).
pristine() {
  local v json dir sum want
  v=$(version)
  json=$(cd "$root" && $GO mod download -json "$module@$v") || die "go mod download $module@$v failed"
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  sum=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $module@$v gave no directory"
  want=$(awk -v m="$module" -v v="$v" '$1 == m && $2 == v { print $3 }' "$here/pristine.sum")
  [ -n "$want" ] || die "pristine.sum pins no hash for $module $v; after checking the release, add the line: $module $v $sum"
  [ "$sum" = "$want" ] || die "$module@$v has hash $sum, pristine.sum pins $want"
  echo "$dir"
}

patches() {
  local p
  for p in "$here"/[0-9][0-9][0-9][0-9]-*.patch; do
    [ -e "$p" ] && echo "$p"
  done
}

# header prints a patch file's header: everything before its first
# "diff --git", without trailing blank lines.
header() {
  awk '/^diff --git / { exit } { print }' "$1" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

# base DIR: DIR becomes a git repository holding the release minus
# removed.txt, committed and tagged "pristine".
base() {
  local dir=$1 src
  [ ! -e "$dir" ] || die "$dir exists; give a new directory"
  src=$(pristine)
  mkdir -p "$dir"
  cp -R "$src/." "$dir/"
  chmod -R u+w "$dir"
  (
    cd "$dir"
    while IFS= read -r path; do
      case $path in '' | '#'*) continue ;; esac
      [ -e "$path" ] || die "removed.txt names $path, which $module@$(version) does not have"
      rm -rf -- "$path"
    done <"$here/removed.txt"
    g init -q
    g add -A -f .
    g commit -q --no-verify -m "$module@$(version) minus removed.txt"
    g tag pristine
  )
}

# series DIR: base DIR, then each patch applied and committed in order.
series() {
  local dir=$1 p
  base "$dir"
  for p in $(patches); do
    (cd "$dir" && g apply --index --whitespace=nowarn "$p") ||
      die "$(basename "$p") does not apply on top of the patches before it"
    header "$p" | (cd "$dir" && g commit -q --no-verify --allow-empty --cleanup=verbatim -F -)
  done
}

# tree_files DIR: the files of Parapet's copy (tracked or untracked but not
# ignored, as they are in the work tree), relative to DIR, minus
# Parapet's own.
tree_files() {
  local dir=$1
  (
    cd "$dir"
    if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
      git ls-files -co --exclude-standard -z . | xargs -0 -r -n 200 sh -c 'for f; do [ -f "$f" ] && printf "%s\n" "$f"; done' sh
    else
      find . -type f | sed 's|^\./||'
    fi
  ) | grep -v -E "^($(IFS='|'; echo "${parapet_only[*]}"))(/|$)" | LC_ALL=C sort
}

cmd_apply() {
  [ $# -eq 1 ] || die "usage: series.sh apply DIR"
  series "$1"
  rm -rf "$1/.git"
}

cmd_git() {
  [ $# -eq 1 ] || die "usage: series.sh git DIR"
  series "$1"
  echo "coraza-patches: $1: tag pristine, then $(patches | wc -l) commits, one per patch"
}

# check_headers fails unless every patch has a complete header (see
# PARAPET.md, "The patch series"): Subject, Reason, Measured, Tests and
# Upstream lines, no TODO left by "new".
check_headers() {
  local p field bad=0
  for p in $(patches); do
    for field in Subject Reason Measured Tests Upstream; do
      header "$p" | grep -q "^$field: " || { echo "coraza-verify: $(basename "$p"): no \"$field:\" line in its header"; bad=1; }
    done
    if header "$p" | grep -q 'TODO'; then
      echo "coraza-verify: $(basename "$p"): its header still has TODO"
      bad=1
    fi
  done
  [ $bad -eq 0 ] || die "patch headers incomplete"
}

cmd_verify() {
  local built rc=0
  check_headers
  built=$tmp/built
  series "$built" >/dev/null
  (cd "$built" && g ls-files) | LC_ALL=C sort >"$tmp/built.list"
  tree_files "$copy" >"$tmp/tree.list"
  if ! cmp -s "$tmp/built.list" "$tmp/tree.list"; then
    echo "coraza-verify: the file lists differ (< pristine + patches, > third_party/coraza):"
    diff "$tmp/built.list" "$tmp/tree.list" | grep '^[<>]' || true
    rc=1
  fi
  # One checksum pass over each side; a diff only for the files that differ.
  LC_ALL=C comm -12 "$tmp/built.list" "$tmp/tree.list" >"$tmp/both.list"
  (cd "$built" && tr '\n' '\0' <"$tmp/both.list" | xargs -0 -r sha256sum) >"$tmp/built.sum"
  (cd "$copy" && tr '\n' '\0' <"$tmp/both.list" | xargs -0 -r sha256sum) >"$tmp/tree.sum"
  local f
  while IFS= read -r f; do
    [ $rc -eq 2 ] || echo "coraza-verify: files differ from pristine + patches (--- pristine + patches, +++ third_party/coraza):"
    rc=2
    diff -u --label "a/$f" --label "b/$f" "$built/$f" "$copy/$f" || true
  done < <(diff "$tmp/built.sum" "$tmp/tree.sum" | sed -n 's/^> [0-9a-f]*  //p')
  if [ $rc -ne 0 ]; then
    echo "coraza-verify: FAILED: third_party/coraza is not $module@$(version) + patches/."
    echo "coraza-verify: a change to the copy goes into a patch: third_party/coraza/PARAPET.md, \"How to add a patch\"."
    exit 1
  fi
  echo "coraza-verify: third_party/coraza is $module@$(version) minus removed.txt plus $(patches | wc -l) patches ($(wc -l <"$tmp/tree.list") files identical)"
}

cmd_export() {
  [ $# -eq 1 ] || die "usage: series.sh export DIR"
  local dir=$1 n=0 c name
  (cd "$dir" && g rev-parse -q --verify pristine >/dev/null) || die "$dir has no tag pristine (made by series.sh git)"
  for c in $(cd "$dir" && g rev-list --reverse pristine..HEAD); do
    n=$((n + 1))
    name=$(cd "$dir" && g log -1 --format=%B "$c" | sed -n 's/^Name: *//p' | head -1)
    [ -n "$name" ] || name=$(cd "$dir" && g log -1 --format=%s "$c" | sed 's/^Subject: *//' |
      tr 'A-Z' 'a-z' | sed 's/[^a-z0-9]\{1,\}/-/g; s/^-//; s/-$//' | cut -c1-48 | sed 's/-$//')
    name=$(printf '%04d-%s.patch' "$n" "$name")
    {
      (cd "$dir" && g log -1 --format=%B "$c") | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
      echo
      (cd "$dir" && g diff --no-color --no-ext-diff --binary --full-index --src-prefix=a/ --dst-prefix=b/ "$c^" "$c")
    } >"$tmp/$name"
  done
  rm -f "$here"/[0-9][0-9][0-9][0-9]-*.patch
  cp "$tmp"/*.patch "$here/" 2>/dev/null || true
  echo "coraza-patches: wrote $n patches to ${here#"$root"/}"
}

cmd_tree() {
  [ $# -eq 0 ] || die "usage: series.sh tree"
  local f
  series "$tmp/s" >/dev/null
  tree_files "$copy" | while IFS= read -r f; do rm -f -- "$copy/$f"; done
  find "$copy" -mindepth 1 -type d -empty -delete
  (cd "$tmp/s" && g ls-files -z | xargs -0 -r cp --parents -t "$copy")
  echo "coraza-patches: third_party/coraza is now $module@$(version) plus $(patches | wc -l) patches"
}

cmd_new() {
  [ $# -eq 2 ] || die 'usage: series.sh new NAME "Subject"'
  local name=$1 subject=$2 n f
  case $name in *[!a-z0-9-]*) die "NAME is lower-case letters, digits and dashes" ;; esac
  series "$tmp/s" >/dev/null
  # The tree, as it is, over the applied series (Parapet's own files left out).
  (cd "$tmp/s" && g ls-files -z | xargs -0 rm -f)
  tree_files "$copy" | while IFS= read -r f; do
    mkdir -p "$tmp/s/$(dirname "$f")"
    cp "$copy/$f" "$tmp/s/$f"
  done
  (cd "$tmp/s" && g add -A -f .)
  if (cd "$tmp/s" && g diff --cached --quiet); then
    die "third_party/coraza equals pristine + patches: nothing to put in a new patch"
  fi
  n=$(($(patches | wc -l) + 1))
  f=$(printf '%s/%04d-%s.patch' "$here" "$n" "$name")
  {
    printf 'Subject: %s\n\n' "$subject"
    printf 'Name: %s\n' "$name"
    printf "Patch: %d of Parapet's Coraza series (third_party/coraza/PARAPET.md)\n" "$n"
    printf 'From: TODO Parapet commit(s)\n'
    printf 'Reason: TODO what the engine did and why it matters\n'
    printf 'Measured: TODO benchmark, runs, before -> after (or: not a speed change)\n'
    printf 'Tests: TODO the tests that fail without it\n'
    printf 'Upstream: TODO yes (a bug fix or export, with its test) / no (why)\n'
    echo
    (cd "$tmp/s" && g diff --cached --no-color --no-ext-diff --binary --full-index --src-prefix=a/ --dst-prefix=b/)
  } >"$f"
  echo "coraza-patches: wrote ${f#"$root"/}; fill in its header (TODO lines) and PARAPET.md's list"
}

cmd_check_alone() {
  [ $# -ge 1 ] || die "usage: series.sh check-alone N..."
  local n p
  base "$tmp/base" >/dev/null
  for n in "$@"; do
    p=$(ls "$here"/"$(printf '%04d' "$((10#$n))")"-*.patch 2>/dev/null) || die "no patch $n"
    (cd "$tmp/base" && g apply --check "$p") || die "$(basename "$p") does not apply to pristine on its own"
    echo "coraza-patches: $(basename "$p") applies to pristine $module@$(version) on its own"
  done
}

[ $# -ge 1 ] || die "usage: series.sh apply DIR | verify | git DIR | export DIR | tree | base DIR | new NAME SUBJECT | check-alone N..."
sub=$1
shift
case $sub in
  apply) cmd_apply "$@" ;;
  verify) cmd_verify "$@" ;;
  git) cmd_git "$@" ;;
  export) cmd_export "$@" ;;
  new) cmd_new "$@" ;;
  tree) cmd_tree "$@" ;;
  base) [ $# -eq 1 ] || die "usage: series.sh base DIR"; base "$1" ;;
  check-alone) cmd_check_alone "$@" ;;
  *) die "unknown command $sub" ;;
esac
