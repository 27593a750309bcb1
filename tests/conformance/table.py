#!/usr/bin/env python3
"""The table of a conformance run, in Markdown: one row per stack, one
column per group (groups.txt in DIR), each cell the counts of that stack's
results in that group; then each row's command.

usage: table.py [--groups FILE] DIR STACK...   (DIR/STACK.results, .summary,
       .cmd; the groups from FILE, default DIR/groups.txt)
"""
import fnmatch
import os
import re
import sys

ORDER = [('Pass', 'pass'), ('Fail', 'fail'), ('NotSupported', 'n/s'),
         ('Crash', 'crash'), ('Timeout', 'timeout'), ('NotRun', 'not run')]


def cell(statuses):
    if not statuses:
        return '—'
    n = {}
    for s in statuses:
        n[s] = n.get(s, 0) + 1
    parts = [f'{n.pop(k)} {short}' for k, short in ORDER if k in n]
    parts += [f'{v} {k}' for k, v in sorted(n.items())]
    return ', '.join(parts)


def main():
    args = sys.argv[1:]
    groups_file = None
    if args[:1] == ['--groups']:
        groups_file, args = args[1], args[2:]
    d, stacks = args[0], args[1:]
    with open(groups_file or os.path.join(d, 'groups.txt')) as f:
        groups = [l.strip() for l in f if l.strip()]
    short = [re.sub(r'^dEQP-VK\.|\.\*$', '', g) for g in groups]
    print('| stack | ' + ' | '.join(short) + ' | seconds |')
    print('|---|' + '---|' * (len(groups) + 1))
    cmds = []
    for st in stacks:
        path = os.path.join(d, st + '.results')
        if not os.path.exists(path):
            continue
        res = [l.split() for l in open(path) if len(l.split()) == 2]
        cells = [cell([s for c, s in res if fnmatch.fnmatchcase(c, g)]) for g in groups]
        summary = open(os.path.join(d, st + '.summary')).read()
        m = re.search(r'seconds ([0-9.]+)', summary)
        print(f'| {st} | ' + ' | '.join(cells) + f' | {m.group(1) if m else "?"} |')
        try:
            cmds.append((st, open(os.path.join(d, st + '.cmd')).read().strip()))
        except FileNotFoundError:
            pass
    print()
    for st, cmd in cmds:
        print(f'- {st}: `{cmd}`')


main()
