# Sourced by the scripts that install Python tools into a venv under .local (git-ignored):
#   venv_create VENV PACKAGE...   (re)create VENV with the pinned packages; installs Debian's
#                                  python3-venv first when running as root without it.
venv_create() {
  local venv=$1
  shift
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "venv.sh: installing python3-venv with apt-get" >&2
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >&2
    fi
  fi
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" >&2
}
