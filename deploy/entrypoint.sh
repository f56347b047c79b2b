#!/bin/sh
# The image's entrypoint: its arguments are one `miz` command (default `serve`), run as the process itself so it
# gets the container's stop signal. It first makes sure the data folders can be written, so a volume mounted with
# the wrong owner is one clear line instead of a traceback on the first document a citizen sends.
set -eu

for folder in "${MIZ_FILES_DIR:-}" "${MIZ_CACHE_DIR:-}"; do
    [ -n "$folder" ] || continue
    if ! mkdir -p "$folder" 2>/dev/null || [ ! -w "$folder" ]; then
        echo "miz: $folder cannot be written by user $(id -u); give it to that user (e.g. chown -R $(id -u):$(id -g))" >&2
        exit 1
    fi
done

if [ "$#" -eq 0 ]; then
    set -- serve
fi
exec miz "$@"
