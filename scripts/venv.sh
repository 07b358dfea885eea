# Sourced by scripts/serve: the virtualenv, installed again only when the packaging changed, so
# a restart with no network still starts. The stamp is a hash of pyproject.toml kept in the venv.

packaging_stamp() {
  sha256sum pyproject.toml | cut -d' ' -f1
}

# needs_install VENV: true when VENV has no gitferry, or was installed from another pyproject.toml.
needs_install() {
  [ -x "$1/bin/gitferry" ] || return 0
  [ "$(cat "$1/.gitferry-installed" 2>/dev/null)" != "$(packaging_stamp)" ]
}

# ensure_venv VENV: make VENV and install gitferry into it, unless needs_install says no.
ensure_venv() {
  needs_install "$1" || return 0
  echo "gitferry: installing into $1 (new, or pyproject.toml changed)"
  [ -x "$1/bin/python" ] || python3 -m venv "$1"
  "$1/bin/python" -m pip install --quiet --disable-pip-version-check -e .
  packaging_stamp > "$1/.gitferry-installed"
}
