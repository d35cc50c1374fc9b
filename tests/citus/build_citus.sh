#!/bin/sh
# Builds Citus from its source tarball into .citus/ (ignored by git), for `make test-citus`.
#
# PostgreSQL 15 has no extension_control_path: an extension's control file
# must be in the server's own share folder. Rather than install into the
# system PostgreSQL, this lays out a project-local PostgreSQL "overlay" in
# .citus/pg/ shaped like Debian's tree (lib/postgresql/15/bin, lib/postgresql/15/lib,
# share/postgresql/15): copies of the server binaries, whose share and lib
# folders PostgreSQL finds relative to where the binary is (a relocatable
# installation), symbolic links to every file of the system installation,
# and Citus installed beside them. Clusters started from .citus/pg's bin folder
# (PGCREDITS_PG_BINDIR) load Citus; the system PostgreSQL is not touched.
#
# Environment: CITUS_TARBALL (default citus/citus-13.2.2.tar.gz in the shared
# folder beside the repository), CITUS_PATCH (default pg15-headers.patch beside the
# tarball; applied with patch -p1), PG_CONFIG (default Debian's PostgreSQL 15),
# CITUS_DIR (default .citus), MAKE_JOBS (default 2).
# Run again, it rebuilds only when the tarball, the patch or the system
# PostgreSQL (its version: the overlay holds copies of its binaries) changed.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
tarball=${CITUS_TARBALL:-$(dirname "$root")/shared/citus/citus-13.2.2.tar.gz}
patch_file=${CITUS_PATCH:-$(dirname "$tarball")/pg15-headers.patch}
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
out=${CITUS_DIR:-$root/.citus}
jobs=${MAKE_JOBS:-2}

for file in "$tarball" "$patch_file" "$pg_config"; do
    if [ ! -f "$file" ]; then
        echo "build_citus.sh: $file not found (set CITUS_TARBALL, CITUS_PATCH or PG_CONFIG)" >&2
        exit 1
    fi
done

stamp="$out/pg/.built-$( (cat "$tarball" "$patch_file"; "$pg_config" --version) | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
    echo "Citus is built: $out/pg"
    exit 0
fi

bindir=$("$pg_config" --bindir)
sharedir=$("$pg_config" --sharedir)
pkglibdir=$("$pg_config" --pkglibdir)
# The overlay keeps the system's layout below the prefix bindir and sharedir share ("/usr/" on Debian).
prefix=$(python3 -c 'import os, sys; print(os.path.commonpath(sys.argv[1:]).rstrip("/") + "/")' "$bindir" "$sharedir")
overlay_bin="$out/pg/${bindir#"$prefix"}"
overlay_share="$out/pg/${sharedir#"$prefix"}"
overlay_lib="$out/pg/${pkglibdir#"$prefix"}"

rm -rf "$out/build" "$out/stage" "$out/pg"
mkdir -p "$out/build"
echo "building Citus from $tarball in $out/build"
tar -xzf "$tarball" -C "$out/build"
source_dir=$(find "$out/build" -mindepth 1 -maxdepth 1 -type d | head -n 1)
(cd "$source_dir" && patch -p1 < "$patch_file")
(cd "$source_dir" && ./configure --without-libcurl PG_CONFIG="$pg_config" > "$out/build/configure.log" 2>&1) ||
    { tail -n 20 "$out/build/configure.log" >&2; exit 1; }
(cd "$source_dir" && make -j"$jobs" > "$out/build/make.log" 2>&1) || { tail -n 30 "$out/build/make.log" >&2; exit 1; }
(cd "$source_dir" && make install DESTDIR="$out/stage" > "$out/build/install.log" 2>&1) ||
    { tail -n 20 "$out/build/install.log" >&2; exit 1; }

# The overlay: links to every file of the system installation, real folders
# where Citus adds files (lib, lib/bitcode, share/extension), copies of the binaries.
link_tree() {  # link_tree FROM TO: TO mirrors FROM, folders real, files linked
    mkdir -p "$2"
    for entry in "$1"/* "$1"/.[!.]*; do
        [ -e "$entry" ] || continue
        if [ -d "$entry" ] && [ ! -L "$entry" ]; then
            link_tree "$entry" "$2/$(basename "$entry")"
        else
            ln -s "$entry" "$2/$(basename "$entry")"
        fi
    done
}
mkdir -p "$overlay_bin"
cp -p "$bindir"/* "$overlay_bin"/
link_tree "$pkglibdir" "$overlay_lib"
link_tree "$sharedir" "$overlay_share"
cp -R "$out/stage$pkglibdir"/. "$overlay_lib"/
cp -R "$out/stage$sharedir"/. "$overlay_share"/
chmod -R a+rX "$out/pg"

if [ ! -f "$overlay_lib/citus.so" ] || [ ! -f "$overlay_share/extension/citus.control" ]; then
    echo "build_citus.sh: citus.so or citus.control missing from $out/pg after the install" >&2
    exit 1
fi
rm -rf "$out/stage"
touch "$stamp"
echo "Citus is built: $out/pg (server binaries in $overlay_bin)"
