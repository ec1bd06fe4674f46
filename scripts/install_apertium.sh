#!/usr/bin/env bash
# Install Apertium and its English<->Spanish pair into a project-local prefix, for the local
# Translate provider (src/aigw/providers/translate.py). No root, nothing outside the prefix:
# the Debian packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x`,
# never installed. Apertium is GPL: aigw only runs it as an external program.
#
#   scripts/install_apertium.sh [PREFIX]     (default: .local/apertium in the project root)
#
# Afterwards:
#   PATH=PREFIX/usr/bin:$PATH LD_LIBRARY_PATH=PREFIX/usr/lib/x86_64-linux-gnu \
#     apertium -u -d PREFIX/usr/share/apertium spa-eng <<< "Hola mundo"
#
# Idempotent: a second run with the same package set returns at once. If the machine has no
# apt package lists, a private copy is fetched into the prefix (the system's stay untouched).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${1:-${AIGW_APERTIUM_HOME:-$ROOT/.local/apertium}}
PREFIX=$(mkdir -p "$PREFIX" && cd "$PREFIX" && pwd)

# What Apertium and the pair need. Library packages are fetched only when the system lacks
# them; the check afterwards (ldd) proves nothing is missing. gawk: the `apertium` script
# runs its text mode through gawk.
PROGRAMS=(apertium apertium-eng-spa lttoolbox apertium-lex-tools gawk)
LIBRARIES=(libapertium3 liblttoolbox3 libapertium-lex-tools1 libirstlm1 libsigsegv2
    libgmp10 libmpfr6 libreadline8 libicu72 libxml2 zlib1g)
PAIRS=(eng-spa spa-eng)
STAMP="$PREFIX/.installed-v1"

usr="$PREFIX/usr"
libpath() { # the unpacked multiarch library directories (usr/lib/x86_64-linux-gnu, ...)
    local dirs=("$usr"/lib/*-linux-gnu*)
    local IFS=:
    echo "${dirs[*]}"
}

works() {
    [[ -x "$usr/bin/apertium" ]] || return 1
    local out
    out=$(PATH="$usr/bin:$PATH" LD_LIBRARY_PATH="$(libpath)" \
        apertium -u -d "$usr/share/apertium" spa-eng <<<"hola" 2>/dev/null) || return 1
    [[ "$out" == *ello* ]]
}

if [[ -f "$STAMP" ]] && works; then
    echo "apertium: already installed in $PREFIX"
    exit 0
fi

exec 9>"$PREFIX/.lock"
flock 9 # one installer at a time (parallel test runs)
if [[ -f "$STAMP" ]] && works; then
    echo "apertium: already installed in $PREFIX"
    exit 0
fi

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

packages=("${PROGRAMS[@]}")
for library in "${LIBRARIES[@]}"; do
    installed "$library" || packages+=("$library")
done

work=$(mktemp -d "$PREFIX/.download.XXXXXX")
trap 'rm -rf "$work"' EXIT
apt_options=()
download() {
    (cd "$work" && apt-get "${apt_options[@]}" download "${packages[@]}") >"$work/apt.log" 2>&1
}
if ! download; then
    # No (or stale) package lists on this machine: fetch a private copy, leave the system's.
    echo "apertium: refreshing a private copy of the apt package lists"
    lists="$PREFIX/.apt"
    mkdir -p "$lists/lists/partial" "$lists/cache/archives/partial"
    apt_options=(-o "Dir::State::Lists=$lists/lists" -o "Dir::Cache=$lists/cache"
        -o "Debug::NoLocking=1")
    apt-get "${apt_options[@]}" update >"$work/update.log" 2>&1 || {
        cat "$work/update.log" >&2
        exit 1
    }
    download || {
        cat "$work/apt.log" >&2
        exit 1
    }
fi

staging="$work/root"
mkdir -p "$staging"
for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$staging"
done
rm -rf "$usr"
mv "$staging/usr" "$usr"

# The mode files name the data by its system path: point them at the prefix.
for pair in "${PAIRS[@]}"; do
    mode="$usr/share/apertium/modes/$pair.mode"
    [[ -f "$mode" ]] || {
        echo "apertium: $mode is missing after unpacking" >&2
        exit 1
    }
done
sed -i "s|/usr/share/apertium/|$usr/share/apertium/|g" "$usr/share/apertium/modes/"*.mode
rm -rf "$usr/share/doc" "$usr/share/man" "$usr/share/info" "$usr/share/locale"

missing=$(for binary in "$usr"/bin/*; do
    # ldd says "not a dynamic executable" of scripts: only libraries it cannot find count.
    LD_LIBRARY_PATH="$(libpath)" ldd "$binary" 2>/dev/null | grep "not found"
done | sort -u || true)
if [[ -n "$missing" ]]; then
    echo "apertium: libraries still missing:" >&2
    echo "$missing" >&2
    exit 1
fi
works || {
    echo "apertium: installed in $PREFIX but a test translation failed" >&2
    exit 1
}
rm -rf "$PREFIX/.apt"
touch "$STAMP"
rm -rf "$work"
echo "apertium: installed in $PREFIX ($(du -sh "$PREFIX" | cut -f1))"
