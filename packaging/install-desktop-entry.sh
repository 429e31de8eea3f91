#!/bin/sh
# Put the OmniOpt Desktop bundle in this user's application menu and on the PATH (no root):
#   ./install-desktop-entry.sh            from the bundle's folder (run it again after moving it)
#   ./install-desktop-entry.sh --remove   take the menu entry, the icons and the link away
# Writes $XDG_DATA_HOME/applications/omniopt-desktop.desktop (Exec = this bundle's executable),
# the icons under $XDG_DATA_HOME/icons/hicolor/ and the link ~/.local/bin/omniopt-desktop.
set -eu
name=omniopt-desktop
here=$(cd "$(dirname "$0")" && pwd)
exe="$here/$name"
resources="$here/_internal/omniopt_desktop/resources"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications"
icons="$data/icons/hicolor"
link="$HOME/.local/bin/$name"

refresh() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$apps" 2>/dev/null || true
    fi
}

if [ "${1:-}" = "--remove" ]; then
    rm -f "$apps/$name.desktop" "$icons/scalable/apps/$name.svg" \
        "$icons/256x256/apps/$name.png" "$icons/64x64/apps/$name.png"
    # the link only if it is ours (a pip install may have put a program there)
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$exe" ]; then rm -f "$link"; fi
    refresh
    echo "$name: menu entry removed"
    exit 0
fi
if [ ! -x "$exe" ] || [ ! -f "$resources/$name.desktop" ]; then
    echo "$name: run this script from the bundle's folder (next to $name and _internal/)" >&2
    exit 1
fi
case "$exe" in
*[\"\`\$\\%]*)
    echo "$name: the folder's path holds one of \" \` \$ \\ %, which a menu entry cannot" \
        "start; move the bundle elsewhere: $here" >&2
    exit 1
    ;;
esac

mkdir -p "$apps" "$icons/scalable/apps" "$icons/256x256/apps" "$icons/64x64/apps"
cp "$resources/icons/$name.svg" "$icons/scalable/apps/$name.svg"
cp "$resources/icons/$name.png" "$icons/256x256/apps/$name.png"
cp "$resources/icons/$name-64.png" "$icons/64x64/apps/$name.png"
# Exec: this executable, quoted (the path may hold spaces), instead of the name on the PATH
tmp="$apps/.$name.desktop.tmp"
awk -v exe="$exe" '
/^Exec=/ { rest = substr($0, 6); sp = index(rest, " "); args = sp ? substr(rest, sp) : ""
           print "Exec=\"" exe "\"" args; next }
{ print }' "$resources/$name.desktop" >"$tmp"
mv "$tmp" "$apps/$name.desktop"
if [ -e "$link" ] && [ ! -L "$link" ]; then
    echo "$name: $link exists and is not a link; left as it is" >&2
else
    mkdir -p "$(dirname "$link")"
    ln -sfn "$exe" "$link"
fi
refresh
echo "$name: added to the application menu; command: $link"
