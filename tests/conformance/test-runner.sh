#!/bin/bash
# Checks of the conformance runner itself (scripts/deqp-run.py,
# scripts/deqp-compare.py, scripts/conformance.sh), one PASS/FAIL/SKIP line
# each on stdout; exit 1 when one failed:
#  - on a stand-in for deqp-vk (fake-deqp.py) that crashes, hangs ignoring
#    SIGTERM, never starts or never exits: every case gets its result, the
#    rest of the list runs on, nothing is left running, every wait ends;
#  - the comparison's rules, on made-up results;
#  - no deqp-vk: exit 77 and how to get one;
#  - the real thing: the server killed under dEQP-VK on stock Venus over
#    vtest (whose client then spins): the case is recorded, the rest passes
#    on a new server.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vws-cts-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fake=$ROOT/tests/conformance/fake-deqp.py
failed=0

check() { # NAME CONDITION-STATUS DETAIL
	if [ "$2" = 0 ]; then
		echo "PASS conformance:runner:$1${3:+ ($3)}"
	else
		echo "FAIL conformance:runner:$1${3:+ ($3)}"
		failed=1
	fi
}
runner() { # PREFIX ARGS...: deqp-run.py on the stand-in, bounded anyway
	local prefix=$1; shift
	timeout -k 5 120 python3 "$ROOT/scripts/deqp-run.py" --deqp "$fake" \
		--caselist "$work/list" --out "$work/$prefix" --kill-grace 1 "$@" >"$work/$prefix.out" 2>&1
}
# Every pid the stand-in's processes wrote must be gone.
none_left() {
	local p
	for p in $(awk '{ print $1 }' "$1" 2>/dev/null); do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}

printf '%s\n' g.a1 g.b_crash g.c2 g.d_hang g.e_fail g.f_notsup g.g3 > "$work/list"

# A crash and a hang (SIGTERM ignored: only SIGKILL ends it) in one list.
FAKE_DEQP_TRACE=$work/t1 runner t1 --case-timeout 2 --start-timeout 10
st=$?
want='g.a1 Pass
g.b_crash Crash
g.c2 Pass
g.d_hang Timeout
g.e_fail Fail
g.f_notsup NotSupported
g.g3 Pass'
[ $st = 0 ] && [ "$(cat "$work/t1.results")" = "$want" ] && [ "$(wc -l < "$work/t1")" = 3 ] &&
	grep -q '^t1: passed 3, failed 1, not supported 1, crashed 1, timed out 1, seconds [0-9.]*, processes 3$' "$work/t1.summary" &&
	none_left "$work/t1"
check crash-and-hang-resume $? "$(cat "$work/t1.summary")"

# A process that never begins a case: each start is bounded, three in a row end the run.
FAKE_DEQP_TRACE=$work/t2 FAKE_DEQP_START=hang runner t2 --case-timeout 1 --start-timeout 1
st=$?
[ $st = 1 ] && [ "$(wc -l < "$work/t2")" = 3 ] && [ "$(grep -c NotRun "$work/t2.results")" = 4 ] &&
	grep -q 'stopped: 3 processes in a row began no case' "$work/t2.summary" && none_left "$work/t2"
check never-starts $? "$(cat "$work/t2.summary")"

# A process that hangs after its last case: killed, results kept, flagged.
printf '%s\n' g.a1 g.c2 > "$work/list"
FAKE_DEQP_TRACE=$work/t3 FAKE_DEQP_EXIT=hang runner t3 --case-timeout 1 --start-timeout 10
st=$?
[ $st = 1 ] && [ "$(grep -c ' Pass$' "$work/t3.results")" = 2 ] &&
	grep -q 'hung after its last case (killed)' "$work/t3.summary" && none_left "$work/t3"
check hangs-at-exit $? "$(cat "$work/t3.summary")"

# The whole run's bound.
printf '%s\n' g.a1 g.b_hang g.c_hang g.d_hang g.e1 > "$work/list"
FAKE_DEQP_TRACE=$work/t4 runner t4 --case-timeout 1 --start-timeout 10 --run-timeout 3
st=$?
[ $st = 1 ] && grep -q 'stopped: the run took longer than 3 s' "$work/t4.summary" &&
	grep -q 'g.e1 NotRun' "$work/t4.results" && none_left "$work/t4"
check run-timeout $? "$(cat "$work/t4.summary")"

# The comparison's rules.
cat > "$work/ref.results" <<'EOF'
g.pass Pass
g.hidden Pass
g.worse Pass
g.crash NotSupported
g.both_fail Fail
g.new_fail NotSupported
g.missing Pass
h.ok Pass
h.ns NotSupported
EOF
cat > "$work/got.results" <<'EOF'
g.pass Pass
g.hidden NotSupported
g.worse Fail
g.crash Crash
g.both_fail Fail
g.new_fail InternalError
h.ok Pass
h.ns NotSupported
EOF
python3 "$ROOT/scripts/deqp-compare.py" "$work/ref.results" "$work/got.results" --label x \
	--diff "$work/cmp.diff" 'g.*' 'h.*' > "$work/cmp.out"
st=$?
[ $st = 1 ] &&
	grep -q '^FAIL conformance:x:g (4 of 7 cases fail: g.worse fail, g.crash crash, g.new_fail InternalError and 1 more; 1 not supported here but passed on the reference)$' "$work/cmp.out" &&
	grep -q '^PASS conformance:x:h (2 cases: 1 pass, 1 n/s)$' "$work/cmp.out" &&
	grep -q '^FAIL g.missing reference=Pass x=NotRun$' "$work/cmp.diff" &&
	grep -q '^HIDDEN g.hidden reference=Pass x=NotSupported$' "$work/cmp.diff" &&
	! grep -q 'both_fail' "$work/cmp.diff"
check compare-rules $? "$(tr '\n' ';' < "$work/cmp.out")"

# No deqp-vk: a skip that says how to get it.
DEQP_VK=$work/none bash "$ROOT/scripts/conformance.sh" --reference 'dEQP-VK.memory.*' >"$work/nodeqp.out" 2>&1
st=$?
[ $st = 77 ] && grep -q 'conformance stage is skipped' "$work/nodeqp.out" && grep -q 'VK-GL-CTS' "$work/nodeqp.out"
check no-deqp-skips $? "exit $st"

# The server killed under a real run. Its pid is on the stack line in the
# log; it dies once a few hundred cases are done.
if ! bash "$ROOT/scripts/host-build.sh" >"$work/host-build.log" 2>&1; then
	echo "SKIP conformance:runner:server-killed (the host renderer cannot be built here: $(tail -1 "$work/host-build.log"))"
	exit $failed
fi
name=killed
out=$work/real
mkdir -p "$out"
bash "$ROOT/scripts/conformance.sh" --driver stock --transport vtest --name $name --out "$out" \
	--case-timeout 10 --run-timeout 300 'dEQP-VK.memory.mapping.suballocation.*' >"$work/real.out" 2>"$work/real.err" &
bg=$!
pid= done_cases=0
for ((i = 0; i < 1200; i++)); do   # 120 s
	kill -0 $bg 2>/dev/null || break
	[ -z "$pid" ] && pid=$(sed -n 's/^vk-run: .*(pid \([0-9]*\)).*/\1/p' "$out/$name.log" 2>/dev/null | head -1)
	done_cases=$(grep -c '^#endTestCaseResult' "$out/$name.part0.qpa" 2>/dev/null)
	if [ -n "$pid" ] && [ "${done_cases:-0}" -ge 200 ]; then
		kill -KILL "$pid" 2>/dev/null
		break
	fi
	sleep 0.1
done
wait $bg
st=$?
if [ $st = 77 ]; then
	echo "SKIP conformance:runner:server-killed (no deqp-vk)"
elif [ -z "$pid" ] || [ "${done_cases:-0}" -lt 200 ]; then
	check server-killed 1 "never killed: status $st, $done_cases cases done, server pid '${pid}': $(tail -1 "$work/real.err")"
else
	# exactly the case in progress is lost (crashed or hung); the others pass
	bad=$(grep -vc ' Pass$' "$out/$name.results")
	lost=$(grep -cE ' (Crash|Timeout)$' "$out/$name.results")
	[ "$bad" = 1 ] && [ "$lost" = 1 ] && grep -q 'processes 2' "$out/$name.summary"
	check server-killed $? "server killed after $done_cases cases: $(cat "$out/$name.summary")"
fi
exit $failed
