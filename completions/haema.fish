# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_haema_global_optspecs
    string join \n log-level= log-format= h/help V/version
end

function __fish_haema_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_haema_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_haema_using_subcommand
    set -l cmd (__fish_haema_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c haema -n "__fish_haema_needs_command" -l log-level -d 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]' -r
complete -c haema -n "__fish_haema_needs_command" -l log-format -d 'Log lines as text or as one JSON object each' -r -f -a "text\t'`2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`'
json\t'One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`'"
complete -c haema -n "__fish_haema_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c haema -n "__fish_haema_needs_command" -s V -l version -d 'Print version'
complete -c haema -n "__fish_haema_needs_command" -f -a "scan" -d 'Index a library folder (films and series) into SQLite'
complete -c haema -n "__fish_haema_needs_command" -f -a "probe" -d 'Streams, codecs, keyframes and the streaming plan of one file'
complete -c haema -n "__fish_haema_needs_command" -f -a "playlist" -d 'Master or media playlist on stdout, or a complete static HLS tree with --out'
complete -c haema -n "__fish_haema_needs_command" -f -a "segment" -d 'One init or media segment on stdout'
complete -c haema -n "__fish_haema_needs_command" -f -a "serve" -d 'The library API, HLS and watch progress over HTTP'
complete -c haema -n "__fish_haema_needs_command" -f -a "bench" -d 'Measured speed of the pipeline, side by side with the ffmpeg CLI'
complete -c haema -n "__fish_haema_needs_command" -f -a "channel" -d 'A live channel\'s playlist at an instant, or its guide'
complete -c haema -n "__fish_haema_needs_command" -f -a "tui" -d 'A live dashboard of a running server: jobs, cache, encoders, requests'
complete -c haema -n "__fish_haema_needs_command" -f -a "docs" -d 'Write shell completions and man pages (for packagers: `haema docs --out .`)'
complete -c haema -n "__fish_haema_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c haema -n "__fish_haema_using_subcommand scan" -l db -d 'The database file (created if missing)' -r -F
complete -c haema -n "__fish_haema_using_subcommand scan" -s j -l jobs -d 'Files probed at once (default: every core)' -r
complete -c haema -n "__fish_haema_using_subcommand scan" -l log-level -d 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]' -r
complete -c haema -n "__fish_haema_using_subcommand scan" -l log-format -d 'Log lines as text or as one JSON object each' -r -f -a "text\t'`2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`'
json\t'One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`'"
complete -c haema -n "__fish_haema_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c haema -n "__fish_haema_using_subcommand probe" -l segment-duration -d 'Target segment duration in seconds (segments cut at the first keyframe at or after it)' -r
complete -c haema -n "__fish_haema_using_subcommand probe" -l log-level -d 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]' -r
complete -c haema -n "__fish_haema_using_subcommand probe" -l log-format -d 'Log lines as text or as one JSON object each' -r -f -a "text\t'`2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`'
json\t'One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`'"
complete -c haema -n "__fish_haema_using_subcommand probe" -l encoders -d 'List every candidate video encoder and whether it opens on this machine (and why not)'
complete -c haema -n "__fish_haema_using_subcommand probe" -l json -d 'Print one JSON object instead of text'
complete -c haema -n "__fish_haema_using_subcommand probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c haema -n "__fish_haema_using_subcommand playlist" -l media -d 'Print this rendition\'s media playlist instead of the master' -r
complete -c haema -n "__fish_haema_using_subcommand playlist" -l out -d 'Write the complete tree (playlists, init and media segments) into this folder' -r -F
complete -c haema -n "__fish_haema_using_subcommand playlist" -l segment-duration -d 'Target segment duration in seconds (cut at the first keyframe at or after it)' -r
complete -c haema -n "__fish_haema_using_subcommand playlist" -s e -l encoder -d 'Video encoder for the transcoded renditions (default libx264; an HEVC encoder such as libx265 or hevc_vaapi makes `hevc-<height>p` rungs instead of `h264-<height>p`)' -r
complete -c haema -n "__fish_haema_using_subcommand playlist" -s j -l jobs -d 'Worker threads for `--out` (default: every core)' -r
complete -c haema -n "__fish_haema_using_subcommand playlist" -l log-level -d 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]' -r
complete -c haema -n "__fish_haema_using_subcommand playlist" -l log-format -d 'Log lines as text or as one JSON object each' -r -f -a "text\t'`2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`'
json\t'One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`'"
complete -c haema -n "__fish_haema_using_subcommand playlist" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c haema -n "__fish_haema_using_subcommand segment" -s r -l rendition -d 'Rendition: a folder name of the `--out` tree (`original`, `h264-720p`, `audio-1-eng`, `audio-1-eng-aac`...). Default: the first video rendition' -r
complete -c haema -n "__fish_haema_using_subcommand segment" -s e -l encoder -d 'Video encoder for transcoded renditions: libx264 (default), h264_nvenc, h264_qsv, h264_vaapi...; HEVC encoders (libx265, hevc_*) make `hevc-<height>p` rungs (`haema probe --encoders` lists what works here)' -r
complete -c haema -n "__fish_haema_using_subcommand segment" -l segment-duration -d 'Target segment duration in seconds; must match the playlist\'s' -r
complete -c haema -n "__fish_haema_using_subcommand segment" -l log-level -d 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]' -r
complete -c haema -n "__fish_haema_using_subcommand segment" -l log-format -d 'Log lines as text or as one JSON object each' -r -f -a "text\t'`2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`'
json\t'One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`'"
complete -c haema -n "__fish_haema_using_subcommand segment" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c haema -n "__fish_haema_using_subcommand serve" -s p -l port -d 'Port to listen on [default: 8080]' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l host -d 'Address to bind; 0.0.0.0 to serve other machines [default: 127.0.0.1]' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -s t -l target-path -d 'The library folder, scanned at start and on POST /api/v1/scan [default: .]' -r -F
complete -c haema -n "__fish_haema_using_subcommand serve" -l db -d 'The library database [default: haema.db]' -r -F
complete -c haema -n "__fish_haema_using_subcommand serve" -l cache -d 'Keep made segments in memory [default: true]' -r -f -a "true\t''
false\t''"
complete -c haema -n "__fish_haema_using_subcommand serve" -l cache-limit -d 'Memory cache limit: bytes, or with K, M, G (also KB, MiB..., in 1024s) [default: 512M]' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l cache-path -d 'Also keep made segments as files in this folder (survives restarts, shared by servers)' -r -F
complete -c haema -n "__fish_haema_using_subcommand serve" -l disk-cache-limit -d 'Disk cache limit: bytes, or with K, M, G (also KB, MiB..., in 1024s) [default: 10G]' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -s e -l encoder -d 'Video encoder for transcoded renditions [default: libx264] (an HEVC encoder makes `hevc-<height>p` rungs)' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l token -d 'Access token required on everything but /health' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l threads -d 'Worker threads answering segment requests; most wait on I/O or for a transcode slot [default: 8]' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l transcodes -d 'Video transcodes that run at once (AAC has two slots of its own); a segment a player waits for goes before prefetching [default: one per two cores: each transcode encodes on two threads]' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l max-client-requests -d 'Segment requests one client address may have in flight at once; more are answered 429 with Retry-After [default: 64]' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l queue-timeout -d 'Seconds a request may wait for a transcode slot before it is refused with 503 and Retry-After [default: 15]' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l live-window -d 'Segments a live channel\'s playlist lists [default: 6, the least allowed]' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l clock -d 'Run the channels\' clock as if it were TIME now (RFC 3339): for tests and demos' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l config -d 'A YAML file with any of the options above, and `channels:` (see the README)' -r -F
complete -c haema -n "__fish_haema_using_subcommand serve" -l log-level -d 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]' -r
complete -c haema -n "__fish_haema_using_subcommand serve" -l log-format -d 'Log lines as text or as one JSON object each' -r -f -a "text\t'`2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`'
json\t'One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`'"
complete -c haema -n "__fish_haema_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c haema -n "__fish_haema_using_subcommand bench" -l server -d 'Instead: play simulated viewers against a running server (host:port)' -r
complete -c haema -n "__fish_haema_using_subcommand bench" -l clients -d 'Viewers, with --server' -r
complete -c haema -n "__fish_haema_using_subcommand bench" -l seconds -d 'How long they play, with --server' -r
complete -c haema -n "__fish_haema_using_subcommand bench" -l token -d 'The server\'s access token, with --server' -r
complete -c haema -n "__fish_haema_using_subcommand bench" -s k -l segments -d 'Runs per row (segments are picked across the file, as seeks would ask)' -r
complete -c haema -n "__fish_haema_using_subcommand bench" -s e -l encoder -d 'Video encoder for the transcode row' -r
complete -c haema -n "__fish_haema_using_subcommand bench" -s r -l rendition -d 'Transcoded rendition to time (default: the largest H.264 rung)' -r
complete -c haema -n "__fish_haema_using_subcommand bench" -l log-level -d 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]' -r
complete -c haema -n "__fish_haema_using_subcommand bench" -l log-format -d 'Log lines as text or as one JSON object each' -r -f -a "text\t'`2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`'
json\t'One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`'"
complete -c haema -n "__fish_haema_using_subcommand bench" -l json -d 'One JSON object'
complete -c haema -n "__fish_haema_using_subcommand bench" -l markdown -d 'A Markdown table'
complete -c haema -n "__fish_haema_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c haema -n "__fish_haema_using_subcommand channel" -l config -d 'The YAML config that declares the channel' -r -F
complete -c haema -n "__fish_haema_using_subcommand channel" -l db -d 'The library database [default: the config\'s db, else haema.db]' -r -F
complete -c haema -n "__fish_haema_using_subcommand channel" -s t -l target-path -d 'The library folder [default: the config\'s target_path, else .]' -r -F
complete -c haema -n "__fish_haema_using_subcommand channel" -l at -d 'The instant, RFC 3339 [default: now]' -r
complete -c haema -n "__fish_haema_using_subcommand channel" -l hours -d 'Hours of guide' -r
complete -c haema -n "__fish_haema_using_subcommand channel" -l window -d 'Segments the live playlist lists' -r
complete -c haema -n "__fish_haema_using_subcommand channel" -l log-level -d 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]' -r
complete -c haema -n "__fish_haema_using_subcommand channel" -l log-format -d 'Log lines as text or as one JSON object each' -r -f -a "text\t'`2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`'
json\t'One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`'"
complete -c haema -n "__fish_haema_using_subcommand channel" -l guide -d 'Print the schedule from that instant instead of the playlist'
complete -c haema -n "__fish_haema_using_subcommand channel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c haema -n "__fish_haema_using_subcommand tui" -l server -d 'The server\'s address' -r
complete -c haema -n "__fish_haema_using_subcommand tui" -l token -d 'Its access token, if it has one' -r
complete -c haema -n "__fish_haema_using_subcommand tui" -l log-level -d 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]' -r
complete -c haema -n "__fish_haema_using_subcommand tui" -l log-format -d 'Log lines as text or as one JSON object each' -r -f -a "text\t'`2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`'
json\t'One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`'"
complete -c haema -n "__fish_haema_using_subcommand tui" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c haema -n "__fish_haema_using_subcommand docs" -l out -d 'Where to write `completions/` and `man/`' -r -F
complete -c haema -n "__fish_haema_using_subcommand docs" -l log-level -d 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]' -r
complete -c haema -n "__fish_haema_using_subcommand docs" -l log-format -d 'Log lines as text or as one JSON object each' -r -f -a "text\t'`2026-12-01T10:00:00Z INFO  haema::request GET /health 200 ... method=GET ...`'
json\t'One JSON object a line: `{"ts": ..., "level": ..., "target": ..., "msg": ..., fields}`'"
complete -c haema -n "__fish_haema_using_subcommand docs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c haema -n "__fish_haema_using_subcommand help; and not __fish_seen_subcommand_from scan probe playlist segment serve bench channel tui docs help" -f -a "scan" -d 'Index a library folder (films and series) into SQLite'
complete -c haema -n "__fish_haema_using_subcommand help; and not __fish_seen_subcommand_from scan probe playlist segment serve bench channel tui docs help" -f -a "probe" -d 'Streams, codecs, keyframes and the streaming plan of one file'
complete -c haema -n "__fish_haema_using_subcommand help; and not __fish_seen_subcommand_from scan probe playlist segment serve bench channel tui docs help" -f -a "playlist" -d 'Master or media playlist on stdout, or a complete static HLS tree with --out'
complete -c haema -n "__fish_haema_using_subcommand help; and not __fish_seen_subcommand_from scan probe playlist segment serve bench channel tui docs help" -f -a "segment" -d 'One init or media segment on stdout'
complete -c haema -n "__fish_haema_using_subcommand help; and not __fish_seen_subcommand_from scan probe playlist segment serve bench channel tui docs help" -f -a "serve" -d 'The library API, HLS and watch progress over HTTP'
complete -c haema -n "__fish_haema_using_subcommand help; and not __fish_seen_subcommand_from scan probe playlist segment serve bench channel tui docs help" -f -a "bench" -d 'Measured speed of the pipeline, side by side with the ffmpeg CLI'
complete -c haema -n "__fish_haema_using_subcommand help; and not __fish_seen_subcommand_from scan probe playlist segment serve bench channel tui docs help" -f -a "channel" -d 'A live channel\'s playlist at an instant, or its guide'
complete -c haema -n "__fish_haema_using_subcommand help; and not __fish_seen_subcommand_from scan probe playlist segment serve bench channel tui docs help" -f -a "tui" -d 'A live dashboard of a running server: jobs, cache, encoders, requests'
complete -c haema -n "__fish_haema_using_subcommand help; and not __fish_seen_subcommand_from scan probe playlist segment serve bench channel tui docs help" -f -a "docs" -d 'Write shell completions and man pages (for packagers: `haema docs --out .`)'
complete -c haema -n "__fish_haema_using_subcommand help; and not __fish_seen_subcommand_from scan probe playlist segment serve bench channel tui docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
