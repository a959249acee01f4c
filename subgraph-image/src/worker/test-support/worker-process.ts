/**
 * For the pipeline tests: a real image worker in a process of its own (configured from the
 * environment like worker/main.ts), whose decode misbehaves on purpose so the test can kill it
 * mid-job or watch it die. Prints `ready` once it consumes and `took` when a decode starts.
 * argv[2]: `stall` (every decode hangs until the process is killed) or `crash-on-poison` (the
 * process dies, as on a decoder segfault, on a file containing POISON_MARKER; other files are
 * processed normally).
 */
import { loadWorkerConfig } from '../../config';
import { processImage } from '../../upload/process-image';
import { createWorker } from '../app';
import { POISON_MARKER } from './poison';

// The test may stop reading before this process is killed.
process.stdout.on('error', () => {});

const mode = process.argv[2];
if (mode !== 'stall' && mode !== 'crash-on-poison')
  throw new Error('usage: worker-process stall|crash-on-poison');

void createWorker(loadWorkerConfig(process.env), {
  process: async (bytes, limits) => {
    process.stdout.write('took\n');
    if (mode === 'stall') await new Promise(() => {});
    if (bytes.includes(POISON_MARKER)) process.kill(process.pid, 'SIGKILL');
    return processImage(bytes, limits);
  },
}).then(() => process.stdout.write('ready\n'));
