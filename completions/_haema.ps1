
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'haema' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'haema'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'haema' {
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as one JSON object each')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Index a library folder (films and series) into SQLite')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Streams, codecs, keyframes and the streaming plan of one file')
            [CompletionResult]::new('playlist', 'playlist', [CompletionResultType]::ParameterValue, 'Master or media playlist on stdout, or a complete static HLS tree with --out')
            [CompletionResult]::new('segment', 'segment', [CompletionResultType]::ParameterValue, 'One init or media segment on stdout')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'The library API, HLS and watch progress over HTTP')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Measured speed of the pipeline, side by side with the ffmpeg CLI')
            [CompletionResult]::new('channel', 'channel', [CompletionResultType]::ParameterValue, 'A live channel''s playlist at an instant, or its guide')
            [CompletionResult]::new('tui', 'tui', [CompletionResultType]::ParameterValue, 'A live dashboard of a running server: jobs, cache, encoders, requests')
            [CompletionResult]::new('docs', 'docs', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers: `haema docs --out .`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'haema;scan' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database file (created if missing)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Files probed at once (default: every core)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Files probed at once (default: every core)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as one JSON object each')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'haema;probe' {
            [CompletionResult]::new('--segment-duration', '--segment-duration', [CompletionResultType]::ParameterName, 'Target segment duration in seconds (segments cut at the first keyframe at or after it)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as one JSON object each')
            [CompletionResult]::new('--encoders', '--encoders', [CompletionResultType]::ParameterName, 'List every candidate video encoder and whether it opens on this machine (and why not)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of text')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'haema;playlist' {
            [CompletionResult]::new('--media', '--media', [CompletionResultType]::ParameterName, 'Print this rendition''s media playlist instead of the master')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write the complete tree (playlists, init and media segments) into this folder')
            [CompletionResult]::new('--segment-duration', '--segment-duration', [CompletionResultType]::ParameterName, 'Target segment duration in seconds (cut at the first keyframe at or after it)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Video encoder for the transcoded renditions (default libx264; an HEVC encoder such as libx265 or hevc_vaapi makes `hevc-<height>p` rungs instead of `h264-<height>p`)')
            [CompletionResult]::new('--encoder', '--encoder', [CompletionResultType]::ParameterName, 'Video encoder for the transcoded renditions (default libx264; an HEVC encoder such as libx265 or hevc_vaapi makes `hevc-<height>p` rungs instead of `h264-<height>p`)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads for `--out` (default: every core)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads for `--out` (default: every core)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as one JSON object each')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'haema;segment' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Rendition: a folder name of the `--out` tree (`original`, `h264-720p`, `audio-1-eng`, `audio-1-eng-aac`...). Default: the first video rendition')
            [CompletionResult]::new('--rendition', '--rendition', [CompletionResultType]::ParameterName, 'Rendition: a folder name of the `--out` tree (`original`, `h264-720p`, `audio-1-eng`, `audio-1-eng-aac`...). Default: the first video rendition')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Video encoder for transcoded renditions: libx264 (default), h264_nvenc, h264_qsv, h264_vaapi...; HEVC encoders (libx265, hevc_*) make `hevc-<height>p` rungs (`haema probe --encoders` lists what works here)')
            [CompletionResult]::new('--encoder', '--encoder', [CompletionResultType]::ParameterName, 'Video encoder for transcoded renditions: libx264 (default), h264_nvenc, h264_qsv, h264_vaapi...; HEVC encoders (libx265, hevc_*) make `hevc-<height>p` rungs (`haema probe --encoders` lists what works here)')
            [CompletionResult]::new('--segment-duration', '--segment-duration', [CompletionResultType]::ParameterName, 'Target segment duration in seconds; must match the playlist''s')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as one JSON object each')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'haema;serve' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Port to listen on [default: 8080]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on [default: 8080]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address to bind; 0.0.0.0 to serve other machines [default: 127.0.0.1]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The library folder, scanned at start and on POST /api/v1/scan [default: .]')
            [CompletionResult]::new('--target-path', '--target-path', [CompletionResultType]::ParameterName, 'The library folder, scanned at start and on POST /api/v1/scan [default: .]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The library database [default: haema.db]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'Keep made segments in memory [default: true]')
            [CompletionResult]::new('--cache-limit', '--cache-limit', [CompletionResultType]::ParameterName, 'Memory cache limit: bytes, or with K, M, G (also KB, MiB..., in 1024s) [default: 512M]')
            [CompletionResult]::new('--cache-path', '--cache-path', [CompletionResultType]::ParameterName, 'Also keep made segments as files in this folder (survives restarts, shared by servers)')
            [CompletionResult]::new('--disk-cache-limit', '--disk-cache-limit', [CompletionResultType]::ParameterName, 'Disk cache limit: bytes, or with K, M, G (also KB, MiB..., in 1024s) [default: 10G]')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Video encoder for transcoded renditions [default: libx264] (an HEVC encoder makes `hevc-<height>p` rungs)')
            [CompletionResult]::new('--encoder', '--encoder', [CompletionResultType]::ParameterName, 'Video encoder for transcoded renditions [default: libx264] (an HEVC encoder makes `hevc-<height>p` rungs)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Access token required on everything but /health')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads answering segment requests; most wait on I/O or for a transcode slot [default: 8]')
            [CompletionResult]::new('--transcodes', '--transcodes', [CompletionResultType]::ParameterName, 'Video transcodes that run at once (AAC has two slots of its own); a segment a player waits for goes before prefetching [default: one per two cores: each transcode encodes on two threads]')
            [CompletionResult]::new('--max-client-requests', '--max-client-requests', [CompletionResultType]::ParameterName, 'Segment requests one client address may have in flight at once; more are answered 429 with Retry-After [default: 64]')
            [CompletionResult]::new('--queue-timeout', '--queue-timeout', [CompletionResultType]::ParameterName, 'Seconds a request may wait for a transcode slot before it is refused with 503 and Retry-After [default: 15]')
            [CompletionResult]::new('--live-window', '--live-window', [CompletionResultType]::ParameterName, 'Segments a live channel''s playlist lists [default: 6, the least allowed]')
            [CompletionResult]::new('--clock', '--clock', [CompletionResultType]::ParameterName, 'Run the channels'' clock as if it were TIME now (RFC 3339): for tests and demos')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'A YAML file with any of the options above, and `channels:` (see the README)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as one JSON object each')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'haema;bench' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Instead: play simulated viewers against a running server (host:port)')
            [CompletionResult]::new('--clients', '--clients', [CompletionResultType]::ParameterName, 'Viewers, with --server')
            [CompletionResult]::new('--seconds', '--seconds', [CompletionResultType]::ParameterName, 'How long they play, with --server')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'The server''s access token, with --server')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Runs per row (segments are picked across the file, as seeks would ask)')
            [CompletionResult]::new('--segments', '--segments', [CompletionResultType]::ParameterName, 'Runs per row (segments are picked across the file, as seeks would ask)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Video encoder for the transcode row')
            [CompletionResult]::new('--encoder', '--encoder', [CompletionResultType]::ParameterName, 'Video encoder for the transcode row')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Transcoded rendition to time (default: the largest H.264 rung)')
            [CompletionResult]::new('--rendition', '--rendition', [CompletionResultType]::ParameterName, 'Transcoded rendition to time (default: the largest H.264 rung)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as one JSON object each')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object')
            [CompletionResult]::new('--markdown', '--markdown', [CompletionResultType]::ParameterName, 'A Markdown table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'haema;channel' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The YAML config that declares the channel')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The library database [default: the config''s db, else haema.db]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The library folder [default: the config''s target_path, else .]')
            [CompletionResult]::new('--target-path', '--target-path', [CompletionResultType]::ParameterName, 'The library folder [default: the config''s target_path, else .]')
            [CompletionResult]::new('--at', '--at', [CompletionResultType]::ParameterName, 'The instant, RFC 3339 [default: now]')
            [CompletionResult]::new('--hours', '--hours', [CompletionResultType]::ParameterName, 'Hours of guide')
            [CompletionResult]::new('--window', '--window', [CompletionResultType]::ParameterName, 'Segments the live playlist lists')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as one JSON object each')
            [CompletionResult]::new('--guide', '--guide', [CompletionResultType]::ParameterName, 'Print the schedule from that instant instead of the playlist')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'haema;tui' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The server''s address')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Its access token, if it has one')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as one JSON object each')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'haema;docs' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write `completions/` and `man/`')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace, or per module (`haema=debug,warn`); overrides RUST_LOG [default: info for serve, warn otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines as text or as one JSON object each')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'haema;help' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Index a library folder (films and series) into SQLite')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Streams, codecs, keyframes and the streaming plan of one file')
            [CompletionResult]::new('playlist', 'playlist', [CompletionResultType]::ParameterValue, 'Master or media playlist on stdout, or a complete static HLS tree with --out')
            [CompletionResult]::new('segment', 'segment', [CompletionResultType]::ParameterValue, 'One init or media segment on stdout')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'The library API, HLS and watch progress over HTTP')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Measured speed of the pipeline, side by side with the ffmpeg CLI')
            [CompletionResult]::new('channel', 'channel', [CompletionResultType]::ParameterValue, 'A live channel''s playlist at an instant, or its guide')
            [CompletionResult]::new('tui', 'tui', [CompletionResultType]::ParameterValue, 'A live dashboard of a running server: jobs, cache, encoders, requests')
            [CompletionResult]::new('docs', 'docs', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers: `haema docs --out .`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'haema;help;scan' {
            break
        }
        'haema;help;probe' {
            break
        }
        'haema;help;playlist' {
            break
        }
        'haema;help;segment' {
            break
        }
        'haema;help;serve' {
            break
        }
        'haema;help;bench' {
            break
        }
        'haema;help;channel' {
            break
        }
        'haema;help;tui' {
            break
        }
        'haema;help;docs' {
            break
        }
        'haema;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
