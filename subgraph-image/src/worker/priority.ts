import { readdirSync } from 'node:fs';
import os from 'node:os';

/**
 * Lowers this process' CPU priority to `nice` (0 normal, 19 lowest), so that decoding and encoding,
 * which are background work, yield the CPU to the processes answering reads on a shared machine.
 * Never raises it (that needs a privilege): a worker started under `nice -n 15` stays at 15.
 *
 * On Linux a nice value belongs to a thread, and setpriority on the process id changes only the main
 * thread's. So every thread there is now is set (V8's and libuv's, /proc/self/task), and the threads
 * started later (libuv's pool, libvips' workers) inherit the value from the thread that starts them.
 * Answers the nice value the threads have now.
 */
export function lowerCpuPriority(nice: number): number {
  for (const tid of threadIds()) {
    try {
      if (os.getPriority(tid) < nice) os.setPriority(tid, nice);
    } catch {
      // A thread that ended in the meantime.
    }
  }
  return os.getPriority(0);
}

/** This process' threads (Linux); elsewhere the process id, whose priority is the process'. */
export function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [0];
  }
}
