#!/usr/bin/env bash
# Re-fetches the vendored Apache ECharts build from the npm registry:
#   tasks/internal/report/vendor/echarts/fetch.sh
# It keeps dist/echarts.min.js (the full minified UMD build: every chart type
# and component, including heatmap and visualMap), LICENSE, NOTICE and the
# bundled d3 licence, and checks the file's checksum. To move to another
# version, change VERSION and SHA256 together (and the version in
# ../../echarts.go, which names it on the page).
set -euo pipefail
VERSION=6.1.0
SHA256=b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "echarts@$VERSION" >/dev/null && tar xzf "echarts-$VERSION.tgz")
echo "$SHA256  $tmp/package/dist/echarts.min.js" | sha256sum -c -
cp "$tmp/package/dist/echarts.min.js" "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$tmp/package/licenses/LICENSE-d3" "$here/"
echo "echarts $VERSION vendored into $here"
