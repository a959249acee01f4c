import { rmSync } from 'node:fs';
import { createDb } from '../connection';
import { adminUrlFor, state } from './state';

export default async function globalTeardown(): Promise<void> {
  if (state.serverUrl && state.databaseName) {
    const admin = createDb({
      url: adminUrlFor(state.serverUrl),
      applicationName: 'jest-teardown',
      poolMax: 1,
    });
    try {
      await admin.raw(`drop database if exists "${state.databaseName}" with (force)`);
    } finally {
      await admin.destroy();
    }
  }
  await state.embedded?.stop();
  if (state.embeddedDataDir) rmSync(state.embeddedDataDir, { recursive: true, force: true });
}
