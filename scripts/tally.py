#!/usr/bin/env python3
"""Turns test logs into PASS/FAIL/SKIP lines, one per test case.

usage: tally.py meson BUILD_DIR LABEL   -> appends case lines from testlog.json
       tally.py total RESULTS_FILE      -> prints 'N passed, N failed, N skipped'

A meson test whose output is TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP) is
counted case by case; any other test counts once by its own result. A test
that crashed after some TAP lines still counts as a failure, so a partial
log can never look green.
"""
import glob
import json
import os
import re
import sys

TAP = re.compile(r'^(not ok|ok)\b\s*\d*\s*-?\s*(.*)$')


def meson_cases(build, label):
    out = []
    # meson names the log after the --wrap command when there is one
    logs = glob.glob(f'{build}/meson-logs/testlog*.json')
    if not logs:
        return [('FAIL', f'{label} (no test log)')]
    with open(max(logs, key=os.path.getmtime)) as f:
        for line in f:
            t = json.loads(line)
            name = f"{label}:{t['name']}"
            res = t['result']
            cases = []
            for l in (t.get('stdout') or '').splitlines():
                m = TAP.match(l.strip())
                if not m:
                    continue
                desc = m.group(2)
                if '# SKIP' in desc.upper():
                    cases.append(('SKIP', desc))
                else:
                    cases.append(('PASS' if m.group(1) == 'ok' else 'FAIL', desc))
            if cases:
                out += [(s, f'{name}/{d}') for s, d in cases]
                if res not in ('OK', 'EXPECTEDFAIL', 'SKIP') and \
                        all(s != 'FAIL' for s, _ in cases):
                    out.append(('FAIL', f'{name} ({res})'))
            elif res in ('OK', 'EXPECTEDFAIL'):
                out.append(('PASS', name))
            elif res == 'SKIP':
                out.append(('SKIP', name))
            else:
                out.append(('FAIL', f'{name} ({res})'))
    return out


def main():
    if sys.argv[1] == 'meson':
        for s, n in meson_cases(sys.argv[2], sys.argv[3]):
            print(s, n)
    elif sys.argv[1] == 'total':
        n = {'PASS': 0, 'FAIL': 0, 'SKIP': 0}
        with open(sys.argv[2]) as f:
            for l in f:
                k = l.split(' ', 1)[0]
                if k in n:
                    n[k] += 1
        for l in open(sys.argv[2]):
            if l.startswith('FAIL'):
                print('failed:', l.strip()[5:])
        print(f"{n['PASS']} passed, {n['FAIL']} failed, {n['SKIP']} skipped")
        sys.exit(1 if n['FAIL'] or not n['PASS'] else 0)


main()
