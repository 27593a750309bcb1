#!/usr/bin/env python3
"""Runs a dEQP-VK case list to the end, whatever a case does.

usage: deqp-run.py --deqp PATH --caselist FILE --out PREFIX [--label NAME]
                   [--case-timeout S] [--start-timeout S] [--run-timeout S]
                   [--kill-grace S] [--model-stats] [--] [WRAPPER ...]

Runs WRAPPER... PATH --deqp-caselist-file=... (WRAPPER is how the program
reaches its stack: scripts/vk-run.sh with its options, or env naming the
reference's ICD), reading the .qpa log as deqp-vk writes it. Every wait is
bounded: the first case must begin within --start-timeout; after that each
case, and the gap after one, may take --case-timeout. A case that runs
longer is a Timeout, a case the process dies in is a Crash; either way the
process's whole session (the wrapper, deqp-vk, the server the wrapper
started) is ended by its id (SIGTERM, then SIGKILL after --kill-grace) and
the rest of the list runs in a new process, as deqp-runner does. A process
that stops between cases after running some (deqp-vk aborts a run by itself
after an out-of-memory error) is simply followed by a new one. One that
never begins a case is blamed on the first case still to run; three such in
a row end the run (the rest is NotRun), as does --run-timeout.

Writes PREFIX.qpa (the logs of every process, in order), PREFIX.results
("case status" lines, in list order), PREFIX.log (the processes' output),
with --model-stats PREFIX.stats (the kernel model's counters, VGSHIM_STATS,
of every process) and PREFIX.summary, the one line also printed on stdout:

  NAME: passed P, failed F, not supported N, crashed C, timed out T, seconds S

followed, when they apply, by ", not run R", ", processes K", ", hung after
its last case (killed)" and ", stopped: WHY". Exit status 0 when every case
has a result of its own and no process had to be killed after its last
case, 1 otherwise, 2 on bad usage.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

PASSED = {'Pass', 'QualityWarning', 'CompatibilityWarning'}
CATEGORIES = [  # (summary name, statuses); anything else counts as failed
    ('passed', PASSED),
    ('failed', None),
    ('not supported', {'NotSupported'}),
    ('crashed', {'Crash'}),
    ('timed out', {'Timeout'}),
]
MAX_BLIND_STARTS = 3
POLL_S = 0.1


def category(status):
    for name, statuses in CATEGORIES:
        if statuses and status in statuses:
            return name
    return 'not run' if status == 'NotRun' else 'failed'


class QpaReader:
    """Follows a .qpa log as it grows; yields finished cases and knows the
    case in progress."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.partial = b''
        self.current = None      # case begun and not ended
        self.status = None       # its StatusCode, once seen
        self.began_at = None

    def poll(self):
        done = []
        try:
            with open(self.path, 'rb') as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return done
        self.pos += len(data)
        lines = (self.partial + data).split(b'\n')
        self.partial = lines.pop()
        for raw in lines:
            line = raw.decode('utf-8', 'replace')
            if line.startswith('#beginTestCaseResult '):
                self.current = line.split(' ', 1)[1].strip()
                self.status = None
                self.began_at = time.monotonic()
            elif self.current is None:
                continue
            elif line.startswith('#endTestCaseResult'):
                done.append((self.current, self.status or 'Fail'))
                self.current = None
            elif line.startswith('#terminateTestCaseResult'):
                # deqp-vk's own watchdog or crash handler ended the case
                why = line.split(' ', 1)[1].strip() if ' ' in line else 'Crash'
                done.append((self.current, why))
                self.current = None
            elif self.status is None and 'StatusCode="' in line:
                self.status = line.split('StatusCode="', 1)[1].split('"', 1)[0]
        return done


def kill_session(proc, grace):
    """SIGTERM to the process's session (the wrapper ends the server it
    started by pid on TERM), then SIGKILL to whatever is left of it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    # a member that outlived its leader still has the group id
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_once(args, todo, part, log):
    """One process over the cases in todo. Returns (results, blamed, note):
    results of cases it finished, and the case to blame if it crashed, hung
    or never began one (with its status), or None."""
    listfile = f'{args.out}.part{part}.txt'
    qpa = f'{args.out}.part{part}.qpa'
    with open(listfile, 'w') as f:
        f.write('\n'.join(todo) + '\n')
    cmd = args.wrapper + [args.deqp, f'--deqp-caselist-file={listfile}',
                          f'--deqp-log-filename={qpa}',
                          '--deqp-log-images=disable',
                          '--deqp-log-shader-sources=disable']
    log.write(f'=== deqp-run: process {part}, {len(todo)} cases: '
              f'{" ".join(cmd)}\n')
    log.flush()
    reader = QpaReader(qpa)
    results = []
    started = last_event = time.monotonic()
    env = dict(os.environ)
    if args.model_stats:
        env['VGSHIM_STATS'] = f'{args.out}.part{part}.stats'
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            cwd=os.path.dirname(args.out), env=env)
    killed = None
    while True:
        exited = proc.poll() is not None
        current = reader.current
        new = reader.poll()
        results += new
        now = time.monotonic()
        if new or reader.current != current:
            last_event = now
        if exited:
            break
        # Every wait is bounded: the first case must begin within
        # start_timeout (start-up: the stack, instance and device); after
        # that a case, or the gap after one (teardown, exit), may take
        # case_timeout.
        limit = args.case_timeout if results or reader.current else args.start_timeout
        if args.deadline is not None and now > args.deadline:
            killed = 'run timeout'
        elif now - last_event > limit:
            killed = 'timeout'
        if killed:
            kill_session(proc, args.kill_grace)
            results += reader.poll()
            break
        time.sleep(POLL_S)
    rc = proc.returncode
    os.unlink(listfile)
    log.write(f'=== deqp-run: process {part} ended: status {rc}'
              f'{", killed: " + killed if killed else ""}'
              f' after {time.monotonic() - started:.1f} s\n')
    log.flush()

    if killed == 'run timeout':
        return results, None, 'run timeout'
    status = 'Timeout' if killed else 'Crash'
    if reader.current is not None:
        return results, (reader.current, status), None
    finished = {c for c, _ in results}
    rest = [c for c in todo if c not in finished]
    if not rest:
        return results, None, 'killed after its last case' if killed else None
    if results and not killed:
        # It ended between cases, having run some: deqp-vk stops a run by
        # itself after some errors ("Test run was ABORTED!", e.g. after an
        # out-of-memory ResourceError). The rest runs in a new process.
        return results, None, None
    # It never began a case, or stopped between cases: the first case still
    # to run is the only one to blame.
    return results, (rest[0], status), None if results else 'no case began'


def merge_stats(out, nparts):
    """The kernel model's counters of every process in one PREFIX.stats:
    sizes and high-water marks are the largest seen, everything else adds
    up. A process that was killed wrote none: "processes_without_stats"."""
    total, missing = {}, 0
    for part in range(nparts):
        path = f'{out}.part{part}.stats'
        try:
            with open(path) as f:
                lines = f.read().split('\n')
            os.unlink(path)
        except FileNotFoundError:
            missing += 1
            continue
        for line in lines:
            kv = line.split()
            if len(kv) != 2 or not kv[1].isdigit():
                continue
            k, v = kv[0], int(kv[1])
            if k == 'region_size' or k.endswith('_peak'):
                total[k] = max(total.get(k, 0), v)
            else:
                total[k] = total.get(k, 0) + v
    with open(f'{out}.stats', 'w') as f:
        f.write(''.join(f'{k} {v}\n' for k, v in total.items()))
        f.write(f'processes_without_stats {missing}\n')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--deqp', required=True)
    p.add_argument('--caselist', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--label')
    p.add_argument('--case-timeout', type=float, default=60)
    p.add_argument('--start-timeout', type=float, default=60)
    p.add_argument('--run-timeout', type=float, default=0)
    p.add_argument('--model-stats', action='store_true')
    p.add_argument('--kill-grace', type=float, default=5)
    p.add_argument('wrapper', nargs='*')
    args = p.parse_args()
    args.out = os.path.abspath(args.out)
    label = args.label or os.path.basename(args.out)
    with open(args.caselist) as f:
        cases = [l.strip() for l in f if l.strip()]
    if not cases:
        print(f'deqp-run: {args.caselist}: no cases', file=sys.stderr)
        return 2
    began = time.monotonic()
    args.deadline = began + args.run_timeout if args.run_timeout > 0 else None

    status = {}
    parts = []
    blind = 0
    stopped = None
    teardown_hangs = 0
    with open(f'{args.out}.log', 'w') as log:
        while True:
            todo = [c for c in cases if c not in status]
            if not todo:
                break
            part = len(parts)
            parts.append(f'{args.out}.part{part}.qpa')
            results, blamed, note = run_once(args, todo, part, log)
            for c, s in results:
                status.setdefault(c, s)
            if blamed:
                status[blamed[0]] = blamed[1]
                log.write(f'=== deqp-run: {blamed[0]}: {blamed[1]}\n')
            if note == 'killed after its last case':
                teardown_hangs += 1
            if note == 'run timeout':
                stopped = f'the run took longer than {args.run_timeout:g} s'
                break
            blind = blind + 1 if note == 'no case began' else 0
            if blind >= MAX_BLIND_STARTS:
                stopped = f'{blind} processes in a row began no case'
                break
        if stopped:
            log.write(f'=== deqp-run: stopped: {stopped}\n')

    with open(f'{args.out}.qpa', 'wb') as out:
        for part in parts:
            try:
                with open(part, 'rb') as f:
                    out.write(f.read())
                os.unlink(part)
            except FileNotFoundError:
                pass
    if args.model_stats:
        merge_stats(args.out, len(parts))
    counts = {name: 0 for name, _ in CATEGORIES}
    counts['not run'] = 0
    with open(f'{args.out}.results', 'w') as f:
        for c in cases:
            s = status.get(c, 'NotRun')
            counts[category(s)] += 1
            f.write(f'{c} {s}\n')
    line = (f'{label}: ' + ', '.join(f'{k} {counts[k]}' for k, _ in CATEGORIES)
            + f', seconds {time.monotonic() - began:.1f}')
    if counts['not run']:
        line += f', not run {counts["not run"]}'
    if len(parts) > 1:
        line += f', processes {len(parts)}'
    if teardown_hangs:
        line += ', hung after its last case (killed)'
    if stopped:
        line += f', stopped: {stopped}'
    with open(f'{args.out}.summary', 'w') as f:
        f.write(line + '\n')
    print(line)
    return 1 if counts['not run'] or teardown_hangs else 0


if __name__ == '__main__':
    sys.exit(main())
