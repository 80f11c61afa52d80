#!/usr/bin/env python3
# bench/worker_start.py -- what starting a worker costs before its job: exec,
# linking, the crypto libraries' start-up, the empty network namespace (as
# root), up to the read of its HEADER.  The job socket is closed at once, so
# each worker reads EOF there and exits (its "job failed" line on stderr is
# discarded).  Prints the CPU (user + system, from the children's rusage) and
# the wall time per start; a pre-started worker of sluice serve spends this
# CPU ahead of its query, a CLI query's worker beside the broker's checks.
# Usage: bench/worker_start.py [WORKER] [STARTS] [RUNS]   (after make)
import os
import resource
import socket
import statistics
import sys
import time

worker = sys.argv[1] if len(sys.argv) > 1 else "./sluice-worker"
starts = int(sys.argv[2]) if len(sys.argv) > 2 else 100
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
devnull = os.open(os.devnull, os.O_WRONLY)


def run_once():
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.monotonic()
    for _ in range(starts):
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            os.dup2(theirs.fileno(), 3)  # the job socket (JOB_FD)
            os.dup2(devnull, 2)
            os.execv(worker, [worker])
        theirs.close()
        ours.close()
        os.waitpid(pid, 0)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = (r1.ru_utime - r0.ru_utime) * 1000 / starts
    system = (r1.ru_stime - r0.ru_stime) * 1000 / starts
    return user, system, (time.monotonic() - w0) * 1000 / starts


results = [run_once() for _ in range(runs)]
for i, (u, s, w) in enumerate(results, 1):
    print("run %d: %.3f ms CPU (%.3f user, %.3f system), %.3f ms wall per start" % (i, u + s, u, s, w))
print("%s, %d starts a run: median %.3f ms CPU (%.3f user), %.3f ms wall per start" % (
    worker, starts, statistics.median(u + s for u, s, _ in results),
    statistics.median(u for u, _, _ in results), statistics.median(w for _, _, w in results)))
