#!/usr/bin/env python3
"""A stand-in for deqp-vk that misbehaves on request, to test
scripts/deqp-run.py: it takes --deqp-caselist-file and --deqp-log-filename,
writes a .qpa log the way deqp-vk does (flushed per case), and for a case
whose name contains one of these words:

  crash   dies by SIGSEGV in the middle of the case
  hang    never ends the case (sleeps, ignoring SIGTERM: a spinning client)
  fail    reports Fail;  notsup  reports NotSupported;  other cases Pass

FAKE_DEQP_START=hang never begins a case; FAKE_DEQP_EXIT=hang hangs after
the last case; FAKE_DEQP_TRACE=FILE gets one line per process (its pid and its list)."""
import os
import signal
import sys
import time

args = dict(a.split('=', 1) for a in sys.argv[1:] if a.startswith('--') and '=' in a)
with open(args['--deqp-caselist-file']) as f:
    cases = [l.strip() for l in f if l.strip()]
if os.environ.get('FAKE_DEQP_TRACE'):
    with open(os.environ['FAKE_DEQP_TRACE'], 'a') as t:
        t.write(f'{os.getpid()} ' + ' '.join(cases) + '\n')


def stall():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(1)


if os.environ.get('FAKE_DEQP_START') == 'hang':
    stall()
log = open(args['--deqp-log-filename'], 'w')
log.write('#sessionInfo releaseName fake\n#beginSession\n')
for c in sorted(cases):    # deqp-vk runs in tree order, not list order
    log.write(f'#beginTestCaseResult {c}\n<TestCaseResult CasePath="{c}">\n')
    log.flush()
    leaf = c.rsplit('.', 1)[-1]
    if 'crash' in leaf:
        os.kill(os.getpid(), signal.SIGSEGV)
    if 'hang' in leaf:
        stall()
    status = 'Fail' if 'fail' in leaf else 'NotSupported' if 'notsup' in leaf else 'Pass'
    log.write(f' <Result StatusCode="{status}">{status}</Result>\n</TestCaseResult>\n'
              '#endTestCaseResult\n')
    log.flush()
    print(f"Test case '{c}'..\n  {status}", flush=True)
log.write('#endSession\n')
log.close()
if os.environ.get('FAKE_DEQP_EXIT') == 'hang':
    stall()
