import type { Logger } from '@imagehub/service-kit';
import pg from 'pg';

export interface ChannelListenerOptions {
  url: string;
  /** Shown in pg_stat_activity. */
  applicationName: string;
  channel: string;
  /** Each notification on the channel, with its payload. */
  onNotify: (payload: string) => void;
  /** True once LISTEN is established (again), false as soon as its connection is lost. */
  onState: (up: boolean) => void;
  /** How long after losing the connection (or failing to open it) the next attempt is made. */
  retryMs?: number;
  logger?: Logger;
}

/**
 * One connection LISTENing on one channel, reopened after `retryMs` whenever it is lost, and
 * telling its owner whether it is up: while it is down, notifications are lost, and the owner must
 * poll as if there were none.
 */
export class ChannelListener {
  private client?: pg.Client;
  private retry?: NodeJS.Timeout;
  private up = false;
  private failing = false;
  private closed = false;

  constructor(private readonly options: ChannelListenerOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(options.channel))
      throw new Error(`not a channel name: ${options.channel}`);
  }

  get isUp(): boolean {
    return this.up;
  }

  /** Connects in the background; never throws (failures are retried, and logged once per outage). */
  start(): void {
    if (this.closed || this.client || this.retry) return;
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.client;
    this.client = undefined;
    this.setUp(false);
    await client?.end().catch(() => {});
  }

  private setUp(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    this.options.onState(up);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: this.options.applicationName,
      keepAlive: true,
    });
    this.client = client;
    const lost = (error?: unknown) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.setUp(false);
      void client.end().catch(() => {});
      if (!this.failing) {
        this.options.logger?.warn(
          { err: error, channel: this.options.channel },
          'LISTEN connection lost; polling until it is back',
        );
      }
      this.failing = true;
      if (this.closed) return;
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.start();
      }, this.options.retryMs ?? 1_000);
      this.retry.unref();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (notification) => {
      if (notification.channel === this.options.channel) this.options.onNotify(notification.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`listen ${this.options.channel}`);
    } catch (error) {
      lost(error);
      return;
    }
    if (this.client !== client) return;
    if (this.failing) this.options.logger?.info({ channel: this.options.channel }, 'LISTEN connection back');
    this.failing = false;
    this.setUp(true);
  }
}
