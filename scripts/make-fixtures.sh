#!/usr/bin/env bash
# Regenerates the HLS test fixtures under test/fixtures/hls/ from scratch.
#
#   bash scripts/make-fixtures.sh
#
# Needs ffmpeg + ffprobe (built with libx264), openssl and python3. Every input comes from
# ffmpeg's lavfi sources (testsrc2 / sine), so nothing is downloaded. Encoders run
# single-threaded with bitexact flags and no metadata, so a rerun with the same
# ffmpeg build gives byte-identical files. Tags that ffmpeg cannot write (subtitle
# renditions next to fMP4, I-frame playlists, EXT-X-MAP changes, key rotation,
# query strings, absolute and ../ URIs) are written by this script.
#
# Only the fixture folders listed in FIXTURES and expected.json are rewritten;
# README.md in the fixture root is kept as is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/test/fixtures/hls"
FIXTURES=(ts-multivariant fmp4-audio-subs aes128-rotation byterange-single-file iframe media-only
  map-change paths-and-queries)

command -v ffmpeg >/dev/null || { echo "ffmpeg not found" >&2; exit 1; }
command -v ffprobe >/dev/null || { echo "ffprobe not found" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }
command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

mkdir -p "$OUT"
for f in "${FIXTURES[@]}"; do rm -rf "${OUT:?}/$f"; done
rm -f "$OUT/expected.json"

# --- common settings ------------------------------------------------------------
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
# 25 fps, one keyframe per second so that 1-second segments cut cleanly.
VENC=(-c:v libx264 -threads 1 -preset veryfast -profile:v main -pix_fmt yuv420p
  -b:v 40k -maxrate 60k -bufsize 60k -g 25 -keyint_min 25 -sc_threshold 0 -bf 0)
AENC=(-c:a aac -b:a 32k -ac 1 -ar 48000)
DET=(-map_metadata -1 -fflags +bitexact -flags +bitexact)
HLS=(-f hls -hls_time 1 -hls_list_size 0 -hls_playlist_type vod)

video() { # video <WxH> <seconds>
  echo "testsrc2=size=$1:rate=25:duration=$2"
}
tone() { # tone <Hz> <seconds>
  echo "sine=frequency=$1:sample_rate=48000:duration=$2"
}

# --- ts-multivariant: master + 2 MPEG-TS variants (v0/, v1/) ----------------------
d="$OUT/ts-multivariant"
mkdir -p "$d"
"${FF[@]}" -f lavfi -i "$(video 160x90 3)" -f lavfi -i "$(tone 440 3)" \
  -filter_complex '[0:v]split=2[a][b];[b]scale=96:54[b2]' \
  -map '[a]' -map 1:a -map '[b2]' -map 1:a \
  "${VENC[@]}" -b:v:1 25k "${AENC[@]}" "${DET[@]}" "${HLS[@]}" \
  -hls_segment_filename "$d/%v/seg%d.ts" -master_pl_name master.m3u8 \
  -var_stream_map 'v:0,a:0,name:v0 v:1,a:1,name:v1' "$d/%v/index.m3u8"

# --- fmp4-audio-subs: fMP4 video, audio group (en, de), WebVTT subtitles ----------
# ffmpeg 5.1 writes the video and both audio renditions (each with its own init
# segment) and their EXT-X-MEDIA lines, but cannot put a subtitle rendition next to
# fMP4 variants (it tries to mux WebVTT into mp4), so the subtitle playlist, its .vtt
# segments and the SUBTITLES group are written here.
d="$OUT/fmp4-audio-subs"
mkdir -p "$d"
# Audio lasts 2.97 s so that AAC priming does not spill into a tiny 4th segment.
"${FF[@]}" -f lavfi -i "$(video 160x90 3)" -f lavfi -i "$(tone 440 2.97)" \
  -f lavfi -i "$(tone 660 2.97)" \
  -map 0:v -map 1:a -map 2:a "${VENC[@]}" "${AENC[@]}" "${DET[@]}" "${HLS[@]}" \
  -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 \
  -hls_segment_filename "$d/%v/seg%d.m4s" -master_pl_name master.m3u8 \
  -var_stream_map 'v:0,agroup:aud,name:video a:0,agroup:aud,language:en,name:audio_en,default:yes a:1,agroup:aud,language:de,name:audio_de' \
  "$d/%v/index.m3u8"
mkdir -p "$d/subs_en"
{
  printf '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n'
  printf '#EXT-X-PLAYLIST-TYPE:VOD\n'
  for i in 0 1 2; do printf '#EXTINF:1.000000,\nseg%d.vtt\n' "$i"; done
  printf '#EXT-X-ENDLIST\n'
} >"$d/subs_en/index.m3u8"
words=(One Two Three)
for i in 0 1 2; do
  printf 'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:00:0%d.000 --> 00:00:0%d.000\n%s\n' \
    "$i" "$((i + 1))" "${words[$i]}" >"$d/subs_en/seg$i.vtt"
done
# Rewrite the master: readable NAMEs, the subtitle rendition, SUBTITLES= on the variant.
python3 - "$d/master.m3u8" <<'PY'
import sys
p = sys.argv[1]
out = []
for line in open(p).read().splitlines():
    if line.startswith('#EXT-X-MEDIA:TYPE=AUDIO'):
        lang = line.split('LANGUAGE="')[1].split('"')[0]
        name = {'en': 'English', 'de': 'Deutsch'}[lang]
        line = line.replace(line.split('NAME="')[1].split('"')[0], name, 1)
    if line.startswith('#EXT-X-STREAM-INF:'):
        out.append('#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",DEFAULT=NO,'
                   'AUTOSELECT=YES,LANGUAGE="en",URI="subs_en/index.m3u8"')
        line += ',SUBTITLES="subs"'
    if line:
        out.append(line)
open(p, 'w').write('\n'.join(out) + '\n')
PY

# --- aes128-rotation: AES-128 TS, key changes after segment 2 ---------------------
# One ffmpeg run gives 4 clear segments with a continuous timeline; each segment is
# then encrypted whole (AES-128-CBC, PKCS#7 padding, exactly what HLS AES-128 and
# ffmpeg's own -hls_key_info_file produce) with openssl, so the key can change in
# the middle without a second encode. ffmpeg cannot rotate keys deterministically
# (periodic_rekey rereads the key info file at every segment, so swapping keys with
# it means racing the encoder).
# seg0-1 use key k0 with an explicit IV; seg2-3 use key k1 with no IV attribute, so
# the IV is the media sequence number (RFC 8216 5.2).
d="$OUT/aes128-rotation"
mkdir -p "$d/keys" "$TMP/aes"
K0=00112233445566778899aabbccddeeff
K1=0f1e2d3c4b5a69788796a5b4c3d2e1f0
IV0=000102030405060708090a0b0c0d0e0f
hexbytes() { printf "$(sed 's/../\\x&/g' <<<"$1")"; }
hexbytes "$K0" >"$d/keys/k0.key"
hexbytes "$K1" >"$d/keys/k1.key"
"${FF[@]}" -f lavfi -i "$(video 160x90 4)" -f lavfi -i "$(tone 440 4)" \
  "${VENC[@]}" "${AENC[@]}" "${DET[@]}" "${HLS[@]}" \
  -hls_segment_filename "$TMP/aes/seg%d.ts" "$TMP/aes/index.m3u8"
for i in 0 1 2 3; do
  if ((i < 2)); then key=$K0 iv=$IV0; else key=$K1 iv=$(printf '%032x' "$i"); fi
  openssl enc -aes-128-cbc -K "$key" -iv "$iv" -in "$TMP/aes/seg$i.ts" -out "$d/seg$i.ts"
done
awk -v iv0="$IV0" '
  /^#EXTINF/ && n == 0 { print "#EXT-X-KEY:METHOD=AES-128,URI=\"keys/k0.key\",IV=0x" iv0 }
  /^#EXTINF/ && n == 2 { print "#EXT-X-KEY:METHOD=AES-128,URI=\"keys/k1.key\"" }
  /^#EXTINF/ { n++ }
  { print }' "$TMP/aes/index.m3u8" >"$d/index.m3u8"
# A master in front of it, announcing the first key with EXT-X-SESSION-KEY.
# CODECS as ffmpeg computed it for the same encoder settings in ts-multivariant.
codecs=$(grep -m1 -o 'CODECS="[^"]*"' "$OUT/ts-multivariant/master.m3u8")
size_max=$(stat -c %s "$d"/seg*.ts | sort -n | tail -1)
{
  printf '#EXTM3U\n#EXT-X-VERSION:3\n'
  printf '#EXT-X-SESSION-KEY:METHOD=AES-128,URI="keys/k0.key",IV=0x%s\n' "$IV0"
  printf '#EXT-X-STREAM-INF:BANDWIDTH=%d,RESOLUTION=160x90,%s\n' \
    "$((size_max * 8 * 11 / 10))" "$codecs"
  printf 'index.m3u8\n'
} >"$d/master.m3u8"
unset codecs size_max key iv

# --- byterange-single-file: one .ts addressed with EXT-X-BYTERANGE ----------------
d="$OUT/byterange-single-file"
mkdir -p "$d"
"${FF[@]}" -f lavfi -i "$(video 160x90 3)" -f lavfi -i "$(tone 440 3)" \
  -map 0:v -map 1:a "${VENC[@]}" "${AENC[@]}" "${DET[@]}" "${HLS[@]}" -hls_flags single_file \
  -hls_segment_filename "$d/%v/stream.ts" -master_pl_name master.m3u8 \
  -var_stream_map 'v:0,a:0,name:v0' "$d/%v/index.m3u8"

# --- iframe: one variant + EXT-X-I-FRAME-STREAM-INF ----------------------------------
# ffmpeg 5.1's -hls_flags iframes_only only adds EXT-X-I-FRAMES-ONLY to a normal
# playlist (whole segments, own segment files), and its master never has
# EXT-X-I-FRAME-STREAM-INF. So the I-frame playlist is written here: one byte range
# per segment, from offset 0 (PAT/PMT) up to the start of the second video packet,
# which covers the keyframe that opens each 1-second segment. It points into the
# same .ts files as the variant.
d="$OUT/iframe"
mkdir -p "$d"
"${FF[@]}" -f lavfi -i "$(video 160x90 3)" -f lavfi -i "$(tone 440 3)" \
  -map 0:v -map 1:a "${VENC[@]}" "${AENC[@]}" "${DET[@]}" "${HLS[@]}" \
  -hls_segment_filename "$d/%v/seg%d.ts" -master_pl_name master.m3u8 \
  -var_stream_map 'v:0,a:0,name:v0' "$d/%v/index.m3u8"
{
  printf '#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n'
  printf '#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-I-FRAMES-ONLY\n'
  maxlen=0
  for seg in $(grep -v '^#' "$d/v0/index.m3u8"); do
    # pos,flags of the first two video packets
    mapfile -t pk < <(ffprobe -v error -select_streams v:0 -show_entries packet=pos,flags \
      -of csv=p=0 "$d/v0/$seg" | grep -v '^$' | head -2)
    [[ "${pk[0]}" == *K* ]] || { echo "iframe: $seg does not start with a keyframe" >&2; exit 1; }
    len="${pk[1]%%,*}"
    ((len > maxlen)) && maxlen=$len
    printf '#EXTINF:1.000000,\n#EXT-X-BYTERANGE:%d@0\n%s\n' "$len" "$seg"
  done
  printf '#EXT-X-ENDLIST\n'
  echo "$maxlen" >"$TMP/iframe.maxlen"
} >"$d/v0/iframes.m3u8"
vcodec=$(grep -o 'CODECS="avc1[^,"]*' "$d/master.m3u8" | cut -d'"' -f2)
printf '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=%d,RESOLUTION=160x90,CODECS="%s",URI="v0/iframes.m3u8"\n' \
  "$(($(cat "$TMP/iframe.maxlen") * 8))" "$vcodec" >>"$d/master.m3u8"
sed -i -e '/^$/d' -e 's/^#EXT-X-VERSION:3$/#EXT-X-VERSION:4/' "$d/master.m3u8"

# --- media-only: a media playlist, no master --------------------------------------
d="$OUT/media-only"
mkdir -p "$d"
"${FF[@]}" -f lavfi -i "$(video 160x90 3)" -f lavfi -i "$(tone 440 3)" \
  "${VENC[@]}" "${AENC[@]}" "${DET[@]}" "${HLS[@]}" \
  -hls_segment_filename "$d/seg%d.ts" "$d/index.m3u8"

# --- map-change: fMP4, EXT-X-MAP changes after EXT-X-DISCONTINUITY -----------------
# Two ffmpeg runs (160x90 then 128x72, different init segments) stitched by hand.
# SPS/PPS are also repeated in-band (repeat-headers) so that decoders which keep the
# first init's avcC across the switch (ffmpeg's own hls demuxer does) still decode.
d="$OUT/map-change"
mkdir -p "$d" "$TMP/map"
MAPENC=("${VENC[@]}" -x264-params repeat-headers=1)
"${FF[@]}" -f lavfi -i "$(video 160x90 2)" \
  "${MAPENC[@]}" "${DET[@]}" "${HLS[@]}" -hls_segment_type fmp4 \
  -hls_fmp4_init_filename init-160x90.mp4 -hls_segment_filename "$d/a%d.m4s" "$TMP/map/a.m3u8"
"${FF[@]}" -f lavfi -i "$(video 128x72 4),trim=start=2,setpts=PTS-STARTPTS" \
  "${MAPENC[@]}" "${DET[@]}" "${HLS[@]}" -hls_segment_type fmp4 -output_ts_offset 2 \
  -hls_fmp4_init_filename init-128x72.mp4 -hls_segment_filename "$d/b%d.m4s" "$TMP/map/b.m3u8"
# ffmpeg writes the init segment next to its playlist, i.e. in $TMP/map.
mv "$TMP/map/init-160x90.mp4" "$TMP/map/init-128x72.mp4" "$d/"
{
  printf '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n'
  printf '#EXT-X-PLAYLIST-TYPE:VOD\n'
  sed -n '/^#EXT-X-MAP/,/^#EXT-X-ENDLIST/p' "$TMP/map/a.m3u8" | grep -v '^#EXT-X-ENDLIST'
  printf '#EXT-X-DISCONTINUITY\n'
  sed -n '/^#EXT-X-MAP/,/^#EXT-X-ENDLIST/p' "$TMP/map/b.m3u8"
} >"$d/index.m3u8"

# --- paths-and-queries: query strings, an absolute path, ../ segment URIs ---------
# The absolute URI assumes test/fixtures/hls is served at the origin path /hls/.
d="$OUT/paths-and-queries"
mkdir -p "$d/playlists" "$d/media"
"${FF[@]}" -f lavfi -i "$(video 160x90 3)" -f lavfi -i "$(tone 440 3)" \
  -filter_complex '[0:v]split=2[a][b];[b]scale=96:54[b2]' \
  -map '[a]' -map 1:a -map '[b2]' -map 1:a \
  "${VENC[@]}" -b:v:1 25k "${AENC[@]}" "${DET[@]}" "${HLS[@]}" \
  -hls_segment_filename "$d/media/%v/seg%d.ts" -master_pl_name master.m3u8 \
  -var_stream_map 'v:0,a:0,name:v0 v:1,a:1,name:v1' "$TMP/pq/%v/index.m3u8"
# v0: plain ../ paths. v1: ../ paths with a signed-URL style query on every segment.
sed -E 's#^(seg[0-9]+\.ts)$#../media/v0/\1#' "$TMP/pq/v0/index.m3u8" >"$d/playlists/v0.m3u8"
sed -E 's#^(seg[0-9]+\.ts)$#../media/v1/\1?sig=0123abcd\&exp=1700000000#' "$TMP/pq/v1/index.m3u8" \
  >"$d/playlists/v1.m3u8"
sed -e 's#^v0/index\.m3u8$#playlists/v0.m3u8?token=abc#' \
  -e 's#^v1/index\.m3u8$#/hls/paths-and-queries/playlists/v1.m3u8#' \
  -e '/^$/d' "$TMP/pq/master.m3u8" >"$d/master.m3u8"

# --- check + expected.json ---------------------------------------------------------
# Walks every fixture from its entry playlist the way a crawler should (URI="..."
# attributes and URI lines, relative to the naming playlist, query dropped, the
# fixture root mounted at /hls/), fails if a folder holds a file nobody references
# or a reference points at a missing file, and writes expected.json.
python3 - "$OUT" <<'PY'
import json, os, re, sys
from urllib.parse import urljoin, urlsplit, unquote

out = sys.argv[1]
entries = {
    'ts-multivariant': 'master.m3u8',
    'fmp4-audio-subs': 'master.m3u8',
    'aes128-rotation': 'master.m3u8',
    'byterange-single-file': 'master.m3u8',
    'iframe': 'master.m3u8',
    'media-only': 'index.m3u8',
    'map-change': 'index.m3u8',
    'paths-and-queries': 'master.m3u8',
}
ORIGIN = 'http://fixtures.invalid/hls/'
uri_attr = re.compile(r'URI="([^"]*)"')

def rel(url):
    path = unquote(urlsplit(url).path)
    assert path.startswith('/hls/'), url
    return path[len('/hls/'):]

expected, ok = {}, True
for fx, entry in entries.items():
    start = ORIGIN + fx + '/' + entry
    seen, todo = set(), [start]
    while todo:
        url = todo.pop()
        path = rel(url)
        if path in seen:
            continue
        seen.add(path)
        full = os.path.join(out, path)
        if not os.path.isfile(full):
            print(f'{fx}: {path} is referenced but missing', file=sys.stderr); ok = False
            continue
        if not path.endswith('.m3u8'):
            continue
        text = open(full).read()
        if '#EXT-X-STREAM-INF' not in text and '#EXT-X-ENDLIST' not in text:
            print(f'{fx}: {path} has no EXT-X-ENDLIST', file=sys.stderr); ok = False
        for line in text.splitlines():
            line = line.strip()
            refs = uri_attr.findall(line) if line.startswith('#') else ([line] if line else [])
            for r in refs:
                todo.append(urljoin(url, r))
    on_disk = set()
    for dirpath, _, files in os.walk(os.path.join(out, fx)):
        for f in files:
            on_disk.add(os.path.relpath(os.path.join(dirpath, f), out))
    for p in sorted(on_disk - seen):
        print(f'{fx}: {p} is not referenced', file=sys.stderr); ok = False
    for p in sorted(seen - on_disk):
        if os.path.isfile(os.path.join(out, p)):
            print(f'{fx}: {p} is outside the fixture folder', file=sys.stderr); ok = False
    expected[fx] = {'manifest': f'{fx}/{entry}', 'files': sorted(seen)}

if not ok:
    sys.exit(1)
with open(os.path.join(out, 'expected.json'), 'w') as f:
    json.dump(expected, f, indent=2)
    f.write('\n')
for fx, e in expected.items():
    print(f'{fx}: {len(e["files"])} files')
PY

echo "fixtures written to $OUT ($(du -sh "$OUT" | cut -f1))"
