#!/bin/bash
# Stock Venus against Venus-on-vws (mesa/), on the kernel model whose host
# is the real renderer, in one run: tests/realhost/vk-membench on each
# driver in turn (stock, vws, stock, vws, ...), each run on a fresh server
# through scripts/vk-run.sh, then the medians of both and their ratios
# (vws / stock). docs/performance.md, "Venus on the winsys against stock
# Venus", holds the last results.
#
#   scripts/venus-bench.sh [--runs N] [--kernel GEN] [--defer POLICY]
#                          [--latency-us US] [--host udmabuf|shm]
#                          [--quick] [--json]
#                          [-- VK-MEMBENCH OPTIONS]
#
#   runs        alternations of the two drivers (default 3)
#   kernel      the model's generation (default fixed)
#   defer       Venus-on-vws's policy (default auto)
#   latency-us  the model's host answer latency, VGSHIM_MAP_LATENCY_US
#               (default 0: the real host's own time only)
#   host        the real host (scripts/vk-run.sh --host); default udmabuf,
#               whose driver lets Venus export dma-bufs, so the exportable
#               memory of the region figures exists
#   quick       one alternation of a small workload (the test stage's run)
#
# The latency figure of a driver is the median over its runs of each run's
# median; the region figures are its last run's. Exit 0 when both drivers
# ran (whatever the targets say), 1 otherwise, 2 on a usage error.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
runs=3 kernel=fixed defer=auto latency=0 json=0 host=udmabuf
bench_args=(--count 32 --rounds 5 --cached 20 --plain 32 --exportable 16 --map-percent 25)
usage() { sed -n '8,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:-}; shift 2 || usage ;;
	--kernel) kernel=${2:-}; shift 2 || usage ;;
	--defer) defer=${2:-}; shift 2 || usage ;;
	--latency-us) latency=${2:-}; shift 2 || usage ;;
	--host) host=${2:-}; shift 2 || usage ;;
	--quick) runs=1 bench_args=(--count 8 --rounds 2 --cached 5 --plain 16 --exportable 8 --map-percent 25); shift ;;
	--json) json=1; shift ;;
	--) shift; bench_args+=("$@"); break ;;
	-h|--help) usage ;;
	*) echo "venus-bench: unknown option '$1'" >&2; usage ;;
	esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "venus-bench: --runs N (>= 1)" >&2; exit 2; }
[[ "$latency" =~ ^[0-9]+$ ]] || { echo "venus-bench: --latency-us US" >&2; exit 2; }

build=${VWS_BUILD_DIR:-$ROOT/build-gcc}
bench=$build/tests/realhost/vk-membench
work=$(mktemp -d "${TMPDIR:-/tmp}/venus-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
T=${VENUS_BENCH_TIMEOUT:-600}

# vk-run.sh builds what is missing (the project, the host, both drivers).
for i in $(seq 1 "$runs"); do
	for drv in stock vws; do
		echo "venus-bench: run $i of $runs, $drv" >&2
		if ! VGSHIM_MAP_LATENCY_US=$latency timeout -k 5 "$T" bash "$ROOT/scripts/vk-run.sh" \
			--driver "$drv" --kernel "$kernel" --defer "$defer" --host "$host" -- \
			"$bench" "${bench_args[@]}" --json >"$work/$drv.$i.json" 2>"$work/$drv.$i.err"; then
			echo "venus-bench: $drv failed:" >&2
			tail -5 "$work/$drv.$i.err" >&2
			exit 1
		fi
	done
done

python3 - "$work" "$runs" "$kernel" "$defer" "$latency" "$json" "${bench_args[*]}" "$host" <<'EOF'
import json, statistics, sys
work, runs, kernel, defer, latency, as_json, args, host = sys.argv[1:]
runs = int(runs)
res = {d: [json.loads(open(f"{work}/{d}.{i}.json").read().splitlines()[-1])
           for i in range(1, runs + 1)] for d in ('stock', 'vws')}
first = res['stock'][0]
names = [('alloc', 'vkAllocateMemory', 'us'),
         ('first_map', 'first vkMapMemory', 'us'),
         ('alloc_first_map', 'vkAllocateMemory + first vkMapMemory', 'us'),
         ('cached_map', 'cached vkMapMemory', 'ns'),
         ('free', 'vkFreeMemory (mapped memory)', 'us'),
         ('alloc_unmapped', 'vkAllocateMemory (never mapped)', 'us'),
         ('free_unmapped', 'vkFreeMemory (never mapped)', 'us')]
lat = {}
for key, _, unit in names:
    div = 1e3 if unit == 'us' else 1.0
    v = {d: statistics.median(r['latency_ns'][key]['median'] for r in res[d]) / div
         for d in res}
    lat[key] = {'unit': unit, 'stock': v['stock'], 'vws': v['vws'],
                'ratio': v['vws'] / v['stock'] if v['stock'] else None}
reg = {d: res[d][-1]['region'] for d in res}
vr = reg['vws']
held_ok = vr['held_after_map_exportable'] == vr['bytes_mapped'] and \
    vr['held_after_alloc_exportable'] == 0
export = reg['stock']['export_supported'] and vr['export_supported']
targets = [
    ('first vkMapMemory <= 0.5x of stock', lat['first_map']['ratio'],
     lat['first_map']['ratio'] is not None and lat['first_map']['ratio'] <= 0.5),
    ('allocate + first map <= 1.1x of stock', lat['alloc_first_map']['ratio'],
     lat['alloc_first_map']['ratio'] is not None and lat['alloc_first_map']['ratio'] <= 1.1),
    ('region bytes held = bytes mapped' +
     (', exportable memory included' if export else
      ' (plain memory only: no dma-buf export on this host)'),
     vr['held_after_map_exportable'], held_ok),
]
out = {'kernel': kernel, 'defer': defer, 'host': host, 'host_latency_us': int(latency), 'runs_per_driver': runs,
       'membench_args': args, 'device': first['device'], 'size': first['size'],
       'size_rounded': first['size_rounded'], 'latency': lat, 'region': reg,
       'targets': [{'target': t, 'value': v, 'met': m} for t, v, m in targets],
       'runs': res}
if as_json == '1':
    print(json.dumps(out, indent=1))
    sys.exit(0)
print(f"# stock Venus vs Venus-on-vws: kernel model ({kernel}), vws policy {defer}, "
      f"host {host}, host latency {latency} us, {runs} run(s) each, vk-membench {args}")
print(f"# {first['device']}, {first['count']} x {first['size']} bytes per round")
print(f"{'':44s}{'stock':>12s}{'vws':>12s}{'vws/stock':>11s}")
for key, label, unit in names:
    l = lat[key]
    r = f"{l['ratio']:.2f}x" if l['ratio'] is not None else '-'
    print(f"{label + ' (' + unit + ')':44s}{l['stock']:12.2f}{l['vws']:12.2f}{r:>11s}")
mb = lambda b: f"{b / 2**20:.0f} MiB"
for d in ('stock', 'vws'):
    g = reg[d]
    print(f"region held, {d:5s}: {g['plain']} plain + {g['exportable']} exportable "
          f"({g['plain_mapped']} + {g['exportable_mapped']} mapped, {mb(g['bytes_mapped'])}): "
          f"after allocating plain {mb(g['held_after_alloc_plain'])}, "
          f"exportable {mb(g['held_after_alloc_exportable'])}, "
          f"after maps {mb(g['held_after_map_plain'])}, {mb(g['held_after_map_exportable'])}")
if not export:
    print("exportable memory: none (the host's driver gives Venus no dma-buf export)")
for t, v, m in targets:
    vs = f"{v:.2f}x" if isinstance(v, float) else str(v)
    print(f"target: {t}: {vs}: {'met' if m else 'MISSED'}")
EOF
