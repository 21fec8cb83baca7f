#!/usr/bin/env bash
# The web front-ends' ground (see web/README.md):
#   scripts/web.sh install   Debian's chromium and fonts, Node.js (>= 20) and npm if missing,
#                            then the pinned npm packages of web/package-lock.json (npm ci)
#   scripts/web.sh build     bundle every front-end into web/dist (served by dispatch)
#   scripts/web.sh test      the browser tests (node --test) against the real service; needs
#                            DATABASE_URL (a test cluster) and target/debug/dispatch
#   scripts/web.sh bench     the driver app's figures: first-visit bytes, cached reload time
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/web"

need_apt=()
install() {
    command -v chromium >/dev/null || need_apt+=(chromium)
    dpkg -s fonts-noto-core >/dev/null 2>&1 || need_apt+=(fonts-noto-core)
    command -v node >/dev/null || need_apt+=(nodejs)
    command -v npm >/dev/null || need_apt+=(npm)
    if ((${#need_apt[@]})); then
        echo "web: installing ${need_apt[*]} from Debian packages" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
    fi
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    if [ "$major" -lt 20 ]; then
        echo "web: Node.js $(node --version) is too old: playwright-core needs Node 20 or later" >&2
        exit 1
    fi
    # Reinstall only when the lock file changed since the last npm ci.
    local sum
    sum=$(sha256sum package-lock.json | cut -d' ' -f1)
    if [ "$(cat node_modules/.passaggio-lock 2>/dev/null)" != "$sum" ]; then
        npm ci --no-audit --no-fund --loglevel=error
        echo "$sum" >node_modules/.passaggio-lock
    fi
}

case "${1:-}" in
install) install ;;
build) node build.mjs ;;
test) node --test --test-concurrency=1 tests/ ;;
bench) node bench/driver.mjs ;;
*)
    echo "usage: scripts/web.sh install|build|test|bench" >&2
    exit 2
    ;;
esac
