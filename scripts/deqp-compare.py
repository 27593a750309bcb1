#!/usr/bin/env python3
"""Compares a stack's dEQP-VK results with the reference's, case by case.

usage: deqp-compare.py REFERENCE.results STACK.results --label NAME
                       [--diff FILE] PATTERN...

The .results files are deqp-run.py's ("case status" lines). For each
PATTERN (a dEQP-VK case pattern, '*' matching anything) one line:

  PASS conformance:NAME:GROUP (N cases: counts...)
  FAIL conformance:NAME:GROUP (what failed, the first cases)

A case fails when it passes on the reference and does not pass on the
stack, when it crashed or timed out (whatever the reference did), when the
stack has no result for it, or when it fails (Fail, InternalError, ...) on
the stack and did not fail the same way on the reference. A case "not supported" on the stack that
passes on the reference does not fail: it is a feature the stack hides,
counted on the line and listed in --diff, with every other difference from
the reference. Exit status 1 when a line is FAIL.
"""
import argparse
import fnmatch
import re
import sys

PASSED = {'Pass', 'QualityWarning', 'CompatibilityWarning'}
SHORT = {'Pass': 'pass', 'NotSupported': 'n/s', 'Fail': 'fail', 'Crash': 'crash',
         'Timeout': 'timeout', 'NotRun': 'not run'}
SHOW = 3


def load(path):
    res = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                res[parts[0]] = parts[1]
    return res


def matcher(pattern):
    # dEQP's '*' matches any characters, dots included: fnmatch's does too
    return re.compile(fnmatch.translate(pattern)).match


def counts(statuses):
    n = {}
    for s in statuses:
        n[SHORT.get(s, s)] = n.get(SHORT.get(s, s), 0) + 1
    return ', '.join(f'{v} {k}' for k, v in sorted(n.items(), key=lambda kv: -kv[1]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('reference')
    p.add_argument('stack')
    p.add_argument('--label', required=True)
    p.add_argument('--diff')
    p.add_argument('patterns', nargs='+')
    args = p.parse_args()
    ref, got = load(args.reference), load(args.stack)
    failed = False
    diff_lines = []
    for pattern in args.patterns:
        group = re.sub(r'^dEQP-VK\.|\.\*$', '', pattern)
        match = matcher(pattern)
        cases = [c for c in ref if match(c)] + \
                [c for c in got if match(c) and c not in ref]
        fails, hidden, better = [], [], []
        for c in cases:
            r, s = ref.get(c, 'NotRun'), got.get(c, 'NotRun')
            if s in ('Crash', 'Timeout', 'NotRun'):
                fails.append((c, r, s))
            elif s in PASSED:
                if r not in PASSED:
                    better.append((c, r, s))
            elif s == 'NotSupported':
                if r in PASSED:
                    hidden.append((c, r, s))
                elif r != s:
                    better.append((c, r, s))
            elif r != s:
                # a failure the reference does not have, whatever it had
                fails.append((c, r, s))
        for kind, items in (('FAIL', fails), ('HIDDEN', hidden), ('DIFFERS', better)):
            diff_lines += [f'{kind} {c} reference={r} {args.label}={s}' for c, r, s in items]
        tag = f'conformance:{args.label}:{group}'
        extra = ''
        if hidden:
            extra += f'; {len(hidden)} not supported here but passed on the reference'
        if better:
            extra += f'; {len(better)} other differences'
        if not cases:
            print(f'FAIL {tag} (no case of {pattern} in either result)')
            failed = True
        elif fails:
            first = ', '.join(f'{c} {SHORT.get(s, s)}' for c, _, s in fails[:SHOW])
            more = f' and {len(fails) - SHOW} more' if len(fails) > SHOW else ''
            print(f'FAIL {tag} ({len(fails)} of {len(cases)} cases fail: {first}{more}{extra})')
            failed = True
        else:
            print(f'PASS {tag} ({len(cases)} cases: '
                  f'{counts(got.get(c, "NotRun") for c in cases)}{extra})')
    if args.diff:
        with open(args.diff, 'w') as f:
            f.write(''.join(l + '\n' for l in diff_lines))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
