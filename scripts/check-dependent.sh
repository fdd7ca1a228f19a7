#!/usr/bin/env bash
# Checks what a user's package pays for depending on the HashIdx library: a scratch package
# (under .build-dependent/) with one executable that imports HashIdx, depending on this
# repository by path, or by version through its git tags. It must resolve nothing but
# swift-argument-parser (the command line's, which SwiftPM resolves for every dependent of
# the package but does not compile for them), compile no module but HashIdx's and its own,
# and run. Prints the packages resolved and the build time.
#
#   bash scripts/check-dependent.sh                      # by path
#   bash scripts/check-dependent.sh --version 0.2.0      # by version (tag v0.2.0 must exist)
#   bash scripts/check-dependent.sh --version-if-tagged  # by the version of CHANGELOG.md's
#                                                        # newest release when its tag exists
#                                                        # here, else by path
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=""
case "${1:-}" in
    --version) version=${2:?"--version needs a version, e.g. --version 0.1.0"} ;;
    --version-if-tagged)
        newest=$( { grep -m1 -o '^## \[[0-9][0-9.]*\]' CHANGELOG.md 2>/dev/null || true; } | tr -d '#[] ')
        if [ -n "$newest" ] && git rev-parse -q --verify "refs/tags/v$newest" > /dev/null; then version=$newest; fi ;;
    "") ;;
    *) sed -n '2,14p' "$0"; exit 2 ;;
esac
bash scripts/ensure-deps.sh

dir=.build-dependent
rm -rf "$dir" && mkdir -p "$dir/Sources/App"
# A package's identity is the last component of its URL or path: the clone's folder name.
name=$(basename "$root" | tr 'A-Z' 'a-z')
if [ -n "$version" ]; then
    dependency=".package(url: \"file://$root\", exact: \"$version\")"
    echo "dependent: HashIdx by version $version (tag v$version)" >&2
else
    dependency=".package(path: \"$root\")"
    echo "dependent: HashIdx by path" >&2
fi
cat > "$dir/Package.swift" <<MANIFEST
// swift-tools-version: 6.1
import PackageDescription
let package = Package(
    name: "App",
    dependencies: [$dependency],
    targets: [.executableTarget(name: "App", dependencies: [.product(name: "HashIdx", package: "$name")])]
)
MANIFEST
cat > "$dir/Sources/App/main.swift" <<'SWIFT'
import HashIdx

// Build a small index, search it, check the answer. The index's folder: the first argument.
func row(_ i: Int) -> [Float] {
    (0..<16).map { j -> Float in
        let base = Float((i * 7 + j * 13) % 17) - 8
        return j == i % 16 ? base + 9 : base
    }
}
let rows = (0..<500).map(row)
let path = CommandLine.arguments[1] + "/check.hidx"
try IndexBuilder.build(source: try InMemoryVectors(rows: rows), to: path)
let index = try Index(path: path)
let hits = try index.search(rows[42], options: SearchOptions(k: 3))
guard hits.first?.id == "42" else { fatalError("the nearest item to row 42 is \(hits.first?.id ?? "none")") }
print("dependent: \(index.count) items, nearest to row 42: \(hits.map(\.id))")
SWIFT

(cd "$dir" && swift package resolve > resolve.log 2>&1) || { cat "$dir/resolve.log" >&2; exit 1; }
resolved=$( { grep -o '"identity" : "[^"]*"' "$dir/Package.resolved" 2>/dev/null || true; } | sed 's/.*: "//; s/"$//' | { grep -vx "$name" || true; } | sort | tr '\n' ' ')
count=$(echo "$resolved" | wc -w)
echo "dependent: resolved $count package(s) besides hashidx: ${resolved:-none}" >&2
for p in $resolved; do
    [ "$p" = swift-argument-parser ] || { echo "dependent: FAILED, resolves $p, which HashIdx does not need" >&2; exit 1; }
done
t0=$(date +%s)
swift build --package-path "$dir" > "$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 1; }
echo "dependent: built in $(( $(date +%s) - t0 )) s" >&2
modules=$(ls "$dir/.build/debug/Modules" | grep '\.swiftmodule$' | sed 's/\.swiftmodule$//' | sort | tr '\n' ' ')
echo "dependent: Swift modules compiled: $modules" >&2
[ "$modules" = "App HashIdx " ] || { echo "dependent: FAILED, compiled more than HashIdx and the app" >&2; exit 1; }
mkdir -p "$dir/run" && "$dir/.build/debug/App" "$dir/run"
